"""Approvers: answering asks from anywhere, one JSON object per line (``--ask-via``).

The terminal prompt is one front end for ASK; an approver is the other: a program -- an editor
extension, an agent harness, a CI script -- that gets every question the prompt would show as
a JSON object on a line and answers with one, in the prompt's words.  docs/asking.md describes
the protocol; ``approver.schema.json`` beside this module is its JSON Schema (its
``version`` is the protocol's).

* ``exec:CMD`` starts CMD (shell words, no shell) once per run; systrace writes to its stdin
  and reads its stdout.  It is started detached (its own session, not systrace's child), so
  it neither takes the traced program's terminal signals nor is waited for by the tracer;
  when systrace ends it sees end of file on its stdin.
* ``unix:PATH`` listens on a unix socket (mode 0600, removed at exit) for one approver to
  connect; asks wait for it (``--ask-timeout`` applies) and are sent when it does.

Fail closed, never hang: an approver that exits, closes, sends what is not a protocol message
or answers an id never asked is *lost*: the asks waiting for it are refused, each later ask is
refused at once (as without a terminal), and stderr says so.  An answer that is well formed
but does not fit its ask (a scope it does not offer, detach where the policy has no
``detach = true``) refuses that one call and is told back as an ``error`` message.

``python -m systrace_py.approver --rules FILE`` is a small approver that answers from a file of
rules (first match wins): for tests, and for CI runs that know their answers in advance.
"""

from __future__ import annotations

import argparse
import contextlib
import errno as errno_module
import fnmatch
import json
import os
import queue
import shlex
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from systrace_py import __version__, procfs
from systrace_py.engine.signals import enforcer
from systrace_py.policy.environment import env_command_at, searches_working_directory
from systrace_py.report import say
from systrace_py.supervisor import Answer, AnswerKind, Asker, AskRequest
from systrace_py.terminal import printable
from systrace_py.ui.answering import (
    BURST,
    Interpreter,
    call_text,
    describe_answer,
    linked_names,
    rule_text,
)
from systrace_py.ui.answers import VERBS, AnswerError, Parsed, compose, errno_value
from systrace_py.ui.offers import OfferError

__all__ = [
    "MAX_LINE",
    "ApproverAsker",
    "ApproverError",
    "ProtocolError",
    "ask_message",
    "hello_message",
    "open_approver",
    "parse_via",
    "protocol_version",
    "read_answer",
    "read_message",
]

#: The longest line an approver may send (bytes): a longer one is not a protocol message.
MAX_LINE = 1 << 20
#: The answers an approver may give: the prompt's verbs, written out.
ANSWER_WORDS = tuple(word for word in VERBS if word != "help")

Respond = Callable[[Answer], None]


#: How long the end of a run waits for the messages still queued to reach the approver.
FLUSH_SECONDS = 5.0
#: The most bytes of messages queued for an approver and not yet written to it: one further
#: behind does not read what it is sent (or reads more slowly than the traced tree makes
#: process events -- an exec's argv is up to 2 MiB each) and is lost, rather than the queue
#: growing in systrace's memory for as long as the tree likes (red team 43).
UNREAD_LIMIT = 32 << 20

class ApproverError(Exception):
    """``--ask-via`` cannot be used as given (a bad form, a command that does not start, a
    socket path that cannot be listened on): said before the command starts."""


class ProtocolError(ValueError):
    """A line that is not a protocol message (not JSON, not an object, not one of the
    messages, an answer without a usable id): the approver is lost."""


class BadAnswer(ValueError):
    """A well-formed answer to a known id that its ask cannot take: that call is refused."""

    def __init__(self, ask_id: int, message: str) -> None:
        super().__init__(message)
        self.ask_id = ask_id


def protocol_version() -> int:
    """The protocol's version: the ``version`` of the schema file (its one home)."""
    schema = json.loads(Path(__file__).with_name("approver.schema.json").read_text())
    return int(schema["version"])


# =============================================================================================
# Messages (pure: tested without a tracee)


def hello_message(policy: str, command: list[str]) -> dict[str, Any]:
    """The first message of a run."""
    return {"type": "hello", "protocol": protocol_version(), "systrace": __version__,
            "policy": policy, "command": command, "pid": os.getpid()}


