"""The generalizations the prompt offers for a remembered answer, and the rules they make.

Pure: no terminal, no ptrace.  Given the facts of one asked call, :func:`offers_for` lists the
scopes a rule could have, narrowest first -- for a path: the file itself, a glob for a
generated (temporary) name, the files with the same extension, the directory's entries, the
tree below it, everything below ``$CWD`` or the home directory, any path; for a socket
address: this address and port, the name the program resolved to it (when one was seen)
and its domain, this host, this port, any address; for an exec: also "this
program with exactly these arguments".  :func:`build_rule` turns the chosen one into a
:class:`~systrace_py.policy.model.Rule` written the way the learner writes rules (aliases,
``~``/``$CWD``/``$TMPDIR`` prefixes), so a remembered answer saved into the policy file reads
like the rest of it.

The scopes of a path come from the one generalizer (:func:`systrace_py.policy.generalize.scopes`):
the learner, the review of a learned policy and the prompt widen a path the same way.  Offers
that would cover a sensitive location (``~/.ssh``, ``/etc/shadow``...) are marked, so the
prompt can say so before a person permits a whole home directory.
"""

from __future__ import annotations

import errno as errno_module
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from systrace_py.policy import aliases
from systrace_py.policy.argv import ArgvCondition
from systrace_py.policy.files import FileRule
from systrace_py.policy.generalize import (
    Evidence,
    PathWriter,
    covers_sensitive,
    escape_argv,
    pseudo_kind,
    scopes,
    writes,
)
from systrace_py.policy.glob import Expansions, GlobError, PathGlob, escape
from systrace_py.policy.model import TREE, Action, CallFacts, Location, Rule, Table, checks_of
from systrace_py.policy.net import (
    NetCondition,
    NetConditionError,
    abstract_spelled,
    host_spelled,
)

__all__ = [
    "ANSWER_LOCATION",
    "Offer",
    "OfferError",
    "asking_classes",
    "build_rule",
    "check_target",
    "custom_offer",
    "offers_for",
    "resolve_scope",
    "rule_calls",
    "subject_of",
]

#: Where rules made from answers say they come from (logs and prompts show it).
ANSWER_LOCATION = "<answer>"



class OfferError(ValueError):
    """A scope that cannot be used for this request; the message says why."""


