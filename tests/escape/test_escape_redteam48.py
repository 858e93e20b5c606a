"""Red team 48: an outsider at the resident tracer, and at root's reach into the tracer (issue 11).

``res_steal.c``: a traced program connects to the user's resident server and has its pidfd
(SO_PEERPIDFD names the process that listened); with a rule naming ``pidfd_getfd`` (unsafe,
for a process manager) it copies the server's listening socket, stops the server and accepts
the user's next run itself.  A client checks its peer, but a connected socket's peer is the
process that *listened* -- the server, whoever accepts -- so the run was answered by the
traced program: an exit status of its choice (42), the command never run, its argv,
environment, descriptors 0-2 and working directory taken.  As root (the server is not
dumpable; CAP_SYS_PTRACE passes over that).  Now a resident tracer's processes (the server and
its workers: untraced, a server's command line) count as the tracer's for every guard --
pidfd_getfd (a stop guard now), the debug calls, perf, /proc/PID/mem, signals, prlimit64 --
and pidfd_getfd of the tracer's own is refused too (EPERM).  The native control steals the
same server's socket and answers a run.  The resident tests run their servers in a private
XDG_RUNTIME_DIR (never the user's).
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
from escape_lib import (
    SYSTRACE,
    Outcome,
    _verdict,
    assert_blocked,
    attack,
    listener_of,
    never,
    permit,
    policy,
    require_real,
    served_env,
)

from conftest import run_systrace, systrace_env
from systrace_py import procfs

PERMIT = 'default = "permit"\n'
#: the exit status the thief answers the user's run with
FORGED = 42


@pytest.fixture
def server() -> Iterator[Path]:
    """A resident server of this tree in a private runtime directory: its socket."""
    runtime = Path(tempfile.mkdtemp(prefix="systrace-rt48-"))
    started = run_systrace(["--resident", "--resident-idle", "300"], env=served_env(runtime))
    assert started.returncode == 0, started.stderr
    [sock] = (runtime / "systrace-py").glob("*.sock")
    pid = listener_of(sock)
    try:
        yield sock
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(runtime, ignore_errors=True)


def _steal(program: Path, sock: Path, tmp_path: Path, name: str, tracer: list[str],
           env: dict[str, str]) -> tuple[Outcome, list[subprocess.CompletedProcess[str]], Path]:
    """Run the thief (under ``tracer``: systrace's command and options, or [] natively); once
    it holds the server's socket, the user's next runs (a command that touches a marker),
    until one is answered by it.  The thief's outcome, those runs, the marker."""
    runtime = sock.parent.parent
    ready = tmp_path / f"{name}.ready"
    marker = tmp_path / f"{name}.ran"
    build = sock.name.removesuffix(".sock").rsplit("-", 1)[1]
    argv = [str(program), str(sock), build, str(ready)]
    thief = subprocess.Popen([*tracer, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=tmp_path, env=systrace_env(env),
                             start_new_session=True)
    runs: list[subprocess.CompletedProcess[str]] = []
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and thief.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if ready.exists():
            rules = tmp_path / f"{name}.toml"
            rules.write_text(PERMIT)
            for _ in range(5):  # (a client waits a second for hello: the thief may be late)
                runs.append(run_systrace(["-p", str(rules), "--", "touch", str(marker)],
                                         env=served_env(runtime), cwd=tmp_path))
                if runs[-1].returncode == FORGED or thief.poll() is not None:
                    break
        out, err = thief.communicate(timeout=60)
    finally:
        if thief.poll() is None:
            os.killpg(thief.pid, signal.SIGKILL)
            thief.wait()
    verdict, detail = _verdict(out)
    return (Outcome(argv, thief.returncode, out, err, bool(tracer), verdict, detail), runs,
            marker)


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only CAP_SYS_PTRACE passes over the server's non-dumpable flag")
@pytest.mark.parametrize("traced_by", ["in_process", "resident"])
def test_a_traced_program_never_answers_the_users_runs_with_the_servers_socket(
        build, server: Path, tmp_path: Path, loop: dict[str, str], traced_by: str) -> None:
    """ESCAPED on main (both loops, the thief's run in process and served by that very
    server): the user's next run ended 42 and its command never ran.  Now pidfd_getfd of the
    server's descriptors is refused (EPERM) and the next run is the server's."""
    program = build("escape/res_steal.c")
    control, runs, marker = _steal(program, server, tmp_path, "control", [], {})
    require_real(control)
    assert runs and runs[-1].returncode == FORGED and not marker.exists(), runs
    assert listener_of(server) is not None  # (the server is back: continued, still listening)

    how = served_env(server.parent.parent) if traced_by == "resident" else {}
    rules = tmp_path / "thief.toml"
    rules.write_text(policy(permit("pidfd_getfd")))
    traced, runs, marker = _steal(program, server, tmp_path, "traced",
                                  [*SYSTRACE, "-p", str(rules), "--"], dict(loop, **how))
    assert_blocked(traced)
    assert "EPERM" in traced.detail, traced
    assert not runs, runs  # (it never held the socket: nothing to answer)
    # the user's next run is the server's: its command runs
    nxt = run_systrace(["-p", str(rules), "--", "touch", str(marker)],
                       env=served_env(server.parent.parent), cwd=tmp_path)
    assert nxt.returncode == 0 and marker.exists(), nxt.stderr


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only CAP_SYS_PTRACE passes over the server's non-dumpable flag")
@pytest.mark.parametrize(("mode", "call"), [("ptrace", "ptrace"), ("mem", "process_vm_readv")])
def test_a_debug_call_a_rule_permits_never_reaches_the_resident_server(
        build, server: Path, loop: dict[str, str], mode: str, call: str | None) -> None:
    """``res_steal SOCKET ptrace|mem``: PTRACE_SEIZE of the server (a seized server runs what
    its tracer makes it, untraced, and starts every run to come), a read of its memory
    through /proc/PID/mem (decided as process_vm_readv) -- under a rule naming that call
    (and, for the read, a path rule: read-only opens stop only where one needs them; under a
    policy with none a root tree's open of a mem file is not seen, docs/security.md "Root
    tracees").  All ESCAPED on main (red teams 45 and 46 guarded the tracer's tasks and the
    approver's only); now EPERM.  Control: the same, natively."""
    program = build("escape/res_steal.c")
    control = attack(program, server, mode, policy_text=None, scene=None)
    require_real(control)
    text = policy(permit(call), *([never("fsread", path="/nonexistent/**")]
                                  if mode == "mem" else []))
    out = attack(program, server, mode, policy_text=text, scene=None, env=loop, timeout=60)
    assert_blocked(out)
    assert "EPERM" in out.detail, out


def test_a_traced_program_signals_neither_the_server_nor_another_runs_worker(
        server: Path, tmp_path: Path, loop: dict[str, str]) -> None:
    """Red team 10 left it open: a traced program could SIGSTOP or SIGKILL the user's server
    (every later run then a second slower, or cold) and the worker of another concurrent run
    of the user's (that run hung or died).  Now both are refused (EPERM): a resident tracer's
    processes count as the tracer's.  Control: natively the same ``kill`` stops (and
    continues) each."""
    runtime = server.parent.parent
    rules = tmp_path / "p.toml"
    rules.write_text(PERMIT)
    other = subprocess.Popen(
        [*SYSTRACE, "-p", str(rules), "--", "sh", "-c",
         'grep ^TracerPid: /proc/$$/status; exec sleep 60'],
        stdout=subprocess.PIPE, text=True, env=systrace_env(served_env(runtime)),
        start_new_session=True)
    try:
        assert other.stdout is not None
        worker = int(other.stdout.readline().split()[1])
        server_pid = listener_of(server)
        assert server_pid is not None
        assert (procfs.read_stat(worker) or [b"", b"0"])[procfs.PPID] == str(server_pid).encode()
        for target in (server_pid, worker):
            native = subprocess.run(["sh", "-c", f"kill -STOP {target} && kill -CONT {target}"],
                                    capture_output=True, text=True)
            assert native.returncode == 0, native.stderr  # (the control)
            for how in ({}, served_env(runtime)):
                traced = run_systrace(["-p", str(rules), "--", "sh", "-c",
                                       f"kill -STOP {target}; kill -KILL {target}"],
                                      env=dict(loop, **how), cwd=tmp_path)
                assert traced.stderr.count("not permitted") == 2, traced.stderr
                assert procfs.alive(target)
                assert (procfs.read_stat(target) or [b"?"])[procfs.STATE] != b"T"
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait()


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="only CAP_SYS_PTRACE passes over the tracer's non-dumpable flag")
@pytest.mark.parametrize(("mode", "file"), [("tracer", "oom_score_adj"),
                                            ("task", "oom_score_adj"),
                                            ("tracer", "timerslack_ns"),
                                            ("tracer", "autogroup"), ("tracer", "clear_refs")])
def test_a_root_tree_writes_none_of_its_tracers_proc_files(
        build, loop: dict[str, str], mode: str, file: str) -> None:
    """``proc_write.c``: a root tree opened its tracer's /proc files for writing (red team 46
    left them: none changes a decision) -- oom_score_adj 1000 made the tracer the OOM
    killer's first victim (the run then ends: EXITKILL, fail closed, but when the tree
    chooses), timerslack_ns and autogroup slow it.  All ESCAPED on main, both loops; now
    EPERM (Tracer._tracer_proc_file).  Control: a stand-in's files, natively."""
    program = build("escape/proc_write.c")
    control = attack(program, f"native-{mode}", file, policy_text=None, scene=None)
    require_real(control)
    out = attack(program, mode, file, policy_text=PERMIT, scene=None, env=loop, timeout=60)
    assert_blocked(out)
    assert "EPERM" in out.detail, out
