"""Saving a policy file (systrace_py.policy.files: Destination, policy_lock, save_policy;
the store's save): every step relative to a descriptor of the directory pinned once, and
never blocked nor misdirected by what a process of the user puts at the names the save uses
(issue 11).  Real files, FIFOs, sockets and links; the attacks run by a traced program are in
tests/escape/test_escape_saving.py."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import (
    BACKUPS_KEPT,
    Destination,
    PolicyNotWritten,
    dumps_policy,
    loads_policy,
    save_policy,
)
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action
from systrace_py.policy.store import PolicyStore

OLD = '# the file before the save\ndefault = "permit"\n'
VICTIM = "# a file in a directory the user did not name\n"
POLICY = loads_policy('description = "the new one"\ndefault = "never"\n', "new.toml")
TEXT = dumps_policy(POLICY)


def _plant(path: Path, kind: str, target: Path | None = None) -> None:
    """Put a thing of ``kind`` at ``path`` (what a process of the user may make there)."""
    if kind == "file":
        path.write_text(f"# planted {path.name}\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(path))
    elif kind == "link":
        assert target is not None
        path.symlink_to(target)
    else:
        assert kind == "none", kind


def _kind(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "none"
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISFIFO, "fifo"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "link")):
        if test(mode):
            return name
    return "other"


def _unblocked(call: Callable[[], Any], fifos: list[Path]) -> Any:
    """``call()``'s result or exception, in a thread: a save that waits on a FIFO (what it
    did) is a failure, then released by opening the FIFO for writing."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # (handed to the test)
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)  # (a guard: a save takes milliseconds, or waits for ever)
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail("the save waited on a FIFO")
    return out[0]


def _listing(directory: Path) -> dict[str, str]:
    return {p.name: _kind(p) + (":" + p.read_text() if _kind(p) == "file" else "")
            for p in directory.iterdir()}


# --- the directory swapped after the check ----------------------------------------------------

def _opened_elsewhere(path: Path, mine: int) -> bool:
    """Whether a descriptor of this process other than ``mine`` is open on ``path``."""
    for entry in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if int(entry) != mine and os.readlink(f"/proc/self/fd/{entry}") == str(path):
                return True
    return False


def test_a_directory_swapped_while_the_save_waits_for_its_lock_does_not_move_it(tmp_path):
    """The lock held (as another systrace saving the file would), the directory of the file
    renamed and replaced by a link to another one once the saver opened the lock -- its
    check done: the policy, its backup and its temporary file went by path into the other
    directory, over its ``p.toml``.  Now they go into the directory pinned, under its new
    name."""
    work, moved, elsewhere = tmp_path / "work", tmp_path / "work.moved", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "p.toml").write_text(OLD)
    (elsewhere / "p.toml").write_text(VICTIM)
    lock = work / ".p.toml.lock"
    held = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        out: list[object] = []
        saver = threading.Thread(target=lambda: out.append(save_policy(POLICY, work / "p.toml")),
                                 daemon=True)
        saver.start()
        while not _opened_elsewhere(lock, held):
            assert saver.is_alive(), out
        os.rename(work, moved)
        work.symlink_to(elsewhere)
    finally:
        os.close(held)
    saver.join(60)
    assert _listing(elsewhere) == {"p.toml": "file:" + VICTIM}
    assert (moved / "p.toml").read_text() == TEXT
    assert (moved / "p.toml.bak").read_text() == OLD
    assert out == [moved / "p.toml.bak"]  # (where the backup is now)


def test_a_pinned_directory_moved_before_the_save_is_written_into_and_said(tmp_path):
    """The pin is a descriptor: renaming the directory (a directory above it) and planting a
    link at its name changes where the path leads, not where the save writes."""
    top = tmp_path / "top"
    (top / "work").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "work").mkdir(parents=True)
    pinned = Destination.pin(top / "work" / "p.toml")
    os.rename(top, tmp_path / "top.moved")
    top.symlink_to(elsewhere)
    with pinned:
        assert save_policy(POLICY, top / "work" / "p.toml", pinned=pinned) is None
        assert pinned.moved() == str(tmp_path / "top.moved" / "work")
    assert (tmp_path / "top.moved" / "work" / "p.toml").read_text() == TEXT
    assert list((elsewhere / "work").iterdir()) == []


