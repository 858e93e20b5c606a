"""Where a call on a socket connects, sends or binds, as the kernel decides it.

The kernel does not read a socket address by the address's own family field: the socket's
family, type and protocol choose the code that reads it, and each reads it its own way.
``udp_sendmsg`` on an IPv4 socket takes ``AF_UNSPEC`` for ``AF_INET`` and sends to its
``sin_addr``; an IPv6 UDP socket sends an ``AF_INET`` address down the IPv4 path (unless
IPV6_V6ONLY) and takes ``AF_UNSPEC`` for "no address"; TCP ignores a send's address unless
``MSG_FASTOPEN``; ``connect`` with ``AF_UNSPEC`` disconnects; the unspecified IPv4 address
reaches the socket's own source address (its bound address, or an ``IP_PKTINFO`` control
message's), 127.0.0.1 only when it has none and no device is chosen for it (a device's own
address when one is: refused, see :func:`_v4`).  :func:`destination` is that code, written from the
kernel's (net/socket.c; net/ipv4/af_inet.c, udp.c, ping.c, tcp_ipv4.c, datagram.c, route.c;
net/ipv6/af_inet6.c, udp.c, ping.c, tcp_ipv6.c, datagram.c; net/unix/af_unix.c;
net/netlink/af_netlink.c) and checked against the kernel itself (tests/engine/
test_destinations_kernel.py runs each case natively and sees where the packet goes).

Only the sockets the syscall table's ``socket`` entry sees (``syscalls.Sockets``: TCP, UDP,
UDP-Lite and ping over IPv4 and IPv6, unix, netlink) are decoded; any other socket is
:data:`UNSEEN` (its destinations are chosen outside its address: refused, see
``Sockets``).  Pure: the engine reads the socket (:class:`SocketView`, engine/decode.py).
"""

from __future__ import annotations

import _socket
import dataclasses
import functools
import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from systrace_py.kernel import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_UNIX,
    AF_UNSPEC,
    IP_PKTINFO,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_PKTINFO,
    MSG_FASTOPEN,
    SIN6_LEN_RFC2133,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOCKADDR_UN_SIZE,
)
from systrace_py.policy.model import SockAddr
from systrace_py.syscalls import BY_NAME, Sockets, seen_socket

CONNECT, SEND, BIND = "connect", "send", "bind"
#: the call each address-carrying system call is, for this module
CALL_OF = {"connect": CONNECT, "sendto": SEND, "sendmsg": SEND, "sendmmsg": SEND, "bind": BIND}

_SEEN: Sockets = BY_NAME["socket"].unseen  # type: ignore[assignment]
_SIN_SIZE = 16          # sizeof(struct sockaddr_in)
_SIN6_SIZE = 28         # sizeof(struct sockaddr_in6)
_NL_SIZE = 12           # sizeof(struct sockaddr_nl)
_SUN_PATH = 2           # offsetof(struct sockaddr_un, sun_path)
_CMSG_HEADER = 16       # struct cmsghdr on x86_64: size_t len, int level, int type
_IN_PKTINFO = 12        # struct in_pktinfo: ifindex, spec_dst, addr
_IN6_PKTINFO = 20       # struct in6_pktinfo: addr, ifindex
_ANY4 = "0.0.0.0"
_ANY4_PACKED = bytes(4)
_LOOPBACK4 = "127.0.0.1"
_LIMITED_BROADCAST = "255.255.255.255"


