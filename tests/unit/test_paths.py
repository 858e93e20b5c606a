"""The resolver against the kernel: for every spelling, what the resolver says is what the
kernel's own lookup does -- the same object, the same missing last name, or the same errno --
and the spelling the holder would hand the kernel in its place does the same again.

These run the resolver on this very process (its cwd, its descriptors, its /proc/self): no
tracer is needed to ask the kernel how it resolves a path for a task, only the task."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systrace_py.engine.paths import MAX_SYMLINKS, PathResolver, Resolved, Unresolvable

PATH_MAX = 4096
ME = os.getpid()


def kernel(raw: str, dirfd: int, follow: bool) -> os.stat_result | int:
    """What the kernel's lookup reaches (an O_PATH open: no permission, no side effect)."""
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(raw, flags, dir_fd=dirfd)
    except OSError as exc:
        return exc.errno or 0
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def resolve(raw: str, dirfd: int, follow: bool = True) -> Resolved | int:
    try:
        return PathResolver().resolve(ME, ME, raw, dirfd, follow)
    except Unresolvable as exc:
        return exc.errno


def identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def spelling(found: Resolved) -> str:
    """What the holder hands the kernel instead of the call's own spelling."""
    return found.path + ("/" if found.slash and found.path != "/" else "")


def assert_same_as_kernel(raw: str, dirfd: int, follow: bool) -> None:
    native = kernel(raw, dirfd, follow)
    found = resolve(raw, dirfd, follow)
    where = f"{raw!r} follow={follow}: kernel {native}, resolver {found}"
    if isinstance(found, int):
        assert found == native, where
        return
    assert not found.pseudo, where
    if found.unreachable:
        # a directory on the way is missing: whatever the name, the kernel says ENOENT
        assert native == errno.ENOENT and not found.exists, where
    elif isinstance(native, int):
        # the lookup fails, but only in a way the resolver's name fails too: a missing last
        # name, or a trailing slash after something that is not a directory
        assert native in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP), where
        if native == errno.ENOENT:
            # (one name not followed, in a known directory, is not even looked at: whether
            # it exists matters to no rule, see PathResolver._simple)
            assert not found.exists or (not follow and "/" not in raw), where
            parent = os.path.dirname(found.path)
            assert stat.S_ISDIR(os.stat(parent).st_mode), where
    else:
        assert found.exists, where
        assert identity(os.stat(found.path, follow_symlinks=False)) == identity(native), where
    # and the spelling handed to the kernel in place of the call's own does just the same
    if not (found.literal_last or found.keep_spelling):
        again = kernel(spelling(found), -100, follow)
        if isinstance(native, int):
            assert again == native, f"{where}; spelling {spelling(found)!r} gives {again}"
        else:
            assert not isinstance(again, int) and identity(again) == identity(native), where


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A tree with every kind of link the kernel follows: relative, absolute, to a
    directory, dangling, through a missing directory, a loop, with trailing slashes, into
    /proc/self and through a magic link."""
    top = tmp_path_factory.mktemp("tree")
    (top / "d1" / "d2").mkdir(parents=True)
    (top / "d1" / "f").write_text("f")
    (top / "f0").write_text("f0")
    links = {
        "l_f0": "f0", "l_d1": "d1", "l_abs": str(top / "d1" / "d2"), "l_up": "d1/..",
        "l_dang": "nothing", "l_dang_dir": "nodir/x", "l_loop1": "l_loop2",
        "l_loop2": "l_loop1", "l_self": "/proc/self", "l_slash": "d1/", "l_fslash": "f0/",
        "l_dangslash": "newdir/", "l_root": "/", "l_dot": ".", "l_devfd": "/dev/fd",
        "l_mounts": "/proc/mounts", "l_task": f"/proc/thread-self/../../{ME}/task",
    }
    for name, target in links.items():
        (top / name).symlink_to(target)
    d1 = os.open(top / "d1", os.O_PATH | os.O_DIRECTORY)
    (top / "l_fd").symlink_to(f"/proc/self/fd/{d1}")
    (top / "l_cwdfd").symlink_to(f"/proc/self/fd/{d1}/../f0")
    dirfd = os.open(top, os.O_PATH | os.O_DIRECTORY)
    try:
        yield top, dirfd
    finally:
        os.close(d1)
        os.close(dirfd)


NAMES = ["d1", "d2", "f", "f0", "missing", "l_f0", "l_d1", "l_abs", "l_up", "l_dang",
         "l_dang_dir", "l_loop1", "l_self", "l_slash", "l_fslash", "l_dangslash", "l_root",
         "l_dot", "l_fd", "l_cwdfd", "l_devfd", "l_mounts", "l_task", str(ME), "status", "fd",
         "cwd", "root", "..", ".", "self"]


# (the strategies spellings draws from are made once, here, not at every draw: a list's
# sampled_from made anew was validated and labelled by hypothesis each time; the same
# strategies draw the very same examples)
_PARTS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=5)
_SEPARATORS = st.sampled_from(["/", "//", "/./"])
_STARTS = st.sampled_from(["", "/proc/self/cwd/", "/proc/thread-self/cwd/",
                           f"/proc/{ME}/task/{ME}/cwd/", "/proc/self/root/proc/self/cwd/"])
_ENDS = st.sampled_from(["", "/", "//"])


@st.composite
def spellings(draw: st.DrawFn) -> str:
    parts = draw(_PARTS)
    seps = [draw(_SEPARATORS) for _ in parts[1:]]
    text = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
    start = draw(_STARTS)
    return start + text + draw(_ENDS)


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=spellings(), follow=st.booleans())
def test_the_resolver_does_what_the_kernel_does(tree, raw, follow):
    top, dirfd = tree
    old = os.getcwd()
    os.chdir(top)  # /proc/self/cwd/... and relative spellings start here
    try:
        assert_same_as_kernel(raw, dirfd, follow)
    finally:
        os.chdir(old)


@pytest.mark.parametrize("length", [MAX_SYMLINKS - 1, MAX_SYMLINKS, MAX_SYMLINKS + 1])
@pytest.mark.parametrize("kind", ["file", "directory", "missing"])
def test_the_symlink_limit_is_the_kernels(tmp_path, length, kind):
    """A chain of 40 links resolves, 41 is ELOOP -- at the end of a path and on the way."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "file").write_text("x")
    target = {"file": "dir/file", "directory": "dir", "missing": "dir/new"}[kind]
    for i in range(length):
        (tmp_path / f"c{i}").symlink_to(f"c{i + 1}" if i + 1 < length else target)
    dirfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        for raw in ("c0", "c0/", "c0/.", "./c0", "dir/../c0"):
            assert_same_as_kernel(raw, dirfd, True)
        found = resolve("c0", dirfd)
        if length > MAX_SYMLINKS:
            assert found == errno.ELOOP
        else:
            assert isinstance(found, Resolved) and found.path == str(tmp_path / target)
    finally:
        os.close(dirfd)


