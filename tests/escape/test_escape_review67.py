"""Review 67 of red team 86's close: a unix socket's file reached by a name no rule can match.

docs/security.md's threat model: a path with no name the rules could match -- "a detached
mount, a namespace joined from outside" -- refuses the call when a rule needs its name
(EACCES, as for a file the task may not reach).  An open does (``cat /proc/PID/cwd/secret.txt``
of an outsider whose cwd is the refused directory bind-mounted elsewhere in a mount namespace
of its own: EACCES).  A unix socket address resolved so is not: DecodedCall._decode_addresses
keeps the /proc text of the unnamed object as the address's path, a name that is no path of
the tracer's view, and neither ``net-connect``'s ``unix`` rules nor red team 86's write check
(Supervisor._socket_written) match it.  The agent's socket in the refused directory is
reached by ``connect("/proc/PID/cwd/agent.sock")`` -- as a container's process (``docker -v
~/.ssh:/root/.ssh``) would show it.  These tests FAIL on main 3090d3df (ESCAPED)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
)

#: the refusing rules: red team 86's two (the socket file's write), and the older net-connect
#: ``unix`` rule naming the directory
POLICIES: dict[str, Callable[[Scene], str]] = {
    "fsread-fswrite": lambda s: policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")),
    "fswrite": lambda s: policy(never("fswrite", path=f"{s.secd}/**")),
    "net-connect-unix": lambda s: policy(never("net-connect", unix=[f"{s.secd}/**"])),
}


def _listen(path: Path, answer: bytes, made: list[socket.socket]) -> None:
    """A stream socket at ``path`` that answers ``answer`` to each connection's request (the
    agent): its request read first (a client that sends none waits half a second), so a
    client's write never meets a closed peer (SIGPIPE: a run of unix_refused_dir.c, which
    writes and reads nothing, died so under load -- close 41)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(64)
    made.append(sock)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    conn.recv(256)  # (the request, when the client sends one)
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()


@pytest.fixture
def made() -> Iterator[tuple[list[socket.socket], list[subprocess.Popen[bytes]]]]:
    """The listeners and outsiders each scene's setup makes (closed, killed at the end)."""
    sockets: list[socket.socket] = []
    procs: list[subprocess.Popen[bytes]] = []
    yield sockets, procs
    for proc in procs:
        proc.kill()
        proc.wait()
    for sock in sockets:
        sock.close()


def _outsider_in_secd_elsewhere(s: Scene, procs: list[subprocess.Popen[bytes]]) -> int:
    """A process outside the tree, in a mount namespace of its own where ``secd`` is
    bind-mounted at ``elsewhere`` and its cwd: its pid."""
    elsewhere = s.root / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f"mount --bind '{s.secd}' '{elsewhere}' && cd '{elsewhere}' && exec sleep 120"],
        start_new_session=True)
    procs.append(proc)
    for _ in range(500):
        try:
            if os.readlink(f"/proc/{proc.pid}/exe").endswith("sleep"):
                return proc.pid
        except OSError:
            pass
        time.sleep(0.01)
    pytest.skip("unshare -m did not start (root and unshare(1) needed)")


