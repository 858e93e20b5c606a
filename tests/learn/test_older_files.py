"""Learned policies and older files moved onto names the run made (issue 11): a learned
``fresh`` rule covers only what the next run makes, so a call that met an older file at a
generated name -- pip's uninstall stash, ``packaging`` renamed onto ``~ackaging``, a name
pip made and removed just before -- is learned by name, and the next run passes; another
older file at a name of the same shape stays refused -- and a generated name's glob, fresh,
grants no project file a tool runs later (generalize.RUNS_LATER)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_next_run import enforce, generated, learn

from systrace_py.policy.generalize import RANDOM_CHAR

#: pip's stash, as pip makes it (AdjacentTempDirectory: a "~" for the first letter, the
#: name probed by mkdir and removed, the older package renamed there, the new one written,
#: the stash removed with everything in it)
STASH = ("mkdir '~ypackage' && rmdir '~ypackage' && mv mypackage '~ypackage' && "
         "mkdir mypackage && echo new > mypackage/mod.py && rm -r '~ypackage' && "
         "cat mypackage/mod.py")


def _older_package(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    (work / "mypackage").mkdir(parents=True)
    (work / "mypackage" / "mod.py").write_text("old\n")


def test_an_uninstall_stash_of_an_older_package_is_removed_on_the_next_run(tmp_path):
    work = tmp_path / "work"
    _older_package(work)
    policy = learn(tmp_path, ["sh", "-c", STASH], cwd=work)
    text = policy.read_text()
    assert "$CWD/~ypackage" in text and "~ypackage/mod.py" in text, text
    _older_package(work)
    r, refused = enforce(tmp_path, policy, ["sh", "-c", STASH], cwd=work)
    assert (r.returncode, r.stdout) == (0, "new\n"), r.stderr
    assert refused == [], refused[:3]
    # no more than that: an older directory of the stash's shape is none of the run's
    _older_package(work)
    (work / "~otherpkg").mkdir()
    (work / "~otherpkg" / "mod.py").write_text("kept\n")
    other = STASH + " && rm -r '~otherpkg'"
    r, refused = enforce(tmp_path, policy, ["sh", "-c", other], cwd=work)
    assert r.returncode != 0 and (work / "~otherpkg" / "mod.py").exists()
    assert refused and all("/~otherpkg" in x["args"]["path"] for x in refused), refused[:3]


def test_a_configure_scratch_directory_is_learned_as_its_template(tmp_path):
    """configure's ``mktemp -d ./confXXXXXX`` -- mkdir 0700, here with the 6 lowercase
    letters and digits it draws 1 run in 26 (mkdir -m 700 makes it as mkdtemp does) --
    was learned as "co" and Python's 8, ``$CWD/co*``: the next run could make any new name
    of "co".  Now ``$CWD/conf*``: the next run's scratch passes, ``coffee`` does not."""
    work = tmp_path / "work"
    work.mkdir()
    script = "mkdir -m 700 {0} && echo x > {0}/f && rm -r {0}"
    policy = learn(tmp_path, ["sh", "-c", script.format("confab12cd")], cwd=work)
    text = policy.read_text()
    assert re.search(generated("$CWD/conf", 6), text) and "$CWD/co*" not in text and \
        "$CWD/co" + RANDOM_CHAR * 8 not in text, text
    r, refused = enforce(tmp_path, policy, ["sh", "-c", script.format("confQx7LmZ")], cwd=work)
    assert (r.returncode, refused) == (0, []), (r.stderr, refused[:3])
    r, refused = enforce(tmp_path, policy, ["sh", "-c", script.format("coffee")], cwd=work)
    assert r.returncode != 0 and refused and not (work / "coffee").exists(), r.stderr


