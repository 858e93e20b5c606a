"""Red team 25: an outsider at the walk to systrace's own files (outputs.open_directory) and at
what an exec into a program's own table trusts (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy, or the docs, refuse (docs/security.md, "Red team
25").
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
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

NOBODY = (65534, 65534)
AS_NOBODY = ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups", "--"]


def _nobody_runs_systrace() -> str | None:
    """Why systrace cannot be run as nobody here (None: it can) -- its interpreter may lie
    below a directory only root may search (a pyenv in /root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "needs root and setpriv to run the tracer as nobody"
    probe = subprocess.run([*AS_NOBODY, *SYSTRACE, "--version"], capture_output=True,
                           text=True, timeout=60, env=scene_env(None), cwd="/", check=False)
    if probe.returncode != 0:
        return f"nobody cannot run systrace here: {probe.stderr.strip()[-200:]}"
    return None


def _nobodys_scene(base: Path, name: str) -> Scene:
    """A scene whose directories are nobody's (the user the tracer and the program run as);
    ``home/.bashrc.d`` is a directory of the user's whose every file bash sources."""
    scene = Scene.make(base, name)
    (scene.root / "home" / ".bashrc.d").mkdir(parents=True)
    for path in [scene.root, *scene.root.rglob("*")]:
        os.chown(path, *NOBODY)
    return scene


def test_a_link_in_a_directory_the_program_made_read_only_does_not_aim_the_log(
        build: Callable[..., Path], world_tmp: Path) -> None:
    """outputs.open_directory follows a symlink on the way to ``--log``'s directory (or to a
    policy systrace writes) only to a file of its kind there already -- when the link sits in
    a directory the user may write, where a traced program may have put it; a link in a
    directory the user may not write was taken for the system's and followed, the file
    created through it.  But the program runs as the user, who owns the work directory:
    out_lockdir.c made ``work/logs`` a symlink to ``home/.bashrc.d`` (its own file there
    refused) and then took the work directory's write bits away (chmod 0555: its owner may
    always give them back).  The next run's tracer, the same user, created ``run.log`` in
    ``.bashrc.d``, the program's refused path (``$(touch MARK)``) in it; ``-A -o
    work/logs/p.toml`` wrote a policy there the same way (both before the fix).  Now a
    directory the user owns counts as one it may write (outputs.program_may_write): exit 2,
    nothing made.  Control: natively the program makes a file in ``.bashrc.d`` through its
    link.  (As root every link counted already: the tracer runs as nobody here.)"""
    why = _nobody_runs_systrace()
    if why is not None:
        pytest.skip(why)
    program = world_tmp / "out_lockdir"
    shutil.copy(build("escape/out_lockdir.c"), program)
    program.chmod(0o755)

    control = _nobodys_scene(world_tmp, "control")
    sourced = control.root / "home" / ".bashrc.d"
    require_real(attack("setpriv", *AS_NOBODY[1:], program, "plant", control.work / "logs",
                        sourced, policy_text=None, scene=control, cwd=control.work))

    scene = _nobodys_scene(world_tmp, "traced")
    sourced = scene.root / "home" / ".bashrc.d"
    text = policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))
    planted = attack(program, "plant", scene.work / "logs", sourced, policy_text=text,
                     scene=scene, cwd=scene.work, tracer=[*AS_NOBODY, *SYSTRACE])
    assert_blocked(planted)
    assert (scene.work / "logs").is_symlink() and scene.work.stat().st_mode & 0o777 == 0o555

    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    logged = attack(program, "say", payload, policy_text=text, scene=scene, cwd=scene.work,
                    tracer=[*AS_NOBODY, *SYSTRACE],
                    options=["--log", str(scene.work / "logs" / "run.log")])
    assert sorted(p.name for p in sourced.iterdir()) == [], (
        f"the tracer made a log in a directory bash sources:\n{logged}")
    assert logged.returncode == 2 and "in a directory a traced program may write" in \
        logged.stderr, logged
    learned = subprocess.run([*AS_NOBODY, *SYSTRACE, "-A", "-o",
                              str(scene.work / "logs" / "p.toml"), "--", "true"],
                             capture_output=True, text=True, timeout=60, cwd=scene.work,
                             env=scene_env(scene), check=False)
    assert sorted(p.name for p in sourced.iterdir()) == [], f"-A -o made a policy there:\n" \
        f"{learned.stderr}"
    assert learned.returncode == 2 and "in a directory a traced program may write" in \
        learned.stderr, learned.stderr


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the format registered is x86-64's")
def test_a_binary_format_of_the_trees_own_runs_no_code_with_a_programs_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Held (tried, no change needed).  Since Linux 6.7 any user namespace may mount
    binfmt_misc and register formats, and the kernel picks an exec's handler by the
    *calling task's* user namespace -- not its root or mount namespace, which
    DecodedCall.loads_in_own_view compares with the tracer's.  exec_binfmt.c makes a user
    namespace (its root and mounts stay the tracer's), has a child mount binfmt_misc in a
    mount namespace of its own and register a static program of the tree's as the
    interpreter of every x86-64 PIE image, then execs ``bin/x`` (a table of its own that may
    read the secret) by its own name: the kernel runs the tree's program, with ``bin/x``'s
    table.  Held: after the exec the tracer finds the task's image is not the file it
    checked, and kills it.  Control: natively the tree's interpreter runs and reads the
    secret."""
    program = build("escape/exec_binfmt.c", "-static", "-no-pie")

    def setup(scene: Scene) -> list[str]:
        (scene.root / "bin").mkdir()
        shutil.copy(build("escape/hello.c"), scene.root / "bin" / "x")
        interp = Path(shutil.copy(program, scene.work / "interp"))
        (scene.work / "bm").mkdir()
        return ["run", str(interp), str(scene.root / "bin" / "x"), str(scene.work / "bm")]

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, *setup(native), policy_text=None, scene=native))
    scene = Scene.make(tmp_path, "traced")
    rules = (policy(never("fsread", path=str(scene.secd / "**")))
             + f'\n[program."{scene.root / "bin" / "x"}"]\ndefault = "permit"\n')
    traced = attack(program, *setup(scene), policy_text=rules, scene=scene, env=loop)
    assert_blocked(traced, may_be_killed=True)
    # (red team 67: the binfmt_misc mount is refused now; the exe check behind it holds too)
    assert "not the file that was checked" in traced.stderr \
        or traced.detail == "mount of binfmt_misc refused: EPERM", traced


def test_a_descriptor_named_in_another_mount_namespace_execs_no_code_with_a_programs_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Held (tried, no change needed).  An exec into another table is refused when the task's
    root or mounts are not the tracer's (red team 24) -- but a descriptor carries its name
    from the namespace it was opened in.  exec_fdview.c's child, in a user and mount
    namespace of its own, binds the tree's image over ``bin/x`` (a table of its own that may
    read the secret), opens ``bin/x`` there and passes the descriptor to its parent, in the
    tracer's view, where ``/proc/PID/fd/N`` names it ``.../bin/x``; the parent execs it
    (execveat, AT_EMPTY_PATH).  Held: the table is chosen by that name, but the tracer
    checked the file the name reaches in its view, and kills the task whose image is not
    that file.  Control: natively the tree's image runs and reads the secret."""
    program = build("escape/exec_fdview.c")

    def setup(scene: Scene) -> list[str]:
        (scene.root / "bin").mkdir()
        shutil.copy(build("escape/hello.c"), scene.root / "bin" / "x")
        image = Path(shutil.copy(program, scene.work / "image"))
        return ["run", str(image), str(scene.root / "bin" / "x")]

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, *setup(native), policy_text=None, scene=native))
    scene = Scene.make(tmp_path, "traced")
    rules = (policy(never("fsread", path=str(scene.secd / "**")))
             + f'\n[program."{scene.root / "bin" / "x"}"]\ndefault = "permit"\n')
    traced = attack(program, *setup(scene), policy_text=rules, scene=scene, env=loop)
    assert f"name here: {scene.root / 'bin' / 'x'}" in traced.stdout, traced
    assert_blocked(traced, may_be_killed=True)
    assert "not the file that was checked" in traced.stderr, traced


