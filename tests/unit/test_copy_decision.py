"""A copy of a tree under a new name (a btrfs snapshot: Supervisor._snapshot) decided as a
read of every path at and below its source and the making of every path at and below its
new name (Table.copy_decision, close 27): refused where a reading access of one of the
first, or the making or writing of one of the second, is not granted outright; what the
table says of writing the source plays no part, and a rule of no path decides the copy's
reads as the source's."""

from __future__ import annotations

import pytest

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, Table


def _table(*rules: str, default: str = "permit") -> Table:
    return loads_policy(f'default = "{default}"\n' + "".join(
        f"[[rule]]\n{rule}\n" for rule in rules)).main


SECD_NEVER = 'calls = ["fsread"]\npath = "/data/secd/**"\naction = "never"'


@pytest.mark.parametrize("source", ["/data", "/data/secd", "/", "/data/secd/deep"])
def test_a_copy_of_a_tree_holding_a_refused_read_is_refused(source: str) -> None:
    decision = _table(SECD_NEVER).copy_decision(source, None)
    assert decision is not None and decision.action is Action.NEVER
    assert decision.errno == 1 and decision.reason == "copied tree"  # (EPERM)


@pytest.mark.parametrize("source", ["/data/pub", "/srv", "/data/secdx"])
def test_a_copy_of_a_tree_holding_none_runs(source: str) -> None:
    assert _table(SECD_NEVER).copy_decision(source, None) is None


@pytest.mark.parametrize("rule", [
    'calls = ["exec"]\npath = "/data/vault/tool"\naction = "never"',
    'calls = ["fsread"]\npath = "/data/vault/*.key"\naction = "ask"',
    'calls = ["stat"]\npath = "/data/vault/**"\naction = "never"',
    'calls = ["getxattr"]\npath = "/data/vault"\naction = "never"',
])
def test_each_reading_access_counts(rule: str) -> None:
    """An exec (the copy keeps the program's mode and owner), an asked read, a stat, a
    getxattr -- of the source's root or of any path below it."""
    table = _table(rule)
    assert table.copy_decision("/data/vault", None) is not None
    assert table.copy_decision("/data", None) is not None
    assert table.copy_decision("/data/other", None) is None


def test_writes_of_the_tree_play_no_part() -> None:
    """A write of the copy changes no file of the source."""
    table = _table('calls = ["fswrite"]\npath = "/data/**"\naction = "never"',
                   'calls = ["chmod", "unlink"]\npath = "/data/x"\naction = "never"')
    assert table.copy_decision("/data", None) is None


def test_the_default_decides_what_no_rule_covers() -> None:
    table = _table('calls = ["fsread", "exec"]\npath = "/work/**"\naction = "permit"',
                   default="never")
    assert table.copy_decision("/work/sub", None) is None
    assert table.copy_decision("/work", None) is None  # (``/work/**`` matches /work itself)
    assert table.copy_decision("/", None) is not None  # (/ itself: the default's)
    assert table.copy_decision("/home", None) is not None
    only_reads = _table('calls = ["fsread"]\npath = "/work/**"\naction = "permit"',
                        default="never")
    assert only_reads.copy_decision("/work/sub", None) is not None  # (its exec: the default's)


def test_a_rule_of_no_path_decides_the_copy_as_the_source() -> None:
    """``ask exec`` asks about every name alike: the copy gains nothing by it -- but a path
    rule after it still counts where the pathless one may not match (an argv condition)."""
    table = _table('calls = ["exec"]\naction = "ask"', SECD_NEVER)
    assert table.copy_decision("/data/pub", None) is None
    assert table.copy_decision("/data", None) is not None
    conditional = _table('calls = ["exec"]\nargv = ["x", "**"]\naction = "permit"',
                         'calls = ["exec"]\npath = "/data/pub/tool"\naction = "never"')
    assert conditional.copy_decision("/data/pub", None) is not None


def test_a_glob_matching_some_paths_below_is_followed_both_ways() -> None:
    table = _table('calls = ["fsread"]\npath = "/data/*/public/**"\naction = "permit"',
                   'calls = ["fsread"]\npath = "/data/**"\naction = "never"')
    assert table.copy_decision("/data/a/public", None) is None
    assert table.copy_decision("/data/a", None) is not None


def test_the_new_names_are_made_where_the_table_lets_them_be() -> None:
    """Every name at and below the new one is made by no name a rule was asked about: a
    rule refusing (or asking about) a write or the making of one refuses the copy --
    ``authorized_keys`` of a snapshot named ``.ssh`` in a home."""
    table = _table('calls = ["fswrite"]\npath = "/home/*/.ssh/**"\naction = "never"')
    refused = table.copy_decision("/data/clean", "/home/u/.ssh")
    assert refused is not None and refused.action is Action.NEVER
    assert refused.reason == "copied tree" and refused.arg is not None
    assert refused.arg.path == "/home/u/.ssh"
    assert table.copy_decision("/data/clean", "/home/u/snap") is None
    assert table.copy_decision("/data/clean", "/home/u") is not None  # (/home/u/.ssh below)
    named = _table('calls = ["symlink"]\npath = "/out/c/**"\naction = "ask"')
    assert named.copy_decision("/data/clean", "/out/c") is not None
    assert named.copy_decision("/data/clean", "/out/d") is None


def test_a_copy_from_a_readable_tree_into_a_writable_one_runs_under_a_default_never() -> None:
    table = _table('calls = ["fsread", "exec"]\npath = "/src/**"\naction = "permit"',
                   'calls = ["fswrite"]\npath = "/out/**"\naction = "permit"',
                   default="never")
    assert table.copy_decision("/src/a", "/out/c") is None
    assert table.copy_decision("/src/a", "/elsewhere/c") is not None
    assert table.copy_decision("/out/a", "/out/c") is not None  # (its reads: the default's)


def test_a_name_made_alone_is_decided_as_a_mkdir_of_it() -> None:
    """An empty subvolume (no source, nothing below the new name): the making of the name
    only -- a rule on a file below it plays no part."""
    table = _table('calls = ["fswrite"]\npath = "/home/*/.ssh/**"\naction = "never"',
                   'calls = ["fswrite"]\npath = "/out/x/secret"\naction = "never"')
    assert table.copy_decision(None, "/home/u/.ssh", below=False) is not None
    assert table.copy_decision(None, "/out/x", below=False) is None
    assert table.copy_decision(None, "/out/x") is not None  # (a tree made: its secret too)
