"""Aliases: names for groups of system calls, as systrace had them (one table, documented).

A rule may name raw system calls (``openat``) or aliases (``fsread``).  An alias names a *class*
of behaviour rather than a bare list: ``openat`` belongs to ``fsread`` when it opens for reading
and to ``fswrite`` when it opens for writing, creating or truncating (an ``O_RDWR`` open is both),
``execve`` is both ``exec`` and ``fsread``, and the source of a ``rename`` or ``link`` is read as
well as written.  :func:`classes_of` gives the classes of one concrete call; a call is permitted
only when every one of its classes is (see :mod:`systrace_py.policy.match`).

``ALIASES`` lists, for each alias, every call that *can* belong to it; the seccomp prefilter uses
it to know which calls a rule might care about.
"""

from __future__ import annotations

import os

from systrace_py.syscalls import NUMBERS

OPEN_CALLS = frozenset({"open", "openat", "openat2", "creat"})
EXEC_CALLS = frozenset({"execve", "execveat"})
TWO_PATH_CALLS = frozenset({"rename", "renameat", "renameat2", "link", "linkat"})
#: calls that move a path, with everything below it when it is a directory
MOVE_CALLS = frozenset({"rename", "renameat", "renameat2"})

_FSREAD_ONLY = frozenset({
    "stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getxattr", "lgetxattr", "listxattr", "llistxattr",
    "getxattrat", "listxattrat", "chdir", "statfs", "inotify_add_watch", "fanotify_mark",
    "uselib",
})
_FSWRITE_ONLY = frozenset({
    "creat", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "symlink", "symlinkat",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "truncate", "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr",
    "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat", "removexattrat",
    "mknod", "mknodat", "file_setattr", "acct", "swapon", "swapoff",
})

#: Calls any program makes on what it already holds: descriptor I/O, memory, time, its own
#: ids, signal handlers, threads, exit -- OpenBSD's pledge("stdio") for Linux.  None takes a
#: path or an address, none reaches another process, so a learned policy permits them as one
#: group ("stdio") instead of listing forty names (see docs/learning.md).  Disjoint from every
#: other alias; ioctl and prctl are deliberately not in it (TIOCSTI, PR_SET_SECCOMP...).
_STDIO = frozenset({
    # descriptors already open
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
    "preadv2", "pwritev2", "close", "close_range", "dup", "dup2", "dup3", "lseek", "fstat",
    "fcntl", "pipe", "pipe2", "fsync", "fdatasync", "sync_file_range", "sendfile", "splice",
    "tee", "vmsplice", "copy_file_range", "poll", "ppoll", "select", "pselect6",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "eventfd", "eventfd2", "getdents", "getdents64", "flock", "fadvise64", "readahead",
    "ftruncate", "fallocate", "fgetxattr", "flistxattr", "fchdir", "memfd_create",
    "inotify_init", "inotify_init1", "inotify_rm_watch",
    "recvfrom", "recvmsg", "recvmmsg", "getsockopt", "setsockopt", "getsockname",
    "getpeername", "shutdown",
    # memory
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync", "mincore", "mlock",
    "mlock2", "munlock", "mlockall", "munlockall", "pkey_mprotect", "pkey_alloc", "pkey_free",
    "membarrier", "get_mempolicy", "set_mempolicy", "mbind", "map_shadow_stack", "mseal",
    # time
    "clock_gettime", "clock_getres", "clock_nanosleep", "gettimeofday", "time", "nanosleep",
    "times", "alarm", "getitimer", "setitimer", "timer_create", "timer_settime",
    "timer_gettime", "timer_getoverrun", "timer_delete", "timerfd", "timerfd_settime",
    "timerfd_gettime",
    # who am I
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "uname", "sysinfo", "getcwd",
    "getrlimit", "prlimit64", "getrusage", "getpriority", "sched_getaffinity",
    "sched_getparam", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getattr", "sched_rr_get_interval", "sched_yield", "getcpu", "umask", "capget",
    "getrandom",
    # threads, waiting, exit
    "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "set_robust_list",
    "get_robust_list", "set_tid_address", "rseq", "arch_prctl", "exit", "exit_group", "wait4",
    "waitid", "restart_syscall",
    # own signal handling (sending signals is the "signal" alias)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
    "rt_sigtimedwait", "sigaltstack", "pause", "signalfd", "signalfd4",
})

#: alias -> every call that can belong to it.  Keep docs/policy.md in step with this table.
ALIASES: dict[str, frozenset[str]] = {
    "fsread": _FSREAD_ONLY | OPEN_CALLS - {"creat"} | EXEC_CALLS | TWO_PATH_CALLS,
    "fswrite": _FSWRITE_ONLY | OPEN_CALLS | TWO_PATH_CALLS,
    "exec": EXEC_CALLS,
    "net-connect": frozenset({"connect", "sendto", "sendmsg", "sendmmsg"}),
    "net-bind": frozenset({"bind"}),
    "net-listen": frozenset({"listen"}),
    "net-accept": frozenset({"accept", "accept4"}),
    "net-socket": frozenset({"socket", "socketpair"}),
    "signal": frozenset({
        "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal",
    }),
    "process": frozenset({"fork", "vfork", "clone", "clone3"}),
    "privilege": frozenset({
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
        "setfsgid", "setgroups", "capset",
    }),
    "namespace": frozenset({
        "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree",
        "open_tree_attr", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
        "mount_setattr",
    }),
    "debug": frozenset({
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    }),
    "io-uring": frozenset({"io_uring_setup", "io_uring_enter", "io_uring_register"}),
    "stdio": _STDIO,
}

