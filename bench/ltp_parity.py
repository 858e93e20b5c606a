#!/usr/bin/env python3
"""LTP parity: run LTP's system call tests natively and under systrace, and compare.

The claim tested (issue 11, docs/security.md "Parity with native: LTP"): under a policy that
permits everything but one path no test uses, a program behaves as it does natively.  Each
test runs twice, natively and under ``systrace -p POLICY --``, with the same environment, in a
fresh TMPDIR; the LTP summary (passed, failed, broken, skipped, warnings) and the exit status
of the two runs are compared.  A difference is then one of: an engine bug, a refusal a rule
can lift, a flake (``--recheck N`` runs the native side N more times to show it varies), or a
difference inherent in being traced (tests that look at TracerPid or use ptrace themselves).

LTP is not part of this repository.  Build it (see docs/security.md) and point ``--ltp`` at
its install prefix (``/opt/ltp``: binaries in ``testcases/bin``, the list in
``runtest/syscalls``) or at a source tree built in place (binaries in
``testcases/kernel/syscalls/*``)::

    python bench/ltp_parity.py --ltp /opt/ltp --src /work/ltp-src 'open*' 'mount*'
    python bench/ltp_parity.py --ltp /opt/ltp --src /work/ltp-src --dir 'fcntl' --json out.json
    python bench/ltp_parity.py --ltp /opt/ltp --all --recheck 3 --json all.json
    python bench/ltp_parity.py --ltp /opt/ltp --same-as old.json --compare old.json

``--same-as`` runs the tests an earlier ``--json`` holds; ``--compare`` then says, test by
test, where this run's verdicts, exit statuses or summaries differ from that one's (a new
difference is a regression of parity; one gone, a fix).  The JSON says which stop loop ran
(``SYSTRACE_NO_CLOOP=1``: the Python one) and the commit.

The pure parts (parsing the summary, comparing two results and two rounds, reading a runtest
file) are
tested by tests/engine/test_ltp_runner.py so the runner cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import dataclasses
import fcntl
import fnmatch
import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: the one directory the policy refuses: no LTP test uses it, so a difference is never the rule
DENIED_DIR = "/srv/systrace-parity-deny"
POLICY = f"""\
# LTP parity: everything permitted but one directory no test touches.
default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "{DENIED_DIR}/**"
action = "never"
errno = "EACCES"
"""



def lifting_policy(calls: Sequence[str]) -> str:
    """The parity policy with a rule that permits ``calls`` by name first: the rule that lifts
    the engine's refusal of calls unsafe under a policy that does not name them."""
    names = ", ".join(json.dumps(c) for c in calls)
    head, rules = POLICY.split("[[rule]]", 1)
    return (f"{head}[[rule]]\ncalls = [{names}]\naction = \"permit\"\n\n[[rule]]{rules}")


#: an exit status (LTP's flags) that our wall-clock timeout gave, not the test
TIMEOUT = -1000
#: how many of a run's result lines (TFAIL, TBROK, TWARN, systrace's own) are kept for the report
KEPT_LINES = 12

_SUMMARY_KEYS = ("passed", "failed", "broken", "skipped", "warnings")
_SUMMARY_RE = re.compile(r"^(passed|failed|broken|skipped|warnings)\s+(\d+)\s*$", re.M)
#: the old library's result lines: "name    1  TPASS  :  text"
_OLD_RESULT_RE = re.compile(r"^\S+\s+\d+\s+T(PASS|FAIL|BROK|CONF|WARN)\s+:", re.M)
#: the new library's result lines: "file.c:12: TFAIL: text" (also "tst_test.c:..: TBROK: ...")
_NEW_RESULT_RE = re.compile(r"^[^\s:]+:\d+: T(PASS|FAIL|BROK|CONF|WARN): ", re.M)
_OLD_KEY = {"PASS": "passed", "FAIL": "failed", "BROK": "broken", "CONF": "skipped",
            "WARN": "warnings"}
_INTERESTING_RE = re.compile(r"T(FAIL|BROK|WARN)|^systrace: |Test killed|timed out", re.M)


@dataclasses.dataclass(frozen=True)
class Summary:
    """What one run of one test reported: LTP's five counts and where they were read from."""
    passed: int = 0
    failed: int = 0
    broken: int = 0
    skipped: int = 0
    warnings: int = 0
    #: "summary" (the new library's block), "lines" (counted result lines), "none"
    source: str = "none"

    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.passed, self.failed, self.broken, self.skipped, self.warnings)

    def short(self) -> str:
        return "P{} F{} B{} S{} W{}".format(*self.counts())


