"""Close 46 (review 72 finding 3): ``--ask-via unix:PATH`` where another user's socket,
left by a run that died, lies in a sticky directory: it cannot be removed (EPERM), and
the error was raised from inside the handler of the probe's ECONNREFUSED -- a Python
traceback.  Now a usage error naming the path, as the approver's other errors are.

The run is root's without ``CAP_FOWNER`` (``setpriv --bounding-set -fowner``), the socket
and its sticky directory ``nobody``'s: the kernel's sticky check (owner of the file or of
the directory, else CAP_FOWNER) refuses it as it refuses a normal user.  (A run as
``nobody`` itself cannot start the tests' interpreter: it lives under /root, mode 0700.)"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from conftest import PYTHON, UNPRIVILEGED_USER, systrace_env


def test_another_users_dead_socket_at_the_approver_path_is_a_clear_error() -> None:
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    shared = Path(tempfile.mkdtemp(prefix="c46-"))
    try:
        shared.chmod(0o1777)  # (sticky: only a file's owner may remove it, as in /tmp)
        dead = shared / "x.sock"
        left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        left.bind(str(dead))
        left.close()  # (nobody listens: ECONNREFUSED)
        dead.chmod(0o777)
        os.chown(dead, user.pw_uid, user.pw_gid)
        os.chown(shared, user.pw_uid, user.pw_gid)
        policy = shared / "p.toml"
        policy.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                          'path = "/nonexistent/**"\naction = "ask"\n')
        policy.chmod(0o644)
        proc = subprocess.run(
            ["setpriv", "--bounding-set", "-fowner", "--inh-caps", "-fowner",
             PYTHON, "-m", "systrace_py", "-p", str(policy), "--ask-via", f"unix:{dead}",
             "--", "/bin/true"], cwd=shared, env=systrace_env({"HOME": str(shared)}),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode not in (0, 1), (proc.returncode, proc.stderr)
        assert f"unix:{dead}" in proc.stderr and "cannot be removed" in proc.stderr, \
            proc.stderr
        assert dead.exists()  # (another user's: left where it was)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
