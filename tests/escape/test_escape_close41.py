"""Close 41 of review 67: a unix socket reached through a name no rule can match, by a send.

Review 67 (tests/escape/test_escape_review67.py) connected to, and bound, a socket file in
the refused directory through ``/proc/PID/cwd/...`` of an outsider in a mount namespace of
its own (a name the tracer's view has none for); the close refuses them (EACCES) where a
rule would decide by the name (Supervisor._unnamed_address).  Here: the sends, the calls
red team 86 decided with the connect (``sendto``, ``sendmsg`` of a datagram), by the same
route -- ESCAPED on main 3090d3df, both loops -- and where no rule needs the name, nothing is
refused (the agent reached, as on main).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import Scene, attack, controlled_and_blocked, never, policy
from test_escape_review67 import POLICIES, _listen, _outsider_in_secd_elsewhere

#: the sockets and the outsiders a test made
Made = tuple[list[socket.socket], list[subprocess.Popen[bytes]]]


@pytest.fixture
def made() -> Iterator[Made]:
    """The sockets and outsiders each scene's setup makes (closed, killed at the end)."""
    sockets: list[socket.socket] = []
    procs: list[subprocess.Popen[bytes]] = []
    yield sockets, procs
    for proc in procs:
        proc.kill()
        proc.wait()
    for sock in sockets:
        sock.close()


def _datagram_agents(s: Scene, sockets: list[socket.socket]) -> None:
    for directory in (s.secd, s.pubd):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(directory / "agent.sock"))
        sockets.append(sock)


@pytest.mark.parametrize("mode", ["procsend", "procmsg"])
@pytest.mark.parametrize("rules", ["fswrite", "net-connect-unix"])
def test_a_datagram_sent_through_a_foreign_namespace_name_is_refused(
        build, tmp_path: Path, rules: str, mode: str, loop: dict[str, str],
        made: Made) -> None:
    """``unix_refused_more.c procsend|procmsg``: a datagram sent to
    ``/proc/PID/cwd/agent.sock`` of the outsider, whose cwd is the refused directory
    bind-mounted elsewhere.  Control: natively the agent gets it.  ESCAPED on main 3090d3df,
    both loops: the address's /proc text matched neither red team 86's write check nor the
    ``unix`` rule.  Closed: EACCES, as an open by that name."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount in a namespace of the outsider's own needs root")
    program = build("escape/unix_refused_more.c")
    sockets, procs = made
    pids: dict[str, int] = {}

    def setup(s: Scene) -> None:
        _datagram_agents(s, sockets)
        pids[str(s.root)] = _outsider_in_secd_elsewhere(s, procs)

    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [s.secd / "agent.sock", s.pubd / "agent.sock", mode, pids[str(s.root)]],
        POLICIES[rules], setup=setup, env=loop, cwd=lambda s: s.work)
    assert traced.detail.endswith("EACCES"), str(traced)


#: policies under which the connect stops and no rule decides by a socket's file name: an
#: IP address rule, and a rule of no path on writes (red team 86: it leaves sockets to the
#: net-connect rules)
UNNEEDED: dict[str, Callable[[Scene], str]] = {
    "inet-rule": lambda s: policy(never("net-connect", address=["192.0.2.0/24"])),
    "pathless-fswrite": lambda s: policy(never("fswrite")),
}


@pytest.mark.parametrize("rules", sorted(UNNEEDED))
def test_a_foreign_namespace_name_no_rule_needs_is_not_refused(
        build, tmp_path: Path, rules: str, loop: dict[str, str],
        made: Made) -> None:
    """The close's other side: where no rule could decide by the socket's name, an unnamed
    one refuses nothing (the agent is reached, as natively and as on main) -- the refusal
    is of a name a rule needs, not of every name the tracer's view lacks."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount in a namespace of the outsider's own needs root")
    program = build("escape/unix_refused_more.c")
    sockets, procs = made
    s = Scene.make(tmp_path)
    _listen(s.secd / "agent.sock", b"secd", sockets)
    _listen(s.pubd / "agent.sock", b"pubd", sockets)
    pid = _outsider_in_secd_elsewhere(s, procs)
    traced = attack(program, s.secd / "agent.sock", s.pubd / "agent.sock", "proccwd", pid,
                    policy_text=UNNEEDED[rules](s), scene=s, env=loop, cwd=s.work)
    assert traced.verdict == "ESCAPED", str(traced)  # (here: reached, as permitted)