def parse_summary(output: str) -> Summary:
    """LTP's counts from a test's combined output.

    The new library (tst_test) ends with a ``Summary:`` block; a test that forks its checks
    can print several result lines per count, so the block is what the library itself
    counted and is preferred.  The old library (tst_res) has no block: its result lines are
    counted.  A run that printed neither (a crash before the library started) is all zeros
    with source "none", which compares equal only to another such run.
    """
    block = output.rfind("\nSummary:\n")
    if block < 0 and output.startswith("Summary:\n"):
        block = 0
    if block >= 0:
        found = dict.fromkeys(_SUMMARY_KEYS, 0)
        for key, value in _SUMMARY_RE.findall(output[block:]):
            found[key] = int(value)
        return Summary(**found, source="summary")
    counts = dict.fromkeys(_SUMMARY_KEYS, 0)
    seen = False
    for regex in (_OLD_RESULT_RE, _NEW_RESULT_RE):
        for kind in regex.findall(output):
            counts[_OLD_KEY[kind]] += 1
            seen = True
    return Summary(**counts, source="lines" if seen else "none")


@dataclasses.dataclass
class RunResult:
    """One run of one test: its exit status (negative: a signal; TIMEOUT: ours), its summary."""
    status: int
    summary: Summary
    seconds: float
    #: the lines worth reading when the two runs differ (failures, breakages, systrace's notes)
    notes: list[str] = dataclasses.field(default_factory=list)
    #: the calls systrace said it refused ("systrace: refused N calls"), traced runs only
    refused: int = 0

    def key(self) -> tuple[int, tuple[int, int, int, int, int]]:
        return (self.status, self.summary.counts())

    def short(self) -> str:
        status = "timeout" if self.status == TIMEOUT else str(self.status)
        return f"exit {status} {self.summary.short()}"


def same(native: RunResult, traced: RunResult) -> bool:
    """Whether the traced run reported what the native one did: exit status and every count."""
    return native.key() == traced.key()


_REFUSED_RE = re.compile(r"^systrace: (?:refused|dry run:) (\d+) calls?", re.M)


def refused_calls(output: str) -> int:
    """The refusals systrace counted, from its closing line ("systrace: refused 3 calls")."""
    match = _REFUSED_RE.search(output)
    return int(match.group(1)) if match else 0


def interesting_lines(output: str, limit: int = KEPT_LINES) -> list[str]:
    """The lines that explain a difference: failures, breakages, warnings, systrace's notes."""
    lines = [line for line in output.splitlines() if _INTERESTING_RE.search(line)]
    return lines[:limit]


@dataclasses.dataclass(frozen=True)
class Test:
    """One line of a runtest file: the name LTP knows the test by and its command."""
    name: str
    argv: tuple[str, ...]


def parse_runtest(text: str) -> list[Test]:
    """A runtest file's tests, in order: ``name command [args...]``; ``#`` comments, blanks."""
    tests: list[Test] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        if len(words) >= 2:
            tests.append(Test(words[0], tuple(words[1:])))
    return tests


def select(tests: Sequence[Test], patterns: Sequence[str]) -> list[Test]:
    """The tests whose name matches one of the shell patterns (all of them without any)."""
    if not patterns:
        return list(tests)
    return [t for t in tests if any(fnmatch.fnmatchcase(t.name, p) for p in patterns)]


# --- running (not pure: needs an LTP build) -------------------------------------------------


@dataclasses.dataclass
class Layout:
    """Where an LTP build keeps its binaries, data and runtest file."""
    root: Path
    bindirs: list[Path]
    runtest: Path
    #: the source tree (for needs_root and for which directory a test lives in), if known
    src: Path | None

    @classmethod
    def find(cls, ltp: Path, src: Path | None) -> Layout:
        installed = ltp / "testcases" / "bin"
        if installed.is_dir():
            bindirs = [installed]
        else:
            syscalls = ltp / "testcases" / "kernel" / "syscalls"
            if not syscalls.is_dir():
                sys.exit(f"ltp_parity: {ltp} is neither an LTP install (testcases/bin) nor a "
                         "built source tree (testcases/kernel/syscalls)")
            bindirs = sorted(p for p in syscalls.rglob("*") if p.is_dir())
            bindirs.append(ltp / "testcases" / "lib")
            src = src or ltp
        runtest = ltp / "runtest" / "syscalls"
        if not runtest.is_file() and src is not None:
            runtest = src / "runtest" / "syscalls"
        return cls(ltp, bindirs, runtest, src)

    def binary(self, command: str) -> Path | None:
        for d in self.bindirs:
            candidate = d / command
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        return None

    def source_dir(self, command: str) -> Path | None:
        """The syscalls directory holding the test's source ``command.c``."""
        if self.src is None:
            return None
        base = re.sub(r"_64$", "", command)
        for c in (self.src / "testcases" / "kernel" / "syscalls").glob(f"*/{base}.c"):
            return c.parent
        return None

    def needs_root(self, command: str) -> bool | None:
        directory = self.source_dir(command)
        if directory is None:
            return None
        text = (directory / (re.sub(r"_64$", "", command) + ".c")).read_text(errors="replace")
        return bool(re.search(r"\.needs_root\s*=\s*1", text)) or "tst_require_root" in text


