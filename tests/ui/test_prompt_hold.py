"""The terminal prompt owns the screen (docs/asking.md, "The terminal"; docs/security.md, gap
#26): while it shows, the whole traced tree is stopped -- the freeze of a call, for every task
(Tracer.hold_tree) -- and after the answer it goes on as natively: the calls its tasks were
blocked in end as they would have without the stop.  On a real terminal (tmux), both loops.

(That an approver leaves the others running while it decides is
tests/escape/test_escape_asks.py::test_an_answer_is_for_the_task_that_asked_not_for_its_tid:
its approver holds the first answer until a sibling's exec has asked the second question.)"""

from __future__ import annotations

import shlex
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from tmux import TMUX, Tmux, wait_file

from conftest import PYTHON, REPO

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

PROMPT = r"(?m)^systrace>"


def counter(directory: Path) -> int:
    """What prompt_hold.c's counter thread last wrote."""
    return int((directory / "counter").read_text().split()[0])


def test_the_tree_is_stopped_while_the_prompt_shows_and_goes_on_as_natively(
        build, tmp_path, loop):
    """``prompt_hold.c``: a thread writes a counter into a file, four block (read of a pipe,
    nanosleep, a futex wait with and without a timeout), and the main thread opens a file the
    policy asks about.  While the prompt shows, the counter does not move (with the tree
    running it moves every millisecond); after the answer it goes on, and every blocked call
    ends as in the native run."""
    program = build("progs/prompt_hold.c")
    native, traced = tmp_path / "native", tmp_path / "traced"
    for directory in (native, traced):
        directory.mkdir()
        (directory / "asked.txt").write_text("asked\n")
    control = subprocess.run([str(program), str(native), str(native / "asked.txt")],
                             capture_output=True, text=True, timeout=120, check=True)
    assert control.stdout.startswith("open -> ok\n"), control
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{traced}/asked.txt"
        action = "ask"
        """))
    systrace = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(policy), "--", str(program),
                           str(traced), str(traced / "asked.txt")])
    env = " ".join(f"{name}={value}" for name, value in loop.items())
    out, status = shlex.quote(str(traced / "out")), shlex.quote(str(traced / "exit"))
    t = Tmux(f"cd {REPO} && env PYTHONPATH={REPO} {env} {systrace} > {out}; "
             f"echo EXIT=$? > {status}; sleep 60")
    try:
        t.wait_for(PROMPT)
        shown = counter(traced)
        time.sleep(0.5)  # (500 writes, were it running)
        assert counter(traced) == shown
        t.type("permit-now")
        assert wait_file(traced / "exit", timeout=60) == "EXIT=0\n", t.screen()
    finally:
        t.close()
    assert (traced / "out").read_text() == control.stdout
    assert counter(traced) > shown  # it went on after the answer
