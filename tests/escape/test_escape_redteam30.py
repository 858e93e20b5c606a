"""Red team 30: an outsider at the engine's model of this kernel -- its newest calls, and
descriptors of processes outside the traced tree (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy refuses (docs/security.md, "Red team 30").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    assert_blocked,
    attached_run,
    attack,
    controlled_and_blocked,
    never,
    policy,
    require_real,
)

NOBODY = "65534"


def _fs_never(s: Scene) -> str:
    """Everything permitted but reading or writing the secret's directory."""
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))


def _with_xattr(s: Scene) -> None:
    """The value getxattrat would read (a user xattr: the scene's file system must take it)."""
    try:
        os.setxattr(s.secret, "user.rt30", b"hidden-value")
    except OSError as exc:
        pytest.skip(f"no user xattr on the scene's file system: {exc}")


@pytest.mark.parametrize("mode", ["getattr", "getattr_fd", "setattr", "getxattrat",
                                  "setxattrat", "tree_attr", "tree_clone"])
def test_the_newest_calls_reach_no_refused_file(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """The calls of 6.13 to 6.17 that take a path -- file_getattr and file_setattr (their
    AT_ flags in the fifth register), getxattrat and setxattrat, open_tree_attr with and
    without OPEN_TREE_CLONE -- aimed at a file of a refused directory: each reached it
    natively; under systrace each is refused as the older call it stands for (stat, chattr,
    getxattr, setxattr, an O_PATH open, a bind mount of the directory).  Held when first
    run: a witness that the table's entries are the kernel's."""
    if mode == "tree_clone" and os.geteuid() != 0:
        pytest.skip("a detached copy of a mount needs CAP_SYS_ADMIN")
    controlled_and_blocked(tmp_path, build("escape/new_calls.c"),
                           lambda s: [mode, s.secret], _fs_never,
                           setup=_with_xattr if mode == "getxattrat" else None, env=loop)


def _sleeps(pid: int) -> bool:
    """Whether the process runs sleep (setpriv, unshare and sh exec'd it last)."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip() == "sleep"
    except OSError:
        return False


@contextlib.contextmanager
def _namespaced_holder(s: Scene, as_nobody: bool) -> Iterator[int]:
    """A process outside the tree, in a mount namespace of its own where the refused
    directory is bound over the decoy's: it holds the secret open (as descriptor 3, by its
    name there, the decoy's) and sits in that directory.  As nobody, in a user namespace of
    its own (no privilege of the machine's).  Yields its pid once it sleeps (its last exec:
    its namespace, descriptor and cwd are made)."""
    script = (f'mount --bind "{s.secd}" "{s.pubd}" && exec 3<"{s.pubd}/secret.txt" && '
              f'cd "{s.pubd}" && exec sleep 60')
    command = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
    if as_nobody:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   "unshare", "-Ur", *command[1:]]
    proc = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None and not _sleeps(proc.pid):
            os.sched_yield()
        if proc.poll() is not None:
            assert proc.stderr is not None
            pytest.skip(f"no mount namespace of its own here: {proc.stderr.read().decode()}")
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("as_user", ["root", "nobody"])
def test_a_descriptor_of_a_process_in_another_mount_namespace(
        build: Callable[..., Path], world_tmp: Path, loop: dict[str, str], as_user: str) -> None:
    """A process outside the tree (a container, a service with private mounts) holds the
    secret, which a bind mount of its own namespace shows at the decoy's name: its /proc
    links' texts (fd/3, cwd, root/...) name the decoy here, and the kernel's jump reaches the
    secret.  Natively, root -- and nobody, for a holder that is nobody's in a user namespace
    of its own -- reads it; under systrace every such spelling is refused (the resolver
    jumps through the magic link and names what it reached: an object of a namespace the
    tracer did not follow has no name here, EACCES)."""
    if os.geteuid() != 0:
        pytest.skip("the test starts the holder and drops to nobody as root")
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        pytest.skip("util-linux's unshare and setpriv are needed")
    program = Path(shutil.copy(build("escape/outside_fd.c"), world_tmp / "outside_fd"))
    nobody = as_user == "nobody"

    def run(name: str, traced: bool) -> str:
        s = Scene.make(world_tmp, name)
        with _namespaced_holder(s, nobody) as pid:
            spellings = [f"/proc/{pid}/fd/3", f"/proc/{pid}/cwd/secret.txt",
                         f"/proc/{pid}/root{s.pubd}/secret.txt"]
            if not traced:
                argv: list[object] = [program, *spellings]
                if nobody:
                    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", *argv]
                control = attack(argv[0], *argv[1:], policy_text=None, scene=s)
                require_real(control)
                return control.detail
            outcome = attack(program, *spellings, policy_text=_fs_never(s), scene=s,
                             env=loop, options=["-c", f"{NOBODY}:{NOBODY}"] if nobody else ())
            assert_blocked(outcome)
            assert outcome.detail.count("EACCES") == len(spellings), outcome
            return outcome.detail

    run("control", False)
    run("traced", True)


#: a service outside the tree: listens on a unix socket (argv[1]), says a byte to each
#: client, and keeps it; holds the file argv[2] (if given) at descriptor 50
LISTENER = """
import os, socket, sys
if len(sys.argv) > 2:  # (a file it holds at descriptor 50)
    os.dup2(os.open(sys.argv[2], os.O_RDONLY), 50, inheritable=False)
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1] + ".new")
server.listen(8)
os.rename(sys.argv[1] + ".new", sys.argv[1])  # (there once it listens)
clients = []
while True:
    client, _ = server.accept()
    try:
        client.sendall(b"x")
    except OSError:  # (a client gone already: the peer mode reads nothing)
        continue
    clients.append(client)
