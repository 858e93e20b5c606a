"""Review 8: `systrace --attach` to a program under a seccomp filter of its own.  The filter
judges the mmap the tracer runs in a held call's place to map its scratch area, as red team
13 found for an image exec'd under such a filter (test_escape_own_filter.py's strict xfail):
a filter that kills an mmap with MAP_FIXED_NOREPLACE killed the attached program at its
first held open (SIGSYS), where natively the open works.  Now that mmap is made apart,
with the task's filters suspended (Tracer._map_scratch_suspended, as for a spawned image
under its own filter).  (An
attached process has no filter of ours: the native loop never serves it, one run covers
both loops.)"""

from __future__ import annotations

import subprocess

import pytest
from escape_lib import Scene, attached_run, secd_never

pytestmark = pytest.mark.both_loops

#: a guard against a hang, not a measure
HANG = 60


def test_an_attached_program_with_a_filter_of_its_own_is_not_killed_by_the_scratch_mmap(
        build, tmp_path):
    program = build("escape/own_filter_attach.c")
    s = Scene.make(tmp_path)
    native = subprocess.run([str(program), str(s.decoy)], capture_output=True, text=True,
                            timeout=HANG)
    if native.stdout.startswith("SKIPPED"):
        pytest.skip(native.stdout)
    assert native.stdout == "open: ok\ndone\n", native
    run = attached_run([program, s.decoy], secd_never(s), scene=s, timeout=HANG)
    assert "attached" in run.tracer.stderr, run.tracer.stderr
    assert (run.out, run.returncode) == ("open: ok\ndone\n", 0), \
        (run.out, run.returncode, run.tracer.stderr)
