"""Close 27: a btrfs snapshot decided as what it exposes, not refused wholesale (issue 11).

Red team 83 refused ``BTRFS_IOC_SNAP_CREATE`` (``_V2``) wherever a rule decides by name: the
kernel copies every file of the source subvolume (the descriptor in the struct) under the new
name, reading none of them.  That refused every snapshot of a subvolume holding nothing a
rule names -- ``btrfs subvolume snapshot``, snapper, a build snapshotting its own scratch
subvolume.  Now the snapshot is decided as a read of every path at and below the source
subvolume's root, by its name in the tracer's view (``Supervisor._snapshot``,
``Table.copy_decision``): it runs where the table grants each of those reads, and is refused
(EPERM) where one is not -- red team 83's attacks stay blocked (test_escape_redteam83.py).
The snapshot's new names are decided too (made by no name a rule was asked about), and so is
a subvolume's creation (``BTRFS_IOC_SUBVOL_CREATE``): as a mkdir of its name, which it was
not (found while closing: ESCAPED on main).
The image is mounted in a directory every user may enter, so that the subvolume's owner can
snapshot it unprivileged too."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    Outcome,
    assert_blocked,
    attack,
    btrfs_subvolume,
    mounted_btrfs,
    native_control,
    never,
    policy,
    world_program,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                                reason="a btrfs image mounted: root, /dev/loop-control")

#: the unprivileged owner of a subvolume (nobody)
OWNER = 65534


@pytest.fixture
def btrfs_world(world_tmp: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``world_tmp/btrfs`` (mode 0755: any user enters it), with a
    subvolume ``clean`` holding ``data.txt`` (the marker the attack program looks for: found,
    the copy was read) and a subvolume ``vault`` holding ``secret.txt``; unmounted after."""
    with mounted_btrfs(world_tmp) as mounted:
        mounted.chmod(0o755)
        btrfs_subvolume(mounted / "clean", "data.txt", SECRET_MAGIC)
        btrfs_subvolume(mounted / "vault", "secret.txt", SECRET_MAGIC)
        (mounted / "out").mkdir()
        yield mounted


def _vault_never(top: Path) -> str:
    return policy(never("fsread", path=f"{top}/vault/secret.txt"))


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_snapshot_of_a_subvolume_holding_no_refused_path_runs(
        build, btrfs_world: Path, version: str, loop: dict[str, str]) -> None:
    """``btrfs_snap.c``: ``clean`` (no rule names a path in it) snapshotted into
    ``out/copy``, whose ``data.txt`` is then read -- under a table that decides by name (the
    vault's reads refused).  Natively it runs; traced too now.  On main 89f9a1d: BLOCKED,
    "BTRFS_IOC_SNAP_CREATE(_V2) ...: EPERM", both loops, both versions."""
    program = build("escape/btrfs_snap.c")
    args = [btrfs_world / "clean", btrfs_world / "out", "copy", "data.txt",
            *(["v1"] if version == "v1" else [])]
    control = attack(program, *args, policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_world / "out" / "copy")],
                   check=True, capture_output=True)
    traced = attack(program, *args, policy_text=_vault_never(btrfs_world), scene=None, env=loop)
    assert traced.verdict == "ESCAPED", f"the snapshot was refused:\n{traced}"


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_snapshot_of_a_subvolume_holding_a_refused_path_stays_refused(
        build, btrfs_world: Path, version: str, loop: dict[str, str]) -> None:
    """The same table, the vault snapshotted: its secret's read is refused, so is the copy
    (EPERM, the snapshot never made) -- natively it reads the secret.  (The vault itself may
    be read: only the secret below it is refused.)"""
    program = build("escape/btrfs_snap.c")
    args = [btrfs_world / "vault", btrfs_world / "out", "copy", "secret.txt",
            *(["v1"] if version == "v1" else [])]
    control = attack(program, *args, policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_world / "out" / "copy")],
                   check=True, capture_output=True)
    traced = attack(program, *args, policy_text=_vault_never(btrfs_world), scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    request = "BTRFS_IOC_SNAP_CREATE_V2" if version == "v2" else "BTRFS_IOC_SNAP_CREATE "
    assert traced.detail.startswith(request) and traced.detail.endswith(": EPERM"), str(traced)
    assert not (btrfs_world / "out" / "copy").exists()


def test_a_snapshot_of_a_subvolume_whose_program_may_not_run_is_refused(
        build, btrfs_world: Path, loop: dict[str, str]) -> None:
    """A program of the subvolume its table may read but not run: the copy keeps its mode
    and owner, and running it is running the program -- refused (EPERM)."""
    program = build("escape/btrfs_snap.c")
    traced = attack(program, btrfs_world / "clean", btrfs_world / "out", "copy", "data.txt",
                    policy_text=policy(never("exec", path=f"{btrfs_world}/clean/data.txt")),
                    scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_its_owner_snapshots_its_own_subvolume_unprivileged(
        build, btrfs_world: Path, world_tmp: Path, loop: dict[str, str]) -> None:
    """``clean`` owned by nobody, snapshotted by nobody (``inode_owner_or_capable``) into a
    directory of its own: natively it runs, traced too now (on main: EPERM)."""
    if shutil.which("setpriv") is None:
        pytest.skip("util-linux's setpriv is needed")
    for path in (btrfs_world / "clean", btrfs_world / "clean" / "data.txt",
                 btrfs_world / "out"):
        os.chown(path, OWNER, OWNER)
    program = world_program(build, world_tmp, "btrfs_snap")
    argv = ["--reuid", str(OWNER), "--regid", str(OWNER), "--clear-groups", program,
            btrfs_world / "clean", btrfs_world / "out", "copy", "data.txt"]
    control = attack("setpriv", *argv, policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_world / "out" / "copy")],
                   check=True, capture_output=True)
    traced = attack("setpriv", *argv, policy_text=_vault_never(btrfs_world), scene=None,
                    env=loop)
    assert traced.verdict == "ESCAPED", f"the snapshot was refused:\n{traced}"


