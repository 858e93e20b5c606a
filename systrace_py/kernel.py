"""Constants of the Linux x86_64 ABI, each defined once (the values of include/uapi).

Every module that needs a flag bit, an ``AT_`` value or a clone flag imports it from here, so a
value cannot be right in one place and wrong in another.  Pure data: importing it costs nothing.
"""

from __future__ import annotations

#: (not typing's: importing typing costs the resident client's start ~3 ms; mypy reads it)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

# --- the entry point -----------------------------------------------------------------------------
AUDIT_ARCH_X86_64: Final = 0xC000003E
AUDIT_ARCH_I386: Final = 0x40000003
X32_SYSCALL_BIT: Final = 0x40000000
#: the system call argument registers, in order (user_regs_struct's names)
ARG_REGS: Final = ("rdi", "rsi", "rdx", "r10", "r8", "r9")

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
#: what /proc appends to the name of a removed file (a descriptor's link, /proc/PID/maps...):
#: paths, decode.former_names and the learner read it from here
DELETED: Final = " (deleted)"
#: VALID_OPEN_FLAGS of the kernel: openat2 refuses any other bit, open ignores them.
VALID_OPEN_FLAGS: Final = (
    O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | FASYNC
    | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC_BIT
    | O_PATH | O_TMPFILE_BIT)
#: the only flags that may go with O_PATH (the kernel's build_open_how drops the rest)
O_PATH_FLAGS: Final = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
#: openat2's RESOLVE_CACHED (the others are in engine/ptrace_ops.py)
RESOLVE_CACHED: Final = 0x20
#: the permission bits a mode may carry
S_IALLUGO: Final = 0o7777
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
#: faccessat2: check as the effective (fs) ids, not the real ones access(2) checks as
AT_EACCESS: Final = 0x200
AT_REMOVEDIR: Final = 0x200
AT_SYMLINK_FOLLOW: Final = 0x400
AT_NO_AUTOMOUNT: Final = 0x800
AT_EMPTY_PATH: Final = 0x1000
#: execveat only checks that the file could be run, and returns (Linux 6.14+)
AT_EXECVE_CHECK: Final = 0x10000
#: fcntl commands that set a descriptor's owner, whom the kernel signals (fcntl(2))
F_SETOWN: Final = 8
F_SETOWN_EX: Final = 15
#: F_SETFL with O_ASYNC (or ioctl FIOASYNC) on a terminal whose file has no owner makes the
#: terminal's foreground process group its owner (tty_fasync): the kernel signals it at input
F_SETFL: Final = 4
F_GETOWN_EX: Final = 16
O_ASYNC: Final = 0o20000
FIOASYNC: Final = 0x5452
#: /dev/tty: the caller's controlling terminal, whatever it is
DEV_TTY: Final = (5, 0)
#: /dev/console and /dev/tty0: the console's terminal, the foreground virtual console
#: (tty_lookup_driver) -- another terminal, under a number of their own
DEV_CONSOLE: Final = (5, 1)
DEV_TTY0: Final = (4, 0)
#: /dev/vcsN, /dev/vcsuN, /dev/vcsaN (VCS_MAJOR, N + 64 * the kind's index in SCREEN_KINDS):
#: console N's screen -- its text, the same as UTF-32, each character with its attribute: one
#: screen by three names (review 44).  N = 0 (/dev/vcs, vcsu, vcsa): the screen of the virtual
#: console in front, chosen again at each read and write (vc_screen.c vcs_vc), so any
#: console's, N up to MAX_NR_CONSOLES
VCS_MAJOR: Final = 7
SCREEN_KINDS: Final = ("vcs", "vcsu", "vcsa")
MAX_NR_CONSOLES: Final = 63
#: struct f_owner_ex's types
F_OWNER_TID: Final = 0
F_OWNER_PID: Final = 1
F_OWNER_PGRP: Final = 2
AT_STATX_FORCE_SYNC: Final = 0x2000
AT_STATX_DONT_SYNC: Final = 0x4000
AT_RECURSIVE: Final = 0x8000

# --- renameat2(2) flags (include/uapi/linux/fs.h) ------------------------------------------------
RENAME_NOREPLACE: Final = 0x1
RENAME_EXCHANGE: Final = 0x2    # both paths move: each file gets the other's name
RENAME_WHITEOUT: Final = 0x4

