"""What the tracer knows about each traced task, process and address space.

* :class:`AddressSpace` -- shared by threads, vfork children and CLONE_VM peers; replaced at
  exec; copied (with its scratch mapping) at fork.
* :class:`Shared` -- an fs context or a descriptor table, shared by the tasks that use it.
* What a new task shares with its parent is the kernel's answer (:func:`shared_with`), not a
  guess from the event or the flags.
* :class:`Process` -- a thread group: program, parent, the monitor's per-process state (for the
  policy enforcer, its current table), and the memory handle.
* :class:`Task` -- one thread: where it is in the stop protocol.
"""

from __future__ import annotations

import _thread
import ctypes
import errno
import fcntl
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NewType

from systrace_py import procfs, tag_values
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.memory import TraceeMemory
from systrace_py.engine.paths import View
from systrace_py.engine.scratch import SlotPool
from systrace_py.engine.taskstate import HELD, Event, State, TaskState, next_state
from systrace_py.kernel import KCMP_FILES, KCMP_FS, KCMP_VM


@dataclass(eq=False)
class AddressSpace:
    """An mm.  ``scratch``: the tracer's scratch area is mapped in it.  ``users``: live tasks
    on it (threads, CLONE_VM peers, a vfork child): more than one means another task may
    rewrite a call's buffers while the call is being checked (see Tracer._must_hold).

    Something that is no task of the traced tree may write it too (the calls of the syscall
    table's ``shares``): ``written_anywhere`` -- the kernel completing I/O into any buffer
    (an AIO context, an io_uring, an XDP umem) or a userfaultfd's reader; ``shared_pages``
    -- some pages are shared with whoever else maps the same object (a MAP_SHARED mapping, a
    SysV segment) or dropped by the kernel's reclaim (a MAP_DROPPABLE mapping: ``droppable``),
    and ``shared_ranges`` says which, as /proc/PID/maps (or smaps) last showed them (None:
    to be read again, something may have moved).  Arguments that such writers may reach are
    held even while the tree is one task.  ``keyed``: a call (or the exec'd image) may have
    given some of its pages a protection key, so reads obey the calling task's keys
    (:mod:`systrace_py.engine.pkeys`).  A fork's copy keeps all of it (the pages stay
    shared; the kernel's writers are counted too, to keep it simple); an exec starts a new
    space without any.  ``unheld``: no area can be mapped in it without a seccomp filter of
    the program's own judging the mmap (Tracer._map_scratch): its held calls run as the
    program made them, with the tree frozen and re-checked (Tracer._unheld_refusal); kept at
    fork, as the area's absence is.  ``inherited``: its ``scratch`` is a fork's copy of its
    parent's, not yet seen in its /proc/PID/maps -- a mapping the parent kept from its children
    (``MADV_DONTFORK``: VM_DONTCOPY) is not copied, and the child may map its own memory at
    the area's address without a stop (a hint mmap): checked at its first use
    (Tracer._area_checked), never trusted (close 23).  In a run that seals (Tracer.seals)
    ``scratch`` is an area sealed where it was mapped (mseal, Linux 6.10) -- no advice that
    drops or unshares its pages, no unmap, remap or reprotect, from any door (madvise,
    process_madvise, an io_uring's IORING_OP_MADVISE; close 24), kept at fork as the kernel
    keeps VM_SEALED --: an area whose seal failed is ``scratch_failed`` (Tracer._area_made,
    the one place that says an area may hold a call: close 25)."""

    scratch: bool = False
    scratch_failed: bool = False
    unheld: bool = False
    inherited: bool = False  # (scratch: the parent's, a fork's copy, to be checked at its use)
    users: int = 1
    written_anywhere: bool = False
    #: of written_anywhere: by a writer of any contents, not only of zeros (Shares.zeros)
    written_with_content: bool = False
    shared_pages: bool = False
    shared_ranges: tuple[tuple[int, int], ...] | None = None
    keyed: bool = False  # some pages may have a protection key (pkeys; kept at fork)
    droppable: bool = False  # it may have MAP_DROPPABLE mappings (shared_mappings; kept at fork)
    mapping_by: int | None = None  # the task whose call is being turned into the scratch mmap
    waiting: list[Any] = field(default_factory=list)  # (task, call, reply) held meanwhile
    slots: SlotPool = field(default_factory=SlotPool)  # the area's slots, one per task


