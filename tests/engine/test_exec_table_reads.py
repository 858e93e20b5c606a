"""An exec into another table reads what Supervisor._entering_table examines -- the flags of
descriptors 0-2 (/proc/TID/fdinfo/N), the personality, the seccomp filters (/proc/TID/status)
-- once, at its check, where only the task could change them: with the tree frozen for the
exec, Tracer._unchanged reads them again only when the task ran since (a call restarted after
the scratch mmap) or has a peer that could (a task sharing its descriptor table, a thread).
The tracer's /proc reads are counted by wrapping procfs.read in a real run (a shell, which
stays, execs a program with a table of its own twice: the tree is not one task, so the
exec runs frozen).  The shell is exec'd by env: the run's own command gets its scratch
area at its first exec (shell38), and its first child's exec is then the native loop's,
whose reads this does not count; a later exec's area is mapped at its first held call, so
the first command's exec is Python's on both loops."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import systrace_env

HARNESS = """
import sys
from systrace_py import procfs
log = open(sys.argv[1], "a")
plain = procfs.read
def read(path):
    log.write(path + "\\n")
    log.flush()
    return plain(path)
procfs.read = read
from systrace_py.engine import tracer
plain_unchanged = tracer.Tracer._unchanged
def unchanged(self, task, call, *, ran=True, **kw):
    if ran and call.examined_std_fds is not None:
        log.write(f"ran {task.tid}\\n")  # (a check again that may read: the task ran or waited)
        log.flush()
    return plain_unchanged(self, task, call, ran=ran, **kw)
tracer.Tracer._unchanged = unchanged
from systrace_py.engine import decode
plain_argv = decode.read_argv
def read_argv(memory, pointer):
    log.write(f"vector {memory.pid}\\n")  # (an exec's argv or environment read)
    log.flush()
    return plain_argv(memory, pointer)
decode.read_argv = read_argv
from systrace_py.__main__ import main
sys.argv = ["systrace", *sys.argv[2:]]
sys.exit(main())
"""


def test_an_exec_into_another_table_reads_each_descriptors_flags_once_unless_replayed(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Per exec'ing task, fdinfo/0 is read once at the check, and again only where the task
    ran its own code or waited since (Tracer._unchanged with ``ran``: the call replayed after
    the scratch mmap; a freeze of the tree that waited -- under load it may, and then both
    read again: CI40 saw three reads).  Before 4748af4 it was read again with the tree frozen
    and nothing else sharing the table (no one could have changed it)."""
    victim = tmp_path / "victim"
    shutil.copy("/bin/true", victim)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'default = "permit"\n\n[program."{victim}"]\ndefault = "permit"\n')
    log = tmp_path / "reads"
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, str(log), "-p", str(policy), "--",
         "/usr/bin/env", "/bin/sh", "-c", f"{victim}; {victim}; :"],
        env=systrace_env(loop), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    reads = collections.Counter(
        m.group(1) for m in re.finditer(r"^/proc/(\d+)/fdinfo/0$", text, re.M))
    rechecks = collections.Counter(m.group(1) for m in re.finditer(r"^ran (\d+)$", text, re.M))
    assert reads, "no exec into another table was checked"
    assert all(count <= 1 + rechecks[tid] for tid, count in reads.items()), (reads, rechecks)


def test_a_held_exec_reads_its_argv_and_environment_once(tmp_path: Path,
                                                         loop: dict[str, str]) -> None:
    """An exec into another table in a tree of more than one task runs frozen and held: its
    argv and environment are copied into the scratch slot (Holder._exec) -- the very tuples
    it was decided on --, and the kernel reads the copies.  So the freeze's re-check
    (Tracer._unchanged) does not read them again from the task's memory, which the kernel
    no longer reads: per exec'ing task one read of each at the check, again only where the
    call was decided anew (a replay, a wait: ``ran``).  Before perf18 they were read twice
    an exec (~30 us a read, four an exec: perf17)."""
    victim = tmp_path / "victim"
    shutil.copy("/bin/true", victim)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'default = "permit"\n\n[program."{victim}"]\ndefault = "permit"\n')
    log = tmp_path / "reads"
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, str(log), "-p", str(policy), "--",
         "/usr/bin/env", "/bin/sh", "-c", f"{victim}; {victim}; {victim}; :"],
        env=systrace_env(loop), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    vectors = collections.Counter(m.group(1) for m in re.finditer(r"^vector (\d+)$", text, re.M))
    checked = collections.Counter(
        m.group(1) for m in re.finditer(r"^/proc/(\d+)/fdinfo/0$", text, re.M))
    rechecks = collections.Counter(m.group(1) for m in re.finditer(r"^ran (\d+)$", text, re.M))
    assert checked, ("no exec into the victim's table was checked", text)
    for tid in checked:
        # (argv and environment: 2 a decision; a replayed or waiting call is decided again)
        assert vectors[tid] <= 2 * (1 + rechecks[tid]), (tid, vectors, rechecks)