def test_links_followed_on_the_way_count_with_the_last(tmp_path):
    """The kernel counts every link of one lookup, wherever it is in the path."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    for i in range(20):
        (tmp_path / f"a{i}").symlink_to(f"a{i + 1}" if i < 19 else "d")
        (tmp_path / "d" / f"b{i}").symlink_to(f"b{i + 1}" if i < 19 else "f")
    (tmp_path / "d" / "extra").symlink_to("b0")
    dirfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        assert_same_as_kernel("a0/b0", dirfd, True)   # 40 links
        assert_same_as_kernel("a0/extra", dirfd, True)  # 41 links
        assert resolve("a0/extra", dirfd) == errno.ELOOP
    finally:
        os.close(dirfd)


def test_creating_through_a_dangling_link_names_its_target(tmp_path):
    """open(O_CREAT) follows a dangling symlink and creates what it points at: that (not the
    link) is the path decided on -- through a chain, absolute or relative, via a directory
    link -- and a trailing slash in the link is kept for the kernel (EISDIR, not a file)."""
    (tmp_path / "prot").mkdir()
    (tmp_path / "dlink").symlink_to("prot")
    cases = {
        "rel": "prot/new1", "abs": str(tmp_path / "prot" / "new2"), "via": "dlink/new3",
        "chain": "rel2",
    }
    (tmp_path / "rel2").symlink_to("prot/new4")
    for name, target in cases.items():
        (tmp_path / name).symlink_to(target)
    expected = {"rel": "new1", "abs": "new2", "via": "new3", "chain": "new4"}
    dirfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        for name, made in expected.items():
            found = resolve(name, dirfd)
            assert isinstance(found, Resolved), (name, found)
            assert found.path == str(tmp_path / "prot" / made) and not found.exists, found
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=dirfd))
            assert (tmp_path / "prot" / made).is_file()
        (tmp_path / "slashed").symlink_to("prot/newdir/")
        found = resolve("slashed", dirfd)
        assert isinstance(found, Resolved) and found.slash, found
        with pytest.raises(IsADirectoryError):
            os.open(spelling(found), os.O_CREAT | os.O_WRONLY, 0o600)
    finally:
        os.close(dirfd)


def test_magic_links_jump_to_the_object_not_its_text(tmp_path):
    """/proc/self/fd/N of a directory that was moved, and of one whose name was replaced by
    another directory: the object the descriptor holds, wherever its text pointed."""
    (tmp_path / "held").mkdir()
    (tmp_path / "held" / "inside").write_text("x")
    fd = os.open(tmp_path / "held", os.O_PATH | os.O_DIRECTORY)
    try:
        os.rename(tmp_path / "held", tmp_path / "moved")
        (tmp_path / "held").mkdir()  # the old name now names another directory
        found = resolve(f"/proc/self/fd/{fd}/inside", -100)
        assert isinstance(found, Resolved) and found.path == str(tmp_path / "moved" / "inside")
        assert_same_as_kernel(f"/proc/self/fd/{fd}/inside", -100, True)
        assert_same_as_kernel(f"/proc/thread-self/fd/{fd}/../moved/inside", -100, True)
    finally:
        os.close(fd)


def test_an_object_without_a_name_is_pseudo_or_refused(tmp_path):
    r, w = os.pipe()
    try:
        found = resolve(f"/proc/self/fd/{r}", -100)
        assert isinstance(found, Resolved) and found.pseudo and found.path.startswith("pipe:")
        assert resolve(f"/proc/self/fd/{r}/x", -100) == errno.ENOTDIR
        assert resolve("x", r) == errno.ENOTDIR  # a pipe as the start directory
    finally:
        os.close(r)
        os.close(w)
    assert resolve("x", 1000) == errno.EBADF


def test_a_removed_start_directory(tmp_path):
    """From a removed directory ".." still leads out; nothing can be made inside it."""
    (tmp_path / "gone").mkdir()
    (tmp_path / "kept").write_text("x")
    fd = os.open(tmp_path / "gone", os.O_PATH | os.O_DIRECTORY)
    try:
        os.rmdir(tmp_path / "gone")
        found = resolve("../kept", fd)
        assert isinstance(found, Resolved) and found.path == str(tmp_path / "kept")
        assert resolve("new", fd) == errno.ENOENT
        dot = resolve(".", fd)
        assert isinstance(dot, Resolved) and dot.pseudo
    finally:
        os.close(fd)


def deep_tree(top: Path, total: int) -> tuple[int, str]:
    """A directory whose absolute name is longer than ``total`` bytes (made with mkdirat from
    descriptors: no path that long is ever handed to the kernel); its O_PATH descriptor and
    its name."""
    part = "d" * 200
    fd = os.open(top, os.O_PATH | os.O_DIRECTORY)
    name = str(top)
    while len(name) <= total:
        os.mkdir(part, dir_fd=fd)
        nxt = os.open(part, os.O_PATH | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, name = nxt, f"{name}/{part}"
    return fd, name


def test_a_start_directory_deeper_than_path_max(tmp_path):
    """/proc cannot give the start directory's name: it is built from the object."""
    (tmp_path / "secret").write_text("x")
    fd, name = deep_tree(tmp_path, PATH_MAX + 500)
    try:
        os.mkdir("sub", dir_fd=fd)
        os.close(os.open("file", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
        assert len(name) > PATH_MAX
        for raw, path, exists in [("file", f"{name}/file", True), ("new", f"{name}/new", False),
                                  ("sub/../file", f"{name}/file", True), (".", name, True),
                                  ("sub/", f"{name}/sub", True)]:
            found = resolve(raw, fd)
            assert isinstance(found, Resolved), (raw, found)
            assert (found.path, found.exists) == (path, exists), raw
        up = "/".join([".."] * name[len(str(tmp_path)):].count("/")) + "/secret"
        found = resolve(up, fd)
        assert isinstance(found, Resolved) and found.path == str(tmp_path / "secret")
        assert PathResolver().fd_path(ME, fd) == name
    finally:
        os.close(fd)


def test_a_path_longer_than_path_max_is_enametoolong(tmp_path):
    assert resolve("x/" * 2048, -100) == errno.ENAMETOOLONG
    assert resolve("y" * 256, -100) == kernel("y" * 256, -100, True) == errno.ENAMETOOLONG


def other_view(argv: list[str]) -> subprocess.Popen[str]:
    """A process that prints "ready" once it stands where the test wants it."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare(1)")
def test_a_task_in_another_mount_namespace_is_resolved_in_its_view(tmp_path):
    """Its tree is not the tracer's: paths (and /proc/self, its own /proc) are walked in its
    view.  A file the tracer's view has is named as there; one only its namespace has is
    named as there -- when the tracer followed the namespace from its own (a copy the tree
    made: trusted), and otherwise has no name a rule could match."""
    script = (f"mount -t tmpfs none {tmp_path} && echo x > {tmp_path}/f && cd {tmp_path} "
              "&& echo ready && exec sleep 30")
    proc = other_view(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c",
                       script])
    try:
        # unshare --fork: its child (pid 1 of the new namespace) is the shell, now sleep
        pid = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)], text=True).split()[0])
        resolver = PathResolver()
        followed = resolver.view_of(pid, resolver.view_of(os.getpid()))
        assert not followed.host and resolver.namespaces[followed.namespace].trusted
        for raw, path in [("f", f"{tmp_path}/f"), (f"{tmp_path}/f", f"{tmp_path}/f"),
                          ("/proc/self/cwd/f", f"{tmp_path}/f"),
                          ("/proc/self/status", "/proc/1/status"),
                          ("/etc/passwd", "/etc/passwd")]:
            found = resolver.resolve(pid, pid, raw, -100, True, followed)
            assert (found.path, found.exists, found.unnamed) == (path, True, False), raw
            assert found.local == path, raw  # (its root is the namespace's)
        assert not (tmp_path / "f").exists()  # the tracer's view has no such file
        joined = PathResolver().view_of(pid)  # a namespace the tracer did not see made
        found = PathResolver().resolve(pid, pid, "f", -100, True, joined)
        assert found.unnamed and found.local == f"{tmp_path}/f"
        found = PathResolver().resolve(pid, pid, "/etc/passwd", -100, True, joined)
        assert (found.path, found.unnamed) == ("/etc/passwd", False)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_a_chrooted_task_is_resolved_in_its_view(tmp_path):
    """The walk is the task's: "/" is its root, ".." stops there, absolute links start there.
    The names are the tracer's (rules name files in its view): the task's /etc/x is
    ROOT/etc/x; ``local`` is the task's own spelling (what the kernel is handed)."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "x").write_text("x")
    (tmp_path / "etc" / "abs").symlink_to("/etc/x")
    code = (f"import os, time; os.chroot({str(tmp_path)!r}); os.chdir('/etc'); "
            "print('ready', flush=True); time.sleep(30)")
    proc = other_view([sys.executable, "-c", code])
    try:
        resolver = PathResolver()
        view = resolver.view_of(proc.pid, resolver.view_of(os.getpid()))
        assert not view.host
        for raw, local, exists in [("x", "/etc/x", True), ("/../../etc/x", "/etc/x", True),
                                   ("abs", "/etc/x", True), ("../../../etc/abs", "/etc/x", True),
                                   ("/proc", "/proc", False), ("new", "/etc/new", False)]:
            found = resolver.resolve(proc.pid, proc.pid, raw, -100, True, view)
            assert (found.path, found.local, found.exists) == \
                (f"{tmp_path}{local}", local, exists), (raw, found)
    finally:
        proc.kill()
        proc.wait()


def test_a_missing_directory_on_the_way(tmp_path):
    """The kernel says ENOENT whatever is decided; the name, for rules and redirects, is the
    spelling's from the last directory that exists -- and where that name would end elsewhere
    than the spelling (a "." or ".." after the missing directory), it is never handed over."""
    (tmp_path / "f").write_text("x")
    (tmp_path / "to_nowhere").symlink_to("nodir/sub")
    dirfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        for raw, path, keep in [("missing/x", "missing/x", False),
                                ("missing/x/", "missing/x", False),
                                ("to_nowhere/y", "nodir/sub/y", False),
                                ("missing/.", "missing", True),
                                ("missing/../f", "f", True),
                                (f"{tmp_path}/missing/deeper/x", "missing/deeper/x", False)]:
            found = resolve(raw, dirfd)
            assert isinstance(found, Resolved), (raw, found)
            assert found.unreachable and not found.exists, (raw, found)
            assert (found.path, found.keep_spelling) == (f"{tmp_path}/{path}", keep), raw
            assert kernel(raw, dirfd, True) == errno.ENOENT
    finally:
        os.close(dirfd)


def test_a_thousand_components_hold_nothing_up(tmp_path):
    """A path of 2000 missing names, or of 800 "d/.." steps, or 30 absolute symlinks: one
    pass each (no nested lookups, no descriptor kept per step), even with few descriptors."""
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    (tmp_path / "up").symlink_to(str(tmp_path))
    dirfd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    code = f"""
import os, resource
from systrace_py.engine.paths import PathResolver
resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))
r, me = PathResolver(), os.getpid()
print(r.resolve(me, me, "m/" * 2000, {dirfd}).path)
print(r.resolve(me, me, "d/../" * 800 + "f", {dirfd}).path)
print(r.resolve(me, me, "up/" * 30 + "f", {dirfd}).path)
"""
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             pass_fds=(dirfd,), check=True).stdout.split()
    finally:
        os.close(dirfd)
    assert out == [str(tmp_path) + "/m" * 2000, f"{tmp_path}/f", f"{tmp_path}/f"]


_CREDS = st.builds(lambda uid, gid, groups, override: (uid, gid, frozenset(groups), override),
                   st.sampled_from([0, 1000, 65534]), st.sampled_from([0, 1000, 65534]),
                   st.sets(st.sampled_from([0, 4, 1000])), st.booleans())


@pytest.fixture(scope="module")
def owned_dirs(tmp_path_factory) -> Iterator[list[int]]:
    """Directories of every owner and group of _CREDS, in modes that tell them apart."""
    if os.geteuid() != 0:
        pytest.skip("needs root (directories of other owners)")
    base = tmp_path_factory.mktemp("owned")
    fds = []
    for n, (uid, gid, mode) in enumerate((u, g, m) for u in (0, 1000, 65534)
                                         for g in (0, 4, 1000, 65534)
                                         for m in (0o700, 0o070, 0o007, 0o710, 0o001)):
        d = base / str(n)
        d.mkdir()
        os.chown(d, uid, gid)
        d.chmod(mode)
        fds.append(os.open(d, os.O_PATH | os.O_DIRECTORY))
    yield fds
    for fd in fds:
        os.close(fd)


@given(a=_CREDS, b=_CREDS)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_credentials_search_alike_only_when_may_search_reads_the_same(owned_dirs, a, b):
    """searches_as: both override the DAC check, or neither does and what may_search reads
    (fsuid, fsgid, groups) is the same -- and then both may search the same directories."""
    from systrace_py.engine.paths import Credentials

    x, y = Credentials(*a), Credentials(*b)
    expected = (a[3] and b[3]) or (not a[3] and not b[3] and a[:3] == b[:3])
    assert x.searches_as(y) == y.searches_as(x) == expected
    assert x.searches_as(x)
    if expected:
        assert [x.may_search(fd) for fd in owned_dirs] == [y.may_search(fd) for fd in owned_dirs]
    elif a[3] != b[3] or a[0] != b[0]:
        # an override, or another owner: some directory tells them apart
        assert [x.may_search(fd) for fd in owned_dirs] != [y.may_search(fd) for fd in owned_dirs]


@given(a=_CREDS, uids=st.lists(st.sampled_from([0, 4, 1000, 65534]), max_size=3),
       gids=st.lists(st.sampled_from([0, 4, 1000, 65534]), max_size=3))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_capabilities_in_another_user_namespace_hold_over_mapped_owners_only(
        owned_dirs, a, uids, gids):
    """A task in another user namespace (maps: its uid and gid ranges): its capabilities
    override the check on a directory only when the directory's owner and group are both
    mapped into it (capable_wrt_inode_uidgid); elsewhere the owner, group and other bits
    decide as for a task without them.  It never searches as the tracer's namespace does."""
    from systrace_py.engine.paths import Credentials

    maps = (tuple((u, 1) for u in uids), tuple((g, 1) for g in gids))
    inside = Credentials(*a[:3], a[3], maps)
    bare = Credentials(*a[:3], False)
    assert not inside.override and not inside.searches_as(inside)
    for fd in owned_dirs:
        info = os.fstat(fd)
        mapped = info.st_uid in uids and info.st_gid in gids
        assert inside.may_search(fd) == (bare.may_search(fd) or (a[3] and mapped)), info


@given(st.lists(st.sampled_from([".", "..", "a", ".a", "a.", "..b", "...", ""]), max_size=6))
def test_a_dotted_spelling_is_one_with_a_dot_component(parts):
    """_dotted (string tests, on every resolve) is: some component is "." or ".."."""
    from systrace_py.engine.paths import _dotted

    for path in ("/".join(parts), "/" + "/".join(parts)):
        assert _dotted(path) == any(c in (".", "..") for c in path.split("/")), path


def test_mount_id_is_the_id_fdinfo_gives() -> None:
    """ptrace_ops.mount_id (statx's STATX_MNT_ID) names the mount /proc/self/fdinfo names, for
    descriptors on different mounts -- the resolver compares them for RESOLVE_NO_XDEV and
    looks them up in mountinfo."""
    from systrace_py.engine.ptrace_ops import mount_id
    seen = set()
    for where in ("/", "/proc", "/dev", "/sys"):
        fd = os.open(where, os.O_PATH)
        try:
            with open(f"/proc/self/fdinfo/{fd}") as info:
                want = next(int(line.split()[1]) for line in info if line.startswith("mnt_id:"))
            assert mount_id(fd) == want
            seen.add(want)
        finally:
            os.close(fd)
    assert len(seen) > 1  # the mounts differ, so equal ids above are not a constant


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to run a task of another user) and setpriv")
def test_a_task_that_searches_otherwise_is_walked_once(tmp_path: Path) -> None:
    """A lookup the fast way cannot make (through /proc/self, a magic link) is walked on
    descriptors; for a task whose search permission is not the tracer's it was walked once
    with the tracer's credentials and once more with the task's (_search_as_task).  Now the
    one walk checks the task's as it goes (may_lookup before each component): the same
    answer, one walk -- and where the task may not search, the kernel's EACCES."""
    import pwd

    from conftest import UNPRIVILEGED_USER

    user = pwd.getpwnam(UNPRIVILEGED_USER)
    tmp_path.chmod(0o755)
    (tmp_path / "f").write_text("f")
    (tmp_path / "shut").mkdir(mode=0o700)
    (tmp_path / "shut" / "g").write_text("g")
    task = subprocess.Popen(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                             "--clear-groups", "sleep", "30"], cwd=tmp_path)
    try:
        resolver = PathResolver()
        walked: list[str] = []
        walk_once = resolver._walk_once

        def counted(*args: object, **kwargs: object) -> Resolved:
            walked.append(str(args[2]))
            return walk_once(*args, **kwargs)  # type: ignore[arg-type]

        resolver._walk_once = counted  # type: ignore[method-assign]
        while Path(f"/proc/{task.pid}/exe").resolve().name != "sleep":
            os.sched_yield()  # (setpriv has dropped its credentials once it runs sleep)
        found = resolver.resolve(task.pid, task.pid, "/proc/self/cwd/f")
        assert (found.path, found.exists, walked) == (str(tmp_path / "f"), True,
                                                      ["/proc/self/cwd/f"])
        walked.clear()
        with pytest.raises(Unresolvable) as refused:
            resolver.resolve(task.pid, task.pid, "/proc/self/cwd/shut/g")
        assert refused.value.errno == errno.EACCES and walked == ["/proc/self/cwd/shut/g"]
    finally:
        task.kill()
        task.wait()


