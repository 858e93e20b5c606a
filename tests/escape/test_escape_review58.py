"""Review 58: red team 84's merge (``systrace -A --merge``) attacked again -- a NEXT run that
does what the person's policy refused.  These tests FAIL on main (a6615010): each is an
attack that still escapes, or a run the merge makes refuse what the person's policy permitted.

* The learner's "any other address" rules and its permit after them end a learned table;
  learned rules of every kind are inserted before the first of them
  (``learn.merge_rules``).  A person who appends a rule to a learned file writes it after
  them -- at the end of the table -- and the next merge puts what was learned in front of it:
  ``learn_stash`` (ATTACK mode) reading ``victim/secret.txt`` itself, learned and merged,
  read the secret on the next run.
* A program's own file in the policy directory (``-d DIR``, or the default directory) is
  the table it runs under, from any caller -- after the command's file's tables
  (``PolicySet.table_for``).  A merge into the command's file gives the program a table
  there, which now shadows the program's own file; ``learn._kept_rules`` copies the
  refusals of the command's file only, so the program's own ``never`` is gone:
  ``merge_table`` runs ``/bin/cat victim/secret.txt``, cat's own file refuses it, and after
  the merge the next run's cat printed the secret.
* An ``inject`` rule with an ``errno`` makes the calls it picks fail without running; a new
  table starts with the person's ``never``/``ask``/``redirect`` rules but no ``inject``:
  the next run's cat read what main's inject rule made fail.

Each: the native control ESCAPED, the person's policy alone BLOCKED, the learning run merged,
the next run -- ESCAPED on main, both loops."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from escape_lib import (
    NEVER_VICTIM,
    SECRET_MAGIC,
    victim_read_natively,
)

from conftest import run_systrace
from systrace_py.policy.files import policy_filename

#: the learner's own end of a table whose programs sent on sockets without an address
#: (learn._table_rules: its comments are how the merge tells them, red team 84) -- what
#: ``systrace -A`` writes there, byte for byte but the sendto call list -- followed by the
#: rule a person appended to the learned file afterwards
_LEARNED_THEN_APPENDED = """version = 1
default = "permit"

[[rule]]
comment = "learned: any other IP address"
calls = ["sendto"]
address = ["0.0.0.0/0", "::/0"]
action = "never"

[[rule]]
comment = "learned: any other unix socket"
calls = ["sendto"]
unix = ["/**", "@*", ""]
action = "never"

[[rule]]
comment = "learned: connected sockets (no address) and netlink"
calls = ["sendto"]
action = "permit"

[[rule]]
comment = "mine, added after learning"
calls = ["fsread", "fswrite"]
path = "$CWD/victim/**"
action = "never"
"""


def _victim(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")


def test_a_persons_rule_after_the_learners_address_rules_keeps_deciding(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The person's ``never`` of ``victim`` stands at the end of a learned main table, after
    the learner's "any other address" rules; a learning run merged into it reads
    ``victim/secret.txt`` itself.  On main the learned read went before the learner's address
    rules -- in front of the person's rule -- and the next run read the secret."""
    program = build("escape/learn_stash.c")
    _victim(tmp_path)
    env = {"ATTACK": "1"}
    control = subprocess.run([str(program), "victim"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env=env)
    assert control.stdout.startswith("ESCAPED"), control.stdout
    policy = tmp_path / "p.toml"
    policy.write_text(_LEARNED_THEN_APPENDED)
    alone = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                         env={**env, **loop})
    assert alone.stdout.startswith("BLOCKED: open victim/secret.txt: EPERM"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", str(program), "victim"],
                            cwd=tmp_path, env={**env, **loop})
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    traced = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                          env={**env, **loop})
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, policy.read_text())
    assert traced.stdout.startswith("BLOCKED: open victim/secret.txt: EPERM"), \
        traced.stdout + traced.stderr


def test_a_merge_into_the_commands_file_keeps_the_programs_own_files_refusals(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A policy directory: the tool's file permits; cat's own file refuses reads below
    ``victim``.  ``tool victim`` runs ``/bin/cat victim/secret.txt``: cat takes its own file,
    BLOCKED.  ``systrace -A -d DIR --merge`` writes the tool's file a
    ``[program."/usr/bin/cat"]`` table -- the command's file is looked at first -- made of the
    learned read and the refusals of the tool's file alone: on main the next run's cat
    printed the secret."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    directory = tmp_path / "policies"
    directory.mkdir(mode=0o700)
    (directory / policy_filename(str(tool))).write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    alone = run_systrace(["-d", str(directory), "--", str(tool), "victim"], cwd=tmp_path,
                         env=loop)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-d", str(directory), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=loop)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    traced = run_systrace(["-d", str(directory), "--", str(tool), "victim"], cwd=tmp_path,
                          env=loop)
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


_INJECTED = """version = 1
default = "permit"

[[rule]]
comment = "reads below victim fail"
calls = ["fsread"]
path = "$CWD/victim/**"
action = "inject"
errno = "EACCES"
"""


def test_a_table_a_merge_makes_keeps_the_persons_injected_errors(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Main's inject rule makes every read below ``victim`` fail (EACCES: the call does not
    run).  A learning run merged into it runs ``cat victim/secret.txt``; the new
    ``[program."/usr/bin/cat"]`` starts with the person's never/ask/redirect rules -- not
    the inject rule -- and on main the next run's cat printed the secret."""
    program = build("escape/merge_table.c")
    victim_read_natively(program, tmp_path)
    policy = tmp_path / "p.toml"
    policy.write_text(_INJECTED)
    alone = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                         env=loop)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", str(program), "victim"],
                            cwd=tmp_path, env=loop)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    traced = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                          env=loop)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, policy.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


