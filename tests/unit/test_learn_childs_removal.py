"""The removal of a file a program the table ran made anew and left there (learn26,
learn._childs_own_removed): ``automake --add-missing --copy`` has ``cp`` copy ``compile``
(``O_EXCL``) into the tree; the next run with ``--force-missing`` removes it before ``cp``
copies it again.  Granted: that removal, by name, to the table that ran ``cp`` and looked at
the file.  Not: a write of it, another name, a file made by a program the table
did not run, made without ``O_EXCL``, removed by the run, written by the table itself, a
symlink, a sensitive name."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
from systrace_py.policy.model import Action, CallFacts, PathArg

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
AUTOMAKE = "/usr/bin/automake-1.16"
CP = "/usr/bin/cp"
OTHER = "/usr/bin/install"
EXCL = os.O_WRONLY | os.O_CREAT | os.O_EXCL
TRUNC = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def run(name: str = "/work/proj/compile", *, maker: str = CP, flags: int = EXCL,
        removed: bool = False, symlink: bool = False, written: bool = False
        ) -> list[Observation]:
    obs = [Observation(MAIN, "execve", (PathArg("path", AUTOMAKE),), argv=("automake",),
                       initial=True),
           Observation(AUTOMAKE, "newfstatat", (PathArg("path", name),)),
           Observation(AUTOMAKE, "execve", (PathArg("path", CP),), argv=("cp", "a", "b")),
           Observation(MAIN, "execve", (PathArg("path", OTHER),), argv=("install", "a", "b"))]
    if symlink:
        obs.append(Observation(maker, "symlink", (PathArg("new", name),), created=("new",),
                               exclusive=True))
    else:
        obs.append(Observation(maker, "openat", (PathArg("path", name),), flags,
                               created=("path",), exclusive=bool(flags & os.O_EXCL)))
    if removed:
        obs.append(Observation(maker, "unlink", (PathArg("path", name),)))
    if written:  # (a shell appending to a file git checked out anew)
        obs.append(Observation(AUTOMAKE, "openat", (PathArg("path", name),),
                               os.O_WRONLY | os.O_APPEND))
    return obs


def policy_of(observations: list[Observation]):
    report = learn(observations, LearnOptions(env=ENV))
    return loads_policy(dumps_policy(report.policy), "pol.toml", ENV)


def permits(policy, table: str, facts: CallFacts) -> bool:
    return policy.programs[table].decide(facts).action is Action.PERMIT


def unlink(path: str) -> CallFacts:
    return CallFacts("unlink", (PathArg("path", path),))


def opened(path: str, flags: int) -> CallFacts:
    return CallFacts("openat", (PathArg("path", path),), flags)


def test_automake_removes_what_its_cp_made_and_nothing_else():
    policy = policy_of(run())
    assert permits(policy, AUTOMAKE, unlink("/work/proj/compile"))
    assert permits(policy, AUTOMAKE, CallFacts("unlinkat", (PathArg("path",
                                                                     "/work/proj/compile"),)))
    assert not permits(policy, AUTOMAKE, unlink("/work/proj/notes.txt"))
    # (its read by name is _own_again's, since learn23: a table that looked at a file the
    # run made reads it on the next run)
    assert not permits(policy, AUTOMAKE, opened("/work/proj/compile", TRUNC))
    assert not permits(policy, AUTOMAKE, CallFacts("rmdir", (PathArg("path",
                                                                      "/work/proj/compile"),)))


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(["other maker", "no excl", "removed", "symlink", "sensitive",
                             "written"]),
       name=st.sampled_from(["compile", "install-sh", "missing", "depcomp", "out.txt"]))
def test_no_removal_without_the_evidence(case, name):
    path = f"/work/proj/{name}"
    if case == "other maker":
        obs = run(path, maker=OTHER)
    elif case == "no excl":
        obs = run(path, flags=TRUNC)
    elif case == "removed":
        obs = run(path, removed=True)
    elif case == "symlink":
        obs = run(path, symlink=True)
    elif case == "written":
        obs = run(path, written=True)
    else:
        path = "/home/u/.bashrc"
        obs = run(path)
    report = learn(obs, LearnOptions(env=ENV))
    assert "unlink" not in dumps_policy(report.policy)  # (no removal rule of its own)
    if case != "written":  # (a table that writes a file by name may remove it: fswrite)
        assert not permits(policy_of(obs), AUTOMAKE, unlink(path))


def test_the_grant_follows_the_checkout():
    """By name, written with the variables: ``$CWD/compile`` in another checkout."""
    report = learn(run(), LearnOptions(env=ENV))
    text = dumps_policy(report.policy)
    assert '"$CWD/compile"' in text
    other = loads_policy(text, "pol.toml", {**ENV, "CWD": "/elsewhere/proj"})
    assert permits(other, AUTOMAKE, unlink("/elsewhere/proj/compile"))
    assert not permits(other, AUTOMAKE, unlink("/work/proj/compile"))
