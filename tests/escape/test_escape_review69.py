"""Review 69: close 38 (where a remembered answer goes, what it covers) and close 39 (a
policy directory's file told in one place) attacked again.  These tests FAIL on main
(92e19fe5): each is an attack that still escapes.

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

import shlex
from pathlib import Path

from conftest import PYTHON, run_systrace


def _approver(tmp_path: Path, rules: str) -> list[str]:
    answers = tmp_path / "answers.toml"
    answers.write_text(rules)
    return ["--ask-via", "exec:" + shlex.join(
        [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])]


def test_a_file_scoped_answer_spelled_with_cwd_does_not_overtake_a_refusal_after_its_ask(
        tmp_path: Path) -> None:
    """Review 65's finding 1 with the person's ``never`` *after* the ``ask``: main asks about
    writes below ``proj`` (an absolute glob), then refuses ``~/.bashrc``.  In ``proj`` the
    program appends to ``./.bashrc``; the approver answers ``permit`` with the default,
    narrowest scope (``file``), saved as ``permit fswrite $CWD/.bashrc`` just before the
    ``ask``.  The next run from the home directory appends to ``~/.bashrc``: the ``ask``
    does not pick that file (it is not below ``proj``), the answer's spelling does, and
    it stands in front of the person's ``never``.  The person typed no scope: the default
    one is wider than the ``ask``'s path."""
    home = tmp_path / "home"
    proj = tmp_path / "proj"
    home.mkdir()
    proj.mkdir()
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n\n'
                      f'[[rule]]\ncalls = ["fswrite"]\npath = "{proj}/**"\n'
                      'action = "ask"\n\n'
                      '[[rule]]\ncalls = ["fswrite"]\npath = "~/.bashrc"\naction = "never"\n')
    env = {"HOME": str(home)}
    append = ["sh", "-c", "echo planted >> .bashrc && echo WROTE || echo REFUSED"]
    alone = run_systrace(["-p", str(policy), "--", *append], cwd=home, env=env)
    assert alone.stdout == "REFUSED\n", alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *_approver(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", *append], cwd=proj, env=env)
    assert asked.stdout == "WROTE\n", asked.stdout + asked.stderr
    assert "remembered" in asked.stderr and "saved" in asked.stderr, asked.stderr
    again = run_systrace(["-p", str(policy), "--", *append], cwd=home, env=env)
    assert not (home / ".bashrc").exists(), (again.stdout + again.stderr, policy.read_text())
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, policy.read_text())
