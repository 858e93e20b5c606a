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

import _thread
import contextlib
import os
import select
import signal

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


# --- a FUSE server inside the traced tree (fuse47) -----------------------------------------
#
# A FUSE server the tree runs answers the tracer's own lookups of its mount too.  Where the
# server, answering one, makes a call the tracer stops (a path call: fs_fuse_server.c opens
# /proc/PID/comm), the server waits for the tracer and the tracer -- blocked in its lookup --
# for the server: on main the whole run hung (red team 44 "What remains").  Once a task of
# the tree mounts a FUSE type (or makes any fsmount: :func:`mounts_fuse`), the native loop
# hands every path call to Python before any lookup of its own (FastLoop._tell_answered
# gives it "/"), and a thread of the tracer
# (:class:`ServerWatch`) looks for that deadlock: the tracing thread asleep in a FUSE request
# (its wchan) across three looks, without a context switch between them, while a thread of
# a traced process holding /dev/fuse sits in a ptrace stop and ran neither (one thread is
# enough -- its others may wait forever elsewhere: review 26).  Every traced process holding
# /dev/fuse is then killed (SIGKILL works in a ptrace stop; all of them, since the kernel
# aborts the connection when its last descriptor closes and a forked child may hold it):
# their /dev/fuse closed, the kernel aborts the connection, the tracer's lookup fails
# (ECONNABORTED, then ENOTCONN below the mount) and the call is decided on that -- refused
# where a name matters -- and the run goes on.

#: the kernel functions a task waits in for a FUSE server's answer (its /proc wchan);
#: fuse_get_req: a request not yet sent, until the server answers FUSE_INIT (review 26: a
#: server stopped before reading its INIT left the tracer there, unseen)
FUSE_WAITS = frozenset({"request_wait_answer", "__fuse_simple_request", "fuse_simple_request",
                        "fuse_wait_aborted", "fuse_get_req"})
#: the looks at a deadlock before a server is killed, and the time between two
WATCH_LOOKS = 3
WATCH_INTERVAL = 0.25
#: the looks at the tracing thread in one FUSE wait, without a context switch, before the
#: traced tree is killed whatever holds the connection (review 26: a /dev/fuse descriptor
#: in flight in a socket, held by no process, outlives every holder's death); read when a
#: watch starts, so the tracer's own process may set it (a test: fewer looks, the same
#: kill -- nothing a traced program does reaches it)
WATCH_GIVE_UP = 40


def mounts_fuse(name: str, args: tuple[int, ...], strings: dict[int, bytes] | None) -> bool:
    """Whether a call makes a file system of a type a process answers: mount(2) whose type
    (argument 2), or fsopen whose name (argument 0), is fuse, fuseblk or fuse.NAME -- as the
    decision read it (DecodedCall.held_strings) -- or any fsmount.  An fsmount's type is
    its context's, made by an fsopen the seccomp filter lets run unstopped where the policy
    permits it (filterplan: fsopen is no view call), so it is not known here; fsmount
    always stops (a view call), before any lookup of the mount it makes, and is rare: each
    one arms the watch (review 26)."""
    if name == "fsmount":
        return True
    index = {"mount": 2, "fsopen": 0}.get(name)
    if index is None or not strings or index not in strings:
        return False
    fstype = strings[index].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return answered_by_a_process(fstype)


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _switches(status: str) -> tuple[str, ...]:
    """A task's context switch counts, from its /proc status (unchanged: it never ran)."""
    return tuple(line for line in status.splitlines() if "ctxt_switches:" in line)


#: a look at the deadlock: the tracing thread's context switches, and each stopped server's
#: pid with its stopped threads' (ServerWatch._look)
Look = tuple[tuple[str, ...], tuple[tuple[int, tuple[str, ...]], ...]]


