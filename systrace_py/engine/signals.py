"""Signals that would reach the tracer.

A traced program must not kill its tracer: when the tracer dies the tree dies with it
(PTRACE_O_EXITKILL), so nothing escapes, but the run is over -- a denial of service.  Three
routes lead there:

* a signal aimed at one of the tracer's tasks: kill, tkill or rt_sigqueueinfo of any of its
  thread ids (the kernel delivers kill(TID) to the whole process), pidfd_open of one of them,
  pidfd_send_signal on a pidfd or /proc directory of one of them.  These calls always stop and
  are refused with EPERM (:func:`aims_at_tracer`, :func:`pidfd_aims_at_tracer`); tgkill and
  rt_tgsigqueueinfo name the thread group, and the filter refuses the tracer's.
* a signal to a process group that holds the tracer: ``kill(0, sig)`` and ``kill(-pgid, sig)``.
  The traced program stays in systrace's process group (that is what makes job control work as
  without systrace), and programs do signal their own group: a build killing its group to clean
  up, an editor stopping its job on ^Z.  Refusing would change what they see, so the tracer
  makes the call itself (:func:`signal_group`): it sends the signal to every process the call
  would have reached but itself, under the kernel's permission rule, and the call returns what
  the kernel would have returned.
* ``kill(-1, sig)``: every process the caller may signal -- handled in the same way.

Signals that would end the tracer are taken over -- those whose disposition in the tracer is
the default and whose default is to terminate (SIGKILL always) --, and so are those it handles
itself (:func:`handled_by_tracer`: SIGINT, SIGTERM, SIGHUP -- under ``--attach`` SIGINT and
SIGTERM detach the tree, which would then run untraced: red team 32).  The others reach it as
they would reach any member of the group: SIGTSTP stops it with its job.

**Pid namespaces.**  A caller in a pid namespace of its own (CLONE_NEWPID) names processes by
that namespace's numbers, in which the tracer has none: no pid it gives, no -pgid, and not
``kill(-1)`` (every process of *its* namespace) can reach the tracer -- only ``kill(0)``,
its own process group, which the kernel reaches whatever the namespaces.  So a pid it gives
is never compared with the tracer's (it would name another process), and only ``kill(0)`` is
taken over.  A /proc directory used as a pidfd is recognised in any procfs, wherever mounted.

**Signals inside the tree.**  A ``target = "tree"`` permit covers a signal call whose every
target is a task of the traced tree (:func:`signal_targets` names them, a process group's
members among them; the tracer tells which are its own: Tracer._in_tree).  What no list of
tasks can say -- -1, pidfd_send_signal to a group, a /proc directory as a pidfd, a number
given in a pid namespace of the caller's own -- is not covered: the rules after it decide.

**Descriptor owners.**  A descriptor's owner (fcntl F_SETOWN, F_SETOWN_EX; ioctl FIOSETOWN,
SIOCSPGRP on a socket) is sent SIGIO by the kernel -- or any signal F_SETSIG names, SIGKILL
too -- whenever I/O on the descriptor becomes possible (O_ASYNC), a lease breaks or a dnotify
event fires: a kill made without a signal call.  So setting one is decided as the kill it
stands for (DecodedCall.owner_as_signal: :func:`owner_targets` are its targets), unless it
is the caller's own process or thread (:func:`own_owner`) or its own process group with every
member in the tree -- what programs set.  The tracer as an owner is refused whatever the
table says (:func:`owner_aims_at_tracer`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from collections.abc import Callable
from stat import S_ISREG

from systrace_py import procfs
from systrace_py.engine.paths import PROC_SUPER_MAGIC
from systrace_py.engine.ptrace_ops import fs_type
from systrace_py.kernel import (
    CAP_KILL,
    DEV_CONSOLE,
    DEV_TTY,
    DEV_TTY0,
    F_OWNER_PGRP,
    F_OWNER_PID,
    F_OWNER_TID,
    MAX_NR_CONSOLES,
    SCREEN_KINDS,
    VCS_MAJOR,
)
from systrace_py.procfs import start_time

_INT_MIN = -(2**31)
#: pidfd_send_signal's flags that keep the signal to the pidfd's thread or thread group (Linux
#: 6.9); PIDFD_SIGNAL_PROCESS_GROUP (4) sends it to the process group
_PIDFD_ONE_TARGET = 0x1 | 0x2
#: the calls that name their targets by number, and the argument registers that do
_NUMBERED_TARGETS = {"kill": (0,), "tkill": (0,), "rt_sigqueueinfo": (0,),
                     "tgkill": (0, 1), "rt_tgsigqueueinfo": (0, 1)}
#: signals whose default action does not end the process (ignore, stop, continue)
_NOT_FATAL_BY_DEFAULT = frozenset({signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT,
                                   signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})


def int32(value: int) -> int:
    """A register holding a pid_t or int, as the kernel reads it."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


