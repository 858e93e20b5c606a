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


_EXEC_UNDER_FILTER = pytest.mark.xfail(
    strict=True, reason="an image exec'd under the program's filter gets its scratch area by an "
                        "mmap that filter judges (the exec event's premap, or the first held "
                        "call's): not mapped before the filter as in the image that installs it")


@pytest.mark.parametrize("action,then", [
    ("errno", ""), ("kill", ""), ("trap", ""), ("mmap-kill", ""), ("errno", "exec"),
    pytest.param("mmap-kill", "exec", marks=_EXEC_UNDER_FILTER)])
def test_a_filter_of_the_programs_own_never_judges_a_call_the_tracer_made(
        build, tmp_path, loop, action, then):
    """Red team 13: the kernel runs every seccomp filter again on a call the tracer changed at
    its stop (the recheck after SECCOMP_RET_TRACE).  A permitted open held in a tree of two
    tasks was turned into openat2 -- a call a sandboxed program's own filter may refuse
    (ENOSYS, so that libc falls back to openat), kill or trap -- and the scratch area was
    mapped by an mmap with MAP_FIXED_NOREPLACE in the place of the first held call, which
    such a filter may kill: every open failed, or the program was killed, where natively it
    works.  Now once a task of the tree installs a filter of its own, held opens keep their
    own call, run with the tree frozen, and the area is mapped before the filter goes in."""
    program = build("escape/own_filter_held.c")
    outputs = []
    for name, traced in (("native", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        text = read_never(f"{s.secd}/**") if traced else None
        out = attack(program, action, s.decoy, s.work / "made", *([then] if then else []),
                     policy_text=text, scene=s, env=loop if traced else None)
        if out.verdict == "SKIPPED":
            pytest.skip(out.detail)
        assert out.stdout.rstrip().endswith("done"), out
        outputs.append(out.stdout)
    native, traced_out = outputs
    assert "ENOSYS" not in native, native  # (natively the program never calls openat2)
    assert traced_out == native