# --- the follow / empty-path flags of other path calls -------------------------------------------
IN_DONT_FOLLOW: Final = 0x02000000          # inotify_add_watch mask
IN_MASK_CREATE: Final = 0x10000000
IN_MASK_ADD: Final = 0x20000000
#: the mask bits inotify_add_watch takes (ALL_INOTIFY_BITS): the events (0xfff),
#: IN_UNMOUNT/Q_OVERFLOW/IGNORED, IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK,
#: IN_MASK_CREATE/ADD, IN_ISDIR, IN_ONESHOT; a mask with none is EINVAL before the lookup
INOTIFY_VALID_BITS: Final = 0xFFF | 0xE000 | 0x01000000 | IN_DONT_FOLLOW | 0x04000000 | \
    IN_MASK_CREATE | IN_MASK_ADD | 0x40000000 | 0x80000000
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

#: the namespace flags (unshare(2), clone(2), clone3(2), setns(2)'s nstype); CLONE_NEWTIME
#: shares its bit with clone(2)'s exit signal, so clone(2) cannot ask for it
CLONE_NEW_FLAGS: Final = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
                          | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

# --- io_uring_enter(2) (include/uapi/linux/io_uring.h) -------------------------------------------
#: its fd is a slot of the calling task's registered rings (IORING_REGISTER_RING_FDS), looked
#: up in its io_uring context: EINVAL when it has none (Tracer._uring_context_refusal)
IORING_ENTER_REGISTERED_RING: Final = 0x10

# --- mount(2) flags (include/uapi/linux/mount.h) -------------------------------------------------
MS_RDONLY: Final = 0x1
MS_REMOUNT: Final = 0x20
MS_BIND: Final = 0x1000
MS_MOVE: Final = 0x2000
MS_REC: Final = 0x4000
MS_UNBINDABLE: Final = 1 << 17
MS_PRIVATE: Final = 1 << 18
MS_SLAVE: Final = 1 << 19
MS_SHARED: Final = 1 << 20
MS_PROPAGATION: Final = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED
MS_NOUSER: Final = 1 << 31
#: the magic an old mount(2) caller puts in the top 16 bits; the kernel drops it
MS_MGC_VAL: Final = 0xC0ED0000
MS_MGC_MSK: Final = 0xFFFF0000
# the new mount API
OPEN_TREE_CLONE: Final = 0x1
MOVE_MOUNT_SET_GROUP: Final = 0x100
#: every move_mount flag this kernel knows (MOVE_MOUNT__MASK): any other is EINVAL
MOVE_MOUNT_MASK: Final = 0x377
MOVE_MOUNT_BENEATH: Final = 0x200
FSOPEN_CLOEXEC: Final = 0x1  # fsopen's one flag
MSG_CMSG_COMPAT: Final = 0x80000000  # sendmsg/sendmmsg refuse it from 64-bit code (EINVAL)
UMOUNT_MASK: Final = 0xF  # MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW: umount2's flags
FSPICK_MASK: Final = 0xF  # every fspick flag (CLOEXEC, SYMLINK_NOFOLLOW, NO_AUTOMOUNT, EMPTY_PATH)
MOUNT_ATTR_SIZE_VER0: Final = 32  # mount_setattr's first struct mount_attr
FSCONFIG_SET_FLAG: Final = 0
FSCONFIG_SET_STRING: Final = 1
FSCONFIG_SET_BINARY: Final = 2
FSCONFIG_SET_PATH: Final = 3
FSCONFIG_SET_PATH_EMPTY: Final = 4
FSCONFIG_SET_FD: Final = 5
FSCONFIG_CMD_CREATE: Final = 6
FSCONFIG_CMD_RECONFIGURE: Final = 7
FSCONFIG_CMD_CREATE_EXCL: Final = 8

# --- limits and errors (include/uapi/linux/limits.h, include/linux/err.h) -----------------------
PATH_MAX: Final = 4096       # counting the NUL: the kernel refuses a longer path (ENAMETOOLONG)
MAX_ERRNO: Final = 4095      # a call's result in -MAX_ERRNO..-1 is -errno
#: errors of the tracer's own opens that say nothing of the file opened: out of descriptors
#: (EMFILE, ENFILE -- a program may lower the tracer's RLIMIT_NOFILE with prlimit64:
#: docs/security.md, "Denial of service") or of memory (ENOMEM)
TRACER_LIMITS: Final = frozenset({24, 23, 12})

