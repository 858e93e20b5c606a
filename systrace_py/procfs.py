"""/proc/PID/stat, read in one place.

The task's name (``comm``, in parentheses) comes second and the task chooses it: it may hold
spaces, parentheses, any bytes.  Every field after it is found after the *last* ")", read as
bytes -- the mistake of splitting the whole line is made nowhere if it is made only here.
"""

from __future__ import annotations

import _socket  # (``socket`` imports enum, selectors...: the resident client's start)
import errno
import os

from systrace_py.kernel import (
    PIDFD_COREDUMP_USER,
    PIDFD_GET_INFO,
    PIDFD_INFO_COREDUMP,
    PIDFD_INFO_SIZE,
    SO_PEERPIDFD,
    TYPE_CHECKING,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Final

#: Positions in :func:`stat_fields` (the fields after the name; proc(5) numbers them 3...).
STATE: Final = 0       # field 3: R, S, D, Z (zombie), X (dead), t (traced)...
PPID: Final = 1        # field 4
PGRP: Final = 2        # field 5
SESSION: Final = 3     # field 6
TTY_NR: Final = 4      # field 7: the controlling terminal's device number (0: none)
TPGID: Final = 5       # field 8: the foreground process group of that terminal (-1: none)
FLAGS: Final = 6       # field 9: the kernel's task flags (PF_*)
NUM_THREADS: Final = 17  # field 20: the threads of the task's process (a zombie leader's too)
STARTTIME: Final = 19  # field 22: clock ticks after boot (with the pid: the task's identity)


def stat_fields(data: bytes) -> list[bytes]:
    """The fields of a stat line after the task's name."""
    return data.rpartition(b")")[2].split()


def read(path: str) -> bytes:
    """A /proc file's content, read whole (raises OSError).  Read with the descriptor's own
    calls: a buffered file object costs four more system calls (fstat twice, the TCGETS of
    isatty, lseek twice) to read what is mostly one page -- /proc/PID/status is read at the
    start, at every exec and at every new task's first look at its credentials."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, 8192)
        if not data:
            return data
        chunks = [data]  # (read to the end: a short read is not one)
        while chunk := os.read(fd, 8192):
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def reopen(held: int, flags: int) -> int:
    """The file an ``O_PATH`` descriptor ``held`` names, opened with ``flags`` (OSError): the
    way to look at a file (fstat) before opening it, with no name resolved between.  An
    open may act on a file before the caller could refuse it -- a device's driver runs
    (``/dev/watchdog`` arms), a write-open ends a lease and is reported (inotify's
    IN_CLOSE_WRITE, a watcher rebuilding), a FIFO's open waits for its other end -- so what
    a traced program may have named is opened only after its kind is checked (review 13)."""
    return os.open(held_name(held), flags | os.O_CLOEXEC)


def read_regular(path: str, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``path`` when it is a regular file, else None (not there,
    not regular, not readable).  For the files systrace reads at names a traced program may
    have made (a script's ``#!`` line, a repository's git config): found by ``O_PATH``,
    checked, and only that very file opened (:func:`reopen`) -- a FIFO there waited for a
    writer for ever, a link to a device was that device's open (red team 28)."""
    try:
        held = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        if os.fstat(held).st_mode & 0o170000 != 0o100000:  # (S_ISREG)
            return None
        fd = reopen(held, os.O_RDONLY)
        try:
            return os.read(fd, limit)
        finally:
            os.close(fd)
    except OSError:
        return None
    finally:
        os.close(held)


def held_name(held: int) -> str:
    """A name by which the file of descriptor ``held`` is opened again (:func:`reopen`), for
    a caller that opens by name (the policy loader)."""
    return f"/proc/self/fd/{held}"


def read_stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/``pid``/stat after the name (``pid`` may be "self", "1/task/2"),
    None when there is no such task."""
    try:
        return stat_fields(read(f"/proc/{pid}/stat"))
    except OSError:
        return None


def controlling_terminal(pid: int | str) -> int | None:
    """The device number of task ``pid``'s controlling terminal (its stat's tty_nr; 0: it has
    none), None when its stat cannot be read -- the one reading of it (/dev/tty is the
    caller's, a question's terminal is the tracer's, the audit's screen is ours)."""
    fields = read_stat(pid)
    try:
        return int(fields[TTY_NR]) if fields is not None else None
    except (ValueError, IndexError):
        return None


def start_time(data: bytes) -> int:
    """The start time of a stat line (IndexError or ValueError for a line that is not one)."""
    return int(stat_fields(data)[STARTTIME])


#: Where a task sleeps while its vfork child still has the memory (/proc/TID/wchan):
#: wait_for_vfork_done, inlined into kernel_clone since 5.10 (_do_fork before).  The task is
#: inside its clone call: it leaves it only through a ptrace stop (its vfork-done event, an
#: interrupt's trap) before any instruction of its own.
IN_CLONE: Final = frozenset({b"wait_for_vfork_done", b"kernel_clone", b"_do_fork", b"do_fork"})


def cwd_text(tid: int) -> str | None:
    """/proc/TID/cwd's text, as the kernel shows it (``... (deleted)`` too); None when it
    cannot be read (the task is gone)."""
    try:
        return os.readlink(f"/proc/{tid}/cwd")
    except OSError:
        return None


def wchan(tid: int) -> bytes | None:
    """The kernel function a task sleeps in (/proc/TID/wchan): b"0" when it runs or the
    kernel has no symbols, None when there is no such task."""
    try:
        return read(f"/proc/{tid}/wchan")
    except OSError:
        return None


def program(pid: int) -> str:
    """The program a process runs (its /proc/PID/exe), read through a live thread when its
    leader exited while threads of it live on: a zombie has no memory, so no exe link.
    OSError (the leader's) when no task of it has one."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError as leaders:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            raise leaders from None
        for tid in tids:
            try:
                return os.readlink(f"/proc/{pid}/task/{tid}/exe")
            except OSError:
                continue
        raise leaders from None


#: PROCMAP_QUERY (Linux 6.11), _IOWR('f', 17, struct procmap_query): the mapping at an address
#: from a descriptor of /proc/PID/maps, with no text made; the struct's layout (104 bytes:
#: size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset,
#: inode; dev_major, dev_minor, vma_name_size, build_id_size; vma_name_addr, build_id_addr)
_PROCMAP_QUERY: Final = 0xC0000000 | 104 << 16 | ord("f") << 8 | 17
_PROCMAP_LAYOUT: Final = "<9Q4I2Q"


def mapped_file(tid: int, address: int) -> tuple[int, int] | None:
    """The (device, inode) of the file the task has mapped at ``address`` (None: nothing, or
    an anonymous mapping; OSError: unreadable, the task gone).  At the exec event of an
    image with an ELF interpreter, the task's instruction pointer is the interpreter's
    entry: the file found there is the interpreter the kernel loaded -- whether it put it
    at an address of its choice (ET_DYN, AT_BASE) or at the file's own (ET_EXEC: AT_BASE
    is 0).

    Asked with PROCMAP_QUERY (one ioctl, ~10 us with the open), or on a kernel without it
    found in the map's text (~50-150 us: the kernel writes every mapping's line, its path
    too).  Either gives the file system's device (``i_sb->s_dev``) and the inode's number,
    which is not always what ``stat`` gives: on btrfs ``stat`` gives the subvolume's device
    (review 17), and on overlayfs the two agree on this kernel (6.18: the overlay's file, as
    a ``stat`` by its overlay name gives it; kernels before file_user_inode gave the layer's
    file) with its layers on one file system, as tested -- not known on several.  Compare
    it with :func:`mapped_identity`, not with a ``stat``."""
    import fcntl  # (not on the resident client's start: procfs is)
    import struct

    fd = os.open(f"/proc/{tid}/maps", os.O_RDONLY | os.O_CLOEXEC)
    try:
        query = bytearray(struct.pack(_PROCMAP_LAYOUT, 104, 0, address, *(0,) * 12))
        try:
            fcntl.ioctl(fd, _PROCMAP_QUERY, query)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None  # (nothing mapped there)
            if exc.errno not in (errno.ENOTTY, errno.EINVAL):
                raise
        else:
            inode, major, minor = struct.unpack(_PROCMAP_LAYOUT, query)[8:11]
            return (os.makedev(major, minor), inode) if inode else None
        text = os.read(fd, 1 << 20)
        while chunk := os.read(fd, 1 << 20):
            text += chunk
    finally:
        os.close(fd)
    for line in text.split(b"\n"):  # (a file's name holds any byte but "\n", escaped)
        fields = line.split(None, 5)
        if not fields:
            continue
        start, _, end = fields[0].partition(b"-")
        if not int(start, 16) <= address < int(end, 16):
            continue
        inode = int(fields[4])
        if inode == 0:
            return None
        major, _, minor = fields[3].partition(b":")
        return os.makedev(int(major, 16), int(minor, 16)), inode
    return None


#: libc's mmap and munmap, by ctypes (the tracer has it loaded; the ``mmap`` module would be
#: one more extension to import: tests/cli/test_startup_imports.py), set up at first use
_LIBC: Any = None


def mapped_identity(fd: int) -> tuple[int, int] | None:
    """The (device, inode) the memory map gives the file open for reading at ``fd`` -- what
    :func:`mapped_file` says of a task that has it mapped --, found by mapping a page of it
    here and asking our own map.  Not always what ``fstat`` gives: on btrfs the map names
    the file system's device and ``stat`` the subvolume's (an anonymous device of its own:
    review 17), and on overlayfs with layers on several file systems it may be a layer's.
    None: it cannot be mapped (the kernel could not map it either)."""
    global _LIBC
    import ctypes

    if _LIBC is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long)
        libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        _LIBC = libc
    address = _LIBC.mmap(None, 1, 1, 2, fd, 0)  # (PROT_READ, MAP_PRIVATE)
    if address is None or address == ctypes.c_void_p(-1).value:
        return None  # (MAP_FAILED)
    try:
        return mapped_file(os.getpid(), address)
    finally:
        _LIBC.munmap(address, 1)


