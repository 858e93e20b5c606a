"""Red team 51: a stochastic race fuzzer of interleavings (fuzz_race.c, driven by
fuzz_race_run.py).  A seed picks 2..6 tasks -- threads, CLONE_VM processes, vforking threads,
CLONE_FS processes, forked processes, forked processes of two threads that exec in place --
and each loops a random mix of path calls on names that sometimes lead to the denied file
(open, openat, openat2, exec of cat, stat, readlink, linkat, RENAME_EXCHANGE, symlinkat, bind
mounts, chdir/fchdir, dup2 over a directory descriptor in use, close), rewrites of argument
memory and signals (SIGSTOP/SIGCONT of siblings, SIGKILL of a task in a call).  Under
``default = "permit"`` with ``never`` on fsread and fswrite of secd, the secret's content
must not reach the output, nothing may be written in secd, and the tracer must not fail: no
traceback, no hang, the main process ends with its DONE line, nothing of the run left behind
(fuzz_race_run.run_seed judges all of these).

The fixed seed set below covers the six task kinds; the same seeds run natively first and
must put the secret in the output (the operations reach it, and the judge sees it).  Long
runs: ``python tests/escape/fuzz_race_run.py --seeds 1:1000 --native``."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_race_run import run_seed

#: seed -> policy variant.  3: fs,fork,fork,vfork,thread,mt; 5: thread,mt,vm,mt,fork;
#: 7: fork,vm,fs,vm,mt,vfork (fuzz_race.c's draw from the seed): every kind of task.
SEEDS = {3: "flat", 5: "table", 7: "flat"}
MS = 800
NATIVE_ATTEMPTS = 3


@pytest.fixture(scope="module")
def fuzzer(build) -> Path:
    return build("escape/fuzz_race.c")


def test_the_fuzzers_seeds_reach_the_secret_natively(fuzzer: Path, tmp_path: Path) -> None:
    """The control: without systrace every seed of the set puts the secret's content in its
    output (a seed gets a few tries: the race is the scheduler's) -- the judge that passes the
    traced runs sees a leak when there is one."""
    for seed in SEEDS:
        runs = []
        for _ in range(NATIVE_ATTEMPTS):
            runs.append(run_seed(fuzzer, seed, tmp_path, loop=None, ms=MS, timeout=60))
            if runs[-1].leaked:
                break
        assert runs[-1].leaked, "\n".join(r.summary() for r in runs)
        assert not runs[-1].findings, runs[-1].summary()


def test_the_fuzzers_seeds_under_systrace(fuzzer: Path, tmp_path: Path,
                                          loop: dict[str, str]) -> None:
    """Each seed under systrace: no leak, no write in secd, no traceback, no hang, DONE from
    the main process with status 0, no process of the run left."""
    name = "pyloop" if loop.get("SYSTRACE_NO_CLOOP") == "1" else "cloop"
    failed = []
    for seed, variant in SEEDS.items():
        run = run_seed(fuzzer, seed, tmp_path, loop=name, variant=variant, ms=MS, timeout=60)
        if run.findings:
            failed.append(f"{run.summary()}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n"
                          f"{run.stderr[-3000:]}")
    assert not failed, "\n\n".join(failed)


#: systrace run in process, with one first stop kept for a child's event (Tracer._early) left
#: over once the command has ended -- a tid that is not the tracer's (the state the fuzzer's
#: hangs showed: the tracer busy, no task left, the command's DONE line out), while a process
#: it left is still running (an orphan notice pending): the loop must end with the tree.
STALE_EARLY = """
import os, runpy, sys
from systrace_py.engine import tracer

ended = tracer.Tracer._process_gone

def process_gone(self, process, status):
    ended(self, process, status)
    if process.pid == self.main_pid:
        self._early[os.getppid()] = 0x137f  # (stopped: no task of ours)
        self._orphans_killed.add(os.getppid())

tracer.Tracer._process_gone = process_gone
sys.argv = ["systrace", "-p", sys.argv[1], "--", "/bin/sh", "-c", "sleep 0.3 & exit 0"]
runpy.run_module("systrace_py", run_name="__main__")
"""


def test_the_loop_ends_with_the_tree_whatever_it_kept(tmp_path: Path,
                                                      loop: dict[str, str]) -> None:
    """Found by the fuzzer: systrace busy for ever (state R, deaf to SIGTERM) after the whole
    tree had ended (seeds 9058, 2137, 5209 of the long runs on the native loop, 2144 on the
    Python loop; about one run in 400).  Where the loop polls (an orphan notice pending: the
    command ended before the processes it left), waitpid's ECHILD cleared the tasks but not
    the first stops kept for children's events (Tracer._early), and ``run`` goes on while
    either is left.  The kept stop is planted here (how one outlived its child in the
    fuzzer's runs is not closed: see the docs); the run must end.  Hung on main ea6c2ba,
    both loops (killed by the timeout)."""
    import subprocess

    from conftest import PYTHON, systrace_env

    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n')
    try:
        proc = subprocess.run([PYTHON, "-c", STALE_EARLY, str(policy_file)], capture_output=True,
                              text=True, timeout=60, env=systrace_env(loop),
                              start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("systrace did not end after its tree had ended") from exc
    assert proc.returncode == 0, proc.stderr
