"""Which paths a learning run made or changed (``cli.facts.changed_by_run``): the facts
gathering never asks a program at or below one (red team 88: a root tree's own ``cc``, in
root's directories, was run un-traced after learning)."""

from __future__ import annotations

import os

from systrace_py.cli.facts import _made_by_run, changed_by_run
from systrace_py.policy.learn import Observation
from systrace_py.policy.model import PathArg


def _obs(syscall: str, *paths: tuple[str, str], flags: int | None = None,
         created: tuple[str, ...] = ()) -> Observation:
    return Observation("main", syscall, tuple(PathArg(r, p) for r, p in paths),
                       open_flags=flags, created=created)


def test_reads_and_looks_change_nothing() -> None:
    seen = [_obs("openat", ("path", "/usr/bin/gcc"), flags=os.O_RDONLY),
            _obs("openat", ("path", "/"), flags=os.O_RDONLY | os.O_DIRECTORY),
            _obs("newfstatat", ("path", "/usr/bin")),
            _obs("execve", ("path", "/usr/bin/gcc")),
            # (mkdir -p's walk: the directories that were there; a removal)
            _obs("mkdir", ("path", "/usr")), _obs("mkdir", ("path", "/usr/bin")),
            _obs("unlinkat", ("path", "/usr/bin/gone"))]
    changed = changed_by_run(seen)
    assert changed == frozenset()
    assert not _made_by_run("/usr/bin/gcc", changed)


def test_what_the_run_wrote_made_moved_or_chowned_is_not_asked() -> None:
    seen = [_obs("openat", ("path", "/w/a/bin/cc"), flags=os.O_WRONLY | os.O_CREAT,
                 created=("path",)),
            _obs("renameat2", ("old", "/w/b"), ("new", "/srv/b"), created=("new",)),
            _obs("fchown", ("path", "/home/u/tool/cc")),
            _obs("mkdirat", ("path", "/w/d"), created=("path",))]
    changed = changed_by_run(seen)
    assert changed is not None
    for program in ("/w/a/bin/cc", "/srv/b/bin/cc", "/home/u/tool/cc", "/w/d/x/y/cc"):
        assert _made_by_run(program, changed), program
    assert not _made_by_run("/usr/bin/cc", changed)


def test_a_run_that_mounted_has_nothing_asked() -> None:
    seen = [_obs("mount", ("path", "/usr/local/bin"))]
    assert changed_by_run(seen) is None
    assert _made_by_run("/usr/bin/gcc", None)
