"""Red team 20: an outsider at what the tracer writes and where (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 20")."""

from __future__ import annotations

import os
import pwd
import subprocess
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
    require_real,
    scene_env,
)

from conftest import PYTHON, REPO, UNPRIVILEGED_USER, systrace_env
from systrace_py.policy.files import policy_filename

RC = "# the user's shell start-up file\n"


def home_scene(tmp_path: Path, name: str) -> tuple[Scene, Path]:
    """A scene with ``home/.bashrc``, a file the program may not write (its policy's
    ``never``), and the program's work directory, which it may."""
    scene = Scene.make(tmp_path, name)
    home = scene.root / "home"
    home.mkdir()
    rc = home / ".bashrc"
    rc.write_text(RC)
    return scene, rc


def planting_is_real(program: Path, tmp_path: Path, name: str) -> None:
    """The native control of log_plant.c: the program writes the file through the link it
    made at ``work/NAME``."""
    scene, rc = home_scene(tmp_path, "control")
    control = attack(program, "plant", scene.work / name, rc, policy_text=None, scene=scene,
                     cwd=scene.work)
    require_real(control)
    assert PAYLOAD_MAGIC in rc.read_text()


def home_never(scene: Scene) -> str:
    """Everything permitted but writing the home directory and reading the secret's."""
    return policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))


def test_a_symlink_at_the_logs_name_does_not_aim_the_next_runs_log(build,
                                                                  tmp_path: Path) -> None:
    """The log is opened before the program runs, but the program may write the directory
    where the user keeps ``--log run.log``: log_plant.c makes ``run.log`` a symlink to
    ``home/.bashrc`` (it may not write that file itself: refused), and the next run's
    tracer appended its records there -- the program's refused path, ``$(touch MARK)``
    and all, which bash runs when it reads the file (the marker is made).  Control:
    natively the program writes the file through its link itself.  Now a symlink at the
    log's name is not followed to a regular file (unless it is systrace's own stdout or
    stderr): the run stops before it starts (exit 2) and the file is as it was."""
    program = build("escape/log_plant.c")
    planting_is_real(program, tmp_path, "run.log")
    scene, rc = home_scene(tmp_path, "traced")
    log = scene.work / "run.log"
    planted = attack(program, "plant", log, rc, policy_text=home_never(scene), scene=scene,
                     cwd=scene.work)
    assert_blocked(planted)
    assert log.is_symlink() and rc.read_text() == RC
    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    said = attack(program, "say", payload, policy_text=home_never(scene), scene=scene,
                  cwd=scene.work, options=["--log", str(log)])
    assert rc.read_text() == RC, (
        f"the tracer wrote the program's text into a file it may not write:\n{rc.read_text()}"
        f"\nsourced by bash, it ran the payload: {_sourced_runs(rc, scene.marker)}")
    assert said.returncode == 2 and "a symbolic link to a file" in said.stderr, said
    assert "ESCAPED" not in said.stdout


def test_a_symlink_an_earlier_run_planted_at_o_does_not_aim_the_learned_policy(
        build, tmp_path: Path) -> None:
    """The log's class, at ``-A -o``: the destination is pinned before the run and a link
    at its name then is followed on purpose (a dotfiles link, red team 13b) -- also one a
    confined earlier run planted in its work directory.  log_plant.c makes ``p.toml`` a
    symlink to ``home/.bashrc`` (refused its own write there), and the next ``systrace -A -o
    p.toml`` replaced that file with the learned policy, whose paths are the program's text
    (``$CWD/\\$(touch MARK)``: bash runs it).  Control: natively the program writes the
    file through its link itself."""
    program = build("escape/log_plant.c")
    planting_is_real(program, tmp_path, "p.toml")
    scene, rc = home_scene(tmp_path, "traced")
    out = scene.work / "p.toml"
    planted = attack(program, "plant", out, rc, policy_text=home_never(scene), scene=scene,
                     cwd=scene.work)
    assert_blocked(planted)
    assert out.is_symlink() and rc.read_text() == RC
    payload = f"{scene.work}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    learned = subprocess.run([*SYSTRACE, "-A", "-o", str(out), "--", str(program), "say",
                              payload], capture_output=True, text=True, cwd=scene.work,
                             env=scene_env(scene), timeout=120, check=False)
    assert rc.read_text() == RC, (
        f"the learned policy was written over a file the program may not write ({learned.stderr})"
        f"\nsourced by bash, it ran the payload: {_sourced_runs(rc, scene.marker)}")


