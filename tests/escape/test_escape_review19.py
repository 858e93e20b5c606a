"""Review 19: what a traced program writes into its log must not crash the log's readers
(class 6, the tracer's own writes -- what systrace reads after a run).

A traced program may write the ``--log`` file (red team 29).  ``policy learn`` reads every
line of it to tell which no run vouches for (audit.run_segments), and ``policy check`` reads
every line as a record: each parsed a line with ``json.loads``, which raises RecursionError
(not a ValueError) for a line nested deeper than its decoder goes -- ``[[[...``.  No reader
caught it: a line of 100000 ``[`` the program appended made both end in a Python traceback
instead of their refusal.  Now a log line has one parser (logrecords.parse_line), which says
such a line is no JSON record, and both refuse the log as they refuse any other forged line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    require_real,
    scene_env,
)
from test_escape_redteam34 import stdfd_scene, table_policy


def test_a_line_nested_too_deeply_is_refused_not_a_crash(build, tmp_path: Path) -> None:
    """Control: natively the program appends the line to the log (it may write the file).
    Traced, the run logs it among its own lines; on main ``policy learn`` and ``policy
    check`` then ended in a traceback (RecursionError, exit 1); now ``policy learn`` refuses
    the log (exit 2, lines no run vouches for) and ``policy check`` names the line."""
    program = build("escape/log_forge.c")
    scene = Scene.make(tmp_path)
    log = scene.work / "run.jsonl"
    log.write_text("")
    control = attack(program, "deep", log, scene.secret, policy_text=None, scene=scene)
    assert "FORGED" in control.stdout and log.stat().st_size > 100000, control
    log.unlink()

    def systrace(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SYSTRACE, *(str(a) for a in args)], capture_output=True,
                              text=True, cwd=scene.work, env=scene_env(scene), timeout=120,
                              check=False)

    policy = tmp_path / "permit.toml"
    policy.write_text('default = "permit"\n')
    run = systrace("-p", policy, "--log", log, "--", program, "deep", log, scene.secret)
    assert "FORGED" in run.stdout and run.returncode == 0, run
    learned = systrace("policy", "learn", log, "-o", tmp_path / "r.toml")
    assert "Traceback" not in learned.stderr, learned
    assert learned.returncode == 2 and "nothing is learned from this log" in learned.stderr, \
        learned
    checked = systrace("policy", "check", policy, log)
    assert "Traceback" not in checked.stderr, checked
    assert checked.returncode == 2 and "not a JSON log record" in checked.stderr, checked


def test_a_thread_racing_stderr_close_on_exec_cannot_undo_the_check(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Red team 34's check of descriptors 0-2 at an exec into another table, raced: a second
    thread toggles FD_CLOEXEC on descriptor 2 (stdfd_race.c).  Natively the payload lands in
    the victim's log (the technique works).  Traced, the exec is Python's on both loops (the
    C loop hands an exec with other tasks back) and runs frozen, its descriptors read again
    (Tracer._unchanged): no round escapes.  Blocked on main too -- kept as the attack that
    checks the claim (docs/security.md, review 19)."""
    program = build("escape/stdfd_race.c")
    scene, victim, log = stdfd_scene(tmp_path, "control", program)
    require_real(attack(program, victim, log, 100, policy_text=None, scene=scene))
    scene, victim, log = stdfd_scene(tmp_path, "traced", program)
    traced = attack(program, victim, log, 100, policy_text=table_policy(victim, scene.secd),
                    scene=scene, env=loop)
    assert_blocked(traced)
    assert PAYLOAD_MAGIC not in log.read_text()
