"""``fresh = true`` (gap #30): the model's decision, the file's key, the native loop's hand-off
and the learner's use of it.  The engine's side (what a run made) is in
tests/engine/test_fresh_rules.py, on real processes."""

from __future__ import annotations

import os
import textwrap

import pytest

from systrace_py.engine import cloop
from systrace_py.policy.files import PolicyError, dumps_policy, loads_policy
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.index import FLAT_GLOB, flat_check
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
from systrace_py.policy.model import (
    ADDRESS,
    Action,
    CallFacts,
    PathArg,
    Reason,
    Rule,
    SockAddr,
    Table,
)
from systrace_py.policy.net import NetCondition
from systrace_py.ui.answering import rule_text

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
HASH = "0123456789abcdef" * 2


def table(*rules: Rule, default: Action = Action.NEVER) -> Table:
    return Table("main", default, rules=list(rules))


FRESH = Rule(("fsread", "fswrite"), Action.PERMIT, path=PathGlob("/w/.bash*"), fresh=True)


def opened(path: str, flags: int, made: bool) -> CallFacts:
    return CallFacts("openat", (PathArg("path", path),), flags,
                     made=frozenset({"path"}) if made else frozenset())


# --- the model -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR | os.O_CREAT])
def test_a_fresh_rule_permits_what_the_run_makes_and_not_an_older_file(flags: int) -> None:
    t = table(FRESH)
    made = t.decide(opened("/w/.bashrcqwerty", flags, made=True))
    assert (made.action, made.rule) == (Action.PERMIT, FRESH)
    older = t.decide(opened("/w/.bashrc", flags, made=False))
    assert (older.action, older.reason) == (Action.NEVER, Reason.DEFAULT)


def test_a_later_rule_decides_an_older_file_a_fresh_rule_skips() -> None:
    """Not matched is not refused: the rules after it decide (a learned literal write)."""
    later = Rule(("fswrite",), Action.PERMIT, path=PathGlob("/w/.bashrc"))
    t = table(FRESH, later)
    assert t.decide(opened("/w/.bashrc", os.O_WRONLY, made=False)).rule is later


def test_a_rename_over_an_older_file_is_not_covered() -> None:
    """The new name exists and the run did not make it: the old path being the run's own
    does not make the file it replaces so."""
    t = table(FRESH)
    facts = CallFacts("rename", (PathArg("old", "/w/.bashXYZ"), PathArg("new", "/w/.bashrc")),
                      made=frozenset({"old"}))
    assert t.decide(facts).action is Action.NEVER
    both = CallFacts("rename", (PathArg("old", "/w/.bashXYZ"), PathArg("new", "/w/.bashQQ")),
                     made=frozenset({"old", "new"}))
    assert t.decide(both).action is Action.PERMIT


def test_a_moved_directory_is_covered_by_a_fresh_tree_only_if_the_run_made_it() -> None:
    tree = Rule(("fswrite", "fsread"), Action.PERMIT, path=PathGlob("/w/target/**"), fresh=True)
    t = table(tree, Rule(("fswrite", "fsread"), Action.PERMIT, path=PathGlob("/w/target")))
    facts = CallFacts("rename", (PathArg("old", "/w/target"), PathArg("new", "/w/target2")),
                      directories=frozenset({"old"}))
    # the new name is not inside the tree: refused by the default either way
    moved_in = CallFacts("rename", (PathArg("old", "/w/target/a"),
                                    PathArg("new", "/w/target/b")),
                         directories=frozenset({"old"}), made=frozenset({"old", "new"}))
    assert t.decide(moved_in).action is Action.PERMIT
    older = CallFacts("rename", (PathArg("old", "/w/target/a"), PathArg("new", "/w/target/b")),
                      directories=frozenset({"old"}), made=frozenset({"new"}))
    decision = t.decide(older)
    assert (decision.action, decision.reason) == (Action.NEVER, Reason.DEFAULT)
    assert t.decide(facts).action is Action.NEVER


def test_a_question_about_a_path_apart_from_a_call_finds_the_refusal_after_a_fresh_permit(
        ) -> None:
    """An interpreter, a directory walked through: plain facts, nothing made -- a fresh
    permit in front does not hide the refusing rule behind it."""
    never = Rule(("exec",), Action.NEVER, path=PathGlob("/w/.bash*"))
    fresh_exec = Rule(("exec",), Action.PERMIT, path=PathGlob("/w/.bash*"), fresh=True)
    t = table(fresh_exec, never, default=Action.PERMIT)
    found = t.refusing_rule(CallFacts("execve", (PathArg("path", "/w/.bashrc"),)))
    assert found is not None and found.rule is never


