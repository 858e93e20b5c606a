"""A held call gives the program back its own registers (issue 11; red team 36's parity
finding), by a return trampoline in its scratch slot (scratch.trampoline), at no extra stop.

A call the engine holds runs on copies in the scratch area: its argument registers point
there, an open becomes openat2 (its number, ``rdx`` the open_how, ``r10`` 24).  The x86-64
ABI keeps every register but rax, rcx and r11, and compiled code relies on it: an inline
``syscall`` lists its argument registers as inputs only.  ``tests/progs/held_regs.c`` makes
held calls (a second thread runs) by the syscall instruction and reads all six argument
registers back (rcx and r11 too: the return address and the flags); an O_CREAT open
interrupted by a signal is retried by the same instruction with the registers it finds (mode
0640 in r10), and its handler's frame is read; a blocking open interrupted by a signal whose
handler has SA_RESTART is restarted by the kernel (the handler's frame: its own registers and
rip at its syscall instruction); both handlers make held calls of their own; a raw clone3
thread reads rdi and rsi as it starts.  Traced, the
output must be the native one, on both loops, with the calls stopped and permitted by the
table's default and by a path rule.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_systrace, systrace_env

POLICIES = {
    "default": """default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "{secd}/**"
action = "never"
""",
    "rule": """default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "{work}/**"
action = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "{secd}/**"
action = "never"
""",
}


def _scene(root: Path) -> tuple[Path, Path]:
    work, secd = root / "work", root / "secd"
    work.mkdir(parents=True)
    secd.mkdir()
    (work / "file").write_text("data\n")
    (work / "link").symlink_to("file")
    os.mkfifo(work / "fifo")
    os.mkfifo(work / "fifo2")
    secret = secd / "secret"
    secret.write_text("secret\n")
    return work, secret


@pytest.mark.parametrize("policy", list(POLICIES))
def test_held_calls_leave_the_programs_registers_as_natively(
        build, tmp_path: Path, loop: dict[str, str], policy: str) -> None:
    """Failed on main, both loops, both policies: after each held call rsi (and rdx, r10,
    rdi for a dirfd call) held the tracer's values, the retry ran openat on the scratch
    copy with flags 0 and mode 030 (ENOENT), the handlers saw openat2's registers, the
    clone3 child and parent the copy's rdi."""
    program = build("progs/held_regs.c")
    work, secret = _scene(tmp_path / "native")
    native = subprocess.run([str(program), str(work), str(secret)], capture_output=True,
                            text=True, timeout=60)
    expected = native.stdout.splitlines()
    assert "retry: ok, a regular file, mode 640; registers own" in expected, native
    assert "handler (ran): registers own" in expected, native
    assert all(line.endswith("registers own") or line.endswith("own; rip at the call")
               or line == "clone3-child: rdi rsi own" for line in expected), native
    assert len(expected) == 15, native

    work, secret = _scene(tmp_path / "traced")
    text = POLICIES[policy].format(work=work, secd=secret.parent)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(text)
    traced = run_systrace(["-p", str(policy_file), "--", str(program), str(work),
                           str(secret)], env=loop, timeout=120)
    # (the secret is refused, with the rule's errno; its registers are the program's too)
    expected[expected.index("openat-secret: ok; registers own")] = \
        "openat-secret: EPERM; registers own"
    assert traced.stdout.splitlines() == expected, traced


OWN_FILTER_LINES = ["openat: ok; registers own", "openat-dirfd: ok; registers own",
                    "newfstatat: ok; registers own", "mkdirat: ok; registers own",
                    "unlinkat: ok; registers own", "readlinkat: ok; registers own",
                    "openat-secret: ok; registers own", "clone3-child: rdi rsi own",
                    "clone3-parent: registers own"]


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("kind", ["allow", "check"])
def test_held_calls_under_the_programs_own_filter_leave_its_registers_as_natively(
        build, tmp_path: Path, loop: dict[str, str], policy: str, kind: str) -> None:
    """Under a seccomp filter of the program's own the kernel runs that filter again on the
    call the tracer changed, so a held call gets no return trampoline (its
    seccomp_data.instruction_pointer must stay the program's): its registers are put back
    at its exit stop instead (Tracer._put_own_back).  held_regs.c installs the filter first
    -- "allow" allows all; "check" refuses with EXDEV a call made from the scratch area's
    addresses and a mkdirat whose mode is not the program's -- so the lines are the native
    ones only if the filter saw what it saw before.  (Tasks under a filter of their own are
    the Python loop's in both configurations: the native loop does not arm them.)  Failed on
    main, both loops, both policies, both filters: rsi (and rdi for a dirfd call) held the
    copies' values after each held call."""
    program = build("progs/held_regs.c")
    work, secret = _scene(tmp_path / "native")
    native = subprocess.run([str(program), str(work), str(secret), kind], capture_output=True,
                            text=True, timeout=60)
    expected = native.stdout.splitlines()
    assert expected == OWN_FILTER_LINES, native

    work, secret = _scene(tmp_path / "traced")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICIES[policy].format(work=work, secd=secret.parent))
    traced = run_systrace(["-p", str(policy_file), "--", str(program), str(work),
                           str(secret), kind], env=loop, timeout=120)
    expected[expected.index("openat-secret: ok; registers own")] = \
        "openat-secret: EPERM; registers own"
    assert traced.stdout.splitlines() == expected, traced


