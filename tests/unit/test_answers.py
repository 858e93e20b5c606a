"""Parsing of typed answers at the ASK prompt (systrace_py.ui.answers): systrace's vocabulary,
errno choice, scope and reach, and the messages bad input gets."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.ui.answers import AnswerError, Parsed, errno_value, parse_answer


@pytest.mark.parametrize(("text", "expected"), [
    ("permit", Parsed("permit", True)),
    ("deny", Parsed("deny", True)),
    ("permit-now", Parsed("permit", False)),
    ("deny-now", Parsed("deny", False)),
    ("kill", Parsed("kill")),
    ("abort", Parsed("abort")),
    ("ABORT", Parsed("abort")),
    ("detach", Parsed("detach")),
    ("help", Parsed("help")),
    ("?", Parsed("help")),
    # short forms and synonyms
    ("p", Parsed("permit", True)),
    ("d", Parsed("deny", True)),
    ("never", Parsed("deny", True)),
    ("pn", Parsed("permit", False)),
    ("once", Parsed("permit", False)),
    ("dn", Parsed("deny", False)),
    ("k", Parsed("kill")),
    ("  PERMIT  ", Parsed("permit", True)),
])
def test_verbs(text, expected):
    assert parse_answer(text) == expected


@pytest.mark.parametrize(("text", "number"), [
    ("deny[EACCES]", errno.EACCES),
    ("deny[eacces]", errno.EACCES),
    ("deny[acces]", errno.EACCES),       # the leading E may be left out
    ("deny[13]", 13),
    ("deny-now[ENOENT]", errno.ENOENT),
    ("deny EACCES", errno.EACCES),
    ("deny-now enoent", errno.ENOENT),
    ("dn[EROFS]", errno.EROFS),
    ("never[EPERM] dir", errno.EPERM),
])
def test_errno_choice(text, number):
    assert parse_answer(text).errno == number


def test_errno_absent_is_none_so_the_asking_rule_decides():
    assert parse_answer("deny dir").errno is None
    assert parse_answer("deny-now").errno is None


@pytest.mark.parametrize(("text", "scope", "reach"), [
    ("permit dir", "dir", None),
    ("permit 3", "3", None),
    ("permit DIR", "dir", None),
    ("permit tree for all", "tree", "all"),
    ("permit for process", None, "process"),
    ("permit all", None, "all"),
    ("permit program ext", "ext", "program"),
    ("deny[EACCES] /tmp/x/** for prog", "/tmp/x/**", "program"),
    ("permit ~/src/*.c", "~/src/*.c", None),
    ("permit $CWD/**", "$CWD/**", None),
    ("permit '/tmp/with space/*'", "/tmp/with space/*", None),
    ("permit /tmp/Mixed/*", "/tmp/Mixed/*", None),   # a glob keeps its case
    ("deny EACCES file for everyone", "file", "all"),
])
def test_scope_and_reach(text, scope, reach):
    parsed = parse_answer(text)
    assert (parsed.scope, parsed.reach) == (scope, reach)
    assert parsed.remember


@pytest.mark.parametrize(("text", "message"), [
    ("", "type an answer"),
    ("   ", "type an answer"),
    ("pernit", "did you mean permit?"),
    ("xyzzy", "unknown answer"),
    ("permit[EACCES]", "takes no errno"),
    ("kill now", "takes no more words"),
    ("detach please", "takes no more words"),
    ("permit-now dir", "this call only"),
    ("deny-now dir", "this call only"),
    ("deny-now for all", "this call only"),
    ("permit dir tree", "two scopes"),
    ("permit for", "for whom?"),
    ("permit for everybodee", "unknown reach"),
    ("permit for process for all", "two reaches"),
    ("deny[EACESS]", "did you mean EACCES?"),
    ("deny[0]", "out of range"),
    ("deny[99999]", "out of range"),
    ("deny[]", "empty errno"),
    ("permit 'unclosed", "cannot read that"),
])
def test_bad_answers_say_what_to_type(text, message):
    with pytest.raises(AnswerError) as info:
        parse_answer(text)
    assert message in str(info.value)


def test_errno_value_names_and_numbers():
    assert errno_value("EPERM") == errno.EPERM
    assert errno_value("perm") == errno.EPERM
    assert errno_value("4095") == 4095
    with pytest.raises(AnswerError):
        errno_value("4096")


@given(st.text(max_size=40))
def test_any_text_parses_or_gets_an_answer_error(text):
    """Whatever is typed, the prompt gets an Answer or a message, never a traceback."""
    try:
        parsed = parse_answer(text)
    except AnswerError as exc:
        assert str(exc)
    else:
        assert parsed.verb in ("permit", "deny", "kill", "abort", "detach", "help")
        assert parsed.reach in (None, "process", "program", "all")
        assert parsed.errno is None or 1 <= parsed.errno <= 4095


def test_abort_takes_no_more_words_and_has_no_short_form():
    with pytest.raises(AnswerError, match="no more words"):
        parse_answer("abort now")
    with pytest.raises(AnswerError):
        parse_answer("a")
