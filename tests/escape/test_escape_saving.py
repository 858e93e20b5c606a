"""Saving a policy after the run, aimed by the traced program or by a process of its user
(issue 11; docs/security.md, "The pinned destination").

``-A -o DIR/p.toml`` (and answers saved into ``-p`` or ``--save-answers``) writes after the
run, as the user who started systrace.  Red team 13b made the save refuse a path that leads
elsewhere than before the run (a symlink planted by a ``-c`` program).  Two holes were left:

* The check was a ``realpath`` before the save, and every step after it (lock, read, backups,
  temporary file, rename) went by path again: a directory of the path swapped after the
  check sent them into a directory the user never named (``save_swap.c``).  Now the
  directory is pinned once, before the run, by a descriptor, and every step is relative to
  it (``policy.files.Destination``).
* A FIFO at ``p.toml`` or ``.p.toml.lock`` made the save wait for ever, a directory at a
  backup's name it deletes made it fail, and the learned policy was lost (``save_plant.c``).  Now
  anything not a regular file at a name the save uses is refused, never opened blocking; the
  policy goes to ``p.toml.new`` beside it and systrace says so (exit 125).

The traced program here runs as the user who starts systrace, the common case.  Each test
has a native control: the same technique, without systrace, does what it is meant to.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from escape_lib import outsider

from conftest import PYTHON, run_systrace

VICTIM = "# a file in a directory the user did not name\n"
LEARNED = "learned by systrace -A from:"
OLD = 'description = "the policy before the run"\ndefault = "permit"\n'


def _dirs(root: Path) -> tuple[Path, Path, Path, Path]:
    """The work directory -o points into, the name it is moved to, and a directory the user
    did not name with a file of the policy's name."""
    work, moved, elsewhere = root / "work", root / "work.moved", root / "elsewhere"
    work.mkdir(parents=True)
    elsewhere.mkdir()
    victim = elsewhere / "p.toml"
    victim.write_text(VICTIM)
    return work, moved, elsewhere, victim


#: A saver that checks nothing after the lock, writing by path (what the save did after its
#: realpath check): the control of the swap.
_BY_PATH = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "open(sys.argv[2], 'w').write('written by path\\n')\n")


def test_a_directory_swapped_while_the_save_waits_for_its_lock_does_not_move_the_save(
        build, tmp_path):
    """``save_swap.c`` holds ``.p.toml.lock``, and when the saver opens it (its realpath
    check is behind it) renames the work directory and puts a link to another directory in
    its place: the learned policy was written over ``elsewhere/p.toml``, its backup and
    temporary file beside it.  Now the save writes into the pinned directory -- the work
    directory under its new name -- and says where.  Control: a saver writing by path after
    the lock writes into ``elsewhere``."""
    swapper, hello = build("escape/save_swap.c"), build("escape/hello.c")
    work, moved, elsewhere, victim = _dirs(tmp_path / "control")
    lock = work / ".p.toml.lock"
    with outsider([swapper, lock, work, moved, elsewhere]) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "note: holding\n"
        subprocess.run([PYTHON, "-c", _BY_PATH, str(lock), str(work / "p.toml")], check=True,
                       timeout=60)
        assert proc.stdout.readline() == "note: swapped\n"
    assert victim.read_text() == "written by path\n"

    work, moved, elsewhere, victim = _dirs(tmp_path / "traced")
    lock = work / ".p.toml.lock"
    with outsider([swapper, lock, work, moved, elsewhere]) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "note: holding\n"
        r = run_systrace(["-A", "-o", str(work / "p.toml"), "--", str(hello)], cwd=tmp_path)
        assert proc.stdout.readline() == "note: swapped\n", r.stderr
    assert victim.read_text() == VICTIM, r.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["p.toml"], r.stderr
    assert LEARNED in (moved / "p.toml").read_text(), r.stderr
    assert r.returncode == 0, r.stderr
    assert "moved during the run" in r.stderr and str(moved) in r.stderr, r.stderr


def test_a_directory_the_program_swaps_before_the_save_does_not_lose_or_move_it(
        build, tmp_path):
    """``save_plant.c move``: the traced program renames the directory ``-o`` points into and
    puts a link to another directory there.  The save refused (the path led elsewhere) and
    the learned policy was lost.  Now it is written into the directory that was pinned,
    under its new name, and systrace says so; the other directory is untouched.  Control:
    the program moves the directory natively."""
    plant = build("escape/save_plant.c")
    work, moved, elsewhere, victim = _dirs(tmp_path / "control")
    control = subprocess.run([str(plant), "move", str(work), str(moved), str(elsewhere)],
                             capture_output=True, text=True, timeout=30)
    assert "note: planted" in control.stdout and work.is_symlink(), control

    work, moved, elsewhere, victim = _dirs(tmp_path / "traced")
    r = run_systrace(["-A", "-o", str(work / "p.toml"), "--", str(plant), "move", str(work),
                      str(moved), str(elsewhere)], cwd=tmp_path)
    assert "note: planted" in r.stdout, r.stdout + r.stderr
    assert victim.read_text() == VICTIM and sorted(os.listdir(elsewhere)) == ["p.toml"]
    assert LEARNED in (moved / "p.toml").read_text(), r.stderr
    assert r.returncode == 0, r.stderr
    assert "moved during the run" in r.stderr and str(moved) in r.stderr, r.stderr


