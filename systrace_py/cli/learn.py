"""``systrace -A``: run a command once in learning mode and write the policy it needs.

Where the policy goes: ``-o FILE``, else the program's file in the policy directory (as
systrace wrote ``~/.systrace/_bin_ls``), where ``systrace CMD`` then finds it; a policy
directory that does not exist yet is created (and systrace says so).  An existing file is
backed up and replaced, or widened with ``--merge``.  Everything that can go wrong
with the destination (unwritable, a policy that does not load for ``--merge``) is found
*before* the command runs: a long learning session is never lost to a typo.

After the run, what the generalizer's categories need from this system is gathered
(:mod:`systrace_py.cli.facts`) and written to the log, so ``systrace policy learn`` rebuilds
the same policy.

The exit status is the command's, so ``systrace -A`` slots into scripts and test suites.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from systrace_py.audit import AuditLog, LogError
from systrace_py.cli.args import EXIT_INTERNAL, UsageError, parse_credentials, resolve_command
from systrace_py.cli.facts import changed_by_run, gather_facts
from systrace_py.cli.report import not_written, orphans_notice, say, stats, write_summary
from systrace_py.engine.seccomp import compile_filters
from systrace_py.engine.tracer import SpawnSpec
from systrace_py.learner import Learner
from systrace_py.logrecords import Event
from systrace_py.policy.files import (
    Destination,
    PolicyNotWritten,
    directory_file,
    find_policy,
    load_policy,
    policy_dir,
    policy_filename,
    save_policy,
)
from systrace_py.policy.filterplan import PlanOptions, plan
from systrace_py.policy.generalize import SystemFacts
from systrace_py.policy.learn import LearnOptions, learn, merge_policies
from systrace_py.policy.model import Action, Policy, Table
from systrace_py.session import Session

if TYPE_CHECKING:
    from collections.abc import Callable

    from systrace_py.supervisor import PolicySet


def _destination(opts: argparse.Namespace, program: str) -> tuple[Path, bool]:
    """Where the policy goes, and whether that is the policy directory.  ``--merge`` into
    the directory merges into the file a run of the program reads there (``find_policy``):
    its full-path file, else its base-name file (``cat.toml``), said -- a fresh full-path file
    beside a base-name one merged nothing, silently, and replaced the person's file in
    every next run (review 65)."""
    if opts.output:
        return Path(opts.output), False
    directory = Path(opts.policy_dir) if opts.policy_dir else policy_dir(os.environ)
    name = policy_filename(program)
    if opts.merge:
        found = find_policy(program, directory)  # (a PolicyError is exit 2: cannot look)
        if found is not None and found.name != name:
            say(f"{directory} has no {name}: merging into {found.name}, the file a run of "
                f"{program} reads there")
            return found, True
    try:
        longest = os.pathconf(directory if os.path.isdir(directory) else "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(name)) > longest:  # (gap #35's %5F makes each "_" three bytes)
        raise UsageError(f"{program}'s policy file name in {directory} would be "
                         f"{len(os.fsencode(name))} bytes, longer than a file name may be "
                         f"({longest}): write it elsewhere with -o FILE (and run with -p FILE)")
    return directory / name, True


def _check_writable(path: Path, in_policy_dir: bool) -> None:
    """Fail now, not after the run, when the policy cannot be written there -- a path that
    cannot even be looked at (a name longer than a file name may be, a directory that may
    not be searched) too: pathlib's tests raise those errors, which left a traceback."""
    try:
        _check_writable_at(path, in_policy_dir)
    except OSError as exc:
        raise UsageError(f"cannot write the policy to {path}: {exc.strerror or exc}") from None


def _check_writable_at(path: Path, in_policy_dir: bool) -> None:
    """:func:`_check_writable`'s tests (OSError where a path cannot be looked at)."""
    parent = path.parent if str(path.parent) else Path(".")
    if in_policy_dir and not parent.exists():
        try:
            parent.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"cannot create the policy directory {parent}: "
                             f"{exc.strerror or exc}") from exc
        say(f"created the policy directory {parent}")
    if not parent.is_dir():
        raise UsageError(f"-o {path}: {parent} is not a directory")
    if path.is_dir():
        raise UsageError(f"-o {path}: is a directory")
    if path.exists() and not path.is_file():  # (a FIFO would block the save: issue 11)
        raise UsageError(f"-o {path}: is not a regular file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the policy to {path}: {parent} is not writable")


