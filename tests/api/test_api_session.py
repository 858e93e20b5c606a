"""The library runs through the command's session: a library user gets its hardening.

Real processes: a Python program that calls ``monitor`` on its main thread is sent SIGTERM;
the traced command gets it (and ends), ``monitor`` returns 128+15, and afterwards the
program's own SIGTERM handler and dumpable flag are back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from conftest import systrace_env

PROGRAM = r"""
import ctypes, signal, sys
import systrace_py

libc = ctypes.CDLL(None)
mine = lambda signum, frame: None
signal.signal(signal.SIGTERM, mine)

def on_exec(ctx, pid, event):
    print("started", flush=True)
    return ctx

code = systrace_py.HandlerMonitor({"@exec": on_exec}, None).run(["sleep", "30"])
print("code", code)
print("handler restored", signal.getsignal(signal.SIGTERM) is mine)
print("dumpable", libc.prctl(3, 0, 0, 0, 0))
"""


def test_sigterm_to_a_library_user_reaches_the_traced_command_and_handlers_come_back():
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=systrace_env())
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert f"code {128 + signal.SIGTERM}" in lines, (out, err)
    assert "handler restored True" in lines
    assert "dumpable 1" in lines
