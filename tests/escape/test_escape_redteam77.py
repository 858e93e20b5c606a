"""Red team 77: an outsider at lookups the tracer makes with powers the program lacks
(docs/security.md, "Red team 77")."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from escape_lib import attack, hidden_notes, holder, never, policy, world_program

from conftest import UNPRIVILEGED_USER

#: a process of the user's outside the tree, its cwd DIR: it sets its ids (SAVED: the saved
#: uid; without exec, which would make it the effective one) and stays dumpable
_HOLDER = """\
import ctypes, os, sys, time
os.chdir(sys.argv[1])
uid = int(sys.argv[2])
os.setresuid(uid, uid, int(sys.argv[3]))
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its /proc is its own user's
print(os.getpid(), flush=True)
time.sleep(60)
"""




@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_another_processs_cwd_is_followed_as_the_task_may(build, world_tmp: Path,
                                                          loop: dict[str, str],
                                                          tasks: str) -> None:
    """proc_other_link.c drops to nobody and opens NAME in the cwd of a process of nobody's
    outside the tree, through /proc/PID/cwd -- a directory below a mode-0711 one, under a name
    the program is not told.  The kernel follows another process's magic link only for a task
    that may read it as a debugger may (ptrace_may_access): that process kept root as its
    saved uid, so natively EACCES.  The tracer's walk opened the link itself (root, with
    CAP_SYS_PTRACE) and named the file; in a tree of two tasks the open was handed to the
    kernel by that name, which nobody may look up (0711), and the program read the file
    (ESCAPED on main 79d9fee, both loops, in a tree of two tasks).  Now the walk
    answers EACCES where the kernel would.  Control: a holder whose ids are all nobody's
    (natively and traced the file is read: the route works where the kernel allows it)."""
    program = world_program(build, world_tmp, "proc_other_link")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(_HOLDER, inner, uid, uid) as pid:  # the control: nobody may read it as a debugger
        control = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None, env=env)
        assert control.verdict == "ESCAPED", control
        served = attack(program, pid, "notes.txt", uid, policy_text=rules, scene=None, env=env)
        assert served.verdict == "ESCAPED", served
    with holder(_HOLDER, inner, uid, 0) as pid:
        native = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None, env=env)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, "notes.txt", uid, policy_text=rules, scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a task that drops to nobody")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_a_map_files_link_wants_the_capability_the_kernel_wants(build, world_tmp: Path,
                                                                 loop: dict[str, str],
                                                                 tasks: str) -> None:
    """proc_map_files.c maps a file, drops to nobody and opens its own
    /proc/self/map_files/START-END: natively EPERM (the link wants CAP_SYS_ADMIN or
    CAP_CHECKPOINT_RESTORE, even in one's own process).  On main the walk answered EACCES (the
    directory, root's 0500 once the process is no longer dumpable, searched with the mode
    bits; the kernel lets the process's own tasks search it) -- an errno of its own, failing
    closed.  Now EPERM, as natively.  Control: as root the link is followed (ESCAPED)."""
    program = world_program(build, world_tmp, "proc_map_files")
    mapped = world_tmp / "mapped.txt"
    mapped.write_text("mapped\n")
    mapped.chmod(0o644)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    control = attack(program, mapped, 0, policy_text=None, scene=None, env=env)
    assert control.verdict == "ESCAPED", control
    assert attack(program, mapped, 0, policy_text=rules, scene=None, env=env).verdict == "ESCAPED"
    native = attack(program, mapped, uid, policy_text=None, scene=None, env=env)
    assert native.verdict == "BLOCKED" and "EPERM" in native.detail, native
    traced = attack(program, mapped, uid, policy_text=rules, scene=None, env=env)
    assert (traced.verdict, traced.detail) == (native.verdict, native.detail), (native, traced)
