"""Known gap #44 (review 28), closed by gap44: a loop device's attach -- LOOP_SET_FD,
LOOP_CHANGE_FD, LOOP_CONFIGURE (its descriptor in a struct in memory) -- hands the device a
descriptor whose file it then reads, and writes unless it is read-only, whatever the
descriptor's access mode.  The attach is now decided as an open of that file for reading (and
writing), by its name in the caller's table (Supervisor._loop_attach), and in every other
table as a link is (the device a new name for the file's bytes: Table.attached_elsewhere);
held against a sibling's dup2 of the number and a thread's rewrite of the struct (the tree
frozen, the struct copied: DecodedCall.loop_backing, loop_stayed).  loop_wo.c's modes, native
controls, both stop loops; losetup and ``mount -o loop`` keep working under a permit-default
policy."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    Scene,
    btrfs_subvolume,
    controlled_and_blocked,
    mounted_btrfs,
    never,
    permit,
    policy,
)
from test_escape_redteam49 import SYSTEM, program_table

from conftest import Traced

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                                reason="loop devices: root, /dev/loop-control")


def sectors(s: Scene) -> None:
    # (a loop device is the file's whole 512-byte sectors: the secret, then zeros; a decoy
    # of the same size, which the table reads and writes)
    s.secret.write_bytes(f"{SECRET_MAGIC}\n".encode().ljust(4096, b"\0"))
    (s.work / "decoy.img").write_bytes(bytes(4096))


def write_only(program: Path) -> Callable[[Scene], str]:
    """A table that writes the secret (no read of it), reads ``/dev/**``, writes the loop
    devices and reads and writes the decoy; ``permit ioctl`` first (no lift of the attach)."""

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        return policy(*start, permit("fswrite", path=str(s.secret)),
                      permit(["fsread", "fswrite"], path=str(s.work / "decoy.img")),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"),
                      default="never")
    return rules


@pytest.mark.parametrize("mode", ["configure", "race", "configrace"])
def test_a_loop_attach_is_decided_as_an_open_of_its_file(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """``configure``: LOOP_CONFIGURE, the secret's descriptor in its struct: refused, EPERM.
    ``race``: LOOP_SET_FD of a number a thread keeps turning between the decoy and the secret
    (dup2); ``configrace``: LOOP_CONFIGURE of a struct whose fd a thread keeps rewriting: 400
    attaches each, the secret never attached (the decoy is).  Controls: natively the secret
    is read through the device.  ESCAPED on main 21fe4ac, both loops, every mode."""
    program = build("escape/loop_wo.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secret, mode, s.work / "decoy.img"],
        write_only(program), setup=sectors, env=loop, timeout=120)
    request = "LOOP_SET_FD" if mode == "race" else "LOOP_CONFIGURE"
    assert traced.detail.startswith(request), str(traced)
    if mode == "configure":
        assert traced.detail.endswith(": EPERM"), str(traced)
    else:
        assert "none the secret" in traced.detail, str(traced)


def test_a_loop_device_is_a_new_name_in_every_table(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The caller's table reads and writes the secret; another program's table reads
    ``/dev/**`` and not the secret: attached, the secret would be that program's to read at
    ``/dev/loopN`` -- refused, EPERM (linked access), as a link of it there is.  Control:
    natively read through the device.  ESCAPED on main 21fe4ac (the attach was decided by
    nothing but ``ioctl``)."""
    program = build("escape/loop_wo.c")
    reader = shutil.which("dd") or "/usr/bin/dd"

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        main = policy(*start, permit(["fsread", "fswrite"], path=str(s.secret)),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"), default="never")
        return main + program_table(Path(reader), permit("stdio"),
                                    permit("fsread", path="/dev/**"))

    traced, _ = controlled_and_blocked(tmp_path, program, lambda s: [s.secret], rules,
                                       setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_loop_device_is_compared_by_its_dev_name_too(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 30: the attach made through a node of the device made elsewhere (mknod of its
    number in the work directory: the /proc link names that node), then dd -- a table of
    its own that reads ``/dev/**`` and not the secret -- reads the device by its /dev name.
    Table.attached_elsewhere compared the node's name only: dd's table reads no name below
    the work directory, and the attach was permitted.  Now the device's /dev name (sysfs's
    DEVNAME) is compared too: refused, EPERM (linked access).  Control: natively dd reads
    the secret.  ESCAPED on main da3cad3, both loops."""
    program = build("escape/loop_wo.c")
    reader = shutil.which("dd") or "/usr/bin/dd"

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        main = policy(*start, permit(["fsread", "fswrite"], path=str(s.secret)),
                      permit(["fsread", "fswrite"], path=f"{s.work}/**"),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"), default="never")
        return main + program_table(Path(reader), permit("stdio"),
                                    *(permit("fsread", path=p) for p in SYSTEM))

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secret, "node", s.work / "node", reader], rules,
        setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_loop_attach_through_a_partition_is_the_disks(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """loose30: an ioctl on a partition is its disk's (lo_ioctl takes bdev->bd_disk), and a
    partition made by BLKPG_ADD_PARTITION on a loop device outlives its detach.  The program
    attaches the decoy, adds partition 1, detaches, then attaches the secret (open for
    writing only) through ``/dev/loopNp1``: the device's number is a partition's (major 259),
    no loop device's, and the attach was not decided at all -- the secret read at
    ``/dev/loopN``.  Now a partition of a loop device is the disk (sysfs): decided as an open
    of the secret for reading and writing, refused (EPERM).  Control: natively the secret is
    read.  ESCAPED on main ea6c2ba, both loops."""
    program = build("escape/loop_wo.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secret, "partition", s.work / "decoy.img"],
        write_only(program), setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD /dev/loop"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_loop_devices_partitions_are_compared_as_its_names(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """loose30: the caller's table reads and writes the secret; dd's (a table of its own)
    reads the loop devices' partitions (``/dev/loop*p*``) and neither ``/dev/loopN`` nor the
    secret.  The program attaches the secret at ``/dev/loopN`` (compared by that name: dd's
    table does not read it), adds partition 1 over its first 4096 bytes (BLKPG) and dd
    reads ``/dev/loopNp1``: the secret.  Now every partition name the device may have
    (``/dev/loopNp1``...``p255``: one may be made at any time) is compared as the device's:
    refused, EPERM (linked access).  Control: natively dd reads the secret.  ESCAPED on
    main ea6c2ba, both loops."""
    program = build("escape/loop_wo.c")
    reader = shutil.which("dd") or "/usr/bin/dd"

    def rules(s: Scene) -> str:
        start = [permit("stdio"), permit("process"), permit("ioctl")]
        start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
        main = policy(*start, permit(["fsread", "fswrite"], path=str(s.secret)),
                      permit("fswrite", path="/dev/loop{-control,[0-9]*}"), default="never")
        return main + program_table(Path(reader), permit("stdio"),
                                    *(permit("fsread", path=p) for p in SYSTEM
                                      if p != "/dev/**"),
                                    permit("fsread", path="/dev/loop*p*"))

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secret, "parts", "-", reader], rules,
        setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD /dev/loop"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_removed_file_is_decided_by_the_name_it_had(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 30: a permit-default table with one ``never fsread`` rule naming the secret;
    the program opens it for writing (permitted), removes it (permitted), and attaches the
    descriptor: /proc names the file ``SECRET (deleted)``, which the rule does not match,
    and the attach was decided as an open of that name -- permitted, the secret read at
    /dev/loopN.  Now decided by ``SECRET`` too: refused (the rule's EACCES).  Control:
    natively the removed secret is read through the device.  ESCAPED on main da3cad3, both
    loops."""
    program = build("escape/loop_wo.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [s.secret, "deleted"],
        lambda s: policy(never("fsread", path=str(s.secret))), setup=sectors, env=loop)
    assert traced.detail.startswith("LOOP_SET_FD"), str(traced)
    assert traced.detail.endswith(": EACCES"), str(traced)


def _run(traced: Traced, rules: str, *command: str, env: dict[str, str]) -> str:
    done = traced.run(rules, *command, env=env)
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None,
                    reason="no losetup or mkfs.ext4")
def test_losetup_and_mount_o_loop_work_under_a_permit_default_policy(
        traced: Traced, tmp_path: Path, loop: dict[str, str]) -> None:
    """A permit-default policy with one path rule (``never`` of another directory): losetup
    attaches a file the table reads and writes (and ``-r`` one it opens read-only; and with
    ``-r`` a file the table may read and not write), the device reads it, ``losetup -d``
    detaches it; ``mount -o loop`` of an ext4 image shows
    its file, and unmounts.  The attach is decided as an open of the image: permitted."""
    image = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image), "4M"], check=True,
                   capture_output=True)
    plain = tmp_path / "plain.img"
    plain.write_bytes(b"PLAIN-BYTES\n".ljust(4096, b"\0"))
    (tmp_path / "secd").mkdir()
    rules = policy(never("fsread", path=f"{tmp_path}/secd/**"))
    for flags in ([], ["-r"]):
        device = _run(traced, rules, "losetup", *flags, "-f", "--show", str(plain),
                      env=loop).strip()
        assert device.startswith("/dev/loop"), device
        try:
            with open(device, "rb") as seen:
                assert seen.read(12) == b"PLAIN-BYTES\n"
        finally:
            _run(traced, rules, "losetup", "-d", device, env=loop)
    # (a file the table reads and may not write: attached read-only, decided as a read)
    rules_ro = policy(never("fswrite", path=str(plain)))
    device = _run(traced, rules_ro, "losetup", "-r", "-f", "--show", str(plain),
                  env=loop).strip()
    try:
        with open(device, "rb") as seen:
            assert seen.read(12) == b"PLAIN-BYTES\n"
    finally:
        _run(traced, rules_ro, "losetup", "-d", device, env=loop)
    target = tmp_path / "mnt"
    target.mkdir()
    script = (f"mount -o loop {image} {target} && echo hello > {target}/f && "
              f"cat {target}/f && umount {target}")
    assert _run(traced, rules, "sh", "-c", script, env=loop).strip() == "hello"


@pytest.fixture
def btrfs_snapshot(tmp_path: Path) -> Iterator[Path]:
    """A btrfs image mounted at ``tmp_path/btrfs``, with a read-only snapshot ``snap`` of a
    subvolume holding the secret; unmounted after the test."""
    with mounted_btrfs(tmp_path) as mounted:
        btrfs_subvolume(mounted / "sub", "secret.txt", SECRET_MAGIC)
        subprocess.run(["btrfs", "subvolume", "snapshot", "-r", str(mounted / "sub"),
                        str(mounted / "snap")], check=True, capture_output=True)
        yield mounted / "snap"


def test_a_btrfs_send_of_a_subvolume_holding_a_refused_file_is_refused(
        build, tmp_path: Path, btrfs_snapshot: Path, loop: dict[str, str]) -> None:
    """BTRFS_IOC_SEND writes every file of a read-only subvolume into a descriptor: a table
    that refuses the secret in it (one ``never`` rule, default permit) let the program read
    it in the stream.  Now refused, EPERM, where a rule decides by name (the stream's files
    are named to no rule).  Control: natively the stream holds the secret.  ESCAPED on main
    21fe4ac, both loops."""
    program = build("escape/btrfs_send.c")
    secret = btrfs_snapshot / "secret.txt"
    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [btrfs_snapshot, s.work / "stream"],
        lambda s: policy(never("fsread", path=str(secret))), env=loop)
    assert traced.detail.startswith("BTRFS_IOC_SEND"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


@pytest.fixture
def btrfs_mounted(tmp_path: Path) -> Iterator[tuple[Path, dict[Path, str]]]:
    """A btrfs image mounted at ``tmp_path/fs``, and a dict that ``victim`` fills (a scene's
    image -> its loop device); unmounted, then the devices detached, after the test."""
    if shutil.which("mkfs.btrfs") is None or shutil.which("losetup") is None:
        pytest.skip("no btrfs-progs or losetup")
    image, mounted = tmp_path / "btrfs.img", tmp_path / "fs"
    with open(image, "wb") as f:
        f.truncate(200 << 20)
    subprocess.run(["mkfs.btrfs", "-q", "-f", str(image)], check=True, capture_output=True)
    mounted.mkdir()
    if subprocess.run(["mount", "-o", "loop", str(image), str(mounted)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a btrfs image")
    devices: dict[Path, str] = {}
    try:
        yield mounted, devices
    finally:
        subprocess.run(["umount", str(mounted)], capture_output=True)
        for device in devices.values():
            subprocess.run(["losetup", "-d", device], capture_output=True)


@pytest.mark.parametrize("request_", ["add", "replace"])
def test_a_btrfs_device_add_of_a_device_a_rule_refuses_to_write_is_refused(
        build, tmp_path: Path, btrfs_mounted: tuple[Path, dict[Path, str]],
        loop: dict[str, str], request_: str) -> None:
    """Review 30: BTRFS_IOC_ADD_DEV names a device by a path in its struct, which the kernel
    opens and writes (a btrfs superblock, then the file system's data): a permit-default
    table with one ``never fswrite`` rule on a loop device (over an image attached outside
    the tree) let the program write it.  Now refused, EPERM, where a rule decides by name, as
    BTRFS_IOC_SEND is (the path is named to no rule).  Control: natively the image gets the
    superblock.  ``replace``: BTRFS_IOC_DEV_REPLACE of the file system's device 1 by it (its
    tgtdev_name: the kernel copies the file system onto it), the same.  ESCAPED on main
    da3cad3, both loops, each."""
    program = build("escape/btrfs_adddev.c")
    mounted, devices = btrfs_mounted

    def victim(s: Scene) -> None:
        image = s.work / "victim.img"
        with open(image, "wb") as f:
            f.truncate(300 << 20)
        devices[image] = subprocess.run(["losetup", "-f", "--show", str(image)], check=True,
                                        capture_output=True, text=True).stdout.strip()

    traced, _ = controlled_and_blocked(
        tmp_path, program,
        lambda s: [mounted, devices[s.work / "victim.img"], s.work / "victim.img",
                   *(["replace"] if request_ == "replace" else [])],
        lambda s: policy(never("fswrite", path=devices[s.work / "victim.img"])),
        setup=victim, env=loop)
    assert traced.detail.startswith("BTRFS_IOC_ADD_DEV" if request_ == "add"
                                    else "BTRFS_IOC_DEV_REPLACE"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
