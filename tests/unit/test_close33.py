"""Close 33: review 62's findings, in-process.

A rule of no path refuses a removal or a making whatever the name, so a btrfs subvolume's
deletion (by id too) and creation, and a snapshot's making, are decided under a table that
"decides nothing by name" (Table.may_refuse_removal, may_refuse_making; the escape tests:
tests/escape/test_escape_review62.py).  A ``fresh`` note of a name counts only while the
file at the name is still the one the run made (Decoder.made_ids, still_made): a removal the
tracer never saw (unstopped, a subvolume's deletion) left the note, and another process's
file put at the name was read as the run's own (test_escape_review62_fresh.py)."""

from __future__ import annotations

import os
from pathlib import Path

from systrace_py.engine.decode import Decoder, MadeNotes
from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Table


def _table(text: str) -> Table:
    return loads_policy('default = "permit"\n' + text).main


def test_a_rule_of_no_path_refusing_removals_may_refuse_a_subvolumes_deletion() -> None:
    table = _table('[[rule]]\ncalls = ["unlink", "unlinkat", "rmdir"]\naction = "never"\n')
    assert not table.decides_by_name()  # (the gate close 31 asked _destroy behind)
    assert table.may_refuse_removal()
    assert table.removal_decision("/data/vault") is not None
    # (a table that refuses no removal runs a deletion by id: nothing to over-refuse)
    assert not _table('[[rule]]\ncalls = ["openat"]\npath = "/data/v/**"\n'
                      'action = "never"\n').may_refuse_removal()
    assert _table("").removal_decision("/data/vault") is None


def test_a_rule_of_no_path_refusing_mkdir_refuses_a_subvolumes_and_a_snapshots_making() -> None:
    table = _table('[[rule]]\ncalls = ["mkdir", "mkdirat"]\naction = "never"\n')
    assert not table.decides_by_name()
    assert table.may_refuse_making()
    assert table.copy_decision(None, "/data/out/keep", below=False) is not None
    assert table.copy_decision(None, "/data/out/copy") is not None
    assert not _table('[[rule]]\ncalls = ["exec"]\naction = "ask"\n').may_refuse_making()


def test_a_fresh_note_counts_only_while_the_file_at_the_name_is_the_runs(
        tmp_path: Path) -> None:
    decoder = Decoder()
    own = tmp_path / "x"
    own.write_text("mine")
    notes = MadeNotes(decoder)
    notes.make(str(own))
    notes.settle(True)
    assert str(own) in decoder.made and decoder.still_made(str(own))
    # removed where the tracer did not see it, and another file put at the name
    os.unlink(own)
    assert decoder.still_made(str(own))  # (nothing there: a call would make it anew)
    (tmp_path / "other").write_text("theirs")
    os.rename(tmp_path / "other", own)
    assert not decoder.still_made(str(own))
    # (a note whose file the tracer could not tell at the exit is no proof either)
    decoder.made.add(str(tmp_path / "unknown"))
    decoder.made_ids[str(tmp_path / "unknown")] = None
    (tmp_path / "unknown").write_text("")
    assert not decoder.still_made(str(tmp_path / "unknown"))
