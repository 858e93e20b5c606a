"""``target = "tree"`` on real processes: a permit of the signals whose every target is a
task of the traced tree -- a child (kill, sigqueue, pidfd_send_signal), a thread (tgkill,
tkill, rt_tgsigqueueinfo), itself -- and of no signal to a process outside it, nor to a
process group that holds one (kill(0), kill(-pgid)), nor to every process (kill(-1)): the
rules after it decide those.  Both loops: the native one hands signal calls to Python."""

from __future__ import annotations

import subprocess

import pytest

from conftest import outsider, results

#: signals inside the tree are permitted, every other one refused (EPERM)
TREE_POLICY = """
    default = "permit"
    [[rule]]
    calls = ["signal"]
    target = "tree"
    action = "permit"
    [[rule]]
    calls = ["signal"]
    action = "never"
"""

INSIDE = ["child", "sigqueue", "pidfd", "thread", "tkill", "tgsigqueue", "self", "zombie"]


def test_signals_inside_the_tree_are_permitted_and_outside_refused(traced, build, loop):
    program = build("progs/sig_tree.c")
    with outsider() as outside:
        pid = outside.pid
        outward = [f"outside:{pid}", f"outtkill:{pid}", f"outpidfd:{pid}", "group",
                   f"pgid:{pid}", "all"]
        r = traced.run(TREE_POLICY, str(program), *INSIDE, *outward, env=loop)
        assert outside.poll() is None, "the process outside the tree got a signal"
    got = results(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    if got.get("pidfd", "").startswith("SKIPPED"):
        pytest.skip("no pidfd_open on this kernel")
    assert got == {**{op: "ok" for op in INSIDE}, **{op: "EPERM" for op in outward}}, \
        r.stdout + r.stderr


def test_a_process_group_all_of_the_tree_is_covered(traced, build, loop):
    """kill(0) and kill(-pgid) of a group whose every member is a task of the tree (the
    program's own group, as timeout(1) and a job-control shell make): covered.  Before,
    the program is in systrace's group, which holds the tracer: not covered."""
    program = build("progs/sig_tree.c")
    r = traced.run(TREE_POLICY, str(program), "group", "owngroup", "owngroupneg", env=loop)
    got = results(r.stdout)
    assert got == {"group": "EPERM", "owngroup": "ok", "owngroupneg": "ok"}, \
        r.stdout + r.stderr


def test_without_the_tree_scope_the_same_signals_reach_outside(traced, build, loop):
    """The control: a plain permit of ``signal`` lets each outward call through (a probe, 0,
    for the groups; SIGUSR1 to the sleeper would end it, so only the probes and a kill the
    sleeper survives are tried), so the refusals above are the tree scope's."""
    program = build("progs/sig_tree.c")
    policy = """
        default = "permit"
        [[rule]]
        calls = ["signal"]
        action = "permit"
    """
    with outsider() as outside:
        r = traced.run(policy, str(program), "group", f"pgid:{outside.pid}", "child",
                       env=loop)
    got = results(r.stdout)
    assert got == {"group": "ok", f"pgid:{outside.pid}": "ok", "child": "ok"}, \
        r.stdout + r.stderr


def test_a_caller_in_a_pid_namespace_of_its_own_is_not_covered(traced, build, loop):
    """Its numbers are not the tracer's.  In a new pid namespace the program makes a child
    whose number there is the program's own number outside (ns_last_pid) and kills it: to
    the tracer that number is the program, a task of the tree -- yet the call is not
    covered (fail closed: the numbers are not translated), and the rule after the tree
    permit refuses it.  Natively the child gets the SIGTERM."""
    program = build("progs/sig_tree.c")
    command = ["unshare", "--user", "--map-root-user", "--pid", "--fork", str(program),
               "nskill"]
    native = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if results(native.stdout).get("nskill") != "ok":
        pytest.skip(f"no pid namespace with ns_last_pid here: {native.stdout}{native.stderr}")
    r = traced.run(TREE_POLICY, *command, env=loop)
    assert results(r.stdout) == {"nskill": "EPERM"}, r.stdout + r.stderr
