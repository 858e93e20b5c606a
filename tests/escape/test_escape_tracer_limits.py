"""The tracer's resource limits are not the tree's to set (class 6, attacks on the tracer).

prlimit64 of the tracer's pid -- its RLIMIT_NOFILE lowered -- is how red teams 9, 32 and 38
made the tracer's own checks fail (each such check then fails closed again); the door itself
is shut: prlimit64 setting a limit of any task of the tracer is refused (EPERM), even where a
rule permits prlimit64 (which grants core dumps: Lift.CORE), as a signal to the tracer is.
A program's own limits are set as natively."""

from __future__ import annotations

import pytest
from escape_lib import (
    Outcome,
    Scene,
    assert_blocked,
    attack,
    outsider,
    policy,
    read_never,
    require_real,
)

from conftest import PYTHON

THREADED = ("import threading, time\n"
            "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "time.sleep(30)\n")
PERMIT_PRLIMIT = '\n[[rule]]\ncalls = ["prlimit64"]\naction = "permit"\n'


def _control(program, mode: str, scene: Scene) -> None:
    with outsider([PYTHON, "-c", THREADED]) as stand_in:
        require_real(attack(program, mode, stand_in.pid, policy_text=None, scene=scene))


@pytest.mark.parametrize("mode", ["nofile", "nofile_tid", "as"])
@pytest.mark.parametrize("grant", ["", "prlimit64 permitted"])
def test_the_tree_cannot_set_its_tracers_limits(build, tmp_path, loop, mode, grant):
    program = build("escape/tracer_rlimit.c")
    scene = Scene.make(tmp_path)
    _control(program, mode, scene)
    text = read_never(scene.secret) + (PERMIT_PRLIMIT if grant else "")
    traced: Outcome = attack(program, mode, policy_text=text, scene=scene, env=loop)
    assert_blocked(traced)
    assert "EPERM" in traced.detail, traced


def test_a_programs_own_limits_are_set_as_natively(build, tmp_path, loop):
    program = build("escape/tracer_rlimit.c")
    scene = Scene.make(tmp_path)
    native = attack(program, "self", policy_text=None, scene=scene)
    assert "own limits: ok ok" in native.stdout, native
    traced = attack(program, "self", policy_text=policy(), scene=scene, env=loop)
    assert "own limits: ok ok" in traced.stdout, traced
