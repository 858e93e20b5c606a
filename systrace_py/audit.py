"""The decision log: one JSON object per line, for every decision a rule made and for process
events (fork, exec, exit).  ``systrace policy learn`` and ``systrace policy check`` read it back,
so its fields are a contract: see docs/cli.md ("The log").

A log file is a record of what the traced programs did, so it fails closed: a record that cannot
be written raises :class:`LogError` (the tracer then kills the traced tree), and the file never
ends in half a record -- each record is one write(2), and a short or failed one is cut back off.
The ``-e`` copy on stderr is only a view: what cannot be written there is dropped.
"""

from __future__ import annotations

import _thread  # (threading: after the exec, when a thread is made; start-up, issue 16)
import contextlib
import errno
import os
import stat
import time
from typing import IO, Any

from systrace_py import outputs, procfs
from systrace_py.logrecords import (
    LOG_VERSION,
    BadLine,
    Event,
    LoggedCall,
    Result,
    ResultName,
    parse_line,
)
from systrace_py.policy.model import Decision, Rule


class LogError(Exception):
    """The log file cannot be opened or written: ``str()`` names the file and the error."""

    def __init__(self, path: str, error: OSError) -> None:
        self.path = path
        self.error = error
        super().__init__(f"--log {path}: {error.strerror or error}")


def run_segments(lines: list[bytes]
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[int]]:
    """Which lines of a log (its lines, without their newlines) no run vouches for: the
    ranges of line numbers (first, last; from 1) that are *forged* -- outside any run, in a
    run whose ``end`` digest they do not match (a line a traced program wrote, or another
    run's interleaved), or in a run whose ``start`` said it would end so (``ends``) and that
    has no ``end`` (it failed -- its log could not be written: a traced program may fill the
    disk after adding its lines (review 17) -- or was killed, or still runs) -- and those
    merely *unended*: a run logged before runs ended so (no ``ends``, no ``end``); and the
    line numbers of ``disowned`` records, by which a run said the file is not the log it
    wrote (_LogFile.disown).  :meth:`AuditLog.start` and :meth:`AuditLog.close` write them.

    A digest holds no secret: a whole run a program made up (its start, its lines, the end
    with their digest) vouches for itself.  Written in place before the run's own lines --
    the log read, cut and written again, the same file at the same name --, it was learned
    (review 17, log_forge.c prepend).  So a run's start also says where it was written
    (``at``: its byte offset) and what came before it (``after``: the SHA-256 of the line
    before it, null at the file's start), and a run whose start is not where it says, or
    not after what it says, is forged: nothing can be put before a run without moving it or
    changing the line before it -- the last run's end, whose digest cannot be made to fit
    lines of the program's."""
    import hashlib

    forged: list[tuple[int, int]] = []
    unended: list[tuple[int, int]] = []
    disowned: list[int] = []
    first: int | None = None  # the open run's first line
    promised = False  # (whether it said it would end with a digest)
    placed = True  # (whether its start is where and after what it says)
    digest = hashlib.sha256()
    offset = 0  # (of the line, in the file)
    for number, raw in enumerate(lines, 1):
        at, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            if first is not None and number < len(lines):
                digest.update(raw + b"\n")
            continue
        try:
            record = parse_line(raw)
        except BadLine:
            record = None
        event = record.get("event") if isinstance(record, dict) else None
        if event == Event.DISOWNED:
            disowned.append(number)
        if event == Event.START:
            if first is not None:
                (forged if promised or not placed else unended).append((first, number - 1))
            first, digest = number, hashlib.sha256()
            promised = isinstance(record, dict) and record.get("ends") == _ENDS
            placed = _in_place(record, at, lines[number - 2] if number > 1 else None)
        elif first is None:
            if number < len(lines) or record is not None:  # (a last line cut short: skipped)
                forged.append((number, number))
            continue
        if event == Event.END:
            if record.get("digest") != digest.hexdigest() or not placed:
                forged.append((first, number))
            first = None
            continue
        digest.update(raw + b"\n")
    if first is not None:
        (forged if promised or not placed else unended).append((first, len(lines)))
    if (any(line.strip() for line in lines) and not begins_a_log(lines[0])
            and not (forged and forged[0][0] == 1)):
        # (what a run that finds another file at its log's name asks before it marks it --
        # an empty first line, a start record too long -- is asked here too: a file it
        # would not mark is no log to learn from; _LogFile.disown, review 17)
        forged.insert(0, (1, 1))
    return forged, unended, disowned


