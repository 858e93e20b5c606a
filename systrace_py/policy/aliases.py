"""Aliases: names for groups of system calls, as systrace had them (one table, documented).

A rule may name raw system calls (``openat``) or aliases (``fsread``).  An alias names a *class*
of behaviour rather than a bare list: ``openat`` belongs to ``fsread`` when it opens for reading
and to ``fswrite`` when it opens for writing, creating or truncating (an ``O_RDWR`` open is both),
``execve`` is both ``exec`` and ``fsread``, and the source of a ``rename`` or ``link`` is read as
well as written.  :func:`classes_of` gives the classes of one concrete call; a call is permitted
only when every one of its classes is (see :mod:`systrace_py.policy.match`).

``ALIASES`` lists, for each alias, every call that *can* belong to it; the seccomp prefilter uses
it to know which calls a rule might care about.  Every set here is derived from the system call
table (:mod:`systrace_py.syscalls`), where each call says which aliases it can belong to.
"""

from __future__ import annotations

from systrace_py.kernel import O_ACCMODE, O_WRONLY, WRITE_OPEN_BITS
from systrace_py.syscalls import ALIAS_NAMES, NUMBERS, PATHS, TABLE, Kind, Treat, treated, with_kind

#: alias -> every call that can belong to it (from the table's ``aliases`` of each call).
#: docs/policy.md lists them; a test keeps it in step.
ALIASES: dict[str, frozenset[str]] = {}
_members: dict[str, list[str]] = {alias: [] for alias in ALIAS_NAMES}
for _call in TABLE.values():
    for _alias in _call.aliases:
        _members[_alias].append(_call.name)
ALIASES.update((alias, frozenset(names)) for alias, names in _members.items())
del _members, _call, _alias

OPEN_CALLS = treated(Treat.OPEN)
EXEC_CALLS = treated(Treat.ARGV)
#: calls that give a file a new name (link, rename): their "old" path is read as well as
#: written, and nothing a refusing rule names may get a new name
TWO_PATH_CALLS = treated(Treat.NAMES)
#: calls that move a path, with everything below it when it is a directory
MOVE_CALLS = treated(Treat.MOVES)

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
#: the classes of a call's path in one role, where they are not all the call's aliases
_ROLE_CLASSES: dict[tuple[str, str], frozenset[str]] = {
    (name, path.role): path.classes
    for name, paths in PATHS.items() for _, path in paths if path.classes is not None
}


def open_reads(flags: int) -> bool:
    """Whether an open with these flags gives read access (O_PATH counts: it reveals the file)."""
    return flags & O_ACCMODE != O_WRONLY


def open_writes(flags: int) -> bool:
    """Whether an open with these flags writes, creates or truncates."""
    return flags & WRITE_OPEN_BITS != 0


def classes_of(syscall: str, role: str = "path", open_flags: int | None = None) -> frozenset[str]:
    """The aliases one concrete call belongs to, for the path argument in ``role``.

    ``role`` is "path" for the single path of most calls, "old"/"new" for the two paths of
    rename and link.  An open is fsread when it reads and fswrite when it writes (by its
    flags; creat only writes).  Calls outside every alias give an empty set: only rules that
    name them directly (or the default) apply.
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
    found = _ROLE_CLASSES.get((syscall, role))
    if found is not None:
        return found
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
