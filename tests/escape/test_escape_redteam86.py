"""Red team 86: names the kernel looks up that a path rule does not see.

Two classes.  (1) A socket file in a refused directory, closed: below.  (2) A case-folding
file system, where one file has many spellings and the rules compare bytes -- the known
limit docs/security.md names ("Rules name paths, not files"), untested until now for want of
``CONFIG_UNICODE``: a case-insensitive FUSE server outside the tree (as an exFAT or NTFS
stick's FUSE driver, or ciopfs) reproduces it on this kernel; open, a strict xfail.

(1)
The issue's simple policy -- ``default = "permit"``, ``never`` on ``fsread``/``fswrite`` of
one directory -- against a unix socket file in that directory that a process outside the tree
listens on (an agent: ssh-agent at ``~/.ssh/agent.sock``, gpg-agent at
``~/.gnupg/S.gpg-agent``).  The kernel's lookup of the socket's path walks the refused
directory and checks write permission on the socket file itself (a connect is a write-open of
it, to the kernel's permission check); a ``bind`` there is refused by the ``fswrite`` rule as
the ``mknod`` it is (docs/policy.md, step 2), but a ``connect``, ``sendto``, ``sendmsg`` or
``sendmmsg`` to it is decided by ``net-connect``'s ``unix`` rules alone, which this policy
has none of.  Now such a call is decided as a write-open of the socket file too, by a rule
(as a bind is as its mknod): ``Supervisor._socket_written``."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    outsider,
    permit,
    policy,
    require_real,
)

from conftest import own_mount_namespace

#: the refusing rules of the scenes: the issue's (reads and writes of ``secd`` refused), and
#: writes alone -- a connect writes the socket file, to the kernel
RULES = {"fsread-fswrite": ["fsread", "fswrite"], "fswrite": ["fswrite"]}
#: the modes of unix_refused_dir.c that connect a stream socket
STREAMS = ("stream", "opath", "link")


@pytest.fixture
def agents() -> Iterator[list[socket.socket]]:
    """The sockets each scene's ``setup`` binds in its ``secd`` (closed after the test)."""
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


@pytest.mark.parametrize("rules", sorted(RULES))
@pytest.mark.parametrize("mode", ["stream", "dgram", "sendmsg", "sendmmsg", "opath", "link"])
def test_a_socket_in_a_refused_directory_is_not_reached(
        build, tmp_path: Path, mode: str, rules: str, agents: list[socket.socket],
        loop: dict[str, str]) -> None:
    """``unix_refused_dir.c``: an agent's socket ``secd/agent.sock`` (stream: connect and a
    request, by its name, as ``/proc/self/fd/N`` of an O_PATH descriptor (opath) and through
    a symlink in the cwd (link); dgram, sendmsg and sendmmsg: one datagram to it).  Control:
    natively the kernel delivers.  ESCAPED on main 01d6e5c4, both loops, every mode, each
    policy (opath under the issue's policy: its open refused, BLOCKED already).  Now the call
    is refused with the rule's errno (Supervisor._socket_written: a write-open of the socket
    file)."""
    program = build("escape/unix_refused_dir.c")

    def agent(s: Scene) -> None:
        kind = socket.SOCK_STREAM if mode in STREAMS else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_UNIX, kind)
        sock.bind(str(s.secd / "agent.sock"))
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        agents.append(sock)

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secd / "agent.sock", mode],
        lambda s: policy(never(RULES[rules], path=f"{s.secd}/**")),
        setup=agent, env=loop, cwd=lambda s: s.work)
    assert traced.detail.endswith("EACCES"), str(traced)


@pytest.mark.parametrize("mode", ["stream", "sendmsg"])
def test_a_write_rule_of_no_path_leaves_sockets_to_the_connect_rules(
        build, tmp_path: Path, mode: str, agents: list[socket.socket],
        loop: dict[str, str]) -> None:
    """The other side of the fix: docs/policy.md's "make, cc" example permits writes in some
    places, refuses every other (``never fswrite``, no path) and permits connects to sockets
    by a ``net-connect`` rule.  A connect or send to a socket the ``unix`` rule permits is not
    refused by that rule of no path (only a rule naming the place is asked)."""
    program = build("escape/unix_refused_dir.c")
    s = Scene.make(tmp_path)
    kind = socket.SOCK_STREAM if mode == "stream" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_UNIX, kind)
    agents.append(sock)
    sock.bind(str(s.pubd / "service.sock"))
    if kind == socket.SOCK_STREAM:
        sock.listen(8)
    text = policy(permit("fswrite", path=f"{s.work}/**"), never("fswrite", errno="EROFS"),
                  permit(["net-connect"], unix=f"{s.pubd}/*"))
    traced = attack(program, s.pubd / "service.sock", mode, policy_text=text, scene=s,
                    env=loop)
    assert traced.verdict == "ESCAPED", str(traced)  # (here: the socket reached, as permitted)


