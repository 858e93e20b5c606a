"""Red team 37: an outsider with the policy reference, every kernel route to an effect.

Class 7 (network): an address that stands for several hosts.  A UDP datagram to the link's
directed broadcast, to the limited broadcast 255.255.255.255 or to an IPv6 multicast group
(ff02::1, every node of the link) reaches every host of the link that listens on the port --
the one whose own address a ``never`` rule names too.  The engine decided such a send on the
address as written, which no rule naming one host matched.  Two network namespaces joined by a
veth pair stand for the link: the program runs in one (natively, and under systrace with
``never net-connect`` on the other's address), the other answers every datagram (the witness).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from escape_lib import SYSTRACE, assert_blocked, attack, never, permit, policy, require_real

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]

#: the witness: answers every datagram, on IPv4 and IPv6, to its sender
ANSWERER = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, sender = s.recvfrom(256)
    s.sendto(b"GOT:" + data, sender)
"""
PORT = 9737


@dataclass
class Link:
    """Two network namespaces on one link: ``near`` (10.X.0.1, the program's) and ``far``
    (10.X.0.2, the refused host's, whose witness answers on ``PORT``)."""

    near: str
    far: str
    net: str

    @property
    def refused(self) -> str:
        return f"{self.net}.2"

    @property
    def broadcast(self) -> str:
        return f"{self.net}.255"

    def run_near(self, program: object, *args: object, policy_text: str | None,
                 options: tuple[str, ...] = ()) -> object:
        ip = ["ip", "netns", "exec", self.near]
        if policy_text is None:
            return attack("ip", *ip[1:], program, *args, policy_text=None, scene=None)
        return attack(program, *args, policy_text=policy_text, scene=None,
                      tracer=[*ip, *SYSTRACE], options=options)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _wait_for_link_local(ns: str, dev: str) -> None:
    deadline = time.monotonic() + 30
    while "inet6" not in subprocess.run(["ip", "-n", ns, "-6", "addr", "show", "dev", dev,
                                         "scope", "link"], capture_output=True,
                                        text=True).stdout:
        if time.monotonic() > deadline:
            pytest.skip(f"{dev} got no link-local address")
        time.sleep(0.05)


@pytest.fixture
def link() -> Iterator[Link]:
    tag = f"st37-{os.getpid()}"
    near, far = f"{tag}-a", f"{tag}-b"
    net = f"10.{os.getpid() % 200 + 20}.0"
    answerer = None
    try:
        for ns in (near, far):
            _ip("netns", "add", ns)
            for key in ("all", "default"):  # link-local addresses usable at once
                _ip("netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "va", "netns", near, "type", "veth", "peer", "name", "vb", "netns",
            far)
        _ip("-n", near, "addr", "add", f"{net}.1/24", "dev", "va")
        _ip("-n", far, "addr", "add", f"{net}.2/24", "dev", "vb")
        _ip("-n", near, "link", "set", "va", "up")
        _ip("-n", far, "link", "set", "vb", "up")
        _ip("-n", near, "route", "add", "default", "dev", "va")  # (the limited broadcast's)
        for ns, dev in ((near, "va"), (far, "vb")):  # each end's link-local address, once up
            _wait_for_link_local(ns, dev)
        answerer = subprocess.Popen(["ip", "netns", "exec", far, sys.executable, "-c", ANSWERER,
                                     str(PORT)], stdout=subprocess.PIPE, text=True)
        assert answerer.stdout is not None
        assert answerer.stdout.readline().strip() == "ready"
        yield Link(near, far, net)
    finally:
        if answerer is not None:
            answerer.kill()
            answerer.wait()
        for ns in (near, far):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def refuse_host(link: Link) -> str:
    return policy(never("net-connect", "EACCES", address=link.refused))


def test_the_witness_answers_a_send_to_the_refused_host_and_the_rule_stops_it(build, link):
    """Sanity: the refused host answers a datagram to its own address; the rule refuses it."""
    program = build("escape/net_many.c")
    require_real(link.run_near(program, PORT, link.refused, policy_text=None))
    assert_blocked(link.run_near(program, PORT, link.refused, policy_text=refuse_host(link)))


@pytest.mark.parametrize("loop", ["cloop", "pyloop"])
@pytest.mark.parametrize("where", ["directed", "limited", "multicast6", "unshared"])
def test_a_datagram_to_several_hosts_does_not_reach_a_refused_one(build, link, where, loop,
                                                                  monkeypatch):
    """Each of these escaped before: the send was decided on the broadcast or group address,
    which the rule on the host's own address did not match.  ``unshared``: the task left for
    a network namespace of its own after making the socket, whose routes (/proc/TID/net)
    know no broadcast address of the link the socket still sends on."""
    if loop == "pyloop":
        monkeypatch.setenv("SYSTRACE_NO_CLOOP", "1")
    program = build("escape/net_many.c")
    args = {"directed": (link.broadcast,), "limited": ("255.255.255.255",),
            "multicast6": ("ff02::1", "va"), "unshared": (link.broadcast, "unshare")}[where]
    require_real(link.run_near(program, PORT, *args, policy_text=None))
    assert_blocked(link.run_near(program, PORT, *args, policy_text=refuse_host(link)))


def test_a_rule_naming_the_group_before_the_refusal_lets_it_through(build, link):
    """What the user permits by name before the refusal stays permitted: the first rule that
    names the address itself decides (mDNS, SSDP and DHCP keep working where named)."""
    program = build("escape/net_many.c")
    text = policy(permit("net-connect", address=["ff02::1", link.broadcast]),
                  never("net-connect", "EACCES", address=link.refused))
    for args in ((link.broadcast,), ("ff02::1", "va")):
        require_real(link.run_near(program, PORT, *args, policy_text=text))


#: in a network namespace of its own (lo only): a datagram to itself at 127.0.0.1, then one
#: to lo's broadcast address, each told as it went
OWN_NAMESPACE = """
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("0.0.0.0", 9738))
r.settimeout(30)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for host in ("127.0.0.1", "127.255.255.255"):
    try:
        s.sendto(host.encode(), (host, 9738))
        print("sent", host, "got", r.recv(64).decode(), flush=True)
    except OSError as exc:
        print("refused", host, exc.errno, flush=True)
"""


def test_a_task_in_a_namespace_of_its_own_is_judged_by_its_own_routes(tmp_path):
    """A socket of the task's own (new) network namespace is judged by that namespace's
    routes, not taken for a broadcast because it is not systrace's: 127.0.0.1 is sent to as
    natively, and lo's broadcast there (which reaches every socket of the namespace on the
    port) is refused like any other under a refusing address rule."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    argv = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" -c "$1"',
            sys.executable, OWN_NAMESPACE]
    native = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert native.stdout.splitlines() == ["sent 127.0.0.1 got 127.0.0.1",
                                          "sent 127.255.255.255 got 127.255.255.255"], native
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy(never("net-connect", "EACCES", address="10.37.0.2")))
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", *argv],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SYSTRACE_NO_RESIDENT": "1"})
    assert traced.stdout.splitlines() == ["sent 127.0.0.1 got 127.0.0.1",
                                          "refused 127.255.255.255 13"], traced
