"""Close 46 (review 72 finding 2, the other side of it): another user's file in a shared
policy directory.  A ``-d DIR`` run reads every file there, whoever owns it; a merge into
a file of that directory made without -d must carry their refusals too -- close 43 left
another user's file (and any directory with a group or other write bit) out, and the next
``-d DIR`` run escaped.  Only refusals are carried (``learn.refusals``), so carrying them
fails closed; the file is named in a note.  FAILS on review72 (9be321c5), both loops."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from escape_lib import NEVER_VICTIM, victim_read_natively

from conftest import UNPRIVILEGED_USER, run_systrace
from systrace_py.policy.files import policy_filename


def test_a_merge_into_a_shared_directory_keeps_another_users_refusals_and_says_so(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``pol`` is sticky and world-writable (``/tmp``-like); cat's own file there
    (``never`` below ``victim``) is another user's.  ``-A -o pol/custom.toml --merge``
    without ``-d`` makes a cat table in the person's file: it must carry that ``never``
    (the next ``-p pol/custom.toml -d pol`` run looks the new table up before cat's own
    file) and say whose file it carried."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    directory = tmp_path / "pol"
    directory.mkdir()
    directory.chmod(0o1777)
    custom = directory / "custom.toml"
    custom.write_text('version = 1\ndefault = "permit"\n')
    theirs = directory / policy_filename("/usr/bin/cat")
    theirs.write_text(NEVER_VICTIM)
    os.chown(theirs, user.pw_uid, user.pw_gid)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = ["-p", str(custom), "-d", str(directory), "--", str(tool), "victim"]
    alone = run_systrace(run, cwd=tmp_path, env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(custom), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "/usr/bin/cat" in custom.read_text(), custom.read_text()
    assert f"{theirs} is another user's (uid {user.pw_uid})" in learning.stderr, \
        learning.stderr
    traced = run_systrace(run, cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, custom.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr
