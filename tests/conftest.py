"""Shared fixtures: build the C test programs, run systrace on real processes.

Tests trace real processes: small C programs compiled here with gcc, coreutils, sh, python.
Nothing in the engine is mocked.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# No hypothesis deadline: the suite runs three workers on 2 CPUs beside other work, where one
# example of a pure function took 266 ms once (CI, test_environment_grants) -- a time is never
# what a test asserts (the brief).  A test that sets its own settings keeps this default.
settings.register_profile("systrace", deadline=None)
settings.load_profile("systrace")

#: Every systrace a test starts runs in process unless the test says otherwise (a server of
#: its own: tests/cli/test_resident.py): the tmux tests (tests/ui) start systrace with this
#: process's environment, where a resident tracer the user runs would take their runs.
os.environ["SYSTRACE_NO_RESIDENT"] = "1"

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
UNPRIVILEGED_USER = "cloudsdk" if "cloudsdk" in {p.pw_name for p in pwd.getpwall()} else "nobody"


def systrace_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # (no empty entry: it puts the working directory on the traced Python's path -- a pip run
    # in a project directory then found the project's egg-info there and uninstalled nothing)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # in process, whatever resident tracer the user runs (tests/cli/test_resident.py starts
    # its own, and says "0")
    env["SYSTRACE_NO_RESIDENT"] = "1"
    if extra:
        env.update(extra)
    return env


def run_counting(tmp_path: Path, target: str, argument: int, argv: list[str],
                 timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], int, int]:
    """systrace's main(argv) in a child interpreter with the method ``target``
    ("module:Class.method") wrapped to count its calls: (the run, the calls, the different
    values of its ``argument``-th positional argument after self).  How the tests tell that
    the native loop asked Python once where it used to ask at every stop."""
    module, _, attribute = target.partition(":")
    owner, _, method = attribute.rpartition(".")
    driver = tmp_path / "counting_driver.py"
    driver.write_text(f"""
import importlib, sys
owner = getattr(importlib.import_module({module!r}), {owner!r})
real = getattr(owner, {method!r})
asked = []
def counted(self, *args, **kw):
    asked.append(args[{argument}])
    return real(self, *args, **kw)
setattr(owner, {method!r}, counted)
from systrace_py.cli import main
try:
    code = main({argv!r})
finally:
    print("asked", len(asked), len(set(asked)), file=sys.stderr)
sys.exit(code)
""")
    result = subprocess.run([PYTHON, str(driver)], capture_output=True, text=True,
                            timeout=timeout, env=systrace_env(None))
    found = re.search(r"asked (\d+) (\d+)", result.stderr)
    assert found is not None, result.stderr
    return result, int(found.group(1)), int(found.group(2))


def run_systrace(args: list[str], *, input: str | None = None, timeout: float = 120,
                 cwd: str | Path | None = None, env: dict[str, str] | None = None,
                 prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m systrace_py ARGS``; ``prefix`` runs it under another command (setpriv)."""
    cmd = [*(prefix or []), PYTHON, "-m", "systrace_py", *args]
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=systrace_env(env))


def learned_policy(execs: Path | str, program: Path | str, *, first: str = "",
                   tables: str = "", dev: bool = True) -> str:
    """A policy of the shape ``-A`` learns: default never, permits by path and no refusing
    rule, so that nothing but its path decides an exec (one the native loop may let go).  It
    permits the tree's process calls, exec and reads below /usr and ``execs``, reads below
    /etc, reads and writes below /dev (not without ``dev``); ``program`` has a table of its
    own that permits everything (an exec into it enters another table, whose environment the
    loop reads).  ``first``: rules before all these; ``tables``: program tables before
    ``program``'s."""
    devices = ('\n[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "/dev/**"\n'
               'action = "permit"\n') if dev else ""
    return f"""default = "never"
{first}
[[rule]]
calls = ["stdio", "process", "signal", "fsmeta"]
action = "permit"

[[rule]]
calls = ["exec", "fsread"]
path = "/usr/**"
action = "permit"

[[rule]]
calls = ["exec", "fsread"]
path = "{execs}/**"
action = "permit"

[[rule]]
calls = ["fsread"]
path = "/etc/**"
action = "permit"
{devices}
{tables}
[program."{program}"]
default = "permit"
"""


