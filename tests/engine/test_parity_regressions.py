"""Differences from native found by LTP's system call tests (bench/ltp_parity.py,
docs/security.md "Parity with native: LTP"), each reduced to a small program run natively and
under a permit-default policy with one path rule."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, UNPRIVILEGED_USER, results, run_systrace, systrace_env

#: the parity policy: everything permitted, one path rule on fswrite (so a truncate stops, and
#: in a tree of several processes runs with the others frozen)
PARITY_POLICY = """
    default = "permit"

    [[rule]]
    calls = ["fsread", "fswrite"]
    path = "/srv/systrace-parity-deny/**"
    action = "never"
"""

#: the parity policy and one address rule: a run in which a table decides where IP packets go
ADDRESSED_POLICY = PARITY_POLICY + """
    [[rule]]
    calls = ["net-connect"]
    address = "127.0.0.2"
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
    assert results(native.stdout) == {"sigtimedwait": "ok", "sigtimedwait timed": "ok",
                                      "epoll_wait": "ok", "semtimedop": "ok",
                                      "semtimedop timed": "ok", "stopped": "EINTR"}, \
        native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"))
    assert r.returncode == 0, r.stderr
    # a real stop (SIGSTOP, SIGCONT) still ends the wait with EINTR, as natively
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


#: the waits of timed_waits.c, each with a timeout nothing but the time ends
_TIMED_WAITS = ("epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
                "pselect6", "nanosleep", "clock_nanosleep", "futex", "sigtimedwait",
                "semtimedop")


@pytest.mark.parametrize("mode", ["freeze", "sigchld", "caught"])
def test_a_timed_wait_runs_out_its_time_through_our_stops(traced, tmp_path, build, mode):
    # a thread's epoll_wait with a timeout, woken by the tracer's freeze for another thread's
    # truncate (PTRACE_INTERRUPT) or by its child's SIGCHLD (ignored by default, queued
    # because traced), failed with EINTR where natively it returned 0 when its time ran
    # out; now restarted with the time left, noted at its entry.  The other waits the kernel
    # restarts itself; "early" would say a restart lost the time already waited.  "caught":
    # the freeze in a process that catches a signal, whose EINTR _wait_exit otherwise keeps
    # (review 16) -- the tracer's own interrupt is restarted all the same
    program = build("progs/timed_waits.c")
    (tmp_path / "native").mkdir()
    (tmp_path / "traced").mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native"), mode],
                            capture_output=True, text=True, timeout=120)
    assert results(native.stdout) == dict.fromkeys(_TIMED_WAITS, "ok"), native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"), mode)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_a_timed_wait_of_a_thread_is_not_ended_by_a_signal_another_thread_took(
        traced, build, loop):
    # wait_eintr.c: one thread waits (epoll_wait, 20 ms, 150 times), one forks, one opens
    # files (stops of the tracer's).  The forking thread's SIGCHLD -- ignored, natively
    # never queued -- is queued under ptrace and woke the waiting thread when the forking
    # one was in a stop; the opening thread, resumed from its stop, took it first, and the
    # wait failed with EINTR with no stop of its own to show it: 5 runs of 6 had 1-9 such
    # failures.  Now a timed wait of a process of threads stops at its exit too
    # (Tracer._wait_exit), both loops
    program = build("progs/wait_eintr.c")
    native = subprocess.run([str(program), "150", "20"], capture_output=True, text=True,
                            timeout=120, check=True)
    assert native.stdout == "eintr=0 ok=150\n", native.stdout
    r = traced.run(PARITY_POLICY, str(program), "150", "20", env=loop)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native.stdout, r.stderr


def test_a_timed_wait_a_caught_signal_woke_fails_with_eintr_as_natively(traced, build, loop):
    # wait_taken.c (review 16): one thread waits (epoll_wait, 3 s), the only one that does
    # not block SIGUSR1, which the process catches; the main thread sends it to the process
    # (waking the waiting thread) and unblocks it at once, taking it itself.  Natively the
    # woken wait fails with EINTR every time; _wait_exit found no signal pending at its exit
    # stop and restarted it -- the wait ran its 3 s out, a wakeup the program never saw.
    # A process that catches a signal the thread does not block keeps its EINTR now
    program = build("progs/wait_taken.c")
    native = subprocess.run([str(program), "3", "3000"], capture_output=True, text=True,
                            timeout=120, check=True)
    assert native.stdout == "eintr=3 timeout=0 handled=3\n", native.stdout
    r = traced.run(PARITY_POLICY, str(program), "3", "3000", env=loop)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native.stdout, r.stderr


