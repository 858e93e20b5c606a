"""Thin layer over python-ptrace's binding, plus what it lacks (added with ctypes).

python-ptrace gives the ``ptrace()`` entry point, the register structure and the classic
requests.  Modern Linux tracing needs more, all added here on top of the same binding:
PTRACE_SEIZE / INTERRUPT / LISTEN (job control that works), PTRACE_O_EXITKILL and
PTRACE_O_TRACESECCOMP, PTRACE_GET_SYSCALL_INFO (one call instead of GETREGS at every stop),
openat2 for path resolution, and the seccomp/prctl calls the child makes before exec.
(Tracee memory is read with process_vm_readv and written through /proc/PID/mem: see
memory.py.)
Everything here is a direct kernel call: no policy, no state.
"""

from __future__ import annotations

import _socket  # (``socket`` imports enum, selectors...: kept out of a plain run's start)
import ctypes
import errno
import os
import stat
import struct
from typing import TYPE_CHECKING, Final

from systrace_py.engine.native import fixed_sonames, lazy_names
from systrace_py.kernel import (
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_SYMLINK_NOFOLLOW,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
)
from systrace_py.syscalls import NUMBERS

if TYPE_CHECKING:
    from collections.abc import Iterator

# python-ptrace finds libc at import: not by ldconfig; and imports logging for its debugger
with fixed_sonames(), lazy_names():
    from ptrace import PtraceError
    from ptrace.binding import func as pt
    from ptrace.binding.linux_struct import user_regs_struct

# --- requests python-ptrace does not define -------------------------------------------------
PTRACE_SEIZE: Final = 0x4206
PTRACE_INTERRUPT: Final = 0x4207
PTRACE_LISTEN: Final = 0x4208
PTRACE_GETREGSET: Final = 0x4204
PTRACE_GET_SYSCALL_INFO: Final = 0x420E
PTRACE_SET_SYSCALL_INFO: Final = 0x4212  # Linux 6.16
PTRACE_GETSIGMASK: Final = 0x420A
PTRACE_SETSIGMASK: Final = 0x420B
PTRACE_GET_RSEQ_CONFIGURATION: Final = 0x420F  # Linux 5.13

PTRACE_O_TRACESYSGOOD: Final = 0x01
PTRACE_O_TRACEFORK: Final = 0x02
PTRACE_O_TRACEVFORK: Final = 0x04
PTRACE_O_TRACECLONE: Final = 0x08
PTRACE_O_TRACEEXEC: Final = 0x10
PTRACE_O_TRACEEXIT: Final = 0x40
PTRACE_O_TRACESECCOMP: Final = 0x80
PTRACE_O_EXITKILL: Final = 0x100000
#: the task's own seccomp filters are not run while it is set (CAP_SYS_ADMIN, a tracer under
#: no filter, CONFIG_CHECKPOINT_RESTORE): for a call the tracer makes it run (Tracer._inject_call)
PTRACE_O_SUSPEND_SECCOMP: Final = 0x200000

PTRACE_EVENT_FORK: Final = 1
PTRACE_EVENT_VFORK: Final = 2
PTRACE_EVENT_CLONE: Final = 3
PTRACE_EVENT_EXEC: Final = 4
PTRACE_EVENT_VFORK_DONE: Final = 5
PTRACE_EVENT_EXIT: Final = 6
PTRACE_EVENT_SECCOMP: Final = 7
PTRACE_EVENT_STOP: Final = 128

SYSCALL_INFO_NONE: Final = 0
SYSCALL_INFO_ENTRY: Final = 1
SYSCALL_INFO_EXIT: Final = 2
SYSCALL_INFO_SECCOMP: Final = 3

WALL: Final = 0x40000000  # __WALL: wait for threads and clones too

#: The options every tracee gets: follow everything, stops from the seccomp filter, and die
#: with the tracer (fail closed).
TRACE_OPTIONS: Final = (
    PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL
)

