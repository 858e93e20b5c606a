"""Constants of the Linux x86_64 ABI, each defined once (the values of include/uapi).

Every module that needs a flag bit, an ``AT_`` value or a clone flag imports it from here, so a
value cannot be right in one place and wrong in another.  Pure data: importing it costs nothing.
"""

from __future__ import annotations

from typing import Final

# --- the entry point -----------------------------------------------------------------------------
AUDIT_ARCH_X86_64: Final = 0xC000003E
AUDIT_ARCH_I386: Final = 0x40000003
X32_SYSCALL_BIT: Final = 0x40000000

# --- open(2) flags (include/uapi/asm-generic/fcntl.h) ---------------------------------------------
O_ACCMODE: Final = 0o3
O_RDONLY: Final = 0o0
O_WRONLY: Final = 0o1
O_RDWR: Final = 0o2
O_CREAT: Final = 0o100
O_EXCL: Final = 0o200
O_NOCTTY: Final = 0o400
O_TRUNC: Final = 0o1000
O_APPEND: Final = 0o2000
O_NONBLOCK: Final = 0o4000
O_DSYNC: Final = 0o10000
FASYNC: Final = 0o20000
O_DIRECT: Final = 0o40000
O_LARGEFILE: Final = 0o100000
O_DIRECTORY: Final = 0o200000
O_NOFOLLOW: Final = 0o400000
O_NOATIME: Final = 0o1000000
O_CLOEXEC: Final = 0o2000000
O_SYNC_BIT: Final = 0o4000000        # the kernel's __O_SYNC; O_SYNC is it with O_DSYNC
O_SYNC: Final = O_SYNC_BIT | O_DSYNC
O_PATH: Final = 0o10000000
O_TMPFILE_BIT: Final = 0o20000000    # the kernel's __O_TMPFILE; O_TMPFILE is it with O_DIRECTORY
O_TMPFILE: Final = O_TMPFILE_BIT | O_DIRECTORY
#: VALID_OPEN_FLAGS of the kernel: openat2 refuses any other bit, open ignores them.
VALID_OPEN_FLAGS: Final = (
    O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC
    | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC_BIT
    | O_PATH | O_TMPFILE_BIT)
#: the bits that make an open write, create or truncate (O_WRONLY and O_RDWR are in O_ACCMODE)
WRITE_OPEN_BITS: Final = O_ACCMODE | O_CREAT | O_TRUNC | O_TMPFILE_BIT
#: (bit, name) for showing open flags; the access mode is shown apart
OPEN_FLAG_NAMES: Final = (
    (O_CREAT, "O_CREAT"), (O_EXCL, "O_EXCL"), (O_NOCTTY, "O_NOCTTY"), (O_TRUNC, "O_TRUNC"),
    (O_APPEND, "O_APPEND"), (O_NONBLOCK, "O_NONBLOCK"), (O_DSYNC, "O_DSYNC"),
    (O_DIRECT, "O_DIRECT"), (O_DIRECTORY, "O_DIRECTORY"), (O_NOFOLLOW, "O_NOFOLLOW"),
    (O_NOATIME, "O_NOATIME"), (O_CLOEXEC, "O_CLOEXEC"), (O_PATH, "O_PATH"),
    (O_TMPFILE_BIT, "O_TMPFILE"), (O_SYNC_BIT, "O_SYNC"))

# --- *at flags (include/uapi/linux/fcntl.h) ------------------------------------------------------
AT_FDCWD: Final = -100
AT_SYMLINK_NOFOLLOW: Final = 0x100
AT_REMOVEDIR: Final = 0x200
AT_SYMLINK_FOLLOW: Final = 0x400
AT_NO_AUTOMOUNT: Final = 0x800
AT_EMPTY_PATH: Final = 0x1000
AT_STATX_FORCE_SYNC: Final = 0x2000
AT_STATX_DONT_SYNC: Final = 0x4000
AT_RECURSIVE: Final = 0x8000

# --- the follow / empty-path flags of other path calls -------------------------------------------
IN_DONT_FOLLOW: Final = 0x02000000          # inotify_add_watch mask
FAN_MARK_DONT_FOLLOW: Final = 0x00000004    # fanotify_mark flags
UMOUNT_NOFOLLOW: Final = 0x00000008         # umount2 flags
MOVE_MOUNT_F_SYMLINKS: Final = 0x00000001   # move_mount: follow the "from" path's last link
MOVE_MOUNT_F_EMPTY_PATH: Final = 0x00000004
MOVE_MOUNT_T_SYMLINKS: Final = 0x00000010   # ... and the "to" path's
MOVE_MOUNT_T_EMPTY_PATH: Final = 0x00000040
FSPICK_SYMLINK_NOFOLLOW: Final = 0x00000002
FSPICK_EMPTY_PATH: Final = 0x00000008

