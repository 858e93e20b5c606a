"""From a stop's raw arguments to decoded ones: resolved paths, open flags, socket addresses,
exec argv -- and for each, where it came from, so :mod:`enforce` can hold the call to it.

The table :data:`PATH_ARGS` says, for every call with path arguments, which register holds each
path, which holds its dirfd, and whether the last component is followed (which may depend on a
flags argument).  Decoding is lazy where it is costly: exec argv is read only when asked for.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from systrace_py.engine.clone_args import CloneArgs
from systrace_py.engine.exec_image import ExecImage, exec_image
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.engine.paths import PathResolver, Resolved, Unresolvable
from systrace_py.kernel import AT_FDCWD, O_ACCMODE, O_DSYNC, O_SYNC_BIT, OPEN_FLAG_NAMES
from systrace_py.policy.model import CallFacts, Facts, PathArg, SockAddr
from systrace_py.syscalls import BY_NAME, OPEN_HOW, PATHS, TABLE, Arg, Kind, Rule, arg_index

MAX_ARGV = 65536
MAX_ARG_STRLEN = 131072
SOCKADDR_MAX = 128
CONTROL_MAX = 65536
SOCKET_SCAN_LIMIT = 20000  # entries looked at for sockets inside a directory being moved

_Args = tuple[int, ...]


def _int32(value: int) -> int:
    """A C int argument from a 64-bit register (the kernel reads only the low 32 bits)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


@dataclass(frozen=True, slots=True)
class PathSpec:
    """Where one path argument lives (derived from the table's :class:`syscalls.Path`):
    ``arg`` holds the string, ``dirfd_arg`` the descriptor a relative path starts from;
    ``follow`` and ``empty`` are the table's rules for following the last symlink and for an
    empty path meaning the dirfd itself (AT_EMPTY_PATH)."""

    role: str
    arg: int
    dirfd_arg: int | None
    follow: Rule
    empty: Rule

    def follows(self, args: _Args, open_flags: int | None = None) -> bool:
        return self.follow.holds(args, open_flags)

    def empty_means_fd(self, args: _Args) -> bool:
        return self.empty.holds(args)


# The decoders' tables, derived from the syscall table (systrace_py.syscalls).
#: call -> its path arguments.  Calls deciding on a descriptor's file are in FD_ARGS.
PATH_ARGS: dict[str, tuple[PathSpec, ...]] = {
    name: tuple(PathSpec(p.role, i, p.dirfd, p.follow, p.empty) for i, p in paths)
    for name, paths in PATHS.items()
}

#: calls on a descriptor whose file is what the rule is about (fd argument index).
FD_ARGS: dict[str, int] = arg_index(Kind.FILE)

#: call -> the roles of its path arguments (descriptor calls have one, "path").
ROLES: dict[str, tuple[str, ...]] = {
    **{name: tuple(spec.role for spec in specs) for name, specs in PATH_ARGS.items()},
    **{name: ("path",) for name in FD_ARGS},
}

#: calls with a socket address in registers: (pointer argument, length argument).
def _sockaddr_args() -> dict[str, tuple[int, int]]:
    found = {}
    for name, index in arg_index(Kind.SOCKADDR).items():
        arg = BY_NAME[name].args[index]
        assert isinstance(arg, Arg) and arg.length is not None
        found[name] = (index, arg.length)
    return found


SOCKADDR_ARGS: dict[str, tuple[int, int]] = _sockaddr_args()

#: calls that carry several socket addresses, one per message (sendmmsg)
MANY_ADDRESS_CALLS = frozenset(arg_index(Kind.MMSGHDR))

#: calls with open flags in a register: its index.
OPEN_FLAGS_ARG: dict[str, int] = arg_index(Kind.OPEN_FLAGS)

#: calls whose argv the exec event checks: the index of argv.
ARGV_ARG: dict[str, int] = arg_index(Kind.ARGV)

#: calls with a struct msghdr (sendmsg): its index.
MSGHDR_ARG: dict[str, int] = arg_index(Kind.MSGHDR)

