"""Red team 71: an outsider at calls that do not simply enter and return, against today's loops
(docs/security.md, "Red team 71")."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from escape_lib import Scene, attack, controlled_and_blocked, never, policy, secd_never


@pytest.mark.parametrize("checked", ["fsread", "fswrite"])
def test_an_exec_from_a_thread_failing_past_its_point_of_no_return_ends_the_run(
        build, tmp_path: Path, loop: dict[str, str], checked: str) -> None:
    """A thread's exec under RLIMIT_AS 64 KiB fails after de_thread gave it the leader's tid
    (no exec event; SIGSEGV follows).  Natively the process dies of SIGSEGV.  On main:
    ``fsread`` (the exec is checked and held, its exit stop awaited): that stop, reported under
    the leader's tid, was kept for the exec's thaw, which waited for it under the thread's old
    tid -- systrace and the process hung (both loops).  ``fswrite`` (the exec makes no stop):
    the thread's old tid was never seen to end, the process never ended, and systrace exited
    0 for a command killed by SIGSEGV (both loops).  Now the thread's task takes the leader's
    tid at that stop (Tracer._exec_failed_late) and a leader's end ends its process
    (Tracer._gone): the run ends as natively, with its status."""
    program = build("escape/exec_late_fail.c")
    native = attack(program, policy_text=None, scene=None)
    if native.verdict == "SKIPPED":
        pytest.skip(native.detail)
    assert native.returncode == -signal.SIGSEGV, native
    scene = Scene.make(tmp_path, "traced")
    # (a guard against the hang, not a measure: the run takes < 1 s)
    traced = attack(program, policy_text=policy(never(checked, path=f"{scene.secd}/**")),
                    scene=scene, env=loop, timeout=30)
    assert traced.returncode == 128 + signal.SIGSEGV, traced


@pytest.mark.parametrize("how", ["open", "thread", "exec"])
def test_a_process_whose_leader_ended_is_still_enforced(
        build, tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """Review 48, of Tracer._gone ("a leader's end ends its process"): the main thread
    pthread_exit()s, and once /proc shows the leader a zombie a thread opens the secret
    (``open``), makes a new thread that does (``thread``), or execs a program that does
    (``exec``: de_thread with a zombie leader).  The leader's end is not reported while its
    threads live (the kernel's delay_group_leader holds for a tracer too), so no live thread's
    task is ended there: refused, both loops (ESCAPED natively).  Sound on main too: a guard."""
    controlled_and_blocked(tmp_path, build("escape/leader_gone.c"),
                           lambda s: [how, s.secret], secd_never, env=loop)
