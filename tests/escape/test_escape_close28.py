"""Close 28: review 56's findings closed (docs/security.md, "Close 28").  The review's own
attack tests are tests/escape/test_escape_review56.py; these are what the closing found
besides: a bypass of the same class that review 53's inode check let through (FAILS on main
a6615010), and the parity a Landlock domain the engine now tracks must keep."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
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
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_another_processs_fd_directory_bound_over_the_tasks_own(build, world_tmp: Path,
                                                                 loop: dict[str, str],
                                                                 tasks: str) -> None:
    """proc_bind_parent.c with ESC_OVER_OWN: nobody, in a user and mount namespace of its own,
    binds the fd directory of a dumpable holder of nobody's outside the tree over its own
    /proc/<own pid>/fd -- in /proc itself -- and opens /proc/<own pid>/fd/9/NAME (the
    holder's fd 9: its cwd, below a mode-0711 directory).  The tracer's name of the walk's
    directory is then the task's own fd directory, and its ".." (the mountpoint's parent) the
    real /proc/<own pid>: review 53's _own_process_dir compared that ".." with the tracer's
    /proc/<own pid> and took the holder's links for the task's own.  Natively EACCES (the
    holder's credentials are in another user namespace); traced on main a6615010 in a tree of
    two tasks the file is read (ESCAPED, both loops).  Closed: the directory itself must be
    the tracer's /proc/<own pid>/fd inode; the holder's, reached by a bind whose ".." leaves
    its mount, is not read (EXDEV) and refused."""
    program = world_program(build, world_tmp, "proc_bind_parent")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, "ESC_OVER_OWN": "1", **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, uid, 1, _FD) as pid:
        native = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=None,
                        scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, _FD, "notes.txt", uid, world_tmp, policy_text=rules,
                        scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)


#: in a Landlock domain: a child forked after it (its domain) and a grandchild in a domain
#: nested below (a second landlock_run), whose links are followed; init's (outside): EACCES
_DOMAIN_LINKS = ('sleep 5 & C=$!; LL -- sleep 5 & G=$!; sleep 0.3; '
                 'for l in /proc/$C/cwd /proc/$G/cwd /proc/$$/cwd /proc/1/cwd; do '
                 'stat -L -c "$l OK" "$l" 2>&1 | sed "s/[0-9][0-9]*/N/g"; done; kill $C $G')


@pytest.mark.skipif(os.geteuid() != 0, reason="root: init's links, followed without Landlock")
def test_a_landlocked_task_follows_its_own_domains_links(build, world_tmp: Path,
                                                         loop: dict[str, str]) -> None:
    """Parity for the domains the engine tracks (paths.LandlockDomain): a shell in a Landlock
    domain (landlock_run.c, writes beneath /dev only) follows the cwd links of its child
    forked after it entered (the same domain), of a child that entered a domain nested below
    (a second landlock_run: its own landlock_restrict_self, seen by the tracer) and its own;
    init's, outside, is EACCES (hook_ptrace_access_check), though root holds
    CAP_SYS_PTRACE.  Traced as natively, both loops -- no refusal where the kernel follows."""
    landlock = build("escape/landlock_run.c")
    shutil.copy(landlock, world_tmp / "LL")
    (world_tmp / "LL").chmod(0o755)
    script = _DOMAIN_LINKS.replace("LL", str(world_tmp / "LL"))
    argv = [str(world_tmp / "LL"), "/dev", "--", "sh", "-c", script]
    native = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if "SKIPPED" in native.stdout:
        pytest.skip(native.stdout.strip())
    lines = native.stdout.splitlines()
    assert lines[:3] == ["/proc/N/cwd OK"] * 3 and "Permission denied" in lines[3], native
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy(never("fsread", path="/nonexistent-systrace/**")))
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", *argv],
                            capture_output=True, text=True, timeout=60,
                            env=systrace_env(loop), check=False)
    assert traced.stdout == native.stdout, (native.stdout, traced.stdout, traced.stderr[-2000:])
