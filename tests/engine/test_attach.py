"""--attach PID: a running process is held to a policy from then on; Ctrl-C detaches and
leaves it running; its exit status becomes systrace's."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from conftest import PYTHON, systrace_env
from systrace_py.engine.tracee import distinct
from systrace_py.kernel import KCMP_FILES, KCMP_FS, KCMP_VM

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops


def wait_for_line(stream: IO[str], wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if line.strip() == wanted:
            return
    raise AssertionError(f"never saw {wanted!r}")


@pytest.mark.parametrize("leaderless", [False, True], ids=["", "leaderless"])
def test_attach_enforces_then_detaches_on_interrupt(tmp_path: Path, build: Callable[..., Path],
                                                   leaderless: bool) -> None:
    # leaderless: the loop runs in a thread and the main thread has exited -- the pid is a
    # zombie's, which has no /proc/PID/exe and cannot be seized: the thread is traced
    looper = build("progs/looper.c")
    secret = tmp_path / "secret"
    secret.write_text("x")
    stop = tmp_path / "stop"
    target = subprocess.Popen([str(looper), str(secret), str(stop),
                               *(["leaderless"] if leaderless else [])],
                              stdout=subprocess.PIPE, text=True)
    wait_for_line(target.stdout, "ok")
    policy = tmp_path / "p.toml"
    policy.write_text(f'[[rule]]\ncalls = ["fsread"]\npath = "{secret}"\naction = "never"\n'
                      'errno = "EACCES"\n')
    tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid), "-p",
                               str(policy)], env=systrace_env(), stderr=subprocess.PIPE,
                              text=True)
    wait_for_line(target.stdout, "EACCES")       # held to the policy now
    tracer.send_signal(signal.SIGINT)            # detach
    tracer.wait(timeout=20)
    wait_for_line(target.stdout, "ok")           # running, untraced again
    assert "TracerPid:\t0" in Path(f"/proc/{target.pid}/status").read_text()
    stop.write_text("")
    assert target.wait(timeout=20) == 7


@pytest.mark.parametrize("leaderless", [False, True], ids=["", "leaderless"])
def test_attach_reports_the_exit_status(tmp_path: Path, build: Callable[..., Path],
                                        leaderless: bool) -> None:
    looper = build("progs/looper.c")
    stop = tmp_path / "stop"
    target = subprocess.Popen([str(looper), "/nonexistent", str(stop),
                               *(["leaderless"] if leaderless else [])],
                              stdout=subprocess.PIPE, text=True)
    wait_for_line(target.stdout, "No such file or directory")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid), "-p",
                               str(policy)], env=systrace_env(), stderr=subprocess.PIPE,
                              text=True)
    time.sleep(1)
    stop.write_text("")
    assert tracer.wait(timeout=20) == 7, tracer.stderr.read()


def test_attach_follows_a_threads_exec_after_its_leader_exited(
        tmp_path: Path, build: Callable[..., Path], loop: dict[str, str]) -> None:
    """The zombie leader of an attached process cannot be seized: no task has its pid.  A
    thread's exec is reported under that pid (de_thread gives the thread the leader's): it
    was taken for a child's first stop still to come, the new image never resumed -- the
    run hung.  Now the thread's task takes the pid and the new image is held to the policy
    (``cat`` of the refused file: EACCES, its exit status the run's)."""
    looper = build("progs/looper.c")
    secret = tmp_path / "secret"
    secret.write_text("x")
    stop = tmp_path / "stop"
    target = subprocess.Popen([str(looper), str(secret), str(stop), "leaderless", "exec"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_line(target.stdout, "ok")
        policy = tmp_path / "p.toml"
        policy.write_text(f'[[rule]]\ncalls = ["fsread"]\npath = "{secret}"\n'
                          'action = "never"\nerrno = "EACCES"\n')
        tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                   "-p", str(policy)], env=systrace_env(loop),
                                  stderr=subprocess.PIPE, text=True)
        wait_for_line(target.stdout, "EACCES")
        stop.write_text("")
        assert tracer.wait(timeout=20) == 1, tracer.stderr.read()
        assert "Permission denied" in target.stderr.read()
    finally:
        target.kill()
        target.wait()


def test_attach_to_a_process_with_a_thread_another_tracer_holds_fails_and_leaves_it_running(
        tmp_path: Path) -> None:
    """A thread systrace cannot seize (another tracer has it) would run unchecked: the attach
    fails (125, the thread named) -- and detaches the threads it had seized, so the process
    goes on as before (not killed with the tracer, not left stopped)."""
    import os
    import sys

    code = ("import sys, threading, time; threading.Thread(target=time.sleep, args=(60,),"
            " daemon=True).start(); print('ready', flush=True); sys.stdin.readline();"
            " print('bye', flush=True); sys.exit(3)")
    target = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    holder = None
    try:
        assert target.stdout is not None and target.stdin is not None
        wait_for_line(target.stdout, "ready")
        thread = next(int(t) for t in os.listdir(f"/proc/{target.pid}/task")
                      if int(t) != target.pid)
        seize = (f"import ctypes, sys, time; r = ctypes.CDLL(None).ptrace(0x4206, {thread}, 0, 0);"
                 " print(r, flush=True); time.sleep(60)")  # PTRACE_SEIZE
        holder = subprocess.Popen([sys.executable, "-c", seize], stdout=subprocess.PIPE,
                                  text=True)
        assert holder.stdout is not None
        wait_for_line(holder.stdout, "0")
        policy = tmp_path / "p.toml"
        policy.write_text('default = "permit"\n')
        run = subprocess.run([PYTHON, "-m", "systrace_py", "--attach", str(target.pid), "-p",
                              str(policy)], env=systrace_env(), capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 125
        assert f"cannot attach to {target.pid}: its thread {thread} cannot be traced" \
            in run.stderr
        status = Path(f"/proc/{target.pid}/status").read_text()
        assert "TracerPid:\t0" in status and "State:\tS" in status
        target.stdin.write("go\n")
        target.stdin.flush()
        wait_for_line(target.stdout, "bye")
        holder.kill()  # (its thread is reaped by its tracer first)
        assert target.wait(timeout=20) == 3
    finally:
        target.kill()
        target.wait()
        if holder is not None:
            holder.kill()
            holder.wait()

def test_attach_to_nothing_is_a_clear_error() -> None:
    r = subprocess.run([PYTHON, "-m", "systrace_py", "--attach", "999999999", "-p", "/dev/null"],
                       capture_output=True, text=True, env=systrace_env())
    assert r.returncode == 2
    assert "999999999" in r.stderr and "Traceback" not in r.stderr


def test_attach_to_a_missing_pid_says_no_such_process() -> None:
    r = subprocess.run([PYTHON, "-m", "systrace_py", "--attach", "999999999", "-p", "/dev/null"],
                       capture_output=True, text=True, env=systrace_env())
    assert r.returncode == 2
    assert r.stderr == "systrace: --attach 999999999: no such process\n"


def test_attach_and_detach_are_said_and_a_sigterm_detach_exits_143(
        tmp_path: Path, build: Callable[..., Path]) -> None:
    looper = build("progs/looper.c")
    stop = tmp_path / "stop"
    target = subprocess.Popen([str(looper), "/nonexistent", str(stop)], stdout=subprocess.PIPE,
                              text=True)
    try:
        wait_for_line(target.stdout, "No such file or directory")
        policy = tmp_path / "p.toml"
        policy.write_text('default = "permit"\n')
        tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                   "-p", str(policy)], env=systrace_env(),
                                  stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([tracer.stderr], [], [], 60)  # (never blocks for good)
        assert ready and tracer.stderr.readline() == f"systrace: Process {target.pid} attached\n"
        tracer.send_signal(signal.SIGTERM)
        assert tracer.wait(timeout=20) == 128 + signal.SIGTERM
        assert tracer.stderr.read() == f"systrace: Process {target.pid} detached\n"
        assert "TracerPid:\t0" in Path(f"/proc/{target.pid}/status").read_text()
    finally:
        stop.write_text("")
    assert target.wait(timeout=20) == 7


def test_an_attached_process_with_keyed_pages_gets_the_kernels_efault(
        tmp_path: Path, build: Callable[..., Path]) -> None:
    """A process attached to may have protection keys already (no filtered call said so): a
    path in a page whose key it disables is EFAULT for the kernel's copy -- under systrace
    too, not the refusal a rule gives the path read from outside (pkey_holder.c)."""
    holder = build("progs/pkey_holder.c")
    secret, stop = tmp_path / "secret", tmp_path / "stop"
    secret.write_text("x")
    target = subprocess.Popen([str(holder), str(secret), str(stop)], stdout=subprocess.PIPE,
                              text=True)
    try:
        first = target.stdout.readline()
        if first.startswith("SKIPPED"):
            pytest.skip(first.strip())
        assert first.split() == ["0", "EFAULT"], first  # alone: the kernel faults
        policy = tmp_path / "p.toml"
        policy.write_text(f'[[rule]]\ncalls = ["fsread"]\npath = "{secret}"\n'
                          'action = "never"\nerrno = "EACCES"\n')
        tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                   "-p", str(policy)], env=systrace_env(),
                                  stderr=subprocess.PIPE, text=True)
        traced: list[str] = []
        for _ in range(2400):  # five tries made while traced (a tracer that failed: 2 min)
            tracer_pid, answer = target.stdout.readline().split()
            if tracer_pid != "0":
                traced.append(answer)
                if len(traced) == 5:
                    break
        assert traced == ["EFAULT"] * 5
        tracer.send_signal(signal.SIGTERM)
        assert tracer.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        stop.write_text("")
    assert target.wait(timeout=20) == 7