def test_a_link_another_user_put_on_the_way_does_not_aim_the_log(
        build: Callable[..., Path], world_tmp: Path) -> None:
    """The same walk, a link of another user's: a directory the user may not write was taken
    for the system's, whoever owned it.  The user (nobody) keeps ``--log`` in a directory of
    another user's (a shared project tree), who made ``logs`` there a symlink to the user's
    ``home/.bashrc.d``: the user's tracer created ``run.log`` in it, its traced program's
    refused paths (names the other user may have chosen: files the program met) in it.  Now
    a link counts unless its directory is root's (outputs.program_may_write): exit 2,
    nothing made.  Control: natively the user's own append to ``logs/run.log`` lands in
    ``.bashrc.d``."""
    why = _nobody_runs_systrace()
    if why is not None:
        pytest.skip(why)
    program = world_tmp / "out_lockdir"
    shutil.copy(build("escape/out_lockdir.c"), program)
    program.chmod(0o755)
    scene = _nobodys_scene(world_tmp, "traced")
    sourced = scene.root / "home" / ".bashrc.d"
    theirs = world_tmp / "theirs"
    theirs.mkdir(mode=0o755)
    (theirs / "logs").symlink_to(sourced)
    other = 12345  # (another user's uid: no name needed)
    os.lchown(theirs / "logs", other, other)
    os.chown(theirs, other, other)

    control = subprocess.run([*AS_NOBODY, "sh", "-c", f": >> {theirs}/logs/probe"],
                             capture_output=True, text=True, timeout=30, check=False)
    assert control.returncode == 0 and (sourced / "probe").exists(), control.stderr
    (sourced / "probe").unlink()

    text = policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))
    logged = attack(program, "say", f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}",
                    policy_text=text, scene=scene, cwd=scene.work,
                    tracer=[*AS_NOBODY, *SYSTRACE], options=["--log", f"{theirs}/logs/run.log"])
    assert sorted(p.name for p in sourced.iterdir()) == [], (
        f"the tracer made a log in a directory bash sources:\n{logged}")
    assert logged.returncode == 2 and f"{theirs}/logs is a symbolic link" in logged.stderr, \
        logged


