"""Typed records of system calls and process events, as :mod:`systrace_py.api` handlers see them.

A handler gets one record per call: a frozen dataclass whose fields are the call's arguments
decoded the way a person reads them -- paths resolved in the tracee's view (cwd, dirfd, root,
symlinks), flags as their C names, socket addresses as host/port/path, uids and modes as
numbers -- plus the raw registers (``args``) for anything the record does not decode.

Why records are built at the call's *entry* even for a handler that runs at its exit: a path
or address is read from the tracee's memory, which may have changed (or, after an exec, be
gone) by the time the call returns; and what was read at entry is what the engine holds the
call to (the kernel uses the tracer's copy, see ``engine/enforce.py``), so the record names
exactly what the kernel acted on.  The exit record is the entry record plus the result, the
errno name, and what only the exit can tell (the peer address of an accept, the struct stat
a stat filled in).

Records are frozen, so a handler may keep them in its context.  Their control methods
(``refuse``, ``rewrite``, ``set_arg``, ``set_result``, ``kill``, ``detach``, ``stop``) and
their ``memory`` work only while the handler runs, because only then is the task stopped.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import os
import signal
import socket
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.decode import (
    FD_ARGS,
    PATH_ARGS,
    SOCKADDR_ARGS,
    DecodedCall,
    DecodeError,
    Decoder,
    open_flags_text,
)
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.engine.sockaddr import encode_sockaddr
from systrace_py.kernel import (
    AT_EMPTY_PATH,
    AT_NO_AUTOMOUNT,
    AT_REMOVEDIR,
    AT_STATX_DONT_SYNC,
    AT_STATX_FORCE_SYNC,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    CLONE_FLAG_NAMES,
    CLONE_VFORK,
    CLONE_VM,
    CSIGNAL,
    MAX_ERRNO,
    O_CREAT,
    O_TMPFILE_BIT,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RENAME_WHITEOUT,
)
from systrace_py.policy.aliases import CHILD_CALLS
from systrace_py.policy.model import SockAddr
from systrace_py.syscalls import BY_NAME, Kind, Path

_U32 = 0xFFFFFFFF

#: errno values the kernel uses internally; a tracer sees them at exit stops of calls that a
#: signal interrupted (the call is then restarted, and stops again).
_KERNEL_ERRNOS = {512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
                  515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK"}


def errno_name(err: int | None) -> str | None:
    """``EACCES`` for 13; the kernel's internal restart codes by their kernel names."""
    if err is None:
        return None
    return errno_module.errorcode.get(err) or _KERNEL_ERRNOS.get(err) or f"E{err}"


def signal_name(sig: int) -> str | None:
    """``SIGTERM`` for 15, ``SIGRTMIN+3`` for a real-time signal, None for 0 (no signal)."""
    if sig == 0:
        return None
    try:
        return signal.Signals(sig).name
    except ValueError:
        if signal.SIGRTMIN <= sig <= signal.SIGRTMAX:
            return f"SIGRTMIN+{sig - signal.SIGRTMIN}"
        return f"SIG{sig}"


def _int32(value: int) -> int:
    value &= _U32
    return value - (1 << 32) if value & 0x80000000 else value


def _id(value: int) -> int:
    """A uid/gid argument: -1 (leave unchanged) stays -1."""
    value &= _U32
    return -1 if value == _U32 else value


