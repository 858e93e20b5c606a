#!/usr/bin/env python3
"""Side-by-side timings: native, strace -f --seccomp-bpf, and systrace, in one run.

Each workload runs natively, under ``strace -f -qq --seccomp-bpf -e trace=%file -o /dev/null``,
and under systrace with three policies: ``paths`` (bench/policies/paths.toml: path rules on
fsread/fswrite, so every file call stops), ``net`` (bench/policies/network.toml: one network rule,
file calls never stop) and ``learned`` (the policy ``systrace -A`` learned from that very
workload, run once before the timings: the everyday "learn, then enforce" case of issue 16);
optionally also with argument holding off (``--defences``).  Every configuration runs
``--repeat`` times, interleaved, and the median wall time is reported with ratios.

The workloads: start-up (``/bin/true``), find, python imports, tar, a shell loop of 100
``/bin/true``, and a real build: ``make -j2`` of a generated C project (60 files that include
25 standard headers each, compiled with -O2 and linked: gcc's header searches are most of a
build's file calls).  A separate row measures start-up *to the program's exec*: a small C
program prints CLOCK_MONOTONIC as its main() begins, against the clock read just before the
command was started; as root it is measured again under SCHED_FIFO (``chrt -f 10``), which
takes out the time spent queued behind other processes on a loaded VM: what is left is what
start-up costs.

The start-up rows have one more column, ``systrace (resident)``: the ``paths`` run handed to a
resident tracer (``systrace --resident``, started for the bench in a private runtime directory
and stopped after it), and every workload one more configuration, ``systrace learned,
resident``: its learned policy enforced by that resident tracer; every other systrace run is in
process (SYSTRACE_NO_RESIDENT=1), so a resident tracer the user runs changes nothing here.

systrace runs as users run it: the ``systrace`` command of the install README's first command
makes (``python3 -m venv .venv && .venv/bin/pip install -q .``), of this tree's sources, built
once per source tree (keyed by the hash of what ``pip install .`` copies, in
``$XDG_CACHE_HOME/systrace-bench/``, ~1-2 minutes the first time) -- not the development venv
the bench itself runs from, whose editable install's finder ``site`` imports at every start
(~4 ms more).  ``--install dev`` measures the development tree instead, as ``python -S`` with
its package and site-packages on sys.path (no ``site``: ~2.5 ms less than the command users
run).  The report's first line says which was measured.  Each systrace run has ``--stats``:
stops and the tracer's own CPU time and peak RSS are reported from it.

The VM regime matters (../shared/PERF-FACTS.md): on an idle 2-vCPU VM each ptrace stop costs
~10x what it costs when the other vCPU is busy.  The bench measures the CPU time other
processes used during the run and names the regime (busy: others used >= 0.5 CPU on average);
``--burn`` keeps every CPU busy with niced burners (busy regime on purpose), ``--regime`` names
it by hand.

    python bench/run_bench.py [--repeat 7] [--build-repeat 3] [--markdown] [--json out.json]
                              [--defences] [--python-loop] [--burn] [--regime busy|idle]
                              [--quick] [--smoke] [--startup-only] [--only TEXT]
                              [--install user|dev]

``--only make`` runs the build row alone (every configuration, no start-up to exec rows): a
few minutes, for before/after comparisons of what a build costs the tracer.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: systrace paths on the pure-Python stop loop (the native one turned off)
PYTHON_LOOP = "systrace paths, Python loop"
#: a workload that does nothing: what each configuration costs before the program runs
STARTUP = "/bin/true (start-up only)"
RESIDENT = "systrace (resident)"
#: the learned policy enforced by a resident tracer (the everyday case with fast starts)
LEARNED_RESIDENT = "systrace learned, resident"
BUILD = "make -j2, generated C project (60 units; --quick: 6)"
PY_IMPORTS = ("import json, csv, email.parser, http.client, xml.dom.minidom, sqlite3, decimal,"
              " argparse, asyncio, logging, subprocess, urllib.request, zipfile, tarfile")
SYSTRACE_CONFIGS = ("systrace paths", "systrace net", "systrace learned", LEARNED_RESIDENT)
STATS = re.compile(r"(\d+) stops(?: \(\d+ decided natively\))?, (\d+) decisions, "
                   r".*tracer CPU ([\d.]+)s"
                   r"(?:, tracer RSS ([\d.]+) MiB)?")

#: the headers every generated unit includes (gcc looks each up along its include path)
HEADERS = ("stdio.h", "stdlib.h", "string.h", "math.h", "time.h", "errno.h", "ctype.h",
           "limits.h", "stdint.h", "inttypes.h", "signal.h", "unistd.h", "fcntl.h",
           "sys/stat.h", "sys/types.h", "pthread.h", "locale.h", "wchar.h", "stdarg.h",
           "assert.h", "float.h", "setjmp.h", "sys/time.h", "sys/wait.h", "dirent.h")

STAMP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    return 0;
}
"""


