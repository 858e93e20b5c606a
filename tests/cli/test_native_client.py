"""The native ``systrace`` command (scripts/systrace.c), the resident tracer's client in C:
the bytes it sends are the Python client's, and what a hostile server or environment gives it
ends as the Python client ends it (tests/cli/test_resident.py runs the resident tracer's
behaviours with both clients)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli.test_resident import (  # (the fixtures: each test its own server directory)
    CLIENTS,
    PATIENCE,
    PERMIT,
    WHO,
    Server,
    _through_server,
    server,  # noqa: F401
    started,  # noqa: F401
)

from conftest import PYTHON, systrace_env

#: A server that records: with "--resident" among its words and not dumpable it passes for
#: one; it says hello (with $HELLO for its build, when set), writes the request's bytes
#: (after the length) to argv[1], and answers with argv[2]'s bytes as they are (a length and
#: a body: a hostile server's), then closes.
RECORDER = textwrap.dedent("""\
    import ctypes, os, socket, sys
    from systrace_py import resident_client as rc
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # (PR_SET_DUMPABLE 0: as a server)
    path = rc.socket_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    print("listening", flush=True)
    answer = bytes.fromhex(sys.argv[2])
    while True:
        conn, _ = listener.accept()
        rc.send(conn, {"kind": "hello", "build": os.environ.get("HELLO") or rc.build_id()})
        fds = []
        size = int.from_bytes(rc._read_exactly(conn, 4, fds), "little")
        for fd in fds:  # (the client's stdout and stderr: its caller waits for their end)
            os.close(fd)
        with open(sys.argv[1], "ab") as f:
            f.write(rc._read_exactly(conn, size) + b"\\n--\\n")
        conn.sendall(answer)
        conn.close()
    """)


def _message(body: bytes) -> str:
    return (len(body).to_bytes(4, "little") + body).hex()


@contextlib.contextmanager
def _recorder(srv: Server, tmp_path: Path, answer: str) -> Iterator[Path]:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "requests"
    proc = subprocess.Popen([PYTHON, str(script), str(log), answer, "--resident"],
                            stdout=subprocess.PIPE, text=True, env=systrace_env(srv.env))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
        yield log
    finally:
        proc.kill()
        proc.wait()


def _native(srv: Server) -> Server:
    native = Server(srv.runtime, "native")
    if not __import__("cli.test_resident", fromlist=["_native_built"])._native_built():
        pytest.skip("no native command built")
    return native


def test_both_clients_send_the_same_bytes(server: Server, tmp_path: Path) -> None:  # noqa: F811
    """One spec for the wire (resident_client.WIRE_VERSION): the same run's request is the
    same bytes from either client -- argv, the environment in its order, umask, nice value,
    limits.  (Before, marshal's version 4 marked the objects Python held twice by reference:
    no other writer could produce its bytes.)"""
    import marshal

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    exit3 = _message(marshal.dumps({"kind": "exit", "code": 3}, 2))
    with _recorder(server, tmp_path, exit3) as log:
        args = ["-A", "-o", "out.toml", "--", "echo", "a b", "", "=x"]
        for client in CLIENTS:
            cmd, env = Server(server.runtime, client).command(args, {"ZZ": "1=2", "A": ""})
            if client == "native":
                _native(server)
            env.pop("PYTHONPATH", None)  # (the same environment for both)
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path,
                                  timeout=PATIENCE)
            assert done.returncode == 3, (client, done.stderr)
        python, native, _ = log.read_bytes().split(b"\n--\n")
    assert marshal.loads(python)["argv"] == args
    assert python == native


ANSWERS = {
    "not marshal": _message(b"\xff\x00garbage"),
    "too long": (1 << 30).to_bytes(4, "little").hex(),
    "no kind": _message(b"{" + b"u\x04\x00\x00\x00code" + b"i\x03\x00\x00\x000"),
    "deep": _message(b"[\x01\x00\x00\x00" * 3000 + b"N"),
    "cut short": _message(b"{u\x04\x00\x00\x00kind")[:-2],
    "a spawn of lies": _message(b"{u\x04\x00\x00\x00kindu\x05\x00\x00\x00spawn"
                                b"u\x06\x00\x00\x00traceri\x01\x00\x00\x000"),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_hostile_servers_answer_runs_in_process(server: Server, tmp_path: Path,  # noqa: F811
                                                  answer: str) -> None:
    """What a server (one that passes the checks, then answers anything) says to a run's
    request, when it is no message of ours, ends the conversation: the run goes on in
    process, with either client -- no crash, nothing run untraced."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    with _recorder(server, tmp_path, ANSWERS[answer]) as log:
        done = server.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        assert log.exists(), done.stderr  # (it was asked)
    assert done.returncode == 0, done.stderr
    assert not _through_server(server, done)
    assert "TracerPid" in done.stdout  # (in process: traced by its parent)


