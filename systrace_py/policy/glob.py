"""Path globs for policy rules: ``*`` within a name, ``**`` across names, ``{a,b}``, classes.

Why not :mod:`fnmatch`: its ``*`` crosses ``/`` (so ``/home/*`` would also match every file
below every home directory), it has no ``**`` and no ``{a,b}``, and it has no way to write the
pseudo files the engine reports for descriptors that are not files ("pipe:[1234]").  A rule is
a security boundary, so the syntax is small and strict: anything ambiguous is a
:class:`GlobError` at load time rather than a pattern that silently matches less (or more)
than it says.

Syntax (see docs/policy.md, "Path globs"):

* ``*`` any run of characters within one path component (never ``/``; it *does* match a
  leading dot: a ``never`` rule on ``/tmp/*`` must not miss ``/tmp/.hidden``);
* ``**`` as a whole component: zero or more components.  ``/a/**/b`` matches ``/a/b`` and
  ``/a/x/y/b``; ``/tmp/**`` matches ``/tmp`` itself and everything below it (zero components),
  so a refusal of a tree also refuses looking at its top; ``**`` glued to anything else
  (``a**``, ``**.txt``) is an error;
* ``?`` one character (not ``/``); ``[abc]``, ``[a-z]``, ``[!a-z]`` (or ``[^a-z]``) one
  character of a class, never ``/``; ``]`` first in a class is literal;
* ``{a,b,c}`` alternation, nesting, with globs inside (``/usr/{lib,lib{32,64}}/**``); the
  alternatives may hold ``/``;
* ``\\x`` the character x itself;
* expansions: ``~`` or ``$HOME``, ``$CWD``, ``$TMPDIR`` (default /tmp) at the start of a
  pattern (or of an alternative), ``$USER`` anywhere; the values are literal text, never
  globs.  Any other ``$NAME`` is an error (``\\$`` is a literal dollar).

A pattern must be absolute after expansion, or a pseudo-file form: ``pipe:GLOB``,
``socket:GLOB``, ``anon_inode:GLOB``, ``memfd:GLOB``.  In those, ``*`` matches any characters.
The kernel names a memfd ``/memfd:NAME (deleted)``; ``memfd:GLOB`` matches that when NAME
matches GLOB (so ``memfd:*`` matches every memfd; ``memfd:jit-*`` the ones named jit-...).
A deleted file is ``/path (deleted)`` and is matched by ordinary path patterns
(``/tmp/*`` matches ``/tmp/x (deleted)``).

Every pattern compiles to one anchored regular expression (cached; asked by the groups of its
alternatives that can match a path before it is compiled whole: ``_Compiled.matches``),
matched against the path with a ``/`` appended: that makes the root, ``/tmp/**`` matching
``/tmp``, and ``**`` in the middle all the same rule -- every component is followed by a
slash.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

__all__ = [
    "PSEUDO_PREFIXES",
    "Expansions",
    "GlobError",
    "GlobShape",
    "PathGlob",
    "escape",
    "expand_path",
    "is_literal",
]


class GlobError(ValueError):
    """A pattern that cannot be compiled; the message says what is wrong and where."""


#: Prefixes of the names the engine gives to descriptors that are not files.
PSEUDO_PREFIXES: tuple[str, ...] = ("pipe:", "socket:", "anon_inode:", "memfd:")

#: Brace expansion is exponential in the number of groups; a policy never needs this many.
MAX_ALTERNATIVES = 1024

_DIR_VARIABLES = ("HOME", "CWD", "TMPDIR")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAGIC = frozenset("*?[]{}\\$")
#: What brace expansion looks at (``[`` and ``\\`` because they hide braces).
_BRACE_SYNTAX = frozenset("{}[\\")
_BRACE_SPECIAL = re.compile(r"[\\\[{},]")
#: what brace expansion takes at once: plain characters, and classes with no ``!``/``^``,
#: ``]`` or escape in them (a learned number's shape spells one a digit: learn37)
_PLAIN_RUN = re.compile(r"(?:[^\\\[{},]|\[[^\]\[!^\\/][^\]\[\\/]*\])+")
#: What only the character-by-character reading of an alternative handles.
_HARD_SYNTAX = frozenset("[\\$")
_COMPONENT_SPECIAL = re.compile(r"[/\\*?\[$]")
_WILDCARDS = re.compile(r"([*?])")
#: A pattern with none of the syntax above but ``*``, ``?`` (and ``/``): no braces, classes,
#: escapes or variables -- read by :func:`_simple_components` alone.
_PLAIN_PATTERN = re.compile(r"[^{}\[\]\\$~]*")


@dataclass(frozen=True, slots=True)
class Expansions:
    """The values of ``~``/``$HOME``, ``$CWD``, ``$TMPDIR`` and ``$USER`` for one load.

    None means "not known" and is an error only for a pattern that uses it.  Taken from the
    environment given to the loader (the traced program's view), falling back to the password
    database and the current directory, so a policy means the same in ``sudo -E`` and a plain
    shell.
    """

    home: str | None
    cwd: str | None
    tmpdir: str | None
    user: str | None
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.home, self.cwd, self.tmpdir, self.user)))

    def __hash__(self) -> int:
        """Hashed once: every pattern of a load is cached under (pattern, expansions)."""
        return self._hash

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Expansions:
        source: Mapping[str, str] = os.environ if env is None else env
        home = source.get("HOME") or None
        user = source.get("USER") or source.get("LOGNAME") or None
        if home is None or user is None:
            try:
                entry = pwd.getpwuid(os.getuid())
            except KeyError:
                entry = None
            if entry is not None:
                home = home or entry.pw_dir
                user = user or entry.pw_name
        cwd = source.get("CWD") or None
        if cwd is None:
            try:
                cwd = os.getcwd()
            except OSError:
                cwd = None
        return cls(_resolved(home), _resolved(cwd), _resolved(source.get("TMPDIR") or "/tmp"),
                   user)

    def directory(self, name: str) -> str:
        """The value of a directory variable, checked to be absolute (without trailing /)."""
        value = {"HOME": self.home, "CWD": self.cwd, "TMPDIR": self.tmpdir}[name]
        if value is None:
            raise GlobError(f"${name} is not known here")
        if not value.startswith("/"):
            raise GlobError(f"${name} is not an absolute path: {value!r}")
        return value.rstrip("/") or "/"

    def username(self) -> str:
        if not self.user:
            raise GlobError("$USER is not known here")
        if "/" in self.user:
            raise GlobError(f"$USER holds a '/': {self.user!r}")
        return self.user


def _resolved(directory: str | None) -> str | None:
    """A directory variable's value as the kernel resolves it (symlinks followed, as far as
    it exists): rules are matched against resolved paths (docs/policy.md, "Path globs"), so
    ``~/.ssh/**`` with ``HOME=/home/u`` where ``/home`` is a link to ``var/home`` named a
    path no call ever resolves to, and refused nothing (red team 14, ``home_link.c``).  A
    relative value stays as it is (an error for a pattern that uses it)."""
    if directory is None or not directory.startswith("/"):
        return directory
    return os.path.realpath(directory)


def _class_end(text: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1."""
    i = start + 1
    if i < len(text) and text[i] in "!^":
        i += 1
    if i < len(text) and text[i] == "]":
        i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "]":
            return i
        i += 1
    return -1


def _expand_braces(pattern: str) -> list[str]:
    """``{a,b}`` alternation, nested, as the list of plain alternatives (escapes and classes
    are kept as written, for the translation step)."""
    if not _BRACE_SYNTAX & set(pattern):
        return [pattern]  # the common case: nothing to expand, nothing to check
    pos = 0
    n = len(pattern)

    def product(left: list[str], right: list[str]) -> list[str]:
        out = [a + b for a in left for b in right]
        if len(out) > MAX_ALTERNATIVES:
            raise GlobError(f"too many alternatives (more than {MAX_ALTERNATIVES}) in {pattern!r}")
        return out

    def sequence(depth: int) -> list[str]:
        nonlocal pos
        results = [""]
        while pos < n:
            plain = _PLAIN_RUN.match(pattern, pos)
            if plain is not None:  # a run of plain characters and classes, taken at once
                run = plain.group()
                results = [r + run for r in results]
                pos = plain.end()
                continue
            c = pattern[pos]
            if c == "\\":
                if pos + 1 >= n:
                    raise GlobError(f"pattern ends with a lone backslash: {pattern!r}")
                results = [r + pattern[pos:pos + 2] for r in results]
                pos += 2
            elif c == "[":
                end = _class_end(pattern, pos)
                if end < 0:
                    raise GlobError(f"unbalanced '[' at offset {pos} in {pattern!r}")
                results = [r + pattern[pos:end + 1] for r in results]
                pos = end + 1
            elif c == "{":
                opened = pos
                pos += 1
                results = product(results, group(depth + 1, opened))
            elif c in ",}" and depth > 0:
                break
            elif c == "}":
                raise GlobError(f"unbalanced '}}' at offset {pos} in {pattern!r}")
            else:
                results = [r + c for r in results]
                pos += 1
        return results

    def group(depth: int, opened: int) -> list[str]:
        nonlocal pos
        alternatives: list[str] = []
        while True:
            alternatives.extend(sequence(depth))
            if pos >= n:
                raise GlobError(f"unbalanced '{{' at offset {opened} in {pattern!r}")
            c = pattern[pos]
            pos += 1
            if c == "}":
                return alternatives

    return sequence(0)


#: the regex of each class body read (:func:`_class_regex`): a learned policy's shapes spell
#: the same few classes thousands of times (a pid's ``[1-9]``, ``[0-9]``: learn37)
_CLASSES: dict[str, str] = {}


def _class_regex(body: str, whole: str) -> str:
    """The regex of a ``[...]`` class (``body`` is between the brackets); never matches /."""
    found = _CLASSES.get(body)
    if found is None:
        found = _class_regex_of(body, whole)
        if len(_CLASSES) >= 1024:
            _CLASSES.clear()
        _CLASSES[body] = found
    return found


def _class_regex_of(body: str, whole: str) -> str:
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 1
            c = body[i]
            out.append("\\" + c if not c.isalnum() else c)
        elif c in "\\^[]&~|":
            out.append("\\" + c)
        else:
            out.append(c)
        if c == "/":
            raise GlobError(f"a [...] class cannot match '/' (in {whole!r})")
        i += 1
    regex = "[" + ("^/" if negate else "") + "".join(out) + "]"
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise GlobError(f"bad character class [{body}] in {whole!r}: {exc.msg}") from None
    if compiled.fullmatch("/"):
        # a range naming no '/' but holding one ([.-0], [ -~]): as written it matched '/',
        # so a component crossed directories (review 18)
        raise GlobError(f"a [...] class cannot match '/' (the range in [{body}] holds it;"
                        f" in {whole!r})")
    return regex


def _pseudo_regex(alt: str, ex: Expansions, whole: str) -> str | None:
    for prefix in PSEUDO_PREFIXES:
        if alt.startswith(prefix):
            body = _pseudo_body(alt[len(prefix):], ex, whole)
            if prefix == "memfd:":
                return r"/?memfd:" + body + r"(?: \(deleted\))?/"
            return re.escape(prefix) + body + "/"
    return None


class _GlobComponent(NamedTuple):
    """A component with glob syntax (``*``, ``?``, a class), as a regex over one name."""

    source: str


#: One component of a pattern: the name it matches when it has no glob syntax (escaped into a
#: regex only if the regex is ever needed), a :class:`_GlobComponent`, or None for ``**``.
_Component = str | _GlobComponent | None


def _component_regex(component: str | _GlobComponent) -> str:
    return re.escape(component) if isinstance(component, str) else component.source


def _literal_components(names: list[str]) -> list[_Component]:
    return [name for name in names if name]


#: a pattern's text whose classes are plain (no ``!``/``^``, ``]`` or escape in them) and
#: which has no escape or variable: :func:`_simple_components` reads it (a learned number's
#: shape, ``{[1-9][0-9][0-9],...}``, spells a class per digit: learn37)
_PLAIN_CLASSES = re.compile(r"(?:[^\[\]\\$]|\[[^\]\[!^\\/][^\]\[\\/]*\])*")
_PIECES = re.compile(r"(\[[^\]]*\]|[*?])")
#: a plain class (:data:`_PLAIN_CLASSES`) in a name
_PLAIN_CLASS = re.compile(r"\[[^\]]*\]")


def _simple_components(text: str, whole: str) -> list[_Component]:
    """The components of a pattern (or of what follows its directory variable) without
    escapes or variables, and whose classes are plain (:data:`_PLAIN_CLASSES`): names, names
    with ``*``, ``?`` and classes, and ``**``."""
    if "*" not in text and "?" not in text and "[" not in text:
        return [*filter(None, text.split("/"))]  # (names alone: a learned policy's paths)
    components: list[_Component] = []
    for name in text.split("/"):
        if not name:
            continue
        if "*" not in name and "?" not in name and "[" not in name:
            components.append(name)
        elif name == "**":
            components.append(None)
        elif "**" in _PLAIN_CLASS.sub("c", name):  # (a class of '*', [**], is no '**')
            raise GlobError(f"'**' must be a whole path component, as in /a/**/b: {whole!r}")
        else:
            components.append(_GlobComponent("".join(
                "[^/]*" if piece == "*" else "[^/]" if piece == "?" else
                _class_regex(piece[1:-1], whole) if piece[0] == "[" else re.escape(piece)
                for piece in _PIECES.split(name) if piece)))
    return components