# --- clone(2) flags (include/uapi/linux/sched.h) -------------------------------------------------
CSIGNAL: Final = 0x000000FF                 # the exit signal, in clone's low byte
CLONE_VM: Final = 0x00000100
CLONE_FS: Final = 0x00000200
CLONE_FILES: Final = 0x00000400
CLONE_SIGHAND: Final = 0x00000800
CLONE_PIDFD: Final = 0x00001000
CLONE_PTRACE: Final = 0x00002000
CLONE_VFORK: Final = 0x00004000
CLONE_PARENT: Final = 0x00008000
CLONE_THREAD: Final = 0x00010000
CLONE_NEWNS: Final = 0x00020000
CLONE_SYSVSEM: Final = 0x00040000
CLONE_SETTLS: Final = 0x00080000
CLONE_PARENT_SETTID: Final = 0x00100000
CLONE_CHILD_CLEARTID: Final = 0x00200000
CLONE_DETACHED: Final = 0x00400000
CLONE_UNTRACED: Final = 0x00800000
CLONE_CHILD_SETTID: Final = 0x01000000
CLONE_NEWCGROUP: Final = 0x02000000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000
CLONE_IO: Final = 0x80000000
CLONE_NEWTIME: Final = 0x00000080          # clone3 and unshare only (clone's low byte is CSIGNAL)
CLONE_CLEAR_SIGHAND: Final = 0x100000000   # clone3 only
CLONE_INTO_CGROUP: Final = 0x200000000     # clone3 only
#: (bit, name) of every clone flag above CSIGNAL, for showing a clone's flags
CLONE_FLAG_NAMES: Final = (
    (CLONE_VM, "CLONE_VM"), (CLONE_FS, "CLONE_FS"), (CLONE_FILES, "CLONE_FILES"),
    (CLONE_SIGHAND, "CLONE_SIGHAND"), (CLONE_PIDFD, "CLONE_PIDFD"),
    (CLONE_PTRACE, "CLONE_PTRACE"), (CLONE_VFORK, "CLONE_VFORK"),
    (CLONE_PARENT, "CLONE_PARENT"), (CLONE_THREAD, "CLONE_THREAD"),
    (CLONE_NEWNS, "CLONE_NEWNS"), (CLONE_SYSVSEM, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"), (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"), (CLONE_DETACHED, "CLONE_DETACHED"),
    (CLONE_UNTRACED, "CLONE_UNTRACED"), (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (CLONE_NEWCGROUP, "CLONE_NEWCGROUP"), (CLONE_NEWUTS, "CLONE_NEWUTS"),
    (CLONE_NEWIPC, "CLONE_NEWIPC"), (CLONE_NEWUSER, "CLONE_NEWUSER"),
    (CLONE_NEWPID, "CLONE_NEWPID"), (CLONE_NEWNET, "CLONE_NEWNET"), (CLONE_IO, "CLONE_IO"),
    (CLONE_CLEAR_SIGHAND, "CLONE_CLEAR_SIGHAND"), (CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"))
#: every flag clone3 accepts (the kernel's CLONE_LEGACY_FLAGS and the two clone3-only ones)
CLONE3_FLAGS: Final = 0xFFFFFFFF | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP
#: struct clone_args (include/uapi/linux/sched.h): its sizes by version, and the most any
#: size may be (clone3 reads at most a page)
CLONE_ARGS_SIZE_VER0: Final = 64            # flags .. tls
CLONE_ARGS_SIZE_VER1: Final = 80            # + set_tid, set_tid_size
CLONE_ARGS_SIZE_VER2: Final = 88            # + cgroup
CLONE_ARGS_SIZE_MAX: Final = 4096
MAX_PID_NS_LEVEL: Final = 32
NSIG: Final = 64                            # _NSIG: the highest valid signal number

# --- kcmp(2) types (include/uapi/linux/kcmp.h): what two tasks may share ------------------------
KCMP_VM: Final = 1
KCMP_FILES: Final = 2
KCMP_FS: Final = 3

# --- what the engine's guards test (see systrace_py.syscalls, GUARDS) ----------------------------
SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER: Final = 8
PR_SET_DUMPABLE: Final = 4
PR_SET_MM: Final = 35
TIOCSTI: Final = 0x5412      # push bytes into the terminal's input: commands for the user's shell
TIOCLINUX: Final = 0x541C    # (subcodes 2/3: paste a console selection, the same thing)
RLIMIT_CORE: Final = 4
MAP_SHARED: Final = 0x01     # (MAP_SHARED_VALIDATE, 0x03, has this bit too)
MAP_FIXED: Final = 0x10
MREMAP_FIXED: Final = 2
SHM_REMAP: Final = 0x4000
SOL_XDP: Final = 283         # setsockopt level of AF_XDP (XDP_UMEM_REG: memory the kernel fills)
IPPROTO_IP: Final = 0
IP_OPTIONS: Final = 4        # source routes: the packet goes to an unchecked address
IP_RETOPTS: Final = 7
IPPROTO_IPV6: Final = 41
IPV6_2292RTHDR: Final = 5
IPV6_RTHDR: Final = 57
#: (level, option) pairs setsockopt may not set: routing headers name destinations no rule sees
REFUSED_SOCKOPTS: Final = ((IPPROTO_IP, IP_OPTIONS), (IPPROTO_IPV6, IPV6_RTHDR),
                           (IPPROTO_IPV6, IPV6_2292RTHDR))
#: control messages sendmsg may not carry, for the same reason as REFUSED_SOCKOPTS
REFUSED_CONTROL: Final = ((IPPROTO_IP, IP_RETOPTS), (IPPROTO_IPV6, IPV6_RTHDR),
                          (IPPROTO_IPV6, IPV6_2292RTHDR))
