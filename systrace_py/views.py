"""Calls that change what a path means, read as the kernel reads them (pure: no I/O).

A rule names files by path, in the tracer's view of the file system.  A task in a mount
namespace of its own, or under another root, may see other files under those names, or the
same files under other names.  Two kinds of call make that happen, and this module says,
for each, what the kernel will do with its arguments:

* the namespace flags of ``unshare``, ``clone`` and ``clone3``: :func:`namespace_refusal` is
  the one decision on them (``clone_refusal`` adds clone's own CLONE_UNTRACED);
* the mount family (``mount``, ``umount2``, ``move_mount``, ``open_tree``, ``fsconfig``...):
  :func:`mount_kind` reads mount(2)'s flags in the kernel's order (fs/namespace.c,
  path_mount), :func:`new_mount_layers` and :func:`fsconfig_layer` name every file a new
  file system's source and options make the kernel look up (fs/overlayfs/params.c for
  overlay's layers, the block file systems' device options), and :func:`parse_mountinfo`
  reads /proc/PID/mountinfo.

What the engine then does with it -- which names it checks, as what -- is in
docs/security.md, "New views of the file system".
"""

# No "from __future__ import annotations": typing.NamedTuple compiles string annotations (a
# millisecond for this module's records at every start), while real ones cost nothing.
import errno
from typing import Final, NamedTuple, NewType

from systrace_py import tag_values
from systrace_py.kernel import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_UNTRACED,
    CSIGNAL,
    FSCONFIG_SET_FD,
    FSCONFIG_SET_PATH,
    FSCONFIG_SET_PATH_EMPTY,
    FSCONFIG_SET_STRING,
    MS_BIND,
    MS_MGC_MSK,
    MS_MGC_VAL,
    MS_MOVE,
    MS_NOUSER,
    MS_PROPAGATION,
    MS_REMOUNT,
)


# --- namespace flags ---------------------------------------------------------------------------
class NamespaceFlag(NamedTuple):
    """One namespace a task may make, and whether the engine follows a task into it."""

    flag: int
    name: str
    followed: bool
    why: str


#: Every namespace flag, with the engine's treatment.  A flag the engine could not follow
#: (``followed`` False) would be refused by :func:`namespace_refusal`; none is at present.
NAMESPACE_FLAGS: tuple[NamespaceFlag, ...] = (
    NamespaceFlag(CLONE_NEWNS, "CLONE_NEWNS", True,
                  "a copy of the caller's mounts: every path keeps its meaning until a mount "
                  "in it, which is checked (the tracer follows the namespace: paths.py)"),
    NamespaceFlag(CLONE_NEWUSER, "CLONE_NEWUSER", True,
                  "capabilities inside it only; what they enable (mounts, chroot, "
                  "pivot_root) is checked"),
    NamespaceFlag(CLONE_NEWPID, "CLONE_NEWPID", True,
                  "the tracer reads each caller's pid namespace: signals aimed at the tracer "
                  "and /proc/self are decided for the right process (signals.py, paths.py)"),
    NamespaceFlag(CLONE_NEWNET, "CLONE_NEWNET", True,
                  "no path changes meaning (abstract unix socket names are per network "
                  "namespace: docs/policy.md)"),
    NamespaceFlag(CLONE_NEWUTS, "CLONE_NEWUTS", True, "host and domain names only"),
    NamespaceFlag(CLONE_NEWIPC, "CLONE_NEWIPC", True,
                  "System V IPC and POSIX message queues, which are not paths"),
    NamespaceFlag(CLONE_NEWCGROUP, "CLONE_NEWCGROUP", True,
                  "what /proc/PID/cgroup shows and a new cgroup mount's root (a mount, "
                  "checked)"),
    NamespaceFlag(CLONE_NEWTIME, "CLONE_NEWTIME", True, "clock offsets only"),
)