@dataclass(eq=False)
class Shared:
    """A kernel object tasks may share: the fs context (cwd, root) or the descriptor table.
    ``users`` live tasks use it; more than one means a peer can change the cwd or swap a
    descriptor between the check of a call and its use."""

    users: int = 1


@dataclass(eq=False)
class Process:
    """A thread group.  ``state`` belongs to the monitor (inherited at fork through it)."""

    pid: int
    ppid: int
    program: str
    space: AddressSpace
    memory: TraceeMemory
    state: Any = None
    tids: set[int] = field(default_factory=set)
    #: (dev, ino, path) of the checked exec, and the (dev, ino) of the file its new image
    #: must start in: the ELF interpreter it checked, or the binary when it read none (None:
    #: its decision read no image -- Tracer._checked_loader)
    exec_check: tuple[int, int, str, tuple[int, int] | None] | None = None
    exit_status: int | None = None
    #: whether one of its tasks installed a seccomp filter of its own during the run
    #: (Tracer._own_filter): None until then; True for every task of it from then on
    #: (filters survive exec, and only grow)
    own_filter: bool | None = None

    def reset_for_exec(self, program: str) -> None:
        self.program = program
        self.space = AddressSpace()
        self.memory.close()
        self.memory = TraceeMemory(self.pid)


#: what a task's next syscall-exit stop is for: one of :class:`Expect`'s values
Expectation = NewType("Expectation", str)


class Expect:
    """What the next syscall-exit stop of a task is for; :data:`EXPECTATIONS` lists them.  Str
    tags in a class, not an enum (start-up, issue 16: see policy.model.Reason)."""

    NOTHING: Final = Expectation("nothing")
    #: the scratch mapping was injected in place of the call
    INJECTED_MMAP: Final = Expectation("injected_mmap")
    #: the monitor wants the call's result
    EXIT_HANDLER: Final = Expectation("exit_handler")
    #: a timed wait of a process of threads: its EINTR (Tracer._wait_exit)
    WAIT_EXIT: Final = Expectation("wait_exit")


#: every one, in the order written
EXPECTATIONS: tuple[Expectation, ...] = tag_values(Expect)


