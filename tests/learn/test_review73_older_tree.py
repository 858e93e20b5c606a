"""Review 73: hostile read of close 44 (``Decoder.older_ids``, ``still_older``).

Close 44 gave each older note an identity, so that an older *file* the run moved below a
directory of its own is compared by its old name only while it is still that file.  An older
*directory* (noted ``tree``) keeps its identity when an outsider adds to it: its inode is the
same, ``still_older`` holds, and ``DecodedCall.older_below`` still compares the whole tree by
the name it came from -- the walk (``_foreign_below``) skips the tail and does not look
inside.  A file an outsider put into the moved directory afterwards (a hard link to a
secret) was never below that old name; by its own name now it may not be read, and the
run's move of its directory gives it a name that may: review 70's finding 1 for a tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce

#: the run: a directory of its own, an older directory moved into it, then (once the outsider
#: has acted) the directory moved into place and the file the outsider added read
HOSTILE = ("mkdir -p o/d.tmp; {fill}; while [ ! -e o/go ]; do :; done; "
           "mv o/d.tmp o/d; cat o/d/s/f")
#: an older directory moved in (compared whole by its old name ``s``: ESCAPED on main), or a
#: directory of the run's own made there (close 40's walk looks inside it: refused on main)
FILLS = {"older tree moved in": "mv s o/d.tmp/s", "made": "mkdir o/d.tmp/s"}
OUTSIDER = """
import os, sys, time
secret, work = sys.argv[1], sys.argv[2]
end = time.monotonic() + 60
while time.monotonic() < end:
    if os.path.isdir(os.path.join(work, "o/d.tmp/s")):
        time.sleep(0.2)
        os.link(secret, os.path.join(work, "o/d.tmp/s/f"))
        open(os.path.join(work, "o/go"), "w").close()
        break
    time.sleep(0.01)
"""


def _policy(work: Path) -> str:
    # the staging directory is not to be read; the output and the older directory are; a
    # fresh rule turns the notes of what the run makes on (model.notes_made)
    return (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite", "fslink"]\n'
            f'path = "{work}/o/**"\nfresh = true\naction = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{work}/o/d.tmp/**"\naction = "never"\n')


@pytest.mark.parametrize("fill", sorted(FILLS))
def test_an_outsiders_file_added_to_an_older_directory_the_run_moved_below_its_own_is_not_read(
        tmp_path: Path, loop: dict[str, str], fill: str) -> None:
    """The run moves an older directory ``s`` (readable) to ``o/d.tmp/s`` (unreadable: the
    move grants it less, permitted), an outsider links a secret into ``o/d.tmp/s/f``, the
    run moves ``o/d.tmp`` to ``o/d`` and cats ``o/d/s/f``.  ``f`` was never below ``s``; by
    its own name ``o/d.tmp/s/f`` it may not be read, and ``o/d/s/f`` may -- the move must be
    refused.  On main ``s`` is still the noted directory (``still_older``), the walk skips
    ``/s`` and the tree is compared by ``s``'s name: SECRET printed."""
    work = tmp_path / "w"
    work.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    policy = tmp_path / "p.toml"
    policy.write_text(_policy(work))
    command = ["sh", "-c", HOSTILE.format(fill=FILLS[fill])]

    def run(traced: bool) -> str:
        subprocess.run(["rm", "-rf", str(work / "o"), str(work / "s")], check=True)
        (work / "o").mkdir()
        (work / "s").mkdir()
        (work / "s" / "a").write_text("older\n")
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
