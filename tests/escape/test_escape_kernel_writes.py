"""Red team 7: arguments the kernel itself writes during the call that reads them, and a
routing header set through another option than the refused ones.

No task of the tree writes here: the call does.  sendmmsg writes each message's msg_len (the
bytes it sent) before it reads the next message's header, name and control data, so a later
message whose name lies over an earlier msg_len is sent to an address the tracer never read
-- in a tree of one task, where nothing is copied or frozen (``net_mmsglen.c``).  Such a
batch is refused (EPERM): what the kernel will write there is a count the send decides."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from escape_lib import (
    Outcome,
    UdpListener,
    assert_blocked,
    attack,
    never,
    permit,
    policy,
    require_real,
    settle,
)


@pytest.mark.parametrize("mode", ["name", "direct"])
def test_a_later_messages_name_written_by_the_kernel(build, mode, loop):
    """Control: natively message 1 reaches 127.0.0.2 (its address was 127.0.3.3 until the
    kernel wrote message 0's msg_len = 512 over its last two bytes).  Traced under a policy
    refusing 127.0.0.2: nothing arrives there (before the fix: ESCAPED, both loops)."""
    program = build("escape/net_mmsglen.c")
    refuse = policy(never("net-connect", "ECONNREFUSED", address="127.0.0.2"))
    for traced in (False, True):
        listener = UdpListener("127.0.0.2")
        try:
            outcome = attack(program, mode, listener.port, policy_text=refuse if traced else None,
                             scene=None, env=loop)
            settle(lambda received=listener.received: len(received))
        finally:
            listener.close()
        if not traced:
            require_real(outcome)
            assert listener.received, "the control's datagram did not arrive"
        else:
            assert_blocked(outcome)
            assert not listener.received, f"127.0.0.2 received {listener.received}"


# --- a routing header by another option (red team 7) -------------------------------------------

def pktoptions_policy() -> str:
    """::1 refused; socket() named, so the program's witness (a packet socket) is made."""
    return policy(permit("socket"), never("net-connect", "ECONNREFUSED", address="::1"))


def test_a_routing_header_set_by_2292pktoptions(build, loop):
    """setsockopt(IPV6_2292PKTOPTIONS) sets sticky options from control messages, a type 2
    routing header among them: every later send goes to its address.  Control: the kernel
    reads the options (0 where it has CONFIG_IPV6_MIP6 -- then the full attack must escape --,
    EINVAL for the type 2 header here); traced under address rules the option is refused
    (EPERM) before the kernel reads it (before the fix: the kernel's answer, both loops)."""
    program = build("escape/net_pktoptions.c")
    control = attack(program, "rh2", 5301, policy_text=None, scene=None, env=loop)
    if "setsockopt: EINVAL" not in control.stdout:
        require_real(control)
    assert "setsockopt: EPERM" not in control.stdout, control
    traced = attack(program, "rh2", 5301, policy_text=pktoptions_policy(), scene=None, env=loop)
    assert_blocked(traced)
    assert "setsockopt: EPERM" in traced.stdout, traced


def test_the_pktoptions_witness_sees_a_direct_send(build):
    """Sanity: the witness sees a plain send to ::1, and the rule stops it."""
    program = build("escape/net_pktoptions.c")
    require_real(attack(program, "direct", 5302, policy_text=None, scene=None))
    assert_blocked(attack(program, "direct", 5302, policy_text=pktoptions_policy(), scene=None))


# --- packets written into a tun device (red team 7) -----------------------------------------------

def local_address() -> str | None:
    """An IPv4 address of this host that is not loopback (a packet for 127/8 arriving on a tun
    interface is a martian), or None."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return None


def tun_policy(dest: str) -> str:
    return policy(never("net-connect", "ECONNREFUSED", address=dest))


def blocked_at_tunsetiff(outcome: Outcome) -> None:
    assert "TUNSETIFF: EPERM" in outcome.stdout, outcome


def run_tun(program: str | os.PathLike[str], dest: str, mode: str, *extra: str,
            prefix: tuple[str, ...] = (), options: tuple[str, ...] = (),
            loop: dict[str, str] | None = None) -> None:
    for traced in (False, True):
        listener = UdpListener(dest)
        try:
            argv = (*(() if traced else prefix), str(program), mode, dest, str(listener.port),
                    *extra)
            outcome = attack(argv[0], *argv[1:], scene=None, env=loop, options=options,
                             policy_text=tun_policy(dest) if traced else None)
            settle(lambda received=listener.received: len(received))
        finally:
            listener.close()
        if not traced:
            require_real(outcome)
            assert listener.received, f"the control's packet did not arrive:\n{outcome}"
        else:
            assert outcome.verdict in ("BLOCKED", "ESCAPED"), f"it did not run:\n{outcome}"
            assert not listener.received, f"{dest} received {listener.received}:\n{outcome}"
            blocked_at_tunsetiff(outcome)


def test_a_packet_written_into_a_new_tun_device(build, loop):
    """Root: a new tun interface, up, and one UDP packet for an address of this host written
    into it.  Control: the listener there receives it.  Traced under a rule refusing that
    address: TUNSETIFF is refused (EPERM) and nothing arrives (before the fix: it arrived,
    both loops)."""
    if os.geteuid() != 0:
        pytest.skip("making a tun interface needs CAP_NET_ADMIN")
    dest = local_address()
    if dest is None:
        pytest.skip("no non-loopback IPv4 address")
    run_tun(build("escape/net_tun.c"), dest, "tun", loop=loop)


def test_a_packet_written_into_a_users_own_tun_device(build):
    """Without any capability: alice attaches to a persistent tun interface made for her
    (`ip tuntap add mode tun user alice`, up) and writes the same packet.  Needs
    /dev/net/tun open to every user (its mode on most distributions: 0666)."""
    if os.geteuid() != 0:
        pytest.skip("the interface is made by root")
    try:
        alice = pwd.getpwnam("alice")
    except KeyError:
        pytest.skip("no user alice")
    if os.stat("/dev/net/tun").st_mode & 0o006 != 0o006:
        pytest.skip("/dev/net/tun is not open to every user here")
    dest = local_address()
    if dest is None:
        pytest.skip("no non-loopback IPv4 address")
    home = Path(tempfile.mkdtemp(prefix="escape-tun-", dir="/tmp"))  # (alice may enter it)
    os.chmod(home, 0o755)
    program = home / "net_tun"
    shutil.copy(build("escape/net_tun.c"), program)
    os.chmod(program, 0o755)
    name = f"rt7t{os.getpid() % 100000}"
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tun", "user",
                    str(alice.pw_uid)], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        ids = f"{alice.pw_uid}:{alice.pw_gid}"
        # the control as alice (setpriv), the traced run as alice (systrace -c)
        run_tun(program, dest, "attach", name, options=("-c", ids),
                prefix=("setpriv", f"--reuid={alice.pw_uid}", f"--regid={alice.pw_gid}",
                        "--clear-groups"))
    finally:
        subprocess.run(["ip", "tuntap", "del", "dev", name, "mode", "tun"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_a_tun_device_without_address_rules_works_as_natively(build, loop):
    """Parity: a run whose rules decide no destination (a path rule only) lifts the refusal,
    as it lifts the source-route guards: the packet arrives, traced as natively."""
    if os.geteuid() != 0:
        pytest.skip("making a tun interface needs CAP_NET_ADMIN")
    dest = local_address()
    if dest is None:
        pytest.skip("no non-loopback IPv4 address")
    listener = UdpListener(dest)
    try:
        outcome = attack(build("escape/net_tun.c"), "tun", dest, listener.port, scene=None,
                         env=loop, policy_text=policy(never("fsread", path="/nonexistent/**")))
        settle(lambda: len(listener.received))
    finally:
        listener.close()
    assert outcome.verdict == "ESCAPED" and listener.received, outcome
