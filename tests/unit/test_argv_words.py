"""argv elements of words in any order (learn26, argv.Words): aclocal hands its shell
``autom4te ... --trace='A:$f::$n' --trace='B:$f::$n' ... configure.ac`` with the ``--trace``
words in a Perl hash's order, another each run.  A learned shell command line holds such a
run of one option's words as words in any order: every permutation of the run matches, and
nothing else -- not another word, one more or one fewer, a word moved out of its run, a
program word moved, anything the shell would read as more than one word."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.argv import ArgvCondition, Words
from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
from systrace_py.policy.model import Action, CallFacts, PathArg

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
ACLOCAL = "/usr/bin/aclocal-1.16"
SH = "/usr/bin/dash"
HEAD = ["/usr/bin/autom4te", "--language", "Autoconf-without-aclocal-m4",
        "'/usr/share/aclocal-1.16/amversion.m4'"]
TAIL = ["configure.ac"]
MACROS = ["AM_INIT_AUTOMAKE", "AM_SET_DEPDIR", "_AM_PROG_TAR", "AM_MISSING_PROG",
          "AM_SANITY_CHECK", "_AM_SET_OPTIONS", "AM_RUN_LOG", "AM_DEP_TRACK"]


def traces(macros: list[str]) -> list[str]:
    return [f"--trace='{m}:$f::$n'" for m in macros]


def command(macros: list[str]) -> str:
    return " ".join([*HEAD, *traces(macros), *TAIL])


def learned(macros: list[str]):
    obs = [Observation(MAIN, "execve", (PathArg("path", ACLOCAL),), argv=("aclocal",),
                       initial=True),
           Observation(ACLOCAL, "execve", (PathArg("path", SH),),
                       argv=("sh", "-c", command(macros)))]
    report = learn(obs, LearnOptions(env=ENV))
    return loads_policy(dumps_policy(report.policy), "pol.toml", ENV)


def runs(policy, text: str) -> bool:
    facts = CallFacts("execve", (PathArg("path", SH),), argv=("sh", "-c", text))
    return policy.programs[ACLOCAL].decide(facts).action is Action.PERMIT


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(MACROS))
def test_the_next_runs_trace_words_in_any_order_are_run(order):
    policy = learned(MACROS)
    assert runs(policy, command(order))


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(MACROS), data=st.data())
def test_nothing_but_a_permutation_of_the_run_is_run(order, data):
    policy = learned(MACROS)
    words = [*HEAD, *traces(order), *TAIL]
    change = data.draw(st.sampled_from(["drop", "add", "replace", "inject", "move", "split",
                                        "double"]))
    i = data.draw(st.integers(len(HEAD), len(HEAD) + len(order) - 1))
    if change == "drop":
        del words[i]
    elif change == "add":
        words.insert(i, "--trace='EVIL:$f::$n'")
    elif change == "replace":
        words[i] = data.draw(st.sampled_from(["--trace='X:$f::$n'", "--debug=aflq",
                                              "--trace=AM_SET_DEPDIR", "--freeze"]))
    elif change == "inject":
        words[i] = words[i] + data.draw(st.sampled_from([";id", "&&id", "|id", "`id`", "$(id)",
                                                         "'", "\nid"]))
    elif change == "move":
        # (a word of the run out of it: before the files, or the program word into it)
        j = data.draw(st.sampled_from([0, 1, 2, 3, len(words) - 1]))
        words[i], words[j] = words[j], words[i]
    elif change == "split":
        words[i] = words[i].replace("::", ":: ", 1)
    else:
        words[i] = words[i] + " "
    assert not runs(policy, " ".join(words))


def test_a_command_without_a_run_of_one_options_words_stays_one_glob():
    obs = [Observation(MAIN, "execve", (PathArg("path", ACLOCAL),), argv=("aclocal",),
                       initial=True),
           Observation(ACLOCAL, "execve", (PathArg("path", SH),),
                       argv=("sh", "-c", "gcc -I/a -I/b -o x x.c")),
           Observation(ACLOCAL, "execve", (PathArg("path", SH),),
                       argv=("sh", "-c", "m4 --trace=A --debug=x --trace=B f"))]
    policy = learn(obs, LearnOptions(env=ENV)).policy
    conditions = [r.argv.patterns for r in policy.programs[ACLOCAL].rules if r.argv]
    assert all(isinstance(e, str) for c in conditions for e in c), conditions
    reloaded = loads_policy(dumps_policy(policy), "pol.toml", ENV)
    assert runs(reloaded, "gcc -I/a -I/b -o x x.c")
    assert not runs(reloaded, "gcc -I/b -I/a -o x x.c")  # (a search path's order: as given)
    assert not runs(reloaded, "m4 --trace=B --debug=x --trace=A f")


@settings(max_examples=200, deadline=None)
@given(globs=st.lists(st.sampled_from(["a*", "ab", "b?", "[ab]c", "abc", "*"]), min_size=1,
                      max_size=6),
       words=st.lists(st.sampled_from(["a", "ab", "abc", "bc", "ac", "b", "bb", ""]),
                      min_size=1, max_size=6))
def test_a_run_matches_when_each_word_has_a_glob_of_its_own(globs, words):
    """Against a brute force over every assignment of globs to words."""
    import fnmatch
    import itertools

    expected = len(globs) == len(words) and any(
        all(fnmatch.fnmatchcase(w, g) for w, g in zip(words, perm, strict=True))
        for perm in itertools.permutations(globs))
    element = Words((tuple(globs),))
    assert element.matches(" ".join(words), None) is expected


def test_words_in_a_policy_file_load_and_are_written_back():
    text = ('[[rule]]\ncalls = ["exec"]\npath = "/usr/bin/dash"\n'
            'argv = ["sh", "-c", {words = ["m4", ["--trace=A", "--trace=B"], "$CWD/f"]}]\n'
            'action = "permit"\n')
    policy = loads_policy(text, "p.toml", ENV)
    rule = policy.main.rules[0]
    assert rule.argv is not None and rule.argv.matches(("sh", "-c", "m4 --trace=B --trace=A "
                                                        "/work/proj/f"))
    assert not rule.argv.matches(("sh", "-c", "m4 --trace=B --trace=A /elsewhere/f"))
    again = loads_policy(dumps_policy(policy), "p.toml", ENV)
    assert again.main.rules[0].argv == rule.argv


@pytest.mark.parametrize("element", [
    {"words": []}, {"words": "m4"}, {"words": ["m4", []]}, {"words": ["m 4"]},
    {"words": ["m4", [1]]}, {"word": ["m4"]}, {"words": ["m4"], "more": 1},
    {"words": ["x"] * 300}])
def test_a_malformed_words_element_is_an_error_of_the_file(element):
    with pytest.raises(ValueError):
        ArgvCondition(["sh", "-c", element])


def test_the_exec_is_refused_for_a_command_of_another_shape():
    policy = learned(MACROS)
    assert not runs(policy, command(MACROS) + " ; id")
    assert not runs(policy, "id " + " ".join(traces(MACROS)))
    assert os.path.basename(SH) == "dash"


_TOML_VALUE = st.recursive(
    st.one_of(st.text(max_size=8), st.integers(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["words", "word", "x"]), inner,
                                            max_size=2)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(element=_TOML_VALUE, text=st.text(max_size=30))
def test_any_argv_element_loads_or_is_an_error_of_the_file_and_matching_never_raises(
        element, text):
    import tomli_w

    from systrace_py.policy.files import PolicyError

    document = tomli_w.dumps({"rule": [{"calls": ["exec"], "path": "/usr/bin/dash",
                                        "argv": ["sh", "-c", element], "action": "permit"}]})
    try:
        policy = loads_policy(document, "p.toml", ENV)
    except PolicyError:
        return
    rule = policy.main.rules[0]
    assert rule.argv is not None
    rule.argv.matches(("sh", "-c", text))  # (True or False, never an exception)
    again = loads_policy(dumps_policy(policy), "p.toml", ENV)
    assert again.main.rules[0].argv == rule.argv


def test_two_learnings_in_two_orders_merge_into_one_rule():
    from systrace_py.policy.learn import merge_policies

    def learned_policy(macros: list[str]):
        return learn([Observation(MAIN, "execve", (PathArg("path", ACLOCAL),),
                                  argv=("aclocal",), initial=True),
                      Observation(ACLOCAL, "execve", (PathArg("path", SH),),
                                  argv=("sh", "-c", command(macros)))],
                     LearnOptions(env=ENV)).policy

    merged = merge_policies(learned_policy(MACROS), learned_policy(MACROS[::-1]))
    assert sum(1 for r in merged.programs[ACLOCAL].rules if r.argv) == 1
