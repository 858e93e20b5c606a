"""Red team 49: the linked-access check (model.Table._linked_decision) compared a file's two
names in the table of the process that links or moves it -- but the new name is reached by
every process of the tree, whichever table it runs under.  A program whose table grants it
nothing of the secret nor of ``work/out`` linked (moved) the secret there and ran a program
whose own table reads ``work/**`` and not the secret: that program read the secret.  Now a
link or move is also compared in every other table of the policy (Supervisor._linked_elsewhere):
refused, EPERM, where one of them would grant the file by its new name an access its own name
lacks there.  fs_linked_table.c, one mode each; a native control each; both stop loops.

The same check did not look at mounts at all: a bind mount (or open_tree's copy moved into
place by move_mount) gives the source the target's name, as a link does, and was decided only
by refusing rules naming it (Table._exposure_decision).  A program whose table grants the
secret nothing (its default) and reads ``work/**`` bound the secret on ``work/out`` in a
mount namespace of its own and read it there; its directory, where a rule covering the
directory's tree (``fsmeta``) permitted the exposure whatever its calls.  Now the source of a
mount's bind, move or attached copy is compared as a link's old name (model._named_anew).
fs_linked_bind.c: file, dir, tree; user and root; native controls; both stop loops."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, attack, controlled_and_blocked, never, permit, policy

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def program_table(key: Path, *rules: str, default: str = "never") -> str:
    """A ``[program."KEY"]`` table with these rule bodies."""
    text = f'\n[program."{key}"]\ndefault = "{default}"\n'
    for rule in rules:
        text += f'\n[[program."{key}".rule]]\n{rule}\n'
    return text


def reader_of(s: Scene) -> Path:
    return s.root / "bin" / "reader"


def two_tables(s: Scene, program: Path, *, reader_reads_secret: bool = False) -> str:
    """The caller: what it needs to start; links and moves of ``secd`` (and what is in it)
    and to names below ``work`` (by the calls' own names: no open of them), nothing read
    or written of either; the reader run.  The
    reader (a table of its own): what it needs to start; reads below ``work``; the secret
    refused by name (or, ``reader_reads_secret``, read)."""
    reader = reader_of(s)
    start = [permit("stdio"), permit("process")]
    start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    main = policy(*start, permit(["fsread", "exec"], path=str(reader)),
                  permit("fslink", path=str(s.secd)), permit("fslink", path=f"{s.secd}/**"),
                  permit(["link", "rename"], path=f"{s.work}/**"), default="never")
    secret = permit("fsread", path=f"{s.secd}/**") if reader_reads_secret else \
        never("fsread", path=f"{s.secd}/**")
    return main + program_table(reader, *start, secret,
                                permit("fsread", path=f"{s.work}/**"))


def setup_reader(program: Path) -> object:
    def setup(s: Scene) -> None:
        reader_of(s).parent.mkdir()
        shutil.copy(program, reader_of(s))
    return setup


def args(mode: str) -> object:
    return lambda s: [mode, s.secret, s.work, reader_of(s)]


@pytest.mark.parametrize("mode", ["link", "rename", "dir"])
def test_a_file_gets_no_access_by_a_new_name_in_another_programs_table(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively the reader reads the secret through its new name.  Under the two
    tables: the link or move is refused, EPERM -- ESCAPED on main 806d286, both loops (the
    reader's table read ``work/out``, the linker's granted nothing by either name)."""
    program = build("escape/fs_linked_table.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, args(mode), lambda s: two_tables(s, program),
        setup=setup_reader(program), env=loop)
    assert traced.detail.startswith(("link", "rename")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


UNSHARE = ["unshare", "--mount", "--propagation", "private"]


@pytest.mark.parametrize("mode", ["hostbind", "bind", "userbind", "hostoverlay"])
def test_a_mount_gives_a_file_no_access_by_a_new_name_in_another_programs_table(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """The lead, after red team 49: a bind mount names its source anew as a link does, and
    a process of another table decides the file by that name.  The caller's table grants
    nothing of the secret nor of ``work/out`` (so by its own rules the mount gives nothing
    away) and lets it make namespaces and mounts; the reader's reads ``work/**`` and
    refuses the secret.  Control: natively the reader reads the secret.  ``hostbind``: the
    bind in the tracer's own namespace (a private copy made for the test, systrace and the
    control both run in one), which every process sees -- ESCAPED on main d68bd9f, both
    loops; now the mount is refused, EPERM, compared in every table as links are.
    ``bind``/``userbind``: in a namespace of the program's own (on main the reader's exec
    was refused there -- an exec into another table from a view of the tree's own, red
    team 24's loader guard --, but a process of the other table that joins the namespace
    by setns would see the bind): refused at the mount alike.  ``hostoverlay`` (review 27):
    an overlay whose lower layer is the secret's directory, in the tracer's namespace --
    ESCAPED on main 99ba44c, both loops; refused at the mount."""
    if os.geteuid() != 0 and mode != "userbind":
        pytest.skip("a mount without a user namespace needs root")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    program = build("escape/fs_linked_table.c")
    s = Scene.make(tmp_path, "control")
    setup_reader(program)(s)
    (s.work / "out").write_text("the build's output\n")
    (s.work / "outdir").mkdir()
    native = attack("unshare", *UNSHARE[1:], program, *args(mode)(s), policy_text=None,
                    scene=s)
    assert native.verdict == "ESCAPED", str(native)
    s = Scene.make(tmp_path, "traced")
    setup_reader(program)(s)
    (s.work / "out").write_text("the build's output\n")
    (s.work / "outdir").mkdir()
    text = two_tables(s, program).replace(
        "\n[program.", "\n[[rule]]\n" + permit("namespace") + "\n\n[program.", 1)
    traced = attack(program, *args(mode)(s), policy_text=text, scene=s, env=loop,
                    tracer=[*UNSHARE, *SYSTRACE])
    assert "ESCAPED" not in traced.stdout, str(traced)
    assert traced.verdict == "BLOCKED" and \
        traced.detail.startswith(("mount --bind", "mount overlay")) and \
        traced.detail.endswith(": EPERM"), str(traced)


def test_a_link_no_table_gains_by_runs(build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The other table grants the secret by its own name what the new name gets: the link
    gives it nothing there, and runs as natively (the reader reads the file)."""
    program = build("escape/fs_linked_table.c")
    s = Scene.make(tmp_path)
    setup_reader(program)(s)
    traced = attack(program, *args("link")(s),
                    policy_text=two_tables(s, program, reader_reads_secret=True), scene=s,
                    env=loop)
    assert traced.verdict == "ESCAPED", str(traced)  # (the reader may read it: no escape)


def bind_policy(s: Scene, program: Path, stat_secret: bool) -> str:
    """What the program needs to start; namespaces and mounts; reads of ``work/**``; no rule
    names the secret (the default refuses it) -- but, ``stat_secret``, a stat of its tree
    (what open_tree needs; a rule covering the directory's tree)."""
    rules = [permit("stdio"), permit("process"), permit("namespace")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit("fsread", path=f"{s.work}/**")]
    if stat_secret:
        rules += [permit("fsmeta", path=str(s.secd)), permit("fsmeta", path=f"{s.secd}/**")]
    return policy(*rules, default="never")


def setup_targets(s: Scene) -> None:
    (s.work / "out").write_text("the build's output\n")
    (s.work / "outdir").mkdir()


BINDS = [(mode, how) for mode in ("file", "dir", "tree") for how in ("user", "root")]


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")
@pytest.mark.parametrize(("mode", "how"), BINDS, ids=[f"{m}-{h}" for m, h in BINDS])
def test_a_mount_gives_a_file_no_access_by_a_new_name_its_own_lacks(
        build, tmp_path: Path, mode: str, how: str, loop: dict[str, str]) -> None:
    """Control: natively the secret is read at its new name.  Under the table: the mount
    (move_mount) is refused, EPERM -- ESCAPED on main 806d286, both loops."""
    program = build("escape/fs_linked_bind.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, how, s.secret, s.work],
        lambda s: bind_policy(s, program, stat_secret=mode != "file"),
        setup=setup_targets, env=loop)
    assert traced.detail.startswith(("mount", "move_mount")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


OVERLAYS = [(mode, how) for mode in ("overlay", "fsoverlay") for how in ("user", "root")]


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")
@pytest.mark.parametrize(("mode", "how"), OVERLAYS, ids=[f"{m}-{h}" for m, h in OVERLAYS])
def test_an_overlay_gives_a_layer_no_access_by_a_new_name_its_own_lacks(
        build, tmp_path: Path, mode: str, how: str, loop: dict[str, str]) -> None:
    """Review 27: an overlay shows its lower layers' files at its target as a bind shows
    its source.  The secret's directory as a lower layer of an overlay on ``work/outdir``
    (mount(2)'s lowerdir; fsopen, fsconfig's "lowerdir+", fsmount, move_mount).  Control:
    natively the secret is read at its new name.  Under the table: refused, EPERM."""
    program = build("escape/fs_linked_bind.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, how, s.secret, s.work],
        lambda s: bind_policy(s, program, stat_secret=True),
        setup=setup_targets, env=loop)
    assert traced.detail.startswith(("mount overlay", "move_mount overlay")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def _device_of(path: Path) -> tuple[str, str, str] | None:
    """(Block device, file system type, ``path`` inside that file system) of the mount
    ``path`` is on, where it is a block device's mounted at its file system's root; else
    None."""
    dev = os.stat(path).st_dev
    best: tuple[str, str, str] | None = None
    longest = -1
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        major, minor = (int(n) for n in fields[2].split(":"))
        point = fields[4].encode().decode("unicode_escape")
        if os.makedev(major, minor) != dev or fields[3] != "/" or len(tail) < 2:
            continue
        if not tail[1].startswith("/dev/") or not str(path).startswith(point.rstrip("/") + "/"):
            continue
        if len(point) > longest:
            longest = len(point)
            best = (tail[1], tail[0], os.path.relpath(path, point))
    if best is None or not os.path.exists(best[0]) or \
            not stat.S_ISBLK(os.stat(best[0]).st_mode):
        return None
    return best


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")
def test_a_device_mounted_anew_gives_its_files_no_access_by_new_names(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 27: the block device the secret's file system is mounted from, mounted anew
    on ``work/outdir``, shows every file of it there (its other mounts' trees, DecodedCall's
    "mounted" roles) -- decided by refusing rules naming them alone: the table reads
    ``work/**`` and grants the secret nothing, and read it at
    ``work/outdir/<its path in the file system>``.  Control: natively it is read there.
    ESCAPED on main 99ba44c, both loops; now the mount is refused, EPERM."""
    found = _device_of(tmp_path)
    if found is None:
        pytest.skip("the test's directory is on no block device mounted at its root")
    device, fstype, _ = found
    program = build("escape/fs_linked_bind.c")

    def arguments(s: Scene) -> list[object]:
        inner = os.path.relpath(s.secret, tmp_path)
        return ["device", "root", s.secret, s.work, device, fstype,
                os.path.join(found[2], inner)]

    traced, _ = controlled_and_blocked(
        tmp_path, program, arguments, lambda s: bind_policy(s, program, stat_secret=False),
        setup=setup_targets, env=loop)
    assert traced.detail.startswith(f"mount {device}"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")
@pytest.mark.parametrize("mode", ["overlay", "dir"])
def test_an_overlays_lower_layer_gains_no_write(build, tmp_path: Path, mode: str,
                                                loop: dict[str, str]) -> None:
    """Review 27: a lower layer is only read through its overlay -- what the overlay's name
    lets be written goes to the upper layer, a copy --, so its files are compared by what
    they may be read, run and looked at as (a container's image read-only by its own
    name, the overlay's target written: runs as natively).  A bind of the same directory
    shows the very files, writable at the new name: refused, EPERM."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_targets(s)
    text = bind_policy(s, program, stat_secret=True) + \
        "\n[[rule]]\n" + permit("fsread", path=f"{s.secd}/**") + "\n" + \
        "\n[[rule]]\n" + permit("fswrite", path=f"{s.work}/**") + "\n"
    traced = attack(program, mode, "user", s.secret, s.work, policy_text=text, scene=s,
                    env=loop)
    if mode == "overlay":
        assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)
    else:
        assert traced.verdict == "BLOCKED" and traced.detail.startswith("mount --bind") \
            and traced.detail.endswith(": EPERM"), str(traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")
@pytest.mark.parametrize("mode", ["file", "tree", "overlay"])
def test_a_mount_of_a_file_granted_alike_by_both_names_runs(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """The table reads the secret by its own name too: the bind (the copy moved into
    place, the overlay of its directory) gives it nothing, and runs as natively."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_targets(s)
    text = bind_policy(s, program, stat_secret=True) + \
        "\n[[rule]]\n" + permit("fsread", path=f"{s.secd}/**") + "\n"
    traced = attack(program, mode, "user", s.secret, s.work, policy_text=text, scene=s,
                    env=loop)
    assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)


@pytest.mark.parametrize("mode", ["nslink", "hostlink"])
def test_a_link_by_a_name_another_mount_shows_is_compared_too(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Review 29 (fs_linked_table.c nslink, hostlink): the scene (secd and work) is bound on
    ``view`` -- no table reads it: the bind gives nothing away -- and ``view/secd/secret.txt``
    linked to ``view/work/out``; then the reader runs on ``work/out``, the same directory
    entry by its other name.  The caller's table may link what is below ``view``.
    ``nslink``: bind and link in a child's private mount namespace (the reader run by the
    parent, in the tracer's view): the link's names are no files in the tracer's view, and
    the check took the source for a missing file -- compared in no table.  ``hostlink``:
    in the tracer's namespace (a private copy the test made): compared by the names the
    call spells, ``view/...``, which neither table reads.  ESCAPED on main, both loops.
    Now a link or rename by a name only the task's namespace has, or into a directory
    another mount shows by another name too, is refused (EPERM) where a rule decides by
    name.  Control: natively the reader reads the secret."""
    if os.geteuid() != 0:
        pytest.skip("a mount without a user namespace needs root")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    program = build("escape/fs_linked_table.c")

    def scene(name: str) -> Scene:
        s = Scene.make(tmp_path, name)
        setup_reader(program)(s)
        (s.root / "view").mkdir()
        return s

    s = scene("control")
    native = attack("unshare", *UNSHARE[1:], program, *args(mode)(s), policy_text=None,
                    scene=s)
    assert native.verdict == "ESCAPED", str(native)
    s = scene("traced")
    extra = "".join("\n[[rule]]\n" + body + "\n" for body in (
        permit("namespace"), permit(["fslink", "link"], path=f"{s.root}/view/**"),
        permit("mount", path=f"{s.root.parent}/**")))
    text = two_tables(s, program).replace("\n[program.", extra + "\n[program.", 1)
    traced = attack(program, *args(mode)(s), policy_text=text, scene=s, env=loop,
                    tracer=[*UNSHARE, *SYSTRACE])
    assert "ESCAPED" not in traced.stdout, str(traced)
    assert not (s.work / "out").exists(), str(traced)
    # (nslink: the child's verdict; the parent's open of WORK/out, never made, is the last)
    assert any(line.startswith("BLOCKED: link ") and line.endswith(": EPERM")
               for line in traced.stdout.splitlines()), str(traced)
