"""Close 31: a btrfs subvolume's deletion decided as the removal of its every path (review 59).

``BTRFS_IOC_SNAP_DESTROY`` (``_V2``) deletes the subvolume at the name in its struct, with
every file in it; ``_V2`` with ``BTRFS_SUBVOL_SPEC_BY_ID`` names it by its id alone.  Review
59's tests (test_escape_review59.py) show the vault deleted where none of its files may be
removed; these show what is kept and what else is closed: a clean subvolume is still deleted
by name under a table that keeps the vault, and a table that refuses only the vault's
``unlinkat`` (no ``fswrite``, so the filter did not stop the request as a file-changing
ioctl) keeps it too.  The image is mounted as review 59's tests mount it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    attack,
    btrfs_subvolume,
    mounted_btrfs,
    never,
    policy,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                                reason="a btrfs image mounted: root, /dev/loop-control")

#: the table's own control: the secret removed by its name (refused under the table)
REMOVE = ('rm -f "$1" 2>/dev/null; if [ -e "$1" ]; then echo "BLOCKED: $1 kept"; '
          'else echo "ESCAPED: removed $1"; fi')


@pytest.fixture
def btrfs_top(world_tmp: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``world_tmp/btrfs``, subvolumes ``vault`` (``secret.txt``)
    and ``clean`` (``data.txt``), and a plain directory ``out``; unmounted after."""
    with mounted_btrfs(world_tmp) as mounted:
        btrfs_subvolume(mounted / "vault", "secret.txt", SECRET_MAGIC)
        btrfs_subvolume(mounted / "clean", "data.txt", "data")
        (mounted / "out").mkdir()
        yield mounted


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_subvolume_holding_nothing_kept_is_deleted_by_name(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """Behaviour kept: under ``never fswrite vault, vault/**`` the subvolume ``clean`` (none
    of whose files a rule keeps) is deleted by name from its parent, both versions
    (``btrfs_destroy.c`` says ESCAPED when the file named is gone: here, that it ran)."""
    program = build("escape/btrfs_destroy.c")
    table = policy(never("fswrite", path=f"{btrfs_top}/vault"),
                   never("fswrite", path=f"{btrfs_top}/vault/**"))
    data = btrfs_top / "clean" / "data.txt"
    traced = attack(program, btrfs_top, "clean", data, *(["v1"] if version == "v1" else []),
                    policy_text=table, scene=None, env=loop)
    assert traced.verdict == "ESCAPED", str(traced)
    assert not data.exists() and (btrfs_top / "vault" / "secret.txt").exists()


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_subvolume_is_not_deleted_where_only_its_unlinks_are_refused(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """``never unlinkat vault/**`` (no fswrite rule: the request is no call a rule names, and
    the filter did not stop it as a file-changing ioctl): the vault deleted by name must be
    refused as its files' removal -- the request is stopped by the guard whatever the table
    says of fswrite.  Natively (review 59's control) the secret is gone."""
    program = build("escape/btrfs_destroy.c")
    secret = btrfs_top / "vault" / "secret.txt"
    table = policy(never(["unlinkat", "unlink", "rmdir"], path=f"{btrfs_top}/vault/**"))
    direct = attack("sh", "-c", REMOVE, "sh", secret, policy_text=table, scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not keep the secret:\n{direct}"
    traced = attack(program, btrfs_top, "vault", secret, *(["v1"] if version == "v1" else []),
                    policy_text=table, scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert secret.exists()
