"""Review 69: close 38 (where a remembered answer goes, what it covers) and close 39 (a
policy directory's file told in one place) attacked again.  These tests FAIL on main
(92e19fe5): four are attacks that still escape, one a false refusal close 38 brought.

* An answer is narrowed by the asking rule's calls alone: its default scope keeps no
  ``argv`` of the ``ask`` and spells the path with ``$CWD`` where the ``ask``'s glob is
  absolute -- it stands just before the ``ask``, in front of the ``never`` after it.
* ``files.directory_file`` infers a policy directory from any ``_...toml`` neighbour,
  another user's in a shared sticky directory included, and ``learn.refusals`` carries its
  ``inject`` rules (``retval = 0`` of setuid: a faked privilege drop) into the person's file.
* ``--save-answers FILE2``: a run table FILE2 lacks is written into it as a copy of the
  run's, without FILE2's refusals.
* A second program answered ``for program`` gets a table with the first program's ``ask``
  carried as a ``never`` in front of its own answer: refused (passes before close 38).

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

from pathlib import Path

from escape_lib import approver_args

from conftest import PYTHON, run_systrace


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
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", *append], cwd=proj, env=env)
    assert asked.stdout == "WROTE\n", asked.stdout + asked.stderr
    assert "remembered" in asked.stderr and "saved" in asked.stderr, asked.stderr
    again = run_systrace(["-p", str(policy), "--", *append], cwd=home, env=env)
    assert not (home / ".bashrc").exists(), (again.stdout + again.stderr, policy.read_text())
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, policy.read_text())


def test_another_users_file_beside_a_learned_file_in_a_shared_directory_is_not_carried(
        tmp_path: Path) -> None:
    """Close 39 infers a ``-p``/``-o`` file's directory as a policy directory when any
    regular ``_...toml`` stands beside it (``files.directory_file``), and a table new in
    the file then carries the refusals -- ``inject`` rules included (``learn.refusals``) --
    of every file there.  In a shared sticky directory (``/tmp``-like), another user
    (``nobody``) drops ``_evil.toml``: ``inject retval = 0`` of ``setuid``.  Root's ``-A -o
    DIR/p.toml --merge`` writes that rule into the new python table of root's own file, and
    the next ``-p DIR/p.toml`` run fakes the program's privilege drop: it goes on as root
    believing it is ``nobody``."""
    import os
    import pwd

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    policy = shared / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n')
    evil = shared / "_evil.toml"
    evil.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\n'
                    'calls = ["setuid", "setresuid", "setreuid"]\naction = "inject"\n'
                    'retval = 0\n')
    nobody = pwd.getpwnam("nobody")
    os.chown(evil, nobody.pw_uid, nobody.pw_gid)
    drop = ["sh", "-c", f"exec {PYTHON} -c 'import os; os.setuid(65534); "
            "print(\"uid\", os.getuid())'"]
    learned = run_systrace(["-A", "-o", str(policy), "--merge", "--", *drop], cwd=tmp_path)
    assert learned.stdout == "uid 65534\n", learned.stdout + learned.stderr
    again = run_systrace(["-p", str(policy), "--", *drop], cwd=tmp_path)
    assert again.stdout == "uid 65534\n", (again.stdout + again.stderr, policy.read_text())
    assert "retval" not in policy.read_text(), policy.read_text()


def test_answers_saved_into_another_file_do_not_copy_a_run_table_it_lacks(
        tmp_path: Path) -> None:
    """``--save-answers FILE2``: an answer added to a table the run's file already had
    (``[program."/usr/bin/cat"]``, which asks about ``asked``) but FILE2 lacks is written
    into FILE2 as a copy of the run's table (``PolicyStore._merge``: a key not in the file
    is written "as the run has it"), not made from FILE2's tables.  FILE2's main refuses
    reads below ``victim``; the next ``-p FILE2`` run gives cat the copy, and cat read the
    secret that FILE2 refused it before."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "s.txt").write_text("SECRET\n")
    (tmp_path / "asked").write_text("asked\n")
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n\n[program."/usr/bin/cat"]\n'
                      'default = "permit"\n\n[[program."/usr/bin/cat".rule]]\n'
                      f'calls = ["fsread"]\npath = "{tmp_path}/asked"\naction = "ask"\n')
    other = tmp_path / "g.toml"
    other.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                     f'path = "{victim}/**"\naction = "never"\n')
    read = ["sh", "-c", "cat victim/s.txt || echo REFUSED"]
    alone = run_systrace(["-p", str(other), "--", *read], cwd=tmp_path)
    assert alone.stdout == "REFUSED\n", alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy), "--save-answers", str(other),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'
                                     'for = "program"\n'),
                          "--", "sh", "-c", "cat asked"], cwd=tmp_path)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    again = run_systrace(["-p", str(other), "--", *read], cwd=tmp_path)
    assert "SECRET" not in again.stdout, (again.stdout + again.stderr, other.read_text())
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, other.read_text())


