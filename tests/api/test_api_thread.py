"""The library used from a thread other than the main one (review 25).

The start imports ``threading`` only when a thread is made (issue 16: session.py asks
``_thread``), so whether the run is on the main thread -- where alone its signal handlers can
be set (Session._held_signals) -- must not be asked of a ``threading`` imported late: imported
first by a worker, ``threading.main_thread()`` is that worker.  Real processes: a Python
program that never imports ``threading`` calls ``monitor`` from a thread started through
``_thread``, and from a thread C made (a ctypes callback on a pthread: no Python thread is
counted), and traces ``true`` to its end, its main thread's SIGTERM handler untouched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import systrace_env

PROGRAM = r"""
import _thread, ctypes, signal, sys, time
import systrace_py

mine = lambda signum, frame: None
signal.signal(signal.SIGTERM, mine)
out = {}

def work():
    try:
        out["code"] = systrace_py.HandlerMonitor({}, None).run(["true"])
    except BaseException as exc:
        out["error"] = repr(exc)

if sys.argv[1] == "_thread":
    _thread.start_new_thread(work, ())
    while not out:
        time.sleep(0.01)
else:  # a thread C made: Python's own thread count stays 0
    libc = ctypes.CDLL(None)
    START = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
    def start(_arg):
        work()
        return None
    entry = START(start)
    handle = ctypes.c_ulong()
    assert libc.pthread_create(ctypes.byref(handle), None, entry, None) == 0
    libc.pthread_join(handle, None)

print("outcome", out)
print("handler kept", signal.getsignal(signal.SIGTERM) is mine)
"""


@pytest.mark.parametrize("how", ["_thread", "pthread"])
def test_the_library_runs_from_a_thread_that_is_not_the_main_one(how: str) -> None:
    proc = subprocess.run([sys.executable, "-c", PROGRAM, how], capture_output=True,
                          text=True, env=systrace_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "outcome {'code': 0}" in lines, (proc.stdout, proc.stderr)
    assert "handler kept True" in lines



STOPPED_FROM_A_THREAD = r"""
import os, select, sys, threading
import systrace_py

out = {}
where = sys.argv[1]

def work():
    def stop(ctx, pid, call):
        call.stop()  # (the shell, at its wait: killed by the reply; the rest by kill_all)
        return ctx
    try:
        out["code"] = systrace_py.HandlerMonitor(
            {"wait4:entry": stop, "waitid:entry": stop}, None).run(
                ["sh", "-c", "sleep 1000 & echo $! > pid; wait"], cwd=where)
        # (while this thread, its tracer, lives on: EXITKILL does not end the shell's
        # child; a pidfd is readable once its process has ended -- a bound far past a
        # SIGKILL's delivery, far short of the sleep)
        with open(os.path.join(where, "pid")) as f:
            pid = int(f.read())
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            out["left"] = "gone"
            return
        if select.select([pidfd], [], [], 60)[0]:
            out["left"] = "gone"
        else:
            with open(f"/proc/{pid}/stat") as stat:
                out["left"] = stat.read().rsplit(")", 1)[1].split()[0]
            os.kill(pid, 9)
    except BaseException as exc:
        out["error"] = repr(exc)

thread = threading.Thread(target=work)
thread.start()
thread.join()
print("outcome", out)
"""


def test_a_run_traced_from_a_thread_kills_its_own_tree(tmp_path: Path) -> None:
    """Mounts29 (fuse47's leftover: library runs and their threads): a run that ends by
    killing its tree (``Tracer.kill_all``: a handler's ``stop()``, a failure) kills the
    processes its tracing thread traces -- a process's TracerPid is that thread's id, not
    the process's.  A run traced from a thread other than the main one, stopped at its
    shell's wait (the shell killed by the reply, its background ``sleep`` by ``kill_all``):
    on main ``kill_all`` looked for the process's id and killed nothing, and the ``sleep``
    ran on after the run returned (fails on main: ``'left': 'S'``, a minute on)."""
    proc = subprocess.run([sys.executable, "-c", STOPPED_FROM_A_THREAD, str(tmp_path)],
                          capture_output=True, text=True, env=systrace_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = next((x for x in proc.stdout.splitlines() if x.startswith("outcome ")), "")
    assert "'code'" in line and "'left': 'gone'" in line, (proc.stdout, proc.stderr)


TWO_RUNS = r"""
import _thread, os, sys, time
import systrace_py

started, go = sys.argv[1], sys.argv[2]
out = {}

def first():
    try:
        out["first"] = systrace_py.HandlerMonitor({}, None).run(
            ["sh", "-c", f": > {started}; while [ ! -e {go} ]; do sleep 0.05; done; exit 7"])
    except BaseException as exc:
        out["first"] = repr(exc)

_thread.start_new_thread(first, ())
deadline = time.time() + 60
while not os.path.exists(started) and "first" not in out and time.time() < deadline:
    time.sleep(0.02)
try:
    out["second"] = systrace_py.HandlerMonitor({}, None).run(["true"])
except BaseException as exc:
    out["second"] = f"{type(exc).__name__}: {exc}"
open(go, "w").close()
while "first" not in out:
    time.sleep(0.01)
print("first", out["first"])
print("second", out["second"])
"""


def test_a_second_run_at_once_is_refused_not_hung(tmp_path: Path) -> None:
    """Two runs at once from two threads of one process took each other's wait reports (each
    loop waits for any traced task) and hung (mounts29): the second is refused with a clear
    error, the first runs to its end (the library traces one run at a time)."""
    proc = subprocess.run([sys.executable, "-c", TWO_RUNS, tmp_path / "started", tmp_path / "go"],
                          capture_output=True, text=True, env=systrace_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "first 7" in proc.stdout, proc.stdout
    assert "second TracerError: another run is being traced in this process" in proc.stdout, \
        proc.stdout
