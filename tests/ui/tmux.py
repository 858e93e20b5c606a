"""A tmux server of its own per test: start a command on a real terminal, read the screen,
type keys.  Polls quickly (0.1 s) with generous deadlines, so tests are fast when things work
and fail with the screen shown when they do not."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

TMUX = shutil.which("tmux")


class Tmux:
    """One tmux server (own socket, no config) with one pane running ``command``."""

    def __init__(self, command: str, width: int = 160, height: int = 45) -> None:
        assert TMUX is not None
        self.socket = f"systrace-ui-{uuid.uuid4().hex[:10]}"
        subprocess.run([TMUX, "-L", self.socket, "-f", "/dev/null", "new-session", "-d",
                        "-x", str(width), "-y", str(height), command], check=True)

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True)

    def keys(self, *keys: str) -> None:
        """tmux key names (``Enter``, ``C-c``, ``Up``) or text."""
        self._tmux("send-keys", "-t", "0", *keys)

    def type(self, text: str) -> None:
        """Type text literally, then Enter."""
        self._tmux("send-keys", "-t", "0", "-l", text)
        self._tmux("send-keys", "-t", "0", "Enter")

    def answer(self, text: str, timeout: float = 20) -> None:
        """Answer systrace's question as a person would: once its empty "systrace> " input
        line is where the cursor is (it shows when the question takes keys: --ask-delay),
        type ``text``, then Enter."""
        deadline = time.monotonic() + timeout
        while True:
            y = self._tmux("display-message", "-p", "-t", "0", "#{cursor_y}").stdout.strip()
            rows = self._tmux("capture-pane", "-p", "-t", "0").stdout.split("\n")
            if y.isdigit() and int(y) < len(rows) and rows[int(y)].rstrip() == "systrace>":
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no question takes keys; screen:\n{self.screen()}")
            time.sleep(0.1)
        self.type(text)

    def screen(self) -> str:
        """What the pane shows, with its scrollback, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "0").stdout

    def visible(self) -> str:
        """What the pane shows now (no scrollback), with the escapes of its attributes and
        character sets (SO, ``\\x0e``, before text drawn in the line-drawing set)."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "0").stdout

    def wait_for(self, pattern: str, timeout: float = 20, count: int = 1) -> str:
        """Wait until ``pattern`` (a regex) is on the screen ``count`` times."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if len(regex.findall(screen)) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} (x{count}) never appeared; screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        """Kill the server and remove its socket file (tmux leaves it behind)."""
        socket = self._tmux("display-message", "-p", "#{socket_path}").stdout.strip()
        self._tmux("kill-server")
        if socket:
            Path(socket).unlink(missing_ok=True)


def wait_file(path: Path, timeout: float = 20) -> str:
    """The content of a file some command writes at its end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{path} was never written")
