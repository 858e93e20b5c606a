"""Review 17: a hostile reading of the previous session's merged change (7fddc5a..3e95030).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 17").  The exec-interpreter one
(``exec_interp_swap.c flip``) is a row of test_escape_review16.py's swap test."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, attack, require_real, scene_env

from conftest import PYTHON

#: the run, in a mount namespace of its own with a 1 MiB tmpfs at $1 (the log's file system):
#: a learning run of the attack, then ``policy learn`` of its log (the filler removed first,
#: as a user who freed the disk would)
_SCRIPT = """
fs=$1 program=$2 secret=$3 rebuilt=$4
mount -t tmpfs -o size=1m tmpfs "$fs" || exit 99
cd "$fs" || exit 98
if [ -n "$NATIVE" ]; then
    : > run.jsonl
    "$program" fill "$fs/run.jsonl" "$secret" "$fs/filler"
    grep -c secd/secret.txt run.jsonl
    exit 0
fi
"$PYTHON" -m systrace_py -A --log "$fs/run.jsonl" -o "$fs/p.toml" -- \\
    "$program" fill "$fs/run.jsonl" "$secret" "$fs/filler"
echo "run=$?"
rm -f "$fs/filler"
"$PYTHON" -m systrace_py policy learn "$fs/run.jsonl" -o "$rebuilt"
echo "learn=$?"
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="mounts a small tmpfs in a mount namespace (root, unshare)")
def test_a_run_whose_log_the_program_made_fail_is_not_learned(build, tmp_path: Path) -> None:
    """Red team 29's forged line (log_forge.c), and then a run with no end: ``fill``
    appends an observation of reading the secret to the log of its learning run, then fills
    the file system the log is on -- the run's next record cannot be written, the tracer
    kills the tree (exit 125) and never writes its ``end``.  ``policy learn`` read a run
    with no end as a killed or an older one: a warning, and the policy granted the secret's
    read the run never made (exit 0 on 3e95030).  Now a run's ``start`` says its log ends
    with a digest (``ends``), and a run that said so with no end vouches for none of its
    lines: policy learn refuses the log (exit 2).  Control: natively the program adds its
    line and fills the file system."""
    program = build("escape/log_forge.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    fs, rebuilt = tmp_path / "fs", tmp_path / "r.toml"
    fs.mkdir()

    def run(native: bool) -> subprocess.CompletedProcess[str]:
        env = scene_env(scene, PYTHON=PYTHON, **({"NATIVE": "1"} if native else {}))
        return subprocess.run(["unshare", "-m", "sh", "-c", _SCRIPT, "sh", str(fs),
                               str(program), str(scene.secret), str(rebuilt)],
                              capture_output=True, text=True, env=env, timeout=300,
                              check=False)

    control = run(native=True)
    if control.returncode == 99:
        pytest.skip(f"no tmpfs mount here: {control.stderr.strip()}")
    assert "FORGED" in control.stdout and control.stdout.rstrip().endswith("1"), control
    traced = run(native=False)
    assert "FORGED" in traced.stdout and "run=125" in traced.stdout, traced
    assert "No space left on device" in traced.stderr, traced
    assert "learn=2" in traced.stdout, traced
    assert "nothing is learned from this log" in traced.stderr, traced
    assert not rebuilt.exists()
