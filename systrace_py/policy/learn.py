"""Learning: from what programs did (observations) to a policy a person would have written.

Pure: no ptrace, no file system access.  The learning monitor (:mod:`systrace_py.learner`)
and ``systrace policy learn`` (from a ``--log``) both produce :class:`Observation` values; this
module turns them into a :class:`~systrace_py.policy.model.Policy`:

* one table per program (the command's own table is ``main``; a program it execs gets
  ``[program."/path"]``), default ``never`` (or ``ask``);
* a rule per (alias, condition): ``fsread``/``fsmeta``/``fswrite``/``fslink``/``exec`` with a
  ``path`` glob -- what a call could reveal or change decides which (a stat is ``fsmeta``,
  never ``fsread``; the source of a link is ``fslink``, never ``fswrite``) --,
  ``net-connect``/``net-bind`` with ``address``+``port``, ``host``+``port`` (a name the program
  resolved) or ``unix``, calls without arguments
  grouped by alias (``stdio``, ``process``...);
* paths generalized the way a person would (``--generalize none|strict|safe|broad``), by the
  one generalizer (:mod:`systrace_py.policy.generalize`): well-known read-only categories
  (shared libraries, system headers, locale data...) as one rule each, a directory that was
  listed and whose every entry was read, generated names (temporary files, pids), content-hash
  names, per-pid ``/proc`` paths -- and never across sensitive locations (~/.ssh, /etc/shadow,
  ...), which stay exact.  Every generalized rule keeps where it came from (its ``learned``
  provenance) for ``systrace policy review``.

The rules and their reasons are in docs/learning.md.  The invariant, checked by property
tests: a learned policy permits every observation it was learned from (except the ones
:class:`LearnReport` lists as not representable, execs that failed, and calls in
:data:`~systrace_py.policy.aliases.UNSAFE_CALLS`, which learning refuses).

:func:`merge_rules` and :func:`merge_policies` add rules to an existing policy without
undoing what a person wrote there; the interactive front end uses them too.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import math
import os
import re
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systrace_py.kernel import DELETED as _DELETED
from systrace_py.kernel import O_TMPFILE_BIT
from systrace_py.logrecords import Event, LoggedCall, Result, logged_call
from systrace_py.policy import aliases
from systrace_py.policy.argv import CWD as ARGV_CWD
from systrace_py.policy.argv import ArgvCondition, Words
from systrace_py.policy.argv import Element as ArgvElement
from systrace_py.policy.environment import (
    PATH_VARIABLES,
    grant_error,
    is_plain,
    literal_grant,
    split,
    variable_error,
)
from systrace_py.policy.files import MAX_PROVENANCE_PATHS, FileRule, Provenance
from systrace_py.policy.generalize import (
    CATEGORIES,
    FANOUT,
    GENERALIZE_LEVELS,
    HASH_NAME,
    HEX_DIGIT,
    PATH_ALTERNATIVES,
    Category,
    Evidence,
    PathWriter,
    SystemFacts,
    brace_alternatives,
    category_pattern,
    category_roots,
    compact,
    components,
    escape_argv,
    generated_name,
    generated_shape,
    hash_glob,
    holds_pid,
    in_category,
    is_sensitive,
    join,
    number_shape,
    planted_at,
    pseudo_kind,
    pseudo_pattern,
    reaches_sensitive,
    shaped_glob,
    writes,
    written_glob,
)
from systrace_py.policy.glob import (
    GlobError,
    PathGlob,
    escape,
    expand_path,
    holds_expansion,
    is_literal,
)
from systrace_py.policy.model import (
    ADDRESS,
    TREE,
    Action,
    CallFacts,
    Decision,
    DnsRefused,
    Missing,
    PathArg,
    Policy,
    Rule,
    SockAddr,
    Table,
    checks_of,
    exact_places,
    notes_made,
    unplaced,
)
from systrace_py.policy.net import NetCondition, abstract_spelled, host_spelled
from systrace_py.syscalls import FSLINK, FSMETA

__all__ = [
    "GENERALIZE_LEVELS",
    "MAIN",
    "Generalization",
    "LearnOptions",
    "LearnReport",
    "Observation",
    "carried_table",
    "decide_observation",
    "format_summary",
    "learn",
    "merge_policies",
    "merge_rules",
    "observation_from_record",
]

MAIN = "main"

#: Open flags that matter to learning: the access (fsread/fswrite), creation (temporary
#: names), O_DIRECTORY, and O_NOFOLLOW (Python's tempfile adds it, C's mkstemp does not: which
#: generator's run a name ends in).  Other bits (O_CLOEXEC...) are dropped so observations
#: dedupe.
_FLAG_MASK = (os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_TRUNC | O_TMPFILE_BIT
              | os.O_DIRECTORY | os.O_PATH | os.O_NOFOLLOW)

#: The classes whose checks are learned as path rules (keyed by the class, or by its part:
#: fsmeta, fslink)
PATH_CLASSES = ("exec", "fsread", "fswrite")
#: Argument-less aliases a safe learned policy permits whole when any member was used: their
#: members are interchangeable ways of doing one harmless thing (a program that mmaps may
#: mremap tomorrow; fork and clone make the same child).
SAFE_WHOLE_ALIASES = frozenset({"stdio", "process"})
#: What every learned table permits whatever the run did: signals to the program's own
#: processes and threads (``target = "tree"``).  They touch nothing but the program, and
#: some runs send them and others not -- a jobserver's tgkill of its threads, a pool's kill
#: of its workers, make's of its children on an error --, which a policy learned from a run
#: that sent none would refuse on the next (docs/learning.md).  A signal to anything else
#: is learned as seen (a grant of the call, or of ``signal``).
TREE_SIGNALS = "learned: signals to the program's own processes and threads"
#: Calls that may carry an address but were seen without one (send on a connected socket),
#: or with one no address condition can name (netlink, AF_UNSPEC...).
_CATCH_ALL_CALLS = aliases.ADDRESS_CALLS
_ANY_IP = ["0.0.0.0/0", "::/0"]
_ANY_UNIX = ["/**", "@*", ""]
#: the comments of the learner's "any other IP address" and "any other unix socket" rules:
#: what tells them from a person's rule of the same shape (:func:`_is_barrier`)
_BARRIER_COMMENTS = ("learned: any other IP address", "learned: any other unix socket")
#: the comment of the learner's permit after them (:func:`_is_catch_all`)
_CATCH_ALL_COMMENT = "learned: connected sockets (no address) and netlink"
#: Failures of an exec that mean the program is not there (a search's misses): under the
#: policy they are answered ENOENT again, as refusals of missing paths
_EXEC_MISSING = frozenset({errno_module.ENOENT, errno_module.ENOTDIR, errno_module.ELOOP,
                           errno_module.ENAMETOOLONG})

# ---------------------------------------------------------------------------------------------
# Observations


@dataclass(frozen=True, slots=True)
class Observation:
    """One distinct thing a program did, as the learning monitor (or a log) saw it.

    ``table`` is the table the call was decided under (``"main"`` or a program path);
    ``paths`` are resolved; ``created`` names the roles of paths this call brought into
    existence and ``exclusive`` whether the name was chosen to be new (O_EXCL, mkdir: what
    mkstemp and mkdtemp do); ``listing`` holds the entries of a directory read with getdents
    (names, with a trailing "/" for directories); ``initial`` marks the exec that started
    the traced command (never given an argv condition: the user chooses its arguments);
    ``selector`` is the register the call's classes depend on (an ioctl's request,
    renameat2's flags: ``policy.model.Facts.selector``); ``failed`` is the errno of an exec
    that failed (0: it ran, or the call is no exec): a failed exec is not learned as one;
    ``environment`` holds an exec's loader and interpreter variables (``NAME=VALUE``,
    environment.runs_code) the run did not start with: the table the exec enters grants them;
    ``mkstemp`` marks a file made as mkstemp(3) and Python's ``tempfile`` make theirs
    (read-write, ``O_EXCL``, mode 0600), or a directory as mkdtemp(3) does (mode 0700): the
    end of its name is random whatever its shape;
    ``directories`` names the roles of a move (rename) whose path was a directory: a policy
    decides such a move for everything inside it (``Table._subtree_decision``);
    ``tree`` marks a signal call whose every target was a task of the traced tree
    (``policy.model.Facts.in_tree``): the tree-scoped permit every learned table has covers
    it (:data:`TREE_SIGNALS`), so it is learned as no grant of its own;
    ``older`` names the roles whose path held, when the call was made, a file the run did
    not make although the run had made that name, or one above it, before -- an older file
    moved there (pip's uninstall stash, ``packaging`` renamed onto ``~ackaging``, made and
    removed by the run just before) --, and the directories a move took that the run did
    not make: the next run's call meets such a file again, which a ``fresh`` rule does not
    cover (``DecodedCall.fresh``), so it is learned by name;
    ``older_inside`` holds, for a move of a directory the run made, the files below it the
    run linked or moved there although it did not make them (``Facts.older_below``): (the
    role, the name's tail below the directory, the file's own name, whether a directory)
    -- the next run's move compares each by its own name (learn._linked_grants);
    ``absent`` names the roles whose path named nothing when the call was decided (a stat,
    an unlink, a destination's probe that met no file: ``rm -f o/t.tmp``, ``[ -e o/t.tmp ]``,
    cp's look at its destination): such a use met no older file (``_Context.older_first``
    leaves it out where the run does not leave its own file at the name).
    """

    table: str
    syscall: str
    paths: tuple[PathArg, ...] = ()
    open_flags: int | None = None
    sockaddrs: tuple[SockAddr, ...] = ()
    argv: tuple[str, ...] | None = None
    created: tuple[str, ...] = ()
    exclusive: bool = False
    listing: tuple[str, ...] | None = None
    initial: bool = False
    selector: int | None = None
    failed: int = 0
    environment: tuple[str, ...] = ()
    mkstemp: bool = False
    directories: tuple[str, ...] = ()
    tree: bool = False
    older: tuple[str, ...] = ()
    older_inside: tuple[tuple[str, str, str, bool], ...] = ()
    absent: tuple[str, ...] = ()

    def all_facts(self) -> list[CallFacts]:
        """The facts a policy decides on (one per socket address)."""
        paths = self.paths
        if self.syscall == "getdents64" or self.syscall == "getdents":
            paths = ()  # the directory is a hint for learning, not an argument
        base = CallFacts(self.syscall, paths, self.open_flags,
                         self.sockaddrs[0] if self.sockaddrs else None, self.argv,
                         directories=frozenset(self.directories), selector=self.selector,
                         # (fresh: the paths and socket files it used, the run's own)
                         made=frozenset([*(p.role for p in paths), ADDRESS]),
                         tree=self.tree)
        if len(self.sockaddrs) <= 1:
            return [base]
        return [dataclasses.replace(base, sockaddr=a) for a in self.sockaddrs]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (the ``observation`` field of a learned log record)."""
        out: dict[str, Any] = {"syscall": self.syscall,
                               **LoggedCall(self.paths, self.open_flags, self.sockaddrs,
                                            self.argv).to_json()}
        if self.created:
            out["created"] = list(self.created)
        if self.exclusive:
            out["exclusive"] = True
        if self.listing is not None:
            out["listing"] = list(self.listing)
        if self.initial:
            out["initial"] = True
        if self.selector is not None:
            out["selector"] = self.selector
        if self.failed:
            out["failed"] = errno_module.errorcode.get(self.failed, self.failed)
        if self.environment:
            out["environment"] = list(self.environment)
        if self.mkstemp:
            out["mkstemp"] = True
        if self.directories:
            out["directories"] = list(self.directories)
        if self.tree:
            out["tree"] = True
        if self.older:
            out["older"] = list(self.older)
        if self.older_inside:
            out["older_inside"] = [list(entry) for entry in self.older_inside]
        if self.absent:
            out["absent"] = list(self.absent)
        return out

    @classmethod
    def from_json(cls, table: str, data: Mapping[str, Any]) -> Observation:
        """The inverse of :meth:`to_json`; ValueError/TypeError/KeyError on a bad record."""
        call = LoggedCall.from_json(data)
        selector = data.get("selector")
        listing = data.get("listing")
        failed = data.get("failed", 0)
        return cls(
            table=str(table), syscall=str(data["syscall"]), paths=call.paths,
            open_flags=call.open_flags, sockaddrs=call.sockaddrs, argv=call.argv,
            created=tuple(str(r) for r in data.get("created", ())),
            exclusive=bool(data.get("exclusive", False)),
            listing=tuple(str(e) for e in listing) if listing is not None else None,
            initial=bool(data.get("initial", False)),
            selector=int(selector) if selector is not None else None,
            failed=getattr(errno_module, failed) if isinstance(failed, str) and hasattr(
                errno_module, failed) else int(failed),
            environment=_granted_variables(data.get("environment", ())),
            mkstemp=bool(data.get("mkstemp", False)),
            directories=tuple(str(r) for r in data.get("directories", ())),
            tree=bool(data.get("tree", False)),
            older=tuple(str(r) for r in data.get("older", ())),
            older_inside=tuple((str(role), str(tail), str(own), bool(tree))
                               for role, tail, own, tree in data.get("older_inside", ())),
            # (a log of before close 40 has none: every use before a name was made counts as
            # one that met an older file there, as it did)
            absent=tuple(str(r) for r in data.get("absent", ())),
        )


def _granted_variables(entries: object) -> tuple[str, ...]:
    """A record's ``environment``: the values an exec carried of variables a policy's
    ``environment`` may grant (environment.variable_error, whose text a ValueError carries;
    a value is any text: it is granted literally, environment.literal_grant)."""
    if not isinstance(entries, (list, tuple)):
        raise ValueError("environment: expected an array of \"NAME=VALUE\" strings")
    for entry in entries:
        wrong = variable_error(entry) if isinstance(entry, str) else \
            "expected \"NAME=VALUE\" strings"
        if wrong is not None:
            raise ValueError(f"environment: {wrong}")
    return tuple(entries)


def normalize_flags(flags: int | None) -> int | None:
    return None if flags is None else flags & _FLAG_MASK


def observation_from_record(record: Mapping[str, Any]) -> Observation | None:
    """An observation from one log record, or None when the record is not about a call the
    program was allowed to make.

    Learned records carry the observation itself (``"observation"``); other ``syscall``
    records (enforce or dry-run logs) from the facts they were decided on (``"call"``, see
    :mod:`systrace_py.logrecords`), so a policy can be learned from a ``--dry-run --log`` too.
    """
    if record.get("event") != "syscall":
        return None
    if record.get("result") not in (Result.PERMITTED, Result.WOULD_REFUSE):
        return None
    table = str(record.get("table") or MAIN)
    if isinstance(record.get("observation"), Mapping):
        return Observation.from_json(table, record["observation"])
    syscall = record.get("syscall")
    if not isinstance(syscall, str):
        return None
    call = logged_call(record)
    if call is None:
        return None
    return Observation(table, syscall, call.paths, normalize_flags(call.open_flags),
                       call.sockaddrs, call.argv, tree=call.tree)


class LoggedTables:
    """The table each process of a log is learned under, as a run decides it: a program
    with no name of its own -- one /proc names ``NAME (deleted)``, a memfd or a removed file
    -- takes no table at its exec (``supervisor.nameless``), its process keeps its caller's.
    A log of an older ``-A`` names such a table for what the process did (``"table":
    "/memfd:helper (deleted)"``); learned so, it made a table no run enters, and the next run
    refused the helper what it did (learn42).  Read in order, a log's process records (a
    fork's ``table`` is its parent's, an exec's the one it enters) tell the table each
    process ran under before: :meth:`placed` learns there what such a record names.  (A log
    cannot tell the memfd from a file whose name really ends so, whose table a run enters:
    its calls are learned into the caller's table too -- a policy without its table runs it
    there, so the next run does them still.)"""

    __slots__ = ("_of",)

    def __init__(self) -> None:
        self._of: dict[int, str] = {}  # pid -> the table its process runs under

    def _place(self, table: object, before: str | None) -> str:
        name = str(table or MAIN)
        return (before or MAIN) if name.endswith(_DELETED) else name

    def see(self, record: Mapping[str, Any]) -> None:
        """Follow a process record (fork, vfork, clone, exec) of the log."""
        pid = record.get("pid")
        if not isinstance(pid, int):
            return
        event = record.get("event")
        if event in (Event.FORK, Event.VFORK, Event.CLONE):
            parent = record.get("parent")
            self._of[pid] = self._place(record.get("table"), self._of.get(parent)
                                        if isinstance(parent, int) else None)
        elif event == Event.EXEC:
            self._of[pid] = self._place(record.get("table"), self._of.get(pid))

    def placed(self, obs: Observation, record: Mapping[str, Any]) -> Observation:
        """``obs`` (of ``record``), in the table its process runs under."""
        if not obs.table.endswith(_DELETED):
            return obs
        pid = record.get("pid")
        table = self._place(obs.table, self._of.get(pid) if isinstance(pid, int) else None)
        return dataclasses.replace(obs, table=table)


# ---------------------------------------------------------------------------------------------
# Options and results


@dataclass(frozen=True)
class LearnOptions:
    """How to learn.  ``env`` gives ``~``, ``$CWD`` and ``$TMPDIR`` (the traced program's
    environment): paths below them are written with the variable (safe and broad), so the
    policy holds for the program run from another directory or by another user."""

    generalize: str = "safe"
    default: Action = Action.NEVER
    no_alias: bool = False
    env: Mapping[str, str] | None = None
    description: str | None = None
    facts: SystemFacts | None = None  # the category roots found on the running system
    #: the run's process and thread ids: a number in a name the run made that is one of them
    #: is the pid the program wrote into it (configure's ``conf$$.file``), another next run
    pids: frozenset[int] = frozenset()
    #: the run's first and last record (epoch seconds): a number in a name that is the run's
    #: own time (``generalize.epoch_stamps``: ``build-$(date +%s%N).log``) is a timestamp,
    #: another next run
    times: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.generalize not in GENERALIZE_LEVELS:
            raise ValueError(f"generalize must be one of {', '.join(GENERALIZE_LEVELS)}")


@dataclass(frozen=True, slots=True)
class Generalization:
    """One widening the learner chose: which paths became which pattern, and why."""

    table: str
    kind: str
    pattern: str
    calls: tuple[str, ...]
    count: int
    examples: tuple[str, ...]
    fresh: bool = False  # the rule covers only files the run makes (``fresh = true``)


@dataclass
class LearnReport:
    """A learned policy and what went into it (for the summary on stderr)."""

    policy: Policy
    observations: int = 0
    generalizations: list[Generalization] = field(default_factory=list)
    unrepresentable: list[Observation] = field(default_factory=list)
    unsafe: dict[str, int] = field(default_factory=dict)
    exact_sensitive: list[str] = field(default_factory=list)
    #: older directories moved onto a name whose rules grant more below it than the run did
    #: to the older files there: not widened, the next run's move refused (red team 81;
    #: learn._linked_grants)
    older_unwidened: list[str] = field(default_factory=list)
    #: (shape, files): content-hash shapes whose write rule is not fresh, the run having
    #: rewritten more than HASH_REWRITE_CAP files of them (learn._hash_writes)
    rewritten_hashes: list[tuple[str, int]] = field(default_factory=list)
    failed_execs: list[Observation] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Path generalization


@dataclass
class _Pattern:
    """One path use, generalized: ``text`` is the glob (``literal`` when it names exactly
    the one path), ``kind`` why it was widened (None: exact).  ``fresh``: a part of the glob
    stands for a name the program chose -- a generated name, a directory moved (``DIR/**``)
    --, so its literal rest is the program's choice too (red team 15, gap #30): its rule
    covers only what the run makes (``fresh = true``).  A content hash is kept as its shape
    instead (each hex digit a class, ``[0-9a-f]``: ``hashed``), which covers the next run's
    hashes and no name of another shape; its reads cover older files too (git's objects),
    its writes are made fresh by :func:`_hash_writes`, the files the next run writes again
    each granted by name (``exact``)."""

    text: str
    literal: bool
    kind: str | None = None
    fresh: bool = False
    hashed: bool = False  # a part is a content hash's shape (_hash_writes decides its fresh)
    exact: bool = False   # a hash-shaped file the next run rewrites: its own literal rule


