"""clone3's struct clone_args, read and checked as the kernel does (engine/clone_args.py).

The kernel itself is the reference: tests/escape/test_escape_children.py runs the same bad
structs natively and traced and compares the errnos.  Here, the pure parts: decoding, the
order in which copy_struct_from_user fails, and the field checks, over generated structs."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine import clone_args
from systrace_py.engine.clone_args import CloneArgs, CloneArgsError
from systrace_py.engine.memory import TraceeMemoryError
from systrace_py.kernel import (
    CLONE_CLEAR_SIGHAND,
    CLONE_DETACHED,
    CLONE_FS,
    CLONE_INTO_CGROUP,
    CLONE_NEWTIME,
    CLONE_PARENT,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
)

PAGE = 4096
BASE = 0x10000


class FakeMemory:
    """Readable bytes from BASE up to ``end`` (unreadable beyond, as an unmapped page is);
    reads stop at the first unreadable byte, as /proc/PID/mem's do."""

    def __init__(self, data: bytes, end: int | None = None) -> None:
        self.data = data
        self.end = BASE + len(data) if end is None else end

    def read(self, address: int, size: int) -> bytes:
        if address < BASE or address >= self.end:
            raise TraceeMemoryError(errno.EIO, "unmapped")
        stop = min(address + size, self.end)
        return self.data[address - BASE:stop - BASE]


def _struct(**fields: int) -> bytes:
    values = [fields.get(name, 0) for name in CloneArgs._fields]
    return struct.pack("<11Q", *values)


def _errno(memory: FakeMemory, pointer: int, size: int) -> int | None:
    try:
        clone_args.read(memory, pointer, size)  # type: ignore[arg-type]
    except CloneArgsError as exc:
        return exc.errno
    return None


def test_sizes_are_checked_before_anything_is_read():
    memory = FakeMemory(b"")  # nothing readable at all
    assert _errno(memory, BASE, 4097) == errno.E2BIG
    assert _errno(memory, BASE, 1 << 40) == errno.E2BIG
    assert _errno(memory, BASE, 63) == errno.EINVAL
    assert _errno(memory, BASE, 0) == errno.EINVAL
    assert _errno(memory, BASE, 64) == errno.EFAULT


def test_each_version_reads_its_own_size():
    whole = _struct(flags=CLONE_FS, exit_signal=17, set_tid=5, set_tid_size=1, cgroup=3)
    for size in (64, 80, 88):
        raw = clone_args.read(FakeMemory(whole), BASE, size)  # type: ignore[arg-type]
        assert raw == whole[:size]
        args = CloneArgs.unpack(raw)
        assert args.flags == CLONE_FS and args.exit_signal == 17
        assert args.set_tid == (5 if size >= 80 else 0)
        assert args.cgroup == (3 if size >= 88 else 0)


def test_a_longer_struct_needs_a_zero_tail():
    whole = _struct(exit_signal=17) + bytes(40)
    assert clone_args.read(FakeMemory(whole), BASE, 128) == whole  # type: ignore[arg-type]
    dirty = whole[:100] + b"\1" + whole[101:]
    assert _errno(FakeMemory(dirty), BASE, 128) == errno.E2BIG


def test_the_tail_is_checked_before_the_head_up_to_its_first_nonzero_byte():
    """copy_struct_from_user reads the bytes it does not know first, up to the first that is
    not zero (E2BIG, even if more of them cannot be read), then the struct (EFAULT)."""
    head_unreadable = FakeMemory(bytes(PAGE), end=BASE + PAGE)
    # the struct 96 bytes before the end: head readable, tail partly
    at = BASE + PAGE - 96
    assert _errno(head_unreadable, at, 128) == errno.EFAULT
    dirty = bytearray(PAGE)
    dirty[PAGE - 4] = 1  # in the readable part of the tail
    assert _errno(FakeMemory(bytes(dirty)), at, 128) == errno.E2BIG
    # a head running off the readable memory, tail nowhere
    assert _errno(FakeMemory(bytes(PAGE)), BASE + PAGE - 64, 88) == errno.EFAULT
    assert _errno(FakeMemory(bytes(PAGE)), BASE + PAGE - 64, 64) is None


@pytest.mark.parametrize("pointer", [0, 1 << 63, 2**64 - 16, (1 << 63) - 8])
def test_pointers_outside_user_memory_are_efault(pointer):
    assert _errno(FakeMemory(bytes(PAGE)), pointer, 64) == errno.EFAULT


