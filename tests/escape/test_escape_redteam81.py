"""Red team 81: learning as the attack surface -- an older directory moved aside and back.

A rename of a directory moves everything inside it, and the next run's move is decided over
its tree (issue 11: the files gain no access by their new name).  The learner granted the
old name what the new name's rules grant below it, by the pattern of the rule that lets it
be moved, over its whole tree (``learn._linked_grants``).  ``learn_stash.c`` renames the
user's directory aside, writes and reads a file of its own there, removes it and renames the
directory back: the learned policy granted reading and writing all below the user's
directory, and the next run read the secret there, which the learning run never read.  Now
an older directory moved is granted over its tree only what the run did to older files below
the new name (``learn._older_uses``); the rest is left, the next run's move refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

from escape_lib import SECRET_MAGIC

from conftest import run_systrace


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    return victim


def test_an_older_directory_moved_aside_and_back_grants_no_read_of_its_files(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: ``learn_stash victim`` (moves only; reads its own file in the stash).
    Enforced: ``ATTACK=1 learn_stash victim`` reads ``victim/secret.txt``.  Control:
    natively the moves leave the directory as it was, and the read gets the secret.  On main
    the learned policy held ``fsread/fswrite $CWD/victim/**`` and the enforced read ESCAPED
    (both loops); a policy learned from the same program without the moves refuses it."""
    program = build("escape/learn_stash.c")
    victim = _victim(tmp_path)
    moved = subprocess.run([str(program), "victim"], capture_output=True, text=True,
                           timeout=30, cwd=tmp_path)
    assert moved.stdout.startswith("BLOCKED: moved victim aside and back"), moved.stdout
    assert sorted(p.name for p in victim.iterdir()) == ["secret.txt"]
    control = subprocess.run([str(program), "victim"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), "victim"],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith("BLOCKED: moved victim aside and back"), \
        first.stdout + first.stderr
    traced = run_systrace(["-p", str(learned), "--", str(program), "victim"],
                          cwd=tmp_path, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: open victim/secret.txt: EPERM"), \
        traced.stdout + traced.stderr
    assert "not widened (the next run's move is refused)" in first.stderr, first.stderr
    text = learned.read_text()
    assert '"$CWD/victim/**"' not in text.replace('calls = ["fslink"]\npath = "$CWD/victim/**"',
                                                  ""), text
    # the same moves on the next run: refused (not widened), the directory where it was
    again = run_systrace(["-p", str(learned), "--", str(program), "victim"],
                         cwd=tmp_path, env=loop)
    assert again.stdout.startswith("BLOCKED: rename victim: EPERM"), \
        again.stdout + again.stderr
    assert (victim / "secret.txt").exists()


def test_an_older_directory_whose_files_the_run_read_by_its_new_name_still_moves(
        tmp_path: Path) -> None:
    """No more refused than that: a run that moves an older directory aside, reads its files
    there and moves it back is learned so that its next run does the same (the old names are
    granted what the run did to the directory's own files: reading them)."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    for name in ("a", "b"):
        (work / "data" / name).write_text(name + "\n")
    script = "mv data data.old && cat data.old/a data.old/b && mv data.old data"
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", "sh", "-c", script], cwd=work)
    assert first.returncode == 0 and first.stdout == "a\nb\n", first.stderr
    assert "not widened" not in first.stderr, first.stderr
    again = run_systrace(["-p", str(learned), "--", "sh", "-c", script], cwd=work)
    assert (again.returncode, again.stdout) == (0, "a\nb\n"), again.stderr
