"""The resolver decides on exactly the file the kernel's lookup reaches, and a lookup the
kernel fails fails traced with the same errno: differential runs of tests/progs/lookups.c,
natively and under a policy with a path rule on opens (so the engine resolves every path,
and hands the kernel its own spelling of it), in both stop loops.

* openat2's RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_XDEV (with mounts and bind mounts
  when run as root), RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS on generated trees of
  directories, relative and absolute symlinks, loops, ".." chains and /proc magic links;
* the errno of a lookup through a directory the task may not search (may_lookup: EACCES
  before ENOTDIR or ENOENT further on), run as an unprivileged user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import LOOPS, UNPRIVILEGED_USER, own_mount_namespace, run_systrace
from systrace_py.engine.ptrace_ops import (
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
)
from systrace_py.kernel import (
    ACL_GROUP,
    ACL_GROUP_OBJ,
    ACL_MASK,
    ACL_OTHER,
    ACL_USER,
    ACL_USER_OBJ,
    POSIX_ACL_XATTR_VERSION,
    XATTR_POSIX_ACL_ACCESS,
)

UNDEFINED_ID = 0xFFFFFFFF  # (the id of an ACL entry that names none)

#: open flags of the cases (0: O_PATH, see lookups.c)
OPEN_FLAGS = (0, os.O_PATH | os.O_NOFOLLOW, os.O_PATH | os.O_DIRECTORY, os.O_NOCTTY)
#: a rule on every open that matches none of them: the engine resolves each path
POLICY = """
default = "permit"
[[rule]]
calls = ["fsread", "fswrite", "fsmeta"]
path = "/nonexistent-systrace-parity/**"
action = "never"
errno = "EACCES"
"""

DIRS = ("a", "a/b", "c")
NAMES = ("a", "b", "c", "f", "g", "l0", "l1", "l2", "l3", "m", "bm", ".", "..", "zz")
MAGIC = ("/proc/self/cwd", "/proc/self/root", "/proc/self/fd/4", "/proc/self/fd/3",
         "/proc/thread-self/cwd", "/proc/self/exe")


@pytest.fixture(scope="module")
def lookups(build: Callable[..., Path]) -> Path:
    return build("progs/lookups.c")


#: the program runs as a shell's child: a tree of two tasks, whose calls the engine holds to
#: what it checked (the spelling it hands the kernel is then its own, enforce.Holder)
TWO_TASKS = ["sh", "-c", '"$0" "$@"; true']


def _run(lookups: Path, cases: Path, cwd: Path, prefix: list[str] | None = None,
         mode: tuple[str, ...] = ()) -> str:
    """The cases run natively (``mode``: ("thread",) runs them in a second thread)."""
    return subprocess.run([*(prefix or []), *TWO_TASKS, str(lookups), str(cases), *mode],
                          cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def _same_everywhere(lookups: Path, cases: Path, cwd: Path, prefix: list[str] | None = None,
                     tracer_too: bool = False, mode: tuple[str, ...] = ()) -> str:
    """Run the cases natively, then traced in both loops; require the same output.
    ``prefix``: the command that runs the program (setpriv); ``tracer_too``: systrace itself
    runs under it (an unprivileged tracer), else only the program does."""
    native = _run(lookups, cases, cwd, prefix, mode)
    lines = cases.read_text().splitlines()
    assert native.count("\n") == len(lines)
    policy = cases.parent / "parity-policy.toml"
    policy.write_text(POLICY)
    policy.chmod(0o644)
    for loop in LOOPS.values():
        command = [*TWO_TASKS, str(lookups), str(cases), *mode]
        if not tracer_too:
            command = [*(prefix or []), *command]
        got = run_systrace(["-p", str(policy), "--", *command], cwd=cwd, env=loop,
                           prefix=prefix if tracer_too else None)
        assert got.returncode == 0, got.stderr
        diffs = [(lines[int(n.split()[0]) - 1], n, t)
                 for n, t in zip(native.splitlines(), got.stdout.splitlines(), strict=False)
                 if n != t]
        assert not diffs and native == got.stdout, (loop, diffs[:10])
    return native


# --- openat2's lookup restrictions ----------------------------------------------------------

@contextlib.contextmanager
def _mounts(tree: Path) -> Iterator[list[str] | None]:
    """As root: a tmpfs on tree/m (holding a directory and a file) and tree/a bind-mounted
    on tree/bm -- mounts to cross for RESOLVE_NO_XDEV -- made in a mount namespace of the
    test's own (conftest.own_mount_namespace: never the other tests' tracers'); yields the
    prefix that runs there, or None when they were not made (tree/m then a directory)."""
    (tree / "m").mkdir()
    (tree / "bm").mkdir()
    fill = ["sh", "-c", 'mkdir "$1/m/d" && echo m > "$1/m/f" && ln -s .. "$1/m/up"', "sh",
            str(tree)]
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nsenter"):
        with own_mount_namespace() as prefix:
            made = subprocess.run(
                [*prefix, "sh", "-c", 'mount -t tmpfs none "$1/m" && '
                 'mount --bind "$1/a" "$1/bm"', "sh", str(tree)], capture_output=True)
            if made.returncode == 0:
                subprocess.run([*prefix, *fill], check=True, capture_output=True)
                yield prefix
                return
    subprocess.run(fill, check=True, capture_output=True)
    yield None


def _components(draw: st.DrawFn, most: int) -> str:
    return "/".join(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=most)))


@st.composite
def _spelling(draw: st.DrawFn, tree: str) -> str:
    """A path: relative, absolute in the tree (or re-rooted by RESOLVE_IN_ROOT), outside it,
    a magic link, with or without a trailing slash."""
    kind = draw(st.sampled_from(("rel", "rel", "rel", "abs", "tree", "magic", "root")))
    body = _components(draw, 4)
    if kind == "abs":
        path = "/" + body
    elif kind == "tree":
        path = f"{tree}/{body}"
    elif kind == "magic":
        path = draw(st.sampled_from(MAGIC)) + draw(st.sampled_from(("", "/..", "/a", "/tmp")))
    elif kind == "root":
        path = draw(st.sampled_from(("/", "/tmp", "/proc/self", "..", ".")))
    else:
        path = body
    return path + draw(st.sampled_from(("", "", "", "/")))


@st.composite
def _scene(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[tuple[str, str, int, int]]]:
    """Symlinks to make (where, target; "@" is the tree) and cases (dirfd, path, resolve,
    flags; a dirfd "@/x" is in the tree)."""
    links = []
    for index in range(4):
        where = draw(st.sampled_from(("", "a/", "a/b/", "c/")))
        links.append((f"{where}l{index}", draw(_spelling("@"))))
    dirfds = ("-", "@", "@/a", "@/a/b", "@/c", "@/m", "@/bm", "/proc/self", "/proc")
    flags = st.sampled_from((0, RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
                             RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_BENEATH | RESOLVE_NO_XDEV,
                             RESOLVE_IN_ROOT | RESOLVE_NO_XDEV,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS))
    cases = draw(st.lists(st.tuples(st.sampled_from(dirfds), _spelling("@"), flags,
                                    st.sampled_from(OPEN_FLAGS)), min_size=60, max_size=60))
    return links, cases


def _make_tree(tree: Path, links: list[tuple[str, str]]) -> None:
    for d in DIRS:
        (tree / d).mkdir(parents=True, exist_ok=True)
    (tree / "a" / "f").write_text("f")
    (tree / "c" / "g").write_text("g")
    for where, target in links:
        (tree / where).symlink_to(target.replace("@", str(tree)))


def _cases_file(tree: Path, cases: list[tuple[str, str, int, int]], fixed: list[str]) -> Path:
    lines = [f"openat2\t{d.replace('@', str(tree))}\t{p.replace('@', str(tree))}\t{r}\t{f}"
             for d, p, r, f in cases]
    out = tree.parent / "cases"
    out.write_text("\n".join(fixed + lines) + "\n")
    return out


def _fixed_cases(tree: Path) -> list[str]:
    """Cases every generated tree also runs: each restriction on the tree's mounts, "..",
    absolute spellings and magic links."""
    out = []
    for resolve in (RESOLVE_NO_XDEV, RESOLVE_BENEATH, RESOLVE_IN_ROOT,
                    RESOLVE_BENEATH | RESOLVE_NO_XDEV, RESOLVE_IN_ROOT | RESOLVE_NO_XDEV,
                    RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS):
        for dirfd, path in (("@", "m"), ("@", "m/f"), ("@", "m/d/.."), ("@/m", ".."),
                            ("@/m", "up/a/f"), ("@/m/d", "../../a/f"), ("@", "bm/f"),
                            ("@/bm", "../a/f"), ("@/bm", ".."), ("@", "/"), ("@", "/a/f"),
                            ("@/a", "../../.."), ("@/a", "b/../../c/g"), ("-", "@/m/f"),
                            ("@", "/proc/self/cwd"), ("/proc/self", "cwd"),
                            ("/proc", "self/cwd"), ("/proc", "self/fd/3"), ("-", "/proc/self"),
                            ("/proc/self", "fd/4/a")):
            out.append(f"openat2\t{dirfd.replace('@', str(tree))}\t"
                       f"{path.replace('@', str(tree))}\t{resolve}\t0")
    return out


@pytest.mark.both_loops
@settings(max_examples=6, deadline=None, derandomize=True, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(scene=_scene())
def test_openat2_restrictions_match_the_kernel(lookups: Path, scene: tuple[
        list[tuple[str, str]], list[tuple[str, str, int, int]]]) -> None:
    links, cases = scene
    base = Path(tempfile.mkdtemp(prefix="systrace-parity-"))
    tree = base / "t"
    try:
        tree.mkdir()
        _make_tree(tree, links)
        with _mounts(tree) as prefix:
            cases_file = _cases_file(tree, cases, _fixed_cases(tree))
            native = _same_everywhere(lookups, cases_file, tree, prefix=prefix,
                                      tracer_too=prefix is not None)
        if prefix is not None:  # stepping onto the tmpfs, the bind mount, and ".." off them: EXDEV
            assert [line.split(" ", 1)[1] for line in native.splitlines()[:9]] == ["ERR 18"] * 9
        # the runs met the kernel's refusals, not only successes
        assert " ERR 18\n" in native and " OK " in native
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_rule_decides_on_the_file_a_scoped_lookup_reaches(traced, tmp_path: Path,
                                                              lookups: Path) -> None:
    """IN_ROOT re-roots "/x" at the dirfd: a rule on DIR/x refuses it, one on /x does not."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "x").write_text("inside")
    (d / "abs").symlink_to("/x")
    cases = tmp_path / "cases"
    cases.write_text(f"openat2\t{d}\t/x\t{RESOLVE_IN_ROOT}\t0\n"
                     f"openat2\t{d}\tabs\t{RESOLVE_IN_ROOT}\t0\n"
                     f"openat2\t{d}\tx\t{RESOLVE_BENEATH}\t0\n"
                     f"openat2\t{d}\t/x\t{RESOLVE_BENEATH}\t0\n")
    refusing = POLICY.replace("/nonexistent-systrace-parity/**", f"{d}/x")
    got = traced.run(refusing, str(lookups), str(cases)).stdout.splitlines()
    assert got == ["1 ERR 13", "2 ERR 13", "3 ERR 13", "4 ERR 18"]