# --- socket options Python's socket module may lack (include/uapi/asm-generic/socket.h) ---------
SO_PEERPIDFD: Final = 77  # a pidfd of the peer as it connected (Linux 6.5; else ENOPROTOOPT)

# --- pidfd_info (include/uapi/linux/pidfd.h: PIDFD_GET_INFO, Linux 6.13; the coredump mask 6.16)
#: _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info), the 72 bytes that end in coredump_mask
PIDFD_GET_INFO: Final = 0xC048FF0B
PIDFD_INFO_SIZE: Final = 72
PIDFD_INFO_COREDUMP: Final = 1 << 4  # mask: coredump_mask (offset 64) asked for, and filled
PIDFD_COREDUMP_USER: Final = 1 << 2  # coredump_mask: SUID_DUMP_USER, and no core dumped
#: landlock_restrict_self's flags that only say what is logged (LOG_SAME_EXEC_OFF,
#: LOG_NEW_EXEC_ON, LOG_SUBDOMAINS_OFF): with no other, the calling thread alone enters the domain
LANDLOCK_RESTRICT_SELF_LOG_FLAGS: Final = 0x7

# --- prctl(2) options and capabilities (include/uapi/linux/prctl.h, capability.h) ---------------
PR_GET_DUMPABLE: Final = 3
PR_SET_DUMPABLE: Final = 4
PR_SET_NO_NEW_PRIVS: Final = 38
CAP_DAC_OVERRIDE: Final = 1
CAP_DAC_READ_SEARCH: Final = 2
CAP_KILL: Final = 5
CAP_SYS_PTRACE: Final = 19
CAP_SYS_ADMIN: Final = 21
CAP_SYS_RESOURCE: Final = 24
CAP_CHECKPOINT_RESTORE: Final = 40

