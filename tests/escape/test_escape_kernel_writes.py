"""Red team 7: arguments the kernel itself writes during the call that reads them, and a
routing header set through another option than the refused ones.

No task of the tree writes here: the call does.  sendmmsg writes each message's msg_len (the
bytes it sent) before it reads the next message's header, name and control data, so a later
message whose name lies over an earlier msg_len is sent to an address the tracer never read
-- in a tree of one task, where nothing is copied or frozen (``net_mmsglen.c``).  Such a
batch is refused (EPERM): what the kernel will write there is a count the send decides."""

from __future__ import annotations

import pytest
from escape_lib import (
    UdpListener,
    assert_blocked,
    attack,
    never,
    permit,
    policy,
    require_real,
    settle,
)

LOOPS = pytest.mark.parametrize("loop", [{}, {"SYSTRACE_NO_CLOOP": "1"}],
                                ids=["cloop", "pyloop"])


@LOOPS
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


@LOOPS
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