"""
#: every signal call permitted when all its targets are tasks of the tree, refused otherwise
#: (test_escape_signals.TREE_ONLY)
TREE_ONLY = policy('calls = ["signal"]\ntarget = "tree"\naction = "permit"',
                   never("signal", errno="EPERM"))


@pytest.mark.parametrize("mode", ["peer", "scm"])
def test_a_pidfd_a_socket_hands_out_sends_no_signal_out_of_the_tree(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """A pidfd the program never asked pidfd_open for: a unix socket's peer's, from
    getsockopt(SO_PEERPIDFD), or installed by the kernel with a message (SCM_PIDFD) -- of a
    service outside the tree.  Natively pidfd_send_signal through it ends the service; under
    a tree-scoped permit of signals it is refused (EPERM): the target is read from the
    descriptor at the stop, wherever the descriptor came from."""
    program = build("escape/sig_peerpidfd.c")
    script = tmp_path / "listener.py"
    script.write_text(LISTENER)

    def run(name: str, traced: bool) -> tuple[str, str, bool]:
        path = tmp_path / f"{name}.sock"
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                start_new_session=True)
        try:
            while proc.poll() is None and not path.exists():
                os.sched_yield()
            outcome = attack(program, mode, path, policy_text=TREE_ONLY if traced else None,
                             scene=None, env=loop)
            return outcome.verdict, str(outcome), proc.poll() is None
        finally:
            proc.kill()
            proc.wait(5)

    verdict, text, _ = run("control", False)
    if verdict == "SKIPPED":
        pytest.skip(text)
    assert verdict == "ESCAPED", text
    verdict, text, alive = run("traced", True)
    assert verdict == "BLOCKED" and "EPERM" in text, text
    assert alive, text


def _write_never(s: Scene) -> str:
    return policy(never("fswrite", path=f"{s.secd}/**"))


@pytest.mark.parametrize("mode", ["syscall", "sysenter", "int80"])
def test_a_far_call_into_a_32_bit_code_segment(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """A 64-bit process far-returns into __USER32_CS and enters the kernel from 32-bit code:
    `syscall` (AMD's compat entry), `sysenter` (Intel's) or `int $0x80`, i386's mkdir (39;
    getpid on x86_64) in a directory fswrite refuses.  Natively the directory is made (the CPU
    that raises #UD for one of the first two skips it); under systrace the filters' bad-arch
    action answers ENOSYS, whatever the entry: the kernel gives each the i386 audit arch."""
    controlled_and_blocked(tmp_path, build("escape/abi_compat.c"),
                           lambda s: [mode, s.secd], _write_never, env=loop)


def test_a_far_call_into_a_32_bit_code_segment_under_attach(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """--attach loads no filter: the compat entries stop at their syscall-entry stop, where
    the tracer's own arch check refuses them (Python's loop: the native one never serves an
    attached process).  int80, and the fast entry this CPU has (the other raises #UD)."""
    program = build("escape/abi_compat.c")
    control = Scene.make(tmp_path, "control")
    require_real(attack(program, "int80", control.secd, policy_text=None, scene=control))
    entered = 0
    for mode in ("int80", "syscall", "sysenter"):
        s = Scene.make(tmp_path, f"attach-{mode}")
        run = attached_run([program, mode, s.secd], _write_never(s), scene=s,
                           tracer_first=True, timeout=30)
        assert not (s.secd / "rt30-compat").exists()
        if "SKIPPED: " in run.out and "raises #UD" in run.out:
            continue  # (this CPU has no such compat entry: AMD's no sysenter, Intel's no syscall)
        assert "ESCAPED" not in run.out and "BLOCKED" in run.out, run.out + run.tracer.stderr
        entered += 1
    assert entered >= 2, "int80 and one fast compat entry were tried"


def test_pidfd_getfd_through_a_pidfd_a_socket_hands_out(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """pidfd_getfd against a process outside the tree, through the pidfd its socket hands
    out (SO_PEERPIDFD): natively the copy of the service's descriptor is the secret (root, or
    the service's user); under systrace pidfd_getfd is an unsafe call, refused (EPERM) unless
    a rule names it -- here under `never fsread` of the secret's directory alone."""
    program = build("escape/sig_peerpidfd.c")
    script = tmp_path / "listener.py"
    script.write_text(LISTENER)

    def run(name: str, traced: bool) -> str:
        s = Scene.make(tmp_path, name)
        path = tmp_path / f"{name}.sock"
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(s.secret)],
                                start_new_session=True)
        try:
            while proc.poll() is None and not path.exists():
                os.sched_yield()
            outcome = attack(program, "getfd", path,
                             policy_text=_fs_never(s) if traced else None, scene=s, env=loop)
        finally:
            proc.kill()
            proc.wait(5)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)
            assert "pidfd_getfd: EPERM" in outcome.stdout, outcome
        return outcome.verdict

    run("control", False)
    run("traced", True)
