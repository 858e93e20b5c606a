"""Review 61 (read-only review of close 29): unit attack tests that FAIL on main.

Finding 2: ``learn.carried_table`` of several candidates puts the other tables'
:func:`~systrace_py.policy.learn.refusals` in front of the copy of the one refusing by
default -- and ``refusals`` counts a ``redirect`` (a *permit* that reads another file) and
an ``ask`` as refusals.  Put first, a permissive tool table's ``redirect`` or ``ask``
overtakes main's own ``never`` of the same call: the new table permits (or asks) what main
refused, against close 29's principle "at least as strictly as every table the program
could have run under"."""

from __future__ import annotations

import os

from systrace_py.policy.files import loads_policy
from systrace_py.policy.learn import (
    LearnOptions,
    Observation,
    decide_observation,
    learn,
    merge_policies,
)
from systrace_py.policy.model import Action, PathArg

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}


def read(path: str, table: str) -> Observation:
    return Observation(table, "openat", (PathArg("path", path),), os.O_RDONLY)


BASE = (
    'default = "never"\n'
    '[[rule]]\ncalls = ["fsread"]\npath = "/etc/hostname"\naction = "never"\n'
    '[[rule]]\ncalls = ["fsread"]\npath = "/etc/machine-id"\naction = "never"\n'
    '[program."/opt/tool"]\ndefault = "permit"\n'
    '[[program."/opt/tool".rule]]\ncalls = ["fsread"]\npath = "/etc/hostname"\n'
    'redirect = "/tmp/decoy"\naction = "permit"\n'
    '[[program."/opt/tool".rule]]\ncalls = ["fsread"]\npath = "/etc/machine-id"\n'
    'action = "ask"\n')


def test_a_permissive_tables_redirect_does_not_overtake_mains_never_in_a_new_table() -> None:
    """cat could run under main (``never fsread /etc/hostname``) or the tool's table (which
    redirects that read).  Its merged table must refuse the read, as main did: on main the
    tool's redirect stands first and the read is permitted (redirected)."""
    base = loads_policy(BASE, "base.toml", env=ENV)
    report = learn([read("/usr/lib/x", table="/usr/bin/cat")], LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    decision = decide_observation(merged, read("/etc/hostname", table="/usr/bin/cat"))
    assert decision.action is not Action.PERMIT, decision


def test_a_permissive_tables_ask_does_not_overtake_mains_never_in_a_new_table() -> None:
    """The same with the tool's ``ask``: main refused the call outright; the new table
    must not turn that into a question a person may approve."""
    base = loads_policy(BASE, "base.toml", env=ENV)
    report = learn([read("/usr/lib/x", table="/usr/bin/cat")], LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    decision = decide_observation(merged, read("/etc/machine-id", table="/usr/bin/cat"))
    assert decision.action is Action.NEVER, decision