@pytest.mark.parametrize(("template", "planted"), [
    ("toxXXXXXX", "tox.ini"), ("noxXXXXXX", "noxfile.py"), ("packageXXXXXX", "package.json"),
    ("justXXXXXX", "justfile"), ("setupXXXXXX", "setup.py"), ("setupXXXXXX", "setup.cfg"),
    ("pyprojectXXXXXX", "pyproject.toml"), (".gitattrXXXXXX", ".gitattributes"),
    ("MAKEXXXXXX", "MAKEFILE")])
def test_a_generated_name_grants_no_project_file_a_tool_runs(tmp_path, template, planted):
    """A scratch file made beside a project's files (mktemp's ``toxXXXXXX``) is learned as
    its template, fresh: ``$CWD/tox*`` -- which let the next run make ``tox.ini``, whose
    commands tox runs when the user next types tox (npm a package.json's scripts, nox a
    noxfile.py, just a justfile, pip a setup.py, a setup.cfg's or a pyproject.toml's build
    backend, git a .gitattributes' filter and diff drivers; ``MAKEFILE`` is the Makefile of
    a directory that folds case): generalize.RUNS_LATER.  The scratch file passes again."""
    work = tmp_path / "work"
    work.mkdir()
    scratch = f"f=$(mktemp {template}) && echo x > $f && rm $f"
    policy = learn(tmp_path, ["sh", "-c", scratch], cwd=work)
    assert re.search(generated(f"$CWD/{template[:-6]}", 6), policy.read_text())
    r, refused = enforce(tmp_path, policy, ["sh", "-c", scratch], cwd=work)
    assert (r.returncode, refused) == (0, []), (r.stderr, refused[:3])
    r, refused = enforce(tmp_path, policy, ["sh", "-c", f"{scratch}; echo evil > {planted}"],
                         cwd=work)
    assert not (work / planted).exists() and refused, r.stderr


#: what pytest does with its base temporary directory: a probe of $TMPDIR (Python's
#: tempfile), ``$TMPDIR/tool-of-me`` made 0700 and left, listed, the next ``run-N`` made
TOOL_SCRIPT = """
import os, tempfile
fd, probe = tempfile.mkstemp()
os.close(fd)
os.unlink(probe)
base = os.path.join(tempfile.gettempdir(), "tool-of-me")
try:
    os.mkdir(base, 0o700)
except FileExistsError:
    pass
n = len(os.listdir(base))
os.mkdir(os.path.join(base, f"run-{n}"))
print(n)
"""


def test_a_tools_base_directory_and_counter_made_from_scratch_work_the_next_time(tmp_path):
    """Two runs of a tool from an empty ``$TMPDIR`` -- pytest's first, making
    ``pytest-of-USER`` and ``pytest-0``, ``pytest-1``: the base directory, made and left,
    was covered by the probes' fresh ``$TMPDIR/*`` and the next run, meeting it older, was
    refused reading it; ``run-0`` then ``run-1``, kept literally, refused ``run-2``.  Now
    the base keeps its own rule and the run's own count is a counter: the base holds only
    its names and what the run made, the counter's own directory (``tool-of-me/**``)."""
    from test_next_run import PYTHON3
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    once = f"{PYTHON3} -I -S -c '{TOOL_SCRIPT}'"
    policy = learn(tmp_path, ["sh", "-c", f"{once} && {once}"], cwd=tmp_path, env=env)
    # (the counter's own directory: learn._Context.counter_dirs)
    assert "tool-of-me/**" in policy.read_text()
    for n in (2, 3):
        r, refused = enforce(tmp_path, policy, ["sh", "-c", once], cwd=tmp_path, env=env)
        assert (r.returncode, r.stdout, refused) == (0, f"{n}\n", []), (r.stderr, refused[:3])