@dataclass(eq=False)
class Task:
    """One traced thread: its process, its address space, and what its current stop holds."""

    tid: int
    process: Process
    space: AddressSpace = field(default=None)  # type: ignore[assignment]  # set in __post_init__
    fs: Shared = field(default_factory=Shared)     # cwd and root
    files: Shared = field(default_factory=Shared)  # the descriptor table
    state: State = TaskState.ATTACHING  # where it is (engine/taskstate.py: the table)
    delayed_at: str = ""         # where an injected delay holds it: the "entry" or the "exit"
    #                              of its call (state DELAYED)
    exit_delay: float = 0.0      # seconds to hold it at its call's exit stop (delay_exit)
    waited: bool = False         # its call waited between its check and its use (parked for
    #                              an answer, or delayed): it is held even in a tree of one
    freezer: bool = False        # its call runs with every other task of the tree stopped
    vfork_child: int | None = None  # waiting in vfork for this child (it cannot run meanwhile)
    expect: Expectation = Expect.NOTHING
    saved_regs: Any = None       # registers of the call an injection replaced
    own_args: dict[int, int] | None = None  # a held call's argument registers before they
    #                              were pointed at held copies, put back at its exit stop
    #                              (Tracer._put_own_back): an exec's (if it fails), and any held
    #                              call's under a seccomp filter of the program's own, which
    #                              gets no return trampoline
    own_nr: int | None = None    # the number that call runs as: only its stops take them
    birth_rdi: int | None = None  # a child of a held clone3 sharing its parent's memory:
    #                              the parent's own rdi, given at its first stop (_own_birth)
    pending_call: Any = None     # the decoded call whose exit the monitor wants
    detached: bool = False       # the monitor let it go: every call permitted from here on
    replay: Any = None           # (call, reply) for the call restarted after the scratch mmap
    stub: tuple[int, int, int] | None = None  # the native loop's exec-time scratch mmap, run
    #                              by a stub not seen to end yet: (the address after its syscall,
    #                              after its trap, the program's entry) -- Tracer._stub_stop
    filters_suspended: bool = False  # its seccomp filters are suspended for a call skipped at
    #                              its entry stop, until its next stop (Tracer._suspend_for_skip)
    own_skip: bool = False       # without a prefilter: the call at its entry stop is number -1
    #                              as the program made it -- its filters judge it, as natively
    # How it sees the file system (paths.View): read at its next call when None -- at first,
    # and after every call that may change some task's view.  ``seen``: the last one read
    # (a namespace new since then is a copy of that one's, unless it ``joined`` one: setns).
    view: View | None = None
    seen: View | None = None
    joined: bool = False
    after: Any = None            # what the engine notes when its call returns (Tracer._noted)
    #: the widening part of its call's notes of what the run made (decode.MadeNotes), done at
    #: the call's exit when it succeeded (Tracer._on_exit_stop)
    made_notes: Any = None
    #: its last call, an exclusive create that met EEXIST, made again (Tracer._restart_
    #: exclusive): (number, arguments, return address, how often made again) -- the call it
    #: makes next with those is that call (DecodedCall.again), not a new one; None otherwise
    restarted: tuple[int, tuple[int, ...], int, int] | None = None
    #: its call, an exclusive create under a filter of the program's own, is to be made anew
    #: by the tracer with its filters suspended (Tracer._create_anew): (number, arguments)
    anew: tuple[int, tuple[int, ...]] | None = None
    timed_wait: tuple[int, int, int] | None = None  # its last timed wait (TIMED_RESTARTS):
    #                              (call number, deadline in monotonic ns, the timeout argument
    #                              the tracer gave it when it restarted it -- the address of
    #                              the time left, or milliseconds -- or 0)
    #: a freeze interrupted it (PTRACE_INTERRUPT) since the entry of its last timed wait: an
    #: EINTR of that wait is the tracer's (Tracer._wait_exit)
    interrupted: bool = False
    #: whether it runs under a seccomp filter of the program's own, its count read from
    #: /proc/TID/status (Tracer._under_own_filter): None until asked (a filter is a task's)
    own_filter: bool | None = None
    clone3_flags: int | None = None  # the flags of the last clone3 it was let make, as checked
    #                                  (the kernel gets the struct checked): its child's view
    #: it set no_new_privs itself (prctl), or was made by a task that had (the flag is a task's,
    #: inherited at clone): what the kernel would see natively where systrace gave the
    #: program's process the flag for the prefilter (Tracer.imposed_nnp, _filter_refusal)
    no_new_privs: bool = False

    def __post_init__(self) -> None:
        if self.space is None:
            self.space = self.process.space

    @property
    def pid(self) -> int:
        return self.process.pid

    def to(self, event: Event) -> None:
        """Move to the next state (TaskStateError when the table has no such move)."""
        self.state = next_state(self.state, event)

    @property
    def stopped(self) -> bool:
        """It cannot run until the tracer lets it (a freeze need not interrupt it)."""
        return self.state in HELD

    @property
    def parked(self) -> bool:
        return self.state == TaskState.PARKED


def shared_with(parent: int, child: int) -> tuple[bool, bool, bool]:
    """Whether a new task shares its parent's (memory, fs context, descriptor table), as the
    kernel says (kcmp(2)): clone's flags are in a register or in memory and vfork implies
    some, but only the kernel knows what it did.  Where it cannot say (kcmp refused, a task
    gone), everything counts as shared: more is held, nothing is missed."""
    try:
        vm, fs, files = (pt.kcmp(parent, child, kind) == 0
                         for kind in (KCMP_VM, KCMP_FS, KCMP_FILES))
    except OSError:
        return True, True, True
    return vm, fs, files


def in_thread_group(tgid: int, tid: int) -> bool:
    """Whether task ``tid`` is a thread of process ``tgid`` (the kernel's /proc says so)."""
    try:
        os.stat(f"/proc/{tgid}/task/{tid}")
    except OSError:
        return False
    return True


