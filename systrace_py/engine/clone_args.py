"""clone3's struct clone_args, read and checked as the kernel reads and checks it.

clone3(uargs, size) passes its flags in memory, where no seccomp filter can look, so the call
stops and the tracer reads the struct -- exactly as kernel/fork.c does
(``copy_clone_args_from_user``, ``copy_struct_from_user``, ``clone3_args_valid``): a size above
a page is E2BIG and one below the first version EINVAL before anything is read; bytes beyond
the largest version the kernel knows must be zero (E2BIG), and any byte it cannot read makes
the call EFAULT.  Where the struct is bad in a way the kernel refuses before it makes a task
(EINVAL), the engine refuses it with that errno too, so a bad struct never meets the flags
check (whose EPERM would otherwise come first).  A good struct's flags then get *clone's*
check (Tracer._clone3_check), and the kernel is handed exactly the bytes that were checked
(held in the scratch area whenever anything could rewrite them: engine/enforce.py).

Pure apart from :func:`read`, which reads through a :class:`TraceeMemory`.
"""

from __future__ import annotations

import errno
import struct
from typing import NamedTuple

from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.kernel import (
    CLONE3_FLAGS,
    CLONE_ARGS_SIZE_MAX,
    CLONE_ARGS_SIZE_VER0,
    CLONE_ARGS_SIZE_VER2,
    CLONE_CLEAR_SIGHAND,
    CLONE_DETACHED,
    CLONE_INTO_CGROUP,
    CLONE_NEWTIME,
    CLONE_PARENT,
    CLONE_SIGHAND,
    CLONE_THREAD,
    CSIGNAL,
    MAX_PID_NS_LEVEL,
    NSIG,
)

_FIELDS = 11                     # u64 fields of the largest version the kernel knows
_INT_MAX = 0x7FFFFFFF
#: the end of the lower half of the address space: no user address is at or above it
_USER_END = 1 << 63


class CloneArgs(NamedTuple):
    """struct clone_args (include/uapi/linux/sched.h); fields past the caller's size are 0."""

    flags: int
    pidfd: int
    child_tid: int
    parent_tid: int
    exit_signal: int
    stack: int
    stack_size: int
    tls: int
    set_tid: int
    set_tid_size: int
    cgroup: int

    @classmethod
    def unpack(cls, raw: bytes) -> CloneArgs:
        """From the struct's bytes as the caller passed them (the kernel zero-fills the fields
        a shorter struct lacks, and ignores the zero bytes of a longer one)."""
        head = raw[:CLONE_ARGS_SIZE_VER2].ljust(CLONE_ARGS_SIZE_VER2, b"\0")
        return cls(*struct.unpack(f"<{_FIELDS}Q", head))

    def as_clone(self) -> tuple[int, int, int, int, int, int]:
        """The registers of the clone(2) call that would make the same task: flags with the
        exit signal in their low byte, stack, parent_tid, child_tid, tls (x86_64 order).  The
        stack is clone's too: its top (clone3 takes the lowest address and the size)."""
        top = self.stack + self.stack_size if self.stack else 0
        return (self.flags | self.exit_signal, top, self.parent_tid, self.child_tid, self.tls,
                0)


class CloneArgsError(Exception):
    """The kernel refuses this clone3 before it makes a task: with ``errno``."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


def read(memory: TraceeMemory, pointer: int, size: int) -> bytes:
    """The struct's ``size`` bytes, read as copy_struct_from_user reads them: the size first,
    then the bytes beyond what the kernel knows (they must be zero; they are read up to the
    first that is not), then the struct itself.  Raises CloneArgsError with the kernel's
    errno."""
    if size > CLONE_ARGS_SIZE_MAX:
        raise CloneArgsError(errno.E2BIG, f"clone_args size {size} is more than a page")
    if size < CLONE_ARGS_SIZE_VER0:
        raise CloneArgsError(errno.EINVAL, f"clone_args size {size} is below the first version")
    if pointer >= _USER_END or pointer + size > _USER_END:
        raise CloneArgsError(errno.EFAULT, "clone_args is not in user memory")
    known = min(size, CLONE_ARGS_SIZE_VER2)
    if size > known:
        tail = _readable(memory, pointer + known, size - known)
        if tail.strip(b"\0"):
            raise CloneArgsError(errno.E2BIG, "clone_args has fields this kernel does not know")
        if len(tail) < size - known:
            raise CloneArgsError(errno.EFAULT, "clone_args runs into unreadable memory")
    head = _readable(memory, pointer, known)
    if len(head) < known:
        raise CloneArgsError(errno.EFAULT, "clone_args is unreadable")
    return head.ljust(size, b"\0")


def _readable(memory: TraceeMemory, address: int, size: int) -> bytes:
    """The bytes from ``address`` up to the first that cannot be read."""
    try:
        return memory.read(address, size)
    except TraceeMemoryError:
        return b""


def check(args: CloneArgs, size: int, memory: TraceeMemory) -> None:
    """Raise CloneArgsError(EINVAL or EFAULT) when the kernel refuses these arguments before
    it makes a task, in the kernel's order: copy_clone_args_from_user's checks (and its read
    of the set_tid array), then clone3_args_valid's.  Not reproduced: whether the stack range
    is a user address range (access_ok) -- a bad one meets the flags check first, then the
    kernel's EINVAL."""
    invalid = invalid_before_copy(args, size)
    if invalid is not None:
        raise CloneArgsError(errno.EINVAL, invalid)
    if args.set_tid:
        wanted = 4 * args.set_tid_size
        if (args.set_tid >= _USER_END or args.set_tid + wanted > _USER_END
                or len(_readable(memory, args.set_tid, wanted)) < wanted):
            raise CloneArgsError(errno.EFAULT, "set_tid is unreadable")
    invalid = invalid_flags(args)
    if invalid is not None:
        raise CloneArgsError(errno.EINVAL, invalid)


def invalid_before_copy(args: CloneArgs, size: int) -> str | None:
    """Why copy_clone_args_from_user refuses these arguments (EINVAL), or None."""
    if args.set_tid_size > MAX_PID_NS_LEVEL:
        return "set_tid_size above the deepest pid namespace"
    if not args.set_tid and args.set_tid_size:
        return "set_tid_size without set_tid"
    if args.set_tid and not args.set_tid_size:
        return "set_tid without set_tid_size"
    if args.exit_signal & ~CSIGNAL or args.exit_signal > NSIG:
        return "exit_signal is not a signal"
    if args.flags & CLONE_INTO_CGROUP and (args.cgroup > _INT_MAX or size < CLONE_ARGS_SIZE_VER2):
        return "CLONE_INTO_CGROUP without a cgroup descriptor"
    return None


def invalid_flags(args: CloneArgs) -> str | None:
    """Why clone3_args_valid refuses these arguments (EINVAL), or None (its stack range
    check aside)."""
    flags = args.flags
    if flags & ~CLONE3_FLAGS:
        return "unknown flags"
    if flags & (CLONE_DETACHED | (CSIGNAL & ~CLONE_NEWTIME)):
        return "CLONE_DETACHED or a signal in the flags"
    if flags & CLONE_SIGHAND and flags & CLONE_CLEAR_SIGHAND:
        return "CLONE_SIGHAND with CLONE_CLEAR_SIGHAND"
    if flags & (CLONE_THREAD | CLONE_PARENT) and args.exit_signal:
        return "an exit signal for a thread or a sibling"
    if bool(args.stack) != bool(args.stack_size):
        return "a stack without a size, or a size without a stack"
    return None