#: an *at call with an empty path and AT_EMPTY_PATH acts on its descriptor: it is decided as
#: the descriptor call it stands for (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)).
ON_DESCRIPTOR_AS: dict[str, str] = {
    c.name: c.on_descriptor for c in TABLE.values() if c.on_descriptor is not None
}


@dataclass(slots=True)
class DecodedPath:
    """One decoded path argument.  ``rewritable``: it named a path (not an fd, not empty with
    AT_EMPTY_PATH, not a pseudo file), so the call can be pointed at the canonical copy."""

    spec: PathSpec | None
    raw: str
    resolved: Resolved
    rewritable: bool

    @property
    def role(self) -> str:
        return self.spec.role if self.spec else "path"


class DecodeError(Exception):
    """An argument could not be read from the tracee (bad pointer, unmapped, too long): the
    call is refused with ``errno`` rather than decided on guesses."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


_UNSET: object = object()


class DecodedCall:
    """A stopped call, decoded on demand (it implements :class:`policy.model.Facts`).

    Reading a string costs a system call and resolving a path two or three more, so nothing is
    read until asked for: a rule with a path condition asks for the path, a rule with an
    address condition for the address.  What was read is what the call is then held to
    (:mod:`enforce`): ``examined_paths()``, ``sockaddr_raw``, ``argv``.
    """

    # Lazy state starts as these class-level defaults: a stop that looks at nothing pays for
    # nothing (an instance only gets the attributes it sets).
    _raws: dict[str, str | None] | None = None
    _paths: dict[str, DecodedPath] | None = None
    _sockaddrs: list[SockAddr] | None = None
    sockaddr_raw: bytes | None = None
    clone_args: CloneArgs | None = None     # clone3's struct, read and checked (tracer)
    clone_args_raw: bytes | None = None     # ... its bytes, which the kernel is handed
    msghdr_raw: bytes | None = None
    control_raw: bytes | None = None
    _argv: object = _UNSET
    _acts_as: object = _UNSET
    _open_flags: object = _UNSET
    open_mode: int | None = None
    open_resolve: int | None = None

    def __init__(self, tid: int, tgid: int, nr: int, name: str, args: _Args,
                 memory: TraceeMemory | None = None, decoder: Decoder | None = None,
                 host_root: bool = True) -> None:
        self.tid = tid
        self.tgid = tgid
        self.nr = nr
        self.name = name
        self.args = args
        self.memory = memory
        self._decoder = decoder
        self.host_root = host_root

    def set_args(self, changes: dict[int, int]) -> None:
        """New values for argument registers: what is decoded from them is decoded again
        (what was examined through an unchanged pointer stays examined)."""
        args = list(self.args)
        for index, value in changes.items():
            args[index] = value & 0xFFFFFFFFFFFFFFFF
        self.args = tuple(args)
        self._open_flags = _UNSET
        self.open_mode = self.open_resolve = None
        changed = set(changes)
        for spec in PATH_ARGS.get(self.name, ()):
            if spec.arg in changed or (spec.dirfd_arg is not None and spec.dirfd_arg in changed):
                if self._raws:
                    self._raws.pop(spec.role, None)
                if self._paths:
                    self._paths.pop(spec.role, None)

    # --- the Facts protocol -------------------------------------------------------------------
    @property
    def syscall(self) -> str:
        return self.policy_name

    @property
    def policy_name(self) -> str:
        """The name rules see: the call itself, or the descriptor call it stands for (glibc's
        fstat is newfstatat(fd, "", AT_EMPTY_PATH))."""
        if self._acts_as is _UNSET:
            self._acts_as = None
            stand_in = ON_DESCRIPTOR_AS.get(self.name)
            if stand_in is not None:
                spec = PATH_ARGS[self.name][0]
                if self._raw(spec) == "" and self._empty_means_fd(spec):
                    self._acts_as = stand_in
        return self._acts_as or self.name  # type: ignore[return-value]

    @property
    def acts_as(self) -> str | None:
        return None if self.policy_name == self.name else self.policy_name

    @property
    def open_flags(self) -> int | None:
        if self._open_flags is _UNSET:
            self._open_flags = self._read_open_flags()
        return self._open_flags  # type: ignore[return-value]

    def roles(self) -> tuple[str, ...]:
        return ROLES.get(self.name, ())

    def path(self, role: str) -> str | None:
        """The resolved path as rules see it: the calling process's own /proc entries are
        spelled /proc/self, so a rule (or a learned policy) can name them without naming every
        other process's."""
        decoded = self.decoded_path(role)
        return self.shown(decoded.resolved.path) if decoded is not None else None

    def shown(self, path: str) -> str:
        own = f"/proc/{self.tgid}"
        if path == own or path.startswith(own + "/"):
            return "/proc/self" + path[len(own):]
        return path

    def _mode(self, role: str) -> int:
        decoded = self.decoded_path(role)
        if decoded is None or decoded.resolved.pseudo or not decoded.resolved.exists:
            return 0
        try:
            return os.lstat(decoded.resolved.path).st_mode
        except OSError:
            return 0

    def directory(self, role: str) -> bool:
        return stat.S_ISDIR(self._mode(role))

    def socket(self, role: str) -> bool:
        return stat.S_ISSOCK(self._mode(role))

    def sockets_below(self, role: str) -> tuple[str, ...] | None:
        decoded = self.decoded_path(role)
        if decoded is None:
            return ()
        found: list[str] = []
        seen = 0
        for top, dirs, files in os.walk(decoded.resolved.path):
            for name in files:
                seen += 1
                if seen > SOCKET_SCAN_LIMIT:
                    return None  # too many to look at: treated as holding a protected one
                path = f"{top}/{name}"
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        found.append(path)
            seen += len(dirs)
        return tuple(found)

    @property
    def sockaddr(self) -> SockAddr | None:
        addrs = self.sockaddrs
        return addrs[0] if addrs else None

    @property
    def argv(self) -> tuple[str, ...] | None:
        if self._argv is _UNSET:
            self._argv = None
            index = ARGV_ARG.get(self.name)
            if index is not None and self.memory is not None:
                pointer = self.args[index]
                self._argv = self._guard(lambda: read_argv(self.memory, pointer))
        return self._argv  # type: ignore[return-value]

    # --- decoding, on demand -------------------------------------------------------------------
    def _guard(self, read: Callable[[], object]) -> Any:
        try:
            return read()
        except TraceeMemoryError as exc:
            raise DecodeError(exc.errno or errno.EFAULT, str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise DecodeError(errno.EINVAL, str(exc)) from exc
        except Unresolvable as exc:  # a unix socket path the kernel's lookup fails on
            raise DecodeError(exc.errno, str(exc)) from exc

    def _read_open_flags(self) -> int | None:
        name, args = self.name, self.args
        if name in OPEN_FLAGS_ARG:
            self.open_mode = args[OPEN_FLAGS_ARG[name] + 1] & 0o7777
            return args[OPEN_FLAGS_ARG[name]] & 0xFFFFFFFF
        if name == "creat":
            self.open_mode = args[1] & 0o7777
            return os.O_CREAT | os.O_WRONLY | os.O_TRUNC
        if name == "openat2" and self.memory is not None:
            if args[3] < 24:
                raise DecodeError(errno.EINVAL, "struct open_how too small")
            how = self._guard(lambda: self.memory.read_exact(args[2], 24))
            flags, mode, resolve = struct.unpack("<QQQ", how)
            self.open_mode, self.open_resolve = mode, resolve
            return flags
        return None

    def _raw(self, spec: PathSpec) -> str | None:
        """The path string as the tracee passed it (None for a NULL pointer)."""
        raws = self._raws
        if raws is None:
            raws = self._raws = {}
        elif spec.role in raws:
            return raws[spec.role]
        pointer = self.args[spec.arg]
        if pointer == 0 or self.memory is None:
            text = None
        else:
            try:
                text = self.memory.read_cstring(pointer).decode("utf-8", "surrogateescape")
            except TraceeMemoryError as exc:
                raise DecodeError(exc.errno or errno.EFAULT, str(exc)) from exc
        raws[spec.role] = text
        return text

    def _empty_means_fd(self, spec: PathSpec) -> bool:
        return spec.empty_means_fd(self.args)

    def decoded_path(self, role: str) -> DecodedPath | None:
        """The path in ``role``, resolved (and from now on held: it has been examined)."""
        paths = self._paths
        if paths is None:
            paths = self._paths = {}
        else:
            found = paths.get(role)
            if found is not None:
                return found
        decoder = self._decoder
        if decoder is None:
            return None
        specs = PATH_ARGS.get(self.name)
        if specs is None:
            if self.name not in FD_ARGS or role != "path":
                return None
            decoded = decoder.fd_path(self.tid, _int32(self.args[FD_ARGS[self.name]]))
        else:
            spec = next((s for s in specs if s.role == role), None)
            if spec is None:
                return None
            decoded = self._resolve(decoder, spec)
        paths[role] = decoded
        return decoded

    def _resolve(self, decoder: Decoder, spec: PathSpec) -> DecodedPath:
        args = self.args
        dirfd = _int32(args[spec.dirfd_arg]) if spec.dirfd_arg is not None else AT_FDCWD
        raw = self._raw(spec)
        if raw is None:  # utimensat(fd, NULL, ...): the descriptor itself
            return decoder.fd_path(self.tid, dirfd, spec)
        if raw == "":
            if self._empty_means_fd(spec):
                return decoder.fd_path(self.tid, dirfd, spec)
            # names nothing: the kernel answers ENOENT, and so do we, whatever the policy
            raise DecodeError(errno.ENOENT, "empty path")
        # openat2's rule reads the flags of its struct open_how (decoded from memory)
        follow = spec.follows(args, self.open_flags if spec.follow == OPEN_HOW else None)
        try:
            resolved = decoder.resolver.resolve(self.tid, self.tgid, raw, dirfd, follow,
                                                self.host_root)
        except Unresolvable as exc:
            raise DecodeError(exc.errno, str(exc)) from exc
        return DecodedPath(spec, raw, resolved, rewritable=not resolved.pseudo)

    @property
    def sockaddrs(self) -> list[SockAddr]:
        if self._sockaddrs is None:
            self._sockaddrs = self._guard(self._read_sockaddrs) if self._decoder else []
        return self._sockaddrs

    def _read_sockaddrs(self) -> list[SockAddr]:
        decoder, memory, args = self._decoder, self.memory, self.args
        assert decoder is not None and memory is not None
        if self.name in SOCKADDR_ARGS:
            ptr_arg, len_arg = SOCKADDR_ARGS[self.name]
            if not args[ptr_arg]:
                return []
            self.sockaddr_raw = memory.read(args[ptr_arg],
                                            min(args[len_arg] & 0xFFFFFFFF, SOCKADDR_MAX))
            return [decoder.sockaddr(self, self.sockaddr_raw)]
        if self.name == "sendmsg":
            self.msghdr_raw = memory.read_exact(args[1], 56)
            name_ptr, name_len = struct.unpack_from("<QI", self.msghdr_raw)
            if not (name_ptr and name_len):
                return []
            self.sockaddr_raw = memory.read(name_ptr, min(name_len, SOCKADDR_MAX))
            return [decoder.sockaddr(self, self.sockaddr_raw)]
        if self.name == "sendmmsg":
            count = min(args[2] & 0xFFFFFFFF, 1024)
            block = memory.read_exact(args[1], 64 * count) if count else b""
            out = []
            for i in range(count):
                name_ptr, name_len = struct.unpack_from("<QI", block, 64 * i)
                if name_ptr and name_len:
                    raw = memory.read(name_ptr, min(name_len, SOCKADDR_MAX))
                    out.append(decoder.sockaddr(self, raw))
            return out
        return []

    def exec_image(self, elf: bool = True) -> ExecImage | None:
        """For an exec: the interpreters the kernel will run for the file, and the binary that
        ends up running (None when the file could not be resolved).  Without ``elf``, only the
        #! chain is read (what /proc/PID/exe will name)."""
        if self.name not in ARGV_ARG:
            return None
        key = "_image" if elf else "_script_image"
        image = getattr(self, key, _UNSET)
        if image is _UNSET:
            decoded = self.decoded_path("path")
            image = None
            if decoded is not None and not decoded.resolved.pseudo and self._decoder is not None:
                try:
                    cwd = self._decoder.resolver.cwd_of(self.tid)
                except OSError:
                    cwd = "/"
                image = exec_image(decoded.resolved.path, cwd, elf)
            setattr(self, key, image)
        return image  # type: ignore[return-value]

    # --- views --------------------------------------------------------------------------------
    @property
    def paths(self) -> list[DecodedPath]:
        """Every path argument, resolved (this examines them all)."""
        out = []
        for role in self.roles():
            decoded = self.decoded_path(role)
            if decoded is not None:
                out.append(decoded)
        return out

    def examined_paths(self) -> list[DecodedPath]:
        """The path arguments something looked at: the ones the call must be held to."""
        return list(self._paths.values()) if self._paths else []

    @property
    def examined_argv(self) -> tuple[str, ...] | None:
        return None if self._argv is _UNSET else self._argv  # type: ignore[return-value]

    @property
    def examined_sockaddr(self) -> bool:
        return self.sockaddr_raw is not None

    def control_messages(self) -> list[tuple[int, int]]:
        """The (level, type) of each control message of a sendmsg (read on demand)."""
        if self.name != "sendmsg" or self.memory is None:
            return []
        if self.msghdr_raw is None:
            self.msghdr_raw = self._guard(lambda: self.memory.read_exact(self.args[1], 56))
        pointer, length = struct.unpack_from("<QQ", self.msghdr_raw, 32)
        if not pointer or not length:
            self.control_raw = b""
            return []
        memory = self.memory
        self.control_raw = self._guard(lambda: memory.read(pointer, min(length, CONTROL_MAX)))
        found = []
        at = 0
        raw = self.control_raw
        while at + 16 <= len(raw):
            cmsg_len, level, kind = struct.unpack_from("<Qii", raw, at)
            found.append((level, kind))
            if cmsg_len < 16:
                break
            at += (cmsg_len + 7) & ~7
        return found

    def examined_sockaddrs(self) -> list[SockAddr]:
        """The socket addresses something looked at (none if nobody asked)."""
        return self._sockaddrs or []

    def all_facts(self) -> list[Facts]:
        """One set of facts per socket address (sendmmsg may carry several): ``[self]`` for
        every other call, without reading anything."""
        if self.name not in MANY_ADDRESS_CALLS:
            return [self]
        addrs = self.sockaddrs
        if len(addrs) <= 1:
            return [self]
        return [CallFacts(self.policy_name, (), self.open_flags, addr, None) for addr in addrs]

    def facts(self) -> CallFacts:
        """The facts as plain data (this examines everything)."""
        return CallFacts(
            syscall=self.policy_name,
            paths=tuple(PathArg(p.role, self.shown(p.resolved.path)) for p in self.paths),
            open_flags=self.open_flags,
            sockaddr=self.sockaddr,
            argv=self.argv,
        )

    def describe(self) -> dict[str, object]:
        """Decoded arguments as plain data, for logs and prompts (this examines everything)."""
        out: dict[str, object] = {}
        try:
            for p in self.paths:
                shown = self.shown(p.resolved.path)
                out[p.role] = shown
                if p.raw and p.raw != shown:
                    out[f"{p.role}_as_given"] = p.raw
            if self.open_flags is not None:
                out["flags"] = open_flags_text(self.open_flags)
            addrs = self.sockaddrs
            if addrs:
                out["address"] = str(addrs[0]) if len(addrs) == 1 else [str(a) for a in addrs]
            if self.argv is not None:
                out["argv"] = list(self.argv)
            if self.name in FD_ARGS:
                out["fd"] = _int32(self.args[FD_ARGS[self.name]])
        except DecodeError as exc:
            out["error"] = str(exc)
        return out


def open_flags_text(flags: int) -> str:
    """O_RDONLY|O_CLOEXEC style text for open flags."""
    acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[flags & O_ACCMODE]
    names = [acc]
    for bit, name in OPEN_FLAG_NAMES:
        if flags & bit == bit and not (bit == O_DSYNC and flags & O_SYNC_BIT):
            names.append(name)
    return "|".join(names)


class Decoder:
    """Makes decoded calls for one tracer (it holds the path resolver)."""

    def __init__(self, resolver: PathResolver | None = None) -> None:
        self.resolver = resolver or PathResolver()

    def decode(self, tid: int, tgid: int, nr: int, name: str, args: _Args,
               memory: TraceeMemory, host_root: bool) -> DecodedCall:
        return DecodedCall(tid, tgid, nr, name, args, memory, self, host_root)

    def fd_path(self, tid: int, fd: int, spec: PathSpec | None = None) -> DecodedPath:
        try:
            target = (self.resolver.cwd_of(tid) if fd == AT_FDCWD
                      else self.resolver.fd_path(tid, fd))
        except OSError:
            target = f"fd:{fd}"
        pseudo = not target.startswith("/") or target.endswith(" (deleted)")
        return DecodedPath(spec, "", Resolved(target, exists=True, pseudo=pseudo), False)

    def sockaddr(self, call: DecodedCall, raw: bytes) -> SockAddr:
        """Decode a struct sockaddr; unix paths are resolved like any path."""
        if len(raw) < 2:
            return SockAddr("other")
        family = struct.unpack_from("<H", raw)[0]
        # Where a packet goes: connecting or sending to the unspecified address reaches the
        # local host (Linux routes 0.0.0.0 to 127.0.0.1 and :: to ::1), so that is what rules
        # see.  bind is different: there it means "every address".
        sending = call.name != "bind"
        if family == socket.AF_INET and len(raw) >= 8:
            port = struct.unpack_from(">H", raw, 2)[0]
            host = socket.inet_ntop(socket.AF_INET, raw[4:8])
            if sending and host == "0.0.0.0":
                host = "127.0.0.1"
            return SockAddr("inet", host, port)
        if family == socket.AF_INET6 and len(raw) >= 24:
            port = struct.unpack_from(">H", raw, 2)[0]
            addr = ipaddress.IPv6Address(raw[8:24])
            if addr.ipv4_mapped is not None:
                mapped = str(addr.ipv4_mapped)
                if sending and mapped == "0.0.0.0":
                    mapped = "127.0.0.1"
                return SockAddr("inet", mapped, port)
            if sending and addr.is_unspecified:
                return SockAddr("inet6", "::1", port)
            return SockAddr("inet6", str(addr), port)
        if family == socket.AF_UNIX:
            body = raw[2:]
            if not body:
                return SockAddr("unix", path="")
            if body[0] == 0:
                return SockAddr("unix", path="@" + body[1:].decode("utf-8", "surrogateescape"))
            text = body.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            resolved = self.resolver.resolve(call.tid, call.tgid, text, AT_FDCWD, True,
                                             call.host_root)
            return SockAddr("unix", path=resolved.path)
        if family == socket.AF_NETLINK:
            return SockAddr("netlink")
        return SockAddr("other")


def read_argv(mem: TraceeMemory, pointer: int) -> tuple[str, ...]:
    """An exec's argv (NULL pointer: empty)."""
    if pointer == 0:
        return ()
    return tuple(mem.read_cstring(p, MAX_ARG_STRLEN).decode("utf-8", "surrogateescape")
                 for p in mem.read_pointers(pointer, MAX_ARGV))
