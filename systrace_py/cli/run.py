"""``systrace CMD`` and ``systrace --attach PID``: hold a command to its policy.

The policy comes from ``-p FILE`` or the program's file in the policy directory (through
:class:`PolicyStore`, which answers remembered at the prompt are saved into); the supervisor
holds the traced tree to it, with a log (``--log``) and a front end for ``ask`` when a table
can ask; the run itself is a :class:`systrace_py.session.Session`.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import TYPE_CHECKING

from systrace_py import procfs
from systrace_py.audit import AuditLog
from systrace_py.cli.args import (
    UsageError,
    parse_credentials,
    resolve_command,
)
from systrace_py.cli.report import calls, fail, orphans_notice, say, stats
from systrace_py.engine.seccomp import compile_filters
from systrace_py.engine.tracer import SpawnSpec
from systrace_py.policy.files import (
    find_policy,
    former_name_note,
    load_policy,
    name_in_directory,
    policy_dir,
    policy_dir_name,
    policy_filename,
)
from systrace_py.policy.filterplan import FilterPlan, PlanOptions, plan
from systrace_py.policy.model import Policy, Table
from systrace_py.policy.store import PolicyStore
from systrace_py.resident_client import NotServed
from systrace_py.session import Outcome, Session
from systrace_py.supervisor import PolicySet, Supervisor, SupervisorOptions

if TYPE_CHECKING:
    from pathlib import Path

    from systrace_py.supervisor import Asker


def _load_directory(where: str | Path) -> dict[str, Policy]:
    from pathlib import Path  # (not on the way of a plain -p run: start-up, issue 16)

    directory = Path(where)
    out: dict[str, Policy] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            out[path.name] = load_policy(path)
    return out


def _carried_from_directory(store: PolicyStore, path: str) -> None:
    """A ``-p FILE`` run of a file of the default policy directory decides by that file
    alone, but a table an answer makes there is saved into it and is looked up, in the next
    plain run, before the program's own file of the directory: the directory's other files
    are given to the store as tables the program could have run under
    (``PolicyStore.program_table``'s candidates: their refusals carried), as a merge's are
    (cli.learn.next_run_policies).  Made of that file alone, a ``for program`` answer's
    ``[program."/usr/bin/cat"]`` lost cat's own file's ``never`` (review 65)."""
    directory = policy_dir_name(os.environ)
    name = name_in_directory(path, directory)
    if name is None:
        return
    for other, policy in _load_directory(directory).items():
        if other != name:
            store.watch(policy.tables(), policy.source or other)


def _policies(opts: argparse.Namespace, executable: str) -> tuple[PolicySet, str]:
    """The policy set for this run and the file it came from."""
    program = os.path.realpath(executable)
    if opts.policy:
        store = PolicyStore.load(opts.policy, command=program)
        extra = _load_directory(opts.policy_dir) if opts.policy_dir else {}
        own = name_in_directory(opts.policy, opts.policy_dir) if opts.policy_dir else None
        extra.pop(own or "", None)
        if not opts.policy_dir:
            _carried_from_directory(store, opts.policy)
        return PolicySet(store.policy, extra, store, own=own), opts.policy
    if opts.policy_dir:
        from pathlib import Path  # (not on the way of a -p run: start-up, issue 16)

        directory = Path(opts.policy_dir)
    else:
        directory = policy_dir(os.environ)
    found = find_policy(program, directory)
    if found is None:
        if opts.inject:  # strace's way: no policy, every call permitted, the injections made
            policy = Policy(Table("main"))
            return PolicySet(policy, {}, PolicyStore(policy)), "(none: --inject)"
        former = former_name_note(program, directory)
        raise UsageError(
            f"no policy for {program} in {directory} (looked for {policy_filename(program)}"
            f" and {os.path.basename(program)}.toml);"
            f" give one with -p FILE, or learn one with: systrace -A {opts.command[0]}"
            + (f"\n{former}" if former else ""))
    store = PolicyStore.load(found, command=program)
    directory_policies = {name: policy for name, policy in _load_directory(directory).items()
                          if name != found.name}
    return PolicySet(store.policy, directory_policies, store, own=found.name), str(found)


def enforce_command(opts: argparse.Namespace) -> int:
    if opts.attach is not None:
        return attach_command(opts)
    if not opts.command:
        raise UsageError("no command given (usage: systrace [options] [--] command [args...])")
    credentials = parse_credentials(opts.credentials) if opts.credentials else None
    executable = resolve_command(opts.command)
    policies, source = _policies(opts, executable)
    if opts.save_answers:
        policies.store.pin(opts.save_answers)
    audit, asker, supervisor = _supervisor(opts, policies)
    filter_plan = _filter_plan(opts, policies, audit)
    filters = compile_filters(filter_plan, os.getpid())
    spec = SpawnSpec(argv=list(opts.command), executable=executable, filters=filters,
                     lifted=filter_plan.lifted,
                     uid=credentials[0] if credentials else None,
                     gid=credentials[1] if credentials else None,
                     groups=credentials[2] if credentials else None,
                     starter=getattr(opts, "starter", None))
    if audit is not None:
        audit.start(list(opts.command), source, "dry-run" if opts.dry_run else "enforce")
    try:
        outcome = trace(spec, supervisor, audit, filter_plan, quiet=opts.quiet)
        if opts.stats:
            stats(outcome.tracer.stops, outcome.tracer.fast_stops,
                  f"{supervisor.decisions} decisions, {supervisor.refusals} refusals",
                  outcome.tracer.stop_kinds, outcome.tracer.python_kinds)
        if outcome.completed and not supervisor.aborted and not opts.quiet:
            _print_refusals(supervisor, opts)  # (a failed run said its one line)
        return outcome.code
    finally:
        if asker is not None:
            _finish_asking(asker, policies, opts)


def _finish_asking(asker: Asker, policies: PolicySet, opts: argparse.Namespace) -> None:
    from systrace_py.ui.answering import finish_asking

    finish_asking(asker, policies, sys.stderr, opts.save_answers)


def _print_refusals(supervisor: Supervisor, opts: argparse.Namespace) -> None:
    """Nothing silent: a run that refused calls ends by saying how many."""
    if opts.dry_run:
        guards = supervisor.engine_refusals
        say(f"dry run: {calls(supervisor.would_refuse)} would have been refused"
             + (f" ({calls(guards)} refused by systrace's own guards)" if guards else ""))
        return
    shown = opts.verbose or opts.log or opts.log_stderr
    if supervisor.refusals:
        say(f"refused {calls(supervisor.refusals)}"
            + ("" if shown else " (-v or --log to see them)"))
    if supervisor.injector.injected:
        say(f"injected faults into {calls(supervisor.injector.injected)}"
            + ("" if shown else " (-v or --log to see them)"))


def _supervisor(opts: argparse.Namespace, policies: PolicySet
                ) -> tuple[AuditLog | None, Asker | None, Supervisor]:
    """The supervisor that holds the trace to the policies, with its log and front end.
    A resident tracer's worker does not serve a run that would ask at the terminal (it has
    none, and is not in the terminal's foreground group): the client runs it in process."""
    if getattr(opts, "starter", None) is not None and _can_ask(opts, policies) \
            and opts.ask_via is None:
        raise NotServed("the policy can ask at the terminal")
    audit = AuditLog.open(opts.log, opts.log_stderr, sys.stderr) if (opts.log or
                                                                      opts.log_stderr) else None
    options = SupervisorOptions(dry_run=opts.dry_run, automatic=opts.automatic,
                                inherit_across_exec=opts.inherit, verbose=opts.verbose)
    asker = _asker(opts, policies)
    return audit, asker, Supervisor(policies, options, audit, asker, injector=opts.injector)


def _asker(opts: argparse.Namespace, policies: PolicySet) -> Asker | None:
    """The front end for ASK, when some table can ask (prompt-toolkit, or the approver, is
    loaded only then).

    ``--ask-via``: the approver (:mod:`systrace_py.approver`; one that cannot be started is
    bad usage).  Else, with a controlling terminal: the prompt.  Without one: None (the
    supervisor refuses each ask with a line on stderr), after one line saying why; or, with
    ``--ask-default permit``, an asker that permits."""
    if not _can_ask(opts, policies):
        return None
    if opts.ask_via is not None:
        from systrace_py.approver import ApproverError, open_approver

        try:
            return open_approver(opts.ask_via, sys.stderr, policy=str(policies.store.path or ""),
                                 command=list(opts.command or []), timeout=opts.ask_timeout,
                                 no_alias=opts.no_alias)
        except ApproverError as exc:
            raise UsageError(str(exc)) from None
    from systrace_py.ui.prompt import TerminalAsker, open_tty

    fd = open_tty()
    if fd is None:
        if opts.ask_default == "permit":
            from systrace_py.ui.answering import DefaultAsker

            return DefaultAsker(sys.stderr)
        say("no terminal to ask on: calls the policy asks about are refused (--ask-default "
            "permit permits them)")
        return None
    asker = TerminalAsker(fd, sys.stderr, timeout=opts.ask_timeout, no_alias=opts.no_alias,
                          **({} if opts.ask_delay is None else {"read_delay": opts.ask_delay}))
    asker.install_router()
    return asker


def _can_ask(opts: argparse.Namespace, policies: PolicySet) -> bool:
    """Whether this run asks anyone (some table can ask, and -a does not refuse asks)."""
    return not opts.automatic and policies.can_ask()


def _filter_plan(opts: argparse.Namespace, policies: PolicySet,
                 audit: AuditLog | None) -> FilterPlan:
    """What the prefilter answers alone.  Refusals stop (so that they are counted, said or
    logged) unless -q: then the kernel answers unconditional ones without a stop."""
    tables = policies.tables()
    see_exec = len(tables) > 1 or audit is not None or policies.needs_argv()
    injected = opts.injector.extra
    return plan(tables, PlanOptions(
        dry_run=opts.dry_run,
        see_refusals=opts.verbose or audit is not None or not opts.quiet,
        see_rule_permits=audit is not None,
        extra=(frozenset({"execve", "execveat"}) if see_exec else frozenset()) | (
            injected.compiled().inject_calls if injected is not None else frozenset())))


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
        executable = procfs.program(pid)
    except OSError as exc:
        if not os.path.isdir(f"/proc/{pid}"):
            raise UsageError(f"--attach {pid}: no such process") from exc
        raise UsageError(f"--attach {pid}: cannot read its program "
                         f"({exc.strerror}; a kernel thread or a zombie has none)") from exc
    opts.command = [executable]
    policies, source = _policies(opts, executable)
    if opts.save_answers:
        policies.store.pin(opts.save_answers)
    audit, asker, supervisor = _supervisor(opts, policies)
    session = Session(supervisor, plan=_filter_plan(opts, policies, audit), notify=say,
                      on_orphans=None if opts.quiet else orphans_notice)
    if audit is not None:
        audit.start([executable], source, "attach")
    try:
        outcome = session.attach(pid, None if opts.quiet else
                                 lambda: say(f"Process {pid} attached"))
        if opts.stats:
            stats(outcome.tracer.stops, outcome.tracer.fast_stops,
                  f"{supervisor.decisions} decisions, {supervisor.refusals} refusals",
                  outcome.tracer.stop_kinds, outcome.tracer.python_kinds)
        if not outcome.completed:
            return fail(outcome.message, outcome.code)
        if outcome.signum is not None and not opts.quiet:
            say(f"Process {pid} detached")
        return outcome.code
    finally:
        if asker is not None:
            _finish_asking(asker, policies, opts)
        if audit is not None:
            audit.close()


def trace(spec: SpawnSpec, supervisor: Supervisor, audit: AuditLog | None,
          filter_plan: FilterPlan, *, quiet: bool = False) -> Outcome:
    """Run the command under the supervisor, in a session; a failure is said in one line
    (the tree was killed: exit 125, or 128+N for an ask ended by signal N).  The tracer is
    given the plan its filters were compiled from: a timed wait the filter stops only for its
    deadline is then resumed at once (Tracer._only_timed), not decided as a call.

    SYSTRACE_NO_HOLD=1 turns argument holding off: for bench/run_bench.py --defences only,
    to measure what the TOCTOU defences cost; it opens the races they close."""
    session = Session(supervisor, hold_arguments=os.environ.get("SYSTRACE_NO_HOLD") != "1",
                      plan=filter_plan, notify=say, on_orphans=None if quiet else orphans_notice,
                      job_control=True)
    # The policy, its index and the filters live as long as the run: frozen, no collection of
    # the stop loop's scans them again (~6 % of a stop's samples were the collector).
    gc.freeze()
    try:
        outcome = session.run(spec)
    finally:
        if audit is not None:
            audit.close()
    if not outcome.completed:
        say(outcome.message)
    elif supervisor.aborted:
        say("aborted at the prompt: the traced processes were killed")
    return outcome