@pytest.mark.parametrize(("name", "kind"), [("p.toml", "fifo"), (".p.toml.lock", "fifo"),
                                            ("p.toml.bak.5", "dir")])
def test_a_planted_fifo_or_directory_neither_blocks_the_save_nor_loses_the_policy(
        build, tmp_path, name, kind):
    """``save_plant.c``: the traced program makes the policy's name or its lock's a FIFO --
    the save opened it and waited for a writer for ever -- or a backup's name the save deletes
    (the first past the five kept) a directory: the save failed (EISDIR) and the learned
    policy was lost.  Now the name is refused at once (it is
    not a regular file: named on stderr, no traceback, exit 125), nothing is replaced, and
    the policy is written to ``p.toml.new`` beside it.  Control: the program plants it
    natively."""
    plant = build("escape/save_plant.c")
    test = stat.S_ISFIFO if kind == "fifo" else stat.S_ISDIR
    control_dir = tmp_path / "control"
    control_dir.mkdir()
    control = subprocess.run([str(plant), kind, str(control_dir / name)], capture_output=True,
                             text=True, timeout=30)
    assert "note: planted" in control.stdout, control
    assert test(os.lstat(control_dir / name).st_mode)

    work = tmp_path / "work"
    work.mkdir()
    (work / "p.toml").write_text(OLD)
    r = run_systrace(["-A", "-o", str(work / "p.toml"), "--", str(plant), kind,
                      str(work / name)], cwd=tmp_path)
    assert "note: planted" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 125, r.stderr
    assert "not a regular file" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert f"written to {work / 'p.toml.new'}" in r.stderr, r.stderr
    assert LEARNED in (work / "p.toml.new").read_text()
    assert test(os.lstat(work / name).st_mode), "the planted name was replaced"
    if name != "p.toml":
        assert (work / "p.toml").read_text() == OLD


def test_a_directory_the_program_removes_loses_no_policy(tmp_path):
    """The traced program removes the directory ``-o`` points into (``rm -r``, its own work
    directory): the save failed ("No such file or directory", exit 125) and the learned
    policy was lost.  Now, with nowhere beside it to go either, it is printed on stderr after
    the reason.  Control: rm removes it natively."""
    rm = shutil.which("rm")
    assert rm is not None
    control = tmp_path / "control"
    control.mkdir()
    subprocess.run([rm, "-r", str(control)], check=True, timeout=30)
    assert not control.exists()
    work = tmp_path / "work"
    work.mkdir()
    (work / "p.toml").write_text(OLD)
    r = run_systrace(["-A", "-o", str(work / "p.toml"), "--", rm, "-r", str(work)],
                     cwd=tmp_path)
    assert not work.exists() and r.returncode == 125, r.stderr
    assert "the policy is printed on stderr instead" in r.stderr, r.stderr
    assert LEARNED in r.stderr.partition("instead")[2], r.stderr
    assert "Traceback" not in r.stderr


def test_answers_are_not_waited_on_a_fifo_the_program_made_of_its_policy(build, tmp_path):
    """Answers remembered during the run are saved into the ``-p`` file at its end.  The
    traced program, having been granted a read for good, replaced the policy file with a
    FIFO: the save opened it and waited for ever, the run never ended.  Now the save is
    refused at once and the rules printed on stderr, as for any save that fails.  Control:
    the program makes the FIFO natively."""
    plant = build("escape/save_plant.c")
    control = tmp_path / "control.toml"
    out = subprocess.run([str(plant), "fifo", str(control)], capture_output=True, text=True,
                         timeout=30)
    assert "note: planted" in out.stdout and stat.S_ISFIFO(os.lstat(control).st_mode), out
    data = tmp_path / "data.txt"
    data.write_text("data\n")
    policy = tmp_path / "p.toml"
    policy.write_text(f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "{data}"\n'
                      'action = "ask"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nanswer = "permit"\nscope = "file"\n')
    via = "exec:" + shlex.join([PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])
    cat = shutil.which("cat")
    r = run_systrace(["-p", str(policy), "--ask-via", via, "--", "/bin/sh", "-c",
                      f"{cat} {data} && {plant} fifo {policy}"], cwd=tmp_path)
    assert "data" in r.stdout and "note: planted" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    assert "could not save the remembered answers" in r.stderr, r.stderr
    assert f"{policy} is a FIFO, not a regular file" in r.stderr, r.stderr
    assert str(data) in r.stderr.partition("the rules were:")[2], r.stderr
    assert stat.S_ISFIFO(os.lstat(policy).st_mode)
