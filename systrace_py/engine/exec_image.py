"""What the kernel loads when a file is exec'd: its interpreters.

An exec names one file, but the kernel may run others for it: the interpreter on a script's
``#!`` line (and that one's, up to four levels, as the kernel allows), and the ELF program
interpreter (PT_INTERP, normally ld.so) of the binary that finally runs.  A policy that
refuses to exec a program must also refuse it when it comes in as somebody's interpreter.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

MAX_SCRIPT_DEPTH = 4   # the kernel's BINPRM_MAX_RECURSION
_HEADER = 256          # BINPRM_BUF_SIZE: what the kernel reads of a #! line
PT_INTERP = 3


@dataclass(frozen=True, slots=True)
class ExecImage:
    """``interpreters``: every file the kernel runs for the exec besides the named one, in
    order (script interpreters, then the ELF interpreter).  ``binary``: the ELF that ends up
    running, which /proc/PID/exe names (the file itself unless it is a script); ``reach``:
    where the tracer opens it ("": at ``binary``)."""

    interpreters: tuple[str, ...]
    binary: str
    reach: str = ""


#: how a name the exec'ing task gives (a #! interpreter, PT_INTERP) is found: its name for
#: rules and where the tracer opens it; None when the task's lookup fails
Reach = Callable[[str], "tuple[str, str] | None"]


_Identity = tuple[int, int, int, int]
#: file identity (dev, ino, mtime, size) -> what its header says: ("#!", name), ("elf", PT_INTERP
#: or None), or ("", None).  Keyed by identity, so a rewritten file is read again.
_headers: dict[_Identity, tuple[str, str | None]] = {}
#: interpreter name -> (its resolved path, that file's identity): a name is resolved again only
#: when what it leads to is no longer the same file.
_resolved: dict[str, tuple[str, tuple[int, int]]] = {}
_CACHE_LIMIT = 4096


def _identity(path: str) -> _Identity | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _header(path: str) -> tuple[str, str | None]:
    """What the kernel will look at in the file's first bytes, read once per file version."""
    identity = _identity(path)
    found = _headers.get(identity) if identity is not None else None
    if found is not None:
        return found
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER)
    except OSError:
        head = b""
    name = _shebang(head)
    if name is not None:
        found = ("#!", name)
    elif head.startswith(b"\x7fELF"):
        found = ("elf", _elf_interpreter(path))
    else:
        found = ("", None)
    if identity is not None:
        if len(_headers) >= _CACHE_LIMIT:
            _headers.clear()
        _headers[identity] = found
    return found


def _realpath(name: str) -> str:
    """os.path.realpath, but a name whose target is still the same file is not walked again."""
    cached = _resolved.get(name)
    if cached is not None:
        try:
            info = os.stat(name)
            if (info.st_dev, info.st_ino) == cached[1]:
                return cached[0]
        except OSError:
            pass
    real = os.path.realpath(name)
    try:
        info = os.stat(real)
    except OSError:
        return real
    if len(_resolved) >= _CACHE_LIMIT:
        _resolved.clear()
    _resolved[name] = (real, (info.st_dev, info.st_ino))
    return real


def _shebang(head: bytes) -> str | None:
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip(b" \t")
    name = line.split(None, 1)[0] if line else b""
    return name.decode("utf-8", "surrogateescape") or None


def _elf_interpreter(path: str) -> str | None:
    """The PT_INTERP path of a 64-bit little-endian ELF, or None."""
    try:
        with open(path, "rb") as f:
            ident = f.read(64)
            if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
                return None
            phoff = struct.unpack_from("<Q", ident, 32)[0]
            phentsize, phnum = struct.unpack_from("<HH", ident, 54)
            if not 0 < phnum <= 256 or phentsize < 56:
                return None
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
                    "<IIQQQQ", table, i * phentsize)
                if p_type == PT_INTERP and 0 < p_filesz <= 4096:
                    f.seek(p_offset)
                    return f.read(p_filesz).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    except (OSError, struct.error):
        return None
    return None


def _host_reach(cwd: str) -> Reach:
    """Names looked up in the tracer's own view (that of a task that shares it), relative
    ones from ``cwd``, as the kernel does."""
    def reach(name: str) -> tuple[str, str]:
        real = _realpath(os.path.join(cwd, name))
        return real, real
    return reach


def script_chain(path: str, cwd: str, reach: Reach | None = None,
                 opened: str = "") -> list[tuple[str, str]]:
    """The #! interpreters the kernel runs for ``path`` (opened at ``opened`` when it is
    not there in the tracer's view), in order, as (name, where the tracer opens it): empty
    for a binary.  Relative interpreter names are taken from ``cwd``, as the kernel does."""
    find = reach if reach is not None else _host_reach(cwd)
    found: list[tuple[str, str]] = []
    current = opened or path
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        kind, name = _header(current)
        if kind != "#!" or name is None:
            break
        where = find(name)
        if where is None:
            break  # the kernel's lookup fails too: the exec fails
        found.append(where)
        current = where[1]
    return found


def exec_image(path: str, cwd: str, elf: bool = True, reach: Reach | None = None,
               opened: str = "") -> ExecImage:
    """The interpreters the kernel will run to exec ``path`` (as the tracer sees the files
    now): its #! chain, then (with ``elf``) the ELF interpreter of the binary that runs.
    ``reach`` and ``opened``: for a task that does not see the tracer's tree (see
    :func:`script_chain`)."""
    chain = script_chain(path, cwd, reach, opened)
    found = [name for name, _ in chain]
    binary, where = chain[-1] if chain else (path, opened or path)
    if elf:
        kind, interp = _header(where)
        if kind == "elf" and interp is not None:
            interpreter = (reach or _host_reach(cwd))(interp)
            if interpreter is not None:
                found.append(interpreter[0])
    return ExecImage(tuple(found), binary, "" if where == binary else where)
