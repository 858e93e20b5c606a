"""Review 66: hostile review of close 36 (a learned atomic save).

Close 36 learns the temporary name of an atomic save (``echo 1 > o/t.tmp; mv o/t.tmp o/f``)
as ``fslink`` by a ``fresh`` rule (``learn._own_moved``, option (b)), so that an outsider's
file planted at the temporary name is not moved onto the output on the next run.  Where (b)
declines -- the name was "used before the run made it" (``_Context.older_first``) -- and no
other rule of the policy is fresh, ``learn._linked_grant`` falls back to option (a) and
grants the temporary name what the output has, not fresh: the outsider's planted file is
moved and read, and even read directly at the temporary name.

The shape that declines (b) is the most common one of a Makefile's or a script's atomic
save: ``rm -f $@.tmp`` (or ``[ -e ... ]``, a stat of the destination) before writing it.
The use met no file (ENOENT) -- no older file was there -- yet it counts as a use before
the name was made."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce, learn

#: close 36's workload with the usual pre-clean of the temporary name
PRECLEAN = {
    "rm -f": ("mkdir -p o; for i in 1 2 3; do rm -f o/t.$i.tmp; echo $i > o/t.$i.tmp; "
              "mv o/t.$i.tmp o/f.$i; done; cat o/f.*"),
    "test -e": ("mkdir -p o; for i in 1 2 3; do [ -e o/t.$i.tmp ] || echo $i > o/t.$i.tmp; "
                "mv o/t.$i.tmp o/f.$i; done; cat o/f.*"),
    # (cp and install look at their destination before they write it)
    # (one name: three numbered ones made by cp are learned as "a counter's own
    # directory", $CWD/o/** -- another shape, not close 36's, which reads them on 01d6e5c4)
    "cp": "mkdir -p o; echo 1 > s; cp s o/t.1.tmp; mv o/t.1.tmp o/f.1; cat o/f.*",
}


@pytest.mark.parametrize("case", sorted(PRECLEAN))
@pytest.mark.parametrize("hostile", ["mv o/t.1.tmp o/f.1; cat o/f.*", "cat o/t.1.tmp"])
def test_a_planted_file_at_a_precleaned_temporary_is_not_read(
        tmp_path: Path, loop: dict[str, str], case: str, hostile: str) -> None:
    """The learned policy's own commands, the file at the temporary name an outsider's hard
    link to a secret the run may not read.  Natively cat prints the secret; under the
    learned policy nothing of it may be read (the learning run's cat read only its outputs,
    which held the run's own contents)."""
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", PRECLEAN[case]], cwd=work, env=loop)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    command = ["sh", "-c", hostile]

    def plant() -> None:
        shutil.rmtree(work / "o", ignore_errors=True)
        (work / "o").mkdir()
        os.link(secret, work / "o" / "t.1.tmp")

    plant()
    native = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=30)
    assert "SECRET" in native.stdout, native  # (the technique works without systrace)
    plant()
    result, refused = enforce(tmp_path, policy, command, cwd=work, env=loop)
    assert "SECRET" not in result.stdout, (result.stdout, policy.read_text())
    assert refused, result.stderr


# --- a directory of the run's own, moved, holding an outsider's file -------------------------

DIR_WORKLOAD = "mkdir -p o/d.tmp; echo x > o/d.tmp/f; mv o/d.tmp o/d; cat o/d/f"
#: the hostile run: the learned commands, waiting (a builtin loop: a stat, any path's
#: metadata is learned) for the outsider to have swapped its own file below the directory
DIR_HOSTILE = ("mkdir -p o/d.tmp; echo x > o/d.tmp/f; while [ ! -e o/go ]; do :; done; "
               "mv o/d.tmp o/d; cat o/d/f")
OUTSIDER = """
import os, sys, time
secret, work = sys.argv[1], sys.argv[2]
end = time.monotonic() + 60
while time.monotonic() < end:
    if os.path.exists(os.path.join(work, "o/d.tmp/f")):
        os.link(secret, os.path.join(work, "o/x"))
        os.replace(os.path.join(work, "o/x"), os.path.join(work, "o/d.tmp/f"))
        open(os.path.join(work, "o/go"), "w").close()
        break
    time.sleep(0.01)
"""


