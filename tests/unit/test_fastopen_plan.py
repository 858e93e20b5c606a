"""A send with MSG_FASTOPEN on a TCP socket is the kernel's connect (tcp_sendmsg_fastopen):
where a connect may be refused, the prefilter stops such sends (review 71, close 47:
filterplan._stop_connecting_sends) -- and only there."""

from __future__ import annotations

import pytest

from systrace_py.kernel import MSG_FASTOPEN
from systrace_py.policy import filterplan
from systrace_py.policy.files import loads_policy
from systrace_py.policy.filterplan import ADDRESSED_SEND, ALLOW, TRACE, PlanOptions

_NEVER_CONNECT = '''default = "permit"
[[rule]]
calls = ["connect"]
action = "never"
'''
_NOTHING = 'default = "permit"\n'


@pytest.mark.parametrize(("text", "stops"), [(_NEVER_CONNECT, True), (_NOTHING, False)])
def test_a_refused_connect_stops_the_sends_that_connect(text: str, stops: bool) -> None:
    """Under ``never connect`` alone no rule names a send, and on main the filter let every
    send run whole: a sendmsg with MSG_FASTOPEN opened a stream the tracer never saw.  Now
    a sendmsg or sendmmsg with MSG_FASTOPEN in its flags argument stops, a sendto with an
    address stops; the other sends still run unstopped."""
    plan = filterplan.plan([loads_policy(text).main], PlanOptions())
    for name, flags_arg in (("sendmsg", 2), ("sendmmsg", 3)):
        args = [3, 0x1000, 1, 0, 0, 0]
        assert plan.verdict(name, args) == ALLOW, name
        args[flags_arg] = MSG_FASTOPEN
        assert plan.verdict(name, args) == (TRACE if stops else ALLOW), name
    selected = plan.selected.get("sendto")
    assert (selected is not None and selected.rule == ADDRESSED_SEND) is stops
    assert plan.verdict("sendto", [3, 0x1000, 1, 0, 0, 0]) == ALLOW


def test_the_host_recipe_refuses_a_datagram_anywhere_else() -> None:
    """docs/policy.md's host recipe (as written there: its block after "pip may reach PyPI
    by name") refuses a send naming an address no rule permits, a fast-open connect too,
    and leaves a send without an address (glibc's lookups on a connected socket) and a
    lookup's send to port 53 alone."""
    from pathlib import Path

    from systrace_py.policy.model import Action, CallFacts, SockAddr

    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    block = doc.split("# pip may reach PyPI by name", 1)[1].split("```", 1)[0]
    table = loads_policy('default = "permit"\n' + block.split("\n", 1)[1]).main
    elsewhere = SockAddr("inet", "192.0.2.9", 9999)
    assert table.decide(CallFacts("sendto", sockaddr=elsewhere)).action is Action.NEVER
    assert table.decide(CallFacts("connect", sockaddr=elsewhere)).action is Action.NEVER
    assert table.decide(CallFacts("sendto")).action is Action.PERMIT
    assert table.decide(CallFacts("sendto", sockaddr=SockAddr("inet", "192.0.2.9", 53))) \
        .action is Action.PERMIT
