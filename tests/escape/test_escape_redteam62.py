"""Red team 62: an outsider at lookups whose answer depends on who looks (docs/security.md,
"Red team 62").

/proc/sys/net lists the sysctls of the *looker's* network namespace: a program in a namespace
of its own has directories there (a device's) that the tracer, looking in its own namespace,
finds missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, never, policy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace of its own: root")


def _fs_never(s: Scene) -> str:
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))


def _link(s: Scene) -> None:
    """A symlink to the secret, made before the run."""
    (s.work / "link").symlink_to(s.secret)


def test_a_sysctl_directory_of_the_programs_own_netns_is_no_missing_directory(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """netns_sysctl.c: the program enters a network namespace of its own and renames its
    "lo" to "zz9"; /proc/sys/net/ipv4/conf/zz9 is then a directory for it and a missing
    name for the tracer, which looks in its own namespace.  It opens
    /proc/sys/net/ipv4/conf/zz9/../../../../../..WORK/link (a symlink to the secret): the
    tracer found "zz9" missing, named the rest lexically -- WORK/link, which no rule names --
    and permitted it, the kernel to say ENOENT; the kernel looked "zz9" up in the program's
    namespace, climbed out and followed the link.  ESCAPED on main (04836fa), both loops.
    Now a name missing in /proc for a task in another network namespace, with a "." or ".."
    after it (or a mount on or below it), is refused (EACCES).  (A bind mount onto that
    "zz9", in a private mount namespace, was refused on main already: EPERM.)"""
    binary = build("escape/netns_sysctl.c")
    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.work / "link"],
                                       _fs_never, setup=_link, env=loop)
    assert "EACCES" in traced.stdout, traced
