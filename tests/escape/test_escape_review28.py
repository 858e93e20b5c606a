"""Review 28: a file system image mounted from a regular file (erofs backed by a file, Linux
6.12+) shows the image's files at the mount's target -- as a bind shows its source, a block
device its other mounts' trees (review 27) -- but the image's path ("source") was decided only
as a device's name: a table that reads ``work/**`` and grants the image nothing (its default)
mounted ``secd/secret.img`` on ``work/outdir`` and read the secret in it there.  The program
never opens the image (the kernel does): nothing else decides it.
fs_linked_bind.c's ``device`` mode; a native control; both stop loops."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, Scene, controlled_and_blocked
from test_escape_redteam49 import bind_policy, setup_targets

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root"),
    pytest.mark.skipif(shutil.which("mkfs.erofs") is None, reason="no mkfs.erofs"),
]


def setup_image(s: Scene) -> None:
    setup_targets(s)
    tree = s.root / "imagetree"
    tree.mkdir()
    (tree / "secret.txt").write_text(f"{SECRET_MAGIC}\n")
    subprocess.run(["mkfs.erofs", "--quiet", str(s.secd / "secret.img"), str(tree)],
                   check=True, capture_output=True)
    shutil.rmtree(tree)


@pytest.mark.parametrize("mode", ["device", "fsdevice"])
def test_a_file_backed_image_mounted_gives_its_files_no_access_by_new_names(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively the secret is read at ``work/outdir/secret.txt``.  Under the table:
    the mount (mount(2); the new API's fsconfig naming the image) is refused, EPERM
    (ESCAPED on main 6c24f83, both loops, both modes)."""
    program = build("escape/fs_linked_bind.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [mode, "root", s.secret, s.work, s.secd / "secret.img", "erofs",
                   "secret.txt"],
        lambda s: bind_policy(s, program, stat_secret=False), setup=setup_image, env=loop)
    assert traced.detail.startswith(("mount ", "fsconfig source ", "move_mount ")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
