"""Close 37 (found while closing review 64): a ``fresh`` note's identity was looked up by its
name in the *tracer's* view.  A run in a mount namespace of its own names its files there
(``Resolved`` path: the namespace name, close 33's "Remains"); in the tracer's view that name
may be nothing at all -- the run's tmpfs mounted over W is not the tracer's W --, so the note
was untold (``made_ids`` None) and ``still_made`` found "nothing there" (ENOENT in the
wrong view): any file at the run's name in its own view was the run's own.

Table: ``permit openat W/** fresh``, ``never openat W/**`` (no rule on a removal: ``unlink``
runs unstopped).  The run (root) makes a mount namespace, mounts a tmpfs over W, makes
``W/x``, reads it back (its own: permitted), removes it; a process outside the tree writes its
secret at ``/proc/PID/root/W/x`` -- the run's ``W/x`` -- and the run reads it.  Now the
look-up is made where the task's is (its own spelling under ``/proc/TID/root``)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, attack, never, permit, policy

RUN = f"""
import ctypes, os, sys, time
work, meet = sys.argv[1], sys.argv[2]
MS_REC, MS_PRIVATE, CLONE_NEWNS = 0x4000, 1 << 18, 0x20000
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(CLONE_NEWNS) != 0:
    sys.exit(f"SKIPPED: no unshare ({{ctypes.get_errno()}})")
if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0 or \\
        libc.mount(b"tmpfs", work.encode(), b"tmpfs", 0, None) != 0:
    sys.exit(f"SKIPPED: no tmpfs of its own ({{ctypes.get_errno()}})")
fd = os.open(work + "/x", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"mine\\n")
os.close(fd)
with open(work + "/x") as f:
    if f.read() != "mine\\n":
        sys.exit("not its own file")
with open(meet + "/pid", "w") as f:
    f.write(str(os.getpid()))
os.unlink(work + "/x")
os.close(os.open(meet + "/gone", os.O_CREAT | os.O_WRONLY, 0o644))
for _ in range(200):
    if os.path.exists(work + "/ready"):
        break
    time.sleep(0.1)
try:
    with open(work + "/x") as f:
        text = f.read()
except OSError as exc:
    print("BLOCKED:", exc)
else:
    print("ESCAPED: read an outsider's file as the run's own" if {SECRET_MAGIC!r} in text
          else "BLOCKED: not the secret")
"""


def _outsider(work: Path, meet: Path, done: list[bool]) -> None:
    """Another process's file put at the run's removed name, in the run's own view."""
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not (meet / "gone").exists():
        time.sleep(0.02)
    if not (meet / "gone").exists():
        return
    there = Path(f"/proc/{(meet / 'pid').read_text()}/root{work}")
    (there / "x").write_text(SECRET_MAGIC + "\n")
    (there / "ready").write_text("")
    done.append(True)


def _run(tmp_path: Path, table: bool, env: dict[str, str] | None) -> tuple[str, str, bool]:
    if os.geteuid() != 0:
        pytest.skip("needs root: a tmpfs mounted in a mount namespace of the run's own")
    work, meet = tmp_path / "w", tmp_path / "meet"
    work.mkdir()
    meet.mkdir()
    text = policy(permit("openat", path=f"{work}/**", fresh=True),
                  never("openat", path=f"{work}/**")) if table else None
    done: list[bool] = []
    outsider = threading.Thread(target=_outsider, args=(work, meet, done))
    outsider.start()
    try:
        out = attack(sys.executable, "-c", RUN, work, meet, policy_text=text, scene=None,
                     env=env, timeout=60)
    finally:
        outsider.join()
    if "SKIPPED: no " in out.stderr:
        pytest.skip(str(out))
    return out.verdict, str(out), bool(done)


def test_native_control_an_outsiders_file_in_the_runs_own_view_is_read(
        tmp_path: Path) -> None:
    verdict, text, done = _run(tmp_path, False, None)
    assert done and verdict == "ESCAPED", text


def test_an_outsiders_file_at_a_name_of_the_runs_own_view_is_not_the_runs(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main 01d6e5c4 (both loops): the note and the check looked the name up in
    the tracer's view, where nothing is at W/x -- "nothing there", the name still the run's.
    The run's own reread of its file right after making it is permitted (by its identity)."""
    verdict, text, done = _run(tmp_path, True, loop)
    assert done, text
    assert verdict == "BLOCKED", text
