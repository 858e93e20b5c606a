"""Resolving a path argument the way the kernel will, in the calling task's own view.

A rule on ``/home/*/.ssh/**`` must match every spelling of those files: relative to the cwd or
to a dirfd, with ``..`` and ``//``, through symlinks (also ones the program just made), through
/proc/self/root, /proc/self/cwd or /proc/self/fd/N.  The result is one canonical absolute path.

The resolver never guesses: every answer is either the name of what the kernel's own lookup
reaches for that task, or the errno that lookup fails with (:class:`Unresolvable`: ELOOP past
40 symlinks, ENOTDIR, ENAMETOOLONG, EBADF...).  A name that does not exist yet is the *last*
component, in a directory that does -- or, marked ``unreachable``, the spelling's own name
past a missing directory (the kernel says ENOENT whatever is decided; rules and redirects
still need a name for it), which is never handed to the kernel where it would mean another
thing than the spelling.

Two ways to get there:

* the fast way, for tasks whose root is the tracer's: let the kernel resolve the path for us
  (openat2 with O_PATH and RESOLVE_NO_SYMLINKS, which proves a path symlink-free, or
  RESOLVE_NO_MAGICLINKS, then read back /proc/self/fd/N).  Anything that went through a /proc
  magic link or through /proc/self -- which, resolved by the tracer, would mean the tracer --,
  a last component that may be a dangling symlink, a start directory whose name /proc cannot
  give: all are handed to
* the walk: the kernel's own walk, one component at a time, on descriptors: from the task's
  root (/proc/TID/root) or start directory (/proc/TID/cwd, /proc/TID/fd/N) *objects*, never
  their names; ``..`` physical; symlinks counted like the kernel (40); /proc/self and
  /proc/thread-self are the calling task; a magic link is jumped through by opening it (the
  object it names for the task), never by reading its text.  The name comes from the object
  it ends on, checked to name that object (and built by climbing ``..`` when it is longer
  than /proc can say).  openat2's lookup restrictions (RESOLVE_BENEATH, RESOLVE_IN_ROOT,
  RESOLVE_NO_XDEV, RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS) are always walked, applied as
  fs/namei.c does (a scoped lookup's root is its dirfd; mounts compared by mount id).

A lookup that fails fails with the task's errno, not the tracer's: the kernel checks the task's
search permission on each directory before looking up a name in it (may_lookup), so a failing
walk is walked again with the task's credentials (:class:`Credentials`), and the first
directory it may not search answers EACCES.  So is every lookup of a task whose search
permission is not the tracer's (another user, dropped capabilities, a user namespace of its
own): what the engine answers itself -- a rule's refusal, a missing path's ENOENT, what a
lookup passes through -- must not tell what lies in a directory the task may not search.

Paths that name no file in a directory tree (a pipe or socket behind /proc/self/fd/N, a memfd,
a deleted file) come back with ``pseudo`` set: they can be matched by a rule ("pipe:*",
"memfd:*") but never rewritten to a path the kernel could open again.

**Views.**  Rules name files in the tracer's view of the file system.  A task in another
mount namespace, or under another root (chroot, pivot_root), is always walked, and what it
reaches is named for the rules (:meth:`PathResolver._name`), in this order:

* its *host name*: the name /proc gives the object, when that name reaches the very same
  object in the tracer's view (so after ``chroot("/jail")`` the task's "/etc/x" is
  "/jail/etc/x");
* else its *namespace name*: the name it has in the mount namespace that holds it, taken
  back through that namespace's pivot_roots, when the tracer has followed every change of
  that namespace since it was copied from its own (``Namespace.trusted``: every mount in it
  was checked, so no file a refusing rule names lies under a name that only it has);
* else it has none (``Resolved.unnamed``: a detached mount, a namespace joined from
  outside): a rule that needs its name cannot be decided, and the call is refused when one
  is consulted (decode.py).

``Resolved.local`` is then the task's own absolute spelling of the object (what the kernel
may be handed in place of the call's spelling), "" when it has none.
"""

from __future__ import annotations

import _thread  # (threading: after the exec, when a thread is made; start-up, issue 16)
import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass, field

from systrace_py import procfs
from systrace_py.engine.ptrace_ops import (
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    file_identity,
    fs_type,
    mount_id,
    mounted_file,
    openat2,
)
from systrace_py.kernel import (
    ACL_GROUP,
    ACL_GROUP_OBJ,
    ACL_MASK,
    ACL_OTHER,
    ACL_USER,
    ACL_USER_OBJ,
    AT_FDCWD,
    CAP_CHECKPOINT_RESTORE,
    CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH,
    CAP_SYS_ADMIN,
    CAP_SYS_PTRACE,
    PATH_MAX,
    TRACER_LIMITS,
    XATTR_POSIX_ACL_ACCESS,
)
from systrace_py.kernel import (
    DELETED as _DELETED,
)
from systrace_py.procfs import start_time
from systrace_py.views import MountEntry, parse_mountinfo

#: the kernel's MAXSYMLINKS: symlinks (magic links included) one lookup may follow
MAX_SYMLINKS = 40
PROC_SUPER_MAGIC = 0x9FA0
PROC_ROOT_INO = 1
NS_GET_MNTNS_ID = 0x8008B705  # _IOR(0xb7, 0x5, __u64): a mount namespace's unique id
ST_NOSYMFOLLOW = 0x2000       # statfs's flag of a mount made with MS_NOSYMFOLLOW
#: a directory opened on a walk, a name at a time: not followed if it is a symlink (the
#: resolver's walk, and decode._open_path's past PATH_MAX)
DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MISSING_LOOKUPS = 2  # missing names the fast way looks up (one by one) before walking
#: openat2's lookup restrictions the walk applies as the kernel does (fs/namei.c): the scoped
#: ones (LOOKUP_IS_SCOPED: the dirfd is the root of the lookup), and the refusals of mount
#: crossings and of (magic) links
SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT
WALK_RESOLVE = SCOPED | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS


@dataclass(slots=True)
class Resolved:
    """A resolved path.  ``exists`` is False when the last component is missing (or, with
    ``unreachable``, a directory on the way).

    ``slash``: the kernel's last lookup carries a trailing slash (of the spelling, or of the
    last symlink followed): the object must be a directory, so a spelling handed to the
    kernel in its place keeps the slash.  ``literal_last``: the call does not follow its last
    component, and that component is ``.``, ``..`` or a symlink followed only because of a
    trailing slash; calls that act on the last name itself (unlink, rmdir, rename, mkdir...)
    treat such a name specially, so no canonical spelling stands in for the call's own.

    ``unreachable``: a directory on the way does not exist, so the kernel's lookup fails with
    ENOENT whatever is decided; the name is the spelling's, normalised from the last directory
    that exists, for rules and redirects only.  ``keep_spelling``: that normalisation dropped
    a "." or ".." after the missing directory (the name then ends elsewhere than the
    spelling: handed to the kernel, "missing/." would create "missing"), so no absolute
    spelling stands in for the call's own, whatever the call.

    ``local`` and ``unnamed``: for tasks that do not see the tracer's tree (the module's
    "Views")."""

    path: str
    exists: bool = True
    pseudo: bool = False
    direct: bool = False  # the spelling reaches it, from its start, through no symlink
    slash: bool = False
    literal_last: bool = False
    unreachable: bool = False
    keep_spelling: bool = False
    #: a task that does not see the tracer's tree: its own absolute spelling of the object
    #: ("" when it has none: outside its root); None for the others (``path`` is theirs too)
    local: str | None = None
    #: no name of it could be matched by a rule (see the module's "Views")
    unnamed: bool = False
    #: a removed file's (``pseudo``, ``NAME (deleted)``): which file it is
    #: (ptrace_ops.file_identity), for a ``fresh`` rule's question of whether the run made
    #: it (DecodedCall.fresh); None for anything else, or when it could not be told
    identity: tuple[int, int, bytes] | None = field(default=None, init=False)
    #: a relative spelling's start directory, by name, in the tracer's view (None: an
    #: absolute spelling -- but under RESOLVE_IN_ROOT --, or a start the walk held by its
    #: object only)
    start: str | None = field(default=None, init=False)

    @property
    def spelling(self) -> str:
        """The absolute path that reaches the object in the task's own view ("": none)."""
        if self.unnamed and self.local is None:
            return ""
        return self.path if self.local is None else self.local