@dataclass
class _Context:
    """Facts across the whole run that generalizing one path needs."""

    options: LearnOptions
    writer: PathWriter
    temp: dict[str, str] = field(default_factory=dict)   # created path -> its name's glob
    #: a directory -> what the run did to it and to older files below it (_older_uses)
    older_uses: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    fanout: set[str] = field(default_factory=set)         # 2-hex directories of hash names
    made: set[str] = field(default_factory=set)           # every path the run created
    #: paths the run made by a call its next run repeats as a write of the file then there:
    #: an open with O_CREAT and no O_EXCL (npm's cacache appends to its index files), the new
    #: name of a rename (a cache entry replaced) -- not mkdir, link, symlink, O_EXCL, which
    #: make a name only anew (an older one: EEXIST, covered by a fresh rule)
    rewritable: set[str] = field(default_factory=set)
    #: paths the run made that a call used before it made them (``pytest-current``, the
    #: symlink pytest removes and makes again): that call met an older file, as the next
    #: run's will, which a fresh rule does not cover -- such a path keeps its own rule
    older_first: set[str] = field(default_factory=set)
    #: paths the run made and left there (never removed nor renamed away): the next run
    #: meets each as an older file -- pytest's ``$TMPDIR/pytest-of-USER``, made on the first
    #: run --, which a fresh rule does not cover; such a path keeps its own rule
    kept: set[str] = field(default_factory=set)
    #: paths the run made with contents of its own: opened with ``O_CREAT``, made by
    #: ``mkdir``, or given a new name (``rename``, ``link``) while they were such a path --
    #: not a link or move of an older file (its contents are not the run's), not a symlink
    #: or a device node (what it reads is another file's)
    own: set[str] = field(default_factory=set)
    #: directories the run made (mkdir, mkdirat)
    made_dirs: set[str] = field(default_factory=set)
    #: older paths named as the run's counted ones (:meth:`_count_older`) -> their shape
    older_counted: dict[str, str] = field(default_factory=dict)
    #: older paths named as one of a template the run made a name of beside them
    #: (:meth:`_older_generated`) -> their name's shape
    older_generated: dict[str, str] = field(default_factory=dict)
    #: directories that hold a counter's names and nothing else but what the run made
    #: (:meth:`_counters_own`): pytest's ``$TMPDIR/pytest-of-USER``
    counter_dirs: set[str] = field(default_factory=set)
    #: the names :meth:`_count_on` found to be a counter's (``pytest-N``)
    counted: set[str] = field(default_factory=set)
    #: the names each directory the run listed held (:func:`_listed`), and the directories
    #: it listed: what was there when the run looked
    listed: dict[str, set[str]] = field(default_factory=dict)
    #: the tables each table's processes exec'd into (its child programs' tables)
    exec_children: dict[str, set[str]] = field(default_factory=dict)
    #: path -> the tables whose calls made the name (Observation.created)
    made_by: dict[str, set[str]] = field(default_factory=dict)
    #: paths the run made by a call that chose the name to be new (O_EXCL, mkdir, link,
    #: symlink): the next run's call fails with EEXIST unless something removes it first
    made_new: set[str] = field(default_factory=set)
    #: paths made as mkstemp(3) and mkdtemp(3) make them (a file O_EXCL 0600, a directory
    #: 0700): a template's X's, a run of a fixed length whatever its characters
    #: (``generalize.written_glob``)
    templated: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, observations: list[Observation], options: LearnOptions) -> _Context:
        """What the run did with each name: created (to be new: O_EXCL, mkdir), removed or
        renamed away, in a temporary directory -- the evidence a generated name needs
        besides its shape (``generalize.generated_name``)."""
        writer = PathWriter.from_env(options.env, variables=options.generalize != "none")
        ctx = cls(options, writer)
        removed: set[str] = set()
        created: dict[str, bool] = {}
        mkstemp_made: set[str] = set()
        mkstemp_table: dict[str, str] = {}  # (the table that made each)
        libc_made: set[str] = set()  # files of them opened without O_NOFOLLOW: C's mkstemp
        mkdtemp_made: dict[str, str] = {}  # directories of them (mode 0700) -> the table
        renamed: dict[str, str] = {}  # path -> the name it got in its own directory
        renamed_to: set[str] = set()  # the new names of renames
        passed: set[str] = set()  # names a file was renamed to and away from: a step only
        used: set[str] = set()  # names used while the run had not made them (yet)
        met: set[str] = set()  # those of them a use found a file at (Observation.absent)
        #: every way a call of the run made each name hold a file (:meth:`_own_contents`)
        makers: dict[str, set[str]] = {}
        moved_below: set[str] = set()  # "DIR/" of every directory a move took or made
        #: directory moves that may leave a name of the run's own below their new name
        #: (:func:`_own_moves`): (old, new)
        own_moves: list[tuple[str, str]] = []
        for obs in observations:
            if obs.syscall.startswith("rename") and len(obs.paths) == 2:
                old, new = obs.paths[0].path, obs.paths[1].path
                if old.rpartition("/")[0] == new.rpartition("/")[0]:
                    renamed[old] = new.rpartition("/")[2]
                if old in renamed_to:
                    passed.add(old)
                renamed_to.add(new)
            # (RENAME_EXCHANGE: each name holds the other's file now, of the run's own
            # contents as that one was)
            exchange = len(obs.paths) == 2 and obs.syscall in aliases.TWO_PATH_CALLS and \
                aliases.renames(obs.syscall, obs.paths[1].role, obs.selector)
            if exchange:
                for arg, other in zip(obs.paths, obs.paths[::-1], strict=True):
                    makers.setdefault(arg.path, set()).add(other.path)
            if obs.directories:
                # (a directory moved: the names below it hold nothing of the run's own --
                # another tree renamed there is none -- but a move :func:`_own_moves` finds
                # of nothing but the run's own)
                if exchange or obs.older_inside or len(obs.paths) != 2 or \
                        obs.paths[0].role != "old":
                    moved_below.update(arg.path.rstrip("/") + "/" for arg in obs.paths)
                else:
                    own_moves.append((obs.paths[0].path, obs.paths[1].path))
            for arg in obs.paths:
                if arg.path not in created and arg.role not in obs.created:
                    used.add(arg.path)
                    if arg.role not in obs.absent:
                        met.add(arg.path)
                if arg.path in created and (obs.syscall in aliases.REMOVE_CALLS or (
                        arg.role == "old" and obs.syscall.startswith("rename"))):
                    # (a name removed before the run made it was an older file's: no
                    # temporary's life -- `rm -rf clone && git clone ... clone` removed the
                    # last clone's hooks, and the new ``pre-commit.sample`` was taken for
                    # mkstemp's 6 after a separator, ``pre-commit.*``; and the name is left
                    # there for the next run to meet: kept)
                    removed.add(arg.path)
                if arg.role in obs.created and not exchange:
                    # (what the call made the name hold: a file of the run's own contents,
                    # or another's -- a link or move of an older file, a symlink, a device
                    # node: a hard link to a secret renamed onto the run's own output was
                    # read by name on the next run, review 20 --; every call's, in no order:
                    # _own_contents)
                    if obs.syscall in aliases.OPEN_CALLS or obs.syscall in _MKDIR_CALLS:
                        source = _OWN_CONTENTS
                    elif obs.syscall in aliases.TWO_PATH_CALLS and len(obs.paths) == 2:
                        source = obs.paths[0].path
                    else:
                        source = _FOREIGN
                    makers.setdefault(arg.path, set()).add(source)
                if arg.role in obs.created:
                    created[arg.path] = created.get(arg.path, False) or obs.exclusive
                    if obs.syscall in ("mkdir", "mkdirat"):
                        ctx.made_dirs.add(arg.path)
                    if obs.syscall in aliases.MOVE_CALLS or (
                            obs.syscall in aliases.OPEN_CALLS and not obs.exclusive):
                        ctx.rewritable.add(arg.path)
                    if obs.mkstemp:
                        mkstemp_made.add(arg.path)
                        mkstemp_table[arg.path] = obs.table
                        if obs.open_flags is None:
                            mkdtemp_made[arg.path] = obs.table
                        elif not obs.open_flags & os.O_NOFOLLOW:
                            libc_made.add(arg.path)
                comps = components(arg.path)
                for i in range(1, len(comps)):
                    if HASH_NAME.fullmatch(comps[i]):
                        # the 2-hex directories it is filed under, every level of them
                        # (git's objects/45/, npm's cache content-v2/sha512/d1/75/)
                        j = i
                        while j > 0 and FANOUT.fullmatch(comps[j - 1]):
                            ctx.fanout.add("/" + "/".join(comps[:j]))
                            j -= 1
        ctx.made = set(created)
        ctx.made_new = {path for path, exclusive in created.items() if exclusive}
        ctx.listed = _listed(observations)
        for obs in observations:
            if obs.syscall in aliases.EXEC_CALLS and obs.paths and not obs.failed:
                ctx.exec_children.setdefault(obs.table, set()).add(obs.paths[0].path)
            for arg in obs.paths:
                if arg.role in obs.created:
                    ctx.made_by.setdefault(arg.path, set()).add(obs.table)
        ctx.own = _own_contents(makers, tuple(moved_below | _own_moves(
            own_moves, makers, ctx.made_dirs, moved_below)))
        ctx.kept = ctx.made - removed
        # (a use that met no file met no older one -- ``rm -f o/t.tmp`` before the atomic
        # save writes it: review 66 --, unless the run leaves its own file at the name, which
        # the next run's same use meets: ``rm -rf build; mkdir build`` removes the last run's)
        ctx.older_first = (met & ctx.made) | (used & ctx.kept)
        if mkdtemp_made:
            # a directory made 0700 by a program that is no Python interpreter was made by
            # C's mkdtemp (mktemp -d, a configure's "confXXXXXX"), or another library's --
            # none draws Python's 8: its 6 lowercase letters and digits (1 in 26) were
            # "conf" cut to "co" and Python's 8, a fresh "co*" wider than the run used
            python = {obs.table for obs in observations
                      if any(_PYTHON_STARTS.search(arg.path) for arg in obs.paths)}
            libc_made.update(path for path, table in mkdtemp_made.items()
                             if table not in python)
        ctx.templated = mkstemp_made
        if options.generalize == "none":
            return ctx
        # a file made so by a Perl interpreter's table (one that read Perl's own modules):
        # File::Temp's default template is the whole name (generalize.generated_name)
        perl = {obs.table for obs in observations
                if any(_PERL_STARTS.search(arg.path) for arg in obs.paths)}
        perl_made = {path for path, table in mkstemp_table.items() if table in perl}
        #: names whose glob took a number for one of the run's pids -> their glob without
        pid_read: dict[str, str] = {}
        for path, exclusive in created.items():
            parent, _, name = path.rpartition("/")
            if not name or is_sensitive(path, writer.home) or \
                    ctx._planted_outside(path):
                continue  # (written exactly: gap #32)
            in_tmpdir = (parent or "/") in writer.tmpdirs
            gone = path in removed
            if (exclusive or path in passed) and (gone or in_tmpdir):
                evidence = Evidence.TEMPORARY  # (git's .tmp-PID-pack-HASH.pack: a step)
            elif exclusive or gone or in_tmpdir or holds_pid(name, options.pids):
                evidence = Evidence.CREATED
            else:
                evidence = Evidence.NONE
            glob = generated_name(name, evidence, in_tmpdir=in_tmpdir,
                                  renamed_to=renamed.get(path), mkstemp=path in mkstemp_made,
                                  libc=path in libc_made, pids=options.pids,
                                  perl=path in perl_made)
            if glob is not None:
                ctx.temp[path] = glob
                if holds_pid(name, options.pids):
                    without = generated_name(name, evidence, in_tmpdir=in_tmpdir,
                                             renamed_to=renamed.get(path),
                                             mkstemp=path in mkstemp_made,
                                             libc=path in libc_made, perl=path in perl_made)
                    if without is not None and without != glob:
                        pid_read[path] = without
        if pid_read:
            ctx._template_over_pid(pid_read)
        ctx._count_on(observations, [p for p, exclusive in created.items() if exclusive])
        ctx._count_older(observations)
        ctx._older_generated(observations)
        ctx._counters_own(observations)
        return ctx

    def _template_over_pid(self, pid_read: dict[str, str]) -> None:
        """A number a name's glob took for one of the run's pids, where the name is one of a
        template its directory's other generated names follow without a pid (learn24):
        cmake's ``link.txt.tmp9573f`` -- 5 random hex digits, ``9573`` a pid of the run --
        was ``link.txt.tmp[1-9]*f`` beside ``build.make.*``, ``flags.make.*``..., and every
        next run's ``link.txt.tmpXXXXX`` was refused (cmake's generate step failed).  Where
        two or more names of the directory, no pid in them, have a glob that is the name's
        own text up to a ``*`` standing for as many characters as this one's does, the
        name takes that reading.  Names whose siblings hold pids too (configure's
        ``conf$$.file``, ``conf$$subs.sh``) keep theirs."""
        def reading(path: str, glob: str) -> tuple[str, int] | None:
            name = path.rpartition("/")[2]
            if not glob.endswith("*") or any(c in glob[:-1] for c in "*?[]{}\\"):
                return None
            head = glob[:-1]
            if not name.startswith(head) or len(name) == len(head):
                return None
            return (head[len(head.rstrip(".-_~#")):] or "", len(name) - len(head))
        siblings: dict[tuple[str, tuple[str, int]], int] = defaultdict(int)
        for path, glob in self.temp.items():
            if path in pid_read:
                continue
            found = reading(path, glob)
            if found is not None and found[0]:
                siblings[(path.rpartition("/")[0], found)] += 1
        for path, without in pid_read.items():
            found = reading(path, without)
            if found is not None and found[0] and \
                    siblings.get((path.rpartition("/")[0], found), 0) >= 2:
                self.temp[path] = without

    def below_generated(self, path: str) -> bool:
        """Whether ``path`` is, or lies below, a name the run made whose glob is a
        generator's (``temp``): a path another run spells otherwise."""
        prefix = ""
        for comp in components(path):
            prefix += "/" + comp
            if prefix in self.temp:
                return True
        return False

    def _planted_outside(self, path: str) -> bool:
        """Whether ``path`` names something that runs later (generalize.RUNS_LATER) in a
        directory the run did not make: a glob of it would let the next run make such a
        name where the user works (gap #32), so it is learned exactly."""
        directory = planted_at(path)
        return directory is not None and directory not in self.made

    def _count_on(self, observations: list[Observation], made_new: list[str]) -> None:
        """Names the run made new (``mkdir``, ``O_EXCL``) as the next of a counter: a head
        ending in a separator, a number, a tail, beside an older name of the same head and
        tail and another number the run saw (listed, looked at) -- pytest's ``pytest-2``
        made next to ``pytest-1``.  A number of 3 digits or more is one by shape alone
        (``generated_name``); a shorter one is a version as often (``lib64``), but not beside
        older ones of the same head that the run did not make -- or beside the one before it
        that the run made too (``pytest-1`` after ``pytest-0``, two pytest runs from a
        fresh ``$TMPDIR``: the next run makes ``pytest-2``).  Its glob is ``head*tail``,
        fresh (the next run's own number)."""
        heads: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # -> paths made
        numbers: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        for path in made_new:
            parent, _, name = path.rpartition("/")
            found = _COUNTED.fullmatch(name)
            if path not in self.temp and found is not None and \
                    not is_sensitive(path, self.writer.home) and \
                    not self._planted_outside(path):
                heads[(parent, found["head"], found["tail"])].append(path)
                numbers[(parent, found["head"], found["tail"])].add(int(found["number"]))
        if not heads:
            return
        listed = _listed(observations)
        for key, counted in numbers.items():
            parent, head, tail = key
            others = [e for e in listed.get(parent, ())
                      if _counts_as(e, head, tail) and f"{parent}/{e}" not in self.made]
            if any(n + 1 in counted for n in counted) or (
                    # (the first of a counter: 0 or 1 made after listing a directory that held
                    # no older name of it -- pytest's first run in a $TMPDIR, ``pytest-0`` --
                    # after a word and a dash or underscore: not a version's last part, as
                    # pip's ``tinypkg-0.1.dist-info``)
                    parent in listed and not others and min(counted) <= 1
                    and _FIRST_COUNTED.search(head) is not None):
                for path in heads[key]:
                    self.temp[path] = escape(head) + "*" + escape(tail)
                    self.counted.add(path)
        for obs in observations:
            names = [arg.path.rpartition("/") for arg in obs.paths]
            if obs.listing is not None and obs.paths:
                names += [(obs.paths[0].path, "/", e.rstrip("/")) for e in obs.listing]
            for parent, _, name in names:
                found = _COUNTED.fullmatch(name)
                if found is None or f"{parent}/{name}" in self.made:
                    continue
                for path in heads.get((parent, found["head"], found["tail"]), ()):
                    self.temp[path] = escape(found["head"]) + "*" + escape(found["tail"])
                    self.counted.add(path)

    def _counters_own(self, observations: list[Observation]) -> None:
        """The directories that are a counter's own (:attr:`counter_dirs`): the run made a
        counted name there (``pytest-N``, ``head*tail`` in :attr:`temp`), listed the directory,
        and every name it held was one of the counter's or one the run made (pytest's
        ``pytest-current``).  The tool keeps its older runs there, and a later run removes
        them -- pytest from its fourth on renames the oldest ``pytest-K`` to
        ``garbage-UUID`` and removes that tree, which a run learned before its fourth never
        did: the next runs were refused.  A use below such a directory is learned as the
        directory's tree (``DIR/**``, not fresh): no more than the tool's own directory,
        which no variable names (``$TMPDIR``, ``$CWD``, ``~`` themselves are never one), and
        where a learned policy is used a writing glob still reaches no sensitive name and no
        name something runs later (LearnedGlob)."""
        listed = _listed(observations)
        roots = {directory for directory, _ in self.writer.prefixes} | {"/"}
        # (only a counter _count_on found: a generated name that ends in a number --
        # Python's ``NAME.pyc.140598365737840``, renamed onto NAME.pyc -- is none)
        for path in sorted(self.counted):
            parent, _, name = path.rpartition("/")
            found = _COUNTED.fullmatch(name)
            if found is None or parent in self.counter_dirs or parent not in listed \
                    or parent in roots or len(components(parent)) < 2 \
                    or is_sensitive(parent, self.writer.home) or planted_at(path) is not None:
                continue
            if all(_counts_as(e, found["head"], found["tail"]) or f"{parent}/{e}" in self.made
                   for e in listed[parent]):
                self.counter_dirs.add(parent)

    def _count_older(self, observations: list[Observation]) -> None:
        """Older names of a counter the run counts on (pytest's ``pytest-N``: it makes the
        next, and renames away and removes the oldest, made by runs before): the run made
        ``pytest-711`` (``pytest-*``, fresh) and removed ``pytest-706``, and the next run
        removes ``pytest-710``, the learning run's own, which no fresh rule covers.  A name
        the run did not make, in a directory where it made one of the same head and tail
        around a number, is the number's shape (each digit ``[0-9]``, as many): older
        runs' directories, as many digits long, and no other name."""
        counted: set[tuple[str, str, str]] = set()  # (parent, head, tail) of made numbers
        for path, glob in self.temp.items():
            parent, _, name = path.rpartition("/")
            found = _COUNTED.fullmatch(name)
            if found is not None and glob == escape(found["head"]) + "*" + escape(
                    found["tail"]):
                counted.add((parent, found["head"], found["tail"]))
        if not counted:
            return
        for obs in observations:
            for arg in obs.paths:
                comps = components(arg.path)
                for depth in range(1, len(comps) + 1):
                    prefix = "/" + "/".join(comps[:depth])
                    if prefix in self.made or prefix in self.older_counted:
                        continue
                    found = _COUNTED.fullmatch(comps[depth - 1])
                    if found is not None and (prefix.rpartition("/")[0], found["head"],
                                              found["tail"]) in counted:
                        self.older_counted[prefix] = escape(found["head"]) + \
                            "[0-9]" * len(found["number"]) + escape(found["tail"])


    def _older_generated(self, observations: list[Observation]) -> None:
        """Older names of a template the run made a name of (rustc's incremental sessions:
        the run makes ``s-TIME-RANDOM.lock`` and ``s-TIME-RANDOM-working``, renamed
        ``s-TIME-RANDOM-SVH`` when done, and opens, links from and removes the last
        runs' -- the next run's last is the learning run's own, which no fresh rule
        covers: 11 refusals a run, the build failed).  A name the run did not make, in a
        directory where it made one of a generated glob whose shape
        (``generalize.generated_shape``: the literal text, each random run as as many
        ``[0-9A-Za-z_]``) matches it, is that shape, not fresh: older runs' names of the
        template, as long, and no other name (``s-abc``, a session of another length, the
        directory's other files)."""
        shapes: dict[str, set[str]] = defaultdict(set)  # parent -> shapes of names made
        for path, glob in self.temp.items():
            parent, _, name = path.rpartition("/")
            shape = generated_shape(name, glob)
            if shape is not None and not is_sensitive(path, self.writer.home):
                shapes[parent].add(shape)
        if not shapes:
            return
        compiled = {parent: [(shape, PathGlob("/" + shape)) for shape in sorted(found)]
                    for parent, found in shapes.items()}
        for obs in observations:
            for arg in obs.paths:
                comps = components(arg.path)
                for depth in range(1, len(comps) + 1):
                    prefix = "/" + "/".join(comps[:depth])
                    parent = prefix.rpartition("/")[0]
                    if parent not in compiled or prefix in self.made or \
                            prefix in self.older_generated:
                        continue
                    shape = next((text for text, glob in compiled[parent]
                                  if glob.matches("/" + comps[depth - 1])), None)
                    if shape is not None:
                        self.older_generated[prefix] = shape


#: what every CPython start reads (its codecs): a table with such a read is a Python
#: interpreter's, whatever its program's name (a script's, ``bin/pip``)
#: what every Perl program reads: File::Temp itself (a Perl interpreter's table)
_PERL_STARTS = re.compile(r"/perl[^/]*/(?:[0-9.]+/)?File/Temp\.pm$")
_PYTHON_STARTS = re.compile(r"/python3[^/]*/encodings/__init__\.(?:py|pyc)$|"
                            r"/encodings/__pycache__/__init__\.[^/]*\.pyc$")

#: a name of a counter: a head ending in a separator, a number, a tail (pytest-711)
_COUNTED = re.compile(r"(?P<head>.*[-._])(?P<number>[0-9]+)(?P<tail>[^0-9]*)", re.DOTALL)
#: the end of a head whose number alone, beside no older one, is the first of a counter
#: (``pytest-``), not a version's (``tinypkg-0.``, ``lib-2.``)
_FIRST_COUNTED = re.compile(r"[^0-9.\-_][-_]$")


def _counts_as(name: str, head: str, tail: str) -> bool:
    """Whether ``name`` is a name of the counter ``head``N``tail``."""
    found = _COUNTED.fullmatch(name)
    return found is not None and (found["head"], found["tail"]) == (head, tail)


def _listed(observations: list[Observation]) -> dict[str, set[str]]:
    """The names each directory the run listed held (every listing of it)."""
    out: dict[str, set[str]] = defaultdict(set)
    for obs in observations:
        if obs.listing is not None and obs.paths:
            out[obs.paths[0].path].update(e.rstrip("/") for e in obs.listing)
    return dict(out)


