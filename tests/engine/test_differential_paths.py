"""A differential fuzzer of the engine's model of path resolution against the kernel's
(issue 11: the engine decides on its own model of what the kernel will do; the red teams
found its differences by hand).

hypothesis writes scripts of file operations (tests/progs/pathops.c: opens with every flag
that changes a lookup, openat2's RESOLVE_ flags, the *at calls on descriptors and
AT_EMPTY_PATH, renames and links with their flags, chdir/fchdir, /proc/self/fd and
/proc/self/cwd, symlinks absolute, relative, dangling and looping, chains at the
40-symlink limit, paths near PATH_MAX, "//", trailing slashes, empty paths...) over a small
name space in a scratch tree that holds one secret directory, ``sec``.  Each script runs
as an unprivileged user:

* natively, as the oracle: before each operation the kernel itself is asked whether the
  operation's lookups reach ``sec`` (pathops.c's probe: the file reached is in it, or the
  lookup changes when ``sec`` may not be searched, or a name moved holds it); such an
  operation is not run (the line says SKIP);
* under systrace with ``default = "permit"`` and a ``never`` on fsread/fswrite of
  ``sec/**``, in both stop loops, as one task, from a second thread, or beside a waiting
  child (the tree of two tasks, whose calls the engine holds).

The property: every operation the oracle ran answers the same (result, errno, the file
opened) traced; every one it skipped fails; ``sec`` is as it was (names, inodes, modes,
contents).  Any other difference is the engine deciding on a lookup the kernel does not
make -- but EAGAIN of a RESOLVE_CACHED openat2 (_cache_bound).  Each difference found is
kept, minimised, in FOUND, and runs on every run.

The default run is short (derandomized, 16 examples per loop); a long run:
``SYSTRACE_DIFF_EXAMPLES=2000 .venv/bin/python -m pytest -n 0 -x -k generated
tests/engine/test_differential_paths.py`` (random seeds, shrinking on: a failure is
printed minimal).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import LOOPS, UNPRIVILEGED_USER, run_systrace
from systrace_py.engine.ptrace_ops import (
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root (a tree for another user) and setpriv")

SECRET_TEXT = "S3CR3T-differential\n"
#: how many generated scripts a run tries; set for a long run (random seeds, shrinking)
LONG_RUN = int(os.environ.get("SYSTRACE_DIFF_EXAMPLES", "0"))
#: SYSTRACE_DIFF_SHRINK=0: a long run reports its first failure as found, unshrunk (faster)
SHRINK = os.environ.get("SYSTRACE_DIFF_SHRINK", "1") != "0"
MODES = ("plain", "thread", "child")
DEPTH, DEPTH_NAME = 16, "r"  # (Scene.tree)
CHAIN = 41  # links in a chain: zc/1 follows 40 (MAXSYMLINKS), zc/0 one too many (ELOOP)

AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EACCESS = 0x100, 0x200, 0x200
AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = 0x400, 0x1000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
RESOLVE_CACHED = 0x20
IN_MODIFY, IN_ONLYDIR, IN_DONT_FOLLOW, IN_MASK_CREATE = 0x2, 0x01000000, 0x02000000, 0x10000000
INOTIFY_MASKS = (IN_MODIFY, IN_MODIFY | IN_DONT_FOLLOW, IN_MODIFY | IN_ONLYDIR,
                 IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW, IN_MODIFY | IN_MASK_CREATE, 0)

OPEN_FLAGS = (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_PATH, os.O_PATH | os.O_NOFOLLOW,
              os.O_RDONLY | os.O_NOFOLLOW, os.O_RDONLY | os.O_DIRECTORY,
              os.O_PATH | os.O_DIRECTORY, os.O_WRONLY | os.O_CREAT,
              os.O_WRONLY | os.O_CREAT | os.O_EXCL, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
              os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, os.O_RDWR | os.O_TMPFILE,
              os.O_WRONLY | os.O_TRUNC, os.O_RDONLY | os.O_CREAT, os.O_WRONLY | os.O_APPEND,
              os.O_RDONLY | os.O_CREAT | os.O_DIRECTORY, os.O_PATH | os.O_CREAT)
RESOLVES = (0, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS,
            RESOLVE_NO_XDEV, RESOLVE_CACHED, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)
STAT_FLAGS = (0, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
NAMES = ("a", "b", "c", "f", "x", "y", "l0", "l1", "l2", "sec", "s", "d", "ln", ".", "..",
         "zc/0", "zc/1", "zs/0", "zs/1")
SLOTS = ("0", "1", "2", "3")
DIRFDS = ("-", "-", *SLOTS)


@dataclass
class Scene:
    """Where a script runs: ``base/t`` (made afresh for each run, at the same place: the
    names the runs print are the same), its secret directory ``t/sec``."""

    base: Path

    @property
    def tree(self) -> Path:
        """Deep below ``base`` in directories only root may write: a script's ".." chains
        (and chdirs) that climb out of the tree reach no directory the user may write in
        (/tmp) before they give up."""
        return self.base.joinpath(*[DEPTH_NAME] * DEPTH, "t")

    @property
    def top(self) -> Path:
        """The highest directory a run is given, ``base/r``: the tree and the directories
        above it that a script run as root may write in (``b/../../f``)."""
        return self.base / DEPTH_NAME

    @property
    def secret(self) -> Path:
        return self.tree / "sec"

    def make(self, links: list[tuple[str, str]]) -> None:
        """a/ a/f b/ c sec/{s,d/,d/t,ln->../a}, zs/ and zc/: chains of CHAIN symlinks ending
        in sec/s and c, and the generated symlinks (``@`` is the tree)."""
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        tree = self.tree
        # (all of base/r afresh, not the tree only: a name a root script made above the tree
        # in one run was still there in the next -- loops65: the C loop's run made r/f, the
        # Python loop's symlinkat of b/../../f then failed with EEXIST)
        if self.top.is_symlink():
            self.top.unlink()
        elif self.top.exists():
            shutil.rmtree(self.top)
        tree.parent.mkdir(parents=True, exist_ok=True)
        for up in tree.parents:
            if up == self.base:
                break
            up.chmod(0o755)
        for d in ("a", "b", "sec/d", "zs", "zc"):
            (tree / d).mkdir(parents=True)
        (tree / "a" / "f").write_text("fa")
        (tree / "c").write_text("fc")
        (tree / "sec" / "s").write_text(SECRET_TEXT)
        (tree / "sec" / "d" / "t").write_text(SECRET_TEXT)
        (tree / "sec" / "ln").symlink_to("../a")
        for name, end in (("zs", "../sec/s"), ("zc", "../c")):
            for i in range(CHAIN):
                (tree / name / str(i)).symlink_to(str(i + 1) if i + 1 < CHAIN else end)
        for where, target in links:
            with_tree = target.replace("@", str(tree))
            with contextlib.suppress(OSError):  # (a name taken, an empty target: none made)
                (tree / where).symlink_to(with_tree)
        for path in [tree, *tree.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)

    def snapshot(self) -> list[tuple[object, ...]]:
        """What ``sec`` holds: names, inodes, modes, sizes, contents, link texts."""
        out: list[tuple[object, ...]] = []
        for path in sorted([self.secret, *self.secret.rglob("*")]):
            st_ = path.lstat()
            if stat.S_ISREG(st_.st_mode):
                body: str = path.read_text()
            elif stat.S_ISLNK(st_.st_mode):
                body = os.readlink(path)
            else:
                body = ""
            out.append((str(path.relative_to(self.tree)), st_.st_ino, st_.st_mode,
                        st_.st_size, st_.st_nlink, body))
        return out


def _unprivileged() -> list[str]:
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


def _policy(scene: Scene) -> str:
    return ('default = "permit"\n\n[[rule]]\ncalls = ["fsread", "fswrite"]\n'
            f'path = "{scene.secret}/**"\naction = "never"\nerrno = "EACCES"\n')


def _run_native(program: Path, script: Path, scene: Scene, mode: str) -> str:
    import subprocess

    args = [*_unprivileged(), str(program), str(script), mode]
    if mode == "probe":
        args.append(str(scene.secret))
    done = subprocess.run(args, cwd=scene.tree, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cache_bound(line: str, want: str, have: str) -> bool:
    """An openat2 with RESOLVE_CACHED may answer EAGAIN whenever its walk needs more than
    the dcache holds -- a name not cached, a symlink whose atime is due, a magic link, a deep
    chain -- which the runs do not control (the tracer's own lookup warms it): EAGAIN on
    either side is no difference."""
    fields = line.split("\t")
    return (fields[0] == "openat2" and int(fields[4]) & RESOLVE_CACHED != 0
            and (want.endswith(" ERR 11") or have.endswith(" ERR 11")))


def differences(program: Path, ops: list[str], links: list[tuple[str, str]], mode: str,
                loops: tuple[str, ...] = tuple(LOOPS)) -> list[str]:
    """Run the script natively (the probe) and traced; return every difference the property
    forbids, each with its script line (empty: the engine matched the kernel)."""
    base = Path(tempfile.mkdtemp(prefix="systrace-diff-"))
    base.chmod(0o755)
    scene = Scene(base)
    try:
        script = base / "script"
        lines = [op.replace("@", str(scene.tree)) for op in ops]
        script.write_text("".join(line + "\n" for line in lines))
        script.chmod(0o644)
        policy = base / "policy.toml"
        policy.write_text(_policy(scene))
        policy.chmod(0o644)
        scene.make(links)
        before = scene.snapshot()
        native = _run_native(program, script, scene, "probe").splitlines()
        assert len(native) == len(lines), native
        # the oracle's own check: what it ran left the secret alone
        assert scene.snapshot() == before, "the probe let an operation touch sec"
        found: list[str] = []
        for loop in loops:
            scene.make(links)
            before = scene.snapshot()
            got = run_systrace(["-p", str(policy), "--", *_unprivileged(), str(program),
                                str(script), mode], cwd=scene.tree, env=LOOPS[loop])
            traced = got.stdout.splitlines()
            if got.returncode != 0 or len(traced) != len(native):
                found.append(f"{loop}: exit {got.returncode}, {len(traced)} of {len(native)} "
                             f"lines: {got.stderr[-2000:]}")
            for line, want, have in zip(lines, native, traced, strict=False):
                if want.endswith(" SKIP"):
                    if " ERR " not in have:
                        found.append(f"{loop}: {line!r}: reaches sec, yet {have!r}")
                elif want != have and not _cache_bound(line, want, have):
                    found.append(f"{loop}: {line!r}: native {want!r}, traced {have!r}")
            after = scene.snapshot()
            if after != before:
                found.append(f"{loop}: sec changed: {before} -> {after}")
            if found:
                break
        return found
    finally:
        for path in [base, *base.rglob("*")]:  # (a chmod 0 the script made)
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


# --- the scripts ----------------------------------------------------------------------

@st.composite
def _path(draw: st.DrawFn) -> str:
    """A spelling: relative, absolute in the tree (``@``), through /proc/self/cwd or a
    slot's /proc/self/fd link, empty, near or past PATH_MAX; with "//" and trailing
    slashes."""
    kind = draw(st.sampled_from(("rel", "rel", "rel", "rel", "abs", "cwd", "fd", "empty",
                                 "long", "up")))
    sep = draw(st.sampled_from(("/", "/", "/", "//")))
    body = sep.join(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4)))
    tail = draw(st.sampled_from(("", "", "", "/", "/.", "//")))
    if kind == "abs":
        return f"@/{body}{tail}"
    if kind == "cwd":
        return f"/proc/self/cwd/{body}{tail}"
    if kind == "fd":
        rest = draw(st.sampled_from(("", "/" + body, "/..")))
        return f"/proc/self/fd/10{draw(st.sampled_from(SLOTS))}{rest}"
    if kind == "empty":
        return ""
    if kind == "long":  # "./" repeated: a path of about PATH_MAX (4096) bytes, either side
        room = draw(st.sampled_from((4090, 4094, 4095, 4096, 5000))) - len(body)
        return "./" * (room // 2) + body
    if kind == "up":
        return "../" * draw(st.integers(1, 3)) + "t/" + body + tail
    return body + tail


_TARGETS = st.one_of(_path(), st.sampled_from((
    "sec", "sec/s", "../sec", "@/sec", "@/sec/s", "/proc/self/cwd/sec", "l0", "l1", "nope",
    "sec/ln/..", "../t/sec/d", "@/zs/0", "zc/0", ".", "..")))
_FD = st.sampled_from(DIRFDS)
_SLOT = st.sampled_from(SLOTS)
_FLAGS = st.sampled_from(OPEN_FLAGS).map(str)


def _j(*fields: object) -> str:
    return "\t".join(str(f) for f in fields)


#: names outside the tree that the engine decides by what they stand for (fuzz 64): /dev/tty
#: and /dev/console by the terminal they are (none here: ENXIO; the console as the user:
#: EACCES), a pty's master, /proc/sys/net by the looker's network namespace
DEVICES = ("/dev/tty", "/dev/console", "/dev/ptmx", "/dev/pts/ptmx", "/dev/tty0", "/dev/./tty",
           "/dev//console", "/dev/tty/", "/proc/sys/net", "/proc/sys/net/ipv4",
           "/proc/sys/net/core/somaxconn", "/proc/sys/net/../net/unix", "/proc/self/net",
           "/proc/net/dev")
_DEVICE = st.sampled_from(DEVICES)
#: the calls that change nothing: the loops' fuzzer, which runs its scripts as root too, takes
#: only these -- a device it opened into a slot is reached by the slot's other calls
#: (chmod /proc/self/fd/102 made /dev/tty0 0755 in fuzz 64's first loops run)
_DEVICE_LOOKS = st.one_of(
    st.builds(lambda op, p: _j(op, p), st.sampled_from(("stat", "lstat", "readlink", "statfs",
                                                       "getxattr", "listxattr")), _DEVICE),
    st.builds(lambda p, m: _j("access", p, m), _DEVICE, st.sampled_from((0, 4))),
    st.builds(lambda p, f: _j("statx", "-", p, f), _DEVICE, st.sampled_from(STAT_FLAGS)),
)
_DEVICE_FLAGS = st.sampled_from((os.O_RDONLY, os.O_RDONLY, os.O_PATH, os.O_RDONLY | os.O_NONBLOCK,
                                 os.O_RDONLY | os.O_DIRECTORY, os.O_PATH | os.O_NOFOLLOW)).map(
    lambda flags: str(flags | os.O_NOCTTY))  # (no controlling terminal taken)
#: the paths fuzzer's only (its scripts run as the unprivileged user, who may change none of
#: these, nor create a name where a relative one leads from them)
_DEVICE_OPS = st.one_of(
    _DEVICE_LOOKS,
    st.builds(lambda p, f, s: _j("open", p, f, s), _DEVICE, _DEVICE_FLAGS, _SLOT),
    st.builds(lambda p, f, r, s: _j("openat2", "-", p, f, r, s), _DEVICE, _DEVICE_FLAGS,
              st.sampled_from(RESOLVES), _SLOT),
)
_DEVICE_CHDIR = st.builds(lambda p: _j("chdir", p), st.sampled_from((
    "/proc/sys/net", "/proc/sys/net/ipv4", "/proc/sys/net/core", "/dev/pts", "/proc/self/net")))


_OPS = st.one_of(
    st.builds(lambda p, f, s: _j("open", p, f, s), _path(), _FLAGS, _SLOT),
    st.builds(lambda d, p, f, s: _j("openat", d, p, f, s), _FD, _path(), _FLAGS, _SLOT),
    st.builds(lambda d, p, f, r, s: _j("openat2", d, p, f, r, s), _FD, _path(), _FLAGS,
              st.sampled_from(RESOLVES), _SLOT),
    st.builds(lambda p, s: _j("creat", p, s), _path(), _SLOT),
    st.builds(lambda s: _j("close", s), _SLOT),
    st.builds(lambda op, p: _j(op, p), st.sampled_from((
        "stat", "lstat", "readlink", "mkdir", "chdir", "unlink", "rmdir", "execve")), _path()),
    st.builds(lambda op, d, p, f: _j(op, d, p, f), st.sampled_from(("fstatat", "statx")), _FD,
              _path(), st.sampled_from(STAT_FLAGS)),
    st.builds(lambda op, d, p: _j(op, d, p), st.sampled_from(("readlinkat", "mkdirat")), _FD,
              _path()),
    st.builds(lambda t, p: _j("symlink", t, p), _TARGETS, _path()),
    st.builds(lambda t, d, p: _j("symlinkat", t, d, p), _TARGETS, _FD, _path()),
    st.builds(lambda s: _j("fchdir", s), _SLOT),
    st.builds(lambda s: _j("getcwd"), _SLOT),
    st.builds(lambda op, p, q: _j(op, p, q), st.sampled_from(("rename", "link")), _path(),
              _path()),
    st.builds(lambda d, p, e, q, f: _j("renameat2", d, p, e, q, f), _FD, _path(), _FD, _path(),
              st.sampled_from((0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT))),
    st.builds(lambda d, p, e, q, f: _j("linkat", d, p, e, q, f), _FD, _path(), _FD, _path(),
              st.sampled_from((0, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH))),
    st.builds(lambda d, p, f: _j("unlinkat", d, p, f), _FD, _path(),
              st.sampled_from((0, AT_REMOVEDIR))),
    st.builds(lambda p, m: _j("access", p, m), _path(), st.sampled_from((0, 1, 2, 4, 7))),
    st.builds(lambda d, p, m, f: _j("faccessat2", d, p, m, f), _FD, _path(),
              st.sampled_from((0, 2, 4)),
              st.sampled_from((0, AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH))),
    st.builds(lambda p, m: _j("chmod", p, m), _path(), st.sampled_from((0o755, 0o644, 0o311,
                                                                         0o000))),
    st.builds(lambda d, p, m: _j("fchmodat", d, p, m), _FD, _path(),
              st.sampled_from((0o755, 0o600))),
    st.builds(lambda p, n: _j("truncate", p, n), _path(), st.sampled_from((0, 3))),
    st.builds(lambda p: _j("statfs", p), _path()),
    st.builds(lambda op, d, p, f: _j(op, d, p, f), st.sampled_from(("utimensat", "fchownat")),
              _FD, _path(), st.sampled_from((0, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH))),
    st.builds(lambda d, p: _j("mknodat", d, p), _FD, _path()),
    st.builds(lambda s: _j("read", s), _SLOT),
    st.builds(lambda s: _j("write", s), _SLOT),
    # red team 26: calls beyond plain paths
    st.builds(lambda op, p: _j(op, p), st.sampled_from((
        "getxattr", "lgetxattr", "listxattr", "llistxattr", "setxattr", "lsetxattr",
        "removexattr")), _path()),
    st.builds(lambda op, d, p, f: _j(op, d, p, f), st.sampled_from((
        "getxattrat", "setxattrat", "execveat")), _FD, _path(), st.sampled_from(STAT_FLAGS)),
    st.builds(lambda p, m: _j("inotify", p, m), _path(), st.sampled_from(INOTIFY_MASKS)),
    st.builds(lambda s: _j("sendfd", s), _SLOT),
)

#: slots opened first on directories of the tree, so the *at calls have dirfds
_PRELUDE = [_j("openat", "-", "a", os.O_PATH | os.O_DIRECTORY, "0"),
            _j("openat", "-", ".", os.O_RDONLY | os.O_DIRECTORY, "1"),
            _j("openat", "-", "c", os.O_RDONLY, "2")]


@st.composite
def _scripts(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]], str]:
    links = [(where, draw(_TARGETS)) for where in ("l0", "l1", "a/l2", "b/x")]
    ops = draw(st.lists(st.one_of(*[_OPS] * 8, _DEVICE_OPS, _DEVICE_CHDIR), min_size=10,
                        max_size=40))
    return [*_PRELUDE, *ops], links, draw(st.sampled_from(MODES))


@pytest.fixture(scope="module")
def pathops(build: Callable[..., Path]) -> Path:
    """The interpreter, where the unprivileged user may run it."""
    binary = build("progs/pathops.c")
    home = Path(tempfile.mkdtemp(prefix="systrace-pathops-"))
    home.chmod(0o755)
    program = home / "pathops"
    shutil.copy(binary, program)
    program.chmod(0o755)
    yield program
    shutil.rmtree(home, ignore_errors=True)


_SETTINGS = settings(
    max_examples=LONG_RUN or 16, deadline=None, derandomize=not LONG_RUN,
    phases=(Phase.explicit, Phase.generate, Phase.shrink) if LONG_RUN and SHRINK
    else (Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.mark.parametrize("loop", list(LOOPS))
@_SETTINGS
@given(case=_scripts())
def test_generated_scripts_answer_as_natively(pathops: Path, loop: str,
                                              case: tuple[list[str], list[tuple[str, str]],
                                                          str]) -> None:
    ops, links, mode = case
    found = differences(pathops, ops, links, mode, loops=(loop,))
    assert not found, "\n".join(found)


#: the differences the fuzzer found, minimised: (script, symlinks made first, mode, what it
#: was).  Each runs in both loops; the engine now answers them as the kernel does.
FOUND = [
    ([_j("link", "nope", "zc/0/f"), _j("linkat", "-", "nope", "-", "zc/0/f/", 0),
      _j("link", "l0/x", "zc/0/f"), _j("rename", "nope/x", "zc/0/f")], [("l0", "nope")],
     "plain", "link/rename: the old name's lookup fails (ENOENT) before the new one is looked "
     "up (ELOOP); the engine answered the new name's error -- and took a missing single "
     "name it does not follow for one that exists"),
    ([_j("mkdir", "zc/0/"), _j("mkdirat", "0", "/proc/self/cwd/zc/0//"), _j("unlink", "l0/"),
      _j("rmdir", "l0/"), _j("rename", "l0/", "x"), _j("mkdir", "l1/"),
      _j("symlink", "c", "l1/"), _j("rename", "c", "l1/")],
     [("l0", "sec"), ("l1", "sec/new")], "plain",
     "a trailing slash on the last name of mkdir, unlink, rmdir, rename, symlink: the kernel "
     "looks up the parent and that name, following no symlink (EEXIST, ENOTDIR); the engine "
     "followed it -- ELOOP for a chain past 40, and a refusal of the target in sec"),
    ([_j("creat", "zc/0/", "0"), _j("open", "zc/0/", os.O_WRONLY | os.O_CREAT, "0"),
      _j("openat2", "-", "zs/1//", os.O_WRONLY | os.O_CREAT, 0, "0"),
      _j("open", "l0/", os.O_RDWR | os.O_CREAT, "0"), _j("open", "missing/x/", os.O_CREAT, "0"),
      _j("open", "c/x/", os.O_CREAT, "0"), _j("open", "sec/nope/x/", os.O_CREAT, "0")],
     [("l0", "sec/new")], "plain",
     "an open with O_CREAT of a name with a trailing slash is EISDIR once the parent is "
     "found, the last name not looked at; the engine followed it (ELOOP, a refusal in sec)"),
    ([_j("renameat2", "2", "ln", "0", "", 0), _j("linkat", "2", "sec", "0", "", AT_EMPTY_PATH)],
     [], "plain",
     "rename's old name relative to a descriptor of a file is ENOTDIR before an empty new "
     "name's ENOENT, and so is link's old name (the resolver takes one name it does not "
     "follow as there without looking, whatever its dirfd is)"),
    ([_j("openat2", "1", "l0", os.O_PATH, RESOLVE_NO_XDEV, "3"),
      _j("openat2", "1", "l0/nope", os.O_PATH, RESOLVE_NO_XDEV, "3"),
      _j("openat2", "-", "l0/sec/l0/..", os.O_PATH, RESOLVE_NO_XDEV, "3"),
      _j("openat2", "-", "a/../l0", os.O_PATH, RESOLVE_NO_XDEV, "3"),
      _j("openat2", "-", "l2", os.O_PATH, RESOLVE_NO_XDEV, "3"),
      _j("openat2", "-", "b/../l2", os.O_PATH, RESOLVE_NO_XDEV, "3")],
     [("l0", "@/sec"), ("l2", "@/a")], "plain",
     "RESOLVE_NO_XDEV: an absolute symlink met by a relative lookup before any '..' is "
     "EXDEV on the very mount it is on (nd_jump_root: the lookup has no root yet); the engine "
     "followed it into sec and refused"),
    ([_j("stat", "/proc/self/cwd/sec/ln/.."), _j("stat", "/proc/self/cwd/sec/ln/f"),
      _j("fchmodat", "2", "/proc/self/cwd/l1/.", 0o755),
      _j("readlinkat", "-", "/proc/self/cwd/l1/zs/0"),
      _j("stat", "/proc/thread-self/cwd/sec/ln/.."), _j("stat", "/proc/self/fd/101/sec/ln/f"),
      _j("stat", "/proc/self/cwd/a/.."), _j("stat", "/proc/self/fd/100/../c")],
     [("l1", "sec/ln/..")], "plain",
     "SECURITY: a lookup spelled through the task's /proc/self/cwd (or fd/N) that passes "
     "through sec -- a symlink in it followed out, '..' after it -- was not refused: the "
     "walk of what a lookup passes stopped at /proc; it told which links sec holds and where "
     "they lead"),
    ([_j("openat", "2", "f/", os.O_WRONLY | os.O_CREAT | os.O_EXCL, "3"),
      _j("linkat", "3", "", "1", "zc/0/d", AT_EMPTY_PATH)],
     [], "plain",
     "an O_CREAT open of 'name/' relative to a descriptor of a file is ENOTDIR (the parent), "
     "not EISDIR; link's old name that is a closed descriptor (AT_EMPTY_PATH) is EBADF before "
     "the new name's ELOOP"),
    ([_j("fchmodat", "1", "/proc/self/fd/100/..", 0o600), _j("access", "/proc/self/fd/102", 2),
      _j("openat", "-", "/proc/self/fd/100", os.O_DIRECTORY, "3"),
      _j("open", "/proc/self/fd/100/f", os.O_RDONLY, "3")],
     [], "thread",
     "a tree of two tasks holds a call to its canonical spelling, whose lookup searches every "
     "directory from '/'; one through a magic link (/proc/self/fd/N) jumps past a directory "
     "the task may not search (its cwd, chmod 0600): EACCES where natively the call succeeds"),
    ([_j("chmod", ".//", 0), _j("fchdir", "0"), _j("openat", "1", "/proc/self/cwd/.", 0, "2")],
     [], "child",
     "the same with a child that shares nothing (the call keeps its start): its canonical "
     "spelling searched the tree made mode 0 above the cwd the magic link jumps to"),
    ([_j("open", "@/l1//", os.O_NOFOLLOW, "2"), _j("lstat", "l1/"),
      _j("fstatat", "-", "l1/", AT_SYMLINK_NOFOLLOW), _j("readlink", "l1/"), _j("lstat", "l1"),
      _j("mkdir", "l1/"), _j("unlink", "l1/")],
     [("l1", "sec/ln/..")], "plain",
     "SECURITY: a trailing slash makes the kernel follow a last symlink the call does not "
     "(O_NOFOLLOW, lstat): a link to 'sec/ln/..' passes through sec, and was not refused "
     "(the walk of what a lookup passes did not follow it)"),
    ([_j("open", "@/../", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, "1"),
      _j("open", "a/./", os.O_WRONLY | os.O_CREAT, "1"),
      _j("open", "@/a/../", os.O_RDWR | os.O_CREAT, "1")],
     [], "child",
     "an O_CREAT open of 'dir/../' held to its canonical name: that name kept the slash and "
     "the kernel answered EISDIR at once, where the call's own '..' is EEXIST (O_EXCL)"),
    ([_j("inotify", "zc/0", 0), _j("inotify", "nope/x", 0x1000),
      _j("inotify", "zc/0", IN_MODIFY | IN_MASK_CREATE | 0x20000000), _j("inotify", "sec/s", 0),
      _j("inotify", "c", 0), _j("inotify", "c", IN_MODIFY)],
     [], "plain",
     "red team 26: inotify_add_watch checks its mask (no valid bit, or IN_MASK_ADD with "
     "IN_MASK_CREATE: EINVAL) and its descriptor before the lookup; the engine answered the "
     "lookup's ELOOP or ENOENT"),
    ([_j("open", "c", os.O_PATH, "0"), _j("inotifyat", "0", "c", IN_MODIFY),
      _j("inotifyat", "0", "nope/x", IN_MODIFY), _j("open", "c", os.O_RDONLY, "1"),
      _j("inotifyat", "1", "c", IN_MODIFY), _j("inotifyat", "7", "c", IN_MODIFY)],
     [], "plain",
     "review 15: an O_PATH descriptor is no descriptor to inotify_add_watch (fdget takes no "
     "O_PATH file: EBADF), where the engine answered EINVAL (not an inotify instance)"),
    ([_j("mknodat", "-", "./y"), _j("open", "y", os.O_RDONLY, "0"), _j("creat", "y", "1"),
      _j("read", "0"), _j("write", "1")],
     [], "plain",
     "the fuzzer's own (gap37's long run): mknodat made a FIFO, and a later open of it "
     "blocked natively (the probe's run hung past its 120 s); it now makes a regular file"),
    ([_j("chdir", "/proc/self/net"), _j("openat", "-", "l0", os.O_WRONLY | os.O_CREAT, "2"),
      _j("open", "/proc/self/net/stat/x", os.O_WRONLY | os.O_CREAT, "3")],
     [], "plain",
     "fuzz 64: a file created or written in the program's /proc/PID/net was refused EPERM as "
     "one of the tracer's /proc files (the kernel: ENOENT) -- that directory holds a 'stat' "
     "too (the network namespace's /proc/net/stat, a directory), whose read failed EISDIR and "
     "was taken for the tracer's (signals._proc_directory_of_tracer)"),
]


@pytest.mark.both_loops
@pytest.mark.parametrize("ops,links,mode,why", FOUND, ids=[f"found{i}" for i in
                                                         range(len(FOUND))])
def test_found_differences_stay_fixed(pathops: Path, ops: list[str],
                                      links: list[tuple[str, str]], mode: str,
                                      why: str) -> None:
    found = differences(pathops, [*_PRELUDE, *ops], links, mode)
    assert not found, why + "\n" + "\n".join(found)


def test_the_oracle_skips_what_reaches_the_secret(pathops: Path) -> None:
    """The probe marks the lookups that reach sec, and only those (this test fails if the
    oracle stops seeing them, or sees them everywhere)."""
    cases = [(_j("stat", "sec/s"), "SKIP"), (_j("stat", "sec/../c"), "SKIP"),
             (_j("lstat", "l0"), "OK l "), (_j("stat", "l0"), "SKIP"), (_j("stat", "c"), "OK f "),
             (_j("mkdir", "sec/new"), "SKIP"), (_j("rename", "c", "sec/c"), "SKIP"),
             (_j("stat", "zs/0"), "ERR 40"), (_j("stat", "zs/1"), "SKIP"),
             (_j("stat", "zc/0"), "ERR 40"), (_j("stat", "zc/1"), "OK f "),
             (_j("rmdir", "sec"), "SKIP"), (_j("open", "sec/nope/x", os.O_RDONLY, "0"), "SKIP"),
             (_j("stat", "sec/ln/f"), "SKIP"), (_j("rename", "..", "x"), "SKIP"),
             (_j("stat", "a/f"), "OK f "),
             # a creating open follows its chain as the kernel does: to sec, or not past a
             # text that ends in "/" (l1 -> "l0/": EISDIR, l0 not looked at)
             (_j("creat", "l0", "1"), "SKIP"), (_j("creat", "l1", "1"), "ERR 21"),
             (_j("open", "l1", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "1"), "ERR 21")]
    base = Path(tempfile.mkdtemp(prefix="systrace-diff-"))
    base.chmod(0o755)
    scene = Scene(base)
    try:
        script = base / "script"
        script.write_text("".join(op + "\n" for op, _ in cases))
        script.chmod(0o644)
        scene.make([("l0", "sec"), ("l1", "l0/")])
        out = [line.split(" ", 1)[1] for line in _run_native(pathops, script, scene,
                                                             "probe").splitlines()]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert [(op, got) for (op, want), got in zip(cases, out, strict=True)
            if not got.startswith(want)] == []


@pytest.mark.both_loops
@pytest.mark.parametrize("mode", ["plain", "child"])
def test_resolve_cached_gives_up_where_the_engine_cannot_tell(pathops: Path, mode: str) -> None:
    """RESOLVE_CACHED (which the property cannot compare: _cache_bound): a lookup the engine
    cannot finish (a missing name, a chain past 40 links) and one through a magic link held
    to the canonical spelling answer EAGAIN, as the kernel's cached walk may -- not the
    engine's ENOENT or ELOOP, not the file; a dirfd that is a file is ENOTDIR first."""
    ops = [*_PRELUDE, _j("openat2", "-", "/proc/self/cwd/b", os.O_NOFOLLOW, RESOLVE_CACHED, "3"),
           _j("openat2", "-", "s/y/b/zc/1//", os.O_RDONLY, RESOLVE_CACHED, "3"),
           _j("openat2", "2", "b", os.O_RDONLY, RESOLVE_CACHED, "3"),
           _j("openat2", "-", "zc/0", os.O_RDONLY, RESOLVE_CACHED, "3")]
    base = Path(tempfile.mkdtemp(prefix="systrace-diff-"))
    base.chmod(0o755)
    scene = Scene(base)
    try:
        script = base / "script"
        script.write_text("".join(op.replace("@", str(scene.tree)) + "\n" for op in ops))
        script.chmod(0o644)
        policy = base / "policy.toml"
        policy.write_text(_policy(scene))
        for loop in LOOPS:
            scene.make([])
            got = run_systrace(["-p", str(policy), "--", *_unprivileged(), str(pathops),
                                str(script), mode], cwd=scene.tree, env=LOOPS[loop])
            answers = [line.split(" ", 1)[1] for line in got.stdout.splitlines()[3:]]
            assert answers == ["ERR 11", "ERR 11", "ERR 20", "ERR 11"], (loop, got.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)


#: an open that creates its last name and follows it, through a link whose text ends in "/":
#: the kernel walks that text to its last name and answers EISDIR without looking the name
#: up (open_last_lookups) -- whatever it is: missing, a file, a link into sec or past 40
#: links; links in a chain each count, and the first whose text ends in "/" ends it.  Its
#: neighbours that do not end so: O_EXCL and O_NOFOLLOW (the link itself: EEXIST, ELOOP),
#: O_TMPFILE, O_PATH and a plain open (the text's last name followed, a directory wanted),
#: "/." (the name "." is looked at: EISDIR of a directory, ENOTDIR of a file), a link's text
#: whose way fails before its last name (ENOENT, ENOTDIR, ELOOP), and the calls on the last
#: name itself (mkdir, mknod, symlink, link, rename: EEXIST, the link not followed)
_SLASH_TEXTS = [("l0", "./zs/1//"), ("l1", "l0"), ("a/l2", "../zc/0/"), ("b/x", "../l1/")]
_SLASH_OPS = [
    _j("creat", "/proc/self/cwd/l0", "1"), _j("open", "l0", os.O_WRONLY | os.O_CREAT, "1"),
    _j("openat", "0", "l2", os.O_RDWR | os.O_CREAT | os.O_TRUNC, "1"),
    _j("openat2", "-", "l1", os.O_WRONLY | os.O_CREAT, RESOLVE_BENEATH, "1"),
    _j("openat2", "-", "l0", os.O_WRONLY | os.O_CREAT, RESOLVE_NO_SYMLINKS, "1"),
    _j("openat2", "1", "b/x", os.O_WRONLY | os.O_CREAT, RESOLVE_IN_ROOT, "1"),
    _j("creat", "@/a/l2", "1"), _j("creat", "b/x", "1"), _j("creat", "l1//", "1"),
    _j("open", "l0", os.O_WRONLY | os.O_CREAT | os.O_EXCL, "1"),
    _j("open", "l0", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, "1"),
    _j("open", "l0", os.O_RDWR | os.O_TMPFILE, "1"), _j("open", "l0", os.O_PATH | os.O_CREAT, "1"),
    _j("open", "l1", os.O_RDONLY, "1"), _j("stat", "l1"), _j("mkdir", "l0"),
    _j("mknodat", "-", "l1"), _j("symlink", "c", "l0"), _j("link", "c", "a/l2"),
    _j("mkdirat", "0", "l2/"), _j("unlink", "b/x/"),
    # made by the script: a chain whose first text ends in "/", texts "//", "/.", dangling,
    # a file, a magic link, a way that fails first
    _j("symlink", "zc/0", "y"), _j("symlink", "y/", "d"), _j("creat", "d", "1"),
    _j("symlink", "d/", "k"), _j("creat", "k", "1"), _j("symlink", "k//", "k2"),
    _j("open", "k2", os.O_RDWR | os.O_CREAT, "1"),
    _j("symlink", "nope/", "n1"), _j("creat", "n1", "1"), _j("symlink", "c//", "n2"),
    _j("creat", "n2", "1"), _j("symlink", "a/f/", "n3"), _j("creat", "n3", "1"),
    _j("symlink", "a/.", "n4"), _j("creat", "n4", "1"), _j("symlink", "c/.", "n5"),
    _j("creat", "n5", "1"), _j("symlink", "nope/x/", "n6"), _j("creat", "n6", "1"),
    _j("symlink", "c/x/", "n7"), _j("creat", "n7", "1"), _j("symlink", "zc/0/x/", "n8"),
    _j("creat", "n8", "1"), _j("symlink", "/proc/self/fd/102/", "n9"), _j("creat", "n9", "1"),
    _j("symlink", "a/", "m0"), _j("creat", "m0", "1"), _j("symlink", "/", "m1"),
    _j("creat", "m1", "1"), _j("symlink", "a/..//", "m2"), _j("creat", "m2", "1"),
    _j("open", "n2", os.O_RDONLY, "1"), _j("open", "n1", os.O_RDWR | os.O_TMPFILE, "1"),
    _j("rename", "c", "l0"), _j("creat", "l1", "1")]


@pytest.mark.both_loops
@pytest.mark.parametrize("mode", MODES)
def test_creating_through_a_link_whose_text_ends_in_a_slash(pathops: Path, mode: str) -> None:
    """Gap #37: the engine followed the text's last name (ELOOP past 40 links, a refusal in
    sec) where the kernel answers EISDIR without looking at it."""
    found = differences(pathops, [*_PRELUDE, *_SLASH_OPS], _SLASH_TEXTS, mode)
    assert not found, "\n".join(found)


@pytest.mark.both_loops
@pytest.mark.parametrize("mode", ["plain", "child"])
def test_creating_through_a_slash_text_looks_nothing_up_in_sec(pathops: Path,
                                                                mode: str) -> None:
    """Where the text's last name is a link into sec, the kernel does not read it: EISDIR as
    natively, no refusal (the probe follows the chain as the kernel does: pathops.c
    creating_chain; it skipped these when it looked the path up whole)."""
    ops = [*_PRELUDE, _j("creat", "l0", "1"), _j("open", "b/x", os.O_WRONLY | os.O_CREAT, "1"),
           _j("openat", "1", "a/l2", os.O_RDWR | os.O_CREAT, "1"),
           _j("symlink", "sec/s", "y"), _j("symlink", "y//", "z"), _j("creat", "z", "1"),
           # (a link to a directory in sec: the kernel's own openat2 reaches it -- the fast
           # way leaves a creating open whose last name is a link to the walk)
           _j("symlink", "sec/d", "w"), _j("symlink", "w/", "w2"), _j("creat", "w2", "1"),
           _j("open", "w2", os.O_RDWR | os.O_CREAT, "1")]
    links = [("l0", "l1/"), ("l1", "sec/s"), ("b/x", "../l0"), ("a/l2", "../sec/")]
    found = differences(pathops, ops, links, mode)
    assert not found, "\n".join(found)


@pytest.mark.both_loops
@pytest.mark.parametrize("mode", ["plain", "child"])
def test_calls_beyond_paths_through_moved_and_sent_descriptors(pathops: Path, mode: str) -> None:
    """Red team 26: descriptor-relative calls beyond plain paths -- openat, getxattrat,
    execveat, inotify through /proc/self/fd/N, xattrs of the cwd's files -- through a
    directory moved after it was opened (by its name, and as the cwd), through a descriptor
    sent over a unix socket, and with AT_EMPTY_PATH on a file's descriptor (statx, execveat,
    linkat, getxattrat); a move of that directory into sec (which reaches sec: refused, and
    the calls after it still find it where it was).  Each answers as natively."""
    ops = [_j("rename", "a", "b/a2"), _j("openat", "0", "f", 0, "3"),
           _j("getxattrat", "0", "f", 0), _j("execveat", "0", "f", 0),
           _j("inotify", "/proc/self/fd/100/f", IN_MODIFY), _j("sendfd", "0"),
           _j("openat", "0", "f", 0, "3"), _j("fchdir", "0"), _j("stat", "f"),
           _j("listxattr", "../a2/f"), _j("setxattr", "f"), _j("getxattr", "/proc/self/fd/100/f"),
           _j("lgetxattr", "/proc/self/fd/100"), _j("rename", "/proc/self/cwd", "@/b/a3"),
           _j("stat", "f"), _j("statx", "0", "", AT_EMPTY_PATH),
           _j("execveat", "2", "", AT_EMPTY_PATH), _j("linkat", "2", "", "0", "cc", AT_EMPTY_PATH),
           _j("sendfd", "2"), _j("getxattrat", "2", "", AT_EMPTY_PATH),
           _j("rename", "@/b/a3", "@/sec/a4"), _j("stat", "f"), _j("openat", "0", "f", 0, "3"),
           _j("getxattrat", "0", "f", 0), _j("getcwd")]
    found = differences(pathops, [*_PRELUDE, *ops], [("l0", "sec")], mode)
    assert not found, "\n".join(found)