def test_a_lease_holder_in_the_tree_gives_its_lease_up_to_a_frozen_truncate(traced, tmp_path,
                                                                          build):
    # LTP fcntl33: a truncate runs with the tree frozen, so the lease holder, another process
    # of the tree, could not take the lease break's SIGIO: the truncate waited out
    # lease-break-time (45 s) and the kernel broke the lease.  The freeze now ends once the
    # truncate sleeps in __break_lease (its path looked up for the last time); frozen, the
    # holder had no lease left to give up when it ran (EAGAIN)
    program = build("progs/lease_break.c")
    (tmp_path / "native").mkdir()
    (tmp_path / "traced").mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native")], capture_output=True,
                            text=True, timeout=120)
    assert results(native.stdout) == {"lease": "ok", "truncate": "ok", "release": "ok"}, \
        native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_a_core_limit_of_one_is_set_as_natively_and_dumps_nothing(traced, tmp_path, build):
    # LTP's tst_no_corefile (abort, kill, waitpid, mmap, madvise, pkey tests) sets
    # RLIMIT_CORE to 1, which dumps nothing; it was refused as a raise of the hard limit 0
    program = build("progs/core_limit.c")
    for name in ("native", "traced", "raise"):
        (tmp_path / name).mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native"), "1"], capture_output=True,
                            text=True, timeout=60)
    assert results(native.stdout) == {"setrlimit 1": "ok", "dumped": "no",
                                      "core": "untouched"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"), "1")
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
    # a limit a core fits in stays refused without a rule naming the call (docs/security.md,
    # class 8)
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "raise"), _CORE_FITS)
    assert results(r.stdout) == {f"setrlimit {_CORE_FITS}": "EPERM", "dumped": "no",
                                 "core": "untouched"}, r.stdout


#: an RLIMIT_CORE a core dump fits in (4 GiB)
_CORE_FITS = str(1 << 32)


