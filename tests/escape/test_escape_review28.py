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
from escape_lib import SECRET_MAGIC, Scene, controlled_and_blocked, permit, policy
from test_escape_redteam49 import SYSTEM, bind_policy, setup_targets

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


def test_a_file_only_written_is_not_read_through_a_loop_device(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """LOOP_SET_FD takes a descriptor open for writing only, and the loop device's reads are
    the file's: a table that writes the secret (no read of it), reads ``/dev/**`` and
    writes the loop devices read it at ``/dev/loopN``.  Control: natively read.  ESCAPED on
    main 6c24f83 and 21fe4ac, both loops (known gap #44); now the attach is decided as an
    open of the file for reading and writing: refused, EPERM (gap44)."""
    program = build("escape/loop_wo.c")

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        return policy(*start, permit("fswrite", path=str(s.secret)),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"),
                      default="never")

    def sectors(s: Scene) -> None:
        # (a loop device is the file's whole 512-byte sectors: the secret, then zeros)
        s.secret.write_bytes(f"{SECRET_MAGIC}\n".encode().ljust(4096, b"\0"))

    traced, _ = controlled_and_blocked(tmp_path, program, lambda s: [s.secret], rules,
                                       setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
