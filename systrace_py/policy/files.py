"""Policy files: loading (with errors that name file, line and key), saving, the policy directory.

The format is TOML, version 1, documented key by key in docs/policy.md.  A policy is a
security boundary, so loading is strict: every mistake -- a typo in a key, an unknown system
call, a condition that could never apply to the calls it is written on -- is a
:class:`PolicyError` pointing at the line, never a rule that silently does nothing.

:mod:`tomllib` reports no positions for valid documents, so :class:`_Positions` scans the text
once more and maps every (table path, array index, key) to the line it was written on.

Saving goes through :func:`dumps_policy` (keys as written: aliases, ``$HOME`` in globs, errno
names) and :func:`save_policy`; both it and the policy store (:mod:`systrace_py.policy.store`,
which edits a file in place for remembered answers) write with :func:`replace_policy_text`:
under a lock file beside the policy, compare-and-replace, atomic, the old file's mode kept, the
last :data:`BACKUPS_KEPT` versions kept as backups.
"""

from __future__ import annotations

import bisect
import contextlib
import errno as errno_module
import fcntl
import ipaddress
import marshal
import os
import pwd
import re
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from systrace_py import importcache, outputs, procfs, startup, syscalls
from systrace_py.kernel import DELETED, MAX_ERRNO
from systrace_py.policy import aliases
from systrace_py.policy.argv import ArgvCondition, Words
from systrace_py.policy.environment import grant_error
from systrace_py.policy.glob import (
    PSEUDO_PREFIXES,
    Expansions,
    GlobError,
    PathGlob,
    expand_path,
    is_literal,
)
from systrace_py.policy.inject import (
    ALWAYS,
    SCOPES,
    InjectError,
    Injection,
    calls_of,
    parse_duration,
    parse_signal,
    parse_when,
    retval_problem,
)
from systrace_py.policy.model import (
    DECIDING,
    DNS_ANSWERS,
    MISSING_ANSWERS,
    TREE,
    Action,
    DnsAnswer,
    DnsRefused,
    Location,
    Missing,
    MissingAnswer,
    Policy,
    Redirect,
    Rule,
    SockAddr,
    Table,
    split_calls,
)
from systrace_py.startup import standing_in

if TYPE_CHECKING:
    # pathlib is imported where a path is made: by the runs that save or look a policy up in
    # the policy directory (pathlib and urllib.parse: 11 M instructions of a start-up)
    from pathlib import Path

    from systrace_py.policy.net import NetCondition
    from systrace_py.policy.sensitive import LearnedGlob

__all__ = [
    "BACKUPS_KEPT",
    "FORMAT_VERSION",
    "REPLACE_TRIES",
    "RULE_KEYS",
    "TABLE_KEYS",
    "TOP_KEYS",
    "Destination",
    "DirectoryFile",
    "FileChanged",
    "FileRule",
    "PolicyError",
    "PolicyNotWritten",
    "PolicyWarning",
    "Provenance",
    "RedirectSpec",
    "directory_file",
    "dumps_policy",
    "errno_number",
    "find_policy",
    "foreign_owner",
    "former_name_note",
    "former_policy_filename",
    "load_policy",
    "loads_policy",
    "policy_dir",
    "policy_filename",
    "policy_lock",
    "program_table_values",
    "read_policy_bytes",
    "replace_policy_text",
    "resolved_program_key",
    "rule_data",
    "save_policy",
    "table_options",
]


# --- the TOML parser ---------------------------------------------------------------------------
_parser: Any = None


def toml_parser() -> Any:
    """The TOML parser: tomli (its own code, compiled: a 400-rule policy parses in a third of
    tomllib's time), else the standard library's tomllib; imported at its first use -- a start
    whose policy text an earlier start parsed reads the parse from :class:`ParsedDocuments`
    and never imports it (~1.2 ms of a start: issue 16, start38).

    The parser imports datetime for TOML's dates and times.  datetime.py defines every class
    in Python and then replaces each with _datetime's (C): ~1 ms of each start.  While the
    parser is imported, `datetime` is _datetime: the same classes (datetime.py's public names
    are _datetime's, `sys` aside); then the name is free again."""
    global _parser
    if _parser is None:
        stood_in: dict[str, Any] = {}
        if "datetime" not in sys.modules:
            with contextlib.suppress(ImportError):  # (a Python without the C half)
                import _datetime  # type: ignore[import-not-found]

                stood_in["datetime"] = _datetime
        with standing_in(stood_in):
            try:
                import tomli as parser
            except ImportError:
                import tomllib as parser  # type: ignore[no-redef]
        _parser = parser
    return _parser


def __getattr__(name: str) -> Any:
    """``files.tomllib``: the parser (:func:`toml_parser`), imported when first asked for."""
    if name == "tomllib":
        return toml_parser()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plain(value: object) -> bool:
    """Whether a parsed value is made of what marshal writes back as it was: TOML's tables,
    arrays, strings, integers, floats and booleans (not its dates and times)."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain(v)
                   for k, v in value.items())  # type: ignore[attr-defined]
    if kind is list:
        return all(_plain(v) for v in value)  # type: ignore[attr-defined]
    return kind in (str, int, float, bool)


#: The file's layout (another layout's file is not read)
_PARSED_FORMAT = 1
#: Documents kept from earlier starts when a start saves; past this many, only the start's own
MAX_PARSED = 16


class ParsedDocuments(importcache.KeptEntries):
    """What the TOML parser made of the policy texts earlier starts loaded, by the exact text
    (:class:`importcache.KeptEntries`, as engine/seccomp.py's programs).  A document is kept
    only when it is made of tables, arrays, strings, numbers and booleans (marshal gives them
    back equal, in their order); each look hands out a fresh copy.  The file is read only
    when the parser it was made with is still the one ``import`` finds: the search path, and
    the stamps of every directory searched up to the one that holds the parser and of the
    parser's own file, are as they were (:func:`_parser_stamp`) -- an upgraded, removed or
    shadowed parser makes it stale.  A damaged or unwritable file costs a parse, never
    another document: a parse is served only for the exact text it was made from.  0600:
    the texts of the user's policies, comments and all, in a directory others may read -- a
    root-owned install's, where root's own policy files are 0600 (review 37)."""

    most = MAX_PARSED
    mode = 0o600

    def holds(self, head: tuple[Any, ...]) -> bool:
        return len(head) == 2 and head[0] == _PARSED_FORMAT and _stamp_holds(head[1])

    def head(self) -> tuple[Any, ...] | None:
        stamp = _parser_stamp(toml_parser())
        return None if stamp is None else (_PARSED_FORMAT, stamp)

    def well_formed(self, key: Any, entry: Any) -> bool:
        return type(key) is str and type(entry) is bytes

    def served(self, entry: Any) -> dict[str, Any] | None:
        try:
            document = marshal.loads(entry)
        except (EOFError, ValueError, TypeError):
            return None
        if type(document) is not dict or not _plain(document):
            return None
        return document  # type: ignore[no-any-return]

    def put(self, key: Any, entry: Any) -> None:
        if _plain(entry):
            super().put(key, marshal.dumps(entry))


def _file_stamp(path: str) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _parser_stamp(parser: Any) -> tuple[Any, ...] | None:
    """What decides which parser ``import`` finds and what it is: the interpreter, the
    search path, the parser's file, and the stamps of every ``sys.path`` directory up to the
    one holding it and of that file (a parser installed in an earlier directory, or a new
    version of it, changes one); None when that cannot be told (then nothing is saved)."""
    origin = getattr(parser, "__file__", None)
    if type(origin) is not str:
        return None
    package = os.path.dirname(origin)
    home = os.path.dirname(package) if os.path.basename(origin).startswith("__init__.") \
        else package
    search = tuple(sys.path)
    if home not in search or not all(type(d) is str and os.path.isabs(d)
                                     for d in search[:search.index(home) + 1]):
        return None
    files = [*search[:search.index(home) + 1], origin]
    return (sys.version, search, parser.__name__,
            tuple((path, _file_stamp(path)) for path in files))


def _stamp_holds(stamp: object) -> bool:
    """Whether a stamp :func:`_parser_stamp` made still holds (without importing the parser)."""
    if type(stamp) is not tuple or len(stamp) != 4 or stamp[0] != sys.version \
            or stamp[1] != tuple(sys.path) or type(stamp[3]) is not tuple:
        return False
    for pair in stamp[3]:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str:
            return False
        if _file_stamp(pair[0]) != pair[1]:
            return False
    return True


#: The command's start's :class:`ParsedDocuments` (None in a library's process, or after the
#: start's caches closed)
_document_cache = startup.KeptForStart(
    lambda: ParsedDocuments(importcache.cache_path("policies", "toml")))


def parse_toml(text: str) -> dict[str, Any]:
    """The TOML document ``text``, parsed (the parser's errors as it raises them); in a
    command's start, what an earlier start parsed of the same text (:class:`ParsedDocuments`)."""
    cache = _document_cache()
    if cache is not None:
        found = cache.get(text)
        if found is not None:
            return found
    document: dict[str, Any] = toml_parser().loads(text)
    if cache is not None:
        cache.put(text, document)
    return document


FORMAT_VERSION = 1

#: Keys of the file's top level, in the order :func:`dumps_policy` writes them.
TOP_KEYS = ("version", "description", "default", "default_errno", "missing", "dns_refused",
            "detach", "trusted_filesystems", "rule", "program")
#: a FUSE file system type as /proc/self/mounts shows it (``trusted_filesystems``)
_FUSE_TYPE = re.compile(r"fuse|fuseblk|fuse\.[A-Za-z0-9_.+-]{1,64}")
#: Keys of a ``[program."..."]`` table.
TABLE_KEYS = ("description", "default", "default_errno", "missing", "dns_refused", "detach",
              "environment", "rule")
#: Keys of a ``[[rule]]``, in the order :func:`dumps_policy` writes them.
RULE_KEYS = ("comment", "calls", "path", "fresh", "address", "port", "host", "unix", "argv",
             "target", "action", "errno", "retval", "signal", "delay", "delay_exit", "when",
             "when_scope", "missing", "redirect", "learned")
#: Keys only an ``action = "inject"`` rule takes (``errno`` too, which refusals share).
INJECT_KEYS = ("retval", "signal", "delay", "delay_exit", "when", "when_scope")
#: Keys of a rule's ``learned`` table (what the learner saw: see :class:`Provenance`).
LEARNED_KEYS = ("kind", "calls", "seen", "paths")
NET_KEYS = ("address", "port", "host", "unix")
#: Keys of a rule whose strings are path patterns (or paths): no longer than MAX_PATTERN
_PATTERN_KEYS = ("path", "unix", "argv", "redirect")

#: Calls whose socket address a ``redirect`` can replace (the engine rewrites these).
REDIRECT_ADDRESS_CALLS = aliases.ONE_ADDRESS_CALLS
#: The calls a ``host`` condition applies to: those that send to an address (not bind)
HOST_CALLS = aliases.ALIASES["net-connect"]
#: What a ``target`` may say: "tree", the tasks of the traced tree (model.Rule.target)
TARGETS = (TREE,)
#: The calls an inject rule's ``path`` may pick: a path's, or a descriptor's file (strace's -P)
_PATH_OR_DESCRIPTOR_CALLS = aliases.PATH_CALLS | frozenset(syscalls.DESCRIPTOR_ARGS)


#: the words a rule's action and a table's default may be (a default decides: no "inject")
_RULE_ACTIONS = tuple(a.value for a in Action)
_DEFAULT_ACTIONS = tuple(a.value for a in DECIDING)
#: word -> action, for the words a rule may say (Action(word) costs ten times a lookup)
_RULE_ACTION_OF = {a.value: a for a in Action}
_DEFAULT_ACTION_OF = {a.value: a for a in DECIDING}
#: A rule's keys as a set: most rules are checked by one comparison, not a scan of the tuple
_RULE_KEY_SET = frozenset(RULE_KEYS)
#: Every name a rule's ``calls`` may hold: a system call or an alias
_CALL_NAMES = frozenset(aliases.ALIASES) | frozenset(syscalls.NUMBERS)
_ACTION_HINTS = {"deny": "never", "refuse": "never", "block": "never", "reject": "never",
                 "allow": "permit", "accept": "permit", "pass": "permit", "prompt": "ask"}
_ERRNO_NAMES: dict[str, int] = {
    name: value for name in dir(errno_module)
    if name.startswith("E") and isinstance(value := getattr(errno_module, name), int)
}


# ---------------------------------------------------------------------------------------------
# Errors


class PolicyError(Exception):
    """A policy file that cannot be used: where (file, line, key) and what is wrong.

    ``str(err)`` is ``FILE:LINE: KEY: MESSAGE``, leaving out what is not known (``line`` is 0
    and ``key`` empty then).  ``column`` is set for TOML syntax errors (also in the message).
    """

    def __init__(self, file: str, line: int, key: str, message: str, column: int = 0) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.key, self.message) if p]
        return ": ".join(parts)