def test_core_dumps_are_granted_by_a_rule_naming_the_rlimit_call(traced, tmp_path, build):
    # LTP abort01, kill11, waitpid01, waitid10, madvise08 raise RLIMIT_CORE and abort: with
    # a rule naming prlimit64 (glibc's setrlimit) the program keeps the limits it was
    # started with, and may raise them, as natively -- whatever core_pattern says here
    # (a file in the cwd, a pipe, nothing), the two runs agree on it
    program = build("progs/core_limit.c")
    for name in ("native", "lifted"):
        (tmp_path / name).mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native"), _CORE_FITS],
                            capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    lifting = PARITY_POLICY + """
    [[rule]]
    calls = ["prlimit64"]
    action = "permit"
"""
    r = traced.run(lifting, str(program), str(tmp_path / "lifted"), _CORE_FITS)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_a_wait_is_not_ended_by_a_signal_the_process_ignores(traced, build):
    # LTP rt_sigtimedwait01: natively an ignored signal is dropped when sent; a traced task
    # gets it queued (for the tracer), which woke its sigtimedwait with EINTR -- and a child's
    # SIGCHLD (ignored by default) ended an epoll_wait the same way
    # (with a timeout too: restarted with the time it had left, learnt at its entry)
    program = build("progs/ignored_signal.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=120)
    assert results(native.stdout) == {"sigtimedwait": "ok", "sigtimedwait timed": "ok",
                                      "sigtimedwait expiring": "EAGAIN",
                                      "epoll_wait": "ok"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_a_source_route_is_refused_only_where_a_rule_decides_where_packets_go(traced, build):
    # LTP setsockopt11 (IPV6_RTHDR): the source-route guard refused it under a policy with
    # no address rule, where a route sends nothing anywhere a rule looks at
    program = build("progs/source_route.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert results(native.stdout) == {"IP_OPTIONS": "ok", "IPV6_RTHDR": "ok",
                                      "IP_RETOPTS": "ok"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
    # under an address rule each would send packets where no rule looked (escape/net_srr.c)
    r = traced.run(ADDRESSED_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == {"IP_OPTIONS": "EPERM", "IPV6_RTHDR": "EPERM",
                                 "IP_RETOPTS": "EPERM"}, r.stdout + r.stderr


def test_a_packet_socket_binds_where_no_rule_decides_where_packets_go(traced, build):
    # LTP sendto03: the parity policy's path rule stops bind (for unix socket files); a packet
    # socket's address is none the engine can see, which was refused (EPERM) though no rule
    # of the run looks at where packets go.  Under an address rule it is refused still: the
    # socket itself (escape/net_family.c)
    program = build("progs/packet_bind.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    if results(native.stdout).get("socket") != "ok":
        pytest.skip(f"no packet socket here: {native.stdout}")
    assert results(native.stdout) == {"socket": "ok", "bind": "ok"}, native.stdout
    r = traced.run(PARITY_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
    r = traced.run(ADDRESSED_POLICY, str(program))
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == {"socket": "EPERM"}, r.stdout + r.stderr


#: trailing slashes on a file (f), a symlink to it (sl), a dangling symlink (dl), a directory
#: (dir) and a missing name (nx), for the calls that act on a last name; each op on names of
#: its own where it changes something (the run goes on from one to the next)
_TRAILING = [
    "link:f/:", "link:sl/:", "link:dl/:", "link:nx/:", "link:dir/:", "link:f/:new1",
    "link:sl/:new2", "link:f:new3/", "link:f:f/", "link:f:sl/", "link:f:dl/", "link:f:nx/x",
    "link:f/.:", "link:f/x/:", "linkat:sl/:", "linkat:f/:", "linkat:sl:new4/", "linkat:dl/:",
    "symlink:f:f/", "symlink:f:sl/", "symlink:f:dl/", "symlink:f:new5/", "symlink:f/:new6",
    "mkdir:f/", "mkdir:sl/", "mkdir:dl/", "mkdir:new7/", "mkdir:dir/",
    "unlink:f/", "unlink:sl/", "unlink:dl/", "unlink:nx/", "unlink:dir/",
    "rmdir:f/", "rmdir:sl/", "rmdir:dl/", "rmdir:nx/", "rmdir:empty/",
]


def test_trailing_slashes_on_last_names_fail_as_natively(traced, tmp_path, probe):
    """link(2) of "file/" to "" (or to a name it cannot read) failed with ENOENT traced and
    ENOTDIR natively: the engine answered the empty new name's ENOENT itself, but do_linkat
    looks the old name up whole first, and a trailing slash on a file fails that lookup
    (decode._WHOLE_FIRST; rename's order is do_renameat2's, _PARENT_FIRST).  The other calls
    that act on a last name -- linkat, symlink, mkdir, unlink, rmdir -- with trailing slashes
    on files, symlinks, dangling symlinks, directories and missing names: each result as
    natively, in the same order."""
    def scene(name: str) -> Path:
        where = tmp_path / name
        where.mkdir()
        (where / "f").write_text("x\n")
        (where / "sl").symlink_to("f")
        (where / "dl").symlink_to("missing")
        (where / "dir").mkdir()
        (where / "empty").mkdir()
        return where

    native = subprocess.run([str(probe), *_TRAILING], capture_output=True, text=True,
                            timeout=60, cwd=scene("native"))
    assert "link f/: -> ENOTDIR" in native.stdout, native.stdout
    r = traced.run(PARITY_POLICY, str(probe), *_TRAILING, cwd=scene("traced"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == native.stdout.splitlines(), r.stdout + r.stderr
    made = sorted(p.name for p in (tmp_path / "native").iterdir())
    assert sorted(p.name for p in (tmp_path / "traced").iterdir()) == made


def _started_like_a_background_nohup_job() -> None:
    """The starter's state the program inherits natively: SIGHUP ignored (``nohup``), SIGINT
    and SIGQUIT ignored (a shell's background job), SIGUSR1 blocked; SIGTERM at its default
    (inherited_signals.c ends its child with it)."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [signal.SIGUSR1])


def _started_with_default_signals() -> None:
    """The starter's state of a plain start: every signal the test touches at its default,
    none blocked."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def test_signals_the_command_found_ignored_or_blocked_stay_so(traced, build, loop):
    # LTP kill11 under nohup: natively SIGHUP stayed ignored through the fork and the exec,
    # and its child in pause() survived the test's SIGHUP (the test hung: "natively out of
    # time" in every earlier round); traced, the program's process set every signal systrace
    # handles back to SIG_DFL and cleared the mask, so the child died of it
    program = build("progs/inherited_signals.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=120,
                            preexec_fn=_started_like_a_background_nohup_job)
    assert results(native.stdout) == {"ignored": "1,2,3", "blocked": "10",
                                      "sighup": "survived"}, native.stdout
    r = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(traced.policy(PARITY_POLICY)),
                        "--", str(program)], capture_output=True, text=True, timeout=120,
                       env=systrace_env(loop), preexec_fn=_started_like_a_background_nohup_job)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr
    # and a command started with them at their defaults gives its program the defaults
    # (whatever the test run itself was started with: a CI under nohup has SIGHUP ignored)
    plain = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(traced.policy(PARITY_POLICY)),
                            "--", str(program)], capture_output=True, text=True, timeout=120,
                           env=systrace_env(loop), preexec_fn=_started_with_default_signals)
    assert results(plain.stdout) == {"ignored": "none", "blocked": "none",
                                     "sighup": "killed"}, plain.stdout + plain.stderr


#: how long a run of freeze_starve.c may take before it counts as starved: natively it ends in
#: ~0.1 s, traced in ~9 s at a load of 6 (every call a freeze); a hang guard, not a measure
#: (the starved main thread never ends by itself) -- 30 s was passed at a load of 9 (CI42)
STARVED_AFTER = 120.0


def test_a_thread_is_not_starved_by_other_threads_frozen_calls(traced, tmp_path, build, loop):
    # LTP mkdir09 (2026-12-04, ltp3): three threads looping over mkdir/rmdir (each call runs
    # with the tree frozen) kept the main thread in pthread_create for the whole 60 s of the
    # test's timeout.  The stops a freeze keeps are handled in order at its thaw
    # (Tracer._thaw); a worker's kept mkdir, handled first, freezes the tree again, so the
    # main thread's kept stop (its PTRACE_INTERRUPT stop), handled while that freeze holds,
    # is kept again (_keep_frozen) -- after the stops the new freeze collected.  At every
    # thaw a worker's call comes first: the main thread is never resumed (one stop of it
    # handled ~98,000 times in 20 s, Python loop).  Natively it is done in milliseconds.
    # Since 37e2e89 (bisected: the re-keeping, which closed a hole -- kept stops let go
    # after one of them had frozen the tree again); 3956532 ends it, slowly.  The cause: the
    # next freeze interrupted the main thread after a thaw resumed it and before its next
    # stop (its clone3) was reaped; the interrupt stayed pending past that stop and aborted
    # the clone3 (ERESTARTNOINTR) at its resumption, every time.  Now _freeze reaps the
    # stops already there first: a stopped task is not interrupted (Tracer._freeze).
    program = build("progs/freeze_starve.c")
    (tmp_path / "native").mkdir()
    (tmp_path / "traced").mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native")], capture_output=True,
                            text=True, timeout=120)
    assert native.stdout == "ok\n", native.stdout + native.stderr
    try:
        r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced"),
                       env=loop, timeout=STARVED_AFTER)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the main thread made no progress in {STARVED_AFTER:.0f} s "
                    "(starved by the workers' freezes)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n", r.stdout + r.stderr


def test_a_sendmsg_with_control_data_at_a_bad_pointer_fails_efault_as_natively(
        traced, tmp_path, build, loop):
    # LTP sendmsg01 ("invalid cmsg pointer"): since review 15 a sendmsg stops under a rule
    # refusing what a lookup passes through; in a tree of two tasks its unix destination
    # made it run frozen, and reading its control data there raised inside the tracer and
    # killed the tree (exit 125, "internal error: DecodeError"); then its re-read before the
    # run failed it with EAGAIN.  The kernel answers EFAULT before any lookup: both loops
    program = build("progs/sendmsg_badcontrol.c")
    native = subprocess.run([str(program), str(tmp_path / "native.sock")],
                            capture_output=True, text=True, timeout=60, check=True)
    assert native.stdout == "sendmsg -> EFAULT\n", native.stdout
    r = traced.run(PARITY_POLICY, str(program), str(tmp_path / "traced.sock"), env=loop)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native.stdout, r.stderr


#: seccomp_nnp.c as the kernel answers a user's program: a filter needs no_new_privs (or
#: CAP_SYS_ADMIN), and the flag is a task's, inherited by what it makes after
_SECCOMP_NNP_NATIVE = {
    "prctl bad pointer": "EFAULT", "prctl empty": "EINVAL", "prctl": "EACCES",
    "seccomp": "EACCES", "set nnp": "ok", "thread before nnp": "EACCES",
    "child before nnp": "EACCES", "child after nnp": "ok", "main after nnp": "ok"}


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the program as another user")
@pytest.mark.parametrize("tracer", ["as-user", "unprivileged"])
def test_a_users_seccomp_filter_without_no_new_privs_fails_eacces_as_natively(
        build, world_tmp, loop, tracer):
    # LTP prctl02 run as a user ("prctl() succeeded unexpectedly"): a filter loaded without
    # CAP_SYS_ADMIN needs no_new_privs, which systrace gives the program's process for the
    # prefilter (a tracer that is not root, or -c); so the program's own install, EACCES
    # natively, succeeded.  Now it is EACCES unless the task set the flag itself (or was
    # made by one that had): both loops, by root with -c and by the user's own tracer
    program = world_tmp / "seccomp_nnp"
    shutil.copy(build("progs/seccomp_nnp.c"), program)
    program.chmod(0o755)
    account = pwd.getpwnam(UNPRIVILEGED_USER)
    drop = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
            "--clear-groups"]
    native = subprocess.run([*drop, str(program)], capture_output=True, text=True,
                            timeout=60, cwd=world_tmp)
    assert results(native.stdout) == _SECCOMP_NNP_NATIVE, native.stdout + native.stderr
    rules = world_tmp / "policy.toml"
    rules.write_text(PARITY_POLICY)
    rules.chmod(0o644)
    if tracer == "as-user":
        r = run_systrace(["-c", f"{account.pw_uid}:{account.pw_gid}", "-p", str(rules), "--",
                          str(program)], env=loop, cwd=world_tmp)
    else:
        r = run_systrace(["-p", str(rules), "--", str(program)], env=loop, prefix=drop,
                         cwd=world_tmp)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="changes its effective uid")