#: the processes outside the tree that enforce with the tracer (an approver that answers its
#: asks: red team 46), by pid and start time (a pid is reused once its process is gone)
_ENFORCERS: dict[int, int] = {}


def enforcer(pid: int) -> None:
    """Count a process outside the tree as the tracer's own from now on -- an approver
    (approver.py): what the tracer's guards refuse at the tracer (a debug call, a perf event,
    its /proc/PID/mem, a signal, a limit) they refuse at it too.  A rule naming ptrace let a
    tree seize its approver, which answers the asks about what the policy protects."""
    with contextlib.suppress(OSError, IndexError, ValueError):  # (gone: nothing to reach)
        _ENFORCERS[pid] = start_time(procfs.read(f"/proc/{pid}/stat"))


def tracer_tids() -> set[int]:
    """Every task of the tracer's process (a library user's threads included), and of the
    processes that enforce with it (:func:`enforcer`) while they live."""
    tids = {int(name) for name in os.listdir("/proc/self/task")}
    for pid, started in list(_ENFORCERS.items()):
        try:
            if start_time(procfs.read(f"/proc/{pid}/stat")) != started:
                raise ProcessLookupError
            tids.update(int(name) for name in os.listdir(f"/proc/{pid}/task"))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            _ENFORCERS.pop(pid, None)  # gone (or its pid another's): nothing to reach
    return tids


