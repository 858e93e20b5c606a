"""Red team 12: a thread that execs while `systrace --attach` seizes its process's threads.

PTRACE_SEIZE of a thread waits while an exec of its process is under way (cred_guard_mutex),
and the exec's de_thread waits until the process's other threads are released -- a traced
one once its tracer has reaped its end.  attach_exec.c has 40 idle threads (seized first)
and one that execs as soon as the leader is traced.  Before: the tracer, in the seize of a
thread, and the process, in its exec, waited for each other for ever (4 attaches in 5; a
signal to systrace ended it); and when the exec came first, the thread that exec'd -- never
seized, given the leader's tid, which the attach had seized already -- ran untraced: the
attach waited for that tid to stop for ever, or, once the new image's first thread had
ended, said "attached" while its other thread read the secret.  Now a thread of the tracer
reaps the ends of the tasks it traces while its main thread seizes (tracer._Reaper), and a
tid that is not traced by this tracer any more refuses the attach (_refuse_untraced; the
process is left running untraced, as for every refused attach).  (The native loop never
serves an attached process -- it has no filter -- so one stop loop is all there is.)
"""

from __future__ import annotations

import pytest
from escape_lib import Scene, attached_run, attack, require_real, secd_never

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops

RUNS = 8


def attach_once(program, s: Scene) -> tuple[str, str, int | None]:
    """Attach to attach_exec waiting; once systrace has said whether it attached, tell the
    program the attach is over: systrace's first line, the program's output and systrace's
    exit code."""
    # (a hang, the fault this attacks, ends at attached_run's guard: ATTACH_HANG)
    run = attached_run([program, s.secret], secd_never(s), scene=s, first_line=True,
                       input="over\n")
    return run.first, run.out, run.tracer.returncode


def test_a_thread_that_execs_while_the_attach_seizes_is_never_left_untraced(build, tmp_path):
    program = build("escape/attach_exec.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, s.secret, policy_text=None, scene=s))
    for _ in range(RUNS):
        first, out, code = attach_once(program, s)
        if code == 125:  # refused: the process was left as it was, untraced
            assert "cannot attach" in first, first
            continue
        assert code == 0 and "attached" in first, (first, out, code)
        assert "ESCAPED" not in out, (first, out)
        assert "BLOCKED" in out, (first, out)