def test_a_task_searches_its_own_fd_directory_whatever_its_mode(build, world_tmp, loop):
    # LTP openat04 (TBROK: linkat(/proc/self/fd/4, ..., AT_SYMLINK_FOLLOW) EACCES): after
    # setreuid(-1, nobody) the process is not dumpable and /proc/self/fd is root's, mode
    # 0500 -- the kernel lets a task of the same thread group search it anyway
    # (proc_fd_permission); the resolver checked the mode bits alone and answered EACCES
    account = pwd.getpwnam(UNPRIVILEGED_USER)
    work = world_tmp / "fdsearch"
    work.mkdir()
    work.chmod(0o777)
    program = build("progs/proc_fd_search.c")
    native = subprocess.run([str(program), str(work), str(account.pw_uid)], capture_output=True,
                            text=True, timeout=60)
    assert results(native.stdout) == {"stat fd": "ok", "linkat": "ok"}, native
    (work / "linked").unlink()
    (work / "file").unlink()
    rules = world_tmp / "policy.toml"
    rules.write_text(PARITY_POLICY)
    r = run_systrace(["-p", str(rules), "--", str(program), str(work), str(account.pw_uid)],
                     env=loop)
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="fspick and a remount need CAP_SYS_ADMIN")
def test_a_superblock_reconfiguration_of_a_missing_name_fails_enoent_as_natively(
        build, tmp_path, loop):
    # LTP fspick02 ("invalid-path": "fspick() should fail with ENOENT: EPERM"): the guard on
    # the options of the tracer's own /proc judges fspick and a superblock remount by the
    # target's device, and took a target it could not stat for /proc -- a name that does not
    # exist too, which reaches no superblock: the kernel's lookup fails with ENOENT.  A child
    # waits meanwhile, so the calls run frozen (the tree is not one task)
    program = build("progs/fspick_missing.c")
    (tmp_path / "native").mkdir()
    (tmp_path / "traced").mkdir()
    native = subprocess.run([str(program), str(tmp_path / "native")], capture_output=True,
                            text=True, timeout=60)
    assert results(native.stdout) == {
        "fspick missing": "ENOENT", "fspick deeper": "ENOENT", "fspick dangling": "ENOENT",
        "remount missing": "ENOENT", "remount deeper": "ENOENT", "fspick dir": "EINVAL",
        # red team 72: do_mount looks the target up before the source (was ENOTDIR traced)
        "bind onto missing": "ENOENT"}, native.stdout + native.stderr
    rules = tmp_path / "policy.toml"
    rules.write_text(PARITY_POLICY)
    r = run_systrace(["-p", str(rules), "--", str(program), str(tmp_path / "traced")],
                     env=loop)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


