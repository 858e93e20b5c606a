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

import os
import subprocess
import sys
from pathlib import Path

import pytest
from escape_lib import PYTHON, SECRET_MAGIC, Scene, attack, never, policy, scene_env

#: The installed command (the console script): ``python -m systrace_py`` would import a
#: planted ``systrace_py`` itself -- that is the tracer, not the approver (docs/security.md).
INSTALLED = Path(PYTHON).parent / "systrace-python"


@pytest.mark.skipif(not INSTALLED.exists(), reason="systrace-python is not installed beside "
                                                     "the interpreter")
@pytest.mark.parametrize(("package", "empty_entry", "wrapper"),
                         [("systrace_py", False, ()), ("argparse", False, ()),
                          ("argparse", True, ()), ("argparse", False, ("/usr/bin/env",)),
                          ("systrace_py", False, ("/usr/bin/env", "-u", "NOTHING", "A=1"))])
def test_an_approver_started_with_python_m_runs_no_code_the_tree_planted(build, tmp_path,
                                                                          package, empty_entry,
                                                                          wrapper):
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
    alone).  ``wrapper``: the Python is ``env``'s command (``exec:env python3 -m ...``, env's
    options and assignments before it): -P goes after it (review 35: escaped on main, env
    was no Python and nothing was added)."""
    program = build("escape/tr_import.c")
    c = Scene.make(tmp_path, "control")
    planted = attack(program, package, policy_text=None, scene=c, cwd=c.work)
    assert planted.verdict == "BLOCKED" and "made" in planted.stdout, planted
    subprocess.run([*wrapper, PYTHON, "-m", "systrace_py.approver", "--rules", "/dev/null"],
                   cwd=c.work,
                   env=scene_env(c, ESC_TARGET=str(c.secret)), stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60, check=False)
    assert SECRET_MAGIC in c.marker.read_text(), "the plant did not run natively"

    s = Scene.make(tmp_path, "traced")
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "socket"\nanswer = "permit-now"\n')
    text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  'calls = ["socket"]\naction = "ask"')
    approver = f"exec:{' '.join([*wrapper, PYTHON])} -m systrace_py.approver --rules {answers}"
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


def _pycwd_policy(s: Scene, interpreter: str, options: str = "") -> str:
    """The main table refuses the secret and lets the interpreter run only as ``python
    [OPTIONS] -m json.tool``; the interpreter's own table permits everything."""
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  f'calls = ["exec"]\npath = "{interpreter}"\n'
                  f'argv = ["*", {options}"-m", "json.tool", "**"]\naction = "permit"',
                  f'calls = ["exec"]\npath = "{interpreter}"\naction = "never"') + \
        f'\n[program."{interpreter}"]\ndefault = "permit"\n'


def test_a_python_entering_its_table_imports_nothing_from_a_cwd_the_caller_wrote(build, tmp_path,
                                                                                 loop):
    """``exec_pycwd.c``: the caller may run the interpreter only as ``python -m json.tool``,
    whose table (the interpreter's own) may read the secret; the main table refuses it.  It
    plants ``json/__init__.py`` in its cwd (a directory it may write) and runs ``-m
    json.tool``: Python puts the cwd first on sys.path and ran the planted package under the
    interpreter's table -- the secret was read (both loops; a strict xfail until pycwd37).
    Now an exec into another table of a Python that puts its working directory first on
    sys.path (``-m``, ``-c``, stdin; environment.searches_working_directory) is refused
    (EPERM, reason ``python working directory``) where a traced program may write that
    directory (as root: every one), unless the table grants it (``CWD=...``).  Control:
    natively the planted package runs.  (A grant runs the exec, and what the directory
    holds: tests/learn/test_next_run.py's learned ``CWD=$CWD/build``.)"""
    program = build("escape/exec_pycwd.c")
    interpreter = os.path.realpath(sys.executable)
    c = Scene.make(tmp_path, "control")
    control = attack(program, interpreter, "json", policy_text=None, scene=c, cwd=c.work,
                     env={"ESC_TARGET": str(c.secret)})
    assert control.verdict == "ESCAPED", control
    s = Scene.make(tmp_path, "traced")
    traced = attack(program, interpreter, "json", policy_text=_pycwd_policy(s, interpreter),
                    scene=s, cwd=s.work, env={"ESC_TARGET": str(s.secret), **loop},
                    options=["-v"])
    assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced
    assert "imports first from its working directory" in traced.stderr, traced.stderr


