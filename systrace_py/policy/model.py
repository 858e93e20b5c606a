"""The policy model: actions, rules, per-program tables, and the facts a decision is made on.

Pure data and pure logic: nothing here knows about ptrace.  The engine turns a kernel stop into
:class:`CallFacts` (call name, resolved paths, decoded socket address, exec argv) and asks a
:class:`Table` for a :class:`Decision`; the same tables are compiled into the seccomp prefilter
by :mod:`systrace_py.policy.filterplan`.
"""

from __future__ import annotations

import dataclasses
import enum
import errno as errno_module
import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NewType, Protocol, Self, cast

from systrace_py import tag_values
from systrace_py.kernel import O_CREAT, O_RDONLY, O_WRONLY
from systrace_py.policy import aliases
from systrace_py.policy.environment import Grants
from systrace_py.policy.glob import (
    Expansions,
    GlobError,
    PathGlob,
    escape,
    expand_path,
    holds_expansion,
)
from systrace_py.policy.inject import Injection
from systrace_py.syscalls import PATHS

if TYPE_CHECKING:
    from systrace_py.policy.index import CheckIndex, TableIndex


#: what a lookup does to what it passes through: reads a symlink, looks at a directory
TRAVERSAL_CALLS = ("readlink", "stat")


class Action(enum.Enum):
    """What happens to a call: systrace's permit, never (deny) and ask -- and inject, which
    decides nothing: an inject rule tampers with the calls it picks (policy/inject.py), and
    whether they may run is decided by the other rules as if it were not there."""

    __hash__ = object.__hash__  # (identity, in C: an Enum's own is a Python function)

    PERMIT = "permit"
    NEVER = "never"
    ASK = "ask"
    INJECT = "inject"

    @property
    def severity(self) -> int:
        """Order used when one call has several checks: the strictest answer wins."""
        return _SEVERITY[self]


_SEVERITY = {Action.PERMIT: 0, Action.ASK: 1, Action.NEVER: 2, Action.INJECT: 0}
#: What a rule may decide (a table's default too): every action but inject.
DECIDING = (Action.PERMIT, Action.NEVER, Action.ASK)
#: the role :meth:`Facts.fresh` is asked with for the unix socket file the call's address
#: names (a ``fresh`` rule with a ``unix`` condition): no path argument has it
ADDRESS = "address"
#: what a ``target`` condition may say (:attr:`Rule.target`): the tasks of the traced tree
#: (Facts.in_tree) -- the one target there is, written by the learner and read by the loader
TREE = "tree"


#: why a decision was made: one of :class:`Reason`'s values (a str, written as itself)
ReasonTag = NewType("ReasonTag", str)


class Reason:
    """Why a decision was made (the log's ``reason``); :data:`REASONS` lists them.  Str tags
    in a class, not an enum: an Enum class costs 0.4-1.5 M instructions to make at import, at
    every run (start-up, issue 16)."""

    #: a rule matched
    RULE: Final = ReasonTag("rule")
    #: no rule did: the table's default
    DEFAULT: Final = ReasonTag("default")
    #: a rule about the destination of a rename decided
    RENAMING: Final = ReasonTag("renaming")
    #: a rule about what lies below a directory decided
    SUBTREE: Final = ReasonTag("subtree")
    #: a call that acts out of the tracer's sight (engine refusal)
    UNSAFE: Final = ReasonTag("unsafe")
    #: a socket address rules cannot see (engine refusal)
    UNSEEN: Final = ReasonTag("unseen")
    #: a device request that does what an unsafe call does
    DEVICE: Final = ReasonTag("device")
    #: another process's memory read through /proc/PID/mem
    MEMORY: Final = ReasonTag("memory")
    #: a directory or symlink a lookup passes through was decided
    TRAVERSAL: Final = ReasonTag("traversal")
    #: a unix socket's file: a bind makes it (decided as mknod), a connect or send writes it
    #: (decided as an open for writing: red team 86)
    SOCKET_FILE: Final = ReasonTag("socket file")
    #: the script's interpreter was decided on
    INTERPRETER: Final = ReasonTag("interpreter")
    #: an exec into another table with code the caller chose
    LOADER: Final = ReasonTag("loader environment")
    #: ... of a Python whose user site a caller's HOME places
    USER_SITE: Final = ReasonTag("user site HOME")
    #: ... of a Python that imports first from a cwd a traced program may write
    PYTHON_CWD: Final = ReasonTag("python working directory")
    #: ... of a script spelled through a link the caller may change
    SCRIPT_LINK: Final = ReasonTag("script link")
    #: a redirect the call cannot run with as written (red team 33)
    REDIRECT: Final = ReasonTag("redirect")
    #: a new name would grant the file more than its own (issue 11)
    LINKED: Final = ReasonTag("linked access")
    #: a copy of a tree (a btrfs snapshot) would show a file the table keeps from being read,
    #: or make names (a snapshot's, a subvolume's) it keeps from being made
    COPIED: Final = ReasonTag("copied tree")
    #: ... of a script whose #!/usr/bin/env searches a caller's PATH
    ENV_PATH: Final = ReasonTag("env PATH")
    #: an exec into another table by a name of the tree's own
    PROGRAM_NAME: Final = ReasonTag("program name")
    #: an exec of a program whose file another path had
    FORMER_NAME: Final = ReasonTag("former policy name")
    #: ... into another table with 0, 1 or 2 closed
    STANDARD_FDS: Final = ReasonTag("standard descriptors")
    #: ... into another table under a filter of the tree's
    OWN_FILTER: Final = ReasonTag("own seccomp filter")
    #: ... into another table with flags a setuid exec clears
    PERSONALITY: Final = ReasonTag("personality")
    #: -A: permitted to be learned
    LEARNING: Final = ReasonTag("learning")
    #: a person's (or an approver's) answer
    ANSWER: Final = ReasonTag("answer")


#: every one, in the order written
REASONS: tuple[ReasonTag, ...] = tag_values(Reason)


class Location:
    """Where something was written: a policy file and a line (0 when not known).

    The line may be given as a function, called when the line is first asked for: finding the
    lines of a file's rules costs a second pass over its text, which only logs, prompts and
    reports need -- not a run that just enforces the policy.
    """

    __slots__ = ("_find", "_line", "file")

    def __init__(self, file: str, line: int | Callable[[], int] = 0) -> None:
        self.file = file
        if isinstance(line, int):
            self._line, self._find = line, None
        else:
            self._line, self._find = 0, line

    @property
    def line(self) -> int:
        if self._find is not None:
            self._line, self._find = self._find(), None
        return self._line

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __repr__(self) -> str:
        return f"Location(file={self.file!r}, line={self.line!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Location):
            return NotImplemented
        return (self.file, self.line) == (other.file, other.line)

    def __hash__(self) -> int:
        return hash((self.file, self.line))


# ---------------------------------------------------------------------------------------------
# Facts about one call, as the engine decoded them.

_classes_of = functools.lru_cache(maxsize=4096)(
    lambda syscall, role, flags, selector: tuple(sorted(
        aliases.classes_of(syscall, role, flags, selector))))


@functools.lru_cache(maxsize=4096)
def checks_of(syscall: str, role: str, flags: int | None, selector: int | None
               ) -> tuple[tuple[str | None, str | None], ...]:
    """The (class, part alias) of every check of the path in ``role``; one (None, None) for a
    call in no class."""
    return tuple((cls, aliases.part_of(syscall, role, cls, selector))
                 for cls in _classes_of(syscall, role, flags, selector)) or ((None, None),)


#: what a refused name's DNS query gets: one of :class:`DnsRefused`'s values
DnsAnswer = NewType("DnsAnswer", str)


class DnsRefused:
    """What a DNS query for a name a ``never`` rule refuses gets (``dns_refused``);
    :data:`DNS_ANSWERS` lists them (str tags, as the policy file writes them; not an enum:
    start-up, issue 16, see :class:`Reason`)."""

    NXDOMAIN: Final = DnsAnswer("nxdomain")  # "no such name": the program never learns an address
    PASS: Final = DnsAnswer("pass")          # resolved as asked; the connect is refused instead


#: every one, in the order written
DNS_ANSWERS: tuple[DnsAnswer, ...] = tag_values(DnsRefused)


#: what a refusal of a missing path answers: one of :class:`Missing`'s values
MissingAnswer = NewType("MissingAnswer", str)


class Missing:
    """What a refusal answers when the path it is about does not exist (``missing``);
    :data:`MISSING_ANSWERS` lists them (str tags, as the policy file writes them; not an
    enum: start-up, issue 16, see :class:`Reason`)."""

    ENOENT: Final = MissingAnswer("ENOENT")  # ENOENT, as the kernel's lookup would: searches go on
    ERRNO: Final = MissingAnswer("errno")    # the rule's (or the default's) errno, whatever


#: every one, in the order written
MISSING_ANSWERS: tuple[MissingAnswer, ...] = tag_values(Missing)


#: how a path the kernel would look up does not exist: one of :class:`Absent`'s values
Absence = NewType("Absence", str)


class Absent:
    """How a path the kernel would look up does not exist; :data:`ABSENCES` lists them.  Str
    tags in a class, not an enum (start-up, issue 16: see :class:`Reason`)."""

    LAST: Final = Absence("last")  # its last name (a call that creates it would make it)
    WAY: Final = Absence("way")    # a directory on the way: no call can reach it


