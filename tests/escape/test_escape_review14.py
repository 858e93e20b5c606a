"""Review 14: a hostile reading of the previous session's merged change (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 14")."""

from __future__ import annotations

import os
import platform
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    never,
    policy,
    read_never,
    require_real,
)

from conftest import UNPRIVILEGED_USER, systrace_env

#: a mount namespace of the run's own with a procfs of its own at /proc (as red team 22's
#: tests): the tracer and its tree share it, and what the attack changes ends with it
PRIVATE_PROC = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount -t proc proc /proc && exec "$@"', "sh"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
@pytest.mark.parametrize("how", ["bind", "clone", "remount", "unshared"])
def test_the_options_of_the_tracers_proc_by_another_name_are_refused(
        build, tmp_path: Path, how: str, loop: dict[str, str]) -> None:
    """Red team 22's guard refused a reconfiguration of the tracer's own /proc by the
    target's path ("/proc" or below).  A procfs's options (subset=pid, hidepid) are its
    superblock's, which every mount of it shares: fspick of a bind of /proc (or of a
    detached copy, open_tree's OPEN_TREE_CLONE, which has no name at all), a remount of the
    superblock through the bind, and fspick("/proc") in a mount namespace of the program's
    own (``unshared``: a copy, whose /proc is the tracer's superblock; the guard looked only
    at the tracer's namespace) passed -- and the tracer's /proc lost /proc/sys and
    /proc/net.  Natively the change takes /proc/sys from /proc and the program reads the
    secret; traced, the change is refused (EPERM): the target is judged by its file system
    (the tracer's /proc's device), not by its name."""
    program = build("escape/ns_procalias.c")
    native = Scene.make(tmp_path, "control")
    extra = [] if how in ("clone", "unshared") else [native.work]
    require_real(attack(PRIVATE_PROC[0], *PRIVATE_PROC[1:], program, how, native.secd, *extra,
                        policy_text=None, scene=native))
    scene = Scene.make(tmp_path)
    extra = [] if how in ("clone", "unshared") else [scene.work]
    traced = attack(program, how, scene.secd, *extra, policy_text=read_never(scene.secret),
                    scene=scene, env=loop, tracer=[*PRIVATE_PROC, *SYSTRACE])
    assert "made" not in traced.stdout, traced
    assert_blocked(traced)
    assert traced.detail == f"{how} of /proc: EPERM", traced


def _binfmt_tables(scene: Scene) -> str:
    """The main table refuses reading the secret; bin/x.tbl's table is trusted with it."""
    return (policy(never("fsread", path=str(scene.secd / "**")))
            + f'\n[program."{scene.root / "bin" / "x.tbl"}"]\ndefault = "permit"\n')


@pytest.mark.skipif(platform.machine() != "x86_64", reason="root_loader.c is x86-64 code")
@pytest.mark.parametrize("how", ["host", "own"])
def test_a_binfmt_misc_handler_of_a_user_namespace_runs_no_program_with_a_table(
        build, tmp_path: Path, how: str, loop: dict[str, str]) -> None:
    """Held (tried, no change needed): red team 24 kept the tree's loader out of an exec
    into another table (a root or mounts of the tree's own: refused), and binfmt_misc is
    another door -- its handlers come before ELF and #!, and since Linux 6.7 a user
    namespace has its own, which a mount namespace it owns may mount: no privilege needed,
    and the exec may then be made from the tracer's very mount namespace (``host``: a child
    registered it in a namespace of its own) or from one whose mounts, binfmt_misc unmounted
    again, list the tracer's (``own``), which loads_in_own_view lets through.  The tree
    registered ``:r14:E::tbl::INTERP:F`` and exec'd bin/x.tbl, a program with a table: the
    kernel runs INTERP, and the check at the exec event (/proc/PID/exe is not the file
    checked) kills the process before INTERP's first instruction, as red team 3 found for
    root's handlers.  Control: natively INTERP, the tree's code, reads the secret."""
    program = build("escape/root_binfmt.c")
    interp = build("escape/root_loader.c", "-nostdlib", "-static", "-fno-stack-protector")

    def args(scene: Scene) -> list[object]:
        (scene.root / "bin").mkdir()
        shutil.copy(build("escape/hello.c"), scene.root / "bin" / "x.tbl")
        (scene.work / "bm").mkdir()
        return [how, interp, scene.work / "bm", "bin/x.tbl"]

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, *args(native), policy_text=None, scene=native,
                        cwd=native.root))
    scene = Scene.make(tmp_path, "traced")
    traced = attack(program, *args(scene), policy_text=_binfmt_tables(scene), scene=scene,
                    env=loop, cwd=scene.root)
    assert "the tree's loader runs" not in traced.stdout, traced
    assert_blocked(traced, may_be_killed=True)
    # (killed at the exec event -- or, when the tracer's mount table changed while the tree's
    # namespace was made (another test's mount beside this one), its mounts no longer list
    # the tracer's and the exec is refused before it runs: both fail closed; a CI run failed
    # on the second)
    assert "not the file that was checked: killed" in traced.stderr \
        or "exec of bin/x.tbl refused: EPERM" in traced.detail \
        or "mount of binfmt_misc refused: EPERM" in traced.stdout, traced
    # (red team 67: a binfmt_misc mount is now refused where a rule could care -- the exe
    # check alone does not hold a chain back to the file exec'd)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
