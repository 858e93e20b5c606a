"""Network conditions of a rule: ``address`` (IP or CIDR), ``port`` (number or range),
``host`` (a DNS name or ``*.domain``), ``unix``.

A rule on ``connect`` is usually about *where*: "permit connects to 127.0.0.1 port 8080",
"never anything outside 10.0.0.0/8".  The engine decodes the socket address into a
:class:`~systrace_py.policy.model.SockAddr` (an IPv4-mapped IPv6 address already turned into
the IPv4 address it really is); this module decides whether it matches.

All keys given must hold (AND); each key may list several values (OR).  An ``address`` or
``port`` condition never matches a unix socket (or any other family), and a ``unix`` condition
never matches an IP address: a condition is never satisfied by an address it does not talk
about.  An ``address`` is never a host name: a policy does not depend on DNS answers it
cannot see.  ``host`` matches the names the *program* resolved to the address it connects to
(the engine observes its DNS, see :mod:`systrace_py.names`): an address no observed name maps
to never matches a ``host`` condition.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from systrace_py.policy.glob import Expansions, GlobError, PathGlob

if TYPE_CHECKING:
    from systrace_py.policy.model import SockAddr

    _Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["IDNA_DEVIATIONS", "KEYS", "HostPattern", "NetCondition", "NetConditionError",
           "UnsureSpelling", "abstract_spelled", "host_address", "normal_name",
           "parse_address", "parse_port_range"]

_PORT_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")
#: (a string: ipaddress is imported where it is first used, startup.DEFERRED)
_MAPPED = "::ffff:0:0/96"


#: The keys of a network condition, as a policy file writes them, and the attribute of
#: :class:`NetCondition` holding each parsed: the one list of them (the class's slots,
#: equality and hash are made from it, and so is what an answer keeps of its ``ask``'s:
#: model.answer_conditions walks it, a key added here is a key it must narrow -- review 72).
KEYS: dict[str, str] = {"address": "networks", "port": "ports", "host": "hosts", "unix": "unix"}


class NetConditionError(ValueError):
    """A bad ``address``, ``port`` or ``unix`` value; ``key`` says which."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def parse_address(text: str) -> _Network:
    """An IP address or CIDR network (a lone address is a /32 or /128).

    An IPv4-mapped IPv6 network (``::ffff:10.0.0.0/104``) becomes the IPv4 network it stands
    for, because that is how the engine reports such addresses.
    """
    if not isinstance(text, str):
        raise ValueError(f"an address is a string such as \"10.0.0.0/8\", not {_kind(text)}")
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(text.strip(), strict=False)
            raise ValueError(f"{text!r} has host bits set (did you mean {loose}?)") from None
        raise ValueError(f"{text!r} is not an IP address or CIDR network (such as 10.0.0.0/8,"
                         " ::1 or 127.0.0.1; a host name goes in host = ...)") from None
    if isinstance(network, ipaddress.IPv6Network) and \
            network.subnet_of(ipaddress.IPv6Network(_MAPPED)):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None
        return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def host_address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address an ``address`` condition is tested against: an IPv4-mapped IPv6 address
    as the IPv4 address it is; None when there is no host or it is not an IP address (no
    address condition matches then)."""
    if text is None:
        return None
    try:
        host = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        return host.ipv4_mapped
    return host


def parse_port_range(value: object) -> tuple[int, int]:
    """A port (``80`` or ``"80"``) or an inclusive range (``"8000-9000"``) as (low, high)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"a port is a number or a range such as \"8000-9000\", not {_kind(value)}")
    if isinstance(value, int):
        low = high = value
    else:
        m = _PORT_RANGE.fullmatch(value)
        if m is None:
            raise ValueError(f"{value!r} is not a port or a port range such as \"8000-9000\"")
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) is not None else low
    for port in (low, high):
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (0-65535)")
    if low > high:
        raise ValueError(f"empty port range {value!r}: {low} is above {high}")
    return low, high


