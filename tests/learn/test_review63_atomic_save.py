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

import shutil
from pathlib import Path

from test_next_run import enforce, learn

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
