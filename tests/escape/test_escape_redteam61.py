"""Red team 61: an outsider at the policy's own semantics and the person in the loop.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 61")."""

from __future__ import annotations

import shlex
import shutil
import socket
import tomllib
from pathlib import Path

from escape_lib import Scene, assert_blocked, attack, require_real

from conftest import PYTHON, run_systrace


def test_an_answer_about_one_path_does_not_run_a_call_another_path_asked_about(
        build, tmp_path: Path) -> None:
    """A call of two paths whose checks both ask (a rename's old and new path, under two
    asking rules) was asked about once, about the first: the question's ``path``, its
    asking rule and its scopes named the old path, and a permit ran the whole call -- the
    new path, which had asked too, was never put to anyone.  redirect_ask.c wrote a draft
    and renamed it onto ``pubd/app.conf``; the approver permits drafts and refuses
    ``pubd`` (it refused the program's own open of ``pubd/app.conf``), and the rename
    replaced the file.  Control: natively the rename replaces it.  (Loop-blind: a run with
    an approver is the Python loop's alone -- tests/conftest.py LOOP_BLIND.)"""
    program = build("escape/redirect_ask.c")
    scene = Scene.make(tmp_path, "control")
    (scene.work / "drafts").mkdir()
    (scene.pubd / "app.conf").write_text("the system's\n")
    require_real(attack(program, scene.work / "drafts" / "new", scene.pubd / "app.conf",
                        policy_text=None, scene=scene))
    scene = Scene.make(tmp_path, "traced")
    (scene.work / "drafts").mkdir()
    asked = scene.pubd / "app.conf"
    asked.write_text("the system's\n")
    answers = scene.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/pubd/*"\nanswer = "deny-now"\nerrno = "EACCES"\n\n'
                       '[[answer]]\npath = "*/drafts/*"\nanswer = "permit-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = (f'default = "permit"\n\n'
            f'[[rule]]\ncalls = ["fswrite"]\npath = "{scene.pubd}/**"\naction = "ask"\n'
            f'errno = "EACCES"\n\n'
            f'[[rule]]\ncalls = ["fswrite"]\npath = "{scene.work}/drafts/**"\n'
            f'action = "ask"\nerrno = "EACCES"\n')
    traced = attack(program, scene.work / "drafts" / "new", asked, policy_text=text,
                    scene=scene,
                    options=["--ask-via", "exec:" + shlex.join(approver)])
    assert "for writing itself: EACCES" in traced.stdout, traced  # (the approver's no)
    assert_blocked(traced)
    assert asked.read_text() == "the system's\n"
    assert (scene.work / "drafts" / "new").exists()  # the asked write was permitted


def test_a_table_made_for_a_memfd_is_no_table_of_every_memfd_of_its_name(
        build, tmp_path: Path) -> None:
    """A process running from a memfd is named "/memfd:NAME (deleted)".  A ``for program``
    answer (the default reach) to its question made a table keyed by that text -- a copy of
    the trusted tool's table it ran under, which may read the secret -- and any later exec
    of any memfd of that name entered it: memfd_table.c, refused the secret under the main
    table, ran its own code from a memfd named as the tool's helper and read it.  Control:
    natively it reads it.  (Loop-blind: a run with an approver is the Python loop's.)"""
    program = build("escape/memfd_table.c")
    scene = Scene.make(tmp_path, "control")
    tool = scene.root / "tool"
    shutil.copy(program, tool)
    (scene.work / "asked").write_text("asked\n")
    require_real(attack(program, tool, scene.work / "asked", scene.secret, policy_text=None,
                        scene=scene))
    scene = Scene.make(tmp_path, "traced")
    tool = scene.root / "tool"
    shutil.copy(program, tool)
    (scene.work / "asked").write_text("asked\n")
    answers = scene.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/asked"\nanswer = "permit"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = (f'default = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{scene.secd}/**"\naction = "never"\n'
            f'errno = "EACCES"\n\n'
            f'[program."{tool}"]\ndefault = "permit"\n\n'
            f'[[program."{tool}".rule]]\ncalls = ["fsread"]\npath = "{scene.work}/asked"\n'
            f'action = "ask"\n')
    traced = attack(program, tool, scene.work / "asked", scene.secret, policy_text=text,
                    scene=scene, options=["--ask-via", "exec:" + shlex.join(approver)])
    assert "itself: EACCES" in traced.stdout, traced
    assert "helper: open" in traced.stdout and "asked: ok" in traced.stdout, traced
    assert_blocked(traced)
    # (the answer was kept for the helper's process: no table of that name was saved)
    assert not any("memfd:" in saved.read_text() for saved in scene.root.glob("policy-*"))


def test_a_table_keyed_by_a_memfd_s_name_is_entered_by_no_memfd(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A table keyed by the name /proc gives a memfd (``/memfd:helper (deleted)``, as a
    remembered answer or a learned policy wrote it for a tool's helper) was entered by any
    exec of any memfd so named -- by the native loop's fast exec too: memfd_table.c, refused
    the secret under the main table, ran its own code from a memfd named "helper" and read
    it.  Now such a name takes no table (the process keeps its own).  Control: natively it
    reads it."""
    program = build("escape/memfd_table.c")
    scene = Scene.make(tmp_path, "control")
    require_real(attack(program, "/bin/true", scene.work, scene.secret, policy_text=None,
                        scene=scene))
    scene = Scene.make(tmp_path, "traced")
    text = (f'default = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{scene.secd}/**"\naction = "never"\n'
            f'errno = "EACCES"\n\n'
            f'[program."/memfd:helper (deleted)"]\ndefault = "permit"\n')
    traced = attack(program, "/bin/true", scene.work, scene.secret, policy_text=text,
                    scene=scene, env=loop)
    assert "itself: EACCES" in traced.stdout, traced
    assert_blocked(traced)


def test_a_memfd_helper_is_learned_into_its_callers_table_and_runs_again(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A program that runs a helper from a memfd (runc's re-exec, a tool that writes its
    helper out): -A learned the helper's calls into a table keyed by the name /proc gives it,
    ``/memfd:helper (deleted)``, which no run enters (such a program takes no table: red team
    61) -- the next run, the helper under its caller's table, was refused what it did.
    memfd_table.c: a tool (a table of its own) runs a helper from a memfd that opens
    ``asked``; the main program then runs its own code from a removed file (``helper``,
    written, removed and run through /proc/self/fd: ``PATH (deleted)``) that reads
    ``data``.  Now both are learned into their caller's table (the tool's, the main one),
    the removed helper's exec by both its names (the next run's is decided by both), the
    policy has no ``(deleted)`` key, and the next run does what the learning run did; the
    log learns the same policy (learn42)."""
    program = build("escape/memfd_table.c")
    tool = tmp_path / "tool"
    shutil.copy(program, tool)
    (tmp_path / "asked").write_text("asked\n")
    (tmp_path / "data").write_text("data\n")
    argv = [str(program), str(tool), str(tmp_path / "asked"), str(tmp_path / "data"),
            "removed"]
    policy, log = tmp_path / "policy.toml", tmp_path / "learn.jsonl"
    learned = run_systrace(["-A", "-o", str(policy), "--log", str(log), "--", *argv], env=loop)
    assert "helper: open" in learned.stdout and "asked: ok" in learned.stdout, learned
    assert "data: no secret" in learned.stdout, learned  # (the removed helper read it)
    text = policy.read_text()
    assert '/helper{, (deleted)}"' in text, text  # (its exec: by both its names)
    keys = list(tomllib.loads(text).get("program", {}))
    assert len(keys) == 1 and keys[0].endswith("/tool"), keys  # (no "... (deleted)" key)
    rebuilt = run_systrace(["policy", "learn", str(log)])
    assert rebuilt.stdout == text, rebuilt.stderr
    enforced = run_systrace(["-p", str(policy), "--", *argv], env=loop)
    assert (enforced.stdout, enforced.returncode) == (learned.stdout, learned.returncode), \
        (enforced, text)


def _free_ports() -> tuple[int, int]:
    """Two UDP ports of 127.0.0.1 free a moment ago (the program binds them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


def test_an_answer_about_one_address_does_not_send_to_another_that_asked(
        build, tmp_path: Path) -> None:
    """The lead, after red team 61: a sendmmsg to two addresses whose checks both ask (two
    ``ask`` rules, one per port) was one question, about its first address -- the
    question's ``rule`` and scopes were that address's, its ``address`` the list of both --
    and a permit sent every message.  net_mmsg_ask.c sends one batch to PORT_OK and
    PORT_SECRET; the approver permits what PORT_OK's rule asks and refuses PORT_SECRET;
    the second datagram arrived.  Now each address asks in turn, as each path does:
    refused.  Control: natively both arrive.  (Loop-blind: a run with an approver is the
    Python loop's.)"""
    program = build("escape/net_mmsg_ask.c")
    for _ in range(3):  # (a port taken meanwhile by someone else: SKIPPED, tried again)
        ok, secret = _free_ports()
        control = attack(program, ok, secret, policy_text=None, scene=None)
        if control.verdict != "SKIPPED":
            break
    require_real(control)
    answers = tmp_path / "answers.toml"
    answers.write_text(f'[[answer]]\naddress = "127.0.0.1:{secret}"\nanswer = "deny-now"\n'
                       f'errno = "EACCES"\n\n'
                       f'[[answer]]\nrule = "* port {ok} -> ask"\nanswer = "permit-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = 'default = "permit"\n\n' + "".join(
        f'[[rule]]\ncalls = ["net-connect"]\naddress = "127.0.0.1"\nport = {port}\n'
        f'action = "ask"\nerrno = "EACCES"\n\n' for port in (ok, secret))
    traced = attack(program, ok, secret, policy_text=text, scene=None,
                    options=["--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "sendmmsg -1 (EACCES)" in traced.stdout, traced  # (the approver's no)


def test_a_symlink_at_a_removed_program_s_name_gives_it_no_table(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A removed program is named ``PATH (deleted)``, which takes no table unless a file
    really named so is the program (supervisor.nameless: the same file at that name).  The
    check stat'ed the name following a symlink: memfd_table.c ``symlinked`` ran its own
    code from a removed ``work/helper`` with a symlink planted at ``work/helper (deleted)``
    to ``/proc/PID/exe`` -- no file is named so, yet the link led the stat to the program
    itself, and the process entered the table keyed by that name (a learned or remembered
    one: policy load only warns), which reads the secret the main table refuses (review
    42).  (No more than a file really so named, written in the same directory and run by
    that name, enters: the table is then a program's in a directory the tree writes -- the
    policy's choice; the check is of the name, as its docstring says.)  Control: natively
    it reads it."""
    program = build("escape/memfd_table.c")
    scene = Scene.make(tmp_path, "control")
    require_real(attack(program, "/bin/true", scene.work / "x", scene.secret, "symlinked",
                        policy_text=None, scene=scene))
    scene = Scene.make(tmp_path, "traced")
    text = (f'default = "permit"\n\n'
            f'[[rule]]\ncalls = ["fsread"]\npath = "{scene.secd}/**"\naction = "never"\n'
            f'errno = "EACCES"\n\n'
            f'[program."{scene.work}/helper (deleted)"]\ndefault = "permit"\n')
    traced = attack(program, "/bin/true", scene.work / "x", scene.secret, "symlinked",
                    policy_text=text, scene=scene, env=loop)
    assert "itself: EACCES" in traced.stdout, traced
    assert_blocked(traced)


def test_an_answer_about_a_path_does_not_run_a_call_a_pathless_check_asked_about(
        build, tmp_path: Path) -> None:
    """An open of another process's /proc/PID/mem for reading is decided as that open (a
    path) and as process_vm_readv (what it does, a check of no path: Supervisor._decide).
    Both asked; the question was about the path, and its permit ran the call: the memory
    read left over, a question of no path, was taken as one about what was answered
    (answer_key named the open's path for it; _asked_besides), and never put.
    mem_asked.c read its child's memory; the approver permits what the fsread rule asks
    about /proc paths and refuses anything else (review 42).  Control: natively it
    reads it.  (Loop-blind: a run with an approver is the Python loop's alone.)"""
    program = build("escape/mem_asked.c")
    require_real(attack(program, policy_text=None, scene=None))
    scene = Scene.make(tmp_path, "traced")
    answers = scene.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "/proc/*"\nrule = "*fsread*"\n'
                       'answer = "permit-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = ('default = "permit"\n\n'
            '[[rule]]\ncalls = ["fsread"]\npath = "/proc/*/mem"\naction = "ask"\n\n'
            '[[rule]]\ncalls = ["process_vm_readv"]\naction = "ask"\nerrno = "EACCES"\n')
    traced = attack(program, policy_text=text, scene=scene,
                    options=["--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "EACCES" in traced.stdout, traced  # (the approver's no to the memory read)
