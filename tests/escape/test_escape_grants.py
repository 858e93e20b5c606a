"""Red team 6: what a program table's ``environment`` grant matches (class 4, children).

An exec into a table of its own may carry a loader or interpreter variable the run did not
start with only where the table grants it: ``environment = ["NAME=VALUE-glob"]``
(Table.admits_variable, an fnmatch glob over the whole value).  A path rule's glob is matched
against the canonical path, where ``*`` stays within one name; this glob is matched against
the value as the caller spelled it, where ``*`` matches anything -- a "/", a "..", the
separators of a list -- and the loader reads the value as paths.  A grant of
``LD_PRELOAD=/usr/lib/*`` (libraries under /usr/lib) admits ``/usr/lib/../../WORK/lib.so``
and ``"/usr/lib/... WORK/lib.so"`` (LD_PRELOAD takes a list, split at spaces and colons):
the caller's library runs under the program's table and reads what the caller's table
refuses (exec_loader.c).  Learned grants are literal values (learn._literal_grant) and are not
concerned; a hand-written glob is.  Open: the policy language would have to say what a glob
over a list of paths means (each element, canonical, ``*`` within a name, as a path rule's).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from escape_lib import controlled_and_blocked
from test_escape_children import trusted_table

LIBM = Path("/usr/lib/x86_64-linux-gnu/libm.so.6")


@pytest.mark.xfail(strict=True, reason="an environment grant's glob matches the value as "
                   "spelled: '*' spans '/', '..' and a list's separators (red team 6)")
@pytest.mark.parametrize("spelling", ["dotdot", "list"])
def test_a_grants_glob_does_not_admit_a_library_outside_it(build, tmp_path, spelling):
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    if spelling == "list" and not LIBM.exists():
        pytest.skip(f"no {LIBM}")
    value = (f"/usr/lib/../..{library}" if spelling == "dotdot" else f"{LIBM} {library}")
    controlled_and_blocked(
        tmp_path, program, lambda s: ["once", hello, s.secret, value],
        lambda s: trusted_table(hello, s) + 'environment = ["LD_PRELOAD=/usr/lib/*"]\n')
