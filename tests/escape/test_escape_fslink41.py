"""Issue 11 (red team 40's "found, not closed"): a link or rename may not give a file more
access than its own name has.  A table that lets the secret be linked or moved (``fslink``)
and reads and writes ``work/out`` (a learned build's read-back) let a program link the secret
there and read it, write it through that name, move its directory under a name the table
reads, or exchange a program it may not run with one it may.  Now the engine decides the old
name also under the new name's rules (model.Table._linked_decision): each of these is
refused, EPERM.  fs_linked.c, one mode each; a native control each; both stop loops."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, permit, policy

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def linked_policy(s: Scene, program: Path, mode: str) -> str:
    """Everything the program needs to start; reads and writes of ``work/out`` and
    ``work/outdir``; links and moves of what is in ``secd`` (and of ``secd``), no read of
    it.  For ``exchange``: ``secd/tool`` read and written, never run; ``work/out`` run."""
    rules = [permit("stdio"), permit("process")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    if mode == "exchange":
        rules += [permit(["fsread", "fswrite"], path=f"{s.secd}/tool"),
                  permit("exec", path=f"{s.work}/out"),
                  permit(["fsread", "fswrite"], path=str(s.marker))]
    rules += [permit(["fsread", "fswrite"], path=f"{s.work}/{name}")
              for name in ("out", "outdir", "outdir/**")]
    rules += [permit("fslink", path=str(s.secd)), permit("fslink", path=f"{s.secd}/**")]
    return policy(*rules, default="never")


@pytest.mark.parametrize("mode", ["link", "linkat", "rename", "renameat2", "write", "exchange",
                                  "dir"])
def test_a_file_gets_no_access_by_a_new_name_its_own_lacks(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively each mode reads (writes, runs) the secret through the new name.
    Under the table: the link or move is refused, EPERM -- it failed on main 2a86e2f
    (ESCAPED: the secret read through ``work/out``)."""
    program = build("escape/fs_linked.c")

    def setup(s: Scene) -> None:
        (s.work / "out").write_text("the build's output\n")
        if mode == "exchange":
            shutil.copy(program, s.secd / "tool")

    def secret(s: Scene) -> Path:
        return s.secd if mode == "dir" else s.secd / "tool" if mode == "exchange" else s.secret

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, secret(s), s.work],
        lambda s: linked_policy(s, program, mode), setup=setup, env=loop)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert traced.detail.startswith(("link", "rename", "exchange")), str(traced)
