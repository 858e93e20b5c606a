"""Review 74: a ``-d`` directory shared with another user (close 46 reads every file of it,
whoever owns it) holding a FIFO named ``*.toml``.  FAILS on main (57223f88): the run waits
for good in ``load_policy``'s plain ``open`` before the command starts."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from conftest import UNPRIVILEGED_USER, run_systrace


def test_another_users_fifo_in_a_shared_policy_directory_does_not_hold_the_run(
        tmp_path: Path) -> None:
    """A sticky, world-writable ``pol`` (``/tmp``-like), the person's ``p.toml`` there, and
    another user's FIFO ``a.toml``: ``-p pol/p.toml -d pol -- true`` ends -- it runs, or
    refuses to start naming the FIFO -- instead of waiting for a writer that never comes."""
    directory = tmp_path / "pol"
    directory.mkdir()
    directory.chmod(0o1777)
    (directory / "p.toml").write_text('version = 1\ndefault = "permit"\n')
    fifo = directory / "a.toml"
    os.mkfifo(fifo)
    stranger = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(fifo, stranger.pw_uid, stranger.pw_gid)
    try:
        result = run_systrace(["-p", str(directory / "p.toml"), "-d", str(directory), "--",
                               "true"], cwd=tmp_path, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run waited on another user's FIFO a.toml") from None
    assert result.returncode == 0 or "a.toml" in result.stderr, result.stderr