#: every one, in the order written
ABSENCES: tuple[Absence, ...] = tag_values(Absent)


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A decoded socket address.

    ``family`` is "inet", "inet6", "unix", "netlink" or "other".  ``host`` is the address as
    text, with an IPv4-mapped IPv6 address given as the IPv4 address it really is.  For "unix",
    ``path`` is the socket path resolved in the caller's view, "@name" for an abstract socket,
    or "" for an unnamed one.  ``names``: for "inet"/"inet6", the DNS names (normal form,
    :func:`systrace_py.policy.net.normal_name`) the traced programs resolved to this address
    during the run, which ``host`` conditions match; () when none was observed.  ``many``:
    a datagram destination that stands for several hosts -- a broadcast address of the
    caller's routes, 255.255.255.255, a multicast group --, which reaches every host of its
    link or group that listens: a refusing rule with any IP condition matches it (red team 37).
    ``chained``: the names an answer's CNAME chain led to this address by (an alias's
    targets), which a rule on the host may refuse it by but never permits
    (names.NameTable.add_chained; the supervisor's ``by_name``); no ``host`` condition
    matches them here.
    """

    family: str
    host: str | None = None
    port: int | None = None
    path: str | None = None
    names: tuple[str, ...] = ()
    many: bool = False
    chained: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.family == "unix":
            return f"unix:{self.path or '(unnamed)'}"
        if self.family == "inet6":
            return f"[{self.host}]:{self.port}"
        if self.family == "inet":
            return f"{self.host}:{self.port}"
        return self.family


@dataclass(frozen=True, slots=True)
class PathArg:
    """One path argument of a call: its role ("path", "old", "new") and its resolved form."""

    role: str
    path: str


class Facts(Protocol):
    """What a table decides on.  The engine's decoded call implements this lazily: a path is
    resolved, an address or argv read, only when a rule's condition asks for it."""

    @property
    def syscall(self) -> str: ...

    @property
    def open_flags(self) -> int | None: ...

    @property
    def selector(self) -> int | None:
        """The register the call's classes depend on besides open flags (renameat2's flags,
        ioctl's request: ``syscalls.CLASS_RULES``), as the kernel reads it; None for calls
        whose classes no register decides."""
        ...

    @property
    def sockaddr(self) -> SockAddr | None: ...

    @property
    def argv(self) -> tuple[str, ...] | None: ...

    def roles(self) -> tuple[str, ...]:
        """The roles of the call's path arguments ("path"; "old" and "new"), maybe none."""
        ...

    def path(self, role: str) -> str | None:
        """The resolved path in that role."""
        ...

    def directory(self, role: str) -> bool:
        """Whether the path in that role is an existing directory (asked only of moves)."""
        ...

    def socket(self, role: str) -> bool:
        """Whether the path in that role is a unix socket (asked only of links and renames)."""
        ...

    def sockets_below(self, role: str) -> tuple[str, ...] | None:
        """The unix sockets inside the directory in that role (None: too many to look)."""
        ...

    def exposes(self, role: str) -> bool:
        """Whether the call shows the file at the path in that role, with everything below
        it, under another name, or replaces what lies there (a mount's source and target)."""
        ...

    def view_own_name(self, role: str) -> bool:
        """Whether the path in that role names its file by a name only the task's own mount
        namespace has, on a file system the tracer's view shows too (asked only of links
        and renames: the file's names there are not the call's)."""
        ...

    def aliases(self, role: str) -> tuple[str, ...] | None:
        """The other names the directory the path in that role lies in has in the tracer's
        view (other mounts show it: asked only of links and renames' new names: the file
        gets those names as well); None when they cannot be told."""
        ...

    def absent(self, role: str) -> Absence | None:
        """Whether (and how) the path in that role does not exist; None when it does or
        cannot be told (asked only of refusals: see :meth:`Table.refusal_errno`)."""
        ...

    def made_by_run(self, path: str) -> bool:
        """Whether a process of this run made ``path`` (a resolved name) and it is still
        there under that name -- a learned rule's condition on the directory a name
        something runs later begins in (generalize.LearnedGlob.made_directory)."""
        ...

    def fresh(self, role: str) -> bool:
        """Whether the path in that role is one the run makes: it names nothing yet (the
        call would make it), or a process of this run made it (asked only by ``fresh``
        rules, :attr:`Rule.fresh`).  :data:`ADDRESS`: the unix socket file the call's
        address names, likewise (bind's, one it would make; a connect's, one a bind of
        this run made)."""
        ...

    def older_below(self, role: str) -> tuple[tuple[str, str, bool], ...]:
        """The files below the directory in that role, one the run made, that a call of
        the run linked or moved there although the run did not make them: (the name's tail
        below the directory, "/x/y"; the file's own name when it came; whether a
        directory) -- asked only of a link or rename of a ``fresh`` path
        (:meth:`Table._linked_decision`)."""
        ...

    def descriptor_paths(self) -> tuple[str, ...]:
        """The files behind the descriptors of a call that names no path (a write's): only
        inject rules' path conditions look at them (``syscalls.DESCRIPTOR_ARGS``)."""
        ...

    def in_tree(self) -> bool:
        """Whether a signal call reaches tasks of the traced tree only: every process or
        thread it names is one the tracer traces (asked only by ``target = "tree"`` rules,
        :attr:`Rule.target`; False for a process group, -1, or what cannot be told)."""
        ...


@dataclass(frozen=True, slots=True)
class CallFacts:
    """Facts as plain data (tests, logs, offline tools).  Paths are absolute, resolved as the
    kernel would resolve them for the calling task (cwd, dirfd, "..", "//", symlinks,
    /proc/self, its root)."""

    syscall: str
    paths: tuple[PathArg, ...] = ()
    open_flags: int | None = None
    sockaddr: SockAddr | None = None
    argv: tuple[str, ...] | None = None
    directories: frozenset[str] = frozenset()  # the roles whose path is a directory
    sockets: frozenset[str] = frozenset()      # the roles whose path is a unix socket
    sockets_inside: tuple[str, ...] = ()       # sockets inside the directories
    exposed: frozenset[str] = frozenset()      # the roles the call exposes (Facts.exposes)
    selector: int | None = None                # see Facts.selector
    missing: tuple[tuple[str, Absence], ...] = ()  # (role, how) of the paths that do not exist
    descriptors: tuple[str, ...] = ()          # see Facts.descriptor_paths
    #: the roles whose path the run makes (Facts.fresh).  Empty by default: a question
    #: about a path seen apart from a call (an interpreter, a directory walked through) must
    #: not find a ``fresh`` permit standing before a refusing rule.  Learning's check of its
    #: own observations gives every role (what a learning run used, it made or may make).
    made: frozenset[str] = frozenset()
    #: whether the signal call's targets are tasks of the traced tree (Facts.in_tree).
    #: False by default: a question about a call seen apart from the run must not find a
    #: tree-scoped permit standing before a refusing rule.
    tree: bool = False
    #: the older files below a directory the run made (Facts.older_below), for any role
    older_inside: tuple[tuple[str, str, bool], ...] = ()

    def roles(self) -> tuple[str, ...]:
        return tuple(p.role for p in self.paths)

    def older_below(self, role: str) -> tuple[tuple[str, str, bool], ...]:
        return self.older_inside if role in self.made else ()

    def in_tree(self) -> bool:
        return self.tree

    def descriptor_paths(self) -> tuple[str, ...]:
        return self.descriptors

    def exposes(self, role: str) -> bool:
        return role in self.exposed

    def view_own_name(self, role: str) -> bool:
        return False

    def aliases(self, role: str) -> tuple[str, ...] | None:
        return ()

    def absent(self, role: str) -> Absence | None:
        return next((how for r, how in self.missing if r == role), None)

    def fresh(self, role: str) -> bool:
        return role in self.made

    def made_by_run(self, path: str) -> bool:
        # (learning's check gives every role as made: the run made what it used)
        return bool(self.made)

    def directory(self, role: str) -> bool:
        return role in self.directories

    def socket(self, role: str) -> bool:
        return role in self.sockets

    def sockets_below(self, role: str) -> tuple[str, ...] | None:
        return self.sockets_inside

    def path(self, role: str) -> str | None:
        for p in self.paths:
            if p.role == role:
                return p.path
        return None

    def checks(self) -> Iterator[tuple[str | None, PathArg | None]]:
        """Every (class, path) pair this call must be permitted for.

        A call with no alias classes yields one check with class None; a call with no path
        yields checks with path None.
        """
        roles: tuple[PathArg | None, ...] = self.paths or (None,)
        for arg in roles:
            role = arg.role if arg is not None else "path"
            classes = _classes_of(self.syscall, role, self.open_flags, self.selector)
            if not classes:
                yield None, arg
            for cls in classes:
                yield cls, arg


# ---------------------------------------------------------------------------------------------
# Conditions: implemented in glob.py / net.py / argv.py; the model only needs this much.


class PathPattern(Protocol):
    """A path glob: ``*`` within a name, ``**`` across names."""

    pattern: str

    def matches(self, path: str) -> bool: ...


class NetPattern(Protocol):
    """An address condition: CIDR, port or port range, host name, unix socket path."""

    def matches(self, addr: SockAddr) -> bool: ...

    def may_reach(self, addr: SockAddr) -> bool: ...

    def name_decides(self, name: str) -> bool | None: ...

    def describe(self) -> dict[str, object]: ...


class ArgvPattern(Protocol):
    """A condition on the argv of an exec."""

    @property
    def patterns(self) -> tuple[object, ...]: ...  # (globs, and argv.Words elements)

    def matches(self, argv: tuple[str, ...]) -> bool: ...


@dataclass(frozen=True, slots=True)
class Redirect:
    """Argument replacement: the call goes ahead with this path or address instead."""

    path: str | None = None
    address: SockAddr | None = None

    def __str__(self) -> str:
        return self.path if self.path is not None else str(self.address)


@functools.lru_cache(maxsize=1024)
def split_calls(calls: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """A rule's calls as (system call names, aliases): the rules of a policy repeat a few
    lists of calls, so each list is split once."""
    named = frozenset(calls)
    classes = frozenset(aliases.ALIASES.keys() & named)
    return named - classes, classes


#: The fields of a :class:`Rule` that are conditions on a call (what the rule picks), the
#: one list of them: what an answer keeps of its ``ask`` walks it (answer_conditions,
#: review 72); tests/unit/test_close46.py checks every other field of a rule is none.
CONDITIONS: Final = ("path", "net", "argv", "fresh", "target")


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]``: which calls, under which conditions, get which action.

    ``calls`` keeps the names as written (aliases and call names) for display and saving;
    ``syscalls`` and ``classes`` are what matching uses.  A rule applies to a check of class
    ``c`` of call ``s`` when ``s`` is named directly or ``c`` is one of the aliases named.
    """

    calls: tuple[str, ...]
    action: Action
    errno: int = errno_module.EPERM
    path: PathPattern | None = None
    net: NetPattern | None = None
    argv: ArgvPattern | None = None
    redirect: Redirect | None = None
    location: Location | None = None
    index: int = 0
    missing: MissingAnswer | None = None  # a refusal of a missing path; None: the table's
    inject: Injection | None = None  # what an inject rule does (action INJECT only)
    #: ``fresh = true``: the rule covers only paths the run makes (Facts.fresh) -- what
    #: the learner writes for a glob made from a name the program chose; on a ``unix``
    #: condition, only socket files the run makes (Facts.fresh(ADDRESS))
    fresh: bool = False
    #: ``target = "tree"``: a signal call is covered only when every task it names is one
    #: of the traced tree (Facts.in_tree) -- the program signalling itself, its children,
    #: its threads; None: any target
    target: str | None = None
    syscalls: frozenset[str] = field(init=False)
    classes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        syscalls, classes = split_calls(self.calls)
        object.__setattr__(self, "syscalls", syscalls)
        object.__setattr__(self, "classes", classes)

    @classmethod
    def made(cls, fields: dict[str, object]) -> Self:
        """A rule of this class with these fields, every one of them given (``syscalls`` and
        ``classes`` as :func:`split_calls` makes them), without the constructor: the
        ``__init__`` of a frozen dataclass sets each field through ``object.__setattr__``,
        a quarter of the time of reading a rule from a file (the policy loader makes every
        rule this way; tests/unit/test_policy_files.py checks the rules it makes equal those
        the constructor makes).  Given in the constructor's order and written into the
        instance's own dict, the fields keep the layout the class's instances share, so
        reading them costs no more at a decision (a dict assigned whole would: +0.6 %)."""
        rule = object.__new__(cls)
        rule.__dict__.update(fields)
        return rule

    @property
    def refuses(self) -> bool:
        """Whether the rule refuses or asks (an inject rule decides nothing)."""
        return self.action is Action.NEVER or self.action is Action.ASK

    @property
    def injects(self) -> bool:
        """Whether it is an inject rule (it tampers with calls, decides none)."""
        return self.action is Action.INJECT

    @property
    def conditional(self) -> bool:
        """Whether the rule looks at arguments (so only a stop can decide it)."""
        return self.path is not None or self.net is not None or self.argv is not None \
            or self.target is not None

    def may_cover(self, syscall: str) -> bool:
        """Whether this rule can apply to some call of this name, whatever its arguments."""
        return syscall in self.syscalls or bool(self.classes & aliases.aliases_of(syscall))

    def patterns(self, sockets: bool = True) -> list[PathPattern]:
        """:func:`path_patterns` of this rule (the index reads rules through their methods,
        so that it needs no runtime import of this module)."""
        return path_patterns(self, sockets)

    def covers(self, syscall: str, cls: str | None, part: str | None = None) -> bool:
        """Whether the rule applies to a check of class ``cls`` (in the part alias ``part``,
        see :func:`aliases.part_of`) of ``syscall``."""
        return syscall in self.syscalls or (cls is not None and cls in self.classes) or (
            part is not None and part in self.classes)

    def matches(self, facts: Facts, role: str | None) -> bool:
        """Whether the conditions hold for the path in ``role`` (the caller has checked
        :meth:`covers`).  Only the conditions the rule has are looked at."""
        if self.path is not None:
            path = facts.path(role) if role is not None else None
            if path is None or not self.path.matches(path):
                return False
            if self.fresh and (role is None or not facts.fresh(role)):
                return False
            # (a learned glob makes a name something runs later only in a directory the
            # run made: generalize.LearnedGlob, gap #32)
            made_directory = getattr(self.path, "made_directory", None)
            directory = made_directory(path) if made_directory is not None else None
            if directory is not None and not facts.made_by_run(directory):
                return False
        if self.net is not None:
            addr = facts.sockaddr
            if addr is None:
                return False
            # (a broadcast or multicast destination reaches the hosts a refusing rule names
            # too, whatever it says: decided as the strictest of them, red team 37)
            if not self.net.matches(addr) and not (
                    addr.many and self.refuses and self.net.may_reach(addr)):
                return False
            # (a fresh unix glob: the program chose the name, the socket must be its own --
            # a learned "bus*" is no grant of the session bus: red team 17)
            if self.fresh and self.path is None and not facts.fresh(ADDRESS):
                return False
        if self.target is not None and not facts.in_tree():
            return False
        if self.argv is not None:
            argv = facts.argv
            return argv is not None and self.argv.matches(argv)
        return True

    def label(self) -> str:
        """How logs and prompts name the rule: its number and where it was written."""
        where = f" ({self.location})" if self.location else ""
        return f"rule {self.index}{where}"

    def describe(self) -> dict[str, object]:
        """The rule as plain data, for the JSON log and the prompt."""
        out: dict[str, object] = {"index": self.index, "calls": list(self.calls),
                                  "action": self.action.value}
        if self.action is Action.NEVER:
            out["errno"] = errno_module.errorcode.get(self.errno, str(self.errno))
        if self.missing is not None:
            out["missing"] = self.missing
        if self.inject is not None:
            out.update(self.inject.describe())
        if self.path is not None:
            out["path"] = self.path.pattern
        if self.fresh:
            out["fresh"] = True
        if self.net is not None:
            out.update(self.net.describe())
        if self.argv is not None:
            from systrace_py.policy.argv import argv_data
            out["argv"] = argv_data(self.argv.patterns)
        if self.target is not None:
            out["target"] = self.target
        if self.redirect is not None:
            out["redirect"] = str(self.redirect)
        if self.location is not None:
            out["at"] = str(self.location)
        return out


@dataclass(slots=True)
class Decision:
    """The answer for one call.

    ``rule`` is None when the table's default decided (or the engine itself, see ``reason``).
    ``arg`` is the path check that decided, when a path did.
    """

    action: Action
    errno: int = errno_module.EPERM
    rule: Rule | None = None
    table: str = "main"
    reason: ReasonTag = Reason.RULE
    redirect: Redirect | None = None
    arg: PathArg | None = None  # the path that decided, when a path condition did
    role: str | None = None     # the path role of the check that decided
    redirects: dict[str, Redirect] | None = None  # role -> replacement, from every check

    @property
    def errno_name(self) -> str:
        return errno_module.errorcode.get(self.errno, str(self.errno))


class _AtTarget:
    """The facts of a call with the path in one role replaced by a redirect's target (as
    written: a target reached through a symlink fails the call, enforce.linked_redirect).
    Not fresh: a ``fresh`` permit does not stand before a refusing rule for it."""

    __slots__ = ("_facts", "_role", "_target")

    def __init__(self, facts: Facts, role: str, target: str) -> None:
        self._facts, self._role, self._target = facts, role, target

    def path(self, role: str) -> str | None:
        return self._target if role == self._role else self._facts.path(role)

    def fresh(self, role: str) -> bool:
        return False if role == self._role else self._facts.fresh(role)

    def absent(self, role: str) -> Absence | None:
        return None if role == self._role else self._facts.absent(role)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._facts, name)


def answer_place(rules: Sequence[Rule], asking: Rule | None) -> int:
    """Where in ``rules`` a rule remembered from an answer goes: just before the rule that
    asked (``asking``: that rule itself, else the first rule like it -- a table's copy, the
    file as it is now), at the end when the table's default asked (None).  A rule the person
    wrote before the ``ask`` decided none of the asked call's checks, and keeps deciding
    every other call and file it picks, whatever the answer's alias and spelling: put
    before every rule, ``permit fswrite $CWD/.bashrc`` answered in one directory wrote
    ``~/.bashrc`` from the home directory, which the person's first rule refused (review
    65).  When no rule like it is left (the person edited the table meanwhile; another
    table of a ``for all`` answer), after every rule that refuses, asks or redirects: the
    answer then overtakes none of them (it may decide nothing: the call is asked again)."""
    if asking is None:
        return len(rules)
    for at, rule in enumerate(rules):
        if rule is asking:
            return at
    like = unplaced(asking)
    for at, rule in enumerate(rules):
        if unplaced(rule) == like:
            return at
    return after_refusals(rules)


def after_refusals(rules: Sequence[Rule]) -> int:
    """The place after every rule of ``rules`` that refuses, asks or redirects."""
    return next((len(rules) - at for at, rule in enumerate(reversed(rules))
                 if rule.refuses or rule.redirect is not None), 0)


def unplaced(rule: Rule) -> Rule:
    """``rule`` without where it was written (a copy of it compares equal)."""
    return dataclasses.replace(rule, index=0, location=None)


def answer_key(decision: Decision, facts: Facts) -> str | None:
    """What an answer to an ask of ``decision`` answers (Table.decide's ``answered``): the
    path it is about -- or, for a link's question (what the file gains by its new name,
    Reason.LINKED), that question about the path: an answer about writing the old path is
    none about the access its file gains by the new one.  With no path, a check of the
    call's own (a role) is about the socket address of ``facts`` (one of a sendmmsg's
    several, under one of its names: the question's): an answer about one destination is
    none about another (red team 61's class).  None: neither -- a check of what the call
    does besides, decided as another call of no path (no role: Supervisor._no_path)."""
    path = decision.arg.path if decision.arg is not None else \
        facts.path(decision.role) if decision.role is not None else None
    if not path:
        address = facts.sockaddr if decision.role is not None else None
        if address is None:
            return None
        return f"{address}\0{' '.join(address.names)}\0address"
    return f"{path}\0linked" if decision.reason == Reason.LINKED else path


def _about_answered(decision: Decision, facts: Facts, answered: Collection[str]) -> bool:
    """Whether ``decision`` asks what an answer in ``answered`` answered (Table.decide)."""
    if decision.action is not Action.ASK:
        return False
    key = answer_key(decision, facts)
    return key is not None and key in answered


@dataclass
class Table:
    """One per-program table: ordered rules, first match wins, then the default."""

    name: str
    default: Action = Action.PERMIT
    default_errno: int = errno_module.EPERM
    rules: list[Rule] = field(default_factory=list)
    location: Location | None = None
    description: str | None = None
    allow_detach: bool = False  # whether an interactive "detach" answer is honoured
    missing: MissingAnswer = Missing.ENOENT  # a refusal of a path that does not exist
    dns_refused: DnsAnswer = DnsRefused.NXDOMAIN  # a query for a name a rule refuses
    #: ``NAME=VALUE`` grants (a literal value, or a glob: environment.Grants) of the loader
    #: and interpreter variables an exec into this table may carry that the run did not start
    #: with (``environment``; Supervisor._entering_table refuses any other)
    environment: tuple[str, ...] = ()
    #: what ``~``, ``$HOME``... mean in ``environment``'s path globs (the policy loader's;
    #: None: this process's environment)
    expansions: Expansions | None = field(default=None, repr=False, compare=False)
    _compiled: TableIndex | None = field(default=None, init=False, repr=False, compare=False)
    _defaults: dict[tuple[bool, str, Action, int], Decision] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _grants: Grants | None = field(default=None, init=False, repr=False, compare=False)
    #: (index, each access a link compares with its checks, each of those checks' rules'
    #: positions by id): :meth:`_access_checks`
    _linked: tuple[TableIndex, tuple[tuple[tuple[str, str, int | None],
                                           tuple[CheckIndex, ...]], ...],
                   dict[int, dict[int, int]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def admits_variable(self, entry: str) -> bool:
        """Whether an exec into this table may carry ``entry`` (``NAME=VALUE``) from the
        caller: a literal ``environment`` grant of that value, or globs admitting it -- each
        element of a list of paths, as a path rule's glob (environment.Grants).  The grants
        are read when first needed and again when ``environment`` is another tuple."""
        grants = self._grants
        if grants is None or grants.entries is not self.environment:
            grants = self._grants = Grants(self.environment, self.expansions)
        return grants.admits(entry)

    def add_rule(self, rule: Rule, position: int = 0) -> None:
        """Insert a rule (rules from remembered answers go first)."""
        self.rules.insert(position, rule)
        self._compiled = None

    def compiled(self) -> TableIndex:
        """The rules, indexed (:mod:`systrace_py.policy.index`): built when first needed and
        again whenever the rules changed -- :meth:`add_rule`, a new list assigned, a rule
        appended (a rule replaced in place, at the same position, would not be noticed)."""
        found = self._compiled
        if found is None or found.rules is not self.rules or found.size != len(self.rules):
            from systrace_py.policy.index import TableIndex

            found = self._compiled = TableIndex(self.rules)
        return found

    def rules_for(self, syscall: str, cls: str | None, part: str | None = None
                  ) -> tuple[Rule, ...]:
        """The rules that apply to checks of this call and class (in this part), in order."""
        return self.compiled().check(syscall, cls, part).rules

    def decide(self, facts: Facts, answered: Collection[str] = ()) -> Decision:
        """First match per check; the strictest answer over the call's checks wins.

        Every check of a call (each alias class, each path of a two-path call) must be
        permitted: an ``O_RDWR`` open needs fsread *and* fswrite, a rename needs both paths.
        A path whose file gets a new name (a rename's or link's old path, both paths of an
        exchange) must not be -- or, for a directory moved, hold -- a file a refusing rule
        names.

        ``answered``: what a person (or approver) permitted this very call for
        (:func:`answer_key`: paths) -- an ask about one of them is taken as answered, so what
        is left is what the call still asks about another path, or refuses
        (Supervisor._asked_besides: a question is about one path, red team 61).
        """
        syscall = facts.syscall
        flags = facts.open_flags
        selector = facts.selector
        compiled = self.compiled()
        worst: Decision | None = None
        redirects: dict[str, Redirect] | None = None
        redirecting: Decision | None = None  # the first check whose rule redirected
        checked: list[tuple[str, str | None, str | None, Decision]] = []
        skipped: Decision | None = None  # (the first ask about an answered path)
        for role in facts.roles() or ("path",):
            for cls, part in checks_of(syscall, role, flags, selector):
                decision = self._decide_check(compiled, facts, syscall, cls, part, role)
                checked.append((role, cls, part, decision))
                if answered and _about_answered(decision, facts, answered):
                    skipped = skipped or decision
                    continue
                if decision.redirect is not None:
                    redirects = redirects or {}
                    redirects.setdefault(role, decision.redirect)
                    redirecting = redirecting or decision
                if worst is None or decision.action.severity > worst.action.severity:
                    worst = decision
                    if worst.action is Action.NEVER:
                        return worst
            for also in self._besides_checks(facts, role):
                if answered and _about_answered(also, facts, answered):
                    skipped = skipped or also
                elif worst is None or also.action.severity > worst.action.severity:
                    worst = also
                    if worst.action is Action.NEVER:
                        return worst
        if worst is None:  # (every check asked about an answered path)
            assert skipped is not None
            worst = dataclasses.replace(skipped, action=Action.PERMIT, reason=Reason.ANSWER)
        assert worst is not None
        if redirects and worst.action is Action.ASK:
            # an answer runs the call as it was asked -- its redirect lost, the redirected
            # path written or read as the program named it (red team 33): refused instead
            return Decision(Action.NEVER, worst.errno, worst.rule, self.name, Reason.REDIRECT,
                            None, worst.arg, worst.role)
        if redirects and worst.action is Action.PERMIT:
            refused = self._target_refusal(compiled, facts, redirects, checked)
            if refused is not None:
                return refused
            # every permitting check's redirect applies (a rename's old and new path, an
            # O_RDWR open's read and write side), whichever check came first
            # ... and the decision names the rule that redirected, so the log shows it
            worst = dataclasses.replace(redirecting or worst, redirects=redirects)
        return worst

    def _besides_checks(self, facts: Facts, role: str) -> Iterator[Decision]:
        """The decisions a path's checks do not make, one at a time (decide stops at the
        first refusal): what the call does to the file's other names (a mount's exposure, a
        directory moved with what it holds, a file renamed), what the file gains by its new
        name, and an image's read by a mount."""
        syscall = facts.syscall
        naming: Decision | None = None
        if facts.exposes(role):
            naming = self._exposure_decision(facts, role)
        elif syscall in aliases.MOVE_CALLS and facts.directory(role):
            path = facts.path(role)
            naming = self._subtree_decision(facts, path, role) if path else None
        elif aliases.renames(syscall, role, facts.selector):
            path = facts.path(role)
            naming = self._renaming_decision(path, role, facts.socket(role)) if path else None
        if naming is not None:
            yield naming
        if _named_anew(facts, role):
            linked = self._linked_decision(facts, role)
            if linked is not None:
                yield linked
        if (image := self._image_read(facts, role)) is not None:
            yield image

    def _target_refusal(self, compiled: TableIndex, facts: Facts,
                        redirects: dict[str, Redirect],
                        checked: list[tuple[str, str | None, str | None, Decision]]
                        ) -> Decision | None:
        """A redirect runs the whole call on its target -- every check of the role, not only
        the one whose rule redirected: an ``O_RDWR`` open whose reads a rule sends to a file
        also writes that file (red team 33).  So every check of a redirected role that no
        rule redirected is decided again on the target: what the policy refuses there is
        refused (the refusing rule's errno), as is an ask (an answer would run the call as
        asked, the redirect lost); an exec rule's redirect is thus held to reading its
        target.  Two rules redirecting one path to two targets refuse the call (EPERM): it
        cannot run on both; so does an address redirect of a call that names several
        addresses, or none the engine replaces (sendmmsg: the rule's alias covers it, the
        engine rewrites one address only)."""
        if facts.syscall not in aliases.ONE_ADDRESS_CALLS:
            for _, _, _, decision in checked:
                if decision.redirect is not None and decision.redirect.address is not None:
                    return Decision(Action.NEVER, errno_module.EPERM, decision.rule, self.name,
                                    Reason.REDIRECT, None, None, decision.role)
        order = {role: i for i, role in enumerate(dict.fromkeys(c[0] for c in checked))}
        for role, cls, part, own in sorted(checked, key=lambda c: (order[c[0]], c[1] or "")):
            target = redirects.get(role)
            if target is None or own.redirect == target:
                continue
            if own.redirect is not None or target.path is None:
                return Decision(Action.NEVER, errno_module.EPERM, own.rule, self.name,
                                Reason.REDIRECT, None, own.arg, role)
            at_target = cast("Facts", _AtTarget(facts, role, target.path))
            decision = self._decide_check(compiled, at_target, facts.syscall, cls, part, role)
            if decision.action is not Action.PERMIT or decision.redirect is not None:
                return Decision(Action.NEVER, decision.errno, decision.rule, self.name,
                                Reason.REDIRECT, None, PathArg(role, target.path), role)
        return None

    def _image_read(self, facts: Facts, role: str) -> Decision | None:
        """A file system image mounted from a regular file (``image``: erofs backed by a
        file, DecodedCall._mounted_devices) is read by the mount, its files being its
        bytes: decided as an ``O_RDONLY`` open of it (the refusing rule's errno; asked as
        that open would be).  Mounts29: review 28 refused every such mount where a rule
        decides by name."""
        if facts.syscall not in aliases.EXPOSING_CALLS or role.split(":", 1)[0] != "image":
            return None
        path = facts.path(role)
        if not path:
            return None  # (not named: _linked_decision refuses it where a rule decides)
        # (an image the run made is read as the run's own file: a ``fresh`` rule counts)
        made = frozenset({"path"}) if facts.fresh(role) else frozenset()
        decision = self.decide(CallFacts("openat", (PathArg("path", path),),
                                         open_flags=O_RDONLY, made=made))
        return dataclasses.replace(decision, role=role) \
            if decision.action is not Action.PERMIT else None

    def _renaming_decision(self, path: str, role: str, socket: bool) -> Decision | None:
        """A link or rename gives a file a new name: not a file a refusing rule names, by its
        path or (for a socket) its socket path, whatever the rule's calls (an exec rule on a
        program, a net-connect rule on a socket would not match the new name)."""
        protected = self.compiled().renaming(socket)
        for position, proven in protected.candidates(path):
            if proven or protected.verify(position, path):
                rule = self.rules[position]
                return Decision(rule.action, rule.errno, rule, self.name, Reason.RENAMING, None,
                                PathArg(role, path), role)
        return None

    def linked_elsewhere(self, facts: Facts) -> Decision | None:
        """A link or rename decided by another table (the caller's, :meth:`decide`), seen
        from this one: the file's new name is reached by every process of the tree, whichever
        table it runs under -- a process that execs this table's program then decides the
        file by its new name here.  Refused (EPERM, ``linked access``, naming this table)
        where this table's rules would grant the file by its new name an access its own
        name lacks here (:meth:`_linked_decision`, what both names only ask about aside: no
        process of this table is asked by the old name's rule less than by the new one's).
        Found by red team 49: a program granted nothing of the secret nor of ``work/out``
        linked the secret there and ran a reader whose table reads ``work/**`` and refuses
        the secret; the reader read it."""
        for role in facts.roles():
            if _named_anew(facts, role):
                linked = self._linked_decision(facts, role, asked=False)
                if linked is not None:
                    return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                    Reason.LINKED, None, linked.arg, role)
        return None

    def attached_elsewhere(self, source: str, device: str, writes: bool) -> Decision | None:
        """A loop device attached to the file at ``source`` (the caller's table decided it
        as an open of that file: Supervisor._loop_attach), seen from this table: every
        process of the tree reads the file's bytes -- and writes them, with ``writes`` -- at
        ``device``, by that name.  Refused (EPERM, ``linked access``, naming this table)
        where this table's rules would grant a read (a write) of the file by the device's
        name that its own name lacks here, as :meth:`linked_elsewhere` refuses a link: only
        the opens count (a device's stat, chmod or owner are the device node's own, not
        the file's).  Known gap #44 (review 28), gap44."""
        if not source or not device or source == device:
            return None
        for access, _, _ in self.linked_shortfall(source, device, False):
            if access[2] is None or (_writes(access) and not writes):
                continue
            return Decision(Action.NEVER, errno_module.EPERM, None, self.name, Reason.LINKED,
                            None, PathArg("path", source), "path")
        return None

    def _linked_decision(self, facts: Facts, role: str, asked: bool = True
                         ) -> Decision | None:
        """A link or rename gives the file at ``role`` another name (the call's other path):
        refused (EPERM) when the table's rules would grant that file, by its new name, an
        access (:func:`file_accesses`) its own name lacks -- "the old file gains no access
        by its new name" (issue 11: ``fsread,fswrite build/out`` and ``fslink secret``
        let ``link(secret, build/out)`` read the secret).  Per access: the new name grants
        nothing (``never`` for every file it could name), or the old name grants it
        outright (``permit``); where the old name refuses it, the call is refused; where
        the new name permits what the old one only asks about, or both only ask (a later
        question would name the new name alone, not whose file it holds: fslink43), the
        link itself is asked (its question names both paths and this reason).  Only the
        non-``fresh`` rules count: the file at the new name is not one the run made
        (DecodedCall.note_made).  A rule whose other conditions cannot be told now is
        followed both ways (:func:`_linked_outcomes`): a learned glob's made directory for
        each name on its own, an argv or target condition -- the later call's -- for both
        names at once.  A directory moved brings every path below it under the new name's
        rules: decided over its tree (:func:`_linked_outcomes` with ``tree``), failing
        closed where a glob may match only some paths below.  Exempt: a file or directory
        the run made (``Facts.fresh``) -- its contents are the run's own --, but for the
        files below such a directory that the run linked or moved there although it did
        not make them (``Facts.older_below``): each is compared by its own name then with its
        name below the new one (``link(secret, own/x)`` then ``rename(own, build/sub)`` is refused
        where ``build/**`` reads and the secret's name does not; cargo hard-links its last
        session's files into the new one before renaming it, and those files' names are
        read as the new session's are); no file at the old name (the call fails)."""
        source = facts.path(role)
        if facts.syscall in aliases.EXPOSING_CALLS:
            # (a mount shows its sources -- a bind's, a layer, a device's other mounts -- at
            # its target, "new"; an fsconfig names none: its layers are compared when the
            # file system is attached, move_mount's)
            target_role = "new" if "new" in facts.roles() and role != "new" else None
        else:
            target_role = next((r for r in facts.roles() if r != role), None)
        target = facts.path(target_role) if target_role is not None else None
        if not source and target and facts.syscall in aliases.EXPOSING_CALLS \
                and role.split(":", 1)[0] in _SHOWN_AT_TARGET and self.decides_by_name():
            # (a mount shows files whose name the engine cannot tell -- an overlay fsconfig
            # made, a copy whose name is no longer its own --: what they gain by the new name
            # cannot be told; refused where a rule decides by name.  Review 27.)
            return Decision(Action.NEVER, errno_module.EPERM, None, self.name, Reason.LINKED,
                            None, PathArg(role, ""), role)
        shown: tuple[str, ...] | None = ()  # (the new name's directory's other names)
        if target_role is not None and facts.syscall not in aliases.EXPOSING_CALLS and \
                self.decides_by_name() and (
                    facts.view_own_name(role) or facts.view_own_name(target_role)
                    or (shown := facts.aliases(target_role)) is None):
            # (a link or rename by names only the task's mount namespace has, or into a
            # directory whose other names in the tracer's view cannot be told: the file's
            # names there, which other processes decide it by, are not all the call's, and
            # cannot be compared -- refused where a rule decides by name.  Review 29.)
            return Decision(Action.NEVER, errno_module.EPERM, None, self.name, Reason.LINKED,
                            None, PathArg(role, source or ""), role)
        if not source or not target or source == target:
            return None
        if facts.absent(role) is not None:
            return None  # (nothing to move: the kernel's ENOENT)
        image = facts.syscall in aliases.EXPOSING_CALLS and role.split(":", 1)[0] == "image"
        if image and not facts.fresh(role):
            # (an image: every file the mount shows, at the target and below it, is the
            # image's bytes -- compared with the image file itself; erofs is read-only,
            # _READ_THROUGH; no socket of it can be connected to, none is bound)
            compared, sockets = [[(source, target, True)]], []
        elif facts.fresh(role):
            # (a directory the run made: its own files are exempt, each older file linked
            # or moved below it is decided by its own name, at its name below the target --
            # a socket among them or not: connects compared too, fail closed)
            news = _with_other_names(target, shown)
            sockets = [(own, new + tail, tree)
                       for tail, own, tree in facts.older_below(role) for new in news]
            compared = [[one] for one in sockets]
        else:
            # (each of the file's new names is compared with its old names: the spelled
            # one, and where the new name's directory has other names (a bind shows it),
            # the old name's own other names, which the file already has -- a name gains
            # nothing if one old name has all it grants; review 29, 32)
            directory = facts.directory(role)
            news = _with_other_names(target, shown)
            olds = _with_other_names(source, facts.aliases(role)) if shown else [source]
            compared = [[(old, new, directory) for old in olds] for new in news]
            sockets = [one for new in news
                       for one in self._linked_sockets(facts, role, source, new, directory)]
        # (asked: and what both names only ask about -- a later question would name
        # the new name alone, not whose file it holds: the link is asked, naming both)
        # (a lower layer is only read through its overlay: what the overlay's name lets be
        # written is written to the upper layer, a copy -- review 27)
        exposing = facts.syscall in aliases.EXPOSING_CALLS  # (a mount: layout not kept)
        read_only = exposing and role.split(":", 1)[0] in _READ_THROUGH
        shortfalls: list[Action] = []
        for alternatives in compared:
            found = [[has for access, has, _ in self.linked_shortfall(
                          own, new, tree, asked=asked, whole=image, layout=not exposing)
                      if not (read_only and _writes(access))]
                     for own, new, tree in alternatives]
            if all(found):  # (no old name has all the new one grants: the spelled one's)
                shortfalls += found[0]
        shortfalls += [has for own, new, tree in sockets
                       for _, has, _ in self.socket_shortfall(own, new, tree, asked=asked)]
        asked = False
        for has in shortfalls:
            if has is Action.NEVER:
                return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                Reason.LINKED, None, PathArg(role, source), role)
            asked = True
        if asked:
            # (what the old name only asks about, the new one permits or asks about too:
            # the link is asked, the question naming both paths and the reason)
            return Decision(Action.ASK, errno_module.EPERM, None, self.name, Reason.LINKED,
                            None, PathArg(role, source), role)
        return None

    def linked_shortfall(self, source: str, target: str, tree: bool, asked: bool = False,
                         whole: bool = False, places: bool = True, layout: bool = True
                         ) -> list[tuple[tuple[str, str, int | None], Action, Action]]:
        """The accesses (:func:`file_accesses`) the non-``fresh`` rules grant a file at
        ``target`` (``tree``: anywhere below the directory) more of than the file at
        ``source`` has by its own name: (access, what ``source`` has at least, what
        ``target`` may grant at most), where the source has no ``permit`` and the target
        grants it, or the source refuses and the target asks (:meth:`_linked_decision`;
        the learner grants the source these, learn._linked_grants); with ``asked``, also
        where both only ask (``has`` and ``gains`` ASK: the link is asked, fslink43).
        ``whole`` (with ``tree``): every file at and below ``target`` is the one file at
        ``source`` (a mounted image's, mounts29), which is taken by its own name alone.
        Without ``places`` (a tree): the exact rules' places below (:func:`exact_places`)
        are left out -- the learner grants each of those at its own place.  Without
        ``layout`` (a tree): a file below ``source`` may show anywhere below ``target`` --
        a mount's (an overlay's redirect or metacopy shows a lower layer's ``secd/secret.txt``
        at ``x/secret.txt``: overlay30) --, so no place below one name is taken for the same
        place below the other (:func:`_linked_outcomes`)."""
        compiled = self.compiled()
        default = _GRANT[self.default]
        found: list[tuple[tuple[str, str, int | None], Action, Action]] = []
        # (a check shared by calls: once; per pass)
        outcomes: dict[tuple[int, bool], frozenset[tuple[int, int]]] = {}

        def outcome(check: CheckIndex, left_out: bool) -> frozenset[tuple[int, int]]:
            known = outcomes.get((id(check), left_out))
            if known is None:
                # (a file: only the rules that may match either name; a tree: every rule)
                if tree:
                    rules: Sequence[Rule] = check.rules
                else:
                    old, new = check.rules_at(source), check.rules_at(target)
                    rules = old if list(map(id, old)) == list(map(id, new)) else \
                        _merged(positions[id(check)], old, new)
                known = outcomes[id(check), left_out] = _linked_outcomes(
                    rules, source, target, tree, default, left_out, whole, places, layout)
            return known

        accesses = self._access_checks(compiled)
        positions = self._linked[2] if self._linked is not None else {}
        # (a tree: also the names a learned writing glob leaves out below it -- the names
        # something runs later, wholly inside the directory, which its covers_all_below
        # counts as covered: they fall to the rules after it, on each side by that side's
        # rules -- compared apart, fslink43)
        passes = (False, True) if tree and any(
            getattr(rule.path, "leaves_out_runs_later", False) and not rule.injects
            for rule in self.rules) \
            else (False,)
        ask = _GRANT[Action.ASK]
        for access, checks in accesses:
            for left_out in passes:
                # (an access several checks decide is granted as far as each grants it: in
                # one way the rules come out, the least of theirs on each side)
                pairs: set[tuple[int, int]] = {(_GRANT[Action.PERMIT], _GRANT[Action.PERMIT])}
                for check in checks:
                    pairs = {(min(has, one_has), min(gains, one_gains)) for has, gains in pairs
                             for one_has, one_gains in outcome(check, left_out)}
                short = [(has, gains) for has, gains in pairs
                         if has < gains or (asked and has == gains == ask)]
                if short:
                    found.append((access, _ACTION_OF[min(has for has, _ in short)],
                                  _ACTION_OF[max(gains for _, gains in short)]))
                    break
        return found

    def _linked_sockets(self, facts: Facts, role: str, source: str, target: str,
                        directory: bool) -> list[tuple[str, str, bool]]:
        """The unix socket files a link or rename of the older file at ``role`` gives new
        names, whose connects :meth:`socket_shortfall` compares: (own name, new name,
        whether a tree of unknown sockets) -- the file itself when it is a socket; for a
        directory, each socket below it, by name (too many entries to look at: the tree,
        fail closed).  None when no rule names a connect's socket path and the default
        grants no more to one name than to another."""
        if not any(rule.net is not None and getattr(rule.net, "unix", None) is not None
                   and not rule.injects for rule in self.rules):
            return []  # (every socket path gets the same: the unconditional rules')
        if not directory:
            return [(source, target, False)] if facts.socket(role) else []
        below = facts.sockets_below(role)
        if below is None or any(not name.startswith(source + "/") for name in below):
            return [(source, target, True)]  # (not told by name: the tree, fail closed)
        return [(name, target + name[len(source):], False) for name in below]

    def socket_shortfall(self, source: str, target: str, tree: bool, asked: bool = False
                         ) -> list[tuple[str, Action, Action]]:
        """The connects (``connect`` and every call of its class a rule names itself:
        ``sendto`` a datagram receiver...) the table grants a unix socket file at
        ``target`` (``tree``: anywhere below the directory) more of than the socket at
        ``source`` has by its own path: (call, what ``source`` has at least, what
        ``target`` may grant at most), as :meth:`linked_shortfall` for files -- a socket
        moved or linked is reached by its new name's ``unix`` rules (fslink43).  Only the
        non-``fresh`` rules count: a ``fresh`` ``unix`` rule covers a socket the run bound,
        and one the run bound is exempt (:meth:`_linked_decision`)."""
        compiled = self.compiled()
        default = _GRANT[self.default]
        found: list[tuple[str, Action, Action]] = []
        seen: set[int] = set()
        for call in sorted(aliases.ALIASES["net-connect"]):
            for cls, part in checks_of(call, "path", None, None):
                check = compiled.check(call, cls, part)
                if id(check) in seen:
                    continue
                seen.add(id(check))
                gains = _socket_bound(check.rules, target, tree, True, default)
                if gains == _GRANT[Action.NEVER]:
                    continue
                has = _socket_bound(check.rules, source, tree, False, default)
                if has < gains or (asked and has == gains == _GRANT[Action.ASK]):
                    found.append((call, _ACTION_OF[has], _ACTION_OF[gains]))
        return found

    def _access_checks(self, compiled: TableIndex
                       ) -> tuple[tuple[tuple[str, str, int | None], tuple[CheckIndex, ...]], ...]:
        """Each access of :func:`file_accesses` with the indexed checks that decide it, one
        access per distinct set of checks (most share theirs), made once per index."""
        found = self._linked
        if found is None or found[0] is not compiled:
            seen: dict[tuple[int, ...], tuple[tuple[str, str, int | None],
                                             tuple[CheckIndex, ...]]] = {}
            positions: dict[int, dict[int, int]] = {}
            for access in file_accesses(compiled.named_calls):
                call, path_role, flags = access
                checks = tuple(compiled.check(call, cls, part)
                               for cls, part in checks_of(call, path_role, flags, None))
                seen.setdefault(tuple(sorted(id(c) for c in checks)), (access, checks))
                for check in checks:
                    if id(check) not in positions:
                        positions[id(check)] = {id(rule): at
                                                for at, rule in enumerate(check.rules)}
            found = self._linked = (compiled, tuple(seen.values()), positions)
        return found[1]

    def _subtree_decision(self, facts: Facts, directory: str, role: str) -> Decision:
        """Moving a directory moves every path below it: decide as for "any path inside".

        A rule whose path covers everything inside decides it; before that, a refusing rule
        whose path may match something inside refuses the move (the file it protects would
        otherwise reappear under another name, out of its reach); with no such rule, the
        default decides.  Rules without a path apply wherever a file is, so they play no part.
        A ``fresh`` permit covers the tree of a directory the run made, and no other.  A rule
        on unix socket paths counts for the sockets really inside (a catch-all socket rule
        would otherwise forbid moving any directory).
        """
        sockets: tuple[str, ...] | None = ()
        if any(rule.refuses and path_patterns(rule, sockets=True)
               != path_patterns(rule, sockets=False) for rule in self.rules):
            sockets = facts.sockets_below(role)
        for rule in self.rules:
            if rule.injects:
                continue
            if rule.refuses and path_patterns(rule, sockets=True) != \
                    path_patterns(rule, sockets=False):
                unix = [p for p in path_patterns(rule, sockets=True)
                        if p not in path_patterns(rule, sockets=False)]
                if sockets is None or any(p.matches(s) for p in unix for s in sockets):
                    return Decision(rule.action, rule.errno, rule, self.name, Reason.SUBTREE, None,
                                    PathArg(role, directory), role)
            patterns = path_patterns(rule, sockets=False)
            if not patterns:
                continue
            if rule.fresh and not facts.fresh(role):
                continue  # (a fresh permit covers the tree of a directory the run made)
            if any(_covers_all_below(p, directory) for p in patterns):
                return Decision(rule.action, rule.errno, rule, self.name, Reason.SUBTREE, None,
                                PathArg(role, directory), role)
            if rule.refuses and any(_may_match_below(p, directory)
                                                        for p in patterns):
                return Decision(rule.action, rule.errno, rule, self.name, Reason.SUBTREE, None,
                                PathArg(role, directory), role)
        return self.default_decision(False, role)

    def copy_decision(self, source: str | None, target: str | None, below: bool = True
                      ) -> Decision | None:
        """A copy of the tree at ``source`` made at ``target`` (a new name: None where none
        is made), which the kernel makes without reading or writing any file by a name (a
        btrfs snapshot of the subvolume whose root is ``source``: Supervisor._snapshot,
        close 27; no ``source``: an empty subvolume made at ``target``, nothing ``below`` it,
        _subvolume).

        Its maker then reads, by the copy's names, every file at and below ``source`` -- its
        bytes, a directory's listing, its metadata and extended attributes -- and may run
        each, with its own mode and owner (a set-user-ID program stays one: no copy the
        maker could write would).  So the source is decided as each reading access of
        :func:`file_accesses` (an open for reading, an exec, a stat, a getxattr, and every
        call of theirs a rule names itself) of every path at and below it: refused where
        one of them is not granted outright -- a rule refusing or asking about it (whatever
        else it names; a ``fresh`` permit covers no older file, a glob that may match only
        some paths below is followed both ways, a redirect grants nothing), or the default
        where no rule covers it.  A write of the copy changes no file at ``source``: what
        the table says of writing there plays no part.  A rule of no path (``ask exec``)
        refuses nothing in that walk (:func:`_as_copied`: it matches the copy's names as
        the source's) -- but the table as a whole may still grant the copy's names more than
        the source's: a path rule before it that covers ``target`` (``permit openat
        out/**`` then ``never openat``: review 59, the vault read at ``out/copy``).  So the
        copy is also decided as a link of the whole tree to ``target`` is, with the table's
        own rules (:meth:`linked_shortfall`): refused where a reading access gains by a
        new name what the old name lacks; ``ask exec`` alone asks at both names alike
        and still runs.

        The copy's every name, ``target`` and all below it, is made -- each file, directory,
        node and link with its bytes, mode, owner, times and attributes -- by no name a rule
        was asked about: decided as each of :func:`made_accesses` of every path at and below
        ``target``, refused where one of them is not granted outright (``never fswrite
        /home/*/.ssh/**`` refuses a snapshot named ``.ssh`` in ``/home/u``: an
        ``authorized_keys`` in the source would appear there; a rule of no path counts here).

        Refused: EPERM, ``copied tree``, naming the path; None when the table grants it all.
        The source's half only where the table decides by name (:meth:`decides_by_name`:
        Supervisor._snapshot); the making's always -- a rule of no path refusing ``mkdir``
        refuses the copy's making whatever its name (review 62, close 33)."""
        compiled = self.compiled()
        least = self._least_grant
        granted = _GRANT[Action.PERMIT]
        if source is not None:
            for access, checks in self._access_checks(compiled):
                if not _writes(access) and any(least(_as_copied(check.rules), source) < granted
                                               for check in checks):
                    return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                    Reason.COPIED, None, PathArg("source", source), "source")
            if target is not None and any(
                    not _writes(access)
                    for access, _, _ in self.linked_shortfall(source, target, True)):
                # (the copy's names gain a read the source's lack: review 59)
                return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                Reason.COPIED, None, PathArg("source", source), "source")
        if target is not None:
            for call, role, flags in made_accesses(compiled.named_calls):
                if any(least(compiled.check(call, cls, part).rules, target, below) < granted
                       for cls, part in checks_of(call, role, flags, None)):
                    return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                    Reason.COPIED, None, PathArg("target", target), "target")
        return None

    def _least_grant(self, rules: Sequence[Rule], path: str, tree: bool = True) -> int:
        """The strictest grant ``rules`` (one check's) make at ``path`` (``tree``: and at any
        path below it), whatever the names below are (:meth:`copy_decision`,
        :meth:`removal_decision`): both sides of :func:`_linked_outcomes` are the one path,
        the new side's taking a learned glob as leaving names out."""
        passes = (False, True) if tree and any(
            getattr(rule.path, "leaves_out_runs_later", False) and not rule.injects
            for rule in self.rules) else (False,)
        default = _GRANT[self.default]
        return min(min(pair) for left_out in passes
                   for pair in _linked_outcomes(rules, path, path, tree, default, left_out))

    def removal_decision(self, target: str) -> Decision | None:
        """The removal of ``target`` and of every path below it, which the kernel makes by no
        name a rule is asked about (a btrfs subvolume's deletion: Supervisor._destroy, close
        31 -- review 59: ``never fswrite vault/**`` and the vault deleted whole from its
        parent): decided as each of :func:`removed_accesses` (an unlink, an unlinkat, an
        rmdir) of every path at and below ``target``, refused where one of them is not
        granted outright (a rule refusing or asking about it, a rule of no path among them
        -- it refuses the removal whatever the name: review 62 --, a glob that may match
        only some paths below followed both ways, the default where no rule covers it).
        Refused: EPERM, ``subtree``, naming the path; None when the table grants it all."""
        compiled = self.compiled()
        granted = _GRANT[Action.PERMIT]
        for call, role, flags in removed_accesses():
            if any(self._least_grant(compiled.check(call, cls, part).rules, target) < granted
                   for cls, part in checks_of(call, role, flags, None)):
                return Decision(Action.NEVER, errno_module.EPERM, None, self.name,
                                Reason.SUBTREE, None, PathArg("path", target), "path")
        return None

    def _exposure_decision(self, facts: Facts, role: str) -> Decision | None:
        """A mount shows the file at this path, with everything below it, under another name
        (a bind, a move, an overlay layer, a device), or replaces what lies there (its
        target): decided as a new name of that file (:meth:`_renaming_decision`) and, for a
        directory, as a move of it (:meth:`_subtree_decision`).  A path the engine could not
        name (the options of a file system it does not read: "") is refused as unsafe
        wherever a rule could care, unless a rule names the call itself."""
        if not self.decides_by_name():
            return None  # nothing is refused by a name here: no name needs deciding
        path = facts.path(role)
        if not path:
            if any(rule.action is Action.PERMIT and facts.syscall in rule.syscalls
                   and not rule.conditional for rule in self.rules):
                return None
            return Decision(Action.NEVER, errno_module.EPERM, None, self.name, Reason.UNSAFE, None,
                            None, role)
        decision = self._renaming_decision(path, role, facts.socket(role))
        if decision is None and facts.directory(role):
            decision = self._subtree_decision(facts, path, role)
        return decision

    def resolution(self, name: str) -> Rule | None:
        """The rule that decides a DNS query for ``name`` (normal form), or None (it is
        resolved): the first rule on connects whose ``host`` matches the name decides the
        query when it is a ``never`` rule (refused) or an ``ask`` rule (asked) on the host
        alone -- one with an address or port is about some connects to the name, not the
        name -- and the table's ``dns_refused`` is "nxdomain".  Rules without ``host`` are
        about addresses, not known yet: skipped."""
        if self.dns_refused == DnsRefused.PASS:
            return None
        for rule in self.rules:
            if rule.net is None or rule.injects or not rule.may_cover("connect"):
                continue  # (an inject rule decides nothing, a lookup no more than a connect)
            alone = rule.net.name_decides(name)
            if alone is None:
                continue
            return rule if alone and rule.refuses else None
        return None

    def has_host_rules(self) -> bool:
        """Whether a rule has a ``host`` condition (then the run observes DNS)."""
        return self.compiled().host_rules

    def decides_by_name(self, syscall: str | None = None) -> bool:
        """Whether a file's name may change what this table decides: a rule that refuses or
        asks names paths, or the default is no permit.  When not, a call that reaches a file
        by another name than the one decided on (a mount's exposure, a lookup a FUSE server
        answers otherwise for the kernel: red team 44) is decided the same.  ``syscall``: of
        that call only -- a rule that may refuse or ask it (or what its lookup passes
        through: may_refuse_traversal), with a path, or the default no permit (review 24).
        Without ``syscall``, also a rule that refuses or asks with no path after a rule with
        one: the earlier rule grants by name what the later one refuses every other name
        (``permit openat out/**`` then ``never openat``: a snapshot of the vault read at
        ``out/copy`` was not decided at all -- review 59, close 31)."""
        if self.default is not Action.PERMIT:
            return True
        if syscall is None:
            named = False
            for rule in self.rules:
                if rule.injects:
                    continue
                patterns = path_patterns(rule)
                if rule.refuses and (patterns or named):
                    return True
                named = named or bool(patterns)
            return False
        return any(self.may_refuse(syscall, cls, part)
                   for cls, part in checks_of(syscall, "path", None, None)) \
            or self.may_refuse_traversal()

    def may_refuse_removal(self) -> bool:
        """Whether a removal of some file may be refused (:meth:`_may_refuse_any` of
        :func:`removed_accesses`): a btrfs subvolume's deletion by its id alone is refused
        where it may (Supervisor._destroy)."""
        return self._may_refuse_any(removed_accesses())

    def may_refuse_making(self) -> bool:
        """Whether the making of some file may be refused (:meth:`_may_refuse_any` of
        :func:`made_accesses`): a subvolume made in a directory with no name is refused
        where it may (Supervisor._subvolume)."""
        return self._may_refuse_any(made_accesses(self.compiled().named_calls))

    def _may_refuse_any(self, accesses: Sequence[tuple[str, str, int | None]]) -> bool:
        """Whether the default is no permit, or a rule may refuse (or ask about) one of
        ``accesses`` ((call, path role, open flags)) -- by a name or not: a rule of no path
        refuses a removal or a making whatever the name (review 62: ``never unlink,
        unlinkat, rmdir`` "decided nothing by name", and a subvolume was deleted by id;
        close 33)."""
        return self.default is not Action.PERMIT or any(
            self.may_refuse(call, cls, part) for call, role, flags in accesses
            for cls, part in checks_of(call, role, flags, None))

    def may_refuse(self, syscall: str, cls: str | None, part: str | None = None) -> bool:
        """Whether any rule for this call and class refuses or asks (under some condition)."""
        return self.compiled().check(syscall, cls, part).refuses

    def may_refuse_socket_write(self) -> bool:
        """Whether a rule naming paths may refuse (or ask about) an open for writing: then a
        connect or a send to a unix socket's path is decided as one of its file
        (Supervisor._socket_written).  A rule of no path does not count: ``never fswrite``
        after the permitted places says where files may change, and the policy's
        ``net-connect`` rules say which sockets may be reached (red team 86)."""
        index = self.compiled()
        return any(check.refuses and any(rule.refuses and rule.path is not None
                                         for rule in check.rules)
                   for check in (index.check("openat", cls, part)
                                 for cls, part in checks_of("openat", "path", O_WRONLY, None)))

    def names_sockets(self, syscall: str) -> bool:
        """Whether a rule on a check of ``syscall`` has a ``unix`` path glob, whatever it
        does: a unix socket's path may then decide the call, and one with no name a rule
        could match refuses it (Supervisor._unnamed_address, as a path argument's does:
        review 67).  Abstract and unnamed (``""``) patterns name no file."""
        return any(unix_globs(rule) for cls, part in checks_of(syscall, "path", None, None)
                   for rule in self.rules_for(syscall, cls, part))

    def may_refuse_traversal(self) -> bool:
        """Whether a rule may refuse (or ask about) what a lookup passes through: a stat of a
        directory it enters and leaves, a readlink of a symlink it follows
        (Supervisor._traversal).  Then any call that looks a path up may be refused, whatever
        the rules say of the call itself (the filter stops them all: filterplan.plan)."""
        return any(self.may_refuse(as_call, cls, part) for as_call in TRAVERSAL_CALLS
                   for cls, part in checks_of(as_call, "path", None, None))

    def refusing_rule(self, facts: Facts) -> Decision | None:
        """The strictest decision a *rule* makes that is not a permit, the default aside; None
        when no refusing or asking rule matches.  For what the kernel does on a call's behalf
        without being asked (an exec's interpreter): a rule may forbid it, a default does not
        decide it."""
        compiled = self.compiled()
        found: Decision | None = None
        for role in facts.roles() or ("path",):
            for cls, part in checks_of(facts.syscall, role, facts.open_flags, facts.selector):
                rule = compiled.check(facts.syscall, cls, part).first_match(facts, role)
                if rule is not None and rule.refuses and (
                        found is None or rule.action.severity > found.action.severity):
                    path = facts.path(role)
                    found = Decision(rule.action, rule.errno, rule, self.name, Reason.RULE,
                                     None, PathArg(role, path) if path else None, role)
        return found

    def _decide_check(self, compiled: TableIndex, facts: Facts, syscall: str,
                      cls: str | None, part: str | None, role: str) -> Decision:
        rule = compiled.check(syscall, cls, part).first_match(facts, role)
        if rule is None:
            return self.default_decision(syscall in aliases.UNSAFE_CALLS, role)
        arg = None
        if rule.path is not None:
            path = facts.path(role)
            arg = PathArg(role, path) if path is not None else None
        return Decision(rule.action, rule.errno, rule, self.name, Reason.RULE, rule.redirect, arg,
                        role)

    def injections(self, facts: Facts) -> list[Rule]:
        """The inject rules that match this call, in table order: a rule matches when it
        covers one of the call's checks and its conditions hold for that check's path."""
        candidates = self.compiled().injections_for(facts.syscall)
        if not candidates:
            return []
        syscall, flags, selector = facts.syscall, facts.open_flags, facts.selector
        roles = facts.roles()
        found = []
        for rule in candidates:
            if not roles and rule.path is not None:
                # a call that names no path (a write): the files behind its descriptors
                paths = facts.descriptor_paths()
                if not any(rule.path.matches(p) for p in paths) or not \
                        dataclasses.replace(rule, path=None).matches(facts, None):
                    continue
                found.append(rule)
            elif any(rule.covers(syscall, cls, part) and rule.matches(facts, role)
                     for role in roles or ("path",)
                     for cls, part in checks_of(syscall, role, flags, selector)):
                found.append(rule)
        return found

    def missing_for(self, rule: Rule | None) -> MissingAnswer:
        """What a refusal by ``rule`` (None: by the default) answers for a missing path."""
        return rule.missing if rule is not None and rule.missing is not None else self.missing

    def refusal_errno(self, decision: Decision, facts: Facts) -> int:
        """The errno a refusal gets: ENOENT where the call names a path that does not exist
        -- a directory on the way, or its last name in a call that would not create it --
        as the kernel's lookup would answer (a search goes on to its next candidate), unless
        the deciding rule (or the table, for its default) says ``missing = "errno"``.  The
        engine's own refusals (unsafe calls) keep theirs."""
        if decision.reason not in _MISSING_REASONS or \
                self.missing_for(decision.rule) == Missing.ERRNO:
            return decision.errno
        syscall = facts.syscall
        for role in facts.roles():
            how = facts.absent(role)
            if how == Absent.WAY or (how == Absent.LAST and not aliases.creates(
                    syscall, role, facts.open_flags)):
                return errno_module.ENOENT
        return decision.errno

    def default_decision(self, unsafe: bool, role: str) -> Decision:
        """The default's decision (one object per role, made once: treat it as read-only)."""
        key = (unsafe, role, self.default, self.default_errno)
        found = self._defaults.get(key)
        if found is None:
            if unsafe:
                found = Decision(Action.NEVER, errno_module.EPERM, None, self.name, Reason.UNSAFE,
                                 None, None, role)
            else:
                found = Decision(self.default, self.default_errno, None, self.name, Reason.DEFAULT,
                                 None, None, role)
            self._defaults[key] = found
        return found


