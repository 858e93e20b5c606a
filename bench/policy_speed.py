#!/usr/bin/env python3
"""Policy speed: load, prefilter plan and per-decision cost of a large learned-style policy.

Generates a policy shaped like the ones ``systrace -A`` writes for a build (default 400 rules:
mostly single directories and files, some ``dir/**`` trees and ``dir/*`` listings, a few globs
and brace lists, a few address and unix socket rules, several program tables), then prints:

* load: ``load_policy`` of the file (TOML parse, rules, globs), glob caches cleared each time;
* plan: ``filterplan.plan`` over its tables; compile: the BPF programs of that plan
  (``seccomp.compile_filters``: libseccomp's and the hand-built number filter) -- with the
  load, issue 16's "policy load + filter compile under 10 ms for 400 rules";
* per decision: ``Table.decide`` with the index against the linear scan it replaced (the
  reference kept in tests/unit/test_index.py), on a stream of stat/open/exec/connect calls,
  70 % of them on paths the policy names; the same for the 3-rule bench policy, to show that
  the index does not grow with the number of rules.

Load, plan and compile: minimum and median; per decision: medians.  Ratios are printed, never
asserted (a shared VM's figures move).

    python bench/policy_speed.py [--rules 400] [--repeat 21] [--decisions 3000] [--write FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from test_index import LinearTable  # noqa: E402  (the reference: rules tried one by one)

from systrace_py.engine.seccomp import compile_filters  # noqa: E402
from systrace_py.policy import glob as glob_module  # noqa: E402
from systrace_py.policy import model as model_module  # noqa: E402
from systrace_py.policy.files import load_policy  # noqa: E402
from systrace_py.policy.filterplan import plan  # noqa: E402
from systrace_py.policy.model import CallFacts, PathArg, Policy, SockAddr, Table  # noqa: E402

#: Program tables of a learned build policy, and their share of the rules.
PROGRAMS = {
    "main": 0.15,
    "/usr/bin/make": 0.05,
    "/usr/bin/dash": 0.05,
    "/usr/bin/x86_64-linux-gnu-gcc-12": 0.10,
    "/usr/lib/gcc/x86_64-linux-gnu/12/cc1": 0.40,
    "/usr/bin/x86_64-linux-gnu-as": 0.05,
    "/usr/lib/gcc/x86_64-linux-gnu/12/collect2": 0.05,
    "/usr/bin/x86_64-linux-gnu-ld.bfd": 0.15,
}
TOPS = ["/usr/include", "/usr/lib/x86_64-linux-gnu", "/usr/share",
        "/usr/lib/gcc/x86_64-linux-gnu/12", "/usr/local/include", "/etc", "/build/src",
        "/build/obj"]
WORDS = ["linux", "sys", "bits", "asm", "net", "netinet", "arpa", "gnu", "c++", "12", "ext",
         "backward", "debug", "x11", "gl", "openssl", "zlib", "glib-2.0", "gio", "gobject",
         "internal", "detail", "impl", "core", "util", "io", "mem", "fs", "proto", "crypto"]
FILES = ["stdio.h", "stdlib.h", "string.h", "types.h", "config.h", "errno.h", "limits.h",
         "features.h", "cdefs.h", "wordsize.h", "stddef.h", "stdint.h", "libc.so.6",
         "libz.so.1", "crti.o", "crtn.o", "Makefile", "main.c", "util.c", "util.o"]


def _dir(rng: random.Random) -> str:
    return "/".join([rng.choice(TOPS), *rng.sample(WORDS, rng.randint(1, 3))])


def _rule(rng: random.Random) -> tuple[list[str], dict[str, object]]:
    """One learned-style rule: (calls, conditions)."""
    roll = rng.random()
    if roll < 0.55:   # a single directory (opened, listed, stat'ed)
        return ["fsread"], {"path": _dir(rng)}
    if roll < 0.70:   # a single file
        return ["fsread"], {"path": f"{_dir(rng)}/{rng.choice(FILES)}"}
    if roll < 0.78:   # a directory whose every entry was read
        return ["fsread"], {"path": f"{_dir(rng)}/*"}
    if roll < 0.86:   # a tree
        return rng.choice([["fsread"], ["fsread", "fswrite"]]), {"path": f"{_dir(rng)}/**"}
    if roll < 0.92:   # a brace list of siblings
        names = ",".join(rng.sample(WORDS, rng.randint(2, 6)))
        return ["fsread"], {"path": f"{_dir(rng)}/{{{names}}}"}
    if roll < 0.97:   # a glob
        return rng.choice([["fsread"], ["fswrite"]]), {"path": rng.choice([
            "/usr/lib/x86_64-linux-gnu/*.so*", "/tmp/cc*.s", "/tmp/cc*.o", "$HOME/.cache/**",
            "/build/obj/*.o", "/build/src/*.[ch]", "/proc/self/{maps,status,fd/*}"])}
    if roll < 0.985:  # an address
        return ["net-connect"], {"address": rng.choice(["127.0.0.1", "10.0.0.0/8", "::1"]),
                                 "port": rng.choice([53, 80, "8000-8100"])}
    return ["net-connect"], {"unix": rng.choice(["/run/user/*/bus", "/run/nscd/socket", "@*"])}


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def policy_text(rules: int, seed: int = 1) -> str:
    """A learned-style policy with about ``rules`` rules over :data:`PROGRAMS`."""
    rng = random.Random(seed)
    lines = ['version = 1', 'description = "generated: a learned build policy"',
             'default = "never"']
    for program, share in PROGRAMS.items():
        header = "[[rule]]" if program == "main" else f'[[program."{program}".rule]]'
        if program != "main":
            lines += ["", f'[program."{program}"]']
        body: list[tuple[list[str], dict[str, object]]] = [
            (["exec", "fsread"], {"path": program if program != "main" else "/usr/bin/make"})]
        body += [_rule(rng) for _ in range(max(1, round(rules * share)) - 3)]
        body += [(["stdio"], {}), (["process", "signal"], {})]
        for calls, conditions in body:
            lines += ["", header, f"calls = {_toml(calls)}"]
            lines += [f"{key} = {_toml(value)}" for key, value in conditions.items()]
            lines.append('action = "permit"')
    return "\n".join(lines) + "\n"


def _named_paths(table: Table) -> list[str]:
    """Paths the table's rules name (a literal, or a literal directory with a name below)."""
    out = []
    for rule in table.rules:
        if rule.path is None:
            continue
        for shape in rule.path.shapes:  # type: ignore[attr-defined]
            if shape.kind != "pseudo":
                head = "/" + "/".join(shape.prefix)
                out.append(head if shape.kind == "exact" else f"{head}/stdio.h")
    return out


