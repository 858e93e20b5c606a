"""The C libraries python-ptrace and pyseccomp bind, found by soname instead of by ldconfig.

Both bindings call ``ctypes.util.find_library`` while they are imported (``"c"`` twice,
``"seccomp"`` once).  On Linux that runs ``/sbin/ldconfig -p`` in a subprocess each time, and
importing ``ctypes.util`` pulls in subprocess, shutil and tempfile: 10-20 ms of a start-up whose
target is 60 ms (issue 16).  The dynamic loader already finds these libraries by their sonames,
so while the bindings are imported :func:`fixed_sonames` puts a small ``ctypes.util`` in place
whose ``find_library`` answers from :data:`SONAMES`, after proving the soname loads.  Any other
name, or a soname the loader cannot load (another libc, a libseccomp of another ABI), is handed
to the real ``find_library``, as if nothing had been patched.  The stand-in is removed when the
imports are done, so nothing else ever sees it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Final

#: find_library's names -> the sonames tried first, in order (glibc's libc, libseccomp 2.x).
SONAMES: Final[dict[str, tuple[str, ...]]] = {
    "c": ("libc.so.6",),
    "seccomp": ("libseccomp.so.2",),
}


def find_library(name: str) -> str | None:
    """ctypes.util.find_library, answered from :data:`SONAMES` when the loader can load it."""
    for soname in SONAMES.get(name, ()):
        try:
            ctypes.CDLL(soname)
        except OSError:
            continue
        return soname
    return _real_util().find_library(name)


def _real_util() -> types.ModuleType:
    """The real ctypes.util (imported now if the stand-in is in its place)."""
    current = sys.modules.get("ctypes.util")
    if current is not None and getattr(current, "_systrace_stand_in", False):
        del sys.modules["ctypes.util"]
    return importlib.import_module("ctypes.util")


@contextlib.contextmanager
def fixed_sonames() -> Iterator[None]:
    """While importing python-ptrace or pyseccomp: find_library without ldconfig."""
    real = sys.modules.get("ctypes.util")
    if real is not None:  # already imported by someone: patch its function for the duration
        saved = real.find_library
        real.find_library = find_library  # type: ignore[attr-defined]
        try:
            yield
        finally:
            real.find_library = saved  # type: ignore[attr-defined]
        return
    stand_in = types.ModuleType("ctypes.util", "find_library without ldconfig (native.py)")
    stand_in.find_library = find_library  # type: ignore[attr-defined]
    stand_in._systrace_stand_in = True  # type: ignore[attr-defined]
    sys.modules["ctypes.util"] = stand_in
    ctypes.util = stand_in  # type: ignore[attr-defined]  # `import ctypes.util; ctypes.util.x`
    try:
        yield
    finally:
        if sys.modules.get("ctypes.util") is stand_in:
            del sys.modules["ctypes.util"]
        if getattr(ctypes, "util", None) is stand_in:
            del ctypes.util  # type: ignore[attr-defined]
