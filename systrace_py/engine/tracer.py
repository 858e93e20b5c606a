"""The stop loop: spawn, follow every task, turn each kernel stop into one Monitor call.

Design points (see docs/security.md and ARCHITECTURE.md for the why):

* Tasks are attached with PTRACE_SEIZE and PTRACE_O_EXITKILL: if this process dies, so does
  every tracee.  Any exception escaping the loop kills the whole traced tree before it
  propagates (fail closed).
* Policy-relevant calls arrive as PTRACE_EVENT_SECCOMP stops; PTRACE_GET_SYSCALL_INFO reads the
  number and arguments in one call; tasks are resumed with PTRACE_CONT.  An exit stop is asked
  for (PTRACE_SYSCALL) only when someone needs the result.
* New children are auto-attached (fork, vfork, clone).  Their first stop may arrive before or
  after the parent's event: an unknown task is held until its parent's event names it.
* Group-stop is handled the PTRACE_SEIZE way (PTRACE_LISTEN), so job control works: a stopped
  job stays stopped and its parent's waitpid sees it.  Signals are delivered as they came.
* A task that needs an answer from a person is parked (left stopped) while the loop serves
  every other task; :meth:`Tracer.answer` resumes it from any thread.
* A task held by an injected delay (a Reply's ``delay``/``delay_exit``) stays stopped too,
  on a timer of the loop: the other tasks go on meanwhile.
"""

from __future__ import annotations

import _heapq  # (heapq.py is _heapq and its Python twins: start-up)
import _queue  # (queue's SimpleQueue and Empty; queue.py imports heapq too: start-up)
import _thread  # (threading: after the exec, when a thread is made; start-up, issue 16)
import collections
import contextlib
import ctypes
import dataclasses
import errno
import itertools
import os
import select
import signal
import stat
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from systrace_py import procfs
from systrace_py.engine import answered, clone_args, cloop, enforce, pkeys, scratch, signals
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.child import (
    NO_CORE_LIMIT,
    RESTORED_SIGNALS,
    become_program,
    native_request,
)
from systrace_py.engine.decode import (
    MANY_ADDRESS_CALLS,
    RESTARTS,
    SOCKADDR_ARGS,
    DecodedCall,
    DecodedPath,
    DecodeError,
    Decoder,
    header_spans,
    read_argv,
)
from systrace_py.engine.events import Monitor, Reply, ReplyKind
from systrace_py.engine.exec_image import GONE, ITSELF
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.engine.paths import (
    PROC_SUPER_MAGIC,
    PathResolver,
    Resolved,
    View,
    names_elsewhere,
)
from systrace_py.engine.seccomp import (
    GUARDED_CALLS,
    GUARDS,
    NOTED,
    STOP_GUARDED,
    guard_refusal,
    keys_mapping,
    shares_memory,
    stop_guard,
)
from systrace_py.engine.taskstate import TaskEvent, TaskState
from systrace_py.engine.tracee import (
    AddressSpace,
    Expect,
    Process,
    Shared,
    Task,
    agent_descriptor,
    distinct,
    in_file_pages,
    in_kernel_ring,
    in_thread_group,
    kernel_ring_mappings,
    maps_uring,
    outside_sharer,
    overlaps,
    shared_mappings,
    shared_with,
)
from systrace_py.kernel import (
    ARG_REGS,
    AT_RECURSIVE,
    AUDIT_ARCH_X86_64,
    CAP_SYS_ADMIN,
    CAP_SYS_RESOURCE,
    CLONE_NEWNS,
    CLONE_NEWUSER,
    CLONE_VM,
    IORING_ENTER_REGISTERED_RING,
    KCMP_FILES,
    KCMP_FS,
    KCMP_VM,
    LANDLOCK_RESTRICT_SELF_LOG_FLAGS,
    MAP_DROPPABLE,
    OPEN_TREE_CLONE,
    PERF_FLAG_PID_CGROUP,
    PR_SET_NO_NEW_PRIVS,
    REFUSED_CONTROL,
    RLIMIT_CORE,
    SECCOMP_FILTER_FLAG_MASK,
    SECCOMP_FILTER_FLAG_NEW_LISTENER,
    SECCOMP_FILTER_FLAG_TSYNC,
    SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    SECCOMP_MODE_FILTER,
    TERMINAL_SETTINGS_IOCTLS,
)
from systrace_py.policy.aliases import ADDRESS_CALLS, EXEC_CALLS, OPEN_CALLS
from systrace_py.policy.filterplan import TRACE, FilterPlan, Verdict, VerdictKind
from systrace_py.policy.model import Table
from systrace_py.report import say
from systrace_py.syscalls import (
    CHANGES_CREDENTIALS,
    EINTR_ON_STOP,
    NAMES,
    NUMBERS,
    TIMED_RESTARTS,
    Guard,
    Lift,
    LiftTag,
    Treat,
    treated,
)
from systrace_py.views import clone_refusal, mount_kind, namespace_refusal

if TYPE_CHECKING:
    import threading


def new_event() -> threading.Event:
    """A ``threading.Event``, threading imported on the first (a front end's request, a host
    lookup's wait: after the program's exec; the start imports only ``_thread``)."""
    import threading

    return threading.Event()


_STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
#: the signals the kernel raises for an instruction that cannot run (_run_to_trap)
_FAULTS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE})
#: call number -> its timeout argument (syscalls.EINTR_ON_STOP)
_EINTR_ON_STOP = {NUMBERS[name]: timeout for name, timeout in EINTR_ON_STOP.items()}
#: the waits restarted with the time left (syscalls.TIMED_RESTARTS), by number
_TIMED_RESTARTS = frozenset(NUMBERS[name] for name in TIMED_RESTARTS)
#: below the stack pointer: the System V ABI's red zone, which a leaf function may use
_RED_ZONE = 128
_NS = 1_000_000_000
#: the calls whose result Tracer._noted reads at their exit (_views_changed's ``after``): in a
#: tree of several tasks they run frozen until then, so that no other task changes what the
#: result names (a descriptor's number) before it is noted
_NOTED_AT_EXIT = frozenset({"pivot_root", "fsmount", "open_tree", "open_tree_attr"})
#: Frozen calls that may sleep after the kernel has looked their path up for the last time,
#: and the kernel functions they sleep in then (/proc/TID/wchan): truncate waiting for a
#: lease's break (__break_lease, in vfs_truncate: LTP fcntl33); an open held in its own call
#: (under a seccomp filter of the program's own: Tracer._hold) waiting for a lease's break,
#: or in a FIFO's open for the other end (wait_for_partner; a sandboxed program whose threads
#: meet at a FIFO -- its other end opened by a task the freeze stopped -- waited for ever:
#: found by regs27, tests/progs/fifo_own_filter.c).  Only on file systems on which nothing looks
#: the path up again (no ESTALE retry: NFS, FUSE, CIFS... are not among them): ext4, xfs,
#: btrfs, tmpfs.  A freeze for such a call ends once it sleeps there (_slept_past_lookup).
_WAITS_PAST_LOOKUP: dict[str, frozenset[bytes]] = {
    "truncate": frozenset({b"__break_lease"}),
    **{name: frozenset({b"__break_lease", b"wait_for_partner", b"fifo_open"})
       for name in ("open", "openat", "creat", "openat2")},
}
_LOCAL_FS = frozenset({0xEF53, 0x58465342, 0x9123683E, 0x01021994})
#: how often a tree frozen for such a call looks whether the call sleeps there (s): the
#: loop then wakes up at most this late after the call returned (no SIGCHLD wakes it)
_PAST_LOOKUP_POLL = 0.002
_MS = 1_000_000  # ns
#: the longest seccomp filter the kernel takes (BPF_MAXINSNS): a longer one is EINVAL
_BPF_MAXINSNS = 4096
_EINTR_RETURN = -errno.EINTR & 0xFFFFFFFFFFFFFFFF
_SYSCALL_INSN_LEN = 2  # syscall (0f 05), as the kernel rewinds for -ERESTARTNOINTR
_SYSCALL_TRAP = signal.SIGTRAP | 0x80
_EXEC_NRS = frozenset({NUMBERS["execve"], NUMBERS["execveat"]})
#: SIGTRAP's bit in a signal mask (SigIgn, SigBlk, PTRACE_GETSIGMASK)
_TRAP_BIT = 1 << (signal.SIGTRAP - 1)
_MSEAL = NUMBERS["mseal"]
#: the signals the kernel forces on a task for what its code does (a fault, a seccomp trap:
#: force_sig_info_to_task), which unblocks one it blocks and resets its action to SIG_DFL
#: for good: an injected call runs with the task's own blocking of them (_inject_call)
_FORCED_BITS = sum(1 << (sig - 1) for sig in (*_FAULTS, signal.SIGSYS))


class _Diverted(Exception):
    """The task ran code of its own in an injected call's place (_run_to_trap, _run_to_exit):
    killed -- or it ended meanwhile."""


def _ignores_trap(tid: int) -> bool | None:
    """Whether a task ignores SIGTRAP (/proc/TID/status SigIgn), None when it cannot be read.
    The injected call's int3 raises SIGTRAP with force_sig, which resets an ignored (or
    blocked) SIGTRAP to SIG_DFL for good: such a task would later die of a SIGTRAP it
    ignores natively (_inject_call)."""
    masks = signals.signal_masks(tid)
    return None if masks is None else bool(masks["SigIgn"] & _TRAP_BIT)


def _area_mapped(tid: int, unread: bool = True) -> bool:
    """Whether the task's scratch area is there as the exec-time stub's mmap makes it: private
    anonymous read-only mappings covering the whole area (_cloop.c area_mapped, which says
    why): at the stub's own int3 it is not -- that mmap failed --, and the program cannot make
    it without a stop (the filter guards the area), so an int3 there with the area mapped is
    the program's (stub_trap.c) -- its mapping perhaps split (mlock) or merged with one after
    it by calls that make no stop.  ``unread``: what maps that cannot be read say (the task
    gone, or its maps not the tracer's to read): True at the stub's trap, False where the area
    is to be seen before it is relied on (Tracer._area_checked).
    Read as bytes, by lines that end at a newline alone, as _cloop.c's fgets does: a mapped
    file's name is the program's (its own program's path, at the exec event), which the
    kernel escapes only its newlines of -- a name not in UTF-8 ended the run as an internal
    error (red team 75, map_name.c), and one with a carriage return, \x1c or U+2028 was cut
    into a line of its own by str.splitlines()."""
    try:
        maps = procfs.read(f"/proc/{tid}/maps")
    except OSError:
        return unread
    covered, end = scratch.BASE, scratch.BASE + scratch.SIZE
    for line in maps.split(b"\n"):
        fields = line.split()
        try:
            low, high = (int(bound, 16) for bound in fields[0].split(b"-"))
        except (IndexError, ValueError):
            continue  # (no mapping's line: the empty one after the last newline)
        if high <= covered:
            continue
        if low > covered or fields[1:5] != [b"r-xp", b"00000000", b"00:00", b"0"]:
            break
        covered = high
        if covered >= end:
            break
    return covered >= end


def _area_sealed(tid: int, unread: bool = True) -> bool:
    """Whether the mapping at the area's base is sealed: ``sl`` among its VmFlags in
    /proc/PID/smaps (mseal, Linux 6.10; _cloop.c area_sealed, which says why).  At the stub's
    int3 with the area mapped, in a run that seals, the stub's seal failed -- or the int3 is
    the program's own, run after the stub mapped and sealed the area (a seal is never undone;
    a split keeps it on both parts).  In a fork's child (Tracer._area_checked) the copy may be
    one made between the lazy map's mmap and its seal (review 57).  A header line begins with
    the range in lower-case hex, a field line with its capitalized name; read as bytes, by
    lines, as _area_mapped reads maps, and only up to the area's VmFlags line, as the C reader:
    the program sets how many mappings come before it (review 57: 32,000 splits made the
    whole file 46 MB read at every exec).  ``unread``: what smaps that cannot be read say
    (the task gone): True at the stub's trap, as _area_mapped's; False in a fork's child."""
    inside = False
    try:
        with open(f"/proc/{tid}/smaps", "rb") as smaps:
            for line in smaps:
                if line[:1] in _HEADS:
                    bounds = line.split(b" ", 1)[0].split(b"-")
                    try:
                        low, high = int(bounds[0], 16), int(bounds[1], 16)
                    except (IndexError, ValueError):
                        low = high = 0
                    if low > scratch.BASE:
                        return False  # (in address order: none holds the base)
                    inside = low <= scratch.BASE < high
                elif inside and line.startswith(b"VmFlags:"):
                    return b"sl" in line.split()[1:]
    except OSError:
        return unread
    return False


#: the first bytes of an smaps header line (a range in lower-case hex; a field's name is
#: capitalized)
_HEADS = frozenset(bytes((c,)) for c in b"0123456789abcdef")


def _held_signal(status: int) -> int:
    """The signal a stop holds for delivery -- a signal-delivery-stop's, which a detach hands
    on -- or 0 (an event, a call's stop, no stop)."""
    if not os.WIFSTOPPED(status) or status >> 16:
        return 0
    sig = os.WSTOPSIG(status)
    return 0 if sig == _SYSCALL_TRAP else sig


#: each ptrace event stop: its kind (Tracer.stop_kinds) and its name (the stops the native loop
#: hands to Python, Tracer.python_kinds: ``--stats``)
_EVENTS = {pt.PTRACE_EVENT_SECCOMP: ("call", "call"),
           pt.PTRACE_EVENT_FORK: ("new task", "fork event"),
           pt.PTRACE_EVENT_VFORK: ("new task", "vfork event"),
           pt.PTRACE_EVENT_CLONE: ("new task", "clone event"),
           pt.PTRACE_EVENT_EXEC: ("exec", "exec event"),
           pt.PTRACE_EVENT_STOP: ("event", "stop event")}
#: the events that name a child (PTRACE_GETEVENTMSG)
_BIRTH_EVENTS = (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_VFORK, pt.PTRACE_EVENT_CLONE)
#: the wait status of a PTRACE_EVENT_SECCOMP stop: stopped (0x7f), SIGTRAP, event 7
_SECCOMP_STOP = 0x7F | (signal.SIGTRAP << 8) | (7 << 16)
#: the calls after whose stop, handed to Python by the native loop and handled alone, the
#: other tasks' arms are kept (Tracer._fast_arms): signals by number -- deciding one reads
#: the caller's arguments and the targets' /proc entries and may send signals (a group's,
#: signals.signal_group), whose stops come later, but changes no other task's state in the
#: tracer (an ask parks the caller: nothing is armed while a task is parked)
_ARMS_KEPT_AFTER = frozenset(NUMBERS[name] for name in (
    "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"))
_NR_CLONE, _NR_CLONE3 = NUMBERS["clone"], NUMBERS["clone3"]
_U64 = 0xFFFFFFFFFFFFFFFF
_ERESTART_FIRST, _ERESTART_LAST = 512, 516  # -ERESTARTSYS .. -ERESTART_RESTARTBLOCK
_CONTROL_CALLS = treated(Treat.CONTROL)  # calls whose control messages are checked
#: calls whose targets, in the tracer's own mount namespace, must not be "/", /proc or below:
#: the tracer reads /proc (and resolves from its root) for every decision
_TRACER_VIEW_ROLES = {"mount": ("new", "old"), "umount2": ("path",), "move_mount": ("new", "old"),
                      "mount_setattr": ("path",), "fspick": ("path",)}
#: calls whose examined memory is where their registers point, nothing reached through
#: pointers in memory: whether it is in a shared page is a range test (_reached_from_outside)
#: why a redirected call fails (enforce.linked_redirect)
LINKED_REDIRECT = "a redirect's target is reached through a symbolic link"
_FLAT_ARGUMENTS = (treated(Treat.PATH) | frozenset(SOCKADDR_ARGS) | {"clone3"}) - EXEC_CALLS
FREEZE_TIMEOUT = 2.0  # seconds to wait for the other tasks to stop before refusing
ORPHAN_NOTICE_AFTER = 1.0  # seconds after the command's exit before on_orphans is called


def _interrupt_typed_in_replies() -> str | None:
    """The interrupt character of the tracer's controlling terminal, said, when the line sends
    SIGINT at it (ISIG) and it is a character a terminal's reply to a query holds: ESC,
    printable ASCII, BEL, CR, LF, or any byte above 0x7F (a cursor position report is ESC [
    row ; col R).  SIGINT detaches an attached tree, and a process may write the query to
    the terminal: an interrupt character set so before the attach (by the process itself,
    untraced then) would have the terminal detach it at its first write -- once attached it
    may not set the line (Tracer._terminal_refusal; red team 59, attach_vintr.c).  None when
    there is no controlling terminal or the character is one no reply holds (^C, the other
    controls, DEL, none at all); settings that cannot be read are said so (refused)."""
    import termios  # (only at an attach)

    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None  # (no controlling terminal: no line signals the tracer)
    try:
        attrs = termios.tcgetattr(fd)
    except termios.error:
        return "unreadable"
    finally:
        os.close(fd)
    if not attrs[3] & termios.ISIG:
        return None
    char = attrs[6][termios.VINTR]
    code = char[0] if isinstance(char, bytes) and char else char if isinstance(char, int) else 0
    if code == 0 or code == 0x7F or (code < 0x20 and code not in (0x07, 0x0A, 0x0D, 0x1B)):
        return None
    return repr(bytes([code]))


class TracerError(Exception):
    """The tracer could not go on; the traced tree has been killed."""


class DetachRequest(BaseException):
    """Raised (from a signal handler) to end tracing by detaching instead of killing: only for
    processes that were running before systrace attached to them (--attach)."""


@dataclass
class SpawnSpec:
    """How to start the traced command."""

    argv: Sequence[str]
    executable: str
    env: dict[str, str] | None = None
    cwd: str | None = None
    filters: tuple[bytes, ...] = ()    # the prefilter's BPF programs; none: every call stops
    lifted: frozenset[LiftTag] = frozenset()  # the guards the filters' plan lifts (FilterPlan)
    uid: int | None = None
    gid: int | None = None
    groups: list[int] | None = None
    restore_signals: tuple[int, ...] = RESTORED_SIGNALS
    #: who starts the program's process: None, this tracer (a fork); else a process elsewhere
    #: forks it and it waits, stopped, to be seized (the resident tracer's client)
    starter: Starter | None = None


class Starter(Protocol):
    """Where the program's process is forked by another process (the resident tracer's
    client, :mod:`systrace_py.resident`): that process runs :func:`child.become_program` in
    its child, with the filters and settings this tracer chose; the tracer seizes the child
    while it is stopped before its exec."""

    #: the program's parent (the process that forks it)
    parent: int

    def stopped(self, spec: SpawnSpec, nnp: bool) -> int:
        """Have the program's process forked with ``spec``'s filters (and no_new_privs when
        ``nnp``); its pid once it has stopped itself.  Raises TracerError (nothing ran)."""
        ...

    def check(self, pid: int) -> None:
        """Seized: raise TracerError unless ``pid`` is still the process :meth:`stopped` named
        (a child of :attr:`parent`, stopped) -- the caller then kills it."""
        ...


#: si_code of a signal sent by kill(2) and by tkill(2)/tgkill(2)
_SI_USER, _SI_TKILL = 0, -6


def _sent_by(tid: int, pid: int) -> bool:
    """Whether the signal ``tid`` stopped to deliver was sent by process ``pid`` (one of its
    threads) with kill or tkill -- the kernel writes that si_pid; a process can forge one only
    with a negative si_code (rt_sigqueueinfo), which does not count."""
    try:
        info = pt.siginfo(tid)
    except pt.PtraceError:
        return False
    return info[2] in (_SI_USER, _SI_TKILL) and info[4] == pid


def _sigcont_pending(tid: int) -> bool:
    """Whether a SIGCONT waits for ``tid`` (its own or its process's): a stop of it has
    been ended already, and the task reports that at its next stop."""
    try:
        status = procfs.read(f"/proc/{tid}/status")
    except OSError:
        return True  # (gone: nothing to stop for)
    bit = 1 << (signal.SIGCONT - 1)
    for name in (b"SigPnd", b"ShdPnd"):
        value = procfs.status_value(status, name)
        if value is not None and int(value, 16) & bit:
            return True
    return False


def _continue_command(tid: int) -> None:
    """Systrace (or the resident client) was continued after it stopped with the command:
    continue the command too, unless its own SIGCONT came with ours (``fg`` of the job)."""
    if not _sigcont_pending(tid):
        with contextlib.suppress(OSError):
            os.kill(tid, signal.SIGCONT)


def _continue_after(parent: int, tid: int) -> None:
    """In a thread of a resident worker: wait until the client the stop was sent to has
    stopped (5 s at most: one that does not stop leaves the command stopped, as natively),
    then while it is stopped (polled: it is no child of ours), then
    :func:`_continue_command`."""
    deadline = time.monotonic() + 5
    stopped = False
    while True:
        fields = procfs.read_stat(parent)
        if fields is None:
            return
        if fields[procfs.STATE] in (b"T", b"t"):
            stopped = True
        elif stopped:
            break
        elif time.monotonic() > deadline:
            return
        time.sleep(0.02)
    _continue_command(tid)


