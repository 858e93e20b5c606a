"""Red team 13b: the front of the house -- what surrounds the engine: the credentials a
program is started with (``-c``), what a learned policy grants when it is used again, and
the person at the terminal.  Each attack has a native control showing the technique works
on this machine; the traced run must not get what the policy (or ``-c``) withholds."""

from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    SYSTRACE,
    Outcome,
    Scene,
    _verdict,
    answered_on_a_terminal,
    assert_blocked,
    policy,
    read_never,
    require_real,
    scene_env,
)

from conftest import PYTHON, run_systrace, systrace_env

NOBODY = (65534, 65534)

# --- credentials: the starter's keyrings ---------------------------------------------------------

_KEYCTL, _ADD_KEY = 250, 248
_KEYCTL_JOIN_SESSION_KEYRING = 1
_KEY_SPEC_SESSION_KEYRING = -3
KEY_NAME = b"systrace-redteam13b"


def _keyring_with_the_secret() -> None:
    """(In the child, before its exec.)  A session keyring of our own, as a login's
    (pam_keyinit), holding the secret as a "user" key -- root's, as the starter of systrace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(_KEYCTL, _KEYCTL_JOIN_SESSION_KEYRING, b"redteam13b") < 0:
        os._exit(90)
    data = SECRET_MAGIC.encode()
    if libc.syscall(_ADD_KEY, b"user", KEY_NAME, data, len(data),
                    _KEY_SPEC_SESSION_KEYRING) < 0:
        os._exit(91)


def _run(cmd: Sequence[str], scene: Scene, preexec: Callable[[], None],
         env: dict[str, str] | None = None, pass_fds: Sequence[int] = ()) -> Outcome:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, cwd=scene.root,
                          env=scene_env(scene, **(env or {})), start_new_session=True,
                          pass_fds=tuple(pass_fds),
                          stdin=subprocess.DEVNULL, preexec_fn=preexec)
    verdict, detail = _verdict(proc.stdout)
    return Outcome(list(cmd), proc.returncode, proc.stdout, proc.stderr,
                   cmd[0] != str(cmd[-2]), verdict, detail)


def test_a_program_run_as_another_user_does_not_keep_its_starters_keyring(build, world_tmp):
    """``-c UID:GID`` is the answer the limits give to a program of the same user: run it as
    another.  But the program's process kept the starter's session keyring through the fork,
    the credentials' change and the exec, and possessing a keyring is possessing every key in
    it -- whatever the uid (keyrings(7)).  A program run by root as nobody read root's key.
    Now a program whose credentials ``-c`` changes starts in a new session keyring of its
    own (`child.become_program`), as ``su``/``runuser`` give one through pam_keyinit.
    Control: the same drop (setgroups, setgid, setuid) without systrace, then the read."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/cred_keyring.c"), world_tmp / "cred_keyring"))
    uid, gid = NOBODY

    def control_preexec() -> None:
        _keyring_with_the_secret()
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(uid)

    c = Scene.make(world_tmp, "control")
    control = _run([str(program), KEY_NAME.decode()], c, control_preexec)
    if control.returncode in (90, 91):
        pytest.skip("no session keyring to be had here (keyctl refused)")
    require_real(control)
    s = Scene.make(world_tmp, "traced")
    policy_file = s.root / "policy.toml"
    policy_file.write_text(read_never(s.secd / "**"))
    traced = _run([*SYSTRACE, "-c", f"{uid}:{gid}", "-p", str(policy_file), "--",
                   str(program), KEY_NAME.decode()], s, _keyring_with_the_secret)
    assert_blocked(traced)
    assert "uid 65534" in traced.stdout, traced


