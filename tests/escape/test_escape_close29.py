"""Close 29: review 58's finding 2 on the offline path -- ``systrace policy learn LOG -o
DIR/FILE --merge`` into a file of the policy directory.  The directory's other files are
the next run's too (``cli.run._policies``): a program's own file there is the table it runs
under, and a table the merge makes for it in the command's file shadows it.  The merge
(``cli.learn.next_run_policies``) now starts that table with a copy of the program's own
file.  The test FAILS on main: the next run's cat printed the secret."""

from __future__ import annotations

from pathlib import Path

from escape_lib import (
    NEVER_VICTIM,
    victim_read_natively,
)

from conftest import run_systrace
from systrace_py.policy.files import policy_filename


def test_a_merge_from_a_log_into_the_directorys_file_keeps_the_programs_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``tool victim`` runs ``/bin/cat victim/secret.txt``; cat's own file in the policy
    directory refuses it.  The run is learned with a log, then the log is merged into the
    tool's file of the directory: cat's new table there must keep its own file's ``never``."""
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
    log = tmp_path / "learn.jsonl"
    learning = run_systrace(["-A", "-o", str(tmp_path / "scratch.toml"), "--log", str(log),
                             "--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    merged = run_systrace(["policy", "learn", str(log), "-o", str(own), "--merge"],
                          cwd=tmp_path, env=env)
    assert merged.returncode == 0, merged.stderr
    assert "/usr/bin/cat" in own.read_text(), own.read_text()
    traced = run_systrace(["--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, own.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr
