"""Review 12 of the native loop's exec handling (_cloop.c read_windows, exec_entry).

An exec into another table has its environment read by the loop: the windows its strings lie
in, in one process_vm_readv, which stops at the first byte it cannot read.  Where that read
gets part of a window, or none of one, or the environment cannot be read at all, the program
gets what it gets natively -- the same strings, or the same EFAULT -- in both loops.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import learned_policy, run_systrace

#: the stops Python served of a --stats run, by kind ("call execve 2")
PYTHON_SERVED = re.compile(r"stops served by Python: (.*)")


def _policy(tmp_path: Path, work: Path, printer: Path) -> Path:
    """A learned policy (learned_policy: the loop decides execs by it, no /dev), and a table
    of the printer's own: its exec enters another table, whose environment is read."""
    policy = tmp_path / "policy.toml"
    policy.write_text(learned_policy(work, printer, dev=False))
    return policy


def _python_execs(stderr: str) -> int:
    found = PYTHON_SERVED.search(stderr)
    assert found is not None, stderr
    served = dict(part.rsplit(" ", 1) for part in found.group(1).split(", "))
    return int(served.get("call execve", 0))


@pytest.mark.parametrize("case,native", [("partial", True), ("partial2", True),
                                         ("spread", True), ("hole", False), ("cut", False)])
def test_an_environment_read_in_part_is_the_programs_own(build, tmp_path: Path,
                                                         loop: dict[str, str], case: str,
                                                         native: bool) -> None:
    """A vfork child's exec into another table, whose environment the loop copies into the
    slot the kernel reads it from: partial, the first window's read cut short by memory not
    mapped (the read stops there: the other windows are not reached, and their strings are
    read as before); partial2, two whole windows, then one cut short; spread, more windows
    than one read takes; hole, cut: a pointer to, a string running into, memory not mapped
    -- EFAULT natively, and so under systrace (Python's: the loop hands back an environment
    it cannot read).  The exec is the loop's (cloop) where it reads the environment: Python
    served one execve, the launcher's own (whose exec premaps its scratch area: shell38;
    before, the printer's exec mapped it, twice Python's).  (A
    loop taking the windows not reached for read gave the program empty strings.)"""
    work = tmp_path / "work"
    work.mkdir()
    launcher, printer = work / "launcher", work / "printer"
    for program in (launcher, printer):
        shutil.copy(build("progs/env_windows.c"), program)
    command = [str(launcher), "run", case, str(printer)]
    control = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert control.returncode == 0, control
    if native:
        assert len(control.stdout.splitlines()) >= 4, control.stdout
    else:
        assert control.stdout == "execve: Bad address\n", control.stdout
    result = run_systrace(["--stats", "-p", str(_policy(tmp_path, work, printer)), "--",
                           *command], env=loop)
    assert result.returncode == 0, result.stderr
    assert result.stdout == control.stdout, (result.stdout, result.stderr)
    if loop["SYSTRACE_NO_CLOOP"] == "0":
        assert _python_execs(result.stderr) == (1 if native else 2), result.stderr


def test_a_loader_variable_in_a_window_not_read_is_seen(build, tmp_path: Path,
                                                        loop: dict[str, str]) -> None:
    """LD_PRELOAD in a window the one read did not reach (the first window cut short before
    it), in an exec into another table: the loop reads it alone, sees a variable that runs
    code, and hands the exec to Python, which refuses it (EPERM) -- as the Python loop does.
    Natively the loader reads the variable (it says it cannot preload the library)."""
    work = tmp_path / "work"
    work.mkdir()
    launcher, printer = work / "launcher", work / "printer"
    for program in (launcher, printer):
        shutil.copy(build("progs/env_windows.c"), program)
    command = [str(launcher), "run", "loader", str(printer)]
    control = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert "LD_PRELOAD=/nonexistent" in control.stdout and "preloaded" in control.stderr, (
        control)
    result = run_systrace(["-p", str(_policy(tmp_path, work, printer)), "--", *command],
                          env=loop)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "execve: Operation not permitted\n", (result.stdout,
                                                                  result.stderr)
