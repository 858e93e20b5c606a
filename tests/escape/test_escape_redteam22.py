"""Red team 22: an outsider at the writers that show a program's strings to the user (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace whose output must not carry it (docs/security.md, "Red team 22")."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from escape_lib import (
    PYTHON,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    policy,
    read_never,
    require_real,
)

from conftest import systrace_env

#: what out_controls.c names its file, as Python reads it back
NAME = ("n\x1b]0;pwned\x07\x1b[2J\nsystrace: forged line\u202e\u009b31m\u2028z")
#: each character of NAME a terminal obeys (or a reader takes for the end of a line)
RAW = {"\x1b", "\x07", "\n", "\u202e", "\u009b", "\u2028"}
#: NAME as terminal.printable spells it
SPELLED = "n\\x1b]0;pwned\\x07\\x1b[2J\\x0asystrace: forged line\\u202e\\x9b31m\\u2028z"


def raw_in(text: str, *, lines: bool = True) -> set[str]:
    """The characters of RAW in ``text`` -- its own newlines aside, unless a line of it holds
    the forged one (``lines``: a newline inside the name splits a line of systrace's in two)."""
    found = set(text) & (RAW - {"\n"})
    if lines and any(line.startswith("systrace: forged line") for line in text.splitlines()):
        found.add("\n")
    return found


def ask_policy(scene: Scene) -> str:
    return policy(f'calls = ["fsread", "fswrite"]\npath = "{scene.work}/**"\naction = "ask"')


def control(build, tmp_path: Path) -> Path:
    """The attack program, after its control run: natively it makes and reads the file."""
    program = build("escape/out_controls.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack(program, native.work, policy_text=None, scene=native))
    assert (native.work / NAME).read_text() == "x\n"
    return program


def test_the_ask_default_permit_line_spells_out_a_programs_controls(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Without a terminal, ``--ask-default permit`` writes a line to stderr for each call it
    lets through, so that the run's log says what was permitted.  It wrote the call's path
    and the program's name raw: a name holding an OSC title sequence, a screen clear and a
    newline set the title, cleared the screen and forged a ``systrace:`` line of its own.
    Now the line is spelled printable, as every line of systrace's reporter is."""
    program = control(build, tmp_path)
    scene = Scene.make(tmp_path)
    traced = attack(program, scene.work, policy_text=ask_policy(scene), scene=scene, env=loop,
                    options=["--ask-default", "permit"])
    assert traced.verdict == "ESCAPED", traced  # (permitted: the line is what is checked)
    assert "no terminal to ask on, --ask-default permit" in traced.stderr, traced
    assert not raw_in(traced.stderr), repr(traced.stderr)
    assert SPELLED in traced.stderr, traced.stderr


def test_the_scripted_approvers_lines_spell_out_a_programs_controls(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The scripted approver (``--ask-via exec:python -m systrace_py.approver``) says on its
    stderr -- systrace's, which it inherits: the user's terminal -- each ask no rule of its
    matched.  It wrote the ask's call (its path) raw.  Now spelled printable."""
    program = control(build, tmp_path)
    scene = Scene.make(tmp_path)
    rules = scene.root / "answers.toml"
    rules.write_text('[[answer]]\npath = "/nowhere/*"\nanswer = "permit"\n')
    via = f"exec:{PYTHON} -m systrace_py.approver --rules {rules}"
    traced = attack(program, scene.work, policy_text=ask_policy(scene), scene=scene, env=loop,
                    options=["--ask-via", via])
    assert traced.verdict == "BLOCKED", traced  # (no rule: deny-now)
    assert "approver: no rule for" in traced.stderr, traced
    assert not raw_in(traced.stderr), repr(traced.stderr)
    assert f"approver: no rule for openat {scene.work}/{SPELLED}" in traced.stderr, traced.stderr


def test_policy_listings_of_a_learned_policy_spell_out_a_programs_controls(
        build, tmp_path: Path) -> None:
    """A learned policy holds the names the program used, and the ``systrace policy``
    commands show it: ``policy check`` listed each rule's glob raw (a title set, the screen
    cleared, a line forged), and ``policy learn`` without ``-o`` printed the TOML on stdout,
    where the writer escapes C0 controls but not an 8-bit CSI (U+009B), a bidi override or
    a line separator.  Now the listing is spelled printable and the TOML escapes those too
    -- loading back as the same names."""
    program = control(build, tmp_path)
    scene = Scene.make(tmp_path)
    log, learned = scene.root / "run.jsonl", scene.root / "learned.toml"
    run = subprocess.run([*SYSTRACE, "-A", "--log", str(log), "-o", str(learned), "--",
                          str(program), str(scene.work)], capture_output=True, text=True,
                         timeout=120, cwd=scene.root, env=systrace_env(scene.env()))
    assert "ESCAPED" in run.stdout, run
    paths = [rule.get("path", "") for rule in tomllib.loads(learned.read_text())["rule"]]
    assert any(NAME.split("[")[-1] in path for path in paths), paths  # (a glob: "\\[" for "[")

    check = subprocess.run([*SYSTRACE, "policy", "check", str(learned), str(log)],
                           capture_output=True, text=True, timeout=120, cwd=scene.root,
                           env=systrace_env())
    assert check.returncode == 0, check
    assert "fsread,fswrite" in check.stdout, check
    assert not raw_in(check.stdout), repr(check.stdout)

    shown = subprocess.run([*SYSTRACE, "policy", "learn", str(log)], capture_output=True,
                           text=True, timeout=120, cwd=scene.root, env=systrace_env())
    assert shown.returncode == 0, shown
    assert not raw_in(shown.stdout, lines=False), repr(shown.stdout)
    again = [rule.get("path", "") for rule in tomllib.loads(shown.stdout)["rule"]]
    assert again == paths  # (the escapes load back as the names learned)


#: a mount namespace of the run's own, so that what the attack mounts ends with it: the
#: tracer and its tree share it -- it is "the tracer's own namespace" of the engine
PRIVATE = ["unshare", "-m", "--propagation", "private"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
@pytest.mark.parametrize("how", ["cwd", "root", "thread"])
def test_a_file_mounted_over_a_proc_magic_link_of_the_tracers_view_is_refused(
        build, tmp_path: Path, how: str, loop: dict[str, str]) -> None:
    """The tracer reads /proc/TID/cwd, /proc/TID/root (and /proc/self) for every decision, and
    refuses any mount on "/" or /proc in its own namespace -- but let one on a symlink pass,
    "on which the kernel mounts nothing".  move_mount without MOVE_MOUNT_T_SYMLINKS does not
    follow its target's last symlink and mounts a file on the link itself, a /proc magic link
    included.  Natively (as root, in a namespace of its own) a copy of the decoy mounted over
    /proc/self/cwd (root, thread-self/cwd) changes nothing of the program's own lookups: it
    reads the secret.  Traced, the tracer read the decoy where the link was and failed the
    program's later calls with EINVAL or ENOTDIR (closed, but by accident, and every relative
    path broken); now the mount is refused (EPERM) as every mount on /proc there is."""
    program = build("escape/ns_proclink.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack("unshare", "-m", "--propagation", "private", program, how,
                        native.secd, native.decoy, policy_text=None, scene=native))
    scene = Scene.make(tmp_path)
    traced = attack(program, how, scene.secd, scene.decoy, policy_text=read_never(scene.secret),
                    scene=scene, env=loop, tracer=[*PRIVATE, *SYSTRACE])
    assert_blocked(traced)
    assert ": EPERM" in traced.detail and "move_mount over /proc/" in traced.detail, traced


#: ... with a procfs of its own at /proc: fspick's reconfiguration changes a superblock,
#: which a copied namespace shares with the one it was copied from (the machine's /proc)
PRIVATE_PROC = [*PRIVATE, "sh", "-c", 'mount -t proc proc /proc && exec "$@"', "sh"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
@pytest.mark.parametrize("how", ["remount", "setattr", "recursive", "fspick"])
def test_the_flags_of_the_tracers_own_proc_stay_as_they_are(
        build, tmp_path: Path, how: str, loop: dict[str, str]) -> None:
    """A remount, mount_setattr and fspick "cover nothing", so the tracer let them change
    its own /proc: nosymfollow there (by a remount, by mount_setattr on /proc, or on "/" with
    AT_RECURSIVE -- mount_setattr did not even stop) fails every /proc magic link the tracer
    opens, subset=pid takes /proc/sys and /proc/net from it.  Natively the program, having
    changed /proc, opens the secret through a descriptor of its directory; traced, every
    path call it made afterwards failed (ELOOP: closed, by accident).  Now the change is
    refused (EPERM), as every mount on /proc in the tracer's namespace is."""
    program = build("escape/ns_procflags.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack(PRIVATE_PROC[0], *PRIVATE_PROC[1:], program, how, native.secd,
                        policy_text=None, scene=native))
    scene = Scene.make(tmp_path)
    traced = attack(program, how, scene.secd, policy_text=read_never(scene.secret), scene=scene,
                    env=loop, tracer=[*PRIVATE_PROC, *SYSTRACE])
    assert_blocked(traced)
    assert traced.detail == f"{how} of /proc: EPERM", traced


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts in the tracer's own namespace need root (and unshare)")
def test_mount_setattr_elsewhere_in_the_tracers_namespace_works(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Parity: mount_setattr (now a call that always stops) on a mount of the tracer's
    namespace that is not /proc -- a bind of the work directory, AT_RECURSIVE, nosymfollow --
    runs as natively; the secret is then refused by its rule, not the call by the guard."""
    program = build("escape/ns_procflags.c")
    native = Scene.make(tmp_path, "control")
    require_real(attack(PRIVATE_PROC[0], *PRIVATE_PROC[1:], program, "elsewhere", native.secd,
                        native.work, policy_text=None, scene=native))
    scene = Scene.make(tmp_path)
    traced = attack(program, "elsewhere", scene.secd, scene.work,
                    policy_text=read_never(scene.secret), scene=scene, env=loop,
                    tracer=[*PRIVATE_PROC, *SYSTRACE])
    assert "note: elsewhere made" in traced.stdout, traced
    assert_blocked(traced)
    assert traced.detail == "openat(the secret's directory): EACCES", traced