def test_a_program_run_as_another_user_does_not_keep_its_starters_descriptors(build, world_tmp,
                                                                             loop):
    """Red team 14: descriptors, like the keyring, are the starter's authority carried
    through the fork, the change of credentials and the exec.  Root opened a root-only file
    (a script's ``exec 7<FILE``, a leaked descriptor) and ran the program as nobody, who may
    not open the file: it read the file from that descriptor.  Now a program
    whose credentials ``-c`` changes gets no descriptor above 2 (``child.become_program``),
    as sudo closes them.  Control: the same drop without systrace, then the read."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/cred_fds.c"), world_tmp / "cred_fds"))
    uid, gid = NOBODY

    def run(cmd: Sequence[str], scene: Scene, drop: bool,
            env: dict[str, str] | None = None) -> Outcome:
        scene.secret.chmod(0o600)
        held = os.open(scene.secret, os.O_RDONLY)  # (passed on: a shell's exec 7<FILE)
        try:
            def preexec() -> None:
                if drop:
                    os.setgroups([gid])
                    os.setgid(gid)
                    os.setuid(uid)
            return _run(cmd, scene, preexec, env, pass_fds=(held,))
        finally:
            os.close(held)

    control = run([str(program), "-"], Scene.make(world_tmp, "control"), True)
    require_real(control)
    assert "uid 65534" in control.stdout, control
    s = Scene.make(world_tmp, "traced")
    policy_file = s.root / "policy.toml"
    policy_file.write_text(read_never(s.secd / "**"))
    traced = run([*SYSTRACE, "-c", f"{uid}:{gid}", "-p", str(policy_file), "--",
                  str(program), "-"], s, False, loop)
    assert_blocked(traced)
    assert "uid 65534" in traced.stdout, traced


def test_a_program_run_as_another_user_does_not_keep_its_starters_working_directory(
        build, world_tmp, loop):
    """Red team 14: the working directory is the starter's too.  The kernel checks search
    permission from a lookup's start on, not above it: root, working in
    ``/root/proj`` (``/root`` 0700, ``proj`` 0755), ran the program as nobody, who may not
    reach ``proj`` from ``/`` -- and it read ``proj``'s files by relative names.  Now the new
    user must reach the working directory from ``/`` (a stat of its path, in
    ``child.become_program``), or the program is not run.  (A root shell in ``/root``
    itself still runs it: there the kernel refuses every relative name natively.)
    Control: the same drop without systrace, then the relative read."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/home_link.c"), world_tmp / "home_link"))
    uid, gid = NOBODY

    def locked_project(name: str) -> Scene:
        locked = world_tmp / name
        locked.mkdir(mode=0o700)
        locked.chmod(0o700)
        scene = Scene.make(locked, "proj")
        scene.secret.chmod(0o644)
        return scene

    def control_preexec() -> None:
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(uid)

    c = locked_project("control")
    control = _run([str(program), "secd/secret.txt"], c, control_preexec)
    require_real(control)
    s = locked_project("traced")
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy())
    traced = _run([*SYSTRACE, "-c", f"{uid}:{gid}", "-p", str(policy_file), "--",
                   str(program), "secd/secret.txt"], s, lambda: None, loop)
    assert "ESCAPED" not in traced.stdout, traced
    # (the child exits 126 before its stop: systrace reports that it never ran, 125)
    assert traced.returncode in (125, 126) and "working directory" in traced.stderr, traced


