"""Red team 51's race fuzzer (fuzz_race.c): run seeds natively and under systrace, and judge.

    python tests/escape/fuzz_race_run.py [--seeds A:B] [--ms N] [--loops cloop,pyloop]
                                         [--policy flat|table] [--native] [--timeout S]

Each seed runs in a scene of its own (escape_lib.Scene: secd/secret.txt, the denied file;
pubd/secret.txt, a decoy).  What a run under systrace must not show (Finding.kind):

  leak       the secret's content in the program's stdout
  write      a write that landed in secd (its entries or the secret's content changed)
  traceback  a Python traceback, or a line of systrace's about an internal error, on stderr
  hang       the run did not end within the timeout
  died       no "DONE" line from the main process, or an exit status other than 0 --
             the tree killed, or the main process stopped or killed by the tracer
  leftover   a process of the run still alive after it ended (a task left stopped)

The native run of a seed (``--native``) proves the operations reach the secret: it counts the
seeds whose output held it.  The test (test_escape_redteam51.py) runs a fixed small seed set.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from escape_lib import SECRET_MAGIC, SYSTRACE, Scene, never, policy, scene_env  # noqa: E402

LOOP_ENV = {"cloop": {"SYSTRACE_NO_CLOOP": "0"}, "pyloop": {"SYSTRACE_NO_CLOOP": "1"}}
#: systrace with a Python stack dump on SIGUSR1 (FUZZ_DIAGNOSE=1: sent at a hang)
DIAGNOSED = [SYSTRACE[0], "-c", "import faulthandler, runpy, signal, sys; "
             "faulthandler.register(signal.SIGUSR1, all_threads=True); "
             "sys.argv[0] = 'systrace'; runpy.run_module('systrace_py', run_name='__main__')"]
INTERNAL = ("Traceback (most recent call last)", "internal error", "Internal error")


def fuzz_policy(scene: Scene, variant: str = "flat") -> str:
    """``default = "permit"``; ``never`` on fsread and fswrite of secd (the directory and what
    is in it).  ``table``: the same top table, and one of cat's own (the exec'd reader: the
    table switches at exec) that refuses secd as well and permits all else."""
    rules = [never(["fsread", "fswrite"], path=str(scene.secd)),
             never(["fsread", "fswrite"], path=f"{scene.secd}/**")]
    text = policy(*rules)
    if variant == "table":
        cat = os.path.realpath("/bin/cat")  # (processes are known by their resolved path)
        text += f'\n[program."{cat}"]\ndefault = "permit"\n'
        for rule in rules:
            text += f'\n[[program."{cat}".rule]]\n{rule}\n'
    return text


def secd_state(scene: Scene) -> str:
    """secd's entries and the content of each file in it (a hash): what a write would change."""
    h = hashlib.sha256()
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(scene.secd)):
            h.update(entry.encode() + b"\0")
            with contextlib.suppress(OSError):
                h.update(Path(scene.secd, entry).read_bytes())
    return h.hexdigest()


@dataclass
class Run:
    seed: int
    where: str  # "native", "cloop/flat", ...
    rc: int | None
    stdout: str
    stderr: str
    elapsed: float
    findings: list[str] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        return SECRET_MAGIC in self.stdout

    def summary(self) -> str:
        lines = self.stdout.splitlines()
        head = lines[0].removeprefix("note: ") if lines else ""
        done = next((x for x in reversed(lines) if x.startswith("DONE ")), "no DONE")
        return (f"seed {self.seed} {self.where}: rc={self.rc} {self.elapsed:.1f}s {head} "
                f"{done} findings={self.findings}")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _alive(binary: Path) -> list[int]:
    target = os.path.realpath(binary)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry}/exe") == target:
                    found.append(int(entry))
    return found


