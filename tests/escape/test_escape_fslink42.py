"""Issue 11, fslink41's third open bullet: an older file given a name below a directory the
run made travelled with it.  A directory of the run's own is exempt from the linked-access
comparison when moved (its contents are the run's), and a link of the secret into it was
decided by that directory's non-fresh rules only (none grant anything there); renaming the
directory under a name whose rules read everything below then read the secret.  Now the
engine notes each file or directory the run did not make that a link or rename puts below
a directory of its own (Decoder.older, exact across moves and removals), and the move of
that directory compares each such file by its own name with its name below the new one
(model.Table._linked_decision): refused, EPERM.  fs_linked.c's own* modes, a native
control each; both stop loops."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, permit, policy

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def own_policy(s: Scene, program: Path, mode: str) -> str:
    """Everything the program needs to start; reads and writes of ``work/outdir`` and
    below (a build's output tree); what the run makes at ``work/own`` and below it, by
    fresh rules only; links and moves of what is in ``secd`` (and of ``secd``), no read
    of it.  For ``ownswap`` (an exchange reads and writes both names): ``secd/tool`` read
    and written, never run; ``work/outdir/x`` run."""
    rules = [permit("stdio"), permit("process")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit(["fsread", "fswrite"], path=f"{s.work}/{name}")
              for name in ("outdir", "outdir/**")]
    rules += [permit(["fsread", "fswrite", "fslink"], path=f"{s.work}/{name}", fresh=True)
              for name in ("own", "own/**")]
    if mode == "ownswap":
        rules += [permit(["fsread", "fswrite"], path=f"{s.secd}/tool"),
                  permit("exec", path=f"{s.work}/outdir/x"),
                  permit(["fsread", "fswrite"], path=str(s.marker))]
    rules += [permit("fslink", path=str(s.secd)), permit("fslink", path=f"{s.secd}/**")]
    return policy(*rules, default="never")


@pytest.mark.parametrize("mode", ["ownlink", "ownmove", "ownnest", "ownswap", "owntree"])
def test_an_older_file_does_not_travel_with_a_directory_of_the_runs_own(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively each mode reads the secret (runs the tool) at its name below
    ``work/outdir``.
    Under the table: the move of ``work/own`` is refused, EPERM -- it failed on main
    bdda352 (ESCAPED: the secret read through ``work/outdir``), both loops."""
    program = build("escape/fs_linked.c")

    def setup(s: Scene) -> None:
        if mode == "ownswap":
            shutil.copy(program, s.secd / "tool")

    def secret(s: Scene) -> Path:
        return s.secd if mode == "owntree" else s.secd / "tool" if mode == "ownswap" \
            else s.secret

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, secret(s), s.work],
        lambda s: own_policy(s, program, mode), setup=setup, env=loop)
    assert traced.detail.startswith("rename ") and traced.detail.endswith(
        "/work/outdir: EPERM") and "/work/own to " in traced.detail, str(traced)
