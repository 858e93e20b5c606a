"""Red team 53: an outsider at the resident tracer, the native client and the approver.

Found (class 6, the tracer's channel to the person): an ``exec:`` approver starts in the run's
working directory, where the traced program may write.  The documented scripted approver is
``python3 -m systrace_py.approver``, and Python's ``-m`` and ``-c`` put the working directory
first on ``sys.path``: a package the tree planted there under the name of the approver's own
package (``systrace_py``), or of a module the approver imports once it has started
(``argparse``), ran in the approver -- untraced, the user's, outside every policy -- at the
next run that asked through it (``tr_import.c`` plants; red team 3's fix scrubbed the tracer's
``sys.path``, not the approver's, which is another process).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import PYTHON, SECRET_MAGIC, Scene, attack, never, policy, scene_env

#: The installed command (the console script): ``python -m systrace_py`` would import a
#: planted ``systrace_py`` itself -- that is the tracer, not the approver (docs/security.md).
INSTALLED = Path(PYTHON).parent / "systrace-python"


@pytest.mark.skipif(not INSTALLED.exists(), reason="systrace-python is not installed beside "
                                                     "the interpreter")
@pytest.mark.parametrize(("package", "empty_entry"), [("systrace_py", False),
                                                     ("argparse", False), ("argparse", True)])
def test_an_approver_started_with_python_m_runs_no_code_the_tree_planted(build, tmp_path,
                                                                          package, empty_entry):
    """``tr_import PACKAGE`` (a run whose policy lets it write its cwd, as a build's does)
    plants PACKAGE in the cwd; the next run asks through ``--ask-via 'exec:python3 -m
    systrace_py.approver --rules FILE'`` (docs/asking.md's own command).  Before: the planted
    ``__init__.py`` ran in the approver and read the secret the policy refuses the tree
    (escaped, both plants).  Now an ``exec:`` approver that is Python run with ``-m`` or
    ``-c`` starts with ``-P`` after the interpreter (nothing of the cwd on its path): it
    imports the installed package and answers.  Control: that command, started natively in
    the planted cwd, runs the plant.  ``empty_entry``: PYTHONPATH starts with an empty entry
    (``PYTHONPATH=$PYTHONPATH:/x`` with nothing before), which is the cwd to Python even
    under -P: an approver's PATH and PYTHONPATH lose their relative entries (escaped with -P
    alone)."""
    program = build("escape/tr_import.c")
    c = Scene.make(tmp_path, "control")
    planted = attack(program, package, policy_text=None, scene=c, cwd=c.work)
    assert planted.verdict == "BLOCKED" and "made" in planted.stdout, planted
    subprocess.run([PYTHON, "-m", "systrace_py.approver", "--rules", "/dev/null"], cwd=c.work,
                   env=scene_env(c, ESC_TARGET=str(c.secret)), stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60, check=False)
    assert SECRET_MAGIC in c.marker.read_text(), "the plant did not run natively"

    s = Scene.make(tmp_path, "traced")
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "socket"\nanswer = "permit-now"\n')
    text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  'calls = ["socket"]\naction = "ask"')
    approver = f"exec:{PYTHON} -m systrace_py.approver --rules {answers}"
    env = {"ESC_TARGET": str(s.secret)}
    if empty_entry:
        env["PYTHONPATH"] = ":" + scene_env(s)["PYTHONPATH"]
    runs = []
    for planting in (package, "nothing"):  # the first run plants, the second asks again
        runs.append(attack(program, planting, policy_text=text, scene=s, cwd=s.work,
                           env=env, options=["--ask-via", approver],
                           tracer=[str(INSTALLED)]))
    assert (s.work / package / "__init__.py").exists(), runs[0]  # (the tree did plant it)
    assert not s.marker.exists(), s.marker.read_text()
    for run in runs:  # the approver is the installed one, and answers
        assert "socket: made" in run.stdout, run