class ServerWatch:
    """Watches for the deadlock of the tracing thread and a FUSE server of the tree (module
    text above).  Started in the tracing thread, once, in the process that traces."""

    def __init__(self, tracer_tid: int, tracer_pid: int,
                 interval: float = WATCH_INTERVAL, looks: int = WATCH_LOOKS,
                 give_up: int | None = None) -> None:
        self.tid, self.pid = tracer_tid, tracer_pid
        self.interval, self.looks = interval, looks
        self.give_up = WATCH_GIVE_UP if give_up is None else give_up
        self.killed: list[int] = []
        import threading  # (only once the tree mounts a FUSE type: no plain start pays it)

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="systrace-fusewatch",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        seen: list[Look] = []
        waits: list[tuple[str, ...]] = []  # (the tracing thread's, in one FUSE wait)
        while not self._stop.wait(self.interval):
            try:
                point = self._wait_point()
                waiting = _switches(point[1]) if point is not None else None
                if waiting is None or (waits and waiting != waits[-1]):
                    waits.clear()
                if waiting is not None:
                    waits.append(waiting)
                if len(waits) >= self.give_up:
                    # the holders' deaths aborted nothing (or no holder showed): the file is
                    # held where no process of the tree shows it -- the tree dies, and with
                    # it the sockets that hold it (fail closed: the run ends)
                    self._kill(tuple(self._traced()), tree=True)
                    waits.clear()
                found = self._look(point) if point is not None else None
            except Exception:  # (a watch that fails must not end the run)
                found = None
            if found is None:
                seen.clear()
                continue
            look, holders = found
            if seen and look != seen[-1]:
                seen.clear()
            seen.append(look)
            if len(seen) >= self.looks:
                # every traced holder, not only the stopped one: the connection is aborted
                # when the last descriptor of it closes, and a child may hold it too
                self._kill(holders)
                seen.clear()

    def _wait_point(self) -> tuple[str, str] | None:
        """(the tracing thread's wchan, its status) while it waits for a FUSE answer (the
        wchan read again after the status: still that wait), else None."""
        base = f"/proc/{self.pid}/task/{self.tid}"
        wchan = _read(f"{base}/wchan")
        if wchan is None or wchan.strip() not in FUSE_WAITS:
            return None
        status = _read(f"{base}/status")
        if status is None or _read(f"{base}/wchan") != wchan:
            return None
        return wchan, status

    def _look(self, point: tuple[str, str]) -> tuple[Look, tuple[int, ...]] | None:
        """(the tracing thread's context switches, the stopped holders' stopped threads with
        theirs), and every traced holder of /dev/fuse, while the tracing thread waits for a
        FUSE answer (``point``: :meth:`_wait_point`'s, read once a look) and some traced
        process holding /dev/fuse has a thread in a ptrace stop; None otherwise."""
        wchan, status = point
        holders = self._holders()
        servers = tuple(sorted((pid, stopped) for pid in holders
                               if (stopped := self._stopped_threads(pid)) is not None))
        if not servers:
            return None
        if _read(f"/proc/{self.pid}/task/{self.tid}/wchan") != wchan:  # (still in that wait)
            return None
        return (_switches(status), servers), tuple(sorted(holders))

    def _traced(self) -> list[int]:
        """The processes this tracer traces: whose TracerPid is the tracing thread's (the
        kernel shows the tracer's thread id there, not its process's -- review 29: a run
        traced from a library user's second thread matched nothing and hung as on main)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and self._ours(int(entry)):
                found.append(int(entry))
        return found

    def _ours(self, pid: int) -> bool:
        """Whether process ``pid`` is traced by the tracing thread."""
        status = _read(f"/proc/{pid}/status")
        return status is not None and f"\nTracerPid:\t{self.tid}\n" in status

    def _holders(self) -> list[int]:
        """The processes this tracer traces that hold /dev/fuse."""
        return [pid for pid in self._traced() if self._holds_fuse(pid)]

    @staticmethod
    def _holds_fuse(pid: int) -> bool:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/fuse":
                    return True
            except OSError:
                continue
        return False

    @staticmethod
    def _stopped_threads(pid: int) -> tuple[str, ...] | None:
        """The context switches of the threads of ``pid`` in a ptrace stop ("t"), None when
        none is.  One stopped thread is enough: while the tracing thread waits in the
        request, no stop is ever taken, and the server's other threads may wait forever
        elsewhere (review 26: a thread in pause() kept the deadlock from a watch that asked
        every thread to be stopped)."""
        switches: list[str] = []
        try:
            tids = sorted(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            return None
        for tid in tids:
            stat_text = _read(f"/proc/{pid}/task/{tid}/stat")
            status = _read(f"/proc/{pid}/task/{tid}/status")
            if stat_text is None or status is None:
                continue  # (gone)
            if stat_text.rsplit(")", 1)[-1].split()[0] == "t":
                switches.extend((tid, *_switches(status)))
        return tuple(switches) if switches else None

    def _kill(self, pids: tuple[int, ...], tree: bool = False) -> None:
        """Kill each of ``pids`` that is still a process this tracer traces (by a pidfd:
        a pid freed and taken again between the look and the kill is not signalled).
        ``tree``: the whole traced tree, the holders' deaths having ended nothing."""
        for pid in pids:
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                if not self._ours(pid):
                    continue  # (not ours now: the pidfd holds the process the check saw)
                comm = (_read(f"/proc/{pid}/comm") or "?").strip()
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except OSError:
                    continue
            finally:
                os.close(pidfd)
            self.killed.append(pid)
            message = (f"systrace: killed process {pid} ({comm}), a FUSE server of the traced "
                       "tree: the tracer's own lookup waited for its answer while it waited "
                       "for the tracer\n") if not tree else (
                f"systrace: killed process {pid} ({comm}) of the traced tree: the tracer's "
                "own lookup waited for a FUSE answer that never came, its server's death "
                "having ended nothing (a /dev/fuse held where no process shows it)\n")
            with contextlib.suppress(OSError):
                os.write(2, message.encode("utf-8", "replace"))