def create(raw: str, dirfd: int) -> tuple[str, object] | int:
    """The kernel's open(O_CREAT) of ``raw`` (following its last name): ("made", its name),
    removed again (the tree as it was), ("opened", the file's identity), or its errno."""
    try:
        fd = os.open(raw, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dirfd)
    except OSError as exc:
        return exc.errno or 0
    try:
        info = os.fstat(fd)
        if info.st_size == 0 and info.st_mode & 0o7777 == 0o600:  # (the tree has none)
            made = os.readlink(f"/proc/self/fd/{fd}")
            os.unlink(made)
            return "made", made
        return "opened", identity(info)
    finally:
        os.close(fd)


def resolve_creating(raw: str, dirfd: int) -> Resolved | int:
    try:
        return PathResolver().resolve(ME, ME, raw, dirfd, True, creates=True)
    except Unresolvable as exc:
        return exc.errno


_TEXTS = st.builds(lambda head, name, tail: head + name + tail,
                   st.sampled_from(["", "./", "d/../", "@/", "/proc/self/cwd/"]),
                   st.sampled_from(["d", "f0", "d/f", "missing", "missing/x", "f0/x", "c0",
                                    "c1", "t1", "t0", ".", "..", "ld", "/proc/self/fd/@fd"]),
                   st.sampled_from(["", "/", "//", "/.", "/./", "/.."]))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.tuples(_TEXTS, _TEXTS), raw=st.sampled_from(
    ["t0", "t1", "./t0", "d/../t1", "/proc/self/cwd/t0", "ld/../t0", "t0/", "t1//"]))
