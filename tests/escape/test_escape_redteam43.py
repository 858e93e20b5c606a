"""Red team 43: an outsider at the tracer's own resources and outputs (issue 11) -- making
systrace run out of something, or its own writes fail, so that it fails open, loses a
record, hangs or grows without bound (docs/security.md, "Red team 43")."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, policy

from conftest import systrace_env

#: a bound on a hang (a test that reaches it has failed), not a timing claim
HANG = 120
#: execs of about 1.8 MiB of argv each: about 180 MiB of process events for an approver
FLOOD_EXECS = 100
#: systrace's peak resident set with the approver's queue bounded (32 MiB of it, its usual
#: 20-40 MiB besides); unbounded it passed 200 MiB
RSS_BOUND_MIB = 110

STALLED_APPROVER = """\
import sys, time
sys.stdout.write('{"type": "events", "process": true}\\n')
sys.stdout.flush()
time.sleep(600)   # asked for process events, reads nothing more (waits for a person...)
"""


def test_an_approver_that_does_not_read_does_not_grow_systrace_without_bound(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """approver_flood.c: an approver (exec:) that asked for process events and then reads
    nothing -- one waiting for a person, or only slower than the tree -- while the program
    execs /bin/true 100 times with 1.8 MiB of argv each.  Each exec event (with its argv) was
    queued for the approver in systrace's memory without bound: 260 MiB of tracer RSS for
    200 execs of 1.2 MiB, linear in what the tree chooses (on main this run peaks above 200
    MiB).  Now an approver more than UNREAD_LIMIT bytes behind is lost, as one that cannot be
    written to is: its waiting asks are refused, every later ask is refused, stderr says so,
    and the run goes on.  Control: natively the program runs to its end."""
    flood = build("escape/approver_flood.c")
    native = subprocess.run([str(flood), "3"], capture_output=True, text=True, timeout=HANG)
    assert native.returncode == 0 and native.stdout.startswith("done"), native.stdout
    approver = tmp_path / "stalled.py"
    approver.write_text(STALLED_APPROVER)
    secd = tmp_path / "secd"
    secd.mkdir()
    pol = tmp_path / "p.toml"
    pol.write_text(policy(f'calls = ["fsread"]\npath = "{secd}/**"\naction = "ask"'))
    run = subprocess.run(
        [*SYSTRACE, "--stats", "-p", str(pol),
         "--ask-via", "exec:" + shlex.join([sys.executable, str(approver)]),
         "--", str(flood), str(FLOOD_EXECS)],
        capture_output=True, text=True, timeout=HANG, env=systrace_env(loop),
        stdin=subprocess.DEVNULL, start_new_session=True)
    if run.stdout.startswith("SKIPPED"):
        pytest.skip(run.stdout.strip())
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"done {FLOOD_EXECS}", run.stdout
    rss = re.search(r"tracer RSS ([0-9.]+) MiB", run.stderr)
    assert rss is not None, run.stderr
    assert "does not read what it is sent" in run.stderr, run.stderr
    assert float(rss.group(1)) < RSS_BOUND_MIB, run.stderr
    assert "Traceback" not in run.stderr