def _in_place(record: Any, offset: int, previous: bytes | None) -> bool:
    """Whether a start record (at byte ``offset``, after the line ``previous``: None at the
    file's start) is where it says it was written and after what (run_segments); a start
    that says neither (an older systrace's) is taken as it is."""
    import hashlib

    at, after = record.get("at"), record.get("after")
    if at is None and after is None and "at" not in record:
        return True
    if type(at) is not int or at != offset:
        return False
    if at == 0:
        return after is None and previous is None
    return (previous is not None and isinstance(after, str)
            and hashlib.sha256(previous).hexdigest() == after)


def rule_ref(rule: Rule | None, table: str) -> dict[str, Any] | None:
    """How the log names a rule: its table, number and text."""
    if rule is None:
        return None
    return {"table": table, **rule.describe()}


#: how a log is opened: O_NONBLOCK so that a FIFO at its name with no reader is an error
#: (ENXIO, :func:`_blocking`), not a tracer waiting for ever before the run -- a traced
#: program may have made one there (review 14)
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NONBLOCK

#: What a run's start record says its end will carry (``ends``): the SHA-256 of its lines.
#: A run that says so and has no end failed or was killed -- a traced program can make a
#: log write fail (a full disk) after adding lines of its own: no line of it is vouched for
_ENDS = "sha256"

#: A new log is the user's alone, whatever the umask: it records the traced programs' argv
#: (passwords and tokens given on command lines), the files they opened and the hosts they
#: looked up -- as private as a shell's history.  A log that is there already keeps its mode.
LOG_MODE = 0o600


