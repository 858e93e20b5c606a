"""A rule that only removes plants nothing (learn18): the removal of an older file a run
moved into a temporary directory it made -- pip's uninstall stash, which takes the last
install's ``__pycache__/*.pyc`` -- is learned as a removal rule of the stash's shape, which
matches that name something runs later (a writing glob never does where it is used, gap
#32) and reaches no other file, and writes nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_next_run import (
    FIND_LINKS,
    PYTHON3,
    SYSTEM_PATH,
    enforce,
    generated,
    local_setuptools,
)
from test_next_run import learn as learn_run

from systrace_py.policy import aliases
from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import RANDOM_CHAR, LearnedGlob, plants, writes
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.learn import LearnOptions, Observation, learn
from systrace_py.policy.model import Action, PathArg, Policy

REPO = Path(__file__).resolve().parents[2]
REMOVALS = sorted(aliases.REMOVE_CALLS)
#: calls that put something at a name (a class, or a system call named alone)
PLANTING = ["fswrite", "openat", "open", "creat", "rename", "renameat2", "link", "symlink",
            "mkdir", "truncate", "fslink"]
READING = ["fsread", "fsmeta", "exec", "lstat", "newfstatat"]


# --- pure: which calls plant --------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(removing=st.lists(st.sampled_from(REMOVALS), min_size=1, unique=True),
       reading=st.lists(st.sampled_from(READING), unique=True))
def test_removals_and_reads_plant_nothing(removing, reading):
    calls = removing + reading
    assert writes(removing)  # (a removal changes the directory: no read-only rule)
    assert not plants(calls)


@settings(max_examples=200, deadline=None)
@given(removing=st.lists(st.sampled_from(REMOVALS), unique=True),
       planting=st.lists(st.sampled_from(PLANTING), min_size=1, unique=True))
def test_any_call_that_may_make_a_name_plants(removing, planting):
    assert plants(removing + planting)


# --- learn() on pip's stash of a .pyc, without pip ----------------------------------------

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
PIP = "/work/venv/bin/pip"
SITE = "/work/venv/lib/python3.11/site-packages"
STASH = "/tmp/pip-uninstall-x9y8z7w6"
PYC = "__editable___demo_0_1_finder.cpython-311.pyc"
NEXT = "/tmp/pip-uninstall-q1w2e3_4"  # the next run's stash


def _stash_records() -> list[Observation]:
    """pip's uninstall of the last install, as the learner records it: its stash made by
    mkdtemp, its ``__pycache__`` made there, the older ``.pyc`` moved in (not the run's:
    ``older`` on its removal), removed at the end, and a new one compiled in place."""
    return [
        Observation(PIP, "mkdir", (PathArg("path", STASH),), created=("path",),
                    exclusive=True, mkstemp=True),
        Observation(PIP, "mkdir", (PathArg("path", f"{STASH}/__pycache__"),),
                    created=("path",), exclusive=True),
        Observation(PIP, "rename", (PathArg("old", f"{SITE}/__pycache__/{PYC}"),
                                    PathArg("new", f"{STASH}/__pycache__/{PYC}")),
                    created=("new",)),
        Observation(PIP, "unlinkat", (PathArg("path", f"{STASH}/__pycache__/{PYC}"),),
                    older=("path",)),
        Observation(PIP, "rmdir", (PathArg("path", f"{STASH}/__pycache__"),)),
        Observation(PIP, "rmdir", (PathArg("path", STASH),)),
        Observation(PIP, "openat", (PathArg("path", f"{SITE}/__pycache__/{PYC}.1406"),),
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True),
        Observation(PIP, "rename", (PathArg("old", f"{SITE}/__pycache__/{PYC}.1406"),
                                    PathArg("new", f"{SITE}/__pycache__/{PYC}")),
                    created=("new",)),
    ]


def _permits_on_older(policy: Policy, syscall: str, path: str,
                      flags: int | None = None) -> bool:
    """Whether the policy permits the call on a file the next run did not make (no
    ``fresh`` rule covers it: learning's own facts take every path as the run's)."""
    obs = Observation(PIP, syscall, (PathArg("path", path),), flags)
    (facts,) = obs.all_facts()
    decision = policy.programs[PIP].decide(dataclasses.replace(facts, made=frozenset()))
    return decision.action is Action.PERMIT


def test_the_stashs_older_pyc_is_a_removal_of_its_shape_and_nothing_more():
    learned = learn(_stash_records(), LearnOptions(env=ENV)).policy
    text = dumps_policy(learned)
    policy = loads_policy(text, env=ENV)  # (as it is used: runs-later names held there)
    shape = "$TMPDIR/pip-uninstall-" + RANDOM_CHAR * 8 + f"/__pycache__/{PYC}"
    rules = [r for r in policy.programs[PIP].rules
             if getattr(r.path, "pattern", None) == shape]
    # (beside the fresh rule of the next run's own stash files, the same shape: learn36)
    assert [(r.calls, r.fresh) for r in rules if not r.fresh] == [(("unlinkat",), False)], text
    # the next run's stash, its older .pyc: removed
    assert _permits_on_older(policy, "unlinkat", f"{NEXT}/__pycache__/{PYC}")
    # ...and written nothing there: the name runs later, the rule only removes
    write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    assert not _permits_on_older(policy, "openat", f"{NEXT}/__pycache__/{PYC}", write)
    # no neighbour the run never touched: another .pyc in the stash, the user's own .pyc
    # beside the installed one, a stash of another length or prefix, a deeper name
    for other in (f"{NEXT}/__pycache__/other.cpython-311.pyc",
                  f"{SITE}/__pycache__/other.cpython-311.pyc",
                  f"/tmp/pip-uninstall-q1w2e3/__pycache__/{PYC}",
                  f"/tmp/notes-q1w2e3_4/__pycache__/{PYC}",
                  f"/home/u/pip-uninstall-q1w2e3_4/__pycache__/{PYC}",
                  f"{NEXT}/x/__pycache__/{PYC}"):
        assert not _permits_on_older(policy, "unlinkat", other), other


def test_a_removal_rule_stays_out_of_sensitive_locations_where_it_is_used():
    """A removal plants nothing, but it destroys: a learned removal glob still matches no
    sensitive file (``~/.ssh``...) it does not name (LearnedGlob, red team 13b)."""
    def rule_path(calls: str) -> PathGlob | LearnedGlob:
        text = (f'[[program."/usr/bin/rm".rule]]\ncalls = [{calls}]\npath = "~/*/*"\n'
                'action = "permit"\nlearned = {kind = "generated names", seen = 1, '
                'paths = ["/home/u/a/b"]}\n')
        return loads_policy(text, env=ENV).programs["/usr/bin/rm"].rules[0].path

    removing, writing = rule_path('"unlinkat"'), rule_path('"fswrite"')
    for runs_later in ("/home/u/proj/Makefile", "/home/u/proj/conftest.py"):
        assert removing.matches(runs_later)  # (a removal plants nothing there)
        assert not writing.matches(runs_later)
    for sensitive in ("/home/u/.ssh/id_rsa", "/home/u/.gnupg/pubring.kbx"):
        assert not removing.matches(sensitive)
        assert not writing.matches(sensitive)


# --- the real pip: an editable install over its last one, bytecode on ----------------------

PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "demo"
version = "0.1"
"""


