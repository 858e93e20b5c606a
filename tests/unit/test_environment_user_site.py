"""When a caller's HOME places a Python's user site at an exec into another table (gap #38):
environment.moved_home, python_options and loads_user_site -- what Supervisor._entering_table
asks (the runs, both loops: tests/escape/test_escape_redteam25.py)."""

from __future__ import annotations

import pytest

from systrace_py.policy.environment import (
    Grants,
    grant_error,
    is_python,
    loads_user_site,
    moved_home,
    python_options,
)

STARTED = frozenset({"HOME=/home/alice", "PATH=/usr/bin"})


@pytest.mark.parametrize(("envp", "started", "moved"), [
    (["HOME=/home/alice"], STARTED, None),
    (["HOME=/home/alice", "HOME=/tmp/x"], STARTED, None),  # (the first one counts: getenv)
    (["HOME=/tmp/x"], STARTED, "HOME=/tmp/x"),
    (["HOME=/tmp/x", "HOME=/home/alice"], STARTED, "HOME=/tmp/x"),
    (["HOME="], STARTED, "HOME="),
    ([], STARTED, "HOME"),                     # unset: the password database's, elsewhere
    ([], frozenset({"PATH=/usr/bin"}), None),  # unset, and the run had none
    (["HOME=/x"], frozenset({"PATH=/usr/bin"}), "HOME=/x"),
    (["HOME=/home/alice"], None, "HOME=/home/alice"),  # an attached run: every one
])
def test_a_home_is_moved_when_it_is_not_the_runs(envp: list[str],
                                                 started: frozenset[str] | None,
                                                 moved: str | None) -> None:
    assert moved_home(envp, started) == moved


@pytest.mark.parametrize(("path", "python"), [
    ("/usr/bin/python3.11", True), ("/usr/bin/python3", True), ("/opt/py/bin/python", True),
    ("/usr/bin/python3.12d", True), ("/usr/bin/pypy3", True), ("/usr/bin/python3-config", False),
    ("/usr/bin/bash", False), ("/usr/bin/env", False), ("/opt/pythonista", False),
])
def test_a_python_is_known_by_its_binarys_name(path: str, python: bool) -> None:
    assert is_python(path) is python


@pytest.mark.parametrize(("binary", "argument", "script", "argv", "options"), [
    # a script: its #! line's argument, one string (the exec's argv is the script's)
    ("/usr/bin/python3.11", None, True, ["tool", "-s"], frozenset()),
    ("/usr/bin/python3.11", "-s", True, None, {"s"}),
    ("/usr/bin/python3.11", "-Is", True, None, {"I", "s"}),
    ("/usr/bin/python3.11", "-sE", True, None, {"s", "E"}),
    ("/usr/bin/python3.11", "-Xs", True, None, frozenset()),  # (-X's value: "s")
    ("/usr/bin/python3.11", "-Wd", True, None, frozenset()),
    # a binary: its argv, up to the first that is no option
    ("/usr/bin/python3.11", None, False, ["python3", "-s", "-c", "x"], {"s"}),
    ("/usr/bin/python3.11", None, False, ["python3", "-c", "x", "-s"], frozenset()),
    ("/usr/bin/python3.11", None, False, ["python3", "-sc", "x"], {"s"}),
    ("/usr/bin/python3.11", None, False, ["python3", "-cs"], frozenset()),  # (-c's code: "s")
    ("/usr/bin/python3.11", None, False, ["python3", "-X", "dev", "-I", "t.py"], {"I"}),
    ("/usr/bin/python3.11", None, False, ["python3", "-W", "-s", "t.py"], frozenset()),
    ("/usr/bin/python3.11", None, False, ["python3", "t.py", "-s"], frozenset()),
    ("/usr/bin/python3.11", None, False, ["python3", "--", "-s"], frozenset()),
    ("/usr/bin/python3.11", None, False, ["python3", "--check-hash-based-pycs", "-s", "-E"],
     {"E"}),
    # /usr/bin/env as the interpreter: the Python it names
    ("/usr/bin/env", "python3", True, None, frozenset()),
    ("/usr/bin/env", "python3 -s", True, None, None),  # (one name: "python3 -s", no Python)
    ("/usr/bin/env", "-S python3 -s", True, None, {"s"}),
    ("/usr/bin/env", "-S -u X PYTHONX=1 python3 -I", True, None, {"I"}),
    ("/usr/bin/env", "bash", True, None, None),
    ("/usr/bin/bash", "-e", True, None, None),
    ("/usr/bin/env", None, False, ["env", "python3"], None),  # (a binary exec'd: env's own)
])
def test_a_pythons_options_are_read_as_it_reads_them(
        binary: str, argument: str | None, script: bool, argv: list[str] | None,
        options: set[str] | frozenset[str] | None) -> None:
    found = python_options(binary, argument, script, argv)
    assert found == (None if options is None else frozenset(options))


@pytest.mark.parametrize(("options", "envp", "loads"), [
    ("", ["HOME=/x"], True),
    ("s", ["HOME=/x"], False),
    ("I", ["HOME=/x"], False),
    ("S", ["HOME=/x"], False),
    ("", ["PYTHONNOUSERSITE=1"], False),
    ("", ["PYTHONNOUSERSITE="], True),   # (set empty: not set)
    ("E", ["PYTHONNOUSERSITE=1"], True),  # (-E ignores it)
    ("", ["PYTHONUSERBASE=/opt/u"], False),  # (then HOME places nothing: site.py)
    ("E", ["PYTHONUSERBASE=/opt/u"], False),  # (read from os.environ, -E or not)
    ("", ["PYTHONUSERBASE="], True),
])
def test_a_python_loads_a_user_site_unless_told_not_to(options: str, envp: list[str],
                                                       loads: bool) -> None:
    assert loads_user_site(frozenset(options), envp) is loads


def test_a_table_grants_home_as_one_path() -> None:
    """HOME is granted as the other variables are (``environment``): a literal, or a path
    glob matched against its one path -- never an empty or relative one."""
    grants = Grants(("HOME=/tmp/build-*",))
    assert grants.admits("HOME=/tmp/build-1")
    assert not grants.admits("HOME=/tmp/build-1/../x") and not grants.admits("HOME=/tmp/x")
    assert not grants.admits("HOME")  # (unset: no grant admits it)
    assert Grants(("HOME=/homeless-shelter",)).admits("HOME=/homeless-shelter")
    assert grant_error("HOME=/tmp/**") is None and grant_error("HOME=rel/*") is not None
