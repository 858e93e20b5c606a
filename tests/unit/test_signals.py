"""Signals aimed at the tracer (engine.signals): register decoding, which signals would end the
tracer, and kill(2)'s permission rule -- the pure parts; tests/escape/test_escape_tracer.py
attacks the whole."""

from __future__ import annotations

import errno
import fcntl as fcntl_module
import os
import signal
import subprocess
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from conftest import outsider
from systrace_py.engine import cloop, signals
from systrace_py.engine.decode import DecodedCall
from systrace_py.engine.signals import _Credentials
from systrace_py.kernel import (
    DEV_CONSOLE,
    DEV_TTY,
    DEV_TTY0,
    F_OWNER_PGRP,
    F_OWNER_PID,
    F_OWNER_TID,
    F_SETOWN,
)
from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, CallFacts
from systrace_py.syscalls import NUMBERS


def creds(uid: str = "1000\t1000\t1000\t1000", cap_eff: str = "0000000000000000",
          pgrp: int = 50, session: int = 40) -> _Credentials:
    # the name is the process's choice: any bytes but NUL ("\n" is escaped in status only)
    status = f"Name:\ta\xff\\n)\nUid:\t{uid}\nCapEff:\t{cap_eff}\n".encode("latin-1")
    stat = f"123 (a) \xff\nodd) name) S 1 {pgrp} {session} 0 -1".encode("latin-1")
    return _Credentials(status, stat)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.integers(0, 2**32 - 1))
def test_int32_reads_the_low_half_of_a_register_as_signed(value, garbage):
    register = (garbage << 32) | (value & 0xFFFFFFFF)
    assert signals.int32(register) == value


def test_default_fatal_signals_would_end_the_tracer_and_the_others_not():
    assert signals.would_end_tracer(signal.SIGKILL)
    assert signals.would_end_tracer(signal.SIGUSR1)  # default: terminate
    assert signals.would_end_tracer(signal.SIGRTMIN + 2)
    for sig in (signal.SIGTSTP, signal.SIGSTOP, signal.SIGCONT, signal.SIGCHLD, signal.SIGWINCH):
        assert not signals.would_end_tracer(sig)
    previous = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        assert not signals.would_end_tracer(signal.SIGUSR2)  # ignored by the tracer
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_signals_the_tracer_handles_itself_are_taken_over_too():
    """Red team 32: under --attach SIGINT and SIGTERM have handlers that detach the tree; a
    signal the tracer handles in Python is kept from it, as one that would end it is."""
    previous = signal.signal(signal.SIGUSR1, lambda _signum, _frame: None)
    try:
        assert signals.handled_by_tracer(signal.SIGUSR1)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        assert not signals.handled_by_tracer(signal.SIGUSR1)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        assert not signals.handled_by_tracer(signal.SIGUSR1)  # (would_end_tracer's)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert not signals.handled_by_tracer(signal.SIGKILL)
    assert not signals.handled_by_tracer(signal.SIGCHLD)  # (not fatal: the kernel's)


def test_a_name_with_parentheses_newlines_and_no_utf8_gives_group_and_session():
    c = creds(pgrp=77, session=66)
    assert (c.pgrp, c.session) == (77, 66)


def test_the_kill_permission_rule():
    sender = creds("1000\t1000\t1000\t1000")
    assert sender.may_signal(creds("1000\t0\t1000\t0"), signal.SIGTERM)  # real uid
    assert sender.may_signal(creds("0\t0\t1000\t0"), signal.SIGTERM)  # saved uid
    assert not sender.may_signal(creds("0\t1000\t0\t0"), signal.SIGTERM)  # effective only
    assert not sender.may_signal(None, signal.SIGTERM)
    setuid_sender = creds("1000\t0\t0\t0")
    assert setuid_sender.may_signal(creds("0\t0\t0\t0"), signal.SIGTERM)  # effective -> real
    root = creds("0\t0\t0\t0", cap_eff=f"{1 << signals.CAP_KILL:016x}")
    assert root.may_signal(creds("5\t5\t5\t5"), signal.SIGKILL)
    other_user_same_session = creds("2000\t2000\t2000\t2000", session=40)
    assert sender.may_signal(other_user_same_session, signal.SIGCONT)
    assert not sender.may_signal(other_user_same_session, signal.SIGTERM)