_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class UnsureSpelling(UnicodeError):
    """A name beyond ASCII whose wire form systrace cannot be sure of: IDNA 2003 (Python's
    ``idna`` codec) and IDNA 2008 / UTS 46 non-transitional (libidn2 in curl and glibc,
    browsers, Go) may spell it as two different names (review 68).  ``hint`` is the
    ``xn--`` form resolvers ask when it is known exactly, else "".  A UnicodeError, as the
    codec's own refusals are: a caller that cannot spell a name treats both alike."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


#: UTS 46's "deviation" characters, the whole list (IdnaMappingTable.txt, status
#: ``deviation``): IDNA 2003 maps them (sharp s -> "ss", final sigma -> sigma, ZWNJ and ZWJ
#: -> nothing), UTS 46 non-transitional (IDNA 2008) keeps them
IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
#: the deviations a label may hold and still have an exact xn-- form here: sharp s and final
#: sigma are plain letters in IDNA 2008; ZWNJ/ZWJ are CONTEXTJ (valid only after a virama or
#: in some joining contexts), a rule this module does not reproduce
_HINTED_DEVIATIONS = frozenset("\u00df\u03c2")


#: the general categories a character beyond ASCII of a spelled label may have (letters,
#: marks, decimal digits; not Unicode 3.2's "Cn", unassigned then)
_SPELLED_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd"})


def _same_in_both(label: str) -> bool:
    """Whether IDNA 2003 and UTS 46 non-transitional cannot spell ``label`` (lower case,
    not ASCII) as two different names: each character beyond ASCII a letter, mark or
    decimal digit assigned in Unicode 3.2 (IDNA 2003's version), none that either mapping
    changes -- the label its own case folding and its own NFKC in the current Unicode and in
    3.2, and its own nameprep.  Then IDNA 2003 gives ``xn--`` + its punycode; UTS 46, whose
    table keeps IDNA 2003's mappings apart from the deviations, maps none of these
    characters either: it gives the same, or refuses the name (a character IDNA 2008
    disallows: no resolver asks it).  Anything else -- the deviations, a character newer
    than 3.2 (UTS 46 maps those by today's NFKC_Casefold, IDNA 2003 does not: U+1F130
    squared A is "a" to curl, itself to the codec), a capital beyond ASCII (Python's
    lower() is not UTS 46's mapping: capital sharp s is "ss" there, sigma at a label's end
    becomes a final sigma here) -- may differ, and is refused rather than guessed."""
    import unicodedata
    from encodings.idna import nameprep

    old = unicodedata.ucd_3_2_0
    for c in label:
        if not c.isascii() and not {old.category(c), unicodedata.category(c)} \
                <= _SPELLED_CATEGORIES:
            return False
    try:
        prepped = nameprep(label)
    except UnicodeError:
        return False
    return prepped == label == label.casefold() == unicodedata.normalize("NFKC", label) \
        == old.normalize("NFKC", label)


def _ascii_label(label: str) -> str:
    """A label's ASCII form: itself if ASCII, else ``xn--`` and its punycode."""
    return label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")


def normal_name(name: str) -> str:
    """A DNS name as rules compare it: lower case, without the root's trailing dot, IDN labels
    as their ASCII (punycode) form -- the form that goes over the wire.

    A name beyond ASCII is spelled only when every resolver spells it alike
    (:func:`_same_in_both`); else :class:`UnsureSpelling` -- a rule on ``faß.test`` had
    named ``fass.test`` (IDNA 2003), another domain, while curl asks ``xn--fa-hia.test``
    (review 68)."""
    text = name.strip().rstrip(".")
    if text.isascii():
        return text.lower()
    # ASCII case first: both IDNA versions fold it alike (nameprep's table B.2, UTS 46's
    # mapping), so "Bücher" is "bücher" to every resolver -- it had been refused, its
    # capital B taken for one beyond ASCII (review 71); a capital beyond ASCII still is
    labels = ["".join(c.lower() if c.isascii() else c for c in label)
              for label in text.split(".")]
    unsure = [label for label in labels
              if not label.isascii() and not _same_in_both(label)]
    if unsure:
        raise UnsureSpelling(
            f"{name!r} is beyond ASCII and IDNA 2003 and IDNA 2008 (which resolvers use) may"
            " spell it as two different names", _hint(labels))
    return ".".join(labels).encode("idna").decode("ascii")


def _hint(labels: list[str]) -> str:
    """The ``xn--`` form UTS 46 non-transitional gives ``labels``, when it is known exactly:
    each label beyond ASCII lower case (ASCII letters aside) and, but for sharp s and final
    sigma (which non-transitional processing keeps as they are), one
    :func:`_same_in_both` accepts.  Else ""."""
    out = []
    for label in labels:
        if label.isascii():
            out.append(label.lower())
            continue
        plain = "".join("a" if c in _HINTED_DEVIATIONS else c for c in label)
        if not _same_in_both(plain.lower()) or any(
                not c.isascii() and c.lower() != c for c in label):
            return ""
        out.append(_ascii_label(label.lower()))
    return ".".join(out)


@dataclass(frozen=True, slots=True)
class HostPattern:
    """One ``host`` value: a name (``files.pythonhosted.org``), ``*.domain`` (any name below
    the domain, at any depth, not the domain itself) or ``*`` (any observed name)."""

    text: str
    name: str      # the normal form of the name, without "*."
    below: bool    # "*.name": names below it
    any: bool      # "*"

    @classmethod
    def parse(cls, value: object) -> HostPattern:
        if not isinstance(value, str):
            raise ValueError(f"a host is a name such as \"files.pythonhosted.org\" or"
                             f" \"*.github.com\", not {_kind(value)}")
        if value.strip() == "*":
            return cls(value, "", False, True)
        below = value.strip().startswith("*.")
        rest = value.strip()[2:] if below else value
        try:
            name = normal_name(rest)
        except UnsureSpelling as exc:
            raise ValueError(_unsure_text(value, exc)) from None
        except UnicodeError:
            raise ValueError(f"{value!r} is not a valid host name") from None
        labels = name.split(".")
        if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            hint = (" (\"*\" only as a whole first label: \"*.example.com\")"
                    if "*" in value else "")
            raise ValueError(f"{value!r} is not a host name or \"*.domain\"{hint}")
        try:
            parse_address(name)
        except ValueError:
            pass
        else:
            raise ValueError(f"{value!r} is an address: write it as address = {value!r}")
        return cls(value, name, below, False)

    def matches(self, name: str) -> bool:
        """Whether ``name`` (in :func:`normal_name` form) is this host or below it."""
        if self.any:
            return True
        if self.below:
            return name.endswith("." + self.name)
        return name == self.name


def _unsure_text(value: str, exc: UnsureSpelling) -> str:
    """The policy error for a ``host`` beyond ASCII :func:`normal_name` will not spell."""
    held = sorted({f"U+{ord(c):04X}" for c in value if c in IDNA_DEVIATIONS})
    why = (f" (it holds {', '.join(held)}, which IDNA 2003 changes and IDNA 2008 keeps:"
           " \"fa\u00df.de\" is fass.de to one, xn--fa-hia.de to the other, two domains)"
           if held else "")
    prefix = "*." if value.strip().startswith("*.") else ""
    say = (f"write it as \"{prefix}{exc.hint}\"" if exc.hint else
           "write its xn-- form, as resolvers ask it (IDNA 2008 / UTS 46 non-transitional:"
           " `idn2 NAME`, or the name curl -v shows)")
    return (f"{value!r} is beyond ASCII, and IDNA 2003 and IDNA 2008 (what resolvers use) may"
            f" spell it as two different names{why}: {say}")


def _as_list(key: str, value: object) -> list[object]:
    if isinstance(value, list | tuple):
        if not value:
            raise NetConditionError(key, f"{key} is an empty list: it could never match")
        return list(value)
    return [value]


@dataclass(frozen=True, slots=True)
class _UnixPattern:
    """One ``unix`` value: a path glob, an abstract-name glob (``@name*``) or "" (unnamed)."""

    text: str
    glob: PathGlob | None
    abstract: re.Pattern[str] | None

    def matches(self, path: str) -> bool:
        if self.text == "":
            return path == ""
        if self.abstract is not None:
            return self.abstract.fullmatch(path) is not None
        assert self.glob is not None
        return self.glob.matches(path)


def host_spelled(name: str) -> bool:
    """Whether a ``host`` condition can name this looked-up name and no other as its own
    text: not one holding ``*``, a host pattern's wildcard (``*.domain``, ``*``).  A zone with
    a wildcard record answers the literal ``*.domain`` (and a lookup is asked about before any
    answer): written as itself it would cover every name below the domain -- learned (red
    team 28) or remembered from an answer of scope ``name`` (red team 39)."""
    return "*" not in name


def abstract_spelled(path: str) -> bool:
    """Whether a ``unix`` condition can name this socket and no other as its own text: not an
    abstract name ("@...") holding ``*`` or ``?``, which are wildcards there (no escape).  A
    connect to its own abstract ``@*`` was learned as ``unix = "@*"``, every abstract socket
    -- an X server's, a bus (red team 28): such a name is neither learned nor offered."""
    return not (path.startswith("@") and ("*" in path or "?" in path))


def _abstract_regex(text: str) -> re.Pattern[str]:
    """``@name*``: abstract names have no directories, so ``*`` matches anything."""
    out = ["@"]
    for c in text[1:]:
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
    return re.compile("".join(out), re.DOTALL)


class NetCondition:
    """The network part of a rule (satisfies :class:`systrace_py.policy.model.NetPattern`).

    ``address``: str or list of str (IP or CIDR); ``port``: int, "LOW-HIGH" or a list of those;
    ``unix``: a path glob, "@abstract-glob" or "" (unnamed socket), or a list of those;
    ``host``: a name, "*.domain" or "*", or a list of those (matched against the names the
    program resolved to the address: :attr:`SockAddr.names`).
    ``describe()`` gives the keys back as written, for logs and for saving the policy.
    """

    __slots__ = ("_described", *KEYS.values())

    def __init__(self, address: str | Sequence[str] | None = None,
                 port: int | str | Sequence[int | str] | None = None,
                 unix: str | Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None,
                 host: str | Sequence[str] | None = None) -> None:
        if address is None and port is None and unix is None and host is None:
            raise NetConditionError("address", "a network condition needs address, port, host"
                                    " or unix")
        if unix is not None and (address is not None or port is not None or host is not None):
            key = "address" if address is not None else "port" if port is not None else "host"
            raise NetConditionError(key, f"{key} and unix cannot be combined: an address is"
                                    " either an IP address or a unix socket, never both")
        self._described: dict[str, object] = {}
        self.networks: tuple[_Network, ...] | None = None
        self.ports: tuple[tuple[int, int], ...] | None = None
        self.unix: tuple[_UnixPattern, ...] | None = None
        self.hosts: tuple[HostPattern, ...] | None = None
        if address is not None:
            networks = []
            for item in _as_list("address", address):
                try:
                    networks.append(parse_address(item))  # type: ignore[arg-type]
                except ValueError as exc:
                    raise NetConditionError("address", str(exc)) from None
            self.networks = tuple(networks)
            self._described["address"] = _copy(address)
        if port is not None:
            ranges = []
            for item in _as_list("port", port):
                try:
                    ranges.append(parse_port_range(item))
                except ValueError as exc:
                    raise NetConditionError("port", str(exc)) from None
            self.ports = tuple(ranges)
            self._described["port"] = _copy(port)
        if host is not None:
            hosts = []
            for item in _as_list("host", host):
                try:
                    hosts.append(HostPattern.parse(item))
                except ValueError as exc:
                    raise NetConditionError("host", str(exc)) from None
            self.hosts = tuple(hosts)
            self._described["host"] = _copy(host)
        if unix is not None:
            expansions = Expansions.from_env(env)
            patterns = []
            for item in _as_list("unix", unix):
                patterns.append(_unix_pattern(item, expansions))
            self.unix = tuple(patterns)
            self._described["unix"] = _copy(unix)

    def matches(self, addr: SockAddr) -> bool:
        """Whether every given key matches this socket address."""
        if self.unix is not None:
            return addr.family == "unix" and addr.path is not None and any(
                p.matches(addr.path) for p in self.unix)
        if addr.family not in ("inet", "inet6"):
            return False
        if self.networks is not None:
            host = host_address(addr.host)
            if host is None:
                return False
            if not any(host.version == net.version and host in net for net in self.networks):
                return False
        if self.hosts is not None and not any(
                pattern.matches(name) for pattern in self.hosts for name in addr.names):
            return False
        return self.ports is None or (
            addr.port is not None and any(lo <= addr.port <= hi for lo, hi in self.ports))

    def may_reach(self, addr: SockAddr) -> bool:
        """Whether a destination standing for several hosts (``addr.many``: a broadcast or
        multicast address) may reach a host this condition names: an IP condition whose
        ports hold, whatever its addresses and host names (the hosts of a link or group are
        not known; any of them may be one of these)."""
        if self.unix is not None or addr.family not in ("inet", "inet6"):
            return False
        return self.ports is None or (
            addr.port is not None and any(lo <= addr.port <= hi for lo, hi in self.ports))

    def describe(self) -> dict[str, object]:
        """The keys as written: ``{"address": ..., "port": ..., "host": ..., "unix": ...}``."""
        return {key: _copy(value) for key, value in self._described.items()}

    def families(self) -> frozenset[str]:
        """The SockAddr families this condition can match (for checking a redirect)."""
        return frozenset({"unix"}) if self.unix is not None else frozenset({"inet", "inet6"})

    def __repr__(self) -> str:
        return f"NetCondition(**{self._described!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetCondition):
            return NotImplemented
        return all(getattr(self, part) == getattr(other, part) for part in KEYS.values())

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, part) for part in KEYS.values()))

    def with_parts(self, parts: Mapping[str, tuple[object, object]]) -> NetCondition:
        """This condition with some keys replaced: ``parts`` maps a key (:data:`KEYS`) to
        its parsed value and its value as written (what an answer keeps of its ``ask``'s
        conditions, model.answer_conditions).  Not checked again: the caller takes each
        from a condition already parsed, and combines no unix key with an IP one."""
        out = object.__new__(NetCondition)
        described = dict(self._described)
        for key, part in KEYS.items():
            value = getattr(self, part)
            if key in parts:
                value, described[key] = parts[key]
            object.__setattr__(out, part, value)
        object.__setattr__(out, "_described",
                           {key: described[key] for key in KEYS if key in described})
        return out

    def name_decides(self, name: str) -> bool | None:
        """For a query of ``name`` at resolution time: None when this condition has no
        ``host`` key or no host of it matches; True when it matches whatever address and port
        the name resolves to (only ``host`` is given), False when other keys decide too."""
        if self.hosts is None or not any(p.matches(name) for p in self.hosts):
            return None
        return self.networks is None and self.ports is None


