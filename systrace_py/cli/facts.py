"""What the generalizer's categories need from this system, gathered after a learning run
(the learner itself is pure): the include and own directories of the compilers that ran, the
library directories of the Python interpreters that ran, the loader's library directories --
by asking those programs (``-print-search-dirs``, ``sys.path``) and reading ``ld.so.conf``.
They go into the log (``learn-facts``), so ``systrace policy learn`` rebuilds the same policy.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
from collections.abc import Collection, Iterable

from systrace_py.policy import aliases
from systrace_py.policy.generalize import CATEGORIES, SystemFacts
from systrace_py.policy.learn import Observation
from systrace_py.procfs import read_regular

#: Compiler drivers asked where their headers and own files are (gcc, cc, g++, clang...,
#: x86_64-linux-gnu-gcc-12)
_COMPILER = re.compile(r"(?:.*-)?(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+)(?:-[0-9.]+)?")
_PYTHON = re.compile(r"python3(?:\.[0-9]+)?")
#: Asked of an interpreter (isolated: no user site, no PYTHONPATH): its library directories
_PYTHON_PATHS = "import json, os, sys; print(json.dumps([p for p in sys.path if os.path.isdir(p)]))"
_ASK_TIMEOUT = 10
#: Calls that may change a file they name (or their descriptor's): writes, moves, links, an
#: owner, mode, time or attribute set; an open only when it writes or creates
#: (:func:`changed_by_run`).  Writes through a descriptor count at its open.
_CHANGES = (aliases.ALIASES["fswrite"] | aliases.ALIASES["fslink"]) - aliases.OPEN_CALLS
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
#: ... of which these change only what they made: a removal leaves nothing at its name, and
#: a ``mkdir`` that met a directory there (``mkdir -p``'s walk from ``/``) changed nothing
_ONLY_MADE = frozenset(("mkdir", "mkdirat", "unlink", "unlinkat", "rmdir"))


def changed_by_run(observations: Iterable[Observation]) -> frozenset[str] | None:
    """The paths a learning run made or changed -- created, written, moved, linked, its
    owner, mode or attributes set, by name or by descriptor (an observation names a
    descriptor's file) --, or None when the run mounted, unmounted or changed its root
    (then any name may hold anything).  A tree running as root makes a program "the system
    installed" (:func:`_installed`: root's, in root's directories) anywhere it may write,
    and :func:`gather_facts` ran it after the run, traced by nobody (red team 88,
    ``learn_cc.c``): a program at or below such a path is never asked."""
    changed: set[str] = set()
    for obs in observations:
        if obs.syscall in aliases.ALIASES["namespace"]:
            return None
        if not (obs.created or obs.syscall in _CHANGES or (
                obs.syscall in aliases.OPEN_CALLS
                and (obs.open_flags is None or obs.open_flags & _WRITES))):
            continue
        changed.update(arg.path for arg in obs.paths if arg.path.startswith("/") and (
            obs.syscall not in _ONLY_MADE or arg.role in obs.created))
    return frozenset(changed)


def _made_by_run(path: str, changed: Collection[str] | None) -> bool:
    """Whether ``path`` (a real path) or a directory above it is one the run made or
    changed (:func:`changed_by_run`; None: the run mounted -- every path is)."""
    if changed is None:
        return True
    while True:
        if path in changed:
            return True
        if path in ("/", ""):
            return False
        path = os.path.dirname(path)


def _output(argv: list[str]) -> str:
    """What a program prints (stdout and stderr), or "" when it cannot be asked."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_ASK_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False, cwd="/")
    except (OSError, subprocess.SubprocessError, ValueError):
        return ""
    return done.stdout + done.stderr


def _existing(paths: Iterable[str]) -> list[str]:
    out = []
    for path in paths:
        real = os.path.realpath(path.strip())
        if path.strip().startswith("/") and os.path.isdir(real) and real not in out:
            out.append(real)
    return out


def _compiler_facts(program: str, roots: dict[str, list[str]]) -> None:
    listing = _output([program, "-E", "-v", "-x", "c", "/dev/null", "-o", "/dev/null"])
    match = re.search(r"#include <\.\.\.> search starts here:\n(.*?)\nEnd of search list",
                      listing, re.S)
    if match:
        roots["headers"] += _existing(line for line in match.group(1).splitlines())
    dirs = _output([program, "-print-search-dirs"])
    install = re.search(r"^install: (.+)$", dirs, re.M)
    own = [install.group(1)] if install else []
    cc1 = _output([program, "-print-prog-name=cc1"]).strip()
    if cc1.startswith("/"):
        own.append(os.path.dirname(cc1))
    roots["compiler"] += _existing(own)


def _library_dirs() -> list[str]:
    """The loader's library directories: ld.so.conf (and what it includes), the defaults."""
    found: list[str] = []

    def read(conf: str, depth: int = 0) -> None:
        data = read_regular(conf, 1 << 20)  # (a regular file only: read_regular)
        if data is None:
            return
        lines = data.decode(errors="replace").splitlines()
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line.startswith("include ") and depth < 4:
                for included in sorted(glob.glob(line.split(None, 1)[1])):
                    read(included, depth + 1)
            elif line.startswith("/"):
                found.append(line)

    read("/etc/ld.so.conf")
    defaults = next(c.roots for c in CATEGORIES if c.key == "libraries")
    return _existing([*found, *defaults])


def _interpreter(program: str) -> str:
    """The program a script names on its ``#!`` line (the program itself otherwise): the
    tracer knows a script by its own path, and pip is a script.  Read only from a regular
    file: the program may have left a FIFO or a link to a device at the name."""
    first = (read_regular(program, 256) or b"").split(b"\n", 1)[0]
    if not first.startswith(b"#!"):
        return program
    words = first[2:].decode(errors="replace").split()
    return words[0] if words and words[0].startswith("/") else program


def _installed(program: str) -> bool:
    """Whether a program is one the system installed -- owned by root, writable by nobody
    else, in a directory likewise, and the directory above that too: asking it runs it
    outside the tracer, so never a program the traced command could have written, nor one
    that reads what it wrote (Python looks for a pyvenv.cfg one directory up, and runs that
    environment's .pth files even with -I).  ``program`` is a real path (gather_facts)."""
    try:
        directory = os.path.dirname(program)
        for path in (program, directory, os.path.dirname(directory)):
            info = os.stat(path)
            if info.st_uid != 0 or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return os.access(program, os.X_OK)


def gather_facts(programs: Iterable[str],
                 changed: Collection[str] | None = frozenset()) -> SystemFacts:
    """The category roots the programs that ran use on this system (see the module's
    docstring); a program that cannot be asked, that the system did not install, or that
    the run made or changed (``changed``: :func:`changed_by_run`), adds nothing (the
    categories then take their roots from the paths read)."""
    roots: dict[str, list[str]] = {"headers": [], "compiler": [], "python": []}
    # A program is asked by its real path: a #! line may name the system's interpreter
    # through a link of the program's to /usr/bin (DIR/link/python3), and Python then took
    # DIR for its virtual environment -- DIR/pyvenv.cfg, DIR/lib/python3.N/site-packages/*.pth
    # -- and ran the program's code, un-traced, as systrace's user (red team 28,
    # learn_asked.c).  By its real path a virtual environment's interpreter is the system's.
    for program in dict.fromkeys(os.path.realpath(_interpreter(p)) for p in programs):
        name = os.path.basename(program)
        if _made_by_run(program, changed) or not _installed(program):
            continue
        if _COMPILER.fullmatch(name):
            _compiler_facts(program, roots)
        elif _PYTHON.fullmatch(name):
            try:
                paths = json.loads(_output([program, "-I", "-c", _PYTHON_PATHS]) or "[]")
            except json.JSONDecodeError:
                paths = []
            roots["python"] += _existing(p for p in paths if isinstance(p, str))
    found = {key: tuple(dict.fromkeys(values)) for key, values in roots.items() if values}
    found["libraries"] = tuple(_library_dirs())
    return SystemFacts(found)