def _sourced_runs(rc: Path, marker: Path) -> bool:
    """Whether bash, reading ``rc`` as a start-up file, runs what a record carried."""
    subprocess.run(["bash", "--norc", "--noprofile", "-c", f". {rc}"],
                   capture_output=True, timeout=30, check=False)
    return marker.exists()


def test_a_log_through_a_symlink_to_no_regular_file_or_to_stderr_still_works(
        build, tmp_path: Path) -> None:
    """What the fix keeps: ``--log`` through a symlink to ``/dev/null``, or to the file that
    is systrace's own stderr (``--log /dev/stderr 2>FILE``: the records are there), and a
    plain file (created); a symlink to another device (``/dev/zero``) is refused."""
    program = build("escape/log_plant.c")
    scene, _ = home_scene(tmp_path, "kept")
    text = home_never(scene)
    (scene.root / "p.toml").write_text(text)
    null_link = scene.work / "null.log"
    null_link.symlink_to("/dev/null")
    err = scene.root / "stderr.txt"
    plain = scene.work / "plain.log"
    for log, stderr_file in ((null_link, None), ("/dev/stderr", err), (plain, None)):
        cmd = [*SYSTRACE, "--log", str(log), "-p", str(scene.root / "p.toml"), "--",
               str(program), "say", f"{scene.secd}/x"]
        with open(stderr_file or "/dev/null", "w") as sink:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=sink, text=True,
                                  cwd=scene.work, env=scene_env(scene), timeout=60,
                                  check=False)
        assert proc.returncode == 0 and "BLOCKED" in proc.stdout, (log, proc)
    assert '"event":"syscall"' in err.read_text()
    assert '"event":"syscall"' in plain.read_text()
    zero_link = scene.work / "zero.log"  # (another device: a disk's, /dev/mem, for root)
    zero_link.symlink_to("/dev/zero")
    refused = subprocess.run([*SYSTRACE, "--log", str(zero_link), "-p",
                              str(scene.root / "p.toml"), "--", "true"], capture_output=True,
                             text=True, cwd=scene.work, env=scene_env(scene), timeout=60,
                             check=False)
    assert refused.returncode == 2 and "a symbolic link to a file" in refused.stderr, refused


def test_a_table_that_refuses_a_name_does_not_resolve_it_at_another_tables_resolver(
        build, tmp_path: Path) -> None:
    """systrace's resolver has a loopback port per (table, name server) and decided each
    query by that table alone.  dns_relay.c: the parent (main table: any name) looks
    ``good.test`` up, and so opens a port; its child, another program whose table refuses
    ``bad.test`` (its lookup at the name server: "no such name", the server never asked),
    sends its own query for ``bad.test`` to that port (a connect to loopback, which its
    table permits): it was answered, the name server asked (what a name carries leaves).
    Control: natively the child resolves ``bad.test``.  Now a query is decided by the tables
    of the traced processes holding the socket it came from too (the strictest wins), and
    one no traced process holds is refused."""
    from engine.dns_lib import dns_server, private_resolv_conf

    program = build("escape/dns_relay.c")
    child = tmp_path / "dns_child"
    child.write_bytes(program.read_bytes())
    child.chmod(0o755)
    prefix = private_resolv_conf(tmp_path)
    with dns_server({"good.test": "127.0.0.2", "bad.test": "127.0.0.3"}) as server:
        argv = [str(program), "parent", "good.test", str(child), "bad.test"]
        native = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60,
                                check=False)
        assert "ESCAPED: the name server answered bad.test" in native.stdout, native
        server.queries.clear()
        policy_file = tmp_path / "p.toml"
        policy_file.write_text(policy() + f'\n[program."{child}"]\ndefault = "permit"\n'
                               f'\n[[program."{child}".rule]]\ncalls = ["net-connect"]\n'
                               'host = "bad.test"\naction = "never"\n')
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--", *argv],
                                capture_output=True, text=True, timeout=120, check=False,
                                env=scene_env(None))
        assert "parent: good.test is 127.0.0.2" in traced.stdout, traced
        assert "ESCAPED" not in traced.stdout, traced
        assert "BLOCKED" in traced.stdout, traced
        assert "bad.test" not in server.queries


