"""The generalizations the prompt offers for a remembered answer, and the rules they make.

Pure: no terminal, no ptrace.  Given the facts of one asked call, :func:`offers_for` lists the
scopes a rule could have, narrowest first -- for a path: the file itself, a glob for a
generated (temporary) name, the files with the same extension, the directory's entries, the
tree below it, everything below ``$CWD`` or the home directory, any path; for a socket
address: this address and port, this host, this port, any address; for an exec: also "this
program with exactly these arguments".  :func:`build_rule` turns the chosen one into a
:class:`~systrace_py.policy.model.Rule` written the way the learner writes rules (aliases,
``~``/``$CWD``/``$TMPDIR`` prefixes), so a remembered answer saved into the policy file reads
like the rest of it.

Offers that would cover a sensitive location (``~/.ssh``, ``/etc/shadow``... the learner's
list) are marked, so the prompt can say so before a person permits a whole home directory.
"""

from __future__ import annotations

import errno as errno_module
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from systrace_py.policy import aliases
from systrace_py.policy.argv import ArgvCondition
from systrace_py.policy.files import FileRule
from systrace_py.policy.glob import Expansions, GlobError, PathGlob, escape
from systrace_py.policy.learn import HOME_SENSITIVE, SYSTEM_SENSITIVE, is_sensitive
from systrace_py.policy.model import Action, CallFacts, Location, Rule, Table
from systrace_py.policy.net import NetCondition, NetConditionError

__all__ = [
    "ANSWER_LOCATION",
    "Offer",
    "OfferError",
    "asking_classes",
    "build_rule",
    "covers_sensitive",
    "custom_offer",
    "offers_for",
    "resolve_scope",
    "rule_calls",
    "subject_of",
    "temp_glob",
]

#: Where rules made from answers say they come from (logs and prompts show it).
ANSWER_LOCATION = "<answer>"

_PSEUDO = re.compile(r"^(pipe|socket|anon_inode):")
_MEMFD = re.compile(r"^/?memfd:(?P<name>.*?)(?: \(deleted\))?$", re.DOTALL)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
#: Prefixes programs put before a generated part (mkstemp templates, Python's tempfile...).
_TEMP_PREFIXES = ("tmp_obj_", "tmp_pack_", "tmp_idx_", "sh-thd.", "sh-thd-", "pymp-",
                  "systemd-private-", "tmp", "cc")


class OfferError(ValueError):
    """A scope that cannot be used for this request; the message says why."""


@dataclass(frozen=True, slots=True)
class Offer:
    """One scope for a remembered rule.

    ``key`` is the word a person types (``file``, ``dir``...), ``label`` what it means in
    words.  The condition is one of: ``pattern`` (a path glob, as it will be saved),
    ``address``/``port`` or ``unix`` (a socket address), ``argv`` (with ``pattern``: an exec
    with exactly these arguments), or none at all (``any``: the call whatever its arguments).
    ``sensitive``: the scope covers a sensitive location.
    """

    key: str
    label: str
    pattern: str | None = None
    address: str | None = None
    port: int | None = None
    unix: str | None = None
    argv: tuple[str, ...] | None = None
    sensitive: bool = False

    @property
    def shown(self) -> str:
        """The condition as one short text for the prompt."""
        if self.argv is not None:
            return f"{self.pattern} {shlex.join(self.argv[1:])}".rstrip() if self.pattern \
                else shlex.join(self.argv)
        if self.pattern is not None:
            return self.pattern
        if self.unix is not None:
            return f"unix:{self.unix}" if self.unix else "unix:(unnamed)"
        if self.address is not None and self.port is not None:
            return f"[{self.address}]:{self.port}" if ":" in self.address \
                else f"{self.address}:{self.port}"
        if self.address is not None:
            return f"{self.address}, any port"
        if self.port is not None:
            return f"any address, port {self.port}"
        return "any"


# ---------------------------------------------------------------------------------------------
# What a request is about


def subject_of(facts: CallFacts, role: str | None) -> tuple[str, str | None]:
    """What the call's arguments offer to generalize: ("path", path), ("net", None),
    ("unix", path) or ("none", None)."""
    if role is not None:
        path = facts.path(role)
        if path:
            return "path", path
    if facts.paths:
        first = facts.paths[0].path
        if first:
            return "path", first
    addr = facts.sockaddr
    if addr is not None and facts.syscall in aliases.ADDRESS_CALLS:
        if addr.family in ("inet", "inet6") and addr.host is not None:
            return "net", None
        if addr.family == "unix" and addr.path is not None:
            return "unix", addr.path
    return "none", None


# ---------------------------------------------------------------------------------------------
# Writing paths the learner's way


