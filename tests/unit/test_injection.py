"""Fault injection's pure parts: ``when`` as strace reads it, durations, signals, strace's
call sets, retval checks, the injector's counting, saving and loading inject rules, and the
prefilter stopping what an inject rule names."""

from __future__ import annotations

import errno
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine.events import ReplyKind
from systrace_py.injector import Injector
from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.filterplan import PlanOptions, plan
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.inject import (
    ALWAYS,
    InjectError,
    Injection,
    parse_duration,
    parse_signal,
    parse_strace_inject,
    parse_when,
    retval_problem,
    strace_set,
)
from systrace_py.policy.model import Action, CallFacts, PathArg, Rule, Table


def reference_fires(first: int, last: int | None, step: int, n: int) -> bool:
    """strace's qualify.c semantics, spelled out: FIRST, then every STEP-th, up to LAST."""
    picked = set()
    k = first
    while k <= n and (last is None or k <= last):
        picked.add(k)
        k += step
    return n in picked


@given(first=st.integers(1, 20), span=st.one_of(st.none(), st.integers(0, 20)),
       step=st.one_of(st.none(), st.integers(1, 6)), n=st.integers(1, 60))
def test_when_fires_as_strace_counts(first, span, step, n):
    last = None if span is None else first + span
    text = str(first) + (f"..{last}" if last is not None else "") + (
        "+" + (str(step) if step is not None else "") if step is not None or last is None
        else "")
    when = parse_when(text)
    assert when.fires(n) == reference_fires(first, last, step or 1, n), text
    assert str(when) == text


@pytest.mark.parametrize(("text", "picked"), [
    ("3", [3]), ("3..5", [3, 4, 5]), ("3+", [3, 4, 5, 6, 7, 8]), ("3+2", [3, 5, 7]),
    ("2..8+3", [2, 5, 8]), ("1", [1]),
])
def test_when_examples_of_the_docs(text, picked):
    assert [n for n in range(1, 9) if parse_when(text).fires(n)] == picked


@pytest.mark.parametrize("text", ["0", "", "3..", "..3", "5..3", "3+0", "x", "-1", "3++"])
def test_bad_when(text):
    with pytest.raises(InjectError):
        parse_when(text)


@pytest.mark.parametrize(("value", "seconds"), [
    ("200ms", 0.2), ("1.5s", 1.5), ("300us", 0.0003), ("10ns", 1e-8), ("2s", 2.0)])
def test_durations(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds)


def test_a_bare_number_needs_a_unit_unless_one_is_given():
    with pytest.raises(InjectError, match="give a unit"):
        parse_duration("200")
    assert parse_duration("200", "us") == pytest.approx(0.0002)  # strace's default
    for bad in ("fast", "2 days", "100000s", True, [1]):
        with pytest.raises(InjectError):
            parse_duration(bad)


def test_signals():
    assert parse_signal("SIGUSR1") == parse_signal("USR1") == parse_signal("usr1") \
        == signal.SIGUSR1
    assert parse_signal(9) == parse_signal("9") == 9
    assert parse_signal("SIGRTMIN+2") == signal.SIGRTMIN + 2
    for bad in ("SIGNOPE", 0, 999, "", True):
        with pytest.raises(InjectError):
            parse_signal(bad)


def test_retval_is_checked_against_what_the_call_returns():
    assert retval_problem("unlink", 0) is None
    assert "only 0" in (retval_problem("unlink", 1) or "")
    assert retval_problem("write", 5) is None
    assert retval_problem("openat", 7) is None
    assert "descriptor" in (retval_problem("openat", 1 << 40) or "")
    assert "does not return" in (retval_problem("exit_group", 0) or "")
    assert "does not return" in (retval_problem("execve", 0) or "")
    assert "error return" in (retval_problem("read", -5) or "")
    assert "page-aligned" in (retval_problem("mmap", 4097) or "")
    assert retval_problem("mmap", 0x7F0000000000) is None
    assert retval_problem("getpid", 42) is None
    assert "negative" in (retval_problem("getpid", -5000) or "")


def test_strace_sets():
    assert strace_set("write") == ("write",)
    assert set(strace_set("read,write")) == {"read", "write"}
    assert "openat" in strace_set("%file") and "write" not in strace_set("%file")
    assert "connect" in strace_set("%network") and "connect" in strace_set("%net")
    assert "clone" in strace_set("%process")
    assert set(strace_set("/^getp")) >= {"getpid", "getppid"}
    everything = set(strace_set("all"))
    assert set(strace_set("!write")) == everything - {"write"}
    assert strace_set("?nosuchcall,write") == ("write",)
    assert "unlink" in strace_set("fswrite")  # systrace's aliases too
    for bad in ("nosuchcall", "%nosuchclass", "/[", ""):
        with pytest.raises(InjectError):
            strace_set(bad)


