"""The approver protocol without a tracee: the messages systrace sends (checked against the
JSON Schema shipped in the package), reading what an approver sends (any line: a message, a
refused answer, or a protocol error -- never anything else), the same answer grammar as the
prompt's, and the scripted approver's rules."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py import approver
from systrace_py.approver import (
    ANSWER_WORDS,
    BadAnswer,
    ProtocolError,
    ask_message,
    hello_message,
    load_script,
    protocol_version,
    read_answer,
    read_message,
    scripted,
)
from systrace_py.policy.environment import searches_working_directory
from systrace_py.policy.files import loads_policy
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import CallFacts, PathArg
from systrace_py.supervisor import AskRequest
from systrace_py.ui.answering import Interpreter
from systrace_py.ui.answers import REACHES, VERBS, parse_answer

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads(Path(approver.__file__).with_name("approver.schema.json").read_text())
EX = Expansions(home="/home/alice", cwd="/home/alice/proj", tmpdir="/tmp", user="alice")
POLICY = """
    default = "permit"
    [[rule]]
    calls = ["fsread"]
    path = "/home/alice/**"
    action = "ask"
    errno = "EACCES"
"""


def request(argv=("cc", "-c", "a.c"), parent="/usr/bin/make", ask_id=7):
    policy = loads_policy(POLICY, "/p.toml", {"HOME": "/home/alice"})
    facts = CallFacts("openat", (PathArg("path", "/home/alice/proj/a.c"),),
                      open_flags=os.O_RDONLY)
    return AskRequest(4242, 4242, 4240, "/usr/bin/cc", "openat",
                      {"path": "/home/alice/proj/a.c", "path_as_given": "a.c",
                       "flags": "O_RDONLY"}, facts, policy.main.decide(facts),
                      table=policy.main, id=ask_id, argv=argv, parent_program=parent)


def schema_says(message: object, kind: str | None = None) -> bool:
    schema = SCHEMA if kind is None else {**SCHEMA, "oneOf": [{"$ref": f"#/$defs/{kind}"}]}
    try:
        jsonschema.validate(message, schema)
    except jsonschema.ValidationError:
        return False
    return True


def test_the_version_has_one_home():
    assert protocol_version() == SCHEMA["version"] == hello_message("", [])["protocol"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_ask_carries_what_the_prompt_shows():
    req = request()
    message = ask_message(req, Interpreter(req, expansions=EX))
    assert schema_says(message, "ask")
    assert message["argv"] == ["cc", "-c", "a.c"] and message["parent_program"] == "/usr/bin/make"
    assert message["rule"] == {"file": "/p.toml", "line": 3, "number": 1,
                               "text": "fsread path /home/alice/** -> ask"}
    assert message["path"] == "/home/alice/proj/a.c" and message["errno"] == "EACCES"
    assert [s["key"] for s in message["scopes"]] == ["file", "ext", "dir", "tree", "home",
                                                    "any", "burst"]
    assert message["scopes"][4]["sensitive"]  # ~/** covers ~/.ssh
    unknown = ask_message(request(argv=None, parent=None),
                          Interpreter(request(argv=None, parent=None), expansions=EX))
    assert schema_says(unknown, "ask") and unknown["argv"] is None


def test_an_ask_about_a_signal_to_the_tree_says_so():
    """A signal whose every target is a task of the traced tree: ``target`` "tree" and the
    scope ``tree`` first (close22); another signal says neither."""
    table = loads_policy('default = "ask"', "/p.toml", {}).main
    for tree in (True, False):
        facts = CallFacts("kill", tree=tree)
        req = AskRequest(1, 1, 0, "/bin/kill", "kill", {}, facts, table.decide(facts),
                         table=table, id=1, argv=("kill",), parent_program=None)
        message = ask_message(req, Interpreter(req, expansions=EX))
        assert schema_says(message, "ask")
        assert message.get("target") == ("tree" if tree else None)
        assert [s["key"] for s in message["scopes"]] == (["tree", "any"] if tree else ["any"])


def test_hello_and_systraces_other_messages_fit_the_schema():
    assert schema_says(hello_message("/p.toml", ["make", "-j"]), "hello")
    assert schema_says({"type": "settled", "id": 3, "why": "its process is gone"}, "settled")
    assert schema_says({"type": "error", "id": None, "message": "busy"}, "error")
    assert schema_says({"type": "process", "event": "exit", "pid": 1, "tid": 1, "ppid": 0,
                        "program": "/bin/sh", "code": 0}, "process")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"answer": "permit"}, ("permit", True, None, None, None)),
    ({"answer": "deny", "errno": "eacces", "scope": "DIR", "for": "all"},
     ("deny", True, errno.EACCES, "dir", "all")),
    ({"answer": "deny-now", "errno": 2}, ("deny", False, errno.ENOENT, None, None)),
    ({"answer": "permit", "scope": "~/src/*.c"}, ("permit", True, None, "~/src/*.c", None)),
    ({"answer": "permit", "scope": "burst", "for": "process"},
     ("permit", True, None, "burst", "process")),
    ({"type": "answer", "answer": "abort"}, ("abort", False, None, None, None)),
])
def test_answers_mean_what_the_same_words_mean_at_the_prompt(fields, expected):
    ask_id, parsed = read_answer({"id": 9, **fields})
    assert ask_id == 9
    assert (parsed.verb, parsed.remember, parsed.errno, parsed.scope, parsed.reach) == expected


@pytest.mark.parametrize("fields", [
    {"answer": "permit-now", "errno": "EACCES"},     # only deny takes an errno
    {"answer": "kill", "scope": "file"},             # a call-only answer takes no scope
    {"answer": "deny-now", "for": "all"},
    {"answer": "permit", "for": "everyone"},         # the protocol takes the words exactly
    {"answer": "p"},                                 # no short forms either
    {"answer": "help"},
    {"answer": "deny", "errno": "ENOTANERRNO"},
    {"answer": "deny", "errno": True},
    {"answer": "permit", "colour": "blue"},
])
def test_answers_that_cannot_be_used_are_refused_for_their_id(fields):
    with pytest.raises(BadAnswer) as info:
        read_answer({"id": 5, **fields})
    assert info.value.ask_id == 5


@pytest.mark.parametrize("line", [
    b"garbage", b"[1, 2]", b'"permit"', b"{}", b'{"type": "hello"}', b'{"answer": "permit"}',
    b'{"id": "7", "answer": "permit"}', b'{"id": true, "answer": "permit"}', b"\xff\xfe",
    b"{" * 100000,
])
def test_what_is_no_message_is_a_protocol_error(line):
    with pytest.raises(ProtocolError):
        read_answer(read_message(line))


def test_a_line_too_long_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="more than"):
        read_message(b'{"id": 1, "answer": "permit", "scope": "' + b"x" * approver.MAX_LINE
                     + b'"}')


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
_FIELDS = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["answer", "events", "ask", 1]),
    "id": st.integers(-3, 2**70) | _JSON,
    "answer": st.sampled_from([*ANSWER_WORDS, "help", "p", "PERMIT"]) | _JSON,
    "errno": st.sampled_from(["EACCES", "enoent", "E2BIG", "nope", 13, 0, 5000]) | _JSON,
    "scope": st.sampled_from(["file", "3", "burst", "/tmp/**", "~/x"]) | _JSON,
    "for": st.sampled_from([*REACHES, "everyone"]) | _JSON,
    "process": _JSON,
    "extra": _JSON,
})


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_message_or_a_protocol_error(line):
    try:
        message = read_message(line)
    except ProtocolError:
        return
    assert isinstance(message, dict)


@settings(deadline=None)
@given(_FIELDS)
def test_reading_an_answer_agrees_with_the_schema(fields):
    line = json.dumps(fields).encode()
    try:
        message = read_message(line)
        if message.get("type") == "events":
            return
        ask_id, parsed = read_answer(message)
    except ProtocolError:
        assert not schema_says(fields, "answer")  # what the schema takes is no protocol error
        return
    except BadAnswer:
        return  # well formed, wrong for the grammar: only that call is refused
    assert schema_says(fields, "answer")
    assert ask_id == fields["id"]
    # the same answer typed at the prompt means the same
    words = [fields["answer"]]
    if "errno" in fields:
        words[0] += f"[{fields['errno']}]"
    words += [fields["scope"]] if "scope" in fields else []
    words += ["for", fields["for"]] if "for" in fields else []
    typed = parse_answer(" ".join(json.dumps(w) if " " in w else w for w in words))
    assert typed == parsed


@settings(deadline=None)
@given(st.sampled_from([w for w in VERBS if w != "help"]),
       st.one_of(st.none(), st.sampled_from(["EACCES", "ENOENT", 13])),
       st.one_of(st.none(), st.sampled_from(["file", "dir", "burst", "/x/**"])),
       st.one_of(st.none(), st.sampled_from(REACHES)))
def test_every_combination_is_read_or_refused_never_crashes(verb, errno_field, scope, reach):
    fields = {"id": 1, "answer": verb}
    for key, value in (("errno", errno_field), ("scope", scope), ("for", reach)):
        if value is not None:
            fields[key] = value
    try:
        _, parsed = read_answer(fields)
    except BadAnswer:
        assert errno_field is not None or scope is not None or reach is not None
        return
    assert parsed.verb == VERBS[verb][0]


# --- the scripted approver ------------------------------------------------------------------


def test_the_scripted_approver_answers_by_the_first_matching_rule(tmp_path):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text("""
        [[answer]]
        program = "*/cc"
        path = "/home/alice/proj/*"
        answer = "permit"
        scope = "dir"
        for = "program"

        [[answer]]
        argv = "cc -c *"
        answer = "deny-now"
        errno = "EACCES"
    """.replace("\n        ", "\n"))
    rules = load_script(str(rules_file))
    req = request()
    first = json.dumps(ask_message(req, Interpreter(req, expansions=EX)))
    other = dict(json.loads(first), path="/elsewhere/a.c", id=8)
    nothing = dict(other, argv=["ld"], id=9)
    sent: list[dict[str, object]] = []
    said: list[str] = []
    lines = [json.dumps(hello_message("/p.toml", ["make"])), first, json.dumps(other),
             "not json", json.dumps(nothing)]
    scripted(rules, iter(lines), lambda text: sent.append(json.loads(text)), said.append)
    assert sent == [{"id": 7, "answer": "permit", "scope": "dir", "for": "program"},
                    {"id": 8, "answer": "deny-now", "errno": "EACCES"},
                    {"id": 9, "answer": "deny-now"}]
    assert any("no rule for" in line for line in said)
    assert all(schema_says(message, "answer") for message in sent)


@pytest.mark.parametrize(("text", "says"), [
    ("[[answer]]\nanswer = \"perhaps\"\n", "unknown answer"),
    ("[[answer]]\nanswer = \"permit\"\ncolour = \"red\"\n", "unknown key"),
    ("[[answer]]\npath = 3\nanswer = \"permit\"\n", "a string"),
    ("[[rule]]\n", "unknown key"),
])
def test_a_broken_rules_file_says_what_is_wrong(tmp_path, text, says):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(text)
    with pytest.raises(ValueError, match=says):
        load_script(str(rules_file))



@pytest.mark.parametrize(("argv", "searches"), [
    (["python3", "-m", "systrace_py.approver"], True),
    (["/usr/bin/python3.11", "-X", "dev", "-m", "x"], True),
    (["python", "-Xdev", "-c", "pass"], True),
    (["python3", "-Em", "x"], True),   # (-E: PYTHONSAFEPATH would be ignored; -P is not)
    (["python3", "-W", "error", "-m", "x"], True),
    (["python3", "-P", "-m", "x"], False),
    (["python3", "-Im", "x"], False),
    (["python3", "approver.py", "-m"], False),  # (a script: its own directory, the user's)
    (["python3", "-W", "error", "approver.py"], False),
    (["node", "-m"], False),
    (["python3-config", "-m"], False),
    (["python3"], True),               # (its program on stdin: the cwd first too -- pycwd37)
    (["python3", "-X", "dev", "-"], True),
    (["python3", "-V"], False),        # (prints and exits before it imports)
])
def test_an_approver_is_started_with_nothing_of_the_runs_directory_on_its_path(
        argv: list[str], searches: bool) -> None:
    """Python's -m and -c (and its program on stdin) put the working directory (the run's,
    which the tree may write) first on sys.path: such an approver gets -P (red team 53,
    tests/escape/test_escape_redteam53.py).  The engine's one answer
    (environment.searches_working_directory), which an exec into a Python's table asks too."""
    assert searches_working_directory(argv[0], None, False, argv) is searches
    started = approver.approver_argv(argv)
    assert started == ([argv[0], "-P", *argv[1:]] if searches else argv)