def learning_env() -> dict[str, str]:
    """What ``~``, ``$CWD`` and ``$TMPDIR`` mean for this run (also written to the log, so
    ``systrace policy learn`` rebuilds the same policy anywhere)."""
    env = dict(os.environ)
    try:
        env["CWD"] = os.getcwd()
    except OSError:
        env.pop("CWD", None)
    return env


def learn_command(opts: argparse.Namespace) -> int:
    """``systrace -A [-o FILE] [--merge] [--generalize L] [--default D] [-u] -- cmd``."""
    if opts.attach is not None:
        raise UsageError("-A learns from a command it starts; --attach cannot be combined")
    if opts.policy:
        raise UsageError("-A writes a policy: name it with -o FILE (add --merge to widen an"
                         " existing one), not -p")
    if opts.dry_run:
        raise UsageError("-A already refuses nothing; --dry-run cannot be combined")
    if not opts.command:
        raise UsageError("no command given (usage: systrace -A [-o FILE] [--] command"
                         " [args...])")
    credentials = parse_credentials(opts.credentials) if opts.credentials else None
    executable = resolve_command(opts.command)
    program = os.path.realpath(executable)
    destination, in_policy_dir = _destination(opts, program)
    _check_writable(destination, in_policy_dir)
    # where it leads now: the policy is written into that directory, whatever the program
    # (or any process of the user) renames meanwhile, and through no link made since
    try:
        pinned = Destination.pin(destination)
    except OSError as exc:
        raise UsageError(f"cannot write the policy to {destination}: "
                         f"{exc.strerror or exc}") from exc
    base: Policy | None = None
    if opts.merge and destination.exists():
        base = load_policy(destination)  # a PolicyError is exit 2, before the run
    notes: list[str] = []
    lookup = next_run_policies(opts, base, destination, program, notes) \
        if base is not None else None
    env = learning_env()
    audit = AuditLog.open(opts.log, opts.log_stderr, sys.stderr) if (
        opts.log or opts.log_stderr) else None
    learner = Learner(audit, verbose=opts.verbose, injector=getattr(opts, "injector", None))
    learning_plan = plan([Table("learning", Action.PERMIT)], PlanOptions(trace_all=True))
    filters = compile_filters(learning_plan, os.getpid())
    spec = SpawnSpec(argv=list(opts.command), executable=executable, filters=filters,
                     lifted=learning_plan.lifted,
                     uid=credentials[0] if credentials else None,
                     gid=credentials[1] if credentials else None,
                     groups=credentials[2] if credentials else None,
                     starter=getattr(opts, "starter", None))
    if audit is not None:
        audit.start(list(opts.command), str(destination), "learn")
        audit.write({"event": Event.LEARN_CONTEXT, "cwd": env.get("CWD"), "home": env.get("HOME"),
                     "tmpdir": env.get("TMPDIR"), "program": program})
    # Arguments are not held in scratch copies while learning: nothing is refused by path, so
    # there is no check for a racing thread to slip past, and every stop is cheaper.
    session = Session(learner, hold_arguments=False, notify=say,
                      on_orphans=None if opts.quiet else orphans_notice, job_control=True)
    facts: SystemFacts | None = None
    began = time.time()
    try:
        outcome = session.run(spec)
        if outcome.completed:
            facts = gather_facts(learner.programs, changed_by_run(learner.observations()))
    finally:
        if audit is not None:
            _end_log(audit, learner, facts)
    if not outcome.completed:
        say(f"{outcome.message}; no policy was written")
        return EXIT_INTERNAL
    code = outcome.code
    options = LearnOptions(generalize=opts.generalize, default=Action(opts.learn_default),
                           no_alias=opts.no_alias, env=env,
                           description=f"learned by systrace -A from: "
                                       f"{shlex.join(opts.command)}", facts=facts,
                           pids=frozenset(learner.pids), times=(began, time.time()))
    report = learn(learner.observations(), options)
    policy = report.policy
    if opts.review:
        from systrace_py.ui.review import review_policy

        reviewed = review_policy(policy, env, quiet=opts.quiet)
        if reviewed is None:
            say("review ended without saving: no policy was written")
            return code
        policy = reviewed
    if base is not None and lookup is not None:
        policy = merge_policies(base, policy, env, table_for=lookup.table_for,
                                tables=lookup.tables(), notes=notes)
    with pinned:
        try:
            backup = save_policy(policy, destination, pinned=pinned)
        except PolicyNotWritten as exc:
            say(not_written(destination, exc, "stderr"))
            if exc.aside is None:
                sys.stderr.write(exc.text)
            return EXIT_INTERNAL
        moved = pinned.moved()
    if moved is not None:
        say(f"{destination}: its directory was moved during the run; the policy was written "
            f"into it, now {moved}")
    if not opts.quiet:
        write_summary(sys.stderr, report, destination, backup, merged=base is not None,
                      calls_seen=learner.calls_seen, processes=learner.processes,
                      final=policy, observations=learner.observations(),
                      table_for=final_lookup(lookup, policy), notes=notes)
        if in_policy_dir:
            directory = ["-d", opts.policy_dir] if opts.policy_dir else []
            say(f"run it with: systrace {shlex.join([*directory, *opts.command])}")
    if opts.stats:
        stats(outcome.tracer.stops, outcome.tracer.fast_stops, f"{learner.calls_seen} calls seen",
              outcome.tracer.stop_kinds, outcome.tracer.python_kinds)
    return code


