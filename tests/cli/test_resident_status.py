"""``systrace --resident status`` (systrace_py.resident.status): whether this user's resident
tracer runs, its pid, socket, uptime, the runs it served and has in flight; exit 0 when it
runs, 3 when none does (``systemctl is-active``'s).  Real servers, real runs, each test its
own server directory (tests/cli/test_resident.py's fixtures)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from cli.test_resident import (  # (the fixtures: each test its own server directory)
    CLIENTS,
    PATIENCE,
    PERMIT,
    Server,
    _until,
    server,  # noqa: F401
    started,  # noqa: F401
)

from conftest import PYTHON, run_systrace, systrace_env
from systrace_py import procfs


def _status(srv: Server) -> tuple[int, dict[str, str]]:
    """``--resident status``: its exit code and its ``key: value`` lines (the first line's
    value under ``resident tracer``)."""
    r = run_systrace(["--resident", "status"], env=srv.env)
    assert r.stderr == "", r.stderr
    fields = dict(line.strip().split(": ", 1) for line in r.stdout.splitlines())
    return r.returncode, fields


def _runs(fields: dict[str, str]) -> tuple[int, int]:
    found = re.fullmatch(r"(\d+) served, (\d+) in flight", fields["runs"])
    assert found, fields
    return int(found[1]), int(found[2])


def test_no_server_is_exit_3_and_names_the_socket(server: Server) -> None:  # noqa: F811
    code, fields = _status(server)
    assert code == 3
    assert fields == {"resident tracer": "not running", "socket": str(server.socket)}


@pytest.mark.parametrize("server", CLIENTS, indirect=True)
def test_status_of_a_server_and_its_runs(started: Server, tmp_path: Path) -> None:  # noqa: F811
    code, fields = _status(started)
    assert code == 0, fields
    assert fields["resident tracer"] == f"running, pid {started.pid()}"
    assert fields["socket"] == str(started.socket)
    assert re.fullmatch(r"\d+[smhd].* \(it exits after 300 s without a run\)", fields["up"])
    assert _runs(fields) == (0, 0)
    # (asking is no run: the next answers say none either -- once the worker that answered
    # the first question has exited: the client has its answer before the worker is gone, and
    # until then it is in flight, as it is)
    _until(lambda: _runs(_status(started)[1]) == (0, 0), "a question not counted as a run")

    policy = tmp_path / "p.toml"
    policy.write_text(PERMIT)
    done = started.run(["-p", str(policy), "--", "true"])
    assert done.returncode == 0, done.stderr
    _until(lambda: _runs(_status(started)[1]) == (1, 0), "one run served, none in flight")

    # a run in flight: the program waits on a fifo this test opens once it has seen it
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cmd, env = started.command(["-p", str(policy), "--", "sh", "-c", f"read x < {fifo}"])
    running = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _until(lambda: _runs(_status(started)[1]) == (1, 1), "a run in flight")
    finally:
        with fifo.open("w") as f:
            f.write("go\n")
        _out, err = running.communicate(timeout=PATIENCE)
    assert running.returncode == 0, err
    _until(lambda: _runs(_status(started)[1]) == (2, 0), "two runs served")


def test_asking_does_not_keep_an_idle_server(server: Server) -> None:  # noqa: F811
    """The idle time counts runs, not questions: a server asked every 0.2 s still exits."""
    assert server.start("--resident-idle", "2").returncode == 0
    pid = server.pid()
    assert pid is not None
    deadline = time.monotonic() + PATIENCE
    while _status(server)[0] == 0:
        assert time.monotonic() < deadline, "the server asked about never went idle"
        time.sleep(0.2)
    _until(lambda: not procfs.alive(pid), "the idle server to exit")


def test_status_takes_no_command_and_no_run_option(server: Server) -> None:  # noqa: F811
    for args in (["--resident", "status", "true"], ["--resident", "status", "-q"],
                 ["--resident", "status", "--resident-idle", "5"]):
        r = run_systrace(args, env=server.env)
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith("systrace: "), r.stderr


def test_a_reader_that_goes_away_is_no_error(server: Server) -> None:  # noqa: F811
    """``systrace --resident status | head -1``: the pipe's reader gone (here before the
    command starts: its write fails with EPIPE for certain) costs no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run([PYTHON, "-m", "systrace_py", "--resident", "status"],
                           stdout=write_end, stderr=subprocess.PIPE, text=True,
                           env=systrace_env(server.env), timeout=PATIENCE)
    finally:
        os.close(write_end)
    assert r.stderr == "" and r.returncode == 3, r
