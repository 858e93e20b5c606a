"""Red team 45: an outsider at the program that is itself a supervisor -- its own ptrace.

``debug_tracer.c``: a policy may name the unsafe debug calls (``ptrace``,
``process_vm_readv``, ``process_vm_writev``; docs/policy.md: "gdb needs ptrace").  Under
systrace they reach no task of the tree (each is traced already), but every process outside
it -- the tracer too, the task /proc/self/status names as TracerPid.  A root tree (its
CAP_SYS_PTRACE passes over the tracer's non-dumpable flag) seized its own tracer, or wrote
its stack: the tracer's registers and memory are the enforcement.  Now those calls stop
whatever the policy says, and one whose pid names a task of the tracer is refused (EPERM),
as a signal to the tracer is.  The native control runs the technique on a stand-in (a child
of the program's that waits in a call): seized, it reads the secret for the program.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, attack, never, permit, policy, require_real

DEBUG_CALLS = ["ptrace", "process_vm_readv", "process_vm_writev"]


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only CAP_SYS_PTRACE passes over the tracer's non-dumpable flag")
@pytest.mark.parametrize("mode", ["ptrace", "vmwrite"])
def test_a_debug_call_a_rule_permits_never_reaches_the_tracer(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """``ptrace``: PTRACE_SEIZE of the TracerPid; ``vmwrite``: process_vm_writev of its
    stack (the bytes read, written back).  Both ESCAPED on main, both loops; now EPERM."""
    program = build("escape/debug_tracer.c")
    control_scene = Scene.make(tmp_path, "control")
    control = attack(program, f"native-{mode}", control_scene.secret, policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    text = policy(never("fsread", path=f"{s.secd}/**"), permit(DEBUG_CALLS))
    out = attack(program, mode, s.secret, policy_text=text, scene=s, env=loop, timeout=60)
    assert_blocked(out)
    assert "EPERM" in out.detail, out