def test_a_source_swapped_after_the_check_is_not_copied(
        build, btrfs_world: Path, loop: dict[str, str]) -> None:
    """``btrfs_snap_race.c``: a thread swaps the struct's descriptor number between
    ``clean``'s root and the vault's with dup2 while the main thread snapshots it.  Natively
    a copy of the vault is read; traced, a snapshot decided on ``clean`` runs with the tree
    frozen and the number compared again (DecodedCall.snapshot_stayed: EAGAIN where it
    changed), one decided on the vault is refused -- and some of ``clean``'s are made."""
    program = build("escape/btrfs_snap_race.c", "-pthread")

    def run(attempt: int, traced: bool) -> Outcome:
        out = btrfs_world / f"race{attempt}{'t' if traced else ''}"
        out.mkdir()
        return attack(program, btrfs_world / "clean", btrfs_world / "vault", out,
                      policy_text=_vault_never(btrfs_world) if traced else None, scene=None,
                      env=loop, timeout=120)

    native_control(lambda attempt: run(attempt, False))
    traced = run(0, True)
    assert_blocked(traced)
    assert not traced.detail.startswith("0 snapshots made"), str(traced)


def test_a_snapshot_is_not_made_where_its_new_names_may_not_be_written(
        build, btrfs_world: Path, loop: dict[str, str]) -> None:
    """``clean`` (nothing in it refused) snapshotted into ``out`` as ``keep``, whose every
    file the table keeps from being written (``never fswrite out/keep/**``, ``out`` itself
    writable): the kernel would write ``out/keep/data.txt`` by no name -- an
    ``authorized_keys`` snapshotted into ``~/.ssh`` so.  Natively it is made and read;
    traced it is refused (EPERM).  (Deciding the source alone let it run: checked by
    passing no new name to Table.copy_decision, both loops ESCAPED.)"""
    program = build("escape/btrfs_snap.c")
    args = [btrfs_world / "clean", btrfs_world / "out", "keep", "data.txt"]
    control = attack(program, *args, policy_text=None, scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_world / "out" / "keep")],
                   check=True, capture_output=True)
    traced = attack(program, *args, scene=None, env=loop, policy_text=policy(
        never("fswrite", path=f"{btrfs_world}/out/keep/**")))
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert not (btrfs_world / "out" / "keep").exists()


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_subvolume_is_not_made_where_a_mkdir_of_it_is_refused(
        build, btrfs_world: Path, version: str, loop: dict[str, str]) -> None:
    """``btrfs_subvol.c``: an empty subvolume made as ``out/keep`` (``out`` writable), whose
    mkdir the table refuses (``never fswrite out/keep/**``) -- it was decided only as the
    fswrite on ``out``.  Natively it is made; traced now refused (EPERM).  **ESCAPED on main
    a6615010, both loops, both versions** (found while closing the snapshot's new names)."""
    program = build("escape/btrfs_subvol.c")
    extra = ["v1"] if version == "v1" else []
    control = attack(program, btrfs_world / "out", "keep", *extra, policy_text=None,
                     scene=None, env=loop)
    assert control.verdict == "ESCAPED", str(control)
    subprocess.run(["btrfs", "subvolume", "delete", str(btrfs_world / "out" / "keep")],
                   check=True, capture_output=True)
    traced = attack(program, btrfs_world / "out", "keep", *extra, scene=None, env=loop,
                    policy_text=policy(never("fswrite", path=f"{btrfs_world}/out/keep/**")))
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert not (btrfs_world / "out" / "keep").exists()


def test_a_subvolume_is_made_where_a_mkdir_of_it_is_not_refused(
        build, btrfs_world: Path, loop: dict[str, str]) -> None:
    """Behaviour kept: ``out/keep`` made where only a file below it is refused to be
    written (``never fswrite out/keep/secret``: a mkdir of ``out/keep`` runs, so does the
    subvolume's creation -- it makes nothing below its name)."""
    program = build("escape/btrfs_subvol.c")
    traced = attack(program, btrfs_world / "out", "keep", scene=None, env=loop,
                    policy_text=policy(never("fswrite", path=f"{btrfs_world}/out/keep/secret")))
    assert traced.verdict == "ESCAPED", str(traced)
