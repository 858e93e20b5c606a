"""exit and exit_group always run (syscalls.Treat.ENDS).  A process's end exposes nothing, and
a refused one is made again: glibc's _exit calls exit_group, then exit, in a loop -- under
``default = "never"`` (or a never on "stdio") the program spun forever, the tracer at 100 %
CPU, 39,521 refusals in 10 s (found by start38, main eaa4d53).  Now the end runs under every
table; a rule that refuses or asks it by name is warned of (it does not apply to it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import run_systrace
from systrace_py.policy.files import PolicyWarning, loads_policy
from systrace_py.policy.filterplan import ALWAYS_RUN, VerdictKind, plan


def test_a_table_refusing_everything_lets_the_program_end(tmp_path: Path, loop) -> None:
    """The program's exec refused by the default: the child reports it and ends (126) --
    before, it never ended; a shell whose every call but its end is permitted ends too."""
    policy = tmp_path / "never.toml"
    policy.write_text('default = "never"\n')
    result = run_systrace(["-p", str(policy), "--", "/bin/true"], env=loop, timeout=60)
    assert result.returncode == 126, result.stderr
    policy.write_text('default = "permit"\n[[rule]]\ncalls = ["stdio"]\naction = "never"\n')
    try:
        result = run_systrace(["-p", str(policy), "--", "/bin/true"], env=loop, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a program whose calls are all refused did not end")
    assert result.returncode != 0


def test_an_end_made_again_while_refused_runs_the_first_time(build, tmp_path: Path,
                                                             loop) -> None:
    """A program whose only calls are its ends, made again while refused (as glibc's _exit):
    under a default refusing everything but its exec, it ends with its own status at once."""
    program = build("engine/ends_in_a_loop.c", "-nostdlib", "-static")
    policy = tmp_path / "never.toml"
    policy.write_text('default = "never"\n[[rule]]\ncalls = ["execve"]\naction = "permit"\n')
    try:
        result = run_systrace(["--stats", "-p", str(policy), "--", str(program)], env=loop,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the program's end was refused: it never ended")
    assert result.returncode == 3, result.stderr
    assert "0 refusals" in result.stderr, result.stderr


def test_the_filter_lets_an_end_through_a_refusing_default() -> None:
    """No stop for an end: the prefilter allows it where the table would refuse it."""
    filters = plan([loads_policy('default = "never"\n', "p.toml").main])
    assert {"exit", "exit_group"} == ALWAYS_RUN
    for name in ALWAYS_RUN:
        assert filters.calls[name].kind is VerdictKind.ALLOW, name


@pytest.mark.parametrize("action", ["never", "ask"])
@pytest.mark.parametrize("name", ["exit", "exit_group"])
def test_a_rule_refusing_an_end_by_name_is_warned_of(action: str, name: str) -> None:
    """Said, not silently dropped -- a warning, so that a policy saved before (an answer
    "never" to a prompt for exit_group) still loads; the end runs."""
    text = (f'default = "permit"\n[[rule]]\ncalls = ["{name}", "read"]\n'
            f'action = "{action}"\n')
    with pytest.warns(PolicyWarning, match=f"p.toml:3: calls: {name} always runs"):
        policy = loads_policy(text, "p.toml")
    assert plan([policy.main]).calls[name].kind is VerdictKind.ALLOW
