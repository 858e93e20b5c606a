"""engine/destinations.py, the pure part: where a call on a socket goes, against a table written
from the kernel's sources (each row names the function it comes from), and its properties over
any bytes at all.  tests/engine/test_destinations_kernel.py checks the same code against the kernel
itself."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import struct
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.engine.destinations import (
    BIND,
    CONNECT,
    NOTHING,
    SEND,
    Destination,
    destination,
    socket_dependent,
)
from systrace_py.policy.files import loads_policy
from systrace_py.policy.filterplan import TRACE, PlanOptions, Verdict, plan
from systrace_py.policy.model import SockAddr
from systrace_py.syscalls import BY_NAME, makes_unseen, seen_socket

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 0, 1, 2, 10, 16, 17
STREAM, DGRAM, RAW, SEQPACKET = 1, 2, 3, 5
TCP, UDP, UDPLITE, ICMP, ICMPV6, SCTP, RAW_PROTO, MPTCP = 6, 17, 136, 1, 58, 132, 255, 262
MSG_FASTOPEN = 0x20000000
PORT = 4242


@dataclass(frozen=True)
class FakeSocket:
    """A socket as the engine would read it."""

    family: int
    type: int
    protocol: int
    only_v6: bool = False
    local: str = ""
    broadcasts: tuple[str, ...] = ("127.255.255.255",)
    bound_device: bool = False   # SO_BINDTODEVICE
    unicast_device: bool = False  # IP_UNICAST_IF

    def v6only(self) -> bool:
        return self.only_v6

    def local_host(self) -> str:
        return self.local or ("::" if self.family == AF_INET6 else "0.0.0.0")

    def broadcast(self, host: str) -> bool:
        return host in self.broadcasts

    def device(self, unicast: bool) -> bool:
        return self.bound_device or (unicast and self.unicast_device)


SOCKETS = {"tcp4": (AF_INET, STREAM, TCP), "udp4": (AF_INET, DGRAM, UDP),
           "lite4": (AF_INET, DGRAM, UDPLITE), "ping4": (AF_INET, DGRAM, ICMP),
           "tcp6": (AF_INET6, STREAM, TCP), "udp6": (AF_INET6, DGRAM, UDP),
           "lite6": (AF_INET6, DGRAM, UDPLITE), "ping6": (AF_INET6, DGRAM, ICMPV6)}


def v4(host: str, port: int = PORT, family: int = AF_INET) -> bytes:
    return struct.pack("<H", family) + struct.pack(">H", port) + socket.inet_aton(host) + \
        bytes(8)


def v6(host: str, port: int = PORT, family: int = AF_INET6) -> bytes:
    return struct.pack("<H", family) + struct.pack(">H", port) + bytes(4) + \
        ipaddress.IPv6Address(host).packed + bytes(4)


def inet(host: str, port: int = PORT) -> SockAddr:
    return SockAddr("inet", host, port)


def inet6(host: str, port: int = PORT) -> SockAddr:
    return SockAddr("inet6", host, port)


# --- the table: (socket, its state, call, flags, address) -> where, from the kernel's code ----
# "local": the socket's local address (getsockname); "v6only": IPV6_V6ONLY.
ROWS: list[tuple[str, dict[str, object], str, int, bytes | None, SockAddr | None]] = [
    # udp_sendmsg: AF_UNSPEC is taken for AF_INET; the whole sockaddr_in is needed; port 0 EINVAL
    ("udp4", {}, SEND, 0, v4("127.0.0.2"), inet("127.0.0.2")),
    ("udp4", {}, SEND, 0, v4("127.0.0.2", family=AF_UNSPEC), inet("127.0.0.2")),
    ("lite4", {}, SEND, 0, v4("127.0.0.2", family=AF_UNSPEC), inet("127.0.0.2")),
    ("udp4", {}, SEND, 0, v4("127.0.0.2")[:15], None),
    ("udp4", {}, SEND, 0, v4("127.0.0.2", port=0), None),
    ("udp4", {}, SEND, 0, v6("::1"), None),                     # EAFNOSUPPORT
    ("udp4", {}, SEND, 0, v6("::ffff:127.0.0.2"), None),        # (not read as mapped)
    ("udp4", {}, SEND, 0, None, None),                          # the connected peer
    ("udp4", {}, SEND, 0, b"", None),                           # sendto(ptr, 0): EINVAL
    # ip_route_output_key_hash_rcu: no destination: the source, else loopback
    ("udp4", {}, SEND, 0, v4("0.0.0.0"), inet("127.0.0.1")),
    ("udp4", {"local": "127.0.0.2"}, SEND, 0, v4("0.0.0.0"), inet("127.0.0.2")),
    ("udp4", {"local": "127.0.0.2"}, SEND, 0, v4("0.0.0.0", family=AF_UNSPEC),
     inet("127.0.0.2")),
    # udpv6_sendmsg: AF_INET down the IPv4 path, mapped as the sockaddr_in it is, AF_UNSPEC as
    # no address, "::" as ::1; IPV6_V6ONLY refuses the IPv4 path (ENETUNREACH)
    ("udp6", {}, SEND, 0, v4("127.0.0.2"), inet("127.0.0.2")),
    ("udp6", {}, SEND, 0, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("udp6", {"v6only": True}, SEND, 0, v4("127.0.0.2"), None),
    ("udp6", {}, SEND, 0, v6("::ffff:127.0.0.2"), inet("127.0.0.2")),
    ("udp6", {"v6only": True}, SEND, 0, v6("::ffff:127.0.0.2"), None),
    ("udp6", {}, SEND, 0, v6("::ffff:0.0.0.0"), inet("127.0.0.1")),
    ("udp6", {"local": "::ffff:127.0.0.2"}, SEND, 0, v6("::ffff:0.0.0.0"), inet("127.0.0.2")),
    ("udp6", {"local": "::ffff:127.0.0.2"}, SEND, 0, v4("0.0.0.0"), inet("127.0.0.2")),
    ("udp6", {}, SEND, 0, v6("::"), inet6("::1")),
    ("udp6", {"local": "::ffff:127.0.0.2"}, SEND, 0, v6("::"), inet("127.0.0.1")),
    ("udp6", {}, SEND, 0, v6("::2"), inet6("::2")),
    ("udp6", {}, SEND, 0, v6("::1")[:23], None),
    ("udp6", {}, SEND, 0, v6("::1", port=0), None),
    ("udp6", {}, SEND, 0, v4("127.0.0.2")[:15], None),
    ("udp6", {}, SEND, 0, b"\x01\x00/x\0", None),              # AF_UNIX: EINVAL
    # ping_v4_sendmsg: AF_INET only, no port needed; ping_v6_sendmsg: a whole sockaddr_in6
    ("ping4", {}, SEND, 0, v4("127.0.0.2", port=0), inet("127.0.0.2", 0)),
    ("ping4", {}, SEND, 0, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("ping4", {"local": "127.0.0.2"}, SEND, 0, v4("0.0.0.0"), inet("127.0.0.2")),
    ("ping6", {}, SEND, 0, v6("::1"), inet6("::1")),
    ("ping6", {}, SEND, 0, v6("::1")[:24], None),
    ("ping6", {}, SEND, 0, v6("::ffff:127.0.0.2"), None),      # EINVAL
    ("ping6", {}, SEND, 0, v4("127.0.0.2"), None),
    # tcp_sendmsg: the address only with MSG_FASTOPEN (tcp_sendmsg_fastopen: AF_UNSPEC is
    # EOPNOTSUPP, the rest __inet_stream_connect's)
    ("tcp4", {}, SEND, 0, v4("127.0.0.2"), None),
    ("tcp4", {}, SEND, MSG_FASTOPEN, v4("127.0.0.2"), inet("127.0.0.2")),
    ("tcp4", {}, SEND, MSG_FASTOPEN, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("tcp6", {}, SEND, MSG_FASTOPEN, v6("::ffff:127.0.0.2"), inet("127.0.0.2")),
    ("tcp6", {}, SEND, MSG_FASTOPEN, v4("127.0.0.2"), None),   # EINVAL (shorter than 24)
    # __inet_stream_connect: AF_UNSPEC disconnects; tcp_v4_connect / tcp_v6_connect
    ("tcp4", {}, CONNECT, 0, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("tcp4", {}, CONNECT, 0, v4("127.0.0.2"), inet("127.0.0.2")),
    ("tcp4", {}, CONNECT, 0, v6("::ffff:127.0.0.2"), None),    # EAFNOSUPPORT
    ("tcp4", {"local": "127.0.0.2"}, CONNECT, 0, v4("0.0.0.0"), inet("127.0.0.2")),
    ("tcp6", {}, CONNECT, 0, v6("::"), inet6("::1")),
    ("tcp6", {"local": "::ffff:127.0.0.2"}, CONNECT, 0, v6("::"), inet("127.0.0.1")),
    ("tcp6", {}, CONNECT, 0, v6("::ffff:127.0.0.2"), inet("127.0.0.2")),
    ("tcp6", {"v6only": True}, CONNECT, 0, v6("::ffff:127.0.0.2"), None),
    ("tcp6", {}, CONNECT, 0, v6("ff02::1"), None),             # ENETUNREACH
    # inet_dgram_connect (AF_UNSPEC disconnects), __ip4/__ip6_datagram_connect
    ("udp4", {}, CONNECT, 0, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("udp4", {}, CONNECT, 0, v4("127.0.0.2", port=0), inet("127.0.0.2", 0)),
    ("udp6", {}, CONNECT, 0, v4("127.0.0.2"), inet("127.0.0.2")),
    ("udp6", {"v6only": True}, CONNECT, 0, v4("127.0.0.2"), None),
    ("udp6", {}, CONNECT, 0, v6("::"), inet6("::1")),
    ("ping6", {}, CONNECT, 0, v4("127.0.0.2"), None),          # ip6_datagram_connect_v6_only
    ("ping6", {}, CONNECT, 0, v6("::"), inet6("::1")),
    # inet_bind: AF_UNSPEC only with INADDR_ANY; inet6_bind: mapped binds the IPv4 address
    ("udp4", {}, BIND, 0, v4("0.0.0.0", family=AF_UNSPEC), inet("0.0.0.0")),
    ("tcp4", {}, BIND, 0, v4("127.0.0.2", family=AF_UNSPEC), None),
    ("tcp4", {}, BIND, 0, v4("127.0.0.2"), inet("127.0.0.2")),
    ("tcp6", {}, BIND, 0, v6("::ffff:127.0.0.2"), inet("127.0.0.2")),
    ("tcp6", {"v6only": True}, BIND, 0, v6("::ffff:127.0.0.2"), None),
    ("tcp6", {}, BIND, 0, v6("::"), inet6("::")),
    ("tcp6", {}, BIND, 0, v4("127.0.0.2"), None),
]


@pytest.mark.parametrize(("kind", "state", "call", "flags", "raw", "where"), ROWS)
def test_the_kernel_table(kind, state, call, flags, raw, where):
    sock = FakeSocket(*SOCKETS[kind], only_v6=bool(state.get("v6only")),
                      local=str(state.get("local", "")))
    assert destination(sock, call, raw, flags=flags).address == where


UNIX_ROWS = [
    # unix_dgram_sendmsg validates a name (unix_validate_addr); a stream socket refuses one,
    # a seqpacket socket drops it
    (DGRAM, SEND, b"\x01\x00/run/x\0", SockAddr("unix", path="/run/x")),
    (DGRAM, SEND, b"\x01\x00\0abstract", SockAddr("unix", path="@abstract")),
    (DGRAM, SEND, b"\x01\x00", None),
    (DGRAM, SEND, b"\x02\x00/run/x\0", None),
    (STREAM, SEND, b"\x01\x00/run/x\0", None),
    (SEQPACKET, SEND, b"\x01\x00/run/x\0", None),
    (STREAM, CONNECT, b"\x01\x00rel/x\0junk", SockAddr("unix", path="rel/x")),
    (STREAM, CONNECT, b"\x00\x00/run/x\0", None),              # (no AF_UNSPEC for streams)
    (DGRAM, CONNECT, b"\x00\x00/run/x\0", None),               # disconnect
    (STREAM, CONNECT, b"\x01\x00" + b"a" * 109, None),          # longer than sockaddr_un
    (STREAM, BIND, b"\x01\x00", SockAddr("unix", path="")),    # autobind
]


@pytest.mark.parametrize(("kind", "call", "raw", "where"), UNIX_ROWS)
def test_unix_addresses(kind, call, raw, where):
    found = destination(FakeSocket(AF_UNIX, kind, 0), call, raw)
    assert found.address == where
    assert found.unix_path == (where is not None and bool(where.path) and
                               not where.path.startswith("@"))


@pytest.mark.parametrize(("family", "kind", "protocol"), [
    (AF_INET, RAW, RAW_PROTO), (AF_INET, RAW, ICMP), (AF_INET6, RAW, 58), (AF_PACKET, DGRAM, 3),
    (AF_PACKET, RAW, 768), (AF_INET, STREAM, SCTP), (AF_INET, SEQPACKET, SCTP),
    (AF_INET, STREAM, MPTCP), (AF_INET, DGRAM, 115), (40, STREAM, 0), (AF_INET6, DGRAM, ICMP)])
def test_a_socket_the_engine_does_not_see_is_refused(family, kind, protocol):
    """Raw sockets (their own IP header), packet sockets, SCTP, MPTCP, L2TP, vsock...: their
    destinations are chosen outside their address."""
    sock = FakeSocket(family, kind, protocol)
    for call in (SEND, CONNECT, BIND):
        assert destination(sock, call, v4("127.0.0.2")).unseen
    assert makes_unseen("socket", (family, kind, protocol, 0, 0, 0))


# --- properties over any bytes -----------------------------------------------------------------
# (the strategies drawn from below are made once: a list's sampled_from made at each draw
# was validated and labelled anew by hypothesis each time; the same strategies, the same
# examples)
_SOCKET_KINDS = st.sampled_from(
    [*SOCKETS.values(), (AF_UNIX, STREAM, 0), (AF_UNIX, DGRAM, 0), (AF_UNIX, SEQPACKET, 0),
     (AF_NETLINK, DGRAM, 0)])
_LOCALS = {AF_INET: st.sampled_from(["", "127.0.0.2", "10.1.2.3", "224.0.0.1",
                                     "127.255.255.255"]),
           AF_INET6: st.sampled_from(["", "::1", "::ffff:127.0.0.2", "fe80::1"])}
_NO_LOCAL = st.sampled_from([""])
_BOOLEANS = st.booleans()
_ONE_IN_21 = st.integers(0, 20)
_ADDRESS_FAMILIES = st.sampled_from([AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, 99])
_ADDRESS_BODIES = st.binary(max_size=126)
_HOSTS = st.sampled_from([b"\x7f\0\0\2", bytes(4), b"\xe0\0\0\1"])


@st.composite
def any_socket(draw: st.DrawFn) -> FakeSocket:
    family, kind, protocol = draw(_SOCKET_KINDS)
    return FakeSocket(family, kind, protocol, draw(_BOOLEANS),
                      draw(_LOCALS.get(family, _NO_LOCAL)))


@st.composite
def any_address(draw: st.DrawFn) -> bytes | None:
    if draw(_ONE_IN_21) == 0:
        return None
    family = draw(_ADDRESS_FAMILIES)
    body = draw(_ADDRESS_BODIES)
    if draw(_BOOLEANS):  # an address of interest where the kernel reads one
        host = draw(_HOSTS)
        body = body[:2].ljust(2, b"\1") + host + body[6:]
    return struct.pack("<H", family) + body


@settings(max_examples=3000, deadline=None)
@given(sock=any_socket(), call=st.sampled_from([SEND, CONNECT, BIND]), raw=any_address(),
       flags=st.sampled_from([0, MSG_FASTOPEN]), control=st.binary(max_size=64))
def test_any_bytes_give_an_answer_of_the_kernels_form(sock, call, raw, flags, control):
    """Never an exception; IPv4-mapped addresses are given as IPv4 ones; a send or connect
    never goes to the unspecified address; nothing but a unix socket reaches a unix path; an
    answer that read the socket's state says so."""
    found = destination(sock, call, raw, flags=flags, control=control)
    assert isinstance(found, Destination)
    address = found.address
    if found.unseen:
        assert found.state and found.why  # (the only unseen case of a seen socket)
        return
    if address is None:
        return
    if address.family == "inet6":
        assert ipaddress.IPv6Address(address.host).ipv4_mapped is None
        assert call == BIND or address.host != "::"
    if address.family == "inet":
        assert call == BIND or address.host != "0.0.0.0"
    if address.family == "unix":
        assert sock.family == AF_UNIX
    if address.family in ("inet", "inet6"):
        assert sock.family in (AF_INET, AF_INET6)
    if raw is not None and len(raw) >= 8 and raw[4:8] == bytes(4) and call != BIND and \
            sock.family == AF_INET and address.family == "inet":
        assert found.state or control  # the unspecified address: the source decided


