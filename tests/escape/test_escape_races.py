"""Class 2: races between check and use (Watson 2007; Garfinkel 2003).

A peer rewrites what the tracer checked -- the path buffer (sibling thread, CLONE_VM peer,
MAP_SHARED or memfd page of another process), a symlink or a directory swapped for one, the
shared cwd (CLONE_FS) or descriptor table (CLONE_FILES), an exec path, a socket address --
between the tracer's read and the kernel's.  The kernel must use exactly what was checked:
every fd an attack obtains is checked by fstat inode and content (and named by
/proc/self/fd readlink in the verdict): never the secret.  Races are bounded (iterations and
seconds); the control runs show each race is won quickly without systrace."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    TcpListener,
    attack,
    controlled_and_blocked,
    never,
    policy,
    read_never,
    require_real,
)

ITERATIONS, SECONDS = "10000", "3"
NET_SECONDS = "2"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["thread", "clonevm", "shm", "memfd"])
def test_path_buffer_rewritten_after_the_check(build, tmp_path, mode):
    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/race_path.c"),
        lambda s: [mode, s.decoy, s.secret, ITERATIONS, SECONDS],
        lambda s: read_never(s.secret))
    assert "opens, none of them the secret" in traced.detail, traced  # the decoy was opened


def test_stat_buffer_rewritten_by_a_sibling_thread(build, tmp_path):
    """stat() reveals metadata only, but fsread refuses it too: a thread's rewrite is held."""
    controlled_and_blocked(tmp_path, build("escape/race_path.c"),
                           lambda s: ["thread_stat", s.decoy, s.secret, ITERATIONS, SECONDS],
                           lambda s: read_never(s.secret))


@pytest.mark.parametrize("mode", ["shm_stat", "memfd_stat"])
def test_stat_buffer_rewritten_through_a_shared_page(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/race_path.c"),
                           lambda s: [mode, s.decoy, s.secret, ITERATIONS, SECONDS],
                           lambda s: read_never(s.secret))


@pytest.mark.parametrize("mode", ["symlink", "dir", "symlink_fork", "dir_fork", "cwd_thread",
                                  "cwd_clone", "dirfd_thread", "dirfd_clone"])
def test_file_system_changed_after_the_check(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/race_fs.c"),
                           lambda s: [mode, s.secd, s.pubd, s.work, ITERATIONS, SECONDS],
                           lambda s: read_never(s.secret))


@pytest.mark.parametrize("mode", ["cwd_moved", "dirfd_moved"])
def test_start_directory_moved_after_the_check(build, tmp_path, mode):
    """The start of a relative path is a directory object: a process sharing nothing with the
    caller moves it (RENAME_EXCHANGE of PUBD/q and SECD/q) so that "../../secret.txt" from
    PUBD/q/b lands in SECD."""
    controlled_and_blocked(tmp_path, build("escape/race_fs.c"),
                           lambda s: [mode, s.secd, s.pubd, s.work, ITERATIONS, SECONDS],
                           lambda s: read_never(s.secret))


# --- exec ----------------------------------------------------------------------------------------

def exec_scene(s: Scene, payload: Path, dir_kind: str | None = None) -> None:
    """exa/prog may run (a copy of true), exb/prog may not (the payload); for the "dir" race,
    work/d/prog is an allowed program of the same name: a binary or a script."""
    (s.root / "exa").mkdir()
    (s.root / "exb").mkdir()
    shutil.copy(shutil.which("true") or "/bin/true", s.root / "exa" / "prog")
    shutil.copy(payload, s.root / "exb" / "prog")
    if dir_kind is not None:
        (s.work / "d").mkdir()
        prog = s.work / "d" / "prog"
        if dir_kind == "binary":
            shutil.copy(shutil.which("true") or "/bin/true", prog)
        else:
            prog.write_text("#!/bin/sh\nexit 0\n")
            prog.chmod(0o755)


def exec_never(s: Scene) -> str:
    return policy(never("exec", path=f"{s.root}/exb/**"))


@pytest.mark.parametrize("mode", ["buffer", "symlink"])
def test_exec_path_changed_after_the_check(build, tmp_path, mode):
    """The exec path is held in a private copy; a swapped symlink is caught at the exec event
    (the inode that ran is not the one checked: the child is killed before it runs)."""
    payload = build("escape/payload.c")
    _, s = controlled_and_blocked(
        tmp_path, build("escape/race_exec.c"),
        lambda s: [mode, s.root / "exa" / "prog", s.root / "exb" / "prog", s.work, 400, 4],
        exec_never, setup=lambda s: exec_scene(s, payload))
    assert not s.marker.exists()


