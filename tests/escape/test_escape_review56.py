"""Review 56: a hostile review of close 26 (a root process's dumpability asked of the kernel)
and of the magic-link check it extends, PathResolver._may_follow (docs/security.md,
"Review 56").  Attack tests only: each FAILS on main 7530b104 (the review fixes nothing)."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

import pytest
from escape_lib import (
    ID_HOLDER,
    SYSTRACE,
    attack,
    hidden_notes,
    holder,
    never,
    policy,
    world_program,
)

from conftest import UNPRIVILEGED_USER, systrace_env

_FD = 9


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("status", ["forged", "none", "overmount", "as_own"])
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_the_status_judged_is_read_through_the_tasks_mounts(build, world_tmp: Path,
                                                          loop: dict[str, str], tasks: str,
                                                          status: str) -> None:
    """proc_bind_parent.c drops to nobody, enters a user and mount namespace of its own and
    binds /proc/PID/fd of a dumpable holder of nobody's outside the tree (its fd 9: its cwd,
    below a mode-0711 directory) at WORK/bN/fd; with ``forged`` it writes WORK/bN/status
    ("Tgid: <its own pid>"); with ``overmount`` it binds that file over /proc/PID/status
    itself and opens /proc/PID/cwd/NAME (the process directory's own "status", read through a
    mount on top, is the forgery); with ``as_own`` the holder is root's and not dumpable (its
    fd directory root's 0500) and the program binds its fd directory at /proc/<own pid>/fd on a
    tmpfs over /proc, the forged status beside: _own_fd_directory takes the directory, by its
    name, for the task's own and lets it search it, and _may_follow reads the forgery.  At the
    link fd/9 _may_follow reads the process's status as
    "../status" from the fd directory -- and ".." from the root of a mount is the
    mountpoint's parent (follow_dotdot): WORK/bN.  Forged, the holder is taken for the task's
    own process; with none, the read's ENOENT is taken for "gone, the kernel's own open below
    answers" -- and the tracer's open, as root, succeeds.  Natively EACCES (the holder's
    credentials are in another user namespace; the task holds no CAP_SYS_PTRACE there);
    traced on main 7530b104 in a tree of two tasks the file is read (ESCAPED, both loops, all
    three); a single task is held (its own spelling goes to the kernel)."""
    program = world_program(build, world_tmp, "proc_bind_parent")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {}),
           **({"ESC_NO_STATUS": "1"} if status == "none" else {}),
           **({"ESC_OVERMOUNT": "1"} if status == "overmount" else {}),
           **({"ESC_AS_OWN": "1"} if status == "as_own" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    # (as_own: root's, not dumpable -- its fd directory root's 0500, not the task's to search)
    owner, dumpable = (0, 0) if status == "as_own" else (uid, 1)
    with holder(ID_HOLDER, inner, owner, dumpable, _FD) as pid:
        native = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=None,
                        scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=rules,
                        scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)


#: the capability a root without CAP_SYS_PTRACE lacks (Docker's default set), both sides
_NO_PTRACE = ("setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace")

#: follows (stat -L) the links of process P (a zombie leader) and of its live thread T
_LEADER_LINKS = ('for l in /proc/$P/ns/user /proc/$P/ns/pid /proc/$P/cwd /proc/$P/task/$T/cwd; '
                 'do stat -L -c "$l OK" "$l" 2>&1 | sed "s/[0-9][0-9]*/N/g"; done')


@pytest.mark.skipif(os.geteuid() != 0, reason="root, dropping CAP_SYS_PTRACE")
def test_a_root_follows_a_zombie_leaders_links(build, world_tmp: Path,
                                               loop: dict[str, str]) -> None:
    """A root without CAP_SYS_PTRACE follows the ns/ links of another root process (of its
    capabilities) whose leader has exited while a thread lives on: __ptrace_may_access checks
    dumpability only for a task with memory (``mm && ...``), and the leader has none -- its
    ns/user and ns/pid are followed natively, its cwd ENOENT (no fs).  Close 26 asks the
    kernel's coredump mask, which PIDFD_GET_INFO leaves out for a task without memory: "not
    told", refused -- EACCES for all three traced on main 89f9a1dd (a false refusal, both
    loops; cwd's errno differs too).  The live thread's cwd: followed either way."""
    program = world_program(build, world_tmp, "zombie_leader")
    proc = subprocess.Popen([*_NO_PTRACE, str(program)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        time.sleep(0.2)
        tids = [t for t in os.listdir(f"/proc/{pid}/task") if t != str(pid)]
        env = {"P": str(pid), "T": tids[0]}
        argv = [*_NO_PTRACE, "sh", "-c", _LEADER_LINKS]
        native = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                env={**os.environ, **env}, check=False)
        assert "/proc/N/ns/user OK" in native.stdout, native
        policy_file = world_tmp / "policy.toml"
        policy_file.write_text(policy(never("fsread", path="/nonexistent-systrace/**")))
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", *argv],
                                capture_output=True, text=True, timeout=60,
                                env={**systrace_env(loop), **env}, check=False)
        assert traced.stdout == native.stdout, (native.stdout, traced.stdout)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_a_landlocked_task_follows_no_link_outside_its_domain(build, world_tmp: Path,
                                                               loop: dict[str, str],
                                                               tasks: str) -> None:
    """landlock_other_link.c drops to nobody, enters a Landlock domain that handles writes only
    and opens /proc/PID/cwd/NAME of a dumpable holder of nobody's outside the domain (its cwd
    below a mode-0711 directory).  Landlock refuses ptrace_may_access across domains
    (hook_ptrace_access_check: READ too), so natively EACCES; without the domain the file is
    read (control).  _may_follow consults no LSM: traced on main 89f9a1dd in a tree of two
    tasks the walk follows the link and the canonical spelling is read (ESCAPED, both loops);
    a single task is held (its own spelling goes to the kernel)."""
    program = world_program(build, world_tmp, "landlock_other_link")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, uid, 1, _FD) as pid:
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


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
def test_a_forged_pid_does_not_end_the_run(build, world_tmp: Path,
                                           loop: dict[str, str]) -> None:
    """proc_bind_parent.c's as_own layout (a root holder's fd directory bound at
    /proc/<own pid>/fd on a tmpfs over /proc) with ESC_CRASH: the status beside it is a root
    process of the task's own user namespace (ns/user a symlink the tracer resolves to the
    task's own, uid_map "0 0 1") and says "Pid: 2147483648".  _may_follow then asks close
    26's procfs.told_dumpable about that pid: os.pidfd_open raises OverflowError, which
    neither told_dumpable (OSError) nor _may_follow (OSError, ValueError, IndexError) catches
    -- "systrace: internal error: OverflowError", the traced processes killed (main 89f9a1dd,
    both loops).  No input a traced program can make may end the tracer: the run must go on
    and the open be refused as natively (EACCES)."""
    program = world_program(build, world_tmp, "proc_bind_parent")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, "ESC_THREAD": "1", "ESC_AS_OWN": "1", "ESC_CRASH": "1"}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, 0, 0, _FD) as pid:
        native = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=None,
                        scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=rules,
                        scene=None, env=env)
        assert "internal error" not in traced.stderr, traced.stderr[-2000:]
        assert traced.stdout == native.stdout, (native, traced)
