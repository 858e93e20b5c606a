"""From a stop's raw arguments to decoded ones: resolved paths, open flags, socket addresses,
exec argv -- and for each, where it came from, so :mod:`enforce` can hold the call to it.

The table :data:`PATH_ARGS` says, for every call with path arguments, which register holds each
path, which holds its dirfd, and whether the last component is followed (which may depend on a
flags argument).  Decoding is lazy where it is costly: exec argv is read only when asked for.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.engine.paths import AT_FDCWD, PathResolver, Resolved
from systrace_py.policy.model import CallFacts, PathArg, SockAddr

AT_SYMLINK_NOFOLLOW = 0x100
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
IN_DONT_FOLLOW = 0x02000000
O_NOFOLLOW = os.O_NOFOLLOW
O_CREAT = os.O_CREAT
O_EXCL = os.O_EXCL
MAX_ARGV = 65536
MAX_ARG_STRLEN = 131072
SOCKADDR_MAX = 128

_Args = tuple[int, ...]
_Follow = bool | Callable[[_Args], bool]


def _int32(value: int) -> int:
    """A C int argument from a 64-bit register (the kernel reads only the low 32 bits)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _not_flag(arg: int, flag: int) -> Callable[[_Args], bool]:
    return lambda args: not args[arg] & flag


def _flag(arg: int, flag: int) -> Callable[[_Args], bool]:
    return lambda args: bool(args[arg] & flag)


def _open_follows(flags_arg: int) -> Callable[[_Args], bool]:
    def follows(args: _Args) -> bool:
        flags = args[flags_arg]
        return not (flags & O_NOFOLLOW or (flags & O_CREAT and flags & O_EXCL))
    return follows


@dataclass(frozen=True, slots=True)
class PathSpec:
    """Where one path argument lives.  ``empty_flag_arg``: the flags argument in which
    AT_EMPTY_PATH makes an empty path mean the dirfd itself."""

    role: str
    arg: int
    dirfd_arg: int | None = None
    follow: _Follow = True
    empty_flag_arg: int | None = None

    def follows(self, args: _Args) -> bool:
        return self.follow if isinstance(self.follow, bool) else self.follow(args)


def _at(arg: int = 1, dirfd: int = 0, follow: _Follow = True, empty: int | None = None,
        role: str = "path") -> PathSpec:
    return PathSpec(role, arg, dirfd, follow, empty)


def _plain(arg: int = 0, follow: _Follow = True, role: str = "path") -> PathSpec:
    return PathSpec(role, arg, None, follow)


_NOFOLLOW = False

