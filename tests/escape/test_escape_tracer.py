"""Class 6: attacks on the tracer -- killing it (found through TracerPid), ptrace of a sibling
or of an outsider (PTRACE_O_SUSPEND_SECCOMP), writes to /proc/PID/mem (the tracer's, an
outsider's, our own read-only scratch pages), process_vm_writev, prctl and seccomp calls that
would loosen anything (a SECCOMP_RET_USER_NOTIF listener outranks TRACE), SIGKILL of tracees
between entry and exit (the tracer must not desync), and work pushed to a process outside the
tree through the terminal (TIOCSTI)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import pytest
from escape_lib import (
    PYTHON,
    SECRET_MAGIC,
    SYSTRACE,
    Outcome,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    outsider,
    permit,
    pids_running,
    policy,
    read_never,
    require_real,
    scene_env,
)

# --- killing the tracer --------------------------------------------------------------------------

GUARDED = ["kill", "tkill", "tgkill", "pidfd", "sigqueue", "tgsigqueue", "procfd"]
GROUP = ["pgrp", "pgid"]
THREADS = ["thread_kill", "thread_tkill"]
#: a process with a second thread: the control run's stand-in for a tracer with threads
THREADED_SLEEPER = ("import threading, time\n"
                    "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
                    "time.sleep(30)\n")
#: systrace run in a process with a second thread (as a library user's, or the prompt's)
THREADED_SYSTRACE = [PYTHON, "-c",
                     "import sys, threading, time\n"
                     "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
                     "from systrace_py.cli import main\n"
                     "sys.exit(main())\n"]


def signal_attack(build, tmp_path, mode: str) -> Outcome:
    """The control run kills a stand-in and its survivor reads the secret; the traced run must
    not let any process read it -- whether the signal is refused or the tracer dies."""
    program = build("escape/tr_signal.c")
    control_scene = Scene.make(tmp_path, "control")
    threads = mode in THREADS
    stand_in = [PYTHON, "-c", THREADED_SLEEPER] if threads else ["sleep", "30"]
    with outsider(stand_in) as victim:
        if threads:  # wait for the second thread
            deadline = time.monotonic() + 5
            while len(os.listdir(f"/proc/{victim.pid}/task")) < 2 and \
                    time.monotonic() < deadline:
                time.sleep(0.02)
        require_real(attack(program, mode, control_scene.secret, victim.pid, policy_text=None,
                            scene=control_scene))
    s = Scene.make(tmp_path, "traced")
    traced = attack(program, mode, s.secret, policy_text=read_never(s.secret), scene=s,
                    tracer=THREADED_SYSTRACE if threads else SYSTRACE)
    assert_blocked(traced, may_be_killed=True)
    deadline = time.monotonic() + 5
    while pids_running(program) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pids_running(program), "traced processes outlived their tracer"
    return traced


@pytest.mark.parametrize("mode", GUARDED + GROUP + THREADS)
def test_killing_the_tracer_never_frees_a_tracee(build, tmp_path, mode):
    signal_attack(build, tmp_path, mode)


@pytest.mark.parametrize("mode", GUARDED + THREADS)
def test_signals_to_the_tracer_are_refused(build, tmp_path, mode):
    traced = signal_attack(build, tmp_path, mode)
    assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced


def test_a_group_kill_reaches_the_group_but_not_the_tracer(build, tmp_path):
    """kill(0, SIGKILL): the program kills itself and its group as it would alone, and systrace
    lives to report it (128+9), rather than dying of it (-9)."""
    traced = signal_attack(build, tmp_path, "pgrp")
    assert traced.returncode == 128 + 9, traced


def test_a_kill_of_the_tracers_group_from_outside_it_spares_the_tracer(build, tmp_path):
    """A child leaves the group, then kill(-group, SIGKILL): the call succeeds, the program in
    the group dies of it, and systrace lives to report that."""
    traced = signal_attack(build, tmp_path, "pgid")
    assert "from outside the group: ok" in traced.stdout, traced
    assert traced.returncode == 128 + 9, traced


# --- memory of others and of ourselves -----------------------------------------------------------

@contextlib.contextmanager
def victim_process(build):
    """An outsider with a page holding INTACT; yields (proc, pid, address, fd) and checks at the
    end what the page holds (returned through proc.final)."""
    proc = subprocess.Popen([str(build("escape/victim.c"))], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    pid, address, fd = proc.stdout.readline().split()
    try:
        yield proc, pid, address, fd
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, 10)  # SIGUSR1: print the page and exit
        proc.final = proc.stdout.read().strip()  # type: ignore[attr-defined]
        proc.wait(5)


MEMORY_MODES = ["ptrace", "ptrace_suspend", "sibling", "procmem", "vmwritev", "tracer_mem",
                "tracer_fd", "self_mem"]


@pytest.mark.parametrize("mode", MEMORY_MODES)
def test_writing_memory_that_is_not_ours(build, tmp_path, mode):
    program = build("escape/tr_memory.c")
    s = Scene.make(tmp_path)
    with victim_process(build) as (proc, pid, address, fd):
        require_real(attack(program, mode, pid, address, fd, policy_text=None, scene=s))
    if mode not in ("sibling", "self_mem"):
        assert proc.final == "PWNED", "the control run did not reach the victim"
    with victim_process(build) as (proc, pid, address, fd):
        traced = attack(program, mode, pid, address, fd, policy_text=read_never(s.secret),
                        scene=s)
    assert_blocked(traced)
    assert proc.final == "INTACT", f"the victim was written: {proc.final}\n{traced}"


# --- seccomp and prctl ---------------------------------------------------------------------------

def test_own_seccomp_listener_is_refused(build, tmp_path):
    controlled_and_blocked(tmp_path, build("escape/tr_seccomp.c"),
                           lambda s: ["listener", s.secret], lambda s: read_never(s.secret))


def test_own_seccomp_listener_with_high_bits_in_the_operation(build, tmp_path):
    controlled_and_blocked(tmp_path, build("escape/tr_seccomp.c"),
                           lambda s: ["listener_hi", s.secret], lambda s: read_never(s.secret))


@pytest.mark.parametrize("mode", ["dumpable", "mm"])
def test_prctl_that_would_loosen_the_trace(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/tr_prctl.c"), lambda s: [mode],
                           lambda s: policy())


# --- SIGKILL between entry and exit --------------------------------------------------------------

@pytest.mark.slow
def test_sigkill_between_entry_and_exit_does_not_desync_the_tracer(build, tmp_path):
    traced, _ = controlled_and_blocked(tmp_path, build("escape/tr_sigkill.c"),
                                       lambda s: [s.secret, s.decoy, 300],
                                       lambda s: read_never(s.secret))
    assert "afterwards the decoy still opens" in traced.detail, traced
    assert traced.returncode == 0, traced


# --- the terminal: a process outside the tree runs what we type ----------------------------------

def test_terminal_input_injection(build, tmp_path):
    program = build("escape/tr_tiocsti.c")
    s = Scene.make(tmp_path)

    def run(traced: bool) -> tuple[Outcome, bytes]:
        master, slave = os.openpty()
        try:
            out = attack(program, policy_text=policy() if traced else None, scene=s,
                         stdin=slave)
            os.set_blocking(slave, False)
            try:
                left = os.read(slave, 256)  # what the user's shell would read next
            except BlockingIOError:
                left = b""
            return out, left
        finally:
            os.close(master)
            os.close(slave)

    control, left = run(False)
    require_real(control)
    assert b"PWNED-BY-TIOCSTI" in left
    traced, left = run(True)
    assert_blocked(traced)
    assert b"PWNED" not in left


# --- what the tracer read for a decision (red team, issue 11) ------------------------------------

@pytest.mark.parametrize("rule", ["file", "directory"])
def test_the_tracer_never_reads_an_interpreter_a_rule_refuses(build, tmp_path, rule):
    """To decide an exec the tracer reads each interpreter's first bytes to find the next one.
    A permitted script whose #! line names the secret made it read the secret's first 256
    bytes before the rule refused it -- into its memory, which a root tracee reads through
    /proc/TracerPid/mem.  Now an interpreter a rule refuses ends the chain unread.  The control
    is the same search over memory the program itself read the secret into (no tracer to
    read); the traced run looks in the tracer's.  Escaped before."""
    program = build("escape/tr_readback.c")
    control_scene = Scene.make(tmp_path, "control")
    require_real(attack(program, "self", control_scene.work, control_scene.secret,
                        policy_text=None, scene=control_scene))
    s = Scene.make(tmp_path, "traced")
    text = read_never(s.secret) if rule == "file" else \
        policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))
    traced = attack(program, "script", s.work, s.secret, policy_text=text, scene=s)
    assert_blocked(traced)
    assert "EACCES" in traced.stdout, traced  # the exec itself was refused


