"""Red team 34: an outsider at inject, fresh, tree-scoped signal rules and per-program tables.

An exec into another table is a change of privilege, as a set-user-ID exec is -- but the C
library's secure mode, which gives a set-user-ID program started with descriptor 0, 1 or 2
closed /dev/null there, is not set by a table switch.  table_stdfd.c closed (or marked
close-on-exec) a standard descriptor and exec'd a program with a table of its own: that
program's first open -- of a file its table may write, the caller's may not -- took the
number, and what it wrote to "stderr" (the caller's text, from its argv) landed in the file.
Now such an exec is refused (EPERM, reason "standard descriptors") unless the run itself
started without the descriptor (the user's choice, as a variable the run started with is).
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
from escape_lib import PAYLOAD_MAGIC, SYSTRACE, Scene, assert_blocked, attack, require_real

from conftest import UNPRIVILEGED_USER, systrace_env

LOG = "the program's own log\n"
ROUNDS = 20


def table_policy(victim: Path, protected: Path) -> str:
    """Everything permitted but writing below ``protected``; ``victim`` has a table of its
    own that may write there."""
    return (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "{protected}/**"\n'
            f'action = "never"\nerrno = "EACCES"\n\n'
            f'[program."{victim}"]\ndefault = "permit"\n')


def stdfd_scene(tmp_path: Path, name: str, program: Path) -> tuple[Scene, Path, Path]:
    """A scene with ``secd/app.log`` (the victim's log, which the main table may not write)
    and the victim, a copy of the attack program, at ``pubd/stamp``."""
    scene = Scene.make(tmp_path, name)
    log = scene.secd / "app.log"
    log.write_text(LOG)
    victim = scene.pubd / "stamp"
    shutil.copy(program, victim)
    return scene, victim, log


@pytest.mark.parametrize("how", ["closed", "cloexec", "stdout"])
def test_an_exec_into_a_table_with_a_standard_descriptor_closed_is_refused(
        build, tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """Natively (an exec that changes no privilege) the payload lands in the log: the
    technique works.  Under systrace the exec into the victim's table is refused (it escaped
    on main, both loops: the log held the payload); the victim run with its descriptors open
    still writes its log (the table's own right)."""
    program = build("escape/table_stdfd.c")
    scene, victim, log = stdfd_scene(tmp_path, "control", program)
    control = attack(program, "attack", victim, log, how, policy_text=None, scene=scene)
    require_real(control)
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    text = table_policy(victim, scene.secd)
    traced = attack(program, "attack", victim, log, how, policy_text=text, scene=scene,
                    env=loop)
    assert_blocked(traced)
    assert "exec: EPERM" in traced.stdout, traced
    assert log.read_text() == LOG
    plain = attack(victim, "victim", log, "harmless", policy_text=text, scene=scene, env=loop)
    assert plain.returncode == 0, plain
    assert log.read_text() == LOG + "stamp\n"


def test_a_shell_s_exec_into_a_table_with_stderr_closed_is_refused(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same through a shell's ``2>&-`` (its vfork child's exec, which the native loop
    lets go by itself: its check of the descriptors, std_fds_open, hands it to Python)."""
    program = build("escape/table_stdfd.c")

    def script(victim: Path, log: Path) -> str:
        payload = f"\n{PAYLOAD_MAGIC}\n"
        # (a loop: the native loop lets an exec go by itself once its run is under way)
        return (f"i=0; while [ $i -lt {ROUNDS} ]; do {shlex.quote(str(victim))} victim "
                f"{shlex.quote(str(log))} \"$(printf '{payload}')\" 2>&-; echo rc=$?; "
                f"i=$((i+1)); done; {shlex.quote(str(program))} check {shlex.quote(str(log))}")

    scene, victim, log = stdfd_scene(tmp_path, "control", program)
    control = attack("sh", "-c", script(victim, log), policy_text=None, scene=scene)
    require_real(control)
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    traced = attack("sh", "-c", script(victim, log), policy_text=table_policy(victim, scene.secd),
                    scene=scene, env=loop)
    assert_blocked(traced)
    assert traced.stdout.count("rc=126") == ROUNDS, traced
    assert log.read_text() == LOG


def test_a_run_started_without_stderr_keeps_that_choice(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A descriptor the run started without is the user's choice: an exec into a table with
    it still closed runs, as natively."""
    program = build("escape/table_stdfd.c")
    scene, victim, log = stdfd_scene(tmp_path, "started", program)
    policy_file = scene.root / "policy.toml"
    policy_file.write_text(table_policy(victim, scene.secd))
    command = [*SYSTRACE, "-p", str(policy_file), "--", str(program), "attack", str(victim),
               str(log), "closed"]
    run = subprocess.run(["sh", "-c", shlex.join(command) + " 2>&-"], capture_output=True,
                         text=True, timeout=60, cwd=scene.root,
                         env={**systrace_env(), **scene.env(), **loop})
    assert "ESCAPED" in run.stdout, run  # (the user's own payload, in the table's own log)
    assert PAYLOAD_MAGIC in log.read_text()


def test_an_unprivileged_exec_into_a_table_with_stderr_closed_is_refused(build) -> None:
    """As a normal user, against the natively privileged equivalent: a set-user-ID copy of
    the victim started with stderr closed gets /dev/null there (secure mode) and its
    root-only log no payload; under systrace the exec into the victim's table is refused."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt34-stdfd-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "table_stdfd"
        shutil.copy(build("escape/table_stdfd.c"), program)
        prot = work / "prot"
        prot.mkdir()
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        # native: the same exec into a set-user-ID root copy keeps the root-only log clean
        setuid = work / "stamp-setuid"
        shutil.copy(program, setuid)
        os.chmod(setuid, 0o4755)
        root_log = prot / "root.log"
        root_log.write_text(LOG)
        root_log.chmod(0o600)
        native = subprocess.run([*drop, str(program), "attack", str(setuid), str(root_log),
                                 "closed"], capture_output=True, text=True, timeout=60,
                                cwd=work)
        if "stamp" not in root_log.read_text():
            pytest.skip(f"no set-user-ID exec here (nosuid?): {native}")
        assert "BLOCKED" in native.stdout and PAYLOAD_MAGIC not in root_log.read_text(), native
        # traced: the user's own log, refused by the policy only
        victim = work / "stamp"
        shutil.copy(program, victim)
        log = prot / "app.log"
        log.write_text(LOG)
        for path in (prot, log):
            os.chown(path, user.pw_uid, user.pw_gid)
        policy_file = work / "policy.toml"
        policy_file.write_text(table_policy(victim, prot))
        traced = subprocess.run([*drop, *SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 "attack", str(victim), str(log), "closed"],
                                capture_output=True, text=True, timeout=60, cwd=work,
                                env=systrace_env())
        assert "ESCAPED" not in traced.stdout and "exec: EPERM" in traced.stdout, traced
        assert log.read_text() == LOG
    finally:
        shutil.rmtree(work, ignore_errors=True)
