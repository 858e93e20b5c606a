"""Red team 32: an outsider where two mechanisms meet -- here the run's log, which the program
may write, and what ``policy learn`` trusts in it (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 32")."""

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
    SYSTRACE,
    Scene,
    assert_blocked,
    attached_run,
    attack,
    never,
    policy,
    require_real,
    scene_env,
    secd_never,
)

from conftest import UNPRIVILEGED_USER


def grants_secret(policy_file: Path) -> bool:
    """Whether a learned policy has a rule naming the scene's secret (its description, the
    learning run's command line, names it anyway)."""
    rules = policy_file.read_text().split("\n[[rule]]", 1)
    return len(rules) == 2 and "secd/secret.txt" in rules[1]


@pytest.mark.parametrize("how", ["prepend", "earlier"])
def test_a_run_made_up_inside_the_logs_own_file_is_not_learned(build, tmp_path: Path,
                                                                how: str) -> None:
    """log_shift.c during ``-A --log LOG``: a made-up run -- a start, an observation of
    reading the secret, an end with the digest of its lines (nothing in a digest is secret)
    -- written into LOG itself, the same file under the same name: ``prepend`` in front of
    every byte the tracer had written (which then follow it, so the tracer's end still
    vouches for its lines), ``earlier`` in place of a run LOG held before this one began, at
    the same length.  ``policy learn LOG`` learned the made-up run (red team 29's end digest
    vouches for a run's lines, not for where they are nor what precedes them; gap #42's close
    looks at the name only) and granted the read: the next run under the rebuilt policy read
    the secret (ESCAPED before, with no warning).  Control: natively the program rewrites a
    log so and reads the secret.  Now the run, at its end, checks that its file is what it
    was when opened plus exactly what the run wrote; else it says so and appends a
    ``disowned`` record, and policy learn refuses the file (exit 2)."""
    program = build("escape/log_shift.c")
    scene = Scene.make(tmp_path)
    log, learned, rebuilt = scene.work / "run.jsonl", scene.work / "p.toml", tmp_path / "r.toml"

    def systrace(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SYSTRACE, *(str(a) for a in args)], capture_output=True,
                              text=True, cwd=scene.work, env=scene_env(scene), timeout=120,
                              check=False)

    # an honest log: one run of the program, which policy learn takes as it is
    honest = systrace("-A", "--log", log, "-o", learned, "--", program, "read", scene.work)
    assert honest.returncode == 0 and "changed" not in honest.stderr, honest
    assert systrace("policy", "learn", log, "-o", rebuilt).returncode == 0
    assert rebuilt.read_text() == learned.read_text()
    # control: natively the program rewrites such a log so, and reads the secret
    control = attack(program, how, log, scene.secret, policy_text=None, scene=scene)
    assert "FORGED" in control.stdout, control
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    log.unlink()
    if how == "earlier":  # (a log that holds an earlier run when this one begins)
        assert systrace("-A", "--log", log, "-o", learned, "--", program, "read",
                        scene.work).returncode == 0
    first = systrace("-A", "--log", log, "-o", learned, "--", program, how, log, scene.secret)
    assert "FORGED" in first.stdout and first.returncode == 0, first
    assert not grants_secret(learned)  # (the run itself never read it)
    again = systrace("policy", "learn", log, "-o", rebuilt)
    assert again.returncode == 2 and "nothing is learned from this log" in again.stderr, again
    # (either reader's check names it: the run's disowned record, or the start records'
    # place and predecessor -- review 17's `at`/`after` -- that the made-up run cannot match)
    assert ("a run of systrace found at its end" in again.stderr
            or "lines no run of systrace vouches for" in again.stderr), again
    assert f"--log {log}: the file was changed" in first.stderr, first
    assert not rebuilt.exists() or not grants_secret(rebuilt)
    rebuilt.unlink(missing_ok=True)
    # the same run after a log that was left alone is still learned from (no false alarm)
    log.unlink()
    for _ in range(2):
        plain = systrace("-A", "--log", log, "-o", learned, "--", program, "read", scene.work)
        assert plain.returncode == 0 and "changed" not in plain.stderr, plain
    assert systrace("policy", "learn", log, "-o", rebuilt).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="dropping to an unprivileged user needs root and setpriv")
