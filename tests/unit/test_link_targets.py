"""Review 13: what a symlink a traced program may have planted leads to is looked at before it
is opened (``--log``, a policy written through a link).  Opening is acting: a write-open of
``~/.bashrc`` is reported to whoever watches it (inotify's IN_CLOSE_WRITE: an editor, a
build watcher), a device's driver runs at open (``/dev/watchdog`` arms, for a root tracer),
and a FIFO's open waits for its other end (systrace hung before the run).

Each test runs systrace itself (or its save) and watches the link's target with inotify."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PYTHON, systrace_env

IN_OPEN = 0x20
IN_CLOSE_WRITE = 0x08
IN_CLOSE_NOWRITE = 0x10
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class Watch:
    """inotify's open and close events of one file, as they happened."""

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        wd = libc.inotify_add_watch(self.fd, os.fsencode(path),
                                    IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)
        assert wd >= 0, os.strerror(ctypes.get_errno())

    def events(self) -> list[int]:
        """The masks reported since the last call."""
        masks: list[int] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return masks
            offset = 0
            while offset < len(data):
                _, mask, _, size = _EVENT.unpack_from(data, offset)
                masks.append(mask)
                offset += _EVENT.size + size

    def close(self) -> None:
        os.close(self.fd)


def test_the_watch_sees_a_write_open(tmp_path: Path) -> None:
    """The control: the watch reports a file opened for appending (what the log's open of
    ``~/.bashrc`` through a planted link did before it refused it)."""
    rc = tmp_path / ".bashrc"
    rc.write_text("# rc\n")
    watch = Watch(rc)
    try:
        os.close(os.open(tmp_path / ".bashrc", os.O_WRONLY | os.O_APPEND))
        assert watch.events() == [IN_OPEN, IN_CLOSE_WRITE]
    finally:
        watch.close()


def test_a_log_link_to_a_regular_file_is_refused_unopened(tmp_path: Path) -> None:
    """``--log run.log`` where a traced program made ``run.log`` a link to ``~/.bashrc``:
    refused (exit 2, as before) and the file never opened -- the tracer opened it for
    appending and closed it, which its watchers were told of as a write (IN_CLOSE_WRITE)."""
    rc = tmp_path / ".bashrc"
    rc.write_text("# rc\n")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    log = tmp_path / "run.log"
    log.symlink_to(rc)
    watch = Watch(rc)
    try:
        run = subprocess.run([PYTHON, "-m", "systrace_py", "--log", str(log), "-p",
                              str(policy), "--", "true"], capture_output=True, text=True,
                             env=systrace_env(), timeout=120, check=False)
        assert run.returncode == 2 and "a symbolic link to a file" in run.stderr, run
        assert watch.events() == [], "the tracer opened the link's target before refusing it"
    finally:
        watch.close()
    assert rc.read_text() == "# rc\n"


def test_a_policy_link_to_a_fifo_is_not_opened(tmp_path: Path) -> None:
    """``--save-answers answers.toml`` where a traced program made ``answers.toml`` a link
    to a FIFO: the destination's pin (before the run) read the link's target as a policy
    first (gap #33's check), and the FIFO's open waited for a writer -- systrace hung before
    the run.  Now a target that is no regular file is refused unopened (the pin is tried
    again at a save, and refused there): the run runs.  (The timeout ends a hung run; what
    is asserted is the run's answer and that the FIFO was not opened.)  ``-A -o`` refuses
    a name that is no regular file before it pins."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out = tmp_path / "answers.toml"
    out.symlink_to(fifo)
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    watch = Watch(fifo)
    try:
        try:
            run = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(policy),
                                  "--save-answers", str(out), "--", "true"],
                                 capture_output=True, text=True, env=systrace_env(),
                                 cwd=tmp_path, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            raise AssertionError("systrace waited at the link's FIFO before the run") from None
        assert run.returncode == 0, run
        assert watch.events() == [], "the link's target was opened"
    finally:
        watch.close()
    assert out.is_symlink() and fifo.exists()


def _log_run(tmp_path: Path, log: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    try:
        return subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(policy), "--log", log,
                               "--", "true"], capture_output=True, text=True,
                              env=systrace_env(), cwd=tmp_path, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("systrace waited for a reader of the log's FIFO") from None


def test_a_fifo_at_the_logs_name_with_no_reader_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A traced program may make ``run.log`` a FIFO in the directory the user keeps it in (or
    a link to one): the next run's ``--log run.log`` waited for ever for a reader before the
    run (review 14).  Now it exits 2 saying why -- at the name itself and through a link."""
    os.mkfifo(tmp_path / "run.log")
    (tmp_path / "link.log").symlink_to("run.log")
    for name in ("run.log", "link.log"):
        run = _log_run(tmp_path, name)
        assert run.returncode == 2 and "no process has open for reading" in run.stderr, run