@pytest.mark.parametrize("server", ["native"], indirect=True)
def test_a_hostile_environment(started: Server, tmp_path: Path) -> None:  # noqa: F811
    """The native client given what a caller may: 100,000 words of argv (served), fds 0-2
    closed (Python's: it says what it says in process), an XDG_RUNTIME_DIR longer than a
    path (no server: in process)."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    words = ["w"] * 100_000
    many = started.run(["-p", str(policy), "--", "sh", "-c", 'echo $#; ' + WHO[2], "sh",
                        *words], timeout=PATIENCE)
    assert many.returncode == 0, many.stderr[-500:]
    assert many.stdout.startswith("100000\n") and _through_server(started, many)
    cmd, env = started.command(["-p", str(policy), "--", "true"])
    closed = subprocess.run(["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", *cmd], env=env,
                            timeout=PATIENCE)
    python_cmd, python_env = Server(started.runtime).command(["-p", str(policy), "--", "true"])
    control = subprocess.run(["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", *python_cmd],
                             env=python_env, timeout=PATIENCE)
    assert closed.returncode == control.returncode
    long = started.run(["-p", str(policy), "--", *WHO],
                       env={"XDG_RUNTIME_DIR": "/" + "x/" * 3000})
    assert long.returncode == 0, long.stderr
    assert not _through_server(started, long)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_traced_server_is_not_talked_to(server: Server, tmp_path: Path) -> None:  # noqa: F811
    """A listener that passes for a server in all else (--resident, not dumpable) but is
    traced -- a traced program's process, or one a traced program could steer -- is sent
    nothing, by either client: the run goes on in process.  Control: the same listener
    untraced is talked to."""
    import os
    import shutil
    import signal

    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "requests"
    for traced in (True, False):
        prefix = ["strace", "-f", "-qq", "-e", "trace=none", "-o", "/dev/null"] if traced else []
        proc = subprocess.Popen([*prefix, PYTHON, str(script), str(log), _message(b"N"),
                                 "--resident"], stdout=subprocess.PIPE, text=True,
                                env=systrace_env(server.env), start_new_session=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
            done = server.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        finally:
            # (the group: strace killed leaves its tracee running, detached)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        server.socket.unlink()
        assert done.returncode == 0, done.stderr
        assert not _through_server(server, done)
        assert log.exists() != traced, done.stderr


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_socket_directory_others_may_enter_is_not_trusted(started: Server,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """The server's directory open to others (a socket there may be anyone's): no client
    connects; the run is in process.  Control: the directory private again, served."""
    import os

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    directory = started.socket.parent
    for mode, served in ((0o755, False), (0o700, True)):
        os.chmod(directory, mode)
        done = started.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        assert done.returncode == 0, done.stderr
        assert _through_server(started, done) == served, (oct(mode), done.stderr)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_root_talks_to_no_server_of_another_executable(server: Server,  # noqa: F811
                                                        tmp_path: Path) -> None:
    """(root, who reads every exe:) a listener that passes for a server in all else but runs
    another executable than the command's interpreter (here a hard link of it elsewhere) is
    sent nothing.  Control: the same listener run by the interpreter itself is talked to."""
    import os

    if os.getuid() != 0:
        pytest.skip("root's check (another user's client sees no server's exe)")
    other = tmp_path / "python-elsewhere"
    try:
        os.link(os.path.realpath(PYTHON), other)
    except OSError as exc:
        pytest.skip(f"cannot link the interpreter here: {exc}")
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "requests"
    for interpreter, talked in ((str(other), False), (PYTHON, True)):
        proc = subprocess.Popen([interpreter, str(script), str(log), _message(b"N"),
                                 "--resident"], stdout=subprocess.PIPE, text=True,
                                env=systrace_env(server.env))
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
            done = server.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        finally:
            proc.kill()
            proc.wait()
        server.socket.unlink()
        assert done.returncode == 0, done.stderr
        assert log.exists() == talked, (interpreter, done.stderr)


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_a_hello_of_another_build_is_sent_nothing(server: Server,  # noqa: F811
                                                  tmp_path: Path) -> None:
    """A server at our socket's name whose hello names another build (another copy's socket
    renamed to ours by a traced program: red team 24) is sent no request; the run is in
    process.  Control: the same server saying our build is sent one."""
    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "requests"
    for build, talked in (("0123456789ab", False), ("", True)):
        proc = subprocess.Popen([PYTHON, str(script), str(log), _message(b"N"), "--resident"],
                                stdout=subprocess.PIPE, text=True,
                                env=systrace_env(dict(server.env, HELLO=build)))
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
            done = server.run(["-p", str(policy), "--", *WHO], timeout=PATIENCE)
        finally:
            proc.kill()
            proc.wait()
        server.socket.unlink()
        assert done.returncode == 0, done.stderr
        assert not _through_server(server, done)
        assert log.exists() == talked, (build, done.stderr)


@pytest.mark.parametrize("args", [["--version"], ["--help"], [], ["--bogus"], ["-p"],
                                  ["-p", "missing.toml", "--", "true"],
                                  ["-v", "-p", "p.toml", "--", "sh", "-c", "exit 4"],
                                  ["-p", "p.toml", "--", "sh", "-c", "echo é; exit 5"]])
def test_what_the_native_command_does_not_take_is_the_python_commands(
        tmp_path: Path, args: list[str]) -> None:
    """Every run the native command does not hand to a server -- help, usage errors, other
    options, non-ASCII words, no server -- is the Python command's: the same output and
    status (its exec of ``systrace-python``)."""
    from cli.test_resident import NATIVE, _native_built

    if not _native_built():
        pytest.skip("no native command built")
    (tmp_path / "p.toml").write_text(PERMIT)
    env = systrace_env({"XDG_RUNTIME_DIR": str(tmp_path), "SYSTRACE_NO_RESIDENT": "0"})
    env.pop("PYTHONPATH", None)
    results = [subprocess.run([str(command), *args], capture_output=True, env=env,
                              cwd=tmp_path, timeout=PATIENCE)
               for command in (NATIVE, NATIVE.with_name("systrace-python"))]
    native, python = ((r.returncode, r.stdout, re.sub(rb"pid \d+", b"pid N", r.stderr))
                      for r in results)
    assert native == python


def _fake_install(tmp_path: Path) -> Path:
    """A venv of its own (no pip) with a copy of this tree's package in its site-packages,
    the native command compiled beside its interpreter as setup.py compiles it, and a
    ``systrace-python`` whose first line is that interpreter's -- and which exits 7: a run
    the native command leaves to the Python command shows as status 7."""
    import shutil
    import sys
    import sysconfig

    compiler = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0])
    if compiler is None:
        pytest.skip("no compiler")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=PATIENCE)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "systrace_py", site / "systrace_py",
                    ignore=shutil.ignore_patterns("__pycache__"))
    version = re.search(r'^__version__ = "(.*)"$',
                        (repo / "systrace_py" / "__init__.py").read_text(), re.M)
    assert version
    major, minor, micro = sys.version_info[:3]
    subprocess.run([compiler, "-O2", f'-DSYSTRACE_VERSION="{version.group(1)}"',
                    f"-DPY_MAJOR={major}", f"-DPY_MINOR={minor}", f"-DPY_MICRO={micro}",
                    "-o", str(venv / "bin" / "systrace"), str(repo / "scripts" / "systrace.c")],
                   check=True, timeout=300)
    script = venv / "bin" / "systrace-python"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nsys.exit(7)\n")
    script.chmod(0o755)
    return venv


@pytest.mark.parametrize("when", ["2300-01-01", "1901-12-14"])
def test_both_clients_agree_on_the_build_of_any_file_time(tmp_path: Path, when: str) -> None:
    """build_id hashes each file's st_mtime_ns, an int Python does not bound: a file of the
    package modified after 2262 (or before 1970, a negative time) is still one build for both
    clients.  (Before, the native command computed seconds * 10**9 in a long long: past 2262
    it overflowed, its build was not Python's, and it never found the server -- every run
    went to the Python command.)"""
    import marshal
    import os
    import sys
    from datetime import UTC, datetime

    venv = _fake_install(tmp_path)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    stamp = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
    future = site / "systrace_py" / "kernel.py"
    os.utime(future, ns=(stamp * 10**9 + 123, stamp * 10**9 + 123))
    if future.stat().st_mtime_ns != stamp * 10**9 + 123:
        pytest.skip(f"this file system does not keep {when} as a file's time")
    import tempfile

    runtime = Path(tempfile.mkdtemp(prefix="st-"))  # (a socket's path: 107 bytes at most)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONPLATLIBDIR", "PYTHONUSERBASE")}
    env.update(XDG_RUNTIME_DIR=str(runtime), SYSTRACE_NO_RESIDENT="0")
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "requests"
    exit3 = _message(marshal.dumps({"kind": "exit", "code": 3}, 2))
    proc = subprocess.Popen([str(venv / "bin" / "python"), str(script), str(log), exit3,
                             "--resident"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "listening\n"
        done = subprocess.run([str(venv / "bin" / "systrace"), "-p", "p.toml", "--", "true"],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=PATIENCE)
    finally:
        proc.kill()
        proc.wait()
        __import__("shutil").rmtree(runtime, ignore_errors=True)
    assert (done.returncode, done.stderr) == (3, "")
    assert marshal.loads(log.read_bytes().split(b"\n--\n")[0])["argv"] == [
        "-p", "p.toml", "--", "true"]


#: exec argv[2:] with the environment argv[1] (JSON: a list of raw entries -- a name twice, an
#: entry without "=", which no os.execve or subprocess makes)
RAW_EXEC = textwrap.dedent("""\
    import ctypes, json, sys
    args = [a.encode() for a in sys.argv[2:]]
    envs = [e.encode() for e in json.loads(sys.argv[1])]
    ctypes.CDLL(None).execve(args[0], (ctypes.c_char_p * (len(args) + 1))(*args, None),
                             (ctypes.c_char_p * (len(envs) + 1))(*envs, None))
    """)
#: the program: its environment's raw entries, then its PPid and TracerPid lines (WHO's)
RAW_ENV = ("import sys; e = open('/proc/self/environ', 'rb').read().split(b'\\0')[:-1]; "
           "print([x.decode() for x in e]); "
           "print(''.join(l for l in open('/proc/self/status') "
           "if l.startswith(('PPid:', 'TracerPid:'))), end='')")


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_the_program_gets_the_environment_python_would_give_it(started: Server,  # noqa: F811
                                                                tmp_path: Path) -> None:
    """A spawn without an environment (every run of the command line's) is the client's own,
    as os.execve(..., os.environ) passes it: the first entry of a name given twice, no entry
    without "=".  That is what the worker was sent, what it took for the run's start
    (Tracer.start_environment) and what the Python client's and the in-process program get
    (review 31; before: the native client passed environ as it came, both entries of a name
    and the entry without "=", to the program)."""
    import json
    import os

    from cli.test_resident import _through_server

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    cmd, env = started.command(["-p", str(policy), "--", PYTHON, "-c", RAW_ENV])
    raw = ["DUP=first", "DUP=second", "NOEQ", *(f"{k}={v}" for k, v in env.items())]
    script = tmp_path / "raw_exec.py"
    script.write_text(RAW_EXEC)
    done = subprocess.run([PYTHON, str(script), json.dumps(raw), *cmd], capture_output=True,
                          text=True, cwd=tmp_path, timeout=PATIENCE, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert _through_server(started, done)
    seen = __import__("ast").literal_eval(done.stdout.splitlines()[0])
    assert [e for e in seen if e.startswith(("DUP", "NOEQ"))] == ["DUP=first"]
