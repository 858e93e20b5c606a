"""The x86_64 system call table: the one place that says what each call is and how the engine
treats it.

Every number the kernel gives a call (0..336 and 424..MAX_NR on x86_64; 337..423 are reserved
and unused) has one :class:`Call` record: its name and number, its arguments and what kind of
thing each one is (a path and how the kernel resolves it, a dirfd, a descriptor whose file the
call acts on, open flags, a socket address...), the aliases it can belong to, whether a fsread
use reveals a file's content or only its metadata, and the engine's treatment of it.  Every
other table -- the aliases, the decoders' argument tables, the filter plan's inputs, the
guards, the freeze sets, the records' call sets -- is *derived* from this one, so a fact about a
call is written once and cannot drift between two places.

Facts are checked against the kernel's prototypes (include/linux/syscalls.h and the syscall
bodies) and tests/unit/test_syscall_table.py walks the whole table.  Only the native 64-bit
ABI is described: the seccomp prefilter refuses the i386 and x32 entry points outright, so no
stop is ever read with another table.

Rules are data, not code (a follow rule is ``unless_flag(3, AT_SYMLINK_NOFOLLOW)``, a guard a
list of register tests), so both the BPF compiler and the stop-time checks read the same
definition, and another implementation could read them too.
"""

# No "from __future__ import annotations" here: typing.NamedTuple compiles each string
# annotation (a millisecond for this module's records), while real ones cost nothing.
import errno
import functools
from collections.abc import Sequence
from typing import Final, NamedTuple, NewType, TypeAlias

from systrace_py import tag_values
from systrace_py.kernel import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_UNIX,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    BTRFS_DESTROY_IOCTLS,
    BTRFS_SUBVOLUME_IOCTLS,
    BTRFS_UNNAMED_IOCTLS,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_UNTRACED,
    F_SETFL,
    F_SETOWN,
    F_SETOWN_EX,
    FAN_MARK_DONT_FOLLOW,
    FILE_CHANGING_IOCTLS,
    FIOASYNC,
    FIOSETOWN,
    FSPICK_EMPTY_PATH,
    FSPICK_SYMLINK_NOFOLLOW,
    IN_DONT_FOLLOW,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_UDPLITE,
    KEYCTL_SEARCH,
    KEYRING_WIDENING_KEYCTLS,
    LOOP_ATTACH_IOCTLS,
    MADV_FREE,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_SHARED,
    MOVE_MOUNT_F_EMPTY_PATH,
    MOVE_MOUNT_F_SYMLINKS,
    MOVE_MOUNT_SET_GROUP,
    MOVE_MOUNT_T_EMPTY_PATH,
    MOVE_MOUNT_T_SYMLINKS,
    MREMAP_FIXED,
    O_ASYNC,
    O_CREAT,
    O_EXCL,
    O_NOFOLLOW,
    O_RDONLY,
    O_RDWR,
    OPEN_TREE_CLONE,
    PACKET_RX_RING,
    PACKET_TX_RING,
    PR_SET_DUMPABLE,
    PR_SET_MM,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_SECCOMP,
    PROCESS_MADVISE_KEEPS,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    REFUSED_SOCKOPTS,
    RENAME_EXCHANGE,
    RLIMIT_CORE,
    SECCOMP_FILTER_FLAG_NEW_LISTENER,
    SECCOMP_SET_MODE_FILTER,
    SHM_REMAP,
    SIOCSPGRP,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_MAX,
    SOCK_NONBLOCK,
    SOCK_STREAM,
    SOL_PACKET,
    SOL_XDP,
    TIOCLINUX,
    TIOCSTI,
    TUNSETIFF,
    UMOUNT_NOFOLLOW,
    USERFAULTFD_IOC_NEW,
)

_U64 = 0xFFFFFFFFFFFFFFFF
_LOW32 = 0xFFFFFFFF


#: what one argument is: one of :class:`Kind`'s values
ArgKind = NewType("ArgKind", str)


class Kind:
    """What one argument is, as far as deciding on the call is concerned; :data:`KINDS` lists
    them.  Str tags in a class, not an enum: an Enum class costs 0.4-1.5 M instructions to make
    at import, at every run (issue 16)."""

    #: a value taken as it is: a count, a size, a mode, an id
    INT: Final = ArgKind("int")
    #: a bit mask (follow and empty-path rules name its bits)
    FLAGS: Final = ArgKind("flags")
    #: an operation selector (ioctl request, prctl option...)
    CMD: Final = ArgKind("cmd")
    #: a descriptor used as a handle: its file is not what rules are about
    FD: Final = ArgKind("fd")
    #: the socket a call with an address acts on: its family, type and protocol say how the kernel
    #: reads that address (destinations.py)
    SOCKET: Final = ArgKind("socket")
    #: a descriptor whose file the call acts on: decided on that file
    FILE: Final = ArgKind("file")
    #: where a relative path starts (AT_FDCWD: the cwd)
    DIRFD: Final = ArgKind("dirfd")
    #: a path the kernel resolves (see Path)
    PATH: Final = ArgKind("path")
    #: a path only for some commands, or one inside a struct: the call cannot be decided on it, so
    #: it is refused as unsafe
    MAYBE_PATH: Final = ArgKind("maybe_path")
    #: a mount's options (or an fsconfig value): strings, paths or descriptors by the file system
    #: and key (systrace_py.views)
    OPTIONS: Final = ArgKind("options")
    #: a C string that names no file (xattr or key name, link target)
    STRING: Final = ArgKind("string")
    #: open(2) flags in a register
    OPEN_FLAGS: Final = ArgKind("open_flags")
    #: struct open_how * (openat2): flags, mode, resolve in memory
    OPEN_HOW: Final = ArgKind("open_how")
    #: struct clone_args * (clone3, its size in Arg.length): its flags get clone's check, and the
    #: kernel gets the struct checked
    CLONE_ARGS: Final = ArgKind("clone_args")
    #: a struct sockaddr * the call sends to or binds (Arg.length)
    SOCKADDR: Final = ArgKind("sockaddr")
    #: struct user_msghdr * of sendmsg: an address, control messages
    MSGHDR: Final = ArgKind("msghdr")
    #: struct mmsghdr[] of sendmmsg: one msghdr per message
    MMSGHDR: Final = ArgKind("mmsghdr")
    #: an exec's argument vector
    ARGV: Final = ArgKind("argv")
    #: an exec's environment
    ENVP: Final = ArgKind("envp")
    #: a process, thread or group id
    PID: Final = ArgKind("pid")
    #: a signal number
    SIGNAL: Final = ArgKind("signal")
    #: an address in the caller's own address space (mappings)
    ADDR: Final = ArgKind("addr")
    #: a buffer or struct in the caller's memory
    PTR: Final = ArgKind("ptr")


#: every one, in the order written
KINDS: tuple[ArgKind, ...] = tag_values(Kind)


#: what the engine does with a call: :class:`Treat`'s bits, or'd
Treatment: TypeAlias = int


class Treat:
    """What the engine does with a call: bits of an int (:data:`Treatment`).  Every call has
    PLAIN or at least one decoding treatment (PATH, FILE, ADDRESS, ARGV); the others add to it.
    Plain int constants, not an IntFlag: the class cost ~1.6 M instructions to make at import,
    and each ``|`` of the table's ~2,300 (issue 16)."""

    #: decided by its name alone: the engine reads none of its arguments
    PLAIN: Final = 1 << 0
    #: its Path arguments are resolved in the caller's view, decided on and held: the kernel gets
    #: the checked path (engine.enforce)
    PATH: Final = 1 << 1
    #: decided on the file behind its FILE descriptor
    FILE: Final = 1 << 2
    #: its socket address(es) are decoded, decided on and held
    ADDRESS: Final = 1 << 3
    #: an exec: argv decoded on demand, what really ran checked after
    ARGV: Final = 1 << 4
    #: an open: classes by access mode, held as openat2 without symlinks, writing /proc/PID/mem
    #: refused
    OPEN: Final = 1 << 5
    #: gives the file at its "old" path a "new" name (link, rename)
    NAMES: Final = 1 << 6
    #: moves its "old" path with everything below it (rename)
    MOVES: Final = 1 << 7
    #: the kernel resolves what was checked again and acts on it: in a tree of several tasks it
    #: runs with the others stopped
    FREEZE: Final = 1 << 8
    #: its control messages are read (every message's): source routes are refused (unless the run
    #: lifts them: Lift.ROUTES)
    CONTROL: Final = 1 << 9
    #: refused with EPERM unless a rule names it (never by a default)
    UNSAFE: Final = 1 << 10
    #: refusing it kills the caller (a dropped privilege must not be ignored)
    KILL: Final = 1 << 11
    #: changes (or prepares a change of) what paths mean for some task: a mount namespace, a root,
    #: a mount.  It always stops, unless refused outright, and the engine's views of every task are
    #: read again after it
    VIEW: Final = 1 << 12
    #: a path it names shows a file, with everything below it, under another name, or replaces what
    #: a path shows (mounts): decided for every rule naming a file there (Path.exposes;
    #: Table._exposure_decision)
    EXPOSES: Final = 1 << 13
    #: ends the caller (exit, exit_group): it always runs -- an end exposes nothing, and a refused
    #: one is made again forever (glibc's _exit): a default or rule refusing it would hang the
    #: program
    ENDS: Final = 1 << 14


#: every treatment bit, in the order written
TREATS: tuple[Treatment, ...] = tag_values(Treat)


#: what a fsread use of a call gives the program: one of :class:`Reveals`'s values
Revelation = NewType("Revelation", str)


class Reveals:
    """What a fsread use of a call gives the program; :data:`REVELATIONS` lists them.  Str tags
    in a class, not an enum (start-up, issue 16: see :class:`Kind`)."""

    #: the file's data (open for reading, exec, a new name for it)
    CONTENT: Final = Revelation("content")
    #: only facts about it: stat, access, readlink, xattrs, statfs...
    METADATA: Final = Revelation("metadata")


#: every one, in the order written
REVELATIONS: tuple[Revelation, ...] = tag_values(Reveals)


# The records are NamedTuples: typed and immutable like frozen dataclasses, at a tenth of the
# cost to define and to build (this module is imported at every run; see the module's test).

# --- rules: when a path's last component is followed, when an empty path means the dirfd ------
def _open_follows(flags: int) -> bool:
    """open(2) follows a last symlink unless O_NOFOLLOW, or O_CREAT|O_EXCL (which must create)."""
    return not (flags & O_NOFOLLOW or (flags & O_CREAT and flags & O_EXCL))


class Rule(NamedTuple):
    """A condition on a call's arguments, as data.  ``when``:

    * "always", "never";
    * "if_flag" / "unless_flag": ``bit`` is set / not set in argument ``arg``;
    * "open_flags": open(2)'s rule (follow unless O_NOFOLLOW or O_CREAT|O_EXCL) on the flags in
      argument ``arg``;
    * "open_how": the same on the flags of openat2's struct open_how (read from memory: the
      decoded open flags);
    * "one_of": the C int (or unsigned int) in argument ``arg`` -- its low 32 bits, as the
      kernel reads it -- is one of ``values`` (an ioctl request);
    * "nonzero": argument ``arg`` is not 0 (a pointer given: sendto's address);
    * "none_of": the C int in argument ``arg`` is none of ``values`` (a dirfd that is not
      AT_FDCWD).
    """

    when: str
    arg: int = 0
    bit: int = 0
    values: frozenset[int] = frozenset()

    def holds(self, args: Sequence[int], open_flags: int | None = None) -> bool:
        when = self.when
        if when == "unless_flag":
            return not args[self.arg] & self.bit
        if when == "if_flag":
            return bool(args[self.arg] & self.bit)
        if when == "always":
            return True
        if when == "never":
            return False
        if when == "open_flags":
            return _open_follows(args[self.arg])
        if when == "one_of":
            return args[self.arg] & _LOW32 in self.values
        if when == "nonzero":
            return args[self.arg] != 0
        if when == "none_of":
            return args[self.arg] & _LOW32 not in self.values
        assert when == "open_how", when
        return _open_follows(open_flags or 0)

    def holds_on(self, value: int) -> bool:
        """The rule for a call whose argument ``arg`` is ``value`` (a rule that reads one
        register: every rule but "open_how")."""
        return self.holds((0,) * self.arg + (value,))

    def witnesses(self) -> tuple[int, int]:
        """A value of argument ``arg`` for which the rule holds and one for which it does not
        (the two cases a filter plan tells apart)."""
        when = self.when
        if when == "if_flag":
            return self.bit, 0
        if when == "unless_flag":
            return 0, self.bit
        if when == "nonzero":
            return 1, 0
        if when == "none_of":
            held, not_held = Rule("one_of", self.arg, 0, self.values).witnesses()
            return not_held, held
        assert when == "one_of" and self.values, when
        return min(self.values), next(v for v in range(len(self.values) + 1)
                                      if v not in self.values)


ALWAYS = Rule("always")
NEVER = Rule("never")
OPEN_HOW = Rule("open_how")


def if_flag(arg: int, bit: int) -> Rule:
    return Rule("if_flag", arg, bit)


def unless_flag(arg: int, bit: int) -> Rule:
    return Rule("unless_flag", arg, bit)


def open_flags(arg: int) -> Rule:
    return Rule("open_flags", arg)


def one_of(arg: int, values: frozenset[int]) -> Rule:
    return Rule("one_of", arg, 0, values)


def none_of(arg: int, values: frozenset[int]) -> Rule:
    return Rule("none_of", arg, 0, values)


# --- arguments ---------------------------------------------------------------------------------
class Arg(NamedTuple):
    """One argument that is not a path.  ``length``: for a SOCKADDR or an OPEN_HOW, the index
    of the argument that holds its size."""

    name: str
    kind: ArgKind
    length: int | None = None


class Path(NamedTuple):
    """A path argument.

    ``role`` names it in rules and logs ("path"; "old"/"new" for calls with two); ``dirfd`` is
    the index of the descriptor a relative path starts from (None: the cwd); ``follow`` says
    when its last component is followed if it is a symlink; ``empty`` when an empty string
    means the dirfd itself (AT_EMPTY_PATH); ``creates`` that the call makes this name;
    ``classes`` the aliases of this path's check when they are not all the call's (the new name
    of a rename is only written); ``renamed`` when the file at this path gets a new name (the
    "old" path of a link or rename; with RENAME_EXCHANGE the "new" one too): it is then checked
    with all the call's aliases, read as well as written, and must not be a file a refusing rule
    names (``policy.model.Table.decide``); ``exposes`` when the call shows the file there, with
    all below it, under another name or replaces what lies there (a mount's source and target).
    """

    name: str
    role: str = "path"
    dirfd: int | None = None
    follow: Rule = ALWAYS
    empty: Rule = NEVER
    creates: bool = False
    classes: frozenset[str] | None = None
    exposes: Rule = NEVER
    kind: ArgKind = Kind.PATH  # (a field, not a property: reading it is as cheap as for an Arg)
    renamed: Rule = NEVER
    null: Rule = NEVER


