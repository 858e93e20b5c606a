"""``systrace -A``: run a command once in learning mode and write the policy it needs.

Where the policy goes: ``-o FILE``, else the program's file in the policy directory (as
systrace wrote ``~/.systrace/_bin_ls``), where ``systrace CMD`` then finds it; a policy
directory that does not exist yet is created (and systrace says so).  An existing file is
backed up and replaced, or widened with ``--merge``.  Everything that can go wrong
with the destination (unwritable, a policy that does not load for ``--merge``) is found
*before* the command runs: a long learning session is never lost to a typo.

After the run, what the generalizer's categories need from this system is gathered here (the
learner itself is pure): the include and own directories of the compilers that ran, the
library directories of the Python interpreters that ran, the loader's library directories --
by asking those programs (``-print-search-dirs``, ``sys.path``) and reading ``ld.so.conf``.
They go into the log (``learn-facts``), so ``systrace policy learn`` rebuilds the same policy.

The exit status is the command's, so ``systrace -A`` slots into scripts and test suites.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from systrace_py.audit import AuditLog, LogError
from systrace_py.cli import (
    EXIT_INTERNAL,
    UsageError,
    _hold_signals,
    _orphans_notice,
    _parse_credentials,
    _resolve_command,
    _say,
)
from systrace_py.engine.seccomp import compile_filters
from systrace_py.engine.tracer import SpawnSpec, Tracer, TracerError
from systrace_py.learner import Learner
from systrace_py.policy.files import load_policy, policy_dir, policy_filename, save_policy
from systrace_py.policy.filterplan import PlanOptions, plan
from systrace_py.policy.generalize import CATEGORIES, SystemFacts
from systrace_py.policy.learn import (
    LearnOptions,
    LearnReport,
    Observation,
    decide_observation,
    format_summary,
    learn,
    merge_policies,
)
from systrace_py.policy.model import Action, Policy, Table


def _destination(opts: argparse.Namespace, program: str) -> tuple[Path, bool]:
    """Where the policy goes, and whether that is the policy directory."""
    if opts.output:
        return Path(opts.output), False
    directory = Path(opts.policy_dir) if opts.policy_dir else policy_dir(os.environ)
    return directory / policy_filename(program), True


def _check_writable(path: Path, in_policy_dir: bool) -> None:
    """Fail now, not after the run, when the policy cannot be written there."""
    parent = path.parent if str(path.parent) else Path(".")
    if in_policy_dir and not parent.exists():
        try:
            parent.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"cannot create the policy directory {parent}: "
                             f"{exc.strerror or exc}") from exc
        _say(f"created the policy directory {parent}")
    if not parent.is_dir():
        raise UsageError(f"-o {path}: {parent} is not a directory")
    if path.is_dir():
        raise UsageError(f"-o {path}: is a directory")
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
    credentials = _parse_credentials(opts.credentials) if opts.credentials else None
    executable = _resolve_command(opts.command)
    program = os.path.realpath(executable)
    destination, in_policy_dir = _destination(opts, program)
    _check_writable(destination, in_policy_dir)
    base: Policy | None = None
    if opts.merge and destination.exists():
        base = load_policy(destination)  # a PolicyError is exit 2, before the run
    env = learning_env()
    audit = AuditLog.open(opts.log, opts.log_stderr, sys.stderr) if (
        opts.log or opts.log_stderr) else None
    learner = Learner(audit, verbose=opts.verbose)
    filters = compile_filters(plan([Table("learning", Action.PERMIT)],
                                   PlanOptions(trace_all=True)), os.getpid())
    spec = SpawnSpec(argv=list(opts.command), executable=executable, filters=filters,
                     uid=credentials[0] if credentials else None,
                     gid=credentials[1] if credentials else None,
                     groups=credentials[2] if credentials else None)
    if audit is not None:
        audit.start(list(opts.command), str(destination), "learn")
        audit.write({"event": "learn-context", "cwd": env.get("CWD"), "home": env.get("HOME"),
                     "tmpdir": env.get("TMPDIR"), "program": program})
    code, facts = _run(spec, learner, audit, quiet=opts.quiet)
    if code is None:
        return EXIT_INTERNAL
    options = LearnOptions(generalize=opts.generalize, default=Action(opts.learn_default),
                           no_alias=opts.no_alias, env=env,
                           description=f"learned by systrace -A from: "
                                       f"{shlex.join(opts.command)}", facts=facts)
    report = learn(learner.observations(), options)
    policy = report.policy
    if opts.review:
        from systrace_py.ui.review import review_policy

        reviewed = review_policy(policy, env, quiet=opts.quiet)
        if reviewed is None:
            _say("review ended without saving: no policy was written")
            return code
        policy = reviewed
    if base is not None:
        policy = merge_policies(base, policy, env)
    try:
        backup = save_policy(policy, destination)
    except OSError as exc:
        _say(f"cannot write the policy to {destination}: {exc.strerror or exc}")
        return EXIT_INTERNAL
    if not opts.quiet:
        write_summary(sys.stderr, report, destination, backup, merged=base is not None,
                      calls_seen=learner.calls_seen, processes=learner.processes,
                      final=policy, observations=learner.observations())
        if in_policy_dir:
            directory = ["-d", opts.policy_dir] if opts.policy_dir else []
            _say(f"run it with: systrace {shlex.join([*directory, *opts.command])}")
    if opts.stats:
        times = os.times()
        stops = learner.tracer.stops if learner.tracer is not None else 0
        _say(f"{stops} stops, {learner.calls_seen} calls seen, "
             f"tracer CPU {times.user + times.system:.3f}s")
    return code


def write_summary(stream: IO[str], report: LearnReport, destination: Path | None,
                  backup: Path | None, *, merged: bool, calls_seen: int | None,
                  processes: int | None, final: Policy,
                  observations: list[Observation]) -> None:
    """The end-of-run summary: where the policy went, then :func:`format_summary`, then
    anything the written policy still refuses (a merge into a file whose own rules refuse
    some of what was learned)."""
    lines = []
    if destination is not None:
        verb = "merged into" if merged else "wrote"
        lines.append(f"{verb} {destination}" + (f" (previous version: {backup})"
                                                 if backup else ""))
    lines += format_summary(report, calls_seen, processes)
    if merged:
        tables = final.tables()
        lines.append(f"the merged file holds {sum(len(t.rules) for t in tables)} rules in "
                     f"{len(tables)} table{'s' if len(tables) != 1 else ''}")
    skipped = set(report.unrepresentable)
    # a learned policy permits what it was learned from (property-tested); only a merge
    # into rules a person wrote can leave something refused
    refused = [o for o in observations
               if o not in skipped and o.syscall not in report.unsafe
               and decide_observation(final, o).action is not Action.PERMIT] if merged else []
    if refused:
        example = refused[0]
        lines.append(f"note: {len(refused)} observed call(s) are still not permitted by rules"
                     f" that were already in the file (e.g. {example.syscall} "
                     f"{' '.join(p.path for p in example.paths)} in table {example.table})")
    for line in lines:
        stream.write(f"systrace: {line}\n")
    stream.flush()


def _run(spec: SpawnSpec, learner: Learner, audit: AuditLog | None, *,
         quiet: bool = False) -> tuple[int | None, SystemFacts | None]:
    """Trace the command; its exit code (None when tracing failed: nothing is written) and
    the facts of this system the programs that ran use (also written to the log).

    Arguments are not held in scratch copies while learning: nothing is refused by path, so
    there is no check for a racing thread to slip past, and every stop is cheaper."""
    tracer = Tracer(learner, hold_arguments=False)
    learner.attach(tracer)
    if not quiet:
        tracer.on_orphans = _orphans_notice
    previous = _hold_signals(tracer)
    code: int | None = None
    facts: SystemFacts | None = None
    try:
        try:
            tracer.spawn(spec)
        except TracerError as exc:  # nothing of the command ran (already traced...)
            _say(f"{exc}; no policy was written")
            return None, None
        code = tracer.run()
        facts = gather_facts(learner.programs)
        return code, facts
    except (TracerError, LogError) as exc:
        _say(f"{exc}; the traced processes were killed; no policy was written")
        return None, None
    except Exception as exc:  # fail closed: tracer.run already killed the traced tree
        _say(f"internal error: {type(exc).__name__}: {exc}; the traced processes were "
             "killed; no policy was written")
        return None, None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        learner.close()
        if audit is not None:
            _end_log(audit, learner, facts)


def _end_log(audit: AuditLog, learner: Learner, facts: SystemFacts | None) -> None:
    """The log's last records: the facts of the system (a rebuild needs them), the counts."""
    if audit.failed is None:  # (else said already: the run was ended)
        try:
            if facts is not None:
                audit.write({"event": "learn-facts", "roots": facts.to_json()})
            audit.write({"event": "learn-end", "calls": learner.calls_seen,
                         "processes": learner.processes})
        except LogError as exc:
            _say(f"{exc}; the log lacks its last records (learn-end)")
    audit.close()