@pytest.mark.parametrize("rules", sorted(POLICIES))
def test_a_socket_reached_through_a_foreign_namespace_name_is_refused(
        build, tmp_path: Path, rules: str, loop: dict[str, str],
        made: tuple[list[socket.socket], list[subprocess.Popen[bytes]]]) -> None:
    """``unix_refused_more.c proccwd``: connect to ``/proc/PID/cwd/agent.sock`` of the
    outsider.  Control: natively the agent answers.  ESCAPED on main 3090d3df, both loops,
    all three policies; the name is unnamed (no rule can match it), so a rule that needs it
    must refuse (EACCES), as it does for an open by the same route (below)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount in a namespace of the outsider's own needs root")
    program = build("escape/unix_refused_more.c")
    sockets, procs = made
    pids: dict[str, int] = {}

    def setup(s: Scene) -> None:
        _listen(s.secd / "agent.sock", b"secd", sockets)
        _listen(s.pubd / "agent.sock", b"pubd", sockets)
        pids[str(s.root)] = _outsider_in_secd_elsewhere(s, procs)

    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [s.secd / "agent.sock", s.pubd / "agent.sock", "proccwd", pids[str(s.root)]],
        POLICIES[rules], setup=setup, env=loop, cwd=lambda s: s.work)
    assert traced.detail.endswith("EACCES"), str(traced)


def test_an_open_through_the_same_name_is_refused_already(
        tmp_path: Path, loop: dict[str, str],
        made: tuple[list[socket.socket], list[subprocess.Popen[bytes]]]) -> None:
    """The parity the test above asks for: ``cat /proc/PID/cwd/secret.txt`` by the same
    route under ``never fsread, fswrite secd/**`` is refused (holds on main)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount in a namespace of the outsider's own needs root")
    s = Scene.make(tmp_path)
    pid = _outsider_in_secd_elsewhere(s, made[1])
    traced = attack("cat", f"/proc/{pid}/cwd/secret.txt", policy_text=POLICIES[
        "fsread-fswrite"](s), scene=s, env=loop)
    assert "Permission denied" in traced.stderr and traced.returncode != 0, str(traced)


def test_an_explicit_connect_permit_of_the_agent_before_the_refusal_is_kept(
        build, tmp_path: Path, loop: dict[str, str],
        made: tuple[list[socket.socket], list[subprocess.Popen[bytes]]]) -> None:
    """A false refusal red team 86's close brought (for the lead to weigh: policy.md step 2
    says "besides its net-connect check", so it is as written): "git may use the agent, the
    keys stay private" -- ``permit net-connect unix = secd/agent.sock`` written FIRST, then
    ``never fsread, fswrite secd/**`` -- reached the agent before 463880eb and is refused
    since (EACCES), against step 3's "the first matching rule decides".  The only way back
    is ``permit fswrite secd/agent.sock``, which also lets the program unlink, rename over,
    chmod or utimes the agent's socket: more than the author meant to grant.  FAILS on main
    3090d3df (BLOCKED: connect ...: EACCES)."""
    program = build("escape/unix_refused_dir.c")
    s = Scene.make(tmp_path)
    _listen(s.secd / "agent.sock", b"secd", made[0])
    text = policy(permit("net-connect", unix=[f"{s.secd}/agent.sock"]),
                  never(["fsread", "fswrite"], path=f"{s.secd}/**"))
    traced = attack(program, s.secd / "agent.sock", "stream", policy_text=text, scene=s,
                    env=loop)
    assert traced.verdict == "ESCAPED", str(traced)  # (here: the agent reached, as permitted)


@pytest.mark.parametrize("rules", ["fsread-fswrite", "fswrite"])
def test_a_socket_file_made_through_a_foreign_namespace_name_is_refused(
        build, tmp_path: Path, rules: str, loop: dict[str, str],
        made: tuple[list[socket.socket], list[subprocess.Popen[bytes]]]) -> None:
    """``unix_refused_more.c procbind``: ``bind("/proc/PID/cwd/made.sock")`` by the same
    route makes a socket file in ``secd``, which ``never fswrite secd/**`` refuses (a bind is
    the mknod it is: policy.md step 2); an ``O_CREAT`` open and a ``mkfifo`` by that route
    are refused (EACCES) on main, the bind ESCAPED on main 3090d3df, both loops (the
    address's unnamed /proc text is what Supervisor._socket_file matches)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount in a namespace of the outsider's own needs root")
    program = build("escape/unix_refused_more.c")
    procs = made[1]
    pids: dict[str, int] = {}

    def setup(s: Scene) -> None:
        pids[str(s.root)] = _outsider_in_secd_elsewhere(s, procs)

    traced, scene = controlled_and_blocked(
        tmp_path, program,
        lambda s: [s.secd / "agent.sock", s.pubd / "agent.sock", "procbind", pids[str(s.root)]],
        POLICIES[rules], setup=setup, env=loop, cwd=lambda s: s.work)
    assert traced.detail.endswith("EACCES"), str(traced)
    assert not (scene.secd / "made.sock").exists()


#: unix_refused_more.c's other routes to the agent, which held on main 3090d3df (both loops,
#: EACCES): /dev/fd/N of an O_PATH descriptor, a relative name after fchdir into the refused
#: directory, a 108-byte sun_path without NUL, a datagram connect, sendmmsg's second message,
#: a thread rewriting sun_path (race) or moving the cwd (cwdrace) while connects run
HELD = ("devfd", "fchdir", "long", "dgramconn", "mmsg2", "race", "cwdrace")


@pytest.mark.parametrize("mode", HELD)
def test_other_routes_to_a_socket_in_a_refused_directory_are_refused(
        build, tmp_path: Path, mode: str, loop: dict[str, str],
        made: tuple[list[socket.socket], list[subprocess.Popen[bytes]]]) -> None:
    """Red team 86's close against the routes review 67 tried beside its own (a write rule
    alone: the calls stop only for it).  Control: natively each reaches the agent."""
    program = build("escape/unix_refused_more.c")
    sockets = made[0]

    def setup(s: Scene) -> None:
        if mode in ("dgramconn", "mmsg2"):
            for directory in (s.secd, s.pubd):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(str(directory / "agent.sock"))
                sockets.append(sock)
        else:
            _listen(s.secd / "agent.sock", b"secd", sockets)
            _listen(s.pubd / "agent.sock", b"pubd", sockets)

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secd / "agent.sock", s.pubd / "agent.sock", mode],
        POLICIES["fswrite"], setup=setup, env=loop, cwd=lambda s: s.work, timeout=60)
    if mode not in ("race", "cwdrace"):
        assert "EACCES" in traced.detail, str(traced)


def test_an_ask_rule_does_not_ask_about_a_socket_that_is_not_there(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """glibc tries nscd's socket at every user or host lookup (getpwnam: connect to
    /run/nscd/socket, ENOENT where no nscd runs, then on).  Under an ``ask`` rule on writes of
    the directory, an open for writing of a missing file there is answered ENOENT unasked
    (policy.md "Paths that do not exist"), but since red team 86 a connect to a missing socket
    there is asked about ("rule 1 says ask and no one can be asked -> ENOENT"; at a terminal,
    a question per lookup about a socket that does not exist).  FAILS on main 3090d3df."""
    program = build("escape/unix_refused_dir.c")
    s = Scene.make(tmp_path)
    text = policy(f'calls = ["fswrite"]\npath = "{s.secd}/**"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(program, s.secd / "nscd.sock", "stream", policy_text=text, scene=s,
                    env=loop, options=["-v"])
    assert traced.verdict == "BLOCKED" and traced.detail.endswith(": ENOENT"), str(traced)
    assert "says ask" not in traced.stderr, traced.stderr
