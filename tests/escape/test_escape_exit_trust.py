"""notes37: what the engine notes at a call's exit from its result (Tracer._noted: a detached
mount's descriptor, a pivot_root's new root).  Under ``systrace --attach`` every call stops
at its entry, before the kernel runs the task's own seccomp filters, and a filter's
SECCOMP_RET_ERRNO with errno 0 makes a permitted call return 0 without running it (review
35's cause).  _noted took that 0 for the call's result: a skipped fsmount noted descriptor 0
as the new file system it would have made.  Each attack has a native control."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, attack, require_real, scene_env
from test_escape_redteam49 import bind_policy, setup_targets

#: a guard against a hang, not a measure
_HANG = 60


@pytest.fixture
def shm_tmp() -> Iterator[Path]:
    """A temporary directory on a tmpfs (/dev/shm): a file system with an anonymous device,
    whose new mounts the engine moves into place without naming a device."""
    if not os.path.isdir("/dev/shm") or os.statvfs("/dev/shm").f_bsize == 0:
        pytest.skip("no /dev/shm")
    base = Path(tempfile.mkdtemp(prefix="notes37-", dir="/dev/shm"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _attached(program: Path, s: Scene, policy_text: str, *args: object) -> tuple[str, str]:
    """``program args`` started natively, waiting for a tracer; ``systrace --attach`` to it
    with ``policy_text``: (the program's output, systrace's stderr)."""
    policy_file = s.root / "attach.toml"
    policy_file.write_text(policy_text)
    target = subprocess.Popen([str(program), *(str(a) for a in args)], stdout=subprocess.PIPE,
                              text=True, cwd=s.root, env=scene_env(s, ESC_WAIT_TRACER="1"),
                              start_new_session=True)
    tracer = None
    try:
        assert target.stdout is not None
        ready = target.stdout.readline()
        if not ready.startswith("ready"):
            out, _ = target.communicate(timeout=_HANG)
            return ready + out, ""
        tracer = subprocess.Popen([*SYSTRACE, "--attach", ready.split()[1], "-p",
                                   str(policy_file)], stderr=subprocess.PIPE, text=True,
                                  env=scene_env(s), start_new_session=True, cwd=s.root)
        out, _ = target.communicate(timeout=_HANG)
        _, said = tracer.communicate(timeout=_HANG)
        return out, said
    finally:
        for process in (target, tracer):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="the attack and its control run as root")
def test_a_detached_mount_a_skipped_fsmount_returned_is_no_new_file_system(
        build, shm_tmp: Path) -> None:
    """skip_detached.c: the secret's detached copy (open_tree) at descriptor 0, then an fsmount
    the program's own filter skips (errno 0: returns 0).  The 0 was noted as the new file
    system the fsmount made, and move_mount put the copy on ``work/out`` without comparing
    its source's name (a new file system's, on an anonymous device, shows nothing older): the
    secret read there (ESCAPED on main, an attached process: the native loop never serves
    one).  Now a result a filter of the program's own may have given is not noted
    (Tracer._filter_may_answer) -- open_tree's own neither, the task under a filter of its own:
    the copy's move is decided as any descriptor's, unnamed, refused (EACCES; EPERM where it
    is compared as a bind of the secret).  Control: natively the move shows the secret."""
    program = build("escape/skip_detached.c")
    c = Scene.make(shm_tmp, "control")
    setup_targets(c)
    require_real(attack(program, c.secret, c.work, scene=c, policy_text=None))
    s = Scene.make(shm_tmp, "traced")
    setup_targets(s)
    out, said = _attached(program, s, bind_policy(s, program, stat_secret=True),
                          s.secret, s.work)
    assert "attached" in said, (out, said)
    assert "skipped by the program's own filter" in out, (out, said)
    assert "ESCAPED" not in out and "BLOCKED" in out, (out, said)
    assert "move_mount" in out and out.rstrip().endswith(("EPERM", "EACCES")), (out, said)
