"""Review 62: close 31 read as an attacker (a subvolume's deletion under a table whose
removal rules name no path).

``Supervisor._decide`` asks ``_destroy`` (a btrfs subvolume's deletion decided as the removal
of DIR/NAME and every path below it) only where ``Table.decides_by_name()``.  A table whose
only refusals are rules of no path -- ``never unlink, unlinkat, rmdir``: the program may
remove no file at all -- decides nothing *by name*, so the deletion is never decided as a
removal: the guard stops the request, the table is asked only of the ioctl (``fswrite`` on
the descriptor's directory, which it permits), and the subvolume is deleted with every file
in it.  A rule of no path "decides the copy's names as the source's" (close 27's argument for
a snapshot) does not carry over: a deletion removes files, which such a rule refuses whatever
their names.  The image is mounted as close 31's tests mount it."""

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

#: the table's own control: the secret removed by its name (refused under the table)
REMOVE = ('rm -f "$1" 2>/dev/null; if [ -e "$1" ]; then echo "BLOCKED: $1 kept"; '
          'else echo "ESCAPED: removed $1"; fi')
REMOVE_CALLS = ["unlinkat", "unlink", "rmdir"]


@pytest.fixture
def btrfs_top(world_tmp: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``world_tmp/btrfs``, subvolume ``vault`` (``secret.txt``)
    and a plain directory ``out``; unmounted after."""
    with mounted_btrfs(world_tmp) as mounted:
        btrfs_subvolume(mounted / "vault", "secret.txt", SECRET_MAGIC)
        (mounted / "out").mkdir()
        yield mounted


def _subvolume_id(path: Path) -> str:
    shown = subprocess.run(["btrfs", "inspect-internal", "rootid", str(path)], check=True,
                           capture_output=True, text=True)
    return shown.stdout.strip()


TABLES = {
    # the program may remove no file, by any name
    "no-path": lambda top: policy(never(REMOVE_CALLS)),
    # the same, before a rule naming a path (decides_by_name: a refusing rule of no path
    # before every path rule still "decides nothing by name")
    "no-path-then-path": lambda top: policy(never(REMOVE_CALLS),
                                            permit("openat", path=f"{top}/out/**")),
}


@pytest.mark.parametrize("table_name", sorted(TABLES))
@pytest.mark.parametrize("version", ["v2", "v1", "id"])
def test_a_subvolume_is_not_deleted_where_no_file_may_be_removed(
        build, btrfs_top: Path, version: str, table_name: str,
        loop: dict[str, str]) -> None:
    """``never unlink, unlinkat, rmdir`` with no path: ``rm`` of the secret is BLOCKED (the
    control), yet ``btrfs_destroy.c`` deletes the vault (by name, v2 and v1, from its parent;
    by id from ``out``).  Natively (review 59's control) the secret is gone.  ESCAPED on
    main 67cd5b90, 12 of 12 (both loops, both tables, v2|v1|id)."""
    program = build("escape/btrfs_destroy.c")
    secret = btrfs_top / "vault" / "secret.txt"
    table = TABLES[table_name](btrfs_top)
    direct = attack("sh", "-c", REMOVE, "sh", secret, policy_text=table, scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not keep the secret:\n{direct}"
    if version == "id":
        args: list[object] = [btrfs_top / "out", "vault", secret, "id",
                              _subvolume_id(btrfs_top / "vault")]
    else:
        args = [btrfs_top, "vault", secret, *(["v1"] if version == "v1" else [])]
    traced = attack(program, *args, policy_text=table, scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    assert secret.exists()


#: the run makes vault/x (its own: a ``fresh`` permit covers it), then loses it -- by ``rm``
#: (the control: the note forgotten) or by deleting the subvolume that holds it -- and, once
#: an outsider has put its own file at that name ("ready"), reads it
FRESH = ('echo mine > "$2/vault/x" || exit 1; '
         'if [ "$3" = rm ]; then rm -f "$2/vault/x"; else "$1" "$2" vault "$2/vault/x" '
         '>/dev/null; fi; : > "$2/lost"; '
         'i=0; while [ ! -e "$2/vault/ready" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); '
         f'done; if grep -q {SECRET_MAGIC} "$2/vault/x" 2>/dev/null; then '
         'echo "ESCAPED: read an outsider\'s file as the run\'s own"; '
         'else echo "BLOCKED: the outsider\'s file kept"; fi')


def _outsider(top: Path, found: list[bool]) -> None:
    """Another process's file put where the run's was, once the run's is gone ("lost");
    ``found``: whether the run's file was still there (its removal failed)."""
    import time
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not (top / "lost").exists():
        time.sleep(0.05)
    found.append((top / "vault" / "x").exists())
    (top / "vault").mkdir(exist_ok=True)
    (top / "vault" / "x").write_text(SECRET_MAGIC + "\n")
    (top / "vault" / "ready").write_text("")


@pytest.mark.parametrize("how", ["rm", "destroy"])
def test_a_deleted_subvolume_leaves_no_fresh_note_of_the_run(
        build, btrfs_top: Path, how: str, loop: dict[str, str]) -> None:
    """``permit openat vault/** fresh`` then ``never openat vault/**``: the run's own file
    vault/x is readable; once it is gone, a file another process puts at that name is not
    the run's (docs/policy.md: "A name removed ... is forgotten").  ``rm`` (the control,
    stopped: a rule looks at its path) forgets the note: BLOCKED.  A subvolume's deletion
    (BTRFS_IOC_SNAP_DESTROY_V2, close 31) removes vault/x with no remove call: the note
    stays, and the outsider's file is read as the run's own (ESCAPED on main 67cd5b90,
    both loops)."""
    import threading
    program = build("escape/btrfs_destroy.c")
    # (the removals stopped -- a rule looks at their path -- so that rm forgets the note:
    # test_escape_review62_fresh.py shows an unstopped rm does not)
    table = policy(permit("openat", path=f"{btrfs_top}/vault/**", fresh=True),
                   never("openat", path=f"{btrfs_top}/vault/**"),
                   permit(["unlinkat", "unlink"], path=f"{btrfs_top}/vault/**"))
    found: list[bool] = []
    outsider = threading.Thread(target=_outsider, args=(btrfs_top, found))
    outsider.start()
    try:
        traced = attack("sh", "-c", FRESH, "sh", program, btrfs_top, how, policy_text=table,
                        scene=None, env=loop, timeout=40)
    finally:
        outsider.join()
    assert found == [False], f"the run's own file was not removed:\n{traced}"
    assert traced.verdict == "BLOCKED", str(traced)


#: the table's own control: a directory made by its name (refused under the table)
MKDIR = ('mkdir "$1" 2>/dev/null; if [ -d "$1" ]; then echo "ESCAPED: made $1"; '
         'else echo "BLOCKED: $1 not made"; fi')
MAKE_CALLS = ["mkdir", "mkdirat"]


@pytest.mark.parametrize("shape", ["no-path", "path"])
@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_subvolume_is_not_made_where_no_directory_may_be_made(
        build, btrfs_top: Path, version: str, shape: str, loop: dict[str, str]) -> None:
    """``never mkdir, mkdirat`` (of every name, or of ``out/keep`` only; no ``fswrite`` rule):
    ``mkdir out/keep`` is BLOCKED (the control), and ``btrfs_subvol.c`` must not make
    ``out/keep`` as a subvolume either (close 27 decided the creation as a mkdir of its name
    only where a rule decides by name, and only when the filter stops the request)."""
    program = build("escape/btrfs_subvol.c")
    keep = btrfs_top / "out" / "keep"
    table = policy(never(MAKE_CALLS, **({"path": str(keep)} if shape == "path" else {})))
    direct = attack("sh", "-c", MKDIR, "sh", keep, policy_text=table, scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not refuse the mkdir:\n{direct}"
    traced = attack(program, btrfs_top / "out", "keep", *(["v1"] if version == "v1" else []),
                    policy_text=table, scene=None, env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
    assert not keep.exists()


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_snapshot_is_not_made_where_no_directory_may_be_made(
        build, btrfs_top: Path, version: str, loop: dict[str, str]) -> None:
    """``never mkdir, mkdirat`` (no path: the program may make no directory): ``mkdir`` is
    BLOCKED (the control), yet ``btrfs_snap.c`` makes ``out/copy`` -- a directory and a copy
    of every file of the vault -- since the table "decides nothing by name" and
    ``Supervisor._snapshot`` is not asked (the copy's making, ``made_accesses``, is never
    compared).  The copy's contents are readable here anyway: what escapes is the making."""
    program = build("escape/btrfs_snap.c")
    copy = btrfs_top / "out" / "copy"
    table = policy(never(MAKE_CALLS))
    direct = attack("sh", "-c", MKDIR, "sh", btrfs_top / "out" / "other", policy_text=table,
                    scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not refuse the mkdir:\n{direct}"
    attack(program, btrfs_top / "vault", btrfs_top / "out", "copy", "secret.txt",
           *(["v1"] if version == "v1" else []), policy_text=table, scene=None, env=loop)
    assert not copy.exists(), "the snapshot was made under a table refusing every mkdir"
