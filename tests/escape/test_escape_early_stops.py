"""Class 4 (red team 11): children whose first stop comes before their parent's fork event.

A task's child is traced from its birth, and its first stop (PTRACE_EVENT_STOP) is often
reported before the parent's fork, vfork or clone event when the parent is not the tracer's own
child: the native loop keeps such a stop in a table of 16 (``_cloop.c`` ``early_stop``), Python
in ``Tracer._early``, until the event says whose child it is.  ``early_flood.c`` floods that
table (40 children by fork, vfork-like clone, clone3 and threads, at once), ends children
before their birth is told, and kills a parent at its fork event (another thread's
exit_group), so that the event never comes: each child must be checked (never the secret), and
the run must end."""

from __future__ import annotations

import re

import pytest
from escape_lib import Outcome, Scene, assert_blocked, attack, read_never, require_real


def early_flood(build, tmp_path, loop, mode: str, rounds: int) -> Outcome:
    program = build("escape/early_flood.c")
    for attempt in range(5):
        # (natively the end may come before any fork of a round, all rounds: a control that
        # made no child shows nothing -- up to 5 tries, a fresh scene each)
        control = Scene.make(tmp_path, f"control{attempt}")
        native = attack(program, mode, control.secret, control.decoy, rounds, policy_text=None,
                        scene=control)
        if "children 0," not in native.stdout:
            break
    require_real(native)
    if mode == "waited":  # (natively every round ends: each child that is made runs)
        assert f"{rounds} rounds ended" in native.stdout, native
    s = Scene.make(tmp_path, "traced")
    traced = attack(program, mode, s.secret, s.decoy, rounds, scene=s, env=loop, timeout=90,
                    policy_text=read_never(f"{s.secd}/**"))
    assert_blocked(traced)
    assert "every decoy open worked" in traced.detail, traced
    assert traced.returncode == 0, traced
    return traced


@pytest.mark.parametrize("mode,rounds", [("flood", 20), ("stopped", 10), ("killed", 20)])
def test_children_told_late_are_checked(build, tmp_path, loop, mode, rounds):
    """More early first stops than the native loop's table holds (the rest are Python's), the
    same while another process stops and continues the parent's whole process group, and
    children killed before their birth is told: every child runs checked (held before)."""
    early_flood(build, tmp_path, loop, mode, rounds)


@pytest.mark.parametrize("mode", ["orphan", "execd"])
def test_a_child_whose_parents_event_never_comes_does_not_hold_the_run(build, tmp_path, loop,
                                                                       mode):
    """The parent dies at its fork event (another thread's exit_group wakes it from that stop;
    the kernel reports its end, never the event) -- or a sibling thread's exec kills it there
    (de_thread; under systrace the tree is frozen for that exec, the fork event kept unhandled
    and dropped with its thread).  Its child was kept stopped for its parent's event, for
    ever: the run never ended, not even on SIGTERM (both loops).  A fork event a freeze keeps
    now has its child adopted at once (``Tracer._keep_birth``): after an exec the child runs,
    checked, as natively.  Now, once no task
    is left that could report the event, such a child is killed (its process, and so its table,
    cannot be known), and the run ends; it never ran unchecked."""
    traced = early_flood(build, tmp_path, loop, mode, 60)
    if mode == "execd":  # (the freeze kept the event: its child is adopted, and runs)
        assert "its parent died before its birth" not in traced.stderr, traced


def test_an_orphan_the_living_tree_waits_for_does_not_hold_the_run(build, tmp_path, loop):
    """As above, but the root waits for the orphans themselves: every child writes a byte to
    a pipe the root reads to EOF (``waited``).  Such a child was killed only once no task was
    left -- never, as the root waits for it: the run hung (both loops; the orphan in state t,
    reparented to pid 1).  Now it is killed as soon as no traced process that could have made
    it lives (``Tracer._kill_orphans_of_dead_creators``): every round ends, every child either
    ran checked (never the secret, its decoy read) or was killed with the message.  Control:
    natively every round ends."""
    traced = early_flood(build, tmp_path, loop, "waited", 30)
    assert "30 rounds ended" in traced.stdout, traced
    ran = re.search(r"children (\d+),", traced.stdout)
    wrote = re.search(r"(\d+) bytes from the children", traced.stdout)
    assert ran and wrote and ran.group(1) == wrote.group(1), traced  # (each that ran, wrote)


def test_a_tid_reused_after_such_a_child_is_not_taken_for_it(build, tmp_path, loop):
    """Such a child killed by the program (its root, a child subreaper, finds it stopped),
    its end reported with no birth that named it (``Tracer._early_exits``), its tid given to a
    new child by clone3's ``set_tid``: that child's birth took the old end for its own, forgot
    it, and kept it stopped as a child nobody announced -- the root waiting for it, the run
    never ended (both loops).  Now the end is told apart by the start time of the task that
    ended, and the new child runs, checked.  Control: natively every child on a reused pid
    runs and reads the secret (root: set_tid needs CAP_SYS_ADMIN)."""
    traced = early_flood(build, tmp_path, loop, "reuse", 60)
    assert "note: 0 children made" not in traced.stdout, traced  # (a pid was reused)
