"""Red team 6: an exec'd file the tracer may not read (class 4, children that slip away).

The kernel execs a file with execute permission alone -- it reads the file itself -- so a
program of mode 0111 runs for a user who may not read it, and a tracer run as that user may
not read it either.  To decide an exec against the rules on interpreters, the tracer reads
the #! line and the ELF's PT_INTERP (engine/exec_image.py); a file it could not open counted
as one with no interpreter.  exec_unread.c: a mode-0111 program whose PT_INTERP is a payload
in a directory the policy refuses to exec (and read) ran the payload, under a tracer run as
nobody, in both loops.  Now such a file makes the exec's interpreters unknown
(ExecImage.unread), and an exec whose table has a rule that may refuse an interpreter is
refused (EPERM) -- a parity cost only under a tracer that is not root, for execute-only
programs, under such rules.  With a root tracer (which reads any file) nothing changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, assert_blocked, attack, never, policy, require_real

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root to run the tracer as another user")


def test_an_exec_the_tracer_cannot_read_is_not_taken_for_one_without_interpreter(
        build, world_tmp, loop):
    attacker = world_tmp / "exec_unread"
    shutil.copy(build("escape/exec_unread.c"), attacker)
    attacker.chmod(0o755)
    s = Scene.make(world_tmp)
    evil = s.root / "evil"
    evil.mkdir(mode=0o755)
    payload = evil / "ld"
    shutil.copy(build("escape/exec_unread.c", "-DPAYLOAD", "-nostdlib", "-static-pie",
                      "-fno-stack-protector", "-ffreestanding"), payload)
    payload.chmod(0o755)
    program = s.work / "prog"
    subprocess.run(["gcc", "-O1", "-o", str(program), str(Path(__file__).with_name("hello.c")),
                    f"-Wl,--dynamic-linker={payload}"], check=True, capture_output=True)
    program.chmod(0o111)  # runs for nobody, who may not read it
    s.work.chmod(0o755)
    native = attack(NOBODY[0], *NOBODY[1:], attacker, program, policy_text=None, scene=s)
    require_real(native)
    rules = policy(never(["exec", "fsread"], path=f"{evil}/**"))
    traced = attack(attacker, program, policy_text=rules, scene=s, env=loop,
                    tracer=[*NOBODY, *SYSTRACE])
    assert_blocked(traced)
    assert "EPERM" in traced.stdout, traced
    program.chmod(0o755)  # readable: refused by the rule on its interpreter, as before
    readable = attack(attacker, program, policy_text=rules, scene=s, env=loop,
                      tracer=[*NOBODY, *SYSTRACE])
    assert_blocked(readable)
