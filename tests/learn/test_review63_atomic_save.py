"""Review 63: a learned build that writes a temporary file and renames it over its output
(the atomic save of every editor, compiler driver and packager) is refused on the next run.

``sh -c 'mkdir -p o; for i in 1 2 3; do echo $i > o/t.$i.tmp; mv o/t.$i.tmp o/f.$i; done;
cat o/f.*'`` learned with ``-A`` and run again with ``-p``: ``mv``'s learned table grants
``fslink`` of the temporary names and ``fsread, fswrite`` of the outputs, not ``fsread`` of
the temporary names, so the rename is refused as a link by which the file "would gain"
read/write at its new name (EPERM, 3 refusals, both loops).  Not new with close 33: main
c045289f and 58910ba0 (before it) refuse the same -- a false refusal of learning, not an
escape."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from test_next_run import PYTHON3, SYSTEM_PATH, enforce, learn

WORKLOAD = ("mkdir -p o; for i in 1 2 3; do echo $i > o/t.$i.tmp; mv o/t.$i.tmp o/f.$i; "
            "done; cat o/f.*")


def test_a_learned_atomic_save_runs_again(tmp_path: Path, loop: dict[str, str]) -> None:
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", WORKLOAD], cwd=work, env=loop)
    shutil.rmtree(work / "o")
    result, refused = enforce(tmp_path, policy, ["sh", "-c", WORKLOAD], cwd=work, env=loop)
    assert not refused, refused
    assert result.stdout.split() == ["1", "2", "3"], result.stderr


# --- close 36: the learner grants the move of a file the run made by a fresh rule --------------
#
# Each workload below is learned once and run again under its policy, in a directory emptied
# between (the runs are the same: the learning run met no file of the last one).  The first
# four failed on main 01d6e5c4 (both loops): the learned policy had no fresh rule, so the next
# run's engine noted nothing the run made, and the file's move was compared as an older file's
# ("linked access", EPERM).  The directory rename and git passed there already -- a fresh rule
# learned for something else (a moved tree's, git's probe of file modes) turned the notes on --
# and must still.

PY_REPLACE = ("import os; os.makedirs('o', exist_ok=True); open('o/x.tmp', 'w').write('1'); "
              "os.replace('o/x.tmp', 'o/x'); print(open('o/x').read())")
#: renameat2(RENAME_EXCHANGE) of two files the run wrote; cat reads only the one name, so the
#: file that was at o/a gains cat's read by its new name o/b -- both names gain by an exchange
PY_EXCHANGE = ("import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
               "r = libc.renameat2(-100, b'o/a', -100, b'o/b', 2); "
               "print(r, os.strerror(ctypes.get_errno()))")
GIT_COMMIT = ("git init -q r && cd r && echo hi > a.txt && git add a.txt && "
              "git -c user.name=t -c user.email=t@e commit -q -m one && git log --format=%s")

RUNS_AGAIN = {
    "link": (["sh", "-c", "mkdir -p o; echo x > o/t.tmp; ln o/t.tmp o/f; rm o/t.tmp; cat o/f"],
             ["x"]),
    "os.replace": ([PYTHON3, "-c", PY_REPLACE], ["1"]),
    "exchange": (["sh", "-c", f"mkdir -p o; echo a > o/a; echo b > o/b; {PYTHON3} -c "
                  f"\"{PY_EXCHANGE}\"; cat o/b"], ["0", "Success", "a"]),
    "directory": (["sh", "-c", "mkdir -p o/d.tmp; echo x > o/d.tmp/f; mv o/d.tmp o/d; "
                   "cat o/d/f"], ["x"]),
    "git": (["sh", "-c", GIT_COMMIT], ["one"]),
}


@pytest.mark.parametrize("case", sorted(RUNS_AGAIN))
def test_a_learned_link_or_move_of_the_runs_own_file_runs_again(
        tmp_path: Path, loop: dict[str, str], case: str) -> None:
    command, expected = RUNS_AGAIN[case]
    if case == "git" and shutil.which("git") is None:
        pytest.skip("no git")
    work = tmp_path / "w"
    work.mkdir()
    env = {**loop, "PATH": SYSTEM_PATH}
    policy = learn(tmp_path, command, cwd=work, env=env)
    shutil.rmtree(work)
    work.mkdir()
    result, refused = enforce(tmp_path, policy, command, cwd=work, env=env)
    assert not refused, [(r["syscall"], r.get("reason"), r.get("args")) for r in refused]
    assert result.stdout.split() == expected, result.stderr


def _tables(policy: Path) -> dict[str, list[dict]]:
    data = tomllib.loads(policy.read_text())
    return {"main": data.get("rule", []),
            **{name: table.get("rule", []) for name, table in data.get("program", {}).items()}}


def test_the_learned_move_of_a_temporary_is_fresh_and_grants_it_nothing_more(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The shape learned (option (b) of close 36): mv's table lets its temporary names be
    renamed by a ``fresh`` rule -- only the next run's own files there -- and grants them no
    read or write (the grant of option (a), which would let mv read an outsider's file
    planted at the name)."""
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", WORKLOAD], cwd=work, env=loop)
    mv = _tables(policy)["/usr/bin/mv"]
    moves = [r for r in mv if "fslink" in r["calls"]]
    assert moves and all(r.get("fresh") for r in moves), moves
    assert all("t.1.tmp" in r["path"] for r in moves), moves
    assert not [r for r in mv if ("fsread" in r["calls"] or "fswrite" in r["calls"])
                and "tmp" in r.get("path", "")], mv


def test_a_rename_of_a_file_the_run_did_not_make_is_still_refused(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The hostile run: the learned policy's own commands, but the file at the temporary name
    is an outsider's -- a hard link to a secret the run may not read, planted before the run
    -- and the run renames it onto the output that cat may read.  Natively cat prints the
    secret; under the learned policy the rename is refused (the fresh rule covers only the
    run's own file at the name) and the secret is not read."""
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", WORKLOAD], cwd=work, env=loop)
    shutil.rmtree(work / "o")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    hostile = ["sh", "-c", "mv o/t.1.tmp o/f.1; cat o/f.*"]

    def plant() -> None:
        shutil.rmtree(work / "o", ignore_errors=True)
        (work / "o").mkdir()
        os.link(secret, work / "o" / "t.1.tmp")

    plant()
    native = subprocess.run(hostile, cwd=work, capture_output=True, text=True, timeout=30)
    assert "SECRET" in native.stdout, native  # (the technique works without systrace)
    plant()
    result, refused = enforce(tmp_path, policy, hostile, cwd=work, env=loop)
    assert "SECRET" not in result.stdout, result.stdout
    assert [r["syscall"] for r in refused if r["program"] == "/usr/bin/mv"] == ["renameat2"], \
        refused
