"""Pages the kernel's reclaim turns to zeros (red team 9): a MAP_DROPPABLE mapping counts as
shared, found in /proc/PID/smaps ("dp"); such an mmap and madvise(MADV_FREE) (or
process_madvise's) stop."""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest

from systrace_py.engine.seccomp import shares_memory
from systrace_py.engine.tracee import shared_mappings
from systrace_py.kernel import MADV_FREE, MAP_DROPPABLE

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def test_a_droppable_mapping_is_found_in_smaps_only():
    size = 3 * mmap.PAGESIZE
    at = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                   MAP_DROPPABLE | mmap.MAP_ANONYMOUS, -1, 0)
    if at in (None, ctypes.c_void_p(-1).value):
        pytest.skip(f"no MAP_DROPPABLE here: {os.strerror(ctypes.get_errno())}")
    try:
        found = shared_mappings(os.getpid(), droppable=True)
        assert found is not None and (at, at + size) in found[0]
        plain = shared_mappings(os.getpid())
        assert plain is not None and (at, at + size) not in plain[0]  # (maps: "p")
    finally:
        libc.munmap(at, size)


def test_the_calls_that_let_reclaim_write_are_noted():
    anonymous = mmap.MAP_ANONYMOUS
    dropped = shares_memory("mmap", (0, 4096, 3, MAP_DROPPABLE | anonymous, -1, 0))
    assert dropped is not None and not dropped.anywhere
    assert shares_memory("mmap", (0, 4096, 3, mmap.MAP_PRIVATE | anonymous, -1, 0)) is None
    freed = shares_memory("madvise", (0x10000, 4096, MADV_FREE))
    assert freed is not None and freed.anywhere
    assert shares_memory("madvise", (0x10000, 4096, 1 << 32 | MADV_FREE)) is not None  # (int)
    assert shares_memory("madvise", (0x10000, 4096, 4)) is None  # MADV_DONTNEED: at once
    advised = shares_memory("process_madvise", (3, 0x10000, 1, MADV_FREE, 0))
    assert advised is not None and advised.anywhere
    assert shares_memory("process_madvise", (3, 0x10000, 1, 21, 0)) is None  # MADV_PAGEOUT
