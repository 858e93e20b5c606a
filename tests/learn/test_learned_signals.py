"""Signals inside the traced tree on the next run of a learned policy: a run that sent none
is learned, the next one kills its child, signals its threads, a multiprocessing pool
terminates its worker -- and nothing is refused, for every learned table permits signals
to the program's own tree (``target = "tree"``, learn.TREE_SIGNALS).  Each test's control
takes that one rule out and sees the same run refused, so the rule is what lets it run.
A signal seen inside the tree while learning is no grant of its own; one to a process
outside the tree is learned as seen."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce, learn

from conftest import LOOPS, outsider, results, run_systrace
from systrace_py.policy.learn import TREE_SIGNALS

INSIDE = ["child", "sigqueue", "thread", "tkill", "tgsigqueue", "self", "reap", "join"]

POOL = """
import multiprocessing, sys, time
# (terminate: the worker sleeps for argv[2] seconds, unless terminated -- as long as the
# runs that terminate it may need; the control, whose kill is refused, waits it out)
worker = multiprocessing.Process(target=time.sleep, args=(float(sys.argv[2])
                                                          if sys.argv[1] == "terminate"
                                                          else 0,))
worker.start()
if sys.argv[1] == "terminate":
    worker.terminate()
worker.join()
print("exitcode", worker.exitcode)
"""


def without_tree_rule(policy: Path) -> Path:
    """The learned policy with its tree-scoped signal permit taken out (the control)."""
    text = policy.read_text()
    block = f'[[rule]]\ncomment = "{TREE_SIGNALS}"\ncalls = ["signal"]\ntarget = "tree"\n' \
            'action = "permit"\n'
    assert block in text, text
    control = policy.with_name("control.toml")
    control.write_text(text.replace(block, ""))
    return control


def rule_calls(policy: Path) -> list[tuple[list[str], str | None]]:
    data = tomllib.loads(policy.read_text())
    return [(rule["calls"], rule.get("target")) for rule in data.get("rule", [])]


def test_a_c_program_that_signalled_nothing_signals_its_tree_next_time(tmp_path, build):
    program = str(build("progs/sig_tree.c"))
    policy = learn(tmp_path, [program, "reap", "join"])
    assert (["signal"], "tree") in rule_calls(policy)
    for name, env in LOOPS.items():
        r, refused = enforce(tmp_path, policy, [program, *INSIDE], env=env)
        assert results(r.stdout) == dict.fromkeys(INSIDE, "ok"), (name, r.stdout, r.stderr)
        assert refused == [], (name, refused)
    r, refused = enforce(tmp_path, without_tree_rule(policy), [program, "self"])
    assert results(r.stdout) == {"self": "EPERM"} and refused, r.stdout + r.stderr


def test_a_multiprocessing_worker_terminated_on_the_next_run(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(POOL)
    policy = learn(tmp_path, [PYTHON3, str(script), "join"])
    for name, env in LOOPS.items():
        r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), "terminate", "60"],
                             env=env)
        assert "exitcode -15" in r.stdout and refused == [], (name, r.stdout, r.stderr,
                                                                 refused)
    # (the control's worker sleeps 1 s, not 60: its kill refused, the run waits for it)
    r, refused = enforce(tmp_path, without_tree_rule(policy),
                         [PYTHON3, str(script), "terminate", "1"])
    assert any(record["syscall"] == "kill" for record in refused), (r.stdout, r.stderr)


def test_timeout_that_fires_on_the_next_run(tmp_path):
    """timeout(1) puts itself in a process group of its own; when the time is up it kills
    its child, then its whole group (kill(0)): every member is the tree's."""
    policy = learn(tmp_path, ["timeout", "5", "sleep", "0"])
    for name, env in LOOPS.items():
        r, refused = enforce(tmp_path, policy, ["timeout", "0.3", "sleep", "5"], env=env)
        assert r.returncode == 124 and refused == [], (name, r.stderr, refused)
    r, refused = enforce(tmp_path, without_tree_rule(policy), ["timeout", "0.3", "sleep", "5"])
    assert any(record["syscall"] == "kill" for record in refused), (r.stdout, r.stderr)