@settings(max_examples=500, deadline=None)
@given(host=st.ip_addresses(v=4).filter(lambda a: str(a) != "0.0.0.0"),
       port=st.integers(1, 65535), kind=st.sampled_from(["udp4", "udp6", "tcp4"]))
def test_a_plain_address_does_not_depend_on_the_socket(host, port, kind):
    """An AF_INET address of a host, sent or connected to: every socket reads it as that host
    or not at all, so another task changing the socket cannot send it elsewhere (no freeze)."""
    raw = v4(str(host), port)
    call = CONNECT if kind == "tcp4" else SEND
    sock = FakeSocket(*SOCKETS[kind])
    found = destination(sock, call, raw)
    assert found.address is not None
    assert dataclasses.replace(found.address, many=False) == inet(str(host), port)
    # a datagram to a multicast group or a broadcast address stands for several hosts
    assert found.address.many == (kind != "tcp4" and (
        host.is_multicast or str(host) == "255.255.255.255" or sock.broadcast(str(host))))
    assert not socket_dependent(found, call, raw)


@pytest.mark.parametrize(("kind", "only_v6", "call", "flags", "raw"), [
    ("tcp4", False, SEND, 0, v4("127.0.0.2", family=AF_UNSPEC)),  # UDP would send it
    ("tcp4", False, SEND, 0, v4("127.0.0.2")),                    # TCP ignores it, UDP not
    ("udp4", False, SEND, 0, v4("0.0.0.0")),                      # the source: bind changes it
    ("udp6", True, SEND, 0, v4("127.0.0.2")),                     # clearing IPV6_V6ONLY
    ("tcp4", False, CONNECT, 0, v4("0.0.0.0")),                   # the source again
])
def test_what_another_socket_reads_otherwise_depends_on_the_socket(kind, only_v6, call, flags,
                                                                    raw):
    found = destination(FakeSocket(*SOCKETS[kind], only_v6=only_v6), call, raw, flags=flags)
    assert socket_dependent(found, call, raw, flags)


