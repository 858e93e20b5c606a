"""The policy enforcer: a Monitor that holds every process to its table.

Per-process tables as systrace(4) had them: the first process starts with the policy's main
table; fork, vfork and clone children inherit their parent's table; at exec a process switches
to the new program's own table when the policy (or the policy directory) has one, unless ``-i``
keeps tables across exec.  Each stop is decided by the process's table; PERMIT runs the call
(redirected when the rule says so), NEVER refuses it with the rule's errno, ASK goes to the
front end (or, without one, is refused with a line on stderr), and every decision a rule made
goes to the log.  When a rule is on host names (or connects are shown to someone), the
programs' DNS queries go to systrace's resolver (:mod:`systrace_py.names`): connects are
decided by the names looked up for their address, and lookups of refused names refused.
"""

from __future__ import annotations

import _queue  # (queue's SimpleQueue and Empty; queue.py imports heapq too: start-up)
import _thread  # (threading: after the exec, when a thread is made; start-up, issue 16)
import contextlib
import dataclasses
import errno as errno_module
import functools
import io
import itertools
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final, NewType, Protocol, runtime_checkable

from systrace_py import procfs, tag_values
from systrace_py.audit import AuditLog, rule_ref
from systrace_py.engine import answered
from systrace_py.engine.decode import DecodedCall, DecodeError, former_names
from systrace_py.engine.events import DETACH, KILL, PARK, Reply, ReplyKind
from systrace_py.engine.exec_image import Admit, ExecImage
from systrace_py.engine.seccomp import guard_purpose
from systrace_py.engine.tracee import Process, Task
from systrace_py.engine.tracer import Tracer, new_event
from systrace_py.injector import Injector
from systrace_py.kernel import BTRFS_UNNAMED_IOCTLS, DELETED, PER_CLEAR_ON_SETID, SCREEN_KINDS
from systrace_py.logrecords import Result, ResultName
from systrace_py.outputs import program_may_change, program_may_fill
from systrace_py.policy.aliases import (
    CHILD_CALLS,
    EXPOSING_CALLS,
    SIGNAL_CALLS,
    TWO_PATH_CALLS,
    answered_calls,
)
from systrace_py.policy.environment import (
    CWD,
    HOME,
    PATH,
    chooses_code,
    is_python,
    moved,
    reads_from,
    searches_working_directory,
)
from systrace_py.policy.filterplan import (
    ALWAYS_RUN,
    KILLED_WHEN_REFUSED,
    SOCKET_MAKERS,
    SOCKET_WRITERS,
    address_rules,
    unseen_refused,
)
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import (
    Action,
    CallFacts,
    Decision,
    Facts,
    Missing,
    PathArg,
    Policy,
    Reason,
    ReasonTag,
    Rule,
    SockAddr,
    Table,
    answer_conditions,
    answer_key,
    answer_place,
    checks_of,
    notes_made,
    unix_globs,
)
from systrace_py.policy.store import PolicyStore
from systrace_py.report import say
from systrace_py.syscalls import AS_PATHS, BY_NAME, DEVICE_CALLS, makes_unseen

#: The calls that change what an existing name leads to, as (call, the roles the name is
#: given, selector): removed, renamed, replaced by a rename over it or an exchange
#: (RENAME_EXCHANGE), a mount put over it (Supervisor._kept)
_CHANGES_A_NAME: tuple[tuple[str, tuple[str, ...], int | None], ...] = (
    ("unlink", ("path",), None), ("unlinkat", ("path",), None), ("rmdir", ("path",), None),
    ("rename", ("old", "new"), None), ("renameat", ("old", "new"), None),
    ("renameat2", ("old", "new"), None), ("renameat2", ("old", "new"), 2),
    ("mount", ("old", "new"), None), ("move_mount", ("old", "new"), None),
    ("umount2", ("path",), None))

if TYPE_CHECKING:
    import threading

    from systrace_py.names import DnsObserver, Resolution

#: How long a ``burst`` answer covers the asking process's other calls on the same path (the
#: stat, access, open... one action makes): seconds after the answer.
BURST_SECONDS = 2.0

#: how many exec environments Supervisor._environment_verdict remembers (then it forgets
#: them all: a run whose environments all differ pays the scan it paid before), and the
#: largest it remembers (characters in all): a tree's environments are its own to make, up
#: to ARG_MAX each -- what the memo keeps stays under ~2 MiB whatever they are
_ENVIRONMENT_VERDICTS = 64
_ENVIRONMENT_REMEMBERED = 32 * 1024


#: why a query no traced process sent is refused (a process outside the tree, or one that
#: closed its socket before the resolver looked)
NO_HOLDER = "no traced process holds the socket it came from"

#: What -v (and an ASK no one can answer) says of a refusal no rule made, by its reason: one
#: text for each Reason (tests/unit/test_refusal_texts.py).  The reasons a rule or a table's
#: default decides say the default's (a rule says its own label: Supervisor._report).  A
#: text's blanks are _REFUSAL_BLANKS'.
_BY_DEFAULT = "default of table {table}"
REFUSAL_TEXTS: dict[ReasonTag, str] = {
    Reason.RULE: _BY_DEFAULT,
    Reason.DEFAULT: _BY_DEFAULT,
    Reason.RENAMING: _BY_DEFAULT,
    Reason.SUBTREE: _BY_DEFAULT,
    Reason.TRAVERSAL: _BY_DEFAULT,
    Reason.SOCKET_FILE: _BY_DEFAULT,
    Reason.INTERPRETER: _BY_DEFAULT,
    Reason.REDIRECT: _BY_DEFAULT,
    Reason.LEARNING: _BY_DEFAULT,
    Reason.ANSWER: _BY_DEFAULT,
    Reason.UNSAFE: "unsafe under this policy; a rule naming it lifts this",
    Reason.DEVICE: ("a device request that does what {as_call} does (unsafe); a rule naming"
                    " {as_call} lifts this"),
    Reason.MEMORY: ("another process's memory, as process_vm_readv reads it (unsafe); a rule"
                    " naming process_vm_readv or debug lifts this"),
    Reason.PROGRAM_NAME: ("an exec into another table by a name that names another file in"
                          " systrace's view (a mount of the tree's own)"),
    Reason.FORMER_NAME: ("an exec of a program whose policy-directory file another existing "
                         "path had under the names before 2026-12-05: rename the file "
                         "(docs/policy.md)"),
    Reason.LOADER: ("an exec into another table with loader or interpreter variables"
                    " (LD_PRELOAD, BASH_ENV, a LANGUAGE naming a catalog by its path...)"
                    " the run did not start with; the table's"
                    " environment key grants them"),
    Reason.USER_SITE: ("an exec into table {entered} of a Python whose user site"
                       " (its .pth files run) HOME places, with a HOME the run did not start"
                       " with ({home}); that table's environment key grants it"
                       " (\"HOME=...\"), or the script runs Python with -s or -I"),
    Reason.PYTHON_CWD: ("an exec into table {entered} of a Python run with -m, -c or its"
                        " program on stdin, which imports first from its working directory"
                        " ({cwd}), one a traced program may write: a module planted there"
                        " would run with that table; that table's environment key grants it"
                        " (\"CWD=...\"), or run Python with -P or -I"),
    Reason.ENV_PATH: ("an exec into table {entered} of a script whose #! line"
                      " runs /usr/bin/env NAME, which looks NAME up in a PATH the run did not"
                      " start with: the caller would pick the program that runs with that"
                      " table; that table's environment key grants it (\"PATH=...\"), or"
                      " the #! line names the program by its path"),
    Reason.SCRIPT_LINK: ("an exec into table {entered} of a script spelled through"
                         " a symbolic link (or \"..\") in a directory a traced program may"
                         " write: the script's $0 would be the caller's; exec it by its own"
                         " path"),
    Reason.OWN_FILTER: ("an exec into table {entered} by a task under a seccomp"
                        " filter a traced program installed: the filter would answer the"
                        " program's calls (as no_new_privs keeps a set-user-ID exec from"
                        " raising privilege under one)"),
    Reason.PERSONALITY: ("an exec into table {entered} with personality flags"
                         " (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ADDR_COMPAT_LAYOUT,"
                         " MMAP_PAGE_ZERO) the run did not start with, which a set-user-ID"
                         " exec clears"),
    Reason.STANDARD_FDS: ("an exec into table {entered} with descriptor 0, 1 or 2"
                          " closed (or close-on-exec), which the run did not start without: the"
                          " program's own files would take those numbers, and what it writes"
                          " to stdout or stderr would land in them; give it /dev/null there"),
    Reason.UNSEEN: ("a socket whose destinations address rules cannot see (raw, packet,"
                    " SCTP...); a rule naming socket lifts this"),
    Reason.LINKED: ("a link, rename or mount would give {held}, by its new name, an access its own"
                    " name lacks in table {table} (read, write, run...): the file would gain"
                    " it"),
    Reason.COPIED: ("a btrfs snapshot or subvolume: {held} (or a path below it) holds a file"
                    " table {table} does not let be read or run by its own name, or would be"
                    " made where it does not let a file be made (or a name cannot be told)"),
}

#: How each blank of a refusal's text (REFUSAL_TEXTS) is filled, from the refused call and its
#: decision: only when the text names it (Supervisor._report)
_REFUSAL_BLANKS: dict[str, Callable[[Supervisor, DecodedCall, Decision], str]] = {
    "table": lambda supervisor, call, decision: decision.table,
    "entered": lambda supervisor, call, decision: supervisor._entered(call),
    "home": lambda supervisor, call, decision: supervisor._home(call),
    "cwd": lambda supervisor, call, decision: _cwd_shown(call.tid),
    "as_call": lambda supervisor, call, decision: DEVICE_CALLS.get(
        call.args[1] & 0xFFFFFFFF, "?"),
    "held": lambda supervisor, call, decision: decision.arg.path
    if decision.arg is not None else "the file",
}


def _cwd_shown(tid: int) -> str:
    """A task's working directory, for a message."""
    return procfs.cwd_text(tid) or "unreadable"


@dataclass(frozen=True)
class NameRefusal:
    """Why systrace's resolver answered a query "no such name": a table's rule, or (rule
    None) no traced process holding the socket the query came from."""

    table: Table
    rule: Rule | None


class _PathsReadAs:
    """A call's facts with each path read as another name (``read_as(role, path)``);
    everything else the call's own.  Two readings: a removed file's ``PATH (deleted)`` as
    ``PATH`` (decode.former_names: the name its rules were written for), and a device standing
    for another terminal as that terminal's name (DecodedCall.terminals_examined)."""

    def __init__(self, facts: Facts, read_as: Callable[[str, str], str]) -> None:
        self._facts, self._read_as = facts, read_as

    def path(self, role: str) -> str | None:
        path = self._facts.path(role)
        return self._read_as(role, path) if path is not None else None

    def fresh(self, role: str) -> bool:
        """A name read as another node's -- the terminal or screen a device stands for -- is
        not one the run made: a node of a screen the run made (mknod, root), read as
        /dev/vcsN, was taken for a file of the run's, and a ``fresh`` permit stood before a
        rule refusing /dev/vcsN (review 46; as a redirect's target is not: model._AtTarget).
        A removed file by its former name is the same file: the run's as it was."""
        path = self._facts.path(role)
        if self._read_as is not _former_name and path is not None and \
                self._read_as(role, path) != path:
            return False
        return self._facts.fresh(role)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._facts, name)


def _socket_missing(table: Table, decision: Decision, call: DecodedCall) -> bool:
    """Whether ``decision``, a refusal (or ask) of a connect or send as a write of a unix
    socket's file (Supervisor._socket_written), is of a socket that is not there -- its name,
    or a directory on the way, missing: the kernel's lookup answers ENOENT first --, and its
    rule (or the table) does not say ``missing = "errno"``."""
    return decision.arg is not None and decision.arg.path in call.missing_addresses \
        and table.missing_for(decision.rule) != Missing.ERRNO


def _named_before(table: Table, facts: Facts, refusing: Rule) -> bool:
    """Whether the rule that decides the call's own check (each of them) for its one unix
    socket address (``facts``) is a ``permit`` whose ``unix`` path glob matches that
    address, redirecting nothing, written before ``refusing`` -- the rule naming paths that
    refuses (or asks about) a write-open of the socket's file (Supervisor._socket_written).
    The file's write-open is the connect's own consequence: that permit decides it, as the
    first matching rule decides a check (close 41).  Any matching glob counts, however wide:
    ``unix = "/**"`` written first decides the write for every socket (review 70; policy.md
    step 2 says so) -- first match, as a ``permit fsread /**`` first reads all.  Not a rule
    of no address, nor an abstract or unnamed pattern (they name no file), nor a permit
    after ``refusing``."""
    rules = table.rules
    limit = next((i for i, rule in enumerate(rules) if rule is refusing), -1)
    compiled = table.compiled()
    for cls, part in checks_of(facts.syscall, "path", None, facts.selector):
        rule = compiled.check(facts.syscall, cls, part).first_match(facts, "path")
        if rule is None or rule.action is not Action.PERMIT or rule.redirect is not None \
                or not unix_globs(rule) \
                or not any(earlier is rule for earlier in rules[:max(limit, 0)]):
            return False
    return True


def _former_name(_role: str, path: str) -> str:
    """``PATH`` for ``PATH (deleted)`` (a _PathsReadAs reading)."""
    return former_names(path)[-1]


def _stood_for(terminals: dict[str, str]) -> Callable[[str, str], str]:
    """A _PathsReadAs reading: the path of each role in ``terminals`` as the terminal (or
    screen) its device stands for."""
    return lambda role, path: terminals.get(role) or path


def _screens_decided(table: Table, screens: dict[str, tuple[str, ...]], facts: list[Facts],
                     answered: Collection[str], decision: Decision) -> Decision:
    """``decision`` of a call whose paths (by role) end on a device showing a virtual
    console's screen (``screens``, each the names of every screen it may show,
    signals.screens_stood_for via DecodedCall.examined_screens), decided by each of those
    names too where a rule names it: /dev/vcsN, vcsuN and vcsaN are one screen by three names
    (review 44: a rule refusing /dev/vcsN was passed by /dev/vcsaN), and so are /dev/vcs, vcsu
    and vcsa (red team 70: a rule refusing /dev/vcs was passed by /dev/vcsu), which show the
    console in front, chosen again at each read, so the screen of any (red team 66: a rule
    refusing /dev/vcsN was passed by /dev/vcs).  The strictest holds.  A rule that asks about
    one of those names asks (close22, red team 70: a rule asking about /dev/vcsaN was not
    asked through /dev/vcsN, and through /dev/vcs it refused): the question is about the name
    the rule names (its decision's ``arg``: Supervisor._asked_facts), each screen in turn
    (_asked_besides), and its answer answers for that screen's three names -- an answer about
    the device's own name for every screen the device shows (:func:`_screen_answered`): what
    the person was asked about.  Refusals hold whatever was answered (Table.decide)."""
    named = []
    for index in range(max(len(names) for names in screens.values())):
        read_as = {role: names[index] for role, names in screens.items() if index < len(names)}
        covered = [name for role, name in read_as.items()
                   if _screen_answered(screens[role], index, facts[0].path(role), answered)]
        now = (*answered, *covered) if covered else answered
        for one in facts:
            found = table.decide(_PathsReadAs(one, _stood_for(read_as)), now)
            if found.rule is None or found.action is Action.PERMIT:
                continue
            if found.action is Action.ASK and found.arg is None and found.role in read_as:
                # (a rule of no path: the question is about the screen's name all the same)
                found = dataclasses.replace(found, arg=PathArg(found.role, read_as[found.role]))
            named.append(found)
    return strictest_held([decision, *named], table.name) if named else decision


