"""Calls of a path call's effect that name no path (syscalls.AS_PATHS; red team 89, close 50):
where a rule may refuse (ask, redirect) anything, the prefilter stops a message queue's open
and unlink and syslog's actions that read or clear the kernel log -- only those actions --
and, with no such rule, lets them all run."""

from __future__ import annotations

import pytest

from systrace_py.policy import filterplan
from systrace_py.policy.files import loads_policy
from systrace_py.policy.filterplan import ALLOW, TRACE, PlanOptions
from systrace_py.syscalls import AS_PATHS, BY_NAME, Where

_NEVER_KMSG = '''default = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/dev/kmsg"
action = "never"
'''
_NOTHING = 'default = "permit"\n'

#: syslog's actions: the reads and clears of the log (2-5), and some that do neither
_LOG_ACTIONS = (2, 3, 4, 5)
_OTHER_ACTIONS = (0, 1, 6, 7, 8, 9, 10)


@pytest.mark.parametrize(("text", "stops"), [(_NEVER_KMSG, True), (_NOTHING, False)])
def test_the_calls_of_a_path_effect_stop_where_a_rule_may_refuse(text: str,
                                                                 stops: bool) -> None:
    """On main all three ran unstopped under any rule (named in no alias, no path): a rule
    refusing /dev/kmsg did not see dmesg's read, one refusing /dev/mqueue/** no queue
    call."""
    plan = filterplan.plan([loads_policy(text).main], PlanOptions())
    expected = TRACE if stops else ALLOW
    assert plan.verdict("mq_open", [0x1000, 0o102, 0o600, 0, 0, 0]) == expected
    assert plan.verdict("mq_unlink", [0x1000, 0, 0, 0, 0, 0]) == expected
    for action in _LOG_ACTIONS:
        assert plan.verdict("syslog", [action, 0x1000, 4096, 0, 0, 0]) == expected, action
    for action in _OTHER_ACTIONS:
        assert plan.verdict("syslog", [action, 0, 0, 0, 0, 0]) == ALLOW, action


def test_the_table_names_each_as_the_path_call_it_is() -> None:
    """One home: the three records name no path (no PATH argument, no alias) and AS_PATHS
    says what each is decided as; every call it names is in the table, every call it is
    decided as is a path call."""
    for name, as_path in AS_PATHS.items():
        call = BY_NAME[name]
        assert not call.paths() and not call.aliases, name
        assert BY_NAME[as_path.call].paths(), as_path.call
        assert (as_path.flags is None) or as_path.where == Where.MQUEUE, name
    assert AS_PATHS["syslog"].when.values == frozenset(_LOG_ACTIONS)