#: call -> its path arguments.  Calls taking an fd instead of a path are in FD_ARGS.
PATH_ARGS: dict[str, tuple[PathSpec, ...]] = {
    "open": (_plain(0, _open_follows(1)),),
    "creat": (_plain(0),),
    "openat": (_at(1, 0, _open_follows(2)),),
    "openat2": (_at(1, 0),),  # follow decided from struct open_how in decode
    "stat": (_plain(0),),
    "lstat": (_plain(0, _NOFOLLOW),),
    "newfstatat": (_at(1, 0, _not_flag(3, AT_SYMLINK_NOFOLLOW), 3),),
    "statx": (_at(1, 0, _not_flag(2, AT_SYMLINK_NOFOLLOW), 2),),
    "access": (_plain(0),),
    "faccessat": (_at(1, 0),),
    "faccessat2": (_at(1, 0, _not_flag(3, AT_SYMLINK_NOFOLLOW), 3),),
    "readlink": (_plain(0, _NOFOLLOW),),
    "readlinkat": (_at(1, 0, _NOFOLLOW),),
    "getxattr": (_plain(0),),
    "lgetxattr": (_plain(0, _NOFOLLOW),),
    "listxattr": (_plain(0),),
    "llistxattr": (_plain(0, _NOFOLLOW),),
    "getxattrat": (_at(1, 0, _not_flag(2, AT_SYMLINK_NOFOLLOW), 2),),
    "listxattrat": (_at(1, 0, _not_flag(2, AT_SYMLINK_NOFOLLOW), 2),),
    "setxattr": (_plain(0),),
    "lsetxattr": (_plain(0, _NOFOLLOW),),
    "removexattr": (_plain(0),),
    "lremovexattr": (_plain(0, _NOFOLLOW),),
    "setxattrat": (_at(1, 0, _not_flag(2, AT_SYMLINK_NOFOLLOW), 2),),
    "removexattrat": (_at(1, 0, _not_flag(2, AT_SYMLINK_NOFOLLOW), 2),),
    "chdir": (_plain(0),),
    "chroot": (_plain(0),),
    "statfs": (_plain(0),),
    "inotify_add_watch": (_plain(1, _not_flag(2, IN_DONT_FOLLOW)),),
    "uselib": (_plain(0),),
    "acct": (_plain(0),),
    "swapon": (_plain(0),),
    "swapoff": (_plain(0),),
    "execve": (_plain(0),),
    "execveat": (_at(1, 0, _not_flag(4, AT_SYMLINK_NOFOLLOW), 4),),
    "unlink": (_plain(0, _NOFOLLOW),),
    "unlinkat": (_at(1, 0, _NOFOLLOW),),
    "rmdir": (_plain(0, _NOFOLLOW),),
    "mkdir": (_plain(0, _NOFOLLOW),),
    "mkdirat": (_at(1, 0, _NOFOLLOW),),
    "mknod": (_plain(0, _NOFOLLOW),),
    "mknodat": (_at(1, 0, _NOFOLLOW),),
    "symlink": (_plain(1, _NOFOLLOW),),
    "symlinkat": (_at(2, 1, _NOFOLLOW),),
    "link": (_plain(0, _NOFOLLOW, "old"), _plain(1, _NOFOLLOW, "new")),
    "linkat": (_at(1, 0, _flag(4, AT_SYMLINK_FOLLOW), 4, "old"), _at(3, 2, _NOFOLLOW, None, "new")),
    "rename": (_plain(0, _NOFOLLOW, "old"), _plain(1, _NOFOLLOW, "new")),
    "renameat": (_at(1, 0, _NOFOLLOW, None, "old"), _at(3, 2, _NOFOLLOW, None, "new")),
    "renameat2": (_at(1, 0, _NOFOLLOW, None, "old"), _at(3, 2, _NOFOLLOW, None, "new")),
    "chmod": (_plain(0),),
    "fchmodat": (_at(1, 0),),
    "fchmodat2": (_at(1, 0, _not_flag(3, AT_SYMLINK_NOFOLLOW), 3),),
    "chown": (_plain(0),),
    "lchown": (_plain(0, _NOFOLLOW),),
    "fchownat": (_at(1, 0, _not_flag(4, AT_SYMLINK_NOFOLLOW), 4),),
    "truncate": (_plain(0),),
    "utime": (_plain(0),),
    "utimes": (_plain(0),),
    "futimesat": (_at(1, 0),),
    "utimensat": (_at(1, 0, _not_flag(3, AT_SYMLINK_NOFOLLOW), 3),),
    "name_to_handle_at": (_at(1, 0, _flag(4, AT_SYMLINK_FOLLOW), 4),),
    "umount2": (_plain(0),),
    "pivot_root": (_plain(0, True, "new"), _plain(1, True, "old")),
    "mount": (_plain(1),),
    "open_tree": (_at(1, 0, True, 2),),
    "fanotify_mark": (_at(4, 3),),
}

#: calls on a descriptor whose file is what the rule is about (fd argument index).
FD_ARGS: dict[str, int] = {
    "fchmod": 0, "fchown": 0, "fsetxattr": 0, "fremovexattr": 0, "fchdir": 0,
}

#: calls with a socket address: (pointer argument, length argument).
SOCKADDR_ARGS: dict[str, tuple[int, int]] = {"connect": (1, 2), "bind": (1, 2), "sendto": (4, 5)}

OPEN_FLAGS_ARG: dict[str, int] = {"open": 1, "openat": 2}

