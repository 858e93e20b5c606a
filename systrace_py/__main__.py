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

from systrace_py.syspath import forget_directory


def main() -> int:
    # The collector is off from here until the quick imports end (startup.quick_imports
    # freezes what was imported, then turns it on): nothing imported is garbage, and the
    # imports before the quick ones (the client, contextlib, startup with typing, re, enum,
    # collections) made ~8 young and one middle-aged collection, ~1 ms of a start (issue 16).
    gc.disable()
    try:
        _forget_command_directory()
        # First, before anything heavy is imported: a resident tracer takes the run, if one
        # runs (systrace --resident; a connect to a socket that is not there costs
        # microseconds)
        from systrace_py.resident_client import run as run_resident
    finally:
        gc.enable()  # (the client may wait on a run for hours: collected as ever)
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