def namespace_refusal(flags: int) -> tuple[int, str] | None:
    """The one decision on namespace flags, for unshare, clone and clone3 alike: (errno, why)
    when the flags would make a namespace the engine could not follow, else None."""
    for known in NAMESPACE_FLAGS:
        if flags & known.flag and not known.followed:
            return errno.EPERM, f"{known.name}: {known.why}"
    return None


def clone_refusal(flags: int, exit_signal_in_flags: bool) -> tuple[int, str] | None:
    """clone's and clone3's flags, decided by one function: CLONE_UNTRACED (the child would
    leave the trace) is refused, the namespace flags are :func:`namespace_refusal`'s.
    ``exit_signal_in_flags``: clone(2), whose low byte is the exit signal (its CLONE_NEWTIME
    bit is no flag there); clone3 passes the signal apart."""
    if exit_signal_in_flags:
        flags &= ~CSIGNAL
    if flags & CLONE_UNTRACED:
        return errno.EPERM, "CLONE_UNTRACED: the child would leave the trace"
    return namespace_refusal(flags)


# --- mount(2) ------------------------------------------------------------------------------------
def mount_flags(flags: int) -> int:
    """mount(2)'s flags as the kernel uses them: the old magic in the top bits is dropped."""
    flags &= 0xFFFFFFFFFFFFFFFF
    if flags & MS_MGC_MSK == MS_MGC_VAL:
        flags &= ~MS_MGC_MSK
    return flags


def mount_kind(flags: int) -> str:
    """What a mount(2) with these flags does, in path_mount's order: "reconfigure" (MS_REMOUNT
    with MS_BIND: a mount's flags), "remount", "bind" (the source path, MS_REC for its
    submounts too), "propagation", "move" (the source path, a mount) or "new" (a file system
    of the type given); "invalid" for MS_NOUSER, which the kernel refuses (EINVAL)."""
    flags = mount_flags(flags)
    if flags & MS_NOUSER:
        return "invalid"
    if flags & MS_REMOUNT and flags & MS_BIND:
        return "reconfigure"
    if flags & MS_REMOUNT:
        return "remount"
    if flags & MS_BIND:
        return "bind"
    if flags & MS_PROPAGATION:
        return "propagation"
    if flags & MS_MOVE:
        return "move"
    return "new"


#: the kinds whose source (mount's first argument) is a path the kernel looks up
SOURCE_IS_PATH = frozenset({"bind", "move"})


#: how the engine reads a file system type: one of :class:`FsKind`'s values
FsKindTag = NewType("FsKindTag", str)


class FsKind:
    """How the engine reads a file system type's source and options; :data:`FS_KINDS` lists
    them.  Str tags in a class, not an enum (start-up, issue 16: see policy.model.Reason)."""

    #: the source is a free string, no option names a file
    NO_PATHS: Final = FsKindTag("no_paths")
    #: layers named by lowerdir, upperdir, workdir...
    OVERLAY: Final = FsKindTag("overlay")
    #: the source is a block device (or file); some options name devices
    BLOCK: Final = FsKindTag("block")
    #: not read by the engine: its source and options may name anything
    UNKNOWN: Final = FsKindTag("unknown")


#: every one, in the order written
FS_KINDS: tuple[FsKindTag, ...] = tag_values(FsKind)

