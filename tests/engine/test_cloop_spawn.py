"""The native loop and a build's ways of starting programs (issue 16).

make starts its jobs with glibc's posix_spawn -- clone3 (or clone) with CLONE_VM |
CLONE_VFORK and a stack of its own: a vfork by another name -- and gcc finds ``as`` with
execvp, trying each directory of PATH (an execve of a missing file answered ENOENT, under a
learned policy a refusal of a path no rule names).  The native loop serves both now: the
vfork event of such a clone and the child's first stop (its exec too, when its parent was
alone, as for a vfork), and a refusal of a missing path with the errno the table gives it
(Table.refusal_errno: ENOENT, or the rule's with ``missing = "errno"``).  What it does must
be exactly what the Python loop does (SYSTRACE_NO_CLOOP=1): the same output, stops by kind,
decisions and refusals; the counts of the stops Python served show the regression, never a
time.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from test_cloop_exec import _decided, _untimed

from conftest import learned_policy, run_systrace
from systrace_py.engine import cloop
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action, Missing, Rule, Table

STATS = re.compile(r"(\d+) stops \((\d+) decided natively\), (\d+) decisions, (\d+) refusals")
KINDS = re.compile(r"stops by kind: (.*)")
SERVED = re.compile(r"stops served by Python: (.*)")


def _native() -> bool:
    return os.environ.get("SYSTRACE_NO_CLOOP") != "1" and cloop.load() is not None


def _stats(stderr: str) -> tuple[int, int, int, int, dict[str, int]]:
    found, kinds = STATS.search(stderr), KINDS.search(stderr)
    assert found is not None and kinds is not None, stderr
    counted = {kind: int(n) for kind, n in
               (part.rsplit(" ", 1) for part in kinds.group(1).split(", "))}
    stops, native, decisions, refusals = (int(g) for g in found.groups())
    return stops, native, decisions, refusals, counted


@pytest.fixture
def bindir(build, tmp_path: Path) -> Path:
    """The spawner and hello (a program with a table of its own) in a directory the policy
    lets exec; a copy of hello elsewhere, which no rule lets exec."""
    where = tmp_path / "bin"
    where.mkdir()
    shutil.copy(build("engine/cloop_spawn.c"), where / "spawn")
    shutil.copy(build("escape/hello.c"), where / "hello")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(where / "hello", outside / "hello")
    return where


def _policy(tmp_path: Path, bindir: Path, extra: str = "") -> Path:
    """As -A learns it (learned_policy), hello's own table; ``extra``: rules before the
    others."""
    policy = tmp_path / "learned.toml"
    policy.write_text(learned_policy(bindir, f"{bindir}/hello", first=extra))
    return policy


Stats = tuple[int, int, int, int, dict[str, int]]


def _served(stderr: str) -> dict[str, int]:
    """--stats's stops the native loop handed to Python, by kind (its twelve first)."""
    found = SERVED.search(stderr)
    assert found is not None, stderr
    return {kind: int(n) for kind, n in (part.rsplit(" ", 1) for part in
                                         found.group(1).removesuffix(", ...").split(", "))}


def _both(args: list[str]) -> tuple[tuple[str, str, Stats, str], tuple[str, str, Stats, str]]:
    """(output, the tracer's lines but --stats's, the stats, its whole stderr), with the
    native loop and then with the Python loop."""
    def run(native: bool) -> tuple[str, str, Stats, str]:
        result = run_systrace(["--stats", *args],
                              env={"SYSTRACE_NO_CLOOP": "0" if native else "1"})
        assert result.returncode == 0, result.stderr
        shown = "\n".join(re.sub(r"pid \d+", "pid N", line)  # (-v names the pids)
                          for line in result.stderr.splitlines() if "stops" not in line)
        return result.stdout, shown, _stats(result.stderr), result.stderr

    return run(True), run(False)


