"""ASK without a terminal (pipes, CI, cron): the run finishes, refuses with a clear line on
stderr, or permits as --ask-default permit says.  The command runs in a new session, so it
has no controlling terminal even when the tests are run from one."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

from conftest import PYTHON, results, systrace_env


def run_detached(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "systrace_py", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, start_new_session=True, timeout=timeout,
                          env=systrace_env())


def asking_policy(tmp: Path) -> tuple[Path, Path]:
    secret = tmp / "data" / "a.txt"
    secret.parent.mkdir()
    secret.write_text("alpha\n")
    policy = tmp / "p.toml"
    policy.write_text(textwrap.dedent(f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{secret.parent}/**"
        action = "ask"
        errno = "EACCES"
        """))
    return policy, secret


def test_ask_without_a_terminal_is_refused_with_a_message(tmp_path, probe):
    policy, secret = asking_policy(tmp_path)
    started = time.monotonic()
    r = run_detached(["-p", str(policy), "--", str(probe), f"open:{secret}", "print:done"])
    assert time.monotonic() - started < 30  # never waits for a person who is not there
    assert r.returncode == 0
    assert results(r.stdout)[f"open {secret}"] == "EACCES"   # the rule's errno
    assert "done" in r.stdout
    assert "no terminal to ask on" in r.stderr
    assert "says ask and no one can be asked -> EACCES" in r.stderr
    assert str(secret) in r.stderr
    assert not (tmp_path / "p.toml.bak").exists()


def test_ask_default_never_is_the_same(tmp_path, probe):
    policy, secret = asking_policy(tmp_path)
    r = run_detached(["--ask-default", "never", "-p", str(policy), "--", str(probe),
                      f"open:{secret}"])
    assert results(r.stdout)[f"open {secret}"] == "EACCES"


def test_ask_default_permit(tmp_path, probe):
    policy, secret = asking_policy(tmp_path)
    r = run_detached(["--ask-default", "permit", "-p", str(policy), "--", str(probe),
                      f"open:{secret}", f"stat:{secret}"])
    assert r.returncode == 0
    assert results(r.stdout) == {f"open {secret}": "ok", f"stat {secret}": "ok"}
    assert f"permitted openat {secret}" in r.stderr
    assert "--ask-default permit" in r.stderr


def test_automatic_mode_never_asks(tmp_path, probe):
    policy, secret = asking_policy(tmp_path)
    r = run_detached(["-a", "-p", str(policy), "--", str(probe), f"open:{secret}"])
    assert results(r.stdout)[f"open {secret}"] == "EACCES"
    assert "no terminal" not in r.stderr  # -a: refusing is what was asked for


def test_a_policy_that_never_asks_says_nothing_about_terminals(tmp_path, probe):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_detached(["-p", str(policy), "--", str(probe), "print:hello"])
    assert r.returncode == 0 and r.stderr == ""
