"""procfs: what /proc says of a task, read in one place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py import procfs


def test_a_vfork_parent_sleeps_in_clone_until_its_child_lets_it_run(
        build: Callable[..., Path]) -> None:
    """Tracer._freeze tells a vfork parent still waiting (it stops before its own code runs
    again) from one its child let go (it runs: wait for its stop) by procfs.IN_CLONE -- the
    name of a kernel function, which a kernel may rename: this is where that shows."""
    with subprocess.Popen([build("progs/vfork_wait.c")], stdout=subprocess.PIPE) as program:
        assert program.stdout is not None
        parent, child = map(int, program.stdout.readline().split())
        deadline = time.monotonic() + 0.2  # (the child may print before the parent sleeps:
        while procfs.wchan(parent) not in procfs.IN_CLONE \
                and time.monotonic() < deadline:  # it sleeps 0.3 s)
            time.sleep(0.001)
        assert procfs.wchan(parent) in procfs.IN_CLONE
        assert procfs.wchan(child) not in procfs.IN_CLONE  # (it sleeps in nanosleep)
        while procfs.alive(child):
            time.sleep(0.02)
        time.sleep(0.1)
        assert procfs.alive(parent)
        assert procfs.wchan(parent) not in procfs.IN_CLONE  # (it runs its own code)
        program.wait()
    assert procfs.wchan(parent) is None


def test_every_threads_tracer_is_read(build: Callable[..., Path]) -> None:
    """procfs.tracers_of reads each thread's TracerPid (approver._traced: a process
    attached after its leader exited has traced threads and an untraced zombie leader);
    None when there is no such process."""
    import os
    import threading

    gate = threading.Event()
    thread = threading.Thread(target=gate.wait)
    thread.start()
    try:
        assert len(os.listdir(f"/proc/{os.getpid()}/task")) >= 2
        assert procfs.tracers_of(os.getpid()) == {procfs.tracer_of(os.getpid())}
    finally:
        gate.set()
        thread.join()
    assert procfs.tracers_of(2**22 + 1) is None


def test_the_argv_of_a_process_whose_leader_exited_is_read_through_a_thread() -> None:
    """procfs.cmdline: a zombie leader's /proc/PID/cmdline is empty (no memory); a live
    thread's is the process's argv (what an attached process's exec record and a prompt
    show).  None once no task of it is left."""
    import sys

    code = ("import threading, ctypes, time; threading.Thread(target=time.sleep, args=(30,))"
            ".start(); ctypes.CDLL(None).syscall(60, 0)")  # SYS_exit: the main thread alone
    with subprocess.Popen([sys.executable, "-c", code]) as program:
        try:
            deadline = time.monotonic() + 10
            while procfs.read_stat(program.pid)[procfs.STATE] != b"Z":  # type: ignore[index]
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert Path(f"/proc/{program.pid}/cmdline").read_bytes() == b""
            assert procfs.cmdline(program.pid) == (sys.executable, "-c", code)
        finally:
            program.kill()
    assert procfs.cmdline(program.pid) is None


def test_a_name_that_spells_status_lines_is_read_as_a_name() -> None:
    """A task's name is the first line of its /proc status, and the kernel escapes only a
    newline (and a backslash) in it: a thread named "\\rSeccomp:\\t7" (a carriage return ends
    a line for bytes.splitlines) had procfs read its forged lines before the real ones (red
    team 12, attach_forged.c).  Each key read here is the kernel's own, whatever the name."""
    import ctypes
    import os
    import threading

    from systrace_py.engine import signals

    libc = ctypes.CDLL(None, use_errno=True)
    found: dict[str, object] = {}
    forged = [b"\rSeccomp:\t7", b"\rTracerPid:\t1", b"\rTgid:\t1", b"\rSigIgn:\tff"]

    def named() -> None:
        tid = threading.get_native_id()
        for name in forged:
            assert libc.prctl(15, name, 0, 0, 0) == 0  # PR_SET_NAME
            where = f"{os.getpid()}/task/{tid}"
            assert name in procfs.read(f"/proc/{where}/status")  # (raw, as the kernel shows)
            found[name.decode()] = (procfs.status_numbers(where, b"Seccomp"),
                                    procfs.tracer_of(where),
                                    procfs.status_numbers(where, b"Tgid"),
                                    (signals.signal_masks(tid) or {}).get("SigIgn"))

    thread = threading.Thread(target=named)
    thread.start()
    thread.join()
    real = (procfs.status_numbers("self", b"Seccomp"), procfs.tracer_of("self"),
            [os.getpid()], (signals.signal_masks(os.getpid()) or {}).get("SigIgn"))
    assert found == {name.decode(): real for name in forged}


