"""Red team 84: learning merged into the user's policy (``systrace -A -o P --merge``).

``--merge`` adds each learned table's rules to the table of the same name, after the user's
own, so that "a rule you wrote keeps deciding" (docs/learning.md, "Merging").  Two ways the
learned rules came out in front of the user's anyway:

* a program the learning run executed gets a table of its own; a table the user's policy
  lacked was made of the learned rules alone.  Under the user's policy that program ran in
  its caller's table, where the user's ``never`` decided; in the merged one it takes its new
  table, which permits what it did unconfined while learning (``merge_table.c``: ``cat`` of
  a file below a directory the user's main table refuses).  Now a table a merge makes starts
  with the user's rules that do more than permit (``learn._kept_rules``);
* the learner's "any other address" refusals, and its permit after them, were told by their
  shape alone, and learned rules go before them; a person's "no network" rule (``never
  net-connect`` of ``0.0.0.0/0`` and ``::/0``) has the first shape, and the learned connect
  went before it (``merge_connect.c``); a person's ``permit net-connect`` has the second, and
  every learned rule went before it -- and before the person's ``never`` rules after it
  (``learn_stash.c`` reading the secret itself).  Now only the learner's own (by their
  comments) are passed (``learn._is_barrier``, ``learn._is_catch_all``).

The first two: the native control (ESCAPED), the user's policy alone (BLOCKED), the learning
run merged into it, and the next run on the merged file -- ESCAPED on main (both loops),
BLOCKED now, and the summary names what the user's rules still refuse.

The same class without learning: a ``for program`` answer (the default reach) for a program
with no table makes one, a copy of the table it ran under -- and every later exec of it,
from any table, takes that copy: a caller whose own ``never`` held the program lost it, in
the run and in the saved file.  Now such a table starts with the other tables' refusals."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from escape_lib import (
    SECRET_MAGIC,
    TcpListener,
    listening,
    victim_read_natively,
)

from conftest import PYTHON, run_systrace

_NO_READS_BELOW = """version = 1
default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "$CWD/victim/**"
action = "never"
"""

_NO_NETWORK = """version = 1
default = "permit"

[[rule]]
comment = "no network"
calls = ["net-connect"]
address = ["0.0.0.0/0", "::/0"]
action = "never"
"""

_STILL_REFUSED = "are still not permitted by rules that were already in the file"


def test_a_program_table_made_by_a_merge_keeps_the_users_refusals(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The user's policy refuses reads below ``victim``; a learning run merged into it runs
    ``cat victim/secret.txt``.  On main the merged file's new ``[program."/usr/bin/cat"]``
    held the learned read and no rule of the user's, and the next run's cat printed the
    secret (ESCAPED, both loops); now the table starts with the user's ``never``."""
    program = build("escape/merge_table.c")
    victim_read_natively(program, tmp_path)
    policy = tmp_path / "p.toml"
    policy.write_text(_NO_READS_BELOW)
    alone = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                         env=loop)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", str(program), "victim"],
                            cwd=tmp_path, env=loop)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr  # unconfined
    traced = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                          env=loop)
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr
    assert "Operation not permitted" in traced.stderr, traced.stderr
    assert _STILL_REFUSED in learning.stderr, learning.stderr
    text = policy.read_text()
    cat = text.index('[program."/usr/bin/cat"]')
    assert text.index('path = "$CWD/victim/**"\naction = "never"', cat) < \
        text.index('path = "$CWD/victim/secret.txt"', cat), text


