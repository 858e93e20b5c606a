"""The resident tracer (``systrace --resident``): a warm server that traces runs for a small
client (issue 16: start-up).  :mod:`systrace_py.resident_client` describes the exchange and
who may take part in it; this is the server's side.

* **The server** is opt-in: started by ``systrace --resident`` (never behind the user's
  back), it imports the command's modules once, freezes them (the collector never scans them
  again) and listens on the per-user socket.  It exits after ``--resident-idle`` seconds
  without a request (default 600) and on ``systrace --resident stop``.  It reads no request
  itself: each connection goes to a worker, so a slow or hostile client holds nobody up.
* **A worker** is a fork of the server (the imports shared copy-on-write): its peer was
  checked (the same user, traced by nobody, in the server's namespaces and root, with its
  ids, groups, capabilities, no_new_privs and seccomp: :func:`world`); it takes the client's
  descriptors 0-2, working directory, environment and umask as its own, and runs the
  command line as the in-process command does (``cli.main``), with one difference: the
  program's process is forked by the client and seized here (:class:`ClientStarter`, the engine's
  :class:`~systrace_py.engine.tracer.Starter`).  Runs a worker cannot serve as the command
  would (a policy that asks at the terminal, ``--review``, ``-c``, ``--attach``) are refused
  before anything is said or written, and the client runs them in process.
"""

from __future__ import annotations

import _thread
import contextlib
import gc
import mmap
import os
import resource
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from systrace_py import procfs, resident_client
from systrace_py.engine.child import EXIT_INTERNAL
from systrace_py.engine.tracer import SpawnSpec, TracerError
from systrace_py.report import say
from systrace_py.resident_client import NotServed, ResidentError, receive, send, trusted_peer
from systrace_py.syscalls import Lift
from systrace_py.syspath import forget_directory

#: seconds without a request after which the server exits
DEFAULT_IDLE = 600.0
#: seconds ``--resident stop`` waits for the server to be gone
STOP_PATIENCE = 10.0
#: seconds between the server's looks at its socket's name (:func:`_still_reachable`)
SOCKET_CHECK = 5.0
#: the environment variable that may ask for a shorter SOCKET_CHECK (:func:`_socket_check`)
SOCKET_CHECK_VARIABLE = "SYSTRACE_RESIDENT_SOCKET_CHECK"
#: A worker's exit code, which the server's tally reads when it reaps it: a run served to its
#: end (the client was sent its ``exit``), a run declined (the client ran it in process), a
#: ``status`` answered; anything else is a conversation that broke off.
WORKER_RAN, WORKER_DECLINED, WORKER_STATUS = 0, 3, 4


# --- the worker's start of the program ---------------------------------------------------------
class ClientStarter:
    """The program's process is the client's child: the worker sends what the child's half
    needs (filters, no_new_privs, core limits, the command) and seizes the process the client
    names once it has stopped -- only a stopped child of the client."""

    def __init__(self, conn: socket.socket, client: int) -> None:
        self.conn = conn
        self.parent = client
        #: set once the verdict is about to be sent (the client's end of file is then no loss)
        self.done = threading.Event()

    def stopped(self, spec: SpawnSpec, nnp: bool) -> int:
        if spec.uid is not None or spec.gid is not None:
            raise TracerError("a resident tracer does not change credentials (-c)")
        if isinstance(sys.stderr, HeldStream):  # (what was said, before the program)
            sys.stderr.release()
        try:
            send(self.conn, {"kind": "spawn", "tracer": os.getpid(),
                             "filters": list(spec.filters), "nnp": nnp,
                             "no_core": Lift.CORE not in spec.lifted, "argv": list(spec.argv),
                             "executable": spec.executable, "env": spec.env, "cwd": spec.cwd,
                             "restore_signals": list(spec.restore_signals)})
            reply = receive(self.conn)
        except (OSError, ResidentError) as exc:
            raise TracerError(f"the client went away before the command started ({exc})") \
                from exc
        pid = reply.get("pid")
        if reply["kind"] != "stopped" or type(pid) is not int or pid <= 0:
            raise TracerError("the command's process ended before it could be traced")
        self.check(pid)
        # (not threading.Thread: its start() waits until the new thread has run -- a wake-up
        # of the other CPU on the way to the program's exec)
        _thread.start_new_thread(self._watch_client, ())
        return pid

    def _watch_client(self) -> None:
        """The client sends nothing after its ``stopped``: end of file means it is gone, and
        nobody waits for the run's verdict.  Fail closed: this worker dies, and with it
        (EXITKILL) the tree it traces."""
        with contextlib.suppress(OSError):
            while self.conn.recv(1):
                pass
        if not self.done.is_set():
            os.kill(os.getpid(), signal.SIGKILL)

    def check(self, pid: int) -> None:
        fields = procfs.read_stat(pid)
        if (not fields or int(fields[procfs.PPID]) != self.parent
                or fields[procfs.STATE] not in (b"T", b"t")):
            raise TracerError(f"process {pid} is not the client's stopped child")


