"""learn37: a number's place in a learned name is the number's shape, not ``*``.

``learn_numbered.c`` names its files by its pid (``lock.PID``) and by another number
(``cache.N``), writes and removes them.  The learner took each number's place for ``*``
after the prefix (``lock.[1-9]*``, ``cache.*``, fresh): a replaced step of the next run made
names of the prefixes that are no number -- ``lock.1evil``, ``cache.evil``, ``cache.1.sh``
(on main: all three made).  Each number is written as its shape now, bounded digits
(``generalize.number_shape``): the honest program runs again with no refusal, and none of
its chosen names is made.  Control: natively, the program makes all three."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import run_systrace
from systrace_py.policy.generalize import PID_SHAPE, number_shape


@pytest.mark.slow
def test_a_numbers_prefix_grants_no_name_that_is_no_number(build, tmp_path: Path) -> None:
    program = build("escape/learn_numbered.c")
    work = tmp_path / "work"
    work.mkdir()
    control = subprocess.run([str(program), str(work)], capture_output=True, text=True,
                             timeout=30, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    assert sorted(p.name for p in work.iterdir()) == ["cache.1.sh", "cache.evil", "lock.1evil"]
    for made in work.iterdir():
        made.unlink()
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), str(work)])
    assert first.stdout.startswith("BLOCKED: made and removed"), first.stdout + first.stderr
    log = tmp_path / "enforce.jsonl"
    for attack in ("0", "1"):
        log.unlink(missing_ok=True)
        traced = run_systrace(["-p", str(learned), "--log", str(log), "--", str(program),
                               str(work)], env={"ATTACK": attack})
        assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
        refused = [json.loads(line) for line in log.read_text().splitlines()
                   if json.loads(line).get("result") == "refused"]
        names = sorted(Path(str(r["args"].get("path"))).name for r in refused)
        if attack == "0":  # (the honest run: its own names, another pid's, no refusal)
            assert traced.stdout.startswith("BLOCKED: made and removed"), traced.stdout
            assert names == [], names
        else:
            assert "BLOCKED: made its own" in traced.stdout, \
                traced.stdout + traced.stderr
            assert names == ["cache.1.sh", "cache.evil", "lock.1evil"], names
    assert list(work.iterdir()) == []
    text = learned.read_text()
    # (the pid's shape; the cache's 7-digit counter's, which may grow 2 digits: learn38)
    assert "lock." + PID_SHAPE in text and "cache." + number_shape("1000000") in text, text
    assert "lock.[1-9]*" not in text and "cache.*" not in text, text