@functools.cache
def default_signals() -> tuple[str, ...]:
    """The prefix that starts both runs with every signal at its default action, as LTP's
    tests expect (none where env has no --default-signal).  A runner started under ``nohup``
    (or as a shell's background job) has SIGHUP (SIGINT, SIGQUIT) ignored, which a program
    inherits through the exec -- natively and, as natively, traced -- and ``kill11``'s child
    then survives the SIGHUP it is sent: the test hangs (natively "out of time" in every
    round before round 5).  A shell cannot reset a signal ignored on entry; coreutils' env
    can."""
    try:
        works = subprocess.run(["env", "--default-signal", "true"],
                               capture_output=True).returncode == 0
    except OSError:
        works = False
    return ("env", "--default-signal", "--") if works else ()


_children: set[int] = set()
_children_lock = threading.Lock()
#: set on ^C: a run asked for after it does not start
_stopping = threading.Event()


class Stopped(Exception):
    """The runner was interrupted: this test's remaining runs are not made."""


def run_once(argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float,
             traced: bool) -> RunResult:
    """Run argv in its own session; past ``timeout`` the whole session is killed."""
    started = time.monotonic()
    with _children_lock:
        if _stopping.is_set():
            raise Stopped
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        _children.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        with _children_lock:
            _kill_session(proc.pid)
        out, _ = proc.communicate()
        status = TIMEOUT
    finally:
        with _children_lock:
            _children.discard(proc.pid)
    text = out.decode(errors="replace")
    return RunResult(status, parse_summary(text), round(time.monotonic() - started, 2),
                     interesting_lines(text), refused_calls(text) if traced else 0)


def _kill_session(pid: int) -> None:
    """Kill the session ``pid`` leads: its process group, and the processes of the session
    that made groups of their own (LTP's fuzzy-sync tests do)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 3 and fields[3] == str(pid):  # (state, ppid, pgrp, session, ...)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


LOOP_CLR_FD = 0x4C01  # linux/loop.h
MNT_DETACH = 2


def mounts_under(mountinfo: str, directory: Path) -> list[str]:
    """The mount points ``mountinfo`` (/proc/self/mountinfo's text) names under ``directory``,
    the last mounted first (a mount on a mount comes after it).

    A run killed past the runner's limit never reaches LTP's cleanup: round 24's
    ``renameat01`` (the old library) left its loop device mounted read-only in its TMPDIR,
    six times -- mounts of the host's table every tracer on the machine then saw (a change of
    the mount table hands a path stop to Python), and loop devices the next tests lacked."""
    root = str(directory).rstrip("/") + "/"
    points = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(root):
                points.append(point)
    return points[::-1]


def loops_backed_under(sys_block: Path, directory: Path) -> list[str]:
    """The loop devices (``/dev/loopN``) whose backing file is under ``directory``, by
    ``sys_block`` (/sys/block): LTP's ``test_dev.img`` of a run that never detached it."""
    root = str(directory).rstrip("/") + "/"
    devices = []
    for backing in sorted(sys_block.glob("loop*/loop/backing_file")):
        with contextlib.suppress(OSError):
            name = backing.read_text().rstrip("\n").removesuffix(" (deleted)")
            if name.startswith(root):
                devices.append(f"/dev/{backing.parent.parent.name}")
    return devices


