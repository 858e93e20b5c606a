"""Review 59: Table.copy_decision takes a rule of no path as a ``permit`` for the source
(model._as_copied) -- right for that rule alone, wrong for the table: a path rule before it
may grant the copy's names what it refuses the source's.  Fails on main 2010bd92."""

from __future__ import annotations

import os

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, CallFacts, PathArg


def test_a_rule_of_no_path_refusing_the_source_is_not_a_permit_where_the_copy_is_granted(
        ) -> None:
    table = loads_policy('default = "permit"\n'
                         '[[rule]]\ncalls = ["fsread"]\npath = "/data/out/**"\n'
                         'action = "permit"\n'
                         '[[rule]]\ncalls = ["fsread"]\naction = "never"\n').main

    def opened(path: str) -> Action:
        return table.decide(CallFacts("openat", (PathArg("path", path),), os.O_RDONLY)).action

    assert opened("/data/vault/secret.txt") is Action.NEVER
    assert opened("/data/out/copy/secret.txt") is Action.PERMIT  # (the copy's name)
    decision = table.copy_decision("/data/vault", "/data/out/copy")
    assert decision is not None and decision.action is Action.NEVER, decision