# --- guards: cases the engine refuses whatever the policy says ---------------------------------
#: a value known only when the filter is built: one of :class:`Param`'s names
ParamName = NewType("ParamName", str)


class Param:
    """A value known only when the filter is built: the tracer's pid, the scratch area's place
    (see :mod:`systrace_py.engine.scratch`); :data:`PARAMS` lists them.  Str tags in a class,
    not an enum (start-up, issue 16: see :class:`Kind`): a test's value is a ``ParamName``
    (a str) or an int."""

    TRACER_PID: Final = ParamName("tracer_pid")
    AREA_BASE: Final = ParamName("area_base")    # the scratch area's first address
    AREA_END: Final = ParamName("area_end")      # the first address after it
    AREA_MASK: Final = ParamName("area_mask")    # the address bits that place an address inside it


#: every one, in the order written
PARAMS: tuple[ParamName, ...] = tag_values(Param)


class Test(NamedTuple):
    """One test on the registers.  ``op``:

    * "eq": ``args[arg] & mask == value``;
    * "ne", "lt", "ge": the whole 64-bit register against ``value`` (unsigned);
    * "touches": the range ``[args[arg], args[arg] + args[value])`` overlaps the scratch area
      (length 0 counts as one byte).  No BPF rule says that exactly: the filter stops a cheap
      superset of the case and the tracer decides.
    """

    arg: int
    op: str
    value: int | ParamName
    mask: int | ParamName = _U64


Case = tuple[Test, ...]


#: what lifts a guard for a whole run: one of :class:`Lift`'s values
LiftTag = NewType("LiftTag", str)


class Lift:
    """What lifts a guard for a whole run (``FilterPlan.lifted``, from every table of the
    run: a process keeps what it did under one table after an exec into another);
    :data:`LIFTS` lists them (str tags, not an enum: start-up, issue 16; see :class:`Kind`).

    * ``ROUTES``: source routes matter only where a rule decides where IP packets go; a run
      in which no table does (no rule with a network condition, no redirect to an address,
      nothing that asks about a destination) lifts the source-route guards (and the refusal
      of ioctl's TUNSETIFF: a tun device's packets go where no address rule looks).
    * ``CORE``: core dumps, which the kernel writes outside every policy, are granted when
      every table has a rule that names ``setrlimit`` or ``prlimit64`` and permits it (as an
      unsafe call's refusal is lifted; a rule refusing them grants nothing); the program
      then starts with its limits as they were, and may raise them.
    * ``CALLOUT``: a ``request_key`` with callout data has the kernel construct the key by
      running its helper (/sbin/request-key, as root, outside the traced tree) with the
      program's type, description and callout -- a DNS lookup of a name the program chose
      for ``dns_resolver``, whatever request-key.conf runs for other types; granted when every
      table has a rule that names ``request_key`` and permits it (as CORE).
    """

    ROUTES: Final = LiftTag("routes")
    CORE: Final = LiftTag("core")
    CALLOUT: Final = LiftTag("callout")


#: every one, in the order written
LIFTS: tuple[LiftTag, ...] = tag_values(Lift)


class Guard(NamedTuple):
    """A case of a call the engine refuses whatever the policy says.

    The guard holds when every test of any of ``cases`` holds (an empty case always does).
    Without ``check`` the call then fails with ``errno``.  With one (a *stop guard*) the call
    stops and the tracer's check of that name decides, reading what argument ``arg`` points
    at (memory, a descriptor, a task): registers alone cannot tell.  ``refused``: cases of a
    stop guard's call that the registers decide, refused with ``errno`` by the filter (one
    call, one guard: ioctl's requests).  ``routed``: more such cases, refused only where a
    rule decides where IP packets go (a run that lifts ``Lift.ROUTES`` lets them through):
    ioctl's TUNSETIFF.  ``lift``: the run-wide condition (:class:`Lift`) under which the
    guard does not apply -- but for its ``kept`` cases, which a lift leaves (prlimit64 of
    the tracer's limits: a grant of core dumps is no grant of those).
    """

    cases: tuple[Case, ...]
    errno: int = 0
    check: str | None = None
    arg: int = 0
    lift: LiftTag | None = None
    refused: tuple[Case, ...] = ()
    routed: tuple[Case, ...] = ()
    kept: tuple[Case, ...] = ()

    @property
    def always(self) -> bool:
        """Whether it refuses the call whatever its arguments (the policy cannot matter)."""
        return self.check is None and () in self.cases


#: Calls the kernel fails with EINTR, instead of restarting them, when a stop interrupts them
#: (signal(7), "Interruption of system calls and library functions by stop signals"), each
#: with the argument that is its timeout and whether it is a pointer (else milliseconds in a
#: register, negative: none).  Each has done nothing when it fails so.  A stop of the
#: tracer's (PTRACE_INTERRUPT, freezing the tree) or a signal the task ignores must not show:
#: such a call is restarted as if nothing had happened (LTP fcntl33, rt_sigtimedwait01).
EINTR_ON_STOP: dict[str, tuple[int, bool] | None] = {
    "rt_sigtimedwait": (2, True), "epoll_wait": (3, False), "epoll_pwait": (3, False),
    "epoll_pwait2": (3, True), "semop": None, "semtimedop": (3, True)}
#: Of those, the waits with a timeout restarted with the time left: the kernel keeps no record
#: of it (they return EINTR, no restart block), so the filter stops them at entry when they
#: wait for a time (a timeout pointer given; a positive timeout in milliseconds), for the
#: tracer to learn the deadline (Tracer._note_wait).  Restarted whole, a wait that a signal
#: or a freeze interrupts every so often would never end.  epoll's waits with a timeout are
#: in every event loop: the stop costs ~30-40 us a wait (docs/security.md); with none (-1)
#: or none to wait (0) they do not stop.  The calls the kernel restarts itself after a stop
#: (poll, ppoll, select, pselect6, nanosleep, clock_nanosleep, futex: ERESTARTNOHAND or a
#: restart block with the time left) are not here.  In a process of several threads such a wait
#: stops at its exit too (Tracer._wait_exit): an ignored signal another thread took may have
#: ended it with EINTR that no stop of its shows.
TIMED_RESTARTS: frozenset[str] = frozenset({"rt_sigtimedwait", "semtimedop", "epoll_wait",
                                            "epoll_pwait", "epoll_pwait2"})

#: the sign bit of a C int
_INT_SIGN = 1 << 31


def timed_wait_cases(name: str) -> tuple[Case, ...]:
    """The registers of a timed wait of :data:`TIMED_RESTARTS`: a timeout pointer given, or a
    positive int of milliseconds -- its sign bit clear and one of the others set (a filter
    rule compares an argument once: one case for each of the 31 bits)."""
    timeout = EINTR_ON_STOP[name]
    assert timeout is not None, name
    index, pointer = timeout
    if pointer:
        return ((Test(index, "ne", 0),),)
    return tuple((Test(index, "eq", 1 << bit, _INT_SIGN | 1 << bit),) for bit in range(31))


def _none_of(arg: int, kept: Sequence[int]) -> tuple[Case, ...]:
    """The cases of a register that is none of ``kept`` (whole 64-bit values): each gap
    between them as aligned blocks of a power of two in size (one masked compare each: a
    filter rule compares an argument once), the values above the last one compare."""
    cases: list[Case] = []
    low = 0
    for value in sorted(set(kept)):
        while low < value:  # [low, value) as aligned blocks
            size = low & -low if low else 1 << 63
            while low + size > value:
                size >>= 1
            cases.append((Test(arg, "eq", low, _U64 & ~(size - 1)),))
            low += size
        low = value + 1
    cases.append((Test(arg, "ge", low),))
    return tuple(cases)


def _eq32(arg: int, value: int | ParamName) -> Test:
    """A C int (or unsigned int) argument equals ``value``: the kernel reads the low 32 bits."""
    return Test(arg, "eq", value, _LOW32)


def _bits(arg: int, bits: int) -> Test:
    return Test(arg, "eq", bits, bits)


def _touches(addr: int, length: int) -> Test:
    return Test(addr, "touches", length)


_AREA = (_touches(0, 1),)  # a call on the range (args 0, 1)
#: a pid argument may name any task of the tracer (kill(TID) reaches the process of a thread),
#: or a process group, or every process: the call always stops and the tracer checks the target
#: against all its tasks (engine.signals)
_PID_GUARD = Guard(((),), check="task_target", arg=0)
#: the debug calls a rule may name (ptrace, process_vm_readv/writev) reach no task of the tree
#: (each is traced already: the kernel's EPERM) but every process outside it -- the tracer
#: too: a root tree seized it, or wrote its stack (red team 45, debug_tracer.c).  Never the
#: tracer's, whatever the policy says: the call stops and its pid (``arg``) is checked
#: against every task of the tracer, as a signal's is (engine.signals)
_DEBUG_GUARD = Guard(((),), check="debug_target", arg=0)


class Shares(NamedTuple):
    """The cases (register tests, as a guard's, and exact) in which a call lets something
    that is no task of the traced tree write the caller's memory: another process sharing
    pages (a MAP_SHARED mapping, a SysV segment), or the kernel completing I/O later (an AIO
    context, an io_uring, an XDP umem), or whoever reads a userfaultfd.  No task the engine
    counts is then needed to rewrite an argument between its check and its use, so from that
    call on (until the next exec) such arguments are held even in a tree of one task
    (Tracer._must_hold).  ``anywhere``: the writes may land in any of the caller's pages;
    otherwise only in the shared pages the call maps, which /proc/PID/maps then shows.  The
    filter stops these cases even when the policy permits the call."""

    cases: tuple[Case, ...]
    anywhere: bool = False
    #: the pages written are the kernel's, inserted into whatever mapping any holder of the
    #: descriptor makes of it -- a MAP_PRIVATE one too, which does not stop (a packet
    #: socket's ring; AF_XDP's): every address space of the tree counts as written anywhere
    #: from then on, after any exec (the descriptor outlives both), for the rest of the run
    tree: bool = False
    #: the writer only turns pages to zeros (the reclaim of MADV_FREE pages): it can take a
    #: pointer or a length away, never make one (Tracer._messages_written_outside)
    zeros: bool = False
    #: cases (of ``cases``) that are ``tree`` where the others are not: seccomp.shares_memory
    #: answers them with ``tree`` set (a loop device's attach, on ioctl beside
    #: USERFAULTFD_IOC_NEW, which shares as the userfaultfd call does)
    tree_cases: tuple[Case, ...] = ()


_ALWAYS_SHARES_PAGES = Shares(((),))

#: mmap or mprotect making an execute-only mapping: the kernel asks for exactly PROT_EXEC (less
#: PROT_GROWSDOWN/UP), and gives it its execute-only key; stopped: exec without read or write
_EXEC_ONLY = ((Test(2, "eq", PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC),),)
_ALWAYS_WRITES_ANYWHERE = Shares(((),), anywhere=True)


class Sockets(NamedTuple):
    """The sockets whose destinations the engine decodes exactly, as the kernel reads them
    (:mod:`systrace_py.engine.destinations`): ``seen`` maps a family to None (every type and
    protocol of it) or to its types, each with its protocols (0: the type's default, which is
    one of the others).  Any other socket chooses where its packets go outside its address
    (raw sockets write their own IP header, packet sockets name a device, SCTP and MPTCP reach
    addresses the peer or a socket option names...): under address rules -- a refusing, asking
    or redirecting rule with an address condition in any table of the run -- the call making
    one fails with ``errno`` unless a rule of the process's table names the call (or its
    alias), as an unsafe call's refusal is lifted.  The filter answers it from the registers
    (:func:`unseen_cases`); the tracer asks :func:`makes_unseen` at a stop."""

    seen: dict[int, dict[int, frozenset[int]] | None]
    errno: int


#: families whose sockets the filter refuses when they are not seen: every family this kernel
#: has (below its AF_MAX, 46 in 6.18) and the ones a newer kernel may add, up to 64 -- for
#: those this kernel answers EAFNOSUPPORT, the filter the refusal's errno (fail closed)
UNSEEN_FAMILIES_END = 64
#: the bits of socket()'s type that are flags, not the type (others make it EINVAL)
SOCKET_TYPE_FLAGS = SOCK_NONBLOCK | SOCK_CLOEXEC


