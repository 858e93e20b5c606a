"""Close 40 (review 66's second finding): at the move of a directory the run made, the files
below it that are not the run's own are found by a bounded walk (``decode._foreign_below``)
and decided by their own names.  The walk on real directories; the run's notes are a plain
set (what ``Decoder.made`` holds) and ``still_made`` by identity, as the decoder's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from systrace_py.engine import decode


class Notes:
    """What ``_foreign_below`` asks of a ``Decoder``: its names made, and whether each is
    still the file made there (by identity, as ``Decoder.still_made``)."""

    def __init__(self, *paths: Path) -> None:
        self.made = {str(p) for p in paths}
        self.made_ids = {str(p): decode.name_identity(str(p)) for p in paths}

    def still_made(self, path: str) -> bool:
        return decode.name_identity(path) == self.made_ids.get(path)


def test_an_outsiders_file_swapped_below_is_found_and_the_runs_own_are_not(tmp_path: Path):
    top = tmp_path / "d.tmp"
    (top / "sub").mkdir(parents=True)
    own, swapped = top / "sub" / "f", top / "g"
    own.write_text("x")
    swapped.write_text("y")
    notes = Notes(top, top / "sub", own, swapped)
    assert decode._foreign_below(notes, str(top), set()) == []  # type: ignore[arg-type]
    secret = tmp_path / "secret"
    secret.write_text("s")
    os.link(secret, tmp_path / "x")
    os.replace(tmp_path / "x", swapped)  # (the outsider's rename over the run's file)
    (top / "planted").mkdir()
    found = decode._foreign_below(notes, str(top), set())  # type: ignore[arg-type]
    assert sorted(found) == [("/g", str(swapped), False), ("/planted", str(top / "planted"),
                                                           True)]
    # (an older file the run itself linked or moved there is reported once, as before)
    assert decode._foreign_below(notes, str(top), {"/g", "/planted"}) == []  # type: ignore


def test_past_the_bound_the_directory_is_compared_whole(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    top = tmp_path / "d.tmp"
    top.mkdir()
    files = [top / f"f{i}" for i in range(3)]
    for f in files:
        f.write_text("x")
    notes = Notes(top, *files)
    monkeypatch.setattr(decode, "FOREIGN_WALK_CAP", 2)
    assert decode._foreign_below(notes, str(top), set()) == [("", str(top), True)]  # type: ignore


def test_a_file_or_a_symlink_moved_has_nothing_below_it(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "other").write_text("z")
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    (tmp_path / "file").write_text("f")
    notes = Notes(tmp_path / "link", tmp_path / "file")
    assert decode._foreign_below(notes, str(tmp_path / "link"), set()) == []  # type: ignore
    assert decode._foreign_below(notes, str(tmp_path / "file"), set()) == []  # type: ignore
