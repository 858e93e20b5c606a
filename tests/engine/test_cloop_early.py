"""The native loop and a child whose first stop comes before its parent's event (issue 16).

waitpid(-1) scans the tracer's own children before its ptraced list, where new tracees go at
the head: when a shell is not the tracer's child (a nested shell; every run through the
resident tracer, whose worker is not the program's parent), its command's first stop
(PTRACE_EVENT_STOP) often comes before the shell's vfork event.  The loop keeps such a stop
and lets the child go when it notes the birth (_cloop.c early_stop, birth), so the shell's
vforks and its commands' first stops stay native; one no birth takes is told to Python as
the waitpid report it was (Tracer._fast_notes: _early).  The counts of the stops Python
served show the regression, never a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import PYTHON, run_systrace, systrace_env
from systrace_py import procfs, resident_client
from systrace_py.engine import cloop

SERVED = re.compile(r"stops served by Python: (.*)")
#: a shell's loop of commands, then who traces it and who its parent is (builtins only)
LOOP = ('i=0; while [ $i -lt 60 ]; do /bin/true; i=$((i+1)); done; '
        'while read k v; do case $k in PPid:|TracerPid:) echo $k $v;; esac; done '
        '< /proc/$$/status')


def _served(stderr: str) -> dict[str, int]:
    found = SERVED.search(stderr)
    assert found is not None, stderr
    return {kind: int(n) for kind, n in
            (part.rsplit(" ", 1) for part in found.group(1).split(", "))}


def _who(stdout: str) -> tuple[int, int]:
    fields = dict(line.split() for line in stdout.splitlines()
                  if line.startswith(("PPid:", "TracerPid:")))
    return int(fields["PPid:"]), int(fields["TracerPid:"])


needs_native = pytest.mark.skipif(
    os.environ.get("SYSTRACE_NO_CLOOP") == "1" or cloop.load() is None,
    reason="the native loop is not built or is off")


def _learned(tmp_path: Path, command: list[str]) -> Path:
    policy = tmp_path / "learned.toml"
    done = run_systrace(["-A", "-o", str(policy), "--", *command])
    assert done.returncode == 0, done.stderr
    return policy


@needs_native
def test_a_nested_shells_vforks_are_native(tmp_path: Path) -> None:
    """In process, the inner shell is the tracer's grandchild: its commands' first stops
    come before its vfork events as often as not -- every one is served natively now.  (Each
    command's exec event is Python's, the tree being more than one task, and stops the outer
    shell once: a stop event per exec, none beyond -- but the run's start's two, less the
    outer shell's own exec, which is alone.  The inner shell's exec is the loop's since the
    outer's area is premapped at its exec: shell38.)"""
    command = ["sh", "-c", f"sh -c '{LOOP}'"]
    policy = _learned(tmp_path, command)
    done = run_systrace(["--stats", "-p", str(policy), "--", *command])
    assert done.returncode == 0, done.stderr
    served = _served(done.stderr)
    assert "vfork event" not in served, served
    assert served.get("stop event", 0) <= served["exec event"] + 1, served


@pytest.fixture
def resident() -> Iterator[dict[str, str]]:
    """A resident tracer of this tree in a private runtime directory: the environment that
    runs through it."""
    runtime = Path(tempfile.mkdtemp(prefix="systrace-rt-"))  # (a socket path is short)
    env = {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}
    started = run_systrace(["--resident", "--resident-idle", "300"], env=env)
    assert started.returncode == 0, started.stderr
    try:
        yield env
    finally:
        import socket

        pid = None
        with socket.socket(socket.AF_UNIX) as sock, contextlib.suppress(OSError):
            sock.connect(resident_client.socket_path(env))
            found = procfs.peer(sock)
            pid = found[0] if found else None
        run_systrace(["--resident", "stop"], env=env)
        if pid is not None:  # (one that did not stop when asked: ours, by its pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(runtime, ignore_errors=True)


@needs_native
def test_a_shell_through_the_resident_tracer_is_native(tmp_path: Path,
                                                        resident: dict[str, str]) -> None:
    """Through the resident tracer the shell is not its tracer's child: its commands' first
    stops often came first, and the loop was off until Python had the vfork event.  Now the
    shell's vforks, its commands' first stops, execs and ends are as native as in process:
    Python serves only the run's start and end."""
    command = ["sh", "-c", LOOP]
    policy = _learned(tmp_path, command)
    done = run_systrace(["--stats", "-p", str(policy), "--", *command], env=resident)
    assert done.returncode == 0, done.stderr
    ppid, tracer = _who(done.stdout)
    assert tracer not in (0, ppid), done.stdout  # (through a worker of the server)
    served = _served(done.stderr)
    assert "vfork event" not in served, served
    assert served.get("stop event", 0) <= 4, served
    assert served.get("exec event", 0) <= 4, served


#: learned-like: the program's calls decided by the table, so the loop serves its stops
KILL_POLICY = """
default = "never"
[[rule]]
calls = ["stdio", "process", "signal", "fsmeta"]
action = "permit"
[[rule]]
calls = ["exec", "fsread"]
path = "/**"
action = "permit"
"""


def _killed_early(build: Callable[..., Path], tmp_path: Path, env: dict[str, str]) -> None:
    """Run cloop_early_kill.c's parent under systrace and its watcher beside it (untraced,
    our child: it may read the parent's memory); the parent must end well, every child's end
    the kernel's."""
    program = build("engine/cloop_early_kill.c")
    policy = tmp_path / "policy.toml"
    policy.write_text(KILL_POLICY)
    rounds = 40
    traced = subprocess.Popen(
        [PYTHON, "-m", "systrace_py", "-p", str(policy), "--", str(program), "make",
         str(rounds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=systrace_env(env))
    watcher = None
    try:
        assert traced.stdout is not None and traced.stdin is not None
        pid, address = traced.stdout.readline().split()
        watcher = subprocess.Popen([str(program), "watch", pid, address])
        traced.stdin.write("go\n")
        traced.stdin.flush()
        out, err = traced.communicate(timeout=120)
    finally:
        traced.kill()
        if watcher is not None:
            watcher.kill()
            watcher.wait()
    assert traced.returncode == 0, (out, err)
    assert f"ended {rounds} of {rounds}" in out, out


def test_children_killed_before_their_parents_event(build: Callable[..., Path],
                                                    tmp_path: Path,
                                                    loop: dict[str, str]) -> None:
    """A child killed (by a process outside the trace) before the tracer saw its parent's
    fork event -- after its first stop or before it: no hang, and every end the parent reaps
    is the one the kernel gave (killed, or its own exit when it got there first)."""
    _killed_early(build, tmp_path, loop)


@needs_native
def test_children_killed_before_their_parents_event_resident(
        build: Callable[..., Path], tmp_path: Path, resident: dict[str, str]) -> None:
    """The same through the resident tracer, where the parent is not the tracer's child: its
    children's first stops come before its fork events often, and are kept by the loop."""
    _killed_early(build, tmp_path, resident)