def test_the_native_loop_leaves_a_fresh_rule_to_python() -> None:
    """Where its glob matches, the call is Python's; elsewhere the loop goes on (a path of
    another directory never meets it)."""
    t = table(FRESH)
    flat, _ = flat_check(t.compiled().check("openat", "fsread"))
    assert flat == [(FLAT_GLOB, FRESH, "/w")]
    assert cloop._action(FRESH) == (cloop._PYTHON, 0)


# --- the file --------------------------------------------------------------------------------

def load(text: str):
    return loads_policy(textwrap.dedent(text), "pol.toml", ENV)


RULE = """\
    [[rule]]
    calls = ["fsread", "fswrite"]
    path = "$CWD/.bash*"
    fresh = true
    action = "permit"
"""


def test_fresh_round_trips() -> None:
    policy = load(RULE)
    rule = policy.main.rules[0]
    assert rule.fresh and rule.describe()["fresh"] is True
    text = dumps_policy(policy)
    assert "fresh = true" in text
    again = load(text)
    assert again.main.rules[0].fresh
    assert not load(RULE.replace("fresh = true", "fresh = false")).main.rules[0].fresh
    assert "fresh" not in dumps_policy(load(RULE.replace("fresh = true\n", "")))
    assert rule_text(rule) == "fsread,fswrite path $CWD/.bash* fresh -> permit"


