"""What the kernel loads when a file is exec'd: its interpreters.

An exec names one file, but the kernel may run others for it: the interpreter on a script's
``#!`` line (and that one's, up to four levels, as the kernel allows), and the ELF program
interpreter (PT_INTERP, normally ld.so) of the binary that finally runs.  A policy that
refuses to exec a program must also refuse it when it comes in as somebody's interpreter.

The files are the tracee's to write, so they are read as the kernel reads them
(fs/binfmt_script.c, fs/binfmt_elf.c): an interpreter name the kernel would not use is not
reported, one it would use is reported exactly as it will be opened -- ``#!/bin/sh\\v`` names
"/bin/sh\\v", not "/bin/sh" -- and nothing in them can make the tracer fail.  Only regular
files are opened: the kernel execs nothing else, and opening a FIFO would block the tracer (a
device could do worse).  Every file is read again at every exec: what was read earlier may
have been rewritten since, even within one timestamp tick.  Interpreter names are resolved by
the caller, as the exec'ing task would open them (its cwd and root, /proc/self meaning it, the
kernel's limit of 40 symlinks -- os.path.realpath recursed once per link, and a chain of a
thousand failed the tracer).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace

from systrace_py.kernel import AT_FDCWD, PATH_MAX, TRACER_LIMITS

MAX_SCRIPT_DEPTH = 4   # the kernel's BINPRM_MAX_RECURSION
_HEADER = 256          # BINPRM_BUF_SIZE: what the kernel reads of a file's start
PT_INTERP = 3
_ET_EXEC, _ET_DYN = 2, 3
_EM_386, _EM_X86_64 = 3, 62
_LAYOUTS = {
    # EI_CLASS: (e_type/e_machine, e_phoff, e_phentsize/e_phnum: formats and offsets;
    #            size of a program header and its p_type/p_offset/p_filesz)
    2: (("<Q", 32), ("<HH", 54), 56, "<I4xQ16xQ"),  # ELFCLASS64 (x86-64)
    1: (("<I", 28), ("<HH", 42), 32, "<II8xI"),     # ELFCLASS32 (i386 / x32)
}
_MACHINES = {2: (_EM_X86_64,), 1: (_EM_386, _EM_X86_64)}
_ELF_MIN_ALIGN = 4096  # the kernel reads at most this much of program headers
_SPACE_TAB = b" \t"

@dataclass(frozen=True, slots=True)
class ExecImage:
    """``interpreters``: every file the kernel runs for the exec besides the named one, in
    order (script interpreters, then the ELF interpreter).  ``binary``: the ELF that ends up
    running, which /proc/PID/exe names (the file itself unless it is a script); ``reach``:
    where the tracer opens it ("": at ``binary``)."""

    interpreters: tuple[str, ...]
    binary: str
    reach: str = ""
    #: a regular file the kernel loads for the exec that the tracer could not read (an
    #: execute-only file under a tracer that is not root: the kernel reads it, the tracer
    #: may not): the interpreters it names, if any, are unknown
    unread: bool = False
    #: whether the file is a script (a #! chain: its interpreter is given the exec's spelling
    #: of it, its $0)
    script: bool = False
    #: the argument of the last #! line (the one naming ``binary``), which the kernel gives
    #: ``binary`` before the script's path: its options (``#!/usr/bin/python3 -s``)
    argument: str | None = None
    #: (device, inode) of the very file read as ``binary`` (None: not read so): what an exec
    #: checked on this reading must run (Tracer._note_exec) -- not the file the name leads to
    #: later, which another task may have renamed over it since (review 16)
    identity: tuple[int, int] | None = None
    #: (device, inode) of the file the new image starts in, as read: the ELF interpreter's
    #: file where its name led when the image was read, as the memory map names it
    #: (procfs.mapped_identity; GONE: one not there, or not a regular file it could map),
    #: or ITSELF when the file read names none (None: not read with its ELF interpreter)
    #: -- what the kernel must map at the new image's entry (Tracer._checked_loader).  The
    #: kernel resolves PT_INTERP's name again when it loads it, and a symlink on the way
    #: another task re-points since leads elsewhere (gap #43); and it reads the file again:
    #: one rewritten in place since (the same file) may name an interpreter the reading did
    #: not see (review 17)
    loader: tuple[int, int] | None = None


#: the identity of no file (st_dev and st_ino are unsigned): an interpreter found that was
#: gone when stat'ed -- whatever the kernel maps as one is not what was checked
GONE = (-1, -1)
#: the loader of an image read with no ELF interpreter: the binary itself (/proc/PID/exe,
#: the file the exec event checks first) holds the new image's entry
ITSELF = (-2, -2)


#: how a name the exec'ing task gives (a #! interpreter, PT_INTERP) is found, as the task
#: would open it -- from its cwd and root, through symlinks within the kernel's limit
#: (paths.PathResolver): its name for rules and where the tracer opens it; None when no file
#: can be named
Reach = Callable[[str], "tuple[str, str] | None"]


#: the kind of a regular file the tracer could not read (ExecImage.unread)
UNREAD = "?"


def _open_regular(path: str) -> int | None:
    """A descriptor to read ``path``, if it is a regular file (what exec loads): None when it
    is not (or is not there); OSError when it is one the tracer may not read.  Opened as
    O_PATH first, which has no side effect on any kind of file, and reopened for reading only
    once it is known to be regular: the file checked is the file read."""
    try:
        handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except ValueError:
        return None
    except OSError as exc:
        if exc.errno in TRACER_LIMITS:
            raise  # (the tracer's own limit: says nothing of the file)
        return None  # the kernel's lookup fails too
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        return os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(handle)


def _resolved_identity(where: str) -> tuple[int, int]:
    """(device, inode) of the file at ``where``, where the resolver found the interpreter a
    moment ago -- a name with no symlink left on it (the resolver followed them), looked up
    so again (openat2's RESOLVE_NO_SYMLINKS): a task of the tree that re-points a link of the
    name the task gave, or swaps a directory of the resolved name for a link, since, makes
    it GONE -- whatever the kernel then maps is not what was checked, and the exec is killed
    at its event (Tracer._checked_loader; gap #43) -- never the identity of where the new
    link leads.  In another view (/proc/TID/root/NAME) the name is looked up from that root.
    The identity is the memory map's (procfs.mapped_identity), what the event compares it
    with: ``stat``'s differs on btrfs (the subvolume's device: every exec whose interpreter
    was on btrfs was killed, review 17).  A file that is not regular, or that the tracer
    may not read (an execute-only loader under an unprivileged tracer), is GONE."""
    from systrace_py import procfs
    from systrace_py.engine.ptrace_ops import RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, openat2

    dirfd, name, resolve = AT_FDCWD, where, RESOLVE_NO_SYMLINKS
    parts = where.split("/", 4)
    try:
        if len(parts) == 5 and parts[1] == "proc" and parts[3] == "root":
            dirfd = os.open("/".join(parts[:4]), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            name, resolve = parts[4] or ".", RESOLVE_NO_SYMLINKS | RESOLVE_IN_ROOT
        try:
            fd = openat2(dirfd, os.fsencode(name), os.O_PATH | os.O_CLOEXEC, resolve)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            fd = os.open(name, os.O_PATH | os.O_CLOEXEC,  # (before 5.6)
                         dir_fd=None if dirfd == AT_FDCWD else dirfd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return GONE  # (the kernel loads none but a regular file; a FIFO: no open)
            reader = procfs.reopen(fd, os.O_RDONLY)
        finally:
            os.close(fd)
        try:
            found = procfs.mapped_identity(reader)
        finally:
            os.close(reader)
        return GONE if found is None else found
    except (OSError, ValueError):
        return GONE
    finally:
        if dirfd != AT_FDCWD:
            os.close(dirfd)


#: what :func:`_header` found: kind, name, #! argument, and the (device, inode) of the file
#: read (None: none was)
_Header = tuple[str, "str | None", "str | None", "tuple[int, int] | None"]


def _header(path: str) -> _Header:
    """What the kernel finds at the file's start: ("#!", interpreter, its argument or None),
    ("elf", its PT_INTERP or None, None), ("", None, None) -- or (UNREAD, None, None) for a
    regular file the tracer could not read, which the kernel (exec needs no read permission)
    reads all the same -- and the identity of the file read."""
    try:
        fd = _open_regular(path)
    except OSError:
        return UNREAD, None, None, None
    if fd is None:
        return "", None, None, None
    try:
        info = os.fstat(fd)
        identity = (info.st_dev, info.st_ino)
        head = os.pread(fd, _HEADER, 0)
        line = _shebang(head)
        if line is not None:
            return "#!", *line, identity
        if head.startswith(b"\x7fELF"):
            return "elf", _elf_interpreter(fd, head), None, identity
        return "", None, None, identity
    except OSError:
        return UNREAD, None, None, None
    finally:
        os.close(fd)


def _shebang(head: bytes) -> tuple[str, str | None] | None:
    """The interpreter a ``#!`` line names and its argument, as binfmt_script parses them:
    the line ends at a newline before any NUL; without one the name must be followed by a
    space, tab or NUL within the buffer (else it may be cut, and the kernel refuses).  The
    name starts after the spaces and tabs that follow ``#!`` and ends at the next space,
    tab or NUL; the argument is the rest of the line, its leading and trailing spaces and
    tabs left out (None: none; "" when the line runs into the buffer's NUL padding), given
    to the interpreter as one string."""
    if not head.startswith(b"#!"):
        return None
    buf = head.ljust(_HEADER, b"\0")  # the kernel's buffer is NUL-padded
    last = _HEADER - 1
    newline, nul = buf.find(b"\n"), buf.find(b"\0")
    if newline >= 0 and (nul < 0 or newline < nul):
        end = newline
    else:
        first = _next(buf, 2, last, lambda c: c not in _SPACE_TAB)
        if first is None or _next(buf, first, last, _terminates) is None:
            return None  # all blank, or the name may be cut
        end = last
    while buf[end - 1] in _SPACE_TAB:
        end -= 1
    start = _next(buf, 2, end, lambda c: c not in _SPACE_TAB)
    if start is None or start == end:
        return None
    stop = _next(buf, start, end, _terminates)
    name = buf[start:min(stop if stop is not None else end, end)]
    if not name:
        return None
    argument = None
    if stop is not None and buf[stop] != 0:
        # binfmt_script: the first byte after the blanks, up to the line's end (which it
        # makes a NUL: at the end itself the argument is "") -- a C string, cut at a NUL
        at = _next(buf, stop, end, lambda c: c not in _SPACE_TAB)
        if at is not None:
            argument = buf[at:end].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return name.decode("utf-8", "surrogateescape"), argument


def _terminates(c: int) -> bool:
    return c in _SPACE_TAB or c == 0


def _next(buf: bytes, first: int, last: int, wanted: Callable[[int], bool]) -> int | None:
    """The first index in ``first..last`` (both included) whose byte is wanted, or None."""
    return next((i for i in range(first, last + 1) if wanted(buf[i])), None)


def _elf_interpreter(fd: int, head: bytes) -> str | None:
    """The PT_INTERP path the kernel would load for this ELF (load_elf_binary), or None
    when there is none or the kernel would refuse the file before loading one."""
    layout = _LAYOUTS.get(head[4]) if len(head) >= 64 else None
    if layout is None or head[5] != 1:  # a class this kernel runs, little-endian
        return None
    (phoff_format, phoff_at), (ph_format, ph_at), entry_size, entry_format = layout
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_type not in (_ET_EXEC, _ET_DYN) or e_machine not in _MACHINES[head[4]]:
        return None
    (phoff,) = struct.unpack_from(phoff_format, head, phoff_at)
    phentsize, phnum = struct.unpack_from(ph_format, head, ph_at)
    size = phentsize * phnum
    if phentsize != entry_size or not 0 < size <= _ELF_MIN_ALIGN or phoff >= 1 << 63:
        return None
    table = os.pread(fd, size, phoff)
    if len(table) != size:
        return None
    for at in range(0, size, entry_size):
        p_type, p_offset, p_filesz = struct.unpack_from(entry_format, table, at)
        if p_type != PT_INTERP:
            continue
        # the first PT_INTERP is the one: a NUL-terminated path of at most PATH_MAX bytes
        if not 2 <= p_filesz <= PATH_MAX or p_offset >= 1 << 63:
            return None
        name = os.pread(fd, p_filesz, p_offset)
        if len(name) != p_filesz or name[-1] != 0:
            return None
        return name.split(b"\0", 1)[0].decode("utf-8", "surrogateescape") or None
    return None


#: whether the tracer may read an interpreter's first bytes (see :func:`exec_image`)
Admit = Callable[[str], bool]


#: what :func:`script_chain` found (see there): the #! interpreters, whether every one was
#: admitted, whether a file could not be read, the last #! line's argument, and the last file
#: read with what its header said (its path, kind, name) -- a plain tuple: a NamedTuple
#: class is made at import, on every start's way
_Chain = tuple[list[tuple[str, str]], bool, bool, "str | None",
               "tuple[str, str, str | None, tuple[int, int] | None] | None"]


def script_chain(path: str, reach: Reach, opened: str = "", admit: Admit | None = None
                 ) -> _Chain:
    """The #! interpreters the kernel runs for ``path`` (opened at ``opened`` when it is
    not there in the tracer's view), in order, as (name, where the tracer opens it): empty
    for a binary; whether every one was admitted; whether one of the files could not be
    read (the chain may go on there); the last #! line's argument (ExecImage.argument);
    and the last header read (its file, kind, name and identity), which :func:`exec_image` takes the
    ELF interpreter from rather than open the binary again.
    An interpreter ``admit`` refuses ends the chain unread.  Each is put to ``admit`` once
    (it matches the name against the policy's rules)."""
    found: list[tuple[str, str]] = []
    current = opened or path
    argument: str | None = None
    last: tuple[str, str, str | None, tuple[int, int] | None] | None = None
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        kind, name, given, identity = _header(current)
        last = (current, kind, name, identity)
        if kind == UNREAD:
            return found, True, True, argument, last
        if kind != "#!" or name is None:
            break
        where = reach(name)
        if where is None:
            break  # the kernel's lookup fails too: the exec fails
        found.append(where)
        argument = given
        if admit is not None and not admit(where[0]):
            # refused: what it holds is not the tracer's to read
            return found, False, False, argument, last
        current = where[1]
    return found, True, False, argument, last


def exec_image(path: str, reach: Reach, elf: bool = True, opened: str = "",
               admit: Admit | None = None) -> ExecImage:
    """The interpreters the kernel will run to exec ``path`` (as the tracer sees the files
    now): its #! chain, then (with ``elf``) the ELF interpreter of the binary that runs.
    ``opened``: where the tracer opens ``path`` when it is not there in the tracer's view
    (a task that does not see the tracer's tree).

    ``admit`` says, for each interpreter found, whether the tracer may read it in turn: the
    first one it refuses ends the image unread (the exec is refused for it anyway).  The
    tracer reads a file's first bytes to find the next interpreter; what it reads stays in its
    memory, which a root tracee may read (/proc/PID/mem): a permitted script whose #! line
    named a file a rule protects made the tracer read that file for it (docs/security.md,
    class 6, "what the tracer reads for a decision")."""
    return exec_images(path, reach, elf, opened, admit)[0]


def exec_images(path: str, reach: Reach, elf: bool = True, opened: str = "",
                admit: Admit | None = None) -> tuple[ExecImage, ExecImage]:
    """:func:`exec_image`'s image, and the same reading's #! chain alone (the image without
    ``elf``: what /proc/PID/exe will name) -- each file opened and read once: the binary's
    ELF interpreter is taken from the header the chain read to find it was no script (it was
    opened and read a second time), and a caller that needs both images has one reading."""
    chain, admitted, unread, argument, last = script_chain(path, reach, opened, admit)
    found = tuple(name for name, _ in chain)
    binary, where = chain[-1] if chain else (path, opened or path)
    read = last is not None and last[0] == where  # (the binary's header: read last)
    identity = last[3] if read and last is not None else None
    alone = ExecImage(found, binary, "" if where == binary else where, unread, bool(chain),
                      argument, identity)
    if not elf or not admitted or unread:
        return alone, alone
    # (read here only when the chain stopped before the binary: the kernel's depth)
    kind, interp = (last[1], last[2]) if read and last is not None else _header(where)[:2]
    if kind == UNREAD:
        return ExecImage(found, alone.binary, alone.reach, True, alone.script, argument,
                         identity), alone
    interpreter = reach(interp) if kind == "elf" and interp is not None else None
    if interpreter is None:
        # (no interpreter read: the new image must start in the binary itself -- a file
        # rewritten in place to name one since is not what was read, exec_interp_swap.c
        # flip; a PT_INTERP whose name reached no file: nothing may be loaded as it)
        found_none = kind != "elf" or interp is None
        loader = (ITSELF if identity is not None else None) if found_none else GONE
        return replace(alone, loader=loader), alone
    loader = _resolved_identity(interpreter[1])
    return ExecImage((*found, interpreter[0]), alone.binary, alone.reach, False, alone.script,
                     argument, identity, loader), alone