def test_a_call_made_again_from_the_trampolines_syscall_is_the_programs_own(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A restart the kernel makes of a held call with no signal-delivery-stop (a cgroup
    freeze's) rewinds to the `syscall` before the trampoline and makes the call again from
    the area, with the copies.  The tracer takes that entry for the program's own call:
    skipped, made again from the program's own instruction with its own registers
    (scratch.put_back, entry), and decided there.  restart_area.c makes that entry itself,
    with getpid's number and zeroed registers; the openat is made again, its registers its
    own.  (On main there is no trampoline: "no area".)"""
    program = build("progs/restart_area.c")
    native = subprocess.run([str(program), "/etc/hostname"], capture_output=True, text=True,
                            timeout=60)
    assert native.stdout == "no area\n", native
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICIES["default"].format(secd=tmp_path / "secd"))
    traced = run_systrace(["-p", str(policy_file), "--", str(program), "/etc/hostname"],
                          env=loop, timeout=120)
    assert traced.stdout == "remade: ok; passes 2; registers own\n", traced


def _blocked_in_fifo_open(pid: int) -> bool:
    try:
        wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text()
    except OSError:
        return False
    return "fifo" in wchan or "partner" in wchan


@pytest.mark.parametrize("mode", ["", "filter", "filter-restart"])
def test_a_signal_from_outside_at_a_blocked_held_call_finds_the_programs_registers(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """A held open blocked in a FIFO (a second thread sleeps: nothing else stops, so the
    native loop serves the signal's delivery stop itself) is interrupted by SIGUSR1 sent from
    outside: the task stops on its way to its trampoline, where the registers are put back
    (_cloop.c pass_signal, Tracer._eintr_call) -- its handler sees its own frame and makes a
    held call of its own, which writes the slot again, and the open, retried on EINTR with
    the registers it finds, opens the FIFO.  Without the put-back at that stop (a mutant of
    the native loop's) the handler's call overwrote the trampoline still to run and the
    program hung; on main the registers were the tracer's.

    ``filter``: the program first loads a seccomp filter of its own (no trampoline then: the
    open, run with the tree stopped, takes its exit stop, where its registers go back --
    before the delivery stop, so the handler's frame is its own); ``filter-restart``: its
    handler has SA_RESTART, and the kernel makes the open again from the registers it finds
    (the program's own call, decided anew at its seccomp stop).  Both failed on main (the
    open's registers, and the frame, the copies'), both loops."""
    import ctypes
    import time

    program = build("progs/held_signal.c")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICIES["default"].format(secd=tmp_path / "secd"))
    outputs = []
    for traced in (False, True):
        fifo = tmp_path / f"fifo{int(traced)}"
        os.mkfifo(fifo)
        command = [str(program), str(fifo), "/etc/hostname", *([mode] if mode else [])]
        if traced:
            command = [sys.executable, "-m", "systrace_py", "-p", str(policy_file), "--",
                       *command]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                env={**systrace_env(), **loop})
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "blocking\n"
            pid = proc.pid
            for _ in range(400):
                if not traced:
                    break
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
                if children.split():
                    pid = int(children.split()[0])
                    break
                time.sleep(0.05)
            for _ in range(400):
                if _blocked_in_fifo_open(pid):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the open never blocked")
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.syscall(234, pid, pid, signal.SIGUSR1) == 0  # tgkill
            assert proc.stdout.readline() == "handled\n"
            for _ in range(400):  # (the open made again)
                if _blocked_in_fifo_open(pid):
                    break
                time.sleep(0.05)
            for _ in range(600):  # (the writer, once the open is made again: its reader)
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                    break
                except OSError as exc:
                    if exc.errno != errno.ENXIO:
                        raise
                    time.sleep(0.05)
            outputs.append(proc.communicate(timeout=60)[0])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    native, traced_out = outputs
    tries = 1 if mode == "filter-restart" else 2
    assert native == (f"open: ok; tries {tries}; registers own\n"
                      "handler: frame own; in-handler open ok, registers own\n"), native
    assert traced_out == native


@pytest.mark.parametrize("kind", ["filter", "nofilter"])
def test_threads_meeting_at_a_fifo_under_the_programs_own_filter_meet(
        build, tmp_path: Path, loop: dict[str, str], kind: str) -> None:
    """fifo_own_filter.c: two threads open one FIFO by its path, the reader first (it blocks
    until the writer comes).  Under a filter of the program's own a held open runs with the
    tree frozen, so the reader's open waited for ever for the writer, stopped at its own
    open by that freeze (regs27's finding; on main: the run timed out, both loops).  Now the
    freeze ends once the open sleeps for its other end (wait_for_partner: its path is looked
    up for the last time; Tracer._slept_past_lookup).  Without the filter: as before."""
    program = build("progs/fifo_own_filter.c")
    native_dir = tmp_path / "native"
    native_dir.mkdir()
    native = subprocess.run([str(program), str(native_dir), kind], capture_output=True,
                            text=True, timeout=30)
    assert (native.returncode, native.stdout) == (0, "read: hello\n"), native
    work = tmp_path / "traced"
    work.mkdir()
    secd = tmp_path / "secd"
    secd.mkdir()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICIES["rule"].format(work=work, secd=secd))
    traced = run_systrace(["-p", str(policy_file), "--", str(program), str(work), kind],
                          env=loop, timeout=60)
    assert (traced.returncode, traced.stdout) == (0, "read: hello\n"), traced
