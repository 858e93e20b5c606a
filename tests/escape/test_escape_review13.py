"""Review 13: a hostile reading of the previous session's merged change (issue 11).

Gap #35's new policy-file names close the attack for files written since; a file under its
former name (``/`` as ``_``, ``_`` kept) was said to be "read for no program", but it is the
name, by today's naming, of the path with each ``_`` a ``/``.  Native control as in red team
20 (table_alias.c)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    never,
    policy,
    require_real,
)

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
    under the former naming gives its table to neither, and an exec of either is refused
    (EPERM): keeping the caller's table would drop the program's own where that is the
    stricter (supervisor.PolicySet.claimed)."""
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
    assert "EPERM" in traced.detail, traced


def test_a_claimed_policy_name_does_not_drop_the_programs_own_stricter_table(
        build, plain_base: Path, loop: dict[str, str]) -> None:
    """The other way round: ``work/tools/lint``'s own file confines it (it may not read the
    secret) more than its caller's table (which may).  A file at ``work/tools_lint`` (which
    the program, allowed to write ``work``, may have left in an earlier run) makes that file
    a former name too: an exec that kept the caller's table would read the secret.  The exec
    is refused (EPERM)."""
    program = build("escape/table_alias.c")
    scene = _scene(plain_base, "stricter")
    (scene.work / "tools_lint").write_text("left by an earlier run\n")
    directory = scene.root / "policies"
    directory.mkdir()
    (directory / f"{str(scene.work / 'tools' / 'lint').replace('/', '_')}.toml").write_text(
        policy(never("fsread", path=f"{scene.secd}/**")))
    traced = attack(program, "plant", "work/tools/lint", "secd/secret.txt",
                    policy_text=policy(), scene=scene, options=["-d", str(directory)],
                    env=loop)
    assert_blocked(traced)
    assert "EPERM" in traced.detail, traced


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


def test_a_directory_link_on_the_logs_way_does_not_aim_the_log(build,
                                                               tmp_path: Path) -> None:
    """Red team 20's log attack one name up: the user keeps ``--log logs/run.log`` in the
    work directory, which the program may write.  log_plant.c (refused writing
    ``home/.bashrc.d``) makes ``logs`` a symlink to ``home/.bashrc.d``, a directory whose
    every file bash sources at start (Fedora's ``~/.bashrc``); the next run's tracer creates
    ``home/.bashrc.d/run.log`` there -- O_NOFOLLOW holds the log's own name only -- with the
    program's refused path, ``$(touch MARK)`` and all, which the user's next shell runs.
    ``-A -o out/p.toml`` is the same (a new policy file: ``_check_link_target`` looks at a
    link at the file's name only).  Control: natively the program makes a file there through
    its link itself."""
    program = build("escape/log_plant.c")
    control = Scene.make(tmp_path, "control")
    (control.root / "home" / ".bashrc.d").mkdir(parents=True)
    require_real(attack(program, "plantdir", control.work / "logs",
                        control.root / "home" / ".bashrc.d", policy_text=None,
                        scene=control, cwd=control.work))
    scene = Scene.make(tmp_path, "traced")
    sourced = scene.root / "home" / ".bashrc.d"
    sourced.mkdir(parents=True)
    text = policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))
    planted = attack(program, "plantdir", scene.work / "logs", sourced, policy_text=text,
                     scene=scene, cwd=scene.work)
    assert_blocked(planted)
    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    attack(program, "say", payload, policy_text=text, scene=scene, cwd=scene.work,
           options=["--log", str(scene.work / "logs" / "run.log")])
    subprocess.run(["bash", "--norc", "--noprofile", "-c",
                    f"for f in {sourced}/*; do [ -f \"$f\" ] && . \"$f\"; done"],
                   capture_output=True, timeout=30, check=False)
    made = sorted(p.name for p in sourced.iterdir())
    assert made == [] and not scene.marker.exists(), (
        f"the tracer made {made} in a directory bash sources, and sourcing it ran the "
        f"payload: {scene.marker.exists()}")
    learned = subprocess.run([*SYSTRACE, "-A", "-o", str(scene.work / "logs" / "p.toml"), "--",
                              "true"], capture_output=True, text=True, timeout=60,
                             cwd=scene.work, check=False)
    assert learned.returncode == 2 and "in a directory a traced program may write" in \
        learned.stderr, learned
    assert sorted(p.name for p in sourced.iterdir()) == [], "-A -o made a policy there"


def test_a_log_through_a_directory_link_is_appended_only_to_a_log(tmp_path: Path) -> None:
    """What such a link is still followed to: a log that is there already (appended to), and
    the run says which link when it refuses to make one (exit 2, nothing made)."""
    real = tmp_path / "real"
    real.mkdir()
    permit = tmp_path / "permit.toml"
    permit.write_text(policy())
    (tmp_path / "logs").symlink_to(real)

    def run(log: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SYSTRACE, "-p", str(permit), "--log", str(log), "--", "true"],
                              capture_output=True, text=True, timeout=60, check=False)

    made = run(tmp_path / "logs" / "run.log")
    assert made.returncode == 2 and str(tmp_path / "logs") in made.stderr, made
    assert list(real.iterdir()) == []
    first = run(real / "run.log")
    assert first.returncode == 0, first
    size = (real / "run.log").stat().st_size
    again = run(tmp_path / "logs" / "run.log")
    assert again.returncode == 0 and (real / "run.log").stat().st_size > size, again
    (real / "notes.txt").write_text("not a log\n")
    other = run(tmp_path / "logs" / "notes.txt")
    assert other.returncode == 2 and (real / "notes.txt").read_text() == "not a log\n", other
    # (a tool's one-line JSON config is no log either: only a run's start record begins one)
    (real / "settings.json").write_text('{"editor.formatOnSave": true}\n')
    config = run(tmp_path / "logs" / "settings.json")
    assert config.returncode == 2, config
    assert (real / "settings.json").read_text() == '{"editor.formatOnSave": true}\n', config
