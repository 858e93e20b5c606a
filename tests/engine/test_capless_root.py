"""Root without capabilities (review 19): a container's root, which has no CAP_SYS_ADMIN.

The kernel loads a seccomp filter for a task that has no_new_privs or CAP_SYS_ADMIN
(seccomp_prepare_filter: EACCES otherwise).  The tracer gave the program's process
no_new_privs when its euid was not 0: a root without CAP_SYS_ADMIN had its filter load fail,
and every command ended "Permission denied" (exit 126) before it ran, where natively it runs.
Runs here as uid 0 with every capability gone (``setpriv --securebits=+noroot``: nothing is
gained at exec), as in a default Docker container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, systrace_env

CAPLESS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all",
           "--securebits=+noroot,+noroot_locked", "--"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root (to drop its capabilities) and setpriv")


def capless(*args: object, cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CAPLESS, *(str(a) for a in args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def systrace(*args: object, cwd: Path, loop: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return capless(PYTHON, "-m", "systrace_py", *args, cwd=cwd, env=systrace_env(loop))


def test_root_without_capabilities_runs_its_command_under_a_policy(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Natively the command runs; traced, it failed EACCES before it ran on main (exit 126,
    "Permission denied": its filter was loaded without no_new_privs), on both loops.  Now it
    runs, and the policy holds: a read a rule refuses is refused."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    native = capless("/bin/sh", "-c", "echo ran; cat secret.txt", cwd=tmp_path)
    assert native.returncode == 0 and "ran" in native.stdout, native
    assert "the secret" in native.stdout, native
    policy = tmp_path / "policy.toml"
    policy.write_text(f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{secret}"\naction = "never"\nerrno = "EACCES"\n')
    traced = systrace("-p", policy, "--", "/bin/sh", "-c", "echo ran; cat secret.txt",
                      cwd=tmp_path, loop=loop)
    assert "ran" in traced.stdout, traced
    assert "the secret" not in traced.stdout and "Permission denied" in traced.stderr, traced


def test_a_log_of_the_users_own_mode_0200_is_learned(tmp_path: Path) -> None:
    """A run appended to a log of the user's own whose mode keeps it from reading it (0200)
    read the line before its start with procfs.reopen -- EACCES for a tracer without
    CAP_DAC_OVERRIDE -- and said ``at: 0``, where :func:`audit._digest_of` lends the owner the
    permission (_reopen_owned): ``policy learn`` refused the log as moved (exit 2, lines no
    run vouches for).  Now the start says where it is, after which line, and the log is
    learned."""
    log = tmp_path / "run.jsonl"
    first = systrace("-A", "-o", tmp_path / "a.toml", "--log", log, "--", "/bin/true",
                     cwd=tmp_path)
    assert first.returncode == 0, first
    log.chmod(0o200)
    second = systrace("-A", "-o", tmp_path / "b.toml", "--log", log, "--", "/bin/true",
                      cwd=tmp_path)
    assert second.returncode == 0, second
    assert log.stat().st_mode & 0o777 == 0o200  # (its mode put back)
    log.chmod(0o600)
    learned = systrace("policy", "learn", log, "-o", tmp_path / "r.toml", cwd=tmp_path)
    assert learned.returncode == 0, learned
    assert "vouches" not in learned.stderr, learned
