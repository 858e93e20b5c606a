"""The resident tracer's client: a run handed to a warm tracer (issue 16: start-up).

A cold ``systrace`` spends most of its start importing the engine, loading the policy and
compiling the filter.  ``systrace --resident`` (:mod:`systrace_py.resident`) starts a per-user
server that did the imports once; for each run it forks a **worker**, the run's tracer.  This
module is the other end, and the first thing ``python -m systrace_py`` does
(``__main__``): it imports only what a bare interpreter has at hand (``os``, ``marshal``,
``_socket``, ``_signal``, the native extension) -- the point is a start near the bare
interpreter's -- and a run no server takes goes on in process, unchanged.

The exchange, one connection per run (messages: a 4-byte length, then a ``marshal``-ed dict;
the peers are the same user's untraced processes, checked on both sides, see below):

0. worker -> client: ``hello`` with its server's build (build_id), at once (the client waits
   HELLO_PATIENCE for it, then runs in process: a stopped server costs a run a second, not a
   hang; and a server of another build serves no run, whatever name its socket has);
1. client -> worker: ``run`` (argv, environment, umask, nice value, resource limits)
   with fds 0, 1 and 2 and its working directory (``O_PATH``), by SCM_RIGHTS;
2. worker -> client: ``refuse`` (the run needs what a worker cannot do: the client runs it in
   process), ``exit`` (the run ended before a program started: bad usage, a policy error, a
   missing command -- said on the client's stderr already), or ``spawn`` (the filters and
   settings of the program's start, and the worker's pid);
3. the client forks the program's process, which does the child's half of a start
   (:func:`systrace_py.engine.child.become_program`: the same code as in process) and stops;
   client -> worker: ``stopped`` (its pid); the worker seizes it (it must be the client's
   child), and it loads the filter and execs once it sees the worker is its tracer;
4. worker -> client: ``exit`` with the run's status, which the client exits with.

The client stays the program's parent, so the program's parent, its job control (the client
is in the terminal's foreground group; a worker, a daemon's child, is not: that is why runs
that would ask at the terminal are not taken) and its exit status are as in process.  Fail
closed: the worker seizes with EXITKILL, so a worker that dies kills the tree, and a worker
whose client is gone (the connection closed before the verdict) kills itself; a client whose
worker went away kills the program and exits 125.

Who may talk to whom (a security tool: the traced program is the attacker, and it runs as the
user): the socket lives in a directory only the user can enter, and each side checks the
other is the same user and **traced by nobody** (every thread's TracerPid 0,
:func:`systrace_py.procfs.peer`).  A traced program cannot start an untraced process, so it
can neither ask a server to write ``-o ~/.bashrc`` or trace under a policy it chose (a
confused deputy), nor pose as a server that would start a later run's program untraced.
The client also checks that the socket file is a socket of ours reached without a symlink
and that its listener is a resident server (:func:`connect`), and that the tracer a
``spawn`` names is that server's untraced child (:func:`worker_of`); the server serves only
clients in its own namespaces, with its ids, groups and capabilities (resident.world) --
and the program's process checks its own tracer before it runs anything.
"""

from __future__ import annotations

import _socket  # (``socket`` imports enum, selectors...: ~13 ms; this module must stay light)
import marshal
import os
import resource  # (engine.child's already: no cost)
import sys

from systrace_py import __version__, procfs
from systrace_py.engine.child import EXIT_INTERNAL, become_program
from systrace_py.kernel import TYPE_CHECKING

if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Sequence
    from typing import Any
else:
    import _signal  # (``signal`` imports enum)

#: SYSTRACE_NO_RESIDENT=1 (or ``--no-resident``): always run in process
NO_RESIDENT_ENV = "SYSTRACE_NO_RESIDENT"
#: A run's first words that no worker serves (so not even a connect is tried): the policy
#: tools, the server's own commands, help and version, in-process on request, attaching (the
#: attached process is not the client's child; SIGINT detaches it, and the terminal sends
#: that to the client, not the worker).  The worker's own checks (cli.args.resident_refusal)
#: decide for good: this is a shortcut only.
_IN_PROCESS = frozenset({"policy", "--resident", "--no-resident", "--attach", "-h", "--help",
                         "-V", "--version"})
