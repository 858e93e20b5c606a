"""Where a remembered answer goes in its table (model.answer_place) and which calls it keeps
(aliases.answered_calls): close 38's helpers for review 65's findings 1 and 2 -- the attacks
are tests/escape/test_escape_review65.py and test_escape_close38.py."""

from __future__ import annotations

from systrace_py.policy.aliases import answered_calls
from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import answer_place

ENV = {"HOME": "/home/u", "CWD": "/work/p1", "TMPDIR": "/tmp", "USER": "u"}


def test_answered_calls_are_no_wider_than_the_asking_rules() -> None:
    assert answered_calls(("fswrite",), ("fswrite",)) == ("fswrite",)
    assert answered_calls(("fswrite",), ("openat",)) == ("openat",)
    assert answered_calls(("fsread",), ("fsmeta",)) == ("fsmeta",)
    assert answered_calls(("unlink",), ("fswrite",)) == ("unlink",)
    assert answered_calls(("fsread", "fswrite"), ("fsread",)) == ("fsread",)
    # (a call's own name an alias does not cover -- openat's reads are fsread -- and a
    # class the asking rule does not name are kept by none)
    assert answered_calls(("openat",), ("fswrite",)) is None
    assert answered_calls(("exec",), ("fsread",)) is None


def test_an_answer_goes_just_before_the_rule_that_asked() -> None:
    policy = loads_policy(
        'default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "/a/**"\n'
        'action = "never"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "/**"\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "/b/**"\naction = "permit"\n', "p.toml", env=ENV)
    rules = policy.main.rules
    assert answer_place(rules, rules[1]) == 1
    assert answer_place(rules, None) == 3  # the default asked
    again = loads_policy('default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\n'
                         'path = "/**"\naction = "ask"\n', "q.toml", env=ENV)
    assert answer_place(again.main.rules, rules[1]) == 0  # found by content
    gone = [rules[0], rules[2]]  # the person removed the ask: after every refusal
    assert answer_place(gone, rules[1]) == 1
