"""The policy loader never tracebacks: whatever a file holds, loading it gives a policy or one
PolicyError naming the file (and, where there is one, the line and the key).

Fuzzed with hypothesis: TOML documents built from the policy's own keys and words mixed with
random keys, values, nesting and sizes; the same documents written in TOML's other spellings
(the line scanner reads those); raw bytes (invalid UTF-8, NULs, a BOM, UTF-16, Latin-1).
Pathological files the fuzzer would take long to reach are listed by hand.  Also here:
program keys that name a symlink are resolved at load."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import (
    RULE_KEYS,
    TABLE_KEYS,
    TOP_KEYS,
    PolicyError,
    PolicyWarning,
    load_policy,
    loads_policy,
)

WORDS = st.sampled_from([
    "permit", "never", "ask", "fsread", "fswrite", "exec", "net-connect", "open", "openat",
    "read", "connect", "execve", "EACCES", "ENOENT", "/tmp/**", "$HOME/x", "~/y", "$CWD/*",
    "/usr/bin/cat", "/bin/cat", "/{a,b}/c", "/[", "*", "10.0.0.0/8", "::1", "unix:/x",
    "1.2.3.4:80", "[::1]:80", "@abstract", "80", "8000-9000", "", "\x00", "0", "pipe:*",
])
KEYS = st.sampled_from([*TOP_KEYS, *RULE_KEYS, *TABLE_KEYS, "/usr/bin/cat", "/bin/cat",
                        "/usr/bin/../bin/cat", "a.b", ""]) | st.text(max_size=8)
SCALARS = (st.booleans() | st.integers() | st.floats() | WORDS | st.text(max_size=30)
           | st.datetimes() | st.dates() | st.times())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=20)
RULE = st.dictionaries(KEYS, WORDS | st.lists(WORDS, max_size=3) | VALUES, max_size=8)
TABLE = st.fixed_dictionaries({}, optional={
    "default": WORDS | VALUES, "default_errno": WORDS | st.integers(-5, 5000) | VALUES,
    "detach": st.booleans() | VALUES, "description": VALUES,
    "rule": st.lists(RULE, max_size=4) | VALUES})
DOCUMENTS = (st.fixed_dictionaries({}, optional={
    "version": st.integers(-1, 3) | VALUES, "default": WORDS | VALUES,
    "default_errno": WORDS | st.integers(-5, 5000) | VALUES, "detach": st.booleans() | VALUES,
    "description": VALUES, "rule": st.lists(RULE, max_size=4) | VALUES,
    "program": st.dictionaries(KEYS | WORDS, TABLE | VALUES, max_size=3) | VALUES,
}) | st.dictionaries(KEYS, VALUES, max_size=6))


def assert_loads_or_says_where(text: str, source: str = "fuzz.toml") -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        try:
            loads_policy(text, source)
        except PolicyError as exc:
            message = str(exc)
            assert message.startswith(source), message
            assert "internal error" not in message, message
            if exc.key:  # a key named: the line it is on too, when the text has lines
                assert exc.line > 0 or not text.strip(), message


def respell(text: str, style: int) -> str:
    """The same document in another of TOML's spellings: CRLF, comments, indentation, quoted
    keys -- what people write and the line scanner has to read."""
    lines = text.split("\n")
    if style == 1:
        return "\r\n".join(lines)
    if style == 2:
        return "\n".join(f"  {line}  # c" if line and not line.startswith("[") else line
                         for line in lines)
    if style == 3:
        return "\n".join(f'"{line.split(" = ", 1)[0]}" = {line.split(" = ", 1)[1]}'
                         if " = " in line and line.split(" = ", 1)[0].isidentifier()
                         else line for line in lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(DOCUMENTS, st.integers(0, 3))
def test_generated_documents_load_or_fail_with_a_policy_error(document, style):
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):  # not representable in TOML (a NaN key...)
        return
    assert_loads_or_says_where(respell(text, style))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=400) | st.sampled_from([
    b"\xef\xbb\xbfdefault = \"permit\"\n", "default = \"permit\"\n".encode("utf-16"),
    "description = \"caf\xe9\"\n".encode("latin-1"), b"default = \"permit\"\x00\n",
    b"\x00" * 64, b"[[rule]]\ncalls = [\"\xff\"]\n"]))
def test_any_bytes_load_or_fail_with_a_policy_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("raw") / "p.toml"
    path.write_bytes(data)
    try:
        load_policy(path)
    except PolicyError as exc:
        assert str(exc).startswith(str(path)) and "internal error" not in str(exc)


PATHOLOGICAL = {
    "arrays nested 100000 deep": "x = " + "[" * 100000 + "]" * 100000 + "\n",
    "inline tables nested 50000 deep": "x = " + "{a=" * 50000 + "1" + "}" * 50000 + "\n",
    "a header of 5000 dotted keys": "[" + ".".join(["a"] * 5000) + "]\n",
    "a key of 5000 dotted parts": ".".join(["a"] * 5000) + " = 1\n",
    "an integer of 5000 digits": "version = " + "9" * 5000 + "\n",
    "a rule path nested 3000 deep": '[[rule]]\ncalls = ["open"]\naction = "never"\npath = '
                                    + "[" * 3000 + "]" * 3000 + "\n",
    "glob braces nested 2000 deep": '[[rule]]\ncalls = ["open"]\naction = "never"\npath = "/'
                                    + "{a," * 2000 + "b" + "}" * 2000 + '"\n',
    "a program key of braces 2000 deep": '[program."/' + "{a," * 2000 + "b" + "}" * 2000
                                         + '"]\n',
    "a unix glob of braces 2000 deep": '[[rule]]\ncalls = ["connect"]\naction = "never"\n'
                                       'unix = "/' + "{a," * 2000 + "b" + "}" * 2000 + '"\n',
    "a program key of 1 MB": '[program."/' + "a" * 1_000_000 + '"]\n',
    "a path of 1 MB": '[[rule]]\ncalls = ["open"]\naction = "never"\npath = "/'
                      + "a" * 1_000_000 + '"\n',
    "an argv of 1 MB": '[[rule]]\ncalls = ["execve"]\naction = "never"\nargv = ["'
                       + "a" * 1_000_000 + '"]\n',
    "20000 rules": '[[rule]]\ncalls = ["read"]\naction = "permit"\n' * 20000,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_documents(name):
    assert_loads_or_says_where(PATHOLOGICAL[name])


@pytest.mark.parametrize(("data", "words"), [
    (b"\xef\xbb\xbfdefault = \"permit\"\n", "byte order mark"),
    ("default = \"permit\"\n".encode("utf-16"), "UTF-16"),
    ("description = \"caf\xe9\"\n".encode("latin-1"), "not UTF-8"),
])
def test_encodings_are_named(tmp_path, data, words):
    path = tmp_path / "p.toml"
    path.write_bytes(data)
    with pytest.raises(PolicyError, match=words) as caught:
        load_policy(path)
    assert caught.value.line == 1


def test_a_file_too_big_to_be_a_policy_is_refused_without_reading_it_all(tmp_path):
    # (a sparse file past the limit: /dev/zero, used before, is no regular file and is now
    # refused before any read -- close 49)
    from systrace_py.policy.files import MAX_POLICY_BYTES

    path = tmp_path / "huge.toml"
    with open(path, "wb") as f:
        f.truncate(MAX_POLICY_BYTES + 1)
    with pytest.raises(PolicyError, match="not a policy"):
        load_policy(path)


def test_deep_nesting_names_its_line():
    with pytest.raises(PolicyError, match="nested too deeply") as caught:
        loads_policy('default = "permit"\n\nx = ' + "[" * 5000 + "]" * 5000 + "\n", "f.toml")
    assert caught.value.line == 3


def test_a_dotted_key_error_names_its_line():
    with pytest.raises(PolicyError) as caught:
        loads_policy('default = "permit"\nfrob.nicate = 1\n', "f.toml")
    assert (caught.value.line, caught.value.key) == (2, "frob")


# --- program keys that name a symlink ----------------------------------------------------------

needs_symlinked_bin = pytest.mark.skipif(os.path.realpath("/bin/cat") == "/bin/cat",
                                         reason="/bin is not a symlink here")


@needs_symlinked_bin
def test_a_program_key_naming_a_symlink_is_resolved_with_a_warning():
    with pytest.warns(PolicyWarning, match=r"f\.toml:2: .*/bin/cat resolves to /usr/bin/cat"):
        policy = loads_policy('default = "permit"\n[program."/bin/cat"]\ndefault = "never"\n',
                              "f.toml")
    table = policy.table_for(os.path.realpath("/bin/cat"))
    assert table is not None and table.name == os.path.realpath("/bin/cat")


@pytest.mark.parametrize("key", ["/memfd:helper (deleted)", "/opt/tool/helper (deleted)",
                                 "/memfd:*"])
def test_a_table_of_a_program_with_no_name_of_its_own_loads_with_a_warning(key):
    """A memfd's or a removed file's program (``NAME (deleted)``) takes no table (red team
    61): a table keyed so -- an older -A wrote them (learn42) -- is entered by no run, said
    at load; a warning, not an error, so that such a policy still loads."""
    with pytest.warns(PolicyWarning, match=r"f\.toml:2: .*has no name of its own.*takes no"):
        policy = loads_policy(f'default = "permit"\n[program."{key}"]\ndefault = "never"\n',
                              "f.toml")
    assert key in policy.programs


@needs_symlinked_bin
def test_two_keys_for_one_program_are_an_error():
    text = '[program."/usr/bin/cat"]\n[program."/bin/cat"]\n'
    with warnings.catch_warnings(), pytest.raises(PolicyError, match="table of its own") as err:
        warnings.simplefilter("ignore", PolicyWarning)
        loads_policy(text, "f.toml")
    assert err.value.line == 2


def test_a_resolved_key_gives_no_warning(tmp_path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyWarning)
        loads_policy(f'[program."{os.path.realpath("/usr/bin/env")}"]\n', "f.toml")
