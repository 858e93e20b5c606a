"""Red team 29: an outsider at the surfaces around the engine -- the resident tracer, the
approver and the question, the tracer's writes, host names (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 29")."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, attack, require_real, scene_env

from conftest import UNPRIVILEGED_USER

#: The address the forged answers give for the permitted name: a listener of the test's,
#: which the policy lets the program reach only as that name
EVIL = "127.0.0.66"


@contextmanager
def listener(address: str) -> Iterator[int]:
    """A TCP listener on ``address`` that accepts and closes; its port."""
    sock = socket.socket()
    sock.bind((address, 0))
    sock.listen(64)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join()


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_forged_answer_raced_at_the_resolver_names_no_address(build, tmp_path: Path,
                                                                loop: str) -> None:
    """Under ``host`` rules systrace's resolver forwarded a program's query -- its own id --
    on a UDP socket connected to the name server, and recorded the first answer that socket
    got.  Any local process may send such a socket a datagram "from" the server: bound to
    port 53 of another loopback address, with IP_PKTINFO naming the server's address as the
    source; and the socket is in /proc/net/udp.  dns_forge.c looks ``good.test`` up and races
    "good.test is 127.0.0.66" at every socket connected to the server: the resolver took it
    (1 to 13 lookups), and the policy's permit on ``good.test`` let the program connect to
    127.0.0.66, which every other rule refuses.  Control: natively a socket connected to the
    name server takes the forged datagram.  Now the resolver asks the server over TCP only
    (an answer too long for the program's UDP query goes back truncated, and its resolver
    asks again over TCP): 60 lookups, each answered with the server's address, none forged."""
    from engine.dns_lib import SERVER, dns_server, private_resolv_conf

    program = build("escape/dns_forge.c")
    prefix = private_resolv_conf(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"

[[rule]]
calls = ["net-connect"]
address = ["127.0.0.1", "{SERVER}"]
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "good.test"
action = "permit"

[[rule]]
calls = ["net-connect"]
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with dns_server({"good.test": "127.0.0.2"}) as server, listener(EVIL) as port:
        control = subprocess.run([*prefix, str(program), "control"], capture_output=True,
                                 text=True, timeout=60, check=False)
        if control.stdout.startswith("SKIPPED"):
            pytest.skip(control.stdout)
        assert control.stdout.startswith("ESCAPED: a socket connected to the name server "
                                         "took the forged answer"), control
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), "attack", "good.test", EVIL, str(port), "60"],
                                capture_output=True, text=True, timeout=300, check=False,
                                env=env)
        assert "before: connect to 127.0.0.66" in traced.stdout and "EACCES" in traced.stdout
        assert "ESCAPED" not in traced.stdout, traced
        assert "BLOCKED: 60 lookups of good.test, 60 answered, 0 with the forged address" \
            in traced.stdout, traced
        assert server.tcp_queries.count("good.test") == 60


def grants_secret(policy_file: Path) -> bool:
    """Whether a learned policy has a rule naming the scene's secret (its description, the
    learning run's command line, names it anyway; paths may be written under $TMPDIR)."""
    rules = policy_file.read_text().split("\n[[rule]]", 1)
    return len(rules) == 2 and "secd/secret.txt" in rules[1]


