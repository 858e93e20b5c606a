"""Class 7: network.  connect/sendto/sendmsg/sendmmsg to a refused address spelled as an
IPv4-mapped IPv6 address or as the "any" address, a connect hidden in sendto (TCP Fast Open),
several messages in one sendmmsg, unix sockets by path (through symlinks, /proc, links and
renames the program makes) and abstract names, a UDP datagram whose control message (an IPv4
source route) sends it somewhere other than its msg_name; addresses the kernel reads by the
socket rather than by their family field (AF_UNSPEC taken for AF_INET, AF_INET on an IPv6
socket, the unspecified address meaning the socket's source), and sockets whose destination is
chosen outside any address (raw with their own IP header, packet sockets)."""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest
from escape_lib import (
    SYSTRACE,
    Outcome,
    Scene,
    TcpListener,
    UdpListener,
    UnixListener,
    assert_blocked,
    attack,
    listening,
    never,
    permit,
    policy,
    require_real,
    settle,
)


def refuse_local(port: int) -> str:
    return policy(never("net-connect", "ECONNREFUSED", address=["127.0.0.1", "::1"], port=port))


def run_net(build, mode: str, listener: TcpListener | UdpListener) -> Outcome:
    program = build("escape/net_addr.c")
    try:
        require_real(attack(program, mode, listener.port, policy_text=None, scene=None))
        listener.reset()
        traced = attack(program, mode, listener.port, policy_text=refuse_local(listener.port),
                        scene=None)
        assert_blocked(traced)
    finally:
        listener.close()
    if isinstance(listener, TcpListener):
        assert listener.accepted == 0, "the refused listener accepted a connection"
    else:
        assert not listener.received, "the refused port received datagrams"
    return traced


@pytest.mark.parametrize("mode", ["mapped_connect", "fastopen"])
def test_tcp_to_a_refused_address(build, mode):
    run_net(build, mode, TcpListener())


@pytest.mark.parametrize("mode", ["mapped_sendto", "mapped_sendmsg", "sendmmsg"])
def test_udp_to_a_refused_address(build, mode):
    run_net(build, mode, UdpListener())


@pytest.mark.parametrize(("mode", "host", "family"), [
    ("any_connect", "127.0.0.1", socket.AF_INET),
    ("mapped_any", "127.0.0.1", socket.AF_INET),
    ("any6_connect", "::1", socket.AF_INET6)])
def test_connect_to_the_unspecified_address(build, mode, host, family):
    run_net(build, mode, TcpListener(host, family))


# --- addresses read by the socket, sockets that choose their destination elsewhere -------------

#: net_family.c's modes that reach 127.0.0.2 through an address the kernel reads by its socket
BY_THE_SOCKET = ["unspec_sendto", "unspec_sendmsg", "unspec_sendmmsg", "v4_on_v6_sendto",
                 "v4_on_v6_sendmsg", "v4_on_v6_connect", "mapped_sendto", "bound_any",
                 "bound_any_tcp", "pktinfo_any", "fastopen_tcp"]
#: ... and through a socket whose destination no address says (root: CAP_NET_RAW)
UNSEEN = ["raw_hdrincl", "packet", "sock_packet"]


SO_ATTACH_FILTER = 26
#: classic BPF on an IP packet: protocol (byte 9) UDP and destination (16) 127.0.0.2
_UDP_TO_SECOND_LOOPBACK = b"".join(struct.pack("HBBI", *insn) for insn in (
    (0x30, 0, 0, 9),             # ldb [9]
    (0x15, 0, 3, 17),            # jeq #IPPROTO_UDP, next, drop
    (0x20, 0, 0, 16),            # ld [16]
    (0x15, 0, 1, 0x7F000002),    # jeq #127.0.0.2, next, drop
    (0x06, 0, 0, 0xFFFF),        # ret #65535
    (0x06, 0, 0, 0)))            # drop: ret #0