def test_pidfd_send_signal_fails_as_natively_where_the_tracer_guard_looks_first(
        build, tmp_path, loop):
    # LTP pidfd_send_signal02 ("did not fail with EINVAL but: EPERM"): flags 99999 on a
    # /proc/self directory.  The kernel refuses an unknown flag, or more than one scope, with
    # EINVAL before it looks at the descriptor; the guard on signals to the tracer's process
    # group saw PIDFD_SIGNAL_PROCESS_GROUP among them, could not tell a /proc directory's
    # group, and answered EPERM for a call that signals nothing.  LTP pidfd_send_signal03
    # ("ended unexpectedly ... EPERM"): a /proc/PID directory of a child that has ended is
    # ESRCH natively; the guard could not open it (ESRCH), took it for the tracer's and
    # answered EPERM
    program = build("progs/pidfd_errors.c")
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=60)
    assert results(native.stdout) == {
        **dict.fromkeys(("pidfd unknown flag", "pidfd two scopes", "pidfd 99999",
                         "proc dir unknown flag", "proc dir two scopes", "proc dir 99999"),
                        "EINVAL"),
        "pidfd signal 0": "ok", "ended child's proc dir": "ESRCH",
        "ended child's pidfd": "ESRCH"}, native.stdout + native.stderr
    rules = tmp_path / "policy.toml"
    rules.write_text(PARITY_POLICY)
    r = run_systrace(["-p", str(rules), "--", str(program)], env=loop)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == results(native.stdout), r.stdout + r.stderr