def test_a_disconnect_is_one_on_every_socket():
    """connect(AF_UNSPEC) disconnects whatever socket is there: no other task can make it
    reach anything."""
    raw = v4("127.0.0.2", family=AF_UNSPEC)
    found = destination(FakeSocket(*SOCKETS["tcp4"]), CONNECT, raw)
    assert found == NOTHING and not socket_dependent(found, CONNECT, raw)


def test_a_socket_bound_to_a_broadcast_address_sending_nowhere_is_refused():
    """Its source is what its last route chose, which no system call shows: not guessed."""
    for local in ("127.255.255.255", "224.0.0.1", "255.255.255.255"):
        found = destination(FakeSocket(AF_INET, DGRAM, UDP, local=local), SEND, v4("0.0.0.0"))
        assert found.unseen and found.state


def test_ip_pktinfo_chooses_the_source_of_the_unspecified_address():
    """ip_cmsg_send: the last IP_PKTINFO's ipi_spec_dst (and on an IPv6 socket a mapped
    IPV6_PKTINFO) is the source, and so the destination; a malformed one fails the send."""
    def pktinfo(spec: str) -> bytes:
        return struct.pack("<Qii", 28, 0, 8) + struct.pack("<i", 0) + socket.inet_aton(spec) + \
            bytes(4) + bytes(4)

    def pktinfo6(address: str) -> bytes:
        return struct.pack("<Qii", 36, 41, 50) + ipaddress.IPv6Address(address).packed + \
            bytes(4) + bytes(4)

    udp4, udp6 = FakeSocket(*SOCKETS["udp4"]), FakeSocket(*SOCKETS["udp6"])
    any4 = v4("0.0.0.0")
    assert destination(udp4, SEND, any4, control=pktinfo("127.0.0.2")).address == \
        inet("127.0.0.2")
    assert destination(udp4, SEND, any4,
                       control=pktinfo("127.0.0.2") + pktinfo("127.0.0.6")).address == \
        inet("127.0.0.6")
    assert destination(udp4, SEND, any4, control=pktinfo6("::ffff:127.0.0.2")).address == \
        inet("127.0.0.1")  # (an IPv4 socket does not read IPV6_PKTINFO)
    assert destination(udp6, SEND, any4, control=pktinfo6("::ffff:127.0.0.2")).address == \
        inet("127.0.0.2")
    assert destination(udp6, SEND, any4, control=pktinfo6("::1")) == NOTHING  # EINVAL
    assert destination(udp4, SEND, any4, control=pktinfo("127.0.0.2")[:27]) == NOTHING
    bound = FakeSocket(*SOCKETS["udp4"], local="127.0.0.2")
    assert destination(bound, SEND, any4, control=pktinfo("0.0.0.0")).address == \
        inet("127.0.0.1")  # (ipi_spec_dst replaces the bound source, even with nothing)


