"""``target = "tree"``, apart from a run: how a policy file says it and what misuse it
refuses (file, line and key), how the rule decides on the facts a call gives, and the rule
the learner writes on every table (tests/engine/test_signal_tree.py runs real processes)."""

from __future__ import annotations

import textwrap

import pytest

from systrace_py.policy.files import PolicyError, dumps_policy, loads_policy
from systrace_py.policy.filterplan import VerdictKind, plan
from systrace_py.policy.learn import (
    MAIN,
    TREE_SIGNALS,
    LearnOptions,
    Observation,
    decide_observation,
    learn,
)
from systrace_py.policy.model import Action, CallFacts, Policy
from systrace_py.ui.answering import rule_text

RULE = """
    default = "never"
    [[rule]]
    calls = ["signal"]
    target = "tree"
    action = "permit"
"""


def load(text: str) -> Policy:
    return loads_policy(textwrap.dedent(text), "pol.toml")


def test_target_round_trips_and_is_shown() -> None:
    policy = load(RULE)
    rule = policy.main.rules[0]
    assert rule.target == "tree" and rule.conditional and rule.describe()["target"] == "tree"
    text = dumps_policy(policy)
    assert 'target = "tree"' in text
    assert load(text).main.rules[0].target == "tree"
    assert rule_text(rule) == "signal target tree -> permit"


@pytest.mark.parametrize("call", ["kill", "tkill", "tgkill", "rt_sigqueueinfo",
                                  "rt_tgsigqueueinfo", "pidfd_send_signal"])
def test_it_covers_a_signal_to_the_tree_only(call: str) -> None:
    table = load(RULE).main
    assert table.decide(CallFacts(call, tree=True)).action is Action.PERMIT
    refused = table.decide(CallFacts(call))
    assert refused.action is Action.NEVER and refused.rule is None  # (the default's)


def test_the_filter_stops_every_signal_call_a_tree_rule_may_decide() -> None:
    """Only a stop can tell where a signal goes: not permitted, nor refused, in the kernel."""
    for default in ("never", "permit"):
        calls = plan([load(RULE.replace('"never"', f'"{default}"', 1)).main]).calls
        for call in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                     "pidfd_send_signal"):
            assert calls[call].kind is VerdictKind.TRACE, (default, call, calls[call])


@pytest.mark.parametrize(("change", "fragment"), [
    (('target = "tree"', 'target = "children"'), 'expected "tree"'),
    (('target = "tree"', "target = true"), 'expected "tree"'),
    (('action = "permit"', 'action = "never"'), 'only used by "permit" rules'),
    (('action = "permit"', 'action = "ask"'), 'only used by "permit" rules'),
    (('calls = ["signal"]', 'calls = ["signal", "getpid"]'), "sends no signal"),
    (('calls = ["signal"]', 'calls = ["stdio"]'), "sends no signal"),
])
def test_target_errors_name_file_line_and_key(change: tuple[str, str], fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        load(RULE.replace(*change))
    err = info.value
    assert (err.file, err.key) == ("pol.toml", "target") and err.line > 0, str(err)
    assert str(err).startswith(f"pol.toml:{err.line}: target: ") and fragment in err.message


# --- the learner -----------------------------------------------------------------------------

def learned(observations: list[Observation], **options: object) -> Policy:
    report = learn(observations, LearnOptions(**options))  # type: ignore[arg-type]
    return load(dumps_policy(report.policy))


def signal_rules(policy: Policy, table: str = MAIN) -> list[tuple[tuple[str, ...], str | None]]:
    rules = policy.main.rules if table == MAIN else policy.programs[table].rules
    return [(rule.calls, rule.target) for rule in rules
            if rule.classes & {"signal"} or rule.syscalls & {"kill", "tgkill", "tkill"}]


def test_every_learned_table_permits_signals_to_its_tree() -> None:
    """A run that sent no signal: each table, the command's and an exec'd program's."""
    policy = learned([Observation(MAIN, "getpid"), Observation("/usr/bin/make", "getpid")])
    for table in (MAIN, "/usr/bin/make"):
        assert signal_rules(policy, table) == [(("signal",), "tree")], dumps_policy(policy)
    assert getattr(policy.main.rules[-1], "comment", None) == TREE_SIGNALS
    unaliased = learned([Observation(MAIN, "getpid")], no_alias=True)
    assert signal_rules(unaliased) == [(("kill", "pidfd_send_signal", "rt_sigqueueinfo",
                                         "rt_tgsigqueueinfo", "tgkill", "tkill"), "tree")]


def test_a_signal_seen_inside_the_tree_is_no_grant_and_one_outside_is() -> None:
    inside = Observation(MAIN, "kill", tree=True)
    policy = learned([inside])
    assert signal_rules(policy) == [(("signal",), "tree")]
    assert decide_observation(policy, inside).action is Action.PERMIT  # (by the tree rule)
    assert decide_observation(policy, Observation(MAIN, "kill")).action is Action.NEVER
    outside = learned([inside, Observation(MAIN, "kill")])
    assert decide_observation(outside, Observation(MAIN, "kill")).action is Action.PERMIT
    assert (("signal",), "tree") in signal_rules(outside) and len(signal_rules(outside)) == 2


def test_the_tree_mark_of_an_observation_round_trips_through_a_log() -> None:
    seen = Observation(MAIN, "tgkill", tree=True)
    assert seen.to_json()["tree"] is True
    assert Observation.from_json(MAIN, seen.to_json()) == seen
    assert "tree" not in Observation(MAIN, "tgkill").to_json()
