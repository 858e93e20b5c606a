"""A store the program keeps (learn25): ``git gc`` packs the loose objects, removes them and
their 2-hex directories and replaces the older pack; ``git commit`` freshens an object that
is there already.  Learned by name (the learning run's older files), the next runs' gc was
refused the last run's pack and the objects of every commit made since, more each run, and
the repository kept every older pack.  The removal and freshening of the store's older
entries are granted by their content-hash shape -- only where the run removed or freshened
an older entry it saw and made entries of that shape itself -- and nothing else: no write
or read of an older entry, no other name of the directory, no other store, nothing
sensitive."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from pathlib import Path

from test_next_run import enforce, learn

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.learn import LearnOptions, Observation
from systrace_py.policy.learn import learn as learn_observations
from systrace_py.policy.model import Action, PathArg, Policy

GIT_ENV = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b", "GIT_CONFIG_NOSYSTEM": "1"}
#: the daily step learned: a commit, then a gc
STEP = "cd src && date +%s%N >> a.txt && git commit -qam edit && git gc -q"


def _git(repo: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout


def _native_commit(repo: Path, env: dict[str, str], name: str) -> None:
    """A commit made outside systrace (the user's own work between two runs)."""
    with open(repo / "b.txt", "a") as f:
        f.write(f"{name}\n")
    _git(repo, "commit", "-qam", name, env=env)


def test_git_gc_removes_the_last_runs_pack_and_the_objects_of_commits_made_since(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **GIT_ENV, "HOME": str(home)}
    work = tmp_path / "work"
    repo = work / "src"
    repo.mkdir(parents=True)
    (repo / "a.txt").write_text("one\n")
    (repo / "b.txt").write_text("two\n")
    _git(repo, "init", "-q", "-b", "main", env=env)
    _git(repo, "add", ".", env=env)
    _git(repo, "commit", "-qm", "init", env=env)
    _git(repo, "gc", "-q", env=env)          # a repository that has a pack, as a clone does
    _native_commit(repo, env, "native0")     # and loose objects of the user's own commits
    policy = learn(tmp_path, ["sh", "-c", STEP], cwd=work, env=env)

    for run in range(1, 3):
        _native_commit(repo, env, f"native{run}")
        r, refused = enforce(tmp_path, policy, ["sh", "-c", STEP], cwd=work, env=env)
        assert r.returncode == 0, r.stderr
        # main 1ec2f11: 16 then 33 refusals (the older pack, the commit's loose objects and
        # their directories, an object freshened), and a pack more each run
        assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused[:6]]
    packs = sorted(p.name for p in (repo / ".git/objects/pack").glob("pack-*.pack"))
    assert len(packs) == 1, packs
    assert not [d for d in (repo / ".git/objects").iterdir()
                if len(d.name) == 2 and any(d.iterdir())]  # every loose object packed
    _git(repo, "fsck", "--no-progress", env=env)

    # no more than used: the store's older entries are removed and freshened, and nothing
    # else -- not written, not another name of the directory, not another repository's
    used = loads_policy(policy.read_text(), env={"CWD": str(work), "HOME": str(home)})
    table = next(t for name, t in used.programs.items() if name.endswith("git-core/git"))
    other = hashlib.sha1(b"another pack").hexdigest()
    pack = f"{repo}/.git/objects/pack/pack-{other}.pack"
    obj = f"{repo}/.git/objects/{other[:2]}/{other[2:]}"
    assert _permits(table, "unlink", pack) and _permits(table, "unlink", obj)
    write = os.O_WRONLY | os.O_TRUNC
    for path in (pack, obj):
        assert not _permits(table, "openat", path, write), path
        assert not _permits(table, "truncate", path), path
        assert not _permits(table, "rename", path), path
    for path in (f"{repo}/.git/objects/pack/notes.txt", f"{repo}/.git/objects/info/alternates",
                 f"{repo}/.git/config", f"{repo}/.git/objects/pack/pack-{other[:39]}.pack",
                 f"{repo}/.git/objects/{other[:2]}/{other[2:]}x",
                 f"{tmp_path}/elsewhere/.git/objects/pack/pack-{other}.pack",
                 f"{home}/.ssh/id_rsa", f"{repo}/a.txt"):
        assert not _permits(table, "unlink", path), path
        assert not _permits(table, "utimensat", path), path