# ---------------------------------------------------------------------------------------------
# Facts of the running system, for the categories


#: Compiler drivers asked where their headers and own files are (gcc, cc, g++, clang...,
#: x86_64-linux-gnu-gcc-12)
_COMPILER = re.compile(r"(?:.*-)?(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+)(?:-[0-9.]+)?")
_PYTHON = re.compile(r"python3(?:\.[0-9]+)?")
#: Asked of an interpreter (isolated: no user site, no PYTHONPATH): its library directories
_PYTHON_PATHS = "import json, os, sys; print(json.dumps([p for p in sys.path if os.path.isdir(p)]))"
_ASK_TIMEOUT = 10


def _output(argv: list[str]) -> str:
    """What a program prints (stdout and stderr), or "" when it cannot be asked."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_ASK_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return ""
    return done.stdout + done.stderr


def _existing(paths: Iterable[str]) -> list[str]:
    out = []
    for path in paths:
        real = os.path.realpath(path.strip())
        if path.strip().startswith("/") and os.path.isdir(real) and real not in out:
            out.append(real)
    return out


def _compiler_facts(program: str, roots: dict[str, list[str]]) -> None:
    listing = _output([program, "-E", "-v", "-x", "c", "/dev/null", "-o", "/dev/null"])
    match = re.search(r"#include <\.\.\.> search starts here:\n(.*?)\nEnd of search list",
                      listing, re.S)
    if match:
        roots["headers"] += _existing(line for line in match.group(1).splitlines())
    dirs = _output([program, "-print-search-dirs"])
    install = re.search(r"^install: (.+)$", dirs, re.M)
    own = [install.group(1)] if install else []
    cc1 = _output([program, "-print-prog-name=cc1"]).strip()
    if cc1.startswith("/"):
        own.append(os.path.dirname(cc1))
    roots["compiler"] += _existing(own)


def _library_dirs() -> list[str]:
    """The loader's library directories: ld.so.conf (and what it includes), the defaults."""
    found: list[str] = []

    def read(conf: str, depth: int = 0) -> None:
        try:
            lines = Path(conf).read_text(errors="replace").splitlines()
        except OSError:
            return
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line.startswith("include ") and depth < 4:
                for included in sorted(glob.glob(line.split(None, 1)[1])):
                    read(included, depth + 1)
            elif line.startswith("/"):
                found.append(line)

    read("/etc/ld.so.conf")
    defaults = next(c.roots for c in CATEGORIES if c.key == "libraries")
    return _existing([*found, *defaults])