class PolicyWarning(UserWarning):
    """A policy that loads, but not quite as written (a program key that names a symlink is
    resolved): ``FILE:LINE: KEY: MESSAGE``, as a :class:`PolicyError` says it."""


#: How /proc begins the name of a program run from a memfd ("/memfd:NAME (deleted)"): a
#: program key so written names a program with no name of its own (_program_key)
MEMFD_PREFIX = "/memfd:"
#: The most a policy file may hold (a learned policy of a big build is a few hundred KB).
MAX_POLICY_BYTES = 16 << 20
#: What a value nested too deeply for the parser (or a glob's braces) is called in errors.
_TOO_DEEP = "nested too deeply (arrays, tables or braces within each other)"
#: The longest path pattern (a program key, path, unix, argv element, redirect): PATH_MAX
#: four times over, room for braces; compiling a longer one costs seconds and matches nothing.
MAX_PATTERN = 4 * 4096


def _words_too_long(item: object) -> bool:
    """Whether an argv element ``{words = [...]}`` holds a glob longer than MAX_PATTERN."""
    words = item.get("words") if isinstance(item, dict) else None
    if not isinstance(words, list):
        return False
    return any((isinstance(w, str) and len(w) > MAX_PATTERN) or (isinstance(w, list) and any(
        isinstance(g, str) and len(g) > MAX_PATTERN for g in w)) for w in words)