class _Writer:
    """Literal paths as glob text, below ``$CWD``, ``~`` or ``$TMPDIR`` written with it
    (the longest prefix wins), as :mod:`systrace_py.policy.learn` writes them."""

    def __init__(self, expansions: Expansions) -> None:
        self.expansions = expansions
        home = _absolute(expansions.home)
        cwd = _absolute(expansions.cwd)
        tmp = _absolute(expansions.tmpdir)
        self.home = home
        self.cwd = cwd
        prefixes: list[tuple[str, str]] = []
        if cwd and len(_components(cwd)) >= 2 and cwd != home:
            prefixes.append((cwd, "$CWD"))
        if home and _components(home):
            prefixes.append((home, "~"))
        if tmp and _components(tmp):
            prefixes.append((tmp, "$TMPDIR"))
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))

    def text(self, directory: str, tail: str = "") -> str:
        """``directory`` (literal, absolute) escaped, with a variable prefix, then ``tail``
        (glob text starting with ``/``, or empty)."""
        for prefix, variable in self.prefixes:
            if directory == prefix or directory.startswith(prefix + "/"):
                return variable + escape(directory[len(prefix):]) + tail
        return (escape(directory) if directory != "/" else "") + tail or "/"

    def glob(self, text: str) -> PathGlob:
        return PathGlob(text, expansions=self.expansions)


def _absolute(path: str | None) -> str | None:
    if path and path.startswith("/"):
        return path.rstrip("/") or "/"
    return None


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 5 and ext.isalnum():
        return stem, "." + ext
    return name, ""


def _random_run(run: str) -> bool:
    """A run of 6+ letters and digits that mixes them, or mixes case inside it."""
    if len(run) < 6:
        return False
    has_digit = any(c.isdigit() for c in run)
    has_alpha = any(c.isalpha() for c in run)
    upper_inside = sum(c.isupper() for c in run[1:])
    return (has_digit and has_alpha) or (upper_inside >= 2 and any(c.islower() for c in run))


def temp_glob(name: str) -> str | None:
    """A glob for a generated file name (``tmpa8Xk2q.txt`` -> ``tmp*.txt``,
    ``build-1f3e9a7c.log`` -> ``build-*.log``, ``x.12345`` -> ``x.*``), or None when nothing
    in the name looks generated."""
    stem, ext = _split_ext(name)
    for prefix in _TEMP_PREFIXES:
        if stem.startswith(prefix) and len(stem) - len(prefix) >= 5 and (
                _random_run(stem[len(prefix):]) or (stem[len(prefix):].isalnum()
                                                     and len(stem) - len(prefix) >= 6)):
            return escape(prefix) + "*" + escape(ext)
    runs = list(_ALNUM_RUN.finditer(stem))
    for m in reversed(runs):
        run = m.group()
        if _random_run(run) or (run.isdigit() and len(run) >= 4 and m.start() > 0):
            head = stem[:m.start()]
            if not head and m.end() == len(stem):
                return None  # the whole stem: that is the extension or directory offer
            return escape(head) + "*" + escape(stem[m.end():]) + escape(ext)
    if ext and (_random_run(ext[1:]) or (ext[1:].isdigit() and len(ext) > 3)):
        return escape(stem) + ".*"
    return None


# ---------------------------------------------------------------------------------------------
# Sensitive locations


def _sensitive_samples(home: str | None) -> tuple[str, ...]:
    """Concrete sensitive paths (and one name below each) to test a glob against."""
    homes = {"/root", "/home/user"}
    if home:
        homes.add(home)
    samples: list[str] = []
    for location in SYSTEM_SENSITIVE:
        samples.append(location.replace("*", "1"))
    for h in sorted(homes):
        samples.extend(f"{h}/{rel}" for rel in HOME_SENSITIVE)
    return tuple(samples + [s + "/x" for s in samples])


def covers_sensitive(pattern: str | None, expansions: Expansions) -> bool:
    """Whether a path glob (None: any path) matches a sensitive location or below one."""
    if pattern is None:
        return True
    try:
        glob = PathGlob(pattern, expansions=expansions)
    except GlobError:
        return False
    return any(glob.matches(s) for s in _sensitive_samples(_absolute(expansions.home)))


# ---------------------------------------------------------------------------------------------
# The offers


def offers_for(facts: CallFacts, role: str | None,
               env: Mapping[str, str] | None = None, *,
               expansions: Expansions | None = None) -> list[Offer]:
    """The scopes for a rule remembered from an answer to this call, narrowest first.

    The first offer is always the exact argument (the default scope); the last is ``any``.
    Keys are unique, so a person can type one.
    """
    ex = expansions or Expansions.from_env(env)
    kind, subject = subject_of(facts, role)
    out: list[Offer] = []
    if kind == "path" and subject is not None:
        out = _path_offers(subject, facts, ex)
    elif kind == "net":
        out = _net_offers(facts)
    elif kind == "unix" and subject is not None:
        out = _unix_offers(subject, ex)
    if not out or out[-1].key != "any":
        out.append(Offer("any", _any_label(facts, kind), sensitive=kind in ("path",)))
    return out