def test_exec_argv_rewritten_after_the_check(build, tmp_path):
    """argv is checked by an argv rule (never "--evil") and held in a private copy: a thread
    flipping argv[1] between "--safe" and "--evil" never gets the payload to run with it."""
    payload = build("escape/payload.c")
    _, s = controlled_and_blocked(
        tmp_path, build("escape/race_exec.c"), lambda s: ["argv", "-", payload, s.work, 400, 4],
        lambda s: policy(never("exec", argv=["*", "--evil"])))
    assert "--evil" not in (s.marker.read_text() if s.marker.exists() else "")


def test_exec_directory_swapped_after_the_check(build, tmp_path):
    payload = build("escape/payload.c")
    controlled_and_blocked(
        tmp_path, build("escape/race_exec.c"),
        lambda s: ["dir", s.root / "exa" / "prog", s.root / "exb" / "prog", s.work, 1000, 8],
        exec_never, setup=lambda s: exec_scene(s, payload, "binary"))


def test_exec_of_a_script_swapped_after_the_check(build, tmp_path):
    payload = build("escape/payload.c")
    controlled_and_blocked(
        tmp_path, build("escape/race_exec.c"),
        lambda s: ["dir", s.root / "exa" / "prog", s.root / "exb" / "prog", s.work, 1000, 8],
        exec_never, setup=lambda s: exec_scene(s, payload, "script"))


# --- calls other than open: chmod, mkdir ---------------------------------------------------------

def protected_scene(s: Scene) -> None:
    prot = s.root / "prot"
    prot.mkdir()
    (prot / "target").write_text("original\n")
    (prot / "target").chmod(0o644)


def write_never(s: Scene) -> str:
    return policy(never("fswrite", path=f"{s.root}/prot/**"))


def test_open_for_writing_through_a_swapped_directory(build, tmp_path):
    """Opens are held with RESOLVE_NO_SYMLINKS on the checked path: a directory swapped for a
    symlink makes the open fail (ELOOP), never land in the protected directory."""
    _, s = controlled_and_blocked(
        tmp_path, build("escape/race_meta.c"),
        lambda s: ["open", s.root / "prot", s.work, ITERATIONS, SECONDS], write_never,
        setup=protected_scene)
    assert (s.root / "prot" / "target").read_text() == "original\n"


@pytest.mark.parametrize("mode", ["chmod", "mkdir"])
def test_metadata_call_through_a_swapped_directory(build, tmp_path, mode):
    controlled_and_blocked(
        tmp_path, build("escape/race_meta.c"),
        lambda s: [mode, s.root / "prot", s.work, ITERATIONS, "6"], write_never,
        setup=protected_scene)


# --- socket addresses ----------------------------------------------------------------------------

def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_never(port: int) -> str:
    return policy(never("net-connect", "ECONNREFUSED", address="127.0.0.1", port=port))


def run_net_race(build, mode: str) -> None:
    program = build("escape/race_net.c")
    listeners: list[TcpListener] = []
    try:
        if mode == "connect":
            listeners = [TcpListener(), TcpListener()]
            pa, pb = listeners[0].port, listeners[1].port
        else:
            pa, pb = free_udp_port(), free_udp_port()
        args = [mode, pa, pb, ITERATIONS, NET_SECONDS]
        require_real(attack(program, *args, policy_text=None, scene=None))
        for listener in listeners:
            listener.reset()
        traced = attack(program, *args, policy_text=port_never(pb), scene=None)
        assert "ESCAPED" not in traced.stdout, traced
        assert traced.verdict == "BLOCKED", traced
        if listeners:
            assert listeners[1].accepted == 0, "the refused listener accepted a connection"
    finally:
        for listener in listeners:
            listener.close()


@pytest.mark.parametrize("mode", ["connect", "sendto", "sendmsg"])
def test_socket_address_rewritten_after_the_check(build, mode):
    run_net_race(build, mode)


def test_sendmmsg_address_rewritten_after_the_check(build):
    run_net_race(build, "sendmmsg")
