"""The resident tracer (``systrace --resident``, systrace_py/resident.py and resident_client.py):
the server's life, runs through it giving what in-process runs give, and the peers it refuses.

Every server is in a private XDG_RUNTIME_DIR (never the user's): a server of this tree must not
serve runs of other tests.  The tests that take ``started`` share one server, the file's, for
both clients (each run is a worker forked for it: one run leaves the next nothing), but those of
OWN_SERVER; a test that starts a server itself gets its own directory.  A run went through the
server when the program's tracer (TracerPid) is not its parent: in process, systrace is both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PYTHON, REPO, run_systrace, systrace_env
from systrace_py import procfs, resident, resident_client, session

#: long enough for any loaded CI machine; the tests poll, they never assert a duration
PATIENCE = 60.0

PERMIT = 'default = "permit"\n'
SHADOW = textwrap.dedent("""\
    default = "permit"
    [[rule]]
    calls = ["fsread"]
    path = "/etc/shadow"
    action = "never"
    errno = "EACCES"
    """)
#: the program's own view of who traces it and who its parent is
WHO = ["sh", "-c", 'grep -E "^(PPid|TracerPid):" /proc/$$/status']


def _until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"waited {PATIENCE:g} s for {what}")
        time.sleep(0.05)


#: the native ``systrace`` (scripts/systrace.c) of this tree's install, beside the interpreter
NATIVE = Path(PYTHON).parent / "systrace"
#: the two clients of a run: ``python -m systrace_py`` and the native command
CLIENTS = ["python", "native"]


def _native_built() -> bool:
    try:
        with NATIVE.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


class Server:
    """A resident tracer of this tree in a private runtime directory; its runs' client is
    ``client``: "python" (``python -m systrace_py``) or "native" (the installed native
    ``systrace``, without PYTHONPATH: with one it leaves every run to the Python command)."""

    def __init__(self, runtime: Path, client: str = "python") -> None:
        self.runtime = runtime
        self.client = client
        self.env = {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}
        self.socket = Path(resident_client.socket_path(self.env))

    def start(self, *options: str) -> subprocess.CompletedProcess[str]:
        return run_systrace(["--resident", *options], env=self.env)

    def stop(self) -> subprocess.CompletedProcess[str]:
        return run_systrace(["--resident", "stop"], env=self.env)

    def pid(self) -> int | None:
        """The server's pid (the process that listens), None when none answers."""
        import socket

        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.socket))
            except OSError:
                return None
            found = procfs.peer(sock)
        return found[0] if found else None

    def command(self, args: list[str], extra: dict[str, str] | None = None,
                ) -> tuple[list[str], dict[str, str]]:
        """A run's command line and environment, by this server's client."""
        env = systrace_env(dict(self.env, **(extra or {})))
        if self.client == "python":
            return [PYTHON, "-m", "systrace_py", *args], env
        env.pop("PYTHONPATH", None)
        return [str(NATIVE), *args], env

    def run(self, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if self.client == "python":
            extra = dict(self.env, **kw.pop("env", {}))  # type: ignore[call-overload]
            return run_systrace(args, env=extra, **kw)  # type: ignore[arg-type]
        cmd, env = self.command(args, kw.pop("env", {}))  # type: ignore[arg-type]
        cmd = [*(kw.pop("prefix", None) or []), *cmd]  # type: ignore[misc]
        kw.setdefault("timeout", 120)
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              **kw)  # type: ignore[call-overload]


#: The tests taking ``started`` that get a server of their own, not the file's: they stop it,
#: SIGSTOP it, or count its children (the spare worker, a worker reaped).
OWN_SERVER = {
    "test_a_run_is_served_by_a_worker_forked_before_it",
    "test_an_ended_worker_is_reaped_without_waiting_for_the_next_run",
    "test_a_stopped_server_costs_a_run_a_second_not_a_hang",
    "test_a_stopped_servers_full_backlog_costs_a_run_nothing_not_a_hang",
}


def _end(srv: Server) -> None:
    """Stop ``srv``'s server, if one runs, and remove its directory."""
    pid = srv.pid()
    srv.stop()
    if pid is not None:  # (a server that did not stop when asked: ours, by its pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(srv.runtime, ignore_errors=True)


@pytest.fixture(scope="module")
def _shared() -> Iterator[dict[str, object]]:
    """The file's server (trim67: a server per test was ~12 % of the CI's first pass): its
    directory, and its pid once ``started`` has started it."""
    # (not under tmp_path: a unix socket's path has at most 107 bytes)
    shared: dict[str, object] = {"runtime": Path(tempfile.mkdtemp(prefix="systrace-rt-")),
                                 "pid": None}
    try:
        yield shared
    finally:
        _end(Server(shared["runtime"]))  # type: ignore[arg-type]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """(``@pytest.mark.parametrize("server", CLIENTS, indirect=True)``: each client.)  A test
    of this file that takes ``started`` gets the file's server (but those of OWN_SERVER); any
    other (the files that import these fixtures too) a directory of its own, no server in it
    yet."""
    client = getattr(request, "param", "python")
    if client == "native" and not _native_built():
        pytest.skip(f"no native command at {NATIVE} (reinstall: pip install -e .)")
    if "started" in request.fixturenames and request.module.__name__.endswith(
            "test_resident") and request.node.originalname not in OWN_SERVER:
        shared = request.getfixturevalue("_shared")
        srv = Server(shared["runtime"], client)
        pid = shared["pid"]
        if not (isinstance(pid, int) and procfs.alive(pid) and srv.socket.is_socket()):
            done = srv.start("--resident-idle", "900")
            assert done.returncode == 0, done.stderr
            shared["pid"] = srv.pid()
        yield srv
        return
    # (not under tmp_path: a unix socket's path has at most 107 bytes)
    srv = Server(Path(tempfile.mkdtemp(prefix="systrace-rt-")), client)
    try:
        yield srv
    finally:
        _end(srv)


@pytest.fixture
def started(server: Server) -> Server:
    """A server that runs: the file's (``server`` started it), or one of the test's own."""
    if server.socket.is_socket():
        return server  # (the file's)
    done = server.start("--resident-idle", "300")
    assert done.returncode == 0, done.stderr
    return server


def _who(stdout: str) -> tuple[int, int]:
    fields = dict(line.split(":") for line in stdout.splitlines()
                  if line.startswith(("PPid:", "TracerPid:")))
    return int(fields["PPid"]), int(fields["TracerPid"])


def _through_server(srv: Server, result: subprocess.CompletedProcess[str]) -> bool:
    """Whether the run whose output is ``result`` (of WHO) was traced by a worker of ``srv``
    (its tracer is not its parent) -- else in process (its tracer is its parent)."""
    ppid, tracer = _who(result.stdout)
    assert tracer != 0, result.stderr
    return tracer != ppid


# --- the server's life ----------------------------------------------------------------------------
def test_start_listens_in_a_private_directory_and_stop_ends_it(server: Server) -> None:
    started = server.start()
    assert started.returncode == 0, started.stderr
    assert "listening on" in started.stderr
    assert server.socket.is_socket()
    directory = server.socket.parent
    assert directory.stat().st_mode & 0o777 == 0o700
    assert directory.stat().st_uid == os.getuid()
    assert server.socket.name == (f"resident-{resident_client.__version__}-"
                                  f"{resident_client.build_id()}.sock")
    pid = server.pid()
    assert pid is not None
    again = server.start()  # (one per user and version: the running one is left)
    assert again.returncode == 0 and "already" in again.stderr
    assert server.pid() == pid
    stopped = server.stop()
    assert stopped.returncode == 0, stopped.stderr
    _until(lambda: not procfs.alive(pid), "the server to exit")
    assert not server.socket.exists()


def test_stop_ends_a_server_of_other_code_too(server: Server) -> None:
    """A server of an earlier install or edit listens under its own build's name, which no
    client of the new code connects to: a new user who upgraded (git pull) and ran
    ``--resident stop`` read "no resident tracer is running" while ps showed it, and it
    lived on to its idle exit (front28; on main this stop found none and the server stayed
    alive).  Its socket renamed to another build's name stands for it.  Stop stops it, and
    says it was of other code."""
    assert server.start("--resident-idle", "300").returncode == 0
    pid = server.pid()
    assert pid is not None
    other = server.socket.with_name(f"resident-{resident_client.__version__}-0123abcd.sock")
    server.socket.rename(other)
    stopped = server.stop()
    assert stopped.returncode == 0, stopped.stderr
    assert "of other code stopped" in stopped.stderr, stopped.stderr
    _until(lambda: not procfs.alive(pid), "the other code's server to exit")
    assert server.stop().stderr.strip() == "systrace: no resident tracer is running"


@pytest.mark.parametrize("gone", ["a file", "another socket"])
def test_the_socket_is_known_by_its_node_before_its_name_can_change(tmp_path: Path,
                                                                    gone: str) -> None:
    """The server is known to its socket by the node it bound, taken before the starter hears
    "ok": the name may lead elsewhere at once.  The server took it from the name, later, in
    _serve -- a CI run's test below ([a file]) replaced the socket by a file in between, the
    server took the file for its socket and served on, unreachable, past the test's 60 s."""
    path = tmp_path / "socket"
    listener, identity = resident._listen(str(path))
    with listener, socket.socket(socket.AF_UNIX) as other:
        assert resident._still_reachable(str(path), identity)
        path.unlink()
        if gone == "a file":
            path.write_text("not a socket\n")
        else:
            other.bind(str(path))
        assert not resident._still_reachable(str(path), identity)


