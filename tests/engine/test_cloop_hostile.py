"""The native stop loop against hostile register values (red team 85, issue 11).

_cloop.c reads a traced program's registers and memory -- path pointers, dirfds, flags, an
exec's argv and environment vectors -- and no input a program can produce may kill its tree
through an internal error (EXITKILL: a crash of the tracer kills the tree) or make the loop
answer otherwise than the Python loop.  tests/engine/cloop_hostile.c makes, from a seeded
PRNG, raw path calls and execs with pointers at page ends, into a PROT_NONE page, at NULL and
at kernel addresses, strings about the loop's own limit (MAX_RAW) and PATH_MAX, unterminated
ones, components ".", "..", "//", symlinks and loops, /proc links, dirfds of every kind with
garbage in their high half, random flags, open_how structs of odd sizes, argv and envp
vectors longer than the loop's table or running into the guard page (a vfork child's exec
into another table: the loop reads its environment).  The policy makes the loop decode each:
a refusing rule on a tree, a glob, an exec permitted by path into a table of its own.

Each run must end as natively (the program's own status, its "done" line), systrace must
say nothing but its count of refusals, and a one-task run must answer every call alike under
both loops (the digest of every result).  The same runs are made with the loop built to trap
on undefined behaviour (gcc -fsanitize=undefined -fsanitize-undefined-trap-on-error: no
sanitizer runtime, the compiler only), where UB is a SIGILL of the tracer -- which a spawn
on main met (a misaligned store of the environment's vector in child_spawn).  The sanitizer
run itself (AddressSanitizer and UBSan's runtime: scripts/sanitize_cloop.sh) is no part of
the suite.

More seeds: ``SYSTRACE_HOSTILE_SEEDS=1-200 SYSTRACE_HOSTILE_CALLS=5000 .venv/bin/python -m
pytest -n 0 tests/engine/test_cloop_hostile.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import LOOPS, PYTHON, REPO, systrace_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the scene's execs and lookups as root")


def _seeds() -> list[int]:
    spec = os.environ.get("SYSTRACE_HOSTILE_SEEDS", "1-3")
    low, _, high = spec.partition("-")
    return list(range(int(low), int(high or low) + 1))


CALLS = int(os.environ.get("SYSTRACE_HOSTILE_CALLS", "1500"))
#: the calls the policy's rules name (no alias: a rule refusing fsread would make every exec
#: Python's -- cloop.exec_variant -- and the loop would read no environment)
PATH_CALLS = ["open", "openat", "openat2", "stat", "lstat", "newfstatat", "statx", "access",
              "faccessat", "faccessat2", "readlink", "readlinkat", "chdir", "statfs",
              "getxattr", "lgetxattr", "listxattr"]
DONE = re.compile(r"^done (\d+) ([0-9a-f]{16})$", re.M)
NATIVE = re.compile(r"^systrace: \d+ stops \((\d+) decided natively\)", re.M)


def _scene(base: Path, program: Path) -> Path:
    """base/scene (the program's DIR) and base/bin/twin (the exec target, a table of its
    own)."""
    root = base / "scene"
    for sub in ("deny", "work", "sub"):
        (root / sub).mkdir(parents=True)
    (root / "deny" / "x").write_text("secret\n")
    (root / "work" / "f").write_text("")
    (root / "g.g").write_text("")
    for name, target in (("up", ".."), ("down", "work"), ("ddir", "deny"), ("loop", "loop")):
        (root / name).symlink_to(target)
    (base / "bin").mkdir()
    shutil.copy(program, base / "bin" / "twin")
    return root


def _policy(base: Path, root: Path) -> Path:
    calls = "[" + ", ".join(f'"{c}"' for c in PATH_CALLS) + "]"
    policy = base / "policy.toml"
    policy.write_text(f"""default = "permit"

[[rule]]
calls = {calls}
path = "{root}/deny/**"
action = "never"
errno = "EDOM"
missing = "errno"

[[rule]]
calls = {calls}
path = "{root}/**/*.g"
action = "never"
errno = "EXDEV"

[[rule]]
calls = ["exec"]
path = "{base}/bin/**"
action = "permit"

