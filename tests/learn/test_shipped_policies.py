"""The policies shipped in policies/: each runs its program like a plain run, and refuses
what its review says it refuses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_systrace
from systrace_py.policy.files import load_policy
from systrace_py.policy.model import Action, CallFacts, PathArg, SockAddr

POLICIES = REPO / "policies"
PYTHON3 = "/usr/bin/python3"


def plain(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd)


def under(policy: str, command: list[str], cwd: Path | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_systrace(["-p", str(POLICIES / policy), "--", *command], cwd=cwd, env=env)


def same_as_plain(policy: str, command: list[str], cwd: Path | None = None) -> None:
    expected = plain(command, cwd)
    got = under(policy, command, cwd)
    assert (got.stdout, got.returncode) == (expected.stdout, expected.returncode), got.stderr


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha key\n")
    (root / "sub" / "b.txt").write_text("beta\nkey here\n")
    (root / "sub" / "deeper" / "c.txt").write_text("gamma key\n")
    return root


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home directory with a private key in it."""
    h = tmp_path / "home"
    (h / ".ssh").mkdir(parents=True)
    (h / ".ssh" / "id_ed25519").write_text("PRIVATE key\n")
    (h / "notes").write_text("a note with a key\n")
    return h


def test_every_shipped_policy_loads_and_describes_itself():
    files = sorted(POLICIES.glob("*.toml"))
    assert {f.name for f in files} >= {"ls.toml", "cat.toml", "grep.toml", "git-status.toml",
                                       "python3-print.toml"}
    for f in files:
        policy = load_policy(f)
        assert policy.description and "learned" in policy.description
        assert policy.main.default is Action.NEVER


def test_ls(tree):
    same_as_plain("ls.toml", ["ls", "-la", str(tree), str(tree / "sub")])
    same_as_plain("ls.toml", ["ls", "-R", str(tree)])
    policy = load_policy(POLICIES / "ls.toml")
    write = CallFacts("openat", (PathArg("path", str(tree / "x")),), 0o1101)
    assert policy.main.decide(write).action is Action.NEVER
    run = CallFacts("execve", (PathArg("path", "/usr/bin/id"),))
    assert policy.main.decide(run).action is Action.NEVER


def test_cat_reads_files_but_not_private_keys(tree, home):
    same_as_plain("cat.toml", ["cat", str(tree / "a.txt"), str(tree / "sub" / "b.txt")])
    r = under("cat.toml", ["cat", str(home / "notes"), str(home / ".ssh" / "id_ed25519")],
              env={"HOME": str(home)})
    assert r.stdout == "a note with a key\n"
    assert "Permission denied" in r.stderr and r.returncode == 1
    r = under("cat.toml", ["cat", "/etc/shadow"])
    assert r.returncode == 1 and "Permission denied" in r.stderr


def test_grep_searches_trees_but_not_private_keys(tree, home):
    same_as_plain("grep.toml", ["grep", "-rn", "key", str(tree)])
    r = under("grep.toml", ["grep", "-r", "key", str(home)], env={"HOME": str(home)})
    assert f"{home}/notes:a note with a key" in r.stdout
    assert "PRIVATE" not in r.stdout and "Permission denied" in r.stderr


def test_git_status(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=A", "-c", "user.email=a@b", "-c", "commit.gpgsign=false"]
    for step in (["init", "-q", "."], ["add", "."], ["commit", "-q", "-m", "one"]):
        if step[0] == "add":
            (repo / "a.txt").write_text("one\n")
        subprocess.run([*git, *step], cwd=repo, check=True, capture_output=True)
    (repo / "a.txt").write_text("two\n")
    (repo / "new.txt").write_text("new\n")
    same_as_plain("git-status.toml", ["git", "status", "--short"], cwd=repo)
    same_as_plain("git-status.toml", ["git", "status"], cwd=repo)
    r = under("git-status.toml", [*git, "commit", "-qam", "two"], cwd=repo)
    assert r.returncode != 0  # writing objects is not git status
    assert plain(["git", "log", "--format=%s"], cwd=repo).stdout == "one\n"


def test_python3_print():
    same_as_plain("python3-print.toml", [PYTHON3, "-c", "print('hello', 6 * 7)"])
    same_as_plain("python3-print.toml", [PYTHON3, "-c", "import json; print(json.dumps([1]))"])
    r = under("python3-print.toml", [PYTHON3, "-c", "open('/tmp/systrace-x', 'w')"])
    assert r.returncode == 1 and "PermissionError" in r.stderr
    policy = load_policy(POLICIES / "python3-print.toml")
    connect = CallFacts("connect", sockaddr=SockAddr("inet", "127.0.0.1", 80))
    assert policy.main.decide(connect).action is Action.NEVER
