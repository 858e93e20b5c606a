"""Tracee memory: the /proc/PID/mem descriptors are a bounded cache, so a tree of thousands of
processes cannot exhaust the tracer's descriptors (every read would then fail, and with it
every decision)."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator

import pytest

from systrace_py.engine import memory
from systrace_py.engine.memory import TraceeMemory


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(["sleep", "30"]) for _ in range(6)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def first_mapping(pid: int) -> tuple[int, bytes]:
    """The start of the program's first mapping and its first bytes (an ELF header)."""
    with open(f"/proc/{pid}/maps") as maps:
        start = int(maps.readline().split("-")[0], 16)
    return start, b"\x7fELF"


def test_descriptors_stay_under_the_limit_and_reads_still_work(sleepers, monkeypatch):
    monkeypatch.setattr(memory, "OPEN_LIMIT", 2)
    memories = [TraceeMemory(p.pid) for p in sleepers]
    try:
        for _ in range(3):  # every process read again after its descriptor was closed
            for mem, proc in zip(memories, sleepers, strict=True):
                address, magic = first_mapping(proc.pid)
                assert mem.read_exact(address, 4) == magic
                assert memory.open_descriptors() <= 2
    finally:
        for mem in memories:
            mem.close()
    assert memory.open_descriptors() == 0


def test_a_descriptor_limit_below_the_cache_makes_room_instead_of_failing(sleepers):
    memories = [TraceeMemory(p.pid) for p in sleepers]
    starts = [first_mapping(p.pid) for p in sleepers]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # room for what is open now and two more: the third process must evict the first.  The
    # limit is on descriptor numbers, so holes left by earlier tests are filled first.
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    fillers = []
    while (fd := os.open("/dev/null", os.O_RDONLY)) < highest:
        fillers.append(fd)
    fillers.append(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 3, hard))
    try:
        for mem, (address, magic) in zip(memories, starts, strict=True):
            assert mem.read_exact(address, 4) == magic
        assert memory.open_descriptors() < len(memories)  # some were closed to make room
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for mem in memories:
            mem.close()
        for fd in fillers:
            os.close(fd)