def _argv(path: str) -> tuple[str, ...] | None:
    """The words of a cmdline file (None: unreadable or empty)."""
    try:
        raw = read(path)
    except OSError:
        return None
    words = raw.split(b"\0")
    if words and words[-1] == b"":
        words.pop()
    return tuple(w.decode("utf-8", "surrogateescape") for w in words) if words else None


def cmdline(pid: int) -> tuple[str, ...] | None:
    """A process's argv as /proc says (for one whose exec was not seen: an attached one; a new
    image stopped at its exec event), read through a live thread when the leader exited (a
    zombie's is empty); None when no task of it has one."""
    leader = _argv(f"/proc/{pid}/cmdline")
    if leader:
        return leader  # (the leader's: its thread list is read only when it has none)
    try:
        tids = [t for t in os.listdir(f"/proc/{pid}/task") if t != str(pid)]
    except OSError:
        return None
    for tid in tids:
        found = _argv(f"/proc/{pid}/task/{tid}/cmdline")
        if found:
            return found
    return None


#: PF_IO_WORKER and PF_USER_WORKER (include/linux/sched.h): a thread the kernel made in the
#: process to act for it -- an io_uring's SQPOLL poller (iou-sqp-PID) or worker (iou-wrk-PID),
#: a vhost device's worker (vhost-PID).  It runs no code of the program and makes no system
#: call, yet opens, reads, connects or writes the process's memory for it.
PF_IO_WORKER: Final = 0x10
PF_USER_WORKER: Final = 0x4000


