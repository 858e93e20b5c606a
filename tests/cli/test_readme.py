"""README.md's first command is what a new user runs: its systrace steps, run as written (with
this checkout's systrace for ``.venv/bin/systrace``), do what the README says they do -- the
learning run writes the policy, the second run passes under it, the third is refused one
``openat`` and exits with ls's status 2."""

from __future__ import annotations

import re
import shlex

from conftest import REPO, run_systrace


def first_command() -> list[list[str]]:
    """The systrace steps of the README's first ```sh block (its ``&&``-joined commands)."""
    block = re.search(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.S)
    assert block is not None
    steps = [shlex.split(step) for step in block.group(1).split(" && ")]
    assert steps[0][:3] == ["python3", "-m", "venv"] and steps[1][0] == ".venv/bin/pip"
    return [step[1:] for step in steps[2:] if step[0] == ".venv/bin/systrace"]


def test_the_readmes_first_command_learns_then_enforces(tmp_path):
    learn, allowed, refused = first_command()
    assert "-A" in learn and "-p" in allowed and "-p" in refused
    r = run_systrace(learn, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    policy = tmp_path / learn[learn.index("-o") + 1]
    assert policy.is_file() and "systrace: wrote" in r.stderr
    r = run_systrace(allowed, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "refused" not in r.stderr and "bin" in r.stdout.split()
    r = run_systrace(refused, cwd=tmp_path)
    assert r.returncode == 2, r.stderr                          # ls's own status
    said = [line for line in r.stderr.splitlines() if line.startswith("systrace: refused")]
    assert any(re.match(r"systrace: refused openat /etc .*-> EPERM$", line) for line in said), \
        r.stderr
    assert "Operation not permitted" in r.stderr
