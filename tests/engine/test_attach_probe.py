"""--attach asks every thread, by a call the tracer makes it run at its attach stop, whether it
has an io_uring context (gap #27: Tracer._refuse_uring_contexts, _inject_call).  The call runs
where the thread was stopped -- inside a read, a nanosleep, a futex wait, or in user code --
and must leave it as it was: the call it was in restarted by the kernel as natively (the
restart is owed to its own registers, put back at the trap, never to the injected ones), its
code and registers unchanged.  Each run is compared with the same program's native run.

(An attached process has no filter, so both loops serve it alike; both are run all the same.)
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PYTHON, systrace_env
from systrace_py import procfs

#: what each mode of attach_waits.c says when its call returned as natively
NATIVE = {"read": ["read: 3 go"], "sleep": ["sleep: 0 whole"], "futex": ["futex: ok"],
          "spin": ["spin: done"], "spawn": ["spawn: ok"]}
#: the modes whose thread waits in the kernel (state S) once it is in its call
WAITING = {"read", "sleep", "futex"}


def start(program: Path, modes: list[str]) -> subprocess.Popen[str]:
    """attach_waits started, once it said "ready" and its threads are where they wait."""
    target = subprocess.Popen([str(program), *modes], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert target.stdout is not None
    assert target.stdout.readline().startswith("ready")
    waiting = sum(mode in WAITING for mode in modes)
    threads = sum(mode in NATIVE for mode in modes)  # ("filter" is none; spawn's come and go)
    for _ in range(2000):  # (a bound, not a timing: each thread gets to its call at once)
        states = [procfs.read_stat(f"{target.pid}/task/{tid}")
                  for tid in os.listdir(f"/proc/{target.pid}/task")]
        if len(states) >= threads and sum(
                s is not None and s[procfs.STATE] == b"S" for s in states) == waiting:
            break
        time.sleep(0.001)
    return target


def finish(target: subprocess.Popen[str], modes: list[str]) -> list[str]:
    """Its lines once it ended (given its line when it reads one; a lone spinner told to
    stop by SIGUSR1 -- a time bound of its own was a flake on a loaded machine: it ended
    before a slow attach and left a zombie, whose program /proc no longer names), sorted."""
    if modes == ["spin"]:
        target.send_signal(signal.SIGUSR1)
    out, _ = target.communicate("go\n" if "read" in modes else None, timeout=60)
    assert target.returncode == 0, out
    return sorted(out.splitlines())


def attach(target: subprocess.Popen[str], policy: Path, env: dict[str, str]
           ) -> tuple[subprocess.Popen[str], str]:
    """systrace --attach --stats started on the target, and its first line (which the
    caller checks: "Process N attached", or why not)."""
    tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                               "--stats", "-p", str(policy)], env=env,
                              stderr=subprocess.PIPE, text=True)
    assert tracer.stderr is not None
    ready, _, _ = select.select([tracer.stderr], [], [], 60)  # (never blocks for good)
    assert ready, "systrace said nothing in 60 s"
    return tracer, tracer.stderr.readline()


def attached_to_the_end(tracer: subprocess.Popen[str], said: str,
                        target: subprocess.Popen[str], modes: list[str]
                        ) -> tuple[list[str], str]:
    """Once systrace said it attached: the target's lines (finish) and the rest of what
    systrace said, which ends 0."""
    assert tracer.stderr is not None
    if said != f"systrace: Process {target.pid} attached\n":
        said += tracer.stderr.read()  # (why not, for the failure)
    assert said == f"systrace: Process {target.pid} attached\n", said
    lines = finish(target, modes)
    rest = tracer.stderr.read()
    assert tracer.wait(timeout=60) == 0, rest
    return lines, rest


MODES = [["read"], ["sleep"], ["spin"], ["read", "sleep", "futex", "spin"], ["read", "spawn"]]


@pytest.mark.parametrize("modes", MODES, ids=["+".join(m) for m in MODES])
def test_a_thread_caught_in_a_call_or_in_user_code_goes_on_as_natively_after_the_probe(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        modes: list[str]) -> None:
    """A plain process (no ring): the attach goes on, every thread is asked once ("attach
    probe" stops, one per thread) and each call returns what it returns natively -- the
    read its line, the nanosleep 0 after its whole time (restart_syscall with the time
    left), the futex wait 0 or EAGAIN, never EINTR nor a restart code.  A thread that makes
    threads in a loop may be found at its clone event (the clone's result put back in rax)
    or with a thread of it just made (asked too)."""
    program = build("progs/attach_waits.c")
    native = finish(start(program, modes), modes)
    expected = sorted([*(line for mode in modes for line in NATIVE[mode]),
                       *(["traced: 0"] if "read" in modes else [])])
    assert native == expected, native

    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = start(program, modes)
    try:
        tracer, said = attach(target, policy, systrace_env(loop))
        lines, rest = attached_to_the_end(tracer, said, target, modes)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(5)
    traced = [line for line in lines if line.startswith("traced: ")]
    assert [line for line in lines if line not in traced] == [
        line for line in expected if not line.startswith("traced: ")], (lines, rest)
    assert all(line != "traced: 0" for line in traced), lines
    probes = re.search(r"attach probe (\d+)", rest)
    assert probes is not None, rest
    if "spawn" in modes:  # (and the thread it had just made, if any)
        assert int(probes[1]) in (len(modes), len(modes) + 1), rest
    else:
        assert int(probes[1]) == len(modes), rest


def test_a_stopped_process_is_not_attached_and_stays_stopped(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """A thread in a group-stop cannot run the probe without leaving its stop: the attach is
    refused (fail closed), the process left stopped and untraced -- once continued it runs
    natively."""
    program = build("progs/attach_waits.c")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = start(program, ["read"])
    try:
        os.kill(target.pid, signal.SIGSTOP)
        for _ in range(2000):
            fields = procfs.read_stat(target.pid)
            if fields is not None and fields[procfs.STATE] == b"T":
                break
            time.sleep(0.001)
        tracer = subprocess.run([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                 "-p", str(policy)], env=systrace_env(), capture_output=True,
                                text=True, timeout=60)
        assert tracer.returncode == 125, tracer
        assert "is stopped (a group-stop" in tracer.stderr, tracer.stderr
        assert procfs.tracers_of(target.pid) == {0}
        fields = procfs.read_stat(target.pid)
        assert fields is not None and fields[procfs.STATE] == b"T", fields
        os.kill(target.pid, signal.SIGCONT)
        assert finish(target, ["read"]) == ["read: 3 go", "traced: 0"]
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(5)


def test_a_process_under_a_seccomp_filter_is_asked_with_its_filter_suspended(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """The process's own filter kills it at any io_uring_enter -- the probe's call.  A tracer
    with CAP_SYS_ADMIN suspends the filter for the probe only (PTRACE_O_SUSPEND_SECCOMP): the
    attach goes on, nothing is killed, the calls return as natively; one without it refuses
    the attach (the filter could answer, trap or kill in the call's place)."""
    program = build("progs/attach_waits.c")
    modes = ["read", "sleep"]
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = start(program, ["filter", *modes])
    try:
        tracer, said = attach(target, policy, systrace_env())
        if "runs under a seccomp filter" in said:  # (no CAP_SYS_ADMIN, or no C/R in the kernel)
            assert tracer.wait(timeout=60) == 125
            assert finish(target, modes) == ["read: 3 go", "sleep: 0 whole", "traced: 0"]
            pytest.skip("the filter cannot be suspended here: refused, left running")
        lines, rest = attached_to_the_end(tracer, said, target, modes)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(5)
    assert lines[:2] == ["read: 3 go", "sleep: 0 whole"] and lines[2] != "traced: 0", lines
    assert f"attach probe {len(modes)}" in rest, rest


def test_a_thread_inside_an_rseq_critical_section_refuses_the_attach(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """A thread stopped inside an rseq critical section would be sent to its abort handler
    by the kernel when it goes on for the probe (whose code is written where it stopped,
    inside the section): its own code would run unchecked, and the probe wait for ever for
    its trap.  The attach is refused ("try again") before anything is written, and systrace
    ends.  (Native control: blocked in its section, the thread stays there -- its abort
    handler does not run within 1 s.)"""
    program = build("progs/rseq_section.c")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        assert target.stdout is not None
        first = target.stdout.readline()
        if first == "no rseq\n":
            pytest.skip("glibc registers no rseq area here")
        assert first == f"ready {target.pid}\n", first
        for _ in range(2000):  # (a bound, not a timing: it gets to its read at once)
            fields = procfs.read_stat(target.pid)
            if fields is not None and fields[procfs.STATE] == b"S":
                break
            time.sleep(0.001)
        ready, _, _ = select.select([target.stdout], [], [], 1)
        assert not ready, target.stdout.readline()  # (natively: still in its section)
        tracer = subprocess.run([PYTHON, "-m", "systrace_py", "--attach", str(target.pid),
                                 "-p", str(policy)], env=systrace_env(loop),
                                capture_output=True, text=True, timeout=60)
        assert tracer.returncode == 125, tracer
        assert "is inside an rseq critical section" in tracer.stderr, tracer.stderr
        assert "(try again)" in tracer.stderr, tracer.stderr
        assert procfs.tracers_of(target.pid) == {0}
    finally:
        if target.poll() is None:
            target.kill()
            target.wait(5)


def test_signals_queued_while_the_probe_runs_arrive_as_sent(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Signals that come while the probe runs stay queued in the kernel (the probe runs
    with every signal blocked but SIGTRAP and the faults', PTRACE_SETSIGMASK, its own mask
    put back before it runs its own code) and are delivered as natively -- each queued
    SIGRTMIN once, to the thread it was sent to, with its sender, si_code (SI_QUEUE) and
    value -- never taken at a delivery stop and sent again by the tracer (which loses the
    siginfo, merges queued RT signals and makes a thread-directed signal process-directed).
    Signals are queued from before the attach until 50 more have arrived after it.  (Native
    control: the same spray, every value once as sent.)"""
    program = build("progs/sig_queued.c")
    spray = build("progs/sig_spray.c")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')

    def run(attached: bool) -> tuple[list[str], int, int, int]:
        target = subprocess.Popen([str(program)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            assert target.stdout is not None
            _, pid, tid = target.stdout.readline().split()
            sender = subprocess.Popen([str(spray), pid, tid], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            tracer = None
            if attached:
                tracer = subprocess.Popen([PYTHON, "-m", "systrace_py", "--attach", pid,
                                           "-p", str(policy)], env=systrace_env(loop),
                                          stderr=subprocess.PIPE, text=True)
                assert tracer.stderr is not None
                ready, _, _ = select.select([tracer.stderr], [], [], 60)
                assert ready, "systrace said nothing in 60 s"
                said = tracer.stderr.readline()
                assert said == f"systrace: Process {pid} attached\n", said
            seen = [target.stdout.readline() for _ in range(50)]  # (the spray goes on)
            sent, _ = sender.communicate("", timeout=60)  # (its stdin ends: it stops)
            assert sender.returncode == 0
            assert target.stdin is not None
            target.stdin.close()  # (it ends: the rest of its lines, past what is buffered)
            out = "".join(seen) + target.stdout.read()
            assert target.wait(timeout=60) == 0, tracer and tracer.communicate(timeout=60)
            if tracer is not None:
                _, rest = tracer.communicate(timeout=60)
                assert tracer.returncode == 0, rest
            return out.splitlines(), sender.pid, int(tid), int(sent)
        finally:
            if target.poll() is None:
                target.kill()
                target.wait(5)

    for attached in (False, True):
        lines, sender, tid, sent = run(attached)
        assert sent > 0
        expected = [f"sig {signal.SIGRTMIN} from {sender} code -1 value {value} on {tid}"
                    for value in range(1, sent + 1)]
        assert sorted(lines) == sorted(expected), (attached, lines)


def test_a_probe_that_faults_leaves_the_thread_its_fault_handler(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """The probe's code, written where a thread spins (a `jmp .` at the end of the last
    executable page), faults when it is fetched: a SIGSEGV the kernel forces, which resets
    the action of a signal the task blocks to SIG_DFL for good.  The probe blocks every
    signal but those (and SIGTRAP), so the thread keeps its own SIGSEGV handler; the attach
    is refused ("try again") and the process goes on as natively, its spinning thread
    alive.  (Native control: the same run unattached says the same.)"""
    program = build("progs/sig_fault_kept.c")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')

    def run(attached: bool) -> str:
        target = subprocess.Popen([str(program)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            assert target.stdout is not None
            assert target.stdout.readline() == f"ready {target.pid}\n"
            if attached:
                tracer = subprocess.run([PYTHON, "-m", "systrace_py", "--attach",
                                         str(target.pid), "-p", str(policy)],
                                        env=systrace_env(loop), capture_output=True,
                                        text=True, timeout=60)
                assert tracer.returncode == 125, tracer
                assert "cannot run a call of the tracer's" in tracer.stderr, tracer.stderr
                assert procfs.tracers_of(target.pid) == {0}
            out, _ = target.communicate("", timeout=60)
            assert target.returncode == 0, out
            return out
        finally:
            if target.poll() is None:
                target.kill()
                target.wait(5)

    assert run(False) == "handler kept\nspinner alive\n"
    assert run(True) == "handler kept\nspinner alive\n"
