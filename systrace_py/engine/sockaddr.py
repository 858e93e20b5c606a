"""struct sockaddr bytes for a SockAddr: what a redirected connect is pointed at."""

from __future__ import annotations

import ipaddress
import socket
import struct

from systrace_py.policy.model import SockAddr


def encode_sockaddr(addr: SockAddr) -> bytes:
    """The kernel's layout of ``addr`` (AF_INET, AF_INET6 or AF_UNIX)."""
    if addr.family == "inet":
        assert addr.host is not None
        return struct.pack("<H", socket.AF_INET) + struct.pack(">H", addr.port or 0) + \
            socket.inet_pton(socket.AF_INET, addr.host) + b"\0" * 8
    if addr.family == "inet6":
        assert addr.host is not None
        packed = ipaddress.IPv6Address(addr.host).packed
        return struct.pack("<H", socket.AF_INET6) + struct.pack(">H", addr.port or 0) + \
            b"\0" * 4 + packed + b"\0" * 4
    if addr.family == "unix":
        path = addr.path or ""
        raw = b"\0" + path[1:].encode() if path.startswith("@") else path.encode() + b"\0"
        if len(raw) > 108:
            raise ValueError(f"unix socket path too long: {path}")
        return struct.pack("<H", socket.AF_UNIX) + raw
    raise ValueError(f"cannot encode a {addr.family} address")