#: pytest's own numbered base directories (its tmp_path's): ``pytest-N`` made in
#: ``$TMPDIR/pytest-of-USER`` with ``pytest-current`` pointing at it, 3 kept -- from the
#: fourth run on the oldest is renamed to ``garbage-UUID`` and removed; then, if asked, an
#: older file written
BASETEMP_SCRIPT = """
import atexit, os, pathlib, sys, tempfile
from _pytest.pathlib import make_numbered_dir_with_cleanup
root = pathlib.Path(tempfile.gettempdir(), "pytest-of-me")
root.mkdir(mode=0o700, exist_ok=True)
made = make_numbered_dir_with_cleanup(prefix="pytest-", root=root, keep=3,
                                      lock_timeout=10800, mode=0o700,
                                      register=atexit.register)
(made / "test_a0").mkdir()
(made / "test_a0" / "f").write_text("x")
if sys.argv[1] != "-":
    open(sys.argv[1], "w").write("planted")
print(made.name)
"""


def test_pytests_base_directories_rotate_after_a_first_run_learned(tmp_path):
    """Learned on pytest's first run in a ``$TMPDIR`` -- or its second or third --, the
    policy named ``pytest-0`` (one made beside no older one was no counter) and the fourth
    run's rotation, never seen (the oldest renamed to ``garbage-UUID``, then removed), was
    refused.  ``pytest-of-USER`` holds the counter's names and what the run made, nothing
    else: it is the counter's own directory, learned as its tree (``pytest-of-me/**``) --
    no more: an older file beside it is refused."""
    import sys
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    command = [sys.executable, "-I", "-c", BASETEMP_SCRIPT]
    policy = learn(tmp_path, [*command, "-"], cwd=tmp_path, env=env)
    assert '"$TMPDIR/pytest-of-me/**"' in policy.read_text(), policy.read_text()
    for n in range(1, 5):  # (the 4th removes pytest-0)
        r, refused = enforce(tmp_path, policy, [*command, "-"], cwd=tmp_path, env=env)
        assert (r.returncode, r.stdout, refused) == (0, f"pytest-{n}\n", []), (
            r.stderr, refused[:3])
    left = {p.name for p in (tmpdir / "pytest-of-me").iterdir()}
    assert "pytest-0" not in left and {"pytest-4", "pytest-current"} <= left, left
    older = tmpdir / "older.txt"
    older.write_text("older")
    r, refused = enforce(tmp_path, policy, [*command, str(older)], cwd=tmp_path, env=env)
    assert r.returncode != 0 and [x["args"]["path"] for x in refused] == [str(older)], (
        r.stderr, refused[:3])
    assert older.read_text() == "older"


def test_a_hooks_directory_of_another_name_gets_no_hook(tmp_path):
    """A repository whose ``core.hooksPath`` is ``tools/hooks`` runs its hooks from there:
    a scratch file made in it (mktemp's ``preXXXXXX``) was learned as ``pre*``, fresh, and
    the next run made ``tools/hooks/pre-commit``, which git runs at the next commit.  The
    directory a git config names is held as ``.git/hooks`` is: learned exactly, no glob
    reaches a new name there (sensitive._hooks_directory_of)."""
    work = tmp_path / "work"
    (work / "tools" / "hooks").mkdir(parents=True)
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env={**os.environ, **env})
    subprocess.run(["git", "config", "core.hooksPath", "tools/hooks"], cwd=work, check=True,
                   env={**os.environ, **env})
    scratch = "f=$(mktemp tools/hooks/preXXXXXX) && echo x > $f && rm $f"
    policy = learn(tmp_path, ["sh", "-c", scratch], cwd=work, env=env)
    assert "$CWD/tools/hooks/pre*" not in policy.read_text(), policy.read_text()
    r, refused = enforce(tmp_path, policy, ["sh", "-c", "echo evil > tools/hooks/pre-commit"],
                         cwd=work, env=env)
    assert not (work / "tools" / "hooks" / "pre-commit").exists() and refused, r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the program's chroot needs root")
