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

An element may instead be a table ``{words = [...]}`` (:class:`Words`): the argument is a
command line of words separated by single spaces, each matching its glob in place, where a
glob is an array of globs, a run of words that match those in any order (each glob one
word): aclocal hands its shell ``autom4te ... --trace='A:$f::$n' --trace='B:$f::$n' ...``
with the ``--trace`` options in Perl's hash order, another each run (learn26).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CWD", "REST", "ArgvCondition", "Words", "argv_data", "escape_argv", "literal",
           "uses_cwd"]

#: The last element that matches any remaining arguments.
REST = "**"


#: The variable an element may hold (the working directory the policy is loaded in).
CWD = "$CWD"


def literal(text: str) -> str:
    """Any text as an fnmatch pattern matching only itself (fnmatch has no backslash
    escapes: classes)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def uses_cwd(element: object) -> bool:
    """Whether an argv element (a glob, or :class:`Words`) names ``$CWD`` outside ``[$]``:
    what it matches is then the working directory of the run that loaded it, another in
    the next run -- no text proof about it holds for a run from elsewhere (model's
    ``_argv_narrowed``, as ``_path_covered`` for a path led by ``$CWD``)."""
    if isinstance(element, Words):
        return any(CWD in glob for item in element.items
                   for glob in ((item,) if isinstance(item, str) else item))
    return isinstance(element, str) and CWD in element


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, cwd: str | None = None) -> re.Pattern[str]:
    if CWD in pattern:
        if cwd is None:
            # (no working directory known: the element matches nothing -- refused, never
            # the text "$CWD", which a shell would expand from the caller's environment)
            return re.compile(r"(?!)")
        pattern = pattern.replace(CWD, literal(cwd))
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


#: The most words a :class:`Words` element holds (a run in any order is matched as a
#: bipartite matching: words squared, per run, per exec that meets the rule).
MAX_WORDS = 256


@dataclass(frozen=True)
class Words:
    """An argv element that is a command line of words (``{words = [...]}``): the argument,
    split at single spaces, has one word per item; an item that is a glob matches the word
    in its place, an item that is a tuple of globs matches as many words in its place in any
    order (each glob exactly one word: a perfect matching -- ``[["a*", "ab"]]`` matches
    ``abc ab`` and ``ab abc``, not ``abc abd``, where ``ab`` has no word).  An empty word
    (two spaces) matches only an empty glob."""

    items: tuple[str | tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("words is empty: a command line has at least one word")
        count = 0
        for item in self.items:
            globs = (item,) if isinstance(item, str) else item
            if not isinstance(item, (str, tuple)) or not globs or \
                    not all(isinstance(g, str) for g in globs):
                raise ValueError("each item of words is a glob (a string) or a non-empty"
                                 " array of globs (words in any order)")
            spaced = [g for g in globs if " " in g]
            if spaced:
                raise ValueError(f"a word glob holds a space: {spaced[0]!r} (words are"
                                 " separated by single spaces)")
            count += len(globs)
        if count > MAX_WORDS:
            raise ValueError(f"words holds {count} globs, more than {MAX_WORDS}")
        # (a run's order is no part of its meaning: kept sorted, two learnings that saw two
        # orders write one condition, and --merge keeps one rule)
        object.__setattr__(self, "items", tuple(
            item if isinstance(item, str) else tuple(sorted(item)) for item in self.items))

    @classmethod
    def from_data(cls, data: object) -> Words:
        """The element of a policy file (``{words = [...]}``)."""
        if not isinstance(data, dict) or set(data) != {"words"} or \
                not isinstance(data["words"], list):
            raise ValueError("an argv element is a string (a glob) or a table"
                             " {words = [...]}, one glob per word")
        items: list[str | tuple[str, ...]] = []
        for item in data["words"]:
            if isinstance(item, list):
                items.append(tuple(item))
            else:
                items.append(item)
        return cls(tuple(items))

    def to_data(self) -> dict[str, list[str | list[str]]]:
        return {"words": [item if isinstance(item, str) else list(item)
                          for item in self.items]}

    def count(self) -> int:
        return sum(1 if isinstance(item, str) else len(item) for item in self.items)

    def matches(self, text: str, cwd: str | None) -> bool:
        words = text.split(" ")
        if len(words) != self.count():
            return False
        at = 0
        for item in self.items:
            if isinstance(item, str):
                if _compile(item, cwd).fullmatch(words[at]) is None:
                    return False
                at += 1
                continue
            run = words[at:at + len(item)]
            at += len(item)
            if not _perfect_matching(run, [_compile(g, cwd) for g in item]):
                return False
        return True


def _perfect_matching(words: list[str], globs: list[re.Pattern[str]]) -> bool:
    """Whether each word can be given a glob of its own that matches it (Kuhn's augmenting
    paths: a few dozen words)."""
    fits = [[j for j, g in enumerate(globs) if g.fullmatch(w) is not None] for w in words]
    if any(not f for f in fits):
        return False
    owner: list[int | None] = [None] * len(globs)

    def place(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j in seen:
                continue
            seen.add(j)
            held = owner[j]
            if held is None or place(held, seen):
                owner[j] = i
                return True
        return False

    return all(place(i, set()) for i in range(len(words)))


#: An element of an argv condition: a glob, or a command line's words (:class:`Words`).
Element = str | Words


def argv_data(patterns: Sequence[object]) -> list[object]:
    """An argv condition's elements as a policy file writes them."""
    return [p.to_data() if isinstance(p, Words) else p for p in patterns]


class ArgvCondition:
    """Element-wise argv globs (satisfies :class:`systrace_py.policy.model.ArgvPattern`)."""

    __slots__ = ("_cwd", "_fixed", "_regexes", "patterns")

    def __init__(self, patterns: Sequence[object], cwd: str | None = None) -> None:
        if isinstance(patterns, str) or not isinstance(patterns, Sequence):
            raise ValueError("argv is a list of strings, one glob per argument"
                             " (end it with \"**\" to allow more arguments)")
        elements: list[Element] = []
        for i, item in enumerate(patterns):
            if isinstance(item, dict):
                item = Words.from_data(item)
            if not isinstance(item, (str, Words)):
                raise ValueError(f"argv element {i} is not a string: {item!r}")
            if item == REST and i != len(patterns) - 1:
                raise ValueError(f"\"**\" may only be the last argv element (it is element {i});"
                                 " to match one argument of any value use \"*\"")
            elements.append(item)
        self.patterns: tuple[Element, ...] = tuple(elements)
        self._cwd = cwd
        self._fixed = len(self.patterns) - 1 if self.patterns[-1:] == (REST,) else None
        heads = self.patterns if self._fixed is None else self.patterns[:self._fixed]
        self._regexes = tuple(_compile(p, cwd) if isinstance(p, str) else p for p in heads)

    def matches(self, argv: tuple[str, ...]) -> bool:
        """Whether every argument matches its glob (and the count is right)."""
        if self._fixed is None:
            if len(argv) != len(self._regexes):
                return False
        elif len(argv) < self._fixed:
            return False
        return all(r.matches(a, self._cwd) if isinstance(r, Words) else
                   r.fullmatch(a) is not None
                   for r, a in zip(self._regexes, argv, strict=False))

    def __repr__(self) -> str:
        return f"ArgvCondition({argv_data(self.patterns)!r})"

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