# --- search permission: the task's, not the tracer's ---------------------------------------

def _unprivileged() -> list[str]:
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


def _search_layouts(d: Path) -> list[str]:
    """Directories the unprivileged user may or may not search, and lookups through them."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    layouts = {"m0": (0o000, 0, 0), "r": (0o444, 0, 0), "x": (0o711, 0, 0),
               "grp_no_x": (0o701, 0, user.pw_gid), "grp_x": (0o710, 0, user.pw_gid),
               "own_no_x": (0o077, user.pw_uid, 0), "own_x": (0o700, user.pw_uid, 0)}
    cases = []
    for name, (mode, uid, gid) in layouts.items():
        top = d / name
        (top / "sub").mkdir(parents=True)
        (top / "file").write_text("f")
        (top / "loop").symlink_to("loop")
        (d / f"via-{name}").symlink_to(f"{name}/file/x")
        (top / "out").symlink_to(d)  # a symlink in DIR that points out of it
        (top / "up").symlink_to("..")
        # "DIR/.", "DIR/..", "DIR/name/..": the engine hands the kernel DIR or its parent,
        # whose lookup does not look in DIR; the task's own does (EACCES where it may not
        # search DIR, whether "name" exists or not)
        for rest in ("file/x", "file", "missing/x", "missing", "sub/x", "sub/../file",
                     "loop/x", "file/", ".", "..", "sub/..", "missing/..", "sub/.", "./file",
                     "out", "out/via-x", "up", "up/x/file"):
            for op in ("statfs", "stat", "open"):
                cases.append(f"{op}\t-\t{top}/{rest}\t0\t0")
        cases.append(f"stat\t-\t{d}/via-{name}\t0\t0")
        cases.append(f"openat2\t{d}\t{name}/file/x\t{RESOLVE_BENEATH}\t0")
        # a restricted lookup is walked with the task's credentials: "." and ".." too
        for rest in (".", "..", "sub/..", "file"):
            cases.append(f"openat2\t{d}\t{name}/{rest}\t{RESOLVE_BENEATH}\t0")
            cases.append(f"openat2\t{d}\t/{name}/{rest}\t{RESOLVE_IN_ROOT}\t0")
        os.chown(top, uid, gid)
        top.chmod(mode)
    if _acls_work(d):
        top = d / "acl"
        (top / "file").parent.mkdir()
        (top / "file").write_text("f")
        top.chmod(0o755)
        os.setxattr(top, XATTR_POSIX_ACL_ACCESS, _acl(user.pw_uid, user_perm=0o6))
        for rest in ("file/x", "missing/x", "file"):
            cases.append(f"stat\t-\t{top}/{rest}\t0\t0")
    return cases


def _acl_blob(entries: list[tuple[int, int, int]]) -> bytes:
    """A system.posix_acl_access value (linux/posix_acl_xattr.h): the version, then (tag,
    perm, id) entries."""
    return POSIX_ACL_XATTR_VERSION.to_bytes(4, "little") + b"".join(
        t.to_bytes(2, "little") + p.to_bytes(2, "little") + i.to_bytes(4, "little")
        for t, p, i in entries)


def _acl(uid: int, user_perm: int) -> bytes:
    """Owner rwx, a named user with ``user_perm``, group r-x, mask rwx, other r-x."""
    return _acl_blob([(ACL_USER_OBJ, 7, UNDEFINED_ID), (ACL_USER, user_perm, uid),
                      (ACL_GROUP_OBJ, 5, UNDEFINED_ID), (ACL_MASK, 7, UNDEFINED_ID),
                      (ACL_OTHER, 5, UNDEFINED_ID)])


def _acls_work(d: Path) -> bool:
    probe = d / ".acl-probe"
    probe.mkdir()
    try:
        os.setxattr(probe, XATTR_POSIX_ACL_ACCESS, _acl(os.getuid(), 7))
        return True
    except OSError:
        return False
    finally:
        probe.rmdir()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to make directories for another user) and setpriv")
@pytest.mark.both_loops
def test_search_permission_errno_is_the_tasks(world_tmp: Path, lookups: Path) -> None:
    """pathconf02: statfs("DIR/file/x") as nobody with DIR mode 0 is EACCES natively; the
    tracer (root) must not answer ENOTDIR from its own lookup."""
    d = world_tmp / "perm"
    d.mkdir()
    d.chmod(0o755)
    cases = world_tmp / "cases"
    cases.write_text("\n".join(_search_layouts(d)) + "\n")
    cases.chmod(0o644)
    (world_tmp / "parity-policy.toml").write_text(POLICY)
    program = world_tmp / "lookups"
    shutil.copy(lookups, program)
    program.chmod(0o755)
    native = _same_everywhere(program, cases, world_tmp, prefix=_unprivileged())
    assert " ERR 13\n" in native and " ERR 20\n" in native  # both kinds were met
    # the tracer itself unprivileged (its own lookups fail where the task's do)
    _same_everywhere(program, cases, world_tmp, prefix=_unprivileged(), tracer_too=True)


_PERMS = st.integers(min_value=0, max_value=7)


@st.composite
def _directory_acl(draw: st.DrawFn) -> tuple[int, int, int, bytes | None]:
    """A directory's owner, group, mode and (maybe) a valid POSIX access ACL: the owner's,
    owning group's and others' entries (which the mode bits then show), named users and
    groups among the unprivileged user's ids and others', and a mask."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    uid = draw(st.sampled_from((0, user.pw_uid)))
    gid = draw(st.sampled_from((0, user.pw_gid, 100)))
    owner, group, other = draw(_PERMS), draw(_PERMS), draw(_PERMS)
    mode = owner << 6 | group << 3 | other
    if not draw(st.booleans()):
        return uid, gid, mode, None
    users = draw(st.dictionaries(st.sampled_from((user.pw_uid, 1000)), _PERMS, max_size=2))
    groups = draw(st.dictionaries(st.sampled_from((user.pw_gid, 100, 1000)), _PERMS,
                                  max_size=2))
    mask = draw(_PERMS)
    entries = [(ACL_USER_OBJ, owner, UNDEFINED_ID)]
    entries += [(ACL_USER, perm, ident) for ident, perm in sorted(users.items())]
    entries += [(ACL_GROUP_OBJ, group, UNDEFINED_ID)]
    entries += [(ACL_GROUP, perm, ident) for ident, perm in sorted(groups.items())]
    if users or groups:
        entries.append((ACL_MASK, mask, UNDEFINED_ID))
    entries.append((ACL_OTHER, other, UNDEFINED_ID))
    return uid, gid, mode, _acl_blob(entries)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to make directories for another user) and setpriv")
