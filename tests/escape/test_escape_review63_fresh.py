"""Review 63: a ``fresh`` note's identity (close 33, ``Decoder.made_ids``) on a file system
that gives no file handle -- overlayfs (without ``nfs_export``: every container's root), FUSE,
ramfs -- is (device, inode, b"") alone, and an inode number is reused as soon as it is freed
(ext4 under the overlay's upper layer hands the freed number to the next file made in the
directory).  Close 33's own rule ("an inode number alone may be another file's after the
first is freed": ptrace_ops.file_identity) is not applied: ``Decoder.still_made`` compares
the handle-less identity and takes another process's new file at the run's removed name for
the run's own.

Table: ``permit openat W/** fresh``, ``never openat W/**`` (no rule on a removal's path: the
prefilter lets ``unlinkat`` run unstopped, review 62's ``[unstopped]`` shape).  The run makes
``W/x``, removes it, another process writes its secret at ``W/x`` (a new file, same inode
number) and the run reads it as its own."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, attack, never, permit, policy

#: the run makes W/x, removes it, waits for another process's file at the name ("ready": made
#: after it, so the freed inode number goes to W/x) and reads W/x
REMOVED = ('echo mine > "$1/x" || exit 1; sleep 0.5; rm -f "$1/x"; i=0; '
           'while [ ! -e "$1/ready" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; '
           f'if grep -q {SECRET_MAGIC} "$1/x" 2>/dev/null; then '
           'echo "ESCAPED: read an outsider\'s file as the run\'s own"; '
           'else echo "BLOCKED: the outsider\'s file kept"; fi')


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[Path]:
    """An overlay mount (upper layer on the test's ext4) -- the file system of a container."""
    for part in ("l", "u", "w", "m"):
        (tmp_path / part).mkdir()
    merged = tmp_path / "m"
    if subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                       f"lowerdir={tmp_path / 'l'},upperdir={tmp_path / 'u'},"
                       f"workdir={tmp_path / 'w'}", str(merged)],
                      capture_output=True).returncode != 0:
        pytest.skip("no overlay mount here")
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], capture_output=True)


def _outsider(work: Path, seen: list[tuple[int, int]]) -> None:
    """Another process's file (a new one) put at W/x once the run's is gone."""
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not (work / "x").exists():
        time.sleep(0.01)
    first = os.stat(work / "x").st_ino if (work / "x").exists() else -1
    while time.monotonic() < deadline and (work / "x").exists():
        time.sleep(0.01)
    (work / "x").write_text(SECRET_MAGIC + "\n")
    seen.append((first, os.stat(work / "x").st_ino))
    (work / "ready").write_text("")


def _run(work: Path, table: str | None, env: dict[str, str] | None) -> tuple[str, str,
                                                                             list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []
    outsider = threading.Thread(target=_outsider, args=(work, seen))
    outsider.start()
    try:
        out = attack("sh", "-c", REMOVED, "sh", work, policy_text=table, scene=None,
                     env=env, timeout=40)
    finally:
        outsider.join()
    return out.verdict, str(out), seen


def test_native_control_an_outsiders_file_at_a_removed_name_is_read(overlay: Path) -> None:
    """Natively the outsider's file is read; and the overlay hands its new file the run's
    freed inode number -- unless another process on the machine took it first (parallel
    tests made files on the same upper file system: once in CI63), so made again, at most
    five times, until the number is seen reused."""
    for _ in range(5):
        for name in ("x", "ready"):  # (a run before's)
            (overlay / name).unlink(missing_ok=True)
        verdict, text, seen = _run(overlay, None, None)
        assert verdict == "ESCAPED", text
        if seen and seen[0][0] == seen[0][1]:
            break
    assert seen and seen[0][0] == seen[0][1], f"inode number not reused here: {seen}"


def test_an_outsiders_file_with_a_reused_inode_number_is_not_the_runs(
        overlay: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main c045289f (both loops): the overlay gives no handle, the outsider's
    new W/x has the run's removed file's device and inode number, still_made says yes."""
    table = policy(permit("openat", path=f"{overlay}/**", fresh=True),
                   never("openat", path=f"{overlay}/**"))
    verdict, text, seen = _run(overlay, table, loop)
    assert seen, text
    assert verdict == "BLOCKED", f"{text}\n(inode numbers run/outsider: {seen})"


def test_held_on_ext4_where_the_handle_carries_the_generation(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The control of the finding: the same run on the test's ext4 (the handle carries the
    inode's generation) is BLOCKED -- passes on main c045289f."""
    work = tmp_path / "e"
    work.mkdir()
    table = policy(permit("openat", path=f"{work}/**", fresh=True),
                   never("openat", path=f"{work}/**"))
    verdict, text, seen = _run(work, table, loop)
    assert seen, text
    assert verdict == "BLOCKED", f"{text}\n(inode numbers run/outsider: {seen})"
