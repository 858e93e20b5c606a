"""A held call gives the program back its own registers (issue 11; red team 36's parity
finding).

A call the engine holds runs on copies in the scratch area: its argument registers point
there, an open becomes openat2 (its number, ``rdx`` the open_how, ``r10`` 24).  The x86-64
ABI keeps every register but rax, rcx and r11, and compiled code relies on it: an inline
``syscall`` lists its argument registers as inputs only.  ``tests/progs/held_regs.c`` makes
held calls (a second thread runs) by the syscall instruction and reads all six argument
registers back; an O_CREAT open interrupted by a signal is retried by the same instruction
with the registers it finds (mode 0640 in r10), and its handler's frame is read.  Traced, the
output must be the native one, on both loops, with the calls stopped and permitted by the
table's default and by a path rule.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import run_systrace

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
    secret = secd / "secret"
    secret.write_text("secret\n")
    return work, secret


@pytest.mark.parametrize("policy", list(POLICIES))
def test_held_calls_leave_the_programs_registers_as_natively(
        build, tmp_path: Path, loop: dict[str, str], policy: str) -> None:
    """Failed on main, both loops, both policies: after each held call rsi (and rdx, r10,
    rdi for a dirfd call) held the tracer's values, the retry ran openat on the scratch
    copy with flags 0 and mode 030 (ENOENT), the handler saw openat2's registers."""
    program = build("progs/held_regs.c")
    work, secret = _scene(tmp_path / "native")
    native = subprocess.run([str(program), str(work), str(secret)], capture_output=True,
                            text=True, timeout=60)
    expected = native.stdout.splitlines()
    assert "retry: ok, a regular file, mode 640; registers own" in expected, native
    assert expected[-1] == "handler (ran): registers own", native
    assert all(line.endswith("registers own") for line in expected), native

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


def test_a_handler_between_the_scratch_mmap_and_the_restart_keeps_its_registers(
        build, tmp_path: Path) -> None:
    """A monitor changes a call's flags, and the call maps the scratch area first (an mmap run
    in its place, then the call restarted: its decision replayed).  A signal that comes
    meanwhile runs its handler before the restart, and the handler's own call stops.  Failed
    before review 21: the changed call's own registers were left on the task over that gap,
    so the handler's mkdirat got the open's rdx (0, O_RDONLY) put back at its exit, for its
    mode 0700; and the open, made again from registers holding the monitor's flags, was
    decided anew and "put back" to those (rdx O_RDONLY -> O_RDONLY|O_CLOEXEC)."""
    import ctypes

    import systrace_py

    program = build("progs/replay_regs.c")
    native_dir, traced_dir = tmp_path / "native", tmp_path / "traced"
    for where in (native_dir, traced_dir):
        where.mkdir()
        (where / "file").write_text("data\n")
    native = subprocess.run([str(program), str(native_dir), "native"], capture_output=True,
                            text=True, timeout=60)
    expected = ["handler: ok; registers own", "open: ok; registers own"]
    assert native.stdout.splitlines() == expected, native

    libc = ctypes.CDLL(None, use_errno=True)
    wanted = str(traced_dir / "file")

    def cloexec(ctx: list[int], pid: int, call: Any) -> list[int]:
        if call.path == wanted and not ctx:
            call.set_arg(2, os.O_RDONLY | os.O_CLOEXEC)
            # (to the main thread, stopped here: delivered as the restarted open goes on)
            assert libc.syscall(234, pid, pid, signal.SIGUSR1) == 0  # tgkill
            ctx.append(pid)
        return ctx

    def seen(ctx: list[int], pid: int, call: Any) -> list[int]:
        return ctx

    out = tmp_path / "out"
    with out.open("w") as sink:
        fd = os.dup(1)
        os.dup2(sink.fileno(), 1)
        try:
            sent = systrace_py.monitor([str(program), str(traced_dir)],
                                       {"openat:entry": cloexec, "mkdirat:entry": seen}, [])
        finally:
            os.dup2(fd, 1)
            os.close(fd)
    assert sent, "the open was not seen"
    assert (traced_dir / "made").is_dir()
    assert out.read_text().splitlines() == expected