# --- the generated build ---------------------------------------------------------------------

def _unit(i: int, funcs: int) -> str:
    lines = [f"#include <{h}>" for h in HEADERS] + ['#include "common.h"', "",
                                                    f"static double table_{i}[256];"]
    for k in range(funcs):
        lines.append(f"""
static uint64_t mix_{i}_{k}(uint64_t x, const char *s)
{{
    size_t n = strlen(s);
    for (size_t j = 0; j < n; j++) {{
        x ^= (uint64_t)(unsigned char)s[j] << ((j * {k + 3}) % 56);
        x *= 0x9E3779B97F4A7C15ULL;
        switch ((x >> 7) % 5) {{
        case 0: x += (uint64_t)sqrt((double)(x & 0xffff)); break;
        case 1: x ^= x >> {k % 31 + 1}; break;
        case 2: table_{i}[x & 255] += sin((double)j); break;
        case 3: x = (x << 3) | (x >> 61); break;
        default: x += (uint64_t)table_{i}[(x >> 3) & 255];
        }}
    }}
    return x + (uint64_t)n * {k + i};
}}""")
    calls = " + ".join(f"mix_{i}_{k}(seed, name)" for k in range(funcs))
    lines.append(f"""
uint64_t unit_{i}(uint64_t seed, const char *name)
{{
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%d", name, {i});
    return {calls} + common_hash(buf);
}}
""")
    return "\n".join(lines)


def make_project(root: Path, units: int, funcs: int = 12) -> Path:
    """A C project of ``units`` + 2 files (each unit includes 25 standard headers), with a
    Makefile building a program from it; ``make -B`` rebuilds it all every run."""
    (root / "src").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "include" / "common.h").write_text(
        "#include <stdint.h>\n#include <stddef.h>\n"
        "uint64_t common_hash(const char *s);\n"
        + "".join(f"uint64_t unit_{i}(uint64_t seed, const char *name);\n"
                  for i in range(units)))
    (root / "src" / "common.c").write_text(
        '#include <string.h>\n#include "common.h"\n'
        "uint64_t common_hash(const char *s)\n{\n    uint64_t h = 1469598103934665603ULL;\n"
        "    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;\n    return h;\n}\n")
    (root / "src" / "main.c").write_text(
        '#include <stdio.h>\n#include "common.h"\nint main(void)\n{\n    uint64_t h = 0;\n'
        + "".join(f'    h += unit_{i}(h, "bench");\n' for i in range(units))
        + '    printf("%llu\\n", (unsigned long long)h);\n    return 0;\n}\n')
    for i in range(units):
        (root / "src" / f"unit_{i:03d}.c").write_text(_unit(i, funcs))
    (root / "Makefile").write_text(
        "CC ?= cc\nCFLAGS ?= -O2 -Wall\nSRCS := $(wildcard src/*.c)\n"
        "OBJS := $(SRCS:.c=.o)\n\nprog: $(OBJS)\n\t$(CC) -o $@ $^ -lm -lpthread\n\n"
        "src/%.o: src/%.c include/common.h\n\t$(CC) $(CFLAGS) -Iinclude -c $< -o $@\n")
    return root


