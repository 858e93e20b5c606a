"""The ``systrace`` command: one module per subcommand over one session runner.

* :mod:`.args`    the parser, the flag checks, the exit statuses, the command to run
* :mod:`.report`  the one reporter: every line a person reads on stderr
* :mod:`.run`     ``systrace CMD`` and ``systrace --attach PID``: enforce a policy
* :mod:`.learn`   ``systrace -A CMD``: learn one (:mod:`.facts`: what the categories need
  from this system)
* :mod:`.policy`  ``systrace policy learn|check|review``: work on policies from a log

Every traced run goes through :class:`systrace_py.session.Session`, as the library's does.

What a person meets first is held to three rules: no traceback (every failure is one line
naming what failed), no hang (a run under another tracer, an ask nobody answers), nothing
silent (a run that refused calls says how many; flags that cannot take effect are refused).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from systrace_py.audit import LogError
from systrace_py.cli.args import (
    EXIT_USAGE,
    UsageError,
    build_parser,
    check_flags,
    resident_refusal,
)
from systrace_py.cli.report import fail, show_warning, standard_streams
from systrace_py.policy.files import PolicyError
from systrace_py.resident_client import NotServed
from systrace_py.startup import caching_ends

if TYPE_CHECKING:
    from systrace_py.engine.tracer import Starter


def _machine() -> str:
    return os.uname().machine


def _platform_error() -> str | None:
    if sys.platform != "linux" or _machine() != "x86_64":
        return f"systrace needs Linux on x86_64 (this is {sys.platform} on {_machine()})"
    return None


def main(argv: Sequence[str] | None = None,
         imported: Callable[[], object] = lambda: None, starter: Starter | None = None) -> int:
    """``systrace ARGS``: the exit status (see :data:`systrace_py.cli.args.EXIT_STATUSES`).
    ``imported`` is called once the subcommand's modules are imported, before it runs (the
    entry point ends its quick imports there: ``__main__``).  ``starter``: in a resident
    tracer's worker, its client, which forks the program (NotServed: a run it cannot serve
    as this process would)."""
    standard_streams()
    warnings.showwarning = show_warning
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["policy"]:
        if starter is not None:
            raise NotServed("the policy tools run in process")
        from systrace_py.cli.policy import policy_command

        imported()
        caching_ends()  # (what the policy tools compile is the logs' and policies' own)
        return policy_command(args[1:])
    parser = build_parser()
    opts = parser.parse_args(args)
    if opts.command and opts.command[0] == "--":
        opts.command = opts.command[1:]
    problem = _platform_error()
    if problem:
        return fail(problem, EXIT_USAGE)
    if opts.command and "/" not in opts.command[0]:
        # a name to look up (args.resolve_command): shutil now, with the quick imports (its
        # compressors deferred: startup.DEFERRED); a path needs none
        import shutil  # noqa: F401
    try:
        check_flags(opts)
        opts.starter = starter
        why = resident_refusal(opts) if starter is not None else None
        if why is not None:
            raise NotServed(why)
        if opts.resident is not None:
            return _resident(opts, imported)
        if opts.learn:
            from systrace_py.cli.learn import learn_command

            imported()
            return learn_command(opts)
        from systrace_py.cli.run import enforce_command

        imported()
        return enforce_command(opts)
    except (UsageError, PolicyError, LogError) as exc:
        # a log that fails mid-run is handled where the run is (exit 125): this is at start
        return fail(str(exc), EXIT_USAGE)


def _resident(opts: argparse.Namespace, imported: Callable[[], object]) -> int:
    """``--resident [start|stop|status]``: the resident tracer's server
    (systrace_py.resident)."""
    from systrace_py import resident

    if opts.resident == "stop":
        imported()
        return resident.stop()
    if opts.resident == "status":
        imported()
        return resident.status()
    resident.warm_up()  # (with the command's quick imports, as a run imports them)
    imported()
    caching_ends()  # (here, not in the workers it forks)
    return resident.start(lambda argv, starter: main(argv, starter=starter),
                          opts.resident_idle or resident.DEFAULT_IDLE)


__all__ = ["main"]
