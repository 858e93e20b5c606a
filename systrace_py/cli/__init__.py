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

import os
import sys
import warnings
from collections.abc import Callable, Sequence

from systrace_py.audit import LogError
from systrace_py.cli.args import EXIT_USAGE, UsageError, build_parser, check_flags
from systrace_py.cli.report import fail, show_warning, standard_streams
from systrace_py.policy.files import PolicyError


def _machine() -> str:
    return os.uname().machine


def _platform_error() -> str | None:
    if sys.platform != "linux" or _machine() != "x86_64":
        return f"systrace needs Linux on x86_64 (this is {sys.platform} on {_machine()})"
    return None


def main(argv: Sequence[str] | None = None,
         imported: Callable[[], object] = lambda: None) -> int:
    """``systrace ARGS``: the exit status (see :data:`systrace_py.cli.args.EXIT_STATUSES`).
    ``imported`` is called once the subcommand's modules are imported, before it runs (the
    entry point ends its quick imports there: ``__main__``)."""
    standard_streams()
    warnings.showwarning = show_warning
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["policy"]:
        from systrace_py.cli.policy import policy_command

        imported()
        return policy_command(args[1:])
    parser = build_parser()
    opts = parser.parse_args(args)
    if opts.command and opts.command[0] == "--":
        opts.command = opts.command[1:]
    problem = _platform_error()
    if problem:
        return fail(problem, EXIT_USAGE)
    try:
        check_flags(opts)
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


__all__ = ["main"]