# --- what the engine's guards test (see systrace_py.syscalls, GUARDS) ----------------------------
SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER: Final = 8
SECCOMP_FILTER_FLAG_TSYNC: Final = 1
SECCOMP_FILTER_FLAG_TSYNC_ESRCH: Final = 16
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: Final = 32
#: every flag seccomp(SECCOMP_SET_MODE_FILTER) knows (SECCOMP_FILTER_FLAG_MASK, Linux 5.19 on)
SECCOMP_FILTER_FLAG_MASK: Final = 0x3F
SECCOMP_MODE_FILTER: Final = 2  # (prctl(PR_SET_SECCOMP)'s mode for a filter)
PR_SET_SECCOMP: Final = 22  # (its mode 2: a filter, as seccomp(SECCOMP_SET_MODE_FILTER))
PR_SET_MM: Final = 35
TIOCSTI: Final = 0x5412      # push bytes into the terminal's input: commands for the user's shell
TIOCLINUX: Final = 0x541C    # (subcodes 2/3: paste a console selection, the same thing)
#: ioctls that set a terminal's line settings (termios, termio, termios2): its interrupt
#: character among them, at which the line sends its foreground job SIGINT (n_tty's isig) --
#: the job of `systrace --attach`, whose SIGINT detaches (Tracer._terminal_refusal)
TERMINAL_SETTINGS_IOCTLS: Final = frozenset({
    0x5402, 0x5403, 0x5404,              # TCSETS, TCSETSW, TCSETSF
    0x5406, 0x5407, 0x5408,              # TCSETA, TCSETAW, TCSETAF
    0x402C542B, 0x402C542C, 0x402C542D,  # TCSETS2, TCSETSW2, TCSETSF2
})
#: socket ioctls that set its owner as F_SETOWN does, from an int the argument points at
FIOSETOWN: Final = 0x8901
SIOCSPGRP: Final = 0x8902
#: ioctl of /dev/net/tun that attaches the file to a tun/tap interface (a new one: root; one
#: made for the caller: anyone): its writes are then packets the kernel takes as received,
#: for any destination -- a raw socket's power through a file
TUNSETIFF: Final = 0x400454CA  # _IOW('T', 202, int)
#: ioctl of /dev/userfaultfd (since 6.1) that makes a userfaultfd: the userfaultfd call's power
USERFAULTFD_IOC_NEW: Final = 0xAA00  # _IO(0xAA, 0x00)
# loop devices (include/uapi/linux/loop.h; drivers/block/loop.c): an attach hands the device a
# descriptor, whose file the device then reads -- and writes, unless it is read-only: the
# file not open for writing, the device not opened for writing, or LO_FLAGS_READ_ONLY in
# LOOP_CONFIGURE's struct (loop_configure); LOOP_CHANGE_FD only swaps the file of a read-only
# device -- whatever that descriptor's own access mode (known gap #44, gap44)
LOOP_SET_FD: Final = 0x4C00
LOOP_CHANGE_FD: Final = 0x4C06
LOOP_CONFIGURE: Final = 0x4C0A      # its fd is the first field of a struct loop_config in memory
LOOP_CONFIG_SIZE: Final = 304       # struct loop_config: fd, block_size, loop_info64, 8 u64
LOOP_CONFIG_FLAGS: Final = 60       # ... the offset of info.lo_flags in it
LO_FLAGS_READ_ONLY: Final = 1
LOOP_MAJOR: Final = 7               # the loop devices' block major (include/uapi/linux/major.h)
# a disk's partitions (block/partitions/core.c, bdev_add_partition: BLKPG_ADD_PARTITION's
# pno 1..255 -- DISK_MAX_PARTS; named the disk's name, "p" when it ends in a digit, and the
# number): a loop device's partitions read and write parts of its file, and an ioctl on a
# partition is its whole disk's (lo_ioctl takes bdev->bd_disk) -- LOOP_SET_FD too (loose30)
DISK_MAX_PARTS: Final = 256
# btrfs send (fs/btrfs/send.c, CAP_SYS_ADMIN): the descriptor is a read-only subvolume's
# directory, and the kernel writes a stream of every file below it -- names, attributes and
# contents -- into the send_fd of its struct: files the caller never opened (gap44)
BTRFS_IOC_SEND: Final = 0x40489426  # _IOW(0x94, 38, struct btrfs_ioctl_send_args), 72 bytes
# btrfs device add and replace (fs/btrfs/ioctl.c, volumes.c, dev-replace.c; CAP_SYS_ADMIN): a
# block device named by a path in the struct (vol_args.name; start.tgtdev_name), which the
# kernel opens itself for writing and writes a btrfs superblock and the file system's data
# onto: a write of a device no rule is asked about (review 30)
BTRFS_IOC_ADD_DEV: Final = 0x5000940A      # _IOW(0x94, 10, struct btrfs_ioctl_vol_args), 4096
BTRFS_IOC_DEV_REPLACE: Final = 0xCA289435  # _IOWR(0x94, 53, struct ..._dev_replace_args), 2600
# btrfs tree search (fs/btrfs/ioctl.c, CAP_SYS_ADMIN): the items of the descriptor's
# subvolume's tree (tree_id 0), or of any tree by its id -- a small file's inline extent is its
# bytes, a directory item its entries' names: every file of the file system, by no name (red
# team 83, btrfs_search.c)
BTRFS_IOC_TREE_SEARCH: Final = 0xD0009411     # _IOWR(0x94, 17, struct btrfs_ioctl_search_args)
BTRFS_IOC_TREE_SEARCH_V2: Final = 0xC0709411  # _IOWR(0x94, 17, ..._search_args_v2), 112 bytes
# btrfs inode paths (CAP_SYS_ADMIN): every name of an inode of the descriptor's subvolume, by
# its number -- the names in a directory whose listing a rule refuses (red team 83)
BTRFS_IOC_INO_PATHS: Final = 0xC0389423       # _IOWR(0x94, 35, struct btrfs_ioctl_ino_path_args)
#: the requests that attach a file to a loop device, by name
LOOP_ATTACH_IOCTLS: Final = ((LOOP_SET_FD, "LOOP_SET_FD"), (LOOP_CHANGE_FD, "LOOP_CHANGE_FD"),
                             (LOOP_CONFIGURE, "LOOP_CONFIGURE"))
