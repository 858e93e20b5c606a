"""Counters that grow on the next run (learn38): a program names its outputs by a padded
counter (``part-%04d``), a plain counter and its pid, four directories deep.  Learned with a
small input, then run with a larger one -- the padded counter past its width (``part-9999``,
``part-10000``), the plain one past 7 digits (``run.9999999``, ``run.10000002``) -- and a
smaller one: no refusal.  Before, the padded counter was its width only and the plain one 1
to 7 digits: the larger run was refused both.  Then names of those prefixes the program
could not have written in that shape: every one refused, none made."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_next_run import enforce, learn

from systrace_py.policy.generalize import PID_SHAPE

#: names ``%04d`` and ``%ld`` never write, or not within the shapes' lengths
OTHER_NAMES = ("out/part-1evil", "out/part-012345", "out/part-1234567", "out/part-123.sh",
               "out/run.1evil", "out/run.0123", "out/run.12345678901")


def _run_state(proj: Path, n: int, m: int, *extra: str) -> None:
    """The state of a run: its input, its outputs gone."""
    (proj / "input.txt").write_text(f"{n} {m}\n" + "".join(f"{e}\n" for e in extra))
    shutil.rmtree(proj / "out", ignore_errors=True)
    (proj / "out").mkdir()


def test_counters_outgrow_their_learned_width_and_no_other_name_is_made(tmp_path, build):
    program = build("progs/counted_names.c")
    proj = tmp_path / "proj"
    proj.mkdir()
    _run_state(proj, 99, 9999999)
    policy = learn(tmp_path, [str(program)], cwd=proj)
    text = policy.read_text()
    assert "$CWD/out/part-*" not in text and "run.*" not in text and ".[1-9]*" not in text
    (deep,) = [line for line in text.splitlines() if line.startswith('path = "$CWD/out/a.')
               and line.endswith('/f"')]
    assert "*" not in deep and deep.count("[1-9]") <= 4 * 3, deep  # (each pid 3 lengths)
    assert PID_SHAPE not in deep, deep
    for n, m in ((10002, 10000002), (5, 12)):
        _run_state(proj, n, m)
        r, refused = enforce(tmp_path, policy, [str(program)], cwd=proj)
        assert (r.returncode, r.stdout) == (0, f"made {n}\n"), (r.stdout, r.stderr)
        assert refused == [], refused[:3]
        assert (proj / "out" / f"part-{n:04d}").exists() and (proj / "out" / f"run.{m}").exists()

    _run_state(proj, 10002, 10000002, *OTHER_NAMES)
    r, refused = enforce(tmp_path, policy, [str(program)], cwd=proj)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "made 10002"
    assert [line.split()[1] for line in r.stdout.splitlines()[:-1]] == list(OTHER_NAMES)
    assert not any((proj / name).exists() for name in OTHER_NAMES)
    assert {Path(str(x["args"].get("path"))).name for x in refused} >= \
        {Path(name).name for name in OTHER_NAMES}