def next_run_policies(opts: argparse.Namespace, base: Policy, destination: Path,
                      program: str | None = None, notes: list[str] | None = None
                      ) -> PolicySet:
    """The policies the next run of the merged file decides by: the file, and the policy
    directory's other files when the file is -- or would be read as -- one of a directory's
    (``policy.files.directory_file``, the one home of that fact: ``-d DIR``; the default
    directory when the file is one of its files, however ``-o`` named it (review 61); the
    file's own directory when it is named as a directory names ``program``'s file, or its
    neighbours are named so): a program's own file there is the table it runs under, which a
    merge must not drop (review 58, close 32; review 65: ``-A -o pol/<tool's file> --merge``
    without ``-d`` loaded no directory, and the next ``systrace -d pol tool`` took a cat
    table copied from the tool's file alone).

    Where the directory was told from the file's name (``inferred``) a next run may read the
    file with the directory or alone (``-p FILE``), where the program ran under its caller's
    table: the lookup then gives the directory's files to no program, and a new table is
    made from every table of both (``learn._candidates``) -- a note in ``notes`` says so."""
    from systrace_py.cli.run import _load_directory
    from systrace_py.supervisor import PolicySet

    given = getattr(opts, "policy_dir", None)
    default = policy_dir(os.environ)
    if given and os.path.realpath(given) != os.path.realpath(default) and \
            (ours := directory_file(destination, None, None, os.environ)) is not None and \
            not ours.inferred:
        # (a plain run finds it among the default directory's files, a -d run among
        # -d's: the new tables could carry one directory's refusals, not both)
        raise UsageError(f"{destination} is a file of the policy directory {default}, and "
                         f"-d names another ({given}): merge it without -d, or into a "
                         "file of that directory")
    found = directory_file(destination, program, given, os.environ)
    if found is None:
        return PolicySet(base, {})  # (the next run, -p FILE, loads no directory)
    directory = {n: p for n, p in _load_directory(found.directory, inferred=found.inferred,
                                                  notes=notes).items()
                 if n != found.name}
    if not found.inferred:
        return PolicySet(base, directory, own=found.name)

    class EitherRun(PolicySet):
        """The next run of a file told to be a directory's by its name alone: with ``-d
        DIR`` (a program's own file there is its table) or without (it keeps its
        caller's).  No directory file is *the* program's table: a new one is made from
        every table."""

        def table_for(self, program: str) -> Table | None:
            return self.main.table_for(program)

    if directory and notes is not None:
        notes.append(f"{destination} is read as a file of the policy directory "
                     f"{found.directory} (by its name, or its neighbours'), with -d or alone"
                     " with -p: a table new in it carries the refusals of every file there "
                     f"and of this one (give -d {found.directory} to merge it as that "
                     "directory's file)")
    return EitherRun(base, directory)


def final_lookup(before: PolicySet | None, final: Policy
                  ) -> Callable[[str], Table | None] | None:
    """The next run's table lookup with the merged file in place of the old one."""
    if before is None:
        return None
    from systrace_py.supervisor import PolicySet

    return PolicySet(final, before.directory, own=before.own).table_for


def _end_log(audit: AuditLog, learner: Learner, facts: SystemFacts | None) -> None:
    """The log's last records: the facts of the system (a rebuild needs them), the counts."""
    if audit.failed is None:  # (else said already: the run was ended)
        try:
            if facts is not None:
                audit.write({"event": Event.LEARN_FACTS, "roots": facts.to_json()})
            audit.write({"event": Event.LEARN_END, "calls": learner.calls_seen,
                         "processes": learner.processes})
        except LogError as exc:
            say(f"{exc}; the log lacks its last records (learn-end)")
    audit.close()


