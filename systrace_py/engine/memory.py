"""Reading a tracee's memory as the kernel reads it; writing it through /proc/PID/mem.

What a call means is read from the tracee's memory, so a read must fail exactly where the
kernel's own copy from user memory fails (copy_from_user, strncpy_from_user), and nowhere
else: otherwise the engine decides on something the kernel will not see (an empty path in a
PROT_NONE page where the kernel says EFAULT), or fails where the kernel does not.

* Reads go through process_vm_readv, which honours page protections: an unmapped page, a
  PROT_NONE page, an address beyond the user address space (a pointer at or above 2^63
  included) fail with EFAULT, and a read that runs into one stops there -- as the kernel's
  copy does.  /proc/PID/mem would read PROT_NONE pages (it forces access), answer EIO for an
  unmapped one and raise in the tracer for a pointer at or above 2^63 (pread's offset is
  signed).
* Without protection keys, the kernel's copy on x86-64 reads any page the task may read,
  write or execute (the page tables have no write-only or execute-only pages), while
  process_vm_readv wants PROT_READ.  Where it stops at such a mapping (/proc/PID/maps says
  so), the mapping is read through /proc/PID/mem.
* With protection keys (x86 PKU, used by the kernel: ``ospke``) that assumption is false.
  The kernel's copy is made in the calling *thread's* context and obeys its PKRU: a page
  whose key that thread has access-disabled faults -- an execute-only mapping (exactly
  PROT_EXEC gets the kernel's execute-only key) or any page pkey_mprotect keyed.
  process_vm_readv and /proc/PID/mem are foreign accesses and ignore keys, so they read such
  pages.  When an address space may have keyed mappings (a call the filter stops for it, or
  an exec'd image with an execute-only segment), the tracer decodes each task's calls with
  that task's reader (:meth:`TraceeMemory.of_task`), whose reads are cut where its PKRU
  disables the key
  (:mod:`systrace_py.engine.pkeys`), so the call gets EFAULT as from the kernel.  Without
  keyed mappings nothing is looked at: one attribute test per read.
* Writes -- the tracer's copies of checked arguments into the read-only scratch pages -- go
  through /proc/PID/mem, which may write read-only pages (FOLL_FORCE); process_vm_writev may
  not.  A descriptor belongs to one address space: it is reopened after exec, when the old one
  would still reach the image that is gone.  A write at an address the *program* chose (a
  restarted wait's time left, below its stack pointer) must not force: it goes through
  process_vm_writev (:meth:`TraceeMemory.write_unforced`), which fails where the task itself
  could not write -- the read-only scratch area above all, where a forced write would change a
  sibling's checked copy after its check (tests/escape/tr_retime.c).

Every access goes through the task whose call it serves (:meth:`TraceeMemory.of_task`), never
through the process's pid alone: a process whose main thread has exited (pthread_exit in main,
a thread lives on) keeps its pid, but that pid is a zombie's with no memory -- process_vm_readv
on it fails with ESRCH, and /proc/PID/mem opened then reads and writes nothing -- while its
threads' calls work natively (tests/engine/test_leaderless.py).  An open /proc/TID/mem
descriptor holds the address space, not the task: it stays good when that task exits.

The /proc/PID/mem descriptors are a bounded cache: a tree of thousands of live processes must
not exhaust the tracer's descriptor limit (an exhausted limit would make every decision fail),
so at most OPEN_LIMIT stay open and the least recently used is closed to open another; it is
simply reopened when its process is written again.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections import OrderedDict
from collections.abc import Callable

from systrace_py.engine import pkeys
from systrace_py.kernel import PATH_MAX

_FIRST_READ = 256      # most strings (paths) end within it: one read
_BUFFER_SIZE = 4096    # each memory's own read buffer; larger reads get one of their own
_POINTER_BLOCK = 4096  # bytes of a pointer array read at once
_USER_LIMIT = 1 << 63  # nothing above is user memory (the vsyscall page is above, but the
                       # kernel's copy refuses it: beyond the task's address space)
OPEN_LIMIT = 256  # /proc/PID/mem descriptors kept open at once
_open: OrderedDict[int, TraceeMemory] = OrderedDict()  # by id(), least recently used first

# process_vm_readv(pid, local iovec, 1, remote iovec, 1, 0).  Two bindings of the same call:
# the one used for every read neither saves errno nor has argument types to convert by (the
# iovec pointers are prebuilt, the rest small ints), which is what a ctypes call costs least
# with; the rare failure is asked again through the one that saves errno, to learn why.
_vm_readv = ctypes.CDLL(None).process_vm_readv
_vm_readv.restype = ctypes.c_ssize_t
_vm_readv_errno = ctypes.CDLL(None, use_errno=True).process_vm_readv
_vm_readv_errno.restype = ctypes.c_ssize_t
_vm_writev = ctypes.CDLL(None, use_errno=True).process_vm_writev
_vm_writev.restype = ctypes.c_ssize_t
_U64 = (1 << 64) - 1


class TraceeMemoryError(OSError):
    """The tracee's memory could not be read or written (unmapped, or the task is gone)."""