# --- workloads and configurations ------------------------------------------------------------

def workloads(tmp: Path, quick: bool, smoke: bool = False) -> dict[str, list[str]]:
    # the interpreter itself, not a wrapper script (pyenv's shims run bash and pyenv first)
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    project = make_project(tmp / "project", 2 if smoke else 6 if quick else 60)
    loads = {
        STARTUP: ["/bin/true"],
        "find /usr/include -name '*.h'": ["find", "/usr/include", "-name", "*.h"],
        "python3 stdlib imports": [python, "-c", PY_IMPORTS],
        "tar cf of /usr/include/linux": ["tar", "cf", str(tmp / "out.tar"), "-C", "/usr/include",
                                         "linux"],
        "100 x /bin/true in sh": ["sh", "-c", "i=0; while [ $i -lt 100 ]; do /bin/true; "
                                  "i=$((i+1)); done"],
        BUILD: ["make", "-s", "-B", "-j2", "-C", str(project)],
    }
    if quick:
        return {name: loads[name] for name in (STARTUP, "find /usr/include -name '*.h'", BUILD)}
    return loads


def dev_prefix() -> list[str]:
    """systrace of the development tree as ``python -S``, its package and this interpreter's
    site-packages on sys.path (``--install dev``: no ``site``, so no editable finder)."""
    paths = [str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = ("import sys; sys.path[:0] = " + repr(list(dict.fromkeys(paths)))
            + "; from systrace_py.__main__ import main; sys.exit(main())")
    return [os.path.realpath(sys.executable), "-S", "-c", code]


#: an install the bench made and has not used for this long is removed
UNUSED_INSTALL_DAYS = 7
#: what ``pip install .`` reads from the tree (the package, its build files, its data files)
INSTALL_SOURCES = ("pyproject.toml", "setup.py", "README.md", "systrace_py", "man",
                   "completions", "scripts")


def install_sources() -> list[Path]:
    """The tree's files an install is made of: no bytecode, built extension or start-up
    cache (they are not sources, and a run writes them)."""
    files: list[Path] = []
    for name in INSTALL_SOURCES:
        path = REPO / name
        if path.is_dir():
            files += sorted(p for p in path.rglob("*")
                            if p.is_file() and "__pycache__" not in p.parts
                            and p.suffix not in (".pyc", ".so", ".marshal", ".tmp"))
        elif path.is_file():
            files.append(path)
    return files


def user_install(env: dict[str, str]) -> Path:
    """The venv README's first command makes (``python3 -m venv .venv && .venv/bin/pip install
    -q .``) of this tree's sources, with the interpreter the bench runs on: made once per
    source tree and interpreter, under ``$XDG_CACHE_HOME/systrace-bench/install-HASH`` (the
    sources are copied first: the build leaves nothing in the tree); one unused for
    UNUSED_INSTALL_DAYS is removed.  Returns the venv."""
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    files = install_sources()
    digest = hashlib.sha256(python.encode() + b"\0")
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "systrace-bench"
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / f"install-{digest.hexdigest()[:20]}"
    with open(cache / f"{venv.name}.lock", "w") as lock:  # (two benches of one tree)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "installed").exists():
            shutil.rmtree(venv, ignore_errors=True)  # (a build that was interrupted)
            print(f"making the install users get (pip install .) in {venv}", file=sys.stderr)
            with tempfile.TemporaryDirectory() as src:
                for path in files:
                    copy = Path(src) / path.relative_to(REPO)
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, copy)
                subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env)
                subprocess.run([str(venv / "bin" / "pip"), "install", "-q", src], check=True,
                               env=env)
            (venv / "installed").write_text(python + "\n")
        os.utime(venv / "installed")  # (last used: what the pruning below goes by)
    for old in cache.glob("install-*/installed"):  # (~60 MB each: one per tree benched)
        with contextlib.suppress(OSError):  # (another bench's pruning)
            if time.time() - old.stat().st_mtime > UNUSED_INSTALL_DAYS * 86400:
                shutil.rmtree(old.parent, ignore_errors=True)
    found = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import systrace_py; print(systrace_py.__file__)"],
                           capture_output=True, text=True, env=env,
                           cwd=venv).stdout.strip()  # (not the tree's cwd: -c searches it)
    if not found.startswith(str(venv) + "/"):
        raise SystemExit(f"the install in {venv} imports systrace from {found or 'nowhere'}")
    return venv


