"""Arguments the kernel itself writes during the call that reads them (red team 7).

No task of the tree writes here: the call does.  sendmmsg writes each message's msg_len (the
bytes it sent) before it reads the next message's header, name and control data, so a later
message whose name lies over an earlier msg_len is sent to an address the tracer never read
-- in a tree of one task, where nothing is copied or frozen (``net_mmsglen.c``).  Such a
batch is refused (EPERM): what the kernel will write there is a count the send decides."""

from __future__ import annotations

import pytest
from escape_lib import UdpListener, assert_blocked, attack, never, policy, require_real, settle

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
