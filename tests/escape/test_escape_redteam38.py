"""Red team 38: an outsider at the tracer's error paths (issue 11) -- what the engine does
when its own look at a call fails, and whether any such failure lets the call run.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 38")."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

from escape_lib import (
    SYSTRACE,
    Scene,
    attached_run,
    attack,
    controlled_and_blocked,
    never,
    policy,
    require_real,
    scene_env,
    secd_never,
)

#: how long a run of an attached program may take (a bound on a hang, not a timing claim)
HANG = 60


def test_a_descriptor_the_tracer_cannot_look_at_is_not_an_unnamed_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """fd_limit.c: under ``never fswrite`` of the secret's directory (reading it permitted),
    the program opens the secret for reading, makes the resolver strict (unshare(0)), and
    lowers the tracer's RLIMIT_NOFILE with prlimit64 (permitted: a denial of service) step
    by step, fchmodding the descriptor at each limit.  The resolver named a descriptor it
    could not open /proc/TID/fd/N for "fd:N" -- whatever the reason -- and no path rule
    matches that name: at a limit the tracer's opens failed EMFILE, the fchmod was permitted
    and changed the secret's mode (ESCAPED on main, both loops).  Now a look that fails for
    the tracer's own limit (EMFILE, ENFILE, ENOMEM) refuses the call; only a descriptor the
    task does not have is "fd:N" (the kernel answers EBADF).  Control: natively the fchmod
    changes the mode."""
    traced, scene = controlled_and_blocked(
        tmp_path, build("escape/fd_limit.c"), lambda s: ["fchmod", s.secret],
        lambda s: policy(never("fswrite", path=f"{s.secd}/**")), env=loop)
    # the door itself is shut now: the tree may not set its tracer's limits
    # (test_escape_tracer_limits.py) ...
    assert "prlimit of the tracer" in traced.detail and "EPERM" in traced.detail, traced
    # ... so a process outside the tree lowers them, step by step, as the program asks: the
    # tracer's look at the descriptor meets its limit as before, and refuses
    policy_file = scene.root / "outside.toml"
    policy_file.write_text(policy(never("fswrite", path=f"{scene.secd}/**")))
    run = subprocess.Popen([*SYSTRACE, "-p", str(policy_file), "--",
                            str(build("escape/fd_limit.c")), "fchmod", str(scene.secret)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           env=scene_env(scene, FD_LIMIT_OUTSIDE="1", **loop),
                           start_new_session=True, cwd=scene.root)
    assert run.stdin is not None and run.stdout is not None
    old = resource.prlimit(run.pid, resource.RLIMIT_NOFILE)
    out = []
    try:
        for line in run.stdout:
            out.append(line)
            if line.startswith("lower "):
                resource.prlimit(run.pid, resource.RLIMIT_NOFILE, (int(line.split()[1]), old[1]))
            elif line.startswith("restore"):
                resource.prlimit(run.pid, resource.RLIMIT_NOFILE, old)
            else:
                continue
            run.stdin.write("go\n")
            run.stdin.flush()
        run.wait(HANG)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    text = "".join(out)
    assert "BLOCKED: no fchmod changed the secret" in text, text
    assert "limit 0" in text  # (it went all the way down: every limit was tried)


def test_an_attached_program_does_not_detach_itself_by_a_group_signal_at_its_tracers_limit(
        build, tmp_path: Path) -> None:
    """sig_limit.c ``glimit`` under ``systrace --attach`` (SIGINT to the tracer detaches the
    tree, which then runs untraced): the program lowers the tracer's RLIMIT_NOFILE from 64
    down (prlimit64, permitted) and at each limit sends SIGINT to the tracer's process group
    with kill(-pgid).  signal_group, which takes over a group signal that would reach the
    tracer, read the caller's credentials from /proc and took a caller it could not read
    for one gone: the call went to the kernel, SIGINT reached the tracer, the tree was let
    go and the program read the secret its policy refused (ESCAPED on main, at limit 7).
    Now a group signal that may reach the tracer is refused (EPERM) when the tracer cannot
    read what it needs.  Controls: natively a process of a group, its limit lowered to 0,
    is ended by kill(-pgid, SIGINT), and the program reads the secret.  (An attached
    process has no filter: the native loop never serves it, one run covers both loops.)"""
    program = build("escape/sig_limit.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "glimit-control", policy_text=None, scene=scene))
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    # (systrace in a session of its own, as attached_run starts it: the tracer leads its
    # group, which nothing else is in)
    run = attached_run([program, "glimit", scene.secret], secd_never(scene), scene=scene,
                       wait_tracer=False, timeout=HANG)
    assert "ESCAPED" not in run.out, (run.out, run.tracer.stderr)
    assert "BLOCKED" in run.out, (run.out, run.returncode, run.tracer.stderr)