def configurations(prefix: list[str], defences: bool, learned: Path,
                   python_loop: bool = False) -> dict[str, list[str]]:
    systrace = [*prefix, "--stats"]
    configs = {
        "native": [],
        "strace": ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o",
                   "/dev/null"],
        "systrace paths": [*systrace, "-p", str(HERE / "policies" / "paths.toml"), "--"],
        "systrace net": [*systrace, "-p", str(HERE / "policies" / "network.toml"), "--"],
        "systrace learned": [*systrace, "-p", str(learned), "--"],
    }
    if defences:
        configs["systrace paths, no holding"] = ["env", "SYSTRACE_NO_HOLD=1",
                                                 *configs["systrace paths"]]
    if python_loop:
        configs[PYTHON_LOOP] = ["env", "SYSTRACE_NO_CLOOP=1", *configs["systrace paths"]]
    return configs


class Run:
    """One timed run: wall seconds, and systrace's --stats when it printed them."""

    def __init__(self, elapsed: float, stderr: str, status: int) -> None:
        self.elapsed = elapsed
        self.status = status
        match = STATS.search(stderr)
        self.stops = int(match.group(1)) if match else None
        self.tracer_cpu = float(match.group(3)) if match else None
        self.tracer_rss = float(match.group(4)) if match and match.group(4) else None
        self.stderr = stderr


def run_once(prefix: list[str], command: list[str], env: dict[str, str]) -> Run:
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*prefix, *command], stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
        _, status, _ = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return Run(elapsed, err.read(), proc.returncode)


def time_to_exec(prefix: list[str], stamp: Path, env: dict[str, str],
                 realtime: bool = False) -> float:
    """Seconds from just before the command is started to the program's main() (with
    ``realtime``: the command runs at SCHED_FIFO priority 10)."""
    rt = ["chrt", "-f", "10"] if realtime else []
    start = time.monotonic_ns()
    out = subprocess.run([*rt, *prefix, str(stamp)], capture_output=True, text=True, env=env,
                         check=True).stdout
    return (int(out.split()[0]) - start) / 1e9


def learn(prefix: list[str], command: list[str], out: Path, env: dict[str, str]) -> None:
    base = [p for p in prefix if p != "--stats"]
    proc = subprocess.run([*base, "-q", "-A", "-o", str(out), "--", *command],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"learning failed: {' '.join(command)}: {proc.stderr.strip()[-500:]}")


