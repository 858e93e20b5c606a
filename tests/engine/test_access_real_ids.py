"""access(2) looks a path up as the caller's real ids (red team 77).

``access``, ``faccessat`` and ``faccessat2`` without ``AT_EACCESS`` check with the task's
*real* uid and gid as its fsuid and fsgid, and the capabilities of a real root (all it is
permitted) or of no one (fs/open.c ``access_override_creds``) -- a set-user-ID program asks
whether its caller may.  Every other lookup checks the fs ids.  The engine walked every
lookup with the fs ids: where they differ, access answered as the effective user.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import run_systrace

#: (real uid, effective uid): a root that dropped only its effective uid (access may search
#: as root), and a set-user-ID-root program run by nobody (access may not)
_IDS = {"real-root": (0, 65534), "real-nobody": (65534, 0)}
_POLICY = ('default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
           'path = "/nonexistent-systrace/**"\naction = "never"\n')


def _probes(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("probe ")]


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a task that sets its uids")
@pytest.mark.parametrize("tasks", ["single", "threads"])
@pytest.mark.parametrize("ids", list(_IDS))
def test_access_looks_up_as_the_real_ids(build, world_tmp: Path, tmp_path: Path,
                                          loop: dict[str, str], ids: str, tasks: str) -> None:
    """access_real.c sets its real uid and its effective uid apart, then probes a mode-0700
    root directory (d/present, d/present/.., d/absent/.., d/., ...) with access, faccessat2
    with AT_EACCESS, and stat.  Natively access answers as the real uid may search d, the
    others as the effective one.  On main access answered as the effective uid, every case
    failed, both loops: EACCES where a real root's access passes ("d/present", "d/."), and,
    for a set-user-ID-root program run by nobody, "d/." passing and "d/present/.." ENOTDIR
    where the kernel's access says EACCES.  Now the same answers as natively."""
    program = world_tmp / "access_real"
    program.write_bytes(build("progs/access_real.c", "-pthread").read_bytes())
    program.chmod(0o755)
    base = world_tmp / "base"
    (base / "d").mkdir(parents=True)
    (base / "d" / "present").write_text("x\n")
    (base / "d").chmod(0o700)
    base.chmod(0o755)
    real, effective = _IDS[ids]
    argv = [str(program), str(base), str(real), str(effective)] + (
        ["threads"] if tasks == "threads" else [])
    native = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert native.returncode == 0, native
    expected = _probes(native.stdout)
    assert len(expected) == 8, native
    # the control: the real and the effective uid's lookups do differ here
    assert any(line.split()[2] != line.split()[3].replace("eaccess", "access")
               for line in expected), expected
    policy = tmp_path / "policy.toml"
    policy.write_text(_POLICY)
    traced = run_systrace(["-p", str(policy), "--", *argv], env=loop, timeout=60)
    assert traced.returncode == 0, traced
    assert _probes(traced.stdout) == expected, (native.stdout, traced.stdout, traced.stderr)
