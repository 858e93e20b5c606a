"""Red team 8: asks and answers against a tree that changes while a person decides.

An ask parks the asking task until an answer comes back -- from the terminal or an approver,
seconds or minutes later.  The answer was keyed by the task's tid alone.  But a tid does not
stay one task's: when a thread that is not the leader execs, the kernel kills the others (the
parked leader too) and gives the exec'ing thread the leader's tid.  ``ask_tid.c``: the leader
asks about a harmless file; meanwhile a sibling thread execs the program again, whose first
call asks about the secret; the approver answers the first question (permit) and then the
second (deny).  The first answer was applied to whatever call the tid was parked on by then:
the secret's open ran.  And the exec of a thread that is not the leader itself ended the
tracer (an internal error: the tracer took the exec'ing thread's stop for the dead leader's),
killing the tree -- closed, but no threaded program could exec from a thread.  And the stops a
freeze kept for the threads an exec killed outlived them (``exec_thread.c``).

The approver's channel was the traced program's to reach (``ask_forge.c``): an ``exec:``
approver's pipes through ``/proc/PID/fd``, a ``unix:`` socket by connecting first.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest
from escape_lib import (
    PYTHON,
    Scene,
    answered_on_a_terminal,
    attack,
    controlled_and_blocked,
    policy,
    read_never,
)

from conftest import systrace_env
from systrace_py.engine import cloop

#: An approver that answers as a person who reads the questions in order: it holds its answer
#: to the ask about the harmless file (pubd) until the next ask has come, then permits the
#: first and refuses the second.
HOLDING_APPROVER = textwrap.dedent("""\
    import json, sys
    held = None
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") != "ask":
            continue
        if "pubd" in (message.get("path") or "") and held is None:
            held = message["id"]
            continue
        if held is not None:
            print(json.dumps({"id": held, "answer": "permit-now"}), flush=True)
            held = None
        print(json.dumps({"id": message["id"], "answer": "deny-now"}), flush=True)
    """)


def asked(s: Scene) -> str:
    """Everything permitted, but reading the decoy's or the secret's directory is asked."""
    return policy(*(f'calls = ["fsread"]\npath = "{d}/**"\naction = "ask"'
                    for d in (s.pubd, s.secd)))


def test_an_answer_is_for_the_task_that_asked_not_for_its_tid(build, tmp_path, loop):
    program = build("escape/ask_tid.c")
    s = Scene.make(tmp_path)
    control = attack(program, "first", s.secret, s.decoy, policy_text=None, scene=s)
    assert control.verdict == "ESCAPED", control  # natively nothing is asked: it reads it
    approver = Path(s.root / "approver.py")
    approver.write_text(HOLDING_APPROVER)
    traced = attack(program, "first", s.secret, s.decoy, policy_text=asked(s), scene=s, env=loop,
                    options=["--ask-via", f"exec:{PYTHON} {approver}"])
    assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced
    assert "internal error" not in traced.stderr, traced


def test_a_delay_is_for_the_task_it_delays_not_for_its_tid(build, tmp_path, loop):
    """The same with an injected delay instead of an ask (Tracer._later): the leader's delay
    on the harmless file ran out while the new image's refused open of the secret was delayed
    under the same tid, and its end was applied to that call -- the tracer ended on it (an
    internal error: the former leader's Task was gone), killing the tree.  A delay is now the
    delayed Task's alone: the new image's open is refused, as the rule says."""
    def delayed(s: Scene) -> str:
        return policy(f'calls = ["fsread"]\npath = "{s.secd}/**"\naction = "never"\n'
                      'errno = "EACCES"',
                      f'calls = ["fsread"]\npath = "{s.root}/**"\naction = "inject"\n'
                      'delay = "1s"')

    traced, _ = controlled_and_blocked(tmp_path, build("escape/ask_tid.c"),
                                       lambda s: ["first", s.secret, s.decoy], delayed, env=loop)
    assert "secret: EACCES" in traced.detail and "internal error" not in traced.stderr, traced


def test_an_exec_by_a_thread_that_is_not_the_leader_is_traced_on(build, tmp_path, loop):
    """Natively the thread's exec runs and the new image reads the file; traced, it runs too
    (it ended the tracer, and with it the tree), and the new image's read is refused."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/ask_tid.c"),
                                       lambda s: ["first", s.secret, s.decoy],
                                       lambda s: read_never(f"{s.secd}/**"), env=loop)
    assert "secret: EACCES" in traced.detail and "internal error" not in traced.stderr, traced


STATS = re.compile(r"(\d+) stops \((\d+) decided natively\)")


