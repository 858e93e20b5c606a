"""Red team 36: an outsider at interrupted, restarted and rewritten calls.

``suspended_insn.c``: under a seccomp filter of the program's own, the scratch area of an
image exec'd under it is mapped at its first held call by sending the task back to its own
``syscall`` instruction with the mmap in its registers and every filter suspended
(``Tracer._map_scratch_suspended``).  The two bytes were read and checked, but they are the
program's: a sibling thread flipped them to ``int $0x80`` after the read, and the mmap's
number 9 ran as i386 ``link(ebx, ecx)`` -- no filter, no decision -- linking the secret into
the work directory.  Flipped to a jump instead, it reached code of the program's that made
the mmap itself, writable: taken for the tracer's area, it held every later copy where the
program could rewrite it (the ``writable`` variant).  Now the entry stop of that call must be
the mmap the tracer asked for (its ABI, number, arguments and address); anything else kills
the process there, before the call runs.

``restart_regs.c``: a held call interrupted by a signal whose handler rewrites, in its
ucontext, the registers the kernel restarts the call with: the restart stops again and is
decided anew (found closed; a guard against a change that would let a restart through).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, attack, read_never, require_real

LINK = os.fsdecode(b"\xeb\x1elnk")


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="the tracer suspends a task's filters only with CAP_SYS_ADMIN")
@pytest.mark.parametrize("control_mode,mode", [("native", "attack"),
                                               ("native-writable", "writable")])
def test_an_instruction_rewritten_while_the_filters_are_suspended_runs_no_call(
        build, tmp_path: Path, loop: dict[str, str], control_mode: str, mode: str) -> None:
    """``attack``: the instruction flipped to ``int $0x80`` -- the i386 link of the secret.
    ``writable``: flipped to a jump to the program's own mmap of a writable area at the
    scratch address, taken for the tracer's -- then a held open's checked path, copied
    there, rewritten into the secret's by a racer.  Both escaped before (both loops: such a
    task is always Python's), in 1 to 20 attempts; now the diverted attempt is killed at its
    entry stop (no link, no area)."""
    program = build("escape/suspended_insn.c")
    control_scene = Scene.make(tmp_path, "control")
    control = attack(program, control_mode, control_scene.secret, policy_text=None,
                     scene=control_scene, cwd=control_scene.work,
                     env={"DECOY": str(control_scene.decoy)})
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    out = attack(program, mode, s.secret, policy_text=read_never(f"{s.secd}/**"), scene=s,
                 cwd=s.work, env={**loop, "DECOY": str(s.decoy)}, timeout=240)
    assert_blocked(out, may_be_killed=True)
    assert not os.path.lexists(s.work / LINK), out


def test_a_held_call_restarted_with_registers_its_handler_rewrote_is_decided_anew(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """An openat of a FIFO (held: a second thread), interrupted by SIGALRM (SA_RESTART); the
    handler points the restart's path register at the secret.  Natively the restarted call
    opens the secret; traced the restart (openat2 on the tracer's copies, which the handler
    sees) stops again and is refused."""
    program = build("escape/restart_regs.c")
    outcomes = []
    for name, traced in (("control", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        fifo = s.work / "fifo"
        os.mkfifo(fifo)
        outcomes.append(attack(program, "restart", fifo, s.secret, "thread",
                               policy_text=read_never(f"{s.secd}/**") if traced else None,
                               scene=s, env=loop if traced else None))
    control, out = outcomes
    require_real(control)
    assert_blocked(out)
    assert "EACCES" in out.detail, out