#: statx05's steps (LTP round 27): join a session keyring of our own (no key reaches the
#: caller's), give directory ``d`` a v1 fscrypt policy and its key (``e4crypt add_key``: the
#: tree adds the key), then stat ``d`` itself and a file made in it
_ENCRYPTED_STAT = """
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(250, 1, None) < 0:  # keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)
    sys.exit("join session keyring: errno %d" % ctypes.get_errno())
os.chdir(sys.argv[1])
os.mkdir("d")
subprocess.run(["e4crypt", "add_key", "d"], input="qwery\\n", text=True, check=True,
               stdout=subprocess.DEVNULL)
with open("d/f", "w"):
    pass
for name in ("d", "d/f"):
    try:
        os.stat(name)
        print(name, "ok")
    except OSError as e:
        print(name, e.strerror)
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mkfs.ext4") is None
                    or shutil.which("e4crypt") is None
                    or not os.path.exists("/dev/loop-control"),
                    reason="an ext4 image that takes encryption: root, mkfs.ext4, e4crypt, "
                           "loop devices")
@pytest.mark.xfail(strict=True, reason="LTP statx05 (round 27): once the tree adds a key, a "
                   "path ending at an encrypted directory is refused EACCES, though its own "
                   "name is in an unencrypted parent and reads the same for every looker")
def test_an_encrypted_directory_itself_is_stated_as_natively_after_the_tree_adds_its_key(
        traced, tmp_path, loop):
    """LTP statx05: ``statx(mnt/test_dir1)`` after ``e4crypt add_key mnt/test_dir1`` in the
    tree was EACCES traced ("the tree holds keys the tracer's lookups do not find"), on both
    loops, under the parity policy (its path rule decides by name); natively it succeeds.  The
    directory's own name lives in its unencrypted parent, so the tracer's lookup of it is the
    program's: only names *below* it read by the looker's keys (``d/f``'s refusal is red team
    60's fail-closed hold, and stays)."""
    image, mount = tmp_path / "image", tmp_path / "mnt"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(8 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "encrypt", str(image)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:  # (a skip, not a failure: the xfail must not hide the set-up's)
        pytest.skip(f"mkfs.ext4 -O encrypt: {made.stderr.strip()}")
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mount -o loop: {mounted.stderr.strip()}")
    try:
        (mount / "native").mkdir()
        (mount / "traced").mkdir()
        native = subprocess.run([PYTHON, "-c", _ENCRYPTED_STAT, str(mount / "native")],
                                capture_output=True, text=True, timeout=60, check=False)
        if native.stdout.splitlines() != ["d ok", "d/f ok"]:
            pytest.skip(f"natively: {native.stdout + native.stderr}")
        r = traced.run(PARITY_POLICY, PYTHON, "-c", _ENCRYPTED_STAT, str(mount / "traced"),
                       env=loop, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[:1] == ["d ok"], r.stdout + r.stderr
        assert r.stdout.splitlines()[1:] == ["d/f Permission denied"], r.stdout  # red team 60
    finally:
        subprocess.run(["umount", str(mount)], check=False)
