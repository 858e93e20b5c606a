"""argv conditions: element-wise fnmatch globs, a final "**" for any remaining arguments."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.argv import ArgvCondition


@pytest.mark.parametrize(("patterns", "argv", "expected"), [
    (["git", "status"], ("git", "status"), True),
    (["git", "status"], ("git", "status", "-s"), False),
    (["git", "status"], ("git",), False),
    (["git", "*"], ("git", "log"), True),
    (["git", "*"], ("git",), False),
    (["git", "**"], ("git",), True),
    (["git", "**"], ("git", "push", "--force", "origin"), True),
    (["git", "**"], ("hg", "push"), False),
    (["**"], (), True),
    (["**"], ("anything", "at", "all"), True),
    ([], (), True),
    ([], ("x",), False),
    # args are not paths: * crosses /
    (["cat", "*"], ("cat", "/etc/passwd"), True),
    (["cat", "/etc/*"], ("cat", "/etc/ssl/certs/x"), True),
    (["rm", "-[rf]*", "**"], ("rm", "-rf", "/"), True),
    (["rm", "-[!rf]*", "**"], ("rm", "-rf", "/"), False),
    (["?s"], ("ls",), True),
    (["?s"], ("lss",), False),
    # an unclosed [ is a literal bracket: the [ command must stay writable
    (["[", "-f", "*", "]"], ("[", "-f", "x", "]"), True),
    # case matters
    (["Git"], ("git",), False),
])
def test_matches(patterns: list[str], argv: tuple[str, ...], expected: bool) -> None:
    assert ArgvCondition(patterns).matches(argv) is expected


@pytest.mark.parametrize(("patterns", "fragment"), [
    (["a", "**", "b"], "may only be the last"),
    (["a", 1], "not a string"),
    ("git", "list of strings"),
])
def test_errors(patterns: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        ArgvCondition(patterns)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_patterns_kept_and_equality() -> None:
    cond = ArgvCondition(["git", "**"])
    assert cond.patterns == ("git", "**")
    assert cond == ArgvCondition(("git", "**"))
    assert cond != ArgvCondition(["git"])


_pat = st.lists(st.sampled_from(["a", "b", "*", "?", "[ab]", "/"]), min_size=0, max_size=3).map(
    "".join).filter(lambda p: p != "**")  # a lone "**" is the rest marker, tested above
_arg = st.text(alphabet="ab/", max_size=3)


@settings(max_examples=120, deadline=None)
@given(st.lists(_pat, max_size=4), st.booleans(), st.lists(_arg, max_size=6))
def test_against_fnmatch(patterns: list[str], rest: bool, argv: list[str]) -> None:
    full = [*patterns, "**"] if rest else patterns
    expected = len(argv) >= len(patterns) if rest else len(argv) == len(patterns)
    expected = expected and all(fnmatch.fnmatchcase(a, p) for p, a in zip(patterns, argv,
                                                                           strict=False))
    assert ArgvCondition(full).matches(tuple(argv)) is expected


def test_cwd_is_the_working_directory_matched_literally():
    """``$CWD`` in an element is the directory the policy is loaded in (learn22), its glob
    characters literal; ``[$]CWD`` is the text; with no directory known, nothing matches."""
    cond = ArgvCondition(["sh", "-c", "cd $CWD/build && make"], cwd="/w[1]*")
    assert cond.matches(("sh", "-c", "cd /w[1]*/build && make"))
    assert not cond.matches(("sh", "-c", "cd /w1x/build && make"))
    assert not cond.matches(("sh", "-c", "cd $CWD/build && make"))
    assert not cond.matches(("sh", "-c", "cd /other/build && make"))
    text = ArgvCondition(["sh", "-c", "echo [$]CWD"], cwd="/w")
    assert text.matches(("sh", "-c", "echo $CWD")) and not text.matches(("sh", "-c", "echo /w"))
    unknown = ArgvCondition(["sh", "-c", "cd $CWD && make"])
    assert not unknown.matches(("sh", "-c", "cd $CWD && make"))
