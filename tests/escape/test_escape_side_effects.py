"""Class 8: side effects of refusal, and files the kernel writes for the program.

* A refused chdir leaves the program where it was: the tracer resolves the next relative path
  against the real cwd (read from /proc at each call), never against one it assumed.
* A refused setuid leaves a program that ignores the error running as root (Garfinkel 2003,
  "side effects of denying system calls"): the refusal must not make it less safe than it was
  alone.  Here the control run is the *safe* one: alone, the drop works and the read fails.
* A core dump is a file the kernel writes (and, if one exists, first unlinks) in the
  program's cwd: it must obey the fswrite rules like any write of the program."""

from __future__ import annotations

import os
import shutil

import pytest
from escape_lib import (
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    policy,
)


def test_refused_chdir_does_not_move_the_checks(build, tmp_path):
    """The control run shows the program reads the secret when its chdir fails (the decoy
    directory is missing there); under systrace the chdir into the decoy directory is refused
    and the relative open is still checked where it really happens."""

    def setup(s: Scene) -> None:
        if s.root.name == "control":
            shutil.rmtree(s.pubd)

    controlled_and_blocked(
        tmp_path, build("escape/side_effects.c"), lambda s: ["chdir", s.pubd],
        lambda s: policy(never("chdir", path=str(s.pubd)), never("fsread", path=str(s.secret))),
        setup=setup, cwd=lambda s: s.secd)


def test_refused_setuid_does_not_leave_the_program_privileged(build, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: the program drops root")
    program = build("escape/side_effects.c")
    s = Scene.make(tmp_path)
    s.secret.chmod(0o600)
    alone = attack(program, "setuid", s.secret, policy_text=None, scene=s)
    assert alone.verdict == "BLOCKED", f"alone, the program must be safe:\n{alone}"
    traced = attack(program, "setuid", s.secret, policy_text=policy(never("privilege", "EPERM")),
                    scene=s)
    assert_blocked(traced, may_be_killed=True)


def test_core_dump_into_a_write_protected_directory(build, tmp_path):
    def setup(s: Scene) -> None:
        prot = s.root / "prot"
        prot.mkdir()
        (prot / "core").write_text("ORIGINAL\n")

    _, s = controlled_and_blocked(
        tmp_path, build("escape/side_effects.c"), lambda s: ["core", s.root / "prot"],
        lambda s: policy(never("fswrite", path=f"{s.root}/prot/**")), setup=setup)
    assert (s.root / "prot" / "core").read_text() == "ORIGINAL\n"
