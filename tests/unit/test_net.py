"""Network conditions: CIDR (checked against ipaddress), ports and ranges, unix sockets, AND/OR."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.model import SockAddr
from systrace_py.policy.net import NetCondition, NetConditionError

ENV = {"HOME": "/home/alice", "USER": "alice", "CWD": "/w"}


def inet(host: str, port: int = 80) -> SockAddr:
    return SockAddr("inet6" if ":" in host else "inet", host, port)


@pytest.mark.parametrize(("address", "host", "expected"), [
    ("10.0.0.0/8", "10.1.2.3", True),
    ("10.0.0.0/8", "11.0.0.1", False),
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "127.0.0.2", False),
    ("::1", "::1", True),
    ("::1", "127.0.0.1", False),
    ("fd00::/8", "fd12::5", True),
    ("fd00::/8", "fe80::1", False),
    # an IPv4 network never matches an IPv6 address and the other way round
    ("0.0.0.0/0", "::1", False),
    ("::/0", "10.0.0.1", False),
    # the engine unmaps ::ffff:a.b.c.d, and a mapped network in the policy is unmapped too
    ("::ffff:10.0.0.0/104", "10.9.9.9", True),
    ("127.0.0.0/8", "::ffff:127.0.0.1", True),
])
def test_address(address: str, host: str, expected: bool) -> None:
    assert NetCondition(address=address).matches(inet(host)) is expected


def test_address_list_is_any_of() -> None:
    cond = NetCondition(address=["127.0.0.0/8", "::1"])
    assert cond.matches(inet("127.5.5.5"))
    assert cond.matches(inet("::1"))
    assert not cond.matches(inet("192.168.0.1"))


@pytest.mark.parametrize(("port", "value", "expected"), [
    (80, 80, True),
    (80, 81, False),
    ("80", 80, True),
    ("8000-9000", 8000, True),
    ("8000-9000", 9000, True),
    ("8000-9000", 9001, False),
    ([22, "8000-8010"], 8005, True),
    ([22, "8000-8010"], 23, False),
])
def test_port(port: object, value: int, expected: bool) -> None:
    assert NetCondition(port=port).matches(inet("1.2.3.4", value)) is expected  # type: ignore[arg-type]


def test_keys_are_anded() -> None:
    cond = NetCondition(address="127.0.0.1", port="8000-9000")
    assert cond.matches(inet("127.0.0.1", 8080))
    assert not cond.matches(inet("127.0.0.1", 22))
    assert not cond.matches(inet("10.0.0.1", 8080))


def test_other_families_never_match_address_or_port() -> None:
    assert not NetCondition(port="0-65535").matches(SockAddr("unix", path="/run/x"))
    assert not NetCondition(address="0.0.0.0/0").matches(SockAddr("netlink"))
    assert not NetCondition(address="0.0.0.0/0").matches(SockAddr("inet", None, 80))
    assert not NetCondition(port=80).matches(SockAddr("inet", "1.2.3.4", None))


@pytest.mark.parametrize(("unix", "path", "expected"), [
    ("/run/user/*/bus", "/run/user/1000/bus", True),
    ("/run/user/*/bus", "/run/user/1000/x/bus", False),
    ("$HOME/.gnupg/**", "/home/alice/.gnupg/S.gpg-agent", True),
    ("@dbus-*", "@dbus-abc/def", True),
    ("@dbus-*", "@x11", False),
    ("@/tmp/.X11-unix/X?", "@/tmp/.X11-unix/X0", True),
    ("", "", True),
    ("", "/run/x", False),
    ("/run/**", "", False),
    ("/run/**", "@run", False),
])
def test_unix(unix: str, path: str, expected: bool) -> None:
    assert NetCondition(unix=unix, env=ENV).matches(SockAddr("unix", path=path)) is expected


def test_unix_never_matches_inet() -> None:
    assert not NetCondition(unix="/**").matches(inet("127.0.0.1"))
    assert NetCondition(unix=["/a", "/b"]).matches(SockAddr("unix", path="/b"))


def test_describe_gives_the_keys_as_written() -> None:
    cond = NetCondition(address=["10.0.0.0/8"], port=[443, "8000-9000"])
    assert cond.describe() == {"address": ["10.0.0.0/8"], "port": [443, "8000-9000"]}
    assert NetCondition(unix="$HOME/s", env=ENV).describe() == {"unix": "$HOME/s"}
    assert NetCondition(port=80).families() == {"inet", "inet6"}


@pytest.mark.parametrize(("kwargs", "key", "fragment"), [
    ({"address": "10.0.0.1/8"}, "address", "host bits set (did you mean 10.0.0.0/8?)"),
    ({"address": "localhost"}, "address", "not an IP address"),
    ({"address": "10.0.0.0/33"}, "address", "not an IP address"),
    ({"address": 10}, "address", "not an integer"),
    ({"address": []}, "address", "empty list"),
    ({"port": "http"}, "port", "not a port"),
    ({"port": 70000}, "port", "out of range"),
    ({"port": "9000-8000"}, "port", "empty port range"),
    ({"port": True}, "port", "not a boolean"),
    ({"port": 1.5}, "port", "not a number"),
    ({"unix": "relative/sock"}, "unix", "not an absolute path"),
    ({"unix": 5}, "unix", "not an integer"),
    ({"unix": "/x", "port": 80}, "port", "cannot be combined"),
    ({}, "address", "needs address, port, host or unix"),
])
def test_errors(kwargs: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(NetConditionError) as info:
        NetCondition(**kwargs)  # type: ignore[arg-type]
    assert info.value.key == key
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


_networks = st.one_of(
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 128)),
).map(lambda t: ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))


@settings(max_examples=150, deadline=None)
@given(_networks, st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_cidr_matches_like_ipaddress(network: ipaddress.IPv4Network | ipaddress.IPv6Network,
                                     host: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    mapped = ipaddress.IPv6Network("::ffff:0:0/96")
    if network.version == 6 and network.subnet_of(mapped):  # type: ignore[arg-type]
        return  # those are unmapped on purpose, see test_address
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        return
    expected = host.version == network.version and host in network
    assert NetCondition(address=str(network)).matches(inet(str(host))) is expected


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535))
def test_port_range_like_arithmetic(a: int, b: int, port: int) -> None:
    low, high = min(a, b), max(a, b)
    cond = NetCondition(port=f"{low}-{high}")
    assert cond.matches(inet("1.1.1.1", port)) is (low <= port <= high)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"address": "10.0.0.5"}, True), ({"address": "::1"}, True),   # any host, any family
    ({"address": "10.0.0.5", "port": 53}, True), ({"port": 54}, False),  # the port holds
    ({"host": "example.org"}, True), ({"unix": "/run/s"}, False),
])
def test_a_destination_standing_for_several_hosts_may_reach_any_host(
        kwargs: dict[str, object], expected: bool) -> None:
    """A broadcast or multicast destination (red team 37) may reach the hosts an IP
    condition names, whatever its addresses or names: only its port must hold."""
    many = SockAddr("inet", "192.0.2.255", 53, many=True)
    condition = NetCondition(**kwargs, env=ENV)  # type: ignore[arg-type]
    assert condition.may_reach(many) is expected
    assert not condition.may_reach(SockAddr("unix", path="/run/s"))
