"""Review 61 (read-only review of close 29): attack tests that FAIL on main.

Finding 1: review 58's finding 2 is still open on the ``-A`` path when the file to merge
into is named with ``-o``.  ``cli.learn._destination`` says "not the policy directory" for
any ``-o FILE``, so ``next_run_policies`` loads no directory and the new cat table in the
command's file is a copy of that file's tables alone.  A later ``systrace tool`` finds that
same file in the default policy directory (``cli.run._policies``) and takes the directory's
other files too -- but the new table, looked up first, shadows cat's own file, whose
``never`` is lost.  The offline path (``systrace policy learn --merge``) compares
``destination.parent`` with ``policy_dir`` and is closed; ``-A -o`` is not.  On main the
next run's cat printed the secret (ESCAPED, both loops)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from escape_lib import (
    NEVER_VICTIM,
    SECRET_MAGIC,
    victim_read_natively,
)

from conftest import run_systrace
from systrace_py.policy.files import policy_filename


def test_a_merge_named_with_o_into_the_directorys_file_keeps_the_programs_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``tool victim`` runs ``/bin/cat victim/secret.txt``; cat's own file in the policy
    directory refuses it.  ``systrace -A -o DIR/<tool's file> --merge -- tool victim``
    merges into the tool's file of the default directory: the next ``systrace tool victim``
    (the same file, found in the directory) must still be refused by cat's own file."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    env = {**loop, "XDG_CONFIG_HOME": str(config)}
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    alone = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(own), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "/usr/bin/cat" in own.read_text(), own.read_text()
    traced = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


def test_a_cwd_keyed_table_a_merge_makes_keeps_another_checkouts_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Finding 3: the learner keys a program below ``$CWD`` as ``$CWD/mycat`` (learn22), a
    pattern that stands for a different program in each directory.  ``_candidates`` expands
    it once, with the learning run's ``$CWD``: in ``p1``, ``p1/mycat``'s own file (default
    permit) is the one candidate and is copied.  In ``p2`` the same key, looked up first,
    shadows ``p2/mycat``'s own file, whose ``never`` no candidate carried.  ``tool victim
    ./mycat`` runs ``./mycat victim/secret.txt``.  On main p2's next run printed the secret."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    env = {**loop, "XDG_CONFIG_HOME": str(config)}
    checkouts = [tmp_path / "p1", tmp_path / "p2"]
    for checkout in checkouts:
        (checkout / "victim").mkdir(parents=True)
        (checkout / "victim" / "secret.txt").write_text(SECRET_MAGIC + "\n")
        mycat = checkout / "mycat"
        mycat.write_bytes(Path("/bin/cat").read_bytes())
        mycat.chmod(0o755)
    p1, p2 = checkouts
    control = subprocess.run([str(tool), "victim", "./mycat"], capture_output=True,
                             text=True, timeout=30, cwd=p2)
    assert control.stdout.startswith("ESCAPED"), control.stdout
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename(str(p1 / "mycat"))).write_text(
        'version = 1\ndefault = "permit"\n')
    (directory / policy_filename(str(p2 / "mycat"))).write_text(
        'version = 1\ndefault = "permit"\n\n'
        '[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "$CWD/victim/**"\naction = "never"\n')
    alone = run_systrace(["--", str(tool), "victim", "./mycat"], cwd=p2, env=env)
    assert alone.stdout.startswith("BLOCKED"), alone.stdout + alone.stderr
    learning = run_systrace(["-A", "--merge", "--", str(tool), "victim", "./mycat"],
                            cwd=p1, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "$CWD/mycat" in own.read_text(), own.read_text()
    traced = run_systrace(["--", str(tool), "victim", "./mycat"], cwd=p2, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED"), traced.stdout + traced.stderr