def test_the_unspecified_address_by_a_chosen_device_is_refused():
    """ip_route_output_key_hash_rcu: a flow with an output interface and no source takes the
    device's address (inet_select_addr), and 0.0.0.0 goes there -- not to 127.0.0.1 (red team
    69).  The device comes from an IP_PKTINFO or a mapped IPV6_PKTINFO ifindex, the bound
    device, and for a datagram IP_UNICAST_IF (TCP's connect reads the bound device alone).
    A source, bound or in the message, still decides it."""
    def pktinfo(ifindex: int, spec: str = "0.0.0.0") -> bytes:
        return struct.pack("<Qii", 28, 0, 8) + struct.pack("<i", ifindex) + \
            socket.inet_aton(spec) + bytes(4) + bytes(4)

    def pktinfo6(ifindex: int) -> bytes:
        return struct.pack("<Qii", 36, 41, 50) + \
            ipaddress.IPv6Address("::ffff:0.0.0.0").packed + struct.pack("<i", ifindex) + \
            bytes(4)

    any4, mapped_any = v4("0.0.0.0"), v6("::ffff:0.0.0.0")
    udp4, udp6 = FakeSocket(*SOCKETS["udp4"]), FakeSocket(*SOCKETS["udp6"])
    refused = [
        (udp4, SEND, any4, pktinfo(2)), (udp6, SEND, mapped_any, pktinfo6(2)),
        (FakeSocket(*SOCKETS["udp4"], bound_device=True), SEND, any4, b""),
        (FakeSocket(*SOCKETS["udp4"], unicast_device=True), CONNECT, any4, b""),
        (FakeSocket(*SOCKETS["ping4"], unicast_device=True), SEND, any4, b""),
        (FakeSocket(*SOCKETS["udp6"], bound_device=True), SEND, mapped_any, b""),
        (FakeSocket(*SOCKETS["tcp4"], bound_device=True), CONNECT, any4, b""),
        (FakeSocket(*SOCKETS["tcp6"], bound_device=True), CONNECT, mapped_any, b"")]
    for sock, call, raw, control in refused:
        found = destination(sock, call, raw, control=control)
        assert found.unseen and found.state and found.address is None, (sock, found)
    assert destination(udp4, SEND, any4, control=pktinfo(0)).address == inet("127.0.0.1")
    assert destination(udp4, SEND, any4, control=pktinfo(2, "127.0.0.2")).address == \
        inet("127.0.0.2")
    bound = FakeSocket(*SOCKETS["udp4"], local="127.0.0.2", bound_device=True)
    assert destination(bound, SEND, any4).address == inet("127.0.0.2")
    tcp = FakeSocket(*SOCKETS["tcp4"], unicast_device=True)  # (tcp_v4_connect: no uc_index)
    found = destination(tcp, CONNECT, any4)
    assert found.address == inet("127.0.0.1") and found.state


