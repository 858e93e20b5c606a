"""Review 64: a ``fresh`` note's identity check (close 33/35, ``Decoder.still_made``) on a name
deeper than PATH_MAX.  The tracer builds such a name (``paths``: climbing ``..``) but cannot
open or ``lstat`` it: ``name_identity`` is None when the file is noted (``made_ids`` None) and
again when it is checked -- and ``still_made`` reads "the tracer could not look" as "nothing
is there" (``os.path.lexists`` is False on ENAMETOOLONG) and says the name is still the run's.
Close 33's identity is then never asked: another process's file at the run's name is the
run's own, whatever file system.

Table: ``permit openat W/** fresh``, ``never openat W/**`` (no rule on a removal's path: the
prefilter lets ``unlink`` run unstopped, review 62's shape).  The run goes down by relative
``chdir``s below W past PATH_MAX, makes ``x``, removes it, another process writes its secret
at ``x`` and the run reads it."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, attack, never, permit, policy

#: (the run's create is exclusive, ``open(.., "x")``: a plain O_CREAT|O_TRUNC create this deep
#: is not noted at all -- the tracer's O_EXCL restart is not proven there -- and is refused on
#: its reread, a false refusal of its own)
#: 20 directories of 240-byte names: 4820 bytes below W, past PATH_MAX (4096)
NAMES = ["d" * 239 + chr(ord("a") + i) for i in range(20)]

RUN = f"""
import os, sys, time
os.chdir(sys.argv[1])
for name in sys.argv[2:]:
    os.chdir(name)
with open("x", "x") as out:
    out.write("mine\\n")
time.sleep(0.5)
os.unlink("x")
for _ in range(200):
    if os.path.exists("ready"):
        break
    time.sleep(0.1)
try:
    with open("x") as f:
        text = f.read()
except OSError as exc:
    print("BLOCKED:", exc)
else:
    print("ESCAPED: read an outsider's file as the run's own" if {SECRET_MAGIC!r} in text
          else "BLOCKED: not the secret")
"""


def _deep(work: Path) -> int:
    """The deepest directory (made if needed), as a descriptor."""
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    for name in NAMES:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=fd)
        below = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    return fd


def _outsider(work: Path, done: list[bool]) -> None:
    """Another process's file (a new one) put at x once the run's is gone."""
    fd = _deep(work)
    try:
        deadline = time.monotonic() + 25

        def there(name: str) -> bool:
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
                return True
            except FileNotFoundError:
                return False

        while time.monotonic() < deadline and not there("x"):
            time.sleep(0.01)
        while time.monotonic() < deadline and there("x"):
            time.sleep(0.01)
        out = os.open("x", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644, dir_fd=fd)
        os.write(out, (SECRET_MAGIC + "\n").encode())
        os.close(out)
        os.close(os.open("ready", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
        done.append(True)
    finally:
        os.close(fd)


def _run(work: Path, table: str | None, env: dict[str, str] | None) -> tuple[str, str, bool]:
    os.close(_deep(work))
    done: list[bool] = []
    outsider = threading.Thread(target=_outsider, args=(work, done))
    outsider.start()
    try:
        out = attack(sys.executable, "-c", RUN, work, *NAMES, policy_text=table, scene=None,
                     env=env, timeout=60)
    finally:
        outsider.join()
    return out.verdict, str(out), bool(done)


def test_native_control_an_outsiders_file_deep_below_path_max_is_read(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    verdict, text, done = _run(work, None, None)
    assert done and verdict == "ESCAPED", text


def test_an_outsiders_file_past_path_max_is_not_the_runs(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main 01d6e5c4 (both loops): still_made takes a name the tracer cannot
    look at (ENAMETOOLONG) for a name with nothing there, so the run's note stands."""
    work = tmp_path / "w"
    work.mkdir()
    table = policy(permit("openat", path=f"{work}/**", fresh=True),
                   never("openat", path=f"{work}/**"))
    verdict, text, done = _run(work, table, loop)
    assert done, text
    assert verdict == "BLOCKED", text


def test_held_above_path_max(tmp_path: Path, loop: dict[str, str]) -> None:
    """The control of the finding: the same run two directories deep (well under PATH_MAX)
    is BLOCKED -- the identity check (ext4's handle carries the generation) works there."""
    work = tmp_path / "w"
    work.mkdir()
    table = policy(permit("openat", path=f"{work}/**", fresh=True),
                   never("openat", path=f"{work}/**"))
    os.makedirs(work / NAMES[0] / NAMES[1])
    done: list[bool] = []

    def outsider() -> None:
        where = work / NAMES[0] / NAMES[1]
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not (where / "x").exists():
            time.sleep(0.01)
        while time.monotonic() < deadline and (where / "x").exists():
            time.sleep(0.01)
        (where / "x").write_text(SECRET_MAGIC + "\n")
        (where / "ready").write_text("")
        done.append(True)

    thread = threading.Thread(target=outsider)
    thread.start()
    try:
        out = attack(sys.executable, "-c", RUN, work, NAMES[0], NAMES[1], policy_text=table,
                     scene=None, env=loop, timeout=60)
    finally:
        thread.join()
    assert done, str(out)
    assert out.verdict == "BLOCKED", str(out)


