"""Reading and writing a tracee's memory through a cached /proc/PID/mem descriptor.

One pread per string in the common case (paths are short), and writes go through the same
descriptor because /proc/PID/mem may write the read-only scratch pages (FOLL_FORCE), which
process_vm_writev may not.  A descriptor belongs to one address space: it is reopened after
exec, when the old one would still read the image that is gone.

Descriptors are a bounded cache: a tree of thousands of live processes must not exhaust the
tracer's descriptor limit (an exhausted limit would make every decision fail), so at most
OPEN_LIMIT stay open and the least recently used is closed to open another; it is simply
reopened when its process is read again.
"""

from __future__ import annotations

import errno
import os
import struct
from collections import OrderedDict

PATH_MAX = 4096
_FIRST_READ = 256
OPEN_LIMIT = 256  # /proc/PID/mem descriptors kept open at once
_open: OrderedDict[int, TraceeMemory] = OrderedDict()  # by id(), least recently used first


class TraceeMemoryError(OSError):
    """The tracee's memory could not be read or written (unmapped, or the task is gone)."""


class TraceeMemory:
    """The memory of one address space, reached through one of its tasks."""

    __slots__ = ("_fd", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd = -1

    def _descriptor(self) -> int:
        if self._fd >= 0:
            _open.move_to_end(id(self))
            return self._fd
        if len(_open) >= OPEN_LIMIT:
            _close_least_recent()
        while True:
            try:
                self._fd = os.open(f"/proc/{self.pid}/mem", os.O_RDWR | os.O_CLOEXEC)
                break
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE) and _open:
                    _close_least_recent()  # the limit is lower than OPEN_LIMIT: make room
                    continue
                raise TraceeMemoryError(exc.errno,
                                        f"cannot open memory of {self.pid}: {exc}") from exc
        _open[id(self)] = self
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            _open.pop(id(self), None)

    def read(self, address: int, size: int) -> bytes:
        """Up to ``size`` bytes; fewer when the range runs into an unmapped page."""
        if size <= 0:
            return b""
        try:
            return os.pread(self._descriptor(), size, address)
        except OSError as exc:
            raise TraceeMemoryError(exc.errno, f"cannot read {size} bytes at {address:#x}") from exc

    def read_exact(self, address: int, size: int) -> bytes:
        data = self.read(address, size)
        if len(data) != size:
            raise TraceeMemoryError(14, f"short read at {address:#x}")  # EFAULT
        return data

    def read_cstring(self, address: int, limit: int = PATH_MAX) -> bytes:
        """A NUL-terminated string (without the NUL); at most ``limit`` bytes."""
        if address == 0:
            raise TraceeMemoryError(14, "NULL string pointer")
        # first read stops at the page end so a short string at a page's end still reads
        first = min(_FIRST_READ, 4096 - (address & 4095)) or _FIRST_READ
        data = self.read(address, first)
        end = data.find(b"\0")
        if end >= 0:
            return data[:end]
        chunks = [data]
        got = len(data)
        while got < limit and len(data) > 0:
            data = self.read(address + got, min(4096, limit - got + 1))
            end = data.find(b"\0")
            if end >= 0:
                chunks.append(data[:end])
                return b"".join(chunks)
            chunks.append(data)
            got += len(data)
        if got >= limit:
            raise TraceeMemoryError(36, "string longer than PATH_MAX")  # ENAMETOOLONG
        raise TraceeMemoryError(14, f"unterminated string at {address:#x}")

    def read_pointers(self, address: int, limit: int) -> list[int]:
        """A NULL-terminated array of pointers (argv), at most ``limit`` entries."""
        out: list[int] = []
        while len(out) < limit:
            block = self.read(address + 8 * len(out), 8 * 64)
            if len(block) < 8:
                raise TraceeMemoryError(14, "pointer array runs off mapped memory")
            for (value,) in struct.iter_unpack("<Q", block[: len(block) // 8 * 8]):
                if value == 0:
                    return out
                out.append(value)
                if len(out) >= limit:
                    break
        raise TraceeMemoryError(7, "argument list too long")  # E2BIG

    def write(self, address: int, data: bytes) -> None:
        try:
            written = os.pwrite(self._descriptor(), data, address)
        except OSError as exc:
            raise TraceeMemoryError(exc.errno, f"cannot write at {address:#x}") from exc
        if written != len(data):
            raise TraceeMemoryError(14, f"short write at {address:#x}")


def _close_least_recent() -> None:
    _, memory = _open.popitem(last=False)
    os.close(memory._fd)
    memory._fd = -1


def open_descriptors() -> int:
    """How many /proc/PID/mem descriptors are open (for tests and --stats)."""
    return len(_open)