def test_calls_the_kernel_can_do_itself_are_left_to_it():
    me = os.getpid()
    assert signals.signal_group(me, me, 0, 0) is None  # a probe delivers nothing
    assert signals.signal_group(me, me, 0, signal.SIGTSTP) is None  # stops the tracer with its job
    assert signals.signal_group(me, me, -(2**31), signal.SIGKILL) is None  # ESRCH by the kernel
    assert signals.signal_group(me, me, 1234, signal.SIGKILL) is None  # one process
    other_group = os.getpgrp() + 1
    assert signals.signal_group(me, me, -other_group, signal.SIGKILL) is None


def test_the_tracers_threads_are_its_tasks():
    me = os.getpid()
    assert me in signals.tracer_tids()
    caller = subprocess.Popen(["sleep", "30"])  # (a task of the tracer's pid namespace)
    try:
        assert signals.aims_at_tracer(me, caller.pid)
        assert not signals.aims_at_tracer(0, caller.pid)
        assert not signals.aims_at_tracer(-me, caller.pid)
    finally:
        caller.kill()
        caller.wait()


def test_a_signal_of_the_caller_to_itself_reads_nothing(monkeypatch):
    """A task signalling itself (LTP's signal06: 150,000 tkills, every one Python's) is
    traced, so never the tracer's: no listing of the tracer's tasks, no read of the target's
    command line."""
    caller = subprocess.Popen(["sleep", "30"])
    read: list[object] = []
    monkeypatch.setattr(signals, "tracer_tids", lambda: read.append("tids") or set())
    monkeypatch.setattr(signals, "resident_tracer", lambda *a: read.append(a) or False)
    try:
        assert not signals.aims_at_tracer(caller.pid, caller.pid)
        assert read == []
        assert not signals.aims_at_tracer(caller.pid + 1, caller.pid)
        assert read  # (another target is looked at)
    finally:
        caller.kill()
        caller.wait()


def test_an_owner_of_the_callers_own_needs_no_permit():
    """A descriptor's owner the kernel will signal: the caller's own process or thread, or
    none (0 clears it; a negative id the kernel refuses), reaches no other process."""
    me = os.getpid()
    thread = me + 1  # (a tid of the caller that is not its tgid)
    assert signals.own_owner(F_OWNER_PID, me, me, me)
    assert signals.own_owner(F_OWNER_TID, thread, thread, me)
    assert signals.own_owner(F_OWNER_PID, 0, me, me) and signals.own_owner(F_OWNER_PGRP, 0, me, me)
    assert not signals.own_owner(F_OWNER_TID, me, thread, me)  # another thread: a tree question
    assert not signals.own_owner(F_OWNER_PID, me + 7, me, me)
    assert not signals.own_owner(F_OWNER_PGRP, os.getpgrp(), me, me)  # a group: its members


def test_an_owner_names_its_tasks_as_a_kill_would():
    me = os.getpid()
    assert signals.owner_targets(F_OWNER_PID, 4321, me) == (4321,)
    assert signals.owner_targets(F_OWNER_TID, 4321, me) == (4321,)
    # (a group of its own: pytest's is shared with the other worker's processes, which come
    # and go between two reads of /proc)
    with outsider() as alone:
        members = signals.owner_targets(F_OWNER_PGRP, alone.pid, me)
        assert members == (alone.pid,) == signals.group_members(-alone.pid, me)
    assert signals.owner_targets(F_OWNER_PID, 0, me) is None
    assert signals.owner_targets(7, 4321, me) is None  # a kind the kernel refuses (EINVAL)


def test_setting_an_owner_is_decided_as_the_kill_it_stands_for():
    """fcntl(F_SETOWN): the caller itself needs no decision; another process is decided as
    kill, and a tree-scoped permit does not cover it unless its tasks are the tree's (no
    tracer here: none is); its own group likewise."""
    me = os.getpid()
    table = loads_policy(textwrap.dedent("""
        default = "permit"
        [[rule]]
        calls = ["signal"]
        target = "tree"
        action = "permit"
        [[rule]]
        calls = ["signal"]
        action = "never"
        errno = "EPERM"
    """), "pol.toml").main

    def fcntl(cmd: int, arg: int) -> DecodedCall:
        return DecodedCall(me, me, NUMBERS["fcntl"], "fcntl", (3, cmd, arg))

    assert fcntl(F_SETOWN, me).owner_as_signal() is None
    assert fcntl(F_SETOWN, 0).owner_as_signal() is None
    assert fcntl(fcntl_module.F_SETFL, 4321).owner_as_signal() is None  # (no owner set)
    for arg in (4321, -os.getpgrp()):
        as_signal = fcntl(F_SETOWN, arg).owner_as_signal()
        assert as_signal == CallFacts("kill", tree=False), arg
        decision = table.decide(as_signal)
        assert decision.action is Action.NEVER and decision.errno == errno.EPERM
    assert table.decide(CallFacts("kill", tree=True)).action is Action.PERMIT


