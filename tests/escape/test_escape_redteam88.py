"""Red team 88: learning as the attack surface -- one file read, its tree moved aside and back.

Red team 81 narrowed what the learner grants an older directory a run moved: over its tree,
only the accesses the run used on older files below either of its names
(``learn._older_uses``).  One such use is enough for the whole tree: the engine compares a
directory's move by shapes, not by place (``Table._linked_decision``), so the exact rule of
the one file read is widened to ``DIR.old/**`` for the move back and, in the next pass of
``learn._linked_grants``, to ``DIR/**`` for the move aside.  ``learn_roundtrip.c`` reads
``DIR/data/a.txt`` -- a file the person would grant it -- and renames ``DIR`` aside and back;
the learned policy reads everything below ``DIR``, and the next run reads
``DIR/secret/secret.txt``, which the learning run never read, listed or named.  Red team 81's
"seen, not closed" said so for a read of the moved directory's file *by its new name*; this
one reads by the old name, before any move, and the directory moved may be an ancestor as
high as ``$CWD``'s (an ``sh`` run with ``cat`` in a table of its own and ``mv`` in another
grants ``cat`` ``$CWD/**``; an append to one file, ``fswrite $CWD/**``).  Closed (close 48):
the engine compares each exact rule below a moved directory at its own place below both
names (``model.exact_places``), and the learner grants such a place below the old name
alone, as far as the run used an older file there (``DIR.old/data/a.txt``); the learned
policy replays the learning run and refuses the read of the secret.

And a compiler of the tree's own, run by systrace after learning with no tracer
(``learn_cc.c``): red team 28 made the facts gathering ask only programs "the system
installed" -- root's, in root's directories --, which a tree running as root makes anywhere
it may write.  Now a program at or below a path the run made or changed is never asked
(``cli.facts.changed_by_run``); nothing is asked after a run that mounted."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC

from conftest import run_systrace


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "a.txt").write_text("public\n")
    (work / "secret").mkdir()
    (work / "secret" / "secret.txt").write_text(SECRET_MAGIC + "\n")
    return work


def test_one_file_read_and_its_tree_moved_aside_and_back_grants_no_read_of_the_tree(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: ``learn_roundtrip work`` (reads work/data/a.txt; moves work aside and back).
    Enforced: ``ATTACK=1 learn_roundtrip work`` reads ``work/secret/secret.txt``.  Control:
    natively the moves leave the tree as it was, and the read gets the secret.  On main the
    learned policy holds ``fsread $CWD/work/**`` ("files linked or moved to a name granting
    more") and the enforced read ESCAPES (both loops)."""
    program = build("escape/learn_roundtrip.c")
    work = _work(tmp_path)
    moved = subprocess.run([str(program), "work"], capture_output=True, text=True,
                           timeout=30, cwd=tmp_path)
    assert moved.stdout.startswith("BLOCKED: read work/data/a.txt, moved work"), moved.stdout
    assert sorted(p.name for p in work.iterdir()) == ["data", "secret"]
    control = subprocess.run([str(program), "work"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), "work"],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith("BLOCKED: read work/data/a.txt, moved work"), \
        first.stdout + first.stderr
    traced = run_systrace(["-p", str(learned), "--", str(program), "work"],
                          cwd=tmp_path, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr + learned.read_text()
    assert traced.stdout.startswith("BLOCKED: open work/secret/secret.txt: EPERM"), \
        traced.stdout + traced.stderr
    # granted place by place: the one file read, by the name it had while moved aside
    text = learned.read_text()
    assert '"$CWD/work.old/data/a.txt"' in text, text
    for wide in ('"$CWD/work/**"', '"$CWD/work.old/**"'):
        assert f'calls = ["fsread"]\npath = {wide}' not in text, text
    # the learned policy replays the learning run: the read and both moves, same status
    again = run_systrace(["-p", str(learned), "--", str(program), "work"],
                         cwd=tmp_path, env=loop)
    assert again.stdout == first.stdout, again.stdout + again.stderr
    assert again.returncode == first.returncode == moved.returncode, again.stderr
    assert sorted(p.name for p in work.iterdir()) == ["data", "secret"]
    assert not (tmp_path / "work.old").exists()


def test_a_tree_listed_and_read_and_moved_aside_and_back_grants_no_read_of_the_tree(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: ``learn_roundtrip work listed`` (lists work/data, reads each file there;
    moves work aside and back): the reads are learned as a glob, ``fsread $CWD/work/data/*``
    ("directory listings"), which by shapes may match only some places below work.
    Enforced: ``ATTACK=1 learn_roundtrip work`` reads ``work/secret/secret.txt``.  On the
    base the glob's shortfall was granted as the mover's pattern and all below it (``fsread
    $CWD/work.old/**``, then ``$CWD/work/**``): ESCAPED (both loops).  Now the glob is
    granted by the same rest below the old name (``$CWD/work.old/data/*``), which the engine
    compares at the same places; the learned policy replays the learning run."""
    program = build("escape/learn_roundtrip.c")
    work = _work(tmp_path)
    for name in ("b.txt", "c.txt", "d.txt"):
        (work / "data" / name).write_text("public\n")
    control = subprocess.run([str(program), "work"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), "work", "listed"],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith("BLOCKED: read work/data/a.txt, moved work"), \
        first.stdout + first.stderr
    text = learned.read_text()
    assert 'path = "$CWD/work/data/*"' in text, text
    traced = run_systrace(["-p", str(learned), "--", str(program), "work"],
                          cwd=tmp_path, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr + text
    assert traced.stdout.startswith("BLOCKED: open work/secret/secret.txt: EPERM"), \
        traced.stdout + traced.stderr
    assert 'path = "$CWD/work.old/data/*"' in text, text
    again = run_systrace(["-p", str(learned), "--", str(program), "work", "listed"],
                         cwd=tmp_path, env=loop)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout), \
        again.stdout + again.stderr + text
    assert sorted(p.name for p in work.iterdir()) == ["data", "secret"]


#: the project's round trip by a shell: cat reads one file, sh appends to another, mv (a table
#: of its own) moves the project directory aside and back -- from inside it
_SHELL_ROUND_TRIP = ("cat data/a.txt; echo more >> data/log; cd ..; mv proj proj.old; "
                     "mv proj.old proj")
#: the next run: the secret read by cat, appended to by sh
_SHELL_ATTACK = "cat secret/key.txt; echo appended >> secret/key.txt"


def test_one_file_read_and_one_appended_and_the_project_moved_aside_and_back_grant_no_more(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: ``sh -c 'cat data/a.txt; echo more >> data/log; cd ..; mv proj proj.old;
    mv proj.old proj'`` in ``proj``.  Enforced: ``sh -c 'cat secret/key.txt; echo appended >>
    secret/key.txt'``.  Control: natively the secret is read and appended to.  On main
    (red team 88, by hand) the learned policy held ``fsread $CWD/**`` in ``cat``'s table and
    ``fswrite $CWD/**`` in the shell's: both ESCAPED (both loops).  Now each is granted at
    its one place below ``proj.old``, and the learned policy replays the learning run."""
    sh = shutil.which("sh")
    assert sh is not None
    native = tmp_path / "native"
    native.mkdir()
    control_dir = _project(native)
    control = subprocess.run([sh, "-c", _SHELL_ATTACK], capture_output=True, text=True,
                             timeout=30, cwd=control_dir)
    assert SECRET_MAGIC in control.stdout, control.stdout + control.stderr
    assert "appended" in (control_dir / "secret" / "key.txt").read_text()
    project = _project(tmp_path)
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", sh, "-c", _SHELL_ROUND_TRIP],
                         cwd=project, env=loop)
    assert first.returncode == 0 and first.stdout == "public\n", first.stdout + first.stderr
    text = learned.read_text()
    traced = run_systrace(["-p", str(learned), "--", sh, "-c", _SHELL_ATTACK], cwd=project,
                          env=loop)
    assert SECRET_MAGIC not in traced.stdout, traced.stdout + traced.stderr + text
    key = (project / "secret" / "key.txt").read_text()
    assert key == SECRET_MAGIC + "\n", key
    assert traced.stderr.count("Operation not permitted") == 2, traced.stderr
    # granted place by place: the file read (cat's table) and the one appended to (sh's)
    policy = tomllib.loads(text)
    granted = sorted((name.rsplit("/", 1)[-1],
                      rule["path"].rsplit("/", 3)[-3:] == ["proj.old", "data", leaf])
                     for name, rules in [("main", policy["rule"]),
                                         *((program, table["rule"]) for program, table
                                           in policy.get("program", {}).items())]
                     for rule in rules
                     if rule.get("learned", {}).get("kind", "").startswith("files linked")
                     for leaf in [{"fsread": "a.txt", "fswrite": "log"}[rule["calls"][0]]])
    assert granted == [("cat", True), ("main", True)], text
    # the learned policy replays the learning run: same output and status, the append made
    again = run_systrace(["-p", str(learned), "--", sh, "-c", _SHELL_ROUND_TRIP],
                         cwd=project, env=loop)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout), \
        again.stdout + again.stderr + text
    assert (project / "data" / "log").read_text() == "log\nmore\nmore\n"
    assert not (tmp_path / "proj.old").exists()


def _project(parent: Path) -> Path:
    project = parent / "proj"
    (project / "data").mkdir(parents=True)
    (project / "data" / "a.txt").write_text("public\n")
    (project / "data" / "log").write_text("log\n")
    (project / "secret").mkdir()
    (project / "secret" / "key.txt").write_text(SECRET_MAGIC + "\n")
    return project


def test_a_compiler_the_root_tree_wrote_is_not_run_untraced_after_learning(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """After learning, systrace asks the compilers that ran where their headers are,
    un-traced, if "the system installed them": owned by root, not group- or other-writable,
    in a directory likewise (``cli/facts._installed``, red team 28).  A tree running as root
    makes such a file: ``learn_cc.c`` copies itself to ``DIR/bin/cc`` and runs it; systrace
    then ran it three times with no tracer (``TracerPid: 0``), as systrace's user.  Control:
    natively, ``DIR/bin/cc -E ...`` (as systrace asks it) notes that it ran un-traced.
    ESCAPED on main (both loops); now a program the run made or changed is not asked."""
    if os.geteuid() != 0:
        pytest.skip("a root tree makes a root-owned compiler")
    program = build("escape/learn_cc.c")
    native = tmp_path / "native"
    native.mkdir()
    made = subprocess.run([str(program), str(native)], capture_output=True, text=True,
                          timeout=30)
    assert made.stdout.startswith("BLOCKED: ran "), made.stdout
    subprocess.run([str(native / "bin" / "cc"), "-E", "-v", "-x", "c", "/dev/null", "-o",
                    "/dev/null"], capture_output=True, timeout=30, check=True)
    control = subprocess.run([str(program), str(native), "check"], capture_output=True,
                             text=True, timeout=30)
    assert control.stdout.startswith("ESCAPED"), control.stdout
    work = tmp_path / "work"
    work.mkdir()
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), str(work)],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith("BLOCKED: ran "), first.stdout + first.stderr
    check = subprocess.run([str(program), str(work), "check"], capture_output=True,
                           text=True, timeout=30)
    assert "ESCAPED" not in check.stdout, check.stdout
    assert check.stdout.startswith("BLOCKED"), check.stdout
