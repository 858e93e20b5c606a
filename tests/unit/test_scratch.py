"""The scratch area's bookkeeping: slots per task, reused after the task ends, never two
tasks on one slot, and a clear answer when all are taken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine import scratch


def test_a_task_keeps_its_slot_and_gives_it_back():
    pool = scratch.SlotPool()
    first = pool.slot_of(100)
    assert pool.slot_of(100) == first
    assert pool.slot_of(101) != first
    pool.release(100)
    assert pool.slot_of(102) == first  # reused
    assert pool.in_use() == 2


def test_all_slots_taken_is_none():
    pool = scratch.SlotPool()
    for tid in range(scratch.SLOTS):
        assert pool.slot_of(tid) is not None
    assert pool.slot_of(scratch.SLOTS) is None
    pool.release(5)
    assert pool.slot_of(scratch.SLOTS) is not None


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=300))
def test_no_two_live_tasks_share_a_slot(operations):
    pool = scratch.SlotPool()
    live: dict[int, int] = {}
    for allocate, tid in operations:
        if allocate:
            slot = pool.slot_of(tid)
            assert slot is not None
            if tid in live:
                assert live[tid] == slot
            live[tid] = slot
        else:
            pool.release(tid)
            live.pop(tid, None)
        assert len(set(live.values())) == len(live)


def test_the_area_stays_clear_of_the_guard_span():
    assert scratch.touches(scratch.BASE, 1)
    assert scratch.touches(scratch.BASE - 4096, 8192)
    assert not scratch.touches(scratch.BASE - 4096, 4096)
    assert not scratch.touches(scratch.BASE + scratch.SIZE, 4096)
    assert scratch.slot_address(scratch.SLOTS - 1) + scratch.SLOT_SIZE == \
        scratch.BASE + scratch.SIZE


def test_a_slot_is_found_by_its_start_and_by_nothing_else() -> None:
    for slot in (0, 1, scratch.SLOTS - 1):
        assert scratch.slot_at(scratch.slot_address(slot)) == slot
    for address in (scratch.slot_address(1) + 8, scratch.BASE - scratch.SLOT_SIZE,
                    scratch.slot_address(scratch.SLOTS)):
        with pytest.raises(ValueError):
            scratch.slot_at(address)