@pytest.mark.slow
def test_an_editable_install_whose_last_pyc_pip_stashes_installs_again(tmp_path):
    """``pip install -e .`` of a ``pyproject.toml`` project over its last install, bytecode
    on, with another module's ``.pyc`` in site-packages' ``__pycache__``.  pip makes
    ``$TMPDIR/pip-build-env-XXXXXXXX`` (setuptools installed there, the backend started with
    ``PYTHONPATH`` naming it) and moves the last install's files into
    ``$TMPDIR/pip-uninstall-XXXXXXXX`` -- the finder's ``.pyc`` alone in its
    ``__pycache__`` -- removed at the end.  Learned once, the next run was refused 237 calls
    (the build environment's Python library, taken for a category root with its literal
    name), then its backend's exec (``PYTHONPATH`` granted literally), then the stash's moves
    (``__editable___demo_0_1_finder.py`` taken for a random name, the stash's older files
    kept by their literal directory); before learn18 each next run was refused the stashed
    ``.pyc``'s ``unlinkat`` 7 times (pip retries) and failed.  (One test for both: each
    pip run here builds in isolation, a minute a run traced.)"""
    project = tmp_path / "proj"
    (project / "demo").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "demo" / "__init__.py").write_text("VALUE = 42\n")
    venv = tmp_path / "venv"
    subprocess.run([PYTHON3, "-m", "venv", str(venv)], check=True, env={"PATH": SYSTEM_PATH})
    # (PYTHONPATH without the empty entry conftest's ends with: that one puts the project,
    # and its demo.egg-info, on pip's sys.path -- pip then takes demo for installed there
    # and uninstalls nothing)
    env = {"PATH": SYSTEM_PATH, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
           "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(REPO)}
    if local_setuptools():
        # (the build environment's setuptools from the wheels on this machine: from the index
        # each of the three installs asked pypi.org, ~6 s of each traced run at idle (trim78)
        # and a network the claim is not about; the build environment, its PYTHONPATH and
        # the stash are pip's all the same)
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=FIND_LINKS)
    native_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    native_env.update(env)
    install = [str(venv / "bin" / "pip"), "install", "-q", "-e", "."]
    native = subprocess.run(install, cwd=project, env=native_env, capture_output=True,
                            text=True)
    if native.returncode:
        pytest.skip(f"pip cannot build here (no index with setuptools?): {native.stderr[-300:]}")
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "other.py").write_text("X = 1\n")
    subprocess.run([str(venv / "bin" / "python"), "-c", "import other, demo"], check=True,
                   env=native_env)
    stashed = list((site / "__pycache__").glob("__editable___demo_*_finder.*.pyc"))
    assert stashed, list((site / "__pycache__").iterdir())
    policy = learn_run(tmp_path, install, cwd=project, env=env)
    text = policy.read_text()
    if not any(line.startswith('path = "$TMPDIR/pip-uninstall-') and "__pycache__/" in line
               for line in text.splitlines()):
        pytest.skip("this pip stashes no .pyc in $TMPDIR/pip-uninstall-*")
    assert re.search("PYTHONPATH=" + generated("$TMPDIR/pip-build-env-", 8, "/site"), text)
    paths = [line for line in text.splitlines() if line.startswith("path = ")]
    # (no rule names one run's build environment, as the category root did)
    assert not [p for p in paths if re.search(r"pip-build-env-[a-z0-9_]{8}", p)], paths
    assert not [p for p in paths if "__editable___demo_0_*" in p], paths
    stash = "$TMPDIR/pip-uninstall-" + RANDOM_CHAR * 8 + "/__editable___demo_0_1_finder.py"
    assert any(stash in p for p in paths), paths
    # (one next run: it meets the stash, the build environment and the finder the learning
    # run left, as every later run does -- a minute a run traced, and the CI's 20 minutes)
    r, refused = enforce(tmp_path, policy, install, cwd=project, env=env)
    assert r.returncode == 0, r.stderr
    assert refused == [], json.dumps(refused[:3])
    assert not list(site.glob("~*")), list(site.iterdir())  # (no stash left behind)
    check = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import demo; print(demo.VALUE)"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert check.stdout == "42\n", check.stderr
    assert list((site / "__pycache__").glob("other.*.pyc"))  # the neighbour's: untouched
    # no more than that: the stash rule names its file in a directory of pip's template only
    tmp = os.environ.get("TMPDIR", "/tmp")
    glob = PathGlob(stash.replace("$TMPDIR", tmp))
    assert glob.matches(f"{tmp}/pip-uninstall-ab12cd_3/__editable___demo_0_1_finder.py")
    for other in (f"{tmp}/pip-uninstall-ab12cd_3/setup.py",          # another file there
                  f"{tmp}/pip-uninstall-ab12cd/__editable___demo_0_1_finder.py",  # length
                  f"{tmp}/notes-ab12cd_3/__editable___demo_0_1_finder.py",
                  f"{tmp}/pip-uninstall-ab12cd_3/x/__editable___demo_0_1_finder.py"):
        assert not glob.matches(other), other


