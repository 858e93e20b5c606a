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
import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, controlled_and_blocked, permit, policy

from conftest import systrace_env

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def own_policy(s: Scene, program: Path, mode: str, extra: tuple[str, ...] = ()) -> str:
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
    if mode in ("ownrmdir", "ownunlink"):
        # (a removal below own: a rule of no access a file keeps, as NOTED's below)
        rules += [permit(["rmdir", "unlink"], path=f"{s.work}/own/**")]
    if mode in ("ownfd", "ownproc"):
        # (the secret read -- an O_PATH open is a read --, never written)
        rules += [permit("fsread", path=str(s.secret))]
    rules += [permit("fslink", path=str(s.secd)), permit("fslink", path=f"{s.secd}/**")]
    return policy(*rules, *extra, default="never")


@pytest.mark.parametrize("mode", ["ownlink", "ownmove", "ownnest", "ownswap", "owntree",
                                  "ownfd", "ownproc", "ownrmdir", "ownunlink"])
def test_an_older_file_does_not_travel_with_a_directory_of_the_runs_own(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively each mode reads the secret (runs the tool, writes the secret) at its
    name below ``work/outdir``.  ownrmdir/ownunlink (review 23): a removal of the older tree
    the kernel fails (ENOTEMPTY, EISDIR) no longer forgets its note -- ESCAPED on main
    56b2042, both loops.
    Under the table: the move of ``work/own`` is refused, EPERM -- it failed on main
    bdda352 (ESCAPED: the secret read through ``work/outdir``), both loops."""
    program = build("escape/fs_linked.c")

    def setup(s: Scene) -> None:
        if mode == "ownswap":
            shutil.copy(program, s.secd / "tool")

    def secret(s: Scene) -> Path:
        if mode in ("owntree", "ownrmdir", "ownunlink"):
            return s.secd
        return s.secd / "tool" if mode == "ownswap" else s.secret

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, secret(s), s.work],
        lambda s: own_policy(s, program, mode), setup=setup, env=loop)
    assert traced.detail.startswith("rename ") and traced.detail.endswith(
        "/work/outdir: EPERM") and "/work/own to " in traced.detail, str(traced)


#: (what the run does before ``mv own outdir`` in ``work``, whether that move is refused):
#: the older files noted below ``own`` are exact -- one removed, or its directory, is gone
#: from the note; a directory of the run's own moved within ``own`` takes its notes along
NOTED = [
    ("mkdir own && ln SECRET own/x", True),
    ("mkdir own && ln SECRET own/x && rm own/x", False),
    ("mkdir own own/a && ln SECRET own/a/x && rm -r own/a", False),
    ("mkdir own own/a && ln SECRET own/a/x && mv own/a own/b", True),
    ("mkdir own own/a && ln SECRET own/a/x && mv own/a own/b && rm own/b/x", False),
    ("mkdir own && echo mine > own/x", False),
    # (review 23: a removal the kernel fails keeps the note -- rmdir of an older directory
    # still holding its file, ENOTEMPTY; once emptied it goes)
    ("mkdir own && mv SECD own/d && (rmdir own/d || true)", True),
    ("mkdir own && mv SECD own/d && rm own/d/secret.txt && rmdir own/d", False),
]


@pytest.mark.parametrize(("script", "refused"), NOTED)
def test_the_older_files_below_a_directory_of_the_runs_own_are_noted_exactly(
        tmp_path: Path, script: str, refused: bool, loop: dict[str, str]) -> None:
    """The move of ``own`` is refused only while a file the run did not make is below it
    (coreutils under the table of the attack above): no over-refusal once it is gone."""
    s = Scene.make(tmp_path)
    program = Path(shutil.which("sh") or "/bin/sh")
    table = tmp_path / "policy.toml"
    # (and what coreutils need besides: a look at any path, the terminal's ioctl, the
    # removal of an older file below own -- a rule of no access a file keeps)
    extra = (permit("fsmeta"), permit("ioctl"),
             permit(["unlinkat", "rmdir"], path=f"{s.work}/own/**"))
    table.write_text(own_policy(s, program, "ownlink", extra))
    command = script.replace("SECRET", str(s.secret)).replace("SECD", str(s.secd)) \
        + " && mv own outdir"
    r = subprocess.run([*SYSTRACE, "-v", "-p", str(table), "--", "sh", "-c", command],
                       cwd=s.work, capture_output=True, text=True, timeout=60,
                       env=systrace_env(loop))
    assert (r.returncode != 0) is refused, r.stderr
    assert (s.work / "outdir").exists() is not refused, r.stderr
    if refused:
        assert "linked access" in r.stderr or "would give" in r.stderr, r.stderr
