"""A tree-scoped permit of signals (``target = "tree"``) lets no signal reach a process
outside the traced tree: by its pid or tid through every signal call, through a pidfd of
it, through its process group, with one target of a tgkill in the tree and the other not,
or through a pidfd number a second thread flips between a child of ours and the victim
(the tree is frozen while a permitted signal runs, and its targets are checked again).
Each control run, without systrace, ends the victim (a sleeper the test starts in a
session of its own); tgmix is the exception: the kernel itself refuses a tgid and tid
that do not match, so it only proves the tree rule does not let it through either."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess

import pytest
from escape_lib import (
    CONTROL_ATTEMPTS,
    PYTHON,
    SYSTRACE,
    assert_blocked,
    attack,
    native_control,
    never,
    permit,
    policy,
    scene_env,
)

from conftest import outsider
from systrace_py.policy.files import load_policy

SYSTRACE_TEXT = shlex.join(SYSTRACE)
MODES = ["kill", "tkill", "tgkill", "sigqueue", "tgsigqueue", "pidfd", "pgrp", "pidfdswap"]
#: every signal call permitted when all its targets are tasks of the tree, refused otherwise
TREE_ONLY = policy(permit("signal", target="tree"), never("signal", errno="EPERM"))


def run(program, mode: str, *, traced: bool, loop: dict[str, str] | None = None,
        env: dict[str, str] | None = None):
    with outsider() as target:
        outcome = attack(program, mode, target.pid, policy_text=TREE_ONLY if traced else None,
                         scene=None, env={**(loop or {}), **(env or {})})
        alive = target.poll() is None
    return outcome, alive


@pytest.mark.parametrize("mode", MODES)
def test_a_tree_scoped_permit_lets_no_signal_out(build, mode, loop):
    program = build("escape/sig_outside.c")
    native_control(lambda _: run(program, mode, traced=False)[0],
                   CONTROL_ATTEMPTS if mode == "pidfdswap" else 1)
    traced, alive = run(program, mode, traced=True, loop=loop)
    assert_blocked(traced)
    assert alive, f"the victim got a signal:\n{traced}"


def test_one_target_in_the_tree_is_not_enough(build, loop):
    """tgkill(victim, our tid) names a tid of the tree and a tgid outside it: refused.
    tgkill(our tgid, the victim's tid) is covered -- the kernel sends only to a thread of our
    own group (signals.own_process) -- and fails as natively, ESRCH."""
    program = build("escape/sig_outside.c")
    control, _ = run(program, "tgmix", traced=False)
    assert control.verdict == "BLOCKED" and "ESRCH" in control.stdout, str(control)
    traced, alive = run(program, "tgmix", traced=True, loop=loop)
    assert_blocked(traced)
    assert alive and "(ESRCH), tgkill(victim, us) = -1 (EPERM)" in traced.stdout, str(traced)


def test_the_flipped_pidfd_gets_out_without_the_freeze(build):
    """The race is real under systrace too: with arguments not held (SYSTRACE_NO_HOLD=1,
    which also ends the freeze of a permitted signal) the check is made on one pidfd and the
    kernel sends to the other.  So the blocked run above is the freeze's doing."""
    program = build("escape/sig_outside.c")
    for _ in range(CONTROL_ATTEMPTS):
        outcome, _ = run(program, "pidfdswap", traced=True, env={"SYSTRACE_NO_HOLD": "1"})
        if outcome.verdict == "ESCAPED":
            return
    pytest.fail(f"never escaped without the freeze:\n{outcome}")


#: a process outside the tree that joins the group whose pgid the attack writes into a file
JOINER = """
import os, sys, time
path = sys.argv[1]
for _ in range(2000):
    if os.path.exists(path) and open(path).read():
        break
    time.sleep(0.01)
os.setpgid(0, int(open(path).read()))
with open(path + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename(path + ".tmp", path + ".joined")
time.sleep(30)
"""


def test_a_group_with_a_member_outside_the_tree_is_not_covered(build, tmp_path, loop):
    """The attack's own process group, joined by an outsider of its session (started
    beside systrace, orphaned: its own choice to join); kill(0) would reach it.  (Not a
    session leader, which may not make a group: the shell forks it.)"""
    program = build("escape/sig_outside.c")
    joiner = tmp_path / "joiner.py"
    joiner.write_text(JOINER)
    policy_file = tmp_path / "tree.toml"
    policy_file.write_text(TREE_ONLY)

    def run_joined(name: str, traced: bool):
        group_file = tmp_path / name
        tracer = f"{SYSTRACE_TEXT} -p {policy_file} -- " if traced else ""
        script = (f"({PYTHON} {joiner} {group_file} >/dev/null 2>&1 &); "
                  f"{tracer}{program} joined {group_file}")
        proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60,
                              start_new_session=True, env=scene_env(None, **loop))
        joined = group_file.with_name(group_file.name + ".joined")
        pid = int(joined.read_text()) if joined.exists() else 0
        with contextlib.suppress(ProcessLookupError):
            if pid:
                os.kill(pid, signal.SIGKILL)
        return proc

    control = run_joined("control", False)
    assert "ESCAPED" in control.stdout, control.stdout + control.stderr
    traced = run_joined("traced", True)
    assert "BLOCKED" in traced.stdout and "EPERM" in traced.stdout, \
        traced.stdout + traced.stderr


def test_an_answer_about_a_signal_in_the_tree_is_remembered_for_the_tree(build, tmp_path):
    """sig_outside.c remembered kills a child of its own (SIGKILL: a task of the tree), then
    the victim outside the tree (SIGTERM), under a policy asking about every signal call.
    The approver permits the first question (remembered, in the narrowest scope offered) and
    denies any other.  The rule remembered
    was ``permit kill`` of any target -- the question offered no narrower scope -- and it
    settled the kill of the victim, never asked about: ESCAPED on main 30bbf5d.  Now the
    question about a task of the tree offers (first) and remembers ``target = "tree"``, and
    the victim's kill is asked about.  (Loop-blind: a run with an approver is the Python
    loop's alone.)"""
    program = build("escape/sig_outside.c")
    native_control(lambda _: run(program, "remembered", traced=False)[0], 1)
    approver = tmp_path / "first.py"
    approver.write_text(FIRST_ONLY)
    saved = tmp_path / "signals.toml"
    with outsider() as target:
        outcome = attack(program, "remembered", target.pid, scene=None, policy_file=saved,
                         policy_text=policy('calls = ["signal"]\naction = "ask"'),
                         options=["--ask-via", f"exec:{shlex.quote(PYTHON)} {approver}"])
        alive = target.poll() is None
    assert_blocked(outcome)
    assert alive, f"the victim got a signal:\n{outcome}"
    remembered = [rule for rule in load_policy(saved).main.rules
                  if "answered" in (rule.comment or "")]
    assert [(rule.calls, rule.target) for rule in remembered] == [(("kill",), "tree")], \
        saved.read_text()


#: an approver that permits the first question, remembered in its default (narrowest) scope,
#: and refuses every other, this call only
FIRST_ONLY = """
import json, sys
answer = "permit"
for line in sys.stdin:
    message = json.loads(line)
    if message.get("type") == "ask":
        print(json.dumps({"type": "answer", "id": message["id"], "answer": answer}),
              flush=True)
        answer = "deny-now"
"""