def resident_tracer(pid: int | str, dir_fd: int | None = None) -> bool:
    """Whether process ``pid`` (as the tracer's /proc numbers it; or the /proc directory
    ``dir_fd``, ``pid`` then "") is a resident tracer's -- a server (``systrace --resident``)
    or one of its workers, each the tracer of a run --: untraced, with a server's command line
    (resident_client.resident_command; a worker is a fork of its server).  They enforce as the
    tracer does, the server for every run of the user's to come, and what the tracer's guards
    refuse at the tracer they refuse at them: a root tree with a rule naming pidfd_getfd took
    the server's listening socket (its pidfd: SO_PEERPIDFD of a connection to it) and answered
    the user's next run in its place -- an exit status of its choice, the command never run,
    its descriptors and environment taken (red team 48, res_steal.c).  A process of the tree
    is traced, so never one; one gone (or unreadable) is none (the kernel finds none)."""
    from systrace_py.resident_client import resident_command

    where = f"/proc/{pid}" if dir_fd is None else "."
    try:
        cmdline = os.open(f"{where}/cmdline", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            words = os.read(cmdline, 65536)
        finally:
            os.close(cmdline)
        if not resident_command(words):
            return False
        status = os.open(f"{where}/status", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            text = os.read(status, 8192)
        finally:
            os.close(status)
    except OSError:
        return False
    for line in procfs.status_lines(text):
        if line.startswith(b"TracerPid:"):
            return _int_or_none(line[10:].strip()) == 0
    return False


def same_pid_namespace(tid: int) -> bool:
    """Whether a task numbers processes as the tracer does (its pid namespace is the
    tracer's; a task of the tree can only be in it or in one made below it).  A task that is
    gone counts as in it (nothing is taken from it)."""
    try:
        return os.readlink(f"/proc/{tid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        return True


def aims_at_tracer(target: int, caller_tid: int) -> bool:
    """Whether a positive pid/tid argument of the caller names one of the tracer's tasks (or
    may: the tracer cannot list them -- out of descriptors, _proc_directory_of_tracer).  The
    caller itself (a tkill or kill of its own: a stream of them in LTP's signal06, every
    one Python's) is traced, so never the tracer's: answered without reading /proc."""
    if target == caller_tid:
        return False
    try:
        tids = tracer_tids()
    except OSError:
        return target > 0
    return target > 0 and (target in tids or resident_tracer(target)) \
        and same_pid_namespace(caller_tid)


def owner_aims_at_tracer(kind: int, target: int, caller_tid: int) -> bool:
    """Whether a descriptor owner set by the caller (F_SETOWN_EX's ``kind``: a thread, a
    process, a process group; ``target`` its id) would have the kernel signal the tracer: one
    of its tasks, or the process group it is in.  (F_SETOWN's pid is a process, its -pgid a
    group.)"""
    if kind == F_OWNER_PGRP:
        return target > 0 and target == os.getpgrp() and same_pid_namespace(caller_tid)
    return kind in (F_OWNER_TID, F_OWNER_PID) and aims_at_tracer(target, caller_tid)


def pidfd_aims_at_tracer(caller_tid: int, fd: int) -> bool:
    """Whether a descriptor of the caller is a pidfd (or a /proc/PID directory, which the
    kernel accepts as one) of one of the tracer's tasks."""
    try:
        tids = tracer_tids()
    except OSError:
        return True  # cannot tell (the tracer out of descriptors...): as the tracer's
    try:
        # bytes: what a descriptor's fdinfo shows may be named by the caller
        info = procfs.read(f"/proc/{caller_tid}/fdinfo/{fd}")
    except FileNotFoundError:
        return False  # no such descriptor: the kernel says EBADF
    except OSError:
        return True  # cannot tell (the tracer out of descriptors...): as the tracer's
    for line in info.splitlines():
        if line.startswith(b"Pid:"):  # a pidfd: its pid as the tracer's /proc numbers it
            pid = _int_or_none(line[4:].strip())
            return pid in tids or (pid is not None and pid > 0 and resident_tracer(pid))
    return _proc_directory_of_tracer(f"/proc/{caller_tid}/fd/{fd}", tids)


#: pidfd_send_signal's flag that sends to the process group whose id is the pidfd's pid
PIDFD_SIGNAL_PROCESS_GROUP = 0x4
#: every flag pidfd_send_signal knows (PIDFD_SEND_SIGNAL_FLAGS, Linux 6.9)
_PIDFD_FLAGS = _PIDFD_ONE_TARGET | PIDFD_SIGNAL_PROCESS_GROUP


def pidfd_flags_invalid(flags: int) -> bool:
    """Whether the kernel fails pidfd_send_signal with EINVAL for its flags alone, before it
    looks at the descriptor, the signal or the siginfo: a flag it does not know, or more
    than one scope (``hweight32(flags) > 1``).  Such a call signals nothing.  (Before 6.9
    every flag is unknown: a flag it takes from 6.9 on is still checked, which fails
    closed.)"""
    return bool(flags & ~_PIDFD_FLAGS) or (flags & (flags - 1)) != 0


def pidfd_group_holds_tracer(caller_tid: int, fd: int, flags: int, sig: int) -> bool:
    """Whether pidfd_send_signal with PIDFD_SIGNAL_PROCESS_GROUP -- the process group whose
    id is the pidfd's pid, not that process -- may reach the tracer's group with a signal
    that would end it or that it handles (:func:`handled_by_tracer`): a pidfd of the group's
    leader (the shell that started ``systrace --attach``) sent SIGINT to the attaching
    tracer, which detached the tree (red team 32, sig_limit.c ``pgroup``).  What cannot be
    told (a /proc directory as the pidfd, a process gone or outside our pid namespace, its
    fdinfo unreadable) may."""
    if not flags & PIDFD_SIGNAL_PROCESS_GROUP or not 0 < sig < signal.NSIG:
        return False
    if not (would_end_tracer(sig) or handled_by_tracer(sig)):
        return False
    try:
        info = procfs.read(f"/proc/{caller_tid}/fdinfo/{fd}")
    except FileNotFoundError:
        return False  # no such descriptor: the kernel says EBADF
    except OSError:
        return True
    for line in info.splitlines():
        if line.startswith(b"Pid:"):
            pid = _int_or_none(line[4:].strip())
            return pid is None or pid <= 0 or pid == os.getpgrp()
    return True


def proc_directory_of_tracer(path: str) -> bool:
    """Whether the directory at ``path`` (as the tracer reaches it) is a /proc/PID or
    /proc/PID/task/TID directory, of any procfs, of one of the tracer's tasks: a "mem" file
    in it is the tracer's memory (red team 46: /proc/TracerPid/mem, read where a rule
    permits process_vm_readv).  What cannot be told is the tracer's."""
    try:
        tids = tracer_tids()
    except OSError:
        return True
    return _proc_directory_of_tracer(path, tids)


def _proc_directory_of_tracer(link: str, tids: set[int]) -> bool:
    """Whether the descriptor behind ``link`` is a /proc/PID directory (of any procfs) of one
    of the tracer's tasks -- told by that task's start time, which every pid namespace's
    view of it shows alike (a coincidence refuses a harmless signal, never the reverse).

    What cannot be told is the tracer's: only a descriptor that is no
    directory, a directory with no ``stat`` (no process's), a file gone, or the directory of
    a process that has ended (ESRCH: a struct pid is never given to another process, so a
    signal through it finds none -- the kernel's ESRCH, LTP pidfd_send_signal03) is another's.
    Each look opens a descriptor, and a traced program may lower the tracer's RLIMIT_NOFILE
    (prlimit64 of the tracer's pid) to one above what it holds: the second open here failed
    EMFILE, and the /proc directory of the tracer was taken for another's -- pidfd_send_signal
    through it sent SIGINT to a tracer that had attached (--attach), which let the program go
    (red team 32, tests/escape/sig_limit.c)."""
    try:
        fd = os.open(link, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (NotADirectoryError, FileNotFoundError, ProcessLookupError):
        return False  # not a directory: not a pidfd the kernel takes (or gone: EBADF; or
        #               its process ended: ESRCH)
    except OSError:
        return True
    try:
        if fs_type(fd) != PROC_SUPER_MAGIC:
            return False
        stat_fd = os.open("stat", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        if not S_ISREG(os.fstat(stat_fd).st_mode):
            # a process's stat is a file; /proc/PID/net holds a directory so named (the
            # network namespace's /proc/net/stat): no process's directory, whose read failed
            # EISDIR and took it for the tracer's -- a file created or written under
            # /proc/self/net was refused EPERM where the kernel answers (fuzz 64)
            os.close(stat_fd)
            return False
        if resident_tracer("", fd):  # (a resident server's or worker's: red team 48)
            os.close(stat_fd)
            return True
    except (FileNotFoundError, ProcessLookupError):
        return False  # a directory of a procfs, but no process's (or no longer)
    except OSError:
        return True
    finally:
        os.close(fd)
    try:
        started = start_time(os.read(stat_fd, 4096))
    except ProcessLookupError:
        return False  # (its process ended meanwhile)
    except (OSError, IndexError, ValueError):
        return True
    finally:
        os.close(stat_fd)
    for tid in tids:
        try:
            stat_text = procfs.read(f"/proc/{tid}/stat")  # (an enforcer's tasks too)
        except (FileNotFoundError, ProcessLookupError):
            continue  # (a thread of the tracer's that ended)
        except OSError:
            return True
        try:
            if start_time(stat_text) == started:
                return True
        except (IndexError, ValueError):
            return True
    return False


def signal_targets(name: str, args: tuple[int, ...], caller_tid: int
                   ) -> tuple[int, ...] | None:
    """The tasks a signal call names, as the tracer's /proc numbers them: the positive pid
    of kill, tkill and rt_sigqueueinfo (kill of a thread's tid reaches its process: a tree
    task's process is the tree's); the tgid and tid of tgkill and rt_tgsigqueueinfo; the
    process (or thread) of pidfd_send_signal's pidfd, by its fdinfo ``Pid:`` -- the pidfd
    holds that process, whatever numbers are reused; every process of the group that
    ``kill(0)`` (the caller's) or ``kill(-pgid)`` names (:func:`group_members`).  None when
    the call may reach what no list of tasks says (-1: every process; a pidfd call's
    process-group or unknown flag; a descriptor that is no pidfd, a /proc directory among
    them; a group with no member) or gives numbers of a pid namespace of the caller's own,
    which name other processes than the tracer's numbers (its own group, 0, it does not
    number)."""
    registers = _NUMBERED_TARGETS.get(name)
    if registers is not None:
        targets = tuple(int32(args[index]) for index in registers)
        if name == "kill" and targets[0] <= 0:
            return group_members(targets[0], caller_tid)
        if min(targets) <= 0 or not same_pid_namespace(caller_tid):
            return None
        return targets
    if name != "pidfd_send_signal" or args[3] & 0xFFFFFFFF & ~_PIDFD_ONE_TARGET:
        return None
    fd = int32(args[0])
    if fd < 0:
        return None
    try:
        info = procfs.read(f"/proc/{caller_tid}/fdinfo/{fd}")
    except OSError:
        return None  # no such descriptor: the kernel says EBADF
    for line in info.splitlines():
        if line.startswith(b"Pid:"):  # (-1 once the process is gone, 0 outside our namespace)
            pid = _int_or_none(line[4:].strip())
            return (pid,) if pid else None
    return None


def own_process(name: str, targets: tuple[int, ...], caller_tid: int, caller_tgid: int
                ) -> bool:
    """Whether a signal call (its :func:`signal_targets`) can reach no process but the
    caller's own, whatever happens while it runs: tgkill and rt_tgsigqueueinfo of the
    caller's own tgid (the kernel sends only to a thread of that group, and the caller keeps
    the number: a thread gone, its tid another process's, the call fails ESRCH), kill or
    rt_sigqueueinfo of its own pid, tkill of its own tid.  Such a call needs no frozen tree
    -- a Go program's runtime tgkills its own threads every few milliseconds."""
    if name in ("tgkill", "rt_tgsigqueueinfo"):
        return targets[0] == caller_tgid
    if name in ("kill", "rt_sigqueueinfo"):
        return targets == (caller_tgid,)
    return name == "tkill" and targets == (caller_tid,)


def owner_targets(kind: int, who: int, caller_tid: int) -> tuple[int, ...] | None:
    """The tasks a descriptor owner set by the caller names (F_SETOWN_EX's ``kind``, ``who``
    its id: DecodedCall.owner), as :func:`signal_targets` names a signal call's: the kernel
    sends them SIGIO, or F_SETSIG's signal, whenever I/O on the descriptor becomes possible
    -- the owner is a standing kill.  A thread or a process: itself; a process group: its
    members now (:func:`group_members`).  None when no list of tasks says it (a number of a
    pid namespace of the caller's own, an id the kernel refuses, a group with no member)."""
    if who <= 0 or not same_pid_namespace(caller_tid):
        return None
    if kind == F_OWNER_PGRP:
        return group_members(-who, caller_tid)
    return (who,) if kind in (F_OWNER_TID, F_OWNER_PID) else None


#: the terminals that stand for another, by their sysfs names: which one is the last of
#: /sys/class/tty/NAME/active (no session shows their own numbers as its tty_nr)
_TERMINAL_ALIASES = {DEV_CONSOLE: "console", DEV_TTY0: "tty0"}


#: every character device that stands for another terminal or screen, as (major, first minor,
#: last minor): /dev/tty, /dev/console, /dev/tty0 (terminal_stood_for) and the virtual
#: consoles' screens (screens_stood_for) -- a call on one is decided by the names of what it
#: stands for, in Python (DecodedCall.terminals_examined, examined_screens).  The native loop
#: is given these (cloop: _cloop.c stands_in) and hands every call on one to Python.
STAND_INS: tuple[tuple[int, int, int], ...] = (
    *((major, minor, minor) for major, minor in (DEV_TTY, *_TERMINAL_ALIASES)),
    (VCS_MAJOR, 0, 64 * len(SCREEN_KINDS) - 1))


def stands_in(device: int) -> bool:
    """Whether a character device of number ``device`` stands for another (STAND_INS)."""
    major, minor = os.major(device), os.minor(device)
    return any(major == each and first <= minor <= last for each, first, last in STAND_INS)


def terminal_behind(device: int, opener: int | str) -> int | None:
    """The terminal a file of this device number is when task ``opener`` uses it (the one
    home of "which terminal a device is"; :func:`foreground_group` names it by that): /dev/tty
    is the opener's controlling terminal (its tty_nr; 0: it has none, the kernel's ENXIO at an
    open), /dev/console and /dev/tty0 the one they stand for now, as sysfs tells (the console
    may be tty0, which stands for a console again), any other device itself.  None when it
    cannot be told (the opener's stat unreadable, sysfs silent): callers fail closed."""
    if (os.major(device), os.minor(device)) == DEV_TTY:
        return procfs.controlling_terminal(opener)
    for _ in range(len(_TERMINAL_ALIASES) + 1):
        alias = _TERMINAL_ALIASES.get((os.major(device), os.minor(device)))
        if alias is None:
            return device
        try:
            with open(f"/sys/class/tty/{alias}/active") as active:
                name = active.read().split()[-1]
            with open(f"/sys/class/tty/{name}/dev") as number:
                major, minor = number.read().strip().split(":")
            device = os.makedev(int(major), int(minor))
        except (OSError, IndexError, ValueError):
            return None
    return None


#: the Unix98 pseudo-terminals' slave majors (devices.txt: 136-143): slave N of a devpts
#: instance is (136 + N // 256, N % 256)
_PTS_MAJORS = range(136, 144)


def screens_stood_for(device: int) -> tuple[str, ...] | None:
    """The names of the screens a character device of number ``device`` may show, for the
    devices of a virtual console's screen (vc_screen.c), or None for any other device.
    /dev/vcsN, /dev/vcsuN and /dev/vcsaN are each console N's screen (its text, the same as
    UTF-32, with attributes): the three names, whichever of them the device is (review 44: a
    rule refusing /dev/vcsN was passed by /dev/vcsaN).  /dev/vcs, /dev/vcsu and /dev/vcsa
    show whichever console is in front at each read or write: one screen by their three names
    (red team 70: a rule refusing /dev/vcs was passed by /dev/vcsu), then every console's
    three (red team 66: /dev/vcs1 to /dev/vcs63 ..., in the kernel's names), in that order.
    So the first len(SCREEN_KINDS) names are always the device's own screen's."""
    minor = os.minor(device)
    if os.major(device) != VCS_MAJOR or minor >= 64 * len(SCREEN_KINDS):
        return None
    console = minor % 64
    if console:
        return tuple(f"/dev/{kind}{console}" for kind in SCREEN_KINDS)
    return tuple(f"/dev/{kind}" for kind in SCREEN_KINDS) + tuple(
        f"/dev/{kind}{n}" for n in range(1, MAX_NR_CONSOLES + 1) for kind in SCREEN_KINDS)


class UntoldTerminal(Exception):
    """Which terminal a file that stands for another is cannot be told (sysfs, /proc)."""


def terminal_stood_for(tid: int, device: int) -> str | None:
    """The name of the terminal that a character device of number ``device`` stands for when
    task ``tid`` opens it, for the devices that stand for another (red team 63): /dev/tty is
    the opener's controlling terminal (its tty_nr; none: the kernel says ENXIO, and "" here),
    /dev/console and /dev/tty0 the one :func:`terminal_behind` tells.  None for any other
    device (it is itself).  Named in the tracer's /dev: /dev/pts/N (a pseudo-terminal of
    another devpts instance under its number here: a rule on that name refuses it, never
    the reverse), else sysfs's DEVNAME.  Raises UntoldTerminal when it cannot be told."""
    pair = (os.major(device), os.minor(device))
    if pair != DEV_TTY and pair not in _TERMINAL_ALIASES:
        return None
    behind = terminal_behind(device, tid)
    if behind is None:
        alias = "/dev/console" if pair == DEV_CONSOLE else "/dev/tty0"
        raise UntoldTerminal(f"task {tid}'s controlling terminal cannot be read"
                             if pair == DEV_TTY else
                             f"the terminal {alias} stands for cannot be told (sysfs)")
    if not behind:
        return ""  # (/dev/tty of a task with no controlling terminal: ENXIO)
    major, minor = os.major(behind), os.minor(behind)
    if major in _PTS_MAJORS:
        return f"/dev/pts/{(major - _PTS_MAJORS.start) * 256 + minor}"
    try:
        with open(f"/sys/dev/char/{major}:{minor}/uevent", encoding="utf-8",
                  errors="replace") as uevent:
            for line in uevent:
                if line.startswith("DEVNAME="):
                    return "/dev/" + line[len("DEVNAME="):].strip()
    except OSError:
        pass
    raise UntoldTerminal(f"terminal {major}:{minor} has no name in sysfs")


def foreground_group(device: int, inside: Callable[[int], bool] | None = None) -> int | None:
    """The foreground process group of the terminal with this device number, as a process
    that has it as its controlling terminal tells (/proc/PID/stat's tty_nr and tpgid: every
    process of its session sees the same); None when no process has it so (the kernel then
    makes the caller a file's owner at O_ASYNC, tty_fasync) or it has no foreground group.
    A number can name several terminals: ptys are numbered per devpts instance, and a mount
    namespace makes a new instance, from 0 again.  So when processes of several sessions have
    it, a group told by a process ``inside`` (the tree) says not false is taken only if none
    other does: a terminal of the tree's own instance is not taken for another session's
    (red team 19, sig_devpts.c), at worst the reverse (a refusal)."""
    if device == 0:
        return None
    found: int | None = None
    for pid in _all_pids():
        fields = procfs.read_stat(pid)
        if fields is not None and int(fields[procfs.TTY_NR]) == device:
            group = int(fields[procfs.TPGID])
            if group > 0:
                if inside is None or not inside(pid):
                    return group
                found = group if found is None else found
    return found


def own_owner(kind: int, who: int, caller_tid: int, caller_tgid: int) -> bool:
    """Whether a descriptor owner is the caller's own process or thread (F_SETOWN getpid(),
    F_SETOWN_EX of its own tid: what programs that take SIGIO do), or none (0 clears the
    owner; the kernel refuses a negative id): no signal can reach another process, so the
    owner needs no permit of signals and no frozen tree (:func:`own_process`).  A caller in
    a pid namespace of its own gives its own numbers, not compared with the tracer's."""
    if who <= 0:
        return True
    return ((kind == F_OWNER_PID and who == caller_tgid)
            or (kind == F_OWNER_TID and who == caller_tid)) and same_pid_namespace(caller_tid)


def group_members(target: int, caller_tid: int) -> tuple[int, ...] | None:
    """The processes ``kill(target)`` reaches for a group -- ``target`` 0 (the caller's own
    group, whatever its pid namespace) or -pgid --, in order, as the tracer's /proc shows
    them now; None for -1 (every process), a pgid in a pid namespace of the caller's own, a
    caller gone, or a group with no member.  A snapshot: the tracer checks it again once the
    tree is frozen (Tracer._targets_stayed), when no task of the tree can join or leave a
    group, nor make a process."""
    if target == -1 or target == _INT_MIN:
        return None
    if target == 0:
        fields = procfs.read_stat(caller_tid)
        if fields is None:
            return None
        group = int(fields[procfs.PGRP])
    elif same_pid_namespace(caller_tid):
        group = -target
    else:
        return None
    members = []
    for pid in _all_pids():
        fields = procfs.read_stat(pid)
        if fields is not None and int(fields[procfs.PGRP]) == group:
            members.append(pid)
    return tuple(sorted(members)) or None


def would_end_tracer(sig: int) -> bool:
    """Whether ``sig`` delivered to the tracer's process would end it."""
    if sig == signal.SIGKILL:
        return True
    if sig in _NOT_FATAL_BY_DEFAULT:
        return False
    try:
        handler = signal.getsignal(sig)
    except (ValueError, OSError):
        return True
    return handler in (signal.SIG_DFL, None)


def handled_by_tracer(sig: int) -> bool:
    """Whether the tracer runs a handler of its own for ``sig`` (a Python one), a signal
    whose default would end it: what then happens is the tracer's doing, and under
    ``--attach`` SIGINT and SIGTERM detach the tree (Session.attach), which then runs
    untraced -- ``kill(-1, SIGINT)`` from an attached program let it go (red team 32,
    tests/escape/sig_limit.c ``group``).  Natively there is no tracer for such a signal to reach."""
    if sig in _NOT_FATAL_BY_DEFAULT or sig == signal.SIGKILL:
        return False
    try:
        handler = signal.getsignal(sig)
    except (ValueError, OSError):
        return False
    return callable(handler)


def signal_group(caller_tid: int, caller_pid: int, target: int, sig: int) -> int | None:
    """Do kill(target, sig) for the caller when ``target`` (0, -pgid or -1) reaches the tracer
    and the signal would end it: every other process it would reach gets the signal.  The
    value the call returns (-EPERM when the tracer cannot read what it must know), or None
    when the kernel can do the call itself.

    The tracer counts as reached (the kernel would have signalled it), so the call returns 0,
    as it would have."""
    if sig <= 0 or sig >= signal.NSIG or target > 0 or target == _INT_MIN:
        return None  # a probe, an invalid signal, one process: the kernel answers
    if target != 0 and not same_pid_namespace(caller_tid):
        return None  # -pgid or -1 of its own pid namespace, which the tracer is not in
    if not (would_end_tracer(sig) or handled_by_tracer(sig)):
        return None  # harmless to us
    try:
        group = None if target == -1 else os.getpgid(caller_tid) if target == 0 else -target
    except ProcessLookupError:
        return None  # (the caller gone: its call never runs)
    except OSError:
        return -errno.EPERM  # (cannot tell whose group: refused, as below)
    if group is not None and group != os.getpgrp():
        return None
    # From here the call may reach the tracer.  What the tracer cannot read -- the caller's
    # credentials or its own, the list of processes: the tracer out of descriptors, which a
    # program may bring about with prlimit64 (docs/security.md, "Denial of service") --
    # refuses it (EPERM): let to the kernel, the signal reached the tracer, and under
    # --attach SIGINT detached the tree (red team 38, tests/escape/sig_limit.c "glimit").
    me = os.getpid()
    caller, tracer = _Credentials.of(caller_tid), _Credentials.of(me)
    if caller is None or tracer is None:
        return -errno.EPERM
    if not caller.may_signal(tracer, sig):
        return None  # the kernel would not signal the tracer anyway
    others = (1, me, caller_pid) if group is None else (me,)
    try:
        pids = _all_pids()
    except OSError:
        return -errno.EPERM
    members = [(pid, creds) for pid in pids if pid not in others
               and (creds := _Credentials.of(pid)) is not None
               and (group is None or creds.pgrp == group)]
    # the caller last: a signal that ends it must not keep the others from getting theirs
    for pid, creds in sorted(members, key=lambda member: member[0] == caller_pid):
        if caller.may_signal(creds, sig):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
    return 0


class _Credentials:
    """What kill(2)'s permission check looks at, from /proc/PID/status and stat.

    Read as bytes: both files hold the process's name, which the process chooses (any bytes
    but NUL, newlines and parentheses included) -- text decoding would fail on it, and a
    process the tracer could not read would be one it never signals, or a caller it lets the
    kernel serve (its group kill then reaching the tracer)."""

    __slots__ = ("cap_kill", "effective", "pgrp", "real", "saved", "session")

    def __init__(self, status: bytes, stat: bytes) -> None:
        self.real = self.effective = self.saved = -1
        for line in procfs.status_lines(status):
            if line.startswith(b"Uid:"):
                self.real, self.effective, self.saved = (int(v) for v in line.split()[1:4])
        self.cap_kill = bool(procfs.has_capability(status, CAP_KILL))
        fields = procfs.stat_fields(stat)
        self.pgrp, self.session = int(fields[procfs.PGRP]), int(fields[procfs.SESSION])

    @classmethod
    def of(cls, pid: int) -> _Credentials | None:
        try:
            return cls(procfs.read(f"/proc/{pid}/status"), procfs.read(f"/proc/{pid}/stat"))
        except (OSError, ValueError, IndexError):
            return None

    def may_signal(self, target: _Credentials | None, sig: int) -> bool:
        """kill(2): a real or effective uid of the sender is the target's real or saved uid,
        or the sender has CAP_KILL; SIGCONT within a session."""
        if target is None:
            return False
        if self.cap_kill or {self.real, self.effective} & {target.real, target.saved}:
            return True
        return sig == signal.SIGCONT and self.session == target.session


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _int_or_none(text: str | bytes) -> int | None:
    """A decimal number of ASCII digits (int() would take other scripts' digits and signs)."""
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


#: signals whose default disposition is to ignore them (the kernel's SIG_KERNEL_IGNORE_MASK
#: but SIGCONT: it ends a stop, and the stop, not the signal, is what interrupted a wait)
_IGNORED_BY_DEFAULT = frozenset({signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH})


def signal_masks(tid: int) -> dict[str, int] | None:
    """The signal masks of /proc/TID/status (pending, blocked, ignored, caught), or None."""
    try:
        status = procfs.read(f"/proc/{tid}/status")
    except OSError:
        return None
    masks: dict[str, int] = {}
    for line in procfs.status_lines(status):
        key, _, value = line.partition(b":")
        if key in (b"SigPnd", b"ShdPnd", b"SigBlk", b"SigIgn", b"SigCgt"):
            masks[key.decode()] = int(value, 16)
    return masks if len(masks) == 5 else None


def unblocked_pending(tid: int) -> bool:
    """Whether a signal that interrupts a call natively is pending for the task or its
    process: one it does not block, nor ignore (True when that cannot be read: the caller
    then assumes a signal).  An ignored one (SIG_IGN, or SIGCHLD's default) is dropped when
    sent natively, and wakes nothing; only under ptrace is it queued, for the tracer to see
    (a shell's or a forking program's SIGCHLD at the stop of a hold or freeze)."""
    masks = signal_masks(tid)
    if masks is None:
        return True
    by_default = sum(1 << (sig - 1) for sig in _IGNORED_BY_DEFAULT) & ~masks["SigCgt"]
    ignored = masks["SigIgn"] | by_default
    return bool((masks["SigPnd"] | masks["ShdPnd"]) & ~masks["SigBlk"] & ~ignored)


#: glibc's own signals (SIGCANCEL, SIGSETXID: the kernel's 32 and 33), which it catches in
#: every program of threads and sends to one thread alone (tgkill): never to the process
_LIBC_INTERNAL = (1 << 31) | (1 << 32)


def catches_unblocked(tid: int) -> bool:
    """Whether the task's process catches a signal the task does not block, glibc's own
    left out (True when that cannot be read): such a signal, sent to the process, may wake
    the task's wait natively -- the wait fails with EINTR even when another thread takes
    the signal first, and no trace of it is left pending (Tracer._wait_exit)."""
    masks = signal_masks(tid)
    return masks is None or bool(masks["SigCgt"] & ~masks["SigBlk"] & ~_LIBC_INTERNAL)


def ignored_by(tid: int, sig: int) -> bool:
    """Whether the task's process ignores ``sig`` (SIG_IGN, or the default disposition of a
    signal ignored by default) and does not block it: natively such a signal is dropped
    when sent, and wakes nothing (False when that cannot be read)."""
    masks = signal_masks(tid)
    if masks is None or not 0 < sig <= 64 or sig == signal.SIGCONT:
        return False
    bit = 1 << (sig - 1)
    if masks["SigBlk"] & bit:
        return False
    return bool(masks["SigIgn"] & bit) or (sig in _IGNORED_BY_DEFAULT
                                           and not masks["SigCgt"] & bit)
