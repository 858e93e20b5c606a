"""Red team 19: an outsider at descriptor owners, the extension's exec stub and fresh sockets.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 19")."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from escape_lib import UnixListener
from test_escape_redteam18 import fresh_socket_policy

from conftest import PYTHON, systrace_env


class LateListener:
    """A unix listener outside the tree, bound at ``at`` only once ``seen`` exists: a
    socket file born while the program runs (after its own bind made ``seen``)."""

    def __init__(self, seen: Path, at: Path) -> None:
        self._seen, self._at = seen, at
        self._made: list[UnixListener] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._bind_when_seen, daemon=True)
        self._thread.start()

    def _bind_when_seen(self) -> None:
        while not self._stop.is_set():
            if self._seen.exists():
                self._made.append(UnixListener(str(self._at)))
                return
            self._stop.wait(0.01)

    def listener(self) -> UnixListener | None:
        """The listener, once its binding is over (None: the program's bind never came)."""
        self._stop.set()
        self._thread.join(30)
        return self._made[0] if self._made else None

    def close(self) -> None:
        listener = self.listener()
        if listener is not None:
            listener.close()


@contextlib.contextmanager
def listener_after(seen: Path, at: Path) -> Iterator[LateListener]:
    late = LateListener(seen, at)
    try:
        yield late
    finally:
        late.close()


def test_a_socket_born_during_the_run_is_not_the_runs(build, tmp_path: Path,
                                                      loop: dict[str, str]) -> None:
    """A fresh unix rule covers a socket file a bind of this run made: noted by its name,
    and (red team 18) what stands there must have been born during the run.  But another
    process's socket bound while the run goes on is as young.  fresh_born.c binds
    ``sock/busX`` (its own), waits for ``other/busX`` -- bound by a listener outside the
    tree only after the program's own bind --, renames it over ``sock/busX`` (unstopped: no
    rule looks at the rename) and connects: the outsider's socket passed as the run's.
    Control: natively the connect reaches the listener."""
    program = build("escape/fresh_born.c")

    def scene(name: str) -> Path:
        work = tmp_path / name
        (work / "sock").mkdir(parents=True)
        (work / "other").mkdir()
        return work

    def argv(work: Path) -> list[str]:
        return [str(program), str(work / "sock"), str(work / "other"), "busX"]

    work = scene("control")
    with listener_after(work / "sock" / "busX", work / "other" / "busX") as made:
        control = subprocess.run(argv(work), capture_output=True, text=True, timeout=90)
        assert control.stdout.startswith("ESCAPED"), control.stdout + control.stderr
        assert made.listener() is not None
    work = scene("traced")
    policy_file = tmp_path / "fresh.toml"
    policy_file.write_text(fresh_socket_policy(work))
    with listener_after(work / "sock" / "busX", work / "other" / "busX") as made:
        traced = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(policy_file), "--",
                                 *argv(work)], capture_output=True, text=True, timeout=120,
                                env=systrace_env(loop))
        assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
        assert traced.stdout.startswith(f"BLOCKED: connect to {work}/sock/busX: EPERM"), \
            traced.stdout + traced.stderr
        listener = made.listener()
        assert listener is not None and listener.accepted == 0