def release_leftovers(tmp: Path) -> None:
    """Unmount what a run left mounted under its TMPDIR (lazily: a process of the run may
    still hold it) and detach the loop devices backed by its files (a busy one detaches once
    free: LOOP_CLR_FD sets autoclear)."""
    try:
        with open("/proc/self/mountinfo") as f:
            points = mounts_under(f.read(), tmp)
    except OSError:
        points = []
    if points:
        libc = ctypes.CDLL(None, use_errno=True)
        for point in points:
            libc.umount2(os.fsencode(point), MNT_DETACH)
    for device in loops_backed_under(Path("/sys/block"), tmp):
        with contextlib.suppress(OSError):
            fd = os.open(device, os.O_RDONLY)
            try:
                fcntl.ioctl(fd, LOOP_CLR_FD)
            finally:
                os.close(fd)


def run_tmpdir(workroot: Path, name: str) -> Path:
    """A fresh TMPDIR for one run of test ``name``, with /tmp's mode (world-writable, sticky).

    The old library's tests that switch to "nobody" before ``tst_tmpdir`` (``symlink03``)
    make their directory in TMPDIR as that user: under a directory only root may write
    (0755, before round 22) they broke natively and traced alike -- "mkdtemp ... EACCES" --
    identical, and testing nothing.  The new library makes its directory as root first and
    sets its mode itself, so it does not care."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=workroot))
    tmp.chmod(0o1777)
    return tmp


@dataclasses.dataclass
class Outcome:
    """One test's two runs, whether they agree, and the rechecks of a difference."""
    name: str
    argv: list[str]
    native: RunResult | None
    traced: RunResult | None
    identical: bool
    missing: bool = False
    needs_root: bool | None = None
    directory: str | None = None
    #: rechecks of a difference: more native runs and one more traced run
    native_rechecks: list[RunResult] = dataclasses.field(default_factory=list)
    traced_recheck: RunResult | None = None
    #: the traced run under the lifting policy (--lift), when the first differed
    lifted: RunResult | None = None
    #: "identical"; "flake" when the native side varies or a re-run agrees; "lifted" when the
    #: lifting policy's run agrees where a traced run refused calls (lift_verdict); else
    #: "differs" ("missing": no such binary)
    verdict: str = ""


def run_test(test: Test, layout: Layout, systrace: list[str], policy: Path,
             opts: argparse.Namespace, workroot: Path, lift: Path | None) -> Outcome:
    binary = layout.binary(test.argv[0])
    src_dir = layout.source_dir(test.argv[0])
    base = Outcome(test.name, list(test.argv), None, None, False,
                   needs_root=layout.needs_root(test.argv[0]),
                   directory=src_dir.name if src_dir else None)
    if binary is None:
        base.missing = True
        base.verdict = "missing"
        return base
    argv = [str(binary), *test.argv[1:]]

    def once(traced: bool, policy: Path = policy) -> RunResult:  # Stopped on ^C
        tmp = run_tmpdir(workroot, test.name)
        env = dict(os.environ)
        env.update({
            "TMPDIR": str(tmp),
            "LTPROOT": str(layout.root),
            "PATH": os.pathsep.join([*(str(d) for d in layout.bindirs),
                                     os.environ.get("PATH", "/usr/bin:/bin")]),
            "LTP_TIMEOUT_MUL": str(opts.timeout_mul),
            "LTP_RUNTIME_MUL": str(opts.runtime_mul),
            "LTP_COLORIZE_OUTPUT": "0",
        })
        command = [*default_signals(), *([*systrace, "-p", str(policy), "--"] if traced else []),
                   *argv]
        try:
            return run_once(command, env, binary.parent, opts.timeout, traced)
        finally:
            release_leftovers(tmp)
            shutil.rmtree(tmp, ignore_errors=True)

    base.native = once(False)
    base.traced = once(True)
    base.identical = same(base.native, base.traced)
    if base.identical:
        base.verdict = "identical"
        return base
    base.verdict = "differs"
    if opts.recheck:
        base.native_rechecks = [once(False) for _ in range(opts.recheck)]
        base.traced_recheck = once(True)
        natives = [base.native, *base.native_rechecks]
        if (len({r.key() for r in natives}) > 1
                or any(same(r, base.traced_recheck) for r in natives)):
            base.verdict = "flake"
    if base.verdict == "differs" and lift is not None:
        base.lifted = once(True, lift)
        if same(base.native, base.lifted):
            base.verdict = lift_verdict(base.traced, base.traced_recheck)
    return base


def lift_verdict(*traced: RunResult | None) -> str:
    """The verdict of a difference the lifting policy's run agreed with: "lifted" when a traced
    run refused calls (the refusals the lifting rule permits), else "flake" -- with nothing
    refused there was nothing to lift, and the agreeing run was one more traced run (a test
    LTP's own timeout killed twice under load, then not: round 23's ``open04``)."""
    return "lifted" if any(r is not None and r.refused for r in traced) else "flake"