def test_strace_inject_spec():
    calls, injection = parse_strace_inject("read,write:error=ENOSPC:when=3:signal=USR1")
    assert set(calls) == {"read", "write"}
    assert injection == Injection(errno.ENOSPC, None, signal.SIGUSR1, 0.0, 0.0,
                                  parse_when("3"), "process")
    _, injection = parse_strace_inject("openat:delay_enter=1000:delay_exit=2ms")
    assert injection.delay == pytest.approx(0.001) and injection.delay_exit == \
        pytest.approx(0.002)
    _, injection = parse_strace_inject("unlink:retval=0")
    assert injection.retval == 0 and injection.when == ALWAYS


def inject_rule(calls: tuple[str, ...], when: str = "1+", scope: str = "process",
                **kw: object) -> Rule:
    return Rule(calls, Action.INJECT,
                inject=Injection(errno.EIO, when=parse_when(when), scope=scope),
                **kw)  # type: ignore[arg-type]


def test_every_matching_rule_counts_and_the_first_that_fires_wins():
    third = inject_rule(("write",), "3")
    second = inject_rule(("stdio",), "2")
    table = Table("main", rules=[third, second])
    injector = Injector()
    picks = [injector.pick(table, CallFacts("write"), pid=1) for _ in range(4)]
    assert [p[0] if p else None for p in picks] == [None, second, third, None]


def test_counts_per_process_and_per_run():
    per_process = inject_rule(("write",), "2")
    per_run = inject_rule(("read",), "2", scope="run")
    table = Table("main", rules=[per_process, per_run])
    injector = Injector()
    write, read = CallFacts("write"), CallFacts("read")
    assert injector.pick(table, write, 1) is None and injector.pick(table, write, 2) is None
    assert injector.pick(table, write, 1) is not None  # each process counts its own
    assert injector.pick(table, read, 1) is None
    assert injector.pick(table, read, 2) is not None   # the run counts them together
    injector.forget(1)
    assert injector.pick(table, write, 1) is None      # a new process with that pid: from 1


def test_path_conditions_match_any_path_of_the_call():
    rule = Rule(("fswrite",), Action.INJECT, path=PathGlob("/d/**"),
                inject=Injection(errno.EIO))
    table = Table("main", rules=[rule])
    inside = CallFacts("rename", (PathArg("old", "/e/a"), PathArg("new", "/d/b")))
    outside = CallFacts("rename", (PathArg("old", "/e/a"), PathArg("new", "/e/b")))
    assert table.injections(inside) == [rule]
    assert table.injections(outside) == []


def test_inject_rules_decide_nothing():
    table = Table("main", Action.NEVER, rules=[inject_rule(("write",))])
    assert table.decide(CallFacts("write")).action is Action.NEVER
    assert table.decide(CallFacts("write")).rule is None


def test_replies():
    injection = Injection(None, 0, signal.SIGUSR1, 0.5, 0.25)
    reply = Injector.replacing(injection)
    assert reply.kind is ReplyKind.REFUSE and reply.retval == 0
    assert (reply.delay, reply.delay_exit, reply.signal) == (0.5, 0.25, signal.SIGUSR1)
    reply = Injector.replacing(Injection(errno.ENOSPC))
    assert reply.kind is ReplyKind.REFUSE and reply.errno == errno.ENOSPC \
        and reply.retval is None


POLICY = """\
version = 1
default = "permit"

[[rule]]
calls = ["write"]
action = "inject"
errno = "ENOSPC"
when = "3"

[[rule]]
calls = ["unlink"]
path = "/tmp/x/**"
action = "inject"
retval = 0
signal = "SIGUSR1"
delay = "200ms"
delay_exit = "1500us"
when = "2+2"
when_scope = "run"
"""


def test_inject_rules_save_as_written():
    policy = loads_policy(POLICY, "p.toml")
    assert dumps_policy(policy) == POLICY
    rule = policy.main.rules[1]
    assert rule.inject == Injection(None, 0, signal.SIGUSR1, 0.2, 0.0015, parse_when("2+2"),
                                    "run")
    assert rule.describe()["retval"] == 0 and rule.describe()["when"] == "2+2"


def test_the_prefilter_stops_what_inject_rules_name():
    policy = loads_policy(POLICY, "p.toml")
    result = plan(policy.tables(), PlanOptions())
    assert result.calls["write"].kind == "trace"
    assert result.calls["unlink"].kind == "trace"
    assert result.calls["read"].kind == "allow"


def test_p_paths_are_literal_and_resolved(tmp_path):
    from systrace_py.cli.args import _inject_rules

    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    rules = _inject_rules(["openat,write:error=EIO:when=2"],
                          [str(tmp_path / "link"), "/tmp/a,b", "/tmp/we*ird[1]"])
    assert sorted(r.calls for r in rules) == [("openat",), ("write",)]  # one rule per call
    pattern = rules[0].path
    assert pattern is not None
    assert pattern.matches(str(tmp_path / "real"))        # symlinks followed, as strace does
    assert pattern.matches("/tmp/a,b") and pattern.matches("/tmp/we*ird[1]")
    assert not pattern.matches("/tmp/a") and not pattern.matches("/tmp/weXird1")
    assert all(r.inject is not None and r.inject.when == parse_when("2") for r in rules)
