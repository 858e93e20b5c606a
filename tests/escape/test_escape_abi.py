"""Class 3: other ways into the kernel.  The 32-bit ``int $0x80`` entry of a 64-bit process
(i386 numbers: 5 is open there, fstat on x86_64; 11 is execve there, munmap here), the x32
bit, any non-native audit arch: refused (ENOSYS by the filter's bad-arch action, and by the
tracer's arch check at every stop), never read with the x86_64 table."""

from __future__ import annotations

import shutil

from escape_lib import (
    Scene,
    attached_run,
    attack,
    controlled_and_blocked,
    never,
    policy,
    read_never,
    require_real,
)


def test_int80_open_of_the_secret(build, tmp_path):
    controlled_and_blocked(tmp_path, build("escape/abi_entry.c"),
                           lambda s: ["int80_open", s.secret], lambda s: read_never(s.secret))


def test_int80_open_of_the_secret_in_a_tree(build, tmp_path):
    """From sh, so the native loop serves it held (a tree of two tasks): that loop reads a
    seccomp stop's call from its registers and relies on the filters' ENOSYS, which outranks
    any TRACE, for every other ABI (_cloop.c ``struct call``)."""
    program = build("escape/abi_entry.c")
    controlled_and_blocked(tmp_path, "sh",
                           lambda s: ["-c", '"$@"; exit $?', "sh", program, "int80_open",
                                      s.secret],
                           lambda s: read_never(s.secret))


def test_int80_execve_of_a_forbidden_program(build, tmp_path):
    payload = build("escape/payload.c")
    _, s = controlled_and_blocked(
        tmp_path, build("escape/abi_entry.c"),
        lambda s: ["int80_exec", s.secret, s.root / "payload"],
        lambda s: policy(never("exec", path=str(s.root / "payload"))),
        setup=lambda s: shutil.copy(payload, s.root / "payload"))
    assert not s.marker.exists()


def test_x32_open_of_the_secret(build, tmp_path):
    """Skipped where the kernel has no x32 ABI (the control run gets ENOSYS)."""
    controlled_and_blocked(tmp_path, build("escape/abi_entry.c"),
                           lambda s: ["x32_open", s.secret], lambda s: read_never(s.secret))


def test_int80_open_under_attach_without_a_filter(build, tmp_path):
    """--attach loads no seccomp filter: every call stops at entry and the tracer must check
    the arch itself."""
    program = build("escape/abi_entry.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, "int80_open", s.secret, policy_text=None, scene=s))
    run = attached_run([program, "int80_open", s.secret], read_never(s.secret), scene=s,
                       tracer_first=True, timeout=30)
    assert "ESCAPED" not in run.out, run.out + run.tracer.stderr
    assert "BLOCKED: int $0x80 open: ENOSYS" in run.out, run.out + run.tracer.stderr