def _use_pattern(use: _PathUse, ctx: _Context) -> _Pattern:
    """A path use, generalized (:func:`_generalize_path`) -- but a use that makes or changes
    a name something runs later (``generalize.RUNS_LATER``: ``.git/hooks/pre-commit``,
    ``conftest.py``...) in a directory the run did not make is the one path, written with
    the variables (a repository's hooks are its own wherever it is): a glob's new names
    would be the program's choice (gap #32).  Where a learned policy is used its writing
    globs reach no such name but by a ``fresh`` rule in a directory the run made
    (``LearnedGlob``): in one the run made, a fresh glob stays (cmake's try-compile
    directory's ``Makefile``).  Reads and looks generalize as any path (reading plants
    nothing).  A use of an older file where the run had made the name before
    (``_PathUse.older``: pip removing its uninstall stash ``~ackaging``, the older
    ``packaging`` renamed there) is the one path too: a fresh glob -- the generated name's
    -- covers only what the next run makes, and its next run's call meets an older file
    again -- unless the older file met is below a directory the run made under a generated
    name (:func:`_moved_into_generated`)."""
    named = _generalize_path(use.path, ctx)
    if use.older and named.fresh:
        return _moved_into_generated(use.path, ctx, use.cls == "fsread" or (
            use.syscall in aliases.REMOVE_CALLS)) or \
            _Pattern(ctx.writer.text(use.path), True)
    if named.literal or ctx.options.generalize == "none" or not writes((use.cls,)) or \
            planted_at(use.path) is None or (named.fresh and not ctx._planted_outside(
                use.path)):
        return named
    return _Pattern(ctx.writer.text(use.path), True)


def _removal_key(use: _PathUse, pattern: _Pattern) -> str:
    """The rule key of a use: its own (class or call), but a removal of an older file moved
    into a temporary directory the run made (``_MOVED_IN``) is its system call's, a rule
    that removes only (``generalize.plants``).  pip's uninstall stash removes there the
    ``__pycache__/*.pyc`` of the last install, a name something runs later, which a glob
    that may write (``fswrite``) never matches where it is used: learned so, the next run's
    ``unlink`` was refused 7 times and the install failed.  A removal plants nothing, and
    the rule's shape (the stash's template, the file's own name) reaches no other file;
    the move into the stash is the generated name's fresh rule's (the run made the
    directory)."""
    if pattern.kind == _MOVED_IN and use.syscall in aliases.REMOVE_CALLS:
        return use.syscall
    return use.key


def _removed_again(uses: list[_PathUse], ctx: _Context) -> list[_PathUse]:
    """What a program's removal of a name the run then made, and left there, meets on the
    next run: the run's own tree of that name.  ``rm -rf x && mkdir x && tar xzf a.tgz -C
    x`` learned with no ``x`` removes nothing (``unlinkat`` meets ENOENT); the next run's
    ``rm`` lists ``x`` and removes what the last run made in it, and was refused its open of
    ``x`` (2 refusals a run, the script stopped).  The program is granted, by name, the
    removal (the system calls it removed the name with: a rule that only removes,
    ``generalize.plants``) of each path the run made below it and left there, and the
    reading (a listing) of each directory the run made there, the name's own too, and the
    ``fstatfs`` a walk asks of each (the caller's) -- no other name below it, nothing
    written.  A name the run removed after it made it was
    its own already (a fresh rule's); a name the run did not make is no tree of its.  A
    content hash there (git's objects and their 2-hex directories) is removed by its shape,
    not fresh (:func:`_hash_writes`): the next run's tree holds the last run's objects,
    other hashes than the learning run's (``rm -rf repo clone && ... git commit``: 10
    refusals a run after a source edit, learn23) -- a rule that only removes, below the
    tree the run made."""
    removals: dict[str, set[str]] = defaultdict(set)
    for use in uses:
        if use.syscall in aliases.REMOVE_CALLS and use.path in ctx.older_first and \
                use.path in ctx.kept:
            removals[use.path].add(use.syscall)
    if not removals:
        return []
    template = next(u for u in uses if u.path in removals)
    had = {(u.cls, u.path) for u in uses}  # (what the program did itself keeps its rule)
    read_key = "openat" if ctx.options.no_alias else "fsread"
    out: list[_PathUse] = []
    for top, calls in removals.items():
        below = sorted(p for p in ctx.kept if p.startswith(top + "/"))
        for path in below:
            out += [dataclasses.replace(template, key=call, cls="fswrite", part=None,
                                        path=path, syscall=call, argv=None, initial=False,
                                        older=False, again=True)
                    for call in sorted(calls) if ("fswrite", path) not in had]
        for directory in [top, *below]:
            if directory in ctx.made_dirs and ("fsread", directory) not in had:
                out.append(dataclasses.replace(template, key=read_key, cls="fsread",
                                               part=None, path=directory, syscall="openat",
                                               argv=None, initial=False, older=False))
    return out


def _moved_into_generated(path: str, ctx: _Context, plants_nothing: bool = False
                          ) -> _Pattern | None:
    """The pattern of a call that met an older file below a directory the run made under a
    generated name -- pip's uninstall stash, which moves each file it removes into
    ``$TMPDIR/pip-uninstall-XXXXXXXX/`` and removes them there at the end; rustc's
    incremental session, which links every file of the last one into its new
    ``s-TIME-RANDOM-working/`` and reads, replaces and removes them there (learned exactly,
    11 refusals a run and the build failed: learn18) -- the directory's name as its shape
    (``generated_shape``: the literal text and each random run as as many characters of
    ``[0-9A-Za-z_]``), the rest exact, not fresh.  Learned exactly, the next
    run's stash (another name) was refused its files (``pip install -e .`` run again: the
    move of the older ``__editable___demo_0_1_finder.py``).  A ``*`` there would be fresh's
    to take (the prefix was the program's choice); the shape, not fresh, reaches the next
    run's directory of the template and no other name -- not the stash's other files, not
    another directory of the prefix.  ``plants_nothing``: the call only reads or removes,
    and the name it met may itself be generated -- an older file the run linked or moved
    to a name of its own: rustc links its session's object files to
    ``deps/NAME-HASH.CGU.RANDOM.rcgu.o``, reads them to link the program and removes them
    (the build failed on the next run: learn18); the shape reaches only names of the
    template.  Outside a temporary directory a template is one with literal text of its
    own (2 characters or more): ``~*`` -- pip's ``~ackaging``, its stash of ``packaging``
    made beside it, the same name on the next run -- is no generator's.  None: the path
    keeps its exact rule (the name it met is itself generated and the call writes it; or
    the directory is none of those)."""
    comps = components(path)
    parts = [escape(c) for c in comps]
    prefix = ""
    shaped = 0
    for i, comp in enumerate(comps):
        parent = prefix or "/"
        prefix += "/" + comp
        glob = ctx.temp.get(prefix)
        if glob is None:
            continue
        shape = generated_shape(comp, glob)
        literal = len(re.sub(r"\\(.)|\*", r"\1", glob))
        if (i == len(comps) - 1 and not plants_nothing) or shape is None or \
                (parent not in ctx.writer.tmpdirs and literal < 2) or \
                is_sensitive(path, ctx.writer.home):
            return None
        parts[i] = shape
        shaped += 1
    if shaped != 1:
        return None
    return _Pattern(ctx.writer.text(path, parts), False, _MOVED_IN)


#: a number as the kernel names a process, a terminal, a loop device: no leading zero
_NUMBER = re.compile(r"0|[1-9][0-9]{0,6}")


def _others(parts: list[str], i: int) -> int:
    """How many alternatives a path's texts but the ``i``-th make (of
    generalize.PATH_ALTERNATIVES: a path of several numbered names made more alternatives than
    a pattern may have, and -A failed, writing no policy -- review 36)."""
    return brace_alternatives("".join(parts[:i])) * brace_alternatives("".join(parts[i + 1:]))


def _share(numbered: int) -> int:
    """Each numbered name's share of generalize.PATH_ALTERNATIVES in a path of ``numbered``
    such names: the most alternatives that many names may each have (learn38)."""
    share = PATH_ALTERNATIVES
    if numbered > 1:
        share = 1
        while (share + 1) ** numbered <= PATH_ALTERNATIVES:
            share += 1
    return share


def _generalize_path(path: str, ctx: _Context) -> _Pattern:
    """One resolved path to a pattern (see docs/learning.md for each rule)."""
    writer = ctx.writer
    pseudo = pseudo_pattern(path)
    if pseudo is not None:
        return _Pattern(pseudo, False, "descriptors")
    if path.endswith(_DELETED) and path[:-len(_DELETED)]:
        # a removed file reached by a descriptor -- a generated name's file the run made and
        # removed (mkstemp, unlink, a reopen through /proc/self/fd), or a helper the program
        # wrote, removed and ran through /proc/self/fd (a removed file's program is its
        # caller's table's: learn42): such a call is decided by both names
        # (decode.former_names), so the rule holds both -- the name's shape, with and
        # without the kernel's `` (deleted)`` (the exact ``NAME (deleted)`` met no name of
        # the next run's, and the next run's call was refused by the name the rule did not
        # hold); the shape matches no more than the name (a ``*`` took the suffix in:
        # learn36).  A generated name's is its fresh rule, which covers only such a file of
        # the next run's own (DecodedCall.fresh), and keeps its own literalness.
        name = path[:-len(_DELETED)]
        former = _generalize_path(name, ctx)
        if former.text.endswith("*"):
            return former
        generated = former.fresh and name in ctx.temp
        return dataclasses.replace(former, text=former.text + "{," + escape(_DELETED) + "}",
                                   literal=former.literal if generated else False)
    if ctx.options.generalize == "none" or is_sensitive(path, writer.home):
        return _Pattern(writer.text(path, expand=False), True)
    comps = components(path)
    parts: list[str] = [escape(c) for c in comps]
    kinds: list[str] = []
    # (each number the shape of one, 1 to 7 digits, not "*": /proc/*/status is
    # /proc/sys/status and /proc/self/status too, /dev/pts/* is /dev/pts/ptmx: learn37)
    if len(comps) >= 2 and comps[0] == "proc" and _NUMBER.fullmatch(comps[1]):
        parts[1] = number_shape(comps[1], pid=True)
        if len(comps) >= 4 and comps[2] == "task" and _NUMBER.fullmatch(comps[3]):
            parts[3] = number_shape(comps[3], pid=True)
        kinds.append("per-process /proc")
    if len(comps) == 3 and comps[:2] == ["dev", "pts"] and _NUMBER.fullmatch(comps[2]):
        parts[2] = number_shape(comps[2], pid=True)
        kinds.append("terminals")
    if len(comps) == 2 and comps[0] == "dev" and comps[1][:4] == "loop" and \
            _NUMBER.fullmatch(comps[1][4:]):
        # the loop device a run is given (losetup -f, mount -o loop) is the first one free then
        parts[1] = "loop" + number_shape(comps[1][4:], pid=True)
        kinds.append("loop devices")
    for directory in ctx.counter_dirs:
        if path.startswith(directory + "/"):
            return _Pattern(writer.text(directory, tail="/**"), False, _COUNTERS_OWN)
    prefix = ""
    # (a path of several numbered names: each its share of the path's room of alternatives,
    # and what the names before it left -- the first took it all, and the last were "*":
    # review 36, learn38)
    dated = [shaped_glob(comp, ctx.options.times, ctx.options.pids) for comp in comps]
    whole: list[int] = []  # (each dated or generated name's alternatives at its whole shape)
    held = ""
    for comp, shaped in zip(comps, dated, strict=True):
        held += "/" + comp
        if shaped is not None:
            whole.append(brace_alternatives(shaped))
        elif held in ctx.temp:
            whole.append(brace_alternatives(written_glob(comp, ctx.temp[held],
                                                         held in ctx.templated)))
    share = PATH_ALTERNATIVES if math.prod(whole) * brace_alternatives("".join(parts)) <= \
        PATH_ALTERNATIVES else _share(sum(1 for count in whole if count > 1))
    for i, comp in enumerate(comps):
        prefix += "/" + comp
        temp = ctx.temp.get(prefix)
        room = max(1, min(share, PATH_ALTERNATIVES // _others(parts, i)))
        shaped = dated[i]
        if shaped is not None:
            for spread in (1, 0):
                if brace_alternatives(shaped) <= room:
                    break
                # (past the path's room, a pid has the lengths beside its own, or its own:
                # review 36 wrote it "*", a generated name's, learn38)
                shaped = shaped_glob(comp, ctx.options.times, ctx.options.pids, spread=spread)
                assert shaped is not None
            parts[i] = shaped
            kinds.append("dates and UUIDs")
        elif temp is not None:
            parts[i] = written_glob(comp, temp, prefix in ctx.templated, room)
            kinds.append(_GENERATED)
        elif prefix in ctx.older_counted:
            parts[i] = ctx.older_counted[prefix]
            kinds.append(_COUNTED_KIND)
        elif prefix in ctx.older_generated:
            parts[i] = ctx.older_generated[prefix]
            kinds.append(_OLDER_GENERATED)
        elif HASH_NAME.search(comp):
            # each hex digit a class (HEX_DIGIT): the shape of a hash, not a "*" a name
            # chosen around it could aim at another file with (.bash<hash>rc is no
            # .bashrc: gap #30), nor a "?" (any older name as long: red team 16); reads of
            # older files stay covered (git's objects), writes only as _hash_writes grants
            parts[i] = hash_glob(escape(comp))
            kinds.append(_HASHES)
        elif prefix in ctx.fanout:
            parts[i] = HEX_DIGIT * 2
            kinds.append(_HASHES)
    return _Pattern(writer.text(path, parts), not kinds, kinds[0] if kinds else None,
                    _GENERATED in kinds, hashed=_HASHES in kinds and _GENERATED not in kinds)


_GENERATED = "generated names"
_MOVED_IN = "older files moved or linked into a directory the run made (its name's shape)"
_COUNTED_KIND = "older runs' numbered names"
_OLDER_GENERATED = "older runs' generated names (the template's shape)"
_COUNTERS_OWN = "a counter's own directory (older runs' kept there, removed by later runs)"
_HASHES = "content hashes"

#: The most hash-shaped files one learned write rule may list as rewritten (_hash_writes);
#: a run that rewrote more leaves the shape's write rule as it was before gap #31 closed.
HASH_REWRITE_CAP = 64


def _writes(use: _PathUse) -> bool:
    """Whether the check writes its path: fswrite, or either check of a file a link or
    rename gives a new name (``fslink``)."""
    return use.cls == "fswrite" or use.part == FSLINK


_LINKED_NAMES = "names a link or rename made (the file there is the old name's)"


def _linked_names(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]], ctx: _Context
                  ) -> None:
    """A name the run only made by a link or rename of an older file (one it did not make)
    -- no other write of it under that key -- is written by a ``fresh`` rule: it lets the
    next run make that name again, and grants nothing of the file it then holds, which is
    the old name's (a link's new name written by name would let the next run write the
    linked file through it: the old name would have to be granted that too,
    model.Table._linked_decision; issue 11).  Not a name a file of the run's own is moved
    to (an atomic write's rename: the next run meets the last run's file there)."""
    if ctx.options.generalize == "none":
        return
    for key_uses in uses_by_key.values():
        others = {use.path for use, _ in key_uses if use.linked is None}
        for i, (use, pattern) in enumerate(key_uses):
            if use.linked is not None and use.linked not in ctx.made and \
                    use.cls == "fswrite" and pattern.literal and \
                    use.path not in others and not use.older:
                key_uses[i] = (use, _Pattern(pattern.text, False, _LINKED_NAMES, fresh=True))


def _counters_own_reads(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                        ctx: _Context) -> None:
    """A counter's own directory the run wrote in is read there too (``DIR/**``): a later
    run renames an older run's directory away (pytest's ``garbage-UUID``), and a rename's
    old name is checked as read and written (``fslink``) -- a run that only made and wrote
    its own there learned no read, and the next run's rename was refused."""
    if ctx.options.no_alias:
        return
    done: set[str] = set()
    for use, pattern in list(uses_by_key.get("fswrite", ())):
        if pattern.kind == _COUNTERS_OWN and pattern.text not in done:
            done.add(pattern.text)
            uses_by_key["fsread"].append((dataclasses.replace(
                use, key="fsread", cls="fsread", part=None), pattern))


def _hash_writes(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]], ctx: _Context,
                 report: LearnReport) -> None:
    """Writes of content-hash-shaped paths, granted as used (gap #31): the shape's write
    rule is ``fresh`` -- it lets the next run make new files of the shape (git's objects,
    npm's cache entries) and write what it made, and no older file of the shape (another
    commit's object) --, and each file of the shape the run wrote that its next run may
    write again is granted by name (``_Pattern.exact``): every older file it wrote (an
    index appended to, an object freshened), and every file it made by a call the next run
    repeats as a write of the file then there (``_Context.rewritable``: npm's index
    files, made ``O_WRONLY|O_APPEND|O_CREAT``), and every file it removed before it made
    it (``_Context.older_first``: the older file of that name, which the next run removes
    again).  Reads keep the shape (git reads older
    objects), and so does a key that reads too (``-u``'s ``openat``: one rule decides both).
    Past HASH_REWRITE_CAP such files of one shape, the shape's write rule is not fresh (as
    before) and the summary says so.

    A store the program keeps (:func:`_kept_store`): where the run removed an older file of
    a shape it was there to see and made files of that very shape, the removal (only) of
    the shape is granted, not fresh."""
    kept_store = _kept_store(uses_by_key, ctx)
    for key, key_uses in uses_by_key.items():
        texts: dict[str, list[int]] = defaultdict(list)
        for i, (_, pattern) in enumerate(key_uses):
            if pattern.hashed and not pattern.fresh:
                texts[pattern.text].append(i)
        for text, at in texts.items():
            if key in _STORE_CALLS and text in kept_store:
                continue  # (a rule that only removes or freshens: the shape, not fresh)
            if not all(_writes(key_uses[i][0]) for i in at) or \
                    any(key_uses[i][0].again for i in at):
                # (a removal the next run repeats in a tree the run made and left, of its
                # content hashes -- ``rm -rf repo`` of the last run's repository -- keeps
                # the shape, not fresh: the next run meets the last run's objects, other
                # hashes; a rule that only removes, in that tree: _removed_again)
                continue
            # (and a name the run removed before it made it: that call met an older file
            # of the name -- ``rm -rf clone && git clone ... clone`` of one repository
            # removes the last clone's objects, which the next run's rm meets again)
            removed = {key_uses[i][0].path for i in at
                       if key_uses[i][0].syscall in aliases.REMOVE_CALLS}
            again = {key_uses[i][0].path for i in at
                     if key_uses[i][0].path not in ctx.made
                     or key_uses[i][0].path in ctx.rewritable
                     or key_uses[i][0].path in removed & ctx.older_first}
            if len(again) > HASH_REWRITE_CAP:
                report.rewritten_hashes.append((text, len(again)))
                continue
            for i in at:
                use, pattern = key_uses[i]
                key_uses[i] = (use, dataclasses.replace(pattern, fresh=True))
                if use.path in again:  # (and the shape: the next run's own, another hash)
                    key_uses.append((use, _Pattern(ctx.writer.text(use.path), True,
                                                   exact=True)))


def _kept_store(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]], ctx: _Context
                ) -> set[str]:
    """The content-hash shapes of a store the program keeps, whose older entries' removal
    and freshening (a change of their times, only) are granted by the shape, not fresh:
    each such call is added under its system call's key (a rule of that call alone; a
    removal plants nothing, ``generalize.plants``).  ``git gc`` packs the loose objects,
    removes them and their 2-hex directories, and replaces the older pack (and ``git
    commit`` freshens, ``utimensat``, an object it would write that is there already):
    learned by name (the learning run's older files), the next runs' gc was refused the
    last run's pack and the objects of every commit made since (16, 33, 50 refusals on
    three runs with a commit between each; every older pack kept).  The evidence: the run
    removed or freshened an older file of the shape (one it did not make) that it was
    there to see -- listed in its directory, or a directory it listed itself; not a
    removal "in case" that met nothing -- and made files of that very shape itself: the
    program keeps the store, and its next run treats the store's older entries as this
    one did.  Not another name of the directory (``objects/info/alternates``,
    ``pack/notes.txt``), not a write or a read of an older entry (the shape's write rule
    stays fresh), not a shape the run only removed (``rm cache/HASH``: no store of its
    own), nothing at a sensitive location (no shape is learned there), nothing with
    ``--generalize none``."""
    if ctx.options.generalize == "none":
        return set()
    made: set[str] = set()
    removed: dict[str, list[_PathUse]] = defaultdict(list)
    for key_uses in uses_by_key.values():
        for use, pattern in key_uses:
            if not pattern.hashed or pattern.fresh:
                continue
            parent, _, name = use.path.rpartition("/")
            if use.path in ctx.made:
                made.add(pattern.text)
            elif use.syscall in _STORE_CALLS and use.cls == "fswrite" and (
                    use.path in ctx.listed or name in ctx.listed.get(parent or "/", ())):
                removed[pattern.text].append(use)
    kept = {text for text in removed if text in made}
    for text in sorted(kept):
        for call in sorted({use.syscall for use in removed[text]}):
            if not any(p.text == text for _, p in uses_by_key.get(call, ())):
                use = next(u for u in removed[text] if u.syscall == call)
                uses_by_key[call].append((dataclasses.replace(
                    use, key=call, part=None, argv=None, initial=False),
                    _Pattern(text, False, _KEPT_STORE, hashed=True)))
    return kept


_KEPT_STORE = ("a store the program keeps: older entries of its content-hash shape removed "
               "or freshened")
#: what a store's keeper does to its older entries: removes them, changes their times
_STORE_CALLS = aliases.REMOVE_CALLS | aliases.TIMES_CALLS


