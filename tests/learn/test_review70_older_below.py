"""Review 70: hostile read of close 40's walk below a moved directory of the run's own.

Close 40 (``decode._foreign_below``) walks a directory the run made when it moves, and each
entry that is not the run's own file is compared by its own name.  The walk skips a name
where the run itself linked or moved an older file (``Decoder.older``: compared by the
name that file had when it came) -- but ``Decoder.older`` keeps a name, not which file: an
outsider renaming its own file (a hard link to a secret) over that name afterwards is
compared as the older file was, by the older file's own name, and moved with the directory
to where a reader reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce

#: the run: a directory of its own, an older file moved into it, then (once the outsider has
#: acted) the directory moved into place and its file read
HOSTILE = ("mkdir -p o/d.tmp; {fill}; while [ ! -e o/go ]; do :; done; "
           "mv o/d.tmp o/d; cat o/d/f")
#: how the run puts its file below the directory: an older file moved in (the walk skips its
#: name: ESCAPED on main) or a file of its own made there (close 40's case: refused on main)
FILLS = {"older moved in": "mv s o/d.tmp/f", "made": "echo x > o/d.tmp/f"}
OUTSIDER = """
import os, sys, time
secret, work = sys.argv[1], sys.argv[2]
end = time.monotonic() + 60
while time.monotonic() < end:
    if os.path.exists(os.path.join(work, "o/d.tmp/f")):
        time.sleep(0.2)
        os.link(secret, os.path.join(work, "o/x"))
        os.replace(os.path.join(work, "o/x"), os.path.join(work, "o/d.tmp/f"))
        open(os.path.join(work, "o/go"), "w").close()
        break
    time.sleep(0.01)
"""


def _policy(work: Path) -> str:
    # the staging directory is not to be read; the output and the older file are; a fresh
    # rule turns the notes of what the run makes on (model.notes_made)
    return (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite", "fslink"]\n'
            f'path = "{work}/o/**"\nfresh = true\naction = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{work}/o/d.tmp/**"\naction = "never"\n')


@pytest.mark.parametrize("fill", sorted(FILLS))
def test_an_outsiders_file_over_an_older_file_the_run_moved_below_its_directory_is_not_read(
        tmp_path: Path, loop: dict[str, str], fill: str) -> None:
    """The run moves an older file ``s`` (readable) to ``o/d.tmp/f`` (unreadable: the move
    grants it less, permitted), an outsider renames a hard link to a secret over
    ``o/d.tmp/f``, the run moves ``o/d.tmp`` to ``o/d`` and cats ``o/d/f``.  The file moved
    is not the run's own nor the older file: by its own name ``o/d.tmp/f`` it may not be
    read, and ``o/d/f`` may -- the move must be refused (close 40's rule for a file not
    the run's).  On main the walk skips ``/f`` (``tail in older``) and compares ``s``
    instead: SECRET printed."""
    work = tmp_path / "w"
    work.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    policy = tmp_path / "p.toml"
    policy.write_text(_policy(work))
    command = ["sh", "-c", HOSTILE.format(fill=FILLS[fill])]

    def run(traced: bool) -> str:
        subprocess.run(["rm", "-rf", str(work / "o")], check=True)
        (work / "o").mkdir()
        (work / "s").write_text("older\n")
        outsider = subprocess.Popen([PYTHON3 or "python3", "-c", OUTSIDER, str(secret),
                                     str(work)])
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
