"""A shell's first command served as its others are (issue 16, the shell loop: shell38).

The scratch area (engine/scratch.py) is premapped at an exec only where the new image will
hold its calls: beside other tasks.  A task alone holds nothing -- but the child of its vfork
(a shell's command) does, in the memory it shares with its parent; when the shell's own exec
did not map the area, the first command's held execve mapped it lazily (the call made an mmap
first: an exit stop and the call again), and that whole command -- execve, exec event, end --
was Python's.  Now the exec of a task alone premaps the area when its table may let it make a
child (Supervisor.may_make_children); counts of stops, never times."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import learned_shell_policy, run_systrace
from systrace_py.engine import cloop, scratch

STATS = re.compile(r"systrace: (\d+) stops \((\d+) decided natively\)")
KINDS = re.compile(r"stops by kind: (.*)")
SERVED = re.compile(r"stops served by Python: (.*)")


def _counts(line: re.Match[str] | None) -> dict[str, int]:
    if line is None:
        return {}
    return {kind: int(n) for kind, n in (part.rsplit(" ", 1)
                                         for part in line.group(1).split(", ") if part != "...")}


def _native() -> bool:
    return os.environ.get("SYSTRACE_NO_CLOOP") != "1" and cloop.load() is not None


@pytest.mark.both_loops
def test_a_shells_first_command_is_served_as_the_others(tmp_path: Path) -> None:
    """3 x /bin/true in sh.  With the native loop Python serves the run's start only (sh's
    own execve, its exec event, its end): on main it served the first command's execve
    twice (the lazy mapping of the area, then the call again), its exit stop, its exec
    event and its end besides -- 11 stops, not 6.  Both loops stop alike; the Python loop
    premaps sh at its exec (one "scratch map" stop, at the trap) where the first command's
    execve made the mmap (two stops: its exit, then the call again)."""
    true = os.path.realpath(shutil.which("true") or "/bin/true")
    policy = learned_shell_policy(tmp_path, tmp_path, true)
    rounds = 3
    loop = f"i=0; while [ $i -lt {rounds} ]; do /bin/true; i=$((i+1)); done"

    def run(native: bool) -> tuple[int, int, dict[str, int], dict[str, int]]:
        result = run_systrace(["--stats", "-p", str(policy), "--", "sh", "-c", loop],
                              env={"SYSTRACE_NO_CLOOP": "0" if native else "1"})
        assert result.returncode == 0, result.stderr
        found = STATS.search(result.stderr)
        assert found is not None, result.stderr
        return (int(found.group(1)), int(found.group(2)), _counts(KINDS.search(result.stderr)),
                _counts(SERVED.search(result.stderr)))

    stops, native, kinds, served = run(True)
    p_stops, p_native, p_kinds, _ = run(False)
    mapped, p_mapped = kinds.pop("scratch map", 0), p_kinds.pop("scratch map", 0)
    assert (stops, kinds) == (p_stops, p_kinds), (kinds, p_kinds)
    assert p_native == 0 and kinds["exec"] == rounds + 1, kinds
    assert "call exit" not in kinds, kinds  # (no execve made an mmap first)
    assert p_mapped == rounds + 1, p_kinds  # (sh's own premap, and each command's)
    if _native():
        assert mapped == 0, kinds
        assert stops - native <= 7, (stops, native, served)
        assert served.get("call execve", 0) <= 1 and served.get("exec event", 0) <= 1, served
        assert served.get("exit", 0) <= 1 and "call exit" not in served, served


@pytest.mark.parametrize("may_fork", [True, False], ids=["forks", "no-fork"])
def test_a_program_alone_gets_the_area_when_its_table_lets_it_make_a_child(
        tmp_path: Path, loop: dict[str, str], may_fork: bool) -> None:
    """cat of its own /proc/self/maps, alone in the tree, under a policy whose path rule makes
    the run filtered: the scratch area is mapped at its exec when its table lets it make a
    child, and not when the table refuses the whole fork family (it can make no child that
    would share its memory, and holds nothing while alone).  On main neither had it."""
    refuse = "" if may_fork else '[[rule]]\ncalls = ["process"]\naction = "never"\n\n'
    policy = tmp_path / "policy.toml"
    policy.write_text(f'default = "permit"\n\n{refuse}[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{tmp_path}/secret/**"\naction = "never"\n')
    result = run_systrace(["-p", str(policy), "--", "cat", "/proc/self/maps"], env=loop)
    assert result.returncode == 0, result.stderr
    area = f"{scratch.BASE:x}-"
    assert any(line.startswith(area) for line in result.stdout.splitlines()) == may_fork, \
        result.stdout
