"""Close 49 (review 74): an ``ask`` whose argv depends on the working directory never has a
literal answer inside it; a policy file is read only from a regular file, never waited for.
The tests marked so FAIL on main (7181e599)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from systrace_py.policy.argv import ArgvCondition, Words, escape_argv, uses_cwd
from systrace_py.policy.files import PolicyError, load_policy
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action, Rule, answer_conditions

TOOL = PathGlob("/bin/sh", {})


def test_a_words_element_with_cwd_has_no_literal_answer_inside_it() -> None:
    """FAILS on main: ``ask exec /bin/sh argv = ["sh", "-c", {words = ["cd",
    "$CWD/build"]}]`` in /w/a, answered ``sh -c "cd /w/a/build"``: the ``$CWD`` sits in a
    command line's word, matched in this run's directory only -- the answer is not inside
    (as review 74's plain element)."""
    asking = Rule(("exec",), Action.ASK, path=TOOL,
                  argv=ArgvCondition(["sh", "-c", {"words": ["cd", "$CWD/build"]}], "/w/a"))
    answer = Rule(("exec",), Action.PERMIT, path=TOOL,
                  argv=ArgvCondition(["sh", "-c", escape_argv("cd /w/a/build")]))
    assert asking.argv is not None and asking.argv.matches(("sh", "-c", "cd /w/a/build"))
    assert answer_conditions(answer, asking)[1] is False


def test_the_text_cwd_in_an_ask_still_has_a_literal_answer_inside_it() -> None:
    """``[$]CWD`` is the text ``$CWD``, the same in every run: an answer naming that text
    (``escape_argv`` writes it so) is inside, and so is one under an ask without ``$CWD``
    -- only the variable takes the proof away."""
    asking = Rule(("exec",), Action.ASK, path=TOOL, argv=ArgvCondition(["sh", "-c", "echo *"]))
    answer = Rule(("exec",), Action.PERMIT, path=TOOL,
                  argv=ArgvCondition(["sh", "-c", escape_argv("echo $CWD")]))
    assert answer_conditions(answer, asking)[1] is True
    text_ask = Rule(("exec",), Action.ASK, path=TOOL,
                    argv=ArgvCondition(["sh", "-c", "echo [$]CWD"], "/w/a"))
    assert answer_conditions(answer, text_ask)[1] is True
    assert not uses_cwd("echo [$]CWD") and uses_cwd("$CWD/x")
    assert uses_cwd(Words(("cd", ("a", "$CWD")))) and not uses_cwd(Words(("cd", "[$]CWD")))


def test_a_fifo_policy_is_a_load_error_naming_it_not_a_wait(tmp_path: Path) -> None:
    """FAILS on main (the test waits, ended by the alarm): ``load_policy`` of a FIFO with no
    writer opened it for reading and waited for good.  Now a :class:`PolicyError` naming
    it, before any open."""
    fifo = tmp_path / "a.toml"
    os.mkfifo(fifo)
    import signal

    def late(signum: int, frame: object) -> None:
        raise AssertionError("load_policy waited on a FIFO")

    old = signal.signal(signal.SIGALRM, late)
    signal.alarm(10)
    try:
        with pytest.raises(PolicyError) as info:
            load_policy(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert str(info.value) == (f"{fifo}: not a regular file (a FIFO): a policy is read only"
                               " from a file, never waited for")


def test_a_device_policy_is_a_load_error_not_read() -> None:
    """FAILS on main: ``/dev/zero`` was read (16 MiB of zeros: "more than 16 MiB"), a device
    opened; now refused by its kind, unopened."""
    with pytest.raises(PolicyError, match="not a regular file \\(a character device\\)"):
        load_policy("/dev/zero")
