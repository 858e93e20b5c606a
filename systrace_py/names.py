"""Which names the traced programs resolved to which addresses: rules on ``host`` need it.

A connect carries an address, not a name.  To decide it by the name the program looked up,
systrace watches the lookups themselves: a query a traced program sends to a name server of
/etc/resolv.conf (port 53, UDP or TCP; a server the program chose itself is not believed: it
could say any name is any address) is redirected -- argument replacement, as a ``redirect``
rule does -- to a small resolver inside systrace, bound on loopback.  The resolver

* refuses a query for a name a ``never`` rule on the host alone refuses ("no such name",
  ``dns_refused = "nxdomain"``, the default) -- the program never learns an address -- and
  asks about one an ``ask`` rule on the host alone names (the process that sent it is found
  by its socket, :func:`socket_holders`: one the asking table decides), holding the query
  until the answer;
* forwards every other query, unchanged, to the server the program sent it to, and the answer
  back unchanged -- a query that is one plain question (:func:`dnswire.plain_query`); any
  other message is answered "format error" and never reaches the server, since a name in it
  would reach it undecided.  It forwards over **TCP**, whichever way the query came: a UDP
  socket connected to the server takes a datagram from any local process that says it comes
  from the server (a socket bound to port 53 of any local address, IP_PKTINFO naming the
  server's as its source), the socket is in /proc/net/udp and the id is the program's own --
  a program raced "good.example is my address" at it and a ``host`` permit let it connect
  there (red team 29, tests/escape/dns_forge.c).  A TCP answer cannot be forged so.  An
  answer longer than a UDP query's sender takes is sent back truncated (TC set), and its
  resolver asks again over TCP, as a name server would make it;
* decides every later name of the answer's CNAME chain as it decides the name asked (one
  refused refuses the query: an alias of a refused host is refused; review 71);
* records, from the answer, the addresses (A, AAAA, at the end of any CNAME chain) of the
  *name asked*, in a :class:`NameTable` for the run; /etc/hosts is read into it too.  The
  chain's later names are recorded beside them, for refusals only (NameTable.add_chained).

A connect's address then has the names recorded for it (:attr:`SockAddr.names`): ``host``
conditions match those.  An address no observed name maps to has none: only address rules
decide it.  What it cannot see (DNS over HTTPS or TLS, a name service daemon such as nscd or
systemd-resolved reached over a unix socket, a lookup by another process outside the trace)
leaves addresses without names; docs/security.md says so.

The resolver knows which table a query is decided by through the port it arrives on: one
endpoint per (table, server) pair, made when a process under that table first sends to that
server.  A port is anybody's to send to (a connect to loopback), so the tables of the traced
processes holding the socket a query came from decide it too (:func:`socket_holders`; the
supervisor's ``_refused_name``).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from systrace_py.dnswire import (
    RCODE_SERVFAIL,
    DnsFormatError,
    answer_of,
    format_error,
    plain_query,
    refusal,
    truncated,
    udp_limit,
)
from systrace_py.policy import aliases
from systrace_py.policy.model import SockAddr
from systrace_py.policy.net import normal_name

if TYPE_CHECKING:
    from systrace_py.engine.decode import DecodedCall

__all__ = ["DNS_PORT", "NAMED_CALLS", "DnsObserver", "NameTable", "Resolution", "Resolver",
           "read_hosts", "read_nameservers", "socket_holders"]

DNS_PORT = 53
#: The calls whose address a ``host`` condition looks at (net-connect: connect and sends)
NAMED_CALLS = aliases.ALIASES["net-connect"]
#: ... and those whose address a query's redirect can replace (one address each)
_REDIRECTED_CALLS = NAMED_CALLS & aliases.ONE_ADDRESS_CALLS
_AF_INET6 = struct.pack("<H", socket.AF_INET6)
#: How long the resolver waits for a server's answer (the program's own resolver retries)
UPSTREAM_TIMEOUT = 5.0
#: Queries the resolver serves at once (a thread each; one waits as long as its ask): a query
#: past them gets no answer -- as from a busy server: the program's resolver asks again --,
#: rather than the tree giving systrace a thread per datagram for as long as it likes (3000
#: datagrams under a pending ask were 3000 threads; at the tracer's pids limit the endpoint's
#: thread died with a traceback and answered nothing more: red team 43).
QUERIES_AT_ONCE = 64
_POLL = 0.5  # how often a blocked endpoint thread looks whether the run ended


def _address_key(host: str) -> str | None:
    """An address as the table files it: IPv4-mapped IPv6 as the IPv4 address it is."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class NameTable:
    """Address -> the names the run resolved to it (each name in normal form), and the names
    an answer's CNAME chain led to on the way (:meth:`add_chained`: for refusals only).
    Names are only ever added: an address a program once reached by a name keeps it for
    the run."""

    def __init__(self) -> None:
        self._names: dict[str, set[str]] = {}
        self._chained: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, addresses: tuple[str, ...] | list[str]) -> None:
        self._file(self._names, name, addresses)

    def add_chained(self, names: tuple[str, ...], addresses: tuple[str, ...]) -> None:
        """The later names of an answer's CNAME chain (its asked name's aliases' targets):
        the server says the addresses are theirs, so a rule refusing one of them refuses a
        connect to the addresses (SockAddr.chained, Supervisor's by_name) -- a lookup of an
        alias of a refused host gave the host's address under the alias's name alone
        (review 71).  Never a name that permits: a server may keep a record beyond its
        zone after a CNAME, and the program's own zone would name any permitted host."""
        for name in names:
            self._file(self._chained, name, addresses)

    def _file(self, table: dict[str, set[str]], name: str,
              addresses: tuple[str, ...] | list[str]) -> None:
        if not name:
            return
        try:
            name = normal_name(name)
        except UnicodeError:
            # a name of /etc/hosts beyond ASCII whose wire form is not sure (review 68:
            # "faß.test" had been recorded as fass.test, another domain, and learned so) or
            # one IDNA cannot spell (which raised as the run began): the address keeps no
            # name from it -- a host rule does not name it (fails closed)
            return
        with self._lock:
            for host in addresses:
                key = _address_key(host)
                if key is not None:
                    table.setdefault(key, set()).add(name)

    def names_for(self, host: str | None) -> tuple[str, ...]:
        """The names resolved to ``host`` (sorted), () when none or not an IP address."""
        return self._found(self._names, host)

    def chained_for(self, host: str | None) -> tuple[str, ...]:
        """The names a CNAME chain led to ``host`` by (:meth:`add_chained`), sorted."""
        return self._found(self._chained, host)

    def _found(self, table: dict[str, set[str]], host: str | None) -> tuple[str, ...]:
        if host is None:
            return ()
        key = _address_key(host)
        if key is None:
            return ()
        with self._lock:
            found = table.get(key)
            return tuple(sorted(found)) if found else ()

    def label(self, addr: SockAddr) -> SockAddr:
        """``addr`` with the names resolved to its host (an inet/inet6 address), and those
        a CNAME chain led to it by."""
        if addr.family not in ("inet", "inet6"):
            return addr
        names, chained = self.names_for(addr.host), self.chained_for(addr.host)
        if names == addr.names and chained == addr.chained:
            return addr
        return SockAddr(addr.family, addr.host, addr.port, addr.path, names, addr.many,
                        chained)