#: File systems whose source is free text and whose options name no file (their sources
#: are checked against the kernel's parsers; anything else is UNKNOWN).  cgroup (v1) is left
#: out: its release_agent option names a program the kernel runs.  Some of these name files
#: in their *files*, which the kernel opens later (configfs's LIO ``fd_dev_name``, nvmet's
#: ``device_path``, a USB gadget's ``lun.N/file``; tracefs's ``uprobe_events``; proc's and
#: sysfs's helpers and firmware path): configfs, tracefs, debugfs and securityfs are not
#: mountable in a user namespace, and proc's and sysfs's such files are writable only by
#: root of the first one -- root's tunables (docs/security.md, "Limits"; red team 68).
NO_PATH_FILESYSTEMS = frozenset({
    "tmpfs", "ramfs", "proc", "sysfs", "devpts", "devtmpfs", "mqueue", "cgroup2", "hugetlbfs",
    "tracefs", "debugfs", "securityfs", "configfs", "pstore", "bpf",
    "fusectl", "efivarfs",
})
#: File systems that name no file when mounted but whose files, written, name files the
#: kernel opens later, at an exec no rule sees through: binfmt_misc's ``register`` (a user
#: namespace's own since Linux 6.7) names interpreters, opened by ``open_exec`` at the exec
#: (flag F: at the write) and searched for a handler in turn, and flag O hands the
#: interpreter the matched file open for reading (AT_EXECFD).  A chain back to the very file
#: exec'd passes the exe check with another file read on the way (red team 67): a mount of
#: one is a mount of a type the engine does not read, refused where a rule could care.
LATER_PATH_FILESYSTEMS = frozenset({"binfmt_misc"})
#: Block-device file systems: their source is a device, and these options name devices too
#: (ext4 journal_path, xfs logdev and rtdev, btrfs and erofs device).
BLOCK_FILESYSTEMS: dict[str, frozenset[str]] = {
    "ext2": frozenset({"journal_path"}), "ext3": frozenset({"journal_path"}),
    "ext4": frozenset({"journal_path"}), "xfs": frozenset({"logdev", "rtdev"}),
    "btrfs": frozenset({"device"}), "erofs": frozenset({"device"}),
    "squashfs": frozenset(), "vfat": frozenset(), "msdos": frozenset(),
    "exfat": frozenset(), "iso9660": frozenset(), "udf": frozenset(), "ntfs3": frozenset(),
    "f2fs": frozenset(),
}
#: overlay's options that name directories, and how the layer is exposed: a lower layer is
#: read through the overlay, the upper one read and written, the work one written
OVERLAY_LAYERS: dict[str, str] = {
    "lowerdir": "lower", "lowerdir+": "lower", "datadir+": "lower", "upperdir": "upper",
    "workdir": "work",
}


#: File systems whose lookups a process answers, seeing which task asks (FUSE gives its server
#: the pid of every request): the tracer's own lookup of a name there may get another answer
#: than the program's a moment later -- a directory to one, a symlink elsewhere to the other
#: -- with nothing renamed (docs/security.md, "Red team 44").  A subtype ("fuse.sshfs") is
#: fuse's.  virtiofs speaks FUSE's protocol too, but its server is the VM's host, which no
#: policy inside the VM holds anyway; a home shared into a VM by it stays writable.
ANSWERED_FILESYSTEMS = frozenset({"fuse", "fuseblk"})


def answered_by_a_process(fstype: str) -> bool:
    """Whether a process answers each lookup of a file system of this type (FUSE)."""
    return fstype.split(".", 1)[0] in ANSWERED_FILESYSTEMS


def fs_kind(fstype: str | None) -> FsKindTag:
    """How the engine reads a file system type (a FUSE subtype, "fuse.sshfs", is fuse's)."""
    if fstype is None:
        return FsKind.UNKNOWN
    if fstype in NO_PATH_FILESYSTEMS:
        return FsKind.NO_PATHS
    if fstype == "overlay":
        return FsKind.OVERLAY
    if fstype in BLOCK_FILESYSTEMS:
        return FsKind.BLOCK
    return FsKind.UNKNOWN


class Layer(NamedTuple):
    """A file a mount makes the kernel look up (relative: from the caller's cwd).  ``role``
    names it for rules and logs: "source" for a device, else the option's key (with ":N"
    for the Nth of several)."""

    role: str
    path: str


