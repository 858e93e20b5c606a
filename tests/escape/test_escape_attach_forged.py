"""Red team 12: a task's name that forges lines of its /proc status, against the attach probe.

/proc/PID/status begins with the task's name, which the task sets; the kernel escapes a
newline in it but not a carriage return, at which bytes.splitlines() also ends a line.
procfs.status_numbers took the first line of a key, so a task named "\\rSeccomp:\\t0" read as
having no seccomp filter: the attach probe asked it whether it has an io_uring context
without suspending its filter (Tracer._uring_context_refusal), and its filter answered
EINVAL -- "none" -- for a process that keeps a ring as a registered descriptor with work
queued (gap #27): attach_forged.c forged was attached and read the secret.  Now /proc status
lines end at a newline alone (procfs.status_lines): the attach is refused, the process left
running untraced.  (The same first line decided TracerPid -- kill_all's and the attach's
"traced by us" --, Tgid and NSpid.)  One stop loop: an attached process has no filter.
"""

from __future__ import annotations

import pytest
from escape_lib import Scene, attached_run, attack, require_real, secd_never

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops


@pytest.mark.slow  # (10-11 s a run in a busy-VM run of the suite)
@pytest.mark.parametrize("mode", ["forged", "plain"])
def test_a_name_forging_its_status_does_not_hide_a_filter_from_the_probe(
        build, tmp_path, mode):
    program = build("escape/attach_forged.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, s.secret, mode, policy_text=None, scene=s))
    run = attached_run([program, s.secret, mode], secd_never(s), scene=s, tracer_first=True)
    assert run.tracer.returncode == 125, (run.all, run.tracer.stderr)
    assert "has an io_uring context" in run.tracer.stderr, run.tracer.stderr
    assert "traced by 0" in run.all, run.all  # (refused: never traced, then natively)
