"""A rule path ending in ``/`` names the directory alone (red team 86): the loader says so.

``never fsread "~/.ssh/"`` reads as "the directory ~/.ssh" to a person used to rsync's or
gitignore's trailing slash, but matching ignores the slash: the rule refuses listing the
directory and leaves every file in it readable.  The loader now warns, naming the tree's
pattern (``DIR/**``); a pattern that already covers the tree, or names no trailing slash,
is said nothing of."""

from __future__ import annotations

import os
import warnings

import pytest

from systrace_py.policy.files import PolicyWarning, loads_policy
from systrace_py.policy.model import Action, CallFacts, PathArg


def _load(pattern: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = loads_policy(f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                             f'path = "{pattern}"\naction = "never"\n').main
    said = [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]
    if len(pattern) > 1 and pattern.endswith("/") and not pattern.rstrip("/").endswith("**"):
        # what the warning says: the directory refused, a file in it not
        facts = CallFacts("openat", (PathArg("path", "/srv/keys/id"),), open_flags=os.O_RDONLY)
        assert table.decide(facts).action is Action.PERMIT
        facts = CallFacts("openat", (PathArg("path", "/srv/keys"),), open_flags=os.O_RDONLY)
        assert table.decide(facts).action is Action.NEVER
    return said


@pytest.mark.parametrize("pattern", ["/srv/keys/", "/srv/keys//"])
def test_a_trailing_slash_is_said_to_name_the_directory_alone(pattern: str) -> None:
    """On main 01d6e5c4 these loaded without a word."""
    said = _load(pattern)
    assert len(said) == 1 and "'/srv/keys/**'" in said[0], said


@pytest.mark.parametrize("pattern", ["/srv/keys", "/srv/keys/**", "/srv/keys/**/", "/"])
def test_a_pattern_without_the_trap_is_said_nothing_of(pattern: str) -> None:
    assert _load(pattern) == []
