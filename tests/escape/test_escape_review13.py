"""Review 13: a hostile reading of the previous session's merged change (issue 11).

Gap #35's new policy-file names close the attack for files written since; a file under its
former name (``/`` as ``_``, ``_`` kept) was said to be "read for no program", but it is the
name, by today's naming, of the path with each ``_`` a ``/``.  Native control as in red team
20 (table_alias.c)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, attack, never, policy, require_real

from systrace_py.policy.files import former_policy_filename


@pytest.fixture
def plain_base() -> Iterator[Path]:
    """A directory whose path has no ``_`` (pytest's own directories do): the former name
    of a path below it turns back into one path by today's naming."""
    for _ in range(100):
        base = Path(tempfile.mkdtemp(prefix="rv"))
        if "_" not in str(base):
            break
        base.rmdir()
    else:
        pytest.skip("no temporary directory without '_' in its path")
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_former_policy_name_gives_no_table_to_the_path_it_names_today(
        build, plain_base: Path, loop: dict[str, str]) -> None:
    """The user's tool ``work/tools_lint`` (protected: the program may not write it) had its
    file written before 2026-12-05, under the name ``_..._work_tools_lint.toml`` -- today
    the name of ``work/tools/lint``.  table_alias.c, which may write ``work/tools``, copies
    itself there and execs the copy: it took the tool's table and read the secret.  Control:
    natively the copy reads it.  Now a file another existing path may have been written for
    under the former naming gives its table to neither (supervisor._former_claimants)."""
    program = build("escape/table_alias.c")
    control = attack(program, "plant", "work/tools/lint", "secd/secret.txt", policy_text=None,
                     scene=_scene(plain_base, "control"))
    require_real(control)
    scene = _scene(plain_base, "traced")
    tool = scene.work / "tools_lint"
    shutil.copy(program, tool)
    directory = scene.root / "policies"
    directory.mkdir()
    former = former_policy_filename(str(tool))
    assert former is not None
    (directory / former).write_text(policy())  # (the tool may read anything)
    text = policy(never("fsread", path=f"{scene.secd}/**"),
                  never("fswrite", path=str(tool)))
    traced = attack(program, "plant", "work/tools/lint", "secd/secret.txt", policy_text=text,
                    scene=scene, options=["-d", str(directory)], env=loop)
    assert_blocked(traced)


def test_a_full_path_file_no_other_path_could_have_had_still_gives_its_table(
        build, plain_base: Path, loop: dict[str, str]) -> None:
    """What stays: with no ``work/tools_lint`` on disk, ``work/tools/lint``'s file (today's
    name and the former one alike) gives it its table -- the copy reads the secret, as the
    table says."""
    program = build("escape/table_alias.c")
    scene = _scene(plain_base, "own")
    directory = scene.root / "policies"
    directory.mkdir()
    (directory / f"{str(scene.work / 'tools' / 'lint').replace('/', '_')}.toml").write_text(
        policy())
    text = policy(never("fsread", path=f"{scene.secd}/**"))
    own = attack(program, "plant", "work/tools/lint", "secd/secret.txt", policy_text=text,
                 scene=scene, options=["-d", str(directory)], env=loop)
    assert own.verdict == "ESCAPED", own


def _scene(base: Path, name: str) -> Scene:
    """A scene whose ``work/tools`` exists (the program may write it)."""
    scene = Scene.make(base, name)
    (scene.work / "tools").mkdir()
    return scene