# --- another process's memory read through /proc (red team, issue 11) ---------------------------

HOLDER = ("import sys, time\n"
          "data = open(sys.argv[1]).read()\n"
          "print('ready', flush=True)\n"
          "time.sleep(30)\n")


def test_reading_another_process_memory_through_proc_is_decided_as_process_vm_readv(
        build, tmp_path):
    """process_vm_readv and ptrace are unsafe calls; open("/proc/PID/mem", O_RDONLY) reads
    the same memory and only writing opens were refused: a process outside the tree holding
    the secret (here a Python process that read it) gave it away.  Now such an open is decided
    as process_vm_readv (EPERM unless a rule names it); the program's own memory stays
    readable, and a rule naming process_vm_readv lifts the refusal."""
    program = build("escape/tr_peek.c")
    s = Scene.make(tmp_path)
    with outsider([PYTHON, "-c", HOLDER, s.secret]) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        require_real(attack(program, holder.pid, policy_text=None, scene=s))
        refused = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))
        traced = attack(program, holder.pid, policy_text=refused, scene=s, options=["-v"])
        assert_blocked(traced)
        assert "EPERM" in traced.detail and "process_vm_readv" in traced.stderr, traced
        own = attack(program, "self", policy_text=refused, scene=s)
        assert own.verdict == "ESCAPED" and "no secret" in own.detail, own
        lifted = policy(permit("process_vm_readv"),
                        never(["fsread", "fswrite"], path=f"{s.secd}/**"))
        assert attack(program, holder.pid, policy_text=lifted, scene=s).verdict == "ESCAPED"


