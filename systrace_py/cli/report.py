"""What the ``systrace`` command tells a person on stderr, through the one reporter
(:func:`systrace_py.report.say`: ``systrace: ...``, one line).  The end-of-run summaries (refusals,
``--stats``, what learning wrote) are here so that every subcommand words them alike.
"""

from __future__ import annotations

import os
import resource
import sys
from typing import IO, TYPE_CHECKING

from systrace_py import procfs
from systrace_py.report import say

if TYPE_CHECKING:  # (learning's modules are loaded by the runs that learn, not by every run)
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from systrace_py.policy.files import PolicyNotWritten
    from systrace_py.policy.learn import LearnReport, Observation
    from systrace_py.policy.model import Policy, Table


def fail(message: str, code: int, stream: IO[str] | None = None) -> int:
    """Say why, and give back the exit status to return."""
    say(message, stream)
    return code


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: IO[str] | None = None, line: str | None = None) -> None:
    """Warnings (a policy's program key that is a symlink...) as systrace's own lines."""
    say(f"warning: {message}")


def standard_streams() -> None:
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


def orphans_notice(count: int) -> None:
    say(f"the command has exited; waiting for the {count} process"
        f"{'es' if count != 1 else ''} it left running (as strace does: systrace ends when"
        " they do)")


def calls(n: int) -> str:
    return f"{n} call{'s' if n != 1 else ''}"


def peak_rss() -> int:
    """The tracer's own peak resident set, KiB: VmHWM of /proc/self/status, this image's
    address space alone -- not its tracees', nor the process it was forked from.
    (getrusage's ru_maxrss keeps the peak of the image the process exec'd from: systrace
    started by a 300 MiB Python process said 300 MiB.)  ru_maxrss where /proc is not there."""
    try:
        peak = procfs.status_value(procfs.read("/proc/self/status"), b"VmHWM")  # "N kB"
        if peak is not None:
            return int(peak.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stats(stops: int, native: int, counts: str, kinds: dict[str, int] | None = None,
          by_python: dict[str, int] | None = None) -> None:
    """``--stats``: the stops (and how many the native stop loop served), what the monitor
    counted, the tracer's CPU time and its own peak resident set (:func:`peak_rss`); then
    the stops by kind (Tracer.stop_kinds); with the native loop, the stops it handed to
    Python, most first (Tracer.python_kinds: a call's by its name)."""
    times = os.times()
    peak = peak_rss()
    cpu = times.user + times.system
    say(f"{stops} stops ({native} decided natively), {counts}, tracer CPU {cpu:.3f}s, "
        f"tracer RSS {peak / 1024:.1f} MiB")
    if kinds:
        say("stops by kind: " + ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n))
    if by_python:
        most = sorted(by_python.items(), key=lambda item: (-item[1], item[0]))
        say("stops served by Python: " + ", ".join(f"{kind} {n}" for kind, n in most[:12])
            + (", ..." if len(most) > 12 else ""))


def not_written(destination: Path | str, exc: PolicyNotWritten, printed_on: str) -> str:
    """What to say when a policy could not replace its file: why, and where it is instead
    (beside it, or ``printed_on`` -- the caller prints ``exc.text`` there)."""
    why = f"cannot write the policy to {destination}: {exc.strerror or exc}"
    if exc.aside is not None:
        return (f"{why}; the policy was written to {exc.aside} instead (look at what is at "
                f"{destination}, then move it there)")
    return f"{why}; nor beside it: the policy is printed on {printed_on} instead"


def write_summary(stream: IO[str], report: LearnReport, destination: Path | None,
                  backup: Path | None, *, merged: bool, calls_seen: int | None,
                  processes: int | None, final: Policy,
                  observations: list[Observation],
                  table_for: Callable[[str], Table | None] | None = None,
                  notes: Sequence[str] = ()) -> None:
    """The end of a learning (``-A``, ``policy learn``): where the policy went, then
    :func:`format_summary`, then anything the written policy still refuses (a merge into a
    file whose own rules refuse some of what was learned)."""
    from systrace_py.policy.learn import decide_observation, format_summary
    from systrace_py.policy.model import Action

    lines = []
    if destination is not None:
        verb = "merged into" if merged else "wrote"
        through = ""
        if destination.is_symlink():  # (the file it leads to is what was replaced: gap #33)
            through = f" (a link: the file written is {os.path.realpath(destination)})"
        lines.append(f"{verb} {destination}{through}" + (f" (previous version: {backup})"
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
               and decide_observation(final, o, table_for).action is not Action.PERMIT
               ] if merged else []
    if refused:
        example = refused[0]
        lines.append(f"note: {len(refused)} observed call(s) are still not permitted by rules"
                     f" that were already in the file (e.g. {example.syscall} "
                     f"{' '.join(p.path for p in example.paths)} in table {example.table})")
    if merged:
        lines += [f"note: {note}" for note in notes]
        lines += _shadowed(report, final, observations, table_for)
    for line in lines:
        say(line, stream)


def _shadowed(report: LearnReport, final: Policy, observations: list[Observation],
              table_for: Callable[[str], Table | None] | None) -> list[str]:
    """A learned table the next run does not give its program: a person's literal key, an
    earlier glob (``$CWD/*``), the policy directory's file takes it first (review 58) --
    what was learned there does not apply, and the run refuses it."""
    lookup = table_for or final.table_for
    out = []
    for program in sorted({o.table for o in observations if o.table != "main"}):
        learned = report.policy.table_for(program)
        if learned is None:
            continue
        wanted = final.programs.get(learned.name)
        got = lookup(program)
        if wanted is not None and got is not wanted:
            by = f"table {got.name}" if got is not None else "its callers' tables"
            out.append(f"warning: the learned table {learned.name} does not apply to {program}"
                       f": {by} decide(s) it in the next run (first match); what was learned "
                       "there is refused")
    return out