class _ReadBuffer:
    """A local buffer (a bytearray, so that it is searched and sliced without a copy) and the
    two iovecs (local, remote) of one process_vm_readv into it."""

    __slots__ = ("data", "iov", "local", "remote", "view")

    def __init__(self, size: int) -> None:
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        # (its first byte as a c_char: the buffer's address, held exported -- no array type
        # of this size made: a ctypes type is made at its first use, ~50 us of the first read)
        target = ctypes.c_char.from_buffer(self.data)
        self.iov = (ctypes.c_uint64 * 4)(ctypes.addressof(target), 0, 0, 0)
        base = ctypes.addressof(self.iov)
        self.local = ctypes.c_void_p(base)
        self.remote = ctypes.c_void_p(base + 16)


class TraceeMemory:
    """The memory of one address space, reached through one of its tasks: a process's own
    (``TraceeMemory(pid)``, which holds the /proc/PID/mem descriptor) or, from it, a task's
    (:meth:`of_task`)."""

    __slots__ = ("_fd", "_maps", "_reads", "_space", "_tasks", "keys_of", "pid")

    def __init__(self, pid: int) -> None:
        #: the task every access goes through (a process's pid; a task's tid for of_task's)
        self.pid = pid
        self._fd = -1  # (the process's own only: of_task's share it, by _space)
        self._maps = -1  # its /proc/TID/maps (maps_descriptor), the process's own only too
        self._space = self
        self._reads: _ReadBuffer | None = None  # made at the first read
        # The task whose calls this reads, when the address space may have mappings with a
        # protection key (see of_task): reads stop where that task's PKRU forbids the
        # kernel's copy (pkeys.readable).  None, the common case: keys are not looked at.
        self.keys_of: int | None = None
        self._tasks: dict[int, TraceeMemory] | None = None

    def of_task(self, tid: int, keyed: bool = False) -> TraceeMemory:
        """This memory as the kernel's copy reaches it for task ``tid``'s calls: through that
        task (the process's pid may be a zombie leader's, which has no memory), and, when
        the address space may have ``keyed`` mappings, obeying the task's protection keys
        (PKRU is per thread).  One per task, kept until :meth:`forget` (a decoded call reads
        lazily, maybe after other tasks' stops, so the task is bound to the reader rather
        than set at each stop); the process's own for its leader's calls without keys."""
        if tid == self.pid and not keyed:
            return self
        if self._tasks is None:
            self._tasks = {}
        memory = self._tasks.get(tid)
        if memory is None:
            memory = self._tasks[tid] = TraceeMemory(tid)
            memory._space = self
            # (one read buffer for them all: a read copies out of it before it returns, and
            # the tracer makes one at a time)
            memory._reads = self._reads or self._new_reads()
        if keyed:  # (an address space's keys are never dropped: only an exec does, with
            memory.keys_of = tid  # a memory of its own)
        return memory

    def forget(self, tid: int) -> None:
        """Task ``tid`` is gone: its reader goes (its tid may come again, in another
        process)."""
        if self._tasks is not None:
            self._tasks.pop(tid, None)

    def descriptor(self) -> int:
        """The address space's /proc/TID/mem descriptor, opened through this task on first
        use and kept (up to OPEN_LIMIT address spaces: the least recently used is closed) by
        the process's memory, for every task's.  Also for the native loop (engine/cloop.py),
        which writes the scratch slots through it."""
        return self._kept("_fd", "mem", os.O_RDWR)

    def open_descriptor(self) -> int:
        """The address space's /proc/TID/mem descriptor as :meth:`descriptor` left it, or -1
        when it is not open (never opened, or closed as the least recently used): nothing is
        opened and the order of the least recently used is left alone."""
        return self._space._fd

    def maps_descriptor(self) -> int:
        """The address space's /proc/TID/maps descriptor, for PROCMAP_QUERY
        (tracee.in_kernel_ring): opened through this task on first use and kept until the
        process's memory is closed (at its exec, at its end, or with its /proc/PID/mem as the
        least recently used).  It answers of the address space it was opened in."""
        return self._kept("_maps", "maps", os.O_RDONLY)

    def _kept(self, slot: str, name: str, flags: int) -> int:
        """The space's descriptor of /proc/TID/``name`` held in ``slot``, opened on first use;
        the space counts once under OPEN_LIMIT with all it holds (the least recently used
        space closed to make room, also when the process's own limit is lower)."""
        space = self._space
        fd: int = getattr(space, slot)
        if fd >= 0:
            _open.move_to_end(id(space))
            return fd
        if id(space) not in _open and len(_open) >= OPEN_LIMIT:
            _close_least_recent()
        while True:
            try:
                fd = os.open(f"/proc/{self.pid}/{name}", flags | os.O_CLOEXEC)
                break
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE) and _open:
                    _close_least_recent()  # the limit is lower than OPEN_LIMIT: make room
                    continue
                what = "memory" if name == "mem" else "the maps"
                raise TraceeMemoryError(exc.errno,
                                        f"cannot open {what} of {self.pid}: {exc}") from exc
        setattr(space, slot, fd)
        _open[id(space)] = space
        return fd
        if id(space) not in _open and len(_open) >= OPEN_LIMIT:
            _close_least_recent()
        while True:
            try:
                space._maps = os.open(f"/proc/{self.pid}/maps", os.O_RDONLY | os.O_CLOEXEC)
                break
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE) and _open:
                    _close_least_recent()  # (as descriptor: make room)
                    continue
                raise TraceeMemoryError(exc.errno,
                                        f"cannot open the maps of {self.pid}: {exc}") from exc
        _open[id(space)] = space  # (counted with its /proc/PID/mem: OPEN_LIMIT spaces)
        return space._maps

    def close(self) -> None:
        """Close the process's memory (its descriptors; its tasks' readers go)."""
        self._tasks = None
        if self._maps >= 0:
            os.close(self._maps)
            self._maps = -1
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        _open.pop(id(self), None)

    # --- reading, as the kernel reads ---------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        """The bytes at ``address`` the kernel could read: all ``size`` of them, or those
        before the first it could not (where its copy stops too).  EFAULT when not even the
        first byte can be read."""
        data = self._prefix(address, size) if size > 0 else b""
        if size > 0 and not data:
            raise TraceeMemoryError(errno.EFAULT, f"cannot read at {address & _U64:#x}")
        return data

    def read_exact(self, address: int, size: int) -> bytes:
        """``size`` bytes or EFAULT, as copy_from_user: a struct the kernel copies whole."""
        data = self._prefix(address, size) if size > 0 else b""
        if len(data) != size:
            raise TraceeMemoryError(errno.EFAULT, f"cannot read {size} bytes at "
                                                  f"{address & _U64:#x}")
        return data

    def read_cstring(self, address: int, limit: int = PATH_MAX,
                     too_long: int = errno.ENAMETOOLONG) -> bytes:
        """A NUL-terminated string (without the NUL), as strncpy_from_user reads it for the
        kernel: up to the NUL or the first unreadable byte (EFAULT).  No NUL within ``limit``
        bytes is ``too_long`` (getname: ENAMETOOLONG at PATH_MAX; exec arguments: E2BIG at
        MAX_ARG_STRLEN), whatever follows them."""
        address &= _U64
        # the common case, a short string: one read, searched where it landed (this is the
        # read of almost every stop: _into, inlined)
        reads = self._reads or self._new_reads()
        first = min(limit, _FIRST_READ)
        iov = reads.iov
        iov[1] = iov[3] = first
        iov[2] = address
        got = _vm_readv(self.pid, reads.local, 1, reads.remote, 1, 0)
        if got < 0:
            got = self._into(reads, address, first)  # (again, to learn why it failed)
        end = reads.data.find(0, 0, got)
        if end >= 0 and self.keys_of is None:
            return bytes(reads.view[:end])
        # a longer one, or one running where process_vm_readv stopped (or, with keys, one
        # that protection keys may cut)
        data = bytes(reads.view[:got])
        if got < first:
            data = self._past_unreadable(address, first, data)
        if self.keys_of is not None:
            data = data[:pkeys.readable(self.pid, self.keys_of, address, len(data))]
        chunks: list[bytes] = []
        total, want = 0, first
        while True:
            end = data.find(b"\0")
            if end >= 0:
                chunks.append(data[:end])
                return b"".join(chunks)
            chunks.append(data)
            total += len(data)
            if total >= limit:
                raise TraceeMemoryError(too_long, f"no NUL within {limit} bytes at "
                                                  f"{address:#x}")
            if len(data) < want:
                raise TraceeMemoryError(errno.EFAULT, f"string at {address:#x} runs into "
                                                      f"unreadable memory" if total else
                                        f"cannot read a string at {address:#x}")
            want = min(limit - total, _BUFFER_SIZE)
            data = self._prefix(address + total, want)

    def read_cstrings(self, addresses: list[int], limit: int) -> dict[int, bytes]:
        """What :meth:`read_cstring` gives for each of ``addresses`` whose string a window's
        read found whole (its NUL within ``limit`` bytes), by address.  An exec's argv and
        environment lie together (on the stack, or in a shell's heap): read a window at a
        time, tens of strings cost a few process_vm_readv, not one each (perf: an exec's
        environment is read twice, at its decision and again with the tree frozen).  An
        address not in the answer is the caller's to read alone with read_cstring, which
        gives its string or its error: one a window did not reach or ended in the middle of
        (an unreadable page, a string longer than the window), and every one under
        protection keys, whose limits read_cstring applies."""
        found: dict[int, bytes] = {}
        if self.keys_of is not None or not addresses:
            return found
        ordered = sorted({address & _U64 for address in addresses})
        reads = self._reads or self._new_reads()
        data, view = reads.data, reads.view
        k = 0
        while k < len(ordered):
            start = ordered[k]
            got = self._into(reads, start, _BUFFER_SIZE) if start < _USER_LIMIT else 0
            if got <= 0:
                k += 1  # (read alone: its EFAULT, or what _past_unreadable reaches)
                continue
            cut = -1  # the first string the window ended in: the next window starts there
            while k < len(ordered) and ordered[k] < start + got:
                at = ordered[k] - start
                end = data.find(0, at, got)
                if end >= 0 and end - at < limit:
                    found[ordered[k]] = bytes(view[at:end])
                elif cut < 0 and at > 0:
                    cut = k
                k += 1
            if cut >= 0:
                k = cut
        return found

    def read_pointers(self, address: int, limit: int) -> list[int]:
        """A NULL-terminated array of pointers (exec's argv), as the kernel counts it: EFAULT
        when it runs into unreadable memory before its NULL, E2BIG past ``limit`` entries."""
        out: list[int] = []
        at = address & _U64
        while True:
            block = self._prefix(at, _POINTER_BLOCK, enough=lambda data: b"\0" * 8 in data)
            whole = len(block) // 8 * 8
            if whole == 0:
                raise TraceeMemoryError(errno.EFAULT, "pointer array runs off readable memory")
            for (value,) in struct.iter_unpack("<Q", block[:whole]):
                if value == 0:
                    return out
                if len(out) >= limit:
                    raise TraceeMemoryError(errno.E2BIG, "argument list too long")
                out.append(value)
            at += whole

    def _new_reads(self) -> _ReadBuffer:
        self._reads = _ReadBuffer(_BUFFER_SIZE)
        return self._reads

    def _prefix(self, address: int, size: int,
                enough: Callable[[bytes], bool] | None = None) -> bytes:
        """The readable prefix of ``size`` bytes at ``address``, as the kernel's copy reads
        (empty when the first byte cannot be).  Where process_vm_readv stops short, the rest
        is looked for in mappings only the kernel's copy reads -- unless what was read is
        ``enough`` for the caller already (that costs a look at /proc/PID/maps)."""
        address &= _U64
        data = self._readv(address, size)
        if len(data) < size and not (enough is not None and enough(data)):
            data = self._past_unreadable(address, size, data)
        if self.keys_of is not None:
            data = data[:pkeys.readable(self.pid, self.keys_of, address, len(data))]
        return data

    def _readv(self, address: int, size: int) -> bytes:
        """One process_vm_readv: the readable prefix (empty when the first byte is not)."""
        reads = _ReadBuffer(size) if size > _BUFFER_SIZE else self._reads or self._new_reads()
        return bytes(reads.view[:self._into(reads, address, size)])

    def _into(self, reads: _ReadBuffer, address: int, size: int) -> int:
        """process_vm_readv into ``reads``: how many bytes were read before the first that
        could not be (0 when that is the first)."""
        iov = reads.iov
        iov[1] = iov[3] = size
        iov[2] = address
        got: int = _vm_readv(self.pid, reads.local, 1, reads.remote, 1, 0)
        if got < 0:
            got = _vm_readv_errno(self.pid, reads.local, 1, reads.remote, 1, 0)
            if got < 0:
                err = ctypes.get_errno()
                if err == errno.EFAULT:
                    return 0
                raise TraceeMemoryError(err, f"cannot read memory of {self.pid} at "
                                             f"{address:#x}: {os.strerror(err)}")
        return got

    def _past_unreadable(self, address: int, size: int, data: bytes) -> bytes:
        """process_vm_readv stopped short: continue through mappings the kernel's copy could
        read though process_vm_readv may not (write-only, execute-only), by /proc/PID/mem."""
        while len(data) < size:
            at = address + len(data)
            end = self._accessible_end(at)
            if end is None:
                break
            want = min(size - len(data), end - at)
            try:
                forced = os.pread(self.descriptor(), want, at)
            except OSError:
                break  # not even there (a page beyond the end of its file...)
            data += forced
            if len(forced) < want:
                break
            if len(data) < size:  # what follows that mapping, the usual way
                data += self._readv(address + len(data), size - len(data))
        return data

    def _accessible_end(self, address: int) -> int | None:
        """The end of the mapping holding ``address`` when the kernel's copy could read it
        (readable, writable or executable: not PROT_NONE), else None."""
        if address >= _USER_LIMIT:
            return None
        try:
            with open(f"/proc/{self.pid}/maps", "rb") as maps:
                for line in maps:
                    span, perms = line.split(b" ", 2)[:2]
                    start_text, _, end_text = span.partition(b"-")
                    start, end = int(start_text, 16), int(end_text, 16)
                    if start > address:
                        return None
                    if address < end:
                        return end if perms[:3] != b"---" else None
        except (OSError, ValueError):
            return None
        return None

    # --- writing, with force ------------------------------------------------------------------
    def write(self, address: int, data: bytes) -> None:
        if not 0 <= address < _USER_LIMIT:  # (pwrite's offset is signed)
            raise TraceeMemoryError(errno.EFAULT, f"cannot write at {address:#x}")
        try:
            written = os.pwrite(self.descriptor(), data, address)
        except OSError as exc:
            raise TraceeMemoryError(exc.errno, f"cannot write at {address:#x}") from exc
        if written != len(data):
            raise TraceeMemoryError(errno.EFAULT, f"short write at {address:#x}")

    def write_unforced(self, address: int, data: bytes) -> None:
        """Write as the task itself could (process_vm_writev honours page protections): a
        read-only, PROT_NONE or unmapped page fails with EFAULT."""
        if not 0 <= address < _USER_LIMIT:
            raise TraceeMemoryError(errno.EFAULT, f"cannot write at {address:#x}")
        local = ctypes.create_string_buffer(data, len(data))
        iov = (ctypes.c_uint64 * 4)(ctypes.addressof(local), len(data), address, len(data))
        base = ctypes.addressof(iov)
        written = _vm_writev(self.pid, ctypes.c_void_p(base), 1, ctypes.c_void_p(base + 16),
                             1, 0)
        if written != len(data):
            err = ctypes.get_errno() if written < 0 else errno.EFAULT
            raise TraceeMemoryError(err, f"cannot write at {address:#x}")


def _close_least_recent() -> None:
    _, memory = _open.popitem(last=False)
    if memory._fd >= 0:
        os.close(memory._fd)
        memory._fd = -1
    if memory._maps >= 0:
        os.close(memory._maps)
        memory._maps = -1


def open_descriptors() -> int:
    """How many address spaces have descriptors open -- their /proc/PID/mem, their
    /proc/PID/maps (maps_descriptor), or both (for tests and --stats)."""
    return len(_open)
