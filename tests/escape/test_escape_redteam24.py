"""Red team 24: an outsider at the resident tracer with several servers of the user's, and at
a tracee whose root is not the tracer's (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy, or the docs, refuse (docs/security.md, "Red team
24").  The resident tests run their servers in a private XDG_RUNTIME_DIR (never the user's).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    assert_blocked,
    attack,
    listener_of,
    never,
    policy,
    require_real,
    served_env,
)

from conftest import REPO, run_systrace
from systrace_py import resident_client

PERMIT = 'default = "permit"\n'
#: what the other copy's workers say first, on their client's stderr
OTHER = "served by the other copy's code"
#: a program that writes its PPid and TracerPid
WHO = ["sh", "-c", 'grep -E "^(PPid|TracerPid):" /proc/$$/status']


@pytest.fixture
def runtime() -> Iterator[Path]:
    # (not under tmp_path: a unix socket's path has at most 107 bytes)
    path = Path(tempfile.mkdtemp(prefix="systrace-rt24-"))
    try:
        yield path
    finally:
        for sock in (path / "systrace-py").glob("*.sock"):  # (servers of this test: by pid)
            pid = listener_of(sock)
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
    server = listener_of(planted)
    assert server is not None
    ours = Path(resident_client.socket_path(served_env(runtime)))
    assert planted != ours
    program = build("escape/res_plant.c")

    control = attack(program, planted.parent, ours.name, policy_text=None, scene=None)
    require_real(control)
    assert resident_client.connect(served_env(runtime)) is not None  # (found: its pid ...)
    assert listener_of(ours) == server
    os.rename(ours, planted)

    mine = None
    if traced_by == "resident":  # (the program's own run served by this build's server)
        started = run_systrace(["--resident", "--resident-idle", "300"],
                               env=served_env(runtime), cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        mine = listener_of(ours)
        assert mine is not None
    try:
        traced = attack(program, planted.parent, ours.name, policy_text=PERMIT, scene=None,
                        env=served_env(runtime))
        # (the policy lets it -- over this build's own server's socket, if one ran: what
        # counts is the user's next run)
        assert traced.verdict == "ESCAPED", traced
        assert listener_of(ours) == server
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


# --- a root of the tree's own ---------------------------------------------------------------
#: where an x86-64 program's PT_INTERP names its loader (hello.c's, as gcc links it)
LOADER = "lib64/ld-linux-x86-64.so.2"


def _jail(scene: Scene, build: Callable[..., Path]) -> Path:
    """The scene's root holds bin/x (an ordinary dynamic program, with a table of its own
    that may read the secret) and jail/, the tree's, whose lib64 holds a loader of its own
    and whose etc/ld.so.preload names a library of its own (the program could write them:
    the policy lets it write there; placed here for brevity)."""
    (scene.root / "bin").mkdir()
    shutil.copy(build("escape/hello.c"), scene.root / "bin" / "x")
    jail = scene.root / "jail"
    (jail / "lib64").mkdir(parents=True)
    shutil.copy(build("escape/root_loader.c", "-nostdlib", "-static", "-fno-stack-protector"),
                jail / LOADER)
    (jail / "etc").mkdir()
    shutil.copy(build("escape/root_preload.c", "-shared", "-fPIC"), jail / "preload.so")
    (jail / "etc" / "ld.so.preload").write_text(f"{jail / 'preload.so'}\n")
    return jail


def _tables(scene: Scene) -> str:
    """The main table refuses reading the secret; bin/x's table is trusted with it."""
    return (policy(never("fsread", path=str(scene.secd / "**")))
            + f'\n[program."{scene.root / "bin" / "x"}"]\ndefault = "permit"\n')


@pytest.mark.skipif(platform.machine() != "x86_64", reason="root_loader.c is x86-64 code")
@pytest.mark.parametrize("how", ["root", "user"])
@pytest.mark.parametrize("door", ["chroot", "bind", "preload"])
def test_a_root_of_the_trees_own_gives_a_program_no_loader_of_the_trees(
        build, tmp_path: Path, door: str, how: str, loop: dict[str, str]) -> None:
    """An exec into another table is a change of privilege, and the engine keeps the
    caller's code out of it: LD_PRELOAD and the other loader variables (Reason.LOADER), a
    bind over the program (Reason.PROGRAM_NAME).  But the kernel looks the program's ELF
    interpreter (PT_INTERP, /lib64/ld-linux-x86-64.so.2) up in the *task's* root: a tree that
    chroots into a directory of its own -- as root, or in a user namespace of its own (no
    privilege) -- with its working directory left outside, and execs the program there by
    a relative name, has the program's table given to a loader of its own.  Here that loader
    read the secret, which the main table refuses and the program's table permits (escaped
    before, both loops).  The same by another door (``bind``): in a mount namespace of its
    own, the tree's loader bound over the system's, and the program exec'd by its own name
    (which the program-name check lets through: it is the program); and with the system's
    own loader (``preload``): its own /etc bound over the system's, whose ld.so.preload the
    loader reads there, naming a library of the tree's (this one escaped the first fix,
    which compared the interpreters with the files their names reach in the tracer's
    view).  Now such an exec -- a task outside the tracer's view entering another table by
    a program with any interpreter -- is refused (EPERM).  Control: natively the tree's
    loader (or library) runs and reads the secret; and with no table for the program the
    exec runs (the tree's code then has the main table's rights: refused)."""
    program = build("escape/root_views.c")

    def args(scene: Scene) -> list[str]:
        jail = _jail(scene, build)
        program = str(scene.root / "bin" / "x")
        if door == "chroot":
            return ["loader", how, "jail", "bin/x"]
        if door == "bind":
            return ["bind", how, str(jail / LOADER), program]
        return ["preload", how, str(jail), program]

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, *args(native), policy_text=None, scene=native))

    scene = Scene.make(tmp_path, "traced")
    traced = attack(program, *args(scene), policy_text=_tables(scene), scene=scene, env=loop)
    assert_blocked(traced)
    assert "EPERM" in traced.detail, traced

    plain = Scene.make(tmp_path, "plain")  # (no table for it: the exec is no change of table)
    kept = attack(program, *args(plain), scene=plain, env=loop,
                  policy_text=policy(never("fsread", path=str(plain.secd / "**"))))
    assert "the tree's" in kept.stdout, kept  # (its loader, or its library, ran)
    assert_blocked(kept)


def test_a_scripts_interpreter_in_a_chroot_is_named_by_its_host_name(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Held (tried, no change needed): after chroot(JAIL), a script's ``#!/secd/payload``
    (also reached through a symlink, or ``../secd/payload``) is JAIL/secd/payload, which a
    rule refuses to exec: the interpreter is resolved in the task's root and named by its
    host name.  Control: natively the interpreter runs."""
    program = build("escape/root_views.c", "-static")  # (it runs in the jail: no loader there)

    def setup(scene: Scene) -> None:
        shutil.copy(program, scene.secd / "payload")
        script = scene.work / "s.sh"
        script.write_text("#!/secd/payload\n")
        script.chmod(0o755)

    native = Scene.make(tmp_path, "control")
    setup(native)
    require_real(attack(program, "shebang", native.root, policy_text=None, scene=native))
    scene = Scene.make(tmp_path, "traced")
    setup(scene)
    traced = attack(program, "shebang", scene.root, scene=scene, env=loop,
                    policy_text=policy(never("exec", path=str(scene.secd / "**"))))
    assert_blocked(traced)