class Unresolvable(Exception):
    """The kernel's lookup fails for this task (ELOOP, ENOTDIR, ENAMETOOLONG, EBADF, ENOENT
    inside a removed directory...), or it reaches something no rule could name: the call is
    refused with ``errno`` instead of being decided on another spelling."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


def _unread_descriptor(fd: int, exc: OSError) -> Resolved:
    """What a descriptor the tracer could not look at is named: "fd:N" (a pseudo name no path
    rule matches) when the task has no such descriptor (ENOENT: the kernel answers EBADF)
    or is gone -- never when the tracer's own limit failed the look, which says nothing of
    the file: then the call is refused (red team 38: at a lowered RLIMIT_NOFILE a
    descriptor of a refused file was "fd:N", and a call on it ran)."""
    if exc.errno in TRACER_LIMITS:
        raise Unresolvable(exc.errno, f"descriptor {fd} cannot be looked at: the tracer's "
                                      f"{exc.strerror}")
    return Resolved(f"fd:{fd}", pseudo=True)


def _removed_identity(fd: int, text: str) -> tuple[int, int, bytes] | None:
    """Which file ``fd`` holds (ptrace_ops.file_identity) when /proc names it a removed
    file, ``text``: a regular file without a name (a file named ``x (deleted)`` that is
    there has one: None, as for anything else)."""
    if not text.startswith("/") or not text.endswith(_DELETED):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink:
            return None
        return file_identity(fd)
    except OSError:
        return None


class Pivot:
    """A pivot_root made in a namespace: the new root's name before it, where the old root
    was put (in the new root's names), and the old root's mount id.  (Plain classes here:
    typing's NamedTuple and dataclasses cost a millisecond each at every start.)"""

    __slots__ = ("new_root", "old_root", "put_old")

    def __init__(self, new_root: str, put_old: str, old_root: int) -> None:
        self.new_root, self.put_old, self.old_root = new_root, put_old, old_root

    def before(self, name: str, mounts: set[int]) -> str | None:
        """The name, before the pivot, of what is called ``name`` after it, on a mount whose
        chain of parents is ``mounts``; None when it cannot be told."""
        if self.old_root in mounts:  # under the old root, now at put_old
            if name == self.put_old:
                return "/"
            if name.startswith(self.put_old.rstrip("/") + "/"):
                return name[len(self.put_old.rstrip("/")):]
            return None
        return self.new_root if name == "/" else _join(self.new_root, name.lstrip("/"))


class Namespace:
    """A mount namespace of the traced tree, as the tracer follows it.

    ``trusted``: the tracer's own, or copied from a trusted one by a task of the tree, and
    every mount in it since seen and checked -- so a name only it has names no file a
    refusing rule protects (docs/security.md, "New views of the file system").
    ``pivots``: the pivot_roots made in it (or in the one it was copied from), in order.
    ``task``: a task in it, whose /proc/TID/mountinfo lists its mounts (``mounts``, read on
    demand, forgotten after every call that may change a view)."""

    __slots__ = ("key", "mounts", "pivots", "task", "trusted")

    def __init__(self, key: str, trusted: bool, task: int,
                 pivots: list[Pivot] | None = None) -> None:
        self.key, self.trusted, self.task = key, trusted, task
        self.pivots: list[Pivot] = pivots if pivots is not None else []
        self.mounts: dict[int, MountEntry] | None = None


class View:
    """How a task sees the file system: ``host`` when it sees the tracer's own tree (the same
    mount namespace and root: its paths are resolved in the tracer's view), and the key of its
    mount namespace."""

    __slots__ = ("host", "namespace")

    def __init__(self, host: bool, namespace: str) -> None:
        self.host, self.namespace = host, namespace

    def __repr__(self) -> str:
        return f"View(host={self.host}, namespace={self.namespace!r})"


#: the tracer's own view (tests and tools resolving for a task that shares it)
HOST = View(True, "")


def namespace_key(link: str) -> str:
    """Which mount namespace a /proc/PID/ns/mnt link is: its 64-bit id (NS_GET_MNTNS_ID, never
    reused) -- or, on a kernel without that, the link's text, whose inode number a namespace
    made after this one is gone may get again."""
    fd = os.open(link, os.O_RDONLY | os.O_CLOEXEC)
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, NS_GET_MNTNS_ID, buf)
        return f"mnt:#{int.from_bytes(buf, 'little')}"
    except OSError:
        return os.readlink(link)
    finally:
        os.close(fd)


def _same_file(path: str, link: str) -> bool:
    """Whether ``path`` names the very object behind the /proc magic link ``link``.  The name
    itself, not what a symlink there leads to: /proc's name of an object ends in the
    object's own entry, and a link planted at it -- to ``link`` itself -- would make any
    name "the same file" (review 42, as supervisor.nameless)."""
    try:
        a, b = os.stat(path, follow_symlinks=False), os.stat(link)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def names_elsewhere(task: str) -> bool:
    """Whether /proc names the cwd or a descriptor of a task (``task``: "PID/task/TID") by a
    path that is another object in the tracer's view: one of another mount namespace or of a
    detached mount, which a process systrace attaches to may hold from before (open_tree, a
    descriptor passed from a namespace of its own; the tree's own such calls make the resolver
    strict).  Pseudo names (pipes, sockets...) and removed files are not compared; a name
    the tracer cannot look at counts as another object."""
    base = f"/proc/{task}"
    try:
        links = [f"{base}/cwd", *(f"{base}/fd/{fd}" for fd in os.listdir(f"{base}/fd"))]
    except OSError:
        return False  # (gone)
    for link in links:
        try:
            text = os.readlink(link)
        except OSError:
            continue
        if text.startswith("/") and not text.endswith(_DELETED) and not _same_file(text, link):
            return True
    return False


def _unclean(path: str) -> bool:
    """Whether a path has ".", ".." or "//" components (or a trailing slash) to normalise."""
    return "//" in path or "/." in path or (path.endswith("/") and path != "/")


def _dotted(path: str) -> bool:
    """Whether a spelling has a "." or ".." component (its lookup looks in the directory
    before it, which the lexical form does not)."""
    return (path in (".", "..") or path.startswith(("./", "../")) or "/./" in path
            or "/../" in path or path.endswith(("/.", "/..")))


def _lexical(path: str) -> str:
    """Normalise ``.``, ``..`` and ``//`` without looking at the file system: for a path the
    kernel has proved free of symlinks (there ``..`` goes where it says), or for the name of
    one no lookup reaches (Resolved.unreachable)."""
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    return "/" + "/".join(parts)


def _join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def _too_long(path: str) -> bool:
    """Whether the kernel refuses this string as a path (PATH_MAX counts the NUL).  (A
    character is at most 4 bytes: most paths are known short without encoding them.)"""
    return len(path) >= PATH_MAX // 4 and len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX


def _no_crossing(cur: int, comp: str) -> None:
    """RESOLVE_NO_XDEV: the name ``comp`` in ``cur`` must not be a mount point (the kernel's
    traverse_mounts refuses to step onto another mount, bind mounts of the same file system
    included: mounts are compared, not devices)."""
    fd = os.open(comp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=cur)
    try:
        if mount_id(fd) != mount_id(cur):
            raise Unresolvable(errno.EXDEV, "a mount crossed, with RESOLVE_NO_XDEV")
    finally:
        os.close(fd)


def _magic_jump(restrict: int, cur: int, target: int) -> None:
    """What the kernel's nd_jump_link refuses of a magic link's jump from ``cur`` to
    ``target``: any (ELOOP) with RESOLVE_NO_MAGICLINKS; one to another mount with
    RESOLVE_NO_XDEV, and any in a scoped lookup (EXDEV)."""
    if restrict & RESOLVE_NO_MAGICLINKS:
        raise Unresolvable(errno.ELOOP, "a magic link, with RESOLVE_NO_MAGICLINKS")
    if restrict & RESOLVE_NO_XDEV and mount_id(target) != mount_id(cur):
        raise Unresolvable(errno.EXDEV, "a magic link to another mount, with RESOLVE_NO_XDEV")
    if restrict & SCOPED:
        raise Unresolvable(errno.EXDEV, "a magic link in a scoped lookup")


def _looked_up_by_netns(cur: int, tid: int, rest: list[str], where: _Name) -> None:
    """A name missing in ``cur`` (named ``where``), looked up with ``rest`` (the name and
    what follows it): raised EACCES when the kernel may find it there for the task, and go
    on elsewhere than the tracer names.  /proc/sys/net lists the sysctls of the *looker's*
    network namespace (proc_sys_lookup: current's net_ns), not the tracer's: a device of a
    namespace of the task's own has a directory there that the tracer finds missing (red
    team 62).  Past it the kernel's walk goes on below, in a tree without symlinks, where
    the spelling's name is the kernel's -- unless a "." or ".." follows, which climbs back
    out to a walk the tracer never made (symlinks followed: the lexical name is no name of
    what the kernel reaches), or a mount of the task's view lies on or below the name (its
    file system's names and symlinks).  Only /proc answers by the looker's network
    namespace (sysfs by its mounter's)."""
    try:
        if fs_type(cur) != PROC_SUPER_MAGIC or \
                os.stat(f"/proc/{tid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino:
            return
        if not any(c in (".", "..") for c in rest[1:]):
            spelling = where.path if where.local is None else where.local
            if spelling:
                missing = _join(spelling, rest[0])
                with open(f"/proc/{tid}/mountinfo", encoding="utf-8",
                          errors="surrogateescape") as info:
                    points = [entry.mount_point for entry in parse_mountinfo(info.read())]
                if not any(point == missing or point.startswith(missing + "/")
                           for point in points):
                    return
    except OSError:
        pass  # (gone, or unreadable: cannot tell, fail closed)
    raise Unresolvable(errno.EACCES, "a name missing in /proc, which the task looks up in "
                                     "a network namespace of its own")


def _same_place(a: int, a_stat: os.stat_result, b: int, b_stat: os.stat_result) -> bool:
    """Whether two descriptors are the same directory *on the same mount* (the kernel's
    path_equal: a directory bind-mounted onto another place is not that place)."""
    return ((a_stat.st_dev, a_stat.st_ino) == (b_stat.st_dev, b_stat.st_ino)
            and mount_id(a) == mount_id(b))


def _names(path: str, held: os.stat_result) -> bool:
    """Whether ``path`` reaches, in the tracer's view, the very object ``held`` describes."""
    try:
        seen = os.stat(path, follow_symlinks=False)
    except (OSError, ValueError):
        return False
    return (seen.st_dev, seen.st_ino) == (held.st_dev, held.st_ino)


class Credentials:
    """What the kernel checks a task's search permission on a directory with (may_lookup:
    inode_permission(MAY_EXEC)): its fsuid, fsgid and supplementary groups, and whether its
    effective capabilities override the check (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) -- in
    a user namespace other than the tracer's, only over an inode whose owner and group are
    mapped into it (capable_wrt_inode_uidgid): ``maps``, its uid and gid ranges as the tracer
    sees them; None in the tracer's namespace."""

    __slots__ = ("capable", "fsgid", "fsuid", "groups", "maps", "override")

    def __init__(self, fsuid: int, fsgid: int, groups: frozenset[int], capable: bool,
                 maps: tuple[Ranges, Ranges] | None = None) -> None:
        self.fsuid, self.fsgid, self.groups, self.capable = fsuid, fsgid, groups, capable
        self.maps = maps
        #: the capabilities override the check on every directory
        self.override = capable and maps is None

    @classmethod
    def of(cls, tid: int, real: bool = False) -> Credentials | None:
        """The task's, from /proc/TID/status (ids as the tracer's namespace sees them) and,
        in another user namespace, its uid_map and gid_map; None when it is gone.

        ``real``: those access(2) looks up with (faccessat and faccessat2 without
        AT_EACCESS: fs/open.c access_override_creds) -- the real uid and gid as fsuid and
        fsgid, the same groups, and the capabilities of a real root (all it is permitted)
        or of no one (none): a set-user-ID program asks whether its caller may.  In another
        user namespace (whose root is an id the tracer cannot tell from the maps it keeps)
        the task's own fs credentials, as before -- not exact."""
        try:
            maps = None
            if os.stat(f"/proc/{tid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino:
                maps = (_id_ranges(f"/proc/{tid}/uid_map"), _id_ranges(f"/proc/{tid}/gid_map"))
            # (one reader of the status file's lines: procfs.status_lines, at \n alone)
            status = procfs.read(f"/proc/{tid}/status")
            uid, gid, caps = _looker(status, real and maps is None)
            groups = frozenset(int(g) for g in
                               (procfs.status_value(status, b"Groups") or b"").split())
            if caps is None:  # (no CapEff line)
                return None
            capable = bool(caps >> CAP_DAC_OVERRIDE & 1 or caps >> CAP_DAC_READ_SEARCH & 1)
        except (OSError, ValueError, IndexError):
            return None
        return cls(uid, gid, groups, capable, maps)

    def searches_as(self, other: Credentials) -> bool:
        """Whether these credentials let search exactly the directories ``other`` lets
        search: both override the check, or neither does and fsuid, fsgid and groups are
        the same (what :meth:`may_search` reads); never for a task in another user namespace
        (what its capabilities override depends on the directory).  _cloop.c's
        searches_otherwise mirrors this (and creds_of :meth:`of`) for the execs the native
        loop serves: change one, change the other."""
        if self.maps is not None or other.maps is not None:
            return False
        if self.override or other.override:
            return self.override and other.override
        return (self.fsuid, self.fsgid, self.groups) == (other.fsuid, other.fsgid, other.groups)

    def in_group(self, gid: int) -> bool:
        return gid == self.fsgid or gid in self.groups

    def may_search(self, fd: int, tgid: int | None = None) -> bool:
        """Whether the kernel lets the task (of thread group ``tgid``) look up names in the
        directory ``fd`` holds (generic_permission with MAY_EXEC: owner, POSIX ACL, group,
        other bits; a directory's DAC is overridden by either capability; and a /proc fd
        directory of the task's own thread group is searchable whatever its mode:
        :func:`_own_fd_directory`)."""
        if self.override:
            return True
        info = os.fstat(fd)
        return self._dac_allows(fd, info) or (
            self.capable and self.maps is not None
            and _in_ranges(self.maps[0], info.st_uid) and _in_ranges(self.maps[1], info.st_gid)
        ) or (tgid is not None and _own_fd_directory(fd, tgid))

    def _dac_allows(self, fd: int, info: os.stat_result) -> bool:
        """acl_permission_check for MAY_EXEC: owner, POSIX ACL, group, other bits."""
        mode = info.st_mode
        if info.st_uid == self.fsuid:
            return bool(mode & 0o100)
        if mode & 0o070:
            acl = _access_acl(fd)
            if acl is not None:
                return self._acl_allows(acl, info)
        if self.in_group(info.st_gid):
            return bool(mode & 0o010)
        return bool(mode & 0o001)

    def _acl_allows(self, acl: list[tuple[int, int, int]], info: os.stat_result) -> bool:
        """posix_acl_permission for MAY_EXEC (its entries in the xattr's order, which is the
        kernel's): a named user's entry, or the first group entry granting it, masked; else
        ``other`` -- unless the task was in a group none of whose entries granted it."""
        found = False
        for index, (tag, perm, ident) in enumerate(acl):
            if tag == ACL_USER_OBJ:
                if info.st_uid == self.fsuid:
                    return bool(perm & 1)
            elif tag == ACL_USER:
                if ident == self.fsuid:
                    return _masked(acl, index, perm)
            elif tag in (ACL_GROUP_OBJ, ACL_GROUP):
                gid = info.st_gid if tag == ACL_GROUP_OBJ else ident
                if self.in_group(gid):
                    found = True
                    if perm & 1:
                        return _masked(acl, index, perm)
            elif tag == ACL_OTHER:
                return False if found else bool(perm & 1)
        return False  # (the kernel: EIO, a malformed ACL)


#: a user namespace's id map: (first id outside, count) ranges, as the tracer sees them
Ranges = tuple[tuple[int, int], ...]


def _id_ranges(path: str) -> Ranges:
    """The ranges of /proc/TID/uid_map or gid_map (its second column is the tracer's ids)."""
    with open(path, encoding="ascii") as found:
        return tuple((int(fields[1]), int(fields[2]))
                     for fields in (line.split() for line in found) if len(fields) == 3)


#: the /proc directories a task of the process may search whatever their mode
#: (proc_fd_permission: fd, and map_files, whose links then want CAP_SYS_ADMIN: _may_follow)
_OWN_DIRS = ("fd", "map_files")


def _own_fd_directory(fd: int, tgid: int) -> bool:
    """Whether ``fd`` holds the /proc fd (or map_files) directory of a task of thread group
    ``tgid`` (/proc/PID/fd or /proc/PID/task/TID/fd): the kernel lets such a task search it
    whatever its mode (proc_fd_permission, after generic_permission failed) -- a process that is not
    dumpable (it changed its effective uid) has root's 0500 there and still looks its own
    descriptors up (LTP openat04's linkat of /proc/self/fd/N).  The tracer's name of the
    directory proposes, its inode decides: it must be the very inode of the tracer's own
    /proc/PID/fd -- the name is the mount's path in the task's mount namespace, where a user
    namespace's root can bind another process's fd directory at /proc/<its own pid>/fd on a
    tmpfs over /proc (review 56).  A /proc of another pid namespace matches nothing (the mode
    bits decide, fail closed)."""
    try:
        if fs_type(fd) != PROC_SUPER_MAGIC:
            return False
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    parts = where.split("/")
    if len(parts) not in (4, 6) or parts[:2] != ["", "proc"] or parts[-1] not in _OWN_DIRS \
            or not parts[2].isdigit() or (len(parts) == 6 and (parts[3] != "task"
                                                               or not parts[4].isdigit())):
        return False
    pid = int(parts[2])
    try:
        held, mine = os.fstat(fd), os.stat(where, follow_symlinks=False)
    except OSError:
        return False
    # (a thread's own /proc/TID, not listed but there: its thread group's)
    return (held.st_dev, held.st_ino) == (mine.st_dev, mine.st_ino) and (
        pid == tgid or procfs.status_numbers(pid, b"Tgid") == [tgid])


def _own_process_dir(cur: int, name: str, tgid: int) -> bool:
    """Whether the /proc directory ``cur`` (``name``: the tracer's name of it) is a directory of
    process ``tgid`` that holds magic links: /proc/TGID, /proc/TGID/task/TID, or their fd, ns
    or map_files -- a thread of that process (its task directory lists only its own), whose
    links the kernel lets it follow (same_thread_group).  The name only proposes: a task that
    mounts (a user namespace's root, in a mount namespace of its own) can bind another
    process's /proc directory at a path the tracer reads as "/proc/TGID" (review 53); ``cur``
    itself must be the very inode the tracer's own /proc/TGID... is -- not its ".." (a bind of
    another process's fd directory over the task's own /proc/TGID/fd has the real /proc/TGID
    for its ".."; close 28).  Anything else (a thread's unlisted /proc/TID, another mount's
    name, an inode made anew) is False: _may_follow reads the statuses."""
    parts = name.split("/")
    if parts[-1] in ("fd", "ns", "map_files"):
        parts.pop()
    if len(parts) == 5 and (parts[3] != "task" or not parts[4].isdigit()):
        return False
    if len(parts) not in (3, 5) or parts[:2] != ["", "proc"] or parts[2] != str(tgid):
        return False
    try:
        held = os.fstat(cur)
        mine = os.stat(name, follow_symlinks=False)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (mine.st_dev, mine.st_ino)


#: how _may_follow reads what a /proc directory says of its process: within the mount of the
#: directory the walk stands in -- a file bound over one of the process's files, or a bind of
#: its fd directory whose ".." is another directory, answers EXDEV -- and following no link.
#: Read plainly those names were looked up through the task's own mounts (review 56).
_IN_PROC = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS


def _proc_open(directory: int, name: str, flags: int = os.O_RDONLY) -> int:
    """A descriptor of a file of a /proc directory, by a name looked up as :data:`_IN_PROC`
    says (OSError: EXDEV where a mount is on the way)."""
    return openat2(directory, os.fsencode(name), flags | os.O_CLOEXEC, _IN_PROC)


def _read_at(directory: int, name: str) -> bytes:
    """A /proc file's content, by its name relative to a directory descriptor, looked up as
    :data:`_IN_PROC` says (OSError)."""
    fd = _proc_open(directory, name)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _process_dir(cur: int) -> tuple[int, bool]:
    """The process directory (/proc/PID or /proc/PID/task/TID) whose magic link the walk
    follows from the /proc directory ``cur``: an O_PATH descriptor of it, and whether ``cur``
    is one below it (fd, ns, map_files) -- the directory holding ``status`` in ``cur``'s own
    mount, else ``cur``'s ".." in that mount, which a bind of the fd directory elsewhere does
    not have (EXDEV).  OSError where it cannot be told (EXDEV, a process gone)."""
    try:
        os.close(_proc_open(cur, "status", os.O_PATH))
    except FileNotFoundError:
        return _proc_open(cur, "..", os.O_PATH | os.O_DIRECTORY), True
    return _proc_open(cur, ".", os.O_PATH | os.O_DIRECTORY), False


def _user_ns_of(process: int) -> int:
    """The inode of the user namespace of the process whose /proc directory ``process`` holds:
    the number its ns/user link's text gives (proc_ns_readlink, "user:[INODE]"), the link
    itself opened in the directory's mount (a mount on it: EXDEV) -- following it would
    leave the mount.  ValueError on another text."""
    fd = _proc_open(process, "ns/user", os.O_PATH | os.O_NOFOLLOW)
    try:
        text = os.readlink("", dir_fd=fd)
    finally:
        os.close(fd)
    if not (text.startswith("user:[") and text.endswith("]")):
        raise ValueError(f"not a user namespace: {text!r}")
    return int(text[6:-1])


def _dump_owner(process: int, tracers_ns: bool) -> tuple[tuple[int, int],
                                                        tuple[tuple[int, int], ...]]:
    """Who owns a process's /proc files (task_dump_owner) -- its effective ids while it is
    dumpable, else its memory's user namespace's root (the global root where that has none)
    -- and the owners a process that is not dumpable may show: (0, 0) and, in another user
    namespace than the tracer's, that namespace's root.  Read from its ``fd`` directory: the
    process directory itself (mode 0555) is its effective ids' whatever its dumpability
    (task_dump_owner skips S_IFDIR|0555), so that owner told nothing (review 53: a process
    of the task's own ids that made itself not dumpable had its links followed).
    ``process``: the process directory (:func:`_process_dir`); ``tracers_ns``: whether the
    process's credentials are in the tracer's user namespace."""
    fd = _proc_open(process, "fd", os.O_PATH | os.O_DIRECTORY)
    try:
        owner = os.fstat(fd)
    finally:
        os.close(fd)
    roots = [(0, 0)]
    if not tracers_ns:
        roots.append((_root_of(_read_at(process, "uid_map")),
                      _root_of(_read_at(process, "gid_map"))))
    return (owner.st_uid, owner.st_gid), tuple(roots)


def _root_of(id_map: bytes) -> int:
    """The global id a user namespace's id 0 maps to (its uid_map or gid_map as the tracer
    reads it); 0, the global root, where it maps none (make_kuid's fallback in
    task_dump_owner)."""
    for line in id_map.splitlines():
        fields = line.split()
        if len(fields) == 3 and int(fields[0]) == 0:
            return int(fields[1])
    return 0


def _in_own_userns(tid: int) -> bool:
    """Whether the task is in the tracer's user namespace."""
    return os.stat(f"/proc/{tid}/ns/user").st_ino == os.stat("/proc/self/ns/user").st_ino


def _is_map_files(directory: int) -> bool:
    """Whether a /proc directory descriptor holds a process's map_files directory."""
    try:
        return os.readlink(f"/proc/self/fd/{directory}").endswith("/map_files")
    except OSError:
        return False


def _all_ids(status: bytes, name: bytes) -> list[int]:
    """A status text's Uid or Gid line: real, effective, saved and fs ids."""
    return [int(n) for n in (procfs.status_value(status, name) or b"").split()]


def _ids(status: bytes, index: int) -> tuple[int, int]:
    """The task's uid and gid of one kind (0: real, 3: fs) from its status text."""
    return _all_ids(status, b"Uid")[index], _all_ids(status, b"Gid")[index]


def _looker(status: bytes, real: bool) -> tuple[int, int, int | None]:
    """The uid, gid and capabilities (a mask; None without its line) a task's lookups are
    checked with, from its status text: its fs ids and effective capabilities -- or, for
    access(2) (``real``: access_override_creds), its real ids with a real root's permitted
    capabilities, or none for any other real user (cap_clear).  Credentials.of and
    PathResolver._may_follow both ask it."""
    uid, gid = _ids(status, 0 if real else 3)
    mask = procfs.status_value(status, b"CapPrm" if real and uid == 0 else b"CapEff")
    if mask is None:
        return uid, gid, None
    return uid, gid, int(mask, 16) if not real or uid == 0 else 0


def _caps(status: bytes, name: bytes) -> int:
    """A capability set of a status text (CapEff, CapPrm) as a mask; 0 without the line."""
    return int(procfs.status_value(status, name) or b"0", 16)


def _searchable(directory: str, creds: Credentials) -> bool:
    """Whether a task with ``creds`` may look up names in ``directory`` (False when it
    cannot be opened: the lookup stops there too)."""
    try:
        fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return creds.may_search(fd)
    finally:
        os.close(fd)


def _in_ranges(ranges: Ranges, ident: int) -> bool:
    """Whether an id is mapped into the namespace (kuid_has_mapping, kgid_has_mapping)."""
    return any(first <= ident < first + count for first, count in ranges)


def _masked(acl: list[tuple[int, int, int]], index: int, perm: int) -> bool:
    """An ACL entry's grant of search, under the ACL's mask entry when it has one."""
    for tag, mask, _ in acl[index + 1:]:
        if tag == ACL_MASK:
            return bool(perm & mask & 1)
    return bool(perm & 1)


def _access_acl(fd: int) -> list[tuple[int, int, int]] | None:
    """The directory's POSIX access ACL as (tag, perm, id) entries, or None (it has none)."""
    try:
        raw = os.getxattr(f"/proc/self/fd/{fd}", XATTR_POSIX_ACL_ACCESS)
    except OSError:
        return None
    if len(raw) < 4 or (len(raw) - 4) % 8:
        return None
    return [(int.from_bytes(raw[at:at + 2], "little"), int.from_bytes(raw[at + 2:at + 4], "little"),
             int.from_bytes(raw[at + 4:at + 8], "little")) for at in range(4, len(raw), 8)]


class _Name:
    """A name for rules (``path``), the task's own spelling (``local``, see
    Resolved.local) and whether no rule could match it (``unnamed``: ``path`` is then only a
    description, /proc's text)."""

    __slots__ = ("local", "path", "unnamed")

    def __init__(self, path: str, local: str | None, unnamed: bool = False) -> None:
        self.path, self.local, self.unnamed = path, local, unnamed

    def resolved(self, **kw: bool) -> Resolved:
        return Resolved(self.path, local=self.local, unnamed=self.unnamed, **kw)

    def below(self, rest: str, **kw: bool) -> Resolved:
        """What ``rest`` (a last name, or the missing rest of a path) is called under it."""
        path = _join(self.path, rest)
        local = self.local
        if local:
            local = _join(local, rest)
        if kw.get("unreachable"):
            path = _lexical(path)
            local = _lexical(local) if local else local
        return Resolved(path, local=local, unnamed=self.unnamed, **kw)


class _Walk:
    """The descriptors one walk holds: the ones it keeps to the end (the root), and the one it
    stands on, closed as it moves on (a path of a thousand components holds two)."""

    def __init__(self) -> None:
        self.fds: list[int] = []

    def keep(self, fd: int) -> int:
        self.fds.append(fd)
        return fd

    def release(self, fd: int) -> None:
        self.fds.remove(fd)
        os.close(fd)

    def move(self, old: int, new: int, *kept: int) -> int:
        """Stand on ``new`` instead of ``old`` (closed unless it is one of ``kept``)."""
        self.keep(new)
        if old not in kept:
            self.release(old)
        return new

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


class LandlockDomain:
    """A Landlock domain a task of the tree was seen to enter (landlock_restrict_self), below
    the one it was in (``parent``).  Landlock refuses ptrace_may_access -- READ too, so another
    process's magic links -- from a task in a domain to any task not in that domain or one
    nested below it (hook_ptrace_access_check, domain_scope_le), whatever their ids (review
    56): PathResolver._may_follow asks :meth:`PathResolver.domain_allows`.  Compared by
    identity; kept across fork (the child's credentials are a copy) and exec."""

    __slots__ = ("parent",)

    def __init__(self, parent: LandlockDomain | None) -> None:
        self.parent = parent


class PathResolver:
    """Resolves paths for tasks of this tracer."""

    def __init__(self) -> None:
        self._tracer_proc = f"/proc/{os.getpid()}"
        self._proc_dev = os.stat(self._tracer_proc).st_dev  # the tracer's own procfs
        own = namespace_key("/proc/self/ns/mnt")
        #: every mount namespace a task of the tree was seen in (namespace_key)
        self.namespaces: dict[str, Namespace] = {own: Namespace(own, True, os.getpid())}
        self.own_namespace = own
        # "strict": names read from /proc are checked to name the object in the tracer's view
        # (a descriptor may come from another namespace, or a detached mount): from the first
        # call that may change a view, or when a procfs other than /proc is mounted
        self.strict = sum(entry.fstype == "proc" for entry in self._mounts_of(
            self.namespaces[own]).values()) > 1
        #: (mount id, root's device, inode) -> (what made it, the source: open_tree's)
        self._detached: dict[tuple[int, int, int], tuple[str, Resolved | None]] = {}
        #: the tracer's own credentials: its lookups (the fast way, the walk) are checked with
        #: them; a task with others may be refused where the tracer is not (search_as_task)
        self._own = Credentials.of(_thread.get_native_id())
        #: tasks' credentials as last read, kept until they may change: the tracer forgets
        #: them at a call that may change them (syscalls.CHANGES_CREDENTIALS, which always
        #: stops), at exec and when the task is gone; a task is ``changing`` from such a
        #: call's entry to its next stop, and read afresh, never kept, meanwhile
        self._credentials: dict[int, Credentials | None] = {}
        self._real_credentials: dict[int, Credentials | None] = {}  # (access's: credentials)
        self._real_lookups: set[int] = set()  # tasks in an access call (looks_as_real)
        self.changing: set[int] = set()
        #: the Landlock domain each task of the tree was seen to enter, or inherited from the
        #: task that made it (a task absent: none seen; one entered before the run is not)
        self._domains: dict[int, LandlockDomain] = {}
        # whether /proc is that procfs' root, so /proc/self of a task of the tracer's tree
        # is /proc/<its pid> (else its /proc entries are always walked)
        fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            proc = os.fstat(fd)
            self.proc_here = (fs_type(fd) == PROC_SUPER_MAGIC and proc.st_ino == PROC_ROOT_INO
                               and proc.st_dev == self._proc_dev)
        finally:
            os.close(fd)

    # --- whose permission a lookup is checked with -------------------------------------------
    def credentials(self, tid: int, real: bool | None = None) -> Credentials | None:
        """The credentials the task's lookups are checked with (Credentials.of), kept until
        they may change: its fs ones -- or, for the call it is in when that is an access
        (:meth:`looks_as_real`; ``real`` says which instead), its real ones."""
        if real is None:
            real = tid in self._real_lookups
        if tid in self.changing:
            return Credentials.of(tid, real)
        kept = self._real_credentials if real else self._credentials
        try:
            return kept[tid]
        except KeyError:
            found = Credentials.of(tid, real)
            # (a user namespace's map is written once, by another process, after it is made:
            # until both are, not kept -- its capabilities come to hold over what they map)
            if found is None or found.maps is None or all(found.maps):
                kept[tid] = found
            return found

    def looks_as_real(self, tid: int, real: bool) -> None:
        """Whether the call task ``tid`` is now in looks its paths up with its real ids
        (access, faccessat, faccessat2 without AT_EACCESS: the kernel's
        access_override_creds), until its next call -- set as each call is decoded (a task
        is in one call at a time)."""
        if real:
            self._real_lookups.add(tid)
        else:
            self._real_lookups.discard(tid)

    def searches_as_tracer(self, tid: int, real: bool | None = None) -> bool:
        """Whether the task may search exactly the directories the tracer may: only then is
        the tracer's own lookup (the fast way, the native loop's) the task's.  ``real``: as
        :meth:`credentials`."""
        if tid in self.changing:
            return False
        creds = self.credentials(tid, real)
        return creds is not None and self._own is not None and creds.searches_as(self._own)

    def access_looks_otherwise(self, tid: int) -> bool:
        """Whether an access(2) of the task looks up as other credentials than its other
        calls (its real ids, or a real root's capabilities, are not its fs ones: a
        set-user-ID program, a root that dropped only its effective uid): the native loop
        then hands its lookups that look where their canonical spelling does not to Python,
        which walks them with those (_cloop.c searches_otherwise mirrors this)."""
        if tid in self.changing:
            return True
        own, real = self.credentials(tid, False), self.credentials(tid, True)
        return own is None or real is None or not real.searches_as(own)

    def reaches(self, tid: int, directory: str) -> bool:
        """Whether the task may search every directory on the way from "/" to ``directory``
        (a name in the tracer's view): only then does an absolute spelling below it look up
        what the task's own spelling relative to it does.  (A task whose cwd lies below a
        directory it may not search reaches its files relative to it alone: access02 with
        a 0700 TMPDIR.)"""
        if self.searches_as_tracer(tid):
            return True
        creds = self.credentials(tid)
        if creds is None or creds.override:
            return True  # (gone: the call fails; or it searches every directory)
        parts = [c for c in directory.split("/") if c]
        return all(_searchable("/" + "/".join(parts[:i]), creds) for i in range(len(parts)))

    def forget_credentials(self, tid: int, changing: bool = False) -> None:
        """The task's credentials may have changed (exec, gone); ``changing``: it entered a
        call that may change them, which has not returned yet."""
        self._credentials.pop(tid, None)
        self._real_credentials.pop(tid, None)
        if not changing:
            self._real_lookups.discard(tid)  # (gone, or exec'd: its next call is decoded)
        if changing:
            self.changing.add(tid)
        else:
            self.changing.discard(tid)

    def entered_domain(self, tid: int) -> None:
        """The task's landlock_restrict_self returned 0: it is in a new domain, nested in the
        one it was in (the tracer: at the call's exit stop, Tracer._noted)."""
        self._domains[tid] = LandlockDomain(self._domains.get(tid))

    def inherit_domain(self, parent: int, child: int) -> None:
        """A new task (any clone: a new user namespace too) is in its parent's domain."""
        domain = self._domains.get(parent)
        if domain is not None:
            self._domains[child] = domain

    def moved_domain(self, former: int, tid: int) -> None:
        """The task ``former`` now has the tid ``tid`` (a thread's exec took its leader's:
        de_thread), or is gone (``tid`` -1): its domain goes with it, the old holder's not."""
        domain = self._domains.pop(former, None)
        if tid >= 0:
            self._domains.pop(tid, None)
            if domain is not None:
                self._domains[tid] = domain

    def domain_allows(self, tid: int, process: int, target: bytes) -> bool:
        """Whether Landlock lets the task read the process whose /proc directory is
        ``process`` (``target``: its status, read in that directory's mount): the task in no
        domain the tracer saw it enter, or the process's task (its Pid) a task of the tree
        in the same domain or one nested below it.  Anything else is refused: a process
        outside the tree, one of another pid namespace's /proc (its Pid is not the tracer's),
        a task in another domain (hook_ptrace_access_check)."""
        mine = self._domains.get(tid)
        if mine is None:
            return True
        if os.fstat(process).st_dev != self._proc_dev:
            return False
        theirs = self._domains.get(int(procfs.status_value(target, b"Pid") or b"0"))
        while theirs is not None:
            if theirs is mine:
                return True
            theirs = theirs.parent
        return False

    def inherit_credentials(self, parent: int, child: int) -> None:
        """A new task got a copy of its parent's credentials (clone without CLONE_NEWUSER)."""
        if parent not in self.changing and parent in self._credentials:
            self._credentials[child] = self._credentials[parent]
        if parent not in self.changing and parent in self._real_credentials:
            self._real_credentials[child] = self._real_credentials[parent]

    # --- where a relative path starts -------------------------------------------------------
    def cwd_of(self, tid: int) -> str:
        """The task's cwd (a name longer than PATH_MAX is built, see _long_name)."""
        return self._link_text(tid, f"/proc/{tid}/cwd")

    def fd_path(self, tid: int, fd: int) -> str:
        """What a descriptor of the task refers to ("pipe:[…]" and the like for non-files)."""
        return self._link_text(tid, f"/proc/{tid}/fd/{fd}")

    def descriptor(self, tid: int, fd: int, view: View) -> Resolved:
        """What a descriptor of the task (AT_FDCWD: its cwd) refers to, named as a path it
        resolves to would be: a file's name, or a pseudo name ("pipe:[...]", "fd:N")."""
        link = f"/proc/{tid}/cwd" if fd == AT_FDCWD else f"/proc/{tid}/fd/{fd}"
        if view.host and not self.strict:
            try:
                text = self._link_text(tid, link)
            except OSError as exc:
                return _unread_descriptor(fd, exc)
            if not text.endswith(_DELETED):  # (a removed file: the walk tells which)
                return Resolved(text, pseudo=not text.startswith("/"))
        walk = _Walk()
        try:
            root = walk.keep(os.open(f"/proc/{tid}/root", os.O_PATH | os.O_DIRECTORY
                                     | os.O_CLOEXEC))
            held = walk.keep(os.open(link, os.O_PATH | os.O_CLOEXEC))
            return self._object(held, root, tid, view, False, False)
        except OSError as exc:
            return _unread_descriptor(fd, exc)
        finally:
            walk.close()

    def _link_text(self, tid: int, link: str) -> str:
        try:
            return os.readlink(link)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
        walk = _Walk()
        try:
            root = walk.keep(os.open(f"/proc/{tid}/root", DIR_FLAGS & ~os.O_NOFOLLOW))
            target = walk.keep(os.open(link, os.O_PATH | os.O_CLOEXEC))
            name = self._long_name(target, root, tid, HOST)
        finally:
            walk.close()
        if name is None:
            raise OSError(errno.ENAMETOOLONG, "a name longer than PATH_MAX", link)
        return name

    def view_of(self, tid: int, before: View | None = None, joined: bool = False) -> View:
        """The task's view: whether it sees the tracer's tree (the same mount namespace and
        root -- only then may its paths be resolved in the tracer's view), and which
        namespace it is in.  A namespace not seen before is trusted when the task's view
        ``before`` was in a trusted one and it did not ``join`` one made elsewhere (setns):
        then it is a copy the task made (CLONE_NEWNS), and its pivot_roots so far are
        the copy's."""
        try:
            key = namespace_key(f"/proc/{tid}/ns/mnt")
            root, own = os.stat(f"/proc/{tid}/root"), os.stat("/")
            host = (key == self.own_namespace and os.readlink(f"/proc/{tid}/root") == "/"
                    and (root.st_dev, root.st_ino) == (own.st_dev, own.st_ino))
        except OSError:
            key, host = f"gone:{tid}", False  # (a task that is gone: nothing to resolve)
        namespace = self.namespaces.get(key)
        if namespace is None:
            parent = self.namespaces.get(before.namespace) if before is not None else None
            trusted = parent is not None and parent.trusted and not joined
            namespace = self.namespaces[key] = Namespace(
                key, trusted, tid, list(parent.pivots) if parent is not None else [])
        namespace.task = tid
        if not host:
            self.strict = True
        return View(host, key)

    def pivoted(self, view: View, new_root: str, put_old: str, old_root: int) -> None:
        """A pivot_root made in the view's namespace (``new_root``: its name before; put_old:
        the old root's place, in the new root's names; ``old_root``: the old root's mount)."""
        namespace = self.namespaces.get(view.namespace)
        if namespace is not None:
            namespace.pivots.append(Pivot(new_root, put_old, old_root))

    def lost(self, view: View) -> None:
        """A pivot_root made in the view's namespace that the tracer could not follow: names
        only that namespace has no longer mean what they meant, so it has none any more."""
        namespace = self.namespaces.get(view.namespace)
        if namespace is not None:
            namespace.trusted = False

    def forget_mounts(self) -> None:
        """A call may have changed some namespace's mounts: read them again when needed."""
        for namespace in self.namespaces.values():
            namespace.mounts = None

    def _mounts_of(self, namespace: Namespace) -> dict[int, MountEntry]:
        if namespace.mounts is None:
            try:
                with open(f"/proc/{namespace.task}/mountinfo", encoding="utf-8",
                          errors="surrogateescape") as info:
                    entries = parse_mountinfo(info.read())
            except OSError:
                entries = []
            namespace.mounts = {entry.mount_id: entry for entry in entries}
        return namespace.mounts

    def mounts(self, view: View) -> dict[int, MountEntry]:
        """The mounts of the view's namespace, by id (empty when they cannot be read)."""
        namespace = self.namespaces.get(view.namespace)
        return self._mounts_of(namespace) if namespace is not None else {}

    def own_mounts(self) -> dict[int, MountEntry]:
        """The mounts of the tracer's view, by id (empty when they cannot be read) -- read
        from the tracer's own mountinfo: the task its namespace was last seen by may have
        left it since (unshare), and its mountinfo is then another namespace's (review 29:
        a tmpfs a task mounted in its private copy was taken for one of the tracer's).  Read
        at each ask: a mount of another task may have ended since the last, its view call's
        entry (Tracer._views_changed) long past -- a call's decision asks once
        (DecodedCall.own_mounts)."""
        try:
            with open("/proc/self/mountinfo", encoding="utf-8",
                      errors="surrogateescape") as info:
                entries = parse_mountinfo(info.read())
        except OSError:
            entries = []
        return {entry.mount_id: entry for entry in entries}

    def note_detached(self, tid: int, fd: int, kind: str, source: Resolved | None = None
                      ) -> None:
        """The task's descriptor ``fd`` holds a detached mount made by a call the engine
        decided: a copy of a tree (``kind`` "tree": open_tree, decided as shown anywhere;
        ``source``, what it was copied from, resolved: None when unknown) or a new file system
        ("new": fsmount, whose device is checked when it is attached).  Known by its mount
        id and its root's identity (a mount id may be reused once the mount is gone)."""
        with contextlib.suppress(OSError):
            held = os.open(f"/proc/{tid}/fd/{fd}", os.O_PATH | os.O_CLOEXEC)
            try:
                self._detached[mounted_file(held)] = (kind, source)
            finally:
                os.close(held)

    def detached(self, fd: int) -> str | None:
        """What made the detached mount whose root is the tracer's descriptor ``fd``
        (:meth:`note_detached`), or None (not one a decided call made)."""
        found = self.detached_from(fd)
        return found[0] if found is not None else None

    def detached_from(self, fd: int) -> tuple[str, Resolved | None] | None:
        """(What made it, the name its tree was copied from) of the detached mount whose
        root is the tracer's descriptor ``fd`` (:meth:`note_detached`), or None."""
        return self._detached.get(mounted_file(fd))

    def mount_root(self, tid: int) -> int:
        """The id of the mount the task's root is on."""
        fd = os.open(f"/proc/{tid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return mount_id(fd)
        finally:
            os.close(fd)

    def resolve(self, tid: int, tgid: int, raw: str, dirfd: int = AT_FDCWD, follow: bool = True,
                view: View = HOST, restrict: int = 0, creates: bool = False) -> Resolved:
        """Resolve ``raw`` as task ``tid`` (of process ``tgid``, in ``view``) would, from
        ``dirfd``; ``restrict``: openat2's RESOLVE_* flags (those of WALK_RESOLVE are the
        walk's to apply, component by component).  ``creates``: the call is an open that
        creates its last name and follows it (O_CREAT without O_EXCL, O_NOFOLLOW, O_PATH):
        a symlink it follows there whose text ends in "/" ends the lookup at that text's last
        name, which the kernel does not look up -- EISDIR (fs/namei.c open_last_lookups: a
        trailing slash on the name to create), raised once the walk has found its
        directory."""
        restrict &= WALK_RESOLVE
        if raw == "":
            return Resolved("", exists=False, pseudo=True)
        if _too_long(raw):
            raise Unresolvable(errno.ENAMETOOLONG, "path longer than PATH_MAX")
        stripped = raw.rstrip("/") if raw[-1] == "/" else raw
        slash = stripped != raw and stripped != ""
        literal = not follow and (stripped in (".", "..") or stripped.endswith(("/.", "/..")))
        # a trailing slash makes the kernel follow the last component; a call that acts on
        # the last name itself then fails, and the walk tells which case it is
        walk_slash = slash and not follow
        found = None
        base = None
        if view.host and not restrict:  # (restricted lookups are the walk's)
            base = "/" if raw[0] == "/" else self._start_name(tid, dirfd)
        if base is not None:
            if not slash and "/" not in raw and raw not in (".", ".."):
                # one name in a known directory (find, tar, ls -l...): the directory path read
                # from /proc is already canonical; only the name itself may be a symlink
                found = self._simple(base, raw, follow)
            elif self.proc_here and raw.startswith(("/proc/self/", "/proc/thread-self/")):
                # the calling task's own /proc entries: one link (self), then none at all
                head, _, rest = raw[6:].partition("/")
                own = f"/proc/{tgid}" if head == "self" else f"/proc/{tgid}/task/{tid}"
                found = self._fast(f"{own}/{rest}", follow or slash, plain_only=True)
                if found is not None:
                    found.direct = False
            if found is None:
                found = self._fast(raw if raw[0] == "/" else _join(base, raw),
                                   follow or slash, plain_only=walk_slash, creates=creates)
        # (every spelling: a refusal by a rule answers the rule's errno, a missing path's
        # ENOENT -- where the task's own lookup fails first in a directory it may not
        # search, with EACCES whatever is there)
        own_search = not restrict and not self.searches_as_tracer(tid)
        if found is None:
            # a task whose search permission is not the tracer's: one walk that checks it
            # (a restricted lookup's walk always does)
            found = self._walk(tid, tgid, raw, dirfd, follow, view, restrict, own_search,
                               creates)
        elif own_search:
            self._search_as_task(tid, tgid, raw, dirfd, follow, view)
        if base is not None and raw[0] != "/":
            found.start = base
        elif restrict and view.host and (raw[0] != "/" or restrict & RESOLVE_IN_ROOT):
            # a scoped or restricted lookup starts at its dirfd (an in-root "/" too)
            with contextlib.suppress(OSError, Unresolvable):
                found.start = self._start_name(tid, dirfd)
        found.slash = found.slash or slash
        found.literal_last = found.literal_last or literal
        return found

    def _search_as_task(self, tid: int, tgid: int, raw: str, dirfd: int, follow: bool,
                        view: View) -> None:
        """A lookup that succeeded with the tracer's credentials the fast way (a walk checks
        the task's own as it goes: _walk's ``own_search``), for a task with others,
        through a directory its canonical spelling does not look in ("DIR/.", "DIR/..", a
        symlink in DIR, "DIR/name/.." with or without a "name"): walked again checking the
        task's search permission, the kernel's EACCES raised where it fails.  (The call may be
        handed to the kernel by its canonical spelling, whose lookup does not look in DIR:
        it would succeed where the task's own fails, and tell whether "name" exists in a
        directory the task may not search.)  Every spelling is walked so: one through no such
        directory looks in the same directories as the canonical one, but what the engine
        answers itself -- a rule's refusal, a missing path's ENOENT -- would tell what is
        there, where the kernel answers EACCES."""
        creds = self.credentials(tid)
        if creds is None or creds.override:
            return  # (gone: the call fails; or the task searches every directory)
        try:
            self._walk_once(tid, tgid, raw, dirfd, follow, view, 0, creds)
        except Unresolvable as exc:
            if exc.errno == errno.EACCES:
                raise

    def passed_through(self, tid: int, raw: str, dirfd: int, follow: bool,
                       view: View, restrict: int = 0,
                       creates: bool = False) -> list[tuple[str, str]]:
        """What the kernel's lookup of ``raw`` looks at on its way, by name, besides where it
        ends: each directory it enters ("dir") and each symlink it reads ("link"), in the
        task's view (a task that sees the tracer's tree; [] for the others, and for the
        calling task's /proc, whose links are magic).  Rules decide the name a lookup ends
        on; one that passes through a directory a rule refuses looks at -- a symlink in it
        followed elsewhere, ".." after one of its entries -- tells what is there (which
        entries exist and what they are, where links point): the caller decides these too
        (Supervisor._traversal).  A name the lookup cannot pass ends the list: the lookup
        fails there (the caller's errno comes from the resolution).  ``restrict``: openat2's
        RESOLVE_* flags (a scoped lookup's root is its start directory); ``creates``: as for
        :meth:`resolve` (the last name of a link's text that ends in "/" is not looked at)."""
        if not view.host:
            return []
        scoped = restrict & SCOPED
        try:
            base = "/" if raw.startswith("/") and not scoped else self._start_name(tid, dirfd)
        except (Unresolvable, OSError):
            return []  # no start (a closed dirfd...): the lookup fails before any step
        if base is None or (restrict & RESOLVE_BENEATH and raw.startswith("/")):
            return []
        parts = [c for c in base.split("/") if c]
        top = list(parts) if scoped else []
        pending = [c for c in reversed(raw.split("/")) if c]
        seen: list[tuple[str, str]] = []
        links = 0
        rooted = raw.startswith("/") or bool(scoped)  # (see _walk_from)
        unlooked = False  # the last name is one to create with a slash (see _walk_from)
        # a task whose search permission is not the tracer's: its lookup fails in the first
        # directory it may not search (may_lookup), and looks at nothing beyond
        creds = None if self.searches_as_tracer(tid) else self.credentials(tid)
        if creds is not None and creds.override:
            creds = None
        while pending:
            comp = pending.pop()
            if creds is not None and not _searchable("/" + "/".join(parts), creds):
                return seen
            if comp == ".":
                continue
            if comp == "..":
                rooted = True
                if parts == top and restrict & RESOLVE_BENEATH:
                    return seen  # EXDEV
                if parts != top:
                    parts.pop()
                continue
            path = "/" + "/".join([*parts, comp])
            last = not pending
            if last and unlooked:
                return seen
            if path == "/proc" or path.startswith("/proc/"):
                # the task's own /proc: "self" is the task, and a magic link (cwd, root,
                # fd/N) jumps to the directory it names -- a walk on from there looks at
                # what it passes there too ("/proc/self/cwd/x/link/.."); any other /proc
                # name ends the list (what it reaches is the resolver's to name)
                step = self._proc_step(tid, parts, comp, follow or not last, restrict)
                if step is None:
                    return seen
                parts, more, jumped = step
                links += jumped
                if links > MAX_SYMLINKS:
                    return seen
                pending.extend(reversed(more))
                continue
            try:
                info = os.lstat(path)
            except OSError:
                return seen
            if stat.S_ISLNK(info.st_mode) and (follow or not last):
                links += 1
                if links > MAX_SYMLINKS or restrict & RESOLVE_NO_SYMLINKS:
                    return seen
                try:
                    body = os.readlink(path)
                except OSError:
                    return seen
                seen.append((path, "link"))
                if body.startswith("/"):
                    if restrict & RESOLVE_BENEATH or (restrict & RESOLVE_NO_XDEV
                                                      and not rooted):
                        return seen  # EXDEV
                    rooted = True
                    parts = list(top)
                unlooked = unlooked or (last and creates and body.endswith("/"))
                pending.extend(c for c in reversed(body.split("/")) if c)
                continue
            if last or not stat.S_ISDIR(info.st_mode):
                return seen
            parts.append(comp)
            seen.append(("/" + "/".join(parts), "dir"))
        return seen

    @staticmethod
    def _proc_step(tid: int, parts: list[str], comp: str, follow: bool,
                   restrict: int) -> tuple[list[str], list[str], int] | None:
        """One step of passed_through under /proc, for task ``tid``: the directory the walk
        is in next, names to walk before the rest, and the links followed (0 or 1); None
        where the walk stops looking (not the task's own entries, a link to no directory
        path, a restricted lookup)."""
        if parts == [] or (parts == ["proc"] and comp not in ("self", "thread-self")):
            return [*parts, comp], [], 0  # /proc itself, /proc/PID: directories
        if parts == ["proc"]:
            group = procfs.status_numbers(tid, b"Tgid")
            if not group:
                return None
            own = [str(group[0])] if comp == "self" else [str(group[0]), "task", str(tid)]
            return ["proc"], own, 1
        path = "/" + "/".join([*parts, comp])
        group = procfs.status_numbers(tid, b"Tgid")
        if restrict or len(parts) < 2 or not group or parts[1] != str(group[0]):
            return None
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISLNK(info.st_mode):
            return ([*parts, comp], [], 0) if stat.S_ISDIR(info.st_mode) else None
        if not follow:
            return None
        try:
            body = os.readlink(path)
        except OSError:
            return None
        if not body.startswith("/") or body.endswith(" (deleted)") \
                or not os.path.isdir(body):
            return None
        return [c for c in body.split("/") if c], [], 1

    def _start_name(self, tid: int, dirfd: int) -> str | None:
        """The name of a relative path's start directory, or None when only the directory
        object will do (a name longer than PATH_MAX, a removed directory)."""
        link = f"/proc/{tid}/cwd" if dirfd == AT_FDCWD else f"/proc/{tid}/fd/{dirfd}"
        try:
            base = os.readlink(link)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                return None
            raise self._start_error(exc, dirfd) from exc
        if not base.startswith("/"):
            # not a directory at all (a pipe, a socket)
            raise Unresolvable(errno.ENOTDIR, f"dirfd {dirfd} is not a directory")
        if base.endswith(_DELETED) and not _same_file(base, link):
            return None  # removed: ".." may still lead out of it, the walk will tell
        if self.strict and not _same_file(base, link):
            return None  # another namespace's, or a detached mount's: the walk names it
        return base

    @staticmethod
    def _start_error(exc: OSError, dirfd: int) -> Unresolvable:
        if dirfd != AT_FDCWD and exc.errno == errno.ENOENT:
            return Unresolvable(errno.EBADF, f"dirfd {dirfd} is not open")
        return Unresolvable(exc.errno or errno.ENOENT, "start directory unreadable")

    def _simple(self, base: str, name: str, follow: bool) -> Resolved | None:
        if self._through_tracer(base) or base.startswith("/proc/"):
            return None
        path = _join(base, name)
        if _too_long(path):
            return None
        if not follow:
            return Resolved(path, exists=True, direct=True)  # existence matters to no rule
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return Resolved(path, exists=False, direct=True)
        except OSError:
            return None
        return None if stat.S_ISLNK(info.st_mode) else Resolved(path, direct=True)

    # --- the kernel does the work -------------------------------------------------------------
    def _fast(self, candidate: str, follow: bool, plain_only: bool = False,
              missing: int = 0, creates: bool = False) -> Resolved | None:
        """Resolved by one openat2 in the tracer's view (the task's, for a host-root task), or
        None when only the walk can tell.  ``plain_only``: succeed only for a path without
        symlinks.  ``missing``: how many missing names below this one are being looked up.
        ``creates``: as for :meth:`resolve` -- a last name that is a symlink is the walk's
        (the kernel may stop in its text, at a name it does not look up)."""
        encoded = candidate.encode("utf-8", "surrogateescape")
        if len(encoded) >= PATH_MAX:
            return None  # the walk starts from the directory objects
        flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
        # Most paths have no symlinks at all: one openat2 that refuses symlinks proves it, and
        # then the lexical form is the canonical one ("." and ".." only go where they say).
        if plain_only or "/proc" not in candidate:
            try:
                os.close(openat2(AT_FDCWD, encoded, flags, RESOLVE_NO_SYMLINKS))
                return Resolved(_lexical(candidate) if _unclean(candidate) else candidate,
                                direct=True)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    # no symlink on the way, the last name included: it is not there at all
                    return self._fast_missing(candidate, False, missing)
                if exc.errno != errno.ELOOP:
                    return None
        if plain_only:
            return None
        try:
            fd = openat2(AT_FDCWD, encoded, flags, RESOLVE_NO_MAGICLINKS)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return self._fast_missing(candidate, follow, missing)
            return None  # ELOOP (magic link, loop, too many links), EACCES, ENOTDIR...: walk
        if creates:
            try:
                last_is_link = stat.S_ISLNK(os.lstat(encoded).st_mode)
            except OSError:
                last_is_link = True  # (changed meanwhile: the walk tells)
            if last_is_link:
                os.close(fd)
                return None
        try:
            if self._proc_elsewhere(fd):
                return None
            canon = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None  # longer than PATH_MAX: the walk builds it
        finally:
            os.close(fd)
        if not canon.startswith("/") or canon.endswith(_DELETED) or self._through_tracer(canon):
            return None
        return Resolved(canon)

    def _proc_elsewhere(self, fd: int) -> bool:
        """Whether an object the fast way reached is in a procfs other than /proc (whose
        "self" the tracer's lookup took for its own): only the walk tells it right."""
        return self.strict and fs_type(fd) == PROC_SUPER_MAGIC

    def _fast_missing(self, candidate: str, follow: bool, missing: int) -> Resolved | None:
        """The lookup of ``candidate`` found a name missing: the last one (a path a creating
        call makes), or a directory on the way (``unreachable``).  ``follow``: the last name
        may be a symlink to nothing, which the kernel follows.  Past two missing names the
        walk finds the rest (in one pass; a path of a thousand missing names must not make a
        thousand nested lookups)."""
        if missing >= _MISSING_LOOKUPS:
            return None
        stripped = candidate.rstrip("/")
        parent, _, name = stripped.rpartition("/")
        parent_resolved = self._fast(parent or "/", True, missing=missing + 1)
        if parent_resolved is None:
            return None
        if not parent_resolved.exists or name in (".", ".."):
            if parent_resolved.exists:
                return None  # "." or ".." of a directory that exists: changed meanwhile
            return Resolved(
                _lexical(_join(parent_resolved.path, name)), exists=False,
                direct=parent_resolved.direct, unreachable=True,
                keep_spelling=parent_resolved.keep_spelling or name in (".", ".."))
        path = _join(parent_resolved.path, name)
        if follow:
            # a dangling symlink also fails the lookup with ENOENT, but the kernel follows it
            # (open with O_CREAT creates its target): only a name that is not there is missing
            try:
                os.lstat(path)
            except FileNotFoundError:
                pass
            except OSError:
                return None
            else:
                return None  # a symlink to nothing (or made meanwhile): the walk follows it
        return Resolved(path, exists=False, direct=parent_resolved.direct)

    def _through_tracer(self, canon: str) -> bool:
        return canon == self._tracer_proc or canon.startswith(self._tracer_proc + "/")

    # --- component by component, in the task's view ----------------------------------------
    def _walk(self, tid: int, tgid: int, raw: str, dirfd: int, follow: bool,
              view: View, restrict: int = 0, own_search: bool = False,
              creates: bool = False) -> Resolved:
        """The kernel's walk (fs/namei.c link_path_walk), on descriptors.  A walk that fails
        is walked again checking the task's search permission on every directory it looks
        in (may_lookup, which the kernel checks before each component): one the task may
        not search fails it first, with EACCES (the tracer's own credentials may let it
        further, to another failure).  A restricted lookup (openat2's RESOLVE_*), and one of
        a task whose search permission is not the tracer's (``own_search``, which
        :meth:`_search_as_task` would walk again), is walked with them at once: it succeeds
        only where the task's own would."""
        if restrict or own_search:
            # always walked, so walked once with the task's credentials (the call handed to
            # the kernel may look in fewer directories than the call's own lookup)
            creds = self.credentials(tid)
            return self._walk_once(tid, tgid, raw, dirfd, follow, view, restrict,
                                   creds if creds is not None and not creds.override else None,
                                   creates)
        try:
            return self._walk_once(tid, tgid, raw, dirfd, follow, view, restrict, None, creates)
        except Unresolvable as exc:
            if exc.errno == errno.EACCES:
                raise
            creds = self.credentials(tid)
            if creds is None or creds.override:
                raise
            try:
                self._walk_once(tid, tgid, raw, dirfd, follow, view, restrict, creds, creates)
            except Unresolvable as checked:
                if checked.errno == errno.EACCES:
                    raise checked from exc
            raise

    def _walk_once(self, tid: int, tgid: int, raw: str, dirfd: int, follow: bool,
                   view: View, restrict: int, creds: Credentials | None,
                   creates: bool = False) -> Resolved:
        walk = _Walk()
        try:
            return self._walk_from(walk, tid, tgid, raw, dirfd, follow, view, restrict, creds,
                                   creates)
        except OSError as exc:
            # a lookup of the tracer's that failed where the task's would too (EACCES:
            # the tracer may not look where the task may; then refused, fail closed)
            raise Unresolvable(exc.errno or errno.ENOENT, f"lookup fails: {exc}") from exc
        finally:
            walk.close()

    def _walk_from(self, walk: _Walk, tid: int, tgid: int, raw: str, dirfd: int, follow: bool,
                   view: View, restrict: int = 0, creds: Credentials | None = None,
                   creates: bool = False) -> Resolved:
        """The walk; ``restrict``: openat2's lookup restrictions (WALK_RESOLVE); ``creds``:
        the task's, to check its search permission with (else not checked); ``creates``: as
        for :meth:`resolve`."""
        root = walk.keep(os.open(f"/proc/{tid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        scoped = restrict & SCOPED
        if raw.startswith("/") and restrict & RESOLVE_BENEATH:
            raise Unresolvable(errno.EXDEV, "an absolute path beneath a directory")
        if raw.startswith("/") and not scoped:
            cur = root
        else:
            link = f"/proc/{tid}/cwd" if dirfd == AT_FDCWD else f"/proc/{tid}/fd/{dirfd}"
            try:
                cur = walk.keep(os.open(link, os.O_PATH | os.O_CLOEXEC))
            except OSError as exc:
                raise self._start_error(exc, dirfd) from exc
            if not stat.S_ISDIR(os.fstat(cur).st_mode):
                raise Unresolvable(errno.ENOTDIR, f"dirfd {dirfd} is not a directory")
        # the root of the lookup: ".." stops there, absolute symlinks start there (a scoped
        # lookup's is its start directory, the task's own root is only for naming)
        top = cur if scoped else root
        top_stat = os.fstat(top)
        slash = raw.endswith("/") and raw.rstrip("/") != ""
        pending = [c for c in reversed(raw.split("/")) if c]
        links = 0
        literal = False
        # the last name is one to create, with a trailing slash in the text of the link that
        # named it: the kernel stops there, once its directory is found (creates)
        unlooked = False
        # whether the kernel's lookup has its root yet (nd->root): an absolute or scoped one
        # from the start, a relative one from its first ".." or absolute symlink on
        rooted = raw.startswith("/") or bool(scoped)
        while pending:
            comp = pending.pop()
            last = not pending
            if creds is not None and not creds.may_search(cur, tgid):
                raise Unresolvable(errno.EACCES, "no search permission on a directory")
            if comp == ".":
                if creds is None:
                    # the kernel looks it up in cur, which the tracer may not search either
                    # (unchecked, the walk moves nowhere: nothing asks the kernel)
                    os.stat(".", dir_fd=cur)
                continue
            if comp == "..":
                rooted = True  # (handle_dots: set_root)
                cur_stat = os.fstat(cur)
                if _same_place(cur, cur_stat, top, top_stat):
                    if creds is None:
                        os.stat(".", dir_fd=cur)  # (as for ".")
                    if restrict & RESOLVE_BENEATH:
                        raise Unresolvable(errno.EXDEV, "'..' out of the directory beneath")
                    continue
                before = mount_id(cur) if restrict & RESOLVE_NO_XDEV else 0
                cur = walk.move(cur, os.open("..", DIR_FLAGS, dir_fd=cur), top, root)
                if before and mount_id(cur) != before:
                    raise Unresolvable(errno.EXDEV, "'..' crosses a mount")
                continue
            if last and unlooked:
                raise Unresolvable(errno.EISDIR, "O_CREAT of a link whose text ends in '/'")
            try:
                info = os.stat(comp, dir_fd=cur, follow_symlinks=False)
                if restrict & RESOLVE_NO_XDEV:
                    _no_crossing(cur, comp)
            except FileNotFoundError:
                where = self._dir_name(cur, root, tid, view)
                if not last:
                    # the kernel's lookup fails here with ENOENT; the spelling's own name
                    # serves rules and redirects (see Resolved.unreachable)
                    rest = [comp, *reversed(pending)]
                    _looked_up_by_netns(cur, tid, rest, where)
                    return where.below("/".join(rest), exists=False, slash=slash,
                                       literal_last=literal, unreachable=True,
                                       keep_spelling=any(c in (".", "..") for c in rest))
                return where.below(comp, exists=False, slash=slash, literal_last=literal)
            if stat.S_ISLNK(info.st_mode) and (follow or not last or slash):
                links += 1
                if links > MAX_SYMLINKS:
                    raise Unresolvable(errno.ELOOP, f"more than {MAX_SYMLINKS} symlinks")
                if restrict & RESOLVE_NO_SYMLINKS:
                    raise Unresolvable(errno.ELOOP, "a symlink, with RESOLVE_NO_SYMLINKS")
                if os.fstatvfs(cur).f_flag & ST_NOSYMFOLLOW:
                    # a mount made with MS_NOSYMFOLLOW: the kernel follows no link on it
                    raise Unresolvable(errno.ELOOP, "a symlink on a nosymfollow mount")
                if last and not follow:
                    literal = True  # followed for the trailing slash only
                body = self._link_body(cur, comp, tid, tgid)
                if body is None:  # a magic link: jump to the object it names for the task
                    self._may_follow(cur, comp, tid, tgid)
                    target = os.open(comp, os.O_PATH | os.O_CLOEXEC, dir_fd=cur)
                    try:
                        _magic_jump(restrict, cur, target)
                    except Unresolvable:
                        os.close(target)
                        raise
                    cur = walk.move(cur, target, top, root)
                    if pending and not stat.S_ISDIR(os.fstat(cur).st_mode):
                        raise Unresolvable(errno.ENOTDIR, "a magic link to a non-directory")
                    continue
                if body == "":
                    raise Unresolvable(errno.ENOENT, "an empty symlink")
                if last and body.endswith("/"):
                    slash = True
                    unlooked = creates
                if body.startswith("/"):
                    # nd_jump_root: refused beneath a directory, and from another mount
                    # than the root's with RESOLVE_NO_XDEV -- a root not yet set (a relative
                    # lookup before any "..") is no mount of the symlink's: EXDEV on any
                    if restrict & RESOLVE_BENEATH:
                        raise Unresolvable(errno.EXDEV, "an absolute symlink beneath a directory")
                    if restrict & RESOLVE_NO_XDEV and (not rooted
                                                       or mount_id(cur) != mount_id(top)):
                        raise Unresolvable(errno.EXDEV, "an absolute symlink crosses a mount")
                    rooted = True
                    if cur not in (root, top):
                        walk.release(cur)
                    cur = top
                pending.extend(c for c in reversed(body.split("/")) if c)
                if last and not pending:  # a link to "/": the root itself
                    break
                continue
            if last:
                return self._dir_name(cur, root, tid, view).below(comp, slash=slash,
                                                                  literal_last=literal)
            if not stat.S_ISDIR(info.st_mode):
                raise Unresolvable(errno.ENOTDIR, "a component on the way is not a directory")
            cur = walk.move(cur, os.open(comp, DIR_FLAGS, dir_fd=cur), top, root)
        return self._object(cur, root, tid, view, slash, literal)

    def _may_follow(self, cur: int, comp: str, tid: int, tgid: int) -> None:
        """Whether the task may follow a magic link of the /proc directory ``cur`` (a
        process's cwd, root, exe; fd/N, ns/X, map_files/X; the same of task/TID): the kernel
        follows one only for a task that may read that process as a debugger may
        (proc_pid_get_link, proc_ns_get_link: ptrace_may_access with PTRACE_MODE_READ_FSCREDS,
        else EACCES) -- and map_files/X only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE
        (EPERM).  The tracer, root with CAP_SYS_PTRACE, follows every one: the walk opened
        another user's process's cwd for a task that natively got EACCES, and named the file
        there -- a name the kernel then looked up for the task by its canonical spelling
        (red team 77).  Raises the kernel's errno where the task may not; allows what the
        kernel allows: the task's own thread group; a dumpable process whose real, effective
        and saved ids are all the task's fs ids and whose permitted capabilities the task
        holds, in the task's user namespace; any process for a task with CAP_SYS_PTRACE in
        the tracer's user namespace, and one whose credentials are in the task's own user
        namespace for a task with CAP_SYS_PTRACE there (a rootless container's root) when it
        is dumpable or its memory that namespace's (review 53).  Dumpability is the owner of
        the process's /proc files (_dump_owner) -- but for a process whose effective ids are
        what one that is not dumpable shows (root's, its namespace root's) the kernel is asked
        (_told_dumpable): a root without CAP_SYS_PTRACE follows its own root child's links
        (gap #45), never a root daemon's that made itself not dumpable.  Where the kernel
        does not tell (no coredump mask of a live task from PIDFD_GET_INFO: an older kernel,
        6.16's first cut; a /proc of another pid namespace) such a process is taken for one
        that is not dumpable: refused.  Everything read of the process is read in the mount
        of the /proc directory the walk stands in (:func:`_process_dir`, :data:`_IN_PROC`),
        never through the task's mounts (review 56); what cannot be read so is refused
        (EACCES) unless the tracer cannot follow the link ``comp`` either (a process gone:
        that error, as the kernel's)."""
        try:
            name = os.readlink(f"/proc/self/fd/{cur}")
            if not name.endswith("/map_files") and _own_process_dir(cur, name, tgid):
                return  # (the common case, /proc/self/fd/N, /dev/fd/N: a readlink, two stats)
            # (cwd, root, exe are the process directory's; fd/N, ns/X, map_files/X one below)
            process, below = _process_dir(cur)
            try:
                if self._judge(cur, process, below, tid, tgid):
                    return
            finally:
                os.close(process)
        except OSError:
            os.stat(comp, dir_fd=cur)  # (the tracer's own following fails too: its error)
            raise Unresolvable(errno.EACCES,
                               "a magic link of a process the walk cannot read") from None
        raise Unresolvable(errno.EACCES, "another process's magic link the task may not follow")

    def _judge(self, cur: int, process: int, below: bool, tid: int, tgid: int) -> bool:
        """_may_follow's ptrace_may_access, the process read from its directory ``process``
        (``below``: the link is in its fd, ns or map_files directory ``cur``): whether the
        task may follow; OSError where what it needs cannot be read (EPERM raised for a
        map_files link)."""
        target = _read_at(process, "status")
        task = procfs.read(f"/proc/{tid}/status")
        try:
            uid, gid, looker_caps = _looker(task, tid in self._real_lookups)
            ids, caps = (uid, gid), looker_caps or 0
            restoring = caps >> CAP_SYS_ADMIN & 1 or caps >> CAP_CHECKPOINT_RESTORE & 1
            if below and _is_map_files(cur) and not (restoring and _in_own_userns(tid)):
                # (proc_map_files_get_link: before the ptrace check, the task's own too)
                raise Unresolvable(errno.EPERM, "a map_files link without CAP_SYS_ADMIN")
            if self._same_process(process, target, tgid, task):
                return True  # (the common case: /proc/self/fd/N, /dev/fd/N)
            if not self.domain_allows(tid, process, target):
                # (an LSM's answer: the kernel asks it after the ids allowed, refusing with
                # EACCES as they do -- proc_fd_access_allowed; either order, one answer)
                return False
            target_ns = _user_ns_of(process)
            task_ns = os.stat(f"/proc/{tid}/ns/user").st_ino
            tracers = os.stat("/proc/self/ns/user").st_ino
            own_ns = task_ns == tracers
            ptracer = caps >> CAP_SYS_PTRACE & 1
            if own_ns and ptracer:
                return True
            uids, gids = _all_ids(target, b"Uid"), _all_ids(target, b"Gid")
            owner, roots = _dump_owner(process, target_ns == tracers)
            effective = (uids[1], gids[1])
            if ptracer and task_ns == target_ns and owner != (0, 0) \
                    and owner in (effective, *roots):
                # (ptrace_has_cap in the namespace of its credentials; not dumpable, in the
                # namespace of its memory, which is that one when its /proc is that root's)
                return True
            # (effective ids a process that is not dumpable shows too: the kernel is asked)
            dumpable = owner == effective and (effective not in roots
                                               or self._told_dumpable(process, target))
            if dumpable and task_ns == target_ns and (ptracer or (
                    all(u == ids[0] for u in uids[:3]) and all(g == ids[1] for g in gids[:3])
                    and _caps(target, b"CapPrm") & ~caps == 0)):
                return True
        except (ValueError, IndexError):
            pass  # (unreadable: refused, as the kernel refuses what it cannot check)
        return False

    def _told_dumpable(self, process: int, target: bytes) -> bool:
        """Whether the kernel says the task a /proc directory shows (``target``: its status,
        read before, as ptrace_may_access reads the credentials before the dumpability;
        ``process``: its directory) passes ptrace_may_access's dumpability check: its memory
        dumpable as its user's (procfs.told_dumpable, by its pid), or no memory at all, which
        the kernel does not check (procfs.told_without_memory: a zombie leader whose threads
        live on; review 56).  Only in the tracer's own /proc, whose pids are the tracer's
        (another pid namespace's: False); and the directory must still show a live task after
        the pidfd was taken -- its pid was then that task's, not a new process's that took the
        number (reaped, its /proc files are ESRCH: False)."""
        if os.fstat(process).st_dev != self._proc_dev:
            return False
        pid = int(procfs.status_value(target, b"Pid") or b"0")
        if not (procfs.told_dumpable(pid) or procfs.told_without_memory(pid)):
            return False
        try:
            _read_at(process, "stat")
        except OSError:
            return False
        return True

    def _same_process(self, process: int, target: bytes, tgid: int, task: bytes) -> bool:
        """Whether the process a /proc directory shows (``target``: its status; ``process``:
        the process directory) is the task's own: by its Tgid in the tracer's /proc; in
        another (another pid namespace's), by its pids from that namespace down being the last
        of the task's, and the same start time."""
        if os.fstat(process).st_dev == self._proc_dev:
            return (procfs.status_value(target, b"Tgid") or b"").strip() == str(tgid).encode()
        theirs = (procfs.status_value(target, b"NStgid") or b"").split()
        mine = (procfs.status_value(task, b"NStgid") or b"").split()
        try:
            return bool(theirs) and mine[-len(theirs):] == theirs \
                and procfs.start_time(_read_at(process, "stat")) \
                == procfs.start_time(procfs.read(f"/proc/{tgid}/stat"))
        except (OSError, IndexError, ValueError):
            return False

    def _link_body(self, cur: int, comp: str, tid: int, tgid: int) -> str | None:
        """What a symlink says, for this task: /proc/self and /proc/thread-self are the calling
        task; None for a magic link (its text is only a description of the object)."""
        if fs_type(cur) != PROC_SUPER_MAGIC:
            return os.readlink(comp, dir_fd=cur)
        if os.fstat(cur).st_ino != PROC_ROOT_INO:
            # every symlink below /proc's root (fd/N, cwd, root, exe, map_files, ns, task/
            # TID/...) is a magic link: it jumps to an object, and its text may name another
            return None
        if comp == "self":
            return self._pid_in(cur, tid, tgid, thread=False)
        if comp == "thread-self":
            return self._pid_in(cur, tid, tgid, thread=True)
        return os.readlink(comp, dir_fd=cur)  # "mounts" -> "self/mounts", "net" -> "self/net"

    def _pid_in(self, proc: int, tid: int, tgid: int, thread: bool) -> str:
        """The calling task's /proc/self (or thread-self) text in the /proc mounted at
        ``proc``: its pids as that instance's pid namespace numbers them."""
        if os.fstat(proc).st_dev == self._proc_dev:
            return f"{tgid}/task/{tid}" if thread else str(tgid)
        # another pid namespace's /proc: find the level of the task's pids it shows (the one
        # whose entry is this very task: same start time)
        with open(f"/proc/{tid}/status", encoding="utf-8", errors="replace") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        with open(f"/proc/{tid}/stat", "rb") as own:
            started = start_time(own.read())
        for ns_tgid, ns_tid in zip(reversed(fields.get("NStgid", "").split()),
                                   reversed(fields.get("NSpid", "").split()), strict=False):
            entry = f"{ns_tgid}/task/{ns_tid}"
            try:
                # (in that /proc's own mount: a stat bound over the entry's is not read)
                fd = _proc_open(proc, f"{entry}/stat")
            except OSError:
                continue
            try:
                text = os.read(fd, 4096)
            finally:
                os.close(fd)
            if start_time(text) == started:
                return entry if thread else ns_tgid
        # the kernel: the task has no pid in that namespace, /proc/self is ENOENT for it
        raise Unresolvable(errno.ENOENT, "/proc/self of a pid namespace the task is not in")

    def _dir_name(self, fd: int, root: int, tid: int, view: View) -> _Name:
        """The name of a directory the walk stands in, to put a last component under."""
        name = self._name(fd, root, tid, view)
        if name is not None:
            return name
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").endswith(_DELETED):
                # removed: it holds nothing, and nothing can be made in it (the kernel: ENOENT)
                raise Unresolvable(errno.ENOENT, "a path inside a removed directory")
        # a directory no rule could name (reached through a magic link into a namespace the
        # tracer did not follow, a detached mount, outside the task's root)
        return self._unnamed(fd, root, tid, view)

    def _object(self, fd: int, root: int, tid: int, view: View, slash: bool,
                literal: bool) -> Resolved:
        """What the walk ended on (after ".", "..", a magic link, a link to "/")."""
        name = self._name(fd, root, tid, view)
        if name is not None:
            # a symlink itself (a magic link's jump to an O_PATH descriptor of one): its name,
            # handed to the kernel, would be followed to another file
            keep = stat.S_ISLNK(os.fstat(fd).st_mode)
            return name.resolved(slash=slash, literal_last=literal, keep_spelling=keep)
        text = os.readlink(f"/proc/self/fd/{fd}")
        if not text.startswith("/") or text.endswith(_DELETED):
            # a pipe, a socket, a memfd, a deleted file: matched as what /proc calls it
            found = Resolved(text, pseudo=True, slash=slash, literal_last=literal)
            found.identity = _removed_identity(fd, text)
            return found
        # An object of another mount namespace, a detached mount, outside the task's root:
        # its /proc text would name another file here, and no rule can name it.
        return self._unnamed(fd, root, tid, view).resolved(slash=slash, literal_last=literal)

    def _unnamed(self, fd: int, root: int, tid: int, view: View) -> _Name:
        try:
            text = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            text = "(unnamed)"
        local = self._local(text, root, tid, os.fstat(fd)) if not view.host else ""
        return _Name(text, local, unnamed=True)

    # --- names of objects ---------------------------------------------------------------------
    def _name(self, fd: int, root: int, tid: int, view: View) -> _Name | None:
        """The name rules see of the object ``fd`` holds (the module's "Views"), checked to
        name that very object; None when it has none (removed, or reachable only here)."""
        try:
            text = os.readlink(f"/proc/self/fd/{fd}")
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:
                raise
            if not view.host:
                return None  # (names past PATH_MAX are built for the tracer's view only)
            long = self._long_name(fd, root, tid, view)
            return _Name(long, None) if long is not None else None
        if not text.startswith("/"):
            return None
        held = os.fstat(fd)
        local = None if view.host else self._local(text, root, tid, held)
        if _names(text, held):
            return _Name(text, local)
        if text.endswith(_DELETED):
            return None
        name = self._namespace_name(fd, text, held, view)
        return _Name(name, local) if name is not None else None

    def _namespace_name(self, fd: int, text: str, held: os.stat_result,
                        view: View) -> str | None:
        """The name of an object the tracer's view does not reach by its /proc text: its name
        in the trusted namespace whose mount it is on, taken back through that namespace's
        pivot_roots (a host name when that then reaches it here)."""
        mount = mount_id(fd)
        namespaces = [self.namespaces.get(view.namespace)]
        namespaces += [n for n in self.namespaces.values() if n is not namespaces[0]]
        for namespace in namespaces:
            if namespace is None or not namespace.trusted:
                continue
            if namespace is not namespaces[0] and not os.path.exists(f"/proc/{namespace.task}"):
                continue  # (its mounts may be gone, and their ids given to others)
            mounts = self._mounts_of(namespace)
            if mount not in mounts:
                continue
            chain = set()
            at: int | None = mount
            while at is not None and at in mounts and at not in chain:
                chain.add(at)
                at = mounts[at].parent_id
            name: str | None = text
            for pivot in reversed(namespace.pivots):
                name = pivot.before(name, chain) if name is not None else None
            if name is None:
                return None
            return name
        return None

    @staticmethod
    def _local(text: str, root: int, tid: int, held: os.stat_result) -> str:
        """The task's own absolute spelling of an object whose /proc text is ``text`` (in the
        same namespace as its root's): "" when the object is outside its root."""
        try:
            root_text = os.readlink(f"/proc/self/fd/{root}")
        except OSError:
            return ""
        if root_text == "/":
            local = text
        elif text == root_text:
            local = "/"
        elif text.startswith(root_text + "/"):
            local = text[len(root_text):]
        else:
            return ""
        try:
            seen = os.stat(f"/proc/{tid}/root{local}", follow_symlinks=False)
        except OSError:
            return ""
        return local if (seen.st_dev, seen.st_ino) == (held.st_dev, held.st_ino) else ""

    def _long_name(self, fd: int, root: int, tid: int, view: View) -> str | None:
        """The name of a directory deeper than PATH_MAX (which /proc cannot say): climb ``..``
        from the object, finding each directory in its parent by (st_dev, st_ino), until a
        directory whose name /proc can say, or the task's root.  None when there is none (a
        non-directory, a removed directory, the top reached without meeting the task's root)."""
        walk = _Walk()
        parts: list[str] = []
        root_stat = os.fstat(root)
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                return None  # a file does not know its directory
            cur = walk.keep(os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd))
            while True:
                cur_stat = os.fstat(cur)
                if _same_place(cur, cur_stat, root, root_stat):
                    return "/" + "/".join(reversed(parts))
                parent = walk.keep(os.open("..", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC,
                                           dir_fd=cur))
                parent_stat = os.fstat(parent)
                if _same_place(parent, parent_stat, cur, cur_stat):
                    return None  # the top of the tree, and the task's root was not on the way
                name = self._entry_of(parent, cur, cur_stat)
                if name is None:
                    return None
                parts.append(name)
                walk.release(cur)
                cur = parent
                with contextlib.suppress(OSError):
                    if len(os.readlink(f"/proc/self/fd/{cur}")) < PATH_MAX:
                        above = self._name(cur, root, tid, view)
                        if above is not None and above.path is not None:
                            return _join(above.path, "/".join(reversed(parts)))
        finally:
            walk.close()

    @staticmethod
    def _entry_of(parent: int, child: int, child_stat: os.stat_result) -> str | None:
        """The name under which ``parent`` holds the directory ``child``."""
        identity = (child_stat.st_dev, child_stat.st_ino)
        mount = mount_id(child)
        with os.scandir(parent) as entries:
            listed = [(e.name, e.inode()) for e in entries if e.is_dir(follow_symlinks=False)]
        # the entry's inode number is usually the directory's own; not for a mount's root
        # (its mount point lists the covered directory) nor on some union file systems
        first = [name for name, inode in listed if inode == child_stat.st_ino]
        for name in first + [name for name, inode in listed if inode != child_stat.st_ino]:
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
            except OSError:
                continue
            try:
                seen = os.fstat(fd)
                if (seen.st_dev, seen.st_ino) == identity and mount_id(fd) == mount:
                    return name
            finally:
                os.close(fd)
        return None
