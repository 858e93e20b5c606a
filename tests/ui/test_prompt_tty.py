"""The ASK prompt on a real terminal (tmux): what it shows, what each answer does to the traced
program, remembered answers saved into the policy file, and programs that own the terminal (a
REPL, an interactive shell with job control, less) still working around prompts.

Every test runs systrace in its own tmux server; the command line ends by writing systrace's
exit status and ``stty -g`` before and after into files, so a test can check that the terminal
was left as it was found."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import textwrap
import time
from pathlib import Path

import pytest
from tmux import TMUX, Tmux, wait_file

from conftest import PYTHON, REPO
from systrace_py.policy.files import load_policy
from systrace_py.policy.model import Action, CallFacts, PathArg

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

PROMPT = r"(?m)^systrace>"


class Run:
    """systrace under tmux, with a policy asking about reads of ``data/`` and ``other/``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.other = tmp / "other"
        for d in (self.data, self.other):
            d.mkdir()
        (self.data / "a.txt").write_text("alpha\n")
        (self.data / "b.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
        (self.other / "c.txt").write_text("gamma\n")
        self.policy = tmp / "p.toml"
        self.tmux: Tmux | None = None

    def write_policy(self, extra: str = "") -> None:
        self.policy.write_text(textwrap.dedent(f"""\
            default = "permit"
            {extra}
            [[rule]]
            calls = ["fsread"]
            path = "{self.tmp}/{{data,other}}/**"
            action = "ask"
            """))

    def start(self, *command: str, options: tuple[str, ...] = (), extra: str = "",
              width: int = 220, through: tuple[str, ...] = ()) -> Tmux:
        """systrace runs ``command``; on a terminal at the end of ``through`` (a command that
        runs systrace on a pty of its own: slow_line.py) when given."""
        if not self.policy.exists():
            self.write_policy(extra)
        systrace = shlex.join([*through, PYTHON, "-m", "systrace_py", *options, "-p",
                               str(self.policy), "--", *command])
        t = shlex.quote(str(self.tmp))
        line = (f"cd {REPO} && stty -g > {t}/stty.before; env PYTHONPATH={REPO} {systrace}; "
                f"echo EXIT=$? > {t}/exit; stty -g > {t}/stty.after; "
                f"echo EXIT=$(cat {t}/exit); sleep 60")
        self.tmux = Tmux(line, width=width)  # (220: argv lines hold pytest's temporary paths whole)
        return self.tmux

    def exit_status(self) -> int:
        text = wait_file(self.tmp / "exit")
        return int(text.strip().removeprefix("EXIT="))

    def terminal_restored(self) -> bool:
        wait_file(self.tmp / "stty.after")
        return (self.tmp / "stty.before").read_text() == (self.tmp / "stty.after").read_text()

    def close(self) -> None:
        if self.tmux is not None:
            self.tmux.close()


@pytest.fixture
def run(tmp_path: Path):
    r = Run(tmp_path)
    yield r
    r.close()


# --- what the prompt shows; deny, permit, kill -------------------------------------------------


def test_prompt_shows_who_what_and_which_rule_and_deny_fails_with_eperm(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", "print:after")
    screen = t.wait_for(PROMPT)
    assert re.search(rf"systrace: {re.escape(str(probe))}  \(pid \d+, parent \d+\) asks", screen)
    assert f"call   openat  path {a}  flags O_RDONLY" in screen
    assert re.search(rf"asked  rule 1 \({re.escape(str(run.policy))}:\d+\): fsread path", screen)
    assert "1 file $TMPDIR/" in screen and "dir $TMPDIR/" in screen
    t.answer("deny")
    screen = t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert "after" in screen
    assert run.exit_status() == 0
    assert run.terminal_restored()
    # remembered: saved into the policy, with a backup of the old one
    saved = load_policy(run.policy)
    first = saved.main.rules[0]
    assert (first.action, first.calls) == (Action.NEVER, ("fsread",))
    assert first.path.matches(str(a)) and not first.path.matches(str(run.data / "b.txt"))
    assert (run.tmp / "p.toml.bak").exists()


def test_deny_with_an_errno_for_this_call_only(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}")
    t.wait_for(PROMPT)
    t.answer("deny-now[EACCES]")
    t.wait_for(f"open {re.escape(str(a))} -> EACCES")
    assert run.exit_status() == 0
    assert not (run.tmp / "p.toml.bak").exists()  # nothing remembered, nothing saved


def test_keys_typed_as_the_question_appears_are_not_its_answer(run, probe):
    """A person who answered what the screen showed a moment ago -- a question the program
    drew itself just before it was stopped (CI of 1a51a27: tests/escape ask_screen.c) --
    types as the real question appears: those keys are not its answer (--ask-delay; a long
    one here, so that the keys surely come within it).  The "systrace> " line shows once
    keys are taken; the answer typed then counts."""
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", "print:after", options=("--ask-delay", "4"))
    screen = t.wait_for(r"call   openat  path")
    assert not re.search(PROMPT, screen), screen  # (no input line yet)
    t.type("permit-now")  # typed to what was there before: dropped
    screen = t.wait_for(PROMPT)
    assert "permitted" not in screen and "-> ok" not in screen, screen
    t.answer("deny-now")
    screen = t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert "permitted" not in screen, screen
    assert run.exit_status() == 0


def test_keys_typed_on_across_the_end_of_the_delay_are_not_its_answer(run, probe):
    """A person typing to what the screen showed before goes on typing as the question's
    --ask-delay ends (review 51): the keys after its end were the line, and the tail of a
    word meant for the old screen can be an answer -- the "p" of "deny /tmp" or of "help" is
    permit.  A key while the question is read starts the delay again: keys are an answer only
    after a pause as long, with the "systrace> " line on the screen.  Here the keys are
    spaces at a person's pace (so that wherever the delay would end, what follows is "  p"),
    then "p" and Enter."""
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", "print:after", options=("--ask-delay", "1"))
    t.wait_for(r"call   openat  path")
    for _ in range(15):  # 3 s of keys, 0.2 s apart: across the end of the 1 s delay
        t.keys("Space")
        time.sleep(0.2)
    t.keys("p", "Enter")
    time.sleep(1.5)
    screen = t.screen()
    assert "permitted" not in screen and "-> ok" not in screen, screen
    t.answer("deny-now")
    screen = t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert "permitted" not in screen, screen
    assert run.exit_status() == 0


SLOW_LINE = Path(__file__).with_name("slow_line.py")


def test_the_delay_runs_from_when_the_question_is_on_the_screen(run):
    """On a slow line (ssh over a slow link, a serial console) what the program wrote before
    the stop reaches the screen long after it was written, and the question after it: the
    delay, counted from the question's write, is over before anyone can see it, and keys
    typed as it appears -- to the program's own question, drawn just above -- are its answer.
    Here the program writes 18 kB before the asked open, the line carries 3 kB a second, and
    "permit-now" is typed as soon as the question's call line shows."""
    a = run.data / "a.txt"
    _typed_early_on_a_slow_line(
        run, f"yes {'x' * 59} | head -n 300; cat {shlex.quote(str(a))}; echo after", "2")


def test_a_terminal_the_program_made_too_small_is_asked_nothing(run):
    """The program sets its terminal's size (stty, TIOCSWINSZ), which the question's position
    queries are drawn in: at 1 x 1 all three are at 1;1, and its own three queries from 1;1,
    written before the stop, were answered on a slow line while the question was on its way
    -- the delay was over before it showed, and a key typed as it appeared permitted the open
    (review 55; on a fast line the question showed as one character).  Now a terminal under
    8 x 40 is asked nothing: refused, with a line saying why."""
    a = run.data / "a.txt"
    script = (f"stty rows 1 cols 1; yes {'x' * 59} | head -n 50; "
              f"printf '\\033[1;1H\\033[6n\\033[1;1H\\033[6n\\033[1;1H\\033[6n'; "
              f"yes {'y' * 59} | head -n 200; cat {shlex.quote(str(a))}; echo after")
    t = run.start("/bin/sh", "-c", script, through=(PYTHON, str(SLOW_LINE), "3000"))
    screen = t.wait_for("after", timeout=90)
    assert "too small to show the question" in screen, screen
    assert "Operation not permitted" in screen and "alpha" not in screen, screen
    assert "systrace: permitted" not in screen, screen
    assert run.exit_status() == 0


def _typed_early_on_a_slow_line(run: Run, script: str, delay: str) -> None:
    """``sh -c script`` (it reads a.txt, asked) on a slow line (3,000 bytes a second) with
    ``--ask-delay delay``: "permit-now" typed as soon as the question's call line shows is
    not its answer; "deny-now" typed once it takes keys refuses the read."""
    t = run.start("/bin/sh", "-c", script, options=("--ask-delay", delay),
                  through=(PYTHON, str(SLOW_LINE), "3000"))
    t.wait_for(r"call   openat  path", timeout=60)
    t.type("permit-now")  # (typed to what the screen showed a moment before)
    time.sleep(3)
    screen = t.screen()
    assert "permitted" not in screen and "alpha" not in screen, screen
    t.answer("deny-now")
    screen = t.wait_for("after", timeout=60)
    assert "Operation not permitted" in screen and "alpha" not in screen, screen
    assert run.exit_status() == 0


def test_the_programs_own_position_query_does_not_say_the_question_is_shown(run):
    """The program writes a position query of its own before the stop, then more output: on
    a slow line the terminal's answer to it comes while the question is still on its way,
    and were it taken for the question's, the delay would be over before the question shows.
    Only the answers from the places the question's queries drew at random count."""
    a = run.data / "a.txt"
    script = (f"yes {'x' * 59} | head -n 50; printf '\\033[6n'; yes {'y' * 59} | head -n 200; "
              f"cat {shlex.quote(str(a))}; echo after")
    _typed_early_on_a_slow_line(run, script, "1")


def test_a_window_made_smaller_while_the_question_is_on_its_way_is_asked_again(run):
    """The question's position queries were drawn for the window's size; made smaller before
    the terminal reached them (a slow line), the cursor cannot go where they put it, and
    their answers never match: after SHOW_WAIT the queries are asked again, from places in
    the new size, and the question takes keys once they are answered."""
    a = run.data / "a.txt"
    script = f"yes {'x' * 59} | head -n 100; cat {shlex.quote(str(a))}; echo after"
    t = run.start("/bin/sh", "-c", script, through=(PYTHON, str(SLOW_LINE), "3000"))
    _held("cat", str(a))
    t._tmux("resize-window", "-t", "0", "-x", "60", "-y", "12")
    t.wait_for(r"call   openat", timeout=60)
    t.answer("deny-now", timeout=30)
    screen = t.wait_for("after", timeout=60)
    assert "Operation not permitted" in screen and "alpha" not in screen, screen
    assert run.exit_status() == 0


def test_a_terminal_that_never_says_it_shows_the_question_takes_no_keys(run, probe):
    """A terminal that does not answer the position query never says the question is on the
    screen: no key is an answer (it says so after a while); Ctrl-C refuses the call."""
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", "print:after",
                  through=(PYTHON, str(SLOW_LINE), "1000000", "--mute"))
    t.wait_for(r"call   openat  path")
    t.wait_for("the terminal has not said it shows this question")
    t.type("permit-now")
    time.sleep(1)
    screen = t.screen()
    assert not re.search(PROMPT, screen) and "permitted" not in screen, screen
    t.keys("C-c")
    screen = t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert "this call only" in screen and "permitted" not in screen, screen
    assert run.exit_status() == 0


def _held(program: str, argument: str, timeout: float = 30) -> None:
    """Wait until a process of ``program`` with ``argument`` has been stopped for half a second
    (the tree is held for a question: a call's own stop is far shorter)."""
    deadline = time.monotonic() + timeout
    since: float | None = None
    while time.monotonic() < deadline:
        stopped = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
                argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError):
                continue
            if argv[0].endswith(program.encode()) and argument.encode() in argv:
                stopped = state == "t"
        if not stopped:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= 0.5:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {program} {argument} held")