@pytest.mark.parametrize("how", ["prepend", "earlier"])
def test_an_unprivileged_users_log_rewritten_in_place_is_not_learned(build, how: str) -> None:
    """The same as an unprivileged user (the tracer without CAP_DAC_OVERRIDE), the earlier
    log left unreadable to its owner (0200) by a program of an earlier run (the program
    makes it 0600 again to rewrite it): the tracer reads what it held when it opens it (its
    owner gives itself read permission for that one open, the mode put back), and refuses
    the rewritten file at the end."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt32-shift-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "log_shift"
        shutil.copy(build("escape/log_shift.c"), program)
        secret = work / "secd" / "secret.txt"
        secret.parent.mkdir()
        secret.write_text("S3CR3T-7f1d9a42-do-not-leak\n")
        for path in (work, secret.parent, secret):
            os.chown(path, user.pw_uid, user.pw_gid)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        env = {**scene_env(None), "HOME": str(work), "TMPDIR": str(work)}
        log, rebuilt = work / "run.jsonl", work / "r.toml"

        def systrace(*args: object) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*drop, *SYSTRACE, *(str(a) for a in args)],
                                  capture_output=True, text=True, cwd=work, env=env,
                                  timeout=120, check=False)

        if how == "earlier":
            assert systrace("-A", "--log", log, "-o", work / "p.toml", "--", program, "read",
                            work).returncode == 0
            log.chmod(0o200)
        first = systrace("-A", "--log", log, "-o", work / "p.toml", "--", program, how, log,
                         secret)
        assert "FORGED" in first.stdout, first
        assert f"--log {log}: the file was changed" in first.stderr, first
        again = systrace("policy", "learn", log, "-o", rebuilt)
        assert again.returncode == 2 and "nothing is learned from this log" in again.stderr, \
            again
        assert not rebuilt.exists()
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: a guard against a hang, not a measure: an attach takes < 1 s
HANG = 60


@pytest.mark.parametrize("loop", ["cloop", "pyloop"])
def test_no_signal_reaches_a_tracer_out_of_descriptors(build, tmp_path: Path, loop: str) -> None:
    """sig_limit.c ``probe``: prlimit64 of the tracer's pid is permitted (a denial of
    service), and the guard refusing signals to the tracer told a /proc/PID directory given
    to pidfd_send_signal as a pidfd by opening it and its ``stat`` -- two descriptors.  With
    the tracer's RLIMIT_NOFILE one above what it held, the second open failed EMFILE and the
    tracer's own directory was taken for another process's: a signal 0 got through (ESCAPED
    before, at one limit of the program's sweep).  Control: natively a process of the user's,
    its limit lowered, gets SIGINT through its /proc directory.  Now what the guard cannot
    tell is the tracer's (refused EPERM); so is a tracer that cannot list its own tasks."""
    program = build("escape/sig_limit.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "control", policy_text=None, scene=scene))
    env = {"SYSTRACE_NO_CLOOP": "1"} if loop == "pyloop" else {}
    outcome = attack(program, "probe", policy_text=policy(), scene=scene, env=env, timeout=120)
    assert_blocked(outcome)


def test_an_attached_program_does_not_detach_itself_through_its_tracers_limit(
        build, tmp_path: Path) -> None:
    """sig_limit.c ``attach``, under ``systrace --attach`` (SIGINT or SIGTERM to the tracer
    detaches the tree, leaving it running untraced): with the tracer's descriptor limit
    lowered as above, SIGINT through the tracer's /proc directory passed the guard, the
    tracer detached, and the program read the secret its policy refused (ESCAPED before).
    Control: natively it reads the secret.  (An attached process has no filter: the native
    loop never serves it, one run covers both loops.)"""
    program = build("escape/sig_limit.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    run = attached_run([program, "attach", scene.secret], secd_never(scene), scene=scene,
                       wait_tracer=False, first_line=True, timeout=HANG)
    assert "ESCAPED" not in run.out, (run.out, run.tracer.stderr)
    assert "BLOCKED" in run.out or run.returncode == -9, \
        (run.out, run.returncode, run.tracer.stderr)


#: a uid of its own for kill(-1): it reaches every process of the caller's uid, and no other
#: process (another test's, the user's) may run as this one
GROUP_UID = 61032


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="a uid of its own needs root and setpriv")
def test_an_attached_program_does_not_detach_itself_by_signalling_every_process(build) -> None:
    """sig_limit.c ``group`` under ``systrace --attach``: the tracer took over a signal to a
    group that holds it (kill(0), kill(-pgid), kill(-1): signals.signal_group) only when the
    signal would end it, and SIGINT -- which the attaching tracer handles, by detaching --
    went to it: ``kill(-1, SIGINT)`` let the program go, and it read the secret its policy
    refused (ESCAPED before).  Control: natively kill(-1, SIGINT) ends another process of the
    uid, and the program reads the secret.  Now a signal the tracer handles itself is taken
    over too: every other process the call reaches gets it, the tracer does not (as natively,
    where there is no tracer).  Run as a uid of its own: kill(-1) reaches all its processes."""
    if subprocess.run(["pgrep", "-u", str(GROUP_UID)], capture_output=True).returncode == 0:
        pytest.skip(f"uid {GROUP_UID} has processes: kill(-1) would reach them")
    work = Path(tempfile.mkdtemp(prefix="rt32-group-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "sig_limit"
        shutil.copy(build("escape/sig_limit.c"), program)
        secret = work / "secd" / "secret.txt"
        secret.parent.mkdir()
        secret.write_text("S3CR3T-7f1d9a42-do-not-leak\n")
        # (the policy file is the uid's, as the run's other files: written here, not by
        # attached_run)
        policy_file = work / "attach.toml"
        policy_file.write_text(policy(never("fsread", path=f"{secret.parent}/**")))
        for path in (work, secret.parent, secret, policy_file, program):
            os.chown(path, GROUP_UID, GROUP_UID)
        drop = ["setpriv", f"--reuid={GROUP_UID}", f"--regid={GROUP_UID}", "--clear-groups",
                "--"]
        env = {**scene_env(None), "HOME": str(work), "TMPDIR": str(work)}
        for args in (["group-control"], ["read", str(secret)]):
            control = subprocess.run([*drop, str(program), *args], capture_output=True,
                                     text=True, env=env, cwd=work, timeout=HANG, check=False)
            assert "ESCAPED" in control.stdout, control
        run = attached_run([*drop, program, "group", secret], None, env=env, cwd=work,
                           wait_tracer=False, wrap=lambda cmd: [*drop, *cmd], timeout=HANG)
        assert "ESCAPED" not in run.out, (run.out, run.tracer.stderr)
        assert "BLOCKED" in run.out, (run.out, run.returncode, run.tracer.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)



def test_an_attached_program_does_not_detach_itself_through_its_tracers_group_leader(
        build, tmp_path: Path) -> None:
    """sig_limit.c ``pgroup`` under ``systrace --attach`` started by a shell (the leader of
    the process group systrace is in): pidfd_send_signal with PIDFD_SIGNAL_PROCESS_GROUP
    signals the group whose id is the pidfd's pid; the guard asked only whether the pidfd
    was the tracer's, and a pidfd of the group's leader sent SIGINT to the group, the tracer
    detached, and the program read the secret (ESCAPED before).  Control: natively it reads
    the secret (the route is the kernel's own: the group leader is no process of the tree).
    Now a group signal that may reach the tracer's group is refused (EPERM) when it would
    end the tracer or the tracer handles it."""
    program = build("escape/sig_limit.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    def in_a_shell(cmd: list[str]) -> list[str]:
        # (a shell leads the group: "; exit" keeps it from exec'ing systrace in its place)
        return ["sh", "-c", f"{shlex.join(cmd)}; exit $?"]

    run = attached_run([program, "pgroup", scene.secret], secd_never(scene), scene=scene,
                       wait_tracer=False, wrap=in_a_shell, timeout=HANG)
    assert "ESCAPED" not in run.out, (run.out, run.tracer.stderr)
    assert "BLOCKED" in run.out, (run.out, run.returncode, run.tracer.stderr)