#: The wire format, one spec for both ends and both clients (this module's and the native
#: command's, scripts/systrace.c): a message is a 4-byte little-endian length, then
#: ``marshal.dumps(a dict, WIRE_VERSION)`` of str keys and values of str, int, bool, None,
#: bytes, lists and dicts.  Version 2: no references (version 3's FLAG_REF marks objects by
#: their reference count, which would make the bytes of one message differ between runs),
#: every str as TYPE_UNICODE (UTF-8), every int as TYPE_INT or TYPE_LONG.
WIRE_VERSION = 2
#: the largest message either side reads (a request carries the environment and argv)
MAX_MESSAGE = 16 << 20
#: The resource limits a worker takes from its client (with its nice value): the worker is
#: the run's tracer, which in process has the client's (the program, the client's child, has
#: them anyway).  A worker that cannot take them (a hard limit above the server's, a nice
#: value below) declines the run.
LIMITS = (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_DATA,
          resource.RLIMIT_FSIZE, resource.RLIMIT_MEMLOCK, resource.RLIMIT_NOFILE,
          resource.RLIMIT_NPROC, resource.RLIMIT_STACK)
#: seconds the client waits for a worker's first word (``hello``) before it runs in process:
#: a server that does not fork one at once (stopped: SIGSTOP, by anyone of the user's -- a
#: traced program too --, or swapped out) costs a run this much, never a hang
HELLO_PATIENCE = 1.0


class ResidentError(Exception):
    """The conversation with a worker broke off (a message that is not one, end of file)."""


class NotServed(Exception):
    """Raised in a worker: a run it does not serve as the in-process command would (the
    reason); the client runs it in process.  Raised before anything is said or written."""


def socket_dir(env: Any = os.environ) -> str:
    """The per-user directory of the server's socket: ``$XDG_RUNTIME_DIR/systrace-py`` (the
    session's private runtime directory), else ``/tmp/systrace-py-UID``."""
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "systrace-py")
    return f"/tmp/systrace-py-{os.getuid()}"


def socket_path(env: Any = os.environ, build: str | None = None) -> str:
    """The server's socket; its name carries the version and the build (:func:`build_id`,
    or ``build`` when the caller has it), so that a client of other code (an upgrade, an
    edit, a rebuilt extension, another copy of the tree) looks elsewhere and starts its own.
    A name proves nothing, though: the directory is the user's, and a traced program may
    rename another copy's socket to it -- a worker's hello says its build (red team 24)."""
    return os.path.join(socket_dir(env), f"resident-{__version__}-{build or build_id()}.sock")


def build_id() -> str:
    """A name for the code a process runs: a hash of the interpreter's version and of every
    .py and .so file of the package (its inode, size and modification time; not the
    contents: the client reads no file, ~0.1 ms for the package's ~90 stats).  Ints only:
    their hash is the same in every process (a str's is salted)."""
    stats: list[int] = [*sys.version_info[:3]]
    pending = [os.path.dirname(os.path.abspath(__file__))]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:  # (readdir's order: the same for an unchanged directory)
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__" and not entry.name.startswith("."):
                        pending.append(entry.path)
                elif entry.name.endswith((".py", ".so")):
                    st = entry.stat()
                    stats += (len(entry.name), st.st_ino, st.st_size, st.st_mtime_ns)
    return f"{hash(tuple(stats)) & 0xFFFFFFFFFFFF:012x}"


