"""Red team 43: an outsider at the tracer's own resources and outputs (issue 11) -- making
systrace run out of something, or its own writes fail, so that it fails open, loses a
record, hangs or grows without bound (docs/security.md, "Red team 43")."""

from __future__ import annotations

import errno
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, policy
from ui.tmux import TMUX, Tmux, wait_file

from conftest import systrace_env

#: a bound on a hang (a test that reaches it has failed), not a timing claim
HANG = 120
#: execs of about 1.8 MiB of argv each: about 180 MiB of process events for an approver
FLOOD_EXECS = 100
#: systrace's peak resident set with the approver's queue bounded (32 MiB of it, its usual
#: 20-40 MiB besides); unbounded it passed 200 MiB
RSS_BOUND_MIB = 110

STALLED_APPROVER = """\
import sys, time
sys.stdout.write('{"type": "events", "process": true}\\n')
sys.stdout.flush()
time.sleep(600)   # asked for process events, reads nothing more (waits for a person...)
"""


def test_an_approver_that_does_not_read_does_not_grow_systrace_without_bound(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """approver_flood.c: an approver (exec:) that asked for process events and then reads
    nothing -- one waiting for a person, or only slower than the tree -- while the program
    execs /bin/true 100 times with 1.8 MiB of argv each.  Each exec event (with its argv) was
    queued for the approver in systrace's memory without bound: 260 MiB of tracer RSS for
    200 execs of 1.2 MiB, linear in what the tree chooses (on main this run peaks above 200
    MiB).  Now an approver more than UNREAD_LIMIT bytes behind is lost, as one that cannot be
    written to is: its waiting asks are refused, every later ask is refused, stderr says so,
    and the run goes on.  Control: natively the program runs to its end."""
    flood = build("escape/approver_flood.c")
    native = subprocess.run([str(flood), "3"], capture_output=True, text=True, timeout=HANG)
    assert native.returncode == 0 and native.stdout.startswith("done"), native.stdout
    approver = tmp_path / "stalled.py"
    approver.write_text(STALLED_APPROVER)
    secd = tmp_path / "secd"
    secd.mkdir()
    pol = tmp_path / "p.toml"
    pol.write_text(policy(f'calls = ["fsread"]\npath = "{secd}/**"\naction = "ask"'))
    run = subprocess.run(
        [*SYSTRACE, "--stats", "-p", str(pol),
         "--ask-via", "exec:" + shlex.join([sys.executable, str(approver)]),
         "--", str(flood), str(FLOOD_EXECS)],
        capture_output=True, text=True, timeout=HANG, env=systrace_env(loop),
        stdin=subprocess.DEVNULL, start_new_session=True)
    if run.stdout.startswith("SKIPPED"):
        pytest.skip(run.stdout.strip())
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"done {FLOOD_EXECS}", run.stdout
    rss = re.search(r"tracer RSS ([0-9.]+) MiB", run.stderr)
    assert rss is not None, run.stderr
    assert "does not read what it is sent" in run.stderr, run.stderr
    assert float(rss.group(1)) < RSS_BOUND_MIB, run.stderr
    assert "Traceback" not in run.stderr


DNS_FLOOD = r"""
import socket, struct, sys, time
n = int(sys.argv[1])
servers = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
inet = [a for a in servers if ":" not in a]
if not inet:
    print("SKIPPED: no IPv4 name server in /etc/resolv.conf"); sys.exit(0)
tracer = [l.split()[1] for l in open("/proc/self/status") if l.startswith("TracerPid:")][0]
def threads():
    try:
        return int([l.split()[1] for l in open(f"/proc/{tracer}/status")
                    if l.startswith("Threads:")][0])
    except OSError:
        return 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):   # n names under an ask rule: each query waits for its answer
    wire = b"".join(bytes([len(l)]) + l.encode() for l in f"x{i}.flood.test".split(".")) + b"\0"
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1),
             (inet[0], 53))
most, last, quiet = 0, -1, 0
while quiet < 20:     # until the tracer's thread count has stopped changing for 2 s
    now = threads()
    most = max(most, now)
    quiet = quiet + 1 if now == last else 0
    last = now
    time.sleep(0.1)
print("threads", most)
"""
#: datagrams the program sends, each a lookup that waits for an ask nobody answers
DNS_FLOOD_QUERIES = 300


def test_lookups_that_wait_for_an_ask_do_not_give_systrace_a_thread_each(
        tmp_path: Path) -> None:
    """Under an ``ask`` rule on a host (a lookup waits for its answer) and an approver that
    never answers, the program sends 300 DNS queries for 300 names to the name server of
    /etc/resolv.conf, which systrace redirects to its resolver.  Each datagram got a thread
    of the tracer's, kept as long as its ask: 3000 datagrams were 2993 threads and 116 MiB;
    at the tracer's pids limit (a cgroup the tree shares) the endpoint's own thread died
    with a traceback ("can't start new thread") and the resolver answered nothing more.
    Now at most QUERIES_AT_ONCE (64) are served at once; a query past them gets no answer,
    as from a busy server, and stderr says so once.  (The resolver is the same in both
    loops: one run.)"""
    flood = tmp_path / "dns_flood.py"
    flood.write_text(DNS_FLOOD)
    approver = tmp_path / "never.py"
    approver.write_text("import time\ntime.sleep(600)\n")
    pol = tmp_path / "p.toml"
    pol.write_text(policy('calls = ["net-connect"]\nhost = "*.flood.test"\naction = "ask"'))
    run = subprocess.run(
        [*SYSTRACE, "-p", str(pol),
         "--ask-via", "exec:" + shlex.join([sys.executable, str(approver)]),
         "--", sys.executable, str(flood), str(DNS_FLOOD_QUERIES)],
        capture_output=True, text=True, timeout=HANG, env=systrace_env(),
        stdin=subprocess.DEVNULL, start_new_session=True)
    if run.stdout.startswith("SKIPPED"):
        pytest.skip(run.stdout.strip())
    assert run.returncode == 0, run.stderr
    threads = int(run.stdout.split()[-1])
    assert "Traceback" not in run.stderr, run.stderr
    assert "the resolver is serving 64 lookups" in run.stderr, run.stderr
    assert threads < 64 + 16, (threads, run.stderr)


PIDS_V1 = Path("/sys/fs/cgroup/pids")


@pytest.fixture
def pids_cgroup(tmp_path: Path) -> Iterator[Path]:
    """A cgroup (v1 pids controller) of its own with a pids limit of 80, removed after."""
    if not os.access(PIDS_V1, os.W_OK) or not (PIDS_V1 / "cgroup.procs").exists():
        pytest.skip("no writable cgroup v1 pids controller (root, /sys/fs/cgroup/pids)")
    group = PIDS_V1 / f"systrace-rt43-{os.getpid()}-{tmp_path.name}"
    group.mkdir()
    try:
        (group / "pids.max").write_text("80\n")
        yield group
    finally:
        for _ in range(100):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)   # (its last processes are being reaped)