@given(mask=st.integers(0, 2**64 - 1), capability=st.integers(0, 63),
       name=st.binary(max_size=20).filter(lambda b: b"\n" not in b))
def test_a_capability_is_read_from_the_effective_mask_alone(mask: int, capability: int,
                                                            name: bytes) -> None:
    """procfs.has_capability (signals' kill permission check, the core-limit check) reads
    the CapEff line's hexadecimal mask -- not CapPrm, not a line the task's name forges
    (a carriage return in the name is no line end), None when there is no such line."""
    status = (b"Name:\t" + name + b"\rCapEff:\tffffffffffffffff\nCapPrm:\tffffffffffffffff\n"
              + b"CapEff:\t%016x\nCapBnd:\t0\n" % mask)
    assert procfs.has_capability(status, capability) is bool(mask >> capability & 1)
    assert procfs.has_capability(b"Name:\tx\nCapPrm:\t1\n", 0) is None



def test_a_file_longer_than_a_read_is_read_whole(tmp_path: Path) -> None:
    """procfs.read reads with the descriptor's calls, 8 kB at a time, to the end: a file of
    several reads (a big /proc/PID/maps) comes whole, an empty one empty."""
    data = bytes(range(256)) * 97  # 24832 bytes: four reads, the last a short one
    (tmp_path / "long").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    assert procfs.read(str(tmp_path / "long")) == data
    assert procfs.read(str(tmp_path / "empty")) == b""
    maps = procfs.read("/proc/self/maps")
    assert maps.endswith(b"\n") and b"[stack]" in maps


def test_dumpability_is_told_by_the_kernel() -> None:
    """procfs.told_dumpable (PathResolver._may_follow's question for a root process, whose
    /proc is root's either way, gap #45) says True only of a live task whose memory is
    dumpable as its user's: not of one that made itself not dumpable, a kernel thread (no
    memory), a task gone.  A kernel that does not tell (PIDFD_GET_INFO without a live
    task's coredump mask) skips: the engine then refuses."""
    if not procfs.told_dumpable(os.getpid()):
        pytest.skip("this kernel does not tell a live task's dumpability")
    script = ("import ctypes, sys; ctypes.CDLL(None).prctl(4, int(sys.argv[1]), 0, 0, 0); "
              "print(flush=True); sys.stdin.read()")
    for dumpable in (1, 0):
        with subprocess.Popen([sys.executable, "-c", script, str(dumpable)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) as other:
            assert other.stdout is not None and other.stdin is not None
            other.stdout.readline()
            assert procfs.told_dumpable(other.pid) is bool(dumpable)
            other.stdin.close()
        assert not procfs.told_dumpable(other.pid)  # (reaped)
    assert not procfs.told_dumpable(2)  # kthreadd: no memory


def test_a_task_without_memory_is_told_and_no_number_crashes() -> None:
    """procfs.told_without_memory (close 28: __ptrace_may_access checks dumpability only for a
    task with memory): True of a kernel thread (kthreadd: the kernel answers its pid with a
    coredump mask of 0), False of a task with memory (this one) and of a pid no task can
    have; told_dumpable of such a number is False, not an OverflowError out of
    os.pidfd_open (review 56's forged ``Pid: 2147483648``)."""
    for number in (2**31, 2**63, -1, 0, procfs.PID_MAX_LIMIT + 1):
        assert not procfs.told_dumpable(number)
        assert not procfs.told_without_memory(number)
    if not procfs.told_dumpable(os.getpid()):
        pytest.skip("this kernel does not tell a live task's dumpability")
    assert not procfs.told_without_memory(os.getpid())
    try:
        kthreadd = Path("/proc/2/comm").read_text().strip() == "kthreadd"
    except OSError:
        kthreadd = False
    if kthreadd:
        assert procfs.told_without_memory(2)