ptrace = pt.ptrace  # the binding's entry point; raises PtraceError with .errno

# The stop loop makes three requests at every stop; they call python-ptrace's ctypes binding
# directly (its wrapper's formatting costs more than the call on a hot path) and raise the
# same PtraceError on failure.
_raw_ptrace = getattr(pt, "_ptrace", None)
_FAILED = 0xFFFFFFFFFFFFFFFF


def _fast(request: int, pid: int, addr: int, data: int) -> None:
    if _raw_ptrace is None or pt.HAS_CPTRACE:
        ptrace(request, pid, addr, data)
        return
    if _raw_ptrace(request, pid, addr, data) == _FAILED:
        err = ctypes.get_errno()
        raise PtraceError(f"ptrace({request:#x}, {pid}) failed: {os.strerror(err)}", errno=err,
                          pid=pid)


class SyscallInfo(ctypes.Structure):
    """struct ptrace_syscall_info (linux/ptrace.h), with the seccomp/entry layout of the union.

    For an exit stop, ``nr`` holds rval and the low byte of ``args[0]`` holds is_error.
    """

    _fields_ = (
        ("op", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 3),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("stack_pointer", ctypes.c_uint64),
        ("nr", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
        ("ret_data", ctypes.c_uint32),
        ("pad2", ctypes.c_uint32),
    )

    @property
    def rval(self) -> int:
        return ctypes.c_int64(self.nr).value

    @property
    def is_error(self) -> bool:
        return bool(self.args[0] & 0xFF)


_INFO_SIZE = ctypes.sizeof(SyscallInfo)


def seize(pid: int, options: int = TRACE_OPTIONS) -> None:
    ptrace(PTRACE_SEIZE, pid, 0, options)


def setoptions(pid: int, options: int) -> None:
    ptrace(pt.PTRACE_SETOPTIONS, pid, 0, options)


def interrupt(pid: int) -> None:
    ptrace(PTRACE_INTERRUPT, pid)


def listen(pid: int) -> None:
    ptrace(PTRACE_LISTEN, pid)


def cont(pid: int, sig: int = 0) -> None:
    _fast(pt.PTRACE_CONT, pid, 0, sig)


def syscall(pid: int, sig: int = 0) -> None:
    """Resume until the next syscall stop (used only when an exit value is needed)."""
    _fast(pt.PTRACE_SYSCALL, pid, 0, sig)


def detach(pid: int, sig: int = 0) -> None:
    ptrace(pt.PTRACE_DETACH, pid, 0, sig)


def geteventmsg(pid: int) -> int:
    value = ctypes.c_ulong()
    ptrace(pt.PTRACE_GETEVENTMSG, pid, 0, ctypes.addressof(value))
    return value.value


def siginfo(pid: int) -> ctypes.Array[ctypes.c_int32]:
    """The siginfo_t of a task's stop (PTRACE_GETSIGINFO), raw: si_signo, si_errno, si_code,
    ... (what set_siginfo puts back)."""
    info = (ctypes.c_int32 * 32)()
    ptrace(pt.PTRACE_GETSIGINFO, pid, 0, ctypes.addressof(info))
    return info


def set_siginfo(pid: int, info: ctypes.Array[ctypes.c_int32]) -> None:
    ptrace(pt.PTRACE_SETSIGINFO, pid, 0, ctypes.addressof(info))


def signal_code(pid: int) -> int:
    """The si_code of the signal a task stopped to deliver: above 0 when the kernel raised it
    for what the task did (a fault), 0 or below when it was sent."""
    return siginfo(pid)[2]


def get_syscall_info(pid: int, into: SyscallInfo) -> SyscallInfo:
    _fast(PTRACE_GET_SYSCALL_INFO, pid, _INFO_SIZE, ctypes.addressof(into))
    return into


_set_info_works: bool | None = None  # unknown until first tried


def set_syscall_info(pid: int, info: SyscallInfo) -> bool:
    """Set the call number and arguments of a stopped call in one request (Linux 6.16+).
    False when the kernel lacks PTRACE_SET_SYSCALL_INFO (the caller then uses the registers)."""
    global _set_info_works
    if _set_info_works is False:
        return False
    try:
        ptrace(PTRACE_SET_SYSCALL_INFO, pid, _INFO_SIZE, ctypes.addressof(info))
    except PtraceError as exc:
        if exc.errno in (5, 22) and _set_info_works is None:  # EIO / EINVAL: not supported
            _set_info_works = False
            return False
        raise
    _set_info_works = True
    return True


def getregs(pid: int) -> user_regs_struct:
    regs = user_regs_struct()
    ptrace(pt.PTRACE_GETREGS, pid, 0, ctypes.addressof(regs))
    return regs


def setregs(pid: int, regs: user_regs_struct) -> None:
    ptrace(pt.PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))


