"""What the kernel loads when a file is exec'd: its interpreters.

An exec names one file, but the kernel may run others for it: the interpreter on a script's
``#!`` line (and that one's, up to four levels, as the kernel allows), and the ELF program
interpreter (PT_INTERP, normally ld.so) of the binary that finally runs.  A policy that
refuses to exec a program must also refuse it when it comes in as somebody's interpreter.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

MAX_SCRIPT_DEPTH = 4   # the kernel's BINPRM_MAX_RECURSION
_HEADER = 256          # BINPRM_BUF_SIZE: what the kernel reads of a #! line
PT_INTERP = 3


@dataclass(frozen=True, slots=True)
class ExecImage:
    """``interpreters``: every file the kernel runs for the exec besides the named one, in
    order (script interpreters, then the ELF interpreter).  ``binary``: the ELF that ends up
    running, which /proc/PID/exe names (the file itself unless it is a script)."""

    interpreters: tuple[str, ...]
    binary: str


def _read_head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEADER)
    except OSError:
        return b""


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


def exec_image(path: str, cwd: str) -> ExecImage:
    """The interpreters the kernel will run to exec ``path`` (as the tracer sees the files
    now); relative interpreter names are taken from ``cwd``, as the kernel does."""
    found: list[str] = []
    current = path
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        name = _shebang(_read_head(current))
        if name is None:
            break
        current = os.path.realpath(os.path.join(cwd, name))
        found.append(current)
    interp = _elf_interpreter(current)
    if interp is not None:
        found.append(os.path.realpath(interp))
    return ExecImage(tuple(found), current)
