"""Close 49 (review 74): a FIFO where a policy file is read -- the person's ``-p`` file or
a file of a ``-d`` directory -- is a load error naming it (exit 2, before the command),
never a wait.  Both FAIL on main (7181e599): the run waits in ``load_policy``'s ``open``."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from conftest import UNPRIVILEGED_USER, run_systrace

SAID = "not a regular file (a FIFO): a policy is read only from a file, never waited for"


def _ends(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return run_systrace(args, cwd=cwd, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run waited on a FIFO") from None


def test_a_fifo_named_by_p_is_a_load_error_naming_it(tmp_path: Path) -> None:
    """``-p x.toml`` where a FIFO stands (a program that may write the directory made it:
    close 43's "what remains"): exit 2 naming it, the command not run."""
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    marker = tmp_path / "ran"
    result = _ends(["-p", str(fifo), "--", "touch", str(marker)], tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"systrace: {fifo}: {SAID}\n"
    assert not marker.exists()


def test_another_users_fifo_in_a_d_directory_is_a_load_error_naming_it(
        tmp_path: Path) -> None:
    """A sticky shared ``pol``, the person's ``p.toml`` and another user's FIFO ``a.toml``:
    ``-p pol/p.toml -d pol`` refuses to start, naming the FIFO (a ``-d`` run's files are
    the person's: an error, as for a stranger's malformed file there), at once."""
    directory = tmp_path / "pol"
    directory.mkdir()
    directory.chmod(0o1777)
    (directory / "p.toml").write_text('version = 1\ndefault = "permit"\n')
    fifo = directory / "a.toml"
    os.mkfifo(fifo)
    stranger = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(fifo, stranger.pw_uid, stranger.pw_gid)
    marker = tmp_path / "ran"
    result = _ends(["-p", str(directory / "p.toml"), "-d", str(directory), "--",
                    "touch", str(marker)], tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{fifo}: {SAID}" in result.stderr
    assert not marker.exists()
