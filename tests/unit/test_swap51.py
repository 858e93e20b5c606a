"""swap51: an open a ``fresh`` rule permitted because its name gave the run's own file at the
decision (Decoder.made_there, DecodedCall.kept) is checked at its exit by the file its
descriptor holds (MadeNotes.swapped), never by what the name gives: an outsider's file renamed
over the name between the decision and the kernel's look-up is not the run's.  In-process (the
traced runs: tests/escape/test_escape_swap51.py)."""

from __future__ import annotations

import os
from pathlib import Path

from systrace_py.engine.decode import Decoder, MadeNotes, looked_up


def _noted(tmp_path: Path) -> tuple[Decoder, str]:
    own = str(tmp_path / "y")
    Path(own).write_text("mine")
    decoder = Decoder()
    notes = MadeNotes(decoder)
    notes.make(own)
    notes.settle(True)
    return decoder, own


def test_the_descriptor_of_the_runs_own_file_is_not_swapped(tmp_path: Path) -> None:
    decoder, own = _noted(tmp_path)
    assert decoder.made_there(own) is True
    notes = MadeNotes(decoder)
    notes.tid = os.getpid()
    notes.kept = (own, decoder.made_ids[own])
    assert notes.pending()  # (the exit is waited for)
    fd = os.open(own, os.O_RDONLY)
    try:
        assert not notes.swapped(fd)
        assert not notes.swapped(-13)  # (the open failed: nothing to take back)
    finally:
        os.close(fd)


def test_an_outsiders_file_renamed_over_after_the_decision_is_swapped(tmp_path: Path) -> None:
    decoder, own = _noted(tmp_path)
    notes = MadeNotes(decoder)
    notes.tid = os.getpid()
    notes.kept = (own, decoder.made_ids[own])  # (the decision: the name gave the run's file)
    (tmp_path / ".t").write_text("secret")
    os.rename(tmp_path / ".t", own)  # (the outsider, before the kernel's look-up)
    fd = os.open(own, os.O_RDONLY)
    try:
        assert looked_up(own) != decoder.made_ids[own]
        assert notes.swapped(fd)
    finally:
        os.close(fd)


def test_nothing_there_is_no_kept_file(tmp_path: Path) -> None:
    """A name of the run's that names nothing now (removed unseen) is fresh -- a call would
    make it anew -- but no file was decided on: nothing is compared at the exit."""
    decoder, own = _noted(tmp_path)
    os.unlink(own)
    assert decoder.made_there(own) is None
    assert decoder.still_made(own)
