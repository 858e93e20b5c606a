"""engine/answered.py and views.answered_by_a_process: which mounts a process answers (FUSE),
and which paths lie below them (red team 44)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from systrace_py.engine import answered
from systrace_py.engine.answered import AnsweredMounts, mounts_fuse
from systrace_py.views import answered_by_a_process

LINE = "{id} 1 0:{id} / {point} rw,relatime shared:1 - {fstype} src rw\n"


@pytest.mark.parametrize(("fstype", "answered"), [
    ("fuse", True), ("fuse.sshfs", True), ("fuseblk", True), ("fusectl", False),
    ("virtiofs", False), ("ext4", False), ("tmpfs", False), ("overlay", False)])
def test_which_file_systems_a_process_answers(fstype: str, answered: bool) -> None:
    assert answered_by_a_process(fstype) is answered


def test_paths_below_a_fuse_mount(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(LINE.format(id=20, point="/", fstype="ext4")
                    + LINE.format(id=21, point="/home/u/remote", fstype="fuse.sshfs")
                    + LINE.format(id=22, point="/mnt/a\\040b", fstype="fuse")
                    + LINE.format(id=23, point="/home/u/remote/tmp", fstype="tmpfs"))
    mounts = AnsweredMounts(str(info))
    assert mounts.current() == ("/home/u/remote", "/mnt/a b")
    assert mounts.below("/home/u/remote")
    assert mounts.below("/home/u/remote/d/secret")
    assert mounts.below("/mnt/a b/x")
    assert not mounts.below("/home/u/remoteX/y")
    assert not mounts.below("/home/u")
    assert not mounts.below("/mnt/a")


def test_an_unreadable_mount_table_makes_every_path_answered(tmp_path: Path) -> None:
    mounts = AnsweredMounts(str(tmp_path / "missing"))
    assert mounts.below("/etc/hostname")


def test_which_calls_a_table_decides_by_name() -> None:
    """Table.decides_by_name(syscall) (review 24): a call below a FUSE mount that is not
    frozen (stat, getxattr...) is refused where a rule may refuse that call by a name (or
    what a lookup passes through), or the default is no permit -- a rule on writes alone
    leaves a stat there alone."""
    from systrace_py.policy.files import loads_policy

    def table(text: str):  # type: ignore[no-untyped-def]
        return loads_policy(text, "p.toml", {"HOME": "/h", "USER": "u", "CWD": "/w"}).main

    writes = table('default = "permit"\n[[rule]]\ncalls = ["fswrite"]\npath = "/s/**"\n'
                   'action = "never"\n')
    reads = table('default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "/s/**"\n'
                  'action = "never"\n')
    never = table('default = "never"\n')
    free = table('default = "permit"\n')
    assert writes.decides_by_name() and reads.decides_by_name() and never.decides_by_name()
    assert not free.decides_by_name()
    assert not writes.decides_by_name("stat") and not writes.decides_by_name("getxattr")
    assert reads.decides_by_name("stat") and reads.decides_by_name("getxattr")
    assert never.decides_by_name("stat") and not free.decides_by_name("stat")


def test_a_forked_process_reads_the_mount_table_through_a_descriptor_of_its_own():
    # (a resident worker is a fork of the server: the kernel's "mount table changed" is kept
    # per open file, so a shared descriptor's change, seen by one, would be lost to the other)
    from systrace_py.engine import answered
    parent = answered.mounts()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        child = answered.mounts()
        os.write(write, b"own" if child is not parent and child.pid == os.getpid() else b"shared")
        os._exit(0)
    os.close(write)
    said = os.read(read, 16)
    os.waitpid(pid, 0)
    os.close(read)
    assert said == b"own"
    assert answered.mounts() is parent


def test_which_calls_make_a_fuse_mount() -> None:
    """A tree that mounts a FUSE type arms the watch for its server (fuse47): mount(2) by its
    type (argument 2), fsopen by its name (argument 0), as the decision read them."""
    args = (0, 0, 0, 0, 0, 0)
    assert mounts_fuse("mount", args, {0: b"src\0", 2: b"fuse\0"})
    assert mounts_fuse("mount", args, {2: b"fuse.sshfs\0"})
    assert mounts_fuse("mount", args, {2: b"fuseblk\0"})
    assert mounts_fuse("fsopen", args, {0: b"fuse\0"})
    assert not mounts_fuse("mount", args, {0: b"fuse\0", 2: b"tmpfs\0"})
    assert not mounts_fuse("mount", args, {2: b"virtiofs\0"})
    assert not mounts_fuse("mount", args, None)
    # (any fsmount: its context's type came from an fsopen that may not have stopped --
    # review 26)
    assert mounts_fuse("fsmount", args, None)


def test_a_server_watch_is_its_tracing_threads_and_ends_with_its_run() -> None:
    """Review 26: the watch fuse47 arms is the run's, of the thread that traces it.  On main
    it was the process's: once one run's tree mounted a FUSE type, every later run of a
    library user's process (api: a run traces in the calling thread) had all its path calls
    decided in Python, and a run traced from another thread was watched at the first run's
    tracing thread -- its own deadlock never seen (fails on main at the second thread's
    ``served_in_tree``)."""
    seen: dict[str, object] = {}

    def first() -> None:
        answered.watch_servers()
        seen["first"] = answered.served_in_tree()
        seen["first_tid"] = threading.get_native_id()

    def second() -> None:
        seen["second_before"] = answered.served_in_tree()
        answered.watch_servers()
        seen["second"] = answered.served_in_tree()
        seen["watched"] = threading.get_native_id() in [
            w.tid for w in getattr(answered, "_WATCHES", {}).values()]
        answered.end_watch()
        seen["second_after"] = answered.served_in_tree()

    for target in (first, second):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    try:
        assert seen["first"] is True
        assert seen["second_before"] is False, seen
        assert seen["second"] is True and seen["watched"] is True, seen
        assert seen["second_after"] is False, seen
        assert not answered.served_in_tree()  # (this thread traced nothing)
    finally:
        watches = getattr(answered, "_WATCHES", {})
        for watch in watches.values():
            watch.stop()
        watches.clear()
