"""Protection keys (x86 PKU): which bytes the kernel's copy from user memory may read in the
context of one task.

On a CPU with PKU that the kernel uses (``ospke``), each mapping carries a protection key
(0..15) and each *thread* a PKRU register whose bit 2k (access-disable) forbids user-mode
accesses -- and the kernel's own copy_from_user, made in that thread's context -- to pages of
key k.  A mapping gets a non-zero key only from pkey_mprotect, or as an execute-only mapping
(mmap or mprotect with exactly PROT_EXEC, and an exec'd image's execute-only segments: the
kernel gives them its execute-only key, whose access is disabled).  process_vm_readv and
/proc/PID/mem are *foreign* accesses, which ignore keys: they read what the kernel's copy
would fault on (EFAULT), so the engine would decide on -- and, holding arguments, hand to the
kernel -- bytes the kernel never reads.

So where an address space has (or may have) keyed mappings, a read for a task's call is cut
at the first byte in a mapping whose key that task's PKRU disables (:func:`readable`): the
keys come from /proc/PID/smaps ("ProtectionKey:"), the PKRU from the task's XSAVE area
(PTRACE_GETREGSET NT_X86_XSTATE, standard format: PKRU is component 9, at the offset
CPUID.(EAX=0xD, ECX=9).EBX says).  Where the PKRU cannot be read (no offset known, a regset
that does not hold it), every non-zero key counts as disabled: fail closed.

Which spaces have keyed mappings is noted cheaply elsewhere: the seccomp filter stops the calls
that may key a mapping (the syscall table's ``keys``), and an exec is followed by a look at
/proc/PID/maps for execute-only mappings (:func:`exec_only_mapped`) -- only on a CPU where
:func:`enabled`.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import struct

from systrace_py import procfs
from systrace_py.engine import ptrace_ops as pt
from systrace_py.kernel import FP_XSTATE_MAGIC1, NT_X86_XSTATE, XFEATURE_PKRU

_SW_BYTES = 464   # the kernel's software-reserved bytes in the XSAVE legacy area
_USER_LIMIT = 1 << 63


@functools.cache
def enabled() -> bool:
    """Whether the kernel uses protection keys (the ``ospke`` CPU flag): otherwise every
    mapping has key 0 and nothing here matters."""
    try:
        with open("/proc/cpuinfo", "rb") as info:
            for line in info:
                if line.startswith(b"flags"):
                    return b"ospke" in line.split()
    except OSError:
        return True  # unknown: look (a PKRU that cannot be read fails closed)
    return False


# cpuid(leaf, subleaf) -> ebx, as machine code: push rbx; mov eax, edi; mov ecx, esi; cpuid;
# mov eax, ebx; pop rbx; ret.  Python has no other way to run the instruction, and the offset
# of a component in the standard XSAVE format is the CPU's answer, not a constant (2688 on
# Intel CPUs with AVX-512, 2432 on the AMD EPYC these tests ran on).
_CPUID_EBX = bytes.fromhex("5389f889f10fa289d85bc3")


def _cpuid_ebx(leaf: int, subleaf: int) -> int | None:
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError:
        page = None  # W+X mappings refused: ask the cpuid driver (root only)
    if page is not None:
        page.write(_CPUID_EBX)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        function = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)(address)
        # (the page stays mapped for the process's life: the function object points into it)
        _keep.append(page)
        return int(function(leaf, subleaf))
    try:
        fd = os.open("/dev/cpu/0/cpuid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = os.pread(fd, 16, subleaf << 32 | leaf)
    except OSError:
        return None
    finally:
        os.close(fd)
    return struct.unpack_from("<I", raw, 4)[0] if len(raw) == 16 else None


_keep: list[mmap.mmap] = []


@functools.cache
def pkru_offset() -> int | None:
    """Where PKRU is in the standard-format XSAVE area (None: unknown, fail closed)."""
    offset = _cpuid_ebx(0xD, XFEATURE_PKRU)
    return offset if offset else None


def pkru(tid: int) -> int | None:
    """Task ``tid``'s PKRU (it must be in a ptrace-stop), or None when it cannot be read.

    The kernel writes the task's PKRU at its offset whatever the header's XSTATE_BV says (bit
    9 clear would mean its init state, 0); the value written is the one that governs, and it
    is never less restrictive than 0."""
    offset = pkru_offset()
    if offset is None:
        return None
    try:
        area = pt.getregset(tid, NT_X86_XSTATE, (offset + 4 + 7) & ~7)  # (in 8-byte units)
    except (OSError, pt.PtraceError):
        return None  # (the task is gone, or no such regset: fail closed)
    if len(area) < offset + 4:
        return None
    magic, _, features = struct.unpack_from("<IIQ", area, _SW_BYTES)
    if magic == FP_XSTATE_MAGIC1 and not features >> XFEATURE_PKRU & 1:
        return None  # the area has no PKRU component: not where we look
    value: int = struct.unpack_from("<I", area, offset)[0]
    return value


def keyed_mappings(pid: int) -> list[tuple[int, int, int]] | None:
    """(start, end, key) of each mapping of ``pid`` whose protection key is not 0, in address
    order (None: /proc/PID/smaps unreadable)."""
    found: list[tuple[int, int, int]] = []
    start = end = 0
    try:
        with open(f"/proc/{pid}/smaps", "rb") as smaps:
            for line in smaps:
                if line[:1] in b"0123456789abcdef":
                    span = line.split(b" ", 1)[0]
                    low, _, high = span.partition(b"-")
                    start, end = int(low, 16), int(high, 16)
                elif line.startswith(b"ProtectionKey:"):
                    key = int(line.split()[1])
                    if key:
                        found.append((start, end, key))
    except (OSError, ValueError, IndexError):
        return None
    return found


def readable(pid: int, tid: int, address: int, size: int) -> int:
    """How many of the ``size`` bytes at ``address`` (that process_vm_readv or /proc/PID/mem
    read) the kernel's copy in task ``tid``'s context reads: all of them but those from the
    first in a mapping whose key ``tid``'s PKRU disables access to."""
    if size <= 0:
        return size
    keyed = keyed_mappings(pid)
    if keyed is None:
        return 0  # (the task is gone, or /proc refused: nothing proves the bytes readable)
    if not any(start < address + size and address < stop for start, stop, _ in keyed):
        return size  # (no key to ask the PKRU about)
    return allowed_prefix(keyed, pkru(tid), address, size)