class LoopbackWitness(UdpListener):
    """Sees every UDP datagram for 127.0.0.2:port on lo (a packet socket outside the tree): a
    datagram a packet socket injects there is a martian (its source and destination are
    loopback addresses arriving from outside the host), dropped before any listener, but it
    was sent where no rule looked."""

    def __init__(self) -> None:
        super().__init__("127.0.0.2")
        # (only UDP to 127.0.0.2 is queued: with every datagram of lo queued, the other
        # tests' traffic under a busy CI filled the buffer and the control's packet was
        # dropped -- a flake.  Made with no protocol, so nothing comes before the filter.)
        self.sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        program = ctypes.create_string_buffer(_UDP_TO_SECOND_LOOPBACK)
        self.sniffer.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack(
            "HxxxxxxQ", len(_UDP_TO_SECOND_LOOPBACK) // 8, ctypes.addressof(program)))
        self.sniffer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sniffer.bind(("lo", 0x0800))  # (ETH_P_IP: Python turns it to network order)
        self.sniffer.setblocking(False)

    def saw(self) -> int:
        time.sleep(0.2)
        seen = 0
        refused = socket.inet_aton("127.0.0.2")
        while True:
            try:
                packet = self.sniffer.recv(4096)
            except BlockingIOError:
                return seen
            ihl = (packet[0] & 0xF) * 4
            if packet[9] == socket.IPPROTO_UDP and packet[16:20] == refused and \
                    int.from_bytes(packet[ihl + 2:ihl + 4], "big") == self.port:
                seen += 1

    def close(self) -> None:
        self.sniffer.close()
        super().close()


def second_refused() -> str:
    return policy(never("net-connect", "ECONNREFUSED", address="127.0.0.2"))


def arrived(listener: TcpListener | UdpListener) -> int:
    """What reached the listener (or its witness), once it stopped coming."""
    if isinstance(listener, LoopbackWitness):
        return listener.saw()
    if isinstance(listener, TcpListener):
        settle(lambda: listener.accepted)
        return listener.accepted
    settle(lambda: len(listener.received))
    return len(listener.received)


def run_family(build, mode: str, policy_text: str | None = None,
               options: tuple[str, ...] = ()) -> Outcome:
    """The control run escapes (what it sent reached 127.0.0.2); the traced run under
    ``policy_text`` (127.0.0.2 refused) with systrace's ``options`` does not, and nothing
    reaches 127.0.0.2."""
    program = build("escape/net_family.c")
    outcomes = []
    for traced in (False, True):
        listener: TcpListener | UdpListener = (
            TcpListener("127.0.0.2") if mode.endswith("_tcp") else
            LoopbackWitness() if mode in ("packet", "sock_packet") else UdpListener("127.0.0.2"))
        try:
            out = attack(program, mode, listener.port, scene=None, options=options,
                         policy_text=(policy_text or second_refused()) if traced else None)
            reached = arrived(listener)
        finally:
            listener.close()
        if not traced:
            require_real(out)
            assert reached, f"the control's packet did not arrive:\n{out}"
        else:
            assert_blocked(out)
            assert not reached, f"the refused address was reached:\n{out}"
        outcomes.append(out)
    return outcomes[1]


@pytest.mark.parametrize("mode", BY_THE_SOCKET)
def test_an_address_the_kernel_reads_by_its_socket(build, mode):
    """AF_UNSPEC sent as AF_INET (UDP), AF_INET on an IPv6 socket, a mapped address, the
    unspecified address from a socket bound to 127.0.0.2 or with an IP_PKTINFO source of
    127.0.0.2, a connect in a TCP Fast Open send: each is decided on where the kernel sends
    it.  (The old decoder read the family field alone: the first three and the source modes
    went to the refused address.)"""
    traced = run_family(build, mode)
    assert "ECONNREFUSED" in traced.detail, traced  # refused by the rule, not failed


@pytest.mark.parametrize("options", [(), ("-q",)], ids=["reported", "quiet"])
@pytest.mark.parametrize("mode", UNSEEN)
def test_a_socket_that_chooses_its_own_destination_is_not_made(build, mode, options):
    """Under address rules, raw sockets (IP_HDRINCL: the IP header is the program's) and
    packet sockets (AF_PACKET, and the old AF_INET/SOCK_PACKET) are refused where they are
    made, with EPERM: at a stop where the refusal is reported, by the filter alone (no stop)
    with -q."""
    if os.geteuid() != 0:
        pytest.skip("raw and packet sockets need CAP_NET_RAW")
    traced = run_family(build, mode, options=options)
    assert traced.detail.startswith("socket(") and "EPERM" in traced.detail, traced


def test_a_rule_naming_socket_lifts_the_refusal(build):
    """Lifted, a raw socket is made -- and what it sends is still decided by the address
    rules where they can look: its sendto is refused (EPERM: the engine cannot see where a
    raw socket's packet goes), until a rule names sendto too.  The lift is the user's choice,
    made by naming the calls."""
    if os.geteuid() != 0:
        pytest.skip("raw sockets need CAP_NET_RAW")
    program = build("escape/net_family.c")
    with listening(UdpListener("127.0.0.2")) as listener:
        assert isinstance(listener, UdpListener)
        out = attack(program, "raw_hdrincl", listener.port, scene=None,
                     policy_text=policy(permit("socket"), never("net-connect", "ECONNREFUSED",
                                                                address="127.0.0.2")))
        assert out.verdict == "BLOCKED" and out.detail == "raw_hdrincl: EPERM", out
        out = attack(program, "raw_hdrincl", listener.port, scene=None,
                     policy_text=policy(permit(["socket", "sendto"]),
                                        never("net-connect", "ECONNREFUSED",
                                              address="127.0.0.2")))
        assert out.verdict == "ESCAPED", out


#: a network namespace whose loopback device's first address is 10.9.9.9 (127.0.0.1 removed):
#: a host's eth0 and its LAN address, without a second device (red team 69)
_DEVICE_NETNS = ["unshare", "-n", "sh", "-c",
                 "ip link set lo up && ip addr add 10.9.9.9/32 dev lo && "
                 'ip addr del 127.0.0.1/8 dev lo && exec "$@"', "sh"]


@pytest.mark.parametrize("mode", ["pktinfo", "unicast_connect", "tcp", "mapped"])
def test_the_unspecified_address_from_a_socket_tied_to_a_device(build, mode):
    """0.0.0.0 with no source but an output device -- an IP_PKTINFO ifindex, IP_UNICAST_IF,
    SO_BINDTODEVICE -- goes to the device's own address (inet_select_addr), not to
    127.0.0.1: the engine said 127.0.0.1, and the refused 10.9.9.9 got the datagram or the
    connection (red team 69).  Now refused (EPERM) where a rule looks at the address.  The
    program listens on 10.9.9.9 itself, in a network namespace of the test's own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and ip (a network namespace of its own)")
    program = build("escape/net_device.c")
    args = (mode, "lo", "10.9.9.9", 4242)
    require_real(attack(_DEVICE_NETNS[0], *_DEVICE_NETNS[1:], program, *args, scene=None,
                        policy_text=None))
    traced = attack(program, *args, scene=None, tracer=[*_DEVICE_NETNS, *SYSTRACE],
                    policy_text=policy(never("net-connect", "ECONNREFUSED",
                                             address="10.9.9.9")))
    assert_blocked(traced)
    assert traced.detail == f"{mode}: EPERM", traced


@pytest.mark.parametrize("tasks", [(), ("threads",)], ids=["one_task", "two_tasks"])
def test_calls_the_policy_permits_run_as_they_run_alone(build, tasks):
    """Parity: disconnects (connect AF_UNSPEC), addresses TCP ignores (even a refused one), a
    family the socket does not take, IP_PKTINFO, unix names a socket drops, socket()s the
    kernel refuses itself...: under a policy refusing 127.0.0.2, every one returns what it
    returns alone -- in a tree of one task and of two (where what was checked is held, and
    the tree frozen where the socket decides).  The old decoder refused the ignored address."""
    program = build("escape/net_parity.c")
    alone = subprocess.run([str(program), *tasks], capture_output=True, text=True, timeout=60)
    assert alone.returncode == 0 and alone.stdout.count("\n") > 40, alone
    traced = attack(program, *tasks, policy_text=second_refused(), scene=None)
    assert traced.returncode == 0, traced
    assert traced.stdout == alone.stdout, (alone.stdout, traced)


# --- unix sockets --------------------------------------------------------------------------------

class UnixDgram:
    """A unix datagram receiver outside the tree."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)

    def got(self) -> bool:
        try:
            return bool(self.sock.recv(256))
        except BlockingIOError:
            return False

    def close(self) -> None:
        self.sock.close()


def unix_attack(build, tmp_path, mode: str, rule_on: str = "socket") -> None:
    """One run per scene: control, then traced.  ``rule_on``: "socket" (the socket's path) or
    "tree" (the socket's directory and everything below)."""
    program = build("escape/net_unix.c")
    for traced in (False, True):
        s = Scene.make(tmp_path, "traced" if traced else "control")
        sockdir = s.root / "sockdir"
        sockdir.mkdir()
        path = str(sockdir / "sock")
        dgram = mode == "dgram"
        listener: UnixListener | UnixDgram = UnixDgram(path) if dgram else UnixListener(path)
        unix = path if rule_on == "socket" else f"{sockdir}/**"
        text = policy(never("net-connect", "ECONNREFUSED", unix=unix),
                      *([never(["fsread", "fswrite"], path=f"{sockdir}/**")]
                        if rule_on == "tree" else []))
        try:
            out = attack(program, mode, path, s.work, policy_text=text if traced else None,
                         scene=s)
            reached = listener.got() if isinstance(listener, UnixDgram) else listener.accepted
        finally:
            listener.close()
        if not traced:
            require_real(out)
        else:
            assert_blocked(out)
            assert not reached, "the refused socket was reached"


@pytest.mark.parametrize("mode", ["path", "symlink", "relative", "procfd", "proccwd", "dgram"])
def test_unix_socket_by_another_path(build, tmp_path, mode):
    unix_attack(build, tmp_path, mode)


@pytest.mark.parametrize("mode", ["hardlink", "rename", "dirrename", "exchange", "direxchange"])
def test_unix_socket_renamed_or_linked_under_a_socket_rule(build, tmp_path, mode):
    unix_attack(build, tmp_path, mode)


@pytest.mark.parametrize("mode", ["hardlink", "rename", "dirrename", "exchange", "direxchange"])
def test_unix_socket_renamed_or_linked_under_a_tree_rule(build, tmp_path, mode):
    """Protecting the socket's directory for fsread/fswrite too closes these: the link or
    rename itself is refused."""
    unix_attack(build, tmp_path, mode, rule_on="tree")


def test_abstract_unix_socket(build, tmp_path):
    program = build("escape/net_unix.c")
    name = f"escape-test-{os.getpid()}-{time.monotonic_ns()}"
    listener = UnixListener(b"\0" + name.encode())
    try:
        require_real(attack(program, "abstract", "@" + name, tmp_path, policy_text=None,
                            scene=None))
        listener.reset()
        traced = attack(program, "abstract", "@" + name, tmp_path,
                        policy_text=policy(never("net-connect", "ECONNREFUSED",
                                                 unix="@" + name)), scene=None)
        assert_blocked(traced)
        assert listener.accepted == 0
    finally:
        listener.close()


# --- source routing: the packet goes where msg_name does not say -------------------------------

def srr_policy() -> str:
    """The refused address; socket() named, so the program's witness -- a packet socket,
    which address rules would refuse -- is made."""
    return policy(permit("socket"), never("net-connect", "ECONNREFUSED", address="127.0.0.2"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_source_route_witness_sees_a_direct_send(build, tmp_path):
    """Sanity: the witness sees a plain send to the refused address, and the rule stops it."""
    program, port = build("escape/net_srr.c"), free_port()
    require_real(attack(program, "direct", port, policy_text=None, scene=None))
    assert_blocked(attack(program, "direct", port, policy_text=srr_policy(), scene=None))


@pytest.mark.parametrize("mode", ["cmsg", "mmsg", "sockopt", "tcp"])
def test_source_route_through_a_refused_address(build, tmp_path, mode):
    program, port = build("escape/net_srr.c"), free_port()
    require_real(attack(program, mode, port, policy_text=None, scene=None))
    assert_blocked(attack(program, mode, port, policy_text=srr_policy(), scene=None))