def ask_message(request: AskRequest, interp: Interpreter) -> dict[str, Any]:
    """Everything the prompt shows, as data."""
    decision = request.decision
    rule = decision.rule
    args = {k: v for k, v in request.args.items()}
    message: dict[str, Any] = {
        "type": "ask", "id": request.id,
        "pid": request.pid, "tid": request.tid, "ppid": request.ppid,
        "program": request.program,
        "argv": list(request.argv) if request.argv is not None else None,
        "parent_program": request.parent_program,
        "syscall": request.syscall, "args": args, "call": call_text(request),
    }
    path = request.facts.path(interp.role) if interp.role is not None else None
    if path is not None:
        message["path"] = path
    for key in ("address", "host"):
        if key in args:
            message[key] = args[key]
    if request.facts.in_tree():
        # a signal whose every target is a task of the traced tree (the scope "tree": close22)
        message["target"] = "tree"
    asked = request.facts.sockaddr
    if isinstance(args.get("address"), list) and asked is not None:
        # a call of several destinations asks about each in turn: this question's one
        message["address"] = str(asked)
        message.pop("host", None)
        if asked.names:  # (as the call's args spell it: one name, or a list)
            message["host"] = asked.names[0] if len(asked.names) == 1 else list(asked.names)
    message["rule"] = None if rule is None else {
        "file": rule.location.file if rule.location is not None else None,
        "line": rule.location.line if rule.location is not None else 0,
        "number": rule.index, "text": rule_text(rule)}
    message["table"] = decision.table
    linked = linked_names(request)
    if linked is not None:
        message["linked"] = {"file": linked[0], "name": linked[1]}
    message["errno"] = decision.errno_name
    message["calls"] = list(interp.calls)
    scopes: list[dict[str, Any]] = [
        {"n": n, "key": offer.key, "label": offer.label,
         "shown": offer.shown, "sensitive": offer.sensitive}
        for n, offer in enumerate(interp.offers, 1)]
    if interp.burst:
        scopes.append({"key": BURST, "label": interp.burst_label(), "sensitive": False})
    message["scopes"] = scopes
    message["answers"] = [w for w in ANSWER_WORDS if w != "detach" or interp.allow_detach]
    return message


