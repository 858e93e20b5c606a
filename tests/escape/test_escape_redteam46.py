"""Red team 46: an outsider at the tracer as a process -- the interfaces that reach a pid.

``proc_tracer.c``: a read of another process's /proc/PID/mem is decided as
``process_vm_readv`` (what it does), so a rule naming that call permits it.  Red team 45
closed that call (and ptrace, process_vm_writev) at the tracer by its pid argument -- but the
file names its process by its directory, and the guard never looked there: a root tree (its
CAP_SYS_PTRACE passes over the tracer's non-dumpable flag) read the tracer's stack through
/proc/TracerPid/mem and /proc/TracerPid/task/TracerPid/mem.  Now an open of a mem file whose
directory is a task of the tracer's is refused (EPERM), whatever the policy says.  The native
control reads the secret out of a stand-in (a child of the program's holding it in memory).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from escape_lib import (
    PYTHON,
    Scene,
    assert_blocked,
    attack,
    never,
    permit,
    policy,
    require_real,
)

DEBUG_CALLS = ["ptrace", "process_vm_readv", "process_vm_writev"]


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only CAP_SYS_PTRACE passes over the tracer's non-dumpable flag")
@pytest.mark.parametrize("mode", ["procmem", "taskmem"])
def test_a_proc_mem_read_a_rule_permits_never_reaches_the_tracer(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """Both modes ESCAPED on main 0d2fe71 (red team 45's guard in place), both loops; now EPERM."""
    program = build("escape/proc_tracer.c")
    control_scene = Scene.make(tmp_path, "control")
    control = attack(program, f"native-{mode}", control_scene.secret, policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    text = policy(never("fsread", path=f"{s.secd}/**"), permit("process_vm_readv"))
    out = attack(program, mode, s.secret, policy_text=text, scene=s, env=loop, timeout=60)
    assert_blocked(out)
    assert "EPERM" in out.detail, out


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only root (CAP_PERFMON, CAP_SYS_PTRACE) samples the non-dumpable "
                           "tracer")
def test_a_perf_event_a_rule_permits_never_samples_the_tracer(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``perf_tracer.c``: perf_event_open (unsafe; a rule may name it for a profiler) of the
    TracerPid, sampling its user stack (PERF_SAMPLE_STACK_USER) while it serves our stops.
    ESCAPED on main 0d2fe71, both loops (8192 bytes of the tracer's stack); now EPERM.  The
    control samples a stand-in's stack, which holds the secret."""
    program = build("escape/perf_tracer.c")
    control_scene = Scene.make(tmp_path, "control")
    control = attack(program, "native-perf", control_scene.secret, policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    text = policy(never("fsread", path=f"{s.secd}/**"), permit("perf_event_open"))
    out = attack(program, "perf", s.secret, policy_text=text, scene=s, env=loop, timeout=60)
    assert_blocked(out)
    assert "EPERM" in out.detail, out


@pytest.mark.parametrize("mode", ["ptrace", "vmwrite"])
def test_a_debug_call_a_rule_permits_never_reaches_the_approver(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """``debug_approver.c``: the run's ``exec:`` approver answers the asks about the secret;
    a rule names the debug calls.  PTRACE_SEIZE of the approver, process_vm_writev of its
    stack: both ESCAPED on main 0d2fe71 (red team 45's guard looked at the tracer's tasks
    only), both loops; now EPERM -- the approver's tasks count as the tracer's
    (signals.enforcer)."""
    program = build("escape/debug_approver.c")
    control_scene = Scene.make(tmp_path, "control")
    control = attack(program, f"native-{mode}", control_scene.secret, "-", policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "*secd*"\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy('calls = ["fsread"]\n'f'path = "{s.secd}/**"\n''action = "ask"',
                  permit(DEBUG_CALLS))
    out = attack(program, mode, s.secret, answers, policy_text=text, scene=s, env=loop,
                 timeout=60, options=["--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(out)
    assert "EPERM" in out.detail, out