def test_the_terminals_late_answer_is_not_the_programs_input(run):
    """Ctrl-C before the terminal has shown the question (a slow line): its answer to the
    position query comes after the prompt ended, and is read then -- it is not the program's
    input (a shell's read would hold it).  (It is waited for SHOW_WAIT seconds: here the
    line shows the question 2 s after it is written.)"""
    a = run.data / "a.txt"
    typed = run.tmp / "typed"
    script = (f"yes {'x' * 59} | head -n 100; cat {shlex.quote(str(a))}; read x; "
              f"printf %s \"$x\" > {shlex.quote(str(typed))}; echo got")
    t = run.start("/bin/sh", "-c", script, through=(PYTHON, str(SLOW_LINE), "3000"))
    _held("cat", str(a))  # (the question is written: the line carries it for seconds)
    t.keys("C-c")
    t.wait_for("Operation not permitted", timeout=60)
    time.sleep(1)
    t.type("hello")
    t.wait_for(r"(?m)^got$", timeout=30)
    assert typed.read_text() == "hello"
    assert run.exit_status() == 0


def test_permit_lets_the_call_run(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}")
    t.wait_for(PROMPT)
    t.answer("permit-now")
    screen = t.wait_for(f"open {re.escape(str(a))} -> ok")
    assert "systrace: permitted openat" in screen and "this call only" in screen
    assert run.exit_status() == 0
    assert run.terminal_restored()