def test_an_answer_to_an_ask_with_argv_does_not_permit_other_arguments(
        tmp_path: Path) -> None:
    """The person's main table asks about ``./tool safe`` (an ``argv`` condition), then
    refuses every other exec of ``./tool``.  The approver answers ``permit`` with the
    default scope: the rule remembered keeps the path and the asking rule's calls but not
    its ``argv``, and stands just before the ``ask`` -- in front of the ``never``.  The
    next ``./tool dangerous``, which the ``ask`` does not pick and the ``never`` refuses,
    runs (same run and next run).  The person typed no scope: the answer is wider than
    what was asked by a condition the question named."""
    import shutil

    shutil.copy2("/usr/bin/echo", tmp_path / "tool")
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n\n'
                      '[[rule]]\ncalls = ["exec"]\npath = "$CWD/tool"\n'
                      'argv = ["*", "safe"]\naction = "ask"\n\n'
                      '[[rule]]\ncalls = ["exec"]\npath = "$CWD/tool"\naction = "never"\n')
    run = ["sh", "-c", "./tool dangerous || echo REFUSED"]
    alone = run_systrace(["-p", str(policy), "--", *run], cwd=tmp_path)
    assert alone.stdout == "REFUSED\n", alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'),
                          "--", "sh", "-c", "./tool safe"], cwd=tmp_path)
    assert asked.stdout == "safe\n", asked.stdout + asked.stderr
    again = run_systrace(["-p", str(policy), "--", *run], cwd=tmp_path)
    assert again.stdout == "REFUSED\n", (again.stdout + again.stderr, policy.read_text())


def test_a_second_program_answered_always_runs(tmp_path: Path) -> None:
    """No false refusal: an ordinary session answering ``permit ... for program``.  Main
    asks about reads below ``$CWD``.  ``cat a`` is answered: a new cat table, a copy of
    main with the answer before its ``ask``.  ``head b`` is answered next: head's new table
    carries the refusals of every table -- cat's ``ask`` turned into a ``never`` in front
    (``learn.refusals``) -- and the answer goes before head's own copy of the ``ask``
    (``PolicyStore.place``, ``model.answer_place``), after that ``never``: it decides
    nothing.  ``head b`` was refused in the answering run and in every next one."""
    (tmp_path / "a").write_text("A\n")
    (tmp_path / "b").write_text("B\n")
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                      'path = "$CWD/**"\naction = "ask"\n')
    run = ["sh", "-c", "cat a; head b"]
    asked = run_systrace(["-p", str(policy),
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'
                                     'for = "program"\n'),
                          "--", *run], cwd=tmp_path)
    assert asked.stdout == "A\nB\n", (asked.stdout + asked.stderr, policy.read_text())
    again = run_systrace(["-p", str(policy), "--", *run], cwd=tmp_path)
    assert again.stdout == "A\nB\n", (again.stdout + again.stderr, policy.read_text())