def test_a_terminal_no_session_has_gives_no_foreground_group():
    """O_ASYNC on a terminal makes its foreground group a file's owner only when a session
    has it as its controlling terminal (tty_fasync): a fresh pty's has none, so the caller
    becomes the owner -- nothing to decide."""
    master, slave = os.openpty()
    try:
        assert signals.foreground_group(os.fstat(slave).st_rdev) is None
    finally:
        os.close(master)
        os.close(slave)
    assert signals.foreground_group(0) is None


def test_a_terminal_is_itself_and_dev_tty0_the_virtual_console_it_stands_for():
    """A pty is the terminal its device number says; /dev/tty0 (4,0) is the foreground
    virtual console (sysfs), whose number its sessions show as their tty_nr -- looked up by
    4,0 no session has it, and O_ASYNC there was taken for the caller's own."""
    master, slave = os.openpty()
    try:
        device = os.fstat(slave).st_rdev
        assert signals.terminal_behind(device, os.getpid()) == device
    finally:
        os.close(master)
        os.close(slave)
    try:
        with open("/sys/class/tty/tty0/active") as active:
            name = active.read().split()[-1]
        console = os.stat(f"/dev/{name}").st_rdev
    except (OSError, IndexError):
        return  # (no virtual console here: the escape test skips too)
    tty0 = os.makedev(*DEV_TTY0)
    assert signals.terminal_behind(tty0, os.getpid()) == console != tty0


def test_the_screen_in_front_may_be_any_console_s():
    """/dev/vcs, /dev/vcsu, /dev/vcsa (7,0, 7,64, 7,128) show the screen of whichever console
    is in front at each read: one screen by those three names (red team 70), then every
    numbered screen (red team 66), by each of its three names (review 44); a numbered
    screen is console N's, by its three names: /dev/vcsN, vcsuN, vcsaN show one screen."""
    every = ("/dev/vcs", "/dev/vcsu", "/dev/vcsa", *(
        f"/dev/{kind}{n}" for n in range(1, 64) for kind in ("vcs", "vcsu", "vcsa")))
    for minor in (0, 64, 128):
        assert signals.screens_stood_for(os.makedev(7, minor)) == every
    for minor in (1, 64 + 1, 128 + 1):
        assert signals.screens_stood_for(os.makedev(7, minor)) == \
            ("/dev/vcs1", "/dev/vcsu1", "/dev/vcsa1")
    assert signals.screens_stood_for(os.makedev(7, 128 + 63))[0] == "/dev/vcs63"
    assert signals.screens_stood_for(os.makedev(7, 192)) is None  # (not a screen's)
    assert signals.screens_stood_for(os.makedev(*DEV_TTY0)) is None


def test_the_native_loop_takes_the_devices_python_reads_as_others_for_stand_ins() -> None:
    """The devices a call on which is decided by the names of what they stand for -- those
    terminal_stood_for and screens_stood_for read as another -- are signals.STAND_INS, which
    the native loop is given (_cloop.c stands_in hands every call on one to Python): the same
    answer for every major and minor below 256 (the screens end at 191).  Before close 25 the
    loop wrote its own ranges beside Python's (two homes of one fact)."""
    fast = cloop.load()
    module = cloop.extension() if fast is not None else None
    for major in range(256):
        for minor in range(256):
            device = os.makedev(major, minor)
            other = (signals.screens_stood_for(device) is not None
                     or (major, minor) in (DEV_TTY, DEV_CONSOLE, DEV_TTY0))
            assert signals.stands_in(device) == other, (major, minor)
            if module is not None:
                assert module.stands_in(major, minor) == other, (major, minor)
