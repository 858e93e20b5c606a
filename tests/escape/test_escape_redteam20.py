"""Red team 20: an outsider at what the tracer writes and where (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 20")."""

from __future__ import annotations

import subprocess
from pathlib import Path

from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    never,
    policy,
    require_real,
    scene_env,
)

RC = "# the user's shell start-up file\n"


def home_scene(tmp_path: Path, name: str) -> tuple[Scene, Path]:
    """A scene with ``home/.bashrc``, a file the program may not write (its policy's
    ``never``), and the program's work directory, which it may."""
    scene = Scene.make(tmp_path, name)
    home = scene.root / "home"
    home.mkdir()
    rc = home / ".bashrc"
    rc.write_text(RC)
    return scene, rc


def home_never(scene: Scene) -> str:
    """Everything permitted but writing the home directory and reading the secret's."""
    return policy(never("fswrite", path=f"{scene.root / 'home'}/**"),
                  never("fsread", path=f"{scene.secd}/**"))


def test_a_symlink_at_the_logs_name_does_not_aim_the_next_runs_log(build,
                                                                  tmp_path: Path) -> None:
    """The log is opened before the program runs, but the program may write the directory
    where the user keeps ``--log run.log``: log_plant.c makes ``run.log`` a symlink to
    ``home/.bashrc`` (it may not write that file itself: refused), and the next run's
    tracer appended its records there -- the program's refused path, ``$(touch MARK)``
    and all, which bash runs when it reads the file (the marker is made).  Control:
    natively the program writes the file through its link itself.  Now a symlink at the
    log's name is not followed to a regular file (unless it is systrace's own stdout or
    stderr): the run stops before it starts (exit 2) and the file is as it was."""
    program = build("escape/log_plant.c")
    scene, rc = home_scene(tmp_path, "control")
    control = attack(program, "plant", scene.work / "run.log", rc, policy_text=None,
                     scene=scene, cwd=scene.work)
    require_real(control)
    assert PAYLOAD_MAGIC in rc.read_text()

    scene, rc = home_scene(tmp_path, "traced")
    log = scene.work / "run.log"
    planted = attack(program, "plant", log, rc, policy_text=home_never(scene), scene=scene,
                     cwd=scene.work)
    assert_blocked(planted)
    assert log.is_symlink() and rc.read_text() == RC
    payload = f"{scene.secd}/$(touch {scene.marker}){PAYLOAD_MAGIC}"
    said = attack(program, "say", payload, policy_text=home_never(scene), scene=scene,
                  cwd=scene.work, options=["--log", str(log)])
    assert rc.read_text() == RC, (
        f"the tracer wrote the program's text into a file it may not write:\n{rc.read_text()}"
        f"\nsourced by bash, it ran the payload: {_sourced_runs(rc, scene.marker)}")
    assert said.returncode == 2 and "symbolic link" in said.stderr, said
    assert "ESCAPED" not in said.stdout


def _sourced_runs(rc: Path, marker: Path) -> bool:
    """Whether bash, reading ``rc`` as a start-up file, runs what a record carried."""
    subprocess.run(["bash", "--norc", "--noprofile", "-c", f". {rc}"],
                   capture_output=True, timeout=30, check=False)
    return marker.exists()


def test_a_log_through_a_symlink_to_no_regular_file_or_to_stderr_still_works(
        build, tmp_path: Path) -> None:
    """What the fix keeps: ``--log`` through a symlink to what is no regular file
    (``/dev/null``), or to the file that is systrace's own stderr (``--log /dev/stderr
    2>FILE``: the records are there), and a plain file (created)."""
    program = build("escape/log_plant.c")
    scene, _ = home_scene(tmp_path, "kept")
    text = home_never(scene)
    (scene.root / "p.toml").write_text(text)
    null_link = scene.work / "null.log"
    null_link.symlink_to("/dev/null")
    err = scene.root / "stderr.txt"
    plain = scene.work / "plain.log"
    for log, stderr_file in ((null_link, None), ("/dev/stderr", err), (plain, None)):
        cmd = [*SYSTRACE, "--log", str(log), "-p", str(scene.root / "p.toml"), "--",
               str(program), "say", f"{scene.secd}/x"]
        with open(stderr_file or "/dev/null", "w") as sink:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=sink, text=True,
                                  cwd=scene.work, env=scene_env(scene), timeout=60,
                                  check=False)
        assert proc.returncode == 0 and "BLOCKED" in proc.stdout, (log, proc)
    assert '"event":"syscall"' in err.read_text()
    assert '"event":"syscall"' in plain.read_text()