def test_a_link_followed_when_pinned_is_kept_and_one_made_after_is_refused(tmp_path):
    """A policy kept in a dotfiles repository, linked from where it is used: the pin is the
    link's final target, where the lock and the backups go too, and the link stays.  A link
    put at the target's name after the pin is not followed: refused, the policy beside."""
    dotfiles, used = tmp_path / "dotfiles", tmp_path / "used"
    dotfiles.mkdir()
    used.mkdir()
    (dotfiles / "p.toml").write_text(OLD)
    (used / "p.toml").symlink_to(dotfiles / "p.toml")
    assert save_policy(POLICY, used / "p.toml") == dotfiles / "p.toml.bak"
    assert (used / "p.toml").is_symlink() and (dotfiles / "p.toml").read_text() == TEXT
    assert sorted(os.listdir(dotfiles)) == [".p.toml.lock", "p.toml", "p.toml.bak"]
    victim = tmp_path / "victim"
    victim.write_text(VICTIM)
    with Destination.pin(used / "p.toml") as pinned:
        (dotfiles / "p.toml").unlink()
        (dotfiles / "p.toml").symlink_to(victim)      # (made during the run)
        with pytest.raises(PolicyNotWritten, match="a link made during the run") as caught:
            save_policy(POLICY, used / "p.toml", pinned=pinned)
    assert victim.read_text() == VICTIM
    assert caught.value.aside == dotfiles / "p.toml.new"
    assert (dotfiles / "p.toml.new").read_text() == TEXT
    assert stat.S_IMODE(os.stat(dotfiles / "p.toml.new").st_mode) == 0o600


# --- names that are not regular files -----------------------------------------------------------

NAMES = ["p.toml", ".p.toml.lock", "p.toml.bak", f"p.toml.bak.{BACKUPS_KEPT - 2}",
         f"p.toml.bak.{BACKUPS_KEPT + 3}"]


@pytest.mark.parametrize(("name", "kind"), [
    (name, kind) for name in NAMES for kind in ("fifo", "dir", "socket", "link")
    if (name, kind) != ("p.toml", "link")])  # (followed when pinned: the test above)
def test_a_name_of_the_save_that_is_not_a_regular_file_is_refused_at_once(tmp_path, name,
                                                                           kind):
    """A FIFO at the file's name or its lock's made the save wait for ever; a directory at a
    backup's name made it fail, the policy lost; a link at a backup's name was renamed as
    one.  Now each is refused before anything is replaced, never opened blocking, and the
    policy is written to ``p.toml.new`` beside it.  (A link at the file's own name when the
    save pins is a dotfiles link, followed: the test above.)"""
    (tmp_path / "p.toml").write_text(OLD)
    (tmp_path / "elsewhere").mkdir()
    if name == "p.toml":
        (tmp_path / "p.toml").unlink()
    _plant(tmp_path / name, kind, tmp_path / "elsewhere" / "made")
    before = _listing(tmp_path)
    result = _unblocked(lambda: save_policy(POLICY, tmp_path / "p.toml"), [tmp_path / name])
    assert isinstance(result, PolicyNotWritten), result
    assert "not a regular file" in str(result.strerror) and name in str(result.strerror)
    assert result.aside == tmp_path / "p.toml.new" and result.aside.read_text() == TEXT
    after = _listing(tmp_path)
    after.pop("p.toml.new")
    after.pop(".p.toml.lock", None)   # (made by the save, when it was not what was planted)
    before.pop(".p.toml.lock", None)
    assert after == before
    assert list((tmp_path / "elsewhere").iterdir()) == []


KINDS = st.sampled_from(["none", "none", "file", "fifo", "dir", "socket", "link"])
#: (a link at the file's own name before the save is one the user made: followed)
FILE_KINDS = st.sampled_from(["none", "file", "fifo", "dir", "socket"])


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({name: FILE_KINDS if name == "p.toml" else KINDS
                              for name in NAMES}), st.booleans())