def split_options(data: str, escapes: bool) -> list[tuple[str, str | None]]:
    """Mount options as the kernel splits them (vfs_parse_monolithic_sep): on commas --
    overlay's splitter skips a comma after a backslash (``escapes``) --, each "key=value"
    or a bare "key"; empty ones and those starting with "=" are skipped."""
    options: list[tuple[str, str | None]] = []
    current: list[str] = []
    chars = iter(data)
    for char in chars:
        if escapes and char == "\\":
            current.append(char)
            following = next(chars, None)
            if following is None:
                break
            current.append(following)
            continue
        if char == ",":
            options.append(_option("".join(current)))
            current = []
            continue
        current.append(char)
    options.append(_option("".join(current)))
    return [(key, value) for key, value in options if key]


def _option(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    if not sep:
        return text, None
    return key, value  # "=x" gives an empty key: skipped, as the kernel does


def _unescape(text: str) -> str:
    """ovl_unescape: a backslash keeps the next character, whatever it is."""
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            char = next(chars, "")
            if not char:
                break
        out.append(char)
    return "".join(out)


def overlay_lowerdirs(value: str) -> list[str] | None:
    """The directories of an overlay "lowerdir" value (ovl_parse_param_split_lowerdirs):
    split on unescaped colons ("::" starts the data-only layers), each unescaped; None when
    the kernel refuses the value (three colons, a trailing colon)."""
    parts: list[str] = []
    current: list[str] = []
    colons = 0
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            colons = 0
            continue
        if char == ":":
            colons += 1
            if colons == 2 and value[i + 1:i + 2] == ":":
                return None
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        colons = 0
        i += 1
    if colons:
        return None
    parts.append("".join(current))
    return [_unescape(part) for part in parts if part]


def _option_paths(kind: FsKindTag, fstype: str, data: str) -> list[tuple[str, str]]:
    """(key, path) of every file an option string names."""
    if kind == FsKind.NO_PATHS or not data:
        return []
    found: list[tuple[str, str]] = []
    if kind == FsKind.OVERLAY:
        for key, value in split_options(data, escapes=True):
            if key not in OVERLAY_LAYERS or value is None:
                continue
            if key == "lowerdir":
                paths = overlay_lowerdirs(value) or []  # None: the kernel refuses the value
            else:
                paths = [value if key.endswith("+") else _unescape(value)]
            found.extend((key, path) for path in paths if path)
        return found
    # a "source" option stands for the device when mount(2) is given none
    device_options = BLOCK_FILESYSTEMS[fstype] | {"source"}
    return [(key, value) for key, value in split_options(data, escapes=False)
            if key in device_options and value]


def layer_roles(paths: list[tuple[str, str]]) -> tuple[Layer, ...]:
    """A role for each (key, path): the key, with ":N" for its Nth occurrence from the
    second on (two lower layers are "lowerdir" and "lowerdir:2")."""
    seen: dict[str, int] = {}
    layers = []
    for key, path in paths:
        seen[key] = seen.get(key, 0) + 1
        layers.append(Layer(key if seen[key] == 1 else f"{key}:{seen[key]}", path))
    return tuple(layers)


#: erofs's options that take its data from fscache (CONFIG_EROFS_FS_ONDEMAND): the blob a
#: cookie names -- cached by any earlier mount, another image's too, or served by a
#: cachefiles daemon --, no file the engine can name (review 32).  A kernel built without
#: them ignores them.
EROFS_FSCACHE_OPTIONS = frozenset({"fsid", "domain_id"})


def new_mount_layers(fstype: str | None, source: str | None,
                     data: str | None) -> tuple[Layer, ...] | None:
    """Every file a new mount of ``fstype`` makes the kernel look up: the device (the source
    of a block file system) and the files its options name; None when the engine cannot
    tell (a type it does not read, given a source or options; an erofs over fscache)."""
    kind = fs_kind(fstype)
    if kind == FsKind.UNKNOWN:
        return None if (source or data or fstype in LATER_PATH_FILESYSTEMS) else ()
    if fstype == "erofs" and data and any(
            key in EROFS_FSCACHE_OPTIONS for key, _ in split_options(data, escapes=False)):
        return None
    paths = [("source", source)] if kind == FsKind.BLOCK and source else []
    return layer_roles(paths + _option_paths(kind, fstype or "", data or ""))


#: Every key by which a file system the engine reads (a context of any other type cannot be
#: made: fsopen and fspick of one are refused where a rule could care) is given a file:
#: a block device's "source" and device options, overlay's layers.  fsconfig is read by
#: these keys whatever its context's type, which the engine cannot tell from its descriptor:
#: a key another known type takes as a string ("source" of a tmpfs) is then looked up as a
#: path too -- it names nothing, or a file decided as if exposed.
PATH_KEYS = frozenset({"source", *OVERLAY_LAYERS, *(key for keys in BLOCK_FILESYSTEMS.values()
                                                     for key in keys)})
#: fsconfig's commands that give a value a file may be named by
_VALUE_COMMANDS = frozenset({FSCONFIG_SET_STRING, FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY,
                             FSCONFIG_SET_FD})


def fsconfig_layer(cmd: int, key: str | None) -> str | None:
    """The role under which an fsconfig's value names a file the kernel looks up, or None.

    SET_STRING gives a string (a lowerdir list is split as overlay does), SET_PATH and
    SET_PATH_EMPTY a path from the dirfd in ``aux``, SET_FD the descriptor in ``aux``; the
    other commands (SET_FLAG, SET_BINARY, CMD_*) name no file for these file systems.  (A
    block device given as "source" is looked up again when the file system is made: that
    device is checked again when the mount is attached, decode.py.)"""
    if cmd not in _VALUE_COMMANDS or key not in PATH_KEYS:
        return None
    return key


def fsconfig_paths(cmd: int, key: str, value: str) -> list[tuple[str, str]]:
    """(role, path) of each file a SET_STRING value names (overlay's lowerdir is a list)."""
    if cmd == FSCONFIG_SET_STRING and key == "lowerdir":
        return [(key, path) for path in overlay_lowerdirs(value) or []]
    if cmd == FSCONFIG_SET_STRING and key in ("upperdir", "workdir"):
        return [(key, _unescape(value))]
    return [(key, value)]


# --- /proc/PID/mountinfo -------------------------------------------------------------------
class MountEntry(NamedTuple):
    """One line of /proc/PID/mountinfo: the mount's id and its parent's, the device
    (major, minor), the path of its root inside its file system, where it is mounted (in
    the reader's view: relative to the process's root), its file system type and source,
    and whether it is shared (its optional fields hold "shared:N")."""

    mount_id: int
    parent_id: int
    device: tuple[int, int]
    root: str
    mount_point: str
    fstype: str
    source: str
    shared: bool = False  # in a peer group: mounts and unmounts under it propagate to peers


def _mountinfo_unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    if "\\" not in text:
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x5C and i + 3 < len(raw) and all(0x30 <= b <= 0x37
                                                       for b in raw[i + 1:i + 4]):
            out.append(int(raw[i + 1:i + 4], 8))
            i += 4
            continue
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_mountinfo(text: str) -> list[MountEntry]:
    """The mounts of a /proc/PID/mountinfo text (lines it cannot read are skipped).  Its
    lines end at a newline alone: the kernel escapes space, tab, newline and backslash in a
    path, and prints the other characters at which str.splitlines() also ends a line (a
    carriage return, \\x0b, \\x85, \\u2028...) as they are -- a mount made on a directory so
    named was cut in two, neither half read (red team 12)."""
    entries: list[MountEntry] = []
    for line in text.split("\n"):
        fields = line.split(" ")
        try:
            separator = fields.index("-", 6)
            major, minor = fields[2].split(":")
            entries.append(MountEntry(int(fields[0]), int(fields[1]), (int(major), int(minor)),
                                      _mountinfo_unescape(fields[3]),
                                      _mountinfo_unescape(fields[4]), fields[separator + 1],
                                      _mountinfo_unescape(fields[separator + 2]),
                                      any(f.startswith("shared:")
                                          for f in fields[6:separator])))
        except (ValueError, IndexError):
            continue
    return entries
