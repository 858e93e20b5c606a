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

python-ptrace's package also imports, for its error module's logging helpers (its debugger's
``writeError`` and ``writeBacktrace``, which systrace never calls), ``logging``, ``traceback``
and its own ``logging_tools`` -- and with them ``datetime``, ``tokenize``, ``linecache``,
``string``, ``weakref``: ~3 ms of a start (issue 16, start-up fifth pass).  While it is
imported, :func:`lazy_names` gives those imports stand-ins: the few names python-ptrace takes
(:data:`PTRACE_NAMES`) are constants of the real module's value or functions that import the
real module when called; any other name imports the real module at once.  A module already
imported is never stood in for.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, Final

from systrace_py.startup import standing_in

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
    return _real("ctypes.util").find_library(name)


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


#: What python-ptrace's package takes by name from modules its binding never uses: a value
#: (the real module's: tests/cli/test_startup_imports.py compares them), or None for a
#: function that imports the real module when it is called.
PTRACE_NAMES: Final[dict[str, dict[str, int | None]]] = {
    "logging": {"ERROR": 40, "WARNING": 30, "INFO": 20, "DEBUG": 10, "getLogger": None},
    "traceback": {"format_exception": None},
    "ptrace.logging_tools": {"getLogFunc": None, "changeLogLevel": None},
}


def _real(name: str) -> types.ModuleType:
    """The real module ``name`` (its stand-in, if in place, taken out first)."""
    current = sys.modules.get(name)
    if current is not None and getattr(current, "_systrace_stand_in", False):
        del sys.modules[name]
    return importlib.import_module(name)


def _later(module: str, name: str) -> Callable[..., Any]:
    """A stand-in for the function ``module.name`` that imports the real module only when
    it is called: python-ptrace takes getLogger and format_exception at import, and calls
    them only when it logs or reports an error, which the engine's binding never does."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported when first called (engine/native.py)"
    return call


def _names_stand_in(module: str, names: dict[str, int | None]) -> types.ModuleType:
    """A module holding ``names`` (a value, or None for a function imported on its call:
    :func:`_later`); any other name imports the real module, so an import that wants more
    than PTRACE_NAMES lists still gets it, only later."""
    stand_in = types.ModuleType(module, f"{module}'s names, imported on use (native.py)")
    for name, value in names.items():
        setattr(stand_in, name, _later(module, name) if value is None else value)
    stand_in._systrace_stand_in = True  # type: ignore[attr-defined]

    def __getattr__(attr: str) -> Any:  # PEP 562: any other name is the real module's
        if attr.startswith("__"):  # (the import system's questions: `__path__`, a package?)
            raise AttributeError(attr)
        return getattr(_real(module), attr)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    return stand_in


@contextlib.contextmanager
def lazy_names(modules: dict[str, dict[str, int | None]] = PTRACE_NAMES) -> Iterator[None]:
    """While importing python-ptrace: ``from logging import ERROR, getLogger`` (and the
    others of ``modules``) without importing logging; afterwards the names are the real
    modules' again for everyone else."""
    with standing_in({name: _names_stand_in(name, names) for name, names in modules.items()
                      if name not in sys.modules}):
        yield