def test_permit_directory_answers_later_calls_and_is_saved(run, probe):
    a, b, c = run.data / "a.txt", run.data / "b.txt", run.other / "c.txt"
    t = run.start(str(probe), f"open:{a}", f"stat:{b}", f"open:{b}", f"open:{c}")
    t.wait_for(PROMPT)
    t.answer("permit dir")
    # b.txt (stat and open) is in the directory: no prompt; c.txt is not: asked
    screen = t.wait_for(f"path {re.escape(str(c))}")
    assert f"open {a} -> ok" in screen and f"stat {b} -> ok" in screen
    assert f"open {b} -> ok" in screen
    assert len(re.findall("remembered for", screen)) == 1
    t.answer("deny-now")
    t.wait_for(f"open {re.escape(str(c))} -> EPERM")
    assert run.exit_status() == 0
    saved = load_policy(run.policy)
    rule = saved.main.rules[0]
    assert rule.action is Action.PERMIT and rule.path.pattern.endswith("/data/*")
    assert rule.path.pattern.startswith("/")  # absolute, as the ask spells it (close 43)
    assert "answered" in rule.comment
    decide = saved.main.decide
    assert decide(CallFacts("openat", (PathArg("path", str(run.data / "new.txt")),),
                            open_flags=os.O_RDONLY)).action is Action.PERMIT
    assert decide(CallFacts("openat", (PathArg("path", str(c)),), open_flags=os.O_RDONLY)
                  ).action is Action.ASK
    assert "saved 1 remembered answer" in t.screen()


