"""Review 59: Table.copy_decision takes a rule of no path as a ``permit`` for the source
(model._as_copied) -- right for that rule alone, wrong for the table: a path rule before it
may grant the copy's names what it refuses (or asks about) the source's.  Fails on main
2010bd92 (each case)."""

from __future__ import annotations

import os

import pytest

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, CallFacts, PathArg


@pytest.mark.parametrize(("calls", "action", "as_call", "flags"), [
    ("fsread", "never", "openat", os.O_RDONLY),
    ("fsread", "ask", "openat", os.O_RDONLY),
    ("exec", "never", "execve", None),  # (a set-user-ID program keeps its mode in the copy)
])
def test_a_rule_of_no_path_refusing_the_source_is_not_a_permit_where_the_copy_is_granted(
        calls: str, action: str, as_call: str, flags: int | None) -> None:
    table = loads_policy('default = "permit"\n'
                         f'[[rule]]\ncalls = ["{calls}"]\npath = "/data/out/**"\n'
                         'action = "permit"\n'
                         f'[[rule]]\ncalls = ["{calls}"]\naction = "{action}"\n').main

    def decided(path: str) -> Action:
        return table.decide(CallFacts(as_call, (PathArg("path", path),), flags)).action

    assert decided("/data/vault/secret") is not Action.PERMIT
    assert decided("/data/out/copy/secret") is Action.PERMIT  # (the copy's name)
    decision = table.copy_decision("/data/vault", "/data/out/copy")
    assert decision is not None and decision.action is Action.NEVER, decision
