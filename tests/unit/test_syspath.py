"""The sys.path scrub (systrace_py.syspath, red team 3 of issue 11): every entry that names
the working directory goes, whatever name it has, and nothing else does.  The scrub compares
existing entries by device and inode since the tenth start-up pass (issue 16); these are the
cases the real-path comparison it replaced answered, and one it missed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from systrace_py import syspath


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A working directory and an unrelated one, sys.path restored afterwards."""
    cwd, other = tmp_path / "cwd", tmp_path / "other"
    cwd.mkdir()
    other.mkdir()
    monkeypatch.setattr(sys, "path", list(sys.path))
    return cwd, other


def test_every_name_of_the_directory_goes_and_nothing_else(scene: tuple[Path, Path]) -> None:
    cwd, other = scene
    (cwd.parent / "link").symlink_to(cwd)
    kept = [str(other), sys.path[-1], str(cwd / "missing")]
    sys.path[:] = [
        str(cwd), "", ".", "relative/dir",           # the directory itself, relative entries
        str(cwd.parent / "link"),                    # another name of it: a symlink
        f"{other}/../cwd", f"{cwd}/",                # spelt otherwise
        f"{cwd.parent}/missing/../cwd",              # through a name that is not there
        *kept]
    syspath.forget_directory(str(cwd))
    assert sys.path == kept


def test_an_entry_not_there_stays_unless_it_would_name_the_directory(
        scene: tuple[Path, Path]) -> None:
    """``/missing/../cwd``: the kernel finds nothing there now, but once ``missing`` is made
    it resolves to the directory -- compared by its real path, as before."""
    cwd, other = scene
    sys.path[:] = [f"{other}/missing/../../cwd", f"{other}/missing/../x", f"{other}/gone"]
    syspath.forget_directory(str(cwd))
    assert sys.path == [f"{other}/missing/../x", f"{other}/gone"]


def test_a_removed_working_directory_names_nothing(scene: tuple[Path, Path]) -> None:
    """__main__ passes "" when the working directory was removed: only relative entries go."""
    _cwd, other = scene
    sys.path[:] = [str(other), "", "rel"]
    syspath.forget_directory("")
    assert sys.path == [str(other)]


@pytest.mark.skipif(os.geteuid() != 0, reason="a bind mount needs root")
def test_a_bind_mount_of_the_directory_goes_too(scene: tuple[Path, Path]) -> None:
    """Another name the real path does not see: the same directory mounted elsewhere (the
    real-path comparison kept it)."""
    cwd, other = scene
    mounted = subprocess.run(["unshare", "-m", sys.executable, "-c", f"""
import os, subprocess, sys
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["mount", "--bind", {str(cwd)!r}, {str(other)!r}], check=True)
sys.path[:] = [{str(other)!r}, "/"]
from systrace_py import syspath
syspath.forget_directory({str(cwd)!r})
print(sys.path)
"""], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in sys.path if p)})
    if mounted.returncode != 0 and "mount" in mounted.stderr:
        pytest.skip(f"no bind mount here: {mounted.stderr.strip()[-200:]}")
    assert mounted.returncode == 0, mounted.stderr
    assert mounted.stdout.strip() == "['/']"
