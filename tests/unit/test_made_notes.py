"""decode.MadeNotes (notes35): a call's notes of what the run made are narrowed at its
entry and widened at its exit, only when it succeeded -- and never over what another call
narrowed meanwhile (a tree that ran unfrozen: learning, SYSTRACE_NO_HOLD=1).  The escape
tests (tests/escape/test_escape_fresh_failed.py) trace real runs; these pin the ordering
rules the tracer cannot be made to show deterministically."""

from __future__ import annotations

import os
from pathlib import Path

from systrace_py.engine.decode import NARROWED_KEPT, Decoder, MadeNotes


def test_a_name_is_made_only_when_the_call_succeeded() -> None:
    decoder = Decoder()
    failed, ran = MadeNotes(decoder), MadeNotes(decoder)
    failed.make("/w/a")
    ran.make("/w/b")
    assert failed.pending() and not decoder.made  # (nothing at the entry)
    failed.settle(False)
    ran.settle(True)
    assert decoder.made == {"/w/b"}


def test_a_create_that_opens_what_is_there_proves_nothing_unless_run_exclusive() -> None:
    """notes37: an open with O_CREAT and no O_EXCL (``exclusive``) may have opened an
    outsider's file made after its decision: its success proves the file its own only when
    the tracer ran it with O_EXCL (Tracer._must_hold, enforce.Holder._open)."""
    notes = MadeNotes(Decoder())
    notes.make("/w/a")
    assert notes.proven()
    notes.exclusive = True
    assert not notes.proven()
    notes.ran_exclusive = True
    assert notes.proven()


def test_a_name_forgotten_is_forgotten_at_once_even_if_the_call_fails() -> None:
    decoder = Decoder()
    decoder.made.update({"/w/a", "/w/d/x"})
    notes = MadeNotes(decoder)
    notes.forget("/w/a")
    notes.forget_below("/w/d")
    assert decoder.made == set() and not notes.pending()
    notes.settle(False)
    assert decoder.made == set()


def test_a_name_another_call_forgot_meanwhile_is_not_made_at_the_exit() -> None:
    """A's create of /w/x and of /w/d/y planned; B (another task, unfrozen) forgets /w/x and
    the directory /w/d before A's exit: neither is noted then; /w/z is."""
    decoder = Decoder()
    a = MadeNotes(decoder)
    for name in ("/w/x", "/w/d/y", "/w/z"):
        a.make(name)
    b = MadeNotes(decoder)
    b.forget("/w/x")
    b.forget("/w/d")
    b.settle(True)
    a.settle(True)
    assert decoder.made == {"/w/z"}


def test_an_older_note_another_call_put_meanwhile_is_not_taken_off() -> None:
    decoder = Decoder()
    decoder.older["/w/own/f"] = ("/etc/secret", False)
    a = MadeNotes(decoder)
    assert a.take_older("/w/own/f", False) == {"/w/own/f": ("/etc/secret", False)}
    assert "/w/own/f" in decoder.older  # (taken off at the exit only)
    b = MadeNotes(decoder)
    b.put_older("/w/own/f", ("/etc/other", False), None)
    a.settle(True)
    assert decoder.older["/w/own/f"] == ("/etc/other", False)


def test_more_narrowings_than_kept_widen_nothing() -> None:
    decoder = Decoder()
    a = MadeNotes(decoder)
    a.make("/w/x")
    b = MadeNotes(decoder)
    for n in range(NARROWED_KEPT + 1):
        b.forget(f"/v/{n}")
    a.settle(True)
    assert "/w/x" not in decoder.made


def test_a_held_removed_file_is_let_go_when_its_removal_failed(tmp_path: Path) -> None:
    decoder = Decoder()
    (tmp_path / "f").write_text("x")
    fd = os.open(tmp_path / "f", os.O_PATH)
    notes = MadeNotes(decoder)
    notes.removed((1, 2, b""), fd)
    notes.settle(False)
    assert not decoder.removed_held
    try:
        os.fstat(fd)
    except OSError:
        pass
    else:
        raise AssertionError("the descriptor was not closed")
