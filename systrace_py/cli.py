"""The ``systrace`` command: argument parsing, exit codes, and wiring the layers together.

Exit status: the traced command's (128+N when signal N killed it); 2 for bad input (usage,
policy file errors) before the command starts; 126/127 when the command cannot be executed or
found, as a shell says; 125 when systrace itself failed (the traced processes are killed).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import grp
import os
import pwd
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from systrace_py import __version__
from systrace_py.audit import AuditLog
from systrace_py.engine.seccomp import compile_filters
from systrace_py.engine.tracer import DetachRequest, SpawnSpec, Tracer, TracerError
from systrace_py.policy.files import (
    PolicyError,
    find_policy,
    load_policy,
    policy_dir,
    policy_filename,
)
from systrace_py.policy.filterplan import FilterPlan, PlanOptions, plan
from systrace_py.policy.model import Policy
from systrace_py.supervisor import PolicySet, Supervisor, SupervisorOptions

if TYPE_CHECKING:
    from systrace_py.ui.prompt import DefaultAsker, TerminalAsker

EXIT_USAGE = 2
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_INTERNAL = 125
PR_SET_DUMPABLE = 4

DESCRIPTION = """\
Run a command under a system call policy (OpenBSD's systrace, for Linux).

Every system call the command (and every process it starts) makes meets its
policy table: permit runs it, never makes it fail with an errno, ask asks you.
"""

EPILOG = """\
other commands:
  systrace policy learn LOG.jsonl -o FILE   build a policy from a recorded --log
  systrace policy check FILE LOG.jsonl      rule hit counts; rules nothing used

exit status: the command's (128+N if signal N killed it); 2 bad usage or policy;
126 command not executable; 127 command not found; 125 systrace itself failed.
"""


class UsageError(Exception):
    """Bad input detected before the command starts: exit 2 with this message."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="systrace", description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="systrace [options] [--] command [args...]\n"
              "       systrace policy {learn,check} ...",
    )
    g = p.add_argument_group("policy")
    g.add_argument("-p", "--policy", metavar="FILE",
                   help="the policy file (default: the command's file in the policy directory)")
    g.add_argument("-d", "--policy-dir", metavar="DIR",
                   help="directory of per-program policy files "
                        "(default: $XDG_CONFIG_HOME/systrace)")
    g.add_argument("-i", dest="inherit", action="store_true",
                   help="children keep their parent's table across exec")
    g.add_argument("--dry-run", action="store_true",
                   help="refuse nothing; log every call that would have been refused")
    g.add_argument("-a", dest="automatic", action="store_true",
                   help="automatic enforcement: ask is refused and logged, never prompted")
    g = p.add_argument_group("learning")
    g.add_argument("-A", dest="learn", action="store_true",
                   help="learn a policy: permit everything, write what was used")
    g.add_argument("-o", "--output", metavar="FILE",
                   help="where -A writes the policy (default: the policy directory)")
    g.add_argument("--merge", action="store_true",
                   help="with -A: add to an existing policy file instead of replacing it")
    g.add_argument("--generalize", choices=("none", "safe", "broad"), default="safe",
                   help="how far -A generalizes paths (default: safe)")
    g.add_argument("--default", dest="learn_default", choices=("never", "ask"), default="never",
                   help="the default action of a learned policy (default: never)")
    g.add_argument("-u", dest="no_alias", action="store_true",
                   help="no aliasing: learned and offered rules name system calls, not aliases")
    g = p.add_argument_group("asking")
    g.add_argument("--ask-default", choices=("permit", "never"),
                   help="answer for ask when there is no terminal (default: never)")
    g.add_argument("--ask-timeout", type=float, metavar="SECONDS",
                   help="refuse an ask nobody answered within SECONDS")
    g.add_argument("--save-answers", metavar="FILE",
                   help="write rules from remembered answers here, not into the policy file")
    g = p.add_argument_group("logging")
    g.add_argument("-E", "--log", metavar="FILE",
                   help="append one JSON object per decision and process event to FILE")
    g.add_argument("-e", dest="log_stderr", action="store_true",
                   help="write the log to stderr")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="say every refusal and every new process on stderr")
    g.add_argument("--stats", action="store_true",
                   help="at the end, say how many stops and decisions the run took")
    g = p.add_argument_group("process")
    g.add_argument("-c", dest="credentials", metavar="UID:GID",
                   help="run the command as this user and group (when started as root)")
    g.add_argument("--attach", type=int, metavar="PID",
                   help="trace a running process (and its new children) instead")
    p.add_argument("-V", "--version", action="version", version=f"systrace-py {__version__}")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    return p