def _deep_locked_project(base: Path) -> int:
    """``base/locked`` (0700) and below it a chain of directories whose path is longer than
    a page (the kernel's getcwd gives ENAMETOOLONG), holding ``secd/secret.txt`` (0644): a
    descriptor of the chain's end, made by relative names (no path that long can be
    named)."""
    locked = base / "locked"
    locked.mkdir(mode=0o700)
    locked.chmod(0o700)
    fd = os.open(locked, os.O_DIRECTORY)
    for _ in range(22):  # (22 names of 200 bytes: 4,400 bytes below base)
        os.mkdir("d" * 200, 0o755, dir_fd=fd)
        below = os.open("d" * 200, os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.mkdir("secd", 0o755, dir_fd=fd)
    secret = os.open("secd/secret.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(secret, f"{SECRET_MAGIC}\n".encode())
    os.close(secret)
    return fd


def test_a_working_directory_too_deep_to_name_is_no_way_past_the_reach_check(
        build, world_tmp, loop):
    """Review 9: the reach check (``child._check_working_directory_reach``) let the program
    run wherever the new user's getcwd failed -- meant for a removed directory (ENOENT), it
    took every failure for one: a working directory whose path is longer than a page
    (ENAMETOOLONG from the kernel, then EACCES from glibc's walk up through ``/root``)
    below a directory nobody may search, and the program read its files by relative names
    there.  Now only a removed directory is let be.  Control: the same drop without
    systrace, then the relative read."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/home_link.c"), world_tmp / "home_link"))
    uid, gid = NOBODY

    def run(cmd: Sequence[str], base: Path, drop: bool,
            env: dict[str, str] | None = None) -> Outcome:
        here = _deep_locked_project(base)

        def preexec() -> None:
            os.fchdir(here)
            if drop:
                os.setgroups([gid])
                os.setgid(gid)
                os.setuid(uid)

        environment = systrace_env(env)
        # (no empty entry, which names the working directory: Python cannot make a path that
        # long absolute, and would not start)
        environment["PYTHONPATH"] = os.pathsep.join(
            entry for entry in environment["PYTHONPATH"].split(os.pathsep) if entry)
        try:
            proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60,
                                  env=environment, start_new_session=True,
                                  pass_fds=(here,), stdin=subprocess.DEVNULL, preexec_fn=preexec)
        finally:
            os.close(here)
        verdict, detail = _verdict(proc.stdout)
        return Outcome(list(cmd), proc.returncode, proc.stdout, proc.stderr, False, verdict,
                       detail)

    (world_tmp / "control").mkdir()
    control = run([str(program), "secd/secret.txt"], world_tmp / "control", drop=True)
    require_real(control)
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy())
    (world_tmp / "traced").mkdir()
    traced = run([*SYSTRACE, "-c", f"{uid}:{gid}", "-p", str(policy_file), "--",
                  str(program), "secd/secret.txt"], world_tmp / "traced", drop=False, env=loop)
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.returncode in (125, 126) and "working directory" in traced.stderr, traced


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is not installed")
def test_a_program_run_as_another_user_does_not_keep_its_starters_capabilities(
        build, world_tmp, loop):
    """Red team 14: ``setuid`` from root clears the capabilities -- unless the starter's
    securebits say not to (``SECBIT_NO_SETUID_FIXUP``, which survives exec: a supervisor's,
    a capability-aware service's).  Then the ambient set survives the change of credentials
    and the exec too: a program run by root "as nobody" kept CAP_DAC_OVERRIDE and read a
    root-only file.  Now a program whose ambient set is not empty after ``-c``'s setuid is
    not run.  Control: the same securebits and ambient set, ``setpriv`` dropping to nobody."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/home_link.c"), world_tmp / "home_link"))
    uid, gid = NOBODY
    starter = ["setpriv", "--securebits", "+no_setuid_fixup",
               "--inh-caps", "+dac_override", "--ambient-caps", "+dac_override", "--"]
    s = Scene.make(world_tmp, "scene")
    s.secret.chmod(0o600)
    drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
    control = _run([*starter, *drop, str(program), str(s.secret)], s, lambda: None)
    if "setpriv:" in control.stderr:
        pytest.skip(f"setpriv cannot set these here: {control.stderr.strip()}")
    require_real(control)
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy())
    traced = _run([*starter, *SYSTRACE, "-c", f"{uid}:{gid}", "-p", str(policy_file), "--",
                   str(program), str(s.secret)], s, lambda: None, loop)
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.returncode in (125, 126) and "capabilit" in traced.stderr, traced


# --- learned policies used again: what their variables stand for then ---------------------------