@pytest.mark.both_loops
def test_spawns_are_the_same_under_both_loops(bindir: Path, tmp_path: Path) -> None:
    """posix_spawn (clone3 with CLONE_VM | CLONE_VFORK) and clone(CLONE_VM | CLONE_VFORK) on
    a stack of its own, of a permitted program (with a table of its own: the exec enters
    it) and of one no rule lets exec: the same output, stops by kind, decisions and
    refusals in both loops.  With the native loop, Python no longer sees the children's
    births and first stops, nor the permitted execs and their events (the spawner is alone:
    its child is armed at birth, as a shell's vfork child is) -- per round of four spawns it
    serves the two clone3 calls (their flags are in memory: Python checks them), the two
    refused execs and the ends of their children (the two others' ends are the loop's: it
    follows the whole tree while the spawner waits); twenty stops a round before."""
    rounds = 8
    policy = _policy(tmp_path, bindir)
    outside = tmp_path / "elsewhere" / "hello"
    (out, err, stats, raw), (p_out, p_err, p_stats, _) = _both(
        ["-p", str(policy), "--", str(bindir / "spawn"), str(rounds), str(bindir / "hello"),
         str(outside)])
    assert (out, err) == (p_out, p_err)
    # (the signal and event stops left out: a SIGCHLD still pending when the next child
    # ends is one stop for two, and a freeze meets a task stopped already or not -- on a
    # loaded machine one stop more in one loop: CI29, 266 against 267)
    assert _untimed(stats) == _untimed(p_stats), (stats, p_stats)
    assert out.count("note: hello ran") == 2 * rounds
    assert out.count(f"posix_spawn {outside}: Operation not permitted") == rounds
    assert out.count(f"clone {outside}: execve: Operation not permitted") == rounds
    assert out.count("fork child: exit 5") == rounds
    assert stats[3] == 2 * rounds and stats[4]["new task"] == 5 * rounds
    if _native():
        by_python = stats[0] - stats[1]
        assert by_python <= 8 * rounds + 12, (by_python, stats)  # (the forks': none)
        # (--stats says what Python served: the clone3 calls, no birth, no first stop)
        served = _served(raw)
        assert served["call clone3"] == 2 * rounds, served
        assert "vfork event" not in served and served.get("stop event", 0) <= 2, served


@pytest.mark.both_loops
def test_missing_paths_answered_as_python_answers(bindir: Path, tmp_path: Path) -> None:
    """execvp through a PATH of missing directories (gcc finding ``as``), under a default
    that refuses what no rule names: each missing file is ENOENT and the search goes on --
    a decision, not a refusal -- in both loops alike; with the native loop Python serves
    none of them (7 x 11 execs)."""
    rounds = 10
    search = ":".join(str(tmp_path / "nope" / str(i)) for i in range(7))
    policy = _policy(tmp_path, bindir)
    script = (f"i=0; while [ $i -lt {rounds} ]; do env PATH={search}:{bindir} hello; "
              f"i=$((i+1)); done; env PATH={search} hello; echo rc=$?")
    (out, err, stats, raw), (p_out, p_err, p_stats, _) = _both(
        ["-p", str(policy), "--", "sh", "-c", script])
    assert (out, err) == (p_out, p_err)
    assert _decided(stats) == _decided(p_stats), (stats, p_stats)
    assert out.count("note: hello ran") == rounds and "rc=127" in out, out
    assert "No such file or directory" in err and stats[3] == 0, (err, stats)
    if _native():
        assert stats[0] - stats[1] < 7 * (rounds + 1), stats
        # (the execs Python served: the start's, the first command's, each env's of hello,
        # which freezes a tree of two tasks)
        assert _served(raw).get("call execve", 0) <= rounds + 3, raw


@pytest.mark.both_loops
def test_missing_files_refused_by_rule_or_default(bindir: Path, tmp_path: Path) -> None:
    """Opens of missing files, refused: by the default (ENOENT, as the kernel's lookup
    would answer: a decision, not a refusal), by a rule (ENOENT too), by a rule with
    ``missing = "errno"`` (its own errno: a refusal, said with -v), by a rule whose own
    errno is ENOENT (a refusal too, Supervisor._missing: the errno is the rule's) -- the
    same output, stops, decisions and refusals in both loops, with -v and without (where the
    loop leaves every refusal to Python, which says it)."""
    nope = tmp_path / "nope"
    policy = _policy(tmp_path, bindir, f"""
[[rule]]
calls = ["fsread"]
path = "{nope}/kept/**"
action = "never"
errno = "EACCES"
missing = "errno"

[[rule]]
calls = ["fsread"]
path = "{nope}/ruled/**"
action = "never"
errno = "EACCES"

[[rule]]
calls = ["fsread"]
path = "{nope}/enoent/**"
action = "never"
errno = "ENOENT"
""")
    names = " ".join(f"{nope}/{where}/{i}" for i in range(5)
                     for where in ("kept", "ruled", "other", "kept/deeper", "enoent"))
    script = f"for i in 1 2 3 4 5 6; do cat {names} 2>&1; done; echo rc=$?"
    for verbose in ((), ("-v",)):
        (out, err, stats, raw), (p_out, p_err, p_stats, _) = _both(
            [*verbose, "-p", str(policy), "--", "sh", "-c", script])
        assert (out, err) == (p_out, p_err)
        assert _untimed(stats) == _untimed(p_stats), (stats, p_stats)
        assert out.count("Permission denied") == 6 * 10, out
        assert out.count("No such file or directory") == 6 * 15, out
        assert stats[3] == 6 * 15, stats
        if _native() and not verbose:
            assert stats[0] - stats[1] < 6 * 20, stats
            # (of 6 x 20 opens refused, the loop hands back only a variant's first: against
            # the same cats opening nothing, whose loader's and locale's opens Python serves
            # -- a first held open maps the scratch area, a path through /lib is a link)
            (_, _, _, quiet), _ = _both(["-p", str(policy), "--", "sh", "-c",
                                         "for i in 1 2 3 4 5 6; do cat 2>&1; done </dev/null"])
            baseline = _served(quiet).get("call openat", 0)
            assert _served(raw).get("call openat", 0) - baseline <= 6, (raw, quiet)


