"""The tracer's own calls in a stopped task (Tracer._inject_call: the exec-time scratch
premap, the --attach probe) end at an int3, whose SIGTRAP the kernel forces: force_sig
resets an ignored or blocked SIGTRAP to SIG_DFL, and unblocks it, for good.  A program that
ignores SIGTRAP (``trap '' TRAP`` in sh; inherited over exec) would later die of one it
ignores natively.  So a task that ignores SIGTRAP gets no premap (the lazy way maps the area,
with no trap) and refuses the attach probe ("try again"); one that blocks it runs the call
with SIGTRAP unblocked, its own mask put back after (the Python loop; the C loop skips the
premap for it too).  Each run is compared with the same program's native run."""

from __future__ import annotations

import select
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PYTHON, run_systrace, systrace_env

#: what trap_held says natively, by mode
NATIVE = {"ignore": "survived\n", "block": "survived blocked\n"}
#: a policy that holds the open of a file by its path (fsread): the exec after it premaps
HOLDING = '''default = "permit"

[[rule]]
calls = ["fsread"]
path = "/etc/shadow"
action = "never"
'''


@pytest.mark.parametrize("mode", sorted(NATIVE))
def test_sigtrap_ignored_or_blocked_over_exec_stays_so_when_traced(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """The exec after a held call premaps the scratch area -- not with an int3 in a task that
    ignores or blocks SIGTRAP: the program's SIGTRAP is ignored (or stays blocked) as
    natively, and it says "survived" (rc 0), not killed by SIGTRAP (rc 133)."""
    program = build("progs/trap_held.c")
    native = subprocess.run([str(program), mode], capture_output=True, text=True, timeout=60)
    assert (native.returncode, native.stdout) == (0, NATIVE[mode]), native
    policy = tmp_path / "p.toml"
    policy.write_text(HOLDING)
    traced = run_systrace(["-p", str(policy), str(program), mode], env=loop)
    assert (traced.returncode, traced.stdout) == (0, NATIVE[mode]), traced


@pytest.mark.parametrize("mode", sorted(NATIVE))
def test_an_attach_leaves_sigtrap_ignored_or_blocked(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """--attach to a process that ignores SIGTRAP is refused ("try again": the probe's trap
    would undo the ignoring) and leaves it as it was; one that blocks it is attached, asked
    with SIGTRAP unblocked for the probe only, and its SIGTRAP stays blocked after."""
    program = build("progs/trap_held.c")
    native = subprocess.run([str(program), mode, "wait"], input="g", capture_output=True,
                            text=True, timeout=60)
    assert (native.returncode, native.stdout) == (0, f"ready {_pid(native.stdout)}\n"
                                                  + NATIVE[mode]), native
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = subprocess.Popen([str(program), mode, "wait"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert target.stdout is not None
        assert target.stdout.readline() == f"ready {target.pid}\n"
        tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                   "-p", str(policy)], env=systrace_env(loop),
                                  stderr=subprocess.PIPE, text=True)
        assert tracer.stderr is not None
        ready, _, _ = select.select([tracer.stderr], [], [], 60)  # (never blocks for good)
        assert ready, "systrace said nothing in 60 s"
        said = tracer.stderr.readline()
        if mode == "ignore":
            rest = tracer.stderr.read()
            assert tracer.wait(timeout=60) == 125, said + rest
            assert "ignores SIGTRAP" in said and "(try again)" in said, said + rest
        else:
            assert said == f"systrace: Process {target.pid} attached\n", said
        out, _ = target.communicate("g", timeout=60)
        assert (target.returncode, out) == (0, NATIVE[mode])
        if mode != "ignore":
            rest = tracer.stderr.read()
            assert tracer.wait(timeout=60) == 0, rest
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(5)


def _pid(out: str) -> str:
    return out.split()[1] if out.startswith("ready ") else "?"
