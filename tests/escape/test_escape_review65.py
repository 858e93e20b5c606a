"""Review 65: close 29's and close 32's tables (a merge's, an answer's) attacked again -- a
run -- the same one, or a NEXT one -- that does what the person's policy refused.  These
tests FAIL on main (01d6e5c4): each is an attack that still escapes.

* A remembered answer is written as the learner writes paths (``$CWD/...``, ``~/...``,
  ``$TMPDIR/...``: docs/asking.md "Scopes") and placed *before every rule of its table*
  (``Supervisor.remember``, ``PolicyStore._merge``: ``merge_rules(position="start")``).  In
  the answering run the rules before the ``ask`` that asked did not pick the call; in a run
  from another directory the same spelling names another file, and the answer stands in
  front of the person's ``never`` of that file: asked in a project about its own
  ``./.bashrc``, the program run from the home directory appends to ``~/.bashrc``, which
  the person's ``never`` (before the ``ask``) refuses.
* A ``for program`` answer for a program a glob table of the file claims makes a literal
  table, a copy of the glob table (``PolicyStore.program_table(..., claimed=True)``: one
  candidate).  A glob spelled with ``$CWD`` (or ``~``, ``$TMPDIR``) claims the program only
  where the run's expansion reaches it; from another directory the program ran in its
  caller's table -- and now takes the copy from there: the caller's ``never`` is lost.
* A remembered answer is its call's whole alias (``fswrite``: unlink, rename, chmod...):
  in front of the person's ``never`` of unlink (before or after the ``ask``), the program's
  ``rm`` of the file it was permitted to write went through, in the same run.
* The command's own full-path file in the policy directory is left out of the run's
  directory (``cli.run._policies``), so at the command's exec ``PolicySet.table_for`` falls
  back to a base-name file (``cat.toml``), whose table then decides.
* ``-A -o DIR/<tool's file> --merge`` without ``-d`` loads no directory unless DIR is the
  default one: the next ``systrace -d DIR tool`` finds the new cat table before cat's own
  file (close 32's finding 1, for a directory named by ``-d``).
* A ``-p`` run of a policy directory's file loads no directory (``cli.run._policies``); a
  ``for program`` answer there saves a new cat table into that file, a copy of it alone,
  which the next plain run looks up before cat's own file (the same, on the answer path).

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

import shutil
from pathlib import Path

from escape_lib import NEVER_VICTIM, SECRET_MAGIC, approver_args, victim_read_natively

from conftest import run_systrace
from systrace_py.policy.files import policy_filename


def test_an_answer_spelled_with_cwd_does_not_overtake_a_persons_refusal_elsewhere(
        tmp_path: Path) -> None:
    """The person's main table: ``never fswrite ~/.bashrc``, then ``ask`` of writes below
    ``tmp_path``.  In ``proj`` the program appends to ``./.bashrc``; the approver permits it
    (saved: ``permit fswrite $CWD/.bashrc``, first in main).  The next run from the home
    directory appends to ``.bashrc`` there -- ``~/.bashrc``, which the person's first rule
    refuses: on main the answer, in front of it, let the write through."""
    home = tmp_path / "home"
    proj = tmp_path / "proj"
    home.mkdir()
    proj.mkdir()
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\n'
                      'path = "~/.bashrc"\naction = "never"\n\n'
                      f'[[rule]]\ncalls = ["fswrite"]\npath = "{tmp_path}/**"\n'
                      'action = "ask"\n')
    env = {"HOME": str(home)}
    append = ["sh", "-c", "echo planted >> .bashrc && echo WROTE || echo REFUSED"]
    alone = run_systrace(["-p", str(policy), "--", *append], cwd=home, env=env)
    assert alone.stdout == "REFUSED\n", alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", *append], cwd=proj, env=env)
    assert asked.stdout == "WROTE\n", asked.stdout + asked.stderr
    assert "remembered" in asked.stderr and "saved" in asked.stderr, asked.stderr
    again = run_systrace(["-p", str(policy), "--", *append], cwd=home, env=env)
    assert not (home / ".bashrc").exists(), (again.stdout + again.stderr, policy.read_text())
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, policy.read_text())


def test_an_answer_for_a_program_a_cwd_glob_claims_keeps_its_callers_table_elsewhere(
        tmp_path: Path) -> None:
    """``[program."$CWD/*"]`` (default permit) asks about ``asked``; main refuses reads below
    ``secret``.  In ``p1``, ``./mycat asked`` (a copy of cat) is permitted for the program:
    the store makes ``[program."<p1>/mycat"]``, a copy of the glob table.  From ``p2`` the
    glob does not reach ``p1/mycat``: before the answer it ran in main, where the secret is
    refused -- on main it took the copy from there and printed the secret."""
    p1 = tmp_path / "p1"
    p2 = tmp_path / "p2"
    secret = tmp_path / "secret"
    for directory in (p1, p2, secret):
        directory.mkdir()
    (secret / "s.txt").write_text(SECRET_MAGIC + "\n")
    (tmp_path / "asked").write_text("asked\n")
    mycat = p1 / "mycat"
    shutil.copy2("/usr/bin/cat", mycat)
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                      f'path = "{secret}/**"\naction = "never"\n\n'
                      '[program."$CWD/*"]\ndefault = "permit"\n\n'
                      '[[program."$CWD/*".rule]]\ncalls = ["fsread"]\n'
                      f'path = "{tmp_path}/asked"\naction = "ask"\n')
    read = ["sh", "-c", f"{mycat} {secret}/s.txt || echo REFUSED"]
    alone = run_systrace(["-p", str(policy), "--", *read], cwd=p2)
    assert alone.stdout == "REFUSED\n", alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nprogram = "*/mycat"\n'
                                     'answer = "permit"\n\n[[answer]]\nanswer = "deny-now"\n'),
                          "--", "sh", "-c", "./mycat ../asked"], cwd=p1)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    assert f"remembered for {mycat}" in asked.stderr, asked.stderr
    again = run_systrace(["-p", str(policy), "--", *read], cwd=p2)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, policy.read_text())
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, policy.read_text())


def test_an_answer_does_not_permit_the_calls_a_persons_rule_before_the_ask_refuses(
        tmp_path: Path) -> None:
    """The person's main table: ``never unlink, unlinkat`` below ``$CWD``, then ``ask fswrite``
    below it.  The program (the command, under main) writes ``data``; the approver permits
    it, and the answer is remembered as ``permit fswrite $CWD/data`` -- before every rule of
    the table.  ``fswrite`` is every call that changes a file (unlink, rename, chmod,
    truncate...): on main the program's ``rm data``, which the person's first rule refuses,
    removed the file, in the same run and again in the next one."""
    work = tmp_path / "w"
    work.mkdir()
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n[[rule]]\ncalls = ["unlink", "unlinkat"]\n'
                      'path = "$CWD/**"\naction = "never"\n\n'
                      '[[rule]]\ncalls = ["fswrite"]\npath = "$CWD/**"\naction = "ask"\n')
    (work / "kept").write_text("kept\n")
    alone = run_systrace(["-p", str(policy), "--", "sh", "-c",
                          "rm -f kept || echo REFUSED"], cwd=work)
    assert (work / "kept").exists(), alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", "sh", "-c", "echo x > data; rm -f data || echo REFUSED"],
                         cwd=work)
    assert "remembered" in asked.stderr, asked.stderr
    assert (work / "data").exists(), (asked.stdout + asked.stderr, policy.read_text())
    again = run_systrace(["-p", str(policy), "--", "sh", "-c",
                          "rm -f data || echo REFUSED"], cwd=work)
    assert (work / "data").exists(), (again.stdout + again.stderr, policy.read_text())


def test_the_commands_own_file_is_not_replaced_by_a_base_name_file_at_its_exec(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The policy directory holds cat's full-path file (``_usr_bin_cat.toml``: reads below
    ``victim`` refused) and a base-name file ``cat.toml`` (permits all).  ``systrace -d DIR
    cat victim/secret.txt`` finds the full-path file first (``find_policy``; docs/policy.md:
    the base name is tried only "when that file does not exist").  But the run's directory
    leaves the command's own file out (``cli.run._policies``), so at cat's exec
    ``PolicySet.table_for`` found no full-path file and fell back to ``cat.toml``: on main
    the run switched to its table and printed the secret.  Without ``cat.toml`` the same run
    is refused."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    directory = tmp_path / "policies"
    directory.mkdir(mode=0o700)
    (directory / "_usr_bin_cat.toml").write_text(
        'version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread", "fswrite"]\n'
        'path = "$CWD/victim/**"\naction = "never"\n')
    command = ["-d", str(directory), "--", "cat", "victim/secret.txt"]
    alone = run_systrace(command, cwd=tmp_path, env=loop)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    assert alone.returncode != 0, alone.stdout + alone.stderr
    (directory / "cat.toml").write_text('version = 1\ndefault = "permit"\n')
    traced = run_systrace(command, cwd=tmp_path, env=loop)
    assert SECRET_MAGIC not in traced.stdout, traced.stdout + traced.stderr
    assert "Operation not permitted" in traced.stderr, traced.stdout + traced.stderr


def test_an_answer_covers_no_call_the_asking_rule_did_not_name(tmp_path: Path) -> None:
    """The person's main table: ``ask openat`` below ``$CWD``, *then* ``never unlink,
    unlinkat`` below it.  The approver permits the program's write of ``data``; the answer
    is remembered as ``permit fswrite $CWD/data`` (first in the table), though the asking
    rule named ``openat`` alone: on main the program's ``rm data`` -- which reached the
    person's ``never`` before the answer -- removed the file in the same run.  (Putting the
    answer just before the ``ask`` would not be enough here.)"""
    work = tmp_path / "w"
    work.mkdir()
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n[[rule]]\ncalls = ["openat"]\n'
                      'path = "$CWD/**"\naction = "ask"\n\n'
                      '[[rule]]\ncalls = ["unlink", "unlinkat"]\npath = "$CWD/**"\n'
                      'action = "never"\n')
    (work / "kept").write_text("kept\n")
    alone = run_systrace(["-p", str(policy), "--", "sh", "-c",
                          "rm -f kept || echo REFUSED"], cwd=work)
    assert (work / "kept").exists(), alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", "sh", "-c", "echo x > data; rm -f data || echo REFUSED"],
                         cwd=work)
    assert "remembered" in asked.stderr, asked.stderr
    assert (work / "data").exists(), (asked.stdout + asked.stderr, policy.read_text())


def test_a_merge_into_a_d_directorys_file_named_without_d_keeps_the_programs_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The person keeps the tool's policies in ``pol`` and runs ``systrace -d pol tool``; cat's
    own file there refuses reads below ``victim``.  ``systrace -A -o pol/<tool's file>
    --merge -- tool victim`` names the tool's file of that directory, but no ``-d``:
    ``cli.learn.next_run_policies`` takes the file for "-p FILE" (no directory) unless it is
    the *default* directory's, so the new cat table is a copy of the tool's file alone.  The
    next ``systrace -d pol tool victim`` looks it up before cat's own file: on main cat
    printed the secret (close 32's finding 1, for a directory named by ``-d``)."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    directory = tmp_path / "pol"
    directory.mkdir(mode=0o700)
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    alone = run_systrace(["-d", str(directory), "--", str(tool), "victim"], cwd=tmp_path,
                         env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(own), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    traced = run_systrace(["-d", str(directory), "--", str(tool), "victim"], cwd=tmp_path,
                          env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


def test_an_answer_saved_into_the_directorys_file_by_p_keeps_the_programs_own_file(
        tmp_path: Path) -> None:
    """The default policy directory holds the tool's file (it asks about ``asked``) and
    cat's own file (reads below ``victim`` refused); ``tool`` is ``exec cat "$@"``.  A run
    ``systrace -p <that directory's tool file> tool asked`` loads no directory
    (``cli.run._policies``: ``-p`` without ``-d``); cat asks, the approver permits it for the
    program, and the store saves ``[program."/usr/bin/cat"]`` -- a copy of the tool's file
    alone -- into the directory's file.  The next plain ``systrace tool victim/secret.txt``
    looks that table up before cat's own file: on main cat printed the secret (review 61's
    finding 1 and close 32's, on the answer path)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    (tmp_path / "asked").write_text("asked\n")
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\nexec cat "$@"\n')
    tool.chmod(0o755)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                   'path = "$CWD/asked"\naction = "ask"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {"XDG_CONFIG_HOME": str(config)}
    read = ["--", str(tool), "victim/secret.txt"]
    alone = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(own),
                          *approver_args(tmp_path, '[[answer]]\nprogram = "*/cat"\n'
                                     'answer = "permit"\n\n[[answer]]\nanswer = "deny-now"\n'),
                          "--", str(tool), "asked"], cwd=tmp_path, env=env)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    assert "remembered for /usr/bin/cat" in asked.stderr, asked.stderr
    again = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, own.read_text())
    assert "Operation not permitted" in again.stderr, again.stdout + again.stderr