def _sandboxable_python(sandbox: list[str]) -> list[str] | None:
    """An interpreter that runs this tree's systrace inside ``sandbox`` (another user, and
    Landlock: a virtualenv under a home directory that user may not search will not do),
    with the environment it needs; None when there is none."""
    import sysconfig

    for python, extra in ((PYTHON, []), ("/usr/bin/python3",
                                         [f"PYTHONPATH={REPO}:{sysconfig.get_paths()['purelib']}"])):
        cmd = ["env", *extra, python, "-m", "systrace_py", "--version"]
        probe = subprocess.run([*sandbox, *cmd], capture_output=True, text=True, timeout=60,
                               check=False, env=systrace_env())
        if probe.returncode == 0:
            return ["env", *extra, python, "-m", "systrace_py"]
    return None


def test_a_client_confined_by_landlock_gets_no_deputy_outside_its_sandbox(
        build, tmp_path: Path) -> None:
    """Red team 10's deputy, through a confinement /proc does not show.  The server serves
    only clients confined as it is (namespaces, ids, capabilities, no_new_privs, seccomp,
    LSM label: ``resident.like_us``); Landlock -- an unprivileged process's own sandbox --
    is none of those.  In a session with no_new_privs (the server's too: a container, a
    ``NoNewPrivileges=`` unit, ``setpriv``), a user's process that sandboxes itself with
    landlock_run.c (writes only beneath the runtime directory and /dev) asked for ``--log
    SEALED/log``: the worker, outside the sandbox, wrote it.  (systrace's own client as
    root turns the server down by chance -- its read of the server's /proc/PID/exe crosses
    the Landlock domain, EACCES -- but the sandboxed process may speak the protocol itself.)
    Control: in the sandbox ``touch SEALED/x`` fails (EACCES), and so does the same run in
    process.  Closed: a server under no_new_privs does not start (``resident.unseen_sandbox``)
    -- every run of such a session traces in process, in its caller's sandbox."""
    import shutil
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to become another user")
    landlock = build("escape/landlock_run.c")
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    become = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
              "--no-new-privs"]
    base = Path(tempfile.mkdtemp(prefix="systrace-rt20-"))  # (a socket's path is short)
    base.chmod(0o755)
    runtime, sealed = base / "rt", base / "sealed"
    for directory in (runtime, sealed):
        directory.mkdir(mode=0o700)
        os.chown(directory, user.pw_uid, user.pw_gid)
    sandbox = [*become, str(landlock), str(runtime), "/dev", "--"]
    env = {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}
    systrace: list[str] = []

    def run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *systrace, *args], capture_output=True, text=True,
                              timeout=120, check=False, cwd=base, env=systrace_env(env))

    try:
        native = subprocess.run([*sandbox, "touch", str(sealed / "native")],
                                capture_output=True, text=True, timeout=60, check=False)
        if "SKIPPED" in native.stdout:
            pytest.skip(native.stdout.strip())
        assert native.returncode != 0 and not (sealed / "native").exists(), native
        found = _sandboxable_python(sandbox)
        if found is None:
            pytest.skip(f"no interpreter {UNPRIVILEGED_USER} may run in a Landlock sandbox")
        systrace += found
        policy_file = base / "p.toml"
        policy_file.write_text(policy())
        policy_file.chmod(0o644)


        in_process = run(sandbox, "--no-resident", "--log", str(sealed / "in-process"), "-p",
                         str(policy_file), "--", "true")
        assert in_process.returncode == 2 and not (sealed / "in-process").exists(), in_process
        started = run(become, "--resident", "--resident-idle", "120")
        assert started.returncode == 125 and "no_new_privs" in started.stderr, started
        who = run(become, "-p", str(policy_file), "--", "sh", "-c",
                  'grep -E "^(PPid|TracerPid):" /proc/$$/status')
        fields = dict(line.split(":") for line in who.stdout.splitlines())
        assert int(fields["TracerPid"]) == int(fields["PPid"]), who  # (in process: no server)
        sandboxed = run(sandbox, "--log", str(sealed / "log"), "-p", str(policy_file), "--",
                        "true")
        assert sandboxed.returncode == 2, sandboxed  # (in process: its own sandbox says no)
        assert not (sealed / "log").exists(), "the worker wrote --log for a sandboxed client"
    finally:
        if systrace:
            run(become, "--resident", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_a_program_does_not_take_another_programs_table_by_an_underscore(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The policy directory names a program's file by its path with ``/`` as ``_``, and a
    process that execs a program switches to that file's table -- whatever path the name
    was read from: ``DIR/tools/lint`` and ``DIR/tools_lint`` have one file.  The run's
    policy refuses reading the secret and writing ``work/tools/`` (the tools the user trusts,
    whose table may read it); table_alias.c copies itself to ``work/tools_lint`` (it may
    write ``work``) and execs it: the copy ran under the tool's table and read the secret.
    (Red team 3 closed the base-name fallback, ``lint.toml``, to root-owned programs; the
    full-path name was not.)  Control: natively the copy reads the secret.  Closed: a path's
    ``_`` is ``%5F`` in its file's name (``files.policy_filename``), so one name is one
    path."""
    program = build("escape/table_alias.c")
    control = attack(program, "plant", "work/tools_lint", "secd/secret.txt", policy_text=None,
                     scene=Scene.make(tmp_path, "control"))
    require_real(control)
    scene = Scene.make(tmp_path, "traced")
    (scene.work / "tools").mkdir()
    directory = scene.root / "policies"
    directory.mkdir()
    tool = scene.work / "tools" / "lint"
    (directory / policy_filename(str(tool))).write_text(policy())
    text = policy(never("fsread", path=f"{scene.secd}/**"),
                  never("fswrite", path=f"{scene.work}/tools/**"))
    traced = attack(program, "plant", "work/tools_lint", "secd/secret.txt", policy_text=text,
                    scene=scene, options=["-d", str(directory)], env=loop)
    assert_blocked(traced)
    # what stays: the tool itself, at its own path (which has "_" in it here: pytest's
    # directory names), takes its table -- the program may make it when work/tools is not
    # protected, and its exec then reads the secret, as its table says
    assert "_" in str(tool)
    (scene.work / "tools_lint").unlink()
    own = attack(program, "plant", "work/tools/lint", "secd/secret.txt", scene=scene,
                 policy_text=policy(never("fsread", path=f"{scene.secd}/**")),
                 options=["-d", str(directory)], env=loop)
    assert own.verdict == "ESCAPED", own


def test_a_redirected_call_does_not_follow_a_symlink_the_program_put_at_the_target(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A rule redirects writes of ``pubd/app.conf`` to the program's own copy,
    ``work/app.conf``.  redirect_link.c (refused writing ``home/.bashrc`` itself) made that
    copy a symlink to ``home/.bashrc`` and called truncate(2) and chmod(2) on
    ``pubd/app.conf``: redirected, the kernel followed the link -- the file was emptied and
    made mode 0777 (escaped before; red team 18 held only the open, RESOLVE_NO_SYMLINKS).
    Now a redirect's target reached through a symlink fails the call with ELOOP, as an
    open's does, checked again with the tree frozen.  Control: natively the calls on the
    link change the file."""
    program = build("escape/redirect_link.c")
    scene, rc = home_scene(tmp_path, "control")
    control = attack(program, scene.work / "app.conf", rc, scene.work / "app.conf",
                     policy_text=None, scene=scene)
    require_real(control)
    scene, rc = home_scene(tmp_path, "traced")
    asked = scene.pubd / "app.conf"
    asked.write_text("the system's\n")
    text = home_never(scene) + (f'\n[[rule]]\ncalls = ["fswrite"]\npath = "{asked}"\n'
                                f'action = "permit"\nredirect = "{scene.work / "app.conf"}"\n')
    traced = attack(program, scene.work / "app.conf", rc, asked, policy_text=text,
                    scene=scene, env=loop)
    assert_blocked(traced)
    assert rc.read_text() == RC and rc.stat().st_mode & 0o777 != 0o777
