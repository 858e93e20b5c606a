"""Close 38 (review 65's findings): unit tests that FAIL on main (01d6e5c4).

* A merge that gives a program a table of its own under a glob spelled with an expansion
  (``[program."$CWD/**"]``) carries every table's refusals, not a copy of the glob alone:
  the glob claims the program only where the next run's expansion reaches it.
(Where an answer goes and which calls it keeps: tests/unit/test_answer_place.py.)"""

from __future__ import annotations

from systrace_py.policy.files import loads_policy
from systrace_py.policy.learn import merge_rules
from systrace_py.policy.model import Action

ENV = {"HOME": "/home/u", "CWD": "/work/p1", "TMPDIR": "/tmp", "USER": "u"}


def test_a_merged_table_under_a_cwd_glob_carries_the_callers_refusals() -> None:
    """``/work/p1/.git/hooks/tool`` (a key the learner keeps literal: a sensitive path) is
    claimed here by ``[program."$CWD/**"]``; from ``/work/p2`` it is not, and ran under main,
    which refuses reads below ``/secret``.  On main the new table was a copy of the glob's
    (``learn._candidates``: the one table this run's lookup gives): the next run from p2
    took it, and main's ``never`` was lost."""
    policy = loads_policy(
        'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\n'
        'action = "never"\n\n[program."$CWD/**"]\ndefault = "permit"\n', "p.toml", env=ENV)
    key = "/work/p1/.git/hooks/tool"
    assert policy.table_for(key) is policy.programs["$CWD/**"]
    merged = merge_rules(policy, key, [], env=ENV)
    table = merged.programs[key]
    assert [(r.action, r.path.pattern if r.path else None) for r in table.rules] == [
        (Action.NEVER, "/secret/**")]


def test_a_literal_glob_still_gives_a_copy_of_itself() -> None:
    """A glob with no expansion claims the program from every directory: its copy is the
    new table, as close 29 made it (main's refusal is not the program's)."""
    policy = loads_policy(
        'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\n'
        'action = "never"\n\n[program."/work/*/.git/hooks/*"]\ndefault = "permit"\n',
        "p.toml", env=ENV)
    key = "/work/p1/.git/hooks/tool"
    merged = merge_rules(policy, key, [], env=ENV)
    assert merged.programs[key].rules == []
