"""Rule lookup that does not grow with the number of rules: a table's rules, indexed.

A table decides a check (one alias class of one path of a call) by its first matching rule.
Tried one by one, that costs a ``Rule.matches`` per rule before the one that matches: on a
policy learned from a build (hundreds of single-directory rules) most of the time of a stop.
Here the rules of each (call, class) check are compiled once into:

* paths: a map of literal paths, a prefix tree of ``dir/**`` trees, and glob patterns filed
  under their literal leading directories (:class:`PathIndex`);
* addresses: networks by prefix length, unix socket paths as paths (:class:`NetIndex`);
* a list of the rest (argv conditions: rare), tried in order;
* the earliest unconditional rule, after which nothing can win.

The answer is the same rule the linear scan finds, always: the candidates of each kind are
merged by position (first match wins), a candidate is checked with the rule's full condition
unless the index alone proves it (a literal path or a ``dir/**`` tree on a rule with no other
condition, ``fresh`` being one), and what the index cannot classify (a pattern it does not
know, a pseudo-file name, a path with "//" in it) is tried with the pattern itself.  Facts
stay lazy: a path is resolved, an address or argv read, exactly when the linear scan would
have read it -- when a rule that could still win needs it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from systrace_py.policy import aliases

if TYPE_CHECKING:
    from systrace_py.policy.model import Facts, NetPattern, PathPattern, Rule, SockAddr

__all__ = ["CheckIndex", "NetIndex", "PathIndex", "TableIndex"]

#: Beyond every position.
_END = sys.maxsize


class _Node:
    """One directory of the prefix tree: the patterns whose literal leading names end here."""

    __slots__ = ("children", "globs", "trees")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.trees: list[tuple[int, bool]] = []        # ``dir/**``: (position, True)
        self.globs: list[tuple[int, int | None]] = []  # (position, components or None)


class PathIndex:
    """Path patterns, each under a position, looked up by path.

    :meth:`candidates` gives the positions whose pattern may match a path, in order, each
    with whether the index proves the match (``True``) or :meth:`verify` must tell.  No
    pattern that matches is ever left out.
    """

    __slots__ = ("_exact", "_globs", "_patterns", "_root", "_shallow", "_unknown")

    def __init__(self, entries: Iterable[tuple[int, PathPattern]]) -> None:
        self._exact: dict[str, list[tuple[int, bool]]] = {}  # path + "/" -> (position, True)
        self._root = _Node()
        self._globs: list[tuple[int, bool]] = []    # every glob shape, (position, False)
        self._unknown: list[tuple[int, bool]] = []  # pseudo names, patterns of unknown kind
        self._patterns: dict[int, list[PathPattern]] = {}
        for position, pattern in entries:
            self._patterns.setdefault(position, []).append(pattern)
            shapes = getattr(pattern, "shapes", None)
            if shapes is None:
                self._unknown.append((position, False))
                continue
            for shape in shapes:
                if shape.kind == "exact":
                    key = "/" + "".join(name + "/" for name in shape.prefix)
                    self._exact.setdefault(key, []).append((position, True))
                elif shape.kind == "tree":
                    self._node(shape.prefix).trees.append((position, True))
                elif shape.kind == "glob":
                    self._node(shape.prefix).globs.append((position, shape.depth))
                    self._globs.append((position, False))
                else:
                    self._unknown.append((position, False))
        #: only literal paths (and unknowns): no tree to walk
        self._shallow = not (self._root.children or self._root.trees or self._root.globs)

    def _node(self, names: tuple[str, ...]) -> _Node:
        node = self._root
        for name in names:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node()
            node = child
        return node

    def candidates(self, path: str) -> list[tuple[int, bool]]:
        """(position, proven) of every pattern that may match ``path``, by position (a
        position may come twice; unproven first)."""
        found = list(self._unknown)
        if not path.startswith("/"):  # "" (matches nothing) or a pseudo name
            found.sort()
            return found
        key = path if path.endswith("/") else path + "/"
        exact = self._exact.get(key)
        if exact is not None:
            found += exact
        if not self._shallow:
            names = key[1:-1].split("/") if len(key) > 1 else []
            if "" in names:
                # "//" in the path: not the kernel's form, and ``*`` matches an empty name
                found += self._globs
            else:
                node = self._root
                depth = len(names)
                i = 0
                while True:
                    if node.trees:
                        found += node.trees
                    for position, components in node.globs:
                        if components is None or components == depth:
                            found.append((position, False))
                    if i == depth:
                        break
                    child = node.children.get(names[i])
                    if child is None:
                        break
                    node = child
                    i += 1
        if len(found) > 1:
            found.sort()
        return found

    def verify(self, position: int, path: str) -> bool:
        """Whether a pattern under ``position`` really matches ``path``."""
        return any(pattern.matches(path) for pattern in self._patterns[position])


class NetIndex:
    """Address conditions, each under a position, looked up by socket address.

    IP networks are filed by (version, prefix length) and the address's leading bits, so an
    address meets only the networks that contain it; unix socket paths go in a
    :class:`PathIndex`.  Every candidate is then checked with its rule's condition (ports,
    several keys), so the index only has to leave nothing out.
    """

    __slots__ = ("_any_unix", "_host_address", "_hostless", "_many", "_networks", "_unix",
                 "_unknown")

    def __init__(self, entries: Iterable[tuple[int, NetPattern]],
                 refusing: frozenset[int] = frozenset()) -> None:
        # net (and ipaddress) are loaded only by a table with address rules
        from systrace_py.policy.net import NetCondition, host_address

        self._host_address = host_address

        self._networks: dict[tuple[int, int], dict[int, list[int]]] = {}
        self._hostless: list[int] = []   # IP conditions without an address (ports only)
        self._any_unix: list[int] = []   # abstract and unnamed unix sockets
        self._unknown: list[int] = []
        #: refusing IP conditions: a broadcast or multicast destination may reach their hosts
        self._many: list[int] = []
        unix_paths: list[tuple[int, PathPattern]] = []
        for position, net in entries:
            if not isinstance(net, NetCondition):
                self._unknown.append(position)
            elif net.unix is not None:
                for item in net.unix:
                    if item.glob is not None:
                        unix_paths.append((position, item.glob))
                    else:
                        self._any_unix.append(position)
            elif net.networks is None:
                self._hostless.append(position)
            else:
                for network in net.networks:
                    bits = network.max_prefixlen - network.prefixlen
                    by_prefix = self._networks.setdefault((network.version, network.prefixlen), {})
                    by_prefix.setdefault(int(network.network_address) >> bits, []).append(position)
            if isinstance(net, NetCondition) and net.unix is None and position in refusing:
                self._many.append(position)
        self._unix = PathIndex(unix_paths) if unix_paths else None

    def candidates(self, addr: SockAddr) -> list[int]:
        """The positions whose condition may match ``addr``, in order."""
        found = set(self._unknown)
        if addr.family == "unix":
            if addr.path is not None:
                found.update(self._any_unix)
                if self._unix is not None:
                    found.update(position for position, _ in self._unix.candidates(addr.path))
        elif addr.family in ("inet", "inet6"):
            found.update(self._hostless)
            if addr.many:
                found.update(self._many)
            host = self._host_address(addr.host) if self._networks else None
            if host is not None:
                value = int(host)
                for (version, prefix), by_prefix in self._networks.items():
                    if version == host.version:
                        found.update(by_prefix.get(value >> (host.max_prefixlen - prefix), ()))
        return sorted(found)


class CheckIndex:
    """The rules of one (call, class) check, in table order, ready for :meth:`first_match`.

    Rules after the first unconditional one can never win a match and are left out of the
    indexes (they stay in ``rules``, for ``Table.rules_for``).
    """

    __slots__ = ("_limit", "_listed", "_net_first", "_nets", "_path_first", "_paths", "_plain",
                 "_simple", "_unconditional", "refuses", "rules")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        #: whether some rule refuses or asks (under some condition)
        self.refuses = any(rule.refuses for rule in rules)
        limit = next((i for i, rule in enumerate(rules) if not rule.conditional), len(rules))
        self._limit = limit
        self._unconditional = rules[limit] if limit < len(rules) else None
        live = list(enumerate(rules[:limit]))
        paths = [(i, rule) for i, rule in live if rule.path is not None]
        nets = [(i, rule) for i, rule in live if rule.path is None and rule.net is not None]
        self._listed = tuple(i for i, rule in live if rule.path is None and rule.net is None)
        self._path_first = paths[0][0] if paths else _END
        self._paths = PathIndex((i, rule.path) for i, rule in paths if rule.path is not None) \
            if paths else None
        #: rules whose path alone decides (a ``fresh`` rule asks whether the run made it)
        self._plain = frozenset(i for i, rule in paths if rule.net is None and rule.argv is None
                                and not rule.fresh)
        self._net_first = nets[0][0] if nets else _END
        self._nets = NetIndex(((i, rule.net) for i, rule in nets if rule.net is not None),
                              frozenset(i for i, rule in nets if rule.refuses)) \
            if nets else None
        self._simple = not nets and not self._listed

    def first_match(self, facts: Facts, role: str) -> Rule | None:
        """The first rule whose conditions hold for the path in ``role`` (None: none does)."""
        if not self._simple:
            return self._merged(facts, role)
        paths = self._paths
        if paths is not None:  # only path rules before the unconditional one
            path = facts.path(role)
            if path is not None:
                for position, proven in paths.candidates(path):
                    rule = self.rules[position]
                    if position in self._plain:
                        if proven or paths.verify(position, path):
                            return rule
                    elif rule.matches(facts, role):
                        return rule
        return self._unconditional

    def rules_at(self, path: str) -> list[Rule]:
        """The rules that may apply to a check of ``path``, in order: up to the first
        unconditional one (which ends the list), those whose path pattern may match it
        and those with no path (model._linked_outcomes reads these, for a link's names)."""
        found = set(self._listed)
        if self._paths is not None:
            found.update(position for position, _ in self._paths.candidates(path))
        if self._nets is not None:
            found.update(range(self._net_first, self._limit))
        rules = [self.rules[position] for position in sorted(found)]
        if self._unconditional is not None:
            rules.append(self._unconditional)
        return rules

    def _merged(self, facts: Facts, role: str) -> Rule | None:
        """Path, address and listed candidates merged by position.  A kind's fact is read
        when its first rule is the earliest that could still match, as the linear scan
        would read it there."""
        rules = self.rules
        limit = self._limit
        listed = self._listed
        path: str | None = None
        path_found: list[tuple[int, bool]] | None = None
        net_found: list[int] | None = None
        next_path = next_net = next_listed = 0
        while True:
            if path_found is None:
                at_path = self._path_first
            else:
                at_path = path_found[next_path][0] if next_path < len(path_found) else _END
            if net_found is None:
                at_net = self._net_first
            else:
                at_net = net_found[next_net] if next_net < len(net_found) else _END
            at_listed = listed[next_listed] if next_listed < len(listed) else _END
            position = min(at_path, at_net, at_listed)
            if position >= limit:
                return self._unconditional
            if position == at_path:
                if path_found is None:
                    assert self._paths is not None
                    path = facts.path(role)
                    path_found = self._paths.candidates(path) if path is not None else []
                    continue
                proven = path_found[next_path][1]
                next_path += 1
                if position in self._plain:
                    assert self._paths is not None and path is not None
                    if proven or self._paths.verify(position, path):
                        return rules[position]
                    continue
            elif position == at_net:
                if net_found is None:
                    assert self._nets is not None
                    addr = facts.sockaddr
                    net_found = self._nets.candidates(addr) if addr is not None else []
                    continue
                next_net += 1
            else:
                next_listed += 1
            if rules[position].matches(facts, role):
                return rules[position]


def _about_ip_destinations(rule: Rule) -> bool:
    """Whether a rule refuses, asks about or redirects where IP packets go."""
    if rule.redirect is not None:
        return rule.redirect.address is not None and rule.redirect.address.family != "unix"
    return rule.refuses and rule.net is not None and \
        getattr(rule.net, "unix", None) is None


class TableIndex:
    """A table's rules, indexed: by call name and alias, then per (call, class) check.

    Built for one list of rules; :class:`~systrace_py.policy.model.Table` builds a new one
    when its rules change.  Checks are compiled when first asked, and checks with the same
    rules (most calls of an alias) share one :class:`CheckIndex`.
    """

    __slots__ = ("_by_call", "_by_class", "_checks", "_injections_for", "_renaming", "_shared",
                 "address_rules", "host_rules", "inject_calls", "injections", "named_calls",
                 "refuses_by_name", "rules", "size")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.size = len(rules)
        self._by_call: dict[str, list[int]] = {}
        self._by_class: dict[str, list[int]] = {}
        injections: list[Rule] = []
        refuses_by_name = address_rules = host_rules = False
        for position, rule in enumerate(rules):  # (one pass: a plan indexes every table)
            if rule.injects:
                injections.append(rule)
            else:
                for call in rule.syscalls:
                    self._by_call.setdefault(call, []).append(position)
                for cls in rule.classes:
                    self._by_class.setdefault(cls, []).append(position)
            net, named = rule.net, rule.net is not None or rule.path is not None
            if not named and rule.redirect is None:
                # a refusal of connects with no address condition refuses every IP
                # destination: `permit net-connect host = ...` then `never net-connect` holds
                # a program to some hosts only if a packet socket's write(2), which names no
                # address, is not made either (red team 87, net_bare.c)
                address_rules = address_rules or (rule.refuses and not rule.injects
                                                  and rule.may_cover("connect"))
                continue  # (none of the other two below)
            refuses_by_name = refuses_by_name or (named and rule.refuses)
            address_rules = address_rules or _about_ip_destinations(rule)
            host_rules = host_rules or getattr(net, "hosts", None) is not None
        #: the inject rules, in order: they decide nothing, so no check holds them
        self.injections = tuple(injections)
        #: every call some inject rule may pick (the prefilter stops them)
        self.inject_calls = frozenset().union(*(
            rule.syscalls.union(*(aliases.ALIASES[c] for c in rule.classes))
            for rule in self.injections))
        self._injections_for: dict[str, tuple[Rule, ...]] = {}
        #: the calls some rule names directly (not through an alias)
        self.named_calls = frozenset(self._by_call)
        #: whether a refusing or asking rule names a path or an address: a link or rename
        #: could give what it names a new name
        self.refuses_by_name = refuses_by_name
        #: whether a rule refuses, asks about or redirects an IP destination (an ``address``
        #: or ``port`` condition, a refusal of connects with none, or a redirect to an
        #: address): then the sockets whose
        #: destinations the engine cannot see are not made unless a rule names the call
        #: (syscalls.Sockets)
        self.address_rules = address_rules
        #: whether a rule has a ``host`` condition (a connect is then decided per name)
        self.host_rules = host_rules
        self._checks: dict[tuple[str, str | None, str | None], CheckIndex] = {}
        self._shared: dict[tuple[int, ...], CheckIndex] = {}
        self._renaming: dict[bool, PathIndex] = {}

    def _positions(self, syscall: str, cls: str | None, part: str | None) -> tuple[int, ...]:
        by_call = self._by_call.get(syscall, ())
        by_class = self._by_class.get(cls, ()) if cls is not None else ()
        by_part = self._by_class.get(part, ()) if part is not None else ()
        if by_part:
            by_class = tuple(sorted({*by_class, *by_part}))
        if not by_class:
            return tuple(by_call)
        if not by_call:
            return tuple(by_class)
        return tuple(sorted({*by_call, *by_class}))

    def check(self, syscall: str, cls: str | None, part: str | None = None) -> CheckIndex:
        """The compiled rules of checks of this call and class, in this part alias
        (``aliases.part_of``): rules naming the call, the class or the part."""
        key = (syscall, cls, part)
        found = self._checks.get(key)
        if found is None:
            positions = self._positions(syscall, cls, part)
            found = self._shared.get(positions)
            if found is None:
                found = self._shared[positions] = CheckIndex(
                    tuple(self.rules[p] for p in positions))
            self._checks[key] = found
        return found

    def first_rule(self, syscall: str, cls: str | None, part: str | None = None
                   ) -> Rule | None:
        """The first rule that applies to checks of this call and class (in this part),
        whatever its conditions (for planning the prefilter: no check is compiled)."""
        by_call = self._by_call.get(syscall)
        by_class = self._by_class.get(cls) if cls is not None else None
        by_part = self._by_class.get(part) if part is not None else None
        first = min(by_call[0] if by_call else _END, by_class[0] if by_class else _END,
                    by_part[0] if by_part else _END)
        return self.rules[first] if first != _END else None

    def injections_for(self, syscall: str) -> tuple[Rule, ...]:
        """The inject rules that may pick a call of this name, whatever its arguments."""
        found = self._injections_for.get(syscall)
        if found is None:
            found = self._injections_for[syscall] = tuple(
                rule for rule in self.injections if rule.may_cover(syscall))
        return found

    def renaming(self, sockets: bool) -> PathIndex:
        """The paths refusing and asking rules protect, whatever their calls (with
        ``sockets``, their unix socket paths too), by table position."""
        found = self._renaming.get(sockets)
        if found is None:
            found = self._renaming[sockets] = PathIndex(
                (position, pattern) for position, rule in enumerate(self.rules)
                if rule.refuses
                for pattern in rule.patterns(sockets=sockets))
        return found


#: what :func:`flat_check` says of a rule (engine/cloop.py hands these to native code)
FLAT_EXACT, FLAT_TREE, FLAT_MAYBE, FLAT_GLOB = 0, 1, 2, 3


def flat_check(check: CheckIndex) -> tuple[list[tuple[int, Rule | None, str]], Rule | None]:
    """A check's rules as a flat list a loop in C can scan: ``(kind, rule, prefix)`` in rule
    order, up to the first unconditional rule (returned apart; None: the table's default).

    FLAT_EXACT: the rule matches the one path ``prefix``; FLAT_TREE: ``prefix`` and every path
    below it ("" is "/**"); both proven by the index alone (a literal path or a ``dir/**`` on a
    rule with no other condition).  FLAT_GLOB: a glob of a rule with no other condition: the
    rule matches a path under ``prefix`` when its pattern does (``rule.path.matches``, as
    :meth:`PathIndex.verify` asks).  FLAT_MAYBE: the rule may match ``prefix`` or a path below
    it, and only its own conditions can tell (an argv condition, a pattern of unknown kind:
    "" then).  A ``fresh`` rule's entries are those of a rule whose path is its only
    condition: they say where its path matches, and whether the run made the path is
    Python's -- its consumer answers such a rule by handing the call over (cloop._action),
    as it does an ask or a redirect; a glob's prefix keeps the other paths in the loop.  A
    rule's proven entries come before its FLAT_GLOB and FLAT_MAYBE ones.  The first entry a
    path meets decides -- a FLAT_GLOB one if its pattern matches, a FLAT_MAYBE one by
    handing the call to the full lookup.  For absolute paths without "//", "." or "..", the
    same first match as :meth:`CheckIndex.first_match`, by construction."""
    flat: list[tuple[int, Rule | None, str]] = []
    for position in range(check._limit):
        rule = check.rules[position]
        if rule.path is None:
            flat.append((FLAT_MAYBE, rule, ""))  # (an address or argv rule: the full lookup)
            continue
        # (a fresh rule: its path alone, and Python's answer where it matches)
        plain = position in check._plain or (
            rule.fresh and rule.net is None and rule.argv is None)
        shapes = getattr(rule.path, "shapes", None)
        if shapes is None:
            flat.append((FLAT_MAYBE, rule, ""))
            continue
        proven: list[tuple[int, Rule | None, str]] = []
        maybe: list[tuple[int, Rule | None, str]] = []
        for shape in shapes:
            prefix = "/" + "/".join(shape.prefix) if shape.prefix else ""
            if plain and shape.kind == "exact":
                proven.append((FLAT_EXACT, rule, prefix or "/"))
            elif plain and shape.kind == "tree":
                proven.append((FLAT_TREE, rule, prefix))
            elif plain and shape.kind == "glob":
                maybe.append((FLAT_GLOB, rule, prefix))
            elif shape.kind in ("exact", "tree", "glob"):
                maybe.append((FLAT_MAYBE, rule, prefix))
            else:
                maybe.append((FLAT_MAYBE, rule, ""))
        # one alternative that proves the match is enough, whatever the others: the proven
        # ones of a rule first (a learned rule mixes "{dir/*.so*,include/**}")
        flat += proven + maybe
    return flat, check._unconditional