_fields = st.fixed_dictionaries({name: st.integers(0, 2**64 - 1) for name in CloneArgs._fields})


@given(_fields, st.integers(64, 4096))
def test_decoding_gives_back_the_fields(fields, size):
    raw = _struct(**fields) + bytes(max(0, size - 88))
    args = CloneArgs.unpack(raw[:size])
    for name, value in fields.items():
        # the kernel copies the caller's bytes into a zeroed struct: a field the size cuts
        # keeps its low bytes
        present = min(max(size - 8 * CloneArgs._fields.index(name), 0), 8)
        assert getattr(args, name) == value & ((1 << 8 * present) - 1)


@given(st.integers(0, 2**64 - 1), st.integers(0, 64), st.integers(0, 2**32), st.integers(0, 8))
def test_as_clone_puts_the_exit_signal_in_the_low_byte(flags, signal, stack, size):
    args = CloneArgs(flags, 0, 1, 2, signal, stack, size * 4096, 3, 0, 0, 0)
    registers = args.as_clone()
    assert registers[0] == flags | signal
    assert registers[1] == (stack + size * 4096 if stack else 0)
    assert registers[2:5] == (2, 1, 3)


def _valid(**fields: int) -> CloneArgs:
    values = {"exit_signal": 17, **fields}
    return CloneArgs(*(values.get(name, 0) for name in CloneArgs._fields))


def test_what_clone3_refuses_before_making_a_task():
    assert clone_args.invalid_flags(_valid()) is None
    assert clone_args.invalid_flags(_valid(flags=CLONE_NEWTIME)) is None  # a namespace, here
    assert clone_args.invalid_flags(_valid(flags=1 << 40)) is not None
    assert clone_args.invalid_flags(_valid(flags=CLONE_DETACHED)) is not None
    assert clone_args.invalid_flags(_valid(flags=0x01)) is not None
    assert clone_args.invalid_flags(
        _valid(flags=CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) is not None
    assert clone_args.invalid_flags(_valid(flags=CLONE_PARENT)) is not None
    assert clone_args.invalid_flags(_valid(flags=CLONE_PARENT, exit_signal=0)) is None
    assert clone_args.invalid_flags(_valid(stack=4096)) is not None
    assert clone_args.invalid_flags(_valid(stack_size=4096)) is not None
    assert clone_args.invalid_before_copy(_valid(exit_signal=65), 88) is not None
    assert clone_args.invalid_before_copy(_valid(exit_signal=64), 88) is None
    assert clone_args.invalid_before_copy(_valid(exit_signal=1 << 32 | 17), 88) is not None
    assert clone_args.invalid_before_copy(_valid(set_tid_size=1), 88) is not None
    assert clone_args.invalid_before_copy(_valid(set_tid=8), 88) is not None
    assert clone_args.invalid_before_copy(_valid(set_tid=8, set_tid_size=33), 88) is not None
    assert clone_args.invalid_before_copy(_valid(set_tid=8, set_tid_size=32), 88) is None
    cgroup = _valid(flags=CLONE_INTO_CGROUP, cgroup=3)
    assert clone_args.invalid_before_copy(cgroup, 88) is None
    assert clone_args.invalid_before_copy(cgroup, 80) is not None
    assert clone_args.invalid_before_copy(cgroup._replace(cgroup=1 << 31), 88) is not None


@given(st.integers(0, 2**64 - 1))
def test_glibc_threads_and_spawns_are_valid(extra):
    """What pthread_create and posix_spawn pass is valid whatever else they carry."""
    thread = _valid(flags=CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SETTLS,
                    exit_signal=0, stack=4096, stack_size=8192, tls=extra)
    spawn = _valid(flags=CLONE_VM | CLONE_VFORK, stack=4096, stack_size=8192, child_tid=extra)
    assert clone_args.invalid_flags(thread) is None
    assert clone_args.invalid_flags(spawn) is None
    assert clone_args.invalid_before_copy(thread, 88) is None


@given(st.integers(0, 2**64 - 1))
def test_any_flag_outside_clone3s_is_einval(flags):
    bad = flags & ~(0xFFFFFFFF | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP)
    refused = clone_args.invalid_flags(_valid(flags=flags, exit_signal=0)) is not None
    if bad or flags & (CLONE_DETACHED | 0x7F):
        assert refused
