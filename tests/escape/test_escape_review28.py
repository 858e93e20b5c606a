"""Review 28: a file system image mounted from a regular file (erofs backed by a file, Linux
6.12+) shows the image's files at the mount's target -- as a bind shows its source, a block
device its other mounts' trees (review 27) -- but the image's path ("source") was decided only
as a device's name: a table that reads ``work/**`` and grants the image nothing (its default)
mounted ``secd/secret.img`` on ``work/outdir`` and read the secret in it there.  The program
never opens the image (the kernel does): nothing else decides it.
fs_linked_bind.c's ``device`` mode; a native control; both stop loops."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    SYSTRACE,
    Scene,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
)
from test_escape_redteam49 import (
    SYSTEM,
    UNSHARE,
    args,
    bind_policy,
    setup_reader,
    setup_targets,
    two_tables,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root"),
    pytest.mark.skipif(shutil.which("mkfs.erofs") is None, reason="no mkfs.erofs"),
]


def setup_image(s: Scene) -> None:
    setup_targets(s)
    tree = s.root / "imagetree"
    tree.mkdir()
    (tree / "secret.txt").write_text(f"{SECRET_MAGIC}\n")
    subprocess.run(["mkfs.erofs", "--quiet", str(s.secd / "secret.img"), str(tree)],
                   check=True, capture_output=True)
    shutil.rmtree(tree)


@pytest.mark.parametrize("mode", ["device", "fsdevice"])
def test_a_file_backed_image_mounted_gives_its_files_no_access_by_new_names(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively the secret is read at ``work/outdir/secret.txt``.  Under the table:
    the mount (mount(2); the new API's fsconfig naming the image) is refused, EPERM
    (ESCAPED on main 6c24f83, both loops, both modes)."""
    program = build("escape/fs_linked_bind.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [mode, "root", s.secret, s.work, s.secd / "secret.img", "erofs",
                   "secret.txt"],
        lambda s: bind_policy(s, program, stat_secret=False), setup=setup_image, env=loop)
    assert traced.detail.startswith(("mount ", "fsconfig source ", "move_mount ")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def one_rule(s: Scene, rule: str) -> str:
    """A permit-default table with one path rule (a table that decides by name)."""
    return policy(rule)


@pytest.mark.parametrize("mode", ["device", "fsdevice"])
@pytest.mark.parametrize("table", ["reads-image", "reads-image-by-name", "permit-default"])
def test_a_file_backed_image_the_table_may_read_is_mounted(
        build, tmp_path: Path, table: str, mode: str, loop: dict[str, str]) -> None:
    """Mounts29: an image's files are its bytes -- a mount(2) of an erofs image the table
    reads (by its own name, and every name under the target no more) runs as natively:
    the table that reads ``work/**`` and ``secd/**`` (or the image alone, by its name), and
    a permit-default table with one path rule (on ``pubd``).  Review 28 refused them,
    EPERM (fails on main 21fe4ac, both loops: BLOCKED "mount ...: EPERM").  ``fsdevice``:
    the new API's image stays refused, EPERM -- fsconfig's "source" is opened at
    CMD_CREATE by its name then, and at move_mount the file an erofs was made of cannot be
    told (left as review 28 made it)."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_image(s)
    if table == "reads-image":
        text = bind_policy(s, program, stat_secret=True) + \
            "\n[[rule]]\n" + permit("fsread", path=f"{s.secd}/**") + "\n"
    elif table == "reads-image-by-name":
        text = bind_policy(s, program, stat_secret=False) + \
            "\n[[rule]]\n" + permit("fsread", path=str(s.secd / "secret.img")) + "\n"
    else:
        text = one_rule(s, never("fsread", path=f"{s.pubd}/**"))
    traced = attack(program, mode, "root", s.secret, s.work, s.secd / "secret.img",
                    "erofs", "secret.txt", policy_text=text, scene=s, env=loop)
    if mode == "fsdevice":
        assert traced.verdict == "BLOCKED" and traced.detail.startswith("fsconfig source") \
            and traced.detail.endswith(": EPERM"), str(traced)
        return
    assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)


@pytest.mark.parametrize("mode", ["device", "fsdevice"])
def test_a_file_backed_image_the_table_may_not_read_is_not_mounted(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """A permit-default table with one rule, refusing reads of the image: the mount reads
    it: refused with the rule's errno, EACCES (mount(2): decided as an open of it; fsconfig's
    "source": by the rule naming it).  Control: natively the secret is read through it."""
    program = build("escape/fs_linked_bind.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [mode, "root", s.secret, s.work, s.secd / "secret.img", "erofs",
                   "secret.txt"],
        lambda s: one_rule(s, never("fsread", path=str(s.secd / "secret.img"))),
        setup=setup_image, env=loop)
    assert traced.detail.startswith(("mount ", "fsconfig source ")), str(traced)
    assert traced.detail.endswith(": EACCES"), str(traced)


@pytest.mark.parametrize("reader_reads_image", [False, True], ids=["refused", "reads"])
def test_a_file_backed_image_is_compared_in_every_table(
        build, tmp_path: Path, reader_reads_image: bool, loop: dict[str, str]) -> None:
    """Mounts29: the caller's table reads the image (and nothing below ``work``); the
    reader's reads ``work/**`` and refuses ``secd/**``: the image mounted on
    ``work/outdir`` in the tracer's namespace would give the secret in it a name the reader
    reads -- refused at the mount, EPERM (``linked access``, the reader's table).  Control:
    natively the reader reads the secret.  ``reads``: the reader's table reads ``secd/**``
    too: the mount runs and the reader reads it, as natively (review 28 refused it, EPERM:
    fails on main 21fe4ac, both loops)."""
    program = build("escape/fs_linked_table.c")

    def scene(name: str) -> Scene:
        s = Scene.make(tmp_path, name)
        setup_reader(program)(s)
        setup_image(s)
        return s

    s = scene("control")
    native = attack("unshare", *UNSHARE[1:], program, *args("hostimage")(s), policy_text=None,
                    scene=s)
    assert native.verdict == "ESCAPED", str(native)
    s = scene("traced")
    text = two_tables(s, program, reader_reads_secret=reader_reads_image).replace(
        "\n[program.", "\n[[rule]]\n" + permit("namespace") + "\n\n[[rule]]\n" +
        permit("fsread", path=str(s.secd / "secret.img")) + "\n\n[program.", 1)
    traced = attack(program, *args("hostimage")(s), policy_text=text, scene=s, env=loop,
                    tracer=[*UNSHARE, *SYSTRACE])
    if reader_reads_image:
        assert traced.verdict == "ESCAPED", str(traced)  # (both tables read it: no escape)
        return
    assert "ESCAPED" not in traced.stdout, str(traced)
    assert traced.verdict == "BLOCKED" and traced.detail.startswith("mount image") and \
        traced.detail.endswith(": EPERM"), str(traced)


def test_a_file_backed_images_name_is_held_to_the_file_decided(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Mounts29: an image the table reads is mounted, so its name is held as a bind's
    source: ``work/img``, a symlink a thread keeps flipping between ``pubd/pub.img`` (read
    by the table) and ``secd/secret.img`` (granted nothing), mounted and read round after
    round.  Control: natively a round reads the secret.  Traced: no round does (each mount
    is of the file decided; the secret's image refused, EPERM)."""
    program = build("escape/fs_image_race.c")

    def setup(s: Scene) -> None:
        setup_image(s)
        tree = s.root / "pubtree"
        tree.mkdir()
        (tree / "secret.txt").write_text("public, harmless\n")
        subprocess.run(["mkfs.erofs", "--quiet", str(s.pubd / "pub.img"), str(tree)],
                       check=True, capture_output=True)
        shutil.rmtree(tree)

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("namespace")]
        start += [permit(["fsread", "exec"], path=p)
                  for p in [*SYSTEM, f"{program.parent}/**"]]
        return policy(*start, permit(["fsread", "fswrite"], path=f"{s.work}/**"),
                      permit("fsread", path=f"{s.pubd}/**"), default="never")

    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [s.secd / "secret.img", s.pubd / "pub.img", s.work, "secret.txt"],
        rules, setup=setup, env=loop)
    assert " mounts read no secret" in traced.detail, str(traced)


def test_a_file_only_written_is_not_read_through_a_loop_device(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """LOOP_SET_FD takes a descriptor open for writing only, and the loop device's reads are
    the file's: a table that writes the secret (no read of it), reads ``/dev/**`` and
    writes the loop devices read it at ``/dev/loopN``.  Control: natively read.  ESCAPED on
    main 6c24f83 and 21fe4ac, both loops (known gap #44); now the attach is decided as an
    open of the file for reading and writing: refused, EPERM (gap44)."""
    program = build("escape/loop_wo.c")

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        return policy(*start, permit("fswrite", path=str(s.secret)),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"),
                      default="never")

    def sectors(s: Scene) -> None:
        # (a loop device is the file's whole 512-byte sectors: the secret, then zeros)
        s.secret.write_bytes(f"{SECRET_MAGIC}\n".encode().ljust(4096, b"\0"))

    traced, _ = controlled_and_blocked(tmp_path, program, lambda s: [s.secret], rules,
                                       setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
