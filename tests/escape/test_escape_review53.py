"""Review 53: a hostile review of red team 77's magic-link check, PathResolver._may_follow
(docs/security.md, "Review 53")."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    ID_HOLDER,
    OWN_CHILD_LINKS,
    SECRET_MAGIC,
    SYSTRACE,
    attack,
    hidden_notes,
    holder,
    never,
    policy,
    world_program,
)

from conftest import UNPRIVILEGED_USER, systrace_env


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_a_process_that_is_not_dumpable_keeps_its_links(build, world_tmp: Path,
                                                        loop: dict[str, str],
                                                        tasks: str) -> None:
    """proc_other_link.c (red team 77) drops to nobody and opens NAME in the cwd of a process
    of nobody's outside the tree whose ids are all nobody's but that made itself not dumpable
    (prctl(PR_SET_DUMPABLE, 0)) -- a directory below a mode-0711 one, under a name the program
    is not told.  The kernel follows another process's magic link for a task of its ids only
    while it is dumpable (__ptrace_may_access: get_dumpable(mm) != SUID_DUMP_USER wants
    CAP_SYS_PTRACE), so natively EACCES.  _may_follow read dumpability from the owner of the
    process's /proc directory -- which task_dump_owner leaves its effective ids' whatever its
    dumpability (mode 0555): the walk followed the link and, in a tree of two tasks, the
    program read the file (ESCAPED on main 3c06e75b, both loops).  Now the owner of its ``fd``
    directory tells (root's once it is not dumpable).  Control: the same holder dumpable
    (natively and traced the file is read)."""
    program = world_program(build, world_tmp, "proc_other_link")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, uid, 1) as pid:
        control = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None, env=env)
        assert control.verdict == "ESCAPED", control
        served = attack(program, pid, "notes.txt", uid, policy_text=rules, scene=None, env=env)
        assert served.verdict == "ESCAPED", served
    with holder(ID_HOLDER, inner, uid, 0) as pid:
        native = attack(program, pid, "notes.txt", uid, policy_text=None, scene=None, env=env)
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        traced = attack(program, pid, "notes.txt", uid, policy_text=rules, scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, writing another's id maps")
def test_a_namespaces_ptracer_follows_its_processes_links(build, world_tmp: Path,
                                                          loop: dict[str, str]) -> None:
    """proc_userns_peer.c: a task that is root of its own user namespace (CAP_SYS_PTRACE
    there, not in the tracer's) opens /proc/B/cwd/NAME of a process B of that namespace with
    other ids (its uid 5, dumpable).  The kernel allows it (ptrace_has_cap in B's credentials'
    namespace: a rootless container's root reads its processes' links); _may_follow took
    CAP_SYS_PTRACE only in the tracer's namespace and answered EACCES (main 3c06e75b, both
    loops: a false refusal).  Parity: read natively and traced."""
    program = world_program(build, world_tmp, "proc_userns_peer")
    where = world_tmp / "peer"
    where.mkdir()
    (where / "notes.txt").write_text(f"{SECRET_MAGIC}\n")
    (where / "notes.txt").chmod(0o644)
    where.chmod(0o755)
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    native = attack(program, where, "notes.txt", policy_text=None, scene=None, env=loop)
    if native.verdict == "SKIPPED":
        pytest.skip(native.detail)
    assert native.verdict == "ESCAPED", native
    traced = attack(program, where, "notes.txt", policy_text=rules, scene=None, env=loop)
    assert (traced.verdict, traced.detail) == (native.verdict, native.detail), (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a task that drops to nobody")
def test_the_links_a_task_follows_in_its_own_tree(build, world_tmp: Path,
                                                  loop: dict[str, str]) -> None:
    """proc_links_parity.c drops to nobody (no longer dumpable) with a second thread alive
    and follows links of its own threads (/proc/PID/task/TID/cwd, /proc/thread-self/cwd, a
    thread's unlisted /proc/TID), of children forked not dumpable, dumpable again, and
    exec'd, of its parent and of pid 1; every line must read as natively.  On main 3c06e75b
    (both loops) the children that were not dumpable had their cwd followed where the kernel
    says EACCES (the /proc directory's owner read for dumpability)."""
    program = world_program(build, world_tmp, "proc_links_parity")
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    native = subprocess.run([str(program), str(uid)], capture_output=True, text=True,
                            timeout=30, cwd=world_tmp, check=True)
    assert "kid nondump cwd              EACCES" in native.stdout, native.stdout
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(rules)
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", str(program), str(uid)],
                            capture_output=True, text=True, timeout=60, cwd=world_tmp,
                            env=systrace_env(loop))
    assert traced.stdout == native.stdout, traced.stderr[-2000:]


@pytest.mark.skipif(os.geteuid() != 0, reason="root, dropping CAP_SYS_PTRACE")
def test_a_root_without_cap_sys_ptrace_follows_its_childs_links(world_tmp: Path,
                                                                loop: dict[str, str]) -> None:
    """A root without CAP_SYS_PTRACE (Docker's default capability set) follows the cwd and
    root links of its own child, a dumpable root process of the same ids: the kernel allows
    it (__ptrace_may_access: the same ids, the child's permitted capabilities within the
    task's), and lsof, or a cat through /proc/CHILD/cwd, rely on it.  Traced, EACCES on both
    loops on main 3076c791 (parity82, gap #45): the child's /proc is root's whether or not it
    is dumpable, and the engine, failing closed, took it for one that is not.  Now the kernel
    is asked (close 26: test_escape_close26.py has the process that is not dumpable)."""
    argv = ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace",
            "sh", "-c", OWN_CHILD_LINKS]
    native = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=world_tmp,
                            check=False)
    if native.returncode != 0 and "setpriv" in native.stderr:
        pytest.skip(native.stderr.strip())
    assert native.stdout == "cwd OK\nroot OK\n", native
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy(never("fsread", path="/nonexistent-systrace/**")))
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", *argv],
                            capture_output=True, text=True, timeout=60, cwd=world_tmp,
                            env=systrace_env(loop))
    assert traced.stdout == native.stdout, traced.stderr[-2000:]


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, processes of another uid")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_another_processs_proc_mounted_as_ones_own(build, world_tmp: Path,
                                                   loop: dict[str, str], tasks: str) -> None:
    """proc_spoof_self.c drops to nobody, enters a user and mount namespace of its own, mounts
    a tmpfs on /proc and binds there, at /proc/<its own pid>, the /proc directory of a holder
    of nobody's outside the tree that is not dumpable, its cwd below a mode-0711 directory.
    The tracer reads that directory's name as the task's own /proc/TGID.  Natively
    /proc/<own pid>/cwd/NAME is EACCES (the holder's credentials are in another user
    namespace), and so is /proc/<own pid>/fd/987654.  The branch's first cut of _may_follow's
    own-process shortcut (67afdd98) told the task's own process by that name: it followed the
    cwd and the program read the file in a tree of two tasks (ESCAPED, both loops; main
    3c06e75b, which reads the statuses, held).  Now the name is confirmed by the inode of the
    tracer's own /proc/TGID."""
    program = world_program(build, world_tmp, "proc_spoof_self")
    inner = hidden_notes(world_tmp)
    uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(ID_HOLDER, inner, uid, 0) as pid:
        native = attack(program, pid, "notes.txt", uid, world_tmp, policy_text=None,
                        scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        assert native.verdict == "BLOCKED" and "ENOENT" not in native.detail, native
        traced = attack(program, pid, "notes.txt", uid, world_tmp, policy_text=rules,
                        scene=None, env=env)
        assert traced.verdict == "BLOCKED", traced
        assert traced.stdout == native.stdout, (native, traced)