#: ioctl requests that only ask a terminal's or a descriptor's state (isatty's TCGETS; the
#: window size; the foreground group; the bytes ready to read), none a guard names
TCGETS: Final = 0x5401
TIOCGPGRP: Final = 0x540F
TIOCGWINSZ: Final = 0x5413
FIONREAD: Final = 0x541B
RLIMIT_CORE: Final = 4
#: keyctl(2)'s operations that let a task's key searches find keys its tracer's do not: a
#: session keyring of its own (or a named one), a key linked or moved into a keyring it
#: searches, its session given to its parent, a key a construction instantiates (or negates,
#: or rejects), the authority over another's construction assumed (its searches then look in
#: the requester's keyrings too), the user's persistent keyring linked into one it searches
#: (linux/keyctl.h).  add_key always may (into the task's own thread or process keyring);
#: KEYCTL_SEARCH may when it names a keyring to link what it finds into
#: (:data:`KEYCTL_SEARCH`, syscalls.py: review 41).
KEYCTL_JOIN_SESSION_KEYRING: Final = 1
KEYCTL_LINK: Final = 8
KEYCTL_SEARCH: Final = 10
KEYCTL_INSTANTIATE: Final = 12
KEYCTL_NEGATE: Final = 13
KEYCTL_ASSUME_AUTHORITY: Final = 16
KEYCTL_SESSION_TO_PARENT: Final = 18
KEYCTL_REJECT: Final = 19
KEYCTL_INSTANTIATE_IOV: Final = 20
KEYCTL_GET_PERSISTENT: Final = 22
KEYCTL_MOVE: Final = 30
KEYRING_WIDENING_KEYCTLS: Final = (KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_LINK, KEYCTL_INSTANTIATE,
                                   KEYCTL_NEGATE, KEYCTL_ASSUME_AUTHORITY,
                                   KEYCTL_SESSION_TO_PARENT, KEYCTL_REJECT,
                                   KEYCTL_INSTANTIATE_IOV, KEYCTL_GET_PERSISTENT, KEYCTL_MOVE)
#: perf_event_open: its pid argument is a descriptor of a cgroup directory
PERF_FLAG_PID_CGROUP: Final = 1 << 2
MAP_SHARED: Final = 0x01     # (MAP_SHARED_VALIDATE, 0x03, has this bit too)
#: a mapping whose pages the kernel's reclaim may drop at any time, written or not: read
#: again, they are zeros (Linux 6.11; glibc 2.41's getrandom state)
MAP_DROPPABLE: Final = 0x08
#: madvise: the kernel's reclaim may drop these pages (read again: zeros) until each is
#: written again (jemalloc's, Go's and Rust's allocators give memory back so)
MADV_FREE: Final = 8
#: the advice process_madvise may give (syscalls.py): what keeps every page's contents and
#: mapping -- MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT, MADV_COLLAPSE, all the kernel takes for
#: another process's memory (process_madvise_remote_valid)
PROCESS_MADVISE_KEEPS: Final = (3, 20, 21, 25)
MAP_FIXED: Final = 0x10
PROT_READ: Final = 0x1
PROT_WRITE: Final = 0x2
PROT_EXEC: Final = 0x4       # alone, on a CPU with protection keys: an execute-only mapping
MREMAP_FIXED: Final = 2
SHM_REMAP: Final = 0x4000
SOL_XDP: Final = 283         # setsockopt level of AF_XDP (XDP_UMEM_REG: memory the kernel fills)
SOL_PACKET: Final = 263      # setsockopt level of AF_PACKET
PACKET_RX_RING: Final = 5    # a ring of kernel pages the kernel writes each captured packet into
PACKET_TX_RING: Final = 13   # (and each sent frame's status): mapped by whoever holds the socket
IPPROTO_IP: Final = 0
IP_OPTIONS: Final = 4        # source routes: the packet goes to an unchecked address
IP_RETOPTS: Final = 7
IPPROTO_IPV6: Final = 41
IPV6_2292RTHDR: Final = 5
#: sticky options set from a buffer of control messages (ip6_datagram_send_ctl): a routing
#: header among them (type 2, where the kernel has CONFIG_IPV6_MIP6) as IPV6_RTHDR would
IPV6_2292PKTOPTIONS: Final = 6
IPV6_RTHDR: Final = 57
#: (level, option) pairs setsockopt may not set: routing headers name destinations no rule sees
REFUSED_SOCKOPTS: Final = ((IPPROTO_IP, IP_OPTIONS), (IPPROTO_IPV6, IPV6_RTHDR),
                           (IPPROTO_IPV6, IPV6_2292RTHDR), (IPPROTO_IPV6, IPV6_2292PKTOPTIONS))
#: control messages sendmsg and sendmmsg may not carry, for the same reason as REFUSED_SOCKOPTS
REFUSED_CONTROL: Final = ((IPPROTO_IP, IP_RETOPTS), (IPPROTO_IPV6, IPV6_RTHDR),
                          (IPPROTO_IPV6, IPV6_2292RTHDR))

