"""Reviewing a learned policy on a real terminal (tmux): ``systrace policy review FILE`` walks
the generalizations -- what was observed, the rule written -- and saves what the person chose;
``q`` leaves the file as it was; ``systrace -A --review`` reviews before the first save."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from tmux import TMUX, Tmux, wait_file

from conftest import PYTHON, REPO
from systrace_py.policy.files import load_policy, save_policy
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
from systrace_py.policy.model import PathArg

pytestmark = [pytest.mark.tty,
              pytest.mark.skipif(TMUX is None, reason="tmux is not installed")]

PROMPT = r"(?m)^review>"


def learned_file(tmp: Path) -> Path:
    """A policy learned from a directory listed and read, and a temporary file of gcc's."""
    data = tmp / "data"
    observed = [
        Observation(MAIN, "getdents64", (PathArg("path", str(data)),),
                    listing=("a.txt", "b.txt")),
        Observation(MAIN, "openat", (PathArg("path", f"{data}/a.txt"),), os.O_RDONLY),
        Observation(MAIN, "openat", (PathArg("path", f"{data}/b.txt"),), os.O_RDONLY),
        Observation(MAIN, "openat", (PathArg("path", "/tmp/ccAb12Cd.s"),),
                    os.O_RDWR | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True),
    ]
    env = {"HOME": "/nonexistent-home", "CWD": "/nonexistent-cwd", "TMPDIR": "/tmp"}
    policy = tmp / "learned.toml"
    save_policy(learn(observed, LearnOptions(env=env)).policy, policy)
    return policy


def start(tmp: Path, *args: str) -> Tmux:
    command = shlex.join([PYTHON, "-m", "systrace_py", *args])
    t = shlex.quote(str(tmp))
    line = (f"cd {t} && env PYTHONPATH={REPO} HOME=/nonexistent-home TMPDIR=/tmp {command}; "
            f"echo EXIT=$? > {t}/exit; sleep 60")
    return Tmux(line)


def exit_status(tmp: Path) -> int:
    return int(wait_file(tmp / "exit").strip().removeprefix("EXIT="))


def test_review_narrows_widens_drops_and_saves(tmp_path):
    policy = learned_file(tmp_path)
    before = policy.read_text()
    tmux = start(tmp_path, "policy", "review", str(policy))
    try:
        screen = tmux.wait_for(PROMPT)
        # gcc's temporary file first: what was seen, the rule written
        assert "generated names" in screen and "/tmp/ccAb12Cd.s" in screen
        assert "$TMPDIR/cc[0-9A-Za-z_]" in screen  # (the template's shape: learn38)
        tmux.type("d")
        screen = tmux.wait_for(PROMPT, count=2)
        # then the listing: where narrowing and widening lead
        assert "directory listings" in screen and f"{tmp_path}/data/a.txt" in screen
        assert re.search(r"rule \d+: fsread \S*/data/\*\n", screen)
        assert re.search(r"widen  -> \S*/data/\*\* ", screen)
        tmux.type("w")
        tmux.wait_for(r"rule \d+: fsread \S*/data/\*\*\n")
        tmux.type("a")
        tmux.wait_for("reviewed: 0 accepted, 1 changed, 1 dropped")
        assert exit_status(tmp_path) == 0
    finally:
        tmux.close()
    reviewed = load_policy(policy, {"TMPDIR": "/tmp", "CWD": str(tmp_path)})
    patterns = [r.path.pattern for r in reviewed.main.rules if r.path is not None]
    assert any(p.endswith("/data/**") for p in patterns) and not any("/cc" in p for p in patterns)
    (widened,) = [r for r in reviewed.main.rules if r.path is not None
                  and r.path.pattern.endswith("/data/**")]
    assert widened.path is not None and widened.path.matches(f"{tmp_path}/data/sub/new")
    assert (tmp_path / "learned.toml.bak").read_text() == before


def test_quitting_the_review_leaves_the_file_as_it_was(tmp_path):
    policy = learned_file(tmp_path)
    before = policy.read_text()
    tmux = start(tmp_path, "policy", "review", str(policy))
    try:
        tmux.wait_for(PROMPT)
        tmux.type("d")
        tmux.wait_for(PROMPT, count=2)
        tmux.type("q")
        tmux.wait_for("review ended without saving")
        assert exit_status(tmp_path) == 0
    finally:
        tmux.close()
    assert policy.read_text() == before
    assert not (tmp_path / "learned.toml.bak").exists()


def test_learning_with_review_saves_what_was_reviewed(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("x\n")
    policy = tmp_path / "p.toml"
    tmux = start(tmp_path, "-A", "--review", "-o", str(policy), "--", "cat", str(target))
    try:
        screen = tmux.wait_for(PROMPT)
        assert "metadata of any path" in screen or "categories" in screen
        tmux.type("s")  # accept the rest, save
        tmux.wait_for("wrote " + re.escape(str(policy)))
        assert exit_status(tmp_path) == 0
    finally:
        tmux.close()
    assert load_policy(policy).main.rules