def test_signals_seen_inside_the_tree_grant_nothing_more_and_outside_are_learned(
        tmp_path, build):
    program = str(build("progs/sig_tree.c"))
    (tmp_path / "in").mkdir()
    inside = learn(tmp_path / "in", [program, "child", "thread", "reap", "join"])
    assert [calls for calls, _ in rule_calls(inside) if set(calls) & {
        "signal", "kill", "tgkill"}] == [["signal"]], inside.read_text()
    with outsider() as outside:
        (tmp_path / "out").mkdir()
        seen = learn(tmp_path / "out", [program, f"outside:{outside.pid}"])
    granted = [calls for calls, target in rule_calls(seen) if target is None]
    assert any("kill" in calls or "signal" in calls for calls in granted), seen.read_text()


def test_a_policy_learned_from_a_dry_run_log_grants_no_signal_inside_the_tree(tmp_path, build):
    """``systrace policy learn`` from a ``--dry-run --log`` (or an enforce log) built its
    observations from the records' ``call``, which said nothing of where a signal went: every
    signal the run sent inside its own tree was learned as a plain grant of the call (kill,
    tgkill, rt_sigqueueinfo...: to any process), where ``-A`` learns the tree-scoped permit
    alone.  Now a record says so (``"tree": true``) and the policy is ``-A``'s: the next run
    under it sends them all, and one to a process outside the tree is refused."""
    program = str(build("progs/sig_tree.c"))
    empty = tmp_path / "empty.toml"
    empty.write_text('version = 1\ndefault = "never"\n')
    log = tmp_path / "dry.jsonl"
    r = run_systrace(["-p", str(empty), "--dry-run", "--log", str(log), "--", program,
                      *INSIDE])
    assert results(r.stdout) == dict.fromkeys(INSIDE, "ok"), r.stdout + r.stderr
    policy = tmp_path / "policy.toml"
    learned = run_systrace(["policy", "learn", str(log), "-o", str(policy)])
    assert learned.returncode == 0, learned.stderr
    calls = rule_calls(policy)
    assert (["signal"], "tree") in calls
    signal_names = {"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                    "signal", "pidfd_send_signal"}
    assert not [c for c, target in calls if target is None and signal_names & set(c)], calls
    r, refused = enforce(tmp_path, policy, [program, *INSIDE])
    assert results(r.stdout) == dict.fromkeys(INSIDE, "ok") and refused == [], \
        (r.stdout, r.stderr, refused)


@pytest.mark.parametrize("then", [[], ["/bin/true"]], ids=["exit", "exec"])
def test_a_thread_started_as_its_process_ends_keeps_its_last_calls(tmp_path, build, then):
    """Learning stops at every call of every thread, enforcement only at the calls its
    prefilter traces: a thread started just before its process's exit_group got through
    fewer of its calls while learning than under the policy -- rustc's thread naming
    itself (prctl PR_SET_NAME) was missing from the learned policy and refused on a next
    run (rustup's threads, which its exec of cargo ends).  The learner holds an exit_group
    or an exec of a process with other threads a moment (learner.EXIT_GRACE): their calls
    are made, and learned, as on a slower schedule."""
    program = build("progs/late_thread.c")
    policy = learn(tmp_path, [str(program), "100", *then], cwd=tmp_path)
    tables = tomllib.loads(policy.read_text())
    assert any("prctl" in rule["calls"] for rule in tables["rule"]), policy.read_text()
    r, refused = enforce(tmp_path, policy, [str(program), "100", *then], cwd=tmp_path)
    assert (r.returncode, refused) == (0, []), (r.stderr, refused[:3])
