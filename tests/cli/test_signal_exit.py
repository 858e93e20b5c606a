"""A command killed by a signal: systrace exits 128+N, as a shell reports it in ``$?`` --
systrace exits with that status itself, it does not re-raise the signal (sudo's and env's
way): the shell sees a normal exit, so no core-dump flag can leak into its wait status and
systrace never dumps core for the command's crash.  In process on both stop loops, and through
a resident tracer with either client.  Real deaths: a null pointer written (SIGSEGV), abort()
(SIGABRT), ``kill -9 $$`` (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli.test_resident import NATIVE, _native_built

from conftest import PYTHON, run_systrace, systrace_env

DIES = r"""
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argv[1][0] == 's') { volatile int *p = 0; *p = 1; }  /* SIGSEGV */
    if (argv[1][0] == 'a') abort();                            /* SIGABRT */
    kill(getpid(), SIGKILL);                                   /* SIGKILL */
    return 0;
}
"""
SIGNALS = {"s": signal.SIGSEGV, "a": signal.SIGABRT, "k": signal.SIGKILL}
MODES = ["in process", "in process, Python loop", "resident, Python client",
         "resident, native client"]


@pytest.fixture(scope="module")
def dies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dies")
    (d / "dies.c").write_text(DIES)
    subprocess.run(["gcc", "-O0", "-o", str(d / "dies"), str(d / "dies.c")], check=True)
    return d / "dies"


@pytest.fixture(params=MODES)
def how(request: pytest.FixtureRequest) -> Iterator[tuple[list[str], dict[str, str]]]:
    """systrace's command line (before its options) and environment, for the mode."""
    mode = request.param
    if mode.startswith("in process"):
        env = systrace_env({"SYSTRACE_NO_CLOOP": "1"} if "Python" in mode else None)
        yield [PYTHON, "-m", "systrace_py"], env
        return
    if mode.endswith("native client") and not _native_built():
        pytest.skip(f"no native command at {NATIVE} (reinstall: pip install -e .)")
    runtime = Path(tempfile.mkdtemp(prefix="systrace-rt-"))
    server = {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}
    try:
        started = run_systrace(["--resident", "--resident-idle", "300"], env=server)
        assert started.returncode == 0, started.stderr
        env = systrace_env(server)
        if mode.endswith("native client"):
            env.pop("PYTHONPATH", None)  # (with one, the native command leaves runs to Python)
            yield [str(NATIVE)], env
        else:
            yield [PYTHON, "-m", "systrace_py"], env
    finally:
        run_systrace(["--resident", "stop"], env=server)
        import shutil

        shutil.rmtree(runtime, ignore_errors=True)


@pytest.mark.parametrize("which", list(SIGNALS))
def test_a_signal_death_is_128_plus_n_and_no_core(tmp_path: Path, dies: Path, which: str,
                                                  how: tuple[list[str], dict[str, str]]
                                                  ) -> None:
    signum = SIGNALS[which]
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    systrace, env = how
    # natively: the shell's $? is 128+N
    native = subprocess.run(["sh", "-c", '"$@" 2>/dev/null; echo "status=$?"', "sh",
                             str(dies), which], capture_output=True, text=True)
    assert f"status={128 + signum}" in native.stdout, native
    # systrace exits with it (a normal exit: subprocess would give -N for a signal death)
    work = tmp_path / "work"
    work.mkdir()
    direct = subprocess.run(["sh", "-c", "ulimit -c unlimited 2>/dev/null; exec \"$@\"", "sh",
                             *systrace, "-p", str(policy), "--", str(dies), which],
                            capture_output=True, text=True, env=env, cwd=work, timeout=120)
    assert direct.returncode == 128 + signum, direct
    # a shell's $? under systrace is the same
    shell = subprocess.run(["sh", "-c", '"$@"; echo "status=$?"', "sh", *systrace, "-p",
                            str(policy), "--", str(dies), which],
                           capture_output=True, text=True, env=env, cwd=work, timeout=120)
    assert shell.stdout.strip().splitlines()[-1] == f"status={128 + signum}", shell
    assert "Traceback" not in direct.stderr + shell.stderr, direct.stderr + shell.stderr
    # systrace dumped no core of its own (core_pattern a file name: a dump lands in the
    # working directory; a traced program dumps none unless its policy lifts it)
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if not pattern.startswith("|"):
        assert not [name for name in os.listdir(work) if name.startswith("core")]