def _sides(outcome: dict[str, object]) -> dict[str, str]:
    """What a round's JSON outcome says of each run that happened: "exit S Pn Fn Bn Sn Wn"."""
    sides: dict[str, str] = {"verdict": str(outcome["verdict"])}
    for side in ("native", "traced", "lifted"):
        run = outcome.get(side)
        if isinstance(run, dict):
            summary = run["summary"]
            counts = " ".join(f"{k[0].upper()}{summary[k]}" for k in
                              ("passed", "failed", "broken", "skipped", "warnings"))
            status = "timeout" if run["status"] == TIMEOUT else str(run["status"])
            sides[side] = f"exit {status} {counts}"
    return sides


def changes(old: dict[str, object], new: dict[str, object]) -> list[str]:
    """Test by test, where two rounds' JSON (``--json``) differ: a verdict, or an exit status
    or summary of a native, traced or lifted run (one that ran in only one of them counts);
    and the tests only one of them ran."""
    def outcomes(data: dict[str, object]) -> dict[str, dict[str, object]]:
        listed = data["outcomes"]
        assert isinstance(listed, list)
        return {o["name"]: o for o in listed}
    before, after = outcomes(old), outcomes(new)
    lines = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after or name not in before:
            lines.append(f"{name}: only in the {'earlier' if name in before else 'new'} round")
            continue
        was, now = _sides(before[name]), _sides(after[name])
        lines.extend(f"{name}: {key} {was.get(key, '-')} -> {now.get(key, '-')}"
                     for key in ("verdict", "native", "traced", "lifted")
                     if was.get(key) != now.get(key))
    return lines


