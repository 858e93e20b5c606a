"""``systrace policy ...``: work on policies offline, from a recorded ``--log``.

* ``systrace policy learn LOG.jsonl [-o FILE] [--merge] [--generalize L] [--default D] [-u]``
  builds the policy a learning run (``systrace -A --log LOG``) wrote -- the same one, or
  with other generalization settings -- without running the program again.  A log from
  ``--dry-run --log`` works too: it is learned from every call that was let through.
* ``systrace policy check FILE LOG.jsonl [--json]`` replays the log against the policy:
  how often each rule decided, which rules nothing used (candidates to remove), and which
  logged calls the policy would refuse -- so a policy is tightened, not rewritten.
* ``systrace policy review FILE`` walks the rules learning generalized (their ``learned``
  provenance) on the terminal: accept, narrow, widen or drop each, then save.

Bad input exits 2 with ``systrace: FILE:LINE: ...``, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

from systrace_py.cli.args import EXIT_USAGE, given
from systrace_py.cli.report import not_written, say, write_summary
from systrace_py.logrecords import BadLine, Event, Result, parse_line
from systrace_py.policy.argv import argv_data
from systrace_py.policy.files import (
    PolicyError,
    PolicyNotWritten,
    dumps_policy,
    load_policy,
    save_policy,
)
from systrace_py.policy.generalize import SystemFacts
from systrace_py.policy.learn import (
    GENERALIZE_LEVELS,
    MAIN,
    LearnOptions,
    LoggedTables,
    Observation,
    decide_observation,
    learn,
    merge_policies,
    observation_from_record,
)
from systrace_py.policy.model import Action, Policy, Rule
from systrace_py.terminal import printable


class LogError(Exception):
    """A log that cannot be read: where and what."""


class _Parser(argparse.ArgumentParser):
    """argparse that says "systrace: ..." and exits 2 (its usual exit code) on bad usage."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        say(message)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="systrace policy", allow_abbrev=False,
                description="Work on policy files from a recorded --log.")
    sub = p.add_subparsers(dest="command", metavar="{learn,check,review}", parser_class=_Parser,
                           help="what to do (systrace policy COMMAND -h says more)")
    learn_p = sub.add_parser(
        "learn", help="build a policy from a learning (or dry-run) log",
        description="Build the policy a `systrace -A --log LOG` run learned, with any "
                    "generalization settings, without running the program again.")
    learn_p.add_argument("log", metavar="LOG.jsonl",
                         help="a log recorded with systrace -A --log (or --dry-run --log)")
    learn_p.add_argument("-o", "--output", type=given, metavar="FILE",
                         help="write the policy here (default: standard output)")
    learn_p.add_argument("--merge", action="store_true",
                         help="add to an existing FILE instead of replacing it")
    learn_p.add_argument("-d", "--policy-dir", type=given, metavar="DIR",
                         help="with --merge: FILE is read as a file of the policy directory "
                              "DIR (systrace -d DIR): tables new in FILE keep its files' "
                              "refusals")
    learn_p.add_argument("--generalize", choices=GENERALIZE_LEVELS, default="safe",
                         help="how far to generalize paths (default: safe)")
    learn_p.add_argument("--default", dest="learn_default", choices=("never", "ask"),
                         default="never", help="the default action (default: never)")
    learn_p.add_argument("-u", dest="no_alias", action="store_true",
                         help="rules name system calls, not aliases")
    check_p = sub.add_parser(
        "check", help="rule hit counts and unused rules, replaying a log",
        description="Replay a log (from enforcement with --log, or from learning) against "
                    "a policy: hits per rule, rules nothing used, calls it would refuse.")
    check_p.add_argument("policy", metavar="FILE", help="the policy file to check")
    check_p.add_argument("log", metavar="LOG.jsonl",
                         help="a log of runs (--log) to replay against it")
    check_p.add_argument("--json", action="store_true", help="print the report as JSON")
    review_p = sub.add_parser(
        "review", help="walk a learned policy's generalizations, then save",
        description="Show each rule learning generalized (what was observed, the rule "
                    "written) and accept, narrow, widen or drop it; then save the file (the "
                    "previous version is kept as FILE.bak).")
    review_p.add_argument("policy", metavar="FILE", help="a policy written by systrace -A")
    return p