def test_the_options_of_another_file_system_change_as_natively(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Parity: a superblock's reconfiguration judged by its file system refuses nothing
    else -- a tmpfs of the program's own, in a namespace of its own, reconfigured by fspick
    and by a remount, as natively (the tracer's /proc keeps /proc/sys)."""
    program = build("escape/ns_procalias.c")
    native = Scene.make(tmp_path, "control")
    control = attack(PRIVATE_PROC[0], *PRIVATE_PROC[1:], program, "tmpfs", native.secd,
                     native.work, policy_text=None, scene=native)
    assert control.detail == "tmpfs made, but /proc/sys is still there", control
    scene = Scene.make(tmp_path)
    traced = attack(program, "tmpfs", scene.secd, scene.work, policy_text=read_never(scene.secret),
                    scene=scene, env=loop, tracer=[*PRIVATE_PROC, *SYSTRACE])
    assert traced.detail == "tmpfs made, but /proc/sys is still there", traced


def _as_user() -> list[str]:
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


@pytest.fixture
def user_base() -> Iterator[Path]:
    """A directory of the unprivileged user's (pytest's own are root's, 0700)."""
    base = Path(tempfile.mkdtemp(prefix="rv14-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for d, _dirs, _files in os.walk(base):
            os.chmod(d, 0o755)  # (the program's read-only directory, removable again)
        shutil.rmtree(base, ignore_errors=True)


def _users_scene(base: Path, name: str) -> Scene:
    scene = Scene.make(base, name)
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    sourced = scene.root / "home" / ".bashrc.d"
    sourced.mkdir(parents=True)
    for d, dirs, files in os.walk(scene.root):
        for name_ in [d, *(os.path.join(d, n) for n in [*dirs, *files])]:
            os.chown(name_, user.pw_uid, user.pw_gid)
    return scene


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs systrace as an unprivileged user (root makes every link count)")
def test_a_link_in_a_read_only_directory_of_the_users_does_not_aim_the_log(
        build, user_base: Path) -> None:
    """Review 13's rule: a symlink on the way to the log is followed only to a log already
    there when it sits in a directory the user may write -- one the program may have put
    there; a link in a directory the user may not write is the system's.  But the program
    runs as the user, and a directory it made is the user's: it makes ``d``, puts ``d/logs``
    -> ``home/.bashrc.d`` in it and makes ``d`` read-only (0555).  os.access says "not
    writable", so the next run's ``--log d/logs/run.log`` (a user's, not root's) created
    ``run.log`` in the directory bash sources, with the program's ``$(touch MARK)``.  Now a
    directory the user owns counts as one the user may write (its owner may chmod it): the
    log is made through such a link only when it is a log there already (and ``-A -o
    d/logs/p.toml`` makes no policy there).  Control: natively the program makes a file
    there through its link itself."""
    program = user_base / "log_plant"  # (pytest's directories: root's, 0700)
    shutil.copy(build("escape/log_plant.c"), program)
    control = _users_scene(user_base, "control")
    require_real(attack(_as_user()[0], *_as_user()[1:], program, "plantro", control.work / "d",
                        "logs", control.root / "home" / ".bashrc.d", policy_text=None,
                        scene=control, cwd=control.work))
    scene = _users_scene(user_base, "traced")
    sourced = scene.root / "home" / ".bashrc.d"
    text = policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))
    planted = attack(program, "plantro", scene.work / "d", "logs", sourced, policy_text=text,
                     scene=scene, cwd=scene.work, tracer=[*_as_user(), *SYSTRACE])
    assert_blocked(planted)
    assert (scene.work / "d" / "logs").is_symlink(), planted
    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    logged = attack(program, "say", payload, policy_text=text, scene=scene, cwd=scene.work,
                    options=["--log", str(scene.work / "d" / "logs" / "run.log")],
                    tracer=[*_as_user(), *SYSTRACE])
    assert sorted(p.name for p in sourced.iterdir()) == [], logged
    assert "in a directory a traced program may write" in logged.stderr, logged
    learned = subprocess.run([*_as_user(), *SYSTRACE, "-A", "-o",
                              str(scene.work / "d" / "logs" / "p.toml"), "--", "true"],
                             capture_output=True, text=True, timeout=60, cwd=scene.work,
                             env=systrace_env(), check=False)
    assert learned.returncode == 2 and "in a directory a traced program may write" in \
        learned.stderr, learned
    assert sorted(p.name for p in sourced.iterdir()) == [], "-A -o made a policy there"