# --- sockets (include/linux/socket.h, include/linux/net.h, include/uapi/linux/in.h, in6.h) ------
AF_UNSPEC: Final = 0
AF_UNIX: Final = 1
AF_INET: Final = 2
AF_INET6: Final = 10
AF_NETLINK: Final = 16
SOCK_STREAM: Final = 1
SOCK_DGRAM: Final = 2
#: SOCK_MAX: socket() answers EINVAL for a type at or above it
SOCK_MAX: Final = 11
SOCK_NONBLOCK: Final = O_NONBLOCK
SOCK_CLOEXEC: Final = O_CLOEXEC
IPPROTO_ICMP: Final = 1
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17
IPPROTO_ICMPV6: Final = 58
IPPROTO_UDPLITE: Final = 136
IP_PKTINFO: Final = 8        # control message: struct in_pktinfo (its ipi_spec_dst: the source)
IPV6_V6ONLY: Final = 26
IPV6_PKTINFO: Final = 50     # control message: struct in6_pktinfo (its ipi6_addr: the source)
IP_UNICAST_IF: Final = 50    # (IPPROTO_IP) the output device of unicast datagrams (getsockopt)
SO_BINDTOIFINDEX: Final = 62  # (SOL_SOCKET) the device the socket is bound to (getsockopt)
MSG_FASTOPEN: Final = 0x20000000   # sendto/sendmsg on TCP: connect to msg_name, data in the SYN
SOCKADDR_UN_SIZE: Final = 110      # sizeof(struct sockaddr_un)
SIN6_LEN_RFC2133: Final = 24       # the shortest struct sockaddr_in6 the kernel accepts

# --- ioctl requests that change the file behind a descriptor not open for writing ----------------
# The kernel checks ownership (or a capability) for these, not the descriptor's access mode, so
# a descriptor opened read-only -- as every directory is -- is enough: each is the fswrite call
# it is, decided on the descriptor's file (like fchmod).  Checked against the kernel's handlers
# (fs/file_attr.c, fs/ext4/ioctl.c, fs/crypto/policy.c, fs/verity/enable.c, fs/btrfs/ioctl.c).
# Left out, with the reason: requests that need FMODE_WRITE on the file they change (FICLONE,
# FICLONERANGE, EXT4_IOC_MOVE_EXT, EXT4_IOC_SWAP_BOOT, the XFS/fallocate space requests);
# FIDEDUPERANGE (it shares extents only where the bytes are already equal: no content, size or
# time changes); requests that change no file but the file system or caches (FITRIM, FIFREEZE,
# resizing, labels and UUIDs, the fscrypt keyring, EXT4_IOC_ALLOC_DA_BLKS, defragmentation);
# and the FS_IOC32_* numbers, which the native ABI does not take.
FS_IOC_SETFLAGS: Final = 0x40086602                 # _IOW('f', 2, long): chattr's flags
FS_IOC_FSSETXATTR: Final = 0x401C5820               # _IOW('X', 32, struct fsxattr): xflags, projid
FS_IOC_SETVERSION: Final = 0x40087602               # _IOW('v', 2, long): the inode generation
EXT4_IOC_SETVERSION: Final = 0x40086604             # _IOW('f', 4, long): the same, ext4's number
EXT4_IOC_MIGRATE: Final = 0x6609                    # _IO('f', 9): block map -> extents
FS_IOC_SET_ENCRYPTION_POLICY: Final = 0x800C6613    # _IOR('f', 19, struct fscrypt_policy_v1)
FS_IOC_ENABLE_VERITY: Final = 0x40806685            # _IOW('f', 133, struct fsverity_enable_arg):
#                                                     it even requires a read-only descriptor
BTRFS_IOC_SNAP_CREATE: Final = 0x50009401           # a snapshot made in the directory
BTRFS_IOC_SUBVOL_CREATE: Final = 0x5000940E         # a subvolume made in the directory
BTRFS_IOC_SNAP_DESTROY: Final = 0x5000940F          # a subvolume of the directory deleted
BTRFS_IOC_SNAP_CREATE_V2: Final = 0x50009417
BTRFS_IOC_SUBVOL_CREATE_V2: Final = 0x50009418
BTRFS_IOC_SUBVOL_SETFLAGS: Final = 0x4008941A       # a subvolume made read-only or writable
BTRFS_IOC_SET_RECEIVED_SUBVOL: Final = 0xC0C89425   # a subvolume's received UUID
BTRFS_IOC_SNAP_DESTROY_V2: Final = 0x5000943F
#: (request, name) of every ioctl request that changes the file behind its descriptor
FILE_CHANGING_IOCTLS: Final = (
    (FS_IOC_SETFLAGS, "FS_IOC_SETFLAGS"), (FS_IOC_FSSETXATTR, "FS_IOC_FSSETXATTR"),
    (FS_IOC_SETVERSION, "FS_IOC_SETVERSION"), (EXT4_IOC_SETVERSION, "EXT4_IOC_SETVERSION"),
    (EXT4_IOC_MIGRATE, "EXT4_IOC_MIGRATE"),
    (FS_IOC_SET_ENCRYPTION_POLICY, "FS_IOC_SET_ENCRYPTION_POLICY"),
    (FS_IOC_ENABLE_VERITY, "FS_IOC_ENABLE_VERITY"),
    (BTRFS_IOC_SNAP_CREATE, "BTRFS_IOC_SNAP_CREATE"),
    (BTRFS_IOC_SUBVOL_CREATE, "BTRFS_IOC_SUBVOL_CREATE"),
    (BTRFS_IOC_SNAP_DESTROY, "BTRFS_IOC_SNAP_DESTROY"),
    (BTRFS_IOC_SNAP_CREATE_V2, "BTRFS_IOC_SNAP_CREATE_V2"),
    (BTRFS_IOC_SUBVOL_CREATE_V2, "BTRFS_IOC_SUBVOL_CREATE_V2"),
    (BTRFS_IOC_SUBVOL_SETFLAGS, "BTRFS_IOC_SUBVOL_SETFLAGS"),
    (BTRFS_IOC_SET_RECEIVED_SUBVOL, "BTRFS_IOC_SET_RECEIVED_SUBVOL"),
    (BTRFS_IOC_SNAP_DESTROY_V2, "BTRFS_IOC_SNAP_DESTROY_V2"))
