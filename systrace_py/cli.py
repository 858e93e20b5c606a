"""The ``systrace`` command: argument parsing, exit codes, and wiring the layers together.

Exit status: the traced command's (128+N when signal N killed it); 2 for bad input (usage,
policy file errors, a log that cannot be opened, flags that cannot take effect) before the
command starts; 126/127 when the command cannot be executed or found, as a shell says; 125 when
systrace itself failed (the traced processes are killed).  :data:`EXIT_STATUSES` says it once
for ``--help``, the man page and docs/cli.md.

What a person meets first is held to three rules: no traceback (every failure is one line
naming what failed), no hang (a run under another tracer, an ask nobody answers), nothing
silent (a run that refused calls says how many; flags that cannot take effect are refused).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import grp
import math
import os
import pwd
import shutil
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from systrace_py import __version__
from systrace_py.audit import AuditLog, LogError
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
from systrace_py.policy.generalize import GENERALIZE_LEVELS
from systrace_py.policy.model import Policy
from systrace_py.policy.store import PolicyStore
from systrace_py.supervisor import PolicySet, Supervisor, SupervisorOptions

if TYPE_CHECKING:
    from systrace_py.supervisor import Asker

EXIT_USAGE = 2
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_INTERNAL = 125
PR_SET_DUMPABLE = 4

#: Every exit status and what it means: the one list --help, the man page and docs/cli.md show.
EXIT_STATUSES: tuple[tuple[str, str], ...] = (
    ("N", "the command exited with status N"),
    ("128+N", "signal N ended the command (abort at the prompt: 137)"),
    ("2", "bad usage, policy file or log file: nothing was started"),
    ("125", "systrace itself failed; every traced process was killed"),
    ("126", "the command is not executable"),
    ("127", "the command was not found"),
)

DESCRIPTION = """\
Run a command under a system call policy (OpenBSD's systrace, for Linux).

Every system call the command (and every process it starts) makes meets its
policy table: permit runs it, never makes it fail with an errno, ask asks you.
"""

EPILOG = """\
other commands:
  systrace policy learn LOG.jsonl -o FILE   build a policy from a recorded --log
  systrace policy check FILE LOG.jsonl      rule hit counts; rules nothing used
  systrace policy review FILE               walk a learned policy's generalizations

exit status:
""" + "".join(f"  {code:7}{meaning}\n" for code, meaning in EXIT_STATUSES) + """
The manual page systrace(1) says more.
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
    g.add_argument("--generalize", choices=GENERALIZE_LEVELS,
                   help="how far -A generalizes paths (default: safe)")
    g.add_argument("--review", action="store_true",
                   help="with -A: walk the generalizations in the terminal before saving")
    g.add_argument("--default", dest="learn_default", choices=("never", "ask"),
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
    g.add_argument("--ask-via", metavar="exec:CMD|unix:PATH",
                   help="ask an approver program instead of the terminal: JSON lines on "
                        "CMD's stdin and stdout, or on a unix socket it connects to")
    g = p.add_argument_group("logging")
    g.add_argument("-E", "--log", metavar="FILE",
                   help="append one JSON object per decision and process event to FILE")
    g.add_argument("-e", dest="log_stderr", action="store_true",
                   help="write the log to stderr")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="say every refusal, new process and exec on stderr")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no refusal count, no learning summary, no notes (errors and "
                        "warnings are still said)")
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
    _say(message, stream)
    return code


def _say(message: str, stream: IO[str] | None = None) -> None:
    """One line on stderr; dropped when stderr cannot take it (closed, a gone reader)."""
    with contextlib.suppress(OSError, ValueError):
        out = stream or sys.stderr
        out.write(f"systrace: {message}\n")
        out.flush()


def _standard_streams() -> None:
    """Run with stdin, stdout or stderr closed (``2>&-``) as the command would natively.

    A closed descriptor 0, 1 or 2 is held by /dev/null opened close-on-exec: files systrace
    opens cannot land on it (the command's "stderr" would be our log), anything written to it
    before exec is dropped, and the command still starts with it closed.  Messages to a closed
    stderr are dropped."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            if held != fd:  # a lower one was free after all (cannot happen): leave it
                os.close(held)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", closefd=False, errors="backslashreplace"))  # noqa: SIM115


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: IO[str] | None = None, line: str | None = None) -> None:
    """Warnings (a policy's program key that is a symlink...) as systrace's own lines."""
    _say(f"warning: {message}")


def _load_directory(directory: Path) -> dict[str, Policy]:
    out: dict[str, Policy] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            out[path.name] = load_policy(path)
    return out


def _policies(opts: argparse.Namespace, executable: str) -> tuple[PolicySet, str]:
    """The policy set for this run and the file it came from."""
    directory = Path(opts.policy_dir) if opts.policy_dir else policy_dir(os.environ)
    program = os.path.realpath(executable)
    if opts.policy:
        store = PolicyStore.load(opts.policy, command=program)
        extra = _load_directory(directory) if opts.policy_dir else {}
        return PolicySet(store.policy, extra, store), opts.policy
    found = find_policy(program, directory)
    if found is None:
        raise UsageError(
            f"no policy for {program} in {directory} (looked for {policy_filename(program)});"
            f" give one with -p FILE, or learn one with: systrace -A {opts.command[0]}")
    store = PolicyStore.load(found, command=program)
    directory_policies = {name: policy for name, policy in _load_directory(directory).items()
                          if name != found.name}
    return PolicySet(store.policy, directory_policies, store), str(found)


def main(argv: Sequence[str] | None = None) -> int:
    _standard_streams()
    warnings.showwarning = _show_warning
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
        _check_flags(opts)
        if opts.learn:
            from systrace_py.learn_cli import learn_command

            return learn_command(opts)
        return enforce_command(opts)
    except (UsageError, PolicyError, LogError) as exc:
        # a log that fails mid-run is handled where the run is (exit 125): this is at start
        return _fail(str(exc), EXIT_USAGE)


#: Options of learning only, and of asking only: (attribute, how the option is written).
_LEARN_ONLY = (("output", "-o"), ("merge", "--merge"), ("generalize", "--generalize"),
               ("learn_default", "--default"), ("review", "--review"))
_ASK_ONLY = (("ask_timeout", "--ask-timeout"), ("save_answers", "--save-answers"),
             ("ask_via", "--ask-via"))


def _check_flags(opts: argparse.Namespace) -> None:
    """Refuse flags that cannot take effect in this run: a person who typed one expected it
    to do something.  Then fill in the defaults of the ones that had to be told apart from
    their default here."""
    given = [flag for attr, flag in _LEARN_ONLY if getattr(opts, attr) not in (None, False)]
    if not opts.learn and given:
        if given[0] == "-o":
            raise UsageError("-o FILE is where -A writes a learned policy, and there is no -A;"
                             " systrace writes no trace file (that is strace -o): for a record"
                             " of the run use --log FILE")
        raise UsageError(f"{given[0]} only applies to learning (-A)")
    if opts.learn:
        for attr, flag in (("automatic", "-a"), ("inherit", "-i"), ("ask_default",
                           "--ask-default"), *_ASK_ONLY):
            if getattr(opts, attr) not in (None, False):
                raise UsageError(f"{flag} cannot take effect with -A: learning permits every"
                                 " call and asks nothing")
    elif opts.automatic or opts.dry_run:
        mode = "-a" if opts.automatic else "--dry-run"
        what = ("refuses every ask" if opts.automatic else "permits every call and asks nothing")
        if opts.ask_default == "permit":
            raise UsageError(f"--ask-default permit cannot take effect with {mode}, which "
                             f"{what}")
        for attr, flag in _ASK_ONLY:
            if getattr(opts, attr) is not None:
                raise UsageError(f"{flag} cannot take effect with {mode}, which {what}")
    if opts.ask_via is not None:
        if opts.ask_default is not None:
            raise UsageError("--ask-default cannot take effect with --ask-via: asks go to the"
                             " approver, never to a terminal")
        from systrace_py.approver import ApproverError, parse_via

        try:
            parse_via(opts.ask_via)
        except ApproverError as exc:
            raise UsageError(str(exc)) from None
    timeout = opts.ask_timeout
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--ask-timeout {timeout:g}: give a number of seconds above 0")
    if opts.attach is not None and opts.credentials:
        raise UsageError("-c cannot take effect with --attach: the process already runs as"
                         " its user")
    opts.generalize = opts.generalize or "safe"
    opts.learn_default = opts.learn_default or "never"


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
        code, completed = trace(spec, supervisor, audit, quiet=opts.quiet)
        if opts.stats:
            _print_stats(supervisor)
        if completed and not opts.quiet:  # (a failed run said its one line)
            _print_refusals(supervisor, opts)
        return code
    finally:
        if asker is not None:
            _finish_asking(asker, policies, opts)


def _finish_asking(asker: Asker, policies: PolicySet, opts: argparse.Namespace) -> None:
    from systrace_py.ui.answering import finish_asking

    finish_asking(asker, policies, sys.stderr, opts.save_answers)


def _print_refusals(supervisor: Supervisor, opts: argparse.Namespace) -> None:
    """Nothing silent: a run that refused calls ends by saying how many."""
    def calls(n: int) -> str:
        return f"{n} call{'s' if n != 1 else ''}"

    if opts.dry_run:
        guards = supervisor.engine_refusals
        _say(f"dry run: {calls(supervisor.would_refuse)} would have been refused"
             + (f" ({calls(guards)} refused by systrace's own guards)" if guards else ""))
        return
    if supervisor.refusals:
        shown = opts.verbose or opts.log or opts.log_stderr
        _say(f"refused {calls(supervisor.refusals)}"
             + ("" if shown else " (-v or --log to see them)"))


def _supervisor(opts: argparse.Namespace, policies: PolicySet
                ) -> tuple[AuditLog | None, Asker | None, Supervisor]:
    """The supervisor that holds the trace to the policies, with its log and front end."""
    audit = AuditLog.open(opts.log, opts.log_stderr, sys.stderr) if (opts.log or
                                                                      opts.log_stderr) else None
    options = SupervisorOptions(dry_run=opts.dry_run, automatic=opts.automatic,
                                inherit_across_exec=opts.inherit, verbose=opts.verbose)
    asker = _asker(opts, policies)
    return audit, asker, Supervisor(policies, options, audit, asker)


def _asker(opts: argparse.Namespace, policies: PolicySet) -> Asker | None:
    """The front end for ASK, when some table can ask (prompt-toolkit, or the approver, is
    loaded only then)."""
    if opts.automatic or not policies.can_ask():
        return None
    from systrace_py.ui.answering import make_asker

    if opts.ask_via is None:
        return make_asker(opts, policies, sys.stderr)
    from systrace_py.approver import ApproverError

    try:
        return make_asker(opts, policies, sys.stderr)
    except ApproverError as exc:
        raise UsageError(str(exc)) from None


def _filter_plan(opts: argparse.Namespace, policies: PolicySet,
                 audit: AuditLog | None) -> FilterPlan:
    """What the prefilter answers alone.  Refusals stop (so that they are counted, said or
    logged) unless -q: then the kernel answers unconditional ones without a stop."""
    tables = policies.tables()
    see_exec = len(tables) > 1 or audit is not None or policies.needs_argv()
    return plan(tables, PlanOptions(
        dry_run=opts.dry_run,
        see_refusals=opts.verbose or audit is not None or not opts.quiet,
        see_rule_permits=audit is not None,
        extra=frozenset({"execve", "execveat"}) if see_exec else frozenset()))


def attach_command(opts: argparse.Namespace) -> int:
    """--attach PID: hold a running process (and the children it makes from now on) to a
    policy.  SIGINT or SIGTERM detaches and leaves it running (exit 128+N, as when the signal
    ends a command); killing systrace kills it (fail closed).  As strace, it says when it
    attached and detached."""
    if opts.command:
        raise UsageError("--attach takes no command")
    pid = opts.attach
    if pid <= 0 or not os.path.isdir(f"/proc/{pid}"):
        raise UsageError(f"--attach {pid}: no such process")
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
    except OSError as exc:
        if not os.path.isdir(f"/proc/{pid}"):
            raise UsageError(f"--attach {pid}: no such process") from exc
        raise UsageError(f"--attach {pid}: cannot read its program "
                         f"({exc.strerror}; a kernel thread or a zombie has none)") from exc
    opts.command = [executable]
    policies, source = _policies(opts, executable)
    audit, asker, supervisor = _supervisor(opts, policies)
    tracer = Tracer(supervisor, plan=_filter_plan(opts, policies, audit))
    supervisor.attach(tracer)
    if not opts.quiet:
        tracer.on_orphans = _orphans_notice
    if audit is not None:
        audit.start([executable], source, "attach")
    detached_by: list[int] = []

    def detach(signum: int, _frame: FrameType | None) -> None:
        detached_by.append(signum)
        raise DetachRequest

    previous = {s: signal.signal(s, detach) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            tracer.attach(pid)
            if not opts.quiet:
                _say(f"Process {pid} attached")
            code = tracer.run()  # (a detach request while it runs: it detaches)
        except DetachRequest:  # came before the loop ran
            tracer.detach_all()
            tracer.close()
            code = 128 + signal.SIGINT
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if detached_by:
            if not opts.quiet:
                _say(f"Process {pid} detached")
            return 128 + detached_by[0]
        return code
    except TracerError as exc:
        return _fail(str(exc), EXIT_INTERNAL)
    except LogError as exc:
        return _fail(f"{exc}; the traced processes were killed", EXIT_INTERNAL)
    finally:
        if asker is not None:
            _finish_asking(asker, policies, opts)
        if audit is not None:
            audit.close()


def _orphans_notice(count: int) -> None:
    _say(f"the command has exited; waiting for the {count} process"
         f"{'es' if count != 1 else ''} it left running (as strace does: systrace ends when"
         " they do)")


def _print_stats(supervisor: Supervisor) -> None:
    tracer = supervisor.tracer
    times = os.times()
    stops = tracer.stops if tracer is not None else 0
    native = tracer.fast_stops if tracer is not None else 0
    _say(f"{stops} stops ({native} decided natively), {supervisor.decisions} decisions, "
         f"{supervisor.refusals} refusals, "
         f"tracer CPU {times.user + times.system:.3f}s")


def _protect_tracer() -> None:
    """Make systrace itself non-dumpable: processes of the same user -- the traced ones above
    all -- can then neither ptrace it nor open its /proc/PID/{mem,fd/*,environ}."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


class EndRun(BaseException):
    """Raised from the signal handler when a second SIGTERM or SIGINT came while an ask was
    pending: the run ends, the traced tree is killed (``signum``: the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def trace(spec: SpawnSpec, supervisor: Supervisor, audit: AuditLog | None, *,
          quiet: bool = False) -> tuple[int, bool]:
    """Run the tracer: the exit status, and whether the run went to its end.  A failure is
    exit 125 with the tree killed, and one line saying why.

    SYSTRACE_NO_HOLD=1 turns argument holding off: for bench/run_bench.py --defences only,
    to measure what the TOCTOU defences cost; it opens the races they close."""
    tracer = Tracer(supervisor, hold_arguments=os.environ.get("SYSTRACE_NO_HOLD") != "1")
    supervisor.attach(tracer)
    if not quiet:
        tracer.on_orphans = _orphans_notice
    previous = _hold_signals(tracer)
    _protect_tracer()
    try:
        try:
            tracer.spawn(spec)
        except TracerError as exc:  # nothing of the command ran (already traced...)
            return _fail(str(exc), EXIT_INTERNAL), False
        code = tracer.run()
        if supervisor.aborted:
            _say("aborted at the prompt: the traced processes were killed")
            return code, False
        return code, True
    except EndRun as exc:
        name = signal.Signals(exc.signum).name
        return _fail(f"a second {name} while an ask was pending ended the run; the traced "
                     "processes were killed", 128 + exc.signum), False
    except (LogError, TracerError) as exc:
        return _fail(f"{exc}; the traced processes were killed", EXIT_INTERNAL), False
    except Exception as exc:  # fail closed: tracer.run already killed the traced tree
        return _fail(f"internal error: {type(exc).__name__}: {exc}; "
                     "the traced processes were killed", EXIT_INTERNAL), False
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if audit is not None:
            audit.close()


_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def _hold_signals(tracer: Tracer) -> dict[int, _Handler]:
    """While tracing, terminal interrupts are the command's business, and termination
    requests are passed on to it (the tracer exits when the command does).

    An ask nobody answers must not hold a run forever: the asking process is stopped, so a
    SIGTERM passed on to it does nothing yet.  While an ask is pending, a first SIGTERM or
    SIGINT says so, and a second one ends the run (:class:`EndRun`: the tree is killed)."""
    previous: dict[int, _Handler] = {signal.SIGQUIT: signal.signal(signal.SIGQUIT,
                                                                     signal.SIG_IGN)}
    while_asking: list[int] = []

    def forward(signum: int) -> None:
        if tracer.main_pid is not None:
            with contextlib.suppress(OSError):
                os.kill(tracer.main_pid, signum)

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        if tracer.parked_tasks():
            while_asking.append(signum)
            if len(while_asking) >= 2:
                raise EndRun(signum)
            _say(f"{signal.Signals(signum).name} while an ask is pending: send SIGTERM or "
                 "SIGINT again to end the run (the traced processes are killed)")
        if signum != signal.SIGINT:  # a terminal's SIGINT reached the command by itself
            forward(signum)

    previous[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, interrupt)
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda signum, _f: forward(signum))
    return previous


if __name__ == "__main__":
    sys.exit(main())