[program."{base}/bin/twin"]
default = "permit"
""")
    return policy


def _reset(base: Path, program: Path) -> Path:
    """A fresh scene (a run's chdir may leave nothing changed, but a run starts alike)."""
    shutil.rmtree(base / "scene")
    shutil.rmtree(base / "bin")
    return _scene(base, program)


def _traced(base: Path, program: Path, seed: int, mode: str, env: dict[str, str],
            package: Path | None = None) -> tuple[str, int]:
    """One run under systrace (--stats): its digest, and the stops decided natively.  With
    ``package``, systrace_py is imported from there (a copy with another _cloop build)."""
    root = _reset(base, program)
    full = systrace_env(env)
    if package is not None:
        full["PYTHONPATH"] = str(package)
    run = subprocess.run([PYTHON, "-m", "systrace_py", "--stats", "-p",
                          str(_policy(base, root)), "--", str(program), str(root), str(seed),
                          str(CALLS), mode, "go"], capture_output=True, text=True,
                         timeout=600, env=full, cwd=base)
    said = [line for line in run.stderr.splitlines()
            if not line.startswith("ERROR: ld.so:")  # (the twin's loader, LD_PRELOAD=/x)
            and not re.match(r"systrace: (refused \d+ calls?|\d+ stops|stops by kind|"
                             r"stops served by Python)", line)]
    assert run.returncode == 0 and not said, (seed, mode, run.returncode, run.stderr[-4000:])
    done = DONE.findall(run.stdout)
    assert done and done[-1][0] == str(CALLS), (seed, run.stdout[-1000:])
    native = NATIVE.search(run.stderr)
    assert native, run.stderr[-2000:]
    return done[-1][1], int(native.group(1))


def _native(base: Path, program: Path, seed: int, mode: str) -> None:
    """The control: natively the program ends with its "done" line."""
    root = _reset(base, program)
    run = subprocess.run([str(program), str(root), str(seed), str(CALLS), mode, "go"],
                         capture_output=True, text=True, timeout=300, cwd=base)
    assert run.returncode == 0 and DONE.search(run.stdout), (seed, run.stdout, run.stderr)


@pytest.fixture
def hostile(build: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    program = build("engine/cloop_hostile.c")
    _scene(tmp_path, program)
    return tmp_path, program


@pytest.mark.parametrize("mode", ["one", "threads"])
def test_hostile_registers_never_kill_the_tree(hostile: tuple[Path, Path], loop: dict[str, str],
                                               mode: str) -> None:
    """Every seed's run ends as natively under either loop, systrace saying nothing but its
    counts (no internal error: the tracer's crash would be the tree's end, EXITKILL)."""
    base, program = hostile
    for seed in _seeds():
        _native(base, program, seed, mode)
        _digest, native = _traced(base, program, seed, mode, loop)
        if loop == LOOPS["cloop"]:
            assert native > 0, "the native loop decided nothing: the test tests nothing"


def test_hostile_registers_answer_alike_in_both_loops(hostile: tuple[Path, Path]) -> None:
    """One task: every call's result (folded into the digest) is the same under the native
    loop as under the Python loop, the reference."""
    base, program = hostile
    for seed in _seeds():
        c_digest, _ = _traced(base, program, seed, "one", LOOPS["cloop"])
        py_digest, _ = _traced(base, program, seed, "one", LOOPS["pyloop"])
        assert c_digest == py_digest, seed


def _trapping_package(base: Path) -> Path:
    """A copy of systrace_py whose _cloop is built to trap on undefined behaviour (SIGILL):
    UBSan's checks with no runtime library -- the compiler's alone."""
    where = base / "trapping"
    shutil.copytree(REPO / "systrace_py", where / "systrace_py",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-fsanitize=undefined",
         "-fsanitize-undefined-trap-on-error", f"-I{sysconfig.get_paths()['include']}",
         "-o", str(where / "systrace_py" / f"_cloop{suffix}"),
         str(REPO / "systrace_py" / "_cloop.c")], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"gcc cannot build _cloop.c trapping on UB: {built.stderr[-500:]}")
    return where


def test_a_loop_trapping_on_undefined_behaviour_survives_hostile_registers(
        hostile: tuple[Path, Path]) -> None:
    """The native loop built to trap on undefined behaviour: a plain spawn, and the hostile
    runs of one task and of two.  On main the spawn itself trapped (SIGILL, status 132): the
    environment's pointer vector was stored at whatever byte the argv strings before it
    ended on (child_spawn, spawn_vector), a misaligned char * store -- undefined, found by
    UBSan; harmless on x86-64 but for the compiler's licence, and made by the user's command
    line, never by the traced program.  Now the vector is aligned."""
    base, program = hostile
    package = _trapping_package(base)
    env = systrace_env(LOOPS["cloop"])
    env["PYTHONPATH"] = str(package)
    permit = base / "permit.toml"
    permit.write_text('default = "permit"\n')
    for extra in ([], ["x"], ["xy", "z" * 5]):  # (argv strings of odd lengths)
        run = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(permit), "--",
                              "/bin/true", *extra],
                             capture_output=True, text=True, timeout=120, env=env, cwd=base)
        assert run.returncode == 0, (extra, run.returncode, run.stderr[-2000:])
    for seed in _seeds():
        for mode in ("one", "threads"):
            _traced(base, program, seed, mode, LOOPS["cloop"], package=package)
