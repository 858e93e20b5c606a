"""A link or rename may not give a file more access than its own name has (issue 11): the
learner keeps a run that links or moves files consistent with it -- its learned policy
lets the same run pass, granting a linked source what its new name is granted
(learn._linked_grants) --, and red team 40's composition (``fsread,fswrite build/out`` and
``fslink secret``) no longer reads the secret on the next run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from test_next_run import PYTHON3, enforce, learn

#: git clone --local's shape: a source tree's files linked into the clone and read back
#: through their new names; one moved into place, one directory moved
CLONE_PY = r"""
import os, sys
src = sys.argv[1]
os.makedirs("clone/objects", exist_ok=True)
for name in sorted(os.listdir(f"{src}/objects")):
    os.link(f"{src}/objects/{name}", f"clone/objects/{name}")
for name in sorted(os.listdir("clone/objects")):
    print(open(f"clone/objects/{name}").read().strip())
os.rename(f"{src}/moved.txt", "clone/moved.txt")
print(open("clone/moved.txt").read().strip())
"""


def _source(root: Path) -> Path:
    src = root / "src"
    if src.exists():
        shutil.rmtree(src)
    (src / "objects").mkdir(parents=True)
    for i in range(3):
        (src / "objects" / f"obj{i}").write_text(f"object {i}\n")
    (src / "moved.txt").write_text("moved\n")
    return src


def test_a_run_that_links_older_files_and_reads_them_back_runs_again(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "clone.py").write_text(CLONE_PY)
    src = _source(tmp_path)
    policy = learn(tmp_path, [PYTHON3, "clone.py", str(src)], cwd=proj)
    shutil.rmtree(proj / "clone")
    src = _source(tmp_path)
    r, refused = enforce(tmp_path, policy, [PYTHON3, "clone.py", str(src)], cwd=proj)
    assert r.returncode == 0, r.stderr
    assert not refused, refused
    assert "object 2" in r.stdout and "moved" in r.stdout


#: red team 40's learning run: a read-back of its own build/out, and a link of the secret
#: made and removed; with "next", its next run: the secret linked onto build/out and read
LEARN_PY = r"""
import os, sys
if sys.argv[2:] == ["next"]:
    os.unlink("build/out")
    try:
        os.link(sys.argv[1], "build/out")
    except OSError as e:
        print("link refused:", e.errno)
        raise SystemExit(0)
    print(open("build/out").read())
    raise SystemExit(0)
os.makedirs("build", exist_ok=True)
open("build/out", "w").write("own\n")
print(open("build/out").read().strip())
os.link(sys.argv[1], "build/s")
os.unlink("build/s")
"""


def test_the_secret_linked_onto_a_name_the_table_reads_is_not_read(tmp_path: Path) -> None:
    """Red team 40's "found, not closed": the learned ``fslink`` of the secret and
    ``fsread,fswrite $CWD/build/out`` let the next run link the secret there and read it
    (failed on main 2a86e2f: the secret printed).  The same learning run still passes."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "learn.py").write_text(LEARN_PY)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    policy = learn(tmp_path, [PYTHON3, "learn.py", str(secret)], cwd=proj)
    r, refused = enforce(tmp_path, policy, [PYTHON3, "learn.py", str(secret)], cwd=proj)
    assert r.returncode == 0 and not refused, (r.stderr, refused)
    r, refused = enforce(tmp_path, policy, [PYTHON3, "learn.py", str(secret), "next"], cwd=proj)
    assert "the secret" not in r.stdout, r.stdout
    assert "link refused: 1" in r.stdout, (r.stdout, r.stderr)
    assert any(x.get("reason") == "linked access" for x in refused), refused


#: an older file linked into a staging directory the run makes, which then moves into
#: place and is read back there (cargo's session directory, a package's staging tree)
STAGE_PY = r"""
import os, sys
src = sys.argv[1]
os.makedirs("out", exist_ok=True)
os.mkdir("stage")
for name in sorted(os.listdir(f"{src}/objects")):
    os.link(f"{src}/objects/{name}", f"stage/{name}")
open("stage/own.txt", "w").write("own\n")
os.rename("stage", "out/pkg")
for name in sorted(os.listdir("out/pkg")):
    print(open(f"out/pkg/{name}").read().strip())
"""


