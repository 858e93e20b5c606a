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