#: Decisions a missing path turns into ENOENT: by a rule or a default, on the call's own
#: paths (not the engine's refusal of an unsafe call, nor an exec's interpreter)
_MISSING_REASONS = frozenset({Reason.RULE, Reason.DEFAULT, Reason.RENAMING, Reason.SUBTREE,
                              Reason.LINKED})


#: how much an action grants (the reverse of its severity): never < ask < permit
_GRANT = {Action.NEVER: 0, Action.ASK: 1, Action.PERMIT: 2, Action.INJECT: 2}
_ACTION_OF = {0: Action.NEVER, 1: Action.ASK, 2: Action.PERMIT}


#: the roles of a mount's paths whose files it shows at its target ("new"), each with all
#: below it: a bind's, a move's or an attached copy's source ("old"), an overlay's layers
#: (views.OVERLAY_LAYERS: lower, data and upper; not the work directory, which is not
#: shown), and the other mount points of a block device mounted anew ("mounted", named by
#: DecodedCall._mounted_devices and _new_file_system_moved) -- not the device's own name
#: ("source": a device file, not the files it holds) --, and an image in a regular file
#: ("image": every file shown is its bytes, Table._image_read; mounts29)
_SHOWN_AT_TARGET = frozenset({"old", "lowerdir", "lowerdir+", "datadir+", "upperdir", "mounted",
                              "image"})


