"""Red team 24: an outsider at the resident tracer with several servers of the user's, and at
a tracee whose root is not the tracer's (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy, or the docs, refuse (docs/security.md, "Red team
24").  The resident tests run their servers in a private XDG_RUNTIME_DIR (never the user's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import attack, never, policy, require_real

from conftest import REPO, run_systrace
from systrace_py import procfs, resident_client

PERMIT = 'default = "permit"\n'
#: what the other copy's workers say first, on their client's stderr
OTHER = "served by the other copy's code"
#: a program that writes its PPid and TracerPid
WHO = ["sh", "-c", 'grep -E "^(PPid|TracerPid):" /proc/$$/status']


def served_env(runtime: Path, **extra: str) -> dict[str, str]:
    """A run that a server in ``runtime`` may serve (the suite runs in process unless told)."""
    return {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0", **extra}


def _listener(path: Path) -> int | None:
    """The pid of the process listening on the socket ``path``, if any."""
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return None
        found = procfs.peer(sock)
    return found[0] if found else None


@pytest.fixture
def runtime() -> Iterator[Path]:
    # (not under tmp_path: a unix socket's path has at most 107 bytes)
    path = Path(tempfile.mkdtemp(prefix="systrace-rt24-"))
    try:
        yield path
    finally:
        for sock in (path / "systrace-py").glob("*.sock"):  # (servers of this test: by pid)
            pid = _listener(sock)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


def _other_copy(tmp_path: Path) -> Path:
    """Another copy of the package (another checkout or venv of the user's: other code,
    perhaps older), whose workers say OTHER first: what a run served by it shows."""
    copy = tmp_path / "tree"
    shutil.copytree(REPO / "systrace_py", copy / "systrace_py",
                    ignore=shutil.ignore_patterns("__pycache__"))
    resident = copy / "systrace_py" / "resident.py"
    text = resident.read_text()
    anchor = "    held = HeldStream(sys.stderr)\n"
    assert anchor in text
    resident.write_text(text.replace(anchor, f"    os.write(2, b{OTHER!r} + b'\\n')\n" + anchor))
    return copy


def _who(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    fields = dict(line.split(":") for line in result.stdout.splitlines()
                  if line.startswith(("PPid:", "TracerPid:")))
    return int(fields["PPid"]), int(fields["TracerPid"])


@pytest.mark.parametrize("traced_by", ["in_process", "resident"])
def test_a_planted_server_of_other_code_serves_no_run(build, runtime: Path, tmp_path: Path,
                                                      traced_by: str) -> None:
    """The socket's name carries this build's hash, so that a client never talks to a
    server of other code (docs/security.md, "The same code").  But the name is all there
    was: the directory is the user's, and a traced program -- the user's, under a policy that
    lets it write there (``default = "permit"``) -- renamed the socket of the user's server
    of *another copy* of systrace (another checkout or venv: other code, perhaps an older
    version with an escape fixed since) to this build's name.  That server, whose own files
    are unchanged, served the user's next run (escaped before the fix: OTHER on its stderr).
    Now a worker's hello says its server's build, and a client that hears another runs in
    process.  Control: natively the rename makes the other copy's server answer at this
    build's name (``resident_client.connect`` finds it there)."""
    copy = _other_copy(tmp_path)
    theirs = served_env(runtime, PYTHONPATH=str(copy))
    started = run_systrace(["--resident", "--resident-idle", "300"], env=theirs, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    [planted] = (runtime / "systrace-py").glob("*.sock")
    server = _listener(planted)
    assert server is not None
    ours = Path(resident_client.socket_path(served_env(runtime)))
    assert planted != ours
    program = build("escape/res_plant.c")

    control = attack(program, planted.parent, ours.name, policy_text=None, scene=None)
    require_real(control)
    assert resident_client.connect(served_env(runtime)) is not None  # (found: its pid ...)
    assert _listener(ours) == server
    os.rename(ours, planted)

    mine = None
    if traced_by == "resident":  # (the program's own run served by this build's server)
        started = run_systrace(["--resident", "--resident-idle", "300"],
                               env=served_env(runtime), cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        mine = _listener(ours)
        assert mine is not None
    try:
        traced = attack(program, planted.parent, ours.name, policy_text=PERMIT, scene=None,
                        env=served_env(runtime))
        # (the policy lets it -- over this build's own server's socket, if one ran: what
        # counts is the user's next run)
        assert traced.verdict == "ESCAPED", traced
        assert _listener(ours) == server
        _next_run_is_ours(runtime, tmp_path)
    finally:
        if mine is not None:  # (its socket's name is gone: the fixture would not find it)
            os.kill(mine, signal.SIGKILL)


def _next_run_is_ours(runtime: Path, tmp_path: Path) -> None:
    """The user's next run, under a policy of its own, is not served by the other code (it
    runs in process, enforced)."""
    secret = tmp_path / "secret"
    secret.write_text("not-for-the-program\n")
    rules = tmp_path / "p.toml"
    rules.write_text(policy(never("fsread", path=str(secret))))
    nxt = run_systrace(["-p", str(rules), "--", WHO[0], WHO[1], f"{WHO[2]}; cat {secret}"],
                       env=served_env(runtime), cwd=tmp_path)
    assert OTHER not in nxt.stderr, nxt.stderr
    assert "not-for-the-program" not in nxt.stdout, nxt.stdout
    ppid, tracer = _who(nxt)
    assert tracer == ppid != 0, nxt.stdout  # (in process: its tracer is its parent)