def _components(alt: str, ex: Expansions, whole: str) -> list[_Component] | None:
    """The components of one brace-free alternative (see :data:`_Component`), or None for a
    pseudo-file pattern, which has no components."""
    if alt.startswith(PSEUDO_PREFIXES):
        return None
    components: list[_Component] = []
    current: list[str] = []  # regex pieces of the component being read
    names: list[str] = []    # its literal text, while it has no glob syntax
    plain = True
    started = False

    def finish() -> None:
        nonlocal current, names, plain
        if current:
            components.append("".join(names) if plain else _GlobComponent("".join(current)))
        current, names, plain = [], [], True

    i = 0
    if alt == "~" or alt.startswith("~/"):
        components.extend(_literal_components(ex.directory("HOME").split("/")))
        i, started = 1, True
    else:
        for name in _DIR_VARIABLES:
            token = "$" + name
            if alt.startswith(token) and (len(alt) == len(token) or alt[len(token)] == "/"):
                components.extend(_literal_components(ex.directory(name).split("/")))
                i, started = len(token), True
                break
    if not started and not alt.startswith("/"):
        m = _NAME_RE.match(alt, 1) if alt.startswith("$") else None
        if m is not None and m.group() not in _DIR_VARIABLES:
            raise GlobError(f"unknown variable ${m.group()} at the start of {whole!r} (a pattern"
                            " may start with ~/, $HOME, $CWD or $TMPDIR)")
        raise GlobError(
            f"not an absolute path: {alt!r} (a pattern starts with /, ~/, $HOME, $CWD or"
            f" $TMPDIR, or is one of {', '.join(p + '*' for p in PSEUDO_PREFIXES)})")
    if not _HARD_SYNTAX & set(alt[i:]) or (
            "\\" not in alt and "$" not in alt[i:] and _PLAIN_CLASSES.fullmatch(alt, i)):
        # the common case: names, * and ?, **, plain classes
        return components + _simple_components(alt[i:], whole)
    n = len(alt)
    while i < n:
        special = _COMPONENT_SPECIAL.search(alt, i)
        stop = special.start() if special is not None else n
        if stop > i:  # a run of plain characters, taken at once
            plain_run = alt[i:stop]
            current.append(re.escape(plain_run))
            names.append(plain_run)
            i = stop
            continue
        c = alt[i]
        if c == "/":
            finish()
            i += 1
        elif c == "\\":
            nxt = alt[i + 1]
            if nxt == "/":
                finish()
            else:
                current.append(re.escape(nxt))
                names.append(nxt)
            i += 2
        elif c == "*":
            run = 1
            while i + run < n and alt[i + run] == "*":
                run += 1
            if run == 1:
                current.append("[^/]*")
                plain = False
            elif run == 2 and not current and (i + 2 == n or alt[i + 2] == "/"):
                components.append(None)
            else:
                raise GlobError(f"'**' must be a whole path component, as in /a/**/b: {whole!r}")
            i += run
        elif c == "?":
            current.append("[^/]")
            plain = False
            i += 1
        elif c == "[":
            end = _class_end(alt, i)
            if end < 0:
                raise GlobError(f"unbalanced '[' in {whole!r}")
            current.append(_class_regex(alt[i + 1:end], whole))
            plain = False
            i = end + 1
        elif c == "$":
            m = _NAME_RE.match(alt, i + 1)
            if m is None:
                current.append(re.escape(c))
                names.append(c)
                i += 1
                continue
            name = m.group()
            if name == "USER":
                current.append(re.escape(ex.username()))
                names.append(ex.username())
            elif name in _DIR_VARIABLES:
                raise GlobError(f"${name} may only start a pattern: {whole!r}")
            else:
                raise GlobError(f"unknown variable ${name} in {whole!r} (known: $HOME, $CWD,"
                                " $TMPDIR, $USER; write \\$ for a literal $)")
            i = m.end()
    finish()
    return components


