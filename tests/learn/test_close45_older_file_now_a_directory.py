"""Close 45, the same class as review 73 looked for elsewhere: an older *file* note whose
file an outsider replaced with a directory.

``DecodedCall.older_below`` gives a note no longer its file (``still_older``) by its own name
now -- but kept the note's ``tree`` flag, False for a file: a directory put there since was
compared by its name alone, not as a tree, and the walk below the run's directory skipped it
(an older note's tail) -- what the outsider put inside it went with the run's move unasked.
Now such a name is compared whole where it is a directory now (fail closed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce

#: the run: an older file moved below a directory of its own, then (once the outsider has
#: put a directory in its place) the directory moved into place and the file inside read
HOSTILE = ("mkdir -p o/d.tmp; {fill}; while [ ! -e o/go ]; do :; done; "
           "mv o/d.tmp o/d; cat o/d/t/f")
#: an older file moved in (its note's flag: a file -- ESCAPED on main), or a directory of
#: the run's own made there (close 40's walk: refused on main)
FILLS = {"older file moved in": "mv t o/d.tmp/t", "made": "touch o/d.tmp/t"}
OUTSIDER = """
import os, sys, time
secret, work = sys.argv[1], sys.argv[2]
end = time.monotonic() + 60
where = os.path.join(work, "o/d.tmp/t")
while time.monotonic() < end:
    if os.path.isfile(where):
        time.sleep(0.2)
        os.unlink(where)
        os.mkdir(where)
        os.link(secret, os.path.join(where, "f"))
        open(os.path.join(work, "o/go"), "w").close()
        break
    time.sleep(0.01)
"""


def _policy(work: Path) -> str:
    # the files in the staging name t are not to be read (the name itself is); a fresh rule
    # turns the notes of what the run makes on (model.notes_made)
    return (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite", "fslink"]\n'
            f'path = "{work}/o/**"\nfresh = true\naction = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{work}/o/d.tmp/t/*"\naction = "never"\n')


@pytest.mark.parametrize("fill", sorted(FILLS))
def test_a_directory_an_outsider_put_at_an_older_files_name_is_compared_whole(
        tmp_path: Path, loop: dict[str, str], fill: str) -> None:
    """The run moves an older file ``t`` to ``o/d.tmp/t``; an outsider replaces it with a
    directory holding a link to a secret, ``o/d.tmp/t/f`` (by that name: not to be read);
    the run moves ``o/d.tmp`` to ``o/d`` and cats ``o/d/t/f`` -- the move must be refused.
    On main the note was given by its own name but as a file (not compared as a tree) and
    the walk skipped it: SECRET printed."""
    work = tmp_path / "w"
    work.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    policy = tmp_path / "p.toml"
    policy.write_text(_policy(work))
    command = ["sh", "-c", HOSTILE.format(fill=FILLS[fill])]

    def run(traced: bool) -> str:
        subprocess.run(["rm", "-rf", str(work / "o"), str(work / "t")], check=True)
        (work / "o").mkdir()
        (work / "t").write_text("older\n")
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