def read_nameservers(path: str = "/etc/resolv.conf") -> frozenset[str]:
    """The name servers a resolv.conf names (as :func:`_address_key` files them); glibc's
    default, the local host, when it names none."""
    found: set[str] = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            key = _address_key(words[1])
            if key is not None:
                found.add(key)
    return frozenset(found) if found else frozenset({"127.0.0.1", "::1"})


def _proc_net_address(text: str) -> str | None:
    """A /proc/net/{udp,tcp}[6] local address (hex, 32-bit words in host byte order) as
    :func:`_address_key` files it; None when unreadable."""
    if len(text) not in (8, 32):
        return None
    try:
        raw = b"".join(int(text[i:i + 8], 16).to_bytes(4, "little")
                       for i in range(0, len(text), 8))
    except ValueError:
        return None
    host = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
    return _address_key(host)


_WILDCARDS = frozenset({"0.0.0.0", "::"})


def socket_holders(client: tuple[str, int], tcp: bool, pids: list[int]) -> list[int]:
    """Those of ``pids`` that hold the socket a query came from -- a socket whose local
    address is the client's (or a wildcard) and whose local port is the client's -- by
    /proc/net and the descriptors of every thread of each process: a few reads of /proc per
    process, once per query.  The port alone is not the socket: 127.0.0.2:P is another
    socket than the 127.0.0.1:P a process of another table holds; and /proc/PID/fd is the
    leader's table only: a thread that unshared its descriptors holds sockets it does not
    show (red team 39, tests/escape/dns_hidden.c)."""
    port = client[1]
    source = _address_key(client[0])
    inodes: set[str] = set()
    for table in (("tcp", "tcp6") if tcp else ("udp", "udp6")):
        try:
            with open(f"/proc/net/{table}", encoding="ascii") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) <= 9:
                continue
            address, _, local_port = fields[1].rpartition(":")
            if int(local_port, 16) != port:
                continue
            local = _proc_net_address(address)
            if local == source or local in _WILDCARDS:
                inodes.add(f"socket:[{fields[9]}]")
    holders: list[int] = []
    if not inodes:
        return holders
    from systrace_py.engine.tracee import distinct
    from systrace_py.kernel import KCMP_FILES

    for pid in pids:
        try:
            tids = sorted((int(tid) for tid in os.listdir(f"/proc/{pid}/task")),
                          key=lambda tid: tid != pid)  # the leader first
        except (OSError, ValueError):
            continue
        # each descriptor table once: threads mostly share one (kcmp says which)
        if _holds(pid, distinct(tids, KCMP_FILES) if len(tids) > 1 else tids, inodes):
            holders.append(pid)
    return holders


