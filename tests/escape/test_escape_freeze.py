"""Red team 6: what a freeze takes for stopped (class 2, races between check and use).

A call no copy can hold -- one that keeps its own spelling and start (a directory deeper than
PATH_MAX, Holder.respelled) -- runs with every other task of the tree stopped and is checked
again (Tracer._freeze, _unchanged).  The freeze left alone the tasks it took for unable to
run: a vfork parent -- which runs again as soon as its child lets the memory go (exit_mm),
before the tracer hears of the child's exit, and for ever when the child is a thread-group
leader whose own thread lives on --, and a new task whose first stop was still to come, which
the loop let go at that stop with the tree still frozen.  race_vfork.c: while a thread opens
"secret.txt" relative to a descriptor of such a deep directory (a decoy), such a task dup2s
the secret's directory onto that descriptor and back; it escaped in both loops (``thread``
within a hundred opens, every run; ``clone`` in every run of 8 s; ``exit`` in about half the
runs of 5 s).
"""

from __future__ import annotations

import pytest
from escape_lib import attack, controlled_and_blocked, never, policy, read_never

pytestmark = pytest.mark.slow

@pytest.mark.parametrize("mode", ["exit", "thread", "clone"])
def test_a_task_a_freeze_takes_for_stopped_does_not_run_beside_the_call(build, tmp_path, mode,
                                                                       loop):
    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/race_vfork.c"),
        lambda s: [mode, s.secret, s.work, "100000", "4"],
        lambda s: read_never(s.secret), env=loop, timeout=60)
    assert "never the secret" in traced.detail, traced


def test_a_leader_that_exited_does_not_stall_a_freeze(build, world_tmp, loop):
    """A process whose main thread exited (pthread_exit) while a thread lives on has a
    zombie leader, reported only with its group's end: a freeze waited for its stop, then
    refused the frozen call (EAGAIN after FREEZE_TIMEOUT) -- any call of the tree that
    freezes it, here another process's rename.  Natively the rename works; now too."""
    program = build("escape/freeze_zombie.c")
    native = attack(program, world_tmp, policy_text=None, scene=None)
    assert "rename: OK" in native.stdout and "state: Z" in native.stdout, native
    traced = attack(program, world_tmp, scene=None, env=loop,
                    policy_text=policy(never("fsread", path=f"{world_tmp}/secret/**")))
    assert "rename: OK" in traced.stdout, traced


def test_a_vfork_parent_waiting_for_its_child_does_not_stall_a_freeze(build, world_tmp, loop):
    """A vfork parent cannot stop while its child has the memory: the freeze leaves it to
    stop when it wakes -- but waits for one its child let go already, which runs its own code
    (Tracer._waits_for_vfork, where /proc/TID/wchan says it sleeps).  Telling the two apart
    wrongly made every freeze during a vfork wait for a stop that never came: EAGAIN after
    FREEZE_TIMEOUT.  Natively the rename works at once; now too."""
    program = build("escape/freeze_vfork_wait.c")
    native = attack(program, world_tmp, policy_text=None, scene=None)
    assert "rename: OK" in native.stdout, native
    traced = attack(program, world_tmp, scene=None, env=loop,
                    policy_text=policy(never("fsread", path=f"{world_tmp}/secret/**")))
    assert "rename: OK" in traced.stdout, traced