# --- the real rm: a tree removed that did not exist while learning -------------------------

@pytest.mark.skipif(any(shutil.which(t) is None for t in ("tar", "gzip", "rm", "diff")),
                    reason="tar, gzip, rm and diff are needed")
def test_a_tree_removed_and_extracted_again_is_removed_on_the_next_runs_and_no_other_file(
        tmp_path):
    """``rm -rf x && mkdir x && tar xzf a.tgz -C x`` learned with no ``x`` (the first run):
    rm's ``unlinkat`` met ENOENT, and the next run's rm, meeting the tree the last run
    extracted, was refused its open of ``x`` (the script stopped: 2 refusals a run).  The
    removal is granted what the run made below the name, by name, and no file the run
    did not make there."""
    tree = tmp_path / "tree"
    (tree / "sub" / "deep").mkdir(parents=True)
    for i in range(3):
        (tree / f"f{i}.txt").write_text(f"file {i}\n")
        (tree / "sub" / "deep" / f"d{i}.dat").write_text(f"deep {i}\n")
    (tree / "link").symlink_to("f0.txt")
    script = ("tar czf out.tgz tree && rm -rf x && mkdir x && tar xzf out.tgz -C x "
              "&& diff -r tree x/tree")
    policy = learn_run(tmp_path, ["sh", "-c", script], cwd=tmp_path)
    text = policy.read_text()
    assert "x/tree/**" not in text and "$CWD/x/*" not in text, text  # (by name only)
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, ["sh", "-c", script], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert refused == [], json.dumps(refused[:3])
    # a file the run did not make there: its removal is refused, and the file stays
    planted = tmp_path / "x" / "tree" / "sub" / "notes.txt"
    planted.write_text("the user's\n")
    r, refused = enforce(tmp_path, policy, ["sh", "-c", script], cwd=tmp_path)
    assert r.returncode != 0
    assert planted.read_text() == "the user's\n"
    assert any(x.get("args", {}).get("path") == str(planted) for x in refused), refused