def _any_label(facts: CallFacts, kind: str) -> str:
    if kind == "path":
        return "any path"
    if kind in ("net", "unix"):
        return "any address"
    return f"every {facts.syscall} call"


def _path_offers(path: str, facts: CallFacts, ex: Expansions) -> list[Offer]:
    m = _PSEUDO.match(path)
    if m:
        return [Offer("file", f"every {m.group(1)} descriptor", pattern=f"{m.group(1)}:*")]
    m = _MEMFD.match(path)
    if m:
        name = m.group("name")
        named = [Offer("file", f"the memfd {name}", pattern="memfd:" + escape(name))] if name \
            else []
        return [*named, Offer("kind", "every memfd", pattern="memfd:*")]
    if not path.startswith("/"):
        return []
    writer = _Writer(ex)
    parent, _, name = path.rpartition("/")
    parent = parent or "/"
    candidates: list[tuple[str, str, str | None]] = [("file", "this file", writer.text(path))]
    if facts.argv is not None and facts.syscall in aliases.EXEC_CALLS:
        candidates.append(("argv", "this program with exactly these arguments",
                           writer.text(path)))
    if parent != "/":
        generated = temp_glob(name)
        if generated is not None:
            candidates.append(("temp", f"generated names like {name} in {parent}",
                               writer.text(parent, "/" + generated)))
        ext = _split_ext(name)[1]
        if ext:
            candidates.append(("ext", f"every *{ext} file in {parent}",
                               writer.text(parent, "/*" + escape(ext))))
        candidates.append(("dir", f"everything in {parent}", writer.text(parent, "/*")))
        candidates.append(("tree", f"everything below {parent}", writer.text(parent, "/**")))
    for directory, key, variable in ((writer.cwd, "cwd", "$CWD"), (writer.home, "home", "~")):
        if directory and directory != "/" and path.startswith(directory + "/"):
            candidates.append((key, f"everything below {variable} ({directory})",
                               f"{variable}/**"))
    itself = is_sensitive(path, writer.home)
    out: list[Offer] = []
    seen: set[str] = set()
    for key, label, pattern in candidates:
        assert pattern is not None
        if key != "argv":
            if pattern in seen:
                continue
            seen.add(pattern)
        argv = tuple(facts.argv) if key == "argv" and facts.argv is not None else None
        out.append(Offer(key, label, pattern=pattern, argv=argv,
                         sensitive=itself or covers_sensitive(pattern, ex)))
    return out


def _net_offers(facts: CallFacts) -> list[Offer]:
    addr = facts.sockaddr
    assert addr is not None and addr.host is not None
    host = addr.host
    out = []
    if addr.port is not None:
        out.append(Offer("addr", "this address and port", address=host, port=addr.port))
    out.append(Offer("host", f"{host}, any port", address=host))
    if addr.port is not None:
        out.append(Offer("port", f"port {addr.port} of any address", port=addr.port))
    return out


def _unix_offers(path: str, ex: Expansions) -> list[Offer]:
    if path == "":
        return [Offer("file", "unnamed unix sockets", unix="")]
    if path.startswith("@"):
        if "*" in path or "?" in path:
            return []
        return [Offer("file", f"the abstract socket {path}", unix=path)]
    writer = _Writer(ex)
    out = [Offer("file", "this socket", unix=writer.text(path))]
    parent = path.rpartition("/")[0] or "/"
    if parent != "/":
        out.append(Offer("dir", f"every socket in {parent}", unix=writer.text(parent, "/*")))
    return out


def custom_offer(text: str, facts: CallFacts, role: str | None,
                 env: Mapping[str, str] | None = None, *,
                 expansions: Expansions | None = None) -> Offer:
    """A scope a person typed as a glob: it must compile and match the path asked about
    (a rule that would not cover this very call is almost certainly a typo)."""
    ex = expansions or Expansions.from_env(env)
    kind, subject = subject_of(facts, role)
    if kind not in ("path", "unix") or subject is None:
        raise OfferError("a glob of your own is for paths; this call has none (use one of "
                         "the offered scopes)")
    try:
        glob = PathGlob(text, expansions=ex)
    except GlobError as exc:
        raise OfferError(f"bad glob: {exc}") from None
    if not glob.matches(subject):
        raise OfferError(f"{text} does not match {subject}, the path asked about")
    if kind == "unix":
        return Offer("custom", "your glob", unix=text)
    return Offer("custom", "your glob", pattern=text, sensitive=covers_sensitive(text, ex))