def _holds(pid: int, tids: list[int], inodes: set[str]) -> bool:
    """Whether the descriptor table of one of the threads ``tids`` of ``pid`` holds one of
    ``inodes``."""
    for tid in tids:
        try:
            fds = os.listdir(f"/proc/{pid}/task/{tid}/fd")
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/task/{tid}/fd/{fd}") in inodes:
                    return True
    return False


def read_hosts(path: str = "/etc/hosts") -> list[tuple[str, list[str]]]:
    """(address, names) of each line of a hosts file (comments and bad lines skipped)."""
    out: list[tuple[str, list[str]]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and _address_key(words[0]) is not None:
            out.append((words[0], words[1:]))
    return out


@dataclass(frozen=True)
class Resolution:
    """One query the resolver handled, for the log and -v: the name asked, its type, the
    addresses it was given, or the refusal (the key's refusing rule, as the decider gave it)."""

    key: Hashable
    name: str
    qtype: int
    addresses: tuple[str, ...] = ()
    refused_by: object = None
    server: str = ""


#: decide(key, name, client, tcp): the rule that refuses the name under that key, or None
#: (``client``: where the query came from, for :func:`socket_holders`); may block (an ask)
Decider = Callable[[Hashable, str, tuple[str, int], bool], object]


class _Endpoint:
    """A UDP socket and a TCP listener on one loopback port, for one (key, server)."""

    def __init__(self, resolver: Resolver, key: Hashable, server: tuple[str, int],
                 family: int) -> None:
        self.resolver, self.key, self.server, self.family = resolver, key, server, family
        self.udp, self.tcp = _pair()
        self.port = self.udp.getsockname()[1]
        try:
            for target in (self._serve_udp, self._serve_tcp):
                threading.Thread(target=target, daemon=True, name="systrace-resolver").start()
        except RuntimeError:  # (can't start new thread: the tracer's pids limit is the
            #                    tree's too; red team 43) a started one ends with its socket
            self.close()
            raise OSError(errno.EAGAIN, "systrace's resolver can start no thread") from None

    def close(self) -> None:
        for sock in (self.udp, self.tcp):
            sock.close()

    def _serve_udp(self) -> None:
        while not self.resolver.closed:
            try:
                message, client = self.udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.resolver.serve(self._udp_query, message, client)

    def _udp_query(self, message: bytes, client: tuple[str, int]) -> None:
        reply = self.resolver.handle(self, message, client, tcp=False)
        if reply is not None:
            with contextlib.suppress(OSError):
                self.udp.sendto(reply, client)

    def _serve_tcp(self) -> None:
        while not self.resolver.closed:
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.resolver.serve(self._tcp_client, conn):
                conn.close()

    def _tcp_client(self, conn: socket.socket) -> None:
        """DNS over TCP: messages with a two-byte length, each answered in turn."""
        with conn:
            conn.settimeout(30)
            try:
                client = conn.getpeername()
            except OSError:
                return
            while not self.resolver.closed:
                try:
                    message = _read_framed(conn)
                    if message is None:
                        return
                    reply = self.resolver.handle(self, message, client, tcp=True)
                    if reply is None:
                        return
                    conn.sendall(struct.pack(">H", len(reply)) + reply)
                except OSError:
                    return


def _pair() -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on the same free port of 127.0.0.1."""
    for _ in range(64):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        for sock in (udp, tcp):
            sock.settimeout(_POLL)
            sock.set_inheritable(False)
        return udp, tcp
    raise OSError("no free loopback port for systrace's resolver")


def _read_exact(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_framed(conn: socket.socket) -> bytes | None:
    head = _read_exact(conn, 2)
    if head is None:
        return None
    return _read_exact(conn, struct.unpack(">H", head)[0])


class Resolver:
    """The run's resolver: endpoints on loopback, each forwarding to one server for one key.

    ``decide`` says which names are refused for a key; ``report`` hears of every query
    handled (from the resolver's threads).  Thread-safe; :meth:`close` ends it."""

    def __init__(self, names: NameTable, decide: Decider,
                 report: Callable[[Resolution], None] | None = None,
                 timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.names = names
        self.decide = decide
        self.report = report
        self.timeout = timeout
        self.closed = False
        self._endpoints: dict[tuple[Hashable, tuple[str, int]], _Endpoint] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(QUERIES_AT_ONCE)
        self._said_busy = False
        self._said_silent: set[tuple[str, int]] = set()

    def serve(self, target: Callable[..., None], *args: object) -> bool:
        """Run ``target(*args)`` (one query, or one TCP client) on a thread of its own, if
        fewer than QUERIES_AT_ONCE are being served and a thread can be started (the
        tracer's pids limit is the tree's too); whether it runs.  One that does not gets no
        answer: said once."""
        if self._slots.acquire(blocking=False):
            def run() -> None:
                try:
                    target(*args)
                finally:
                    self._slots.release()

            try:
                threading.Thread(target=run, daemon=True, name="systrace-resolver").start()
                return True
            except RuntimeError:  # (can't start new thread)
                self._slots.release()
        if not self._said_busy:
            self._said_busy = True
            from systrace_py.report import say

            say(f"the resolver is serving {QUERIES_AT_ONCE} lookups (or can start no thread): "
                "later lookups of the traced programs get no answer until one ends")
        return False

    def endpoint(self, key: Hashable, server: SockAddr) -> SockAddr:
        """Where a query to ``server`` (an inet/inet6 address on port 53) from a process
        decided by ``key`` goes instead: a loopback address of the resolver's."""
        assert server.host is not None and server.port is not None
        host = _address_key(server.host) or server.host
        target = (host, server.port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with self._lock:
            found = self._endpoints.get((key, target))
            if found is None:
                found = self._endpoints[(key, target)] = _Endpoint(self, key, target, family)
        return SockAddr("inet", "127.0.0.1", found.port)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            endpoints = list(self._endpoints.values())
            self._endpoints.clear()
        for endpoint in endpoints:
            endpoint.close()

    def handle(self, endpoint: _Endpoint, message: bytes, client: tuple[str, int],
               tcp: bool) -> bytes | None:
        """The reply to one message: a refusal, or the server's answer (recorded); None when
        the server gave none."""
        try:
            query = plain_query(message)
        except DnsFormatError:
            # not one plain question: not passed on, a name in it would reach the server
            # undecided (red team 20's "messages the resolver cannot parse")
            return format_error(message)
        server = f"{endpoint.server[0]}:{endpoint.server[1]}"
        if query.name:
            rule = self.decide(endpoint.key, query.name, client, tcp)
            if rule is not None:
                self._report(Resolution(endpoint.key, query.name, query.qtype,
                                        refused_by=rule, server=server))
                return refusal(message)
        reply = self._forward(endpoint, message)
        if reply is None:
            # the server did not answer: say so at once ("server failure"), as the
            # kernel's "connection refused" would have told the program natively, so that
            # it tries its next server rather than wait for an answer that will not come
            self._say_silent(endpoint.server, server)
            return refusal(message, RCODE_SERVFAIL)
        try:
            answer = answer_of(reply)
        except DnsFormatError:
            return reply
        if answer.id == query.id and answer.chain and answer.chain[0] == query.name:
            for name in answer.chain[1:]:
                # the chain's names are decided as the name asked is: an alias of a refused
                # host (a CDN's, a status page's, a DNAME's synthesised CNAME) answered
                # with its address, and the address had the alias's name alone (review 71)
                rule = self._chain_refusal(endpoint.key, name, client, tcp)
                if rule is not None:
                    self._report(Resolution(endpoint.key, query.name, query.qtype,
                                            refused_by=rule, server=server))
                    return refusal(message)
            if answer.addresses:
                self.names.add(query.name, answer.addresses)
                self.names.add_chained(answer.chain[1:], answer.addresses)
            self._report(Resolution(endpoint.key, query.name, query.qtype, answer.addresses,
                                    server=server))
        if not tcp and len(reply) > udp_limit(message, query):
            return truncated(message, reply)
        return reply

    def _say_silent(self, target: tuple[str, int], server: str) -> None:
        """Say once per server that it gave no answer over TCP.  The program sees only
        "server failure" (glibc: "Temporary failure in name resolution"), while natively its
        UDP query may well be answered: a server that speaks UDP alone (a sandbox's or a
        router's resolver, whose TCP port 53 is closed or is some proxy) fails every lookup
        of a run that watches DNS -- every `-A` run among them -- and without this line
        nothing says that systrace, not the network, is why."""
        with self._lock:
            if self.closed or target in self._said_silent:
                return
            self._said_silent.add(target)
        from systrace_py.report import say

        say(f"the name server {server} gave no answer over TCP: the traced programs' lookups "
            "through it get \"server failure\" (systrace's resolver, which watches DNS for host "
            "rules and -A, asks over TCP only: docs/policy.md, \"Host names\")")

    def _chain_refusal(self, key: Hashable, name: str, client: tuple[str, int],
                       tcp: bool) -> object:
        """The rule refusing a name of an answer's CNAME chain (as read: lower case, the
        server's bytes), or None.  A name that is not its own normal form (a byte beyond
        ASCII) is decided as read and, where IDNA spells it, as that spelling too: either
        refusing refuses (fails closed)."""
        spellings = [name]
        with contextlib.suppress(UnicodeError):
            spelled = normal_name(name)
            if spelled != name:
                spellings.append(spelled)
        for spelling in spellings:
            rule = self.decide(key, spelling, client, tcp)
            if rule is not None:
                return rule
        return None

    def _report(self, resolution: Resolution) -> None:
        if self.report is not None:
            with contextlib.suppress(Exception):  # a report must not stop an answer
                self.report(resolution)

    def _forward(self, endpoint: _Endpoint, message: bytes) -> bytes | None:
        """The server's reply to ``message``, asked over TCP -- never over UDP, whose answers
        a traced program can forge (see the module's docstring); None: no reply."""
        try:
            with socket.socket(endpoint.family, socket.SOCK_STREAM) as upstream:
                upstream.settimeout(self.timeout)
                upstream.connect(endpoint.server)
                upstream.sendall(struct.pack(">H", len(message)) + message)
                return _read_framed(upstream)
        except OSError:
            return None


class DnsObserver:
    """The run's DNS observation: the name table (with /etc/hosts), the resolver, and the
    redirect of a program's queries to it.  ``decide(key, name)`` returns the rule refusing
    ``name`` for processes decided by ``key`` (their table) or None; ``report`` hears of each
    query handled.  Keys are compared by identity."""

    def __init__(self, decide: Callable[[Any, str, tuple[str, int], bool], object],
                 report: Callable[[Resolution], None] | None = None,
                 hosts: str = "/etc/hosts", resolv_conf: str = "/etc/resolv.conf",
                 timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.names = NameTable()
        #: the servers whose answers are believed: the system's (a program could otherwise
        #: send its queries to a server of its own that says good.example is its address)
        self.servers = read_nameservers(resolv_conf)
        for address, names in read_hosts(hosts):
            for name in names:
                self.names.add(name, [address])
        self._keys: dict[int, Any] = {}  # id -> key (tables are not hashable; kept alive)
        self.resolver = Resolver(
            self.names, lambda key, name, client, tcp: decide(
                self._keys[key], name, client, tcp),  # type: ignore[index]
            self._report, timeout)
        self._report_to = report

    def _report(self, resolution: Resolution) -> None:
        if self._report_to is not None:
            key = resolution.key
            self._report_to(Resolution(self._keys.get(key, key) if isinstance(key, int)
                                       else key, resolution.name, resolution.qtype,
                                       resolution.addresses, resolution.refused_by,
                                       resolution.server))

    def redirect(self, key: Any, call: DecodedCall) -> bytes | None:
        """The struct sockaddr a DNS query's connect or send goes to instead (systrace's
        resolver), or None when the call sends no query: one destination, a name server of
        /etc/resolv.conf on port 53.  Its socket's family is kept: an IPv6 socket gets the
        resolver as an IPv4-mapped address.  A query to another server is not observed."""
        if call.name not in _REDIRECTED_CALLS:
            return None
        addrs = call.sockaddrs
        if len(addrs) != 1 or call.sockaddr_raw is None:
            return None
        addr = addrs[0]
        if addr.family not in ("inet", "inet6") or addr.port != DNS_PORT or addr.host is None \
                or _address_key(addr.host) not in self.servers:
            return None
        self._keys.setdefault(id(key), key)
        target = self.resolver.endpoint(id(key), addr)
        from systrace_py.engine.sockaddr import encode_sockaddr

        if call.sockaddr_raw[:2] == _AF_INET6:
            target = SockAddr("inet6", f"::ffff:{target.host}", target.port)
        return encode_sockaddr(target)

    def close(self) -> None:
        self.resolver.close()