@dataclass
class Traced:
    """One systrace run with a policy written from text."""

    tmp: Path

    def policy(self, text: str, name: str = "policy.toml") -> Path:
        path = self.tmp / name
        path.write_text(textwrap.dedent(text))
        return path

    def run(self, policy_text: str | None, *command: str, options: tuple[str, ...] = (),
            **kw: object) -> subprocess.CompletedProcess[str]:
        args = list(options)
        if policy_text is not None:
            args += ["-p", str(self.policy(policy_text))]
        return run_systrace([*args, "--", *command], **kw)  # type: ignore[arg-type]


#: The two stop loops, as the environment a traced run gets: the native C loop (systrace_py/
#: _cloop.c; the Python loop where it is not built) and the pure-Python one.  Their one home: a
#: test that takes ``loop`` runs once on each (the fixture below) and passes it to the run.
LOOPS = {"cloop": {"SYSTRACE_NO_CLOOP": "0"}, "pyloop": {"SYSTRACE_NO_CLOOP": "1"}}


@pytest.fixture(params=list(LOOPS.values()), ids=list(LOOPS))
def loop(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that picks the stop loop a traced run uses (one of LOOPS)."""
    return request.param


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test parametrized over ``loop`` covers both loops itself: mark it ``both_loops``, so
    the second CI pass, which runs tests/engine and tests/escape again on the Python loop
    (SYSTRACE_NO_CLOOP=1, .ci/run), can leave it out (``-m "not both_loops"``) -- it would
    only run both loops again.  Keyed on the parameter's name, so a test that parametrizes
    ``loop`` itself is caught too."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "loop" in callspec.params:
            item.add_marker(pytest.mark.both_loops)
    # The order pytest-xdist hands whole files out in (--dist loadfile, with
    # --no-loadscope-reorder: pyproject.toml): the files with a test marked ``slow`` first,
    # then the others, most tests first.  xdist's own order (most tests first, over all
    # files) handed the files of one test out last: a pip install of minutes
    # (tests/learn/test_caches.py) ran on one worker while the other had finished; begun
    # first, the many short files fill in beside it.  Items stay grouped by file.
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    count = collections.Counter(item.path for item in items)
    items.sort(key=lambda item: (item.path not in slow,
                                 0 if item.path in slow else -count[item.path]))


@pytest.fixture
def traced(tmp_path: Path) -> Traced:
    return Traced(tmp_path)


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Compile tests/<relative>.c once per session; returns the binary's path."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out_dir = tmp_path_factory.mktemp("bin")
    out_dir.chmod(0o755)
    built: dict[tuple[str, tuple[str, ...]], Path] = {}

    def compile_program(relative: str, *flags: str) -> Path:
        key = (relative, flags)
        if key in built:
            return built[key]
        source = REPO / "tests" / relative
        binary = out_dir / (source.stem + ("-" + "-".join(f.strip("-") for f in flags)
                                            if flags else ""))
        subprocess.run(["gcc", "-O1", "-Wall", "-pthread", *flags, "-o", str(binary),
                        str(source)], check=True, capture_output=True, text=True)
        built[key] = binary
        return binary

    return compile_program


@pytest.fixture(scope="session")
def probe(build: Callable[..., Path]) -> Path:
    return build("progs/probe.c")


@pytest.fixture
def world_tmp() -> Path:
    """A temporary directory every user can use (for tests that drop privileges)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="systrace-test-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def outsider() -> Iterator[subprocess.Popen[bytes]]:
    """A process outside the traced tree, in a session (and process group) of its own: what
    a signal test's policy must keep signals from (its poll() tells whether one reached it)."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def results(stdout: str) -> dict[str, str]:
    """probe's "OP ARG -> RESULT" lines as a dict."""
    out = {}
    for line in stdout.splitlines():
        if " -> " in line:
            key, _, value = line.partition(" -> ")
            out[key] = value
    return out
