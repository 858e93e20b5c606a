"""Close 46 (review 72): what an answer keeps of its ``ask`` is walked from the one list of
a rule's conditions (``model.CONDITIONS``) and of an address condition's keys (``net.KEYS``):
a condition added there is one ``answer_conditions`` narrows, or the tests below fail."""

from __future__ import annotations

import dataclasses

from systrace_py.policy import model, net
from systrace_py.policy.argv import ArgvCondition
from systrace_py.policy.glob import Expansions, PathGlob
from systrace_py.policy.model import CONDITIONS, Action, Rule, answer_conditions
from systrace_py.policy.net import KEYS, NetCondition

#: the fields of a rule that are no condition on a call (what it does, where it was written)
NOT_CONDITIONS = {"calls", "action", "errno", "redirect", "location", "index", "missing",
                  "inject", "syscalls", "classes"}


def test_every_field_of_a_rule_is_a_condition_or_named_none() -> None:
    """A field added to :class:`Rule` is either one of ``CONDITIONS`` (and then narrowed)
    or said here to be none: an answer does not silently drop a new condition of its ask."""
    fields = {f.name for f in dataclasses.fields(Rule)}
    assert fields == set(CONDITIONS) | NOT_CONDITIONS, fields ^ (set(CONDITIONS) | NOT_CONDITIONS)
    assert not set(CONDITIONS) & NOT_CONDITIONS
    assert set(model._NARROWED) == set(CONDITIONS)


def test_every_key_of_an_address_condition_is_narrowed() -> None:
    """Each ``net.KEYS`` key: its attribute holds the parsed value, and each IP key has an
    inside test (``unix`` is told by the path globs' rule in the model)."""
    assert set(NetCondition.__slots__) == {"_described", *KEYS.values()}
    assert set(net.INSIDE) == set(KEYS) - {"unix"}


#: for each key: an ask naming it, an answer naming none of it, one naming a wider value,
#: one naming a value inside
SAMPLES: dict[str, tuple[dict[str, object], dict[str, object], dict[str, object],
                         dict[str, object]]] = {
    "address": ({"address": "10.0.0.0/8"}, {"port": 443}, {"address": "0.0.0.0/0"},
                {"address": "10.1.0.0/16"}),
    "port": ({"port": "1000-2000"}, {"address": "127.0.0.1"}, {"port": "1-65535"},
             {"port": 1500}),
    "host": ({"host": "*.example.com"}, {"address": "127.0.0.1"}, {"host": "*.com"},
             {"host": "a.example.com"}),
    "unix": ({"unix": "/run/a/x.sock"}, {"address": "127.0.0.1"}, {"unix": "/run/a/*"},
             {"unix": "/run/a/x.sock"}),
}


def _rule(action: Action, **conditions: object) -> Rule:
    return Rule(("net-connect",), action, net=NetCondition(**conditions))  # type: ignore[arg-type]


def test_each_address_key_of_the_ask_is_copied_or_proven_covered() -> None:
    """Every key of ``net.KEYS``: an answer naming none of it gets the ask's (and stands
    before the ask); one naming a wider value is not covered; one naming a value inside
    is covered and keeps its own."""
    assert set(SAMPLES) == set(KEYS)
    for key, (ask, other, wider, inside) in SAMPLES.items():
        asking = _rule(Action.ASK, **ask)
        part = KEYS[key]
        if key != "unix":  # (an IP answer under a unix ask picks none of what it asks)
            answered, covered = answer_conditions(_rule(Action.PERMIT, **other), asking)
            assert covered, key
            assert answered.net is not None
            assert getattr(answered.net, part) == getattr(asking.net, part), key
            assert answered.net.describe()[key] == ask[key], key
        answered, covered = answer_conditions(_rule(Action.PERMIT, **wider), asking)
        assert not covered, key
        answered, covered = answer_conditions(_rule(Action.PERMIT, **inside), asking)
        assert covered, key
        assert answered.net is not None
        assert getattr(answered.net, part) == getattr(_rule(Action.PERMIT, **inside).net, part)


def test_an_answer_of_the_other_family_is_not_covered() -> None:
    assert answer_conditions(_rule(Action.PERMIT, address="127.0.0.1"),
                             _rule(Action.ASK, unix="/run/a/x.sock"))[1] is False


def test_a_unix_answer_spelled_with_cwd_is_respelled_under_an_absolute_ask() -> None:
    """``$CWD/run/x.sock`` (the offer's spelling) under ``ask ... unix = "/w/run/x.sock"``
    run in /w: the same socket, spelled absolute, before the ask; ``$CWD/run/*`` is wider
    (and run elsewhere, ``$CWD/run/x.sock`` is another socket): not covered."""
    env = {"HOME": "/root", "CWD": "/w"}
    asking = Rule(("net-connect",), Action.ASK, net=NetCondition(unix="/w/run/x.sock"))
    here = Expansions.from_env(env)
    mine = Rule(("net-connect",), Action.PERMIT, net=NetCondition(unix="$CWD/run/x.sock",
                                                                   env=env))
    answered, covered = answer_conditions(mine, asking, here)
    assert covered and answered.net is not None
    assert answered.net.describe() == {"unix": "/w/run/x.sock"}
    assert answered.net == asking.net
    wide = Rule(("net-connect",), Action.PERMIT, net=NetCondition(unix="$CWD/run/*", env=env))
    assert answer_conditions(wide, asking, here)[1] is False
    elsewhere = Expansions.from_env({"HOME": "/root", "CWD": "/v"})
    assert answer_conditions(mine, asking, elsewhere)[1] is False


def test_argv_fresh_and_target_both_named_must_be_the_asks_or_inside() -> None:
    """An answer's literal argv the ask's globs match stands before it; a glob argv wider
    than the ask's does not; ``fresh`` and ``target`` are copied."""
    path = PathGlob("/usr/bin/tool", {})
    asking = Rule(("exec",), Action.ASK, path=path, argv=ArgvCondition(["*", "safe*"]),
                  fresh=False, target=None)
    literal = Rule(("exec",), Action.PERMIT, path=path,
                   argv=ArgvCondition(["/usr/bin/tool", "safe[*]x"]))
    assert answer_conditions(literal, asking)[1] is True
    wide = Rule(("exec",), Action.PERMIT, path=path, argv=ArgvCondition(["*", "*"]))
    assert answer_conditions(wide, asking)[1] is False
    other = Rule(("exec",), Action.PERMIT, path=path,
                 argv=ArgvCondition(["/usr/bin/tool", "dangerous"]))
    assert answer_conditions(other, asking)[1] is False
    # (a file's ask names neither: the model's rules may, and are narrowed alike)
    ask_kill = Rule(("kill",), Action.ASK, target="tree")
    answered, covered = answer_conditions(Rule(("kill",), Action.PERMIT), ask_kill)
    assert covered and answered.target == "tree"
    ask_fresh = Rule(("fswrite",), Action.ASK, path=PathGlob("/w/**", {}), fresh=True)
    answered, covered = answer_conditions(
        Rule(("fswrite",), Action.PERMIT, path=PathGlob("/w/a", {})), ask_fresh)
    assert covered and answered.fresh
