"""From a stop's raw arguments to decoded ones: resolved paths, open flags, socket addresses,
exec argv -- and for each, where it came from, so :mod:`enforce` can hold the call to it.

The table :data:`PATH_ARGS` says, for every call with path arguments, which register holds each
path, which holds its dirfd, and whether the last component is followed (which may depend on a
flags argument).  Decoding is lazy where it is costly: exec argv is read only when asked for.

The mount family is read as the kernel reads it (:mod:`systrace_py.views`): mount's source is
a path for a bind or a move only, a new file system's device and options may name files, and
an fsconfig value names one for some keys of some file systems -- each such file is a path
role of its own (``Facts.exposes``).
"""

from __future__ import annotations

import _socket
import collections
import contextlib
import ctypes
import errno
import fcntl
import functools
import ipaddress
import mmap
import os
import re
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from systrace_py import procfs
from systrace_py.engine import destinations, signals
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.clone_args import CloneArgs
from systrace_py.engine.destinations import Destination
from systrace_py.engine.exec_image import Admit, ExecImage, exec_images
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError
from systrace_py.engine.paths import (
    DIR_FLAGS,
    HOST,
    PROC_SUPER_MAGIC,
    PathResolver,
    Resolved,
    Unresolvable,
    View,
)
from systrace_py.engine.ptrace_ops import (
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    mount_id,
    mounted_file,
)
from systrace_py.kernel import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_UNIX,
    AT_EACCESS,
    AT_EMPTY_PATH,
    AT_EXECVE_CHECK,
    AT_FDCWD,
    AT_NO_AUTOMOUNT,
    AT_RECURSIVE,
    AT_REMOVEDIR,
    AT_SYMLINK_NOFOLLOW,
    BTRFS_DESTROY_IOCTLS,
    BTRFS_FIRST_FREE_OBJECTID,
    BTRFS_IOC_SNAP_CREATE_V2,
    BTRFS_IOC_SNAP_DESTROY_V2,
    BTRFS_IOC_SUBVOL_CREATE_V2,
    BTRFS_PATH_NAME_MAX,
    BTRFS_SNAPSHOT_IOCTLS,
    BTRFS_SUBVOL_NAME_MAX,
    BTRFS_SUBVOL_SPEC_BY_ID,
    BTRFS_SUBVOLUME_IOCTLS,
    BTRFS_VOL_ARGS_NAME,
    BTRFS_VOL_ARGS_SIZE,
    BTRFS_VOL_ARGS_V2_FLAGS,
    BTRFS_VOL_ARGS_V2_NAME,
    CAP_SYS_ADMIN,
    CLONE_NEW_FLAGS,
    CSIGNAL,
    DELETED,
    DISK_MAX_PARTS,
    F_GETOWN_EX,
    F_OWNER_PGRP,
    F_OWNER_PID,
    F_OWNER_TID,
    F_SETFL,
    F_SETOWN,
    F_SETOWN_EX,
    FIOASYNC,
    FIOSETOWN,
    FSCONFIG_SET_FD,
    FSCONFIG_SET_PATH,
    FSCONFIG_SET_PATH_EMPTY,
    FSCONFIG_SET_STRING,
    FSOPEN_CLOEXEC,
    FSPICK_MASK,
    IN_MASK_ADD,
    IN_MASK_CREATE,
    INOTIFY_VALID_BITS,
    IP_UNICAST_IF,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPV6_V6ONLY,
    KCMP_FILES,
    LO_FLAGS_READ_ONLY,
    LOOP_ATTACH_IOCTLS,
    LOOP_CHANGE_FD,
    LOOP_CONFIG_FLAGS,
    LOOP_CONFIG_SIZE,
    LOOP_CONFIGURE,
    LOOP_MAJOR,
    MOUNT_ATTR_SIZE_VER0,
    MOVE_MOUNT_BENEATH,
    MOVE_MOUNT_F_EMPTY_PATH,
    MOVE_MOUNT_MASK,
    MOVE_MOUNT_SET_GROUP,
    MSG_CMSG_COMPAT,
    MSG_FASTOPEN,
    O_ACCMODE,
    O_ASYNC,
    O_CREAT,
    O_DSYNC,
    O_PATH,
    O_PATH_FLAGS,
    O_SYNC_BIT,
    O_TMPFILE_BIT,
    OPEN_FLAG_NAMES,
    OPEN_TREE_CLONE,
    PATH_MAX,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RESOLVE_CACHED,
    S_IALLUGO,
    SIOCSPGRP,
    SO_BINDTOIFINDEX,
    UMOUNT_MASK,
    VALID_OPEN_FLAGS,
)
from systrace_py.logrecords import LoggedCall
from systrace_py.policy import aliases
from systrace_py.policy.aliases import OPEN_CALLS, VIEW_CALLS
from systrace_py.policy.model import ADDRESS, Absence, Absent, CallFacts, Facts, PathArg, SockAddr
from systrace_py.syscalls import (
    AS_PATHS,
    BY_NAME,
    CLASS_RULES,
    DESCRIPTOR_ARGS,
    KERNEL_LOG_FILES,
    NEVER,
    NUMBERS,
    OPEN_HOW,
    PATHS,
    TABLE,
    Arg,
    Kind,
    Rule,
    Where,
    arg_index,
)
from systrace_py.views import (
    SOURCE_IS_PATH,
    FsKind,
    MountEntry,
    fs_kind,
    fsconfig_layer,
    fsconfig_paths,
    layer_roles,
    mount_kind,
    new_mount_layers,
    parse_mountinfo,
)

