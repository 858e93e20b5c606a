"""The ``systrace`` command's entry point (``python -m systrace_py`` and the console script).

A run goes first to the resident tracer, when one runs (:mod:`systrace_py.resident_client`):
that path imports nearly nothing.

It exists for start-up (issue 16): the command's modules are imported the quick way
(startup.py: collector off, dataclass methods from their cache, then frozen), which a
library import of systrace does not do -- the subcommand's too, which the command imports
once the arguments say which it is (``imported`` ends the quick imports there).
"""

import gc
import os
import sys


def _whole_package() -> None:
    """Make ``systrace_py`` this package again when a directory left by an uninstalled copy
    shadows it.

    The README's two commands in one venv do that: ``pip install .``, a run (which writes its
    start-up caches, ``systrace_py/__pycache__/*.marshal``, docs/cli.md), then ``pip install
    -e '.[test]'``.  pip removes the files it installed, not the caches, so
    ``site-packages/systrace_py`` stays, holding only them; Python finds it on sys.path before
    it asks the editable install's finder, and makes ``systrace_py`` a namespace package of
    it: the package's ``__init__`` never ran, and every command died in an ImportError.  The
    caches may be deleted at any time: a leftover holding nothing else is removed (then
    ``import systrace_py`` finds the installed package again); one holding more is named in a
    warning, for its owner to remove."""
    package = sys.modules.get("systrace_py")
    if package is None or getattr(package, "__file__", None) is not None:
        return
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "systrace_py", os.path.join(here, "__init__.py"), submodule_search_locations=[here])
    if spec is None or spec.loader is None:
        return
    whole = importlib.util.module_from_spec(spec)
    sys.modules["systrace_py"] = whole
    spec.loader.exec_module(whole)
    for name, module in list(sys.modules.items()):
        parent, _, child = name.rpartition(".")
        if parent == "systrace_py":
            setattr(whole, child, module)
    for leftover in list(getattr(package, "__path__", ())):
        if os.path.realpath(leftover) != os.path.realpath(here) and not _remove_caches(leftover):
            import contextlib

            with contextlib.suppress(OSError, ValueError, AttributeError):  # (2>&-)
                sys.stderr.write(
                    f"systrace: warning: {leftover}, left by an uninstalled copy of systrace, "
                    "hides the installed one from Python (import systrace_py): remove it\n")


def _remove_caches(leftover: str) -> bool:
    """Remove LEFTOVER when it holds nothing but systrace's start-up caches (and their
    temporary files); False when it holds more or cannot be removed.  Only a directory of
    this user's, reached by no symlink -- LEFTOVER itself or its ``__pycache__`` -- and held
    open meanwhile: a link (or one swapped in between the looks) had the caches of the
    directory it names removed, another user's too (review 18)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    top = cache = -1
    try:
        top = os.open(leftover, flags)
        if os.fstat(top).st_uid != os.geteuid() or os.listdir(top) != ["__pycache__"]:
            return False
        cache = os.open("__pycache__", flags, dir_fd=top)
        if os.fstat(cache).st_uid != os.geteuid():
            return False
        names = os.listdir(cache)
        if not all(name.endswith((".marshal", ".tmp")) and ".marshal" in name
                   for name in names):
            return False
        for name in names:
            os.unlink(name, dir_fd=cache)
        os.rmdir("__pycache__", dir_fd=top)
        parent, slash, base = leftover.rstrip("/").rpartition("/")
        where = os.open(parent or ("/" if slash else "."), flags)
        try:
            if os.path.samestat(os.fstat(top), os.stat(base, dir_fd=where,
                                                        follow_symlinks=False)):
                os.rmdir(base, dir_fd=where)
            else:
                return False
        finally:
            os.close(where)
    except OSError:
        return False
    finally:
        for fd in (cache, top):
            if fd >= 0:
                os.close(fd)
    return True


_whole_package()

from systrace_py.syspath import forget_directory  # noqa: E402


def _uncoerced_locale() -> None:
    """Put LC_CTYPE back as the command was given it.  Under a C or POSIX locale Python
    coerces (PEP 538): it sets ``LC_CTYPE=C.UTF-8`` in its own environment before any of our
    code runs, and every child inherits that -- the traced program too, which natively has
    no LC_CTYPE (a container without a locale, ``env -i``, cron: review 31).  The environment
    the command was started with is still in /proc/self/environ (setenv makes a new array).
    Costs a dictionary look unless the coercion's value is there."""
    if os.environ.get("LC_CTYPE") != "C.UTF-8":
        return
    from systrace_py import procfs  # (the resident client's import, a little earlier)

    try:
        given = procfs.read("/proc/self/environ")
    except OSError:
        return
    for entry in given.split(b"\0"):
        if entry.startswith(b"LC_CTYPE="):
            os.environb[b"LC_CTYPE"] = entry[len(b"LC_CTYPE="):]  # (as given: getenv's first)
            return
    del os.environ["LC_CTYPE"]


