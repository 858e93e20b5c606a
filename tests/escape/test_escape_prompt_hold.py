"""Red team 10 (issue 11/16): the prompt's hold of the tree (the traced tree is stopped while a
terminal prompt shows, Tracer.hold_tree; docs/asking.md) attacked by the program -- the
terminal left in a state that stalls or hides the prompt.  On a real terminal (tmux), both
loops."""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path

import pytest
from ui.tmux import TMUX, Tmux, wait_file

from conftest import PYTHON, REPO

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

PROMPT = r"(?m)^systrace>"


def _start(tmp: Path, asked: Path, command: list[str], loop: dict[str, str]) -> Tmux:
    """systrace under tmux with a policy that asks about ``asked``, running ``command``; its
    output goes to tmp/out, its exit status to tmp/exit."""
    policy = tmp / "p.toml"
    policy.write_text(textwrap.dedent(f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{asked}"
        action = "ask"
        """))
    systrace = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(policy), "--", *command])
    env = " ".join(f"{name}={value}" for name, value in loop.items())
    out, status = shlex.quote(str(tmp / "out")), shlex.quote(str(tmp / "exit"))
    return Tmux(f"cd {REPO} && env PYTHONPATH={REPO} {env} {systrace} | cat > {out}; "
                f"echo EXIT=$? > {status}; sleep 60")


def test_output_stopped_before_an_ask_does_not_stall_the_prompt(build, tmp_path, loop):
    """``ask_flow.c`` stops the terminal's output (tcflow TCOOFF, ^Q off) and asks: the
    prompt's first write to the terminal blocked for good, with the whole tree held for it
    -- no question, no answer, no --ask-timeout: the run hung (a stall, not an escape).  The
    prompt now starts output before it writes: the question shows and its answer goes
    through.  (Natively nothing asks and the program runs to its end.)"""
    program = build("escape/ask_flow.c")
    asked = tmp_path / "asked.txt"
    asked.write_text("asked\n")
    t = _start(tmp_path, asked, [str(program), str(asked)], loop)
    try:
        t.wait_for(PROMPT)
        t.type("deny-now")
        assert wait_file(tmp_path / "exit", timeout=60) == "EXIT=0\n", t.screen()
    finally:
        t.close()
    assert (tmp_path / "out").read_text() == "open -> Operation not permitted\n"