class HeldStream:
    """A worker's stderr until it serves: what the run says before the program starts (a
    policy's warnings) is held, and said once the worker starts the program or ends the
    run -- or dropped when it declines the run (NotServed), which the client then runs in
    process, saying it there (review 5, finding 8: it was said twice).  The same object
    all along, so that whoever took sys.stderr early (a log on stderr) writes through it
    once it is released."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._held: list[str] | None = []

    def write(self, text: str) -> int:
        if self._held is None:
            return int(self._stream.write(text))
        self._held.append(text)
        return len(text)

    def flush(self) -> None:
        if self._held is None:
            self._stream.flush()

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            self._stream.write("".join(held))
        self._stream.flush()

    def drop(self) -> None:
        self._held = []

    def __getattr__(self, name: str) -> Any:  # (fileno, isatty, encoding...: the stream's)
        return getattr(self._stream, name)


# --- the server ---------------------------------------------------------------------------------
#: What some runs import where they first need it (learning, saving a policy or answers, an
#: approver, a log, host rules, a policy error's suggestions): the server imports them all,
#: so that a worker imports nothing once it has become its client -- an import searches
#: sys.path, whose entries a traced program may write to (review 5, finding 3;
#: tests/cli/test_resident.py checks a worker's runs import nothing).  Not the prompt's
#: (prompt_toolkit, ui.prompt, ui.review): a run that asks at the terminal, or reviews, is
#: never served.
RUN_IMPORTS = (
    "bisect", "difflib", "grp", "hashlib", "json", "math", "pathlib", "random", "select", "shlex",
    "tempfile", "tomli_w", "tomlkit",
    "systrace_py.approver", "systrace_py.audit", "systrace_py.dnswire", "systrace_py.learner",
    "systrace_py.names", "systrace_py.policy.generalize", "systrace_py.policy.learn",
    "systrace_py.policy.net", "systrace_py.ui.answering", "systrace_py.ui.answers",
    "systrace_py.ui.offers")


def warm_up() -> None:
    """Import what every run needs (the command's modules, the engine, the filter compiler)
    and what their first use imports (argparse's formatter imports shutil; looking a command
    up, its helpers), and what some runs import (RUN_IMPORTS), so that a worker starts with
    them and imports nothing."""
    import importlib
    import shutil

    from systrace_py.cli import learn  # noqa: F401  (the imports are the point)
    from systrace_py.cli import run as enforce  # noqa: F401
    from systrace_py.cli.args import build_parser, check_flags
    from systrace_py.engine import cloop
    from systrace_py.engine.seccomp import compile_filters, compile_program
    from systrace_py.policy.files import toml_parser
    from systrace_py.policy.filterplan import PlanOptions, plan
    from systrace_py.policy.model import Action, Table

    for name in RUN_IMPORTS:
        importlib.import_module(name)
    check_flags(build_parser().parse_args(["-p", os.devnull, "--", "true"]))
    shutil.which("true")
    cloop.load()
    compile_filters(plan([Table("warm", Action.PERMIT)], PlanOptions()), os.getpid())
    # (the compile above may have come from the start's cache; a worker's compiles import
    # pyseccomp and what libseccomp's filters import: imported here, by a compile)
    compile_program(())
    # (a policy's text may come parsed from the start's cache; a worker's loads parse theirs
    # with the TOML parser, imported here -- policy/files.py: toml_parser)
    toml_parser()
    _rehearse()


#: the policy a spare worker's rehearsal loads (a path rule: its glob is compiled)
_REHEARSAL = 'default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "/nonexistent/**"\n' \
    'action = "never"\n'


def _rehearse(handed: Callable[[], bool] = lambda: False) -> None:
    """What every run does before its program starts -- its arguments parsed, a policy loaded
    from text, its filter planned and compiled (libseccomp's too) -- done once, for nothing:
    in a spare worker (:func:`_fork_spare`), so that the pages the run will touch are its own
    (copied from the server's at the first write: a reference count, a cache) and in the
    CPU's caches before its client comes.  A run in a fresh fork spent ~7.5 ms of CPU on
    these steps against ~3.4 ms after a rehearsal (docs/performance.md, start-up seventeenth
    pass).  Imports nothing (warm_up did; a worker imports no module), reads no file, says
    nothing.  Between its steps it stops once ``handed()`` says its connection has come (a
    client that came early -- the server busy, back-to-back runs -- does not wait for the
    rest of it)."""
    from systrace_py.cli.args import build_parser, check_flags
    from systrace_py.engine.seccomp import compile_filters
    from systrace_py.policy.files import loads_policy
    from systrace_py.policy.filterplan import PlanOptions, plan

    check_flags(build_parser().parse_args(["-p", os.devnull, "--", "true"]))
    if handed():
        return
    policy = loads_policy(_REHEARSAL, "<rehearsal>")
    if handed():
        return
    filter_plan = plan([policy.main], PlanOptions(see_refusals=True))
    if handed():
        return
    compile_filters(filter_plan, os.getpid())


def _make_private_dir(path: str) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    if not resident_client.private_dir(path):
        raise OSError(f"{path} is not a directory only this user may use (it must be ours, "
                      "mode 0700, not a symlink)")


#: how a worker runs a command line (``cli.main``): the command passes it in, so that this
#: module does not import the command that imports it
Run = Callable[[list[str], ClientStarter], int]


class _Tally:
    """What ``systrace --resident status`` reports, kept by the server in a page it shares
    with every worker it forks (anonymous, MAP_SHARED): the runs served to their end and the
    connections handed to workers not yet reaped, as they are now, not as they were at the
    spare's fork.  Only the server writes it; a worker that answers ``status`` reads it."""

    _FORMAT = "<qqqq"  # started (epoch seconds), idle seconds, runs served, in flight

    def __init__(self, idle: float) -> None:
        import struct
        import time

        self._struct = struct.Struct(self._FORMAT)
        self._page = mmap.mmap(-1, self._struct.size)
        #: a worker's pid -> the idle deadline before its connection, and the one it set
        self._workers: dict[int, tuple[float, float]] = {}
        self._asked: list[tuple[float, float]] = []
        self._set(int(time.time()), int(idle), 0, 0)

    def _set(self, *values: int) -> None:
        self._struct.pack_into(self._page, 0, *values)

    def read(self) -> tuple[int, int, int, int]:
        started, idle, served, in_flight = self._struct.unpack_from(self._page, 0)
        return started, idle, served, in_flight

    def handing(self) -> None:
        """A connection goes to a worker (counted before it has it: a worker asked for the
        status at once finds itself counted, and leaves itself out)."""
        started, idle, served, in_flight = self.read()
        self._set(started, idle, served, in_flight + 1)

    def worker(self, pid: int, deadlines: tuple[float, float]) -> None:
        self._workers[pid] = deadlines

    def unhanded(self) -> None:
        started, idle, served, in_flight = self.read()
        self._set(started, idle, served, max(0, in_flight - 1))

    def reaped(self, pid: int, status: int) -> None:
        deadlines = self._workers.pop(pid, None)
        if deadlines is None:
            return  # (a spare that exited unhanded)
        started, idle, served, in_flight = self.read()
        ran = os.WIFEXITED(status) and os.WEXITSTATUS(status) == WORKER_RAN
        self._set(started, idle, served + ran, max(0, in_flight - 1))
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == WORKER_STATUS:
            self._asked.append(deadlines)

    def idle_deadline(self, deadline: float) -> float:
        """The idle deadline, a ``status`` question's left out: asking whether the server
        runs does not keep it running (unless a run came after the question)."""
        for before, set_by in self._asked:
            if deadline == set_by:
                deadline = before
        self._asked.clear()
        return deadline


#: the server's tally (None outside a server and its workers)
_tally: _Tally | None = None


def start(run: Run, idle: float = DEFAULT_IDLE) -> int:
    """``systrace --resident``: start the server in the background, once its socket listens;
    0, or 125 (systrace failed, not its usage) with the reason when it cannot be started.
    One that already answers is left.  Each worker runs its command line with ``run``."""
    path = resident_client.socket_path()
    existing = resident_client.connect()
    if existing is not None:
        existing[0].close()
        say(f"a resident tracer already listens on {path}")
        return 0
    unseen = unseen_sandbox(procfs.read("/proc/self/status"))
    if unseen:
        say(f"the resident tracer does not run here: {unseen} (each run traces in process)")
        return EXIT_INTERNAL
    try:
        _make_private_dir(os.path.dirname(path))
    except OSError as exc:
        say(f"cannot start the resident tracer: {exc.strerror or exc}")
        return EXIT_INTERNAL
    sys.stdout.flush()
    sys.stderr.flush()
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    if os.fork() > 0:
        os.close(ready_w)
        with os.fdopen(ready_r, "rb") as ready:
            answer = ready.read().decode(errors="replace")
        if answer != "ok":
            say(f"cannot start the resident tracer: {answer or 'it exited'}")
            return EXIT_INTERNAL
        say(f"resident tracer listening on {path} (it exits after {idle:g} s without a "
            "run, or on systrace --resident stop)")
        return 0
    os.close(ready_r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    ours = world("self")  # (before: a process not dumpable cannot read its own ns/, as a user)
    _undumpable()
    # The daemon listens itself: a client checks the process that listened (SO_PEERCRED,
    # SO_PEERPIDFD name it), which must be alive and untraced.
    try:
        listener, identity = _listen(path)
    except OSError as exc:
        os.write(ready_w, (exc.strerror or str(exc)).encode())
        os._exit(2)
    os.write(ready_w, b"ok")
    os.close(ready_w)
    _daemon_streams()
    _serve(listener, path, identity, idle, run, ours)


def _undumpable() -> None:
    """The server (and every worker it forks) is not dumpable, for its whole life: it runs as
    the user, as the programs its workers trace do, and a process of the same user may
    otherwise ptrace it or write its /proc/PID/mem -- a traced program that took over the
    server would run untraced and start runs of its choosing.  (A run in process is protected
    while it traces: Session._protected; the server's life is longer than a run's.)"""
    import ctypes

    from systrace_py.kernel import PR_SET_DUMPABLE

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _heap_given_back() -> None:
    """The C heap's free pages given back to the system (glibc's ``malloc_trim``) before the
    server forks its first worker: every worker starts with the server's resident pages.  A
    server whose start made its start-up caches (the first after an install or an upgrade:
    the modules compiled from source, the caches marshalled and written) kept ~3-5 MiB of
    freed heap that a server reading them does not -- its workers' RSS was 27.8-29.7 MiB
    instead of 24.5 (start42).  Nothing where the C library has no ``malloc_trim``."""
    import ctypes

    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def _listen(path: str) -> tuple[socket.socket, os.stat_result]:
    """The server's socket, bound under a temporary name and renamed into place (a stale
    socket of a dead server goes; a client never meets a socket that does not listen), and
    the identity of its node (_still_reachable), taken before the rename: once the starter
    is told "ok" the name may lead elsewhere at once -- deleted, a file, another server's
    socket --, and a server that looked at the name later took that for its own and served
    on, unreachable (a CI run's test_a_server_whose_socket_is_gone_exits[a file])."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    temporary = f"{path}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    listener.bind(temporary)
    identity = os.stat(temporary)
    listener.listen(64)
    os.replace(temporary, path)
    return listener, identity


def _daemon_streams() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.chdir("/")


def _serve(listener: socket.socket, path: str, identity: os.stat_result, idle: float,
           run: Run, ours: tuple[object, ...] | None) -> NoReturn:
    """Accept connections until idle or stopped; each goes to a worker, if its peer is this
    user's untraced process (checked here, before the fork: a traced program that connects
    again and again costs the server a look at /proc, not a process, and does not put off
    its idle exit).  Once the package's files have changed (build_id) it serves no more and
    exits: its socket's name is no longer the one a client of the new files looks for, and
    a client that still found it would be served by other code.

    SIGTERM (``--resident stop``) wakes the wait through signal.set_wakeup_fd: the kernel's
    signal handler itself writes to the pipe, so a signal that comes just before the wait
    begins still ends it (with accept()'s own timeout the server missed such a signal and
    slept on: Python runs its handlers between instructions, not inside the poll)."""
    import select
    import time

    build = resident_client.build_id()
    socket_check = _socket_check()
    stopping: list[int] = []
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    # (a worker's or a spare's exit wakes the wait too, and it is reaped then: not left a
    # zombie until the next connection, which may be the idle exit's ten minutes away)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    global _tally
    _tally = tally = _Tally(idle)
    gc.freeze()  # (the imports are shared with every worker: never scanned, never touched)
    _heap_given_back()
    listener.setblocking(False)
    code = 0
    spare = _fork_spare(listener, (wake_r, wake_w), run, build)
    try:
        deadline = time.monotonic() + idle
        while not stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([listener.fileno(), wake_r], [], [],
                                        min(left, socket_check))
            if not ready and not _still_reachable(path, identity):
                break  # (no client can reach it: its socket is gone)
            if wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 512)
                _reap()
                deadline = tally.idle_deadline(deadline)
            if listener.fileno() not in ready:
                continue
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(True)
            client = trusted_peer(conn)
            if client is None:  # (another user, or a traced process: a confused deputy)
                conn.close()  # (and the idle deadline stays: it cannot keep us alive)
                continue
            if ours is None or not like_us(client, ours):  # (the run would not be as in process)
                conn.close()
                continue
            if resident_client.build_id() != build:  # (edited, upgraded: other code now)
                conn.close()  # (the client runs in process; its next run starts afresh)
                break
            deadlines = (deadline, time.monotonic() + idle)
            deadline = deadlines[1]
            tally.handing()
            if spare is not None and _hand_over(spare, conn, client):
                tally.worker(spare[0], deadlines)
            else:
                try:
                    pid = os.fork()  # (no spare, or it is gone: a worker forked now, as ever)
                except OSError:
                    tally.unhanded()
                    raise
                if pid == 0:
                    _become_worker(listener, (wake_r, wake_w))
                    _worker(conn, client, run, build)
                tally.worker(pid, deadlines)
            conn.close()
            _reap()
            deadline = tally.idle_deadline(deadline)
            spare = _fork_spare(listener, (wake_r, wake_w), run, build)
    except BaseException:  # (the daemon has nobody to tell; it exits)
        code = 1
    finally:
        with contextlib.suppress(OSError):  # (ours still: not a newer server's)
            st = os.stat(path)
            if (st.st_dev, st.st_ino) == (identity.st_dev, identity.st_ino):
                os.unlink(path)
    os._exit(code)


def _socket_check() -> float:
    """SOCKET_CHECK, or the shorter interval SYSTRACE_RESIDENT_SOCKET_CHECK names (the tests'
    servers whose socket is taken from them: each waited SOCKET_CHECK for its look, trim68).
    Only ever more often: anything but a number from 0.05 to SOCKET_CHECK is ignored, so the
    variable can never keep a server whose socket is gone alive longer."""
    try:
        asked = float(os.environ.get(SOCKET_CHECK_VARIABLE, ""))
    except ValueError:
        return SOCKET_CHECK
    return asked if 0.05 <= asked <= SOCKET_CHECK else SOCKET_CHECK  # (NaN: neither)


def _still_reachable(path: str, identity: os.stat_result) -> bool:
    """Whether a client can still find the server's socket: at its name, or renamed within
    its directory (a test's stand-in for a server of other code, which ``--resident stop``
    finds there).  Deleted (a tmp cleaner, a user's ``rm``), a file in its place, another
    server's socket bound over it, the directory gone: no client ever connects to it again
    and ``--resident stop`` cannot find it, so it would live on, with its spare worker,
    unseen until its idle exit (front30).  Looked at every SOCKET_CHECK seconds of quiet."""
    ours = (identity.st_dev, identity.st_ino)
    directory = os.path.dirname(path)
    try:
        st = os.lstat(path)
        if (st.st_dev, st.st_ino) == ours:
            return True
        names = os.listdir(directory)
    except FileNotFoundError:
        try:
            names = os.listdir(directory)
        except OSError:
            return False
    except OSError:  # (cannot tell: not a reason to stop serving)
        return True
    for name in names:
        with contextlib.suppress(OSError):
            st = os.lstat(os.path.join(directory, name))
            if (st.st_dev, st.st_ino) == ours:
                return True
    return False


#: The lines of /proc/PID/status a worker has from its server, not from its client, and that
#: decide what the run may do: ids, supplementary groups (what the worker may open: an -o or
#: --log file, the policy), capabilities, no_new_privs, seccomp (review 5, finding 7).
SAME_STATUS = (b"Uid:", b"Gid:", b"Groups:", b"CapInh:", b"CapPrm:", b"CapEff:", b"CapBnd:",
               b"CapAmb:", b"NoNewPrivs:", b"Seccomp:", b"Seccomp_filters:")


def unseen_sandbox(status: bytes) -> str:
    """Why a client :func:`like_us` could still be confined in a way no ``/proc`` file shows
    ("" when none can): a Landlock domain.  An unprivileged process may sandbox itself with
    Landlock only under no_new_privs, and a client has the server's no_new_privs (like_us),
    so a server with it set could be asked by a sandboxed process to act -- open ``--log``
    and ``-o``, read the policy, start the command and an ``exec:`` approver -- with the
    server's rights, outside the sandbox (red team 20, gap #34).  Such a server does not
    start: every run traces in process, in its caller's sandbox.  (A process with
    CAP_SYS_ADMIN may enter a Landlock domain without no_new_privs; root's server keeps
    serving: docs/security.md says so.)"""
    for line in status.splitlines():
        if line.startswith(b"NoNewPrivs:") and line.split()[1:] != [b"0"]:
            return ("no_new_privs is set, and a process under it may have sandboxed itself "
                    "with Landlock, which the server could not see")
    return ""


def world(pid: int | str) -> tuple[object, ...] | None:
    """What of a process a worker cannot take from its client, and must therefore share with
    it: its namespaces (a client in another mount namespace would get the server's files:
    the policy, -o, --log, the working directory, the command's lookup; finding 6), its root
    directory, and its SAME_STATUS lines.  None when it cannot be read (it has gone)."""
    try:
        names = os.listdir(f"/proc/{pid}/ns")
        spaces = tuple(sorted((name, os.readlink(f"/proc/{pid}/ns/{name}")) for name in names))
        root = os.stat(f"/proc/{pid}/root")
        status = procfs.read(f"/proc/{pid}/status")
        rooted = os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None
    try:
        label = procfs.read(f"/proc/{pid}/attr/current")  # (an LSM's confinement)
    except OSError:  # (EINVAL: no LSM keeps labels)
        label = b""
    return (spaces, rooted, (root.st_dev, root.st_ino), label,
            tuple(line for line in status.splitlines() if line.startswith(SAME_STATUS)))


def like_us(client: int, ours: tuple[object, ...]) -> bool:
    """Whether every thread of the client has the server's world (a thread may have been
    confined alone: unshare, setns, a seccomp filter or capabilities of its own)."""
    try:
        tids = os.listdir(f"/proc/{client}/task")
    except OSError:
        return False
    return bool(tids) and all(world(f"{client}/task/{tid}") == ours for tid in tids)


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if _tally is not None:
            _tally.reaped(pid, status)


def stop() -> int:
    """``systrace --resident stop``: SIGTERM to this user's server (the process that listens
    on the socket, checked as every client checks it: an untraced resident server), and wait
    until it has exited (a ``--resident`` right after must not find it still answering); 0,
    also when none ran; 125 when it has not exited after STOP_PATIENCE.  A server of other
    code (an earlier install or edit: its socket's name has another build) is stopped too:
    no client of this code ever connects to it, so it would live on to its idle exit, unseen
    by this command (front28)."""
    import time

    servers: list[tuple[int, bool]] = []  # (pid, of other code)
    found = resident_client.connect()
    if found is not None:
        found[0].close()  # (a verified server: nothing else behind the path is signalled)
        servers.append((found[1], False))
    for path in _other_code_sockets():
        other = resident_client.connect(path=path)
        if other is not None:
            other[0].close()
            if all(other[1] != pid for pid, _ in servers):
                servers.append((other[1], True))
    if not servers:
        say("no resident tracer is running")
        return 0
    for server, _ in servers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signal.SIGTERM)
            os.kill(server, signal.SIGCONT)  # (a stopped server: the SIGTERM lands now)
    deadline = time.monotonic() + STOP_PATIENCE
    while (any(procfs.alive(server) for server, _ in servers)
           and time.monotonic() < deadline):
        time.sleep(0.01)
    code = 0
    for server, other_code in servers:
        if procfs.alive(server):
            say(f"the resident tracer (pid {server}) was asked to stop and has not yet")
            code = EXIT_INTERNAL
        elif other_code:
            say(f"resident tracer of other code stopped (pid {server}: an earlier install "
                "or edit of systrace)")
        else:
            say("resident tracer stopped")
    return code


#: ``systrace --resident status``'s exit when no resident tracer runs (``systemctl is-active``'s)
NOT_RUNNING = 3


def status() -> int:
    """``systrace --resident status``: whether this user's resident tracer (of this code)
    runs -- its pid, socket, uptime, the runs it served and has in flight -- on stdout; 0
    when it runs, NOT_RUNNING when none does (a server of other code is named on stderr: it
    serves no run of this code), 125 when one answers but not with its status."""
    import time

    path = resident_client.socket_path()
    found = resident_client.connect()
    if found is None:
        _tell(f"resident tracer: not running\n  socket: {path}")
        for other in _other_code_sockets():
            found_other = resident_client.connect(path=other)
            if found_other is not None:
                found_other[0].close()
                say(f"a resident tracer of other code runs (pid {found_other[1]}: an earlier "
                    "install or edit of systrace; systrace --resident stop stops it)")
        return NOT_RUNNING
    sock, server = found
    try:
        sock.settimeout(resident_client.HELLO_PATIENCE)
        hello = receive(sock)
        if hello["kind"] != "hello" or hello.get("build") != resident_client.build_id():
            raise ResidentError("a hello of another build")
        send(sock, {"kind": "status"})
        answer = receive(sock)
        if answer["kind"] != "status" or not all(
                type(answer.get(key)) is int for key in ("started", "idle", "served",
                                                         "in_flight")):
            raise ResidentError("not a status")
    except (OSError, ResidentError) as exc:
        say(f"the resident tracer (pid {server}, socket {path}) did not say its status "
            f"({exc or 'no answer'})")
        return EXIT_INTERNAL
    finally:
        sock.close()
    up = max(0, int(time.time()) - answer["started"])
    served, in_flight = answer["served"], answer["in_flight"]
    _tell(f"resident tracer: running, pid {server}\n"
          f"  socket: {path}\n"
          f"  up: {_duration(up)} (it exits after {answer['idle']} s without a run)\n"
          f"  runs: {served} served, {in_flight} in flight")
    return 0


def _tell(text: str) -> None:
    """``text`` on stdout; a reader that went away (``| head -1``) is no error."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # (the interpreter's flush at exit: no message)
        os.close(null)


def _duration(seconds: int) -> str:
    """``45s``, ``12m05s``, ``3h02m``, ``2d04h``."""
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return f"{days}d{h:02d}h"
    if hours:
        return f"{hours}h{m:02d}m"
    if minutes:
        return f"{minutes}m{s:02d}s"
    return f"{s}s"


def _other_code_sockets() -> list[str]:
    """The sockets in this user's server directory under another build's or version's name
    (not a server's temporary ``NAME.PID``: it is renamed into place once it listens)."""
    directory = resident_client.socket_dir()
    ours = os.path.basename(resident_client.socket_path())
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, name) for name in sorted(names)
            if name != ours and name.startswith("resident-") and name.endswith(".sock")]


# --- a worker -----------------------------------------------------------------------------------
#: A spare worker: its pid, and the server's end of the socket pair it waits on
Spare = tuple[int, socket.socket]


def _become_worker(listener: socket.socket, wake: tuple[int, int]) -> None:
    """In a fork of the server: let go of what is the server's (its socket, its wake-up pipe,
    its signal handlers)."""
    signal.set_wakeup_fd(-1)
    for fd in wake:
        os.close(fd)
    listener.close()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)


