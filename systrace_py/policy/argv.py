"""Conditions on the argument vector of an exec: ``argv = ["git", "*", "**"]``.

Arguments are not paths, so the globs are :mod:`fnmatch`'s (``*`` matches anything, ``/``
included; ``?``; ``[...]`` classes, an unclosed ``[`` being a literal bracket -- the ``[``
command must stay writable).  Matching is case-sensitive and element-wise, argv[0] included;
a last element ``"**"`` matches any number (zero or more) of remaining arguments, otherwise
the lengths must be equal, so ``["rm", "*"]`` never permits ``rm -rf /`` by accident.

``$CWD`` in an element is the working directory the policy is loaded in (as in a path rule),
matched literally: a build tool hands a shell commands naming its checkout
(``cd $CWD/build && ...``), and a policy learned in one checkout runs in the next (learn22).
``[$]CWD`` is the text ``$CWD``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Sequence

__all__ = ["CWD", "REST", "ArgvCondition", "escape_argv", "literal"]

#: The last element that matches any remaining arguments.
REST = "**"


#: The variable an element may hold (the working directory the policy is loaded in).
CWD = "$CWD"


def literal(text: str) -> str:
    """Any text as an fnmatch pattern matching only itself (fnmatch has no backslash
    escapes: classes)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, cwd: str | None = None) -> re.Pattern[str]:
    if CWD in pattern:
        if cwd is None:
            # (no working directory known: the element matches nothing -- refused, never
            # the text "$CWD", which a shell would expand from the caller's environment)
            return re.compile(r"(?!)")
        pattern = pattern.replace(CWD, literal(cwd))
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


class ArgvCondition:
    """Element-wise argv globs (satisfies :class:`systrace_py.policy.model.ArgvPattern`)."""

    __slots__ = ("_fixed", "_regexes", "patterns")

    def __init__(self, patterns: Sequence[str], cwd: str | None = None) -> None:
        if isinstance(patterns, str) or not isinstance(patterns, Sequence):
            raise ValueError("argv is a list of strings, one glob per argument"
                             " (end it with \"**\" to allow more arguments)")
        for i, item in enumerate(patterns):
            if not isinstance(item, str):
                raise ValueError(f"argv element {i} is not a string: {item!r}")
            if item == REST and i != len(patterns) - 1:
                raise ValueError(f"\"**\" may only be the last argv element (it is element {i});"
                                 " to match one argument of any value use \"*\"")
        self.patterns: tuple[str, ...] = tuple(patterns)
        self._fixed = len(self.patterns) - 1 if self.patterns[-1:] == (REST,) else None
        heads = self.patterns if self._fixed is None else self.patterns[:self._fixed]
        self._regexes = tuple(_compile(p, cwd) for p in heads)

    def matches(self, argv: tuple[str, ...]) -> bool:
        """Whether every argument matches its glob (and the count is right)."""
        if self._fixed is None:
            if len(argv) != len(self._regexes):
                return False
        elif len(argv) < self._fixed:
            return False
        return all(r.fullmatch(a) is not None for r, a in zip(self._regexes, argv, strict=False))

    def __repr__(self) -> str:
        return f"ArgvCondition({list(self.patterns)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArgvCondition):
            return NotImplemented
        return self.patterns == other.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)


def escape_argv(text: str) -> str:
    """A literal argument as an argv glob -- any text as an fnmatch pattern matching only
    itself (fnmatch has no backslash escapes: use classes; and ``$CWD``, the variable of
    argv conditions, as ``[$]CWD``)."""
    return literal(text).replace(CWD, "[$]" + CWD[1:])