def kernel_worker(tid: int | str) -> bool:
    """Whether the task is such a thread (PF_IO_WORKER or PF_USER_WORKER in /proc/TID/stat's
    flags); False when there is no such task."""
    fields = read_stat(tid)
    return fields is not None and int(fields[FLAGS]) & (PF_IO_WORKER | PF_USER_WORKER) != 0


#: the task is exiting (do_exit): it returns to no code of its own, and no tracer may seize it
PF_EXITING: Final = 0x4


def exiting(tid: int | str) -> bool:
    """Whether the task is exiting (PF_EXITING in /proc/TID/stat's flags) or gone."""
    fields = read_stat(tid)
    return fields is None or int(fields[FLAGS]) & PF_EXITING != 0


def alive(pid: int) -> bool:
    """Whether a task is there and not a zombie (for a process that is not our child: no
    wait)."""
    fields = read_stat(pid)
    return bool(fields) and fields[STATE] not in (b"Z", b"X")  # type: ignore[index]


def tracers_of(pid: int) -> set[int] | None:
    """The TracerPids of every thread of a process (0: not traced) -- a tracer may have
    seized some only (an attached process whose leader, a zombie, no tracer may seize) --,
    None when they cannot all be read."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    found = set()
    for tid in tids:
        tracer = tracer_of(f"{pid}/task/{tid}")
        if tracer is None:
            return None
        found.add(tracer)
    return found or None


def every_task() -> Iterator[int]:
    """The tid of every task /proc shows: each process's threads (/proc/PID/task); a
    process gone while it is read is left out.  (Slow: only for a scan of the whole system.)"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            members = os.listdir(f"/proc/{entry}/task")
        except OSError:
            continue
        yield from map(int, members)