#: an *at call with an empty path and AT_EMPTY_PATH acts on its descriptor: it is decided as
#: the descriptor call it stands for (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)).
ON_DESCRIPTOR_AS: dict[str, str] = {
    "newfstatat": "fstat", "statx": "fstat", "fchownat": "fchown", "fchmodat2": "fchmod",
    "getxattrat": "fgetxattr", "listxattrat": "flistxattr", "setxattrat": "fsetxattr",
    "removexattrat": "fremovexattr", "faccessat2": "fstat",
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


@dataclass(slots=True)
class DecodedCall:
    """A stopped call, decoded.  ``error`` holds why decoding failed (memory unreadable...)."""

    tid: int
    tgid: int
    nr: int
    name: str
    args: _Args
    paths: list[DecodedPath] = field(default_factory=list)
    open_flags: int | None = None
    open_mode: int | None = None
    open_resolve: int | None = None
    sockaddrs: list[SockAddr] = field(default_factory=list)
    sockaddr_raw: bytes | None = None
    msghdr_raw: bytes | None = None
    argv: tuple[str, ...] | None = None
    fd: int | None = None
    acts_as: str | None = None
    error: str | None = None

    @property
    def policy_name(self) -> str:
        """The name rules see: the call itself, or the descriptor call it stands for."""
        return self.acts_as or self.name

    def facts(self) -> CallFacts:
        """The facts the policy decides on (first socket address; see :meth:`all_facts`)."""
        return CallFacts(
            syscall=self.policy_name,
            paths=tuple(PathArg(p.role, p.resolved.path) for p in self.paths),
            open_flags=self.open_flags,
            sockaddr=self.sockaddrs[0] if self.sockaddrs else None,
            argv=self.argv,
        )

    def all_facts(self) -> list[CallFacts]:
        """One CallFacts per socket address (sendmmsg may carry several)."""
        base = self.facts()
        if len(self.sockaddrs) <= 1:
            return [base]
        return [CallFacts(base.syscall, base.paths, base.open_flags, addr, base.argv)
                for addr in self.sockaddrs]

    def describe(self) -> dict[str, object]:
        """Decoded arguments as plain data, for logs and prompts."""
        out: dict[str, object] = {}
        for p in self.paths:
            out[p.role] = p.resolved.path
            if p.raw and p.raw != p.resolved.path:
                out[f"{p.role}_as_given"] = p.raw
        if self.open_flags is not None:
            out["flags"] = open_flags_text(self.open_flags)
        if self.sockaddrs:
            out["address"] = str(self.sockaddrs[0]) if len(self.sockaddrs) == 1 else [
                str(a) for a in self.sockaddrs]
        if self.argv is not None:
            out["argv"] = list(self.argv)
        if self.fd is not None:
            out["fd"] = self.fd
        if self.error:
            out["error"] = self.error
        return out


_OPEN_FLAG_NAMES = [
    (os.O_CREAT, "O_CREAT"), (os.O_EXCL, "O_EXCL"), (os.O_NOCTTY, "O_NOCTTY"),
    (os.O_TRUNC, "O_TRUNC"), (os.O_APPEND, "O_APPEND"), (os.O_NONBLOCK, "O_NONBLOCK"),
    (os.O_DSYNC, "O_DSYNC"), (os.O_DIRECT, "O_DIRECT"), (os.O_DIRECTORY, "O_DIRECTORY"),
    (os.O_NOFOLLOW, "O_NOFOLLOW"), (os.O_NOATIME, "O_NOATIME"), (os.O_CLOEXEC, "O_CLOEXEC"),
    (os.O_PATH, "O_PATH"), (0o20000000, "O_TMPFILE"), (0o4000000, "O_SYNC"),
]


def open_flags_text(flags: int) -> str:
    """O_RDONLY|O_CLOEXEC style text for open flags."""
    acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[flags & 3]
    names = [acc]
    for bit, name in _OPEN_FLAG_NAMES:
        if flags & bit == bit and not (name == "O_DSYNC" and flags & 0o4000000):
            names.append(name)
    return "|".join(names)


class Decoder:
    """Decodes stopped calls of one tracer."""

    def __init__(self, resolver: PathResolver | None = None) -> None:
        self.resolver = resolver or PathResolver()

    def decode(self, tid: int, tgid: int, nr: int, name: str, args: _Args, mem: TraceeMemory,
               host_root: bool, want_argv: bool = False) -> DecodedCall:
        call = DecodedCall(tid, tgid, nr, name, args)
        try:
            self._decode_into(call, mem, host_root, want_argv)
        except (TraceeMemoryError, UnicodeDecodeError, OSError) as exc:
            call.error = str(exc)
        return call

    def _decode_into(self, call: DecodedCall, mem: TraceeMemory, host_root: bool,
                     want_argv: bool) -> None:
        name, args = call.name, call.args
        if name in OPEN_FLAGS_ARG:
            call.open_flags = args[OPEN_FLAGS_ARG[name]] & 0xFFFFFFFF
            call.open_mode = args[OPEN_FLAGS_ARG[name] + 1] & 0o7777
        elif name == "creat":
            call.open_flags = os.O_CREAT | os.O_WRONLY | os.O_TRUNC
            call.open_mode = args[1] & 0o7777
        elif name == "openat2":
            how = mem.read_exact(args[2], 24) if args[3] >= 24 else b""
            if how:
                flags, mode, resolve = struct.unpack("<QQQ", how)
                call.open_flags, call.open_mode, call.open_resolve = flags, mode, resolve
        for spec in PATH_ARGS.get(name, ()):
            call.paths.append(self._path(call, spec, mem, host_root))
        if name in FD_ARGS:
            call.fd = _int32(args[FD_ARGS[name]])
            call.paths.append(self._fd_path(call.tid, call.fd))
        if name in SOCKADDR_ARGS:
            ptr_arg, len_arg = SOCKADDR_ARGS[name]
            if args[ptr_arg]:
                size = min(args[len_arg] & 0xFFFFFFFF, SOCKADDR_MAX)
                call.sockaddr_raw = mem.read(args[ptr_arg], size)
                call.sockaddrs.append(self.sockaddr(call, call.sockaddr_raw, host_root))
        elif name == "sendmsg":
            self._sendmsg(call, mem, host_root)
        elif name == "sendmmsg":
            self._sendmmsg(call, mem, host_root)
        if want_argv and name in ("execve", "execveat"):
            call.argv = read_argv(mem, args[1 if name == "execve" else 2])

    def _path(self, call: DecodedCall, spec: PathSpec, mem: TraceeMemory,
              host_root: bool) -> DecodedPath:
        args = call.args
        dirfd = _int32(args[spec.dirfd_arg]) if spec.dirfd_arg is not None else AT_FDCWD
        pointer = args[spec.arg]
        if pointer == 0:  # utimensat(fd, NULL, ...): the descriptor itself
            return self._fd_path(call.tid, dirfd, spec)
        raw = mem.read_cstring(pointer).decode("utf-8", "surrogateescape")
        if raw == "":
            empty_means_fd = call.name == "readlinkat" or (
                spec.empty_flag_arg is not None and args[spec.empty_flag_arg] & AT_EMPTY_PATH)
            if empty_means_fd:
                call.acts_as = ON_DESCRIPTOR_AS.get(call.name)
                return self._fd_path(call.tid, dirfd, spec)
            return DecodedPath(spec, raw, Resolved("", exists=False, pseudo=True), False)
        follow = spec.follows(args)
        if call.name == "openat2" and call.open_flags is not None:
            follow = not (call.open_flags & O_NOFOLLOW
                          or (call.open_flags & O_CREAT and call.open_flags & O_EXCL))
        resolved = self.resolver.resolve(call.tid, call.tgid, raw, dirfd, follow, host_root)
        return DecodedPath(spec, raw, resolved, rewritable=not resolved.pseudo)

    def _fd_path(self, tid: int, fd: int, spec: PathSpec | None = None) -> DecodedPath:
        try:
            target = (self.resolver.cwd_of(tid) if fd == AT_FDCWD
                      else self.resolver.fd_path(tid, fd))
        except OSError:
            target = f"fd:{fd}"
        pseudo = not target.startswith("/") or target.endswith(" (deleted)")
        return DecodedPath(spec, "", Resolved(target, exists=True, pseudo=pseudo), False)

    def sockaddr(self, call: DecodedCall, raw: bytes, host_root: bool) -> SockAddr:
        """Decode a struct sockaddr; unix paths are resolved like any path."""
        if len(raw) < 2:
            return SockAddr("other")
        family = struct.unpack_from("<H", raw)[0]
        if family == socket.AF_INET and len(raw) >= 8:
            port = struct.unpack_from(">H", raw, 2)[0]
            return SockAddr("inet", socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
        if family == socket.AF_INET6 and len(raw) >= 24:
            port = struct.unpack_from(">H", raw, 2)[0]
            addr = ipaddress.IPv6Address(raw[8:24])
            if addr.ipv4_mapped is not None:
                return SockAddr("inet", str(addr.ipv4_mapped), port)
            return SockAddr("inet6", str(addr), port)
        if family == socket.AF_UNIX:
            body = raw[2:]
            if not body:
                return SockAddr("unix", path="")
            if body[0] == 0:
                return SockAddr("unix", path="@" + body[1:].decode("utf-8", "surrogateescape"))
            text = body.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            resolved = self.resolver.resolve(call.tid, call.tgid, text, AT_FDCWD, True, host_root)
            return SockAddr("unix", path=resolved.path)
        if family == socket.AF_NETLINK:
            return SockAddr("netlink")
        return SockAddr("other")

    def _sendmsg(self, call: DecodedCall, mem: TraceeMemory, host_root: bool) -> None:
        call.msghdr_raw = mem.read_exact(call.args[1], 56)
        name_ptr, name_len = struct.unpack_from("<QI", call.msghdr_raw)
        if name_ptr and name_len:
            call.sockaddr_raw = mem.read(name_ptr, min(name_len, SOCKADDR_MAX))
            call.sockaddrs.append(self.sockaddr(call, call.sockaddr_raw, host_root))

    def _sendmmsg(self, call: DecodedCall, mem: TraceeMemory, host_root: bool) -> None:
        count = min(call.args[2] & 0xFFFFFFFF, 1024)
        block = mem.read_exact(call.args[1], 64 * count) if count else b""
        for i in range(count):
            name_ptr, name_len = struct.unpack_from("<QI", block, 64 * i)
            if name_ptr and name_len:
                raw = mem.read(name_ptr, min(name_len, SOCKADDR_MAX))
                call.sockaddrs.append(self.sockaddr(call, raw, host_root))


def read_argv(mem: TraceeMemory, pointer: int) -> tuple[str, ...]:
    """An exec's argv (NULL pointer: empty)."""
    if pointer == 0:
        return ()
    return tuple(mem.read_cstring(p, MAX_ARG_STRLEN).decode("utf-8", "surrogateescape")
                 for p in mem.read_pointers(pointer, MAX_ARGV))