def test_creating_through_a_link_stops_where_the_kernel_does(tmp_path_factory, texts, raw):
    """Gap #37: an open that creates and follows its last name, through links whose texts end
    in "/" (or "//", "/.", chains of them, dangling, to a file, past 40 links, a magic
    link): the resolver (``creates``) answers the kernel's errno -- EISDIR where the kernel
    stops at a text's last name without looking it up -- or a name whose spelling, handed to
    the kernel, opens (or makes) the same file or fails the same way."""
    top = tmp_path_factory.mktemp("create")
    (top / "d").mkdir()
    (top / "d" / "f").write_text("f")
    (top / "f0").write_text("f0")
    (top / "ld").symlink_to("d")
    for i in range(MAX_SYMLINKS + 1):  # c0: one link too many; c1: 40
        (top / f"c{i}").symlink_to(f"c{i + 1}" if i < MAX_SYMLINKS else "d")
    dirfd = os.open(top, os.O_PATH | os.O_DIRECTORY)
    old = os.getcwd()
    os.chdir(top)
    try:
        for i, text in enumerate(texts):
            (top / f"t{i}").symlink_to(text.replace("@fd", str(dirfd)).replace("@", str(top)))
        native = create(raw, dirfd)
        found = resolve_creating(raw, dirfd)
        where = f"{raw!r} {texts}: kernel {native}, resolver {found}"
        if raw.endswith("/"):
            return  # (the decoder's: an O_CREAT of "name/" looks the name up not at all)
        if isinstance(found, int):
            assert found == native, where
            return
        if found.unreachable:  # (a directory on the way is missing: ENOENT, any spelling)
            assert native == errno.ENOENT and not found.exists, where
        if found.literal_last or found.keep_spelling:
            return  # (no spelling stands in for the call's own: Resolved)
        again = create(spelling(found), -100)
        assert again == native, f"{where}; spelling {spelling(found)!r} gives {again}"
    finally:
        os.chdir(old)
        os.close(dirfd)
        shutil.rmtree(top, ignore_errors=True)


def test_a_symlink_at_procs_name_of_a_directory_is_not_that_directory(tmp_path) -> None:
    """paths._same_file compares the name /proc gives a descriptor with the descriptor's
    object: a symlink planted at that name, leading to the magic link itself, made any
    name "the same file" (review 42's lead: names_elsewhere, the resolver's start)."""
    from systrace_py.engine import paths

    real = tmp_path / "real"
    real.mkdir()
    fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY)
    try:
        link = f"/proc/self/fd/{fd}"
        assert paths._same_file(str(real), link)
        planted = tmp_path / "planted"
        planted.symlink_to(link)
        assert not paths._same_file(str(planted), link)
    finally:
        os.close(fd)