def _fork_spare(listener: socket.socket, wake: tuple[int, int], run: Run,
                build: str) -> Spare | None:
    """The next connection's worker, forked now -- before that connection, off its way to the
    program's exec: its fork, and the first writes to the pages it shares with the server
    (:func:`_rehearse`).  It waits on a socket pair of its own for the one connection the
    server hands it (:func:`_hand_over`), after the server's checks of the peer, as a worker
    forked then would be handed it; at the pair's end of file (the server exited) it exits.
    None when it cannot be made (the next connection gets a worker forked then)."""
    try:
        ours, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        its.close()
        return None
    if pid == 0:
        code = 1
        try:
            ours.close()
            _become_worker(listener, wake)
            with contextlib.suppress(Exception):  # (a rehearsal only: the run decides)
                _rehearse(lambda: _waiting(its))
            fds: list[int] = []
            try:
                message = receive(its, fds)
            except (OSError, ResidentError):  # (the server exited without handing one over)
                os._exit(0)
            client = message.get("client")
            if message["kind"] != "serve" or len(fds) != 1 or type(client) is not int:
                os._exit(1)
            its.close()
            conn = socket.socket(fileno=fds[0])
        except BaseException:
            os._exit(code)
        _worker(conn, client, run, build)
    its.close()
    return pid, ours