def test_a_merge_keeps_the_users_own_rule_refusing_every_address(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The user's policy refuses connects to every address (the shape of the learner's "any
    other address" rule); a learning run merged into it connects to a listener outside the
    tree.  On main the learned connect went before the user's rule and the next run
    connected (ESCAPED, both loops); now it goes after, and is refused."""
    program = build("escape/merge_connect.c")
    with listening(TcpListener()) as listener:
        assert isinstance(listener, TcpListener)
        port = str(listener.port)
        control = subprocess.run([str(program), port], capture_output=True, text=True,
                                 timeout=30, cwd=tmp_path)
        assert control.stdout.startswith("ESCAPED"), control.stdout
        policy = tmp_path / "p.toml"
        policy.write_text(_NO_NETWORK)
        alone = run_systrace(["-p", str(policy), "--", str(program), port], cwd=tmp_path,
                             env=loop)
        assert alone.stdout.startswith(f"BLOCKED: connect 127.0.0.1:{port}: EPERM"), \
            alone.stdout + alone.stderr
        learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", str(program), port],
                                cwd=tmp_path, env=loop)
        assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
        traced = run_systrace(["-p", str(policy), "--", str(program), port], cwd=tmp_path,
                              env=loop)
        assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
        assert traced.stdout.startswith(f"BLOCKED: connect 127.0.0.1:{port}: EPERM"), \
            traced.stdout + traced.stderr
        assert _STILL_REFUSED in learning.stderr, learning.stderr
        text = policy.read_text()
        assert text.index('comment = "no network"') < text.index('address = "127.0.0.1"'), text


_NETWORK_THEN_NO_READS_BELOW = """version = 1
default = "permit"

[[rule]]
calls = ["net-connect"]
action = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "$CWD/victim/**"
action = "never"
"""


def test_a_merge_puts_nothing_before_the_users_own_permit_of_every_connect(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The user's policy permits every connect first, then refuses reads below ``victim``;
    a learning run merged into it reads ``victim/secret.txt`` itself (``learn_stash``, its
    ATTACK mode).  On main the user's unconditional permit was taken for the learner's own
    "connected sockets" permit, every learned rule was put before it -- and so before the
    user's ``never`` -- and the next run read the secret (ESCAPED, both loops)."""
    program = build("escape/learn_stash.c")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    env = {"ATTACK": "1"}
    control = subprocess.run([str(program), "victim"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env=env)
    assert control.stdout.startswith("ESCAPED"), control.stdout
    policy = tmp_path / "p.toml"
    policy.write_text(_NETWORK_THEN_NO_READS_BELOW)
    alone = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                         env={**env, **loop})
    assert alone.stdout.startswith("BLOCKED: open victim/secret.txt: EPERM"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(policy), "--merge", "--", str(program), "victim"],
                            cwd=tmp_path, env={**env, **loop})
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    traced = run_systrace(["-p", str(policy), "--", str(program), "victim"], cwd=tmp_path,
                          env={**env, **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: open victim/secret.txt: EPERM"), \
        traced.stdout + traced.stderr
    assert _STILL_REFUSED in learning.stderr, learning.stderr
    text = policy.read_text()
    assert text.index('calls = ["net-connect"]\naction = "permit"') < \
        text.index('path = "$CWD/victim/**"') < text.index('path = "$CWD/victim/secret.txt"'), \
        text


def test_a_table_an_answer_makes_keeps_the_refusals_of_the_programs_other_callers(
        build, tmp_path: Path) -> None:
    """Main permits, and asks about ``asked``; the tool's table refuses reads below
    ``victim``.  ``cat asked`` under main asks; the approver permits (for program), which
    made ``[program."/usr/bin/cat"]`` a copy of main; then the tool ran ``cat
    victim/secret.txt`` -- in the new table, not the tool's: on main ESCAPED, in that run
    and in the next from the saved file.  Now the new table holds the tool's ``never`` first.
    (Loop-blind: a run with an approver is the Python loop's alone.)"""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    shutil.copy(program, tool)
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "secret.txt").write_text(SECRET_MAGIC + "\n")
    (tmp_path / "asked").write_text("asked\n")
    control = subprocess.run([str(tool), "victim"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path)
    assert control.stdout.startswith("ESCAPED"), control.stdout
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\npath = "*/asked"\nanswer = "permit"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    policy = tmp_path / "p.toml"
    policy.write_text(f'default = "permit"\n\n'
                      f'[[rule]]\ncalls = ["fsread"]\npath = "{tmp_path}/asked"\n'
                      f'action = "ask"\n\n'
                      f'[program."{tool}"]\ndefault = "permit"\n\n'
                      f'[[program."{tool}".rule]]\ncalls = ["fsread"]\n'
                      f'path = "{tmp_path}/victim/**"\naction = "never"\n')
    script = "cat asked; ./tool victim"
    alone = run_systrace(["-p", str(policy), "--", "sh", "-c", "./tool victim"], cwd=tmp_path)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy), "--ask-via", "exec:" + shlex.join(approver),
                          "--", "sh", "-c", script], cwd=tmp_path)
    assert asked.stdout.startswith("asked\n"), asked.stdout + asked.stderr
    assert "remembered for /usr/bin/cat" in asked.stderr, asked.stderr
    assert "ESCAPED" not in asked.stdout, asked.stdout + asked.stderr
    assert "BLOCKED: /bin/cat did not print" in asked.stdout, asked.stdout + asked.stderr
    assert "saved 1 remembered answer" in asked.stderr, asked.stderr
    again = run_systrace(["-p", str(policy), "--", "sh", "-c", script], cwd=tmp_path)
    assert "ESCAPED" not in again.stdout, again.stdout + again.stderr
    assert again.stdout.startswith("asked\nBLOCKED: /bin/cat did not print"), \
        again.stdout + again.stderr
