"""Red team 44: an outsider at file systems whose answers change, and at actors outside the
tree (issue 11; docs/security.md, "Red team 44").

A FUSE server sees the pid of every lookup it answers: fs_fuse_server.c (outside the traced
tree, as a user's FUSE mount is) tells the tracer's resolver that ``d`` is an empty directory
and the kernel, looking the same name up for the program, that ``d`` is a symlink to the
secret's directory.  Nothing is renamed and nothing races, so neither the tree of one task
(whose calls ran on their own spelling) nor the freeze and re-check of a call the kernel
resolves again (the server is no task of the tree: it answers the re-check as the check)
held: on main the program read the secret by ``open`` in a tree of one task, and made a hard
link of it (``link``, ``rename``) or changed its mode (``chmod``) in a tree of one task and
of two, in both loops, and so did an open of a program under a seccomp filter of its own,
and a connect to a unix socket a rule refuses.  A
held open (a tree of two tasks) already failed ELOOP.  Now a path below a file system a
process answers is held whatever the tree (an open follows no symlink: ELOOP), and a call the
kernel resolves again there -- any call, under a filter of the program's own -- is refused
(EACCES) where a rule decides by name (engine/answered.py, Tracer._answered_refusal)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    UnixListener,
    assert_blocked,
    attack,
    listening,
    never,
    outsider,
    policy,
    require_real,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mounting a FUSE file system needs root and /dev/fuse")


@contextlib.contextmanager
def fuse_mount(server: Path, scene: Scene, comm: str) -> Iterator[Path]:
    """fs_fuse_server mounted at scene/mnt, outside the traced tree: "d" is a symlink to the
    secret's directory for a task named ``comm``, an empty directory for anyone else."""
    mnt = scene.root / "mnt"
    mnt.mkdir()
    with outsider([server, mnt, scene.secd, comm]) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.startswith("SKIPPED"):
            pytest.skip(line.strip())
        assert line.strip() == "ready", line
        try:
            yield mnt
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def secret_policy(scene: Scene) -> str:
    return policy(never(["fsread", "fswrite"], path=f"{scene.secd}/**"))


MODES = ["open", "topen", "link", "tlink", "rename", "chmod", "fopen", "ftopen"]


@pytest.mark.parametrize("mode", MODES)
def test_a_fuse_server_answering_the_program_otherwise_than_the_tracer(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """fs_fuse.c: MNT/d/secret.txt is a missing file below the mount to the tracer and the
    secret to the kernel's lookup for the program.  open (one task), link, rename and chmod
    (one task and two), and fopen and ftopen (a program under a seccomp filter of its own,
    whose held opens keep their own call) escaped on main in both loops; topen (held:
    openat2 with RESOLVE_NO_SYMLINKS) was ELOOP already.  Control: natively each reaches the
    secret."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(server, scene, program.name) as mnt:
            env = {**loop, "ESC_SECD": str(scene.secd)}
            outcome = attack(program, mode, mnt, scene.work, scene=scene, env=env,
                             policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)
            assert (scene.secret.stat().st_mode & 0o7777) != 0o604
            assert not (scene.work / "stolen").exists()


def test_a_unix_socket_reached_through_a_fuse_servers_second_answer(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """fs_fuse.c connect: MNT/d/sock is a missing name to the tracer and, to the kernel's
    lookup for the program, the socket a listener outside the tree has in the secret's
    directory, which a ``unix`` rule refuses.  On main the program connected, both loops;
    now the socket path of an address counts as a path on the FUSE mount (refused EACCES).
    Control: natively it connects."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        text = policy(never(["fsread", "fswrite"], path=f"{scene.secd}/**"),
                      never("net-connect", unix=f"{scene.secd}/**")) if traced else None
        with fuse_mount(server, scene, program.name) as mnt, \
                listening(UnixListener(str(scene.secd / "sock"))):
            outcome = attack(program, "connect", mnt, scene.work, scene=scene, env=loop,
                             policy_text=text)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)


def test_a_fuse_file_system_that_answers_alike_is_used_as_natively(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """The same server answering every reader alike ("d" an empty directory for all): a held
    open of a missing name below it gets the kernel's ENOENT, and a listing of the mount is
    the native one, in a tree of one task and of two."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    results = []
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(server, scene, "no-such-comm") as mnt:
            text = secret_policy(scene) if traced else None
            for mode in ("open", "topen"):
                out = attack(program, mode, mnt, scene.work, scene=scene, env=loop,
                             policy_text=text).stdout
                results.append((traced, out.replace(str(scene.root), "ROOT")))
            ls = attack("/bin/ls", "-1a", mnt, mnt / "d", scene=scene, env=loop,
                        policy_text=text)
            results.append((traced, ls.stdout.replace(str(scene.root), "ROOT")))
    native = [out for traced, out in results if not traced]
    under = [out for traced, out in results if traced]
    assert native == under
    assert all("ENOENT" in out for out in native[:2]), native