def test_whatever_is_planted_the_save_ends_writes_nowhere_else_and_loses_nothing(plants,
                                                                                 existed):
    """Any mix of things at the names a save uses: it ends (no FIFO waited on), writes
    nothing outside its directory, leaves no temporary file; it replaces the file exactly
    when every name it uses (the backups' only when there is a file to back up) is a regular
    file or absent, and otherwise changes none of them and puts the policy in
    ``p.toml.new``."""
    with tempfile.TemporaryDirectory(dir="/tmp") as base:  # (short: socket paths)
        root = Path(base)
        work, elsewhere = root / "w", root / "e"
        work.mkdir()
        elsewhere.mkdir()
        (elsewhere / "p.toml").write_text(VICTIM)
        if existed and plants["p.toml"] == "none":
            plants = {**plants, "p.toml": "file"}
        for name, kind in plants.items():
            _plant(work / name, kind, elsewhere / name)
        before = _listing(work)
        result = _unblocked(lambda: save_policy(POLICY, work / "p.toml"),
                            [work / n for n, k in plants.items() if k == "fifo"])
        assert _listing(elsewhere) == {"p.toml": "file:" + VICTIM}
        assert not [n for n in os.listdir(work) if n.endswith(".tmp")]
        used = ["p.toml", ".p.toml.lock", *(NAMES[2:] if plants["p.toml"] == "file" else [])]
        clean = all(plants[name] in ("none", "file") for name in used)
        if clean:
            assert not isinstance(result, BaseException), result
            assert (work / "p.toml").read_text() == TEXT
        else:
            assert isinstance(result, PolicyNotWritten), result
            assert result.aside is not None and result.aside.read_text() == TEXT
            after = _listing(work)
            after.pop(result.aside.name)
            after.pop(".p.toml.lock", None)
            before.pop(".p.toml.lock", None)
            assert after == before


# --- the store (answers saved into -p or --save-answers) -------------------------------------

def _store(tmp_path: Path) -> tuple[PolicyStore, Path]:
    from systrace_py.policy.files import FileRule

    path = tmp_path / "work" / "p.toml"
    path.parent.mkdir()
    path.write_text(OLD)
    store = PolicyStore.load(path, command="/bin/true")
    store.policy.main.add_rule(FileRule(("fsread",), Action.PERMIT, path=PathGlob("/src/*")))
    return store, path


def test_answers_are_saved_into_the_pinned_directory_moved_during_the_run(tmp_path):
    """The run's policy file, or ``--save-answers`` FILE, pinned when the run began: its
    directory moved and replaced by a link meanwhile, the answers are saved into it (the
    report says where it is now), not into the linked directory."""
    store, path = _store(tmp_path)
    answers = tmp_path / "work" / "answers.toml"
    store.pin(answers)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "p.toml").write_text(VICTIM)
    os.rename(path.parent, tmp_path / "moved")
    path.parent.symlink_to(elsewhere)
    for target in (None, answers):
        report = store.save(target)
        assert report.moved == str(tmp_path / "moved"), target
    assert _listing(elsewhere) == {"p.toml": "file:" + VICTIM}
    assert "/src/*" in (tmp_path / "moved" / "p.toml").read_text()
    assert "/src/*" in (tmp_path / "moved" / "answers.toml").read_text()


def test_answers_are_not_waited_on_a_fifo_made_at_the_policy_during_the_run(tmp_path):
    """The run's policy file replaced by a FIFO: the save waited for a writer for ever (and
    the rules were not printed).  Now it is refused at once."""
    store, path = _store(tmp_path)
    path.unlink()
    os.mkfifo(path)
    result = _unblocked(store.save, [path])
    assert isinstance(result, OSError) and "is a FIFO, not a regular file" in str(result)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_answers_into_a_directory_the_run_made_are_saved_unless_a_link_leads_elsewhere(
        tmp_path):
    """``--save-answers out/answers.toml`` where ``out`` does not exist yet when the run
    begins (the run makes it): pinned when saving, if the path leads where it did then; a
    link the run put on the way is refused, as red team 13b's check did.  (Behaviour kept
    from before the pin by descriptor: a guard, it passes on the old code.)"""
    store, _ = _store(tmp_path)
    answers = tmp_path / "out" / "answers.toml"
    store.pin(answers)
    answers.parent.mkdir()
    assert store.save(answers).path == answers and "/src/*" in answers.read_text()
    linked = tmp_path / "later" / "answers.toml"
    store.pin(linked)
    (tmp_path / "elsewhere").mkdir()
    linked.parent.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError, match=r"a link made during the run|in a directory a traced "
                       r"program may write"):
        store.save(linked)
    assert list((tmp_path / "elsewhere").iterdir()) == []