def run_seed(binary: Path, seed: int, base: Path, *, loop: str | None, variant: str = "flat",
             ms: int = 1500, timeout: float = 60, tasks: int | None = None) -> Run:
    """One seed: natively (``loop`` None) or under systrace on ``loop`` ("cloop"/"pyloop")."""
    where = "native" if loop is None else f"{loop}/{variant}"
    scene = Scene.make(base, f"s{seed}-{where.replace('/', '-')}-{time.monotonic_ns()}")
    before = secd_state(scene)
    argv = [str(binary), str(seed), str(scene.root), str(ms), *([str(tasks)] if tasks else [])]
    env = scene_env(scene, **(LOOP_ENV[loop] if loop else {}))
    if loop is not None:
        pfile = scene.root / "policy.toml"
        pfile.write_text(fuzz_policy(scene, variant))
        cmd = [*(DIAGNOSED if os.environ.get("FUZZ_DIAGNOSE") else SYSTRACE), "-p", str(pfile),
               "--", *argv]
    else:
        cmd = argv
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=scene.root,
                            env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    hung = False
    try:
        out_b, err_b = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        states = _states(binary, proc.pid)
        if os.environ.get("FUZZ_DIAGNOSE"):
            states = _diagnose(binary, proc.pid)
        _kill_group(proc.pid)
        for pid in {*_alive(binary), *_session(proc.pid)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        out_b, err_b = proc.communicate()
        err_b += f"\n[fuzz driver] states at the timeout: {states}\n".encode()
    run = Run(seed, where, proc.returncode, out_b.decode(errors="replace"),
              err_b.decode(errors="replace"), time.monotonic() - start)
    if hung:
        run.findings.append("hang")
    if loop is not None:
        if run.leaked:
            run.findings.append("leak")
        if secd_state(scene) != before:
            run.findings.append("write")
        if any(marker in run.stderr for marker in INTERNAL):
            run.findings.append("traceback")
        if not hung and ("\nDONE " not in "\n" + run.stdout or run.rc != 0):
            run.findings.append("died")
    time.sleep(0.05)
    left = sorted(set(_alive(binary)) | set(_session(proc.pid)))
    if left and not hung:
        run.findings.append("leftover")
        run.stderr += f"\n[fuzz driver] left alive: {_states(binary, proc.pid)}\n"
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    _cleanup(scene.root)
    return run


def _session(sid: int) -> list[int]:
    """The live processes of session ``sid`` (the run's: systrace and the tree, unless one left
    it) -- not its zombies (orphans wait for whoever reaps them here)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[3]) == sid and fields[0] != "Z":
                    found.append(int(entry))
    return found


def _states(binary: Path, sid: int | None = None) -> dict[str, str]:
    """pid (and what it runs) -> state, of the run's processes."""
    out = {}
    pids = set(_alive(binary)) | set(_session(sid) if sid else [])
    for pid in sorted(pids):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            out[f"{pid}{stat[stat.index('('):stat.rindex(')') + 1]}"] = stat[stat.rindex(")") + 2]
    return out


def _diagnose(binary: Path, tracer: int) -> str:
    """What each process of a hung run, and the tracer, is doing (FUZZ_DIAGNOSE=1)."""
    out = []
    for pid in sorted({tracer, *_alive(binary), *_session(tracer)}):
        for tid in sorted(os.listdir(f"/proc/{pid}/task")) if os.path.isdir(f"/proc/{pid}") else []:
            base = f"/proc/{pid}/task/{tid}"
            info = []
            for name in ("stat", "syscall", "wchan"):
                with contextlib.suppress(OSError):
                    info.append(Path(base, name).read_text().strip()[:200])
            with contextlib.suppress(OSError):
                info += [line for line in Path(base, "status").read_text().splitlines()
                         if line.split(":")[0] in ("State", "TracerPid", "SigPnd", "ShdPnd",
                                                    "SigBlk", "PPid")]
            out.append(f"{pid}/{tid}: " + " | ".join(info))
    with contextlib.suppress(OSError):
        os.kill(tracer, signal.SIGUSR1)  # its Python stacks, on its stderr (DIAGNOSED)
        time.sleep(0.5)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out.append(subprocess.run(["gdb", "-p", str(tracer), "-batch", "-ex", "bt"],
                                  capture_output=True, text=True, timeout=30).stdout[-3000:])
    return "\n".join(out)


def _cleanup(root: Path) -> None:
    for _ in range(20):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.05)


def build(out_dir: Path) -> Path:
    binary = out_dir / "fuzz_race"
    subprocess.run(["gcc", "-O1", "-Wall", "-pthread", "-o", str(binary),
                    str(HERE / "fuzz_race.c")], check=True)
    return binary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1:51", help="A:B, the seeds A..B-1")
    ap.add_argument("--ms", type=int, default=1500, help="each run's length (ms)")
    ap.add_argument("--loops", default="cloop,pyloop")
    ap.add_argument("--policy", default="flat,table")
    ap.add_argument("--native", action="store_true", help="run each seed natively too")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--tasks", type=int, default=None, help="tasks per run (default: the seed's)")
    ap.add_argument("--budget", type=float, default=0, help="stop after this many seconds")
    args = ap.parse_args()
    a, _, b = args.seeds.partition(":")
    seeds = range(int(a), int(b))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-race-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        binary = build(base)
        totals: dict[str, int] = {}
        native_leaks = native_runs = 0
        bad = 0
        for seed in seeds:
            if args.budget and time.monotonic() - start > args.budget:
                print(f"budget spent before seed {seed}")
                break
            if args.native:
                run = run_seed(binary, seed, base, loop=None, ms=args.ms, timeout=args.timeout,
                               tasks=args.tasks)
                native_runs += 1
                native_leaks += run.leaked
                print(run.summary() + f" leaked={run.leaked}", flush=True)
            for loop in args.loops.split(","):
                for variant in args.policy.split(","):
                    run = run_seed(binary, seed, base, loop=loop, variant=variant, ms=args.ms,
                                   timeout=args.timeout, tasks=args.tasks)
                    totals[run.where] = totals.get(run.where, 0) + 1
                    print(run.summary(), flush=True)
                    if run.findings:
                        bad += 1
                        print(f"--- stdout tail\n{run.stdout[-2000:]}\n--- stderr tail\n"
                              f"{run.stderr[-4000:]}", flush=True)
        print(f"runs: {totals}; native: {native_leaks}/{native_runs} seeds leaked natively; "
              f"runs with findings: {bad}; {time.monotonic() - start:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