def test_an_ask_at_the_pids_limit_is_refused_not_an_internal_error(
        build, tmp_path: Path, loop: dict[str, str], pids_cgroup: Path) -> None:
    """pids_fill.c, in a cgroup with a pids limit systrace shares with the tree (started
    inside it, as a user's run in a container or a systemd unit is): the program forks until
    the limit, then opens a file an ``ask`` rule covers, answered by an approver with
    ``--ask-timeout``.  The timer of the ask is a thread, which could not be started: the
    RuntimeError ended the run as an internal error, the tree killed (a denial of service
    the tree chose, and no answer).  Now that ask is refused (the rule's errno, said on
    stderr) and the run goes on.  Control: natively the open succeeds and the program ends."""
    fill = build("escape/pids_fill.c")
    secd = tmp_path / "secd"
    secd.mkdir()
    target = secd / "asked.txt"
    target.write_text("asked\n")
    native = subprocess.run([str(fill), str(target)], capture_output=True, text=True,
                            timeout=HANG)
    assert native.stdout.startswith("open: 3 errno 0"), native.stdout
    approver = tmp_path / "never.py"
    approver.write_text("import time\ntime.sleep(600)\n")
    pol = tmp_path / "p.toml"
    pol.write_text(policy(f'calls = ["fsread"]\npath = "{secd}/**"\naction = "ask"\n'
                          'errno = "EACCES"'))
    command = shlex.join([*SYSTRACE, "-p", str(pol), "--ask-timeout", "30",
                          "--ask-via", "exec:" + shlex.join([sys.executable, str(approver)]),
                          "--", str(fill), str(target)])
    run = subprocess.run(
        ["sh", "-c", f'echo $$ > {shlex.quote(str(pids_cgroup / "cgroup.procs"))} && '
                     f"exec {command}"],
        capture_output=True, text=True, timeout=HANG, env=systrace_env(loop),
        stdin=subprocess.DEVNULL, start_new_session=True)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"open: -1 errno {errno.EACCES}"), (run.stdout, run.stderr)
    assert run.stdout.rstrip().endswith("done"), run.stdout


