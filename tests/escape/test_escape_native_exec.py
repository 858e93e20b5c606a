"""Red team 3's exec into another table, where the native loop lets execs go (issue 16).

The native loop (systrace_py/_cloop.c exec_entry) lets go an exec its table permits by path
-- a vfork child's, a shell's own -- under a learned policy (default never, no refusing
rule), and reads the environment of an exec into another program's table itself.  The attack
of exec_loader.c, made by a shell: a vfork child (and the shell itself, with ``exec``) runs a
program that has a table of its own with LD_PRELOAD naming a library that reads the secret,
which the caller's table refuses and the program's permits.  Natively the library reads it;
under systrace, with either loop, the exec is refused (EPERM) and the secret stays unread.
"""

from __future__ import annotations

import shutil

import pytest
from escape_lib import SECRET_MAGIC, Scene, attack

from conftest import learned_policy


@pytest.mark.parametrize("how", ["vfork child", "own exec"])
def test_a_library_the_caller_chose_under_a_learned_policy(build, tmp_path, loop, how):
    s = Scene.make(tmp_path)
    hello = s.work / "hello"
    library = s.work / "libloader.so"
    shutil.copy(build("escape/hello.c"), hello)
    shutil.copy(build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY"), library)
    run = "exec " if how == "own exec" else ""
    # (a first command maps the scratch area in the shell: from then on the loop arms its
    # vfork children)
    command = (f"/usr/bin/true; LD_PRELOAD={library} LOADER_FD=1 LOADER_TARGET={s.secret}"
               f" {run}{hello}; echo rc=$?")
    control = attack("sh", "-c", command, policy_text=None, scene=s)
    assert SECRET_MAGIC in control.stdout, control  # the technique works natively
    traced = attack("sh", "-c", command, policy_text=learned_policy(s.work, hello), scene=s,
                    env=loop, options=["-v"])
    assert SECRET_MAGIC not in traced.stdout, traced
    assert "loader or interpreter variables" in traced.stderr, traced
    assert "Operation not permitted" in traced.stderr, traced
