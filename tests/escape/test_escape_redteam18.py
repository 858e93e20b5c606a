"""Red team 18: an outsider at tree-scoped signals, the exec stub, fresh rules and O_PATH.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 18")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, attack, require_real, scene_env
from test_escape_attach_agents import waiting
from test_escape_signals import TREE_ONLY


def attach_under(target: subprocess.Popen[str], s: Scene, text: str
                 ) -> subprocess.CompletedProcess[str]:
    """systrace attached to ``target`` under the policy ``text``, run to its end."""
    policy_file = s.root / "attach.toml"
    policy_file.write_text(text)
    return subprocess.run([*SYSTRACE, "--attach", str(target.pid), "-p", str(policy_file)],
                          capture_output=True, text=True, timeout=60, env=scene_env(s),
                          start_new_session=True, cwd=s.root)


@pytest.mark.both_loops  # (an attached process has no filter: the native loop never serves it)
@pytest.mark.parametrize("mode", ["kill", "pgrp"])
def test_a_live_process_with_a_zombie_leader_is_not_the_trees(build, tmp_path: Path,
                                                              mode: str) -> None:
    """A tree-scoped permit counts a zombie child of a tree task as the tree's (a make
    killing a child that has just exited) -- told by /proc's state Z and the parent.  But
    /proc says Z for a thread-group leader that ended while its threads run on, and
    kill(pid) reaches them.  sig_zleader.c forks a child whose main thread calls
    pthread_exit, a thread of it alive, then waits for ``systrace --attach``: that child,
    made before the attach, is outside the tree, yet its parent is the tree's -- its
    kill(pid, SIGKILL) (and kill(-pgid) of a group of its own) was permitted and ended it.
    Now a zombie counts only when its process has no other thread (stat's num_threads).
    Control: natively the kill ends the victim."""
    program = build("escape/sig_zleader.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, mode, policy_text=None, scene=s))
    with waiting(program, [mode], s) as (target, said):
        tracer = attach_under(target, s, TREE_ONLY)
        out, _ = target.communicate(timeout=60)
    out = said + out
    assert tracer.returncode == 0, tracer.stderr
    assert "ESCAPED" not in out, out + tracer.stderr
    victim = "-" if mode == "pgrp" else ""
    assert f"BLOCKED: kill({victim}" in out and "SIGKILL): EPERM" in out, out + tracer.stderr