def _machine() -> str:
    return os.uname().machine


def _platform_error() -> str | None:
    if sys.platform != "linux" or _machine() != "x86_64":
        return f"systrace needs Linux on x86_64 (this is {sys.platform} on {_machine()})"
    return None


def _parse_credentials(text: str) -> tuple[int, int, list[int]]:
    user, _, group = text.partition(":")
    try:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        if group:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        else:
            gid = pwd.getpwuid(uid).pw_gid
    except KeyError as exc:
        raise UsageError(f"-c {text}: no such user or group") from exc
    if os.geteuid() != 0:
        raise UsageError("-c needs systrace to be started as root")
    return uid, gid, [gid]


def _resolve_command(command: Sequence[str]) -> str:
    """The executable's path, exiting 127/126 like a shell when there is none."""
    name = command[0]
    if "/" in name:
        if not os.path.exists(name):
            raise SystemExit(_fail(f"{name}: No such file or directory", EXIT_NOT_FOUND))
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise SystemExit(_fail(f"{name}: Permission denied", EXIT_NOT_EXECUTABLE))
        return name
    found = shutil.which(name)
    if found is None:
        raise SystemExit(_fail(f"{name}: command not found", EXIT_NOT_FOUND))
    return found


def _fail(message: str, code: int, stream: IO[str] | None = None) -> int:
    (stream or sys.stderr).write(f"systrace: {message}\n")
    return code


def _load_directory(directory: Path) -> dict[str, Policy]:
    out: dict[str, Policy] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            out[path.name] = load_policy(path)
    return out


def _policies(opts: argparse.Namespace, executable: str) -> tuple[PolicySet, str]:
    """The policy set for this run and the file it came from."""
    directory = Path(opts.policy_dir) if opts.policy_dir else policy_dir(os.environ)
    if opts.policy:
        main = load_policy(opts.policy)
        extra = _load_directory(directory) if opts.policy_dir else {}
        return PolicySet(main, extra), opts.policy
    program = os.path.realpath(executable)
    found = find_policy(program, directory)
    if found is None:
        raise UsageError(
            f"no policy for {program} in {directory} (looked for {policy_filename(program)});"
            f" give one with -p FILE, or learn one with: systrace -A {opts.command[0]}")
    return PolicySet(load_policy(found), _load_directory(directory)), str(found)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["policy"]:
        from systrace_py.policy_cli import policy_command

        return policy_command(args[1:])
    parser = build_parser()
    opts = parser.parse_args(args)
    if opts.command and opts.command[0] == "--":
        opts.command = opts.command[1:]
    problem = _platform_error()
    if problem:
        return _fail(problem, EXIT_USAGE)
    try:
        if opts.learn:
            from systrace_py.learn_cli import learn_command

            return learn_command(opts)
        return enforce_command(opts)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except PolicyError as exc:
        return _fail(str(exc), EXIT_USAGE)


def enforce_command(opts: argparse.Namespace) -> int:
    if opts.attach is not None:
        return attach_command(opts)
    if not opts.command:
        raise UsageError("no command given (usage: systrace [options] [--] command [args...])")
    credentials = _parse_credentials(opts.credentials) if opts.credentials else None
    executable = _resolve_command(opts.command)
    policies, source = _policies(opts, executable)
    audit, asker, supervisor = _supervisor(opts, policies)
    filters = compile_filters(_filter_plan(opts, policies, audit), os.getpid())
    spec = SpawnSpec(argv=list(opts.command), executable=executable, filters=filters,
                     uid=credentials[0] if credentials else None,
                     gid=credentials[1] if credentials else None,
                     groups=credentials[2] if credentials else None)
    if audit is not None:
        audit.start(list(opts.command), source, "dry-run" if opts.dry_run else "enforce")
    try:
        code = trace(spec, supervisor, audit)
        if opts.stats:
            _print_stats(supervisor)
        return code
    finally:
        if asker is not None:
            asker.finish(source_path=source)


def _supervisor(opts: argparse.Namespace, policies: PolicySet
                ) -> tuple[AuditLog | None, TerminalAsker | DefaultAsker | None, Supervisor]:
    """The supervisor that holds the trace to the policies, with its log and front end."""
    audit = AuditLog.open(opts.log, opts.log_stderr, sys.stderr) if (opts.log or
                                                                      opts.log_stderr) else None
    options = SupervisorOptions(dry_run=opts.dry_run, automatic=opts.automatic,
                                inherit_across_exec=opts.inherit, verbose=opts.verbose)
    asker = _asker(opts, policies)
    return audit, asker, Supervisor(policies, options, audit, asker)


