"""Red team 83: btrfs requests that read a subvolume's files by no name.

gap44 and review 30 refused btrfs's send, device add and device replace where a rule decides
by name: each reads or writes files no rule is asked about.  Three more requests do the same
from a descriptor any directory of the file system gives: a snapshot
(``BTRFS_IOC_SNAP_CREATE``, ``_V2``: its source subvolume's descriptor is in its struct, and
every file below it gets a new name in the snapshot -- the owner of the subvolume may make
one, not only root), a tree search (``BTRFS_IOC_TREE_SEARCH``, ``_V2``, CAP_SYS_ADMIN: a
small file's inline extent is its bytes) and ``BTRFS_IOC_INO_PATHS`` (CAP_SYS_ADMIN: the
names of any inode of the subvolume).  Under the scene's policy (default permit, ``never fsread
secd/**``) the first two read the secret, the third the names in ``secd``; the snapshot was
decided only as the fswrite on its directory it also is.  Now all are refused, EPERM, where
a rule decides by name (``kernel.BTRFS_UNNAMED_IOCTLS``, ``Supervisor._decide``).  The scene
lies on a btrfs image the tests mount, in its top-level subvolume."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    attack,
    controlled_and_blocked,
    mounted_btrfs,
    never,
    policy,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                                reason="a btrfs image mounted: root, /dev/loop-control")


@pytest.fixture
def btrfs_top(tmp_path: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``tmp_path/btrfs`` (its top-level subvolume, where the scenes
    are made); unmounted after the test."""
    with mounted_btrfs(tmp_path) as mounted:
        yield mounted


def _secd_never(s: Scene) -> str:
    return policy(never("fsread", path=f"{s.secd}/**"))


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_btrfs_snapshot_of_a_subvolume_holding_a_refused_file_is_refused(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """``btrfs_snap.c``: the top-level subvolume (a directory the table lets be read) is
    snapshotted into ``work/copy`` (a directory it lets be written), and the secret read at
    ``work/copy/SCENE/secd/secret.txt``.  Control: natively the copy holds the secret.
    ESCAPED on main 3076c79, both loops, both versions."""
    program = build("escape/btrfs_snap.c")
    traced, _ = controlled_and_blocked(
        btrfs_top, program,
        lambda s: [btrfs_top, s.work, "copy", f"{s.root.name}/secd/secret.txt",
                   *(["v1"] if version == "v1" else [])],
        _secd_never, env=loop)
    request = "BTRFS_IOC_SNAP_CREATE_V2" if version == "v2" else "BTRFS_IOC_SNAP_CREATE "
    assert traced.detail.startswith(request), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


@pytest.mark.parametrize("mode", ["search", "paths"])
def test_a_btrfs_tree_search_or_inode_paths_are_refused(
        build, btrfs_top: Path, mode: str, loop: dict[str, str]) -> None:
    """``btrfs_search.c``: from ``pubd`` (a directory the table lets be read), a tree search
    of its subvolume finds the secret's inline extent (``search``), and BTRFS_IOC_INO_PATHS
    names the files in ``secd``, whose listing the table refuses (``paths``).  Controls:
    natively each does.  ESCAPED on main 3076c79, both loops, both modes."""
    program = build("escape/btrfs_search.c")
    traced, _ = controlled_and_blocked(
        btrfs_top, program,
        lambda s: [s.pubd, *(["paths", f"{s.root.name}/secd"] if mode == "paths" else [])],
        _secd_never, env=loop)
    request = "BTRFS_IOC_TREE_SEARCH" if mode == "search" else "BTRFS_IOC_INO_PATHS"
    assert traced.detail.startswith(request), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_btrfs_snapshot_runs_where_no_rule_decides_by_name(
        build, btrfs_top: Path, loop: dict[str, str]) -> None:
    """Behaviour kept: under a table that refuses no path (a rule on a call only) the
    snapshot runs, and its copy is read."""
    program = build("escape/btrfs_snap.c")
    scene = Scene.make(btrfs_top, "kept")
    out = attack(program, btrfs_top, scene.work, "copy", "kept/secd/secret.txt",
                 policy_text=policy(never("sethostname")), scene=scene, env=loop)
    assert out.verdict == "ESCAPED", str(out)
