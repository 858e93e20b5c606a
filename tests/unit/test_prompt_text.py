"""What the ASK prompt says, without a terminal: the question (wrapped to the width), the help,
the line left after an answer, completion candidates, and the terminal-mode helpers."""

from __future__ import annotations

import os
import termios

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.policy.files import loads_policy
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import Action, CallFacts, PathArg
from systrace_py.supervisor import AskRequest
from systrace_py.ui.answering import Interpreter, call_text, describe_answer
from systrace_py.ui.prompt import (
    AnswerCompleterBase,
    format_args,
    help_text,
    position_queries,
    query_count,
    question,
    sane_attrs,
    wrap_segments,
)

EX = Expansions(home="/home/alice", cwd="/home/alice/proj", tmpdir="/tmp", user="alice")
POLICY = """
    default = "permit"
    detach = true
    [[rule]]
    calls = ["fsread"]
    path = "/home/alice/**"
    action = "ask"
"""


def interpreter(path="/home/alice/proj/src/a.c", args=None):
    policy = loads_policy(POLICY, "p.toml", {"HOME": "/home/alice", "CWD": "/home/alice/proj"})
    facts = CallFacts("openat", (PathArg("path", path),), open_flags=os.O_RDONLY)
    decision = policy.main.decide(facts)
    assert decision.action is Action.ASK
    request = AskRequest(4242, 4243, 1, "/usr/bin/cc", "openat",
                         args or {"path": path, "path_as_given": "src/a.c",
                                  "flags": "O_RDONLY"}, facts, decision)
    return request, Interpreter(request, policy.main, expansions=EX)


def plain(formatted) -> str:
    return "".join(text for _, text in formatted)


def test_question_says_who_what_which_rule_and_the_scopes():
    request, interp = interpreter()
    text = plain(question(request, interp, columns=200, waiting=2))
    assert "systrace: /usr/bin/cc  (pid 4242 thread 4243, parent 1) asks   [2 more waiting]" in text
    assert "call   openat  path /home/alice/proj/src/a.c (given as src/a.c)  flags O_RDONLY" in text
    assert "asked  rule 1 (p.toml:4): fsread path /home/alice/** -> ask  [table main]" in text
    assert "(fsread)   1 file $CWD/src/a.c   2 ext $CWD/src/*.c   3 dir $CWD/src/*" in text
    assert "home ~/** (!)" in text
    assert "detach" in text.splitlines()[-2]  # the policy allows it: offered
    assert text.endswith("systrace> ")


def test_what_the_program_chose_cannot_break_or_reorder_the_questions_lines():
    """Red team 13b: prompt-toolkit draws a line feed as a line break (an escape it shows as
    ``^[``), and passes bidi overrides through: a path, its spelling, an argv or a program
    name drew lines of their own into the question.  Every such text is shown printable."""
    forged = "d\n  call   openat  path /tmp/decoy\u202e"
    request, interp = interpreter(f"/home/alice/proj/{forged}/a.c",
                                  {"path": f"/home/alice/proj/{forged}/a.c",
                                   "path_as_given": f"{forged}/a.c", "flags": "O_RDONLY",
                                   "argv": ["cc", forged]})
    text = plain(question(request, interp, columns=400))
    plain_request, plain_interp = interpreter()
    assert text.count("\n") == plain(question(plain_request, plain_interp, columns=400)).count("\n")
    assert "\u202e" not in text and "\n  call   openat  path /tmp/decoy" not in text
    assert "d\\x0a  call   openat  path /tmp/decoy\\u202e" in text


@pytest.mark.parametrize("columns", [30, 50, 80, 120])
def test_question_fits_the_terminal(columns):
    request, interp = interpreter("/home/alice/proj/" + "very-long-directory-name/" * 6 + "x.c")
    text = plain(question(request, interp, columns=columns))
    assert all(len(line) <= columns - 1 for line in text.splitlines())


@given(st.lists(st.tuples(st.sampled_from(["", "bold"]),
                          st.text(alphabet="ab /", max_size=30)), max_size=8),
       st.integers(min_value=12, max_value=60))