@pytest.mark.parametrize("gone", ["deleted", "a file", "another server's"])
def test_a_server_whose_socket_is_gone_exits(server: Server, gone: str) -> None:
    """A server whose socket's name no longer leads to it -- deleted (a tmp cleaner, a user's
    rm), a file in its place, another server's socket bound there -- is out of every client's
    reach: no run goes to it and ``--resident stop`` says "no resident tracer is running"
    while ps shows it and its spare worker, which lived on to their idle exit, ten minutes
    later (front30: a new user met two such pairs; on main this test waits in vain).  It
    notices within seconds and exits; a new server started meanwhile is not disturbed.
    (Its look every 0.2 s, not every SOCKET_CHECK: trim68, 5 s a case.)"""
    server.env[resident.SOCKET_CHECK_VARIABLE] = "0.2"
    assert server.start("--resident-idle", "300").returncode == 0
    pid = server.pid()
    assert pid is not None
    spares = _live_children(pid)
    server.socket.unlink()
    if gone == "a file":
        server.socket.write_text("not a socket\n")
    elif gone == "another server's":
        assert server.start("--resident-idle", "300").returncode == 0
        assert server.pid() not in (None, pid)
    _until(lambda: not procfs.alive(pid), "the server whose socket is gone to exit")
    _until(lambda: not any(procfs.alive(spare) for spare in spares), "its spare to exit")
    if gone == "a file":
        assert server.socket.read_text() == "not a socket\n"  # (not its to remove)
    elif gone == "another server's":
        assert server.pid() is not None  # (the new one serves on)
        assert server.stop().stderr.strip() == "systrace: resident tracer stopped"