@dataclass(frozen=True, slots=True)
class Offer:
    """One scope for a remembered rule.

    ``key`` is the word a person types (``file``, ``dir``...), ``label`` what it means in
    words.  The condition is one of: ``pattern`` (a path glob, as it will be saved),
    ``address``/``port`` or ``unix`` (a socket address), ``argv`` (with ``pattern``: an exec
    with exactly these arguments), or none at all (``any``: the call whatever its arguments).
    ``sensitive``: the scope covers a sensitive location.  ``fresh``: a permit of it covers
    only the paths the run makes (generalize.Scope.fresh: generated names).  ``runs_later``:
    the call writes, and the scope covers a name something runs later that the call's path
    is not (generalize.Scope.runs_later: a hook, a makefile, a package.json).
    """

    key: str
    label: str
    pattern: str | None = None
    address: str | None = None
    port: int | None = None
    unix: str | None = None
    argv: tuple[str, ...] | None = None
    sensitive: bool = False
    host: str | None = None  # a host name or "*.domain" the program resolved
    fresh: bool = False
    runs_later: bool = False
    #: ``"tree"``: a signal call's, covering only signals to tasks of the traced tree
    #: (Rule.target) -- offered when the call asked about signals tasks of the tree only
    target: str | None = None

    @property
    def shown(self) -> str:
        """The condition as one short text for the prompt."""
        if self.argv is not None:
            return f"{self.pattern} {shlex.join(self.argv[1:])}".rstrip() if self.pattern \
                else shlex.join(self.argv)
        if self.target is not None:
            return f"target {self.target}"
        if self.pattern is not None:
            return self.pattern
        if self.unix is not None:
            return f"unix:{self.unix}" if self.unix else "unix:(unnamed)"
        if self.host is not None:
            return f"{self.host}, port {self.port}" if self.port is not None \
                else f"{self.host}, any port"
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
        if addr.family in ("inet", "inet6") and (addr.host is not None or addr.names):
            return "net", None  # (a lookup asked about has a name and no address yet)
        if addr.family == "unix" and addr.path is not None:
            return "unix", addr.path
    return "none", None


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
    elif facts.syscall in aliases.SIGNAL_CALLS and facts.in_tree():
        # a signal to tasks of the traced tree (its child, its thread) was asked about: the
        # narrowest rule is one of those signals only (close22: "every kill call" was the
        # one scope offered, broader than what was asked)
        out = [Offer(TREE, "signals to tasks of the traced tree only", target=TREE)]
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
    pseudo = pseudo_kind(path)
    if pseudo is not None:
        kind, name = pseudo
        if kind != "memfd":
            return [Offer("file", f"every {kind} descriptor", pattern=f"{kind}:*")]
        named = [Offer("file", f"the memfd {name}", pattern="memfd:" + escape(name))] if name \
            else []
        return [*named, Offer("kind", "every memfd", pattern="memfd:*")]
    if not path.startswith("/"):
        return []
    role = next((p.role for p in facts.paths if p.path == path), "path")
    # a name the call is making may be a generated one (the prompt sees no more of its life)
    evidence = Evidence.CREATED if aliases.creates(facts.syscall, role, facts.open_flags) \
        else Evidence.NONE
    ladder = scopes([path], PathWriter(ex), evidence)
    writing = writes(part or cls for cls, part in checks_of(
        facts.syscall, role, facts.open_flags, facts.selector) if cls is not None)
    out: list[Offer] = []
    for scope in ladder:
        out.append(Offer(scope.key, scope.label, pattern=scope.pattern,
                         sensitive=scope.sensitive, fresh=scope.fresh,
                         runs_later=writing and scope.runs_later))
        if scope.key == "file" and facts.argv is not None and \
                facts.syscall in aliases.EXEC_CALLS:
            out.append(Offer("argv", "this program with exactly these arguments",
                             pattern=scope.pattern, argv=tuple(facts.argv),
                             sensitive=scope.sensitive))
    return out


def _net_offers(facts: CallFacts) -> list[Offer]:
    addr = facts.sockaddr
    assert addr is not None
    host = addr.host
    out = []
    if host is not None and addr.port is not None:
        out.append(Offer("addr", "this address and port", address=host, port=addr.port))
    # the name the program resolved to the address -- only when it is the one: an address
    # several names were looked up for is asked about with them all, and a rule on one of
    # them (the first, say) could be one the person or approver never meant -- a name of
    # the program's own zone pointed at a permitted host's address and at its own (red
    # team 39).  They answer by address, port or any instead.  Nor a name holding "*"
    # (host_spelled): as a rule it would be every name below a domain.
    for name in addr.names if len(addr.names) == 1 and host_spelled(addr.names[0]) else ():
        out.append(Offer("name", f"{name}, any port", host=name))
        parent = name.partition(".")[2]
        if parent.count(".") >= 1:
            out.append(Offer("domain", f"any name under {parent}, any port",
                             host=f"*.{parent}"))
    if host is None:
        return out
    out.append(Offer("host", f"{host}, any port", address=host))
    if addr.port is not None:
        out.append(Offer("port", f"port {addr.port} of any address", port=addr.port))
    return out


def _unix_offers(path: str, ex: Expansions) -> list[Offer]:
    if path == "":
        return [Offer("file", "unnamed unix sockets", unix="")]
    if path.startswith("@"):
        if not abstract_spelled(path):
            return []
        return [Offer("file", f"the abstract socket {path}", unix=path)]
    writer = PathWriter(ex)
    out = [Offer("file", "this socket", unix=writer.text(path))]
    parent = path.rpartition("/")[0] or "/"
    if parent != "/":
        out.append(Offer("dir", f"every socket in {parent}", unix=writer.text(parent,
                                                                             tail="/*")))
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
        addr = facts.sockaddr
        if offers[0].key == "any" and subject_of(facts, role)[0] == "net" and \
                addr is not None and addr.host is None:
            # a lookup of a name no rule can spell (it holds "*"): the narrowest scope left
            # would be every connect -- a plain answer must not remember that (red team 39)
            raise OfferError(f"{', '.join(addr.names)} cannot be remembered as a name: "
                             "answer permit-now or deny-now, or name the scope any")
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