#: the layers an overlay shows that it only reads (views.OVERLAY_LAYERS' "lower"), and an
#: image erofs (read-only) shows
_READ_THROUGH = frozenset({"lowerdir", "lowerdir+", "datadir+", "image"})


def _with_other_names(target: str, directories: tuple[str, ...] | None) -> list[str]:
    """``target``, and its name in each of ``directories`` (its directory's other names,
    DecodedCall.aliases: another mount shows it there -- review 29, 32)."""
    tail = target.rstrip("/").rsplit("/", 1)[-1]
    return [target, *(f"{d.rstrip('/')}/{tail}" for d in directories or ())]


def _as_copied(rules: Sequence[Rule]) -> list[Rule]:
    """``rules`` for :meth:`Table.copy_decision`: a rule of no path (nor address, redirect
    or injection) taken as a ``permit`` -- it matches a file's every name alike, or none
    (its argv or target: the call's), so whatever it decides of the source it decides of
    the copy by the copy's names, and the copy gains nothing by it; the rules after it are
    not reached where it matches, as before."""
    return [dataclasses.replace(rule, action=Action.PERMIT)
            if rule.path is None and rule.net is None and rule.redirect is None
            and not rule.injects and rule.refuses else rule for rule in rules]


def _writes(access: tuple[str, str, int | None]) -> bool:
    """Whether an access of :func:`file_accesses` changes the file (an open for writing, a
    truncate, a chmod...)."""
    call, _role, flags = access
    if flags is not None:
        return flags & 3 != O_RDONLY
    return call in aliases.ALIASES["fswrite"]