def _asker(opts: argparse.Namespace, policies: PolicySet
           ) -> TerminalAsker | DefaultAsker | None:
    """The front end for ASK, when some table can ask (prompt-toolkit is loaded only then)."""
    if opts.automatic or not policies.can_ask():
        return None
    from systrace_py.ui.prompt import make_asker

    return make_asker(opts, policies, sys.stderr)


def _filter_plan(opts: argparse.Namespace, policies: PolicySet,
                 audit: AuditLog | None) -> FilterPlan:
    tables = policies.tables()
    see_exec = len(tables) > 1 or audit is not None or policies.needs_argv()
    return plan(tables, PlanOptions(
        dry_run=opts.dry_run, see_refusals=opts.verbose or audit is not None,
        see_rule_permits=audit is not None,
        extra=frozenset({"execve", "execveat"}) if see_exec else frozenset()))


def attach_command(opts: argparse.Namespace) -> int:
    """--attach PID: hold a running process (and the children it makes from now on) to a
    policy.  Ctrl-C detaches and leaves it running; killing systrace kills it (fail closed)."""
    if opts.command:
        raise UsageError("--attach takes no command")
    pid = opts.attach
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
    except OSError as exc:
        raise UsageError(f"--attach {pid}: {exc.strerror}") from exc
    opts.command = [executable]
    policies, source = _policies(opts, executable)
    audit, asker, supervisor = _supervisor(opts, policies)
    tracer = Tracer(supervisor, plan=_filter_plan(opts, policies, audit))
    supervisor.attach(tracer)
    if audit is not None:
        audit.start([executable], source, "attach")

    def detach(_signum: int, _frame: object) -> None:
        raise DetachRequest

    previous = {s: signal.signal(s, detach) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        tracer.attach(pid)
        return tracer.run()
    except TracerError as exc:
        return _fail(str(exc), EXIT_INTERNAL)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if asker is not None:
            asker.finish(source_path=source)
        if audit is not None:
            audit.close()


def _print_stats(supervisor: Supervisor) -> None:
    tracer = supervisor.tracer
    times = os.times()
    stops = tracer.stops if tracer is not None else 0
    sys.stderr.write(f"systrace: {stops} stops, {supervisor.decisions} decisions, "
                     f"{supervisor.refusals} refusals, tracer CPU "
                     f"{times.user + times.system:.3f}s\n")


def _protect_tracer() -> None:
    """Make systrace itself non-dumpable: processes of the same user -- the traced ones above
    all -- can then neither ptrace it nor open its /proc/PID/{mem,fd/*,environ}."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def trace(spec: SpawnSpec, supervisor: Supervisor, audit: AuditLog | None) -> int:
    """Run the tracer; turn its failure into exit 125 with the tree killed.

    SYSTRACE_NO_HOLD=1 turns argument holding off: for bench/run_bench.py --defences only,
    to measure what the TOCTOU defences cost; it opens the races they close."""
    tracer = Tracer(supervisor, hold_arguments=os.environ.get("SYSTRACE_NO_HOLD") != "1")
    supervisor.attach(tracer)
    previous = _hold_signals(tracer)
    _protect_tracer()
    try:
        tracer.spawn(spec)
        return tracer.run()
    except TracerError as exc:
        return _fail(f"{exc}; the traced processes were killed", EXIT_INTERNAL)
    except Exception as exc:  # fail closed: tracer.run already killed the traced tree
        return _fail(f"internal error: {type(exc).__name__}: {exc}; "
                     "the traced processes were killed", EXIT_INTERNAL)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if audit is not None:
            audit.close()


def _hold_signals(tracer: Tracer) -> dict[int, object]:
    """While tracing, terminal interrupts are the command's business, and termination
    requests are passed on to it (the tracer exits when the command does)."""
    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGQUIT):
        previous[signum] = signal.signal(signum, signal.SIG_IGN)

    def forward(signum: int, _frame: object) -> None:
        if tracer.main_pid is not None:
            with contextlib.suppress(OSError):
                os.kill(tracer.main_pid, signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, forward)
    return previous


if __name__ == "__main__":
    sys.exit(main())