#: the watches of the runs now tracing, by (process, tracing thread): a run is traced by one
#: thread, and a library user's process may trace one run after another, from any thread
_WATCHES: dict[tuple[int, int], ServerWatch] = {}


def _key() -> tuple[int, int]:
    return os.getpid(), _thread.get_native_id()


def watch_servers() -> None:
    """A task of the tree mounts a FUSE type: from now on, in this run, the native loop hands
    every path call to Python (:func:`served_in_tree`) and a :class:`ServerWatch` of the
    tracing thread runs, until :func:`end_watch`.  Called in the tracing thread."""
    key = _key()
    if key not in _WATCHES:
        _WATCHES[key] = ServerWatch(key[1], key[0])


def served_in_tree() -> bool:
    """Whether a task of the tree traced by this thread mounted a FUSE type (in this run)."""
    return _key() in _WATCHES


#: the runs (by process, tracing thread) a task of whose tree may search keys the tracer's
#: searches do not find (:func:`note_own_keys`)
_OWN_KEYS: set[tuple[int, int]] = set()


def note_own_keys() -> None:
    """A task of the tree traced by this thread added a key, or made a keyring its searches
    look in that the tracer's do not (syscalls.py: add_key's and keyctl's guard).  A v1
    fscrypt policy's key is looked for in the keyrings of whoever looks a name up: with one
    the tracer lacks, the tracer's lookup in that directory reads another name -- a name
    missing, a symlink's ciphertext for its target -- than the kernel's for the task (red
    team 60, ``tests/escape/fscrypt_keyring.c``).  From now on, in this run, every path is
    taken as one a process answers: the native loop hands each path call to Python, which
    holds it (an open follows no symlink) and refuses what the kernel would look up again
    where a rule decides by name (Tracer._answered_refusal).  Called in the tracing
    thread."""
    _OWN_KEYS.add(_key())


def own_keys() -> bool:
    """Whether a task of the tree traced by this thread may find keys the tracer does not
    (:func:`note_own_keys`, in this run)."""
    return _key() in _OWN_KEYS


def end_watch() -> None:
    """The run traced by this thread is over (Tracer.close): its watch stops, and the next
    run of the thread starts with none (review 26: the first run's watch lived on, watching
    its own tracing thread, with every later path call of the process Python's); so does
    its note of keys of the tree's own (:func:`note_own_keys`)."""
    _OWN_KEYS.discard(_key())
    watch = _WATCHES.pop(_key(), None)
    if watch is not None:
        watch.stop()
