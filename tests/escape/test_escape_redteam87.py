"""Red team 87: an outsider at host-name rules, DNS and the approver protocol (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace, in both stop loops, that must not escape (docs/security.md, "Red team 87")."""

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

#: The name server of this module's runs (a loopback address no other test's server uses)
SERVER = "127.53.0.87"
#: The permitted name's address, and where the zone's wildcard record points
GOOD, WILD = "127.0.0.2", "127.0.0.87"
PERMITTED = b"www.good.test"


def _labels(data: bytes, offset: int) -> tuple[list[bytes], int]:
    labels = []
    while data[offset]:
        size = data[offset]
        labels.append(data[offset + 1:offset + 1 + size])
        offset += 1 + size
    return labels, offset + 1


def _answer(query: bytes) -> bytes:
    """A zone ``test`` with one name, www.good.test, and a wildcard record ``*.test`` (any
    other name below ``test``: WILD) -- the names compared as a name server does: label by
    label, bytes, ASCII case folded."""
    ident, flags = struct.unpack_from(">HH", query)
    labels, end = _labels(query, 12)
    folded = [label.lower() for label in labels]
    if folded == PERMITTED.split(b"."):
        address: str | None = GOOD
    elif len(folded) >= 2 and folded[-1] == b"test":
        address = WILD
    else:
        address = None
    record = b""
    if address is not None:
        record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
    rcode = 0 if address is not None else 3
    return struct.pack(">HHHHHH", ident, 0x8180 | (flags & 0x0100) | rcode, 1,
                       1 if record else 0, 0, 0) + query[12:end + 4] + record


@contextmanager
def wildcard_server() -> Iterator[list[list[bytes]]]:
    """The zone above on SERVER:53, over UDP and TCP; yields the names asked (labels)."""
    asked: list[list[bytes]] = []
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
                asked.append(_labels(data, 12)[0])
                udp.sendto(_answer(data), client)
            except (OSError, IndexError, struct.error):
                continue

    def serve_tcp() -> None:
        while not stopped.is_set():
            try:
                conn, _ = tcp.accept()
            except OSError:
                continue
            with conn:  # every framed query of the connection, in turn (RFC 7766)
                try:
                    conn.settimeout(5)
                    while len(head := conn.recv(2, socket.MSG_WAITALL)) == 2:
                        size = struct.unpack(">H", head)[0]
                        data = conn.recv(size, socket.MSG_WAITALL)
                        asked.append(_labels(data, 12)[0])
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


@contextmanager
def listener(address: str) -> Iterator[int]:
    """A TCP listener on ``address`` (accepting, never answering); its port."""
    sock = socket.socket()
    sock.bind((address, 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


#: The query's labels (raw bytes, '/' between labels) that the rules read as www.good.test
SPELLINGS = {
    "soft-hyphen": b"www\xad/good/test",   # normal_name: IDNA maps U+00AD to nothing
    "dotted-label": b"www.good/test",       # one label holding a dot: reads as two
}


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("spelling", ["soft-hyphen", "dotted-label"])
def test_a_name_spelled_otherwise_is_not_recorded_as_the_permitted_host(
        build, tmp_path: Path, spelling: str, loop: str) -> None:
    """systrace's resolver read a query's name as its labels joined by dots, decided the
    query on that text, and recorded the answer's addresses under ``normal_name`` of it --
    which maps IDNA's way (a byte 0xAD, read as Latin-1, is a soft hyphen: mapped to
    nothing) and strips -- and a label holding a dot reads as two.  So a query for the
    labels ``www\\xad``, ``good``, ``test`` or ``www.good``, ``test`` -- names the name server
    answers from the zone's wildcard record ``*.test`` -- was recorded as ``www.good.test``,
    and the policy's permit on that host let the program connect to the wildcard's address,
    which every other rule refuses.  Control: natively the name server answers the spelled
    name with the wildcard's address, and the connect succeeds.  Now a query whose name is
    not the text the rules compare, byte for byte (a dot in a label, a byte beyond ASCII,
    white space at an end), is answered "format error" and never reaches the name server."""
    program = build("escape/dns_spelled.c")
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"

[[rule]]
calls = ["net-connect"]
address = ["127.0.0.1", "{SERVER}"]
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "{PERMITTED.decode()}"
action = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    labels = SPELLINGS[spelling]
    with wildcard_server() as asked, listener(WILD) as port:
        control = subprocess.run([*prefix, str(program), labels, str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {WILD}\nESCAPED"), control
        asked.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), labels, str(port)],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "ESCAPED" not in out, (out, err)
        assert "BLOCKED: the answer gave no address (rcode 1" in out, (out, err)
        assert "Traceback" not in err, err
        assert asked == [], asked  # the name server was never asked the spelled name
        # the witness: the same wildcard address by a name spelled as it reads is refused
        plain = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                str(program), b"www/other/test", str(port)],
                               capture_output=True, timeout=120, check=False, env=env)
        assert plain.stdout.decode() == (f"answered: {WILD}\nBLOCKED: connect to {WILD}: "
                                         "EACCES\n"), plain


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_name_normal_name_cannot_spell_is_answered_not_dropped(
        build, tmp_path: Path, loop: str) -> None:
    """A query whose name ``normal_name`` cannot put in IDNA form (a label that IDNA maps to
    nothing: one byte 0xAD) raised UnicodeError in the resolver's thread as it recorded the
    answer: a traceback on systrace's stderr, and the program got no answer at all (natively:
    the wildcard's address).  Now it is answered "format error" at once."""
    program = build("escape/dns_spelled.c")
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"

