"""Red team 12: a signal of the tracer's to a pid the traced tree no longer has.

systrace passes the SIGTERM and SIGHUP it gets on to the command's process (session.py,
``Session._forwarding``) -- by the pid it was given at the start, also once the command had
ended and the run went on for what it left running (a daemon of the tree, as strace waits for
them).  That pid is free once systrace has reaped the command, and the next process given it
is anyone's: tr_stale_pid.c's main process exits, its child keeps the run going; an outsider
(here the test, a process outside the tree) is given the pid; systrace, sent SIGTERM, sent
SIGTERM to the outsider.  A root systrace running a command as another user (`-c`) signalled
whatever process had that pid.  Now a request is passed on only while the command's process
is traced (the tracer has not reaped it)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from escape_lib import SYSTRACE, Scene, read_never, scene_env

#: the signals systrace passes on (SIGTERM, SIGHUP): blocked in the outsider, so that one sent
#: to it stays pending, to be read in its /proc status (no timing: it is there or not)
_PASSED_ON = {signal.SIGTERM, signal.SIGHUP}


def outsider_on(pid: int) -> subprocess.Popen[bytes] | None:
    """A process outside the tree, given ``pid`` (root: /proc/sys/kernel/ns_last_pid; other
    forks on the machine may come first, so a few tries), with SIGTERM and SIGHUP blocked; None
    when it could not be given that pid."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)
    try:
        for _ in range(50):
            with open("/proc/sys/kernel/ns_last_pid", "w") as last:
                last.write(str(pid - 1))
            victim = subprocess.Popen(["sleep", "120"])
            if victim.pid == pid:
                return victim
            victim.kill()
            victim.wait()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return None


def pending_signals(pid: int) -> int:
    """The signals pending for the process (ShdPnd | SigPnd of /proc/PID/status)."""
    found = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("ShdPnd:", "SigPnd:")):
                found |= int(line.split()[1], 16)
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_request_to_the_tracer_never_reaches_a_process_given_the_commands_pid(
        build, tmp_path, sig):
    if os.geteuid() != 0:
        pytest.skip("giving a process a chosen pid (ns_last_pid) needs root")
    program = build("escape/tr_stale_pid.c")
    s = Scene.make(tmp_path)
    policy_file = s.root / "policy.toml"
    policy_file.write_text(read_never(s.secret))
    tracer = subprocess.Popen([*SYSTRACE, "-p", str(policy_file), "--", str(program)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=scene_env(s), start_new_session=True, cwd=s.root)
    victim = None
    try:
        assert tracer.stdout is not None
        said = tracer.stdout.readline().split()
        main, child = int(said[1]), int(said[3])
        assert tracer.stdout.readline().split() == ["reaped", str(main)]
        victim = outsider_on(main)
        if victim is None:
            pytest.skip(f"no process could be given pid {main} (other forks came first)")
        tracer.send_signal(sig)
        # the run ends when the child the command left is killed; the request was handled
        # before (systrace's handler runs before it can see that end and exit)
        os.kill(child, signal.SIGKILL)
        tracer.communicate(timeout=60)
        assert not pending_signals(victim.pid) & (1 << (sig - 1)), (
            f"systrace sent {signal.Signals(sig).name} to pid {main}, no process of its tree")
    finally:
        if victim is not None:
            victim.kill()
            victim.wait()
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()
