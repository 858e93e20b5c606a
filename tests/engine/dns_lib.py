"""A small DNS server for tests (stdlib only): answers A queries from a table, "no such
name" for any other name, an empty answer for other types of a known name; counts the
queries it got.  And a private /etc/resolv.conf for a traced run: the command runs in a new
mount namespace (unshare -m) with a file bound over /etc/resolv.conf."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Where the test server listens: a loopback address no real service uses, on port 53
SERVER = "127.53.0.1"


def _name(data: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while data[offset]:
        size = data[offset]
        labels.append(data[offset + 1:offset + 1 + size].decode())
        offset += 1 + size
    return ".".join(labels), offset + 1


def answer(query: bytes, table: dict[str, str]) -> bytes:
    """The reply to ``query`` from ``table`` (name -> IPv4 address, or several joined by
    commas: one A record each)."""
    ident, flags = struct.unpack_from(">HH", query)
    name, end = _name(query, 12)
    qtype = struct.unpack_from(">H", query, end)[0]
    question = query[12:end + 4]
    address = table.get(name.lower())
    records = b""
    count = 0
    if address is not None and qtype == 1:
        for one in address.split(","):
            records += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(one)
            count += 1
    rcode = 0 if address is not None else 3
    return struct.pack(">HHHHHH", ident, 0x8180 | (flags & 0x0100) | rcode, 1, count, 0, 0) + \
        question + records


@dataclass
class DnsServer:
    """The server's table and the names it was asked: ``queries`` over either transport
    (systrace's resolver asks over TCP whatever the program used), ``tcp_queries`` over
    TCP only."""

    table: dict[str, str]
    queries: list[str] = field(default_factory=list)
    sock: socket.socket | None = None
    stopped: bool = False
    tcp: socket.socket | None = None
    tcp_queries: list[str] = field(default_factory=list)

    def serve_tcp(self) -> None:
        """DNS over TCP: one two-byte-framed query per connection is enough for glibc."""
        assert self.tcp is not None
        while not self.stopped:
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(5)
                    while True:
                        head = conn.recv(2)
                        if len(head) < 2:
                            break
                        size = struct.unpack(">H", head)[0]
                        data = b""
                        while len(data) < size:
                            chunk = conn.recv(size - len(data))
                            if not chunk:
                                break
                            data += chunk
                        self.tcp_queries.append(_name(data, 12)[0])
                        self.queries.append(self.tcp_queries[-1])
                        reply = answer(data, self.table)
                        conn.sendall(struct.pack(">H", len(reply)) + reply)
                except (OSError, IndexError, struct.error):
                    continue

    def serve(self) -> None:
        assert self.sock is not None
        while not self.stopped:
            try:
                data, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self.queries.append(_name(data, 12)[0])
                self.sock.sendto(answer(data, self.table), client)
            except (OSError, IndexError, struct.error):
                continue


@contextmanager
def dns_server(table: dict[str, str], address: str = SERVER, tcp: bool = True
               ) -> Iterator[DnsServer]:
    """A server answering ``table`` on ``address`` port 53, over UDP and (``tcp``) TCP; a
    server without TCP leaves that port closed, as many a sandbox's or router's does."""
    server = DnsServer(table)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, 53))
    except OSError as exc:
        sock.close()
        pytest.skip(f"cannot listen on {address}:53 ({exc.strerror}): needs root")
    sock.settimeout(0.2)
    server.sock = sock
    threads = [threading.Thread(target=server.serve, daemon=True)]
    if tcp:
        server.tcp = socket.socket()
        server.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.tcp.bind((address, 53))
        server.tcp.listen(8)
        server.tcp.settimeout(0.2)
        threads.append(threading.Thread(target=server.serve_tcp, daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield server
    finally:
        server.stopped = True
        for thread in threads:
            thread.join()
        sock.close()
        if server.tcp is not None:
            server.tcp.close()


def private_resolv_conf(tmp: Path, options: str = "", nameserver: str = SERVER) -> list[str]:
    """A command prefix running its command with /etc/resolv.conf saying ``nameserver
    SERVER`` (or ``nameserver``; and ``options``: ``use-vc`` makes glibc ask over TCP) -- a
    bind mount in a new mount namespace; skips when that cannot be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not installed")
    conf = tmp / "resolv.conf"
    conf.write_text(f"nameserver {nameserver}\noptions timeout:2 attempts:1 {options}\n")
    prefix = [unshare, "-m", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(conf)]
    probe = subprocess.run([*prefix, "cat", "/etc/resolv.conf"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0 or nameserver not in probe.stdout:
        pytest.skip("cannot bind a private /etc/resolv.conf in a new mount namespace "
                    f"(needs root): {probe.stderr.strip()}")
    return prefix


@contextmanager
def listeners(addresses: tuple[str, ...]) -> Iterator[int]:
    """TCP listeners on one free port of each address (accepting, never answering)."""
    for _ in range(32):
        socks: list[socket.socket] = []
        try:
            port = 0
            for address in addresses:
                sock = socket.socket()
                socks.append(sock)
                sock.bind((address, port))
                sock.listen(16)
                port = sock.getsockname()[1]
        except OSError:
            for sock in socks:
                sock.close()
            continue
        try:
            yield port
        finally:
            for sock in socks:
                sock.close()
        return
    pytest.skip("no port free on every test address")
