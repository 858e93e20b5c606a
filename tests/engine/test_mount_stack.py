"""The mount a mount or an unmount acts on (decode._top_of_stack, _same_root): the top of the
mounts stacked on the file, read from a mount table whose paths are relative to the root of
the task it was read with -- so only for a task with that root (review 26: a task that
chrooted in its namespace spells its paths from another root)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from systrace_py.engine.decode import _same_root, _top_of_stack
from systrace_py.views import MountEntry


def entry(mount_id: int, parent: int, point: str, shared: bool = False) -> MountEntry:
    return MountEntry(mount_id, parent, (0, mount_id), "/", point, "tmpfs", "none", shared)


def test_the_top_of_the_stack_is_the_last_child_shown_at_the_same_path() -> None:
    mounts = {m.mount_id: m for m in (entry(70, 47, "/"), entry(48, 70, "/"),
                                      entry(90, 48, "/", shared=True), entry(91, 48, "/tmp"))}
    assert _top_of_stack(mounts, mounts[70], "/").mount_id == 90
    assert _top_of_stack(mounts, mounts[48], "/").mount_id == 90
    assert _top_of_stack(mounts, mounts[91], "/tmp").mount_id == 91  # (nothing on it)
    assert _top_of_stack(mounts, mounts[70], "/work").mount_id == 70  # (another file)


def test_only_a_task_with_the_readers_root_is_judged_by_its_table(tmp_path: Path) -> None:
    """A child with our root: the same root.  A child that chrooted: another (root only)."""
    assert _same_root(os.getpid(), os.getpid())
    plain = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _same_root(plain.pid, os.getpid())
    finally:
        plain.kill()
        plain.wait()
    if os.geteuid() != 0:
        pytest.skip("chroot needs root")
    script = ("import os, sys, time; os.chroot(sys.argv[1]); os.chdir('/'); print('in', "
              "flush=True); time.sleep(30)")
    jailed = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert jailed.stdout is not None and jailed.stdout.readline().startswith("in")
        assert not _same_root(jailed.pid, os.getpid())
    finally:
        jailed.kill()
        jailed.wait()
    assert not _same_root(jailed.pid, os.getpid())  # (gone: cannot tell)
