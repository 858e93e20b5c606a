"""Aliases: names for groups of system calls, as systrace had them (one table, documented).

A rule may name raw system calls (``openat``) or aliases (``fsread``).  An alias names a *class*
of behaviour rather than a bare list: ``openat`` belongs to ``fsread`` when it opens for reading
and to ``fswrite`` when it opens for writing, creating or truncating (an ``O_RDWR`` open is both),
``execve`` is both ``exec`` and ``fsread``, and the source of a ``rename`` or ``link`` is read as
well as written (with ``RENAME_EXCHANGE`` both paths are sources), and an ``ioctl`` is
``fswrite`` only for the requests that change the file behind its descriptor.
:func:`classes_of` gives the classes of one concrete call; a call is permitted only when every
one of its classes is (see :meth:`systrace_py.policy.model.Table.decide`).

Two aliases name a *part* of a class: ``fsmeta`` the fsread checks of the calls that reveal only
metadata (stat, access, readlink...), ``fslink`` the checks of the path whose file a link or
rename gives a new name.  A check in such a part is covered by rules naming its class or the part
(:func:`part_of`): a rule naming ``fsread`` still decides a stat, and one naming ``fsmeta``
never decides an open.

``ALIASES`` lists, for each alias, every call that *can* belong to it; the seccomp prefilter uses
it to know which calls a rule might care about.  Every set here is derived from the system call
table (:mod:`systrace_py.syscalls`), where each call says which aliases it can belong to and what
its fsread use reveals.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from systrace_py.kernel import O_ACCMODE, O_CREAT, O_PATH, O_WRONLY, WRITE_OPEN_BITS
from systrace_py.syscalls import (
    ALIAS_NAMES,
    BY_NAME,
    CLASS_RULES,
    FSLINK,
    FSMETA,
    FSREAD,
    FSWRITE,
    NUMBERS,
    PATHS,
    TABLE,
    Kind,
    Path,
    Reveals,
    Treat,
    treated,
    with_kind,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

#: alias -> every call that can belong to it (from the table's ``aliases`` of each call).
#: docs/policy.md lists them; a test keeps it in step.
ALIASES: dict[str, frozenset[str]] = {}


def _members() -> dict[str, list[str]]:
    # (a function's locals: a loop at module level stores each name in the module's dict)
    members: dict[str, list[str]] = {alias: [] for alias in ALIAS_NAMES}
    for call in TABLE.values():
        for alias in call.aliases:
            members[alias].append(call.name)
    return members


ALIASES.update((alias, frozenset(names)) for alias, names in _members().items())

OPEN_CALLS = treated(Treat.OPEN)
EXEC_CALLS = treated(Treat.ARGV)
#: calls that give a file a new name (link, rename): their "old" path (and, for an exchange,
#: their "new" one: :func:`renames`) is read as well as written, and nothing a refusing rule
#: names may get a new name
TWO_PATH_CALLS = treated(Treat.NAMES)
#: calls that move a path, with everything below it when it is a directory
MOVE_CALLS = treated(Treat.MOVES)
#: calls that remove the name in their "path" (a learned name's life; what a run made)
REMOVE_CALLS = frozenset({"unlink", "unlinkat", "rmdir"})
#: calls that change only a path's times (a store's "freshen": learn._kept_store)
TIMES_CALLS = frozenset({"utime", "utimes", "utimensat", "futimesat"})
#: calls whose fsread use reveals only facts about a file, never its data
METADATA_CALLS = frozenset(c.name for c in TABLE.values() if c.reveals == Reveals.METADATA)
ALIASES[FSMETA] = METADATA_CALLS
ALIASES[FSLINK] = TWO_PATH_CALLS

#: calls that make a child process (the fork family: fork, vfork, clone, clone3): the
#: ``process`` alias holds them and nothing else
CHILD_CALLS = ALIASES["process"]
#: calls that send a signal (the ``signal`` alias): those a ``target = "tree"`` rule may name,
#: and whose question offers that scope when every target is a task of the traced tree
SIGNAL_CALLS = ALIASES["signal"]

#: calls after which a task may see another tree than before (a mount namespace, a root, a
#: mount), or that prepare one (a file system context, a detached mount): they always stop
VIEW_CALLS = treated(Treat.VIEW)
#: calls that may show a file under another name, or replace what a path shows: they stop
#: whenever a rule refuses or asks by path (Table._exposure_decision)
EXPOSING_CALLS = treated(Treat.EXPOSES)

#: Calls that would let a program act outside what ptrace can see or hold (I/O done by the
#: kernel from a ring, files opened by handle, debugging other processes,
#: loading code into the kernel, a path the call cannot be decided on, joining a namespace
#: made outside the traced tree).  They are refused with
#: EPERM unless a permit rule names them *by their own name* or by the alias that is exactly
#: their group -- never through a default.
UNSAFE_CALLS = treated(Treat.UNSAFE)

#: Calls a ``path`` condition (or a path ``redirect``) can apply to: those the engine decides
#: on a path or on a descriptor's file.  A rule with ``path`` on any other call could never
#: match, so the policy loader refuses it.
PATH_CALLS = treated(Treat.PATH) | treated(Treat.FILE)

#: Calls that carry a socket address, so ``address``, ``port`` and ``unix`` conditions can
#: apply to them.
ADDRESS_CALLS = treated(Treat.ADDRESS)
#: ... those with one address, in registers or in a msghdr (not sendmmsg's many): the engine
#: can replace it (a redirect), and the kernel resolves a unix socket path in it again
ONE_ADDRESS_CALLS = with_kind(Kind.SOCKADDR) | with_kind(Kind.MSGHDR)

_ALIAS_OF_CALL: dict[str, frozenset[str]] = {c.name: c.aliases for c in TABLE.values()}


def _any_alias_of_call() -> dict[str, frozenset[str]]:
    parts = [(part, ALIASES[part]) for part in (FSMETA, FSLINK)]
    found: dict[str, frozenset[str]] = {}
    for name, classes in _ALIAS_OF_CALL.items():
        in_parts = [part for part, members in parts if name in members]
        found[name] = classes | frozenset(in_parts) if in_parts else classes
    return found


#: ... with the part aliases the call is in (what a rule naming any of them may apply to)
_ANY_ALIAS_OF_CALL: dict[str, frozenset[str]] = _any_alias_of_call()
#: (call, role) -> its path argument, where the classes of that path are not simply all the
#: call's aliases (the new name of a rename is only written, unless exchanged)
_ROLE_PATHS: dict[tuple[str, str], Path] = {
    (name, path.role): path for name, paths in PATHS.items() for _, path in paths
    if path.classes is not None
}
#: (call, role) -> its path argument, for the paths whose file may get a new name
_RENAMED: dict[tuple[str, str], Path] = {
    (name, path.role): path for name, paths in PATHS.items() if name in TWO_PATH_CALLS
    for _, path in paths if path.renamed.when != "never"
}


def open_reads(flags: int) -> bool:
    """Whether an open with these flags gives read access (O_PATH counts: it reveals the file,
    whatever access mode it names -- the kernel drops all but O_PATH_FLAGS with it)."""
    return bool(flags & O_PATH) or flags & O_ACCMODE != O_WRONLY


def open_writes(flags: int) -> bool:
    """Whether an open with these flags writes, creates or truncates (never with O_PATH)."""
    return not flags & O_PATH and flags & WRITE_OPEN_BITS != 0


def classes_of(syscall: str, role: str = "path", open_flags: int | None = None,
               selector: int | None = None) -> frozenset[str]:
    """The aliases one concrete call belongs to, for the path argument in ``role``.

    ``role`` is "path" for the single path of most calls, "old"/"new" for the two paths of
    rename and link.  An open is fsread when it reads and fswrite when it writes (by its
    flags; creat only writes).  ``selector`` is the register the table's class rule of the
    call reads (``syscalls.CLASS_RULES``; None counts as 0): an ioctl is fswrite only for the
    requests that change a file, the new path of renameat2 is read and written (as the old
    one is) with RENAME_EXCHANGE.  Calls outside every alias give an empty set: only rules
    that name them directly (or the default) apply.
    """
    if syscall in OPEN_CALLS:
        aliases = _ALIAS_OF_CALL[syscall]
        if "fsread" not in aliases:
            return aliases  # creat: its flags are implied, O_CREAT|O_WRONLY|O_TRUNC
        flags = open_flags if open_flags is not None else 0
        classes = set()
        if open_reads(flags):
            classes.add("fsread")
        if open_writes(flags):
            classes.add("fswrite")
        return frozenset(classes)
    rule = CLASS_RULES.get(syscall)
    if rule is not None and not BY_NAME[syscall].aliases_when.holds_on(selector or 0):
        return frozenset()
    path = _ROLE_PATHS.get((syscall, role))
    if path is not None and not path.renamed.holds_on(selector or 0):
        assert path.classes is not None
        return path.classes
    return _ALIAS_OF_CALL.get(syscall, frozenset())


def renames(syscall: str, role: str, selector: int | None = None) -> bool:
    """Whether the call gives the file at its path in ``role`` a new name: the "old" path of
    a link or rename, and with RENAME_EXCHANGE (in ``selector``, renameat2's flags) the "new"
    one too.  Nothing a refusing rule names may get a new name (``Table.decide``)."""
    path = _RENAMED.get((syscall, role))
    return path is not None and path.renamed.holds_on(selector or 0)


def part_of(syscall: str, role: str, cls: str | None, selector: int | None = None
            ) -> str | None:
    """The part alias of one check (class ``cls`` of the path in ``role``), or None: the check
    is then covered by rules naming ``cls`` or the part.

    ``fsmeta`` for the fsread check of a call that reveals only metadata; ``fslink`` for the
    fsread and fswrite checks of the path whose file a link or rename gives a new name -- but
    not in an exchange (RENAME_EXCHANGE in ``selector``), where each name also gets the other
    file: that is a write of both names, which only fswrite covers.
    """
    if cls == FSREAD and syscall in METADATA_CALLS:
        return FSMETA
    if cls in (FSREAD, FSWRITE) and renames(syscall, role, selector) and not any(
            renames(syscall, path.role, selector) for _, path in PATHS[syscall]
            if path.role != role):
        return FSLINK
    return None


def creates(syscall: str, role: str, open_flags: int | None = None) -> bool:
    """Whether the call makes the name in ``role`` when it does not exist (mkdir, the new
    name of a link, an open with O_CREAT -- not with O_PATH, which drops it): a missing path
    there is no lookup that fails."""
    if syscall in OPEN_CALLS:
        flags = open_flags or 0
        return "fsread" not in _ALIAS_OF_CALL[syscall] or (
            bool(flags & O_CREAT) and not flags & O_PATH)
    return any(path.role == role and path.creates for _, path in PATHS.get(syscall, ()))


def selector_cases(syscall: str) -> tuple[int | None, ...]:
    """Values of the call's selector (the register ``CLASS_RULES`` reads) that cover every
    way its classes can come out: one for which its class rule holds and one for which it
    does not, or just None for a call whose classes no register decides."""
    rule = CLASS_RULES.get(syscall)
    return rule.witnesses() if rule is not None else (None,)


@functools.lru_cache(maxsize=4096)
def call_classes(syscall: str, selector: int | None = None) -> frozenset[str]:
    """The classes of every check of a call with this selector (its open flags aside): the
    union over its path roles (the prefilter plan checks them all at once)."""
    roles = [path.role for _, path in PATHS.get(syscall, ())] or ["path"]
    return frozenset().union(*(classes_of(syscall, role, None, selector) for role in roles))


def aliases_of(syscall: str) -> frozenset[str]:
    """Every alias a call can belong to (its classes and the parts of them it is in),
    whatever its arguments."""
    return _ANY_ALIAS_OF_CALL.get(syscall, frozenset())


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


#: the part aliases, each with the classes its checks are in (:func:`part_of`)
_PART_CLASSES: dict[str, frozenset[str]] = {FSMETA: frozenset({FSREAD}),
                                            FSLINK: frozenset({FSREAD, FSWRITE})}


def _covers(wide: str, narrow: str) -> bool:
    """Whether every check a rule naming ``narrow`` applies to is one a rule naming ``wide``
    applies to (a rule applies to a check of call ``s``, class ``c``, part ``p`` when it
    names ``s``, ``c`` or ``p``: model.Rule).  False where unsure."""
    if wide == narrow:
        return True
    if wide not in ALIASES:
        return False  # (a call's name covers no alias: an alias spans other calls)
    if narrow in ALIASES:
        return _PART_CLASSES.get(narrow) == frozenset({wide})
    # a call every check of which is in the class ``wide`` (unlink in fswrite; not openat,
    # whose read opens are fsread, nor ioctl, most of whose requests are in no class)
    return wide not in _PART_CLASSES and \
        _ANY_ALIAS_OF_CALL.get(narrow, frozenset()) - _PART_CLASSES.keys() == {wide} and \
        all(call_classes(narrow, case) for case in selector_cases(narrow))


def _overlap(one: str, other: str) -> bool:
    """Whether some check is one rules naming ``one`` and ``other`` both apply to."""
    if one == other:
        return True
    if one not in ALIASES and other not in ALIASES:
        return False
    if one not in ALIASES or other not in ALIASES:
        call, alias = (one, other) if one not in ALIASES else (other, one)
        return alias in aliases_of(call)
    return other in _PART_CLASSES.get(one, ()) or one in _PART_CLASSES.get(other, ())


def answered_calls(answer: Sequence[str], asking: Sequence[str]) -> tuple[str, ...] | None:
    """The ``calls`` of a rule remembered from an answer (``answer``: the names of the asked
    call, its alias classes as a rule of the answer names them) given the ``calls`` of the
    rule that asked (``asking``): no rule of them picks a check the asking rule does not.
    The answer stands just before the asking rule (Supervisor.remember), and must decide
    nothing that rule did not: a name ``asking`` covers is kept (``fswrite`` under ``ask
    fswrite``); else the asking rule's names that meet it take its place (``openat`` for
    ``fswrite`` under ``ask openat`` -- ``fswrite`` there also permitted the unlink a
    person's ``never`` after the ``ask`` refused: review 65).  None: no name can be kept --
    the asked check was another rule's, or a call's own name the asking rule's alias does
    not cover -- and the caller puts the answer where it overtakes nothing, at the end of
    the table (it may then decide nothing: the call is asked again)."""
    out: dict[str, None] = {}
    for name in answer:
        if any(_covers(wide, name) for wide in asking):
            out[name] = None
        elif name in ALIASES:
            out.update((wide, None) for wide in asking if _overlap(wide, name))
        # (a call's own name -- ``-u`` -- that no name of the asking rule covers: ``openat``
        # under ``ask fswrite`` would permit its reads too, ``fswrite`` every write call;
        # neither is kept)
    return tuple(out) or None