def _permits(table, syscall: str, path: str, flags: int | None = None) -> bool:
    """Whether the table permits the call on a file the run did not make (no ``fresh``
    rule covers it)."""
    obs = Observation(table.name, syscall, (PathArg("path", path),), flags)
    decisions = [table.decide(dataclasses.replace(facts, made=frozenset()))
                 for facts in obs.all_facts()]
    return all(d.action is Action.PERMIT for d in decisions)


# --- the evidence, without git ----------------------------------------------------------------

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
KEEPER = "/usr/bin/keeper"
H = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(4)]


def _learned(observations: list[Observation]) -> Policy:
    policy = learn_observations(observations, LearnOptions(env=ENV)).policy
    return loads_policy(dumps_policy(policy), env=ENV)


def _store_run(store: str, *, listed: bool = True, made: bool = True) -> list[Observation]:
    """A keeper that lists its store, removes an older entry and makes one of its own."""
    obs = []
    if listed:
        obs.append(Observation(KEEPER, "getdents64", (PathArg("path", store),),
                               listing=(f"{H[0]}.pack",)))
    obs.append(Observation(KEEPER, "unlink", (PathArg("path", f"{store}/{H[0]}.pack"),)))
    if made:
        obs.append(Observation(KEEPER, "openat", (PathArg("path", f"{store}/{H[1]}.pack"),),
                               os.O_WRONLY | os.O_CREAT | os.O_EXCL, created=("path",),
                               exclusive=True))
    return obs


def test_a_kept_stores_older_entry_is_removed_by_its_shape_and_nothing_more():
    store = "/work/proj/store"
    policy = _learned(_store_run(store))
    table = policy.programs[KEEPER]
    assert _permits(table, "unlink", f"{store}/{H[2]}.pack"), dumps_policy(policy)
    for path in (f"{store}/{H[2]}.idx", f"{store}/notes.pack", f"{store}/{H[2][:30]}.pack",
                 f"/work/other/{H[2]}.pack", f"{store}/sub/{H[2]}.pack"):
        assert not _permits(table, "unlink", path), path
    assert not _permits(table, "openat", f"{store}/{H[2]}.pack", os.O_WRONLY)


def test_no_store_without_the_evidence():
    store = "/work/proj/store"
    # a removal "in case" (the run never saw the entry there) and a store the run only
    # removed from (it made nothing of the shape): the older file by name, no shape
    for observations in (_store_run(store, listed=False), _store_run(store, made=False)):
        table = _learned(observations).programs[KEEPER]
        assert _permits(table, "unlink", f"{store}/{H[0]}.pack")
        assert not _permits(table, "unlink", f"{store}/{H[2]}.pack")
    # nothing with --generalize none
    policy = learn_observations(_store_run(store), LearnOptions(env=ENV, generalize="none"))
    table = loads_policy(dumps_policy(policy.policy), env=ENV).programs[KEEPER]
    assert not _permits(table, "unlink", f"{store}/{H[2]}.pack")


def test_a_store_at_a_sensitive_location_keeps_its_names():
    for store in ("/home/u/.ssh", "/home/u/.gnupg/private-keys-v1.d", "/home/u/.aws"):
        table = _learned(_store_run(store)).programs[KEEPER]
        for other in (f"{store}/{H[2]}.pack", f"{store}/id_rsa", f"{store}/credentials"):
            assert not _permits(table, "unlink", other), other
            assert not _permits(table, "utimensat", other), other
