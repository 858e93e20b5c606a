"""Differences from native found by LTP's system call tests (bench/ltp_parity.py,
docs/security.md "Parity with native: LTP"), each reduced to a small program run natively and
under a permit-default policy with one path rule."""

from __future__ import annotations

import subprocess

from conftest import results

#: the parity policy: everything permitted, one path rule on fswrite (so a truncate stops, and
#: in a tree of several processes runs with the others frozen)
PARITY_POLICY = """
    default = "permit"

    [[rule]]
    calls = ["fsread", "fswrite"]
    path = "/srv/systrace-parity-deny/**"
    action = "never"
"""


def test_a_wait_in_one_process_survives_the_freeze_for_anothers_call(traced, tmp_path, build):
    # LTP fcntl33: a lease holder in sigtimedwait while its child's truncate froze the tree
    # got EINTR from the tracer's PTRACE_INTERRUPT; so did epoll_wait and semtimedop
    program = build("progs/freeze_eintr.c")
    (tmp_path / "native").mkdir()
    (tmp_path / "traced").mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native")], capture_output=True,
                            text=True, timeout=120)
    assert results(native.stdout) == {"sigtimedwait": "ok", "epoll_wait": "ok",
                                      "semtimedop": "ok", "stopped": "EINTR"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"))
    assert r.returncode == 0, r.stderr
    # a real stop (SIGSTOP, SIGCONT) still ends the wait with EINTR, as natively
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_a_core_limit_of_one_is_set_as_natively_and_dumps_nothing(traced, tmp_path, build):
    # LTP's tst_no_corefile (abort, kill, waitpid, mmap, madvise, pkey tests) sets
    # RLIMIT_CORE to 1, which dumps nothing; it was refused as a raise of the hard limit 0
    program = build("progs/core_limit.c")
    for name in ("native", "traced", "raise"):
        (tmp_path / name).mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native"), "1"], capture_output=True,
                            text=True, timeout=60)
    assert results(native.stdout) == {"setrlimit 1": "ok", "core": "untouched"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"), "1")
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
    # a limit a core fits in stays refused (docs/security.md, class 8)
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "raise"), "1048576")
    assert results(r.stdout) == {"setrlimit 1048576": "EPERM", "core": "untouched"}, r.stdout


def test_a_wait_is_not_ended_by_a_signal_the_process_ignores(traced, build):
    # LTP rt_sigtimedwait01: natively an ignored signal is dropped when sent; a traced task
    # gets it queued (for the tracer), which woke its sigtimedwait with EINTR -- and a child's
    # SIGCHLD (ignored by default) ended an epoll_wait the same way
    program = build("progs/ignored_signal.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=120)
    assert results(native.stdout) == {"sigtimedwait": "ok", "epoll_wait": "ok"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