class Destination(NamedTuple):
    """What a call names, as the kernel will use it (a NamedTuple: made at every decision on
    an address, at a tenth of a frozen dataclass's cost).

    ``address``: where it connects, sends or binds.  None when it names nothing of its own:
    the kernel fails the call (EINVAL, EAFNOSUPPORT, ENETUNREACH...), disconnects the socket
    (``AF_UNSPEC``), ignores the address (TCP without MSG_FASTOPEN, a stream or seqpacket unix
    socket), or sends to the peer the socket is connected to -- which its connect was checked
    for.  ``unix_path``: ``address.path`` is a unix socket path as written, to resolve in the
    caller's view.  ``unseen``: a socket whose destinations the engine does not decode.
    ``state``: the answer rests on the socket's state (its local address, IPV6_V6ONLY set),
    which another task holding the socket may change before the call runs (IPV6_V6ONLY found
    clear is no such answer: setting it can only make the call fail).  ``why``: for
    ``unseen``, what could not be seen.  ``connects``: a send that connects the socket to
    ``address`` first -- MSG_FASTOPEN on TCP (tcp_sendmsg_fastopen runs
    __inet_stream_connect): it is the connect it makes as well (review 71)."""

    address: SockAddr | None = None
    unix_path: bool = False
    unseen: bool = False
    state: bool = False
    why: str = ""
    connects: bool = False


NOTHING = Destination()
UNSEEN = Destination(unseen=True, why="a socket whose destinations the engine cannot see "
                                      "(raw, packet, SCTP...)")


class SocketView(Protocol):
    """The socket a call acts on, as the kernel has it: what SO_DOMAIN, SO_TYPE and
    SO_PROTOCOL say, and on demand its state."""

    @property
    def family(self) -> int: ...

    @property
    def type(self) -> int: ...

    @property
    def protocol(self) -> int: ...

    def v6only(self) -> bool:
        """IPV6_V6ONLY (asked of IPv6 sockets only)."""
        ...

    def local_host(self) -> str:
        """Its local address as getsockname gives it ("0.0.0.0" or "::" when unbound)."""
        ...

    def broadcast(self, host: str) -> bool:
        """Whether the caller's local routing table makes this IPv4 address a broadcast one."""
        ...

    def device(self, unicast: bool) -> bool:
        """Whether an output device is chosen for the socket's IPv4 packets: it is bound to one
        (SO_BINDTODEVICE, SO_BINDTOIFINDEX), or -- for a datagram, ``unicast`` -- one is
        set by IP_UNICAST_IF.  True when that cannot be told."""
        ...


class _Ambiguous(Exception):
    """The kernel's answer depends on state no system call shows."""


def destination(sock: SocketView, call: str, raw: bytes | None, *, flags: int = 0,
                control: bytes = b"") -> Destination:
    """Where ``call`` ("connect", "send" or "bind") on ``sock`` goes with the address ``raw``
    (the bytes the kernel copies: as many as the call's length says; None when a send names
    no address), its send ``flags`` and its ``control`` data (sendmsg)."""
    family, kind, protocol = sock.family, sock.type, sock.protocol
    if not seen_socket(_SEEN, family, kind, protocol):
        return UNSEEN
    try:
        if family == AF_UNIX:
            return _unix(kind, call, raw)
        if family == AF_NETLINK:
            return _netlink(call, raw)
        if call == BIND:
            return _inet_bind(sock, raw or b"")
        if kind == SOCK_STREAM:
            return _tcp(sock, call, raw, flags)
        if protocol in (IPPROTO_ICMP, IPPROTO_ICMPV6):
            return _ping(sock, call, raw, control)
        return _udp(sock, call, raw, control)
    except _Ambiguous as exc:
        return Destination(unseen=True, state=True, why=str(exc))


# --- reading the bytes ----------------------------------------------------------------------
def _family(raw: bytes) -> int:
    family: int = struct.unpack_from("<H", raw)[0]
    return family


def _port(raw: bytes) -> int:
    port: int = struct.unpack_from(">H", raw, 2)[0]
    return port


def _v4_text(packed: bytes) -> str:
    return _socket.inet_ntop(AF_INET, packed)


def _v6(raw: bytes) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(raw[8:24])


