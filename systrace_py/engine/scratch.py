"""The scratch area: memory in each tracee that only the tracer writes.

When the tracer has checked a pointer argument (a path, a socket address, an exec argv) it
copies the checked bytes here and points the register at the copy, so the kernel uses exactly
what was checked -- a sibling thread, a CLONE_VM peer or a shared page rewriting the original
buffer after the check changes nothing.

The area is a private anonymous mapping, read-only for the tracee, at a fixed address (so the
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

from typing import Final

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

MAP_PRIVATE: Final = 0x02
MAP_ANONYMOUS: Final = 0x20
MAP_NORESERVE: Final = 0x4000
MAP_FIXED_NOREPLACE: Final = 0x100000
MAP_FLAGS: Final = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE


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