# --- socket(): what the filter refuses and what the decoder sees are one list ------------------
@settings(max_examples=3000, deadline=None)
@given(family=st.integers(0, 70), kind=st.integers(0, 15),
       flags=st.sampled_from([0, 0x800, 0x80000, 0x80800, 0x100]),
       protocol=st.one_of(st.integers(0, 300), st.sampled_from([2**31 - 1, 2**32 - 1])))
def test_socket_refuses_exactly_what_the_decoder_cannot_see(family, kind, flags, protocol):
    """socket()'s cases (the filter's BPF and the stop's check) refuse a socket exactly when
    its kind is one the decoder does not see and the kernel would make it (valid flags, a
    type below SOCK_MAX; every family below 64, so a newer kernel's too)."""
    refused = makes_unseen("socket", (family, kind | flags, protocol, 0, 0, 0))
    sockets = BY_NAME["socket"].unseen
    assert sockets is not None
    kernel_would_try = flags != 0x100 and kind < 11
    seen = seen_socket(sockets, family, kind, protocol)
    assert refused == (kernel_would_try and family < 64 and not seen)


# --- the plan: under address rules, socket() making an unseen socket is refused ----------------
def _tables(text: str) -> list:
    return loads_policy(text, "p.toml", {}).tables()


_REFUSE_2 = '[[rule]]\ncalls = ["net-connect"]\naddress = "127.0.0.2"\naction = "never"\n'
_EPERM = Verdict("errno", 1)