@settings(max_examples=6, deadline=None, derandomize=True, phases=(Phase.generate,),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dirs=st.lists(_directory_acl(), min_size=40, max_size=40))
def test_search_permission_is_the_kernels(lookups: Path,
                                          dirs: list[tuple[int, int, int, bytes | None]]) -> None:
    """Credentials.may_search (owner, ACL, group, other) against the kernel: one native run,
    as the unprivileged user with a supplementary group, of a lookup through each directory."""
    from systrace_py.engine.paths import Credentials

    user = pwd.getpwnam(UNPRIVILEGED_USER)
    dirs = [(0, 0, 0o755, None), (0, 0, 0o700, None), *dirs]  # (both answers are met)
    base = Path(tempfile.mkdtemp(prefix="systrace-search-"))
    try:
        base.chmod(0o755)
        if not _acls_work(base):
            pytest.skip("no POSIX ACLs on this file system")
        cases, expected = [], []
        creds = Credentials(user.pw_uid, user.pw_gid, frozenset({100}), False)
        for index, (uid, gid, mode, acl) in enumerate(dirs):
            d = base / f"d{index}"
            d.mkdir()
            (d / "f").write_text("f")
            os.chown(d, uid, gid)
            d.chmod(mode)
            if acl is not None:
                os.setxattr(d, XATTR_POSIX_ACL_ACCESS, acl)
            cases.append(f"stat\t-\t{d}/f\t0\t0")
            fd = os.open(d, os.O_PATH | os.O_DIRECTORY)
            try:
                expected.append(creds.may_search(fd))
            finally:
                os.close(fd)
        listed = base / "cases"
        listed.write_text("\n".join(cases) + "\n")
        listed.chmod(0o644)
        program = base / "lookups"
        shutil.copy(lookups, program)
        prefix = [*_unprivileged()[:-1], "--groups=100"]
        native = _run(program, listed, base, prefix).splitlines()
        got = [" OK " in line for line in native]
        assert got == expected, [(dirs[i], native[i]) for i in range(len(dirs))
                                 if got[i] != expected[i]]
        assert True in got and False in got
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _below_locked(world_tmp: Path, lookups: Path, owner: int = 0) -> tuple[Path, Path, Path]:
    """A work directory below one of mode 0700 (``owner``'s), the lookups from it (relative,
    through symlinks, "..", scoped; one absolute last) and the program: (program, cases,
    work)."""
    locked = world_tmp / "locked"
    work = locked / "work"
    (work / "sub").mkdir(parents=True)
    work.chmod(0o777)
    (work / "sub").chmod(0o777)
    (work / "f").write_text("f")
    (work / "lf").symlink_to("f")
    (work / "ld").symlink_to("sub")
    (work / "sub" / "g").write_text("g")
    (work / "up").symlink_to("sub/..")
    locked.chmod(0o700)
    os.chown(locked, owner, -1)
    cases = world_tmp / "cases"
    lines = []
    for path in ("f", "lf", "ld/g", "up/f", "up/lf", "sub/../lf", "./lf", "ld/../f", "missing",
                 "ld/missing", "lf/x"):
        for op in ("stat", "open", "openat2"):
            lines.append(f"{op}\t-\t{path}\t0\t0")
        lines.append(f"openat2\t.\t{path}\t{RESOLVE_BENEATH}\t0")
        lines.append(f"openat2\t.\t/{path}\t{RESOLVE_IN_ROOT}\t0")
    lines.append(f"stat\t-\t{work}/lf\t0\t0")  # absolute: EACCES natively too, for a task
    #                                                 that may not search the locked one
    cases.write_text("\n".join(lines) + "\n")
    cases.chmod(0o644)
    program = world_tmp / "lookups"
    shutil.copy(lookups, program)
    program.chmod(0o755)
    return program, cases, work


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (a directory only root may search) and setpriv")
@pytest.mark.parametrize("mode", [(), ("thread",)], ids=["alone", "thread"])
@pytest.mark.both_loops
def test_a_start_below_a_directory_the_task_may_not_search(world_tmp: Path, lookups: Path,
                                                           mode: tuple[str, ...]) -> None:
    """access02 with a TMPDIR of mode 0700: an unprivileged task whose cwd lies below a
    directory it may not search reaches its files relative to the cwd, through symlinks
    too; the engine must not hand the kernel their absolute spelling (EACCES at the 0700
    directory) but one relative to the same start -- for a thread, whose cwd another task
    shares, with the tree frozen while the call runs (enforce.Holder.respelled)."""
    program, cases, work = _below_locked(world_tmp, lookups)
    native = _same_everywhere(program, cases, work, prefix=_unprivileged(), mode=mode)
    assert native.count(" OK ") >= 20 and native.endswith(" ERR 13\n")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (a directory only root may search) and setpriv")