def _home_with_a_project(base: Path) -> tuple[Path, Path]:
    """A home directory with a key in ~/.ssh and a project of four files in two directories."""
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh").chmod(0o700)
    (home / ".ssh" / "id_rsa").write_text(f"{SECRET_MAGIC}\n")
    (home / ".ssh" / "id_rsa").chmod(0o600)
    proj = home / "proj"
    (proj / "src").mkdir(parents=True)
    for name in ("README", "Makefile", "src/main.c", "src/util.c"):
        (proj / name).write_text(f"{name}\n")
    return home, proj


def test_a_learned_tree_walk_does_not_reach_the_home_directorys_secrets(build, tmp_path):
    """A walk of a project directory is learned as ``fsread $CWD/**`` -- a policy "learned in
    one project directory holds in another" (docs/learning.md) -- and learning never widens
    into ``~/.ssh``.  But ``$CWD`` is expanded when the policy is used: the same program run
    from the home directory read ``~/.ssh/id_rsa`` under the learned policy.  Control: the
    walker, run from the home directory without systrace, reads the key."""
    walker = build("escape/learn_walk.c")
    home, proj = _home_with_a_project(tmp_path)
    env = {"HOME": str(home)}
    learned = tmp_path / "learned.toml"
    r = run_systrace(["-A", "-o", str(learned), "--", str(walker)], cwd=proj, env=env)
    assert r.returncode == 0 and "read 4 files" in r.stdout, r.stdout + r.stderr
    assert "$CWD/**" in learned.read_text(), learned.read_text()
    control = subprocess.run([str(walker)], cwd=home, capture_output=True, text=True, timeout=30)
    assert "ESCAPED" in control.stdout, control.stdout
    again = run_systrace(["-p", str(learned), "--", str(walker)], cwd=proj, env=env)
    assert "read 4 files, 0 refused" in again.stdout, again.stdout + again.stderr
    elsewhere = run_systrace(["-p", str(learned), "--", str(walker)], cwd=home, env=env)
    assert "ESCAPED" not in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr


# --- the tracer's own writes after the run: the learned policy -----------------------------------

@pytest.mark.parametrize("link", ["policy", "lock"])
def test_a_learned_policy_is_not_written_through_a_link_the_program_made(build, world_tmp, link):
    """``-c`` runs the program as another user, and the learned policy is written after the
    run as the user who started systrace.  The program, which may write its own work
    directory where ``-o`` points, replaced the policy's path with a symlink to a file only
    root may write (``policy``): the policy was written over the victim, its owner and mode
    kept.  Or it planted ``.p.toml.lock`` as a link to a file that did not exist (``lock``):
    root made that file, where the program chose.  Now a destination whose resolution
    changed during the run is not written (the run says so, exit 125), and the lock is never
    opened through a link.  Control: the program as that user may not write either file
    itself (EACCES)."""
    if os.geteuid() != 0:
        pytest.skip("-c needs root")
    program = Path(shutil.copy(build("escape/learn_link.c"), world_tmp / "learn_link"))
    work = world_tmp / "work"
    work.mkdir()
    work.chmod(0o777)
    safe = world_tmp / "root-only"
    safe.mkdir(mode=0o755)
    victim = safe / "victim.conf"
    victim.write_text("root's configuration\n")
    victim.chmod(0o644)
    dest = work / "p.toml"
    planted, target = (dest, victim) if link == "policy" else \
        (work / ".p.toml.lock", safe / "made-by-the-lock")
    r = run_systrace(["-c", "65534:65534", "-A", "-o", str(dest), "--", str(program),
                      str(planted), str(target)], cwd=world_tmp)
    assert "note: planted" in r.stdout and "EACCES" in r.stdout, r.stdout + r.stderr
    assert victim.read_text() == "root's configuration\n", (victim.read_text(), r.stderr)
    assert sorted(p.name for p in safe.iterdir()) == ["victim.conf"], r.stderr
    assert r.returncode == 125, r.stderr


