"""Close 43 (review 69): what ``learn.refusals`` carries of an ``inject`` rule into a table
made from several (``carried_table``): its ``errno`` alone, and nothing of a rule that
sets no errno -- a ``retval = 0`` of ``setuid`` carried from another table faked a
privilege drop."""

from __future__ import annotations

import errno

from systrace_py.policy.files import loads_policy
from systrace_py.policy.learn import refusals
from systrace_py.policy.model import Action


def test_refusals_carry_an_injects_errno_alone_and_no_retval_delay_or_signal() -> None:
    policy = loads_policy(
        'version = 1\ndefault = "permit"\n\n'
        '[[rule]]\ncalls = ["setuid"]\naction = "inject"\nretval = 0\n\n'
        '[[rule]]\ncalls = ["read"]\naction = "inject"\ndelay = \"1s\"\n\n'
        '[[rule]]\ncalls = ["write"]\naction = "inject"\nsignal = "SIGKILL"\n\n'
        '[[rule]]\ncalls = ["openat"]\naction = "inject"\nerrno = "EIO"\ndelay = \"2s\"\n',
        "t.toml")
    kept = refusals([policy.main])
    assert len(kept) == 1, kept
    (rule,) = kept
    assert rule.action is Action.INJECT and rule.inject is not None
    assert rule.inject.errno == errno.EIO
    assert rule.inject.retval is None and rule.inject.signal is None
    assert rule.inject.delay == 0.0 and rule.inject.delay_exit == 0.0


def test_an_answer_stands_before_its_ask_only_where_the_asks_glob_covers_its_path() -> None:
    """Review 69 finding 1: the answer keeps the asking rule's ``argv`` and stands before
    the ``ask`` only where the ``ask``'s glob covers its path under every expansion."""
    from systrace_py.policy.model import answer_conditions

    policy = loads_policy(
        'version = 1\ndefault = "permit"\n\n'
        '[[rule]]\ncalls = ["exec"]\npath = "$CWD/tool"\nargv = ["*", "safe"]\n'
        'action = "ask"\n\n'
        '[[rule]]\ncalls = ["fswrite"]\npath = "/x/proj/**"\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "$CWD/**"\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["exec"]\npath = "$CWD/tool"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["fswrite"]\npath = "$CWD/.bashrc"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["fswrite"]\npath = "/x/proj/.bashrc"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "$CWD/d/**"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "/etc/passwd"\naction = "permit"\n',
        "t.toml", {"HOME": "/root"})
    ask_exec, ask_abs, ask_cwd, tool, cwd_rc, abs_rc, tree, etc = policy.main.rules
    answered, covered = answer_conditions(tool, ask_exec)
    assert answered.argv is ask_exec.argv and covered
    assert answer_conditions(cwd_rc, ask_abs)[1] is False
    assert answer_conditions(abs_rc, ask_abs)[1] is True
    assert answer_conditions(tree, ask_cwd)[1] is True
    assert answer_conditions(etc, ask_cwd)[1] is False
