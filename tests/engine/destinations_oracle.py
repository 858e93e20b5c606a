"""The kernel as an oracle for engine/destinations.py: run inside a network namespace of its
own (``unshare -n``, as root), it makes each socket it is told to, says where the engine
predicts the call goes (with the engine's own reading of the socket, TraceeSocket), makes the
call, and says where the packet really went -- which listener of the namespace's loopback got
it.  One JSON case a line on stdin, one JSON answer a line on stdout.

Listeners, all on port PORT: UDP and TCP on 127.0.0.1, 127.0.0.2, 127.0.0.6 and ::1; a packet
socket on lo sees ICMP echo requests (ping sockets) and their destination.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import socket
import subprocess
import sys
import time

from systrace_py.engine.decode import TraceeSocket
from systrace_py.engine.destinations import CALL_OF, destination

PORT = int(sys.argv[1])
HOSTS4 = ("127.0.0.1", "127.0.0.2", "127.0.0.6")
HOST6 = "::1"
ETH_P_ALL = 0x0003
WAIT = 0.01  # seconds to wait for a packet on the loopback (it is there in microseconds)

libc = ctypes.CDLL(None, use_errno=True)


def setup() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 2147483647")


def listeners() -> tuple[dict[str, socket.socket], dict[str, socket.socket], socket.socket]:
    udp: dict[str, socket.socket] = {}
    tcp: dict[str, socket.socket] = {}
    for host in (*HOSTS4, HOST6):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for kind, found in ((socket.SOCK_DGRAM, udp), (socket.SOCK_STREAM, tcp)):
            s = socket.socket(family, kind)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, PORT))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            s.setblocking(False)
            found[host] = s
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    sniffer.bind(("lo", 0))
    sniffer.setblocking(False)
    return udp, tcp, sniffer


def drain(udp: dict[str, socket.socket], tcp: dict[str, socket.socket],
          sniffer: socket.socket, wait: float = WAIT) -> list[str]:
    """Every destination something reached since the last drain."""
    seen: list[str] = []
    deadline = time.monotonic() + wait
    while True:
        every = [*udp.values(), *tcp.values(), sniffer]
        ready, _, _ = select.select(every, [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return seen
        for host, s in udp.items():
            if s in ready:
                while _recv(s):
                    seen.append(f"udp {host}")
        for host, s in tcp.items():
            if s in ready:
                try:
                    conn, _ = s.accept()
                    conn.close()
                    seen.append(f"tcp {host}")
                except BlockingIOError:
                    pass
        if sniffer in ready:
            while True:
                try:
                    packet, info = sniffer.recvfrom(4096)
                except BlockingIOError:
                    break
                if info[2] == socket.PACKET_OUTGOING:
                    continue
                if info[1] == 0x0800 and packet[9] == 1 and packet[20] == 8:
                    seen.append("icmp " + socket.inet_ntop(socket.AF_INET, packet[16:20]))
                elif info[1] == 0x86DD and packet[6] == 58 and packet[40] == 128:
                    seen.append("icmp " + socket.inet_ntop(socket.AF_INET6, packet[24:40]))


def _recv(s: socket.socket) -> bool:
    try:
        s.recv(4096)
        return True
    except BlockingIOError:
        return False


def run(case: dict[str, object]) -> dict[str, object]:
    family, kind, protocol = (int(case[k]) for k in ("family", "type", "protocol"))  # type: ignore[call-overload]
    s = socket.socket(family, kind | socket.SOCK_NONBLOCK, protocol)
    try:
        if case.get("v6only") is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(bool(case["v6only"])))
        bind = case.get("bind")
        if bind is not None:
            try:
                s.bind((str(bind), 0))
            except OSError as exc:
                return {"setup": errno.errorcode[exc.errno or 0]}
        call = str(case["call"])
        raw = bytes.fromhex(str(case["raw"])) if case.get("raw") is not None else None
        control = bytes.fromhex(str(case.get("control") or ""))
        flags = int(case.get("flags") or 0)  # type: ignore[call-overload]
        found = destination(TraceeSocket(s, os.getpid()), CALL_OF[call], raw, flags=flags,
                            control=control)
        predicted = None if found.address is None else \
            [found.address.family, found.address.host, found.address.port]
        answer: dict[str, object] = {"predicted": predicted, "unseen": found.unseen,
                                     "why": found.why}
        result = _call(s, call, raw, flags, control)
        answer["result"] = result
        if call == "connect" and result in (0, "EINPROGRESS") and kind == socket.SOCK_DGRAM:
            sent = libc.send(s.fileno(), _payload(s), len(_payload(s)), 0)
            answer["sent"] = sent if sent >= 0 else errno.errorcode[ctypes.get_errno()]
        if call == "bind" and result == 0:
            name = s.getsockname()
            answer["bound"] = [name[0], name[1]]
        return answer
    finally:
        s.close()


def _payload(s: socket.socket) -> bytes:
    """What a call sends: an ICMP echo request for a ping socket, else anything."""
    if s.proto == socket.IPPROTO_ICMP:
        return b"\x08\0\0\0\0\0\0\0"
    if s.proto == socket.IPPROTO_ICMPV6:
        return b"\x80\0\0\0\0\0\0\0"
    return b"datagram"


def _call(s: socket.socket, call: str, raw: bytes | None, flags: int,
          control: bytes) -> int | str:
    fd = s.fileno()
    name = ctypes.create_string_buffer(raw, max(len(raw), 1)) if raw is not None else None
    length = len(raw) if raw is not None else 0
    data = _payload(s)
    if call == "connect":
        rc = libc.connect(fd, name, length)
    elif call == "bind":
        rc = libc.bind(fd, name, length)
    elif call == "sendto":
        rc = libc.sendto(fd, data, len(data), flags, name, length)
    else:
        assert call == "sendmsg"
        buffer = ctypes.create_string_buffer(data, len(data))
        iov = (ctypes.c_uint64 * 2)(ctypes.addressof(buffer), len(data))
        control_buffer = ctypes.create_string_buffer(control, max(len(control), 1))
        header = (ctypes.c_uint64 * 7)(
            ctypes.addressof(name) if name is not None else 0, length,
            ctypes.addressof(iov), 1,
            ctypes.addressof(control_buffer) if control else 0, len(control), 0)
        rc = libc.sendmsg(fd, header, flags)
    if rc < 0:
        return errno.errorcode[ctypes.get_errno()]
    return int(rc)


def main() -> None:
    setup()
    udp, tcp, sniffer = listeners()
    print("ready", flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        drain(udp, tcp, sniffer, 0.0)
        answer = run(case)
        answer["observed"] = drain(udp, tcp, sniffer)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
