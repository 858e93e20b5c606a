"""Review 71: red team 87 and close 42 read by a hostile reviewer (host-name rules, issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace, in both stop loops, that must not escape (docs/security.md, "Review 71").  These
tests FAIL on main: the lead's close makes them pass."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, scene_env
from test_escape_redteam87 import listener

#: The name server of this module's runs (a loopback address no other test's server uses)
SERVER = "127.53.0.71"
#: The refused service's address
BAD = "127.0.0.71"
#: The zone: bad.test is BAD; an alias of another domain (a customer's name handed to the
#: service, as status pages, CDNs and SaaS hosts are) is a CNAME to bad.test
ZONE_CNAMES = {b"cdn.other.test": b"bad.test", b"www.bad.test": b"bad.test"}
ZONE_ADDRESSES = {b"bad.test": BAD}


def _labels(data: bytes, offset: int) -> tuple[list[bytes], int]:
    labels = []
    while data[offset]:
        size = data[offset]
        labels.append(data[offset + 1:offset + 1 + size])
        offset += 1 + size
    return labels, offset + 1


def _wire(name: bytes) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in name.split(b".")) + b"\0"


def _answer(query: bytes) -> bytes:
    """The zone above, as a recursive server answers: an alias gives its CNAME record and
    the target's A record (RFC 1034 4.3.2: the chain, then the target's data)."""
    ident, flags = struct.unpack_from(">HH", query)
    labels, end = _labels(query, 12)
    name = b".".join(label.lower() for label in labels)
    records = []
    owner = b"\xc0\x0c"
    if name in ZONE_CNAMES:
        target = ZONE_CNAMES[name]
        records.append(owner + struct.pack(">HHIH", 5, 1, 60, len(_wire(target)))
                       + _wire(target))
        owner, name = _wire(target), target
    if name in ZONE_ADDRESSES:
        records.append(owner + struct.pack(">HHIH", 1, 1, 60, 4)
                       + socket.inet_aton(ZONE_ADDRESSES[name]))
    rcode = 0 if records else 3
    return struct.pack(">HHHHHH", ident, 0x8180 | (flags & 0x0100) | rcode, 1,
                       len(records), 0, 0) + query[12:end + 4] + b"".join(records)


@contextmanager
def cname_server() -> Iterator[list[bytes]]:
    """The zone above on SERVER:53, over UDP and TCP; yields the names asked."""
    asked: list[bytes] = []
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket()
    try:
        udp.bind((SERVER, 53))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((SERVER, 53))
    except OSError as exc:
        udp.close()
        tcp.close()
        pytest.skip(f"cannot listen on {SERVER}:53 ({exc.strerror}): needs root")
    tcp.listen(8)
    for sock in (udp, tcp):
        sock.settimeout(0.2)
    stopped = threading.Event()

    def serve_udp() -> None:
        while not stopped.is_set():
            try:
                data, client = udp.recvfrom(4096)
                asked.append(b".".join(_labels(data, 12)[0]))
                udp.sendto(_answer(data), client)
            except (OSError, IndexError, struct.error):
                continue

    def serve_tcp() -> None:
        while not stopped.is_set():
            try:
                conn, _ = tcp.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(5)
                    while len(head := conn.recv(2, socket.MSG_WAITALL)) == 2:
                        data = conn.recv(struct.unpack(">H", head)[0], socket.MSG_WAITALL)
                        asked.append(b".".join(_labels(data, 12)[0]))
                        reply = _answer(data)
                        conn.sendall(struct.pack(">H", len(reply)) + reply)
                except (OSError, IndexError, struct.error):
                    continue

    threads = [threading.Thread(target=serve_udp, daemon=True),
               threading.Thread(target=serve_tcp, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield asked
    finally:
        stopped.set()
        for thread in threads:
            thread.join()
        udp.close()
        tcp.close()


def resolv_conf_prefix(tmp: Path) -> list[str]:
    """A command prefix running its command with /etc/resolv.conf naming SERVER only (a bind
    mount in a new mount namespace); skips when that cannot be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not installed")
    conf = tmp / "resolv.conf"
    conf.write_text(f"nameserver {SERVER}\noptions timeout:2 attempts:1\n")
    prefix = [unshare, "-m", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(conf)]
    probe = subprocess.run([*prefix, "cat", "/etc/resolv.conf"], capture_output=True,
                           text=True, timeout=30, check=False)
    if probe.returncode != 0 or SERVER not in probe.stdout:
        pytest.skip(f"cannot bind a private /etc/resolv.conf: {probe.stderr.strip()}")
    return prefix


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("dns_refused", ["nxdomain", "pass"])
def test_a_name_whose_cname_chain_ends_at_a_refused_host_is_refused(
        build, tmp_path: Path, loop: str, dns_refused: str) -> None:
    """``never net-connect host = ["bad.test", "*.bad.test"]``: a lookup of bad.test is "no
    such name" (or, under ``dns_refused = "pass"``, the connect is refused by its name).  But
    the resolver decides only the name asked and records the answer's addresses under that
    name only: a lookup of an alias -- any name whose CNAME points at bad.test, a customer's
    ``status.example.com`` handed to a service, or bad.test's own ``www`` -- is answered
    with bad.test's address (the server says, in the chain, that it *is* bad.test's), which
    carries the alias's name alone, and the connect to it is not refused.  Control: natively
    the alias resolves to bad.test's address and the connect succeeds.  Expected: a name of
    the answer's CNAME chain that a ``never`` rule on the host refuses refuses the lookup
    (as the name asked does), or its addresses are recorded under it too, so the connect is
    decided by the refused name."""
    program = build("escape/dns_spelled.c")
    alias = "cdn/other/test"
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"
dns_refused = "{dns_refused}"

