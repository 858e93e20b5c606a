"""Red team 10 (issue 11/16): the resident tracer (``systrace --resident``: a server, a worker
per run, a light client) attacked from outside -- a lying server, and what a hostile program
can make of the server and of another run.

A run goes through a server of its own (a private XDG_RUNTIME_DIR per test, never the user's):
see tests/cli/test_resident.py for the server's ordinary life.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PYTHON, run_systrace, systrace_env
from systrace_py import procfs, resident_client

HERE = Path(__file__).resolve().parent
#: long enough for any loaded machine; nothing here asserts a duration
PATIENCE = 60.0
PERMIT = 'default = "permit"\n'


def served_env(runtime: Path) -> dict[str, str]:
    """The environment of a run that a server in ``runtime`` serves (the suite runs every
    systrace in process unless told otherwise: conftest)."""
    return {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}


@pytest.fixture
def runtime() -> Iterator[Path]:
    # (not under tmp_path: a unix socket's path has at most 107 bytes)
    path = Path(tempfile.mkdtemp(prefix="systrace-rt10-"))
    try:
        yield path
    finally:
        with socket_peer(path) as pid:
            if pid is not None:  # (a server of this test still listening: ours, by pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def socket_peer(runtime: Path) -> Iterator[int | None]:
    """The pid of the process listening on the resident socket under ``runtime``, if any."""
    import socket

    path = resident_client.socket_path(served_env(runtime))
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(path)
        except OSError:
            yield None
            return
        found = procfs.peer(sock)
        yield found[0] if found else None


def test_a_lying_server_naming_no_tracer_never_runs_the_program(runtime: Path,
                                                                tmp_path: Path) -> None:
    """The program's process checks, once continued, that the tracer the server named traces
    it (``expect_tracer``).  A server that named tracer 0 -- the TracerPid of an untraced
    process -- passed that check: the command ran untraced, with no filter, under a policy
    that refuses what it did (escaped before the fix).  The tracer is also the pid the client
    forwards SIGINT/SIGTERM/SIGHUP to, where 0 is the client's own process group and -1 every
    process the user may signal (not run here: the client now takes no tracer below 1, so a
    spawn naming one is no server's of ours and the run goes on in process, refused).
    Control: the same command in process is refused."""
    mark = tmp_path / "ran"
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT + f'[[rule]]\ncalls = ["fswrite"]\npath = "{tmp_path}/**"\n'
                      'action = "never"\nerrno = "EACCES"\n')
    command = ["/bin/sh", "-c", f"grep ^TracerPid: /proc/$$/status > {mark}"]
    env = served_env(runtime)
    control = run_systrace(["--no-resident", "-p", str(policy), "--", *command], env=env)
    assert control.returncode != 0 and not mark.exists(), control.stderr
    liar = subprocess.Popen([PYTHON, str(HERE / "resident_liar.py"), "0", *command],
                            stdout=subprocess.PIPE, text=True, env=systrace_env(env))
    try:
        assert liar.stdout is not None and liar.stdout.readline() == "listening\n"
        result = run_systrace(["-p", str(policy), "--", *command], env=env)
        liar.wait(timeout=PATIENCE)
    finally:
        liar.kill()
        liar.wait()
    ran = mark.read_text() if mark.exists() else ""
    assert not ran, f"the command ran untraced ({ran.strip()}): {result.stderr}"
    assert "did not trace the command" in result.stderr or result.returncode != 0


#: a sandbox of the user's: a mount namespace where DIR is read-only (a bind mount); then the
#: command given, in it
SANDBOX = ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"']


def _start_server(runtime: Path) -> None:
    started = run_systrace(["--resident", "--resident-idle", "300"],
                           env=served_env(runtime))
    assert started.returncode == 0, started.stderr


def _who(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    fields = dict(line.split(":") for line in result.stdout.splitlines()
                  if line.startswith(("PPid:", "TracerPid:")))
    return int(fields["PPid"]), int(fields["TracerPid"])


@pytest.mark.parametrize("how", ["log", "approver"])
def test_a_sandboxed_client_gets_no_deputy_outside_its_sandbox(runtime: Path, tmp_path: Path,
                                                               how: str) -> None:
    """A process of the user's in a sandbox -- here a mount namespace where DIR is a read-only
    bind mount -- that reaches the socket asked the server for a run: the worker, in the
    server's namespaces, wrote the run's ``--log`` into DIR, and started an ``--ask-via``
    approver there, any command, outside the sandbox (escaped before the fix, both).  Now
    the server serves only clients confined as it is; the run goes on in process, in the
    sandbox.  Control: the sandbox holds natively (touch DIR/x: read-only file system); and a
    client outside any sandbox is still served (its tracer is not its parent)."""
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    env = served_env(runtime)
    native = subprocess.run([*SANDBOX, str(sealed), "touch", str(sealed / "native")],
                            capture_output=True, text=True, env=systrace_env(env),
                            timeout=PATIENCE)
    if "Read-only" not in native.stderr:
        assert native.returncode != 0, "the sandbox does not hold natively"
        pytest.skip(f"no mount namespace here: {native.stderr.strip()}")
    _start_server(runtime)
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT + '[[rule]]\ncalls = ["fsread"]\npath = "/nonexistent/x"\n'
                      'action = "ask"\n')
    served = run_systrace(["-a", "-p", str(policy), "--", "sh", "-c",
                           'grep -E "^(PPid|TracerPid):" /proc/$$/status'], env=env)
    ppid, tracer = _who(served)
    assert tracer not in (0, ppid), served.stderr  # (through the server: its worker traces)
    target = sealed / how
    if how == "log":
        permit = tmp_path / "permit.toml"
        permit.write_text(PERMIT)  # (a policy that may ask at the terminal runs in process)
        args = ["--log", str(target), "-p", str(permit), "--", "true"]
    else:
        args = ["--ask-via", f"exec:/bin/sh -c 'id > {target}'", "-p", str(policy), "--",
                "cat", "/nonexistent/x"]
    subprocess.run([*SANDBOX, str(sealed), PYTHON, "-m", "systrace_py", *args],
                   capture_output=True, text=True, env=systrace_env(env), timeout=PATIENCE)
    assert not target.exists(), f"the server's worker wrote {target} for a sandboxed client"


#: the traced program stops the server of the run (its tracer's parent): SIGSTOP, which no
#: process can ignore -- refused since red team 48 (a resident tracer's processes count as the
#: tracer's); the server is then stopped from outside the trace, as any untraced process of
#: the user's may
STOP_THE_SERVER = ('t=$(grep ^TracerPid: /proc/$$/status | cut -f2); '
                   's=$(grep ^PPid: /proc/$t/status | cut -f2); echo "$s"; kill -STOP "$s"')


def test_a_server_stopped_by_a_traced_program_holds_up_no_later_run(runtime: Path,
                                                                   tmp_path: Path) -> None:
    """A program traced through the server stopped it (SIGSTOP: it is the user's process, and
    only the run's own tracer, the worker, was guarded).  The server then accepts nothing,
    and every later run of the user's waited for its worker's first message for good: the
    program took the user's systrace down (escaped before the fix: the next run never ended).
    Now the client that waits sees the server stopped and runs in process.  Since red team 48
    the traced program's SIGSTOP is refused (EPERM): the server is stopped from outside the
    trace, as any untraced process of the user's may.  Control: the server is stopped (its
    state is T)."""
    _start_server(runtime)
    env = served_env(runtime)
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    who = ["sh", "-c", 'grep -E "^(PPid|TracerPid):" /proc/$$/status']
    served = run_systrace(["-p", str(policy), "--", *who], env=env)
    ppid, tracer = _who(served)
    assert tracer not in (0, ppid), served.stderr  # (through the server)
    attack = run_systrace(["-p", str(policy), "--", "sh", "-c", STOP_THE_SERVER], env=env)
    assert attack.returncode != 0 and "not permitted" in attack.stderr, attack
    server = int(attack.stdout)
    assert (procfs.read_stat(server) or [b"?"])[procfs.STATE] != b"T"
    os.kill(server, signal.SIGSTOP)
    try:
        for _ in range(1000):  # (a signal lands soon: no timed assertion, a bounded look)
            if (procfs.read_stat(server) or [b"?"])[procfs.STATE] == b"T":
                break
            time.sleep(0.01)
        fields = procfs.read_stat(server)
        assert fields is not None and fields[procfs.STATE] == b"T"  # (the control)
        try:
            later = run_systrace(["-p", str(policy), "--", *who], env=env, timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            pytest.fail("a run after the server was stopped never ended")
        assert later.returncode == 0, later.stderr
        ppid, tracer = _who(later)
        assert tracer == ppid  # (in process)
    finally:
        os.kill(server, signal.SIGKILL)