# --- the same root, a tracer that is not root: a directory on the way it may not search ---

#: the run goes to W/a/b, makes x, removes it, takes the search right off W/a (its own
#: directory: chmod of a name no rule names makes no stop) and reads x after another process
#: -- one that can still reach W/a/b: root, or one already in it -- wrote its secret there
UNSEARCHABLE = f"""
import os, sys, time
os.chdir(sys.argv[1] + "/a/b")
out = os.open("x", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(out, b"mine\\n")
os.close(out)
time.sleep(0.5)
os.unlink("x")
if sys.argv[2] == "chmod":
    os.chmod("..", 0)
for _ in range(200):
    if os.path.exists("ready"):
        break
    time.sleep(0.1)
try:
    with open("x") as f:
        text = f.read()
except OSError as exc:
    print("BLOCKED:", exc)
else:
    print("ESCAPED: read an outsider's file as the run's own" if {SECRET_MAGIC!r} in text
          else "BLOCKED: not the secret")
"""

#: a user the run and the tracer run as, and a python it may run (the test's may be under
#: /root); the package and its dependencies by PYTHONPATH
USER = 1000
SYSTEM_PYTHON = Path(f"/usr/bin/python3.{sys.version_info.minor}")


def _as_user(work: Path, how: str, table: str | None,
             env: dict[str, str] | None) -> tuple[str, str, bool]:
    """Run UNSEARCHABLE as USER (traced by a tracer running as USER when ``table``)."""
    import shutil
    import sysconfig
    import tempfile

    if not SYSTEM_PYTHON.exists() or shutil.which("setpriv") is None:
        pytest.skip("no system python or setpriv here")
    (work / "a" / "b").mkdir(parents=True)
    for path in (work, work / "a", work / "a" / "b"):
        os.chown(path, USER, USER)
    home = Path(tempfile.mkdtemp(prefix="review64-", dir=work.parent))
    home.chmod(0o755)
    done: list[bool] = []

    def outsider() -> None:
        where = work / "a" / "b"
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not (where / "x").exists():
            time.sleep(0.01)
        while time.monotonic() < deadline and (where / "x").exists():
            time.sleep(0.01)
        time.sleep(0.2)  # (after the chmod)
        (where / "x").write_text(SECRET_MAGIC + "\n")
        (where / "ready").write_text("")
        done.append(True)

    repo = Path(__file__).resolve().parents[2]
    run_env = {**(env or {}), "HOME": str(home),
               "PYTHONPATH": f"{repo}:{sysconfig.get_paths()['purelib']}"}
    setpriv = ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups"]
    thread = threading.Thread(target=outsider)
    thread.start()
    try:
        if table is None:
            out = attack("setpriv", *setpriv[1:], SYSTEM_PYTHON, "-c", UNSEARCHABLE, work, how,
                         policy_text=None, scene=None, env=run_env, cwd=home, timeout=60)
        else:
            policy_file = home / "policy.toml"
            policy_file.write_text(table)
            policy_file.chmod(0o644)
            out = attack(SYSTEM_PYTHON, "-c", UNSEARCHABLE, work, how, policy_text=table,
                         scene=None, env=run_env, cwd=home, timeout=60,
                         policy_file=policy_file,
                         tracer=[*setpriv, str(SYSTEM_PYTHON), "-m", "systrace_py"])
    finally:
        thread.join()
        for path in (work / "a",):
            path.chmod(0o755)
    return out.verdict, str(out), bool(done)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory USER may reach (pytest's tmp_path is below root's 0700 one)."""
    import shutil
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="review64-w-"))
    where.chmod(0o755)
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_native_control_an_outsiders_file_below_an_unsearchable_directory_is_read(
        shared: Path) -> None:
    verdict, text, done = _as_user(shared / "w", "chmod", None, None)
    assert done and verdict == "ESCAPED", text


def test_an_outsiders_file_the_tracer_cannot_look_up_is_not_the_runs(
        shared: Path, loop: dict[str, str]) -> None:
    """ESCAPED on main 01d6e5c4 (both loops): the tracer (not root) may not search W/a, so
    name_identity is None and os.path.lexists False (EACCES): still_made says 'nothing there'
    while the run reaches x from its cwd."""
    work = shared / "w"
    table = policy(permit("openat", path=f"{work}/**", fresh=True),
                   never("openat", path=f"{work}/**"))
    verdict, text, done = _as_user(work, "chmod", table, loop)
    assert done, text
    assert verdict == "BLOCKED", text


def test_held_as_a_user_where_the_tracer_can_look(shared: Path, loop: dict[str, str]) -> None:
    """The control of the finding: the same run as the user without the chmod is BLOCKED
    (the identity differs) -- passes on main."""
    work = shared / "w"
    table = policy(permit("openat", path=f"{work}/**", fresh=True),
                   never("openat", path=f"{work}/**"))
    verdict, text, done = _as_user(work, "keep", table, loop)
    assert done, text
    assert verdict == "BLOCKED", text
