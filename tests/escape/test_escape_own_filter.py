"""Class 6 (red team 11): a seccomp filter the program installs itself, whose actions meet the
tracer's prefilter -- SECCOMP_RET_TRACE with data of its own on the tracer's injected mmap or on
every call, SECCOMP_RET_ERRNO on that mmap -- in a tree of two tasks (calls held, the scratch
area injected).  Held before (no fix): the tracer reads no filter's data, a seccomp stop where
it waits for an injected call's exit is the injected call's, and a scratch area that cannot be
mapped refuses the held calls (fail closed)."""

from __future__ import annotations

import pytest
from escape_lib import Scene, assert_blocked, attack, read_never, require_real


@pytest.mark.parametrize("mode", ["trace-mmap", "errno-mmap", "trace-all"])
def test_a_filter_of_the_programs_own_changes_no_decision(build, tmp_path, loop, mode):
    program = build("escape/own_filter.c")
    control = Scene.make(tmp_path, "control")
    require_real(attack(program, mode, control.secret, control.decoy, policy_text=None,
                        scene=control))
    s = Scene.make(tmp_path, "traced")
    traced = attack(program, mode, s.secret, s.decoy, scene=s, env=loop,
                    policy_text=read_never(f"{s.secd}/**"))
    assert_blocked(traced)
    if mode != "errno-mmap":  # (there the held opens are refused: the area is never mapped)
        assert "the decoy 25 of 25" in traced.detail, traced