def test_a_link_in_a_directory_of_roots_the_user_may_not_write_is_still_followed(
        world_tmp: Path) -> None:
    """What stays followed for a user: a link the system put in a directory of root's that the
    user may not write (``/home -> var/home`` in ``/``) -- the log is made through it."""
    why = _nobody_runs_systrace()
    if why is not None:
        pytest.skip(why)
    scene = _nobodys_scene(world_tmp, "traced")
    system = world_tmp / "system"
    system.mkdir(mode=0o755)
    (system / "logs").symlink_to(scene.work)
    rules = scene.root / "p.toml"
    rules.write_text(policy())
    logged = subprocess.run([*AS_NOBODY, *SYSTRACE, "-p", str(rules), "--log",
                             f"{system}/logs/run.log", "--", "true"],
                            capture_output=True, text=True, timeout=60,
                            cwd=scene.work, env=scene_env(scene), check=False)
    assert logged.returncode == 0, logged.stderr
    assert (scene.work / "run.log").stat().st_size > 0


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare for a mount namespace of the test's own")
def test_a_link_seen_through_a_read_only_mount_does_not_aim_roots_log(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """As root every link on the way counted -- by access(W_OK), which a read-only mount
    answers EROFS even for root.  The user's work directory is bound read-only elsewhere (a
    container's view of a home); a program that may write it planted ``logs`` there, a
    symlink to ``home/.bashrc.d`` (log_plant.c plantdir), and root's next run with ``--log``
    through the read-only view followed the link and created ``run.log`` in ``.bashrc.d``.
    Now as root every link counts, whatever the mount: exit 2, nothing made.  Control:
    natively the program makes a file in ``.bashrc.d`` through its link.  (In a mount
    namespace of the test's own: the machine's mounts are not touched.)"""
    program = build("escape/log_plant.c")
    control = Scene.make(tmp_path, "control")
    (control.root / "home" / ".bashrc.d").mkdir(parents=True)
    require_real(attack(program, "plantdir", control.work / "logs",
                        control.root / "home" / ".bashrc.d", policy_text=None, scene=control,
                        cwd=control.work))
    scene = Scene.make(tmp_path, "traced")
    sourced = scene.root / "home" / ".bashrc.d"
    sourced.mkdir(parents=True)
    rules = scene.root / "p.toml"
    rules.write_text(policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                            never("fsread", path=f"{scene.secd}/**")))
    planted = attack(program, "plantdir", scene.work / "logs", sourced,
                     policy_text=rules.read_text(), scene=scene, cwd=scene.work)
    assert_blocked(planted)
    view = scene.root / "ro"
    view.mkdir()
    bind = (f"mount --make-rprivate / && mount --bind {scene.work} {view} && "
            f"mount -o remount,bind,ro {view} && exec \"$@\"")
    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    logged = subprocess.run(["unshare", "-m", "sh", "-c", bind, "sh", *SYSTRACE, "-p",
                             str(rules), "--log", f"{view}/logs/run.log", "--", str(program),
                             "say", payload], capture_output=True, text=True, timeout=60,
                            cwd=scene.work, env=scene_env(scene), check=False)
    assert sorted(p.name for p in sourced.iterdir()) == [], (
        f"root's tracer made a log in a directory bash sources: {logged.stderr}")
    assert logged.returncode == 2 and "in a directory a traced program may write" in \
        logged.stderr, logged.stderr


#: a Python whose user site is on (a venv's is off): the scripts' interpreter
SYSTEM_PYTHON = "/usr/bin/python3"


def _tool(scene: Scene, options: str = "") -> Path:
    """``bin/tool.py``, a Python script with a table of its own (``_script_tables``), run
    with ``options`` (its #! line's argument)."""
    (scene.root / "bin").mkdir()
    tool = scene.root / "bin" / "tool.py"
    tool.write_text(f"#!{SYSTEM_PYTHON} {options}\nprint('the tool ran')\n")
    tool.chmod(0o755)
    return tool


