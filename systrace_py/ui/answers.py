"""What a person types at the ASK prompt, parsed (pure: no terminal, no policy).

The vocabulary is systrace(1)'s text mode, plus a scope and a reach for answers that are
remembered (see docs/asking.md)::

    permit [SCOPE] [for REACH]          run it, and add a permit rule
    deny[ERRNO] [SCOPE] [for REACH]     refuse it (EPERM, or the asking rule's errno), add a rule
    permit-now                          run this one call, remember nothing
    deny-now[ERRNO]                     refuse this one call, remember nothing
    kill                                kill the asking process
    abort                               end the run: kill every traced process
    detach                              stop holding the process (only where the policy allows)
    help, ?                             say all this

``SCOPE`` is the number or the key word of one of the generalizations the prompt offers
(``1``, ``file``, ``dir``, ``tree``...), or a path glob of your own (``/tmp/build/**``,
``~/src/*.c``).  ``REACH`` is ``process``, ``program`` or ``all``; the word ``for`` is
optional.  ``ERRNO`` is a name (``EACCES``, any case) or a number, in brackets right after the
verb (``deny[EACCES]``) or as a word of its own (``deny EACCES``).

Parsing is separate from what the words mean for one request (which scopes exist, whether
detach is allowed): :func:`parse_answer` only checks the grammar, so it is tested without a
tracee, and the prompt validates the rest against the request.  An approver's answer comes as
fields rather than a line (:mod:`systrace_py.approver`); :func:`compose` checks those by the
same grammar, so both front ends hand the same :class:`Parsed` on.
"""

from __future__ import annotations

import difflib
import errno as errno_module
import re
import shlex
from dataclasses import dataclass

from systrace_py.kernel import MAX_ERRNO

__all__ = [
    "ABBREVIATIONS",
    "MAX_ERRNO",
    "REACHES",
    "REACH_WORDS",
    "VERBS",
    "AnswerError",
    "Parsed",
    "compose",
    "errno_value",
    "looks_like_pattern",
    "parse_answer",
]

#: The verbs as systrace spelled them: (what is done, whether a rule is remembered).
VERBS: dict[str, tuple[str, bool]] = {
    "permit": ("permit", True),
    "deny": ("deny", True),
    "permit-now": ("permit", False),
    "deny-now": ("deny", False),
    "kill": ("kill", False),
    "abort": ("abort", False),
    "detach": ("detach", False),
    "help": ("help", False),
}

#: Short forms and synonyms (``never`` is the policy file's word for deny).  None for
#: ``detach`` (it lets the process run unchecked) nor ``abort`` (it kills the whole run):
#: they are only ever typed out in full.
ABBREVIATIONS: dict[str, str] = {
    "p": "permit", "allow": "permit", "always": "permit",
    "d": "deny", "never": "deny", "refuse": "deny",
    "pn": "permit-now", "once": "permit-now", "p!": "permit-now", "allow-now": "permit-now",
    "dn": "deny-now", "d!": "deny-now", "never-now": "deny-now", "refuse-now": "deny-now",
    "k": "kill",
    "?": "help", "h": "help",
}

#: Reach of a remembered answer, as :meth:`systrace_py.supervisor.Supervisor.remember` takes it.
REACHES = ("process", "program", "all")
REACH_WORDS: dict[str, str] = {
    "process": "process", "proc": "process", "pid": "process",
    "program": "program", "prog": "program",
    "all": "all", "every": "all", "everyone": "all", "everywhere": "all", "global": "all",
}

#: The kernel's errno range: a larger "errno" would look like a valid return value.

_VERB_ERRNO = re.compile(r"^(?P<verb>[A-Za-z?!-]+)\[(?P<errno>[^\]]*)\]$")
_ERRNO_NAMES = {name.upper(): number for number, name in errno_module.errorcode.items()}


class AnswerError(ValueError):
    """An answer that cannot be understood; the message says what to type instead."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One typed answer, understood.

    ``verb``: "permit", "deny", "kill", "abort", "detach" or "help".  ``remember``: whether
    a rule is to be added (permit/deny).  ``errno``: None when not given (the prompt then uses the
    asking rule's errno).  ``scope``: None (the narrowest offer), a digit string, an offer key,
    or a path glob of the person's own (see :func:`looks_like_pattern`).  ``reach``: None
    (the prompt's default) or one of :data:`REACHES`.
    """

    verb: str
    remember: bool = False
    errno: int | None = None
    scope: str | None = None
    reach: str | None = None