def test_a_directory_the_tracer_could_not_list_is_no_counters_own(tmp_path, build):
    """A counter's own directory (``_Context.counter_dirs``, learned as its tree) is one that
    held only the counter's names and what the run made, as the learner listed it at the
    run's getdents.  A listing that failed was taken for an empty directory (review 15):
    ``list_unseen`` lists ``data`` through a descriptor after a chroot, where the learner's
    listing by the directory's name finds nothing, and makes ``data/run-1`` -- and the
    policy granted ``$CWD/data/**``: the user's ``notes.txt``, which the run never used.  A
    directory the learner could not list is of unknown contents, never a counter's own."""
    program = str(build("progs/list_unseen.c"))
    work = tmp_path / "work"
    data = work / "data"
    data.mkdir(parents=True)
    (data / "notes.txt").write_text("the user's\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    policy = learn(tmp_path, [program, "learn", str(data), str(empty)], cwd=work)
    assert (data / "run-1").is_dir()
    assert "$CWD/data/**" not in policy.read_text(), policy.read_text()
    r, refused = enforce(tmp_path, policy, [program, "read", str(data / "notes.txt")], cwd=work)
    assert r.returncode != 0 and "the user's" not in r.stdout, (r.stdout, r.stderr)
    assert [x["args"]["path"] for x in refused] == [str(data / "notes.txt")], refused[:3]


def test_a_config_file_git_includes_gets_no_command(tmp_path):
    """A repository whose ``.git/config`` includes ``../.gitlocal`` (the work tree's
    ``.gitlocal``: ``[include] path``) reads commands from it as from its own config
    (``core.fsmonitor``, ``core.pager``, an alias ``!cmd``).  A scratch file made beside the
    project (mktemp's ``.gXXXXXX``) is learned as ``$CWD/.g*``, fresh, and the next run may
    make ``.gitlocal``: git runs its ``core.fsmonitor`` at the next ``git status``.
    Gap #41, closed: a file a repository's config includes is a RUNS_LATER name of it
    (sensitive._included_config), learned exactly or not at all."""
    work = tmp_path / "work"
    work.mkdir()
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env={**os.environ, **env})
    subprocess.run(["git", "config", "include.path", "../.gitlocal"], cwd=work, check=True,
                   env={**os.environ, **env})
    scratch = "f=$(mktemp .gXXXXXX) && echo x > $f && rm $f"
    policy = learn(tmp_path, ["sh", "-c", scratch], cwd=work, env=env)
    assert re.search(generated("$CWD/.g", 6), policy.read_text()), policy.read_text()
    planted = "printf '[core]\\n\\tfsmonitor = touch MARK\\n' > .gitlocal"
    r, refused = enforce(tmp_path, policy, ["sh", "-c", planted], cwd=work, env=env)
    assert not (work / ".gitlocal").exists() and refused, r.stderr


def test_a_file_a_git_config_includes_is_held_and_no_neighbour(tmp_path, monkeypatch):
    """Gap #41's predicate: the files a repository's config includes inside its work tree
    (relative to the including file, through an include of an include, a conditional one),
    and those the user's config includes anywhere, existing or not, are names something
    runs later; a neighbour of them is not."""
    from systrace_py.policy import sensitive

    work = tmp_path / "work"
    (work / ".git").mkdir(parents=True)
    (work / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (work / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[include]\n\tpath = ../.gitlocal\n'
        '[includeIf "gitdir:~/"]\n\tpath = ../cond.inc\n')
    (work / "cond.inc").write_text("[include]\n\tpath = nested.inc\n")
    (tmp_path / ".gitconfig").write_text("[include]\n\tpath = ~/global.inc\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(tmp_path / "none"))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for cached in (sensitive._config_names_in, sensitive._included_configs,
                   sensitive._global_configs, sensitive._repository_of):
        cached.cache_clear()
    for held in (work / ".gitlocal", work / "cond.inc", work / "nested.inc",
                 tmp_path / "global.inc"):
        assert sensitive.runs_later(str(held)), held
    for other in (work / ".gitlocal2", work / "notes.txt", tmp_path / "global.inc2"):
        assert not sensitive.runs_later(str(other)), other
