"""Red team 50: an outsider at the honest limits.

*Private mappings written by others* says a packet socket's ring in a `MAP_PRIVATE` mapping is
written by the kernel "on behalf of a program with CAP_NET_RAW", and red team 9 reasoned that
packet rings "need MAP_SHARED".  They do not: packet_mmap inserts the ring's pages into a
private mapping as well, and the kernel goes on writing captured packets there.  A
MAP_PRIVATE mmap of a descriptor does not stop, so nothing told the tracer that the page had
a writer -- and sendmmsg, which reads each message's name only after the earlier messages
were sent (and captured, synchronously, on lo), reads a name there that the tracer never saw
(``net_pktring.c``).  Red team 7 closed the same shape for the msg_len the kernel writes; this
is the class's other writer.  Now a packet ring (``setsockopt(SOL_PACKET, PACKET_RX_RING or
PACKET_TX_RING)``) stops and counts as a writer of any page, in every address space of the
tree from then on (a ring is mapped by whoever holds its socket)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from escape_lib import (
    Outcome,
    UdpListener,
    assert_blocked,
    attached_run,
    attack,
    never,
    outsider,
    permit,
    policy,
    quiet_lo,  # noqa: F401 (a fixture: pytestmark)
    require_real,
    settle,
)

pytestmark = pytest.mark.usefixtures("quiet_lo")  # (escape_lib.quiet_lo)

REFUSED = "127.127.127.127"


def ring_policy() -> str:
    """127.127.127.127 refused; socket() named, so the packet socket is made (under address
    rules the sockets they cannot see are not made unless a rule names the call -- as a
    learned policy of any program that made a socket does: it permits ``socket``)."""
    return policy(permit("socket"), never("net-connect", "ECONNREFUSED", address=REFUSED))


def run_ring(program: Path, mode: str, traced: bool,
             loop: dict[str, str] | None) -> tuple[Outcome, list[bytes]]:
    listener = UdpListener(REFUSED)
    try:
        outcome = attack(program, mode, listener.port, scene=None, env=loop,
                         policy_text=ring_policy() if traced else None)
        settle(lambda: len(listener.received))
    finally:
        listener.close()
    return outcome, listener.received


@pytest.mark.parametrize("mode", ["ring", "exec", "shared"])
def test_a_later_messages_name_written_into_a_private_packet_ring(build, mode, loop):
    """Control: natively message 1 reaches 127.127.127.127 (its sin_addr was 0.0.0.0 in the
    ring's page until message 0 was captured there).  Traced under a policy refusing
    127.127.127.127: nothing arrives there, the sendmmsg is refused (EPERM) -- before the fix:
    ESCAPED, both loops.  ``exec``: the ring is made by one image and mapped by the next,
    which inherited its socket (an exec's new address space has no mark of its own: escaped
    with the ring's mark kept per address space).  ``shared``: the ring mapped MAP_SHARED,
    as its users map it -- that mmap stops and the call counts as held, but a sendmmsg is
    only frozen, which stops no kernel (escaped on main as well)."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    program = build("escape/net_pktring.c")
    control, received = run_ring(program, mode, False, loop)
    require_real(control)
    assert received, f"the control's datagram did not arrive:\n{control}"
    outcome, received = run_ring(program, mode, True, loop)
    assert_blocked(outcome)
    assert "sendmmsg: -1 EPERM" in outcome.stdout, outcome
    assert not received, f"{REFUSED} received {received}:\n{outcome}"


def test_the_ring_witness_sees_a_direct_send(build, loop):
    """Sanity: the rule stops a plain send to the refused address, the witness sees it
    natively."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    program = build("escape/net_pktring.c")
    control, received = run_ring(program, "direct", False, loop)
    require_real(control)
    assert received
    outcome, received = run_ring(program, "direct", True, loop)
    assert_blocked(outcome)
    assert not received


def test_a_private_ring_mapping_shows_the_kernels_writes(build):
    """The fact the limit's text had wrong: a MAP_PRIVATE mapping of a packet ring is written
    by the kernel (no tracer involved)."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    outcome = attack(build("escape/net_pktring.c"), "check", 9, scene=None, policy_text=None)
    require_real(outcome)


def test_a_sendmmsg_name_in_a_shared_page_an_outsider_rewrites(build, tmp_path, loop):
    """The name of a one-message sendmmsg in a MAP_SHARED file page that a process outside
    the tree flips between 127.0.0.3 and 127.127.127.127.  Control: natively datagrams reach
    127.127.127.127.  Traced under a policy refusing it: none does -- the call is refused
    (EPERM) while its messages lie in a shared page.  Before the fix the page was "held" by
    a freeze, which stops no outsider: datagrams arrived, both loops."""
    program = build("escape/net_mmsg_shared.c")
    where = tmp_path / "shared"
    with outsider([program, "flip", where]):
        for traced in (False, True):
            listener = UdpListener(REFUSED)
            try:
                outcome = attack(program, "send", where, listener.port, 3000, scene=None,
                                 env=loop, policy_text=ring_policy() if traced else None)
                settle(lambda received=listener.received: len(received))
            finally:
                listener.close()
            if not traced:
                assert outcome.verdict == "BLOCKED", outcome  # (the witness tells)
                assert listener.received, f"the control reached nothing:\n{outcome}"
            else:
                assert not listener.received, \
                    f"{REFUSED} received {len(listener.received)}:\n{outcome}"
                assert "BLOCKED: 0 sent" in outcome.stdout, outcome
                assert " 0 EPERM" not in outcome.stdout, outcome  # (the engine's refusal)


@pytest.mark.parametrize("mode", ["ring", "shared"])
def test_a_ring_mapped_before_systrace_attached(build, tmp_path, mode):
    """--attach: the process made and mapped its ring before systrace came (no setsockopt of
    the tree's to see).  The maps read at the attach show the ring (a socket mapping: private
    or shared), which counts as a writer of any page: the sendmmsg is refused (EPERM).
    Before the maps counted a private socket mapping, the ``ring`` form escaped."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    program = build("escape/net_pktring.c")
    listener = UdpListener(REFUSED)
    try:
        # (no scene: the environment as it is, of the program and of systrace)
        run = attached_run([program, mode, listener.port], ring_policy(), env=dict(os.environ),
                           cwd=tmp_path, tracer_first=True)
        settle(lambda: len(listener.received))
    finally:
        listener.close()
    assert "ESCAPED" not in run.out and not listener.received, run.out + run.tracer.stderr
    assert "sendmmsg: -1 EPERM" in run.out, run.out + run.tracer.stderr


def test_after_madv_free_a_nameless_batch_runs_and_a_named_one_is_refused(build, loop):
    """Parity and its limit: MADV_FREE makes the reclaim a writer of zeros anywhere, which can
    take a sendmmsg's name away but never make one -- a nameless batch on a connected socket
    (glibc's resolver sends so) runs; one with a name is refused (EPERM: a reclaim could cut
    its address short, as race_reclaim.c cut a path).  Natively both run."""
    program = build("escape/net_mmsg_shared.c")
    control = attack(program, "free", 9, scene=None, env=loop, policy_text=None)
    if control.verdict == "SKIPPED":
        pytest.skip(control.detail)
    assert "nameless: 1 ok, named: 1 ok" in control.stdout, control
    traced = attack(program, "free", 9, scene=None, env=loop, policy_text=ring_policy())
    assert "nameless: 1 ok, named: -1 EPERM" in traced.stdout, traced


def test_a_ring_handed_over_by_an_outsider(build, tmp_path, loop):
    """Review 34: the packet socket comes with its ring made, from a process outside the tree
    (SCM_RIGHTS over a unix socket): the tree makes no setsockopt, and its MAP_PRIVATE mmap of
    the socket does not stop, so nothing marked the tree as ringed.  Control: natively message
    1 goes to 127.127.127.127.  Traced: the sendmmsg is refused (EPERM: a message lies in a
    kernel's ring, seen in /proc/PID/maps at the call).  On 3061f51..d2ad4e8 it escaped, both
    loops."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    program = build("escape/net_pktring.c")
    where = tmp_path / "giver.sock"
    with outsider([program, "give", where]) as giver:
        assert giver.stdout is not None
        assert giver.stdout.readline().startswith("ready"), "the giver did not start"
        for traced in (False, True):
            listener = UdpListener(REFUSED)
            try:
                outcome = attack(program, "received", listener.port, where, scene=None,
                                 env=loop, policy_text=ring_policy() if traced else None)
                settle(lambda received=listener.received: len(received))
            finally:
                listener.close()
            if not traced:
                require_real(outcome)
                assert listener.received, f"the control's datagram did not arrive:\n{outcome}"
            else:
                assert_blocked(outcome)
                assert "sendmmsg: -1 EPERM" in outcome.stdout, outcome
                assert not listener.received, f"{REFUSED} received {listener.received}:\n{outcome}"