def _existing_directories(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                          ctx: _Context) -> None:
    """A ``mkdir`` of a directory that was there (``mkdir -p``'s walk, cmake's ``-B build``
    making each of its parents: the kernel answered ``EEXIST``) changed nothing: its rule is
    ``fresh`` -- it covers that ``mkdir`` on the next run (an older name meets ``EEXIST``,
    docs/policy.md ``fresh``) and no change of the older directory: a plain write rule let
    the next run ``chmod``, ``rmdir`` or ``rename`` the parents of the working directory
    (learn22).  Only where every write of the path in the key is such a ``mkdir``."""
    for key_uses in uses_by_key.values():
        other = {use.path for use, _ in key_uses
                 if use.cls == "fswrite" and use.syscall not in _MKDIR_CALLS}
        for i, (use, pattern) in enumerate(key_uses):
            if use.syscall in _MKDIR_CALLS and use.cls == "fswrite" and pattern.literal \
                    and not pattern.fresh and use.path not in ctx.made \
                    and use.path not in other:
                key_uses[i] = (use, dataclasses.replace(pattern, fresh=True))


_OWN_MOVED = "files the run made, linked or renamed away (the next run's own only)"


def _own_moved(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]], ctx: _Context
               ) -> None:
    """A name whose file the run made and then linked or renamed (the temporary of an
    atomic save: ``echo 1 > o/t.tmp; mv o/t.tmp o/f``, git's ``index.lock``
    renamed to ``index``, Python's ``os.replace``) is granted that by a ``fresh`` rule: the
    next run's link or rename of its own such file, and of no other file at the name.

    Why (review 63): a link or rename may not give a file an access its old name lacks
    (model.Table._linked_decision) -- but for a file the run made, whose contents are its
    own.  That exemption needs the next run to tell the file its own, and its engine notes
    what the run makes only where a rule is ``fresh`` (model.notes_made): a learned policy
    with no ``fresh`` rule refused every atomic save of its next run (``mv``'s table has
    ``fslink`` of the temporary name and ``fswrite`` of the output, no read of the
    temporary; the rename "would gain" reading).  Of the two ways to let it run again --
    grant the old name what the new one has (learn._linked_grants, as for an older file), or
    this -- this one grants nothing more than the run used, and less than before: a file at
    the name that the next run did not make (an outsider's hard link to a secret planted as
    ``o/t.tmp``) is not covered, and the rules after it refuse its move.

    Only a link's or rename's old name (``fslink``; not an exchange's: both its names hold a
    file after it, which the next run meets as an older one where it was not cleaned up),
    a literal one, every use of it under the key one of the run's own file (made by the
    run, not used before it made it, not an older file then: ``_PathUse.older``), and not
    left there at the end (``_Context.kept``: the next run meets the last run's file at the
    name, which no fresh rule covers -- a link's kept source).  Such a name keeps its plain
    rule, and :func:`_linked_grant` grants its old name what the new one has, as narrow as
    that rule."""
    for key_uses in uses_by_key.values():
        own = {use.path for use, _ in key_uses if use.part == FSLINK and use.path in ctx.made
               and use.path not in ctx.kept and use.path not in ctx.older_first}
        if not own:
            continue
        for use, pattern in key_uses:
            if use.path in own and (use.older or not pattern.literal or pattern.exact):
                own.discard(use.path)
        for i, (use, pattern) in enumerate(key_uses):
            if use.path in own and not pattern.fresh:
                key_uses[i] = (use, dataclasses.replace(pattern, kind=_OWN_MOVED, fresh=True))


#: what a call that makes a name with contents of the run's own writes into it (open with
#: O_CREAT, mkdir), and what one that makes it hold another file does (symlink, mknod):
#: :func:`_own_contents`'s sources besides the old names of links and moves
_OWN_CONTENTS = ""
_FOREIGN = "\0"


def _own_contents(makers: dict[str, set[str]], moved_below: tuple[str, ...]) -> set[str]:
    """The names that hold a file of the run's own contents however the calls that made
    them ran (``_Context.own``): each call that made the name made it with contents of its
    own (``_OWN_CONTENTS``) or gave it such a name's file (a link, a move, an exchange:
    the old name, itself such a name), and it is no ``NAME (deleted)`` nor below a
    directory a move took or made.

    Not the state at the end of a replay of the calls: the learner keeps each distinct call
    once, in the order first seen (``Learner._observations``) -- a link of a secret renamed
    onto ``build/out``, then the run's own file renamed onto it, then the first link and
    rename again (not recorded) left the secret there, and the replay the run's own file
    (red team 40).  A call of any order is every order's: the names are the least set closed
    under "every maker's source is in it" (a cycle of moves alone makes nothing own).  And
    a descriptor of a file whose name was removed is named ``NAME (deleted)`` by the kernel
    -- a name the run can make a file of its own at, and link the descriptor's (a secret's)
    file by through ``/proc/self/fd`` (red team 40)."""
    # (a worklist, not rounds over every name: a chain of moves as long as the run likes
    # costs one look at each link of it)
    waiting: dict[str, int] = {}        # name -> its sources not known to be own yet
    needed_by: dict[str, list[str]] = defaultdict(list)
    ready: list[str] = []
    for path, sources in makers.items():
        if _FOREIGN in sources or path.endswith(_DELETED) or path.startswith(moved_below):
            continue
        others = sources - {_OWN_CONTENTS}
        waiting[path] = len(others)
        for source in others:
            needed_by[source].append(path)
        if not others:
            ready.append(path)
    own: set[str] = set()
    while ready:
        path = ready.pop()
        own.add(path)
        for user in needed_by.pop(path, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return own



def _own_moves(moves: list[tuple[str, str]], makers: dict[str, set[str]],
               made_dirs: set[str], moved_below: set[str]) -> set[str]:
    """The "DIR/" below which no name holds a file of the run's own, of the directory moves
    (old, new) the caller let through: every old name, and each new name but that of a
    move of a directory the run made itself (``mkdir``: empty then) and in which every
    name the run made it made with
    contents of its own (no link or move of another file, no symlink, no device node), not
    itself below another moved directory (nor an exchange, nor a move holding what the run
    did not make, ``Observation.older_inside``: left in ``moved_below`` by the caller); a
    move within or out of the new name excludes its own names (each move's old name).  The
    move took only what the run wrote, so a name made below the new name *after* it (a
    file opened ``O_CREAT`` there) is the run's as any other (:func:`_own_contents`); what
    moved along has no maker at its new name and stays none of the run's.  cargo makes its
    ``target`` as ``targetXXXXXX`` (its ``CACHEDIR.TAG`` written there) renamed to
    ``target``: every file of the build was below a moved directory, none was the run's
    own, and the next build's read and rewrite of ``.fingerprint/NAME-HASH/bin-NAME`` (a
    fresh generated glob's) were refused -- the build failed (101), 3 refusals a run.
    Returns the prefixes still excluded: every old name, every new name of a move that is
    not so."""
    out: set[str] = set()
    for old, new in moves:
        below = old.rstrip("/") + "/"
        out.add(below)  # (what was made there went along: the old names are gone)
        # (and nothing but the run's own made the directory itself or one above it: a
        # directory moved onto its name -- an older tree -- before a move the run repeats,
        # which the learner keeps once, in the order first seen: review 25)
        clean = old in made_dirs and not any(
            old.startswith(prefix) or new.startswith(prefix) for prefix in moved_below) \
            and all(sources <= {_OWN_CONTENTS} for path, sources in makers.items()
                    if path.startswith(below) or below.startswith(path.rstrip("/") + "/"))
        if not clean:
            out.add(new.rstrip("/") + "/")
    return out


def _random_name(path: str, ctx: _Context) -> bool:
    """Whether a path the run made is met by no next run by its name: its own name is
    generated (``$TMPDIR/tmpXXXXXXXX``, rustc's session lock ``s-TIME-RANDOM.lock``: the
    next run makes its own), or it is below a generated name in a temporary directory
    (``$TMPDIR/pip-build-env-XXXXXXXX/...``).  A name below a generated directory
    elsewhere is (cargo's ``.fingerprint/hello-HASH/bin-hello``: the hash of what it
    builds, the same on the next run)."""
    if path in ctx.temp:
        return True
    prefix = ""
    for comp in components(path)[:-1]:
        parent = prefix or "/"
        prefix += "/" + comp
        if prefix in ctx.temp and parent in ctx.writer.tmpdirs:
            return True
    return False


def _own_again(all_uses: list[_PathUse],
               uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]], ctx: _Context) -> None:
    """What the next run does with the files this run made and left there
    (``_Context.kept``, of contents of the run's own: ``_Context.own``) -- the same workload:
    a file the run created is the program's own, and reading it back, replacing it or
    removing it on the next run is what an incremental build does (learn23: cmake re-reads
    its ``build.make``, ``flags.make`` and the compiler's ``*.o.d``; cargo reads and
    rewrites its ``.fingerprint/hello-HASH/bin-hello``; ``npm pack`` packs the
    ``dist/out.js`` the last ``npm run build`` wrote: 13, 3 and 1 refusals a run).

    * A table that used such a path at all (made it, wrote, read or looked at it: cmake
      asked ``access`` of ``main.c.o.d`` before the compiler made it) may read it by name
      (the learning run's name, written with the variables), and one that gave it another
      name (link, rename: ``fslink``) may remove it (a rule that only removes,
      ``generalize.plants``: cargo removes the program its last build linked to
      ``target/debug/``) -- not the directory's other files, not another name of a
      generated glob;
    * a table that wrote it under a ``fresh`` generated glob (which covers only the files
      the next run makes: cargo's ``hello-*/bin-hello``) writes it by name too, as any
      file of an ordinary name it made is written (replaced, removed) by its exact rule;
    * a table that wrote files under a fresh generated glob reads that glob, fresh: the
      files the run itself makes there and no older one (cmake writes
      ``build.make.tmpXXXXX`` and, where a ``build.make`` is there already, reads both to
      compare them).

    Not: a sensitive location, a name something runs later (a write of it), a content
    hash's shape (its reads cover older files already; ``_hash_writes`` grants its
    writes), a file whose own name is generated (``$TMPDIR/tmpXXXXXXXX`` left there: no
    next run meets that name), a link or move of a file the run did not make (its
    contents are not the run's: a hard link to a secret left in the tree would be a read
    of the secret), a symlink; nothing with ``--generalize none``, nor with ``-u`` (an
    ``openat`` rule there decides reads and writes alike: a read of a file only looked at
    would be its write)."""
    if ctx.options.generalize == "none" or ctx.options.no_alias:
        return
    read_key = "fsread"
    # (what the table did with the path in full: the part of a link's or rename's old name,
    # fslink, is no read or write of it)
    had = {(u.cls, u.path) for u in all_uses if u.part is None}
    linked = {u.path for u in all_uses if u.part == FSLINK}
    templates: dict[str, _PathUse] = {}
    for use in all_uses:
        if use.path in ctx.kept and use.path in ctx.own and not _random_name(use.path, ctx):
            templates.setdefault(use.path, use)
    read_globs: dict[str, _PathUse] = {}
    for key_uses in list(uses_by_key.values()):
        for use, pattern in list(key_uses):
            if not (use.cls == "fswrite" and use.part is None and pattern.fresh
                    and not pattern.literal and pattern.kind == _GENERATED):
                continue
            if use.path in ctx.own:
                read_globs.setdefault(pattern.text, use)
            if use.path in templates and planted_at(use.path) is None and \
                    not is_sensitive(use.path, ctx.writer.home):
                key_uses.append((use, _Pattern(ctx.writer.text(use.path), True, exact=True)))
    for text, use in read_globs.items():
        uses_by_key[read_key].append((dataclasses.replace(
            use, key=read_key, cls="fsread", part=None, syscall="openat", argv=None,
            initial=False, older=False), _Pattern(text, False, _GENERATED, True)))
    for path, use in templates.items():
        named = _generalize_path(path, ctx)
        if is_sensitive(path, ctx.writer.home):
            continue
        if named.hashed:
            # (a file of a content hash's name, or below one, only written: pip's wheel
            # cache ``wheels/7b/ab/a4/HASH/origin.json``, which the next install of the same
            # sdist reads -- refused, and pip failed (learn24).  By its name: the same key
            # next time; not the shape, whose reads would cover every entry of the cache; a
            # file the table read is covered already; a directory the run made there is
            # not listed by it)
            if ("fsread", path) not in had and path not in ctx.made_dirs:
                uses_by_key[read_key].append((dataclasses.replace(
                    use, key=read_key, cls="fsread", part=None, syscall="openat",
                    argv=None, initial=False, older=False),
                    _Pattern(ctx.writer.text(path), True, exact=True)))
            continue
        covered = named.literal or not named.fresh  # (its rules cover an older file)
        # (by its name, not its shape's glob: a date's, a UUID's, written by a rule of that
        # shape, covers every name of it -- a hard link to a secret the run made beside its
        # own log, which it only linked, was read through that rule: red team 40)
        pattern = named if named.literal else \
            _Pattern(ctx.writer.text(path), True, exact=True)
        if not (covered and ("fsread", path) in had):
            uses_by_key[read_key].append((dataclasses.replace(
                use, key=read_key, cls="fsread", part=None, syscall="openat", argv=None,
                initial=False, older=False), pattern))
        if ("fswrite", path) not in had and path in linked:
            # (removed: cargo removes the program the last build linked, which it read and
            # linked to target/debug/ while learning -- a rule that only removes)
            for call in sorted(aliases.REMOVE_CALLS):
                uses_by_key[call].append((dataclasses.replace(
                    use, key=call, cls="fswrite", part=None, syscall=call, argv=None,
                    initial=False, older=False), pattern))


def _childs_own_removed(data: _TableData,
                        uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                        ctx: _Context) -> None:
    """The removal of a file a program this table ran made and left there (learn26):
    ``automake --add-missing`` has ``cp`` copy ``compile``, ``install-sh``, ``missing`` and
    ``depcomp`` into the tree; the next ``autoreconf -fi`` (``--force-missing``) has automake
    remove each before ``cp`` copies it again -- refused, 4 a run (learn25): automake only
    looked at them while learning, and ``_own_again`` grants a removal to the table that
    made or moved a file, not to the program that ran the one that did.

    Where a table looked at or read (and did not write) a file the run made with contents
    of its own as a new name (``O_EXCL``: ``_Context.made_new`` -- the next run's making of
    it fails with EEXIST unless something removes it first) and left there
    (``_Context.kept``, ``_Context.own``), and every table that made that name is one this
    table exec'd into (``_Context.exec_children``), the table may remove that file by its
    name (the learning run's, written with the variables): no read, no write, no other
    name.  The child's table writes it by that name already (a kept file's own rule):
    removing it takes nothing a write of it does not.  (Tables are per program, so "exec'd
    into" is the program's, not the process's: configure's shell, which also runs ``cp``,
    may remove ``compile`` too -- a name the run made and left, by its name.)  Not: a
    directory, a file the table made or wrote itself (``_own_again``; a shell appending to a
    work-tree file git checked out anew), one made by a program it did not run, a
    sensitive location, a name something runs later, a generated name (no next run meets
    it), a content hash's name;
    nothing with ``--generalize none`` nor ``-u``."""
    if ctx.options.generalize == "none" or ctx.options.no_alias:
        return
    children = ctx.exec_children.get(data.name, set())
    if not children:
        return
    # (a file the table wrote is no file it only checked for: a shell that appends to the
    # work-tree file git checked out anew -- ``echo t >> b.txt`` -- removes nothing of it)
    removed = {u.path for u in data.path_uses
               if u.syscall in aliases.REMOVE_CALLS or u.cls == "fswrite"}
    done: set[str] = set()
    for use in data.path_uses:
        path = use.path
        if path in done or path in removed or path not in ctx.kept or \
                path not in ctx.own or path not in ctx.made_new or path in ctx.made_dirs:
            continue
        makers = ctx.made_by.get(path, set())
        if not makers or not makers <= children or data.name in makers:
            continue
        done.add(path)
        if is_sensitive(path, ctx.writer.home) or planted_at(path) is not None or \
                _random_name(path, ctx) or _generalize_path(path, ctx).hashed:
            continue
        pattern = _Pattern(ctx.writer.text(path), True, exact=True)
        for call in sorted(aliases.REMOVE_CALLS - {"rmdir"}):
            uses_by_key[call].append((dataclasses.replace(
                use, key=call, cls="fswrite", part=None, syscall=call, argv=None,
                initial=False, older=False), pattern))


_WRITERS_TEMPLATE = "temporaries of a name the program removed, by its template"
#: what separates a writer's temporary from the name it replaces (``build.make.tmpcf91a``)
_TEMPLATE_SEPARATORS = frozenset(".-_~#")


def _writers_template(all_uses: list[_PathUse],
                      uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                      ctx: _Context) -> None:
    """The temporaries of a name the program removed, in a directory it made, where it
    writes its other names through one template (learn24): cmake writes each file of
    ``CMakeFiles/hello.dir/`` as ``NAME.tmpXXXXX`` and renames it onto ``NAME``
    (``build.make.*``, ``flags.make.*``, ... fresh), and removes ``compiler_depend.internal``
    "in case" while it configures -- a file it writes (``compiler_depend.internal.tmpXXXXX``)
    only once the compiler's ``*.o.d`` are there, so the learning run (a clean tree) never
    did, and the next build after an edit was refused it and failed (learn23's last cmake
    refusal).

    Where a table wrote, in a directory the run made (``_Context.made_dirs``, its own), two
    or more temporaries (made, then gone: renamed away or removed) of a generated glob that
    is a name it wrote and left there (``NAME``) and one suffix (``.*``), each other name of
    that directory the table wrote (removed) and the run never made is granted that glob's
    calls on ``M`` and the suffix -- ``fresh``: only the files the next run makes, no older
    file at such a name.  Not another name of the directory (``notes.txt``), not a name the
    table did not write, not a directory the run did not make, not a sensitive location nor
    a name something runs later; nothing with ``--generalize none`` nor ``-u``."""
    if ctx.options.generalize == "none" or ctx.options.no_alias:
        return
    written = {u.path for u in all_uses if u.cls == "fswrite" and u.part is None}
    # (directory, suffix glob) -> the names it stands after; -> the keys and a use of it
    targets: dict[tuple[str, str], set[str]] = defaultdict(set)
    template_uses: dict[tuple[str, str], dict[str, _PathUse]] = defaultdict(dict)
    for key, key_uses in uses_by_key.items():
        for use, pattern in key_uses:
            if not (pattern.fresh and not pattern.literal and pattern.kind == _GENERATED):
                continue
            path = use.path
            if path not in ctx.made or path in ctx.kept:
                continue  # (a temporary: made, and gone by the end)
            parent, _, name = path.rpartition("/")
            if parent not in ctx.made_dirs or parent not in ctx.own or \
                    parent not in ctx.kept:
                continue
            head = ctx.writer.text(parent) + "/"
            if not pattern.text.startswith(head):
                continue
            glob_name = pattern.text[len(head):]
            for cut in range(1, len(name)):
                target, rest = name[:cut], name[cut:]
                if rest[0] not in _TEMPLATE_SEPARATORS or \
                        parent + "/" + target not in written:
                    continue
                suffix = glob_name[len(escape(target)):]
                if not glob_name.startswith(escape(target)) or \
                        ("*" not in suffix and "[" not in suffix) or \
                        not suffix.startswith(rest[0]) or "/" in suffix:
                    continue
                full = parent + "/" + target
                if full in ctx.kept and full in ctx.own:
                    targets[(parent, suffix)].add(target)
                    template_uses[(parent, suffix)].setdefault(key, use)
    for (parent, suffix), names in targets.items():
        if len(names) < 2:
            continue  # (one name is no template of the program's)
        head = ctx.writer.text(parent) + "/"
        for path in sorted(written):
            directory, _, name = path.rpartition("/")
            if directory != parent or name in names or path in ctx.made or \
                    is_sensitive(path, ctx.writer.home) or planted_at(path) is not None or \
                    is_sensitive(path + _sample(suffix), ctx.writer.home):
                continue
            text = head + escape(name) + suffix
            for key, use in template_uses[(parent, suffix)].items():
                uses_by_key[key].append((dataclasses.replace(use, path=path, older=False),
                                         _Pattern(text, False, _WRITERS_TEMPLATE, True)))


def _sample(shape: str) -> str:
    """A name a written generated glob's text matches (``generalize.written_glob``): each
    ``*`` and class an ``x``, each brace its first alternative."""
    return re.sub(r"\[[^\]]*\]|\*", "x", re.sub(r"\{([^{},]*)(?:,[^{}]*)?\}", r"\1", shape))


_MKDIR_CALLS = frozenset({"mkdir", "mkdirat"})
_THERE = "directories that were there (mkdir met EEXIST)"


# ---------------------------------------------------------------------------------------------
# One table


@dataclass
class _PathUse:
    key: str          # the name the rule will carry: class or part alias, or the call (-u)
    cls: str          # fsread / fswrite / exec
    part: str | None  # fsmeta / fslink, when the check is in that part of its class
    path: str
    syscall: str
    argv: tuple[str, ...] | None
    initial: bool
    #: the path held an older file the run had made the name of before (Observation.older):
    #: no ``fresh`` rule covers this use on the next run
    older: bool = False
    #: a removal the next run repeats in a tree of the run's own (:func:`_removed_again`)
    again: bool = False
    #: the new name of a link or rename (not an exchange) that made the name: the old
    #: name, whose file it is (:func:`_linked_names`)
    linked: str | None = None


@dataclass
class _TableData:
    name: str
    path_uses: list[_PathUse] = field(default_factory=list)
    net_uses: dict[tuple[str, str], set[SockAddr]] = field(default_factory=dict)
    plain: set[str] = field(default_factory=set)
    catch_all: set[str] = field(default_factory=set)
    listings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    moved: dict[str, set[str]] = field(default_factory=dict)  # key -> directories moved
    #: directories moved while they held what the run did not make (Observation.older)
    older_moved: set[str] = field(default_factory=set)


