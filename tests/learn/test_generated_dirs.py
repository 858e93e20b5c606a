"""Names made fresh on every run that the generalizer did not recognise as such (issue 11,
learn17): pip's build environment and uninstall stash (``pip install -e .`` of a project with
a ``pyproject.toml``, learned once, refused 237 calls on every next run), setuptools' editable
finder taken for a random name, and a clone made again over the last one (``rm -rf clone &&
git clone``: the last clone's hooks taken for mkstemp's names, its objects refused to the next
``rm``).  Each is learned once and run again under the policy, and each policy is checked to
grant no neighbouring name the run never touched."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import string
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_next_run import SYSTEM_PATH, enforce
from test_next_run import learn as learn_run

from systrace_py.policy.files import dumps_policy
from systrace_py.policy.generalize import (
    RANDOM_CHAR,
    Evidence,
    generated_name,
    generated_shape,
)
from systrace_py.policy.glob import PathGlob, escape
from systrace_py.policy.learn import LearnOptions, Observation, learn
from systrace_py.policy.model import Action, PathArg, Policy

_TEMPFILE = string.ascii_lowercase + string.digits + "_"


def _matches(glob_text: str, name: str) -> bool:
    return PathGlob("/d/" + glob_text).matches("/d/" + name)


# --- pure: a generated directory's shape ----------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(head=st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12),
       run=st.text(_TEMPFILE, min_size=8, max_size=8).filter(lambda r: not r.isdigit()),
       other=st.text(_TEMPFILE, min_size=8, max_size=8),
       tail=st.sampled_from(["", ".log", "-x"]))
def test_a_generated_names_shape_matches_the_next_runs_name_and_no_other_length(
        head, run, other, tail):
    shape = generated_shape(head + run + tail, escape(head) + "*" + escape(tail))
    assert shape == escape(head) + RANDOM_CHAR * 8 + escape(tail)
    assert _matches(shape, head + other + tail)  # the next run's name of the template
    assert not _matches(shape, head + other[:7] + tail)  # another length
    assert not _matches(shape, head + other + "x" + tail)
    assert not _matches(shape, head + other[:7] + "/" + tail)  # no "/" in a name's run
    assert not _matches(shape, head + other[:7] + "." + tail)  # nor another character


@pytest.mark.parametrize(("name", "glob"), [
    ("x.4242", "x.*"),            # a number: a pid's length changes from run to run
    ("ab", "a*b"),                # too short a run for a generator's
    ("a.b-1", "a.*-*"),           # runs of one character: no generator's
    ("pytest-12", "pytest-*"),
])
def test_no_shape_for_what_is_no_random_run(name, glob):
    assert generated_shape(name, glob) is None


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(string.ascii_lowercase, min_size=1, max_size=10),
       digit=st.text(string.digits, min_size=1, max_size=1),
       word=st.text(string.ascii_lowercase, min_size=6, max_size=6),
       tail=st.sampled_from([".py", ".txt", ""]))
def test_a_counter_and_a_word_joined_by_an_underscore_are_no_random_run(
        prefix, digit, word, tail):
    """setuptools' ``__editable___demo_0_1_finder.py``: ``1_finder`` is 8 of tempfile's
    alphabet after a separator, letters and digits -- but on either side of the ``_``.
    Taken for a random run (``__editable___demo_0_*.py``, fresh), pip's next install met
    the learning run's file there and was refused."""
    name = f"__{prefix}_{digit}_{word}{tail}"
    assert generated_name(name, Evidence.CREATED) is None, name
    # a random run that draws "_" as one of its characters still is one
    assert generated_name(f"__{prefix}_a1_b2c3d{tail}", Evidence.CREATED) == \
        f"__{prefix}_*{tail}"


# --- real tools, learned once and run again --------------------------------------------------

