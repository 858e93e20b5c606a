"""Red team 75: an outsider at the text the tracer reads from the kernel whose content the
program chooses (docs/security.md, "Red team 75")."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
