"""Close 31: review 59's findings, in-process.

A table whose only refusal is a rule of no path after a path rule decides by name: the path
rule grants by name what the later rule refuses every other name (``permit openat out/**``
then ``never openat``).  On main such a table was taken as deciding nothing by name, so
a btrfs snapshot (and a mount's exposure) was not decided at all (review 59)."""

from __future__ import annotations

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Table


def _table(text: str) -> Table:
    return loads_policy('default = "permit"\n' + text).main


def test_a_path_rule_before_a_refusing_rule_of_no_path_decides_by_name() -> None:
    table = _table('[[rule]]\ncalls = ["openat"]\npath = "/data/out/**"\naction = "permit"\n'
                   '[[rule]]\ncalls = ["openat"]\naction = "never"\n')
    assert table.decides_by_name()


def test_a_rule_of_no_path_alone_decides_nothing_by_name() -> None:
    # (``ask exec`` alone, or a refusing rule of no path before any path rule: every name
    # of a file is decided alike)
    assert not _table('[[rule]]\ncalls = ["exec"]\naction = "ask"\n').decides_by_name()
    assert not _table('[[rule]]\ncalls = ["openat"]\naction = "never"\n'
                      '[[rule]]\ncalls = ["openat"]\npath = "/data/out/**"\n'
                      'action = "permit"\n').decides_by_name()


def test_a_snapshot_whose_source_is_refused_only_by_a_rule_of_no_path_is_refused() -> None:
    table = _table('[[rule]]\ncalls = ["fsread"]\npath = "/data/out/**"\naction = "permit"\n'
                   '[[rule]]\ncalls = ["fsread"]\naction = "never"\n')
    assert table.decides_by_name()
    decision = table.copy_decision("/data/vault", "/data/out/copy")
    assert decision is not None
    # (the same table lets a snapshot be made where the copy's names gain nothing)
    assert table.copy_decision("/data/vault", "/data/elsewhere/copy") is None
    # (``ask exec`` alone: both names asked alike, the snapshot runs)
    assert _table('[[rule]]\ncalls = ["exec"]\naction = "ask"\n').copy_decision(
        "/data/vault", "/data/out/copy") is None
