"""A writer's template for the names it removed (learn24, learn._writers_template): cmake
writes each file of ``CMakeFiles/hello.dir/`` as ``NAME.tmpXXXXX`` renamed onto ``NAME``,
and removes ``compiler_depend.internal`` "in case" -- a file it writes through the same
template only on a later build.  The learned policy grants the fresh temporaries of such a
removed name, and no other name: not another file of the directory, not an older file at a
temporary's name, nothing where the run did not make the directory or showed no template."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import PID_SHAPE, RANDOM_CHAR
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
from systrace_py.policy.model import Action, CallFacts, PathArg

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
DIR = "/work/proj/build/CMakeFiles/hello.dir"
WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def written_through(directory: str, name: str, tmp: str) -> list[Observation]:
    """cmGeneratedFileStream: remove the temporary in case, write it, rename it onto NAME."""
    temp = f"{directory}/{name}.tmp{tmp}"
    return [Observation(MAIN, "unlink", (PathArg("path", temp),)),
            Observation(MAIN, "openat", (PathArg("path", temp),), WRITE, created=("path",)),
            Observation(MAIN, "rename", (PathArg("old", temp),
                                         PathArg("new", f"{directory}/{name}")),
                        created=("new",))]


def run(targets: list[tuple[str, str]], removed: list[str], made_dir: bool = True,
        directory: str = DIR) -> list[Observation]:
    obs = [Observation(MAIN, "mkdir", (PathArg("path", directory),), created=("path",),
                       exclusive=True)] if made_dir else []
    for name in removed:
        obs.append(Observation(MAIN, "unlink", (PathArg("path", f"{directory}/{name}"),)))
    for name, tmp in targets:
        obs += written_through(directory, name, tmp)
    return obs


def learned(observations: list[Observation]):
    report = learn(observations, LearnOptions(env=ENV))
    return loads_policy(dumps_policy(report.policy), "pol.toml", ENV), report


def opened(path: str, flags: int, made: bool) -> CallFacts:
    return CallFacts("openat", (PathArg("path", path),), flags,
                     made=frozenset({"path"}) if made else frozenset())


def renamed(old: str, new: str, made: bool) -> CallFacts:
    return CallFacts("rename", (PathArg("old", old), PathArg("new", new)),
                     made=frozenset({"old"}) if made else frozenset())


def permits(policy, facts: CallFacts) -> bool:
    return policy.main.decide(facts).action is Action.PERMIT


TARGETS = [("build.make", "cf91a"), ("flags.make", "c3a55"), ("depend.make", "9dfa9")]


def test_a_removed_name_is_written_through_the_writers_template_and_no_other_name() -> None:
    """cmake's next build after an edit writes ``compiler_depend.internal.tmpXXXXX`` and
    renames it onto ``compiler_depend.internal`` (refused before learn24: the build failed).
    Granted: that temporary, fresh (only the next run's own file), with the calls the
    template had.  Not: an older file at such a name, another name of the directory, the
    removed name's temporary read where the run did not make it."""
    policy, report = learned(run(TARGETS, ["compiler_depend.internal"]))
    temp = f"{DIR}/compiler_depend.internal.tmp768e0"
    assert permits(policy, opened(temp, WRITE, made=True))
    assert permits(policy, opened(temp, os.O_RDONLY, made=True))
    assert permits(policy, renamed(temp, f"{DIR}/compiler_depend.internal", made=True))
    assert any(g.kind.startswith("temporaries of a name the program removed")
               and g.fresh for g in report.generalizations), report.generalizations
    # an older file there (the user's, a link to a secret) is no file the run makes
    assert not permits(policy, opened(temp, os.O_RDONLY, made=False))
    assert not permits(policy, opened(temp, WRITE, made=False))
    for other in (f"{DIR}/notes.txt", f"{DIR}/notes.txt.tmp1", f"{DIR}/compiler_depend",
                  f"{DIR}/compiler_depend.internalx", "/work/proj/build/secret.tmp1",
                  f"{DIR}/../compiler_depend.internal.tmp1"):
        for made in (False, True):
            assert not permits(policy, opened(other, WRITE, made=made)), other
            assert not permits(policy, opened(other, os.O_RDONLY, made=made)), other


def test_no_template_no_grant() -> None:
    """One temporary is no template of the program's; a directory the run did not make is
    not its own; a name the run did not remove is not one it named: none grants anything
    (main's policy, unchanged)."""
    temp = f"{DIR}/compiler_depend.internal.tmp768e0"
    for obs in (run(TARGETS[:1], ["compiler_depend.internal"]),
                run(TARGETS, ["compiler_depend.internal"], made_dir=False),
                run(TARGETS, [])):
        policy, _ = learned(obs)
        assert not permits(policy, opened(temp, WRITE, made=True))


NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=2, max_size=10)
EXT = st.sampled_from([".make", ".txt", ".json", ".cmake", ".internal", ".ts", ""])
HEX5 = st.text(alphabet="0123456789abcdef", min_size=5, max_size=5).filter(
    lambda s: any(c.isalpha() for c in s) and any(c.isdigit() for c in s))


