"""Red team 63: an outsider at device files whose meaning depends on who opens them
(docs/security.md, "Red team 63").

/dev/tty is the opener's controlling terminal, whichever it is: a program whose stdio is
redirected, started from a terminal, holds no descriptor of it and is in its session all the
same.  A rule that refuses that terminal by its name (/dev/pts/N) must refuse it by the name
that stands for it too.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import termios
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, SYSTRACE, Outcome, Scene, _verdict, never, policy, scene_env

from conftest import PYTHON


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal (master, slave) whose input queue holds a line with the secret,
    typed before any run (nothing waits for it: the program reads what is there)."""
    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # (the line is not echoed back: the master is not read)
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        os.write(master, f"{SECRET_MAGIC}\n".encode())
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


def _in_session_of(slave: int, argv: list[str], scene: Scene, env: dict[str, str],
                   controlling: bool = True) -> Outcome:
    """``argv`` run in a new session whose controlling terminal is ``slave`` (none when not
    ``controlling``) -- none of its descriptors (stdin /dev/null, stdout and stderr pipes:
    the slave is close-on-exec)."""

    def take_terminal() -> None:
        if controlling:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=scene.root,
                          env=scene_env(scene, **env), start_new_session=True,
                          stdin=subprocess.DEVNULL, preexec_fn=take_terminal)
    verdict, detail = _verdict(proc.stdout)
    return Outcome(argv, proc.returncode, proc.stdout, proc.stderr, "-p" in argv, verdict,
                   detail)


@pytest.mark.parametrize("spelling", ["tty", "link", "take", "other"])
def test_the_controlling_terminal_is_refused_by_its_name_through_dev_tty(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        terminal: tuple[int, int], spelling: str) -> None:
    """ctty_alias.c: a policy refuses the run's terminal, /dev/pts/N (``never`` fsread and
    fswrite of it); the program opens /dev/tty (``tty``), or a symlink to it made before the
    run (``link``), and reads the line typed there.  ``take``: the run has no controlling
    terminal and the policy refuses only reads of the pty; the program opens it write-only
    and a child of a session of its own makes it its controlling terminal (TIOCSCTTY), then
    opens /dev/tty for reading.  The open was decided on the name
    "/dev/tty", which no rule names: ESCAPED on main (cf8e8ae), both loops.  Now a path that
    ends on /dev/tty (or /dev/console, /dev/tty0) is decided by the name of the terminal it
    stands for too.  ``other``: a rule on another terminal leaves /dev/tty to the program."""
    binary = build("escape/ctty_alias.c")
    master, slave = terminal
    name = os.ttyname(slave)
    scene = Scene.make(tmp_path)
    target = "/dev/tty"
    if spelling == "link":
        target = str(scene.work / "tty")
        os.symlink("/dev/tty", target)
    args = [target, name] if spelling == "take" else [target]
    control = _in_session_of(slave, [str(binary), *args], scene, {}, spelling != "take")
    assert control.verdict == "ESCAPED", control
    os.write(master, f"{SECRET_MAGIC}\n".encode())  # (the control read the first line)
    refused = name if spelling != "other" else f"{name}9"
    policy_file = scene.root / "policy.toml"
    calls = ["fsread"] if spelling == "take" else ["fsread", "fswrite"]
    policy_file.write_text(policy(never(calls, path=refused)))
    traced = _in_session_of(slave, [*SYSTRACE, "-p", str(policy_file), "--", str(binary),
                                    *args], scene, loop, spelling != "take")
    if spelling == "other":
        assert traced.verdict == "ESCAPED", traced  # (its own terminal, no rule on it)
        return
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.verdict == "BLOCKED" and "EACCES" in traced.detail, traced


def _asking(scene: Scene, answers: str, *rules: str) -> list[str]:
    """systrace's options for a run whose asks go to the approver answering by ``answers``
    (its [[answer]] tables), under a policy permitting all but ``rules`` (fsread asks of the
    paths given)."""
    answers_file = scene.root / "answers.toml"
    answers_file.write_text(answers)
    policy_file = scene.root / "policy.toml"
    policy_file.write_text('default = "permit"\n' + "".join(
        f'\n[[rule]]\ncalls = ["fsread"]\npath = "{path}"\naction = "ask"\n'
        'errno = "EACCES"\n' for path in rules))
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers_file)]
    return ["-v", "-p", str(policy_file), "--ask-via", "exec:" + shlex.join(approver)]


def test_a_question_the_terminal_s_rule_asks_names_the_terminal(
        build: Callable[..., Path], tmp_path: Path, terminal: tuple[int, int]) -> None:
    """ctty_alias.c reads its controlling terminal through /dev/tty under a policy that asks
    about reading /dev/tty and about reading any /dev/pts/*; the approver permits /dev/tty
    and refuses the pseudo-terminals.  The question the terminal's rule asked (red team 63:
    the call decided by the terminal's name too) was put with the call's path, /dev/tty --
    its rule /dev/pts/*, its ``path`` /dev/tty -- and the approver's permit of /dev/tty
    answered it: ESCAPED on main (fc7f5e6).  Now it is about /dev/pts/N (review 43).
    (Loop-blind: a run with an approver is the Python loop's.)"""
    binary = build("escape/ctty_alias.c")
    master, slave = terminal
    scene = Scene.make(tmp_path)
    control = _in_session_of(slave, [str(binary), "/dev/tty"], scene, {})
    assert control.verdict == "ESCAPED", control
    os.write(master, f"{SECRET_MAGIC}\n".encode())  # (the control read the first line)
    options = _asking(scene, '[[answer]]\npath = "/dev/pts/*"\nanswer = "deny-now"\n'
                             'errno = "EACCES"\n\n[[answer]]\npath = "/dev/tty"\n'
                             'answer = "permit-now"\n', "/dev/tty", "/dev/pts/*")
    traced = _in_session_of(slave, [*SYSTRACE, *options, "--", str(binary), "/dev/tty"],
                            scene, {})
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.verdict == "BLOCKED" and "EACCES" in traced.detail, traced


def test_a_remembered_answer_to_the_terminal_s_question_settles_it(
        tmp_path: Path, terminal: tuple[int, int]) -> None:
    """Parity: a shell opens /dev/tty three times under a policy that asks about reading any
    /dev/pts/*, and the approver answers ``permit`` (remembered, for the program).  The
    remembered rule named /dev/tty, the question's path, while the terminal's rule asked:
    every open asked again, and three rules were saved (main, fc7f5e6).  Now the answer
    remembers the terminal's name: one question.  (Loop-blind: the approver's.)"""
    _, slave = terminal
    scene = Scene.make(tmp_path)
    options = _asking(scene, '[[answer]]\npath = "/dev/*"\nanswer = "permit"\n', "/dev/pts/*")
    traced = _in_session_of(slave, [*SYSTRACE, *options, "--", "/bin/sh", "-c",
                                    ": </dev/tty && : </dev/tty && : </dev/tty && "
                                    "echo ESCAPED: opened"], scene, {})
    assert traced.verdict == "ESCAPED", traced  # (here: the opens all ran)
    remembered = [line for line in traced.stderr.splitlines() if "remembered for" in line]
    assert len(remembered) == 1, traced.stderr
    assert f"path {os.ttyname(slave)} -> permit" in remembered[0], traced.stderr
