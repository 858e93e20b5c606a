"""Every record type checked against real calls: tests/api/calls.c makes each call with known
arguments (by syscall(2), so the kernel sees exactly that call), and the records a monitor
got are compared field by field -- resolved paths, flag names, modes, uid/gid, socket
addresses, results, errno names, entry against exit."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apihelpers import collect, entries, exits, free_port, one

import systrace_py
from systrace_py.records import (
    AcceptCall,
    BindCall,
    ChmodCall,
    ChownCall,
    CloneCall,
    ConnectCall,
    ExecCall,
    KillCall,
    ListenCall,
    MkdirCall,
    OpenCall,
    ReadCall,
    RenameCall,
    SockAddr,
    SocketCall,
    StatCall,
    UnlinkCall,
    WriteCall,
)

HANDLED = ["open_", "openat", "read", "write", "socket", "chown", "fchown", "lchown",
           "fchownat", "chmod", "fchmod", "fchmodat", "stat", "lstat", "fstat", "newfstatat",
           "statx", "mkdir", "mkdirat", "rename", "renameat2", "unlink", "unlinkat", "rmdir",
           "bind", "listen", "connect", "accept", "accept4", "execve", "clone", "fork", "vfork",
           "kill", "tgkill"]


class Run:
    """One traced run of calls.c with a handler at entry and at exit of every call above."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.dir = os.path.realpath(workdir)
        self.port = free_port()
        handlers: dict[str, Callable[..., Any]] = {}
        for key in HANDLED:
            handlers[key] = collect
            handlers[f"{key}:entry"] = collect
        handlers["@child"] = collect
        self.monitor = systrace_py.HandlerMonitor(handlers, [])
        self.code = self.monitor.run([str(binary), self.dir, str(self.port), "files", "inet",
                                      "unix", "processes"])
        self.records: list[Any] = self.monitor.context

    def path(self, name: str) -> str:
        return f"{self.dir}/{name}"


