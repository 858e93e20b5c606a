"""Review 22: a hostile reading of red team 41 and house 25.

House 25 made the frozen recheck of an exec into another table read the flags of descriptors
0-2 (and the seccomp filters) again only when the task "ran" since its check or has a peer
now (a task sharing its descriptor table, a thread).  An exec that *waited* between its check
and its run -- an inject rule's delay, an answer -- did not run, but its peer may have acted
during the wait and gone: a process made with CLONE_FILES set FD_CLOEXEC on descriptor 2 of
the shared table and exited; at the exec's freeze the table had one user, nothing was read
again, and the program with the other table started with descriptor 2 closed (its first open
took it: what it wrote to "stderr", the caller's text, landed in a file only its table may
write -- red team 34's leak).  And when the exec'ing process was then alone in the tree, the
exec ran unfrozen: nothing was read again, before house 25 too.  Now a call that waited is
checked again whatever the tree is when it runs: what it examined in /proc is read again.
The same held for the seccomp filter count (red team 37's own-filter check): a thread put a
filter on every thread (TSYNC) during the wait, and ended.
"""

from __future__ import annotations

from pathlib import Path

from escape_lib import PAYLOAD_MAGIC, assert_blocked, attack, require_real
from test_escape_redteam34 import stdfd_scene, table_policy


def delayed_policy(victim: Path, protected: Path) -> str:
    """red team 34's policy, the exec of ``victim`` delayed by 1 s (the window)."""
    return table_policy(victim, protected) + (
        f'\n[[rule]]\ncalls = ["execve"]\npath = "{victim}"\naction = "inject"\n'
        'delay = "1s"\n')


def test_a_peer_gone_during_a_delayed_exec_cannot_undo_the_descriptor_check(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The exec waits 1 s (inject delay); its CLONE_FILES peer sets FD_CLOEXEC on 2 at 300 ms
    and exits; the tree is not one task at the exec (the attack's parent waits), so it runs
    frozen.  Natively the ordered round lands the payload (the technique).  Escaped on main,
    both loops (the frozen recheck skipped fdinfo: one user of the table then); now the
    waited exec reads fdinfo again and is refused (EAGAIN)."""
    program = build("escape/stdfd_waited.c")
    scene, victim, log = stdfd_scene(tmp_path, "control", program)
    require_real(attack(program, victim, log, "race", policy_text=None, scene=scene))
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    traced = attack(program, victim, log, "race", scene=scene, env=loop, timeout=120,
                    policy_text=delayed_policy(victim, scene.secd))
    assert_blocked(traced)
    assert PAYLOAD_MAGIC not in log.read_text()
    assert "exec: EAGAIN" in traced.stdout + traced.stderr, traced


def test_a_peer_gone_during_a_delayed_exec_of_a_lone_process_cannot_undo_the_check(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same with the exec'ing process the tree's only one once its peer has gone: the
    exec was not frozen, and nothing was read again (before house 25 too).  Escaped on main,
    both loops; now refused (EAGAIN)."""
    program = build("escape/stdfd_waited.c")
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    traced = attack(program, victim, log, "solo", scene=scene, env=loop, timeout=120,
                    policy_text=delayed_policy(victim, scene.secd))
    assert PAYLOAD_MAGIC not in log.read_text(), traced
    assert "exec: EAGAIN" in traced.stdout + traced.stderr, traced


def test_a_thread_gone_during_a_delayed_exec_cannot_undo_the_own_filter_check(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same with a thread for the peer: it puts a filter on every thread (TSYNC) while
    the exec waits, and ends; the exec's own-filter check (red team 37) was not read again
    (the process had one thread at the freeze).  The victim says when it runs under more
    filters than its caller had: natively the ordered round does (the technique).  Escaped
    on main, both loops; now refused (EAGAIN)."""
    program = build("escape/stdfd_waited.c")
    scene, victim, log = stdfd_scene(tmp_path, "control", program)
    require_real(attack(program, victim, log, "filter", policy_text=None, scene=scene))
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    traced = attack(program, victim, log, "filter", scene=scene, env=loop, timeout=120,
                    policy_text=delayed_policy(victim, scene.secd))
    assert_blocked(traced)
    assert PAYLOAD_MAGIC not in log.read_text()
    assert "exec: EAGAIN" in traced.stdout + traced.stderr, traced