def test_a_table_an_answer_makes_keeps_the_refusals_of_the_main_tables_default(
        tmp_path: Path) -> None:
    """Main refuses by default (the shape ``-A`` learns: permits by path, ``default =
    "never"``); the tool's table permits by default and asks about ``asked``.  The tool runs
    ``cat asked`` (cat has no table: it runs under the tool's); the approver permits, for
    the program -- and the store made ``[program."/usr/bin/cat"]`` of main's refusing
    *rules* (none) and a copy of the tool's table, ``default = "permit"`` with it.  Every
    later cat, from main too, takes it: on main the shell's own ``cat victim/secret.txt``
    printed the secret, which main's default refused before the answer.  (Loop-blind: a run
    with an approver is the Python loop's alone.)"""
    import shlex
    import shutil

    from conftest import PYTHON, learned_policy

    _victim(tmp_path)
    (tmp_path / "asked").write_text("asked\n")
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    shutil.copy(os.path.realpath(shutil.which("sh") or "/bin/sh"), tool)
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/asked"\nanswer = "permit"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    policy = tmp_path / "p.toml"
    tool_table = (f'[program."{tool}"]\ndefault = "permit"\n\n'
                  f'[[program."{tool}".rule]]\ncalls = ["fsread"]\npath = "{tmp_path}/asked"\n'
                  f'action = "ask"\n\n')
    policy.write_text(learned_policy(tmp_path / "bin", "/opt/nowhere/none", tables=tool_table))
    reach = "cat victim/secret.txt || echo BLOCKED: cat refused"
    alone = run_systrace(["-p", str(policy), "--", "sh", "-c", reach], cwd=tmp_path)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    assert "BLOCKED: cat refused" in alone.stdout, alone.stdout + alone.stderr
    script = f"bin/tool -c 'cat asked'; {reach}"
    asked = run_systrace(["-p", str(policy), "--ask-via", "exec:" + shlex.join(approver),
                          "--", "sh", "-c", script], cwd=tmp_path)
    assert asked.stdout.startswith("asked\n"), asked.stdout + asked.stderr
    assert "remembered for /usr/bin/cat" in asked.stderr, asked.stderr
    assert SECRET_MAGIC not in asked.stdout, (asked.stdout + asked.stderr, policy.read_text())
    again = run_systrace(["-p", str(policy), "--", "sh", "-c", reach], cwd=tmp_path)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, policy.read_text())


_EXCEPTION_THEN_REFUSAL = """version = 1
default = "permit"

[[rule]]
comment = "this one file, of the directory refused below"
calls = ["fsread"]
path = "$CWD/victim/public.txt"
action = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "$CWD/victim/**"
action = "never"
"""


def test_a_table_a_merge_makes_keeps_the_persons_exception_to_a_refusal(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Parity (a false refusal the merge now makes): the person's main table permits
    ``victim/public.txt`` and then refuses the rest of ``victim``.  ``sh -c 'cat
    victim/public.txt'`` reads it, under main.  Learned and merged, cat's new table starts
    with the ``never`` alone -- the permit in front of it is not carried -- and the learned
    permit of ``public.txt`` after it never decides: on main the next run's cat is refused
    the file the person's policy permitted it, and the learning run needed."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "public.txt").write_text("public\n")
    policy = tmp_path / "p.toml"
    policy.write_text(_EXCEPTION_THEN_REFUSAL)
    command = ["sh", "-c", "cat victim/public.txt"]
    alone = run_systrace(["-p", str(policy), "--", *command], cwd=tmp_path, env=loop)
    assert alone.stdout == "public\n", alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", *command],
                            cwd=tmp_path, env=loop)
    assert learning.stdout == "public\n", learning.stdout + learning.stderr
    again = run_systrace(["-p", str(policy), "--", *command], cwd=tmp_path, env=loop)
    assert again.stdout == "public\n", (again.stdout + again.stderr, policy.read_text())


def test_an_answer_for_a_program_a_glob_table_claims_reaches_that_program_alone(
        tmp_path: Path) -> None:
    """``[program."/usr/bin/*"]`` asks about ``asked``; the approver permits cat, for the
    program ("remembered for /usr/bin/cat"), and denies every other ask.  On main the rule
    went into the glob table -- every program it matches took it: ``head asked`` in the same
    run read the file without being asked (the approver would have refused it), and so did
    head and tail in the next run from the saved file.  (Loop-blind: a run with an approver
    is the Python loop's alone.)"""
    import shlex

    from conftest import PYTHON

    (tmp_path / "asked").write_text("asked\n")
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nprogram = "*/cat"\nanswer = "permit"\n\n'
                       '[[answer]]\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n[program."/usr/bin/*"]\ndefault = "permit"\n\n'
                      '[[program."/usr/bin/*".rule]]\ncalls = ["fsread"]\n'
                      f'path = "{tmp_path}/asked"\naction = "ask"\n')
    asked = run_systrace(["-p", str(policy), "--ask-via", "exec:" + shlex.join(approver),
                          "--", "sh", "-c", "cat asked; head -1 asked || echo head refused"],
                         cwd=tmp_path)
    assert "remembered for /usr/bin/cat" in asked.stderr, asked.stderr
    assert asked.stdout == "asked\nhead refused\n", (asked.stdout + asked.stderr,
                                                      policy.read_text())
    again = run_systrace(["-p", str(policy), "--", "sh", "-c",
                          "head -1 asked || echo head refused"], cwd=tmp_path)
    assert again.stdout == "head refused\n", (again.stdout + again.stderr, policy.read_text())