#: a snapshot's struct (btrfs_ioctl_vol_args and _v2 are both 4096 bytes, copied whole by
#: memdup_user: EFAULT first), its source's descriptor the __s64 at its start, which the
#: kernel takes as an int (__btrfs_ioctl_snap_create's ``int fd``); the source must be a
#: subvolume's root directory, inode BTRFS_FIRST_FREE_OBJECTID (else EINVAL)
BTRFS_VOL_ARGS_SIZE: Final = 4096
BTRFS_FIRST_FREE_OBJECTID: Final = 256
#: ... the new name's offset in each, and its longest (the kernel ends it there: name[MAX] = 0)
BTRFS_VOL_ARGS_NAME: Final = 8                # btrfs_ioctl_vol_args.name, BTRFS_PATH_NAME_MAX
BTRFS_PATH_NAME_MAX: Final = 4087
BTRFS_VOL_ARGS_V2_NAME: Final = 56            # btrfs_ioctl_vol_args_v2.name, _SUBVOL_NAME_MAX
BTRFS_SUBVOL_NAME_MAX: Final = 4039
#: the deletion of a subvolume (BTRFS_IOC_SNAP_DESTROY, _V2): every file in it removed, by
#: the name in the struct (at 8; _v2's at 56) in the descriptor's directory, or (_v2 with
#: BTRFS_SUBVOL_SPEC_BY_ID in its flags, at 16) by the subvolume's id alone, the __u64 in the
#: name's union: no name at all -- decided as the removal of DIR/NAME and every path below
#: it, refused by id where a rule decides by name (Supervisor._destroy; review 59, close 31).
#: The guard stops them, whatever the table says of fswrite (a rule on unlinkat alone)
BTRFS_DESTROY_IOCTLS: Final = ((BTRFS_IOC_SNAP_DESTROY, "BTRFS_IOC_SNAP_DESTROY"),
                               (BTRFS_IOC_SNAP_DESTROY_V2, "BTRFS_IOC_SNAP_DESTROY_V2"))