def test_the_environment_can_only_make_the_socket_check_more_often(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SYSTRACE_RESIDENT_SOCKET_CHECK (the test above's 0.2 s) shortens the server's interval
    between looks at its socket and cannot lengthen it: no value keeps a server whose socket
    is gone alive longer than SOCKET_CHECK."""
    for asked, got in [("0.2", 0.2), ("0.05", 0.05), (str(resident.SOCKET_CHECK), 5.0),
                       ("0", 5.0), ("-1", 5.0), ("0.01", 5.0), ("6", 5.0), ("1e9", 5.0),
                       ("inf", 5.0), ("nan", 5.0), ("", 5.0), ("soon", 5.0)]:
        monkeypatch.setenv(resident.SOCKET_CHECK_VARIABLE, asked)
        assert resident._socket_check() == got, asked
    monkeypatch.delenv(resident.SOCKET_CHECK_VARIABLE)
    assert resident._socket_check() == resident.SOCKET_CHECK == 5.0


def test_idle_server_exits(server: Server) -> None:
    assert server.start("--resident-idle", "0.5").returncode == 0
    pid = server.pid()
    assert pid is not None
    _until(lambda: not procfs.alive(pid), "the idle server to exit")
    assert not server.socket.exists()


def test_the_server_gives_its_free_heap_back() -> None:
    """The server trims the C heap before it forks a worker (resident._heap_given_back): a
    server that made its start-up caches kept ~3-5 MiB of freed heap every worker inherited
    (start42: worker RSS 28.8 MiB against 24.5).  The C library here has the call it uses,
    and the call is harmless in a process that holds no free heap worth giving back."""
    import ctypes

    from systrace_py import resident

    assert hasattr(ctypes.CDLL(None), "malloc_trim")  # (glibc: the fix is in force)
    resident._heap_given_back()
    resident._heap_given_back()


def test_resident_flags_are_checked(server: Server) -> None:
    for args, words in ((["--resident", "--", "true"], "takes no command"),
                        (["--resident-idle", "5", "-p", "x", "--", "true"], "--resident-idle"),
                        (["--resident", "--resident-idle", "0"], "above 0"),
                        (["--resident", "--resident-idle", "1e300"], "at most"),
                        (["--resident", "-p", "x.toml"], "cannot take -p"),
                        (["--resident", "stop", "-v"], "cannot take -v")):
        result = server.run(args)
        assert result.returncode == 2, args
        assert words in result.stderr


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_directory_others_may_enter_is_refused(server: Server) -> None:
    server.socket.parent.mkdir(mode=0o755)
    server.socket.parent.chmod(0o755)
    result = server.start()
    assert result.returncode == session.EXIT_INTERNAL  # (not bad usage: 2 would say so)
    assert "only this user" in result.stderr


# --- runs through it ------------------------------------------------------------------------------
@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_run_goes_through_the_server_unless_told_not_to(started: Server, tmp_path: Path,
                                                        loop: dict[str, str]) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    served = started.run(["-p", str(policy), "--", *WHO], env=loop)
    assert served.returncode == 0, served.stderr
    assert _through_server(started, served)
    _, tracer = _who(served.stdout)
    stat = procfs.read_stat(tracer)
    # the worker's parent was the server (the worker has gone by now: no stat to read)
    assert stat is None or int(stat[procfs.PPID]) == started.pid()
    if started.client == "native":  # (served by the native client, not the Python it execs)
        comm = started.run(["-p", str(policy), "--", "sh", "-c", "cat /proc/$PPID/comm"],
                           env=loop)
        assert comm.stdout == "systrace\n", comm
    for how in (["--no-resident"], []):
        env = dict(loop) if how else dict(loop, SYSTRACE_NO_RESIDENT="1")
        local = started.run([*how, "-p", str(policy), "--", *WHO], env=env)
        assert local.returncode == 0, local.stderr
        assert not _through_server(started, local)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_policy_that_asks_at_the_terminal_runs_in_process(started: Server,
                                                             tmp_path: Path) -> None:
    """The worker is not in the terminal's foreground group: asking stays in process (here,
    with no terminal, the ask is refused as in process); -a refuses asks: served."""
    policy = tmp_path / "ask.toml"
    policy.write_text('default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                      'path = "/nonexistent/x"\naction = "ask"\n')
    local = started.run(["-p", str(policy), "--", *WHO])
    assert local.returncode == 0, local.stderr
    assert not _through_server(started, local)
    served = started.run(["-a", "-p", str(policy), "--", *WHO])
    assert served.returncode == 0, served.stderr
    assert _through_server(started, served)


CASES = {
    "refused open": (SHADOW, ["cat", "/etc/shadow"]),
    "own status": (PERMIT, ["sh", "-c", "echo out; echo err >&2; exit 7"]),
    "signal death": (PERMIT, ["sh", "-c", "kill -TERM $$"]),
    "missing command": (PERMIT, ["no-such-command-here"]),
    "policy error": ('default = "permit"\n[[rule]]\ncalls = ["fsread"]\nbogus = 1\n'
                     'action = "never"\n', ["true"]),
}


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_same_outcome_as_in_process(started: Server, tmp_path: Path, case: str,
                                    loop: dict[str, str]) -> None:
    text, command = CASES[case]
    policy = tmp_path / "p.toml"
    policy.write_text(text)
    args = ["-p", str(policy), "--", *command]
    served = started.run(args, env=loop, cwd=tmp_path)
    local = started.run(args, env=dict(loop, SYSTRACE_NO_RESIDENT="1"), cwd=tmp_path)
    assert (served.returncode, served.stdout, served.stderr) == (
        local.returncode, local.stdout, local.stderr)
    expected = {"refused open": 1, "own status": 7, "signal death": 128 + signal.SIGTERM,
                "missing command": 127, "policy error": 2}[case]
    assert served.returncode == expected, served.stderr
    if case == "policy error":
        assert f"{policy}:4" in served.stderr and "bogus" in served.stderr


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_learn_then_enforce_through_the_server(started: Server, tmp_path: Path,
                                               loop: dict[str, str]) -> None:
    """-A -o FILE through the server writes the policy in process would (relative to the
    client's working directory); enforcing it decides alike."""
    data = tmp_path / "data.txt"
    data.write_text("hello\n")
    learned = {}
    for name, extra in (("served", {}), ("local", {"SYSTRACE_NO_RESIDENT": "1"})):
        out = f"{name}.toml"
        result = started.run(["-q", "-A", "-o", out, "--", "cat", str(data)],
                             env=dict(loop, **extra), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "hello\n"
        learned[name] = (tmp_path / out).read_text()
    assert learned["served"] == learned["local"]
    for program, code in ((["cat", str(data)], 0), (["cat", "/etc/hostname"], 1)):
        served = started.run(["-p", "served.toml", "--", *program], env=loop, cwd=tmp_path)
        local = started.run(["-p", "local.toml", "--", *program],
                            env=dict(loop, SYSTRACE_NO_RESIDENT="1"), cwd=tmp_path)
        assert served.returncode == local.returncode == code, served.stderr
        assert served.stderr == local.stderr


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_an_approver_answers_through_the_server(started: Server, tmp_path: Path) -> None:
    """--ask-via runs are served (the approver is no terminal): the approver is started by
    the worker, in the client's working directory and environment, and its answers decide
    as in process."""
    import shlex

    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.txt", "b.txt"):
        (data / name).write_text(name)
    policy = tmp_path / "p.toml"
    policy.write_text(f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{data}/*"\naction = "ask"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/a.txt"\nanswer = "permit-now"\n\n'
                       '[[answer]]\npath = "*/b.txt"\nanswer = "deny-now"\nerrno = "ENOENT"\n')
    via = "exec:" + shlex.join([PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])
    args = ["-p", str(policy), "--ask-via", via, "--", "sh", "-c",
            f"cat {data}/a.txt; cat {data}/b.txt; echo $?; {WHO[2]}"]
    served = started.run(args, cwd=tmp_path)
    local = started.run(args, cwd=tmp_path, env={"SYSTRACE_NO_RESIDENT": "1"})
    assert served.returncode == local.returncode == 0, served.stderr
    assert _through_server(started, served) and not _through_server(started, local)
    assert served.stdout.startswith("a.txt1\n") and local.stdout.startswith("a.txt1\n")
    assert "No such file" in served.stderr

    def said(text: str) -> str:
        return re.sub(r"pid \d+", "pid N", text)

    assert said(served.stderr) == said(local.stderr)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_sigterm_to_systrace_reaches_the_command(started: Server, tmp_path: Path,
                                                 loop: dict[str, str]) -> None:
    """As in process: SIGTERM sent to systrace (here the client) is passed on to the
    command, whose status is the run's."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    codes, served = [], []
    for extra in ({}, {"SYSTRACE_NO_RESIDENT": "1"}):
        proc = subprocess.Popen(
            [PYTHON, "-m", "systrace_py", "-p", str(policy), "--", "sh", "-c",
             f'trap "exit 9" TERM; {WHO[2]}; echo ready; while :; do sleep 0.05; done'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=systrace_env(dict(started.env, **loop, **extra)))
        try:
            assert proc.stdout is not None
            said = "".join(proc.stdout.readline() for _ in range(3))
            assert said.endswith("ready\n"), said
            served.append(_through_server(started, subprocess.CompletedProcess([], 0, said)))
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=PATIENCE)
        finally:
            proc.kill()
        codes.append(proc.returncode)
    assert codes == [9, 9]
    assert served == [True, False]


@pytest.mark.tty
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_job_control_through_the_server(started: Server, tmp_path: Path) -> None:
    """The client stays the program's parent in the terminal's session: an interactive shell
    traced by a worker stops a job on Ctrl-Z, resumes it with fg, interrupts it with Ctrl-C,
    and its exit status is systrace's (tests/engine/test_job_control.py, in process)."""
    import uuid

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    marker = tmp_path / "exit"
    who = tmp_path / "who"
    unset, client = (("", f"PYTHONPATH={REPO} {PYTHON} -m systrace_py")
                     if started.client == "python" else ("-u PYTHONPATH", str(NATIVE)))
    command = (f"cd {REPO} && env {unset} PS1='prompt> ' XDG_RUNTIME_DIR={started.runtime} "
               f"SYSTRACE_NO_RESIDENT=0 {client} -p {policy} -- bash --norc "
               f"--noprofile -i; echo EXIT=$? > {marker}; sleep 30")
    tmux = ["tmux", "-L", f"systrace-test-{uuid.uuid4().hex[:8]}"]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "40", command], check=True)

    def keys(*typed: str) -> None:
        subprocess.run([*tmux, "send-keys", *typed], check=True)

    def shows(text: str) -> None:
        _until(lambda: text in subprocess.run([*tmux, "capture-pane", "-p", "-S", "-100"],
                                              capture_output=True, text=True).stdout,
               f"{text!r} on the terminal")

    try:
        shows("prompt>")
        keys(f"{WHO[2]} > {who}", "Enter")
        _until(lambda: who.exists() and "TracerPid" in who.read_text(), "the shell's answer")
        assert _through_server(started, subprocess.CompletedProcess([], 0, who.read_text()))
        if started.client == "native":
            keys(f"cat /proc/$PPID/comm > {who}", "Enter")
            _until(lambda: who.read_text() == "systrace\n", "the native client as the parent")
        keys("sleep 300", "Enter")
        time.sleep(0.5)
        keys("C-z")
        shows("Stopped")
        keys("jobs", "Enter")
        shows("[1]+  Stopped                 sleep 300")
        keys("fg", "Enter")
        time.sleep(0.5)
        keys("C-c")
        keys("echo status=$?", "Enter")
        shows("status=130")
        keys("exit 3", "Enter")
        _until(lambda: marker.exists() and marker.read_text().strip(), "the shell to exit")
        assert marker.read_text().strip() == "EXIT=3"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_stale_socket_and_other_versions_run_in_process(server: Server,
                                                        tmp_path: Path) -> None:
    """A socket nobody listens on (a server that was killed), or only another version's
    server: the run goes on in process, as if none ran."""
    import socket

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    server.socket.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(server.socket))
    stale.close()
    local = server.run(["-p", str(policy), "--", *WHO])
    assert local.returncode == 0, local.stderr
    assert not _through_server(server, local)
    assert server.start().returncode == 0  # (the stale socket is replaced)
    served = server.run(["-p", str(policy), "--", *WHO])
    assert _through_server(server, served)
    other = server.socket.with_name("resident-0.0.0-other.sock")
    server.socket.rename(other)
    try:
        local = server.run(["-p", str(policy), "--", *WHO])
        assert local.returncode == 0, local.stderr
        assert not _through_server(server, local)
    finally:
        other.rename(server.socket)


def _program_and_worker(proc: subprocess.Popen[str]) -> tuple[int, int]:
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.startswith("pid "), line
    program = int(line.split()[1])
    tracer = procfs.tracer_of(program)
    assert tracer, "the program is not traced"
    return program, tracer


def _start_sleeper(srv: Server, tmp_path: Path, loop: dict[str, str]) -> subprocess.Popen[str]:
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    cmd, env = srv.command(["-p", str(policy), "--", "sh", "-c",
                            "echo pid $$; exec sleep 600"], loop)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_worker_killed_mid_run_kills_the_program(started: Server, tmp_path: Path,
                                                 loop: dict[str, str]) -> None:
    proc = _start_sleeper(started, tmp_path, loop)
    try:
        program, worker = _program_and_worker(proc)
        assert worker != proc.pid  # (the worker traces it: the client is its parent)
        os.kill(worker, signal.SIGKILL)
        _, err = proc.communicate(timeout=PATIENCE)
    finally:
        proc.kill()
    assert proc.returncode == session.EXIT_INTERNAL
    assert "resident tracer ended" in err
    assert not procfs.alive(program)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_client_killed_mid_run_kills_the_tree(started: Server, tmp_path: Path,
                                              loop: dict[str, str]) -> None:
    proc = _start_sleeper(started, tmp_path, loop)
    try:
        program, worker = _program_and_worker(proc)
        proc.kill()
        proc.wait()
        _until(lambda: not procfs.alive(program), "the program to die with its client")
        _until(lambda: not procfs.alive(worker), "the worker to exit")
    finally:
        proc.kill()


# --- who may talk to it ---------------------------------------------------------------------------
#: The attack: a process asks the server to run something (here: to learn into a file of the
#: attacker's choosing, as -A -o ~/.bashrc would).  Served: ESCAPED; turned away: BLOCKED.
ATTACK = textwrap.dedent("""\
    import os, sys
    from systrace_py import resident_client as rc
    found = rc.connect()
    if found is None:
        print("BLOCKED: the client's check of the server failed"); sys.exit(0)
    sock = found[0]
    try:
        assert rc.receive(sock)["kind"] == "hello"
        rc.send(sock, {"kind": "run", "argv": ["-A", "-o", sys.argv[1], "--", "/bin/true"],
                       "cwd": os.getcwd(), "env": dict(os.environ), "umask": 0o22,
                       "nice": 0, "limits": []}, (0, 1, 2, os.open(".", os.O_PATH)))
        reply = rc.receive(sock)
    except (OSError, rc.ResidentError):
        print("BLOCKED: the server turned us away"); sys.exit(0)
    print(f"ESCAPED: the server answered {reply['kind']}")
    """)


def test_a_traced_program_is_refused(started: Server, tmp_path: Path) -> None:
    """Confused deputy: the traced program runs as the user, but the server serves only
    processes nobody traces (red team: a program asking for a run under a policy it chose,
    or a learned policy written where it likes).  Control: the same request, untraced."""
    attack = tmp_path / "attack.py"
    attack.write_text(ATTACK)
    target = tmp_path / "bashrc"
    env = systrace_env(started.env)
    control = subprocess.run([PYTHON, str(attack), str(target)], capture_output=True,
                             text=True, env=env, timeout=PATIENCE)
    assert control.stdout.startswith("ESCAPED"), control.stdout + control.stderr
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    traced = started.run(["--no-resident", "-p", str(policy), "--", PYTHON, str(attack),
                          str(target)])
    assert traced.stdout.startswith("BLOCKED"), traced.stdout + traced.stderr


#: A server that lies: it says it traces the program (naming as tracer its argv[1]: "self",
#: "0" or "-1"), and lets it go untraced.  With "--resident" among its words and not dumpable
#: it passes for a server (as a real one would that failed); its socket is bound at its
#: argv[2] ("" = the resident socket's path).  It prints "served" when a request came.
LIAR = textwrap.dedent("""\
    import ctypes, os, signal, socket, sys, time
    from systrace_py import procfs, resident_client as rc
    if "--resident" in sys.argv:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # (PR_SET_DUMPABLE 0: as a server)
    tracer = {"self": os.getpid(), "0": 0, "-1": -1}[sys.argv[1]]
    path = sys.argv[2] or rc.socket_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    print("listening", flush=True)
    while True:  # (connections checked and closed unused: the next)
        conn, _ = listener.accept()
        try:
            rc.send(conn, {"kind": "hello", "build": rc.build_id()})
            request = rc.receive(conn, [])
            break
        except (OSError, rc.ResidentError):
            conn.close()
    print("served", flush=True)
    argv = request["argv"][request["argv"].index("--") + 1:]
    rc.send(conn, {"kind": "spawn", "tracer": tracer, "filters": [], "nnp": False,
                   "no_core": True, "argv": argv, "executable": argv[0],
                   "env": None, "cwd": None, "restore_signals": []})
    pid = rc.receive(conn)["pid"]
    os.kill(pid, signal.SIGCONT)  # (not seized: it runs on untraced, if it runs)
    while procfs.alive(pid):
        time.sleep(0.01)
    rc.send(conn, {"kind": "exit", "code": 0})
    """)


@contextlib.contextmanager
def _liar(tmp_path: Path, srv: Server, tracer: str, *, at: str = "",
          server: bool = True) -> Iterator[subprocess.Popen[str]]:
    liar = tmp_path / "liar.py"
    liar.write_text(LIAR)
    proc = subprocess.Popen([PYTHON, str(liar), tracer, at,
                             *(["--resident"] if server else [])],
                            stdout=subprocess.PIPE, text=True, env=systrace_env(srv.env))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _served(proc: subprocess.Popen[str]) -> bool:
    """Whether the liar got the request (it said so before it was killed)."""
    proc.kill()
    assert proc.stdout is not None
    return "served" in proc.stdout.read()


def _runs_who(srv: Server, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A run whose program writes its PPid and TracerPid to tmp_path/who."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    who = tmp_path / "who"
    return srv.run(["-p", str(policy), "--", "sh", "-c", f"{WHO[2]} > {who}"],
                   timeout=PATIENCE)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
@pytest.mark.parametrize("tracer", ["self", "0", "-1"])
def test_a_lying_server_never_runs_the_program_untraced(server: Server, tmp_path: Path,
                                                        tracer: str) -> None:
    """Fail closed on the client's side too: the program's process runs nothing unless a
    worker of the server traces it -- a tracer that is not the server's untraced child, or
    0 (which an untraced process's TracerPid matches), or -1 (PR_SET_PTRACER: anyone), is
    refused before the program runs (review 5, finding 1)."""
    with _liar(tmp_path, server, tracer) as proc:
        result = _runs_who(server, tmp_path)
        assert _served(proc), result.stderr  # (it passed for a server: the lie was told)
    assert result.returncode == session.EXIT_INTERNAL, result.stderr
    assert "not its worker" in result.stderr
    assert not (tmp_path / "who").exists()


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_listener_that_is_no_server_is_not_talked_to(server: Server,
                                                        tmp_path: Path) -> None:
    """An untraced process of the user's listening at the socket's path (a socket a traced
    program renamed there, which socket activation or a launcher made) but no resident server:
    the run goes on in process, and it is sent nothing; ``--resident stop`` does not signal
    it.  Control: the same listener saying --resident is talked to."""
    with _liar(tmp_path, server, "0", server=False) as proc:
        result = _runs_who(server, tmp_path)
        stop = server.stop()
        assert proc.poll() is None, "--resident stop signalled a process that is no server"
        assert not _served(proc)
    assert result.returncode == 0, result.stderr
    assert not _through_server(server, subprocess.CompletedProcess(
        [], 0, (tmp_path / "who").read_text()))
    assert "no resident tracer is running" in stop.stderr
    server.socket.unlink()
    with _liar(tmp_path, server, "0") as control:
        _runs_who(server, tmp_path)
        assert _served(control)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_symlink_to_a_server_is_not_followed(server: Server, tmp_path: Path) -> None:
    """The socket's path a symlink (to a listener that passes for a server, here one that
    lies): the client does not follow it -- the run is in process, the listener is sent
    nothing, --resident stop signals nothing.  Control: the listener at the path itself."""
    server.socket.parent.mkdir(mode=0o700)
    elsewhere = server.runtime / "elsewhere.sock"
    server.socket.symlink_to(elsewhere)
    with _liar(tmp_path, server, "0", at=str(elsewhere)) as proc:
        result = _runs_who(server, tmp_path)
        server.stop()
        assert proc.poll() is None, "--resident stop signalled through a symlink"
        assert not _served(proc)
    assert result.returncode == 0, result.stderr
    server.socket.unlink()
    with _liar(tmp_path, server, "0") as control:
        _runs_who(server, tmp_path)
        assert _served(control)


def test_an_unprivileged_users_server_serves_and_is_out_of_its_programs_reach() -> None:
    """A user's own server and run, without root: the filter needs no_new_privs (set by the
    client's child, through the native extension), and the server is not dumpable, so the
    programs its workers trace (the same user) cannot ptrace it or write its memory: its
    /proc/PID/mem is root's, where a process of the user's (the control) has the user's.
    Nor is the client during the run (the program's parent)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to become another user")
    uid = 1000
    runtime = Path(tempfile.mkdtemp(prefix="systrace-rt-"))
    os.chown(runtime, uid, uid)
    policy = runtime / "p.toml"
    policy.write_text(SHADOW)
    os.chown(policy, uid, uid)
    become = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    srv = Server(runtime)
    try:
        done = run_systrace(["--resident"], env=srv.env, prefix=become, cwd=runtime)
        assert done.returncode == 0, done.stderr
        # (the user's interpreter may not be ours, /root's: its build, its socket's name)
        [srv.socket] = srv.socket.parent.glob("*.sock")
        server = srv.pid()
        assert server is not None
        assert os.stat(f"/proc/{server}/mem").st_uid == 0
        control = subprocess.Popen([*become, "sleep", "60"])
        try:
            _until(lambda: os.stat(f"/proc/{control.pid}/status").st_uid == uid,
                   "the control to become the user")
            assert os.stat(f"/proc/{control.pid}/mem").st_uid == uid
        finally:
            control.kill()
            control.wait()
        result = run_systrace(["-p", str(policy), "--", "sh", "-c",
                               f"{WHO[2]}; stat -c 'parent mem %u' /proc/$PPID/mem"],
                              env=srv.env, prefix=become, cwd=runtime)
        assert result.returncode == 0, result.stderr
        assert _through_server(srv, result)
        # the client, the program's untraced parent, is not dumpable during the run (review
        # 5, finding 13), as the in-process tracer is not: its /proc/PID/mem is root's
        assert "parent mem 0\n" in result.stdout, result.stdout
        refused = run_systrace(["-p", str(policy), "--", "cat", "/etc/shadow"], env=srv.env,
                               prefix=become, cwd=runtime)
        assert refused.returncode == 1
        assert "refused 1 call" in refused.stderr
        assert run_systrace(["--resident", "stop"], env=srv.env, prefix=become,
                            cwd=runtime).returncode == 0
    finally:
        pid = srv.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(runtime, ignore_errors=True)


#: The ``systrace`` command a ``pip install`` makes: pyproject.toml's script-files (not an
#: entry point, whose generated shim imports re first: test_pips_shim_imports_re)
COMMAND = REPO / "scripts" / "systrace-python"
#: what a client importing any of these has lost the point of the server: a start near the
#: bare interpreter's
CLIENT_HEAVY = {"typing", "enum", "ctypes", "socket", "re", "argparse", "dataclasses",
                "collections", "functools", "signal", "contextlib", "json", "importlib.util"}


def _client_imports(srv: Server, tmp_path: Path, *start: str) -> set[str]:
    """The modules a run of WHO through ``srv`` imported in the client, started as
    ``python -S -X importtime START...`` with this tree first on sys.path (without site, as
    the bench's --install dev runs it: a development venv's editable finder imports re and
    more at ``site``)."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    result = subprocess.run([PYTHON, "-S", "-X", "importtime", *start, "-p", str(policy),
                             "--", *WHO], capture_output=True, text=True,
                            env=systrace_env({**srv.env, "PYTHONPATH": str(REPO)}),
                            timeout=PATIENCE)
    assert result.returncode == 0, result.stderr
    assert _through_server(srv, result), result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "systrace_py.resident_client" in imported  # (the list is read right)
    return imported


