"""swap51: a ``fresh`` rule's reread of the run's own file is decided by what the name gives at
the decision (Decoder.still_made, close 33), and the kernel looks the name up again after it.
A process outside the tree (not frozen: only the tree is) that renames its own file over the
name between the two had the kernel open its file, permitted as the run's -- close 33's
"decision-to-lookup" window.  Review 64's swap test
(test_escape_review64_swap.py) met it under load in CI (2 reads of 200, Python loop); here it is
made wide and certain by an ``inject`` rule's ``delay`` (the call waits after its decision,
before it runs).  Closed: the open's descriptor is compared at its exit with the identity
noted (MadeNotes.swapped), and an outsider's file there is taken back -- the descriptor
closed in the task, the call made again and decided anew (Tracer._take_back).

Table: ``inject openat W/y delay 600ms``, ``permit openat W/** fresh``, ``never openat W/**``.
The run makes ``W/y`` exclusively, writes it and reads it back at once; the outsider waits
until ``W/y`` is there, then 200 ms, and renames its secret over it."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from escape_lib import SECRET_MAGIC, attack, never, permit, policy

RUN = f"""
import os, sys, time
os.chdir(sys.argv[1])
fd = os.open("y", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"mine\\n")
os.close(fd)
time.sleep(float(sys.argv[2]))  # (natively, the window the inject rule's delay gives traced)
try:
    with open("y") as f:
        text = f.read()
except OSError as exc:
    print(f"BLOCKED: the reread refused ({{exc.strerror}})")
    sys.exit(0)
print("ESCAPED: the outsider's file read as the run's" if {SECRET_MAGIC!r} in text
      else "BLOCKED: the run's own file read")
"""


def _outsider(work: Path) -> None:
    """Another process's file, renamed over the run's new name 200 ms after it is there."""
    (work / ".t").write_text(SECRET_MAGIC + "\n")
    deadline = time.monotonic() + 20
    while not os.path.lexists(work / "y") and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.2)
    os.rename(work / ".t", work / "y")


def _run(work: Path, table: str | None, env: dict[str, str] | None, pause: float
         ) -> tuple[str, str]:
    outsider = threading.Thread(target=_outsider, args=(work,))
    outsider.start()
    try:
        out = attack(sys.executable, "-c", RUN, work, pause, policy_text=table, scene=None,
                     env=env, timeout=60)
    finally:
        outsider.join()
    return out.verdict, str(out)


def test_native_control_an_outsiders_file_renamed_over_before_the_reread_is_read(
        tmp_path: Path) -> None:
    verdict, text = _run(tmp_path, None, None, 0.6)
    assert verdict == "ESCAPED", text


def test_an_outsiders_file_renamed_over_between_decision_and_open_is_not_the_runs(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main 3b44d265, both loops: the reread was decided on the run's file (the name
    gave it then), delayed, and the kernel opened the outsider's."""
    table = policy(f'calls = ["openat"]\npath = "{tmp_path}/y"\naction = "inject"\n'
                   'delay = "600ms"',
                   permit("openat", path=f"{tmp_path}/**", fresh=True),
                   never("openat", path=f"{tmp_path}/**"))
    verdict, text = _run(tmp_path, table, loop, 0.0)
    assert verdict == "BLOCKED", text


def test_held_the_runs_own_file_reread_after_the_delay(tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """The same table, no outsider: the run's own reread is permitted (no false refusal)."""
    table = policy(f'calls = ["openat"]\npath = "{tmp_path}/y"\naction = "inject"\n'
                   'delay = "600ms"',
                   permit("openat", path=f"{tmp_path}/**", fresh=True),
                   never("openat", path=f"{tmp_path}/**"))
    out = attack(sys.executable, "-c", RUN, tmp_path, 0.0, policy_text=table, scene=None,
                 env=loop, timeout=60)
    assert out.verdict == "BLOCKED" and "own file read" in out.detail, str(out)