def _script_tables(scene: Scene, tool: Path | None) -> str:
    """The main table refuses reading the secret; the tool's table is trusted with it."""
    text = policy(never("fsread", path=str(scene.secd / "**")))
    return text + (f'\n[program."{tool}"]\ndefault = "permit"\n' if tool is not None else "")


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"no {SYSTEM_PYTHON}")
def test_pythoninspect_gives_the_callers_commands_no_scripts_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """An exec into another table with a variable that makes the script's interpreter run
    code the caller chose is refused (Reason.LOADER: PYTHONPATH, PYTHONSTARTUP...) -- but
    not PYTHONINSPECT, Python's ``-i``: after the script, a prompt on stdin when it is a
    terminal.  exec_inspect.c makes a pty of its own, execs ``bin/tool.py`` (a table that may
    read the secret) on it with PYTHONINSPECT=1, and types a line that prints the secret: it
    ran in the script's process, with the script's table (escaped before, both loops).  Now
    PYTHONINSPECT is in environment.INTERPRETER_VARIABLES: the exec is refused (EPERM).
    Control: natively the line prints the secret; and with no table for the tool the exec
    runs, the line under the caller's table (refused: the gain was the table)."""
    program = build("escape/exec_inspect.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack(program, "run", _tool(native), policy_text=None, scene=native))

    scene = Scene.make(tmp_path, "traced")
    tool = _tool(scene)
    traced = attack(program, "run", tool, policy_text=_script_tables(scene, tool),
                    scene=scene, env=loop)
    assert_blocked(traced)
    assert "exec of the script failed: EPERM" in traced.detail, traced

    plain = Scene.make(tmp_path, "plain")
    kept = attack(program, "run", _tool(plain), policy_text=_script_tables(plain, None),
                  scene=plain, env=loop)
    assert "the tool ran" in kept.detail and "PermissionError" in kept.detail, kept
    assert_blocked(kept)


def _user_site(home: Path) -> Path:
    """Where SYSTEM_PYTHON looks for the user's site-packages under HOME ``home``."""
    found = subprocess.run([SYSTEM_PYTHON, "-c", "import site; print(site.getusersitepackages())"],
                           capture_output=True, text=True, timeout=30, check=True,
                           env={"HOME": str(home), "PATH": os.environ.get("PATH", "")})
    return Path(found.stdout.strip())


#: a .pth line that reads the secret (relative to the run's cwd, the scene's root)
_PTH_LINE = ("import sys; exec(\"try:\\n s = open('secd/secret.txt').read()\\n"
             " print('ESCAPED: the .pth read the secret' if 'S3CR3T' in s else 'BLOCKED: other')"
             "\\nexcept OSError as e:\\n print('BLOCKED: the .pth ran;', e)\")\n")


def _callers_home(scene: Scene) -> Path:
    """``work/h``: a HOME of the caller's whose user site holds a ``.pth`` of its own
    (planted here for brevity: the policy lets the program write there)."""
    where = scene.work / "h"
    site = _user_site(where)
    site.mkdir(parents=True)
    (site / "zz_caller.pth").write_text(_PTH_LINE)
    return where


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"no {SYSTEM_PYTHON}")
def test_a_home_of_the_callers_gives_its_code_no_scripts_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Closed (gap #38).  PYTHONUSERBASE is in the list -- it moves Python's user site, whose
    ``.pth`` files' ``import`` lines run at start -- but HOME moves it the same way when
    PYTHONUSERBASE is not set (``~/.local/lib/pythonX.Y/site-packages``).  exec_inspect.c
    execs ``bin/tool.py`` (a table that may read the secret) with HOME a directory of its
    own whose user site holds a ``.pth`` of its own: the line read the secret with the
    script's table, both loops (before the fix).  Now an exec into another table whose image
    ends in a Python that loads a user site, with a HOME the run did not start with -- or
    none, when it had one -- is refused (EPERM, Reason.USER_SITE).  Control: natively the
    same."""
    program = build("escape/exec_inspect.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack(program, "home", _callers_home(native), _tool(native),
                        policy_text=None, scene=native))
    for name, unset in (("traced", ()), ("unset", ("-HOME",))):
        scene = Scene.make(tmp_path, name)
        tool = _tool(scene)
        traced = attack(program, "home", _callers_home(scene), *unset, tool, scene=scene,
                        policy_text=_script_tables(scene, tool), env=loop,
                        options=["-v"])
        assert_blocked(traced)
        assert "exec of the script: EPERM" in traced.detail, traced
        assert f"a HOME the run did not start with ({'HOME unset' if unset else 'HOME='}" \
            in traced.stderr and f"table {tool}" in traced.stderr, traced.stderr


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"no {SYSTEM_PYTHON}")
@pytest.mark.parametrize(("options", "env"), [
    ("-s", ()), ("-I", ()), ("-sE", ()), ("-Is", ()), ("", ("PYTHONNOUSERSITE=1",))])
def test_a_python_that_loads_no_user_site_runs_in_its_table_with_any_home(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], options: str,
        env: tuple[str, ...]) -> None:
    """What still runs (gap #38): a Python that loads no user site -- ``-s``, ``-I`` (alone
    or in a cluster) on its #! line, or PYTHONNOUSERSITE set -- execs into its table with the
    caller's HOME; the caller's ``.pth`` does not run."""
    program = build("escape/exec_inspect.c")
    scene = Scene.make(tmp_path, "traced")
    tool = _tool(scene, options)
    ran = attack(program, "home", _callers_home(scene), *env, tool, scene=scene,
                 policy_text=_script_tables(scene, tool), env=loop)
    assert "the tool ran" in ran.stdout and ".pth" not in ran.stdout, ran


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"no {SYSTEM_PYTHON}")
def test_a_home_of_the_callers_is_refused_where_python_ignores_pythonnousersite(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``-E`` makes Python ignore PYTHONNOUSERSITE: the user site is loaded, the exec
    refused (EPERM) -- and with no table of its own the script runs (the same table), its
    ``.pth`` under the caller's table (refused the secret); a shell script with a table of
    its own runs with the caller's HOME (no Python)."""
    program = build("escape/exec_inspect.c")
    scene = Scene.make(tmp_path, "traced")
    tool = _tool(scene, "-E")
    refused = attack(program, "home", _callers_home(scene), "PYTHONNOUSERSITE=1", tool,
                     scene=scene, policy_text=_script_tables(scene, tool), env=loop)
    assert "exec of the script: EPERM" in refused.detail, refused

    same = Scene.make(tmp_path, "same")
    kept = attack(program, "home", _callers_home(same), _tool(same), scene=same,
                  policy_text=_script_tables(same, None), env=loop)
    assert "the tool ran" in kept.stdout and "BLOCKED: the .pth ran" in kept.stdout, kept

    shell = Scene.make(tmp_path, "shell")
    (shell.root / "bin").mkdir()
    script = shell.root / "bin" / "tool.sh"
    script.write_text("#!/bin/sh\necho 'the tool ran'\n")
    script.chmod(0o755)
    ran = attack(program, "home", _callers_home(shell), script, scene=shell,
                 policy_text=_script_tables(shell, script), env=loop)
    assert "the tool ran" in ran.stdout, ran


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"no {SYSTEM_PYTHON}")
def test_a_home_of_the_callers_is_refused_to_a_python_binary_of_its_own_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """A Python binary with a table of its own, exec'd directly: its options are its argv.
    With the caller's HOME it is refused (EPERM) -- by the native loop too, which lets other
    binaries' execs into their tables go itself (it hands Python a Python's:
    Supervisor.fast_exec) --, with ``-s`` it runs, and a grant of that HOME in its table's
    ``environment`` lets it run with it.  (``-c`` puts the working directory, which the
    program may write, first on sys.path: the table grants it, ``CWD=...`` -- refused
    without since pycwd37 -- so the refusal left is HOME's.)"""
    program = build("escape/exec_inspect.c")
    python = os.path.realpath(SYSTEM_PYTHON)
    code = "print('the python ran')"

    def tables(scene: Scene, grant: str = "") -> str:
        text = policy(never("fswrite", path=str(scene.secd / "**")))
        cwd = f'"CWD={scene.root}"'  # (attack's cwd: the scene's directory)
        environment = f'environment = [{cwd}, {grant}]\n' if grant else \
            f'environment = [{cwd}]\n'
        return text + f'\n[program."{python}"]\ndefault = "permit"\n{environment}'

    scene = Scene.make(tmp_path, "traced")
    home = _callers_home(scene)
    refused = attack(program, "home", home, SYSTEM_PYTHON, "-c", code, scene=scene,
                     policy_text=tables(scene), env=loop)
    assert "exec of the script: EPERM" in refused.detail, refused
    ran = attack(program, "home", home, SYSTEM_PYTHON, "-s", "-c", code, scene=scene,
                 policy_text=tables(scene), env=loop)
    assert "the python ran" in ran.stdout and ".pth" not in ran.stdout, ran
    granted = attack(program, "home", home, SYSTEM_PYTHON, "-c", code, scene=scene,
                     policy_text=tables(scene, f'"HOME={home}"'), env=loop)
    assert "the python ran" in granted.stdout and "the .pth" in granted.stdout, granted


