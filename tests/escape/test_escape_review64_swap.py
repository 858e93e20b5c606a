"""Review 64: a ``fresh`` note's identity (close 33/35, ``MadeNotes.settle``) is taken by the
name at the create's exit stop -- after the kernel returned, while the tracer wakes --, and a
process outside the tree (not frozen: only the tree is) that renames its own file over the
name in that window has its file noted as the run's own.  Review 63 named the window ("not
done"); close 33's "Remains" names only the check side's.

Table: ``permit openat W/** fresh``, ``never openat W/**``.  The run makes ``W/x<i>``
exclusively (O_CREAT|O_EXCL), 200 times, and reads each back; the outsider spins until each
name is there and renames a file of its own holding its secret over it."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from escape_lib import SECRET_MAGIC, attack, never, permit, policy

ROUNDS = 200

RUN = f"""
import os, sys, time
os.chdir(sys.argv[1])
won = 0
for i in range({ROUNDS}):
    name = f"x{{i}}"
    try:
        fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError:
        continue
    os.write(fd, b"mine\\n")
    os.close(fd)
    time.sleep(0.02)
    try:
        with open(name) as f:
            won += {SECRET_MAGIC!r} in f.read()
    except OSError:
        pass
print(f"ESCAPED: {{won}} reads of an outsider's file" if won else "BLOCKED: none read")
"""


def _outsider(work: Path) -> None:
    """Another process's files, each renamed over the run's new name as soon as it is there."""
    for i in range(ROUNDS):
        (work / f".t{i}").write_text(SECRET_MAGIC + "\n")
    for i in range(ROUNDS):
        name = str(work / f"x{i}")
        deadline = time.monotonic() + 5
        while not os.path.lexists(name) and time.monotonic() < deadline:
            pass
        os.rename(work / f".t{i}", name)


def _run(work: Path, table: str | None, env: dict[str, str] | None) -> tuple[str, str]:
    outsider = threading.Thread(target=_outsider, args=(work,))
    outsider.start()
    try:
        out = attack(sys.executable, "-c", RUN, work, policy_text=table, scene=None, env=env,
                     timeout=90)
    finally:
        outsider.join()
    return out.verdict, str(out)


def test_native_control_an_outsiders_file_renamed_over_a_new_name_is_read(
        tmp_path: Path) -> None:
    verdict, text = _run(tmp_path, None, None)
    assert verdict == "ESCAPED", text


def test_an_outsiders_file_renamed_over_a_name_as_it_is_made_is_not_the_runs(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main 01d6e5c4 (both loops; 10 and 2 of 50 by hand): settle's name_identity
    reads the outsider's file, noted as the run's; its reread is then 'still made'."""
    table = policy(permit("openat", path=f"{tmp_path}/**", fresh=True),
                   never("openat", path=f"{tmp_path}/**"))
    verdict, text = _run(tmp_path, table, loop)
    assert verdict == "BLOCKED", text
