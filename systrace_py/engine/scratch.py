"""The scratch area: memory in each tracee that only the tracer writes.

When the tracer has checked a pointer argument (a path, a socket address, an exec argv) it
copies the checked bytes here and points the register at the copy, so the kernel uses exactly
what was checked -- a sibling thread, a CLONE_VM peer or a shared page rewriting the original
buffer after the check changes nothing.

The area is a private anonymous mapping, read-only (and executable: the return trampoline,
below) for the tracee, at a fixed address (so the
seccomp filter, compiled once, can guard it): every call that could unmap, remap or reprotect
it stops and is refused (see :mod:`systrace_py.engine.seccomp`), /proc/PID/mem is never opened
for writing by a tracee (engine rule), ptrace and process_vm_writev are refused by default, and
process_vm_writev cannot write a read-only page anyway.  The tracer writes through
/proc/PID/mem, which may write read-only private pages.

It is mapped lazily, the first time a task of an address space needs it: the tracer turns the
stopped call into an ``mmap`` (MAP_FIXED_NOREPLACE, so an attacker's mapping already there makes
it fail rather than be trusted), then restarts the original call.  Each task owns one slot for
its lifetime; a task is in at most one call, so its slot is never in use twice.  Slots are
counted per address space (a forked child has its own copy of the area), so only the threads
of one process compete for its 4096 slots; beyond that a held call fails with EAGAIN.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final

from systrace_py.kernel import ARG_REGS

_U64: Final = 0xFFFF_FFFF_FFFF_FFFF

BASE: Final = 0x1000_0000_0000        # 16 TiB: far from the heap, the mmap base and the stack
SIZE: Final = 1024 * 1024 * 1024      # 1 GiB of address space, touched page by page
SLOT_SIZE: Final = 256 * 1024
SLOTS: Final = SIZE // SLOT_SIZE
GUARD_REACH: Final = 1 << 40          # the span below BASE the filter watches (see seccomp.py)

# Layout of one slot: what enforce.py writes where (a call uses at most one of the regions
# that share an offset: an open's paths, a socket call's address, clone3's struct).
HOW: Final = 0                        # struct open_how (24 bytes) of an open made openat2
EMPTY: Final = 24                     # an empty path "" (AT_EMPTY_PATH; never an open's)
PATH1: Final = 32                     # first path (PATH_MAX bytes and its NUL)
PATH2: Final = PATH1 + 4097           # second path of rename/link
SOCK: Final = 8192                    # sockaddr copy
MSGHDR: Final = SOCK + 256            # struct msghdr / mmsghdr copies
CLONE_ARGS: Final = 8192              # clone3's struct clone_args (at most a page)
BULK: Final = 16384                   # exec argv, sendmmsg headers, control data
# The return trampoline of a held call (written last: a sendmsg's copy pads up to BULK):
RESTART: Final = BULK - 256           # `syscall`: where a restart the kernel makes rewinds to
RETURN: Final = RESTART + 2           # where a held call returns: the code below

# movabs rdi/rsi/rdx/r10/r8/r9/rcx, imm64; then jmp rcx
_MOVABS: Final = (b"\x48\xbf", b"\x48\xbe", b"\x48\xba", b"\x49\xba", b"\x49\xb8",
                  b"\x49\xb9", b"\x48\xb9")
_JMP_RCX: Final = b"\xff\xe1"
CODE_LEN: Final = 10 * len(_MOVABS) + len(_JMP_RCX)
RECORD: Final = RETURN + CODE_LEN     # the program's own call: number, six arguments, rip
_TRAMPOLINE: Final = struct.Struct("<2s" + "2sQ" * len(_MOVABS) + "2s" + "8Q")
RECORD_LEN: Final = 8 * 8
TRAMPOLINE_LEN: Final = RECORD + RECORD_LEN - RESTART

MAP_PRIVATE: Final = 0x02
MAP_ANONYMOUS: Final = 0x20
MAP_NORESERVE: Final = 0x4000
MAP_FIXED_NOREPLACE: Final = 0x100000
MAP_FLAGS: Final = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE


def trampoline(nr: int, args: Sequence[int], rip: int) -> bytes:
    """What is written at RESTART in a held call's slot (docs/security.md, "Held calls'
    registers"): ``syscall``, then at RETURN -- where the held call is made to return, its
    rip set there at its entry stop -- code that puts the program's own argument registers
    back, rcx = its own return address (as the kernel leaves it), and jumps there; flags,
    stack and rax untouched, no call in it.  Then the record of the program's own call
    (number, arguments, return address), which the tracer reads where the task is stopped
    on its way through (:func:`put_back`)."""
    a0, a1, a2, a3, a4, a5 = (a & _U64 for a in args)
    rip &= _U64
    return _TRAMPOLINE.pack(b"\x0f\x05", *_MOVABS[:1], a0, _MOVABS[1], a1, _MOVABS[2], a2,
                            _MOVABS[3], a3, _MOVABS[4], a4, _MOVABS[5], a5, _MOVABS[6], rip,
                            _JMP_RCX, nr & _U64, a0, a1, a2, a3, a4, a5, rip)


def record(nr: int, args: Sequence[int], rip: int) -> bytes:
    """The record at RECORD: the program's own call number, arguments and return address
    (alone, with no trampoline, for a held call that creates a task sharing the memory --
    the child starts at the parent's rip, which must stay the program's: read back at the
    parent's clone event, for both, Tracer._own_birth)."""
    return struct.pack("<8Q", nr & _U64, *(a & _U64 for a in args), rip & _U64)


def own_call(data: bytes) -> tuple[int, tuple[int, ...], int]:
    """A record's number, arguments and return address."""
    nr, *args, rip = struct.unpack("<8Q", data)
    return nr, tuple(args), rip


def returning(rip: int) -> int | None:
    """The start of the slot whose trampoline (its restart ``syscall`` or its code) holds
    ``rip``, else None."""
    if not BASE <= rip < BASE + SIZE:
        return None
    offset = (rip - BASE) % SLOT_SIZE
    return rip - offset if RESTART <= offset < RECORD else None


def put_back(regs: Any, record: bytes, slot: int, entry: bool = False) -> None:
    """The registers of a task stopped with its rip in a trampoline (:func:`returning`: at a
    signal's delivery, a detach, a restart of the held call) made what they are once the
    trampoline ran: the program's own arguments, rcx and rip its return address -- and in a
    call (orig_rax not -1: the held call's exit, a restart owed), the program's own number,
    which a restart the kernel makes then runs from the program's own ``syscall``.  At the
    RESTART instruction (a restart already rewound there) the program's own ``syscall``
    instead, with its number in rax.  ``entry``: the task is at the entry of a call made
    from the RESTART instruction (a restart the kernel made of the held call, with the
    copies): skipped (orig_rax -1), the program's own call made instead, decided anew."""
    nr, *args, rip = struct.unpack("<8Q", record)
    at = regs.rip - slot
    for name, value in zip(ARG_REGS, args, strict=True):
        setattr(regs, name, value)
    regs.rcx = rip
    if at == RESTART or entry:
        regs.rip = (rip - 2) & _U64
        regs.rax = nr
        regs.orig_rax = _U64 if entry else nr
        return
    regs.rip = rip
    if regs.orig_rax != _U64:
        regs.orig_rax = nr


def touches(address: int, length: int) -> bool:
    """Whether [address, address+length) overlaps the area (length 0 counts as one byte)."""
    end = address + max(length, 1)
    return address < BASE + SIZE and end > BASE


def slot_address(slot: int) -> int:
    return BASE + slot * SLOT_SIZE


def slot_at(address: int) -> int:
    """The slot whose start is ``address`` (:func:`slot_address`'s inverse: the native loop
    names slots by address); ValueError for any other address."""
    slot, offset = divmod(address - BASE, SLOT_SIZE)
    if offset or not 0 <= slot < SLOTS:
        raise ValueError(f"{address:#x} is the start of no scratch slot")
    return slot


class SlotPool:
    """Hands out slots to tasks; a slot is freed when its task ends.  Memory grows with the
    slots in use, not with the pool's size (there is one pool per address space)."""

    def __init__(self) -> None:
        self._next = 0                 # slots never handed out start here
        self._free: list[int] = []     # slots given back
        self._owner: dict[int, int] = {}

    def slot_of(self, tid: int) -> int | None:
        """The task's slot, allocating one on first use; None when all are taken."""
        slot = self._owner.get(tid)
        if slot is None:
            if self._free:
                slot = self._free.pop()
            elif self._next < SLOTS:
                slot = self._next
                self._next += 1
            else:
                return None
            self._owner[tid] = slot
        return slot

    def hand_over(self, holder: int, tid: int) -> None:
        """Give the slot ``holder`` has (if any) to ``tid``: a slot the native loop was given
        for a child not yet born (engine/cloop.py: a vfork child's), held by a key no task
        has until then."""
        slot = self._owner.pop(holder, None)
        if slot is not None:
            self._owner[tid] = slot

    def claim(self, holder: int, slot: int) -> None:
        """Give ``holder`` the free ``slot``: the spare slot of a task the native loop armed
        alone again when its last child ended (engine/cloop.py), which it gave that task's
        next vfork child -- or kept, when its last child was no vfork's (a fork's child
        took no slot)."""
        if self._owner.get(holder) == slot:
            return
        self._free.remove(slot)  # (ValueError: it is not free -- never given twice)
        self._owner[holder] = slot

    def release(self, tid: int) -> None:
        slot = self._owner.pop(tid, None)
        if slot is not None:
            self._free.append(slot)

    def in_use(self) -> int:
        return len(self._owner)
