"""Review 60: a hostile review of close 28 (the magic-link check reads the judged process in
/proc's own mount; Landlock domains tracked; docs/security.md "Close 28").  Attack tests only:
each is expected to hold on main a29e11ab unless its docstring says it FAILS there."""
from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from escape_lib import ID_HOLDER, attack, hidden_notes, holder, never, policy, world_program

from conftest import UNPRIVILEGED_USER


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("mode", ["exec", "vfork", "fork", "thread"])
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_a_domain_entered_by_a_thread_goes_with_what_it_does(build, world_tmp: Path,
                                                             loop: dict[str, str], tasks: str,
                                                             mode: str) -> None:
    """landlock_thread_domain.c drops to nobody; a second thread (not the leader) enters a
    Landlock domain that handles writes only and then execs (taking the leader's tid), vforks
    a child that execs, forks a child, or starts a thread -- and that one opens
    /proc/PID/cwd/NAME of a dumpable holder of nobody's outside the domain.  Natively EACCES
    (hook_ptrace_access_check: the domain goes with the thread's credentials, to what it makes
    and across its exec); without the domain the file is read (control).  Traced, the engine
    must have carried the domain the same way (Tracer._entered_domain, _inherit_view,
    _on_exec's moved_domain)."""
    program = world_program(build, world_tmp, "landlock_thread_domain")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, "ESC_MODE": mode, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, uid, 1) as pid:
        control = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None,
                         env={**env, "ESC_NO_LANDLOCK": "1"})
        assert control.verdict == "ESCAPED", control
        native = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, "notes.txt", uid, policy_text=rules, scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)
