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
        t.answer("deny-now")
        assert wait_file(tmp_path / "exit", timeout=60) == "EXIT=0\n", t.screen()
    finally:
        t.close()
    assert (tmp_path / "out").read_text() == "open -> Operation not permitted\n"


def test_the_question_is_not_drawn_in_colours_the_program_chose(build, tmp_path, loop):
    """``ask_colours.c`` makes the terminal's default foreground and background the same
    colour (OSC 10, OSC 11) and asks: the prompt's reset of the attributes (SGR 0) draws the
    question in those defaults -- invisible, where a question the program drew itself in
    explicit colours would be read instead (gap #26 again).  The prompt now resets the
    default colours and the palette first: while it shows, the pane's default colours are
    not the program's.  (tmux keeps OSC 10/11 as the pane's #{pane_fg}/#{pane_bg}; its
    palette, OSC 4, is not shown by any format, so OSC 104 is not checked here.)"""
    program = build("escape/ask_colours.c")
    asked = tmp_path / "asked.txt"
    asked.write_text("asked\n")
    t = _start(tmp_path, asked, [str(program), str(asked)], loop)
    try:
        t.wait_for(PROMPT)
        colours = t._tmux("display-message", "-p", "#{pane_fg} #{pane_bg}").stdout.split()
        assert colours and "#101010" not in colours, colours
        t.answer("deny-now")
        assert wait_file(tmp_path / "exit", timeout=60) == "EXIT=0\n", t.screen()
    finally:
        t.close()
    assert (tmp_path / "out").read_text() == "open -> Operation not permitted\n"
