"""Enforcement semantics on real processes: permit, never with errno, default, first match,
aliases, path spellings, threads, children, per-program tables, signals, exit codes, pipes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from conftest import PYTHON, results, run_systrace, systrace_env


def secret_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "secret.txt").write_text("top secret\n")
    (d / "public.txt").write_text("hello\n")
    return d


def refuse_reading_secret(d: Path) -> str:
    """A policy that refuses reading d/secret.txt with EACCES and permits the rest."""
    return f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
        errno = "EACCES"
    """


def test_permit_runs_the_call(traced, tmp_path):
    d = secret_dir(tmp_path)
    r = traced.run('default = "permit"\n', "cat", str(d / "public.txt"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"


def test_never_fails_with_the_rules_errno_and_the_program_carries_on(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret*"
        action = "never"
        errno = "EACCES"
    """
    r = traced.run(policy, str(probe), f"open:{d}/secret.txt", f"open:{d}/public.txt")
    assert r.returncode == 0, r.stderr
    got = results(r.stdout)
    assert got[f"open {d}/secret.txt"] == "EACCES"
    assert got[f"open {d}/public.txt"] == "ok"


def test_never_without_errno_is_eperm(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["open", "openat"]
        path = "{d}/secret.txt"
        action = "never"
    """
    r = traced.run(policy, str(probe), f"open:{d}/secret.txt")
    assert results(r.stdout)[f"open {d}/secret.txt"] == "EPERM"


def test_default_never_refuses_what_no_rule_permits(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{d}/public.txt"
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{d}/**"
        action = "never"
        errno = "ENOENT"
    """
    r = traced.run(policy, str(probe), f"open:{d}/public.txt", f"open:{d}/secret.txt",
                   f"stat:{d}/secret.txt")
    got = results(r.stdout)
    assert got[f"open {d}/public.txt"] == "ok"
    assert got[f"open {d}/secret.txt"] == "ENOENT"
    assert got[f"stat {d}/secret.txt"] == "ENOENT"


def test_table_default_never(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        default = "never"
        default_errno = "EACCES"
        [[rule]]
        calls = ["fsread"]
        path = "/**"
        action = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{d}/public.txt"
        action = "never"
        errno = "EROFS"
    """
    # everything a C program needs besides files is not named: it is refused by the default
    r = traced.run(policy + '[[rule]]\ncalls = ["execve", "brk", "mmap", "mprotect", "munmap", '
                   '"arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", '
                   '"getrandom", "close", "read", "write", "exit_group", "rt_sigaction", '
                   '"newfstatat", "fstat", "pread64"]\naction = "permit"\n',
                   str(probe), f"open:{d}/public.txt", f"openw:{d}/public.txt",
                   f"openw:{d}/new.txt", f"mkdir:{d}/sub")
    got = results(r.stdout)
    assert got[f"open {d}/public.txt"] == "ok"
    assert got[f"openw {d}/public.txt"] == "EROFS"   # the fswrite rule
    assert got[f"openw {d}/new.txt"] == "EACCES"     # fswrite check falls to the default
    assert got[f"mkdir {d}/sub"] == "EACCES"


def test_first_match_wins(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    first_permit = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{d}/*"
        action = "never"
    """
    first_never = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/*"
        action = "never"
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "permit"
    """
    a = results(traced.run(first_permit, str(probe), f"open:{d}/secret.txt").stdout)
    b = results(traced.run(first_never, str(probe), f"open:{d}/secret.txt").stdout)
    assert a[f"open {d}/secret.txt"] == "ok"
    assert b[f"open {d}/secret.txt"] == "EPERM"


def test_aliases_split_reads_from_writes(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fswrite"]
        path = "{d}/**"
        action = "never"
        errno = "EROFS"
    """
    r = traced.run(policy, str(probe), f"open:{d}/public.txt", f"openw:{d}/public.txt",
                   f"creat:{d}/x", f"mkdir:{d}/sub", f"unlink:{d}/public.txt",
                   f"rename:{d}/public.txt:{d}/moved", f"chmod:{d}/public.txt",
                   f"symlink:/etc/passwd:{d}/ln", f"link:{d}/public.txt:{d}/hard",
                   f"stat:{d}/public.txt")
    got = results(r.stdout)
    assert got[f"open {d}/public.txt"] == "ok"
    assert got[f"stat {d}/public.txt"] == "ok"
    for op in (f"openw {d}/public.txt", f"creat {d}/x", f"mkdir {d}/sub",
               f"unlink {d}/public.txt", f"rename {d}/public.txt:{d}/moved",
               f"chmod {d}/public.txt", f"symlink /etc/passwd:{d}/ln",
               f"link {d}/public.txt:{d}/hard"):
        assert got[op] == "EROFS", (op, r.stdout)
    assert (d / "public.txt").read_text() == "hello\n"


def test_rdwr_open_needs_read_and_write(traced, tmp_path, build):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/**"
        action = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{d}/**"
        action = "never"
    """
    r = traced.run(policy, "python3", "-c",
                   f"import os\ntry:\n os.open('{d}/public.txt', os.O_RDWR); print('ok')\n"
                   "except OSError as e: print(e.errno)")
    assert r.stdout.strip() == "1", r.stderr


def test_one_rule_matches_every_spelling_of_a_path(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    (d / "sub").mkdir()
    os.symlink(d / "secret.txt", d / "link")
    os.symlink(d, tmp_path / "dirlink")
    policy = refuse_reading_secret(d)
    spellings = [
        f"open:{d}/secret.txt", f"open:{d}//secret.txt", f"open:{d}/./secret.txt",
        f"open:{d}/sub/../secret.txt", f"open:{tmp_path}/dirlink/secret.txt",
        f"open:{d}/link", "open:secret.txt", "open:./sub/../secret.txt",
        f"open:/proc/self/root{d}/secret.txt", "open:/proc/self/cwd/secret.txt",
        f"openat:{d}:secret.txt", f"openat:{d}/sub:../secret.txt",
        f"open:{d}/SECRET.txt",  # a different file: must not match
    ]
    r = traced.run(policy, str(probe), *spellings, cwd=d)
    got = results(r.stdout)
    for spelling in spellings[:-1]:
        op, _, arg = spelling.partition(":")
        assert got[f"{op} {arg}"] == "EACCES", (spelling, r.stdout)
    assert got[f"open {d}/SECRET.txt"] == "ENOENT"


def test_proc_self_fd_spelling(traced, tmp_path):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
    """
    # the shell opens the file as fd 3 under a name the rule permits? No: the rule is on the
    # resolved path, so reopening through /proc/self/fd is the same file and is refused
    (d / "alias").symlink_to(d / "secret.txt")
    script = f"exec 3<{d}/public.txt; cat /proc/self/fd/3; cat /dev/fd/3"
    r = traced.run(policy, "sh", "-c", script)
    assert r.stdout == "hello\nhello\n", r.stderr
    r = traced.run(policy, "sh", "-c", f"cat /proc/self/fd/3 3<{d}/secret.txt")
    assert "top secret" not in r.stdout


def test_a_threads_call_is_checked(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = refuse_reading_secret(d)
    r = traced.run(policy, str(probe), f"thread:open:{d}/secret.txt",
                   f"thread:open:{d}/public.txt")
    got = results(r.stdout)
    assert got[f"open {d}/secret.txt"] == "EACCES"
    assert got[f"open {d}/public.txt"] == "ok"


def test_a_childs_call_after_fork_and_after_exec(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = refuse_reading_secret(d)
    r = traced.run(policy, str(probe), "fork", f"open:{d}/secret.txt",
                   f"exec:{probe},open:{d}/secret.txt")
    assert r.stdout.count(f"open {d}/secret.txt -> EACCES") == 2, r.stdout
    r = traced.run(policy, "sh", "-c", f"cat {d}/secret.txt; (cat {d}/secret.txt) | cat")
    assert "top secret" not in r.stdout
    assert r.stderr.count("Permission denied") == 2, r.stderr


def test_a_program_execd_beside_other_tasks_starts_with_its_scratch_area(traced, tmp_path):
    """In a tree of several tasks, held arguments need the scratch area: in a program forked
    from one that has held arguments, it is mapped at the exec event (one stop: the mmap run to
    a trap), not by turning the first held call into an mmap.  (sh's write is held because a
    sibling runs; cat's read-only open does not stop under a rule on writes, so only the exec
    event can have mapped it.)"""
    from systrace_py.engine import scratch

    policy = f"""
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/nothing/**"
        action = "never"
    """
    r = traced.run(policy, "sh", "-c",
                   f"sleep 1 & : > {tmp_path}/written; cat /proc/self/maps; kill $!; exit 3")
    assert r.returncode == 3, r.stderr
    starts = {int(line.split("-")[0], 16) for line in r.stdout.splitlines()}
    assert scratch.BASE in starts
    assert "/usr/lib" in r.stdout or "/lib" in r.stdout  # cat ran as usual


def test_a_held_call_never_writes_into_the_programs_own_memory_at_the_area(traced, tmp_path,
                                                                        build, loop):
    """A program can take the scratch area's address first (an mmap whose address is only a
    hint: no guard stops it), and the tracer's MAP_FIXED_NOREPLACE mmap then fails: every
    held call of that address space is refused (EPERM), the first and the later ones.  The
    later ones were held into the program's own mapping there (4c37801 mapped only where
    nothing had failed, and held where it had): the copies a sibling thread may rewrite
    after the check, the program's memory written."""
    from systrace_py.engine import scratch

    program = build("progs/scratch_taken.c")
    target = tmp_path / "public.txt"
    target.write_text("hello\n")
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{tmp_path}/nothing/**"
        action = "never"
    """
    args = (str(program), hex(scratch.BASE), str(scratch.SIZE), str(target))
    native = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert native.stdout.split("\n")[:4] == ["mapped at-base", "open0 ok", "open1 ok",
                                             "written 0"], native.stdout
    # (through env: the run's own command gets its area at its exec when its table lets it
    # make a child -- shell38's premap -- and this one could not take the address first; a
    # later exec's area is mapped at its first held call)
    r = traced.run(policy, "/usr/bin/env", *args, env=loop)
    assert r.stdout.split("\n")[:4] == ["mapped at-base", "open0 EPERM", "open1 EPERM",
                                        "written 0"], (r.stdout, r.stderr)


def test_program_table_switches_at_exec(traced, tmp_path):
    d = secret_dir(tmp_path)
    policy = f"""
        default = "permit"
        [program."/usr/bin/cat"]
        default = "permit"
        [[program."/usr/bin/cat".rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
        errno = "EACCES"
    """
    r = traced.run(policy, "sh", "-c", f"head -n1 {d}/secret.txt; cat {d}/secret.txt")
    assert r.stdout == "top secret\n", (r.stdout, r.stderr)
    assert "Permission denied" in r.stderr


def test_inherit_across_exec_keeps_the_parents_table(traced, tmp_path):
    d = secret_dir(tmp_path)
    policy = f"""
        [program."/usr/bin/cat"]
        [[program."/usr/bin/cat".rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
    """
    r = traced.run(policy, "sh", "-c", f"cat {d}/secret.txt", options=("-i",))
    assert r.stdout == "top secret\n"


def test_children_inherit_the_table_they_were_forked_under(traced, tmp_path):
    d = secret_dir(tmp_path)
    policy = f"""
        [program."/usr/bin/dash"]
        [[program."/usr/bin/dash".rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
        [program."/usr/bin/cat"]
        default = "permit"
    """
    # the subshell is a fork of dash: dash's table; head execs with no table of its own: it
    # keeps dash's; cat switches to its own table at exec
    r = traced.run(policy, "/usr/bin/dash", "-c",
                   f"(read x < {d}/secret.txt; echo sub:$x); head -n1 {d}/secret.txt; "
                   f"cat {d}/secret.txt")
    assert r.stdout == "sub:\ntop secret\n", (r.stdout, r.stderr)
    assert "cannot open" in r.stderr and "head: cannot open" in r.stderr


def test_exit_codes_and_signals(traced, probe):
    assert traced.run("", "sh", "-c", "exit 42").returncode == 42
    assert traced.run("", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM
    assert traced.run("", str(probe), f"raise:{int(signal.SIGSEGV)}").returncode == \
        128 + signal.SIGSEGV


def test_signals_reach_the_program(tmp_path, probe):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    proc = subprocess.Popen([PYTHON, "-m", "systrace_py", "-p", str(policy), str(probe),
                             "waitusr1", "print:done"], stdout=subprocess.PIPE, text=True,
                            env=systrace_env())
    assert proc.stdout.readline() == "ready\n"
    program = int(subprocess.run(["pgrep", "-n", "-f", f"{probe} waitusr1"],
                                 capture_output=True, text=True).stdout.split()[0])
    os.kill(program, signal.SIGUSR1)
    out, _ = proc.communicate(timeout=30)
    assert out == "got SIGUSR1\ndone\n"
    assert proc.returncode == 0


def test_terminating_systrace_passes_the_signal_on(tmp_path, probe):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    proc = subprocess.Popen([PYTHON, "-m", "systrace_py", "-p", str(policy), str(probe),
                             "waitusr1"], stdout=subprocess.PIPE, text=True, env=systrace_env())
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM


def test_pipe_through_cat(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = subprocess.run(f"echo hi | {PYTHON} -m systrace_py -p {policy} -- cat | tr a-z A-Z",
                       shell=True, capture_output=True, text=True, env=systrace_env())
    assert r.stdout == "HI\n"
    assert r.returncode == 0


def test_options_end_at_the_command(traced, tmp_path):
    policy = traced.policy('default = "permit"\n')
    r = run_systrace(["-p", str(policy), "sh", "-c", "echo $0 $1", "-p", "x"])
    assert r.stdout == "-p x\n", r.stdout  # "-p x" went to the command, not to systrace


def test_verbose_says_refusals(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
    """
    r = traced.run(policy, str(probe), f"open:{d}/secret.txt", options=("-v",))
    assert f"refused openat {d}/secret.txt" in r.stderr
    assert "rule 1" in r.stderr


def test_log_records_decisions_and_process_events(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    log = tmp_path / "log.jsonl"
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "never"
        errno = "EACCES"
        [[rule]]
        calls = ["fsread"]
        path = "{d}/public.txt"
        action = "permit"
    """
    r = traced.run(policy, "sh", "-c", f"{probe} open:{d}/secret.txt open:{d}/public.txt",
                   options=("--log", str(log)))
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    events = [rec["event"] for rec in records]
    assert events[0] == "start"
    assert "exec" in events and "exit" in events and ("fork" in events or "vfork" in events)
    refusal = next(rec for rec in records if rec.get("result") == "refused")
    for key in ("time", "pid", "ppid", "program", "syscall", "args", "action", "rule", "errno"):
        assert key in refusal, key
    assert refusal["errno"] == "EACCES"
    assert refusal["args"]["path"] == f"{d}/secret.txt"
    assert refusal["call"]["paths"] == [["path", f"{d}/secret.txt"]]
    assert isinstance(refusal["call"]["open_flags"], int)
    assert {rec["v"] for rec in records} == {2}
    assert refusal["rule"]["index"] == 1
    assert refusal["program"] == str(probe)
    permitted = [rec for rec in records if rec.get("result") == "permitted"]
    assert any(rec["args"].get("path") == f"{d}/public.txt" for rec in permitted)


def test_dry_run_refuses_nothing_and_logs_what_would_be_refused(traced, tmp_path):
    d = secret_dir(tmp_path)
    log = tmp_path / "log.jsonl"
    policy = """
        default = "never"
    """
    r = traced.run(policy, "cat", str(d / "secret.txt"), options=("--dry-run", "--log", str(log)))
    assert r.returncode == 0
    assert r.stdout == "top secret\n"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    would = [rec for rec in records if rec.get("result") == "would-refuse"]
    assert any(rec["syscall"] == "openat" and rec["args"].get("path") == f"{d}/secret.txt"
               for rec in would)
    assert not [rec for rec in records if rec.get("result") == "refused"]


def test_ask_without_front_end_is_refused_with_a_message(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    policy = f"""
        [[rule]]
        calls = ["fsread"]
        path = "{d}/secret.txt"
        action = "ask"
    """
    r = traced.run(policy, str(probe), f"open:{d}/secret.txt", options=("-a",))
    assert results(r.stdout)[f"open {d}/secret.txt"] == "EPERM"
    assert "rule 1" in r.stderr and "ask" in r.stderr


def test_unconditional_never_is_answered_by_the_filter(traced, tmp_path, probe):
    d = secret_dir(tmp_path)
    # (missing = "errno": otherwise a missing directory on the way would get ENOENT, which
    # only a stop can tell -- see tests/engine/test_missing_paths.py)
    policy = """
        [[rule]]
        calls = ["mkdir", "mkdirat"]
        action = "never"
        errno = "EROFS"
        missing = "errno"
    """
    # -q: refusals need not stop to be counted (without it they do, for the end-of-run count)
    r = traced.run(policy, str(probe), f"mkdir:{d}/x", options=("--stats", "-q"))
    assert results(r.stdout)[f"mkdir {d}/x"] == "EROFS"
    # the only stops are the engine's own (opens -- the loader's: red team 48 --, exec);
    # mkdir never stopped: as many decisions as a run whose mkdir no rule names
    plain = traced.run('default = "permit"', str(probe), f"mkdir:{d}/y", options=("--stats", "-q"))
    assert results(plain.stdout)[f"mkdir {d}/y"] == "ok", plain.stdout
    decisions = re.compile(r"(\d+) decisions")
    assert decisions.findall(r.stderr) == decisions.findall(plain.stderr), (r.stderr,
                                                                             plain.stderr)
    r = traced.run(policy, str(probe), f"mkdir:{d}/x")
    assert results(r.stdout)[f"mkdir {d}/x"] == "EROFS"
    assert "refused 1 call" in r.stderr


def test_missing_command_exits_127(traced):
    r = traced.run('default = "permit"\n', "no-such-command-xyz")
    assert r.returncode == 127
    assert "no-such-command-xyz: command not found" in r.stderr


def test_command_not_executable_exits_126(traced, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    r = traced.run('default = "permit"\n', str(script))
    assert r.returncode == 126


def test_unprivileged_user_can_trace(world_tmp, probe):
    import shutil as sh

    if sh.which("setpriv") is None:
        import pytest

        pytest.skip("setpriv not installed")
    (world_tmp / "secret").write_text("x")
    policy = world_tmp / "p.toml"
    policy.write_text(f'[[rule]]\ncalls = ["fsread"]\npath = "{world_tmp}/secret"\n'
                      'action = "never"\nerrno = "EACCES"\n')
    probe_copy = world_tmp / "probe"
    sh.copy(probe, probe_copy)
    r = run_systrace(["-p", str(policy), str(probe_copy), f"open:{world_tmp}/secret",
                      "exec:/usr/bin/id,-u"],
                     prefix=["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"],
                     cwd=world_tmp)
    assert r.returncode == 0, r.stderr
    assert results(r.stdout)[f"open {world_tmp}/secret"] == "EACCES"
    assert r.stdout.strip().endswith("1000")


def test_run_as_another_user_with_c(world_tmp):
    if os.geteuid() != 0:
        import pytest

        pytest.skip("-c needs root")
    policy = world_tmp / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_systrace(["-c", "1000:1000", "-p", str(policy), "id", "-u"])
    assert r.stdout.strip() == "1000", r.stderr


def test_tracer_death_kills_the_traced_tree(tmp_path, probe):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    proc = subprocess.Popen([PYTHON, "-m", "systrace_py", "-p", str(policy), str(probe),
                             "waitusr1"], stdout=subprocess.PIPE, text=True, env=systrace_env())
    assert proc.stdout.readline() == "ready\n"
    program = int(subprocess.run(["pgrep", "-n", "-f", f"{probe} waitusr1"],
                                 capture_output=True, text=True).stdout.split()[0])
    proc.kill()
    proc.wait(timeout=10)
    for _ in range(100):
        if not Path(f"/proc/{program}").exists() or \
                Path(f"/proc/{program}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the traced program outlived its tracer")