[[rule]]
calls = ["net-connect"]
host = ["bad.test", "*.bad.test"]
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with cname_server(), listener(BAD) as port:
        control = subprocess.run([*prefix, str(program), alias, str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {BAD}\nESCAPED"), control
        # the witness: the refused name asked as itself is refused
        plain = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                str(program), "bad/test", str(port)],
                               capture_output=True, timeout=120, check=False, env=env)
        assert "ESCAPED" not in plain.stdout.decode(), plain
        assert "BLOCKED" in plain.stdout.decode(), plain
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), alias, str(port)],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "Traceback" not in err, err
        assert "ESCAPED" not in out, (out, err)
        assert "BLOCKED" in out, (out, err)


#: docs/policy.md "Host names"'s recipe, as written there: "pip may reach PyPI by name,
#: nothing else" -- the catch-all on `connect` only, so that sends on connected sockets
#: (which name no address: glibc's lookups) are not refused
RECIPE = '''default = "permit"

[[rule]]
calls = ["net-connect"]
port = 53
action = "permit"

[[rule]]
calls = ["net-connect"]
host = ["pypi.org", "files.pythonhosted.org"]
port = 443
action = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "ECONNREFUSED"
'''
#: an address no rule of the recipe permits
ELSEWHERE = "127.0.0.72"


#: the catch-all alone: no rule names a send, so the prefilter let every send run whole --
#: it must stop those that connect (close 47: filterplan._stop_connecting_sends)
BARE = '''default = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "ECONNREFUSED"
'''


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("call", ["sendto", "sendmsg", "sendmmsg"])
@pytest.mark.parametrize("policy", ["recipe", "bare"])
def test_the_host_recipe_s_catch_all_refuses_a_stream_opened_by_sendto(
        build, tmp_path: Path, loop: str, call: str, policy: str) -> None:
    """docs/policy.md's recipe for "these hosts by name, nothing else" ends in a catch-all
    ``never connect``.  ``sendto(MSG_FASTOPEN)`` on a fresh TCP socket is a connect --
    tcp_sendmsg_fastopen connects the socket to the address, then sends -- but it is decided
    as a ``sendto`` (``sendmsg``, ``sendmmsg`` alike), which no rule of the recipe covers:
    the default permits it, and the program has a TCP stream to an address no rule permits
    (a plain connect to it is refused, ECONNREFUSED).  Control: natively the stream opens
    and the line arrives.  Expected: a send that connects (MSG_FASTOPEN on a stream socket)
    is decided as the connect it is too, or the recipe's catch-all covers addressed sends.
    ``bare`` (close 47): the catch-all alone, no rule naming a send -- the prefilter must
    stop a send with MSG_FASTOPEN, which it let run whole."""
    program = build("escape/tfo_connect.c")
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(RECIPE if policy == "recipe" else BARE)
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with listener(ELSEWHERE) as port:
        control = subprocess.run([str(program), ELSEWHERE, str(port), call],
                                 capture_output=True, timeout=60, check=False)
        if control.stdout.startswith(b"SKIPPED"):
            pytest.skip(control.stdout.decode().strip())
        assert control.stdout.decode().startswith("ESCAPED"), control
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 ELSEWHERE, str(port), call],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "Traceback" not in err, err
        assert "ESCAPED" not in out, (out, err)
        assert "BLOCKED" in out, (out, err)