# --- the person at the terminal: what the question shows -----------------------------------------

@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_name_cannot_draw_a_line_of_the_question(build):
    """``ask_lines.c`` on a real terminal (tmux).  The prompt shows the path as the program
    spelled it ("given as"), and prompt-toolkit shows an escape as ``^[`` but draws a line
    feed as a line break: names spelling "\\n  call   openat  path DECOY ...\\n" put a
    second call line, about the decoy, under the real one.  A person who answers the last
    call line above the prompt (``permit-now`` for the decoy, ``deny-now`` otherwise) let
    the secret be read.  Now every text of the question the program chose has its controls
    spelled out (``terminal.printable``, as everywhere else systrace writes to the terminal):
    one call line, the real one, refused.  Control: the spelling reaches the secret natively."""
    program = build("escape/ask_lines.c")
    base = Path(tempfile.mkdtemp(prefix="rt13b-", dir="/tmp"))  # (short paths: one line each)
    try:
        c = Scene.make(base, "c")
        control = subprocess.run([str(program), str(c.decoy), "secd/secret.txt"], cwd=c.root,
                                 capture_output=True, text=True, timeout=30)
        assert "ESCAPED" in control.stdout, control.stdout
        s = Scene.make(base, "s")
        policy_file = s.root / "p.toml"
        policy_file.write_text(policy(f'calls = ["fsread"]\npath = "{s.root}/{{secd,pubd}}/**"'
                                      '\naction = "ask"'))
        out = s.root / "out"
        command = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(policy_file), "--",
                              str(program), str(s.decoy), "secd/secret.txt"])
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in systrace_env().items()
                       if k == "PYTHONPATH")
        final, answers = answered_on_a_terminal(
            f"env {env} {command}", out, s.decoy, r"(?m)^  call\s+openat\s+path\s+(\S+)",
            name="rt13b", size=(200, 50), cwd=s.root)
        assert out.exists(), final
        assert "ESCAPED" not in final, f"answered {answers}:\n{final}"
        assert "BLOCKED: secret: EPERM" in final, final
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_learned_listing_does_not_grant_the_hidden_files_never_read(build, tmp_path):
    """Learning widens a listed directory whose every *visible* entry was read into
    ``fsread DIR/*`` -- and ``*`` matches a leading dot (docs/policy.md).  The project's
    ``.env``, which the learning run never opened, was granted: the same program read it on
    the next run.  Now a listing whose hidden entries were not all read is learned as
    ``DIR/[!.]*``, and a tree (``DIR/**``) only from a walk that read the hidden entries
    too.  Control: the program reads ``.env`` without systrace."""
    program = build("escape/learn_hidden.c")
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("main.c", "util.c", "Makefile"):
        (proj / name).write_text(f"{name}\n")
    (proj / ".env").write_text(f"API_KEY={SECRET_MAGIC}\n")
    env = {"HOME": str(tmp_path)}
    learned = tmp_path / "learned.toml"
    r = run_systrace(["-A", "-o", str(learned), "--", str(program)], cwd=proj, env=env)
    assert r.returncode == 0 and "read 3 files" in r.stdout, r.stdout + r.stderr
    control = subprocess.run([str(program)], cwd=proj, capture_output=True, text=True,
                             timeout=30, env={**os.environ, "READ_HIDDEN": "1"})
    assert "ESCAPED" in control.stdout, control.stdout
    again = run_systrace(["-p", str(learned), "--", str(program)], cwd=proj, env=env)
    assert "read 3 files, 0 refused" in again.stdout, again.stdout + again.stderr
    hidden = run_systrace(["-p", str(learned), "--", str(program)], cwd=proj,
                          env={**env, "READ_HIDDEN": "1"})
    assert "ESCAPED" not in hidden.stdout, (hidden.stdout, learned.read_text())
    assert "BLOCKED: read 3 files, 1 refused" in hidden.stdout, hidden.stdout
