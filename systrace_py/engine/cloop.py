"""The native stop loop (systrace_py/_cloop.c): what it may decide, compiled from a table.

On a busy machine Python glue, not the kernel, is most of a stop's cost (docs/performance.md).
The optional extension serves the common case without returning to Python: the seccomp stops
of the armed tasks making a plain path call (stat, open, access, readlink...) that their table
decides by literal paths, ``dir/**`` trees and globs (a glob by asking the rule's own pattern,
from C), on a path the kernel proves symlink-free, a call with no argument their table
decides by name, or an ioctl of a request that only asks a state (:data:`REQUESTS`), which
their table decides by its plain rules on ioctl.  It permits (PTRACE_CONT; in a tree of
more than one task, the call held to what was checked, as enforce.Holder holds it) or
refuses with the rule's errno (a missing path with the errno the table gives a refusal of
it: :func:`missing_errno`).  It also
serves what the tracer only passes on for an armed task: a signal's delivery (not after a
call's own EINTR, which Python may restart), a fork or vfork event and the child's first stop
(the children are told to Python, Tracer._fast_notes, before it treats any stop) -- and the
vfork event of a clone or clone3 that is a vfork by another name (glibc's posix_spawn:
CLONE_VM | CLONE_VFORK and no other flag, clone3's as Python checked them at its stop; the
child shares its parent's memory and nothing else, as kcmp says), which is then one.  Every
other stop -- an unarmed task's, another event, a call it is not sure of -- comes back to
Python with its wait status, and is treated as it always was.

Execs (a shell's commands): the child of a vfork of a task that is alone is armed at its
birth, its calls held in a slot its parent was given for it (nothing else runs while it
does: its parent waits for it).  An execve whose path the table permits by its index is let
go natively when Python would decide nothing more (:func:`exec_variant`: no rule that may
refuse an interpreter, no argv rule), the file is a regular file that is no script (a #!
chain is Python's), the exec needs no other task stopped (the task is alone, holds nothing,
or is such a vfork child) and the monitor names the table after it (Supervisor.fast_exec);
an exec into another table has its environment read and held by the loop, and any variable
that runs code (environment.runs_code) which the run did not start with hands it to Python,
which refuses it.  Its exec event is served when what runs is what was checked
(/proc/PID/exe), the scratch area mapped as Tracer._premap_scratch maps it, the task then
decided by its new table; Python catches up (Tracer._fast_notes).  The command's end
(waitpid's report) is the loop's too while it knows the whole tree -- the run began with the
one task there was, alone, and every child since is one it saw made --, told to Python in
order (_gone); when the last child ends, the task is armed alone again, with its spare slot.

What the extension cannot see, the tracer checks before it arms a task
(``Tracer._fast_arms``): nothing is pending for it, it sees the tracer's tree, the resolver
is not strict, its scratch area is mapped and it has a slot there (or it is the only task,
and nothing else writes its memory but in the shared pages it is told of); the monitor says
which table decides and whether a refusal may be made without Python (no log, no -v, no dry
run: ``Supervisor.fast_table``).  A task whose search permission is not the tracer's is armed
with ``own_search``: the loop resolves with the tracer's credentials, so a lookup through a
symlink, "." or ".." -- which looks in directories its canonical spelling does not, and the
task may not search -- is Python's (paths.PathResolver._search_as_task), and so is a
refusal (the rule's errno would tell a path is there where the task's lookup fails first).

The extension is built at install when a compiler is there (setup.py, optional); without it,
or with SYSTRACE_NO_CLOOP=1, :func:`load` gives None and the pure-Python loop does it all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from systrace_py.engine import answered, enforce, pkeys, scratch, signals
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.decode import (
    DYNAMIC_ROLE_CALLS,
    MAX_ARG_STRLEN,
    ON_DESCRIPTOR_AS,
    OPEN_FLAGS_ARG,
    PATH_ARGS,
    SELECTOR_ARG,
)
from systrace_py.engine.seccomp import GUARDED_CALLS, KEYS, SHARES, STOP_GUARDED
from systrace_py.kernel import (
    AT_EMPTY_PATH,
    FIONREAD,
    O_CLOEXEC,
    O_CREAT,
    O_RDONLY,
    O_TMPFILE_BIT,
    PER_CLEAR_ON_SETID,
    TCGETS,
    TIOCGPGRP,
    TIOCGWINSZ,
)
from systrace_py.policy import aliases, environment
from systrace_py.policy.index import FLAT_GLOB, flat_check
from systrace_py.policy.model import (
    ABSENCES,
    Action,
    CallFacts,
    Decision,
    PathArg,
    Reason,
    Rule,
    Table,
    checks_of,
)
from systrace_py.syscalls import CHANGES_CREDENTIALS, NAMES, NUMBERS, TABLE, Treat, treated

#: The calls the native loop may decide: path calls whose decision is the path's alone (no
#: guard, no second path, no new name, no change of view, nothing read but the path) --
#: each also passes :func:`_shape` below.
CANDIDATES = ("open", "openat", "stat", "lstat", "newfstatat", "statx", "access",
              "faccessat", "faccessat2", "readlink", "readlinkat", "getxattr", "lgetxattr",
              "listxattr", "llistxattr", "statfs", "chdir")

_PERMIT, _NEVER, _PYTHON = 0, 1, 2
#: what an empty path is to the loop (_cloop.c E_*): ENOENT or a decision Python makes; the
#: descriptor's file, decided by its name; the descriptor call it stands for, permitted
EMPTY_NONE, EMPTY_PATH, EMPTY_PERMIT = 0, 1, 2
MAX_RANGES = 64  # shared mappings the native loop takes (more: Python serves the stops)
MAX_ARMS = 64    # tasks the native loop serves at once (_cloop.c)


def _shape(name: str) -> tuple[int, int, int, bool, bool] | None:
    """(path argument, dirfd argument or -1, the one register its variants depend on or -1,
    held as an openat2, run with the tree stopped when not alone), or None when the loop must
    not decide the call."""
    specs = PATH_ARGS.get(name, ())
    if len(specs) != 1 or name in (GUARDED_CALLS | STOP_GUARDED | DYNAMIC_ROLE_CALLS
                                   | aliases.VIEW_CALLS | aliases.EXEC_CALLS
                                   | aliases.MOVE_CALLS) or name in SHARES:
        return None
    spec = specs[0]
    if spec.exposes.when != "never" or aliases.renames(name, spec.role, None):
        return None
    keys: set[int] = set()
    if spec.follow.when == "open_how":
        return None  # (read from memory)
    if spec.follow.when not in ("always", "never"):
        keys.add(spec.follow.arg)
    if spec.empty.when not in ("always", "never"):
        keys.add(spec.empty.arg)
    if name in OPEN_FLAGS_ARG:
        keys.add(OPEN_FLAGS_ARG[name])
    if name in SELECTOR_ARG:
        keys.add(SELECTOR_ARG[name])
    if len(keys) > 1:
        return None
    dirfd = spec.dirfd_arg if spec.dirfd_arg is not None else -1
    return (spec.arg, dirfd, keys.pop() if keys else -1, name in aliases.OPEN_CALLS,
            name in enforce.FREEZE_CALLS)


SHAPES: dict[int, tuple[int, int, int, bool, bool]] = {
    NUMBERS[name]: shape for name in CANDIDATES if (shape := _shape(name)) is not None}

#: The variants of the path calls every dynamically linked program's loader makes before its
#: main() (glibc's ld.so: access("/etc/ld.so.preload", R_OK), openat(AT_FDCWD, NAME,
#: O_RDONLY | O_CLOEXEC) of its cache and each library, fstat as newfstatat(fd, "",
#: AT_EMPTY_PATH)), as (number, the registers): compiled with each table's plan
#: (FastLoop.plan_for, while the kernel runs the exec that first asks for it), so that the
#: loader's first stops are the loop's.  Learned at their first stop instead (FastLoop._learn),
#: each was a stop handed to Python before the program's main(): ~0.25 ms apiece of every
#: start under a path policy (issue 16).  A variant depends on the one register of its
#: shape alone (_shape), so the others are 0; what it compiles is what _learn would.
LOADER_VARIANTS: tuple[tuple[int, tuple[int, ...]], ...] = tuple(
    (NUMBERS[name], tuple(value if i == SHAPES[NUMBERS[name]][2] else 0 for i in range(6)))
    for name, value in (("access", 0), ("openat", O_RDONLY | O_CLOEXEC),
                        ("newfstatat", AT_EMPTY_PATH))
    if NUMBERS[name] in SHAPES)

#: execve: its path decided as a path call's, its permit then _cloop.c exec_entry's (the
#: image, the table after it, the environment); execveat (a descriptor, flags) is Python's
NR_EXECVE = NUMBERS["execve"]
EXEC_SHAPE = (PATH_ARGS["execve"][0].arg, -1, -1, False, False)

#: Calls the native loop may decide by their name alone: those the syscall table gives no
#: argument to look at (fork, vfork, getpid...) and that the engine has nothing to check or
#: note at (no guard, no shared memory, no change of view, not an exec, not a call whose
#: refusal kills).  At their stop Python does nothing but ask the table (Supervisor._decide:
#: the facts of a name only) and resume or refuse.  They
#: stop when the tables of a run disagree on them (one prefilter for every table): a
#: shell's vfork under a learned policy whose program tables do not name "process".
WHOLE_CALLS: dict[int, str] = {
    number: call.name for excluded in [  # (the union once, not once per call: issue 16)
        GUARDED_CALLS | STOP_GUARDED | aliases.VIEW_CALLS | aliases.EXEC_CALLS
        | enforce.FREEZE_CALLS | treated(Treat.KILL) | CHANGES_CREDENTIALS]
    for number, call in TABLE.items()
    if not call.args and call.name not in excluded
    and call.name not in SHARES and call.name not in KEYS}


#: ioctl's requests the native loop may decide by the request alone: those that only ask a
#: terminal's or a descriptor's state -- gcc's and cc1's isatty (TCGETS) of stdout and
#: stderr, ~400 stops of a build that the tables disagree on ioctl for.  None is a request
#: anything of ioctl's record names (syscalls.py: its guard's checked, refused and routed
#: requests, the file-changing ones of its alias, its shares, DEVICE_CALLS): at such an
#: ioctl's stop Python does nothing but ask the table, the request the call's selector
#: (tests/engine/test_cloop.py::test_plain_requests_are_named_by_nothing).
NR_IOCTL = NUMBERS["ioctl"]
REQUESTS = (TCGETS, TIOCGPGRP, TIOCGWINSZ, FIONREAD)


def _action(rule: Rule) -> tuple[int, int]:
    """A rule's answer for the loop: permit, refuse with its errno, or Python's (an ask, a
    redirect, a ``fresh`` rule: whether the run made the path is the tracer's to tell)."""
    if rule.redirect is not None or rule.action is Action.ASK or rule.fresh:
        return _PYTHON, 0
    if rule.action is Action.NEVER:
        return _NEVER, rule.errno
    return _PERMIT, 0


def missing_errno(table: Table, decision: Decision, name: str, role: str,
                  open_flags: int | None, selector: int | None) -> int:
    """What a refusal (``decision``) of the call answers when its path does not exist, as
    the table says (Table.refusal_errno: ENOENT, as the kernel's lookup would, unless the
    rule says ``missing = "errno"``; the engine's own refusals keep theirs), when that is the
    same whether the last name or a directory on the way is missing; 0 when it is not (a
    call that creates its last name) or the decision is no refusal: Python tells."""
    if decision.action is not Action.NEVER:
        return 0
    found = {table.refusal_errno(decision, CallFacts(
        name, (PathArg(role, "/"),), open_flags, selector=selector, missing=((role, how),)))
        for how in ABSENCES}
    return found.pop() if len(found) == 1 else 0


#: (kind, action, errno, prefix, a FLAT_GLOB entry's pattern's matches or None, a refusal's
#: errno for a missing path (missing_errno))
Entries = list[tuple[Any, ...]]
#: an armed task: (tid, its table, may refuse, /proc/PID/mem descriptor, scratch slot
#: address (0: nothing held), keep its start, the shared ranges (unheld calls only), alone
#: (its calls unheld because it is the only task: once it made a child, its stops are
#: Python's), its search permission is not the tracer's (a lookup through a symlink, "."
#: or "..", and a refusal, are Python's: paths.PathResolver._search_as_task), a spare
#: scratch slot address for the child of a vfork of an alone task, armed by the loop at its
#: birth (0: none), the flags of the clone3 it was let make as checked (Task.clone3_flags;
#: -1: none): a clone3 that is a vfork by another name (glibc's posix_spawn) is served as
#: a vfork), the stub that maps its scratch area while not seen to end (Task.stub; (0, 0, 0):
#: none): the loop lets its mmap go, hands its trap back and tells its end (a "stub" note)
Arm = tuple[int, Table, bool, int, int, bool, tuple[tuple[int, int], ...], bool, bool, int,
            int, tuple[int, int, int]]
#: a child the native loop saw made: (parent tid, child tid, the call's number (fork, vfork,
#: or a clone or clone3 that is a vfork: CLONE_VM | CLONE_VFORK and nothing else, its child
#: sharing the memory alone, by kcmp), whether its first stop came and it was let go).
#: _cloop.c births() gives a fifth, its order among births and execs, which
#: :meth:`FastLoop.notes` sorts by and drops.
Birth = tuple[int, int, int, bool]
NR_FORK, NR_VFORK = NUMBERS["fork"], NUMBERS["vfork"]  # (_cloop.c's NR_FORK, NR_VFORK)
#: the end of a child the native loop saw made, reported to it by waitpid: (tid, wait status,
#: the task armed alone again after it (its last child: 0 when none), the spare slot's
#: address it was armed with (0: none))
End = tuple[int, int, int, int]
#: the first stop of a task the loop was not told of (a child whose parent's event had not
#: come), which it kept stopped and no birth took: (tid, wait status), as waitpid gave it
EarlyStop = tuple[int, int]
#: a task armed with a stub not seen to end (Arm's last) whose end the loop saw: (tid,)
StubEnd = tuple[int]


def walks_freely(table: Table) -> bool:
    """Whether the native loop may decide a lookup that passes through symlinks or climbs
    "..": only when no rule of the table may refuse (or ask about) what it passes through
    -- else that is decided too (Supervisor._traversal), in Python.  (The test was once
    its own, on rules covering newfstatat: a rule naming ``stat`` alone, which the
    traversal asks, let the loop permit "DIR/sub/../x" that Python refuses; red team 26.)"""
    return not table.may_refuse_traversal()


def by_name(table: Table, name: str) -> tuple[int, int] | None:
    """(action, errno) when the table decides every call of ``name`` alike -- every rule that
    may cover it is a plain permit or refusal with no condition -- as its first match (or its
    default) decides it: permitted, or refused with that errno.  None: Python decides (a
    condition, an ask, a redirect, an inject rule).

    A call no rule may cover is decided by the table's default for its one path-less check
    (Table.decide's answer when no check finds a rule: the index lists for a check only
    rules that cover it, and a rule that covers a check of the call may cover it --
    :meth:`Rule.may_cover` is what this test already trusts), without asking the table: a
    plan asks this of ~35 calls, most of which no rule names (Table.decide ~50 thousand
    instructions each; start42)."""
    covered = False
    for rule in table.rules:
        if rule.may_cover(name):
            if (rule.path is not None or rule.net is not None or rule.argv is not None
                    or rule.redirect is not None
                    or rule.action not in (Action.PERMIT, Action.NEVER)):
                return None
            covered = True
    decision = table.decide(CallFacts(name)) if covered else \
        table.default_decision(name in aliases.UNSAFE_CALLS, "path")
    if decision.action is Action.PERMIT:
        return _PERMIT, 0
    if decision.action is Action.NEVER:
        return _NEVER, decision.errno
    return None


def by_request(table: Table, request: int) -> tuple[int, int] | None:
    """:func:`by_name` for an ioctl of one of :data:`REQUESTS`: (action, errno) when every
    rule that applies to it (model.checks_of: by the call's name alone, for these requests
    are in no alias) is a plain permit or refusal with no condition, as its first match (or
    the default) decides it.  None: Python decides."""
    checks = checks_of("ioctl", "fd", None, request)
    for rule in table.rules:
        if any(rule.covers("ioctl", cls, part) for cls, part in checks) and (
                rule.conditional or rule.redirect is not None
                or rule.action not in (Action.PERMIT, Action.NEVER)):
            return None
    decision = table.decide(CallFacts("ioctl", selector=request))
    if decision.action is Action.PERMIT:
        return _PERMIT, 0
    if decision.action is Action.NEVER:
        return _NEVER, decision.errno
    return None


def empty_path(table: Table, name: str, means_fd: bool) -> int:
    """What the loop makes of an empty path of the call: nothing (EMPTY_NONE: ENOENT, or
    Python decides), its descriptor's file decided by its name (EMPTY_PATH), or -- for a call
    that then *is* its descriptor call (decode.policy_name: glibc's fstat is newfstatat(fd,
    "", AT_EMPTY_PATH)) -- that call, which the table permits whatever its arguments
    (EMPTY_PERMIT: every rule that may cover it is a plain permit or refusal with no
    condition, and the first match, or the default, permits).  Anything else is Python's:
    deciding the call by the descriptor's name, as the loop once did, refused a plain fstat
    of a descriptor under a path rule and let through one a rule on fstat refuses."""
    if not means_fd:
        return EMPTY_NONE
    stand_in = ON_DESCRIPTOR_AS.get(name)
    if stand_in is None:
        return EMPTY_PATH
    return EMPTY_PERMIT if by_name(table, stand_in) == (_PERMIT, 0) else EMPTY_NONE


def variant(table: Table, name: str, args: tuple[int, ...]
            ) -> tuple[bool, int, bool, int, list[tuple[Entries, int, int, int]] | None]:
    """(follow, what an empty path is (:func:`empty_path`), walks freely
    (:func:`walks_freely`), an open's flags as held, checks) of a call
    with these registers under ``table``.  Each check of its path (model.checks_of, in
    order) is (entries, action, errno, missing errno): its entries (policy/index.flat_check)
    as (kind, action, errno, prefix, matches, missing errno) -- a glob's ``matches`` its
    pattern's, which the loop calls for a path under the prefix --, then the answer when none
    matches (its unconditional rule, or the table's default); a missing errno is what a
    refusal answers for a path that does not exist (:func:`missing_errno`; 0: Python's).
    checks None: Python decides such calls always."""
    spec = PATH_ARGS[name][0]
    open_flags = None
    if name in OPEN_FLAGS_ARG:
        open_flags = args[OPEN_FLAGS_ARG[name]] & 0xFFFFFFFF
        if open_flags & (O_CREAT | O_TMPFILE_BIT):
            return False, EMPTY_NONE, False, 0, None  # (its mode may make the open EINVAL)
    selector = args[SELECTOR_ARG[name]] & 0xFFFFFFFF if name in SELECTOR_ARG else None
    follow = spec.follows(args, open_flags)
    compiled = table.compiled()
    checks = []
    for cls, part in checks_of(name, spec.role, open_flags, selector):
        flat, unconditional = flat_check(compiled.check(name, cls, part))
        entries: Entries = []
        def by_rule(rule: Rule) -> int:
            return missing_errno(table, Decision(rule.action, rule.errno, rule, table.name,
                                                 Reason.RULE, None, None, spec.role),
                                 name, spec.role, open_flags, selector)

        for kind, rule, prefix in flat:
            action, err = _action(rule) if rule is not None else (_PYTHON, 0)
            # (a glob's pattern is asked by the loop: Python's own matching)
            matches = rule.path.matches if kind == FLAT_GLOB and rule is not None \
                and rule.path is not None else None
            entries.append((kind, action, err, prefix.encode("utf-8", "surrogateescape"),
                            matches, by_rule(rule) if action == _NEVER and rule else 0))
        if unconditional is not None:
            action, err = _action(unconditional)
            missing = by_rule(unconditional) if action == _NEVER else 0
        else:
            default = table.default_decision(name in aliases.UNSAFE_CALLS, spec.role)
            action = {Action.PERMIT: _PERMIT, Action.NEVER: _NEVER}.get(default.action, _PYTHON)
            err = default.errno
            missing = missing_errno(table, default, name, spec.role, open_flags, selector)
        checks.append((entries, action, err, missing))
    how_flags = enforce.open_how_flags(open_flags, 0)[0] if open_flags is not None else 0
    return (follow, empty_path(table, name, spec.empty_means_fd(args)), walks_freely(table),
            how_flags, checks)


def exec_variant(table: Table
                 ) -> tuple[bool, int, bool, int, list[tuple[Entries, int, int, int]] | None]:
    """The variant of execve under ``table`` (as :func:`variant`), whose checks are None --
    Python decides every exec -- where the table's decision needs more than its path: a rule
    that may refuse an interpreter (Supervisor._interpreters reads the image's #! chain and
    PT_INTERP: then Python), or a rule on the exec's argv."""
    spec = PATH_ARGS["execve"][0]
    args = (0,) * 6
    if (table.may_refuse("execve", "exec") or table.may_refuse("execve", "fsread")
            or any(rule.argv is not None and rule.may_cover("execve") for rule in table.rules)):
        return spec.follows(args, None), EMPTY_NONE, walks_freely(table), 0, None
    follow, _, walks, _, checks = variant(table, "execve", args)
    return follow, EMPTY_NONE, walks, 0, checks


def given_entries(started: frozenset[str] | None) -> frozenset[bytes]:
    """The entries of the environment a run started with whose names run code
    (environment.runs_code): an exec into another table may carry them (the user's choice,
    Supervisor._entering_table); none for an attached run (None)."""
    return frozenset(entry.encode("utf-8", "surrogateescape") for entry in started or ()
                     if environment.runs_code(entry.partition("=")[0]))


def _exec_rules(module: Any) -> None:
    """What the extension's exec handling takes from Python, from each fact's one home: the
    environment names that run code (environment.runs_code), the scratch mmap run at an exec
    event (enforce.MMAP_TRAP_CODE and its registers), whether protection keys are on, an
    exec string's limit, where a slot holds an environment, the personality flags a
    set-user-ID exec clears (kernel.PER_CLEAR_ON_SETID: an exec into another table with one
    is Python's, Supervisor._entering_table), the devices that stand for another terminal or
    screen (signals.STAND_INS: every call on one is Python's)."""
    names = tuple(sorted(n.encode() for n in environment.LOADER_VARIABLES
                         | environment.INTERPRETER_VARIABLES
                         | environment.CATALOG_VARIABLES))
    assert all(environment.runs_code(n.decode()) for n in names)
    regs = pt.user_regs_struct()
    enforce.mmap_registers(regs)  # (its one home: the scratch mmap)
    mmap = (regs.rax, regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
    assert mmap[1] == scratch.BASE
    module.set_exec_rules(names, environment.EXPORTED_FUNCTION.encode(), enforce.MMAP_TRAP_CODE,
                          mmap, pkeys.enabled(), MAX_ARG_STRLEN,
                          (scratch.BULK, scratch.SLOT_SIZE), PER_CLEAR_ON_SETID)
    module.set_stand_ins(signals.STAND_INS)


#: (tid, program) -> the table that decides the task after it execs ``program`` and whether
#: that exec enters another table (Supervisor.fast_exec), or None: Python decides the exec
ExecTarget = Callable[[int, str], "tuple[Table, bool] | None"]
#: an exec the native loop let go: (tid, device, inode, program, its event served too,
#: the scratch area mapped at that event (0, 1, SEALED), the stops that took, it failed and
#: its exit stop was served, stub): stub is (after its syscall, after its trap, the entry) of
#: the stub that maps the area when it was not seen to end (_cloop.c stub_map), else None
NativeExec = tuple[int, int, int, str, bool, int, int, bool, "tuple[int, int, int] | None"]
#: an exec note's ``mapped`` when the loop sealed the area it mapped (its premap, its stub)
SEALED = 2


class FastLoop:
    """The extension and the plans it was given, one per table (rebuilt when the table's
    rules change: a new TableIndex)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._plans: dict[int, tuple[Table, Any, Any]] = {}  # id(table) -> (table, index, plan)
        self._last = module.counts()  # the extension's counts when last asked
        _exec_rules(module)
        # (a descriptor of its own: a change of the mount table is told to each reader)
        try:
            self._mountinfo = os.open(answered.MOUNTINFO, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._mountinfo = -1  # (then answered.mounts() says "/": every path is Python's)
        self._answered: tuple[str, ...] | None = None  # the mount points the loop was given

    def _tell_answered(self) -> None:
        """Give the loop the mount points of the file systems a process answers
        (engine/answered.py) when they changed since it was last given them."""
        # (a FUSE server in the tree may answer the loop's own lookups only after a stop it
        # makes: every path call is Python's, before any lookup -- "/", fuse47)
        # (so with a key of the tree's own, which may decrypt names the tracer's lookups read
        # otherwise: red team 60)
        points = ("/",) if answered.served_in_tree() or answered.own_keys() \
            else answered.mounts().current()
        if points != self._answered:
            self._module.set_answered(self._mountinfo, tuple(
                ("" if p == "/" else p).encode("utf-8", "surrogateescape") for p in points))
            self._answered = points

    def plan_for(self, table: Table) -> Any:
        index = table.compiled()
        found = self._plans.get(id(table))
        if found is not None and found[0] is table and found[1] is index:
            return found[2]
        plan = self._module.Plan()
        for nr, shape in SHAPES.items():
            plan.add_call(nr, *shape)
        plan.add_call(NR_EXECVE, *EXEC_SHAPE, True)
        follow, empty_fd, walks, how_flags, checks = exec_variant(table)
        plan.add_variant(NR_EXECVE, 0, follow, empty_fd, walks, how_flags, checks)
        for nr, args in LOADER_VARIANTS:
            self._add_variant(plan, table, nr, args)
        for nr, name in WHOLE_CALLS.items():
            decided = by_name(table, name)
            if decided is not None:
                plan.add_whole(nr, *decided)
        for request in REQUESTS:
            decided = by_request(table, request)
            if decided is not None:
                plan.add_request(NR_IOCTL, request, *decided)
        self._plans[id(table)] = (table, index, plan)
        return plan

    def wait(self, arms: list[Arm], exec_target: ExecTarget | None = None,
             given: frozenset[bytes] | None = None,
             known: tuple[int, ...] | None = None) -> tuple[int, int]:
        """Serve the armed tasks' stops natively; the first stop Python must treat, reaped.
        ``exec_target``: what an exec the loop may let go leads to (None: every exec is
        Python's); ``given``: the environment entries that run code (environment.runs_code)
        the run started with, which an exec into another table may carry (the user's);
        ``known``: the tids of every task Python has (at most MAX_ARMS) -- then the first
        stop of any other task, a child whose parent's event has not come yet, is kept
        stopped until the loop notes its birth (and lets it go) or told as an "early" note
        (None: such stops are Python's at once)."""
        # (the tasks of a process, or of one program, share a table: its plan asked once)
        by_table: dict[int, Any] = {}
        plans = []
        for tid, table, *rest in arms:
            plan = by_table.get(id(table))
            if plan is None:
                plan = by_table[id(table)] = self.plan_for(table)
            plans.append((tid, plan, *rest))
        self._tell_answered()
        hook = None
        if exec_target is not None:
            def hook(tid: int, program: str) -> tuple[Any, bool] | None:
                found = exec_target(tid, program)
                return None if found is None else (self.plan_for(found[0]), found[1])
        pid, status, why = (self._module.run(plans, hook, given) if known is None
                            else self._module.run(plans, hook, given, known))
        if why == self._module.WHY_VARIANT:
            for arm, (_, plan, *_rest) in zip(arms, plans, strict=True):
                if arm[0] == pid:
                    self._learn(plan, arm[1], pid)
        return pid, status

    def _learn(self, plan: Any, table: Table, tid: int) -> None:
        """A call of a new variant stopped: compile that variant for the next ones (this one
        Python decides)."""
        try:
            info = pt.get_syscall_info(tid, pt.SyscallInfo())
        except pt.PtraceError:
            return
        nr = info.nr
        name = NAMES.get(nr)
        shape = SHAPES.get(nr)
        if name is None or shape is None:
            return
        self._add_variant(plan, table, nr, tuple(info.args))

    @staticmethod
    def _add_variant(plan: Any, table: Table, nr: int, args: tuple[int, ...]) -> None:
        """Compile the variant of call ``nr`` with registers ``args`` into ``plan``."""
        shape = SHAPES[nr]
        follow, empty_fd, walks, how_flags, checks = variant(table, NAMES[nr], args)
        plan.add_variant(nr, args[shape[2]] if shape[2] >= 0 else 0, follow, empty_fd, walks,
                         how_flags, checks)

    def stub(self, tid: int, memory: int) -> tuple[int, int, int] | None:
        """Set a task stopped at its exec event to map the scratch area by the loop's stub
        (_cloop.c stub_write) when it goes on, with no stop: (after its syscall, after its
        int3, the entry), or None where there is no stub (no vDSO the loop knows: the trap
        premap then).  ``memory``: its /proc/PID/mem descriptor."""
        found: tuple[int, int, int] | None = self._module.stub(tid, memory)
        return found

    def seal(self, on: bool) -> None:
        """Whether the area the loop maps at an exec event (its premap, its stub) is sealed
        too (Tracer.seals): the premap's code then makes the seal (enforce.MAP_SEAL_TRAP_CODE),
        and the stub an mseal after its mmap."""
        self._module.set_seal(enforce.MAP_SEAL_TRAP_CODE if on else b"",
                              NUMBERS["mseal"] if on else 0)

    def notes(self) -> list[tuple[str, Birth | NativeExec | End | EarlyStop | StubEnd]]:
        """What the loop did that Python must catch up on, in the order it happened: the
        children made by a fork or vfork of an armed task ("birth"), the execs it let go
        ("exec"), the ends of those children it was reported ("end": a shell's commands,
        while the loop follows the whole tree: it was one task when the loop began), the
        first stops it kept of tasks no birth told it of ("early": waitpid's reports, which
        Python treats as such), the ends of the stubs it was armed with ("stub")."""
        module = self._module
        births, execs, ends = module.births(), module.execs(), module.ends()
        early, stubs = module.early(), module.stubs()
        if not (births or execs or ends or early or stubs):
            return []  # (the common case of a stop handed back: nothing to sort)
        found: list[tuple[int, str, Birth | NativeExec | End | EarlyStop | StubEnd]] = [
            (seq, "birth", (parent, child, nr, bool(started)))
            for parent, child, nr, started, seq in births]
        found += [(seq, "exec", (tid, dev, ino, os.fsdecode(path), bool(served), mapped,
                                 maps, bool(failed), stub if stub[1] else None))
                  for tid, dev, ino, path, served, mapped, maps, failed, seq, stub in execs]
        found += [(seq, "end", (tid, status, rearmed, spare))
                  for tid, status, rearmed, spare, seq in ends]
        found += [(seq, "early", (tid, status)) for tid, status, seq in early]
        found += [(seq, "stub", (tid,)) for tid, seq in stubs]
        return [(kind, note) for _, kind, note in sorted(found, key=lambda f: f[0])]

    def decided(self) -> tuple[int, int, int, int]:
        """(permitted, refused, signals passed on, missing paths answered: refusals Python
        counts as decisions only) natively since the last call."""
        counts = self._module.counts()
        if counts == self._last:
            return 0, 0, 0, 0  # (a stop handed back at once: nothing decided natively)
        delta = tuple(now - before for now, before in zip(counts, self._last, strict=True))
        self._last = counts
        return delta  # type: ignore[return-value]


def extension() -> Any | None:
    """The native extension, or None: not built, or SYSTRACE_NO_CLOOP=1 (the pure-Python loop,
    and the pure-Python spawn: Tracer._fork)."""
    if os.environ.get("SYSTRACE_NO_CLOOP") == "1":
        return None
    try:
        from systrace_py import _cloop  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _cloop


def load() -> FastLoop | None:
    """The native loop, or None: not built, or SYSTRACE_NO_CLOOP=1."""
    module = extension()
    return None if module is None else FastLoop(module)


__all__ = ["CANDIDATES", "NR_IOCTL", "REQUESTS", "SHAPES", "WHOLE_CALLS", "Arm", "Birth",
           "EarlyStop", "End", "ExecTarget", "FastLoop",
           "NativeExec", "StubEnd", "by_name", "by_request", "exec_variant", "extension",
           "given_entries", "load", "missing_errno", "variant"]