def test_a_fifo_log_with_its_reader_gets_the_records(tmp_path: Path) -> None:
    """A FIFO the user reads (``mkfifo p; jq . < p &``) is still a log: its records arrive,
    each whole (the descriptor is blocking again once opened)."""
    fifo = tmp_path / "run.log"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        run = _log_run(tmp_path, "run.log")
        assert run.returncode == 0, run
        data = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert data.startswith(b"{") and data.endswith(b"\n"), data[:200]


def test_a_logs_lines_are_vouched_for_by_their_runs_end_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team 29 (tests/escape/log_forge.c): the traced program may write its log, so
    ``policy learn`` reads only lines a run vouches for -- its ``end`` record's digest of
    the lines it wrote.  A line added inside a run, one outside any run, another run's
    interleaved, and a forged ``end`` are told; so is a run whose ``start`` says it ends so
    (``ends``) with no ``end`` -- it failed or was killed: a traced program may add its lines
    and then make the run's next write fail (review 17: it was only unended, learned with a
    warning); a run of an older log (no ``ends``) is only unended.  And a run's start says
    where it was written and after which line (``at``, ``after``): a whole run made up and
    written before it, vouched by its own digest, moves it (review 17)."""
    from systrace_py.audit import AuditLog, _LogFile, run_segments

    path = tmp_path / "run.jsonl"
    for _ in range(2):  # (two runs, one after the other: each vouches for its own)
        log = AuditLog([], _LogFile(str(path)))
        log.start(["true"], None, "enforce")
        log.write({"event": "exit", "pid": 1})
        log.close()
        log.close()  # (once: one end record)
    honest = path.read_bytes().split(b"\n")
    assert len(honest) == 7 and run_segments(honest) == ([], [], [])
    added = b'{"event":"syscall","result":"permitted"}'
    # (a line put in moves every later run's start: each says where it was written)
    assert run_segments([*honest[:1], added, *honest[1:]]) == ([(1, 4), (5, 7)], [], [])
    assert run_segments([added, *honest]) == ([(1, 1), (2, 4), (5, 7)], [], [])
    assert run_segments([*honest[:-1], added, b""]) == ([(7, 7)], [], [])
    interleaved = [honest[0], honest[3], honest[1], honest[4], honest[2], honest[5], b""]
    assert run_segments(interleaved)[0]
    forged_end = [*honest[:2], added, b'{"event":"end","digest":"00"}', *honest[3:]]
    assert run_segments(forged_end)[0][0] == (1, 4)
    assert b'"ends":"sha256"' in honest[0]
    assert run_segments([*honest[:2], b""]) == ([(1, 3)], [], [])  # (killed: no end)
    assert run_segments([*honest[:2], b'{"event":"exi']) == ([(1, 3)], [], [])  # (cut short)
    assert run_segments([*honest[:2], added, *honest[3:]])[0][0] == (1, 3)  # (failed, added)
    start = json.loads(honest[0])
    for key in ("ends", "at", "after"):
        del start[key]
    older = [json.dumps(start, separators=(",", ":")).encode(), honest[1]]
    assert run_segments([*older, b""]) == ([], [(1, 3)], [])  # (an older log: no end)
    assert run_segments([*older, b'{"event":"exi']) == ([], [(1, 3)], [])  # (cut short)
    assert run_segments([*older, *honest]) == ([(3, 5), (6, 8)], [(1, 2)], [])  # (moved)
    # a whole run made up, its own digest, written in place before the run's lines (review
    # 17, log_forge.c prepend): it vouches for itself, but the run's start is moved
    made = [b'{"event":"start"}', added]
    made.append(b'{"event":"end","digest":"%s"}'
                % hashlib.sha256(b"".join(line + b"\n" for line in made)).hexdigest().encode())
    assert run_segments([*made, *honest]) == ([(4, 6), (7, 9)], [], [])
    assert run_segments([*made[:2], *honest]) == ([(3, 5), (6, 8)], [(1, 2)], [])
    # (a first line that begins no log, as a run asks before it marks a file -- review 17)
    assert run_segments([b"", *honest])[0][0] == (1, 1)
    assert run_segments([b" ", *honest[:2], b""]) == ([(1, 1), (2, 4)], [], [])
    from systrace_py import audit

    monkeypatch.setattr(audit, "_FIRST_LINE_MAX", len(honest[0]) - 1)
    assert run_segments(honest) == ([(1, 1)], [], [])
    monkeypatch.undo()
    disowned = b'{"event":"disowned","tracer":1}'  # (a later run's word on this file)
    assert run_segments([*honest[:-1], disowned, b""]) == ([(7, 7)], [], [7])


def test_a_run_tells_its_log_file_changed_where_it_did_not_write(tmp_path: Path) -> None:
    """Red team 32 (tests/escape/log_shift.c): a program that may write the log rewrote it in
    place -- a made-up run in front of the run's lines, or over an earlier run at the same
    length -- and each run's digest vouched for its own lines.  A run's file must hold what
    it held at the open, then exactly what the run wrote (``_LogFile.intact``); else its end
    appends a disowning record to its own file.  A log appended to by runs one after the
    other is intact for each; a pipe is not looked at."""
    from systrace_py.audit import AuditLog, _LogFile, run_segments

    path = tmp_path / "run.jsonl"

    def one_run(meddle: Callable[[], object] = lambda: None) -> bool:
        log = AuditLog([], _LogFile(str(path)))
        log.start(["true"], None, "enforce")
        meddle()
        log.write({"event": "exit", "pid": 1})
        assert log.file is not None
        intact = log.file.intact()
        log.close()
        return intact

    assert one_run() and one_run()  # (two runs, one after the other)
    honest = path.read_bytes()
    assert run_segments(honest.split(b"\n")) == ([], [], [])

    def prepend() -> None:
        path.write_bytes(b'{"event":"start"}\n' + path.read_bytes())

    def same_length() -> None:  # (the first run's first byte, a space: JSON ignores it)
        data = path.read_bytes()
        path.write_bytes(b" " + data[1:])

    def appended() -> None:
        with path.open("ab") as f:
            f.write(b"\n")

    def own_lines() -> None:  # (review 18: the run's own start, rewritten at its length --
        # a run whose log write then fails writes no end, and a made-up run with its own
        # end in their place read as vouched; failed on main: intact)
        data = path.read_bytes()
        at = data.rindex(b'{"time"')
        path.write_bytes(data[:at] + b" " + data[at + 1:])

    for meddle in (prepend, same_length, appended, own_lines):
        path.write_bytes(honest)
        assert not one_run(meddle)
        assert run_segments(path.read_bytes().split(b"\n"))[2], meddle  # (disowned)
    # systrace's own stderr as the log, or a pipe: not looked at
    read_end, write_end = os.pipe()
    try:
        log_file = _LogFile(f"/proc/self/fd/{write_end}")
        log_file.write(b"{}\n")
        assert log_file.intact()
        log_file.close()
    finally:
        os.close(read_end)
        os.close(write_end)
