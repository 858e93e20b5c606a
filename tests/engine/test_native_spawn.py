"""The native spawn (``_cloop.spawn``, Tracer._fork): the program's process as a child that
shares the tracer's memory and runs C code only, instead of a fork of the tracer (issue 16).

It must leave the program exactly what child.become_program leaves it: stopped by its own
SIGSTOP before any filter is loaded (the tracer seizes it there), no handler of the
starter's left to run on the starter's memory, the signals the command found ignored or
blocked still so and the others at their defaults, no core files, no_new_privs, the working
directory and environment asked for, then its filters and its exec -- and the same message
and exit status as become_program when the exec fails.  Each case runs a small driver in a
fresh interpreter (the starter: its signals set before ``child`` is imported, which reads
them), and looks at real processes through /proc.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("systrace_py._cloop")

#: The starter: SIGHUP ignored (nohup), SIGUSR1 blocked, a Python handler for SIGUSR2 and
#: SIGTERM, not dumpable (DUMPABLE=1: dumpable); then the program's process spawned with an
#: allow-all filter (no_new_privs: no privilege needed), observed while stopped, continued,
#: and its exit status reported (None: spawn() said to fork).
DRIVER = r"""
import ctypes, json, os, signal, struct, sys
for inherited in (signal.SIGINT, signal.SIGQUIT):  # (ignored when run in the background)
    signal.signal(inherited, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_SETMASK, [signal.SIGUSR1])
signal.signal(signal.SIGUSR2, lambda *_: os.write(1, b"handler ran\n"))
signal.signal(signal.SIGTERM, lambda *_: os.write(1, b"handler ran\n"))
from systrace_py import _cloop
from systrace_py.engine.child import RESTORED_SIGNALS, native_request, no_core_limits

executable, cwd, *argv = sys.argv[1:]
allow = struct.pack("HBBI", 0x06, 0, 0, 0x7FFF0000)  # BPF_RET|BPF_K SECCOMP_RET_ALLOW
request = native_request([allow], argv=argv, executable=executable, env={"ONLY": "this"},
                         cwd=cwd, restore_signals=RESTORED_SIGNALS, no_core=True, nnp=True)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(4, int(os.environ.get("DUMPABLE", "0")), 0, 0, 0)  # PR_SET_DUMPABLE, as Session does
spawned = _cloop.spawn(*request)
if spawned is None:
    print(json.dumps({"spawned": None}))
    sys.exit()
pid, memory = spawned
_, status = os.waitpid(pid, os.WUNTRACED)
seen = {"stopped by": os.WSTOPSIG(status) if os.WIFSTOPPED(status) else None,
        "core limits": [str(limit) for limit in no_core_limits()]}
with open(f"/proc/{pid}/status") as f:
    fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
seen["stopped"] = {name: fields[name] for name in ("SigCgt", "Seccomp_filters", "NoNewPrivs")}
seen["shares memory"] = libc.syscall(312, os.getpid(), pid, 1, 0, 0) == 0  # kcmp KCMP_VM
sys.stdout.flush()
os.kill(pid, signal.SIGCONT)
_, status = os.waitpid(pid, 0)
seen["exit"] = os.waitstatus_to_exitcode(status)
seen["starter dumpable"] = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
del memory
print(json.dumps(seen))
"""


def _drive(tmp_path: Path, executable: str, *argv: str, starter: tuple[str, ...] = (),
           dumpable: int = 0) -> tuple[dict[str, object], str, str]:
    run = subprocess.run([*starter, sys.executable, "-c", DRIVER, executable, str(tmp_path),
                          *argv], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "DUMPABLE": str(dumpable)})
    *output, last = run.stdout.splitlines()
    return json.loads(last), "\n".join(output), run.stderr


def _status(output: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in output.splitlines() if ":\t" in line)


def test_the_child_stops_itself_before_its_filter_with_no_handler_of_the_starters(tmp_path):
    seen, output, _ = _drive(tmp_path, "/bin/cat", "cat", "/proc/self/status",
                             "/proc/self/limits")
    # stopped by its own SIGSTOP, in the starter's memory, before any filter: what a tracer
    # seizes there holds every call of the program from its first instruction on
    assert seen["stopped by"] == 19, seen
    assert seen["shares memory"] is True, seen
    assert seen["stopped"] == {"SigCgt": "0000000000000000", "Seccomp_filters": "0",
                               "NoNewPrivs": "1"}, seen
    assert seen["exit"] == 0, seen
    # the starter (a tracer protected by Session._protected) is still not dumpable: the
    # child, in its memory, did not make itself -- and so the starter -- dumpable
    assert seen["starter dumpable"] == 0, seen
    status = _status(output)
    assert "handler ran" not in output
    # SIGHUP (1) ignored as the starter had it, SIGUSR1 (10) blocked, nothing caught: the
    # handlers were the starter's, SIGPIPE and SIGXFSZ Python's own
    assert status["SigIgn"] == f"{1 << 0:016x}", output
    assert status["SigBlk"] == f"{1 << 9:016x}", output
    assert status["SigCgt"] == "0000000000000000", output
    assert status["NoNewPrivs"] == "1" and status["Seccomp_filters"] == "1", output
    core = next(line for line in output.splitlines() if line.startswith("Max core file size"))
    # (the starter's limits lowered to at most 1 byte: no core file)
    assert core.split()[4:6] == seen["core limits"], core


def test_the_working_directory_and_environment_are_the_ones_asked_for(tmp_path):
    seen, output, _ = _drive(tmp_path, "/bin/sh", "sh", "-c",
                             'pwd; echo "$ONLY ${HOME-no home}"')
    assert seen["exit"] == 0, seen
    assert output.splitlines() == [str(tmp_path), "this no home"], output


@pytest.mark.parametrize(("program", "code", "why"), [
    ("missing", 127, "No such file or directory"),
    ("data", 126, "Permission denied"),
])
def test_a_failed_exec_is_said_and_exits_as_become_program_does(tmp_path, program, code, why):
    (tmp_path / "data").write_text("not a program\n")
    seen, _, stderr = _drive(tmp_path, str(tmp_path / program), "name0")
    assert seen["exit"] == code, seen
    assert stderr == f"systrace: name0: {why}\n"


def test_what_the_native_child_cannot_do_exactly_is_left_to_the_fork():
    from systrace_py.engine.child import RESTORED_SIGNALS, native_request

    def request(argv: list[str], env: dict[str, str]) -> object:
        return native_request([], argv=argv, executable="/bin/true", env=env, cwd=None,
                              restore_signals=RESTORED_SIGNALS, no_core=True, nnp=False)

    assert request(["true"], {"A": "b"}) is not None
    assert request(["true", "a\0b"], {}) is None      # (os.execve: ValueError, exit 126)
    assert request(["true"], {"A=B": "c"}) is None
    assert request([""], {}) is None
    assert request([], {}) is None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="drops CAP_SYS_PTRACE from a root starter with setpriv")
def test_a_starter_that_is_not_dumpable_and_may_not_trace_such_a_child_is_told_to_fork(
        tmp_path):
    # without CAP_SYS_PTRACE a tracer may not seize nor read a child that is not dumpable,
    # and the child shares its memory -- making itself dumpable would make the tracer so
    without = ("setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace")
    seen, _, stderr = _drive(tmp_path, "/bin/true", "true", starter=without)
    assert seen == {"spawned": None}, stderr
    # where the starter is dumpable already, nothing has to change: spawned
    seen, _, stderr = _drive(tmp_path, "/bin/true", "true", starter=without, dumpable=1)
    assert seen["exit"] == 0 and seen["starter dumpable"] == 1, (seen, stderr)
