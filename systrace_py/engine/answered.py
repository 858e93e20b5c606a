"""Where file systems a process answers (FUSE) are mounted, in the tracer's view.

A FUSE server answers every lookup of its file system itself, and each request carries the
pid of the task that asks: it can tell the tracer's resolver that a name is an empty
directory and, a moment later, the kernel looking the same name up for the program that it
is a symlink to the secret's directory -- nothing renamed, no race, no task of the tree
involved (red team 44, ``tests/escape/fs_fuse.c``).  So a path below such a mount is never
taken on the tracer's word: the call is held (an open becomes ``openat2`` with
``RESOLVE_NO_SYMLINKS``, which fails ELOOP where the kernel would leave the tracer's
answer), even in a tree of one task, and a call the kernel resolves again by itself is
refused where a rule decides by name (Tracer._answered_refusal).

The mount points are read from ``/proc/self/mountinfo`` and read again when the kernel says
the mount table changed (``POLLPRI`` on that file: a change by any process, outside the tree
too).  The native loop gets them (``_cloop.c set_answered``) with a descriptor of its own
of the same file, and hands Python any path call below one of them, or made after a change
it has not been told of.
"""

from __future__ import annotations

import os
import select

from systrace_py.views import ANSWERED_FILESYSTEMS, answered_by_a_process, parse_mountinfo

MOUNTINFO = "/proc/self/mountinfo"

#: the file system types the policy trusts to answer every process alike (its top-level
#: ``trusted_filesystems``: "fuse.sshfs", or "fuse" for every FUSE type): not counted here
_trusted: frozenset[str] = frozenset()


def trust(types: tuple[str, ...] | frozenset[str]) -> None:
    """The types of the run's policy's ``trusted_filesystems`` (set at each run's start: a
    resident worker is a fork of a server that may have served another policy)."""
    global _trusted
    if frozenset(types) == _trusted:
        return
    _trusted = frozenset(types)
    if _MOUNTS is not None and _MOUNTS.pid == os.getpid():
        _MOUNTS.reread()


def _counted(fstype: str) -> bool:
    """Whether a mount of this type is one a process answers, and not trusted by the policy."""
    return answered_by_a_process(fstype) and fstype not in _trusted \
        and fstype.split(".", 1)[0] not in _trusted


class AnsweredMounts:
    """The mount points of the file systems a process answers, kept current."""

    def __init__(self, mountinfo: str = MOUNTINFO) -> None:
        self.pid = os.getpid()  # (the process that opened it: mounts())
        self._poll = select.poll()
        self.points: tuple[str, ...] = ("/",)  # (unreadable: everything is, fail closed)
        try:
            self._fd: int | None = os.open(mountinfo, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None
            return
        self._poll.register(self._fd, select.POLLPRI)
        self._read()

    def _read(self) -> None:
        assert self._fd is not None
        chunks = []
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            while chunk := os.read(self._fd, 1 << 16):
                chunks.append(chunk)
        except OSError:
            self.points = ("/",)
            return
        text = b"".join(chunks).decode("utf-8", "surrogateescape")
        self.points = _points(text)

    def reread(self) -> None:
        """Read the mount table again now (the trusted types changed)."""
        if self._fd is not None:
            self._read()

    def current(self) -> tuple[str, ...]:
        """The mount points now (read again when the mount table changed since last asked)."""
        if self._fd is not None and self._poll.poll(0):
            self._read()
        return self.points

    def below(self, path: str) -> bool:
        """Whether ``path`` (absolute, canonical, in the tracer's view) lies on or below one
        of the mount points."""
        return below(self.current(), path)


_MOUNTS: AnsweredMounts | None = None


def points_of(tid: int) -> tuple[str, ...]:
    """The mount points of file systems a process answers in the mount namespace of task
    ``tid``, by the names that task gives them (/proc/TID/mountinfo: relative to its root),
    read now; ("/",) when it cannot be read (fail closed).  For a task that does not see the
    tracer's tree (another namespace, another root), whose namespace may show a FUSE mount
    at a place the tracer's table has none -- the directory holding one bound elsewhere with
    MS_REC, one it mounted itself (review 24)."""
    try:
        with open(f"/proc/{tid}/mountinfo", "rb") as f:
            data = f.read()
    except OSError:
        return ("/",)
    if not any(b" - " + kind.encode() in data for kind in ANSWERED_FILESYSTEMS):
        return ()  # (a type follows " - ": none of those, no parse)
    text = data.decode("utf-8", "surrogateescape")
    return _points(text)


def _points(mountinfo: str) -> tuple[str, ...]:
    """The mount points of a mountinfo text's file systems a process answers, not trusted."""
    return tuple(sorted({entry.mount_point for entry in parse_mountinfo(mountinfo)
                         if _counted(entry.fstype)}))


def below(points: tuple[str, ...], path: str) -> bool:
    """Whether ``path`` (absolute, canonical) lies on or below one of ``points``."""
    return any(point == "/" or path == point or path.startswith(point + "/")
               for point in points)


def mounts() -> AnsweredMounts:
    """The tracer's one AnsweredMounts (made at the first question, and again in a forked
    process: a resident worker must not share its descriptor's poll state -- the kernel's
    "changed since last read" is the open file's -- with the server or another worker)."""
    global _MOUNTS
    if _MOUNTS is None or _MOUNTS.pid != os.getpid():
        _MOUNTS = AnsweredMounts()
    return _MOUNTS