#: Calls that would let a program act outside what ptrace can see or hold (I/O done by the
#: kernel from a ring, files opened by handle, debugging other processes, new mount views,
#: loading code into the kernel).  They are refused with EPERM unless a permit rule names them
#: *by their own name* or by the alias that is exactly their group -- never through a default.
UNSAFE_CALLS: frozenset[str] = (
    ALIASES["io-uring"] | ALIASES["debug"] | ALIASES["namespace"]
    | frozenset({
        "open_by_handle_at", "name_to_handle_at", "kexec_load", "kexec_file_load", "bpf",
        "init_module", "finit_module", "delete_module", "perf_event_open", "userfaultfd",
        "iopl", "ioperm", "process_madvise", "process_mrelease",
        # fanotify hands its reader descriptors the kernel opened on files (no path, no open)
        "fanotify_init",
    })
)

#: Calls a ``path`` condition (or a path ``redirect``) can apply to: every member of fsread,
#: fswrite and exec, the namespace calls that name a directory, and the descriptor calls the
#: engine decides on the descriptor's file (``fchdir``, and ``fstat`` & co., which an *at call
#: with AT_EMPTY_PATH stands for).  A rule with ``path`` on any other call could never match,
#: so the policy loader refuses it.
PATH_CALLS: frozenset[str] = (
    ALIASES["fsread"] | ALIASES["fswrite"] | ALIASES["exec"]
    | frozenset({
        "mount", "umount2", "pivot_root", "chroot", "open_tree", "open_tree_attr", "move_mount",
        "fspick", "mount_setattr", "name_to_handle_at", "fchdir", "fstat", "fgetxattr",
        "flistxattr",
    })
)

#: Calls that carry a socket address, so ``address``, ``port`` and ``unix`` conditions can
#: apply to them.
ADDRESS_CALLS: frozenset[str] = frozenset({"connect", "bind", "sendto", "sendmsg", "sendmmsg"})

for _alias, _members in ALIASES.items():
    _unknown = _members - set(NUMBERS)
    assert not _unknown, f"alias {_alias} names unknown calls {_unknown}"
assert not (PATH_CALLS | ADDRESS_CALLS) - set(NUMBERS), "PATH_CALLS/ADDRESS_CALLS: unknown call"

_ALIAS_OF_CALL: dict[str, frozenset[str]] = {}
for _alias, _members in ALIASES.items():
    for _call in _members:
        _ALIAS_OF_CALL[_call] = _ALIAS_OF_CALL.get(_call, frozenset()) | {_alias}

O_ACCMODE = 0o3
O_WRONLY = 0o1
WRITE_OPEN_BITS = O_ACCMODE | os.O_CREAT | os.O_TRUNC | 0o20000000  # __O_TMPFILE


def open_reads(flags: int) -> bool:
    """Whether an open with these flags gives read access (O_PATH counts: it reveals the file)."""
    return flags & O_ACCMODE != O_WRONLY


def open_writes(flags: int) -> bool:
    """Whether an open with these flags writes, creates or truncates."""
    return flags & WRITE_OPEN_BITS != 0


def classes_of(syscall: str, role: str = "path", open_flags: int | None = None) -> frozenset[str]:
    """The aliases one concrete call belongs to, for the path argument in ``role``.

    ``role`` is "path" for the single path of most calls, "old"/"new" for the two paths of
    rename and link.  Calls outside every alias give an empty set: only rules that name them
    directly (or the default) apply.
    """
    if syscall in OPEN_CALLS:
        flags = open_flags if open_flags is not None else 0
        if syscall == "creat":
            return frozenset({"fswrite"})
        classes = set()
        if open_reads(flags):
            classes.add("fsread")
        if open_writes(flags):
            classes.add("fswrite")
        return frozenset(classes)
    if syscall in TWO_PATH_CALLS:
        return frozenset({"fsread", "fswrite"}) if role == "old" else frozenset({"fswrite"})
    return _ALIAS_OF_CALL.get(syscall, frozenset())


def aliases_of(syscall: str) -> frozenset[str]:
    """Every alias a call can belong to, whatever its arguments."""
    return _ALIAS_OF_CALL.get(syscall, frozenset())


def expand(name: str) -> frozenset[str]:
    """The calls an alias or call name stands for; KeyError for an unknown name."""
    if name in ALIASES:
        return ALIASES[name]
    if name in NUMBERS:
        return frozenset({name})
    raise KeyError(name)


def known_names() -> list[str]:
    """Every word a rule's ``calls`` may hold: aliases first, then call names."""
    return sorted(ALIASES) + sorted(NUMBERS)