def _names(value: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """The names of the bits set in ``value``; leftover bits as one hex number."""
    out = []
    rest = value
    for bit, name in table:
        if value & bit == bit and bit:
            out.append(name)
            rest &= ~bit
    if rest:
        out.append(hex(rest))
    return tuple(out)


_AT_FLAGS = ((AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"), (AT_REMOVEDIR, "AT_REMOVEDIR"),
             (AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"), (AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"),
             (AT_EMPTY_PATH, "AT_EMPTY_PATH"), (AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"),
             (AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"))
_RENAME_FLAGS = ((RENAME_NOREPLACE, "RENAME_NOREPLACE"), (RENAME_EXCHANGE, "RENAME_EXCHANGE"),
                 (RENAME_WHITEOUT, "RENAME_WHITEOUT"))
_SOCK_FLAGS = ((os.O_NONBLOCK, "SOCK_NONBLOCK"), (os.O_CLOEXEC, "SOCK_CLOEXEC"))
_SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM",
               5: "SOCK_SEQPACKET", 6: "SOCK_DCCP", 10: "SOCK_PACKET"}
#: what fork and vfork are, in clone flags (so every CloneCall reads the same way).
_FORK_FLAGS = {"fork": signal.SIGCHLD, "vfork": CLONE_VFORK | CLONE_VM | signal.SIGCHLD}


def family_name(family: int) -> str:
    """``AF_INET`` for 2."""
    try:
        return socket.AddressFamily(family).name
    except ValueError:
        return f"AF_{family}"


# --- control: what a handler asks for --------------------------------------------------------
class ControlError(RuntimeError):
    """A control action that cannot apply where it was asked: a refusal or rewrite at a call's
    exit (the call has run), a path rewrite on a call without that path, an action after the
    handler returned (the task is no longer stopped)."""


class Control:
    """What one handler call asked for.  The monitor reads it when the handler returns and
    turns it into the engine's Reply; nothing here touches the tracee except memory and
    register reads, which are valid because the task is stopped while the handler runs."""

    def __init__(self, *, entry: bool, tid: int, memory: TraceeMemory | None) -> None:
        self.active = True
        self.entry = entry
        self.tid = tid
        self._memory = memory
        self.refusal: tuple[int, int | None] | None = None
        self.paths: dict[str, str] = {}
        self.sockaddr: bytes | None = None
        self.args: dict[int, int] = {}
        self.result: int | None = None
        self.kill = False
        self.detach = False
        self.stop: bool | None = None   # None: go on; True: kill the tree; False: let it run

    def require(self, what: str, *, entry: bool | None = None) -> None:
        if not self.active:
            raise ControlError(f"{what}: the handler has returned (the task is running again)")
        if entry is True and not self.entry:
            raise ControlError(f"{what}: only at a call's entry (it has already run); "
                               "register the handler as 'NAME:entry'")
        if entry is False and self.entry:
            raise ControlError(f"{what}: only at a call's exit")

    @property
    def memory(self) -> TraceeMemory:
        self.require("memory")
        if self._memory is None:
            raise ControlError("memory: this event has no process memory")
        return self._memory


class _Controlled:
    """Control methods shared by every record (the part a handler of any kind may use)."""

    _ctl: Control | None

    def _control(self, what: str) -> Control:
        ctl = getattr(self, "_ctl", None)
        if ctl is None:
            raise ControlError(f"{what}: this record was not given to a handler")
        return ctl

    def stop(self, kill: bool = True) -> None:
        """End the whole monitor: no handler is called again.  ``kill=True`` kills every
        traced process, so :func:`systrace_py.monitor` returns at once; ``kill=False`` lets
        them run to their end unobserved, and ``monitor`` returns then."""
        ctl = self._control("stop")
        ctl.require("stop")
        ctl.stop = kill

    def kill(self) -> None:
        """SIGKILL the process this record is about (its exit event still comes)."""
        ctl = self._control("kill")
        ctl.require("kill")
        ctl.kill = True

    def detach(self) -> None:
        """Stop watching this process and the children it makes from now on: no handler is
        called for them again and their calls run unchecked.  (The processes stay attached
        underneath: with the prefilter loaded, a truly detached process would get ENOSYS for
        every handled call.)"""
        ctl = self._control("detach")
        ctl.require("detach")
        ctl.detach = True

    @property
    def memory(self) -> TraceeMemory:
        """The process's memory (``read``, ``read_exact``, ``read_cstring``, ``write``),
        while the handler runs."""
        return self._control("memory").memory


# --- system call records ---------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Syscall(_Controlled):
    """Any system call.  Every record type below extends it.

    ``name`` is the kernel's name of the call as made (glibc's ``open()`` is ``openat``, its
    ``stat()`` is ``newfstatat``, its ``fork()`` is ``clone``).  ``args`` are the six raw
    argument registers.  At entry ``result`` is None; at exit it is the raw return value
    (``-errno`` on failure, when ``errno``/``errno_name`` are set).  ``refused`` says the
    call did not run: a handler or the engine refused it (the result is what the program got).
    ``paths`` maps each path argument's role ("path", or "old"/"new") to its resolved path,
    for every call with path arguments.
    """

    name: str
    pid: int
    tid: int
    program: str
    args: tuple[int, ...]
    is_entry: bool = True
    result: int | None = None
    errno: int | None = None
    errno_name: str | None = None
    refused: bool = False
    paths: Mapping[str, str] = dataclasses.field(default_factory=dict)

    #: calls this record type describes (filled by :func:`_describes`).
    CALLS: ClassVar[tuple[str, ...]] = ()

    @property
    def is_exit(self) -> bool:
        return not self.is_entry

    @property
    def ok(self) -> bool | None:
        """True when the call succeeded; None at entry."""
        return None if self.result is None else self.errno is None

    # exit-only decoding, per record type
    def _at_exit(self, call: DecodedCall, reader: Reader) -> dict[str, Any]:
        return {}

    # --- control ---------------------------------------------------------------------------
    def refuse(self, err: int = errno_module.EPERM, *, retval: int | None = None) -> None:
        """Do not run the call: it fails with ``err`` (or returns ``retval``).  Entry only."""
        ctl = self._control("refuse")
        ctl.require("refuse", entry=True)
        if retval is None and not 0 < err <= MAX_ERRNO:
            raise ValueError(f"refuse: errno {err} is not in 1..4095")
        ctl.refusal = (err, retval)

    def rewrite(self, path: str | None = None, *, old: str | None = None,
                new: str | None = None,
                address: SockAddr | tuple[str, int] | str | None = None) -> None:
        """Run the call on other arguments: ``path`` (or ``old``/``new`` for rename and link)
        for a path argument, ``address`` for the socket address of connect, bind, sendto or
        sendmsg -- a SockAddr, ``(host, port)`` (IPv4 or IPv6) or a unix socket path
        (``"@name"`` for an abstract one).  The new value goes into memory only the tracer
        writes, and the call's register points there; the program's own buffer is untouched.
        Entry only."""
        ctl = self._control("rewrite")
        ctl.require("rewrite", entry=True)
        wanted = {role: p for role, p in (("path", path), ("old", old), ("new", new))
                  if p is not None}
        roles = _roles(self.name)
        for role, target in wanted.items():
            if role not in roles:
                raise ControlError(f"rewrite: {self.name} has no {role!r} path argument"
                                   f" (it has {', '.join(roles) or 'none'})")
            if not isinstance(target, str) or not target or "\0" in target:
                raise ValueError(f"rewrite: bad path {target!r}")
        if address is not None:
            if self.name not in SOCKADDR_ARGS and self.name != "sendmsg":
                raise ControlError(f"rewrite: {self.name} has no socket address argument")
            ctl.sockaddr = encode_sockaddr(as_sockaddr(address))
        ctl.paths.update(wanted)

    def set_arg(self, index: int, value: int) -> None:
        """Change a scalar argument register (0-5) before the call runs: a flags word, a
        mode, a count, a signal number.  Pointer arguments the engine holds (paths, socket
        addresses, exec argv) are changed with :meth:`rewrite`.  Entry only."""
        ctl = self._control("set_arg")
        ctl.require("set_arg", entry=True)
        if not 0 <= index <= 5:
            raise ValueError("set_arg: argument index must be 0..5")
        held = _held_args(self.name)
        if index in held:
            raise ControlError(f"set_arg: argument {index} of {self.name} is {held[index]}; "
                               "use rewrite()")
        ctl.args[index] = int(value)

    def set_result(self, value: int) -> None:
        """Make the call return ``value`` instead (``-errno`` to fail).  Exit only."""
        ctl = self._control("set_result")
        ctl.require("set_result", entry=False)
        ctl.result = int(value)

    def registers(self) -> Any:
        """The task's registers (a ``user_regs_struct``: ``rip``, ``rsp``, ``orig_rax``...),
        read while the handler runs."""
        ctl = self._control("registers")
        ctl.require("registers")
        return pt.getregs(ctl.tid)


def _roles(name: str) -> tuple[str, ...]:
    specs = PATH_ARGS.get(name)
    if specs is not None:
        return tuple(s.role for s in specs)
    return ("path",) if name in FD_ARGS else ()


_HELD_STRUCTS = {Kind.SOCKADDR: "the socket address", Kind.OPEN_HOW: "struct open_how",
                 Kind.CLONE_ARGS: "struct clone_args"}


def _held_args(name: str) -> dict[int, str]:
    """Argument registers the engine may point at its own copies: changing them by hand
    would be undone (or would escape what was checked)."""
    out: dict[int, str] = {}
    call = BY_NAME.get(name)
    for index, arg in enumerate(call.args if call is not None else ()):
        if isinstance(arg, Path):
            out[index] = f"the {arg.role!r} path"
        elif arg.kind in _HELD_STRUCTS:
            out[index] = _HELD_STRUCTS[arg.kind]
            if arg.length is not None:
                out[arg.length] = _HELD_STRUCTS[arg.kind]
        elif arg.kind == Kind.MSGHDR:
            out[index] = "the message header"
        elif arg.kind == Kind.ARGV:
            out[index] = "argv"
    return out


def as_sockaddr(address: SockAddr | tuple[str, int] | str) -> SockAddr:
    """A SockAddr from what :meth:`Syscall.rewrite` accepts."""
    if isinstance(address, SockAddr):
        return address
    if isinstance(address, str):
        return SockAddr("unix", path=address)
    host, port = address
    return SockAddr("inet6" if ":" in host else "inet", host, int(port))


@dataclass(frozen=True, kw_only=True)
class OpenCall(Syscall):
    """open, openat, creat, openat2.  ``path`` is resolved, ``path_as_given`` as passed;
    ``flag_names`` like ``("O_WRONLY", "O_CREAT", "O_CLOEXEC")``; ``mode`` only when the
    call can create (O_CREAT, O_TMPFILE); ``dirfd`` for the *at calls (AT_FDCWD is -100).
    The new descriptor is ``result``."""

    path: str | None = None
    path_as_given: str | None = None
    dirfd: int | None = None
    flags: int = 0
    flag_names: tuple[str, ...] = ()
    mode: int | None = None
    resolve: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReadCall(Syscall):
    """read.  ``fd_path`` is what the descriptor refers to (``pipe:[…]`` for a pipe).  At
    exit, ``result`` is the byte count and :meth:`data` reads what was read."""

    fd: int = -1
    fd_path: str | None = None
    buf: int = 0
    count: int = 0

    def data(self, limit: int = 1 << 20) -> bytes:
        """The bytes the call read (at exit) or is about to write (WriteCall, at entry),
        read from the tracee while the handler runs."""
        if self.errno is not None:
            return b""
        size = self.count if self.result is None else self.result
        return self.memory.read(self.buf, min(size, limit))


@dataclass(frozen=True, kw_only=True)
class WriteCall(ReadCall):
    """write: as ReadCall; :meth:`data` is what the program writes."""


@dataclass(frozen=True, kw_only=True)
class SocketCall(Syscall):
    """socket.  ``family`` like ``"AF_INET"``, ``type_name`` like ``"SOCK_STREAM"``,
    ``type_flags`` like ``("SOCK_CLOEXEC",)``.  The new descriptor is ``result``."""

    domain: int = 0
    family: str = ""
    type: int = 0
    type_name: str = ""
    type_flags: tuple[str, ...] = ()
    protocol: int = 0


@dataclass(frozen=True, kw_only=True)
class ChownCall(Syscall):
    """chown, fchown, lchown, fchownat.  ``path`` is the file (for fchown the descriptor's
    file); ``uid``/``gid`` -1 mean "unchanged"; ``follow`` whether a final symlink is
    followed."""

    path: str | None = None
    path_as_given: str | None = None
    fd: int | None = None
    uid: int = -1
    gid: int = -1
    follow: bool = True
    flag_names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ChmodCall(Syscall):
    """chmod, fchmod, fchmodat, fchmodat2.  ``mode`` is the permission bits (``0o644``)."""

    path: str | None = None
    path_as_given: str | None = None
    fd: int | None = None
    mode: int = 0
    flag_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatInfo:
    """The part of a struct stat / struct statx a call returned that people look at."""

    mode: int
    ino: int
    dev: int
    nlink: int
    uid: int
    gid: int
    size: int
    mtime: float


_STAT_BUFFER_ARG = {"newfstatat": 2, "statx": 4}  # stat, lstat, fstat: 1


@dataclass(frozen=True, kw_only=True)
class StatCall(Syscall):
    """stat, lstat, fstat, newfstatat, statx.  ``path`` is the file (for fstat and
    AT_EMPTY_PATH the descriptor's file); ``info`` is what the call returned, at exit when it
    succeeded; ``mask`` is statx's request mask."""

    path: str | None = None
    path_as_given: str | None = None
    fd: int | None = None
    follow: bool = True
    flag_names: tuple[str, ...] = ()
    mask: int | None = None
    info: StatInfo | None = None

    def _at_exit(self, call: DecodedCall, reader: Reader) -> dict[str, Any]:
        if self.errno is not None:
            return {}
        buf = self.args[_STAT_BUFFER_ARG.get(self.name, 1)]
        return {"info": reader.stat_info(buf, statx=self.name == "statx")}


@dataclass(frozen=True, kw_only=True)
class AddressCall(Syscall):
    """A call on a socket with an address: ``fd`` and the decoded ``address`` (family
    "inet", "inet6" or "unix"; ``host``/``port``, or ``path`` resolved, "@name" for an
    abstract unix socket)."""

    fd: int = -1
    address: SockAddr | None = None


@dataclass(frozen=True, kw_only=True)
class ConnectCall(AddressCall):
    """connect."""


@dataclass(frozen=True, kw_only=True)
class BindCall(AddressCall):
    """bind."""


@dataclass(frozen=True, kw_only=True)
class AcceptCall(AddressCall):
    """accept, accept4.  ``address`` is the peer's, known at exit; the new connection's
    descriptor is ``result``."""

    flag_names: tuple[str, ...] = ()

    def _at_exit(self, call: DecodedCall, reader: Reader) -> dict[str, Any]:
        if self.errno is not None or not self.args[1] or not self.args[2]:
            return {}
        return {"address": reader.sockaddr_at(call, self.args[1], self.args[2])}


@dataclass(frozen=True, kw_only=True)
class ListenCall(Syscall):
    """listen."""

    fd: int = -1
    backlog: int = 0


@dataclass(frozen=True, kw_only=True)
class ExecCall(Syscall):
    """execve, execveat.  ``path`` resolved (a script's own path, not its interpreter's),
    ``argv`` as passed.  A successful exec's exit record comes after the new program is in
    place (``result`` 0); the ``@exec`` event says the same with the new program's name."""

    path: str | None = None
    path_as_given: str | None = None
    argv: tuple[str, ...] | None = None
    flag_names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CloneCall(Syscall):
    """clone, clone3, fork, vfork (fork and vfork are given the clone flags they stand for,
    clone3 those of its struct clone_args).  ``exit_signal`` is the signal the parent gets
    when the child ends; ``result`` (in the parent) is the child's pid.  The child itself is
    reported by the ``@child`` event."""

    flags: int = 0
    flag_names: tuple[str, ...] = ()
    exit_signal: str | None = None


@dataclass(frozen=True, kw_only=True)
class RenameCall(Syscall):
    """rename, renameat, renameat2: ``old`` and ``new`` resolved (neither follows a final
    symlink), ``flag_names`` like ``("RENAME_NOREPLACE",)``."""

    old: str | None = None
    new: str | None = None
    old_as_given: str | None = None
    new_as_given: str | None = None
    flag_names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class UnlinkCall(Syscall):
    """unlink, unlinkat, rmdir.  ``directory`` for rmdir and AT_REMOVEDIR."""

    path: str | None = None
    path_as_given: str | None = None
    directory: bool = False
    flag_names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MkdirCall(Syscall):
    """mkdir, mkdirat.  ``mode`` as passed (before the umask)."""

    path: str | None = None
    path_as_given: str | None = None
    mode: int = 0


@dataclass(frozen=True, kw_only=True)
class KillCall(Syscall):
    """kill, tkill, tgkill.  ``target`` is the pid argument (for kill: 0 and negative
    numbers mean process groups, -1 every process); ``thread`` the tid of tkill/tgkill;
    ``signal`` 0 checks existence only (``signal_name`` None)."""

    target: int = 0
    thread: int | None = None
    signal: int = 0
    signal_name: str | None = None


# --- process event records -------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ChildEvent(_Controlled):
    """A new process (``@child``): ``pid`` was made by ``parent`` with ``how`` ("fork",
    "vfork" or "clone"); it runs ``program`` (its parent's) until it execs.  ``kill`` and
    ``detach`` act on the child."""

    pid: int
    parent: int
    how: str
    program: str


@dataclass(frozen=True, kw_only=True)
class ExecEvent(_Controlled):
    """An exec that succeeded (``@exec``): ``pid`` now runs ``program`` (the path that was
    executed, resolved), with ``argv``; ``previous`` is what it ran before."""

    pid: int
    program: str
    previous: str
    argv: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ExitEvent(_Controlled):
    """A process ended (``@exit``).  ``code`` is its exit code, or ``signal``/``signal_name``
    the signal that killed it; ``status`` the raw wait status."""

    pid: int
    program: str
    status: int
    code: int | None
    signal: int | None
    signal_name: str | None

    def kill(self) -> None:
        raise ControlError("kill: the process has exited")

    def detach(self) -> None:
        raise ControlError("detach: the process has exited")


# --- building records ------------------------------------------------------------------------
class Reader:
    """Reads what records need from one stopped call, or nothing at all when ``decode`` is
    False (a call the engine refused because its arguments were unreadable)."""

    def __init__(self, call: DecodedCall, decoder: Decoder, memory: TraceeMemory | None,
                 decode: bool = True) -> None:
        self.call = call
        self.decoder = decoder
        self.memory = memory
        self.decode = decode

    def path(self, role: str = "path") -> tuple[str | None, str | None]:
        """(resolved, as given) for a path argument; raises DecodeError when unreadable."""
        if not self.decode:
            return None, None
        decoded = self.call.decoded_path(role)
        if decoded is None:
            return None, None
        return decoded.resolved.path, decoded.raw

    def fd_path(self, fd: int) -> str | None:
        if not self.decode:
            return None
        return self.decoder.fd_path(self.call.tid, fd).resolved.path

    def sockaddr(self) -> SockAddr | None:
        """Where the call goes; None for a socket whose destinations the engine cannot see
        (raw, packet...: only a policy's address rules refuse those)."""
        if not self.decode:
            return None
        try:
            return self.call.sockaddr
        except DecodeError as exc:
            if exc.unreadable:
                raise
            return None

    def argv(self) -> tuple[str, ...] | None:
        return self.call.argv if self.decode else None

    def paths(self) -> dict[str, str]:
        if not self.decode:
            return {}
        return {p.role: p.resolved.path for p in self.call.paths}

    # exit-time reads: failures give None (the call has run; nothing is decided on them)
    def stat_info(self, buf: int, statx: bool) -> StatInfo | None:
        if self.memory is None or not buf:
            return None
        try:
            if statx:
                raw = self.memory.read_exact(buf, 144)
                nlink, uid, gid, mode = struct.unpack_from("<IIIH", raw, 16)
                ino, size = struct.unpack_from("<QQ", raw, 32)
                mtime_s, mtime_ns = struct.unpack_from("<qI", raw, 112)
                major, minor = struct.unpack_from("<II", raw, 136)
                return StatInfo(mode, ino, os.makedev(major, minor), nlink, uid, gid, size,
                                mtime_s + mtime_ns / 1e9)
            raw = self.memory.read_exact(buf, 144)
            dev, ino, nlink, mode, uid, gid = struct.unpack_from("<QQQIII", raw, 0)
            size = struct.unpack_from("<q", raw, 48)[0]
            mtime_s, mtime_ns = struct.unpack_from("<qQ", raw, 88)
            return StatInfo(mode, ino, dev, nlink, uid, gid, size, mtime_s + mtime_ns / 1e9)
        except TraceeMemoryError:
            return None

    def sockaddr_at(self, call: DecodedCall, address: int, length_ptr: int) -> SockAddr | None:
        if self.memory is None:
            return None
        try:
            length = struct.unpack("<I", self.memory.read_exact(length_ptr, 4))[0]
            raw = self.memory.read(address, min(length, 128))
        except TraceeMemoryError:
            return None
        return self.decoder.sockaddr(call, raw)


_Builder = Callable[[DecodedCall, Reader, dict[str, Any]], Syscall]
_BUILDERS: dict[str, _Builder] = {}
#: the record type of each call name that has one (the rest get a plain Syscall).
RECORD_TYPES: dict[str, type[Syscall]] = {}


def _describes(record: type[Syscall], *names: str) -> Callable[[_Builder], _Builder]:
    def register(builder: _Builder) -> _Builder:
        record.CALLS = tuple(sorted({*record.__dict__.get("CALLS", ()), *names}))
        for name in names:
            _BUILDERS[name] = builder
            RECORD_TYPES[name] = record
        return builder
    return register


@_describes(OpenCall, "open", "openat", "creat", "openat2")
def _open(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    path, raw = r.path()
    flags = call.open_flags or 0
    creating = bool(flags & (O_CREAT | O_TMPFILE_BIT))
    return OpenCall(**base, paths=_one(path), path=path, path_as_given=raw,
                    dirfd=_int32(call.args[0]) if call.name in ("openat", "openat2") else None,
                    flags=flags, flag_names=tuple(open_flags_text(flags).split("|")),
                    mode=call.open_mode if creating else None, resolve=call.open_resolve)


def _one(path: str | None, role: str = "path") -> dict[str, str]:
    return {role: path} if path is not None else {}


@_describes(ReadCall, "read")
def _read(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    fd = _int32(call.args[0])
    return ReadCall(**base, fd=fd, fd_path=r.fd_path(fd), buf=call.args[1],
                    count=call.args[2])


@_describes(WriteCall, "write")
def _write(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    fd = _int32(call.args[0])
    return WriteCall(**base, fd=fd, fd_path=r.fd_path(fd), buf=call.args[1],
                     count=call.args[2])


@_describes(SocketCall, "socket")
def _socket(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    domain, kind = _int32(call.args[0]), _int32(call.args[1])
    return SocketCall(**base, domain=domain, family=family_name(domain), type=kind,
                      type_name=_SOCK_TYPES.get(kind & 0xF, f"SOCK_{kind & 0xF}"),
                      type_flags=_names(kind & ~0xF, _SOCK_FLAGS),
                      protocol=_int32(call.args[2]))


def _follows(call: DecodedCall) -> bool:
    specs = PATH_ARGS.get(call.name)
    return specs[0].follows(call.args) if specs else True


@_describes(ChownCall, "chown", "fchown", "lchown", "fchownat")
def _chown(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    a = call.args
    path, raw = r.path()
    fd: int | None
    if call.name == "fchownat":
        uid, gid, flags, fd = a[2], a[3], a[4] & _U32, _int32(a[0])
    else:
        uid, gid, flags = a[1], a[2], 0
        fd = _int32(a[0]) if call.name == "fchown" else None
    return ChownCall(**base, paths=_one(path), path=path, path_as_given=raw or None, fd=fd,
                     uid=_id(uid), gid=_id(gid), follow=_follows(call),
                     flag_names=_names(flags, _AT_FLAGS))


@_describes(ChmodCall, "chmod", "fchmod", "fchmodat", "fchmodat2")
def _chmod(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    a = call.args
    path, raw = r.path()
    at = call.name in ("fchmodat", "fchmodat2")
    flags = a[3] & _U32 if call.name == "fchmodat2" else 0
    fd = _int32(a[0]) if at or call.name == "fchmod" else None
    return ChmodCall(**base, paths=_one(path), path=path, path_as_given=raw or None, fd=fd,
                     mode=a[2 if at else 1] & 0o7777, flag_names=_names(flags, _AT_FLAGS))


@_describes(StatCall, "stat", "lstat", "fstat", "newfstatat", "statx")
def _stat(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    a = call.args
    name = call.name
    fd: int | None = None
    flags = 0
    mask = None
    if name == "fstat":
        fd = _int32(a[0])
        path, raw = r.fd_path(fd), None
    else:
        path, raw = r.path()
        if name == "newfstatat":
            fd, flags = _int32(a[0]), a[3] & _U32
        elif name == "statx":
            fd, flags, mask = _int32(a[0]), a[2] & _U32, a[3] & _U32
    return StatCall(**base, paths=_one(path), path=path, path_as_given=raw or None, fd=fd,
                    follow=name != "lstat" and _follows(call),
                    flag_names=_names(flags, _AT_FLAGS), mask=mask)


@_describes(ConnectCall, "connect")
def _connect(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    return ConnectCall(**base, fd=_int32(call.args[0]), address=r.sockaddr())


@_describes(BindCall, "bind")
def _bind(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    return BindCall(**base, fd=_int32(call.args[0]), address=r.sockaddr())


@_describes(AcceptCall, "accept", "accept4")
def _accept(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    flags = call.args[3] & _U32 if call.name == "accept4" else 0
    return AcceptCall(**base, fd=_int32(call.args[0]), flag_names=_names(flags, _SOCK_FLAGS))


@_describes(ListenCall, "listen")
def _listen(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    return ListenCall(**base, fd=_int32(call.args[0]), backlog=_int32(call.args[1]))


@_describes(ExecCall, "execve", "execveat")
def _exec(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    path, raw = r.path()
    flags = call.args[4] & _U32 if call.name == "execveat" else 0
    return ExecCall(**base, paths=_one(path), path=path, path_as_given=raw, argv=r.argv(),
                    flag_names=_names(flags, _AT_FLAGS))


@_describes(CloneCall, *CHILD_CALLS)
def _clone(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    if call.name == "clone3":
        flags = call.clone_args.as_clone()[0] if call.clone_args is not None else 0
    else:
        flags = _FORK_FLAGS.get(call.name, call.args[0] if call.name == "clone" else 0)
    return CloneCall(**base, flags=flags, flag_names=_names(flags & ~CSIGNAL, CLONE_FLAG_NAMES),
                     exit_signal=signal_name(flags & CSIGNAL))


@_describes(RenameCall, "rename", "renameat", "renameat2")
def _rename(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    old, old_raw = r.path("old")
    new, new_raw = r.path("new")
    flags = call.args[4] & _U32 if call.name == "renameat2" else 0
    paths = {**_one(old, "old"), **_one(new, "new")}
    return RenameCall(**base, paths=paths, old=old, new=new, old_as_given=old_raw,
                      new_as_given=new_raw, flag_names=_names(flags, _RENAME_FLAGS))


@_describes(UnlinkCall, "unlink", "unlinkat", "rmdir")
def _unlink(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    path, raw = r.path()
    flags = call.args[2] & _U32 if call.name == "unlinkat" else 0
    return UnlinkCall(**base, paths=_one(path), path=path, path_as_given=raw,
                      directory=call.name == "rmdir" or bool(flags & AT_REMOVEDIR),
                      flag_names=_names(flags, _AT_FLAGS))


@_describes(MkdirCall, "mkdir", "mkdirat")
def _mkdir(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    path, raw = r.path()
    mode = call.args[2 if call.name == "mkdirat" else 1] & 0o7777
    return MkdirCall(**base, paths=_one(path), path=path, path_as_given=raw, mode=mode)


@_describes(KillCall, "kill", "tkill", "tgkill")
def _kill(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    a = call.args
    if call.name == "tgkill":
        target, thread, sig = _int32(a[0]), _int32(a[1]), _int32(a[2])
    elif call.name == "tkill":
        target, thread, sig = _int32(a[0]), _int32(a[0]), _int32(a[1])
    else:
        target, thread, sig = _int32(a[0]), None, _int32(a[1])
    return KillCall(**base, target=target, thread=thread, signal=sig,
                    signal_name=signal_name(sig))


def _generic(call: DecodedCall, r: Reader, base: dict[str, Any]) -> Syscall:
    return Syscall(**base, paths=r.paths())


def build_record(call: DecodedCall, program: str, decoder: Decoder,
                 memory: TraceeMemory | None, decode: bool = True) -> Syscall:
    """The entry record of a stopped call.  Reading a path or address examines it, so the
    engine holds the call to what the record says.  Raises DecodeError when an argument
    cannot be read (the engine then refuses the call); with ``decode=False`` only the
    registers are decoded."""
    base: dict[str, Any] = {"name": call.name, "pid": call.tgid, "tid": call.tid,
                            "program": program, "args": tuple(call.args)}
    if len(call.args) < 6:  # a call the engine made up to report (an exec race): no registers
        return Syscall(**base)
    reader = Reader(call, decoder, memory, decode)
    return _BUILDERS.get(call.name, _generic)(call, reader, base)


def exit_record(entry: Syscall, call: DecodedCall, result: int, decoder: Decoder,
                memory: TraceeMemory | None, refused: bool = False) -> Syscall:
    """The record at the call's exit: the entry record plus the result and what only the
    exit can tell."""
    err = -result if -MAX_ERRNO <= result < 0 else None
    done = dataclasses.replace(entry, is_entry=False, result=result, errno=err,
                               errno_name=errno_name(err), refused=refused)
    extra = done._at_exit(call, Reader(call, decoder, memory, decode=True))
    return dataclasses.replace(done, **extra) if extra else done


__all__ = [
    "RECORD_TYPES", "AcceptCall", "AddressCall", "BindCall", "ChildEvent", "ChmodCall",
    "ChownCall", "CloneCall", "ConnectCall", "Control", "ControlError",
    "ExecCall", "ExecEvent", "ExitEvent", "KillCall", "ListenCall", "MkdirCall", "OpenCall",
    "ReadCall", "RenameCall", "SockAddr", "SocketCall", "StatCall", "StatInfo", "Syscall",
    "UnlinkCall", "WriteCall", "build_record", "errno_name", "exit_record", "signal_name",
]