def _named_anew(facts: Facts, role: str) -> bool:
    """Whether the call gives the file at ``role`` another name, the call's other path
    (:meth:`Table._linked_decision`): a link's or rename's old path (both of an exchange),
    and the source a mount shows at its target -- a bind, a move, a detached tree moved
    into place (``mount``'s and ``move_mount``'s "old" path), an overlay's layers, a block
    device's other mount points (:data:`_SHOWN_AT_TARGET`; review 27: an overlay on
    ``work/outdir`` whose lower layer was the secret's directory read the secret).  Red
    team 49: a bind mount of a file no rule names onto ``work/out``, which the table reads,
    read the secret (in a mount namespace of the program's own, both loops); a directory's,
    where a rule covering its tree permitted the exposure whatever its calls (``fsmeta``)."""
    if facts.syscall in aliases.EXPOSING_CALLS:
        return role.split(":", 1)[0] in _SHOWN_AT_TARGET and facts.exposes(role)
    return aliases.renames(facts.syscall, role, facts.selector) and not facts.exposes(role)


@functools.lru_cache(maxsize=64)
def file_accesses(named: frozenset[str]) -> tuple[tuple[str, str, int | None], ...]:
    """The accesses a name grants to the file it names, which a link or rename would carry
    to another file (:meth:`Table._linked_decision`): (call, its path role, open flags).
    An open for reading and one for writing, a truncate, an exec, a stat, a chmod, a
    chown, a utime, a setxattr and a getxattr -- each class and part a rule naming an
    alias can grant --, and every call of those classes that acts on the file at its one
    path which a rule of the table names itself (``named``: ``permit open`` is no
    ``openat``).  Not the calls that act on a name (unlink, rmdir, mkdir, mknod,
    symlink, a link or rename: that name is checked on its own), nor the unsafe ones."""
    found = list(_FILE_ACCESSES)
    for call in sorted(named & _FILE_ACCESS_CALLS):
        roles = PATHS.get(call, ())
        role = roles[0][1].role if roles else "path"
        if call in aliases.OPEN_CALLS and call != "creat":
            found += [(call, role, O_RDONLY), (call, role, O_WRONLY)]
        else:
            found.append((call, role, None))
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=64)
def made_accesses(named: frozenset[str]) -> tuple[tuple[str, str, int | None], ...]:
    """What making a file under a name of its own is decided as, where no call names it (a
    copy of a tree: Table.copy_decision): the making of the name -- an open with
    ``O_CREAT``, mkdir, mknod, symlink, a link's or rename's new name: each call of
    ``fswrite`` that makes the name in a role -- and each write of :func:`file_accesses`
    (its bytes, mode, owner, times, attributes), for the calls ``named`` too."""
    found = [access for access in file_accesses(named) if _writes(access)]
    for call in sorted(aliases.ALIASES["fswrite"]):
        for _, path in PATHS.get(call, ()):
            if call in aliases.OPEN_CALLS:
                found.append((call, path.role, O_WRONLY | O_CREAT))
            elif path.creates:
                found.append((call, path.role, None))
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=1)
def removed_accesses() -> tuple[tuple[str, str, int | None], ...]:
    """What removing a file whose name no call names is decided as (a subvolume's deletion:
    Table.removal_decision): each call of ``aliases.REMOVE_CALLS`` (unlink, unlinkat, rmdir)
    on its path."""
    return tuple((call, path.role, None) for call in sorted(aliases.REMOVE_CALLS)
                 for _, path in PATHS.get(call, ()))