def _waiting(sock: socket.socket) -> bool:
    """Whether something has come on ``sock`` (read nothing)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return True  # (let the receive say what)


def _hand_over(spare: Spare, conn: socket.socket, client: int) -> bool:
    """Give the spare worker the connection of a checked ``client``; False when it cannot be
    given (the spare has gone: killed by someone of the user's, or out of memory)."""
    _pid, ours = spare
    try:
        send(ours, {"kind": "serve", "client": client}, (conn.fileno(),))
        return True
    except OSError:
        return False
    finally:
        ours.close()


def _worker(conn: socket.socket, client: int, run: Run, build: str) -> NoReturn:
    """Serve one connection and exit.  Every failure here ends in an exit: a worker never goes
    back to the server's loop.  ``build``: the server's (its hello says it)."""
    code = 1
    try:
        code = _serve_one(conn, client, run, build)
    except BaseException:  # (fail closed: the tree dies with us, EXITKILL)
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve_one(conn: socket.socket, client: int, run: Run, build: str) -> int:
    fds: list[int] = []
    try:  # (the build: the socket's name is only a name -- resident_client.run)
        send(conn, {"kind": "hello", "build": build})
        request = receive(conn, fds)
    except (OSError, ResidentError):
        return 1
    if request["kind"] == "status" and not fds:
        return _answer_status(conn)
    if request["kind"] != "run" or len(fds) != 4 or not _well_formed(request):
        return 1
    try:
        _become_client(request, fds)
    except (OSError, ValueError):  # (limits or a nice value the server cannot take on)
        send(conn, {"kind": "refuse"})
        return WORKER_DECLINED
    _keys_of_the_client(request)
    held = HeldStream(sys.stderr)
    sys.stderr = held  # type: ignore[assignment]
    starter = ClientStarter(conn, client)
    try:
        code = run(request["argv"], starter)
    except NotServed:
        code = -1
    except SystemExit as exc:  # (argparse's usage errors, --version: said on the client's side)
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    if code < 0:
        held.drop()  # (the client runs it in process, and says it there)
    held.release()
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    starter.done.set()
    send(conn, {"kind": "refuse"} if code < 0 else {"kind": "exit", "code": code})
    return WORKER_DECLINED if code < 0 else WORKER_RAN


def _keys_of_the_client(request: dict[str, Any]) -> None:
    """The program is forked by the client, in the client's session keyring; this worker
    traces it in the server's.  Where the two differ (or the client did not say), the
    program may hold keys the tracer's lookups do not find -- a v1 fscrypt policy's, which
    decrypts an encrypted directory's names and symlinks for it only: the run takes its
    keys as its own from the start (answered.note_own_keys, in this thread, which runs it;
    red team 60)."""
    from systrace_py.engine import answered, ptrace_ops

    told = request.get("keyring")
    if type(told) is int and told >= 0 and told == ptrace_ops.session_keyring():
        return
    if _fscrypt_keys_seen():
        answered.note_own_keys()


#: the descriptions of the keys fscrypt looks for in a looker's keyrings (a v1 policy's:
#: "fscrypt:" and the file systems' legacy prefixes, fs/crypto/keysetup_v1.c)
_FSCRYPT_KEYS = (b"fscrypt:", b"ext4:", b"f2fs:", b"ubifs:")


def _fscrypt_keys_seen() -> bool:
    """Whether a key fscrypt may look for is among the keys this process may view
    (/proc/keys: the user's own, as added, and those it possesses), or one of the user's keys
    is hidden from it -- True when it cannot be told.  Without one, a client's keyrings
    decrypt nothing the worker's do not: its run keeps the native loop (a key the program
    adds later stops: syscalls.py, add_key's guard)."""
    try:
        with open("/proc/keys", "rb") as f:
            keys = f.read()
        with open("/proc/key-users", "rb") as f:
            users = f.read()
    except OSError:
        return True
    return keys_undecided(keys, users, os.getuid())


def keys_undecided(keys: bytes, users: bytes, uid: int) -> bool:
    """Whether /proc/keys' text (``keys``, as a process of ``uid`` reads it) shows a key
    fscrypt looks for, or shows fewer of the user's keys than /proc/key-users' text
    (``users``) counts: a key only its possessor may view (KEYCTL_SETPERM 0x3f000000) is in
    no other process's /proc/keys, root's included, yet fscrypt's lookup for its possessor
    finds it (review 41).  True when the counts cannot be read."""
    owner = str(uid).encode()
    visible = 0  # (the user's own keys /proc/keys shows)
    for line in keys.splitlines():
        fields = line.split(None, 8)
        if len(fields) != 9:
            continue
        if fields[7] == b"logon" and fields[8].startswith(_FSCRYPT_KEYS):
            return True
        visible += fields[5] == owner
    for line in users.splitlines():
        fields = line.replace(b":", b" ").split()
        if len(fields) >= 3 and fields[0] == owner:
            owned = fields[2].split(b"/")[0]
            return not owned.isdigit() or int(owned) > visible
    return False  # (the user has no keys)


def _answer_status(conn: socket.socket) -> int:
    """``systrace --resident status``: the server's tally, this connection left out of the
    runs in flight."""
    if _tally is None:
        return 1
    started, idle, served, in_flight = _tally.read()
    send(conn, {"kind": "status", "server": os.getppid(), "started": started, "idle": idle,
                "served": served, "in_flight": max(0, in_flight - 1)})
    return WORKER_STATUS


def _well_formed(request: dict[str, Any]) -> bool:
    argv, env, limits = request.get("argv"), request.get("env"), request.get("limits")
    return (type(argv) is list and all(type(a) is str for a in argv)
            and type(request.get("nice")) is int and type(limits) is list
            and all(type(limit) is list and len(limit) == 3
                    and all(type(n) is int for n in limit) for limit in limits)
            and type(request.get("umask")) is int
            and type(env) is dict and all(type(k) is str and type(v) is str
                                          for k, v in env.items()))


def _become_client(request: dict[str, Any], fds: list[int]) -> None:
    """Take the client's descriptors 0-2, working directory, environment, umask, resource
    limits and nice value (OSError, ValueError: it cannot; nothing was said yet): the run
    then opens, resolves and says everything where the in-process command would.  The
    working directory comes as a descriptor (the fourth), not by name: a name is resolved
    again here, and a process of the user could move a directory of it meanwhile to start
    the run elsewhere (red team 20).  The client's directory leaves sys.path, as the
    command's own does in process (a worker imports nothing, RUN_IMPORTS; should it ever,
    not from there)."""
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    os.fchdir(fds[3])
    os.close(fds[3])
    forget_directory(os.getcwd())
    for which, soft, hard in request["limits"]:
        if which in resident_client.LIMITS:
            resource.setrlimit(which, (soft, hard))
    os.setpriority(os.PRIO_PROCESS, 0, request["nice"])
    os.umask(request["umask"] & 0o777)
    os.environ.clear()
    os.environ.update(request["env"])


__all__ = ["DEFAULT_IDLE", "NOT_RUNNING", "ClientStarter", "start", "status", "stop", "warm_up"]