@pytest.mark.parametrize("line", ["python3", "-vS python3", "--spli=python3",
                                  "-S -Spython3", "-S --ch ./ python3"])
def test_a_path_of_the_callers_picks_no_program_for_an_env_scripts_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], line: str) -> None:
    """Gap #40 (found by gap3839, class 4; closed).  ``#!/usr/bin/env python3`` has env look
    ``python3`` up in the caller's PATH -- after the exec into the script's table: a
    ``python3`` of the caller's (``work/python3``, a shell script here) runs with the
    script's table, which may read the secret (escaped before, both loops).  Now such an
    exec is refused (EPERM, reason "env PATH") when PATH is not the run's start's and the
    script's table does not grant it (environment.env_searches).  Control: natively the
    caller's program runs and reads the secret; with no table for the tool it runs under the
    caller's table (refused: the gain is the table).  ``-vS python3`` (review 16): env's
    ``-S`` in a cluster of its short options (GNU getopt: ``-v``, then ``-S`` with the rest
    of the argument) was read as no command at all -- no search, no Python: it escaped.
    Review 17: ``--spli=python3`` (getopt_long takes an unambiguous prefix of a long option:
    ``--split-string``), ``-S -Spython3`` (a ``-S`` among the words another ``-S`` split)
    and ``-S --ch ./ python3`` (``--chdir``'s prefix takes the next word) named no command or
    another one (escaped on 3e95030: ``./`` taken for the command)."""
    program = build("escape/exec_inspect.c")

    def setup(scene: Scene) -> tuple[Path, str]:
        (scene.root / "bin").mkdir()
        tool = scene.root / "bin" / "tool.py"
        tool.write_text(f"#!/usr/bin/env {line}\nprint('the tool ran')\n")
        tool.chmod(0o755)
        fake = scene.work / "python3"
        fake.write_text("#!/bin/sh\nif grep -q S3CR3T secd/secret.txt 2>/dev/null; then echo "
                        "'ESCAPED: the callers python3 read the secret'; else echo 'BLOCKED: "
                        "the callers python3 ran; no secret'; fi\n")
        fake.chmod(0o755)
        return tool, f"PATH={scene.work}:{os.environ.get('PATH', '/usr/bin:/bin')}"

    # the run's own HOME (a caller's would be refused: gap #38's check, env naming a Python)
    home = [os.environ["HOME"]] if "HOME" in os.environ else ["/", "-HOME"]

    native = Scene.make(tmp_path, "control")
    tool, path = setup(native)
    require_real(attack(program, "home", *home, path, tool, policy_text=None, scene=native))
    plain = Scene.make(tmp_path, "plain")
    tool, path = setup(plain)
    kept = attack(program, "home", *home, path, tool, scene=plain, env=loop,
                  policy_text=_script_tables(plain, None))
    assert "the callers python3 ran" in kept.stdout, kept
    scene = Scene.make(tmp_path, "traced")
    tool, path = setup(scene)
    traced = attack(program, "home", *home, path, tool, scene=scene, env=loop,
                    policy_text=_script_tables(scene, tool))
    assert_blocked(traced)