@contextlib.contextmanager
def resident_tracer(prefix: list[str], env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A resident tracer (``systrace --resident``) in a private runtime directory for the
    time of the block: the environment whose runs it takes."""
    runtime = tempfile.mkdtemp(prefix="systrace-bench-")  # (short: a socket's path)
    resident_env = {**env, "XDG_RUNTIME_DIR": runtime}
    resident_env.pop("SYSTRACE_NO_RESIDENT", None)
    base = [p for p in prefix if p != "--stats"]
    subprocess.run([*base, "--resident", "--resident-idle", "3600"], env=resident_env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield resident_env
    finally:
        subprocess.run([*base, "--resident", "stop"], env=resident_env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(runtime, ignore_errors=True)


# --- the VM regime ---------------------------------------------------------------------------

def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def own_cpu() -> float:
    me = os.times()
    return me.user + me.system + me.children_user + me.children_system


def start_burners() -> list[subprocess.Popen[bytes]]:
    """One niced busy loop per CPU: no vCPU halts (the busy regime), and at nice 19 they take
    almost nothing from the workload when it wants the CPU."""
    return [subprocess.Popen(["nice", "-n", "19", sys.executable, "-S", "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 1)]


# --- main ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--build-repeat", type=int, default=3,
                        help="repeats of the build workload (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="one repeat of a few small workloads: does the bench run?")
    parser.add_argument("--smoke", action="store_true",
                        help="--quick, smaller still: a build of 2 units (its row keeps its "
                             "name), one round of the start-up to exec rows -- what the test "
                             "suite runs (tests/cli/test_bench_quick.py); no figure to read")
    parser.add_argument("--startup-only", action="store_true",
                        help="only the start-up to exec rows (and the bare interpreter): "
                             "a minute, for before/after comparisons of start-up work")
    parser.add_argument("--only", metavar="TEXT",
                        help="only the workloads whose name holds TEXT (\"make\": the build "
                             "row alone), and no start-up to exec rows: a before/after "
                             "comparison of one workload in minutes, not the whole bench")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument("--python-loop", action="store_true",
                        help="also run systrace paths on the pure-Python stop loop "
                             "(SYSTRACE_NO_CLOOP=1): what the native loop gains")
    parser.add_argument("--defences", action="store_true",
                        help="also run systrace with argument holding off (before/after)")
    parser.add_argument("--burn", action="store_true",
                        help="keep every CPU busy with niced burners (the busy regime)")
    parser.add_argument("--regime", choices=("busy", "idle"),
                        help="name the regime instead of measuring it")
    parser.add_argument("--install", choices=("user", "dev"), default="user",
                        help="measure the install README's first command makes (user, the "
                             "default: made once per source tree) or the development tree "
                             "as python -S (dev)")
    opts = parser.parse_args()
    if opts.only is not None and opts.startup_only:
        parser.error("--only and --startup-only: the one runs workloads, the other none")
    if opts.smoke:
        opts.quick = True
    if opts.quick:
        opts.repeat = opts.build_repeat = 1
    for tool in ("strace", "make", "cc"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed; the bench needs it", file=sys.stderr)
            return 2
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["SYSTRACE_NO_RESIDENT"] = "1"  # (in process; the resident row has its own server)
    if opts.install == "user":
        env.pop("PYTHONPATH", None)  # (the tree on it would be imported, not the install)
        venv = user_install(env)
        opts.prefix = [str(venv / "bin" / "systrace")]
        opts.measured = f"the install users get (pip install .): {opts.prefix[0]}"
    else:
        opts.prefix = dev_prefix()
        opts.measured = f"the development tree as python -S (--install dev): {REPO}"
    burners = start_burners() if opts.burn else []
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            results = bench(Path(tmpdir), opts, env)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    report(results, opts)
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=2))
    return 0


def bench(tmp: Path, opts: argparse.Namespace, env: dict[str, str]) -> dict:
    loads = {} if opts.startup_only else workloads(tmp, opts.quick, opts.smoke)
    if opts.only is not None:
        every = loads
        loads = {name: command for name, command in loads.items() if opts.only in name}
        if not loads:
            raise SystemExit(f"--only {opts.only!r} names no workload of: " + ", ".join(every))
    stamp = tmp / "stamp"
    (tmp / "stamp.c").write_text(STAMP_C)
    subprocess.run(["cc", "-O2", "-o", str(stamp), str(tmp / "stamp.c")], check=True)
    busy0, _ = cpu_jiffies()
    mine0, wall0 = own_cpu(), time.monotonic()
    learned = {name: tmp / f"learned-{i}.toml" for i, name in enumerate(loads)}
    prefix = opts.prefix
    for name, command in loads.items():  # learn each workload's policy from itself
        learn(prefix, command, learned[name], env)
    learned_rules = {name: path.read_text().count("[[") for name, path in learned.items()}
    configs = {name: configurations(prefix, opts.defences, learned[name], opts.python_loop)
               for name in loads}
    for name in loads:
        configs[name][LEARNED_RESIDENT] = configs[name]["systrace learned"]
    runs: dict[tuple[str, str], list[Run]] = {}
    if not opts.quick:
        for name, command in loads.items():  # warm caches, compile bytecode
            if name == BUILD:  # learning it warmed the caches; a round costs minutes
                continue
            for prefix_ in configs[name].values():
                run_once(prefix_, command, env)
    repeats = max(opts.repeat, opts.build_repeat)
    with resident_tracer(prefix, env) as resident_env:
        for round_ in range(repeats):
            for name, command in loads.items():
                if round_ >= (opts.build_repeat if name == BUILD else opts.repeat):
                    continue
                for config, prefix_ in configs[name].items():
                    env_ = resident_env if config == LEARNED_RESIDENT else env
                    runs.setdefault((name, config), []).append(run_once(prefix_, command, env_))
    exec_times: dict[str, list[float]] = {}
    # (--only: the workload alone, without the start-up to exec rows)
    exec_rounds = 0 if opts.only is not None else 1 if opts.smoke else max(opts.repeat, 3) * 3
    rt_times: dict[str, list[float]] = {}
    realtime = os.geteuid() == 0 and shutil.which("chrt") is not None
    exec_configs = configurations(prefix, False, tmp / "learned-stamp.toml")
    exec_configs[RESIDENT] = exec_configs["systrace paths"]
    if exec_rounds:
        learn(prefix, [str(stamp)], tmp / "learned-stamp.toml", env)
    with resident_tracer(prefix, env) if exec_rounds else contextlib.nullcontext(env) \
            as resident_env:
        for _ in range(exec_rounds):
            for config, prefix_ in exec_configs.items():
                env_ = resident_env if config == RESIDENT else env
                exec_times.setdefault(config, []).append(time_to_exec(prefix_, stamp, env_))
                if realtime:
                    rt_times.setdefault(config, []).append(
                        time_to_exec(prefix_, stamp, env_, realtime=True))
    bare = [os.path.realpath(sys.executable), "-I", "-S", "-c", "pass"]
    bare_times = [run_once(["chrt", "-f", "10"] if realtime else [], bare, env).elapsed
                  for _ in range(exec_rounds)]
    busy1, _ = cpu_jiffies()
    mine1, wall1 = own_cpu(), time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) / hz - (mine1 - mine0)) / (wall1 - wall0)
    if opts.regime:
        regime, how = opts.regime, "named with --regime"
    elif opts.burn:
        regime, how = "busy", "--burn: niced burners on every CPU"
    else:
        regime = "busy" if others >= 0.5 else "idle"
        how = f"measured: other processes used {others:.2f} CPUs on average"
    return {
        "regime": regime, "regime_how": how, "other_cpus": round(others, 3),
        "cpus": os.cpu_count(), "kernel": os.uname().release,
        "python": sys.version.split()[0], "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                  time.gmtime()),
        "repeat": opts.repeat, "build_repeat": opts.build_repeat,
        "install": opts.install, "measured": opts.measured,
        "workloads": list(loads), "configs": [*configurations(prefix, opts.defences,
                                                             tmp / "none", opts.python_loop),
                                              LEARNED_RESIDENT],
        "exec_configs": list(exec_configs),
        "learned_rules": learned_rules,
        "median_seconds": {f"{w} | {c}": statistics.median(r.elapsed for r in rs
                                                           if r.status == 0)
                           if all(r.status == 0 for r in rs) else math.nan
                           for (w, c), rs in runs.items()},
        "failures": {f"{w} | {c}": sorted({r.status for r in rs if r.status != 0})
                     for (w, c), rs in runs.items() if any(r.status != 0 for r in rs)},
        "stops": {f"{w} | {c}": rs[-1].stops for (w, c), rs in runs.items()
                  if rs[-1].stops is not None},
        "tracer_cpu_seconds": {f"{w} | {c}": statistics.median(r.tracer_cpu for r in rs
                                                               if r.tracer_cpu is not None)
                               for (w, c), rs in runs.items() if rs[-1].tracer_cpu is not None},
        "tracer_rss_mib": {f"{w} | {c}": max(r.tracer_rss for r in rs
                                             if r.tracer_rss is not None)
                           for (w, c), rs in runs.items() if rs[-1].tracer_rss is not None},
        "time_to_exec_seconds": {c: statistics.median(v) for c, v in exec_times.items()},
        "time_to_exec_fifo_seconds": {c: statistics.median(v) for c, v in rt_times.items()},
        "bare_python_seconds": statistics.median(bare_times) if bare_times else math.nan,
    }


def report(res: dict, opts: argparse.Namespace) -> None:
    med = res["median_seconds"]
    configs = res["configs"]

    def m(w: str, c: str) -> float:
        return med.get(f"{w} | {c}", math.nan)

    def ratio(a: float, b: float) -> str:
        return "FAIL" if math.isnan(a) or math.isnan(b) else f"{a / b:.2f}x"

    print(f"regime: {res['regime']} ({res['regime_how']}); {res['cpus']} CPUs, "
          f"kernel {res['kernel']}, Python {res['python']}, {res['date']}, "
          f"medians of {res['repeat']} (build: {res['build_repeat']})")
    print(f"systrace measured: {res['measured']}")
    if res["failures"]:
        print("FAILED runs (exit statuses):", res["failures"])
    tables = []
    header = ["workload", *[f"{c} (s)" for c in configs]]
    tables.append((header, [[w, *[("FAIL" if math.isnan(m(w, c)) else f"{m(w, c):.3f}")
                                  for c in configs]] for w in res["workloads"]]))
    header = ["workload", "strace/native",
              *[f"{c.removeprefix('systrace ')}/native" for c in SYSTRACE_CONFIGS],
              *[f"{c.removeprefix('systrace ')}/strace" for c in SYSTRACE_CONFIGS],
              "learned rules",
              "stops paths", "stops learned", "tracer CPU learned (s)", "tracer RSS (MiB)"]
    rows = []
    for w in res["workloads"]:
        native, strace = m(w, "native"), m(w, "strace")
        rss = [v for k, v in res["tracer_rss_mib"].items() if k.startswith(w + " |")]
        rows.append([w, ratio(strace, native),
                     *[ratio(m(w, c), native) for c in SYSTRACE_CONFIGS],
                     *[ratio(m(w, c), strace) for c in SYSTRACE_CONFIGS],
                     str(res["learned_rules"][w]),
                     str(res["stops"].get(f"{w} | systrace paths", "")),
                     str(res["stops"].get(f"{w} | systrace learned", "")),
                     f"{res['tracer_cpu_seconds'].get(f'{w} | systrace learned', math.nan):.3f}",
                     f"{max(rss):.1f}" if rss else ""])
    tables.append((header, rows))
    tte = res["time_to_exec_seconds"]
    # (variants of one policy are not timed again; the resident tracer's run is)
    timed = [c for c in res.get("exec_configs", configs) if c in tte]
    fifo = res["time_to_exec_fifo_seconds"]
    bare = res["bare_python_seconds"]
    if tte:  # (--only: none)
        header = ["start-up to exec (ms)", *timed]
        rows = [["median", *[f"{tte[c] * 1000:.1f}" for c in timed]],
                ["/ strace", *[ratio(tte[c], tte["strace"]) for c in timed]]]
        if fifo:
            rows += [["median, SCHED_FIFO", *[f"{fifo[c] * 1000:.1f}" for c in timed]],
                     ["/ python -I -S -c pass", *[ratio(fifo[c], bare) for c in timed]]]
        tables.append((header, rows))
        print(f"\n`python3 -I -S -c pass`: {bare * 1000:.1f} ms"
              + (" (SCHED_FIFO)" if fifo else ""))
    for header, rows in tables:
        if not rows:  # (--startup-only: no workloads)
            continue
        print()
        if opts.markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
            for row in rows:
                print("| " + " | ".join(row) + " |")
        else:
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
            for row in [header, *rows]:
                print("  ".join(cell.ljust(width)
                                for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