def test_an_approvers_search_paths_keep_no_entry_that_names_the_runs_directory() -> None:
    """A relative entry of PATH or PYTHONPATH (the empty one too: ``PYTHONPATH=:/x``) is the
    working directory -- the run's, which the tree may write (red team 53)."""
    given = {"PATH": ":/usr/bin:.:bin:/bin", "PYTHONPATH": ":/opt/lib", "HOME": "/h"}
    assert approver.approver_environment(given) == {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": "/opt/lib", "HOME": "/h"}
    assert approver.approver_environment({"PYTHONPATH": "lib:", "A": ""}) == {"A": ""}
    assert approver.approver_environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin"}
    # (ld.so's too: review 35)
    assert approver.approver_environment({"LD_LIBRARY_PATH": ":/opt/x/lib:lib"}) == {
        "LD_LIBRARY_PATH": "/opt/x/lib"}


@pytest.mark.parametrize(("argv", "started"), [
    (["env", "python3", "-m", "x"], ["env", "python3", "-P", "-m", "x"]),
    (["/usr/bin/env", "-i", "A=1", "-u", "B", "python3", "-c", "p"],
     ["/usr/bin/env", "-i", "A=1", "-u", "B", "python3", "-P", "-c", "p"]),
    (["env", "--", "env", "python3", "-Xdev", "-m", "x"],
     ["env", "--", "env", "python3", "-P", "-Xdev", "-m", "x"]),
    (["env", "python3", "-P", "-m", "x"], ["env", "python3", "-P", "-m", "x"]),
    (["env", "python3", "approver.py"], ["env", "python3", "approver.py"]),
    (["env", "-S", "python3 -m x"], ["env", "-S", "python3 -m x"]),  # (left: docs)
    (["env", "A=1"], ["env", "A=1"]),
])
def test_an_approver_whose_python_env_runs_gets_P_after_it(argv: list[str],
                                                           started: list[str]) -> None:
    """``exec:env python3 -m ...``: the Python is env's command, after env's options and
    assignments; -P goes after it (review 35: none was added, the plant ran)."""
    assert approver.approver_argv(argv) == started