def allowed_prefix(keyed: list[tuple[int, int, int]], rights: int | None, address: int,
                   size: int) -> int:
    """How many of the ``size`` bytes at ``address`` come before the first in one of the
    ``keyed`` mappings (start, end, key; in address order, not overlapping) whose key
    ``rights`` (a PKRU: bit 2k disables access to key k) disables.  ``rights`` None: unknown,
    every key counts as disabled."""
    end = address + size
    for start, stop, key in keyed:
        if start < end and address < stop and (rights is None or rights >> 2 * key & 1):
            return max(start, address) - address
    return size


def exec_only_mapped(pid: int) -> bool:
    """Whether a mapping of ``pid`` is execute-only ("--x" in /proc/PID/maps): after an exec,
    the image's execute-only segments, which the kernel mapped without a call the filter
    sees.  True when the maps cannot be read (look at the keys later, when it matters)."""
    try:
        # (procfs.read: open, read, read, close -- a new image's ~1.3 KiB of maps in one
        # read; ``open()``'s file asked fstat for a 1 KiB buffer and read it in three, with
        # isatty and lseek besides: eight calls an exec, the native loop's stdio six)
        text = procfs.read(f"/proc/{pid}/maps")
        # (the vsyscall page, "--x" too, is no mapping of the process: above user memory)
        return any(fields[1][:3] == b"--x"
                   and int(fields[0].partition(b"-")[0], 16) < _USER_LIMIT
                   for fields in (line.split(b" ", 2) for line in text.splitlines()))
    except (OSError, IndexError, ValueError):
        return True