#: the creation of an empty subvolume (BTRFS_IOC_SUBVOL_CREATE, _V2): a directory made at the
#: name in its struct, decided as its making (a mkdir of it: Supervisor._subvolume, close 27).
#: The guard stops them, whatever the table says of fswrite (review 62: under ``never mkdir,
#: mkdirat`` and no fswrite rule the request ran unstopped and made the name; close 33)
BTRFS_SUBVOLUME_IOCTLS: Final = ((BTRFS_IOC_SUBVOL_CREATE, "BTRFS_IOC_SUBVOL_CREATE"),
                                 (BTRFS_IOC_SUBVOL_CREATE_V2, "BTRFS_IOC_SUBVOL_CREATE_V2"))
BTRFS_VOL_ARGS_V2_FLAGS: Final = 16           # btrfs_ioctl_vol_args_v2.flags
BTRFS_SUBVOL_SPEC_BY_ID: Final = 1 << 4       # ... the subvolume named by its id (DELETE mask)
#: the snapshot requests: decided as a read of the source subvolume's whole tree
#: (Supervisor._snapshot, close 27), not refused wholesale
BTRFS_SNAPSHOT_IOCTLS: Final = ((BTRFS_IOC_SNAP_CREATE, "BTRFS_IOC_SNAP_CREATE"),
                                (BTRFS_IOC_SNAP_CREATE_V2, "BTRFS_IOC_SNAP_CREATE_V2"))
#: the btrfs requests decided apart where a rule decides by name: they read or write files no
#: rule is asked about (Supervisor._decide) -- a send's stream, a device added or replaced, a
#: tree search's items, an inode's names (refused, EPERM), and a snapshot: a copy of every
#: file below the subvolume of the descriptor in its struct (its owner may make one, not only
#: root), under the new name, which the kernel makes without reading any of them (red team
#: 83, btrfs_snap.c: the secret read there, its directory's rule naming none of the copy's
#: names) -- decided as a read of every path at and below that subvolume's root
#: (BTRFS_SNAPSHOT_IOCTLS, close 27).  A snapshot is also the fswrite on its directory it is
#: (FILE_CHANGING_IOCTLS)
BTRFS_UNNAMED_IOCTLS: Final = ((BTRFS_IOC_SEND, "BTRFS_IOC_SEND"),
                               (BTRFS_IOC_ADD_DEV, "BTRFS_IOC_ADD_DEV"),
                               (BTRFS_IOC_DEV_REPLACE, "BTRFS_IOC_DEV_REPLACE"),
                               (BTRFS_IOC_TREE_SEARCH, "BTRFS_IOC_TREE_SEARCH"),
                               (BTRFS_IOC_TREE_SEARCH_V2, "BTRFS_IOC_TREE_SEARCH_V2"),
                               (BTRFS_IOC_INO_PATHS, "BTRFS_IOC_INO_PATHS"),
                               (BTRFS_IOC_SNAP_CREATE, "BTRFS_IOC_SNAP_CREATE"),
                               (BTRFS_IOC_SNAP_CREATE_V2, "BTRFS_IOC_SNAP_CREATE_V2"))

# --- protection keys (x86 PKU) ----------------------------------------------------------------
NT_X86_XSTATE: Final = 0x202      # PTRACE_GETREGSET: the task's XSAVE area, standard format
XFEATURE_PKRU: Final = 9          # the XSAVE component holding PKRU
FP_XSTATE_MAGIC1: Final = 0x46505853  # the kernel's software bytes in the XSAVE area (at 464)

# --- POSIX ACLs (include/uapi/linux/posix_acl.h, posix_acl_xattr.h) ------------------------------
XATTR_POSIX_ACL_ACCESS: Final = "system.posix_acl_access"
POSIX_ACL_XATTR_VERSION: Final = 2
ACL_USER_OBJ: Final = 0x01
ACL_USER: Final = 0x02
ACL_GROUP_OBJ: Final = 0x04
ACL_GROUP: Final = 0x08
ACL_MASK: Final = 0x10
ACL_OTHER: Final = 0x20

# include/uapi/linux/personality.h: the flags a set-user-ID exec clears (PER_CLEAR_ON_SETID)
ADDR_NO_RANDOMIZE: Final = 0x0040000
MMAP_PAGE_ZERO: Final = 0x0100000
ADDR_COMPAT_LAYOUT: Final = 0x0200000
READ_IMPLIES_EXEC: Final = 0x0400000
PER_CLEAR_ON_SETID: Final = (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT
                              | MMAP_PAGE_ZERO)