def _blocks(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as aligned power-of-two blocks: (first value, size)."""
    out = []
    while start < end:
        size = start & -start if start else 1 << (end - 1).bit_length()
        while start + size > end:
            size >>= 1
        out.append((start, size))
        start += size
    return out


def _gaps(allowed: frozenset[int] | set[int], end: int) -> list[tuple[int, int]]:
    """The values of [0, end) not allowed, as blocks."""
    out: list[tuple[int, int]] = []
    start = 0
    for value in [*sorted(v for v in allowed if v < end), end]:
        out.extend(_blocks(start, value))
        start = value + 1
    return out


def _low32_block(arg: int, start: int, size: int, ignored: int = 0) -> Test:
    """The C int in ``arg`` (the kernel reads its low 32 bits, less ``ignored`` bits) lies in
    the block [start, start + size)."""
    return Test(arg, "eq", start, _LOW32 & ~(size - 1) & ~ignored)


@functools.cache
def unseen_cases(name: str) -> tuple[Case, ...]:
    """The register tests (a guard's form) under which call ``name`` makes a socket that its
    ``unseen`` does not see, and that the kernel would make: flags valid and a type below
    SOCK_MAX (else EINVAL comes first); any protocol (inet_create checks it after the point
    where such a refusal stands, like an LSM's).  A protocol register with bits above the low
    32 set is refused even when the kernel would read an allowed one (fail closed: no compiler
    passes such a value)."""
    sockets = BY_NAME[name].unseen
    assert sockets is not None, name
    valid_types = _blocks(0, SOCK_MAX)
    cases: list[Case] = []
    for start, size in _gaps(set(sockets.seen), UNSEEN_FAMILIES_END):
        for type_start, type_size in valid_types:
            cases.append((_low32_block(0, start, size),
                          _low32_block(1, type_start, type_size, SOCKET_TYPE_FLAGS)))
    for family, types in sockets.seen.items():
        if types is None:
            continue
        for type_start, type_size in _gaps(set(types), SOCK_MAX):
            cases.append((_eq32(0, family),
                          _low32_block(1, type_start, type_size, SOCKET_TYPE_FLAGS)))
        for kind, protocols in types.items():
            top = max(protocols) + 1
            for start, size in _gaps(protocols, top):
                cases.append((_eq32(0, family), _low32_block(1, kind, 1, SOCKET_TYPE_FLAGS),
                              _low32_block(2, start, size)))
            cases.append((_eq32(0, family), _low32_block(1, kind, 1, SOCKET_TYPE_FLAGS),
                          Test(2, "ge", top)))
    return tuple(cases)


def compare(op: str, register: int, value: int, mask: int = _U64) -> bool:
    """A :class:`Test`'s comparison of a register with its (resolved) value and mask: every op
    but "touches", which the engine tests against its scratch area."""
    if op == "eq":
        return register & mask == value
    if op == "ne":
        return register != value
    if op == "lt":
        return register < value
    assert op == "ge", op
    return register >= value


def makes_unseen(name: str, args: Sequence[int]) -> bool:
    """Whether this call makes a socket its ``unseen`` does not see: :func:`unseen_cases` on
    the registers, exactly as the filter tests them."""
    if BY_NAME[name].unseen is None:
        return False
    return any(all(compare(t.op, args[t.arg], t.value, t.mask)  # type: ignore[arg-type]
                   for t in case) for case in unseen_cases(name))


def seen_socket(sockets: Sockets, family: int, kind: int, protocol: int) -> bool:
    """Whether a socket of this family, type and protocol (as SO_DOMAIN, SO_TYPE and
    SO_PROTOCOL give them) is one ``sockets`` sees."""
    if family not in sockets.seen:
        return False
    types = sockets.seen[family]
    return types is None or protocol in types.get(kind, ())


# --- the record --------------------------------------------------------------------------------
class Call(NamedTuple):
    """One system call.  ``on_descriptor``: the descriptor call it stands for when its path is
    empty and means its dirfd (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)).  ``ni``:
    the kernel has no entry point for it on x86_64 (it answers ENOSYS).  ``aliases_when``: the
    call is in its aliases only when this rule holds, and in none otherwise (ioctl is fswrite
    only for the requests that change a file).  ``shares``: when the call lets something that
    is no task of the traced tree write the caller's memory (see :class:`Shares`).
    ``unseen``: the sockets it makes that address rules can see (see :class:`Sockets`).
    ``keys``: the cases (register tests, as a guard's; a superset is fine) in which the call
    may give a mapping a protection key -- from then on (until exec) the caller's reads obey
    the keys (:mod:`systrace_py.engine.pkeys`); the filter stops them even when the policy
    permits the call."""

    nr: int
    name: str
    args: tuple[Arg | Path, ...]
    aliases: frozenset[str]
    treat: Treatment
    reveals: Revelation | None = None
    on_descriptor: str | None = None
    guard: Guard | None = None
    returns: bool = True
    ni: bool = False
    aliases_when: Rule = ALWAYS
    shares: Shares | None = None
    unseen: Sockets | None = None
    keys: tuple[Case, ...] | None = None

    def paths(self) -> tuple[tuple[int, Path], ...]:
        """(index, Path) of each path argument, in order."""
        return tuple((i, a) for i, a in enumerate(self.args) if isinstance(a, Path))

    def index_of(self, kind: ArgKind) -> int | None:
        """The index of the first argument of this kind, or None."""
        return next((i for i, a in enumerate(self.args) if a.kind == kind), None)


FSREAD, FSWRITE, EXEC = "fsread", "fswrite", "exec"
#: every alias a call's record names (a class its checks are in), in the order the
#: documentation lists them
ALIAS_NAMES = ("fsread", "fswrite", "exec", "net-connect", "net-bind", "net-listen",
               "net-accept", "net-socket", "signal", "process", "privilege", "namespace",
               "debug", "io-uring", "stdio")
#: Aliases for one *part* of a class, whose members come from the records, not from a list:
#: ``fsmeta`` the fsread checks of the calls whose fsread use reveals only METADATA (stat,
#: access, readlink...), ``fslink`` the checks of the path whose file a link or rename gives
#: a new name (not an exchange's: both its names also get the other file).  A check in such a
#: part is covered by rules naming its class *or* the part (first match wins, as always), so
#: a rule naming the class means what it always meant (policy.aliases.part_of).
FSMETA, FSLINK = "fsmeta", "fslink"
PART_ALIAS_NAMES = (FSMETA, FSLINK)

_T = Treat
_K = Kind
CONTENT, METADATA = Reveals.CONTENT, Reveals.METADATA
TABLE: dict[int, Call] = {}


# Building the table is most of this module's import time, which every run pays: records are
# made with tuple.__new__ (a NamedTuple's own __new__ is a Python function), and equal
# arguments and alias sets are made once and shared.
_new = tuple.__new__
_ALIAS_SETS: dict[str, frozenset[str]] = {}
_ARGS: dict[tuple[str, ArgKind], Arg] = {}


def _c(nr: int, name: str, args: tuple[Arg | Path, ...] = (), aliases: str = "",
       treat: Treatment = Treat.PLAIN, *, reveals: Revelation | None = None,
       on_descriptor: str | None = None, guard: Guard | None = None,
       returns: bool = True, ni: bool = False, aliases_when: Rule = ALWAYS,
       shares: Shares | None = None, unseen: Sockets | None = None,
       keys: tuple[Case, ...] | None = None) -> None:
    alias_set = _ALIAS_SETS.get(aliases)
    if alias_set is None:
        alias_set = _ALIAS_SETS[aliases] = frozenset(aliases.split())
    TABLE[nr] = _new(Call, (nr, name, args, alias_set, treat, reveals, on_descriptor, guard,
                            returns, ni, aliases_when, shares, unseen, keys))


def _a(name: str, kind: ArgKind = Kind.INT) -> Arg:
    arg = _ARGS.get((name, kind))
    if arg is None:
        arg = _ARGS[name, kind] = _new(Arg, (name, kind, None))
    return arg


_fd = functools.partial(_a, kind=Kind.FD)
_ptr = functools.partial(_a, kind=Kind.PTR)
_fl = functools.partial(_a, kind=Kind.FLAGS)
_FD, _FLAGS = _fd("fd"), _fl("flags")


def _at(name: str = "filename", follow: Rule = ALWAYS, empty: Rule = NEVER, *, dirfd: int = 0,
        role: str = "path", creates: bool = False, classes: str | None = None,
        exposes: Rule = NEVER, renamed: Rule = NEVER, null: Rule = NEVER) -> Path:
    """A path relative to the dirfd in argument ``dirfd``."""
    return _new(Path, (name, role, dirfd, follow, empty, creates,
                       frozenset(classes.split()) if classes is not None else None, exposes,
                       Kind.PATH, renamed, null))


def _p(name: str = "filename", follow: Rule = ALWAYS, *, role: str = "path",
       creates: bool = False, classes: str | None = None, exposes: Rule = NEVER,
       renamed: Rule = NEVER, null: Rule = NEVER) -> Path:
    """A path relative to the cwd."""
    return _new(Path, (name, role, None, follow, NEVER, creates,
                       frozenset(classes.split()) if classes is not None else None, exposes,
                       Kind.PATH, renamed, null))


_DFD = Arg("dfd", Kind.DIRFD)
_SOCK = Arg("fd", Kind.SOCKET)
_FILE = Arg("fd", Kind.FILE)
_PID = Arg("pid", Kind.PID)
_SIG = Arg("sig", Kind.SIGNAL)
_START, _LEN = Arg("start", Kind.ADDR), Arg("len", Kind.INT)


def _atf(arg: int) -> tuple[Rule, Rule]:
    """The usual *at flags in argument ``arg``: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH."""
    return unless_flag(arg, AT_SYMLINK_NOFOLLOW), if_flag(arg, AT_EMPTY_PATH)


def _at_maybe_null(name: str, arg: int) -> Path:
    """A path that getname_maybe_null reads (the stat and *xattrat calls, file_getattr and
    file_setattr): with AT_EMPTY_PATH in argument ``arg`` a NULL pointer, like "", is the
    dirfd itself; without it a NULL is read as any pointer (Path.null)."""
    follow, empty = _atf(arg)
    return _at(name, follow, empty, null=empty)


#: utimensat's and futimesat's NULL path with a descriptor: that descriptor (do_utimes); with
#: AT_FDCWD the NULL is read as a path
_NULL_UNLESS_CWD = none_of(0, frozenset({AT_FDCWD & _LOW32}))


# Aliases and treatments of the path calls, named once.
_R, _W = "fsread", "fswrite"
_RP = _T.PATH                             # a metadata read by path
_WP = _T.PATH | _T.FREEZE                 # a change made by path: the kernel resolves it again
_WF = _T.FILE | _T.FREEZE                 # a change made through a descriptor
_NS = _T.PATH | _T.FREEZE | _T.VIEW      # a change of what paths mean, by path
_NSX = _NS | _T.EXPOSES                   # ... that shows a file under another name
#: the namespace flags a clone(2) may carry (CLONE_NEWTIME's bit is its exit signal there):
#: each one makes clone stop, and the tracer decides it (systrace_py.views.clone_refusal)
_CLONE_NEW = (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
              CLONE_NEWPID, CLONE_NEWNET)

# fmt: off
# --- 0..99 -----------------------------------------------------------------------------------
_c(0, "read", (_FD, _ptr("buf"), _a("count")), "stdio")
_c(1, "write", (_FD, _ptr("buf"), _a("count")), "stdio")
_c(2, "open", (_p("filename", open_flags(1)), _a("flags", _K.OPEN_FLAGS), _a("mode")),
   "fsread fswrite", _T.PATH | _T.OPEN, reveals=CONTENT)
_c(3, "close", (_FD,), "stdio")
_c(4, "stat", (_p(), _ptr("statbuf")), _R, _RP, reveals=METADATA)
_c(5, "fstat", (_FILE, _ptr("statbuf")), "stdio", _T.FILE)
_c(6, "lstat", (_p("filename", NEVER), _ptr("statbuf")), _R, _RP, reveals=METADATA)
_c(7, "poll", (_ptr("ufds"), _a("nfds"), _a("timeout")), "stdio")
_c(8, "lseek", (_FD, _a("offset"), _a("whence")), "stdio")
# a shared mapping (MAP_SHARED or MAP_SHARED_VALIDATE) may be written by whoever else maps
# the same object: a process outside the tree, or the kernel (a packet socket's ring); a
# droppable one (MAP_DROPPABLE, the one mapping type with bit 3) by the kernel's reclaim,
# which turns its pages to zeros whenever memory is short (red team 9: race_reclaim.c)
_c(9, "mmap", (_a("addr", _K.ADDR), _a("len"), _a("prot"), _FLAGS, _FD, _a("pgoff")),
   "stdio", guard=Guard(((_touches(0, 1), _bits(3, MAP_FIXED)),), errno.EPERM),
   shares=Shares(((_bits(3, MAP_SHARED),), (_bits(3, MAP_DROPPABLE),))), keys=_EXEC_ONLY)
_c(10, "mprotect", (_START, _LEN, _a("prot")), "stdio", guard=Guard((_AREA,), errno.EPERM),
   keys=_EXEC_ONLY)
_c(11, "munmap", (_START, _LEN), "stdio", guard=Guard((_AREA,), errno.EPERM))
_c(12, "brk", (_a("brk", _K.ADDR),), "stdio")
_c(13, "rt_sigaction", (_SIG, _ptr("act"), _ptr("oact"), _a("sigsetsize")), "stdio")
_c(14, "rt_sigprocmask", (_a("how"), _ptr("set"), _ptr("oset"), _a("sigsetsize")), "stdio")
_c(15, "rt_sigreturn", (), "stdio")
# ioctl is decided by its request: the requests that change the file behind the descriptor
# though it was not opened for writing (kernel.FILE_CHANGING_IOCTLS: chattr flags, xflags,
# fs-verity...) are fswrite on that file, like fchmod; every other request is in no alias.
# USERFAULTFD_IOC_NEW (/dev/userfaultfd) makes what the userfaultfd call makes: it shares as
# that call does (stopping for it), and is decided as that call (DEVICE_CALLS).
# TIOCSTI/TIOCLINUX are refused (typing into the terminal); FIOSETOWN/SIOCSPGRP set a socket's
# owner as F_SETOWN does, from an int in memory, and FIOASYNC may set a terminal's (as
# F_SETFL's O_ASYNC): they stop and are checked as fcntl's.
# TUNSETIFF makes a tun descriptor, whose writes are packets for any destination: refused
# where a rule decides destinations, as the sockets that write their own headers are.
# A loop device's attach (kernel.LOOP_ATTACH_IOCTLS) stops too: the device reads (and may
# write) the file of a descriptor it is handed, whatever that descriptor's access mode --
# decided as an open of that file (Supervisor._loop_attach; known gap #44, gap44).  So
# does BTRFS_IOC_SEND, which writes a subvolume's every file into a descriptor, and so do
# BTRFS_IOC_ADD_DEV and BTRFS_IOC_DEV_REPLACE, which write a device named in their struct,
# and a tree search or inode paths, which read every file of a subvolume: refused where a
# rule decides by name (kernel.BTRFS_UNNAMED_IOCTLS, Supervisor._decide; gap44, review 30,
# red team 83).  So does a snapshot, which copies every file of the subvolume whose root's
# descriptor is in its struct under a new name: decided there as a read of that tree and
# the making of the new one (Supervisor._snapshot, DecodedCall.snapshot_source; close 27).
# A subvolume's creation (kernel.BTRFS_SUBVOLUME_IOCTLS, stopped by the guard: close 33) is
# decided there as a mkdir of the name in its struct too (Supervisor._subvolume); a subvolume's
# deletion (kernel.BTRFS_DESTROY_IOCTLS,
# stopped by the guard) as the removal of every path at and below the name in its struct, and
# refused where it names the subvolume by id alone (Supervisor._destroy; close 31).
# The attached device is also a writer of its file that is no task: what the tree writes to
# /dev/loopN reaches the file's page cache when the loop driver's worker writes the device's
# pages back -- a kernel thread, at a time of the writeback's choosing (sync_file_range starts
# it and does not wait) -- and a clean page of any MAP_PRIVATE mapping of the file shows it.
# So from an attach on, every address space of the tree counts as written anywhere (``tree``,
# as a packet ring: any process may map the file), and a path argument of a task alone is
# held (red team 54, loop_flip.c).
_LOOP_ATTACH_CASES = tuple((_eq32(1, request),) for request, _ in LOOP_ATTACH_IOCTLS)
_c(16, "ioctl", (_FILE, _a("cmd", _K.CMD), _a("arg")), _W, _WF,
   aliases_when=one_of(1, frozenset(request for request, _ in FILE_CHANGING_IOCTLS)),
   guard=Guard(((_eq32(1, FIOSETOWN),), (_eq32(1, SIOCSPGRP),), (_eq32(1, FIOASYNC),),
                *((_eq32(1, request),) for request, _ in LOOP_ATTACH_IOCTLS),
                *((_eq32(1, request),) for request, _ in BTRFS_UNNAMED_IOCTLS),
                *((_eq32(1, request),) for request, _ in BTRFS_DESTROY_IOCTLS),
                *((_eq32(1, request),) for request, _ in BTRFS_SUBVOLUME_IOCTLS)),
               errno.EPERM,
               check="ioctl_target", arg=2,
               refused=((_eq32(1, TIOCSTI),), (_eq32(1, TIOCLINUX),)),
               routed=((_eq32(1, TUNSETIFF),),)),
   shares=Shares(((_eq32(1, USERFAULTFD_IOC_NEW),), *_LOOP_ATTACH_CASES), anywhere=True,
                 tree_cases=_LOOP_ATTACH_CASES))
_c(17, "pread64", (_FD, _ptr("buf"), _a("count"), _a("pos")), "stdio")
_c(18, "pwrite64", (_FD, _ptr("buf"), _a("count"), _a("pos")), "stdio")
_c(19, "readv", (_FD, _ptr("vec"), _a("vlen")), "stdio")
_c(20, "writev", (_FD, _ptr("vec"), _a("vlen")), "stdio")
_c(21, "access", (_p(), _a("mode")), _R, _RP, reveals=METADATA)
_c(22, "pipe", (_ptr("fildes"),), "stdio")
_c(23, "select", (_a("n"), _ptr("inp"), _ptr("outp"), _ptr("exp"), _ptr("tvp")), "stdio")
_c(24, "sched_yield", (), "stdio")
# (it may move shared pages elsewhere: where they are is read again)
_c(25, "mremap", (_a("addr", _K.ADDR), _a("old_len"), _a("new_len"), _FLAGS,
                  _a("new_addr", _K.ADDR)),
   "stdio", guard=Guard(((_touches(0, 1),), (_touches(4, 2), _bits(3, MREMAP_FIXED))),
                        errno.EPERM), shares=_ALWAYS_SHARES_PAGES)
_c(26, "msync", (_START, _LEN, _FLAGS), "stdio")
_c(27, "mincore", (_START, _LEN, _ptr("vec")), "stdio")
# MADV_FREE lets the kernel's reclaim turn the pages to zeros, whenever memory is short, until
# each is written again: a writer of any page the call names -- counted as one of any page
# (red team 9: race_reclaim.c; /proc shows no such range)
_c(28, "madvise", (_START, _LEN, _a("behavior")), "stdio", guard=Guard((_AREA,), errno.EPERM),
   shares=Shares(((_eq32(2, MADV_FREE),),), anywhere=True, zeros=True))
_c(29, "shmget", (_a("key"), _a("size"), _fl("shmflg")))
# shmat at an address inside the area, or replacing (SHM_REMAP) anything below its end: the
# segment's size is not in a register, so any remap that could reach the area is refused
# (below SHMLBA, a page, a remap is the kernel's EINVAL: rounded down to 0, or unaligned).
# A SysV segment is shared memory: any process that may attach it may write it.
_c(30, "shmat", (_a("shmid"), _a("shmaddr", _K.ADDR), _fl("shmflg")),
   guard=Guard(((Test(1, "ge", 4096), Test(1, "lt", Param.AREA_END), _bits(2, SHM_REMAP)),
                (Test(1, "eq", Param.AREA_BASE, Param.AREA_MASK),)), errno.EPERM),
   shares=_ALWAYS_SHARES_PAGES)
_c(31, "shmctl", (_a("shmid"), _a("cmd", _K.CMD), _ptr("buf")))
_c(32, "dup", (_fd("fildes"),), "stdio")
_c(33, "dup2", (_fd("oldfd"), _fd("newfd")), "stdio")
_c(34, "pause", (), "stdio")
_c(35, "nanosleep", (_ptr("rqtp"), _ptr("rmtp")), "stdio")
_c(36, "getitimer", (_a("which"), _ptr("value")), "stdio")
_c(37, "alarm", (_a("seconds"),), "stdio")
_c(38, "setitimer", (_a("which"), _ptr("value"), _ptr("ovalue")), "stdio")
_c(39, "getpid", (), "stdio")
_c(40, "sendfile", (_fd("out_fd"), _fd("in_fd"), _ptr("offset"), _a("count")), "stdio")
# Address rules see the destinations of TCP, UDP, UDP-Lite and ping sockets (IPv4 and IPv6),
# unix and netlink sockets: socket() making any other is refused under them (Sockets)
_c(41, "socket", (_a("family"), _a("type"), _a("protocol")), "net-socket",
   unseen=Sockets({
       AF_UNIX: None, AF_NETLINK: None,
       AF_INET: {SOCK_STREAM: frozenset({0, IPPROTO_TCP}),
                 SOCK_DGRAM: frozenset({0, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_ICMP})},
       AF_INET6: {SOCK_STREAM: frozenset({0, IPPROTO_TCP}),
                  SOCK_DGRAM: frozenset({0, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_ICMPV6})}},
       errno.EPERM))
_c(42, "connect", (_SOCK, Arg("uservaddr", _K.SOCKADDR, 2), _a("addrlen")), "net-connect",
   _T.ADDRESS | _T.FREEZE)
_c(43, "accept", (_FD, _ptr("upeer_sockaddr"), _ptr("upeer_addrlen")), "net-accept")
_c(44, "sendto", (_SOCK, _ptr("buff"), _a("len"), _FLAGS, Arg("addr", _K.SOCKADDR, 5),
                  _a("addr_len")), "net-connect", _T.ADDRESS | _T.FREEZE)
_c(45, "recvfrom", (_FD, _ptr("ubuf"), _a("size"), _FLAGS, _ptr("addr"), _ptr("addr_len")),
   "stdio")
_c(46, "sendmsg", (_SOCK, _a("msg", _K.MSGHDR), _FLAGS), "net-connect",
   _T.ADDRESS | _T.FREEZE | _T.CONTROL)
_c(47, "recvmsg", (_FD, _ptr("msg"), _FLAGS), "stdio")
_c(48, "shutdown", (_FD, _a("how")), "stdio")
_c(49, "bind", (_SOCK, Arg("umyaddr", _K.SOCKADDR, 2), _a("addrlen")), "net-bind",
   _T.ADDRESS | _T.FREEZE)
_c(50, "listen", (_FD, _a("backlog")), "net-listen")
_c(51, "getsockname", (_FD, _ptr("usockaddr"), _ptr("usockaddr_len")), "stdio")
_c(52, "getpeername", (_FD, _ptr("usockaddr"), _ptr("usockaddr_len")), "stdio")
_c(53, "socketpair", (_a("family"), _a("type"), _a("protocol"), _ptr("usockvec")),
   "net-socket")
# an AF_XDP umem (XDP_UMEM_REG) is the caller's own memory, which the kernel fills with
# packets as they arrive; a packet socket's ring (PACKET_RX_RING, PACKET_TX_RING) is kernel
# pages that packet_mmap puts into any mapping of the socket, a MAP_PRIVATE one too, which the
# kernel writes during the holder's own calls (a sendmmsg's earlier message captured on lo
# before its next name is read: red team 50); AF_XDP's rings are the socket's pages as well
_c(54, "setsockopt", (_FD, _a("level"), _a("optname"), _ptr("optval"), _a("optlen")),
   "stdio", guard=Guard(tuple((_eq32(1, level), _eq32(2, option))
                              for level, option in REFUSED_SOCKOPTS), errno.EPERM,
                              lift=Lift.ROUTES),
   shares=Shares(((_eq32(1, SOL_XDP),), (_eq32(1, SOL_PACKET), _eq32(2, PACKET_RX_RING)),
                  (_eq32(1, SOL_PACKET), _eq32(2, PACKET_TX_RING))), anywhere=True, tree=True))
_c(55, "getsockopt", (_FD, _a("level"), _a("optname"), _ptr("optval"), _ptr("optlen")),
   "stdio")
# clone: CLONE_UNTRACED would leave the trace; the namespace flags are decided at a stop (the
# one decision clone3's flags get too: systrace_py.views.clone_refusal)
_c(56, "clone", (_fl("clone_flags"), _a("newsp", _K.ADDR), _ptr("parent_tidptr"),
                 _ptr("child_tidptr"), _a("tls")),
   "process", guard=Guard(tuple((_bits(0, flag),) for flag in (CLONE_UNTRACED, *_CLONE_NEW)),
                          check="clone_flags", arg=0))
_c(57, "fork", (), "process")
_c(58, "vfork", (), "process")
_c(59, "execve", (_p(), _a("argv", _K.ARGV), _a("envp", _K.ENVP)), "exec fsread",
   _T.PATH | _T.ARGV | _T.FREEZE, reveals=CONTENT)
_c(60, "exit", (_a("error_code"),), "stdio", _T.PLAIN | _T.ENDS, returns=False)
_c(61, "wait4", (_PID, _ptr("stat_addr"), _a("options"), _ptr("ru")), "stdio")
_c(62, "kill", (_PID, _SIG), "signal", guard=_PID_GUARD)
_c(63, "uname", (_ptr("name"),), "stdio")
_c(64, "semget", (_a("key"), _a("nsems"), _fl("semflg")))
_c(65, "semop", (_a("semid"), _ptr("tsops"), _a("nsops")))
_c(66, "semctl", (_a("semid"), _a("semnum"), _a("cmd", _K.CMD), _a("arg")))
_c(67, "shmdt", (_a("shmaddr", _K.ADDR),))
_c(68, "msgget", (_a("key"), _fl("msgflg")))
_c(69, "msgsnd", (_a("msqid"), _ptr("msgp"), _a("msgsz"), _fl("msgflg")))
_c(70, "msgrcv", (_a("msqid"), _ptr("msgp"), _a("msgsz"), _a("msgtyp"), _fl("msgflg")))
_c(71, "msgctl", (_a("msqid"), _a("cmd", _K.CMD), _ptr("buf")))
# a descriptor's owner gets the signals the kernel sends for it (SIGIO, or whatever F_SETSIG
# names: SIGKILL and SIGSTOP too) -- the tracer must not be one: F_SETOWN's pid or -pgid (a
# register), F_SETOWN_EX's struct (memory): the call stops and the tracer checks the target;
# an owner not the caller's own is decided as a kill too (DecodedCall.owner_as_signal).
# F_SETFL turning O_ASYNC on makes a terminal's foreground group the owner of a file that has
# none (tty_fasync): it stops too (DecodedCall._terminal_owner)
_c(72, "fcntl", (_FD, _a("cmd", _K.CMD), _a("arg")), "stdio",
   guard=Guard(((_eq32(1, F_SETOWN),), (_eq32(1, F_SETOWN_EX),),
                (_eq32(1, F_SETFL), _bits(2, O_ASYNC))), check="owner_target", arg=2))
_c(73, "flock", (_FD, _a("cmd", _K.CMD)), "stdio")
_c(74, "fsync", (_FD,), "stdio")
_c(75, "fdatasync", (_FD,), "stdio")
_c(76, "truncate", (_p("path"), _a("length")), _W, _WP)
_c(77, "ftruncate", (_FD, _a("length")), "stdio")
_c(78, "getdents", (_FD, _ptr("dirent"), _a("count")), "stdio")
_c(79, "getcwd", (_ptr("buf"), _a("size")), "stdio")
_c(80, "chdir", (_p(),), _R, _T.PATH | _T.FREEZE, reveals=METADATA)
_c(81, "fchdir", (_FILE,), "stdio", _T.FILE)
_c(82, "rename", (_p("oldname", NEVER, role="old", renamed=ALWAYS),
                  _p("newname", NEVER, role="new", creates=True, classes=_W)),
   "fsread fswrite", _WP | _T.NAMES | _T.MOVES, reveals=CONTENT)
_c(83, "mkdir", (_p("pathname", NEVER, creates=True), _a("mode")), _W, _WP)
_c(84, "rmdir", (_p("pathname", NEVER),), _W, _WP)
_c(85, "creat", (_p("pathname"), _a("mode")), _W, _T.PATH | _T.OPEN)
_c(86, "link", (_p("oldname", NEVER, role="old", renamed=ALWAYS),
                _p("newname", NEVER, role="new", creates=True, classes=_W)),
   "fsread fswrite", _WP | _T.NAMES, reveals=CONTENT)
_c(87, "unlink", (_p("pathname", NEVER),), _W, _WP)
_c(88, "symlink", (_a("oldname", _K.STRING), _p("newname", NEVER, creates=True)), _W, _WP)
_c(89, "readlink", (_p("path", NEVER), _ptr("buf"), _a("bufsiz")), _R, _RP,
   reveals=METADATA)
_c(90, "chmod", (_p(), _a("mode")), _W, _WP)
_c(91, "fchmod", (_FILE, _a("mode")), _W, _WF)
_c(92, "chown", (_p(), _a("user"), _a("group")), _W, _WP)
_c(93, "fchown", (_FILE, _a("user"), _a("group")), _W, _WF)
_c(94, "lchown", (_p("filename", NEVER), _a("user"), _a("group")), _W, _WP)
_c(95, "umask", (_a("mask"),), "stdio")
_c(96, "gettimeofday", (_ptr("tv"), _ptr("tz")), "stdio")
_c(97, "getrlimit", (_a("resource"), _ptr("rlim")), "stdio")
_c(98, "getrusage", (_a("who"), _ptr("ru")), "stdio")
_c(99, "sysinfo", (_ptr("info"),), "stdio")
# --- 100..199 --------------------------------------------------------------------------------
_c(100, "times", (_ptr("tbuf"),), "stdio")
_c(101, "ptrace", (_a("request", _K.CMD), _PID, _a("addr"), _a("data")), "debug",
   _T.PLAIN | _T.UNSAFE, guard=_DEBUG_GUARD._replace(arg=1))
_c(102, "getuid", (), "stdio")
# its actions 2-5 read (and clear) the kernel's log, what /dev/kmsg and /proc/kmsg read:
# decided as opens of those (AS_PATHS; red team 89, close 50)
_c(103, "syslog", (_a("type", _K.CMD), _ptr("buf"), _a("len")))
_c(104, "getgid", (), "stdio")
_c(105, "setuid", (_a("uid"),), "privilege", _T.PLAIN | _T.KILL)
_c(106, "setgid", (_a("gid"),), "privilege", _T.PLAIN | _T.KILL)
_c(107, "geteuid", (), "stdio")
_c(108, "getegid", (), "stdio")
_c(109, "setpgid", (_PID, _a("pgid", _K.PID)))
_c(110, "getppid", (), "stdio")
_c(111, "getpgrp", (), "stdio")
_c(112, "setsid", ())
_c(113, "setreuid", (_a("ruid"), _a("euid")), "privilege", _T.PLAIN | _T.KILL)
_c(114, "setregid", (_a("rgid"), _a("egid")), "privilege", _T.PLAIN | _T.KILL)
_c(115, "getgroups", (_a("gidsetsize"), _ptr("grouplist")), "stdio")
_c(116, "setgroups", (_a("gidsetsize"), _ptr("grouplist")), "privilege", _T.PLAIN | _T.KILL)
_c(117, "setresuid", (_a("ruid"), _a("euid"), _a("suid")), "privilege", _T.PLAIN | _T.KILL)
_c(118, "getresuid", (_ptr("ruid"), _ptr("euid"), _ptr("suid")), "stdio")
_c(119, "setresgid", (_a("rgid"), _a("egid"), _a("sgid")), "privilege", _T.PLAIN | _T.KILL)
_c(120, "getresgid", (_ptr("rgid"), _ptr("egid"), _ptr("sgid")), "stdio")
_c(121, "getpgid", (_PID,), "stdio")
_c(122, "setfsuid", (_a("uid"),), "privilege", _T.PLAIN | _T.KILL)
_c(123, "setfsgid", (_a("gid"),), "privilege", _T.PLAIN | _T.KILL)
_c(124, "getsid", (_PID,), "stdio")
_c(125, "capget", (_ptr("header"), _ptr("dataptr")), "stdio")
_c(126, "capset", (_ptr("header"), _ptr("data")), "privilege", _T.PLAIN | _T.KILL)
_c(127, "rt_sigpending", (_ptr("uset"), _a("sigsetsize")), "stdio")
_c(128, "rt_sigtimedwait", (_ptr("uthese"), _ptr("uinfo"), _ptr("uts"), _a("sigsetsize")),
   "stdio")
_c(129, "rt_sigqueueinfo", (_PID, _SIG, _ptr("uinfo")), "signal", guard=_PID_GUARD)
_c(130, "rt_sigsuspend", (_ptr("unewset"), _a("sigsetsize")), "stdio")
_c(131, "sigaltstack", (_ptr("uss"), _ptr("uoss")), "stdio")
_c(132, "utime", (_p(), _ptr("times")), _W, _WP)
_c(133, "mknod", (_p("filename", NEVER, creates=True), _a("mode"), _a("dev")), _W, _WP)
# uselib loads a library's content into the caller: read like an exec
_c(134, "uselib", (_p("library"),), _R, _T.PATH | _T.FREEZE, reveals=CONTENT)
_c(135, "personality", (_a("personality"),))
_c(136, "ustat", (_a("dev"), _ptr("ubuf")))
_c(137, "statfs", (_p("pathname"), _ptr("buf")), _R, _RP, reveals=METADATA)
_c(138, "fstatfs", (_FD, _ptr("buf")))
_c(139, "sysfs", (_a("option", _K.CMD), _a("arg1"), _a("arg2")))
_c(140, "getpriority", (_a("which"), _a("who")), "stdio")
_c(141, "setpriority", (_a("which"), _a("who"), _a("niceval")))
_c(142, "sched_setparam", (_PID, _ptr("param")))
_c(143, "sched_getparam", (_PID, _ptr("param")), "stdio")
_c(144, "sched_setscheduler", (_PID, _a("policy"), _ptr("param")))
_c(145, "sched_getscheduler", (_PID,), "stdio")
_c(146, "sched_get_priority_max", (_a("policy"),), "stdio")
_c(147, "sched_get_priority_min", (_a("policy"),), "stdio")
_c(148, "sched_rr_get_interval", (_PID, _ptr("interval")), "stdio")
_c(149, "mlock", (_START, _LEN), "stdio")
_c(150, "munlock", (_START, _LEN), "stdio")
_c(151, "mlockall", (_FLAGS,), "stdio")
_c(152, "munlockall", (), "stdio")
_c(153, "vhangup", ())
_c(154, "modify_ldt", (_a("func", _K.CMD), _ptr("ptr"), _a("bytecount")))
# pivot_root: what the new root and the old one (under put_old) are called is followed by
# the tracer (paths.py), so no name changes meaning for the rules
_c(155, "pivot_root", (_p("new_root", role="new"), _p("put_old", role="old")), "namespace",
   _NS)
_c(156, "_sysctl", (_ptr("args"),), ni=True)
# prctl(PR_SET_SECCOMP) installs a filter of the program's own (mode 2; mode 1, strict, the
# kernel refuses a process holding the prefilter): it stops, for the tracer to note it
# (Tracer._own_filter), as seccomp(SECCOMP_SET_MODE_FILTER) does.  So does the one form of
# prctl(PR_SET_NO_NEW_PRIVS) that sets the flag (any other is EINVAL): where systrace gave the
# program's process no_new_privs for the prefilter, the tracer notes which tasks have it of
# their own (Tracer._own_filter: natively, without it, a filter is EACCES -- LTP prctl02)
_c(157, "prctl", (_a("option", _K.CMD), _a("arg2"), _a("arg3"), _a("arg4"), _a("arg5")),
   guard=Guard(((_eq32(0, PR_SET_SECCOMP),),
                (_eq32(0, PR_SET_NO_NEW_PRIVS), Test(1, "eq", 1), Test(2, "eq", 0),
                 Test(3, "eq", 0), Test(4, "eq", 0))), errno.EPERM, check="own_filter",
               refused=((_eq32(0, PR_SET_MM),), (_eq32(0, PR_SET_DUMPABLE), Test(1, "eq", 0)))))
_c(158, "arch_prctl", (_a("option", _K.CMD), _a("arg2")), "stdio")
_c(159, "adjtimex", (_ptr("txc_p"),))
_c(160, "setrlimit", (_a("resource"), _ptr("rlim")),
   guard=Guard(((_eq32(0, RLIMIT_CORE),),), check="rlimit", arg=1, lift=Lift.CORE))
_c(161, "chroot", (_p(),), "namespace", _NS)
_c(162, "sync", ())
# acct(name): the kernel appends accounting records to the file (NULL: accounting off)
_c(163, "acct", (_p("name", null=ALWAYS),), _W, _WP)
_c(164, "settimeofday", (_ptr("tv"), _ptr("tz")))
# mount: its source ("old") is a path for a bind or a move (views.mount_kind: the decoder
# names it only then), and a new file system's source and options may name files
# (views.new_mount_layers); the target ("new") is covered, with all below it -- which
# matters where others see it (the decoder: the tracer's namespace, or a shared mount)
_c(165, "mount", (_p("dev_name", role="old", exposes=ALWAYS, null=ALWAYS),
                  _p("dir_name", role="new", exposes=ALWAYS), _a("type", _K.STRING), _FLAGS,
                  _a("data", _K.OPTIONS)), "namespace", _NSX)
_c(166, "umount2", (_p("name", unless_flag(1, UMOUNT_NOFOLLOW), exposes=ALWAYS), _FLAGS),
   "namespace", _NSX)
_c(167, "swapon", (_p("specialfile"), _fl("swap_flags")), _W, _WP)
_c(168, "swapoff", (_p("specialfile"),), _W, _WP)
_c(169, "reboot", (_a("magic1"), _a("magic2"), _a("cmd", _K.CMD), _ptr("arg")))
_c(170, "sethostname", (_a("name", _K.STRING), _a("len")))
_c(171, "setdomainname", (_a("name", _K.STRING), _a("len")))
_c(172, "iopl", (_a("level"),), "", _T.PLAIN | _T.UNSAFE)
_c(173, "ioperm", (_a("from"), _a("num"), _a("on")), "", _T.PLAIN | _T.UNSAFE)
_c(174, "create_module", (), ni=True)
_c(175, "init_module", (_ptr("umod"), _a("len"), _a("uargs", _K.STRING)), "",
   _T.PLAIN | _T.UNSAFE)
_c(176, "delete_module", (_a("name_user", _K.STRING), _FLAGS), "", _T.PLAIN | _T.UNSAFE)
_c(177, "get_kernel_syms", (), ni=True)
_c(178, "query_module", (), ni=True)
# quotactl(Q_QUOTAON) makes the kernel write quota files named by a path in its last argument
_c(179, "quotactl", (_a("cmd", _K.CMD), _a("special", _K.MAYBE_PATH), _a("id"),
                     _a("addr", _K.MAYBE_PATH)), "", _T.PLAIN | _T.UNSAFE)
_c(180, "nfsservctl", (), ni=True)
_c(181, "getpmsg", (), ni=True)
_c(182, "putpmsg", (), ni=True)
_c(183, "afs_syscall", (), ni=True)
_c(184, "tuxcall", (), ni=True)
_c(185, "security", (), ni=True)
_c(186, "gettid", (), "stdio")
_c(187, "readahead", (_FD, _a("offset"), _a("count")), "stdio")
_c(188, "setxattr", (_p("pathname"), _a("name", _K.STRING), _ptr("value"), _a("size"), _FLAGS),
   _W, _WP)
_c(189, "lsetxattr", (_p("pathname", NEVER), _a("name", _K.STRING), _ptr("value"), _a("size"),
                      _FLAGS), _W, _WP)
_c(190, "fsetxattr", (_FILE, _a("name", _K.STRING), _ptr("value"), _a("size"), _FLAGS), _W,
   _WF)
_c(191, "getxattr", (_p("pathname"), _a("name", _K.STRING), _ptr("value"), _a("size")), _R,
   _RP, reveals=METADATA)
_c(192, "lgetxattr", (_p("pathname", NEVER), _a("name", _K.STRING), _ptr("value"),
                      _a("size")), _R, _RP, reveals=METADATA)
_c(193, "fgetxattr", (_FILE, _a("name", _K.STRING), _ptr("value"), _a("size")), "stdio",
   _T.FILE)
_c(194, "listxattr", (_p("pathname"), _ptr("list"), _a("size")), _R, _RP, reveals=METADATA)
_c(195, "llistxattr", (_p("pathname", NEVER), _ptr("list"), _a("size")), _R, _RP,
   reveals=METADATA)
_c(196, "flistxattr", (_FILE, _ptr("list"), _a("size")), "stdio", _T.FILE)
_c(197, "removexattr", (_p("pathname"), _a("name", _K.STRING)), _W, _WP)
_c(198, "lremovexattr", (_p("pathname", NEVER), _a("name", _K.STRING)), _W, _WP)
_c(199, "fremovexattr", (_FILE, _a("name", _K.STRING)), _W, _WF)
# --- 200..299 --------------------------------------------------------------------------------
_c(200, "tkill", (_PID, _SIG), "signal", guard=_PID_GUARD)
_c(201, "time", (_ptr("tloc"),), "stdio")
_c(202, "futex", (_ptr("uaddr"), _a("op", _K.CMD), _a("val"), _ptr("utime"), _ptr("uaddr2"),
                  _a("val3")), "stdio")
_c(203, "sched_setaffinity", (_PID, _a("len"), _ptr("user_mask_ptr")))
_c(204, "sched_getaffinity", (_PID, _a("len"), _ptr("user_mask_ptr")), "stdio")
_c(205, "set_thread_area", (), ni=True)
# native AIO: the kernel completes reads into the caller's buffers later, whatever the
# caller is doing by then (and writes its events into a ring mapped in the caller)
_c(206, "io_setup", (_a("nr_events"), _ptr("ctxp")), shares=_ALWAYS_WRITES_ANYWHERE)
_c(207, "io_destroy", (_a("ctx"),))
_c(208, "io_getevents", (_a("ctx_id"), _a("min_nr"), _a("nr"), _ptr("events"),
                         _ptr("timeout")))
_c(209, "io_submit", (_a("ctx_id"), _a("nr"), _ptr("iocbpp")))
_c(210, "io_cancel", (_a("ctx_id"), _ptr("iocb"), _ptr("result")))
_c(211, "get_thread_area", (), ni=True)
_c(212, "lookup_dcookie", (_a("cookie64"), _ptr("buf"), _a("len")), ni=True)
_c(213, "epoll_create", (_a("size"),), "stdio")
_c(214, "epoll_ctl_old", (), ni=True)
_c(215, "epoll_wait_old", (), ni=True)
_c(216, "remap_file_pages", (_START, _a("size"), _a("prot"), _a("pgoff"), _FLAGS))
_c(217, "getdents64", (_FD, _ptr("dirent"), _a("count")), "stdio")
_c(218, "set_tid_address", (_ptr("tidptr"),), "stdio")
_c(219, "restart_syscall", (), "stdio")
_c(220, "semtimedop", (_a("semid"), _ptr("tsops"), _a("nsops"), _ptr("timeout")))
_c(221, "fadvise64", (_FD, _a("offset"), _a("len"), _a("advice")), "stdio")
_c(222, "timer_create", (_a("which_clock"), _ptr("timer_event_spec"),
                         _ptr("created_timer_id")), "stdio")
_c(223, "timer_settime", (_a("timer_id"), _FLAGS, _ptr("new_setting"), _ptr("old_setting")),
   "stdio")
_c(224, "timer_gettime", (_a("timer_id"), _ptr("setting")), "stdio")
_c(225, "timer_getoverrun", (_a("timer_id"),), "stdio")
_c(226, "timer_delete", (_a("timer_id"),), "stdio")
_c(227, "clock_settime", (_a("which_clock"), _ptr("tp")))
_c(228, "clock_gettime", (_a("which_clock"), _ptr("tp")), "stdio")
_c(229, "clock_getres", (_a("which_clock"), _ptr("tp")), "stdio")
_c(230, "clock_nanosleep", (_a("which_clock"), _FLAGS, _ptr("rqtp"), _ptr("rmtp")), "stdio")
_c(231, "exit_group", (_a("error_code"),), "stdio", _T.PLAIN | _T.ENDS, returns=False)
_c(232, "epoll_wait", (_fd("epfd"), _ptr("events"), _a("maxevents"), _a("timeout")), "stdio")
_c(233, "epoll_ctl", (_fd("epfd"), _a("op", _K.CMD), _FD, _ptr("event")), "stdio")
_c(234, "tgkill", (_a("tgid", _K.PID), _PID, _SIG), "signal",
   guard=Guard(((_eq32(0, Param.TRACER_PID),),), errno.EPERM))
_c(235, "utimes", (_p(), _ptr("utimes")), _W, _WP)
_c(236, "vserver", (), ni=True)
_c(237, "mbind", (_START, _LEN, _a("mode"), _ptr("nmask"), _a("maxnode"), _FLAGS), "stdio")
_c(238, "set_mempolicy", (_a("mode"), _ptr("nmask"), _a("maxnode")), "stdio")
_c(239, "get_mempolicy", (_ptr("policy"), _ptr("nmask"), _a("maxnode"), _a("addr", _K.ADDR),
                          _FLAGS), "stdio")
# POSIX message queues are the files of the IPC namespace's mqueue file system, shown as
# MOUNT/NAME wherever it is mounted (/dev/mqueue under systemd): mq_open and mq_unlink name
# no path but open, make and remove those files -- decided as the open and unlink they are
# (AS_PATHS; red team 89, close 50).  The others act on a queue's descriptor, whose open
# (either call's, or an open(2) of MOUNT/NAME) was decided: the kernel checks its access
# mode (mq_timedsend needs FMODE_WRITE, mq_timedreceive FMODE_READ), as a write(2)'s
_c(240, "mq_open", (_a("u_name", _K.STRING), _fl("oflag"), _a("mode"), _ptr("u_attr")))
_c(241, "mq_unlink", (_a("u_name", _K.STRING),))
_c(242, "mq_timedsend", (_fd("mqdes"), _ptr("u_msg_ptr"), _a("msg_len"), _a("msg_prio"),
                         _ptr("u_abs_timeout")))
_c(243, "mq_timedreceive", (_fd("mqdes"), _ptr("u_msg_ptr"), _a("msg_len"),
                            _ptr("u_msg_prio"), _ptr("u_abs_timeout")))
_c(244, "mq_notify", (_fd("mqdes"), _ptr("u_notification")))
_c(245, "mq_getsetattr", (_fd("mqdes"), _ptr("u_mqstat"), _ptr("u_omqstat")))
_c(246, "kexec_load", (_a("entry"), _a("nr_segments"), _ptr("segments"), _FLAGS), "",
   _T.PLAIN | _T.UNSAFE)
_c(247, "waitid", (_a("which"), _PID, _ptr("infop"), _a("options"), _ptr("ru")), "stdio")
# a key in a keyring the tracer does not search (the task's own session, process or thread
# keyring): a v1 fscrypt key ("logon", "fscrypt:...") decrypts names and symlinks for the task
# only -- the tracer's lookup of the same path finds another name, or a symlink's ciphertext
# (red team 60, fscrypt_keyring.c).  add_key, and keyctl's operations that widen what a task's
# searches find, stop: from then on every path call of the run is Python's, and a path ending
# in or passing through an encrypted file is taken as one a process answers (answered.py
# note_own_keys: held, and refused where the kernel would look it up again)
_KEYRING_GUARD = Guard(((),), check="keyring", arg=0)
_c(248, "add_key", (_a("_type", _K.STRING), _a("_description", _K.STRING), _ptr("_payload"),
                    _a("plen"), _a("ringid")), guard=_KEYRING_GUARD)
# with callout data the kernel may run its key helper outside the tree (Lift.CALLOUT); without,
# it only looks the key up (ENOKEY when there is none).  A stop guard: the strings are read as
# the kernel reads them first (its EFAULT, EINVAL), and the refusal is the engine's, logged
_c(249, "request_key", (_a("_type", _K.STRING), _a("_description", _K.STRING),
                        _a("_callout_info", _K.STRING), _a("destringid")),
   guard=Guard(((Test(2, "ne", 0),),), errno.EPERM, check="key_callout", arg=2,
               lift=Lift.CALLOUT))
_c(250, "keyctl", (_a("option", _K.CMD), _a("arg2"), _a("arg3"), _a("arg4"), _a("arg5")),
   guard=_KEYRING_GUARD._replace(cases=(
       *((_eq32(0, option),) for option in KEYRING_WIDENING_KEYCTLS),
       # (a search that links what it finds into a keyring: one found where the tracer does
       # not search -- the persistent keyring, a keyring by its serial -- joins the task's)
       (_eq32(0, KEYCTL_SEARCH), Test(4, "ne", 0)))))
_c(251, "ioprio_set", (_a("which"), _a("who"), _a("ioprio")))
_c(252, "ioprio_get", (_a("which"), _a("who")))
_c(253, "inotify_init", (), "stdio")
_c(254, "inotify_add_watch", (_FD, _p("pathname", unless_flag(2, IN_DONT_FOLLOW)),
                              _fl("mask")), _R, _RP, reveals=METADATA)
_c(255, "inotify_rm_watch", (_FD, _a("wd")), "stdio")
_c(256, "migrate_pages", (_PID, _a("maxnode"), _ptr("old_nodes"), _ptr("new_nodes")))
_c(257, "openat", (_DFD, _at("filename", open_flags(2)), _a("flags", _K.OPEN_FLAGS),
                   _a("mode")), "fsread fswrite", _T.PATH | _T.OPEN, reveals=CONTENT)
_c(258, "mkdirat", (_DFD, _at("pathname", NEVER, creates=True), _a("mode")), _W, _WP)
_c(259, "mknodat", (_DFD, _at("filename", NEVER, creates=True), _a("mode"), _a("dev")), _W,
   _WP)
_c(260, "fchownat", (_DFD, _at("filename", *_atf(4)), _a("user"),
                     _a("group"), _fl("flag")), _W, _WP, on_descriptor="fchown")
_c(261, "futimesat", (_DFD, _at(null=_NULL_UNLESS_CWD), _ptr("utimes")), _W, _WP)
_c(262, "newfstatat", (_DFD, _at_maybe_null("filename", 3),
                       _ptr("statbuf"), _fl("flag")), _R, _RP, reveals=METADATA,
   on_descriptor="fstat")
_c(263, "unlinkat", (_DFD, _at("pathname", NEVER), _fl("flag")), _W, _WP)
_c(264, "renameat", (_a("olddfd", _K.DIRFD),
                     _at("oldname", NEVER, role="old", renamed=ALWAYS),
                     _a("newdfd", _K.DIRFD),
                     _at("newname", NEVER, dirfd=2, role="new", creates=True, classes=_W)),
   "fsread fswrite", _WP | _T.NAMES | _T.MOVES, reveals=CONTENT)
_c(265, "linkat", (_a("olddfd", _K.DIRFD),
                   _at("oldname", if_flag(4, AT_SYMLINK_FOLLOW), if_flag(4, AT_EMPTY_PATH),
                       role="old", renamed=ALWAYS),
                   _a("newdfd", _K.DIRFD),
                   _at("newname", NEVER, dirfd=2, role="new", creates=True, classes=_W),
                   _FLAGS), "fsread fswrite", _WP | _T.NAMES, reveals=CONTENT)
_c(266, "symlinkat", (_a("oldname", _K.STRING), _a("newdfd", _K.DIRFD),
                      _at("newname", NEVER, dirfd=1, creates=True)), _W, _WP)
# readlinkat(fd, "") reads the link the descriptor is (an O_PATH of a symlink)
_c(267, "readlinkat", (_DFD, _at("pathname", NEVER, ALWAYS), _ptr("buf"), _a("bufsiz")), _R,
   _RP, reveals=METADATA)
_c(268, "fchmodat", (_DFD, _at(), _a("mode")), _W, _WP)
_c(269, "faccessat", (_DFD, _at(), _a("mode")), _R, _RP, reveals=METADATA)
_c(270, "pselect6", (_a("n"), _ptr("inp"), _ptr("outp"), _ptr("exp"), _ptr("tsp"),
                     _ptr("sig")), "stdio")
_c(271, "ppoll", (_ptr("ufds"), _a("nfds"), _ptr("tsp"), _ptr("sigmask"), _a("sigsetsize")),
   "stdio")
_c(272, "unshare", (_fl("unshare_flags"),), "namespace", _T.PLAIN | _T.VIEW,
   guard=Guard(tuple((_bits(0, flag),) for flag in (*_CLONE_NEW, CLONE_NEWTIME)),
               check="namespace_flags", arg=0))
_c(273, "set_robust_list", (_ptr("head"), _a("len")), "stdio")
_c(274, "get_robust_list", (_PID, _ptr("head_ptr"), _ptr("len_ptr")), "stdio")
_c(275, "splice", (_fd("fd_in"), _ptr("off_in"), _fd("fd_out"), _ptr("off_out"), _a("len"),
                   _FLAGS), "stdio")
_c(276, "tee", (_fd("fdin"), _fd("fdout"), _a("len"), _FLAGS), "stdio")
_c(277, "sync_file_range", (_FD, _a("offset"), _a("nbytes"), _FLAGS), "stdio")
_c(278, "vmsplice", (_FD, _ptr("uiov"), _a("nr_segs"), _FLAGS), "stdio")
_c(279, "move_pages", (_PID, _a("nr_pages"), _ptr("pages"), _ptr("nodes"), _ptr("status"),
                       _FLAGS))
# utimensat(fd, NULL, ...) acts on the descriptor (the decoder reads a NULL path so)
_c(280, "utimensat", (_DFD, _at("filename", *_atf(3), null=_NULL_UNLESS_CWD),
                      _ptr("utimes"), _FLAGS), _W, _WP)
_c(281, "epoll_pwait", (_fd("epfd"), _ptr("events"), _a("maxevents"), _a("timeout"),
                        _ptr("sigmask"), _a("sigsetsize")), "stdio")
_c(282, "signalfd", (_fd("ufd"), _ptr("user_mask"), _a("sizemask")), "stdio")
_c(283, "timerfd_create", (_a("clockid"), _FLAGS), "stdio")
_c(284, "eventfd", (_a("count"),), "stdio")
_c(285, "fallocate", (_FD, _a("mode"), _a("offset"), _a("len")), "stdio")
_c(286, "timerfd_settime", (_fd("ufd"), _FLAGS, _ptr("utmr"), _ptr("otmr")), "stdio")
_c(287, "timerfd_gettime", (_fd("ufd"), _ptr("otmr")), "stdio")
_c(288, "accept4", (_FD, _ptr("upeer_sockaddr"), _ptr("upeer_addrlen"), _FLAGS),
   "net-accept")
_c(289, "signalfd4", (_fd("ufd"), _ptr("user_mask"), _a("sizemask"), _FLAGS), "stdio")
_c(290, "eventfd2", (_a("count"), _FLAGS), "stdio")
_c(291, "epoll_create1", (_FLAGS,), "stdio")
_c(292, "dup3", (_fd("oldfd"), _fd("newfd"), _FLAGS), "stdio")
_c(293, "pipe2", (_ptr("fildes"), _FLAGS), "stdio")
_c(294, "inotify_init1", (_FLAGS,), "stdio")
_c(295, "preadv", (_FD, _ptr("vec"), _a("vlen"), _a("pos_l"), _a("pos_h")), "stdio")
_c(296, "pwritev", (_FD, _ptr("vec"), _a("vlen"), _a("pos_l"), _a("pos_h")), "stdio")
_c(297, "rt_tgsigqueueinfo", (_a("tgid", _K.PID), _PID, _SIG, _ptr("uinfo")), "signal",
   guard=Guard(((_eq32(0, Param.TRACER_PID),),), errno.EPERM))
# perf_event_open, which a rule may name (a profiler), samples a process's user stack and
# registers: a root tree sampled its tracer's (red team 46, perf_tracer.c).  It stops whatever
# the policy says; the tracer's tasks, every process on a CPU (pid -1) and a cgroup's are
# refused (Tracer._perf_refusal)
_c(298, "perf_event_open", (_ptr("attr_uptr"), _PID, _a("cpu"), _fd("group_fd"), _FLAGS), "",
   _T.PLAIN | _T.UNSAFE, guard=_DEBUG_GUARD._replace(check="perf_target", arg=1))
_c(299, "recvmmsg", (_FD, _ptr("mmsg"), _a("vlen"), _FLAGS, _ptr("timeout")), "stdio")
# --- 300..336 --------------------------------------------------------------------------------
# fanotify hands its reader descriptors the kernel opened on files (no path, no open)
_c(300, "fanotify_init", (_FLAGS, _fl("event_f_flags")), "", _T.PLAIN | _T.UNSAFE)
# fanotify_mark(fd, flags, mask, dfd, NULL) marks the dfd's file
_c(301, "fanotify_mark", (_fd("fanotify_fd"), _FLAGS, _a("mask"), _a("dfd", _K.DIRFD),
                          _at("pathname", unless_flag(1, FAN_MARK_DONT_FOLLOW), dirfd=3,
                              null=ALWAYS)), _R, _RP,
   reveals=METADATA)
# prlimit64 also sets another process's limits: the tracer's, were it let (a tree lowering its
# RLIMIT_NOFILE made the tracer's own checks fail -- red teams 9, 32, 38): a new limit for a
# pid other than 0 stops too, whatever lifts core dumps, and the check refuses the tracer's
_c(302, "prlimit64", (_PID, _a("resource"), _ptr("new_rlim"), _ptr("old_rlim")), "stdio",
   guard=Guard(((_eq32(1, RLIMIT_CORE), Test(2, "ne", 0)), (Test(0, "ne", 0), Test(2, "ne", 0))),
               check="rlimit", arg=2, lift=Lift.CORE,
               kept=((Test(0, "ne", 0), Test(2, "ne", 0)),)))
_c(303, "name_to_handle_at", (_DFD, _at("name", if_flag(4, AT_SYMLINK_FOLLOW),
                                         if_flag(4, AT_EMPTY_PATH)),
                              _ptr("handle"), _ptr("mnt_id"), _fl("flag")), "",
   _RP | _T.UNSAFE)
_c(304, "open_by_handle_at", (_fd("mount_fd"), _ptr("handle"), _FLAGS), "",
   _T.PLAIN | _T.UNSAFE)
_c(305, "clock_adjtime", (_a("which_clock"), _ptr("utx")))
_c(306, "syncfs", (_FD,))
_c(307, "sendmmsg", (_SOCK, _a("mmsg", _K.MMSGHDR), _a("vlen"), _FLAGS), "net-connect",
   _T.ADDRESS | _T.FREEZE | _T.CONTROL)
# setns joins a namespace made outside the tree, whose mounts the engine never saw made
_c(308, "setns", (_FD, _a("nstype")), "namespace", _T.PLAIN | _T.UNSAFE | _T.VIEW)
_c(309, "getcpu", (_ptr("cpup"), _ptr("nodep"), _ptr("unused")), "stdio")
_c(310, "process_vm_readv", (_PID, _ptr("lvec"), _a("liovcnt"), _ptr("rvec"), _a("riovcnt"),
                             _FLAGS), "debug", _T.PLAIN | _T.UNSAFE, guard=_DEBUG_GUARD)
_c(311, "process_vm_writev", (_PID, _ptr("lvec"), _a("liovcnt"), _ptr("rvec"), _a("riovcnt"),
                              _FLAGS), "debug", _T.PLAIN | _T.UNSAFE, guard=_DEBUG_GUARD)
_c(312, "kcmp", (_a("pid1", _K.PID), _a("pid2", _K.PID), _a("type"), _a("idx1"), _a("idx2")),
   "debug", _T.PLAIN | _T.UNSAFE)
_c(313, "finit_module", (_FD, _a("uargs", _K.STRING), _FLAGS), "", _T.PLAIN | _T.UNSAFE)
_c(314, "sched_setattr", (_PID, _ptr("uattr"), _FLAGS))
_c(315, "sched_getattr", (_PID, _ptr("uattr"), _a("usize"), _FLAGS), "stdio")
# with RENAME_EXCHANGE the file at the "new" path moves to the old name: it is then checked
# as the old path is (read and written, nothing a refusing rule names)
_c(316, "renameat2", (_a("olddfd", _K.DIRFD),
                      _at("oldname", NEVER, role="old", renamed=ALWAYS),
                      _a("newdfd", _K.DIRFD),
                      _at("newname", NEVER, dirfd=2, role="new", creates=True, classes=_W,
                          renamed=if_flag(4, RENAME_EXCHANGE)),
                      _FLAGS), "fsread fswrite", _WP | _T.NAMES | _T.MOVES, reveals=CONTENT)
# seccomp: a user-notification listener is refused (its answers would outrank our TRACE); any
# other filter stops, for the tracer to note that the kernel now runs a filter of the
# program's own on every call -- on a call the tracer changed at its stop too (the recheck
# after SECCOMP_RET_TRACE): held opens then keep their own call (Tracer._own_filter)
_c(317, "seccomp", (_a("op", _K.CMD), _FLAGS, _ptr("uargs")),
   guard=Guard(((_eq32(0, SECCOMP_SET_MODE_FILTER),
                 Test(1, "eq", 0, SECCOMP_FILTER_FLAG_NEW_LISTENER)),), errno.EPERM,
               check="own_filter",
               refused=((_eq32(0, SECCOMP_SET_MODE_FILTER),
                         _bits(1, SECCOMP_FILTER_FLAG_NEW_LISTENER)),)))
_c(318, "getrandom", (_ptr("buf"), _a("count"), _FLAGS), "stdio")
_c(319, "memfd_create", (_a("uname", _K.STRING), _FLAGS), "stdio")
_c(320, "kexec_file_load", (_fd("kernel_fd"), _fd("initrd_fd"), _a("cmdline_len"),
                            _a("cmdline_ptr", _K.STRING), _FLAGS), "", _T.PLAIN | _T.UNSAFE)
# bpf(BPF_OBJ_PIN/BPF_OBJ_GET) carries a path inside union bpf_attr
_c(321, "bpf", (_a("cmd", _K.CMD), _a("uattr", _K.MAYBE_PATH), _a("size")), "",
   _T.PLAIN | _T.UNSAFE)
_c(322, "execveat", (_DFD, _at("filename", *_atf(4)),
                     _a("argv", _K.ARGV), _a("envp", _K.ENVP), _FLAGS), "exec fsread",
   _T.PATH | _T.ARGV | _T.FREEZE, reveals=CONTENT)
# whoever holds the descriptor fills the caller's missing pages (UFFDIO_COPY)
_c(323, "userfaultfd", (_FLAGS,), "", _T.PLAIN | _T.UNSAFE, shares=_ALWAYS_WRITES_ANYWHERE)
_c(324, "membarrier", (_a("cmd", _K.CMD), _FLAGS, _a("cpu_id")), "stdio")
_c(325, "mlock2", (_START, _LEN, _FLAGS), "stdio")
_c(326, "copy_file_range", (_fd("fd_in"), _ptr("off_in"), _fd("fd_out"), _ptr("off_out"),
                            _a("len"), _FLAGS), "stdio")
_c(327, "preadv2", (_FD, _ptr("vec"), _a("vlen"), _a("pos_l"), _a("pos_h"), _FLAGS),
   "stdio")
_c(328, "pwritev2", (_FD, _ptr("vec"), _a("vlen"), _a("pos_l"), _a("pos_h"), _FLAGS),
   "stdio")
_c(329, "pkey_mprotect", (_START, _LEN, _a("prot"), _a("pkey")), "stdio",
   guard=Guard((_AREA,), errno.EPERM), keys=((),))
_c(330, "pkey_alloc", (_FLAGS, _a("init_val")), "stdio")
_c(331, "pkey_free", (_a("pkey"),), "stdio")
_c(332, "statx", (_DFD, _at_maybe_null("filename", 2), _FLAGS,
                  _a("mask"), _ptr("buffer")), _R, _RP, reveals=METADATA,
   on_descriptor="fstat")
_c(333, "io_pgetevents", (_a("ctx_id"), _a("min_nr"), _a("nr"), _ptr("events"),
                          _ptr("timeout"), _ptr("usig")))
_c(334, "rseq", (_ptr("rseq"), _a("rseq_len"), _FLAGS, _a("sig")), "stdio")
# the uprobe trampolines' calls: anywhere else they fail (SIGILL, ENXIO)
_c(335, "uretprobe", ())
_c(336, "uprobe", ())
# 337..423: reserved on x86_64 to keep the generic numbers in step; no call has them.
# --- 424..469 (the numbers every architecture shares) ----------------------------------------
_c(424, "pidfd_send_signal", (_fd("pidfd"), _SIG, _ptr("info"), _FLAGS), "signal",
   guard=Guard(((),), check="pidfd_target", arg=0))
_c(425, "io_uring_setup", (_a("entries"), _ptr("params")), "io-uring", _T.PLAIN | _T.UNSAFE,
   shares=_ALWAYS_WRITES_ANYWHERE)
_c(426, "io_uring_enter", (_FD, _a("to_submit"), _a("min_complete"), _FLAGS, _ptr("argp"),
                           _a("argsz")), "io-uring", _T.PLAIN | _T.UNSAFE)
_c(427, "io_uring_register", (_FD, _a("opcode", _K.CMD), _ptr("arg"), _a("nr_args")),
   "io-uring", _T.PLAIN | _T.UNSAFE)
# open_tree(OPEN_TREE_CLONE) makes a detached copy of the tree: decided as an exposure of it
# wherever it is attached later (move_mount then checks only its target).  Without the flag
# it is open(O_PATH) by another name (fs/namespace.c), whose descriptor fstat, fchdir and
# the *at calls use: a read of what it names (its metadata), as an O_PATH open is (red team
# 13: path_open_tree.c)
_c(428, "open_tree", (_DFD, _at("filename", *_atf(2), exposes=if_flag(2, OPEN_TREE_CLONE)),
                      _FLAGS), "namespace fsread", _NSX, reveals=METADATA)
# move_mount: the mount moved ("old") is exposed when it is attached somewhere (a detached
# one was decided when it was made), the target ("new") is covered (as for mount)
_c(429, "move_mount", (_a("from_dfd", _K.DIRFD),
                       _at("from_pathname", if_flag(4, MOVE_MOUNT_F_SYMLINKS),
                           if_flag(4, MOVE_MOUNT_F_EMPTY_PATH), role="old",
                           exposes=unless_flag(4, MOVE_MOUNT_SET_GROUP),
                           null=if_flag(4, MOVE_MOUNT_F_EMPTY_PATH)),
                       _a("to_dfd", _K.DIRFD),
                       _at("to_pathname", if_flag(4, MOVE_MOUNT_T_SYMLINKS),
                           if_flag(4, MOVE_MOUNT_T_EMPTY_PATH), dirfd=2, role="new",
                           exposes=ALWAYS, null=if_flag(4, MOVE_MOUNT_T_EMPTY_PATH)),
                       _FLAGS), "namespace", _NSX)
# fsopen makes a file system context: of a type whose options the engine does not read, it
# is refused where a rule could care (an exposure of files it cannot name)
_c(430, "fsopen", (_a("fs_name", _K.OPTIONS), _FLAGS), "namespace", _T.PATH | _T.EXPOSES)
# fsconfig: its value names a file for some keys (views.fsconfig_layer), relative to the dirfd
# in "aux", or is the descriptor in "aux"
_c(431, "fsconfig", (_FD, _a("cmd", _K.CMD), _a("key", _K.STRING),
                     _a("value", _K.OPTIONS), _a("aux")), "namespace",
   _T.PATH | _T.FREEZE | _T.EXPOSES)
# fsmount makes a detached mount of a new file system: the tracer notes it (move_mount)
_c(432, "fsmount", (_fd("fs_fd"), _FLAGS, _fl("attr_flags")), "namespace", _T.PLAIN | _T.VIEW)
# fspick: a context to change a mount's options (fsconfig's CMD_RECONFIGURE): nothing is
# shown or covered; a mount of a type the engine does not read, as for fsopen
_c(433, "fspick", (_DFD, _at("path", unless_flag(2, FSPICK_SYMLINK_NOFOLLOW),
                             if_flag(2, FSPICK_EMPTY_PATH)), _FLAGS), "namespace",
   _NS | _T.EXPOSES)
_c(434, "pidfd_open", (_PID, _FLAGS), guard=_PID_GUARD)
# clone3: its flags are in memory, which no filter can read: it always stops, its struct is
# read as the kernel reads it and its flags get clone's guard (Tracer._clone3_check)
_c(435, "clone3", (Arg("uargs", _K.CLONE_ARGS, 1), _a("size")), "process",
   guard=Guard(((),), check="clone3", arg=0))
_c(436, "close_range", (_FD, _fd("max_fd"), _FLAGS), "stdio")
_c(437, "openat2", (_DFD, _at("filename", OPEN_HOW), Arg("how", _K.OPEN_HOW, 3), _a("usize")),
   "fsread fswrite", _T.PATH | _T.OPEN, reveals=CONTENT)
# pidfd_getfd copies a descriptor of another process, which a rule may permit: never of the
# tracer's, nor of a resident tracer's (its pidfd: SO_PEERPIDFD of a connection to its socket):
# a root tree took the resident server's listening socket and answered the user's next run
# (red team 48, res_steal.c).  The call stops and its pidfd's process is checked
_c(438, "pidfd_getfd", (_fd("pidfd"), _FD, _FLAGS), "debug", _T.PLAIN | _T.UNSAFE,
   guard=Guard(((),), check="getfd_target", arg=0))
_c(439, "faccessat2", (_DFD, _at("filename", *_atf(3)),
                       _a("mode"), _FLAGS), _R, _RP, reveals=METADATA, on_descriptor="fstat")
# On the caller's own memory -- its pidfd, or PIDFD_SELF -- the kernel takes any advice since
# 6.15, its ranges in an iovec (in memory, where no filter looks), the scratch area's too: so
# only the advice that keeps every page's contents and mapping runs (what the kernel takes for
# another process's memory: MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_COLLAPSE), the rest is
# refused whatever its ranges.  MADV_DONTFORK left a forked child without the area the tracer
# takes it to have, its own writable mapping there then given the held copies (red team 76,
# area_dontfork.c); MADV_DONTNEED (MADV_FREE at a reclaim, MADV_GUARD_INSTALL and _REMOVE,
# MADV_WIPEONFORK in a child) leaves a held copy's page missing after the tracer wrote it --
# zeros, unless a userfaultfd is registered over the area: then the kernel's read of the copy
# waits for the userfaultfd's reader, whose UFFDIO_COPY fills the read-only page with anything
# (review 52, area_uffd_refill.c).  (Were MADV_FREE let through, it would write any page:
# ``shares``, as madvise's.)  Whole registers compared (_none_of): an advice with its high
# half set is refused too (the kernel reads an int).
_c(440, "process_madvise", (_fd("pidfd"), _ptr("vec"), _a("vlen"), _a("behavior"), _FLAGS), "",
   _T.PLAIN | _T.UNSAFE,
   guard=Guard(_none_of(3, PROCESS_MADVISE_KEEPS), errno.EPERM),
   shares=Shares(((_eq32(3, MADV_FREE),),), anywhere=True, zeros=True))
_c(441, "epoll_pwait2", (_fd("epfd"), _ptr("events"), _a("maxevents"), _ptr("timeout"),
                         _ptr("sigmask"), _a("sigsetsize")), "stdio")
# mount_setattr changes a mount's flags or propagation: nothing is shown or covered -- but
# nosymfollow changes what paths mean (the resolver reads it), and on the tracer's own /proc
# it would fail every magic link the tracer opens: a view call, which always stops
_c(442, "mount_setattr", (_DFD, _at("path", *_atf(2)), _FLAGS,
                          _ptr("uattr"), _a("usize")), "namespace", _NS)
_c(443, "quotactl_fd", (_FD, _a("cmd", _K.CMD), _a("id"), _ptr("addr")))
_c(444, "landlock_create_ruleset", (_ptr("attr"), _a("size"), _FLAGS))
_c(445, "landlock_add_rule", (_fd("ruleset_fd"), _a("rule_type"), _ptr("rule_attr"), _FLAGS))
_c(446, "landlock_restrict_self", (_fd("ruleset_fd"), _FLAGS))
_c(447, "memfd_secret", (_FLAGS,))
_c(448, "process_mrelease", (_fd("pidfd"), _FLAGS), "", _T.PLAIN | _T.UNSAFE)
_c(449, "futex_waitv", (_ptr("waiters"), _a("nr_futexes"), _FLAGS, _ptr("timeout"),
                        _a("clockid")), "stdio")
_c(450, "set_mempolicy_home_node", (_START, _LEN, _a("home_node"), _FLAGS))
_c(451, "cachestat", (_FD, _ptr("cstat_range"), _ptr("cstat"), _FLAGS))
_c(452, "fchmodat2", (_DFD, _at("filename", *_atf(3)),
                      _a("mode"), _FLAGS), _W, _WP, on_descriptor="fchmod")
_c(453, "map_shadow_stack", (_a("addr", _K.ADDR), _a("size"), _FLAGS), "stdio")
_c(454, "futex_wake", (_ptr("uaddr"), _a("mask"), _a("nr"), _FLAGS), "stdio")
_c(455, "futex_wait", (_ptr("uaddr"), _a("val"), _a("mask"), _FLAGS, _ptr("timeout"),
                       _a("clockid")), "stdio")
_c(456, "futex_requeue", (_ptr("waiters"), _FLAGS, _a("nr_wake"), _a("nr_requeue")), "stdio")
_c(457, "statmount", (_ptr("req"), _ptr("buf"), _a("bufsize"), _FLAGS))
_c(458, "listmount", (_ptr("req"), _ptr("mnt_ids"), _a("nr_mnt_ids"), _FLAGS))
_c(459, "lsm_get_self_attr", (_a("attr"), _ptr("ctx"), _ptr("size"), _FLAGS))
_c(460, "lsm_set_self_attr", (_a("attr"), _ptr("ctx"), _a("size"), _FLAGS))
_c(461, "lsm_list_modules", (_ptr("ids"), _ptr("size"), _FLAGS))
_c(462, "mseal", (_START, _LEN, _FLAGS), "stdio")
_c(463, "setxattrat", (_DFD, _at_maybe_null("pathname", 2),
                       _fl("at_flags"), _a("name", _K.STRING), _ptr("uargs"), _a("usize")),
   _W, _WP, on_descriptor="fsetxattr")
_c(464, "getxattrat", (_DFD, _at_maybe_null("pathname", 2),
                       _fl("at_flags"), _a("name", _K.STRING), _ptr("uargs"), _a("usize")),
   _R, _RP, reveals=METADATA, on_descriptor="fgetxattr")
_c(465, "listxattrat", (_DFD, _at_maybe_null("pathname", 2),
                        _fl("at_flags"), _ptr("list"), _a("size")), _R, _RP,
   reveals=METADATA, on_descriptor="flistxattr")
_c(466, "removexattrat", (_DFD, _at_maybe_null("pathname", 2),
                          _fl("at_flags"), _a("name", _K.STRING)), _W, _WP,
   on_descriptor="fremovexattr")
_c(467, "open_tree_attr", (_DFD, _at("filename", *_atf(2),
                                       exposes=if_flag(2, OPEN_TREE_CLONE)), _FLAGS,
                           _ptr("uattr"), _a("usize")), "namespace fsread", _NSX,
   reveals=METADATA)
_c(468, "file_getattr", (_DFD, _at_maybe_null("filename", 4),
                         _ptr("ufattr"), _a("usize"), _fl("at_flags")), _R, _RP,
   reveals=METADATA)
_c(469, "file_setattr", (_DFD, _at_maybe_null("filename", 4),
                         _ptr("ufattr"), _a("usize"), _fl("at_flags")), _W, _WP)
# fmt: on

#: number -> name of every call (numbers not here get ENOSYS from the prefilter)
NAMES: dict[int, str] = {nr: call.name for nr, call in TABLE.items()}
NUMBERS: dict[str, int] = {name: nr for nr, name in NAMES.items()}
#: name -> record
BY_NAME: dict[str, Call] = {call.name: call for call in TABLE.values()}
MAX_NR = max(TABLE)
#: ioctl requests that do what a system call does, by the call they are decided as (and as
#: unsafe as it): a device that hands out the call's power must not be a way around it
DEVICE_CALLS: dict[int, str] = {USERFAULTFD_IOC_NEW: "userfaultfd"}


#: where an :class:`AsPath` call's files are: one of :class:`Where`'s values
WhereTag = NewType("WhereTag", str)


class Where:
    """Where the files an :class:`AsPath` call acts on are (str tags: see :class:`Kind`).

    * ``MQUEUE``: the queue named by argument 0 (a C string, no slash: the kernel's own
      form) is the file NAME of every mount of the ``mqueue`` file system -- every mount of
      the IPC namespace's shows the same files (engine: each mqueue mount of the caller's
      view and of the tracer's);
    * ``KERNEL_LOG``: the kernel's log, /dev/kmsg and /proc/kmsg."""

    MQUEUE: Final = WhereTag("mqueue")
    KERNEL_LOG: Final = WhereTag("kernel log")


#: the files of Where.KERNEL_LOG
KERNEL_LOG_FILES = ("/dev/kmsg", "/proc/kmsg")


class AsPath(NamedTuple):
    """A call that names no path but acts on files a path rule names: decided, besides its
    own decision, as the path call ``call`` ("openat", "unlinkat") of each of those files
    (``where``), where a rule decides them (Supervisor._as_path).  ``when``: the registers
    in which it does (syslog's reading actions); ``flags``: the argument holding its open
    flags (mq_open's oflag), or ``access``, the open flags it is decided with by the value
    of ``when``'s register.  The filter stops it (in ``when``'s cases) where a table may
    refuse a path (filterplan.plan)."""

    call: str
    where: WhereTag
    when: Rule = ALWAYS
    flags: int | None = None
    access: dict[int, int] = {}


#: Calls of a path call's effect that name no path (red team 89, close 50): POSIX message
#: queues' open and unlink (their descriptor calls act on what the open decided), and
#: syslog's actions 2 and 3 (read, read all: reads of the log) and 4 and 5 (read and clear,
#: clear: a read and a write of it)
AS_PATHS: dict[str, AsPath] = {
    "mq_open": AsPath("openat", Where.MQUEUE, flags=1),
    "mq_unlink": AsPath("unlinkat", Where.MQUEUE),
    "syslog": AsPath("openat", Where.KERNEL_LOG, one_of(0, frozenset({2, 3, 4, 5})),
                     access={2: O_RDONLY, 3: O_RDONLY, 4: O_RDWR, 5: O_RDWR}),
}


def _one_pass() -> tuple[dict[str, tuple[tuple[int, Path], ...]], dict[ArgKind, dict[str, int]],
                        dict[str, Rule], dict[str, tuple[int, ...]]]:
    """The indexes the derived tables are built from, in one pass over the table, in local
    variables (every run imports this: 0.9 ms as four passes at module level, issue 16):
    each call's path arguments, the first argument of each kind, the rule its classes depend
    on (:data:`CLASS_RULES`) and its descriptor arguments (:data:`DESCRIPTOR_ARGS`)."""
    paths: dict[str, tuple[tuple[int, Path], ...]] = {}
    first_of_kind: dict[ArgKind, dict[str, int]] = {kind: {} for kind in KINDS}
    class_rules: dict[str, Rule] = {}
    descriptor_args: dict[str, tuple[int, ...]] = {}
    path_kind, fd_kind, socket_kind = Kind.PATH, Kind.FD, Kind.SOCKET
    files = first_of_kind[Kind.FILE]
    for call in TABLE.values():
        name = call.name
        call_paths: list[tuple[int, Path]] = []
        descriptors: list[int] = []
        names_a_path = False
        for index, arg in enumerate(call.args):
            kind = arg.kind
            first = first_of_kind[kind]
            if name not in first:
                first[name] = index
            if isinstance(arg, Path):
                call_paths.append((index, arg))
            if kind == path_kind:
                names_a_path = True
            elif kind in (fd_kind, socket_kind):
                descriptors.append(index)
        if names_a_path:
            paths[name] = tuple(call_paths)
        # the rule on one register its classes depend on (besides open flags): its
        # aliases_when, or a path's renamed, when that depends on the arguments
        class_rule = None
        for rule in (call.aliases_when, *[p.renamed for _, p in call_paths]
                     ) if names_a_path else (call.aliases_when,):
            if rule not in (ALWAYS, NEVER):
                assert class_rule is None or rule == class_rule, \
                    f"{name}: one register decides its classes"
                class_rule = class_rule or rule
        if class_rule is not None:
            class_rules[name] = class_rule
        if descriptors and name not in paths and name not in files:
            descriptor_args[name] = tuple(descriptors)
    return paths, first_of_kind, class_rules, descriptor_args


#: name -> (index, Path) of each path argument, for the calls that have one
PATHS: dict[str, tuple[tuple[int, Path], ...]]
#: name -> the rule on one register (the call's *selector*) its classes depend on, besides
#: open flags: ioctl's request, renameat2's flags
CLASS_RULES: dict[str, Rule]
_FIRST_OF_KIND: dict[ArgKind, dict[str, int]]
PATHS, _FIRST_OF_KIND, CLASS_RULES, _DESCRIPTOR_ARGS = _one_pass()
_TREATED: dict[Treatment, frozenset[str]] = {}
_BY_BIT: dict[int, frozenset[str]] = {}


def _by_bit() -> dict[int, frozenset[str]]:
    """Each treatment bit -> the names of the calls whose treatment has it, in one pass over
    the table: a start asks :func:`treated` about 13 flags, and a pass over the ~380 records
    for each was ~0.5 ms of it (issue 16)."""
    names: dict[int, list[str]] = {}
    for call in TABLE.values():
        treat = call.treat
        while treat:
            bit = treat & -treat
            names.setdefault(bit, []).append(call.name)
            treat ^= bit
    return {bit: frozenset(found) for bit, found in names.items()}


def treated(flag: Treatment) -> frozenset[str]:
    """The names of the calls whose treatment includes ``flag`` (any of its bits)."""
    found = _TREATED.get(flag)
    if found is None:
        if not _BY_BIT:
            _BY_BIT.update(_by_bit())
        bits, value = [], flag
        while value:
            bits.append(_BY_BIT.get(value & -value, frozenset()))
            value &= value - 1
        found = _TREATED[flag] = frozenset().union(*bits)
    return found


def with_kind(kind: ArgKind) -> frozenset[str]:
    """The names of the calls that have an argument of this kind."""
    return frozenset(_FIRST_OF_KIND.get(kind, ()))


def arg_index(kind: ArgKind) -> dict[str, int]:
    """name -> the index of its first argument of this kind, for every call that has one."""
    return dict(_FIRST_OF_KIND.get(kind, {}))


def number(name: str) -> int:
    """The x86_64 number of a call name; KeyError when there is no such call."""
    return NUMBERS[name]


def suggest(word: str, candidates: list[str] | None = None) -> list[str]:
    """The nearest call (or alias) names to a misspelt one, best first."""
    import difflib  # only a misspelt name pays for it (start-up, issue 16)

    pool = candidates if candidates is not None else list(NUMBERS)
    return difflib.get_close_matches(word, pool, n=3, cutoff=0.6)


# --- what a call returns on success (fault injection's ``retval`` is checked against it) -------
#: what a call gives back when it succeeds: one of :class:`Result`'s values
Returns = NewType("Returns", str)


class Result:
    """What a call gives back when it succeeds: what a faked success (an injected ``retval``)
    may say without telling the program something the kernel never would; :data:`RETURN_KINDS`
    lists them (str tags, not an enum: start-up, issue 16; see :class:`Kind`)."""

    #: it does not return to the caller (exit, a successful exec)
    NONE: Final = Returns("none")
    #: 0 and nothing else
    ZERO: Final = Returns("zero")
    #: a new descriptor: 0..INT_MAX
    FD: Final = Returns("fd")
    #: a count of bytes or messages: 0..SSIZE_MAX
    COUNT: Final = Returns("count")
    #: an address in the caller's space, page-aligned (mmap, brk...)
    ADDRESS: Final = Returns("address")
    #: some other non-negative value (an id, a previous setting...)
    VALUE: Final = Returns("value")


#: every one, in the order written
RETURN_KINDS: tuple[Returns, ...] = tag_values(Result)


_RESULT_NAMES: dict[Returns, str] = {
    Result.NONE: "exit exit_group execve execveat rt_sigreturn",
    Result.ZERO: (
        "access faccessat faccessat2 stat lstat fstat newfstatat statx statfs fstatfs ustat"
        " chdir fchdir chroot pivot_root chmod fchmod fchmodat fchmodat2 chown fchown lchown"
        " fchownat truncate ftruncate fsync fdatasync syncfs sync_file_range fallocate"
        " unlink unlinkat rmdir mkdir mkdirat mknod mknodat rename renameat renameat2 link"
        " linkat symlink symlinkat utime utimes utimensat futimesat setxattr lsetxattr"
        " fsetxattr removexattr lremovexattr fremovexattr mount umount2 move_mount"
        " mount_setattr fsconfig close close_range flock bind connect listen shutdown"
        " setsockopt getsockopt getsockname getpeername socketpair pipe pipe2 kill tkill"
        " tgkill rt_sigaction rt_sigprocmask rt_sigpending rt_sigqueueinfo rt_tgsigqueueinfo"
        " sigaltstack pidfd_send_signal nanosleep clock_nanosleep munmap mprotect madvise"
        " msync mlock mlock2 munlock mlockall munlockall setuid setgid setreuid setregid"
        " setresuid setresgid setgroups setpgid setrlimit getrlimit prlimit64 uname sysinfo"
        " sethostname setdomainname gettimeofday settimeofday clock_gettime clock_settime"
        " clock_getres unshare setns sched_yield sched_setparam sched_setscheduler"
        " sched_setaffinity sched_getparam getresuid getresgid getcpu set_robust_list"
        " get_robust_list arch_prctl shmdt capset capget landlock_add_rule"
        " landlock_restrict_self inotify_rm_watch epoll_ctl timer_settime timer_gettime"
        " timer_delete timerfd_settime timerfd_gettime futimesat acct swapon swapoff reboot"
        " quotactl sync"),
    Result.FD: (
        "open openat openat2 creat socket accept accept4 dup dup3 epoll_create epoll_create1"
        " eventfd eventfd2 signalfd signalfd4 timerfd_create inotify_init inotify_init1"
        " memfd_create memfd_secret pidfd_open pidfd_getfd userfaultfd fanotify_init"
        " perf_event_open open_tree open_tree_attr fsopen fsmount fspick io_uring_setup"
        " open_by_handle_at landlock_create_ruleset mq_open bpf"),
    Result.COUNT: (
        "read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 sendto"
        " recvfrom sendmsg recvmsg sendmmsg recvmmsg sendfile splice tee vmsplice"
        " copy_file_range getdents getdents64 readlink readlinkat getxattr lgetxattr"
        " fgetxattr listxattr llistxattr flistxattr getrandom process_vm_readv"
        " process_vm_writev"),
    Result.ADDRESS: "mmap mremap brk shmat",
}
#: name -> what the call returns on success (:class:`Result`); a call not listed: VALUE
RESULTS: dict[str, Returns] = {name: result for result, names in _RESULT_NAMES.items()
                              for name in names.split() if name in NUMBERS}


def result_of(name: str) -> Returns:
    """What a call returns when it succeeds (calls that do not return at all included)."""
    found = RESULTS.get(name)
    if found is not None:
        return found
    return Result.VALUE if BY_NAME[name].returns else Result.NONE


#: name -> the indexes of its descriptor arguments (FD, SOCKET), for the calls that name no
#: path and no FILE descriptor: an inject rule's ``path`` (``-P``) is matched against the
#: files behind them (a write to a file, strace's -P).  No other rule looks at them.
DESCRIPTOR_ARGS: dict[str, tuple[int, ...]] = _DESCRIPTOR_ARGS

#: the calls that may change the caller's credentials (its fsuid, fsgid, groups, capabilities,
#: user namespace or LSM domain), besides exec: the table's "privilege" calls, the two that
#: may enter another user namespace, and landlock_restrict_self (a Landlock domain, a wall to
#: ptrace_may_access: paths.LandlockDomain, noted at its exit by Tracer._noted).  The filter
#: always stops them, so the tracer knows to read them again (a lookup is checked with the
#: task's search permission: paths.PathResolver)
CHANGES_CREDENTIALS = frozenset(
    {c.name for c in TABLE.values() if "privilege" in c.aliases}
    | {"unshare", "setns", "landlock_restrict_self"})
