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
import shlex
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import Scene, attack, controlled_and_blocked, never, permit, policy
from test_escape_review67 import POLICIES, _listen, _outsider_in_secd_elsewhere

from conftest import PYTHON

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


@pytest.mark.parametrize("where", ["agent.sock", "nscd.sock", "gone/nscd.sock"])
@pytest.mark.parametrize("mode", ["stream", "dgram"])
def test_a_socket_that_is_not_there_is_not_asked_about(
        build, tmp_path: Path, where: str, mode: str, loop: dict[str, str],
        made: Made) -> None:
    """Review 67's third finding, with someone to ask (an approver that denies every
    question, EACCES): under ``ask fswrite secd/**``, a connect or send to a socket that is
    not there (its name, or a directory on the way, missing) is answered ENOENT, as the
    kernel's lookup would, with no question and nothing said of it as a refusal -- the
    answer could change nothing.  The socket that is there is asked about (denied:
    EACCES).  On main 3090d3df each missing one was put to the approver (EACCES)."""
    program = build("escape/unix_refused_dir.c")
    s = Scene.make(tmp_path)
    sock = socket.socket(socket.AF_UNIX,
                         socket.SOCK_STREAM if mode == "stream" else socket.SOCK_DGRAM)
    sock.bind(str(s.secd / "agent.sock"))
    if mode == "stream":
        sock.listen(8)
    made[0].append(sock)
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "*"\nanswer = "deny-now"\nerrno = "EACCES"\n')
    approver = shlex.join([PYTHON, "-m", "systrace_py.approver", "-v", "--rules", str(answers)])
    text = policy(f'calls = ["fswrite"]\npath = "{s.secd}/**"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(program, s.secd / where, mode, policy_text=text, scene=s, env=loop,
                    options=["-v", f"--ask-via=exec:{approver}"])
    asked = "approver: answer" in traced.stderr
    if where == "agent.sock":
        assert asked and traced.detail.endswith(": EACCES"), str(traced)
        return
    assert traced.verdict == "BLOCKED" and traced.detail.endswith(": ENOENT"), str(traced)
    assert not asked and "systrace: refused" not in traced.stderr, traced.stderr


#: (the rules before and after red team 86's refusal, the mode, whether the agent is reached)
#: -- a permit naming the socket's address for the call, written first, decides the socket
#: file's write too; nothing else does (close 41, review 67's second finding)
NAMED_FIRST: dict[str, tuple[Callable[[Scene], list[str]], Callable[[Scene], list[str]], str,
                             bool]] = {
    "net-connect-first-sendto": (
        lambda s: [permit("net-connect", unix=[f"{s.secd}/agent.sock"])], lambda s: [],
        "dgram", True),
    "net-connect-first-sendmmsg": (
        lambda s: [permit("net-connect", unix=[f"{s.secd}/*.sock"])], lambda s: [],
        "sendmmsg", True),
    "net-connect-first-symlink": (
        lambda s: [permit("net-connect", unix=[f"{s.secd}/agent.sock"])], lambda s: [],
        "link", True),
    "net-connect-after": (
        lambda s: [], lambda s: [permit("net-connect", unix=[f"{s.secd}/agent.sock"])],
        "stream", False),
    "another-socket-first": (
        lambda s: [permit("net-connect", unix=[f"{s.secd}/other.sock"])], lambda s: [],
        "stream", False),
    "no-address-first": (lambda s: [permit("net-connect")], lambda s: [], "stream", False),
    "connect-first-connect": (
        lambda s: [permit("connect", unix=[f"{s.secd}/agent.sock"])], lambda s: [],
        "stream", True),
    "connect-first-sendto": (
        lambda s: [permit("connect", unix=[f"{s.secd}/agent.sock"])], lambda s: [],
        "dgram", False),
    "asked-first": (
        lambda s: [f'calls = ["net-connect"]\nunix = ["{s.secd}/**"]\naction = "ask"',
                   permit("net-connect", unix=[f"{s.secd}/agent.sock"])], lambda s: [],
        "stream", False),
}


@pytest.mark.parametrize("case", sorted(NAMED_FIRST))
def test_a_permit_naming_the_socket_first_decides_its_file_write(
        build, tmp_path: Path, case: str, loop: dict[str, str], made: Made) -> None:
    """Under ``never fsread, fswrite secd/**`` (red team 86's refusal of the socket file's
    write-open): a ``permit`` whose ``unix`` glob names the socket, of the call (the
    ``net-connect`` alias: connect and the sends; ``connect`` alone: the connect), written
    BEFORE the refusal, reaches the agent -- by a symlink too (the rule matches where it
    leads).  Written after it, naming another socket, naming no address, of another call,
    or not the rule that decides the call (an ``ask`` of the directory first, no one to
    ask): refused, as red team 86 made it.  The reached cases FAIL on main 3090d3df
    (BLOCKED: EACCES); the refused ones hold there too."""
    program = build("escape/unix_refused_dir.c")
    before, after, mode, reached = NAMED_FIRST[case]
    s = Scene.make(tmp_path)
    sock = socket.socket(socket.AF_UNIX,
                         socket.SOCK_DGRAM if mode in ("dgram", "sendmmsg")
                         else socket.SOCK_STREAM)
    sock.bind(str(s.secd / "agent.sock"))
    if sock.type == socket.SOCK_STREAM:
        sock.listen(8)
    made[0].append(sock)
    text = policy(*before(s), never(["fsread", "fswrite"], path=f"{s.secd}/**"), *after(s))
    traced = attack(program, s.secd / "agent.sock", mode, policy_text=text, scene=s,
                    env=loop, cwd=s.work)
    if reached:
        assert traced.verdict == "ESCAPED", str(traced)  # (here: reached, as permitted)
    else:
        assert traced.verdict == "BLOCKED" and traced.detail.endswith("EACCES"), str(traced)
