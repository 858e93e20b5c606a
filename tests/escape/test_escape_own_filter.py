"""Class 6 (red team 11): a seccomp filter the program installs itself, whose actions meet the
tracer's prefilter -- SECCOMP_RET_TRACE with data of its own on the tracer's injected mmap or on
every call, SECCOMP_RET_ERRNO on that mmap -- in a tree of two tasks (calls held, the scratch
area injected).  Held before (no fix): the tracer reads no filter's data, a seccomp stop where
it waits for an injected call's exit is the injected call's, and a scratch area that cannot be
mapped refuses the held calls (fail closed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    assert_blocked,
    attached_run,
    attack,
    read_never,
    require_real,
    secd_never,
)

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


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


@pytest.mark.parametrize("action,then", [
    ("errno", ""), ("kill", ""), ("trap", ""), ("mmap-kill", ""), ("errno", "exec"),
    ("mmap-kill", "exec"), ("mmap-kill", "forkexec")])
def test_a_filter_of_the_programs_own_never_judges_a_call_the_tracer_made(
        build, tmp_path, loop, action, then):
    """Red team 13: the kernel runs every seccomp filter again on a call the tracer changed at
    its stop (the recheck after SECCOMP_RET_TRACE).  A permitted open held in a tree of two
    tasks was turned into openat2 -- a call a sandboxed program's own filter may refuse
    (ENOSYS, so that libc falls back to openat), kill or trap -- and the scratch area was
    mapped by an mmap with MAP_FIXED_NOREPLACE in the place of the first held call, which
    such a filter may kill: every open failed, or the program was killed, where natively it
    works.  Now once a task of the tree installs a filter of its own, held opens keep their
    own call, run with the tree frozen, and the area is mapped before the filter goes in; an
    image exec'd under the filter (filters survive exec) gets it by an mmap made with its
    filters suspended -- at its first held call (exec), or at its exec event (forkexec: its
    parent waits, the tree is two tasks) -- or, without the privilege, none (below)."""
    _same_as_native(build("escape/own_filter_held.c"), tmp_path, action, then, loop)


def _same_as_native(program: Path, base: Path, action: str, then: str, loop: dict[str, str],
                    tracer: list[str] | None = None) -> str:
    """Run own_filter_held natively and traced (under ``tracer``, systrace by default) in
    scenes of their own under ``base``: the traced run prints what the native one does."""
    outputs = []
    for name, traced in (("native", False), ("traced", True)):
        s = Scene.make(base, name)
        s.work.chmod(0o777)
        text = read_never(f"{s.secd}/**") if traced else None
        out = attack(program, action, s.decoy, s.work / "made", *([then] if then else []),
                     policy_text=text, scene=s, env=loop if traced else None,
                     **({"tracer": tracer} if traced and tracer else {}))
        if out.verdict == "SKIPPED":
            pytest.skip(out.detail)
        assert out.stdout.rstrip().endswith("done"), out
        outputs.append(out.stdout)
    native, traced_out = outputs
    assert "ENOSYS" not in native, native  # (natively the program never calls openat2)
    assert traced_out == native
    return traced_out


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run the tracer as another user")
@pytest.mark.parametrize("action,then", [("mmap-kill", "exec"), ("mmap-kill", "forkexec"),
                                         ("errno", "exec")])
def test_an_unprivileged_tracer_runs_held_calls_in_place_under_the_programs_filter(
        build, world_tmp, loop, action, then):
    """An image exec'd under a filter of the program's own gets its scratch area by an mmap
    made with its filters suspended (PTRACE_O_SUSPEND_SECCOMP), which needs CAP_SYS_ADMIN: a
    tracer without it (run as nobody) maps no area in it -- its held opens run as the
    program made them, with the tree frozen and re-checked -- and the program's filter meets
    no call the tracer made: the same output as natively, where before the mmap killed it."""
    program = Path(shutil.copy(build("escape/own_filter_held.c"), world_tmp / "own_filter_held"))
    program.chmod(0o755)
    _same_as_native(program, world_tmp, action, then, loop, tracer=[*NOBODY, *SYSTRACE])


def test_an_attached_program_under_its_own_filter_meets_no_call_of_the_tracers(build, tmp_path):
    """``--attach`` to an image exec'd under its own filter (mmap-kill), waiting before its
    held opens: every call stops at its entry (no prefilter), and the kernel runs the
    program's filter on the call as the tracer leaves it there -- the mmap of the scratch
    area the first held open was turned into killed it.  Now that mmap is a call the task
    makes anew with its filters suspended (Tracer._map_scratch_suspended): the same output
    as natively.  (An attached process has no filter: the native loop never serves it.)"""
    program = build("escape/own_filter_held.c")
    n = Scene.make(tmp_path, "native")
    native = attack(program, "mmap-kill", n.decoy, n.work / "made", "exec", policy_text=None,
                    scene=n)
    if native.verdict == "SKIPPED":
        pytest.skip(native.detail)
    assert native.stdout.rstrip().endswith("done"), native
    s = Scene.make(tmp_path, "attached")
    out, errors = _attached(program, s, "mmap-kill", s.decoy)
    assert "attached" in errors, errors
    assert out == native.stdout, (out, errors)


def _attached(program: Path, s: Scene, action: str, file: Path) -> tuple[str, str]:
    """own_filter_held ACTION FILE exec, waiting in its new image for ``systrace --attach``
    under ``never fsread`` of the scene's secret directory: its output and systrace's."""
    run = attached_run([program, action, file, s.work / "made", "exec"], secd_never(s),
                       scene=s)
    return run.out, run.tracer.stderr


def test_an_attached_program_under_its_own_filter_gets_its_refusals_errno(build, tmp_path):
    """--attach to an image under a filter that kills call number -1 (as an allowlist's
    default does): a refused open (the secret, under never fsread) is skipped at its entry
    stop (number -1), and the kernel's seccomp check after that stop ran the program's
    filter on it -- SIGSYS (exit 159) where the refusal is EACCES.  (With a prefilter, the
    skip at a seccomp stop is taken before the recheck: no filter sees it.)  Now the task's
    filters are suspended from the refusal to its exit stop (Tracer._suspend_for_skip)."""
    program = build("escape/own_filter_held.c")
    s = Scene.make(tmp_path, "attached")
    out, errors = _attached(program, s, "skip-kill", s.secret)
    assert "attached" in errors, errors
    assert "open: EACCES" in out and out.rstrip().endswith("done"), (out, errors)
    assert "getppid: EXDEV" in out, out  # (its filters back after each refusal)


def test_an_attached_programs_own_call_minus_one_meets_its_own_filter(build, tmp_path):
    """Red team 15: under ``--attach`` a task under a filter of its own has its filters
    suspended from an entry stop of call number -1 to the exit stop (_suspend_for_skip),
    for the skip a refusal makes.  But the program may make call -1 itself: natively its
    filter answers it (here ERRNO(ENOTUNIQ)); suspended, the kernel's ENOSYS did -- the
    engine changed a call no rule decided.  Only the tracer's own skips are suspended now.
    Control: the same program natively."""
    program = build("escape/own_filter_held.c")
    n = Scene.make(tmp_path, "native")
    native = attack(program, "skip-errno", n.decoy, n.work / "made", "exec", policy_text=None,
                    scene=n)
    if native.verdict == "SKIPPED":
        pytest.skip(native.detail)
    assert "call -1: ENOTUNIQ" in native.stdout, native
    s = Scene.make(tmp_path, "attached")
    out, errors = _attached(program, s, "skip-errno", s.decoy)
    assert "attached" in errors, errors
    assert out == native.stdout, (out, errors)
