"""Review 18: a grant of paths named by a variable admitted its own text (class 4, children).

-A writes a loader path below the checkout as ``$CWD/target/deps`` (learn22), and a grant
spelled so was read twice: as a path glob (``$CWD`` the working directory the policy is
loaded in) and as a literal, its text admitted too.  But ld.so reads ``$CWD/lib.so`` -- no
token of its own -- as a path relative to the working directory, as Python reads
``PYTHONPATH=~/lib``: a caller that made ``./$CWD/lib.so`` in a directory of its choosing
exec'd the program with ``LD_PRELOAD=$CWD/lib.so``, the text matched, and its library ran
under the program's table and read the secret the caller's table refuses.  Now such a grant
is a path glob alone (environment.Grants); a value the learner saw spelled so is written
bracketed (``[$]CWD/...``: environment.literal_grant) and admits that text alone.
"""

from __future__ import annotations

import shutil

import pytest
from escape_lib import Scene, attack, controlled_and_blocked
from test_escape_children import trusted_table


@pytest.mark.parametrize(("grant", "value"), [
    ("LD_PRELOAD=$CWD/lib.so", "$CWD/lib.so"),
    ("LD_PRELOAD=~/lib.so", "~/lib.so"),
    ("LD_PRELOAD={$CWD/lib.so,/nowhere/lib.so}", "{$CWD/lib.so,/nowhere/lib.so}"),
])
def test_a_variable_grant_does_not_admit_its_text_as_a_relative_path(
        build, tmp_path, grant, value):
    """Escaped on main: the text matched the grant's literal reading (exec_loader.c)."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    relative = value  # (one element: LD_PRELOAD splits at spaces and colons, not commas)

    def plant(s: Scene) -> None:  # (what the caller would write in a directory of its own)
        target = s.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(library, target)

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: ["once", hello, s.secret, value],
        lambda s: trusted_table(hello, s) + f'environment = ["{grant}"]\n',
        setup=plant, cwd=lambda s: s.work)
    assert "EPERM" in traced.stdout, traced


def test_a_variable_grant_admits_the_path_it_names(build, tmp_path):
    """The control of the test above: the grant admits the library at the expanded path (the
    working directory the policy is loaded in), which runs under the program's table."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    s = Scene.make(tmp_path)
    shutil.copy(library, s.work / "lib.so")
    granted = attack(program, "once", hello, s.secret, f"{s.work}/lib.so", scene=s,
                     cwd=s.work, policy_text=trusted_table(hello, s)
                     + 'environment = ["LD_PRELOAD=$CWD/lib.so"]\n')
    assert granted.verdict == "ESCAPED" and "read the secret" in granted.detail, granted
