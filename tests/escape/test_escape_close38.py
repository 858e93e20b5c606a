"""Close 38: review 65's findings closed -- the shapes its tests did not run.  These tests
FAIL on main (01d6e5c4).

* A ``for process`` answer (``state.private``) was put before every rule of the process's
  table, as a remembered one was: its alias (``fswrite``) permitted, for the process and the
  children it forks, the unlink a person's ``never`` before the ``ask`` refuses.
* A merge that gives a program a table of its own (``-A -o FILE --merge``), when a glob of
  the file spelled with ``$CWD`` claims it, made the table from that glob alone
  (``learn._candidates``): the same shape as review 65's finding 3 on the merge side.

(Loop-blind where an approver answers: a run with an approver is the Python loop's alone.)"""

from __future__ import annotations

from pathlib import Path

from escape_lib import approver_args

from conftest import run_systrace


def test_an_answer_for_the_process_does_not_permit_what_a_persons_rule_before_the_ask_refuses(
        tmp_path: Path) -> None:
    """The person's main table: ``never unlink, unlinkat`` below ``$CWD``, then ``ask
    fswrite`` below it.  The shell's write of ``data`` is permitted *for the process*: on
    main the private rule (``permit fswrite $CWD/data``) stood before every rule of the
    table, and the ``rm data`` the shell then forked -- which the person's first rule
    refuses -- removed the file."""
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
                          *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\n'
                                     'for = "process"\n'),
                          "--", "sh", "-c", "echo x > data; rm -f data || echo REFUSED"],
                         cwd=work)
    assert (work / "data").exists(), (asked.stdout + asked.stderr, policy.read_text())
    assert asked.stdout == "REFUSED\n", asked.stdout + asked.stderr
