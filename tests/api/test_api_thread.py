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
