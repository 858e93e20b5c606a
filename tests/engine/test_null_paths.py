"""A NULL path, against the kernel (red team 31, docs/security.md).

The kernel reads a NULL path pointer as any other address -- EFAULT where nothing is mapped, the
string at address 0 where a program with CAP_SYS_RAWIO mapped page zero -- except in the few
calls that take it for no path (their dirfd, or nothing): the syscall table's ``Path.null``.
``tests/progs/null_paths.c`` makes every path call with a NULL path, natively and traced, with
page zero unmapped and with page zero naming a missing file a rule refuses.  The kernel is the
oracle: a call natively EFAULT with page zero unmapped reads it, and traced with page zero
mapped must meet the rule (its errno); every other call must answer as natively.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import results

RULE_ERRNO = "EDOM"  # no call gives it by itself
#: refused by the engine before any NULL matters: pivot_root of the tracer's own mount
#: namespace, fspick of a path the engine cannot read the mount of (not this class's)
ENGINE_FIRST = {"pivot_root", "fspick_empty"}


def _policy(root: Path) -> str:
    return f"""
        default = "permit"

        [[rule]]
        calls = ["fsread", "fswrite", "namespace"]
        path = "{root}/deny/**"
        action = "never"
        errno = "{RULE_ERRNO}"
        missing = "errno"

        [[rule]]
        calls = ["name_to_handle_at", "fanotify_init", "fspick", "pivot_root"]
        action = "permit"
    """


def _scene(base: Path) -> Path:
    root = base / "scene"
    for sub in ("deny", "work"):
        (root / sub).mkdir(parents=True)
    (root / "work" / "f").write_text("")
    return root


@pytest.mark.parametrize("tasks", ["one_task", "threads"])
def test_a_null_path_is_read_where_the_kernel_reads_it(traced, tmp_path, build, loop, tasks):
    """Page zero naming DIR/deny/none/x: each call that reads a NULL path meets the rule on
    that name (EDOM), each that takes it for no path answers as natively; with page zero
    unmapped every call answers as natively (EFAULT).  Before the fix every call reading a
    NULL was decided on its dirfd (the cwd, permitted) and ran on page zero's name: ENOENT,
    not the rule's errno -- on both loops, one task and two."""
    program = build("progs/null_paths.c")
    root = _scene(tmp_path)
    extra = [tasks] if tasks == "threads" else []

    def native(mode: str) -> dict[str, str]:
        out = subprocess.run([str(program), str(root), mode, *extra], capture_output=True,
                             text=True, timeout=60)
        assert out.stdout.rstrip().endswith("done"), out.stdout + out.stderr
        return results(out.stdout)

    def under(mode: str) -> dict[str, str]:
        run = traced.run(_policy(root), str(program), str(root), mode, *extra,
                         env=loop)
        assert run.stdout.rstrip().endswith("done"), run.stdout + run.stderr
        return results(run.stdout)

    unmapped = native("unmapped")
    reads = {call for call, answer in unmapped.items() if answer == "EFAULT"}
    assert "open" in reads and "utimensat_fd" not in reads, unmapped
    traced_unmapped = under("unmapped")
    assert {c: a for c, a in traced_unmapped.items() if c not in ENGINE_FIRST} == \
        {c: a for c, a in unmapped.items() if c not in ENGINE_FIRST}
    if os.geteuid() != 0:
        pytest.skip("page zero is mapped only with CAP_SYS_RAWIO")
    mapped = native("mapped")
    traced_mapped = under("mapped")
    wrong = {}
    for call, answer in mapped.items():
        if call in ENGINE_FIRST:
            continue
        # (name_to_handle_at is in no alias: no path rule looks at it)
        want = RULE_ERRNO if call in reads and call != "name_to_handle_at_empty" else answer
        if traced_mapped.get(call) != want:
            wrong[call] = (traced_mapped.get(call), want)
    assert not wrong, wrong