def policy_command(args: Sequence[str]) -> int:
    """Entry point for ``systrace policy ARGS``; returns the exit status."""
    parser = build_parser()
    opts = parser.parse_args(list(args))
    if opts.command is None:  # no subcommand: say what there is (bad usage, exit 2)
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if opts.command == "learn":
            return learn_from_log(opts)
        if opts.command == "review":
            return review_command(opts)
        return check_command(opts)
    except (PolicyError, LogError) as exc:
        say(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly, as a filter does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0


# ---------------------------------------------------------------------------------------------
# Reading logs


def read_log(path: str, vouched: bool = False) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines log.  A last line cut short (the run was killed while
    writing it) is skipped; any other bad line is a :class:`LogError` naming the line.

    ``vouched`` (what a policy is learned from): every line must be of a run that vouched for
    it (``audit.run_segments``: its ``end`` record's digest) -- a traced program may write
    the log, and a line it added would be learned as a call it made (red team 29).  Lines no
    run vouches for are a :class:`LogError` -- those of a run that failed or was killed
    before its end too (a traced program may add lines, then make the run's next write fail:
    review 17); a run logged before runs ended their logs is read, with a warning."""
    from systrace_py.audit import run_segments

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LogError(f"{path}: cannot read the log: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    if vouched:
        forged, unended, disowned = run_segments(lines)
        # (a disowning record follows its run's end: outside any run, and no forgery)
        forged = [(first, last) for first, last in forged
                  if not (first == last and first in disowned)]
        if forged:
            first, last = forged[0]
            if not any(_json_object(line) for line in lines):
                # no log at all (a policy given for the log: policy check takes FILE then LOG)
                raise LogError(f"{path}: not a JSON-lines log of systrace (--log FILE): "
                               "nothing is learned from it")
            where = f"{first}" if first == last else f"{first}-{last}"
            raise LogError(f"{path}:{where}: lines no run of systrace vouches for (a traced "
                           "program may write its log; two runs wrote it at once; or the "
                           "run failed, was killed or still runs, and never ended its log): "
                           "nothing is learned from this log")
        if disowned:
            raise LogError(f"{path}:{disowned[0]}: a run of systrace found at its end that this "
                           "file had been put at its log's name, or changed where the run did "
                           "not write, while it ran (a traced program may have made up what "
                           "it says): nothing is learned from this log")
        for first, last in unended:
            say(f"{path}:{first}-{last}: a run logged by an older systrace, which did not end "
                "its log: nothing vouches that a traced program did not write lines of it, "
                "nor rewrite the lines before it -- review what is learned")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = parse_line(raw)
        except BadLine as exc:
            if number == len(lines):  # no newline after it: a truncated last record
                continue
            raise LogError(f"{path}:{number}: not a JSON log record ({exc})") from None
        if not isinstance(record, dict):
            raise LogError(f"{path}:{number}: not a JSON object")
        record["_line"] = number
        yield record


def _json_object(line: bytes) -> bool:
    try:
        return isinstance(parse_line(line), dict)
    except BadLine:
        return False


@dataclass
class LoggedRun:
    """What a log says about the run(s) it recorded."""

    observations: list[Observation] = field(default_factory=list)
    argv: list[str] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    calls_seen: int | None = None
    processes: int | None = None
    facts: SystemFacts | None = None
    pids: set[int] = field(default_factory=set)  # every pid and tid a record names
    #: the first and last time a syscall record carries (LearnOptions.times)
    times: tuple[float, float] | None = None


def read_run(path: str) -> LoggedRun:
    run = LoggedRun()
    calls = processes = 0
    ended = False
    tables = LoggedTables()  # (an older -A's table of a memfd is its caller's: learn42)
    for record in read_log(path, vouched=True):
        tables.see(record)
        event = record.get("event")
        if event == Event.START and run.argv is None and isinstance(record.get("argv"), list):
            run.argv = [str(a) for a in record["argv"]]
        elif event == Event.LEARN_CONTEXT and not run.context:
            run.context = record
        elif event == Event.LEARN_FACTS and run.facts is None:
            try:
                run.facts = SystemFacts.from_json(record.get("roots"))
            except ValueError as exc:
                raise LogError(f"{path}:{record['_line']}: {exc}") from None
        elif event == Event.LEARN_END:
            ended = True
            calls += int(record.get("calls") or 0)
            processes += int(record.get("processes") or 0)
        for key in ("pid", "tid"):
            if isinstance(record.get(key), int):
                run.pids.add(record[key])
        stamp = record.get("time")
        if event == Event.SYSCALL and isinstance(stamp, (int, float)) and \
                not isinstance(stamp, bool) and math.isfinite(stamp):
            run.times = (min(run.times[0], stamp), max(run.times[1], stamp)) \
                if run.times is not None else (float(stamp), float(stamp))
        try:
            obs = observation_from_record(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise LogError(f"{path}:{record['_line']}: a syscall record without the fields"
                           f" learning needs ({exc})") from None
        if obs is not None:
            run.observations.append(tables.placed(obs, record))
    if ended:
        run.calls_seen, run.processes = calls, processes
    return run


def _env_of(run: LoggedRun) -> dict[str, str]:
    """The expansions of the learning run (so the policy comes out the same here)."""
    env = dict(os.environ)
    for key, name in (("cwd", "CWD"), ("home", "HOME"), ("tmpdir", "TMPDIR")):
        value = run.context.get(key)
        if isinstance(value, str):
            env[name] = value
        elif key == "tmpdir" and run.context:
            env.pop("TMPDIR", None)
    return env


# ---------------------------------------------------------------------------------------------
# policy learn


def learn_from_log(opts: argparse.Namespace) -> int:
    import shlex


    if opts.policy_dir and not opts.merge:
        raise LogError("-d DIR is for --merge (the directory FILE is read with)")
    run = read_run(opts.log)
    if not run.observations:
        raise LogError(f"{opts.log}: no calls to learn from (record one with "
                       "systrace -A --log FILE, or --dry-run --log FILE)")
    env = _env_of(run)
    description = (f"learned by systrace -A from: {shlex.join(run.argv)}" if run.argv
                   else f"learned from {os.path.basename(opts.log)}")
    options = LearnOptions(generalize=opts.generalize, default=Action(opts.learn_default),
                           no_alias=opts.no_alias, env=env, description=description,
                           facts=run.facts, pids=frozenset(run.pids), times=run.times)
    report = learn(run.observations, options)
    policy = report.policy
    base: Policy | None = None
    destination = Path(opts.output) if opts.output else None
    notes: list[str] = []
    final_table_for = None
    if destination is not None and opts.merge and destination.exists():
        from systrace_py.cli.learn import final_lookup, next_run_policies

        base = load_policy(destination, env)
        program = run.context.get("program") if run.context else None
        lookup = next_run_policies(opts, base, destination,
                                   program if isinstance(program, str) else None, notes)
        policy = merge_policies(base, policy, env, table_for=lookup.table_for,
                                tables=lookup.tables(), notes=notes)
        final_table_for = final_lookup(lookup, policy)
    elif opts.merge and destination is None:
        raise LogError("--merge needs -o FILE (the policy to add to)")
    backup = None
    if destination is None:
        sys.stdout.write(dumps_policy(policy))
    else:
        try:
            backup = save_policy(policy, destination)
        except PolicyNotWritten as exc:
            _print_unwritten(exc)
            raise LogError(not_written(destination, exc, "stdout")) from None
    write_summary(sys.stderr, report, destination, backup, merged=base is not None,
                  calls_seen=run.calls_seen, processes=run.processes, final=policy,
                  observations=run.observations, table_for=final_table_for, notes=notes)
    return 0


def _print_unwritten(exc: PolicyNotWritten) -> None:
    """A policy that could be written neither to its file nor beside it: on stdout, where
    ``policy learn`` prints one without ``-o``."""
    if exc.aside is None:
        sys.stdout.write(exc.text)
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# policy review


def review_command(opts: argparse.Namespace) -> int:
    """``systrace policy review FILE``: needs a terminal; saves only what was reviewed."""
    from systrace_py.ui.review import review_policy

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise LogError("policy review asks on a terminal, and there is none here")
    env = dict(os.environ)
    with contextlib.suppress(OSError):
        env.setdefault("CWD", os.getcwd())
    policy = load_policy(opts.policy, env)
    reviewed = review_policy(policy, env)
    if reviewed is None:
        say("review ended without saving")
        return 0
    if reviewed is policy:
        return 0
    try:
        backup = save_policy(reviewed, opts.policy)
    except PolicyNotWritten as exc:
        _print_unwritten(exc)
        raise LogError(not_written(opts.policy, exc, "stdout")) from None
    say(f"wrote {opts.policy}" + (f" (previous version: {backup})" if backup else ""))
    return 0


# ---------------------------------------------------------------------------------------------
# policy check


@dataclass
class RuleHits:
    table: str
    rule: Rule
    hits: int = 0


@dataclass
class CheckReport:
    """A log replayed against a policy."""

    rules: list[RuleHits]
    calls: int = 0
    by_default: dict[str, int] = field(default_factory=dict)     # table -> calls
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # table, call, args
    stale: int = 0            # records naming a rule the policy no longer has
    #: records of a call made again (``"again"``: the same call as the one decided before it
    #: for that tid), each counted in that call's place: once, as decided the last time
    again: int = 0

    def unused(self) -> list[RuleHits]:
        return [r for r in self.rules if r.hits == 0]

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "rules": [{"table": r.table, **r.rule.describe(), "hits": r.hits}
                      for r in self.rules],
            "unused": [{"table": r.table, "index": r.rule.index} for r in self.unused()],
            "by_default": self.by_default,
            "refused": [{"table": t, "syscall": c, "args": a} for t, c, a in self.refused],
            "stale": self.stale,
            "again": self.again,
        }


@dataclass
class _Counted:
    """What one syscall record added to a :class:`CheckReport` -- taken back when its call
    is made again (the next record of its tid says ``"again"``), which counts in its place."""

    call: bool = False
    hit: RuleHits | None = None
    default: str | None = None                 # the table whose default decided it
    refused: tuple[str, str, str] | None = None
    stale: bool = False

    def take_back(self, report: CheckReport, by_default: dict[str, int]) -> None:
        report.calls -= self.call
        report.stale -= self.stale
        if self.hit is not None:
            self.hit.hits -= 1
        if self.default is not None:
            by_default[self.default] -= 1
            if not by_default[self.default]:
                del by_default[self.default]
        if self.refused is not None:
            for i in range(len(report.refused) - 1, -1, -1):
                if report.refused[i] is self.refused:
                    del report.refused[i]
                    break


def check_policy(policy: Policy, records: Iterator[dict[str, Any]]) -> CheckReport:
    """Hits per rule.  A record that names the rule that decided it (an enforcement log)
    counts for that rule when the policy still has it (same table, same number, same
    calls); anything else that holds a call (a learning or dry-run log, or a record from an
    older version of the policy) is decided again by the policy.  A record of a call made
    again (``"again"``, docs/cli.md "The log") is the same call as its tid's record before
    it, not another: it counts in that record's place -- one call, decided as the last time."""
    hits: dict[tuple[str, int], RuleHits] = {}
    for table in policy.tables():
        for rule in table.rules:
            hits[(table.name, rule.index)] = RuleHits(table.name, rule)
    report = CheckReport(list(hits.values()))
    by_default: dict[str, int] = defaultdict(int)
    last: dict[object, _Counted] = {}   # what each tid's last decision's record added
    tables = LoggedTables()  # (an older -A's table of a memfd is its caller's: learn42)
    for record in records:
        event = record.get("event")
        if event == Event.START:
            last.clear()  # (another run: tids of its own)
            tables = LoggedTables()
        tables.see(record)
        if event != Event.SYSCALL:
            continue
        tid = record.get("tid")
        # (an inject rule's record is of a call decided in a record of its own: it is no
        # decision to count in place of, nor one made again)
        decision = record.get("action") != "inject"
        before = last.get(tid) if decision and record.get("again") else None
        if before is not None:
            report.again += 1
            before.take_back(report, by_default)
        counted = _count(policy, hits, report, by_default, record, tables)
        if decision:
            last[tid] = counted
    report.by_default = dict(by_default)
    return report


def _count(policy: Policy, hits: dict[tuple[str, int], RuleHits], report: CheckReport,
           by_default: dict[str, int], record: dict[str, Any], tables: LoggedTables
           ) -> _Counted:
    """One syscall record counted into ``report``: what it added (decided in the table its
    process runs under: ``tables``)."""
    counted = _Counted()
    ref = record.get("rule")
    if isinstance(ref, dict) and isinstance(ref.get("index"), int):
        found = hits.get((str(ref.get("table", MAIN)), ref["index"]))
        if found is not None and list(found.rule.calls) == list(ref.get("calls") or
                                                                 found.rule.calls):
            found.hits += 1
            report.calls += 1
            counted.call, counted.hit = True, found
            return counted
        if ref.get("action") == "inject":
            return counted  # a rule of --inject (or of an older policy): the call did not
            #                 run as asked, there is nothing to decide again
        report.stale += 1
        counted.stale = True
    obs = _replayable(record)
    if obs is None:
        return counted
    obs = tables.placed(obs, record)
    report.calls += 1
    counted.call = True
    decision = decide_observation(policy, obs)
    if decision.rule is not None:
        found = hits.get((decision.table, decision.rule.index))
        if found is not None:
            found.hits += 1
            counted.hit = found
    else:
        by_default[decision.table] += 1
        counted.default = decision.table
    if decision.action is not Action.PERMIT and len(report.refused) < 1000:
        args = " ".join(p.path for p in obs.paths) or " ".join(str(a) for a in obs.sockaddrs)
        counted.refused = (decision.table, obs.syscall, args)
        report.refused.append(counted.refused)
    return counted


def _replayable(record: dict[str, Any]) -> Observation | None:
    """A record's call, to decide again: also refused ones (a learned unsafe call, a
    refusal by the default), which a policy may now permit -- not an exec that failed while
    learning (it failed whatever the policy: no rule needs it)."""
    try:
        obs = observation_from_record(record)
        if obs is None and record.get("result") == Result.REFUSED:
            obs = observation_from_record({**record, "result": Result.PERMITTED})
    except (KeyError, TypeError, ValueError):
        return None
    return None if obs is not None and obs.failed else obs


def _rule_text(rule: Rule) -> str:
    """A rule in a few words -- its glob may be a name a traced program chose (a learned
    policy's), so the caller shows it :func:`printable` (red team 22)."""
    parts = [",".join(rule.calls)]
    if rule.path is not None:
        parts.append(rule.path.pattern)
    if rule.net is not None:
        parts += [f"{k}={v}" for k, v in rule.net.describe().items()]
    if rule.argv is not None:
        parts.append("argv=" + json.dumps(argv_data(rule.argv.patterns)))
    if rule.target is not None:
        parts.append(f"target={rule.target}")
    parts.append(rule.action.value)
    return " ".join(parts)


def check_command(opts: argparse.Namespace) -> int:
    policy = load_policy(opts.policy)
    report = check_policy(policy, read_log(opts.log))
    if opts.json:
        json.dump(report.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    write_check(sys.stdout, report, opts.policy, opts.log)
    return 0


def write_check(out: IO[str], report: CheckReport, policy_path: str, log_path: str) -> None:
    out.write(f"{policy_path} against {log_path}: {report.calls} logged calls\n")
    current = None
    for item in report.rules:
        if item.table != current:
            current = item.table
            out.write(f"table {current}:\n  {'rule':>5} {'line':>5} {'hits':>7}  calls, condition,"
                      " action\n")
        out.write(f"  {item.rule.index:>5} {_line(item.rule):>5} {item.hits:>7}  "
                  f"{printable(_rule_text(item.rule))}\n")
    unused = report.unused()
    if unused:
        out.write(f"unused rules ({len(unused)}): nothing in the log used them\n")
        for item in unused:
            out.write(f"  table {item.table} rule {item.rule.index} (line {_line(item.rule)}):"
                      f" {printable(_rule_text(item.rule))}\n")
    else:
        out.write("unused rules: none\n")
    for table, count in sorted(report.by_default.items()):
        out.write(f"decided by the default of table {table}: {count}\n")
    if report.refused:
        out.write(f"calls this policy refuses: {len(report.refused)}\n")
        for table, call, args in report.refused[:20]:
            out.write(printable(f"  [{table}] {call} {args}") + "\n")  # (the log's)
    if report.stale:
        out.write(f"records naming rules this policy no longer has (decided again): "
                  f"{report.stale}\n")
    if report.again:
        out.write(f"calls made again (each counted once, as decided the last time): "
                  f"{report.again}\n")


def _line(rule: Rule) -> str:
    return str(rule.location.line) if rule.location and rule.location.line else "-"
