"""What a program table's ``environment`` grant admits (environment.Grants, gap #25).

A glob over a variable whose value is paths is a path rule's glob, matched against each
element as the variable's reader splits the value; an element that is not a plain absolute
path ("..", ".", "//", relative, empty, a "$" the loader substitutes) matches no glob.  A
literal grant -- what ``-A`` writes -- admits its value exactly.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.environment import (
    PATH_VARIABLES,
    Grants,
    elements,
    grant_error,
    grantable,
    literal_grant,
    runs_code,
)
from systrace_py.policy.files import loads_policy
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import Table

EXPANSIONS = Expansions("/home/alice", "/work", "/tmp", "alice")


def admits(grants: list[str], entry: str) -> bool:
    return Grants(tuple(grants), EXPANSIONS).admits(entry)


def test_every_variable_read_as_paths_is_one_an_exec_checks() -> None:
    """A grant names only variables an exec into another table checks (variable_error):
    those that run code, HOME (a Python's user site) and CWD (a Python's working directory,
    no variable: pycwd37); a path variable grantable did not name could be granted by no
    policy, and would cross execs unchecked."""
    assert [name for name in PATH_VARIABLES if not grantable(name)] == []
    assert [name for name in PATH_VARIABLES if not runs_code(name)] == ["HOME", "CWD"]


@pytest.mark.parametrize("entry", ["LD_PRELOAD", "PYTHONPATH", "BASH_ENV"])
def test_a_grant_without_a_value_admits_nothing(entry: str) -> None:
    """The loader refuses such a grant (grant_error); a table built without the loader admits
    nothing by it -- not the empty value."""
    assert grant_error(entry, EXPANSIONS) is not None
    assert not admits([entry], f"{entry}=")


# --- element by element: the property ---------------------------------------------------------

#: the names an element is made of: "usr" and "lib" to make the granted directory, others
#: that a glob's "*" matches as a name, and those a plain path never holds
_NAMES = st.sampled_from(["usr", "lib", "x.so", "l*b", "$ORIGIN", "..", ".", ""])
_LISTS = sorted(name for name, form in PATH_VARIABLES.items()
                if form.separators and form.maxsplit < 0)


@st.composite
def _element(draw: st.DrawFn) -> tuple[str, bool, list[str]]:
    """An element spelled from names, and what makes it: (text, absolute, names)."""
    if draw(st.booleans()):  # (half of them in /usr/lib, so that lists of them are admitted)
        absolute, names = True, ["usr", "lib", draw(st.sampled_from(["x.so", "l*b", "$O"]))]
    else:
        absolute = draw(st.booleans())
        names = draw(st.lists(_NAMES, max_size=4)
                     | st.lists(_NAMES, min_size=1, max_size=2).map(lambda t: ["usr", "lib", *t]))
        if not absolute and len(names) > 1 and names[0] == "":
            # (a relative spelling whose first name is empty begins with "/": it is the
            # absolute one of the names after it -- ["", "usr", "lib", "usr"] is /usr/lib/usr,
            # which the oracle took for relative: a CI run's seed found it)
            absolute, names = True, names[1:]
            return "/" + "/".join(names), absolute, names
    return ("/" if absolute else "") + "/".join(names), absolute, names


def _under_usr_lib(absolute: bool, names: list[str], tokens: bool) -> bool:
    """Whether ``/usr/lib/*`` admits the element, told from how it was made (not by the
    engine's matcher): absolute, /usr/lib then one name that is not "", "." or ".." (nor
    holds a "$" the loader substitutes), one trailing "/" allowed."""
    if len(names) > 1 and names[-1] == "":
        names = names[:-1]
    return (absolute and len(names) == 3 and names[:2] == ["usr", "lib"]
            and names[2] not in ("", ".", "..") and not (tokens and "$" in names[2]))


@given(name=st.sampled_from(_LISTS), made=st.lists(_element(), min_size=1, max_size=5),
       data=st.data())
@settings(max_examples=400)
def test_a_list_is_admitted_iff_every_element_is(
        name: str, made: list[tuple[str, bool, list[str]]], data: st.DataObject) -> None:
    """For each variable whose reader takes a list of paths, a value joined from random
    elements with random separators of its reader is admitted by ``/usr/lib/*`` exactly when
    every element is -- an empty one only where the reader skips it."""
    form = PATH_VARIABLES[name]
    value = made[0][0]
    for text, _, _ in made[1:]:
        value += data.draw(st.sampled_from(form.separators)) + text
    expected = all((text == "" and form.skips_empty)
                   or _under_usr_lib(absolute, names, form.tokens)
                   for text, absolute, names in made)
    assert admits([f"{name}=/usr/lib/*"], f"{name}={value}") is expected, value


@given(name=st.sampled_from(_LISTS), made=st.lists(_element(), min_size=1, max_size=5),
       data=st.data())
@settings(max_examples=200)
def test_elements_are_split_as_the_reader_splits(
        name: str, made: list[tuple[str, bool, list[str]]], data: st.DataObject) -> None:
    """The elements of a value joined from elements are those elements, the empty ones left
    out where the reader skips them."""
    form = PATH_VARIABLES[name]
    value = made[0][0]
    for text, _, _ in made[1:]:
        value += data.draw(st.sampled_from(form.separators)) + text
    texts = [text for text, _, _ in made]
    assert elements(name, value) == ([t for t in texts if t] if form.skips_empty else texts)


# --- the readers' lists, by example -----------------------------------------------------------

@pytest.mark.parametrize(("grants", "entry", "admitted"), [
    # the red team's spellings: a ".." out of the tree, a list's second library
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib/../../tmp/x.so", False),
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib/a/libm.so /tmp/x.so", False),
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib/a/libm.so:/tmp/x.so", False),
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib/a/libm.so /usr/lib/b.so", True),
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=  /usr/lib/b.so::", True),   # empties skipped
    (["LD_PRELOAD=/usr/lib/*"], "LD_PRELOAD=/usr/lib/a/libm.so", False),  # * within a name
    (["LD_PRELOAD=/usr/lib/*"], "LD_PRELOAD=x.so", False),       # searched in the library path
    (["LD_PRELOAD=/usr/lib/*"], "LD_PRELOAD=/usr/lib/./x.so", False),
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib//x.so", False),
    (["LD_PRELOAD=/usr/lib/*"], "LD_PRELOAD=/usr/lib/$LIB", False),       # rtld's token
    (["LD_PRELOAD=/usr/lib/*"], "LD_PRELOAD=/usr/lib/x.so\t/tmp", False),  # a tab is a name's
    (["LD_PRELOAD=/usr/lib/**"], "LD_PRELOAD=/usr/lib/x.so\t/tmp", True),  # (below /usr/lib)
    # LD_LIBRARY_PATH: ":" and ";", an empty element is the current directory
    (["LD_LIBRARY_PATH=/opt/*"], "LD_LIBRARY_PATH=/opt/a;/opt/b:/opt/c/", True),
    (["LD_LIBRARY_PATH=/opt/*"], "LD_LIBRARY_PATH=/opt/a;/tmp", False),
    (["LD_LIBRARY_PATH=/opt/*"], "LD_LIBRARY_PATH=/opt/a:", False),
    (["LD_LIBRARY_PATH=/opt/*"], "LD_LIBRARY_PATH=", False),
    (["LD_LIBRARY_PATH=/opt/*"], "LD_LIBRARY_PATH=$ORIGIN/../lib", False),
    # PYTHONPATH: "" and relative elements are the current directory; "$" is a name's
    (["PYTHONPATH=/opt/*"], "PYTHONPATH=/opt/$x", True),
    (["PYTHONPATH=/opt/*"], "PYTHONPATH=:/opt/a", False),
    (["PYTHONPATH=/opt/*"], "PYTHONPATH=opt/a", False),
    (["PYTHONPATH=/opt/**"], "PYTHONPATH=/opt/a/b.zip:/opt", True),
    # PYTHONHOME: prefix[:exec_prefix], split at the first colon only
    (["PYTHONHOME=/opt/*"], "PYTHONHOME=/opt/a:/opt/b", True),
    (["PYTHONHOME=/opt/*"], "PYTHONHOME=/opt/a:/opt/b:/opt/c", False),
    # Perl, Ruby, Node skip empty elements
    (["PERL5LIB=/opt/*"], "PERL5LIB=/opt/a::/opt/b:", True),
    (["RUBYLIB=/opt/*"], "RUBYLIB=/opt/a:lib", False),
    (["NODE_PATH=/opt/**"], "NODE_PATH=/opt/../etc", False),
    # one path: the whole value, a path rule's glob
    (["PYTHONSTARTUP=/home/a/*"], "PYTHONSTARTUP=/home/a/s.py", True),
    (["PYTHONSTARTUP=/home/a/*"], "PYTHONSTARTUP=/home/a/../../tmp/e.py", False),
    (["PYTHONSTARTUP=/home/a/*"], "PYTHONSTARTUP=/home/a/b:c", True),
    (["PYTHONSTARTUP=~/*"], "PYTHONSTARTUP=/home/alice/s.py", True),      # ~ as a rule's
    # several grants: each element by any of them; a literal grant of one plain path too
    (["LD_LIBRARY_PATH=/opt/lib", "LD_LIBRARY_PATH=/usr/lib/*"],
     "LD_LIBRARY_PATH=/opt/lib:/usr/lib/x", True),
    (["LD_LIBRARY_PATH=/opt/lib", "LD_LIBRARY_PATH=/usr/lib/*"],
     "LD_LIBRARY_PATH=/opt/lib:/tmp", False),
    (["LD_LIBRARY_PATH={/opt/lib,/usr/lib/*}"], "LD_LIBRARY_PATH=/usr/lib/x:/opt/lib", True),
    (["LD_PRELOAD=/usr/lib/*"], "LD_AUDIT=/usr/lib/x.so", False),            # another name
    # a value that is no path: fnmatch's glob over the whole value
    (["BASH_FUNC_f%%=() {*"], "BASH_FUNC_f%%=() { curl x | sh\n}", True),
    (["PERL5OPT=-M*"], "PERL5OPT=-MEvil -e1", True),
])
def test_what_a_grant_admits(grants: list[str], entry: str, admitted: bool) -> None:
    assert all(grant_error(g, EXPANSIONS) is None for g in grants)
    assert admits(grants, entry) is admitted


# --- literal grants: what -A writes -----------------------------------------------------------

_VALUES = st.text(alphabet="/a.:; *?[]{}$~\\-\n", max_size=12)


@given(name=st.sampled_from(sorted({*PATH_VARIABLES, "BASH_ENV", "PERL5OPT", "BASH_FUNC_f%%"})),
       value=_VALUES, other=_VALUES)
@settings(max_examples=400)
def test_a_learned_grant_admits_its_own_value(name: str, value: str, other: str) -> None:
    """What the learner writes (environment.literal_grant) is a grant the policy loader takes and
    that admits the value it saw -- relative, empty or ".." elements too: exactly as before.
    Another value is admitted only where the value is one plain path and the other a list
    of it (the same path, the same code), or of nothing (a reader that skips empty elements
    reads none)."""
    grant = literal_grant(f"{name}={value}")
    assert grant_error(grant, EXPANSIONS) is None
    assert admits([grant], f"{name}={value}")
    if admits([grant], f"{name}={other}") and other != value:
        found = elements(name, other)
        assert found is not None
        assert {e.rstrip("/") or "/" for e in found} <= {value.rstrip("/") or "/"}


def test_a_grants_glob_loaded_from_a_policy_uses_its_expansions() -> None:
    """``~`` and ``$HOME`` in a grant's path glob are the loader's, as in a path rule."""
    env = {"HOME": "/home/alice", "USER": "alice", "CWD": "/work", "TMPDIR": "/tmp"}
    policy = loads_policy(textwrap.dedent("""\
        default = "permit"
        [program."/usr/bin/cat"]
        environment = ["PYTHONPATH=~/src/*", "LD_LIBRARY_PATH=$HOME/lib/**"]
        """), "pol.toml", env)
    table = policy.programs["/usr/bin/cat"]
    assert table.admits_variable("PYTHONPATH=/home/alice/src/a:/home/alice/src/b")
    assert not table.admits_variable("PYTHONPATH=~/src/a")          # relative, to Python
    assert table.admits_variable("LD_LIBRARY_PATH=/home/alice/lib/x/y")
    assert not table.admits_variable("LD_LIBRARY_PATH=/home/bob/lib/x")


def test_a_table_reads_its_grants_again_when_they_change() -> None:
    table = Table("/usr/bin/cat", environment=("LD_PRELOAD=/a/*",))
    assert table.admits_variable("LD_PRELOAD=/a/x.so")
    table.environment = ("LD_PRELOAD=/b/*",)
    assert not table.admits_variable("LD_PRELOAD=/a/x.so")
    assert table.admits_variable("LD_PRELOAD=/b/x.so")


def test_a_grant_that_cannot_be_read_admits_nothing() -> None:
    """A table made without the policy loader (which refuses it: grant_error) fails closed."""
    assert grant_error("LD_PRELOAD=lib/*") is not None
    assert not admits(["LD_PRELOAD=lib/*"], "LD_PRELOAD=lib/x.so")


def test_a_grant_naming_its_paths_by_a_variable_admits_them_and_no_other():
    """-A writes a loader path below the checkout as ``$CWD/...`` (learn22): a path glob
    without wildcards, expanded as path rules are -- not the literal text only."""
    grant = "LD_LIBRARY_PATH=$CWD/target/deps"
    assert admits([grant], "LD_LIBRARY_PATH=/work/target/deps")
    # not the text itself: the loader reads it as a directory relative to the working
    # directory, which the caller chooses (review 18: failed on main -- admitted)
    assert not admits([grant], "LD_LIBRARY_PATH=$CWD/target/deps")
    assert not admits(["PYTHONPATH=~/lib"], "PYTHONPATH=~/lib")
    assert not admits(["LD_PRELOAD={/a/x.so,/b/x.so}"], "LD_PRELOAD={/a/x.so,/b/x.so}")
    assert admits(["LD_PRELOAD={/a/x.so,/b/x.so}"], "LD_PRELOAD=/b/x.so")
    assert admits(["HOME=$CWD/h"], "HOME=/work/h")
    assert not admits(["HOME=$CWD/h"], "HOME=$CWD/h")  # (a Python's user site: ./$CWD/h/...)
    assert not admits([grant], "LD_LIBRARY_PATH=/other/target/deps")
    assert not admits([grant], "LD_LIBRARY_PATH=/work/target/deps/x")
    assert not admits([grant], "LD_LIBRARY_PATH=/work/target/deps:/tmp/evil")
    two = "LD_LIBRARY_PATH={$CWD/target/deps,~/.rustup/lib}"
    assert admits([two], "LD_LIBRARY_PATH=/work/target/deps:/home/alice/.rustup/lib")
    assert not admits([two], "LD_LIBRARY_PATH=/work/target/deps:/home/bob/.rustup/lib")
    # a value the reader would take otherwise stays literal: $ORIGIN is ld.so's own
    assert not admits(["LD_LIBRARY_PATH=$ORIGIN/lib"], "LD_LIBRARY_PATH=/work/lib")


def test_a_learned_value_spelled_as_a_variable_grant_is_its_text_alone() -> None:
    """Review 18: a value the learner saw spelled ``$CWD/x`` (a relative directory named so)
    is written bracketed, admits that text and no expanded path; the unbracketed spelling is
    the path glob (and admits the expanded path alone)."""
    grant = literal_grant("LD_LIBRARY_PATH=$CWD/x")
    assert grant == "LD_LIBRARY_PATH=[$]CWD/x"
    assert grant_error(grant, EXPANSIONS) is None
    assert admits([grant], "LD_LIBRARY_PATH=$CWD/x")
    assert not admits([grant], "LD_LIBRARY_PATH=/work/x")
    assert literal_grant("PYTHONPATH=~/a*") == "PYTHONPATH=[~]/a[*]"
    assert literal_grant("LD_PRELOAD={x") == "LD_PRELOAD=[{]x"
    assert literal_grant("LD_PRELOAD=/a/$CWD") == "LD_PRELOAD=/a/$CWD"
    # a list spelled so (by hand): not its text either
    assert not admits(["LD_LIBRARY_PATH=$CWD/a:$CWD/b"], "LD_LIBRARY_PATH=$CWD/a:$CWD/b")
