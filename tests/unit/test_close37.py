"""Close 37: review 64's findings, in-process.  A ``fresh`` note's "nothing there"
(Decoder.still_made) is only the look-up's own ENOENT -- a name past PATH_MAX (the tracer's
ENAMETOOLONG) and a look-up failing otherwise (ELOOP here; a tracer that may not search a
directory: EACCES) said "nothing there", and another file at the run's name counted as the
run's (the escape tests: tests/escape/test_escape_review64_deep.py) -- and an open's note is
of the file its descriptor holds, not of whatever the name gives at the exit
(test_escape_review64_swap.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.decode import Decoder, MadeNotes
from systrace_py.kernel import PATH_MAX

#: 20 directories of 240-byte names: past PATH_MAX below any start
NAMES = ["d" * 239 + chr(ord("a") + i) for i in range(20)]


def _deep(top: Path) -> tuple[str, int]:
    """The name past PATH_MAX of the deepest directory, and that directory held."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for name in NAMES:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=fd)
        below = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    return "/".join([str(top), *NAMES]), fd


def _write(name: str, text: str, dir_fd: int) -> None:
    fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644, dir_fd=dir_fd)
    os.write(fd, text.encode())
    os.close(fd)


def test_a_fresh_note_past_path_max_is_kept_and_checked_by_its_identity(
        tmp_path: Path) -> None:
    deep, held = _deep(tmp_path)
    try:
        own = deep + "/x"
        assert len(own.encode()) > PATH_MAX
        _write("x", "mine", held)
        decoder = Decoder()
        notes = MadeNotes(decoder)
        notes.make(own)
        notes.settle(True)
        assert decoder.made_ids[own] is not None  # (told: walked a name at a time)
        assert decoder.still_made(own)
        os.unlink("x", dir_fd=held)
        assert decoder.still_made(own)  # (nothing there: a call would make it anew)
        _write("x", "theirs", held)  # another file at the run's removed name
        assert not decoder.still_made(own)
    finally:
        os.close(held)


def test_a_look_up_that_fails_otherwise_than_enoent_is_no_nothing_there(
        tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")  # (ELOOP on the way, for root as for anyone)
    name = str(tmp_path / "loop" / "x")
    decoder = Decoder()
    decoder.made.add(name)
    decoder.made_ids[name] = None
    assert not decoder.still_made(name)
    # a look-up made nowhere (no access path: outside the task's root) is untold too
    (tmp_path / "y").write_text("")
    decoder.made.add(str(tmp_path / "y"))
    assert not decoder.still_made(str(tmp_path / "y"), "")


def test_an_opens_note_is_of_the_file_its_descriptor_holds(tmp_path: Path) -> None:
    own = tmp_path / "x"
    decoder = Decoder()
    notes = MadeNotes(decoder)
    notes.tid = os.getpid()
    notes.make(str(own))
    notes.opened = str(own)
    fd = os.open(own, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        # another process's file renamed over the name before the exit stop's look-up
        (tmp_path / "theirs").write_text("theirs")
        os.rename(tmp_path / "theirs", own)
        notes.settle(True, fd)
    finally:
        os.close(fd)
    assert str(own) in decoder.made and decoder.made_ids[str(own)] is None
    assert not decoder.still_made(str(own))
    # and where the name gives the descriptor's file, it is noted as ever
    mine = tmp_path / "m"
    notes = MadeNotes(decoder)
    notes.tid = os.getpid()
    notes.make(str(mine))
    notes.opened = str(mine)
    fd = os.open(mine, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        notes.settle(True, fd)
    finally:
        os.close(fd)
    assert decoder.made_ids[str(mine)] is not None and decoder.still_made(str(mine))


def test_a_moved_names_note_carries_the_identity_noted_at_its_old_name(
        tmp_path: Path) -> None:
    """A rename's (a link's) new name is noted only where the file there is the one the old
    name's note told: an outsider's file renamed over the new name before the exit stop's
    look-up -- or given by the old name already -- is not the run's."""
    decoder = Decoder()
    notes = MadeNotes(decoder)
    old = tmp_path / "a"
    old.write_text("mine")
    notes.make(str(old))
    notes.settle(True)
    mine = decoder.made_ids[str(old)]
    assert mine is not None
    # the run's rename a -> b, and an outsider's file renamed over b before the exit
    os.rename(old, tmp_path / "b")
    (tmp_path / "theirs").write_text("theirs")
    os.rename(tmp_path / "theirs", tmp_path / "b")
    notes = MadeNotes(decoder)
    notes.forget(str(old))
    notes.make(str(tmp_path / "b"), None, True, mine)
    notes.settle(True)
    assert decoder.made_ids[str(tmp_path / "b")] is None
    assert not decoder.still_made(str(tmp_path / "b"))
    # the file the note carried at the new name: noted as ever
    (tmp_path / "c").write_text("mine too")
    notes = MadeNotes(decoder)
    notes.make(str(tmp_path / "c"))
    notes.settle(True)
    carried = decoder.made_ids[str(tmp_path / "c")]
    os.rename(tmp_path / "c", tmp_path / "d")
    notes = MadeNotes(decoder)
    notes.forget(str(tmp_path / "c"))
    notes.make(str(tmp_path / "d"), None, True, carried)
    notes.settle(True)
    assert decoder.made_ids[str(tmp_path / "d")] == carried
    assert decoder.still_made(str(tmp_path / "d"))


def test_a_handle_of_the_inode_number_alone_is_no_handle(tmp_path: Path) -> None:
    """Where a file system has no export operations the kernel's AT_HANDLE_FID handle is
    FILEID_INO64_GEN with i_generation 0 (ramfs, hugetlbfs, procfs...): the inode number
    alone, which another file takes once the first is freed -- no handle (b""), as review 63's
    overlay without one: a fresh note there is untold, a removed file held (review 64)."""
    fd = os.open("/proc/self/status", os.O_PATH)
    try:
        assert pt.file_identity(fd)[2] == b""
    finally:
        os.close(fd)
    fd = os.open(tmp_path, os.O_PATH)  # (a handle with a generation is kept)
    try:
        assert pt.file_identity(fd)[2] != b""
    finally:
        os.close(fd)
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1): a ramfs of its own")
    code = ("import os, sys; from systrace_py.engine import ptrace_ops as pt; "
            "fd = os.open(sys.argv[1], os.O_PATH); print(pt.file_identity(fd)[2].hex())")
    out = subprocess.run(["unshare", "-m", "sh", "-c",
                          'mount -t ramfs none "$1" && echo a > "$1/f" && '
                          'exec "$2" -c "$3" "$1/f"', "sh", str(tmp_path), sys.executable, code],
                         capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", out.stdout