MAX_ARGV = 65536
MAX_ARG_STRLEN = 131072
SOCKADDR_MAX = 128
CONTROL_MAX = 65536
SOCKET_SCAN_LIMIT = 20000  # entries looked at for sockets inside a directory being moved
BOUND_SOCKETS_KEPT = 1024  # Decoder.bound_sockets' size before the sockets gone are dropped
REMOVED_OWN_KEPT = 1024    # Decoder.removed_own: removed files of the run's own, by handle
NARROWED_KEPT = 4096       # Decoder.narrowed: the names narrowed last (MadeNotes.settle)
REMOVED_HELD_KEPT = 64     # Decoder.removed_held: those without a handle, held open
#: How often an exclusive create (MadeNotes.exclusive) is made again after the kernel's
#: EEXIST before a name it finds absent is no longer taken as the run's to make
#: (DecodedCall.again, notes38).  One EEXIST says that something outside the tree made the
#: name in the window between a decision and the open -- the program's own open would have
#: opened that file natively.  A name absent again when the call is decided anew was made
#: and removed (or its directory re-aimed) within the tracer's window once more: that is no
#: accident but a racer, which had the call made again for ever (notes37's "left").  So the
#: call made again is decided as though the name were the outsider's: a ``fresh`` rule's
#: "names nothing yet" does not count (a fresh name the run made still does), and a rule that
#: grants the name whatever is at it runs the open as the program made it, nothing noted.
#: Never more than the program's own open could reach: it reads or writes by such a grant
#: whatever is at the name, as every open under it does.
RESTARTS = 1
HELD_SCAN_LIMIT = 4096     # descriptors of a task looked at for a file it removes (_holds)
PAGE_SIZE = 4096           # what mount(2) copies of its options (and fsopen of its type)
FSCONFIG_STRING_MAX = 256  # fsconfig's key and string value (strndup_user(..., 256))

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
    empty path meaning the dirfd itself (AT_EMPTY_PATH); ``null`` for a NULL pointer being no
    path, which the kernel reads nothing for (else it reads address 0: syscalls.Path)."""

    role: str
    arg: int
    dirfd_arg: int | None
    follow: Rule
    empty: Rule
    exposes: Rule = NEVER
    null: Rule = NEVER

    def follows(self, args: _Args, open_flags: int | None = None) -> bool:
        return self.follow.holds(args, open_flags)

    def empty_means_fd(self, args: _Args) -> bool:
        return self.empty.holds(args)


# The decoders' tables, derived from the syscall table (systrace_py.syscalls).
#: call -> its path arguments.  Calls deciding on a descriptor's file are in FD_ARGS.
PATH_ARGS: dict[str, tuple[PathSpec, ...]] = {
    name: tuple(PathSpec(p.role, i, p.dirfd, p.follow, p.empty, p.exposes, p.null)
                for i, p in paths)
    for name, paths in PATHS.items()
}

#: calls whose path roles depend on their arguments (systrace_py.views): mount's source is a
#: path for a bind or a move only, and a new file system's device and options may name files;
#: statfs's f_type of an overlay (include/uapi/linux/magic.h)
OVERLAYFS_SUPER_MAGIC = 0x794C7630
#: statfs's f_type of erofs: with no block device (an anonymous device number), made on an
#: image in a regular file (Linux 6.12, CONFIG_EROFS_FS_BACKED_BY_FILE)
EROFS_SUPER_MAGIC = 0xE0F5E1E2
#: fsconfig's value names a file for some keys; a file system type the engine does not read
#: (fsopen, fspick) is a role no rule can name; move_mount of a new file system names its
#: device
DYNAMIC_ROLE_CALLS = frozenset({"mount", "fsconfig", "fsopen", "fspick", "move_mount"})

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

#: calls with an address: the index of the socket they act on (how it reads the address)
SOCKET_ARG: dict[str, int] = arg_index(Kind.SOCKET)

#: calls with an address whose flags (a send's: MSG_FASTOPEN) are in a register: its index
_SEND_FLAGS_ARG: dict[str, int] = {name: index for name, index in arg_index(Kind.FLAGS).items()
                                   if name in SOCKET_ARG}

#: calls with open flags in a register: its index.
OPEN_FLAGS_ARG: dict[str, int] = arg_index(Kind.OPEN_FLAGS)

#: calls whose argv the exec event checks: the index of argv.
ARGV_ARG: dict[str, int] = arg_index(Kind.ARGV)

#: exec calls: the index of their environment (read only when a decision needs it).
ENVP_ARG: dict[str, int] = arg_index(Kind.ENVP)

#: calls with a struct msghdr (sendmsg): its index.
MSGHDR_ARG: dict[str, int] = arg_index(Kind.MSGHDR)

#: calls whose classes one register decides (ioctl's request, renameat2's flags): its index.
SELECTOR_ARG: dict[str, int] = {name: rule.arg for name, rule in CLASS_RULES.items()}

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
    exposed: bool = False  # a file a mount shows under another name, or covers (Facts.exposes)
    named: str = ""        # the role of a path that is no argument of its own (a mount option)

    @property
    def role(self) -> str:
        return self.spec.role if self.spec else (self.named or "path")


class DecodeError(Exception):
    """An argument the kernel would not accept (a bad pointer, unreadable memory, too long, an
    invalid size or struct): the call is refused with the ``errno`` the kernel gives for it,
    rather than decided on guesses.  Not ``unreadable``: an argument the engine read but
    cannot decide on (a socket whose destinations it cannot see)."""

    def __init__(self, err: int, why: str, unreadable: bool = True) -> None:
        super().__init__(why)
        self.errno = err
        self.unreadable = unreadable


def _unnamed_error(text: str) -> DecodeError:
    """The refusal of a call a rule would decide by the name of a file that has none a rule
    could match (paths.py, "Views": a detached mount, a namespace joined from outside):
    EACCES, as for a file the task may not reach -- a path argument (DecodedCall.path) or a
    unix socket's path (DecodedCall.require_address_names) alike.  ``text``: what /proc
    says of it."""
    return DecodeError(errno.EACCES, f"{text}: the file has no name a rule could match (its "
                       "namespace was not followed)")


# What the kernel accepts when it reads arguments (its limits and checks, as it makes them).
VALID_RESOLVE_FLAGS = (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS
                       | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED)
OPEN_HOW_SIZE_VER0 = 24  # struct open_how: flags, mode, resolve
PAGE_SIZE = 4096         # (openat2 reads no larger struct: E2BIG)
MSGHDR_SIZE = 56         # struct user_msghdr
MMSGHDR_SIZE = 64        # struct mmsghdr: a msghdr and its msg_len
UIO_MAXIOV = 1024        # sendmmsg sends at most this many messages
INT_MAX = 2**31 - 1
#: the most exec arguments can take (pointers and strings): a quarter of the stack limit,
#: at most three quarters of _STK_LIM (8 MiB); past it the kernel says E2BIG
ARG_SPACE_MAX = 8 * 1024 * 1024 // 4 * 3
CONTROL_READ_MAX = 4 * 1024 * 1024  # the most control data the tracer reads for a sendmsg
MAX_RW_COUNT = INT_MAX & ~(PAGE_SIZE - 1)  # the most one read or write moves
_OPTMEM_MAX = "/proc/sys/net/core/optmem_max"


@functools.cache
def user_space_end() -> int:
    """TASK_SIZE_MAX, where user memory ends (access_ok refuses ranges beyond): 2^47 less a
    page, or 2^56 less a page with five-level page tables -- which a mapping asked for above
    2^47 reveals by landing there."""
    libc = ctypes.CDLL(None)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    prot_none = 0
    got = libc.mmap(1 << 50, PAGE_SIZE, prot_none, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    five_levels = got is not None and 1 << 47 <= got < (1 << 64) - PAGE_SIZE
    if got is not None and got != (1 << 64) - 1:
        libc.munmap(got, PAGE_SIZE)
    return (1 << (56 if five_levels else 47)) - PAGE_SIZE


def _optmem_max() -> int:
    """The most control data the kernel allocates for a sendmsg (its sysctl, read now)."""
    try:
        with open(_OPTMEM_MAX, "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return CONTROL_MAX  # cannot tell: examine no more than the default lets through


def _open_how_error(flags: int, mode: int, resolve: int) -> DecodeError | None:
    """What the kernel's build_open_flags refuses in an open_how, or None.  It runs before the
    path is read: a call with both fails with this, not with EFAULT."""
    why = None
    flags &= ~os.O_CLOEXEC
    if flags & ~VALID_OPEN_FLAGS:
        why = "unknown open flags"
    elif resolve & ~VALID_RESOLVE_FLAGS:
        why = "unknown resolve flags"
    elif resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        why = "RESOLVE_BENEATH with RESOLVE_IN_ROOT"
    elif flags & (os.O_CREAT | O_TMPFILE_BIT) and mode & ~S_IALLUGO:
        why = "mode has bits beyond 07777"
    elif not flags & (os.O_CREAT | O_TMPFILE_BIT) and mode:
        why = "mode without O_CREAT or O_TMPFILE_BIT"
    elif flags & os.O_DIRECTORY and flags & os.O_CREAT:
        why = "O_DIRECTORY with O_CREAT"
    elif flags & O_TMPFILE_BIT and (not flags & os.O_DIRECTORY or not flags & 3):
        why = "O_TMPFILE_BIT without O_DIRECTORY or write access"
    elif flags & os.O_PATH and flags & ~O_PATH_FLAGS:
        why = "O_PATH with other flags"
    elif resolve & RESOLVE_CACHED and flags & (os.O_TRUNC | os.O_CREAT | O_TMPFILE_BIT):
        return DecodeError(errno.EAGAIN, "RESOLVE_CACHED cannot create or truncate")
    return DecodeError(errno.EINVAL, why) if why is not None else None


def open_how_of(flags: int, mode: int) -> tuple[int, int]:
    """open/openat/creat's flags and mode as the kernel makes an open_how of them
    (build_open_how): unknown flags dropped, nothing but O_PATH_FLAGS with O_PATH, a mode only
    when creating."""
    flags &= VALID_OPEN_FLAGS
    if flags & os.O_PATH:
        flags &= O_PATH_FLAGS
    mode = mode & S_IALLUGO if flags & (os.O_CREAT | O_TMPFILE_BIT) else 0
    return flags, mode


_UNSET: object = object()
#: calls whose path arguments the kernel reads only after it looked at something else, and
#: failed on that first: see DecodedCall._read_first.  (Not mount: it copies its strings --
#: a source that is a path only for a bind or a move, NULL for most -- and looks its target
#: up before its source: DecodedCall._read_mount_family.)
#: the mount API's checks before it reads a path (fs/namespace.c, fs/fsopen.c; red team 42):
#: name -> (the flags argument, the flags it knows, whether it needs may_mount() first --
#: CAP_SYS_ADMIN over the mount namespace -- or only after the flags (open_tree: only
#: with OPEN_TREE_CLONE), never (None)).  The engine answered the lookup's error (EBADF of
#: a dirfd, ENOENT, EFAULT) where the kernel says EPERM or EINVAL.
_MOUNT_API_FIRST: dict[str, tuple[int, int, bool | None]] = {
    "fspick": (2, FSPICK_MASK, True),
    "move_mount": (4, MOVE_MOUNT_MASK, True),
    "open_tree": (2, AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW
                  | OPEN_TREE_CLONE | os.O_CLOEXEC, False),
    "mount_setattr": (2, AT_EMPTY_PATH | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
                      None),
    "umount2": (1, UMOUNT_MASK, None),
}
_EXECVEAT_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_EXECVE_CHECK
#: the calls whose lookups are checked with the task's real ids (fs/open.c do_faccessat:
#: access_override_creds), faccessat2 unless AT_EACCESS
_REAL_ID_CALLS = frozenset({"access", "faccessat", "faccessat2"})
_READ_FIRST = frozenset({*OPEN_FLAGS_ARG, "openat2", "symlink", "symlinkat", "inotify_add_watch",
                         *_MOUNT_API_FIRST,
                         *(name for name, specs in PATH_ARGS.items()
                           if len(specs) > 1 and name != "mount")})
#: calls whose first path the kernel looks up only as far as its parent before it reads the
#: second (do_renameat2: the old name's parent, the new name and its parent, and only then
#: the old name's last component): a bad second string fails the call unless that parent
#: lookup failed first, whatever the old name's last component is
_PARENT_FIRST = frozenset({"rename", "renameat", "renameat2"})
#: calls that look their first path up whole before they look at the second (do_linkat: the
#: old name's lookup, and its error, come before the new name's -- an empty or unreadable new
#: name is only an error once the old one was found)
_WHOLE_FIRST = frozenset({"link", "linkat"})
_FIRST_LOOKED_UP = _PARENT_FIRST | _WHOLE_FIRST
#: calls that act on the last name of a path itself: the kernel looks up its parent, then
#: treats a last ".", ".." or a trailing slash its own way (EINVAL, EBUSY, ENOTDIR, EEXIST...)
#: -- link's and linkat's new name only: the old one is looked up whole (do_linkat)
LAST_NAME_CALLS = frozenset({
    "unlink", "unlinkat", "rmdir", "mkdir", "mkdirat", "mknod", "mknodat", "symlink",
    "symlinkat", "link", "linkat", "rename", "renameat", "renameat2",
})
#: the requests that set a descriptor's owner from memory: the size the kernel copies (an
#: F_SETOWN_EX struct f_owner_ex, the socket ioctls' int)
_OWNER_IN_MEMORY = {("fcntl", F_SETOWN_EX): 8, ("ioctl", FIOSETOWN): 4, ("ioctl", SIOCSPGRP): 4}
#: the calls that set a descriptor's owner (DecodedCall.owner)
_OWNER_CALLS = frozenset(name for name, _ in _OWNER_IN_MEMORY)


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
    _destinations: list[tuple[Destination, bytes | None, int, bytes]] | None = None
    #: the addresses a send connects its socket to first (MSG_FASTOPEN on TCP), as sockaddrs
    #: gives them: read with them
    connecting: tuple[SockAddr, ...] = ()
    sockaddr_raw: bytes | None = None
    clone_args: CloneArgs | None = None     # clone3's struct, read and checked (tracer)
    clone_args_raw: bytes | None = None     # ... its bytes, which the kernel is handed
    msghdr_raw: bytes | None = None         # sendmsg's struct msghdr, as read
    control_raw: bytes | None = None        # ... its control data
    #: sendmmsg: each message the kernel would send, (its msghdr, its control data), read
    #: up to the first it could not read (see _messages)
    messages_raw: tuple[tuple[bytes, bytes], ...] | None = None
    _argv: object = _UNSET
    _envp: object = _UNSET
    _acts_as: object = _UNSET
    _open_flags: object = _UNSET
    #: the descriptor owner read (owner): read once, the value checked is the value held
    _owner: object = _UNSET
    #: a loop device's attach (loop_backing): read once, the struct checked is the one held
    _loop: object = _UNSET
    #: ... what its two descriptors held when it was read (loop_stayed)
    _loop_seen: tuple[object, object] | None = None
    #: a btrfs snapshot's source (snapshot_source): read once, the struct checked is the one
    #: held, and what its descriptor held when it was read (snapshot_stayed)
    _snap: object = _UNSET
    _snap_seen: object = _UNSET
    #: the name a snapshot or a subvolume's creation makes (made_name): read once, held
    _made: object = _UNSET
    #: the queue an mq_open or mq_unlink names (queue_name): read once, held
    _queue: object = _UNSET
    open_mode: int | None = None
    open_resolve: int | None = None
    #: the dynamic path roles (DYNAMIC_ROLE_CALLS), in order, and how to resolve each:
    #: (raw, dirfd, follow), or None for a value the engine cannot read
    _dynamic: dict[str, tuple[str, int, bool] | None] | None = None
    #: roles already resolved to a name (the mounts of a device mounted elsewhere)
    _named: dict[str, str | Resolved] | None = None
    #: aliases' answer by role: asked by every table of the policies (a link's or
    #: rename's comparison, Supervisor._linked_elsewhere), looked at once
    _aliases: dict[str, tuple[str, ...] | None] | None = None
    #: older_below's answer by role: asked by every table of the policies, walked once
    _below: dict[str, tuple[tuple[str, str, bool], ...]] | None = None
    #: the tracer's view's mounts (own_mounts), read at most once in the call's decision
    _own_mounts: dict[int, MountEntry] | None = None
    #: argument registers whose strings the decision read and the kernel reads again (a
    #: mount's type and options, an fsconfig key and value): held as copies (enforce)
    held_strings: dict[int, bytes] | None = None
    #: (raw, dirfd, follow, creates) of path arguments whose lookup fails (an errno, not a
    #: name): what it passed through on the way is still looked at (passed_through);
    #: creates: PathResolver.resolve's
    failed_lookups: tuple[tuple[str, int, bool, bool], ...] = ()
    #: what :meth:`note_made` found the call will change in the run's notes of what it made,
    #: the part that widens them (a name made, a removed file of its own) kept for the
    #: call's exit stop (MadeNotes.settle: only when it succeeded); the tracer takes it to
    #: the task when the call runs (Task.made_notes)
    made_notes: MadeNotes | None = None
    #: an open's name a fresh rule took as the run's own by what it gives at the decision
    #: (:meth:`fresh`, Decoder.still_made), with the identity noted there: the file the
    #: call's descriptor holds is compared with it at the exit (MadeNotes.kept -- swap51)
    kept: tuple[str, tuple[int, int, bytes] | None] | None = None
    #: (raw, where it ends; "" where its lookup fails) of the unix socket paths the call's
    #: addresses name: looked up as a path argument is (from the cwd; bind's last name not
    #: followed), so what that lookup passes through is looked at too
    #: (address_passed_through; review 15)
    address_lookups: tuple[tuple[str, str], ...] = ()
    #: the resolved unix socket paths of the call's addresses that name nothing (the last
    #: name, or a directory on the way): the kernel's lookup answers ENOENT (red team 86)
    missing_addresses: frozenset[str] = frozenset()
    #: the unix socket paths of the call's addresses that resolve to a file with no name a
    #: rule could match (paths.py, "Views": an outsider's /proc/PID/cwd in a mount namespace
    #: of its own), as their /proc text: a rule that needs the name refuses the call
    #: (require_address_names; review 67)
    unnamed_addresses: frozenset[str] = frozenset()
    #: the targets of a signal call found to be tasks of the traced tree (in_tree): what a
    #: tree-scoped permit was decided on, which must stay so until the call has run
    #: (Tracer._must_freeze); None when no such answer was given
    examined_targets: tuple[int, ...] | None = None
    #: the examined paths (by role) that end on a device standing for another terminal, and
    #: the terminal each stood for when decided ("": none) -- still so when it runs: a
    #: thread's TIOCNOTTY and TIOCSCTTY change the process's controlling terminal
    #: (terminals_examined; Tracer._must_freeze, _unchanged; red team 63); None: none examined
    examined_terminals: dict[str, str] | None = None
    #: asks of what the call does besides, decided as another call -- of no path, or a loop
    #: attach's open of its file --, and the facts of that call: (Decision, CallFacts) pairs
    #: noted by Supervisor._asked_as: a question is about that call (red team 66, review
    #: 44); None: none
    pathless_asks: list[tuple[Any, CallFacts]] | None = None
    #: the examined paths (by role) that end on a device showing the screen of the console
    #: in front (/dev/vcs...), and the names of every screen it may show
    #: (signals.screens_stood_for; found by terminals_examined; red team 66); None: none
    examined_screens: dict[str, tuple[str, ...]] | None = None
    #: an exec into another table: which of the descriptors 0-2 the program would start
    #: without (procfs.standard_fds_closing), as decided on -- still so when it runs
    #: (Tracer._unchanged; red team 34); None when not asked
    examined_std_fds: frozenset[int] | None = None
    #: an exec into another table: the task's seccomp filters (/proc/TID/status
    #: Seccomp_filters) as decided on -- still so when it runs (Tracer._unchanged; red team
    #: 35); None when not asked
    examined_filters: list[int] | None = None
    #: an exec into another table of a Python that imports first from its working directory:
    #: that directory as /proc/TID/cwd named it, as decided on -- still so when it runs (a
    #: thread, or a CLONE_FS child, may chdir meanwhile: Tracer._unchanged; pycwd37); None
    #: when not asked
    examined_cwd: str | None = None
    #: how often this call was made again: an exclusive create (MadeNotes.exclusive) whose
    #: O_EXCL met the kernel's EEXIST (Tracer._restart_exclusive) -- the same call as the
    #: one decided first, not a new one (the log's ``again``; no inject rule counts it).
    #: From :data:`RESTARTS` on, a name it makes that is absent is not taken as the run's to
    #: make (:meth:`fresh`, :meth:`note_made`); 0: a call of its own
    again: int = 0

    def __init__(self, tid: int, tgid: int, nr: int, name: str, args: _Args,
                 memory: TraceeMemory | None = None, decoder: Decoder | None = None,
                 view: View = HOST) -> None:
        self.tid = tid
        self.tgid = tgid
        self.nr = nr
        self.name = name
        self.args = args
        self.memory = memory
        self._decoder = decoder
        self.view = view

    def set_args(self, changes: dict[int, int]) -> None:
        """New values for argument registers: what is decoded from them is decoded again
        (what was examined through an unchanged pointer stays examined)."""
        args = list(self.args)
        for index, value in changes.items():
            args[index] = value & 0xFFFFFFFFFFFFFFFF
        self.args = tuple(args)
        self._open_flags = _UNSET
        self._owner = _UNSET
        self._loop = _UNSET
        if 0 in changes and self._queue is not _UNSET:
            self._queue = _UNSET
            self.held_strings = None
        self.open_mode = self.open_resolve = None
        self.examined_targets = None
        changed = set(changes)
        if self.name in DYNAMIC_ROLE_CALLS:
            self._dynamic = self._named = self.held_strings = None
            self._paths = self._raws = None
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
    def namespace_flags(self) -> int:
        """The namespace flags the call asks for (clone's without its exit signal byte,
        clone3's from its struct, unshare's): what a rule on ``unshare`` decides for clone and
        clone3 too (the supervisor).  A clone3 whose struct was not read (the engine reads it
        before any rule is asked: Tracer._clone3_check) counts as asking for them all."""
        if self.name == "clone":
            return self.args[0] & CLONE_NEW_FLAGS & ~CSIGNAL
        if self.name == "clone3":
            flags = self.clone_args.flags if self.clone_args is not None else CLONE_NEW_FLAGS
            return flags & CLONE_NEW_FLAGS
        if self.name == "unshare":
            return self.args[0] & CLONE_NEW_FLAGS
        return 0

    @property
    def acts_as(self) -> str | None:
        return None if self.policy_name == self.name else self.policy_name

    @property
    def empty_path_arg(self) -> int | None:
        """The argument holding the "" that made the call its descriptor call (acts_as), or
        None.  That "" was read and decided on like any path: a sibling writing a path there
        after the check would have the kernel look it up instead of using the descriptor
        (race_empty.c), so it is held like any examined path (Tracer._must_hold)."""
        if self.acts_as is None:
            return None
        return PATH_ARGS[self.name][0].arg

    @property
    def open_flags(self) -> int | None:
        if self._open_flags is _UNSET:
            self._open_flags = self._read_open_flags()
        return self._open_flags  # type: ignore[return-value]

    @property
    def selector(self) -> int | None:
        index = SELECTOR_ARG.get(self.name)
        return self.args[index] & 0xFFFFFFFF if index is not None else None

    def roles(self) -> tuple[str, ...]:
        if self.name in DYNAMIC_ROLE_CALLS:
            return self._dynamic_roles()
        return ROLES.get(self.name, ())

    def path(self, role: str) -> str | None:
        """The resolved path as rules see it: the calling process's own /proc entries are
        spelled /proc/self, so a rule (or a learned policy) can name them without naming every
        other process's.  A file no rule could name (paths.py, "Views") cannot be decided
        on: asking for its name refuses the call (EACCES, as for a file the task may not
        reach)."""
        decoded = self.decoded_path(role)
        if decoded is None:
            return None
        resolved = decoded.resolved
        if resolved.unnamed and (resolved.exists or self.name not in DYNAMIC_ROLE_CALLS
                                 | VIEW_CALLS):
            # (the mount family creates no file: a missing one is ENOENT whatever is decided)
            raise _unnamed_error(resolved.path)
        return self.shown(resolved.path)

    def require_address_names(self) -> None:
        """A rule needs the names of the unix socket files the call's addresses reach (a
        ``unix`` rule, a rule on the write-open or the mknod of the file:
        Supervisor._unnamed_address): one no rule could match (unnamed_addresses) refuses
        the call (EACCES), as :meth:`path` does for a path argument -- its /proc text is
        no path of the tracer's view, and would match no rule (review 67: a connect to
        ``/proc/PID/cwd/agent.sock`` of an outsider whose cwd is the refused directory,
        bind-mounted elsewhere in its own mount namespace, reached the agent)."""
        self.sockaddrs  # noqa: B018  (decoded: its errors first, then its names known)
        if self.unnamed_addresses:
            raise _unnamed_error(min(self.unnamed_addresses))

    def removed_examined(self) -> bool:
        """Whether a path examined so far names a removed file (/proc's ``PATH
        (deleted)``): the call is then decided by ``PATH`` too (Supervisor._decide, review
        30).  Only the paths a rule asked for: none is resolved here."""
        return any(len(former_names(decoded.resolved.path)) > 1
                   for decoded in (self._paths or {}).values() if decoded is not None)

    def terminals_examined(self) -> dict[str, str]:
        """The examined paths (by role) that end on a device standing for another terminal,
        and the name of the terminal each stands for when this task opens it
        (signals.terminal_stood_for: /dev/tty, the task's controlling terminal; /dev/console,
        /dev/tty0): the call is then decided by that name too (Supervisor._decide, red team
        63) -- a rule refusing /dev/pts/N refuses it through /dev/tty, wherever its node is
        (a bind mount of /dev, a chroot's).  EACCES when which terminal it is cannot be
        told.  Those that show the screen of the console in front (/dev/vcs) are noted in
        examined_screens (red team 66)."""
        found, screens = self._terminals_now()
        if found:
            self.examined_terminals = found
        if screens:
            self.examined_screens = {**(self.examined_screens or {}), **screens}
        return {role: name for role, name in found.items() if name}

    def terminals_stayed(self) -> bool:
        """With the tree frozen: does each examined device still stand for the terminal it
        stood for when decided (examined_terminals)?"""
        if not self.examined_terminals:
            return True
        try:
            return self._terminals_now()[0] == self.examined_terminals
        except DecodeError:  # (which terminal it is can no longer be told: not the same)
            return False

    def _terminals_now(self) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
        """The examined paths (by role) that end on a device standing for another terminal
        now, with the terminal's name; and those showing the screen of the console in front,
        with the screens' names (no state changed: terminals_stayed asks it again)."""
        found: dict[str, str] = {}
        screens_found: dict[str, tuple[str, ...]] = {}
        for role, decoded in (self._paths or {}).items():
            if decoded is None:
                continue
            resolved = decoded.resolved
            if resolved.pseudo or not resolved.exists:
                continue
            try:
                info = os.lstat(resolved.path)
            except OSError:
                continue
            if not stat.S_ISCHR(info.st_mode):
                continue
            screens = signals.screens_stood_for(info.st_rdev)
            if screens is not None:  # (not who opens it: which console is in front)
                screens_found[role] = screens
                continue
            try:
                name = signals.terminal_stood_for(self.tid, info.st_rdev)
            except signals.UntoldTerminal as exc:
                raise DecodeError(errno.EACCES, f"{resolved.path}: {exc}") from None
            if name is not None:
                found[role] = name
        return found, screens_found

    def exposes(self, role: str) -> bool:
        if self.name not in DYNAMIC_ROLE_CALLS and self.name not in PATH_ARGS:
            # a call on a descriptor (the file behind it: decoded_path's fd_path) shows no
            # file elsewhere: nothing to resolve, so nothing examined -- a permitted
            # ioctl(TCGETS) was held for it and, in a tree of many tasks, frozen (a build)
            return False
        decoded = self.decoded_path(role)
        return decoded is not None and decoded.exposed

    def descriptor_paths(self) -> tuple[str, ...]:
        """The files behind the descriptor arguments of a call that names no path (a write's
        descriptor, a sendfile's two), named as rules see paths (pseudo names such as
        "pipe:[...]" for the others).  Only an inject rule's ``path`` looks at them (strace's
        -P); they are read when asked, and never held: nothing is decided on them."""
        indexes = DESCRIPTOR_ARGS.get(self.name)
        if not indexes or self._decoder is None:
            return ()
        found = []
        for index in indexes:
            fd = _int32(self.args[index])
            if fd < 0:
                continue
            resolved = self._decoder.fd_path(self.tid, fd, None, self.view).resolved
            if not resolved.unnamed:
                found.append(self.shown(resolved.path))
        return tuple(found)

    def in_tree(self) -> bool:
        """Whether every target of the signal call is a task of the traced tree now
        (signals.signal_targets; the decoder's ``traced`` tells a task of the tree): what a
        ``target = "tree"`` rule covers.  A yes is kept (``examined_targets``): the call then
        runs with the tree frozen, its targets checked again (Tracer._must_freeze) -- unless
        it can reach the caller's own process only (signals.own_process)."""
        if self.examined_targets is not None:
            return True
        traced = self._decoder.traced if self._decoder is not None else None
        targets = self.signal_targets()
        if traced is None or targets is None:
            return False
        if signals.own_process(self.name, targets, self.tid, self.tgid):
            return True  # (nothing to hold: it cannot reach another process)
        if not all(map(traced, targets)):
            return False
        self.examined_targets = targets
        return True

    def signal_targets(self) -> tuple[int, ...] | None:
        """The tasks the call would signal (signals.signal_targets), or those a descriptor
        owner it sets names (signals.owner_targets: the kernel signals them later, at I/O)."""
        if self.name in _OWNER_CALLS:
            owner = self.owner()
            return None if owner is None else signals.owner_targets(*owner, self.tid)
        return signals.signal_targets(self.name, self.args, self.tid)

    def owner_as_signal(self) -> CallFacts | None:
        """A descriptor owner the call sets, as the signal call it stands for: the kernel
        will send the owner SIGIO, or any signal F_SETSIG names (SIGKILL too), whenever I/O
        on the descriptor becomes possible -- a kill the program makes without a call
        (tests/escape/sig_owner.c).  So the table decides it as that call (``tkill`` for a
        thread, ``kill`` for a process or a group), a ``target = "tree"`` permit by the
        owner's tasks (:meth:`in_tree`, checked again with the tree frozen).  None when it
        needs no decision: no owner set (another request), the owner cleared, the caller's
        own process or thread, or its own process group while every member is a task of the
        tree (what programs that take SIGIO set: glibc, asyncio and openssh set none of their
        own, Emacs sets getpid())."""
        if self.name not in _OWNER_CALLS:
            return None
        owner = self.owner()
        if owner is None or signals.own_owner(*owner, self.tid, self.tgid):
            return None
        kind, who = owner
        tree = self.in_tree()  # (once: a no is not kept, and a group's is a scan of /proc)
        if tree and kind == F_OWNER_PGRP and self._own_group(who):
            return None
        return CallFacts("tkill" if kind == F_OWNER_TID else "kill", tree=tree)

    def _own_group(self, pgid: int) -> bool:
        fields = procfs.read_stat(self.tid)
        return fields is not None and int(fields[procfs.PGRP]) == pgid

    def shown(self, path: str) -> str:
        own = f"/proc/{self.tgid}"
        if path == own or path.startswith(own + "/"):
            return "/proc/self" + path[len(own):]
        return path

    def process_memory(self) -> str | None:
        """For an open of a "mem" file of a procfs -- any procfs, wherever mounted, the
        directory's file system tells, not its name --: "own" when it is the calling process's
        (named /proc/self/..., see :meth:`path`), else "other" (another process's, or one the
        tracer cannot tell about); None for any other file.  Writing any process's memory this
        way is refused (Tracer._engine_refusal); reading another's is what process_vm_readv
        does, and is decided as that call (Supervisor._decide)."""
        if self.name not in OPEN_CALLS:
            return None
        try:
            name = self.path("path") or ""
        except DecodeError:
            return None  # no lookup reaches a file: the call fails with the lookup's errno
        if not name.endswith("/mem"):
            return None
        where = self.access_path("path")
        if where is not None:
            try:
                fd = os.open(os.path.dirname(where), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                return None  # no such directory: the open fails anyway
            except OSError:
                return "other"  # cannot tell (the tracer out of descriptors: red team 32)
            try:
                if pt.fs_type(fd) != PROC_SUPER_MAGIC:
                    return None
            finally:
                os.close(fd)
        own = name == "/proc/self/mem" or (
            name.startswith("/proc/self/task/") and name.count("/") == 5)
        return "own" if own else "other"

    def access_path(self, role: str) -> str | None:
        """Where the tracer reaches the file of that role: its name, or for a task that does
        not see the tracer's tree its own spelling under /proc/TID/root (None: nowhere)."""
        decoded = self.decoded_path(role)
        if decoded is None or decoded.resolved.pseudo:
            return None
        return _access(self.tid, self.view, decoded.resolved)

    def device_of(self, role: str) -> int | None:
        """The device of the file system the path of that role is on (its superblock): by the
        resolver's name of it, or -- a detached mount has none -- walked from the task's own
        start (its root, cwd or dirfd), a name at a time, following no symlink.  None when
        it cannot be told (a symlink on that walk, a task or descriptor gone)."""
        decoded = self.decoded_path(role)
        if decoded is None or decoded.spec is None:
            return None
        where = self.access_path(role)
        try:
            if where is not None and not decoded.resolved.unnamed:
                return os.lstat(where).st_dev
            raw, spec = decoded.raw, decoded.spec
            dirfd = AT_FDCWD if spec.dirfd_arg is None else _int32(self.args[spec.dirfd_arg])
            base = f"/proc/{self.tid}"
            start = f"{base}/root" if raw.startswith("/") else \
                f"{base}/cwd" if dirfd == AT_FDCWD else f"{base}/fd/{dirfd}"
            fd = os.open(start, os.O_PATH | os.O_CLOEXEC)
            try:
                for name in (p for p in raw.split("/") if p):
                    nxt = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                    os.close(fd)
                    fd = nxt
                    if stat.S_ISLNK(os.fstat(fd).st_mode):
                        return None
                return os.fstat(fd).st_dev
            finally:
                os.close(fd)
        except OSError:
            return None

    def _mode(self, role: str) -> int:
        decoded = self.decoded_path(role)
        if decoded is None or decoded.resolved.pseudo or not decoded.resolved.exists:
            return 0
        where = self.access_path(role)
        try:
            return os.lstat(where).st_mode if where else 0
        except OSError:
            return 0

    def directory(self, role: str) -> bool:
        return stat.S_ISDIR(self._mode(role))

    def symlink(self, role: str) -> bool:
        """Whether the path in that role ends on a symlink itself (a magic link's jump to
        an O_PATH descriptor of one: the kernel mounts nothing there, ENOENT)."""
        return stat.S_ISLNK(self._mode(role))

    def socket(self, role: str) -> bool:
        return stat.S_ISSOCK(self._mode(role))

    def view_own_name(self, role: str) -> bool:
        """Whether the path in that role names its file (or, missing, its directory) by a
        name only the task's own mount namespace has (its namespace name: paths.py "Views"),
        on a file system the tracer's view shows too -- a link or rename made there gives the
        file names in the tracer's view that the call does not spell (review 29: a bind of
        the scene on ``view`` in a namespace of the tree's own, then ``link(view/secd/s,
        view/work/out)``: work/out, which another table reads, was never compared).  True
        when it cannot be told."""
        if self.view.host:
            return False
        decoded = self.decoded_path(role)
        if decoded is None or decoded.spec is None or decoded.resolved.pseudo:
            return False  # (a descriptor's file: linkat AT_EMPTY_PATH names no new view)
        resolved = decoded.resolved
        if resolved.unnamed or not resolved.local:
            return False  # (no name a rule could match: refused where one is consulted)
        theirs = self._host_named(resolved)
        if theirs is None:
            return True
        if not isinstance(theirs, os.stat_result):
            return False  # (its name in the tracer's view: its host name)
        if os.major(theirs.st_dev) != 0 or self._decoder is None:
            return True  # (a block device's file system: mounted in the tracer's view, or may be)
        device = (os.major(theirs.st_dev), os.minor(theirs.st_dev))
        return any(entry.device == device for entry in self.own_mounts().values())

    def own_mounts(self) -> dict[int, MountEntry]:
        """The mounts of the tracer's view, by id (PathResolver.own_mounts: its own
        /proc/self/mountinfo), read once for this call: each role's aliases, a view's own
        names and a device's other mounts -- asked by every table -- are told from one
        table.  One call's, never kept beyond it: a DecodedCall is made per stop (a
        re-check decodes anew), so the next call reads the table again and sees a mount
        made between the two (loose30; review 32 measured ~0.9 ms a read at 324 mounts)."""
        if self._own_mounts is None:
            self._own_mounts = self._decoder.resolver.own_mounts() \
                if self._decoder is not None else {}
        return self._own_mounts

    def _host_named(self, resolved: Resolved) -> os.stat_result | Literal[True] | None:
        """For a task in a view of its own: True when the name of ``resolved`` (of its
        directory, when missing) reaches in the tracer's view what the task's own spelling
        reaches; else what that is (its lstat); None when it cannot be read."""
        there, here = f"/proc/{self.tid}/root{resolved.local}", resolved.path
        if not resolved.exists:  # (its directory: with a slash, /proc/TID/root followed)
            there = os.path.dirname(there.rstrip("/")) + "/"
            here = os.path.dirname(here.rstrip("/")) + "/"
        try:
            theirs = os.lstat(there)
        except OSError:
            return None
        with contextlib.suppress(OSError):
            ours = os.lstat(here)
            if (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino):
                return True
        return theirs

    def aliases(self, role: str) -> tuple[str, ...] | None:
        """The other names, in the tracer's view, of the directory the path in that role lies
        in -- another mount of its file system whose root holds it (a bind of it or of a
        directory above it) shows it there too --: a link or rename made in it gives the
        file those names as well, which the call does not spell, and the tables compare them
        too (review 29: a bind of the scene on ``view`` in the tracer's namespace, then
        ``link(view/secd/s, view/work/out)`` made work/out, which another table reads;
        review 32: a directory of the root mount).  () when it has none; None when they
        cannot be told (refused where a rule decides by name)."""
        if self._aliases is None:
            self._aliases = {}
        if role not in self._aliases:
            self._aliases[role] = self._aliases_now(role)
        return self._aliases[role]

    def _aliases_now(self, role: str) -> tuple[str, ...] | None:
        decoded = self.decoded_path(role)
        if decoded is None or decoded.spec is None or decoded.resolved.pseudo or \
                decoded.resolved.unnamed:
            return ()  # (a descriptor's file: linkat AT_EMPTY_PATH names no new view)
        if not self.view.host and (not decoded.resolved.local or
                                   self._host_named(decoded.resolved) is not True):
            return ()  # (no host name: view_own_name answers for it)
        name = decoded.resolved.path
        if not name.startswith("/") or self._decoder is None:
            return None
        directory = os.path.dirname(name.rstrip("/")) or "/"
        mounts = self.own_mounts()
        try:
            held = _open_path(directory)
        except OSError:
            # (a missing directory: the call fails; one that went since: cannot tell)
            return () if decoded.resolved.unreachable else None
        try:
            entry = mounts.get(mount_id(held))
        except OSError:
            return None
        finally:
            os.close(held)
        if entry is None:
            return None
        point = entry.mount_point.rstrip("/")
        if directory != point and not directory.startswith(point + "/"):
            return None  # (reached otherwise than by its mount point: cannot tell)
        # (the directory's path inside its file system; lstrip: on the root mount, "/",
        # point is "" and normpath keeps a leading "//" -- no other mount's root matched it,
        # and a link into a directory of "/" that a bind shows elsewhere was never compared:
        # review 32)
        inside = os.path.normpath(
            entry.root.rstrip("/") + "/" + directory[len(point):].lstrip("/"))
        names = []
        for other in mounts.values():
            root = other.root.rstrip("/")
            if other.device == entry.device and other.mount_id != entry.mount_id and \
                    (inside == other.root or inside.startswith(root + "/")):
                names.append(os.path.normpath(
                    other.mount_point.rstrip("/") + "/" + inside[len(root):].lstrip("/")))
        return tuple(sorted(set(names) - {directory}))

    def absent(self, role: str) -> Absence | None:
        """How the path in ``role`` does not exist, from the resolver; a last name the
        resolver took as it was (a call that does not follow it) is looked at now."""
        decoded = self.decoded_path(role)
        if decoded is None or decoded.spec is None or decoded.resolved.pseudo:
            return None  # a descriptor's file: it exists
        resolved = decoded.resolved
        if resolved.unreachable:
            return Absent.WAY
        if not resolved.exists:
            return Absent.LAST
        where = self.access_path(role)  # (the task's own name where its view is its own:
        #                                 its namespace name may be nothing here -- review 29)
        if where is None:
            return None
        try:
            os.lstat(where)
        except FileNotFoundError:
            return Absent.LAST
        except OSError:
            return None
        return None

    def fresh(self, role: str) -> bool:
        """Whether the path in ``role`` is one the run makes (a ``fresh`` rule's question):
        it names nothing yet -- the call would make it --, or a call of this run made it
        (``Decoder.made``, kept by :meth:`note_made`).  :data:`ADDRESS`: the unix socket
        file the call's one address names -- a bind makes it only anew (EADDRINUSE on
        anything there), any other call reaches it only if a bind of this run made it."""
        if role == ADDRESS:
            return self._fresh_socket()
        key = self._made_key(role)
        if self._decoder is None:
            return False
        if key is None:
            return self._removed_own(role)
        made = self._decoder
        there = made.made_there(key, self._reach(role)) if key in made.made else False
        if there is not False:
            if there and self.name in aliases.OPEN_CALLS:
                # (the name gave the run's file at this look-up; an outsider may rename its
                # own over it before the kernel's -- the descriptor tells, at the exit)
                self.kept = (key, made.made_ids.get(key))
            return True
        return self._makes_only_anew(role) or (
            self.absent(role) == Absent.LAST and self.again < RESTARTS)

    def _removed_own(self, role: str) -> bool:
        """Whether the path in ``role`` is a removed file (``NAME (deleted)``) the run made:
        one of ``Decoder.removed_own`` -- the same (device, inode, handle): a file with its
        inode number after it was freed has another handle (the inode's generation) -- or
        of ``Decoder.removed_held``, which the tracer holds (no handle: the file is not
        freed while held, so its number is no other file's)."""
        decoder = self._decoder
        if decoder is None or not (decoder.removed_own or decoder.removed_held):
            return False
        try:
            decoded = self.decoded_path(role)
        except DecodeError:
            return False
        identity = decoded.resolved.identity if decoded is not None else None
        if identity is None:
            return False
        if identity[2] and identity in decoder.removed_own:
            return True
        held = decoder.removed_held.get(identity)
        if held is None:
            return False
        try:
            return pt.file_identity(held) == identity
        except OSError:
            return False

    def older_below(self, role: str) -> tuple[tuple[str, str, bool], ...]:
        """The files below the directory in ``role`` a call of this run linked or moved
        there although the run did not make them (``Decoder.older``): (the name's tail
        below the directory, "/x/y"; the file's own name when it came; whether a
        directory).  A note whose file is no longer the one noted there
        (``Decoder.still_older``: an outsider's file renamed over the name, review 70), or
        a directory's whose entries were not told when it came (``Decoder.older_trees``), is
        given by its own name now instead, as a file not the run's (a directory there now:
        compared whole, whatever the note was) -- and so is what the walk below a moved
        directory finds there that is neither the run's nor was below an older directory
        when it came (an outsider's file linked into it since, review 73)."""
        decoder = self._decoder
        if decoder is None:
            return ()
        known = self._below.get(role) if self._below is not None else None
        if known is not None:
            return known
        key = self._made_key(role)
        if key is None:
            return ()
        below = key + "/"
        found: list[tuple[str, str, bool]] = []
        # (each note's tail -> the entries below it when it came, where the walk looks
        # inside it; None: not looked inside -- a file, or compared whole by its own name)
        walked: dict[str, dict[str, tuple[int, int, bytes]] | None] = {}
        for name, (own, tree) in decoder.older.items():
            if not name.startswith(below):
                continue
            tail = name[len(key):]
            entries = decoder.older_trees.get(name) if tree else None
            if decoder.still_older(name) and (entries is not None or not tree):
                found.append((tail, own, tree))
                walked[tail] = entries
            else:
                found.append((tail, name, tree or _directory_now(name)))
                walked[tail] = None
        if self.policy_name in aliases.MOVE_CALLS and key in decoder.made:
            found += _foreign_below(decoder, key, walked)
        if self._below is None:
            self._below = {}
        answer = self._below[role] = tuple(found)
        return answer

    def made_by_run(self, path: str) -> bool:
        """Whether a call of this run made ``path`` (``Decoder.made``, see :meth:`fresh`) and
        the file there is still that one (``Decoder.made_ids``: a directory removed where
        the tracer did not see it and made again by another process is not the run's)."""
        decoder = self._decoder
        return decoder is not None and path in decoder.made \
            and decoder.made_there(path) is True

    def _fresh_socket(self) -> bool:
        """:meth:`fresh` of the unix socket file the call's address names (see there); no
        such file, or several addresses (a sendmmsg's), is none the run made."""
        if self._decoder is None:
            return False
        try:
            addrs = self.sockaddrs
        except DecodeError:
            return False
        if len(addrs) != 1 or addrs[0].family != "unix" or \
                not (addrs[0].path or "").startswith("/"):
            return False
        if self.policy_name == "bind":
            return True
        path = addrs[0].path
        if path not in self._decoder.made:
            return False
        # The note is of a name: what stands there now must be a socket a bind of the run
        # bound.  A rename or removal the prefilter let through unstopped is not noted, nor
        # is what was below an older directory renamed away: a socket older than the run
        # (its directory swapped for another: red team 18, fresh_swap.c) -- or another
        # process's, bound while the run goes on, as young as the run's own (red team 19,
        # fresh_born.c: a birth time did not tell) -- could come to the name.  A socket the
        # tracer cannot see (another network namespace's) refuses: over-refusal.
        return pt.unix_socket_at(path) in self._decoder.bound_sockets

    def _makes_only_anew(self, role: str) -> bool:
        """Whether the call makes the name in ``role`` or fails with EEXIST, touching no file
        that is there (mkdir, mknod, a symlink, a link's new name, an open with O_CREAT and
        O_EXCL): a fresh rule lets it meet the kernel's EEXIST -- npm's mkdir -p of a cache
        directory an earlier run made was refused (EPERM), where natively it goes on."""
        name = self.policy_name
        if name in aliases.OPEN_CALLS:
            flags = self.open_flags or 0
            # (with O_PATH the kernel drops O_CREAT and O_EXCL: it opens what is there)
            return not flags & O_PATH and \
                flags & (os.O_CREAT | os.O_EXCL) == os.O_CREAT | os.O_EXCL
        return name not in aliases.MOVE_CALLS and aliases.creates(name, role)

    def _made_key(self, role: str) -> str | None:
        """How ``Decoder.made`` names the path in ``role``: its resolved name -- a
        descriptor's file's too (an fchmod of the file the run made) -- or None (a pipe, a
        socket..., or no path the tracer could resolve)."""
        if self._decoder is None:
            return None
        try:
            decoded = self.decoded_path(role)
        except DecodeError:
            return None
        if decoded is None or decoded.resolved.pseudo:
            return None
        return decoded.resolved.path

    def note_made(self) -> None:
        """The call is let run: note the paths it makes (``Decoder.made``, what ``fresh``
        rules cover besides a path that names nothing yet).  A name it makes that was
        absent when it was decided -- an open's O_CREAT, mkdir, mknod, a symlink (the link
        itself: rules match where it leads) --; a link's or rename's new name only when
        the file it names is one the run made (an older file under a new name is no new
        file), a rename taking everything the run made below a directory with it; a unix
        socket's file made by bind.  A name removed (unlink, rmdir, renamed away, an
        exchange) is forgotten: a file made there later by anything but the run is none of
        its own.

        What narrows the notes (a name forgotten, an older file noted below a directory of
        the run's) is done now, from the tree as it stands at the entry; what widens them
        (a name made, a name moved, an older note taken off, a removed file of the run's
        own) is left in :attr:`made_notes`, for the call's exit: done only when the call
        succeeded (notes35 -- a create that failed, EMFILE or the kernel's EINVAL, left its
        name noted, and an outsider's file made there later counted as the run's own)."""
        decoder = self._decoder
        if decoder is None:
            return
        notes = MadeNotes(decoder)
        notes.again = self.again
        notes.tid = self.tid
        notes.kept = self.kept
        self._plan_made(notes)
        if notes.pending():
            self.made_notes = notes

    def _plan_made(self, notes: MadeNotes) -> None:
        """:meth:`note_made`'s changes, into ``notes`` (see there)."""
        decoder = notes.decoder
        made = decoder.made
        older = decoder.older
        name = self.policy_name
        roles = self.roles()
        if not made and not older and (name in aliases.REMOVE_CALLS
                                       or name in aliases.TWO_PATH_CALLS):
            return  # (nothing to forget, and a new name only of a file the run made)
        if name in aliases.REMOVE_CALLS:
            key = self._made_key("path")
            if key is not None and self._removes():
                if key in made and decoder.still_made(key, self._reach("path")):
                    # (what the name gives now is the run's own: not another process's file
                    # put there after a removal the tracer did not see -- close 33)
                    self._keep_removed(notes)
                notes.forget(key)
                # (a directory removed is empty: nothing of the run's below it)
                notes.take_older(key, False)
            return
        if name in aliases.TWO_PATH_CALLS:
            old = self._made_key("old")
            new = self._made_key("new")
            moving = name in aliases.MOVE_CALLS
            if old is None or new is None or self.absent("old") is not None:
                return  # (no file at the old name: the call fails, nothing is renamed --
                #          cmake renames its cache's temporary file a second time, ENOENT,
                #          and the first rename's new name was forgotten)
            flags = (self.selector or 0) if name == "renameat2" else 0
            if flags & RENAME_NOREPLACE and self.absent("new") is None:
                return  # (the kernel's EEXIST, nothing moves: mv tries this first, and
                #          the rename after it was taken for an older file's and forgot
                #          the run's own -- configure's conftest.err, unlink refused)
            exchange = flags & RENAME_EXCHANGE
            if not self._one_mount():
                # (the kernel's EXDEV: nothing moves, nothing is linked -- and the new name,
                # another file's there, noted as the run's: review 33.  Both forgotten,
                # refusing more, not less, where the mounts cannot be told)
                notes.forget(old)
                notes.forget(new)
                return
            self._note_older(notes, old, new, moving, bool(exchange))
            if exchange or old not in made:
                if moving or exchange:
                    notes.forget(old)
                    # and what the run made below either: left at the old name, it would
                    # be an older file's once another directory is moved there (red team
                    # 18).  Forgotten, not moved: the rename may still fail (ENOTEMPTY)
                    if self.directory("old") or (exchange and self.directory("new")):
                        notes.forget_below(old, new)
                notes.forget(new)  # (an older file's new name -- a link too)
                return
            if not moving:  # (a link: the new name of a file the run made)
                if self.absent("new") == Absent.LAST:
                    notes.make(new, self._reach("new"), True, decoder.made_ids.get(old))
                return
            reach = self._reach("new")
            if self.directory("old"):  # (a file has nothing below it: no walk of the set)
                # what is noted below the new name is not there: a directory the rename
                # replaces is empty (else ENOTEMPTY, nothing moves) -- a note left there
                # would name what the moved directory holds (review 33)
                notes.forget_below(new)
                below = old + "/"
                for path in [p for p in made if p.startswith(below)]:
                    carried = decoder.made_ids.get(path)
                    notes.forget(path)
                    notes.make(new + path[len(old):], reach and reach + path[len(old):], True,
                               carried)
            carried = decoder.made_ids.get(old)
            notes.forget(old)
            notes.make(new, reach, True, carried)
            return
        if name == "bind":
            if self.view.host:
                for address in self.sockaddrs:
                    socket_file = address.path
                    if address.family == "unix" and socket_file and socket_file.startswith("/"):
                        try:
                            os.lstat(socket_file)
                        except FileNotFoundError:
                            notes.make(socket_file)
                            bound = pt.socket_inode(self.tid, _int32(self.args[0]))
                            if bound is not None:
                                notes.bound(bound)
                        except OSError:
                            pass
            return
        for role in roles:
            if aliases.creates(name, role, self.open_flags) and \
                    self.absent(role) == Absent.LAST:
                key = self._made_key(role)
                if name in aliases.OPEN_CALLS and not (self.open_flags or 0) & os.O_EXCL \
                        and self.again >= RESTARTS:
                    # (made again past the bound: an outsider made the name in every window
                    # -- it runs as it was, without O_EXCL, and what it opens is not noted)
                    continue
                if key is not None:
                    notes.make(key, self._reach(role))
                    if name in aliases.OPEN_CALLS:
                        notes.opened = key
                    # (nothing was there: a note of it went unseen -- one below a name made
                    # anew stays, refusing more, not less: no walk of the notes per mkdir)
                    notes.take_older(key, False)
                    if name in aliases.OPEN_CALLS and not (self.open_flags or 0) & os.O_EXCL:
                        # (an open that opens what is there: only O_EXCL says it made the
                        # file -- an outsider's made between this decision and the kernel's
                        # open is opened too: notes37)
                        notes.exclusive = True

    def _reach(self, role: str) -> str:
        """Where a fresh note's look-up of the path in ``role`` is made
        (Decoder.still_made's ``where``): :meth:`access_path`, "" where there is none -- nor
        for a name no rule could match (``unnamed``: /proc's text, no name in either view)."""
        try:
            decoded = self.decoded_path(role)
        except DecodeError:
            return ""
        if decoded is None or decoded.resolved.unnamed:
            return ""
        return self.access_path(role) or ""

    def _one_mount(self) -> bool:
        """Whether a link's or rename's two names lie in one mount (their directories'
        mount ids: the kernel's EXDEV otherwise, do_renameat2 and do_linkat comparing
        ``old_path.mnt`` and ``new_path.mnt``); False where that cannot be told."""
        ids = []
        for role in ("old", "new"):
            where = self.access_path(role)
            if not where:
                return False
            try:
                held = _open_path(os.path.dirname(where.rstrip("/")) or "/")
            except OSError:
                return False
            try:
                ids.append(mount_id(held))
            except OSError:
                return False
            finally:
                os.close(held)
        return ids[0] == ids[1]

    def _keep_removed(self, notes: MadeNotes) -> None:
        """The call removes a regular file of the run's own (its name in ``made``): when
        that is its one name and the removing process holds it open -- the only way left to
        it --, the tracer notes which file it is (``Decoder.removed_own``: by its handle,
        which a later file with its inode number does not share), or where the file system
        gives no handle holds it (``removed_held``: its space stays taken until the run
        ends or REMOVED_HELD_KEPT later ones).  What it notes is the file the name gives
        now: the run's own as far as ``made`` tells (a rename or link over the name took the
        name out of it).  Not when the process holds it by no descriptor (a file closed and
        then removed, a sort's or a compiler's temporaries: nothing reaches it after the
        removal)."""
        decoder = self._decoder
        where = self.access_path("path")
        if decoder is None or not where:
            return
        try:
            fd = _open_path(where, follow=False)
        except OSError:
            return
        try:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and \
                    self._holds(info.st_dev, info.st_ino):
                identity = pt.file_identity(fd)
                if not identity[2]:
                    notes.removed(identity, fd)  # (held from the removal's exit on)
                    return
                notes.removed(identity, None)
        except OSError:
            pass
        os.close(fd)

    def _holds(self, device: int, inode: int) -> bool:
        """Whether the calling task has a descriptor of that file (among its first
        HELD_SCAN_LIMIT: a task with more is taken to hold none -- the file is then not
        held, refused as before, and no removal costs more than that many looks)."""
        base = f"/proc/{self.tid}/fd"
        try:
            with os.scandir(base) as entries:
                for looked, entry in enumerate(entries):
                    if looked >= HELD_SCAN_LIMIT:
                        return False
                    try:
                        info = os.stat(entry.path)
                    except OSError:
                        continue
                    if info.st_ino == inode and info.st_dev == device:
                        return True
        except OSError:
            pass
        return False

    def _removes(self) -> bool:
        """Whether a removal (unlink, unlinkat, rmdir) removes what its path names as the
        tree stands: a directory only by rmdir or AT_REMOVEDIR, and only empty; anything
        else only by unlink.  One that fails (EISDIR, ENOTDIR, ENOTEMPTY, ENOENT) removes
        nothing, and the notes of that name stay: an older tree noted below a directory of
        the run's own, its rmdir refused by the kernel (ENOTEMPTY), was forgotten, and the
        directory then moved with it under a name that reads it (review 23,
        tests/escape/fs_linked.c ownrmdir).  A note kept where a race with another task
        empties the directory before the call refuses more, not less."""
        mode = self._mode("path")
        if not mode:
            return False
        as_directory = self.policy_name == "rmdir" or (
            self.policy_name == "unlinkat" and bool(_int32(self.args[2]) & AT_REMOVEDIR))
        if not stat.S_ISDIR(mode):
            return not as_directory
        if not as_directory:
            return False
        where = self.access_path("path")
        if not where:
            return False
        try:
            with os.scandir(where) as entries:
                return next(entries, None) is None
        except OSError:
            return False

    def _note_older(self, notes: MadeNotes, old: str, new: str, moving: bool,
                    exchange: bool) -> None:
        """``Decoder.older`` after a link or rename (``exchange``: RENAME_EXCHANGE) of
        ``old`` to ``new`` that the kernel will carry out (``Decoder.made`` not yet
        changed): a file or directory the run did not make, given a name below a directory
        the run made, is noted there with its own name; what was noted at or below a name
        moved goes with it (an exchange swaps them); what was noted at or below a name
        replaced is gone.  Exact as far as the tracer sees the calls; a name it could not
        follow is none of the run's own (``made`` forgets it), and the comparison then
        decides it in full."""
        decoder = notes.decoder
        made, older = decoder.made, decoder.older
        renames = moving or exchange
        # (only a directory has notes below it: a file's are one lookup, not a walk --
        # git clone --local links thousands of objects)
        trees: dict[str, bool] = {}

        def tree(role: str) -> bool:
            if role not in trees:
                trees[role] = renames and self.directory(role)
            return trees[role]

        if older:
            if renames:
                at_old = notes.take_older(old, tree("old"))
            else:  # (a link: the old name keeps its note, the new one gets it too)
                at_old = {old: older[old]} if old in older else {}
            at_new = notes.take_older(new, tree("new"))
            ids, entries = decoder.older_ids, decoder.older_trees
            # (a note's file keeps its identity where it moves: the one noted, or none; a
            # directory's, the entries noted below it)
            carried = {name: (ids.get(name), entries.get(name)) for name in [*at_old, *at_new]}
            for name, noted in at_old.items():
                notes.put_older(new + name[len(old):], noted, *carried[name])
            if exchange:
                for name, noted in at_new.items():
                    notes.put_older(old + name[len(new):], noted, *carried[name])
        sides = [(old, new, "old")] + ([(new, old, "new")] if exchange else [])
        for source, target, role in sides:
            if source not in made and target not in older and _below_own(made, target):
                # (which file comes: the one at its name now, where the task looks it up --
                # a directory with the entries below it, review 73)
                try:
                    where = self.access_path(role)
                except DecodeError:
                    where = None
                if where and tree(role):
                    notes.put_older(target, (source, True), *_older_tree(where))
                else:
                    notes.put_older(target, (source, tree(role)),
                                    name_identity(where) if where else None)

    def sockets_below(self, role: str) -> tuple[str, ...] | None:
        decoded = self.decoded_path(role)
        where = self.access_path(role)
        if decoded is None or where is None:
            return () if decoded is None else None
        name = decoded.resolved.path
        found: list[str] = []
        seen = 0
        for top, dirs, files in os.walk(where):
            for entry in files:
                seen += 1
                if seen > SOCKET_SCAN_LIMIT:
                    return None  # too many to look at: treated as holding a protected one
                path = f"{top}/{entry}"
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        found.append(name + path[len(where):])  # by its name, for rules
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
            memory = self.memory
            if index is not None and memory is not None:
                self._raw(PATH_ARGS[self.name][0])  # read first: its errors come first
                pointer = self.args[index]
                self._argv = self._guard(lambda: read_argv(memory, pointer))
        return self._argv  # type: ignore[return-value]

    @property
    def envp(self) -> tuple[str, ...] | None:
        """An exec's environment, read as the kernel reads it (each string EFAULT if
        unreadable, E2BIG if too long); argv is read first, so a bad argv fails as before."""
        if self._envp is _UNSET:
            self._envp = None
            index = ENVP_ARG.get(self.name)
            memory = self.memory
            if index is not None and memory is not None:
                self.argv  # noqa: B018  (read first: its errors come first)
                pointer = self.args[index]
                self._envp = self._guard(lambda: read_argv(memory, pointer))
        return self._envp  # type: ignore[return-value]

    # --- decoding, on demand -------------------------------------------------------------------
    def _guard(self, read: Callable[[], object]) -> Any:
        """Run a read of the tracee's memory: what the kernel would refuse becomes a
        DecodeError with the kernel's errno."""
        try:
            return read()
        except TraceeMemoryError as exc:
            raise DecodeError(exc.errno or errno.EFAULT, str(exc)) from exc

    def _read_open_flags(self) -> int | None:
        """The open flags; EINVAL where the kernel's build_open_flags refuses them (it does
        so before it reads the path), and for openat2 whatever its struct read gives."""
        name, args = self.name, self.args
        if name in OPEN_FLAGS_ARG:
            flags = args[OPEN_FLAGS_ARG[name]] & 0xFFFFFFFF
            self.open_mode = args[OPEN_FLAGS_ARG[name] + 1] & 0o7777
            if flags & (O_CREAT | O_TMPFILE_BIT) and not flags & os.O_PATH:  # (else none can be)
                error = _open_how_error(*open_how_of(flags, self.open_mode), 0)
                if error is not None:
                    raise error
            return flags
        if name == "creat":
            self.open_mode = args[1] & 0o7777
            return os.O_CREAT | os.O_WRONLY | os.O_TRUNC
        if name == "openat2" and self.memory is not None:
            flags, mode, resolve = self._read_open_how(self.memory, args[2], args[3])
            error = _open_how_error(flags, mode, resolve)
            if error is not None:
                raise error
            self.open_mode, self.open_resolve = mode, resolve
            return flags
        return None

    def _read_open_how(self, memory: TraceeMemory, pointer: int,
                       size: int) -> tuple[int, int, int]:
        """openat2's struct open_how as the kernel copies it (copy_struct_from_user): at
        least its first version, at most a page, and what lies beyond the fields this kernel
        knows must be zero."""
        if size < OPEN_HOW_SIZE_VER0:
            raise DecodeError(errno.EINVAL, "struct open_how too small")
        if size > PAGE_SIZE:
            raise DecodeError(errno.E2BIG, "struct open_how larger than a page")
        if size > OPEN_HOW_SIZE_VER0:
            # check_zeroed_user: the first byte that is not zero (E2BIG) or not readable
            # (EFAULT) decides, whichever comes first
            start, rest = pointer + OPEN_HOW_SIZE_VER0, size - OPEN_HOW_SIZE_VER0
            if start + rest > user_space_end():
                raise DecodeError(errno.EFAULT, "struct open_how beyond user memory")
            tail = self._guard(lambda: memory.read(start, rest))
            if tail.count(0) != len(tail):
                raise DecodeError(errno.E2BIG, "struct open_how has fields this kernel lacks")
            if len(tail) < rest:
                raise DecodeError(errno.EFAULT, "struct open_how runs into unreadable memory")
        how = self._guard(lambda: memory.read_exact(pointer, OPEN_HOW_SIZE_VER0))
        flags, mode, resolve = struct.unpack("<QQQ", how)
        return flags, mode, resolve

    def _raw(self, spec: PathSpec) -> str | None:
        """The path string as the tracee passed it; None for a NULL pointer the kernel reads
        nothing for (``spec.null``: the dirfd itself, as utimensat's).  Any other NULL is an
        address like another to the kernel -- getname() copies from 0, EFAULT or the string
        a program with CAP_SYS_RAWIO wrote in a page it mapped there -- and is read so (red
        team 31: taken for its dirfd, the call was decided on the cwd and ran on page zero's
        path)."""
        raws = self._raws
        if raws is None:
            raws = self._raws = {}
        elif spec.role in raws:
            return raws[spec.role]
        pointer = self.args[spec.arg]
        memory = self.memory
        later = self.name in _FIRST_LOOKED_UP and spec is not PATH_ARGS[self.name][0]
        if memory is None or (pointer == 0 and spec.null.holds(self.args)):
            text = None
        else:
            if self.name in _READ_FIRST:
                self._read_first(spec, memory)
            elif self.name == "mount":
                self._mount_strings_first(memory)
            try:
                text = memory.read_cstring(pointer).decode("utf-8", "surrogateescape")
            except TraceeMemoryError as exc:
                if later:  # the first path is looked up before this string's error counts
                    first_error = self._first_error()
                    if first_error is not None:
                        raise first_error from None
                raise DecodeError(exc.errno or errno.EFAULT, str(exc)) from exc
        if self.name == "execveat" and text is not None:
            # do_open_execat's flags check comes after getname (EFAULT, an empty name's
            # ENOENT) and before the lookup (a dirfd's EBADF) (red team 42)
            flags = self.args[4] & 0xFFFFFFFF
            if text == "" and not flags & AT_EMPTY_PATH:
                raise DecodeError(errno.ENOENT, "empty path")
            if flags & ~_EXECVEAT_FLAGS:
                raise DecodeError(errno.EINVAL, f"execveat flags {flags:#x}")
        raws[spec.role] = text
        return text

    def _mount_strings_first(self, memory: TraceeMemory) -> None:
        """mount(2) copies its type, its source (copy_mount_string: EFAULT, EINVAL past
        PATH_MAX) and its options' page (EFAULT when none of it is readable) before it looks
        the target up: the engine answered the lookup's ENOENT (red team 42)."""
        for index in (2, 0):
            pointer = self.args[index]
            if pointer:
                self._guard(functools.partial(memory.read_cstring, pointer, PATH_MAX,
                                              errno.EINVAL))
        if self.args[4] and not self._guard(lambda: memory.read(self.args[4], 1)):
            raise DecodeError(errno.EFAULT, "mount options unreadable")

    def _mount_api_first(self) -> None:
        """The mount API's checks before its lookups (_MOUNT_API_FIRST): unknown flags
        (EINVAL), and where the kernel asks first, may_mount() (EPERM) -- answered only for
        a task without CAP_SYS_ADMIN at all (with it, the mount namespace's owner decides:
        the call goes on to the kernel's own answer)."""
        arg, known, mount_first = _MOUNT_API_FIRST[self.name]
        flags = self.args[arg] & 0xFFFFFFFF
        if mount_first and not self._may_mount():
            raise DecodeError(errno.EPERM, "no CAP_SYS_ADMIN for the mount namespace")
        if flags & ~known:
            raise DecodeError(errno.EINVAL, f"{self.name} flags {flags:#x}")
        if self.name == "move_mount" and flags & MOVE_MOUNT_SET_GROUP and \
                flags & MOVE_MOUNT_BENEATH:
            raise DecodeError(errno.EINVAL, "MOVE_MOUNT_SET_GROUP with MOVE_MOUNT_BENEATH")
        if self.name == "open_tree":
            if flags & (AT_RECURSIVE | OPEN_TREE_CLONE) == AT_RECURSIVE:
                raise DecodeError(errno.EINVAL, "AT_RECURSIVE without OPEN_TREE_CLONE")
            if flags & OPEN_TREE_CLONE and not self._may_mount():
                raise DecodeError(errno.EPERM, "no CAP_SYS_ADMIN for the mount namespace")
        if self.name == "mount_setattr":
            size = self.args[4]
            if size > PAGE_SIZE:
                raise DecodeError(errno.E2BIG, "struct mount_attr larger than a page")
            if size < MOUNT_ATTR_SIZE_VER0:
                raise DecodeError(errno.EINVAL, "struct mount_attr too small")
            if not self._may_mount():
                raise DecodeError(errno.EPERM, "no CAP_SYS_ADMIN for the mount namespace")

    def _may_mount(self) -> bool:
        """False when the task surely fails may_mount(): no CAP_SYS_ADMIN in its effective
        set (in no user namespace can it hold one then over its mount namespace); True when
        that cannot be told."""
        try:
            held = procfs.has_capability(procfs.read(f"/proc/{self.tid}/status"),
                                         CAP_SYS_ADMIN)
        except (OSError, ValueError):
            return True
        return held is not False

    def _read_first(self, spec: PathSpec, memory: TraceeMemory) -> None:
        """What the kernel looks at before this path, and fails on first: open flags (EINVAL),
        a symlink's target, the path arguments before this one (rename's old before its new;
        an empty one is ENOENT)."""
        if self.name in OPEN_FLAGS_ARG or self.name == "openat2":
            _ = self.open_flags
        elif self.name == "inotify_add_watch":
            self._inotify_first()
        elif self.name in _MOUNT_API_FIRST:
            self._mount_api_first()
        elif self.name in ("symlink", "symlinkat") and not self._guard(
                lambda: memory.read_cstring(self.args[0])):
            raise DecodeError(errno.ENOENT, "empty symlink target")
        for earlier in PATH_ARGS[self.name]:
            if earlier is spec:
                break
            # (a NULL one is read as the kernel reads it: EFAULT, or page zero's string --
            # but move_mount's *_EMPTY_PATH flags make a NULL path an empty one: Path.null)
            if self._raw(earlier) == "" and not self._empty_means_fd(earlier):
                raise DecodeError(errno.ENOENT, "empty path")

    def _inotify_first(self) -> None:
        """inotify_add_watch's checks before its lookup (inotify_user.c): a mask with no
        valid bit, or with IN_MASK_ADD and IN_MASK_CREATE, is EINVAL; then a descriptor
        that is not open -- or is an O_PATH one, which fdget does not take -- is EBADF, one
        that is no inotify instance EINVAL (the engine answered the lookup's error: ELOOP,
        ENOENT; red team 26; O_PATH: review 15)."""
        mask = self.args[2] & 0xFFFFFFFF
        if not mask & INOTIFY_VALID_BITS or (
                mask & IN_MASK_ADD and mask & IN_MASK_CREATE):
            raise DecodeError(errno.EINVAL, "inotify mask")
        if self._fdget(_int32(self.args[0])) != "anon_inode:inotify":
            raise DecodeError(errno.EINVAL, "no inotify descriptor")

    def _fdget(self, fd: int) -> str:
        """What the task's descriptor ``fd`` holds (its /proc link), as the kernel's fdget
        takes it: one that is not open -- or is an O_PATH one, which fdget does not take --
        is EBADF."""
        try:
            held = os.readlink(f"/proc/{self.tid}/fd/{fd}")
            with open(f"/proc/{self.tid}/fdinfo/{fd}", "rb") as info:
                flags = next((int(line.split()[1], 8) for line in info
                              if line.startswith(b"flags:")), 0)
        except (OSError, ValueError, IndexError):
            raise DecodeError(errno.EBADF, "no such descriptor") from None
        if flags & os.O_PATH:
            raise DecodeError(errno.EBADF, "an O_PATH descriptor")
        return held

    def _socket_first(self) -> None:
        """The kernel's checks of a socket call before it reads the address (net/socket.c;
        the engine read the address first and answered EINVAL or EFAULT where the kernel
        says EBADF or ENOTSOCK: red team 42): sendmsg and sendmmsg first refuse
        MSG_CMSG_COMPAT (EINVAL), sendto first checks its data buffer
        (import_ubuf: EFAULT past user memory); then connect takes the file (EBADF) and
        finds out it is no socket only after the address (ENOTSOCK, left to the reading of
        the socket), the others take the socket (EBADF, ENOTSOCK) before anything else."""
        if self.name in ("sendmsg", "sendmmsg") and \
                self.args[_SEND_FLAGS_ARG[self.name]] & MSG_CMSG_COMPAT:
            raise DecodeError(errno.EINVAL, "MSG_CMSG_COMPAT")  # (its first check)
        if self.name == "sendto":
            length = min(self.args[2], MAX_RW_COUNT)
            if self.args[1] + length > user_space_end():
                raise DecodeError(errno.EFAULT, "the data lies beyond user memory")
        held = self._fdget(_int32(self.args[SOCKET_ARG[self.name]]))
        if self.name != "connect" and not held.startswith("socket:"):
            raise DecodeError(errno.ENOTSOCK, "no socket")

    def _first_error(self, first: PathSpec | None = None) -> DecodeError | None:
        """What the kernel fails on when it looks the first path up, before a later path's
        own error (an empty or unreadable string) counts: rename's parent lookup
        (_PARENT_FIRST), link's whole lookup (_WHOLE_FIRST); None when it is found.
        ``first``: the path looked up first when it is not the first argument (mount's
        target)."""
        if first is None:
            first = PATH_ARGS[self.name][0]
        if self.name in _PARENT_FIRST:
            return self._parent_error(first)
        try:
            decoded = self.decoded_path(first.role)
        except DecodeError as exc:
            return exc
        if decoded is not None and decoded.raw == "" and decoded.resolved.pseudo \
                and decoded.resolved.path.startswith("fd:"):
            return DecodeError(errno.EBADF, "no such descriptor")  # (AT_EMPTY_PATH)
        if decoded is None or decoded.resolved.pseudo:
            return None
        if not decoded.resolved.exists:
            return DecodeError(errno.ENOENT, "no such file")
        missing = self._missing_error(decoded.resolved)
        if missing is not None:
            return missing
        if decoded.resolved.slash and not self.directory(first.role):
            # (the resolver leaves this to the kernel, which fails the lookup: do_linkat)
            return DecodeError(errno.ENOTDIR, "a trailing slash on a file that is no directory")
        return None

    def _on_last_name(self, spec: PathSpec) -> bool:
        """Whether the kernel looks this path's parent up, then its last name itself (a
        trailing slash makes it follow no symlink there): LAST_NAME_CALLS, but link's old
        name, which is looked up whole."""
        return self.name in LAST_NAME_CALLS and not (self.name in _WHOLE_FIRST
                                                     and spec is PATH_ARGS[self.name][0])

    def _start_error(self, raw: str, dirfd: int) -> DecodeError | None:
        """What the kernel's path_init fails an openat2 with before it walks a name: a dirfd
        that is not open or not a directory, an absolute path with RESOLVE_BENEATH.  (A
        RESOLVE_CACHED lookup that fails further on fails, for all the engine can tell, at a
        name not in the dcache, a magic link, a deep symlink: EAGAIN -- what the kernel
        may always answer there; its own lookup's errno would be a guess.)"""
        if raw.startswith("/"):
            if self.lookup_restrictions & RESOLVE_BENEATH:
                return DecodeError(errno.EXDEV, "an absolute path beneath a directory")
            return None
        if dirfd == AT_FDCWD:
            return None
        try:
            info = os.stat(f"/proc/{self.tid}/fd/{dirfd}")
        except FileNotFoundError:
            return DecodeError(errno.EBADF, f"dirfd {dirfd} is not open")
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return DecodeError(errno.ENOTDIR, f"dirfd {dirfd} is not a directory")
        return None

    def _missing_error(self, resolved: Resolved) -> DecodeError | None:
        """What the kernel's lookup of a resolved file that may not be there fails with: the
        resolver does not look for a single name a call does not follow (``exists`` is then
        True, paths.PathResolver._simple: no rule depends on it -- nor on whether a dirfd it
        is relative to is a directory), and the errno of a link's old name does."""
        where = _access(self.tid, self.view, resolved)
        if where is None:
            return None
        try:
            os.lstat(where)
        except (FileNotFoundError, NotADirectoryError) as exc:
            return DecodeError(exc.errno or errno.ENOENT, "no such file")
        except OSError:
            pass  # (reached otherwise: the kernel's lookup tells, not this one)
        return None

    def _parent_error(self, spec: PathSpec) -> DecodeError | None:
        """What the kernel's lookup of the parent of the path in ``spec`` fails with
        (filename_parentat: every component but the last, as directories), or None when it
        finds it -- the path's own last component, even "." or "..", is not looked at."""
        decoder = self._decoder
        assert decoder is not None
        head = (self._raw(spec) or "").rstrip("/")
        if not head:
            return None  # "/": the root is its own parent
        cut = head.rfind("/")
        if cut >= 0 and not head[:cut].strip("/"):
            return None  # "/name": the root
        dirfd = _int32(self.args[spec.dirfd_arg]) if spec.dirfd_arg is not None else AT_FDCWD
        try:
            parent = decoder.resolve(self, head[:cut + 1] + "." if cut >= 0 else ".", dirfd,
                                     True)
        except DecodeError as exc:
            return exc
        return None if parent.exists else DecodeError(errno.ENOENT, "no parent directory")

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
        if self.name in DYNAMIC_ROLE_CALLS and role not in self._static_roles():
            if role not in self._dynamic_roles():
                return None
            decoded = self._resolve_dynamic(decoder, role)
            paths[role] = decoded
            return decoded
        specs = PATH_ARGS.get(self.name)
        if specs is None:
            if self.name not in FD_ARGS or role != "path":
                return None
            decoded = decoder.fd_path(self.tid, _int32(self.args[FD_ARGS[self.name]]),
                                      view=self.view)
        else:
            spec = next((s for s in specs if s.role == role), None)
            if spec is None:
                return None
            decoded = self._resolve(decoder, spec)
            if spec.exposes is not NEVER and spec.exposes.holds(self.args):
                decoded.exposed = self._exposed_mount(decoded)
        paths[role] = decoded
        return decoded

    # --- what the kernel reads again: held copies ----------------------------------------------
    def owner(self) -> tuple[int, int] | None:
        """The owner fcntl(F_SETOWN) or (F_SETOWN_EX), ioctl(FIOSETOWN) or (SIOCSPGRP) would
        give its descriptor, as (F_OWNER_* kind, id); None for any other call, or no memory
        to read.  F_SETOWN's is a register (a pid, or -pgid); the others' is in memory (the
        F_SETOWN_EX struct, the ioctls' int), read as the kernel reads it (a DecodeError,
        EFAULT, when it cannot be) and kept in ``held_strings``: the kernel gets the value
        checked.  The decoder's, so that a fresh decode compares it (Tracer._unchanged).
        Read once: every check of the call (the tracer's guard, the table's as a signal:
        owner_as_signal) sees the value held -- read again, a struct another thread flips
        would be checked as one owner and held as another."""
        if self._owner is _UNSET:
            self._owner = self._read_owner()
        return self._owner  # type: ignore[return-value]

    def _read_owner(self) -> tuple[int, int] | None:
        request = self.args[1] & 0xFFFFFFFF if len(self.args) > 2 else -1
        if self.name == "fcntl" and request == F_SETOWN:
            pid = _int32(self.args[2])
            return (F_OWNER_PGRP, -pid) if pid < 0 else (F_OWNER_PID, pid)
        if self.name == "fcntl" and request == F_SETFL:
            return self._terminal_owner() if self.args[2] & O_ASYNC else None
        if self.name == "ioctl" and request == FIOASYNC and self.memory is not None:
            reader, at = self.memory, self.args[2]
            raw_on: bytes = self._guard(lambda: reader.read_exact(at, 4))
            self.held_strings = {2: raw_on}
            return self._terminal_owner() if raw_on != bytes(4) else None
        size = _OWNER_IN_MEMORY.get((self.name, request))
        memory = self.memory
        if size is None or memory is None:
            return None
        pointer = self.args[2]
        raw: bytes = self._guard(lambda: memory.read_exact(pointer, size))
        self.held_strings = {2: raw}
        if size == 8:
            kind, who = struct.unpack("<ii", raw)
            return kind, who
        (pid,) = struct.unpack("<i", raw)
        return (F_OWNER_PGRP, -pid) if pid < 0 else (F_OWNER_PID, pid)

    def turns_async_on(self) -> bool:
        """Whether the call turns O_ASYNC on (fcntl F_SETFL with the bit, ioctl FIOASYNC of
        a nonzero int, as held): for a terminal's file with no owner, the kernel makes the
        foreground group the owner (_terminal_owner)."""
        request = self.args[1] & 0xFFFFFFFF if len(self.args) > 2 else -1
        if self.name == "fcntl" and request == F_SETFL:
            return bool(self.args[2] & O_ASYNC)
        if self.name == "ioctl" and request == FIOASYNC:
            try:
                self.owner()  # (reads and holds the int)
            except DecodeError:
                return False  # (unreadable: refused when it was decided, as the kernel's EFAULT)
            return self.held_strings is not None and self.held_strings.get(2) != bytes(4)
        return False

    def owner_stayed(self) -> bool:
        """With the tree frozen: is the owner O_ASYNC gives (_terminal_owner) still the one
        decided?  It is not the call's to hold: another task sharing the descriptor table may
        have put another file at the number since (dup2: a terminal where a pipe was
        checked), cleared the file's owner, or a thread's TIOCSPGRP made another group the
        terminal's foreground (a register or struct owner is held: it stays)."""
        if not self.turns_async_on():
            return True
        try:
            return self._terminal_owner() == self.owner()
        except DecodeError:  # (which terminal it is can no longer be told: not the same)
            return False

    def _terminal_owner(self) -> tuple[int, int] | None:
        """O_ASYNC turned on (F_SETFL, FIOASYNC) for a terminal's file that has no owner: the
        kernel makes the terminal's foreground process group its owner (tty_fasync), which it
        signals at the next line typed -- another session's job, for a terminal of the
        user's the program opened; systrace's job, with the tracer, for its own.  Else the
        caller (or nothing changes): None.  The terminal is told by its device number, the
        controlling terminal of the processes that have it (/dev/tty: the caller's; /dev/console
        and /dev/tty0: the terminal they stand for: signals.terminal_behind)."""
        fd = _int32(self.args[0])
        try:
            info = os.stat(f"/proc/{self.tid}/fd/{fd}")
        except OSError:
            return None  # no such descriptor: the kernel says EBADF
        if not stat.S_ISCHR(info.st_mode) or self._decoder is None:
            return None
        behind = signals.terminal_behind(info.st_rdev, self.tid)
        if behind is None:
            raise DecodeError(errno.EPERM, f"which terminal {_int32(self.args[0])} is cannot "
                                           "be told (sysfs): its owner is not known",
                              unreadable=False)
        group = signals.foreground_group(behind, self._decoder.traced)
        if group is None or self._decoder.owned(self.tid, self.tgid, fd):
            return None
        return F_OWNER_PGRP, group

    def held(self) -> dict[int, bytes] | None:
        """The strings and structs the decoders read that the kernel reads again (a mount's
        type, source and options, an fsconfig key and value, an owner in memory), read now if
        they were not: what a decision that examined them is held to (enforce._strings)."""
        if self.name in DYNAMIC_ROLE_CALLS:
            self.roles()
        elif self.held_strings is None:
            if self.name in AS_PATHS:
                if AS_PATHS[self.name].where == Where.MQUEUE:  # (syslog holds nothing)
                    with contextlib.suppress(DecodeError):  # (unreadable: nothing is held)
                        self.queue_name()  # (its name alone: no mount table read for it)
                return self.held_strings
            self.owner()
            if self.loop_request():
                self.loop_backing()
            elif self.snapshot_request():
                self.snapshot_source()
            elif self.subvolume_request() or self.destroy_request():
                self.made_name()
        return self.held_strings

    # --- calls of a path call's effect that name no path (syscalls.AS_PATHS) -------------------
    def as_path_files(self) -> tuple[str, ...]:
        """The files a call of ``syscalls.AS_PATHS`` acts on, by the names a path rule gives
        them (red team 89, close 50): the kernel's log files for syslog's reading actions;
        for mq_open and mq_unlink the queue's file NAME on each ``mqueue`` mount of the
        caller's view (/proc/TID/mountinfo: named as its paths are, from its root) and of
        the tracer's (a queue of the IPC namespace is a file of every mount of it: a caller
        in a mount namespace of its own, its mount gone, still reaches the one the tracer's
        view shows) -- a mount of another IPC namespace's too: stricter, never looser.
        Empty where it acts on none: its case does not hold (a syslog action that reads no
        log), no mqueue mount is in view, or the kernel refuses the name (empty, "." or
        "..", or with a "/": EACCES, lookup_noperm).  A DecodeError: the name is unreadable
        (the kernel's errno) or the caller's mounts cannot be read (EPERM: where they are
        cannot be told)."""
        as_path = AS_PATHS.get(self.name)
        if as_path is None or not as_path.when.holds(self.args):
            return ()
        if as_path.where != Where.MQUEUE:
            return KERNEL_LOG_FILES
        name = self.queue_name()
        if name is None:
            return ()
        try:
            with open(f"/proc/{self.tid}/mountinfo", encoding="utf-8",
                      errors="surrogateescape") as info:
                own = parse_mountinfo(info.read())
        except OSError as exc:
            raise DecodeError(errno.EPERM, f"the caller's mounts cannot be read: {exc}",
                              unreadable=False) from exc
        found: list[str] = []
        for entry in [*own, *self.own_mounts().values()]:
            if entry.fstype != "mqueue":
                continue
            if entry.root == "/":
                where = f"{entry.mount_point.rstrip('/')}/{name}"
            elif entry.root == f"/{name}":
                where = entry.mount_point  # (a bind mount of the queue's file alone)
            else:
                continue
            if where not in found:
                found.append(where)
        return tuple(found)

    def queue_name(self) -> str | None:
        """The queue an mq_open or mq_unlink names (argument 0), read as the kernel's getname
        reads it (ENAMETOOLONG at PATH_MAX, EFAULT) and held (``held_strings``: the name
        decided is the one the kernel looks up); None where the kernel's lookup refuses it
        (EACCES: empty, ".", "..", a "/") -- it reaches no file.  Read once."""
        if self._queue is _UNSET:
            try:
                self._queue = self._read_queue_name()
            except DecodeError as exc:
                self._queue = exc
        if isinstance(self._queue, DecodeError):
            raise self._queue
        return self._queue  # type: ignore[return-value]

    def _read_queue_name(self) -> str | None:
        memory = self.memory
        if memory is None:
            raise DecodeError(errno.EPERM, "the queue's name cannot be read")
        pointer = self.args[0]
        raw: bytes = self._guard(lambda: memory.read_cstring(pointer))
        self.held_strings = {**(self.held_strings or {}), 0: raw + b"\0"}
        if raw in (b"", b".", b"..") or b"/" in raw:
            return None
        return raw.decode("utf-8", "surrogateescape")

    # --- a loop device's attach ----------------------------------------------------------------
    def loop_request(self) -> bool:
        """Whether the call is an ioctl whose request attaches a file to a loop device
        (LOOP_SET_FD, LOOP_CHANGE_FD, LOOP_CONFIGURE): it stops, whatever its descriptor."""
        return self.name == "ioctl" and self.args[1] & 0xFFFFFFFF in _LOOP_REQUESTS

    def loop_backing(self) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
        """The names of the file a loop device's attach hands the device (its name; a file
        removed since it was opened, ``PATH (deleted)``, by ``PATH`` too: the rules of the
        name it had decide its bytes -- review 30: a secret opened for writing only, removed,
        then attached, was decided by a name no rule of the secret's matched), the device's
        names
        (the node the call's descriptor was opened by, then the kernel's /dev name of its
        number when that is another: a node made elsewhere by mknod, or a bind mount of one,
        names the same device, which every other process opens at /dev/loopN -- review
        30 --, then every partition's /dev name it may have: a partition reads and writes
        part of the file, and may be made at any time -- loose30, _loop_disk), and
        whether the device will write the file; None when the call attaches nothing -- no
        loop attach, its descriptor neither a loop device nor a partition of one (whose
        ioctls are its disk's), no file the kernel's fget takes at the number (EBADF).  The
        device reads the file whatever the descriptor's access mode (known gap #44):
        decided as an open of it (Supervisor._loop_attach).  It writes it unless it is
        read-only
        (drivers/block/loop.c, loop_configure): the file or the device not open for
        writing, or LO_FLAGS_READ_ONLY in LOOP_CONFIGURE's struct; LOOP_CHANGE_FD only swaps
        the file of a read-only device.  LOOP_CONFIGURE's struct is read as the kernel
        copies it (EFAULT) and held (``held_strings``): its descriptor number is the one
        checked.  Each descriptor is read in one piece (_pinned_state), and what was read is
        what the frozen tree is compared with (loop_stayed).  Read once (a DecodeError again
        each time)."""
        if self._loop is _UNSET:
            try:
                self._loop = self._read_loop()
            except DecodeError as exc:
                self._loop = exc
        if isinstance(self._loop, DecodeError):
            raise self._loop
        return self._loop  # type: ignore[return-value]

    def _read_loop(self) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
        if not self.loop_request():
            return None
        if not self.view.host:
            # (its names would be another root's, read apart from the file they name: not
            # held -- refused, as a call the engine cannot hold)
            raise DecodeError(errno.EPERM, "a loop device's attach in a task that does not "
                                           "see the tracer's tree")
        pinned = self._pinned_state(_int32(self.args[0]))
        device = pinned[0] if pinned is not None else None
        disk = _loop_disk((os.major(device[4]), os.minor(device[4]))) \
            if device is not None and stat.S_ISBLK(device[3]) else None
        if pinned is None or device is None or disk is None:
            self._loop_seen = (device, None)
            return None
        request = self.args[1] & 0xFFFFFFFF
        flags = 0
        if request == LOOP_CONFIGURE:
            memory = self.memory
            if memory is None:
                raise DecodeError(errno.EPERM, "the loop device's configuration cannot be read")
            pointer = self.args[2]
            raw: bytes = self._guard(lambda: memory.read_exact(pointer, LOOP_CONFIG_SIZE))
            self.held_strings = {2: raw}
            fd = struct.unpack_from("<I", raw)[0]
            flags = struct.unpack_from("<I", raw, LOOP_CONFIG_FLAGS)[0]
        else:
            fd = self.args[2] & 0xFFFFFFFF  # (config.fd = arg: a __u32)
        file = self._pinned_state(fd) if fd < 1 << 31 else None
        self._loop_seen = (device, file[0] if file is not None else None)
        if file is None:
            return None  # (no file at the number: the kernel's EBADF)
        writes = (request != LOOP_CHANGE_FD and not flags & LO_FLAGS_READ_ONLY
                  and device[5] & os.O_ACCMODE != os.O_RDONLY
                  and file[0][5] & os.O_ACCMODE != os.O_RDONLY)
        return former_names(file[1]), tuple(dict.fromkeys((pinned[1], *disk))), writes

    def _pinned_state(self, fd: int
                      ) -> tuple[tuple[str, int, int, int, int, int], str] | None:
        """A task's descriptor as :func:`_descriptor_state` tells it, read in one piece:
        the file held by a descriptor of the tracer's own (its name, device and inode the
        held file's: another task of the tree may dup2 another file onto the number
        meanwhile -- gap44's race read a secret's link with a decoy's inode), then its access
        mode, then the number read again: EAGAIN where it holds another file by then.  With
        the file's name, as the resolver names the held file (the tracer's tree)."""
        link = f"/proc/{self.tid}/fd/{fd}"
        try:
            held = os.open(link, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return None  # (none open there: EBADF)
        try:
            info = os.fstat(held)
            own = os.readlink(f"/proc/self/fd/{held}")
            state = _descriptor_state(self.tid, fd)
            assert self._decoder is not None
            name = self._decoder.resolver.descriptor(os.getpid(), held, HOST).path
        except OSError:
            return None
        finally:
            os.close(held)
        if state is None:
            return None
        if (state[1], state[2]) != (info.st_dev, info.st_ino) or state[0] != own:
            raise DecodeError(errno.EAGAIN, "a descriptor changed while it was read")
        return state, name

    def loop_stayed(self) -> bool:
        """With the tree frozen: do the loop device's descriptor and the file's (the number
        checked: a register, or the held struct's) still hold what was decided?  Another
        task sharing the descriptor table may have put another file at either since (dup2:
        the secret where a file the table may read was checked)."""
        if not self.loop_request():
            return True
        if self._loop is _UNSET or isinstance(self._loop, DecodeError) or \
                self._loop_seen is None:
            return False  # (never read, or refused: not what runs)
        device = _descriptor_state(self.tid, _int32(self.args[0]))
        if self._loop is None and self._loop_seen[1] is None:
            return device == self._loop_seen[0]
        if self.held_strings is not None and 2 in self.held_strings:
            fd = struct.unpack_from("<I", self.held_strings[2])[0]
        else:
            fd = self.args[2] & 0xFFFFFFFF
        backing = _descriptor_state(self.tid, fd) if fd < 1 << 31 else None
        return (device, backing) == self._loop_seen

    # --- a btrfs snapshot's source ------------------------------------------------------------
    def snapshot_request(self) -> bool:
        """Whether the call is an ioctl whose request makes a btrfs snapshot
        (BTRFS_IOC_SNAP_CREATE, _V2): a copy of the subvolume whose root's descriptor is in
        its struct."""
        return self.name == "ioctl" and self.args[1] & 0xFFFFFFFF in _SNAPSHOT_REQUESTS

    def snapshot_source(self) -> tuple[str, ...] | None:
        """The names of the subvolume a btrfs snapshot copies -- its root directory, as the
        resolver names the file of the descriptor in the struct (``PATH (deleted)``: by
        ``PATH`` too, former_names) --, () when that cannot be told exactly (not a
        subvolume's root, inode 256: the kernel's EINVAL, or on no btrfs at all: its EXDEV;
        a name that is no path of the tracer's tree), None when nothing is copied (no file
        the kernel's fdget takes at the number: its EINVAL).  Every file below that root in
        the subvolume gets a copy under the new name, readable and runnable with its mode
        and owner, which the kernel makes without reading any of them: the snapshot is
        decided as a read of that tree (Supervisor._snapshot, close 27).  The struct is read
        as the kernel copies it (4096 bytes, EFAULT) and held (``held_strings``): its
        descriptor number is the one checked, and the descriptor, read in one piece
        (_pinned_state), is compared again with the tree frozen (snapshot_stayed: a
        sibling's dup2 of another subvolume's root onto the number).  In a task that does
        not see the tracer's tree: EPERM (its name would be another root's, as a loop
        attach's).  Read once (a DecodeError again each time)."""
        if self._snap is _UNSET:
            try:
                self._snap = self._read_snapshot()
            except DecodeError as exc:
                self._snap = exc
        if isinstance(self._snap, DecodeError):
            raise self._snap
        return self._snap  # type: ignore[return-value]

    def _read_snapshot(self) -> tuple[str, ...] | None:
        if not self.snapshot_request():
            return None
        if not self.view.host:
            raise DecodeError(errno.EPERM, "a btrfs snapshot in a task that does not see the "
                                           "tracer's tree")
        self.made_name()
        assert self.held_strings is not None
        fd = _int32(struct.unpack_from("<Q", self.held_strings[2])[0] & 0xFFFFFFFF)
        source = self._pinned_state(fd) if fd >= 0 else None
        self._snap_seen = source[0] if source is not None else None
        if source is None:
            return None  # (no file at the number: the kernel's EINVAL)
        state, name = source
        if state[2] != BTRFS_FIRST_FREE_OBJECTID or not stat.S_ISDIR(state[3]):
            return ()  # (no subvolume's root: the kernel refuses it, EINVAL or EXDEV)
        names = former_names(name)
        return names if all(n.startswith("/") for n in names) else ()

    def subvolume_request(self) -> bool:
        """Whether the call is an ioctl whose request makes an empty btrfs subvolume
        (BTRFS_IOC_SUBVOL_CREATE, _V2): a directory at the name in its struct."""
        return self.name == "ioctl" and self.args[1] & 0xFFFFFFFF in _SUBVOLUME_REQUESTS

    def destroy_request(self) -> bool:
        """Whether the call is an ioctl whose request deletes a btrfs subvolume
        (BTRFS_IOC_SNAP_DESTROY, _V2): every file in it, by the name in its struct or (_V2)
        by the subvolume's id (removed_by_id)."""
        return self.name == "ioctl" and self.args[1] & 0xFFFFFFFF in _DESTROY_REQUESTS

    def removed_by_id(self) -> bool:
        """Whether a subvolume's deletion names it by its id alone
        (BTRFS_IOC_SNAP_DESTROY_V2, flags exactly BTRFS_SUBVOL_SPEC_BY_ID: any other bit is
        the kernel's EOPNOTSUPP) -- a subvolume anywhere on the file system, which no path
        the tracer can read names (Supervisor._destroy: refused where a rule decides by
        name).  Of the held struct (made_name reads it)."""
        if self.name != "ioctl" or self.args[1] & 0xFFFFFFFF != BTRFS_IOC_SNAP_DESTROY_V2:
            return False
        self.made_name()
        assert self.held_strings is not None
        return struct.unpack_from("<Q", self.held_strings[2], BTRFS_VOL_ARGS_V2_FLAGS)[0] \
            == BTRFS_SUBVOL_SPEC_BY_ID

    def removal_examined(self) -> bool:
        """Whether the decision read a subvolume's deletion's struct: then the call runs
        with the tree frozen (Tracer._must_freeze), the directory's name read again."""
        return self.destroy_request() and self._made is not _UNSET

    def made_name(self) -> str | None:
        """The name a btrfs snapshot or a subvolume's creation makes in the directory of its
        descriptor, or a subvolume's deletion removes there, as its struct gives it (read as
        the kernel copies it, 4096 bytes: EFAULT; held, ``held_strings``: the name decided on
        is the one made) -- None where it makes or removes none (a name with a "/", ".",
        "..", or empty: the kernel's EINVAL, EEXIST, EACCES; a deletion by id, or with
        flags the kernel does not take: EOPNOTSUPP).  Decided as the making of that name and
        (a snapshot's) every path below it (Supervisor._snapshot, _subvolume; close 27), or
        the removal of each (Supervisor._destroy; close 31).  Read once."""
        if self._made is _UNSET:
            try:
                self._made = self._read_made_name()
            except DecodeError as exc:
                self._made = exc
        if isinstance(self._made, DecodeError):
            raise self._made
        return self._made  # type: ignore[return-value]

    def _read_made_name(self) -> str | None:
        if not (self.snapshot_request() or self.subvolume_request()
                or self.destroy_request()):
            return None
        memory = self.memory
        if memory is None:
            raise DecodeError(errno.EPERM, "the btrfs request's struct cannot be read")
        pointer = self.args[2]
        raw: bytes = self._guard(lambda: memory.read_exact(pointer, BTRFS_VOL_ARGS_SIZE))
        self.held_strings = {**(self.held_strings or {}), 2: raw}
        at, most = (BTRFS_VOL_ARGS_V2_NAME, BTRFS_SUBVOL_NAME_MAX) \
            if self.args[1] & 0xFFFFFFFF in _VOL_ARGS_V2 else \
            (BTRFS_VOL_ARGS_NAME, BTRFS_PATH_NAME_MAX)
        if self.args[1] & 0xFFFFFFFF == BTRFS_IOC_SNAP_DESTROY_V2 and \
                struct.unpack_from("<Q", raw, BTRFS_VOL_ARGS_V2_FLAGS)[0]:
            return None  # (by id -- no name: removed_by_id -- or EOPNOTSUPP)
        made = raw[at:at + most].split(b"\0", 1)[0]
        return os.fsdecode(made) if made not in (b"", b".", b"..") and b"/" not in made \
            else None

    def snapshot_stayed(self) -> bool:
        """With the tree frozen: does the descriptor number of a btrfs snapshot's held struct
        still hold what was decided (snapshot_source)?  Another task sharing the descriptor
        table may have put another subvolume's root there since (dup2)."""
        if not self.snapshot_request() or self._snap is _UNSET:
            return True  # (never read: the decision did not look at its source)
        if isinstance(self._snap, DecodeError) or self._snap_seen is _UNSET or \
                self.held_strings is None or 2 not in self.held_strings:
            return False  # (refused: not what runs)
        fd = _int32(struct.unpack_from("<Q", self.held_strings[2])[0] & 0xFFFFFFFF)
        return (_descriptor_state(self.tid, fd) if fd >= 0 else None) == self._snap_seen

    def snapshot_examined(self) -> bool:
        """Whether the decision read a btrfs snapshot's source (snapshot_source): then the
        call runs with the tree frozen (Tracer._must_freeze, snapshot_stayed)."""
        return self.snapshot_request() and self._snap is not _UNSET

    # --- the mount family ----------------------------------------------------------------------
    def _static_roles(self) -> tuple[str, ...]:
        """The roles of a dynamic-role call that are path arguments of its own."""
        name = self.name
        if name == "mount":
            return ("new", "old") if mount_kind(self.args[3]) in SOURCE_IS_PATH else ("new",)
        if name == "move_mount":
            # flags it does not know: the kernel refuses (EINVAL) before any lookup
            return () if self.args[4] & 0xFFFFFFFF & ~MOVE_MOUNT_MASK else ("old", "new")
        return ("path",) if name == "fspick" else ()

    def _dynamic_roles(self) -> tuple[str, ...]:
        if self._dynamic is None:
            self._dynamic = {}
            self._named = {}
            self.held_strings = {}
            if self._decoder is not None and self.memory is not None:
                self._guard(self._read_mount_family)
        return (*self._static_roles(), *self._dynamic, *(self._named or ()))

    def _string(self, index: int, limit: int, null: bool = True) -> str | None:
        """A C string argument the kernel copies (at most ``limit`` bytes with its NUL),
        kept to be held; None for a NULL pointer where ``null`` says the kernel takes one for
        none (mount's copy_mount_string) -- else it is read at address 0, as the kernel's
        strndup_user reads it (fsopen's type: red team 31)."""
        pointer = self.args[index]
        if not pointer and null:
            return None
        assert self.memory is not None and self.held_strings is not None
        # (strndup_user: EFAULT where it cannot read before the NUL, EINVAL with no NUL in
        # ``limit`` bytes -- not ENAMETOOLONG at ``limit - 1``: red team 42)
        raw = self.memory.read_cstring(pointer, limit, errno.EINVAL)
        self.held_strings[index] = raw + b"\0"
        return raw.decode("utf-8", "surrogateescape")

    def _options(self, index: int) -> str | None:
        """mount(2)'s options: the page the kernel copies (up to an unmapped page), up to its
        first NUL."""
        pointer = self.args[index]
        if not pointer:
            return None
        assert self.memory is not None and self.held_strings is not None
        page = self.memory.read(pointer, PAGE_SIZE)
        if not page:
            raise DecodeError(errno.EFAULT, "mount options unreadable")
        self.held_strings[index] = page
        return page[:PAGE_SIZE - 1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    def _read_mount_family(self) -> None:
        assert self._dynamic is not None and self._named is not None
        name, args = self.name, self.args
        if name == "mount":
            assert self.memory is not None
            self._mount_strings_first(self.memory)  # (the kernel's errors of the three)
            if mount_kind(args[3]) != "new":
                return
            fstype = self._string(2, PATH_MAX)
            source = self._string(0, PATH_MAX)
            layers = new_mount_layers(fstype, source, self._options(4))
            if layers is None:
                if _kernel_may_know(fstype):
                    self._dynamic["options"] = None  # options the engine cannot read
                return
            for layer in layers:
                self._dynamic[layer.role] = (layer.path, AT_FDCWD, True)
            if fs_kind(fstype) == FsKind.BLOCK:
                self._mounted_devices([layer.role for layer in layers], fstype)
        elif name == "fsopen":
            # before it reads the type: may_mount() (EPERM), the flags (EINVAL; red team 42)
            if not self._may_mount():
                raise DecodeError(errno.EPERM, "no CAP_SYS_ADMIN for the mount namespace")
            if args[1] & 0xFFFFFFFF & ~FSOPEN_CLOEXEC:
                raise DecodeError(errno.EINVAL, f"fsopen flags {args[1] & 0xFFFFFFFF:#x}")
            fstype = self._string(0, PAGE_SIZE, null=False)
            if fs_kind(fstype) == FsKind.UNKNOWN and _kernel_may_know(fstype):
                self._dynamic["type"] = None  # a context whose options the engine cannot read
        elif name == "fspick":
            decoded = self.decoded_path("path")
            if decoded is not None and decoded.resolved.exists and \
                    fs_kind(self._picked_type(decoded)) == FsKind.UNKNOWN:
                self._dynamic["type"] = None
        elif name == "fsconfig":
            self._read_fsconfig()
        elif name == "move_mount" and self._static_roles():
            self._new_file_system_moved()

    def _read_fsconfig(self) -> None:
        assert self._dynamic is not None
        cmd, args = _int32(self.args[1]), self.args
        if not _fsconfig_shape(cmd, args) or not self._fs_context(_int32(args[0])):
            return  # the kernel refuses it (EINVAL, EBADF...) before it looks anything up
        key = self._string(2, FSCONFIG_STRING_MAX) if args[2] else None
        role = fsconfig_layer(cmd, key)
        if role is None or key is None:
            return
        if cmd == FSCONFIG_SET_STRING:
            value = self._string(3, FSCONFIG_STRING_MAX) or ""
            for layer in layer_roles(fsconfig_paths(cmd, key, value)):
                self._dynamic[layer.role] = (layer.path, AT_FDCWD, True)
        elif cmd in (FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY):
            path = self._string(3, PATH_MAX)
            if not path and cmd == FSCONFIG_SET_PATH:
                raise DecodeError(errno.ENOENT, "empty path")
            self._dynamic[role] = (path or "", _int32(args[4]), True)
        else:
            assert cmd == FSCONFIG_SET_FD
            self._dynamic[role] = ("", _int32(args[4]), True)
        self._mounted_devices(list(self._dynamic))

    def _fs_context(self, fd: int) -> bool:
        """Whether the caller's descriptor is a file system context (fsopen's, fspick's)."""
        try:
            return os.readlink(f"/proc/{self.tid}/fd/{fd}") == "anon_inode:[fscontext]"
        except OSError:
            return False

    def _picked_type(self, decoded: DecodedPath) -> str | None:
        """The file system type of the mount fspick picks (None: it cannot be told)."""
        assert self._decoder is not None
        held = self._object_of(decoded, from_fd=False)
        if held is None:
            return None
        try:
            entry = self._decoder.resolver.mounts(self.view).get(mount_id(held))
        finally:
            os.close(held)
        return entry.fstype if entry is not None else None

    def _new_file_system_moved(self) -> None:
        """move_mount of a file system fsmount made: a block device is looked up when the
        file system is made (fsconfig's CMD_CREATE), not when it is named ("source"), so the
        device it was made on is checked now, before it is shown anywhere: by its /dev name
        ("source") and where else it is mounted."""
        assert self._decoder is not None and self._named is not None
        decoded = self.decoded_path("old")
        held = self._object_of(decoded, from_fd=True) if decoded is not None else None
        if held is None:
            return
        try:
            if self._decoder.resolver.detached(held) != "new":
                return
            device = os.fstat(held).st_dev
            magic = pt.fs_type(held) if os.major(device) == 0 else None
            overlay = magic == OVERLAYFS_SUPER_MAGIC
            image = magic == EROFS_SUPER_MAGIC
        finally:
            os.close(held)
        if overlay:
            # an overlay shows its layers' files here, as a bind its source: compared as a
            # link's old name (model._named_anew) -- but fsconfig named them to a context, not
            # to this mount, and the engine does not follow a context to the mount fsmount
            # makes of it: no name, refused where a rule decides by name (review 27)
            self._named["lowerdir"] = ""
            return
        if image:
            # erofs made on an image in a regular file (no block device: an anonymous device
            # number) shows the image's files here, by names the engine cannot tell: refused
            # where a rule decides by name (review 28)
            self._named["mounted"] = ""
            return
        if os.major(device) == 0:
            return  # no block device (tmpfs...: an anonymous device number)
        numbers = (os.major(device), os.minor(device))
        self._named["source"] = _device_name(numbers)
        for mount_point in self._decoder.mount_points({numbers}, self.own_mounts()):
            count = len(self._named)
            self._named["mounted" if count == 1 else f"mounted:{count}"] = mount_point

    def _mounted_devices(self, roles: list[str], fstype: str | None = None) -> None:
        """A block device already mounted in the tracer's view shows its files there: each
        such mount is exposed too (a role "mounted", "mounted:2"... named by its mount
        point).  A regular file given to mount(2)'s erofs ``fstype`` (its source, a
        ``device`` option) is an image whose bytes are every file the mount shows: a role
        "image", "image:2"... naming that file as the role naming it resolved (the kernel
        opens it during the call, which is held and re-checked as any mount's paths are):
        decided as a read of it and, as a bind of a tree whose every file is it, compared
        with the target (model._named_anew; mounts29)."""
        assert self._named is not None and self._decoder is not None
        devices = set()
        for role in roles:
            decoded = self.decoded_path(role)
            where = self.access_path(role) if decoded is not None else None
            if where is None:
                continue
            image = False
            with contextlib.suppress(OSError):
                info = os.stat(where)
                if stat.S_ISBLK(info.st_mode):
                    devices.add((os.major(info.st_rdev), os.minor(info.st_rdev)))
                image = stat.S_ISREG(info.st_mode)
            if image and self.name == "mount" and fstype == "erofs" and decoded is not None \
                    and decoded.resolved.exists and not decoded.resolved.pseudo:
                # (only erofs reads an image in a regular file -- read-only: any other
                # type fails ENOTBLK, refused below as before --; only mount(2) opens it
                # in the call decided: fsconfig's "source" is opened at CMD_CREATE, by
                # its name then, and at move_mount the file an erofs was made of cannot be
                # told -- refused below and at _new_file_system_moved, mounts29)
                count = sum(1 for named in self._named if named.split(":", 1)[0] == "image")
                self._named["image" if not count else f"image:{count + 1}"] = decoded.resolved
            elif image:
                # a file system image in a regular file (erofs backed by a file, Linux 6.12):
                # its files are shown at the target, by names the engine cannot tell from the
                # image's -- refused where a rule decides by name (review 28: the secret's
                # image mounted on work/outdir was read there)
                count = len(self._named) + 1
                self._named["mounted" if count == 1 else f"mounted:{count}"] = ""
        for mount_point in (self._decoder.mount_points(devices, self.own_mounts())
                            if devices else ()):
            count = len(self._named) + 1
            self._named["mounted" if count == 1 else f"mounted:{count}"] = mount_point

    def _resolve_dynamic(self, decoder: Decoder, role: str) -> DecodedPath:
        assert self._dynamic is not None and self._named is not None
        if role in self._named:
            name = self._named[role]
            if isinstance(name, Resolved):  # (a file another role named: an image)
                return DecodedPath(None, "", name, False, True, role)
            return DecodedPath(None, "", Resolved(name, pseudo=not name), False, True, role)
        entry = self._dynamic[role]
        if entry is None:
            # what the value names cannot be told: nothing a rule could match ("")
            return DecodedPath(None, "", Resolved("", exists=False, pseudo=True), False, True,
                               role)
        raw, dirfd, follow = entry
        if raw == "":
            if dirfd == AT_FDCWD:
                raise DecodeError(errno.ENOENT, "empty path")
            decoded = decoder.fd_path(self.tid, dirfd, view=self.view)
            decoded.exposed, decoded.named = True, role
            return decoded
        resolved = decoder.resolve(self, raw, dirfd, follow)
        return DecodedPath(None, raw, resolved, False, True, role)

    def _exposed_mount(self, decoded: DecodedPath) -> bool:
        """Whether an exposing path really exposes (its table rule holds).  A source always
        does -- but move_mount's when it is a detached mount a decided call made (decided
        then).  A target is covered, with all below it, for others too only where they see
        it: in the tracer's own namespace, or under a shared mount (propagated to its
        peers); in a namespace of the tree's own, covering a file hides it from the tree
        alone, and what shows there instead is decided as its own source."""
        assert decoded.spec is not None and self._decoder is not None
        role, name = decoded.spec.role, self.name
        if name == "open_tree" or name == "open_tree_attr" or (
                role == "old" and name == "mount"):
            return True
        if name == "mount" and mount_kind(self.args[3]) not in ("bind", "move", "new"):
            return False  # a remount, a propagation change: nothing is covered
        held = self._object_of(decoded, from_fd=role == "old")
        if held is None:
            return True  # cannot tell: decided as if it did
        try:
            if role == "old":  # move_mount's source
                made = self._decoder.resolver.detached_from(held)
                if made is None:
                    return True
                if made[0] == "tree":
                    # (a copy of a tree, decided where it was copied: moved into place, it
                    # gives that file the target's name -- compared as a link's by its own
                    # name, model._named_anew; a name no longer the copy's file: not named,
                    # refused as unsafe where a rule could care.  Red team 49.)
                    decoded.resolved = self._tree_source(held, made[1])
                    return True
                return False
            resolved = decoded.resolved  # (a task seeing the tracer's tree: its names)
            local = resolved.path if self.view.host else resolved.local
            beneath = name == "move_mount" and bool(self.args[4] & MOVE_MOUNT_BENEATH)
            return self._seen_by_others(held, local, umount=name == "umount2",
                                        beneath=beneath)
        finally:
            os.close(held)

    def _tree_source(self, held: int, source: Resolved | None) -> Resolved:
        """What a detached copy of a tree (the tracer's descriptor ``held`` on its root) was
        copied from, resolved, when that name still holds the copy's root; else no name
        ("")."""
        where = _access(self.tid, self.view, source) if source is not None else None
        try:
            info = os.fstat(held)
            now = os.stat(where, follow_symlinks=False) if where is not None else None
        except (OSError, ValueError):
            now = None
        if source is None or now is None or \
                (info.st_dev, info.st_ino) != (now.st_dev, now.st_ino):
            return Resolved("", exists=False, pseudo=True)
        return source

    def _object_of(self, decoded: DecodedPath, from_fd: bool) -> int | None:
        """A descriptor of the tracer's on the file of a resolved path (move_mount's source
        may be its descriptor itself)."""
        flags = os.O_PATH | os.O_CLOEXEC  # (a magic link is followed: to what it stands for)
        if from_fd and decoded.raw == "" and self.args[4] & MOVE_MOUNT_F_EMPTY_PATH:
            link: str | None = f"/proc/{self.tid}/fd/{_int32(self.args[0])}"
        else:
            link = _access(self.tid, self.view, decoded.resolved)
            flags |= os.O_NOFOLLOW  # the resolved file itself
        if link is None:
            return None
        try:
            return os.open(link, flags)
        except OSError:
            return None

    def _seen_by_others(self, held: int, local: str | None, umount: bool,
                        beneath: bool = False) -> bool:
        """Whether a mount on (umount: of) the file ``held`` -- at ``local`` in the task's
        view -- changes what processes outside the tree may see: the call is in the
        tracer's namespace, or the mount it is on (or its parent, for an unmount) is shared
        -- or the engine cannot tell.  A move beneath the top mount (MOVE_MOUNT_BENEATH)
        attaches to the top's parent and propagates by the parent's peer group: the
        parent's counts too (overlay30: beneath a private top on a shared parent, a copy
        was tucked under the tracer's own mount there, shown once it was unmounted)."""
        assert self._decoder is not None
        resolver = self._decoder.resolver
        if self.view.namespace in ("", resolver.own_namespace):
            return True
        mounts = resolver.mounts(self.view)
        entry = mounts.get(mount_id(held))
        if entry is None or local is None:
            return True
        reader = resolver.namespaces.get(self.view.namespace)
        if reader is None or not _same_root(self.tid, reader.task):
            return True  # (the table's paths are another root's: cannot tell, review 26)
        entry = _top_of_stack(mounts, entry, local)
        parent = mounts.get(entry.parent_id)
        return entry.shared or ((umount or beneath) and (parent is None or parent.shared))

    def _resolve(self, decoder: Decoder, spec: PathSpec) -> DecodedPath:
        args = self.args
        dirfd = _int32(args[spec.dirfd_arg]) if spec.dirfd_arg is not None else AT_FDCWD
        raw = self._raw(spec)
        if raw is None:  # utimensat(fd, NULL, ...): the descriptor itself
            return decoder.fd_path(self.tid, dirfd, spec, self.view)
        if raw == "":
            if self._empty_means_fd(spec):
                return decoder.fd_path(self.tid, dirfd, spec, self.view)
            if self.name in _FIRST_LOOKED_UP and spec is not PATH_ARGS[self.name][0]:
                # (link's old name is looked up first, rename's old parent)
                first_error = self._first_error()
                if first_error is not None:
                    raise first_error
            # names nothing: the kernel answers ENOENT, and so do we, whatever the policy
            raise DecodeError(errno.ENOENT, "empty path")
        # openat2's rule reads the flags of its struct open_how (decoded from memory)
        follow = spec.follows(args, self.open_flags if spec.follow == OPEN_HOW else None)
        lookup = raw.rstrip("/")
        trailing = lookup != raw and lookup != ""
        literal = trailing and not follow and self._on_last_name(spec)
        # (literal: the kernel looks the parent up, then the last name itself -- filename_
        # parentat, lookup_one --, and a trailing slash makes it follow no symlink there:
        # mkdir("link/") is EEXIST, unlink ENOTDIR, whatever the link points at or fails on)
        flags = self.open_flags if self.name in OPEN_CALLS else None
        creates_dir = trailing and flags is not None and flags & O_CREAT != 0 \
            and not flags & os.O_PATH and lookup.rsplit("/", 1)[-1] not in (".", "..")
        # (creates_dir: an open that creates, of a name with a trailing slash, is EISDIR once
        # the parent is found -- open_last_lookups --, the last name not looked at)
        if creates_dir:
            follow = False
        elif not literal:
            lookup = raw
        # an open that creates its last name and follows it: a link there whose text ends in
        # "/" ends the lookup at that text's last name, not looked up (PathResolver.resolve)
        creates = follow and flags is not None and flags & O_CREAT != 0 \
            and not flags & os.O_PATH
        cached = self.lookup_restrictions & RESOLVE_CACHED
        if cached:
            start = self._start_error(raw, dirfd)
            if start is not None:
                raise start
        try:
            resolved = decoder.resolve(self, lookup, dirfd, follow, creates)
        except DecodeError:
            self.failed_lookups = (*self.failed_lookups, (lookup, dirfd, follow, creates))
            if cached:
                raise DecodeError(errno.EAGAIN, "RESOLVE_CACHED: the lookup needs more than "
                                  "the cache") from None
            specs = PATH_ARGS[self.name]
            if self.name in _FIRST_LOOKED_UP and spec is not specs[0]:
                # the kernel fails on the first path's lookup before it looks this one up
                # (rename's old parent, link's old name): that error is the call's
                first_error = self._first_error()
                if first_error is not None:
                    raise first_error from None
            if self.name == "mount" and spec is specs[0]:
                # do_mount looks the target up (user_path_at) before path_mount looks at the
                # source (do_loopback, do_move_mount_old): the target's error is the call's
                # (red team 72: a bind of a source failing ENOTDIR onto a missing target
                # was ENOTDIR, natively ENOENT)
                target_error = self._first_error(specs[1])
                if target_error is not None:
                    raise target_error from None
            if self.name in _PARENT_FIRST and spec is specs[0]:
                # the kernel reads the later string before it looks past the parent (and
                # link, pivot_root, move_mount look the earlier path up whole first: its
                # error stands)
                for later in specs[1:]:
                    text = self._raw(later)  # (a bad string: its error, the parent found)
                    if text == "" and not self._empty_means_fd(later) \
                            and self._parent_error(spec) is None:
                        raise DecodeError(errno.ENOENT, "empty path") from None
            raise
        if cached and not resolved.exists:
            # (a missing name: the kernel's cached lookup ENOENT or, uncached, EAGAIN)
            self.failed_lookups = (*self.failed_lookups, (lookup, dirfd, follow, creates))
            raise DecodeError(errno.EAGAIN, "RESOLVE_CACHED: the lookup needs more than the "
                              "cache")
        if creates_dir:  # (a failed lookup: a rule refusing what the walk passed answers)
            self.failed_lookups = (*self.failed_lookups, (lookup, dirfd, follow, creates))
            if resolved.unreachable:
                raise DecodeError(errno.ENOENT, "no parent directory")
            # (the resolver takes one unfollowed name as found whatever its dirfd is)
            raise self._parent_error(spec) or DecodeError(
                errno.EISDIR, "O_CREAT of a name with a trailing slash")
        if literal:
            resolved.slash = resolved.literal_last = True  # (the call's own spelling runs)
        return DecodedPath(spec, raw, resolved, rewritable=not resolved.pseudo)

    @property
    def sockaddrs(self) -> list[SockAddr]:
        """The addresses the call connects, sends or binds to, as the kernel will use them
        (engine/destinations.py): for the socket it acts on, none when it names none of its
        own.  A socket whose destinations the engine cannot see refuses the call (EPERM)."""
        if self._sockaddrs is None:
            self._sockaddrs = self._guard(self._read_sockaddrs) if self._decoder else []
        return self._sockaddrs

    def _read_sockaddrs(self) -> list[SockAddr]:
        """The socket addresses, read as the kernel reads them (move_addr_to_kernel,
        __copy_msghdr): what it would refuse is a DecodeError with its errno; then decoded for
        the socket at the call's descriptor."""
        memory, args, name = self.memory, self.args, self.name
        assert memory is not None
        if name in SOCKADDR_ARGS or name in ("sendmsg", "sendmmsg"):
            self._socket_first()
        flags = args[_SEND_FLAGS_ARG[name]] if name in _SEND_FLAGS_ARG else 0
        named: list[tuple[bytes | None, int, bytes]] = []  # (address, flags, control)
        if name in SOCKADDR_ARGS:
            ptr_arg, len_arg = SOCKADDR_ARGS[name]
            pointer, length = args[ptr_arg], _int32(args[len_arg])
            if not pointer and name == "sendto":
                return []  # no address: the socket's peer, which its connect was checked for
            if not 0 <= length <= SOCKADDR_MAX:
                raise DecodeError(errno.EINVAL, f"socket address length {length}")
            self.sockaddr_raw = memory.read_exact(pointer, length) if length else b""
            named.append((self.sockaddr_raw, flags, b""))
        elif name == "sendmsg":
            if self.msghdr_raw is None:
                self.msghdr_raw = memory.read_exact(args[1], MSGHDR_SIZE)
            raw = self._message_name(memory, self.msghdr_raw)
            if raw is None:
                return []
            self.sockaddr_raw = raw
            self.control_messages()  # (an unspecified destination may take its source there)
            named.append((raw, flags, self.control_raw or b""))
        elif name == "sendmmsg":
            for header, control in self._messages(memory):
                raw = self._message_name(memory, header)
                if raw is not None:
                    named.append((raw, flags, control))
        return self._decode_addresses(named)

    def _decode_addresses(self, named: list[tuple[bytes | None, int, bytes]]) -> list[SockAddr]:
        """Each address as the socket at the call's descriptor reads it."""
        decoder = self._decoder
        assert decoder is not None
        if not named:
            return []
        call = destinations.CALL_OF[self.name]
        found: list[tuple[Destination, bytes | None, int, bytes]] = []
        sock = decoder.socket_of(self.tid, self.tgid, _int32(self.args[SOCKET_ARG[self.name]]))
        try:
            for raw, flags, control in named:
                where = destinations.NOTHING if sock is None else destinations.destination(
                    sock, call, raw, flags=flags, control=control)
                if where.unseen and not decoder.ip_destinations_decided:
                    where = destinations.NOTHING
                elif where.unseen:
                    raise DecodeError(errno.EPERM, f"{where.why}: a rule looks at where it "
                                                   f"goes; one naming {self.name} lifts this",
                                      unreadable=False)
                found.append((where, raw, flags, control))
        finally:
            if sock is not None:
                sock.close()
        self._destinations = found
        out = []
        for where, _, _, _ in found:
            address = where.address
            if address is None:
                continue
            if where.unix_path:
                assert address.path is not None
                raw_path, end = address.path, ""
                try:
                    resolved = decoder.resolve(self, raw_path, AT_FDCWD, True)
                    end = resolved.path
                    if resolved.unnamed:
                        self.unnamed_addresses = self.unnamed_addresses | {end}
                    if not resolved.exists or resolved.unreachable:
                        self.missing_addresses = self.missing_addresses | {end}
                finally:
                    if (raw_path, end) not in self.address_lookups:
                        self.address_lookups = (*self.address_lookups, (raw_path, end))
                address = SockAddr("unix", path=end)
            elif decoder.names is not None:
                address = decoder.names(address)  # the names the run resolved to it
            if where.connects:
                self.connecting = (*self.connecting, address)
            out.append(address)
        return out

    def connects(self) -> tuple[SockAddr, ...]:
        """The addresses this send connects its socket to before it sends: MSG_FASTOPEN in
        its flags on a TCP socket (tcp_sendmsg_fastopen), a connect the kernel makes for
        it, which is decided as one too (Supervisor._decide; review 71: the catch-all
        ``never connect`` let a stream open by sendto).  Reads the addresses only when the
        flags argument has MSG_FASTOPEN -- what the prefilter stops such sends by
        (filterplan._stop_connecting_sends); () for every other call."""
        index = _SEND_FLAGS_ARG.get(self.name)
        if index is None or not self.args[index] & MSG_FASTOPEN:
            return ()
        _ = self.sockaddrs  # (decodes them, and self.connecting with them)
        return self.connecting

    @property
    def socket_dependent(self) -> bool:
        """Whether another task of the tree could make this call go elsewhere than where it
        was decided to go, by changing its socket (a bind, IPV6_V6ONLY, another socket at
        the descriptor): then it runs with the others stopped (Tracer._must_freeze)."""
        return any(destinations.socket_dependent(where, destinations.CALL_OF[self.name], raw,
                                                 flags, control)
                   for where, raw, flags, control in self._destinations or ())

    @staticmethod
    def _message_name(memory: TraceeMemory, header: bytes) -> bytes | None:
        """The address a msghdr names (None: none), as __copy_msghdr reads it: no name or no
        length is none, a negative length is EINVAL, one beyond a sockaddr_storage is cut."""
        pointer, length = struct.unpack_from("<Qi", header)
        if not pointer:
            return None
        if length < 0:
            raise DecodeError(errno.EINVAL, f"message name length {length}")
        if length == 0:
            return None
        return memory.read_exact(pointer, min(length, SOCKADDR_MAX))

    def _messages(self, memory: TraceeMemory) -> tuple[tuple[bytes, bytes], ...]:
        """sendmmsg's messages, each (its msghdr, its control data), up to the first the
        kernel could not read (its name or its control data): it sends the messages before
        that one and stops there (returning how many it sent), so what lies beyond is never
        used.  The first one unreadable fails the call."""
        if self.messages_raw is not None:
            return self.messages_raw
        count = min(self.args[2] & 0xFFFFFFFF, UIO_MAXIOV)
        out: list[tuple[bytes, bytes]] = []
        if count:
            # EFAULT: not even the first
            block = self._guard(lambda: memory.read(self.args[1], MMSGHDR_SIZE * count))
            budget = CONTROL_READ_MAX
            for i in range(count):
                at = MMSGHDR_SIZE * i
                if i and len(block) >= at + MSGHDR_SIZE and \
                        _over_msg_len(self.args[1], i, block[at:at + MSGHDR_SIZE]):
                    raise DecodeError(errno.EPERM, f"message {i}'s name or control data lies "
                                                   f"over an earlier message's msg_len, which "
                                                   f"the kernel writes before reading it",
                                      unreadable=False)
                try:
                    if len(block) < at + MSGHDR_SIZE:
                        raise DecodeError(errno.EFAULT, f"message {i} unreadable")
                    header = block[at:at + MSGHDR_SIZE]
                    self._guard(functools.partial(self._message_name, memory, header))
                    try:
                        control = self._control_of(memory, header, budget)
                    except DecodeError as exc:
                        # its name and data come first (as for a sendmsg)
                        raise self._error_before_control(memory, header) or exc from None
                except DecodeError:
                    if i == 0:
                        raise
                    break
                budget -= len(control)
                out.append((header, control))
        self.messages_raw = tuple(out)
        return self.messages_raw

    def exec_image(self, elf: bool = True, admit: Admit | None = None) -> ExecImage | None:
        """For an exec: the interpreters the kernel will run for the file, and the binary that
        ends up running (None when the file could not be resolved).  Without ``elf``, only the
        #! chain (what /proc/PID/exe will name).  ``admit``: which interpreters the tracer may
        read in turn (exec_image.exec_image).

        The files are read once a stop: a reading with ``elf`` keeps its image and its chain
        alone (exec_image.exec_images) -- so the exec noted for the check at its event
        (Tracer._note_exec) is the very reading its decision looked at.  An image ``admit``
        cut short is not kept (another caller may read on); one it admitted whole is the
        image read without it."""
        if self.name not in ARGV_ARG:
            return None
        kept: object = getattr(self, "_image" if elf else "_script_image", _UNSET)
        if kept is None or isinstance(kept, ExecImage):
            return kept
        decoded = self.decoded_path("path")
        opened = None if decoded is None else _access(self.tid, self.view, decoded.resolved)
        image = alone = None
        if decoded is not None and opened is not None:  # (None for a pseudo file too)
            if admit is None:
                image, alone = self._images_of(decoded.resolved.path, elf, opened)
            else:
                refused: list[str] = []

                def admitting(name: str) -> bool:
                    if admit(name):
                        return True
                    refused.append(name)
                    return False

                image, alone = self._images_of(decoded.resolved.path, elf, opened, admitting)
                if refused:
                    return image  # (cut short: not kept)
        if elf:
            self._image = image
        self._script_image = alone
        return image

    def checked_loader(self) -> tuple[int, int] | None:
        """For an exec whose image was read with its ELF interpreter (its decision checked
        the interpreters: Supervisor._interpreters): the identity of the file the new image
        must start in (ExecImage.loader: the interpreter's file it checked, or the binary
        itself when it read none); None when nothing was read -- nothing read here, an exec
        whose decision read no image costs nothing more."""
        kept = getattr(self, "_image", None)
        return kept.loader if isinstance(kept, ExecImage) else None

    def image_of(self, path: str, elf: bool = True, opened: str = "",
                 admit: Admit | None = None) -> ExecImage | None:
        """What the kernel runs to exec ``path`` for this call's task (see :meth:`exec_image`;
        ``opened``: where the tracer opens it, when not at ``path``), its interpreters' names
        resolved as the task would open them.  An interpreter no rule could name (outside
        every name the tracer's view has) refuses the exec."""
        return self._images_of(path, elf, opened, admit)[0]

    def _images_of(self, path: str, elf: bool = True, opened: str = "",
                   admit: Admit | None = None) -> tuple[ExecImage | None, ExecImage | None]:
        """:meth:`image_of`, and the same reading's #! chain alone (exec_image.exec_images)."""
        decoder = self._decoder
        if decoder is None:
            return None, None

        def reach(name: str) -> tuple[str, str] | None:
            try:
                found = decoder.resolve(self, name, AT_FDCWD, True)
            except DecodeError:
                return None  # a name the kernel cannot open either: nothing runs
            if found.unnamed:
                raise DecodeError(errno.EACCES, f"{found.path}: an interpreter no rule could "
                                                "name")
            where = _access(self.tid, self.view, found)
            return (found.path, where) if where is not None else None

        return exec_images(path, reach, elf, opened, admit)

    def loads_in_own_view(self) -> bool:
        """For an exec: whether the kernel, and the loader after it, would load files for it
        by names that may mean other files than in the tracer's view.  The interpreters (a
        #! chain, PT_INTERP) are looked up in the task's root and mount namespace, and the
        dynamic loader reads its own files there (/etc/ld.so.preload, ld.so.cache, the
        libraries): a tree that chroots beside a program, or binds its own /etc or loader
        over the system's, has its code run at the program's start (red team 24).  False
        for a task in the tracer's view, for a static program (no interpreter), and for a
        task whose root is the tracer's in a namespace that shows the very mounts the
        tracer's does (a copy nothing was mounted in since: :func:`_same_tree`)."""
        if self.view.host:
            return False
        image = self.exec_image()
        if image is not None and not image.unread and not image.interpreters:
            return False
        return not _same_tree(self.tid)

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

    @property
    def lookup_restrictions(self) -> int:
        """openat2's RESOLVE_* flags (its open_how read), which its path's lookup obeys; 0
        for every other call."""
        return (self.open_resolve or 0) if self.name == "openat2" else 0

    def passed_through(self, p: DecodedPath | None) -> list[tuple[str, str]]:
        """What the lookup of an examined path looks at on its way and does not end on
        (PathResolver.passed_through), when it can differ from the ancestors of where it
        ends: only a spelling with ".." or one that follows a symlink.  None: the lookups
        that failed (failed_lookups), whose every step counts (they end nowhere)."""
        decoder = self._decoder
        if decoder is None:
            return []
        if p is None:
            return [seen for raw, dirfd, follow, creates in self.failed_lookups
                    for seen in decoder.resolver.passed_through(self.tid, raw, dirfd, follow,
                                                                self.view,
                                                                self.lookup_restrictions,
                                                                creates)]
        if p.spec is None or not p.raw or p.resolved.pseudo or (
                p.resolved.direct and ".." not in p.raw.split("/")):
            return []
        spec = p.spec
        dirfd = AT_FDCWD if spec.dirfd_arg is None else _int32(self.args[spec.dirfd_arg])
        follow = spec.follows(self.args, self.open_flags if spec.follow == OPEN_HOW else None)
        raw = p.raw
        if raw.endswith("/") and raw.rstrip("/"):
            # a trailing slash: the kernel follows the last name (lstat("link/"), O_NOFOLLOW
            # "link/"), but for a call on the last name itself, which looks no further
            if p.resolved.literal_last and self._on_last_name(spec):
                raw = raw.rstrip("/")
            else:
                follow = True
        end = p.resolved.path
        return [(name, kind) for name, kind in decoder.resolver.passed_through(
                    self.tid, raw, dirfd, follow, self.view, self.lookup_restrictions)
                if end != name and not end.startswith(name.rstrip("/") + "/")]

    def address_passed_through(self) -> list[tuple[str, str]]:
        """What the lookups of the call's unix socket paths look at on their way and do not
        end on (:meth:`passed_through`'s, for an address; every step of one that fails):
        the kernel looks such a path up as a path argument's -- connect, sendto and sendmsg
        follow its last name, bind makes it.  The addresses are read here if no rule needed
        them; what the kernel would refuse in them is its to answer."""
        decoder = self._decoder
        if decoder is None or self.name not in SOCKET_ARG:
            return []
        with contextlib.suppress(DecodeError):  # (a failed unix path's lookup is in
            _ = self.sockaddrs                    # address_lookups, ending nowhere)
        follow = self.name != "bind"
        return [(name, kind) for raw, end in self.address_lookups
                for name, kind in decoder.resolver.passed_through(self.tid, raw, AT_FDCWD,
                                                                  follow, self.view)
                if not end or (end != name and not end.startswith(name.rstrip("/") + "/"))]

    def examined_paths(self) -> list[DecodedPath]:
        """The path arguments something looked at: the ones the call must be held to."""
        return list(self._paths.values()) if self._paths else []

    @property
    def examined_argv(self) -> tuple[str, ...] | None:
        return None if self._argv is _UNSET else self._argv  # type: ignore[return-value]

    @property
    def examined_envp(self) -> tuple[str, ...] | None:
        return None if self._envp is _UNSET else self._envp  # type: ignore[return-value]

    @property
    def examined_sockaddr(self) -> bool:
        return self.sockaddr_raw is not None

    def message_spans(self) -> list[tuple[int, int]]:
        """Where a sendmmsg's examined messages lie in the task's memory, each (address,
        length): the mmsghdr array (as far as the messages read), each name and each control
        buffer -- what the kernel reads again, message by message, during the call."""
        messages = self.messages_raw or ()
        spans = [(self.args[1], MMSGHDR_SIZE * max(len(messages), 1))]
        for header, _control in messages:
            spans.extend(header_spans(header))
        return spans

    @property
    def examined_messages(self) -> bool:
        """Whether a sendmsg's or sendmmsg's headers were read (their addresses, their
        control data): another task could rewrite them after the check."""
        return self.msghdr_raw is not None or self.messages_raw is not None

    def control_messages(self) -> list[tuple[int, int]]:
        """The (level, type) of each control message of a sendmsg, or of every message of a
        sendmmsg that the kernel would send (read on demand)."""
        memory = self.memory
        if memory is None:
            return []
        if self.name in ("sendmsg", "sendmmsg"):
            self._socket_first()
        if self.name == "sendmmsg":
            return [kind for _, control in self._messages(memory)
                    for kind in _control_kinds(control)]
        if self.name != "sendmsg":
            return []
        if self.msghdr_raw is None:
            self.msghdr_raw = self._guard(lambda: memory.read_exact(self.args[1], MSGHDR_SIZE))
        header = self.msghdr_raw
        if self.control_raw is None:
            try:
                self.control_raw = self._control_of(memory, header)
            except DecodeError as exc:
                # the kernel looks at the name and the data first: their errors come first
                raise self._error_before_control(memory, header) or exc from None
        return _control_kinds(self.control_raw)

    def _control_of(self, memory: TraceeMemory, header: bytes,
                    budget: int = CONTROL_READ_MAX) -> bytes:
        """A message's control data as ____sys_sendmsg copies it: all of it (EFAULT), if it
        may allocate that much (ENOBUFS)."""
        pointer, length = struct.unpack_from("<QQ", header, 32)
        if not length:
            return b""
        if length > CONTROL_MAX:
            # sock_kmalloc: less than net.core.optmem_max with what the socket holds already
            # (a fresh one holds nothing; with more, the kernel refuses sooner than this)
            if length >= _optmem_max():
                raise DecodeError(errno.ENOBUFS, f"control data of {length} bytes")
            if length > budget:  # (a limit raised far beyond its default)
                raise DecodeError(errno.ENOBUFS, f"control data of {length} bytes: more "
                                                 f"than the tracer examines")
        data: bytes = self._guard(lambda: memory.read_exact(pointer, length))
        return data

    def _error_before_control(self, memory: TraceeMemory, header: bytes) -> DecodeError | None:
        """What a sendmsg fails with before the kernel copies its control data, if anything:
        its name (__copy_msghdr), too many iovecs (EMSGSIZE), the iovec array (import_iovec:
        unreadable, a negative length, a range beyond user memory)."""
        try:
            self._message_name(memory, header)
            iov, count = struct.unpack_from("<QQ", header, 16)
            if count > UIO_MAXIOV:
                return DecodeError(errno.EMSGSIZE, f"{count} iovecs")
            if count and iov + 16 * count > user_space_end():  # (none: nothing read)
                return DecodeError(errno.EFAULT, "the iovec array lies beyond user memory")
            # iovec_from_user reads the array in order and stops at the first negative
            # length (EINVAL) -- before an unreadable entry further on (EFAULT; red team 42)
            data = memory.read(iov, 16 * count) if count else b""
        except DecodeError as exc:
            return exc
        except TraceeMemoryError as exc:
            return DecodeError(exc.errno or errno.EFAULT, str(exc))
        vectors = list(struct.iter_unpack("<QQ", data[:len(data) // 16 * 16]))
        for _, length in vectors:
            if length >= 1 << 63:
                return DecodeError(errno.EINVAL, "negative iovec length")
        if len(vectors) < count:
            return DecodeError(errno.EFAULT, "the iovec array runs into unreadable memory")
        total = 0
        for base, length in vectors:
            length = min(length, MAX_RW_COUNT - total)
            if base + length > user_space_end():
                return DecodeError(errno.EFAULT, f"iovec at {base:#x} beyond user memory")
            total += length
        return None

    def examined_sockaddrs(self) -> list[SockAddr]:
        """The socket addresses something looked at (none if nobody asked)."""
        return self._sockaddrs or []

    @property
    def asked_addresses(self) -> bool:
        """Whether something looked at where the call goes (it may have found nowhere)."""
        return self._sockaddrs is not None

    def all_facts(self) -> list[Facts]:
        """One set of facts per socket address (sendmmsg may carry several): ``[self]`` for
        every other call, without reading anything."""
        if self.name not in MANY_ADDRESS_CALLS:
            return [self]
        addrs = self.sockaddrs
        if len(addrs) <= 1:
            return [self]
        return [CallFacts(self.policy_name, (), self.open_flags, addr, None,
                          selector=self.selector) for addr in addrs]

    def facts(self) -> CallFacts:
        """The facts as plain data (this examines everything)."""
        return CallFacts(
            syscall=self.policy_name,
            paths=tuple(PathArg(p.role, self.shown(p.resolved.path)) for p in self.paths),
            open_flags=self.open_flags,
            sockaddr=self.sockaddr,
            argv=self.argv,
            selector=self.selector,
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
                named = sorted({name for a in addrs for name in a.names})
                if named:
                    out["host"] = named[0] if len(named) == 1 else named
            if self.argv is not None:
                out["argv"] = list(self.argv)
            if self.name in FD_ARGS:
                out["fd"] = _int32(self.args[FD_ARGS[self.name]])
        except DecodeError as exc:
            out["error"] = str(exc)
        return out

    def logged(self) -> LoggedCall:
        """The facts decided on, typed, for the log's ``"call"`` (what :meth:`describe`
        says for a person); as much as could be decoded."""
        paths: list[PathArg] = []
        flags = argv = None
        addrs: tuple[SockAddr, ...] = ()
        tree = False
        try:
            paths = [PathArg(p.role, self.shown(p.resolved.path)) for p in self.paths]
            flags = self.open_flags
            addrs = tuple(self.sockaddrs)
            argv = self.argv
            # (a signal inside the tree: learned from the log, no grant of its own; asked
            # without keeping a yes -- the decision's own asking decides what is frozen)
            if self.name in aliases.SIGNAL_CALLS:
                kept = self.examined_targets
                tree = self.in_tree()
                self.examined_targets = kept
        except DecodeError:
            pass
        return LoggedCall(tuple(paths), flags, addrs, argv, tree, self.again)


_LOOP_REQUESTS = frozenset(request for request, _ in LOOP_ATTACH_IOCTLS)
_SNAPSHOT_REQUESTS = frozenset(request for request, _ in BTRFS_SNAPSHOT_IOCTLS)
_SUBVOLUME_REQUESTS = frozenset(request for request, _ in BTRFS_SUBVOLUME_IOCTLS)
_DESTROY_REQUESTS = frozenset(request for request, _ in BTRFS_DESTROY_IOCTLS)
#: the requests whose struct is btrfs_ioctl_vol_args_v2 (the name at 56), not _vol_args (at 8)
_VOL_ARGS_V2 = frozenset((BTRFS_IOC_SNAP_CREATE_V2, BTRFS_IOC_SUBVOL_CREATE_V2,
                          BTRFS_IOC_SNAP_DESTROY_V2))


def former_names(name: str) -> tuple[str, ...]:
    """A descriptor's file named as the resolver names it, and, when /proc shows it removed
    (``PATH (deleted)``), by ``PATH`` too -- not a memfd's ``/memfd:NAME (deleted)``, which
    never had a name of the tree's.  (A live file whose name merely ends so is decided by
    the shorter name as well: stricter, never looser.)"""
    if name.startswith("/") and name.endswith(DELETED) and not name.startswith("/memfd:"):
        return name, name[:-len(DELETED)]
    return (name,)


def _descriptor_state(tid: int, fd: int) -> tuple[str, int, int, int, int, int] | None:
    """What a task's descriptor holds, as a loop device's attach takes it: (its /proc link,
    the file's device, inode, mode and device number, the descriptor's access mode and
    O_PATH); None when none is open there or it is an O_PATH one (fget does not take it)."""
    try:
        link = os.readlink(f"/proc/{tid}/fd/{fd}")
        info = os.stat(f"/proc/{tid}/fd/{fd}")
        # (an fdinfo text has status's "key:\tvalue" lines)
        value = procfs.status_value(procfs.read(f"/proc/{tid}/fdinfo/{fd}"), b"flags")
        flags = int(value, 8) if value is not None else 0
    except (OSError, ValueError):
        return None
    if flags & os.O_PATH:
        return None
    return (link, info.st_dev, info.st_ino, info.st_mode, info.st_rdev,
            flags & (os.O_ACCMODE | os.O_PATH))


def open_flags_text(flags: int) -> str:
    """O_RDONLY|O_CLOEXEC style text for open flags."""
    acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[flags & O_ACCMODE]
    names = [acc]
    for bit, name in OPEN_FLAG_NAMES:
        if flags & bit == bit and not (bit == O_DSYNC and flags & O_SYNC_BIT):
            names.append(name)
    return "|".join(names)


def _fsconfig_shape(cmd: int, args: _Args) -> bool:
    """Whether fsconfig's arguments have the shape its command takes (the kernel refuses
    any other with EINVAL before it reads them): a key and a value, or a descriptor."""
    key, value, aux = args[2], args[3], _int32(args[4])
    if cmd == FSCONFIG_SET_STRING:
        return bool(key and value) and aux == 0
    if cmd in (FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY):
        return bool(key and value) and (aux == AT_FDCWD or aux >= 0)
    if cmd == FSCONFIG_SET_FD:
        return bool(key) and not value and aux >= 0
    return True  # no file named: shape is the kernel's business


def _kernel_may_know(fstype: str | None) -> bool:
    """Whether the kernel may have a file system of this type: registered, or a module it
    could load for it (an alias "fs-TYPE").  One it cannot have fails (ENODEV) as natively."""
    if not fstype:
        return False
    base = fstype.split(".", 1)[0]
    try:
        with open("/proc/filesystems", encoding="utf-8") as f:
            if any(line.split()[-1] == base for line in f if line.strip()):
                return True
        with open(f"/lib/modules/{os.uname().release}/modules.alias", encoding="utf-8") as f:
            return any(line.startswith(f"alias fs-{base} ") for line in f)
    except FileNotFoundError:
        return False  # no modules to load for this kernel: only the registered ones
    except OSError:
        return True  # cannot tell: as if it may


def _device_name(numbers: tuple[int, int]) -> str:
    """The /dev name of a block device (from sysfs), or "" when it has none."""
    try:
        with open(f"/sys/dev/block/{numbers[0]}:{numbers[1]}/uevent", encoding="utf-8") as f:
            for line in f:
                if line.startswith("DEVNAME="):
                    return "/dev/" + line.strip().split("=", 1)[1]
    except OSError:
        pass
    return ""


def _loop_disk(numbers: tuple[int, int]) -> tuple[str, ...] | None:
    """The /dev names by which a loop device's file is read, when the block device of
    ``numbers`` is a loop device or one of its partitions (sysfs: a partition's directory
    holds a ``partition`` file, its parent is the disk): the disk's /dev name (sysfs
    DEVNAME), then every partition's it may have -- ``DISKp1`` ... ``DISKp255``, whether or
    not it exists now: a partition is made by BLKPG_ADD_PARTITION (root, the device open
    even read-only) or a scan at any time, and one made on a device outlives its detach,
    reading the next file attached (loose30); None for another driver's disk.  An ioctl on
    a partition is its disk's (lo_ioctl takes bdev->bd_disk): LOOP_SET_FD through
    /dev/loopNp1 attaches the file to loopN.  Where sysfs cannot tell: refused (EPERM)."""
    try:
        entry = os.path.realpath(f"/sys/dev/block/{numbers[0]}:{numbers[1]}")
        disk = os.path.dirname(entry) if os.path.exists(f"{entry}/partition") else entry
        with open(f"{disk}/dev", encoding="ascii") as f:
            major, minor = (int(n) for n in f.read().strip().split(":"))
    except (OSError, ValueError):
        raise DecodeError(errno.EPERM, "a block device's disk cannot be told (sysfs)") from None
    if major != LOOP_MAJOR:
        return None
    name = _device_name((major, minor))
    if not name:
        raise DecodeError(errno.EPERM, "a loop device's /dev name cannot be told (sysfs)")
    joint = "p" if name[-1].isdigit() else ""
    return (name, *(f"{name}{joint}{n}" for n in range(1, DISK_MAX_PARTS)))


def _mounts(path: str) -> list[tuple[bytes, ...]] | None:
    """A mountinfo file's mounts, without their ids and peer groups: (device, root, mount
    point, options, type, source, super options) each -- the device tells a new file
    system from the one it copies (a tmpfs made again with the same options) --, by mount
    point (a copied namespace lists its mounts in another order; those stacked on one point
    keep theirs, lower first), each with its parent's device, root and mount point and so on
    down to the namespace's root; None when it cannot be read."""
    try:
        text = procfs.read(path)
    except OSError:
        return None
    rows: list[list[bytes]] = []
    for line in text.split(b"\n"):  # (a newline alone ends a line: a source may hold "\r")
        if not line:
            continue
        fields = line.split(b" ")
        if b"-" not in fields[6:]:
            return None
        rows.append(fields)
    lines = {fields[0]: fields for fields in rows}
    below: dict[bytes, tuple[bytes, ...]] = {}

    def ancestry(mount_id: bytes) -> tuple[bytes, ...]:
        # (each mount's parent told by its own line and that one's parent's, down to the
        # namespace's root: two mounts stacked on one point share their mount point, and a
        # third on the upper one (shown) or on the lower one (hidden by the upper, mounted
        # after it) has a parent at that same point -- review 49; ids differ between copies)
        chain: list[bytes] = []
        seen: set[bytes] = set()
        at = lines.get(mount_id)
        while at is not None and at[0] not in seen and at[0] not in below:
            seen.add(at[0])
            chain.append(at[0])
            at = lines.get(at[1])
        tail = below.get(at[0], ()) if at is not None else ()
        for one in reversed(chain):
            tail = (*lines[one][2:5], b"/", *tail)
            below[one] = tail
        return tail

    # (each with the mounts it is on: the same mounts stacked in another order -- A on /x
    # then B on /x/y, or B first and A over it, hiding it -- are another tree with the same
    # lines but their ids: red team 75)
    out = [(*fields[2:6], *ancestry(fields[1]), b"-", *fields[fields.index(b"-", 6) + 1:])
           for fields in rows]
    return sorted(out, key=lambda mount: mount[2])


def _same_tree(tid: int) -> bool:
    """Whether a task outside the tracer's view still sees its tree: its root is the
    tracer's, and its mount namespace shows the same mounts (a copy nothing was mounted in
    or unmounted from since).  Else a name may reach another file
    there (a chroot, a bind over a file)."""
    try:
        theirs, ours = os.stat(f"/proc/{tid}/root"), os.stat("/")
    except OSError:
        return False
    if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
        return False
    mounts = _mounts(f"/proc/{tid}/mountinfo")
    return mounts is not None and mounts == _mounts("/proc/self/mountinfo")


def _same_root(tid: int, reader: int) -> bool:
    """Whether a task's root is the one the mount table was read with (``reader``'s: its
    /proc/PID/mountinfo shows mount points relative to that root): a task that chrooted in
    its namespace spells paths from another root, and a child of a mount shown at its path
    would be another file's (review 26)."""
    if tid == reader:
        return True
    seen = []
    for pid in (tid, reader):
        try:
            fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            seen.append(mounted_file(fd))
        except OSError:
            return False
        finally:
            os.close(fd)
    return seen[0] == seen[1]


def _top_of_stack(mounts: dict[int, MountEntry], entry: MountEntry, local: str) -> MountEntry:
    """The mount the kernel acts on at ``local``, whose file the tracer holds on mount
    ``entry``: the topmost of the mounts stacked there.  The tracer's descriptor reaches the
    file without crossing mounts stacked on it where the path is a root (the task's root,
    its cwd after pivot_root(".", ".")), but umount2 follows them down to the top
    (LOOKUP_MOUNTPOINT) and a mount is stacked on the top (lock_mount).  A child of the
    mount shown at the same path in the task's view is mounted on that very file."""
    for _ in range(len(mounts)):
        child = next((m for m in mounts.values()
                      if m.parent_id == entry.mount_id and m.mount_point == local
                      and m.mount_id != entry.mount_id), None)
        if child is None:
            break
        entry = child
    return entry


def _open_path(path: str, follow: bool = True) -> int:
    """An O_PATH descriptor of ``path`` -- absolute, the resolver's (no symlink in it), or a
    task's own spelling under its root (``_access``: /proc/TID/root and the spelling) --, a
    name at a time where it is longer than the kernel takes at once (a tree deeper than
    PATH_MAX: test_work_in_a_cwd_deeper_than_path_max_is_as_native; review 64's fresh note
    there).  That walk starts from "/" or from the task's root (the magic link opened, as the
    resolver's walk opens it) and goes down by O_PATH|O_NOFOLLOW directories, as the
    resolver's does: a symlink met on the way is none the resolver saw (ENOTDIR, never
    followed elsewhere).  ``follow``: whether a last symlink is followed (else the link
    itself).  Raises the look-up's OSError."""
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    if len(os.fsencode(path)) < PATH_MAX:
        return os.open(path, flags)
    start, rest = "/", path
    root = _TASK_ROOT.match(path)
    if root is not None:
        start, rest = root.group(), path[root.end():]
    names = [part for part in rest.split("/") if part]
    fd = os.open(start, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for at, name in enumerate(names):
            step = os.open(name, flags if at == len(names) - 1 else DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = step
    except BaseException:
        os.close(fd)
        raise
    return fd


#: the start of a task's own spelling under its root (_access), for _open_path's walk
_TASK_ROOT = re.compile(r"/proc/[0-9]+/root(?=/|$)")


def _access(tid: int, view: View, resolved: Resolved) -> str | None:
    """Where the tracer reaches a resolved file: its name in the tracer's view, or the task's
    own spelling under /proc/TID/root (None: it has none)."""
    if resolved.pseudo:
        return None
    if view.host:
        return resolved.path
    return f"/proc/{tid}/root{resolved.local}" if resolved.local else None


class Decoder:
    """Makes decoded calls for one tracer (it holds the path resolver)."""

    def __init__(self, resolver: PathResolver | None = None) -> None:
        self.resolver = resolver or PathResolver()
        #: labels an IP address with the names the run resolved to it (SockAddr.names):
        #: set by a monitor that observes DNS (systrace_py.names), None otherwise
        self.names: Callable[[SockAddr], SockAddr] | None = None
        #: whether a table of the run may decide a call by where its IP packets go (no
        #: ``Lift.ROUTES``; the tracer sets it at spawn): a socket whose destinations the
        #: engine cannot see is then refused where a rule looks at its address; otherwise its
        #: address is none a rule could match (a packet socket's bind, stopped because a path
        #: rule looks at bind for unix socket files, LTP sendto03) and it is decided as a call
        #: naming no address
        self.ip_destinations_decided = True
        #: the resolved paths calls of this run made (DecodedCall.note_made): what a
        #: ``fresh`` rule covers besides a path that names nothing yet (DecodedCall.fresh)
        self.made: set[str] = set()
        #: which file each of ``made`` was when its call's exit noted it (name_identity: the
        #: device, inode and handle, which carries the inode's generation; None where the
        #: tracer could not tell): a name of ``made`` counts only while the file there is
        #: still that one (still_made).  Only a stopped removal forgets a note, and one the
        #: prefilter lets run (no rule on its path), a subvolume's deletion, an outsider's
        #: rename over the name are not seen -- an outsider's file put there later was read
        #: as the run's own (review 62, close 33)
        self.made_ids: dict[str, tuple[int, int, bytes] | None] = {}
        #: names below a directory of this run's own where a call of the run linked or moved
        #: a file or directory it did not make (DecodedCall.note_made) -> (that file's own
        #: name when it came, whether a directory): such a directory is exempt from the
        #: linked-access comparison only as far as these files are (DecodedCall.older_below,
        #: model.Table._linked_decision; issue 11)
        self.older: dict[str, tuple[str, bool]] = {}
        #: which file each of ``older`` was when its call's exit noted it (name_identity, as
        #: ``made_ids``; None: untold): a note counts only while the file at its name is
        #: still that one (still_older) -- an outsider's file renamed over the name later
        #: was compared by the older file's name and moved with the run's directory to
        #: where it was read (review 70, close 44)
        self.older_ids: dict[str, tuple[int, int, bytes] | None] = {}
        #: for a name of ``older`` noted a directory (its tree moved) whose identity is
        #: told: which files were below it when the call that brought it was decided -- the
        #: identities (with a handle) of the entries there by their tail below it, "/a",
        #: "/sub/b" (_older_tree).  The directory's own identity stands for its name only, not
        #: for what is inside: an outsider's file linked into it later left the inode as it
        #: was and was compared by the directory's old name with the rest of the tree (review
        #: 73, close 45).  An entry below it not among these (added, replaced), and the whole
        #: tree where they are untold (not here: past FOREIGN_WALK_CAP, a directory not
        #: listed), is compared by its own name now (_foreign_below, DecodedCall.older_below)
        self.older_trees: dict[str, dict[str, tuple[int, int, bytes]]] = {}
        #: the sockets (their inodes, socket:[N]) a bind of this run was let bind to a file
        #: it made: a fresh unix rule covers a connect only to the file one of them is bound
        #: at (DecodedCall._fresh_socket)
        self.bound_sockets: set[int] = set()
        #: the regular files of the run's own (their names in ``made``) that a call of the
        #: run removed while the removing process held them open (DecodedCall.note_made),
        #: by ptrace_ops.file_identity: (device, inode, the file system's handle, which
        #: carries the inode's generation -- a file given the number after this one is
        #: freed has another).  A descriptor's removed file (``NAME (deleted)``) is one the
        #: run made when it is one of these (DecodedCall.fresh): mkstemp, unlink, then a
        #: reopen through /proc/self/fd.  The oldest is let go past REMOVED_OWN_KEPT (a
        #: reopen of it is then refused, as before)
        self.removed_own: collections.OrderedDict[tuple[int, int, bytes], None] = \
            collections.OrderedDict()
        #: the names the notes were narrowed at (a name forgotten, an older note put), each
        #: with its number, the last NARROWED_KEPT: what a call settled at its exit leaves
        #: alone when another call narrowed it since its entry (MadeNotes.settle)
        self.narrowed: collections.deque[tuple[int, str]] = \
            collections.deque(maxlen=NARROWED_KEPT)
        self.narrowings = 0
        #: the same for a file system that gives no handle: identity -> the tracer's O_PATH
        #: descriptor of the file, which keeps it from being freed, so its inode number is
        #: no other file's while it is here (REMOVED_HELD_KEPT at most)
        self.removed_held: collections.OrderedDict[tuple[int, int, bytes], int] = \
            collections.OrderedDict()
        #: the size past which note_bound drops the sockets no longer there (doubling: a
        #: dump of the namespace's sockets per that many binds)
        self._bound_limit = BOUND_SOCKETS_KEPT
        #: whether a tid (as the tracer's /proc numbers it) is a task of the traced tree now:
        #: the tracer's (Tracer._in_tree), None until it says -- no signal is then in the tree
        self.traced: Callable[[int], bool] | None = None
        self._pidfds: collections.OrderedDict[int, int] = collections.OrderedDict()

    def note_bound(self, socket_inode: int) -> None:
        """A bind of the run bound this socket to a file it made.  A server binding socket
        after socket would grow the set without end (red team 43): past a limit, the sockets
        no longer there are dropped (a socket gone binds nothing again, and its number may
        come back as another process's socket's); the limit then doubles over what is left,
        so the dump is made once per that many binds.  When sock_diag cannot be asked,
        nothing is dropped."""
        self.bound_sockets.add(socket_inode)
        if len(self.bound_sockets) <= self._bound_limit:
            return
        live = pt.live_unix_sockets()
        if live is not None:
            self.bound_sockets &= live
            self.bound_sockets.add(socket_inode)
        self._bound_limit = max(BOUND_SOCKETS_KEPT, 2 * len(self.bound_sockets))

    def decode(self, tid: int, tgid: int, nr: int, name: str, args: _Args,
               memory: TraceeMemory, view: View) -> DecodedCall:
        """The call, whose paths are then looked up with the credentials the kernel looks
        them up with: an access's with the task's real ids (PathResolver.looks_as_real)."""
        self.resolver.looks_as_real(tid, name in _REAL_ID_CALLS and not (
            name == "faccessat2" and len(args) > 3 and args[3] & AT_EACCESS))
        return DecodedCall(tid, tgid, nr, name, args, memory, self, view)

    def resolve(self, call: DecodedCall, raw: str, dirfd: int, follow: bool,
                creates: bool = False) -> Resolved:
        """A path of the call, resolved in its task's view (``creates``: PathResolver.resolve's).
        What the resolver cannot resolve (a path inside a removed directory; a file or
        descriptor that another task of the tree changes while it looks) refuses the call with
        that errno: decoding never fails the tracer."""
        try:
            return self.resolver.resolve(call.tid, call.tgid, raw, dirfd, follow, call.view,
                                         call.lookup_restrictions, creates)
        except Unresolvable as exc:
            raise DecodeError(exc.errno, str(exc)) from exc
        except OSError as exc:
            raise DecodeError(exc.errno or errno.ENOENT, f"cannot resolve {raw!r}: "
                                                         f"{exc.strerror}") from exc

    def fd_path(self, tid: int, fd: int, spec: PathSpec | None = None,
                view: View = HOST) -> DecodedPath:
        try:
            return DecodedPath(spec, "", self.resolver.descriptor(tid, fd, view), False)
        except Unresolvable as exc:
            raise DecodeError(exc.errno, str(exc)) from exc

    def mount_points(self, devices: set[tuple[int, int]], mounts: dict[int, MountEntry]
                     ) -> list[str]:
        """Where, in the tracer's view (``mounts``: DecodedCall.own_mounts), file systems on
        these block devices are mounted (by the device of the mount, or by its source naming
        that device)."""
        found = []
        for entry in mounts.values():
            if entry.device not in devices and entry.source.startswith("/"):
                try:  # btrfs, for one, shows its own device numbers: the source tells
                    info = os.stat(entry.source)
                except OSError:
                    continue
                if not (stat.S_ISBLK(info.st_mode) and
                        (os.major(info.st_rdev), os.minor(info.st_rdev)) in devices):
                    continue
            elif entry.device not in devices:
                continue
            found.append(entry.mount_point)
        return found

    def sockaddr(self, call: DecodedCall, raw: bytes) -> SockAddr:
        """A struct sockaddr the kernel wrote (accept's peer), read by its family; unix paths
        are resolved like any path.  (What a call sends to is read by its socket instead:
        DecodedCall.sockaddrs.)"""
        if len(raw) < 2:
            return SockAddr("other")
        family = struct.unpack_from("<H", raw)[0]
        if family == AF_INET and len(raw) >= 8:
            port = struct.unpack_from(">H", raw, 2)[0]
            return SockAddr("inet", _socket.inet_ntop(AF_INET, raw[4:8]), port)
        if family == AF_INET6 and len(raw) >= 24:
            port = struct.unpack_from(">H", raw, 2)[0]
            addr = ipaddress.IPv6Address(raw[8:24])
            if addr.ipv4_mapped is not None:
                return SockAddr("inet", str(addr.ipv4_mapped), port)
            return SockAddr("inet6", str(addr), port)
        if family == AF_UNIX:
            body = raw[2:]
            if not body:
                return SockAddr("unix", path="")
            if body[0] == 0:
                return SockAddr("unix", path="@" + body[1:].decode("utf-8", "surrogateescape"))
            text = body.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            resolved = self.resolve(call, text, AT_FDCWD, True)
            if resolved.unnamed:
                raise DecodeError(errno.EACCES, f"{resolved.path}: no name a rule could match")
            return SockAddr("unix", path=resolved.path)
        if family == AF_NETLINK:
            return SockAddr("netlink")
        return SockAddr("other")

    # --- the sockets of the tracees -------------------------------------------------------------
    def socket_of(self, tid: int, tgid: int, fd: int) -> TraceeSocket | None:
        """The socket at descriptor ``fd`` of task ``tid``, read through a copy of the
        descriptor (pidfd_getfd; the caller closes it); None when there is none there -- the
        kernel then answers EBADF or ENOTSOCK, or the task is gone."""
        copy = self._copy_descriptor(tid, tgid, fd)
        if copy is None:
            return None
        try:
            # (_socket's socket: its family, type and protocol are plain ints, read once)
            sock = _socket.socket(fileno=copy)
        except OSError:
            os.close(copy)  # not a socket
            return None
        return TraceeSocket(sock, tid)

    def owned(self, tid: int, tgid: int, fd: int) -> bool:
        """Whether the file at the task's descriptor has an owner (F_GETOWN_EX of a copy):
        one the kernel does not replace when O_ASYNC is turned on.  No: when it cannot be
        told (the owner asked about is then decided)."""
        copy = self._copy_descriptor(tid, tgid, fd)
        if copy is None:
            return False
        try:
            _, who = struct.unpack("<ii", fcntl.fcntl(copy, F_GETOWN_EX, bytes(8)))
        except OSError:
            return False
        finally:
            os.close(copy)
        return who != 0

    def _copy_descriptor(self, tid: int, tgid: int, fd: int) -> int | None:
        """A copy of the task's descriptor in this process; None when it has none at that
        number (or is gone)."""
        if fd < 0:
            return None
        for _ in range(2):
            pidfd = self._pidfd(tid, tgid)
            try:
                return pidfd_getfd(pidfd, fd)
            except OSError as exc:
                if exc.errno == errno.EBADF:
                    return None
                if exc.errno != errno.ESRCH:
                    raise DecodeError(exc.errno or errno.EPERM,
                                      f"cannot read the socket: {exc.strerror}") from exc
                self._forget(tid)  # a task that had this id before: open the one there now
        return None

    def _pidfd(self, tid: int, tgid: int) -> int:
        """A pidfd of the task itself (PIDFD_THREAD: its own descriptor table, which a thread
        may have apart from its leader's), kept for the next call."""
        pidfds = self._pidfds
        found = pidfds.get(tid)
        if found is not None:
            pidfds.move_to_end(tid)
            return found
        try:
            try:
                found = os.pidfd_open(tid, PIDFD_THREAD)
            except OSError as exc:
                # a kernel before 6.9: the leader's, if the task shares its descriptor table
                if exc.errno != errno.EINVAL:
                    raise
                if tid != tgid and pt.kcmp(tgid, tid, KCMP_FILES) != 0:
                    raise DecodeError(errno.EPERM, "a thread with a descriptor table of its "
                                                   "own (this kernel has no PIDFD_THREAD)") \
                        from exc
                found = os.pidfd_open(tgid)
        except OSError as exc:
            raise DecodeError(exc.errno or errno.ESRCH, f"no pidfd: {exc.strerror}") from exc
        pidfds[tid] = found
        if len(pidfds) > PIDFDS_KEPT:
            os.close(pidfds.popitem(last=False)[1])
        return found

    def _forget(self, tid: int) -> None:
        pidfd = self._pidfds.pop(tid, None)
        if pidfd is not None:
            os.close(pidfd)

    def still_made(self, path: str, where: str | None = None) -> bool:
        """Whether the file at ``path``, a name of ``made``, is still the one the run's call
        made there (``made_ids``) -- or no file is there (the name names nothing: a call
        would make it anew).  Another file, or one the tracer cannot tell from it, is not
        the run's (fail closed).  ``where``: where the tracer looks it up as the task's call
        would (DecodedCall.access_path: the task's own spelling under its root where its
        view is not the tracer's; None: ``path`` itself; "": nowhere, untold).  "Nothing
        there" is only the look-up's ENOENT (:func:`looked_up`): a look-up that failed
        otherwise -- past PATH_MAX before close 37, a directory the tracer may not search --
        was "nothing there", and another process's file at the run's removed name counted as
        the run's (review 64)."""
        return self.made_there(path, where) is not False

    def made_there(self, path: str, where: str | None = None) -> bool | None:
        """:meth:`still_made`, told apart: True, the name gives the file the run's call made
        there; None, nothing there; False, another file, or untold."""
        if where == "":
            return False
        try:
            now = looked_up(path if where is None else where)
        except OSError:
            return False
        if now is None:
            return None
        return now == self.made_ids.get(path)

    def still_older(self, path: str) -> bool:
        """Whether the file at ``path``, a name of ``older``, is still the one noted there
        (``older_ids``).  Nothing there, another file, a note without a handle or a look-up
        that fails (:func:`looked_up`'s OSError) is not: the entry is then compared as what
        it is now, by its own name (DecodedCall.older_below; fail closed)."""
        noted = self.older_ids.get(path)
        if noted is None:
            return False
        try:
            return looked_up(path) == noted
        except OSError:
            return False

    def note_removed(self, identity: tuple[int, int, bytes]) -> None:
        """Note a removed file of the run's own by its identity with a handle
        (``removed_own``); the oldest forgotten past REMOVED_OWN_KEPT."""
        kept = self.removed_own
        kept.pop(identity, None)
        kept[identity] = None
        if len(kept) > REMOVED_OWN_KEPT:
            kept.popitem(last=False)

    def hold_removed(self, identity: tuple[int, int, bytes], fd: int) -> None:
        """Keep ``fd``, the tracer's descriptor of a removed file of the run's own on a file
        system without handles (``removed_held``); the oldest let go past
        REMOVED_HELD_KEPT."""
        kept = self.removed_held
        old = kept.pop(identity, None)
        if old is not None:
            os.close(old)
        kept[identity] = fd
        if len(kept) > REMOVED_HELD_KEPT:
            os.close(kept.popitem(last=False)[1])

    def close(self) -> None:
        """Close the pidfds and the removed files held."""
        while self._pidfds:
            os.close(self._pidfds.popitem()[1])
        while self.removed_held:
            os.close(self.removed_held.popitem()[1])


PIDFD_THREAD = os.O_EXCL  # pidfd_open: a pidfd of the thread, not of its thread group
PIDFDS_KEPT = 64          # tasks whose pidfd is kept open between calls
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def pidfd_getfd(pidfd: int, fd: int) -> int:
    """pidfd_getfd(2): a copy, in this process, of another process's descriptor."""
    copy = _libc.syscall(NUMBERS["pidfd_getfd"], pidfd, fd, 0)
    if copy < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(copy)


#: the routes of a network namespace, the local table's last: the tracer's, a task's
_FIB_TRIE = "/proc/thread-self/net/fib_trie"
_TASK_FIB_TRIE = "/proc/{tid}/net/fib_trie"
SO_NETNS_COOKIE = 71  # getsockopt: the cookie of the socket's network namespace (u64)
SIOCGSKNS = 0x894C     # ioctl: a descriptor of the socket's network namespace


@functools.cache
def _own_netns_cookie() -> bytes:
    """The cookie of the tracer's network namespace (it never changes namespace)."""
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        cookie: bytes = probe.getsockopt(_socket.SOL_SOCKET, SO_NETNS_COOKIE, 8)
    finally:
        probe.close()
    return cookie


class TraceeSocket:
    """A tracee's socket as :mod:`destinations` asks about it (a copy of its descriptor:
    the same socket).  Its state is read only when asked for."""

    def __init__(self, sock: _socket.socket, tid: int) -> None:
        self._sock = sock
        self._tid = tid
        self.family: int = sock.family
        self.type: int = sock.type
        self.protocol: int = sock.proto

    def close(self) -> None:
        self._sock.close()

    def v6only(self) -> bool:
        return bool(self._sock.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY))

    def local_host(self) -> str:
        try:
            host: str = self._sock.getsockname()[0]
        except OSError:
            host = "::" if self.family == AF_INET6 else "0.0.0.0"
        return host.split("%", 1)[0]

    def broadcast(self, host: str) -> bool:
        """Whether the local routing table of the socket's network namespace has ``host`` as
        a broadcast route (what inet_addr_type_table answers): the tracer's fib_trie when
        the socket is of the tracer's namespace (SO_NETNS_COOKIE), else the task's when the
        socket is of the task's namespace (SIOCGSKNS, which needs CAP_NET_ADMIN there: the
        tracer has it in a namespace its tree made).  A socket of neither -- made before an
        unshare, or inherited by a child made in a new namespace: its task's routes are not
        its own --, or one the tracer may not ask, is taken for a broadcast address (red team
        37)."""
        try:
            if self._sock.getsockopt(_socket.SOL_SOCKET, SO_NETNS_COOKIE, 8) == \
                    _own_netns_cookie():
                trie_path = _FIB_TRIE
            elif self._in_task_namespace():
                trie_path = _TASK_FIB_TRIE.format(tid=self._tid)
            else:
                return True  # cannot tell: as a broadcast address (refused, not guessed)
            with open(trie_path, encoding="ascii", errors="replace") as trie:
                lines = trie.read().split("\n")
        except OSError:
            return True  # cannot tell: as a broadcast address (refused, not guessed)
        local = lines.index("Local:") if "Local:" in lines else 0
        leaf = None
        for line in lines[local:]:
            text = line.strip()
            if text.startswith("|-- "):
                leaf = text[4:]
            elif leaf == host and text.startswith("/32 ") and text.endswith(" BROADCAST"):
                return True
        return False

    def device(self, unicast: bool) -> bool:
        """Whether the socket's IPv4 packets leave by a chosen device: SO_BINDTOIFINDEX (the
        bound device), and for a datagram IP_UNICAST_IF.  A socket that cannot say is taken
        for one that does (refused, not guessed)."""
        try:
            if self._sock.getsockopt(_socket.SOL_SOCKET, SO_BINDTOIFINDEX):
                return True
            return unicast and bool(self._sock.getsockopt(IPPROTO_IP, IP_UNICAST_IF))
        except OSError:
            return True

    def _in_task_namespace(self) -> bool:
        """Whether the socket is of its task's network namespace (OSError: cannot tell)."""
        namespace = fcntl.ioctl(self._sock.fileno(), SIOCGSKNS)
        try:
            return os.fstat(namespace).st_ino == os.stat(f"/proc/{self._tid}/ns/net").st_ino
        finally:
            os.close(namespace)


def _over_msg_len(array: int, index: int, header: bytes) -> bool:
    """Whether message ``index`` of a sendmmsg at ``array`` keeps its name or its control data
    where the kernel writes an earlier message's msg_len.  __sys_sendmmsg writes each msg_len
    (the bytes that message sent) before it reads the next message's header, name and
    control data: such a name is read by the kernel as the tracer never saw it, and what will
    be written there (a count the send decides) cannot be known before the call."""
    name, name_length = struct.unpack_from("<Qi", header)
    control, control_length = struct.unpack_from("<QQ", header, 32)
    first = array + MMSGHDR_SIZE - 8           # messages 0..index-1's msg_len fields
    end = array + MMSGHDR_SIZE * (index - 1) + MMSGHDR_SIZE - 4
    for start, length in ((name, min(name_length, SOCKADDR_MAX) if name else 0),
                          (control, control_length)):
        low, high = max(start, first), min(start + max(length, 0), end)
        if low >= high:
            continue
        if high - low >= MMSGHDR_SIZE:
            return True
        j = (low - first) // MMSGHDR_SIZE       # the field at or below low, and the next one
        if any(low < first + MMSGHDR_SIZE * k + 4 and first + MMSGHDR_SIZE * k < high
               for k in (j, j + 1)):
            return True
    return False


def _control_kinds(control: bytes) -> list[tuple[int, int]]:
    """The (level, type) of each control message (as far as their lengths lead)."""
    found = []
    at = 0
    while at + 16 <= len(control):
        cmsg_len, level, kind = struct.unpack_from("<Qii", control, at)
        found.append((level, kind))
        if cmsg_len < 16:
            break
        at += (cmsg_len + 7) & ~7
    return found


def header_spans(header: bytes) -> list[tuple[int, int]]:
    """Where a msghdr's name and control buffer lie in the task's memory, each (address,
    length as far as the tracer reads it): what the kernel reads through the header (a
    sendmsg's, each of a sendmmsg's messages)."""
    spans: list[tuple[int, int]] = []
    if len(header) >= 48:
        name, name_length = struct.unpack_from("<Qi", header)
        control, control_length = struct.unpack_from("<QQ", header, 32)
        if name and name_length > 0:
            spans.append((name, min(name_length, SOCKADDR_MAX)))
        if control and control_length:
            spans.append((control, min(control_length, CONTROL_READ_MAX)))
    return spans


def read_argv(mem: TraceeMemory, pointer: int) -> tuple[str, ...]:
    """An exec's argv (NULL pointer: empty), read as the kernel reads it: every pointer
    first (EFAULT if the array runs into unreadable memory before its NULL), then the strings
    from the last to the first (copy_strings), each EFAULT if unreadable, E2BIG if longer
    than MAX_ARG_STRLEN, and E2BIG once they take more room than any stack limit gives."""
    if pointer == 0:
        return ()
    pointers = mem.read_pointers(pointer, ARG_SPACE_MAX // 8)
    room = ARG_SPACE_MAX - 8 * len(pointers)
    strings: list[str] = []
    read = mem.read_cstrings(pointers, MAX_ARG_STRLEN)  # (by windows; the rest one by one)
    for address in reversed(pointers):
        text = read.get(address)
        if text is None:
            text = mem.read_cstring(address, MAX_ARG_STRLEN, errno.E2BIG)
        room -= len(text) + 1
        if room < 0:
            raise TraceeMemoryError(errno.E2BIG, "argument list too long")
        strings.append(text.decode("utf-8", "surrogateescape"))
    strings.reverse()
    return tuple(strings)


class MadeNotes:
    """What one call changes in the run's notes of what it made (``Decoder.made``,
    ``older``, ``removed_own``/``removed_held``, the bound sockets), planned at its entry
    from the tree as it stands then (DecodedCall.note_made).  What narrows them -- a name
    forgotten, an older file noted below a directory of the run's (compared by its own name
    too) -- is done at once: refusing more, even where the call then fails or its exit is
    never seen.  What widens them -- a name made or moved, an older note taken off, a
    removed file of the run's own, a socket bound -- waits for the call's exit stop
    (:meth:`settle`) and is done only when the call succeeded: a create that failed (EMFILE,
    ENOSPC, the kernel's EINVAL or EEXIST) made nothing, and its name noted would make an
    outsider's file put there later the run's own (notes35).  At the exit the whole plan is
    done again in order (the narrowing is idempotent), so a call that succeeded leaves the
    notes as if noted at once; in a tree of several tasks every call that changes names runs
    frozen (Tracer._must_freeze) and is settled before the thaw, so no other task's note
    comes between."""

    __slots__ = ("_held", "_own", "_since", "_steps", "_widens", "again", "anew", "decoder",
                 "exclusive", "kept", "opened", "ran_exclusive", "tid")

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder
        #: the call is an open with O_CREAT and no O_EXCL of a name absent at its decision:
        #: it opens whatever is at the name when the kernel looks it up -- an outsider's
        #: file made there after the decision too --, so its success alone does not say that
        #: it made the file (notes37).  The tracer runs it with O_EXCL added where it can
        #: (``ran_exclusive``; Tracer._must_hold, enforce.Holder._open): the kernel's
        #: EEXIST then tells, and the call is made again, decided anew
        #: (Tracer._restart_exclusive).  Run without it, the plan widens nothing.
        self.exclusive = False
        self.ran_exclusive = False
        #: how often the call was made again already (DecodedCall.again)
        self.again = 0
        #: an exclusive create of a task under a filter of the program's own, made anew by the
        #: tracer with the task's filters suspended (Tracer._create_anew): held so
        self.anew = False
        #: the calling task, and the name (a ``make`` step's) whose file an open's result
        #: holds (settle: the note's identity is the descriptor's file's as well as the
        #: name's -- review 64)
        self.tid = 0
        self.opened: str | None = None
        #: an open's name a fresh rule decided by the file it gave then (DecodedCall.kept):
        #: the descriptor the call returns must hold that file (:meth:`swapped`)
        self.kept: tuple[str, tuple[int, int, bytes] | None] | None = None
        #: Decoder.narrowings at the entry, and the numbers of this call's own narrowings
        self._since = decoder.narrowings
        self._own: set[int] = set()
        #: every change in order: (what, its argument)
        self._steps: list[tuple[str, Any]] = []
        self._widens = False
        #: descriptors of removed files kept for removed_held, closed if never settled
        self._held: list[int] = []

    def pending(self) -> bool:
        """Whether anything is left for the exit (else the narrowing was all of it)."""
        return self._widens or self.kept is not None

    def swapped(self, result: int) -> bool:
        """At the exit of an open a fresh rule permitted because its name gave the run's own
        file at the decision (:attr:`kept`): whether the descriptor ``result`` holds another
        -- or one the tracer cannot tell (fail closed).  The decision looks the name up before
        the kernel does, and a process outside the tree (not frozen) that renames its own file
        over the name in between had it opened as the run's (close 33's window, seen under
        load: swap51).  The file the kernel opened is the descriptor's, whatever the name
        gives now -- the one identity compared, never the name's."""
        if self.kept is None or result < 0:
            return False
        noted = self.kept[1]
        return noted is None or not noted[2] or self._returned(result) != noted

    def proven(self) -> bool:
        """Whether the call's success says it did what the plan widens by: not for a create
        that opens what is there, unless the tracer ran it with O_EXCL (:attr:`exclusive`)."""
        return self.ran_exclusive or not self.exclusive

    def _narrowed(self, path: str) -> None:
        decoder = self.decoder
        decoder.narrowings += 1
        decoder.narrowed.append((decoder.narrowings, path))
        self._own.add(decoder.narrowings)

    def forget(self, path: str) -> None:
        self.decoder.made.discard(path)
        self.decoder.made_ids.pop(path, None)
        self._narrowed(path)
        self._steps.append(("forget", path))

    def forget_below(self, *paths: str) -> None:
        """Forget what is noted below each of ``paths`` (directories)."""
        below = tuple(p + "/" for p in paths)
        made = self.decoder.made
        for path in [p for p in made if p.startswith(below)]:
            self.forget(path)

    def make(self, path: str, where: str | None = None, carries: bool = False,
             carried: tuple[int, int, bytes] | None = None) -> None:
        """Note ``path`` made, at the call's exit with the identity of the file there, looked
        up at ``where`` (Decoder.still_made's: None, ``path`` itself; "", nowhere).
        ``carries``: a link's or rename's new name of a file the run made, whose noted
        identity (``carried``, taken at the entry) the file at the new name must have --
        the name read at the exit may give a file an outsider renamed over it meanwhile, or
        the old name may have given an outsider's file already (review 64)."""
        self._steps.append(("make", (path, where, carries, carried)))
        self._widens = True

    def put_older(self, path: str, noted: tuple[str, bool],
                  carried: tuple[int, int, bytes] | None,
                  entries: dict[str, tuple[int, int, bytes]] | None = None) -> None:
        """Note an older file at ``path`` (``Decoder.older``), which the file there at the
        call's exit must be: ``carried``, its identity taken at the entry (at its old name,
        or the note's it moves with) -- an outsider's file renamed over the name meanwhile
        is not noted as the older one (``Decoder.older_ids`` None: untold).  ``entries``: a
        directory's, the files below it then (``Decoder.older_trees``; None: untold).  Until
        the exit the note counts untold already (compared as what is there)."""
        self.decoder.older[path] = noted
        self.decoder.older_ids[path] = None
        self.decoder.older_trees.pop(path, None)
        self._narrowed(path)
        self._steps.append(("put_older", (path, noted, carried, entries)))
        self._widens = True

    def take_older(self, path: str, tree: bool = True) -> dict[str, tuple[str, bool]]:
        """``Decoder.older``'s notes at ``path`` and (``tree``: a directory) below it,
        which the call takes off there (at its exit: until then they are compared still)."""
        older = self.decoder.older
        if not tree:
            noted = older.get(path)
            taken = {} if noted is None else {path: noted}
        else:
            below = path + "/"
            taken = {name: noted for name, noted in older.items()
                     if name == path or name.startswith(below)}
        if taken:
            self._steps.append(("take_older", tuple(taken)))
            self._widens = True
        return taken

    def removed(self, identity: tuple[int, int, bytes], fd: int | None) -> None:
        """A removed file of the run's own, by its identity (``fd``: held instead, a file
        system without handles)."""
        if fd is not None:
            self._held.append(fd)
        self._steps.append(("removed", (identity, fd)))
        self._widens = True

    def bound(self, inode: int) -> None:
        self._steps.append(("bound", inode))
        self._widens = True

    def settle(self, succeeded: bool, result: int | None = None) -> None:
        """At the call's exit: the whole plan when it succeeded; else only what was done at
        its entry stays (the descriptors held for it closed).  ``result``: the call's (an
        open's descriptor in the task, for :attr:`opened`)."""
        held, self._held = self._held, []
        if not succeeded:
            for fd in held:
                os.close(fd)
            return
        decoder = self.decoder
        made, older = decoder.made, decoder.older
        since = self._others_since()
        for what, arg in self._steps:
            if what == "forget":
                made.discard(arg)
                decoder.made_ids.pop(arg, None)
            elif what == "make":
                path, where, carries, carried = arg
                if since is not None and not _narrowed_at(since, path):
                    made.add(path)
                    # (an identity without a handle -- a file system that gives none --
                    # is an inode number alone, which the next file made may take: no proof
                    # the file is still the run's, review 63)
                    identity = name_identity(path if where is None else where) \
                        if where != "" else None
                    if path == self.opened and identity is not None:
                        # (the name is looked up after the kernel's return, and a process
                        # outside the tree -- not frozen -- may have renamed its own file
                        # over it meanwhile: the file the open made is the one its
                        # descriptor holds, and a name giving another is untold, review 64)
                        identity = identity if identity == self._returned(result) else None
                    if carries and identity != carried:
                        identity = None
                    decoder.made_ids[path] = identity if identity and identity[2] else None
            elif what == "put_older":
                path, noted, carried, entries = arg
                older[path] = noted
                # (another call's change at the name since the entry: untold, as for make)
                identity = name_identity(path) if (
                    since is not None and not _narrowed_at(since, path)) else None
                told = identity is not None and bool(identity[2]) and identity == carried
                decoder.older_ids[path] = identity if told else None
                if told and entries is not None:
                    decoder.older_trees[path] = entries
                else:
                    decoder.older_trees.pop(path, None)
            elif what == "take_older":
                for name in arg:
                    if since is not None and name not in since:
                        older.pop(name, None)
                        decoder.older_ids.pop(name, None)
                        decoder.older_trees.pop(name, None)
            elif what == "removed":
                if arg[1] is None:
                    decoder.note_removed(arg[0])
                else:
                    decoder.hold_removed(arg[0], arg[1])
            elif what == "bound":
                decoder.note_bound(arg)

    def _returned(self, result: int | None) -> tuple[int, int, bytes] | None:
        """Which file the descriptor ``result`` of the task holds (None: not to be told)."""
        if result is None or result < 0 or not self.tid:
            return None
        return name_identity(f"/proc/{self.tid}/fd/{result}", follow=True)

    def _others_since(self) -> set[str] | None:
        """The names another call narrowed the notes at since this one's entry -- none where
        the tree ran frozen meanwhile (Tracer._must_freeze), some where it did not (learning,
        SYSTRACE_NO_HOLD=1): a name made there is another's by now, perhaps, and stays
        unnoted.  None: more than Decoder.narrowed keeps (no widening at all, then)."""
        decoder = self.decoder
        if decoder.narrowings == self._since:
            return set()
        found: set[str] = set()
        reached = False
        for number, name in reversed(decoder.narrowed):
            if number <= self._since:
                reached = True
                break
            if number not in self._own:
                found.add(name)
        if not reached and self._since + len(decoder.narrowed) < decoder.narrowings:
            return None
        return found

    def __del__(self) -> None:
        for fd in self._held:  # (a plan dropped unsettled: its call refused after all)
            with contextlib.suppress(OSError):
                os.close(fd)


#: the entries a walk below a directory looks at (:func:`_walk_below`: a moved directory of the
#: run's own, an older one moved below it); past it the directory is untold -- compared as one
#: that is not the run's, or by its own name (fail closed)
FOREIGN_WALK_CAP = 10000

#: how :func:`_walk_below` opens a directory to list it (never through a symlink: a name
#: swapped for one on the way leads out of the tree)
_LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _walk_below(top: int, visit: Callable[[int, str, str, bool], bool]) -> bool:
    """Walk the tree below the directory ``top`` (a descriptor of it, :data:`_LIST_FLAGS`),
    calling ``visit(directory, name, tail, is_dir)`` for each entry -- ``directory`` the
    descriptor of the one it is in, ``tail`` its name below ``top``, "/x/y" -- and going into
    a directory where it answers True.  Each directory is opened from the one above it, not
    by its name from "/": what is listed is below ``top``, whatever an outsider renames
    meanwhile.  The one home of the walks below a directory (:func:`_foreign_below`,
    :func:`_older_tree`).  False: past :data:`FOREIGN_WALK_CAP` entries, or a directory not
    opened or listed -- what is below is then untold."""
    def listed(fd: int) -> Iterator[tuple[str, bool]]:
        with os.scandir(fd) as entries:
            return iter([(entry.name, entry.is_dir(follow_symlinks=False))
                         for entry in entries])

    opened: list[int] = []
    try:
        stack = [(top, "", listed(top))]
        seen = 0
        while stack:
            fd, tail, entries = stack[-1]
            for name, is_dir in entries:
                seen += 1
                if seen > FOREIGN_WALK_CAP:
                    return False
                below = f"{tail}/{name}"
                if visit(fd, name, below, is_dir) and is_dir:
                    child = os.open(name, _LIST_FLAGS, dir_fd=fd)
                    opened.append(child)
                    stack.append((child, below, listed(child)))
                    break
            else:
                stack.pop()
                if opened and fd == opened[-1]:
                    os.close(opened.pop())
        return True
    except OSError:
        return False
    finally:
        for fd in opened:
            os.close(fd)


def _entry_identity(directory: int, name: str) -> tuple[int, int, bytes] | None:
    """Which file ``name`` in the directory descriptor ``directory`` is (name_identity's, a
    last symlink not followed; None: not to be told)."""
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    except OSError:
        return None
    try:
        return pt.file_identity(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _older_tree(where: str) -> tuple[tuple[int, int, bytes] | None,
                                     dict[str, tuple[int, int, bytes]] | None]:
    """An older directory's note at a link's or rename's entry (MadeNotes.put_older): its
    identity and the identities of the entries below it (``Decoder.older_trees``: the files
    that are below its old name, which is what their comparison by that name is true of --
    one an outsider links into it later is not, review 73), both from one descriptor of it
    (the directory listed is the one identified).  An entry without a handle is left out
    (compared by its own name, as review 63's inode numbers are no proof); the entries
    None where the walk did not finish (:func:`_walk_below`: the whole tree compared by its
    own name, fail closed); the identity None where it cannot be told."""
    try:
        top = os.open(where, _LIST_FLAGS)
    except OSError:
        return name_identity(where), None
    try:
        try:
            identity: tuple[int, int, bytes] | None = pt.file_identity(top)
        except OSError:
            identity = None
        entries: dict[str, tuple[int, int, bytes]] = {}

        def note(directory: int, name: str, tail: str, is_dir: bool) -> bool:
            found = _entry_identity(directory, name)
            if found is not None and found[2]:
                entries[tail] = found
            return is_dir

        return identity, entries if _walk_below(top, note) else None
    finally:
        os.close(top)


def _directory_now(path: str) -> bool:
    """Whether ``path`` is a directory now, not following a last symlink (a look-up that
    fails: as one, so that what may be below it is compared -- fail closed)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return True


def _foreign_below(decoder: Decoder, key: str,
                   older: dict[str, dict[str, tuple[int, int, bytes]] | None]
                   ) -> list[tuple[str, str, bool]]:
    """The files below the directory ``key`` (a name of ``Decoder.made``) that are not the
    run's own -- not noted as made, or no longer the file the run made there
    (``Decoder.still_made``: an outsider's hard link to a secret renamed over the run's
    ``d.tmp/f``, review 66) -- and were not below an older directory of the run's notes
    when it came (``older``: each older note's tail -> the entries below it then,
    ``Decoder.older_trees``, or None where it is not looked inside): each as (its tail below
    ``key``, its own name now, whether a directory), to be decided by its own name
    (model.Table._linked_decision).  The older notes themselves are the caller's; an older
    directory still the one noted is walked, each entry below it compared with the one
    noted at its tail (an outsider's file linked into the directory since has another
    identity or none noted, review 73).  A directory not the run's is not walked (its tree
    is compared whole).  Past :data:`FOREIGN_WALK_CAP` entries, or an entry the tracer
    cannot look at, the directory itself is returned (compared whole, as one the run did not
    make).  The window between this walk and the kernel's rename stays, as for a file
    (Decoder.still_made)."""
    try:
        if not stat.S_ISDIR(os.lstat(key).st_mode):
            return []  # (a file or a symlink moved: nothing below it moves)
        top = os.open(key, _LIST_FLAGS)
    except OSError:
        return [("", key, True)]
    found: list[tuple[str, str, bool]] = []

    def visit(directory: int, name: str, tail: str, is_dir: bool) -> bool:
        if tail in older:
            return older[tail] is not None  # (its entries: against the ones noted)
        path = key + tail
        if path in decoder.made and decoder.still_made(path):
            return is_dir
        noted = _noted_below(older, tail)
        if noted is not None and noted == _entry_identity(directory, name):
            return is_dir
        found.append((tail, path, is_dir))
        return False

    try:
        walked = _walk_below(top, visit)
    finally:
        os.close(top)
    return found if walked else [("", key, True)]


def _noted_below(older: dict[str, dict[str, tuple[int, int, bytes]] | None], tail: str
                 ) -> tuple[int, int, bytes] | None:
    """The identity noted at ``tail`` below the nearest older directory above it whose
    entries are noted (``older`` as :func:`_foreign_below`'s), or None."""
    head = tail.rpartition("/")[0]
    while head:
        if head in older:
            entries = older[head]
            return entries.get(tail[len(head):]) if entries is not None else None
        head = head.rpartition("/")[0]
    return None


def name_identity(path: str, follow: bool = False) -> tuple[int, int, bytes] | None:
    """Which file ``path`` names, not following a last symlink unless ``follow``
    (ptrace_ops.file_identity: device, inode, handle -- b"" where the file system gives
    none), or None: not to be told (Decoder.made_ids), nothing there included --
    :func:`looked_up` tells that apart."""
    try:
        return looked_up(path, follow)
    except OSError:
        return None


def looked_up(path: str, follow: bool = False) -> tuple[int, int, bytes] | None:
    """:func:`name_identity`, where None is "nothing there" -- only the look-up's own ENOENT,
    of a look-up made where the task's is (``path``: its name in the tracer's view, or the
    task's own spelling under its root, :func:`_access`), by names past PATH_MAX
    (:func:`_open_path`) -- and any other failure of the look-up raises its OSError: the
    tracer's EACCES (a directory on the way the tracer may not search, the task may: it
    starts from its cwd), ENAMETOOLONG, ELOOP, ENOTDIR (a symlink on the way, none the
    resolver saw), EIO say nothing of what is there (review 64: read as "nothing there",
    another process's file at the run's removed name was the run's own)."""
    try:
        fd = _open_path(path, follow)
    except FileNotFoundError:
        return None
    try:
        return pt.file_identity(fd)
    except OSError:
        try:
            info = os.fstat(fd)
        except OSError:
            return None
        return info.st_dev, info.st_ino, b""
    finally:
        os.close(fd)


def _narrowed_at(names: set[str], path: str) -> bool:
    """Whether ``path`` or a directory above it is one of ``names``."""
    while path:
        if path in names:
            return True
        path = path.rpartition("/")[0]
    return False


def _below_own(made: set[str], path: str) -> bool:
    """Whether a directory above ``path`` is one the run made (``Decoder.made``)."""
    head = path.rpartition("/")[0]
    while head:
        if head in made:
            return True
        head = head.rpartition("/")[0]
    return False