@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
def test_a_clone_made_again_over_the_last_one_runs_again_and_removes_no_other_file(tmp_path):
    """``rm -rf clone && git clone src clone``: the learning run removes the last clone (an
    older one) and makes it again.  The removal came before the run made the names, yet it
    counted as their temporary's life: the new ``hooks/pre-commit.sample`` was taken for
    mkstemp's 6 after a separator (``pre-commit.*``, fresh), and the clone's files and
    objects -- left there, met by the next run's ``rm`` -- were refused it (22 calls each
    run).  No more than that: an object the runs never made, planted in the clone, is
    refused to the next run's ``rm``."""
    git_env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(tmp_path), "PATH": SYSTEM_PATH}
    src = tmp_path / "src"
    subprocess.run(["git", "init", "-q", str(src)], check=True, env=git_env)
    for i in range(3):
        (src / f"f{i}").write_text(f"{i}\n")
        subprocess.run(["git", "-C", str(src), "add", f"f{i}"], check=True, env=git_env)
        subprocess.run(["git", "-C", str(src), "commit", "-q", "-m", f"c{i}"], check=True,
                       env=git_env)
    work = tmp_path / "work"
    work.mkdir()
    command = ["sh", "-c", f"rm -rf clone && git clone -q {src} clone && "
                           "git -C clone log --oneline | wc -l"]

    def fresh_clone() -> None:
        shutil.rmtree(work / "clone", ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(src), str(work / "clone")], check=True,
                       env=git_env)

    fresh_clone()
    policy = learn_run(tmp_path, command, cwd=work, env=git_env)
    text = policy.read_text()
    assert not re.search(r"hooks/[^\"]*pre-commit\.\*", text), text
    for _ in range(2):
        fresh_clone()
        r, refused = enforce(tmp_path, policy, command, cwd=work, env=git_env)
        assert (r.returncode, r.stdout.strip()) == (0, "3"), r.stderr
        assert refused == [], json.dumps(refused[:3])
    fresh_clone()
    planted = work / "clone" / ".git" / "objects" / "ff" / ("e" * 38)
    planted.parent.mkdir(exist_ok=True)
    planted.write_text("older")
    r, refused = enforce(tmp_path, policy, command, cwd=work, env=git_env)
    assert r.returncode != 0
    assert str(planted) in [x["args"]["path"] for x in refused], json.dumps(refused[:3])
    assert planted.read_text() == "older"


# --- learn() on pip's records, without pip (runs where no index serves setuptools) ----------

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
PIP = "/work/venv/bin/pip"
PY = "/usr/bin/python3.11"
BUILD = "/tmp/pip-build-env-ab1cd2ef"
STASH = "/tmp/pip-uninstall-x9y8z7w6"
SITE = "/work/venv/lib/python3.11/site-packages"
FINDER = "__editable___demo_0_1_finder.py"


def _pip_records() -> list[Observation]:
    """What pip did, as the learner records it: its build environment made by mkdtemp,
    setuptools read from it, the backend started with PYTHONPATH naming it; the last
    install's finder moved into the stash (an older file: ``older``), removed there, and
    a new one written."""
    lib = f"{BUILD}/overlay/lib/python3.11/site-packages/setuptools"
    made = [Observation(PIP, "mkdir", (PathArg("path", d),), created=("path",),
                        exclusive=True, mkstemp=True) for d in (BUILD, STASH)]
    return [
        *made,
        Observation(PIP, "mkdir", (PathArg("path", f"{BUILD}/overlay"),), created=("path",),
                    exclusive=True),
        Observation(PIP, "openat", (PathArg("path", f"{lib}/__init__.py"),),
                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC, created=("path",)),
        Observation(PY, "openat", (PathArg("path", f"{lib}/__init__.py"),), os.O_RDONLY),
        Observation(PY, "openat", (PathArg("path", f"{lib}/dist.py"),), os.O_RDONLY),
        Observation(PIP, "execve", (PathArg("path", PY),), argv=(PY, "_in_process.py"),
                    environment=(f"PYTHONPATH={BUILD}/site",)),
        Observation(PIP, "execve", (PathArg("path", PY),), argv=(PY, "other.py"),
                    environment=("PYTHONPATH=/work/proj/src",)),
        Observation(PIP, "rename", (PathArg("old", f"{SITE}/{FINDER}"),
                                    PathArg("new", f"{STASH}/{FINDER}")), created=("new",)),
        Observation(PIP, "unlink", (PathArg("path", f"{STASH}/{FINDER}"),), older=("path",)),
        Observation(PIP, "rmdir", (PathArg("path", STASH),)),
        Observation(PIP, "openat", (PathArg("path", f"{SITE}/{FINDER}"),),
                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC, created=("path",)),
    ]


