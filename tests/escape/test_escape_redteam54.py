"""Red team 54: an outsider at the native stop loop as native code, and at the hand-over
between it and Python (docs/security.md, "Red team 54").  Two writers of a task's memory that
are no task of the tree, each rewriting a path argument of a task alone, unheld, between the
tracer's read and the kernel's: a loop device, and the tracer's own resolver thread.

A loop device is a writer of its backing file that is no task of the tree: what the tree
writes to /dev/loopN reaches the file's page cache when the loop driver's worker (a kernel
thread) writes the device's pages back, and a clean page of a MAP_PRIVATE mapping of the file
shows it -- while the program runs no instruction.  A task alone had its path arguments read
at the stop and read again by the kernel, unheld: ``loop_flip.c`` keeps the path it opens in
such a page and has the device turn ``pubd`` (the decoy's directory) into ``secd`` (the
secret's) behind it.  Now a loop attach (LOOP_SET_FD, LOOP_CHANGE_FD, LOOP_CONFIGURE) makes
every address space of the tree count as written anywhere for the rest of the run
(syscalls.py, ioctl's ``shares``): the path is held, and the kernel opens what was checked.

The resolver's threads (names.py) write files while the tree runs, at times the tree chooses:
each query they handled -- the log's record, -v's "refused resolving NAME" on stderr.  A
stderr that is a file the tree may read is such a page too: ``dns_tail.c`` keeps a path in the
tail of its stderr, mapped, and sends a query for a refused name just before it opens that
tail; the line the thread appends makes the kernel open a longer name, a symlink to the
secret.  Now a monitor whose threads write so (``Supervisor.writes_beside``: the resolver runs)
has even a task alone held (Tracer._reached_from_outside).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    _verdict,
    controlled_and_blocked,
    never,
    policy,
    read_never,
    scene_env,
)

loop_devices = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
    reason="loop devices: root, /dev/loop-control")

#: flips of the mapped word (each way) under systrace: main escaped within 13 in every run
#: (both loops); ~1 s a run with the path held
ROUNDS = 30


@loop_devices
def test_a_path_in_a_private_mapping_a_loop_device_rewrites_is_held(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``loop_flip.c``: one task opens a path kept in a clean page of a MAP_PRIVATE mapping
    of its own file, attached to a loop device whose writeback turns the path from the
    decoy's into the secret's.  Natively the open reaches the secret (the page changed
    behind the program); under systrace, on both loops, every open is decided on the path
    the kernel then opens: the decoy, or refused -- never the secret.  ESCAPED on main
    (67ace9b), both loops, within 1-13 rounds."""
    program = build("escape/loop_flip.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.decoy, ROUNDS],
        lambda s: read_never(f"{s.secd}/**"), env=loop)
    assert "no open gave the secret" in traced.detail, traced


def test_a_loop_attach_is_noted_as_a_writer_of_every_address_space() -> None:
    """The filter stops the attach requests (the guard and the shares' cases), and the
    tracer notes each as a writer of the whole tree (``tree``), USERFAULTFD_IOC_NEW as the
    userfaultfd call (its process's memory only)."""
    from systrace_py.engine.seccomp import shares_memory
    from systrace_py.kernel import LOOP_ATTACH_IOCTLS, USERFAULTFD_IOC_NEW

    for request, _ in LOOP_ATTACH_IOCTLS:
        noted = shares_memory("ioctl", (3, request | 0xFFFF_FFFF_0000_0000, 4, 0, 0, 0))
        assert noted is not None and noted.tree and noted.anywhere, request
    noted = shares_memory("ioctl", (3, USERFAULTFD_IOC_NEW, 0, 0, 0, 0))
    assert noted is not None and noted.anywhere and not noted.tree
    assert shares_memory("ioctl", (3, 0x5401, 0, 0, 0, 0)) is None  # (TCGETS)


def test_scene_names_differ_in_one_word(tmp_path: Path) -> None:
    """loop_flip.c turns the four bytes after the decoy's parent's parent: the scene's
    secret and decoy directories are names of one length there."""
    s = Scene.make(tmp_path)
    assert str(s.decoy).replace("/pubd/", "/secd/") == str(s.secret)


#: dns_tail.c's tries under systrace: main escaped within 7 in every run; ~1.5 s held
TRIES = 60


def _tail_run(program: Path, s: Scene, traced: bool) -> tuple[str, str]:
    """dns_tail.c in the scene's work directory, its stderr a file there: (verdict, detail)."""
    err = s.work / "stderr.log"
    env = scene_env(s, ESC_SECRET=str(s.secret))
    argv = [str(program), "a.bad", str(TRIES)]
    if traced:
        rules = policy(never("net-connect", host=["*.bad"]),
                       never("fsread", path=f"{s.secd}/**"))
        (s.root / "policy.toml").write_text(rules)
        argv = [*SYSTRACE, "-v", "-p", str(s.root / "policy.toml"), "--", *argv]
    else:
        env["NATIVE"] = "1"
    with open(err, "wb") as stderr:
        done = subprocess.run(argv, cwd=s.work, env=env, stdout=subprocess.PIPE, stderr=stderr,
                              stdin=subprocess.DEVNULL, text=True, timeout=60,
                              start_new_session=True)
    return _verdict(done.stdout)


def test_a_path_in_a_file_the_resolvers_thread_appends_to_is_held(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """``dns_tail.c``: one task keeps a path in the tail of its stderr (a file, -v), mapped
    MAP_PRIVATE, and opens it just after a query for a name a host rule refuses; the
    resolver's thread appends "systrace: refused resolving a.bad: ..." meanwhile, and the
    longer name is a symlink to the secret.  Natively the program appends the line itself
    (the kernel opens the longer name); under systrace the tail is held: the decoy, or the
    longer name refused -- never the secret.  ESCAPED on main (67ace9b) within 7 tries."""
    program = build("escape/dns_tail.c")
    verdict, detail = _tail_run(program, Scene.make(tmp_path, "control"), False)
    if verdict == "SKIPPED":
        pytest.skip(detail)
    assert verdict == "ESCAPED", f"the technique fails even without systrace: {detail}"
    verdict, detail = _tail_run(program, Scene.make(tmp_path, "traced"), True)
    assert verdict == "BLOCKED", (verdict, detail)
    assert "no open gave the secret" in detail, detail
