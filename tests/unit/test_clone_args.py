"""clone3's struct clone_args, read and checked as the kernel does (engine/clone_args.py).

The kernel itself is the reference: tests/escape/test_escape_children.py runs the same bad
structs natively and traced and compares the errnos.  Here, the pure parts: decoding, the
order in which copy_struct_from_user fails, and the field checks, over generated structs;
and the flags of a good struct meeting clone's guard (Tracer._clone3_check)."""

from __future__ import annotations

import errno
import os
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py import views
from systrace_py.engine import clone_args
from systrace_py.engine.clone_args import CloneArgs, CloneArgsError
from systrace_py.engine.decode import DecodedCall
from systrace_py.engine.memory import TraceeMemoryError
from systrace_py.engine.tracer import Tracer
from systrace_py.kernel import (
    CLONE_CLEAR_SIGHAND,
    CLONE_DETACHED,
    CLONE_FS,
    CLONE_INTO_CGROUP,
    CLONE_NEW_FLAGS,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_PARENT,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_THREAD,
    CLONE_UNTRACED,
    CLONE_VFORK,
    CLONE_VM,
)
from systrace_py.syscalls import NUMBERS

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


# --- clone3's flags get clone's guard, whole ----------------------------------------------------
#: every namespace flag, and the one clone(2) cannot carry (its bit is clone's exit signal)
NAMESPACES = [CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
              CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME]


def _tracer() -> Tracer:
    """A tracer's guard checks, with no traced tree (clone's read nothing else)."""
    tracer = object.__new__(Tracer)
    tracer.pid = os.getpid()
    tracer.lifted = frozenset()  # (every guard applies)
    return tracer


def _clone3_call(flags: int, exit_signal: int = 17) -> DecodedCall:
    raw = _struct(flags=flags, exit_signal=exit_signal)
    return DecodedCall(1, 1, NUMBERS["clone3"], "clone3", (BASE, len(raw), 0, 0, 0, 0),
                       FakeMemory(raw))  # type: ignore[arg-type]


def _clone_call(flags: int) -> DecodedCall:
    return DecodedCall(1, 1, NUMBERS["clone"], "clone", (flags, 0, 0, 0, 0, 0))


@pytest.mark.parametrize("flag", NAMESPACES)
def test_clone3s_namespace_flags_meet_clones_decision_whole(flag):
    """Were no namespace followed, views.clone_refusal would refuse each: clone3 meets it for
    every flag in its struct (CLONE_NEWTIME too: clone3 carries its exit signal apart, and
    clone's register cases cannot see that bit), clone for every flag but CLONE_NEWTIME
    (there, the exit signal's bit)."""
    tracer = _tracer()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(views, "NAMESPACE_FLAGS", tuple(
            known._replace(followed=False) for known in views.NAMESPACE_FLAGS))
        refusal = tracer._clone3_check(_clone3_call(flag))
        assert refusal is not None and refusal[0] == errno.EPERM, refusal
        by_clone = tracer._guard_refusal(_clone_call(flag | 17))
        assert (by_clone is None) == (flag == CLONE_NEWTIME), by_clone
    # as they are, every namespace is followed: the same calls run
    assert tracer._clone3_check(_clone3_call(flag)) is None
    assert tracer._guard_refusal(_clone_call(flag & ~0xFF | 17)) is None


@given(st.sets(st.sampled_from([*NAMESPACES, CLONE_UNTRACED, CLONE_VM, CLONE_FS, CLONE_VFORK,
                                CLONE_SETTLS])).map(sum))
def test_clone3_is_decided_as_views_decides_its_flags(flags):
    """The engine's answer to a valid clone3 is views.clone_refusal's on its struct's flags;
    what the struct asks of namespaces is what a rule on unshare is asked about."""
    call = _clone3_call(flags)
    assert _tracer()._clone3_check(call) == views.clone_refusal(flags, exit_signal_in_flags=False)
    assert call.clone_args is not None and call.clone_args.flags == flags
    assert call.namespace_flags == flags & CLONE_NEW_FLAGS


def test_a_clone3_whose_struct_was_not_read_asks_for_every_namespace():
    """(The engine reads it before any rule is asked; were it not read, a rule on unshare
    would still decide.)"""
    assert _clone3_call(0).namespace_flags == CLONE_NEW_FLAGS
