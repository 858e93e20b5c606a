"""Review 32: an erofs mount(2) given fscache's options (``fsid=``, ``domain_id=``) takes its
data from the blob a cookie names -- cached by any earlier mount, another image's too, or
served by a cachefiles daemon (CONFIG_EROFS_FS_ONDEMAND) --, not from the file its source
names, which mounts29 decides as the image read.  Refused where a rule decides by name, as a
type whose options the engine cannot read.  This machine's kernel is built without
ONDEMAND (it ignores the two options: the image is mounted, natively and on main): the test
is of the decision, not an escape here.  fs_linked_bind.c's ``device`` mode with
ATTACK_MOUNT_DATA; both stop loops."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, attack, never
from test_escape_review28 import one_rule, setup_image

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root"),
    pytest.mark.skipif(shutil.which("mkfs.erofs") is None, reason="no mkfs.erofs"),
]


@pytest.mark.parametrize("data", ["fsid=img", "domain_id=d,fsid=img", "ro,domain_id=d"])
def test_an_erofs_mount_over_fscache_is_refused_where_a_rule_decides_by_name(
        build, tmp_path: Path, data: str, loop: dict[str, str]) -> None:
    """A permit-default table with one path rule (on ``pubd``), which mounts29 lets mount
    and read the image (test_a_file_backed_image_the_table_may_read_is_mounted): given
    ``fsid``/``domain_id`` the mount is refused, EPERM (on main 85820bd: ESCAPED -- the
    mount ran, both loops)."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_image(s)
    traced = attack(program, "device", "root", s.secret, s.work, s.secd / "secret.img",
                    "erofs", "secret.txt", policy_text=one_rule(s, never(
                        "fsread", path=f"{s.pubd}/**")),
                    scene=s, env={**loop, "ATTACK_MOUNT_DATA": data})
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.startswith("mount ") and traced.detail.endswith(": EPERM"), \
        str(traced)


def test_an_erofs_mount_without_fscache_options_still_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Options that name no blob (``ro``, ``user_xattr``) leave mounts29's decision: the
    same table mounts the image and reads it."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_image(s)
    traced = attack(program, "device", "root", s.secret, s.work, s.secd / "secret.img",
                    "erofs", "secret.txt", policy_text=one_rule(s, never(
                        "fsread", path=f"{s.pubd}/**")),
                    scene=s, env={**loop, "ATTACK_MOUNT_DATA": "ro,user_xattr"})
    assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)