def _suggestion(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    import difflib  # only a misspelt key pays for it (start-up, issue 16)

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value: object) -> str:
    """A TOML value's type as the file's author would name it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


# ---------------------------------------------------------------------------------------------
# Where things are: a scanner that maps table paths and keys to lines


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: Deeper than a policy's own keys go (program, KEY, rule, N, calls, N): the scanner keeps
#: this many parts of a key (a pathological file of long dotted keys would cost n^2).
_DEPTH = 8
_PathKey = tuple[str | int, ...]


class _Positions:
    """Line numbers of headers, keys and array elements of a (valid) TOML document.

    Paths are the ones the parsed data has: ``("rule", 0)`` is the first ``[[rule]]``,
    ``("rule", 0, "calls")`` its calls key, ``("rule", 0, "calls", 2)`` the third element (on
    its own line when the array spans lines), ``("program", "/usr/bin/cat", "rule", 1)`` the
    second rule of that program.  Only run on text tomllib accepted, so it can be small; any
    surprise ends the scan and leaves the lines found so far (errors then name the line of an
    enclosing table, or none).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines: dict[_PathKey, int] = {}
        self._aot_count: dict[_PathKey, int] = {}
        self._aot_current: dict[_PathKey, int] = {}
        with contextlib.suppress(IndexError, ValueError, RecursionError,
                                 toml_parser().TOMLDecodeError):
            self._document()

    def line(self, path: _PathKey) -> int:
        """The line of ``path``, else of its nearest enclosing table or key; 0 if none."""
        for k in range(len(path), 0, -1):
            found = self.lines.get(path[:k])
            if found is not None:
                return found
        return 0

    # --- scanning -------------------------------------------------------------------------
    def _line_at(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos)

    def _skip(self, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif c == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def _document(self) -> None:
        table: _PathKey = ()
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "[":
                table = self._header()
            else:
                self._keyval(table)

    def _header(self) -> _PathKey:
        start = self.pos
        double = self.text.startswith("[[", start)
        self.pos += 2 if double else 1
        segments = self._key()[:_DEPTH]  # no policy key is deeper (and deeper costs n^2)
        self._skip(newlines=False)
        self.pos += 2 if double else 1
        concrete: _PathKey = ()
        for seg in segments[:-1]:
            concrete += (seg,)
            if concrete in self._aot_current:
                concrete += (self._aot_current[concrete],)
        full = (*concrete, segments[-1])
        if double:
            index = self._aot_count.get(full, 0)
            self._aot_count[full] = index + 1
            self._aot_current[full] = index
            full = (*full, index)
        line = self._line_at(start)
        for end in range(1, min(len(full), _DEPTH)):  # [a.b]: where a was first written, too
            self.lines.setdefault(full[:end], line)
        self.lines.setdefault(full, line)
        return full

    def _key(self) -> list[str]:
        segments: list[str] = []
        text = self.text
        while True:
            self._skip(newlines=False)
            c = text[self.pos]
            if c == '"':
                end = self._basic_end(self.pos)
                segments.append(toml_parser().loads("k = " + text[self.pos:end])["k"])
                self.pos = end
            elif c == "'":
                end = text.index("'", self.pos + 1) + 1
                segments.append(text[self.pos + 1:end - 1])
                self.pos = end
            else:
                m = _BARE_KEY.match(text, self.pos)
                if m is None:
                    raise ValueError("bad key")
                segments.append(m.group())
                self.pos = m.end()
            self._skip(newlines=False)
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            return segments

    def _basic_end(self, start: int) -> int:
        """End (exclusive) of the one-line basic string starting at ``start``."""
        i = start + 1
        while self.text[i] != '"':
            i += 2 if self.text[i] == "\\" else 1
        return i + 1

    def _keyval(self, table: _PathKey) -> None:
        start = self.pos
        path = (*table, *self._key())[:_DEPTH]
        self._skip(newlines=False)
        if self.text[self.pos] != "=":
            raise ValueError("expected =")
        self.pos += 1
        self._skip(newlines=False)
        line = self._line_at(start)
        for end in range(len(table) + 1, min(len(path), _DEPTH)):  # a.b = 1: a is here too
            self.lines.setdefault(path[:end], line)
        self.lines.setdefault(path, line)
        self._value(path)

    def _value(self, path: _PathKey) -> None:
        text = self.text
        if text.startswith('"""', self.pos):
            i = self.pos + 3
            while not text.startswith('"""', i):
                i += 2 if text[i] == "\\" else 1
            i += 3
            extra = 0
            while extra < 2 and i < len(text) and text[i] == '"':
                i += 1
                extra += 1
            self.pos = i
        elif text.startswith("'''", self.pos):
            i = text.index("'''", self.pos + 3) + 3
            extra = 0
            while extra < 2 and i < len(text) and text[i] == "'":
                i += 1
                extra += 1
            self.pos = i
        elif text[self.pos] == '"':
            self.pos = self._basic_end(self.pos)
        elif text[self.pos] == "'":
            self.pos = text.index("'", self.pos + 1) + 1
        elif text[self.pos] == "[":
            self.pos += 1
            index = 0
            while True:
                self._skip(newlines=True)
                if text[self.pos] == "]":
                    self.pos += 1
                    return
                self.lines.setdefault((*path, index), self._line_at(self.pos))
                self._value((*path, index))
                index += 1
                self._skip(newlines=True)
                if text[self.pos] == ",":
                    self.pos += 1
        elif text[self.pos] == "{":
            self.pos += 1
            while True:
                self._skip(newlines=False)
                if text[self.pos] == "}":
                    self.pos += 1
                    return
                self._keyval(path)
                self._skip(newlines=False)
                if text[self.pos] == ",":
                    self.pos += 1
        else:
            m = re.compile(r"[^,\]}#\n]*").match(text, self.pos)
            assert m is not None
            self.pos = m.end()


# ---------------------------------------------------------------------------------------------
# What a loaded policy keeps besides the model: comments and redirects as written


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a learned rule came from (its ``learned`` key): why the learner wrote it
    (``kind``: "shared libraries", "temporary names"...), how many paths it was made from
    (``seen``) and the paths themselves (``paths``: all of them, or the first
    :data:`MAX_PROVENANCE_PATHS` when there were more); ``calls``, the rule's calls it is
    about when not all of them (metadata permitted anywhere shares one rule with the calls
    that take no arguments).  ``systrace policy review`` shows it and narrows or widens the
    rule from it; matching never looks at it."""

    kind: str
    seen: int = 0
    paths: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every path the rule was made from is kept."""
        return len(self.paths) >= self.seen


#: The most paths a rule's ``learned`` key keeps (a category rule of a big build would hold
#: hundreds: the file stays readable, the review says the list was cut).
MAX_PROVENANCE_PATHS = 32


@dataclass(frozen=True)
class FileRule(Rule):
    """A rule read from a file: a :class:`Rule` that also keeps its ``comment`` and its
    ``learned`` provenance for saving."""

    comment: str | None = None
    learned: Provenance | None = None


@dataclass(frozen=True, slots=True)
class RedirectSpec(Redirect):
    """A redirect as written (``text``: ``$HOME/x``, ``127.0.0.1:8080``), for saving."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class _TableOptions:
    """A table's own keys (default, default_errno, detach...), as read from the file."""

    default: Action
    default_errno: int
    detach: bool
    missing: MissingAnswer
    dns_refused: DnsAnswer = DnsRefused.NXDOMAIN


# ---------------------------------------------------------------------------------------------
# Loading


def _rule_header(table: _PathKey) -> str:
    """How the rules of the table at ``table`` are written: [[rule]] or
    [[program."KEY".rule]]."""
    if len(table) >= 2 and table[0] == "program":
        return f"[[program.{_format_key(str(table[1]))}.rule]]"
    return "[[rule]]"


def errno_number(value: object) -> int:
    """An errno name (``"EACCES"``) or number as the number; ValueError says what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"an errno is a name such as \"EACCES\" or a number, not {_kind(value)}")
    if isinstance(value, int):
        if not 1 <= value <= MAX_ERRNO:
            raise ValueError(f"errno {value} is out of range (1-{MAX_ERRNO}; 0 would look like"
                             " success)")
        return value
    found = _ERRNO_NAMES.get(value)
    if found is None:
        hint = f" (did you mean {value.upper()!r}?)" if value.upper() in _ERRNO_NAMES \
            else _suggestion(value, sorted(_ERRNO_NAMES))
        raise ValueError(f"unknown errno name {value!r}{hint}")
    return found


def _errno_name(number: int) -> str | int:
    return errno_module.errorcode.get(number, number)


class _Loader:
    """One load: the parsed data, where each part was written, and the checks."""

    def __init__(self, text: str, source: str, env: Mapping[str, str] | None) -> None:
        self.source = source
        self.text = text
        self.expansions = Expansions.from_env(env)
        self.env = env
        self._positions: _Positions | None = None
        #: (calls, what a condition needs) pairs :meth:`_applies` has let through
        self._applicable: set[tuple[tuple[str, ...], frozenset[str]]] = set()
        self._resolved_directories: dict[str, str] = {}  # (_resolvable: one look each)

    @property
    def positions(self) -> _Positions:
        if self._positions is None:
            self._positions = _Positions(self.text)
        return self._positions

    def _location(self, where: _PathKey) -> Location:
        """Where a table or rule was written; the line is found when first asked for."""
        return Location(self.source, lambda: self.positions.line(where))

    def error(self, where: _PathKey, key: str, message: str) -> PolicyError:
        path = (*where, key) if key else where
        return PolicyError(self.source, self.positions.line(path), key, message)

    # --- top level ------------------------------------------------------------------------
    def load(self) -> Policy:
        try:
            data = parse_toml(self.text)
        except RecursionError:
            raise PolicyError(self.source, _deepest_line(self.text), "",
                              f"TOML {_TOO_DEEP}") from None
        except ValueError as exc:
            if isinstance(exc, toml_parser().TOMLDecodeError):  # (the parser's: imported by now)
                raise _syntax_error(self.source, str(exc), self.text) from None
            # an integer of more digits than Python converts
            digits = re.search(r"[0-9_]{4000,}", self.text)
            line = self.text.count("\n", 0, digits.start()) + 1 if digits else 0
            raise PolicyError(self.source, line, "", f"TOML value out of range: {exc}") from None
        self._check_keys(data, (), TOP_KEYS, "top-level")
        version = data.get("version", FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int):
            raise self.error((), "version", f"expected an integer, got {_kind(version)}")
        if version != FORMAT_VERSION:
            raise self.error((), "version", f"unsupported policy format version {version}"
                             f" (this systrace reads version {FORMAT_VERSION})")
        description = self._optional_str(data, (), "description")
        options = self._table_options(data, (), None)
        main = Table("main", options.default, options.default_errno,
                     self._rules(data, ()), Location(self.source), description, options.detach,
                     options.missing, options.dns_refused)
        policy = Policy(main, source=self.source, description=description,
                        trusted_filesystems=self._trusted_filesystems(data))
        programs = data.get("program", {})
        if not isinstance(programs, dict):
            raise self.error((), "program", "expected tables written"
                             f" [program.\"/path/of/program\"], got {_kind(programs)}")
        for key, body in programs.items():
            self._program(policy, key, body, options)
        return policy

    def _trusted_filesystems(self, data: dict[str, object]) -> tuple[str, ...]:
        """``trusted_filesystems``: FUSE types ("fuse", "fuseblk", "fuse.NAME") whose
        servers the user trusts to answer every process alike."""
        value = data.get("trusted_filesystems", [])
        if not isinstance(value, list):
            raise self.error((), "trusted_filesystems",
                             f"expected an array of file system types, got {_kind(value)}")
        for item in value:
            if not isinstance(item, str):
                raise self.error((), "trusted_filesystems",
                                 f"expected file system types (strings), got {_kind(item)}")
            if not _FUSE_TYPE.fullmatch(item):
                raise self.error((), "trusted_filesystems",
                                 f"{item!r} is no FUSE file system type: expected \"fuse\", "
                                 "\"fuseblk\" or \"fuse.NAME\" (the type /proc/self/mounts "
                                 "shows, as \"fuse.sshfs\"); other file systems need no trust")
        return tuple(dict.fromkeys(value))

    def _program(self, policy: Policy, key: str, body: object, inherited: _TableOptions) -> None:
        where: _PathKey = ("program", key)
        label = f"program.{_format_key(key)}"
        if not isinstance(body, dict):
            raise PolicyError(self.source, self.positions.line(where), label,
                              f"expected a table [program.{_format_key(key)}], got {_kind(body)}")
        if key.startswith(PSEUDO_PREFIXES):
            raise PolicyError(self.source, self.positions.line(where), label,
                              "a program key is the path (or path glob) of an executable")
        if len(key) > MAX_PATTERN:
            raise PolicyError(self.source, self.positions.line(where), label[:80] + "...",
                              f"longer than {MAX_PATTERN} characters: no path is that long")
        try:
            glob = PathGlob(key, expansions=self.expansions)
        except GlobError as exc:
            raise PolicyError(self.source, self.positions.line(where), label, str(exc)) from None
        except RecursionError:
            raise PolicyError(self.source, self.positions.line(where), label, _TOO_DEEP) from None
        self._check_keys(body, where, TABLE_KEYS, "program table")
        options = self._table_options(body, where, inherited)
        key = self._program_key(policy, key, where, label)
        table = Table(key, options.default, options.default_errno, self._rules(body, where),
                      self._location(where),
                      self._optional_str(body, where, "description"), options.detach,
                      options.missing, options.dns_refused,
                      self._environment(body, where), self.expansions)
        policy.programs[key] = table
        if not is_literal(key):
            policy.program_patterns[key] = glob

    def _resolvable(self, path: PathGlob, where: _PathKey) -> None:
        """A rule's path is matched against paths as the kernel resolves them (red team 33):
        a ``.`` or ``..`` in it matches nothing, an error; a trailing ``/`` is ignored, so
        ``DIR/`` names the directory alone, a warning saying so; a symlink among its leading
        directories (now) makes the rule match nothing below it, a warning naming the
        resolved directory to write instead (for a pattern without braces:
        PathGlob.linked_directories)."""
        step = path.unmatchable_steps()
        if step is not None:
            raise self.error(where, "path", f"{path.pattern!r} has a {step!r} component, and "
                             "paths are matched as the kernel resolves them (no . or ..): it"
                             " would match nothing; write the path it leads to")
        text = path.pattern
        for spelled in path.spellings() if text.endswith(("/", "}")) else ():
            # (red team 86: "never fsread ~/.ssh/" refused the listing and left every key
            # readable; a warning, not an error: a policy may mean the directory alone.
            # Each alternative of braces alike -- review 67: "{~/.ssh/,~/.gnupg/}")
            if len(spelled) > 1 and spelled.endswith("/") \
                    and not spelled.rstrip("/").endswith("**"):
                bare = spelled.rstrip("/") or "/"
                which = repr(text) if spelled == text else \
                    f"{spelled!r} (of {text!r}, braces expanded)"
                warnings.warn(PolicyWarning(str(self.error(
                    where, "path", f"{which} ends in '/', which matching ignores: it names "
                    f"{bare} alone, not what is in it; write {bare + '/**'!r} for its tree, "
                    f"or {bare!r} for the directory alone"))), stacklevel=2)
        linked = path.linked_directories(self._resolved_directory)
        if linked is not None:
            directory, resolved = linked
            warnings.warn(PolicyWarning(str(self.error(
                where, "path", f"{directory} resolves to {resolved}, and paths are matched"
                " as the kernel resolves them: this rule matches nothing below"
                f" {directory}; write {resolved}"))), stacklevel=2)

    def _resolved_directory(self, directory: str) -> str:
        """Where a rule path's literal directory leads now, its existing part resolved
        (itself under /proc, whose own entries are matched as /proc/self): one look each per
        load."""
        if directory == "/proc" or directory.startswith("/proc/"):
            return directory
        resolved = self._resolved_directories.get(directory)
        if resolved is None:
            try:
                resolved = os.path.realpath(directory)
            except (OSError, RuntimeError):
                resolved = directory  # (not to be looked at: nothing to say)
            self._resolved_directories[directory] = resolved
        return resolved

    def _program_key(self, policy: Policy, key: str, where: _PathKey, label: str) -> str:
        """The program path a table applies to.  Processes are known by their resolved path
        (/usr/bin/cat), so a key naming a symlink (/bin/cat where /bin -> usr/bin) would never
        apply: it is resolved now, with a warning saying so."""
        resolved = resolved_program_key(key)
        if resolved != key:
            warnings.warn(PolicyWarning(str(PolicyError(
                self.source, self.positions.line(where), label, f"{key} resolves to {resolved}"
                " (processes are known by their resolved path): the table applies to"
                f" {resolved}"))), stacklevel=2)
        if resolved.endswith(DELETED) or resolved.startswith(MEMFD_PREFIX):
            # a warning, not an error: an older -A wrote such tables (learn42), and a file
            # whose name really ends so, run by that name, enters its table
            warnings.warn(PolicyWarning(str(PolicyError(
                self.source, self.positions.line(where), label, "a program /proc names so (a"
                " memfd, a removed file: \"NAME (deleted)\") has no name of its own and takes"
                " no table -- its process keeps its caller's (red team 61): no run enters this"
                " table (but a file's whose name really is so); its rules belong in the table"
                " of the program that runs it, where systrace -A learns them"))), stacklevel=2)
        if resolved in policy.programs:
            first = policy.programs[resolved].location
            at = f" (line {first.line})" if first is not None and first.line else ""
            raise PolicyError(self.source, self.positions.line(where), label,
                              f"{key} is {resolved}, which has a"
                              f" table of its own{at}: merge the two")
        return resolved

    def _check_keys(self, data: dict[str, object], where: _PathKey, known: tuple[str, ...],
                    what: str) -> None:
        for key in data:
            if key in known:
                continue
            rule_header = _rule_header(where if what != "rule" else where[:-2])
            if what == "rule" and key in TOP_KEYS:
                hint = (" (a table key: in TOML every key after a [[rule]] header belongs to"
                        " that rule, so write table keys before the first header)")
            elif what != "rule" and key in RULE_KEYS:
                hint = f" (rule keys go under a {rule_header} header)"
            else:
                hint = _suggestion(key, known)
                if not hint and what != "rule":
                    close = _suggestion(key, RULE_KEYS)
                    hint = close and f"{close[:-1]} -- rule keys go under a {rule_header} header)"
            raise self.error(where, key, f"unknown {what} key{hint}")

    def _optional_str(self, data: dict[str, object], where: _PathKey, key: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(where, key, f"expected a string, got {_kind(value)}")
        return value

    def _action(self, data: dict[str, object], where: _PathKey, key: str,
                rule: bool = False) -> Action:
        """A rule's action (permit, never, ask or inject) or a table's default (not inject:
        a default decides)."""
        value = data[key]
        found = (_RULE_ACTION_OF if rule else _DEFAULT_ACTION_OF).get(value) \
            if isinstance(value, str) else None
        if found is not None:
            return found
        choices = _RULE_ACTIONS if rule else _DEFAULT_ACTIONS
        words = ", ".join(f'"{c}"' for c in choices[:-1]) + f' or "{choices[-1]}"'
        if not isinstance(value, str):
            raise self.error(where, key, f"expected {words}, got {_kind(value)}")
        if value == Action.INJECT.value:
            raise self.error(where, key, "a default decides whether calls run: \"inject\" is"
                             " for rules (write an [[rule]] with action = \"inject\")")
        hint = f" (did you mean {_ACTION_HINTS[value.lower()]!r}?)" \
            if value.lower() in _ACTION_HINTS else _suggestion(value, list(choices))
        raise self.error(where, key, f"unknown action {value!r}: use {words}{hint}")

    def _errno(self, data: dict[str, object], where: _PathKey, key: str) -> int:
        try:
            return errno_number(data[key])
        except ValueError as exc:
            raise self.error(where, key, str(exc)) from None

    def _table_options(self, data: dict[str, object], where: _PathKey,
                       inherited: _TableOptions | None) -> _TableOptions:
        """default, default_errno and detach; a program table inherits the top level's."""
        default = inherited.default if inherited else Action.PERMIT
        if "default" in data:
            default = self._action(data, where, "default")
        errno = inherited.default_errno if inherited else errno_module.EPERM
        if "default_errno" in data:
            errno = self._errno(data, where, "default_errno")
            if default is Action.PERMIT:
                raise self.error(where, "default_errno", "only used when default is \"never\""
                                 " or \"ask\" (this table's default is \"permit\")")
        detach = inherited.detach if inherited else False
        if "detach" in data:
            value = data["detach"]
            if not isinstance(value, bool):
                raise self.error(where, "detach", f"expected true or false, got {_kind(value)}")
            detach = value
        missing = inherited.missing if inherited else Missing.ENOENT
        if "missing" in data:
            missing = self._missing(data, where)
        dns_refused = inherited.dns_refused if inherited else DnsRefused.NXDOMAIN
        if "dns_refused" in data:
            value = data["dns_refused"]
            choices = " or ".join(f'"{d}"' for d in DNS_ANSWERS)
            if not isinstance(value, str) or value.lower() not in DNS_ANSWERS:
                shown = repr(value) if isinstance(value, str) else _kind(value)
                raise self.error(where, "dns_refused", f"expected {choices}, got {shown}")
            dns_refused = DNS_ANSWERS[DNS_ANSWERS.index(value.lower())]
        return _TableOptions(default, errno, detach, missing, dns_refused)

    def _environment(self, data: dict[str, object], where: _PathKey) -> tuple[str, ...]:
        """A program table's ``environment``: ``NAME=VALUE`` grants (a literal or a glob:
        environment.Grants) of loader or interpreter variables an exec into the table may
        carry (environment.grant_error says what else an entry is)."""
        value = data.get("environment", [])
        if not isinstance(value, list):
            raise self.error(where, "environment", "expected an array of \"NAME=VALUE\" strings"
                             f" (VALUE a glob), got {_kind(value)}")
        for entry in value:
            if not isinstance(entry, str):
                raise self.error(where, "environment",
                                 f"expected \"NAME=VALUE\" strings, got {_kind(entry)}")
            wrong = grant_error(entry, self.expansions)
            if wrong is not None:
                raise self.error(where, "environment", wrong)
        return tuple(value)

    def _missing(self, data: dict[str, object], where: _PathKey) -> MissingAnswer:
        value = data["missing"]
        choices = " or ".join(f'"{m}"' for m in MISSING_ANSWERS)
        if not isinstance(value, str):
            raise self.error(where, "missing", f"expected {choices}, got {_kind(value)}")
        for missing in MISSING_ANSWERS:
            if value == missing:
                return missing
        hint = next((f" (did you mean {m!r}?)" for m in MISSING_ANSWERS
                     if m.lower() == value.lower()), "")
        raise self.error(where, "missing", f"unknown value {value!r}: use {choices}{hint}")

    def _learned(self, data: dict[str, object], where: _PathKey) -> Provenance:
        value = data["learned"]
        if not isinstance(value, dict):
            raise self.error(where, "learned", f"expected a table such as {{kind = \"...\","
                             f" seen = 3, paths = [...]}}, got {_kind(value)}")
        at = (*where, "learned")
        for key in value:
            if key not in LEARNED_KEYS:
                raise self.error(at, key, "unknown key of learned (kind, calls, seen, paths)"
                                 f"{_suggestion(key, LEARNED_KEYS)}")
        kind = value.get("kind")
        if not isinstance(kind, str):
            raise self.error(at, "kind", f"expected a string, got {_kind(kind)}")
        seen = value.get("seen", 0)
        if isinstance(seen, bool) or not isinstance(seen, int) or seen < 0:
            raise self.error(at, "seen", f"expected a count, got {_kind(seen)}")
        paths = value.get("paths", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise self.error(at, "paths", "expected an array of paths")
        calls = value.get("calls", [])
        if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
            raise self.error(at, "calls", "expected an array of the rule's calls")
        return Provenance(kind, seen, tuple(paths), tuple(calls))

    # --- rules ----------------------------------------------------------------------------
    def _rules(self, data: dict[str, object], where: _PathKey) -> list[Rule]:
        raw = data.get("rule")
        if raw is None:
            return []
        if isinstance(raw, dict):
            raise self.error(where, "rule", f"write each rule under its own {_rule_header(where)}"
                             " header (double brackets: an array of tables)")
        if not isinstance(raw, list):
            raise self.error(where, "rule", f"expected [[rule]] tables, got {_kind(raw)}")
        rules = []
        for index, body in enumerate(raw):
            rule_where = (*where, "rule", index)
            if not isinstance(body, dict):
                raise self.error(rule_where, "", f"rule {index + 1} is {_kind(body)}, not a table")
            rules.append(self._rule(body, rule_where, index + 1))
        return rules

    def _rule(self, data: dict[str, object], where: _PathKey, index: int) -> Rule:
        if not _RULE_KEY_SET.issuperset(data):
            self._check_keys(data, where, RULE_KEYS, "rule")
        for key in _PATTERN_KEYS:
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                too_long = len(value) > MAX_PATTERN
            else:
                too_long = isinstance(value, list) and any(
                    isinstance(item, str) and len(item) > MAX_PATTERN for item in value)
                if key == "argv" and isinstance(value, list) and not too_long:
                    too_long = any(_words_too_long(item) for item in value)
            if too_long:
                raise self.error(where, key, f"longer than {MAX_PATTERN} characters: no path"
                                 " is that long")
        calls = self._calls(data, where)
        if "action" not in data:
            raise self.error(where, "action", "missing: every rule needs action = \"permit\","
                             " \"never\" or \"ask\"")
        action = self._action(data, where, "action", rule=True)
        if action is Action.NEVER or action is Action.ASK:
            ends = next((name for name in calls
                         if name in syscalls.treated(syscalls.Treat.ENDS)), None)
            if ends is not None:  # (an alias naming it, "stdio", refuses the others)
                # a warning, not an error: a policy saved before (an answer "never" to a
                # prompt for exit_group) still loads
                warnings.warn(PolicyWarning(str(self.error(
                    where, "calls", f"{ends} always runs: a process's end exposes nothing,"
                    " and refused, a program makes it again forever -- this rule does not"
                    f" apply to it (it says {action.value!r})"))), stacklevel=2)
        if action is not Action.INJECT and not data.keys().isdisjoint(INJECT_KEYS):
            key = next(key for key in INJECT_KEYS if key in data)
            raise self.error(where, key, "only used by action = \"inject\" rules"
                             f" (this rule says {action.value!r})")
        errno = errno_module.EPERM
        if "errno" in data:
            if action is Action.PERMIT:
                raise self.error(where, "errno", "only used by \"never\" and \"ask\" rules,"
                                 " and by \"inject\" (this rule permits)")
            if action is not Action.INJECT:
                errno = self._errno(data, where, "errno")
        missing = None
        if "missing" in data:
            if action is Action.PERMIT or action is Action.INJECT:
                raise self.error(where, "missing", "only used by \"never\" and \"ask\" rules"
                                 f" (this rule says {action.value!r})")
            missing = self._missing(data, where)
        injection = self._injection(data, where, calls) if action is Action.INJECT else None
        path: PathGlob | LearnedGlob | None = None
        if "path" in data:
            value = data["path"]
            if not isinstance(value, str):
                raise self.error(where, "path", f"expected a path glob string, got {_kind(value)}")
            try:
                path = PathGlob(value, expansions=self.expansions)
            except GlobError as exc:
                raise self.error(where, "path", str(exc)) from None
            except RecursionError:
                raise self.error(where, "path", _TOO_DEEP) from None
            self._resolvable(path, where)
            if action is Action.INJECT:  # a write's descriptor's file, too (strace's -P)
                self._applies(calls, _PATH_OR_DESCRIPTOR_CALLS, where, "path",
                              "takes no path and no descriptor")
            else:
                self._applies(calls, aliases.PATH_CALLS, where, "path", "takes no path")
        fresh = self._fresh(data, where, action) if "fresh" in data else False
        net = None if data.keys().isdisjoint(NET_KEYS) else self._net(data, where, calls)
        argv = None
        if "argv" in data:
            value = data["argv"]
            if not isinstance(value, list):
                raise self.error(where, "argv", "expected an array of strings, one glob per"
                                 f" argument, got {_kind(value)}")
            try:
                argv = ArgvCondition(value, self.expansions.cwd)
            except ValueError as exc:
                raise self.error(where, "argv", str(exc)) from None
            except RecursionError:
                raise self.error(where, "argv", _TOO_DEEP) from None
            self._applies(calls, aliases.EXEC_CALLS, where, "argv", "is not an exec call")
        target = self._target(data, where, calls, action) if "target" in data else None
        redirect = None
        if "redirect" in data:
            redirect = self._redirect(data, where, calls, action, net)
        comment = self._optional_str(data, where, "comment") if "comment" in data else None
        learned = self._learned(data, where) if "learned" in data else None
        if learned is not None and not set(learned.calls) <= set(calls):
            raise self.error((*where, "learned"), "calls", "names calls the rule does not")
        if learned is not None and action is Action.PERMIT and isinstance(path, PathGlob):
            # (the generalizer's grant stays out of sensitive locations where it is used too;
            # a learned rule made a refusal or a question keeps its whole glob: narrowed, it
            # would let ~/.ssh fall through to the rules after it)
            from systrace_py.policy.sensitive import learned_glob
            path = learned_glob(path, self.expansions, self.env, calls, fresh)
        named = tuple(calls)
        syscalls_named, classes = split_calls(named)
        return FileRule.made({  # (in the order the constructor sets them)
            "calls": named, "action": action, "errno": errno, "path": path, "net": net,
            "argv": argv, "redirect": redirect, "location": self._location(where),
            "index": index, "missing": missing, "inject": injection, "fresh": fresh,
            "target": target, "comment": comment, "learned": learned,
            "syscalls": syscalls_named, "classes": classes})

    def _fresh(self, data: dict[str, object], where: _PathKey, action: Action) -> bool:
        """``fresh = true``: a permit of paths the run makes only (model.Rule.fresh).  Only
        on a ``permit`` rule with a ``path`` or a ``unix`` socket path: a refusal is about
        what exists as much as what is made, and without a path there is nothing to be
        fresh."""
        value = data["fresh"]
        if not isinstance(value, bool):
            raise self.error(where, "fresh", f"expected true or false, got {_kind(value)}")
        if value and action is not Action.PERMIT:
            raise self.error(where, "fresh", "only used by \"permit\" rules"
                             f" (this rule says {action.value!r})")
        if value and "path" not in data and "unix" not in data:
            raise self.error(where, "fresh", "needs a path or a unix socket path: it says"
                             " which paths the run may make")
        return value

    def _target(self, data: dict[str, object], where: _PathKey, calls: list[str],
                action: Action) -> str:
        """``target = "tree"``: a permit of signals to tasks of the traced tree only
        (model.Rule.target).  Only on ``permit`` rules: what cannot be told to be in the tree
        (a process group, -1) falls to the rules after it, so a refusal scoped this way would
        let those through -- and only on signal calls, the calls that have a target."""
        value = data["target"]
        if value not in TARGETS:
            shown = repr(value) if isinstance(value, str) else _kind(value)
            raise self.error(where, "target", f"expected \"tree\" (the tasks of the traced"
                             f" tree), got {shown}")
        if action is not Action.PERMIT:
            raise self.error(where, "target", "only used by \"permit\" rules"
                             f" (this rule says {action.value!r})")
        self._applies(calls, aliases.SIGNAL_CALLS, where, "target", "sends no signal")
        return str(value)

    def _injection(self, data: dict[str, object], where: _PathKey, calls: list[str]
                   ) -> Injection:
        """What an inject rule does (policy/inject.py), every key checked."""
        err = self._errno(data, where, "errno") if "errno" in data else None
        retval = None
        if "retval" in data:
            value = data["retval"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(where, "retval", f"expected an integer, got {_kind(value)}")
            if err is not None:
                raise self.error(where, "retval", "errno and retval exclude each other: the"
                                 " call fails with errno, or succeeds returning retval")
            for call in calls_of(calls):
                problem = retval_problem(call, value)
                if problem is not None:
                    named = "" if call in calls else \
                        f" (in {next(n for n in calls if call in aliases.expand(n))!r})"
                    split = "; split the rule" if named or len(calls) > 1 else ""
                    raise self.error(where, "retval", f"{value}: {problem}{named}{split}")
            retval = value
        try:
            signal = parse_signal(data["signal"]) if "signal" in data else None
        except InjectError as exc:
            raise self.error(where, "signal", str(exc)) from None
        delays = []
        for key in ("delay", "delay_exit"):
            try:
                delays.append(parse_duration(data[key]) if key in data else 0.0)
            except InjectError as exc:
                raise self.error(where, key, str(exc)) from None
        when = ALWAYS
        if "when" in data:
            value = data["when"]
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise self.error(where, "when", f"expected a string such as \"3\", \"3..5\","
                                 f" \"3+\" or \"3+2\", got {_kind(value)}")
            try:
                when = parse_when(str(value))
            except InjectError as exc:
                raise self.error(where, "when", str(exc)) from None
        scope = "process"
        if "when_scope" in data:
            value = data["when_scope"]
            if value not in SCOPES:
                choices = " or ".join(f'"{s}"' for s in SCOPES)
                raise self.error(where, "when_scope", f"expected {choices}, got "
                                 f"{value!r}" if isinstance(value, str) else
                                 f"expected {choices}, got {_kind(value)}")
            scope = str(value)
        injection = Injection(err, retval, signal, delays[0], delays[1], when, scope)
        if not (injection.replaces or signal is not None or injection.delay
                or injection.delay_exit):
            raise self.error(where, "action", "an inject rule needs errno, retval, delay,"
                             " delay_exit or signal (what is done to the calls it picks)")
        return injection

    def _calls(self, data: dict[str, object], where: _PathKey) -> list[str]:
        if "calls" not in data:
            raise self.error(where, "calls", "missing: every rule needs calls = [...] (system"
                             " call names and aliases such as \"fsread\")")
        value = data["calls"]
        items = [value] if isinstance(value, str) else value
        try:  # (the common case: known names; the checks below say what is wrong)
            if isinstance(items, list) and items and _CALL_NAMES.issuperset(items):
                return items
        except TypeError:  # an array or table in the list: unhashable, and not a name
            pass
        if not isinstance(items, list):
            raise self.error(where, "calls", f"expected an array of call names, got {_kind(value)}")
        if not items:
            raise self.error(where, "calls", "empty: the rule would apply to nothing")
        for i, name in enumerate(items):
            at = (*where, "calls", i) if isinstance(value, list) else (*where, "calls")
            if not isinstance(name, str):
                raise PolicyError(self.source, self.positions.line(at), "calls",
                                  f"expected call names (strings), got {_kind(name)}")
            if name not in aliases.ALIASES and name not in syscalls.NUMBERS:
                close = syscalls.suggest(name, aliases.known_names())
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise PolicyError(self.source, self.positions.line(at), "calls",
                                  f"unknown system call or alias {name!r}{hint}")
        return items

    def _applies(self, calls: list[str], takes: frozenset[str], where: _PathKey, key: str,
                 why: str) -> None:
        """Refuse a condition that could never hold for one of the named calls."""
        checked = (tuple(calls), takes)
        if checked in self._applicable:  # rules of a policy repeat a few lists of calls
            return
        for name in calls:
            members = aliases.ALIASES.get(name, (name,))
            if takes.isdisjoint(members):
                what = f"alias {name!r}" if name in aliases.ALIASES else repr(name)
                raise self.error(where, key, f"cannot apply to {what}: it {why}, so the"
                                 " condition could never match (split the rule)")
        self._applicable.add(checked)

    def _net(self, data: dict[str, object], where: _PathKey, calls: list[str]) -> NetCondition:
        # (imported here, by the policies with an address rule only: a path policy's start
        # does without it; the start-up caches are still open while the policy loads, so
        # its dataclasses and patterns come from them -- startup.quick_imports)
        from systrace_py.policy.net import NetCondition, NetConditionError

        given = {k: data[k] for k in NET_KEYS if k in data}
        try:
            net = NetCondition(env=self.env, **given)  # type: ignore[arg-type]
        except NetConditionError as exc:
            raise self.error(where, exc.key, exc.message) from None
        except RecursionError:
            raise self.error(where, next(iter(given)), _TOO_DEEP) from None
        self._applies(calls, aliases.ADDRESS_CALLS, where, next(iter(given)),
                      "carries no socket address")
        if "host" in given:
            self._applies(calls, HOST_CALLS, where, "host",
                          "names no destination a program resolved (host is about connects"
                          " and sends)")
        return net

    def _redirect(self, data: dict[str, object], where: _PathKey, calls: list[str],
                  action: Action, net: NetCondition | None) -> Redirect:
        value = data["redirect"]
        if not isinstance(value, str):
            raise self.error(where, "redirect", f"expected a path or \"host:port\" string, got"
                             f" {_kind(value)}")
        if action is not Action.PERMIT:
            raise self.error(where, "redirect", "only goes with action = \"permit\" (the call"
                             " runs, pointed elsewhere)")
        if value.startswith(("/", "~", "$")):
            try:
                target = expand_path(value, expansions=self.expansions)
            except GlobError as exc:
                raise self.error(where, "redirect", str(exc)) from None
            self._applies(calls, aliases.PATH_CALLS, where, "redirect",
                          "takes no path to redirect")
            return RedirectSpec(path=target, text=value)
        try:
            address = parse_redirect_address(value, self.expansions)
        except ValueError as exc:
            raise self.error(where, "redirect", str(exc)) from None
        self._applies(calls, REDIRECT_ADDRESS_CALLS, where, "redirect",
                      "has no socket address the engine can replace")
        if net is not None and address.family not in net.families():
            raise self.error(where, "redirect", f"a {address.family} address cannot replace the"
                             f" {'/'.join(sorted(net.families()))} addresses this rule matches")
        return RedirectSpec(address=address, text=value)


def resolved_program_key(key: str) -> str:
    """The program a ``[program."KEY"]`` table applies to: a literal path resolved (processes
    are known by their resolved path), a glob as written."""
    return os.path.realpath(key) if is_literal(key) and "\0" not in key else key


def parse_redirect_address(text: str, expansions: Expansions | None = None) -> SockAddr:
    """``1.2.3.4:80``, ``[::1]:80``, ``unix:/path`` or ``unix:@abstract`` as a SockAddr."""
    if text.startswith("unix:"):
        target = text[5:]
        if target.startswith("@") and len(target) > 1:
            return SockAddr("unix", path=target)
        try:
            return SockAddr("unix", path=expand_path(target, expansions=expansions))
        except GlobError as exc:
            raise ValueError(f"unix redirect: {exc}") from None
    form = "a path, \"host:port\", \"[ipv6]:port\" or \"unix:/path\""
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r} is not {form}")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"{text!r} is not {form}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"bad port {port_text!r} in {text!r} (1-65535)")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (host names are not resolved);"
                         f" write {form}") from None
    if isinstance(ip, ipaddress.IPv6Address):
        if not text.startswith("["):
            raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port_text}")
        if ip.ipv4_mapped is not None:
            return SockAddr("inet", str(ip.ipv4_mapped), int(port_text))
        return SockAddr("inet6", str(ip), int(port_text))
    return SockAddr("inet", str(ip), int(port_text))