def getsigmask(pid: int) -> int:
    """A stopped task's blocked-signal mask (bit n-1: signal n)."""
    mask = ctypes.c_uint64()
    ptrace(PTRACE_GETSIGMASK, pid, 8, ctypes.addressof(mask))
    return mask.value


def setsigmask(pid: int, mask: int) -> None:
    """Set a stopped task's blocked-signal mask (the kernel keeps SIGKILL and SIGSTOP out);
    signals then pending stay queued, and a task resumed from its stop looks again."""
    value = ctypes.c_uint64(mask & 0xFFFFFFFFFFFFFFFF)
    ptrace(PTRACE_SETSIGMASK, pid, 8, ctypes.addressof(value))


def rseq_area(pid: int) -> int:
    """The address of a stopped task's registered struct rseq, 0 when it has none
    (PTRACE_GET_RSEQ_CONFIGURATION: u64 rseq_abi_pointer, u32 size, u32 signature, u32 flags,
    u32 pad)."""
    config = (ctypes.c_uint64 * 3)()
    ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, ctypes.sizeof(config), ctypes.addressof(config))
    return int(config[0])


def getregset(pid: int, kind: int, size: int) -> bytes:
    """PTRACE_GETREGSET: the first ``size`` bytes (at most) of register set ``kind``
    (``size`` a multiple of 8, or the kernel says EINVAL)."""
    buffer = ctypes.create_string_buffer(size)
    iov = (ctypes.c_uint64 * 2)(ctypes.addressof(buffer), size)
    ptrace(PTRACE_GETREGSET, pid, kind, ctypes.addressof(iov))
    return buffer.raw[:iov[1]]


# --- offsets into user_regs_struct, for single-register writes (PTRACE_POKEUSER) -------------
REG_OFFSET: Final = {
    name: getattr(user_regs_struct, name).offset for name, _ in user_regs_struct._fields_
}


def poke_reg(pid: int, name: str, value: int) -> None:
    _fast(pt.PTRACE_POKEUSER, pid, REG_OFFSET[name], value & 0xFFFFFFFFFFFFFFFF)


# --- libc calls python's os module does not offer --------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


SYS_OPENAT2: Final = NUMBERS["openat2"]
RESOLVE_NO_XDEV: Final = 0x01
RESOLVE_NO_MAGICLINKS: Final = 0x02
RESOLVE_NO_SYMLINKS: Final = 0x04
RESOLVE_BENEATH: Final = 0x08
RESOLVE_IN_ROOT: Final = 0x10


class OpenHow(ctypes.Structure):
    """struct open_how (linux/openat2.h)."""

    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64))


OPEN_HOW_SIZE: Final = ctypes.sizeof(OpenHow)


def openat2(dirfd: int, path: bytes, flags: int, resolve: int) -> int:
    """openat2(2) for the tracer's own lookups; raises OSError."""
    how = OpenHow(flags, 0, resolve)
    fd = _libc.syscall(SYS_OPENAT2, ctypes.c_int(dirfd), ctypes.c_char_p(path),
                       ctypes.byref(how), ctypes.c_size_t(OPEN_HOW_SIZE))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return fd


