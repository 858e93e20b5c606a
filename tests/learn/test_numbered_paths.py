"""A path of several numbered names is learned, and its policy loads (review 36).

learn37 writes each number of a generated name as its shape -- a pid's is a brace of 7
alternatives (1 to 7 digits) -- and bounds one name's alternatives (64), not a path's: a
run that made ``$TMPDIR/a.$$/b.$$/c.$$/d.$$`` had a path rule of 7**4 = 2401 alternatives,
past the 1024 a pattern may have, and ``-A`` stopped with a traceback (GlobError), writing no
policy at all; so did names of a date and a pid (``a-$(date +%Y%m%d-%H%M%S)-$$``, 4 deep).
Now a path's names share one budget (generalize.PATH_ALTERNATIVES): the numbers past it are
written as before learn37 (``d.*``, a pid ``[1-9]*``), and the next run runs."""

from __future__ import annotations

from pathlib import Path

from test_next_run import SYSTEM_PATH, enforce, learn

from systrace_py.policy.generalize import PATH_ALTERNATIVES, PID_SHAPE, brace_alternatives
from systrace_py.policy.glob import MAX_ALTERNATIVES, _expand_braces

NESTED_SH = """set -e
d="$TMPDIR/a.$$/b.$$/c.$$/d.$$"
mkdir -p "$d"
echo x > "$d/f"
cat "$d/f"
rm -rf "$TMPDIR/a.$$"
s=$(date +%Y%m%d-%H%M%S)
d="$TMPDIR/a-$s-$$/b-$s-$$/c-$s-$$/d-$s-$$"
mkdir -p "$d"
echo y > "$d/f"
cat "$d/f"
rm -rf "$TMPDIR/a-$s-$$"
echo done
"""


def test_a_path_of_four_numbered_names_is_learned_and_runs_again(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    (tmp_path / "run.sh").write_text(NESTED_SH)
    env = {"PATH": SYSTEM_PATH, "TMPDIR": str(temp)}
    command = ["sh", "run.sh"]
    policy = learn(tmp_path, command, cwd=tmp_path, env=env)  # (main: a traceback, no policy)
    text = policy.read_text()
    assert "$TMPDIR/a." + PID_SHAPE + "/b." + PID_SHAPE in text, text
    r, refused = enforce(tmp_path, policy, command, cwd=tmp_path, env=env)
    assert (r.returncode, r.stdout) == (0, "x\ny\ndone\n"), r.stderr
    assert refused == [], refused[:3]


def test_brace_alternatives_counts_a_written_globs_names() -> None:
    assert brace_alternatives("/tmp/a.b") == 1
    assert brace_alternatives("a." + PID_SHAPE) == 7
    assert brace_alternatives("a." + PID_SHAPE + "/b." + PID_SHAPE) == 49
    assert brace_alternatives("x{a,{b,c}}\\{d\\,e\\}") == 3
    assert brace_alternatives("{a,b}{,c}") == 4
    for text in ("a." + PID_SHAPE + "/b." + PID_SHAPE, "x{a,{b,c}}", "{a,b}{,c}/y"):
        assert brace_alternatives(text) == len(_expand_braces("/" + text))  # (as the loader reads)
    assert PATH_ALTERNATIVES * 2 < MAX_ALTERNATIVES  # (a `` (deleted)`` alternative, a brace)