@pytest.fixture(scope="module")
def run(build: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    binary = build("api/calls.c")
    return Run(binary, tmp_path_factory.mktemp("calls"))


def test_the_program_ran_to_its_end(run: Run) -> None:
    assert run.code == 0


def test_every_exit_record_has_its_entry_record(run: Run) -> None:
    for name in {handled.rstrip("_") for handled in HANDLED}:
        before, after = entries(run.records, name), exits(run.records, name)
        assert len(before) == len(after), name
        for entry, done in zip(before, after, strict=True):
            assert entry.is_entry and entry.result is None and entry.errno is None
            assert not done.is_entry and isinstance(done.result, int)
            assert (entry.pid, entry.args[:1]) == (done.pid, done.args[:1])
            assert type(entry) is type(done)


def test_open(run: Run) -> None:
    created = one(exits(run.records, "open", path=run.path("file")))
    assert isinstance(created, OpenCall)
    assert created.path_as_given == "sub/../file"
    assert created.flag_names == ("O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC")
    assert created.mode == 0o640
    assert created.result == 3 and created.ok and created.errno is None
    assert created.dirfd is None
    entry = one(entries(run.records, "open", path=run.path("file")))
    assert entry.is_entry and entry.result is None and entry.ok is None
    assert entry.flags == created.flags and entry.mode == 0o640
    missing = one(exits(run.records, "open", path=run.path("missing")))
    assert missing.result == -2 and missing.errno == 2 and missing.errno_name == "ENOENT"
    assert missing.mode is None and not missing.ok


def test_openat(run: Run) -> None:
    opened = one(exits(run.records, "openat", path=run.path("file")))
    assert isinstance(opened, OpenCall)
    assert opened.flag_names == ("O_RDONLY",) and opened.path_as_given == "file"
    assert opened.dirfd is not None and opened.dirfd >= 0
    assert opened.result == 4
    missing = one(exits(run.records, "openat", path=run.path("nothere")))
    assert missing.dirfd == -100 and missing.errno_name == "ENOENT"


def test_read_and_write(run: Run) -> None:
    read = one(exits(run.records, "read", fd_path=run.path("file")))
    assert isinstance(read, ReadCall) and not isinstance(read, WriteCall)
    assert read.fd == 4 and read.count == 100 and read.result == 5
    write = one(exits(run.records, "write", fd_path=run.path("file")))
    assert isinstance(write, WriteCall)
    assert write.fd == 3 and write.count == 5 and write.result == 5


def test_socket(run: Run) -> None:
    made = exits(run.records, "socket")
    assert all(isinstance(r, SocketCall) and r.result >= 0 for r in made)
    kinds = [(r.family, r.type_name, r.type_flags) for r in made]
    assert kinds.count(("AF_INET", "SOCK_STREAM", ("SOCK_CLOEXEC",))) == 1
    assert kinds.count(("AF_INET6", "SOCK_STREAM", ("SOCK_CLOEXEC",))) == 1
    assert ("AF_UNIX", "SOCK_DGRAM", ("SOCK_NONBLOCK",)) in kinds
    assert ("AF_INET", "SOCK_STREAM", ()) in kinds


def test_chown_family(run: Run) -> None:
    chown = one(exits(run.records, "chown", path=run.path("file")))
    assert isinstance(chown, ChownCall)
    assert (chown.uid, chown.gid, chown.follow, chown.result) == (1234, 5678, True, 0)
    fchown = one(exits(run.records, "fchown"))
    assert fchown.fd == 4 and fchown.path == run.path("file")
    assert (fchown.uid, fchown.gid) == (-1, 4321)
    lchown = one(exits(run.records, "lchown"))
    assert lchown.path == run.path("link") and not lchown.follow  # the link, not its target
    assert (lchown.uid, lchown.gid) == (42, 43)
    fchownat = one(exits(run.records, "fchownat"))
    assert fchownat.path == run.path("link") and fchownat.path_as_given == "link"
    assert fchownat.flag_names == ("AT_SYMLINK_NOFOLLOW",) and not fchownat.follow
    assert (fchownat.uid, fchownat.gid, fchownat.result) == (7, 8, 0)
    missing = one(exits(run.records, "chown", path=run.path("missing")))
    assert missing.errno_name == "ENOENT" and (missing.uid, missing.gid) == (1, 1)


def test_chmod_family(run: Run) -> None:
    chmod = one(exits(run.records, "chmod"))
    assert isinstance(chmod, ChmodCall)
    assert (chmod.path, chmod.mode, chmod.fd, chmod.result) == (run.path("file"), 0o600,
                                                                None, 0)
    fchmod = one(exits(run.records, "fchmod"))
    assert (fchmod.path, fchmod.mode, fchmod.fd) == (run.path("file"), 0o604, 4)
    fchmodat = one(exits(run.records, "fchmodat"))
    assert (fchmodat.path, fchmodat.mode, fchmodat.path_as_given) == (run.path("file"), 0o640,
                                                                      "file")


def test_stat_family(run: Run) -> None:
    st = one(exits(run.records, "stat", path=run.path("file")))
    assert isinstance(st, StatCall) and st.follow and st.result == 0
    assert st.info is not None
    assert st.info.size == 5 and stat.S_IMODE(st.info.mode) == 0o640
    assert stat.S_ISREG(st.info.mode) and (st.info.uid, st.info.gid) == (1234, 4321)
    assert one(entries(run.records, "stat", path=run.path("file"))).info is None
    lstat = one(exits(run.records, "lstat"))
    assert lstat.path == run.path("link") and not lstat.follow
    assert lstat.info is not None and stat.S_ISLNK(lstat.info.mode)
    assert (lstat.info.uid, lstat.info.gid) == (7, 8)  # fchownat changed the link itself
    fstat = one(exits(run.records, "fstat"))
    assert fstat.fd == 4 and fstat.path == run.path("file")
    assert fstat.info is not None and fstat.info.ino == st.info.ino
    at = one(exits(run.records, "newfstatat", path=run.path("link")))
    assert at.flag_names == ("AT_SYMLINK_NOFOLLOW",) and not at.follow
    assert at.info is not None and stat.S_ISLNK(at.info.mode)
    statx = one(exits(run.records, "statx", path=run.path("file")))
    assert statx.mask == 0x7FF and statx.info is not None
    assert (statx.info.size, statx.info.ino, statx.info.uid) == (5, st.info.ino, 1234)
    assert statx.info.dev == st.info.dev and statx.info.mode == st.info.mode
    missing = one(exits(run.records, "stat", path=run.path("missing")))
    assert missing.errno_name == "ENOENT" and missing.info is None


def test_mkdir_rename_unlink(run: Run) -> None:
    mkdir = one(exits(run.records, "mkdir", path=run.path("newdir"), result=0))
    assert isinstance(mkdir, MkdirCall) and mkdir.mode == 0o751
    again = one(exits(run.records, "mkdir", path=run.path("newdir"), errno_name="EEXIST"))
    assert again.mode == 0o700
    mkdirat = one(exits(run.records, "mkdirat"))
    assert (mkdirat.path, mkdirat.mode, mkdirat.result) == (run.path("dir2"), 0o700, 0)
    rename = one(exits(run.records, "rename"))
    assert isinstance(rename, RenameCall)
    assert (rename.old, rename.new) == (run.path("file"), run.path("newdir/moved"))
    assert rename.paths == {"old": run.path("file"), "new": run.path("newdir/moved")}
    assert rename.result == 0
    noreplace = one(exits(run.records, "renameat2"))
    assert noreplace.flag_names == ("RENAME_NOREPLACE",)
    assert (noreplace.old, noreplace.new) == (run.path("newdir/moved"), run.path("link"))
    assert noreplace.errno_name == "EEXIST"
    unlink = one(exits(run.records, "unlink"))
    assert isinstance(unlink, UnlinkCall)
    assert (unlink.path, unlink.directory, unlink.result) == (run.path("newdir/moved"),
                                                              False, 0)
    unlinkat = one(exits(run.records, "unlinkat"))
    assert (unlinkat.path, unlinkat.directory) == (run.path("dir2"), True)
    assert unlinkat.flag_names == ("AT_REMOVEDIR",)
    rmdir = one(exits(run.records, "rmdir"))
    assert (rmdir.path, rmdir.directory, rmdir.result) == (run.path("newdir"), True, 0)


def test_bind_listen_connect_accept(run: Run) -> None:
    port = run.port
    v4, v6 = SockAddr("inet", "127.0.0.1", port), SockAddr("inet6", "::1", port)
    unix = SockAddr("unix", path=run.path("sock"))
    binds = exits(run.records, "bind")
    assert all(isinstance(b, BindCall) and b.result == 0 for b in binds)
    assert [b.address for b in binds] == [v4, v6, unix]
    listens = exits(run.records, "listen")
    assert all(isinstance(x, ListenCall) for x in listens)
    assert [x.backlog for x in listens] == [7, 7, 3]
    connects = exits(run.records, "connect")
    assert all(isinstance(c, ConnectCall) for c in connects)
    assert [c.address for c in connects[:3]] == [v4, v6, unix]
    assert all(c.result == 0 for c in connects[:3])
    refused = connects[3]
    assert refused.address == SockAddr("inet", "127.0.0.1", 1)
    assert refused.errno_name == "ECONNREFUSED" and refused.result == -111
    accepted = exits(run.records, "accept4")
    assert all(isinstance(a, AcceptCall) for a in accepted)
    for a, host in zip(accepted, ("127.0.0.1", "::1"), strict=True):
        assert a.flag_names == ("SOCK_CLOEXEC",) and a.result >= 0
        assert a.address is not None and a.address.host == host
        assert a.address.port not in (None, port)  # the client's port
    assert all(a.address is None for a in entries(run.records, "accept4"))
    plain = one(exits(run.records, "accept"))
    assert plain.address is None and plain.result >= 0  # accept(fd, NULL, NULL)


def test_execve(run: Run) -> None:
    true = one(exits(run.records, "execve", path=os.path.realpath("/bin/true")))
    assert isinstance(true, ExecCall)
    assert true.argv == ("true", "exec-arg") and true.path_as_given == "/bin/true"
    assert true.result == 0
    missing = one(exits(run.records, "execve", path="/nonexistent/prog"))
    assert missing.errno_name == "ENOENT" and missing.argv == ("x",)


def test_clone_fork_vfork_and_their_children(run: Run) -> None:
    clone = one(exits(run.records, "clone"))
    assert isinstance(clone, CloneCall)
    assert {"CLONE_CHILD_SETTID", "CLONE_CHILD_CLEARTID"} <= set(clone.flag_names)
    assert clone.exit_signal == "SIGCHLD" and clone.result > 0
    fork = one(exits(run.records, "fork"))
    assert fork.flag_names == () and fork.exit_signal == "SIGCHLD" and fork.result > 0
    vfork = one(exits(run.records, "vfork"))
    assert set(vfork.flag_names) == {"CLONE_VM", "CLONE_VFORK"} and vfork.result > 0
    children = {(e.pid, e.parent, e.how) for e in run.records
                if isinstance(e, systrace_py.ChildEvent)}
    parent = clone.pid
    assert children == {(clone.result, parent, "fork"), (fork.result, parent, "fork"),
                        (vfork.result, parent, "vfork")}


def test_kill(run: Run) -> None:
    kills = exits(run.records, "kill")
    assert all(isinstance(k, KillCall) for k in kills)
    me = kills[0].pid
    assert [(k.target, k.signal, k.signal_name, k.result) for k in kills] == [
        (me, 0, None, 0), (me, 10, "SIGUSR1", 0), (999999999, 15, "SIGTERM", -3)]
    assert kills[2].errno_name == "ESRCH"
    tgkill = one(exits(run.records, "tgkill"))
    assert (tgkill.target, tgkill.thread, tgkill.signal_name) == (me, me, "SIGUSR1")


def test_records_are_frozen_and_name_the_process(run: Run) -> None:
    record = exits(run.records, "open")[0]
    with pytest.raises(AttributeError):
        record.path = "/elsewhere"  # type: ignore[misc]
    assert record.program.endswith("/calls") and record.tid == record.pid
    with pytest.raises(systrace_py.ControlError):
        record.refuse()  # the handler has returned: nothing can be asked any more