def _wait_status_code(status: int) -> int:
    """A shell's exit code for a wait status: the exit code, or 128+N for signal N."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 1


@dataclass(eq=False)
class TreeHold:
    """A front end's request that the whole tree be stopped (Tracer.hold_tree): a terminal
    prompt shares the screen with the tree, and owns it only while no task can write to it.
    ``done`` is set once the tracer has taken it (``taken``: every task stopped) or could not
    (a task that would not stop); ``release`` marks the request that gives it back."""

    done: threading.Event = field(default_factory=new_event)
    taken: bool = False
    release: TreeHold | None = None


class Tracer:
    """Runs one traced tree under a Monitor."""

    def __init__(self, monitor: Monitor, hold_arguments: bool = True,
                 plan: FilterPlan | None = None) -> None:
        self.monitor = monitor
        self.hold_arguments = hold_arguments
        self.plan = plan              # what the filter does, applied by hand when there is none
        self.filtered = True          # False: no seccomp filter, every call stops at entry
        #: the scratch area is sealed where it is mapped (close 24): the kernel has mseal and
        #: the prefilter lets it run, or stops it (the engine's seal is then let go, never
        #: decided: _stub_stop, _run_to_trap, _run_to_exit) -- set by spawn
        self.seals = False
        #: the guards this run lifts (syscalls.Lift), as its filter was compiled; none lifted
        #: until a spawn says so (an attached tree keeps every guard)
        self.lifted: frozenset[LiftTag] = frozenset()
        #: a task of the tree runs a seccomp filter of its own (it installed one, or had one
        #: when --attach found it): the kernel runs it again on a call the tracer changed at
        #: its stop, so held opens keep their own call (see _own_filter)
        self.own_filters = False
        #: a ring of kernel pages (a packet socket's) was made in the tree: any process holding
        #: its socket may map it privately, unseen, so every space counts as written anywhere
        self.rings_mapped_anywhere = False
        #: the program's process was given no_new_privs for the prefilter (a filter loaded
        #: without CAP_SYS_ADMIN needs it: a tracer that is not root, or -c) where systrace
        #: itself has none -- natively the program would not have it, and a filter of its
        #: own is EACCES for a task without CAP_SYS_ADMIN that did not set it (_filter_refusal)
        self.imposed_nnp = False
        #: the spawned root while it runs systrace's own code, before its first exec: the
        #: filters it loads then are the tracer's (the prefilter's), not the program's --
        #: should a load stop: compile_filters orders the two programs so that the second
        #: load meets no guard of the first's (see _own_filter)
        self._loading_prefilter: int | None = None
        #: what the native spawn's child reads (its argv, environment, filters, stack): kept
        #: until its exec (_exec_done); freed then, or never while the child runs in it
        self._spawned: object = None
        #: how many seccomp filters a task of the tree has that are not the program's own:
        #: those the spawned root inherited and the prefilter's (none for an attached tree);
        #: None when the kernel does not tell (Seccomp_filters, Linux 5.9) -- see
        #: _under_own_filter
        self._foreign_filters: int | None = 0
        #: the kernel refused PTRACE_O_SUSPEND_SECCOMP (the tracer lacks CAP_SYS_ADMIN, or
        #: runs under a filter itself): not asked again (_suspend_filters)
        self._no_suspend = False
        self.pid = os.getpid()
        self.tasks: dict[int, Task] = {}
        self.processes: dict[int, Process] = {}
        self.decoder = Decoder()
        self.decoder.traced = self._in_tree
        self._early: dict[int, int] = {}          # first stops of children not yet announced
        #: the stops an attach waited for before its checks (Tracer._settle), in the order
        #: they came: the loop handles them first, as if it had waited for them itself
        self._kept: collections.deque[tuple[int, int]] = collections.deque()
        #: the event messages (PTRACE_GETEVENTMSG: a fork's child, an exec's former tid) of the
        #: kept event stops the attach probe ran a call in, read before it: every ptrace stop
        #: sets the message (since Linux 5.19), and the probe's leave it 0 (_event_message)
        self._probed_messages: dict[int, int] = {}
        #: ends of tids no task had (a child's, before its parent's event named it): the start
        #: time of the task that ended, when its first stop was kept (``_early_started``)
        self._early_exits: dict[int, int | None] = {}
        self._early_started: dict[int, int | None] = {}  # of the children kept in _early
        self._orphans_killed: set[int] = set()   # of _early: killed, their ends not reaped yet
        self._exec_argv: dict[int, tuple[str, ...] | None] = {}
        #: the environment the traced command was started with ("NAME=value" entries; None
        #: with --attach): what the user chose, not the program (Supervisor._loader_environment)
        self.start_environment: frozenset[str] | None = None
        #: which of the descriptors 0-2 the command started without (the user's choice, as
        #: its environment is); None: not known (attached)
        self.start_closing_fds: frozenset[int] | None = None
        #: the personality flags the command started with (the user's choice: `setarch -R`);
        #: None: not known (attached, or unreadable) -- see Supervisor._entering_table
        self.start_personality: int | None = None
        self._info = pt.SyscallInfo()
        self._entry_nr = -1  # the number of the call at the seccomp stop _dispatch handles
        #: the native loop's arms of its last wait, by tid (None: not armed), kept while
        #: Python handles nothing but the stop that wait handed back, when that is a signal
        #: call (_ARMS_KEPT_AFTER): the next wait works out only what that call's caller
        #: and the tasks sharing with it are armed with (_fast_arms); _arms_kept_after is
        #: that caller, once its stop has been handled
        self._arms_kept: dict[int, tuple[Task, cloop.Arm | None]] | None = None
        self._arms_kept_after: int | None = None
        self._handed_back: tuple[int, int] | None = None  # the stop the last wait returned
        self._dispatches = 0  # stops _dispatch was given (one handled inside another's)
        #: answers for parked tasks, and holds of the whole tree and their releases, in the
        #: order they came (from a front end's thread: answer, hold_tree, release_tree)
        self._answers: _queue.SimpleQueue[tuple[Task, Reply | Callable[[], Reply]] | TreeHold] \
            = _queue.SimpleQueue()
        #: the loop sleeps in waitpid (nothing parked, no timer): a front end's hold of the
        #: tree must wake it (_wake_sleeping_loop), and the children made to do so
        self._sleeping = False
        self._wakers: set[int] = set()
        #: answers that came while the tree could not run (frozen, or held): applied, in
        #: order, once it can; and a hold that waits for a frozen call's end
        self._kept_answers: list[tuple[Task, Reply | Callable[[], Reply]]] = []
        self._waiting_hold: TreeHold | None = None
        self._held = 0  # the holds taken and not released (terminal prompts showing)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._parked = 0
        self._sigchld_wakes = False
        self._saved_wakeup_fd = -1
        self._saved_sigchld: Any = signal.SIG_DFL
        self._stop: str | None = None
        self._frozen: dict[int, int] = {}          # tid -> the stop it reported when frozen
        self._born_frozen: set[int] = set()  # of _frozen: fork events whose child is adopted
        self._deferred: list[tuple[int, int]] = []  # other reports that came while freezing
        #: the kept stops each thaw under way (a thaw's dispatch may freeze and thaw again)
        #: has still to handle (_thaw): a task that ends first drops its own from every one
        self._thawing: list[dict[int, int]] = []
        self._freezing = False  # a call runs with the tree frozen, until _thaw
        self._thaw_pending = False
        #: the caller of the freeze, when its call may come to sleep past its last lookup,
        #: and where it would sleep then (_WAITS_PAST_LOOKUP)
        self._waiter: Task | None = None
        self._waits_in: frozenset[bytes] = frozenset()
        #: the callers whose freeze ended as they slept past their last lookup, until their
        #: next stop (their exit stop: they were resumed to it), and where they slept: a
        #: freeze leaves them be while they still sleep there (_freeze)
        self._past_lookup: dict[int, frozenset[bytes]] = {}
        self.main_pid: int | None = None
        self.main_status: int | None = None
        #: the last stop signal delivered to the command's process was its own (kill or tkill
        #: by itself: ``kill -TSTP $$``, bash's ``suspend``), not another process's -- a
        #: child or a sibling that stops it and later continues it, which systrace, stopped
        #: with it, would never let run to its SIGCONT (_stop_with_command)
        self._self_stop = False
        #: the command's process stopping itself stops its parent too, when that is this
        #: process or a resident client (_stop_with_command): the command's, not a library's
        self.stop_with_command = False
        #: the spawned command's parent (this process, or a Starter's client); None: attached
        self._command_parent: int | None = None
        self.stops = 0
        #: the stops by kind (``--stats``): a call at its entry, a call's exit, a new task (a
        #: fork, vfork or clone event), its first stop, an exec, a signal delivered, another
        #: event stop (a group-stop, an interrupt), a task's end (reported by waitpid too);
        #: and the stops of a call the tracer runs in a task: the scratch mmap at an exec
        #: ("scratch map", _premap_scratch), the io_uring probe at an attach ("attach probe")
        self.stop_kinds: dict[str, int] = dict.fromkeys(
            ("call", "call exit", "new task", "first stop", "exec", "signal", "event", "exit",
             "scratch map", "attach probe"), 0)
        #: Called once (with the number of processes left) when the command has exited and
        #: the processes it left behind keep the trace going for ORPHAN_NOTICE_AFTER seconds.
        self.on_orphans: Callable[[int], None] | None = None
        self._orphan_deadline: float | None = None
        #: injected delays: (deadline, order, the Task, what to do then), a heap (see _later)
        self._timers: list[tuple[float, int, Task, Callable[[], None]]] = []
        self._timer_order = itertools.count()
        #: the native loop (engine/cloop.py), for a monitor that says which table decides
        self._fast = cloop.load() if hasattr(monitor, "fast_table") else None
        self.fast_stops = 0  # stops the native loop served (calls decided, signals passed on)
        #: with the native loop, the stops it handed to Python by kind, a call's by its name
        #: (``--stats``: what is left to take into the loop)
        self.python_kinds: collections.Counter[str] = collections.Counter()
        #: the start environment and its entries an exec into another table may carry
        #: (cloop.given_entries), computed again when the start environment is set
        self._fast_given: tuple[frozenset[str] | None, frozenset[bytes]] = (None, frozenset())

    # --- starting ---------------------------------------------------------------------------
    def spawn(self, spec: SpawnSpec) -> int:
        """Fork the command (or have ``spec.starter`` fork it), load the prefilter in it and
        seize it before it execs."""
        self.filtered = bool(spec.filters)
        self.lifted = spec.lifted
        self.seals = (self.filtered and self.plan is not None
                      and self.plan.verdict("mseal", enforce.MSEAL_ARGS).kind
                      != VerdictKind.ERRNO and enforce.kernel_seals())
        if self._fast is not None:
            self._fast.seal(self.seals)
        self.decoder.ip_destinations_decided = Lift.ROUTES not in spec.lifted
        # (the kernel loads a filter for a task with no_new_privs or CAP_SYS_ADMIN: not for
        # root without capabilities -- a container's root, which has no CAP_SYS_ADMIN: every
        # command failed EACCES before it ran while euid 0 stood for the capability, review 19)
        need_nnp = self.filtered and (spec.uid not in (None, 0)
                                      or not _has_capability(os.getpid(), CAP_SYS_ADMIN))
        self.imposed_nnp = need_nnp and procfs.status_numbers("self", b"NoNewPrivs") != [1]
        if spec.starter is None:
            pid, parent = self._fork(spec, need_nnp), os.getpid()
        else:
            pid, parent = spec.starter.stopped(spec, need_nnp), spec.starter.parent
        self._command_parent = parent
        started = spec.env if spec.env is not None else os.environ
        self.start_environment = frozenset(f"{name}={value}" for name, value in started.items())
        self.start_closing_fds = procfs.own_standard_fds_closing()
        try:
            pt.seize(pid)
        except pt.PtraceError as exc:
            why = _seize_failure(pid, exc)
            os.kill(pid, signal.SIGKILL)  # it must not run untraced, nor stay stopped
            raise TracerError(why) from exc
        self.start_personality = procfs.personality(pid)
        if spec.starter is not None:
            try:
                spec.starter.check(pid)
            except TracerError:
                with contextlib.suppress(OSError):  # (not the process named: let it go)
                    pt.detach(pid)
                raise
        # (stopped before it loads the prefilter: what it has now it inherited)
        inherited = procfs.status_numbers(pid, b"Seccomp_filters")
        # Let it go now: its filters' load and its exec's entry run while its records are
        # made here -- nothing of it is looked at before run() waits for its next stop, and
        # nothing made below reads it (its memory is opened at the first read), so they are
        # made for the exec it is about to enter, not for the process it is now.
        os.kill(pid, signal.SIGCONT)
        process = Process(pid, parent, spec.executable, AddressSpace(), TraceeMemory(pid))
        process.tids.add(pid)
        self.processes[pid] = process
        task = Task(pid, process, state=TaskState.STOPPED)
        self.tasks[pid] = task
        self.main_pid = pid
        self._loading_prefilter = pid
        self._foreign_filters = inherited[0] + len(spec.filters) if inherited else None
        self.monitor.on_start(process)
        return pid

    def _fork(self, spec: SpawnSpec, nnp: bool) -> int:
        """The program's process, made here and stopped before its exec: by the native
        extension's spawn where it can (a child sharing the tracer's memory, running C code,
        instead of a fork of this ~30-50 MB process: its page-table copy and the copy-on-write
        faults after it -- docs/performance.md, start-up twelfth pass), else forked to run
        child.become_program (``-c``'s credentials, no extension, SYSTRACE_NO_CLOOP=1, an
        unprivileged tracer already not dumpable: the child shares its memory, whose
        dumpable state it cannot change for itself alone)."""
        native = cloop.extension() if spec.uid is None and spec.gid is None else None
        request = None if native is None else native_request(
            spec.filters, argv=spec.argv, executable=spec.executable, env=spec.env,
            cwd=spec.cwd, restore_signals=spec.restore_signals,
            no_core=Lift.CORE not in spec.lifted, nnp=nnp)
        # (None: the tracer is not dumpable and may not trace a child that is not -- _cloop.c)
        spawned = None if native is None or request is None else native.spawn(*request)
        if spawned is not None:
            # (what the child reads lives as long as this: freed once it has exec'd)
            pid, self._spawned = spawned
        else:
            programs = [pt.prepare_filter(bpf) for bpf in spec.filters]
            pid = os.fork()
            if pid == 0:
                become_program(pt, [program for program, _buffer in programs], argv=spec.argv,
                               executable=spec.executable, env=spec.env, cwd=spec.cwd,
                               restore_signals=spec.restore_signals,
                               no_core=Lift.CORE not in spec.lifted, uid=spec.uid,
                               gid=spec.gid, groups=spec.groups, nnp=nnp)
        _, status = os.waitpid(pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            raise TracerError(f"child {pid} did not stop before exec (status {status:#x})")
        return pid

    def attach(self, pid: int) -> int:
        """Trace a running process (every thread of it) and, from now on, its new children.

        No filter can be loaded into a running process, so every call of an attached process
        stops at entry (PTRACE_SYSCALL) and the plan's verdicts are applied here."""
        from pathlib import Path  # (off the way of a start: issue 16)

        self.filtered = False
        self.seals = False  # (no filter: the seal would stop as every call does)
        if self._fast is not None:
            self._fast.seal(False)  # (the loop's is the process's: an earlier run's may be on)
        # (its keyrings are its own, not the tracer's: a key there may decrypt an encrypted
        # directory's names otherwise for it -- red team 60, answered.note_own_keys)
        answered.note_own_keys()
        try:
            program = procfs.program(pid)
            stat_line = Path(f"/proc/{pid}/stat").read_bytes()  # (its name may be any bytes)
            ppid = int(procfs.stat_fields(stat_line)[procfs.PPID])
        except OSError as exc:
            raise TracerError(f"cannot attach to {pid}: {exc.strerror}") from exc
        process = Process(pid, ppid, program, AddressSpace(), TraceeMemory(pid))
        self.processes[pid] = process
        self.main_pid = pid
        self.monitor.on_start(process)
        reaper = _Reaper()
        try:
            with reaper:
                seen = self._seize_threads(pid, process)
        except BaseException as exc:  # (a detach request too: its detach_all lets them go)
            reaper.stop()  # (the request may have come in its start or its join: _Reaper.stop)
            self._kept.extend(reaper.reports)  # (a signal a reaped stop holds is handed on)
            if isinstance(exc, TracerError):  # nothing was checked yet: leave the process
                self.detach_all()             # as it was, running
            raise
        try:
            born = self._settle(pid, seen, reaper.reports)
            # every task stopped: nothing of it can make a descriptor between its check and
            # its seize any more (review 5, finding 9)
            self._refuse_agents(pid, sorted(seen) + born)
            self._refuse_uring_contexts(pid, sorted(seen))
            typed = _interrupt_typed_in_replies()
            if typed is not None:
                raise TracerError(
                    f"cannot attach to {pid}: the interrupt character of systrace's terminal "
                    f"is {typed}, which a terminal may type itself in a reply to a query the "
                    "process writes -- the SIGINT would detach it (stty intr ^C)")
            if any(procfs.status_numbers(tid, b"Seccomp") not in ([0], None) for tid in seen):
                self.own_filters = True  # (a filter from before: see _own_filter)
        except TracerError:
            self.detach_all()
            raise
        process.space.users = len(seen)
        live = [tid for tid in sorted(seen) + born if procfs.alive(tid)]
        if any(names_elsewhere(f"{tid}") for tid in distinct(live, KCMP_FILES, KCMP_FS)):
            # a descriptor or cwd from before, which /proc names by another object's path (a
            # detached mount, another namespace's): names read from /proc are checked against
            # the objects, as after the tree's own mount calls
            self.decoder.resolver.strict = True
        via = pid if pid in seen else min(seen)  # (a live task: a zombie has no mappings)
        # processes it did not start may share its memory: what it maps, read once
        mappings = shared_mappings(via, droppable=True)  # (glibc 2.41's getrandom state...)
        if mappings is None:
            process.space.written_anywhere = process.space.written_with_content = True
        else:
            process.space.shared_ranges, process.space.written_anywhere = mappings
            process.space.written_with_content = process.space.written_anywhere
            process.space.shared_pages = bool(process.space.shared_ranges)
        # and it may have keyed pages already (None: smaps unreadable, look at every read)
        process.space.keyed = pkeys.enabled() and pkeys.keyed_mappings(via) != []
        fs, files = Shared(len(seen)), Shared(len(seen))
        for tid in seen:
            self.tasks[tid].fs, self.tasks[tid].files = fs, files
        return pid

    def _seize_threads(self, pid: int, process: Process) -> set[int]:
        """Seize and interrupt every thread of process ``pid`` (--attach): the tids seized.
        TracerError when the process cannot be traced whole -- a thread another tracer holds
        would run unchecked (fail closed)."""
        seen: set[int] = set()
        tried: set[int] = set()
        while True:  # threads may appear while we attach: until the set is stable
            try:
                tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
            except OSError as exc:
                raise TracerError(f"cannot attach to {pid}: {exc.strerror}") from exc
            new = tids - tried
            if not new:
                break
            self._refuse_workers(pid, new)  # (before seizing them: they never stop)
            for tid in sorted(new):
                tried.add(tid)
                try:
                    pt.seize(tid)
                    pt.interrupt(tid)
                except pt.PtraceError as exc:
                    # (a leader that exited while its threads live is a zombie, which no
                    # tracer may seize: its threads are the process)
                    if not seen and tid == pid and procfs.alive(pid):
                        raise TracerError(f"cannot attach to {pid}: "
                                          f"{_seize_failure(pid, exc)}") from exc
                    continue
                process.tids.add(tid)
                self.tasks[tid] = Task(tid, process)
                seen.add(tid)
        if not seen:
            raise TracerError(f"cannot attach to {pid}: no task of it could be traced")
        # (a thread that was exiting cannot be seized, and runs no code of its own again; one
        # a seized thread made is traced already -- by us: it comes as a child (_settle))
        _refuse_untraced(pid, {tid for tid in tried - seen if procfs.alive(tid)},
                         "cannot be traced")  # (another tracer has it: fail closed)
        return seen

    @staticmethod
    def _refuse_workers(pid: int, tids: set[int]) -> None:
        """TracerError when one of ``tids`` is a kernel worker: an io_uring's SQPOLL poller or
        worker, a vhost device's worker, which the kernel made in the process before the
        attach -- it opens, reads, connects for it, from the ring's memory, with no call to
        stop (what io_uring_setup's refusal keeps from a traced tree: docs/security.md, class
        5), and it never stops for a tracer."""
        workers = sorted(tid for tid in tids if procfs.kernel_worker(f"{pid}/task/{tid}"))
        if workers:
            raise TracerError(f"cannot attach to {pid}: its thread {workers[0]} is a "
                              "kernel worker (io_uring, vhost), which acts for it unseen")

    def _settle(self, pid: int, seized: set[int], first: list[tuple[int, int]]) -> list[int]:
        """Wait until every seized task is stopped (or gone): the first stop of each -- the
        interrupt's, or an event or a signal that came before it -- kept, in order, for the
        loop (``_kept``); ``first``: the reports reaped while the tasks were seized
        (_Reaper), in order.  A task that made a child meanwhile stopped at its event; the
        child (attached by the kernel, stopped before its first instruction) is waited for
        too: the children found so, in order.  A task never stops for us when it is gone, a
        zombie (a leader whose threads live: its wait comes at the group's end), or waiting in
        vfork for its child to let go of the memory -- that one leaves the wait only through a
        ptrace stop, before any instruction of its own (procfs.IN_CLONE): it counts as
        stopped.  Polled (nothing wakes on "a task became a zombie"), which an attach does
        once.

        TracerError when a tid waited for is no longer traced by this tracer: a thread not
        seized yet exec'd, and de_thread gave it the leader's tid, releasing the seized leader
        without a report (red team 12, attach_exec.c) -- it runs untraced, and it would never
        stop for us (the attach waited for ever)."""
        pending = set(seized)
        reported: set[int] = set()
        born: list[int] = []

        def report(tid: int, status: int, kept: bool = False) -> None:
            if not kept:
                self._kept.append((tid, status))
            reported.add(tid)
            pending.discard(tid)
            if os.WIFSTOPPED(status) and status >> 16 in (
                    pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_VFORK, pt.PTRACE_EVENT_CLONE):
                try:
                    child = pt.geteventmsg(tid)
                except pt.PtraceError:
                    return  # (killed meanwhile: its child too, or it is reported)
                born.append(child)
                if child not in reported:
                    pending.add(child)

        self._kept.extend(first)  # (at once: a detach request in the loop below loses none)
        for tid, status in first:
            report(tid, status, kept=True)
        pause = 0.0005
        while pending:
            try:
                tid, status = os.waitpid(-1, pt.WALL | os.WNOHANG)
            except ChildProcessError:
                break
            if tid:
                report(tid, status)
                continue
            pending = {t for t in pending if procfs.alive(t)}
            _refuse_untraced(pid, pending)
            pending = {t for t in pending if procfs.wchan(t) not in procfs.IN_CLONE}
            if pending:
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
        return born

    def _refuse_agents(self, pid: int, tids: list[int]) -> None:
        """TracerError when the stopped process (``tids``: its tasks and the children they
        made while it was being attached) holds something through which the kernel acts for
        it with no call to check -- a kernel worker thread, a fanotify group, an io_uring (its
        descriptor in any table, or a ring mapped in any address space) -- made before the
        attach (the calls that make them are refused in a traced tree), or shares its memory,
        descriptor table or fs context with a task outside it (tracee.outside_sharer).  Each
        distinct descriptor table and address space is looked at once."""
        try:
            listed = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
        except OSError:
            listed = set()
        self._refuse_workers(pid, listed)  # (one made since its thread's check: io-wq's)
        _refuse_untraced(pid, {tid for tid in listed if procfs.alive(tid)})
        live = [tid for tid in tids if procfs.alive(tid)]
        # a peer made before with clone() and no CLONE_THREAD runs untraced and could change
        # what a checked call names (red team 12; before the probe, which it could rewrite)
        peer = outside_sharer(live, os.getpid())
        if peer is not None:
            raise TracerError(f"cannot attach to {pid}: task {peer[0]}, no thread of it, shares "
                              f"its {peer[1]} untraced (it could change what a call names "
                              "after the check)")
        for tid in distinct(live, KCMP_FILES):
            agent = agent_descriptor(f"{tid}")
            if agent is not None:
                raise TracerError(f"cannot attach to {pid}: its descriptor {agent[0]} is "
                                  f"{agent[1]}")
        for tid in distinct(live, KCMP_VM):
            if maps_uring(f"{tid}"):
                raise TracerError(f"cannot attach to {pid}: it maps an io_uring, whose "
                                  "queued work the kernel runs for it unseen")

    def _refuse_uring_contexts(self, pid: int, tids: list[int]) -> None:
        """TracerError when a thread of the stopped process (``tids``: those seized) has an
        io_uring context, or cannot be asked (gap #27).

        A ring may be held where no /proc file shows it -- only as a registered ring
        descriptor (IORING_REGISTER_RING_FDS: its descriptor closed, its rings unmapped) --
        and the work queued on it before the attach still runs after it (an OPENAT linked to
        a READ of a pipe: kio_uring_pending.c registered).  Every task that made or entered a
        ring has an io_uring context (current->io_uring, kept until it exits or execs), in
        which its requests' completions run.  io_uring_enter(0, 0, 0,
        IORING_ENTER_REGISTERED_RING, NULL, 0), made by the task itself, answers EINVAL when
        it has none and goes no further (io_uring/io_uring.c: ``!tctx``), EBADF or goes on
        when it has one; ENOSYS without io_uring.  So each thread runs that call
        (_inject_call) and anything but EINVAL or ENOSYS refuses the attach -- a thread that
        once used a ring it closed since too (fail closed).  The children made while the
        process was attached have run no instruction and have no context (copy_process sets
        p->io_uring to NULL): they are not asked.

        A thread is asked at its attach stop.  One that cannot be asked refuses the attach:
        in a group-stop (the call would end it), at a vfork event or waiting in vfork (it
        would wait for its child, held stopped), under a seccomp filter (which could answer,
        trap or kill in the call's place) unless the tracer may suspend it for the call
        (PTRACE_O_SUSPEND_SECCOMP: CAP_SYS_ADMIN), or whose code cannot be written or run."""
        kept: dict[int, int] = {}
        for tid, status in self._kept:
            kept.setdefault(tid, status)
        for tid in tids:
            first = kept.get(tid)
            if (first is not None and not os.WIFSTOPPED(first)) or not procfs.alive(tid):
                continue  # (gone: its requests went with it)
            refusal = self._uring_context_refusal(tid, first)
            if refusal is not None:
                raise TracerError(f"cannot attach to {pid}: its thread {tid} {refusal}")

    def _uring_context_refusal(self, tid: int, status: int | None) -> str | None:
        """Why the stopped thread ``tid`` (``status``: its first stop, None when it waits in
        vfork) refuses the attach (_refuse_uring_contexts), None when it has no io_uring
        context."""
        unasked = "; whether it has an io_uring context cannot be asked (try again)"
        if status is None:
            return "waits in vfork for its child" + unasked
        sig, event = os.WSTOPSIG(status), status >> 16
        returned: int | None = None  # (a stop in get_signal)
        if event == pt.PTRACE_EVENT_STOP and sig in _STOP_SIGNALS:
            return "is stopped (a group-stop, which the call would end)" + unasked
        if event in (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_CLONE, pt.PTRACE_EVENT_EXEC):
            try:  # (the loop reads it at this stop, after the probe: _event_message)
                message = self._probed_messages[tid] = pt.geteventmsg(tid)
            except pt.PtraceError:
                return "is at an event whose message cannot be read" + unasked
            returned = 0 if event == pt.PTRACE_EVENT_EXEC else self._clone_result(tid, message)
            if returned is None:
                return "is in a fork whose result cannot be read" + unasked
        elif event not in (0, pt.PTRACE_EVENT_STOP) or sig == _SYSCALL_TRAP:
            return "is in a fork or a call at a stop of its own" + unasked
        if _ignores_trap(tid) is not False:
            return "ignores SIGTRAP, which the call's trap would undo for good" + unasked
        rseq = self._rseq_refusal(tid)
        if rseq is not None:
            return rseq + unasked
        filtered = procfs.status_numbers(tid, b"Seccomp") != [0]
        if filtered:  # (its filter could answer, trap or kill in the call's place)
            try:
                pt.setoptions(tid, pt.TRACE_OPTIONS | pt.PTRACE_O_SUSPEND_SECCOMP)
            except pt.PtraceError:
                return ("runs under a seccomp filter, which could answer for it (a tracer "
                        "with CAP_SYS_ADMIN suspends it for the call)" + unasked)
        try:
            answer = self._inject_call(self.tasks[tid], NUMBERS["io_uring_enter"],
                                       (0, 0, 0, IORING_ENTER_REGISTERED_RING, 0, 0),
                                       "attach probe", returned, self._kept)
        except pt.PtraceError:
            answer = None
        except _Diverted:
            return "ran code of its own in the probe's place (killed)"
        if filtered:
            try:
                pt.setoptions(tid, pt.TRACE_OPTIONS)  # (its filter back on)
            except pt.PtraceError:
                if procfs.alive(tid):  # (refused: the detach ends the suspension too)
                    return "cannot have its seccomp filter put back" + unasked
        if answer is None:
            if not procfs.alive(tid):
                return None  # (killed meanwhile: its requests went with it)
            return "cannot run a call of the tracer's" + unasked
        if answer in (-errno.EINVAL, -errno.ENOSYS):
            return None
        return ("has an io_uring context (it made or entered a ring), whose queued work "
                f"the kernel may run for it unseen (the probe answered {answer})")

    def _rseq_refusal(self, tid: int) -> str | None:
        """Why the stopped thread ``tid`` cannot run the probe because of rseq, None when it
        can.  A thread stopped inside an rseq critical section (its instruction pointer in
        [start_ip, start_ip + post_commit_offset) of the struct rseq_cs its registered
        struct rseq's rseq_cs field points to) is sent to its abort handler by the kernel
        when it goes on -- the probe's code is written at that pointer, inside the section --
        and would run its own code in the probe's place.  Whatever cannot be read refuses
        (fail closed)."""
        inside = "is inside an rseq critical section, which the call would abort"
        try:
            area = pt.rseq_area(tid)
            if area == 0:
                return None
            memory = self._reader(self.tasks[tid])
            cs = int.from_bytes(memory.read_exact(area + 8, 8), "little")
            if cs == 0:
                return None
            start, length = struct.unpack("<QQ", memory.read_exact(cs + 8, 16))
            rip = pt.getregs(tid).rip
        except (pt.PtraceError, TraceeMemoryError):
            return "has an rseq area that cannot be read"
        return inside if start <= rip < start + length else None

    @staticmethod
    def _clone_result(tid: int, child: int) -> int | None:
        """What the fork or clone ``tid`` stopped in (at its event) returns: its child's pid
        in ``tid``'s pid namespace (``child``, the event's message, is the tracer's), None
        when it cannot be read."""
        own = procfs.status_numbers(tid, b"NSpid")
        theirs = procfs.status_numbers(child, b"NSpid")
        if not own or not theirs or len(theirs) < len(own):
            return None
        return theirs[len(own) - 1]

    # --- the loop -----------------------------------------------------------------------------
    def run(self) -> int:
        """Serve stops until every traced task is gone; the command's exit code."""
        try:
            while self.tasks or self._early:
                if not self.tasks:
                    self._kill_orphans_of_lost_events()
                event = self._next_event()
                if event is None:
                    continue
                self._dispatch(*event)
                if self._thaw_pending:
                    self._thaw_pending = False
                    self._thaw()
                if self._stop is not None:
                    self._finish_stop()
        except DetachRequest:
            self.detach_all()
            return 128 + signal.SIGINT
        except BaseException:
            self.kill_all()
            raise
        finally:
            self.close()
        status = self.main_status if self.main_status is not None else 0
        return _wait_status_code(status)

    def stop(self, kill: bool = True) -> None:
        """End the whole trace after the current stop: kill every traced task, or let them
        all go (every call permitted, children included).  For monitors, from their handlers.
        """
        self._stop = "kill" if kill else "release"

    def _finish_stop(self) -> None:
        how, self._stop = self._stop, None
        if how == "kill":
            self.kill_all()
            self.main_status = self.main_status if self.main_status is not None else (
                signal.SIGKILL)
            self.tasks.clear()
            self._early.clear()
            return
        for task in self.tasks.values():
            task.detached = True  # children made from now on inherit it

    def close(self) -> None:
        """Give back what the loop held: the wake pipe, the SIGCHLD handler and wakeup fd, and
        the memory descriptors of processes whose end the loop did not see (a killed, released
        or failed trace), which would otherwise stay open in a library user's process."""
        for process in self.processes.values():
            process.memory.close()
        self.decoder.close()
        answered.end_watch()  # (the FUSE server watch of this run, if one was armed)
        if self._sigchld_wakes:
            signal.set_wakeup_fd(self._saved_wakeup_fd)
            signal.signal(signal.SIGCHLD, self._saved_sigchld)
            self._sigchld_wakes = False
        wake_r, wake_w = self._wake_r, self._wake_w
        self._wake_r = self._wake_w = -1  # (first: answer, on another thread, writes no more)
        for fd in (wake_r, wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _wake_on_sigchld(self) -> bool:
        """Let SIGCHLD wake the loop while it waits for answers (main thread only)."""
        try:
            self._saved_wakeup_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
            self._saved_sigchld = signal.signal(signal.SIGCHLD, lambda _s, _f: None)
        except ValueError:
            return False
        return True

    def _kill_orphans_of_lost_events(self) -> None:
        """Fail closed for the children kept for a parent's event (``_early``) when no task is
        left to report one: their parent died at its fork, vfork or clone event stop -- a
        SIGKILL or another thread's exit_group wakes a task from that stop, and the kernel
        reports its end, never the event.  Such a child would be kept stopped for ever, the
        run never ending (not even on SIGTERM).  Which process it belongs to, and so its table,
        cannot be known: it is killed, and its end reported as any other's (``_gone``).  The
        last resort: most are killed earlier, once no process that could have made them lives
        (_kill_orphans_of_dead_creators); this takes the rest (a CLONE_PARENT child whose maker
        died while its parent, a traced process, lives on)."""
        for tid in set(self._early) - self._orphans_killed:
            self._kill_orphan(tid)

    def _kill_orphan(self, tid: int) -> None:
        """Kill a child kept for a parent's event that never comes (its end is reported as
        any other's, _gone): which process it belongs to, and so its table, cannot be known."""
        self._orphans_killed.add(tid)
        if procfs.tracer_of(tid) != _thread.get_native_id():
            return  # (not a task of ours: gone, or a tid reused outside the tree)
        say(f"pid {tid}: its parent died before its birth was reported: killed")
        with contextlib.suppress(OSError):
            _signal_task(tid, signal.SIGKILL)

    def kill_all(self) -> None:
        """Fail closed: SIGKILL every traced task (EXITKILL would do it when we exit), and every
        task this tracer traces without having been told of it yet (a child attached at its
        parent's fork whose announcement never came).  Called in the tracing thread: a
        task's TracerPid is that thread's id, not the process's (mounts29: a run traced
        from another thread than a library user's first killed nothing of its own tree,
        and would have killed a run's traced from that first thread)."""
        tracer = _thread.get_native_id()
        traced = _traced_by(tracer)
        for tid in traced | set(self.tasks) | set(self._early):
            # (only a task this tracer traces: a wrong tid in the tables -- seen after an
            # internal error of an attach, 12-03 -- must not kill a process outside the tree)
            if tid not in traced and procfs.tracer_of(tid) != tracer:
                continue
            with contextlib.suppress(OSError):
                _signal_task(tid, signal.SIGKILL)
        for _ in range(len(self.tasks) + len(self._early) + 16):
            try:
                pid, _ = os.waitpid(-1, pt.WALL | os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break

    def detach_all(self) -> None:
        """Stop tracing every task and let it run (--attach, on the user's request).

        A task already in a ptrace-stop is detached at once (a parked one with its pending call
        refused); a running one is interrupted first, and detached from whatever stop comes
        next, handing on a signal it was about to receive.  The stops an attach kept for the
        loop (``_kept``) are let go the same way: a signal one held is handed on, and a child
        known only by its kept stop is detached too."""
        kept, self._kept = list(self._kept), collections.deque()
        handed = {tid: sig for tid, status in kept if (sig := _held_signal(status))}
        for tid in dict.fromkeys(tid for tid, status in kept
                                 if os.WIFSTOPPED(status) and tid not in self.tasks):
            with contextlib.suppress(pt.PtraceError):
                pt.detach(tid, handed.get(tid, 0))
        running: set[int] = set()
        for tid, task in list(self.tasks.items()):
            try:
                regs = pt.getregs(tid)
                self._own_back(task, regs)  # (a trampoline's: run untraced)
                self._own_at_detach(task, regs)
                if task.parked or task.delayed_at == "entry" or \
                        task.expect == Expect.INJECTED_MMAP:
                    enforce.refuse(tid, errno.EINTR)
                pt.detach(tid, handed.get(tid, 0))
            except pt.PtraceError:
                running.add(tid)
        for tid in list(running):
            try:
                pt.interrupt(tid)
            except pt.PtraceError:
                running.discard(tid)  # gone
        while running:
            try:
                pid, status = os.waitpid(-1, pt.WALL)
            except ChildProcessError:
                break
            if pid not in running:
                continue
            running.discard(pid)
            if not os.WIFSTOPPED(status):
                continue
            with contextlib.suppress(pt.PtraceError):
                if pid in self.tasks:
                    regs = pt.getregs(pid)
                    self._own_back(self.tasks[pid], regs)
                    self._own_at_detach(self.tasks[pid], regs)
                pt.detach(pid, _held_signal(status))
        self.tasks.clear()

    def _own_at_detach(self, task: Task, regs: pt.user_regs_struct) -> None:
        """A task let go while its held call under a filter of the program's own (or a held
        exec) has not returned: stopped at that call's entry or exit -- a blocked call the
        interrupt ended (-ERESTARTSYS), which the kernel makes again, untraced, from the
        registers it finds -- its own registers, as natively (_put_own_back).  Not at an
        event stop: an exec's, whose registers are the new image's."""
        if not task.own_args:
            return
        if pt.get_syscall_info(task.tid, pt.SyscallInfo()).op == pt.SYSCALL_INFO_NONE:
            return
        self._put_own_back(task, regs)

    def _next_event(self) -> tuple[int, int] | None:
        if self._kept:  # (what an attach waited for: Tracer._settle)
            return self._kept.popleft()
        if self._parked == 0 and self._orphan_deadline is None and not self._timers \
                and self._waiter is None and not self._held:
            self._sleeping = True  # (first: a hold posted after the look below wakes the wait)
            try:
                if not self._answers.empty() or self._waiting_hold is not None:
                    self._drain_answers()
                if not self._held:  # (a hold just taken is waited out below: its release wakes)
                    if self._fast is not None:
                        arms = self._fast_arms()
                        if arms is not None:
                            return self._fast_wait(arms)
                    return os.waitpid(-1, pt.WALL)
            except ChildProcessError:
                self.tasks.clear()
                self._early.clear()
                return None
            finally:
                self._sleeping = False
        while True:
            # empty the wake pipe *before* polling: a SIGCHLD after the poll then always wakes
            # the select below (emptied after, its byte could be lost and the loop stall)
            self._clear_wake_pipe()
            # what the front ends sent first: in a tree that always has a stop pending, an
            # answer or a prompt's hold of the tree would wait for ever behind them
            if self._drain_answers():
                return None
            try:
                pid, status = os.waitpid(-1, pt.WALL | os.WNOHANG)
            except ChildProcessError:
                # no traced task is left at all: nor any kept first stop (_early), as where
                # the loop sleeps above -- one left there kept `run` going round this branch
                # (an orphan notice pending: the command had ended first) for ever, busy and
                # deaf to SIGTERM, after the tree was gone (red team 51's fuzzer)
                self.tasks.clear()
                self._early.clear()
                return None
            if pid:
                return pid, status
            if self._fire_timers() or self._slept_past_lookup():
                return None
            timeout = None if self._sigchld_wakes else 0.05
            if self._waiter is not None:
                timeout = _PAST_LOOKUP_POLL
            if self._timers:
                # (a delay that is over waits while the tree is frozen: not in a busy loop)
                floor = 0.01 if self._tree_frozen() \
                    else 0.0
                left = max(floor, self._timers[0][0] - time.monotonic())
                timeout = left if timeout is None else min(left, timeout)
            if self._orphan_deadline is not None:
                left = self._orphan_deadline - time.monotonic()
                if left <= 0:
                    self._orphans_notice()
                    return None
                timeout = left if timeout is None else min(left, timeout)
            # SIGCHLD writes to the wake pipe (see run); the timeout only covers a tracer run
            # outside the main thread, where no signal wakes us.
            select.select([self._wake_r], [], [], timeout)

    # --- injected delays ------------------------------------------------------------------------
    def _later(self, task: Task, seconds: float, when: str, then: Callable[[], None]) -> None:
        """Hold a stopped task ``seconds`` (``when``: "entry" or "exit" of its call), then do
        ``then`` on the loop's thread; the loop serves every other task meanwhile."""
        task.to(TaskEvent.DELAYED)
        task.delayed_at = when
        task.waited = True
        _heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._timer_order),
                                      task, then))
        if not self._sigchld_wakes:
            self._sigchld_wakes = self._wake_on_sigchld()

    def _fire_timers(self) -> bool:
        """Do what the delays that are over hold (not while the tree is frozen: that resumes
        tasks); whether one was."""
        if not self._timers or self._tree_frozen():
            return False
        fired = False
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, task, then = _heapq.heappop(self._timers)
            # (the Task, not its tid: a thread that exec'd has its dead leader's, and may be
            # delayed on a call of its own -- which the leader's delay would decide)
            if not self._still_traced(task) or task.state != TaskState.DELAYED:
                continue  # it died meanwhile
            task.to(TaskEvent.WOKEN)
            task.delayed_at = ""
            fired = True
            try:
                then()
            except pt.PtraceError as exc:
                if exc.errno != errno.ESRCH:
                    raise
        return fired

    def _tamper(self, task: Task, reply: Reply) -> None:
        """At the call, as it is let go: the injected signal, and the hold at its exit."""
        if reply.signal:
            with contextlib.suppress(ProcessLookupError):
                pt.tgkill(task.pid, task.tid, reply.signal)
        if reply.delay_exit > 0:
            task.exit_delay = reply.delay_exit
    def _fast_arms(self) -> list[cloop.Arm] | None:
        """The tasks the native loop may serve the next stops of (engine/cloop.py), or None
        when it may serve none.  A task qualifies when nothing is pending for it (no park, no
        awaited exit, no freeze, no replay), it sees the tracer's tree, and its monitor says
        which table decides it.  What a permitted call needs is what _apply would do: when the
        task is alone, nothing held -- but a path read in a page something else may write
        (_must_hold), which the loop hands back; else (with holding on) the call held in the
        task's scratch slot, which must be mapped already, and no call that must freeze the
        tree (the loop hands those back).

        The loop also passes on an armed task's signals (a shell's SIGCHLD), as _on_signal
        does when it has nothing to restart (the loop hands back a stop after EINTR): so an
        armed task is one _resume would go on with PTRACE_CONT (nothing awaited at an exit:
        no expect, freeze, after, exit_delay)."""
        kept, caller = self._arms_kept, self._arms_kept_after
        self._arms_kept, self._arms_kept_after = None, None
        if not self.filtered or self._stop is not None or self._deferred \
                or self._thaw_pending or self._early or len(self.tasks) > cloop.MAX_ARMS \
                or self.rings_mapped_anywhere:
            return None  # (io_uring rings anywhere: no task is armed -- _arm)
        resolver = self.decoder.resolver
        if resolver.strict or not resolver.proc_here:
            return None
        if self._tree_frozen():
            return None
        # (a task alone is served as one beside others -- its calls held in its slot -- while
        # something that is no task may write files it maps at times the tree chooses: lines
        # the monitor said, copied into a file by what reads them; review 38)
        solo = self._solo() and not self.monitor.writes_beside
        arms: list[cloop.Arm] = []
        ranges = 0
        # the arms of the last wait, when Python has since handled one stop alone: a signal
        # call (_dispatch, _ARMS_KEPT_AFTER) -- then only its caller's, and those of the
        # tasks that share anything with it, are worked out again (the hand-over's cost)
        if caller is not None and kept is not None and len(kept) == len(self.tasks):
            by = self.tasks.get(caller)
            if by is None:
                kept = None
        else:
            kept, by = None, None
        memo: dict[int, tuple[Task, cloop.Arm | None]] = {}
        for task in self.tasks.values():
            arm: cloop.Arm | None
            found = kept.get(task.tid) if kept is not None and by is not None \
                and task is not by and not self._shares_with(task, by) else None
            if found is not None and found[0] is task and (
                    (arm := found[1]) is None or arm[3] < 0
                    or task.process.memory.open_descriptor() == arm[3]):
                # (its memory descriptor still the space's open one: the least recently
                # used may have been closed meanwhile, and its number given to another file)
                pass
            else:
                arm = self._arm(task, solo, resolver, ranges)
            memo[task.tid] = (task, arm)
            if arm is not None:
                arms.append(arm)
                ranges += len(arm[6])
        self._arms_kept = memo
        return arms or None

    @staticmethod
    def _shares_with(task: Task, other: Task) -> bool:
        """Whether ``task`` shares its process, memory, fs context or descriptor table with
        ``other`` (what a call of the one may change for the other's arm)."""
        return task.process is other.process or task.space is other.space \
            or task.fs is other.fs or task.files is other.files

    def _arm(self, task: Task, solo: bool, resolver: PathResolver,
             ranges: int) -> cloop.Arm | None:
        """The task's arm for the native loop (_fast_arms), or None: not armed.  ``ranges``:
        the shared ranges the arms before it took (at most cloop.MAX_RANGES in all)."""
        # only a running task nothing is pending for: not parked, delayed, in group-stop;
        # not one whose call waited (it is held whatever the tree is: _must_hold)
        if (task.detached or task.state != TaskState.RUNNING or task.waited
                or task.replay is not None or task.exit_delay
                or task.expect != Expect.NOTHING or task.after is not None
                or task.made_notes is not None
                or task.vfork_child is not None or task.view is None
                or not task.view.host or self._under_own_filter(task)):
            return None  # (under a filter of its own: the loop holds opens as openat2)
        space = task.space
        # a keyed address space: its reads obey protection keys (engine/pkeys.py), which
        # process_vm_readv ignores
        if space.written_anywhere or space.mapping_by is not None or space.waiting \
                or space.keyed or self.rings_mapped_anywhere:
            return None
        shared: tuple[tuple[int, int], ...] = ()
        slot = spare = 0
        memory = -1
        if solo or not self.hold_arguments:
            if solo and self.hold_arguments and space.shared_pages:
                # where they are, as _reached_from_outside last read them; not read here:
                # a call that shares pages is noted at its stop, before it made them, and
                # they are read at the next call that needs them (in Python)
                found_ranges = space.shared_ranges
                if found_ranges is None or ranges + len(found_ranges) > cloop.MAX_RANGES:
                    return None
                shared = found_ranges
            if solo and self.hold_arguments:
                self._area_checked(task)
            if solo and self.hold_arguments and space.scratch and not space.scratch_failed:
                # the child of its vfork (a shell's command) is armed by the loop at its
                # birth, its calls held in this slot (_fast_notes gives it the slot)
                index = space.slots.slot_of(-task.tid)
                with contextlib.suppress(TraceeMemoryError):
                    if index is not None:
                        memory = self._reader(task).descriptor()
                        spare = scratch.slot_address(index)
        else:
            mapped = task.process.space
            self._area_checked(task)
            if not mapped.scratch or mapped.scratch_failed:
                return None  # (Python maps it, at the first call it holds)
            index = space.slots.slot_of(task.tid)
            if index is None:
                return None
            slot = scratch.slot_address(index)
            try:
                memory = self._reader(task).descriptor()
            except TraceeMemoryError:
                return None
        # (an access's lookups are its real ids': they must search as the tracer too)
        other = not resolver.searches_as_tracer(task.tid, False) \
            or resolver.access_looks_otherwise(task.tid)
        if self.hold_arguments and (task.fs.users > 1 or task.files.users > 1) and other:
            return None  # its start may lie below what it may not search (Holder.reaches)
        found = self.monitor.fast_table(task)  # type: ignore[attr-defined]
        if found is None:
            return None
        table, may_refuse = found
        # a task whose search permission is not the tracer's: the loop hands back the
        # lookups that look where its canonical spelling does not (_search_as_task)
        return (task.tid, table, may_refuse, memory, slot,
                task.fs.users == 1 and task.files.users == 1, shared,
                solo and self.hold_arguments, other, spare,
                -1 if task.clone3_flags is None else task.clone3_flags,
                task.stub or (0, 0, 0))

    def _fast_wait(self, arms: list[cloop.Arm]) -> tuple[int, int]:
        assert self._fast is not None
        try:
            if hasattr(self.monitor, "fast_exec"):
                if self._fast_given[0] is not self.start_environment:
                    self._fast_given = (self.start_environment,
                                        cloop.given_entries(self.start_environment))
                event = self._fast.wait(arms, self._fast_exec_target, self._fast_given[1],
                                        tuple(self.tasks))
            else:
                event = self._fast.wait(arms, known=tuple(self.tasks))
        finally:
            permitted, refused, signals, answered = self._fast.decided()
            self.stops += permitted + refused + signals + answered
            self.fast_stops += permitted + refused + signals + answered
            self.stop_kinds["call"] += permitted + refused + answered
            self.stop_kinds["signal"] += signals
            if permitted or refused or answered:
                # (a missing path's ENOENT is a decision, not a refusal: Supervisor._reply)
                self.monitor.fast_decided(  # type: ignore[attr-defined]
                    permitted + answered, refused)
        if self._fast_notes():
            self._arms_kept = None
        else:
            self._handed_back = event
        return event

    def _count_python_stop(self, pid: int, status: int) -> None:
        """A stop other than a call's entry the native loop handed to Python, by kind
        (``python_kinds``): its end, an event (by name), a call's exit, a signal."""
        if not os.WIFSTOPPED(status):
            kind = "exit"
        elif status >> 16:
            kind = _EVENTS.get(status >> 16, ("", "event"))[1]
        else:
            kind = "call exit" if os.WSTOPSIG(status) == _SYSCALL_TRAP else "signal"
        self.python_kinds[kind] += 1

    def first_exec(self, tid: int) -> bool:
        """Whether ``tid`` is the spawned command's before its first exec: the user's own
        command, run as given -- nothing traced ran before it (a monitor's checks of what a
        caller chose at an exec into another table leave it alone where the run's start is
        the caller: Supervisor._entering_table)."""
        return tid == self._loading_prefilter

    def _fast_exec_target(self, tid: int, program: str) -> tuple[Table, bool] | None:
        """For the native loop, at an exec of ``program`` it may let go: the table that
        decides the task after it, and whether the exec enters another table (then its
        environment is checked, Supervisor._entering_table), as the monitor says
        (Supervisor.fast_exec); None: Python decides the exec.  ``tid``: the task whose
        monitor state the exec'ing task has (a vfork child not yet told: its parent)."""
        task = self.tasks.get(tid)
        if task is None:
            return None
        return self.monitor.fast_exec(task, program)  # type: ignore[attr-defined, no-any-return]

    def _orphans_notice(self) -> None:
        self._orphan_deadline = None
        if self.on_orphans is not None and self.processes:
            self.on_orphans(len(self.processes))

    def _dispatch(self, pid: int, status: int) -> None:
        handed, self._handed_back = self._handed_back, None
        kept, self._arms_kept, self._arms_kept_after = self._arms_kept, None, None
        self._dispatches += 1
        dispatches = self._dispatches
        self._past_lookup.pop(pid, None)
        if pid in self._wakers:  # (its end woke the loop: what woke it is in the queue)
            self._wakers.discard(pid)
            return
        if status >> 8 == _SYSCALL_TRAP:
            self._exec_failed_late(pid)
        if self._freezing and self._keep_frozen(pid, status):
            return
        self.stops += 1
        kinds = self.stop_kinds
        if status == _SECCOMP_STOP:  # by far the most common stop: straight to the decision
            task = self.tasks.get(pid)
            if task is not None:
                kinds["call"] += 1
                task.to(TaskEvent.REPORTED)
                self._entry_nr = -1
                try:
                    if task.stub is not None and self._stub_stop(task, status):
                        return
                    self._on_seccomp(task)
                except pt.PtraceError as exc:
                    if exc.errno != errno.ESRCH:
                        raise
                if self._fast is not None:  # (the call as the task made it: _on_seccomp)
                    self.python_kinds["call " + NAMES.get(self._entry_nr, "?")] += 1
                    if handed == (pid, status) and dispatches == self._dispatches \
                            and self._entry_nr in _ARMS_KEPT_AFTER \
                            and task.state == TaskState.RUNNING and not self._frozen \
                            and not self._thaw_pending and self.tasks.get(pid) is task:
                        # (nothing but this signal call handled since the wait: the other
                        # tasks' arms are what they were -- _fast_arms)
                        self._arms_kept, self._arms_kept_after = kept, pid
                return
        if self._fast is not None:
            self._count_python_stop(pid, status)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            kinds["exit"] += 1
            self._gone(pid, status)
            return
        if not os.WIFSTOPPED(status):
            return
        task = self.tasks.get(pid) or self._exec_of_unseized_leader(pid, status)
        if task is None:
            self._early[pid] = status  # a child whose parent's event has not come yet
            self._early_started[pid] = _start_of(pid)
            self._kill_orphans_of_dead_creators()
            return
        if task.filters_suspended:  # (the skipped call's exit stop: _suspend_for_skip)
            task.filters_suspended = False
            self._restore_filters(pid)
        listened = task.state == TaskState.LISTENING
        task.to(TaskEvent.REPORTED)
        sig = os.WSTOPSIG(status)
        event = status >> 16
        kind = _EVENTS.get(event, ("event", ""))[0] if event else \
            "call exit" if sig == _SYSCALL_TRAP else "signal"
        kinds["first stop" if task.state == TaskState.ATTACHING else kind] += 1
        if task.state == TaskState.ATTACHING and event != pt.PTRACE_EVENT_STOP:
            # a thread seized by --attach may report any stop before its attach stop
            # (PTRACE_SEIZE promises none, PTRACE_INTERRUPT a trap but not which): its clone
            # or exec event, a signal it was taking -- that stop is its first.  (An
            # auto-attached child's first stop is always PTRACE_EVENT_STOP: _on_stop_event.)
            # Resumed while "attaching" it was a TaskStateError: the attached process
            # killed (c97ebbd: a clone event; gap28: a signal).
            task.to(TaskEvent.STARTED)
        try:
            if task.stub is not None and self._stub_stop(task, status):
                pass
            elif event == pt.PTRACE_EVENT_SECCOMP:
                self._on_seccomp(task)
            elif sig == _SYSCALL_TRAP:
                self._on_syscall_stop(task)
            elif event in (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_VFORK, pt.PTRACE_EVENT_CLONE):
                self._on_new_task(task, event)
            elif event == pt.PTRACE_EVENT_EXEC:
                self._on_exec(task)
            elif event == pt.PTRACE_EVENT_STOP:
                self._on_stop_event(task, sig, listened)
            elif event:
                self._resume(task)
            else:
                self._on_signal(task, sig)
        except pt.PtraceError as exc:
            if exc.errno != errno.ESRCH:
                raise
            # the task died under us (SIGKILL between two calls): its exit will be reported

    def _stub_stop(self, task: Task, status: int) -> bool:
        """A stop of a task whose scratch area a stub maps without a trap stop, not seen to
        end: the native loop's at an exec event it served (_cloop.c stub_map), or Python's
        own premap's (_stub_premap) -- the loop, armed with it, hands its trap here: the
        stub's own stops are served as the loop serves them (stub_stop), True.  Its mmap's
        seccomp stop (a filter traces mmap) is let go, as _inject_call lets an injected call
        go; its trap says the mmap failed: the task goes to
        its entry (the stub put every other register back) without the area, which is mapped
        lazily (_map_scratch) as after a premap that failed -- if the area is not there: a
        trap there with the area mapped is the program's own int3 (:func:`_area_mapped`) --
        unless the run seals and the area is not sealed (:func:`_area_sealed`): then the
        stub's seal failed, and the task goes to its entry with an area that holds no call
        (_area_made: close 25).
        Any other stop the program
        makes (a call, an event) says the stub ended: the area is there; a signal may come
        inside it, and is delivered as any (after an exec no handler runs code of its own)."""
        stub = task.stub
        assert stub is not None
        event = status >> 16
        if status == _SECCOMP_STOP:
            regs = pt.getregs(task.tid)
            args = tuple(getattr(regs, name) for name in ARG_REGS)
            if regs.rip == stub[0] and regs.orig_rax == NUMBERS["mmap"] \
                    and args == enforce.MMAP_ARGS:
                self._resume(task)
                return True
            if self.seals and stub[0] < regs.rip < stub[1] and regs.orig_rax == _MSEAL \
                    and args[:3] == enforce.MSEAL_ARGS[:3]:
                # (its seal, where a rule stops mseal: between the mmap and the trap, of the
                # area alone -- the same seal were the program to jump there: never a
                # question of the policy's, as _cloop.c decide_call; close 24)
                self._resume(task)
                return True
        elif event == 0 and os.WSTOPSIG(status) == signal.SIGTRAP:
            regs = pt.getregs(task.tid)
            if regs.rip != stub[1]:
                return False
            mapped = _area_mapped(task.tid)
            if mapped and (not self.seals or _area_sealed(task.tid)):
                task.stub = None  # (the program's own int3: the mmap and its seal did not fail)
                return False
            regs.rip = stub[2]
            pt.setregs(task.tid, regs)
            task.stub = None
            task.space.scratch = False
            if mapped:  # (the seal failed)
                self._area_made(task.space, False)
            task.space.slots.release(task.tid)
            # (the mapping's stop: by kind only, as _run_to_trap and the loop's stub_stop
            # count it -- _dispatch counted a signal)
            self.stops -= 1
            self.stop_kinds["signal"] -= 1
            self.stop_kinds["scratch map"] += 1
            if self._fast is not None:
                self.python_kinds["signal"] -= 1
                if not self.python_kinds["signal"]:
                    del self.python_kinds["signal"]
            self._resume(task)
            return True
        elif event in (0, pt.PTRACE_EVENT_STOP):
            return False
        task.stub = None
        return False

    # --- resuming -----------------------------------------------------------------------------
    def _resume(self, task: Task, sig: int = 0) -> None:
        """Let a stopped task go on.  PTRACE_SYSCALL (an exit stop follows) only when an exit
        value is awaited, or when there is no filter and every call must be seen at entry."""
        task.to(TaskEvent.RESUMED)
        if task.replay is None:  # (restarted after the scratch mmap: the same call still)
            task.waited = False
        if task.expect != Expect.NOTHING or task.freezer or not self.filtered \
                or task.after is not None or task.exit_delay or task.own_args \
                or task.made_notes is not None:
            if not self.filtered and self.own_filters:
                self._suspend_for_skip(task)
            pt.syscall(task.tid, sig)
        else:
            pt.cont(task.tid, sig)

    # --- seccomp stops: the decisions --------------------------------------------------------
    def _on_seccomp(self, task: Task) -> None:
        info = pt.get_syscall_info(task.tid, self._info)
        # (what --stats counts the stop as: self._info is read again while the call is
        # handled -- a creating open run with the tree frozen has its exit stop read, which
        # shows the openat2 it was held as: "call openat2" for what were openat stops)
        self._entry_nr = info.nr
        if info.op != pt.SYSCALL_INFO_SECCOMP or info.arch != AUDIT_ARCH_X86_64:
            enforce.refuse(task.tid, errno.ENOSYS)  # the filter lets no other ABI through
            self._resume(task)
            return
        self._on_entry(task, info)

    def _on_entry(self, task: Task, info: pt.SyscallInfo) -> None:
        """A call at its entry: decide it (from a seccomp stop, or a syscall-entry stop when
        there is no filter)."""
        nr = info.nr
        if scratch.returning(info.instruction_pointer) is not None \
                and nr != NUMBERS["restart_syscall"] \
                and self._own_back(task, pt.getregs(task.tid), entry=True):
            # a held call the kernel restarted from its trampoline's `syscall`, with the
            # copies: the program's own call instead, from its own instruction (scratch.put_back)
            self._resume(task)
            return
        # (number -1 as the program made it, not as the tracer's skip: _suspend_for_skip)
        task.own_skip = not self.filtered and nr & _U64 == _U64
        args = tuple(info.args)
        name = NAMES.get(nr, f"syscall_{nr}")
        process = task.process
        if name in NOTED:
            self._note_sharing(task.space, name, args)
        if nr in _TIMED_RESTARTS:
            self._note_wait(task, nr, args)
            if task.timed_wait is not None and len(process.tids) > 1:
                task.expect = Expect.WAIT_EXIT  # (a decision's own expectation replaces it)
            if self._only_timed(name, args):
                self._resume(task)  # stopped only for its deadline: the filter allows it
                return
        resolver = self.decoder.resolver
        if name in CHANGES_CREDENTIALS or task.tid in resolver.changing:
            resolver.forget_credentials(task.tid, changing=name in CHANGES_CREDENTIALS)
        if name == "landlock_restrict_self":
            # (which stops always: CHANGES_CREDENTIALS; its result is read at its exit stop,
            # _noted -- whatever the policy or a filter's answer, seen at this entry)
            task.after = ("landlock", args[1] & 0xFFFFFFFF)
        if task.replay is not None:
            # the call restarted after the scratch mmap: the same call, already decided; its
            # decision and what it examined apply again (the monitor is not asked twice) --
            # if they are still what they were.  Between the mmap's return and this entry the
            # task was back in its own code: a signal handler may have run there, and calls
            # no rule names (dup2 over the dirfd, fchdir) do not stop, so a start directory,
            # a descriptor or a buffer may have changed since the decision.  Anything changed:
            # decided anew, as any call (docs/security.md, class 2, "replayed decisions").
            call, reply = task.replay
            task.replay = None
            if call.nr == nr and call.args == args and self._unchanged(task, call):
                self._apply(task, call, reply, info, checked=True)
                return
        if task.detached:
            self._resume(task)
            return
        if not self.filtered:
            verdict = self._unfiltered_verdict(name, args)
            if verdict is not None:
                if verdict.kind == VerdictKind.ERRNO:
                    enforce.refuse(task.tid, verdict.errno)
                self._resume(task)
                return
        call = self.decoder.decode(task.tid, process.pid, nr, name, args, self._reader(task),
                                   self._current_view(task))
        if task.restarted is not None:
            # an exclusive create made again (_restart_exclusive): this call, if it is that
            # one -- a signal's handler may come first; its calls end the mark, which keeps
            # only the next call the tracer decides from being counted as a new one
            restarted, task.restarted = task.restarted, None
            if restarted[:3] == (nr, args, info.instruction_pointer):
                call.again = restarted[3]
        kernel = False  # the refusal is the kernel's own answer to these arguments
        try:
            refusal = self._engine_refusal(call)
            reply = self.monitor.on_syscall(task, call) if refusal is None else None
        except DecodeError as exc:
            refusal = (exc.errno, f"arguments unreadable: {exc}" if exc.unreadable else str(exc))
            kernel = exc.unreadable
            reply = None
        if reply is None:
            assert refusal is not None
            err, why = refusal
            self.monitor.on_engine_refusal(task, call, err, why, kernel=kernel)
            enforce.refuse(task.tid, err)
            self._resume(task)
            return
        self._apply(task, call, reply, info)

    @staticmethod
    def _reader(task: Task) -> TraceeMemory:
        """The memory a task's call is read from and its held copies written to: reached
        through the task itself (its process's leader may have exited), and where its
        address space may have pages with a protection key, obeying that task's keys
        (engine.pkeys)."""
        return task.process.memory.of_task(task.tid, task.space.keyed)

    def _unfiltered_verdict(self, name: str, args: tuple[int, ...]) -> Verdict | None:
        """Without a filter, do what it would have done: None when the call must be decided."""
        if name in STOP_GUARDED or (
                name in GUARDED_CALLS
                and guard_refusal(name, args, self.pid, self.lifted) is not None):
            return None  # decided (refused, or checked) by the engine at the stop
        if name == "ioctl" and args[1] & 0xFFFFFFFF in TERMINAL_SETTINGS_IOCTLS:
            return None  # (a terminal's settings: checked at the stop, _terminal_refusal)
        if name in NOTED and (shares_memory(name, args) is not None
                              or keys_mapping(name, args)):
            return None  # the filter would stop it (its memory is noted at the stop)
        if name not in NUMBERS:
            return Verdict(VerdictKind.ERRNO, errno.ENOSYS)
        verdict = self.plan.verdict(name, args) if self.plan is not None else TRACE
        return None if verdict.kind == VerdictKind.TRACE else verdict

    def _engine_refusal(self, call: DecodedCall) -> tuple[int, str] | None:
        """Refusals that hold whatever the policy says (the guards of seccomp.py, at a stop)."""
        name = call.name
        if name in GUARDED_CALLS:
            refusal = self._guard_refusal(call)
            if refusal is not None:
                return refusal
        if self._terminal_settings(call):
            refusal = self._terminal_refusal(call)
            if refusal is not None:
                return refusal
        if name in _CONTROL_CALLS and Lift.ROUTES not in self.lifted and any(
                c in REFUSED_CONTROL for c in call.control_messages()):
            return errno.EPERM, "a source route (the packet would go where no rule looks)"
        if name in OPEN_CALLS:
            flags = call.open_flags or 0
            memory = call.process_memory()
            if flags & 3 and memory is not None:
                return errno.EACCES, "writing process memory through /proc"
            if flags & 3 and self._tracer_proc_file(call):
                # its oom_score_adj (the OOM killer's first victim), timerslack_ns, sched,
                # autogroup, clear_refs...: a root tree wrote them (red team 48, proc_write.c)
                return errno.EPERM, "the tracer's /proc files (written)"
            if memory == "other" and self._tracer_memory(call):
                # a read is decided as process_vm_readv, which a rule may permit: never the
                # tracer's, as that call's guard refuses it (red team 46, proc_tracer.c)
                return errno.EPERM, "the tracer's memory (its /proc/PID/mem)"
        if name in _TRACER_VIEW_ROLES or name == "pivot_root":
            return self._tracer_view_refusal(call) or self._proc_file_shown(call)
        if name in ("open_tree", "open_tree_attr"):
            return self._proc_file_shown(call)
        return None

    @staticmethod
    def _tracer_memory(call: DecodedCall) -> bool:
        """Whether an open of another process's "mem" file (DecodedCall.process_memory) is
        of one of the tracer's tasks: its directory, as the tracer reaches it, is theirs.
        What cannot be told (no name the tracer reaches) is the tracer's."""
        where = call.access_path("path")
        if where is None:
            return True
        return signals.proc_directory_of_tracer(os.path.dirname(where))

    @staticmethod
    def _tracer_proc_file(call: DecodedCall) -> bool:
        """Whether an open for writing names a file of a /proc/PID or /proc/PID/task/TID
        directory (or of a directory in it: attr/) of one of the tracer's tasks -- an
        enforcer's and a resident tracer's too (signals.proc_directory_of_tracer).  Only a
        file of a procfs is looked at; a name the tracer does not reach is no such file
        (the open's own checks decide it)."""
        where = call.access_path("path")
        if where is None or not where.startswith("/proc/"):
            return False
        parent = os.path.dirname(where)
        for directory in (parent, os.path.dirname(parent)):
            if directory.count("/") >= 2 and signals.proc_directory_of_tracer(directory):
                return True
        return False

    def _proc_file_shown(self, call: DecodedCall) -> tuple[int, str] | None:
        """A file of a procfs shown under another name (a bind, a move, a copied tree): its
        writes may reach process memory (/proc/N/mem), which is refused by the file's name --
        a name it would no longer have.  (A directory's files keep "mem" as their name.)"""
        for role in call.roles():
            target = role == "new" or call.name == "umount2"
            if target or not call.exposes(role):
                continue
            where = call.access_path(role)
            if where is None or call.directory(role):
                continue
            try:
                fd = os.open(where, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:  # (cannot tell -- the tracer out of descriptors: red team 32)
                return errno.EPERM, "a file that may be of a /proc, shown under another name"
            try:
                if pt.fs_type(fd) == PROC_SUPER_MAGIC:
                    return errno.EPERM, "a /proc file shown under another name"
            finally:
                os.close(fd)
        return None

    def _tracer_view_refusal(self, call: DecodedCall) -> tuple[int, str] | None:
        """A change of the tracer's own view of "/" or /proc (it reads /proc for every
        decision), made in its mount namespace or propagated there (a target under a shared
        mount): refused.  So is pivot_root in its namespace, which would give the tracer
        another root."""
        resolver = self.decoder.resolver
        own = call.view.namespace in ("", resolver.own_namespace)
        if call.name == "pivot_root":
            return (errno.EPERM, "pivot_root of the tracer's own mount namespace") if own \
                else None
        for role in _TRACER_VIEW_ROLES[call.name]:
            if role not in call.roles():
                continue
            kind = mount_kind(call.args[3]) if call.name == "mount" else ""
            decoded = call.decoded_path(role)
            if decoded is not None and role != "old" and (
                    call.name == "fspick" or kind == "remount"):
                # a superblock's options (subset=pid, hidepid; a remount's read-only...): every
                # mount of it shares them, in every namespace -- a bind of /proc elsewhere, a
                # detached copy (OPEN_TREE_CLONE), the /proc of a namespace copied from the
                # tracer's -- so the target's file system is what counts, not its name or
                # namespace; one the tracer cannot look at is taken for /proc (review 14).
                # A named target that does not exist reaches no superblock: the kernel's
                # lookup fails (ENOENT, after its own checks: LTP fspick02), and the path
                # was examined, so the call runs frozen (or alone): nothing of the tree's
                # makes it exist meanwhile
                if not decoded.resolved.exists and not decoded.resolved.unnamed:
                    continue
                device = call.device_of(role)
                if device is None or device == os.stat("/proc").st_dev:
                    return errno.EPERM, (f"{decoded.resolved.path or decoded.raw}: the options "
                                         "of the tracer's own /proc")
                continue
            if not own and (role == "old" or not call.exposes(role)):
                continue  # (a target is "exposed" elsewhere when others see it: shared)
            flags_only = call.name == "mount_setattr"
            if call.name == "mount":
                # a propagation change covers nothing; a bind's source stays; a reconfigure
                # changes only a mount's flags
                changes = ("move",) if role == "old" else ("move", "new", "bind")
                if kind not in changes:
                    if role == "old" or kind != "reconfigure":
                        continue
                    flags_only = True  # (on the tracer's own /proc, nosymfollow would fail
                    #                    every magic link it opens)
            if decoded is None or decoded.resolved.unnamed:
                continue  # a detached mount
            if call.name != "move_mount" and call.symlink(role):
                # mount(2) follows a last symlink: one left is a magic link's jump to an
                # O_PATH descriptor of one, on which the kernel mounts nothing (ENOENT); an
                # unmount there (UMOUNT_NOFOLLOW) takes away only what is on the link.
                # move_mount does not follow it (without MOVE_MOUNT_T_SYMLINKS): it mounts a
                # file on the link itself -- /proc/PID/cwd, root, exe, /proc/self, which the
                # tracer reads (red team 22)
                continue
            path = decoded.resolved.path
            if flags_only:
                # the flags or options of its own /proc (nosymfollow: every magic link the
                # tracer opens is ELOOP; subset=pid...), or of every mount below a path
                # (mount_setattr's AT_RECURSIVE), /proc among them (red team 22)
                below = (call.name == "mount_setattr" and call.args[2] & AT_RECURSIVE
                         and (path == "/" or "/proc".startswith(path.rstrip("/") + "/")))
                if below or path == "/proc" or path.startswith("/proc/"):
                    return errno.EPERM, f"{path}: the flags of the tracer's own /proc"
                continue
            if path in ("/", "/proc") or path.startswith("/proc/"):
                return errno.EPERM, f"{path}: the tracer's own / and /proc"
        return None

    def _change_args(self, task: Task, call: DecodedCall, changes: dict[int, int],
                     info: pt.SyscallInfo | None) -> tuple[int, str] | None:
        """Apply a monitor's register changes; the engine's guards hold for the new values."""
        call.set_args(changes)
        for index, value in changes.items():
            pt.poke_reg(task.tid, ARG_REGS[index], value)
            if info is not None:
                info.args[index] = value & 0xFFFFFFFFFFFFFFFF
        try:
            return self._engine_refusal(call)
        except DecodeError as exc:
            return exc.errno, f"arguments unreadable: {exc}"

    def _guard_refusal(self, call: DecodedCall) -> tuple[int, str] | None:
        """What the call's guard in the syscall table refuses: the case its registers decide,
        or the check of a stop guard.  (A clone3 is checked by clone's, see _clone3_check.)"""
        err = guard_refusal(call.name, call.args, self.pid, self.lifted)
        if err is not None:
            return err, "guard"
        guard = stop_guard(call.name, call.args, self.pid, self.lifted)
        if guard is None and call.clone_args is not None:
            # a clone3 as clone: its check sees the flags whole, which clone's cases (the
            # filter's register tests) cannot -- CLONE_NEWTIME is clone's exit signal bit
            guard = GUARDS.get(call.name)
        return self._stop_guard(call, guard) if guard is not None else None

    def _clone3_check(self, call: DecodedCall) -> tuple[int, str] | None:
        """clone3's flags are in memory: read its struct as the kernel will (its errno for a
        bad size, pointer or field), then give the clone(2) call that would make the same task
        clone's own guard -- the same function and the same definition that decide a clone,
        so the two can never differ: its check, views.clone_refusal, gets the struct's flags
        whole (clone3 carries its exit signal apart).  The struct read is the one the kernel
        gets (held, see _must_hold), and its flags are what the child's view follows
        (_clone_flags)."""
        memory = call.memory
        if memory is None:
            return errno.EFAULT, "clone_args unreadable"
        pointer, size = call.args[0], call.args[1]
        try:
            raw = clone_args.read(memory, pointer, size)
            decoded = clone_args.CloneArgs.unpack(raw)
            clone_args.check(decoded, size, memory)
        except clone_args.CloneArgsError as exc:
            return exc.errno, f"clone3: {exc}"
        call.clone_args = decoded
        call.clone_args_raw = raw
        as_clone = DecodedCall(call.tid, call.tgid, _NR_CLONE, "clone", decoded.as_clone(),
                               memory, view=call.view)
        as_clone.clone_args = decoded  # (its check reads the flags whole: see _stop_guard)
        return self._guard_refusal(as_clone)

    @staticmethod
    def _key_callout_refusal(call: DecodedCall) -> tuple[int, str]:
        """request_key with callout data: the kernel would run its key helper (as root,
        outside the tree) when it holds no such key -- refused, unless every table grants
        it (Lift.CALLOUT).  First its strings as the kernel copies them, in its order
        (key_get_type_from_user, strndup_user): what it would fail on gets its errno, and
        the call is not made (a thread could map the memory between a let-go and the
        kernel's copy) -- a type of 32 bytes or more or empty, a description or callout of
        4096 or more: EINVAL; unreadable: EFAULT; a type starting with ".": EPERM."""
        memory = call.memory
        if memory is not None:
            try:
                kind = memory.read_cstring(call.args[0], 32, errno.EINVAL)
                if not kind:
                    return errno.EINVAL, "an empty key type"
                if kind.startswith(b"."):
                    return errno.EPERM, "a key type of the kernel's own"
                memory.read_cstring(call.args[1], 4096, errno.EINVAL)
                memory.read_cstring(call.args[2], 4096, errno.EINVAL)
            except TraceeMemoryError as exc:
                return exc.errno or errno.EFAULT, f"arguments unreadable: {exc}"
        return errno.EPERM, ("callout data would have the kernel run its key helper outside "
                             "the trace (a rule naming request_key grants it)")

    def _stop_guard(self, call: DecodedCall, guard: Guard) -> tuple[int, str] | None:
        """The check of a stop guard whose case holds: it needs more than registers (see the
        guards of the syscall table); ``guard.arg`` is the argument it looks at."""
        target = call.args[guard.arg]
        if guard.check == "clone_flags":
            if call.clone_args is not None:  # a clone3, given clone's guard: its flags whole
                return clone_refusal(call.clone_args.flags, exit_signal_in_flags=False)
            return clone_refusal(target, exit_signal_in_flags=True)
        if guard.check == "namespace_flags":
            return namespace_refusal(target)
        if guard.check == "clone3":
            return self._clone3_check(call)
        if guard.check == "pidfd_target":
            if signals.pidfd_flags_invalid(call.args[3] & 0xFFFFFFFF):
                return None  # (the kernel's EINVAL comes first: LTP pidfd_send_signal02)
            if signals.pidfd_aims_at_tracer(call.tid, target & 0xFFFFFFFF):
                return errno.EPERM, "a signal to the tracer"
            if signals.pidfd_group_holds_tracer(call.tid, signals.int32(target),
                                                call.args[3] & 0xFFFFFFFF,
                                                signals.int32(call.args[1])):
                return errno.EPERM, "a signal to the tracer's process group"
            return None
        if guard.check == "getfd_target":
            if signals.pidfd_aims_at_tracer(call.tid, target & 0xFFFFFFFF):
                return errno.EPERM, "the tracer's descriptors (pidfd_getfd)"
            return None
        if guard.check == "task_target":
            if signals.aims_at_tracer(signals.int32(target), call.tid):
                return errno.EPERM, "a signal to the tracer"
            return None
        if guard.check == "debug_target":
            if signals.aims_at_tracer(signals.int32(target), call.tid):
                return errno.EPERM, "the tracer's registers or memory (a debug call)"
            return None
        if guard.check == "perf_target":
            return self._perf_refusal(call, signals.int32(target))
        if guard.check == "owner_target":
            return self._owner_refusal(call)
        if guard.check == "ioctl_target":
            # (ioctl's stopping requests: an owner set, or a loop device's attach)
            return self._loop_refusal(call) if call.loop_request() else \
                self._owner_refusal(call)
        if guard.check == "key_callout":
            return self._key_callout_refusal(call)
        if guard.check == "keyring":
            answered.note_own_keys()  # (red team 60: fscrypt names only the task decrypts)
            return None
        if guard.check == "own_filter":
            if call.name == "prctl" and call.args[0] & 0xFFFFFFFF == PR_SET_NO_NEW_PRIVS:
                self._note_no_new_privs(call.tid)
                return None
            refusal = self._filter_refusal(call)
            if refusal is None:
                self._own_filter(call.tid)
            return refusal
        assert guard.check == "rlimit", guard.check
        return self._rlimit_refusal(call, target)

    @staticmethod
    def _perf_refusal(call: DecodedCall, pid: int) -> tuple[int, str] | None:
        """perf_event_open, which a rule may permit: its samples copy a process's user stack
        and registers (PERF_SAMPLE_STACK_USER, REGS_USER), so never of the tracer's tasks --
        red team 46, perf_tracer.c: a root tree sampled its tracer's stack --, nor of what
        may hold them: every process on a CPU (pid -1) or a cgroup's (PERF_FLAG_PID_CGROUP;
        which holds the tracer is not told).  With no CPU either, the kernel's EINVAL comes
        first."""
        if signals.int32(call.args[2]) == -1 and (
                pid == -1 or call.args[4] & PERF_FLAG_PID_CGROUP):
            return None
        if call.args[4] & PERF_FLAG_PID_CGROUP:
            return errno.EPERM, "a cgroup's processes sampled (the tracer may be among them)"
        if pid == -1:
            return errno.EPERM, "every process on a CPU sampled (the tracer among them)"
        if signals.aims_at_tracer(pid, call.tid):
            return errno.EPERM, "the tracer's registers or memory (a perf event)"
        return None

    def _rlimit_refusal(self, call: DecodedCall, pointer: int) -> tuple[int, str] | None:
        """setrlimit / prlimit64 setting a limit (``pointer``: the new one).  prlimit64 of
        another pid than 0: never the tracer's (EPERM, as a signal to it; natively there is
        no tracer) -- a tree lowering its RLIMIT_NOFILE made its own checks fail (red teams
        9, 32, 38); fail closed where its tasks cannot be listed.  RLIMIT_CORE: only to
        limits that dump nothing (at most 1, see child.no_core_limits) unless the run grants
        core dumps (Lift.CORE); the kernel writes core files outside every policy."""
        if call.name == "prlimit64":
            pid = signals.int32(call.args[0])
            if pid != 0 and signals.aims_at_tracer(pid, call.tid):
                return errno.EPERM, "the tracer's resource limits"
            if signals.int32(call.args[1]) != RLIMIT_CORE:
                return None
        if Lift.CORE in self.lifted:
            return None
        # (a NULL is read as any pointer: setrlimit copies its struct from address 0, where a
        # program with CAP_SYS_RAWIO may have mapped a page -- red team 31; prlimit64's NULL,
        # no new limit, does not stop: the guard's case wants it given)
        if call.memory is None:
            return None
        try:
            current, maximum = struct.unpack("<QQ", call.memory.read_exact(pointer, 16))
        except TraceeMemoryError as exc:
            return exc.errno or errno.EFAULT, "rlimit unreadable"
        if current > maximum:
            return None  # the kernel refuses it (EINVAL)
        if maximum > NO_CORE_LIMIT and _has_capability(call.tid, CAP_SYS_RESOURCE):
            # (without the capability the kernel refuses a hard limit above 0 by itself)
            return errno.EPERM, ("core dumps are off for traced programs (a rule naming "
                                 "prlimit64 or setrlimit grants them)")
        return None

    def _note_no_new_privs(self, tid: int) -> None:
        """prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) (the guard's case: the one form that cannot
        fail): the task has the flag of its own from now on, and so will the tasks it makes
        (Task.no_new_privs, inherited in _adopt)."""
        task = self.tasks.get(tid)
        if task is not None:
            task.no_new_privs = True

    def _filter_refusal(self, call: DecodedCall) -> tuple[int, str] | None:
        """A filter of the program's own that the kernel would refuse natively: EACCES, its
        answer to a task with neither no_new_privs nor CAP_SYS_ADMIN in its user namespace
        (seccomp_prepare_filter), where the flag the task has is only the one systrace gave
        the program's process for the prefilter (imposed_nnp; LTP prctl02 as a user: the
        install succeeded).  Only where every check the kernel makes before that one passes
        -- the flags (seccomp), the mode (prctl: 2), the struct sock_fprog readable and a
        length of 1 to 4096 -- else the call goes on and the kernel gives its own errno, as
        natively.  Not where the answer cannot be told (the task's capabilities unreadable):
        the call goes on (and installs, as before).  A TSYNC install by a task with the flag
        of its own gives it to every thread of its process (seccomp_sync_threads): noted so,
        at its entry -- one that then fails (a thread under a filter not its ancestor's) gave
        nothing natively, and its threads' installs go on as before this check (never an
        EACCES the kernel would not give: every error here leans to letting the call go).
        PR_GET_NO_NEW_PRIVS and /proc's NoNewPrivs still say 1 (docs/security.md)."""
        task = self.tasks.get(call.tid)
        if call.tid == self._loading_prefilter or task is None:
            return None
        if call.name == "prctl":
            if call.args[1] != SECCOMP_MODE_FILTER:
                return None  # (strict mode, or EINVAL: the kernel's)
            flags, pointer = 0, call.args[2]
        else:
            flags, pointer = call.args[1] & 0xFFFFFFFF, call.args[2]  # (unsigned int)
            bad = (flags & ~SECCOMP_FILTER_FLAG_MASK
                   or (flags & SECCOMP_FILTER_FLAG_TSYNC
                       and flags & SECCOMP_FILTER_FLAG_NEW_LISTENER
                       and not flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH)
                   or (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                       and not flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
            if bad:
                return None  # (EINVAL: the kernel's)
        if task.no_new_privs:
            if flags & SECCOMP_FILTER_FLAG_TSYNC:
                for tid in task.process.tids:
                    if tid in self.tasks:
                        self.tasks[tid].no_new_privs = True
            return None
        if not self.imposed_nnp or call.memory is None:
            return None
        try:
            length = struct.unpack("<H", call.memory.read_exact(pointer, 16)[:2])[0]
        except TraceeMemoryError:
            return None  # (EFAULT: the kernel's)
        if not 1 <= length <= _BPF_MAXINSNS or _has_capability(call.tid, CAP_SYS_ADMIN):
            return None
        return errno.EACCES, ("a seccomp filter without no_new_privs or CAP_SYS_ADMIN (the "
                              "kernel's EACCES: systrace set no_new_privs for its own filter)")

    def _own_filter(self, tid: int) -> None:
        """seccomp(SECCOMP_SET_MODE_FILTER) or prctl(PR_SET_SECCOMP): the program installs a
        seccomp filter of its own -- refused nothing (its listener is, by the guard's refused
        case), but noted for the rest of the run.  The kernel runs every filter again on a
        call the tracer changed at its stop (__seccomp_filter's recheck after
        SECCOMP_RET_TRACE), so the program's filter would judge a call it never made: a held
        open turned into openat2, which a sandbox's filter may refuse (ENOSYS, so that libc
        falls back to openat), trap or kill (red team 13, own_filter_held.c).  From now on a held
        open keeps its own call, run with the tree frozen (enforce.Holder's own_call), and the
        native loop, which holds opens as openat2, serves no task of its process (_fast_arms).
        Noted at entry, before the filter is in: a call of another thread held meanwhile is frozen
        too.  The installing task's process is under it from now on, every thread (a TSYNC'd one
        too); another process is when its filters outnumber the prefilter's (a child inheriting it:
        _under_own_filter) -- the native loop serves the others still (review 8: one `file`,
        sandboxed, made a whole run Python's).  The spawned root's loads before its first exec are
        the prefilter's own programs (child.become_program), which decide on the call the program
        made (a TRACE after a TRACE is no stop): not noted -- noted, they had the native loop serve
        nothing in any run (merge of red team 13)."""
        if tid == self._loading_prefilter:
            return
        self.own_filters = True
        task = self.tasks.get(tid)
        if task is not None:
            task.process.own_filter = True

    @staticmethod
    def _owner_refusal(call: DecodedCall) -> tuple[int, str] | None:
        """fcntl(F_SETOWN) or (F_SETOWN_EX), ioctl(FIOSETOWN) or (SIOCSPGRP): the
        descriptor's owner may not be the tracer, whom the kernel would then signal itself
        (SIGIO, or F_SETSIG's signal: SIGKILL too) -- a signal no guard of kill sees
        (tests/escape/tr_owner.c).  What the kernel reads in memory is read and held by the
        decoder (DecodedCall.owner): the value checked is the one it gets."""
        try:
            owner = call.owner()
        except DecodeError as exc:
            return exc.errno, "the owner unreadable"
        if owner is not None and signals.owner_aims_at_tracer(*owner, call.tid):
            return errno.EPERM, "the tracer as a descriptor's owner (a signal to the tracer)"
        return None

    def _terminal_settings(self, call: DecodedCall) -> bool:
        """Whether the call sets a terminal's line under --attach (_terminal_refusal)."""
        return not self.filtered and call.name == "ioctl" \
            and call.args[1] & 0xFFFFFFFF in TERMINAL_SETTINGS_IOCTLS

    @staticmethod
    def _terminal_refusal(call: DecodedCall) -> tuple[int, str] | None:
        """Under --attach (no filter: every call stops), an ioctl setting a terminal's line
        (TERMINAL_SETTINGS_IOCTLS) of the tracer's own terminal -- its controlling one, whose
        foreground job it is.  Its interrupt character is the line's to turn into SIGINT to
        that job, and SIGINT detaches an attached tree: a tree that set it to a byte of a
        reply the terminal types itself (ESC [ 6 n: the cursor position report, ESC [ row ;
        col R) had systrace detach it without a signal call, and ran on untraced (red team
        59, attach_vintr.c).  The descriptor's terminal is told as for O_ASYNC's owner:
        /dev/tty is the caller's controlling terminal, /dev/console and /dev/tty0 the one
        they stand for (none told: refused).  Another task sharing the descriptor table could
        put the terminal at the number after the check: the call runs frozen and is checked
        again (_must_freeze).  A spawned tree is not checked: there SIGINT does what a
        person's ^C does."""
        terminal = procfs.controlling_terminal(os.getpid())
        if terminal == 0:
            return None  # (no controlling terminal: no line signals the tracer)
        try:
            info = os.stat(f"/proc/{call.tid}/fd/{signals.int32(call.args[0])}")
        except OSError:
            return None  # (no such descriptor: the kernel's EBADF)
        if not stat.S_ISCHR(info.st_mode):
            return None
        device = signals.terminal_behind(info.st_rdev, call.tid)
        if device is None or terminal is None or device == terminal:
            return errno.EPERM, ("the tracer's terminal's settings (its interrupt character "
                                 "would signal the tracer: a detach)")
        return None

    @staticmethod
    def _loop_refusal(call: DecodedCall) -> tuple[int, str] | None:
        """LOOP_SET_FD, LOOP_CHANGE_FD, LOOP_CONFIGURE of a loop device: what the kernel
        would fail on before it takes the file (LOOP_CONFIGURE's struct unreadable: EFAULT)
        gets its errno; the attach itself is the table's to decide, as an open of the file
        (Supervisor._loop_attach).  The struct read is held (DecodedCall.loop_backing), and
        the call runs with the tree frozen and both descriptors compared again
        (Tracer._must_freeze, DecodedCall.loop_stayed)."""
        try:
            call.loop_backing()
        except DecodeError as exc:
            return exc.errno, "the loop device's configuration unreadable"
        return None

    def _note_exec(self, task: Task, call: DecodedCall, redirect: str | None = None) -> None:
        """Remember what an exec was checked against (or redirected to), for the check at the
        exec event, and the argv a rule read (None: none did -- read at the event).  Every
        exec noted replaces the last one's argv: one that failed, or only checked
        (``AT_EXECVE_CHECK``), named the next image's questions (red team 27)."""
        self._exec_argv[task.process.pid] = call.examined_argv
        try:
            decoded = call.decoded_path("path")
            image = call.exec_image(elf=False)  # (the ELF interpreter is not /proc/PID/exe)
        except DecodeError:
            # its path is not readable (the decision did not look at it): the kernel cannot
            # read it either, and the exec fails -- or, changed meanwhile, runs what no
            # decision looked at, which is no concern of a check of what was looked at
            decoded = image = None
        target = decoded.resolved if decoded is not None else None
        binary = (image.reach or image.binary) if image is not None else None
        # the file the decision read (its interpreters checked), not the one the name leads
        # to now: another task may have renamed a file of another PT_INTERP over it since
        # (review 16, tests/escape/exec_interp_swap.c) -- then what runs is not what was read
        identity = image.identity if image is not None else None
        if redirect is not None:
            if not redirect.startswith("/"):
                redirect = os.path.join(self.decoder.resolver.cwd_of(task.tid), redirect)
            target = Resolved(redirect)
            redirected = call.image_of(redirect, elf=False)
            binary = redirected.binary if redirected is not None else None
            identity = redirected.identity if redirected is not None else None
        if identity is None:
            try:
                # the binary that will run: the file, or for a script its (last) interpreter
                info = os.stat(binary) if binary is not None else None
            except OSError:
                info = None
            identity = (info.st_dev, info.st_ino) if info is not None else None
        if identity is None or target is None:
            task.process.exec_check = None
            return
        # (a redirect runs a file of the tracer's choice: its interpreter was not the
        # decision's to check)
        loader = call.checked_loader() if redirect is None else None
        task.process.exec_check = (*identity, target.path, loader)

    def _apply(self, task: Task, call: DecodedCall, reply: Reply,
               info: pt.SyscallInfo | None = None, *, checked: bool = False) -> None:
        """Carry out a decision.  ``checked``: what the call examined was just read again at
        this stop (a replay: Tracer._unchanged), so its wait is over as far as that goes."""
        if reply.delay > 0:  # an injected delay: the rest of the reply once it is over
            later = dataclasses.replace(reply, delay=0.0)
            self._later(task, reply.delay, "entry", lambda: self._apply(task, call, later))
            return
        kind = reply.kind
        if kind == ReplyKind.PARK:
            task.to(TaskEvent.PARKED)
            task.waited = True
            task.pending_call = call
            self._parked += 1
            if not self._sigchld_wakes:
                # from now on the loop waits on answers too: let SIGCHLD wake it (installed
                # only now: a handler would cost a signal and a restarted wait at every stop)
                self._sigchld_wakes = self._wake_on_sigchld()
            return
        if kind == ReplyKind.REFUSE:
            enforce.refuse(task.tid, reply.errno, reply.retval)
            self._tamper(task, reply)
            self._resume(task)
            return
        if kind == ReplyKind.KILL:
            _signal_task(task.tid, signal.SIGKILL)  # (the whole process: SIGKILL)
            return
        if kind == ReplyKind.DETACH:
            for tid in task.process.tids:
                if tid in self.tasks:
                    self.tasks[tid].detached = True
            self._resume(task)
            return
        waited = task.waited and not checked
        if waited and (task.view is not call.view or call.examined_std_fds is not None
                            or call.examined_filters is not None
                            or call.examined_cwd is not None) \
                and not self._unchanged(task, call):
            # it waited (an answer, a delay, the scratch area) while a call that may change
            # views ran: its paths no longer mean what was decided (red team 41) -- or while
            # a peer that has gone since (a CLONE_FILES process, a thread: TSYNC) changed its
            # descriptors 0-2 or its filters, which an exec into another table examined:
            # read again whatever the tree is now, one task or more (review 22)
            self.monitor.on_engine_refusal(
                task, call, errno.EAGAIN,
                "its view changed while it was being checked" if task.view is not call.view
                else "what it examined changed while it waited")
            enforce.refuse(task.tid, errno.EAGAIN)
            self._resume(task)
            return
        if reply.paths and not call.view.host:
            # a redirect names a file in the tracer's view; this task would read it in its own
            self.monitor.on_engine_refusal(task, call, errno.EPERM,
                                           "a redirect for a task that does not see the "
                                           "tracer's tree")
            enforce.refuse(task.tid, errno.EPERM)
            self._resume(task)
            return
        if enforce.linked_redirect(call, reply.paths) is not None:
            self._refuse_linked_redirect(task, call)
            return
        if reply.args:
            refusal = self._change_args(task, call, reply.args, info)
            if refusal is not None:
                err, why = refusal
                self.monitor.on_engine_refusal(task, call, err, why)
                enforce.refuse(task.tid, err)
                self._resume(task)
                return
        # (a path on a FUSE mount: asked once, for the refusal and for the hold)
        on_fuse = self.hold_arguments and self._on_answered_fs(call)
        answered_refusal = self._answered_refusal(task, call, on_fuse)
        if answered_refusal is not None:
            self.monitor.on_engine_refusal(task, call, errno.EACCES, answered_refusal)
            enforce.refuse(task.tid, errno.EACCES)
            self._resume(task)
            return
        if call.name in EXEC_CALLS:
            self._note_exec(task, call, reply.paths.get("path") if reply.paths else None)
        if call.name in MANY_ADDRESS_CALLS and call.examined_messages and self.hold_arguments \
                and self._messages_written_outside(task, call):
            # a sendmmsg's headers, names and control data are read by the kernel message by
            # message and never copied (it writes each msg_len back): only a freeze holds
            # them, and a freeze stops no writer that is no task -- the kernel completing I/O
            # or capturing an earlier message into a packet ring mapped over a later one's
            # name, a process outside the tree writing a shared page (red team 50,
            # net_pktring.c, net_mmsg_shared.c): what will be there cannot be known
            why = "its messages lie where something that is no task may write during the call"
            self.monitor.on_engine_refusal(task, call, errno.EPERM, why)
            enforce.refuse(task.tid, errno.EPERM)
            self._resume(task)
            return
        respelled = unheld = held = False
        must_hold = self._must_hold(task, call, reply, on_fuse)
        if must_hold or self._area_before_filter(task, call):
            space = task.process.space
            self._area_checked(task)
            if not space.scratch and not space.unheld:
                if space.mapping_by is not None:
                    # another task of this address space is mapping the area: wait for it
                    space.waiting.append((task, call, reply))
                    task.waited = True
                    return
                if self._map_scratch(task, call, reply):
                    return
            if space.unheld:  # (no area: the call as the program made it, frozen)
                unheld = respelled = must_hold
                refusal = self._unheld_refusal(task, call, reply) if must_hold else None
                if refusal is not None:
                    self.monitor.on_engine_refusal(task, call, *refusal)
                    enforce.refuse(task.tid, refusal[0])
                    self._resume(task)
                    return
            else:
                try:
                    respelled = self._hold(task, call, reply, info, on_fuse)
                    held = must_hold
                except (enforce.HoldError, DecodeError) as exc:
                    if not self._killed_in_its_stop(task):
                        self.monitor.on_engine_refusal(task, call, exc.errno, str(exc))
                    enforce.refuse(task.tid, exc.errno)
                    self._resume(task)
                    return
        if respelled or self._must_freeze(task, call, reply):
            refusal = self._freeze(task)
            if refusal is None:
                refusal = self._frozen_refusal(task, call, reply, waited, unheld, held)
                if refusal is not None:
                    self._thaw()
                    task.freezer = False
            if refusal is not None:
                self.monitor.on_engine_refusal(task, call, *refusal)
                if task.own_args:  # (refused after all: its own registers but rax, now)
                    self._put_own_back(task)
                enforce.refuse(task.tid, refusal[0])
                self._resume(task)
                return
            waits = _WAITS_PAST_LOOKUP.get(call.name)
            if waits is not None and reply.paths is None and self._local_file(call):
                self._waiter, self._waits_in = task, waits
        if call.name in enforce.VIEW_CALLS:
            self._views_changed(task, call)
        if answered.mounts_fuse(call.name, call.args, call.held_strings):
            answered.watch_servers()  # (a FUSE server in the tree: fuse47)
        if call.clone_args is not None:
            task.clone3_flags = call.clone_args.flags  # (read at its child's event)
        if call.name == "kill":
            result = signals.signal_group(task.tid, task.process.pid,
                                          signals.int32(call.args[0]), call.args[1] & 0xFFFFFFFF)
            if result is not None:  # done by the tracer, which the group holds
                enforce.refuse(task.tid, 0, result)
        if reply.want_exit:
            task.expect = Expect.EXIT_HANDLER
            task.pending_call = call
        if call.made_notes is not None:
            # (the names it makes are the run's once it has made them: at its exit stop,
            # from its result -- notes35)
            self._settle_made(task)
            task.made_notes, call.made_notes = call.made_notes, None
        if task.anew is not None:
            self._create_anew(task, call)
            return
        self._tamper(task, reply)
        self._resume(task)

    # --- changes of what paths mean (docs/security.md, "New views of the file system") ------
    def _views_changed(self, task: Task, call: DecodedCall) -> None:
        """A call that may change some task's view runs: every task reads its view again at
        its next call, and the mounts of every namespace are read again when needed.  What
        the engine must note about the call's result is noted at its exit (:meth:`_noted`)."""
        resolver = self.decoder.resolver
        resolver.strict = True
        resolver.forget_mounts()
        for other in self.tasks.values():
            other.view = None
        if call.name == "setns":
            task.joined = True  # a namespace made outside the tree: not a copy of ours
        name = call.name
        after: tuple[object, ...] | None = None
        try:
            if name == "pivot_root":
                # (what cannot be followed makes the namespace's own names unusable)
                after = self._pivot_texts(task, call) or ("pivot?",)
            elif name == "fsmount":
                after = ("detached", "new")
            elif name in ("open_tree", "open_tree_attr") and call.args[2] & OPEN_TREE_CLONE:
                # (and the name it copies: a move_mount of it gives that file a new name,
                # compared then as a link's -- model._named_anew, red team 49)
                examined = call.examined_paths()
                source = examined[0].resolved if len(examined) == 1 else None
                after = ("detached", "tree", source if source is not None and
                         source.exists and not source.pseudo else None)
        except (OSError, TraceeMemoryError, DecodeError):
            after = ("pivot?",) if name == "pivot_root" else None
        if after is not None:
            task.after = after

    def _pivot_texts(self, task: Task, call: DecodedCall) -> tuple[str, ...] | None:
        """What the tracer needs to follow a pivot_root: the new root's and put_old's names
        in their namespace's own terms (its /proc text), and the old root's mount."""
        resolver = self.decoder.resolver
        texts = []
        for role in ("new", "old"):
            where = call.access_path(role)
            if where is None:
                return None
            fd = os.open(where, os.O_PATH | os.O_CLOEXEC)
            try:
                texts.append(os.readlink(f"/proc/self/fd/{fd}"))
            finally:
                os.close(fd)
        new_root, put_old = texts
        prefix = new_root.rstrip("/")
        if not put_old.startswith(prefix + "/"):
            return None  # the kernel refuses it (EINVAL): put_old must be below new_root
        return ("pivot", new_root, put_old[len(prefix):], str(resolver.mount_root(task.tid)))

    @staticmethod
    def _settle_made(task: Task, succeeded: bool = False, result: int | None = None) -> None:
        """The task's call's notes of what the run made (DecodedCall.note_made), at its exit:
        widened only when the call succeeded (a create that failed made nothing).
        ``result``: the call's (MadeNotes.settle)."""
        notes, task.made_notes = task.made_notes, None
        if notes is not None:
            notes.settle(succeeded, result)

    def _restart_exclusive(self, task: Task, again: int) -> None:
        """At the exit of a create the tracer ran with O_EXCL added (MadeNotes.exclusive: an
        open with O_CREAT and no O_EXCL of a name absent when decided) that met the kernel's
        EEXIST: something made the name between the decision and the kernel's open -- an
        outsider, which the program's own open would have opened (notes37).  The program's
        own call is made again from its own instruction (its registers from the held call's
        record, scratch.put_back at the restart ``syscall``), and decided anew on what is
        there now: nothing is noted of it, and what the decision granted because the name was
        absent (a fresh rule) is not granted to the outsider's file.  A task whose registers
        cannot be put back (no trampoline: never for a held open) gets EAGAIN, as a call
        whose paths changed while it was checked.

        The call made again is the same call (notes38): ``task.restarted`` marks it, and its
        entry (:meth:`_on_entry`) gives it ``DecodedCall.again`` (``again`` + 1) -- the log
        says so, an inject rule does not count it again, and its decision takes a name absent
        then as what an outsider keeps making (decode.RESTARTS: decided on the names' rules
        that do not ask whether the run made it, run without O_EXCL, nothing noted): an
        outsider that makes the name in each window and removes it before each decision has
        the call made again once, not for ever."""
        regs = pt.getregs(task.tid)
        slot = scratch.returning(regs.rip)
        if slot is not None:
            regs.rip = slot + scratch.RESTART
            if self._own_back(task, regs):
                task.pending_call = None  # (an exit handler's: the call made again has its own)
                task.exit_delay = 0.0
                task.restarted = _made_again(regs.rax, regs, regs.rcx, again)
                return
        enforce.set_return(task.tid, -errno.EAGAIN)

    def _take_back(self, task: Task, fd: int, again: int) -> None:
        """At the exit of an open a fresh rule permitted by the file its name gave at the
        decision, whose descriptor ``fd`` holds another (MadeNotes.swapped: an outsider renamed
        its file over the name between the decision and the kernel's look-up -- swap51): the
        descriptor is closed in the task before it returns -- ``close`` run from the held
        call's trampoline (its ``syscall`` at scratch.RESTART), every signal blocked but the
        forced ones -- and the program's own call made again, decided anew on what is there
        now (_restart_exclusive; past RESTARTS, or where it cannot be, EAGAIN).  The open is
        held for that (Tracer._must_hold: its exit returns into the slot) and runs with the
        tree frozen (_must_freeze): no other task sees the descriptor.  Where it was not held
        (no trampoline) or the close fails, the process is killed (fail closed: the
        descriptor never reaches the program)."""
        try:
            regs = pt.getregs(task.tid)
            mask = pt.getsigmask(task.tid)
        except pt.PtraceError:
            raise _Diverted(task.tid) from None  # (gone: its end comes to the loop)
        slot = scratch.returning(regs.rip)
        if slot is None or not task.process.space.scratch:
            self._kill_diverted(task)
        with self._signals_held(task.tid, mask) as pending:
            closed = self._call_to_exit(task, type(regs).from_buffer_copy(regs),
                                        NUMBERS["close"], (fd, 0, 0, 0, 0, 0),
                                        slot + scratch.RESTART, pending, "call exit")
        if closed is None:
            raise _Diverted(task.tid)  # (gone: its end comes to the loop)
        if closed != 0:
            self._kill_diverted(task)
        with contextlib.suppress(pt.PtraceError):
            pt.setregs(task.tid, regs)  # (the open's exit again, in the slot)
        if again >= RESTARTS:
            enforce.set_return(task.tid, -errno.EAGAIN)
        else:
            self._restart_exclusive(task, again)

    def _may_make_anew(self, task: Task, info: pt.SyscallInfo) -> bool:
        """Whether the tracer may make the task's stopped call anew with its filters suspended
        (_create_anew): it stopped at the prefilter's SECCOMP_RET_TRACE, made by a
        ``syscall`` instruction, and the tracer may suspend filters (probed: set and put
        back)."""
        if info.op != pt.SYSCALL_INFO_SECCOMP or not self.filtered:
            return False
        try:
            at = info.instruction_pointer - len(enforce.SYSCALL_INSTRUCTION)
            if self._reader(task).read_exact(at, 2) != enforce.SYSCALL_INSTRUCTION:
                return False
        except TraceeMemoryError:
            return False
        if not self._suspend_filters(task.tid):
            return False
        self._restore_filters(task.tid)
        return True

    def _create_anew(self, task: Task, call: DecodedCall) -> None:
        """Make the exclusive create of a task under a filter of the program's own anew, as
        ``openat2`` on the copies with O_EXCL added (Holder._open), with the task's filters
        suspended, and end its call with the result (notes38).

        Under such a filter the kernel judges the call the tracer changed again after the
        prefilter's stop (the recheck): a filter answering the O_EXCL create SECCOMP_RET_ERRNO
        with errno 0 (or a notification's supervisor adding a file) made a success that made
        nothing, so the create was run as the program made it and its success proved nothing:
        the run's own file was not noted, and a fresh rule refused it.  But a call that stopped
        at the prefilter's SECCOMP_RET_TRACE is one every filter of the program's let through
        (ALLOW, LOG or TRACE: a KILL, TRAP, ERRNO or USER_NOTIF answer takes precedence over
        TRACE, and the call would never have stopped).  The create on the copies is that call
        with O_EXCL added and no symlink followed: its filters' answer is known, and it runs
        unjudged, as _map_scratch_suspended's mmap -- the stopped call skipped (number -1: no
        recheck), the ``openat2`` made anew from the program's ``syscall`` instruction with
        the filters suspended (the suspension holds where a call enters, not at a recheck),
        every signal blocked but the forced ones (_run_to_exit: the entry must be exactly that
        call).  Its success then made the file, noted as the run's; its EEXIST has the
        program's own call made again (_restart_exclusive's mark), decided anew; the task is
        given the program's registers with the result, at no trampoline."""
        tid = task.tid
        nr, args = task.anew or (0, ())
        task.anew = None
        notes, task.made_notes = task.made_notes, None
        try:
            saved = pt.getregs(tid)
            mask = pt.getsigmask(tid)
        except pt.PtraceError:
            return  # (gone: its end comes to the loop)
        if not self._suspend_filters(tid):
            if notes is not None:
                notes.settle(False)
            self.monitor.on_engine_refusal(task, call, errno.EAGAIN,
                                           "its filters could not be suspended")
            enforce.refuse(tid, errno.EAGAIN)
            self._end_anew(task)
            return
        pending: list[int] = []
        result: int | None = None
        try:
            pt.setsigmask(tid, ~_FORCED_BITS | mask & _FORCED_BITS)
            regs = type(saved).from_buffer_copy(saved)
            for name, value in zip(ARG_REGS, args, strict=True):
                setattr(regs, name, value)
            regs.orig_rax, regs.rax = _U64, nr
            regs.rip = saved.rip - len(enforce.SYSCALL_INSTRUCTION)
            pt.setregs(tid, regs)
            result = self._run_to_exit(task, regs, pending, "call exit")
        except (pt.PtraceError, _Diverted):
            result = None
        finally:
            if procfs.alive(tid):
                with contextlib.suppress(pt.PtraceError):
                    pt.setsigmask(tid, mask)
                self._restore_filters(tid)
        if result is None:
            if notes is not None:
                notes.settle(False)
            self._end_anew(task, resume=False)  # (killed, or gone: its end comes to the loop)
            return
        back = type(saved).from_buffer_copy(saved)
        exclusive = notes is not None and notes.ran_exclusive
        if (result == -errno.EEXIST and exclusive) \
                or -_ERESTART_LAST <= result <= -_ERESTART_FIRST:
            # made again: the program's own call from its own instruction, decided anew
            # (an interrupted one as the kernel restarts it; an EEXIST marked as the same call)
            back.rip = saved.rip - len(enforce.SYSCALL_INSTRUCTION)
            back.rax = saved.orig_rax
            if result == -errno.EEXIST:
                again = notes.again if notes is not None else 0
                task.restarted = _made_again(saved.orig_rax, saved, saved.rip, again)
        else:
            back.rax = result & _U64
        with contextlib.suppress(pt.PtraceError):
            pt.setregs(tid, back)
        if notes is not None:  # (its filters suspended: no filter answered in its place)
            notes.settle(result >= 0 and (notes.proven() or not self.hold_arguments), result)
        for sig in pending:
            with contextlib.suppress(ProcessLookupError):
                _signal_task(tid, sig)
        self._end_anew(task)

    def _end_anew(self, task: Task, resume: bool = True) -> None:
        """After _create_anew: the thaw, once the task goes on -- resumed here, or
        (``resume`` false) killed or gone, its end coming to the loop."""
        if task.freezer:
            task.freezer = False
            self._thaw_after(task)
        if resume:
            self._resume(task)

    def _noted(self, task: Task, result: int, held: bool = False) -> None:
        """At the exit of a call :meth:`_views_changed` saw: note what it made.  A result a
        seccomp filter of the program's own may have given in the kernel's place, the call
        never run (_filter_may_answer: errno 0 returns 0), is no proof: a skipped fsmount's 0
        was noted as the detached new file system at descriptor 0 -- a copy of the secret's
        tree put there, then moved into place as one, uncompared (notes37, skip_detached.c).
        Then a detached mount is not noted (its move is decided as any descriptor's: by its
        name, or as unsafe where it has none), and a pivot_root loses the namespace's own
        names (PathResolver.lost), as one the tracer could not follow."""
        after, task.after = task.after, None
        if result < 0 or after is None:
            return
        if after[0] == "landlock":
            # (a filter's answer of 0 too: the domain it may have entered is kept, failing
            # closed -- a refusal more, never a link followed across domains)
            self._entered_domain(task, int(after[1]))
            return
        if self._filter_may_answer(task, held):
            if after[0] in ("pivot", "pivot?") and task.seen is not None:
                self.decoder.resolver.lost(task.seen)
            return
        if after[0] == "pivot" and task.seen is not None:
            self.decoder.resolver.pivoted(task.seen, after[1], after[2], int(after[3]))
        elif after[0] == "pivot?" and task.seen is not None:
            self.decoder.resolver.lost(task.seen)
        elif after[0] == "detached":
            self.decoder.resolver.note_detached(task.tid, result, *after[1:])

    def _entered_domain(self, task: Task, flags: int) -> None:
        """The task's landlock_restrict_self succeeded: it entered a Landlock domain (review
        56).  The calling thread alone, with the flags this kernel knows (the LOG ones); a
        flag the engine does not know may reach other threads (a future thread
        synchronisation): every thread of the process is then taken to be in it."""
        resolver = self.decoder.resolver
        resolver.entered_domain(task.tid)
        if flags & ~LANDLOCK_RESTRICT_SELF_LOG_FLAGS:
            for tid in task.process.tids:
                if tid != task.tid:
                    resolver.entered_domain(tid)

    def _area_before_filter(self, task: Task, call: DecodedCall) -> bool:
        """Whether the call installs a seccomp filter of the program's own in an address
        space without the scratch area: the area is mapped first, while no filter of the
        program's judges the injected mmap.  Once the program's filter is in, the kernel runs
        it again on the mmap the tracer injects in a stopped call's place (the recheck after
        SECCOMP_RET_TRACE), and a sandbox's filter may refuse, trap or kill an mmap with
        MAP_FIXED_NOREPLACE, which the program itself never makes (red team 13).  Held calls
        need nothing else injected (_own_filter).  An image exec'd later under the filter
        gets its area by an mmap made with its filters suspended, or none (_map_scratch).  A
        task under a filter of its own already installing another is mapped so too."""
        space = task.process.space
        if space.scratch_failed or (space.scratch and not space.inherited):
            return False
        guard = stop_guard(call.name, call.args, self.pid, self.lifted)
        if guard is None or guard.check != "own_filter" or (
                call.name == "prctl" and call.args[0] & 0xFFFFFFFF == PR_SET_NO_NEW_PRIVS):
            return False
        self._area_checked(task)  # (a fork's copy: there, or not)
        return not space.scratch

    def _must_hold(self, task: Task, call: DecodedCall, reply: Reply, on_fuse: bool) -> bool:
        """Whether the call must be pointed at copies of what was checked.

        A race needs a second writer of the call's memory while the call goes from its check
        to the kernel: another task of the traced tree, or something that is no task -- a
        process sharing the pages the arguments are in, the kernel completing asynchronous
        I/O (_reached_from_outside).  When nothing but the task itself can write what was
        examined, nothing can change it in between, so nothing is copied; otherwise
        everything that was examined is.  A replaced argument is always written, of course."""
        if reply.paths is not None or reply.sockaddr is not None:
            return True
        if not self.hold_arguments:
            return False
        if on_fuse:
            return True  # (a FUSE server may answer the kernel otherwise than the tracer)
        notes = call.made_notes
        if notes is not None and notes.kept is not None:
            return True  # (its exit returns into the slot, where _take_back can close it)
        if notes is not None and notes.exclusive:
            # a create that opens what is there, of a name absent when decided: held as
            # openat2 with O_EXCL added (enforce.Holder._open), or it notes nothing -- under
            # a filter of the program's own, which judges the changed call again, its
            # success proves nothing (_filter_may_answer): made anew with the filters
            # suspended where that is faithful (_create_anew, notes38), else run as it was
            if not self._under_own_filter(task):
                return True
            if self.filtered and not self._no_suspend and not (
                    reply.signal or reply.delay_exit or reply.want_exit):
                notes.anew = True
                return True
        # a call that waited between its check and now (an answer, an injected delay) is
        # held whatever the tree is now: a thread may have rewritten it meanwhile, and gone
        solo = self._solo() and not task.waited
        examined = (call.sockaddr_raw is not None or call.examined_argv is not None
                    or call.examined_envp is not None  # (an exec into another table)
                    or call.clone_args_raw is not None
                    or bool(call.held_strings)  # a mount's type, source and options
                    or call.msghdr_raw is not None  # a sendmsg's name and control data
                    or call.open_resolve is not None  # openat2's open_how was read
                    or call.empty_path_arg is not None  # the "" of a descriptor call
                    or any(p.spec is not None for p in call.examined_paths()))
        # (alone: held where something that is no task may write what was examined -- a
        # shared page, the kernel's I/O, a kernel's ring mapped there: ring36)
        return examined and (not solo or self._reached_from_outside(task, call))

    @staticmethod
    def _on_answered_fs(call: DecodedCall) -> bool:
        """Whether a path the call was decided on lies on a file system a process answers
        (FUSE: engine/answered.py): its server sees which task looks a name up and may answer
        the kernel's lookup for the program otherwise than the tracer's, with nothing
        renamed -- so the call is held whatever the tree is (an open then follows no
        symlink: ELOOP where the server now says "symlink").  A unix socket's path in a
        connect's, bind's or send's address counts too."""
        # (a descriptor's own file, AT_EMPTY_PATH's "": no lookup, nothing answered again)
        paths = [p for p in call.examined_paths() if p.spec is not None and p.raw]
        examined = [p.resolved.path for p in paths]
        address = False
        if call.sockaddr_raw is not None and call.name in enforce.SOCKET_PATH_CALLS:
            with contextlib.suppress(DecodeError):  # (unreadable: refused elsewhere)
                addr = call.sockaddr
                if addr is not None and addr.family == "unix" and addr.path:
                    address = True
                    if addr.path.startswith("/"):
                        examined.append(addr.path)  # (the socket file the kernel looks up)
        if not examined and not address:
            return False
        if answered.own_keys() and Tracer._encrypted_on_the_way(call, paths, examined,
                                                                 address):
            return True  # (a key of the tree's own may decrypt names otherwise: red team 60)
        if not call.view.host:
            # a task that does not see the tracer's tree: its namespace may show a FUSE mount
            # where the tracer's has none (review 24), so its own mount table and its own
            # names (Resolved.local) are compared.  What its lookup passed through is not
            # listed in its view (passed_through): a name its spelling does not end in as
            # written (a symlink, "." or ".." on the way), one it has no name for, or a
            # socket's address counts as below such a mount.
            points = answered.points_of(call.tid)
            if not points:
                return False
            return address or any(Tracer._answered_in_own_view(p, points)
                                  for p in paths if not p.resolved.pseudo)
        found = answered.mounts()
        if not found.current():
            return False  # (no such file system in the tracer's view: nothing below one)
        if any(path and found.below(path) for path in examined):
            return True
        # what the lookup passed through on its way counts too: a walk that entered the
        # mount and left it by ".." or a symlink its server gave (review 24) ends outside it
        return any(found.below(name) for p in paths for name, _ in call.passed_through(p)) \
            or (address and any(found.below(name) for name, _ in call.address_passed_through()))

    @staticmethod
    def _encrypted_on_the_way(call: DecodedCall, paths: list[DecodedPath],
                              examined: list[str], address: bool) -> bool:
        """For _on_answered_fs, in a run whose tree holds keys of its own
        (answered.own_keys): whether a path the call was decided on ends in, or its lookup
        passed through, a file fscrypt encrypts -- where a missing name's nearest existing
        directory is the one asked.  Such a directory's names (and such a symlink's target)
        may read otherwise for the task, whose keyrings hold a key the tracer's do not (red
        team 60).  Below an unencrypted directory every name is one (a mount inside an
        encrypted directory pins its key); an error asking says yes (fail closed).  A unix
        socket's path (``address``) counts by where its lookup ended and what it passed
        through (an abstract name has none)."""
        names = [*examined, *(name for p in paths for name, _ in call.passed_through(p))]
        if address:
            names += [name for name, _ in call.address_passed_through()]
            names += [end for _, end in call.address_lookups if end]
        for name in names:
            while True:
                try:
                    if pt.encrypted(name):
                        return True
                    break
                except (FileNotFoundError, NotADirectoryError):
                    parent = os.path.dirname(name)
                    if parent == name:
                        break
                    name = parent
                except OSError:
                    return True
        return False

    @staticmethod
    def _answered_in_own_view(p: DecodedPath, points: tuple[str, ...]) -> bool:
        """For _on_answered_fs, a path of a task that does not see the tracer's tree: whether
        it ends below one of its namespace's FUSE ``points``, or may have passed through one
        -- its name is not the spelling's own, as written (with no "." or ".."), at the end
        of where the lookup started (an absolute spelling: the whole name)."""
        local = p.resolved.local
        if not local or answered.below(points, local):
            return True
        raw = p.raw or ""
        parts = [part for part in raw.split("/") if part]
        if any(part in (".", "..") for part in parts):
            return True
        written = "/" + "/".join(parts)
        if raw.startswith("/"):
            return local != written
        return not parts or not local.endswith(written)

    def _answered_refusal(self, task: Task, call: DecodedCall, on_fuse: bool) -> str | None:
        """Why a call through a file system a process answers is refused, or None.  Holding
        cannot keep the kernel from resolving again the path of a call that changes the file
        system (link, rename, chmod, unlink, mkdir...): the server would answer that lookup,
        made for the program, with a symlink out of the tracer's answer -- a link of the
        secret made from a missing name below the mount (red team 44).  Such a call is
        refused (EACCES) where the task's table decides anything by name (a rule that refuses
        or asks with a path, or a default that is no permit: ``Table.decides_by_name``); a
        table that permits every name has nothing to be taken round.  So is any call there
        of a task under a seccomp filter of its own, whose held calls keep their own number
        (an open is no openat2 with RESOLVE_NO_SYMLINKS then: red team 13) or run unheld.  An
        exec is not refused: the inode the kernel loads is checked at its exec event
        (_checked_program).  ``on_fuse``: the call's :meth:`_on_answered_fs`, asked once."""
        if not self.hold_arguments or call.name in EXEC_CALLS:
            return None
        frozen = call.name in enforce.FREEZE_CALLS or self._under_own_filter(task)
        if not frozen and call.name in OPEN_CALLS:
            return None  # (held as openat2 with RESOLVE_NO_SYMLINKS)
        if not frozen and not call.examined_paths():
            return None
        if not on_fuse:
            return None
        # any other path call -- stat, access, readlink, getxattr, statfs... -- is looked up
        # again too, held or not: refused where a rule may refuse that call by a name
        # (review 24: a getxattr of the secret's attribute, a stat of its inode)
        if not self.monitor.decides_by_name(task, None if frozen else call.name):
            return None
        if answered.own_keys():
            return ("the tree holds keys the tracer's lookups do not find (an encrypted "
                    "directory's names may read otherwise for it), and the kernel would look "
                    "the path up again")
        return ("its path lies on a file system a process answers (FUSE), which the kernel "
                "would look up again for it: the server may answer it otherwise than the "
                "tracer")

    def _note_sharing(self, space: AddressSpace, name: str, args: tuple[int, ...]) -> None:
        """A call of the table's ``shares`` at its stop: from now on (until exec) something
        that is no task may write this memory -- anywhere, or in the pages it shares; every
        address space of the tree, for the rest of the run, where the kernel's pages go to
        any mapping of the descriptor (``tree``: a packet ring).  One of its ``keys``: from
        now on some of its pages may have a protection key (only where the kernel uses keys
        at all)."""
        if not space.keyed and keys_mapping(name, args) and pkeys.enabled():
            space.keyed = True
        sharing = shares_memory(name, args)
        if sharing is None:
            return
        if sharing.tree:
            self.rings_mapped_anywhere = True
        if sharing.anywhere:
            space.written_anywhere = True
            space.written_with_content = space.written_with_content or not sharing.zeros
        else:
            if name == "mmap" and args[3] & MAP_DROPPABLE:
                space.droppable = True  # (its pages are found in smaps only)
            space.shared_pages = True
            space.shared_ranges = None  # where they are is read again when it matters

    def _outside_ranges(self, task: Task, anywhere: bool = True,
                        ) -> tuple[tuple[int, int], ...] | None:
        """The pages of the task's memory that something that is no task may write (its
        shared ranges, /proc/PID/maps read once after each change), or None: any page (the
        kernel completes I/O into it, a ring of kernel pages is in the tree, the maps could
        not be read).  ``anywhere`` False: the shared ranges alone, whatever else writes."""
        space = task.space
        if anywhere and (space.written_anywhere or self.rings_mapped_anywhere):
            return None
        if space.shared_ranges is None:
            mappings = shared_mappings(task.tid, space.droppable)
            if mappings is None:
                return None
            space.shared_ranges, rings = mappings
            if rings:  # (an AIO ring the stop did not see: a call the filter let through)
                space.written_anywhere = space.written_with_content = True
                return None
        return space.shared_ranges

    def _frozen_refusal(self, task: Task, call: DecodedCall, reply: Reply, waited: bool,
                        unheld: bool, held: bool = False) -> tuple[int, str] | None:
        """Once the tree is frozen for a call about to run: why it is refused after all --
        what it was decided on changed before the others stopped -- or None.  The caller
        thaws the tree at a refusal.  ``held``: the call points at copies of what was
        examined (Tracer._hold), written before the freeze."""
        if not (self._unchanged(task, call, ran=waited,
                                vectors_held=held and call.name in EXEC_CALLS) and (
                not unheld or self._unchanged_in_memory(task, call))):
            return errno.EAGAIN, "its arguments changed while it was being checked"
        if call.name in MANY_ADDRESS_CALLS and call.examined_messages \
                and self._messages_in_file_pages(task, call):
            # (a file mapped over its messages before the others stopped)
            return errno.EPERM, "its messages lie where something that is no task may write " \
                                "during the call"
        if not call.owner_stayed():
            return errno.EAGAIN, "the owner O_ASYNC gives its descriptor changed while it was " \
                                 "being checked"
        if not call.loop_stayed():
            return errno.EAGAIN, "the file a loop device would be attached to changed while " \
                                 "it was being checked"
        if not call.snapshot_stayed():
            return errno.EAGAIN, "the subvolume a btrfs snapshot would copy changed while it " \
                                 "was being checked"
        if self._terminal_settings(call) and self._terminal_refusal(call) is not None:
            return errno.EAGAIN, "its descriptor became the tracer's terminal while it was " \
                                 "being checked"
        if call.examined_targets is not None and not self._targets_stayed(task, call):
            return errno.ESRCH, "its target left the traced tree while it was being checked"
        if enforce.linked_redirect(call, reply.paths) is not None:
            # (a link put at the target before the others stopped)
            return errno.ELOOP, LINKED_REDIRECT
        return None

    def _messages_written_outside(self, task: Task, call: DecodedCall) -> bool:
        """Whether something that is no task may write a sendmmsg's examined messages while
        it runs (its array, names and control data: DecodedCall.message_spans).  A writer
        of zeros alone (MADV_FREE's reclaim) can take a name or control data away, never
        make one: messages with neither are left to run (glibc's resolver sends its batch
        on a connected socket, nameless).  Nor can a file's appender (the tracer's log,
        its resolver's lines) make a name where there is none, but it lengthens one."""
        space = task.space
        if self.rings_mapped_anywhere or space.written_with_content:
            return True
        spans = call.message_spans()
        if space.written_anywhere and len(spans) > 1:
            return True  # (a name or control data a reclaim may cut short)
        if self._messages_in_file_pages(task, call, spans):
            # a name or control data (or the array that gives their lengths) in a page of a
            # file the tracer appends to (a log, a stderr that is a file): its record of this
            # very call, or a resolver thread's line, may lengthen a name the tracer read --
            # msg_namelen takes the bytes past the file's end it read as zeros (red team 55,
            # log_tail_send.c).  Only a file's page shows such a write: messages wholly in
            # anonymous memory (a stack, the heap) run, as in a run that does not log
            # (review 37: any honest sendmmsg with names was refused under --log)
            return True
        if self._in_kernel_ring(task, spans):
            return True
        if not space.shared_pages:
            return False
        ranges = self._outside_ranges(task, anywhere=False)
        if ranges is None:
            return True
        return any(overlaps(ranges, at, length) for at, length in spans)

    def _messages_in_file_pages(self, task: Task, call: DecodedCall,
                                spans: list[tuple[int, int]] | None = None) -> bool:
        """Whether a sendmmsg with names or control data, in a run whose tracer appends to a
        file at times the tree chooses (``writes_beside``, ``writes_deciding``), has any of
        its messages in a page of a file (tracee.in_file_pages): there an append may lengthen
        a name after it was read.  Asked before the decision's hold, and -- in a tree of more
        than one task, whose others could map a file over the messages meanwhile -- again once
        they are frozen (review 37)."""
        if spans is None:
            spans = call.message_spans()
        return len(spans) > 1 and (self.monitor.writes_beside or self.monitor.writes_deciding) \
            and in_file_pages(task.tid, spans)

    @staticmethod
    def _in_kernel_ring(task: Task, spans: list[tuple[int, int]]) -> bool:
        """Whether one of a sendmmsg's spans lies in a kernel's ring mapped privately or not,
        made or not by the tree (a packet socket handed over with its ring made: the tree's
        MAP_PRIVATE mmap of it does not stop, nor did the setsockopt that made it -- review
        34, net_pktring.c received).  The kernel is asked at each such call: no stop tells
        when such a mapping appears.  Unreadable maps: yes.  Asked through the maps
        descriptor the process's memory keeps (closed at its exec: it answers of the address
        space it was opened in)."""
        try:
            maps = task.process.memory.of_task(task.tid).maps_descriptor()
        except TraceeMemoryError:
            maps = -1
        return in_kernel_ring(task.tid, spans, maps)

    def _reached_from_outside(self, task: Task, call: DecodedCall,
                              deciding: bool = True) -> bool:
        """In a tree of one task: whether something that is no task may write what the call
        was decided on -- the kernel may write anywhere, an examined buffer lies in a shared
        page (/proc/PID/maps, read once after each change), or in a kernel's ring, mapped by
        a call that did not stop: a packet socket handed over with its ring made (SCM_RIGHTS
        from outside the tree, or from before the run) and mapped MAP_PRIVATE, whose frames
        the kernel fills at any time (ring36, net_pktring_race.c).  No stop tells when such a
        mapping appears, so the kernel is asked at each call (in_kernel_ring: PROCMAP_QUERY,
        a few microseconds a span).  Memory reached through pointers in memory (exec's argv
        and environment) is not followed: when any page is shared, or any ring is mapped,
        such a call is held.  So is every call while the monitor's own threads write files
        at times the tree chooses (``writes_beside``: a log, or a stderr that is a file, the
        tree may map MAP_PRIVATE -- a clean page of it shows each write; red team 54), and
        every call of a run whose tracer writes such a file while deciding it (``deciding``,
        ``writes_deciding``: a log's record of the call, before the kernel reads its
        arguments; red team 55) -- not asked for a call read again after its decision
        (_unheld_refusal: the read again sees what was written by then)."""
        space = task.space
        if space.written_anywhere or self.rings_mapped_anywhere \
                or self.monitor.writes_beside \
                or (deciding and self.monitor.writes_deciding):
            return True
        ranges: tuple[tuple[int, int], ...] | None = ()
        if space.shared_pages:
            ranges = self._outside_ranges(task)
            if ranges is None:
                return True
        spans = self._examined_spans(call)
        if spans is None:
            if ranges:
                return True
            rings = kernel_ring_mappings(task.tid)
            return rings is None or bool(rings)
        if ranges and (call.name not in _FLAT_ARGUMENTS
                       or any(overlaps(ranges, at, length) for at, length in spans)):
            return True  # (a msghdr's name and control: pointers in memory, not followed)
        return bool(spans) and self._in_kernel_ring(task, spans)

    @staticmethod
    def _examined_spans(call: DecodedCall) -> list[tuple[int, int]] | None:
        """Where what the call was decided on lies in the task's memory, each (address,
        length), or None where it is reached through pointers not followed here (an exec's
        argv and environment, a call of no flat arguments)."""
        if call.examined_argv is not None or call.examined_envp is not None:
            return None
        args = call.args
        if call.name in MANY_ADDRESS_CALLS and call.examined_messages:
            return call.message_spans()
        spans: list[tuple[int, int]] = []
        if call.msghdr_raw is not None:  # a sendmsg: its header, name and control data
            spans.append((args[1], len(call.msghdr_raw)))
            spans.extend(header_spans(call.msghdr_raw))
        elif call.name not in _FLAT_ARGUMENTS and call.name not in EXEC_CALLS:
            return None
        for p in call.examined_paths():
            if p.spec is not None:
                spans.append((args[p.spec.arg], len(p.raw.encode("utf-8", "surrogateescape")) + 1))
        empty = call.empty_path_arg
        if empty is not None:
            spans.append((args[empty], 1))  # (the "" that made it a descriptor call)
        if call.sockaddr_raw is not None and call.msghdr_raw is None \
                and call.name in SOCKADDR_ARGS:
            spans.append((args[SOCKADDR_ARGS[call.name][0]], len(call.sockaddr_raw)))
        if call.name == "openat2" and call.open_resolve is not None:
            spans.append((args[2], pt.OPEN_HOW_SIZE))  # (its flags decided its classes)
        for index, raw in (call.held_strings or {}).items():
            spans.append((args[index], len(raw)))
        if call.clone_args_raw is not None:
            spans.append((args[0], len(call.clone_args_raw)))
        return spans

    def _refuse_linked_redirect(self, task: Task, call: DecodedCall) -> None:
        """A redirected call whose target is reached through a symlink fails with ELOOP
        (enforce.linked_redirect)."""
        self.monitor.on_engine_refusal(task, call, errno.ELOOP, LINKED_REDIRECT)
        enforce.refuse(task.tid, errno.ELOOP)
        self._resume(task)

    def _must_freeze(self, task: Task, call: DecodedCall, reply: Reply) -> bool:
        """Whether the call runs with every other task stopped.

        What the kernel resolves again by itself cannot be copied: a path of a call that
        changes the file system (a directory on the way swapped for a symlink, or moved), the
        file an exec loads, the unix socket a connect reaches, the headers of a sendmmsg (the
        kernel writes into them).  Nor can the socket a call acts on: where an address goes
        depends on it (engine/destinations.py), and another task may bind it, change
        IPV6_V6ONLY or put another socket at its descriptor.  When such a call was decided on
        what it names and another task of the tree could change that meanwhile, the others
        are stopped until the call returns (docs/security.md).  So is a signal a
        ``target = "tree"`` rule permitted (DecodedCall.examined_targets): no task of the
        tree can then end, be reaped, exec (which frees a thread's tid) or change what a
        pidfd number holds before the signal is sent."""
        if not self.hold_arguments or self._solo():
            return False
        if call.examined_targets is not None:
            return True  # (a signal permitted for staying in the tree: _targets_stayed)
        if call.made_notes is not None and call.made_notes.kept is not None:
            return True  # (its descriptor may be taken back at its exit: _take_back)
        if call.name in _NOTED_AT_EXIT:
            # (what it made is noted at its exit by its result -- a detached mount by the
            # descriptor's mount, read through /proc: a thread that dup2()s a copy of the
            # secret over that number first had the copy noted as fsmount's new file system,
            # moved into place uncompared -- notes37, detached_race.c)
            return True
        if call.turns_async_on():
            return True  # (its descriptor may be another file when it runs: owner_stayed)
        if call.loop_request():
            return True  # (its descriptors may be other files when it runs: loop_stayed)
        if call.snapshot_examined():
            return True  # (its source's descriptor may be another when it runs: snapshot_stayed)
        if call.removal_examined():
            return True  # (what it removes is looked up by the kernel as it runs: close 31)
        if self._terminal_settings(call):
            return True  # (its descriptor may be the tracer's terminal when it runs)
        if call.examined_terminals and len(task.process.tids) > 1:
            # (a thread may give their process another controlling terminal -- TIOCNOTTY, then
            # TIOCSCTTY on a terminal it may only write: terminals_stayed.  Another process
            # can only take it away: /dev/tty is then ENXIO)
            return True
        if call.name not in enforce.FREEZE_CALLS:
            return False
        if call.name in MANY_ADDRESS_CALLS:
            return call.examined_messages
        if call.name in ADDRESS_CALLS and call.socket_dependent:
            return True
        if call.name in enforce.SOCKET_PATH_CALLS:
            try:
                addr = call.sockaddr if call.sockaddr_raw is not None else None
            except DecodeError:
                # (its address read, the rest of it not -- a sendmsg's control data at a bad
                # pointer, which the kernel answers EFAULT: LTP sendmsg01 killed the tree
                # here once review 15 made sendmsg stop under a path rule): frozen, to be safe
                return True
            return addr is not None and addr.family == "unix" and addr.path is not None \
                and addr.path != "" and not addr.path.startswith("@")
        return bool(call.examined_paths()) or reply.paths is not None

    def _freeze(self, caller: Task | None) -> tuple[int, str] | None:
        """Stop every other running task (PTRACE_INTERRUPT) and keep the stop each reports,
        to be handled when the caller's call returns (_thaw).  None when all stopped.
        Without a caller, every task: a hold of the whole tree (hold_tree), handled at its
        release.

        The stops already reported are reaped first: a task stopped (a call of its own at
        its seccomp stop, just after a thaw resumed it) but not reaped yet, interrupted,
        keeps the interrupt pending past that stop (a ptrace stop clears a pending one only
        as it begins), and it stops again as soon as it is resumed -- aborting the call it
        was resumed into, a clone3 (ERESTARTNOINTR).  At every thaw, the next freeze (another
        thread's mkdir) came before its stop was reaped: its clone3 never ran while the
        others' frozen calls took turns, for ever (LTP mkdir09; tests/progs/freeze_starve.c)."""
        pending: set[int] = set()

        def collect(pid: int, status: int) -> None:
            pending.discard(pid)
            self._past_lookup.pop(pid, None)
            task = self.tasks.get(pid)
            if task is not None and os.WIFSTOPPED(status):
                task.to(TaskEvent.REPORTED)
                self._frozen[pid] = status
                self._keep_birth(task, status)
            else:
                self._deferred.append((pid, status))  # an exit, an unannounced child...

        while (report := os.waitpid(-1, pt.WALL | os.WNOHANG))[0] > 0:
            collect(*report)
        for tid, other in list(self.tasks.items()):
            # (a vfork parent whose child is the caller runs again only once the call is
            # over: the child lets the memory go by exiting, or by an exec past its lookups)
            if other.stopped or (caller is not None and (
                    tid == caller.tid or other.vfork_child == caller.tid)):
                continue
            sleeps_in = self._past_lookup.get(tid)
            if sleeps_in is not None and procfs.wchan(tid) in sleeps_in:
                # (a frozen call's caller whose freeze ended as it slept past its last
                # lookup, and sleeps there still: it runs nothing of its own before its exit
                # stop, which is kept -- interrupted, its wait would end (ERESTARTSYS) and
                # two threads opening one FIFO would end each other's wait for ever)
                continue
            try:
                pt.interrupt(tid)
            except pt.PtraceError:
                continue  # gone: its exit will come
            other.interrupted = True  # (a wait it is in fails with EINTR: ours, _wait_exit)
            if not self._waits_for_vfork(tid):
                pending.add(tid)
        start = time.monotonic()
        while pending:
            pid, status = os.waitpid(-1, pt.WALL | os.WNOHANG)
            if pid == 0:
                waited = time.monotonic() - start
                if waited > FREEZE_TIMEOUT:
                    self._thaw()  # those that did stop go on; the others stop when they can
                    return errno.EAGAIN, f"could not stop {len(pending)} task(s) of the tree"
                # an interrupted task stops within microseconds: yield the CPU to it first,
                # sleep only if it takes longer (a task in an uninterruptible wait)
                if waited < 0.001:
                    os.sched_yield()
                else:
                    # a thread-group leader that exited while its threads live is reported
                    # only with its group's end: it runs nothing, and its stop never comes
                    pending = {tid for tid in pending
                               if procfs.alive(tid) and not self._waits_for_vfork(tid)}
                    time.sleep(0.0005)
                continue
            collect(pid, status)
        if caller is not None:
            caller.freezer = True
        self._freezing = True
        return None

    def _in_tree(self, tid: int) -> bool:
        """Whether ``tid`` (as the tracer's /proc numbers it) is a task of the traced tree
        now (what a ``target = "tree"`` rule asks of a signal's targets): one the tracer
        follows and has not let go (detached), and ptraced by this thread -- the number
        still the task's.  A traced task's number is held until its tracer reaps its end
        (the kernel keeps it a zombie for the tracer, whoever its parent is), so the number
        of a task whose end the tracer reaped but did not handle yet (a freeze keeps the
        ends it reaps: _deferred) tells no more: its TracerPid is another's, or it is gone.
        Or a child of the tree that ended and that its parent has not reaped yet
        (:meth:`_unreaped_child`)."""
        task = self.tasks.get(tid)
        if task is not None and self._traced_here(task):
            return True
        return self._unreaped_child(tid)

    def _traced_here(self, task: Task) -> bool:
        """Whether the task is still this tracer's: not let go, and its TracerPid this
        thread -- a number the tracer has reaped may be another process's already."""
        return not task.detached and procfs.tracer_of(task.tid) == _thread.get_native_id()

    def _unreaped_child(self, tid: int) -> bool:
        """Whether ``tid`` is a zombie whose parent is a task of the tree: a child of the
        tree that ended, its end taken by the tracer, not yet reaped by its parent (a make
        or a pool killing a child that has just exited; natively the signal is sent, to no
        effect).  Its number is its own until that parent reaps it, which the parent cannot
        do while the tree is frozen for the signal (or while it makes the call itself).
        A zombie whose process has other threads is none: /proc says Z for a thread-group
        leader that ended while its threads run on (pthread_exit in main), and kill(pid)
        reaches them -- a child made before ``--attach``, outside the tree, with the tree's
        parent (red team 18: tests/escape/sig_zleader.c)."""
        fields = procfs.read_stat(tid)
        if fields is None or fields[procfs.STATE] != b"Z" or fields[procfs.NUM_THREADS] != b"1":
            return False
        parent = self.tasks.get(int(fields[procfs.PPID]))
        return parent is not None and self._traced_here(parent)

    def _targets_stayed(self, task: Task, call: DecodedCall) -> bool:
        """With the others stopped: are the targets a tree-scoped permit was decided on the
        call's targets still, and tasks of the tree?  (Before the freeze stopped them, one
        may have ended -- its end reaped by the freeze itself -- or another thread may have
        put another pidfd at the descriptor's number; the owner an O_ASYNC gives is checked
        before, for every such call: DecodedCall.owner_stayed.)  From here on none can: the
        tree is stopped until the call returns."""
        targets = call.examined_targets
        return targets is not None and call.signal_targets() == targets \
            and all(map(self._in_tree, targets))

    def _waits_for_vfork(self, tid: int) -> bool:
        """Whether an interrupted task is a vfork parent that waits for its child: it cannot
        stop now -- but it runs again as soon as the child lets the memory go (exit_mm),
        before the tracer hears of the child's exit (a thread-group leader's, never while a
        thread of its lives): interrupted, it stops then, before its first instruction, and
        that stop is kept (_keep_frozen).  Asked after the interrupt, of where it sleeps
        (procfs.IN_CLONE): one the child let go already runs its own code (a call may be
        under way that the interrupt stops only at its end), and one just resumed from its
        vfork event is not asleep yet -- both are waited for, the second until it sleeps."""
        task = self.tasks.get(tid)
        return task is not None and task.vfork_child is not None \
            and procfs.wchan(tid) in procfs.IN_CLONE

    def _keep_frozen(self, pid: int, status: int) -> bool:
        """Whether a stop is kept, unhandled, until the freezing call has returned (_thaw
        handles it then): a stop of another task while the tree is frozen.  Handling it would
        resume the task -- and the freeze did not wait for it, as a task that could not run: a
        new task whose first stop came late, one in group-stop that a SIGCONT took out of it,
        a vfork parent that its child let run (these stop before their first instruction), or
        a stop kept by an earlier freeze that its thaw handles after another call froze the
        tree again.  Not an exec event: a thread's exec reports under its leader's tid, and
        ends the freeze of its call -- unless the tree is held (hold_tree): no call of the
        tree's runs then, and the exec's new image waits for the release as every task does."""
        if not os.WIFSTOPPED(status) or (status >> 16 == pt.PTRACE_EVENT_EXEC
                                         and not self._held):
            return False
        task = self.tasks.get(pid)
        if task is None or task.freezer:
            return False
        if task.state == TaskState.RUNNING:
            task.to(TaskEvent.REPORTED)
        self._frozen[pid] = status  # (ATTACHING, LISTENING: as they were, for _dispatch)
        self._keep_birth(task, status)
        return True

    def _keep_birth(self, task: Task, status: int) -> None:
        """A fork, vfork or clone event a freeze keeps (its task stays stopped until the
        thaw): its child is adopted now, while the task can still be asked which it is.  An
        exec that ends the freeze kills the other threads of its process (de_thread), and the
        word of the child went with the task -- the child kept stopped as one whose event
        never came, then killed, where natively it runs.  Its first stop, come or to come, is
        kept with the others; the thaw only resumes the task (_on_new_task)."""
        event = status >> 16
        if status >> 8 & 0xFF != signal.SIGTRAP or event not in _BIRTH_EVENTS \
                or task.tid in self._born_frozen:  # (kept again by a later freeze: adopted)
            return
        try:
            child_tid = self._adopt_birth(task, event)
        except pt.PtraceError:
            return  # (killed meanwhile: its end is reported, its child's kept stop too)
        self._born_frozen.add(task.tid)
        if not self._gone_early(child_tid) and child_tid in self._early:
            self._frozen[child_tid] = self._early.pop(child_tid)
        self._early_started.pop(child_tid, None)

    def _current_view(self, task: Task) -> View:
        """The task's view now: read again when a call that may change views ran since it
        was last read (_views_changed forgets every task's)."""
        if task.view is None:
            task.view = task.seen = self.decoder.resolver.view_of(task.tid, task.seen,
                                                                  task.joined)
        return task.view

    def _unchanged(self, task: Task, call: DecodedCall, *, ran: bool = True,
                   vectors_held: bool = False) -> bool:
        """With the others stopped: is everything the decision examined still what it was?
        (Between the check and the freeze another task may have changed it.)  Its view too:
        a thread of its process (they share one root) or a child sharing its fs context may
        have chrooted meanwhile, or a task of its namespace pivoted its root -- the paths are
        then read again in the view the task has now, and a view of another kind (the tracer's
        tree, or not; another namespace) is a change: the decision's names were the tracer's,
        and the spelling held for the kernel would be looked up in another tree (red team
        41: a decision replayed after the scratch area's mmap ran under a sibling's new
        root); so is the same name reached but spelled otherwise for the task (its root
        moved, its cwd kept: its own absolute spelling of the object changed).  ``ran``:
        whether the task itself may have run since what it examined was read (a replayed
        call: a signal handler may have run), or waited (a delay, an answer: the tracer went
        on meanwhile, and a peer may have changed something and gone -- its exit handled,
        the counts below are one again; review 22).  When neither, what only it and its peers
        can change is read again only when it has a peer -- as its personality, which only
        it changes, never is (Supervisor._entering_table): the flags of its descriptors 0-2
        when another task shares its descriptor table (a clone with CLONE_FILES, counted at
        the clone's event, which its maker meets before it goes on), its seccomp filters
        when its process has another thread (TSYNC).  So an exec into another table reads
        each of those files once, at its check, in a tree of single-threaded processes.
        ``vectors_held``: the exec runs on copies of the argv and environment it was decided
        on (Holder._exec: the very tuples examined, in the slot, its registers pointing
        there), so what the task's own memory holds now is not what the kernel reads: they
        are not read again (two reads of some 30 us each an exec, perf18) -- its path is, as
        the kernel looks that up again."""
        process = task.process
        view = self._current_view(task)
        if view is not call.view and (view.host, view.namespace) != (call.view.host,
                                                                      call.view.namespace):
            return False
        fresh = self.decoder.decode(task.tid, process.pid, call.nr, call.name, call.args,
                                    self._reader(task), view)
        try:
            for before in call.examined_paths():
                now = fresh.decoded_path(before.role)
                if (now is None or now.raw != before.raw
                        or now.resolved.path != before.resolved.path
                        or now.resolved.spelling != before.resolved.spelling
                        or now.resolved.identity != before.resolved.identity):
                    # (the spelling: what the kernel is handed -- a task that does not see
                    # the tracer's tree gets its own, which another root reads elsewhere;
                    # the identity: two removed files share one /proc text, ``NAME
                    # (deleted)``, and a fresh rule covers only the run's own -- review 33)
                    return False
            if call.asked_addresses and (
                    [str(a) for a in fresh.sockaddrs] != [str(a) for a in call.sockaddrs]
                    or fresh.sockaddr_raw != call.sockaddr_raw):
                return False  # (the socket is read again too)
            if call.examined_messages:
                # (a read that fails as it did at the check -- control data at a bad pointer,
                # the kernel's EFAULT -- leaves the same raw bytes: unchanged)
                with contextlib.suppress(DecodeError):
                    fresh.control_messages()
                if (fresh.msghdr_raw, fresh.control_raw, fresh.messages_raw) != \
                        (call.msghdr_raw, call.control_raw, call.messages_raw):
                    return False
                if call.name in MANY_ADDRESS_CALLS and self.hold_arguments \
                        and self._in_kernel_ring(task, fresh.message_spans()):
                    return False  # (a thread mapped a ring there since: decided again)
            if call.held_strings and fresh.held() != call.held_strings:
                return False
            if not call.loop_stayed():
                return False  # (a loop attach's descriptors: a handler's dup2 in between)
            if not call.snapshot_stayed():
                return False  # (a snapshot's source's descriptor: a dup2 in between)
            if not call.terminals_stayed():
                return False  # (/dev/tty: a thread's TIOCNOTTY and TIOCSCTTY in between)
            if call.examined_std_fds is not None and (ran or task.files.users > 1) and \
                    procfs.standard_fds_closing(task.tid) != call.examined_std_fds:
                return False  # (a task sharing its descriptors closed one meanwhile)
            if call.examined_filters is not None and (ran or len(task.process.tids) > 1) and \
                    procfs.status_numbers(task.tid, b"Seccomp_filters") != call.examined_filters:
                return False  # (a thread put a filter on it meanwhile: TSYNC)
            if call.examined_cwd is not None and procfs.cwd_text(task.tid) != call.examined_cwd:
                return False  # (a thread or a CLONE_FS child changed directory meanwhile)
            if vectors_held:
                return True
            argv, envp = call.examined_argv, call.examined_envp
            return (argv is None or fresh.argv == argv) and (envp is None or fresh.envp == envp)
        except DecodeError:
            return False

    def _killed_in_its_stop(self, task: Task) -> bool:
        """Whether ``task`` left the stop it was decided at: only SIGKILL takes a task out of a
        ptrace stop the tracer has not ended, so its registers are no longer there to read
        (ESRCH).  A hold that failed then (its memory already gone: a short write of 0 bytes)
        refused nothing the program could see -- it is ending, the call never runs -- and is
        no engine refusal to log or count (parity73: a child killed during its start)."""
        try:
            pt.getregs(task.tid)
        except pt.PtraceError as exc:
            return exc.errno == errno.ESRCH
        return False

    def _still_traced(self, task: Task) -> bool:
        """Whether ``task`` is still the tree's task at its tid: not gone, and not replaced by
        another that has its tid now (a thread that exec'd takes its leader's: _on_exec; a
        tid is reused once its task is gone) -- what waited for it (an answer, a delay's end,
        the scratch area) is for it alone."""
        return self.tasks.get(task.tid) is task

    def _scratch_settled(self, space: AddressSpace) -> None:
        """The area is mapped (or cannot be): the calls that waited for it go on."""
        space.mapping_by = None
        waiting, space.waiting = space.waiting, []
        for task, call, reply in waiting:
            if self._still_traced(task):
                try:
                    self._apply(task, call, reply)  # its stop's info is fetched again
                except pt.PtraceError as exc:
                    if exc.errno != errno.ESRCH:
                        raise

    def _thaw_after(self, task: Task) -> None:
        """Thaw once this exit stop is handled: the caller is resumed first, then the others."""
        self._thaw_pending = True

    def _local_file(self, call: DecodedCall) -> bool:
        """Whether the one path of a call of _WAITS_PAST_LOOKUP names a file that exists (a
        lease may be on it, or a FIFO) on a file system of _LOCAL_FS, in the tracer's view
        (the tree is frozen: it is the file the kernel finds)."""
        paths = call.examined_paths()
        if len(paths) != 1 or not call.view.host:
            return False
        resolved = paths[0].resolved
        if not resolved.exists or resolved.pseudo or not resolved.path.startswith("/"):
            return False
        try:
            fd = os.open(resolved.path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError:
            return True  # cannot tell (the tracer out of descriptors: red team 32): frozen
        try:
            return pt.fs_type(fd) in _LOCAL_FS
        except OSError:
            return True
        finally:
            os.close(fd)

    def _slept_past_lookup(self) -> bool:
        """Whether the caller of the freeze sleeps where its call has looked its path up for
        the last time (its /proc/TID/wchan among _WAITS_PAST_LOOKUP's for the call): then the
        freeze, which kept others from changing what it resolves, ends -- so the task that
        ends the wait, one of the tree (a lease's holder taking its SIGIO, a FIFO's other
        end), runs as natively instead of the call waiting out lease-break-time (LTP fcntl33)
        or for ever (a FIFO).  The caller goes on to its exit stop.  A later freeze
        interrupts that wait: the kernel restarts the call (ERESTARTSYS), which stops at its
        entry again and is decided anew."""
        caller = self._waiter
        if caller is None:
            return False
        if not caller.freezer or caller.tid not in self.tasks:
            self._waiter = None
            return False
        if procfs.wchan(caller.tid) not in self._waits_in:
            return False
        caller.freezer = False  # (its exit stop comes still: it was resumed to it)
        self._past_lookup[caller.tid] = self._waits_in
        self._thaw()
        return True

    def _thaw(self) -> None:
        """The freezing call has returned: every task stopped for it is handled as it came.

        A stop handled here may freeze the tree again (another thread's mkdir): the stops
        after it are then kept once more (_keep_frozen) -- ahead of the stops that new freeze
        collected, so that at its thaw the stops kept longest are handled first.  Behind
        them, a thread whose stop came last was kept again at every thaw while the others'
        frozen calls took turns, for ever (LTP mkdir09; tests/progs/freeze_starve.c)."""
        # (a stop handled here may change any task -- also when the thaw comes inside the
        # _dispatch of a signal call, which would keep its wait's arms again: counted as one)
        self._arms_kept = None
        self._dispatches += 1
        self._waiter = None
        self._freezing = False
        frozen, self._frozen = self._frozen, {}
        deferred, self._deferred = self._deferred, []
        for task in self.tasks.values():
            task.freezer = False
        # The ends a freeze reaped (deferred) come first, and one may be the end of a task
        # whose stop it kept: killed while frozen (another process's SIGKILL, an exec's
        # de_thread), after its stop was reaped.  That stop is over: handled after the end, it
        # was taken for a child's first stop ahead of its parent's event (_early) -- of a task
        # dead, whose end had been seen -- killed as an orphan, never cleared, and the native
        # loop stayed off for the rest of the run (red team 51's fuzzer, early31).  So the
        # stops still to handle are where _task_ended drops a task's own, as from _frozen.
        thawing = dict(frozen)
        self._thawing.append(thawing)
        kept_again: list[int] = []  # (those after the stop that froze the tree again)
        try:
            for pid, status in deferred:
                if self._freezing:
                    kept_again.append(pid)
                self._dispatch(pid, status)
            for pid in frozen:
                if pid not in thawing:
                    continue  # (its task ended meanwhile: the stop is over)
                status = thawing.pop(pid)
                if self._freezing:
                    kept_again.append(pid)
                self._dispatch(pid, status)
        finally:
            self._thawing.pop()
        if kept_again:
            older = {pid: self._frozen[pid] for pid in kept_again if pid in self._frozen}
            self._frozen = {**older, **self._frozen}

    def _solo(self) -> bool:
        """Whether the traced tree is one task (no child announced or on its way): then no
        task can change the cwd, a descriptor or the file system between a check and a use
        (processes outside the tree are out of scope: docs/security.md)."""
        return len(self.tasks) == 1 and not self._early


    def _hold(self, task: Task, call: DecodedCall, reply: Reply,
              info: pt.SyscallInfo | None, on_fuse: bool = False) -> bool:
        """Point the call at copies of what was checked.  True when a path had to keep the
        call's own spelling, which the kernel resolves again: the call must then run with the
        tree frozen (see enforce.canonical_spelling).  ``on_fuse``: its path lies on a file
        system a process answers (_on_answered_fs), whose server answers the frozen re-check
        as the check -- an open kept in its own spelling then follows no symlink either, or
        is refused where a rule decides by name (fuse47)."""
        slot = task.space.slots.slot_of(task.tid)
        if slot is None:
            raise enforce.HoldError(errno.EAGAIN, "no scratch slot free")
        if info is None or info.op not in (pt.SYSCALL_INFO_SECCOMP, pt.SYSCALL_INFO_ENTRY):
            info = pt.get_syscall_info(task.tid, pt.SyscallInfo())  # an answer came later
        own_call = self._under_own_filter(task)
        notes = call.made_notes
        anew = notes is not None and notes.anew and self._may_make_anew(task, info)
        if notes is not None:
            notes.anew = anew
        if anew:
            own_call = False  # (made anew, unjudged: _create_anew)
        shares_memory = self._makes_memory_sharer(call)
        try:
            resolver = self.decoder.resolver
            holder = enforce.Holder(self._reader(task), slot, info,
                                    keep_start=task.fs.users == 1 and task.files.users == 1,
                                    reaches=lambda start: resolver.reaches(task.tid, start),
                                    own_call=own_call,
                                    returns=not (own_call or shares_memory
                                                 or call.name in EXEC_CALLS),
                                    answered=on_fuse,
                                    answered_refuses=on_fuse and self.monitor.decides_by_name(
                                        task, call.name))
            own = tuple(info.args)  # (apply points info's arguments at the copies)
            holder.apply(task.tid, call, reply, commit=not anew)
            if anew:
                args = list(own)
                for index, value in holder.args.items():
                    args[index] = value & _U64
                task.anew = (holder.nr if holder.nr is not None else info.nr, tuple(args))
                return holder.respelled
            if shares_memory and holder.args:
                holder.memory.write(holder.base + scratch.RECORD,
                                    scratch.record(holder.own[0], own, holder.own[2]))
        except TraceeMemoryError as exc:
            raise enforce.HoldError(errno.EFAULT, f"cannot hold arguments: {exc}") from exc
        if holder.args and (own_call or call.name in EXEC_CALLS):
            # the call returns to the program with its own registers, as natively, put back
            # at its exit stop (_put_own_back): a failed exec (a vfork child may exec again
            # with them), and any call under a filter of the program's own -- no trampoline
            # for it (the kernel runs that filter again after the tracer's change, on
            # seccomp_data.instruction_pointer too, which must stay the program's)
            task.own_args = {index: own[index] for index in holder.args}
            task.own_nr = holder.nr if holder.nr is not None else info.nr
        return holder.respelled

    @staticmethod
    def _put_own_back(task: Task, regs: pt.user_regs_struct | None = None) -> bool:
        """A held call's argument registers (own_args) as the program made them, at a stop
        of that call: its exit stop -- the kernel has used the copies; an interrupted call
        the kernel restarts (rax from orig_rax, the instruction again) is then the program's
        own, which meets the filters again and is decided anew --, its entry when it is
        refused after all, a signal-delivery stop on its way out, a detach.  Only at a stop
        whose orig_rax is the call's (own_nr): at another call's the registers are that
        call's.  ``regs``: the stop's, read already (set here too).  True when put back."""
        own, task.own_args = task.own_args, None
        nr, task.own_nr = task.own_nr, None
        if not own:
            return False
        if regs is None:
            regs = pt.getregs(task.tid)
        if nr is not None and regs.orig_rax != nr & _U64:
            return False
        for index, value in own.items():
            setattr(regs, ARG_REGS[index], value & _U64)
        pt.setregs(task.tid, regs)
        return True

    @staticmethod
    def _makes_memory_sharer(call: DecodedCall) -> bool:
        """Whether the call makes a task that shares the caller's memory (a thread, a vfork
        child): that child starts at the caller's rip, with its registers -- no return
        trampoline for it (the caller's slot may be written again before the child runs it),
        but the record of the caller's own registers, for both (_own_birth)."""
        if call.name == "clone3":
            return call.clone_args is None or bool(call.clone_args.flags & CLONE_VM)
        return call.name in ("clone", "vfork") and (call.name == "vfork"
                                                    or bool(call.args[0] & CLONE_VM))

    def _own_back(self, task: Task, regs: pt.user_regs_struct, entry: bool = False) -> bool:
        """Where a task stopped on its way through a held call's return trampoline (its rip
        in it: scratch.returning) -- a signal's delivery, a detach, an interrupt --, its
        registers made those the trampoline gives (scratch.put_back): a handler sees the
        program's own frame, and a call its handler holds cannot write over a trampoline
        still to run.  ``entry``: the stop is the entry of a call the kernel restarted from
        the trampoline's ``syscall`` (the held call, with the copies): skipped, and the
        program's own call made again from its own instruction, decided anew.  True when
        the registers were put back."""
        slot = scratch.returning(regs.rip)
        if slot is None:
            return False
        self._area_checked(task)
        if not task.process.space.scratch:
            return False  # (no area of the tracer's: a record there is the program's own)
        try:
            data = task.process.memory.of_task(task.tid).read_exact(slot + scratch.RECORD,
                                                                    scratch.RECORD_LEN)
        except TraceeMemoryError:
            return False  # (its area gone: the program unmapped it -- refused -- or died)
        scratch.put_back(regs, data, slot, entry)
        pt.setregs(task.tid, regs)
        return True

    def _own_birth(self, parent: Task, child: Task | None) -> None:
        """At the clone event of a held call that made a task sharing the memory: the
        caller's own argument registers (the record _hold left) put back in the caller and
        given to the child at its first stop (Task.birth_regs), instead of the pointer to
        the copy of clone3's struct both were left with (review 21)."""
        try:
            regs = pt.getregs(parent.tid)
        except pt.PtraceError as exc:
            if exc.errno != errno.ESRCH:
                raise
            return  # (the caller died at its event -- a thread's exit_group: its end comes)
        at = regs.rdi - scratch.CLONE_ARGS
        if regs.orig_rax != NUMBERS["clone3"]:
            return
        try:
            scratch.slot_at(at)
        except ValueError:
            return  # (not held: its own struct)
        try:
            data = parent.process.memory.of_task(parent.tid).read_exact(
                at + scratch.RECORD, scratch.RECORD_LEN)
        except TraceeMemoryError:
            return
        nr, args, rip = scratch.own_call(data)
        if nr != regs.orig_rax or rip != regs.rip:
            return
        try:
            pt.poke_reg(parent.tid, "rdi", args[0])
        except pt.PtraceError as exc:
            if exc.errno != errno.ESRCH:
                raise
        if child is not None:
            child.birth_rdi = args[0]

    def _premap_scratch(self, task: Task) -> None:
        """Map the scratch area in a freshly exec'd process whose former image needed it (it
        will likely need it again), or in the run's own command when its table lets it make a
        child (_on_exec), at its exec event, in one stop (_inject_call) -- instead
        of turning its first held call into an mmap (which costs that call two more stops).
        At the exec event the task is still inside execve, whose result (0) the kernel
        writes into rax on the way out.  Not in a task that ignores SIGTRAP (_ignores_trap;
        the lazy way maps it then, with no trap).  Its blocked signals are those of the same
        read (SigBlk: the thread's mask at this stop), which _inject_call then need not ask
        for (as _cloop.c's premap).  In a task under a seccomp filter of the program's own
        (filters survive exec), which would judge the mmap, only with its filters suspended
        (_suspend_filters), or not at all (the lazy way decides then: _map_scratch).

        With the native loop's extension, where the task neither blocks SIGTRAP nor is under
        a filter of its own, it is mapped with no stop at all, by the extension's stub
        (_stub_premap) -- the trap is the pure-Python loop's, and the way left where the
        stub cannot run."""
        masks = signals.signal_masks(task.tid)
        if masks is None or masks["SigIgn"] & _TRAP_BIT:
            return
        own = self._under_own_filter(task)
        if not own and not masks["SigBlk"] & _TRAP_BIT and self._stub_premap(task):
            return
        if own and not self._suspend_filters(task.tid):
            return
        at_trap: list[pt.user_regs_struct] = []
        try:
            mapped = self._inject_call(
                task, NUMBERS["mmap"], enforce.MMAP_ARGS, "scratch map", returned=0,
                blocked=masks["SigBlk"], at_trap=at_trap,
                code=enforce.MAP_SEAL_TRAP_CODE if self.seals else None)
        except _Diverted:
            return  # (killed: its end comes to the loop)
        finally:
            if own:
                self._restore_filters(task.tid)
        if mapped == scratch.BASE:  # (map_seal_code: rdx the seal's result, 0: sealed)
            self._area_made(task.process.space, at_trap[0].rdx == 0)
        # (None: the lazy way will do it)

    def _stub_premap(self, task: Task) -> bool:
        """_premap_scratch by the stub the native loop maps the area with at the exec events
        it serves (_cloop.c stub_write; docs/security.md, "The exec-time stub"): written into
        the task's vDSO, it makes the scratch mmap (and its seal: seals), puts back every
        register the exec left and jumps to the entry, with no stop; only a failed mmap
        stops, at its int3 (_stub_stop: the task sent to its entry without the area, mapped
        lazily then).  The
        area is taken as there until then -- the program runs no instruction before the stub
        ends.  False where there is no stub (no extension, a vDSO it does not know: a 32-bit
        program's): the trap's way.  Not for a task that blocks SIGTRAP (the int3's forced
        SIGTRAP would unblock it for good; the trap's way unblocks it for the call only) nor
        one under a filter of its own (it would judge the mmap, which no stop lets the
        tracer suspend it for)."""
        if self._fast is None:
            return False
        try:
            memory = self._reader(task).descriptor()
            found = self._fast.stub(task.tid, memory)
        except (TraceeMemoryError, OSError):
            return False
        if found is None:
            return False
        task.stub = found
        # (sealed where the run seals: a seal that failed goes to the stub's trap, _stub_stop)
        self._area_made(task.process.space, True)
        return True

    def _inject_call(self, task: Task, number: int, args: Sequence[int], kind: str,
                     returned: int | None = None,
                     others: collections.deque[tuple[int, int]] | None = None,
                     blocked: int | None = None, code: bytes | None = None,
                     at_trap: list[pt.user_regs_struct] | None = None) -> int | None:
        """Run one system call in a stopped task and put it back as it was: its result, or
        None when the call could not be run (its code unwritable, the task dead, the code
        faulting).  ``mov eax, N; syscall; int3`` (enforce.trap_code) is written at the
        instruction pointer through /proc/PID/mem, the arguments set in their registers, the
        task let go to the trap (_run_to_trap, its stops counted as ``kind``), then the code
        and every register put back.

        The call runs with every signal blocked (PTRACE_SETSIGMASK) but SIGTRAP and those
        the kernel forces for what the code does (_FORCED_BITS: left as the task blocks
        them), its own mask put back at the trap, before it runs its own code: a signal sent
        meanwhile stays queued in the kernel, with its siginfo (sender, si_code, value), as
        often as it was queued (RT signals) and for the thread it was sent to, and is
        delivered once the task goes on, as natively -- none reaches the task (its handler
        would run on the call's registers) nor is taken by the tracer and sent again.  Only
        one that cannot be blocked -- SIGSTOP, or one of SIGTRAP and the forced signals sent
        to the task meanwhile -- comes to a delivery stop: it is kept back and sent again
        (kill) once the task is as it was.  SIGTRAP is unblocked for the call even when the
        task blocks it; the caller makes sure it does not ignore it (_ignores_trap): the
        int3's SIGTRAP is forced, which would reset an ignored or blocked SIGTRAP to SIG_DFL,
        and unblock it, for good.  (The signal a signal-delivery-stop holds is not one that
        comes meanwhile: it stays the stop's, below.)
        _Diverted when the task ran code of its own in its place (killed).

        ``code``: written in place of ``trap_code(number)`` (enforce.MAP_SEAL_TRAP_CODE: the
        mmap and its seal, which may stop on its way too), ``at_trap`` given the registers at
        the trap.  ``others``: see _run_to_trap.  ``blocked``: the task's signal mask when the
        caller read it at this stop (/proc/TID/status SigBlk), else it is asked
        (PTRACE_GETSIGMASK).
        ``returned``: the stop is an event inside a call (an
        exec's: the result 0), whose result the kernel writes into rax on the way out, as it
        does when the task goes on: the registers put back have it.  Else (None) the stop is
        one in get_signal (an attach's interrupt, a signal's delivery): the injected
        registers have no call (orig_rax -1), so a restart the kernel owes an interrupted
        call (rax -ERESTART*) is not applied to them; the task comes back from the trap to a
        signal-delivery-stop in get_signal again, where its own registers -- restored whole,
        the restart still owed -- are restarted by the kernel when it goes on, exactly as at
        the first stop (arch_do_signal_or_restart runs after get_signal, on the registers
        then).

        The code is written into the address space, which every thread of the process shares:
        the others are all stopped whenever this runs (an exec event, an attach)."""
        if code is None:
            code = enforce.trap_code(number)
        pending: list[int] = []
        try:
            mask = pt.getsigmask(task.tid) if blocked is None else blocked
            saved = pt.getregs(task.tid)
            # (the signal a delivery-stop holds is handed on from the trap's stop: with its
            # own siginfo -- its sender --, not one the kernel makes up for a changed signal;
            # an event stop inside a call holds none)
            info = pt.siginfo(task.tid) if returned is None else None
            memory = self._reader(task)
            try:
                original = memory.read_exact(saved.rip, len(code))
                memory.write(saved.rip, code)
            except TraceeMemoryError:
                return None
            try:
                pt.setsigmask(task.tid, (~_FORCED_BITS | mask & _FORCED_BITS) & ~_TRAP_BIT)
                enforce.set_call_registers(task.tid, saved, number, args,
                                           in_call=returned is not None)
                regs = self._run_to_trap(task, number, saved.rip + len(code), pending, kind,
                                         others)
                if regs is not None and at_trap is not None:
                    at_trap.append(regs)
                return None if regs is None else ctypes.c_int64(regs.rax).value
            finally:
                if returned is not None:
                    saved.rax = returned
                with contextlib.suppress(pt.PtraceError):
                    pt.setsigmask(task.tid, mask)
                with contextlib.suppress(TraceeMemoryError, pt.PtraceError):
                    memory.write(saved.rip, original)
                    pt.setregs(task.tid, saved)
                    if info is not None:
                        pt.set_siginfo(task.tid, info)
        finally:
            for sig in pending:
                with contextlib.suppress(ProcessLookupError):
                    _signal_task(task.tid, sig)

    def _run_to_trap(self, task: Task, number: int, trap: int, pending: list[int], kind: str,
                     others: collections.deque[tuple[int, int]] | None
                     ) -> pt.user_regs_struct | None:
        """Let the task run to the int3 before ``trap`` (the written code's end, which makes
        call ``number``); a signal that comes to a delivery stop meanwhile (one the call's
        mask cannot block: _inject_call) is kept in ``pending``.  Its registers there, or
        None when it did not get there (it died: its status is handled later; or the written
        code faults -- an entry point in a page that is not executable -- which its own code
        will do again once put back: the fault is not kept, and retrying it would loop for
        ever).

        Fail closed: a stop that shows the task running code of its own instead (another
        call, a trap the kernel raised elsewhere, a fork or an exec -- an rseq abort sends it
        to a handler of its own) kills its process, rather than let it go on unchecked or
        wait for a trap that never comes: _Diverted.

        ``others``: when every other traced task is stopped for the call (an attach), where
        their reports go, in order, for the loop: they are waited for too -- a process
        killed while the call runs reports its leader's end only once its other threads'
        ends are reaped.  Else (None) only the task is waited for, and its end is kept in
        _deferred."""
        sig = 0
        while True:
            pt.cont(task.tid, sig)
            while True:
                tid, status = os.waitpid(task.tid if others is None else -1, pt.WALL)
                if tid == task.tid:
                    break
                assert others is not None
                others.append((tid, status))
            self.stop_kinds[kind] += 1
            if not os.WIFSTOPPED(status):
                (self._deferred if others is None else others).append((task.tid, status))
                return None
            sig, event = os.WSTOPSIG(status), status >> 16
            if event == pt.PTRACE_EVENT_SECCOMP or sig == _SYSCALL_TRAP:
                if pt.getregs(task.tid).orig_rax not in (number, _MSEAL):
                    self._kill_diverted(task)  # (_MSEAL: the premap's seal, map_seal_code)
                sig = 0
                continue  # the injected call stopping on its way (a policy that traces mmap)
            if event == 0 and sig == signal.SIGTRAP:
                regs = pt.getregs(task.tid)
                if regs.rip == trap:
                    return regs
                if pt.signal_code(task.tid) > 0:  # (raised by the kernel: not our trap)
                    self._kill_diverted(task)
            if event == 0 and sig in _FAULTS and pt.signal_code(task.tid) > 0:
                return None
            if event not in (0, pt.PTRACE_EVENT_STOP, pt.PTRACE_EVENT_EXIT):
                self._kill_diverted(task)
            if event == 0 and sig not in pending:
                pending.append(sig)  # a signal came first: delivered when the task goes on
            sig = 0

    @staticmethod
    def _kill_diverted(task: Task) -> NoReturn:
        """Kill the process of a task that ran code of its own in an injected call's place
        (_run_to_trap): its end comes to the loop."""
        with contextlib.suppress(ProcessLookupError):
            _signal_task(task.tid, signal.SIGKILL)  # (the whole process: SIGKILL)
        raise _Diverted(task.tid)

    def _area_made(self, space: AddressSpace, sealed: bool) -> bool:
        """An area the tracer just mapped at BASE in ``space``, ``sealed`` or not: whether it may
        hold a call -- the one place that says so, for every way it is mapped (the stub, the
        premap's trap, both loops' exec events, the lazy map, the one made with the program's
        filters suspended).  In a run that seals (``seals``) only a sealed area does: one whose
        seal failed is taken as an area that could not be mapped (``scratch_failed``: every
        held call of the address space refused, EPERM) -- never used unsealed, where the
        io_uring doors close 24 shut would be open for the program again (review 54: a program
        made the lazy map's seal fail; close 25: every path).  (A later lazy mmap would fail on
        the area itself, EEXIST: the same.)  Elsewhere ``sealed`` says nothing."""
        if self.seals and not sealed:
            space.scratch = False
            space.scratch_failed = True
            return False
        space.scratch = True
        return True

    def _area_checked(self, task: Task) -> None:
        """The scratch area a fork's child was taken to have (``AddressSpace.inherited``),
        checked in its /proc/PID/maps (_area_mapped) before the tracer first relies on it:
        before a held copy is written there (_hold), before the native loop is given one of
        its slots (_arm), before a filter of the program's own is let in over it
        (_area_before_filter), before a trampoline's record there is believed (_own_back).

        The kernel copies every mapping at a fork but one marked VM_DONTCOPY
        (``MADV_DONTFORK``: red team 76's process_madvise), and the child may then map its own
        writable memory at the area's address with a hint mmap, which makes no stop: the
        copies would go where its threads rewrite them after the check.  The guards close each
        door found; this check closes the class, whatever the door.  Not there (or maps that
        cannot be read): the space has no area, as a fresh process's, and gets one -- or a
        refusal, where the program took the address -- the lazy way (_map_scratch).  Once per
        space, and only where it is used: a child that execs at once (a shell's command) holds
        its exec's path, so one maps read a fork (close 23).  In a run that seals, the copy must
        be sealed too (_area_sealed, up to the area's lines of smaps): a fork by another
        thread between the lazy map's mmap and its seal, which makes no stop, copied it
        unsealed, and the copy held calls where an io_uring could drop its pages (review 57)
        -- such a copy holds none (_area_made)."""
        space = task.process.space
        if not space.inherited:
            return
        space.inherited = False
        if space.scratch and not _area_mapped(task.tid, unread=False):
            space.scratch = False
        elif space.scratch and self.seals and not _area_sealed(task.tid, unread=False):
            # a copy made between the lazy map's mmap and its seal, by a fork of another
            # thread that makes no stop: the seal reached the parent only (review 57)
            self._area_made(space, False)

    def _map_scratch(self, task: Task, call: DecodedCall, reply: Reply) -> bool:
        """Map the scratch area by running an mmap in place of the call, then restart it (the
        call's decision replayed at its new stop).  False when the area cannot be mapped that
        way: the task is under a seccomp filter of the program's own, which the kernel runs
        again on the mmap the call is turned into (the recheck after SECCOMP_RET_TRACE), and
        which a sandbox's filter may kill (red team 13, own_filter_held.c) -- then the mmap
        is made apart, with its filters suspended (_map_scratch_suspended), or, where the
        tracer may not suspend them, the address space gets no area (``unheld``).  Where an
        mmap of the area failed before (``scratch_failed``: the program took its address
        first, with a hint mmap no guard stops), the call is refused: its copies would go
        into the program's own memory there, which any of its threads may rewrite after the
        check (tests/progs/scratch_taken.c)."""
        space = task.process.space
        if space.scratch_failed:
            self.monitor.on_engine_refusal(task, call, errno.EPERM, "scratch area unavailable")
            enforce.refuse(task.tid, errno.EPERM)
            self._resume(task)
            return True
        if self._under_own_filter(task):
            try:
                made = self._map_scratch_suspended(task)
            except _Diverted:
                return True  # (killed, or gone: its end comes to the loop)
            if made is None or not made[0]:
                space.unheld = True  # (an mmap that failed even so: the same, not a refusal)
            else:
                # (a seal that failed: scratch_failed, the restarted call refused at its new
                # stop, as every later held call -- close 25)
                self._area_made(space, made[1])
            if made is None:
                return False
            task.replay = (call, reply)  # (the call restarts: its new stop replays this)
            task.waited = True
            self._resume(task)
            return True
        task.saved_regs = enforce.inject_mmap(task.tid)
        task.expect = Expect.INJECTED_MMAP
        task.pending_call = call
        task.replay = (call, reply)
        task.waited = True  # the tree may change while it maps: the replay holds anyway
        space.mapping_by = task.tid
        self._resume(task)
        return True

    def _suspend_for_skip(self, task: Task) -> None:
        """Without a prefilter (--attach) every call stops at its entry, and the kernel runs
        the task's filters on the call as the tracer leaves it there (__secure_computing
        after the entry stop): a refused call's number -1 too, which a sandbox's allowlist
        kills (SIGSYS where the refusal is an errno).  So a task under a filter of the
        program's own resumed from its entry stop with its call skipped has its filters
        suspended (_suspend_filters) until its next stop -- the skipped call's exit stop
        (PTRACE_SYSCALL), which comes before any signal is delivered or any code of its own
        runs -- where _dispatch puts them back (_restore_filters).  Without the privilege to
        suspend them the kernel's filter answers, as before.  A call the program made as number
        -1 itself (``own_skip``) is judged by its filters, as natively (red team 15)."""
        if task.own_skip:
            task.own_skip = False
            return
        info = pt.get_syscall_info(task.tid, pt.SyscallInfo())
        if info.op == pt.SYSCALL_INFO_ENTRY and info.nr & _U64 == _U64 \
                and self._under_own_filter(task) and self._suspend_filters(task.tid):
            task.filters_suspended = True

    def _filter_may_answer(self, task: Task, held: bool) -> bool:
        """Whether a call's result at its exit may be a filter of the program's own answering
        in the kernel's place, the call never run: SECCOMP_RET_ERRNO with errno 0 returns 0
        (SECCOMP_RET_USER_NOTIF: any value the program's supervisor sends) with nothing done.
        Then no success is taken as proof that the call ran: what it would have made is not
        noted (review 35: a mknod skipped so noted its name as made, and an outsider's file
        there was the run's to a fresh rule).  So for a task under a filter of its own
        (_under_own_filter) when the filter saw another call than the program made: without
        the prefilter (--attach) every call, its entry stop coming before the kernel runs the
        task's filters; with it, a ``held`` call -- the kernel runs every filter again on a
        call let go from its SECCOMP_RET_TRACE stop (the recheck), and a held call's
        arguments point at the tracer's copies then.  A call the prefilter stopped and the
        tracer left as it was meets the filters as at their first run, which answered TRACE
        (a filter's errno or notification outranks it: such a call never stops)."""
        return (not self.filtered or held) and self.own_filters and self._under_own_filter(task)

    def _under_own_filter(self, task: Task) -> bool:
        """Whether the task runs under a seccomp filter of the program's own -- one the kernel
        runs again on a call the tracer changes at its stop, and on one it injects: it has
        more filters than the prefilter and what the spawned root inherited
        (/proc/TID/status Seccomp_filters; filters are only ever added, and a task's list
        extends its parent's).  Asked only in a run where a task installed one (own_filters);
        True when the count cannot be read (fail closed: the mmap is made apart).  A filter is
        a task's: read once a task (a thread it makes later reads its own), true for every
        task of a process one of whose tasks installed one during the run (_own_filter).
        Read once a process, from the first of its tasks asked, it answered for every thread:
        under --attach, a thread whose filter was installed before the attach, without TSYNC,
        was taken for its unfiltered main thread, and the mknod its filter skipped (errno 0)
        was noted as made (notes37, fresh_failed.c ``thread``)."""
        if not self.own_filters:
            return False
        if task.process.own_filter:
            return True
        if task.own_filter is None:  # (only its own install adds, noted on its process)
            task.own_filter = self.own_filter_in(
                procfs.status_numbers(task.tid, b"Seccomp_filters"))
        return task.own_filter

    def own_filter_in(self, count: list[int] | None) -> bool:
        """Whether a task with ``count`` (its /proc/TID/status Seccomp_filters, None when
        unreadable) runs under a filter of the program's own: in a run where a task installed
        one (own_filters), more filters than the foreign ones -- or a count not known (fail
        closed).  (_under_own_filter; an exec into another table, Supervisor._entering_table.)"""
        return self.own_filters and (not count or self._foreign_filters is None
                                     or count[0] > self._foreign_filters)

    def _suspend_filters(self, tid: int) -> bool:
        """Suspend the stopped task's seccomp filters (PTRACE_O_SUSPEND_SECCOMP) for a call
        the tracer runs in it; False when the kernel refuses: the tracer lacks CAP_SYS_ADMIN
        (of the initial user namespace), or runs under a filter itself (kernel/ptrace.c,
        check_ptrace_options) -- not asked again.  The suspension holds where a call enters
        the kernel (__secure_computing); the recheck after a SECCOMP_RET_TRACE stop ignores
        it, so the call must be one the task makes anew, never the stopped call changed.
        The caller blocks every signal meanwhile (a handler run now would run under no
        filter, the prefilter included) and puts the filters back (_restore_filters) before
        the task runs code of its own."""
        if self._no_suspend:
            return False
        try:
            pt.setoptions(tid, pt.TRACE_OPTIONS | pt.PTRACE_O_SUSPEND_SECCOMP)
        except pt.PtraceError as exc:
            if exc.errno in (errno.EPERM, errno.EINVAL):
                self._no_suspend = True
            return False
        return True

    @staticmethod
    def _restore_filters(tid: int) -> None:
        """Put back the filters _suspend_filters suspended; a live task whose filters cannot
        be put back is killed (never run on without them)."""
        try:
            pt.setoptions(tid, pt.TRACE_OPTIONS)
        except pt.PtraceError:
            if procfs.alive(tid):
                with contextlib.suppress(ProcessLookupError):
                    _signal_task(tid, signal.SIGKILL)

    def _seal_in_slot(self, task: Task) -> bool:
        """Seal the area the task's call was just turned into the mmap of (_map_scratch, at that
        mmap's exit stop): whether it is sealed.  The seal is made from a ``syscall`` written in
        the task's own slot (at RESTART, where its held calls' trampolines go -- the task is in
        no held call now), which no task of the program can write, so no other thread can turn
        it into a call of its own, as it could the program's own instruction (red team 36);
        its entry stop must be exactly the seal still (_run_to_exit).  Every signal but the
        forced ones blocked meanwhile, as _inject_call does; one that comes to a delivery stop
        is sent again after.  The task's registers are the caller's to put back (it restarts
        its own call).  _Diverted when the task was killed or ended meanwhile."""
        slot = task.space.slots.slot_of(task.tid)
        if slot is None:
            return False
        tid = task.tid
        at = scratch.slot_address(slot) + scratch.RESTART
        try:
            self._reader(task).write(at, enforce.SYSCALL_INSTRUCTION)
            mask = pt.getsigmask(tid)
            regs = pt.getregs(tid)
        except (pt.PtraceError, TraceeMemoryError):
            return False
        try:
            with self._signals_held(tid, mask) as pending:
                result = self._call_to_exit(task, regs, _MSEAL, enforce.MSEAL_ARGS, at, pending)
        except pt.PtraceError as exc:
            raise _Diverted(tid) from exc  # (gone meanwhile)
        if result is None:
            raise _Diverted(tid)
        return result == 0

    @contextlib.contextmanager
    def _signals_held(self, tid: int, mask: int) -> Iterator[list[int]]:
        """While a call of the tracer's runs in the stopped task ``tid`` from a ``syscall``
        instruction to its exit (_call_to_exit: _seal_in_slot, _map_scratch_suspended): every
        signal blocked but the forced ones (left as the task's ``mask`` blocks them), as
        _inject_call blocks them -- a signal sent meanwhile stays queued, and is delivered once
        the task goes on --, the task's own ``mask`` put back after; one that comes to a
        delivery stop regardless is kept in the list given and sent again after.
        (_inject_call itself cannot make these calls: its int3's SIGTRAP, forced, would reset
        a SIGTRAP the task ignores -- the tasks the lazy map is for -- and it writes its code
        at the task's own instruction, which other threads may run meanwhile.)"""
        pending: list[int] = []
        try:
            pt.setsigmask(tid, ~_FORCED_BITS | mask & _FORCED_BITS)
            yield pending
        finally:
            if procfs.alive(tid):
                with contextlib.suppress(pt.PtraceError):
                    pt.setsigmask(tid, mask)
            for sig in pending:
                with contextlib.suppress(ProcessLookupError):
                    _signal_task(tid, sig)

    def _call_to_exit(self, task: Task, regs: pt.user_regs_struct, number: int,
                      args: Sequence[int], at: int, pending: list[int],
                      kind: str = "scratch map") -> int | None:
        """Have the stopped task make call ``number`` with ``args`` from the ``syscall`` at
        ``at`` -- ``regs`` (its registers) changed for it, orig_rax -1: no call of the stop's
        own is restarted -- and run it to its exit (_run_to_exit, which kills a task that
        makes anything else; ``kind``: its stop's name there): its result, None when the task
        ended.  Inside _signals_held (_seal_in_slot, _map_scratch_suspended, _take_back)."""
        for name, value in zip(ARG_REGS, args, strict=True):
            setattr(regs, name, value)
        regs.orig_rax, regs.rax, regs.rip = _U64, number, at
        pt.setregs(task.tid, regs)
        return self._run_to_exit(task, regs, pending, kind)

    def _map_scratch_suspended(self, task: Task) -> tuple[bool, bool] | None:
        """Map the scratch area in a task under a filter of the program's own, stopped at a call's
        entry, with its filters suspended: whether it is mapped and whether it is sealed (where
        the run seals: the seal made the same way, from the same instruction, the filters still
        suspended -- close 24), None when that cannot be done (the tracer may not suspend
        filters, or the call was not made by a ``syscall`` instruction); _Diverted when the
        task was killed or ended meanwhile.

        The stopped call is skipped (number -1, which no filter judges: the kernel skips it
        before the recheck); the task goes back to its own ``syscall`` instruction with the mmap
        in its registers, makes it -- a new call, which the suspension keeps from every filter
        --, and its exit stop (PTRACE_SYSCALL) ends it; then its registers are put back before
        that instruction, so the call it made runs again and stops again (its decision replayed:
        _on_entry).  No code is written: the instruction is the task's, which other threads of
        its process may be running.  Every signal but the forced ones is blocked meanwhile
        (PTRACE_SETSIGMASK), as _inject_call does, and one that comes to a delivery stop
        regardless is sent again afterwards.  A task that runs code of its own instead (an rseq
        abort, or the instruction rewritten by another thread after it was read here) is
        killed at its first stop that is not exactly the mmap (_run_to_exit)."""
        tid = task.tid
        number = NUMBERS["mmap"]
        try:
            saved = pt.getregs(tid)
            if self._reader(task).read_exact(saved.rip - 2, 2) != enforce.SYSCALL_INSTRUCTION:
                return None
            mask = pt.getsigmask(tid)
        except (pt.PtraceError, TraceeMemoryError):
            return None
        if not self._suspend_filters(tid):
            return None
        result: int | None = None
        sealed: int | None = None
        at = saved.rip - len(enforce.SYSCALL_INSTRUCTION)
        try:
            with self._signals_held(tid, mask) as pending:
                try:
                    regs = type(saved).from_buffer_copy(saved)
                    result = self._call_to_exit(task, regs, number, enforce.MMAP_ARGS, at,
                                                pending)
                    if result == scratch.BASE and self.seals:
                        sealed = self._call_to_exit(task, regs, _MSEAL, enforce.MSEAL_ARGS,
                                                    at, pending)
                        if sealed is None:
                            result = None
                finally:
                    if procfs.alive(tid):
                        saved.rip = at
                        saved.rax = saved.orig_rax
                        with contextlib.suppress(pt.PtraceError):
                            pt.setregs(tid, saved)
                        self._restore_filters(tid)
        except pt.PtraceError as exc:
            raise _Diverted(tid) from exc  # (gone meanwhile)
        if result is None:
            raise _Diverted(tid)
        return result == scratch.BASE, sealed == 0

    def _run_to_exit(self, task: Task, call: pt.user_regs_struct,
                     pending: list[int], kind: str = "scratch map") -> int | None:
        """Let the task run to the exit of the call the registers ``call`` make at their
        instruction pointer, which it makes anew (_map_scratch_suspended), through syscall
        stops (PTRACE_SYSCALL): its result, or None when the task ended (its end kept in
        _deferred).  A signal that comes to a delivery stop is kept in ``pending``; any sign
        of code of its own (another call, an event, a fault) kills its process (_Diverted).

        The instruction there is the program's, which another of its threads may rewrite
        after the caller read it -- into ``int $0x80``, whose i386 call of the same number
        (9: link) would run with every filter suspended, or into a jump to code making a
        call of its own (red team 36, suspended_insn.c).  So the entry stop, which comes
        before the call runs, must be exactly the call asked for: the 64-bit ABI, its number
        and arguments, made by the two bytes at the instruction pointer -- else the process is
        killed there, and the call never runs (a fatal signal at an entry stop skips it)."""
        entered = False
        sig = 0
        asked = (call.rax, *(getattr(call, name) for name in ARG_REGS))
        after = call.rip + len(enforce.SYSCALL_INSTRUCTION)  # (where its entry stop shows it)
        while True:
            pt.syscall(task.tid, sig)
            _, status = os.waitpid(task.tid, pt.WALL)
            self.stop_kinds[kind] += 1
            if not os.WIFSTOPPED(status):
                self._deferred.append((task.tid, status))
                return None
            sig, event = os.WSTOPSIG(status), status >> 16
            if sig == _SYSCALL_TRAP and event == 0:
                info = pt.get_syscall_info(task.tid, pt.SyscallInfo())
                if info.op == pt.SYSCALL_INFO_ENTRY and not entered \
                        and info.arch == AUDIT_ARCH_X86_64 \
                        and info.instruction_pointer == after \
                        and (info.nr, *info.args) == asked:
                    entered = True
                elif info.op == pt.SYSCALL_INFO_EXIT and entered:
                    return info.rval
                elif info.op != pt.SYSCALL_INFO_EXIT:  # (the skipped call's exit: on)
                    self._kill_diverted(task)
                sig = 0
                continue
            if event == pt.PTRACE_EVENT_SECCOMP and entered:
                sig = 0  # (the call asked for, checked at its entry, where a rule stops it:
                continue  # the seal, _seal_in_slot -- let go, never decided)
            if event not in (0, pt.PTRACE_EVENT_STOP, pt.PTRACE_EVENT_EXIT) or (
                    event == 0 and sig in _FAULTS and pt.signal_code(task.tid) > 0):
                self._kill_diverted(task)
            if event == 0 and sig not in pending:
                pending.append(sig)  # a signal came first: delivered when the task goes on
            sig = 0

    def _unheld_refusal(self, task: Task, call: DecodedCall,
                        reply: Reply) -> tuple[int, str] | None:
        """A call to be held in an address space without the scratch area (``unheld``: a
        task under a filter of the program's own, whose filters the tracer may not suspend):
        it runs as the program made it, with the tree frozen and what it was decided on read
        again (_unchanged, _unchanged_in_memory) -- which holds against the tree's tasks
        only.  Refused (EPERM, as a call whose area could not be mapped) where that is not
        enough: a redirect or a replaced address (written in the area), or arguments
        something that is no task of the tree may write (_reached_from_outside: a shared
        page, the kernel's asynchronous I/O)."""
        if reply.paths is not None or reply.sockaddr is not None:
            return errno.EPERM, ("a redirect needs the scratch area, which a task under a "
                                 "seccomp filter of its own cannot get here")
        if self._reached_from_outside(task, call, deciding=False):
            return errno.EPERM, ("arguments in memory written from outside the tree, and no "
                                 "scratch area to hold them (a seccomp filter of its own)")
        return None

    def _unchanged_in_memory(self, task: Task, call: DecodedCall) -> bool:
        """With the tree frozen, for a call run unheld (_unheld_refusal): what _unchanged does
        not read again but a hold would have copied -- a socket address, clone3's struct,
        openat2's open_how, the "" of a descriptor call -- is still what was decided on."""
        fresh = self.decoder.decode(task.tid, task.process.pid, call.nr, call.name,
                                    call.args, self._reader(task), call.view)
        memory = self._reader(task)
        try:
            if call.sockaddr_raw is not None:
                # (reads it; a sendmsg's control data at a bad pointer fails after its address
                # was read -- as it did at the check: the kernel answers that EFAULT before any
                # lookup, and the frozen tree cannot map it meanwhile)
                with contextlib.suppress(DecodeError):
                    fresh.sockaddrs  # noqa: B018
                if fresh.sockaddr_raw != call.sockaddr_raw:
                    return False
            if call.clone_args_raw is not None and memory.read_exact(
                    call.args[0], len(call.clone_args_raw)) != call.clone_args_raw:
                return False
            if call.open_resolve is not None and (
                    fresh.open_flags, fresh.open_mode, fresh.open_resolve) != (
                    call.open_flags, call.open_mode, call.open_resolve):
                return False
            return fresh.empty_path_arg == call.empty_path_arg
        except (DecodeError, TraceeMemoryError):
            return False

    # --- syscall-exit stops --------------------------------------------------------------------
    def _on_syscall_stop(self, task: Task) -> None:
        info = pt.get_syscall_info(task.tid, self._info)
        if info.op == pt.SYSCALL_INFO_ENTRY:
            # only without a filter: every call is seen at entry
            if info.arch != AUDIT_ARCH_X86_64:
                enforce.refuse(task.tid, errno.ENOSYS)
                self._resume(task)
            else:
                self._on_entry(task, info)
            return
        if info.op == pt.SYSCALL_INFO_SECCOMP:
            self._on_seccomp(task)
            return
        held = bool(task.own_args)  # (its arguments were the tracer's copies: review 35)
        if task.own_args is not None:
            # a held call that returns to the program (an exec: failed, or only checked --
            # AT_EXECVE_CHECK returns 0 with the caller's image; a replaced image's exec
            # event forgot them): its own registers, as natively
            self._put_own_back(task)
        expect, task.expect = task.expect, Expect.NOTHING
        if task.after is not None and expect != Expect.INJECTED_MMAP:
            self._noted(task, info.rval, held)
        if task.made_notes is not None:  # (before the thaw: no other task's note between)
            notes = task.made_notes
            if expect != Expect.INJECTED_MMAP and notes.swapped(info.rval):
                self._settle_made(task)
                try:
                    self._take_back(task, info.rval, notes.again)
                except _Diverted:
                    if task.freezer:  # (the others go on: its end comes to the loop)
                        task.freezer = False
                        self._thaw_after(task)
                    return
                expect = Expect.NOTHING
            elif notes.ran_exclusive and info.rval == -errno.EEXIST \
                    and expect != Expect.INJECTED_MMAP:
                self._restart_exclusive(task, notes.again)
                expect = Expect.NOTHING
            self._settle_made(task, expect != Expect.INJECTED_MMAP and info.rval >= 0
                              and not self._filter_may_answer(task, held)
                              and (notes.proven() or not self.hold_arguments), info.rval)
        if task.freezer:
            task.freezer = False
            self._thaw_after(task)
        if expect == Expect.INJECTED_MMAP:
            saved, task.saved_regs = task.saved_regs, None
            space = task.process.space
            unsealed = False
            if info.rval == scratch.BASE:
                sealed = False
                if self.seals:
                    try:
                        sealed = self._seal_in_slot(task)
                    except _Diverted:
                        task.pending_call = None
                        self._scratch_settled(space)
                        return  # (killed, or gone: its end comes to the loop)
                # a run that seals holds no call in an area left unsealed: another thread made
                # the seal fail (review 54: the area's mmap merged with a mapping of the
                # program's just above it, and the last VMA taken before the seal could split
                # it: ENOMEM) -- refused as an area not mapped
                unsealed = not self._area_made(space, sealed)
            if info.rval == scratch.BASE and not unsealed:
                enforce.restart_call(task.tid, saved)
            else:
                space.scratch_failed = True
                task.replay = None
                err = -info.rval if info.rval < 0 else errno.EPERM
                what = "sealed" if unsealed else f"mapped ({err})"
                self.monitor.on_engine_refusal(task, task.pending_call, errno.EPERM,
                                               f"scratch area could not be {what}")
                enforce.fail_call(task.tid, saved, errno.EPERM)
            task.pending_call = None
            self._resume(task)
            self._scratch_settled(space)
            return
        elif expect == Expect.EXIT_HANDLER:
            call, task.pending_call = task.pending_call, None
            self.monitor.on_syscall_exit(task, call, info.rval)
        elif expect == Expect.WAIT_EXIT:
            self._wait_exit(task)
        if task.exit_delay:  # an injected delay_exit: the call has run, it returns later
            seconds, task.exit_delay = task.exit_delay, 0.0
            self._later(task, seconds, "exit", lambda: self._resume(task))
            return
        self._resume(task)

    # --- answers from another thread ---------------------------------------------------------
    def answer(self, task: Task, reply: Reply | Callable[[], Reply]) -> None:
        """Resume a parked task with this reply.  Safe to call from any thread: a callable is
        called on the tracer's thread (so a monitor's state is only touched there).  The
        reply is for ``task`` alone, never for another task that has its tid by the time it
        comes (a thread that exec'd takes its leader's: _on_exec; a tid is reused once its
        task is gone), which may be parked on a call nobody answered."""
        self._post((task, reply))

    def _clear_wake_pipe(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 4096):
                pass

    def _tree_frozen(self) -> bool:
        """Whether the tree is stopped for a call (a freeze, or a task whose call runs with
        every other task stopped) or held for a prompt (hold_tree): nothing may resume a task
        then."""
        return bool(self._held or self._frozen) or self._call_frozen()

    def _call_frozen(self) -> bool:
        """Whether a call runs with every other task stopped (its freeze ends at its exit)."""
        return self._thaw_pending or any(t.freezer for t in self.tasks.values())

    def hold_tree(self) -> TreeHold:
        """Stop the whole tree, as for a frozen call, until release_tree (from any thread:
        taken on the tracer's; wait for ``done``).  A terminal prompt shares the screen with
        the tree: while any task may run, one can draw another question over the one asked
        (docs/security.md, gap #26).  The tracer serves the tree's ends meanwhile; the stops
        it keeps are handled at the release, as a freeze's at its thaw -- an interrupted
        wait goes on as natively (_restart_interrupted); an answer that comes is applied
        then; a delay that ends waits for it."""
        hold = TreeHold()
        self._post(hold)
        self._wake_sleeping_loop()
        return hold

    def release_tree(self, hold: TreeHold) -> None:
        """Give back a hold_tree, whether taken or not (one still on its way is taken and
        given back at once: the front end stopped waiting for it)."""
        self._post(TreeHold(release=hold))
        self._wake_sleeping_loop()

    def _wake_sleeping_loop(self) -> None:
        """Wake a loop asleep in waitpid (the Python loop's or the native one's) for a hold
        posted from another thread: a child of the tracer's that ends at once -- its end is
        an event that wait reports (``_dispatch`` drops it), and the loop then drains the
        queue.  A lookup is asked from the resolver's thread while the native loop serves the
        tree's calls without waking Python: without this the tree ran on under the prompt
        until its next stop Python sees (gap #26).  No signal: one could land anywhere in the
        loop's Python code.  (A fork, ~1-2 ms, once per prompt.)"""
        if not self._sleeping or self._wake_w < 0:  # (awake, or the run is over)
            return
        try:
            hold_r, hold_w = os.pipe()
        except OSError:
            return  # (no descriptor: as no child, below)
        try:
            pid = os.fork()
        except OSError:
            os.close(hold_r)
            os.close(hold_w)
            # (the loop wakes at the tree's next event, as before; a hold not taken within
            # HOLD_WAIT refuses the ask: the question is never drawn over a running tree)
            return
        if pid == 0:  # the waker: ends once the tracer has noted it (not before: unknown)
            try:
                os.close(hold_w)
                os.read(hold_r, 1)
            finally:
                os._exit(0)
        os.close(hold_r)
        self._wakers.add(pid)
        os.close(hold_w)

    def _post(self, item: tuple[Task, Reply | Callable[[], Reply]] | TreeHold) -> None:
        self._answers.put(item)
        wake = self._wake_w  # (close may run meanwhile: on the front end's thread at its end)
        if wake < 0:
            return  # closed: the run is over (an ask the front end refuses at its end)
        with contextlib.suppress(OSError):
            os.write(wake, b"!")

    def _drain_answers(self) -> bool:
        """Take what the front ends sent, in the order it came: holds and releases of the
        tree at once (a hold once no call runs frozen), answers once the tree may run."""
        handled = False
        self._arms_kept = None  # (what it takes may change any task)
        while True:
            # (one at a time: an answer's call may freeze the tree, and the next must wait)
            while self._kept_answers and not self._tree_frozen():
                handled = self._answered(*self._kept_answers.pop(0)) or handled
            item: tuple[Task, Reply | Callable[[], Reply]] | TreeHold
            if self._waiting_hold is not None:
                item = self._waiting_hold
            else:
                try:
                    item = self._answers.get_nowait()
                except _queue.Empty:
                    return handled
            if isinstance(item, TreeHold):
                if item.release is None and self._call_frozen():
                    self._waiting_hold = item  # taken once that call has returned
                    return handled
                self._waiting_hold = None
                self._take_hold(item)
                handled = True
            else:
                self._kept_answers.append(item)

    def _take_hold(self, hold: TreeHold) -> None:
        """Take a hold (stop every task not stopped yet) or give one back (the last one: the
        tree goes on, _thaw)."""
        released = hold.release
        if released is None:
            hold.taken = self._held > 0 or self._freeze(None) is None
            self._held += hold.taken
            hold.done.set()
            return
        if released.taken:  # (a hold comes before its release: it was taken, or failed)
            released.taken = False
            self._held -= 1
            if not self._held:
                self._thaw()

    def _answered(self, task: Task, reply: Reply | Callable[[], Reply]) -> bool:
        """Apply an answer to the parked task it is for; whether it still was."""
        if not self._still_traced(task) or not task.parked:
            return False  # (gone, or settled: an earlier answer, its process's end...)
        task.to(TaskEvent.ANSWERED)
        self._parked -= 1
        call, task.pending_call = task.pending_call, None
        try:
            self._apply(task, call, reply if isinstance(reply, Reply) else reply())
        except pt.PtraceError as exc:
            if exc.errno != errno.ESRCH:
                raise
        return True

    def parked_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.parked]

    # --- new tasks ----------------------------------------------------------------------------
    def _on_new_task(self, parent: Task, event: int) -> None:
        """A fork, vfork, clone or clone3 made a task.  What it shares with its parent --
        memory, cwd and root, descriptor table -- is asked of the kernel (tracee.shared_with),
        whatever call made it and whatever flags it passed; whether it is a thread too."""
        if parent.tid in self._born_frozen:  # (its child adopted when a freeze kept this)
            self._born_frozen.discard(parent.tid)
            self._resume(parent)
            return
        child_tid = self._adopt_birth(parent, event)
        self._own_birth(parent, self.tasks.get(child_tid))
        if not self._gone_early(child_tid) and child_tid in self._early:
            self._dispatch(child_tid, self._early.pop(child_tid))
        self._early_started.pop(child_tid, None)
        self._resume(parent)

    def _adopt_birth(self, parent: Task, event: int) -> int:
        """The child a fork, vfork or clone event of ``parent`` names, adopted (_adopt)."""
        child_tid = self._event_message(parent.tid)
        if child_tid <= 0:  # (a message some other stop left: never adopt tid 0 -- fail closed)
            raise TracerError(f"the {_EVENTS[event][1]} of task {parent.tid} names no child")
        self._adopt(parent, child_tid, event, shared_with(parent.tid, child_tid),
                    in_thread_group(parent.process.pid, child_tid), self._clone_flags(parent))
        return child_tid

    def _event_message(self, tid: int) -> int:
        """The message of the event stop task ``tid`` is in (PTRACE_GETEVENTMSG).  At a first
        stop an attach kept, the probe (_uring_context_refusal) ran a call in the task, whose
        syscall and trap stops set the message again (ptrace_stop does at every stop since
        Linux 5.19: the trap's signal stop leaves 0): the one read before it.  (Read so, a
        clone event named child 0: the child was never let go -- the attached process hung
        -- and a kill of the tree sent SIGKILL to pid 0, the tracer's own process group.)"""
        probed = self._probed_messages.pop(tid, None)
        return pt.geteventmsg(tid) if probed is None else probed

    def _gone_early(self, child_tid: int) -> bool:
        """Whether the child just adopted died before its parent's event was seen (killed
        before its first stop: its exit came first, _gone); then it is forgotten.  Both loops
        (the native loop's births too: _fast_notes).

        Not when the end was another task's: a child kept for an event that never came (its
        parent died at the event stop), killed, its tid then given to this child (a wrap-around,
        or clone3's set_tid) -- told by the start time of the task that ended, when its first
        stop was kept.  This child was otherwise forgotten at its birth, and kept stopped for
        ever as a child nobody announced."""
        if child_tid not in self._early_exits:
            return False
        ended = self._early_exits.pop(child_tid)
        now = _start_of(child_tid)
        if ended is not None and now is not None and now != ended:
            return False  # (another task ended on this tid: this child lives)
        self._forget_task(child_tid)
        return True

    def _adopt(self, parent: Task, child_tid: int, event: int,
               shares: tuple[bool, bool, bool], thread: bool, flags: int,
               started: bool = False) -> Task:
        """The new task, told to the monitor: a thread of the parent's process, or a new
        process (``event``: PTRACE_EVENT_FORK, _VFORK or _CLONE) sharing with its parent
        what ``shares`` says (memory, fs context, descriptor table); ``flags``: its clone
        flags, as far as the view goes (_inherit_view).  ``started``: its first stop was
        seen and it runs (the native loop's births, _fast_notes)."""
        shares_vm, shares_fs, shares_files = shares
        fs = parent.fs if shares_fs else Shared()
        files = parent.files if shares_files else Shared()
        if fs is parent.fs:
            fs.users += 1
        if files is parent.files:
            files.users += 1
        state = TaskState.RUNNING if started else TaskState.ATTACHING
        if thread:  # (a thread always shares memory)
            process = parent.process
            child = Task(child_tid, process, fs=fs, files=files, detached=parent.detached,
                         state=state, no_new_privs=parent.no_new_privs)
            self._inherit_view(parent, child, flags)
            process.space.users += 1
            process.tids.add(child_tid)
            self.tasks[child_tid] = child
            self.monitor.on_new_thread(parent, child)
            return child
        how = {pt.PTRACE_EVENT_FORK: "fork", pt.PTRACE_EVENT_VFORK: "vfork"}.get(event, "clone")
        if event == pt.PTRACE_EVENT_VFORK:
            parent.vfork_child = child_tid
        parent_space = parent.process.space
        if shares_vm:
            space = parent_space
            space.users += 1
        else:  # a copy: the scratch mapping comes along -- as far as a check says, at its
            # first use (_area_checked) --, and so do shared pages
            space = AddressSpace(scratch=parent_space.scratch, unheld=parent_space.unheld,
                                 inherited=parent_space.scratch,  # (sealed: VM_SEALED)
                                 written_anywhere=parent_space.written_anywhere,
                                 written_with_content=parent_space.written_with_content,
                                 shared_pages=parent_space.shared_pages,
                                 shared_ranges=parent_space.shared_ranges,
                                 keyed=parent_space.keyed,
                                 droppable=parent_space.droppable)
        process = Process(child_tid, parent.process.pid, parent.process.program, space,
                          TraceeMemory(child_tid))
        process.tids.add(child_tid)
        self.processes[child_tid] = process
        child = Task(child_tid, process, fs=fs, files=files, detached=parent.detached,
                     state=state, no_new_privs=parent.no_new_privs)
        self._inherit_view(parent, child, flags)
        self.tasks[child_tid] = child
        self.monitor.on_new_process(parent.process, process, how)
        return child

    def _fast_notes(self) -> bool:
        """What the native loop did that Python catches up on (cloop.FastLoop.notes), in
        the order it happened, before any other stop is handled.

        The children it saw made: a fork or vfork of an armed task, the parent resumed, the
        child too when its first stop came -- made known here, as _on_new_task would.  A fork
        or vfork call shares what the kernel makes it share (no descriptor table or fs
        context; vfork's child the memory), so nothing is asked of the kernel; a clone or
        clone3 the loop took is a vfork by another name (posix_spawn's: CLONE_VM |
        CLONE_VFORK alone, the sharing checked by kcmp in the loop), told as one.  The child
        of a vfork of an alone task gets the slot its parent was armed with (the loop held
        the child's calls there).

        The execs it let go at their entry: what was checked, as _note_exec notes it (the
        exec event checks it); and where it served the event too -- what ran was what was
        checked, the scratch area mapped as _premap_scratch does, the task let go -- the
        rest of _on_exec (_exec_done).

        The ends of those children (a shell's commands), which it took from waitpid while it
        followed the whole tree (it began as one task, alone): _gone, as _dispatch calls it;
        when the last ended, the loop armed the task alone again, as _fast_arms would, with
        the spare slot it had given its child -- that task takes it back here.

        The first stops it kept of children whose parent's event had not come (the loop lets
        such a child go when it notes its birth): one no birth took is dispatched as the
        waitpid report it was -- filed in _early, for the parent's event.

        Whether there was anything to catch up on."""
        assert self._fast is not None
        notes = self._fast.notes()
        for kind, note in notes:
            if kind == "early":
                self._dispatch(*note)  # type: ignore[arg-type]
                continue
            if kind == "stub":  # (its first stop the program made, served there)
                stubbed = self.tasks.get(note[0])
                if stubbed is not None:
                    stubbed.stub = None
                continue
            if kind == "end":
                tid, status, rearmed, spare = note  # type: ignore[misc]
                self.stops += 1
                self.fast_stops += 1
                self.stop_kinds["exit"] += 1
                self._gone(tid, status)
                if rearmed and spare:
                    self.tasks[rearmed].space.slots.claim(-rearmed, scratch.slot_at(spare))
                continue
            if kind == "birth":
                parent_tid, child_tid, nr, started = note  # type: ignore[misc]
                parent = self.tasks[parent_tid]
                vfork = nr != cloop.NR_FORK  # (vfork, or a clone that is one)
                self.stops += 1 + started
                self.fast_stops += 1 + started
                self.stop_kinds["new task"] += 1
                self.stop_kinds["first stop"] += started
                self._adopt(parent, child_tid,
                            pt.PTRACE_EVENT_VFORK if vfork else pt.PTRACE_EVENT_FORK,
                            (vfork, False, False), False, 0, bool(started))
                if vfork:
                    parent.space.slots.hand_over(-parent_tid, child_tid)
                self._gone_early(child_tid)
                continue
            tid, dev, ino, program, served, mapped, maps, failed, stub = note  # type: ignore[misc]
            task = self.tasks[tid]
            task.process.exec_check = (dev, ino, program, None)  # (no interpreter checked)
            self._exec_argv.pop(task.process.pid, None)  # (an earlier exec's: not this one's)
            if failed:  # (its exit stop, which _freeze's PTRACE_SYSCALL makes in Python)
                self.stops += 1
                self.fast_stops += 1
                self.stop_kinds["call exit"] += 1
            if not served:
                continue
            self.stops += 1
            self.fast_stops += 1
            self.stop_kinds["exec"] += 1
            self.stop_kinds["scratch map"] += maps
            task.process.exec_check = None
            self._release_vfork_parent(tid)
            self.decoder.resolver.forget_credentials(tid)  # (the loop served no thread's exec)
            # (not keyed: the loop serves an exec event only where /proc/PID/maps shows no
            # execute-only mapping, _cloop.c exec_only_mapped -- and every call that may key
            # a mapping since stops at its entry and is Python's, seccomp.KEYS: the maps
            # read again here would say the same)
            self._exec_done(task, program, task.process.program, None, keyed=False)
            if mapped and self._area_made(task.space, mapped == cloop.SEALED):
                task.space.slots.slot_of(tid)  # (slot 0 of the new area: the loop's)
            task.stub = stub  # (not armed until its next stop: _stub_stop)
        return bool(notes)

    def _inherit_view(self, parent: Task, child: Task, flags: int) -> None:
        """A child sees what its parent sees -- unless it got a mount namespace of its own
        (``flags``: the call's, _clone_flags), which it reads at its first call (a copy of
        its parent's).  It has its parent's credentials too, unless it got a user namespace
        of its own."""
        child.seen, child.joined = parent.seen, parent.joined
        child.view = None if flags & CLONE_NEWNS else parent.view
        if not flags & CLONE_NEWUSER:
            self.decoder.resolver.inherit_credentials(parent.tid, child.tid)
        self.decoder.resolver.inherit_domain(parent.tid, child.tid)

    @staticmethod
    def _clone_flags(parent: Task) -> int:
        """The flags of the call that made the parent's new child: clone's register, the
        clone3 struct its stop checked (the one the kernel got; unknown, as when its task was
        let go unchecked: every flag), none for fork and vfork.  (The event does not tell the
        call: clone3 and clone report a fork, a vfork or a clone event by their flags.)  A
        parent gone meanwhile (SIGKILL) counts as having asked for every flag: the child
        then reads its own view, which is never wrong, only slower."""
        try:
            regs = pt.getregs(parent.tid)
        except pt.PtraceError:
            return _U64
        if regs.orig_rax == _NR_CLONE:
            return regs.rdi
        if regs.orig_rax == _NR_CLONE3:
            return parent.clone3_flags if parent.clone3_flags is not None else _U64
        return 0

    def _on_stop_event(self, task: Task, sig: int, listened: bool) -> None:
        """A PTRACE_EVENT_STOP.  ``listened``: the task was in group-stop (PTRACE_LISTEN)
        before it, so this stop is the group-stop's end, not an interrupt of ours."""
        if task.state == TaskState.ATTACHING:
            task.to(TaskEvent.STARTED)  # the attach stop of an auto-attached child
            if task.birth_rdi is not None:  # (its parent's own, not the held copy's: _own_birth)
                pt.poke_reg(task.tid, "rdi", task.birth_rdi)
                task.birth_rdi = None
            self._resume(task)
            return
        if sig in _STOP_SIGNALS:
            task.to(TaskEvent.LISTENED)
            pt.listen(task.tid)  # group-stop: stay stopped, let the real parent see it
            if task.tid == self.main_pid and not listened:
                self._stop_with_command(task, sig)
            return
        if sig == signal.SIGTRAP and not listened:
            self._restart_interrupted(task)  # our PTRACE_INTERRUPT, not a group-stop's end
        self._resume(task)

    def _stop_with_command(self, task: Task, sig: int) -> None:
        """The command's own process stopped (a group-stop by ``sig``).  When it stopped
        itself -- ``kill -TSTP $$``, bash's ``suspend``, a SIGSTOP to its own pid -- its real parent
        (systrace in process, the resident client) stops with the same signal, as sudo does:
        the user's shell sees the job stopped and takes the terminal back, as it would see the
        command stop natively.  Once continued (``fg``: the job's process group, systrace and
        the command alike; or systrace alone), the command is continued too if nothing else
        did it.  A stop that a SIGCONT already ended (Ctrl-Z stopped the whole job, systrace
        with it, and ``fg`` continued it before this stop was read) is not acted on."""
        if not self._self_stop or _sigcont_pending(task.tid):
            return
        self._self_stop = False
        parent = self._command_parent
        if (not self.stop_with_command or parent is None  # (attached: not its parent's job)
                or task.process.ppid != parent):
            return
        if parent != os.getpid():  # (a resident worker: the client is the program's parent)
            with contextlib.suppress(OSError):
                os.kill(parent, sig)
            _thread.start_new_thread(_continue_after, (parent, task.tid))
            return
        # (this thread's own signal: it stops the whole process before kill returns -- one
        # sent to the process could be taken by another thread, this one running on a while)
        own = sig if signal.getsignal(sig) is signal.SIG_DFL else signal.SIGSTOP
        signal.pthread_kill(_thread.get_ident(), own)
        _continue_command(task.tid)

    def _on_signal(self, task: Task, sig: int) -> None:
        """A signal-delivery-stop: the signal is delivered as it came.

        A signal the task ignores is one natively never queued at all, but for a traced task
        the kernel queues it (for the tracer to see) and so wakes the task: a wait it was in
        fails with EINTR (a SIGCHLD under the default disposition ending an epoll_wait, LTP
        rt_sigtimedwait01).  Such a wait is restarted as if the signal had never come."""
        if sig in _STOP_SIGNALS and task.process.pid == self.main_pid:
            # (its stop is mirrored by systrace only when the command sent it itself:
            # _stop_with_command; read once per stop signal, never for the many others)
            self._self_stop = _sent_by(task.tid, task.process.pid)
        regs = self._eintr_call(task)
        if regs is not None and signals.ignored_by(task.tid, sig):
            self._restart_interrupted(task, regs)
        self._resume(task, sig)

    def _eintr_call(self, task: Task) -> pt.user_regs_struct | None:
        """The task's registers when it stopped on its way out of a call that fails with
        EINTR from a stop or an ignored signal alone (_EINTR_ON_STOP), and that can be
        restarted: with no timeout, or a timed wait whose deadline the tracer learnt."""
        regs = pt.getregs(task.tid)
        self._own_back(task, regs)  # (on its way through a held call's trampoline)
        if task.own_args:  # (its exit stop not seen: its own registers before any handler)
            self._put_own_back(task, regs)
        if regs.rax != _EINTR_RETURN or regs.orig_rax not in _EINTR_ON_STOP:
            return None
        if self._timed(regs) and not self._noted_wait(task, regs):
            return None  # a wait with a timeout no stop told the start of (EINTR_ON_STOP)
        return regs

    @staticmethod
    def _timed(regs: pt.user_regs_struct) -> bool:
        """Whether the call of an EINTR_ON_STOP the registers show waits with a timeout."""
        timeout = _EINTR_ON_STOP[regs.orig_rax]
        if timeout is None:
            return False
        index, pointer = timeout
        value = getattr(regs, ARG_REGS[index])
        return value != 0 if pointer else ctypes.c_int32(value).value >= 0  # (-1: none)

    @staticmethod
    def _noted_wait(task: Task, regs: pt.user_regs_struct) -> bool:
        """Whether the task's timed wait is the one its entry told the deadline of."""
        noted = task.timed_wait
        return noted is not None and noted[0] == regs.orig_rax

    def _restart_interrupted(self, task: Task,
                             regs: pt.user_regs_struct | None = None) -> None:
        """At the stop a PTRACE_INTERRUPT of ours caused: a call that failed with EINTR only
        because of it goes back to its start, as the kernel restarts the calls it may; a
        timed wait, with the time it had left (_retime).

        Natively the call would have gone on waiting.  A signal the task does not block is
        pending: that signal interrupted the call too, natively as well, so its EINTR stays."""
        regs = regs or self._eintr_call(task)
        if regs is None or signals.unblocked_pending(task.tid):
            return
        if self._timed(regs) and not self._retime(task, regs):
            return
        regs.rax = regs.orig_rax
        regs.rip -= _SYSCALL_INSN_LEN
        pt.setregs(task.tid, regs)

    def _wait_exit(self, task: Task) -> None:
        """The exit stop of a timed wait (TIMED_RESTARTS) of a process of more than one
        thread: a failure with EINTR that no signal the task would take explains is
        restarted with the time left, as at the stop of an interrupt (_restart_interrupted).

        Under ptrace the kernel queues a signal the process ignores (sig_ignored: for the
        tracer to see), and wakes a thread that does not block it -- this one, in its wait,
        when the thread the signal was meant for is in a stop of the tracer's (a forking
        thread's SIGCHLD).  Its wait fails with EINTR on its way to take the signal; when
        another thread takes it first (any thread resumed from a stop looks for one), it
        finds none, no stop of its shows the EINTR, and it returns to the program -- where
        natively nothing was queued and the wait went on (tests/progs/wait_eintr.c).
        A process of one thread takes the signal itself: its signal-delivery-stop restarts
        the wait (_on_signal).  Waits with no timeout do not stop at all, so theirs is not
        seen (docs/security.md, "Limits and what is out of scope").

        A process that catches a signal the task does not block keeps the EINTR: such a
        signal sent to the process wakes this thread natively too, and its wait fails with
        EINTR even when another thread takes the signal first (nothing is pending by the
        exit stop) -- a restart there lost a wakeup natively seen (review 16,
        tests/progs/wait_taken.c).  The ignored signal's EINTR stays in such a process: one
        its handlers' calls must expect, where a lost one may never come again.  A wait a
        freeze interrupted (Task.interrupted: its exit stop is the interrupt's report) is
        restarted all the same: that EINTR is the tracer's."""
        interrupted, task.interrupted = task.interrupted, False
        regs = self._eintr_call(task)
        if regs is not None and (interrupted or not signals.catches_unblocked(task.tid)):
            self._restart_interrupted(task, regs)

    def _only_timed(self, name: str, args: tuple[int, ...]) -> bool:
        """Whether a timed wait stopped at its entry only for its deadline: the plan lets the
        call run and no guard or note of the engine's concerns it (an event loop's wait costs
        a stop, not a decision)."""
        return (self.filtered and self.plan is not None
                and name not in GUARDED_CALLS and name not in STOP_GUARDED
                and name not in NOTED
                and self.plan.verdict(name, args).kind == VerdictKind.ALLOW)

    def _note_wait(self, task: Task, nr: int, args: tuple[int, ...]) -> None:
        """A timed wait at its entry (the filter stops it: syscalls.TIMED_RESTARTS): its
        deadline, for a restart after an EINTR of ours.  Taken at this stop, which comes
        after the program made the call, so a restart never ends the wait before the time it
        asked for has passed since.  The entry of the wait restarted by _retime (its timeout
        argument the one _retime gave it) keeps the deadline."""
        task.interrupted = False  # (a freeze before this wait: none of its EINTRs)
        timeout = _EINTR_ON_STOP[nr]
        assert timeout is not None
        index, pointer = timeout
        value = args[index] if pointer else ctypes.c_int32(args[index]).value
        noted = task.timed_wait
        if noted is not None and noted[0] == nr and noted[2] == value > 0:
            task.timed_wait = (nr, noted[1], 0)  # our restart: the same deadline
            return
        task.timed_wait = None
        if value <= 0:
            return  # no deadline (none, or no wait: a pointer's 0 is NULL)
        if not pointer:
            task.timed_wait = (nr, time.monotonic_ns() + value * _MS, 0)
            return
        try:
            seconds, nanoseconds = struct.unpack("<qq", self._reader(task).read_exact(value, 16))
        except TraceeMemoryError:
            return  # the kernel fails it (EFAULT)
        if seconds < 0 or not 0 <= nanoseconds < _NS:
            return  # the kernel fails it (EINVAL)
        task.timed_wait = (nr, time.monotonic_ns() + seconds * _NS + nanoseconds, 0)

    def _retime(self, task: Task, regs: pt.user_regs_struct) -> bool:
        """Point a timed wait about to be restarted at the time it has left (none left: a
        zero timeout, which ends the wait as its timeout would have: EAGAIN, or no events).
        A timeout in milliseconds goes in its register, rounded up (the wait never ends
        early: at most a millisecond late); a timespec is written below the red zone of the
        stack -- memory the program does not use while it is in a call and no handler runs
        (none does: no unblocked signal is pending), and that the kernel reads when the call
        starts.  False when that memory is not writable: the EINTR stays.  The stack pointer
        is the program's to choose, so the write is one the task could make itself (never
        forced: a forced one reached the read-only scratch area, a sibling's checked copy,
        tests/escape/tr_retime.c)."""
        noted = task.timed_wait
        assert noted is not None
        nr, deadline, _ = noted
        left = max(0, deadline - time.monotonic_ns())
        timeout = _EINTR_ON_STOP[nr]
        assert timeout is not None
        index, pointer = timeout
        if pointer:
            value = (regs.rsp - _RED_ZONE - 16) & ~15
            try:
                self._reader(task).write_unforced(value,
                                                  struct.pack("<qq", *divmod(left, _NS)))
            except TraceeMemoryError:
                return False
        else:
            value = -(-left // _MS)  # (0: no wait, so no entry stop to keep the deadline)
        setattr(regs, ARG_REGS[index], value)
        task.timed_wait = (nr, deadline, value)
        return True

    # --- exec ---------------------------------------------------------------------------------
    def _on_exec(self, task: Task) -> None:
        former = self._event_message(task.tid)
        process = task.process
        if former != task.tid and former in self.tasks:
            # a non-leader thread exec'd: de_thread took the leader (alive or a zombie;
            # running, frozen, parked on an ask) away without a report of its end, and the
            # thread now has its tid and reports the event under it; the other threads' ends
            # are reported as usual.  (An answer still to come for the leader's ask names its
            # Task, which no task of the tree is any more: Tracer.answer drops it.)
            self._task_ended(task)
            moved = self.tasks[former]
            self._take_leaders_tid(moved, task.tid)
            task = moved
            task.to(TaskEvent.REPORTED)  # (this stop is the exec'ing thread's, not the leader's)
        self._release_vfork_parent(task.tid)
        task.own_args = task.own_nr = None  # (the new image's registers: no exit stop needed)
        self.decoder.resolver.forget_credentials(former)  # (a set-id file, file capabilities)
        self.decoder.resolver.forget_credentials(task.tid)
        self.decoder.resolver.moved_domain(former, task.tid)  # (kept across exec)
        if task.freezer:
            # the kernel has loaded the new image: nothing of the old one can race it any more
            task.freezer = False
            self._thaw_pending = True
        old_program = process.program
        try:
            program = os.readlink(f"/proc/{task.tid}/exe")
        except OSError:
            program = old_program
        checked = process.exec_check
        process.exec_check = None
        argv = self._exec_argv.pop(process.pid, None)
        if argv is None:  # (the kernel's copy: the new image has run no instruction yet)
            argv = procfs.cmdline(task.tid)
        checked_program = self._checked_program(task, program, checked)
        if checked_program is None:
            return
        # The run's own command, at its first exec (Python's in both loops: the native loop
        # serves no exec of the spawn), alone: it holds nothing -- but the child of its vfork,
        # beside it in its memory, holds its calls there (a shell's first command), so the
        # area is premapped when its table lets it make a child (may_make_children).  Any
        # later exec of a task alone maps it lazily, as the native loop's exec event does.
        run_start = self.first_exec(task.tid)
        held_before = self._exec_done(task, checked_program, old_program, argv)
        solo = self._solo()
        if (self.hold_arguments and self.filtered and task.expect == Expect.NOTHING
                and (run_start and self.monitor.may_make_children(task) if solo
                     else held_before)):  # (an awaited exit value: lazily)
            self._premap_scratch(task)
        self._resume(task)

    def _take_leaders_tid(self, moved: Task, tid: int) -> None:
        """A thread that exec'd has its leader's tid now (de_thread): its task is keyed by it."""
        former = moved.tid
        process = moved.process
        del self.tasks[former]
        moved.space.slots.release(former)
        process.memory.forget(former)
        process.tids.discard(former)
        moved.tid = tid
        process.tids.add(tid)
        self.tasks[tid] = moved

    def _exec_failed_late(self, pid: int) -> None:
        """A syscall stop under a process leader's tid that is an exec's exit stop made by
        another thread of its process (red team 71): the exec failed after its point of no
        return (the new image could not be mapped: ``RLIMIT_AS``, ENOMEM), after de_thread
        had taken the leader away and given the thread the leader's tid -- no exec event
        comes, the thread's exit stop (it was let go to it: a held exec gets its own
        registers back there) reports under the leader's tid, and the kernel kills it with
        SIGSEGV after it.  Taken for the leader's, the stop was kept for the thaw of the
        exec's freeze -- which waited for that very stop under the thread's old tid: the
        process and the tracer stopped for ever.  The thread's task takes the leader's tid,
        as at an exec event (_on_exec), and the leader's task ends; the stop is then the
        exec's own (its registers back, the thaw, the resume)."""
        leader = self.tasks.get(pid)
        if leader is None or leader.process.pid != pid or len(leader.process.tids) < 2 \
                or leader.freezer or leader.own_nr in _EXEC_NRS:
            return
        moved = None
        for tid in leader.process.tids:
            task = self.tasks.get(tid)
            if tid != pid and task is not None and (task.own_nr in _EXEC_NRS or task.freezer) \
                    and task.state == TaskState.RUNNING:
                moved = task
                if task.own_nr in _EXEC_NRS:
                    break
        if moved is None or os.path.exists(f"/proc/{pid}/task/{moved.tid}"):
            return
        try:
            if pt.getregs(pid).orig_rax not in _EXEC_NRS:
                return
        except pt.PtraceError:
            return
        self._task_ended(leader)
        self._take_leaders_tid(moved, pid)

    def _exec_of_unseized_leader(self, pid: int, status: int) -> Task | None:
        """An exec event under a tid no task has: a thread of a process attached after its
        leader exited (a zombie, which no tracer may seize: Tracer.attach) exec'd, and
        de_thread gave it the leader's pid.  Its task, keyed by the pid now (_on_exec then
        goes on as for any thread's exec); None for any other stop (a child's first stop
        ahead of its parent's event: _early)."""
        if status >> 16 != pt.PTRACE_EVENT_EXEC:
            return None
        try:
            former = pt.geteventmsg(pid)
        except pt.PtraceError:
            return None
        moved = self.tasks.get(former)
        if moved is None or moved.process.pid != pid or pid in self.tasks:
            return None
        self._take_leaders_tid(moved, pid)
        return moved

    def _exec_done(self, task: Task, program: str, old_program: str,
                   argv: tuple[str, ...] | None, keyed: bool | None = None) -> bool:
        """What an exec of ``program`` (checked: what ran is what was) changes for the task:
        a new address space and descriptor table, the monitor told (a new table, the argv
        the exec passed: None when the native loop served it).  At the exec event
        (_on_exec), or after the native loop served it (_fast_notes).  ``keyed``: whether
        the new image has an execute-only mapping, when the caller looked already (None:
        /proc/PID/maps is read here, where protection keys are on).  Whether the former
        address space had the scratch area (it will likely be needed again)."""
        process = task.process
        if process.pid == self._loading_prefilter:
            # (the program runs: a filter now is its own -- here, where an exec the native
            # loop served is caught up on too, not in _on_exec alone)
            self._loading_prefilter = None
            self._spawned = None  # (its memory: the child runs its own now)
        held_before = task.space.scratch  # this process (or its parent) has held arguments
        task.space.users -= 1
        task.space.slots.release(task.tid)
        process.reset_for_exec(program)
        task.space = process.space
        # the kernel mapped the image's execute-only segments (if any) with their key itself
        task.space.keyed = pkeys.enabled() and (
            pkeys.exec_only_mapped(task.tid) if keyed is None else keyed)
        task.files.users -= 1
        task.files = Shared()  # exec gives the process a descriptor table of its own
        self.monitor.on_exec(process, old_program, argv)
        return held_before

    def _checked_program(self, task: Task, exe: str,
                         checked: tuple[int, int, str, tuple[int, int] | None] | None
                         ) -> str | None:
        """What ran must be what was checked; a mismatch (a race) kills the process.

        The program is named by the path that was exec'd (a script by its own path, not its
        interpreter's), or by /proc/PID/exe when the exec did not stop."""
        if checked is None:
            return exe
        dev, ino, path, loader = checked
        try:
            info = os.stat(f"/proc/{task.tid}/exe")
        except OSError:
            return path
        if (info.st_dev, info.st_ino) != (dev, ino):
            self._exec_raced(task, f"executed {exe}, not the file that was checked",
                             f"{exe} is not what was checked")
            return None
        if loader is not None and not self._checked_loader(task, loader):
            self._exec_raced(
                task, f"executed {exe} with an ELF interpreter not the file that was checked",
                f"{exe}'s ELF interpreter is not what was checked")
            return None
        return path

    @staticmethod
    def _checked_loader(task: Task, loader: tuple[int, int]) -> bool:
        """Whether the ELF interpreter the kernel loaded is the file the decision checked
        (ExecImage.loader; the binary itself when the decision read no interpreter): the
        kernel resolves PT_INTERP's name again at the load, and a symlink on it another task
        re-pointed between (exec_interp_swap.c ``link``) had a program the rules refuse run
        as the interpreter (gap #43); and it reads the binary again, which another task may
        have rewritten in place since to name one (``flip``: review 17).  Read at the exec
        event, where the new image has run no instruction: the file mapped where it will
        start (its instruction pointer: the interpreter's entry, or the binary's) -- one
        PTRACE_GETREGS and one PROCMAP_QUERY (procfs.mapped_file), only for an exec whose
        decision checked its interpreters.
        Unreadable: not what was checked (a task gone is killed for nothing).  Both sides are
        the memory map's identities (procfs.mapped_identity): the binary's, for ITSELF, by
        mapping /proc/PID/exe (the file the exec event checked first)."""
        try:
            found = procfs.mapped_file(task.tid, pt.getregs(task.tid).rip)
            if loader == ITSELF:
                exe = os.open(f"/proc/{task.tid}/exe", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    loader = procfs.mapped_identity(exe) or GONE
                finally:
                    os.close(exe)
            return found is not None and found == loader
        except (OSError, pt.PtraceError):
            return False

    def _exec_raced(self, task: Task, said: str, reported: str) -> None:
        """What ran is not what was checked (a race): the process is killed, fail closed."""
        say(f"pid {task.pid} {said}: killed")
        self.monitor.on_engine_refusal(task, DecodedCall(task.tid, task.pid, 59, "execve", ()),
                                       errno.EACCES, f"exec raced: {reported}")
        _signal_task(task.tid, signal.SIGKILL)  # (the whole process: SIGKILL)
        self._resume(task)

    # --- exits ----------------------------------------------------------------------------------
    def _gone(self, tid: int, status: int) -> None:
        task = self.tasks.get(tid)
        if task is None:
            if tid in self._early:
                self._early.pop(tid)
            self._orphans_killed.discard(tid)
            self._early_exits[tid] = self._early_started.pop(tid, None)
            return
        self._task_ended(task)
        process = task.process
        if tid == process.pid or process.exit_status is None:
            process.exit_status = status
        if tid == process.pid:
            # a leader's end is reported only once its thread group is empty (the kernel's
            # delay_group_leader: the threads' own ends, reaped first): a task still noted in
            # it is a thread that took the leader's tid in an exec that failed after its point
            # of no return, with no stop of its seen (red team 71) -- its process ends here
            for other in list(process.tids):
                ghost = self.tasks.get(other)
                if ghost is not None:
                    self._task_ended(ghost)
                else:
                    process.tids.discard(other)
        if not process.tids:
            self._process_gone(process, process.exit_status)

    def _task_ended(self, task: Task) -> None:
        """The task is gone: what waited on it is let go, and it is forgotten."""
        if task.parked:
            self._parked -= 1
        task.to(TaskEvent.EXITED)
        # a stop a freeze kept for it is over (the threads an exec kills): handled at the thaw,
        # a tid no task has any more was taken for a child's first stop to come (_early: the
        # native loop then stayed off, and the tree was never "alone" again, for the rest of
        # the run; and a new child given the tid was started on it)
        self._frozen.pop(task.tid, None)
        for thawing in self._thawing:
            thawing.pop(task.tid, None)
        self._born_frozen.discard(task.tid)
        if task.freezer:
            task.freezer = False
            self._thaw_pending = True
        if task.space.mapping_by == task.tid:
            self._scratch_settled(task.space)  # the others try again (their own mmap)
        self._release_vfork_parent(task.tid)
        self._forget_task(task.tid)

    def _release_vfork_parent(self, child: int) -> None:
        """The vfork child exec'd or exited: its parent runs again."""
        for task in self.tasks.values():
            if task.vfork_child == child:
                task.vfork_child = None

    def _forget_task(self, tid: int) -> None:
        self.decoder.resolver.forget_credentials(tid)
        self.decoder.resolver.moved_domain(tid, -1)
        task = self.tasks.pop(tid, None)
        if task is not None:
            task.space.slots.release(tid)
            task.process.memory.forget(tid)
            task.process.tids.discard(tid)
            task.space.users -= 1
            task.fs.users -= 1
            task.files.users -= 1

    def _process_gone(self, process: Process, status: int) -> None:
        if process.pid not in self.processes:
            return
        del self.processes[process.pid]
        for tid in list(process.tids):
            self._forget_task(tid)
        process.memory.close()
        if process.pid == self.main_pid:
            self.main_status = status
            if self.on_orphans is not None and self.processes:
                # wait for them (as strace does), but say so if it takes a while
                self._orphan_deadline = time.monotonic() + ORPHAN_NOTICE_AFTER
                if not self._sigchld_wakes:
                    self._sigchld_wakes = self._wake_on_sigchld()
        self.monitor.on_exit(process, status)
        if self._early:
            self._kill_orphans_of_dead_creators()

    def _kill_orphans_of_dead_creators(self) -> None:
        """Fail closed, as soon as it is known, for a child kept for its parent's event
        (``_early``) whose maker is dead: it died at that event stop, and the event never
        comes (_kill_orphans_of_lost_events) -- while the rest of the tree lives, and may wait
        for the child (a pipe, wait), which would keep the run from ever ending.  Asked when
        such a child's first stop is kept and whenever a traced process ends (both loops: the
        native loop's kept stops come to Python as ``early`` notes, its ends as ``end`` notes).
        Killed when no living traced process could have made it (_maker_may_live)."""
        for tid in set(self._early) - self._orphans_killed:
            if not self._maker_may_live(tid):
                self._kill_orphan(tid)

    def _maker_may_live(self, tid: int) -> bool:
        """Whether a traced process that could have made the kept child ``tid`` lives.  The
        kernel names a child's parent (/proc/TID/stat's ppid, its real parent): the process of
        the task that made it, or -- with CLONE_PARENT, or a CLONE_THREAD thread -- that
        process's own parent; once the maker's process is gone, whoever the child was
        reparented to (a thread of the same process, a subreaper, pid 1).  So the maker, if it
        lives, is the traced process the ppid names or a traced process with the same parent;
        with neither (the ppid is untraced or ended, and no traced process shares it) the maker
        is dead.  The ppid is read again after the look at the others: a reparenting in
        between (the shared parent died) could hide a maker, and then nothing is decided (asked
        again at the next end).  A thread is its maker's process's (/proc/TID/status's Tgid):
        while that process is traced, its maker may live.  A child already gone (its end is to
        be reported) is left to _gone."""
        parent = _parent_of(tid)
        if parent is None or parent in self.processes:
            return True
        group = procfs.status_numbers(tid, b"Tgid")  # (a thread: its process is its maker's)
        if group is None or group[0] in self.processes:
            return True
        if any(_parent_of(pid) == parent for pid in self.processes):
            return True
        return _parent_of(tid) != parent




def _made_again(nr: int, regs: pt.user_regs_struct, at: int, again: int,
                ) -> tuple[int, tuple[int, ...], int, int]:
    """What marks a task's next call as its last one made again (``Task.restarted``): the
    call's number, its arguments (from ``regs``), its return address ``at``, and how often
    it was made again -- once more than ``again``."""
    return (nr, tuple(getattr(regs, name) for name in ARG_REGS), at, again + 1)


def _has_capability(tid: int, capability: int) -> bool:
    """Whether the task holds an effective capability (from /proc/TID/status)."""
    try:
        held = procfs.has_capability(procfs.read(f"/proc/{tid}/status"), capability)
    except (OSError, ValueError):
        return True  # cannot tell: assume it may
    return True if held is None else held


class _Reaper:
    """Reaps the reports of the tasks this tracer traces on a thread of its own while
    ``Tracer.attach`` seizes a process's threads (a ``with`` block), in order: ``reports``.

    PTRACE_SEIZE of a thread waits while an exec of its process is under way (the process's
    cred_guard_mutex), and the exec (de_thread) waits until every other thread of the process
    is released -- a traced one when its tracer has reaped its end.  A thread that exec'd
    while the attach seized the others, one of them already seized, held the tracer in its
    seize and itself in its exec, for ever (red team 12, attach_exec.c; a signal to systrace
    ended it).  Another thread of the tracer may reap what its main thread traces (wait(2)
    looks at every thread's tracees)."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, int]] = []
        import threading

        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attach reaper", daemon=True)

    def __enter__(self) -> _Reaper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """End the thread and wait for it, once more harmlessly: then every report it reaped
        is in ``reports``, and no status of the tracer's children is its any more.  Called
        again on an attach's way out by an exception: a detach request (Session.attach's
        handler raises it) that came while Thread.start waited for the thread to run leaves
        the ``with`` before ``__exit__`` (the thread, running, reaped every status of the
        tracer's children from then on: review 7), and one that came in ``__exit__``'s join
        left the thread to add a last report after they were handed on (a signal its stop
        held lost at the detach)."""
        self._done.set()
        if self._thread.ident is not None:  # (started: Thread.start may have failed first)
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(0.0005):
            while True:
                try:
                    tid, status = os.waitpid(-1, pt.WALL | os.WNOHANG)
                except ChildProcessError:
                    break
                if not tid:
                    break
                self.reports.append((tid, status))


def _refuse_untraced(pid: int, tids: set[int],
                     why: str = "is not traced (a thread exec'd while it was being attached; "
                                "try again)") -> None:
    """TracerError when one of process ``pid``'s live tasks ``tids`` is not traced by this
    tracer: one the attach could not seize (another tracer has it), or, once the attach has
    seized them all, a thread that exec'd before its seize took the leader's tid
    (de_thread), and runs untraced (red team 12, attach_exec.c).  A task gone meanwhile or
    exiting runs no code of its own again, and is let be."""
    me = os.getpid()
    for tid in sorted(tids):
        tracer = procfs.tracer_of(tid)
        if tracer is not None and tracer != me and not procfs.exiting(tid):
            raise TracerError(f"cannot attach to {pid}: its thread {tid} {why}")


def _seize_failure(pid: int, exc: pt.PtraceError) -> str:
    """Why PTRACE_SEIZE failed, in words: a process has one tracer, and when it (or this
    tracer) is already traced -- by strace -f, gdb, another systrace -- say by whom."""
    from pathlib import Path  # (off the way of a start: issue 16)

    code = exc.errno or errno.EPERM
    if code == errno.ESRCH:
        return "no such process"
    if code == errno.EPERM:
        for traced in (pid, os.getpid()):
            tracer = procfs.tracer_of(traced) or 0
            if tracer and tracer != os.getpid():
                try:
                    name = Path(f"/proc/{tracer}/comm").read_text().strip()
                except OSError:
                    name = "?"
                return f"already traced by PID {tracer} ({name})"
    return f"cannot trace it: {os.strerror(code)}"


def _start_of(tid: int) -> int | None:
    """When the task with this tid started (its /proc stat); None when there is none."""
    try:
        return procfs.start_time(procfs.read(f"/proc/{tid}/stat"))
    except (OSError, IndexError, ValueError):
        return None


def _parent_of(tid: int) -> int | None:
    """The task's parent as the kernel says (its /proc stat's ppid); None when it is gone."""
    fields = procfs.read_stat(tid)
    if fields is None:
        return None
    try:
        return int(fields[procfs.PPID])
    except (IndexError, ValueError):
        return None


def _signal_task(pid: int, sig: int) -> None:
    """kill(2) of one traced task or process -- never of a pid <= 0, which would be the
    tracer's own process group (0) or every process it may signal (-1): a task not known yet
    (pid 0) once had the tracer SIGKILL its own group (review of 12-03: an attach, the Python
    loop, under load)."""
    if pid <= 0:
        raise ProcessLookupError(f"no such task: {pid}")
    os.kill(pid, sig)


def _traced_by(tracer: int) -> set[int]:
    """Every task whose TracerPid is ``tracer`` (a scan of /proc: only when killing all)."""
    return {tid for tid in procfs.every_task() if procfs.tracer_of(tid) == tracer}


__all__ = ["SpawnSpec", "Tracer", "TracerError", "read_argv"]
