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
    assert decode._foreign_below(notes, str(top), {}) == []  # type: ignore[arg-type]
    secret = tmp_path / "secret"
    secret.write_text("s")
    os.link(secret, tmp_path / "x")
    os.replace(tmp_path / "x", swapped)  # (the outsider's rename over the run's file)
    (top / "planted").mkdir()
    found = decode._foreign_below(notes, str(top), {})  # type: ignore[arg-type]
    assert sorted(found) == [("/g", str(swapped), False), ("/planted", str(top / "planted"),
                                                           True)]
    # (an older file the run itself linked or moved there is reported once, as before)
    assert decode._foreign_below(notes, str(top),  # type: ignore[arg-type]
                                 {"/g": None, "/planted": None}) == []


def test_past_the_bound_the_directory_is_compared_whole(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    top = tmp_path / "d.tmp"
    top.mkdir()
    files = [top / f"f{i}" for i in range(3)]
    for f in files:
        f.write_text("x")
    notes = Notes(top, *files)
    monkeypatch.setattr(decode, "FOREIGN_WALK_CAP", 2)
    assert decode._foreign_below(notes, str(top), {}) == [("", str(top), True)]  # type: ignore


def test_a_file_or_a_symlink_moved_has_nothing_below_it(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "other").write_text("z")
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    (tmp_path / "file").write_text("f")
    notes = Notes(tmp_path / "link", tmp_path / "file")
    assert decode._foreign_below(notes, str(tmp_path / "link"), {}) == []  # type: ignore
    assert decode._foreign_below(notes, str(tmp_path / "file"), {}) == []  # type: ignore


def test_an_older_directory_is_walked_against_the_entries_it_came_with(tmp_path: Path):
    """Close 45 (review 73): an older directory moved below the run's (``/s``) came with the
    entries ``_older_tree`` noted; one an outsider links into it later -- at any depth -- is
    found and decided by its own name, the ones it came with and the run's own files made
    in it are not; its entries untold (past the bound) leave the tree to its caller."""
    top = tmp_path / "d.tmp"
    older = top / "s"
    (older / "sub").mkdir(parents=True)
    (older / "a").write_text("older")
    (older / "sub" / "b").write_text("older")
    identity, entries = decode._older_tree(str(older))
    assert identity == decode.name_identity(str(older))
    assert entries is not None and sorted(entries) == ["/a", "/sub", "/sub/b"]
    made = older / "sub" / "mine"
    made.write_text("the run's")
    notes = Notes(top, made)
    assert decode._foreign_below(notes, str(top), {"/s": entries}) == []  # type: ignore
    secret = tmp_path / "secret"
    secret.write_text("s")
    os.link(secret, older / "f")
    os.link(secret, older / "sub" / "g")
    os.link(secret, tmp_path / "x")
    os.replace(tmp_path / "x", older / "a")  # (renamed over an entry it came with)
    found = decode._foreign_below(notes, str(top), {"/s": entries})  # type: ignore
    assert sorted(found) == [("/s/a", str(older / "a"), False),
                             ("/s/f", str(older / "f"), False),
                             ("/s/sub/g", str(older / "sub" / "g"), False)]
    # (a note not looked inside -- untold entries, a file: its caller compares it whole)
    assert decode._foreign_below(notes, str(top), {"/s": None}) == []  # type: ignore


def test_an_older_directory_past_the_bound_is_untold(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    older = tmp_path / "s"
    older.mkdir()
    for i in range(3):
        (older / f"f{i}").write_text("x")
    monkeypatch.setattr(decode, "FOREIGN_WALK_CAP", 2)
    assert decode._older_tree(str(older)) == (decode.name_identity(str(older)), None)
    monkeypatch.setattr(decode, "FOREIGN_WALK_CAP", 3)
    assert decode._older_tree(str(older))[1] is not None
