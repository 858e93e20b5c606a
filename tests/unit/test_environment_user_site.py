"""When a caller's HOME places a Python's user site at an exec into another table (gap #38):
environment.moved, python_options and loads_user_site -- what Supervisor._entering_table
asks (the runs, both loops: tests/escape/test_escape_redteam25.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.policy.environment import (
    Grants,
    env_searches,
    grant_error,
    is_python,
    loads_user_site,
    moved,
    python_options,
    variable_error,
)

STARTED = frozenset({"HOME=/home/alice", "PATH=/usr/bin"})


@pytest.mark.parametrize(("envp", "started", "expected"), [
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
                                                 expected: str | None) -> None:
    assert moved("HOME", envp, started) == expected


_ENTRIES = st.lists(st.sampled_from(["HOME", "HOME=", "HOME=/a", "HOME=/b", "HOMEX=/a",
                                       "HOME=/a=b", "PATH=/usr/bin", "PATH", "=HOME=/a",
                                       "X=HOME=/a", "HOM=/a"]), max_size=6)


@given(envp=_ENTRIES, started=st.one_of(st.none(), _ENTRIES.map(frozenset)),
       name=st.sampled_from(["HOME", "PATH"]))
def test_moved_is_the_first_value_of_each_side(envp: list[str],
                                               started: frozenset[str] | None,
                                               name: str) -> None:
    """moved finds a name's first value by its ``NAME=`` prefix (perf23: no dict of every
    name an exec): the same answer as the dict of the first values of each side."""
    def first(entries: object) -> str | None:
        values: dict[str, str] = {}
        for entry in entries:  # type: ignore[attr-defined]
            key, equals, value = entry.partition("=")
            if equals:
                values.setdefault(key, value)
        return values.get(name)

    now = first(envp)
    expected = None if started is not None and now == first(started) else (
        name if now is None else f"{name}={now}")
    assert moved(name, envp, started) == expected


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
    # -S ending a cluster of env's short options, and its long spelling (review 16)
    ("/usr/bin/env", "-vS python3 -s", True, None, {"s"}),
    ("/usr/bin/env", "-v0S python3", True, None, frozenset()),
    ("/usr/bin/env", "--split-string=python3 -I", True, None, {"I"}),
    ("/usr/bin/env", "-uS python3", True, None, None),  # (-u's value: "S python3")
    ("/usr/bin/env", "-S --chdir /tmp python3", True, None, frozenset()),  # (its value next)
    ("/usr/bin/env", "-S --unset X -vu Y python3 -s", True, None, {"s"}),
    # a long option's unambiguous prefix, and a -S among the words a -S split (review 17)
    ("/usr/bin/env", "--spli=python3 -s", True, None, {"s"}),
    ("/usr/bin/env", "--s=python3", True, None, frozenset()),
    ("/usr/bin/env", "-S -Spython3 -I", True, None, {"I"}),
    ("/usr/bin/env", "-S -vSpython3 -s", True, None, {"s"}),
    ("/usr/bin/env", "-S --ch /tmp python3 -s", True, None, {"s"}),  # (--chdir's value)
    ("/usr/bin/env", "-S --un=X --a N python3", True, None, frozenset()),
    ("/usr/bin/env", "-S -u -Spython3 bash", True, None, None),  # (-u's value: no split)
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


def test_a_path_is_moved_as_a_home_is() -> None:
    assert moved("PATH", ["PATH=/usr/bin"], STARTED) is None
    assert moved("PATH", ["PATH=/tmp/w:/usr/bin"], STARTED) == "PATH=/tmp/w:/usr/bin"
    assert moved("PATH", [], STARTED) == "PATH"


@pytest.mark.parametrize(("binary", "argument", "script", "searches"), [
    ("/usr/bin/env", "python3", True, True),               # execvp("python3"): PATH
    ("/usr/bin/env", "-S python3 -s", True, True),
    ("/usr/bin/env", "-S -u X python3", True, True),
    ("/usr/bin/env", "/usr/bin/python3", True, False),     # a path: no search
    ("/usr/bin/env", "-S PATH=/usr/bin python3", True, False),  # the line sets PATH
    ("/usr/bin/env", "-S -i python3", True, False),        # no environment: a default PATH
    ("/usr/bin/env", "-vS python3", True, True),           # (review 16: -S ends a cluster)
    ("/usr/bin/env", "-iS python3", True, False),
    ("/usr/bin/env", "--split-string=python3", True, True),
    ("/usr/bin/env", "-S --chdir /tmp python3", True, True),
    ("/usr/bin/env", "--spli=python3", True, True),        # (review 17: a prefix of it)
    ("/usr/bin/env", "-S -Spython3", True, True),
    ("/usr/bin/env", "-S --ch /tmp python3", True, True),
    ("/usr/bin/env", "-S -- -x", True, True),              # (after --: the command)
    ("/usr/bin/env", "-S -", True, False),
    ("/usr/bin/env", "-S FOO=1", True, False),             # no command
    ("/usr/bin/env", None, True, False),                   # "#!/usr/bin/env": no argument
    ("/usr/bin/env", "python3", False, False),             # env run as itself, no script
    ("/usr/bin/python3", "-s", True, False),
    ("/bin/sh", None, True, False),
])
def test_env_searches_the_path_for_a_name_with_no_slash(
        binary: str, argument: str | None, script: bool, searches: bool) -> None:
    """Gap #40: what ``#!/usr/bin/env NAME`` runs is NAME as the exec's PATH finds it."""
    assert env_searches(binary, argument, script) is searches


def test_a_table_grants_path_as_home() -> None:
    assert variable_error("PATH=/usr/bin") is None
    assert Grants(("PATH=/usr/bin:/bin",)).admits("PATH=/usr/bin:/bin")
    assert not Grants(("PATH=/usr/bin:/bin",)).admits("PATH=/tmp/w:/usr/bin:/bin")