def errno_value(text: str) -> int:
    """An errno given by name (any case, with or without the leading E) or by number."""
    word = text.strip()
    if not word:
        raise AnswerError("empty errno: write deny[EACCES] or deny[13]")
    if word.isdigit():
        number = int(word)
        if not 1 <= number <= MAX_ERRNO:
            raise AnswerError(f"errno {number} is out of range (1..{MAX_ERRNO})")
        return number
    upper = word.upper()
    for candidate in (upper, "E" + upper):
        if candidate in _ERRNO_NAMES:
            return _ERRNO_NAMES[candidate]
    close = difflib.get_close_matches(upper, list(_ERRNO_NAMES), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise AnswerError(f"unknown errno {word!r}{hint}")


def _is_errno_word(word: str) -> bool:
    return word.upper() in _ERRNO_NAMES or (word.isdigit() and 1 <= int(word) <= MAX_ERRNO)


def looks_like_pattern(word: str) -> bool:
    """Whether a scope word is a glob of the person's own rather than an offer's name."""
    return word.startswith(("/", "~", "$", "pipe:", "socket:", "anon_inode:", "memfd:"))


def _verb(word: str) -> tuple[str, str | None]:
    """The verb a word names, and an errno text from ``verb[ERRNO]``."""
    errno_text: str | None = None
    m = _VERB_ERRNO.match(word)
    if m:
        word, errno_text = m.group("verb"), m.group("errno")
    lowered = word.lower()
    name = ABBREVIATIONS.get(lowered, lowered)
    if name not in VERBS:
        choices = list(VERBS) + list(ABBREVIATIONS)
        close = difflib.get_close_matches(lowered, choices, n=1, cutoff=0.6)
        hint = f"; did you mean {ABBREVIATIONS.get(close[0], close[0])}?" if close else ""
        raise AnswerError(f"unknown answer {word!r}{hint} (permit, deny, permit-now, "
                          "deny-now, kill, abort, detach; ? for help)")
    return name, errno_text


def parse_answer(text: str) -> Parsed:
    """Parse one typed line.  Raises :class:`AnswerError` with a message fit for the person.

    Words are split as a shell would (quotes keep a glob with spaces in one word).
    """
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise AnswerError(f"cannot read that: {exc}") from None
    if not words:
        raise AnswerError("type an answer: permit, deny, permit-now, deny-now, kill"
                          " (? for help)")
    name, errno_text = _verb(words[0])
    verb, remember = VERBS[name]
    rest = words[1:]
    errno_number = errno_value(errno_text) if errno_text is not None else None
    _check_errno(name, errno_number)
    if verb in ("kill", "abort", "detach", "help") or (verb == "permit" and not remember):
        if rest:
            what = "this call only" if name == "permit-now" else "nothing more"
            raise AnswerError(f"{name} takes no more words ({what}): "
                              f"{' '.join(rest)!r} is left over")
        return Parsed(verb, remember)
    scope: str | None = None
    reach: str | None = None
    i = 0
    while i < len(rest):
        word = rest[i]
        lowered = word.lower()
        if verb == "deny" and errno_number is None and _is_errno_word(word) and scope is None \
                and reach is None:
            errno_number = errno_value(word)
        elif not remember:
            raise _no_scope(name, repr(word))
        elif lowered == "for":
            if i + 1 >= len(rest):
                raise AnswerError("for whom? write: for process, for program or for all")
            reach = _reach(rest[i + 1], reach)
            i += 1
        elif lowered in REACH_WORDS:
            reach = _reach(word, reach)
        elif scope is not None:
            raise AnswerError(f"two scopes: {scope!r} and {word!r} (give one)")
        else:
            scope = _scope_word(word)
        i += 1
    return Parsed(verb, remember, errno_number, scope, reach)


def compose(name: str, *, errno: int | None = None, scope: str | None = None,
            reach: str | None = None) -> Parsed:
    """An answer given as fields -- the verb exactly as :data:`VERBS` spells it, an errno
    number, a scope word or glob, a reach of :data:`REACHES` -- checked by the grammar of
    :func:`parse_answer`.  Raises :class:`AnswerError`."""
    if name not in VERBS or name == "help":
        raise AnswerError(f"unknown answer {name!r} (permit, deny, permit-now, deny-now, kill,"
                          " abort, detach)")
    verb, remember = VERBS[name]
    _check_errno(name, errno)
    if not remember and (scope is not None or reach is not None):
        raise _no_scope(name, "scope" if scope is not None else "for")
    if reach is not None and reach not in REACHES:
        raise AnswerError(f"unknown reach {reach!r}: process, program or all")
    return Parsed(verb, remember, errno, _scope_word(scope) if scope is not None else None,
                  reach)


def _check_errno(name: str, errno_number: int | None) -> None:
    if errno_number is not None and VERBS[name][0] != "deny":
        raise AnswerError(f"{name} takes no errno (only deny and deny-now do)")


def _no_scope(name: str, what: str) -> AnswerError:
    return AnswerError(f"{name} answers for this call only: no scope or reach ({what}); use "
                       f"{name.removesuffix('-now')} to remember")


def _scope_word(word: str) -> str:
    """A scope as given: a glob of the person's own kept as written, a word in lower case."""
    return word if looks_like_pattern(word) else word.lower()


def _reach(word: str, current: str | None) -> str:
    value = REACH_WORDS.get(word.lower())
    if value is None:
        close = difflib.get_close_matches(word.lower(), list(REACH_WORDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise AnswerError(f"unknown reach {word!r}{hint}: process, program or all")
    if current is not None and current != value:
        raise AnswerError(f"two reaches: {current} and {value} (give one)")
    return value