def test_each_distinct_table_is_looked_at_once_by_the_kernels_answer() -> None:
    """The attach checks read each descriptor table (and address space) once: which tasks
    share one is kcmp's answer -- threads share the process's, a forked child has a copy."""
    started, done = threading.Event(), threading.Event()
    tids: list[int] = []

    def thread() -> None:
        tids.append(threading.get_native_id())
        started.set()
        done.wait(30)

    worker = threading.Thread(target=thread)
    worker.start()
    child = os.fork()
    if child == 0:
        signal.pause()
        os._exit(0)
    try:
        started.wait(30)
        me = os.getpid()
        for kind in (KCMP_FILES, KCMP_FS, KCMP_VM):
            assert distinct([me, tids[0], child], kind) == [me, child], kind
        assert distinct([me, tids[0]], KCMP_FILES, KCMP_FS) == [me]
        assert distinct([me, 2 ** 22 + 1], KCMP_FILES) == [me, 2 ** 22 + 1]  # (no such task)
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        done.set()
        worker.join()


def _blocked_in_fifo_open(pid: int) -> bool:
    with contextlib.suppress(OSError):
        wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text()
        return "fifo" in wchan or "partner" in wchan
    return False


@pytest.mark.parametrize("mode", ["", "filter"])
def test_a_detach_gives_a_blocked_held_call_its_own_registers(
        tmp_path: Path, build: Callable[..., Path], mode: str) -> None:
    """A held call blocked when the tracer detaches (an open of a FIFO no reader has opened:
    its path a copy in the scratch area, the open an openat2) is interrupted, and the kernel
    makes it again, untraced, from the registers it finds.  Failed before review 21: the
    detach let it go at that exit stop with the tracer's registers (rsi the copy's address;
    rdx the open_how's, r10 24 and openat2's number made again), where the tracer puts the
    program's back (Tracer._own_back: it was on its way through its trampoline).

    ``filter``: the program loaded a seccomp filter of its own first (no trampoline: the open
    keeps its own call, its path the copy's, run with the tree stopped); the interrupt ends it
    at its exit stop, where its registers are put back before the detach
    (Tracer._own_at_detach).  Failed on main: rsi the copy's address."""
    program = build("progs/detach_regs.c")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = subprocess.Popen([str(program), str(fifo), *([mode] if mode else [])],
                              stdout=subprocess.PIPE, text=True)
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    tracer = None
    try:
        # (attached before the open: wait_for_line reads the line the program writes before
        # it, and the attach takes it in any call -- every call stops, without a filter)
        tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                   "-p", str(policy)], env=systrace_env(),
                                  stderr=subprocess.PIPE, text=True)
        for _ in range(400):
            if f"TracerPid:\t{tracer.pid}" in Path(f"/proc/{target.pid}/status").read_text():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("never attached")
        wait_for_line(target.stdout, "opening")
        for _ in range(400):
            if _blocked_in_fifo_open(target.pid):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the open never blocked")
        tracer.send_signal(signal.SIGINT)          # detach
        tracer.wait(timeout=20)
        assert "TracerPid:\t0" in Path(f"/proc/{target.pid}/status").read_text()
        with open(fifo, "rb"):                       # the reader: the open goes on
            line = target.stdout.readline().strip()
        assert line == "open: ok; registers own", line
        assert target.wait(timeout=20) == 0
    finally:
        target.kill()
        target.wait()
        if tracer is not None and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
