"""Close 32: review 61's finding 1 closed as a class -- whether the file a merge writes is
one of the policy directory's is decided in one place (``cli.learn.next_run_policies``),
from the file itself, for every path (``-A`` with and without ``-o``, ``systrace policy
learn --merge``).  Here the directory's entry for the tool is a symbolic link to a file kept
elsewhere, and ``-A -o`` names that file: its parent is not the directory, yet the next
``systrace tool`` finds it there (a run follows the link) with cat's own file beside it.  On
review 61's code (and review 61's fix of comparing the parent alone) the new cat table,
looked up first, shadowed cat's own file and the next run printed the secret."""

from __future__ import annotations

from pathlib import Path

from escape_lib import (
    NEVER_VICTIM,
    SECRET_MAGIC,
    victim_read_natively,
)

from conftest import run_systrace
from systrace_py.policy.files import policy_filename


def test_a_merge_into_a_file_the_directory_links_to_keeps_the_programs_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``tool victim`` runs ``/bin/cat victim/secret.txt``; cat's own file in the policy
    directory refuses it; the tool's file there is a link to ``kept/tool.toml``.
    ``systrace -A -o kept/tool.toml --merge -- tool victim``: the next ``systrace tool
    victim`` (the same file, found through the link) must still be refused by cat's file."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    env = {**loop, "XDG_CONFIG_HOME": str(config)}
    kept = tmp_path / "kept"
    kept.mkdir()
    own = kept / "tool.toml"
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename(str(tool))).symlink_to(own)
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    alone = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(own), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "/usr/bin/cat" in own.read_text(), own.read_text()
    assert (directory / policy_filename(str(tool))).resolve() == own.resolve()
    traced = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


def test_a_merge_with_another_d_into_the_default_directorys_file_is_refused(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``-A -d OTHER -o DEFAULT/<tool's file> --merge``: the file is the default
    directory's (a plain ``systrace tool`` finds it there, beside cat's own file) while
    ``-d`` names another directory, whose files alone the merge would carry.  Refused
    before the run (exit 2), the file unchanged: on review 61's code the merge loaded
    ``-d``'s directory, and the next plain run printed the secret."""
    program = build("escape/merge_table.c")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    env = {**loop, "XDG_CONFIG_HOME": str(config)}
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    before = own.read_text()
    learning = run_systrace(["-A", "-d", str(other), "-o", str(own), "--merge", "--",
                             str(tool), "victim"], cwd=tmp_path, env=env)
    traced = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr
    assert learning.returncode == 2, learning.stdout + learning.stderr
    assert "-d names another" in learning.stderr, learning.stderr
    assert own.read_text() == before