@pytest.mark.parametrize("how", ["forge", "replace", "prepend"])
def test_a_line_the_program_adds_to_the_log_is_not_learned(build, tmp_path: Path,
                                                           how: str) -> None:
    """``systrace policy learn LOG`` rebuilds the policy of ``-A --log LOG`` from the log's
    records -- the same file, byte for byte, docs/learning.md says.  The log is a file of the
    user's in the work directory, which a learning run's program may write: log_forge.c
    ``forge`` appended an observation of reading the secret (it never opened it), and the
    policy rebuilt from the log granted the read the run never made -- the next run under
    it read the secret (ESCAPED; under the policy written by the run itself, BLOCKED).
    Control: natively the program writes the log and reads the secret.  Now the run's last
    record (``end``) carries the SHA-256 of the lines it wrote, and ``policy learn`` refuses
    a log with lines no run vouches for (exit 2); an honest log still rebuilds the same
    policy.  ``replace``: a whole log of the program's own, with its own digest (nothing in
    it is secret), renamed to the log's name -- what the digest cannot tell; the run says at
    its end that its log's name no longer leads to its log (before: nothing).  ``prepend``
    (review 17): the same made-up run written in place before the run's own lines (the log
    read, cut and written again: the same file at the same name) -- every run vouched for
    its lines and policy learn granted the read (exit 0 on 3e95030); now a run's start says
    where it was written and after which line (``at``, ``after``), and the moved run is
    refused."""
    program = build("escape/log_forge.c")
    scene = Scene.make(tmp_path)
    log, learned, rebuilt = scene.work / "run.jsonl", scene.work / "p.toml", tmp_path / "r.toml"
    log.write_text("")
    control = attack(program, how, log, scene.secret, policy_text=None, scene=scene)
    assert "FORGED" in control.stdout, control
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    log.unlink()

    def systrace(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SYSTRACE, *(str(a) for a in args)], capture_output=True,
                              text=True, cwd=scene.work, env=scene_env(scene), timeout=120,
                              check=False)

    honest = systrace("-A", "--log", log, "-o", learned, "--", program, "read", scene.work)
    assert honest.returncode == 0 and "no longer leads" not in honest.stderr, honest
    assert systrace("policy", "learn", log, "-o", rebuilt).returncode == 0
    assert rebuilt.read_text() == learned.read_text()
    log.unlink()
    first = systrace("-A", "--log", log, "-o", learned, "--", program, how, log, scene.secret)
    assert "FORGED" in first.stdout and first.returncode == 0, first
    assert not grants_secret(learned)  # (the run itself never read it)
    if how == "replace":
        assert f"--log {log}: that name no longer leads to the file this run logged to" \
            in first.stderr, first
        return
    again = systrace("policy", "learn", log, "-o", rebuilt)
    assert again.returncode == 2 and "lines no run of systrace vouches for" in again.stderr, \
        again
    assert not grants_secret(rebuilt)  # (the honest run's, not rewritten)


@pytest.mark.parametrize("how", ["replace", "unended", "link", "blank", "long"])
def test_a_log_the_program_put_at_the_logs_name_is_not_learned(build, tmp_path: Path,
                                                               how: str) -> None:
    """log_forge.c during ``-A --log LOG``: LOG is now a log of the program's own, a start,
    an observation of reading the secret and (``replace``, ``link``) an end with the digest of
    its lines -- nothing in a digest is secret -- renamed over LOG (``replace``,
    ``unended``: no end, as a killed run's) or left beside it with a symlink to it renamed
    over LOG (``link``).  ``policy learn LOG`` granted the read (gap #42).  Now the run, at
    its end (no process of the tree left to change the name), finds that LOG no longer leads
    to its file, says so, and appends a ``disowned`` record to the log there; policy learn
    refuses a log with one (exit 2).  Review 17: ``blank``, the made-up log's first line
    empty, and ``long``, its start record longer than 64 KiB -- the run looked for a start
    record in the first 64 KiB of the first line (audit._a_log), found none, wrote no
    ``disowned`` record and said only "do not learn from it", while policy learn skips empty
    lines and reads a line whole: it learned the read (exit 0 on 3e95030).  Now both ask one
    question of the first line (audit.begins_a_log, up to 16 MiB): the long one is marked,
    and a file the run does not mark begins no log -- policy learn refuses it as such
    (exit 2)."""
    program = build("escape/log_forge.c")
    scene = Scene.make(tmp_path)
    log, learned, rebuilt = scene.work / "run.jsonl", scene.work / "p.toml", tmp_path / "r.toml"
    run = [*SYSTRACE, "-A", "--log", str(log), "-o", str(learned), "--", str(program),
           how, str(log), str(scene.secret)]
    first = subprocess.run(run, capture_output=True, text=True, cwd=scene.work,
                           env=scene_env(scene), timeout=120, check=False)
    assert "FORGED" in first.stdout, first
    # (a file that begins no log is not written to: the run says only what it knows)
    said = "do not learn from it" if how == "blank" else "policy learn refuses it"
    assert said in first.stderr, first
    again = subprocess.run([*SYSTRACE, "policy", "learn", str(log), "-o", str(rebuilt)],
                           capture_output=True, text=True, cwd=scene.work,
                           env=scene_env(scene), timeout=120, check=False)
    assert again.returncode == 2 and "nothing is learned from this log" in again.stderr, again
    assert not rebuilt.exists()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="dropping to an unprivileged user needs root and setpriv")