_FILE_ACCESSES: tuple[tuple[str, str, int | None], ...] = (
    ("openat", "path", O_RDONLY), ("openat", "path", O_WRONLY), ("truncate", "path", None),
    ("execve", "path", None), ("newfstatat", "path", None), ("fchmodat", "path", None),
    ("fchownat", "path", None), ("utimensat", "path", None), ("setxattr", "path", None),
    ("getxattr", "path", None))
_FILE_ACCESS_CALLS = frozenset(
    call for call in aliases.ALIASES["fsread"] | aliases.ALIASES["fswrite"]
    | aliases.ALIASES["exec"]
    if len(PATHS.get(call, ())) == 1 and call not in aliases.UNSAFE_CALLS
    and call not in aliases.REMOVE_CALLS and call not in aliases.TWO_PATH_CALLS
    and (call in aliases.OPEN_CALLS or not aliases.creates(call, PATHS[call][0][1].role)))


_NO, _YES, _MAYBE = 0, 1, 2  # whether a rule's path matches a name (_linked_outcomes)


def _linked_outcomes(rules: Sequence[Rule], source: str, target: str, tree: bool,
                     default: int, left_out: bool = False, whole: bool = False,
                     by_place: bool = True, layout: bool = True) -> frozenset[tuple[int, int]]:
    """What the first matching rule of ``rules`` (one check's, in order; the default after
    them) may grant the file at ``source`` by that name and by ``target``, as pairs (by the
    old name, by the new) one per way the rules may come out (``tree``: the directories
    themselves, and any path below them, at the same place below each).  Only non-``fresh``
    rules count.  A rule that may or may not match a name (a glob matching only some paths
    below, a learned glob's made directory) is followed both ways for that name alone; an
    argv or target condition is the call's, not the name's: it holds for both names or for
    neither (``exec`` of one file by either name with the same argv -- a rule with no path
    and such a condition gives both names the same, and refuses no rename: found by
    test_decode_fuzz, a rename under ``argv = ["never-this", "**"]`` was refused).  A
    learned glob leaves out the sensitive names and the names something runs later below
    it, by their shape, the same below either name: taken as covering the tree for the old
    name, as maybe for the new one.  A redirecting rule grants nothing of this file: its
    access reaches the redirect's target.  With ``left_out`` (a tree): of the names something
    runs later below the two directories alone, which a learned writing glob matches only
    where it names them exactly (fslink43).  ``whole``: the paths below ``target`` are all
    the file at ``source`` itself (an image's, mounts29): that name alone is matched for
    the old side.  An exact rule below either name is compared at its own place, the same
    path below each (:func:`exact_places`); ``by_place`` False leaves those places out.
    Only where the tree keeps its ``layout`` below the new name (a rename, a link, a copy):
    a mount may show a file below ``source`` at another place below ``target`` (an
    overlay's redirect, overlay30), where each name is followed on its own, as before
    close 48."""
    if left_out:
        return _outcomes(rules, source, target, True, default, left_out=True, whole=whole,
                         layout=layout)
    here = _outcomes(rules, source, target, False, default)
    if not tree:
        return here
    places = None if whole or not layout else exact_places(rules, source, target)
    if not places:
        return here | _outcomes(rules, source, target, True, default, whole=whole,
                                layout=layout)
    # (each exact rule at its own place below either name: the same file's two names, with
    # every rule; the other places with the exact ones left out -- they match none there)
    rest = [rule for rule in rules if id(rule) not in places[1]]
    found = here | _outcomes(rest, source, target, True, default)
    for tail in places[0] if by_place else ():
        found |= _outcomes(rules, source + tail, target + tail, False, default)
    return found