def tgkill(tgid: int, tid: int, sig: int) -> None:
    """Send a signal to one thread (an injected ``signal``); raises OSError."""
    if _libc.syscall(NUMBERS["tgkill"], ctypes.c_int(tgid), ctypes.c_int(tid),
                     ctypes.c_int(sig)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def session_keyring() -> int | None:
    """The serial of the caller's session keyring (keyctl(KEYCTL_GET_KEYRING_ID,
    KEY_SPEC_SESSION_KEYRING, 0)), None when it cannot be told."""
    serial = _libc.syscall(NUMBERS["keyctl"], ctypes.c_long(0), ctypes.c_long(-3),
                           ctypes.c_long(0))
    return None if serial < 0 else int(serial)


class _StatFs(ctypes.Structure):
    """The head of struct statfs (x86_64): the file system's magic number comes first."""

    _fields_ = (("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 112))


def fs_type(fd: int) -> int:
    """fstatfs(fd).f_type (os.statvfs does not give it); raises OSError."""
    buf = _StatFs()
    if _libc.fstatfs(ctypes.c_int(fd), ctypes.byref(buf)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return buf.f_type


SYS_STATX: Final = NUMBERS["statx"]
STATX_MNT_ID: Final = 0x1000
STATX_MNT_ID_UNIQUE: Final = 0x4000  # stx_mnt_id the 64-bit id, never reused (Linux 6.8)
_STATX_SIZE: Final = 256            # sizeof(struct statx)
_STATX_MASK_AT: Final = 0           # stx_mask, a __u32 at the start
_STATX_MNT_ID_AT: Final = 0x90      # stx_mnt_id, a __u64
_EMPTY: Final = ctypes.c_char_p(b"")


def mounted_file(fd: int) -> tuple[int, int, int]:
    """A descriptor's file as seen through its mount: (mount id, device, inode) -- a mount's
    root, or a task's root, known apart from the same file under another mount (a bind,
    a copy).  Raises OSError."""
    info = os.fstat(fd)
    return mount_id(fd), info.st_dev, info.st_ino


def mount_id(fd: int) -> int:
    """The mount a descriptor is on: statx's STATX_MNT_ID, the id /proc/self/fdinfo's mnt_id
    line gives (Linux 5.8), for the cost of one call instead of a file opened and parsed;
    that line on older kernels.  Never a value that could equal another mount's; raises
    OSError."""
    found = _statx_mount_id(fd, STATX_MNT_ID)
    if found is not None:
        return found
    with open(f"/proc/self/fdinfo/{fd}", "rb") as info:  # (before Linux 5.8)
        for line in info:
            if line.startswith(b"mnt_id:"):
                return int(line.split()[1])
    raise OSError(errno.ENOSYS, "no mount id for a descriptor on this kernel")


def _statx_mount_id(fd: int, mask: int) -> int | None:
    """statx's stx_mnt_id of a descriptor asked with ``mask`` (STATX_MNT_ID, or
    STATX_MNT_ID_UNIQUE), None where the kernel did not fill it (stx_mask lacks the bit);
    raises OSError -- mount_id's and unique_mount_id's one statx."""
    buf = ctypes.create_string_buffer(_STATX_SIZE)
    if _libc.syscall(SYS_STATX, ctypes.c_int(fd), _EMPTY, ctypes.c_int(AT_EMPTY_PATH),
                     ctypes.c_uint(mask), buf) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    if not int.from_bytes(buf.raw[_STATX_MASK_AT:_STATX_MASK_AT + 4], "little") & mask:
        return None
    return int.from_bytes(buf.raw[_STATX_MNT_ID_AT:_STATX_MNT_ID_AT + 8], "little")


#: statx's stx_attributes (a __u64 at 8) bit of a file fscrypt encrypts: a file, a directory
#: (its names) or a symlink (its target) of an encryption policy
STATX_ATTR_ENCRYPTED: Final = 0x800
_STATX_ATTRIBUTES_AT: Final = 8


def encrypted(path: str) -> bool:
    """Whether the file at ``path`` (its last name not followed) is encrypted by fscrypt
    (STATX_ATTR_ENCRYPTED); raises OSError."""
    buf = ctypes.create_string_buffer(_STATX_SIZE)
    if _libc.syscall(SYS_STATX, ctypes.c_int(AT_FDCWD),
                     ctypes.c_char_p(path.encode("utf-8", "surrogateescape")),
                     ctypes.c_int(AT_SYMLINK_NOFOLLOW), ctypes.c_uint(0), buf) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    attributes = int.from_bytes(buf.raw[_STATX_ATTRIBUTES_AT:_STATX_ATTRIBUTES_AT + 8], "little")
    return bool(attributes & STATX_ATTR_ENCRYPTED)


class _FileHandle(ctypes.Structure):
    """struct file_handle with room for any file system's handle (MAX_HANDLE_SZ, 128)."""

    _fields_ = (("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128))


def unique_mount_id(fd: int) -> int | None:
    """The never-reused id of the mount a descriptor is on (statx's STATX_MNT_ID_UNIQUE,
    Linux 6.8), None where the kernel does not give it.  mount_id's is reused as soon as a
    mount goes -- anyone's on the machine -- and a mount made since may take it (close 34)."""
    try:
        return _statx_mount_id(fd, STATX_MNT_ID_UNIQUE)
    except OSError:
        return None


_LSMT_ROOT: Final = 0xFFFF_FFFF_FFFF_FFFF  # listmount: every mount below the caller's root
_MNT_ID_REQ_SIZE_VER0: Final = 24          # struct mnt_id_req: size, spare, mnt_id, param


def unique_mount_ids() -> frozenset[int] | None:
    """The never-reused ids (unique_mount_id's) of every mount of the caller's view:
    listmount(2) from its root, Linux 6.8, paged by the last id; None where the kernel has
    no listmount."""
    ids: set[int] = set()
    last = 0
    batch = (ctypes.c_uint64 * 1024)()
    while True:
        request = struct.pack("=IIQQ", _MNT_ID_REQ_SIZE_VER0, 0, _LSMT_ROOT, last)
        count = _libc.syscall(NUMBERS["listmount"], ctypes.c_char_p(request), batch,
                              ctypes.c_size_t(len(batch)), ctypes.c_uint(0))
        if count < 0:
            return None
        ids.update(batch[:count])
        if count < len(batch):
            return frozenset(ids)
        last = batch[count - 1]


#: name_to_handle_at: a handle that tells files apart, not one to open again (Linux 6.5)
AT_HANDLE_FID: Final = 0x200


#: exportfs's FILEID_INO64_GEN: a 64-bit inode number and a 32-bit generation
#: (exportfs_encode_fid's handle where a file system has no export operations)
_FILEID_INO64_GEN: Final = 0x81


def file_identity(fd: int) -> tuple[int, int, bytes]:
    """Which file a descriptor holds, as two live files never share it: (device, inode,
    the file system's handle of it -- name_to_handle_at's, which carries the inode's
    generation on ext4, xfs, btrfs and tmpfs; b"" where the file system gives none).  An
    inode number alone may be another file's after the first is freed, or on a tmpfs
    whose 32-bit numbers wrapped -- on overlayfs (every container's root), which exports no
    handle without ``nfs_export``, the next file made took a freed number at once (review
    63): where the file system refuses a handle that can be opened again, the one that only
    tells files apart is asked (AT_HANDLE_FID, Linux 6.5: overlayfs gives the upper inode's
    generation).  Raises OSError."""
    info = os.fstat(fd)
    handle = _FileHandle()
    mount = ctypes.c_int()
    for flags in (AT_EMPTY_PATH, AT_EMPTY_PATH | AT_HANDLE_FID):
        handle.handle_bytes = 128
        if _libc.name_to_handle_at(ctypes.c_int(fd), _EMPTY, ctypes.byref(handle),
                                   ctypes.byref(mount), ctypes.c_int(flags)) == 0:
            break
        err = ctypes.get_errno()
        if err not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
            raise OSError(err, os.strerror(err))
    else:
        return info.st_dev, info.st_ino, b""
    size = min(handle.handle_bytes, 128)
    if handle.handle_type == _FILEID_INO64_GEN and size == 12 and \
            not any(handle.f_handle[8:12]):
        # (the kernel's own handle of a file system with no export operations: the inode
        # number and i_generation, which is 0 on ramfs, hugetlbfs, mqueue, bpf, procfs -- the
        # number alone, as b"" says: review 64)
        return info.st_dev, info.st_ino, b""
    return info.st_dev, info.st_ino, \
        handle.handle_type.to_bytes(4, "little", signed=True) + bytes(handle.f_handle[:size])


_NETLINK_SOCK_DIAG: Final = 4
_SOCK_DIAG_BY_FAMILY: Final = 20
_NLM_F_DUMP_REQUEST: Final = 0x301  # NLM_F_REQUEST | NLM_F_DUMP
_NLMSG_ERROR: Final = 2
_NLMSG_DONE: Final = 3
_UDIAG_SHOW_VFS: Final = 0x2
_UNIX_DIAG_VFS: Final = 1
_MINORBITS: Final = 20              # the kernel's own dev_t: MAJOR << 20 | MINOR


def unix_socket_at(path: str) -> int | None:
    """The unix socket bound at the file ``path`` leads to (symlinks followed, as a connect
    follows them): its inode number, as /proc/PID/fd names it (``socket:[N]``), told by
    sock_diag (UNIX_DIAG_VFS: the device and inode of each bound socket's file); None when
    no socket of the tracer's network namespace is bound there, or none can be asked.  Who
    bound a socket file is the socket's, not the file's: a name, or a birth time, another
    process's socket can have too (red team 19)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISSOCK(info.st_mode):
        return None
    device = os.major(info.st_dev) << _MINORBITS | os.minor(info.st_dev)
    inode = info.st_ino & 0xFFFFFFFF  # (udiag_vfs_ino is a __u32)
    try:
        for message in _unix_sockets(_UDIAG_SHOW_VFS):
            found = _vfs_match(message, device, inode)
            if found is not None:
                return found
    except OSError:
        pass
    return None


def live_unix_sockets() -> set[int] | None:
    """The inode numbers of every unix socket of the tracer's network namespace now (as
    /proc/PID/fd names them), or None when sock_diag cannot be asked."""
    try:
        return {struct.unpack_from("=I", message, 4)[0]
                for message in _unix_sockets(0) if len(message) >= 16}
    except OSError:
        return None


def _unix_sockets(show: int) -> Iterator[bytes]:
    """Each unix_diag_msg (with the attributes ``show`` asks for) of a sock_diag dump of the
    unix sockets of the tracer's network namespace; OSError when it cannot be asked, or the
    dump fails part way (a partial list must not pass for the whole)."""
    request = struct.pack("=IHHII", 16 + 24, _SOCK_DIAG_BY_FAMILY, _NLM_F_DUMP_REQUEST, 1, 0) \
        + struct.pack("=BBHIIIII", _socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, show, 0, 0)
    diag = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
                          _NETLINK_SOCK_DIAG)
    try:
        diag.sendall(request)
        while True:
            data = diag.recv(65536)
            if not data:
                raise OSError(errno.EIO, "sock_diag's dump ended without NLMSG_DONE")
            at = 0
            while at + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, at)
                if kind == _NLMSG_DONE:
                    return
                if kind == _NLMSG_ERROR or length < 16:
                    raise OSError(errno.EIO, "sock_diag's dump failed")
                yield data[at + 16:at + length]
                at += (length + 3) & ~3
    finally:
        diag.close()


def _vfs_match(message: bytes, device: int, inode: int) -> int | None:
    """The socket of one unix_diag_msg whose UNIX_DIAG_VFS is (``device``, ``inode``)."""
    if len(message) < 16:
        return None
    (socket_inode,) = struct.unpack_from("=I", message, 4)
    at = 16
    while at + 4 <= len(message):
        length, kind = struct.unpack_from("=HH", message, at)
        if length < 4:
            return None
        if kind == _UNIX_DIAG_VFS and length >= 12:
            vfs_inode, vfs_device = struct.unpack_from("=II", message, at + 4)
            return socket_inode if (vfs_device, vfs_inode) == (device, inode) else None
        at += (length + 3) & ~3
    return None


def socket_inode(pid: int, fd: int) -> int | None:
    """The inode of the socket descriptor ``fd`` of ``pid`` is (``socket:[N]``), or None."""
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    if not (link.startswith("socket:[") and link.endswith("]")):
        return None
    return int(link[8:-1])


SYS_KCMP: Final = NUMBERS["kcmp"]


def kcmp(pid1: int, pid2: int, kind: int) -> int:
    """kcmp(2) without indexes (KCMP_VM, KCMP_FS, KCMP_FILES...): 0 when the two tasks share
    that kernel object; raises OSError."""
    result = _libc.syscall(SYS_KCMP, ctypes.c_int(pid1), ctypes.c_int(pid2), ctypes.c_int(kind),
                           ctypes.c_ulong(0), ctypes.c_ulong(0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(result)


# --- what the child does between fork and exec ----------------------------------------------
SYS_SECCOMP: Final = 317
SECCOMP_SET_MODE_FILTER: Final = 1


class SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def prepare_filter(bpf: bytes) -> tuple[SockFprog, ctypes.Array[ctypes.c_char]]:
    """Build the sock_fprog in the parent, so the child only makes two system calls."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    return prog, buf


def set_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 1): so an unprivileged tracer may seize this (child) process."""
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


def set_no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


KEYCTL_JOIN_SESSION_KEYRING: Final = 1


def new_session_keyring() -> None:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new, empty session keyring of this
    process's own (its owner the credentials it has now), in place of the one inherited.

    For a program ``-c`` runs as another user: a session keyring survives fork, setuid and
    exec, and a process possesses every key it reaches from it, whatever its uid -- the
    starter's (root's login keyring, with root's user keyring linked in) would be the
    program's (docs/security.md, red team 13b).  Where keyctl is refused to us outright
    (ENOSYS, a container's filter's EPERM) it is refused to the program too; any other
    failure (the new user's key quota) is raised: the program is not run."""
    if _libc.syscall(NUMBERS["keyctl"], KEYCTL_JOIN_SESSION_KEYRING, None) >= 0:
        return
    err = ctypes.get_errno()
    if err not in (errno.ENOSYS, errno.EPERM):
        raise OSError(err, os.strerror(err))


PR_SET_SECCOMP: Final = 22


def load_filter(prog: SockFprog) -> None:
    """seccomp(SECCOMP_SET_MODE_FILTER): from here on the filter holds this task for good.
    prctl(PR_SET_SECCOMP) where the seccomp() call itself is missing (older kernels)."""
    if _libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(prog)) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.ENOSYS and _libc.prctl(PR_SET_SECCOMP, SECCOMP_SET_MODE_FILTER,
                                           ctypes.byref(prog), 0, 0) == 0:
        return
    err = ctypes.get_errno() if err == errno.ENOSYS else err
    raise OSError(err, os.strerror(err))


__all__ = ["PtraceError", "SyscallInfo", "user_regs_struct"]
