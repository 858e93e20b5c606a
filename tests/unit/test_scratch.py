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


def test_the_trampoline_is_the_code_it_says_and_its_record() -> None:
    """scratch.trampoline: `syscall`, movabs rdi/rsi/rdx/r10/r8/r9/rcx with the program's own
    values and return address, jmp rcx; then the record put_back reads."""
    import struct

    args = (0xFFFF_FFFF_FFFF_FF9C, 0x7FFE_1234_5678, 0x80000, 0x3C, 0, 0x1234_5678_9ABC_DEF0)
    code = scratch.trampoline(257, args, 0x5555_0000_1234)
    assert len(code) == scratch.TRAMPOLINE_LEN == scratch.RECORD + scratch.RECORD_LEN \
        - scratch.RESTART
    assert code[:2] == b"\x0f\x05" and code[2 + 70:2 + 72] == b"\xff\xe1"
    ops = [b"\x48\xbf", b"\x48\xbe", b"\x48\xba", b"\x49\xba", b"\x49\xb8", b"\x49\xb9",
           b"\x48\xb9"]
    for i, (op, value) in enumerate(zip(ops, [*args, 0x5555_0000_1234], strict=True)):
        assert code[2 + 10 * i:2 + 10 * i + 10] == op + value.to_bytes(8, "little")
    assert struct.unpack("<8Q", code[-64:]) == (257, *args, 0x5555_0000_1234)
    assert scratch.RESTART + scratch.TRAMPOLINE_LEN <= scratch.BULK
    assert scratch.CLONE_ARGS + 4096 <= scratch.RESTART  # (clone3's struct: a page at most)


class _Regs:
    def __init__(self, **values: int) -> None:
        self.__dict__.update(values)


def test_put_back_gives_the_registers_the_trampoline_would() -> None:
    """At the trampoline's code (its return, or inside): the program's registers and return
    address, its own number in orig_rax when in a call; at its `syscall` (a restart rewound
    there): the program's own syscall instruction, its number in rax; at an entry made from
    there: the same, the entry skipped."""
    slot = scratch.slot_address(3)
    record = scratch.record(2, (1, 2, 3, 4, 5, 6), 0x401002)
    assert scratch.returning(slot + scratch.RETURN) == slot
    assert scratch.returning(slot + scratch.RESTART) == slot
    assert scratch.returning(slot + scratch.RECORD) is None
    assert scratch.returning(slot + scratch.RESTART - 1) is None
    assert scratch.returning(0x401002) is None
    u64 = 0xFFFF_FFFF_FFFF_FFFF
    cases = [
        # (rip, orig_rax, entry) -> (rip, orig_rax, rax)
        ((slot + scratch.RETURN, 437, False), (0x401002, 2, 0xFFFF_FFFF_FFFF_FE00)),
        ((slot + scratch.RETURN + 20, u64, False), (0x401002, u64, 0xFFFF_FFFF_FFFF_FE00)),
        ((slot + scratch.RESTART, 437, False), (0x401000, 2, 2)),
        ((slot + scratch.RETURN, 437, True), (0x401000, u64, 2)),
    ]
    for (rip, orig_rax, entry), (rip2, orig2, rax2) in cases:
        regs = _Regs(rip=rip, orig_rax=orig_rax, rax=0xFFFF_FFFF_FFFF_FE00, rdi=9, rsi=9,
                     rdx=9, r10=9, r8=9, r9=9, rcx=9)
        scratch.put_back(regs, record, slot, entry)
        assert (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9) == (1, 2, 3, 4, 5, 6)
        assert (regs.rcx, regs.rip, regs.orig_rax, regs.rax) == (0x401002, rip2, orig2, rax2)


def test_the_native_loop_has_the_same_layout() -> None:
    _cloop = pytest.importorskip("systrace_py._cloop")
    assert (_cloop.RESTART, _cloop.RECORD, _cloop.CLONE_ARGS) == \
        (scratch.RESTART, scratch.RECORD, scratch.CLONE_ARGS)