def test_a_terminal_ask_at_the_pids_limit_is_refused_not_an_internal_error(
        build, tmp_path: Path, loop: dict[str, str], pids_cgroup: Path) -> None:
    """pids_fill.c as above, asked at the terminal (tmux): the prompt's thread is started at
    the first ask, and at the pids limit it could not be: an internal error ended the run.
    Now the ask is refused with the rule's errno, said on the terminal, and the run goes on.
    """
    if TMUX is None:
        pytest.skip("tmux is not installed")
    fill = build("escape/pids_fill.c")
    secd = tmp_path / "secd"
    secd.mkdir()
    target = secd / "asked.txt"
    target.write_text("asked\n")
    pol = tmp_path / "p.toml"
    pol.write_text(policy(f'calls = ["fsread"]\npath = "{secd}/**"\naction = "ask"\n'
                          'errno = "EACCES"'))
    systrace = shlex.join([*SYSTRACE, "-p", str(pol), "--", str(fill), str(target)])
    env = " ".join(f"{name}={value}" for name, value in systrace_env(loop).items()
                   if name.startswith(("SYSTRACE_", "PYTHONPATH")))
    procs = shlex.quote(str(pids_cgroup / "cgroup.procs"))
    status = tmp_path / "exit"
    t = Tmux(f"sh -c {shlex.quote(f'echo $$ > {procs} && exec env {env} {systrace}')}; "
             f"echo EXIT=$? > {shlex.quote(str(status))}; sleep 60")
    try:
        assert wait_file(status, timeout=HANG) == "EXIT=0\n", t.screen()
        screen = t.screen()
    finally:
        t.close()
    assert "internal error" not in screen and "Traceback" not in screen, screen
    assert "no thread to ask on" in screen, screen
    assert f"open: -1 errno {errno.EACCES}" in screen, screen


PIDS_DNS = r"""
import os, signal, socket, struct, sys
servers = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
inet = [a for a in servers if ":" not in a]
if not inet:
    print("SKIPPED: no IPv4 name server in /etc/resolv.conf"); sys.exit(0)
kids = []
while len(kids) < 4096:     # every pid the cgroup allows (the tracer's threads too)
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    kids.append(pid)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
query = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x03bad\x04test\x00" + \
    struct.pack(">HH", 1, 1)
try:
    s.sendto(query, (inet[0], 53))
    print("sent")
except OSError as exc:
    print("sendto", exc.errno)
for pid in kids:
    os.kill(pid, signal.SIGKILL)
for pid in kids:
    os.waitpid(pid, 0)
print("done")
"""


def test_a_lookup_at_the_pids_limit_is_refused_not_an_internal_error(
        tmp_path: Path, loop: dict[str, str], pids_cgroup: Path) -> None:
    """Under a ``host`` rule (systrace redirects DNS queries to its resolver, whose endpoint
    for a server is made at the first query: two threads), the program takes every pid of a
    cgroup it shares with systrace, then sends a query to the name server of
    /etc/resolv.conf.  The endpoint's threads could not be started: an internal error ended
    the run.  Now the query is refused (EAGAIN, logged and counted as a refusal) -- never
    sent on unredirected, where the lookup would go unobserved -- and the run goes on."""
    program = tmp_path / "pids_dns.py"
    program.write_text(PIDS_DNS)
    pol = tmp_path / "p.toml"
    pol.write_text(policy('calls = ["net-connect"]\nhost = "bad.test"\naction = "never"\n'
                          'errno = "ECONNREFUSED"'))
    command = shlex.join([*SYSTRACE, "-p", str(pol), "--", sys.executable, str(program)])
    run = subprocess.run(
        ["sh", "-c", f'echo $$ > {shlex.quote(str(pids_cgroup / "cgroup.procs"))} && '
                     f"exec {command}"],
        capture_output=True, text=True, timeout=HANG, env=systrace_env(loop),
        stdin=subprocess.DEVNULL, start_new_session=True)
    if run.stdout.startswith("SKIPPED"):
        pytest.skip(run.stdout.strip())
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"sendto {errno.EAGAIN}", "done"], run.stdout
