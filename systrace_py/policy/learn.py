"""Learning: from what programs did (observations) to a policy a person would have written.

Pure: no ptrace, no file system access.  The learning monitor (:mod:`systrace_py.learner`)
and ``systrace policy learn`` (from a ``--log``) both produce :class:`Observation` values; this
module turns them into a :class:`~systrace_py.policy.model.Policy`:

* one table per program (the command's own table is ``main``; a program it execs gets
  ``[program."/path"]``), default ``never`` (or ``ask``);
* a rule per (alias, condition): ``fsread``/``fswrite``/``exec`` with a ``path`` glob,
  ``net-connect``/``net-bind`` with ``address``+``port`` or ``unix``, calls without arguments
  grouped by alias (``stdio``, ``process``...);
* paths generalized the way a person would (``--generalize none|safe|broad``): shared
  libraries, locale and timezone data, a directory that was listed and whose every entry was
  read, temporary files with random names, content-hash names, per-pid ``/proc`` paths --
  and never across sensitive locations (~/.ssh, /etc/shadow, ...), which stay exact.

The rules and their reasons are in docs/learning.md.  The invariant, checked by property
tests: a learned policy permits every observation it was learned from (except the ones
:class:`LearnReport` lists as not representable, and calls in
:data:`~systrace_py.policy.aliases.UNSAFE_CALLS`, which learning refuses).

:func:`merge_rules` and :func:`merge_policies` add rules to an existing policy without
undoing what a person wrote there; the interactive front end uses them too.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import fnmatch
import functools
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systrace_py.kernel import O_TMPFILE_BIT
from systrace_py.policy import aliases
from systrace_py.policy.argv import ArgvCondition
from systrace_py.policy.files import FileRule
from systrace_py.policy.glob import Expansions, GlobError, PathGlob, expand_path, is_literal
from systrace_py.policy.model import (
    Action,
    CallFacts,
    Decision,
    PathArg,
    Policy,
    Rule,
    SockAddr,
    Table,
)
from systrace_py.policy.net import NetCondition

__all__ = [
    "GENERALIZE_LEVELS",
    "MAIN",
    "Generalization",
    "LearnOptions",
    "LearnReport",
    "Observation",
    "decide_observation",
    "escape_glob",
    "format_summary",
    "is_sensitive",
    "learn",
    "merge_policies",
    "merge_rules",
    "observation_from_record",
    "rules_for_facts",
    "suggest_patterns",
]

MAIN = "main"
GENERALIZE_LEVELS = ("none", "safe", "broad")

#: Open flags that matter to learning: the access (fsread/fswrite), creation (temporary
#: names) and O_DIRECTORY.  Other bits (O_CLOEXEC...) are dropped so observations dedupe.
_FLAG_MASK = (os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_TRUNC | O_TMPFILE_BIT
              | os.O_DIRECTORY | os.O_PATH)

PATH_CLASSES = ("exec", "fsread", "fswrite")
#: Argument-less aliases a safe learned policy permits whole when any member was used: their
#: members are interchangeable ways of doing one harmless thing (a program that mmaps may
#: mremap tomorrow; fork and clone make the same child).
SAFE_WHOLE_ALIASES = frozenset({"stdio", "process"})
#: Calls that may carry an address but were seen without one (send on a connected socket),
#: or with one no address condition can name (netlink, AF_UNSPEC...).
_CATCH_ALL_CALLS = aliases.ADDRESS_CALLS
_ANY_IP = ["0.0.0.0/0", "::/0"]
_ANY_UNIX = ["/**", "@*", ""]

# ---------------------------------------------------------------------------------------------
# What is sensitive: never generalized across, always written exactly.

#: Below a home directory (``~``, ``/root`` and every ``/home/*``).
HOME_SENSITIVE = (
    ".ssh", ".gnupg", ".pki", ".aws", ".azure", ".config/gcloud", ".kube", ".docker",
    ".netrc", ".pgpass", ".git-credentials", ".password-store", ".mozilla", ".thunderbird",
    ".config/google-chrome", ".config/chromium", ".config/BraveSoftware",
    ".config/microsoft-edge", ".local/share/keyrings", ".config/gh", ".npmrc", ".pypirc",
    ".cargo/credentials", ".cargo/credentials.toml", ".bash_history", ".zsh_history",
    ".python_history", ".psql_history", ".mysql_history", ".lesshst", ".viminfo",
    ".local/share/recently-used.xbel", ".config/keepassxc", ".electrum", ".bitcoin",
)
#: Absolute sensitive locations.
SYSTEM_SENSITIVE = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private", "/etc/krb5.keytab",
    "/etc/security/opasswd", "/var/lib/sss", "/var/lib/polkit-1", "/proc/*/environ",
    "/proc/*/mem", "/proc/*/task/*/environ", "/proc/*/task/*/mem", "/proc/kcore",
    "/dev/mem", "/dev/kmem", "/boot",
)


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


@functools.lru_cache(maxsize=16)
def _sensitive_patterns(home: str | None) -> tuple[tuple[str, ...], ...]:
    homes = ["/root", "/home/*"]
    if home and home.startswith("/") and home.rstrip("/") not in ("", "/root"):
        homes.append(home)
    out = [_components(p) for p in SYSTEM_SENSITIVE]
    for h in homes:
        out += [_components(f"{h}/{rel}") for rel in HOME_SENSITIVE]
    return tuple(tuple(p) for p in out)


@functools.lru_cache(maxsize=16)
def _sensitive_regex(home: str | None) -> re.Pattern[str]:
    """Every sensitive location as one regex over a path (and anything below it)."""
    alternatives = []
    for pattern in _sensitive_patterns(home):
        comps = [fnmatch.translate(c)[4:-3].replace(".*", "[^/]*") for c in pattern]
        alternatives.append("/" + "/".join(comps))
    return re.compile("(?:" + "|".join(alternatives) + ")(?:/.*)?", re.DOTALL)


def _prefix_matches(pattern: Sequence[str], comps: Sequence[str]) -> bool:
    """Whether ``comps`` starts with components matching ``pattern`` (fnmatch per name)."""
    return len(comps) >= len(pattern) and all(
        fnmatch.fnmatchcase(c, p) for p, c in zip(pattern, comps, strict=False))


def is_sensitive(path: str, home: str | None = None) -> bool:
    """Whether a path is, or is below, a sensitive location (see docs/learning.md)."""
    if not path.startswith("/"):
        return False
    return _sensitive_regex(home).fullmatch("/" + "/".join(_components(path))) is not None


def _reaches_sensitive(directory: str, deep: bool, home: str | None) -> bool:
    """Whether ``directory/*`` (or ``directory/**`` when ``deep``) could match a sensitive
    location or something below one."""
    comps = _components(directory)
    for pattern in _sensitive_patterns(home):
        if _prefix_matches(pattern, comps):
            return True  # the directory itself is sensitive or inside a sensitive one
        if len(pattern) > len(comps) and _prefix_matches(pattern[:len(comps)], comps) and (
                deep or len(pattern) == len(comps) + 1):
            return True
    return False


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
    renameat2's flags: ``policy.model.Facts.selector``).
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

    def all_facts(self) -> list[CallFacts]:
        """The facts a policy decides on (one per socket address)."""
        paths = self.paths
        if self.syscall == "getdents64" or self.syscall == "getdents":
            paths = ()  # the directory is a hint for learning, not an argument
        base = CallFacts(self.syscall, paths, self.open_flags,
                         self.sockaddrs[0] if self.sockaddrs else None, self.argv,
                         selector=self.selector)
        if len(self.sockaddrs) <= 1:
            return [base]
        return [dataclasses.replace(base, sockaddr=a) for a in self.sockaddrs]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (the ``observation`` field of a learned log record)."""
        out: dict[str, Any] = {"syscall": self.syscall}
        if self.paths:
            out["paths"] = [[p.role, p.path] for p in self.paths]
        if self.open_flags is not None:
            out["open_flags"] = self.open_flags
        if self.sockaddrs:
            out["sockaddrs"] = [_sockaddr_json(a) for a in self.sockaddrs]
        if self.argv is not None:
            out["argv"] = list(self.argv)
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
        return out

    @classmethod
    def from_json(cls, table: str, data: Mapping[str, Any]) -> Observation:
        """The inverse of :meth:`to_json`; ValueError/TypeError/KeyError on a bad record."""
        paths = tuple(PathArg(str(role), str(path)) for role, path in data.get("paths", ()))
        flags = data.get("open_flags")
        selector = data.get("selector")
        argv = data.get("argv")
        listing = data.get("listing")
        return cls(
            table=str(table), syscall=str(data["syscall"]), paths=paths,
            open_flags=int(flags) if flags is not None else None,
            sockaddrs=tuple(_sockaddr_from_json(a) for a in data.get("sockaddrs", ())),
            argv=tuple(str(a) for a in argv) if argv is not None else None,
            created=tuple(str(r) for r in data.get("created", ())),
            exclusive=bool(data.get("exclusive", False)),
            listing=tuple(str(e) for e in listing) if listing is not None else None,
            initial=bool(data.get("initial", False)),
            selector=int(selector) if selector is not None else None,
        )


def normalize_flags(flags: int | None) -> int | None:
    return None if flags is None else flags & _FLAG_MASK


def _sockaddr_json(addr: SockAddr) -> dict[str, Any]:
    return {k: v for k, v in (("family", addr.family), ("host", addr.host),
                              ("port", addr.port), ("path", addr.path)) if v is not None}


def _sockaddr_from_json(data: Mapping[str, Any]) -> SockAddr:
    port = data.get("port")
    return SockAddr(str(data["family"]), data.get("host"),
                    int(port) if port is not None else None, data.get("path"))


_FLAG_BITS = {
    "O_RDONLY": os.O_RDONLY, "O_WRONLY": os.O_WRONLY, "O_RDWR": os.O_RDWR,
    "O_ACCMODE": os.O_ACCMODE, "O_CREAT": os.O_CREAT, "O_EXCL": os.O_EXCL,
    "O_TRUNC": os.O_TRUNC, "O_DIRECTORY": os.O_DIRECTORY, "O_PATH": os.O_PATH,
    "O_TMPFILE": O_TMPFILE_BIT,
}


def _parse_flags(text: str) -> int:
    value = 0
    for name in text.split("|"):
        value |= _FLAG_BITS.get(name.strip(), 0)
    return value


_INET6_TEXT = re.compile(r"\[(?P<host>[^\]]+)\]:(?P<port>\d+)")
_INET_TEXT = re.compile(r"(?P<host>\d+\.\d+\.\d+\.\d+):(?P<port>\d+)")


def _parse_address(text: str) -> SockAddr:
    """``SockAddr.__str__`` read back (for logs written without an observation field)."""
    if text.startswith("unix:"):
        rest = text[5:]
        return SockAddr("unix", path="" if rest == "(unnamed)" else rest)
    m = _INET6_TEXT.fullmatch(text)
    if m:
        return SockAddr("inet6", m["host"], int(m["port"]))
    m = _INET_TEXT.fullmatch(text)
    if m:
        return SockAddr("inet", m["host"], int(m["port"]))
    return SockAddr(text if text in ("netlink", "other") else "other")


def observation_from_record(record: Mapping[str, Any]) -> Observation | None:
    """An observation from one log record, or None when the record is not about a call the
    program was allowed to make.

    Learned records carry the observation itself (``"observation"``); other ``syscall``
    records (enforce or dry-run logs) are read back from their ``args``, so a policy can be
    learned from a ``--dry-run --log`` too.
    """
    if record.get("event") != "syscall":
        return None
    if record.get("result") not in ("permitted", "would-refuse"):
        return None
    table = str(record.get("table") or MAIN)
    if isinstance(record.get("observation"), Mapping):
        return Observation.from_json(table, record["observation"])
    syscall = record.get("syscall")
    if not isinstance(syscall, str):
        return None
    args = record.get("args") or {}
    if not isinstance(args, Mapping):
        return None
    paths = tuple(PathArg(role, str(args[role])) for role in ("path", "old", "new")
                  if isinstance(args.get(role), str))
    flags = _parse_flags(args["flags"]) if isinstance(args.get("flags"), str) else None
    address = args.get("address")
    addresses = [address] if isinstance(address, str) else (
        address if isinstance(address, list) else [])
    argv = args.get("argv")
    return Observation(table, syscall, paths, normalize_flags(flags),
                       tuple(_parse_address(str(a)) for a in addresses),
                       tuple(str(a) for a in argv) if isinstance(argv, list) else None)


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


@dataclass
class LearnReport:
    """A learned policy and what went into it (for the summary on stderr)."""

    policy: Policy
    observations: int = 0
    generalizations: list[Generalization] = field(default_factory=list)
    unrepresentable: list[Observation] = field(default_factory=list)
    unsafe: dict[str, int] = field(default_factory=dict)
    exact_sensitive: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Glob text


_GLOB_SPECIAL = frozenset("*?[]{}\\$")


def escape_glob(text: str) -> str:
    """A literal path as a path glob (every glob character escaped)."""
    return "".join("\\" + c if c in _GLOB_SPECIAL else c for c in text)


def _escape_argv(text: str) -> str:
    """A literal argument as an argv glob (fnmatch has no backslash escapes: use classes)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


class _Writer:
    """Turns component lists into pattern text, with ``~``/``$CWD``/``$TMPDIR`` prefixes."""

    def __init__(self, options: LearnOptions) -> None:
        ex = Expansions.from_env(options.env)
        self.expansions = ex
        self.home = ex.home.rstrip("/") if ex.home and ex.home.startswith("/") else None
        prefixes: list[tuple[str, str]] = []
        if options.generalize != "none":
            cwd = ex.cwd.rstrip("/") if ex.cwd and ex.cwd.startswith("/") else None
            tmp = ex.tmpdir.rstrip("/") if ex.tmpdir and ex.tmpdir.startswith("/") else None
            if cwd and len(_components(cwd)) >= 2 and cwd != self.home:
                prefixes.append((cwd, "$CWD"))
            if self.home and len(_components(self.home)) >= 1:
                prefixes.append((self.home, "~"))
            if tmp and len(_components(tmp)) >= 1:
                prefixes.append((tmp, "$TMPDIR"))
        # the longest directory wins (a cwd inside the home directory is $CWD)
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))
        self.tmpdirs = {"/tmp", "/var/tmp", "/dev/shm"} | ({ex.tmpdir.rstrip("/")}
                                                          if ex.tmpdir else set())

    def text(self, literal_path: str, parts: list[str] | None = None, tail: str = "",
             expand: bool = True) -> str:
        """``parts``: per component, glob text (already escaped) or None for literal."""
        comps = _components(literal_path)
        if parts is None:
            parts = [escape_glob(c) for c in comps]
        if expand:
            for directory, variable in self.prefixes:
                dcomps = _components(directory)
                if comps[:len(dcomps)] == dcomps and all(
                        p == escape_glob(c) for p, c in zip(parts, comps[:len(dcomps)],
                                                             strict=False)):
                    rest = parts[len(dcomps):]
                    return variable + "".join("/" + p for p in rest) + tail
        return "/" + "/".join(parts) + tail if parts else "/" + tail.lstrip("/")

    def glob(self, text: str) -> PathGlob:
        return PathGlob(text, expansions=self.expansions)


# ---------------------------------------------------------------------------------------------
# Path generalization


LIB_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32",
            "/usr/local/lib")
_SHARED_LIBRARY = re.compile(r".+\.so(\.[0-9][0-9.]*)?$")
#: Read-only data every program may read on another run with other settings (locale,
#: timezone, character sets, terminal descriptions): the whole tree is permitted.
DATA_TREES = (
    ("/usr/lib/locale", "locale data"), ("/usr/share/locale", "locale data"),
    ("/usr/share/locale-langpack", "locale data"), ("/usr/share/i18n", "locale data"),
    ("/usr/lib/x86_64-linux-gnu/gconv", "character set converters"),
    ("/usr/lib64/gconv", "character set converters"),
    ("/usr/lib/gconv", "character set converters"),
    ("/usr/share/zoneinfo", "timezone data"), ("/usr/share/terminfo", "terminal descriptions"),
    ("/lib/terminfo", "terminal descriptions"), ("/etc/terminfo", "terminal descriptions"),
    ("/usr/share/X11/locale", "locale data"),
)
_HEX_NAME = re.compile(r"[0-9a-f]{30,}")
_FANOUT = re.compile(r"[0-9a-f]{2}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_KNOWN_TEMP_PREFIXES = ("tmp_obj_", "tmp_pack_", "tmp_idx_", "sh-thd.", "sh-thd-", "pymp-",
                        "systemd-private-", "tmp", "cc")


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 5 and ext.isalnum():
        return stem, "." + ext
    return name, ""


def _random_looking(stem: str) -> bool:
    """A run of 6+ letters and digits that mixes them, or mixes case inside the run."""
    for run in _ALNUM_RUN.findall(stem):
        if len(run) < 6:
            continue
        has_digit = any(c.isdigit() for c in run)
        has_alpha = any(c.isalpha() for c in run)
        upper_inside = sum(c.isupper() for c in run[1:])
        if (has_digit and has_alpha) or (upper_inside >= 2 and any(c.islower() for c in run)):
            return True
    return False


def _template_tail(stem: str) -> bool:
    """mkstemp's shape: a short or separated prefix and 6 generated letters/digits."""
    if len(stem) < 7:
        return False
    prefix, tail = stem[:-6], stem[-6:]
    if not tail.isalnum() or not tail.isascii():
        return False
    return (len(prefix) <= 3 or prefix[-1] in "_.-"
            or any(c.isdigit() or c.isupper() for c in tail))


def _temp_component(name: str, in_tmpdir: bool, exclusive: bool, removed: bool) -> str | None:
    """The glob for a created name, when it looks generated; else None."""
    stem, ext = _split_ext(name)
    if in_tmpdir and len(stem) >= 6 and (exclusive or removed or _random_looking(stem)):
        # only a known template prefix is kept: a generated name may have none (Python's
        # tempfile probes its directory with 8 random characters), and guessing one from a
        # single run would make the next run's name miss the pattern
        for prefix in _KNOWN_TEMP_PREFIXES:
            if stem.startswith(prefix) and len(stem) - len(prefix) >= 5:
                return escape_glob(prefix) + "*" + escape_glob(ext)
        return "*" + escape_glob(ext)
    if exclusive and removed and _template_tail(stem):
        return escape_glob(stem[:-6]) + "*" + escape_glob(ext)
    return None


def _is_shared_library(parent: str, name: str) -> bool:
    """A library the dynamic loader (or an interpreter) may load on another run: a
    ``lib*.so*`` or any ``.so`` in a library directory proper (the multiarch directory, its
    glibc-hwcaps variants, Python's lib-dynload) -- not an interpreter's probe for an
    extension module in a package directory, which is the same on every run."""
    if not _SHARED_LIBRARY.fullmatch(name) or not any(
            parent == d or parent.startswith(d + "/") for d in LIB_DIRS):
        return False
    base = parent.rpartition("/")[2]
    return (name.startswith("lib") or parent in LIB_DIRS or base == "lib-dynload"
            or base.endswith("-linux-gnu") or "/glibc-hwcaps/" in parent)


@dataclass
class _Pattern:
    """One path use, generalized: ``text`` is the glob (``literal`` when it names exactly
    the one path), ``kind`` why it was widened (None: exact)."""

    text: str
    literal: bool
    kind: str | None = None


@dataclass
class _Context:
    """Facts across the whole run that generalizing one path needs."""

    options: LearnOptions
    writer: _Writer
    temp: dict[str, str] = field(default_factory=dict)   # created path -> its name's glob
    fanout: set[str] = field(default_factory=set)         # 2-hex directories of hash names

    @classmethod
    def build(cls, observations: list[Observation], options: LearnOptions) -> _Context:
        ctx = cls(options, _Writer(options))
        removed: set[str] = set()
        created: dict[str, bool] = {}
        for obs in observations:
            for arg in obs.paths:
                if obs.syscall in ("unlink", "unlinkat", "rmdir") or (
                        arg.role == "old" and obs.syscall.startswith("rename")):
                    removed.add(arg.path)
                if arg.role in obs.created:
                    created[arg.path] = created.get(arg.path, False) or obs.exclusive
                comps = _components(arg.path)
                for i in range(1, len(comps)):
                    if _FANOUT.fullmatch(comps[i - 1]) and _HEX_NAME.fullmatch(comps[i]):
                        ctx.fanout.add("/" + "/".join(comps[:i]))
        if options.generalize == "none":
            return ctx
        for path, exclusive in created.items():
            parent, _, name = path.rpartition("/")
            if not name or is_sensitive(path, ctx.writer.home):
                continue
            glob = _temp_component(name, (parent or "/") in ctx.writer.tmpdirs, exclusive,
                                   path in removed)
            if glob is not None:
                ctx.temp[path] = glob
        return ctx


_PSEUDO = re.compile(r"^(pipe|socket|anon_inode):")
_MEMFD = re.compile(r"^/?memfd:")


def _generalize_path(path: str, cls: str, ctx: _Context, data_rules: bool = True) -> _Pattern:
    """One resolved path to a pattern (see docs/learning.md for each rule)."""
    level = ctx.options.generalize
    writer = ctx.writer
    m = _PSEUDO.match(path)
    if m:
        return _Pattern(f"{m.group(1)}:*", False, "descriptors")
    if _MEMFD.match(path):
        return _Pattern("memfd:*", False, "descriptors")
    if level == "none" or is_sensitive(path, writer.home):
        return _Pattern(writer.text(path, expand=False), True)
    comps = _components(path)
    if cls == "fsread" and data_rules:
        for tree, kind in DATA_TREES:
            if path == tree or path.startswith(tree + "/"):
                return _Pattern(writer.text(tree, tail="/**"), False, kind)
        parent, _, name = path.rpartition("/")
        if _is_shared_library(parent, name):
            return _Pattern(writer.text(parent, tail="/*.so*"), False, "shared libraries")
    parts: list[str] = [escape_glob(c) for c in comps]
    kinds: list[str] = []
    if len(comps) >= 2 and comps[0] == "proc" and comps[1].isdigit():
        parts[1] = "*"
        if len(comps) >= 4 and comps[2] == "task" and comps[3].isdigit():
            parts[3] = "*"
        kinds.append("per-process /proc")
    if len(comps) == 3 and comps[:2] == ["dev", "pts"] and comps[2].isdigit():
        parts[2] = "*"
        kinds.append("terminals")
    prefix = ""
    for i, comp in enumerate(comps):
        prefix += "/" + comp
        temp = ctx.temp.get(prefix)
        if temp is not None:
            parts[i] = temp
            kinds.append("temporary names")
        elif _HEX_NAME.search(comp):
            parts[i] = _HEX_NAME.sub("*", escape_glob(comp))
            kinds.append("content hashes")
        elif prefix in ctx.fanout:
            parts[i] = "*"
            kinds.append("content hashes")
    literal = not kinds
    text = writer.text(path, parts)
    return _Pattern(text, literal, kinds[0] if kinds else None)


# ---------------------------------------------------------------------------------------------
# One table


@dataclass
class _PathUse:
    key: str          # the name the rule will carry: alias class, or the call with -u
    cls: str          # fsread / fswrite / exec
    path: str
    syscall: str
    argv: tuple[str, ...] | None
    initial: bool


@dataclass
class _TableData:
    name: str
    path_uses: list[_PathUse] = field(default_factory=list)
    net_uses: dict[tuple[str, str], set[SockAddr]] = field(default_factory=dict)
    plain: set[str] = field(default_factory=set)
    catch_all: set[str] = field(default_factory=set)
    listings: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
        if obs.listing is not None and obs.paths:
            data.listings[obs.paths[0].path] = obs.listing
        for facts in obs.all_facts():
            for cls, arg in facts.checks():
                key = facts.syscall if options.no_alias or cls is None else cls
                if arg is not None and cls in PATH_CLASSES:
                    if not _representable(arg.path):
                        report.unrepresentable.append(obs)
                        continue
                    data.path_uses.append(_PathUse(key, cls, arg.path, facts.syscall,
                                                   facts.argv, obs.initial))
                elif facts.syscall in _CATCH_ALL_CALLS and cls in ("net-connect", "net-bind"):
                    addr = facts.sockaddr
                    if addr is None or addr.family not in ("inet", "inet6", "unix"):
                        data.catch_all.add(facts.syscall)
                    else:
                        data.net_uses.setdefault((key, facts.syscall), set()).add(addr)
                else:
                    data.plain.add(facts.syscall)
    return tables


def _representable(path: str) -> bool:
    """Whether a path rule can match this path at all (the engine reports "" for an empty
    path and "fd:N" when it could not read a descriptor)."""
    return path.startswith("/") or bool(_PSEUDO.match(path)) or bool(_MEMFD.match(path))


class _Listings:
    """Which listed directories had every (non-hidden) entry looked at, for one rule key."""

    def __init__(self, listings: dict[str, tuple[str, ...]], touched: dict[str, set[str]]
                 ) -> None:
        self.listings = listings
        self.touched = touched
        self._complete: dict[str, bool] = {}
        self._deep: dict[str, bool] = {}

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
        """Complete, and so is every subdirectory that was looked into, all the way down."""
        if directory not in self._deep:
            self._deep[directory] = False  # a cycle (bind mounts) is not deep
            ok = self.complete(directory)
            for entry in self.listings.get(directory, ()) if ok else ():
                if entry.endswith("/") and entry.rstrip("/") in self.touched[directory]:
                    child = directory.rstrip("/") + "/" + entry.rstrip("/")
                    if child not in self.listings or not self.deep(child):
                        ok = False
                        break
            self._deep[directory] = ok
        return self._deep[directory]


def _listing_patterns(data: _TableData, uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                      ctx: _Context, report: LearnReport) -> dict[str, list[_Pattern]]:
    """A directory listed, then every (non-hidden) entry looked at: ``dir/*`` for the class
    used on the entries, ``dir/**`` when every subdirectory was treated the same way."""
    out: dict[str, list[_Pattern]] = defaultdict(list)
    if ctx.options.generalize == "none" or not data.listings:
        return out
    classes = ("fsread", "fswrite") if ctx.options.generalize == "broad" else ("fsread",)
    home = ctx.writer.home
    for key, uses in uses_by_key.items():
        touched: dict[str, set[str]] = defaultdict(set)
        for use, _ in uses:
            if use.cls not in classes or not use.path.startswith("/"):
                continue
            # every listed ancestor of the path: the entry of it the path goes through
            comps = _components(use.path)
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
            if _reaches_sensitive(directory, is_deep, home):
                report.exact_sensitive.append(directory)
                continue
            tail = "/**" if is_deep else "/*"
            if directory == "/":
                text = tail
            else:
                base = _generalize_path(directory, "dir", ctx, data_rules=False)
                text = base.text.rstrip("/") + tail
            out[key].append(_Pattern(text, False, "directory listings (every entry read)"))
    return out


def _broad_patterns(uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]],
                    ctx: _Context) -> None:
    """``--generalize broad``: system trees whole, and directories with 3+ exact reads."""
    home = ctx.writer.home
    for uses in uses_by_key.values():
        for i, (use, pattern) in enumerate(uses):
            comps = _components(use.path)
            if (use.cls == "fsread" and pattern.literal and len(comps) >= 4
                    and comps[0] == "usr" and comps[1] in ("lib", "lib64", "share", "libexec")):
                tree = "/" + "/".join(comps[:3])
                if not _reaches_sensitive(tree, True, home):
                    uses[i] = (use, _Pattern(ctx.writer.text(tree, tail="/**"), False,
                                             "system trees (broad)"))
        by_dir: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (use, pattern) in enumerate(uses):
            if pattern.literal and use.cls in ("fsread", "fswrite"):
                by_dir[(use.cls, use.path.rpartition("/")[0] or "/")].append(i)
        for (_cls, directory), indexes in by_dir.items():
            names = {uses[i][0].path for i in indexes}
            if len(names) < 3 or _reaches_sensitive(directory, False, home):
                continue
            text = ctx.writer.text(directory, tail="/*") if directory != "/" else "/*"
            for i in indexes:
                uses[i] = (uses[i][0], _Pattern(text, False, "directories with 3+ files (broad)"))


#: Aliases never permitted whole from a few members: their calls carry what rules decide on.
_NEVER_WHOLE = frozenset({"exec", "fsread", "fswrite", "net-connect", "net-bind", "privilege"})
_SHELLS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "mksh", "ash", "busybox"})


def _argv_conditions(uses: list[tuple[_PathUse, _Pattern]], level: str
                     ) -> dict[str, list[tuple[str, ...]]]:
    """exec path -> argv globs, where an argv condition is useful: every exec in ``none``;
    in ``safe``, shells run with ``-c`` (the command they may run is then written down)."""
    variants: dict[str, set[tuple[str, ...] | None]] = defaultdict(set)
    for use, pattern in uses:
        if use.cls == "exec" and pattern.literal and not use.initial:
            variants[use.path].add(use.argv)
        elif use.cls == "exec":
            variants[use.path].add(None)
    out: dict[str, list[tuple[str, ...]]] = {}
    for path, seen in variants.items():
        if None in seen or level == "broad":
            continue
        argvs = sorted(a for a in seen if a is not None)
        if level == "safe":
            shell = os.path.basename(path) in _SHELLS
            if not shell or not all("-c" in a[1:3] for a in argvs) or len(argvs) > 8:
                continue
        out[path] = [tuple(_escape_argv(x) for x in a) for a in argvs]
    return out


_KEY_ORDER = {"exec": 0, "fsread": 1, "fswrite": 2, "net-connect": 4, "net-bind": 5}


def _key_rank(name: str) -> tuple[int, str]:
    if name in _KEY_ORDER:
        return (_KEY_ORDER[name], name)
    if name in aliases.ALIASES.get("exec", ()):
        return (0, name)
    if name in aliases.ALIASES["fsread"] or name in aliases.ALIASES["fswrite"]:
        return (3, name)
    if name in aliases.ADDRESS_CALLS:
        return (4, name)
    return (6, name)


SENSITIVE_COMMENT = "learned: a sensitive location (kept exact; check that it is needed)"
_EXAMPLES = 3
_PSEUDO_TEXT = ("pipe:", "socket:", "anon_inode:", "memfd:")
#: Longest pattern text compaction makes (longer groups are split into several rules).
_COMPACT_WIDTH = 400


def _brace_escape(text: str) -> str:
    """Glob text made safe inside ``{...}`` (a comma there separates alternatives)."""
    return text.replace(",", "\\,")


def _common_suffix(names: Sequence[str]) -> str:
    """The longest ``.ext`` ending every name shares (``.cpython-311.pyc``), if any."""
    first = names[0]
    for i, c in enumerate(first):
        if c != ".":
            continue
        suffix = first[i:]
        if all(n.endswith(suffix) and len(n) > len(suffix) for n in names):
            return suffix
    return ""


def _brace(names: Sequence[str]) -> list[str]:
    """``{a,b,c}.ext`` texts for names of one directory, split to stay readable."""
    suffix = _common_suffix(names)
    chunks: list[list[str]] = [[]]
    for name in names:
        stem = _brace_escape(name[:len(name) - len(suffix)])
        if chunks[-1] and sum(len(c) + 1 for c in chunks[-1]) + len(stem) > _COMPACT_WIDTH:
            chunks.append([])
        chunks[-1].append(stem)
    return ["{" + ",".join(c) + "}" + suffix if len(c) > 1 else c[0] + suffix for c in chunks]


def _compact(entries: list[tuple[tuple[str, ...], str]]) -> list[tuple[tuple[str, ...], str]]:
    """Exact path rules of the same calls, written as fewer rules with the same meaning:
    names of one directory as ``dir/{a,b}``, and directories holding the same names as
    ``{d1,d2}/{a,b}`` (the shell's $PATH search).  No path is added or lost."""
    by_parent: dict[tuple[tuple[str, ...], str], list[str]] = defaultdict(list)
    out: list[tuple[tuple[str, ...], str]] = []
    for calls, text in entries:
        parent, sep, name = text.rpartition("/")
        if not sep or not name:
            out.append((calls, text))
            continue
        by_parent[(calls, parent)].append(name)
    by_names: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for (calls, parent), names in by_parent.items():
        if len(names) == 1:
            out.append((calls, f"{parent}/{names[0]}"))
        else:
            by_names[(calls, tuple(sorted(set(names))))].append(parent)
    for (calls, names), parents in by_names.items():
        tails = _brace(names)
        head = "{" + ",".join(_brace_escape(p) for p in sorted(parents)) + "}"
        if (len(parents) > 1 and "" not in parents and len(tails) == 1
                and len(head) + len(tails[0]) <= _COMPACT_WIDTH
                and len(parents) * len(names) <= 512):
            out.append((calls, f"{head}/{tails[0]}"))
            continue
        for parent in sorted(parents):
            out += [(calls, f"{parent}/{tail}") for tail in tails]
    return out


def _glob_covers(wide: str, narrow: str) -> bool:
    """Whether pattern text ``wide`` matches everything ``narrow`` does, as far as the
    learner's own shapes go (``D/**`` covers anything below D, ``D/*`` any one name in D)."""
    if wide.endswith("/**"):
        top = wide[:-3]
        return narrow == top or narrow.startswith(top + "/")
    if wide.endswith("/*"):
        parent, _, last = narrow.rpartition("/")
        return parent == wide[:-2] and last != "**"
    return False


def _comment(kind: str, count: int) -> str:
    return f"learned: {kind} ({count} path{'s' if count != 1 else ''} seen)"


def _table_rules(data: _TableData, ctx: _Context, report: LearnReport) -> list[Rule]:
    options = ctx.options
    uses_by_key: dict[str, list[tuple[_PathUse, _Pattern]]] = defaultdict(list)
    for use in data.path_uses:
        uses_by_key[use.key].append((use, _generalize_path(use.path, use.cls, ctx)))
    extra = _listing_patterns(data, uses_by_key, ctx, report)
    if options.generalize == "broad":
        _broad_patterns(uses_by_key, ctx)

    # patterns per key; drop what a wider pattern of the same key already covers
    by_text: dict[tuple[str, tuple[str, ...] | None], set[str]] = defaultdict(set)
    kinds: dict[str, str | None] = {}
    examples: dict[str, list[str]] = defaultdict(list)   # a few, for the summary
    covered: dict[str, set[str]] = defaultdict(set)      # every path a pattern stands for
    made: dict[str, int] = defaultdict(int)
    sensitive: set[str] = set()
    for key, uses in uses_by_key.items():
        exec_argv = _argv_conditions(uses, options.generalize) if (
            key == "exec" or key in aliases.EXEC_CALLS) else {}
        wide = [p for _, p in uses if not p.literal] + extra.get(key, [])
        globs = {p.text: ctx.writer.glob(p.text) for p in wide}
        for p in wide:
            kinds.setdefault(p.text, p.kind)
        kept = [t for t in globs if not any(w != t and _glob_covers(w, t) for w in globs)]
        for text in kept:
            by_text[(text, None)].add(key)
        for use, pattern in uses:
            cover = pattern.text if pattern.text in kept else next(
                (g for g in kept if globs[g].matches(use.path)), None)
            if cover is not None:
                if use.path not in covered[cover]:
                    covered[cover].add(use.path)
                    # the paths that made the pattern come first, then others it covers
                    if pattern.text == cover:
                        examples[cover].insert(made[cover], use.path)
                        made[cover] += 1
                    else:
                        examples[cover].append(use.path)
                    del examples[cover][_EXAMPLES:]
                continue
            if not pattern.literal:  # a pattern dropped for a wider one that misses this path
                by_text[(pattern.text, None)].add(key)
                continue
            if is_sensitive(use.path, ctx.writer.home):
                sensitive.add(pattern.text)
                if use.path not in report.exact_sensitive:
                    report.exact_sensitive.append(use.path)
            argvs = exec_argv.get(use.path)
            for argv in argvs or [None]:
                by_text[(pattern.text, argv)].add(key)
    rules: list[tuple[tuple[Any, ...], Rule]] = []
    literal: list[tuple[tuple[str, ...], str]] = []
    for (text, argv), keys in list(by_text.items()):
        if argv is None and text in sensitive:
            rules.append(((_key_rank(min(keys, key=_key_rank)), text, ()), FileRule(
                tuple(sorted(keys, key=_key_rank)), Action.PERMIT,
                path=ctx.writer.glob(text), comment=SENSITIVE_COMMENT)))
            del by_text[(text, argv)]
        elif argv is None and text not in kinds and not text.startswith(_PSEUDO_TEXT):
            literal.append((tuple(sorted(keys, key=_key_rank)), text))
            del by_text[(text, argv)]
    for calls, text in _compact(literal):
        rules.append(((_key_rank(calls[0]), text.lstrip("{"), ()),
                      FileRule(calls, Action.PERMIT, path=ctx.writer.glob(text))))
    for (text, argv), keys in by_text.items():
        calls = tuple(sorted(keys, key=_key_rank))
        kind = kinds.get(text) if argv is None else None
        comment = None
        if kind is not None:
            count = len(covered[text])
            comment = _comment(kind, count)
            report.generalizations.append(Generalization(
                data.name, kind, text, calls, count, tuple(examples[text][:3])))
        rule = FileRule(calls, Action.PERMIT, path=ctx.writer.glob(text),
                        argv=ArgvCondition(argv) if argv is not None else None,
                        comment=comment)
        rules.append(((_key_rank(calls[0]), text, argv or ()), rule))

    # network: one rule per (call key, host) with its ports, one per unix path pattern
    for (key, _syscall), addrs in data.net_uses.items():
        ports: dict[str, set[int]] = defaultdict(set)
        unix: set[str] = set()
        for addr in addrs:
            if addr.family == "unix":
                path = addr.path or ""
                if path.startswith("@") or path == "":
                    unix.add(path)
                else:
                    unix.add(_generalize_path(path, "net", ctx, data_rules=False).text)
            else:
                ports[str(addr.host)].add(int(addr.port or 0))
        for host, port_set in ports.items():
            port_list = sorted(port_set)
            net = NetCondition(address=host, port=port_list[0] if len(port_list) == 1
                               else port_list)
            rules.append(((_key_rank(key), f"{key} {host}", ()), FileRule(
                (key,), Action.PERMIT, net=net)))
        for text in sorted(unix):
            net = NetCondition(unix=text, env=options.env)
            rules.append(((_key_rank(key), f"{key} unix {text}", ()), FileRule(
                (key,), Action.PERMIT, net=net)))
    _merge_same_conditions(rules)

    # calls without arguments, grouped
    groups: dict[str, set[str]] = defaultdict(set)
    for syscall in data.plain:
        group = next(iter(sorted(aliases.aliases_of(syscall))), "")
        groups[group].add(syscall)
    plain_rules: list[tuple[tuple[Any, ...], Rule]] = []
    whole: list[str] = []
    for group, members in groups.items():
        use_alias = bool(group) and not options.no_alias and group not in _NEVER_WHOLE and (
            options.generalize == "broad"
            or (options.generalize != "none" and group in SAFE_WHOLE_ALIASES))
        if use_alias:
            whole.append(group)
            continue
        plain_rules.append(((7, group or "~"), FileRule(
            tuple(sorted(members)), Action.PERMIT,
            comment=f"{group} calls" if group and options.generalize != "none" else None)))
    if whole:
        plain_rules.append(((7, ""), FileRule(tuple(sorted(whole, key=_group_rank)),
                                              Action.PERMIT)))
    plain_rules.sort(key=lambda item: item[0])
    rules.sort(key=lambda item: item[0])
    out = [r for _, r in rules] + [r for _, r in plain_rules]

    # no address, or an address no condition can name: permitted after refusing every address
    if data.catch_all:
        calls = tuple(sorted(data.catch_all))
        out.append(FileRule(calls, options.default, net=NetCondition(address=_ANY_IP),
                            comment="learned: any other IP address"))
        out.append(FileRule(calls, options.default, net=NetCondition(unix=_ANY_UNIX),
                            comment="learned: any other unix socket"))
        out.append(FileRule(calls, Action.PERMIT,
                            comment="learned: connected sockets (no address) and netlink"))
    return out


def _group_rank(name: str) -> tuple[int, str]:
    return (0 if name == "stdio" else 1, name)


def _merge_same_conditions(rules: list[tuple[tuple[Any, ...], Rule]]) -> None:
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
            rules[j] = (min(rules[j][0], rank), dataclasses.replace(old, calls=calls))
            del rules[i]
            continue
        seen[key] = i
        i += 1


def _condition_key(rule: Rule) -> tuple[Any, ...]:
    return (rule.action, rule.errno if rule.action is not Action.PERMIT else 0,
            rule.path.pattern if rule.path is not None else None,
            tuple(sorted((k, repr(v)) for k, v in rule.net.describe().items()))
            if rule.net is not None else None,
            tuple(rule.argv.patterns) if rule.argv is not None else None,
            str(rule.redirect) if rule.redirect is not None else None)


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
        key = name if is_literal(name) else escape_glob(name)
        table = Table(key, options.default, rules=_numbered(rules))
        policy.programs[key] = table
        if not is_literal(key):
            policy.program_patterns[key] = PathGlob(key, expansions=ctx.writer.expansions)
    report.policy = policy
    return report


def decide_observation(policy: Policy, obs: Observation) -> Decision:
    """How ``policy`` decides an observation (its table by name; "main" for the main one)."""
    table = policy.main if obs.table == MAIN else policy.programs.get(obs.table) or (
        policy.table_for(obs.table) or policy.main)
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
    """One of the learner's "any other address" rules (see docs/learning.md)."""
    if rule.action is Action.PERMIT or rule.net is None or rule.path is not None:
        return False
    described = rule.net.describe()
    return described.get("address") == _ANY_IP or described.get("unix") == _ANY_UNIX


def _is_catch_all(rule: Rule) -> bool:
    """An unconditional permit of calls that carry addresses: must stay after the barriers."""
    return (rule.action is Action.PERMIT and not rule.conditional and rule.redirect is None
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
                and old.path.matches(literal_path)):
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


def merge_rules(policy: Policy, table_name: str, rules: Iterable[Rule], *,
                position: str = "end", env: Mapping[str, str] | None = None,
                default: Action | None = None) -> Policy:
    """A copy of ``policy`` with ``rules`` added to one table; the original is not changed.

    ``table_name`` is "main" or a program path (a missing program table is created, with the
    main table's default, or ``default``).  Rules the table already has (or covers with a
    wider rule of the same action) are skipped.  ``position``: "end" (learning: a person's
    own rules stay first and keep deciding) or "start" (an interactive answer: it was given
    for a call the existing rules did not settle, and the supervisor applies it first).
    Learned "any other address" rules and the permits after them keep their order.
    """
    if position not in ("start", "end"):
        raise ValueError("position is 'start' or 'end'")
    main = _copy_table(policy.main)
    programs = {k: _copy_table(t) for k, t in policy.programs.items()}
    out = Policy(main, programs, dict(policy.program_patterns), policy.source,
                 policy.description)
    if table_name == MAIN:
        table = main
    else:
        table = programs.get(table_name)
        if table is None:
            table = Table(table_name, default or policy.main.default,
                          policy.main.default_errno, allow_detach=policy.main.allow_detach)
            programs[table_name] = table
            if not is_literal(table_name):
                out.program_patterns[table_name] = PathGlob(table_name, env)
    current = list(table.rules)
    added_front = 0
    for rule in rules:
        if _covered(current, rule, env, position):
            continue
        if _is_catch_all(rule):
            where = len(current)
        elif _is_barrier(rule):
            where = next((i for i, r in enumerate(current) if _is_catch_all(r)), len(current))
        elif position == "start":
            where = added_front
            added_front += 1
        else:
            where = next((i for i, r in enumerate(current)
                          if _is_barrier(r) or _is_catch_all(r)), len(current))
        current.insert(where, rule)
    table.rules = _numbered(current)
    return out


def _copy_table(table: Table) -> Table:
    return Table(table.name, table.default, table.default_errno, list(table.rules),
                 table.location, table.description, table.allow_detach)


def merge_policies(base: Policy, learned: Policy, env: Mapping[str, str] | None = None
                   ) -> Policy:
    """``base`` widened by everything ``learned`` permits (``--merge``): each learned table's
    rules merged into the table of the same name, new program tables added."""
    out = base
    for table in learned.tables():
        out = merge_rules(out, table.name, table.rules, env=env, default=table.default)
    if out.description is None:
        out.description = learned.description
    return out


# ---------------------------------------------------------------------------------------------
# Rules for one call (the interactive front end's "always" answers)


def suggest_patterns(path: str, env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Ways to widen one path, narrowest first, as (label, glob): the file, its directory's
    entries, the directory tree -- and none that reach a sensitive location (a sensitive
    path is offered only exactly)."""
    writer = _Writer(LearnOptions(env=env))
    if not path.startswith("/") or is_sensitive(path, writer.home):
        return [("this file", writer.text(path, expand=False))]
    out = [("this file", writer.text(path))]
    parent = path.rpartition("/")[0] or "/"
    if parent != "/" and not _reaches_sensitive(parent, False, writer.home):
        out.append((f"everything in {parent}", writer.text(parent, tail="/*")))
    if parent != "/" and not _reaches_sensitive(parent, True, writer.home):
        out.append((f"everything below {parent}", writer.text(parent, tail="/**")))
    return out


def rules_for_facts(facts: CallFacts, action: Action, *, pattern: str | None = None,
                    errno: int = errno_module.EPERM, no_alias: bool = False,
                    env: Mapping[str, str] | None = None, comment: str | None = None
                    ) -> list[Rule]:
    """The rules that decide one call as ``action`` from now on, in the learned style.

    A path call gets one rule per alias class it is checked under (an O_RDWR open: fsread
    and fswrite), with ``pattern`` (default: the exact path) as its ``path``; an address
    call a rule on its address; anything else an unconditional rule on the call (or its
    alias, when the alias is one of the harmless whole groups).  ``no_alias`` names the
    system call instead of the alias (``-u``).
    """
    writer = _Writer(LearnOptions(env=env))
    errno_value = errno if action is not Action.PERMIT else errno_module.EPERM
    out: list[Rule] = []
    seen: set[tuple[Any, ...]] = set()
    for cls, arg in facts.checks():
        key = facts.syscall if no_alias or cls is None else cls
        if arg is not None and cls in PATH_CLASSES and _representable(arg.path):
            text = pattern if pattern is not None else _generalize_path(
                arg.path, cls, _Context(LearnOptions(generalize="none", env=env), writer)).text
            rule = FileRule((key,), action, errno_value, path=writer.glob(text),
                            comment=comment)
        elif facts.syscall in aliases.ADDRESS_CALLS and facts.sockaddr is not None and (
                facts.sockaddr.family in ("inet", "inet6", "unix")):
            addr = facts.sockaddr
            net = (NetCondition(unix=escape_glob(addr.path or "") if not (
                addr.path or "").startswith("@") else addr.path, env=env)
                if addr.family == "unix" else NetCondition(address=addr.host, port=addr.port))
            rule = FileRule((key,), action, errno_value, net=net, comment=comment)
        else:
            name = facts.syscall if no_alias or cls not in SAFE_WHOLE_ALIASES else cls
            rule = FileRule((name,), action, errno_value, comment=comment)
        ident = (rule.calls, _condition_key(rule))
        if ident not in seen:
            seen.add(ident)
            out.append(rule)
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
        merged: dict[tuple[str, str, tuple[str, ...]], list[Generalization]] = defaultdict(list)
        for g in report.generalizations:
            merged[(g.kind, g.pattern, g.calls)].append(g)
        for (kind, pattern, calls), items in merged.items():
            count = sum(g.count for g in items)
            where = (f" in {len(items)} tables" if len(items) > 1 else
                     "" if items[0].table == MAIN else f" in table {items[0].table}")
            example = next((g.examples[0] for g in items if g.examples), None)
            lines.append(f"  {kind}: {'/'.join(calls)} {pattern} ({count} "
                         f"path{'s' if count != 1 else ''}{where}"
                         f"{', e.g. ' + example if example else ''})")
    else:
        lines.append("generalized: nothing (every path is written exactly)")
    if report.exact_sensitive:
        shown = sorted(set(report.exact_sensitive))
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        lines.append("kept exact (sensitive, review them): " + ", ".join(shown[:5]) + more)
    if report.unsafe:
        names = ", ".join(f"{k} x{v}" for k, v in sorted(report.unsafe.items()))
        lines.append(f"refused while learning, not in the policy (unsafe calls): {names}")
    if report.unrepresentable:
        names = sorted({o.syscall for o in report.unrepresentable})
        lines.append(f"not representable by a rule (empty or unreadable path): "
                     f"{len(report.unrepresentable)} call(s) of {', '.join(names)}")
    return lines


def _rule_group(rule: Rule) -> str:
    first = rule.calls[0]
    if rule.net is not None and rule.action is not Action.PERMIT:
        return "any-other-address"
    if first in aliases.ALIASES:
        return first
    groups = sorted(aliases.aliases_of(first))
    return groups[0] if groups else "other"