def test_an_outsiders_file_swapped_below_the_runs_own_directory_is_not_moved_to_a_reader(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The run makes ``o/d.tmp`` and its file ``f``; an outsider (an untraced process, as in
    red teams 16-19) renames a hard link to a secret over ``o/d.tmp/f``; the run then moves
    ``o/d.tmp`` to ``o/d``, where cat may read ``f``.  A file of the run's own made name is
    told by its identity (``Decoder.still_made``: the same swap of a file ``o/t.tmp`` is
    refused), but below a directory of the run's own only the run's own links and moves are
    compared (``Facts.older_below``): the outsider's file is exempt with the directory and
    read.  Not new with close 36 (01d6e5c4 reads it too)."""
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", DIR_WORKLOAD], cwd=work, env=loop)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    command = ["sh", "-c", DIR_HOSTILE]

    def run(traced: bool) -> str:
        shutil.rmtree(work / "o", ignore_errors=True)
        (work / "o").mkdir()
        outsider = subprocess.Popen([PYTHON3 or "python3", "-c", OUTSIDER, str(secret), str(work)])
        try:
            if traced:
                result, _ = enforce(tmp_path, policy, command, cwd=work, env=loop)
            else:
                result = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                        timeout=60)
        finally:
            outsider.wait(timeout=70)
        return result.stdout

    assert "SECRET" in run(traced=False)  # (the technique works without systrace)
    assert "SECRET" not in run(traced=True)


# --- close 40: the fallback grant (a) reads nothing in a table that only read the output -------

#: the learning run met a stale temporary (a crashed earlier run's) and removed it: a use that
#: met a file at the name before the run made it, so the fresh move rule declines
#: (``_Context.older_first``) and ``_linked_grant`` falls back to (a)
#: (no ``mkdir -p o``: its EEXIST learns a fresh rule of mkdir's, which turns the next run's
#: notes of what it makes on whatever the learner does with the move -- close 36's "depends on
#: something unrelated")
STALE = ("for i in 1 2 3; do rm -f o/t.$i.tmp; echo $i > o/t.$i.tmp; mv o/t.$i.tmp o/f.$i; "
         "done; cat o/f.*")


def _clean(work: Path) -> None:
    shutil.rmtree(work / "o", ignore_errors=True)
    (work / "o").mkdir()


def _stale(work: Path) -> None:
    _clean(work)
    for i in (1, 2, 3):
        (work / "o" / f"t.{i}.tmp").write_text("stale\n")


@pytest.mark.parametrize("hostile", ["mv o/t.1.tmp o/f.1; cat o/f.*", "cat o/t.1.tmp"])
def test_a_planted_file_at_a_temporary_the_learning_run_found_stale_is_not_read(
        tmp_path: Path, loop: dict[str, str], hostile: str) -> None:
    """Where the fallback (a) stays -- the learning run found a stale file at the temporary
    name and removed it -- the old name is granted the output's accesses in ``mv``'s table
    only, the table that moved the file; cat's table, which read only the outputs, is granted
    no read of the temporary name (close 36 gave it ``fsread``: ``cat o/t.1.tmp`` printed a
    secret planted there, and so did the planted rename).  The legitimate run, in a clean
    directory and over a stale temporary again, runs with no refusal: the policy notes what
    the run makes, so its own file's move is exempt in every table."""
    work = tmp_path / "w"
    work.mkdir()
    _stale(work)
    policy = learn(tmp_path, ["sh", "-c", STALE], cwd=work, env=loop)
    for again in (lambda: _clean(work), lambda: _stale(work)):
        again()
        result, refused = enforce(tmp_path, policy, ["sh", "-c", STALE], cwd=work, env=loop)
        assert not refused, [(r["syscall"], r.get("reason"), r.get("args")) for r in refused]
        assert result.stdout.split() == ["1", "2", "3"], result.stderr
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    command = ["sh", "-c", hostile]

    def plant() -> None:
        shutil.rmtree(work / "o", ignore_errors=True)
        (work / "o").mkdir()
        os.link(secret, work / "o" / "t.1.tmp")

    plant()
    native = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=30)
    assert "SECRET" in native.stdout, native  # (the technique works without systrace)
    plant()
    result, refused = enforce(tmp_path, policy, command, cwd=work, env=loop)
    assert "SECRET" not in result.stdout, (result.stdout, policy.read_text())
    assert refused, result.stderr
