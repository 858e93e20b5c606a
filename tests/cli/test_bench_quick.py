"""bench/run_bench.py stays runnable: ``--quick`` (one repeat of start-up, find and a small
generated build) prints every row issue 16 asks for.  No figure is checked: the bench's
figures are for docs/performance.md, never assertions.  It runs as ``--smoke``: ``--quick``
with a build of 2 units, not 6, and one round of the start-up to exec rows, not 9 -- the
same code, every row and configuration (trim66: 120 s -> ~45 s of a worker)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, systrace_env


@pytest.mark.slow
def test_the_bench_runs_quick_and_prints_every_row(tmp_path: Path) -> None:
    missing = [tool for tool in ("strace", "make", "cc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the bench needs {missing}")
    out = tmp_path / "bench.json"
    # (--install dev: the tree as it is, not the user's install the bench builds by default
    # -- a pip install of the tree, ~100 s and a package index the suite must not need)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run_bench.py"), "--smoke",
                           "--install", "dev", "--json", str(out)], capture_output=True,
                          text=True, timeout=900, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert text.startswith("regime: "), text
    for row in ("/bin/true (start-up only)", "find /usr/include", "make -j2, generated C",
                "learned/native", "learned/strace", "learned, resident/strace",
                "tracer RSS (MiB)",
                "start-up to exec (ms)"):
        assert row in text, (row, text)
    figures = json.loads(out.read_text())
    assert figures["regime"] in ("busy", "idle")
    assert not figures["failures"], figures["failures"]
    learned = [k for k in figures["stops"] if k.endswith("| systrace learned")]
    assert len(learned) == 3  # start-up, find and the build, each under its learned policy
    # ... and each under it again through a resident tracer, whose worker printed --stats
    resident = [k for k in figures["stops"] if k.endswith("| systrace learned, resident")]
    assert len(resident) == 3
    assert all(figures["tracer_rss_mib"].values())
    assert set(figures["time_to_exec_seconds"]) >= {"native", "strace", "systrace learned",
                                                        "systrace (resident)"}


@pytest.mark.slow
def test_the_bench_runs_one_workload_alone(tmp_path: Path) -> None:
    """``--only make``: the build row alone, under every configuration, and no start-up to
    exec rows -- the before/after comparison of a build (perf17) without the rest of the
    bench.  (Before it, the bench had no way to run one row: ``--only`` was an error.)"""
    missing = [tool for tool in ("strace", "make", "cc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the bench needs {missing}")
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run_bench.py"), "--smoke",
                           "--install", "dev", "--only", "make", "--json", str(out)],
                          capture_output=True, text=True, timeout=900, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "make -j2, generated C" in text and "learned/native" in text, text
    for row in ("/bin/true (start-up only)", "find /usr/include", "start-up to exec (ms)"):
        assert row not in text, (row, text)
    figures = json.loads(out.read_text())
    assert len(figures["workloads"]) == 1 and figures["workloads"][0].startswith("make -j2")
    assert not figures["failures"], figures["failures"]
    assert not figures["time_to_exec_seconds"]
    learned = [k for k in figures["stops"] if "| systrace learned" in k]
    assert len(learned) == 2  # in process, and through a resident tracer