@pytest.mark.parametrize(("text", "unseen", "call"), [
    (_REFUSE_2, _EPERM, "allow"),
    # a rule naming socket (or net-socket) lifts it
    ('[[rule]]\ncalls = ["net-socket"]\naction = "permit"\n' + _REFUSE_2, None, "allow"),
    ('[[rule]]\ncalls = ["socket"]\naction = "permit"\n' + _REFUSE_2, None, "allow"),
    # address rules: a refusing, asking or redirecting one about an IP address or port
    ('[[rule]]\ncalls = ["net-connect"]\nport = 25\naction = "ask"\n', _EPERM, "allow"),
    ('[[rule]]\ncalls = ["net-connect"]\naddress = "10.0.0.0/8"\naction = "permit"\n'
     'redirect = "127.0.0.1:8080"\n', _EPERM, "allow"),
    # a refusal of connects with no condition (the catch-all after permitted hosts): a
    # packet socket's write names no address it could refuse (red team 87)
    ('[[rule]]\ncalls = ["net-connect"]\naction = "never"\n', _EPERM, "allow"),
    ('[[rule]]\ncalls = ["connect"]\naction = "ask"\n', _EPERM, "allow"),
    # not address rules: permits, unix sockets, a bare refusal of no connect
    ('[[rule]]\ncalls = ["connect"]\naction = "permit"\n', None, "allow"),
    ('[[rule]]\ncalls = ["sendto"]\naction = "never"\n', None, "allow"),
    ('[[rule]]\ncalls = ["net-connect"]\naddress = "10.0.0.0/8"\naction = "permit"\n', None,
     "allow"),
    ('[[rule]]\ncalls = ["net-connect"]\nunix = "/run/x"\naction = "never"\n', None, "allow"),
    # a default that refuses socket() with another errno: both cases stop, the tracer decides
    ('default = "never"\ndefault_errno = "EACCES"\n' + _REFUSE_2, None, "trace"),
    ('default = "never"\n' + _REFUSE_2, None, "errno"),  # (the same EPERM: no stop)
    # a table for a program without address rules refuses them too (a socket outlives exec)
    (_REFUSE_2 + '[program."/usr/bin/true"]\ndefault = "permit"\n', _EPERM, "allow"),
    (_REFUSE_2 + '[program."/usr/bin/true"]\ndefault = "permit"\n[[program."/usr/bin/true".rule]]\n'
     'calls = ["socket"]\naction = "permit"\n', TRACE, "allow"),
])
def test_the_plan_refuses_unseen_sockets_under_address_rules(text, unseen, call):
    found = plan(_tables(text))
    assert found.unseen.get("socket") == unseen
    assert found.calls["socket"].kind == call
    quiet_raw = (2, 3, 255, 0, 0, 0)
    if unseen is not None:
        assert found.verdict("socket", quiet_raw) == unseen
    assert found.verdict("socket", (2, 2, 17, 0, 0, 0)) == found.calls["socket"]


