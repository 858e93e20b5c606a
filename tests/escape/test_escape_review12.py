"""Review 12: the native loop's exec handling, read as an attacker would (issue 11/16).

Each attack has a native control (the technique works without systrace) and a run under
systrace, in both loops, that must not escape (docs/security.md, "Review 12")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, attack, require_real


def _rules(s: Scene, *, secret: bool) -> str:
    """A learned policy's rules (default never, permits by path, no refusing rule -- what
    the native loop decides an exec by): the work directory's programs may run, and
    ``secret``: the secret may be read."""
    text = f"""
calls = ["stdio", "process", "signal", "fsmeta"]
action = "permit"

[[{{table}}rule]]
calls = ["exec", "fsread"]
path = "/usr/**"
action = "permit"

[[{{table}}rule]]
calls = ["exec", "fsread"]
path = "{s.work}/**"
action = "permit"

[[{{table}}rule]]
calls = ["fsread"]
path = "/etc/**"
action = "permit"

[[{{table}}rule]]
calls = ["fsread", "fswrite"]
path = "/dev/**"
action = "permit"
"""
    if secret:
        text += f"""
[[{{table}}rule]]
calls = ["fsread"]
path = "{s.secret}"
action = "permit"
"""
    return text


def _chain_policy(s: Scene, confined: Path) -> str:
    """The main table may read the secret; ``confined``'s may not."""
    table = f'program."{confined}".'
    return ('default = "never"\n\n[[rule]]' + _rules(s, secret=True).format(table="")
            + f'\n[program."{confined}"]\ndefault = "never"\n\n[[{table}rule]]'
            + _rules(s, secret=False).format(table=table))


@pytest.mark.parametrize("how", ["exec", "vfork", "spawn"])
def test_a_program_run_at_once_after_an_exec_is_decided_by_the_new_table(
        build, tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """A launcher (main table) execs ``confined`` (a table of its own that may not read the
    secret), which at once runs ``reader`` (no table: it is confined's) -- by its own execve,
    by vfork, by posix_spawn.  The native loop served the launcher's exec and confined's
    stops in one run, and asked the monitor about confined's execve with the process's
    state as Python had it -- the launcher's, not caught up with the exec: the reader ran
    under the main table and read the secret (exec).  An arm whose exec the loop let go
    hands its next exec to Python (_cloop.c exec_entry: state_stale)."""
    s = Scene.make(tmp_path)
    launcher, confined, reader = (s.work / name for name in ("launcher", "confined", "reader"))
    for program in (launcher, reader):
        shutil.copy(build("escape/exec_chain.c"), program)
    # (static: confined's table's plan is new, and the loader's first open of a new plan is
    # Python's -- a stop at which Python caught up with the launcher's exec; the reader opens
    # the secret as the loader opens, a variant the main table's plan knows)
    shutil.copy(build("escape/exec_chain.c", "-static"), confined)
    args = ("launcher", how, confined, reader, s.secret)
    control = attack(launcher, *args, policy_text=None, scene=s)
    require_real(control)
    traced = attack(launcher, *args, policy_text=_chain_policy(s, confined), scene=s, env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail or "EPERM" in traced.detail, traced