def _host_inside(answer: HostPattern, ask: HostPattern) -> bool:
    """Whether every name ``answer`` picks, ``ask`` picks."""
    if ask.any:
        return True
    if answer.any:
        return False
    if ask.below:
        return answer.name.endswith("." + ask.name) or (answer.below and answer.name == ask.name)
    return not answer.below and answer.name == ask.name


def _network_inside(answer: _Network, ask: _Network) -> bool:
    return answer.version == ask.version and answer.subnet_of(ask)  # type: ignore[arg-type]


#: For the keys whose values can be told apart from their parsed form alone: whether one
#: value of an answer's condition picks nothing but what one value of its ``ask``'s picks
#: (model.answer_conditions; ``unix`` globs are told there, by the path globs' rule).
INSIDE: dict[str, Callable[[Any, Any], bool]] = {
    "address": _network_inside,
    "port": lambda answer, ask: ask[0] <= answer[0] and answer[1] <= ask[1],
    "host": _host_inside,
}


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list | tuple) else value


def _unix_pattern(item: object, expansions: Expansions) -> _UnixPattern:
    if not isinstance(item, str):
        raise NetConditionError("unix", "unix is a socket path glob, \"@abstract-name\" or \"\""
                                f" (unnamed), not {_kind(item)}")
    if item == "":
        return _UnixPattern("", None, None)
    if item.startswith("@"):
        return _UnixPattern(item, None, _abstract_regex(item))
    try:
        glob = PathGlob(item, expansions=expansions)
    except GlobError as exc:
        raise NetConditionError("unix", str(exc)) from None
    step = glob.unmatchable_steps()
    if step is not None:  # (as a rule's path: files._resolvable, red team 33)
        raise NetConditionError("unix", f"{item!r} has a {step!r} component, and socket paths"
                                " are matched as the kernel resolves them (no . or ..): it"
                                " would match nothing; write the path it leads to")
    return _UnixPattern(item, glob, None)