@pytest.mark.parametrize("who", ["leader", "thread"])
@pytest.mark.both_loops  # (the native loop always: its decisions are counted)
def test_the_threads_an_exec_kills_leave_no_stop_behind(build, tmp_path, who, monkeypatch):
    """``exec_thread.c``: the stops a freeze kept for the threads an exec killed were handled
    at its thaw as first stops of children to come (``Tracer._early``): the tree was never
    alone again and the native loop stayed off for the rest of the run (1 of about 2 000 of
    the new image's stats decided natively, before; now every one)."""
    monkeypatch.setenv("SYSTRACE_NO_CLOOP", "0")
    if cloop.load() is None:
        pytest.skip("the native loop is not built")
    s = Scene.make(tmp_path)
    out = attack(build("escape/exec_thread.c"), who, s.decoy, scene=s, options=["--stats"],
                 policy_text=read_never(f"{s.secd}/**"), env={"SYSTRACE_NO_CLOOP": "0"})
    assert "after: 2000 ok" in out.stdout, out
    found = STATS.search(out.stderr)
    assert found is not None and int(found.group(2)) >= 2000, out


@pytest.mark.parametrize("via", ["pipe", "unix"])
def test_the_traced_program_cannot_answer_its_own_asks(build, tmp_path, via, loop):
    """``ask_forge.c``.  ``pipe``: an ``exec:`` approver's stdin and stdout were pipes, which
    any process of its user may open again through ``/proc/PID/fd/N``: the program stopped
    the approver, read the ask about the secret from its stdin's pipe and wrote ``permit-now``
    into its stdout's -- sockets now (ENXIO).  ``unix``: the program connected to
    ``--ask-via unix:PATH`` first (it runs as the user: the uid check let it in) and was the
    run's approver -- a peer this systrace traces is turned away now.  Escaped before, both,
    both loops; the real approver (a scripted one) refuses the secret."""
    program = build("escape/ask_forge.c")
    s = Scene.make(tmp_path)
    control = attack(program, via, s.secret, "-", policy_text=None, scene=s)
    assert control.verdict == "ESCAPED", control  # natively nothing is asked: it reads it
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "*secd*"\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy('calls = ["fsread"]\n'f'path = "{s.secd}/**"\n''action = "ask"')
    if via == "pipe":
        # (the approver is found by its rules file: this run's, not another test's)
        traced = attack(program, via, s.secret, answers, policy_text=text,
                        scene=s, env=loop, options=["--ask-via", "exec:" + shlex.join(approver)])
    else:
        sock = s.root / "approver.sock"
        stop = threading.Event()

        def approve_when_connected() -> None:  # the real approver comes after the program
            while not s.marker.exists() and not stop.wait(0.01):
                pass
            if s.marker.exists():
                subprocess.run([*approver, "--unix", str(sock)], env=systrace_env(),
                               timeout=60, check=False)

        helper = threading.Thread(target=approve_when_connected)
        helper.start()
        try:
            traced = attack(program, via, s.secret, sock, policy_text=text, scene=s, env=loop,
                            options=["--ask-via", f"unix:{sock}"])
        finally:
            stop.set()
            helper.join(60)
        assert s.marker.exists(), traced  # (it did connect first)
    assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_person_sees_the_question_that_is_asked(build, tmp_path, loop):
    """``ask_screen.c`` on a real terminal (tmux): while the prompt asks about the secret, a
    sibling of the asking thread draws a question about the decoy over it, again and again.
    The test answers as a person would, by what the screen shows: ``permit-now`` for the
    decoy (harmless), ``deny-now`` for anything else.  It saw the decoy, and the secret was
    read (gap #26).  Now the prompt owns the screen: the whole tree is stopped while it shows
    (Tracer.hold_tree), so the sibling draws nothing after it -- the screen shows the real
    question (last), the test refuses it, both loops."""
    program = build("escape/ask_screen.c")
    s = Scene.make(tmp_path)
    control = attack(program, s.secret, s.decoy, policy_text=None, scene=s)
    assert control.verdict == "ESCAPED", control
    policy_file = s.root / "p.toml"
    policy_file.write_text(policy(f'calls = ["fsread"]\npath = "{s.secd}/**"\naction = "ask"'))
    out = s.root / "out"
    command = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(policy_file), "--",
                          str(program), str(s.secret), str(s.decoy)])
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in systrace_env({**s.env(), **loop}).items()
                   if k in ("PYTHONPATH", "ESC_SECRET_INO", "ESC_SECRET_DEV", *loop))
    # a person answers the question at the bottom: permit-now when it is about the decoy,
    # else deny-now.  (Keys typed before the real question is drawn -- to the program's,
    # drawn before the tree stopped -- are dropped: its own is answered then.)
    final, answers = answered_on_a_terminal(f"env {env} {command}", out, s.decoy,
                                            r"call\s+openat\s+path (\S+)", name="rt8",
                                            size=(160, 45))
    assert out.exists(), final
    assert "ESCAPED" not in final, f"answered {answers}:\n{final}"
    assert "BLOCKED: secret: EPERM" in final, final  # (the real question was answered)
