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