def _mapped(host: str) -> str | None:
    """The IPv4 address an IPv4-mapped IPv6 address text stands for, else None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return None


# --- IPv4 destinations ------------------------------------------------------------------------
def _v4(sock: SocketView, packed: bytes, port: int, source: str | None = None,
        state: bool = False, datagram: bool = False, device: bool = False) -> Destination:
    """An IPv4 destination.  The unspecified address is routed to the flow's source address
    (ip_route_output_key_hash_rcu: "daddr = saddr"): ``source`` when a control message chose
    it, else the socket's own.  With no source, the output device's: a flow with an output
    interface (``device``: a control message's ifindex; the socket's bound device; a
    datagram's IP_UNICAST_IF) and no source takes ``inet_select_addr(dev, 0,
    RT_SCOPE_HOST)`` -- the device's first address, or another device's -- so 0.0.0.0 from
    a socket tied to eth0 is the host's LAN address: refused rather than guessed (red team
    69).  Loopback only with neither.  A datagram's destination may stand for several hosts
    (:func:`_many_hosts`)."""
    if packed != _ANY4_PACKED:
        host = _v4_text(packed)
        return Destination(SockAddr("inet", host, port,
                                    many=datagram and _many_hosts(sock, host)), state=state)
    if source is None:
        source, state = _own_source(sock), True
    if source == _ANY4:
        if device or sock.device(unicast=datagram):
            raise _Ambiguous("the unspecified address from a socket whose packets leave by a "
                             "chosen device (its address is the destination)")
        source, state = _LOOPBACK4, True    # (a device set by another task changes it)
    return Destination(SockAddr("inet", source, port), state=state)


def _many_hosts(sock: SocketView, host: str) -> bool:
    """Whether a datagram to this IPv4 address goes to every host of a link or group that
    listens (ip_route_output_key_hash_rcu: RTN_MULTICAST, RTN_BROADCAST): a multicast group,
    the limited broadcast, or a broadcast address of the caller's routes (a link's directed
    broadcast).  TCP never connects to one (ENETUNREACH)."""
    return ipaddress.IPv4Address(host).is_multicast or host == _LIMITED_BROADCAST or \
        sock.broadcast(host)


def _own_source(sock: SocketView) -> str:
    """The socket's IPv4 source address (inet->inet_saddr) as its local address shows it.

    An IPv4 socket bound to a multicast or broadcast address has none (inet_bind: "use
    device"), but a connect gives it one that getsockname does not show: such a socket is
    refused rather than guessed at.  An IPv6 socket has the IPv4 address of an IPv4-mapped
    local address (__inet6_bind, or a connect to a mapped address); bound to an IPv6 address
    it is IPV6_V6ONLY, and a v6 connect leaves it none."""
    host = sock.local_host()
    if sock.family == AF_INET6:
        return _mapped(host) or _ANY4
    if host == _ANY4:
        return host
    if ipaddress.IPv4Address(host).is_multicast or host == _LIMITED_BROADCAST or \
            sock.broadcast(host):
        raise _Ambiguous(f"the unspecified address from a socket bound to {host} (a "
                         f"multicast or broadcast address: its source depends on its route)")
    return host


def _control_messages(control: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(level, type, data) of each control message, as for_each_cmsghdr walks them; a message
    CMSG_OK refuses ends the walk with EINVAL (ValueError)."""
    at = 0
    while at + _CMSG_HEADER <= len(control):
        length, level, kind = struct.unpack_from("<Qii", control, at)
        if length < _CMSG_HEADER or length > len(control) - at:
            raise ValueError("a control message CMSG_OK refuses")
        yield level, kind, control[at + _CMSG_HEADER:at + length]
        at += (length + 7) & ~7


def _pktinfo_source(control: bytes, ipv6_socket: bool) -> tuple[str | None, bool]:
    """The source address IP_PKTINFO (or, on an IPv6 socket, an IPv4-mapped IPV6_PKTINFO)
    sets for an IPv4 send (ip_cmsg_send: the last one wins), None when none does; and
    whether one names an output device (a non-zero ifindex: ``ipc->oif``).  A pktinfo
    message the kernel refuses fails the send (ValueError)."""
    source, device = None, False
    for level, kind, data in _control_messages(control):
        if ipv6_socket and level == IPPROTO_IPV6 and kind == IPV6_PKTINFO:
            if len(data) < _IN6_PKTINFO:
                raise ValueError("short IPV6_PKTINFO")
            mapped = ipaddress.IPv6Address(data[:16]).ipv4_mapped
            if mapped is None:
                raise ValueError("IPV6_PKTINFO that is not IPv4-mapped on an IPv4 send")
            source = str(mapped)
            device = device or struct.unpack_from("<i", data, 16)[0] != 0
        elif level == IPPROTO_IP and kind == IP_PKTINFO:
            if len(data) != _IN_PKTINFO:
                raise ValueError("IP_PKTINFO of the wrong size")
            source = _v4_text(data[4:8])
            device = device or struct.unpack_from("<i", data)[0] != 0
    return source, device


def _v4_send(sock: SocketView, raw: bytes, control: bytes, state: bool = False,
             unspec: bool = True, port_needed: bool = True) -> Destination:
    """An IPv4 datagram send (udp_sendmsg; ping_v4_sendmsg takes no AF_UNSPEC and no port)."""
    if len(raw) < _SIN_SIZE:
        return Destination(state=state)                              # EINVAL
    family = _family(raw)
    if family != AF_INET and not (unspec and family == AF_UNSPEC):
        return Destination(state=state)                              # EAFNOSUPPORT
    port = _port(raw)
    if port_needed and port == 0:
        return Destination(state=state)                              # EINVAL
    source, device = None, False
    if control and raw[4:8] == _ANY4_PACKED:
        try:
            source, device = _pktinfo_source(control, sock.family == AF_INET6)
        except ValueError:
            return Destination(state=state)                          # EINVAL
    return _v4(sock, raw[4:8], port, source, state, datagram=True, device=device)


def _v4_connect(sock: SocketView, raw: bytes, state: bool = False) -> Destination:
    """__ip4_datagram_connect and tcp_v4_connect: an AF_INET address of its full size."""
    if len(raw) < _SIN_SIZE or _family(raw) != AF_INET:
        return Destination(state=state)                              # EINVAL, EAFNOSUPPORT
    return _v4(sock, raw[4:8], _port(raw), state=state, datagram=sock.type != SOCK_STREAM)


def _sockaddr_in(packed: bytes, port: int) -> bytes:
    """The struct sockaddr_in the IPv6 code builds for an IPv4-mapped address."""
    return struct.pack("<H", AF_INET) + struct.pack(">H", port) + packed + bytes(8)


# --- IPv6: the unspecified and the mapped addresses ---------------------------------------------
def _v6_target(sock: SocketView, raw: bytes) -> tuple[ipaddress.IPv6Address, bool]:
    """The sin6_addr a connect (tcp_v6_connect, __ip6_datagram_connect) goes to: "::"
    connects to self, ::ffff:127.0.0.1 when the socket's local address is IPv4-mapped, else
    ::1.  And whether the socket's state was read."""
    address = _v6(raw)
    if not address.is_unspecified:
        return address, False
    if _mapped(sock.local_host()) is not None:
        return ipaddress.IPv6Address("::ffff:127.0.0.1"), True
    return ipaddress.IPv6Address("::1"), True


def _v6_connect(sock: SocketView, raw: bytes) -> Destination:
    """tcp_v6_connect and __ip6_datagram_connect (after their own checks of the family)."""
    address, state = _v6_target(sock, raw)
    mapped = address.ipv4_mapped
    if mapped is not None:
        if sock.v6only():
            return Destination(state=True)                           # ENETUNREACH
        return _v4(sock, mapped.packed, _port(raw), state=state,
                   datagram=sock.type != SOCK_STREAM)
    if address.is_multicast and sock.type == SOCK_STREAM:
        return Destination(state=state)                              # ENETUNREACH
    return Destination(SockAddr("inet6", str(address), _port(raw), many=address.is_multicast),
                       state=state)


# --- TCP ----------------------------------------------------------------------------------------
def _tcp(sock: SocketView, call: str, raw: bytes | None, flags: int) -> Destination:
    """tcp_v4_connect, tcp_v6_connect through __inet_stream_connect; a send names a
    destination only with MSG_FASTOPEN (tcp_sendmsg_fastopen connects to it: ``connects``.
    On a socket connected already, __inet_stream_connect fails it, EISCONN -- decided as a
    connect all the same, which can only refuse a send that fails)."""
    if call == SEND and not flags & MSG_FASTOPEN:
        return NOTHING                                   # the connected peer (or EPIPE)
    if raw is None or len(raw) < 2:
        return NOTHING                                   # EINVAL
    if _family(raw) == AF_UNSPEC:
        return NOTHING                                   # disconnect (a send: EOPNOTSUPP)
    if sock.family == AF_INET:
        where = _v4_connect(sock, raw)
    elif len(raw) < SIN6_LEN_RFC2133 or _family(raw) != AF_INET6:
        return NOTHING                                   # EINVAL, EAFNOSUPPORT
    else:
        where = _v6_connect(sock, raw)
    if call == SEND and where.address is not None:
        return where._replace(connects=True)
    return where


# --- UDP, UDP-Lite --------------------------------------------------------------------------------
def _udp(sock: SocketView, call: str, raw: bytes | None, control: bytes) -> Destination:
    if call == CONNECT:
        return _datagram_connect(sock, raw or b"")
    if raw is None:
        return NOTHING                                   # the connected peer (EDESTADDRREQ)
    if sock.family == AF_INET:
        return _v4_send(sock, raw, control)
    return _udp6_send(sock, raw, control)


def _udp6_send(sock: SocketView, raw: bytes, control: bytes) -> Destination:
    """udpv6_sendmsg: AF_INET goes to udp_sendmsg as it is, an IPv4-mapped address as the
    sockaddr_in it stands for; AF_UNSPEC means no address; "::" is ::1 (or 127.0.0.1 from
    a socket with a mapped source)."""
    if len(raw) < 2:
        return NOTHING                                   # EINVAL
    family = _family(raw)
    if family == AF_INET:
        if sock.v6only():
            return Destination(state=True)               # ENETUNREACH
        return _v4_send(sock, raw, control)
    if family == AF_UNSPEC:
        return NOTHING                                   # as no address: the connected peer
    if family != AF_INET6 or len(raw) < SIN6_LEN_RFC2133:
        return NOTHING                                   # EINVAL
    address, state = _v6(raw), False
    if address.is_unspecified and _mapped(sock.local_host()) is not None:
        address, state = ipaddress.IPv6Address("::ffff:127.0.0.1"), True
    mapped = address.ipv4_mapped
    if mapped is not None:
        if sock.v6only():
            return Destination(state=True)               # ENETUNREACH
        return _v4_send(sock, _sockaddr_in(mapped.packed, _port(raw)), control, state=state)
    if _port(raw) == 0:
        return Destination(state=state)                  # EINVAL
    if address.is_unspecified:
        address, state = ipaddress.IPv6Address("::1"), True  # "::" means loopback
    return Destination(SockAddr("inet6", str(address), _port(raw), many=address.is_multicast),
                       state=state)


def _datagram_connect(sock: SocketView, raw: bytes, v6_only_api: bool = False) -> Destination:
    """inet_dgram_connect (AF_UNSPEC disconnects), then __ip4_datagram_connect or
    __ip6_datagram_connect (which sends AF_INET down the IPv4 path); ping6's connect is
    ip6_datagram_connect_v6_only, which takes AF_INET6 alone."""
    if len(raw) < 2 or _family(raw) == AF_UNSPEC:
        return NOTHING                                   # EINVAL, disconnect
    if sock.family == AF_INET:
        return _v4_connect(sock, raw)
    family = _family(raw)
    if v6_only_api and (len(raw) < SIN6_LEN_RFC2133 or family != AF_INET6):
        return NOTHING                                   # EINVAL, EAFNOSUPPORT
    if family == AF_INET:
        if sock.v6only():
            return Destination(state=True)               # EAFNOSUPPORT
        return _v4_connect(sock, raw)
    if len(raw) < SIN6_LEN_RFC2133 or family != AF_INET6:
        return NOTHING                                   # EINVAL, EAFNOSUPPORT
    return _v6_connect(sock, raw)


# --- ping ---------------------------------------------------------------------------------------
def _ping(sock: SocketView, call: str, raw: bytes | None, control: bytes) -> Destination:
    """ping_v4_sendmsg (AF_INET only, no port), ping_v6_sendmsg (a whole sockaddr_in6, no
    mapped address); their connects are the datagram ones."""
    if call == CONNECT:
        return _datagram_connect(sock, raw or b"", v6_only_api=sock.family == AF_INET6)
    if raw is None:
        return NOTHING                                   # the connected peer (EDESTADDRREQ)
    if sock.family == AF_INET:
        return _v4_send(sock, raw, control, unspec=False, port_needed=False)
    if len(raw) < _SIN6_SIZE or _family(raw) != AF_INET6:
        return NOTHING                                   # EINVAL, EAFNOSUPPORT
    address = _v6(raw)
    if address.ipv4_mapped is not None:
        return NOTHING                                   # EINVAL
    if address.is_unspecified:
        address = ipaddress.IPv6Address("::1")           # (the kernel finds no route for it)
    return Destination(SockAddr("inet6", str(address), _port(raw), many=address.is_multicast))


# --- bind -----------------------------------------------------------------------------------------
def _inet_bind(sock: SocketView, raw: bytes) -> Destination:
    """inet_bind (AF_UNSPEC only with INADDR_ANY), inet6_bind (an IPv4-mapped address binds
    the IPv4 one, unless IPV6_V6ONLY); ping's checks are the same.  The unspecified address
    stays itself: it means every local address."""
    if sock.family == AF_INET:
        if len(raw) < _SIN_SIZE:
            return NOTHING                               # EINVAL
        family, packed = _family(raw), raw[4:8]
        if family != AF_INET and not (family == AF_UNSPEC and packed == bytes(4)):
            return NOTHING                               # EAFNOSUPPORT
        return Destination(SockAddr("inet", _v4_text(packed), _port(raw)))
    if len(raw) < SIN6_LEN_RFC2133 or _family(raw) != AF_INET6:
        return NOTHING                                   # EINVAL, EAFNOSUPPORT
    address = _v6(raw)
    if address.ipv4_mapped is not None:
        if sock.v6only():
            return Destination(state=True)               # EINVAL
        return Destination(SockAddr("inet", str(address.ipv4_mapped), _port(raw)))
    return Destination(SockAddr("inet6", str(address), _port(raw)))


# --- unix and netlink ---------------------------------------------------------------------------
def _unix(kind: int, call: str, raw: bytes | None) -> Destination:
    """unix_stream_connect, unix_dgram_connect (AF_UNSPEC disconnects), unix_bind (an
    address of the family alone asks for an autobind name); a send names an address only
    on a datagram socket (a stream socket refuses one, a seqpacket socket ignores it)."""
    if call == SEND:
        if kind != SOCK_DGRAM or not raw:
            return NOTHING
        return _unix_name(raw)
    raw = raw or b""
    if call == BIND and len(raw) == _SUN_PATH and _family(raw) == AF_UNIX:
        return Destination(SockAddr("unix", path=""))
    if call == CONNECT and kind == SOCK_DGRAM and len(raw) >= 2 and _family(raw) == AF_UNSPEC:
        return NOTHING                                   # disconnect
    return _unix_name(raw)


def _unix_name(raw: bytes) -> Destination:
    """unix_validate_addr, then the name: abstract (a leading NUL, the rest of the length is
    the name) or a path (up to its first NUL), still to be resolved."""
    if len(raw) <= _SUN_PATH or len(raw) > SOCKADDR_UN_SIZE or _family(raw) != AF_UNIX:
        return NOTHING                                   # EINVAL
    body = raw[_SUN_PATH:]
    if body[0] == 0:
        return Destination(SockAddr("unix", path="@" + body[1:].decode("utf-8",
                                                                        "surrogateescape")))
    text = body.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return Destination(SockAddr("unix", path=text), unix_path=True)


def _netlink(call: str, raw: bytes | None) -> Destination:
    """netlink_sendmsg, netlink_connect (AF_UNSPEC disconnects), netlink_bind: a whole
    sockaddr_nl of its family.  Its destinations (the kernel, a port) are no address a rule
    names."""
    if call == SEND and not raw:
        return NOTHING
    raw = raw or b""
    if call == CONNECT and len(raw) >= 2 and _family(raw) == AF_UNSPEC:
        return NOTHING
    if len(raw) < _NL_SIZE or _family(raw) != AF_NETLINK:
        return NOTHING                                   # EINVAL
    return Destination(SockAddr("netlink"))


# --- what another socket would make of the same call ---------------------------------------------
@dataclass(frozen=True, slots=True)
class _Model:
    """A socket of a seen kind, unbound, as a stand-in for any socket at a descriptor."""

    family: int
    type: int
    protocol: int
    only_v6: bool = False

    def v6only(self) -> bool:
        return self.only_v6

    def local_host(self) -> str:
        return "::" if self.family == AF_INET6 else _ANY4

    def broadcast(self, host: str) -> bool:
        return False

    def device(self, unicast: bool) -> bool:
        return False


_MODELS = tuple(
    _Model(family, kind, protocol, only_v6)
    for family, kind, protocol in (
        (AF_INET, SOCK_STREAM, IPPROTO_TCP), (AF_INET, SOCK_DGRAM, IPPROTO_UDP),
        (AF_INET, SOCK_DGRAM, IPPROTO_ICMP), (AF_INET6, SOCK_STREAM, IPPROTO_TCP),
        (AF_INET6, SOCK_DGRAM, IPPROTO_UDP), (AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6),
        (AF_UNIX, SOCK_STREAM, 0), (AF_UNIX, SOCK_DGRAM, 0), (AF_NETLINK, SOCK_DGRAM, 0))
    for only_v6 in ((False, True) if family == AF_INET6 else (False,)))


@functools.lru_cache(maxsize=1024)
def _others(call: str, raw: bytes | None, fastopen: bool, control: bytes) -> frozenset[
        tuple[SockAddr, bool]]:
    """The destinations other sockets at the same descriptor would give the same call."""
    flags = MSG_FASTOPEN if fastopen else 0
    found = set()
    for model in _MODELS:
        result = destination(model, call, raw, flags=flags, control=control)
        if result.address is not None:
            found.add((_where(result.address), result.unix_path))
    return frozenset(found)


def _where(address: SockAddr) -> SockAddr:
    """The address without ``many``: whether it stands for several hosts is the routes' to
    say (a stream socket cannot send to one: ENETUNREACH), not the socket's."""
    return dataclasses.replace(address, many=False) if address.many else address


def socket_dependent(found: Destination, call: str, raw: bytes | None, flags: int = 0,
                     control: bytes = b"") -> bool:
    """Whether another task could make the same call go elsewhere than ``found`` by changing
    the socket: its state (a bind, IPV6_V6ONLY), or the socket itself (dup2 over the
    descriptor, IPV6_ADDRFORM) -- any socket the engine decodes giving another address, or
    one where ``found`` names none.  (A socket at the descriptor that the engine does not
    see, made where a rule allowed it, is the user's choice: it can send anywhere anyway.)"""
    if found.state or found.unseen:
        return True
    others = _others(call, raw, bool(flags & MSG_FASTOPEN), control)
    if found.address is None:
        return bool(others)
    return not others <= {(_where(found.address), found.unix_path)}