def _screen_answered(names: tuple[str, ...], index: int, own: str | None,
                     answered: Collection[str]) -> bool:
    """Whether an answer in ``answered`` answered for the screen ``names[index]`` names (of
    the screens a device shows, signals.screens_stood_for: each console's three names in
    turn): an answer about one of that screen's three names (/dev/vcsN, vcsuN, vcsaN: one
    screen), or about the device's own name ``own`` when that is a screen's name (names'
    first three) -- asked about /dev/vcs, the person was asked about whatever it shows (the
    console in front, any).  A node of another name (the program's own ./node of 7,0) does
    not say what it shows: an answer about it is no answer about a screen (review 46: a
    question about ./node, permitted as a file of the work directory, read the screen)."""
    kinds = len(SCREEN_KINDS)
    if own is not None and own in answered and own in names[:kinds]:
        return True
    first = index - index % kinds
    return any(name in answered for name in names[first:first + kinds])


#: btrfs's requests refused where a rule decides by name (kernel.BTRFS_UNNAMED_IOCTLS)
_BTRFS_UNNAMED = frozenset(request for request, _ in BTRFS_UNNAMED_IOCTLS)


def _stream_stat(stream: object) -> os.stat_result | None:
    """The fstat of ``stream`` (a descriptor, or a text stream's), None when it has none
    (closed, no descriptor) -- which :func:`_may_show_in_a_mapping` and
    :func:`_copied_later` take for a stream whose writes may show (fail closed)."""
    try:
        fd = stream if isinstance(stream, int) else stream.fileno()  # type: ignore[attr-defined]
        return os.fstat(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _discards(st: os.stat_result) -> bool:
    """Whether ``st`` is one of the memory devices whose writes are no one's content
    (:data:`_SINK_DEVICES`: /dev/null, /dev/zero, /dev/full)."""
    return stat.S_ISCHR(st.st_mode) \
        and (os.major(st.st_rdev), os.minor(st.st_rdev)) in _SINK_DEVICES


def _may_show_in_a_mapping(stream: object) -> bool:
    """Whether what is written to ``stream`` (a descriptor, or a text stream's) may show in a
    page a traced program maps: a file's may, and a pipe's or socket's may feed one (``|
    tee``); so may a terminal's, whose master's holder may copy every byte into a file
    (``script -f``, tmux's pipe-pane, screen's log, asciinema: red team 56, log_tail_open.c
    RECORDED=1), and any other character device's (``/dev/kmsg``, which journald copies
    into its journal files) -- but the memory devices whose writes are no one's content
    (:func:`_discards`).  Unknown (closed, no descriptor): it may."""
    st = _stream_stat(stream)
    return st is None or not _discards(st)


#: (major, minor) of the character devices whose writes are discarded, never anyone's
#: content (devices.txt: mem devices 1,3 null, 1,5 zero, 1,7 full)
_SINK_DEVICES = frozenset({(1, 3), (1, 5), (1, 7)})


def _copied_later(stream: object) -> bool:
    """Whether what is written to ``stream`` may reach a file the tree maps *after* the write
    returned, at a time no one decides: a pipe's or socket's reader copies it when it wakes
    (``2>&1 | tee ci.log``, a CI runner's collector), a terminal's master's holder
    (``script -f``, tmux's pipe-pane: red team 56), any other device's -- not a regular
    file (a write is in its pages when it returns: the tracer goes on after it) nor a
    discarding device (:func:`_discards`).  Unknown: it may (review 38)."""
    st = _stream_stat(stream)
    return st is None or not (stat.S_ISREG(st.st_mode) or _discards(st))


@dataclass
class SupervisorOptions:
    """How the supervisor decides: the command line's choices."""

    dry_run: bool = False            # refuse nothing; log what would have been refused
    automatic: bool = False          # -a: ASK is refused and logged, never prompted
    inherit_across_exec: bool = False  # -i: keep the parent's table across exec
    verbose: bool = False            # -v: refusals and new children on stderr


@dataclass(frozen=True)
class AskRequest:
    """What a front end shows: who asks (and under which table), for what, and which rule
    asked.  ``id`` numbers the asks of a run (approvers answer by it); ``argv`` is what the
    process was executed with (None: not seen), ``parent_program`` its parent's program."""

    pid: int
    tid: int
    ppid: int
    program: str
    syscall: str
    args: dict[str, Any]
    facts: CallFacts
    decision: Decision
    table: Table | None = None
    id: int = 0
    argv: tuple[str, ...] | None = None
    parent_program: str | None = None


#: what an answer to an ask does: one of :class:`AnswerKind`'s values (the protocol's words)
AnswerTag = NewType("AnswerTag", str)


class AnswerKind:
    """What an answer to an ask does (the approver protocol's words); :data:`ANSWER_KINDS` lists
    them, :func:`answer_kind` reads one.  Str tags in a class, not an enum: start-up, issue 16
    (see policy.model.Reason)."""

    PERMIT: Final = AnswerTag("permit")
    DENY: Final = AnswerTag("deny")
    KILL: Final = AnswerTag("kill")      # kill the asking process
    DETACH: Final = AnswerTag("detach")  # stop checking the asking process
    ABORT: Final = AnswerTag("abort")    # end the run: every traced process killed


#: every one, in the order written
ANSWER_KINDS: tuple[AnswerTag, ...] = tag_values(AnswerKind)


def answer_kind(word: str) -> AnswerTag:
    """The answer a protocol word names (ValueError for a word that names none)."""
    if word not in ANSWER_KINDS:
        raise ValueError(f"{word!r} is not an answer")
    return ANSWER_KINDS[ANSWER_KINDS.index(word)]


#: What an answer to a question of no path answered (Supervisor._asked_besides), among the
#: paths answers permitted a call for: no path is so spelled (a path holds no NUL), so no
#: check of a path is taken as answered by it.
_NO_PATH: Final = "\0"

#: What each answer makes of the asked call, in the log.
_ANSWER_RESULTS = {AnswerKind.PERMIT: Result.PERMITTED, AnswerKind.DENY: Result.REFUSED,
                   AnswerKind.KILL: Result.KILLED, AnswerKind.DETACH: Result.DETACHED,
                   AnswerKind.ABORT: Result.KILLED}


@dataclass(frozen=True)
class Answer:
    """An answer to an ask, from whichever front end (the terminal prompt, an approver).

    ``kind``: see :class:`AnswerKind`.  ``rule``: a rule to remember
    (permit/deny), with ``reach`` "process", "program" or "all".  ``burst``: the answer also
    covers the asking process's calls on the same path for :data:`BURST_SECONDS`."""

    kind: AnswerTag
    errno: int = errno_module.EPERM
    rule: Rule | None = None
    reach: str = "process"
    burst: bool = False


class Asker(Protocol):
    """A front end for ASK.  ``ask`` must not block the tracer: it calls ``respond`` later
    (from any thread) or at once.  ``settled``: the supervisor settled an ask itself (an
    earlier answer decides it now, its process is gone): the front end drops it.  A front end
    that ``wants_events`` gets each process event (``process_event``, a log-like record)."""

    def ask(self, request: AskRequest, respond: Callable[[Answer], None]) -> None: ...

    def settled(self, request: AskRequest, why: str) -> None: ...

    @property
    def wants_events(self) -> bool: ...

    def process_event(self, record: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...

    # What the supervisor asks of a front end besides its asks (writes_beside).  The bodies
    # are the answers of one that tells no process and says nothing of an ask on stderr (the
    # terminal prompt); the front ends subclass Asker for them.

    @property
    def tells_a_process(self) -> bool:
        """Whether a process outside the tree is told of asks, settled asks and events at
        times the tree chooses (the approver of ``--ask-via``): it may write them where the
        tree maps them (Supervisor._told_beside)."""
        return False

    @property
    def says_each_ask(self) -> bool:
        """Whether each ask is said on stderr, a line at a time the tree chooses
        (``--ask-default permit``: Supervisor._says_beside)."""
        return False


@runtime_checkable
class ScreenAsker(Protocol):
    """A front end that asks on a screen the traced tree shares (the terminal prompt): it
    stops the whole tree while a question shows (Tracer.hold_tree), so that no task can
    draw over it; the supervisor hands it the tracer at attach."""

    def hold_with(self, tracer: Tracer) -> None: ...


@dataclass
class Burst:
    """A ``burst`` answer: the process's calls on ``path`` that would ask get this answer
    until ``until`` (time.monotonic())."""

    path: str
    action: Action
    errno: int
    until: float


@dataclass(eq=False)
class ProcessState:
    """The monitor's per-process state.

    ``table``: the policy's table the process is under.  ``private``: rules of ``for process``
    answers, newest first (for this process and the children it forks afterwards; they are
    never saved), each deciding just before the rule of ``table`` that asked -- ``asked_by``:
    that rule, or None (the table's default asked: after every rule), as
    :func:`~systrace_py.policy.model.answer_place` places it.  ``argv`` and
    ``parent_program``: what the prompt shows."""

    table: Table
    private: list[Rule] = field(default_factory=list)
    asked_by: dict[int, Rule | None] = field(default_factory=dict)
    argv: tuple[str, ...] | None = None
    parent_program: str | None = None
    bursts: list[Burst] = field(default_factory=list)
    _view: Table | None = field(default=None, repr=False)
    _view_of: tuple[int, int, int] = field(default=(0, 0, 0), repr=False)

    def deciding(self) -> Table:
        """The table that decides: ``table`` with each private rule just before the rule
        that asked it (put first, a ``for process`` answer overtook the person's rules as a
        remembered one did: review 65)."""
        if not self.private:
            return self.table
        key = (id(self.table), len(self.table.rules), len(self.private))
        if self._view is None or self._view_of != key:  # (tables only ever grow)
            rules = self.table.rules
            at: dict[int, list[Rule]] = {}
            for rule in self.private:
                at.setdefault(answer_place(rules, self.asked_by.get(id(rule))), []).append(rule)
            view: list[Rule] = []
            for place in range(len(rules) + 1):
                view += at.get(place, ())
                view += rules[place:place + 1]
            self._view = dataclasses.replace(self.table, rules=view)
            self._view_of = key
        return self._view


@dataclass(eq=False)
class _ResolutionAsk:
    """An ask about a lookup: set when answered (the program may send the query again
    meanwhile: every copy waits for the one answer)."""

    done: threading.Event
    answer: Answer | None = None
    request: AskRequest | None = None


@dataclass(eq=False)
class _Pending:
    """An ask waiting for its answer: what applying the answer needs."""

    request: AskRequest
    task: Task
    call: DecodedCall
    decision: Decision
    #: the paths of this call earlier answers permitted (_asked_besides)
    answered_paths: tuple[str, ...] = ()


def _only_root_changes(program: str) -> bool:
    """Whether only root may change the program file and its directory (both owned by root,
    writable by no group or other): a table found by base name (``ls.toml``) names every
    program of that name, and a traced program could make one anywhere it may write -- a copy
    of itself called ``ls`` -- and take that table (red team 3 of issue 11).  A full-path
    name (``_usr_bin_ls.toml``) names one file."""
    try:
        for info in (os.stat(program), os.stat(os.path.dirname(program) or "/")):
            if info.st_uid != 0 or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def _former_claimants(name: str, program: str) -> list[str]:
    """The files other than ``program`` whose policy file was ``name`` before 2026-12-05
    (``/`` as ``_``, ``_`` kept: gap #35), found by walking the directories the name's
    ``_``-separated words can make.  ``name`` is ``program``'s own now, but a file under a
    former name is still in many policy directories: ``_work_build_tool.toml``, written for
    the tool ``/work/build_tool``, is ``/work/build/tool``'s by today's naming -- a traced
    program that may write ``/work`` makes that path, a copy of itself, and took the tool's
    table at its exec (review 13).  A name another existing file may have had is taken by
    neither: an exec of the program is refused (PolicySet.claimed; ``former_name_note``
    tells the user at the tool's own run to rename the file).  Cost: an lstat per existing directory
    on the way and per word, at an exec into a program that has a file."""
    words = name.removesuffix(".toml").split("_")[1:]
    found: list[str] = []
    if not words:
        return found

    def walk(prefix: str, at: int) -> None:
        if at == len(words):
            if prefix != program and os.path.lexists(prefix):
                found.append(prefix)
            return
        if os.path.isdir(prefix):
            walk(f"{prefix.rstrip('/')}/{words[at]}", at + 1)
        walk(f"{prefix}_{words[at]}", at + 1)

    walk(f"/{words[0]}", 1)
    return found


def _same_file(one: str, other: str) -> bool:
    """Whether two names reach the same file (here, in the tracer's view)."""
    try:
        a, b = os.stat(one), os.stat(other)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class PolicySet:
    """The main policy (its file held by a :class:`PolicyStore`) plus the per-program
    policies of a policy directory."""

    def __init__(self, main: Policy, directory: dict[str, Policy] | None = None,
                 store: PolicyStore | None = None, own: str | None = None) -> None:
        """``own``: the name in the policy directory of ``main``'s file, when the run found
        it there (the command's own file; the directory map leaves it out)."""
        self.store = store if store is not None else PolicyStore(main)
        if self.store.policy is not main:
            raise ValueError("the store holds another policy")
        self.main = main
        self.directory = directory or {}
        self.own = own
        for name, policy in self.directory.items():
            self.store.watch(policy.tables(), policy.source or name)

    def table_for(self, program: str) -> Table | None:
        table = self.main.table_for(program)
        if table is not None:
            return table
        from systrace_py.policy.files import policy_filename

        name = policy_filename(program)
        if name == self.own:
            # The directory's file of the program's full-path name is main's (the command's
            # own, left out of the map): its table, main's, decides -- not the base-name
            # file below, which find_policy tries only when the full-path file does not
            # exist.  Without this, ``cat.toml`` replaced ``_usr_bin_cat.toml``'s table at
            # the command's first exec (review 65).
            return self.main.main
        found = self.directory.get(name)
        if found is not None and not _former_claimants(name, program):
            return found.main
        if found is not None:
            return None  # (an exec of it is refused: claimed)
        base = os.path.basename(program) + ".toml"
        found = self.main if base == self.own else self.directory.get(base)
        if found is not None and _only_root_changes(program):
            return found.main
        return None

    def claimed(self, program: str) -> list[str]:
        """The other existing paths that could have had ``program``'s policy-directory file
        under the former naming (:func:`_former_claimants`): the file's table is not the
        program's to take, nor is the caller's it keeps -- the program's own table may be
        the stricter, and a sibling path the program made in an earlier run would have
        dropped it -- so an exec of it is refused (Supervisor._entering_table)."""
        if self.main.table_for(program) is not None:
            return []
        from systrace_py.policy.files import policy_filename

        name = policy_filename(program)
        return _former_claimants(name, program) if name in self.directory else []

    def tables(self) -> list[Table]:
        out = self.main.tables()
        for policy in self.directory.values():
            out.extend(policy.tables())
        return out

    def can_ask(self) -> bool:
        """Whether any table can answer ASK (a default or a rule)."""
        return any(t.default is Action.ASK or any(r.action is Action.ASK for r in t.rules)
                   for t in self.tables())

    def needs_argv(self) -> bool:
        return any(rule.argv is not None for t in self.tables() for rule in t.rules)


def by_name(table: Table, facts: list[Facts]) -> list[Facts]:
    """An address several names were resolved to is decided once per name, the strictest
    answer winning: a connect to it may stand for any of them (two names on one CDN
    address), and must not be permitted by one name when another is refused.  A name an
    answer's CNAME chain led to it by (SockAddr.chained) counts where a rule on that host
    refuses or asks -- never to permit, and not by a rule of no ``host`` (a catch-all would
    refuse every CDN's name): a lookup of an alias of a refused host gave the host's address
    under the alias's name alone (review 71)."""
    out: list[Facts] = []
    for one in facts:
        addr = one.sockaddr
        if addr is None or (len(addr.names) <= 1 and not addr.chained):
            out.append(one)
            continue
        plain = dataclasses.replace(addr, chained=())
        if len(addr.names) <= 1:
            out.append(one)
        else:
            out.extend(CallFacts(one.syscall, (), None, dataclasses.replace(plain, names=(n,)),
                                 None, selector=one.selector) for n in addr.names)
        for name in addr.chained:
            chained = CallFacts(one.syscall, (), None, dataclasses.replace(plain, names=(name,)),
                                None, selector=one.selector)
            rule = table.decide(chained).rule
            if rule is not None and rule.refuses and rule.net is not None \
                    and rule.net.name_decides(name) is not None:
                out.append(chained)
    return out


def _connects(table: Table, call: DecodedCall, answered: tuple[str, ...]) -> list[Decision]:
    """The decisions of the connects a send makes before it sends (MSG_FASTOPEN on a TCP
    socket: DecodedCall.connects), each decided as the ``connect`` it is -- per name of its
    address, as a connect is (:func:`by_name`); an ask is about that connect
    (:func:`_asked_as`).  A rule on ``connect`` covers it: docs/policy.md's host recipe ends
    in ``never connect``, and ``sendto(fd, line, n, MSG_FASTOPEN, addr)`` opened a TCP
    stream to an address no rule permits, decided as a send only (review 71)."""
    facts: list[Facts] = [CallFacts("connect", (), None, addr, None)
                          for addr in call.connects()]
    if facts and table.has_host_rules():
        facts = by_name(table, facts)
    return [_asked_as(call, table.decide(one, answered), CallFacts(
        "connect", (), None, one.sockaddr, None)) for one in facts]


def _no_path(decision: Decision) -> Decision:
    """An ask of what a call does besides (decided as another call, of no path: unshare,
    process_vm_readv...) is about none of the call's paths: Table.decide names the role
    "path" for a call of none, and answer_key took it for the call's own -- a permit of an
    open of /proc/PID/mem, asked about its path, answered its memory read too (review
    42)."""
    if decision.action is Action.ASK and decision.role is not None and decision.arg is None:
        return dataclasses.replace(decision, role=None)
    return decision


def _pathless(table: Table, call: DecodedCall, facts: CallFacts,
              unsafe: ReasonTag | None = None) -> Decision:
    """The decision of what ``call`` does besides, decided as another call of no path
    (``facts``: unshare, process_vm_readv, a device ioctl's call, a descriptor owner's kill),
    its ask about none of the call's paths (:func:`_no_path`; ``unsafe``: the reason an
    unsafe call's refusal gives).  An ask is noted on the call with those facts
    (DecodedCall.pathless_asks): its question is about that call (Supervisor._asked_facts),
    and so is the rule an answer remembers -- made from the call's own facts, an answer about
    a descriptor owner's signal remembered ``permit ioctl`` of the descriptor's file, which
    then let a file-changing ioctl of it through a rule refusing writes (red team 66)."""
    decision = table.decide(facts)
    if unsafe is not None and decision.reason == "unsafe":
        decision = dataclasses.replace(decision, reason=unsafe)
    return _asked_as(call, _no_path(decision), facts)


def _asked_as(call: DecodedCall, decision: Decision, facts: CallFacts) -> Decision:
    """``decision``, of what ``call`` does besides decided as another call (``facts``): an
    ask is noted on the call with those facts (DecodedCall.pathless_asks) -- its question,
    and the rule an answer remembers, are about that call (Supervisor._asked_facts)."""
    if decision.action is Action.ASK:
        call.pathless_asks = [*(call.pathless_asks or ()), (decision, facts)]
    return decision


def strictest(decisions: list[Decision]) -> Decision:
    worst = decisions[0]
    for d in decisions[1:]:
        if d.action.severity > worst.action.severity:
            worst = d
    return worst


def strictest_held(decisions: list[Decision], table: str) -> Decision:
    """The strictest of one call's decisions (per address of a sendmmsg, per name of an
    address); when all permit but do not agree on a redirect, a refusal (EPERM): the call
    stands for each, and runs with one set of arguments -- the first decision's redirect
    would send a connect to good.test where a rule sends api.example.test's, or let one to
    api.example.test through as it is (red team 33).  When the strictest asks and another
    redirects, a refusal too (the asking rule's errno), as within one table's decision
    (Table.decide): an answer runs the call as it was written, the redirect lost -- a connect
    to an address that is good.test (asked) and api.example.test (redirected) reached the
    address api.example.test's rule sends elsewhere once it was answered (review 19)."""
    worst = strictest(decisions)
    if worst.action is Action.ASK and any(_redirect_key(d) for d in decisions):
        return Decision(Action.NEVER, worst.errno, worst.rule, table, Reason.REDIRECT,
                        None, worst.arg, worst.role)
    if worst.action is Action.PERMIT:
        first = _redirect_key(decisions[0])
        for d in decisions[1:]:
            if _redirect_key(d) != first:
                rule = next((x.rule for x in decisions if _redirect_key(x)), None)
                return Decision(Action.NEVER, errno_module.EPERM, rule, table, Reason.REDIRECT)
    return worst


def _redirect_key(decision: Decision) -> tuple[object, ...]:
    if decision.redirects:
        return tuple(sorted(decision.redirects.items(), key=lambda item: item[0]))
    return (decision.redirect,) if decision.redirect is not None else ()


def exec_reads_from(image: ExecImage, call: DecodedCall) -> frozenset[str]:
    """Which of HOME and PATH decide what an exec of ``image`` runs
    (environment.reads_from): an image the tracer could not read, both."""
    return reads_from(None if image.unread else image.binary, image.argument, image.script,
                      call.argv, call.envp or ())


#: a working directory that cannot be named (unreadable, removed, longer than readlink
#: gives): no ``CWD`` grant admits it (python_working_directory)
UNNAMED_CWD = ""


def python_working_directory(image: ExecImage, call: DecodedCall,
                             kept: Callable[[str], bool] = lambda entry: False) -> str | None:
    """The working directory of the Python an exec of ``image`` runs, when that Python puts
    it first on sys.path (environment.searches_working_directory: ``-m``, ``-c``, its
    program on stdin; not ``-P``/``-I``/PYTHONSAFEPATH) and a traced program may put a name
    there or re-aim its name (outputs.program_may_fill, ``kept``: Supervisor._kept; as root
    every directory) -- a module planted there would run under the table the exec enters
    (red team 53); UNNAMED_CWD when it cannot be named.  None: nothing of a cwd is searched,
    or no traced program can plant there.  An image the tracer could not read counts as
    such a Python (fail closed, as exec_reads_from).  The one predicate of the supervisor's
    refusal (Supervisor._entering_table, Reason.PYTHON_CWD) and of what the learner grants
    (``CWD=...``)."""
    if not image.unread and not searches_working_directory(
            image.binary, image.argument, image.script, call.argv, call.envp or ()):
        return None
    where = procfs.cwd_text(call.tid)
    if where is None:
        return UNNAMED_CWD
    call.examined_cwd = where  # (still so when the exec runs: Tracer._unchanged)
    if not where.startswith("/") or where.endswith(DELETED):
        return UNNAMED_CWD
    return where if program_may_fill(where, kept) else None


class Supervisor:
    """Implements :class:`systrace_py.engine.events.Monitor` for a policy."""

    def __init__(self, policies: PolicySet, options: SupervisorOptions,
                 audit: AuditLog | None = None, asker: Asker | None = None,
                 stderr: IO[str] | None = None, injector: Injector | None = None) -> None:
        self.policies = policies
        # (the FUSE types the main policy trusts: the engine's count of mounts a process
        # answers leaves them out -- docs/policy.md "FUSE mounts")
        answered.trust(policies.main.trusted_filesystems)
        self.injector = injector if injector is not None else Injector()
        #: whether some inject rule (a table's, or the command line's) can pick a call
        self._injecting = self.injector.active(policies.tables())
        #: writes_deciding, once asked (its streams do not change during a run)
        self._writes_deciding: bool | None = None
        #: whether the tracer's lines on stderr, said at times the tree chooses, may be
        #: copied into a file after they were written (Supervisor.writes_beside), once asked
        self._said_beside: bool | None = None
        #: whether a ``fresh`` rule is in some table: then the paths the calls let run make
        #: are noted (DecodedCall.note_made), for those rules to cover (model.notes_made)
        self._fresh = notes_made(policies.tables())
        self.options = options
        self.audit = audit
        self.asker = asker
        self.stderr = stderr or sys.stderr
        self.tracer: Tracer | None = None
        self.decisions = 0
        #: calls refused: by the policy, by an answer, or by the engine's own checks
        self.refusals = 0
        self.engine_refusals = 0     # of which by the engine (a guard, unreadable arguments...)
        self.would_refuse = 0        # dry run: calls the policy would have refused
        self.aborted = False         # a person answered abort: the run was ended
        self._pending: dict[int, _Pending] = {}   # asks waiting for an answer, by id
        self._pending_lock = _thread.allocate_lock()  # (answers come from the front end's thread)
        self._ask_ids = itertools.count(1)
        #: DNS observed for ``host`` rules (systrace_py.names): made at attach when a table
        #: has one (names.py is imported then: a run without host rules never loads it)
        self.dns: DnsObserver | None = None
        self._named_calls: frozenset[str] = frozenset()  # names.NAMED_CALLS once observing
        #: asks about lookups waiting for their answer, by (pid, name); rules their answers
        #: remembered, for the tracer's thread to add
        self._resolving: dict[tuple[int, str], _ResolutionAsk] = {}
        self._remembered: _queue.SimpleQueue[tuple[Process, Rule, str, Rule | None]] = \
            _queue.SimpleQueue()
        #: observe DNS when a rule is on host names, or when connects that stop (a rule
        #: looks at their address) are shown to someone: a log, -v, a front end
        self._observe_dns = any(t.has_host_rules() for t in policies.tables()) or (
            (audit is not None or asker is not None or options.verbose) and any(
                rule.net is not None and rule.may_cover("connect")
                for t in policies.tables() for rule in t.rules))

        #: _environment_verdict's answers, by the ids of what they depend on (each kept
        #: in the entry, and compared: an id is not reused while its object lives)
        self._environment_verdicts: dict[tuple[int, int, int, int, tuple[str, ...]],
                                         tuple[Table, tuple[str, ...], object,
                                               frozenset[str] | None, bool,
                                               frozenset[str]]] = {}

    def attach(self, tracer: Tracer) -> None:
        self.tracer = tracer
        if isinstance(self.asker, ScreenAsker):
            self.asker.hold_with(tracer)
        if self._observe_dns and self.dns is None:
            from systrace_py.names import NAMED_CALLS, DnsObserver

            self.dns = DnsObserver(self._refused_name, self._resolved)
            self._named_calls = NAMED_CALLS
        if self.dns is not None:
            tracer.decoder.names = self.dns.names.label

    @property
    def writes_beside(self) -> bool:
        """Whether threads of this monitor write files while the tree runs, at times the tree
        chooses: the resolver's (names.py), at each query it handled -- the log's record, -v's
        "refused resolving NAME" (NAME the program's), "says ask and no one can be asked".  A
        log, or a stderr that is a file, which the tree may map MAP_PRIVATE is then a writer
        of its memory that is no task: the engine holds even a task alone
        (Tracer._reached_from_outside; red team 54, dns_tail.c).  So does an approver
        (``--ask-via``, ``tells_a_process``): a process of the user's, outside the tree, sent a
        line by a thread of the monitor's at each ask, each ask settled (its process gone: a
        kill the tree chooses) and, when it asks for them, each fork, exec and exit -- which
        it may write where the tree maps it (its stderr is systrace's: a CI's log file; the
        bundled approver says there each ask it has no rule for).  An ask's own task is held
        already (it waited); the tree's other tasks are not while they are alone (red team
        58, evt_tail_open.c: an exit's line lengthens a name of the task left).  And so do
        the lines the tracer's own thread says on stderr at times the tree chooses
        (:meth:`_says_beside`) when what reads that stderr may copy them into a file later
        (a pipe to ``tee``, a recorded terminal: :func:`_copied_later`) -- written before
        the tracer went on, they land when the copier wakes, while a task alone's next call
        is decided (review 38, evt_tail_open.c with REFUSED: a refusal's line)."""
        return self._told_beside() or self._says_beside()

    def _told_beside(self) -> bool:
        """Whether threads of this monitor's write at times the tree chooses, or feed an
        approver that may (writes_beside: the resolver, ``--ask-via``)."""
        return self.dns is not None or (self.asker is not None and self.asker.tells_a_process)

    def _says_beside(self) -> bool:
        """Whether this run says lines on stderr at times the tree chooses -- -v (every
        refusal, new process, exec), a table that asks with no one to ask (each such
        refusal: "says ask and no one can be asked"), a front end that says each ask it
        answers (``--ask-default permit``: ``says_each_ask``) -- to a stderr whose reader may
        copy them into a file after they were written (:func:`_copied_later`); and the
        terminal prompt (a :class:`ScreenAsker`), whose question and answer are drawn on a
        terminal while the tree is held, but which a recorder (``script -f``, tmux's
        pipe-pane) copies into its file when it wakes -- after the release, while the
        answered task, alone, makes its next call.  Once."""
        if self._said_beside is None:
            asker = self.asker
            can_ask = self.policies.can_ask()
            says = self.options.verbose or (can_ask and (
                asker is None or self.options.automatic or asker.says_each_ask))
            self._said_beside = (says and _copied_later(self.stderr)) or (
                can_ask and isinstance(asker, ScreenAsker))
        return self._said_beside

    @property
    def writes_deciding(self) -> bool:
        """Whether the tracer's own thread writes such a file *while deciding* a call that
        then runs -- between its read of the call's arguments and the kernel's: every decision
        a rule made goes to the log (``--log``, ``-e``) before the call is resumed, and -v says
        a call a burst answer permitted, or one an inject rule only signalled, before it runs.
        The record lands in a mapped page behind the path the tracer read (red team 55,
        log_tail_open.c): the engine holds even a task alone.  A log through a pipe counts
        too: what reads it may write a file (``| tee``) as each record comes.  What is read
        again after the decision (a call run unheld, with the tree frozen: _unchanged) sees
        these writes, which are done by then."""
        if self._writes_deciding is None:
            streams: list[object] = []
            if self.audit is not None:
                streams += self.audit.sinks
                if self.audit.file is not None:
                    streams.append(self.audit.file.fd)
            if self.options.verbose and (self.asker is not None or self._injecting):
                streams.append(self.stderr)
            self._writes_deciding = any(_may_show_in_a_mapping(s) for s in streams)
        return self._writes_deciding

    def close(self) -> None:
        """End what the supervisor runs beside the tracer (the resolver)."""
        if self.dns is not None:
            self.dns.close()

    def _refused_name(self, table: Table, name: str, client: tuple[str, int],
                      tcp: bool) -> NameRefusal | None:
        """Why a DNS query for ``name`` that came to the resolver's port for ``table`` is
        refused, or None (resolver's thread).  A port is reachable by any process (a
        connect to loopback): the query is decided by the table of every traced process
        holding the socket it came from too, the strictest winning, and refused when no
        traced process holds it -- else a process whose table refuses the name had it
        resolved at the port another table's lookups made (red team 20, ``dns_relay.c``).
        An ask rule asks the front end, and this waits for the answer: a lookup is answered
        when the person answers (the program's resolver may time out first and ask again:
        the same question is not put twice)."""
        if self.options.dry_run:
            return None
        tables = [table]
        tracer = self.tracer
        if tracer is not None:
            from systrace_py.names import socket_holders

            holders = [tracer.processes.get(pid)
                       for pid in socket_holders(client, tcp, list(tracer.processes))]
            if not any(holders):
                return NameRefusal(table, None)
            for process in holders:
                own: Table | None = process.state.deciding() if process is not None else None
                if own is not None and all(own is not seen for seen in tables):
                    tables.append(own)
        for deciding in tables:
            refused = self._refusing_rule(deciding, name, client, tcp)
            if refused is not None:
                return NameRefusal(deciding, refused)
        return None

    def _refusing_rule(self, table: Table, name: str, client: tuple[str, int],
                       tcp: bool) -> Rule | None:
        """The rule of ``table`` refusing a query for ``name`` (asked when it asks), or None."""
        rule = table.resolution(name)
        if rule is None or rule.action is Action.NEVER:
            return rule
        if self.asker is None or self.options.automatic or self.tracer is None:
            say(f"refused resolving {name}: {rule.label()} says ask and no one can be asked",
                self.stderr)
            return rule
        return self._ask_resolution(table, rule, name, client, tcp)

    def _ask_resolution(self, table: Table, rule: Rule, name: str, client: tuple[str, int],
                        tcp: bool) -> Rule | None:
        """Ask whether the process that sent a lookup of ``name`` may resolve it (and so
        reach it); None: permitted, else the refusing rule.  Runs on a resolver thread;
        rules remembered from the answer are added on the tracer's
        (:meth:`_remember_answered_lookups`)."""
        from systrace_py.names import socket_holders

        tracer = self.tracer
        assert tracer is not None and self.asker is not None
        holders = [found for found in (tracer.processes.get(pid) for pid in socket_holders(
            client, tcp, list(tracer.processes))) if found is not None]
        if not holders:
            return rule  # no traced process holds the socket: nobody to ask about
        # the question is ``table``'s: put it for a holder that table decides, with its own
        # rules first (answers "for process") -- not for the first holder, whose table (an
        # older process of another program, the socket inherited) may say nothing of the
        # name and let it through unasked (red team 39, dns_owner.c)
        process = next((p for p in holders if p.state.table is table
                        or p.state.deciding() is table), None)
        if process is None:  # no holder is decided by it now (its processes exec'd)
            process = holders[0]
            again = table.resolution(name)
        else:
            again = process.state.deciding().resolution(name)
        state: ProcessState = process.state
        if again is None or again.action is Action.NEVER:
            return again
        key = (process.pid, name)
        with self._pending_lock:
            waiting = self._resolving.get(key)
            if waiting is None:
                waiting = self._resolving[key] = _ResolutionAsk(new_event())
                first = True
            else:
                first = False
        if first:
            facts = CallFacts("connect", sockaddr=SockAddr("inet", names=(name,)))
            decision = Decision(Action.ASK, rule.errno, rule, table.name, Reason.RULE)
            request = AskRequest(process.pid, process.pid, process.ppid, process.program,
                                 "resolve", {"host": name}, facts, decision,
                                 table=state.deciding(), id=next(self._ask_ids),
                                 argv=self._argv_of(process),
                                 parent_program=self._parent_program(process))

            def respond(answer: Answer) -> None:
                waiting.answer = answer
                if answer.rule is not None:  # remembered on the tracer's thread
                    self._remembered.put((process, answer.rule, answer.reach, rule))
                if answer.kind == AnswerKind.ABORT:  # (the run ends at the next stop: this kill's)
                    self.aborted = True
                    tracer.stop(kill=True)
                # (answered on another thread, maybe after the process ended: its pid is
                # killed only while this tracer traces it -- a pid once reaped may be any
                # process's; red team 12)
                if answer.kind in (AnswerKind.KILL, AnswerKind.ABORT) \
                        and procfs.tracer_of(process.pid) == os.getpid():
                    with contextlib.suppress(OSError):
                        os.kill(process.pid, signal.SIGKILL)
                waiting.done.set()

            waiting.request = request
            self.asker.ask(request, respond)
        while not waiting.done.wait(0.5):
            if self.dns is None or self.dns.resolver.closed or process.pid not in tracer.processes:
                with self._pending_lock:
                    gone = self._resolving.pop(key, None) is waiting
                if gone and waiting.request is not None:
                    self.asker.settled(waiting.request, "its process is gone")
                return rule
        with self._pending_lock:
            self._resolving.pop(key, None)
        answer = waiting.answer
        return None if answer is not None and answer.kind in (AnswerKind.PERMIT,
                                                                   AnswerKind.DETACH) else rule

    def _remember_answered_lookups(self) -> None:
        """Rules remembered from answers about lookups, added on the tracer's thread (tables
        are only changed there), before the next decision."""
        while True:
            try:
                process, rule, reach, asking = self._remembered.get_nowait()
            except _queue.Empty:
                return
            self.remember(process, rule, reach, asking)

    def _resolved(self, resolution: Resolution) -> None:
        """A query the resolver handled: logged; a refusal said with -v (resolver's thread)."""
        refusal = resolution.refused_by if isinstance(resolution.refused_by,
                                                      NameRefusal) else None
        if self.audit is not None:
            self.audit.resolution(
                resolution.name, resolution.qtype, resolution.server,
                list(resolution.addresses), None if refusal is None or refusal.rule is None
                else rule_ref(refusal.rule, refusal.table.name),
                why=None if refusal is None or refusal.rule is not None else NO_HOLDER)
        if refusal is not None:
            self.refusals += 1
            if self.options.verbose:
                why = refusal.rule.label() if refusal.rule is not None else NO_HOLDER
                say(f"refused resolving {resolution.name}: {why} -> no such name (NXDOMAIN)",
                    self.stderr)

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def who(process: Process, tid: int | None = None) -> dict[str, Any]:
        return {"pid": process.pid, "tid": tid if tid is not None else process.pid,
                "ppid": process.ppid, "program": process.program}

    @staticmethod
    def describe_call(call: DecodedCall) -> str:
        args = call.describe()
        shown = [f"({', '.join(v) if isinstance(v, list) else v})" if k == "host" else str(v)
                 for k, v in args.items() if not k.endswith("_as_given")]
        return f"{call.policy_name} {' '.join(shown)}".strip()

    # --- Monitor ------------------------------------------------------------------------------
    def fast_table(self, task: Task) -> tuple[Table, bool] | None:
        """For the native loop (engine/cloop.py): the table that decides the task's calls,
        and whether a refusal may be made without this monitor -- not when it must be
        logged, said (-v) or only pretended (dry run).  None: every call comes here (a log
        records every decision; an inject rule may pick any call, which only this monitor
        counts; a DNS observer redirects queries; and while threads of this monitor's, or an
        approver fed by them, write at times the tree chooses -- writes_beside --, a task
        alone's examined arguments are held, which the native loop does not do).  The lines
        this thread says at times the tree chooses (_says_beside) leave the loop its tasks:
        it holds a task alone's calls then as any other's (Tracer._fast_arms)."""
        if self.audit is not None or self._injecting or self._told_beside():
            return None
        state: ProcessState = task.process.state
        return state.deciding(), not (self.options.verbose or self.options.dry_run)

    def decides_by_name(self, task: Task, syscall: str | None = None) -> bool:
        """For the engine (Tracer._answered_refusal): whether the table deciding the task
        decides anything -- or ``syscall``, when given -- by a file's name
        (Table.decides_by_name)."""
        state: ProcessState = task.process.state
        return state.deciding().decides_by_name(syscall)

    def may_make_children(self, task: Task) -> bool:
        """For the engine (Tracer._on_exec, at the run's own command's exec, alone): whether
        the table deciding the task may let it make a child -- a call of the fork family
        (aliases.CHILD_CALLS) that a rule with a condition may decide, or that its
        first match (or the default) does not refuse.  A guess at what the task will do, not
        a decision: the child of a vfork shares the memory its held calls are copied into,
        so the scratch area is premapped then (as at any exec beside other tasks) rather
        than mapped at its first held call (two stops, and that call Python's)."""
        table: Table = task.process.state.deciding()
        for name in CHILD_CALLS:
            if any(rule.conditional and rule.may_cover(name) for rule in table.rules):
                return True
            if table.decide(CallFacts(name)).action is not Action.NEVER:
                return True
        return False

    def fast_exec(self, task: Task, program: str) -> tuple[Table, bool] | None:
        """For the native loop, at an exec of ``program`` (its resolved name) that its table
        permits by path: the table that decides the process after it -- what :meth:`on_exec`
        will choose -- and whether the exec enters another table (then the loop checks its
        environment as :meth:`_entering_table` does, and hands it here when a variable runs
        code, or when one of the task's descriptors 0-2 would be closed in the program:
        std_fds_open, red team 34).  None: this monitor decides the exec (as
        :meth:`fast_table`) -- every exec
        of a run that may ask: the question shows the argv the tracer saw at the exec
        (Tracer._on_exec), never the program's own /proc/PID/cmdline (red team 27); and
        every exec of a Python binary into another table, whose HOME may place its user
        site (_entering_table; the loop hands every script's exec here already)."""
        if self.audit is not None or self._injecting or self.dns is not None \
                or self.asker is not None:
            return None
        state: ProcessState = task.process.state
        if self.options.inherit_across_exec:
            return state.deciding(), False
        if self.policies.claimed(program):
            return None  # (refused: _entering_table)
        if program.endswith(DELETED):
            return None  # (a name /proc gives a file without one: on_exec's nameless)
        new = self.policies.table_for(program)
        if new is None:
            return state.deciding(), False
        if new is not state.table and (task.view is None or not task.view.host):
            return None  # (its interpreters are looked up in its own root: _entering_table)
        if new is not state.table and is_python(program):
            return None  # (its HOME may place its user site: _entering_table)
        return new, new is not state.table

    def fast_decided(self, permitted: int, refused: int) -> None:
        """Calls the native loop decided with the table :meth:`fast_table` gave."""
        self.decisions += permitted + refused
        self.refusals += refused

    def on_start(self, process: Process) -> None:
        process.state = ProcessState(self.policies.main.main)

    def on_syscall(self, task: Task, call: DecodedCall) -> Reply:
        if not self._remembered.empty():  # (answers about lookups, from the resolver)
            self._remember_answered_lookups()
        if self._injecting and not call.again:
            # (a call made again -- an exclusive create whose name an outsider made meanwhile,
            # Tracer._restart_exclusive -- is the call an inject rule counted and tampered
            # with already: not counted twice, its delay or signal not given twice -- notes38)
            process = task.process
            state: ProcessState = process.state
            picked = self.injector.pick(state.deciding(), call, process.pid)
            if picked is not None:
                return self._made(call, self._inject(task, call, *picked))
        return self._made(call, self._reply(task, call))

    def _made(self, call: DecodedCall, reply: Reply) -> Reply:
        """``reply``, the paths the call makes noted first when it runs as the program made
        it (a redirected one makes another file: not noted, so no ``fresh`` rule covers it
        later -- refused, not widened) and a ``fresh`` rule may ask (Supervisor._fresh)."""
        if self._fresh and reply.kind == ReplyKind.RUN and reply.paths is None:
            with contextlib.suppress(DecodeError):
                call.note_made()
        return reply

    def _inject(self, task: Task, call: DecodedCall, rule: Rule, table: str) -> Reply:
        """A call an inject rule picked: its result replaced (it does not run, and no rule
        needs to decide it), or the policy's reply delayed and signalled.  A dry run injects
        nothing and says what it would have."""
        injection = rule.inject
        assert injection is not None
        if self.options.dry_run:
            self._injected(task, call, rule, table, Result.WOULD_INJECT)
            return self._reply(task, call)
        if injection.replaces:
            self._injected(task, call, rule, table, Result.INJECTED)
            return Injector.replacing(injection)
        reply = self._reply(task, call)
        tampered = Injector.tampering(injection, reply)
        if tampered is not reply:  # (a call that asks, or is killed, is not tampered with)
            self._injected(task, call, rule, table, Result.INJECTED)
        return tampered

    def _injected(self, task: Task, call: DecodedCall, rule: Rule, table: str,
                  result: str) -> None:
        """Log an injection (result "injected", or "would-inject" in a dry run); say it with
        -v."""
        process = task.process
        if result == Result.INJECTED:
            self.injector.injected += 1
        if self.audit is not None:
            self.audit.injection(self.who(process, task.tid), call.policy_name, call.describe(),
                                 rule, table, result)
        if self.options.verbose:
            injection = rule.inject
            assert injection is not None
            verb = "would inject" if result == Result.WOULD_INJECT else "injected"
            say(f"{verb} {injection.summary()} into {self.describe_call(call)} for pid "
                f"{process.pid} ({process.program}): {rule.label()}", self.stderr)

    def _reply(self, task: Task, call: DecodedCall) -> Reply:
        """The policy's reply to a call: decided by the process's table."""
        process = task.process
        state: ProcessState = process.state
        table = state.deciding()
        decision = self._decide(table, call, state.table)
        self.decisions += not call.again  # (a call made again was counted: one call)
        action = decision.action
        if action is Action.PERMIT:
            if self.audit is not None and decision.rule is not None:
                self.audit.decision(self.who(process, task.tid), call.policy_name,
                                    call.describe(), decision, Result.PERMITTED, call.logged())
            reply = self._permit(decision)
            if self.dns is not None and reply.sockaddr is None and reply.paths is None:
                try:
                    lookup = self.dns.redirect(state.table, call)
                except OSError as exc:  # no resolver to send it to (no thread, no port):
                    # refused -- sent on unredirected, the lookup would go unobserved
                    err = exc.errno or errno_module.EAGAIN
                    self.on_engine_refusal(task, call, err, f"a DNS query: {exc.strerror or exc}")
                    return Reply.refuse(err)
                if lookup is not None:  # a DNS query: to systrace's resolver
                    return Reply(sockaddr=lookup)
            return reply
        if call.policy_name in ALWAYS_RUN:
            # exit, exit_group: a process's end exposes nothing, and refused, glibc's _exit
            # makes it again forever -- the program would hang, not stop (Treat.ENDS)
            return Reply.run()
        if self.options.dry_run:
            self._report(task, call, decision, Result.WOULD_REFUSE)
            return Reply.run()
        if action is Action.ASK and self.asker is not None and not self.options.automatic:
            burst = self._burst_answer(state, call, decision)
            if burst is not None:
                return self.apply_answer(task, call, decision, burst, by="a burst answer")
            return self._ask(task, call, decision)
        answered = self._missing(table, decision, call)
        if answered is not decision:
            # the path does not exist: ENOENT, as the kernel would have answered -- no
            # refusal a person needs to hear of (the log has it)
            if self.audit is not None:
                self.audit.decision(self.who(process, task.tid), call.policy_name,
                                    call.describe(), answered, Result.MISSING, call.logged())
            return Reply.refuse(answered.errno)
        if call.policy_name in KILLED_WHEN_REFUSED:
            # A program that drops privileges and does not check the result would go on
            # privileged: refusing the drop made it less safe.  Such a refusal kills it.
            self._report(task, call, decision, Result.KILLED)
            return KILL
        self._report(task, call, decision, Result.REFUSED)
        return Reply.refuse(decision.errno)

    def _decide(self, table: Table, call: DecodedCall, under: Table | None = None,
                answered: tuple[str, ...] = ()) -> Decision:
        """``table`` decides the call (``under``, the process's table, with the private rules
        of its answers first: ProcessState.deciding).  ``answered``: paths answers permitted
        this call for (Table.decide; _asked_besides)."""
        try:
            facts = self._all_facts(table, call)
            decision = (table.decide(facts[0], answered) if len(facts) == 1
                        else strictest_held([table.decide(f, answered) for f in facts],
                                            table.name))
            if decision.action is not Action.NEVER and (
                    connects := _connects(table, call, answered)):
                # a send that connects first (MSG_FASTOPEN) is that connect too: every
                # decision must permit it
                decision = strictest_held([decision, *connects], table.name)
            if decision.action is not Action.NEVER and call.removed_examined():
                # a removed file, which /proc names "PATH (deleted)": decided by PATH too,
                # the name its rules were written for (review 30: a file opened for
                # writing only, removed, reopened through /proc/self/fd for reading)
                decision = strictest_held(
                    [decision, *(table.decide(_PathsReadAs(f, _former_name), answered)
                                 for f in facts)], table.name)
            if decision.action is not Action.NEVER and (terminals := call.terminals_examined()):
                # a device standing for another terminal (/dev/tty: the caller's own): decided
                # by that terminal's name too, where a rule names it (red team 63: a rule
                # refusing /dev/pts/N was passed by /dev/tty).  A default's decision of that
                # name is not taken: a policy permitting /dev/tty permits it so
                stood_for = _stood_for(terminals)
                behind = [table.decide(_PathsReadAs(f, stood_for), answered) for f in facts]
                named = [d for d in behind if d.rule is not None]
                if named:
                    decision = strictest_held([decision, *named], table.name)
            if decision.action is not Action.NEVER and call.examined_screens:
                decision = _screens_decided(table, call.examined_screens, facts, answered,
                                            decision)
        except DecodeError:
            # a lookup that fails gets its errno -- unless it failed inside a directory a
            # rule refuses looks at: its errno would tell what is there
            traversal = self._traversal(table, call, failed=True)
            if traversal is None:
                raise
            return traversal
        if decision.action is Action.PERMIT and call.name in ("execve", "execveat"):
            decision = self._interpreters(table, call) or decision
            if decision.action is Action.PERMIT:
                decision = self._entering_table(table, call) or decision
        if call.name != "unshare" and call.namespace_flags:
            # a child made in new namespaces: what the table says of unshare says it too
            decision = strictest([decision, _pathless(table, call, CallFacts("unshare"))])
        if call.name in SOCKET_MAKERS:
            decision = self._unseen_socket(table, call) or decision
        if call.process_memory() == "other":
            # another process's memory, read through /proc: what process_vm_readv does
            decision = strictest([decision, _pathless(
                table, call, CallFacts("process_vm_readv"), Reason.MEMORY)])
        if call.name == "ioctl" and (as_call := DEVICE_CALLS.get(call.args[1] & 0xFFFFFFFF)):
            # a device ioctl that does what a call does is decided as that call too
            decision = strictest([decision, _pathless(table, call, CallFacts(as_call),
                                                      Reason.DEVICE)])
        if call.name == "ioctl" and call.snapshot_request():
            # a snapshot copies its source subvolume under a new name: decided as a read of
            # that tree where a rule decides by name (close 27), and as the making of the new
            # one wherever a rule may refuse a making (close 33: ``never mkdir`` of no path)
            decision = strictest([decision, self._snapshot(table, call,
                                                           table.decides_by_name())])
        elif call.name == "ioctl" and call.args[1] & 0xFFFFFFFF in _BTRFS_UNNAMED and \
                table.decides_by_name():
            # a btrfs send writes every file of the descriptor's subvolume into another
            # descriptor -- names no rule is asked about (as a file system image's: review 28);
            # a device add or replace writes a device named in its struct (review 30); a tree
            # search reads its items (red team 83)
            decision = strictest([decision, Decision(
                Action.NEVER, errno_module.EPERM, None, table.name, Reason.SUBTREE)])
        if call.name == "ioctl" and call.subvolume_request():
            # a subvolume made at the name in the struct: a mkdir of it (close 27), whatever
            # the table decides by name (a rule of no path refuses a mkdir of any: close 33)
            decision = strictest([decision, self._subvolume(table, call)])
        if call.name == "ioctl" and call.destroy_request():
            # a subvolume deleted: every path at and below the name in the struct removed
            # (close 31), whatever the table decides by name (close 33)
            decision = strictest([decision, self._destroy(table, call)])
        if call.name == "ioctl" and call.loop_request():
            # a loop device's attach reads (and may write) a descriptor's file: as an open
            decision = strictest([decision, self._loop_attach(table, call, under or table)])
        if call.name in AS_PATHS:
            # a call of a path call's effect that names no path (a message queue's open or
            # unlink, syslog's read of the kernel log): decided as that call of its files too
            decision = strictest([decision, self._as_path(table, call)])
        if call.name in ("fcntl", "ioctl") and (as_signal := call.owner_as_signal()):
            # a descriptor's owner is a process the kernel will signal: decided as a kill
            decision = strictest([decision, _pathless(table, call, as_signal)])
        if decision.action is not Action.NEVER and (call.name == "bind"
                                                    or call.name in SOCKET_WRITERS):
            self._unnamed_address(table, call)
        if call.name == "bind" and decision.action is Action.PERMIT:
            decision = self._socket_file(table, call) or decision
        elif call.name in SOCKET_WRITERS and decision.action is not Action.NEVER:
            reached = self._socket_written(table, call)
            if reached is not None:
                decision = strictest([decision, reached])
        if decision.action is Action.PERMIT:
            decision = self._traversal(table, call) or decision
        if decision.action is not Action.NEVER and (call.name in TWO_PATH_CALLS
                                                    or call.name in EXPOSING_CALLS):
            decision = self._linked_elsewhere(under or table, facts) or decision
        return decision

    def _loop_attach(self, table: Table, call: DecodedCall, caller: Table) -> Decision:
        """LOOP_SET_FD, LOOP_CHANGE_FD or LOOP_CONFIGURE of a loop device: the device reads
        the descriptor's file whatever the descriptor's access mode, and writes it unless it
        is read-only (DecodedCall.loop_backing) -- so the attach is decided as an open of
        that file, by its name, for reading (and writing): ``O_RDONLY`` or ``O_RDWR``, as an
        fd call's file is decided by its /proc link.  A rule naming ``ioctl`` does not lift
        it; a rule that lets the file be read (and written) does.  Then, as a link is, in
        every other table of the policies: the device is a new name for the file's bytes,
        which any process of the tree may open (Table.attached_elsewhere).  Known gap #44
        (review 28: a file opened for writing only, read at /dev/loopN), gap44.  ``caller``:
        the process's table, its private rules aside."""
        try:
            attach = call.loop_backing()
        except DecodeError as exc:  # (the guard refused it already: the same errno)
            return Decision(Action.NEVER, exc.errno, None, table.name, Reason.RULE)
        if attach is None:
            return Decision(Action.PERMIT, table=table.name)  # (nothing is attached)
        backings, devices, writes = attach
        sources = [call.shown(backing) for backing in backings]
        # (a question is about that open: its rule names the file, not the device's ioctls
        # -- review 44: an answer remembered ``permit ioctl`` of /dev/loopN, and the file's
        # read was asked about again at the next attach)
        decisions = [_asked_as(call, table.decide(as_open), as_open)
                     for as_open in (CallFacts("openat", (PathArg("path", source),),
                                               os.O_RDWR if writes else os.O_RDONLY)
                                     for source in sources)]
        as_open = strictest(decisions)
        if as_open.action is Action.NEVER:
            return as_open
        for source, decided in zip(sources, decisions, strict=True):
            if decided.redirect is not None or decided.redirects:
                # (a rule sending the file's reads elsewhere: the device reads the file itself)
                return Decision(Action.NEVER, errno_module.EPERM, decided.rule, table.name,
                                Reason.REDIRECT, None, PathArg("path", source), "path")
        for other in self.policies.tables():
            if other is not caller:
                for source in sources:
                    for device in devices:
                        # (each of the device's names: the node the call used, its /dev
                        # name, each partition name it may have -- loose30)
                        refused = other.attached_elsewhere(source, call.shown(device), writes)
                        if refused is not None:
                            return refused
        return as_open

    @staticmethod
    def _as_path(table: Table, call: DecodedCall) -> Decision:
        """A call of ``syscalls.AS_PATHS``: besides its own decision (by its name), decided as
        the path call it is of each file it acts on (DecodedCall.as_path_files) -- mq_open as
        an open of the queue's file on each mqueue mount with its flags (O_CREAT: the file
        made), mq_unlink as an unlink of it, syslog's actions 2-5 as opens of /dev/kmsg and
        /proc/kmsg for reading (and writing: a clear).  Only a rule's decision of those is
        taken, as a terminal's name's is (a default's is not: a table refusing by default
        and permitting ``mq_open`` by name permits it so); a rule redirecting the file is a
        refusal (EPERM: no call of the file runs), an ask is about that call of that file
        (_asked_as).  A name or mount table that cannot be read gets the errno the decoder
        gives (red team 89, close 50)."""
        as_path = AS_PATHS[call.name]
        try:
            files = call.as_path_files()
        except DecodeError as exc:
            return Decision(Action.NEVER, exc.errno, None, table.name, Reason.RULE)
        if not files:
            return Decision(Action.PERMIT, table=table.name)  # (it acts on none)
        if as_path.flags is not None:
            flags: int | None = call.args[as_path.flags] & (
                os.O_ACCMODE | os.O_CREAT | os.O_EXCL)
        elif as_path.access:
            flags = as_path.access[call.args[as_path.when.arg] & 0xFFFFFFFF]
        else:
            flags = None
        decisions = [Decision(Action.PERMIT, table=table.name)]
        for path in files:
            facts = CallFacts(as_path.call, (PathArg("path", call.shown(path)),), flags)
            decided = table.decide(facts)
            if decided.rule is None:
                continue  # (a default's: the call's own decision stands for it)
            if decided.redirect is not None or decided.redirects:
                return Decision(Action.NEVER, errno_module.EPERM, decided.rule, table.name,
                                Reason.REDIRECT, None, facts.paths[0], "path")
            decisions.append(_asked_as(call, decided, facts))
        return strictest(decisions)

    @staticmethod
    def _snapshot(table: Table, call: DecodedCall, read: bool = True) -> Decision:
        """BTRFS_IOC_SNAP_CREATE (_V2): the kernel copies every
        file of the subvolume whose root's descriptor is in the struct under the new name,
        reading none of them (red team 83) -- decided as a read of every path at and below
        that root, by its name in the tracer's view (DecodedCall.snapshot_source), and as
        the making of every path at and below the new name (the struct's, in the
        descriptor's directory: DecodedCall.snapshot_name) (Table.copy_decision): refused
        (EPERM) where the table does not grant each of those outright; run where it does --
        a snapshot of a subvolume holding nothing a rule keeps from being read, into a
        place the table lets be written (close 27).  A name that cannot be told
        exactly is refused (EPERM); a struct the kernel cannot read gets its EFAULT.  Files
        the snapshot does not copy -- a nested subvolume's, a mount's below the root -- are
        decided too (stricter).  Only the caller's table: what the copy shows any other
        process, the caller could read and write out itself.  ``read``: whether the source's
        reads are decided -- where the table decides by name (Table.decides_by_name: a rule
        of no path decides the copy's names as the source's); the making always (review 62:
        ``never mkdir, mkdirat`` of no path and a snapshot made; close 33)."""
        if not read and not table.may_refuse_making():
            return Decision(Action.PERMIT, table=table.name)  # (nothing to decide)
        try:
            sources = call.snapshot_source() if read else ("",)
            directory = call.path("path")  # (the descriptor's directory: FD_ARGS)
            name = call.made_name()
        except DecodeError as exc:
            return Decision(Action.NEVER, exc.errno, None, table.name, Reason.COPIED)
        if sources is None:
            return Decision(Action.PERMIT, table=table.name)  # (nothing is copied: EINVAL)
        if not sources or (name is not None and not (directory or "").startswith("/")):
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.COPIED)
        target = None if name is None or directory is None else \
            f"{directory.rstrip('/')}/{name}"
        for source in sources if read else ():
            refused = table.copy_decision(call.shown(source), target)
            if refused is not None:
                return refused
        refused = None if read else table.copy_decision(None, target)
        return refused or Decision(Action.PERMIT, table=table.name)

    @staticmethod
    def _subvolume(table: Table, call: DecodedCall) -> Decision:
        """BTRFS_IOC_SUBVOL_CREATE (_V2) (kernel.BTRFS_SUBVOLUME_IOCTLS): besides the
        ``fswrite`` on the descriptor's directory it is (FILE_CHANGING_IOCTLS), it makes a
        directory at the name in its struct (DecodedCall.made_name), which no rule was asked
        about -- decided as the making of that path, as a mkdir of it (Table.copy_decision
        with no source; an empty subvolume: nothing below it).  A directory with no name is
        refused (EPERM), a struct the kernel cannot read gets its EFAULT, a name the kernel
        refuses makes nothing (close 27: ``never fswrite out/keep/**`` let out/keep be made
        so).  Whatever the table decides by name: a rule of no path refusing ``mkdir``
        refuses it too (review 62, close 33); a table that may refuse no making runs it."""
        if not table.may_refuse_making():
            return Decision(Action.PERMIT, table=table.name)
        try:
            name = call.made_name()
            directory = call.path("path")  # (the descriptor's directory: FD_ARGS)
        except DecodeError as exc:
            return Decision(Action.NEVER, exc.errno, None, table.name, Reason.COPIED)
        if name is None:
            return Decision(Action.PERMIT, table=table.name)
        if not (directory or "").startswith("/"):
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.COPIED)
        assert directory is not None
        refused = table.copy_decision(None, f"{directory.rstrip('/')}/{name}", below=False)
        return refused or Decision(Action.PERMIT, table=table.name)

    @staticmethod
    def _destroy(table: Table, call: DecodedCall) -> Decision:
        """BTRFS_IOC_SNAP_DESTROY (_V2): besides the ``fswrite``
        on the descriptor's directory it is (FILE_CHANGING_IOCTLS), it deletes the subvolume
        at the name in its struct (DecodedCall.made_name) -- every file in it, by no name a
        rule was asked about: decided as the removal of that path and of every path below it
        (Table.removal_decision; review 59: ``never fswrite vault, vault/**`` and the vault
        deleted from its parent).  Named by its id alone (_V2, BTRFS_SUBVOL_SPEC_BY_ID:
        DecodedCall.removed_by_id) it names no path the tracer can read -- a subvolume
        anywhere on the file system, from any directory of it: refused (EPERM) wherever a
        removal may be refused (Table.may_refuse_removal).  A directory with no name is
        refused so too, a struct the kernel cannot read gets its EFAULT, a name the kernel
        refuses removes nothing (close 31).  Run with the tree frozen
        (DecodedCall.removal_examined).  Asked whatever the table decides by name: a rule
        of no path refusing ``unlinkat`` refuses the removal of every name (review 62:
        ``never unlink, unlinkat, rmdir`` and the vault deleted; close 33)."""
        if not table.may_refuse_removal():
            return Decision(Action.PERMIT, table=table.name)  # (every removal granted)
        try:
            name = call.made_name()
            by_id = call.removed_by_id()
            directory = call.path("path")  # (the descriptor's directory: FD_ARGS)
        except DecodeError as exc:
            return Decision(Action.NEVER, exc.errno, None, table.name, Reason.SUBTREE)
        if by_id:
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.SUBTREE)
        if name is None:
            return Decision(Action.PERMIT, table=table.name)  # (nothing is removed)
        if not (directory or "").startswith("/"):
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.SUBTREE)
        assert directory is not None
        refused = table.removal_decision(f"{directory.rstrip('/')}/{name}")
        return refused or Decision(Action.PERMIT, table=table.name)

    def _linked_elsewhere(self, table: Table, facts: list[Facts]) -> Decision | None:
        """A link or rename the caller's table does not refuse -- or a mount that shows its
        source at its target (model._named_anew) --, compared in every other table of the
        policies (Table.linked_elsewhere): the new name is the whole tree's, and a process
        that execs another table's program decides the file by it there (a bind in the
        tracer's own namespace, seen by every process: fs_linked_table.c hostbind, the lead
        after red team 49).  ``table``: the caller's (its private rules aside)."""
        others = [other for other in self.policies.tables() if other is not table]
        for one in facts if others else ():
            for other in others:
                refused = other.linked_elsewhere(one)
                if refused is not None:
                    return refused
        return None

    @staticmethod
    def _traversal(table: Table, call: DecodedCall, failed: bool = False) -> Decision | None:
        """A lookup decided on where it ends still looks at what it passes through: a
        directory entered and left again by "..", a symlink read on the way (its directory
        included).  Through a directory a rule refuses looks at (stat) it would tell which
        entries exist, what they are and where links point: a rule that refuses (or asks
        about) a stat of such a directory, or a readlink of such a link, refuses the call.
        A rule, not the default: walking through a directory is no use of it.  ``failed``:
        for the lookups that failed (their errno would tell the same).  A table no rule of
        which refuses a stat or a readlink by path refuses no traversal: nothing is walked
        (a walk is an lstat per component; /bin is a symlink on a merged-/usr system)."""
        if not table.may_refuse_traversal():
            return None
        seen = [*(call.passed_through(None) if failed else
                  (seen for p in call.examined_paths() for seen in call.passed_through(p))),
                *call.address_passed_through()]  # (a unix socket's path: review 15)
        for name, kind in seen:
            as_call = "readlink" if kind == "link" else "stat"
            found = table.refusing_rule(CallFacts(as_call, (PathArg("path", name),)))
            if found is not None:
                return dataclasses.replace(found, reason=Reason.TRAVERSAL)
        return None

    @staticmethod
    def _unnamed_address(table: Table, call: DecodedCall) -> None:
        """A bind, connect or send to a unix socket's path whose file has no name a rule
        could match (an outsider's /proc/PID/cwd in a mount namespace of its own, where the
        refused directory is bind-mounted elsewhere) is refused (EACCES:
        DecodedCall.require_address_names) wherever a rule would decide it by that name --
        a ``unix`` rule of the call (Table.names_sockets), a rule naming paths on the
        socket file's write-open (_socket_written) or, for a bind, on its mknod
        (_socket_file) --, as an open by that name is (review 67: the /proc text matched
        no rule, and the connect reached the agent in the refused directory).  Where no
        rule could, nothing is refused."""
        if table.names_sockets(call.policy_name) or (
                table.may_refuse("mknod", "fswrite") if call.name == "bind"
                else table.may_refuse_socket_write()):
            call.require_address_names()

    @staticmethod
    def _socket_file(table: Table, call: DecodedCall) -> Decision | None:
        """bind() of a unix socket to a path makes a file there, as mknod(S_IFSOCK) would:
        a rule that refuses (or asks about) that mknod -- fswrite of the directory it lands in
        -- refuses the bind.  A rule, not the default: a bind is a network call first, and a
        policy that permits it by a net-bind rule has said so (as for interpreters)."""
        if not table.may_refuse("mknod", "fswrite"):
            return None
        for address in call.sockaddrs:
            if address.family == "unix" and address.path and not address.path.startswith("@"):
                found = table.refusing_rule(CallFacts("mknod", (PathArg("path", address.path),)))
                if found is not None:
                    return dataclasses.replace(found, reason=Reason.SOCKET_FILE)
        return None

    @staticmethod
    def _socket_written(table: Table, call: DecodedCall) -> Decision | None:
        """A connect or a send to a unix socket's path writes that socket file, to the
        kernel: unix_find_bsd asks for MAY_WRITE on it, as an open for writing does.  So a
        rule naming paths that refuses (or asks about) a write-open of the file -- fswrite
        of the directory it is in -- refuses the call (red team 86: ``never fsread, fswrite
        ~/.ssh/**`` let a program connect to the agent at ``~/.ssh/agent.sock``).  A rule
        that names the place, not the default nor a rule of no path
        (``Table.may_refuse_socket_write``): the call is a network call first, and which
        sockets it may reach is what the policy's ``net-connect`` rules say.  Nor where a
        permit naming the socket's address decides the call's own check and comes before
        that rule (_named_before): the first matching rule decides (review 67: ``permit
        net-connect unix = ~/.ssh/agent.sock`` written before ``never fsread, fswrite
        ~/.ssh/**`` -- the agent may be used, the keys stay private -- was overridden)."""
        if not table.may_refuse_socket_write():
            return None
        found: Decision | None = None
        addresses = call.sockaddrs
        for address in addresses:
            if address.family == "unix" and address.path and not address.path.startswith("@"):
                refused = table.refusing_rule(CallFacts(
                    "openat", (PathArg("path", address.path),), open_flags=os.O_WRONLY))
                if refused is None or refused.rule is None or refused.rule.path is None:
                    continue
                if _named_before(table, call if len(addresses) == 1 else CallFacts(
                        call.policy_name, (), call.open_flags, address, None,
                        selector=call.selector), refused.rule):
                    continue
                refused = dataclasses.replace(refused, reason=Reason.SOCKET_FILE)
                if _socket_missing(table, refused, call):
                    # no socket there: the kernel's lookup answers ENOENT before it asks for
                    # write permission, whatever is decided -- so no question (review 67:
                    # glibc's nscd probe, at every user or host lookup); _missing answers
                    # ENOENT, as for a refused open of a missing file (policy.md)
                    refused = dataclasses.replace(refused, action=Action.NEVER)
                if found is None or refused.action.severity > found.action.severity:
                    found = refused
        return found

    @staticmethod
    def _missing(table: Table, decision: Decision, call: DecodedCall) -> Decision:
        """A refusal of a path that does not exist answers ENOENT, as the kernel would (see
        ``Table.refusal_errno``); a path that cannot even be looked up keeps the policy's
        errno.  So does a connect or send refused as a write of a unix socket file that is
        not there (_socket_written: the kernel's lookup fails first)."""
        if decision.reason is Reason.SOCKET_FILE and call.name in SOCKET_WRITERS:
            err = errno_module.ENOENT if _socket_missing(table, decision, call) \
                else decision.errno
            return decision if err == decision.errno else dataclasses.replace(decision, errno=err)
        try:
            err = table.refusal_errno(decision, call)
        except DecodeError:
            return decision
        return decision if err == decision.errno else dataclasses.replace(decision, errno=err)

    @staticmethod
    def _interpreter_refusal(table: Table, interpreter: str) -> Decision | None:
        """The rule of ``table`` that refuses (or asks about) an exec of ``interpreter``."""
        return table.refusing_rule(CallFacts("execve", (PathArg("path", interpreter),)))

    @classmethod
    def _admitted(cls, table: Table) -> Admit | None:
        """Which interpreters the tracer may read to find the next (exec_image's ``admit``):
        never one a rule of ``table`` refuses to exec -- what it read would stay in the
        tracer's memory (docs/security.md class 6).  None: no rule could refuse one."""
        if not (table.may_refuse("execve", "exec") or table.may_refuse("execve", "fsread")):
            return None
        return lambda interpreter: cls._interpreter_refusal(table, interpreter) is None

    @classmethod
    def _interpreters(cls, table: Table, call: DecodedCall) -> Decision | None:
        """An exec runs its interpreters too (a script's #! program, the ELF's PT_INTERP):
        none may be a program a rule of the table refuses (or asks about) to exec."""
        admit = cls._admitted(table)
        if admit is None:
            return None  # no rule could refuse one: no need to read the file
        image = call.exec_image(admit=admit)
        if image is not None and image.unread:
            # a file the kernel reads for the exec and the tracer may not (execute-only, the
            # tracer not root): an interpreter it names would go unchecked (red team 6)
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.INTERPRETER)
        for interpreter in image.interpreters if image is not None else ():
            found = cls._interpreter_refusal(table, interpreter)
            if found is not None:
                return dataclasses.replace(found, reason=Reason.INTERPRETER)
        return None

    def _entering_table(self, table: Table, call: DecodedCall) -> Decision | None:
        """An exec that puts the process under another table (the program's) is a change of
        privilege, as a set-user-ID exec is: the new table's rights are the program's, not
        the caller's.  So the program must be the one the table names: a task in a mount
        namespace of its own execs by its own names, and a name it mounted another file at
        (a bind over the program: an unprivileged user namespace suffices) names, here,
        another file -- such an exec is refused (EPERM).  And the dynamic loader and libc load
        code and open files the environment names (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH,
        GCONV_PATH...), which they ignore only in the kernel's secure mode -- which no table
        switch sets --, and a
        script's interpreter runs what its own variables name (BASH_ENV, exported functions,
        PYTHONPATH...: environment.runs_code; gettext's catalogs by a LANGUAGE holding a '/',
        whose translations are the program's printf formats: environment.chooses_code): code
        the caller chose would run with the new
        table's rights.  Such an exec is refused (EPERM) when its environment holds one of
        them that the run did not start with (a variable the user gave the command is the
        user's choice) and the new table does not grant (its ``environment``: what the
        learner saw such execs carry).  Nor may the loader be the tree's: a task whose root
        (or mount namespace) is its own has the kernel look the program's interpreters up
        there -- its PT_INTERP, its #! chain --, and the loader its libraries and
        /etc/ld.so.preload: such an exec is refused (EPERM) unless the program is static or
        the task's root and mounts are the tracer's (DecodedCall.loads_in_own_view; red
        team 24)."""
        if self.options.inherit_across_exec:
            return None
        try:
            program = call.path("path")
        except DecodeError:
            return None  # the lookup fails: the exec too
        if program is not None and self.policies.claimed(program):
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.FORMER_NAME)
        new = self.policies.table_for(program) if program is not None else None
        process = self.tracer.processes.get(call.tgid) if self.tracer is not None else None
        current = process.state.table if process is not None and isinstance(
            process.state, ProcessState) else table
        if new is None or new is current:
            return None  # (the process keeps its table)
        assert program is not None
        where = call.access_path("path")
        if where is not None and where != program and not _same_file(program, where):
            # a task in a mount namespace of its own: the name it execs has a table, but
            # here names another file -- one the tree mounted there (a bind over the
            # program), which would claim the program's table
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.PROGRAM_NAME)
        closing = procfs.standard_fds_closing(call.tid)
        call.examined_std_fds = closing
        started_closing = self.tracer.start_closing_fds if self.tracer is not None else None
        if closing - (started_closing or frozenset()):
            # descriptor 0, 1 or 2 closed (or close-on-exec): the program's first opens take
            # those numbers, and what it writes to "stderr" -- the caller's text, its argv --
            # lands in a file its table may write and the caller's may not.  The C library
            # opens /dev/null there only in secure mode (a set-user-ID exec), which no table
            # switch sets (red team 34)
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.STANDARD_FDS)
        flags = procfs.personality(call.tid)
        started_flags = self.tracer.start_personality if self.tracer is not None else None
        if flags is None or flags & PER_CLEAR_ON_SETID & ~(started_flags or 0):
            # ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO: a
            # fixed layout, executable data -- what an exploit of the program needs; the
            # kernel clears them at a set-user-ID exec (PER_CLEAR_ON_SETID), and cannot be
            # asked to here; only the task itself changes them (red team 35)
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.PERSONALITY)
        if self.tracer is not None:
            filters = procfs.status_numbers(call.tid, b"Seccomp_filters")
            call.examined_filters = filters
            if self.tracer.own_filter_in(filters):
                # a seccomp filter of the tree's own outlives the exec and answers the
                # program's calls -- SECCOMP_RET_ERRNO outranks the tracer's TRACE, unseen: an
                # open "succeeds" with 0 and the program writes what its table let it read to
                # the caller's descriptor.  The kernel lets an unprivileged task install one
                # only under no_new_privs, which keeps a set-user-ID exec from raising
                # privilege; no table switch did (red team 35)
                return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                                Reason.OWN_FILTER)
        if call.loads_in_own_view():
            # a task with a root (or mount namespace) of its own: the kernel loads the
            # program's interpreters -- its dynamic loader, which loads the libraries and
            # reads /etc/ld.so.preload -- from there: the tree's code would run with the
            # program's table (red team 24)
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.LOADER)
        runs, unadmitted = self._environment_verdict(new, tuple(call.envp or ()))
        if runs:
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name, Reason.LOADER)
        image: ExecImage | None = None
        if unadmitted:
            # a caller's HOME placing a Python's user site (gap #38); a caller's PATH picking
            # the program "#!/usr/bin/env NAME" runs, after the exec into the script's table
            # (gap #40)
            image = call.exec_image(elf=False, admit=self._admitted(table))
            if image is not None:
                reads = exec_reads_from(image, call)
                if HOME in unadmitted and HOME in reads:
                    return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                                    Reason.USER_SITE)
                if PATH in unadmitted and PATH in reads:
                    return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                                    Reason.ENV_PATH)
        if image is None:
            image = call.exec_image(elf=False, admit=self._admitted(table))
        if image is not None and (self.tracer is None or not self.tracer.first_exec(call.tid)):
            # a Python that imports first from a working directory the caller may fill: a
            # module planted there runs with the table (red team 53) -- unless the table
            # grants that directory (``CWD=...``, learned).  Not the command's own first exec
            # (the user's directory, nothing traced ran yet)
            where = python_working_directory(image, call, self._kept)
            if where is not None and (where == UNNAMED_CWD
                                      or not new.admits_variable(f"{CWD}={where}")):
                return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                                Reason.PYTHON_CWD)
        return self._script_link(table, call, image)

    def _environment_verdict(self, new: Table, envp: tuple[str, ...]
                             ) -> tuple[bool, frozenset[str]]:
        """What an exec's environment ``envp`` means for an exec into table ``new``
        (:meth:`_entering_table`): whether it holds a variable that runs code
        (environment.chooses_code) that the run did not start with and ``new`` does not grant,
        and which of HOME and PATH it moves from the start's (environment.moved) where
        ``new`` does not grant the value.  Remembered by (the table, its grants, the start's
        environment, ``envp``): all it depends on -- a make's execs of one compiler carry one
        environment (the scan and the start's dict cost ~70 us an exec, perf23).  At most
        _ENVIRONMENT_VERDICTS environments of at most _ENVIRONMENT_REMEMBERED characters: a
        larger one is scanned every time (the tree chooses them: its memory must not)."""
        started = self.tracer.start_environment if self.tracer is not None else None
        key = (id(new), id(new.environment), id(new.expansions), id(started), envp)
        found = self._environment_verdicts.get(key)
        if found is not None and found[0] is new and found[1] is new.environment \
                and found[2] is new.expansions and found[3] is started:
            return found[4], found[5]
        runs = any(chooses_code(entry)
                   and (started is None or entry not in started)
                   and not new.admits_variable(entry) for entry in envp)
        unadmitted = frozenset(
            name for name in (HOME, PATH)
            if (value := moved(name, envp, started)) is not None
            and not new.admits_variable(value))
        if sum(map(len, envp)) > _ENVIRONMENT_REMEMBERED:
            return runs, unadmitted
        if len(self._environment_verdicts) >= _ENVIRONMENT_VERDICTS:
            self._environment_verdicts.clear()
        self._environment_verdicts[key] = (new, new.environment, new.expansions, started, runs,
                                           unadmitted)
        return runs, unadmitted

    def _script_link(self, table: Table, call: DecodedCall,
                     image: ExecImage | None) -> Decision | None:
        """An exec into another table of a script whose spelling reaches it through a name a
        traced program may change (gap #39): the kernel gives the interpreter the script's
        path as spelled (its ``$0``), and a script that finds its files by ``dirname "$0"``
        would read the caller's.  Such an exec is refused (EPERM) when the lookup passes
        through a symlink -- or a directory it leaves by ".." -- that a program may change
        (outputs.program_may_change: it, or a directory on the way to it, sits in a directory
        the program may write -- a directory renamed re-aims every name below it), or when a
        relative spelling climbs by ".." out of a start directory it may change.  What is
        checked is what the kernel resolves: no task of the tree can change a name in those
        directories before the exec runs (which runs with the rest of the tree stopped, its
        path re-resolved: Tracer._unchanged).  A link in a directory of root's a user's
        program may not write (``/usr/bin/foo -> ../lib/foo/foo.sh``), a binary by any link,
        and ``$0`` itself are as natively."""
        decoded = call.decoded_path("path")
        if decoded is None or decoded.spec is None or not decoded.raw:
            return None
        places = [name for name, _ in call.passed_through(decoded)]
        if not decoded.raw.startswith("/") and ".." in decoded.raw.split("/"):
            places.append(decoded.resolved.start or "")
        if not places:
            return None
        if image is None:
            image = call.exec_image(elf=False, admit=self._admitted(table))
        if image is None or not (image.script or image.unread):
            return None
        if any(not place.startswith("/") or program_may_change(place, self._kept)
               for place in places):
            return Decision(Action.NEVER, errno_module.EPERM, None, table.name,
                            Reason.SCRIPT_LINK)
        return None

    def _unseen_socket(self, table: Table, call: DecodedCall) -> Decision | None:
        """Under address rules (in any table of the run), a socket whose destinations the
        engine cannot see (raw, packet...: syscalls.Sockets) is not made unless a rule of the
        table names the call -- as the filter answers it when it can."""
        if not makes_unseen(call.name, call.args) or not unseen_refused(table, call.name) \
                or not address_rules(self.policies.tables()):
            return None
        sockets = BY_NAME[call.name].unseen
        assert sockets is not None
        return Decision(Action.NEVER, sockets.errno, None, table.name, Reason.UNSEEN)

    @staticmethod
    def _permit(decision: Decision) -> Reply:
        redirects = decision.redirects or (
            {decision.role or "path": decision.redirect} if decision.redirect else None)
        if not redirects:
            return Reply.run()
        paths = {role: r.path for role, r in redirects.items() if r.path is not None}
        address = next((r.address for r in redirects.values() if r.address is not None), None)
        sockaddr = None
        if address is not None:
            from systrace_py.engine.sockaddr import encode_sockaddr

            sockaddr = encode_sockaddr(address)
        return Reply(paths=paths or None, sockaddr=sockaddr)

    def _report(self, task: Task, call: DecodedCall, decision: Decision,
                result: ResultName) -> None:
        """Log a refusal (or would-be refusal); say it on stderr when asked to, or when an ASK
        had nobody to ask."""
        if result == Result.WOULD_REFUSE:
            self.would_refuse += 1
        else:
            self.refusals += 1
        process = task.process
        if self.audit is not None:
            self.audit.decision(self.who(process, task.tid), call.policy_name, call.describe(),
                                decision, result, call.logged())
        asked = decision.action is Action.ASK
        if self.options.verbose or asked:
            if decision.rule is not None:
                rule = decision.rule.label()
            else:
                text = REFUSAL_TEXTS[decision.reason]
                rule = text.format(**{blank: fill(self, call, decision)
                                      for blank, fill in _REFUSAL_BLANKS.items()
                                      if f"{{{blank}}}" in text})
            verb = "would refuse" if result == Result.WOULD_REFUSE else "refused"
            why = f"{rule} says ask and no one can be asked" if asked else rule
            say(f"{verb} {self.describe_call(call)} for pid {process.pid} "
                f"({process.program}): {why} -> {decision.errno_name}", self.stderr)

    def _kept(self, name: str) -> bool:
        """Whether every table of the run refuses each call that would change what ``name``
        leads to -- remove it, rename it or over it, exchange it, mount over or under it
        (_CHANGES_A_NAME) --: no traced program may, whatever the kernel would let it do
        (outputs.program_may_change's ``kept``; as root, the only word that keeps a name)."""
        for table in self.policies.tables():
            for syscall, roles, selector in _CHANGES_A_NAME:
                facts = CallFacts(syscall, tuple(PathArg(role, name) for role in roles),
                                  selector=selector)
                if table.decide(facts).action is not Action.NEVER:
                    return False
        return True

    def _entered(self, call: DecodedCall) -> str:
        """The name of the table an exec enters (for a message)."""
        try:
            program = call.path("path")
        except DecodeError:
            return "?"
        new = self.policies.table_for(program) if program is not None else None
        return new.name if new is not None else "?"

    @staticmethod
    def _home(call: DecodedCall) -> str:
        """The exec's HOME, for a message ("HOME unset" when it has none): the first entry,
        as getenv reads it (environment.moved, which names every one when told no start)."""
        try:
            home = moved(HOME, call.envp or (), None)
        except DecodeError:
            return "HOME unreadable"
        return home if home is not None and "=" in home else "HOME unset"

    def _ask(self, task: Task, call: DecodedCall, decision: Decision,
             answered_paths: tuple[str, ...] = ()) -> Reply:
        """Park the call and put it to the front end.  ``answered_paths``: the paths of the call
        earlier answers permitted (a call of two paths that both ask: _asked_besides)."""
        process = task.process
        state: ProcessState = process.state
        request = AskRequest(process.pid, task.tid, process.ppid, process.program,
                             call.policy_name, call.describe(),
                             self._asked_facts(state.deciding(), call, answered_paths, decision),
                             decision,
                             table=state.deciding(), id=next(self._ask_ids),
                             argv=self._argv_of(process),
                             parent_program=self._parent_program(process))
        assert self.asker is not None
        tracer = self.tracer
        with self._pending_lock:
            self._pending[request.id] = _Pending(request, task, call, decision, answered_paths)

        def respond(answer: Answer) -> None:
            # May run on the front end's thread: the answer is applied on the tracer's.  An
            # ask the supervisor settled meanwhile is not pending any more: a late answer is
            # dropped (the task may be parked on another call by now).
            with self._pending_lock:
                if self._pending.pop(request.id, None) is None:
                    return
            if tracer is not None:  # (for this task: its tid may be another's by now)
                tracer.answer(task, lambda: self.apply_answer(
                    task, call, decision, answer, answered_paths=answered_paths))

        self.asker.ask(request, respond)
        return PARK

    @staticmethod
    def _argv_of(process: Process) -> tuple[str, ...] | None:
        """The argv a question shows: the one its exec passed, as the tracer read it
        (Tracer._on_exec) -- an empty one too (``()``: not "unread") --, or for a process
        whose exec it never saw (``--attach``) /proc/PID/cmdline now, the process's own to
        write (red team 27)."""
        state: ProcessState = process.state
        return state.argv if state.argv is not None else procfs.cmdline(process.pid)

    def _parent_program(self, process: Process) -> str | None:
        parent = self.tracer.processes.get(process.ppid) if self.tracer is not None else None
        if parent is not None:
            return parent.program
        state: ProcessState = process.state
        return state.parent_program

    def apply_answer(self, task: Task, call: DecodedCall, decision: Decision,
                     answer: Answer, by: str | None = None,
                     answered_paths: tuple[str, ...] = ()) -> Reply:
        """Turn an answer into a Reply, remembering the rule it carries (one code path for
        every front end).  ``by``: what answered, when not a front end (said with -v);
        ``answered_paths``: the paths of the call earlier answers permitted."""
        process = task.process
        state: ProcessState = process.state
        if answer.kind == AnswerKind.DETACH and not state.table.allow_detach:
            answer = Answer(AnswerKind.DENY, errno=decision.errno)  # the policy does not let it go
        if answer.rule is not None:
            self.remember(process, answer.rule, answer.reach, decision.rule)
        if answer.burst and answer.kind in (AnswerKind.PERMIT, AnswerKind.DENY):
            # (the question's path: a screen's or terminal's name asked about for the device
            # opened is not the device's -- a burst of it covers no open of the device, whose
            # other screens were not asked about: close22)
            path = _asked_path(self._asked_facts(state.deciding(), call, answered_paths,
                                                 decision), decision)
            if path is not None:
                state.bursts.append(Burst(
                    path, Action.PERMIT if answer.kind == AnswerKind.PERMIT else Action.NEVER,
                    answer.errno, time.monotonic() + BURST_SECONDS))
        result = _ANSWER_RESULTS.get(answer.kind, Result.REFUSED)
        if result in (Result.REFUSED, Result.KILLED):
            self.refusals += 1
        answered = dataclasses.replace(
            decision, reason=Reason.ANSWER,
            action=Action.PERMIT if answer.kind in (AnswerKind.PERMIT, AnswerKind.DETACH)
            else Action.NEVER,
            errno=answer.errno)
        if self.audit is not None:
            self.audit.decision(self.who(process, task.tid), call.policy_name, call.describe(),
                                answered, result, call.logged())
        if by is not None and self.options.verbose:
            verb = "permitted" if answer.kind == AnswerKind.PERMIT else "denied"
            say(f"{verb} {self.describe_call(call)} for pid {process.pid} "
                f"({process.program}) by {by}", self.stderr)
        if answer.rule is not None or answer.burst:
            self._settle_pending()
        if answer.kind == AnswerKind.PERMIT:
            try:
                further = self._asked_besides(task, call, decision, answered_paths)
            except DecodeError as exc:
                return Reply.refuse(exc.errno)
            if further is not None:
                return further
            if call.name in ("execve", "execveat"):
                # the question showed the program and its argv, not its environment nor
                # which file the name reaches: the engine's check holds whoever permits
                try:
                    refused = self._entering_table(state.deciding(), call)
                except DecodeError as exc:  # (its environment unreadable: the kernel's errno)
                    return Reply.refuse(exc.errno)
                if refused is not None:
                    self._report(task, call, refused, Result.REFUSED)
                    return Reply.refuse(refused.errno)
            return self._made(call, Reply.run())
        if answer.kind == AnswerKind.KILL:
            return KILL
        if answer.kind == AnswerKind.ABORT:  # end the run: every traced process is killed
            self.aborted = True
            if self.tracer is not None:
                self.tracer.stop(kill=True)
            return KILL
        if answer.kind == AnswerKind.DETACH:
            return DETACH
        return Reply.refuse(answer.errno)

    def _all_facts(self, table: Table, call: DecodedCall) -> list[Facts]:
        """The facts ``table`` decides ``call`` by, one set each (_decide): per socket address
        of a sendmmsg, and per name of an address when a rule decides by host name."""
        facts = call.all_facts()
        if call.name in self._named_calls and table.has_host_rules():
            facts = by_name(table, facts)
        return facts

    def _asked_facts(self, table: Table, call: DecodedCall, answered: tuple[str, ...],
                     decision: Decision) -> CallFacts:
        """The facts a question about ``call`` is about: the call's own -- or, for a call
        decided once per address (or name), those of the first that asks, as strictest_held
        picks it: the question's address, its scopes, its rule are that one's (the others
        ask in turn: _asked_besides).  An ask of what the call does besides (``decision``
        one of DecodedCall.pathless_asks: _pathless, _asked_as) is about the call it is decided
        as -- of no path (red team 66), or a loop attach's open of its file (review 44): its
        scopes and the rule an answer remembers name that call."""
        if decision.action is Action.ASK:
            for asked, about in call.pathless_asks or ():
                if asked is decision or asked == decision:
                    return about
        facts = self._all_facts(table, call)
        if len(facts) > 1:
            for one in facts:
                if table.decide(one, answered).action is Action.ASK:
                    return CallFacts(call.policy_name, (), call.open_flags, one.sockaddr,
                                     call.argv, selector=call.selector)
            return call.facts()
        own = call.facts()
        if call.policy_name in SIGNAL_CALLS and call.in_tree():
            # a signal to tasks of the traced tree only: the question says so, and offers a
            # rule of those signals alone (offers_for: target = "tree"; close22)
            return dataclasses.replace(own, tree=True)
        terminals = {role: name for role, name in (call.examined_terminals or {}).items()
                     if name}
        if terminals and table.decide(call, answered).action is not Action.ASK and \
                table.decide(_PathsReadAs(call, _stood_for(terminals)),
                                         answered).action is Action.ASK:
            # asked by a rule on the terminal a device stands for (/dev/tty: _decide): the
            # question is about that terminal's name -- its answer (answer_key), the rule an
            # answer remembers (a permit of /dev/tty left the terminal's rule asking at
            # every open: review 43)
            return dataclasses.replace(own, paths=tuple(
                PathArg(p.role, terminals.get(p.role, p.path)) for p in own.paths))
        asked = decision.arg
        if decision.action is Action.ASK and asked is not None and call.examined_screens and \
                asked.path in call.examined_screens.get(asked.role, ()) and \
                own.path(asked.role) != asked.path:
            # asked by a rule on a name of a screen the device shows (_screens_decided): the
            # question is about that name -- its answer (answer_key), the rule an answer
            # remembers (close22)
            return dataclasses.replace(own, paths=tuple(
                PathArg(p.role, asked.path if p.role == asked.role else p.path)
                for p in own.paths))
        return own

    def _asked_besides(self, task: Task, call: DecodedCall, decision: Decision,
                       answered_paths: tuple[str, ...]) -> Reply | None:
        """What a permit answer leaves of a call that also asked about another path, or None
        when the answer decides it whole.  A question is about one path (the asking check's:
        its ``path``, its rule, its scopes), but every check of a call must be permitted:
        a rename whose old and new path both asked was put as a question about the old one,
        and a permit ran it -- the new path, put to nobody, replaced a file the approver
        refuses (red team 61).  So the call is decided again with its asks about the answered
        paths taken as answered (Table.decide's ``answered``): another path that asks is
        asked about in turn, one refused refuses the call, and it runs only when nothing is
        left.  A check of no path (what the call does besides: an open of another process's
        /proc/PID/mem read as process_vm_readv, Supervisor._decide) is a question of its own
        too (:data:`_NO_PATH`): a permit of the path's question ran the memory read, put to
        nobody (review 42); one answered answers every such check of the call.  So is each
        destination of a call of several (a sendmmsg's: answer_key names it)."""
        state: ProcessState = task.process.state
        table = state.deciding()
        asked = answer_key(decision, self._asked_facts(table, call, answered_paths, decision)) \
            or _NO_PATH
        done = (*answered_paths, asked) if asked not in answered_paths else answered_paths
        rest = self._decide(table, call, state.table, done)
        if rest.action is Action.PERMIT:
            return None
        if rest.action is Action.ASK:
            key = answer_key(rest, self._asked_facts(table, call, done, rest)) or _NO_PATH
            if key in done:
                return None  # (a question about what was answered)
            return self._ask(task, call, rest, done)
        self._report(task, call, rest, Result.REFUSED)
        return Reply.refuse(rest.errno)

    def _burst_answer(self, state: ProcessState, call: DecodedCall,
                      decision: Decision) -> Answer | None:
        """The answer of a live ``burst`` covering this call asked by ``decision`` (every
        path it names is the burst's, and so is the question's: _asked_facts), or None.  A
        call on the burst's path may be asked about another name -- a screen's other name
        (/dev/vcsaN for an open of /dev/vcsN), the terminal /dev/tty stands for -- or about
        what it does besides (no path): a burst answered that question, put to nobody, and
        the answer it stood for was taken as answering it (_asked_besides: review 47, a
        burst of writing /dev/vcsN let a read of it through a rule asking about /dev/vcsaN)."""
        if not state.bursts:
            return None
        now = time.monotonic()
        state.bursts = [b for b in state.bursts if b.until > now]
        if not state.bursts:
            return None
        paths = {p.path for p in call.facts().paths}
        asked = _asked_path(self._asked_facts(state.deciding(), call, (), decision), decision)
        for burst in reversed(state.bursts):  # the newest first
            if paths == {burst.path} and asked == burst.path:
                if burst.action is Action.PERMIT:
                    return Answer(AnswerKind.PERMIT)
                return Answer(AnswerKind.DENY, errno=burst.errno)
        return None

    def _settle_pending(self) -> None:
        """An answer added a rule or a burst: every other ask it now decides is settled by
        it, as the call would have been had it come after the answer (a person is not asked
        twice about one thing)."""
        with self._pending_lock:
            waiting = list(self._pending.values())
        for pending in waiting:
            state: ProcessState = pending.task.process.state
            decision = self._decide(state.deciding(), pending.call, state.table)
            if decision.action is Action.ASK:
                # (a burst answers the waiting question, if any: its own decision's path --
                # a call's first question, a burst of its path, settled the second one, about
                # another name, put to nobody: review 47)
                answer = self._burst_answer(state, pending.call, pending.decision)
                if answer is None:
                    continue
            elif decision.action is Action.PERMIT:
                answer = Answer(AnswerKind.PERMIT)
            else:
                answer = Answer(AnswerKind.DENY, errno=decision.errno)
            with self._pending_lock:
                if self._pending.pop(pending.request.id, None) is None:
                    continue  # answered meanwhile
            if self.asker is not None:
                self.asker.settled(pending.request, "an earlier answer decides it")
            if self.tracer is not None:
                self.tracer.answer(pending.task, functools.partial(
                    self.apply_answer, pending.task, pending.call, pending.decision, answer,
                    by="an earlier answer", answered_paths=pending.answered_paths))

    def remember(self, process: Process, rule: Rule, reach: str,
                 asking: Rule | None = None) -> None:
        """Add a rule from an answer for the reach asked: this process's private rules, the
        program's table (made by the store when the program has none), or every table.
        ``asking``: the rule that asked (None: a table's default).  The answer goes just
        before that rule (model.answer_place; the store saves it there too), and its calls
        are none that rule did not name (aliases.answered_calls) -- put first, as its alias,
        ``permit fswrite $CWD/data`` overtook a person's ``never unlink`` before the ``ask``
        and, for an ``ask openat``, one after it (review 65).  When no name of the answer
        can be kept, it goes at the end of the table."""
        if asking is not None:
            calls = answered_calls(rule.calls, asking.calls)
            if calls is None:
                asking = None
            elif calls != rule.calls:
                rule = dataclasses.replace(rule, calls=calls)
        if asking is not None:
            # (its other conditions too, and before the ask only where its path is the
            # ask's under every expansion: review 69)
            rule, covered = answer_conditions(
                rule, asking, process.state.table.expansions
                or Expansions.from_env(self.policies.store.env))
            if not covered:
                asking = None
        state: ProcessState = process.state
        self.policies.store.asked_by(rule, asking)
        if reach == "process" or (reach == "program" and nameless(process)):
            # (a program with no name of its own -- a memfd, a removed file -- is no program
            # a table could be kept for: any process may name its own so; red team 61)
            state.private.insert(0, rule)
            state.asked_by[id(rule)] = asking
            return
        if reach == "program":
            table = self.policies.table_for(process.program)
            store = self.policies.store
            # a glob table of the file claims the program: the answer is the program's, not
            # every program the glob matches (review 58) -- a literal copy takes it
            claimed = table is not None and store.owns(table) and \
                self.policies.main.programs.get(process.program) is not table
            new = False
            if table is None or claimed:
                inherited = state.table if table is None else table
                table, new = store.program_table(process.program, inherited, claimed=claimed)
                # the program's other live processes under the same table move with it
                for other in self.tracer.processes.values() if new and self.tracer else ():
                    other_state = other.state
                    if (isinstance(other_state, ProcessState) and other.program == process.program
                            and other_state.table is inherited):
                        other_state.table = table
            store.place(table, rule, asking, new)
            state.table = table
            return
        for table in self.policies.tables():
            table.add_rule(rule, answer_place(table.rules, asking))

    def on_syscall_exit(self, task: Task, call: DecodedCall, result: int) -> None:
        return None

    def on_new_process(self, parent: Process, child: Process, how: str) -> None:
        parent_state: ProcessState = parent.state
        child.state = ProcessState(parent_state.table, list(parent_state.private),
                                   dict(parent_state.asked_by), parent_state.argv,
                                   parent.program)
        self._event(how, child, parent=parent.pid, table=parent_state.table.name)
        if self.options.verbose:
            say(f"pid {child.pid}: new process ({how}) of pid {parent.pid} "
                f"({parent.program}), table {parent_state.table.name}", self.stderr)

    def on_new_thread(self, parent: Task, child: Task) -> None:
        return None

    def on_exec(self, process: Process, old_program: str, argv: tuple[str, ...] | None) -> None:
        state: ProcessState = process.state
        state.argv = argv
        state.bursts.clear()
        # an ask of the process still waits only when another thread exec'd: the exec killed
        # the asking thread (its call never runs), and an answer about the former program is
        # none about the new one
        self._settle_gone(process, "its thread is gone (another thread exec'd)")
        if not self.options.inherit_across_exec and not nameless(process):
            table = self.policies.table_for(process.program)
            if table is not None:
                state.table = table
                state.private.clear()
                state.asked_by.clear()
        self._event("exec", process, argv=list(argv) if argv is not None else None,
                    previous=old_program, table=state.table.name)
        if self.options.verbose:
            say(f"pid {process.pid}: exec {process.program}, table {state.table.name}", self.stderr)

    def on_exit(self, process: Process, status: int) -> None:
        self.injector.forget(process.pid)
        if self.audit is not None:
            self.audit.exit(self.who(process), status)
        self._settle_gone(process, "its process is gone")
        if self.asker is not None and self.asker.wants_events:
            record = self.who(process)
            if os.WIFSIGNALED(status):
                record["signal"] = os.WTERMSIG(status)
            else:
                record["code"] = os.WEXITSTATUS(status)
            self.asker.process_event({"event": "exit", **record})

    def _settle_gone(self, process: Process, why: str) -> None:
        """Settle the process's waiting asks: their tasks are gone (a late answer is dropped,
        whatever task has the tid by then)."""
        with self._pending_lock:
            gone = [p for p in self._pending.values() if p.task.process is process]
            for pending in gone:
                del self._pending[pending.request.id]
        for pending in gone:
            if self.asker is not None:
                self.asker.settled(pending.request, why)

    def _event(self, event: str, process: Process, **extra: Any) -> None:
        """A process event, for the log and for a front end that wants them."""
        if self.audit is not None:
            self.audit.process(event, self.who(process), **extra)
        if self.asker is not None and self.asker.wants_events:
            self.asker.process_event({"event": event, **self.who(process), **extra})

    def on_engine_refusal(self, task: Task, call: DecodedCall, err: int, why: str,
                          kernel: bool = False) -> None:
        name = errno_module.errorcode.get(err, str(err))
        if self.audit is not None:
            self.audit.engine(self.who(task.process, task.tid), call.policy_name,
                              call.describe(), name, why, call.logged(), kernel=kernel)
        if kernel:
            return  # failing as it does natively: logged, not counted or said as a refusal
        self.refusals += 1
        self.engine_refusals += 1
        if self.options.verbose:
            if why == "guard":
                why = f"systrace's guard: {guard_purpose(call.name)}"
            say(f"refused {self.describe_call(call)} for pid {task.pid} "
                f"({task.process.program}): {why} -> {name}", self.stderr)


