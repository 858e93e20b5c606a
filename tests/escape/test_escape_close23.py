"""Close 23: a forked child's scratch area checked, not trusted (docs/security.md, "Close 23").

A fork's child is given its parent's ``AddressSpace.scratch`` -- but a mapping marked
``MADV_DONTFORK`` (VM_DONTCOPY) is not copied, and the child may then map its own memory at the
area's address with a hint mmap, which makes no stop.  Red team 76 closed the door it found
(process_madvise's MADV_DONTFORK, refused by the filter); the tracer now checks the child's
/proc/PID/maps at the area's first use (Tracer._area_checked).  To show that the check alone
stops the class, whatever the door, these runs lift that guard (unguarded.py: the tests' own
driver, no switch of the product's) and take the area out of the child through it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, controlled_and_blocked, never, permit, policy

from conftest import PYTHON, run_systrace, systrace_env

#: systrace with process_madvise's guard lifted (red team 76's refusal of MADV_DONTFORK), and
#: the area not sealed (close 24: the seal refuses the advice too)
UNGUARDED = [PYTHON, str(Path(__file__).with_name("unguarded.py")), "process_madvise"]
#: systrace with the area not sealed, every guard in place
UNSEALED = [PYTHON, str(Path(__file__).with_name("unguarded.py")), "-"]


def _policy(tmp_path: Path) -> str:
    return f"""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{tmp_path}/nothing/**"
        action = "never"
        [[rule]]
        calls = ["process_madvise"]
        action = "permit"
    """


@pytest.mark.parametrize("mode", ["own", "none"])
def test_a_forked_childs_area_is_seen_before_it_is_written(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """area_not_copied.c: the parent takes the area out of its children (MADV_DONTFORK, the
    guard lifted), forks, and the child opens a file twice -- held, its parent's tasks running
    beside it.  "own": the child first maps its own writable, executable memory at the area's
    address; on main (1a51a27) the tracer took the area to be there and wrote its copies and
    trampolines into that memory (both loops: "written N", N > 0; the opens ran from the
    program's own pages); now the child is seen to lack the area, the tracer's mmap of it
    fails on the program's mapping, and its held calls are refused (EPERM), as a process's
    that took the address first (tests/progs/scratch_taken.c).  "none": nothing there; on
    main the copies were written into nothing (EFAULT, both opens); now the child gets an area
    anew, lazily, and its opens run.  Natively both open (and "advised" fails: nothing is
    mapped there)."""
    from systrace_py.engine import scratch

    program = build("progs/area_not_copied.c", "-pthread")
    target = tmp_path / "public.txt"
    target.write_text("hello\n")
    args = [str(program), hex(scratch.BASE), str(scratch.SIZE), str(target), mode]
    mapped = "mapped at-base" if mode == "own" else "mapped none"
    native = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert native.stdout.splitlines()[1:] == [mapped, "open0 ok", "open1 ok", "written 0"], \
        native.stdout
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(_policy(tmp_path))
    run = subprocess.run([*UNGUARDED, "-p", str(policy_file), "--", *args], capture_output=True,
                         text=True, timeout=120, env=systrace_env(loop))
    opened = "EPERM" if mode == "own" else "ok"
    # ("advised ok": the door is open in this run -- the check alone decides)
    assert run.stdout.splitlines() == ["advised ok", mapped, f"open0 {opened}",
                                       f"open1 {opened}", "written 0"], (run.stdout, run.stderr)
    if mode == "own":
        # (and the product's filter, the guard in place, refuses the advice: red team 76)
        guarded = run_systrace(["-p", str(policy_file), "--", *args], env=loop)
        assert guarded.stdout.splitlines() == ["advised EPERM", "mapped elsewhere", "open0 ok",
                                               "open1 ok", "written 0"], guarded.stdout


def test_red_team_76s_attack_is_stopped_by_the_check_alone(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Red team 76's area_dontfork.c (a thread writes the secret's path into every slot of
    the child's own memory at the area's address while the other opens the decoy), run where
    process_madvise's MADV_DONTFORK gets through (the guard lifted): on main (1a51a27) ESCAPED
    on both loops; now the child is seen to lack the area at its first held open and every
    open is refused (the area's address is the program's).  Control: natively a flip of the
    program's own buffer reads the secret."""
    binary = build("escape/area_dontfork.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("process_madvise"))

    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.secret, s.decoy], rules,
                                       env=loop, tracer=UNGUARDED)
    assert_blocked(traced)
    assert "20000 opens: 20000 refused" in traced.detail, traced


def test_a_forked_child_kept_from_the_area_by_an_io_uring_is_seen_without_it(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """area_uring_dontfork.c: red team 76's attack through a door its guard does not see -- an
    io_uring's IORING_OP_MADVISE (any advice, do_madvise on the program's own memory, its range
    in a submission queue entry no filter reads), where a rule permits the io-uring calls.
    The parent marks the area MADV_DONTFORK so and forks; the child maps its own writable
    memory at the area's address (a hint mmap) and a thread writes the secret's path into the
    slots while the other opens the decoy.  ESCAPED on main (1a51a27) on both loops (open 0);
    now the child is seen to lack the area at its first held open, the tracer's mmap of it
    fails on the program's mapping, and every open is refused.  (A policy that permits
    io-uring gives the ring its own opens too -- threat model, class 4 -- but never the
    tracer's writes into the program's memory.)  Control: natively a flip of the program's
    own buffer reads the secret.  Run with the area unsealed (UNSEALED: the check alone; where
    it is sealed the advice is refused -- close 24's test)."""
    binary = build("escape/area_uring_dontfork.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("io-uring"))

    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.secret, s.decoy], rules,
                                       env=loop, tracer=UNSEALED)
    assert "IORING_OP_MADVISE(DONTFORK): ok" in traced.stdout, traced  # (the door is open)
    assert "20000 opens: 20000 refused" in traced.detail, traced