_SYNTAX = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_SYNTAX_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_error(source: str, message: str, text: str) -> PolicyError:
    m = _SYNTAX.search(message)
    if m is None:
        end = _SYNTAX_AT_END.search(message)
        if end is not None:
            line = len(text.rstrip("\n").split("\n"))
            return PolicyError(source, line, "", "TOML syntax error at the end of the file:"
                               f" {message[:end.start()]}")
        return PolicyError(source, 0, "", f"TOML syntax error: {message}")
    line, column = int(m.group(1)), int(m.group(2))
    text = message[:m.start()]
    return PolicyError(source, line, "", f"TOML syntax error at column {column}: {text}",
                       column=column)


def loads_policy(text: str, source_name: str = "<string>",
                 env: Mapping[str, str] | None = None) -> Policy:
    """A policy from TOML text; ``source_name`` is what errors and locations call the file.

    ``env`` gives ``$HOME``, ``$USER``, ``$TMPDIR`` and ``$CWD`` for path globs (default: this
    process's environment; see :class:`~systrace_py.policy.glob.Expansions`).
    """
    try:
        return _Loader(text, source_name, env).load()
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError(source_name, 0, "", _TOO_DEEP) from None
    except Exception as exc:  # a bug of ours: still one line, and nothing runs
        raise PolicyError(source_name, 0, "", f"internal error while loading (please report"
                          f" it): {type(exc).__name__}: {exc}") from None