@pytest.mark.parametrize("where", ["agent.sock", "gone/agent.sock"])
@pytest.mark.parametrize("mode", ["stream", "dgram"])
def test_a_missing_socket_in_a_refused_directory_answers_as_the_kernel(
        build, tmp_path: Path, mode: str, where: str, loop: dict[str, str]) -> None:
    """No socket there (its name, or a directory on the way, missing): the kernel's lookup
    answers ENOENT before any permission is asked, and so does the refusal, as a refused open
    of a missing file does (docs/policy.md "Paths that do not exist"); with
    ``missing = "errno"`` the rule's own errno.  The fix's first cut answered EACCES."""
    program = build("escape/unix_refused_dir.c")
    s = Scene.make(tmp_path)
    native = attack(program, s.secd / where, mode, policy_text=None, scene=s)
    assert native.detail.endswith(": ENOENT"), str(native)
    for missing, errno in (("ENOENT", "ENOENT"), ("errno", "EACCES")):
        text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**", missing=missing))
        traced = attack(program, s.secd / where, mode, policy_text=text, scene=s, env=loop)
        assert traced.verdict == "BLOCKED" and traced.detail.endswith(f": {errno}"), \
            str(traced)


# --- (2) a case-folding file system ---------------------------------------------------------


@pytest.fixture
def folding(build: Callable[..., Path], tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """fs_fuse_fold mounted at ``tmp_path/fold`` in a mount namespace of the test's own
    (conftest.own_mount_namespace), outside the traced tree: ``secd/secret.txt`` there is the
    secret, by any spelling of its case.  Yields (the namespace's command prefix, the mount)."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("mounting a FUSE file system needs root and /dev/fuse")
    server = build("escape/fs_fuse_fold.c")
    mnt = tmp_path / "fold"
    mnt.mkdir()
    with own_mount_namespace() as enter, outsider([*enter, server, mnt]) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.startswith("SKIPPED"):
            pytest.skip(line.strip())
        assert line.strip() == "ready", line
        try:
            yield enter, mnt
        finally:
            subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True,
                           check=False)


@pytest.mark.parametrize("spelling", [
    "secd/secret.txt",
    pytest.param("SECD/secret.txt", marks=pytest.mark.xfail(strict=True, reason=(
        "red team 86, a known limit (docs/security.md, 'Rules name paths, not files'): "
        "the rules compare names byte for byte; a case-folding file system's other "
        "spelling of a refused directory is another path to them"))),
])
def test_a_case_folding_file_systems_other_spelling_of_a_refused_directory(
        build: Callable[..., Path], folding: tuple[list[str], Path], tmp_path: Path,
        spelling: str, loop: dict[str, str]) -> None:
    """``fs_fold.c`` reads ``MNT/SPELLING`` under ``never fsread, fswrite MNT/secd/**``.
    Control: natively each spelling is the secret.  The rule's own spelling is refused
    (EACCES); ``SECD/secret.txt`` ESCAPED on main 01d6e5c4, both loops (the server answers
    the tracer's lookups as it answers the program's: no race, no lie, a benign case-insensitive
    file system; with ``trusted_filesystems`` or without, the name decided is the spelling)."""
    enter, mnt = folding
    program = build("escape/fs_fold.c")
    native = attack(enter[0], *enter[1:], program, mnt / spelling, policy_text=None,
                    scene=None)
    require_real(native)
    text = policy(never(["fsread", "fswrite"], path=f"{mnt}/secd/**"))
    traced = attack(program, mnt / spelling, policy_text=text, scene=None,
                    tracer=[*enter, *SYSTRACE], env=loop)
    assert_blocked(traced)
    assert traced.detail.endswith(": EACCES"), str(traced)
