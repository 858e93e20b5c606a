"""Review 14: a hostile reading of the previous session's merged change (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 14")."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, assert_blocked, attack, read_never, require_real

#: a mount namespace of the run's own with a procfs of its own at /proc (as red team 22's
#: tests): the tracer and its tree share it, and what the attack changes ends with it
PRIVATE_PROC = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount -t proc proc /proc && exec "$@"', "sh"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
@pytest.mark.parametrize("how", ["bind", "clone", "remount"])
def test_the_options_of_the_tracers_proc_by_another_name_are_refused(
        build, tmp_path: Path, how: str, loop: dict[str, str]) -> None:
    """Red team 22's guard refused a reconfiguration of the tracer's own /proc by the
    target's path ("/proc" or below).  A procfs's options (subset=pid, hidepid) are its
    superblock's, which every mount of it shares: fspick of a bind of /proc (or of a
    detached copy, open_tree's OPEN_TREE_CLONE, which has no name at all), or a remount of
    the superblock through the bind, passed -- and the tracer's /proc lost /proc/sys and
    /proc/net.  Natively the change takes /proc/sys from /proc and the program reads the
    secret; traced, the change is refused (EPERM): the target is judged by its file system
    (the tracer's /proc's device), not by its name."""
    program = build("escape/ns_procalias.c")
    native = Scene.make(tmp_path, "control")
    extra = [] if how == "clone" else [native.work]
    require_real(attack(PRIVATE_PROC[0], *PRIVATE_PROC[1:], program, how, native.secd, *extra,
                        policy_text=None, scene=native))
    scene = Scene.make(tmp_path)
    extra = [] if how == "clone" else [scene.work]
    traced = attack(program, how, scene.secd, *extra, policy_text=read_never(scene.secret),
                    scene=scene, env=loop, tracer=[*PRIVATE_PROC, *SYSTRACE])
    assert "made" not in traced.stdout, traced
    assert_blocked(traced)
    assert traced.detail == f"{how} of /proc: EPERM", traced
