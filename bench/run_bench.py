#!/usr/bin/env python3
"""Side-by-side timings: native, strace -f --seccomp-bpf, and systrace, in one run.

Each workload runs natively, under ``strace -f -qq --seccomp-bpf -e trace=%file -o /dev/null``,
under systrace with a policy of path rules on fsread/fswrite, and under systrace with a policy
of network rules only; optionally also with argument holding off (``--defences``), to show what
the TOCTOU defences cost; and with ``--python-loop``, also on the pure-Python stop loop
(SYSTRACE_NO_CLOOP=1), to show what the native loop (systrace_py/_cloop.c) gains.  Every
configuration runs ``--repeat`` times, interleaved, and the
median wall time is reported with ratios.  Targets (issue 3): systrace <= strace on every
workload; the network-only policy within 1.10x of native on the file workloads.

Start-up (a Python interpreter importing the tracer, reading the policy, compiling the filter)
is a fixed cost that short workloads cannot hide; it is measured on ``/bin/true`` and the
columns marked "less start-up" take it out of both sides, leaving what tracing itself costs.

    python bench/run_bench.py [--repeat 7] [--markdown] [--json out.json] [--defences]
                              [--python-loop]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: systrace paths on the pure-Python stop loop (the native one turned off)
PYTHON_LOOP = "systrace paths, Python loop"
#: a workload that does nothing: what each configuration costs before the program runs
STARTUP = "/bin/true (start-up only)"
PY_IMPORTS = ("import json, csv, email.parser, http.client, xml.dom.minidom, sqlite3, decimal,"
              " argparse, asyncio, logging, subprocess, urllib.request, zipfile, tarfile")


def workloads(tmp: Path) -> dict[str, list[str]]:
    # the interpreter itself, not a wrapper script (pyenv's shims run bash and pyenv first)
    python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return {
        STARTUP: ["/bin/true"],
        "find /usr/include -name '*.h'": ["find", "/usr/include", "-name", "*.h"],
        "python3 stdlib imports": [python, "-c", PY_IMPORTS],
        "tar cf of /usr/include/linux": ["tar", "cf", str(tmp / "out.tar"), "-C", "/usr/include",
                                         "linux"],
        "100 x /bin/true in sh": ["sh", "-c", "i=0; while [ $i -lt 100 ]; do /bin/true; "
                                  "i=$((i+1)); done"],
    }


def configurations(defences: bool, python_loop: bool = False) -> dict[str, list[str]]:
    systrace = [sys.executable, "-m", "systrace_py"]
    configs = {
        "native": [],
        "strace": ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o",
                   "/dev/null"],
        "systrace paths": [*systrace, "-p", str(HERE / "policies" / "paths.toml"), "--"],
        "systrace net": [*systrace, "-p", str(HERE / "policies" / "network.toml"), "--"],
    }
    if defences:
        configs["systrace paths, no holding"] = ["env", "SYSTRACE_NO_HOLD=1",
                                                 *configs["systrace paths"]]
    if python_loop:
        configs[PYTHON_LOOP] = ["env", "SYSTRACE_NO_CLOOP=1", *configs["systrace paths"]]
    return configs


def run_once(prefix: list[str], command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the peak RSS (KiB) of the process tree's largest member."""
    start = time.perf_counter()
    proc = subprocess.Popen([*prefix, *command], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(prefix + command)} (status {status:#x})")
    return elapsed, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument("--defences", action="store_true",
                        help="also run systrace with argument holding off (before/after)")
    parser.add_argument("--python-loop", action="store_true",
                        help="also run systrace paths on the pure-Python stop loop "
                             "(SYSTRACE_NO_CLOOP=1): what the native loop gains")
    opts = parser.parse_args()
    if shutil.which("strace") is None:
        print("strace is not installed; it is the baseline", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        loads = workloads(tmp)
        configs = configurations(opts.defences, opts.python_loop)
        times: dict[tuple[str, str], list[float]] = {}
        rss: dict[tuple[str, str], int] = {}
        for command in loads.values():  # warm caches, compile bytecode
            for prefix in configs.values():
                run_once(prefix, command, env)
        for _ in range(opts.repeat):
            for name, command in loads.items():
                for config, prefix in configs.items():
                    elapsed, peak = run_once(prefix, command, env)
                    times.setdefault((name, config), []).append(elapsed)
                    rss[(name, config)] = max(rss.get((name, config), 0), peak)
    medians = {key: statistics.median(values) for key, values in times.items()}
    report(loads, configs, medians, rss, opts.markdown)
    if opts.json:
        Path(opts.json).write_text(json.dumps(
            {"repeat": opts.repeat, "median_seconds": {f"{w} | {c}": v for (w, c), v in
                                                       medians.items()},
             "max_rss_kib": {f"{w} | {c}": v for (w, c), v in rss.items()}}, indent=2))
    return 0


def report(loads: dict[str, list[str]], configs: dict[str, list[str]],
           medians: dict[tuple[str, str], float], rss: dict[tuple[str, str], int],
           markdown: bool) -> None:
    header = ["workload", *[f"{c} (s)" for c in configs], "strace/native",
              "systrace paths/native", "systrace paths/strace",
              "systrace paths/strace less start-up", "systrace net/native",
              "systrace net/native less start-up", "systrace RSS (MiB)"]
    holding = "systrace paths, no holding" in configs
    if holding:
        header.append("holding cost")
    python_loop = PYTHON_LOOP in configs
    if python_loop:
        header += ["Python loop/strace", "native loop gain"]

    def start_up(config: str) -> float:
        return max(0.0, medians[(STARTUP, config)] - medians[(STARTUP, "native")])

    rows = []
    for name in loads:
        native = medians[(name, "native")]
        strace = medians[(name, "strace")]
        paths = medians[(name, "systrace paths")]
        net = medians[(name, "systrace net")]
        row = [name, *[f"{medians[(name, c)]:.3f}" for c in configs],
               f"{strace / native:.2f}x", f"{paths / native:.2f}x", f"{paths / strace:.2f}x"]
        if name == STARTUP:
            row += ["", f"{net / native:.2f}x", ""]
        else:
            paths_less = paths - start_up("systrace paths")
            strace_less = strace - start_up("strace")
            net_less = net - start_up("systrace net")
            row += [f"{paths_less / strace_less:.2f}x", f"{net / native:.2f}x",
                    f"{net_less / native:.2f}x"]
        row.append(f"{rss[(name, 'systrace paths')] / 1024:.0f}")
        if holding:
            row.append(f"{paths / medians[(name, 'systrace paths, no holding')]:.2f}x")
        if python_loop:
            slow = medians[(name, PYTHON_LOOP)]
            row += [f"{slow / strace:.2f}x", f"{slow / paths:.2f}x"]
        rows.append(row)
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
