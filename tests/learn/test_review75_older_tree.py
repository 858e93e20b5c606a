"""Review 75: hostile read of close 45 (``Decoder.older_trees``, ``_older_tree``,
``_walk_below``, ``_foreign_below``): review 73's scene where the older directory's walk
cannot finish (past ``FOREIGN_WALK_CAP``: untold, the tree compared by its own name now),
and where the outsider's link goes into a subdirectory noted below the older one (the walk
must go into it and compare its entries).  Both held on main 9fd3a1b1."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce
from test_review73_older_tree import _policy

from systrace_py.engine.decode import FOREIGN_WALK_CAP

HOSTILE = ("mkdir -p o/d.tmp; mv s o/d.tmp/s; while [ ! -e o/go ]; do :; done; "
           "mv o/d.tmp o/d; cat o/d/s/{tail}")
OUTSIDER = """
import os, sys, time
secret, work, tail = sys.argv[1], sys.argv[2], sys.argv[3]
end = time.monotonic() + 60
while time.monotonic() < end:
    if os.path.isdir(os.path.join(work, "o/d.tmp/s")):
        time.sleep(0.2)
        os.link(secret, os.path.join(work, "o/d.tmp/s", tail))
        open(os.path.join(work, "o/go"), "w").close()
        break
    time.sleep(0.01)
"""
#: how ``s`` is filled before the run moves it, and where the outsider's link goes below it
SHAPES = {"past the cap": (FOREIGN_WALK_CAP + 1, "f"), "into a noted subdirectory": (0, "sub/f")}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_outsiders_file_in_an_older_tree_the_walk_cannot_vouch_for_is_not_read(
        tmp_path: Path, loop: dict[str, str], shape: str) -> None:
    """Review 73's scene: the run moves the older ``s`` to ``o/d.tmp/s`` (unreadable), an
    outsider links a secret below it, the run moves ``o/d.tmp`` to ``o/d`` and cats the
    link.  ``past the cap``: ``s`` holds more entries than the walk looks at -- its tree is
    untold and must be compared by its own name now (``o/d.tmp/s``: refused).  ``into a
    noted subdirectory``: the link is in ``s/sub``, noted at the move -- the walk must go
    into it."""
    count, tail = SHAPES[shape]
    work = tmp_path / "w"
    work.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    policy = tmp_path / "p.toml"
    policy.write_text(_policy(work))
    command = ["sh", "-c", HOSTILE.format(tail=tail)]

    def run(traced: bool) -> str:
        subprocess.run(["rm", "-rf", str(work / "o"), str(work / "s")], check=True)
        (work / "o").mkdir()
        (work / "s").mkdir()
        (work / "s" / "sub").mkdir()
        (work / "s" / "a").write_text("older\n")
        (work / "s" / "sub" / "b").write_text("older\n")
        for number in range(count):
            (work / "s" / f"n{number}").touch()
        outsider = subprocess.Popen([PYTHON3 or "python3", "-c", OUTSIDER, str(secret),
                                     str(work), tail])
        try:
            if traced:
                result, _ = enforce(tmp_path, policy, command, cwd=work, env=loop)
            else:
                result = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                        timeout=60)
        finally:
            outsider.wait(timeout=70)
        return result.stdout + result.stderr

    assert "SECRET" in run(traced=False)  # (the technique works without systrace)
    out = run(traced=True)
    assert "SECRET" not in out, out