[[rule]]
calls = ["net-connect"]
host = "{PERMITTED.decode()}"
action = "permit"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with wildcard_server(), listener(WILD) as port:
        control = subprocess.run([*prefix, str(program), b"\xad/test", str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {WILD}\nESCAPED"), control
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), b"\xad/test", str(port)],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "Traceback" not in err and "UnicodeError" not in err, err
        assert "BLOCKED: the answer gave no address (rcode 1" in out, (out, err)


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("names", [("bad.test",), (PERMITTED.decode(), "bad.test")],
                         ids=["alone", "behind-a-permitted-one"])
def test_a_lookup_over_tcp_fast_open_is_seen(build, tmp_path: Path, loop: str,
                                             names: tuple[str, ...]) -> None:
    """Held: a query over TCP begun by ``sendto(MSG_FASTOPEN)`` on an unconnected socket (a
    stream to port 53 that no connect names) is redirected to systrace's resolver like a
    connect: the name a ``never`` rule refuses is "no such name", and the name server is
    never asked it -- alone, or pipelined in the same send behind a query for a permitted
    name (each framed query of the stream is decided).  Control: natively the name server
    answers it (the wildcard)."""
    program = build("escape/dns_tfo.c")
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text('''default = "permit"

[[rule]]
calls = ["net-connect"]
host = "bad.test"
action = "never"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with wildcard_server() as asked:
        control = subprocess.run([*prefix, str(program), *names], capture_output=True,
                                 text=True, timeout=60, check=False)
        assert control.stdout.endswith(f"ESCAPED: the name server answered bad.test: "
                                       f"{WILD}\n"), control
        asked.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), *names], capture_output=True, text=True,
                                timeout=120, check=False, env=env)
        assert traced.stdout.endswith("bad.test: rcode 3\nBLOCKED: the answer for bad.test "
                                      "gave no address\n"), traced
        assert b"bad" not in b"".join(b"".join(labels) for labels in asked), asked
        if len(names) == 2:
            assert traced.stdout.startswith(f"{names[0]}: {GOOD}\n"), traced


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_catch_all_refusal_of_connects_makes_no_packet_socket(build, tmp_path: Path,
                                                                loop: str) -> None:
    """docs/policy.md holds a program to some hosts by permitting them and refusing every
    other connect with a rule of no condition.  Sockets whose destinations no address rule
    sees were refused only under a refusing rule WITH a network condition: under the
    catch-all, a root program made an AF_PACKET socket, bound it to lo (a bind is no
    connect) and write(2) a datagram to 127.0.0.87 -- no address to decide -- in both
    loops.  Control: natively the frame goes out.  Now a refusal of connects with no
    address condition counts as an address rule: the packet socket is not made (EPERM);
    the same with ``address = "0.0.0.0/0"`` was refused already (the witness below)."""
    program = build("escape/net_bare.c")
    control = subprocess.run([str(program), "127.0.0.87", "5987"], capture_output=True,
                             text=True, timeout=60, check=False)
    if control.stdout.startswith("SKIPPED"):
        pytest.skip(control.stdout)
    assert control.stdout.startswith("ESCAPED: a datagram to 127.0.0.87:5987"), control
    env = scene_env(None, TRACED="1", **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python"
                                          else {}))
    catch_all = f'''default = "permit"

[[rule]]
calls = ["net-connect"]
port = 53
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "{PERMITTED.decode()}"
action = "permit"

[[rule]]
calls = ["net-connect"]
action = "never"
'''
    for name, policy in (("bare", catch_all),
                         ("addressed", catch_all + 'address = "0.0.0.0/0"\n')):
        policy_file = tmp_path / f"{name}.toml"
        policy_file.write_text(policy)
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 "127.0.0.87", "5987"], capture_output=True, text=True,
                                timeout=120, check=False, env=env)
        assert "ESCAPED" not in traced.stdout, (name, traced)
        assert traced.stdout == "BLOCKED: socket(AF_PACKET): EPERM\n", (name, traced)
