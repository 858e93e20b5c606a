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
import subprocess
from collections.abc import Iterator

import pytest
from escape_lib import CONTROL_ATTEMPTS, assert_blocked, attack, never, permit, policy, require_real

MODES = ["kill", "tkill", "tgkill", "sigqueue", "tgsigqueue", "pidfd", "pgrp", "pidfdswap"]
#: every signal call permitted when all its targets are tasks of the tree, refused otherwise
TREE_ONLY = policy(permit("signal", target="tree"), never("signal", errno="EPERM"))


@contextlib.contextmanager
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process outside the traced tree, in a session and process group of its own."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def run(program, mode: str, *, traced: bool, loop: dict[str, str] | None = None,
        env: dict[str, str] | None = None):
    with victim() as target:
        outcome = attack(program, mode, target.pid, policy_text=TREE_ONLY if traced else None,
                         scene=None, env={**(loop or {}), **(env or {})})
        alive = target.poll() is None
    return outcome, alive


@pytest.mark.parametrize("mode", MODES)
def test_a_tree_scoped_permit_lets_no_signal_out(build, mode, loop):
    program = build("escape/sig_outside.c")
    for _ in range(CONTROL_ATTEMPTS if mode == "pidfdswap" else 1):
        control, _ = run(program, mode, traced=False)
        if control.verdict != "BLOCKED":
            break
    require_real(control)
    traced, alive = run(program, mode, traced=True, loop=loop)
    assert_blocked(traced)
    assert alive, f"the victim got a signal:\n{traced}"


def test_one_target_in_the_tree_is_not_enough(build, loop):
    program = build("escape/sig_outside.c")
    control, _ = run(program, "tgmix", traced=False)
    assert control.verdict == "BLOCKED" and "ESRCH" in control.stdout, str(control)
    traced, alive = run(program, "tgmix", traced=True, loop=loop)
    assert_blocked(traced)
    assert alive and "(EPERM), tgkill(victim, us) = -1 (EPERM)" in traced.stdout, str(traced)


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
