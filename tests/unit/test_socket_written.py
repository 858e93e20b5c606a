"""A connect or send to a unix socket's path is decided as a write-open of its file, by a
rule naming paths (red team 86, ``Table.may_refuse_socket_write``): the prefilter stops those
calls where such a rule is, and only there."""

from __future__ import annotations

import pytest

from systrace_py.policy import filterplan
from systrace_py.policy.files import loads_policy
from systrace_py.policy.filterplan import ADDRESSED_SEND, SOCKET_WRITERS, PlanOptions

_NAMED = '''default = "permit"
[[rule]]
calls = ["fswrite"]
path = "/srv/keys/**"
action = "never"
'''
_NO_PATH = '''default = "permit"
[[rule]]
calls = ["fswrite"]
path = "/srv/work/**"
action = "permit"
[[rule]]
calls = ["fswrite"]
action = "never"
'''


def test_the_socket_writers_are_the_address_calls_but_bind() -> None:
    assert sorted(SOCKET_WRITERS) == ["connect", "sendmmsg", "sendmsg", "sendto"]


@pytest.mark.parametrize(("text", "named"), [(_NAMED, True), (_NO_PATH, False)])
def test_a_rule_naming_paths_that_refuses_writes_stops_the_socket_writers(
        text: str, named: bool) -> None:
    """Under ``never fswrite /srv/keys/**`` alone (no traversal rule: reads are not refused)
    the connect and sends stop -- a sendto only with an address; on main 01d6e5c4 none did.
    A ``never fswrite`` of no path leaves them to the ``net-connect`` rules."""
    table = loads_policy(text).main
    assert table.may_refuse_socket_write() is named
    plan = filterplan.plan([table], PlanOptions())
    for name in ("connect", "sendmsg", "sendmmsg"):
        assert (plan.calls[name] == filterplan.TRACE) is named, name
    selected = plan.selected.get("sendto")
    assert (selected is not None and selected.rule == ADDRESSED_SEND) is named
