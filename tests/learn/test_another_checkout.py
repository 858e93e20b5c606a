"""A policy learned in one checkout runs in another (learn22): the project's own programs keep
their tables there, and the names a program makes from its pid are the next run's -- and the
policy grants no more than the run used (no table for a program elsewhere, no write of an
older file of a pid-named shape)."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

from test_next_run import PYTHON3, enforce, learn, refusals

#: a project script the command runs (its table: the writes it makes)
RUN_SH = """#!/bin/sh
echo built > out.txt
cat out.txt
"""

#: configure's idiom (autoconf's _AS_LN_S_PREPARE): the pid-named file is removed "in case"
#: before it is made and again after it -- the first removal is the one a learning run
#: records (a call is recorded once)
CONF_SH = """rm -f conf$$.file
echo > conf$$.file
ls conf$$.file >/dev/null
rm -f conf$$.file
echo done
"""


def _checkout(tmp: Path, name: str) -> Path:
    d = tmp / name
    d.mkdir()
    (d / "run.sh").write_text(RUN_SH)
    (d / "run.sh").chmod(0o755)
    return d


def test_a_project_script_keeps_its_table_in_another_checkout(tmp_path):
    first = _checkout(tmp_path, "first")
    policy = learn(tmp_path, ["sh", "-c", "./run.sh"], cwd=first)
    data = tomllib.loads(policy.read_text())
    assert "$CWD/run.sh" in data["program"], sorted(data["program"])
    assert not any(key.startswith(str(first)) for key in data["program"])

    second = _checkout(tmp_path, "second")
    r, refused = enforce(tmp_path, policy, ["sh", "-c", "./run.sh"], cwd=second)
    assert refused == [], refused
    assert r.returncode == 0, r.stderr
    assert (second / "out.txt").read_text() == "built\n"

    # no more than used: the table is the checkout's own script's -- the first checkout's,
    # run from the second, is no $CWD/run.sh and runs under no table of the policy
    (first / "out.txt").unlink()
    r, refused = enforce(tmp_path, policy, ["sh", "-c", f"{first}/run.sh"], cwd=second)
    assert refused and r.returncode != 0
    assert not (first / "out.txt").exists()


def test_a_name_made_from_the_pid_is_made_again_and_no_older_one_is_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    policy = learn(tmp_path, ["bash", "-c", CONF_SH], cwd=work)
    for _ in range(2):  # another pid each run
        r, refused = enforce(tmp_path, policy, ["bash", "-c", CONF_SH], cwd=work)
        assert refused == [], refused
        assert r.returncode == 0 and r.stdout == "done\n", r.stderr
    assert not list(work.glob("conf*"))

    # no more than used: an older file of the shape (not the run's own) is not written
    older = work / "conf4242.file"
    older.write_text("keep\n")
    r, _ = enforce(tmp_path, policy, ["bash", "-c", f"echo x > {older.name}"], cwd=work)
    assert refusals(tmp_path / "enforce.jsonl")
    assert older.read_text() == "keep\n"
    shutil.rmtree(work)


def test_a_loader_path_into_the_checkout_is_granted_in_the_next_one(tmp_path):
    """cargo runs rustc with ``LD_LIBRARY_PATH=$CWD/target/debug/deps:...``: an exec into
    another table carrying a loader variable the run did not start with needs a grant, and
    the learning checkout's value was the grant."""
    command = ["sh", "-c", 'LD_LIBRARY_PATH="$PWD/target/deps" cat in.txt']
    first, second = tmp_path / "first", tmp_path / "second"
    for d in (first, second):
        d.mkdir()
        (d / "in.txt").write_text("data\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
    policy = learn(tmp_path, command, cwd=first, env=env)
    grants = tomllib.loads(policy.read_text())["program"]["/usr/bin/cat"]["environment"]
    assert grants == ["LD_LIBRARY_PATH=$CWD/target/deps"], grants

    r, refused = enforce(tmp_path, policy, command, cwd=second, env=env)
    assert refused == [], refused
    assert r.returncode == 0 and r.stdout == "data\n", r.stderr

    # no more than used: the first checkout's directory, or any other, is refused there
    for value in (f"{first}/target/deps", "/tmp/lib"):
        r, refused = enforce(tmp_path, policy,
                             ["sh", "-c", f'LD_LIBRARY_PATH="{value}" cat in.txt'],
                             cwd=second, env=env)
        assert refused and r.returncode != 0, value


MAKEFILE = """all:
\t@cd $(CURDIR) && echo built > out.txt && echo '$$CWD' > text.txt
"""


def _make_checkout(tmp: Path, name: str, makefile: str = MAKEFILE) -> Path:
    d = tmp / name
    d.mkdir()
    (d / "Makefile").write_text(makefile)
    return d


def test_a_shell_command_naming_the_checkout_runs_in_the_next_one(tmp_path):
    """make hands its shell ``cd /abs/checkout && ...`` (cmake's generated Makefiles do:
    ``cd /abs/checkout/build && cmake -E cmake_depends ...``, git clone its upload-pack
    ``'/abs/checkout/repo/.git'``): the argv condition names the checkout as ``$CWD``."""
    first = _make_checkout(tmp_path, "first")
    policy = learn(tmp_path, ["make", "-s"], cwd=first)
    text = policy.read_text()
    assert "cd $CWD && echo built" in text and "[$]CWD" in text, text
    assert str(first) + " &&" not in text

    second = _make_checkout(tmp_path, "second")
    r, refused = enforce(tmp_path, policy, ["make", "-s"], cwd=second)
    assert refused == [], refused
    assert r.returncode == 0, r.stderr
    assert (second / "out.txt").read_text() == "built\n"
    assert (second / "text.txt").read_text() == "$CWD\n"

    # no more than used: the command naming another directory (the first checkout) is
    # refused in the second one
    third = _make_checkout(tmp_path, "third", MAKEFILE.replace("$(CURDIR)", str(first)))
    (first / "out.txt").unlink()
    r, refused = enforce(tmp_path, policy, ["make", "-s"], cwd=third)
    assert refused and r.returncode != 0
    assert not (first / "out.txt").exists()


MKDIR_P = """
import os
for d in ("src", "src/gen", "src/gen/out"):  # mkdir -p's walk (cmake's -B build does it too)
    try:
        os.mkdir(d)
    except FileExistsError:
        pass
os.rmdir("src/gen/out"); os.rmdir("src/gen")
"""


def test_a_mkdir_p_through_directories_that_were_there_grants_no_change_of_them(tmp_path):
    """A ``mkdir`` of each parent again meets ``EEXIST``: learned as a ``fresh`` write, the
    next run's walk works, and the older directory it only met cannot be changed by the
    program (on main: a plain write rule, so the next run could ``chmod`` or ``rmdir`` it)."""
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    command = [PYTHON3, "-c", MKDIR_P]
    policy = learn(tmp_path, command, cwd=work)
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, command, cwd=work)
        assert refused == [], refused
        assert r.returncode == 0, r.stderr
    assert [p.name for p in work.iterdir()] == ["src"]

    # the directory that was there: met again, not changed (the same program, the policy's
    # main table: the command's arguments are the user's)
    (work / "src").chmod(0o755)
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", "import os; os.chmod('src', 0o700)"],
                         cwd=work)
    assert refused and r.returncode != 0
    assert (work / "src").stat().st_mode & 0o777 == 0o755
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", "import os; os.rmdir('src')"],
                         cwd=work)
    assert refused and (work / "src").is_dir()
