"""Red team 18: an outsider at tree-scoped signals, the exec stub, fresh rules and O_PATH.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 18")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    UnixListener,
    attached_run,
    attack,
    controlled_and_blocked,
    listening,
    never,
    permit,
    policy,
    require_real,
)
from test_escape_signals import TREE_ONLY

from conftest import run_systrace


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
    run = attached_run([program, mode], TREE_ONLY, scene=s, tracer_first=True)
    assert run.tracer.returncode == 0, run.tracer.stderr
    assert "ESCAPED" not in run.all, run.all + run.tracer.stderr
    victim = "-" if mode == "pgrp" else ""
    assert f"BLOCKED: kill({victim}" in run.all and "SIGKILL): EPERM" in run.all, \
        run.all + run.tracer.stderr



def fresh_socket_policy(work: Path) -> str:
    """A connect to a unix socket only as a ``fresh`` rule covers it (a socket a bind of
    this run made); the directories are the program's to rename (default permit)."""
    return policy(permit(["bind", "connect"], unix=f"{work}/sock/bus*", fresh=True),
                  never(["bind", "connect"], errno="EPERM"))


def test_an_older_directory_swapped_in_brings_no_older_socket_to_a_fresh_name(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A fresh unix rule covers a socket file a bind of this run made, noted by its path.
    fresh_swap.c binds ``sock/busX`` (its own), renames ``sock`` -- a directory older than
    the run -- away, renames ``other`` (older, holding ``busX``: a socket another process
    listens on) to ``sock`` and connects to ``sock/busX``: the name the tracer still took
    for the run's own (the rename of an older directory forgot only the directory's name,
    and a rename the prefilter lets through is not seen at all), the socket an older one --
    connected.  Now a noted socket must also be one a bind of the run bound (sock_diag: red
    team 19 replaced red team 18's birth time).  Control: natively the connect reaches the
    listener."""
    program = build("escape/fresh_swap.c")

    def scene(name: str) -> Path:
        work = tmp_path / name
        (work / "sock").mkdir(parents=True)
        (work / "other").mkdir()
        return work

    def argv(work: Path) -> list[str]:
        return [str(program), str(work / "sock"), str(work / "away"), str(work / "other"),
                "busX"]

    work = scene("control")
    with listening(UnixListener(str(work / "other" / "busX"))) as listener:
        control = subprocess.run(argv(work), capture_output=True, text=True, timeout=30)
        assert control.stdout.startswith("ESCAPED"), control.stdout + control.stderr
        listener.reset()  # type: ignore[attr-defined]
    work = scene("traced")
    with listening(UnixListener(str(work / "other" / "busX"))) as listener:
        policy_file = tmp_path / "fresh.toml"
        policy_file.write_text(fresh_socket_policy(work))
        traced = run_systrace(["-p", str(policy_file), "--", *argv(work)], env=loop)
        assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
        assert traced.stdout.startswith(f"BLOCKED: connect to {work}/sock/busX: EPERM"), \
            traced.stdout + traced.stderr
        assert listener.accepted == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["chmod", "chown", "utime", "link", "reopen"])
def test_an_o_path_descriptor_changes_no_refused_file(build, tmp_path: Path, mode: str,
                                                      loop: dict[str, str]) -> None:
    """Red team 17 made an O_PATH open a read; the descriptor still changes its file through
    the calls that take it with AT_EMPTY_PATH (fchmodat2, fchownat, utimensat, linkat -- a
    new name of the file, written through) and through its /proc magic link reopened for
    writing.  Under ``never fswrite`` of the secret's directory (the O_PATH open permitted)
    each is decided on the descriptor's file and refused (held: red team 18 found no way
    through).  Control: natively each changes the file."""
    controlled_and_blocked(tmp_path, build("escape/path_opath_change.c"),
                           lambda s: [mode, s.secret, s.work / "linked"],
                           lambda s: policy(never("fswrite", path=f"{s.secd}/**")), env=loop)