def test_a_run_that_moves_its_own_directory_holding_older_files_runs_again(
        tmp_path: Path) -> None:
    """The move of a directory the run made is compared for the older files linked below
    it (model.Table._linked_decision, fslink42): the learned policy lets the same run pass
    again -- the older files' names get what their names below the new one are granted
    (learn._linked_grants), never more."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "stage.py").write_text(STAGE_PY)
    src = _source(tmp_path)
    policy = learn(tmp_path, [PYTHON3, "stage.py", str(src)], cwd=proj)
    for _ in range(2):
        shutil.rmtree(proj / "out")
        src = _source(tmp_path)
        r, refused = enforce(tmp_path, policy, [PYTHON3, "stage.py", str(src)], cwd=proj)
        assert r.returncode == 0, r.stderr
        assert not refused, refused
        assert "object 2" in r.stdout and "own" in r.stdout


#: a log rotation: an older log moved aside by the command's own program, then read by cat
#: -- another program, with a table of its own in the learned policy
ROTATE_PY = r"""
import os, subprocess
os.rename("logs/app.log", "logs/app.log.1")
subprocess.run(["/bin/cat", "logs/app.log.1"], check=True)
"""


def test_a_move_whose_new_name_another_program_reads_runs_again(tmp_path: Path) -> None:
    """The next run compares a link's or move's names in every table (red team 49): cat's
    learned table reads ``logs/app.log.1``, so the learner grants it the old name too
    (learn._linked_grants, into every table) -- without, the next run's rename was refused
    (linked access, cat's table)."""
    proj = tmp_path / "proj"
    (proj / "logs").mkdir(parents=True)
    (proj / "rotate.py").write_text(ROTATE_PY)
    (proj / "logs" / "app.log").write_text("yesterday\n")
    policy = learn(tmp_path, [PYTHON3, "rotate.py"], cwd=proj)
    (proj / "logs" / "app.log.1").unlink()
    (proj / "logs" / "app.log").write_text("today\n")
    r, refused = enforce(tmp_path, policy, [PYTHON3, "rotate.py"], cwd=proj)
    assert r.returncode == 0, r.stderr
    assert not refused, refused
    assert "today" in r.stdout


#: pip's uninstall stash, in small: a venv's package directory moved aside, its file removed,
#: the directory removed; with "next" (after the move) it opens, for writing (no byte
#: written), a file of the system's Python tree -- which the category rule of the venv's
#: tree also names -- and says whether it could
STASH_PY = r"""
import os, sys
sp = sys.argv[1]
os.rename(f"{sp}/pkg", f"{sp}/~kg")
os.unlink(f"{sp}/~kg/f.py")
os.rmdir(f"{sp}/~kg")
if sys.argv[2:] == ["next"]:
    try:
        os.close(os.open(os.__file__, os.O_WRONLY | os.O_APPEND))
        print("ESCAPED")
    except OSError as exc:
        print("BLOCKED", exc.errno)
"""


def test_a_stashed_package_directory_grants_no_write_of_the_category(tmp_path: Path) -> None:
    """newuser18: `pip uninstall` moves a package's directory of a venv aside (its stash),
    and the learner gives the old name what the new one is granted, by the pattern of the
    rule that lets it be moved -- here the category rule of libraries, the Python trees,
    locale data and CA certificates, whose pattern names the venv's tree among many: taken
    whole, the learned policy let the next run write ``/usr/lib/**/*.so*``,
    ``/etc/ld.so.cache``, ``/etc/ssl/certs/**`` and the system's Python
    (``os.py`` opened for writing: ESCAPED on main, as root).  Now only the pattern's
    alternatives that name the moved directory are granted (the venv's tree), and the next
    run's move still passes."""
    import tomllib

    subprocess.run([PYTHON3, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    sp = next((tmp_path / "v" / "lib").glob("python3*")) / "site-packages"
    (tmp_path / "stash.py").write_text(STASH_PY)

    def fresh_package() -> None:
        (sp / "pkg").mkdir()
        (sp / "pkg" / "f.py").write_text("x = 1\n")

    fresh_package()
    python = str(tmp_path / "v" / "bin" / "python")
    policy = learn(tmp_path, [python, "stash.py", str(sp)], cwd=tmp_path)
    learned = tomllib.loads(policy.read_text())
    tables = [learned.get("rule", [])] + [t.get("rule", []) for t in
                                          learned.get("program", {}).values()]
    writes = [r["path"] for rules in tables for r in rules
              if "fswrite" in r["calls"] and "path" in r]
    assert writes and not [w for w in writes if "/usr/" in w or "/etc/" in w], writes
    fresh_package()
    r, refused = enforce(tmp_path, policy, [python, "stash.py", str(sp), "next"],
                         cwd=tmp_path)
    assert (r.returncode, r.stdout.split()[:1]) == (0, ["BLOCKED"]), r.stderr
    assert [x["syscall"] for x in refused] == ["openat"], refused