def _print_table(outcomes: Iterable[Outcome], out: object = sys.stdout) -> None:
    rows = [("test", "native", "traced", "verdict")]
    for o in outcomes:
        rows.append((o.name, o.native.short() if o.native else "-",
                     o.traced.short() if o.traced else "-", o.verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)  # type: ignore[call-overload]


def _commit() -> str | None:
    """The commit of the code under test (with "+" when the tree has changes), if git says."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("patterns", nargs="*", help="test names (shell patterns) from the runtest file")
    ap.add_argument("--ltp", type=Path, default=Path("/opt/ltp"),
                    help="LTP install prefix or built source tree (default /opt/ltp)")
    ap.add_argument("--src", type=Path, help="LTP source tree (for needs_root and directories)")
    ap.add_argument("--runtest", type=Path, help="runtest file (default LTP's runtest/syscalls)")
    ap.add_argument("--dir", action="append", default=[], metavar="GLOB",
                    help="only tests whose source is in a syscalls directory matching GLOB")
    ap.add_argument("--all", action="store_true", help="every test of the runtest file")
    ap.add_argument("--skip", action="append", default=[], metavar="PATTERN",
                    help="leave out tests matching PATTERN")
    ap.add_argument("--timeout", type=float, default=180.0, help="wall-clock limit per run (s)")
    ap.add_argument("--timeout-mul", type=float, default=2.0, help="LTP_TIMEOUT_MUL for both runs")
    ap.add_argument("--runtime-mul", type=float, default=0.25,
                    help="LTP_RUNTIME_MUL for both runs (shortens tests that loop for a time)")
    ap.add_argument("--recheck", type=int, default=0, metavar="N",
                    help="for a difference, N more native runs and one more traced run")
    ap.add_argument("--lift", action="store_true",
                    help="for a difference, one more traced run with a rule naming the calls "
                         "the engine refuses as unsafe (shows a rule lifts the refusal)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="tests run at once (default 1)")
    ap.add_argument("--systrace", default=f"{shlex.quote(sys.executable)} -m systrace_py",
                    help="the systrace command (default: this Python's -m systrace_py)")
    ap.add_argument("--json", type=Path, help="write every outcome here")
    ap.add_argument("--same-as", type=Path, metavar="JSON",
                    help="run the tests an earlier --json holds (besides any named)")
    ap.add_argument("--compare", type=Path, metavar="JSON",
                    help="say, test by test, where this run differs from an earlier --json")
    opts = ap.parse_args(argv)
    if opts.same_as:
        opts.patterns += [o["name"] for o in json.loads(opts.same_as.read_text())["outcomes"]]
    if not (opts.patterns or opts.dir or opts.all):
        ap.error("name tests (patterns), --dir GLOB, --same-as JSON, or --all")
    earlier = json.loads(opts.compare.read_text()) if opts.compare else None

    layout = Layout.find(opts.ltp, opts.src)
    runtest = opts.runtest or layout.runtest
    tests = select(parse_runtest(runtest.read_text()), opts.patterns)
    if opts.dir:
        tests = [t for t in tests
                 if (d := layout.source_dir(t.argv[0])) is not None
                 and any(fnmatch.fnmatchcase(str(d.relative_to(layout.src or d)), g)
                         or fnmatch.fnmatchcase(d.name, g) for g in opts.dir)]
    if opts.skip:
        tests = [t for t in tests if not any(fnmatch.fnmatchcase(t.name, p) for p in opts.skip)]
    if not tests:
        print("ltp_parity: no test selected", file=sys.stderr)
        return 2

    workroot = Path(tempfile.mkdtemp(prefix="ltp-parity."))
    workroot.chmod(0o755)
    policy = workroot / "policy.toml"
    policy.write_text(POLICY)
    lift: Path | None = None
    if opts.lift:
        sys.path.insert(0, str(REPO))
        from systrace_py.policy.aliases import UNSAFE_CALLS
        from systrace_py.policy.filterplan import CALLOUT_CALLS, CORE_CALLS
        # (naming CORE_CALLS grants core dumps, CALLOUT_CALLS the kernel's key helper)
        lift = workroot / "lift.toml"
        lift.write_text(lifting_policy(sorted(UNSAFE_CALLS | CORE_CALLS | CALLOUT_CALLS)))
    systrace = shlex.split(opts.systrace)
    env_pp = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + env_pp if env_pp else "")

    outcomes: dict[str, Outcome] = {}
    started = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        futures = {pool.submit(run_test, t, layout, systrace, policy, opts, workroot, lift): t
                   for t in tests}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            o = future.result()
            outcomes[o.name] = o
            if o.verdict not in ("identical",):
                print(f"[{done}/{len(tests)}] {o.name}: {o.verdict} "
                      f"(native {o.native.short() if o.native else '-'}, "
                      f"traced {o.traced.short() if o.traced else '-'})",
                      file=sys.stderr, flush=True)
            elif done % 50 == 0:
                print(f"[{done}/{len(tests)}] ...", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        _stopping.set()  # no new run starts; the running ones are killed
        with _children_lock:
            for pid in list(_children):
                _kill_session(pid)
        print("ltp_parity: interrupted; reporting what finished", file=sys.stderr)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(workroot, ignore_errors=True)

    ordered = [outcomes[t.name] for t in tests if t.name in outcomes]
    _print_table(ordered)
    counts: dict[str, int] = {}
    for o in ordered:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    print()
    print(f"{len(ordered)} tests in {time.monotonic() - started:.0f}s: "
          + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    differences = [o for o in ordered if o.verdict in ("differs", "flake", "lifted")]
    if differences:
        print("\ndifferences:")
        for o in differences:
            assert o.native is not None and o.traced is not None
            root = {True: " (needs root)", False: "", None: ""}[o.needs_root]
            print(f"- {o.name}{root} [{o.directory}]: {o.verdict}; native {o.native.short()}, "
                  f"traced {o.traced.short()}, systrace refused {o.traced.refused}")
            if o.lifted is not None:
                print(f"    lifted: {o.lifted.short()}")
            for line in o.traced.notes:
                print(f"    traced: {line}")
            for line in o.native.notes[:4]:
                print(f"    native: {line}")
    result = {
        "kernel": os.uname().release,
        "uid": os.getuid(),
        "loop": "python" if os.environ.get("SYSTRACE_NO_CLOOP") == "1" else "native",
        "commit": _commit(),
        "policy": POLICY,
        "options": {"timeout": opts.timeout, "timeout_mul": opts.timeout_mul,
                    "runtime_mul": opts.runtime_mul, "recheck": opts.recheck,
                    "jobs": opts.jobs},
        "counts": counts,
        "outcomes": [dataclasses.asdict(o) for o in ordered],
    }
    if opts.json:
        opts.json.write_text(json.dumps(result, indent=1) + "\n")
    if earlier is not None:
        changed = changes(earlier, result)
        print(f"\nagainst {opts.compare}: " + ("no change" if not changed else
                                                f"{len(changed)} changes"))
        for line in changed:
            print(f"  {line}")
    return 0 if not any(o.verdict == "differs" for o in ordered) else 1


if __name__ == "__main__":
    sys.exit(main())