#: at most this many exact places below a moved directory are compared one by one (each a
#: walk of the check's rules); past it the shapes alone, which grant no more (fail closed)
_PLACES_KEPT = 256


def exact_places(rules: Sequence[Rule], source: str, target: str
                 ) -> tuple[tuple[str, ...], frozenset[int]] | None:
    """The places (``/tail``, each below both names) of the rules of ``rules`` whose path is
    exact (``PathGlob.exact_paths``) and names a path strictly below ``source`` or ``target``,
    and those rules' ids; None when there are none, or too many to compare one by one.  A
    directory moved is compared place by place for these: by shapes alone an exact rule
    "may match below" each name, the two taken apart, and ``fsread DIR/data/a.txt`` made the
    move back of ``DIR.old`` to ``DIR`` gain a read anywhere below -- which the learner, to
    let the move pass, granted as ``DIR.old/**`` and then ``DIR/**`` (red team 88,
    learn_roundtrip.c).  Place by place the move gains the read of ``data/a.txt`` alone, and
    learn._linked_grant grants ``DIR.old/data/a.txt``, nothing else of the tree."""
    prefixes = (source.rstrip("/") + "/", target.rstrip("/") + "/")
    tails: dict[str, None] = {}
    ids: set[int] = set()
    for rule in rules:
        exact = getattr(rule.path, "exact_paths", None) if rule.path is not None else None
        paths = exact() if exact is not None else None
        if not paths:
            continue
        below = [path[len(prefix) - 1:] for path in paths for prefix in prefixes
                 if path.startswith(prefix)]
        if below:
            ids.add(id(rule))
            tails.update(dict.fromkeys(below))
    if not tails or len(tails) > _PLACES_KEPT:
        return None
    return tuple(tails), frozenset(ids)


def _outcomes(rules: Sequence[Rule], source: str, target: str, below: bool,
              default: int, left_out: bool = False, whole: bool = False,
              layout: bool = True) -> frozenset[tuple[int, int]]:
    """:func:`_linked_outcomes` of the files at the two names, or (``below``) of the paths
    strictly inside the two directories (``left_out``: of the names something runs later
    there).  A walk of the rules in order keeping every
    (old name's, new name's) state a way through them may reach: a grant, or None while
    undecided, and what the call's conditions met so far were taken to be (a condition
    met again is the same; past _WAYS_KEPT states they are forgotten: each meeting then
    taken apart, more ways, never fewer).  ``whole``: the old side is the file at
    ``source`` itself, whatever ``below`` and ``left_out`` say of the new one."""
    States = set[tuple[int | None, int | None, frozenset[tuple[object, bool]]]]
    done: set[tuple[int, int]] = set()  # (both names decided: nothing after changes them)
    states: States = {(None, None, frozenset())}
    for rule in rules:
        if not states:
            break
        if rule.injects or rule.net is not None or (rule.fresh and rule.path is not None):
            continue  # (no net rule matches a path call; a fresh one covers no older file)
        old = _path_match(rule, source, below and not whole, False, left_out and not whole)
        new = _path_match(rule, target, below, True, left_out)
        if old == _NO and new == _NO:
            continue
        grant = _GRANT[Action.NEVER] if rule.redirect is not None else _GRANT[rule.action]
        condition = None if rule.argv is None and rule.target is None else \
            (rule.argv.patterns if rule.argv is not None else None, rule.target)
        # (below the two directories: a glob that matches some places below a name, by the
        # same rest below either one, matches at the same places -- one unknown for both
        # names and every rule of that rest, not two: red team 88.  So among the names
        # something runs later there, left_out's: the same names at the same places)
        old_place = _place(rule, source) \
            if below and layout and not whole and old == _MAYBE else None
        new_place = _place(rule, target) if below and layout and new == _MAYBE else None
        olds = _ways(old, grant)
        news = _ways(new, grant)
        reached: States = set()
        places = list(dict.fromkeys(p for p in (old_place, new_place) if p is not None))
        for has, gains, was in states:
            for taken in _assigned(was, places):
                one_olds = olds if old_place is None else \
                    ((grant,) if (old_place, True) in taken else (None,))
                one_news = news if new_place is None else \
                    ((grant,) if (new_place, True) in taken else (None,))
                _step(reached, done, has, gains, taken, condition, one_olds, one_news)
        if len(reached) > _WAYS_KEPT:
            reached = {(has, gains, frozenset()) for has, gains, _ in reached}
        states = reached
    return frozenset(done | {(default if has is None else has,
                              default if gains is None else gains)
                             for has, gains, _ in states})


def _place(rule: Rule, directory: str) -> object | None:
    """The unknown of :func:`_outcomes` for a rule that may match only some places below
    ``directory``: the rest of its pattern below it (``PathGlob.below``), or None where it
    cannot be told (a learned glob, a pattern not starting with the directory)."""
    below = getattr(rule.path, "below", None) if rule.path is not None and \
        getattr(rule.path, "made_directory", None) is None else None
    rest = below(directory) if below is not None else None
    return ("place", rest) if rest is not None else None


def _assigned(taken: frozenset[tuple[object, bool]], places: Sequence[object]
              ) -> list[frozenset[tuple[object, bool]]]:
    """Each way ``places`` (unknowns of :func:`_outcomes`) come out given ``taken``: one
    already met keeps its value, one not yet met is taken both ways."""
    ways = [taken]
    for place in places:
        if (place, True) in taken or (place, False) in taken:
            continue
        ways = [way | {(place, value)} for way in ways for value in (True, False)]
    return ways


def _step(reached: set[tuple[int | None, int | None, frozenset[tuple[object, bool]]]],
          done: set[tuple[int, int]], has: int | None, gains: int | None,
          taken: frozenset[tuple[object, bool]], condition: object,
          olds: tuple[int | None, ...], news: tuple[int | None, ...]) -> None:
    """One state of :func:`_outcomes` through one rule: its condition (the call's argv or
    target) held or not, then each way the rule matches either name."""
    holds: tuple[bool, ...] = (True,)
    if condition is not None:
        holds = (True, False)
        for known, value in taken:
            if known == condition:
                holds = (value,)
                break
        else:
            # (one argv holds no two conditions whose elements are two literals
            # at one place, or whose lengths differ: review 25)
            if any(value and _exclusive(known, condition) for known, value in taken):
                holds = (False,)
    for held in holds:
        now = taken if condition is None or len(holds) == 1 else \
            taken | {(condition, held)}
        if not held:  # (the call's argv or target: the rule matches neither name)
            reached.add((has, gains, now))
            continue
        for one_has in (has,) if has is not None else olds:
            for one_gains in (gains,) if gains is not None else news:
                if one_has is not None and one_gains is not None:
                    done.add((one_has, one_gains))
                else:
                    reached.add((one_has, one_gains, now))


_WAYS_KEPT = 256