def test_refusals_that_are_reported_stop():
    """Refusals the command reports (not -q) stop, so the tracer says them."""
    found = plan(_tables(_REFUSE_2), PlanOptions(see_refusals=True))
    assert found.unseen["socket"] == TRACE


def test_a_fast_open_send_on_tcp_connects_and_no_other_send_does() -> None:
    """tcp_sendmsg_fastopen connects the socket before it sends: such a send's destination
    ``connects`` (decided as a connect too: review 71, close 47); a UDP send with the flag
    (udp_sendmsg ignores it), a TCP send without it, a connect itself do not."""
    tcp4, tcp6, udp4 = (FakeSocket(*SOCKETS[k]) for k in ("tcp4", "tcp6", "udp4"))
    assert destination(tcp4, SEND, v4("127.0.0.2"), flags=MSG_FASTOPEN).connects
    assert destination(tcp6, SEND, v6("::ffff:127.0.0.2"), flags=MSG_FASTOPEN).connects
    assert not destination(tcp4, SEND, v4("127.0.0.2", family=AF_UNSPEC),
                           flags=MSG_FASTOPEN).connects
    assert not destination(tcp4, SEND, v4("127.0.0.2")).connects
    assert not destination(udp4, SEND, v4("127.0.0.2"), flags=MSG_FASTOPEN).connects
    assert not destination(tcp4, CONNECT, v4("127.0.0.2")).connects
