"""Class 7: network.  connect/sendto/sendmsg/sendmmsg to a refused address spelled as an
IPv4-mapped IPv6 address or as the "any" address, a connect hidden in sendto (TCP Fast Open),
several messages in one sendmmsg, unix sockets by path (through symlinks, /proc, links and
renames the program makes) and abstract names, and a UDP datagram whose control message
(an IPv4 source route) sends it somewhere other than its msg_name."""

from __future__ import annotations

import os
import socket
import time

import pytest
from escape_lib import (
    Outcome,
    Scene,
    TcpListener,
    UdpListener,
    UnixListener,
    assert_blocked,
    attack,
    never,
    policy,
    require_real,
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
    return policy(never("net-connect", "ECONNREFUSED", address="127.0.0.2"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_source_route_witness_sees_a_direct_send(build, tmp_path):
    """Sanity: the witness sees a plain send to the refused address, and the rule stops it."""
    program, port = build("escape/net_srr.c"), free_port()
    require_real(attack(program, "direct", port, policy_text=None, scene=None))
    assert_blocked(attack(program, "direct", port, policy_text=srr_policy(), scene=None))


@pytest.mark.parametrize("mode", ["cmsg", "sockopt", "tcp"])
def test_source_route_through_a_refused_address(build, tmp_path, mode):
    program, port = build("escape/net_srr.c"), free_port()
    require_real(attack(program, mode, port, policy_text=None, scene=None))
    assert_blocked(attack(program, mode, port, policy_text=srr_policy(), scene=None))
