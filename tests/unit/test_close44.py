"""Close 44 (review 70's first finding): ``Decoder.older`` notes which file each older file
is (``older_ids``), and ``Decoder.still_older`` says whether the file at the name is still
that one -- an outsider's file renamed over the name is not, nor a note the tracer could not
tell (fail closed).  On real files; the end-to-end attack is
tests/learn/test_review70_older_below.py."""

from __future__ import annotations

import os
from pathlib import Path

from systrace_py.engine import decode


def test_an_older_note_holds_while_its_file_is_there_and_not_after_a_swap(tmp_path: Path):
    older = tmp_path / "f"
    older.write_text("older")
    decoder = decode.Decoder()
    name = str(older)
    decoder.older[name] = ("/elsewhere/s", False)
    decoder.older_ids[name] = decode.name_identity(name)
    if not (decoder.older_ids[name] or (0, 0, b""))[2]:
        decoder.older_ids[name] = None  # (a file system without handles: untold)
        assert not decoder.still_older(name)
        return
    assert decoder.still_older(name)
    secret = tmp_path / "secret"
    secret.write_text("s")
    os.link(secret, tmp_path / "x")
    os.replace(tmp_path / "x", older)  # (the outsider's rename over the older file)
    assert not decoder.still_older(name)
    older.unlink()
    assert not decoder.still_older(name)  # (nothing there: compared as what comes)


def test_an_untold_note_is_not_the_older_file(tmp_path: Path):
    older = tmp_path / "f"
    older.write_text("older")
    decoder = decode.Decoder()
    decoder.older[str(older)] = ("/elsewhere/s", False)
    decoder.older_ids[str(older)] = None
    assert not decoder.still_older(str(older))
    assert not decoder.still_older(str(tmp_path / "never-noted"))