@st.composite
def writers(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    names = draw(st.lists(st.tuples(NAME, EXT).map("".join), min_size=3, max_size=8,
                          unique=True))
    cut = draw(st.integers(2, len(names) - 1))
    targets = [(n, draw(HEX5)) for n in names[:cut]]
    removed = names[cut:]
    controls = draw(st.lists(st.tuples(NAME, EXT).map("".join), max_size=5))
    return targets, removed, [c for c in controls if c not in names]


@settings(max_examples=60, deadline=None)
@given(writers(), HEX5)
def test_the_granted_names_hold_every_observed_one_and_no_control(case, tmp) -> None:
    """The names granted for writing in the directory: every temporary the run made (made
    again by the next run), every removed name's temporary the next run makes -- and no
    control name (another name of the directory, its temporaries, an older file at a
    granted name)."""
    targets, removed, controls = case
    policy, _ = learned(run(targets, removed))
    for name, seen_tmp in targets:
        assert permits(policy, opened(f"{DIR}/{name}.tmp{seen_tmp}", WRITE, made=True))
        assert permits(policy, opened(f"{DIR}/{name}.tmp{tmp}", WRITE, made=True))
    for name in removed:
        assert permits(policy, opened(f"{DIR}/{name}.tmp{tmp}", WRITE, made=True)), name
        assert not permits(policy, opened(f"{DIR}/{name}.tmp{tmp}", WRITE, made=False))
        assert not permits(policy, opened(f"{DIR}/{name}.tmp{tmp}", os.O_RDONLY,
                                          made=False))
    granted = {n for n, _ in targets} | set(removed)
    for name in controls:
        if any(name.startswith(g + ".") for g in granted):
            continue  # (a name of a granted template: covered when the next run makes it)
        for path in (f"{DIR}/{name}", f"{DIR}/{name}.tmp{tmp}"):
            for made in (False, True):
                assert not permits(policy, opened(path, WRITE, made=made)), path
                assert not permits(policy, opened(path, os.O_RDONLY, made=made)), path


def test_a_pid_in_a_temporarys_hex_digits_is_read_as_its_siblings_template() -> None:
    """cmake's ``link.txt.tmp9573f``: ``9573`` a pid of the run.  Learned ``link.txt.tmp
    [1-9]*f`` beside ``build.make.*``, the next runs' ``link.txt.tmpXXXXX`` were refused
    (cmake's generate step failed; once in four learnings measured).  It follows its
    directory's template now; names whose siblings hold pids too keep the pid's place."""
    obs = run([*TARGETS, ("link.txt", "9573f")], [])
    report = learn(obs, LearnOptions(env=ENV, pids=frozenset({9573, 4242})))
    policy = loads_policy(dumps_policy(report.policy), "pol.toml", ENV)
    text = dumps_policy(report.policy)
    assert "link.txt." + RANDOM_CHAR * 8 in text and "[1-9]" not in text, text
    assert permits(policy, opened(f"{DIR}/link.txt.tmpab12c", WRITE, made=True))
    assert not permits(policy, opened(f"{DIR}/link.txt.tmpab12c", WRITE, made=False))
    # configure's conf$$.file, conf$$.dir: the pid stays the pid's shape
    conf = "/work/proj"
    obs = [Observation(MAIN, "openat", (PathArg("path", f"{conf}/conf4242{suffix}"),),
                       WRITE, created=("path",)) for suffix in (".file", ".dir", "subs.sh")]
    obs += [Observation(MAIN, "unlink", (PathArg("path", f"{conf}/conf4242{suffix}"),))
            for suffix in (".file", ".dir", "subs.sh")]
    text = dumps_policy(learn(obs, LearnOptions(env=ENV, pids=frozenset({4242}))).policy)
    # (a pid's shape, 3 to 7 digits: not "[1-9]*", which is "conf1evil.file" too -- learn37)
    assert "conf" + PID_SHAPE + ".file" in text and "[1-9]*" not in text, text
