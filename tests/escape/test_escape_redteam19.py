"""Red team 19: an outsider at descriptor owners, the extension's exec stub and fresh sockets.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 19")."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, UnixListener, assert_blocked, attack, require_real, scene_env
from test_escape_redteam18 import fresh_socket_policy
from test_escape_sig_owner import victim_at_a_terminal
from test_escape_signals import TREE_ONLY

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


@contextlib.contextmanager
def a_terminal_typed_at() -> Iterator[tuple[int, int, str]]:
    """A pty (master, slave, its name) with a line typed at it every 50 ms."""
    master, slave = os.openpty()
    done = threading.Event()

    def type_lines() -> None:
        while not done.wait(0.05):
            with contextlib.suppress(OSError):
                os.write(master, b"x\n")

    typist = threading.Thread(target=type_lines)
    typist.start()
    try:
        yield master, slave, os.ttyname(slave)
    finally:
        done.set()
        typist.join()
        os.close(master)
        with contextlib.suppress(OSError):
            os.close(slave)


def devpts_attack(program: Path, work: Path, policy_text: str | None,
                  loop: dict[str, str]) -> tuple[str, bool]:
    """sig_devpts.c's run (traced under ``policy_text``, or natively for None) against a
    victim leading a session on a terminal it started only once the program said READY:
    (its output, whether the victim lives)."""
    work.mkdir()
    (work / "devpts").mkdir()
    with a_terminal_typed_at() as (_, slave, name):
        argv = [str(program), name, str(work / "devpts"), str(work / "READY"),
                str(work / "victim")]
        if policy_text is not None:
            (work / "policy.toml").write_text(policy_text)
            argv = [*SYSTRACE, "-p", str(work / "policy.toml"), "--", *argv]
        attacker = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=scene_env(None, **loop),
                                    start_new_session=True)
        try:
            while not (work / "READY").exists() and attacker.poll() is None:
                time.sleep(0.01)

            def take_terminal() -> None:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

            victim = subprocess.Popen(["sleep", "3600"], stdin=slave, start_new_session=True,
                                      preexec_fn=take_terminal)
            try:
                (work / "victim.new").write_text(str(victim.pid))
                (work / "victim.new").rename(work / "victim")
                out, err = attacker.communicate(timeout=120)
                return out + err, victim.poll() is None
            finally:
                victim.kill()
                victim.wait(5)
        finally:
            if attacker.poll() is None:
                attacker.kill()
                attacker.wait(5)


def test_a_terminal_of_another_devpts_instance_is_not_the_trees(build, tmp_path: Path,
                                                                loop: dict[str, str]) -> None:
    """O_ASYNC on a terminal's file with no owner makes its foreground group the owner
    (tty_fasync); systrace decides that group as kill(-pgid), telling the terminal by its
    device number -- the first process whose tty_nr is that number gives the group.  But
    ptys are numbered per devpts instance: sig_devpts.c makes its own instance (a mount
    namespace of its own), takes its pty of the number of the victim's terminal, has a
    child lead a session on it, and only then is the victim's session started there (a
    later pid).  O_ASYNC on the victim's terminal was taken for the child's group (the
    tree's) and the kernel killed the victim at the next line typed.  Control: natively
    the victim dies."""
    program = build("escape/sig_devpts.c")
    control, alive = devpts_attack(program, tmp_path / "control", None, {})
    assert control.startswith("ESCAPED"), control
    assert not alive
    traced, alive = devpts_attack(program, tmp_path / "traced", TREE_ONLY, loop)
    assert "ESCAPED" not in traced and alive, traced
    assert traced.startswith("BLOCKED: O_ASYNC on /dev/pts/") and ": EPERM" in traced, traced


@pytest.mark.slow  # (13-31 s a run in a busy-VM run of the suite: the race's rounds)
@pytest.mark.parametrize("mode", ["fcntl", "ioctl"])
def test_a_terminal_put_at_a_checked_descriptor_gets_no_owner(build, mode: str,
                                                              loop: dict[str, str]) -> None:
    """fcntl(F_SETFL, O_ASYNC) is decided on what its descriptor is when it stops: on a
    terminal with no owner as kill(-pgid) of its foreground group, on a pipe as nothing.
    sig_fdswap.c has a thread dup2 another session's terminal and a pipe to one number in
    turn while it turns O_ASYNC on and off there (fcntl F_SETFL; ioctl FIOASYNC): a call
    checked on the pipe ran on the terminal, the victim's group became its owner, and the
    next line typed killed it.  Now every call turning O_ASYNC on runs with the tree frozen,
    the owner a terminal would give checked again.  Control: natively the victim dies (no
    race needed)."""
    program = build("escape/sig_fdswap.c")
    outcomes = []
    for policy_text in (None, TREE_ONLY):
        with victim_at_a_terminal() as (target, name):
            outcome = attack(program, mode, name, target.pid, policy_text=policy_text,
                             scene=None, env=loop, timeout=120)
            outcomes.append((outcome, target.poll() is None))
    (control, _), (traced, alive) = outcomes
    require_real(control)
    assert_blocked(traced)
    assert alive, f"the victim got a signal:\n{traced}"