class _LogFile:
    """A log file written one whole record per write(2) (O_APPEND), never left with a part."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fd = _open_log(path)
        except OSError as exc:
            raise LogError(path, exc) from None
        #: What the file held when opened (a regular file that is not our stdout or stderr,
        #: where systrace says its words too): its size and the SHA-256 of those bytes --
        #: read only when there are some (a log appended to); None: not looked at (intact)
        self._before: tuple[int, bytes] | None = None
        #: the bytes this run wrote to it since, whole records only (a part cut back off),
        #: and their SHA-256 (intact)
        import hashlib

        self._written = 0
        self._own = hashlib.sha256()
        try:
            info = os.fstat(self.fd)
            if stat.S_ISREG(info.st_mode) and not _own(info):
                self._before = (info.st_size, _digest_of(self.fd, info.st_size))
        except OSError as exc:
            os.close(self.fd)
            raise LogError(path, exc) from None

    def write(self, data: bytes) -> None:
        written = 0
        try:
            while written < len(data):  # a short write (disk nearly full): the rest says why
                written += os.write(self.fd, data[written:])
        except OSError as exc:
            self._cut(written)
            raise LogError(self.path, exc) from None
        self._written += written
        self._own.update(data)

    def intact(self) -> bool:
        """Whether the file holds what it held when it was opened, unchanged, followed by
        exactly as many bytes as this run wrote (:meth:`AuditLog.close`, once no process of
        the tree is left).  The ``end`` digest vouches for the run's lines wherever they are,
        and nothing in a digest is secret: a program that may write the file rewrote it in
        place -- a made-up run of its own, with its own digest, put in front of every byte
        the tracer had written (which the tracer's appends then followed), or written over
        an earlier run at the same length -- and ``policy learn`` learned the made-up run
        (red team 32, tests/escape/log_shift.c).  Any other change to the run's own lines
        breaks its digest (a reader finds it), so the size and the bytes before the run
        tell the rest -- and the run's own bytes, which must be what it wrote: a run whose
        log write failed (a full disk) writes no ``end``, and a run of the program's own
        written over its lines at their length, with its own end, read as vouched for
        (review 18).  True where the file was not looked at (not a regular file)."""
        if self._before is None:
            return True
        size, digest = self._before
        try:
            if os.fstat(self.fd).st_size != size + self._written:
                return False
            return (size == 0 or _digest_of(self.fd, size) == digest) and \
                _digest_of(self.fd, self._written, size) == self._own.digest()
        except OSError:
            return False

    def mark(self, data: bytes) -> bool:
        """Append ``data`` (a :data:`Event.DISOWNED` record) to this run's own file, which a
        traced program changed (:meth:`intact`); whether it was written."""
        try:
            return os.write(self.fd, data) == len(data)
        except OSError:
            return False

    def _cut(self, written: int) -> None:
        """Take back the part of a record that did get written (not possible on a device)."""
        if written:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, os.fstat(self.fd).st_size - written)

    def place(self) -> tuple[int, str | None]:
        """Where a record written now goes (the file's size: O_APPEND) and the SHA-256 of the
        line before it there (None: at the file's start -- or the line cannot be read,
        which a reader takes as a run out of place: run_segments).  Read as
        :func:`_digest_of` reads the file (:func:`_reopen_owned`: a log of the user's own
        mode 0200 too -- read with procfs.reopen, an unprivileged run said ``at: 0`` there,
        and every run appended to it was refused as out of place, review 19)."""
        import hashlib

        try:
            size = os.fstat(self.fd).st_size
        except OSError:
            return 0, None
        if size == 0:
            return 0, None
        try:
            reader = _reopen_owned(self.fd, os.O_RDONLY)
            try:
                tail = os.pread(reader, min(size, 1 << 20), max(0, size - (1 << 20)))
            finally:
                os.close(reader)
        except OSError:
            return size, None
        if not tail.endswith(b"\n"):
            return size, None
        _, newline, line = tail[:-1].rpartition(b"\n")
        if not newline and size > len(tail):
            return size, None  # (a line longer than what was read)
        return size, hashlib.sha256(line).hexdigest()

    def still_named(self) -> bool:
        """Whether the log's name still leads to this file (a traced program that may write
        its directory may have put another file there: AuditLog.close)."""
        try:
            return _same_file(os.stat(self.path), self.fd)
        except OSError:
            return False

    def disown(self, data: bytes) -> bool:
        """Append ``data`` (a :data:`Event.DISOWNED` record) to the systrace log that is at
        the log's name now, which is not this run's (:meth:`still_named`): a log the traced
        program made whole -- its own start, observations and end digest (nothing in a digest
        is secret) -- and renamed there, or linked there, vouches for itself, and ``policy
        learn`` would grant what it says (red team 29, gap #42).  At the run's end no process
        of the tree is left to change the name again, and the record makes every reader
        refuse the file (``cli.policy.read_log``).  Only a systrace log is written to, through
        a link too (:func:`_a_log`, looked at before it is opened for writing): a link to
        another file of the user's is no log a policy is learned from.  Whether it was
        written."""
        try:
            held = os.open(self.path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False  # (nothing there: nothing to learn from)
        try:
            if not _a_log(held):
                return False
            fd = _reopen_owned(held, _APPEND | os.O_NOCTTY)
        except OSError:
            return False
        finally:
            os.close(held)
        try:
            return os.write(fd, data) == len(data)
        except OSError:
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _reopen_owned(held: int, flags: int) -> int:
    """:func:`procfs.reopen` of the file at ``held`` for writing (or reading) -- of a file of
    this user's that its mode keeps from it too: a program that made a log of its own made
    it 0444 as well, and an unprivileged tracer's disowning record could not be appended
    (root's can); one that made a log 0200 kept its bytes from :func:`_digest_of`.  Its
    owner may give itself the permission, and does, for the one open; the mode is then put
    back (_LogFile.disown)."""
    try:
        return procfs.reopen(held, flags)
    except PermissionError:
        info = os.fstat(held)
        if info.st_uid != os.geteuid():
            raise
        where, mode = f"/proc/self/fd/{held}", stat.S_IMODE(info.st_mode)
        os.chmod(where, mode | (stat.S_IWUSR if flags & (os.O_WRONLY | os.O_RDWR)
                                else stat.S_IRUSR))
        try:
            return procfs.reopen(held, flags)
        finally:
            os.chmod(where, mode)


def _digest_of(fd: int, size: int, start: int = 0) -> bytes:
    """The SHA-256 of ``size`` bytes from ``start`` of the regular file open at ``fd`` (for
    writing: it is opened again to be read), or of what it has of them (_LogFile.intact)."""
    import hashlib

    digest = hashlib.sha256()
    if size == 0:
        return digest.digest()
    reader = _reopen_owned(fd, os.O_RDONLY)
    try:
        at = 0
        while at < size:
            chunk = os.pread(reader, min(size - at, 1 << 20), start + at)
            if not chunk:
                break
            digest.update(chunk)
            at += len(chunk)
    finally:
        os.close(reader)
    return digest.digest()


def _open_log(path: str) -> int:
    """The log's descriptor, opened for appending -- never a regular file through a symlink
    at the log's name.  The lines carry what the traced programs chose (the paths of their
    calls), and the program may write the directory where the user keeps ``--log run.log``:
    a symlink it put there, to ``~/.bashrc``, had the next run's tracer append its text to
    a file its policy kept it from, which the user's next shell runs (bash expands ``$(...)``
    in a line whose command is not found: red team 20).  A symlink is followed only to this
    process's own stdout or stderr (``--log /dev/stderr``, even ``2>FILE``), a pipe or socket
    (``--log >(jq .)``), the run's own terminal or ``/dev/null`` -- not to a regular file, nor
    to another device (a disk, ``/dev/mem``, another session's terminal, the console: a root
    tracer would write there) -- and nothing is created through one (a dangling link, to
    ``~/.bashrc.d/x``).  What a link leads to is looked at before it is opened
    (:func:`procfs.reopen`): opening is already acting on it (a device's driver runs,
    ``~/.bashrc`` was opened for writing and a watcher told so; review 13).

    One name up the same: a symlink on the way to the log's directory that the program may
    have put there (:func:`outputs.planted_link`: ``logs -> ~/.bashrc.d``) is followed only
    to a log that is there already, which is appended to; nothing is created through it.
    The log is opened in the directory that walk reached (a descriptor)."""
    base = os.path.basename(path)
    held_dir, link = outputs.open_directory(path)
    try:
        create = 0 if link is not None else os.O_CREAT
        try:
            fd = _blocking(os.open(base, _APPEND | create | os.O_NOFOLLOW, LOG_MODE,
                                   dir_fd=held_dir))
        except OSError as exc:
            if exc.errno == errno.ENXIO and _a_fifo(base, held_dir):
                raise _no_reader(path) from None
            if exc.errno == errno.ENOENT and link is not None:
                raise _through(link, "which is no log there already") from None
            if exc.errno != errno.ELOOP:
                raise
            return _open_through_link(base, held_dir, path)
        if link is not None and not _a_log(fd):
            os.close(fd)
            raise _through(link, "which is no systrace log")
        return fd
    finally:
        os.close(held_dir)


def _blocking(fd: int) -> int:
    """``fd``, opened with O_NONBLOCK (:data:`_APPEND`), made blocking again: a record is
    written whole even to a pipe whose reader is slow."""
    os.set_blocking(fd, True)
    return fd


def _a_fifo(base: str, held_dir: int) -> bool:
    """Whether ``base`` in ``held_dir`` is a FIFO (ENXIO also says a socket file)."""
    try:
        return stat.S_ISFIFO(os.stat(base, dir_fd=held_dir, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _no_reader(path: str) -> OSError:
    """Why a log that is a FIFO is not written: nothing reads it (yet)."""
    return OSError(errno.ENXIO, "a FIFO that no process has open for reading: start its "
                   "reader first (systrace does not wait for one)", path)


def _through(link: str, why: str) -> OSError:
    """Why a log is not written through ``link``, a symlink on its way (outputs.planted_link)."""
    return OSError(errno.ELOOP, f"on the way to the log, {link} is a symbolic link to "
                   f"{os.path.realpath(link)} in a directory a traced program may write, to a "
                   f"file {why}: a log is appended through such a link only to a log (the "
                   "program may have put the link there); name the directory it leads to",
                   link)


#: the longest first line of a log that is looked at (a start record's argv may be long:
#: ARG_MAX, its JSON escapes): a longer one begins no log -- neither for a run that finds
#: it at its log's name (_a_log) nor for a reader (run_segments)
_FIRST_LINE_MAX = 1 << 24


def begins_a_log(line: bytes) -> bool:
    """Whether ``line`` (a file's first, without its newline) begins a systrace log: a
    run's start record (``{"event": "start", ...}``, what every log begins with) no longer
    than :data:`_FIRST_LINE_MAX`.  The one question a run asks before it writes to a file it
    did not make (_a_log) and a reader asks of a log (run_segments): a file the run would
    not mark as disowned must be no log a policy is learned from (review 17: an empty first
    line, or a start record past the 64 KiB the run read, and the run left a made-up log
    unmarked that ``policy learn`` read)."""
    if len(line) > _FIRST_LINE_MAX:
        return False
    try:
        record = parse_line(line)
    except BadLine:
        return False
    return isinstance(record, dict) and record.get("event") == Event.START


def _a_log(fd: int) -> bool:
    """Whether the regular file open at ``fd`` is a systrace log: empty (a log begun), or its
    first line a run's start record (:func:`begins_a_log`) -- not any file whose first line
    is a JSON object (a tool's one-line config, reached through a link a program planted on
    the way: review 14)."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        if st.st_size == 0:
            return True
        reader = procfs.reopen(fd, os.O_RDONLY | os.O_CLOEXEC)
        with os.fdopen(reader, "rb") as f:
            first = f.readline(_FIRST_LINE_MAX + 2)
    except OSError:
        return False
    return begins_a_log(first.removesuffix(b"\n"))


def _open_through_link(base: str, held_dir: int, path: str) -> int:
    """:func:`_open_log` for a symlink at the log's own name (in the pinned directory)."""
    held = os.open(base, os.O_PATH | os.O_CLOEXEC, dir_fd=held_dir)
    try:
        st = os.fstat(held)
        if not _may_follow(st):
            raise OSError(errno.ELOOP, "a symbolic link to a file, not to this run's terminal, "
                          "a pipe or stdout/stderr (a traced program may have put it there): "
                          "name the file itself", path)
        try:
            fd = _blocking(procfs.reopen(held, _APPEND | os.O_NOCTTY))
        except OSError as exc:
            if exc.errno == errno.ENXIO and stat.S_ISFIFO(st.st_mode):
                raise _no_reader(path) from None
            raise
    finally:
        os.close(held)
    if stat.S_ISCHR(st.st_mode) and not (os.isatty(fd) or _same_file(st, os.devnull)
                                         or _own(st)):
        os.close(fd)  # (a terminal's number, no terminal: opened, then closed unwritten)
        raise OSError(errno.ELOOP, "a symbolic link to a device that is no terminal", path)
    return fd


#: /dev/tty's device number: the opener's controlling terminal, whichever it is
_DEV_TTY = os.makedev(5, 0)


def _may_follow(st: os.stat_result) -> bool:
    """Whether the log is opened through a symlink to the file ``st`` describes (not yet
    opened): this process's own stdout or stderr, a pipe, a socket, ``/dev/null``, or a
    terminal of the run's own (:func:`_our_terminal`; :func:`_open_log` checks it is one
    once open)."""
    return (_own(st) or stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)
            or (stat.S_ISCHR(st.st_mode) and (_our_terminal(st)
                                              or _same_file(st, os.devnull))))


def _our_terminal(st: os.stat_result) -> bool:
    """Whether the character device ``st`` is a terminal of this run's: ``/dev/tty`` (the
    controlling terminal), the controlling terminal by its own name, or the file of stdin,
    stdout or stderr.  Not any device of a terminal's major: another session's
    pseudo-terminal, a virtual console, a serial port or the system console is not the
    user's screen, and a root tracer would write the program's text there (red team 25)."""
    if st.st_rdev == _DEV_TTY or any(_same_file(st, fd) for fd in (0, 1, 2)):
        return True
    controlling = procfs.controlling_terminal("self")
    return bool(controlling) and st.st_rdev == controlling


def _own(st: os.stat_result) -> bool:
    """Whether ``st`` is the file of this process's stdout or stderr."""
    return any(_same_file(st, own) for own in (1, 2))


def _same_file(st: os.stat_result, other: int | str) -> bool:
    """Whether ``st`` is the file of descriptor or path ``other``."""
    try:
        own = os.fstat(other) if isinstance(other, int) else os.stat(other)
    except OSError:
        return False
    return (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino)


class AuditLog:
    """Writes log records to a file and/or a text stream (stderr, ``-e``).

    The file is the user's, and often in a directory the traced program may write: a line
    the program appends during the run would be read back by ``policy learn`` as a call it
    made (red team 29, tests/escape/log_forge.c: the policy rebuilt from the log granted a
    read the run never made).  So the run's last record (``end``, written on :meth:`close`)
    carries the SHA-256 of every line the run wrote to the file, from its ``start`` on, and
    :func:`run_segments` tells a reader which lines no run vouches for."""

    def __init__(self, sinks: list[IO[str]], file: _LogFile | None = None) -> None:
        import hashlib

        self.sinks = sinks
        self.file = file
        #: The first write error of the file: once set, nothing more is written.
        self.failed: LogError | None = None
        self._lock = _thread.allocate_lock()  # (systrace's resolver logs from its own threads)
        self._digest = hashlib.sha256()  # (of the lines written to the file)
        self._ended = False

    @classmethod
    def open(cls, path: str | None, to_stderr: bool, stderr: IO[str]) -> AuditLog | None:
        """The log of a run; :class:`LogError` when the file cannot be opened for appending."""
        file = _LogFile(path) if path is not None else None
        sinks = [stderr] if to_stderr else []
        return cls(sinks, file) if file is not None or sinks else None

    def close(self) -> None:
        """End the run's log: its ``end`` record (the digest of what it wrote), once."""
        if self.file is not None and not self._ended:
            self._ended = True
            if self.failed is None:
                with contextlib.suppress(LogError):  # (said already, or nothing to say)
                    self.write({"event": Event.END, "digest": self._digest.hexdigest()})
            if not self.file.still_named():
                self._disown()
            elif not self.file.intact():
                self._disown(changed=True)
            self.file.close()

    def _disown(self, changed: bool = False) -> None:
        """The log's name no longer leads to the file this run wrote (:meth:`close`), or
        (``changed``) it does, but the file was changed where this run did not write
        (_LogFile.intact): say so, and mark the log that is there, if any, as none of this
        run's (_LogFile.disown, _LogFile.mark)."""
        import json

        from systrace_py.report import say

        assert self.file is not None
        record = {"time": round(time.time(), 6), "v": LOG_VERSION, "event": Event.DISOWNED,
                  "tracer": os.getpid()}
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        if changed:
            marked = self.file.mark(data)
            say(f"--log {self.file.path}: the file was changed while this run logged to it, "
                "where the run did not write (a traced program may have made up a run in it, "
                "or another run logged to it at the same time)"
                + (": policy learn refuses it" if marked else " -- do not learn from it"))
            return
        marked = self.file.disown(data)
        say(f"--log {self.file.path}: that name no longer leads to the file this run logged "
            "to (replaced or removed while it ran: a traced program may have done it) -- what "
            "is there now is not this run's log" + (
                ", and says so at its end: policy learn refuses it" if marked else
                "; do not learn from it"))

    def write(self, record: dict[str, Any]) -> None:
        """Append one record; :class:`LogError` (now and for every later record) when the
        file cannot take it."""
        if self.failed is not None:
            raise self.failed
        import json  # only runs that log pay for it (start-up, issue 16)

        record = {"time": round(time.time(), 6), "v": LOG_VERSION, **record}
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self.file is not None:
                data = line.encode()
                try:
                    self.file.write(data)
                except LogError as exc:
                    self.failed = exc
                    raise
                self._digest.update(data)
            for sink in self.sinks:
                with contextlib.suppress(OSError, ValueError):
                    sink.write(line)
                    sink.flush()

    def start(self, argv: list[str], policy: str | None, mode: str) -> None:
        """The run's first record; ``ends``: its log ends with the digest of its lines (a
        run that says so and has no ``end`` vouches for none of them), ``at`` and ``after``:
        its byte offset in the file and the SHA-256 of the line before it (run_segments)."""
        record: dict[str, Any] = {"event": Event.START, "argv": argv, "policy": policy,
                                  "mode": mode, "tracer": os.getpid(), "ends": _ENDS}
        if self.file is not None:
            # (where it goes and after what: nothing is put before it unseen, run_segments)
            record["at"], record["after"] = self.file.place()
        self.write(record)

    def decision(self, who: dict[str, Any], syscall: str, args: dict[str, Any],
                 decision: Decision, result: ResultName, call: LoggedCall | None = None) -> None:
        """A decision on a call, and what became of it (:class:`Result`)."""
        record = {"event": Event.SYSCALL, **who, "syscall": syscall, "args": args,
                  "action": decision.action.value, "result": result,
                  "rule": rule_ref(decision.rule, decision.table), "table": decision.table,
                  "reason": decision.reason}
        if call is not None:
            record["call"] = call.to_json()
            if call.again:
                record["again"] = call.again
        if result in (Result.REFUSED, Result.WOULD_REFUSE, Result.MISSING):
            record["errno"] = decision.errno_name
        if decision.redirect is not None:
            record["redirect"] = str(decision.redirect)
        if decision.redirects and len(decision.redirects) > 1:
            record["redirects"] = {role: str(r) for role, r in decision.redirects.items()}
        self.write(record)

    def injection(self, who: dict[str, Any], syscall: str, args: dict[str, Any], rule: Rule,
                  table: str, result: str) -> None:
        """A call an inject rule tampered with: ``result`` "injected" (or "would-inject", in
        a dry run); ``injected`` says what was done (errno, retval, signal, delays).  A call
        whose result was injected did not run; one only delayed or signalled has its own
        decision record too.  Learning reads neither as a call the program may make."""
        injection = rule.inject
        record: dict[str, Any] = {"event": Event.SYSCALL, **who, "syscall": syscall,
                                  "args": args,
                                  "action": "inject", "result": result,
                                  "rule": rule_ref(rule, table), "table": table,
                                  "reason": "rule",
                                  "injected": injection.describe() if injection else {}}
        if injection is not None and injection.errno is not None:
            record["errno"] = record["injected"]["errno"]
        self.write(record)

    def resolution(self, name: str, qtype: int, server: str, addresses: list[str],
                   rule: dict[str, Any] | None, why: str | None = None) -> None:
        """A DNS query a traced program sent, as systrace's resolver handled it: the name,
        the query type (1: A, 28: AAAA), the server it went to, the addresses the answer
        gave for the name, or the rule that refused it (answered "no such name") -- or,
        with no rule, ``why`` it was refused (no traced process sent it)."""
        record: dict[str, Any] = {"event": Event.RESOLVE, "name": name, "type": qtype,
                                  "server": server}
        if rule is not None or why is not None:
            record.update(result="refused", rule=rule)
            if why is not None:
                record["why"] = why
        else:
            record.update(result="resolved", addresses=addresses)
        self.write(record)

    def engine(self, who: dict[str, Any], syscall: str, args: dict[str, Any], errno_name: str,
               why: str, call: LoggedCall | None = None, kernel: bool = False) -> None:
        """A call the engine answered itself.  ``kernel``: with the errno the kernel gives
        these arguments, so the call failed as natively (result "failed"), not "refused"."""
        record = {"event": Event.ENGINE_REFUSAL, **who, "syscall": syscall, "args": args,
                  "result": Result.FAILED if kernel else Result.REFUSED, "errno": errno_name,
                  "why": why}
        if call is not None:
            record["call"] = call.to_json()
            if call.again:
                record["again"] = call.again
        self.write(record)

    def process(self, event: str, who: dict[str, Any], **extra: Any) -> None:
        self.write({"event": event, **who, **extra})

    def exit(self, who: dict[str, Any], status: int) -> None:
        """A process ended: its exit code, or the signal that killed it (a wait status)."""
        if os.WIFSIGNALED(status):
            self.process(Event.EXIT, who, signal=os.WTERMSIG(status))
        else:
            self.process(Event.EXIT, who, code=os.WEXITSTATUS(status))
