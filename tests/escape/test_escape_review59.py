"""Review 59: close 27's btrfs snapshot decision, attacked (read only: these tests fail on main).

Close 27 decides ``BTRFS_IOC_SNAP_CREATE`` (``_V2``) as a read of every path at and below the
source subvolume (``Table.copy_decision``), with a rule of no path taken as a ``permit``
there (``model._as_copied``): "it matches a file's every name alike, so whatever it decides
of the source it decides of the copy by the copy's names".  That holds for the rule alone,
not for the table: a path rule *before* it may grant the copy's names what the rule of no
path refuses the source's.  A table that lets the program read its output directory and
nothing else (``permit openat OUT/**`` then ``never openat``, default permit for the rest)
lets a snapshot of the vault be made into OUT, where the secret is then read by a name the
first rule grants.  The image is mounted as close 27's tests mount it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    attack,
    btrfs_subvolume,
    mounted_btrfs,
    never,
    permit,
    policy,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                                reason="a btrfs image mounted: root, /dev/loop-control")

#: the table's own control: the secret read by its name (refused under the table)
READ = (f'if cat "$1" | grep -q {SECRET_MAGIC}; then echo "ESCAPED: read $1"; '
        'else echo "BLOCKED: $1 not read"; fi')
#: ... and the secret removed by its name (refused under the table)
REMOVE = ('rm -f "$1" 2>/dev/null; if [ -e "$1" ]; then echo "BLOCKED: $1 kept"; '
          'else echo "ESCAPED: removed $1"; fi')

#: what the program itself needs to be opened (its libraries, its own directory)
SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


@pytest.fixture
def btrfs_top(world_tmp: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``world_tmp/btrfs`` with a subvolume ``vault`` holding
    ``secret.txt`` and a plain directory ``out``; unmounted after."""
    with mounted_btrfs(world_tmp) as mounted:
        btrfs_subvolume(mounted / "vault", "secret.txt", SECRET_MAGIC)
        (mounted / "out").mkdir()
        yield mounted


def _only_out_readable(top: Path, program: Path) -> str:
    """Opens granted for the program's own files, the vault's directory itself (opened as the
    snapshot's source) and everything below ``out``; every other open refused by a rule of no
    path -- the vault's secret among them."""
    rules = [permit("openat", path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit("openat", path=p) for p in (f"{top}/vault", f"{top}/out",
                                                 f"{top}/out/**")]
    return policy(*rules, never("openat"))


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_snapshot_is_refused_where_a_rule_of_no_path_refuses_its_source(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """``btrfs_snap.c``: the vault snapshotted into ``out/copy``, then ``out/copy/secret.txt``
    opened.  Natively the secret is read.  Traced, the vault's secret may not be opened
    (``never openat``, no path) but ``out/**`` may: the snapshot must be refused -- on main
    2010bd92 it runs (``_as_copied`` took the rule of no path as a permit for the source)
    and the secret is read by the copy's name, ESCAPED, both loops, both versions."""
    program = build("escape/btrfs_snap.c")
    args = [btrfs_top / "vault", btrfs_top / "out", "copy", "secret.txt",
            *(["v1"] if version == "v1" else [])]
    control = attack(program, *args, policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_top / "out" / "copy")],
                   check=True, capture_output=True)
    table = _only_out_readable(btrfs_top, program)
    direct = attack("sh", "-c", READ, "sh", btrfs_top / "vault" / "secret.txt",
                    policy_text=table, scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not keep the secret:\n{direct}"
    traced = attack(program, *args, policy_text=table, scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert not (btrfs_top / "out" / "copy").exists()


def _subvolume_id(path: Path) -> str:
    return subprocess.run(["btrfs", "inspect-internal", "rootid", str(path)], check=True,
                          capture_output=True, text=True).stdout.strip()


def _make_vault(top: Path) -> None:
    subprocess.run(["btrfs", "subvolume", "create", str(top / "vault")], check=True,
                   capture_output=True)
    (top / "vault" / "secret.txt").write_text(SECRET_MAGIC + "\n")


@pytest.mark.parametrize("version", ["v2", "v1", "id"])
def test_a_subvolume_is_not_deleted_where_its_files_may_not_be_removed(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """``btrfs_destroy.c``: the vault (``never fswrite vault, vault/**``: none of its files may
    be written or removed) deleted whole by ``BTRFS_IOC_SNAP_DESTROY`` (``_V2``) on a
    directory the table lets be written -- its parent by name, or ``out`` with the vault
    named by its id alone (``BTRFS_SUBVOL_SPEC_BY_ID``).  Natively the secret is gone;
    traced it must stay.  Close 27 decided a subvolume's creation as a mkdir of its name;
    its deletion is still only the ``fswrite`` on the ioctl's directory: on main 2010bd92
    ESCAPED (the vault deleted)."""
    program = build("escape/btrfs_destroy.c")
    secret = btrfs_top / "vault" / "secret.txt"

    def args() -> list[object]:
        if version == "id":
            return [btrfs_top / "out", "-", secret, "id", _subvolume_id(btrfs_top / "vault")]
        return [btrfs_top, "vault", secret, *(["v1"] if version == "v1" else [])]

    control = attack(program, *args(), policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    _make_vault(btrfs_top)
    table = policy(never("fswrite", path=f"{btrfs_top}/vault"),
                   never("fswrite", path=f"{btrfs_top}/vault/**"))
    direct = attack("sh", "-c", REMOVE, "sh", secret, policy_text=table, scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not keep the secret:\n{direct}"
    traced = attack(program, *args(), scene=None, env=loop, policy_text=table)
    assert traced.verdict == "BLOCKED", str(traced)
    assert secret.exists()