#: what /proc/PID/maps names an io_uring's rings ("anon_inode:[io_uring]") and those the
#: kernel's asynchronous I/O writes into (an AIO context's, an io_uring's)
_URING = b"[io_uring]"
_KERNEL_RINGS = (b"/[aio]", _URING)


def _is_kernel_ring(name: bytes) -> bool:
    """Whether a mapping's name (as /proc/PID/maps shows it) is a kernel's ring: a socket's --
    a packet or AF_XDP socket's --, an io_uring's, an AIO context's."""
    return name.startswith(b"socket:[") or any(ring in name for ring in _KERNEL_RINGS)


def _mapping_name(line: bytes) -> bytes:
    """The name field of a line of /proc/PID/maps (or a mapping's line of smaps): what
    follows the address range, permissions, offset, device and inode -- b"" for an anonymous
    mapping.  A file's name may hold spaces; only the end of line is cut."""
    fields = line.rstrip(b"\n").split(None, 5)
    return fields[5] if len(fields) == 6 else b""


class _ProcmapQuery(ctypes.Structure):
    """struct procmap_query (linux/fs.h, 6.11): one mapping of /proc/PID/maps, by address."""

    _fields_ = [("size", ctypes.c_uint64), ("query_flags", ctypes.c_uint64),
                ("query_addr", ctypes.c_uint64), ("vma_start", ctypes.c_uint64),
                ("vma_end", ctypes.c_uint64), ("vma_flags", ctypes.c_uint64),
                ("vma_page_size", ctypes.c_uint64), ("vma_offset", ctypes.c_uint64),
                ("inode", ctypes.c_uint64), ("dev_major", ctypes.c_uint32),
                ("dev_minor", ctypes.c_uint32), ("vma_name_size", ctypes.c_uint32),
                ("build_id_size", ctypes.c_uint32), ("vma_name_addr", ctypes.c_uint64),
                ("build_id_addr", ctypes.c_uint64)]


#: _IOWR('f', 17, struct procmap_query); the query's flag: the mapping at or after the address
_PROCMAP_QUERY = (3 << 30) | (ctypes.sizeof(_ProcmapQuery) << 16) | (ord("f") << 8) | 17
_COVERING_OR_NEXT_VMA = 0x10
_NAME_ROOM = 4352  # (a path up to PATH_MAX, " (deleted)")
#: whether the kernel answers PROCMAP_QUERY (False after its first ENOTTY: read the maps)
_procmap_query = [True]
#: each thread's query and name buffer (in_kernel_ring), made once: ~2 us a call otherwise
_query_room = _thread._local()  # (threading's local: threading stays out of a plain
#                                   start -- tests/cli/test_startup_imports.py)


def _query_buffers() -> tuple[_ProcmapQuery, ctypes.Array[ctypes.c_char], int]:
    room = getattr(_query_room, "room", None)
    if room is None:
        name = ctypes.create_string_buffer(_NAME_ROOM)
        query = _ProcmapQuery(size=ctypes.sizeof(_ProcmapQuery),
                              query_flags=_COVERING_OR_NEXT_VMA)
        room = _query_room.room = (query, name, ctypes.addressof(name))
    return room


