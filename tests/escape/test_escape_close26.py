"""Close 26: a root without CAP_SYS_PTRACE and another root process's magic links -- gap #45
(docs/security.md, "Close 26")."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from escape_lib import (
    OWN_CHILD_LINKS,
    SECRET_MAGIC,
    SYSTRACE,
    attack,
    holder,
    never,
    policy,
    world_program,
)

from conftest import UNPRIVILEGED_USER, systrace_env

#: the capabilities both the program and the other process are without: CAP_SYS_PTRACE (the
#: kernel's dumpability check then decides) and the two that would let root find the hidden
#: directory by itself (then the magic link is the only way in)
_DROPPED = "-sys_ptrace,-dac_override,-dac_read_search"
_SETPRIV = ("setpriv", f"--inh-caps={_DROPPED}", f"--bounding-set={_DROPPED}")

#: a root process outside the tree, its cwd DIR, its capabilities _DROPPED's, that keeps its
#: memory dumpable ("dumpable"), makes it not dumpable ("prctl": PR_SET_DUMPABLE 0, as a
#: daemon does), or execs a program it may not read ("exec": the kernel makes the process not
#: dumpable, would_dump) -- it prints its pid first
_HOLDER = """\
import os, sys
os.chdir(sys.argv[1])
os.execvp("setpriv", [*sys.argv[4:], sys.executable, "-c", '''
import ctypes, os, sys, time
how, unreadable = sys.argv[1], sys.argv[2]
ctypes.CDLL(None).prctl(4, 0 if how == "prctl" else 1, 0, 0, 0)  # PR_SET_DUMPABLE
print(os.getpid(), flush=True)
if how == "exec":
    os.execv(unreadable, ["sleep", "60"])
time.sleep(60)
''', sys.argv[2], sys.argv[3]])
"""


def _hidden(root: Path, owner: str) -> Path:
    """notes.txt (SECRET_MAGIC, 0644) in a directory of a random name below ``root``/hid,
    ``owner``'s and mode 0711: a root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    cannot list it, so finds the file only through the cwd of a process that is there (and
    the file's own name, once known, opens)."""
    hidden = root / "hid"
    inner = hidden / os.urandom(8).hex()
    inner.mkdir(parents=True)
    (inner / "notes.txt").write_text(f"{SECRET_MAGIC}\n")
    (inner / "notes.txt").chmod(0o644)
    inner.chmod(0o755)
    entry = pwd.getpwnam(owner)
    os.chown(hidden, entry.pw_uid, entry.pw_gid)
    hidden.chmod(0o711)
    return inner


def _settled(pid: int, how: str) -> None:
    """Wait until the holder runs what it execs ("exec": sleep, not python)."""
    deadline = time.monotonic() + 10
    while how == "exec" and Path(f"/proc/{pid}/comm").read_text().strip() != "sleep":
        assert time.monotonic() < deadline, "the holder did not exec"
        time.sleep(0.05)


@pytest.mark.skipif(os.geteuid() != 0, reason="root, dropping CAP_SYS_PTRACE")
@pytest.mark.parametrize("tasks", ["single", "threads"])
@pytest.mark.parametrize("how", ["dumpable", "prctl", "exec"])
def test_a_root_without_cap_sys_ptrace_and_another_roots_links(build, world_tmp: Path,
                                                               loop: dict[str, str],
                                                               tasks: str, how: str) -> None:
    """proc_other_link.c, run as root without CAP_SYS_PTRACE, CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH (setpriv), opens /proc/PID/cwd/NAME (and task/PID/cwd/NAME) of a
    root process outside the tree with the same capabilities, whose cwd is below a mode-0711
    directory of another user's.  The kernel follows the link while that process is dumpable
    (__ptrace_may_access: the same ids, its permitted capabilities within the task's) and
    refuses it (EACCES) once it is not: PR_SET_DUMPABLE 0, or the exec of a program it may
    not read.  /proc shows dumpability only as the owner of the process's files, root's
    either way for a root process: main (3076c791) refused every such link, both loops --
    "dumpable" BLOCKED traced where natively the file is read (gap #45, a false refusal).
    Now the kernel is asked (PIDFD_GET_INFO's coredump mask): the dumpable process's file is
    read as natively; the others stay EACCES, in a tree of one task and of two."""
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv")
    program = world_program(build, world_tmp, "proc_other_link")
    inner = _hidden(world_tmp, UNPRIVILEGED_USER)
    unreadable = world_tmp / "sleep"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", unreadable)
    owner = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(unreadable, owner.pw_uid, owner.pw_gid)
    unreadable.chmod(0o711)
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    rules = policy(never("fsread", path="/nonexistent-systrace/**"))
    with holder(_HOLDER, inner, how, unreadable, *_SETPRIV) as pid:
        _settled(pid, how)
        native = attack(*_SETPRIV, program, pid, "notes.txt", 0, policy_text=None,
                        scene=None, env=env)
        if native.verdict == "SKIPPED":
            pytest.skip(native.detail)
        traced = attack(*_SETPRIV, program, pid, "notes.txt", 0, policy_text=rules,
                        scene=None, env=env)
    if how == "dumpable":
        assert native.verdict == "ESCAPED", native
        assert traced.verdict == "ESCAPED", traced
    else:
        assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
        assert traced.verdict == "BLOCKED", traced
    assert traced.stdout == native.stdout, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="the host's root making a user namespace")
def test_a_user_namespaces_root_follows_its_childs_links(world_tmp: Path,
                                                         loop: dict[str, str]) -> None:
    """``unshare -Ur`` run by the host's root: the namespace's root is uid 0 outside too (its
    map is 0 0 1), with CAP_SYS_PTRACE in that namespace only.  It follows the cwd and root
    links of its own child, a dumpable process of that namespace: the kernel allows it
    (ptrace_has_cap in the namespace of the child's credentials; dumpable).  Traced on main
    3076c791, EACCES on both loops (parity82's table, "differs (known)"): the child's /proc is
    (0, 0)'s whether or not it is dumpable, and a task that is not the tracer's namespace's
    ptracer was refused.  Now the kernel tells the child dumpable: parity."""
    argv = ["unshare", "-Ur", "sh", "-c", OWN_CHILD_LINKS]
    native = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=world_tmp,
                            check=False)
    if native.returncode != 0 and "unshare" in native.stderr:
        pytest.skip(native.stderr.strip())
    assert native.stdout == "cwd OK\nroot OK\n", native
    policy_file = world_tmp / "policy.toml"
    policy_file.write_text(policy(never("fsread", path="/nonexistent-systrace/**")))
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", *argv],
                            capture_output=True, text=True, timeout=60, cwd=world_tmp,
                            env=systrace_env(loop))
    assert traced.stdout == native.stdout, traced.stderr[-2000:]