def _collect(observations: list[Observation], options: LearnOptions,
             report: LearnReport) -> dict[str, _TableData]:
    tables: dict[str, _TableData] = {}
    for obs in observations:
        data = tables.get(obs.table)
        if data is None:
            data = tables[obs.table] = _TableData(obs.table)
        if obs.syscall in aliases.UNSAFE_CALLS:
            report.unsafe[obs.syscall] = report.unsafe.get(obs.syscall, 0) + 1
            continue
        if obs.failed:
            # a failed exec permits nothing: a missing program is refused with a search's
            # ENOENT, anything else by the default (a rule here would outlive a merge with
            # a run where it worked)
            report.failed_execs.append(obs)
            continue
        if obs.listing is not None and obs.paths:
            data.listings[obs.paths[0].path] = obs.listing
        for facts in obs.all_facts():
            for cls, arg in facts.checks():
                part = aliases.part_of(facts.syscall, arg.role if arg is not None else "path",
                                       cls, facts.selector)
                key = facts.syscall if options.no_alias or cls is None else part or cls
                if arg is not None and cls in PATH_CLASSES:
                    if not _representable(arg.path) or not (
                            is_text(arg.path) or (part == FSMETA and options.generalize
                                                  in ("safe", "broad"))):
                        report.unrepresentable.append(obs)
                        continue
                    data.path_uses.append(_PathUse(
                        key, cls, part, arg.path, facts.syscall, facts.argv, obs.initial,
                        arg.role in obs.older, linked=facts.path("old") if (
                            arg.role == "new" and "new" in obs.created
                            and facts.syscall in aliases.TWO_PATH_CALLS
                            and not aliases.renames(facts.syscall, "new", facts.selector))
                        else None))
                    if arg.role in obs.directories:
                        data.moved.setdefault(key, set()).add(arg.path)
                        if arg.role in obs.older:
                            data.older_moved.add(arg.path)
                elif facts.syscall in _CATCH_ALL_CALLS and cls in ("net-connect", "net-bind"):
                    addr = facts.sockaddr
                    if addr is None or addr.family not in ("inet", "inet6", "unix"):
                        data.catch_all.add(facts.syscall)
                    elif addr.family == "unix" and not (is_text(addr.path or "")
                                                        and abstract_spelled(addr.path or "")):
                        report.unrepresentable.append(obs)  # (red team 28: "@*" was all)
                    else:
                        data.net_uses.setdefault((key, facts.syscall), set()).add(addr)
                elif not obs.tree:  # (a signal inside the tree: TREE_SIGNALS covers it)
                    data.plain.add(facts.syscall)
    return tables


def _representable(path: str) -> bool:
    """Whether a path rule can match this path at all (the engine reports "" for an empty
    path and "fd:N" when it could not read a descriptor)."""
    return path.startswith("/") or pseudo_pattern(path) is not None


def spelled_names(names: Iterable[str]) -> list[str]:
    """The names a ``host`` condition can name as themselves (:func:`net.host_spelled`):
    looked up while learning, ``host = "*.domain"`` let the next run reach every name below
    (red team 28); such a connect is learned by its address."""
    return [name for name in names if host_spelled(name)]


