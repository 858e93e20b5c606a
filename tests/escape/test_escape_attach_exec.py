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

import select
import subprocess

import pytest
from escape_lib import SYSTRACE, Scene, attack, never, policy, require_real, scene_env

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops

RUNS = 8
#: a guard against a hang (the fault this attacks), not a measure: an attach takes < 1 s
HANG = 60


def attach_once(program, s: Scene) -> tuple[str, str, int | None]:
    """Attach to attach_exec waiting; once systrace has said whether it attached, tell the
    program the attach is over: systrace's first line, the program's output and systrace's
    exit code."""
    policy_file = s.root / "attach.toml"
    policy_file.write_text(policy(never("fsread", path=f"{s.secd}/**")))
    target = subprocess.Popen([str(program), str(s.secret)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              env=scene_env(s, ESC_WAIT_TRACER="1"), start_new_session=True,
                              cwd=s.root)
    tracer = None
    try:
        assert target.stdin is not None and target.stdout is not None
        ready = target.stdout.readline()
        assert ready.startswith("ready"), ready
        tracer = subprocess.Popen([*SYSTRACE, "--attach", ready.split()[1], "-p",
                                   str(policy_file)], stderr=subprocess.PIPE, text=True,
                                  env=scene_env(s), start_new_session=True, cwd=s.root)
        assert tracer.stderr is not None
        said, _, _ = select.select([tracer.stderr], [], [], HANG)
        assert said, "systrace neither attached nor refused (the attach hangs)"
        first = tracer.stderr.readline()
        out, _ = target.communicate("over\n", timeout=HANG)
        tracer.communicate(timeout=HANG)
        return first, out, tracer.returncode
    finally:
        for process in (target, tracer):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


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