def _interpreter(program: str) -> str:
    """The program a script names on its ``#!`` line (the program itself otherwise): the
    tracer knows a script by its own path, and pip is a script."""
    try:
        with open(program, "rb") as f:
            first = f.read(256).split(b"\n", 1)[0]
    except OSError:
        return program
    if not first.startswith(b"#!"):
        return program
    words = first[2:].decode(errors="replace").split()
    return words[0] if words and words[0].startswith("/") else program


def _installed(program: str) -> bool:
    """Whether a program is one the system installed -- owned by root, writable by nobody
    else, in a directory likewise: asking it runs it outside the tracer, so never a program
    the traced command could have written."""
    try:
        for path in (program, os.path.dirname(program)):
            info = os.stat(path)
            if info.st_uid != 0 or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return os.access(program, os.X_OK)


def gather_facts(programs: Iterable[str]) -> SystemFacts:
    """The category roots the programs that ran use on this system (see the module's
    docstring); a program that cannot be asked, or that the system did not install, adds
    nothing (the categories then take their roots from the paths read)."""
    roots: dict[str, list[str]] = {"headers": [], "compiler": [], "python": []}
    for program in dict.fromkeys(_interpreter(p) for p in programs):
        name = os.path.basename(program)
        if not _installed(program):
            continue
        if _COMPILER.fullmatch(name):
            _compiler_facts(program, roots)
        elif _PYTHON.fullmatch(name):
            try:
                paths = json.loads(_output([program, "-I", "-c", _PYTHON_PATHS]) or "[]")
            except json.JSONDecodeError:
                paths = []
            roots["python"] += _existing(p for p in paths if isinstance(p, str))
    found = {key: tuple(dict.fromkeys(values)) for key, values in roots.items() if values}
    found["libraries"] = tuple(_library_dirs())
    return SystemFacts(found)