@pytest.mark.parametrize("mode", [(), ("thread",)], ids=["alone", "thread"])
@pytest.mark.parametrize("dropped", ["dac_override,-dac_read_search", "dac_override"],
                         ids=["no_override", "read_search"])
@pytest.mark.both_loops
def test_root_searches_as_its_capabilities_say(world_tmp: Path, lookups: Path,
                                              mode: tuple[str, ...], dropped: str) -> None:
    """Whether a task searches as the tracer does (paths.Credentials.searches_as: which
    tasks the native loop may arm, whether their lookups may be the tracer's; mirrored by
    _cloop.c searches_otherwise at an exec the native loop serves) for root below a 0700
    directory of another user: without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH it may not
    search it (its lookups are not the tracer's: relative ones stay relative, the absolute
    one is EACCES); with CAP_DAC_READ_SEARCH alone it searches as the tracer (root, every
    capability), the absolute one included.  Natively and in both loops, the same results
    (searches_as answering "the tracer's" for the first made the thread's relative lookups
    EACCES).  The C copy is not reached from Python: its agreement is by reading (both
    say so)."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    program, cases, work = _below_locked(world_tmp, lookups, owner=user.pw_uid)
    prefix = ["setpriv", f"--bounding-set=-{dropped}", "--inh-caps=-all"]
    native = _same_everywhere(program, cases, work, prefix=prefix, mode=mode)
    assert native.count(" OK ") >= 20, native
    absolute = native.splitlines()[-1].split()[1:3]
    assert absolute[0] == "OK" if "dac_read_search" not in dropped else absolute == ["ERR", "13"]


def test_a_scoped_open_creates_where_the_kernel_would(traced, tmp_path: Path,
                                                      lookups: Path) -> None:
    """O_CREAT under RESOLVE_IN_ROOT and RESOLVE_BENEATH, held (a two-task tree): the file
    is made in the dirfd's tree, where the kernel's scoped lookup puts it."""
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "abs").symlink_to("/sub")
    made = "systrace-parity-made"
    cases = tmp_path / "cases"
    creat = os.O_CREAT | os.O_WRONLY
    cases.write_text(f"openat2\t{d}\t/{made}1\t{RESOLVE_IN_ROOT}\t{creat}\n"
                     f"openat2\t{d}\tabs/{made}2\t{RESOLVE_IN_ROOT}\t{creat}\n"
                     f"openat2\t{d}\tsub/../{made}3\t{RESOLVE_BENEATH}\t{creat}\n"
                     f"openat2\t{d}\t/{made}4\t{RESOLVE_BENEATH}\t{creat}\n")
    got = traced.run(POLICY, *TWO_TASKS, str(lookups), str(cases)).stdout.splitlines()
    assert [line.split()[1] for line in got] == ["OK", "OK", "OK", "ERR"], got
    assert sorted(p.name for p in d.rglob(f"{made}*")) == [f"{made}1", f"{made}2", f"{made}3"]
    assert (d / "sub" / f"{made}2").exists()
    assert not any(Path("/").glob(f"{made}*")) and not any(Path("/sub").glob(f"{made}*"))


def test_a_scoped_walk_through_a_refused_directory_is_decided(traced, tmp_path: Path,
                                                              lookups: Path) -> None:
    """RESOLVE_IN_ROOT's "/" is the dirfd: what "/secd/sub/../../work/f" passes through is
    secd (a lookup through a directory a rule refuses tells which entries exist, class 1),
    and it is decided as a look into secd -- not as a walk from the real root, which passes
    through nothing there."""
    (tmp_path / "secd" / "sub").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "f").write_text("f")
    cases = tmp_path / "cases"
    cases.write_text(f"openat2\t{tmp_path}\t/secd/sub/../../work/f\t{RESOLVE_IN_ROOT}\t0\n"
                     f"openat2\t{tmp_path}\t/secd/none/../../work/f\t{RESOLVE_IN_ROOT}\t0\n"
                     f"openat2\t{tmp_path}\tsecd/sub/../../work/f\t{RESOLVE_BENEATH}\t0\n"
                     f"openat2\t{tmp_path}\t/work/f\t{RESOLVE_IN_ROOT}\t0\n")
    native = subprocess.run([str(lookups), str(cases)], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert [line.split()[1:3] for line in native] == [["OK", native[0].split()[2]],
                                                       ["ERR", "2"], ["OK", native[0].split()[2]],
                                                       ["OK", native[0].split()[2]]]
    refusing = POLICY.replace("/nonexistent-systrace-parity/**", f"{tmp_path}/secd/**")
    refusing = refusing.replace('["fsread", "fswrite", "fsmeta"]', '["fsread"]')
    got = traced.run(refusing, str(lookups), str(cases)).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in got[:3]] == ["ERR 13"] * 3, got
    assert got[3] == native[3]
