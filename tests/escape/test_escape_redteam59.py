"""Red team 59: an outsider at the actors outside the traced tree (the resident server, the
learner, the DNS resolver, ``--attach``).

``--attach``: SIGINT to systrace detaches the attached tree, which runs on untraced.  The
signal guards keep every signal call of the tree from the tracer -- but the tracer's terminal
sends its foreground job SIGINT when its line reads the interrupt character, and the line's
settings are anybody's who may open the terminal.  attach_vintr.c sets the interrupt
character to 'R' and writes ESC [ 6 n: the terminal emulator (tmux here) types its cursor
position report, ESC [ row ; col R, into the line, the line takes the R for ^C, systrace
detached, and the program read the secret.  Now the settings of the tracer's own terminal
are refused to an attached tree (Tracer._terminal_refusal), and an attach is refused when the
line was set so before it (tracer._interrupt_typed_in_replies).  One stop loop: an attached
process has no filter (see test_escape_attach_forged.py).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    attack,
    require_real,
    scene_env,
    secd_never,
    waiting,
)

pytestmark = pytest.mark.both_loops


class _Pane:
    """A tmux server of its own whose one pane runs ``command`` (a shell command line)."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.tmux = ["tmux", "-L", f"rt59-{os.getpid()}-{time.monotonic_ns()}", "-f",
                     "/dev/null"]
        subprocess.run([*self.tmux, "new-session", "-d", "-x", "80", "-y", "24", "-c",
                        str(cwd), command], check=True, env=env)
        self.tty = subprocess.run([*self.tmux, "display-message", "-p", "-t", "0",
                                   "#{pane_tty}"], check=True, capture_output=True,
                                  text=True).stdout.strip()

    def close(self) -> None:
        path = subprocess.run([*self.tmux, "display-message", "-p", "#{socket_path}"],
                              capture_output=True, text=True).stdout.strip()
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        if path:
            Path(path).unlink(missing_ok=True)


def _said(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _wait_foreground(tty: str, command: str, limit: float = 60) -> None:
    """Wait until ``command`` runs in the foreground of terminal ``tty`` (a process whose
    controlling terminal it is, of its foreground group): a character typed before would
    meet the pane's shell, which ignores SIGINT (a CI at load saw the control's sleep
    start after the attack had typed, and end 20 s later unsignalled)."""
    device = os.stat(tty).st_rdev
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            # (fields from the state on: pgrp is [2], tty_nr [4], tpgid [5])
            if comm == command and int(fields[4]) == device and fields[2] == fields[5]:
                return
        time.sleep(0.05)
    raise AssertionError(f"{command} never ran in the foreground of {tty}")


def _status(path: Path, limit: float = 20) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


@pytest.mark.parametrize("when", ["after", "before"])
def test_an_attached_program_does_not_detach_itself_through_its_tracers_terminal(
        build, tmp_path, when):
    """``after``: the line set once attached (refused now); ``before``: set while untraced,
    before the attach, which is refused now (the interrupt character is one a reply types)."""
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("tmux is not installed")
    program = build("escape/attach_vintr.c")
    # control: natively the terminal's foreground job gets SIGINT, and the secret is read
    c = Scene.make(tmp_path, "control")
    status = c.root / "status"
    pane = _Pane(f"trap true INT; sleep 20; echo $? > {status}", c.root, scene_env(c))
    try:
        _wait_foreground(pane.tty, "sleep")
        control = attack(program, c.secret, pane.tty, when, policy_text=None, scene=c)
        require_real(control)
        assert _status(status) == "130", control  # (sleep ended by SIGINT)
    finally:
        pane.close()
    # traced: systrace --attach as that job
    s = Scene.make(tmp_path, "traced")
    (s.root / "attach.toml").write_text(secd_never(s))
    pid_file, status, err = s.root / "pid", s.root / "status", s.root / "err"
    systrace = " ".join(SYSTRACE)
    pane = _Pane(f"trap true INT; while [ ! -s {pid_file} ]; do sleep 0.05; done; "
                 f"{systrace} --attach $(cat {pid_file}) -p {s.root}/attach.toml 2>{err}; "
                 f"echo $? > {status}", s.root, scene_env(s))
    try:
        with waiting([program, s.secret, pane.tty, when], scene=s) as w:
            pid_file.write_text(w.pid + "\n")
            if when == "before":
                # refused, the process left running untraced (as before the attempt)
                assert _status(status) == "125", _said(err)
                assert "interrupt character of systrace's terminal is b'R'" in _said(err), \
                    _said(err)
                return
            out, _ = w.proc.communicate(timeout=30)
        said = w.said + out
        assert "ESCAPED" not in said, (said, _said(err))
        assert "BLOCKED: tcsetattr: EPERM" in said, (said, _said(err))
        _status(status)
        assert "detached" not in _said(err), _said(err)
    finally:
        pane.close()