def private_dir(path: str) -> bool:
    """Whether ``path`` is a directory (not a symlink) of ours that nobody else may enter or
    write: where a socket of ours can only have been put by us."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (st.st_mode & 0o170000 == 0o040000 and st.st_uid == os.getuid()
            and st.st_mode & 0o077 == 0)


def trusted_peer(sock: Any) -> int | None:
    """The peer's pid when it is this user's process and traced by nobody; else None."""
    found = procfs.peer(sock)
    if found is None:
        return None
    pid, uid, tracers = found
    if uid != os.getuid() or pid <= 0 or tracers != {0}:
        return None
    return pid


# --- messages -----------------------------------------------------------------------------------
def send(sock: Any, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = marshal.dumps(message, WIRE_VERSION)
    payload = len(data).to_bytes(4, "little") + data
    if fds:
        rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
        sent = sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def _read_exactly(sock: Any, size: int, fds: list[int] | None = None) -> bytes:
    data = b""
    while len(data) < size:
        if fds is not None and not data:
            # (close-on-exec, as accept() and open() give ours: a descriptor that came so
            # is the receiver's own, never its children's -- the spare worker's connection
            # was its approver's too: review 27)
            chunk, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_SPACE(4 * 4),
                                                           _socket.MSG_CMSG_CLOEXEC)
            for level, kind, rights in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    fds += [int.from_bytes(rights[i:i + 4], sys.byteorder, signed=True)
                            for i in range(0, len(rights) - len(rights) % 4, 4)]
        else:
            chunk = sock.recv(size - len(data))
        if not chunk:
            raise ResidentError("the connection ended")
        data += chunk
    return data


def receive(sock: Any, fds: list[int] | None = None) -> dict[str, Any]:
    """The next message (``fds``: the descriptors that came with it are added there)."""
    size = int.from_bytes(_read_exactly(sock, 4, fds), "little")
    if size > MAX_MESSAGE:
        raise ResidentError(f"a message of {size} bytes")
    try:
        message = marshal.loads(_read_exactly(sock, size))
    except (EOFError, ValueError, TypeError) as exc:
        raise ResidentError("a message that is not one") from exc
    if type(message) is not dict or type(message.get("kind")) is not str:
        raise ResidentError("a message that is not one")
    return message


def connect(env: Any = os.environ, build: str | None = None,
            path: str | None = None) -> tuple[Any, int] | None:
    """A connection to this user's server of this build, and the server's pid; None when
    there is none we trust.  The socket file is opened without following a symlink and must
    be a socket of ours (the connect goes through that very file: /proc/self/fd/N, so it is
    not swapped between the look and the connect); its peer -- the process that listened --
    must be this user's, untraced, and a resident server (:func:`resident_server`): a
    listening socket an untraced process of the user's made for something else (socket
    activation, a launcher), renamed or linked here by a traced program, is no server.
    ``build``: this code's build_id, when the caller has it; ``path``: another socket of the
    directory (``--resident stop``'s look for a server of other code)."""
    path = path or socket_path(env, build)
    if not private_dir(os.path.dirname(path)):
        return None
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o170000 != 0o140000 or st.st_uid != os.getuid():
            raise OSError("not a socket of ours")
        # (without blocking: a server that accepts nothing -- stopped -- with a full backlog
        # would hold a blocking connect for ever, before HELLO_PATIENCE starts; a unix
        # socket's connect is done at once or fails with EAGAIN: review 31)
        sock.setblocking(False)
        sock.connect(f"/proc/self/fd/{fd}")
        sock.setblocking(True)
    except OSError:
        sock.close()
        return None
    finally:
        os.close(fd)
    server = trusted_peer(sock)
    if server is None or not resident_server(server):
        sock.close()
        return None
    return sock, server


def resident_server(pid: int) -> bool:
    """Whether ``pid`` (this user's untraced process) is a resident server: its command line
    says ``--resident`` (before any ``--``), and it is not dumpable -- for a user other than
    root, /proc/PID/exe is then unreadable (EACCES) to us; root reads it, and it must be this
    interpreter.  A traced program cannot start an untraced process, so it cannot make one
    that passes: a server is one the user started."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if not resident_command(f.read()):
                return False
    except OSError:
        return False
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except PermissionError:
        return os.getuid() != 0
    except OSError:
        return False
    return os.getuid() == 0 and exe == os.path.realpath(sys.executable)


def resident_command(cmdline: bytes) -> bool:
    """Whether a /proc/PID/cmdline is a resident server's (and so its workers', forks of it):
    ``--resident`` (or ``--resident=start``, argparse's other spelling of it) before any
    ``--``, and not ``stop``.  (A server started as ``--resident=start`` was no server to
    its clients, to ``--resident stop`` and to the guards: review 27.)"""
    words = cmdline.split(b"\0")
    if b"--" in words:
        words = words[:words.index(b"--")]
    return (b"--resident" in words or b"--resident=start" in words) and b"stop" not in words


def worker_of(server: int, tracer: int) -> bool:
    """Whether ``tracer`` (the pid a ``spawn`` names) is a child of the verified ``server``
    traced by nobody: a worker.  Else the program's process would wait for a tracer the
    server does not vouch for (and with 0, or -1 = anyone, for none at all)."""
    if tracer <= 0:
        return False
    fields = procfs.read_stat(tracer)
    return (fields is not None and int(fields[procfs.PPID]) == server
            and procfs.tracers_of(tracer) == {0})


# --- a run ---------------------------------------------------------------------------------------
def run(argv: Sequence[str]) -> int | None:
    """Run ``systrace ARGV`` through the resident tracer: its exit status, or None when no
    server takes it (none is running, it refused, this run is not one it serves): the
    caller then runs it in process."""
    if os.environ.get(NO_RESIDENT_ENV) == "1" or not argv:
        return None
    for word in argv:
        if word == "--":
            break
        if word in _IN_PROCESS:
            return None
    try:
        from systrace_py import _cloop as native  # type: ignore[attr-defined]
    except ImportError:  # no native extension: the program's process would need ctypes
        return None
    try:
        os.getcwd()  # (a removed working directory: in process, which says so)
        for fd in (0, 1, 2):
            os.fstat(fd)  # (a closed one: in process, which knows what to do)
    except OSError:
        return None
    if not private_dir(socket_dir()):
        # no server of this user's has ever made its directory (or it is not one connect
        # would trust): none to ask, and no build_id to compute -- its ~90 stats were ~0.2 ms
        # of every in-process start of a user who never ran --resident (issue 16)
        return None
    build = build_id()
    found = connect(build=build)
    if found is None:
        return None
    sock, server = found
    try:
        sock.settimeout(HELLO_PATIENCE)
        try:
            # (a server of another build -- another copy of the tree whose socket a traced
            # program renamed to our name, red team 24 -- serves nothing of ours)
            hello = receive(sock)
            if hello["kind"] != "hello" or hello.get("build") != build:
                return None
        except (OSError, ResidentError):  # (TimeoutError is an OSError)
            return None
        sock.settimeout(None)
        return _converse(sock, server, native, list(argv))
    finally:
        sock.close()


def _converse(sock: Any, server: int, native: Any, argv: list[str]) -> int | None:
    mask = os.umask(0o022)
    os.umask(mask)
    try:  # (the keys the program's lookups may find: resident.py _serve_one, red team 60)
        keyring = native.session_keyring()
    except OSError:
        keyring = -1
    try:
        here = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:  # (the directory itself, not its name: resident._become_client)
            send(sock, {"kind": "run", "argv": argv, "env": dict(os.environ),
                        "umask": mask, "nice": os.getpriority(os.PRIO_PROCESS, 0),
                        "keyring": keyring,
                        "limits": [[which, *resource.getrlimit(which)] for which in LIMITS]},
                 (0, 1, 2, here))
        finally:
            os.close(here)
        reply = receive(sock)
    except (OSError, ResidentError):
        return None  # (before anything ran: in process)
    if reply["kind"] == "refuse":
        return None
    if reply["kind"] == "exit":
        return _status(reply)
    if reply["kind"] != "spawn" or not _well_formed(reply):
        return None
    if not worker_of(server, reply["tracer"]):
        os.write(2, b"systrace: the resident tracer named a tracer that is not its worker; "
                    b"the command was not run\n")
        return EXIT_INTERNAL
    return _spawn(sock, native, reply)


def _well_formed(spec: dict[str, Any]) -> bool:
    """Whether a ``spawn`` message has what the program's start needs, of the right types (a
    server of this version always sends them; anything else is no server of ours).  Whether
    the tracer is the server's worker is worker_of's (0 and -1 are none: red team 10)."""
    env = spec.get("env")
    return (type(spec.get("tracer")) is int
            and type(spec.get("filters")) is list
            and all(type(f) is bytes for f in spec["filters"])
            and type(spec.get("argv")) is list and all(type(a) is str for a in spec["argv"])
            and bool(spec["argv"]) and type(spec.get("executable")) is str
            and type(spec.get("nnp")) is bool and type(spec.get("no_core")) is bool
            and type(spec.get("restore_signals")) is list
            and all(type(n) is int for n in spec["restore_signals"])
            and (env is None or (type(env) is dict and all(
                type(k) is str and type(v) is str for k, v in env.items())))
            and (spec.get("cwd") is None or type(spec.get("cwd")) is str))


def _status(reply: dict[str, Any]) -> int:
    code = reply.get("code")
    return code if type(code) is int and 0 <= code <= 255 else EXIT_INTERNAL


def _spawn(sock: Any, native: Any, spec: dict[str, Any]) -> int:
    """Fork the program's process as the worker said, hand it over stopped, and wait for the
    worker's verdict; forward the signals systrace passes on in process (the worker's
    session decides what each does), and ignore SIGQUIT as it does."""
    tracer = spec["tracer"]
    # Not dumpable from here on (the program's process makes itself dumpable again): the
    # client is the program's untraced parent, which a process of the same user could
    # otherwise ptrace or write /proc/PID/mem of; in process the parent is the tracer, which
    # is not dumpable while it traces (Session._protected).
    native.set_dumpable(0)
    try:
        pid = os.fork()
    except OSError as exc:  # (nothing started: the worker sees our end of file and exits)
        os.write(2, f"systrace: cannot start the command ({exc.strerror})\n".encode())
        return EXIT_INTERNAL
    if pid == 0:
        become_program(native, spec["filters"], argv=spec["argv"],
                       executable=spec["executable"], env=spec["env"], cwd=spec["cwd"],
                       restore_signals=spec["restore_signals"], no_core=spec["no_core"],
                       nnp=spec["nnp"],
                       before_stop=lambda: native.set_ptracer(tracer), expect_tracer=tracer)
    try:
        def forward(signum: int, _frame: object) -> None:
            try:  # noqa: SIM105  (contextlib costs the client's start a module and more)
                os.kill(tracer, signum)
            except OSError:
                pass

        for signum in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP):
            _signal.signal(signum, forward)
        _signal.signal(_signal.SIGQUIT, _signal.SIG_IGN)
        _, status = os.waitpid(pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            send(sock, {"kind": "stopped", "pid": pid})
        else:
            send(sock, {"kind": "failed", "status": status})
        reply = receive(sock)
        code = _status(reply) if reply["kind"] == "exit" else EXIT_INTERNAL
    except (OSError, ResidentError):
        os.write(2, b"systrace: the resident tracer ended before the run did; the traced "
                    b"processes were killed\n")
        code = EXIT_INTERNAL
    # Our child, not yet reaped: its pid is still its own, so this kills nothing else.  (It
    # has exited by now after a verdict; without one it must not go on untraced, nor stay
    # stopped.)
    try:  # noqa: SIM105  (as above)
        os.kill(pid, _signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            pass
        break
    return code


__all__ = ["HELLO_PATIENCE", "LIMITS", "MAX_MESSAGE", "NO_RESIDENT_ENV", "WIRE_VERSION",
           "NotServed", "ResidentError", "build_id", "connect", "private_dir", "receive",
           "resident_command", "resident_server", "run", "send", "socket_dir", "socket_path",
           "trusted_peer", "worker_of"]
