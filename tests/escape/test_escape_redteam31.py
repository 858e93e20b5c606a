"""Red team 31: an outsider at the engine's model of the kernel where an argument is not a path
as the program spelled it -- here, a NULL pointer, which the kernel reads like any other
address (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy refuses (docs/security.md, "Red team 31").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    attack,
    controlled_and_blocked,
    never,
    policy,
)

NOBODY = "65534"
CAP_SYS_RESOURCE = 24


def _fs_never(s: Scene) -> str:
    """Everything permitted but reading or writing the secret's directory."""
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))


def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("page zero is mapped only with CAP_SYS_RAWIO (vm.mmap_min_addr)")


@pytest.mark.parametrize("mode", ["open", "open2", "race", "mkdir", "exec"])
def test_a_null_path_is_read_where_the_kernel_reads_it(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """A program that maps page zero (root) and writes a path there: open(NULL), mkdir(NULL)
    and execve(NULL) act on that path, as natively -- getname() reads address 0 as any
    other.  The engine took every NULL path for the descriptor a NULL means to utimensat
    (the dirfd: here the cwd) and permitted the call, which the kernel then ran on the path
    at address 0: the secret read, a directory made in the refused one.  The exec was caught
    after it ran (the exec event checks what the kernel ran: the child killed); now it is
    refused at the call.  ``race``: a "" read at address 0 with AT_EMPTY_PATH (the
    descriptor's own file) is held like any other "" -- faccessat2, a metadata read, is not
    frozen, and a thread writing the secret's path at address 0 after the check had the
    kernel look at the secret (it escaped with the decoding fixed and the hold not yet).
    Failed before the fix on both loops (all five modes)."""
    _root_only()
    program = build("escape/null_page.c")
    payload = build("escape/payload.c")

    def setup(s: Scene) -> None:
        shutil.copy(payload, s.secd / "payload")
        s.secret.chmod(0o755)  # (race: the program's own file is not executable)

    def args(s: Scene) -> list[object]:
        return [mode, {"open": s.secret, "open2": s.secret, "race": s.secret, "mkdir": s.secd,
                       "exec": s.secd / "payload"}[mode]]

    traced, scene = controlled_and_blocked(tmp_path, program, args, _fs_never, setup=setup,
                                           env=loop)
    assert not (scene.secd / "made-by-null").exists()
    assert not scene.marker.exists()
    if mode == "exec":
        # refused at the call (execve returned: exit 1), not caught after it ran (the exec
        # event's check killed the child that exec'd what was not checked: SIGKILL, 0x9)
        assert "child status 0x100" in traced.detail, traced


def test_a_null_core_limit_is_read_where_the_kernel_reads_it(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """setrlimit(RLIMIT_CORE, NULL) reads its struct from address 0 (prlimit64's NULL is no
    change; setrlimit has no such case): with page zero saying unlimited, the guard that keeps
    traced programs from dumping cores took the NULL for "nothing to check" and the kernel
    raised the limit -- a core file written where no rule looks.  Failed before the fix on
    both loops."""
    _root_only()
    with open("/proc/self/status") as f:
        caps = int(next(line for line in f if line.startswith("CapEff:")).split()[1], 16)
    if not caps & 1 << CAP_SYS_RESOURCE:
        pytest.skip("without CAP_SYS_RESOURCE the kernel itself refuses a hard RLIMIT_CORE "
                    "above the 1 a traced program starts with")
    with open("/proc/sys/kernel/core_pattern") as f:
        if f.read().strip() != "core":
            pytest.skip("core_pattern is not \"core\" (cores are not written to the cwd)")
    program = build("escape/null_page.c")
    _, scene = controlled_and_blocked(tmp_path, program, lambda s: ["core", s.work],
                                      lambda s: policy(), env=loop)
    assert not (scene.work / "core").exists()


def test_page_zero_is_roots_alone(build: Callable[..., Path], world_tmp: Path,
                                  loop: dict[str, str]) -> None:
    """As nobody the attack has no page zero: vm.mmap_min_addr keeps it from any task without
    CAP_SYS_RAWIO in the initial user namespace (a user namespace of one's own does not give
    it), natively and traced alike -- the class is root's (or CAP_SYS_RAWIO's)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("the test drops to nobody as root, with setpriv")
    with open("/proc/sys/vm/mmap_min_addr") as f:
        if int(f.read()) == 0:
            pytest.skip("vm.mmap_min_addr is 0: anyone may map page zero here")
    program = Path(shutil.copy(build("escape/null_page.c"), world_tmp / "null_page"))
    program.chmod(0o755)
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    native_scene, traced_scene = Scene.make(world_tmp, "native"), Scene.make(world_tmp, "traced")
    native = attack(drop[0], *drop[1:], program, "open", native_scene.secret, policy_text=None,
                    scene=native_scene)
    traced = attack(program, "open", traced_scene.secret, policy_text=_fs_never(traced_scene),
                    scene=traced_scene, env=loop, tracer=[*drop, *SYSTRACE])
    for out in (native, traced):
        assert out.stdout.startswith("SKIPPED: mmap of page zero"), out