def _decides(policy: Policy, table: str, syscall: str, path: str) -> bool:
    """Whether a rule of the table permits the call on an older file at ``path`` -- one the
    next run did not make: a ``fresh`` rule does not cover it (learning's own check takes
    every path as the run's, so the rules are asked here)."""
    obs = Observation(table, syscall, (PathArg("path", path),))
    (facts,) = obs.all_facts()
    older = dataclasses.replace(facts, made=frozenset())
    return any(rule.action is Action.PERMIT and not rule.fresh and rule.path is not None
               and rule.may_cover(syscall) and rule.matches(older, "path")
               for rule in policy.programs[table].rules)


def test_pips_build_environment_and_stash_are_learned_for_the_next_runs_names():
    policy = learn(_pip_records(), LearnOptions(env=ENV)).policy
    python = policy.programs[PY]
    # the backend's PYTHONPATH: the next run's build environment, not another directory
    # (the directory's shape: made as mkdtemp makes one, its 8 as many on every run)
    assert "PYTHONPATH=$TMPDIR/pip-build-env-" + RANDOM_CHAR * 8 + "/site" in python.environment
    assert python.admits_variable("PYTHONPATH=/tmp/pip-build-env-zz9yy8xx/site")
    assert not python.admits_variable("PYTHONPATH=/tmp/pip-build-env-zz9yy8xx/other")
    assert not python.admits_variable("PYTHONPATH=/home/u/evil")
    # (no generated name: the path itself, below the working directory written as $CWD --
    # learn22 -- and admitting only that directory)
    assert "PYTHONPATH=$CWD/src" in python.environment
    assert python.admits_variable("PYTHONPATH=/work/proj/src")
    assert not python.admits_variable("PYTHONPATH=/work/proj/other")
    # the build environment's library is no category root written with this run's name
    text = dumps_policy(policy)
    rules = [line for line in text.splitlines() if line.startswith("path = ")]
    assert not [r for r in rules if "ab1cd2ef" in r or "x9y8z7w6" in r], rules
    # the stash's older file: the next run's stash directory, and no other name
    pip = policy.programs[PIP]
    stash = "$TMPDIR/pip-uninstall-" + RANDOM_CHAR * 8 + "/" + FINDER
    assert any(getattr(r, "path", None) is not None and r.path.pattern == stash
               and not r.fresh for r in pip.rules), text
    assert _decides(policy, PIP, "unlink", f"/tmp/pip-uninstall-q1w2e3r4/{FINDER}")
    assert not _decides(policy, PIP, "unlink", "/tmp/pip-uninstall-q1w2e3r4/setup.py")
    assert not _decides(policy, PIP, "unlink", f"/tmp/pip-uninstall-q1w2e3/{FINDER}")
    assert not _decides(policy, PIP, "unlink", f"/tmp/notes-q1w2e3r4/{FINDER}")
    assert not _decides(policy, PIP, "unlink", f"/home/u/pip-uninstall-q1w2e3r4/{FINDER}")
    # the finder is no generated name: its own rule (the next run moves the older one)
    assert "__editable___demo_0_*" not in text
