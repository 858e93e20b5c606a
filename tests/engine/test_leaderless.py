"""A process whose main thread has exited while a thread lives on (tests/progs/leaderless.c).

Its pid is then a zombie's, with no memory and no cwd or descriptor table in /proc: the
tracer read the thread's calls through the pid (process_vm_readv: ESRCH, and a /proc/PID/mem
opened then writes nothing), so every call it had to read failed where natively it works.
The thread's calls are read, and their checked copies written, through the thread itself;
its cwd and descriptors through /proc/TID.  Run natively and under a permit-default policy
with a never rule on one file and one address, with the native loop and with the Python one:
the same answers, but for the never'd ones.  The thread's exec ends with it as the leader
(de_thread), reported under the leader's tid -- the leader alive or not.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Traced, results

#: what the program prints natively, but for the calls the policy refuses
_NATIVE = {
    "open allowed": "ok", "stat allowed": "ok", "open denied": "ok", "stat denied": "ok",
    "chdir": "ok", "relative open allowed": "ok", "relative open denied": "ok",
    "openat allowed": "ok", "openat denied": "ok", "fstatat denied": "ok",
    "connect 127.0.0.1": "ok", "connect 127.0.0.2": "ECONNREFUSED",
    "exec missing": "ENOENT", "exec": "ok",
    "exec'd open allowed": "ok", "exec'd open denied": "ok",
}

#: the calls the policy refuses (never: EPERM)
_REFUSED = ("open denied", "stat denied", "relative open denied", "openat denied",
            "fstatat denied", "connect 127.0.0.2", "exec'd open denied")


def _policy(denied: str) -> str:
    return f"""
        default = "permit"

        [[rule]]
        calls = ["fsread", "fswrite"]
        path = "{denied}"
        action = "never"

        [[rule]]
        calls = ["net-connect"]
        address = "127.0.0.2"
        action = "never"
    """


@pytest.mark.parametrize(("how", "threads"), [("pthread_exit", "1"), ("exit", "1"),
                                              ("exit", "2"), ("none", "1")])
def test_a_thread_outliving_its_leader_is_traced_as_it_runs_natively(
        traced: Traced, tmp_path: Path, build: Callable[..., Path], how: str, threads: str,
        loop: dict[str, str]) -> None:
    # "exit": the leader makes no call on its way out, so the first copy the tracer holds
    # (and its /proc/PID/mem open) comes once the leader is a zombie; "pthread_exit" loads
    # the unwinder first (held opens, while the leader lives).  "2": a second thread, started
    # once the leader is gone (clone3's struct read), is alive when the first one execs.
    # "none": the leader lives (in pause) until the thread's exec ends it -- the tracer took
    # the exec event, under the leader's tid, for the leader's and failed (TaskStateError)
    program = str(build("progs/leaderless.c"))
    dirs = {}
    for name in ("native", "traced"):
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        (dirs[name] / "allowed").write_text("")
        (dirs[name] / "denied").write_text("")
    native = subprocess.run([program, program, str(dirs["native"]), how, threads],
                            capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert results(native.stdout) == _NATIVE, native.stdout
    r = traced.run(_policy(str(dirs["traced"] / "denied")), program, program,
                   str(dirs["traced"]), how, threads,
                   env=loop)
    assert r.returncode == 0, r.stdout + r.stderr
    assert results(r.stdout) == {**_NATIVE, **dict.fromkeys(_REFUSED, "EPERM")}, \
        r.stdout + r.stderr