def tracer_of(pid: int | str) -> int | None:
    """The TracerPid of a process (0: not traced), None when it cannot be read (no such
    process)."""
    found = status_numbers(pid, b"TracerPid")
    return found[0] if found else None


def status_lines(data: bytes) -> list[bytes]:
    """The lines of a /proc/PID/status text, which end at a newline alone: the task's name
    (the first line, which the task sets) has its newlines escaped by the kernel, but not a
    carriage return nor the other characters at which bytes.splitlines() also ends a line --
    a name "\\rSeccomp:\\t0" read so is a line of its own, before the real one (red team 12,
    attach_forged.c)."""
    return data.split(b"\n")


def status_value(data: bytes, name: bytes) -> bytes | None:
    """What one line of a /proc/PID/status text holds (``name`` without its colon:
    b"Seccomp", b"CapEff"...), None when it has no such line."""
    for line in status_lines(data):
        key, _, value = line.partition(b":")
        if key == name:
            return value.strip()
    return None


def status_numbers(pid: int | str, name: bytes) -> list[int] | None:
    """The decimal numbers of one line of /proc/PID/status (b"TracerPid", b"NSpid"...),
    None when it cannot be read or has no such line."""
    try:
        value = status_value(read(f"/proc/{pid}/status"), name)
    except OSError:
        return None
    return None if value is None else [int(n) for n in value.split()]


def has_capability(status: bytes, capability: int, of: bytes = b"CapEff") -> bool | None:
    """Whether a /proc/PID/status text's task holds a capability in the set ``of`` (its
    effective one, CapEff, unless another is named: CapPrm), None when it has no such line;
    ValueError when the mask is not hexadecimal."""
    mask = status_value(status, of)
    return None if mask is None else bool(int(mask, 16) >> capability & 1)


STANDARD_FDS: tuple[int, ...] = (0, 1, 2)


def standard_fds_closing(tid: int | str) -> frozenset[int]:
    """Which of the descriptors 0, 1 and 2 of task ``tid`` a program it execs starts
    without: closed now, or open close-on-exec.  A descriptor whose fdinfo cannot be read
    (the task gone, no permission) counts as closing: the caller refuses (fail closed)."""
    closing: set[int] = set()
    for fd in STANDARD_FDS:
        try:  # (an fdinfo text has status's "key:\tvalue" lines)
            flags = status_value(read(f"/proc/{tid}/fdinfo/{fd}"), b"flags")
            if flags is None or int(flags, 8) & os.O_CLOEXEC:
                closing.add(fd)
        except (OSError, ValueError):
            closing.add(fd)
    return frozenset(closing)


def personality(tid: int | str) -> int | None:
    """Task ``tid``'s execution domain and flags (/proc/TID/personality, hexadecimal), None
    when it cannot be read."""
    try:
        return int(read(f"/proc/{tid}/personality"), 16)
    except (OSError, ValueError):
        return None


def own_standard_fds_closing() -> frozenset[int]:
    """Which of this process's descriptors 0-2 a command it starts begins without (closed,
    or held close-on-exec: cli.report.standard_streams holds a closed one so)."""
    closing: set[int] = set()
    for fd in STANDARD_FDS:
        try:
            if not os.get_inheritable(fd):
                closing.add(fd)
        except OSError:
            closing.add(fd)
    return frozenset(closing)


#: the largest pid a kernel gives (PID_MAX_LIMIT on 64 bits): any other number names no task
#: (and os.pidfd_open raises OverflowError past a C int: review 56)
PID_MAX_LIMIT: Final = 4 * 1024 * 1024


def _coredump_info(tid: int) -> tuple[int, int] | None:
    """PIDFD_GET_INFO's answer for task ``tid`` asked for its coredump mask: (the mask of what
    it filled, the coredump mask), or None where the kernel answered nothing of that task
    (gone, no such ioctl, a pid no task can have, another task's answer)."""
    if not 0 < tid <= PID_MAX_LIMIT:
        return None
    import fcntl  # (a C module; only here, off the start-up path)
    try:
        pidfd = os.pidfd_open(tid, os.O_EXCL)  # (PIDFD_THREAD: the task, a thread too)
    except (OSError, OverflowError):
        return None
    try:
        info = bytearray(PIDFD_INFO_SIZE)
        info[0:8] = PIDFD_INFO_COREDUMP.to_bytes(8, "little")
        fcntl.ioctl(pidfd, PIDFD_GET_INFO, info)
    except OSError:
        return None
    finally:
        os.close(pidfd)
    if int.from_bytes(info[16:20], "little") != tid:
        return None
    return int.from_bytes(info[0:8], "little"), int.from_bytes(info[64:68], "little")