def test_an_env_script_runs_with_the_runs_path_or_a_granted_one(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Gap #40's neighbours: the same ``#!/usr/bin/env python3`` script exec'd into its table
    with the run's own PATH runs (the user's PATH is the user's choice), and so does one
    with a PATH the table grants (``environment = ["PATH=..."]``); a script whose #! line
    names its interpreter by path runs with any PATH."""
    program = build("escape/exec_inspect.c")
    home = [os.environ["HOME"]] if "HOME" in os.environ else ["/", "-HOME"]
    scene = Scene.make(tmp_path, "traced")
    (scene.root / "bin").mkdir()
    tool = scene.root / "bin" / "tool.py"
    tool.write_text("#!/usr/bin/env python3\nprint('the tool ran')\n")
    tool.chmod(0o755)
    own = f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"
    ran = attack(program, "home", *home, own, tool, scene=scene, env=loop,
                 policy_text=_script_tables(scene, tool))
    assert "the tool ran" in ran.stdout, ran
    moved = f"PATH={scene.work}:/usr/bin:/bin"
    refused = attack(program, "home", *home, moved, tool, scene=scene, env=loop,
                     policy_text=_script_tables(scene, tool))
    assert "EPERM" in refused.detail and "the tool ran" not in refused.stdout, refused
    granted = attack(program, "home", *home, moved, tool, scene=scene, env=loop,
                     policy_text=_script_tables(scene, tool) + f'environment = ["{moved}"]\n')
    assert "the tool ran" in granted.stdout, granted
    tool.write_text(f"#!{os.path.realpath(SYSTEM_PYTHON)}\nprint('the tool ran')\n")
    by_path = attack(program, "home", *home, moved, tool, scene=scene, env=loop,
                     policy_text=_script_tables(scene, tool))
    assert "the tool ran" in by_path.stdout, by_path


def _drain(master: int) -> bytes:
    """What a pty's master holds to read now (nothing waits: non-blocking)."""
    os.set_blocking(master, False)
    out = b""
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(master, 4096):
            out += chunk
    return out


def test_a_link_at_the_logs_name_to_another_terminal_is_not_written(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """Red team 20 left ``--log`` following a symlink at its name to a terminal (``--log
    /dev/tty`` through a link): any device of a terminal's major -- another session's
    pseudo-terminal, a virtual console, a serial port, the system console.  log_plant.c
    made ``run.log`` a symlink to a terminal that is not the run's (another session's pty:
    its own write there refused), and the next run's tracer wrote its records -- the
    program's text -- on that terminal (read at its master; before the fix).  Now a link is
    followed to a terminal only when it is the run's own: its controlling terminal
    (``/dev/tty``) or the file of its stdin, stdout or stderr; any other, exit 2, nothing
    written (a link to the run's own terminal, its stderr here, is still written).  Control:
    natively the program writes that terminal through its link."""
    program = build("escape/log_plant.c")
    master, slave = os.openpty()
    try:
        victim = os.ttyname(slave)
        control = Scene.make(tmp_path, "control")
        require_real(attack(program, "plant", control.work / "run.log", victim,
                            policy_text=None, scene=control, cwd=control.work))
        _drain(master)
        scene = Scene.make(tmp_path, "traced")
        text = policy(never("fswrite", path=victim))
        planted = attack(program, "plant", scene.work / "run.log", victim, policy_text=text,
                         scene=scene, cwd=scene.work)
        assert_blocked(planted)
        assert _drain(master) == b""
        logged = attack(program, "say", f"{scene.secd}/{PAYLOAD_MAGIC}", policy_text=text,
                        scene=scene, cwd=scene.work, options=["--log", "run.log"])
        written = _drain(master)
        assert PAYLOAD_MAGIC.encode() not in written and b'"event"' not in written, (
            f"the tracer wrote the program's text on another terminal: {written[:300]!r}")
        assert logged.returncode == 2 and "a symbolic link to" in logged.stderr, logged
        # what stays: a link to the run's own terminal (here its stderr) is written
        rules = scene.root / "p.toml"
        rules.write_text(text)
        kept = subprocess.run([*SYSTRACE, "--log", "run.log", "-p", str(rules), "--", "true"],
                              stdout=subprocess.DEVNULL, stderr=slave, cwd=scene.work,
                              env=scene_env(scene), timeout=60, check=False)
        assert kept.returncode == 0 and b'"event":"start"' in _drain(master)
    finally:
        os.close(master)
        os.close(slave)


def _linked_tool(scene: Scene) -> Path:
    """``bin/tool.sh``, which sources ``"$(dirname "$0")/common.sh"``; the caller's
    ``work/common.sh`` (planted here for brevity) says whether it read the secret."""
    (scene.root / "bin").mkdir()
    tool = scene.root / "bin" / "tool.sh"
    tool.write_text('#!/bin/sh\n. "$(dirname "$0")/common.sh"\necho "the tool ran"\n')
    tool.chmod(0o755)
    (scene.root / "bin" / "common.sh").write_text("echo 'the tools own common.sh ran'\n")
    (scene.work / "common.sh").write_text(
        "if grep -q S3CR3T secd/secret.txt 2>/dev/null; then echo 'ESCAPED: the "
        "callers common.sh read the secret'; else echo 'BLOCKED: the callers "
        "common.sh ran; no secret'; fi\n")
    return tool


def test_a_scripts_dollar0_through_the_callers_link_sources_nothing_of_the_callers(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Closed (gap #39).  A script's interpreter is given the script's path as the exec spelled
    it; the table is that of the file the path resolves to.  ``bin/tool.sh`` (a table that
    may read the secret) sources ``"$(dirname "$0")/common.sh"``, a common idiom;
    exec_dollar0.c makes ``work/tool.sh`` a symlink to it and execs the link: ``$0`` is
    ``work/tool.sh``, and the shell sources the caller's ``work/common.sh`` (planted here
    for brevity: the policy lets the program write there) -- which read the secret with the
    tool's table, both loops (before the fix).  Now an exec into another table of a script
    whose spelling passes a link a program may change is refused (EPERM, Reason.SCRIPT_LINK;
    as root every directory is one it may write).  Control: natively the same; and with no
    table for the tool the caller's file runs under the caller's table (refused: the gain
    is the table)."""
    program = build("escape/exec_dollar0.c")
    setup = _linked_tool

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, "run", native.work / "tool.sh", setup(native),
                        policy_text=None, scene=native))
    plain = Scene.make(tmp_path, "plain")
    kept = attack(program, "run", plain.work / "tool.sh", setup(plain), scene=plain, env=loop,
                  policy_text=_script_tables(plain, None))
    assert "the callers common.sh ran" in kept.stdout, kept
    scene = Scene.make(tmp_path, "traced")
    tool = setup(scene)
    traced = attack(program, "run", scene.work / "tool.sh", tool, scene=scene, env=loop,
                    policy_text=_script_tables(scene, tool), options=["-v"])
    assert_blocked(traced)
    assert f"exec {scene.work / 'tool.sh'}: EPERM" in traced.detail, traced
    assert f"an exec into table {tool} of a script spelled through a symbolic link" in \
        traced.stderr, traced.stderr


def test_a_script_spelled_by_dotdot_out_of_the_callers_directory_gets_no_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """The same door without a link: ``work/sub/../../bin/tool.sh`` reaches the script, and
    ``$0``'s directory ``work/sub/../../bin`` is the caller's to re-aim (``work/sub``
    replaced by a link, after the exec).  Refused (EPERM) -- as a relative spelling that
    climbs out of the caller's directory is; ``bin/tool.sh`` by its own path runs."""
    program = build("escape/exec_dollar0.c")
    scene = Scene.make(tmp_path, "traced")
    tool = _linked_tool(scene)
    (scene.work / "sub").mkdir()
    text = _script_tables(scene, tool)
    spelled = scene.work / "sub" / ".." / ".." / "bin" / "tool.sh"
    refused = attack(program, "spell", spelled, scene=scene, env=loop, policy_text=text)
    assert f"exec {spelled}: EPERM" in refused.detail, refused
    relative = attack(program, "spell", "../../bin/tool.sh", scene=scene, env=loop,
                      policy_text=text, cwd=scene.work / "sub")
    assert "exec ../../bin/tool.sh: EPERM" in relative.detail, relative
    ran = attack(program, "spell", tool, scene=scene, env=loop, policy_text=text)
    assert "the tool ran" in ran.stdout and "callers" not in ran.stdout, ran


def test_a_binary_through_the_callers_link_still_runs_in_its_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """What still runs (gap #39): a binary -- no script, no ``$0`` to follow -- exec'd into
    its table through a link of the caller's."""
    program = build("escape/exec_dollar0.c")
    scene = Scene.make(tmp_path, "traced")
    (scene.root / "bin").mkdir()
    binary = Path(shutil.copy(build("escape/hello.c"), scene.root / "bin" / "x"))
    ran = attack(program, "run", scene.work / "x", binary, scene=scene, env=loop,
                 policy_text=_script_tables(scene, binary))
    assert "hello ran" in ran.stdout, ran


def test_a_script_through_a_link_of_roots_the_user_may_not_change_still_runs(
        build: Callable[..., Path], world_tmp: Path, loop: dict[str, str]) -> None:
    """What still runs (gap #39): a user's program (the tracer as ``nobody``) execs a script
    into its table through a link of root's in a directory of root's it may not write,
    below directories it may not change (``/tmp`` is sticky: root's entries there are not
    its to rename) -- ``/usr/bin/foo -> ../lib/foo/foo.sh``.  The script's ``$0`` is the
    link; it sources root's ``common.sh`` beside it.  As root (every directory is one root
    may write) the same exec is refused."""
    why = _nobody_runs_systrace()
    if why is not None:
        pytest.skip(why)
    program = world_tmp / "exec_dollar0"
    shutil.copy(build("escape/exec_dollar0.c"), program)
    program.chmod(0o755)
    scene = _nobodys_scene(world_tmp, "traced")
    tool = _linked_tool(scene)
    system = Path(tempfile.mkdtemp(prefix="systrace-sys-", dir="/tmp"))
    try:
        system.chmod(0o755)
        (system / "tool.sh").symlink_to(tool)
        (system / "common.sh").write_text("echo 'the system common.sh ran'\n")
        text = _script_tables(scene, tool)
        ran = attack(program, "spell", system / "tool.sh", scene=scene, env=loop,
                     policy_text=text, tracer=[*AS_NOBODY, *SYSTRACE])
        assert "the system common.sh ran" in ran.stdout and "the tool ran" in ran.stdout, ran
        as_root = attack(program, "spell", system / "tool.sh", scene=scene, env=loop,
                         policy_text=text)
        assert f"exec {system / 'tool.sh'}: EPERM" in as_root.detail, as_root
    finally:
        shutil.rmtree(system, ignore_errors=True)


def test_a_script_through_a_link_every_table_keeps_from_change_runs_as_root(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """What still runs as root (gap #39), to whom every directory is one it may write: a
    link -- and the directories above it -- that every table of the run refuses to change
    (remove, rename, rename over, mount over: Supervisor._kept), as a learned policy's
    default refuses them for ``/usr/bin/npm -> ../lib/node_modules/npm/bin/npm-cli.js``.
    Without the mount rules (a table that may mount over the link) it is refused."""
    program = build("escape/exec_dollar0.c")
    scene = Scene.make(tmp_path, "traced")
    tool = _linked_tool(scene)
    system = scene.root / "sys"
    system.mkdir()
    (system / "tool.sh").symlink_to(tool)
    (system / "common.sh").write_text("echo 'the system common.sh ran'\n")
    keep = [never("fswrite", path="/**"), never(["mount", "move_mount", "umount2"])]

    def tables(*rules: str) -> str:
        text = policy(never("fsread", path=str(scene.secd / "**")), *rules)
        body = "".join(f"\n[[program.\"{tool}\".rule]]\n{rule}\n" for rule in rules)
        return text + f'\n[program."{tool}"]\ndefault = "permit"\n{body}'

    ran = attack(program, "spell", system / "tool.sh", scene=scene, env=loop,
                 policy_text=tables(*keep))
    assert "the system common.sh ran" in ran.stdout and "the tool ran" in ran.stdout, ran
    refused = attack(program, "spell", system / "tool.sh", scene=scene, env=loop,
                     policy_text=tables(keep[0]))
    assert f"exec {system / 'tool.sh'}: EPERM" in refused.detail, refused
