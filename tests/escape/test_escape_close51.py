"""Close 51: close 48's kept generated-name case (an older directory of a generated name's
shape is granted over that shape's trees) only for a rotation -- the directory moved to a
new name and removed there, never moved back (learn._rotated_away).

Review 76's tests (test_escape_review76.py) hold the round trip (moved aside and back).  This
one holds the other half of the condition: a UUID-named directory of the user's moved to a
new name and left there -- no rotation, nothing removed -- is granted place by place, so the
next run reads no other UUID-named tree.  tests/learn's
``test_a_counter_of_runs_keeps_rotating`` keeps the rotation's next runs passing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from escape_lib import SECRET_MAGIC

from conftest import run_systrace

#: learning (no ATTACK): move DIR to DIR.moved, left there, and read DIR.moved/data/a.txt; with
#: ATTACK=1: read the file named by the second argument and say ESCAPED if it holds the secret
SCRIPT = """
import os, sys
if os.environ.get("ATTACK"):
    try:
        data = open(sys.argv[2]).read()
    except OSError as e:
        print("BLOCKED:", e)
    else:
        print("ESCAPED" if "S3CR3T" in data else "BLOCKED: no secret")
else:
    d = sys.argv[1]
    os.rename(d, d + ".moved")
    open(d + ".moved/data/a.txt").read()
    print("BLOCKED: read and moved", d)
"""

PYTHON3 = os.path.realpath(sys.executable)


def test_a_uuid_named_directory_moved_away_and_kept_grants_no_read_of_another_uuid_tree(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: A moved to A.moved (A a UUID; kept there, not removed) and a read of
    A.moved/data/a.txt.
    Enforced: a read of B/secret/secret.txt, B another UUID-named directory the learning run
    never touched.  Control: natively the read gets B's secret."""
    first_name = "0f8fad5b-d9cb-469f-a165-70867728950e"
    other_name = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    (tmp_path / first_name / "data").mkdir(parents=True)
    (tmp_path / first_name / "data" / "a.txt").write_text("public\n")
    (tmp_path / other_name / "secret").mkdir(parents=True)
    secret = f"{other_name}/secret/secret.txt"
    (tmp_path / secret).write_text(SECRET_MAGIC + "\n")
    attack = [PYTHON3, "-I", "-S", "-c", SCRIPT, first_name, secret]
    control = subprocess.run(attack, capture_output=True, text=True, timeout=30,
                             cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout + control.stderr
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", *attack], cwd=tmp_path, env=loop)
    assert first.stdout.startswith(f"BLOCKED: read and moved {first_name}"), \
        first.stdout + first.stderr
    assert (tmp_path / (first_name + ".moved")).is_dir()
    text = learned.read_text()
    traced = run_systrace(["-p", str(learned), "--", *attack], cwd=tmp_path,
                          env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr + text
