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
    PolicyError,
    directory_file,
    find_policy,
    foreign_owner,
    former_name_note,
    load_policy,
    policy_dir,
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


def _load_directory(where: str | Path, *, inferred: bool = False,
                    notes: list[str] | None = None) -> dict[str, Policy]:
    """A policy directory's files by name.  ``inferred``: a directory no run was told to
    read (``policy.files.directory_file``), whose files are taken only for their refusals: a
    file there that is no policy (``pyproject.toml``) is skipped, and their warnings are not
    said -- a run that reads the directory says them, or refuses the file.  Every policy
    file there is taken, whoever owns it (refusals can only refuse more; skipped, a table
    made there lacked what the next ``-d`` run refuses: review 72): another user's is said
    in ``notes`` (its ``never`` may refuse the person's program)."""
    from pathlib import Path  # (not on the way of a plain -p run: start-up, issue 16)

    directory = Path(where)
    out: dict[str, Policy] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            if not inferred:
                out[path.name] = load_policy(path)
            elif (policy := _load_policy_file(str(path))) is not None:
                out[path.name] = policy
                owner = foreign_owner(path)
                if owner is not None and notes is not None:
                    notes.append(f"{path} is another user's (uid {owner}): its refusals are "
                                 "carried into a table made for a program here, as a run of "
                                 f"-d {directory} would read them")
    return out


def _policies(opts: argparse.Namespace, executable: str) -> tuple[PolicySet, str]:
    """The policy set for this run and the file it came from."""
    program = os.path.realpath(executable)
    if opts.policy:
        store = PolicyStore.load(opts.policy, command=program)
        extra = _load_directory(opts.policy_dir) if opts.policy_dir else {}
        ours = directory_file(opts.policy, program, opts.policy_dir) \
            if opts.policy_dir else None
        own = ours.name if ours is not None else None  # (the run's file: not loaded twice)
        extra.pop(own or "", None)
        _watch_next_runs(store, opts, program, opts.policy_dir, opts.policy)
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
    _watch_next_runs(store, opts, program, directory, found)
    return PolicySet(store.policy, directory_policies, store, own=found.name), str(found)


def _watch_next_runs(store: PolicyStore, opts: argparse.Namespace, program: str,
                     loaded: str | os.PathLike[str] | None, source: str | os.PathLike[str]
                     ) -> None:
    """The tables a next run may give a program whose table an answer makes here, beyond
    the run's own (``loaded``: the directory the run looks programs up in; ``source``: the
    run's policy file): the store's candidates too (watched, not looked up), so that the new
    table carries their refusals.

    * ``-p FILE`` without ``-d`` decides by FILE alone; but when FILE is -- or would be read
      as -- a policy directory's file (``policy.files.directory_file``), the new table
      shadows the program's own file there in the next run of that directory (review 65:
      a cat table copied from FILE alone let cat read what its own file refuses).
    * ``--save-answers FILE2``: the new table goes into FILE2, whose tables are those of the
      next ``-p FILE2`` run, and whose directory's (when it is one's) the next run of that
      directory reads."""
    seen = {os.path.realpath(loaded)} if loaded is not None else set()
    own = os.path.realpath(source)  # (the store's file; not store.path: no pathlib here)
    target = opts.save_answers
    saved = os.path.realpath(target) if target else None
    kept = {own, saved}
    paths = [opts.policy] if opts.policy and loaded is None else []
    if target:
        paths.append(target)
        if saved != own:
            _watch(store, _load_policy_file(target), target)
    for path in paths:
        found = directory_file(path, program, None, os.environ)
        if found is None or (directory := os.path.realpath(found.directory)) in seen:
            continue
        seen.add(directory)
        notes: list[str] = []
        for name, policy in _load_directory(found.directory, inferred=found.inferred,
                                            notes=notes).items():
            if os.path.realpath(os.path.join(found.directory, name)) not in kept:
                _watch(store, policy, name)  # (FILE is the store's, FILE2 watched above)
        for note in notes:
            say(note)


def _watch(store: PolicyStore, policy: Policy | None, name: str) -> None:
    if policy is not None:
        store.watch(policy.tables(), policy.source or name)


def _load_policy_file(path: str) -> Policy | None:
    """One policy file taken for its refusals alone (as an inferred directory's, in
    :func:`_load_directory`): None when it is missing, no regular file, or no policy, its
    warnings not said.  Read by ``load_policy``, which opens only a regular file and then
    without waiting: a name a traced program made a link to a FIFO must not hold the run
    before it starts, nor be opened (tests/unit/test_link_targets.py)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_policy(path)
        except PolicyError:
            return None


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