# --- the tracer's own output (red team, issue 11) -------------------------------------------------

def test_names_shown_on_the_terminal_have_their_controls_spelled_out(build, tmp_path):
    """A program named with an OSC title sequence, a BEL, a colour sequence and a bidi
    override: `systrace -v` used to write them raw to the user's terminal, which obeys them.
    Now every name a traced program chose is shown with its controls spelled out."""
    program = build("escape/tr_terminal.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, s.work, policy_text=None, scene=s))
    traced = attack(program, s.work, policy_text=read_never(s.secret), scene=s, options=["-v"])
    assert traced.verdict == "ESCAPED", traced  # (it may run: the name is what is checked)
    assert not set(traced.stderr) & {"\x1b", "\x07", "\u202e"}, repr(traced.stderr)
    assert "e\\x1b]0;pwned\\x07\\x1b[31mX\\u202e" in traced.stderr, traced.stderr


# --- growing the tracer through the native loop (red team 2 of issue 11) -------------------------

VARIANT_CALLS = 10000


def test_new_flags_at_every_call_do_not_grow_the_tracer(build, tmp_path):
    """The native loop learns each variant of a call (an open's flags register) from Python;
    a program giving every open another register (its high half, unknown low bits: the kernel
    ignores both) made it keep one per call, the tracer growing with the calls and slowing
    with their square.  Variants are keyed on the int the kernel reads and bounded
    (_cloop.c MAX_VARIANTS).  Control: natively every open works; traced, every open works
    and the tracer grows by less than 0.1 KiB a call (~0.95 KiB a call before the fix: 37 MiB
    over 40,000 calls; today's loop with the fix taken out keeps 0.24 KiB a call, which 0.4
    did not catch -- review 38: ~310 KiB over 10,000 calls with it, 2,444 KiB without)."""
    binary = build("escape/tr_variants.c")
    scene = Scene.make(tmp_path, "variants")
    target = scene.work / "plain.txt"
    target.write_text("plain\n")
    control = attack(binary, target, VARIANT_CALLS, policy_text=None, scene=scene)
    assert f"opened {VARIANT_CALLS} of {VARIANT_CALLS}" in control.stdout, control
    traced = attack(binary, target, VARIANT_CALLS, scene=scene,
                    policy_text=policy(never(["fsread", "fswrite"], path=f"{scene.secd}/**")))
    assert f"opened {VARIANT_CALLS} of {VARIANT_CALLS}" in traced.stdout, traced
    assert_blocked(traced)


# --- code planted where the tracer imports from (red team 3 of issue 11) ----------------------

def test_code_planted_where_the_tracer_imports_from_never_runs_in_it(build, tmp_path):
    """Python puts the command's directory first on sys.path (the cwd for ``python -m
    systrace_py``), and the tracer imports some modules only when needed, while the program
    runs (tomlkit when an answer is saved, prompt_toolkit at the first question).  The program
    planted packages of those names in the cwd it shares with the tracer, then made a call the
    policy asks about; the answer was saved -- and the tracer ran the planted code, which read
    the secret.  Now the command's directory is off sys.path before anything runs.  Control: a
    Python started in that cwd imports the planted package.  Escaped before."""
    program = build("escape/tr_import.c")
    packages = ("tomlkit", "prompt_toolkit")
    c = Scene.make(tmp_path, "control")
    planted = attack(program, *packages, policy_text=None, scene=c, cwd=c.work)
    assert planted.verdict == "BLOCKED" and "made" in planted.stdout, planted
    subprocess.run([PYTHON, "-c", "import tomlkit"], cwd=c.work, check=True,
                   env=scene_env(c, ESC_TARGET=str(c.secret)))
    assert SECRET_MAGIC in c.marker.read_text()
    s = Scene.make(tmp_path, "traced")
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "socket"\nanswer = "permit"\n')
    text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  'calls = ["socket"]\naction = "ask"')
    approver = f"exec:{PYTHON} -m systrace_py.approver --rules {answers}"
    traced = attack(program, *packages, policy_text=text, scene=s, cwd=s.work,
                    env={"ESC_TARGET": str(s.secret)}, options=["--ask-via", approver])
    assert "socket: made" in traced.stdout, traced  # asked, and permitted by the answer
    assert "saved 1 remembered answer" in traced.stderr, traced  # (tomlkit was imported)
    assert not s.marker.exists(), s.marker.read_text()