def workload(table: Table, count: int, seed: int = 2) -> list[CallFacts]:
    """stat/open/exec/connect calls, 70 % of them on paths the table names."""
    rng = random.Random(seed)
    named = _named_paths(table) or ["/usr/include/stdio.h"]
    out = []
    for _ in range(count):
        path = rng.choice(named) if rng.random() < 0.7 else \
            f"{_dir(rng)}/{rng.choice(FILES)}.missing"
        roll = rng.random()
        if roll < 0.45:
            out.append(CallFacts("newfstatat", (PathArg("path", path),)))
        elif roll < 0.90:
            out.append(CallFacts("openat", (PathArg("path", path),), open_flags=os.O_RDONLY))
        elif roll < 0.95:
            out.append(CallFacts("openat", (PathArg("path", f"/tmp/cc{rng.randint(0, 99)}.o"),),
                                 open_flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
        elif roll < 0.98:
            out.append(CallFacts("execve", (PathArg("path", path),), argv=("x",)))
        else:
            out.append(CallFacts("connect", sockaddr=SockAddr("inet", "127.0.0.1", 53)))
    return out


def _load(path: Path) -> Policy:
    glob_module._compile.cache_clear()  # as in a fresh process
    model_module.split_calls.cache_clear()
    return load_policy(path, {"HOME": "/home/user", "USER": "user", "CWD": "/build"})


def per_decision_us(deciders: list[Callable[[CallFacts], object]], calls: list[CallFacts],
                    repeat: int) -> list[float]:
    """For each decider, the median over ``repeat`` passes of the mean time of one decision
    (the deciders' passes interleaved, so a change in the machine's load hits them alike)."""
    for decide in deciders:  # warm: checks compiled, rules_for cached, regexes compiled
        for facts in calls:
            decide(facts)
    passes: list[list[float]] = [[] for _ in deciders]
    for _ in range(repeat):
        for decide, times in zip(deciders, passes, strict=True):
            start = time.perf_counter()
            for facts in calls:
                decide(facts)
            times.append((time.perf_counter() - start) / len(calls))
    return [statistics.median(times) * 1e6 for times in passes]


def load_plan_compile_ms(path: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Milliseconds (minimum, median over ``repeat`` runs) of loading the policy file, of
    planning the prefilter for its tables, of compiling that plan into the BPF programs a
    run loads (libseccomp and the number filter), each on a freshly loaded policy, as in a
    run -- and of the three together.  The minimum is the figure to compare: on a shared VM
    the median moves with the other work."""
    times: dict[str, list[float]] = {"load": [], "plan": [], "compile": [], "total": []}
    for _ in range(repeat):
        start = time.perf_counter()
        policy = _load(path)
        loaded = time.perf_counter()
        filter_plan = plan(policy.tables())
        planned = time.perf_counter()
        compile_filters(filter_plan, os.getpid())
        end = time.perf_counter()
        for key, took in (("load", loaded - start), ("plan", planned - loaded),
                          ("compile", end - planned), ("total", end - start)):
            times[key].append(took)
    return {key: (min(values) * 1e3, statistics.median(values) * 1e3)
            for key, values in times.items()}


def report(name: str, path: Path, decisions: int, repeat: int) -> None:
    policy = _load(path)
    tables = policy.tables()
    rules = sum(len(t.rules) for t in tables)
    took = load_plan_compile_ms(path, repeat)
    largest = max(tables, key=lambda t: len(t.rules))
    calls = workload(largest, decisions)
    indexed, linear = per_decision_us([largest.decide, LinearTable(largest).decide], calls,
                                      repeat)
    print(f"{name}: {rules} rules in {len(tables)} tables, {path.stat().st_size} bytes")
    print("  minimum / median of", repeat, "runs: " + ", ".join(
        f"{key} {low:.2f} / {middle:.2f} ms" for key, (low, middle) in took.items()
        if key != "total"))
    low, middle = took["total"]
    print(f"  load + filter compile {low:.2f} / {middle:.2f} ms (target < 10)")
    print(f"  per decision on table {largest.name!r} ({len(largest.rules)} rules):"
          f" index {indexed:.1f} us, linear scan {linear:.1f} us"
          f" (linear / index = {linear / indexed:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--write", type=Path, help="also keep the generated policy here")
    args = parser.parse_args()
    text = policy_text(args.rules)
    if args.write:
        args.write.write_text(text)
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "learned.toml"
        generated.write_text(text)
        report("generated learned-style policy", generated, args.decisions, args.repeat)
    report("bench/policies/paths.toml", HERE / "policies" / "paths.toml", args.decisions,
           args.repeat)


if __name__ == "__main__":
    main()