def is_text(value: str) -> bool:
    """Whether a path or argument can be written in a policy: a policy is TOML, UTF-8 text,
    and the engine reports a byte that is not UTF-8 as a lone surrogate (surrogateescape).
    gpg asks access() about a name of such bytes in its working directory (a name the next
    run does not ask about); no glob names them, so the learner writes no rule for them
    (a rule of ``?`` for each would also match names the run never used) -- except where
    the rule names no path (metadata of any path, in safe and broad)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Listings:
    """Which listed directories had every (non-hidden) entry looked at, for one rule key --
    and which had every entry, hidden ones too: ``*`` and ``**`` match a leading dot, so a
    directory only a ``cat *`` read is ``dir/[!.]*``, and a tree needs its hidden entries
    read all the way down (red team 13b: a ``.env`` never opened was granted by ``dir/*``)."""

    def __init__(self, listings: dict[str, tuple[str, ...]], touched: dict[str, set[str]]
                 ) -> None:
        self.listings = listings
        self.touched = touched
        self._complete: dict[str, bool] = {}
        self._deep: dict[str, bool] = {}

    def everything(self, directory: str) -> bool:
        """Every entry was looked at, the hidden ones too."""
        names = {e.rstrip("/") for e in self.listings.get(directory, ())}
        return names <= self.touched[directory]

    def complete(self, directory: str) -> bool:
        """Every visible entry was looked at (true of an empty directory)."""
        if directory not in self._complete:
            names = [e.rstrip("/") for e in self.listings.get(directory, ())]
            visible = {n for n in names if not n.startswith(".")}
            self._complete[directory] = visible <= self.touched[directory]
        return self._complete[directory]

    def covered(self, directory: str) -> bool:
        """Complete, with at least two entries: evidence enough for ``dir/*``."""
        visible = [e for e in self.listings.get(directory, ()) if not e.startswith(".")]
        return len(visible) >= 2 and self.complete(directory)

    def deep(self, directory: str) -> bool:
        """Every entry looked at, hidden ones too, and so in every subdirectory, all the way
        down (``dir/**`` matches hidden names at every depth)."""
        if directory not in self._deep:
            self._deep[directory] = False  # a cycle (bind mounts) is not deep
            ok = self.everything(directory)  # (which is complete too)
            for entry in self.listings.get(directory, ()) if ok else ():
                if entry.endswith("/") and entry.rstrip("/") in self.touched[directory]:
                    child = directory.rstrip("/") + "/" + entry.rstrip("/")
                    if child not in self.listings or not self.deep(child):
                        ok = False
                        break
            self._deep[directory] = ok
        return self._deep[directory]


#: Per rule key, the uses that count as looking at a listed directory's entries: a read for
#: reads (and, with broad, a write for writes); any look for metadata
_TOUCHING = {"fsread": ("fsread",), FSMETA: ("fsread", FSMETA), "fswrite": ("fswrite",)}


def _listing_patterns(data: _TableData, uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                      ctx: _Context, report: LearnReport) -> dict[str, list[_Pattern]]:
    """A directory listed, then every (non-hidden) entry looked at: ``dir/*`` for the key
    used on the entries, ``dir/**`` when every subdirectory was treated the same way (a
    tree walked is the tree).  Reads widen reads, looks widen looks: a directory whose
    entries were only stat'ed is no reason to read them."""
    out: dict[str, list[_Pattern]] = defaultdict(list)
    if ctx.options.generalize == "none" or not data.listings:
        return out
    classes = ("fsread", "fswrite") if ctx.options.generalize == "broad" else ("fsread",)
    home = ctx.writer.home
    for key, key_uses in uses_by_key.items():
        if ctx.options.no_alias:  # (-u: the call's own uses, by their class)
            sources = [u for u, _ in key_uses if u.cls in classes]
        elif key in _TOUCHING and (key in classes or key == FSMETA):
            sources = [u for other in _TOUCHING[key] for u, _ in uses_by_key.get(other, ())]
        else:
            continue
        touched: dict[str, set[str]] = defaultdict(set)
        for use in sources:
            if not use.path.startswith("/"):
                continue
            # every listed ancestor of the path: the entry of it the path goes through
            comps = components(use.path)
            for depth in range(len(comps)):
                directory = "/" + "/".join(comps[:depth])
                if directory in data.listings:
                    touched[directory].add(comps[depth])
        if not touched:
            continue
        state = _Listings(data.listings, touched)
        for directory in sorted(touched):
            if not state.covered(directory):
                continue
            is_deep = state.deep(directory) and any(
                e.endswith("/") for e in data.listings[directory])
            if reaches_sensitive(directory, is_deep, home):
                report.exact_sensitive.append(directory)
                continue
            tail = "/**" if is_deep else "/*" if state.everything(directory) else "/[!.]*"
            # a directory of a generated name: its entries only as the run makes them -- the
            # glob of the name ("conf*") covers older directories too ("config": red team 17)
            fresh = False
            if directory == "/":
                text = tail
            else:
                named = _generalize_path(directory, ctx)
                text, fresh = named.text.rstrip("/") + tail, named.fresh
            kind = "trees walked (every entry seen, all the way down)" if is_deep else \
                "directory listings (every entry seen)" if tail == "/*" else \
                "directory listings (every visible entry seen)"
            out[key].append(_Pattern(text, False, kind, fresh))
    return out


def _moved_patterns(data: _TableData, ctx: _Context, report: LearnReport
                    ) -> dict[str, list[_Pattern]]:
    """A directory moved (renamed): ``dir/**`` for the move's key.  A policy decides moving a
    directory as acting on everything inside it (a file a rule protects would reappear under
    another name), so only a rule covering all below it permits the move again -- cargo's
    ``targetXXXXXX`` made, filled and renamed to ``target`` was refused on the next run.
    The directory's own name is generalized as any path is (a generated name stays one); a
    directory that is or reaches a sensitive location stays refused (reported).  The rule
    is fresh for a directory the run made, or one a generated name stands for; not for an
    older directory the run moved (``_TableData.older_moved``), by its name or as an older
    run's number (:meth:`_Context._count_older`): that move took what older runs left
    inside, as the next run's will (pip's uninstall stash renames the installed
    ``packaging`` away, and a fresh ``packaging/**`` refused its next run's move)."""
    out: dict[str, list[_Pattern]] = defaultdict(list)
    home = ctx.writer.home
    for key, directories in data.moved.items():
        for directory in sorted(directories):
            if directory == "/" or not directory.startswith("/"):
                continue
            if reaches_sensitive(directory, True, home):
                if directory not in report.exact_sensitive:
                    report.exact_sensitive.append(directory)
                continue
            named = _generalize_path(directory, ctx)
            if directory in data.older_moved:  # (by its name: not a name of its shape)
                text = (ctx.writer.text(directory) if named.fresh else named.text)
                out[key].append(_Pattern(text.rstrip("/") + "/**", False, _MOVED))
                continue
            text = named.text.rstrip("/") + "/**"
            out[key].append(_Pattern(text, False, _MOVED,
                                     fresh=named.fresh or directory in ctx.made))
    return out


def _broad_patterns(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                    ctx: _Context) -> None:
    """``--generalize broad``: system trees whole, and directories with 3+ exact reads."""
    home = ctx.writer.home
    for uses in uses_by_key.values():
        for i, (use, pattern) in enumerate(uses):
            comps = components(use.path)
            if (use.cls == "fsread" and pattern.literal and len(comps) >= 4
                    and comps[0] == "usr" and comps[1] in ("lib", "lib64", "share", "libexec")):
                tree = "/" + "/".join(comps[:3])
                if not reaches_sensitive(tree, True, home):
                    uses[i] = (use, _Pattern(ctx.writer.text(tree, tail="/**"), False,
                                             "system trees (broad)"))
        by_dir: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (use, pattern) in enumerate(uses):
            if pattern.literal and use.cls in ("fsread", "fswrite") and use.part != FSLINK \
                    and not (writes((use.cls,)) and ctx._planted_outside(use.path)):
                by_dir[(use.key, use.path.rpartition("/")[0] or "/")].append(i)
        for (_key, directory), indexes in by_dir.items():
            names = {uses[i][0].path for i in indexes}
            if len(names) < 3 or reaches_sensitive(directory, False, home):
                continue
            text = ctx.writer.text(directory, tail="/*") if directory != "/" else "/*"
            for i in indexes:
                uses[i] = (uses[i][0], _Pattern(text, False, "directories with 3+ files (broad)"))


#: Aliases never permitted whole from a few members: their calls carry what rules decide on.
_NEVER_WHOLE = frozenset({"exec", "fsread", "fswrite", FSMETA, FSLINK, "net-connect",
                          "net-bind", "privilege"})
_SHELLS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "mksh", "ash", "busybox"})


class _ArgvWriter:
    """An argument as an argv glob, where the run's generated names in it are their globs:
    a command a build tool hands a shell names the scratch files of this run
    (``--progress-dir=.../TryCompile-2rtJjQ/CMakeFiles``, ``cmTC_bde35.dir/...``), and the next
    run's command names the next run's.  A generated name counts where it stands as a whole
    name (nothing of a name's right before it, nothing but a dotted suffix right after).

    The random part is written as as many characters of its kind (``TryCompile-`` and six of
    ``[0-9A-Za-z_]``), never as fnmatch's ``*``: that matches spaces, ``;`` and ``#`` too,
    and a program chose its next command line around it (red team 16: ``TryCompile-; CMD
    #/CMakeFiles``).  Generators draw a fixed number of letters and digits, and a run of
    digits alone is no sign that the next run's is digits too (cmake's ``cmTC_`` and 5 hex
    digits are all decimal once in 10 runs: learned as 5 ``[0-9]``, the next run's
    ``cmTC_bae60`` was refused); a number (a pid) is as many characters -- of another
    length, it is refused (fails closed)."""

    _RANDOM = frozenset(string.ascii_letters + string.digits + "_")
    _NAME_CHARS = _RANDOM | {"-"}

    def __init__(self, temp: Mapping[str, str], cwd: str | None = None) -> None:
        # the working directory, where it stands as a whole path (nothing of a path right
        # before it, nothing of a name right after): ``$CWD`` (argv.CWD), the next
        # checkout's -- cmake hands make's shell ``cd /abs/checkout/build && ...`` (learn22)
        self._cwd = re.compile(r"(?<![\w./-])" + re.escape(cwd) + r"(?![\w.-])") \
            if cwd and cwd != "/" else None
        self._globs: dict[str, str] = {}
        for path, glob in temp.items():
            name = path.rpartition("/")[2]
            if name and glob != "*":
                self._globs[name] = self._as_argv_glob(name, glob)
        self._names = re.compile("|".join(
            re.escape(n) for n in sorted(self._globs, key=len, reverse=True))) \
            if self._globs else None

    @classmethod
    def _as_argv_glob(cls, name: str, glob: str) -> str:
        """A name's path glob (backslash escapes and ``*``) as an argv glob (fnmatch): its
        literal parts exact, each ``*`` the part of ``name`` it stands for as that many
        characters of its kind -- or exactly, when that part holds anything else (a space,
        ``;``, ``.``: no generator's letter)."""
        parts: list[str | None] = []  # literal text, None for a "*"
        literal: list[str] = []
        chars = iter(glob)
        for c in chars:
            if c == "*":
                parts += ["".join(literal), None]
                literal = []
            else:
                literal.append(next(chars, "") if c == "\\" else c)
        parts.append("".join(literal))
        found = re.fullmatch("".join("(.*?)" if p is None else re.escape(p) for p in parts),
                             name, re.DOTALL)
        if found is None:
            return escape_argv(name)
        out: list[str] = []
        stars = iter(found.groups())
        for part in parts:
            if part is not None:
                out.append(escape_argv(part))
                continue
            run = next(stars)
            if set(run) <= cls._RANDOM:
                out.append("[0-9A-Za-z_]" * len(run))
            else:
                out.append(escape_argv(run))
        return "".join(out)

    def _literal(self, text: str) -> str:
        if self._cwd is None:
            return escape_argv(text)
        return ARGV_CWD.join(escape_argv(part) for part in self._cwd.split(text))

    def __call__(self, text: str) -> str:
        if self._names is None:
            return self._literal(text)
        out: list[str] = []
        done = 0
        for found in self._names.finditer(text):
            start, end = found.span()
            if (start and text[start - 1] in self._NAME_CHARS) or (
                    end < len(text) and text[end] in self._NAME_CHARS):
                continue
            out += [self._literal(text[done:start]), self._globs[found.group()]]
            done = end
        out.append(self._literal(text[done:]))
        return "".join(out)


def _argv_conditions(uses: list[tuple[_PathUse, _Pattern]], level: str, ctx: _Context
                     ) -> dict[str, list[tuple[ArgvElement, ...]]]:
    """exec path -> argv globs, where an argv condition is useful: every exec in ``none``;
    otherwise (but ``broad``), shells run with ``-c`` (the command they may run is then
    written down, the run's generated names in it as globs: :class:`_ArgvWriter`).  An exec
    path mapped to no argv glob at all gets no rule."""
    variants: dict[str, set[tuple[str, ...] | None]] = defaultdict(set)
    for use, pattern in uses:
        if use.cls == "exec" and pattern.literal and not use.initial:
            variants[use.path].add(use.argv)
        elif use.cls == "exec":
            variants[use.path].add(None)
    out: dict[str, list[tuple[ArgvElement, ...]]] = {}
    for path, seen in variants.items():
        if None in seen or level == "broad":
            continue
        # (a command line with bytes that are not UTF-8 has no condition to match it: that
        # exec is refused next time, as one not seen -- :func:`is_text`)
        argvs = sorted(a for a in seen if a is not None and all(is_text(x) for x in a))
        if level != "none":
            shell = os.path.basename(path) in _SHELLS
            if not shell or not all("-c" in a[1:3] for a in argvs) or len(argvs) > 8:
                continue
        writer = _ArgvWriter(ctx.temp if level != "none" else {},
                             dict((v, d) for d, v in ctx.writer.prefixes).get("$CWD"))
        out[path] = sorted(set(tuple(
            _command_words(x, writer) if level != "none" and i >= 2 and a[i - 1] == "-c"
            else writer(x) for i, x in enumerate(a)) for a in argvs), key=_argv_order)
    return out


#: A word of a shell's command line that gives one option a value: ``--NAME=`` and a value
#: of letters, digits, ``_./:,@%+=^-`` and single-quoted text (no quote left open, nothing
#: the shell expands or splits outside the quotes: the word stays that one word wherever
#: it stands among its like).  The quoted text holds nothing the shell would read as code
#: were it not quoted -- no blank, separator, redirection, grouping, substitution, comment,
#: brace or bracket (``$`` only before a name, or aclocal's ``${::}``): a run's words are
#: read unquoted where the shell evaluates them (``eval``, a function, a quote of the
#: command's own around the run), and their order is then the order of that code -- the
#: learning run's dead branch ran when a word moved out of it (review 28).  Such a text
#: keeps the command line one glob (its order as run).
_QUOTED_PLAIN = r"(?:[A-Za-z0-9_./:,@%+=^~*?-]|\$[A-Za-z_0-9]|\$\{::\})"
_OPTION_WORD = re.compile(
    r"(--?[A-Za-z][A-Za-z0-9_-]*=)(?:[A-Za-z0-9_./:,@%+=^-]|'" + _QUOTED_PLAIN + r"*')*")


def _command_words(text: str, writer: _ArgvWriter) -> ArgvElement:
    """A shell's ``-c`` command line as its argv element: as a whole (``writer``), or --
    where it holds a run of two or more words that each give one option a value
    (``--trace='A:$f::$n' --trace='B:$f::$n'``, :data:`_OPTION_WORD`) -- as
    :class:`~systrace_py.policy.argv.Words`, that run's words in any order and every other
    word in its place (learn26).  aclocal builds its ``autom4te`` command from a Perl hash,
    whose order is another in each process (hash seed randomization): the learned command
    line was refused on every next run.  A program that repeats an option for a set of
    values writes them in a run; the next run may write the same values in another order,
    nothing else: the same words, the same number of them, each run's words the learning
    run's (an option's values given in another order is all it grants -- a search path's
    order, where an option is one, too)."""
    words = text.split(" ")
    if len(words) < 3 or any(not w for w in words):
        return writer(text)
    items: list[str | tuple[str, ...]] = []
    i = 0
    grouped = False
    while i < len(words):
        found = _OPTION_WORD.fullmatch(words[i]) if i else None
        j = i + 1
        if found is not None:
            while j < len(words) and (m := _OPTION_WORD.fullmatch(words[j])) is not None \
                    and m.group(1) == found.group(1):
                j += 1
        if j - i >= 2:
            items.append(tuple(writer(w) for w in words[i:j]))
            grouped = True
        else:
            items.extend(writer(w) for w in words[i:j])
        i = j
    if not grouped or any(" " in w for item in items for w in (
            (item,) if isinstance(item, str) else item)):
        return writer(text)
    return Words(tuple(items))


_KEY_ORDER = {"exec": 0, "fsread": 1, FSMETA: 2, "fswrite": 3, FSLINK: 4, "net-connect": 6,
              "net-bind": 7}


def _key_rank(name: str) -> tuple[int, str]:
    if name in _KEY_ORDER:
        return (_KEY_ORDER[name], name)
    if name in aliases.ALIASES.get("exec", ()):
        return (0, name)
    if name in aliases.ALIASES["fsread"] or name in aliases.ALIASES["fswrite"]:
        return (5, name)
    if name in aliases.ADDRESS_CALLS:
        return (6, name)
    return (8, name)


SENSITIVE_COMMENT = "learned: a sensitive location (kept exact; check that it is needed)"
_ANY_METADATA = "metadata of any path"
_MOVED = "directories moved (everything inside goes with them)"
#: How a table's rules are ordered: the unconditional permits first (the prefilter answers
#: what they cover), then path and address rules by key
_Rank = tuple[int, tuple[int, str], str, tuple[str, ...]]
_FIRST: _Rank = (0, (0, ""), "", ())


def _rank(key: str, text: str = "", argv: tuple[ArgvElement, ...] | None = None,
          group: int = 2) -> _Rank:
    return (group, _key_rank(key), text, _argv_order(argv or ()))


def _argv_order(argv: tuple[ArgvElement, ...]) -> tuple[str, ...]:
    """An argv condition's elements as texts that sort (a Words element by its words)."""
    return tuple(e if isinstance(e, str) else "\0" + " ".join(
        w if isinstance(w, str) else "{" + " ".join(w) + "}" for w in e.items) for e in argv)



def _glob_covers(wide: str, narrow: str) -> bool:
    """Whether pattern text ``wide`` matches everything ``narrow`` does, as far as the
    learner's own shapes go (``D/**`` covers anything below D, ``D/*`` any one name in D)."""
    if wide.endswith("/**"):
        top = wide[:-3]
        return narrow == top or narrow.startswith(top + "/")
    if wide.endswith("/*"):
        parent, _, last = narrow.rpartition("/")
        return parent == wide[:-2] and last != "**"
    if wide.endswith("/[!.]*"):
        parent, _, last = narrow.rpartition("/")
        return parent == wide[:-6] and last != "**" and not last.startswith(".")
    return False


def _provenance(kind: str, paths: Sequence[str]) -> Provenance:
    """The rule's note: how many paths made it and the first of them that a policy can
    write (:func:`is_text`; one left out makes the note incomplete, as more than
    MAX_PROVENANCE_PATHS do, so ``policy review`` never narrows the rule to the others)."""
    return Provenance(kind, len(paths),
                      tuple(p for p in paths if is_text(p))[:MAX_PROVENANCE_PATHS])


def _category_rules(uses: list[_PathUse], ctx: _Context, table: str, report: LearnReport
                    ) -> tuple[list[tuple[_Rank, Rule]], list[_PathUse]]:
    """Reads (and looks) inside a well-known read-only category, as one rule for every
    category the table used (``generalize.CATEGORIES``): the reads of today are a sample of
    tomorrow's.  Returns the rule and the uses it does not cover.

    A root at or below a generated name the run made (pip's build environment
    ``$TMPDIR/pip-build-env-XXXXXXXX/overlay/lib/python3.11``, a Python library by its
    shape) is none: the next run's root has another name, so the root written literally
    refused every read below it (237 calls: pip's build backend could not import
    setuptools).  Its uses are left to the paths' rules, where the generated name is its
    glob and the rule fresh -- the next run's own files there, no older directory's."""
    writer = ctx.writer
    roots = {c.key: tuple(r for r in category_roots(c, ctx.options.facts,
                                                    (u.path for u in uses))
                          if not reaches_sensitive(r, True, writer.home)
                          and not ctx.below_generated(r))
             for c in CATEGORIES}
    found: dict[str, tuple[Category, set[str], list[str]]] = {}
    rest: list[_PathUse] = []
    for use in uses:
        category = None
        if use.cls == "fsread" and use.part != FSLINK and use.path.startswith("/") and \
                not is_sensitive(use.path, writer.home):  # (reads and looks only)
            category = next((c for c in CATEGORIES
                             if in_category(use.path, c, roots[c.key])), None)
        if category is None:
            rest.append(use)
            continue
        _, keys, paths = found.setdefault(category.key, (category, set(), []))
        keys.add(use.key)
        if use.path not in paths:
            paths.append(use.path)
    if not found:
        return [], rest
    used = [found[c.key] for c in CATEGORIES if c.key in found]
    keys = set().union(*(k for _, k, _ in used))
    if "fsread" in keys:
        keys.discard(FSMETA)  # fsread covers looking
    patterns = [category_pattern(c, roots[c.key], writer) for c, _, _ in used]
    text = patterns[0] if len(patterns) == 1 else "{" + ",".join(patterns) + "}"
    paths = [p for _, _, ps in used for p in ps]
    kind = "categories: " + ", ".join(c.label for c, _, _ in used)
    calls = tuple(sorted(keys, key=_key_rank))
    report.generalizations.append(Generalization(table, kind, text, calls, len(paths),
                                                 tuple(paths[:3])))
    rule = FileRule(calls, Action.PERMIT, path=writer.glob(text),
                    learned=_provenance(kind, paths))
    return [(_rank(calls[0]), rule)], rest


def _table_rules(data: _TableData, ctx: _Context, report: LearnReport) -> list[Rule]:
    options = ctx.options
    level = options.generalize
    uses = data.path_uses
    rules: list[tuple[_Rank, Rule]] = []
    # looking at files is not reading them: safe and broad leave it to the prefilter (with
    # the calls that take no arguments, in the table's first rule)
    looked = [u for u in uses if u.part == FSMETA] if level in ("safe", "broad") else []
    looked_calls: tuple[str, ...] = ()
    looked_paths: list[str] = []
    if looked:
        uses = [u for u in uses if u.part != FSMETA]
        looked_paths = list(dict.fromkeys(u.path for u in looked))
        looked_calls = (FSMETA,) if not options.no_alias else tuple(sorted({u.key
                                                                             for u in looked}))
        report.generalizations.append(Generalization(
            data.name, _ANY_METADATA, "(any path)", looked_calls, len(looked_paths),
            tuple(looked_paths[:3])))
    again = _removed_again(uses, ctx)
    if any(use.cls == "fsread" for use in again):
        data.plain.add("fstatfs")  # (a walk asks it of each directory: rm's fts, find's)
    uses = uses + again
    if level != "none" and not options.no_alias:
        found, uses = _category_rules(uses, ctx, data.name, report)
        rules += found
    uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]] = defaultdict(list)
    for use in uses:
        pattern = _use_pattern(use, ctx)
        uses_by_key[_removal_key(use, pattern)].append((use, pattern))
    _linked_names(uses_by_key, ctx)
    _hash_writes(uses_by_key, ctx, report)
    _existing_directories(uses_by_key, ctx)
    _own_moved(uses_by_key, ctx)
    _own_again(data.path_uses, uses_by_key, ctx)
    _childs_own_removed(data, uses_by_key, ctx)
    _writers_template(data.path_uses, uses_by_key, ctx)
    _counters_own_reads(uses_by_key, ctx)
    extra = _listing_patterns(data, uses_by_key, ctx, report)
    for key, patterns in _moved_patterns(data, ctx, report).items():
        extra.setdefault(key, []).extend(patterns)
    if level == "broad":
        _broad_patterns(uses_by_key, ctx)

    # patterns per key; drop what a wider pattern of the same key already covers (or, for
    # looks, a wider pattern of reads)
    by_text: dict[tuple[str, tuple[ArgvElement, ...] | None], set[str]] = defaultdict(set)
    #: the keys of each pattern whose rule is ``fresh`` (_Pattern.fresh); (text, key) -> True
    fresh_keys: dict[tuple[str, tuple[ArgvElement, ...] | None], set[str]] = \
        defaultdict(set)
    fresh_of: dict[tuple[str, str], bool] = {}
    kinds: dict[str, str | None] = {}
    seen: dict[str, list[str]] = defaultdict(list)    # the paths a pattern stands for
    made: dict[str, int] = defaultdict(int)
    sensitive: set[str] = set()
    kept_by_key: dict[str, list[str]] = {}
    globs: dict[str, PathGlob] = {}
    for key in sorted(uses_by_key, key=lambda k: (k == FSMETA, k)):  # reads before looks
        key_uses = uses_by_key[key]
        exec_argv = _argv_conditions(key_uses, level, ctx) if (
            key == "exec" or key in aliases.EXEC_CALLS) else {}
        wide = [p for _, p in key_uses if not p.literal] + extra.get(key, [])
        for p in wide:
            if p.text not in globs:  # (a glob compiles a regex: once per text)
                globs[p.text] = ctx.writer.glob(p.text)
            kinds.setdefault(p.text, p.kind)
            # (a text both a fresh pattern and one that is not -- a generated name's shape,
            # and the same shape where the run met an older file below it (_MOVED_IN) --
            # is not fresh: the older file is what the other pattern was for)
            if p.fresh:
                fresh_of.setdefault((p.text, key), True)
            else:
                fresh_of[(p.text, key)] = False

        def fresh(text: str, key: str = key) -> bool:
            return fresh_of.get((text, key), False) or (
                key == FSMETA and fresh_of.get((text, "fsread"), False))

        texts = list(dict.fromkeys(p.text for p in wide))
        # (a fresh glob covers no other glob that is not fresh: that one's files may be old)
        kept = [t for t in texts if not any(w != t and _glob_covers(w, t)
                                            and (fresh(t) or not fresh(w)) for w in texts)]
        kept_by_key[key] = kept
        covering = kept + (kept_by_key.get("fsread", []) if key == FSMETA else [])
        for text in kept:
            by_text[(text, None)].add(key)
            if fresh(text):
                fresh_keys[(text, None)].add(key)
        for use, pattern in key_uses:
            # a fresh glob covers a path of another pattern only if the run made it, and
            # a name of its own (literal) only if the run removed it too: left there, the
            # next run meets it older; a writing glob no name something runs later, where
            # it is used (_use_pattern)
            cover = pattern.text if pattern.text in kept else None if (
                writes((use.cls,)) and pattern.literal and ctx._planted_outside(use.path)
            ) else next(
                (g for g in covering if globs[g].matches(use.path) and (
                    not fresh(g) or (use.path in ctx.made and not pattern.exact
                                     and not use.older and use.path not in ctx.older_first
                                     and not (pattern.literal and use.path in ctx.kept))
                    or pattern.fresh)), None)
            if cover is not None:
                if use.path not in seen[cover]:
                    # the paths that made the pattern come first, then others it covers
                    if pattern.text == cover:
                        seen[cover].insert(made[cover], use.path)
                        made[cover] += 1
                    else:
                        seen[cover].append(use.path)
                continue
            if not pattern.literal:  # a pattern dropped for a wider one that misses this path
                by_text[(pattern.text, None)].add(key)
                if fresh(pattern.text):
                    fresh_keys[(pattern.text, None)].add(key)
                continue
            if is_sensitive(use.path, ctx.writer.home):
                sensitive.add(pattern.text)
                if use.path not in report.exact_sensitive:
                    report.exact_sensitive.append(use.path)
            conditions: list[tuple[ArgvElement, ...] | None] = [None]
            if use.path in exec_argv:
                conditions = list(exec_argv[use.path])
            for argv in conditions:
                by_text[(pattern.text, argv)].add(key)
                if pattern.fresh and argv is None:  # (_existing_directories, _own_moved)
                    fresh_keys[(pattern.text, argv)].add(key)
                    kinds.setdefault(pattern.text, pattern.kind or _THERE)
                    if use.path not in seen[pattern.text]:
                        seen[pattern.text].append(use.path)
    for at, keys in by_text.items():
        if FSMETA in keys and "fsread" in keys and (
                FSMETA in fresh_keys[at] or "fsread" not in fresh_keys[at]):
            keys.discard(FSMETA)  # reading a path covers looking at it
    literal: list[tuple[tuple[str, ...], str]] = []
    generated: dict[tuple[tuple[str, ...], str, str], list[str]] = defaultdict(list)
    for (text, argv), keys in list(by_text.items()):
        calls = tuple(sorted(keys, key=_key_rank))
        if argv is None and text in sensitive:
            rules.append((_rank(calls[0], text), FileRule(
                calls, Action.PERMIT, path=ctx.writer.glob(text), comment=SENSITIVE_COMMENT)))
            del by_text[(text, argv)]
        elif argv is None and text not in kinds and pseudo_kind(text) is None:
            literal.append((calls, text))
            del by_text[(text, argv)]
        elif argv is None and kinds.get(text) in (_GENERATED, _WRITERS_TEMPLATE, _OWN_MOVED) and \
                "/" in text and keys <= fresh_keys[(text, argv)]:
            # (a generated name's shape that is also a pattern not fresh -- the shape of a
            # stash the run met an older file below, _MOVED_IN -- keeps its rules apart)
            # names of one directory made by generators: one rule (cc*.s, cc*.res...)
            parent, _, name = text.rpartition("/")
            generated[(calls, parent, kinds[text] or _GENERATED)].append(name)
            del by_text[(text, argv)]
    # exact paths of the same calls: compacted, then as few rules as stay readable
    by_calls: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for calls, text in compact(literal):
        by_calls[calls].append(text)
    for calls, texts in by_calls.items():
        for text in join(sorted(texts, key=lambda t: t.lstrip("{"))):
            rules.append((_rank(calls[0], text.lstrip("{")),
                          FileRule(calls, Action.PERMIT, path=ctx.writer.glob(text))))
    for (made_by, parent, label), name_globs in generated.items():
        for names in join(sorted(name_globs)):
            text = f"{parent}/{names}"
            glob = ctx.writer.glob(text)
            # (a writer's template stands for temporaries of the names it removed: those)
            paths = [p for n in name_globs for p in seen[f"{parent}/{n}"]
                     if glob.matches(p) or label == _WRITERS_TEMPLATE]
            report.generalizations.append(Generalization(data.name, label, text, made_by,
                                                         len(paths), tuple(paths[:3]), True))
            rules.append((_rank(made_by[0], text), FileRule(
                made_by, Action.PERMIT, path=glob, learned=_provenance(label, paths),
                fresh=True)))
    for (text, argv), all_keys in by_text.items():
        made_only = fresh_keys[(text, argv)] & all_keys
        # (a glob's reads apart from its writes: where it is used, a writing glob matches no
        # name something runs later -- LearnedGlob -- and reading one plants nothing)
        writing = {k for k in all_keys if writes((k,))} if any(
            shape.kind in ("tree", "glob") for shape in ctx.writer.glob(text).shapes) else set()
        for keys, is_fresh in ((all_keys - made_only - writing, False),
                               (writing - made_only, False),
                               (made_only - writing, True), (made_only & writing, True)):
            if not keys:
                continue
            rule_calls = tuple(sorted(keys, key=_key_rank))
            why = kinds.get(text) if argv is None else None
            if why == _OWN_MOVED and not is_fresh:
                why = None  # (the name's other rule: what the run did to it, no widening)
            learned = None
            if why is not None:
                learned = _provenance(why, seen[text])
                report.generalizations.append(Generalization(
                    data.name, why, text, rule_calls, len(seen[text]), tuple(seen[text][:3]),
                    is_fresh))
            rule = FileRule(rule_calls, Action.PERMIT, path=ctx.writer.glob(text),
                            argv=ArgvCondition(argv, ctx.writer.cwd) if argv is not None
                            else None,
                            learned=learned, fresh=is_fresh)
            rules.append((_rank(rule_calls[0], text, argv), rule))

    # network: one rule per (call key, host) with its ports, one per host name the program
    # resolved to the address it connected to (every name: an address several names were
    # resolved to is decided by each), one per unix path pattern
    for (key, syscall), addrs in data.net_uses.items():
        ports: dict[str, set[int]] = defaultdict(set)
        by_name: dict[str, set[int]] = defaultdict(set)
        unix: dict[str, bool] = {}  # pattern -> fresh (a generated name's glob: its text
        #                             says so, no literal or shape is spelled the same)
        for addr in addrs:
            if addr.family == "unix":
                path = addr.path or ""
                if path.startswith("@") or path == "":
                    unix[path] = False
                else:
                    # a generated name's glob covers the sockets the run makes only, as a
                    # file rule's does: the program chose the name ("bus" + six: "bus*",
                    # the session bus; red team 17)
                    pattern = _generalize_path(path, ctx)
                    unix[pattern.text] = pattern.fresh
            elif spelled_names(addr.names) and syscall in aliases.ALIASES["net-connect"]:
                for name in spelled_names(addr.names):
                    by_name[name].add(int(addr.port or 0))
            else:
                ports[str(addr.host)].add(int(addr.port or 0))
        for host, port_set in ports.items():
            port_list = sorted(port_set)
            net = NetCondition(address=host, port=port_list[0] if len(port_list) == 1
                               else port_list)
            rules.append((_rank(key, f"{key} {host}"), FileRule((key,), Action.PERMIT, net=net)))
        for name, port_set in sorted(by_name.items()):
            port_list = sorted(port_set)
            net = NetCondition(host=name, port=port_list[0] if len(port_list) == 1
                               else port_list)
            rules.append((_rank(key, f"{key} host {name}"),
                          FileRule((key,), Action.PERMIT, net=net)))
        for text, only_made in sorted(unix.items()):
            net = NetCondition(unix=text, env=options.env)
            rules.append((_rank(key, f"{key} unix {text}"), FileRule((key,), Action.PERMIT,
                                                                   net=net, fresh=only_made)))
    _merge_same_conditions(rules)

    # calls without arguments: one rule, first (the prefilter answers them in the kernel)
    groups: dict[str, set[str]] = defaultdict(set)
    for syscall in data.plain:
        group = next(iter(sorted(aliases.aliases_of(syscall) - {FSMETA, FSLINK})), "")
        groups[group].add(syscall)
    whole: list[str] = []
    named: list[str] = []
    for group, members in groups.items():
        if bool(group) and not options.no_alias and group not in _NEVER_WHOLE and (
                level == "broad" or (level != "none" and group in SAFE_WHOLE_ALIASES)):
            whole.append(group)
        else:
            named += members
    if whole or named or looked_calls:
        calls = looked_calls + tuple(sorted(whole, key=_group_rank)) + tuple(sorted(named))
        learned = _provenance(_ANY_METADATA, looked_paths) if looked_calls else None
        if learned is not None and calls != looked_calls:
            learned = dataclasses.replace(learned, calls=looked_calls)
        rules.append((_FIRST, FileRule(calls, Action.PERMIT, learned=learned)))
    rules.sort(key=lambda item: item[0])
    out = [r for _, r in rules]

    signals = ("signal",) if not options.no_alias else tuple(sorted(aliases.SIGNAL_CALLS))
    out.append(FileRule(signals, Action.PERMIT, target=TREE, comment=TREE_SIGNALS))

    # no address, or an address no condition can name: permitted after refusing every address
    if data.catch_all:
        calls = tuple(sorted(data.catch_all))
        out.append(FileRule(calls, options.default, net=NetCondition(address=_ANY_IP),
                            comment=_BARRIER_COMMENTS[0]))
        out.append(FileRule(calls, options.default, net=NetCondition(unix=_ANY_UNIX),
                            comment=_BARRIER_COMMENTS[1]))
        out.append(FileRule(calls, Action.PERMIT, comment=_CATCH_ALL_COMMENT))
    return out


def _group_rank(name: str) -> tuple[int, str]:
    return (0 if name == "stdio" else 1, name)


def _merge_same_conditions(rules: list[tuple[_Rank, Rule]]) -> None:
    """Rules with the same condition and action but different calls become one rule."""
    seen: dict[tuple[Any, ...], int] = {}
    i = 0
    while i < len(rules):
        rank, rule = rules[i]
        key = _condition_key(rule)
        if key in seen:
            j = seen[key]
            old = rules[j][1]
            calls = tuple(sorted(set(old.calls) | set(rule.calls), key=_key_rank))
            merged = dataclasses.replace(old, calls=calls)
            if isinstance(old, FileRule):
                merged = dataclasses.replace(old, calls=calls, learned=_merged_provenance(
                    old.learned, getattr(rule, "learned", None)))
            rules[j] = (min(rules[j][0], rank), merged)
            del rules[i]
            continue
        seen[key] = i
        i += 1


def _merged_provenance(first: Provenance | None, second: Provenance | None
                       ) -> Provenance | None:
    if first is None or second is None:
        return first or second
    paths = tuple(dict.fromkeys(first.paths + second.paths))
    return Provenance(first.kind, max(first.seen, second.seen, len(paths)),
                      paths[:MAX_PROVENANCE_PATHS])


def _condition_key(rule: Rule) -> tuple[Any, ...]:
    return (rule.action, rule.errno if rule.action is not Action.PERMIT else 0,
            rule.path.pattern if rule.path is not None else None, rule.fresh, rule.target,
            tuple(sorted((k, repr(v)) for k, v in rule.net.describe().items()))
            if rule.net is not None else None,
            tuple(rule.argv.patterns) if rule.argv is not None else None,
            str(rule.redirect) if rule.redirect is not None else None,
            rule.inject)  # (inject rules merge only when they do the same thing)


def _numbered(rules: list[Rule]) -> list[Rule]:
    return [dataclasses.replace(r, index=i + 1, location=None) for i, r in enumerate(rules)]


# ---------------------------------------------------------------------------------------------
# The entry point


def learn(observations: Iterable[Observation], options: LearnOptions | None = None
          ) -> LearnReport:
    """A policy permitting what the observations did, generalized as ``options`` say."""
    options = options or LearnOptions()
    unique = list(dict.fromkeys(observations))
    ctx = _Context.build(unique, options)
    report = LearnReport(Policy(Table(MAIN, options.default)), observations=len(unique))
    tables = _collect(unique, options, report)
    tables.setdefault(MAIN, _TableData(MAIN))
    main_rules = _table_rules(tables.pop(MAIN), ctx, report)
    policy = Policy(Table(MAIN, options.default, rules=_numbered(main_rules)),
                    description=options.description)
    for name in sorted(tables):
        rules = _table_rules(tables[name], ctx, report)
        # (a program below $CWD, ~ or $TMPDIR is keyed as its exec rule names it: the
        # project's ./configure learned in one checkout is $CWD/configure in the next one,
        # where an absolute key left it without its table; learn22)
        key = ctx.writer.text(name, expand=not is_sensitive(name, ctx.writer.home))
        table = Table(key, options.default, rules=_numbered(rules),
                      expansions=ctx.writer.expansions)
        policy.programs[key] = table
        if not is_literal(key):
            policy.program_patterns[key] = PathGlob(key, expansions=ctx.writer.expansions)
    _linked_grants(policy, unique, ctx, report)
    _grant_environments(policy, unique, ctx)
    report.policy = policy
    return report


_LINKED = "files linked or moved to a name granting more (issue 11)"
#: passes of :func:`_linked_grants` (a grant may widen another link's source's new name)
_LINKED_PASSES = 3


def _observed_table(policy: Policy, obs: Observation) -> Table:
    """The table of ``policy`` an observation's call was made under: main, the program's own,
    or the one the next run's lookup gives it (main where none)."""
    return policy.main if obs.table == MAIN else policy.programs.get(obs.table) or (
        policy.table_for(obs.table) or policy.main)


def _linked_grants(policy: Policy, observations: list[Observation], ctx: _Context,
                   report: LearnReport) -> None:
    """A link or rename may not give a file more access than its own name has
    (model.Table._linked_decision, issue 11): where the learned table grants an observed
    link's or move's new name an access its old name lacks, the old name gets it too --
    by the pattern of the rule that lets the old name be linked or moved (git's
    ``clone --local`` links the source's objects, which the clone's rules read: the
    source's object pattern is read too); below an older directory moved, place by place
    (:func:`_linked_grant`: each exact rule's place, each glob by its rest, below the old
    name -- red team 88).  A file the run made (its name in ``_Context.made``, not older)
    is its own: exempt, as on the next run.  The learning run could use the file through
    its new name: the grant says so under the file's own name, and no other name's
    file gains anything by it."""
    if ctx.options.no_alias:
        return
    moves = [o for o in observations if o.syscall in aliases.TWO_PATH_CALLS
             and len(o.paths) == 2 and not o.failed]
    # (whether the next run tells a file the run made its own: the exemption's condition --
    # the grants below are not fresh, so it does not change)
    notes = notes_made(policy.tables()) or _note_own_moves(policy, moves, ctx, report)
    for _ in range(_LINKED_PASSES):
        grants: dict[tuple[int, str, bool | None], tuple[Table, str, set[str], list[str]]] = {}
        for obs in moves:
            table = _observed_table(policy, obs)
            for role in ("old", "new"):
                if not aliases.renames(obs.syscall, role, obs.selector):
                    continue
                # (in every table: the next run compares the names in each, since a process
                # that execs another table's program decides the file by its new name there
                # -- Supervisor._linked_elsewhere, red team 49 -- by the pattern of the
                # linker's rule)
                for into in (table, *(t for t in policy.tables() if t is not table)):
                    for pattern, keys, tree, path in _linked_grant(
                            table, obs, role, ctx, into, observations, report, notes):
                        key = (id(into), pattern, tree)
                        entry = grants.setdefault(key, (into, pattern, set(), []))
                        entry[2].update(keys)
                        if path not in entry[3]:
                            entry[3].append(path)
        if not grants:
            break
        for (_, pattern, tree), (table, _, keys, paths) in grants.items():
            calls = tuple(sorted(keys, key=_key_rank))
            pattern = _alternatives_naming(pattern, paths, ctx)
            texts = [pattern]
            if tree is None:  # (an older directory itself, _linked_grant: the rule's pattern
                # of the directories, not of what is below them -- run-[0-9][0-9][0-9])
                texts = [pattern[:-3] or "/" if pattern.endswith("/**") else pattern]
            elif tree:
                texts.append(pattern.rstrip("/") + "/**")
            for text in texts:
                table.rules.append(FileRule(calls, Action.PERMIT, path=ctx.writer.glob(text),
                                            learned=_provenance(_LINKED, paths)))
                report.generalizations.append(Generalization(
                    table.name, _LINKED, text, calls, len(paths), tuple(paths[:3])))
            table.rules[:] = _numbered(table.rules)
    for obs in moves:  # (what is left: the next run's move is refused; the summary says so)
        for role in ("old", "new"):
            source, target = (obs.paths[0], obs.paths[1]) if role == "old" else \
                (obs.paths[1], obs.paths[0])
            if (aliases.renames(obs.syscall, role, obs.selector) and role in obs.directories
                    and (source.path not in ctx.made or role in obs.older)
                    and not is_sensitive(source.path, ctx.writer.home)
                    and source.path not in report.older_unwidened
                    and any(into.linked_shortfall(source.path, target.path, True)
                            for into in policy.tables())):
                report.older_unwidened.append(source.path)


def _alternatives_naming(pattern: str, paths: Sequence[str], ctx: _Context) -> str:
    """The alternatives of ``pattern`` (braces expanded) that match one of ``paths``, as one
    pattern; the whole pattern when it has one alternative or none matches.  The rule that
    lets an old name be linked or moved may be a category's, whose alternatives name every
    library directory, the Python trees, the locale data and the CA certificates: its
    pattern taken whole, a move of one directory of a venv's site-packages (pip's stash of
    ``__pycache__`` at uninstall) granted writing ``/usr/lib/**/*.so*``, ``/etc/ld.so.cache``
    and ``/etc/ssl/certs/**`` (newuser18).  The alternative that names the file keeps the
    rule's generalization of it (its ``**``, its hashes) for the next run's name."""
    spellings = ctx.writer.glob(pattern).spellings()
    if len(spellings) < 2:
        return pattern
    try:
        kept = [text for text in spellings
                if any(ctx.writer.glob(text).matches(path) for path in paths)]
    except GlobError:  # (an empty alternative, `{,x}`: the pattern as written)
        return pattern
    if not kept or len(kept) == len(spellings):
        return pattern
    return kept[0] if len(kept) == 1 else "{" + ",".join(kept) + "}"


_NOTED = "files the run made, linked or renamed (the next run notes its own)"


def _own_source(obs: Observation, role: str, ctx: _Context) -> str | None:
    """The old name (``role``) of a link or move whose file the run made -- not an older
    file there then (``Observation.older``) --, or None."""
    source = obs.paths[0] if role == "old" else obs.paths[1]
    return source.path if source.path in ctx.made and role not in obs.older else None


def _note_own_moves(policy: Policy, moves: Sequence[Observation], ctx: _Context,
                    report: LearnReport) -> bool:
    """A policy with no ``fresh`` rule whose run linked or moved files it made: each such old
    name is granted ``fslink`` by a ``fresh`` rule as well, in the mover's table -- nothing
    more than its plain rule grants, but the next run's engine then notes what the run makes
    (model.notes_made), so the move of its own file there is exempt from the "gains no
    access" comparison in every table (``Facts.fresh``).  Why (close 40): without the notes
    the fallback (a) of :func:`_linked_grant` had to grant the old name what the new one has
    in every table that reads the new one -- ``cat``'s table read ``o/t.tmp`` although cat
    never read it, and an outsider's file planted there was read (review 66); now (a) grants
    only the mover's table, and another table's reader of the new name refuses the move of
    a file that is not the run's own.  Returns whether it added any (the notes are on)."""
    added: dict[tuple[int, str], tuple[Table, list[str]]] = {}
    for obs in moves:
        for role in ("old", "new"):
            source = _own_source(obs, role, ctx) if aliases.renames(
                obs.syscall, role, obs.selector) else None
            if source is None or is_sensitive(source, ctx.writer.home):
                continue
            table = _observed_table(policy, obs)
            text = ctx.writer.text(source)
            entry = added.setdefault((id(table), text), (table, []))
            if source not in entry[1]:
                entry[1].append(source)
    for (_, text), (table, paths) in added.items():
        table.rules.append(FileRule((FSLINK,), Action.PERMIT, path=ctx.writer.glob(text),
                                    fresh=True, learned=_provenance(_NOTED, paths)))
        report.generalizations.append(Generalization(
            table.name, _NOTED, text, (FSLINK,), len(paths), tuple(paths[:3])))
    for table in {id(t): t for t, _ in added.values()}.values():
        table.rules[:] = _numbered(table.rules)
    return bool(added)


def _linked_grant(table: Table, obs: Observation, role: str, ctx: _Context,
                  into: Table | None, observations: Sequence[Observation],
                  report: LearnReport, notes: bool = True
                  ) -> list[tuple[str, set[str], bool | None, str]]:
    """What the old name (``role``) of a link or move lacks of its new name's grants on
    the next run, in the table ``into`` (the linker's, ``table``, when None; another one's:
    red team 49): the pattern of the rule of ``table`` that lets it be linked (the grant's),
    the class keys to grant, whether the file is a directory, and its name.  A directory the
    run made is its own but for the older files linked or moved below it
    (``Observation.older_inside``): each of those, by its own name, at its name below the
    new one (cargo's session directory: the last session's files linked in).  An older
    directory moved is granted, over its tree, only what the run did to older files below
    either name, and itself what the run did to it by the new name (:func:`_older_uses`);
    a move that needs more is left to be refused on the next run
    (``LearnReport.older_unwidened``).  An exact rule below either name (``fsread
    DIR/data/a.txt``) is granted at its own place below the old name alone
    (``DIR.old/data/a.txt``: the same file's other name), as the next run's engine compares
    it (model.exact_places), and only what the run did to an older file at that place by
    either name (:func:`_older_uses_at`); a glob written below the new name by the same rest
    below the old one (:func:`_rebased_globs`).  Never the pattern of the moving rule and
    ``/**``: one exact read made it ``DIR.old/**`` and then ``DIR/**``, a read of all the
    tree held (red team 88, learn_roundtrip.c) -- but for a directory of a generated
    name's shape moved by that shape's rule and rotated away (:func:`_rotated_away`:
    removed under its new name, nothing moved back onto the old one; close 51), granted
    that shape's trees for the classes the run used below.

    A file the run made is exempt only where the next run tells it its own: its engine
    notes what the run makes (``notes``, model.notes_made: some rule of the policy is
    ``fresh``, as :func:`_own_moved` makes the rule of such a move where it can) and the
    name is not left there for the next run to meet as an older file (``_Context.kept``: a
    link's kept source; an exchange's two names, both left holding a file).  Elsewhere it
    is granted as an older file is -- the old name gets what the new one has, by the
    pattern of its own rule, no wider --: review 63's atomic save, learned with no fresh
    rule, was refused on its next run."""
    source = obs.paths[0] if role == "old" else obs.paths[1]
    target = obs.paths[1] if role == "old" else obs.paths[0]
    older_tree = False
    exchange = all(aliases.renames(obs.syscall, arg.role, obs.selector) for arg in obs.paths)
    own_source = _own_source(obs, role, ctx) is not None
    if own_source and notes and not exchange and source.path not in ctx.kept:
        # (the run's own: exempt, Facts.fresh on the next run -- but its older files)
        compared = [(own, target.path + tail, tree, "link")
                    for r, tail, own, tree in obs.older_inside if r == role]
    elif own_source and into is not None and into is not table:
        # (a file the run made, which the next run meets at the name (kept, an exchange's)
        # or does not tell its own: granted in the mover's table alone -- a table that only
        # read the new name never read the old one, and would read an outsider's file
        # planted there by name, and moved: review 66.  Its move of a file not the run's own
        # is refused there, as it may be: _note_own_moves)
        return []
    else:
        older_tree = role in obs.directories
        compared = [(source.path, target.path, older_tree, obs.syscall)]
    found: list[tuple[str, set[str], bool | None, str]] = []
    compiled = table.compiled()
    checked = into or table
    for own, new, tree, syscall in compared:
        if is_sensitive(own, ctx.writer.home):
            continue  # (never widened: the next run's move is refused, as it may be)
        places: list[tuple[str, list[tuple[tuple[str, str, int | None], Action, Action]]]] = []
        if older_tree and syscall == obs.syscall:
            # (an older directory: each exact rule's place on its own; the rest by rests or shapes)
            shortfall = checked.linked_shortfall(own, new, tree, places=False)
            exact = exact_places(checked.rules, own, new)
            for tail in exact[0] if exact is not None else ():
                short = checked.linked_shortfall(own + tail, new + tail, False)
                if short and not is_sensitive(own + tail, ctx.writer.home):
                    places.append((own + tail, short))
        else:
            shortfall = checked.linked_shortfall(own, new, tree)
        if not shortfall and not places:
            continue
        if syscall == obs.syscall:
            facts = CallFacts(obs.syscall, obs.paths, selector=obs.selector,
                              directories=frozenset(obs.directories))
            selector, at = obs.selector, role
        else:  # (the link that brought an older file in: the rule letting its name be linked)
            facts = CallFacts(syscall, (PathArg("old", own), PathArg("new", new)),
                              directories=frozenset(["old"] if tree else []))
            selector, at = None, "old"
        rule = None
        for cls, part in checks_of(syscall, at, None, selector):
            rule = compiled.check(syscall, cls, part).first_match(facts, at)
            if rule is not None:
                break
        if rule is None or rule.path is None or rule.fresh or \
                rule.action is not Action.PERMIT:
            continue  # (a default or a pathless rule decides the name: nothing to widen)
        for place, short in places:  # (its other name, exactly: nothing else of the tree)
            # (only what the run did to an older file at that place by either name: a file
            # it made there is its own -- red team 81's stash, left to be refused)
            used = _older_uses_at(observations, (place, new + place[len(own):]), ctx)
            exact_keys = {key for key in _shortfall_keys(short) if key == FSMETA or key in used}
            if "fsread" in exact_keys:
                exact_keys.discard(FSMETA)  # (fsread covers looking)
            if exact_keys:
                found.append((ctx.writer.text(place), exact_keys, False, place))
        keys = _shortfall_keys(shortfall)
        if not keys:
            continue
        if older_tree and syscall == obs.syscall:
            # (an older directory's whole tree: only what the run did to the older files
            # below either name -- a file it made there is its own, no reason to read or
            # write all the directory held -- and the directory itself only what the run did
            # to it by the new name: red team 81)
            here, below = _older_uses(observations, new, ctx)
            below |= _older_uses(observations, own, ctx)[1]  # (moved there and back)
            wide = {key for key in keys if key == FSMETA or key in below}
            # (the directory itself: what its new name has more of, that the run did to it)
            alone = {key for key in _shortfall_keys(checked.linked_shortfall(own, new, False))
                     if key in here}
            if "fsread" in alone:
                alone.discard(FSMETA)
            if alone:
                found.append((rule.path.pattern, alone, None, own))
            # (below it, place by place: each glob of the new name's, by the same rest below
            # the old name -- never the pattern of the rule that moves it and all below,
            # which one rule of a few files made a read of all the tree held: red team 88.
            # What no glob rebased covers is left: the next run's move is refused)
            found += _rebased_globs(checked, own, new, wide, ctx)
            pattern = rule.path.pattern
            directories = ctx.writer.glob(pattern[:-3] if pattern.endswith("/**") else pattern)
            if directories.exact_paths() is not None or not wide or \
                    not _rotated_away(observations, own, new):
                continue
            # (a directory of a generated name's shape, moved by the rule of that shape and
            # rotated away -- a counter's oldest run-101 renamed to garbage-UUID and removed,
            # whose rules are the shapes' learned globs, compared by shapes: that shape's
            # trees, the classes the run used below, as before red team 88; a named
            # directory is never so, nor one moved back: close 51)
            keys = wide
        if "fsread" in keys:
            keys.discard(FSMETA)  # (fsread covers looking)
        found.append((rule.path.pattern, keys, tree, own))
    return found


def _rotated_away(observations: Sequence[Observation], own: str, new: str) -> bool:
    """Whether the run rotated the older directory ``own`` away by its move to ``new``: it
    removed ``new`` (a call of :data:`aliases.REMOVE_CALLS` naming it: pytest's
    ``garbage-UUID``, renamed and removed by ``rmtree``) and moved or linked nothing onto
    ``own`` (no call's destination, nor either name of an exchange).  Only such a directory
    is granted over its shape's trees (:func:`_linked_grant`'s kept case): the next run's
    rotation meets another older directory of that shape each time, whose name and
    contents the run could not know.  A directory moved aside and back is no rotation:
    the run knew its name and its places, so it is granted place by place only -- by the
    shape, one read below a user's ``backup-2026-12-08_20-05-29`` or UUID-named directory
    moved to ``.old`` and back granted reading every tree of that shape, another UUID's
    never touched (review 76).  Why not the removal's classes alone (no ``fsread``):
    ``rmtree`` lists each directory it removes, a read the rotation needs on its next run.
    Judged by the calls, not their results (the monitor records a failure for execs
    only): a removal that failed still counts, but a move back is seen either way."""
    removed = False
    for obs in observations:
        if obs.failed:
            continue
        if obs.syscall in aliases.REMOVE_CALLS and any(arg.path == new for arg in obs.paths):
            removed = True
        elif obs.syscall in aliases.TWO_PATH_CALLS and len(obs.paths) == 2:
            exchange = all(aliases.renames(obs.syscall, arg.role, obs.selector)
                           for arg in obs.paths)
            onto = obs.paths if exchange else obs.paths[1:]
            if any(arg.path == own for arg in onto):
                return False
    return removed


def _rebased_globs(table: Table, own: str, new: str, keys: set[str], ctx: _Context
                   ) -> list[tuple[str, set[str], bool | None, str]]:
    """Grants below the old name ``own`` of a directory moved to ``new``: each ``permit``
    rule of ``table`` (not fresh) whose pattern is written below ``new`` and names some
    places below it (``PathGlob.below``), written below ``own`` instead, for the classes
    of ``keys`` it grants (``$CWD/work/data/*`` read: ``$CWD/work.old/data/*``).  The next
    run's engine compares two patterns of the same rest at the same places
    (model._outcomes), so the move gives no file below either name more; an exact rule's
    place is granted by :func:`_linked_grant` itself."""
    prefix = ctx.writer.text(new) + "/"
    base = ctx.writer.text(own)
    found: list[tuple[str, set[str], bool | None, str]] = []
    for rule in table.rules:
        path = rule.path
        if path is None or rule.fresh or rule.injects or rule.action is not Action.PERMIT \
                or rule.argv is not None or rule.target is not None \
                or not path.pattern.startswith(prefix):
            continue
        below = getattr(path, "below", None)
        exact = getattr(path, "exact_paths", None)
        if below is None or below(new) is None or (exact is not None and exact()):
            continue
        granted = {key for key in keys if key in rule.calls or key in rule.classes}
        if "fsread" in granted:
            granted.discard(FSMETA)
        text = base + "/" + path.pattern[len(prefix):]
        if granted:  # (own is never a sensitive path: _linked_grant skips those first)
            found.append((text, granted, False, own))
    return found


def _shortfall_keys(shortfall: Sequence[tuple[tuple[str, str, int | None], Action, Action]]
                    ) -> set[str]:
    """The class keys (a class, or ``fsmeta``) that grant the accesses of a
    ``Table.linked_shortfall``."""
    keys: set[str] = set()
    for (call, path_role, flags), _, _ in shortfall:
        for cls, part in checks_of(call, path_role, flags, None):
            keys.add(part if part == FSMETA else cls or call)
    return keys


def _older_uses_at(observations: Sequence[Observation], paths: Sequence[str], ctx: _Context
                   ) -> frozenset[str]:
    """The keys (:func:`_older_uses`') of what the run did to a file it did not make at one
    of ``paths`` (one place below a moved directory, by its two names; red team 88)."""
    made = ctx.made
    found: set[str] = set()
    for obs in observations:
        if obs.failed:
            continue
        for facts in obs.all_facts():
            for cls, arg in facts.checks():
                if arg is None or cls is None or arg.path not in paths or (
                        arg.path in made and arg.role not in obs.older):
                    continue
                part = aliases.part_of(facts.syscall, arg.role, cls, facts.selector)
                found.add(part if part == FSMETA else cls)
    return frozenset(found)


def _older_uses(observations: Sequence[Observation], directory: str, ctx: _Context
                ) -> tuple[frozenset[str], frozenset[str]]:
    """The keys (:func:`_linked_grant`'s: a class, or ``fsmeta``) of what the run did to
    ``directory`` itself, and to the files strictly below it that it did not make (an older
    file, or one at a name it made before: Observation.older).  A directory moved carries
    its files: what the run did to them by their new names it did to the old directory's
    files; what it did to files it made there afterwards it did to its own (red team 81:
    ``learn_stash.c`` moved the user's directory aside, wrote and read a file of its own in
    it and moved it back -- the old name was granted reading and writing its whole
    tree).  Once per directory (_Context.older_uses): every table and pass asks again."""
    known = ctx.older_uses.get(directory)
    if known is not None:
        return known
    made = ctx.made
    prefix = directory.rstrip("/") + "/"
    here: set[str] = set()
    below: set[str] = set()
    for obs in observations:
        if obs.failed:
            continue
        for facts in obs.all_facts():
            for cls, arg in facts.checks():
                if arg is None or cls is None:
                    continue
                if arg.path == directory:
                    into = here
                elif arg.path.startswith(prefix) and (
                        arg.path not in made or arg.role in obs.older):
                    into = below
                else:
                    continue
                part = aliases.part_of(facts.syscall, arg.role, cls, facts.selector)
                into.add(part if part == FSMETA else cls)
    known = ctx.older_uses[directory] = (frozenset(here), frozenset(below))
    return known


def _grant_environments(policy: Policy, observations: Iterable[Observation], ctx: _Context
                        ) -> None:
    """Each program table grants the loader and interpreter variables the execs into it
    carried (Observation.environment), found as the supervisor finds the table an exec
    enters: by the exec's path (Policy.table_for).  Values are kept exactly
    (:func:`_environment_grant`): a caller's other values stay refused (docs/policy.md,
    ``environment``)."""
    granted: dict[str, dict[str, None]] = {}
    for obs in observations:
        if not obs.environment or obs.failed or obs.syscall not in aliases.EXEC_CALLS:
            continue
        path = next((p.path for p in obs.paths if p.role == "path"), None)
        table = policy.table_for(path) if path is not None else None
        if table is not None:
            granted.setdefault(table.name, {}).update(
                dict.fromkeys(_environment_grant(entry, ctx) for entry in obs.environment))
    for name, entries in granted.items():
        table = policy.programs[name]
        table.environment = tuple(sorted({*table.environment, *entries}))


def _environment_grant(entry: str, ctx: _Context) -> str:
    """The grant of one variable an exec carried: its value exactly (``literal_grant``) --
    but a value of paths (``environment.PATH_VARIABLES``) that names a directory the run
    made under a generated name, or a path below one, is a glob of paths, each element the
    path's learned glob: pip starts its build backend with
    ``PYTHONPATH=$TMPDIR/pip-build-env-XXXXXXXX/site``, another name each run, and the
    literal value refused the next run's exec (``pip install`` of a project with a
    ``pyproject.toml`` failed); so is one naming a path below ``$CWD``, ``~`` or ``$TMPDIR``,
    written with the variable.  The glob admits that shape's older directories too (a grant
    has no ``fresh``); the caller could make such a directory itself under its fresh rules
    anyway.  Every element must be plain (absolute, no ``..``, no empty element: only a
    literal admits those), else the value stays literal."""
    literal = literal_grant(entry)
    name, _, value = entry.partition("=")
    form = PATH_VARIABLES.get(name)
    if form is None or ctx.options.generalize == "none":
        return literal
    parts = split(form, value)
    # (or a path below $CWD, ~ or $TMPDIR, written with the variable as its path rules are:
    # cargo starts rustc with LD_LIBRARY_PATH=$CWD/target/debug/deps:..., and the literal
    # value of the learning checkout refused the exec in the next one -- learn22)
    if not any(ctx.below_generated(p) or ctx.writer.text(p) != ctx.writer.text(p, expand=False)
               for p in parts if p.startswith("/")) or \
            not all(is_plain(p, form) for p in parts):
        return literal
    globs = list(dict.fromkeys(_generalize_path(p, ctx).text if ctx.below_generated(p)
                               else ctx.writer.text(p) for p in parts))
    if len(globs) > 1 and any("," in g for g in globs):
        return literal
    grant = f"{name}={globs[0] if len(globs) == 1 else '{' + ','.join(globs) + '}'}"
    return literal if grant_error(grant, ctx.writer.expansions) is not None else grant


def decide_observation(policy: Policy, obs: Observation,
                       table_for: Callable[[str], Table | None] | None = None) -> Decision:
    """How ``policy`` decides an observation: "main", the table of that name (a log's
    observations are placed by table key: ``policy coverage``), else the table its program
    takes at run time -- ``table_for``, a run's :class:`~systrace_py.supervisor.PolicySet`'s
    that knows the policy directory (the summary of a merge: review 58), or
    ``policy.table_for`` -- else the main table."""
    if obs.table == MAIN:
        table = policy.main
    elif table_for is not None:
        table = table_for(obs.table) or policy.main
    else:
        table = policy.programs.get(obs.table) or policy.table_for(obs.table) or policy.main
    worst: Decision | None = None
    for facts in obs.all_facts():
        decision = table.decide(facts)
        if worst is None or decision.action.severity > worst.action.severity:
            worst = decision
    assert worst is not None
    return worst


# ---------------------------------------------------------------------------------------------
# Merging (learning with --merge, and answers remembered by the interactive front end)


def _is_barrier(rule: Rule) -> bool:
    """One of the learner's "any other address" rules (see docs/learning.md): of its shape
    and with its comment.  The shape alone is also how a person writes "no network"
    (``never net-connect`` of ``0.0.0.0/0`` and ``::/0``), and a merge put the learned
    address permits before such a rule of the person's: the merged file let the next run
    connect where that rule refused (red team 84).  A person's rule keeps deciding; the
    learner's own "any other" rules stay after the addresses learned since."""
    if rule.action is Action.PERMIT or rule.net is None or rule.path is not None or \
            getattr(rule, "comment", None) not in _BARRIER_COMMENTS:
        return False
    described = rule.net.describe()
    return described.get("address") == _ANY_IP or described.get("unix") == _ANY_UNIX


def _is_catch_all(rule: Rule) -> bool:
    """The learner's unconditional permit of calls that carry addresses, after its "any
    other address" rules: must stay after them.  By its comment too: a person's own
    ``permit net-connect`` at the top of a table is of that shape, and a merge put every
    learned rule before it -- in front of the person's ``never`` rules after it (red team
    84)."""
    return (rule.action is Action.PERMIT and not rule.conditional and rule.redirect is None
            and getattr(rule, "comment", None) == _CATCH_ALL_COMMENT
            and any(aliases.expand(c) & aliases.ADDRESS_CALLS for c in rule.calls))


def _covered(existing: Sequence[Rule], rule: Rule, env: Mapping[str, str] | None,
             position: str) -> bool:
    """Whether adding ``rule`` would change nothing.

    True when an existing rule with the same action does at least as much (same or wider
    calls; the same condition, or a path glob matching the new rule's literal path) and no
    rule before it could decide the same calls otherwise (a person's ``never`` or ``ask``
    in front of it).  At the end of a table an identical rule anywhere also makes the new
    one dead weight.
    """
    key = _condition_key(rule)
    calls = set(rule.calls)
    names = _names_covered(rule)
    literal_path: str | None = None
    if rule.path is not None and rule.net is None and rule.argv is None and rule.redirect is None:
        text = rule.path.pattern
        if "\\" not in text:
            try:
                literal_path = expand_path(text, env)
            except GlobError:
                literal_path = None
    shadowed = False
    for old in existing:
        same = old.action is rule.action and calls <= _names_covered(old)
        if same and _condition_key(old)[2:] == key[2:] and (
                position == "end" or not shadowed):
            return True
        if same and not shadowed and literal_path is not None and old.path is not None and (
                old.net is None and old.argv is None and old.redirect is None
                and not old.fresh and old.path.matches(literal_path)):
            return True
        if old.action is not rule.action and _names_covered(old) & names:
            shadowed = True
    return False


def _names_covered(rule: Rule) -> set[str]:
    """The names a rule's calls stand for: its words, and every call of its aliases."""
    out = set(rule.calls)
    for name in rule.calls:
        if name in aliases.ALIASES:
            out |= aliases.ALIASES[name]
    return out


def _plain_permit(rule: Rule) -> bool:
    """A permit that only permits (no redirect): a rule put before it overtakes no refusal,
    so it does not keep a learned address rule behind the learner's "any other address"
    rules (a learned rule the learner itself appends after them -- a linked file's grant --
    left the next merge's address permits at the end, deciding nothing: CI67's seed)."""
    return rule.action is Action.PERMIT and rule.redirect is None


def merge_rules(policy: Policy, table_name: str, rules: Iterable[Rule], *,
                position: str | int = "end", env: Mapping[str, str] | None = None,
                candidates: Sequence[Table] | None = None,
                notes: list[str] | None = None) -> Policy:
    """A copy of ``policy`` with ``rules`` added to one table; the original is not changed.

    ``table_name`` is "main" or a program path.  A missing program table is created by
    :func:`carried_table` from ``candidates`` -- the tables the program could have run
    under before (default: :func:`_candidates` of ``policy``) -- never from the learned
    table's default (review 58: ``-A --default permit`` made the new table permit what
    every caller refused).  Rules the table already has (or covers with a wider rule of the
    same action) are skipped.  ``position``: "end" (learning: a person's own rules stay
    first and keep deciding) or "start" (an interactive answer: it was given for a call the
    existing rules did not settle, and the supervisor applies it first), or an index into
    the table's rules (a remembered answer: just before the rule that asked,
    ``PolicyStore._file_place``) -- the rules are put there in order.

    At the end: a learned rule goes after every rule of the table, but a rule of calls that
    carry addresses goes before the learner's "any other address" rules when nothing but
    the learner's own rules, plain permits (:func:`_plain_permit`) or ones added now follow
    them -- a rule a person appended to a learned table stands after those, and a learned
    rule put before them overtook it
    (review 58: the next run read what the person's ``never`` refused).  Otherwise it goes
    at the end, where it may decide nothing: that fails closed, and the summary names what
    is still refused.  ``notes``: what the merge could not carry is said there.
    """
    if position not in ("start", "end") and not isinstance(position, int):
        raise ValueError("position is 'start', 'end' or an index")
    main = _copy_table(policy.main)
    programs = {k: _copy_table(t) for k, t in policy.programs.items()}
    out = Policy(main, programs, dict(policy.program_patterns), policy.source,
                 policy.description, policy.trusted_filesystems)
    table: Table | None = main if table_name == MAIN else programs.get(table_name)
    if table is None:
        table, carried = carried_table(
            table_name, candidates if candidates is not None else
            _candidates(policy, table_name))
        if not carried and notes is not None:
            notes.append(f"table {table_name} is new: it starts with the refusals of every "
                         "table the program could have run under before and their strictest"
                         " default, not their permits (several of them refuse by default) --"
                         " what it did not do while learning is refused")
        programs[table_name] = table
        if not is_literal(table_name):
            out.program_patterns[table_name] = PathGlob(table_name, env)
    current = list(table.rules)
    added: set[int] = set()
    added_front = 0
    if isinstance(position, int):
        added_front = max(0, min(position, len(current)))
    for rule in rules:
        if isinstance(position, int):
            # (a rule before the place that does as much decides first, whatever is between;
            # one after it, when nothing between decides otherwise)
            if _covered(current[:added_front], rule, env, "end") or \
                    _covered(current[added_front:], rule, env, "start"):
                continue
        elif _covered(current, rule, env, position):
            continue
        if _is_catch_all(rule):
            where = len(current)
        elif _is_barrier(rule):
            where = next((i for i, r in enumerate(current) if _is_catch_all(r)), len(current))
        elif position == "start" or isinstance(position, int):
            where = added_front
            added_front += 1
        else:
            where = len(current)
            if any(aliases.expand(c) & aliases.ADDRESS_CALLS for c in rule.calls):
                first = next((i for i, r in enumerate(current)
                              if _is_barrier(r) or _is_catch_all(r)), None)
                if first is not None and all(_is_barrier(r) or _is_catch_all(r)
                                             or id(r) in added or _plain_permit(r)
                                             for r in current[first:]):
                    where = first
        current.insert(where, rule)
        added.add(id(rule))
    table.rules = _numbered(current)
    return out


def refusals(tables: Iterable[Table]) -> list[Rule]:
    """The rules of ``tables`` that do more than permit -- ``never``, ``inject`` (its errno
    makes a call fail without running: review 58), and an ``ask`` or a ``redirect`` turned
    into a ``never`` of the same calls and arguments -- each once, in order: what a table
    :func:`carried_table` makes from several starts with.  Not the learner's "any other
    address" rules where they stand for their own table's default ``never``; where a person
    changed that default (to ``permit``, or ``ask``) they are the table's only refusal of
    other addresses and are kept (review 61).

    Without such a table, a process that execs the program keeps its caller's table, where
    those rules decided; with it, it takes the new table from every caller.  Made of the
    learned rules alone (or of a copy of one caller's table), the new table let the program
    do what another table's rule refused (red team 84: ``never fsread $CWD/victim/**`` in
    one table, and the next ``cat victim/secret.txt`` from it read the secret).  An ``ask``
    (a person may approve) or a ``redirect`` (a permit of another file) is no refusal: put
    in front of another table's ``never`` of the same call it overtook it -- the new table
    asked, or permitted, what that table refused (review 61).  As a ``never`` it fails
    closed: a call that table would have asked about, or redirected, is refused.

    An ``inject`` rule is carried only as far as it refuses: its ``errno`` (with its
    ``when`` and ``scope``), without ``delay`` or ``signal``; one with no ``errno``
    (``retval``, a ``delay`` or a ``signal`` alone) is no refusal and is not carried -- a
    ``retval = 0`` of ``setuid`` carried into another program's table faked a success, a
    privilege drop (review 69)."""
    kept: list[Rule] = []
    for table in tables:
        for rule in table.rules:
            if not (rule.action in (Action.NEVER, Action.ASK, Action.INJECT)
                    or rule.redirect is not None):
                continue
            if _is_barrier(rule) and table.default is Action.NEVER:
                continue
            if rule.action is Action.INJECT and rule.redirect is None:
                injection = rule.inject
                if injection is None or injection.errno is None:
                    continue
                rule = dataclasses.replace(rule, inject=dataclasses.replace(
                    injection, retval=None, signal=None, delay=0.0, delay_exit=0.0))
            rule = unplaced(rule)
            if rule.action is Action.ASK or rule.redirect is not None:
                rule = dataclasses.replace(rule, action=Action.NEVER, redirect=None)
            if rule not in kept:  # (one rule of several tables, once)
                kept.append(rule)
    return kept


#: the order refusals of several tables are put in: the strictest first, so that where two
#: tables' rules pick one call the new table decides it as the stricter did
_REFUSAL_ORDER = {Action.NEVER: 0, Action.INJECT: 1}


def carried_table(name: str, candidates: Sequence[Table], prefer: Table | None = None
                  ) -> tuple[Table, bool]:
    """The table a program that had none gets (a merge's new table; an answer's ``for
    program`` table, ``PolicyStore.program_table``), made so that it decides every call at
    least as strictly as each of ``candidates`` -- the tables the program could have run
    under before: from any caller, the one ``table_for`` gave it (a glob table claiming it,
    its own file in the policy directory), else the caller's, any table -- and whatever is
    learned or answered is added to it afterwards.  Returns the table and whether it
    carries the candidates' permits too (False: it refuses more than they did).

    * One candidate: a copy of it, in order -- rules, default, errno: an exception the
      person wrote before a refusal keeps deciding (review 58: a merge that carried the
      ``never`` alone refused the file the person's ``permit`` in front of it let through).
    * Several, at most one of them refusing by default: the refusals of the others
      (:func:`refusals`, strictest first), then a copy of that one's rules, in order
      (``prefer``, else the first, when every one permits by default), with its default.
      A call its rules permit is permitted by every other candidate's default, unless one
      of their refusals -- already in front -- picks it; its own exceptions keep deciding.
    * Several refusing by default: their refusals and the strictest default, no permit
      (one table's permit may be what another's default refuses; a first-match table cannot
      say "permitted by all of them"): fails closed.
    Never a candidate's ``environment`` grants (a caller's grants for an exec into it)."""
    unique = list({id(t): t for t in candidates}.values())
    if not unique:
        raise ValueError("no table the program could have run under")
    if len(unique) == 1:
        return _fresh_table(name, unique[0], [unplaced(r) for r in unique[0].rules]), True
    strict = [t for t in unique if t.default is not Action.PERMIT]
    if len(strict) <= 1:
        base = strict[0] if strict else next((t for t in unique if t is prefer), unique[0])
        kept = _strictest_first(refusals(t for t in unique if t is not base))
        rules = kept + [r for r in map(unplaced, base.rules) if r not in kept]
        return _fresh_table(name, base, rules, unique), True
    worst = max(strict, key=lambda t: t.default.severity)
    return _fresh_table(name, worst, _strictest_first(refusals(unique)), unique), False


def _strictest_first(rules: list[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: _REFUSAL_ORDER.get(r.action, 3))


def _fresh_table(name: str, like: Table, rules: list[Rule], among: Sequence[Table] = ()
                 ) -> Table:
    """A table of ``rules`` with ``like``'s default and errno -- and, of several candidates
    (``among``), the strictest of their ways of refusing: ``missing = "errno"`` (a refusal
    does not tell whether the file exists) if any has it, ``dns_refused = "nxdomain"`` (the
    program learns no address) if any has it, ``allow_detach`` only if every one allows it.
    Taken from ``like`` alone, a caller's ``missing = "errno"`` was lost for the program it
    calls (review 61)."""
    tables = [like, *among]
    missing = Missing.ERRNO if any(t.missing == Missing.ERRNO for t in tables) else like.missing
    dns = (DnsRefused.NXDOMAIN if any(t.dns_refused == DnsRefused.NXDOMAIN for t in tables)
           else like.dns_refused)
    return Table(name, like.default, like.default_errno, rules=rules,
                 allow_detach=all(t.allow_detach for t in tables), missing=missing,
                 dns_refused=dns, expansions=like.expansions)


def _candidates(policy: Policy, table_name: str,
                table_for: Callable[[str], Table | None] | None = None,
                tables: Sequence[Table] | None = None) -> list[Table]:
    """The tables a program (a table's key) could have run under before a merge gives it a
    table: the one ``table_for`` (a run's lookup, the policy directory's files included;
    default ``policy.table_for``) gives it -- from every caller -- else any of ``tables``
    (default: ``policy``'s).  A key that is no literal path as written -- ``$CWD/x``,
    ``~/bin/x``, ``$TMPDIR/x``, a glob -- stands for a different program wherever the next run
    expands it: any table, every file of the policy directory included, not the one this
    run's expansion finds (review 61: ``$CWD/mycat`` copied ``p1/mycat``'s own file and, in
    ``p2``, shadowed ``p2/mycat``'s, whose refusals nothing carried).  The key is not
    expanded."""
    everything = list(tables) if tables is not None else policy.tables()
    if is_literal(table_name):  # (one program: the table the next run's lookup gives it)
        found = (table_for or policy.table_for)(table_name)
        if found is not None and found.name not in (MAIN, table_name) and \
                not is_literal(found.name) and holds_expansion(found.name):
            # (a glob spelled with an expansion -- ``$CWD/**`` -- claims the program only
            # where the next run's expansion reaches it; from elsewhere it runs under any
            # table: review 65)
            return [found, *everything]
        if found is not None:
            return [found]
    return everything


def _copy_table(table: Table) -> Table:
    return dataclasses.replace(table, rules=list(table.rules))


def merge_policies(base: Policy, learned: Policy, env: Mapping[str, str] | None = None, *,
                   table_for: Callable[[str], Table | None] | None = None,
                   tables: Sequence[Table] | None = None,
                   notes: list[str] | None = None) -> Policy:
    """``base`` widened by everything ``learned`` permits (``--merge``): each learned table's
    rules merged into the table of the same name (:func:`merge_rules`), new program tables
    made by :func:`carried_table` from the tables the program could have run under before
    -- ``table_for`` and ``tables``: the next run's lookup and every table a program may be
    exec'd from, the policy directory's files included (``PolicySet``'s; default: ``base``
    alone).  A program's own file in the directory is looked at after the command's file,
    so a table merged into this one shadows it: made of ``base`` alone it dropped that
    file's refusals (review 58)."""
    out = base
    for table in learned.tables():
        candidates = None
        if table.name != MAIN and table.name not in base.programs:
            candidates = _candidates(base, table.name, table_for, tables)
            own = [t for t in candidates if t is not base.main
                   and all(t is not b for b in base.tables())]
            if len(candidates) == 1 and own and notes is not None:
                notes.append(f"table {table.name} is new in this file: it copies the program's"
                             " own file in the policy directory, which it now shadows (edit "
                             "it here from now on)")
        out = merge_rules(out, table.name, table.rules, env=env, candidates=candidates,
                          notes=notes)
        if table.environment:
            merged = out.programs[table.name]
            merged.environment = tuple(sorted({*merged.environment, *table.environment}))
    if out.description is None:
        out.description = learned.description
    return out


# ---------------------------------------------------------------------------------------------
# The summary


def format_summary(report: LearnReport, calls_seen: int | None = None,
                   processes: int | None = None) -> list[str]:
    """Lines for stderr: what was seen, rules per table and alias, what was generalized."""
    lines: list[str] = []
    seen = f"{calls_seen} calls seen, " if calls_seen is not None else ""
    procs = (f" in {processes} process{'es' if processes != 1 else ''}"
             if processes is not None else "")
    tables = report.policy.tables()
    lines.append(f"{seen}{report.observations} distinct{procs}; "
                 f"{sum(len(t.rules) for t in tables)} rules in {len(tables)} "
                 f"table{'s' if len(tables) != 1 else ''}")
    for table in tables:
        counts: dict[str, int] = defaultdict(int)
        for rule in table.rules:
            counts[_rule_group(rule)] += 1
        detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items(),
                                                               key=lambda i: _key_rank(i[0])))
        label = "main" if table.name == MAIN else table.name
        lines.append(f"  table {label}: {len(table.rules)} rules ({detail or 'none'})")
    if report.generalizations:
        lines.append("generalized:")
        merged: dict[tuple[str, str, tuple[str, ...], bool], list[Generalization]] = \
            defaultdict(list)
        for g in report.generalizations:
            merged[(g.kind, g.pattern, g.calls, g.fresh)].append(g)
        for (kind, pattern, calls, fresh), items in merged.items():
            count = sum(g.count for g in items)
            where = (f" in {len(items)} tables" if len(items) > 1 else
                     "" if items[0].table == MAIN else f" in table {items[0].table}")
            example = next((g.examples[0] for g in items if g.examples), None)
            text = "" if len(pattern) > 80 else f" {pattern}"  # (a category's roots)
            made = ", only files the run makes" if fresh else ""
            lines.append(f"  {kind}: {'/'.join(calls)}{text} ({count} "
                         f"path{'s' if count != 1 else ''}{where}"
                         f"{', e.g. ' + example if example else ''}{made})")
    else:
        lines.append("generalized: nothing (every path is written exactly)")
    if report.exact_sensitive:
        exact = sorted(set(report.exact_sensitive))
        more = f" and {len(exact) - 5} more" if len(exact) > 5 else ""
        lines.append("kept exact (sensitive, review them): " + ", ".join(exact[:5]) + more)
    if report.older_unwidened:
        moved = sorted(set(report.older_unwidened))
        more = f" and {len(moved) - 5} more" if len(moved) > 5 else ""
        lines.append("older directories moved onto names granting more below them than the"
                     " run did to their files: not widened (the next run's move is refused): "
                     + ", ".join(moved[:5]) + more)
    if report.rewritten_hashes:
        shapes = ", ".join(f"{text} ({n} files)"
                           for text, n in dict.fromkeys(report.rewritten_hashes))
        lines.append(f"content hashes rewritten in more than {HASH_REWRITE_CAP} older files,"
                     f" their shape's writes not fresh (any file of it writable): {shapes}")
    if report.unsafe:
        names = ", ".join(f"{k} x{v}" for k, v in sorted(report.unsafe.items()))
        lines.append(f"refused while learning, not in the policy (unsafe calls): {names}")
    if report.failed_execs:
        missing = sum(1 for o in report.failed_execs if o.failed in _EXEC_MISSING)
        others = sorted({f"{o.paths[0].path if o.paths else '?'} "
                         f"({errno_module.errorcode.get(o.failed, o.failed)})"
                         for o in report.failed_execs if o.failed not in _EXEC_MISSING})
        lines.append(f"execs that failed, not learned as execs: {missing} of missing programs"
                     " (refused with ENOENT, as a search expects)"
                     + (f"; others, refused by the default: {', '.join(others)}"
                        if others else ""))
    if report.unrepresentable:
        called = sorted({o.syscall for o in report.unrepresentable})
        lines.append(f"not representable by a rule (empty or unreadable path): "
                     f"{len(report.unrepresentable)} call(s) of {', '.join(called)}")
    return lines


def _rule_group(rule: Rule) -> str:
    first = rule.calls[0]
    if rule.net is not None and rule.action is not Action.PERMIT:
        return "any-other-address"
    if first in aliases.ALIASES:
        return first
    groups = sorted(aliases.aliases_of(first))
    return groups[0] if groups else "other"