def _pseudo_body(body: str, ex: Expansions, whole: str) -> str:
    """A pseudo-file name glob: these names have no components, so ``*`` matches anything."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            out.append(re.escape(body[i + 1]))
            i += 2
        elif c == "*":
            out.append(".*")
            i += 1
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[":
            end = _class_end(body, i)
            if end < 0:
                raise GlobError(f"unbalanced '[' in {whole!r}")
            out.append(_class_regex(body[i + 1:end], whole))
            i = end + 1
        elif c == "$" and body.startswith("$USER", i):
            out.append(re.escape(ex.username()))
            i += 5
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


_Steps = tuple[re.Pattern[str] | None, ...]


class GlobShape(NamedTuple):
    """What one alternative of a pattern (braces expanded) is, for indexing rules by path.

    ``kind`` is one of:

    * "exact": every component a literal name; it matches the one path
      ``"/" + "/".join(prefix)`` (with or without one trailing slash), nothing else;
    * "tree": literal names, then one trailing ``**`` (``dir/**``); it matches the path of
      ``prefix`` and every path below it;
    * "glob": literal names, then components with glob syntax; it can only match a path whose
      first components are ``prefix`` -- and, when ``depth`` is not None (no ``**``), that has
      exactly ``depth`` components;
    * "pseudo": a pseudo-file name (``pipe:*``), which is not a path.

    What "exact" and "tree" say holds for a path without empty components (no "//"), the
    kernel's form; "glob" only narrows where to look: the regex decides.
    """

    kind: str
    prefix: tuple[str, ...] = ()
    depth: int | None = None


def _shape(components: tuple[_Component, ...]) -> GlobShape:
    prefix: list[str] = []
    for component in components:
        if not isinstance(component, str):
            break
        prefix.append(component)
    rest = components[len(prefix):]
    if not rest:
        return GlobShape("exact", tuple(prefix), len(prefix))
    if rest == (None,):
        return GlobShape("tree", tuple(prefix))
    depth = None if None in rest else len(components)
    return GlobShape("glob", tuple(prefix), depth)


_PSEUDO_SHAPE = GlobShape("pseudo")


#: One alternative of a pattern: its components, or the regex of a pseudo-file name.
_Alternative = tuple[_Component, ...] | str
#: How many questions a pattern answers by its groups (_Compiled.matches) before it compiles
#: its whole regex: about where the groups' extra ~1 us a question adds up to that compile
GROUPED_ASKS = 1024
#: _Compiled._grouped: the exact paths (a slash appended); the other path alternatives by
#: their literal start, each start's groups as [slashes or -1, the regex source of what follows
#: the start, that regex once compiled]; the shortest and longest start; the pseudo-name
#: alternatives' regex
_Groups = tuple[frozenset[str], dict[str, list[list[Any]]], int, int, "re.Pattern[str] | None"]


class _Compiled:
    """One pattern for one set of expansions, shared by equal :class:`PathGlob` objects.

    The alternatives are made at once (string work that also finds every error); their
    shapes, the regex and the component matchers when first used: compiling costs more than
    the rest of a policy's load put together, and an index decides most paths without it.
    The regex is valid by construction (classes are checked when read), so compiling it
    later cannot fail.

    :meth:`matches` does not compile the whole regex at first: it asks only the alternatives
    that can match the path (:meth:`_grouped`) -- those whose literal start the path begins
    with, with as many slashes as the path has -- each such group compiled when first asked
    (for the first GROUPED_ASKS questions).  A learned
    libraries rule (6 directories x 4 name shapes, and ld.so.cache) compiled whole at the
    program's first library open took ~1 ms of the start (issue 16); the group of the one
    directory, ~0.1 ms.
    """

    __slots__ = ("_asked", "_groups", "_regex", "_shapes", "_source", "_steps", "alternatives")

    def __init__(self, alternatives: tuple[_Alternative, ...]) -> None:
        self.alternatives = alternatives
        self._shapes: tuple[GlobShape, ...] | None = None
        self._source: str | None = None
        self._regex: re.Pattern[str] | None = None
        self._steps: tuple[_Steps, ...] | None = None
        self._groups: _Groups | None = None
        self._asked = 0

    @property
    def shapes(self) -> tuple[GlobShape, ...]:
        if self._shapes is None:
            self._shapes = tuple(dict.fromkeys(
                _PSEUDO_SHAPE if isinstance(alt, str) else _shape(alt)
                for alt in self.alternatives))
        return self._shapes

    @property
    def source(self) -> str:
        """The regex over ``path + "/"``: every alternative, each component followed by /."""
        if self._source is None:
            regexes = dict.fromkeys(
                alt if isinstance(alt, str) else
                "/" + "".join("(?:[^/]+/)*" if comp is None else _component_regex(comp) + "/"
                              for comp in alt)
                for alt in self.alternatives)
            self._source = "(?:" + "|".join(regexes) + ")"
        return self._source

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = re.compile(self.source, re.DOTALL)
        return self._regex

    @property
    def steps(self) -> tuple[_Steps, ...]:
        """Each path alternative as component matchers (for the questions about what lies
        *below* a path, see :meth:`PathGlob.may_match_below`)."""
        if self._steps is None:
            self._steps = tuple(
                tuple(None if comp is None else re.compile(_component_regex(comp), re.DOTALL)
                      for comp in alt)
                for alt in self.alternatives if not isinstance(alt, str))
        return self._steps

    def _grouped(self) -> _Groups:
        """The alternatives as :meth:`matches` asks them: (the paths they match exactly, the
        other path alternatives by (literal start, slashes), the pseudo-name ones).

        An alternative's regex is its literal components' text, escaped, then the rest; so a
        string it matches begins with ``"/" + "".join(name + "/" ...)`` of those names (its
        start, which ends in a slash), and is that start alone when it has nothing else (an
        exact path).  Without ``**`` every other component matches a text without a slash
        (``[^/]``, classes, which never match one, and escaped names, which hold none), so
        such a string has exactly one slash more than the alternative has components; with
        ``**``, any number (-1).  Only the regex source of the rest, after the start, is
        kept: a group is matched from the start's end."""
        if self._groups is None:
            exact: set[str] = set()
            rests: dict[tuple[str, int], dict[str, None]] = {}
            pseudo: dict[str, None] = {}
            for alt in self.alternatives:
                if isinstance(alt, str):
                    pseudo[alt] = None
                    continue
                n = 0
                while n < len(alt) and isinstance(alt[n], str):
                    n += 1
                start = "/" + "".join(f"{name}/" for name in alt[:n])
                if n == len(alt):
                    exact.add(start)
                    continue
                rest = alt[n:]
                slashes = -1 if None in rest else len(alt) + 1
                rests.setdefault((start, slashes), {})["".join(
                    "(?:[^/]+/)*" if comp is None else _component_regex(comp) + "/"
                    for comp in rest)] = None
            by_start: dict[str, list[list[Any]]] = {}
            for (start, slashes), sources in rests.items():
                by_start.setdefault(start, []).append(
                    [slashes, "(?:" + "|".join(sources) + ")", None])
            self._groups = (frozenset(exact), by_start,
                            min(map(len, by_start), default=0),
                            max(map(len, by_start), default=0),
                            re.compile("(?:" + "|".join(pseudo) + ")", re.DOTALL)
                            if pseudo else None)
        return self._groups

    def matches(self, text: str) -> bool:
        """Whether ``text`` (a path with one slash appended) matches :attr:`regex`, asking
        only the alternatives that can (:meth:`_grouped`) -- for the first GROUPED_ASKS
        questions, then the whole regex: a group costs ~1 us more a question to find, which
        over a long run outweighs compiling the regex once."""
        regex = self._regex
        if regex is not None:
            return regex.fullmatch(text) is not None
        self._asked += 1
        if self._asked > GROUPED_ASKS:
            return self.regex.fullmatch(text) is not None
        exact, by_start, shortest, longest, pseudo = self._grouped()
        if text in exact:
            return True
        if by_start and text[:1] == "/":
            slashes = text.count("/")
            end = text.find("/", shortest - 1)  # (each start ends in a slash)
            while 0 <= end < longest:
                groups = by_start.get(text[:end + 1])
                if groups is not None:
                    for group in groups:
                        if group[0] != slashes and group[0] >= 0:
                            continue
                        regex = group[2]
                        if regex is None:
                            regex = group[2] = re.compile(group[1], re.DOTALL)
                        if regex.fullmatch(text, end + 1) is not None:
                            return True
                end = text.find("/", end + 1)
        return pseudo is not None and pseudo.fullmatch(text) is not None


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, ex: Expansions) -> _Compiled:
    """A pattern read for these expansions: its alternatives, braces expanded (every error
    in the pattern is found here)."""
    if pattern[:1] == "/" and _PLAIN_PATTERN.fullmatch(pattern):
        # the common case (most of a learned policy): an absolute path of names, * and ?, **
        return _Compiled((tuple(_simple_components(pattern, pattern)),))
    alternatives: list[_Alternative] = []
    for alt in _expand_braces(pattern):
        pseudo = _pseudo_regex(alt, ex, pattern)
        alternatives.append(pseudo if pseudo is not None
                            else tuple(_components(alt, ex, pattern) or ()))
    return _Compiled(tuple(alternatives))


def _below(steps: _Steps, parts: list[str], everything: bool) -> bool:
    """Whether these component matchers match some path strictly below ``parts`` (or, with
    ``everything``, every path strictly below it)."""
    seen: set[tuple[int, int]] = set()

    def walk(g: int, p: int) -> bool:
        if (g, p) in seen:
            return False
        seen.add((g, p))
        if p == len(parts):
            rest = steps[g:]
            if everything:
                return rest == (None,)
            return bool(rest)  # a component or a ** still to match: some path below matches
        if g == len(steps):
            return False
        step = steps[g]
        if step is None:
            return walk(g + 1, p) or walk(g, p + 1)
        return step.fullmatch(parts[p]) is not None and walk(g + 1, p + 1)

    return walk(0, 0)


class PathGlob:
    """A compiled path pattern (satisfies :class:`systrace_py.policy.model.PathPattern`).

    ``pattern`` is the text as written (``$HOME`` kept), so a saved policy stays portable;
    ``regex`` is what it was compiled to for this load's environment; ``shapes`` what each
    alternative is (see :class:`GlobShape`), for an index of rules by path.
    """

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, env: Mapping[str, str] | None = None,
                 *, expansions: Expansions | None = None) -> None:
        if not isinstance(pattern, str):
            raise GlobError(f"a path pattern is a string, not {type(pattern).__name__}")
        if not pattern:
            raise GlobError("empty pattern (to match every path write /**)")
        self.pattern = pattern
        self._compiled = _compile(pattern, expansions or Expansions.from_env(env))

    def spellings(self) -> list[str]:
        """The pattern's alternatives as written, braces expanded (``/srv/{keys,aws}/``:
        ``/srv/keys/`` and ``/srv/aws/``), for what the loader says of each spelling (a
        trailing ``/``: review 67)."""
        return _expand_braces(self.pattern)

    def unmatchable_steps(self) -> str | None:
        """A literal ``.`` or ``..`` component of some alternative, or None.  Paths are
        matched as the kernel resolves them, which have neither: such an alternative matches
        no path (red team 33: a ``never`` rule on ``$CWD/../shared/secret`` refused nothing)."""
        for alternative in self._compiled.alternatives:
            if isinstance(alternative, str):
                continue  # a pseudo-file pattern
            for component in alternative:
                if component in (".", ".."):
                    return component
        return None

    def linked_directories(self, resolve: Callable[[str], str]) -> tuple[str, str] | None:
        """(directory, what ``resolve`` makes of it) when the pattern's leading literal
        directories resolve elsewhere -- it matches nothing below them (paths are matched by
        their resolved names) -- or None.  Only for a pattern of one alternative: braces
        name several spellings on purpose (``{/usr/**,/lib/**}``, a learned policy's
        ``{/lib,/usr/lib}/**``: whichever is real on the system)."""
        alternatives = self._compiled.alternatives
        if len(alternatives) != 1 or isinstance(alternatives[0], str):
            return None
        alternative = alternatives[0]
        count = 0
        for component in alternative[:-1]:
            if not isinstance(component, str):
                break
            count += 1
        if not count:
            return None
        directory = "/" + "/".join(cast("list[str]", list(alternative[:count])))
        resolved = resolve(directory)
        return (directory, resolved) if resolved != directory else None

    @property
    def regex(self) -> re.Pattern[str]:
        """The regex over ``path + "/"`` (compiled when first needed, once per pattern)."""
        return self._compiled.regex

    @property
    def shapes(self) -> tuple[GlobShape, ...]:
        """The shape of each alternative (duplicates merged)."""
        return self._compiled.shapes

    def may_match_below(self, directory: str) -> bool:
        """Whether some path strictly inside ``directory`` matches (moving the directory
        would move it)."""
        parts = [c for c in directory.split("/") if c]
        return any(_below(steps, parts, everything=False) for steps in self._compiled.steps)

    def covers_all_below(self, directory: str) -> bool:
        """Whether every path strictly inside ``directory`` matches."""
        parts = [c for c in directory.split("/") if c]
        return any(_below(steps, parts, everything=True) for steps in self._compiled.steps)

    def exact_paths(self) -> tuple[str, ...] | None:
        """The paths the pattern matches when every alternative is a plain path (braces of
        plain names: ``$CWD/{work,work.old}``, expansions applied), else None.  A directory's
        move compares such a rule at its own place below either name, not by its shape
        (model._linked_outcomes: red team 88)."""
        paths: list[str] = []
        for alternative in self._compiled.alternatives:
            if isinstance(alternative, str) or not alternative or \
                    not all(isinstance(c, str) for c in alternative):
                return None
            paths.append("/" + "/".join(cast("tuple[str, ...]", alternative)))
        return tuple(paths) if paths else None

    def below(self, directory: str) -> frozenset[tuple[object, ...]] | None:
        """What the pattern matches strictly inside ``directory``, as the rest of each
        alternative after the directory's own components, when every alternative that may
        match there starts with them literally (``$CWD/work/data/*`` below ``$CWD/work``:
        ``data/*``), else None.  Two patterns with the same rest below two directories match
        at the same places below them: a directory's move compares them place by place
        (model._outcomes; red team 88)."""
        parts = [c for c in directory.split("/") if c]
        rests: list[tuple[object, ...]] = []
        paths = [alt for alt in self._compiled.alternatives if not isinstance(alt, str)]
        for alternative, steps in zip(paths, self._compiled.steps, strict=True):
            if len(alternative) > len(parts) and list(alternative[:len(parts)]) == parts:
                rests.append(tuple(alternative[len(parts):]))
            elif _below(steps, parts, everything=False):
                return None
        return frozenset(rests) if rests else None

    def matches(self, path: str) -> bool:
        """Whether a resolved path (or an engine pseudo name) matches."""
        if not path:
            return False
        return self._compiled.matches(path if path.endswith("/") else path + "/")

    def __repr__(self) -> str:
        return f"PathGlob({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PathGlob):
            return NotImplemented
        return self.pattern == other.pattern and \
            self._compiled.alternatives == other._compiled.alternatives

    def __hash__(self) -> int:
        return hash((self.pattern, self._compiled.alternatives))


def is_literal(pattern: str) -> bool:
    """Whether a pattern is a plain absolute path: no glob syntax and no expansion, so it can
    be looked up by equality (program tables are keyed this way)."""
    return pattern.startswith("/") and not (_MAGIC & set(pattern))


def holds_expansion(pattern: str) -> bool:
    """Whether a pattern names other files in other runs: it holds an expansion (``$CWD``,
    ``~``, ``$TMPDIR``, ``$HOME``, ``$USER``) -- a ``$`` not escaped, or a start other than
    ``/``.  A program table keyed so claims a program only where a run's expansion reaches
    it (review 65)."""
    return not pattern.startswith("/") or "$" in re.sub(r"\\.", "", pattern)


def escape(path: str) -> str:
    """A pattern matching exactly ``path`` (for rules made from a prompt answer or a log):
    every glob character and ``$`` is backslash-escaped."""
    return "".join("\\" + c if c in _MAGIC else c for c in path)


def expand_path(text: str, env: Mapping[str, str] | None = None,
                *, expansions: Expansions | None = None) -> str:
    """A literal path with the pattern expansions applied (for ``redirect`` targets).

    Glob characters are refused: a redirect names one file.
    """
    if not isinstance(text, str) or not text:
        raise GlobError("a path is a non-empty string")
    bad = set(text) & set("*?[]{}\\")
    if bad:
        raise GlobError(f"a path cannot hold glob characters ({''.join(sorted(bad))}): {text!r}")
    ex = expansions or Expansions.from_env(env)
    rest = text
    head = ""
    if text == "~" or text.startswith("~/"):
        head, rest = ex.directory("HOME"), text[1:]
    else:
        for name in _DIR_VARIABLES:
            token = "$" + name
            if text.startswith(token) and (len(text) == len(token) or text[len(token)] == "/"):
                head, rest = ex.directory(name), text[len(token):]
                break
    out = [head.rstrip("/") if rest else head]
    i = 0
    while i < len(rest):
        c = rest[i]
        m = _NAME_RE.match(rest, i + 1) if c == "$" else None
        if m is None:
            out.append(c)
            i += 1
            continue
        if m.group() != "USER":
            raise GlobError(f"unknown or misplaced variable ${m.group()} in {text!r}")
        out.append(ex.username())
        i = m.end()
    path = "".join(out)
    if not path.startswith("/"):
        raise GlobError(f"not an absolute path: {text!r}")
    return path
