"""Review 74: close 46's "inside" proofs read as an attacker.  FAILS on main (57223f88).

An answer's argv is literal words (``ui.offers.build_rule``: ``escape_argv`` of each, an
absolute path as the program wrote it).  ``model._argv_narrowed`` calls it inside the
``ask``'s argv when the ``ask``'s globs match those words *in this run* -- but an ``ask``
element with ``$CWD`` is the working directory the policy is loaded in, another in the
next run, while the answer's words stay.  The answer is saved just before the ``ask`` and
in a run from another directory stands before it for a command that ``ask`` no longer
picks: in front of the ``never`` after it.  ``_path_covered`` refuses exactly this for
paths (the same leading expansion only: an absolute answer under a ``$CWD/**`` ask is not
covered, close 43) -- argv is the one condition that does not."""

from __future__ import annotations

from systrace_py.policy.argv import ArgvCondition
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action, Rule, answer_conditions


def test_a_literal_argv_answer_is_not_inside_an_ask_whose_element_is_cwd() -> None:
    """``ask exec /usr/bin/rm argv = ["rm", "-rf", "$CWD/build"]`` (then ``never`` of rm),
    loaded in /w/a; the approver permits ``rm -rf /w/a/build`` (the command's scope).  The
    saved answer names /w/a/build for good; a next run loaded in /w/b asks about
    /w/b/build and refuses every other rm -- yet the answer, standing before the ``ask``,
    permits ``rm -rf /w/a/build`` from there.  Not covered (the end of the table), as an
    absolute path answer under a ``$CWD`` path ``ask`` is."""
    path = PathGlob("/usr/bin/rm", {})
    asking = Rule(("exec",), Action.ASK, path=path,
                  argv=ArgvCondition(["rm", "-rf", "$CWD/build"], "/w/a"))
    answer = Rule(("exec",), Action.PERMIT, path=path,
                  argv=ArgvCondition(["rm", "-rf", "/w/a/build"]))
    next_run = ArgvCondition(["rm", "-rf", "$CWD/build"], "/w/b")
    assert not next_run.matches(("rm", "-rf", "/w/a/build"))  # (the ask no longer picks it)
    assert answer_conditions(answer, asking)[1] is False
