"""Job control through systrace, on a real terminal (tmux): an interactive shell under trace
behaves like the shell -- Ctrl-Z stops a job, `jobs` sees it stopped, `fg` resumes it, Ctrl-C
interrupts it, and programs read the terminal."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import PYTHON, REPO

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    """One tmux server (own socket) with one window running a command."""

    def __init__(self, command: str) -> None:
        self.socket = f"systrace-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-x", "160", "-y", "40",
                        command], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-S", "-100"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def shell(tmp_path: Path):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    marker = tmp_path / "exit"
    command = (f"cd {REPO} && env PS1='prompt> ' PYTHONPATH={REPO} {PYTHON} -m systrace_py "
               f"-p {policy} -- bash --norc --noprofile -i; echo EXIT=$? > {marker}; sleep 30")
    tmux = Tmux(command)
    tmux.wait_for("prompt>")
    yield tmux, marker
    tmux.close()


def test_ctrl_z_jobs_fg_ctrl_c(shell):
    tmux, marker = shell
    tmux.keys("sleep 300", "Enter")
    time.sleep(0.5)
    tmux.keys("C-z")
    tmux.wait_for("Stopped")
    tmux.keys("jobs", "Enter")
    tmux.wait_for("[1]+  Stopped                 sleep 300")
    tmux.keys("fg", "Enter")
    time.sleep(0.5)
    tmux.keys("C-c")
    tmux.keys("echo status=$?", "Enter")
    tmux.wait_for("status=130")
    tmux.keys("exit", "Enter")
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text().strip() == "EXIT=0"


def test_programs_read_the_terminal_and_background_jobs_finish(shell):
    tmux, marker = shell
    tmux.keys("read line; echo got:$line", "Enter")
    time.sleep(0.3)
    tmux.keys("hello there", "Enter")
    tmux.wait_for("got:hello there")
    tmux.keys("(sleep 0.2; echo background-done) & wait", "Enter")
    tmux.wait_for("background-done")
    tmux.keys("exit 3", "Enter")
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text().strip() == "EXIT=3"
