"""Moving a directory moves everything below it: glob queries about what lies below a path,
and the decision on a move (rename of a directory) under file-level rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.policy.files import loads_policy
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action, CallFacts, PathArg


@pytest.mark.parametrize(("pattern", "directory", "may", "every"), [
    ("/s/secret.txt", "/s", True, False),
    ("/s/secret.txt", "/", True, False),
    ("/s/secret.txt", "/s/secret.txt", False, False),   # nothing below a file's own path
    ("/s/secret.txt", "/t", False, False),
    ("/home/*/.ssh/**", "/home/u", True, False),
    ("/home/*/.ssh/**", "/home/u/.ssh", True, True),
    ("/home/*/.ssh/**", "/home/u/src", False, False),
    ("/a/**", "/a/b/c", True, True),
    ("/a/**/x", "/a/b", True, False),
    ("/a/{b,c}/x", "/a/c", True, False),
    ("/a/{b,c}/x", "/a/d", False, False),
    ("pipe:*", "/a", False, False),
])
def test_below_queries(pattern, directory, may, every):
    glob = PathGlob(pattern)
    assert glob.may_match_below(directory) is may
    assert glob.covers_all_below(directory) is every


names = st.text(alphabet="abc", min_size=1, max_size=2)


@given(st.lists(names, min_size=1, max_size=3), st.lists(names, min_size=1, max_size=3),
       st.sampled_from(["*", "**", "a", "b*", "?"]))
def test_below_agrees_with_matching_a_path_below(directory, rest, component):
    """If some concrete path below the directory matches, may_match_below says so; if every
    path below must match, one concrete path below does."""
    glob = PathGlob("/" + "/".join([*directory[:1], component, *directory[1:]]))
    base = "/" + "/".join(directory)
    below = base + "/" + "/".join(rest)
    if glob.matches(below):
        assert glob.may_match_below(base)
    if glob.covers_all_below(base):
        assert glob.matches(below)


POLICY = """
default = "permit"
[[rule]]
calls = ["fsread"]
path = "/data/secd/secret.txt"
action = "never"
errno = "EACCES"
"""


def move(old: str, new: str, directory: bool = True) -> CallFacts:
    return CallFacts("rename", (PathArg("old", old), PathArg("new", new)),
                     directories=frozenset({"old"}) if directory else frozenset())


def test_moving_a_directory_with_a_protected_file_is_refused():
    table = loads_policy(POLICY).main
    decision = table.decide(move("/data/secd", "/tmp/moved"))
    assert decision.action is Action.NEVER
    assert decision.reason == "subtree" and decision.rule is not None
    assert table.decide(move("/data", "/tmp/moved")).action is Action.NEVER


def test_moving_other_directories_and_files_is_not_affected():
    table = loads_policy(POLICY).main
    assert table.decide(move("/data/other", "/tmp/x")).action is Action.PERMIT
    assert table.decide(move("/data/secd/notes.txt", "/tmp/x", directory=False)).action \
        is Action.PERMIT


def test_a_rule_covering_the_whole_subtree_decides_the_move():
    text = """
default = "never"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/work/**"
action = "permit"
"""
    table = loads_policy(text).main
    assert table.decide(move("/work/build", "/work/old")).action is Action.PERMIT
    # with default never, a directory nothing covers cannot be moved
    assert table.decide(move("/home/u", "/work/u")).action is Action.NEVER