def _check_action(table: Table, facts: CallFacts, cls: str, part: str | None,
                  role: str) -> Action:
    """How the table decides one check (one alias class of the path in ``role``)."""
    for rule in table.rules_for(facts.syscall, cls, part):
        if rule.matches(facts, role):
            return rule.action
    if facts.syscall in aliases.UNSAFE_CALLS:
        return Action.NEVER
    return table.default


def asking_classes(facts: CallFacts, role: str | None, table: Table | None) -> tuple[str, ...]:
    """The alias classes of this call's checks (for the path in ``role``) that came out as
    ASK: the ones a person answered for.  A check in a part of its class (a stat's, in
    ``fsmeta``) is named by its class all the same: a person who lets a program look at a file
    means to let it use the file (a prompt for the read would follow at once).  All the call's
    classes when the table is not known or no single check asks."""
    where = role or "path"
    checks = sorted({(cls, part) for cls, part in checks_of(facts.syscall, where, facts.open_flags,
                                                            facts.selector) if cls is not None},
                    key=lambda c: (_CLASS_ORDER.get(c[0], 9), c[0]))
    classes = tuple(dict.fromkeys(cls for cls, _ in checks))
    if table is None or not checks:
        return classes
    asked = [cls for cls, part in checks
             if _check_action(table, facts, cls, part, where) is Action.ASK]
    return tuple(dict.fromkeys(asked)) or classes


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


def check_target(offer: Offer, action: Action) -> None:
    """A ``target`` scope is a permit's only (the loader's rule: a refusal of signals to the
    tree alone would let through what cannot be told to be in it): OfferError else."""
    if offer.target is not None and action is not Action.PERMIT:
        raise OfferError(f"{offer.key}: only a permit is remembered for tasks of the tree "
                         "alone (a remembered deny covers every target: scope any)")


def build_rule(offer: Offer, calls: Sequence[str], action: Action,
               errno: int = errno_module.EPERM, *, env: Mapping[str, str] | None = None,
               expansions: Expansions | None = None, index: int = 0,
               comment: str | None = None) -> Rule:
    """The rule for an offer.  Raises :class:`OfferError` when the condition cannot be built
    (the prompt validated it already; this is the last line)."""
    ex = expansions or Expansions.from_env(env)
    check_target(offer, action)
    path = argv = net = None
    try:
        if offer.pattern is not None:
            path = PathGlob(offer.pattern, expansions=ex)
        if offer.argv is not None:
            argv = ArgvCondition([escape_argv(a) for a in offer.argv])
        if offer.unix is not None:
            net = NetCondition(unix=offer.unix, env=_env_of(ex))
        elif offer.host is not None:
            net = NetCondition(host=offer.host, port=offer.port)
        elif offer.address is not None or offer.port is not None:
            net = NetCondition(address=offer.address, port=offer.port)
    except (GlobError, NetConditionError, ValueError) as exc:
        raise OfferError(str(exc)) from None
    return FileRule(tuple(calls), action,
                    errno if action is not Action.PERMIT else errno_module.EPERM,
                    path=path, net=net, argv=argv, location=Location(ANSWER_LOCATION),
                    index=index, comment=comment, target=offer.target,
                    fresh=offer.fresh and action is Action.PERMIT and path is not None)


def _env_of(ex: Expansions) -> dict[str, str]:
    """An environment giving these expansions (NetCondition takes an env, not Expansions)."""
    out = {}
    for key, value in (("HOME", ex.home), ("CWD", ex.cwd), ("TMPDIR", ex.tmpdir),
                       ("USER", ex.user)):
        if value is not None:
            out[key] = value
    return out
