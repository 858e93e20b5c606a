"""Red team 9: the kernel's page reclaim as a writer of a checked argument (class 2).

A tree of one task that shares no page has its calls run on its own buffers: nothing can
change them between the check and the kernel's read (Tracer._must_hold).  But two kinds of
private anonymous page change by themselves: a page given back with madvise(MADV_FREE) and a
page of a MAP_DROPPABLE mapping are dropped by the kernel's reclaim whenever memory is short
-- read again, they are zeros.  race_reclaim.c lays WORK/ab + "c" across a page boundary,
"c\\0" alone in such a page: checked, WORK/abc (missing, permitted); read by the kernel after
a reclaim, WORK/ab, a symlink to the secret.  The memory pressure comes from outside the tree,
as on any busy machine (here: an outsider writing the memory cgroup's force_empty as fast as
it can).  Escaped in both loops within a few opens; now the filter stops madvise(MADV_FREE)
(the kernel may then write any page: held everywhere, as after io_setup) -- and
process_madvise(MADV_FREE) on the caller's own pidfd (6.15 takes any advice there) where a
rule permits that unsafe call -- and a MAP_DROPPABLE mmap (its pages, which /proc/PID/smaps
marks "dp", count as shared).  Since review 52 process_madvise's MADV_FREE is refused
(EPERM) outright: on the scratch area it dropped held copies a userfaultfd then refilled.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    assert_blocked,
    attack,
    native_control,
    never,
    outsider,
    permit,
    policy,
)

ITERATIONS, SECONDS = "1000000", "3"
#: rules a mode needs (process_madvise is an unsafe call: refused unless a rule names it)
LIFTED = {"pfree": (permit("process_madvise"),)}

pytestmark = pytest.mark.slow


@dataclass
class Pressure:
    """Where an outsider makes the kernel reclaim: the file it writes, what, and the cgroup
    file the attack joins first ("-": the attack is in that cgroup already)."""

    reclaim: Path
    amount: str
    procs: str


@pytest.fixture
def reclaimed() -> Iterator[Pressure]:
    """cgroup v1: a memory cgroup of its own below ours, reclaimed by memory.force_empty;
    cgroup v2: ours, reclaimed by memory.reclaim."""
    if os.geteuid() != 0:
        pytest.skip("needs root to reclaim a memory cgroup")
    with open("/proc/self/cgroup", encoding="utf-8") as lines:
        mine = [line.rstrip("\n").split(":", 2) for line in lines]
    v1 = [path for _, controllers, path in mine if "memory" in controllers.split(",")]
    if v1:
        parent = Path("/sys/fs/cgroup/memory") / v1[0].lstrip("/")
        if not (parent / "memory.force_empty").exists():
            pytest.skip("a cgroup v1 memory controller without force_empty")
        group = parent / f"escape-reclaim-{os.getpid()}-{time.monotonic_ns()}"
        group.mkdir()
        try:
            yield Pressure(group / "memory.force_empty", "0", str(group / "cgroup.procs"))
        finally:
            for _ in range(50):  # (the attack's exit is reaped a moment after the run)
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        return
    v2 = [path for hierarchy, _, path in mine if hierarchy == "0"]
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        reclaim = root / v2[0].lstrip("/") / "memory.reclaim" if v2 else None
        if reclaim is not None and reclaim.exists():
            yield Pressure(reclaim, "64M", "-")
            return
    pytest.skip("no memory cgroup to reclaim here")


def scene(tmp_path: Path, name: str) -> Scene:
    s = Scene.make(tmp_path, name)
    (s.work / "ab").symlink_to(s.secret)  # WORK/abc does not exist
    return s


@pytest.mark.parametrize("mode", ["free", "pfree", "drop"])
def test_a_page_the_kernel_reclaims_between_check_and_use(build, tmp_path, reclaimed, loop,
                                                           mode):
    program = build("escape/race_reclaim.c")
    with outsider([program, "reclaim", reclaimed.reclaim, reclaimed.amount]) as pressure:
        assert pressure.stdout is not None
        assert pressure.stdout.readline().startswith("reclaiming")
        native_control(lambda attempt: attack(
            program, mode, (s := scene(tmp_path, f"control{attempt}")).work, reclaimed.procs,
            ITERATIONS, SECONDS, policy_text=None, scene=s))
        s = scene(tmp_path, "traced")
        traced = attack(program, mode, s.work, reclaimed.procs, ITERATIONS, SECONDS,
                        policy_text=policy(*LIFTED.get(mode, ()),
                                           never("fsread", path=f"{s.secd}/**")),
                        scene=s, env=loop)
    assert_blocked(traced)
    if mode == "pfree":
        # (review 52: process_madvise takes only the advice that keeps the pages' contents --
        # its MADV_FREE, on the area, was a zapper of held copies a userfaultfd refilled)
        assert "the advice was refused: EPERM" in traced.detail, traced
        return
    opened = re.search(r"ENOENT: (\d+);", traced.detail)
    assert opened is not None and int(opened[1]) > 0, traced  # the checked path was opened
