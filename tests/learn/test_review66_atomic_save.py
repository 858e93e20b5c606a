"""Review 66: hostile review of close 36 (a learned atomic save).

Close 36 learns the temporary name of an atomic save (``echo 1 > o/t.tmp; mv o/t.tmp o/f``)
as ``fslink`` by a ``fresh`` rule (``learn._own_moved``, option (b)), so that an outsider's
file planted at the temporary name is not moved onto the output on the next run.  Where (b)
declines -- the name was "used before the run made it" (``_Context.older_first``) -- and no
other rule of the policy is fresh, ``learn._linked_grant`` falls back to option (a) and
grants the temporary name what the output has, not fresh: the outsider's planted file is
moved and read, and even read directly at the temporary name.

The shape that declines (b) is the most common one of a Makefile's or a script's atomic
save: ``rm -f $@.tmp`` (or ``[ -e ... ]``, a stat of the destination) before writing it.
The use met no file (ENOENT) -- no older file was there -- yet it counts as a use before
the name was made."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_next_run import enforce, learn

#: close 36's workload with the usual pre-clean of the temporary name
PRECLEAN = {
    "rm -f": ("mkdir -p o; for i in 1 2 3; do rm -f o/t.$i.tmp; echo $i > o/t.$i.tmp; "
              "mv o/t.$i.tmp o/f.$i; done; cat o/f.*"),
    "test -e": ("mkdir -p o; for i in 1 2 3; do [ -e o/t.$i.tmp ] || echo $i > o/t.$i.tmp; "
                "mv o/t.$i.tmp o/f.$i; done; cat o/f.*"),
}


@pytest.mark.parametrize("case", sorted(PRECLEAN))
@pytest.mark.parametrize("hostile", ["mv o/t.1.tmp o/f.1; cat o/f.*", "cat o/t.1.tmp"])
def test_a_planted_file_at_a_precleaned_temporary_is_not_read(
        tmp_path: Path, loop: dict[str, str], case: str, hostile: str) -> None:
    """The learned policy's own commands, the file at the temporary name an outsider's hard
    link to a secret the run may not read.  Natively cat prints the secret; under the
    learned policy nothing of it may be read (the learning run's cat read only its outputs,
    which held the run's own contents)."""
    work = tmp_path / "w"
    work.mkdir()
    policy = learn(tmp_path, ["sh", "-c", PRECLEAN[case]], cwd=work, env=loop)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    command = ["sh", "-c", hostile]

    def plant() -> None:
        shutil.rmtree(work / "o", ignore_errors=True)
        (work / "o").mkdir()
        os.link(secret, work / "o" / "t.1.tmp")

    plant()
    native = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=30)
    assert "SECRET" in native.stdout, native  # (the technique works without systrace)
    plant()
    result, refused = enforce(tmp_path, policy, command, cwd=work, env=loop)
    assert "SECRET" not in result.stdout, (result.stdout, policy.read_text())
    assert refused, result.stderr