def test_wrap_segments_keeps_the_text_and_the_width(segments, width):
    out = wrap_segments(segments, width, 4)
    text = "".join(t for _, t in out)
    assert all(len(line) <= width for line in text.split("\n"))
    squeeze = "".join("".join(t for _, t in segments).split())
    assert "".join(text.split()) == squeeze  # only spaces and line breaks change


def test_position_queries_are_at_places_drawn_on_the_screen():
    """The places the question's position queries are asked from (review 51): on the
    screen, drawn anew each time, and on a terminal of size 0 (a serial line's) not all at
    1;1, which the program could have answered with queries of its own."""
    text, places = position_queries(24, 80)
    assert text.startswith("\x1b7") and text.endswith("\x1b8")
    assert text.count("\x1b[6n") == len(places) == query_count(24, 80) == 5  # (55 bits)
    for row, column in places:
        assert 1 <= row <= 24 and 1 <= column <= 80
        assert f"\x1b[{row};{column}H\x1b[6n" in text
    assert len({tuple(position_queries(0, 0)[1]) for _ in range(20)}) > 1


def test_the_position_queries_take_more_places_on_a_smaller_terminal():
    """The program sets the terminal's size (review 55): at 3 x 3 three queries from random
    places are 730 sequences, which it could all have asked before it was stopped.  Their
    count makes QUERY_BITS whatever the size; the smallest shown (8 x 40) takes six."""
    for rows, columns in ((8, 40), (24, 80), (45, 160), (1, 1), (3, 3), (1000, 1000)):
        count = query_count(rows, columns)
        cells = rows * columns
        assert count >= 3 and (cells == 1 or cells ** count >= 2 ** 48), (rows, columns)
    assert query_count(8, 40) == 6 and query_count(1000, 1000) == 3


def test_help_lists_the_vocabulary_and_the_scopes_in_words():
    _, interp = interpreter()
    text = help_text(interp)
    for word in ("permit [SCOPE] [for REACH]", "deny-now[ERRNO]", "kill", "detach",
                 "everything in /home/alice/proj/src", "(covers sensitive files)"):
        assert word in text


def test_answer_lines():
    request, interp = interpreter()
    answer = interp.answer("permit dir for all")
    assert describe_answer(answer, request) == (
        "permitted openat /home/alice/proj/src/a.c O_RDONLY for pid 4242 (/usr/bin/cc); "
        "remembered for every program: fsread path $CWD/src/* -> permit")
    denied = interp.answer("deny-now[EACCES]")
    assert describe_answer(denied, request).startswith("denied (EACCES) openat")
    assert describe_answer(interp.answer("kill"), request) == "killed pid 4242 (/usr/bin/cc)"


def test_arguments_as_words():
    assert format_args({"path": "/x", "path_as_given": "x", "flags": "O_RDONLY"}) == \
        "path /x (given as x)  flags O_RDONLY"
    assert format_args({"argv": ["ls", "-l", "a b"]}) == "argv ls -l 'a b'"
    request, _ = interpreter(args={"path": "/bin/ls", "argv": ["ls", "a b"]})
    assert call_text(request) == "openat /bin/ls ls 'a b'"


def test_completion_words_fit_the_position():
    _, interp = interpreter()
    words = AnswerCompleterBase(interp).words
    assert "permit" in words("")[0] and "detach" in words("de")[0]
    candidates, current = words("permit d")
    assert current == "d" and "dir" in candidates and "for" in candidates
    assert words("permit dir for ")[0] == ["process", "program", "all"]
    assert words("kill ")[0] == []


def test_sane_attrs_cook_the_line_and_keep_the_rest():
    raw = [0, 0, 0, 0, 38400, 38400, [b"\x00"] * 32]
    cooked = sane_attrs(raw)
    assert cooked[3] & termios.ICANON and cooked[3] & termios.ECHO and cooked[3] & termios.ISIG
    assert cooked[1] & termios.OPOST and cooked[0] & termios.ICRNL
    assert cooked[4:6] == raw[4:6] and raw[3] == 0  # a copy