@pytest.mark.parametrize(("change", "fragment"), [
    (("fresh = true", 'fresh = "yes"'), "expected true or false"),
    (('action = "permit"', 'action = "never"'), "only used by \"permit\" rules"),
    (('path = "$CWD/.bash*"\n', ""), "needs a path or a unix socket path"),
])
def test_fresh_errors_name_file_line_and_key(change: tuple[str, str], fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        load(RULE.replace(*change))
    err = info.value
    assert (err.file, err.key) == ("pol.toml", "fresh") and err.line > 0, str(err)
    assert str(err).startswith(f"pol.toml:{err.line}: fresh: ") and fragment in err.message


# --- the learner -----------------------------------------------------------------------------

def learned(observations: list[Observation]):
    report = learn(observations, LearnOptions(env=ENV))
    return load(dumps_policy(report.policy)), report


#: a generated name's random run is written as its shape, a class a character (learn36)
SHAPE = "[0-9A-Za-z_]"
BUS = "$CWD/bus" + SHAPE * 6


def rules_on(policy, pattern: str) -> list[Rule]:
    return [r for r in policy.main.rules if r.path is not None and r.path.pattern == pattern]


def test_a_generated_name_is_learned_fresh_and_replays() -> None:
    name = "/work/proj/.bashrcqwerty"  # (made as Python's tempfile makes it: .bash and 8)
    obs = [Observation(MAIN, "openat", (PathArg("path", name),),
                       os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, created=("path",),
                       exclusive=True, mkstemp=True),
           Observation(MAIN, "unlink", (PathArg("path", name),))]
    policy, report = learned(obs)
    (rule,) = rules_on(policy, "$CWD/.bash" + SHAPE * 8)  # (its shape: learn36)
    assert rule.fresh
    assert any(g.fresh and g.pattern == "$CWD/.bash" + SHAPE * 8 for g in report.generalizations)
    for o in obs:  # what the run did is permitted again (its own files)
        assert policy.main.decide(o.all_facts()[0]).action is Action.PERMIT
    assert policy.main.decide(opened("/work/proj/.bashrc", os.O_WRONLY, made=False)
                              ).action is not Action.PERMIT


def test_a_fresh_glob_swallows_no_literal_write_of_an_older_file() -> None:
    """A write of an existing file beside a content hash keeps its own rule: the fresh glob
    of the hash would not cover it on the next run."""
    policy, _ = learned([
        Observation(MAIN, "openat", (PathArg("path", f"/work/proj/{HASH}"),),
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True),
        Observation(MAIN, "openat", (PathArg("path", "/work/proj/Makefile"),),
                    os.O_WRONLY | os.O_APPEND)])
    assert rules_on(policy, "$CWD/Makefile"), dumps_policy(policy)
    assert policy.main.decide(opened("/work/proj/Makefile", os.O_WRONLY | os.O_APPEND,
                                     made=False)).action is Action.PERMIT


def test_a_generated_socket_name_is_learned_fresh_and_covers_no_older_socket() -> None:
    """Red team 17: a unix socket bound at a generated name (taken as mkstemp takes one,
    removed, bound there) was learned ``unix = "$CWD/bus*"`` without ``fresh`` -- the file
    rule was fresh, the net rule not --, which covered ``bus``, a socket the run never
    reached (a session bus).  Now the net rule is fresh: the run's own socket (bound by it)
    only, the next run's bind of another random name too."""
    name = "/work/proj/busx7Kq2p"
    own = SockAddr("unix", path=name)
    obs = [Observation(MAIN, "openat", (PathArg("path", name),),
                       os.O_RDWR | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True,
                       mkstemp=True),
           Observation(MAIN, "unlink", (PathArg("path", name),)),
           Observation(MAIN, "bind", sockaddrs=(own,)),
           Observation(MAIN, "connect", sockaddrs=(own,)),
           Observation(MAIN, "unlink", (PathArg("path", name),))]
    policy, _ = learned(obs)
    (rule,) = [r for r in policy.main.rules if r.net is not None and "unix" in r.net.describe()]
    assert rule.fresh and rule.net is not None and rule.net.describe()["unix"] == BUS
    assert rule_text(rule) == f"net-connect,net-bind unix {BUS} fresh -> permit"
    for o in obs:  # what the run did is permitted again (its own socket)
        assert policy.main.decide(o.all_facts()[0]).action is Action.PERMIT, o
    for syscall, made in (("connect", True), ("bind", True), ("connect", False)):
        facts = CallFacts(syscall, sockaddr=SockAddr("unix", path="/work/proj/busQ2r8Zt"),
                          made=frozenset({ADDRESS}) if made else frozenset())
        assert (policy.main.decide(facts).action is Action.PERMIT) == made, (syscall, made)
    older = CallFacts("connect", sockaddr=SockAddr("unix", path="/work/proj/bus"))
    assert policy.main.decide(older).action is not Action.PERMIT


def test_a_fresh_unix_rule_round_trips_and_matches_only_the_runs_sockets() -> None:
    text = RULE.replace('path = "$CWD/.bash*"', 'unix = "$CWD/bus*"').replace(
        '["fsread", "fswrite"]', '["net-connect"]')
    rule = load(text).main.rules[0]
    assert rule.fresh and "fresh = true" in dumps_policy(load(text))
    assert rule.net is not None and rule.path is None
    plain = Rule(("net-connect",), Action.PERMIT, net=NetCondition(unix="/w/bus*"))
    fresh = Rule(("net-connect",), Action.PERMIT, net=NetCondition(unix="/w/bus*"), fresh=True)
    for made in (frozenset(), frozenset({ADDRESS})):
        facts = CallFacts("connect", sockaddr=SockAddr("unix", path="/w/bus"), made=made)
        assert table(plain).decide(facts).action is Action.PERMIT
        assert (table(fresh).decide(facts).action is Action.PERMIT) == bool(made)


def test_a_listing_of_a_generated_directory_is_learned_fresh() -> None:
    """Red team 17: a directory made as mkdtemp makes one (``confx7Kq2p``), listed, every
    entry read, removed: its listing ``$CWD/conf*/*`` was not fresh and covered an older
    ``config/credentials``.  Now it covers only files the run makes there."""
    scratch = "/work/proj/confx7Kq2p"
    entries = [f"{scratch}/a", f"{scratch}/b"]
    obs = [Observation(MAIN, "mkdir", (PathArg("path", scratch),), created=("path",),
                       exclusive=True, mkstemp=True),
           *(Observation(MAIN, "openat", (PathArg("path", e),),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, created=("path",),
                         exclusive=True) for e in entries),
           Observation(MAIN, "getdents64", (PathArg("path", scratch),), listing=("a", "b")),
           *(Observation(MAIN, "openat", (PathArg("path", e),), os.O_RDONLY) for e in entries),
           *(Observation(MAIN, "unlink", (PathArg("path", e),)) for e in entries),
           Observation(MAIN, "rmdir", (PathArg("path", scratch),))]
    policy, _ = learned(obs)
    (listing,) = rules_on(policy, "$CWD/conf" + SHAPE * 6 + "/*")
    assert listing.fresh, dumps_policy(policy)
    for o in obs:
        assert policy.main.decide(o.all_facts()[0]).action is Action.PERMIT, o
    assert policy.main.decide(opened("/work/proj/confQ2r8Zt/a", os.O_RDONLY, made=True)
                              ).action is Action.PERMIT
    assert policy.main.decide(opened("/work/proj/config/credentials", os.O_RDONLY,
                                     made=False)).action is not Action.PERMIT