def main() -> int:
    # The collector is off from here until the quick imports end (startup.quick_imports
    # freezes what was imported, then turns it on): nothing imported is garbage, and the
    # imports before the quick ones (the client, contextlib, startup with typing, re, enum,
    # collections) made ~8 young and one middle-aged collection, ~1 ms of a start (issue 16).
    # A resident tracer is asked first -- unless the words begin with --no-resident, which
    # the client refuses at once (resident_client._IN_PROCESS): the native command
    # (scripts/systrace.c) asked the server itself and execs this with it first.  Then the
    # client is not imported at all, and what it imports (procfs, engine.child, _socket...)
    # comes with the quick imports below, from their cache (~1 ms of each in-process start
    # of the installed command: issue 16, start38).
    ask_resident = sys.argv[1:2] != ["--no-resident"]
    gc.disable()
    try:
        _forget_command_directory()
        _uncoerced_locale()
        # First, before anything heavy is imported: a resident tracer takes the run, if one
        # runs (systrace --resident; a connect to a socket that is not there costs
        # microseconds)
        if ask_resident:
            from systrace_py.resident_client import run as run_resident
    finally:
        gc.enable()  # (the client may wait on a run for hours: collected as ever)
    if ask_resident:
        code = run_resident(sys.argv[1:])
        if code is not None:
            return code
    gc.disable()
    from systrace_py import importcache

    importcache.start(importcache.command_kind(sys.argv[1:]))
    try:
        import contextlib

        from systrace_py.startup import caching_ends, quick_imports
    except BaseException:
        importcache.end()
        gc.enable()
        raise

    try:
        with contextlib.ExitStack() as imports:
            imports.enter_context(quick_imports(importcache.command_kind(sys.argv[1:])))
            from systrace_py.cli import main as cli_main

            return cli_main(imported=imports.close)
    finally:
        caching_ends()  # (a start that ran no program: --help, a usage error...)
        importcache.end()  # (idempotent: caching_ends ends it if quick_imports began)


def _forget_command_directory() -> None:
    """Python puts the command's own directory first on sys.path: the cwd for ``python -m
    systrace_py``, the script's directory for the console script; and an empty or relative
    PYTHONPATH entry (``PYTHONPATH=$PYTHONPATH:/x`` with none before: ":/x") is the cwd too.
    None holds a module systrace needs (its package is imported by now), but every later
    import searches them -- and some modules are imported only when needed, while the traced
    program runs (prompt_toolkit at the first question, tomlkit when an answer is saved).  The
    program works in the same cwd unless told otherwise, and may write there: a package it
    planted under such a name ran in the tracer, outside every policy (red team 3 of issue 11;
    tests/escape/tr_import.c).  So they go, before anything is traced.  (``-P``/``-I``:
    Python put nothing first.)"""
    if not sys.flags.safe_path and sys.path:
        del sys.path[0]
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""  # (a removed cwd: no name to compare with)
    forget_directory(cwd)


if __name__ == "__main__":
    sys.exit(main())