def _deepest_line(text: str) -> int:
    """The line where brackets first nest deeper than a parser goes (for the message only:
    quotes are not looked at)."""
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        for c in line:
            depth += c in "[{"
            depth -= c in "]}"
            if depth > 100:
                return number
    return 0


#: What ``load_policy`` says a non-regular file at a policy's name is
_KINDS: dict[int, str] = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def load_policy(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Policy:
    """A policy file; every problem is a :class:`PolicyError` naming the file (and line).

    Only a regular file is read, and it is opened without waiting (``O_NONBLOCK``,
    ``O_NOCTTY``; what was opened is looked at again by ``fstat``): a FIFO, a device or a
    socket at the name is a load error naming it, never opened when ``stat`` already says
    so.  A plain ``open`` waited for good on another user's ``mkfifo a.toml`` in a shared
    ``-d`` directory, before the command started (review 74), or on one a traced program
    made at a ``-p`` file's name (close 43).  One home: ``cli.run._load_policy_file`` (an
    inferred directory's files) reads through here."""
    name = os.fspath(path)
    raw = b""
    try:
        kind = stat.S_IFMT(os.stat(name).st_mode)
        if kind == stat.S_IFREG:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as f:
                kind = stat.S_IFMT(os.fstat(f.fileno()).st_mode)
                if kind == stat.S_IFREG:
                    raw = f.read(MAX_POLICY_BYTES + 1)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise PolicyError(name, 0, "", f"cannot read the policy: {why}") from None
    if kind == stat.S_IFDIR:  # (as open(2) says it)
        raise PolicyError(name, 0, "", "cannot read the policy: "
                          f"{os.strerror(errno_module.EISDIR)}")
    if kind != stat.S_IFREG:
        raise PolicyError(name, 0, "", f"not a regular file ({_KINDS.get(kind, 'not a file')}):"
                          " a policy is read only from a file, never waited for")
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(name, 0, "", f"more than {MAX_POLICY_BYTES >> 20} MiB: not a policy")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PolicyError(name, 1, "", "UTF-16 text: a policy file is TOML, which is UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise PolicyError(name, 1, "", "starts with a byte order mark (BOM), which TOML does"
                          " not allow: save the file as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyError(name, line, "", "not UTF-8 text (a policy file is TOML, which is UTF-8)"
                          ) from None
    return loads_policy(text, name, env)


def table_options(policy: Policy) -> dict[str, dict[str, object]]:
    """Each table's options by table name ("main" or the program key): default,
    default_errno (name), detach, description -- as the loader resolved them (a program table
    inherits the top level's default, default_errno and detach).  ``detach`` is stored on
    :attr:`Table.allow_detach`; this is a read-only summary for front ends and logs."""
    return {
        table.name: {
            "default": table.default.value,
            "default_errno": _errno_name(table.default_errno),
            "missing": table.missing,
            "dns_refused": table.dns_refused,
            "detach": table.allow_detach,
            "description": table.description,
        }
        for table in policy.tables()
    }


# ---------------------------------------------------------------------------------------------
# Saving


def _scalar(value: object) -> str:
    import tomli_w  # saving only: enforcing runs never load the writer (start-up, issue 16)

    from systrace_py.terminal import toml_shown

    # (a basic string, which tomli-w always writes: its \\u escapes load back as written)
    return toml_shown(tomli_w.dumps({"v": value})[4:].rstrip("\n"))


def _format_key(key: str) -> str:
    """A key as TOML writes it.  Loading names program tables this way in every run, so a
    key that needs no escapes is quoted here as tomli-w would quote it, without importing it."""
    if _BARE_KEY.fullmatch(key):
        return key
    if key.isprintable() and '"' not in key and "\\" not in key:
        return f'"{key}"'
    return _scalar(key)


def _format_value(value: object, width: int) -> str:
    if isinstance(value, _Inline):
        return "{" + ", ".join(f"{_format_key(k)} = {_format_value(v, 10**6)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        items = [_format_value(v, 10**6) for v in value]
        inline = "[" + ", ".join(items) + "]"
        if len(inline) <= width:
            return inline
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    return _scalar(value)


def _format_table(values: dict[str, object]) -> list[str]:
    return [f"{_format_key(k)} = {_format_value(v, 96 - len(k) - 3)}" for k, v in values.items()]


def rule_data(rule: Rule) -> dict[str, object]:
    """A rule as the keys a file writes for it, in :data:`RULE_KEYS` order (what saving writes
    and what the store compares)."""
    out: dict[str, object] = {}
    comment = getattr(rule, "comment", None)
    if comment:
        out["comment"] = comment
    out["calls"] = list(rule.calls)
    if rule.path is not None:
        out["path"] = rule.path.pattern
    if rule.fresh:
        out["fresh"] = True
    if rule.net is not None:
        described = rule.net.describe()
        for key in NET_KEYS:
            if key in described:
                out[key] = described[key]
    if rule.argv is not None:
        out["argv"] = [_Inline(p.to_data()) if isinstance(p, Words) else p
                       for p in rule.argv.patterns]
    if rule.target is not None:
        out["target"] = rule.target
    out["action"] = rule.action.value
    if rule.inject is not None:
        out.update(rule.inject.describe())
    elif rule.action is not Action.PERMIT and rule.errno != errno_module.EPERM:
        out["errno"] = _errno_name(rule.errno)
    if rule.missing is not None and rule.action is not Action.PERMIT:
        out["missing"] = rule.missing
    if rule.redirect is not None:
        out["redirect"] = _redirect_text(rule.redirect)
    learned = getattr(rule, "learned", None)
    if learned is not None:
        out["learned"] = _Inline({"kind": learned.kind,
                                  **({"calls": list(learned.calls)} if learned.calls else {}),
                                  "seen": learned.seen, "paths": list(learned.paths)})
    return out


class _Inline(dict[str, object]):
    """A table written inline on its key's line (``learned = {kind = ..., ...}``): one line
    per rule however many paths it holds."""


def _redirect_text(redirect: Redirect) -> str:
    text = getattr(redirect, "text", "")
    if text:
        return text
    if redirect.path is not None:
        return redirect.path
    address = redirect.address
    assert address is not None
    if address.family == "unix":
        return f"unix:{address.path}"
    return str(address)


def _rules_text(rules: list[Rule], header: str) -> list[str]:
    out: list[str] = []
    for rule in rules:
        out += ["", header, *_format_table(rule_data(rule))]
    return out


def program_table_values(table: Table, main: Table) -> dict[str, object]:
    """The keys a ``[program."..."]`` table writes: what it does not inherit from the top
    level (a program table inherits ``default``, ``default_errno``, ``missing`` and ``detach``)."""
    main_errno = main.default_errno if main.default is not Action.PERMIT else errno_module.EPERM
    values: dict[str, object] = {}
    if table.description is not None:
        values["description"] = table.description
    if table.default is not main.default:
        values["default"] = table.default.value
    if table.default is not Action.PERMIT and table.default_errno != main_errno:
        values["default_errno"] = _errno_name(table.default_errno)
    if table.missing != main.missing:  # (str tags: equal, not necessarily identical)
        values["missing"] = table.missing
    if table.dns_refused != main.dns_refused:
        values["dns_refused"] = table.dns_refused
    if table.allow_detach != main.allow_detach:
        values["detach"] = table.allow_detach
    if table.environment:
        values["environment"] = list(table.environment)
    return values


def dumps_policy(policy: Policy) -> str:
    """The policy as TOML, readable: top-level keys, then the rules, then the program tables.

    Everything is written as it was read (call and alias names, globs with ``$HOME``, errno
    names, redirects, comments), so loading the text again gives a policy that decides every
    call the same way.  Program tables write only what they do not inherit.
    """
    main = policy.main
    top: dict[str, object] = {"version": FORMAT_VERSION}
    description = policy.description if policy.description is not None else main.description
    if description is not None:
        top["description"] = description
    top["default"] = main.default.value
    if main.default is not Action.PERMIT and main.default_errno != errno_module.EPERM:
        top["default_errno"] = _errno_name(main.default_errno)
    if main.missing != Missing.ENOENT:
        top["missing"] = main.missing
    if main.dns_refused != DnsRefused.NXDOMAIN:
        top["dns_refused"] = main.dns_refused
    if main.allow_detach:
        top["detach"] = True
    if policy.trusted_filesystems:
        top["trusted_filesystems"] = list(policy.trusted_filesystems)
    lines = _format_table(top)
    lines += _rules_text(main.rules, "[[rule]]")
    for key, table in policy.programs.items():
        header = f"program.{_format_key(key)}"
        lines += ["", f"[{header}]", *_format_table(program_table_values(table, main))]
        lines += _rules_text(table.rules, f"[[{header}.rule]]")
    return "\n".join(lines) + "\n"


#: How many earlier versions of a policy file saving keeps: ``FILE.bak`` (the newest),
#: ``FILE.bak.1``, ... ``FILE.bak.4`` (the oldest); an older one is deleted.
BACKUPS_KEPT = 5
#: Backup numbers past :data:`BACKUPS_KEPT` a save deletes (left by an older systrace or
#: setting).
_BACKUPS_LEFT = 100
#: How long saving waits for another systrace saving the same file (it holds the lock for
#: the time of a read and a write: this is only ever reached when something is stuck).
LOCK_WAIT = 30.0
#: How often a save reads, merges and tries to replace before it gives up: the file changes
#: under it only when something that takes no lock writes it in the same instant, each time.
REPLACE_TRIES = 5
#: How many ``FILE.new``, ``FILE.new.1``... a policy that could not replace its file tries.
_ASIDE_NAMES = 100

#: Every open of a name in a policy's directory: never through a link, never blocked by a
#: FIFO (nor a terminal made the controlling one); the file type is checked after.
_OPEN_SAFELY = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class FileChanged(Exception):
    """The policy file changed between the read a new text was made from and the replace:
    the caller reads it again and merges again (compare-and-replace)."""


def _check_link_target(name: str, real: str, via: str | None = None) -> None:
    """A policy is written through a symlink only to a file that is a systrace policy already
    (a dotfiles link): OSError (ELOOP) otherwise, saying where the link leads.  A link to a
    missing file, to a start-up file or to any other text is refused, not followed: the
    program under the policy may have made it (gap #33).  The target is looked at before it
    is read (:func:`procfs.reopen`), and only a regular file is read: a FIFO's open waited
    for a writer (systrace hung before the run), a device's open runs its driver (review
    13).  ``via``: a link on the way to the file's directory that the program may have put
    there (outputs.open_directory), checked the same way: a new file is not made through it.
    What stays (docs/security.md): a link a program made to *another* policy file is
    followed, and the save's message names the file it replaced."""
    why = ""
    try:
        held = os.open(real, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        held = -1
        why = ("which does not exist" if not os.path.lexists(real)
               else "which cannot be looked at")
    if held >= 0:
        try:
            if not stat.S_ISREG(os.fstat(held).st_mode):
                why = "which is not a regular file"  # (nor a link: realpath went past them)
            else:
                why = _not_a_policy(procfs.held_name(held))
        finally:
            os.close(held)
    if why and via is not None:
        raise OSError(errno_module.ELOOP, f"on the way to {name}, {via} is a symbolic link "
                      f"to {os.path.realpath(via)} in a directory a traced program may write, "
                      f"and {real} is not a policy already ({why.removeprefix('which ')}): a "
                      "policy is written through such a link only to a policy (the program may "
                      "have put the link there); name the directory it leads to", name)
    if why:
        raise OSError(errno_module.ELOOP, f"{name} is a symbolic link to {real}, {why}: a "
                      "policy is written through a link only to a policy (a traced program "
                      "may have left the link there); remove the link or name the file", name)


def _not_a_policy(path: str) -> str:
    """Why the regular file at ``path`` is no policy ("" when it is one)."""
    try:
        load_policy(path)
    except PolicyError:
        return "which is not a systrace policy"
    # (a file of comments alone is TOML, an empty policy: .bashrc of comments was one)
    with open(path, "rb") as f:
        if not toml_parser().loads(f.read(MAX_POLICY_BYTES).decode("utf-8")):
            return "which says nothing a policy says (comments or nothing)"
    return ""


class Destination:
    """Where a policy file is written: the directory its path led to when pinned, held by a
    descriptor opened once, and the file's name in it.

    Every step of a save -- the lock, the reads, the temporary file, the backups, the rename
    and the sync -- is done relative to that descriptor (``openat``, ``renameat``...), each
    name opened with ``O_NOFOLLOW``.  A directory of the path renamed, or replaced by a
    symlink, after the pin -- by the traced program (the same user, in the common case) or
    by any process of that user -- changes where the *path* leads, not where the save
    writes: into the directory that was pinned, wherever it is now (:meth:`moved` says
    where; issue 11).  The pin is taken before the run for every file a run saves after it
    (``-A -o``, the ``-p`` file, ``--save-answers``), else when saving.

    A symlink the path is when pinned is followed, on purpose (policies kept in a dotfiles
    repository): the pin is its final target's directory and name -- but only when that
    target is a systrace policy already (:func:`_check_link_target`).  A traced program that
    may write the directory where the user keeps ``p.toml`` may have left a link there in an
    earlier run, to a file it was refused (``~/.bashrc``), and the learned policy, text the
    program's paths shape, must not replace that file (red team 20, gap #33).  A link put at
    that name afterwards is not followed: it is refused, as anything else that is not a
    regular file (a FIFO, a socket, a device, a directory), at the file's name, its lock's
    or a backup's.
    """

    def __init__(self, path: str, directory: str, name: str, dir_fd: int,
                 syncable: bool) -> None:
        self.path = path              # as the user named it
        self.directory = directory    # the real directory it led to when pinned
        self.name = name              # the file's name in it
        self.dir_fd: int | None = dir_fd
        self._syncable = syncable     # opened for reading: fsync works on it

    @classmethod
    def pin(cls, path: str | os.PathLike[str]) -> Destination:
        """Pin where ``path`` leads now (OSError when its directory cannot be opened, or
        changed while it was being opened)."""
        name = os.fspath(path)
        real = os.path.realpath(name)
        directory, base = os.path.split(real)
        if not base or base in (".", ".."):
            raise IsADirectoryError(errno_module.EISDIR, "is a directory", name)
        # the directory as the kernel walks to it, and a link on the way the program may
        # have put there (outputs.open_directory): followed only to a policy already
        walked, link = outputs.open_directory(name)
        try:
            final_link = os.path.islink(name)
            if link is not None or final_link:
                _check_link_target(name, real, link)
            if final_link:  # (a policy: the pin is its own directory)
                os.close(walked)
                walked = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                fd = procfs.reopen(walked, os.O_RDONLY | os.O_DIRECTORY)
                syncable = True
            except PermissionError:  # (a directory one may write and search but not list)
                fd, walked = walked, -1
                syncable = False
        finally:
            if walked >= 0:
                os.close(walked)
        pinned = cls(name, directory, base, fd, syncable)
        now = pinned.now()
        if now is not None and now != directory:  # a link swapped in since realpath
            pinned.close()
            raise OSError(errno_module.EAGAIN, f"{name}: its directory changed while it was "
                          "being opened (another process is moving it)", name)
        return pinned

    def now(self) -> str | None:
        """The pinned directory's path now (None: it was removed, or /proc is not there)."""
        if self.dir_fd is None:
            return None
        try:
            where = os.readlink(f"/proc/self/fd/{self.dir_fd}")
        except OSError:
            return None
        return None if where.endswith(" (deleted)") or not where.startswith("/") else where

    def moved(self) -> str | None:
        """Where the pinned directory is now when that is not where it was pinned: it was
        renamed (or a directory above it was) since -- the save wrote there."""
        now = self.now()
        return now if now is not None and now != self.directory else None

    def path_of(self, name: str) -> Path:
        """A name of the pinned directory as a path (where the directory is now)."""
        from pathlib import Path

        return Path(self.now() or self.directory) / name

    @property
    def fd(self) -> int:
        if self.dir_fd is None:
            raise ValueError(f"{self.path}: the destination was closed")
        return self.dir_fd

    @property
    def lock_name(self) -> str:
        return f".{self.name}.lock"

    def backup_name(self, n: int) -> str:
        return f"{self.name}.bak" if n == 0 else f"{self.name}.bak.{n}"

    def sync(self) -> None:
        """Make the renames done in the directory durable."""
        if self._syncable:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.dir_fd is not None:
            fd, self.dir_fd = self.dir_fd, None
            os.close(fd)

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


_FILE_KINDS = ((stat.S_ISLNK, "a symbolic link now (a link made during the run is not "
                "followed)"),
               (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def _not_regular(dest: Destination, name: str, mode: int) -> OSError:
    """The refusal of a name that is not a regular file: nothing is read, written or moved
    through it (a FIFO would block the save, a link or a directory misdirect it)."""
    kind = next((text for test, text in _FILE_KINDS if test(mode)), "not a regular file")
    number = (errno_module.ELOOP if stat.S_ISLNK(mode) else
              errno_module.EISDIR if stat.S_ISDIR(mode) else errno_module.EINVAL)
    where = str(dest.path_of(name))
    return OSError(number, f"{where} is {kind}, not a regular file: nothing was written "
                   "through it", where)


def _lstat_at(dest: Destination, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dest.fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _open_regular(dest: Destination, name: str, *, create: bool = False) -> int | None:
    """A read-only descriptor of the regular file ``name`` of the pinned directory (None:
    there is no such name, when not creating it).  Anything else there is refused."""
    flags = os.O_RDONLY | _OPEN_SAFELY | (os.O_CREAT if create else 0)
    try:
        fd = os.open(name, flags, 0o644, dir_fd=dest.fd)
    except FileNotFoundError:
        if create:
            raise
        return None
    except OSError as exc:  # ELOOP (a link), EISDIR (a directory), ENXIO (a socket)...
        st = _lstat_at(dest, name)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise _not_regular(dest, name, st.st_mode) from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_regular(dest, name, mode)
    return fd


def _read_at(dest: Destination, name: str) -> tuple[bytes, os.stat_result] | None:
    """A regular file's content and status (None: there is no file)."""
    fd = _open_regular(dest, name)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(), os.fstat(f.fileno())


@contextlib.contextmanager
def policy_lock(dest: Destination) -> Iterator[Destination]:
    """Hold the lock of a policy file (an flock on ``.NAME.lock`` beside the real file; the
    lock file stays, removing it would let two savers lock two different files).  Every
    systrace that writes a policy takes it, so two runs saving into the same file take
    turns, each merging into what the other wrote.  OSError when the lock cannot be had
    within :data:`LOCK_WAIT` seconds, or ``.NAME.lock`` is not a regular file: it is opened
    in the pinned directory, never through a link (O_CREAT would make the file a link
    names, as the user who started systrace: red team 13b) and never waiting on a FIFO."""
    # read-only is enough for flock: whoever may read the policy may wait for its writers
    fd = _open_regular(dest, dest.lock_name, create=True)
    assert fd is not None
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError(errno_module.EAGAIN, "another process holds the lock of "
                                  "the policy file", str(dest.path_of(dest.name))) from None
                time.sleep(0.05)
        yield dest
    finally:
        os.close(fd)  # (closing releases the lock)


def read_policy_bytes(dest: Destination) -> bytes | None:
    """The file's content, None when there is no file (OSError when it is not a regular
    file)."""
    found = _read_at(dest, dest.name)
    return None if found is None else found[0]


def _rotate_backups(dest: Destination, data: bytes, mode: int) -> Path:
    """Keep the old content as ``FILE.bak``, shifting the earlier backups one number up and
    deleting what falls off the end (the caller holds the lock).  Returns ``FILE.bak``.
    A backup name that is not a regular file is refused before anything is moved."""
    names = [dest.backup_name(n) for n in range(BACKUPS_KEPT + _BACKUPS_LEFT)]
    for name in names:
        st = _lstat_at(dest, name)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise _not_regular(dest, name, st.st_mode)
    for name in names[BACKUPS_KEPT:]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dest.fd)
    for n in range(BACKUPS_KEPT - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.rename(names[n - 1], names[n], src_dir_fd=dest.fd, dst_dir_fd=dest.fd)
    _write_atomically(dest, names[0], data, mode, None)
    return dest.path_of(names[0])


def _create_fresh(dest: Destination, name: str) -> int:
    """A new file (O_EXCL: never one that is there, whatever it is), mode 0600."""
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_SAFELY, 0o600,
                   dir_fd=dest.fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_atomically(dest: Destination, name: str, data: bytes, mode: int,
                      owner: tuple[int, int] | None,
                      before_replace: Callable[[], None] | None = None) -> None:
    """A temporary file in the pinned directory (a fresh random name), synced, renamed over
    ``name`` there; a crash leaves the old file or the new one, never half of one."""
    for _ in range(_ASIDE_NAMES):
        tmp = f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = _create_fresh(dest, tmp)
            break
        except FileExistsError:  # (whatever is there: a FIFO planted at a guessed name)
            continue
    else:
        raise OSError(errno_module.EEXIST, "no fresh name for a temporary file",
                      str(dest.path_of(name)))
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, *owner)
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        os.rename(tmp, name, src_dir_fd=dest.fd, dst_dir_fd=dest.fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dest.fd)
        raise
    dest.sync()


def replace_policy_text(dest: Destination, text: str, expected: bytes | None) -> Path | None:
    """Replace a policy file (the caller holds :func:`policy_lock`); returns the backup.

    ``expected``: what the file held when ``text`` was made from it (None: there was no
    file).  When it holds something else now -- a person saved it in an editor meanwhile,
    which takes no lock -- :class:`FileChanged` is raised and nothing is written: the caller
    merges again.  It is checked once more right before the rename.  The old file's mode
    (and, when allowed, owner) is kept; it is kept as ``FILE.bak`` (:data:`BACKUPS_KEPT`).
    """
    found = _read_at(dest, dest.name)
    current = None if found is None else found[0]
    if current != expected:
        raise FileChanged(str(dest.path_of(dest.name)))
    mode = 0o666 & ~_umask()
    owner: tuple[int, int] | None = None
    backup: Path | None = None
    if found is not None:
        st = found[1]
        mode = st.st_mode & 0o7777
        owner = (st.st_uid, st.st_gid)
        backup = _rotate_backups(dest, found[0], mode)

    def unchanged() -> None:
        if read_policy_bytes(dest) != current:
            raise FileChanged(str(dest.path_of(dest.name)))

    _write_atomically(dest, dest.name, text.encode(), mode, owner, unchanged)
    return backup


class PolicyNotWritten(OSError):
    """A policy could not replace its file (why: ``strerror``).  It is never lost: it was
    written to ``aside``, a new file beside the destination (``FILE.new``, as a package
    manager leaves ``.rpmnew`` beside a configuration it may not replace) -- or, when that
    could not be made either, ``aside`` is None and the caller shows ``text``."""

    def __init__(self, cause: OSError, text: str, aside: Path | None) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), cause.filename)
        self.text = text
        self.aside = aside


def _write_aside(dest: Destination, text: str) -> Path | None:
    """Put a policy that could not replace its file in a new file beside it, mode 0600:
    ``FILE.new``, else ``FILE.new.1``...  (created with O_EXCL and O_NOFOLLOW: nothing that
    is there is opened).  None when none could be made (the directory is gone, full...)."""
    for n in range(_ASIDE_NAMES):
        name = f"{dest.name}.new" if n == 0 else f"{dest.name}.new.{n}"
        try:
            fd = _create_fresh(dest, name)
        except FileExistsError:
            continue
        except (OSError, ValueError):
            return None
        try:
            try:
                _write_all(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dest.fd)
            return None
        return dest.path_of(name)
    return None


def save_policy(policy: Policy, path: str | os.PathLike[str], *,
                pinned: Destination | None = None) -> Path | None:
    """Write the policy in systrace's layout (:func:`dumps_policy`), replacing the file
    atomically under its lock, in ``pinned`` (taken before the run; else ``path`` is pinned
    now: see :class:`Destination`); returns the backup's path (None: there was no file).
    :class:`PolicyNotWritten` when the file cannot be replaced: the policy is then beside
    it (or in the exception)."""
    text = dumps_policy(policy)
    try:
        dest = pinned if pinned is not None else Destination.pin(path)
    except OSError as exc:
        raise PolicyNotWritten(exc, text, None) from exc
    try:
        with policy_lock(dest):
            for _ in range(REPLACE_TRIES):
                with contextlib.suppress(FileChanged):
                    return replace_policy_text(dest, text, read_policy_bytes(dest))
        raise OSError(errno_module.EAGAIN, "the file kept changing while it was being saved",
                      os.fspath(path))
    except OSError as exc:
        raise PolicyNotWritten(exc, text, _write_aside(dest, text)) from exc
    finally:
        if pinned is None:
            dest.close()



def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


# ---------------------------------------------------------------------------------------------
# The policy directory


def policy_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/systrace``, else ``~/.config/systrace`` (a relative
    XDG_CONFIG_HOME is ignored, as the XDG spec says)."""
    from pathlib import Path

    return Path(policy_dir_name(env))


def policy_dir_name(env: Mapping[str, str] | None = None) -> str:
    """:func:`policy_dir` as a string (a ``-p`` run's start-up imports no pathlib: issue
    16)."""
    source: Mapping[str, str] = os.environ if env is None else env
    config = source.get("XDG_CONFIG_HOME", "")
    if config.startswith("/"):
        return os.path.join(config, "systrace")
    home = source.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
    return os.path.join(home, ".config", "systrace")


def policy_filename(program_path: str) -> str:
    """systrace's naming: the program's path with ``/`` as ``_`` (``/usr/bin/ls`` ->
    ``_usr_bin_ls.toml``), so every program has its own file in one flat directory -- and
    ``_`` and ``%`` of the path written ``%5F`` and ``%25`` (``/opt/my_tool`` ->
    ``_opt_my%5Ftool.toml``), so that one name is one path.  With ``_`` kept as it was,
    ``/work/tools/lint`` and ``/work/tools_lint`` had one file, and a program that may write
    ``/work`` took the tool's table by a copy of itself at the other name (red team 20, gap
    #35)."""
    return program_path.replace("%", "%25").replace("_", "%5F").replace("/", "_") + ".toml"


def former_policy_filename(program_path: str) -> str | None:
    """The name :func:`policy_filename` gave before 2026-12-05 when it differs (a path with
    ``_`` or ``%``): such a file is not read for that program now -- any path with ``/`` and
    ``_`` swapped could claim it -- and the run says so (:func:`former_name_note`).  It is
    today's name of the path with each ``_`` a ``/``, which takes its table at an exec only
    where no other existing path could have had the name; else the exec is refused
    (supervisor.PolicySet.claimed)."""
    former = program_path.replace("/", "_") + ".toml"
    return former if former != policy_filename(program_path) else None


def former_name_note(program_path: str, directory: str | os.PathLike[str]) -> str | None:
    """What to tell the user when the policy directory holds a file under the program's
    former name and none under its name now (None: nothing to tell)."""
    former = former_policy_filename(program_path)
    if former is None:
        return None
    base = os.fspath(directory)
    if not os.path.isfile(os.path.join(base, former)) or os.path.lexists(
            os.path.join(base, policy_filename(program_path))):
        return None
    return (f"{os.path.join(base, former)} is named as before 2026-12-05 and is not read for "
            f"{program_path} (another program could claim it by its name: docs/security.md "
            f"gap #35): if it is that program's, rename it to {policy_filename(program_path)}")


@dataclass(frozen=True)
class DirectoryFile:
    """A policy file as a policy directory's file (:func:`directory_file`)."""

    directory: str      # the policy directory
    name: str | None    # the name a run of the directory finds the file by (None: not one)
    inferred: bool      # the directory was neither given (-d) nor the default one: told
    #                     from the file's name or its neighbours' -- a next run may read the
    #                     file alone (-p FILE) or as that directory's (-d DIR)


def directory_file(path: str | os.PathLike[str], program: str | None,
                   given: str | os.PathLike[str] | None,
                   env: Mapping[str, str] | None = None) -> DirectoryFile | None:
    """Whether a policy file is -- or would be read as -- a file of a policy directory, and
    of which, and by what name: the one home of that fact for every path that reads or adds
    a table to such a file (a ``-p FILE`` run, with ``-d`` or without, saving an answer;
    ``--save-answers``; ``-A --merge``; ``systrace policy learn --merge``).  A table added
    there shadows the program's own file in the directory for every next run of it, so it
    must be made from that file too (review 58, close 32, review 65); and with ``-d`` the
    file is the run's own, not loaded a second time (``PolicySet.own``, close 38).  Decided
    from the file itself, not from how it was named (review 61).

    * ``given`` (``-d DIR``): that directory, the file one of its files or not (``name``
      None when not).
    * The default directory, when the file is one of its files: its real parent is the
      directory, or an entry of the directory is the same file (a run follows a link).
    * Else its parent, *inferred*, when the file is named as a policy directory names
      ``program``'s file (``policy_filename``, or the base name: ``systrace -d PARENT
      program`` reads it as the command's file), or when a neighbour is named as a policy
      directory names a program's file (``_...toml``: ``-p FILE -d PARENT`` reads it for
      that program).  Which of the two a next run does cannot be told: the caller carries
      the refusals of both (fails safe).  Whoever owns the directory or the neighbour and
      whatever its mode: what is carried from an inferred directory's files is their
      refusals alone (``learn.refusals``; another user's ``inject retval = 0`` of ``setuid``
      faked a privilege drop before, review 69), which can only refuse more, and a next
      ``-d DIR`` run reads every file there whoever owns it.  Told apart by an owner or a
      write bit (close 43), the person's own directory made under the umask 002 of a
      user-private group was no directory, and a table made in it lacked the refusals of
      the program's own file there (review 72); another user's file is said in a note
      (:func:`foreign_owner`).
    * Else None: the file has no directory a run would read with it (``-p FILE``)."""
    if given is not None:
        return DirectoryFile(os.fspath(given), _name_in_directory(path, given), False)
    default = policy_dir_name(env)
    name = _name_in_directory(path, default)
    if name is not None:
        return DirectoryFile(default, name, False)
    try:
        real = os.path.realpath(path)
        parent, own = os.path.dirname(real), os.path.basename(real)
        names = {policy_filename(program), os.path.basename(program) + ".toml"} \
            if program else set()
        named = os.path.basename(os.fspath(path))
        if named in names:  # (a link so named: -d reads it by that name, where it is)
            return DirectoryFile(os.path.dirname(os.path.abspath(path)), named, True)
        if own in names:
            return DirectoryFile(parent, own, True)
        with os.scandir(parent) as entries:
            for entry in entries:
                if entry.name != own and entry.name.startswith("_") and \
                        entry.name.endswith(".toml") and entry.is_file():
                    return DirectoryFile(parent, own, True)
    except (OSError, ValueError):
        return None
    return None


def foreign_owner(path: str | os.PathLike[str]) -> int | None:
    """The owner of a file of an *inferred* policy directory (:func:`directory_file`) when
    it is neither the running user nor root, else None (or when it cannot be told): what a
    note names when the file's refusals are carried into the person's (close 46).  Not a
    reason to skip the file: only refusals are carried from it (``learn.refusals``), which
    can only refuse more; left out, a table made there lacked what the next ``-d DIR`` run
    of the directory refuses (review 72)."""
    try:
        owner = os.stat(path).st_uid
    except (OSError, ValueError):
        return None
    return None if owner in (0, os.geteuid()) else owner


def _name_in_directory(path: str | os.PathLike[str], directory: str | os.PathLike[str]
                       ) -> str | None:
    """The name by which a run finds ``path`` in the policy ``directory`` (its real parent
    is the directory, or an entry of the directory is the same file), else None
    (:func:`directory_file`'s test, not asked elsewhere)."""
    try:
        real = os.path.realpath(directory)
        if os.path.realpath(os.path.dirname(os.path.abspath(path))) == real:
            return os.path.basename(os.fspath(path))
        if os.path.dirname(os.path.realpath(path)) == real:
            return os.path.basename(os.path.realpath(path))
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file() and os.path.samefile(entry.path, path):
                    return entry.name
    except (OSError, ValueError):
        return None
    return None


def find_policy(program_path: str, directory: str | os.PathLike[str]) -> Path | None:
    """The policy of a program in a directory: by full path name first, then by base name
    (``ls.toml``, handy for programs that move between /bin and /usr/bin)."""
    from pathlib import Path

    base = Path(directory)
    for name in (policy_filename(program_path), os.path.basename(program_path) + ".toml"):
        candidate = base / name
        try:
            if candidate.is_file():
                return candidate
        except OSError as exc:  # (a name longer than a file's may be: no file has it)
            if exc.errno != errno_module.ENAMETOOLONG:  # (EACCES...: whether it has one is unknown)
                raise PolicyError(str(base), 0, "",
                                  f"cannot look for {name} here: {exc.strerror}") from None
    return None
