"""Red team 75: an outsider at the text the tracer reads from the kernel whose content the
program chooses (docs/security.md, "Red team 75")."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, attack, secd_never

#: where the scratch area goes (engine/scratch.py BASE): the program's text is put there
SCRATCH_BASE = "0x100000000000"


def test_a_program_mapped_at_the_scratch_area_from_a_name_not_in_utf8_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """map_name.c, linked at the scratch area's address and run from a directory named with
    the byte 0xff: the exec-time stub's mmap fails and stops at its int3, where the tracer
    reads /proc/PID/maps, whose lines name the program's file.  On main the native loop's
    run (the run's own command's stub is Python's) decoded that map as strict UTF-8 and
    ended as an internal error, the tree killed; now the map is read as bytes, by lines
    ending at a newline alone (as _cloop.c reads it), and the program runs as natively.
    Control: natively it prints RAN and exits 0."""
    built = build("escape/map_name.c", "-static", "-nostdlib", "-no-pie", "-mcmodel=large",
                  f"-Wl,-Ttext-segment={SCRATCH_BASE}")
    where = Path(os.fsdecode(bytes(tmp_path) + b"/d\xff"))
    where.mkdir()
    program = where / "map_name"
    shutil.copy(built, program)
    native = attack(program, policy_text=None, scene=None)
    assert (native.returncode, native.stdout) == (0, "RAN\n"), native
    scene = Scene.make(tmp_path)
    traced = attack(program, policy_text=secd_never(scene), scene=scene, env=loop)
    assert "internal error" not in traced.stderr, traced
    assert (traced.returncode, traced.stdout) == (0, "RAN\n"), traced


def test_the_same_mounts_stacked_in_another_order_are_another_tree(tmp_path: Path) -> None:
    """decode._mounts, which _same_tree compares (whether a task in a mount namespace of its
    own still sees the tracer's tree: DecodedCall.loads_in_own_view), left out each mount's
    parent: two namespaces binding the same directories A on x and B on x/y, one in that
    order and one B first with A over it (hiding B), compared equal on main while x/y/f is
    B's file in one and A's in the other.  Now each mount carries its parent's mount point.
    Control: the two namespaces read x/y/f differently."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare")
    x, a, b = tmp_path / "x", tmp_path / "A", tmp_path / "B"
    for d in (x / "y", a / "y", b):
        d.mkdir(parents=True)
    (a / "y" / "f").write_text("A\n")
    (b / "f").write_text("B\n")
    seen, tables = _seen_in_namespaces([[(a, x), (b, x / "y")], [(b, x / "y"), (a, x)]],
                                       x / "y" / "f")
    assert seen == ["B\n", "A\n"], seen
    assert tables[0] is not None and tables[1] is not None
    assert tables[0] != tables[1]


def _seen_in_namespaces(orders: list[list[tuple[Path, Path]]], shown: Path
                        ) -> tuple[list[str], list[list[tuple[bytes, ...]] | None]]:
    """For each order of binds, a private mount namespace that makes them in it: what it
    reads at ``shown``, and its mounts as decode._mounts tells them."""
    from systrace_py.engine.decode import _mounts

    held = []
    try:
        for order in orders:
            binds = " && ".join(f"mount --bind {shlex.quote(str(src))} {shlex.quote(str(dst))}"
                                for src, dst in order)
            held.append(subprocess.Popen(
                ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 f"{binds} && cat {shlex.quote(str(shown))} && exec cat"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        seen = [p.stdout.readline() if p.stdout is not None else "" for p in held]
        return seen, [_mounts(f"/proc/{p.pid}/mountinfo") for p in held]
    finally:
        for p in held:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=30)


def test_a_mount_on_another_of_a_stack_is_another_tree(tmp_path: Path) -> None:
    """Review 49: red team 75's parent was told by its mount point only, and two mounts
    stacked on one point share it.  A and B on x (B over A), then C on x/y -- on B, shown --,
    against A on x, C on x/y -- on A --, then B over A, hiding C: the same lines, each
    mount's parent at the same point, compared equal on main while x/y/f is C's file in one
    and B's in the other (so with the same directory bound twice, A and A).  Now each mount
    carries its parent's whole line, and that one's parent's, down to the namespace's root.
    Control: the namespaces read x/y/f differently."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare")
    x, a, b, c = tmp_path / "x", tmp_path / "A", tmp_path / "B", tmp_path / "C"
    for d in (x / "y", a / "y", b / "y", c):
        d.mkdir(parents=True)
    for d, text in ((a / "y", "A\n"), (b / "y", "B\n"), (c, "C\n")):
        (d / "f").write_text(text)
    y = x / "y"
    seen, tables = _seen_in_namespaces([[(a, x), (b, x), (c, y)], [(a, x), (c, y), (b, x)],
                                        [(a, x), (a, x), (c, y)], [(a, x), (c, y), (a, x)]],
                                       y / "f")
    assert seen == ["C\n", "B\n", "C\n", "A\n"], seen
    assert None not in tables
    assert tables[0] != tables[1]
    assert tables[2] != tables[3]