def _exclusive(one: object, other: object) -> bool:
    """Whether no call meets both of two conditions of :func:`_outcomes` (argv patterns,
    target): their argv globs need, at one place, two different literal elements, or
    different numbers of elements.  A condition met is then known not to meet the other:
    without this, ``argv = ["a", "**"]`` on one name and ``argv = ["b", "**"]`` on both
    were taken to hold together, and a rename that gave no access was refused (found by
    review 25: test_a_link_refused_gives_some_access_its_own_name_lacks)."""
    first = one[0] if isinstance(one, tuple) else None
    second = other[0] if isinstance(other, tuple) else None
    if not isinstance(first, tuple) or not isinstance(second, tuple) or not first or not second:
        return False
    from systrace_py.policy.argv import REST, uses_cwd

    def shape(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
        rest = patterns[-1] == REST
        return (patterns[:-1] if rest else patterns), rest

    (heads, open_one), (other_heads, open_other) = shape(first), shape(second)
    if not open_one and not open_other and len(heads) != len(other_heads):
        return True
    if (not open_one and len(heads) < len(other_heads)) or \
            (not open_other and len(other_heads) < len(heads)):
        return True

    def literal(element: object) -> bool:
        return isinstance(element, str) and not any(c in element for c in "*?[") and \
            not uses_cwd(element)

    return any(a != b and literal(a) and literal(b)
               for a, b in zip(heads, other_heads, strict=False))


def _ways(match: int, grant: int) -> tuple[int | None, ...]:
    """A name's state after a rule whose path matches it ``match`` (_YES, _NO, _MAYBE)."""
    if match == _YES:
        return (grant,)
    if match == _NO:
        return (None,)
    return (grant, None)


def _path_match(rule: Rule, path: str, below: bool, most: bool, left_out: bool = False) -> int:
    """Whether ``rule``'s path matches the file at ``path`` (``below``: every path strictly
    inside the directory ``path``; ``left_out``: the names something runs later there):
    _YES, _NO or _MAYBE.  ``most``: the name whose grants are taken at their most (the new
    one), for which a learned glob covering the directory still leaves names out."""
    if rule.path is None:
        return _YES
    pattern = rule.path
    match = _YES
    if left_out:
        # (a learned writing glob matches them only where it names one exactly, a glob of
        # exact names where one of them is such a name; sensitive.py is imported only where
        # a learned glob is: a plain run's start does without its classes)
        from systrace_py.policy.sensitive import may_match_runs_later_below
        if not may_match_runs_later_below(pattern, path):
            return _NO
        if not _covers_all_below(pattern, path) or \
                getattr(pattern, "leaves_out_runs_later", False):
            match = _MAYBE
    elif below:
        every = _covers_all_below(pattern, path)
        if not every and not _may_match_below(pattern, path):
            return _NO
        if not every or (most and getattr(pattern, "glob", None) is not None):
            match = _MAYBE
    elif not pattern.matches(path):
        return _NO
    made_directory = getattr(pattern, "made_directory", None)
    if made_directory is not None and \
            made_directory(f"{path}/x" if below else path) is not None:
        match = _MAYBE
    return match


def _merged(positions: dict[int, int], *parts: list[Rule]) -> list[Rule]:
    """The rules of ``parts`` (each a part of a check's rules in their order, as
    CheckIndex.rules_at gives them), once each, in that order (``positions``: each rule's
    place by id; rules_at's last, the index's unconditional rule, may stand past them)."""
    unique = {id(rule): rule for part in parts for rule in part}
    end = len(positions)
    return sorted(unique.values(), key=lambda rule: positions.get(id(rule), end))


def _socket_bound(rules: Sequence[Rule], path: str, tree: bool, most: bool,
                  default: int) -> int:
    """What the first matching rule of ``rules`` (one connect check's, in order) grants a
    connect to the unix socket file at ``path`` (with ``tree``: at any path strictly below
    the directory ``path``), the default after them: with ``most`` the most it may grant,
    else the least (for connects, each name apart: their rules have no argv or target).
    A rule with an IP condition never matches a socket file, one with a path condition no
    connect; a ``fresh`` rule covers no older socket; a ``unix`` glob that may match only
    some paths below bounds the answer and the rules after it are looked at too; a redirecting
    rule grants nothing of this socket (its connect reaches the redirect's target)."""
    bound: int | None = None
    pick = max if most else min
    addr = SockAddr("unix", path=path)
    for rule in rules:
        if rule.injects or rule.fresh or rule.path is not None:
            continue
        certain = rule.argv is None and rule.target is None
        if rule.net is not None:
            unix = getattr(rule.net, "unix", None)
            if unix is None:
                continue  # (an address, port or host: no unix socket's)
            if tree:
                globs = [item.glob for item in unix if getattr(item, "glob", None) is not None]
                every = any(_covers_all_below(glob, path) for glob in globs)
                if not every and not any(_may_match_below(glob, path) for glob in globs):
                    continue
                certain = certain and every
            elif not rule.net.matches(addr):
                continue
        grant = _GRANT[Action.NEVER] if rule.redirect is not None else _GRANT[rule.action]
        if certain:
            return grant if bound is None else pick(bound, grant)
        bound = grant if bound is None else pick(bound, grant)
    return default if bound is None else pick(bound, default)


def notes_made(tables: Iterable[Table]) -> bool:
    """Whether the engine notes the paths the calls of the run make (DecodedCall.note_made,
    ``Facts.fresh`` of a file the run made): only where some rule is ``fresh`` -- without
    one no rule asks, and noting costs each call that makes a name.  The one home of that
    choice: the supervisor's (Supervisor._fresh) and the learner's, which exempts a link or
    rename of a file the run made from the "gains no access" comparison only where its next
    run's engine will tell that file the run's own (learn._linked_grant; review 63: a learned
    atomic save with no fresh rule in its policy was refused on its next run)."""
    return any(rule.fresh for table in tables for rule in table.rules)


def path_patterns(rule: Rule, sockets: bool = True) -> list[PathPattern]:
    """The path globs a rule protects: its ``path`` and (``sockets``) its ``unix`` paths."""
    out: list[PathPattern] = []
    if rule.path is not None:
        out.append(rule.path)
    if sockets:
        out.extend(unix_globs(rule))
    return out


def unix_globs(rule: Rule) -> list[PathPattern]:
    """The path globs of a rule's ``unix`` condition (not its abstract or unnamed ones)."""
    unix = getattr(rule.net, "unix", None) if rule.net is not None else None
    return [glob for item in unix or () if (glob := getattr(item, "glob", None)) is not None]


def _may_match_below(pattern: PathPattern, directory: str) -> bool:
    test = getattr(pattern, "may_match_below", None)
    return bool(test(directory)) if test is not None else True  # unknown: assume it may


def _covers_all_below(pattern: PathPattern, directory: str) -> bool:
    test = getattr(pattern, "covers_all_below", None)
    return bool(test(directory)) if test is not None else False


@dataclass
class Policy:
    """A policy file: the main table and the tables of named programs.

    ``programs`` maps a program path (or glob) to its table, in file order; a process switches
    to the table of the program it execs, when there is one (see :meth:`table_for`).
    """

    main: Table
    programs: dict[str, Table] = field(default_factory=dict)
    program_patterns: dict[str, PathPattern] = field(default_factory=dict)
    source: str | None = None
    description: str | None = None
    #: file system types whose servers the user trusts to answer every process alike
    #: (``trusted_filesystems``: "fuse.sshfs", "fuse"): paths there are decided as on any
    #: other file system (engine/answered.py; docs/policy.md "FUSE mounts")
    trusted_filesystems: tuple[str, ...] = ()

    def table_for(self, program: str) -> Table | None:
        """The table of an exec'd program: an exact key first, then globs in file order."""
        exact = self.programs.get(program)
        if exact is not None:
            return exact
        for key, pattern in self.program_patterns.items():
            if pattern.matches(program):
                return self.programs[key]
        return None

    def tables(self) -> list[Table]:
        return [self.main, *self.programs.values()]


def answer_conditions(rule: Rule, asking: Rule, expansions: Expansions | None = None
                      ) -> tuple[Rule, bool]:
    """An answer to ``asking``'s question, no wider than that rule in any condition
    (:data:`CONDITIONS`, walked whole: ``path``, ``net`` -- each of its keys, ``address``,
    ``port``, ``host``, ``unix`` --, ``argv``, ``fresh``, ``target``), and whether it may
    stand just before the ``ask`` (:func:`answer_place`).  A condition the ``ask`` names
    and the answer does not is copied onto it -- dropped, the answer to ``./tool safe``
    stood in front of the ``never`` of ``./tool dangerous`` (review 69), the answer "this
    host, any port" to ``ask net-connect port = P`` in front of a ``never`` of that host
    (review 72).  Where both name one, the answer's must be the ``ask``'s or provably
    inside it (:func:`_path_covered` for a path or a ``unix`` glob, under every expansion;
    a subnet, a port range within, a name below the domain; a literal argv the ``ask``'s
    globs match): ``permit fswrite $CWD/.bashrc`` answered under ``ask fswrite /x/proj/**``
    overtook the ``never ~/.bashrc`` after it when run from home (review 69), "every socket
    in the directory" under an ``ask`` of one socket the ``never`` of another (review 72).
    Else it is not covered: it goes at the end of the table, where it overtakes no rule
    and may decide nothing (the call is asked again), which fails closed.  A literal path
    or ``unix`` glob spelled with an expansion the ``ask`` does not use (``$CWD/data/a.txt``
    under an absolute ``ask``) is first spelled as the absolute path it names in this run
    (``expansions``): that the ``ask``'s glob may cover."""
    changes: dict[str, Any] = {}
    covered = True
    for name in CONDITIONS:
        mine, theirs = getattr(rule, name), getattr(asking, name)
        if theirs is None or theirs is False:
            continue  # (the ask picks any: the answer may name what it will)
        if mine is None or mine is False:
            changes[name] = theirs
            continue
        narrowed = _NARROWED[name](mine, theirs, expansions)
        if narrowed is None:
            covered = False
        elif narrowed is not mine:
            changes[name] = narrowed
    if changes:
        rule = dataclasses.replace(rule, **changes)
    return rule, covered


def _respelled(text: str, expansions: Expansions | None) -> str | None:
    """A glob led by an expansion (``$CWD/data/a.txt``) as the absolute glob it names in
    this run; None when it is absolute already, or has another expansion past its lead."""
    lead, _, rest = text.partition("/")
    if expansions is None or text.startswith("/") or holds_expansion("/" + rest):
        return None
    try:
        return escape(expand_path(lead, expansions=expansions)).rstrip("/") + "/" + rest
    except (GlobError, ValueError, KeyError, TypeError):
        return None


def _path_narrowed(answer: PathPattern, ask: PathPattern, expansions: Expansions | None
                   ) -> PathPattern | None:
    """The answer's path glob, or its absolute spelling, where the ``ask``'s covers it."""
    if _path_covered(answer.pattern, ask.pattern):
        return answer
    absolute = _respelled(answer.pattern, expansions)
    if absolute is not None and _path_covered(absolute, ask.pattern):
        try:
            return PathGlob(absolute, expansions=expansions)
        except GlobError:
            return None
    return None


def _net_narrowed(answer: NetPattern, ask: NetPattern, expansions: Expansions | None
                  ) -> NetPattern | None:
    """The answer's address condition with every key of the ``ask``'s (net.KEYS) it does
    not name, where each it names is the ``ask``'s or inside it; None else.  An answer of
    the other family (an IP address under a ``unix`` ask) picks none of what the ask picks
    and is no answer to stand before it."""
    from systrace_py.policy.net import INSIDE, KEYS, NetCondition
    if answer == ask:
        return answer
    if not isinstance(answer, NetCondition) or not isinstance(ask, NetCondition) or \
            (answer.unix is None) != (ask.unix is None):
        return None
    written = ask.describe()
    parts: dict[str, tuple[object, object]] = {}
    for key, part in KEYS.items():
        theirs, mine = getattr(ask, part), getattr(answer, part)
        if theirs is None or mine == theirs:
            continue
        if mine is None:
            parts[key] = (theirs, written[key])
        elif key == "unix":
            items = [_unix_inside(item, theirs, expansions) for item in mine]
            if any(item is None for item in items):
                return None
            if items != list(mine):
                texts = [item.text for item in items]  # type: ignore[union-attr]
                parts[key] = (tuple(items), texts[0] if len(texts) == 1 else texts)
        else:
            inside = INSIDE.get(key)  # (a key with no test of its own: never inside)
            if inside is None or not all(any(inside(value, of) for of in theirs)
                                         for value in mine):
                return None
    return answer.with_parts(parts) if parts else answer


def _unix_inside(item: Any, ask: Sequence[Any], expansions: Expansions | None) -> Any:
    """One ``unix`` value of an answer (net._UnixPattern), or its absolute spelling, where
    a value of the ``ask``'s picks every socket it does; None else.  An abstract name or
    the unnamed socket: only the same text."""
    from systrace_py.policy.net import NetConditionError, _unix_pattern
    if item.glob is None:
        return item if any(of.text == item.text for of in ask) else None
    globs = [of.text for of in ask if of.glob is not None]
    if any(_path_covered(item.text, of) for of in globs):
        return item
    absolute = _respelled(item.text, expansions)
    if absolute is None or not any(_path_covered(absolute, of) for of in globs):
        return None
    try:
        return _unix_pattern(absolute, expansions or Expansions.from_env(None))
    except NetConditionError:
        return None


#: An argv glob that matches only one text: nothing but single-character classes escaping
#: a wildcard (argv.literal, argv.escape_argv's ``[$]CWD``)
_LITERAL_ARG = re.compile(r"(?:\[[*?\[$]\]|[^*?\[])*")


def _argv_narrowed(answer: ArgvPattern, ask: ArgvPattern, expansions: Expansions | None
                   ) -> ArgvPattern | None:
    """The answer's argv where it is the ``ask``'s, or literal words the ``ask`` matches
    whatever the working directory: an ``ask`` element with ``$CWD`` (outside ``[$]``)
    matches this run's directory only, and the saved answer's words (absolute, as the
    program wrote them) stay -- in a run from elsewhere the answer stood before the ``ask``
    for a command it no longer picks, in front of the ``never`` after it (review 74).  Not
    respelled with ``$CWD``: that would widen the command approved in one directory to
    every directory's.  So, as :func:`_path_covered` for an absolute answer under a
    ``$CWD`` ``ask``: not covered (the end of the table)."""
    from systrace_py.policy.argv import uses_cwd
    if answer == ask:
        return answer
    if any(uses_cwd(element) for element in ask.patterns):
        return None
    words = []
    for element in answer.patterns:
        if not isinstance(element, str) or uses_cwd(element) or \
                _LITERAL_ARG.fullmatch(element) is None:
            return None
        words.append(re.sub(r"\[(.)\]", r"\1", element))
    return answer if ask.matches(tuple(words)) else None


def _same_only(answer: object, ask: object, expansions: Expansions | None) -> object | None:
    """A condition with no order but sameness (``fresh``, ``target``)."""
    return answer if answer == ask else None


#: How each of :data:`CONDITIONS` an answer and its ``ask`` both name is told to be the
#: ask's or inside it (None: not) -- one for each, checked by tests/unit/test_close46.py
_NARROWED: Final[dict[str, Callable[[Any, Any, Expansions | None], Any]]] = {
    "path": _path_narrowed, "net": _net_narrowed, "argv": _argv_narrowed,
    "fresh": _same_only, "target": _same_only,
}


_ESCAPED = re.compile(r"\\.")


def _path_covered(answer: str, ask: str) -> bool:
    """Whether every path the glob ``answer`` names, under any expansion, the glob ``ask``
    names too -- told from the text, failing to False where it cannot tell: the same
    leading expansion (``$CWD``, ``~``, ``$TMPDIR``, or none: absolute) and no other; then
    the answer a literal path the ``ask`` matches, or ``P/*``/``P/**`` of a literal ``P``
    below the literal ``Q`` of an ``ask`` of ``Q/**``."""
    if answer == ask:
        return True

    def split(text: str) -> tuple[str, str]:
        if text.startswith("/"):
            return "", text
        lead, _, rest = text.partition("/")
        return lead, "/" + rest

    (lead, rest), (ask_lead, ask_rest) = split(answer), split(ask)
    if lead != ask_lead or holds_expansion(rest) or holds_expansion(ask_rest):
        return False
    root = "/expansion"
    if "{" in _ESCAPED.sub("", ask_rest):  # (each alternative of the ask's braces)
        return any(_path_covered(answer, (ask_lead + alt[len(root):]) if ask_lead
                                 else alt[len(root):])
                   for alt in PathGlob(root + ask_rest, {}).spellings()
                   if "{" not in _ESCAPED.sub("", alt))
    plain = _ESCAPED.sub("", rest)
    if not any(c in "*?[]{}" for c in plain):
        literal = re.sub(r"\\(.)", r"\1", rest)
        return PathGlob(root + ask_rest, {}).matches(root + literal)
    for tail in ("/**", "/*"):
        prefix = rest[: -len(tail)]
        if rest.endswith(tail) and not any(c in "*?[]{}\\" for c in prefix) and \
                ask_rest.endswith("/**"):
            base = ask_rest[:-3]
            if not any(c in "*?[]{}\\" for c in base) and (
                    prefix == base or prefix.startswith(base.rstrip("/") + "/")):
                return True
    return False