def test_a_read_only_log_the_program_put_at_the_logs_name_is_not_learned(build) -> None:
    """log_forge.c ``readonly`` as an unprivileged user: the made-up log is 0444, so the
    tracer -- of the same user, no CAP_DAC_OVERRIDE -- could not append its ``disowned``
    record, and said only "do not learn from it": ``policy learn`` learned the made-up log.
    Its owner may give itself write permission: the tracer does, for that one append, and
    puts the mode back."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt29-readonly-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "log_forge"
        shutil.copy(build("escape/log_forge.c"), program)
        os.chown(work, user.pw_uid, user.pw_gid)
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        env = {**scene_env(None), "HOME": str(work), "TMPDIR": str(work)}
        log = work / "run.jsonl"

        def systrace(*args: object) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*drop, *SYSTRACE, *(str(a) for a in args)],
                                  capture_output=True, text=True, cwd=work, env=env,
                                  timeout=120, check=False)

        first = systrace("-A", "--log", log, "-o", work / "p.toml", "--", program, "readonly",
                         log, "/etc/hostname")
        assert "FORGED" in first.stdout, first
        assert "policy learn refuses it" in first.stderr, first
        assert log.stat().st_mode & 0o777 == 0o444  # (its mode put back)
        again = systrace("policy", "learn", log, "-o", work / "r.toml")
        assert again.returncode == 2 and "nothing is learned from this log" in again.stderr, \
            again
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_program_of_another_run_cannot_answer_this_runs_asks(build, tmp_path: Path,
                                                               loop: str) -> None:
    """``--ask-via unix:PATH`` took the first peer of the user's that this systrace did not
    trace as its approver (red team 8 turned away the run's own program).  ask_relay.c under
    *another* systrace (a policy that permits everything) connected to PATH -- on the run's
    command line, which any process of the user reads --, read the ask about the secret and
    answered permit-now: the run's program read the secret (ESCAPED before, both loops).
    Control: natively the program reads the secret (nothing asks).  Now a peer traced by any
    tracer is turned away; the ask waits for an approver and, none coming, is refused at
    ``--ask-timeout``."""
    program = build("escape/ask_relay.c")
    scene = Scene.make(tmp_path)
    require_real(attack(program, "read", scene.secret, policy_text=None, scene=scene))
    sock = scene.root / "approver.sock"
    asking = scene.root / "b.toml"
    asking.write_text(f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{scene.secd}/**"\naction = "ask"\n')
    loose = scene.root / "a.toml"
    loose.write_text('default = "permit"\n')
    env = scene_env(scene, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    run = subprocess.Popen([*SYSTRACE, "-p", asking, "--ask-via", f"unix:{sock}",
                            "--ask-timeout", "5", "--", program, "read", scene.secret],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=scene.work, env=env)
    try:
        import time

        deadline = time.monotonic() + 60
        while not sock.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        other = subprocess.run([*SYSTRACE, "-p", loose, "--", program, "answer", sock,
                                scene.secret], capture_output=True, text=True, cwd=scene.work,
                               env=env, timeout=60, check=False)
        out, err = run.communicate(timeout=90)
    finally:
        run.kill()
        run.wait()
    assert "ANSWERED" not in other.stdout and "turned away" in other.stdout, other
    assert "ESCAPED" not in out, (out, err)
    assert "BLOCKED: open" in out and "EPERM" in out, (out, err)