def in_kernel_ring(pid: int, spans: Sequence[tuple[int, int]], maps: int = -1) -> bool:
    """Whether one of ``spans`` (address, length) meets a mapping of the process whose pages
    are a kernel's ring, private or shared: the kernel writes those pages whoever made the
    ring.  A MAP_PRIVATE mmap of a descriptor does not stop, and a socket may come with its
    ring made already -- from a process outside the tree (SCM_RIGHTS), from before the run
    (review 34) --, so the mappings are the only witness.  Asked of the kernel mapping by
    mapping (PROCMAP_QUERY: a few microseconds), or read from /proc/PID/maps where it cannot
    be asked.  Unreadable: yes.  ``maps``: the process's /proc/PID/maps descriptor, kept open
    by its memory (TraceeMemory.maps_descriptor), or -1: opened and closed here."""
    if not _procmap_query[0]:
        rings = kernel_ring_mappings(pid)
        return rings is None or any(overlaps(rings, at, length) for at, length in spans)
    query, _name, name_at = _query_buffers()
    fd = maps
    if fd < 0:
        try:
            fd = os.open(f"/proc/{pid}/maps", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return True
    try:
        for at, length in spans:
            end = at + max(length, 1)
            address = at
            while address < end:
                query.query_addr = address
                query.vma_name_size = _NAME_ROOM
                query.vma_name_addr = name_at
                try:
                    fcntl.ioctl(fd, _PROCMAP_QUERY, query)
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        break  # (no mapping at or after it)
                    if exc.errno == errno.ENOTTY:
                        _procmap_query[0] = False  # (a kernel before 6.11)
                        return in_kernel_ring(pid, spans, maps)
                    return True
                if query.vma_start >= end:
                    break
                if query.vma_name_size and _is_kernel_ring(
                        ctypes.string_at(name_at, query.vma_name_size)):
                    return True
                address = query.vma_end
    finally:
        if fd != maps:
            os.close(fd)
    return False


def _mappings(pid: int, kept: Callable[[bytes], bool]) -> tuple[tuple[int, int], ...] | None:
    """The [start, end) of each mapping of a process whose line of /proc/PID/maps ``kept``
    takes.  None when the maps cannot be read."""
    found = []
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            for line in maps:
                if kept(line):
                    start, end = line.split(b" ", 1)[0].split(b"-")
                    found.append((int(start, 16), int(end, 16)))
    except (OSError, ValueError):
        return None
    return tuple(found)


def kernel_ring_mappings(pid: int) -> tuple[tuple[int, int], ...] | None:
    """The [start, end) of each mapping of a process whose pages are a kernel's ring
    (in_kernel_ring, where the kernel cannot be asked).  None when the maps cannot be read."""
    return _mappings(pid, lambda line: _is_kernel_ring(_mapping_name(line)))


def _of_a_file(line: bytes) -> bool:
    """Whether a line of /proc/PID/maps is a mapping with an inode (a file's, a memfd's, a
    device's)."""
    fields = line.split(None, 5)
    return len(fields) >= 5 and fields[4] != b"0"


def in_file_pages(pid: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether one of ``spans`` (address, length) touches a mapping of a file -- any mapping
    with an inode in /proc/PID/maps (a file's, a memfd's, a device's), private or not; True
    when the maps cannot be read.  Anonymous memory (the heap, a stack, an anonymous private
    mapping) is what a write to a file never changes (review 37: a sendmmsg's names in a run
    whose tracer appends to a file, Tracer._messages_written_outside)."""
    files = _mappings(pid, _of_a_file)
    return files is None or any(overlaps(files, at, length) for at, length in spans)


def shared_mappings(pid: int, droppable: bool = False,
                    ) -> tuple[tuple[tuple[int, int], ...], bool] | None:
    """The [start, end) of each shared mapping of a process (a MAP_SHARED file or anonymous
    mapping, a SysV segment: "s" in the permissions of /proc/PID/maps), and whether one is a
    kernel's ring (_is_kernel_ring, by its name: an AIO context's, an io_uring's, a socket's
    -- a packet socket's, mapped privately too: red team 50) -- then the kernel may write any
    page.  None when
    the maps cannot be read (then every page counts as shared).  ``droppable``: the process
    may have MAP_DROPPABLE mappings, whose pages the kernel's reclaim turns to zeros -- such
    a mapping counts as shared; only /proc/PID/smaps says which they are ("dp" in VmFlags),
    and it costs more to read, so it is read only then."""
    found = []
    rings = False
    try:
        with open(f"/proc/{pid}/smaps" if droppable else f"/proc/{pid}/maps", "rb") as maps:
            span = b""
            for line in maps:
                head = line.split(b" ", 2)
                if head[0].endswith(b":"):  # (smaps: a field of the mapping above)
                    if head[0] == b"VmFlags:" and b"dp" in line.split()[1:]:
                        start, end = span.split(b"-")
                        found.append((int(start, 16), int(end, 16)))
                    continue
                span, perms = head[:2]
                if perms[3:4] == b"s":
                    start, end = span.split(b"-")
                    found.append((int(start, 16), int(end, 16)))
                # (a socket's ring of kernel pages is one mapped privately too)
                rings = rings or _is_kernel_ring(_mapping_name(line))
    except (OSError, ValueError):
        return None
    return tuple(found), rings


#: what /proc/PID/fd names a descriptor through which the kernel acts for its holder, with no
#: call of the holder's to check (class 5; the calls that make them are refused in the tree),
#: and what it does: a fanotify group (each event read carries a new descriptor of the file
#: another process opened), an io_uring (work queued before -- a READ of a pipe linked to an
#: OPENAT -- runs when the holder merely writes its own pipe: review 5, finding 2)
_AGENTS = {
    "anon_inode:[fanotify]": "a fanotify group, whose events open files for it unseen",
    "anon_inode:[io_uring]": "an io_uring, whose queued work the kernel runs for it unseen",
}


def agent_descriptor(task: str) -> tuple[int, str] | None:
    """A descriptor of the task's table (``task``: "PID/task/TID") through which the kernel
    acts for it (:data:`_AGENTS`) and what it is, or None (none, or the task is gone)."""
    try:
        fds = os.listdir(f"/proc/{task}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            what = _AGENTS.get(os.readlink(f"/proc/{task}/fd/{fd}"))
        except OSError:
            continue
        if what is not None:
            return int(fd), what
    return None


def maps_uring(task: str) -> bool:
    """Whether the task's address space maps an io_uring's ring (its descriptor may be closed:
    the mapping keeps the ring and the work queued in it alive); True when the maps cannot
    be read (fail closed: the task is not gone, we checked it is stopped)."""
    try:
        with open(f"/proc/{task}/maps", "rb") as maps:
            return any(_mapping_name(line).endswith(_URING) for line in maps)
    except FileNotFoundError:
        return False  # (gone)
    except OSError:
        return True


#: what a task may share with another without being its thread (clone(2) without CLONE_THREAD)
_SHARED_OBJECTS = ((KCMP_VM, "memory"), (KCMP_FILES, "descriptor table"),
                   (KCMP_FS, "working directory and root"))


def outside_sharer(tids: list[int], tracer: int) -> tuple[int, str] | None:
    """A task that no one of ``tids`` is and that ``tracer`` does not trace, sharing an address
    space, a descriptor table or an fs context with one of ``tids`` -- and what it shares --,
    or None.

    ``--attach`` seizes one process's threads; a peer it made before with clone(CLONE_VM),
    CLONE_FILES or CLONE_FS and no CLONE_THREAD is no thread of it, and runs untraced: it can
    rewrite the buffers of a checked call, dup2 over its dirfd or move its cwd between the
    check and the kernel's lookup, where the tracer counts the process alone (red team 12,
    attach_peer.c).  Every task in /proc is compared with each distinct object of ``tids``
    (kcmp).  A task the tracer may not compare (EPERM: another user's, or one that made itself
    undumpable, when the tracer lacks CAP_SYS_PTRACE) is not counted (a limit:
    docs/security.md); one gone meanwhile shares nothing any more."""
    kinds = [(kind, what, distinct(tids, kind)) for kind, what in _SHARED_OBJECTS]
    ours = set(tids)
    for other in procfs.every_task():
        if other in ours:
            continue
        for kind, what, mine in kinds:
            if any(_same(other, tid, kind) for tid in mine):
                if procfs.tracer_of(other) == tracer:
                    break  # (a child it made while it was attached: traced)
                return other, what
    return None


def distinct(tids: list[int], *kinds: int) -> list[int]:
    """One task of each distinct kernel object -- or combination, with several ``kinds``
    (KCMP_FILES, KCMP_FS, KCMP_VM) -- among ``tids``, in order: threads mostly share their
    descriptor table, which is then looked at once.  The kernel says which are shared (kcmp);
    a pair it will not compare counts as distinct (looked at twice: never missed)."""
    kept: list[int] = []
    for tid in tids:
        if not any(all(_same(tid, other, kind) for kind in kinds) for other in kept):
            kept.append(tid)
    return kept


def _same(a: int, b: int, kind: int) -> bool:
    try:
        return pt.kcmp(a, b, kind) == 0
    except OSError:
        return False


def overlaps(ranges: tuple[tuple[int, int], ...], address: int, size: int) -> bool:
    """Whether [address, address + size) meets one of ``ranges`` (size 0 counts as 1)."""
    end = address + max(size, 1)
    return any(start < end and address < stop for start, stop in ranges)
