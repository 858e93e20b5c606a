"""A task that ends while the tree is frozen for another task's call, after the freeze kept its
stop (early31: the stale first stops red team 51's fuzzer left in ``Tracer._early``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import PYTHON, systrace_env

#: permit everything, one path rule on fswrite: a truncate stops, and in a tree of several
#: processes runs with the others frozen (as in test_parity_regressions.py)
POLICY = """
default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "/srv/systrace-parity-deny/**"
action = "never"
"""

#: systrace run in process.  Right after a freeze has stopped the tree (Tracer._freeze), every
#: task of another process whose stop it kept is SIGKILLed and its end reaped into the freeze's
#: other reports (_deferred) -- as the freeze's own reaping does when another task of the tree
#: (the fuzzer's SIGKILL of a process task, an exec's de_thread) kills it between its stop and
#: the freeze's end, which the fuzzer's runs hit about once a run and a test cannot time.  After
#: each thaw: is a killed task's kept stop filed as a child's first stop (_early)?
KILLED_IN_FREEZE = """
import os, runpy, sys
from systrace_py.engine import tracer

freeze, thaw = tracer.Tracer._freeze, tracer.Tracer._thaw
killed, stale = set(), set()

def frozen(self, caller):
    refusal = freeze(self, caller)
    if refusal is None and caller is not None:
        for tid in list(self._frozen):
            task = self.tasks.get(tid)
            if task is not None and task.process is not caller.process:
                os.kill(tid, 9)
                self._deferred.append(os.waitpid(tid, tracer.pt.WALL))
                killed.add(tid)
    return refusal

def thawed(self):
    thaw(self)
    stale.update(killed & set(self._early))

tracer.Tracer._freeze, tracer.Tracer._thaw = frozen, thawed
sys.argv = ["systrace", "-p", sys.argv[1], "--", *sys.argv[2:]]
try:
    runpy.run_module("systrace_py", run_name="__main__")
finally:
    print(f"killed in a freeze: {len(killed)}; kept stale: {sorted(stale)}", file=sys.stderr)
"""


def test_a_task_killed_in_a_freeze_leaves_no_kept_stop(tmp_path: Path, build,
                                                        loop: dict[str, str]) -> None:
    """Red team 51's fuzzer (seed 5426, and in nearly every run of it with a debug line): the
    end of a task killed while the tree was frozen, reaped by the freeze, was handled at the
    thaw before the stop the freeze had kept for it (Tracer._thaw) -- the task forgotten, then
    its stop taken for the first stop of a child not announced yet (Tracer._early): a dead
    task's, whose end never comes again; killed as an orphan for nothing, left in _early for
    the rest of the run (the native loop off while any is), and before main's 88378fc the
    run spun for ever once the tree had ended.  Fails on main 88378fc, both loops (the child's
    PTRACE_INTERRUPT stop kept stale)."""
    program = build("progs/frozen_end.c")
    (tmp_path / "file").write_text("x")
    native = subprocess.run([str(program), str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert native.returncode == 0 and native.stdout == "ok\n", native.stderr
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    proc = subprocess.run([PYTHON, "-c", KILLED_IN_FREEZE, str(policy_file), str(program),
                           str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env=systrace_env(loop), start_new_session=True)
    assert proc.stdout == "ok\n", proc.stdout + proc.stderr
    assert "killed in a freeze: 1; kept stale: []" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
