"""Red team 6: what a program table's ``environment`` grant matches (class 4, children).

An exec into a table of its own may carry a loader or interpreter variable the run did not
start with only where the table grants it: ``environment = ["NAME=VALUE-glob"]``
(Table.admits_variable).  The glob was fnmatch's over the value as the caller spelled it,
where ``*`` matches anything -- a "/", a "..", the separators of a list -- while the loader
reads the value as paths: a grant of ``LD_PRELOAD=/usr/lib/*`` (libraries under /usr/lib)
admitted ``/usr/lib/../../WORK/lib.so`` and ``"/usr/lib/... WORK/lib.so"`` (LD_PRELOAD is a
list split at spaces and colons), and the caller's library ran under the program's table and
read what the caller's table refuses (exec_loader.c).  Now a glob over a variable whose value
is paths (environment.PATH_VARIABLES) is a path rule's glob, matched against each element as
its reader splits the value, and an element with a ".." (or relative, or a "//") matches no
glob (environment.Grants): both are refused (EPERM).  The decision is Python's in both loops
(the native loop hands it any exec carrying such a variable).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from escape_lib import Scene, attack, controlled_and_blocked
from test_escape_children import trusted_table

LIBM = Path("/usr/lib/x86_64-linux-gnu/libm.so.6")


@pytest.mark.parametrize("spelling", ["dotdot", "list"])
def test_a_grants_glob_does_not_admit_a_library_outside_it(build, tmp_path, spelling):
    """``/usr/lib/**`` admits every library below /usr/lib -- libm, the list's first element
    (test_a_grants_glob_admits_a_list_element_by_element) -- but not a ".." out of it, which
    ``**`` would match as a name, nor a list's other element elsewhere.  Escaped before."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    if spelling == "list" and not LIBM.exists():
        pytest.skip(f"no {LIBM}")
    value = (f"/usr/lib/../..{library}" if spelling == "dotdot" else f"{LIBM} {library}")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: ["once", hello, s.secret, value],
        lambda s: trusted_table(hello, s) + 'environment = ["LD_PRELOAD=/usr/lib/**"]\n')
    assert "EPERM" in traced.stdout, traced


def test_a_grants_glob_admits_a_list_element_by_element(build, tmp_path):
    """The control of the test above: a list whose every element a grant's glob matches is
    admitted -- libm under ``/usr/lib/**``, the library by its directory's ``*`` -- and the
    library runs under the program's table, as the policy says."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    if not LIBM.exists():
        pytest.skip(f"no {LIBM}")
    s = Scene.make(tmp_path)
    grant = f"LD_PRELOAD={{/usr/lib/**,{library.parent}/*}}"
    granted = attack(program, "once", hello, s.secret, f"{LIBM}:{library}", scene=s,
                     policy_text=trusted_table(hello, s) + f'environment = ["{grant}"]\n')
    assert granted.verdict == "ESCAPED" and "read the secret" in granted.detail, granted