def read_message(line: bytes) -> dict[str, Any]:
    """One line from an approver, as a JSON object (ProtocolError when it is not one)."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a line of more than {MAX_LINE} bytes")
    try:
        value = json.loads(line.decode("utf-8"))
    except ValueError as exc:  # (json.JSONDecodeError, UnicodeDecodeError, a long number)
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:
        # (``[[[...``: nested deeper than json decodes -- uncaught, it ended the thread that
        # reads the approver and left every ask waiting for good: review 20, as the log's
        # reader, logrecords.parse_line, review 19)
        raise ProtocolError("not JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"not a JSON object: {line[:80]!r}")
    kind = value.get("type", "answer" if "answer" in value else None)
    if kind not in ("answer", "events"):
        raise ProtocolError(f"not an answer nor an events message: {line[:80]!r}")
    return value


def read_answer(message: Mapping[str, Any]) -> tuple[int, Parsed]:
    """The id and the answer of an answer message.  ProtocolError when it has no usable id;
    BadAnswer when the fields are wrong (that ask is refused, the approver stays)."""
    ask_id = message.get("id")
    if isinstance(ask_id, bool) or not isinstance(ask_id, int):
        raise ProtocolError(f"an answer without an integer id: {dict(message)!r:.120}")
    unknown = set(message) - {"type", "id", "answer", "errno", "scope", "for"}
    try:
        if unknown:
            raise AnswerError(f"unknown field(s): {', '.join(sorted(unknown))}")
        word = message.get("answer")
        if not isinstance(word, str):
            raise AnswerError("answer: a word of " + ", ".join(ANSWER_WORDS))
        errno_field = message.get("errno")
        if errno_field is not None and (isinstance(errno_field, bool)
                                        or not isinstance(errno_field, (str, int))):
            raise AnswerError("errno: a name (EACCES) or a number")
        for key in ("scope", "for"):
            if message.get(key) is not None and not isinstance(message[key], str):
                raise AnswerError(f"{key}: a string")
        errno_number = errno_value(str(errno_field)) if errno_field is not None else None
        parsed = compose(word, errno=errno_number, scope=message.get("scope"),
                         reach=message.get("for"))
    except AnswerError as exc:
        raise BadAnswer(ask_id, str(exc)) from None
    return ask_id, parsed


# =============================================================================================
# Channels: where the lines go


class _Channel:
    """Lines to and from one approver."""

    description = "the approver"

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def lines(self) -> Iterator[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Pipes(_Channel):
    """An approver started with ``exec:``: its stdin and stdout."""

    def __init__(self, command: str) -> None:
        argv = shlex.split(command)
        if not argv:
            raise ApproverError("--ask-via exec: names no command")
        self.description = f"the approver exec:{command}"
        to_fd, from_fd, self.pid = _start_detached(argv)
        enforcer(self.pid)  # (a debug call a rule permits never reaches it: red team 46)
        # file objects, not bare descriptors: once closed, a write from the other thread
        # fails (ValueError) instead of reaching whatever file took the number
        self._writer = os.fdopen(to_fd, "wb", buffering=0)
        self._reader = os.fdopen(from_fd, "rb")

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._writer.write(view) or 0:]

    def lines(self) -> Iterator[bytes]:
        while True:
            line = self._reader.readline(MAX_LINE + 1)
            if not line:
                return
            yield line

    def close(self) -> None:
        """Its stdin ends: an approver exits then.  One still there after
        :data:`EXIT_GRACE` seconds (it would hold systrace's stderr open) gets SIGTERM, its
        session with it."""
        with contextlib.suppress(OSError):
            self._writer.close()
        deadline = time.monotonic() + EXIT_GRACE
        while procfs.alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if procfs.alive(self.pid):
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            self._reader.close()


#: How long an ``exec:`` approver has to exit once its input ended.
EXIT_GRACE = 2.0


def _one_way() -> tuple[int, int]:
    """A stream that carries bytes one way, as a pipe does: (its read end, its write end) --
    but a connected unix socket pair, not a pipe.  Any process of the approver's user may
    open its ``/proc/PID/fd/N`` (the approver is an ordinary, dumpable program), and an fd/N
    of a pipe opens that very pipe: the traced program read the asks from its stdin's pipe
    and wrote answers into its stdout's, which systrace took for the approver's -- it
    answered its own asks (red team 8, tests/escape/ask_forge.c).  A socket is not opened so
    (ENXIO)."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reader.shutdown(socket.SHUT_WR)
    writer.shutdown(socket.SHUT_RD)
    return reader.detach(), writer.detach()


def approver_argv(argv: Sequence[str]) -> list[str]:
    """The command an ``exec:`` approver is started with: ``argv``, with ``-P`` after the
    interpreter when it is Python run in a form that puts the working directory first on its
    path -- ``-m`` or ``-c`` (docs/asking.md's own scripted approver is ``python3 -m
    systrace_py.approver``), or its program on stdin -- and not told not to (``-P``, ``-I``):
    environment.searches_working_directory, the engine's answer (a Python is a command named
    as one: ``python3``, ``python3.11``, ``pypy3``...; a script's form puts the script's own
    directory first instead, the user's choice like the approver's rules file).
    It starts in the run's working directory, which the traced program may write: a package
    planted there under the name of the approver's own (``systrace_py``) or of a module it
    imports once started (``argparse``) ran in the approver -- the user's, untraced, outside
    every policy -- at the next run or, a race the tree won two times in three, in the same
    one (red team 53, tests/escape/test_escape_redteam53.py).  An option, not PYTHONSAFEPATH:
    ``-E`` would ignore the variable, and the approver's own Python children (a script that
    imports the modules beside it) would inherit it."""
    if argv and searches_working_directory(argv[0], None, False, argv):
        return [argv[0], "-P", *argv[1:]]
    if argv and argv[0].rpartition("/")[2] == "env":  # (``env [NAME=VALUE]... python3 -m``:
        at = env_command_at(argv[1:])                 #  the Python is env's command)
        if at is not None:
            return [*argv[:at + 1], *approver_argv(argv[at + 1:])]
    return list(argv)


#: Search paths whose relative entries (the empty one too) name the working directory --
#: LD_LIBRARY_PATH's to ld.so, for every dynamically linked command the approver runs.
_SEARCH_VARIABLES = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH")


def approver_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment an ``exec:`` approver starts with: ``environ`` without the relative
    entries of PATH, PYTHONPATH and LD_LIBRARY_PATH.  It starts in the run's working
    directory, which the traced program may write, and such an entry names it:
    ``PYTHONPATH=$PYTHONPATH:/x`` with nothing before is ``:/x``, and a Python approver (-P
    or not, a script or a module) imported a module the tree planted there (red team 53); a
    relative PATH entry finds a planted command -- the approver itself, or one it runs; a
    relative LD_LIBRARY_PATH entry a planted library, loaded by any command the approver
    runs (review 35).  A variable left with no entry goes."""
    environment = dict(environ)
    for name in _SEARCH_VARIABLES:
        if name in environment:
            kept = [e for e in environment[name].split(os.pathsep) if os.path.isabs(e)]
            if kept:
                environment[name] = os.pathsep.join(kept)
            else:
                del environment[name]
    return environment


def _start_detached(argv: list[str]) -> tuple[int, int, int]:
    """Start an approver that is not our child (the tracer waits for any child of ours):
    fork, fork again, the middle one exits at once.  Returns its stdin's and stdout's ends
    (sockets: _one_way) and its pid (it leads a session of its own); ApproverError when it
    cannot be executed."""
    to_r, to_w = _one_way()
    from_r, from_w = _one_way()
    status_r, status_w = os.pipe()  # close-on-exec: a successful exec closes it
    started = approver_argv(argv)  # (the messages name the command as given)
    environment = approver_environment(os.environ)
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (a child: nothing of it returns)
        code = 0
        try:
            os.close(to_w)
            os.close(from_r)
            os.close(status_r)
            grandchild = os.fork()
            if grandchild == 0:
                os.setsid()
                os.dup2(to_r, 0)
                os.dup2(from_w, 1)
                os.execvpe(started[0], started, environment)
            os.write(status_w, f"pid {grandchild}\n".encode())
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(status_w, f"errno {exc.errno or errno_module.EIO}\n".encode())
            code = 127
        os._exit(code)
    os.waitpid(pid, 0)
    for fd in (to_r, from_w, status_w):
        os.close(fd)
    with os.fdopen(status_r, "rb") as status:
        said = status.read().decode().split()
    # "pid N" from the middle one; "errno E" after it when the exec failed
    if "errno" in said:
        os.close(to_w)
        os.close(from_r)
        number = int(said[said.index("errno") + 1])
        raise ApproverError(f"--ask-via exec:{shlex.join(argv)}: {argv[0]}: "
                            f"{os.strerror(number)}")
    return to_w, from_r, int(said[said.index("pid") + 1])


class _Socket(_Channel):
    """``unix:PATH``: the first approver that connects (as our user, or root), traced by
    nobody (:func:`_traced`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"the approver on unix:{path}"
        self._listener = _listen(path)
        st = os.lstat(path)
        self._identity = (st.st_dev, st.st_ino)
        self._conn: socket.socket | None = None
        self._connected = threading.Event()
        self._closed = False

    def connected(self) -> bool:
        return self._conn is not None

    def wait_connected(self) -> bool:
        """Accept the approver (blocking); False when the run ended first."""
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return False
            creds = _peer_credentials(conn)
            if creds is None or creds[1] not in (os.geteuid(), 0) or _traced(conn):
                conn.close()
                continue
            enforcer(creds[0])  # (as an exec: approver is: red team 46)
            self._conn = conn
            self._connected.set()
            threading.Thread(target=self._turn_away, name="systrace-approver-busy",
                             daemon=True).start()
            return True
        return False

    def _turn_away(self) -> None:
        """Only one approver: later ones are told so and closed."""
        busy = _line({"type": "error", "id": None,
                      "message": "another approver is connected to this run"})
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                conn.sendall(busy)
            conn.close()

    def send(self, data: bytes) -> None:
        self._connected.wait()
        if self._conn is None:
            raise OSError(errno_module.ENOTCONN, "no approver connected")
        self._conn.sendall(data)

    def lines(self) -> Iterator[bytes]:
        if self._conn is None:
            return
        reader = self._conn.makefile("rb")
        while True:
            line = reader.readline(MAX_LINE + 1)
            if not line:
                return
            yield line

    def close(self) -> None:
        self._closed = True
        self._connected.set()
        for sock in (self._listener, self._conn):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # (wakes a thread blocked in accept)
                sock.close()
        with contextlib.suppress(OSError):
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._identity:
                os.unlink(self.path)


def _listen(path: str) -> socket.socket:
    """A listening unix socket at ``path``, mode 0600 from its creation.  A socket left by a
    run that died is replaced; a live one, or anything else at the path, is refused."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ApproverError(f"--ask-via unix:{path}: {exc.strerror}") from None
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise ApproverError(f"--ask-via unix:{path}: exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            try:
                os.unlink(path)  # nobody listens: left by a run that died
            except FileNotFoundError:
                pass  # (removed meanwhile)
            except OSError as exc:
                # (another user's, in a sticky /tmp: EPERM -- raised here, from the
                # handler, the error was a traceback, review 72)
                raise ApproverError(
                    f"--ask-via unix:{path}: a socket nobody listens on is there and cannot"
                    f" be removed ({exc.strerror}): left by another user? remove it, or"
                    " choose another path") from None
        except OSError as exc:
            raise ApproverError(f"--ask-via unix:{path}: {exc.strerror}") from None
        else:
            raise ApproverError(f"--ask-via unix:{path}: another process listens on it")
        finally:
            probe.close()
    # bound and listening under a name of its own first, then renamed into place: an
    # approver that waits for PATH to appear never finds a socket that refuses it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = os.path.join(os.path.dirname(path) or ".", f".systrace-{os.getpid()}.sock")
    old = os.umask(0o177)
    try:
        try:
            sock.bind(staging)
        except OSError:
            staging = path  # (a name too long, say: bind in place)
            sock.bind(path)
        os.chmod(staging, 0o600)
        sock.listen(4)
        if staging != path:
            os.rename(staging, path)
    except OSError as exc:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise ApproverError(f"--ask-via unix:{path}: {exc.strerror or exc}") from None
    finally:
        os.umask(old)
    return sock


def _peer_credentials(conn: socket.socket) -> tuple[int, int] | None:
    """The peer's pid and uid, as the kernel took them at its connect (SO_PEERCRED); None
    when they cannot be read."""
    import struct

    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    pid, uid, _ = struct.unpack("3i", creds)
    return int(pid), int(uid)


def _traced(conn: socket.socket) -> bool:
    """Whether the peer is traced -- by this systrace or any other tracer -- or may be: one
    that cannot be told (gone already).  The traced program runs as the user, so the uid
    check lets it in: connected first, it was the run's approver and answered its own asks
    (red team 8, tests/escape/ask_forge.c).  And a program another run traces -- the same
    untrusted tool under another systrace, any policy -- answered this run's asks as well
    (red team 29, tests/escape/ask_relay.c): an approver is the user's, and nothing the user
    runs as an approver is anybody's program.  The peer as :func:`procfs.peer` tells it (by a
    pidfd where the kernel gives one); a peer in a pid namespace we do not see (pid 0: an
    approver outside a container systrace runs in) is none of the tree, which is in ours.
    *Limit*: an approver run under a debugger (strace, gdb) is turned away too."""
    found = procfs.peer(conn)
    if found is None:
        return True
    return any(tracer != 0 for tracer in found[2])


def _line(message: Mapping[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


# =============================================================================================
# The front end


@dataclass(eq=False)
class _Waiting:
    request: AskRequest
    respond: Respond
    interp: Interpreter
    timer: threading.Timer | None = None


class ApproverAsker(Asker):
    """The Asker of ``--ask-via``: questions out as JSON lines, answers in (see the module
    docstring for what happens when the approver fails)."""

    #: the approver is a process outside the tree, told of its asks, settled asks and events
    #: at times the tree chooses: the engine holds even a task alone (Supervisor.writes_beside)
    tells_a_process = True

    def __init__(self, channel: _Channel, stderr: IO[str], *, hello: dict[str, Any],
                 timeout: float | None = None, no_alias: bool = False) -> None:
        self.channel = channel
        self.stderr = stderr
        self.timeout = timeout if timeout is not None and timeout > 0 else None
        self.no_alias = no_alias
        self._lock = threading.Lock()
        self._waiting: dict[int, _Waiting] = {}
        self._asked: set[int] = set()          # every id sent (a late answer is no error)
        self._lost: str | None = None          # why the approver is lost (asks are refused)
        self._closing = False
        self._events = False
        self._said_waiting = False
        self._answers = 0
        self._out: queue.Queue[bytes | None] = queue.Queue()
        self._unread = 0   # bytes in _out (under _lock): at most UNREAD_LIMIT
        self._put(_line(hello))
        self._writer = threading.Thread(target=self._write, name="systrace-approver-out",
                                        daemon=True)
        self._writer.start()
        threading.Thread(target=self._read, name="systrace-approver-in", daemon=True).start()

    # --- the Asker protocol -------------------------------------------------------------------
    @property
    def wants_events(self) -> bool:
        return self._events and self._lost is None

    def ask(self, request: AskRequest, respond: Respond) -> None:
        with self._lock:
            refused = self._lost or ("the run is ending" if self._closing else None)
            if refused is None:
                self._answers += 1
                interp = Interpreter(request, no_alias=self.no_alias, index=self._answers)
                waiting = _Waiting(request, respond, interp)
                self._waiting[request.id] = waiting
                self._asked.add(request.id)
                if self.timeout is not None:
                    timer = threading.Timer(self.timeout, self._expire, [request.id])
                    timer.daemon = True
                    try:
                        timer.start()
                        waiting.timer = timer
                    except RuntimeError:  # (can't start new thread: the tracer's pids limit
                        #                    is the tree's too; red team 43) no timeout kept:
                        #                    not asked
                        del self._waiting[request.id]
                        refused = "no thread to time the ask with (--ask-timeout)"
                if refused is None:
                    message = ask_message(request, interp)
        if refused is not None:
            say(f"refused {call_text(request)} for pid {request.pid} "
                f"({request.program}): {refused}", self.stderr)
            respond(Answer(AnswerKind.DENY, errno=request.decision.errno))
            return
        if isinstance(self.channel, _Socket) and not self.channel.connected() \
                and not self._said_waiting:
            self._said_waiting = True
            say(f"waiting for an approver to connect to unix:{self.channel.path}", self.stderr)
        self._put(_line(message))

    def settled(self, request: AskRequest, why: str) -> None:
        waiting = self._take(request.id)
        if waiting is not None:
            self._put(_line({"type": "settled", "id": request.id, "why": why}))

    def process_event(self, record: dict[str, Any]) -> None:
        if self.wants_events:
            self._put(_line({"type": "process", **record}))

    def finish(self) -> None:
        """End of the run: the asks still waiting are refused; the approver sees its input
        end (exec) or the socket close and be removed (unix)."""
        with self._lock:
            self._closing = True
            left = list(self._waiting.values())
            self._waiting.clear()
        for waiting in left:
            self._refuse(waiting)
        self._out.put(None)
        # nothing lost: what was queued (the last process events, settled asks) is written
        # before the channel closes -- within FLUSH_SECONDS, for an approver that stopped reading
        self._writer.join(FLUSH_SECONDS)
        self.channel.close()

    # --- answers ------------------------------------------------------------------------------
    def _take(self, ask_id: int) -> _Waiting | None:
        with self._lock:
            waiting = self._waiting.pop(ask_id, None)
        if waiting is not None and waiting.timer is not None:
            waiting.timer.cancel()
        return waiting

    def _refuse(self, waiting: _Waiting) -> None:
        if waiting.timer is not None:
            waiting.timer.cancel()
        waiting.respond(Answer(AnswerKind.DENY, errno=waiting.request.decision.errno))

    def _expire(self, ask_id: int) -> None:
        waiting = self._take(ask_id)
        if waiting is None:
            return
        request = waiting.request
        say(f"no answer within {self.timeout:g}s: refused {call_text(request)} for pid "
            f"{request.pid}", self.stderr)
        self._put(_line({"type": "settled", "id": ask_id, "why": "no answer in time: "
                          "refused"}))
        self._refuse(waiting)

    def _handle(self, line: bytes) -> None:
        """One line from the approver (ProtocolError: it is lost)."""
        message = read_message(line)
        if message.get("type") == "events":
            process = message.get("process")
            if not isinstance(process, bool) or set(message) - {"type", "process"}:
                raise ProtocolError(f"an events message is {{\"type\": \"events\", "
                                    f"\"process\": true|false}}: {line[:80]!r}")
            self._events = process
            return
        try:
            ask_id, parsed = read_answer(message)
        except BadAnswer as exc:
            self._bad(exc.ask_id, str(exc))
            return
        waiting = self._take(ask_id)
        if waiting is None:
            if ask_id in self._asked:  # settled, timed out, answered twice: nothing to do
                return
            raise ProtocolError(f"an answer for id {ask_id}, which was never asked")
        try:
            answer = waiting.interp.resolve(parsed)
        except (AnswerError, OfferError) as exc:
            self._bad(ask_id, str(exc), waiting)
            return
        if answer.kind == AnswerKind.ABORT:
            with self._lock:
                self._closing = True
        say(describe_answer(answer, waiting.request), self.stderr)
        waiting.respond(answer)

    def _bad(self, ask_id: int, why: str, waiting: _Waiting | None = None) -> None:
        """An answer its ask cannot take: that call is refused, the approver is told."""
        waiting = waiting or self._take(ask_id)
        if waiting is None:
            if ask_id not in self._asked:
                raise ProtocolError(f"an answer for id {ask_id}, which was never asked")
            return
        request = waiting.request
        say(f"the approver's answer for {call_text(request)} (pid {request.pid}) "
            f"cannot be used: {why}; refused", self.stderr)
        self._put(_line({"type": "error", "id": ask_id,
                          "message": f"{why}; the call was refused"}))
        self._refuse(waiting)

    def _lose(self, why: str) -> None:
        """The approver is gone or broken: refuse everything waiting, and from now on."""
        with self._lock:
            if self._lost is not None or self._closing:
                return
            self._lost = f"{self.channel.description} {why}"
            left = list(self._waiting.values())
            self._waiting.clear()
        count = len(left)
        say(f"{self._lost}: {count} waiting ask{'s' if count != 1 else ''} refused; "
            "every later ask is refused", self.stderr)
        for waiting in left:
            self._refuse(waiting)
        self._out.put(None)

    # --- threads ------------------------------------------------------------------------------
    def _put(self, data: bytes) -> None:
        """Queue a line for the approver; one that would put it more than UNREAD_LIMIT bytes
        behind loses it (every waiting ask refused; fail closed, memory bounded)."""
        with self._lock:
            behind = self._unread + len(data) > UNREAD_LIMIT and self._lost is None
            if not behind and self._lost is None:
                self._unread += len(data)
                self._out.put(data)
                return
        if behind:
            self._lose(f"does not read what it is sent ({UNREAD_LIMIT >> 20} MiB of messages "
                       "unread)")

    def _write(self) -> None:
        while True:
            data = self._out.get()
            if data is None:
                return
            try:
                self.channel.send(data)
            except (OSError, ValueError) as exc:  # (ValueError: closed at the end)
                self._lose(f"cannot be written to ({getattr(exc, 'strerror', None) or exc})")
                return
            with self._lock:
                self._unread -= len(data)

    def _read(self) -> None:
        if isinstance(self.channel, _Socket) and not self.channel.wait_connected():
            return
        try:
            for line in self.channel.lines():
                try:
                    self._handle(line)
                except ProtocolError as exc:
                    self._lose(f"sent what is not a protocol message ({exc})")
                    return
        except (OSError, ValueError) as exc:  # (ValueError: closed at the end)
            self._lose(f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
            return
        self._lose("closed its end (exited?)")



def parse_via(via: str) -> tuple[str, str]:
    """``exec:CMD`` or ``unix:PATH``, as (kind, the rest); ApproverError for anything else."""
    kind, _, rest = via.partition(":")
    if (kind == "exec" and rest.strip()) or (kind == "unix" and rest):
        return kind, rest
    raise ApproverError(f"--ask-via {via}: give exec:COMMAND or unix:PATH")


def open_approver(via: str, stderr: IO[str], *, policy: str, command: list[str],
                  timeout: float | None = None, no_alias: bool = False) -> ApproverAsker:
    """The front end ``--ask-via`` names (ApproverError when it cannot be used)."""
    kind, rest = parse_via(via)
    channel: _Channel = _Pipes(rest) if kind == "exec" else _Socket(rest)
    return ApproverAsker(channel, stderr, hello=hello_message(policy, command),
                         timeout=timeout, no_alias=no_alias)


# =============================================================================================
# A scripted approver: python -m systrace_py.approver --rules FILE


#: What a rule of the scripted approver may test (globs on the ask's fields) and answer.
MATCH_KEYS = ("syscall", "program", "path", "address", "host", "parent_program", "table",
              "argv", "rule", "call", "target")
ANSWER_KEYS = ("answer", "errno", "scope", "for")


@dataclass(frozen=True)
class ScriptRule:
    """One ``[[answer]]`` of a rules file: the globs it tests, the answer it gives."""

    match: tuple[tuple[str, str], ...]
    answer: dict[str, Any]

    def matches(self, ask: Mapping[str, Any]) -> bool:
        for key, pattern in self.match:
            value = ask.get(key)
            if key == "host" and isinstance(value, list):  # several names: any may match
                if not any(isinstance(v, str) and fnmatch.fnmatchcase(v, pattern)
                           for v in value):
                    return False
                continue
            if key == "argv" and isinstance(value, list):
                value = shlex.join(value)
            elif key == "rule" and isinstance(value, dict):
                value = value.get("text")
            if not isinstance(value, str) or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True


def load_script(path: str) -> list[ScriptRule]:
    """The rules of a rules file (ValueError naming the mistake)."""
    import tomllib

    with open(path, "rb") as f:
        data = tomllib.load(f)
    unknown = set(data) - {"answer"}
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                         "(write [[answer]] tables)")
    out = []
    for n, entry in enumerate(data.get("answer", []), 1):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: answer {n}: not a table")
        bad = set(entry) - set(MATCH_KEYS) - set(ANSWER_KEYS)
        if bad:
            raise ValueError(f"{path}: answer {n}: unknown key(s) {', '.join(sorted(bad))}")
        match = tuple((k, entry[k]) for k in MATCH_KEYS if k in entry)
        if any(not isinstance(v, str) for _, v in match):
            raise ValueError(f"{path}: answer {n}: a match is a string (a glob)")
        answer = {k: entry[k] for k in ANSWER_KEYS if k in entry}
        try:
            read_answer({"id": 0, **answer})
        except (BadAnswer, ProtocolError) as exc:
            raise ValueError(f"{path}: answer {n}: {exc}") from None
        out.append(ScriptRule(match, answer))
    return out


def scripted(rules: list[ScriptRule], lines: Iterator[str], send: Callable[[str], None],
             log: Callable[[str], None]) -> None:
    """Answer each ask by the first rule that matches it; no rule: deny-now (fail closed)."""
    for line in lines:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            log(f"not JSON from systrace: {line[:80]!r}")
            continue
        if not isinstance(message, dict) or message.get("type") != "ask":
            if isinstance(message, dict) and message.get("type") == "error":
                log(f"systrace says: {message.get('message')}")
            continue
        chosen = next((r for r in rules if r.matches(message)), None)
        answer = dict(chosen.answer) if chosen is not None else {"answer": "deny-now"}
        if chosen is None:
            log(f"no rule for {message.get('call')} ({message.get('program')}): deny-now")
        send(json.dumps({"id": message["id"], **answer}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m systrace_py.approver",
        description="A scripted approver for systrace --ask-via: answers each ask from a "
                    "file of rules, first match wins (see docs/asking.md).")
    parser.add_argument("--rules", required=True, metavar="FILE",
                        help="the rules: [[answer]] tables of globs and an answer")
    parser.add_argument("--unix", metavar="PATH",
                        help="connect to systrace --ask-via unix:PATH (default: stdin/stdout,"
                             " for --ask-via exec:)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say each answer on stderr")
    opts = parser.parse_args(argv)
    try:
        rules = load_script(opts.rules)
    except (OSError, ValueError) as exc:
        print(f"approver: {exc}", file=sys.stderr)
        return 2

    def log(text: str) -> None:
        # an ask's call and program are the traced program's to choose, and this stderr is
        # systrace's (the user's terminal): spelled printable as systrace's own lines are
        print(f"approver: {printable(text)}", file=sys.stderr, flush=True)

    reader: IO[str]
    writer: IO[str]
    if opts.unix:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(opts.unix)
        except OSError as exc:
            log(f"cannot connect to {opts.unix}: {exc.strerror or exc}")
            return 1
        reader = conn.makefile("r", encoding="utf-8")
        writer = conn.makefile("w", encoding="utf-8")
    else:
        reader, writer = sys.stdin, sys.stdout

    def send(text: str) -> None:
        if opts.verbose:
            log(f"answer {text}")
        writer.write(text + "\n")
        writer.flush()

    with contextlib.suppress(BrokenPipeError, ConnectionError):  # systrace went away
        scripted(rules, iter(reader), send, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