@pytest.mark.parametrize("how", ["python -c", "the command"])
def test_client_imports_nothing_heavy(started: Server, tmp_path: Path, how: str) -> None:
    """What a run through the server imports in the client: ``main()`` called (as ``python
    -m systrace_py`` and the bench's --install dev call it), and the installed command, whose
    own lines run first (issue 16, start27: pip's console-script shim imported re, with
    enum, functools and collections: ~1/3 of the client's instructions)."""
    code = "import sys; from systrace_py.__main__ import main; sys.exit(main())"
    imported = _client_imports(started, tmp_path,
                               *(["-c", code] if how == "python -c" else [str(COMMAND)]))
    assert not CLIENT_HEAVY & imported, CLIENT_HEAVY & imported
    ours = {m for m in imported if m.startswith("systrace_py")}
    assert ours <= {"systrace_py", "systrace_py.__main__", "systrace_py.syspath",
                    "systrace_py.resident_client",
                    "systrace_py.procfs", "systrace_py.kernel", "systrace_py.engine",
                    "systrace_py.engine.child", "systrace_py._cloop"}, ours


def test_pips_shim_imports_re(started: Server, tmp_path: Path) -> None:
    """The control of the test above: the console script pip generates for an entry point
    (``[project.scripts] systrace = "systrace_py.__main__:main"``, what the command was until
    start27), written by pip's own script maker, imports re before systrace's first line --
    which the check above sees."""
    scripts = pytest.importorskip("pip._vendor.distlib.scripts")
    maker = scripts.ScriptMaker(None, str(tmp_path), add_launchers=False)
    maker.executable = PYTHON
    made = maker.make("systrace = systrace_py.__main__:main")
    assert made, "pip's script maker made nothing"
    assert "re" in _client_imports(started, tmp_path, made[0])