def told_dumpable(tid: int) -> bool:
    """Whether the kernel says task ``tid``'s memory is dumpable as its user's
    (SUID_DUMP_USER: what ptrace_may_access asks before it wants CAP_SYS_PTRACE in the
    memory's user namespace) -- read from PIDFD_GET_INFO's coredump_mask, which the kernel
    fills from a live task's memory when asked (6.18; 6.16, where it came, filled it only
    after a core dump, and 0 here is not told).  False wherever
    it is not told so: another answer (not dumpable, dumpable by root only), a task without
    memory or that dumped core, an older kernel (no such ioctl, no coredump_mask), a task
    gone, a number no pid can be.  /proc shows dumpability only as the owner of the task's
    files, which is root's either way for a root process (PathResolver._may_follow).  The pid
    names the task only while it lives: the caller confirms that after the call."""
    info = _coredump_info(tid)
    return info is not None and bool(info[0] & PIDFD_INFO_COREDUMP) \
        and info[1] == PIDFD_COREDUMP_USER


#: whether this kernel fills a live task's coredump mask from its memory (asked once, of the
#: tracer itself: told, and one of PIDFD_COREDUMP_SKIP, _USER, _ROOT)
_live_masks: list[bool] = []


def told_without_memory(tid: int) -> bool:
    """Whether the kernel says task ``tid`` has no memory: it answered for that very task but
    with no coredump mask from its memory -- the mask left out, or told as 0 (6.18 tells 0 of
    a kernel thread and of a zombie leader, where a task with memory always has one of
    SKIP, USER, ROOT) -- on a kernel that fills it for a task with memory (asked once of this
    process).  __ptrace_may_access checks dumpability only for a task with memory
    (``mm && ...``): a zombie leader whose threads live on, a zombie, a kernel thread -- the
    check the kernel skips, PathResolver._may_follow skips (review 56).  False on a kernel
    that tells no live task's mask (6.16's first cut: not told, refused).  The pid names the
    task only while it lives: the caller confirms that after the call."""
    if not _live_masks:
        own = _coredump_info(os.getpid())
        _live_masks.append(own is not None and bool(own[0] & PIDFD_INFO_COREDUMP)
                           and own[1] != 0)
    if not _live_masks[0]:
        return False
    info = _coredump_info(tid)
    return info is not None and (not info[0] & PIDFD_INFO_COREDUMP or info[1] == 0)


def pidfd_pid(pidfd: int) -> int:
    """The pid a pidfd names (-1: it has exited, 0: not in our pid namespace)."""
    with open(f"/proc/self/fdinfo/{pidfd}", "rb") as info:
        for line in info:
            if line.startswith(b"Pid:"):
                return int(line.split()[1])
    return 0


def peer(sock: Any) -> tuple[int, int, set[int]] | None:
    """The peer of a connected unix socket (a ``socket.socket`` or ``_socket.socket``): its
    pid, its uid, and the TracerPids of its threads (:func:`tracers_of`); None when that
    cannot be told (it has gone, its /proc is unreadable).  The pid is the process that
    connected (or listened), by a pidfd taken then (SO_PEERPIDFD) that is checked to name the
    same process after its tracers were read -- on an older kernel SO_PEERCRED's pid (a pid
    reused between the connect and this look is not told).  A peer in a pid namespace we do
    not see has pid 0 and no tracers read."""
    try:
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    except OSError:
        return None
    pid, uid = int.from_bytes(creds[0:4], "little", signed=True), int.from_bytes(
        creds[4:8], "little")
    try:
        pidfd = sock.getsockopt(_socket.SOL_SOCKET, SO_PEERPIDFD)
    except OSError:
        pidfd = -1
    try:
        if pidfd >= 0:
            pid = pidfd_pid(pidfd)
        if pid <= 0:
            return None if pid < 0 else (0, uid, set())
        tracers = tracers_of(pid)
        if tracers is None or (pidfd >= 0 and pidfd_pid(pidfd) != pid):
            return None
        return pid, uid, tracers
    except OSError:
        return None
    finally:
        if pidfd >= 0:
            os.close(pidfd)