def test_save_answers_elsewhere(run, probe):
    a = run.data / "a.txt"
    run.write_policy()
    before = run.policy.read_text()
    answers = run.tmp / "answers.toml"
    t = run.start(str(probe), f"open:{a}", options=("--save-answers", str(answers)))
    t.wait_for(PROMPT)
    t.answer("permit tree for all")
    t.wait_for(f"open {re.escape(str(a))} -> ok")
    assert run.exit_status() == 0
    assert run.policy.read_text() == before
    rule = load_policy(answers).main.rules[0]
    assert rule.path.pattern.endswith("/data/**") and rule.action is Action.PERMIT


def test_kill_kills_the_asking_process(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", "print:after")
    t.wait_for(PROMPT)
    t.answer("kill")
    screen = t.wait_for("EXIT=")
    assert run.exit_status() == 128 + 9
    assert "systrace: killed pid" in screen
    assert "after" not in screen.replace("print:after", "")
    assert run.terminal_restored()


def test_bad_answers_are_explained_and_the_prompt_stays(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}")
    t.wait_for(PROMPT)
    t.answer("pernit")
    t.wait_for("did you mean permit")
    t.keys("C-u")
    t.answer("detach")  # the policy has no detach = true
    t.wait_for("detach is not allowed here")
    t.keys("C-u")
    t.answer("permit /etc/**")
    t.wait_for("does not match")
    t.keys("C-u")
    t.answer("?")
    t.wait_for("answers \\(type one")
    t.answer("p 1 for process")
    t.wait_for(f"open {re.escape(str(a))} -> ok")
    assert run.exit_status() == 0
    assert not (run.tmp / "p.toml.bak").exists()  # for one process: not saved


def test_help_on_a_narrow_terminal_is_wrapped_at_spaces_and_indented(run, probe):
    """``?`` on an 80-column terminal: the help's lines were written unwrapped and the terminal
    cut them mid-word at column 80 ("... a" / "dd a rule" at column 0); the question above the
    prompt was wrapped, the help was not."""
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", width=80)
    t.wait_for(PROMPT)
    t.answer("?")
    t.wait_for(PROMPT, count=2)  # (the help, then the question again)
    rows = t._tmux("capture-pane", "-p", "-S", "-200", "-t", "0").stdout.splitlines()
    first = next(i for i, row in enumerate(rows) if row.startswith("answers (type one"))
    end = next(i for i in range(first + 1, len(rows)) if rows[i].startswith("systrace: "))
    shown = rows[first + 1:end]
    assert shown and all(row.startswith("  ") for row in shown), "\n".join(rows[first:end])
    assert any("add a rule" in row for row in shown), "\n".join(shown)
    t.answer("p 1 for process")
    t.wait_for(f"open {re.escape(str(a))} -> ok")
    assert run.exit_status() == 0


def test_ctrl_c_refuses_this_call(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}")
    t.wait_for(PROMPT)
    t.keys("perm", "C-c")
    t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert run.exit_status() == 0
    assert run.terminal_restored()


def test_detach_where_the_policy_allows_it(run, probe):
    a, c = run.data / "a.txt", run.other / "c.txt"
    t = run.start(str(probe), f"open:{a}", f"open:{c}", extra="detach = true")
    t.wait_for(PROMPT)
    t.answer("detach")
    screen = t.wait_for(f"open {re.escape(str(c))} -> ok")  # no second prompt
    assert f"open {a} -> ok" in screen and "no longer checked" in screen
    assert run.exit_status() == 0


def test_ask_timeout_refuses(run, probe):
    a = run.data / "a.txt"
    t = run.start(str(probe), f"open:{a}", options=("--ask-timeout", "1"))
    screen = t.wait_for(f"open {re.escape(str(a))} -> EPERM")
    assert "no answer within 1s" in screen
    assert run.exit_status() == 0
    assert run.terminal_restored()


# --- an ask nobody answers cannot hold the run ------------------------------------------------


def test_abort_ends_the_whole_run(run, probe):
    a = run.data / "a.txt"
    # the asking process is a child: kill would let the shell go on, abort ends everything
    t = run.start("/bin/sh", "-c", f"{probe} open:{a}; echo shell-went-on")
    t.wait_for(PROMPT)
    t.answer("abort")
    screen = t.wait_for("EXIT=")
    assert run.exit_status() == 128 + signal.SIGKILL
    assert "aborted the run" in screen and "aborted at the prompt" in screen
    assert "shell-went-on" not in screen.replace("echo shell-went-on", "")
    assert run.terminal_restored()


def tracer_pid(log: Path) -> int:
    """systrace's pid, from the start record of its log."""
    return int(json.loads(wait_file(log).splitlines()[0])["tracer"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_while_an_ask_is_pending_ends_the_run(run, probe, signum):
    a = run.data / "a.txt"
    log = run.tmp / "log.jsonl"
    t = run.start("/bin/sh", "-c", f"{probe} open:{a}; echo shell-went-on",
                  options=("--log", str(log)))
    t.wait_for(PROMPT)
    pid = tracer_pid(log)
    os.kill(pid, signum)
    t.wait_for("again to end the run")
    os.kill(pid, signum)
    screen = t.wait_for("EXIT=")
    assert run.exit_status() == 128 + signum
    assert "while an ask was pending ended the run" in screen
    assert "shell-went-on" not in screen.replace("echo shell-went-on", "")
    assert run.terminal_restored()


# --- several asks at once --------------------------------------------------------------------


def test_the_program_pauses_while_asked_and_an_answer_decides_what_comes_next(run, probe):
    """While the prompt shows the whole traced tree is stopped (docs/asking.md): the shell's
    next commands wait for the answer; one that asks about what the answer covers is then
    decided by it, and not asked.  (Asks that come together -- before the tree stopped -- are
    queued, "[N more waiting]", and settled by an earlier answer as before; which come
    together is a race a test cannot make.)"""
    a, b = run.data / "a.txt", run.data / "b.txt"
    # (the processes report to files: not what is on the terminal)
    out, meanwhile = run.data / "opens.txt", run.data / "meanwhile.txt"
    script = (f"{probe} print:start; {probe} open:{a} >>{out} & sleep 0.3; "
              f"{probe} open:{b} >>{out} & sleep 0.3; {probe} print:meanwhile >{meanwhile}; "
              "wait")
    t = run.start("/bin/sh", "-c", script, options=("-v",))
    screen = t.wait_for(PROMPT)
    assert str(a) in screen and str(b) not in screen
    assert not meanwhile.exists() and out.read_text() == ""  # nothing went on
    t.answer("permit dir")
    assert wait_file(meanwhile) == "meanwhile\n"  # it goes on after the answer
    assert run.exit_status() == 0
    assert sorted(out.read_text().splitlines()) == sorted([f"open {a} -> ok", f"open {b} -> ok"])
    lines = t.screen().splitlines()
    answered = [i for i, line in enumerate(lines) if line.startswith("systrace: permitted")]
    forks = [i for i, line in enumerate(lines) if "new process (fork)" in line]
    assert len(answered) == 1 and len(forks) == 2  # one prompt: b was not asked about
    assert forks[0] < answered[0] < forks[1]  # the shell's next command came after it


# --- programs that own the terminal ----------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="no /usr/bin/python3")
def test_python_repl_keeps_a_usable_terminal(run):
    a = run.data / "a.txt"
    t = run.start("/usr/bin/python3", "-q", "-i")
    t.wait_for(">>> ")
    t.type(f"print(open({str(a)!r}).read().upper())")
    t.wait_for(PROMPT)
    t.answer("permit-now")
    t.wait_for("ALPHA")
    t.type("print(6 * 7)")
    t.wait_for("^42$".replace("^", "\n").replace("$", "\n"))
    t.keys("Up", "Up")  # the REPL's own history still works
    t.keys("Enter")
    t.wait_for(PROMPT)
    t.answer("deny[ENOENT]")
    t.wait_for("FileNotFoundError")
    t.type("print('still', 'here')")
    t.wait_for("still here")
    t.keys("C-d")
    assert run.exit_status() == 0
    assert run.terminal_restored()


def test_interactive_shell_with_job_control(run):
    a = run.data / "a.txt"
    t = run.start("env", "PS1=shell> ", "/bin/sh", "-i")
    t.wait_for("(?m)^shell>")
    t.type(f"cat {a}")
    t.wait_for(PROMPT)
    t.answer("deny-now")
    t.wait_for("Operation not permitted")
    t.type(f"cat {a}")
    t.wait_for(PROMPT, count=1)
    t.answer("permit-now")
    t.wait_for("\nalpha\n")
    t.type("echo job control $((40 + 2))")
    t.wait_for("job control 42")
    t.type("exit")
    assert run.exit_status() == 0
    assert run.terminal_restored()


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_less_keeps_working_around_a_prompt(run):
    a, b = run.data / "a.txt", run.data / "b.txt"
    run.policy.write_text(textwrap.dedent(f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{b}"
        action = "ask"
        """))
    t = run.start("less", str(a))
    t.wait_for("alpha")
    t.type(f":e {b}")
    t.wait_for(PROMPT)
    t.answer("permit file for process")  # less looks at the file with several calls
    t.wait_for("line 1\n")  # less repainted with the new file (the prompt is gone)
    screen = t.wait_for(r"\(file 2 of 2\)")
    assert not re.search(PROMPT, screen)
    t.keys("G")  # still takes commands
    t.wait_for("line 100")
    t.keys("q")
    assert run.exit_status() == 0
    assert run.terminal_restored()


def test_terminal_modes_and_foreground_group_are_restored_for_the_program(run):
    """A program in cbreak mode that made its own process group the foreground one (as a
    shell does for a job) finds both as it left them after a prompt."""
    a = run.data / "a.txt"
    script = run.tmp / "modes.py"
    script.write_text(textwrap.dedent(f"""\
        import os, signal, termios, tty
        fd = os.open("/dev/tty", os.O_RDWR)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.setpgid(0, 0)
        os.tcsetpgrp(fd, os.getpgrp())
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        before = termios.tcgetattr(fd)
        print("reading", flush=True)
        try:
            open({str(a)!r}).read()
        except OSError as exc:
            print("refused", exc.errno, flush=True)
        after = termios.tcgetattr(fd)
        same = before == after and os.tcgetpgrp(fd) == os.getpgrp()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        print("MODES", "SAME" if same else "CHANGED", flush=True)
        """))
    t = run.start(PYTHON, str(script))
    t.wait_for(PROMPT)
    t.answer("deny-now")
    screen = t.wait_for("MODES")
    assert "refused 1" in screen
    assert "MODES SAME" in screen
    assert run.exit_status() == 0


# --- what the prompt shows of the process; burst; every remembered answer saved ------------------


def test_prompt_shows_the_argv_and_the_parents_program(run, probe):
    a = run.data / "a.txt"
    t = run.start("/bin/sh", "-c", f"{probe} open:{a} print:after; true")
    screen = t.wait_for(PROMPT)
    shell = os.path.realpath("/bin/sh")
    assert re.search(rf"systrace: {re.escape(str(probe))}  \(pid \d+, parent \d+ "
                     rf"{re.escape(shell)}\) asks", screen)
    assert f"argv   {probe} open:{a} print:after" in screen
    t.answer("permit-now")
    t.wait_for("after")
    assert run.exit_status() == 0


def test_a_burst_answer_asks_once_for_the_calls_of_one_action(run, probe):
    a, c = run.data / "a.txt", run.other / "c.txt"
    t = run.start(str(probe), f"stat:{a}", f"access:{a}", f"open:{a}", f"open:{c}")
    screen = t.wait_for(PROMPT)
    assert "burst (this path, any call, this process, 2s)" in screen
    t.answer("permit burst")
    screen = t.wait_for(f"path {re.escape(str(c))}")  # the next prompt is about c.txt
    assert f"stat {a} -> ok" in screen and f"access {a} -> ok" in screen
    assert f"open {a} -> ok" in screen
    assert "and its other calls on this path" in screen
    t.answer("deny-now")
    t.wait_for(f"open {re.escape(str(c))} -> EPERM")
    assert run.exit_status() == 0
    assert not (run.tmp / "p.toml.bak").exists()  # a burst is not remembered


def test_two_answers_of_the_command_are_both_saved_as_written(run, probe):
    """The command has no program table: its answers go into the main table, at run time and
    in the file -- both of them (the second used to land in a table made in memory only, and
    was lost), with the file's comments and layout kept."""
    a, b = run.data / "a.txt", run.data / "b.txt"
    run.policy.write_text(textwrap.dedent(f"""\
        # my policy: this comment stays
        default = "permit"   # the rest runs

        # ask about the data
        [[rule]]
        calls = ["fsread"]
        path = "{run.tmp}/{{data,other}}/**"
        action = "ask"
        """))
    before = run.policy.read_text()
    t = run.start(str(probe), f"open:{a}", f"open:{b}", f"open:{a}")
    t.wait_for(PROMPT)
    t.answer("permit file")
    t.wait_for(f"path {re.escape(str(b))}")
    t.answer("permit file")
    screen = t.wait_for("saved 2 remembered answers")
    assert screen.count(f"open {a} -> ok") == 2 and f"open {b} -> ok" in screen
    assert run.exit_status() == 0
    text = run.policy.read_text()
    for line in before.splitlines():
        assert line in text
    saved = load_policy(run.policy)
    assert not saved.programs
    # (each just before the ask that asked it, in the order answered: close 38)
    assert [r.path.pattern.rsplit("/", 1)[-1] for r in saved.main.rules[:2]] == ["a.txt", "b.txt"]
