"""Review 16: a hostile reading of the previous session's merged change (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 16")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, never, policy

#: the dynamic loader the good build names
_LOADER = "/lib64/ld-linux-x86-64.so.2"


@pytest.mark.parametrize("mode", [
    "file",
    pytest.param("link", marks=pytest.mark.xfail(strict=True, reason=(
        "gap #43: the name PT_INTERP gives is resolved by the decision and again by the "
        "kernel; what the kernel loaded is not checked at the exec event"))),
])
def test_an_elf_interpreter_swapped_between_the_check_and_the_exec(build, tmp_path, loop,
                                                                  mode):
    """``exec_interp_swap.c``.  ``file``: two builds of one program, one whose PT_INTERP is
    the system's loader and one whose PT_INTERP is a payload the policy refuses to exec and
    to read, put in turn at one name (a hard link renamed over it) by another process of the
    tree while the main one execs that name.  The decision reads the file's interpreters;
    the check at the exec event compared what ran with the file the name led to when the
    exec was noted -- looked up by name again, after the decision (escaped; now the file the
    decision read).  ``link`` (gap #43, open): a program whose PT_INTERP is a symlink the
    other process points at the loader and at the payload in turn -- the decision resolves
    the name, the kernel resolves it again when it loads the interpreter, and the exec
    event checks only the binary (/proc/PID/exe): the payload ran within ~10 tries, both
    loops.  (Refusing the payload's fsread too held both modes in 800 tries: not why
    understood, not relied on.)  Control: natively the payload runs."""
    interp = build("escape/interp.c", "-nostdlib", "-static-pie", "-fno-stack-protector",
                   "-ffreestanding")
    hello = Path(__file__).with_name("hello.c")

    def setup(s: Scene) -> None:
        for name, loader in (("good", _LOADER), ("bad", str(interp)),
                             ("linked", str(s.work / "ld"))):
            subprocess.run(["gcc", "-O1", "-o", str(s.work / name), str(hello),
                            f"-Wl,--dynamic-linker={loader}"], check=True, capture_output=True)

    def args(s: Scene) -> list[object]:
        if mode == "file":
            return ["file", s.work / "good", s.work / "bad", s.work / "prog", 300]
        return ["link", _LOADER, interp, s.work / "ld", s.work / "linked", 300]

    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/exec_interp_swap.c"), args,
        lambda s: policy(never("exec", path=str(interp))), setup=setup,
        may_be_killed=True, env=loop, timeout=120)
    counts = re.search(r"note: (\d+) ran, (\d+) failed, (\d+) killed", traced.stdout)
    assert counts is not None and sum(map(int, counts.groups())) == 300, traced
