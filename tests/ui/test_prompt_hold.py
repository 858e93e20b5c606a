"""The terminal prompt owns the screen (docs/asking.md, "The terminal"; docs/security.md, gap
#26): while it shows, the whole traced tree is stopped -- the freeze of a call, for every task
(Tracer.hold_tree) -- and after the answer it goes on as natively: the calls its tasks were
blocked in end as they would have without the stop.  On a real terminal (tmux), both loops.

(That an approver leaves the others running while it decides is
tests/escape/test_escape_asks.py::test_an_answer_is_for_the_task_that_asked_not_for_its_tid:
its approver holds the first answer until a sibling's exec has asked the second question.)"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from tmux import TMUX, Tmux, wait_file

from conftest import PYTHON, REPO

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

PROMPT = r"(?m)^systrace>"


def counter(directory: Path) -> int:
    """What prompt_hold.c's counter thread last wrote."""
    return int((directory / "counter").read_text().split()[0])


def test_the_tree_is_stopped_while_the_prompt_shows_and_goes_on_as_natively(
        build, tmp_path, loop):
    """``prompt_hold.c``: a thread writes a counter into a file (each number by a child it
    forks), six block (read of a pipe, nanosleep, a futex wait and an epoll_wait with and
    without a timeout), and the main thread opens a file the policy asks about.  While the
    prompt shows, the counter does not move (with the tree running it moves every
    millisecond); after the answer it goes on, and every blocked call ends as in the native
    run."""
    program = build("progs/prompt_hold.c")
    native, traced = tmp_path / "native", tmp_path / "traced"
    for directory in (native, traced):
        directory.mkdir()
        (directory / "asked.txt").write_text("asked\n")
    control = subprocess.run([str(program), str(native), str(native / "asked.txt")],
                             capture_output=True, text=True, timeout=120, check=True)
    assert control.stdout.startswith("open -> ok\n"), control
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{traced}/asked.txt"
        action = "ask"
        """))
    systrace = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(policy), "--", str(program),
                           str(traced), str(traced / "asked.txt")])
    env = " ".join(f"{name}={value}" for name, value in loop.items())
    out, status = shlex.quote(str(traced / "out")), shlex.quote(str(traced / "exit"))
    t = Tmux(f"cd {REPO} && env PYTHONPATH={REPO} {env} {systrace} > {out}; "
             f"echo EXIT=$? > {status}; sleep 60")
    try:
        t.wait_for(PROMPT)
        shown = counter(traced)
        time.sleep(0.5)  # (500 writes, were it running)
        assert counter(traced) == shown
        t.answer("permit-now")
        assert wait_file(traced / "exit", timeout=60) == "EXIT=0\n", t.screen()
    finally:
        t.close()
    assert (traced / "out").read_text() == control.stdout
    assert counter(traced) > shown  # it went on after the answer


def start(tmp: Path, policy: str, script: str, loop: dict[str, str]) -> Tmux:
    """systrace under tmux, the policy ``policy`` (its rules after ``default = "permit"``),
    running ``sh -c script``; its exit status goes to tmp/exit."""
    (tmp / "p.toml").write_text('default = "permit"\n' + textwrap.dedent(policy))
    systrace = shlex.join([PYTHON, "-m", "systrace_py", "-p", str(tmp / "p.toml"), "--",
                           "/bin/sh", "-c", script])
    env = " ".join(f"{name}={value}" for name, value in loop.items())
    status = shlex.quote(str(tmp / "exit"))
    return Tmux(f"cd {REPO} && env PYTHONPATH={REPO} {env} {systrace}; "
                f"echo EXIT=$? > {status}; sleep 60")


def asked_about(directory: Path) -> str:
    return f"""
        [[rule]]
        calls = ["fsread"]
        path = "{directory}/**"
        action = "ask"
        """


def test_the_asking_process_killed_from_elsewhere_lets_the_tree_go_on(probe, tmp_path, loop):
    """While the tree is held a task's end is still served: the asking process killed by
    SIGKILL from outside takes its prompt away, and the rest of the tree goes on."""
    asked = tmp_path / "asked"
    asked.mkdir()
    (asked / "a.txt").write_text("a\n")
    after = tmp_path / "after.txt"
    t = start(tmp_path, asked_about(asked),
              f"{probe} open:{asked / 'a.txt'} & wait; {probe} print:after > {after}", loop)
    try:
        screen = t.wait_for(PROMPT)
        pid = int(re.search(r"\(pid (\d+), parent", screen).group(1))  # type: ignore[union-attr]
        assert not after.exists()
        os.kill(pid, signal.SIGKILL)
        assert wait_file(after) == "after\n"
        assert wait_file(tmp_path / "exit") == "EXIT=0\n"
    finally:
        t.close()


def test_a_delay_that_ends_while_the_prompt_shows_ends_when_the_tree_goes_on(
        probe, tmp_path, loop):
    """An injected delay's timer is served while the tree is held, but the delayed call goes
    on only with the tree: its 1 s is over during the prompt, and it has not run until the
    answer."""
    asked, slow = tmp_path / "asked", tmp_path / "slow"
    for directory in (asked, slow):
        directory.mkdir()
        (directory / "f").write_text("x\n")
    delayed = tmp_path / "delayed.txt"
    policy = asked_about(asked) + f"""
        [[rule]]
        calls = ["fsread"]
        path = "{slow}/**"
        action = "inject"
        delay = "1s"
        """
    t = start(tmp_path, policy, f"{probe} open:{slow / 'f'} > {delayed} & sleep 0.2; "
              f"{probe} open:{asked / 'f'}; wait", loop)
    try:
        t.wait_for(PROMPT)
        time.sleep(1.5)  # (the delay, begun before the prompt, is over by now)
        assert delayed.read_text() == ""
        t.answer("permit-now")
        assert wait_file(delayed) == f"open {slow / 'f'} -> ok\n"
        assert wait_file(tmp_path / "exit") == "EXIT=0\n"
    finally:
        t.close()


def test_a_lookup_asked_at_the_terminal_is_answered(tmp_path: Path, loop: dict[str, str]
                                                    ) -> None:
    """A question about a name lookup is put from the resolver's thread, while the tracer's
    loop sleeps in waitpid (the native loop serves the tree's calls without waking Python):
    hold_tree wakes it, the tree stops while the question shows -- a thread writing a counter
    with calls no filter stops does not move -- the answer goes through, and the thread goes
    on (the hold's release is seen: no deadlock)."""
    from engine.dns_lib import dns_server, private_resolv_conf

    prefix = private_resolv_conf(tmp_path)
    policy = """
        [[rule]]
        calls = ["net-connect"]
        port = 53
        action = "permit"

        [[rule]]
        calls = ["net-connect"]
        host = "good.test"
        action = "ask"
        """
    count = tmp_path / "counter"
    client = ("import os, socket, threading, time\n"
              "def tick():\n"
              "    n = 0\n"
              "    while True:\n"
              "        n += 1\n"
              f"        os.pwrite(fd, b'%12d' % n, 0); time.sleep(0.01)\n"
              f"fd = os.open({str(count)!r}, os.O_WRONLY | os.O_CREAT)\n"
              "threading.Thread(target=tick, daemon=True).start()\n"
              "time.sleep(0.2)\n"
              "print(socket.getaddrinfo('good.test', 80, socket.AF_INET, "
              "socket.SOCK_STREAM)[0][4][0], flush=True)\n"
              "time.sleep(0.2)\n")
    (tmp_path / "p.toml").write_text('default = "permit"\n' + textwrap.dedent(policy))
    out = tmp_path / "out"
    command = shlex.join([*prefix, "env", f"PYTHONPATH={REPO}", *(f"{k}={v}" for k, v in
                          loop.items()), PYTHON, "-m", "systrace_py", "-p",
                          str(tmp_path / "p.toml"), "--", PYTHON, "-S", "-c", client])
    with dns_server({"good.test": "127.0.0.2"}):
        t = Tmux(f"cd {REPO} && {command} > {shlex.quote(str(out))}; "
                 f"echo EXIT=$? > {shlex.quote(str(tmp_path / 'exit'))}; sleep 60")
        try:
            screen = t.wait_for(PROMPT)
            assert re.search(r"call +resolve +host good\.test", screen), screen
            shown = int(count.read_text())
            time.sleep(0.5)  # (the thread ticks every 10 ms when it runs)
            assert int(count.read_text()) == shown, "the tree ran while the question showed"
            t.answer("permit-now")
            assert wait_file(tmp_path / "exit", timeout=60) == "EXIT=0\n", t.screen()
        finally:
            t.close()
    assert out.read_text() == "127.0.0.2\n"
    assert int(count.read_text()) > shown + 5  # (it went on after the answer)


def test_the_question_is_drawn_in_a_known_terminal_state(probe, tmp_path, loop):
    """What a program can leave the terminal in before it asks does not hide the question:
    a scroll region of three lines (the question's first lines would scroll away), the
    line-drawing character set (its letters would be box pieces) and an unterminated title
    string (it would swallow the question) -- the prompt puts them back first
    (prompt.KNOWN_STATE), and the whole question is shown as asked."""
    asked = tmp_path / "asked"
    asked.mkdir()
    (asked / "a.txt").write_text("a\n")
    spoil = r"\033[1;3r\033[2H\033(0\033]0;"
    t = start(tmp_path, asked_about(asked),
              f"printf '{spoil}'; exec {probe} open:{asked / 'a.txt'}", loop)
    try:
        t.wait_for(PROMPT)
        screen = t.visible()  # (lines scrolled out of a region at the top are in the history)
        assert "\x0e" not in screen, screen  # (no text in the line-drawing set)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", screen)
        assert re.search(rf"(?m)^systrace: {re.escape(str(probe))} +\(pid \d+", plain), plain
        assert f"call   openat  path {asked / 'a.txt'}  flags O_RDONLY" in plain, plain
        t.answer("deny-now")
        assert wait_file(tmp_path / "exit") == "EXIT=0\n"
    finally:
        t.close()