@pytest.mark.parametrize("compiler", ["yes", "no", "broken"])
def test_the_build_installs_the_command(tmp_path: Path, compiler: str) -> None:
    """setuptools' build of the scripts (what pip's install of the tree runs, offline here)
    makes ``systrace-python`` of scripts/systrace-python, its ``#!python`` line made the
    interpreter's path, and its text otherwise the same; and ``systrace`` beside it: the
    native client, or without a compiler (SYSTRACE_NO_NATIVE_COMMAND=1 pretends so) a copy
    of ``systrace-python``.  "broken": a compiler that says it succeeded and made no program
    is no compiler (review 31; before: the build failed, os.chmod of a
    missing file)."""
    import sysconfig

    out = tmp_path / "scripts"
    env = dict(os.environ, SYSTRACE_NO_NATIVE_COMMAND="1" if compiler == "no" else "0")
    if compiler == "broken":
        name = (sysconfig.get_config_var("CC") or "cc").split()[0]
        if "/" in name:
            pytest.skip(f"the compiler is {name}: not found by PATH")
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / name).write_text("#!/bin/sh\nexit 0\n")
        (fake / name).chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    done = subprocess.run([PYTHON, "setup.py", "-q", "build_scripts", "-f", "-d", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=PATIENCE, env=env)
    assert done.returncode == 0, done.stderr
    built = (out / "systrace-python").read_text().split("\n", 1)
    source = COMMAND.read_text().split("\n", 1)
    assert source[0] == "#!python" and built[0].startswith("#!/"), built[0]
    assert "python" in built[0] and built[1] == source[1]
    assert os.access(out / "systrace-python", os.X_OK) and os.access(out / "systrace", os.X_OK)
    native = (out / "systrace").read_bytes()
    if compiler == "yes":
        assert native[:4] == b"\x7fELF"
    else:
        assert native == (out / "systrace-python").read_bytes()
    help_ = subprocess.run([str(out / "systrace"), "--version"], capture_output=True,
                           text=True, timeout=PATIENCE, env=systrace_env())
    assert help_.returncode == 0 and help_.stdout.startswith("systrace-py"), help_.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _listener(path: Path) -> int:
    """The process that holds the listening socket at ``path`` (found without connecting;
    /proc/net/unix names it as it was bound, ``PATH.PID``, before its rename into place)."""
    inodes = {line.split()[6] for line in Path("/proc/net/unix").read_text().splitlines()[1:]
              if line.split()[-1].rpartition(".")[0] == str(path)}
    assert inodes, path
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                return int(fd.parts[2])
    if os.geteuid() != 0:  # (the server is not dumpable: its /proc/PID/fd is root's)
        pytest.skip("as an ordinary user the server's descriptors cannot be listed")
    raise AssertionError(f"nobody listens on {path}")


def _live_children(pid: int) -> list[int]:
    """``pid``'s children that have not exited (a worker that ended is reaped at the next
    connection)."""
    return [c for c in _children(pid) if procfs.alive(c)]


def test_a_run_is_served_by_a_worker_forked_before_it(started: Server, tmp_path: Path) -> None:
    """A run's worker is forked before its connection comes (resident._fork_spare: the fork
    and the first writes to the server's pages are off the run's way): the program's tracer
    is the server's child that was there before the run; the next run's is there after it;
    a spare that has gone costs the next run nothing but a worker forked then; and a spare
    ends with its server."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    server = _listener(started.socket)  # (not Server.pid(): a connection, a spare's)
    _until(lambda: len(_live_children(server)) == 1, "the server's spare worker")
    [spare] = _live_children(server)
    result = started.run(["-p", str(policy), "--", *WHO])
    assert result.returncode == 0, result.stderr
    ppid, tracer = _who(result.stdout)
    assert tracer == spare != ppid, (spare, result.stdout)
    _until(lambda: [c for c in _live_children(server) if c != spare], "the next spare")
    [after] = [c for c in _live_children(server) if c != spare]
    os.kill(after, signal.SIGKILL)
    _until(lambda: after not in _live_children(server), "the spare's death")
    result = started.run(["-p", str(policy), "--", *WHO])
    assert result.returncode == 0, result.stderr
    assert _through_server(started, result), result.stderr
    _until(lambda: len(_live_children(server)) == 1, "a spare again")
    [last] = _live_children(server)
    assert started.stop().returncode == 0
    _until(lambda: not procfs.alive(last), "the spare's exit with its server")


def test_an_approver_holds_no_descriptor_of_the_worker(started: Server, tmp_path: Path) -> None:
    """The approver a served run starts (``--ask-via exec:``) holds the descriptors an
    in-process run's approver holds, no other: the spare worker's connection came over its
    socket pair (SCM_RIGHTS), whose descriptors are not close-on-exec unless asked
    (MSG_CMSG_CLOEXEC) -- a connection accept() gave was.  The approver held the worker's
    connection to the client (review 27): the client, waiting for that connection's end,
    waited for the approver's too after its worker had gone.  The approver lists its own
    descriptors, then answers."""
    import shlex

    (tmp_path / "a.txt").write_text("a")
    policy = tmp_path / "p.toml"
    policy.write_text(f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{tmp_path}/a.txt"\naction = "ask"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/a.txt"\nanswer = "permit-now"\n')
    held = {}
    for kind, extra in (("served", {}), ("local", {"SYSTRACE_NO_RESIDENT": "1"})):
        listing = tmp_path / f"{kind}.fds"
        script = (f"import os; fds = [fd for fd in os.listdir('/proc/self/fd') "
                  f"if os.path.exists('/proc/self/fd/' + fd)]; "
                  f"open({str(listing)!r}, 'w').write(' '.join(sorted(fds, key=int))); "
                  f"os.execv({PYTHON!r}, [{PYTHON!r}, '-m', 'systrace_py.approver', "
                  f"'--rules', {str(answers)!r}])")
        via = "exec:" + shlex.join([PYTHON, "-c", script])
        result = started.run(["-p", str(policy), "--ask-via", via, "--", "sh", "-c",
                              f"cat {tmp_path}/a.txt; echo; {WHO[2]}"], env=extra)
        assert result.returncode == 0 and result.stdout.startswith("a"), result.stderr
        assert _through_server(started, result) == (kind == "served"), result.stdout
        held[kind] = listing.read_text().split()
    assert held["served"] == held["local"] == ["0", "1", "2"], held


def test_a_server_started_as_resident_equals_start_is_one(server: Server,
                                                            tmp_path: Path) -> None:
    """``--resident=start`` is how argparse also takes ``--resident start``: the server it
    starts is a server -- its runs are served, ``--resident stop`` stops it (the spare with
    it), and the guards count it (resident_client.resident_command, one reading of a
    server's command line).  On main 99ba44c the client trusted no such server (runs in
    process), ``stop`` found none, and the server (and its spare) lived on unseen until its
    idle time ran out (review 27)."""
    done = server.run(["--resident=start", "--resident-idle=300"])
    assert done.returncode == 0, done.stderr
    listener = _listener(server.socket)
    assert resident_client.resident_command(
        Path(f"/proc/{listener}/cmdline").read_bytes()), listener
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    result = server.run(["-p", str(policy), "--", *WHO])
    assert result.returncode == 0, result.stderr
    assert _through_server(server, result), result.stdout
    _until(lambda: len(_live_children(listener)) == 1, "the server's spare worker")
    [spare] = _live_children(listener)
    assert server.stop().returncode == 0
    _until(lambda: not procfs.alive(listener) and not procfs.alive(spare),
           "the server's and its spare's exit")


def _zombies(pid: int) -> list[int]:
    """``pid``'s children that have exited and not been reaped."""
    found = []
    for child in _children(pid):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                found.append(child)
    return found


def test_an_ended_worker_is_reaped_without_waiting_for_the_next_run(started: Server,
                                                                     tmp_path: Path) -> None:
    """A run's worker that has exited is reaped then (SIGCHLD wakes the server), not left a
    zombie (``[systrace] <defunct>`` in ps) until the next connection, which may be the idle
    exit's ten minutes away -- as a new user met it (front28: on main the zombie stayed, and
    this waited PATIENCE and failed); a spare killed alike."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    server = _listener(started.socket)
    _until(lambda: len(_live_children(server)) == 1, "the server's spare worker")
    [spare] = _live_children(server)
    result = started.run(["-p", str(policy), "--", *WHO])
    assert result.returncode == 0, result.stderr
    assert _through_server(started, result), result.stderr
    _until(lambda: spare not in _children(server), "the ended worker's reaping")
    _until(lambda: [c for c in _live_children(server) if c != spare], "the next spare")
    [after] = [c for c in _live_children(server) if c != spare]
    os.kill(after, signal.SIGKILL)
    _until(lambda: after not in _children(server), "the killed spare's reaping")
    assert not _zombies(server)


def test_a_worker_imports_nothing(server: Server, tmp_path: Path) -> None:
    """A worker imports no module once it has become the client (review 5, finding 3): an
    import searches sys.path, whose entries the traced program may write to (the client's
    working directory, a PYTHONPATH entry); what a run can import, warm_up imported in the
    server.  The server runs with PYTHONPROFILEIMPORTTIME=1, so that a worker says each
    import on its stderr: the client's.  Runs of each kind: enforcing, learning into a file,
    a log, a dry run, -v, an approver, a policy error, a missing command, bad usage."""
    done = server.run(["--resident", "--resident-idle", "300"],
                      env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    policy = tmp_path / "p.toml"
    policy.write_text(SHADOW)
    asks = tmp_path / "ask.toml"
    asks.write_text('default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                    'path = "/etc/hostname"\naction = "ask"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\npath = "*"\nanswer = "permit-now"\n')
    import shlex

    via = "exec:" + shlex.join([PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])
    bad = tmp_path / "bad.toml"
    bad.write_text('default = "permit"\n[[rule]]\nbogus = 1\n')
    runs = (["-p", str(policy), "--", *WHO],
            ["-A", "-o", "learned.toml", "--", "cat", "/etc/hostname"],
            ["-A", "-o", "learned.toml", "--", "cat", "/etc/hostname"],  # (merging into it)
            ["-p", str(policy), "--log", "log.jsonl", "--", "cat", "/etc/shadow"],
            ["-p", str(policy), "-n", "--", "cat", "/etc/shadow"],
            ["-p", str(policy), "-v", "--stats", "--", "cat", "/etc/shadow"],
            ["-p", str(asks), "--ask-via", via, "--", "cat", "/etc/hostname"],
            ["-p", str(bad), "--", "true"],
            ["-p", str(policy), "--", "no-such-command-here"],
            ["--bogus-flag", "--", "true"])
    imported = {}
    for args in runs:
        result = server.run(args, cwd=tmp_path)
        imported.update({line.split("|")[-1].strip(): args[-3:]
                         for line in result.stderr.splitlines()
                         if line.startswith("import time:") and "cumulative" not in line})
    assert not imported, imported
    assert (tmp_path / "learned.toml").exists()
    assert "refused" in (tmp_path / "log.jsonl").read_text()


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_server_of_other_code_serves_no_run(server: Server, tmp_path: Path) -> None:
    """The socket's name carries a hash of the package's files (review 5, finding 5): a
    server started from a copy of the tree does not serve this tree's runs (they run in
    process), though it serves the copy's (the control); once a file of the copy changes, the
    copy's runs no longer find it, and the server exits at its next connection."""
    copy = tmp_path / "tree"
    shutil.copytree(REPO / "systrace_py", copy / "systrace_py",
                    ignore=shutil.ignore_patterns("__pycache__"))
    theirs = dict(server.env, PYTHONPATH=str(copy))
    done = run_systrace(["--resident", "--resident-idle", "300"], env=theirs, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    args = ["-p", str(policy), "--", *WHO]
    ours = server.run(args)
    assert ours.returncode == 0, ours.stderr
    assert not _through_server(server, ours)
    [old] = list(server.socket.parent.glob("*.sock"))
    import socket

    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(str(old))
        pid = procfs.peer(probe)[0]  # type: ignore[index]
    # (served after the probe: the server has seen the probe before the edit)
    control = run_systrace(args, env=theirs, cwd=tmp_path)
    assert _through_server(server, control), control.stderr
    os.utime(copy / "systrace_py" / "report.py", ns=(1, 1))
    edited = run_systrace(args, env=theirs, cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert not _through_server(server, edited)
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(str(old))
    _until(lambda: not procfs.alive(pid), "the server of the old files to exit")
    assert not old.exists()


def test_a_traced_programs_connections_do_not_keep_the_server(server: Server,
                                                              tmp_path: Path) -> None:
    """The idle deadline is put off by a trusted client only (review 5, finding 5): a traced
    program that connects again and again is turned away and does not keep the server alive
    (it exits after its idle time while the program still connects)."""
    done = server.start("--resident-idle", "1")
    assert done.returncode == 0, done.stderr
    pid = server.pid()
    assert pid is not None
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    knock = tmp_path / "knock.py"
    knock.write_text(textwrap.dedent(f"""\
        import socket, time
        while True:
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect({str(server.socket)!r})
                except OSError:
                    pass
            time.sleep(0.05)
        """))
    proc = subprocess.Popen([PYTHON, "-m", "systrace_py", "--no-resident", "-p", str(policy),
                             "--", PYTHON, str(knock)], env=systrace_env(server.env))
    try:
        _until(lambda: not procfs.alive(pid), "the server to exit while a program knocks")
        assert proc.poll() is None  # (it knocked all along)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_stopped_server_costs_a_run_a_second_not_a_hang(started: Server,
                                                          tmp_path: Path) -> None:
    """A process of the user's SIGSTOPs the server (a traced program may not since red team
    48: tests/escape/test_escape_redteam48.py): later runs wait for a worker's hello a
    bounded time (HELLO_PATIENCE), then run in process (review 5, finding 4); --resident stop
    still ends it.  Before: they blocked for ever."""
    server = started.pid()
    assert server is not None
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    os.kill(server, signal.SIGSTOP)
    try:
        _until(lambda: (procfs.read_stat(server) or [b"?"])[procfs.STATE] == b"T",
               "the server to be stopped")
        result = started.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        assert result.returncode == 0, result.stderr
        assert not _through_server(started, result)
        assert started.stop().returncode == 0
        _until(lambda: not procfs.alive(server), "the stopped server to exit when stopped")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signal.SIGCONT)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_stopped_servers_full_backlog_costs_a_run_nothing_not_a_hang(
        started: Server, tmp_path: Path) -> None:
    """The server stopped (as above) while connections keep coming: its listen backlog fills
    (64), and a blocking connect() then waits for an accept that never comes -- before the
    hello's patience even starts.  A client connects without blocking: a full backlog is no
    server (EAGAIN), and the run goes on in process at once (review 31; before: both clients
    blocked for ever in connect)."""
    import socket

    server = started.pid()
    assert server is not None
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    fillers: list[socket.socket] = []
    os.kill(server, signal.SIGSTOP)
    try:
        _until(lambda: (procfs.read_stat(server) or [b"?"])[procfs.STATE] == b"T",
               "the server to be stopped")
        while True:  # (the backlog filled by connections of ours, none accepted)
            sock = socket.socket(socket.AF_UNIX)
            sock.setblocking(False)
            fillers.append(sock)
            try:
                sock.connect(str(started.socket))
            except BlockingIOError:
                break
        result = started.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        assert result.returncode == 0, result.stderr
        assert not _through_server(started, result)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signal.SIGCONT)
        for sock in fillers:
            sock.close()


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
@pytest.mark.parametrize("how", ["mount namespace", "group", "no_new_privs", "capabilities"])
def test_a_client_unlike_the_server_runs_in_process(started: Server, tmp_path: Path,
                                                    how: str) -> None:
    """A worker runs with the server's namespaces, root, ids, groups, capabilities,
    no_new_privs and seccomp, not its client's: a client whose differ is not served, it runs
    in process (review 5, findings 6 and 7; before: served, with the server's files and
    rights).  Control: the same run, as the server, served."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("unshare") is None:
        pytest.skip("needs root, setpriv and unshare")
    prefix = {"mount namespace": ["unshare", "-m"],
              "group": ["setpriv", "--regid=4321", "--keep-groups"],
              "no_new_privs": ["setpriv", "--no-new-privs"],
              "capabilities": ["setpriv", "--bounding-set=-sys_nice"]}[how]
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    policy.chmod(0o644)
    args = ["-p", str(policy), "--", *WHO]
    control = started.run(args)
    assert _through_server(started, control), control.stderr
    unlike = started.run(args, prefix=prefix)
    assert unlike.returncode == 0, unlike.stderr
    assert not _through_server(started, unlike)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_declined_run_says_its_warnings_once(started: Server, tmp_path: Path) -> None:
    """A run the worker declines after it loaded the policy (one that can ask at the
    terminal) says the policy's warnings once, in process, not first in the worker too
    (review 5, finding 8); served (-a), it says them once as well, before the program."""
    if os.path.realpath("/bin/cat") == "/bin/cat":
        pytest.skip("/bin is not a symlink here")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n[program."/bin/cat"]\n'
                      '[[program."/bin/cat".rule]]\ncalls = ["fsread"]\n'
                      'path = "/nonexistent/x"\naction = "ask"\n')
    for extra in ([], ["-a"]):
        result = started.run([*extra, "-p", str(policy), "--", *WHO])
        assert result.returncode == 0, result.stderr
        assert _through_server(started, result) == bool(extra)
        assert result.stderr.count("resolves to") == 1, result.stderr


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_worker_takes_its_clients_nice_value_and_limits(started: Server,
                                                          tmp_path: Path) -> None:
    """The worker is the run's tracer, which in process has the client's nice value and
    resource limits: it takes them (review 5, finding 13; before: the server's)."""
    if shutil.which("prlimit") is None:
        pytest.skip("needs prlimit")
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    tracer_says = ('t=$(grep TracerPid /proc/$$/status | cut -f2); '
                   'echo nice $(cut -d" " -f19 /proc/$t/stat); '
                   'grep "Max open files" /proc/$t/limits')
    result = started.run(["-p", str(policy), "--", "sh", "-c", f"{tracer_says}; {WHO[2]}"],
                         prefix=["nice", "-n", "7", "prlimit", "--nofile=99:99"])
    assert result.returncode == 0, result.stderr
    assert _through_server(started, result)
    assert f"nice {min(os.nice(0) + 7, 19)}\n" in result.stdout  # (ours + 7: CI may be niced)
    assert re.search(r"Max open files\s+99\s+99", result.stdout), result.stdout


def test_a_server_under_no_new_privs_is_told_it_could_not_see_a_sandbox() -> None:
    """Gap #34: no_new_privs set means a client like the server could be in a Landlock
    domain no /proc file shows; with it clear, an unprivileged client cannot be."""
    from systrace_py.resident import unseen_sandbox

    status = b"Name:\tpython3\nNoNewPrivs:\t%s\nSeccomp:\t0\n"
    assert "Landlock" in unseen_sandbox(status % b"1")
    assert unseen_sandbox(status % b"0") == ""
    assert unseen_sandbox(b"Name:\tpython3\n") == ""  # (a kernel without the line: none)


BY_DESCRIPTOR = textwrap.dedent("""\
    import os, sys
    from systrace_py import resident_client as rc
    named, held = sys.argv[1], sys.argv[2]
    sock = rc.connect()[0]
    assert rc.receive(sock)["kind"] == "hello"
    here = os.open(held, os.O_PATH | os.O_DIRECTORY)
    rc.send(sock, {"kind": "run", "argv": ["-p", "p.toml", "--", "true"], "cwd": named,
                   "env": dict(os.environ), "umask": 0o22, "nice": os.nice(0), "limits": []},
            (0, 1, 2, here))
    print(rc.receive(sock)["kind"])
    """)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_run_starts_in_the_clients_directory_itself_not_one_its_name_leads_to(
        started: Server, tmp_path: Path) -> None:
    """The worker takes the client's working directory as a descriptor (red team 20: by
    name, a process of the user that moved a directory of the path meanwhile would start
    the run elsewhere).  A request naming one directory and passing another: the run's
    relative ``-p p.toml`` is the passed directory's -- a policy with an error there, so
    the run ends before a program starts ("exit"), where the named one's would have run."""
    named, held = tmp_path / "named", tmp_path / "held"
    for directory in (named, held):
        directory.mkdir()
    (named / "p.toml").write_text(PERMIT)
    (held / "p.toml").write_text("default = \"sometimes\"\n")
    script = tmp_path / "by_descriptor.py"
    script.write_text(BY_DESCRIPTOR)
    out = subprocess.run([PYTHON, str(script), str(named), str(held)], capture_output=True,
                         text=True, env=systrace_env(started.env), timeout=PATIENCE)
    assert out.stdout.strip() == "exit", out
    assert f"{held}/p.toml" in out.stderr or "p.toml" in out.stderr, out


def test_no_server_directory_no_build_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who never ran ``--resident`` has no server directory, so no server to ask: the
    client says so before it computes the build's name (~90 stats, ~0.2 ms of every
    in-process start).  With the directory there it is computed, as connect needs it."""
    if importlib.util.find_spec("systrace_py._cloop") is None:
        pytest.skip("no native extension: the client runs nothing through a server")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv(resident_client.NO_RESIDENT_ENV, raising=False)
    named: list[bool] = []

    def build_id() -> str:
        named.append(True)
        return "0" * 12

    monkeypatch.setattr(resident_client, "build_id", build_id)
    argv = ["-p", str(tmp_path / "p.toml"), "--", "true"]
    assert resident_client.run(argv) is None and named == []
    (tmp_path / "systrace-py").mkdir(mode=0o700)
    assert resident_client.run(argv) is None and named == [True]  # (no server listens)
