"""Which Python command lines put the working directory first on sys.path
(environment.searches_working_directory: the one answer of the engine's exec into another
table and of an ``exec:`` approver), and what a table's ``CWD=...`` grant admits (pycwd37,
red team 53's open class)."""

from __future__ import annotations

import pytest

from systrace_py.policy.environment import (
    CODE,
    CWD,
    EXITS,
    MODULE,
    SCRIPT,
    STDIN,
    Grants,
    grant_error,
    python_command,
    searches_working_directory,
    variable_error,
)
from systrace_py.policy.glob import Expansions

PY = "/usr/bin/python3.11"


@pytest.mark.parametrize(("args", "form", "flags"), [
    (["-m", "json.tool"], MODULE, ""),
    (["-mjson.tool"], MODULE, ""),
    (["-c", "pass"], CODE, ""),
    (["-Esc", "pass"], CODE, "Es"),
    ([], STDIN, ""),
    (["-"], STDIN, ""),
    (["-i"], STDIN, "i"),
    (["--"], STDIN, ""),
    (["--", "-"], STDIN, ""),
    (["--", "-m"], SCRIPT, ""),          # (a script named "-m")
    (["tool.py", "-m", "x"], SCRIPT, ""),
    (["-X", "dev", "-W", "error", "-m", "x"], MODULE, ""),
    (["-Xdev", "-m", "x"], MODULE, ""),
    (["--check-hash-based-pycs", "always", "-c", "x"], CODE, ""),
    (["-V"], EXITS, "V"),
    (["-V", "-c", "x"], EXITS, "V"),     # (-V is acted on once the options are read)
    (["--version"], EXITS, ""),
    (["-h", "-m", "x"], EXITS, "h"),
])
def test_a_pythons_command_line_is_read_as_cpython_reads_it(args: list[str], form: str,
                                                            flags: str) -> None:
    command = python_command(PY, None, False, ["python3", *args])
    assert command is not None and command.form == form and command.flags == frozenset(flags)


@pytest.mark.parametrize(("binary", "args", "envp", "searches"), [
    (PY, ["-m", "x"], [], True),
    (PY, ["-c", "x"], [], True),
    (PY, [], [], True),
    (PY, ["tool.py"], [], False),       # (the script's own directory: not the cwd)
    (PY, ["-P", "-m", "x"], [], False),
    (PY, ["-Pm", "x"], [], False),
    (PY, ["-Im", "x"], [], False),
    (PY, ["-I", "-E", "-"], [], False),
    (PY, ["-m", "x"], ["PYTHONSAFEPATH=1"], False),
    (PY, ["-m", "x"], ["PYTHONSAFEPATH="], True),    # (set empty: not honoured)
    (PY, ["-E", "-m", "x"], ["PYTHONSAFEPATH=1"], True),  # (-E ignores it)
    ("/usr/bin/python3.10", ["-m", "x"], ["PYTHONSAFEPATH=1"], True),  # (no such variable)
    ("/usr/bin/python3", ["-m", "x"], ["PYTHONSAFEPATH=1"], True),  # (version unknown)
    ("/usr/bin/python3.12", ["-m", "x"], ["PYTHONSAFEPATH=1"], False),
    ("/usr/bin/pypy3.11", ["-c", "x"], [], True),
    ("/usr/bin/python3-config", ["-m", "x"], [], False),
    ("/usr/bin/node", ["-m", "x"], [], False),
    (PY, ["--version"], [], False),
])
def test_the_forms_that_search_the_working_directory(binary: str, args: list[str],
                                                      envp: list[str], searches: bool) -> None:
    assert searches_working_directory(binary, None, False, ["x", *args], envp) is searches


def test_a_scripts_python_searches_by_its_hashbang_line() -> None:
    """A script runs as ``INTERPRETER [ARGUMENT] SCRIPT ARGV[1:]``: its own directory first --
    but a #! line that runs its file as code or reads stdin (``-c``, ``-``) searches the cwd;
    ``/usr/bin/env`` runs the Python its argument names."""
    argv = ["/x/tool", "-m", "y"]
    assert not searches_working_directory(PY, None, True, argv)
    assert not searches_working_directory(PY, "-s", True, argv)
    assert searches_working_directory(PY, "-c", True, argv)
    assert searches_working_directory(PY, "-", True, argv)
    assert not searches_working_directory("/usr/bin/env", "python3", True, argv)
    assert searches_working_directory("/usr/bin/env", "-S python3 -", True, argv)
    assert not searches_working_directory("/usr/bin/env", "-S python3 -P -", True, argv)
    assert not searches_working_directory("/usr/bin/env", "-S sh -c", True, argv)


def test_a_cwd_grant_admits_the_directories_it_names() -> None:
    """``CWD=GLOB``: a path glob of one path, as HOME's; ``$CWD`` alone is the run's own
    directory (what -A writes for a Python run there), not its text."""
    expansions = Expansions(home="/home/u", cwd="/home/u/src", tmpdir="/tmp", user="u")
    assert variable_error("CWD=/x") is None and grant_error("CWD=$CWD", expansions) is None
    grants = Grants(("CWD=$CWD", "CWD=$CWD/build/**", "CWD=/opt/w"), expansions)
    for admitted in ("/home/u/src", "/home/u/src/build", "/home/u/src/build/a/b", "/opt/w"):
        assert grants.admits(f"{CWD}={admitted}"), admitted
    for refused in ("$CWD", "/home/u/src/other", "/home/u", "/opt/w/x", "/home/u/src/../x",
                    ""):
        assert not grants.admits(f"{CWD}={refused}"), refused
