"""Red team 35: an outsider at what an exec carries into another table.

An exec into another table is a change of privilege, as a set-user-ID exec is; the C
library's secure mode, which a set-user-ID exec sets and no table switch does, also makes
gettext skip a LANGUAGE element that holds a '/' (a path to a catalog: glibc intl/dcigettext.c,
IS_PATH_WITH_DIR under ENABLE_SECURE).  exec_catalog.c gave a program with a table of its own
``LANGUAGE=../../../../../../CALLER/cat``: its message, translated by the caller's catalog (a
printf format), wrote the caller's line into a log its table may write and the caller's may
not.  Now such an exec is refused (EPERM, reason "loader environment") unless the run started
with that LANGUAGE or the table grants it; a LANGUAGE of the system's catalogs ("de:en") runs.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from escape_lib import (
    PAYLOAD_MAGIC,
    SECRET_MAGIC,
    SYSTRACE,
    Outcome,
    Scene,
    assert_blocked,
    attack,
    require_real,
)

from conftest import UNPRIVILEGED_USER, systrace_env

LOG = "the program's own log\n"
PLAIN_LINE = "stamp: checked harmless\n"
ROUNDS = 20


def table_policy(victim: Path, protected: Path, *, table: bool = True,
                 environment: str | None = None) -> str:
    """Everything permitted but writing below ``protected``; ``victim`` has a table of its
    own that may write there (and grants ``environment``), unless ``table`` is False."""
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "{protected}/**"\n'
            f'action = "never"\nerrno = "EACCES"\n')
    if table:
        text += f'\n[program."{victim}"]\ndefault = "permit"\n'
        if environment is not None:
            text += f"environment = [{environment!r}]\n".replace("'", '"')
    return text


def catalog_scene(tmp_path: Path, name: str, program: Path) -> tuple[Scene, Path, Path]:
    """A scene with ``secd/app.log`` (the victim's log, which the main table may not write)
    and the victim, a copy of the attack program, at ``pubd/stamp``; the caller writes its
    catalog below ``work``."""
    scene = Scene.make(tmp_path, name)
    log = scene.secd / "app.log"
    log.write_text(LOG)
    victim = scene.pubd / "stamp"
    shutil.copy(program, victim)
    return scene, victim, log


def test_a_callers_catalog_writes_no_line_of_its_own_with_a_programs_table(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Natively (no privilege change) the caller's line lands in the log: the technique
    works.  Under systrace the exec into the victim's table is refused (it escaped on main,
    both loops); with no table for the victim the exec runs and its write, under the caller's
    table, is refused -- the gain was the table."""
    program = build("escape/exec_catalog.c")
    scene, victim, log = catalog_scene(tmp_path, "control", program)
    control = attack(program, "attack", victim, log, scene.work, "slash", policy_text=None,
                     scene=scene)
    require_real(control)
    scene, victim, log = catalog_scene(tmp_path, "traced", program)
    traced = attack(program, "attack", victim, log, scene.work, "slash",
                    policy_text=table_policy(victim, scene.secd), scene=scene, env=loop)
    assert_blocked(traced)
    assert "exec: EPERM" in traced.stdout, traced
    assert log.read_text() == LOG
    scene, victim, log = catalog_scene(tmp_path, "untabled", program)
    untabled = attack(program, "attack", victim, log, scene.work, "slash",
                      policy_text=table_policy(victim, scene.secd, table=False), scene=scene,
                      env=loop)
    assert_blocked(untabled)
    assert "exec: ran" in untabled.stdout, untabled
    assert log.read_text() == LOG


def test_a_shells_exec_into_a_table_with_the_callers_catalog_is_refused(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same through a shell's ``LANGUAGE=... VICTIM`` commands, in a loop (the native
    loop lets a shell's exec go by itself once its run is under way: its environment check,
    read_env, hands this one to Python).  The catalog is the control run's, written by it."""
    program = build("escape/exec_catalog.c")

    def script(victim: Path, log: Path, work: Path) -> str:
        language = shlex.quote(f"../../../../../..{work}/cat")
        return (f"i=0; while [ $i -lt {ROUNDS} ]; do LANGUAGE={language} LC_ALL=C.UTF-8 "
                f"{shlex.quote(str(victim))} victim {shlex.quote(str(log))} harmless; "
                f"echo rc=$?; i=$((i+1)); done")

    scene, victim, log = catalog_scene(tmp_path, "control", program)
    attack(program, "attack", victim, scene.root / "scratch.log", scene.work, "plain",
           policy_text=None, scene=scene)  # (writes the catalog)
    control = attack("sh", "-c", script(victim, log, scene.work), policy_text=None,
                     scene=scene)
    assert control.stdout.count("rc=0") == ROUNDS, control
    assert log.read_text().count(PAYLOAD_MAGIC) == ROUNDS
    traced = attack("sh", "-c", script(victim, log, scene.work),
                    policy_text=table_policy(victim, scene.secd), scene=scene, env=loop,
                    options=["-v"])
    assert traced.stdout.count("rc=126") == ROUNDS, traced
    assert log.read_text().count(PAYLOAD_MAGIC) == ROUNDS  # (the control's lines only)


def test_a_language_of_the_systems_catalogs_or_a_granted_one_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``LANGUAGE=en`` names no file of the caller's: the exec into the table runs and the
    program writes its own line.  A table that grants the caller's LANGUAGE takes that
    catalog knowingly: the exec runs."""
    program = build("escape/exec_catalog.c")
    scene, victim, log = catalog_scene(tmp_path, "plain", program)
    plain = attack(program, "attack", victim, log, scene.work, "plain",
                   policy_text=table_policy(victim, scene.secd), scene=scene, env=loop)
    assert_blocked(plain)
    assert "exec: ran" in plain.stdout, plain
    assert log.read_text() == LOG + PLAIN_LINE
    scene, victim, log = catalog_scene(tmp_path, "granted", program)
    grant = f"LANGUAGE=../../../../../..{scene.work}/cat"
    granted = attack(program, "attack", victim, log, scene.work, "slash",
                     policy_text=table_policy(victim, scene.secd, environment=grant),
                     scene=scene, env=loop)
    assert "ESCAPED" in granted.stdout, granted  # (the table's own choice)


def test_a_catalog_the_run_started_with_is_the_users_choice(
        build, tmp_path: Path) -> None:
    """A LANGUAGE the user gave the command passes, as a loader variable the run started
    with does."""
    program = build("escape/exec_catalog.c")
    scene, victim, log = catalog_scene(tmp_path, "started", program)
    language = f"LANGUAGE=../../../../../..{scene.work}/cat"
    traced = attack(program, "attack", victim, log, scene.work, "slash",
                    policy_text=table_policy(victim, scene.secd), scene=scene,
                    env={"LANGUAGE": language.partition("=")[2], "LC_ALL": "C.UTF-8"})
    assert "ESCAPED" in traced.stdout, traced


def test_a_set_user_id_program_ignores_the_callers_catalog_natively(build) -> None:
    """What a table switch is measured against: a set-user-ID root copy of the victim, run
    by an unprivileged caller with the same LANGUAGE, writes its own line into its root-only
    log (glibc's secure mode skips the element with a '/')."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt35-catalog-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "exec_catalog"
        shutil.copy(build("escape/exec_catalog.c"), program)
        caller_dir = work / "caller"
        caller_dir.mkdir()
        os.chown(caller_dir, user.pw_uid, user.pw_gid)
        prot = work / "prot"
        prot.mkdir()
        setuid = work / "stamp-setuid"
        shutil.copy(program, setuid)
        os.chmod(setuid, 0o4755)
        root_log = prot / "root.log"
        root_log.write_text(LOG)
        root_log.chmod(0o600)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        native = subprocess.run([*drop, str(program), "attack", str(setuid), str(root_log),
                                 str(caller_dir), "slash"], capture_output=True, text=True,
                                timeout=60, cwd=work)
        if root_log.read_text() == LOG:
            pytest.skip(f"no set-user-ID exec here (nosuid?): {native}")
        assert root_log.read_text() == LOG + PLAIN_LINE, native
        # the same caller and catalog, no privilege change: the caller's line
        own_log = caller_dir / "own.log"
        plain = subprocess.run([*drop, str(program), "attack", str(program), str(own_log),
                                str(caller_dir), "slash"], capture_output=True, text=True,
                               timeout=60, cwd=work, env=systrace_env())
        assert "ESCAPED" in plain.stdout, plain
    finally:
        shutil.rmtree(work, ignore_errors=True)



def filter_policy(victim: Path, protected: Path, *, table: bool = True) -> str:
    """Nothing below ``protected`` may be read or written but by ``victim``'s table (unless
    ``table`` is False)."""
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["fsread", "fswrite"]\n'
            f'path = "{protected}/**"\naction = "never"\nerrno = "EACCES"\n')
    if table:
        text += f'\n[program."{victim}"]\ndefault = "permit"\n'
    return text


@pytest.mark.parametrize("how", ["self", "inherit"])
def test_a_callers_seccomp_filter_answers_no_call_of_a_programs_table(
        build, tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """exec_filter.c: the caller's filter answers the victim's open of its vault with 0 (an
    errno of 0, which outranks the tracer's SECCOMP_RET_TRACE): the secret the victim's table
    lets it read goes to descriptor 0, the caller's file.  Natively (no privilege change) the
    technique works; under systrace the exec into the victim's table from under a filter of
    the program's own is refused (it escaped on main, both loops), as the kernel's
    no_new_privs keeps a set-user-ID exec from raising privilege under a filter; with no table
    for the victim the exec runs and its read of the secret is refused -- the gain was the
    table.  The victim run without the filter still keeps its vault."""
    program = build("escape/exec_filter.c")

    def scene_of(name: str) -> tuple[Scene, Path]:
        scene = Scene.make(tmp_path, name)
        victim = scene.pubd / "vault"
        shutil.copy(program, victim)
        return scene, victim

    def run(scene: Scene, victim: Path, text: str | None) -> Outcome:
        return attack(program, "attack", victim, scene.work / "stolen", scene.secret,
                      scene.secd / "vault.log", how, policy_text=text, scene=scene, env=loop)

    scene, victim = scene_of("control")
    require_real(run(scene, victim, None))
    scene, victim = scene_of("traced")
    traced = run(scene, victim, filter_policy(victim, scene.secd))
    assert_blocked(traced)
    assert "exec: EPERM" in traced.stdout, traced
    scene, victim = scene_of("untabled")
    untabled = run(scene, victim, filter_policy(victim, scene.secd, table=False))
    assert_blocked(untabled)
    assert "exec: ran" in untabled.stdout, untabled
    scene, victim = scene_of("plain")
    plain = attack(victim, "victim", scene.secret, scene.secd / "vault.log",
                   policy_text=filter_policy(victim, scene.secd), scene=scene, env=loop)
    assert plain.returncode == 0, plain
    assert SECRET_MAGIC in (scene.secd / "vault.log").read_text()


@pytest.mark.parametrize("how", ["norandom", "compat"])
def test_personality_flags_a_setuid_exec_clears_do_not_enter_a_programs_table(
        build, tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """exec_persona.c: ADDR_NO_RANDOMIZE (or ADDR_COMPAT_LAYOUT) set by the caller reached
    the program with a table of its own (on main, both loops): a layout the caller chose,
    for an exploit of the program.  Now the exec is refused (EPERM, reason "personality");
    with no table for the program it runs, as natively; a run started with the flag
    (`setarch -R` or `-L`, the user's choice) keeps it."""
    program = build("escape/exec_persona.c")
    scene = Scene.make(tmp_path, "persona")
    victim = scene.pubd / "persona"
    shutil.copy(program, victim)
    require_real(attack(program, "attack", victim, how, policy_text=None, scene=scene))
    text = f'default = "permit"\n\n[program."{victim}"]\ndefault = "permit"\n'
    traced = attack(program, "attack", victim, how, policy_text=text, scene=scene, env=loop)
    assert_blocked(traced)
    assert "exec: EPERM" in traced.stdout, traced
    untabled = attack(program, "attack", victim, how, policy_text='default = "permit"\n',
                      scene=scene, env=loop)
    assert "ESCAPED" in untabled.stdout, untabled  # (no privilege change: as natively)
    (scene.root / "started.toml").write_text(text)
    option = "-R" if how == "norandom" else "-L"
    started = attack("setarch", option, *SYSTRACE, "-p", scene.root / "started.toml", "--",
                     program, "attack", victim, how, policy_text=None, scene=scene, env=loop)
    assert "ESCAPED" in started.stdout, started  # (the user's flag, as the run started)


def test_a_set_user_id_exec_clears_the_callers_personality_natively(build) -> None:
    """The measure: a set-user-ID root copy run by an unprivileged caller with
    ADDR_NO_RANDOMIZE starts without it (PER_CLEAR_ON_SETID)."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt35-persona-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "exec_persona"
        shutil.copy(build("escape/exec_persona.c"), program)
        setuid = work / "persona-setuid"
        shutil.copy(program, setuid)
        os.chmod(setuid, 0o4755)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        plain = subprocess.run([*drop, str(program), "attack", str(program), "norandom"],
                               capture_output=True, text=True, timeout=60, cwd=work)
        assert "ESCAPED" in plain.stdout, plain
        native = subprocess.run([*drop, str(program), "attack", str(setuid), "norandom"],
                                capture_output=True, text=True, timeout=60, cwd=work)
        if os.stat(setuid).st_mode & 0o4000 == 0 or "status 0" not in native.stdout:
            pytest.skip(f"no set-user-ID exec here (nosuid?): {native}")
        assert "BLOCKED" in native.stdout, native
    finally:
        shutil.rmtree(work, ignore_errors=True)