def resolve_scope(scope: str | None, offers: Sequence[Offer], facts: CallFacts,
                  role: str | None, env: Mapping[str, str] | None = None, *,
                  expansions: Expansions | None = None) -> Offer:
    """The offer a typed scope names: None (the first, narrowest), a number from 1, a key,
    or a glob of the person's own."""
    if scope is None:
        return offers[0]
    if scope.isdigit():
        number = int(scope)
        if not 1 <= number <= len(offers):
            raise OfferError(f"no scope {number}: choose 1 to {len(offers)}")
        return offers[number - 1]
    for offer in offers:
        if offer.key == scope:
            return offer
    from systrace_py.ui.answers import looks_like_pattern

    if looks_like_pattern(scope):
        return custom_offer(scope, facts, role, env, expansions=expansions)
    keys = ", ".join(o.key for o in offers)
    raise OfferError(f"no scope {scope!r} here: {keys}, a number, or a glob of your own")


# ---------------------------------------------------------------------------------------------
# Rules


_CLASS_ORDER = {"exec": 0, "fsread": 1, "fswrite": 2}


def _check_action(table: Table, facts: CallFacts, cls: str, role: str) -> Action:
    """How the table decides one check (one alias class of the path in ``role``)."""
    for rule in table.rules_for(facts.syscall, cls):
        if rule.matches(facts, role):
            return rule.action
    if facts.syscall in aliases.UNSAFE_CALLS:
        return Action.NEVER
    return table.default


def asking_classes(facts: CallFacts, role: str | None, table: Table | None) -> tuple[str, ...]:
    """The alias classes of this call (for the path in ``role``) that came out as ASK: the
    ones a person answered for.  All the call's classes when the table is not known or no
    single class asks."""
    classes = sorted(aliases.classes_of(facts.syscall, role or "path", facts.open_flags,
                                        facts.selector),
                     key=lambda c: (_CLASS_ORDER.get(c, 9), c))
    if table is None or not classes:
        return tuple(classes)
    asked = [c for c in classes if _check_action(table, facts, c, role or "path") is Action.ASK]
    return tuple(asked or classes)


def rule_calls(facts: CallFacts, role: str | None, table: Table | None,
               no_alias: bool = False) -> tuple[str, ...]:
    """The ``calls`` of a rule remembered for this call.

    A path or address call is named by the aliases it asked under (``fsread``: the rule
    then also covers stat and access of the same file); a call without such arguments by its
    own name (a ``kill`` asked about is not every ``signal`` call).  ``no_alias`` (``-u``):
    always the call's own name.
    """
    if no_alias:
        return (facts.syscall,)
    kind, _ = subject_of(facts, role)
    if kind == "none":
        return (facts.syscall,)
    classes = asking_classes(facts, role, table)
    return classes or (facts.syscall,)


def _escape_argv(text: str) -> str:
    """A literal argument as an argv glob (fnmatch has no backslash escape: use classes)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def build_rule(offer: Offer, calls: Sequence[str], action: Action,
               errno: int = errno_module.EPERM, *, env: Mapping[str, str] | None = None,
               expansions: Expansions | None = None, index: int = 0,
               comment: str | None = None) -> Rule:
    """The rule for an offer.  Raises :class:`OfferError` when the condition cannot be built
    (the prompt validated it already; this is the last line)."""
    ex = expansions or Expansions.from_env(env)
    path = argv = net = None
    try:
        if offer.pattern is not None:
            path = PathGlob(offer.pattern, expansions=ex)
        if offer.argv is not None:
            argv = ArgvCondition([_escape_argv(a) for a in offer.argv])
        if offer.unix is not None:
            net = NetCondition(unix=offer.unix, env=_env_of(ex))
        elif offer.address is not None or offer.port is not None:
            net = NetCondition(address=offer.address, port=offer.port)
    except (GlobError, NetConditionError, ValueError) as exc:
        raise OfferError(str(exc)) from None
    return FileRule(tuple(calls), action,
                    errno if action is not Action.PERMIT else errno_module.EPERM,
                    path=path, net=net, argv=argv, location=Location(ANSWER_LOCATION),
                    index=index, comment=comment)


def _env_of(ex: Expansions) -> dict[str, str]:
    """An environment giving these expansions (NetCondition takes an env, not Expansions)."""
    out = {}
    for key, value in (("HOME", ex.home), ("CWD", ex.cwd), ("TMPDIR", ex.tmpdir),
                       ("USER", ex.user)):
        if value is not None:
            out[key] = value
    return out