def nameless(process: Process) -> bool:
    """Whether the process's program has no name of its own: /proc names a file without one
    (a memfd, a removed file) ``NAME (deleted)``, a text any process may make its own
    program's -- a memfd of that name (``memfd_create`` is no call a rule refuses by name),
    a file it removes.  Such a program takes no table at its exec, and a ``for program``
    answer about it is kept for the process (red team 61: a table made for a tool's memfd
    helper was entered by every memfd so named).  A file whose name really ends so, and
    which is the process's program, has one -- a file there, not a symlink (to
    /proc/PID/exe, which a stat would follow to the program itself: review 42).  The
    learner asks the same (Learner.on_exec): what such a process does is learned into the
    table it runs under, its caller's."""
    program = process.program
    if not program.endswith(DELETED):
        return False
    try:
        named = os.stat(program, follow_symlinks=False)
        running = os.stat(f"/proc/{process.pid}/exe")
    except OSError:
        return True
    return (named.st_dev, named.st_ino) != (running.st_dev, running.st_ino)


def _asked_path(facts: CallFacts, decision: Decision) -> str | None:
    """The path an ask was about: the one the deciding check looked at, else the first."""
    if decision.role is not None:
        found = facts.path(decision.role)
        if found is not None:
            return found
    return facts.paths[0].path if facts.paths else None