def test_missing_errno_by_the_table() -> None:
    """What a refusal answers for a missing path, compiled for the loop (Table.refusal_errno):
    ENOENT, the rule's errno under ``missing = "errno"``, the engine's own EPERM for an
    unsafe call's default; 0 (Python's) for a permit and for a call that creates its name
    (the answer then depends on which name is missing)."""
    rule = Rule(("fsread",), Action.NEVER, path=PathGlob("/a/**"), errno=13)
    kept = Rule(("fsread",), Action.NEVER, path=PathGlob("/b/**"), errno=13,
                missing=Missing.ERRNO)
    table = Table("t", rules=[rule, kept], default=Action.NEVER)
    (entries, action, err, default_missing), = cloop.variant(table, "stat", (0,) * 6)[4] or []
    assert [entry[5] for entry in entries] == [2, 13] and default_missing == 2
    assert [entry[2] for entry in entries] == [13, 13] and (action, err) == (1, 1)
    permit = Table("t", rules=[Rule(("fsread",), Action.PERMIT, path=PathGlob("/a/**"))])
    (entries, _, _, default_missing), = cloop.variant(permit, "stat", (0,) * 6)[4] or []
    assert entries[0][5] == 0 and default_missing == 0
    for unsafe in ("open", "openat"):  # (a plain open: fsread, which may not create)
        found = cloop.variant(table, unsafe, (0,) * 6)[4]
        assert found is not None and found[0][0][0][5] == 2


@pytest.mark.both_loops
def test_an_ioctl_on_a_descriptor_runs_unfrozen(bindir: Path, tmp_path: Path) -> None:
    """gcc's and cc1's isatty(2) -- ioctl(TCGETS) -- in a tree of several tasks (make's
    jobs): the table decides it by its request alone, so its descriptor's file is not
    examined (it was, only to ask whether the call exposes a file elsewhere, which no
    descriptor call does), nor held, and the call runs without the others being stopped --
    no freeze (its interrupts: "event" stops; its exit stop) in either loop."""
    policy = _policy(tmp_path, bindir, """
[[rule]]
calls = ["ioctl"]
action = "permit"
""")
    with policy.open("a") as more:  # (a table that refuses it: the prefilter stops ioctl)
        more.write('\n[program."/nonexistent/other"]\ndefault = "never"\n')
    script = "sleep 3 & for i in 1 2 3 4 5 6; do [ -t 2 ]; echo $?; done; kill $!"
    (out, err, stats, raw), (p_out, p_err, p_stats, _) = _both(
        ["-p", str(policy), "--", "sh", "-c", script])
    assert (out, err) == (p_out, p_err)
    assert out.split() == ["1"] * 6, out  # (stderr is a pipe here: not a terminal)
    if _native():
        # (they stop: Python's, or the loop's by their request now that sh is armed beside
        # its background job, its area premapped at its exec -- shell38)
        assert _served(raw).get("call ioctl", 0) <= 6, raw
    # a freeze would add an interrupt of sleep ("event") and the call's exit stop, each
    # (sleep's own calls come as they come: the counts are not compared between loops)
    for found in (stats, p_stats):
        assert found[4].get("call exit", 0) <= 1 and found[4].get("event", 0) <= 3, found