def test_a_python_entering_its_table_with_P_imports_nothing_from_its_cwd(build, tmp_path,
                                                                         loop):
    """The mitigation a policy can require today: the caller may run the interpreter only as
    ``python -P -m json.tool``; with -P, the module planted in the cwd is not imported and the
    standard json.tool runs under the interpreter's table (no verdict from the plant; its
    error about /dev/null).  Without -P in argv the same exec is refused by the policy."""
    program = build("escape/exec_pycwd.c")
    interpreter = os.path.realpath(sys.executable)
    s = Scene.make(tmp_path)
    text = _pycwd_policy(s, interpreter, options='"-P", ')
    with_p = attack(program, interpreter, "json", "-P", policy_text=text, scene=s, cwd=s.work,
                    env={"ESC_TARGET": str(s.secret), **loop})
    assert with_p.verdict == "NONE" and "Expecting value" in with_p.stderr, with_p
    without = attack(program, interpreter, "json", policy_text=text, scene=s, cwd=s.work,
                     env={"ESC_TARGET": str(s.secret), **loop})
    assert without.verdict == "BLOCKED" and "EPERM" in without.detail, without


def _ldlib(tmp_path: Path) -> tuple[Path, Path]:
    """The library (libtr_ldlib.so, its RUNPATH's: LD_LIBRARY_PATH goes first), the helper
    that needs it, and the tree's plant of it: their directory and the plant."""
    lib = tmp_path / "ldlib"
    lib.mkdir()
    source = str(Path(__file__).parent / "tr_ldlib_lib.c")
    for flags, out in ((["-shared", "-fPIC"], "libtr_ldlib.so"),
                       (["-shared", "-fPIC", "-DPLANT"], "plant.so"),
                       (["-DHELPER", f"-L{lib}", "-ltr_ldlib",
                         f"-Wl,--enable-new-dtags,-rpath,{lib}"], "helper")):
        subprocess.run(["gcc", "-O1", "-Wall", "-Wl,-soname,libtr_ldlib.so", source, *flags,
                        "-o", str(lib / out)] if "-shared" in flags else
                       ["gcc", "-O1", "-Wall", source, *flags, "-o", str(lib / out)],
                       check=True, capture_output=True)
    return lib, lib / "plant.so"


@pytest.mark.skipif(not INSTALLED.exists(), reason="systrace-python is not installed beside "
                                                     "the interpreter")
def test_an_approvers_commands_load_no_library_the_tree_planted(build, tmp_path):
    """Review 35: LD_LIBRARY_PATH's empty entry (``export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/x``
    with nothing before) is the cwd to ld.so, as PYTHONPATH's is to Python.  The approver
    (a script that runs a helper needing a library -- a notifier, a dialog -- then the
    scripted approver) starts in the run's cwd: ``tr_ldlib`` plants the library there, and
    the next run's approver loaded it, untraced -- the secret the policy refuses the tree
    read (escaped on main cd17da6).  Now an approver's LD_LIBRARY_PATH loses its relative
    entries as PATH and PYTHONPATH do.  Control: the approver started natively in the
    planted cwd loads the plant."""
    program = build("escape/tr_ldlib.c")
    lib, plant = _ldlib(tmp_path)
    s = Scene.make(tmp_path, "traced")
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "socket"\nanswer = "permit-now"\n')
    script = lib / "approver.sh"
    script.write_text(f"#!/bin/sh\n{lib}/helper\n"
                      f"exec {PYTHON} -P -m systrace_py.approver --rules {answers}\n")
    script.chmod(0o755)
    search = {"LD_LIBRARY_PATH": f":{lib}/none"}

    c = Scene.make(tmp_path, "control")
    (c.work / "libtr_ldlib.so").write_bytes(plant.read_bytes())
    subprocess.run([str(script)], cwd=c.work, stdin=subprocess.DEVNULL, capture_output=True,
                   env=scene_env(c, ESC_TARGET=str(c.secret), **search), timeout=60,
                   check=False)
    assert SECRET_MAGIC in c.marker.read_text(), "the plant did not load natively"

    text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  'calls = ["socket"]\naction = "ask"')
    runs = []
    for planting in (True, False):  # the first run plants, the second asks again
        runs.append(attack(program, str(plant) if planting else "/dev/null",
                           "libtr_ldlib.so" if planting else "nothing", policy_text=text,
                           scene=s, cwd=s.work, env={"ESC_TARGET": str(s.secret), **search},
                           options=["--ask-via", f"exec:{script}"], tracer=[str(INSTALLED)]))
    assert (s.work / "libtr_ldlib.so").exists(), runs[0]  # (the tree did plant it)
    assert not s.marker.exists(), s.marker.read_text()
    for run in runs:  # the approver answers
        assert "socket: made" in run.stdout, run
