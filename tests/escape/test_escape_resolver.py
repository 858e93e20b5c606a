"""Issue 11, classes 2 and 7: a resolver that never guesses, and long paths.

Where the resolver cannot reproduce the kernel's lookup it must give the kernel's errno, never
decide on another spelling; and the call the kernel runs must use the spelling that was checked.
Each attack runs natively (it must work there) and under systrace, in a single-task tree and
in a tree with a second thread alive -- where the tracer holds every checked argument and runs
what it cannot hold with the tree frozen, so both ways of enforcing are attacked.  Parity runs
compare what each call returned with the native run, call by call.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    Outcome,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    policy,
    read_never,
    require_real,
)

from conftest import results

TASKS = pytest.mark.parametrize("tasks", ["single", "threads"])


def tasks_env(tasks: str) -> dict[str, str]:
    return {"ESC_THREAD": "1"} if tasks == "threads" else {}


def secret_rule(s: Scene) -> str:
    return read_never(s.secret)


def write_rule(s: Scene) -> str:
    return policy(never("fswrite", path=str(s.secret)))


def ran(outcome: Outcome) -> dict[str, str]:
    """What each call returned ("OK" or its errno), by name."""
    out = results(outcome.stdout)
    assert out, f"the program reported no call:\n{outcome}"
    return out


def refused_by_the_rule(outcome: Outcome) -> None:
    """Every attempt failed with the rule's errno (EACCES): BLOCKED is the rule at work, not
    a spelling the engine broke on the way."""
    failures = re.findall(r"(?:^|; )([^;]*): (E[A-Z0-9]+)", outcome.detail) or [
        (name, value) for name, value in results(outcome.stdout).items()]
    assert failures, outcome
    assert {err for _, err in failures} == {"EACCES"}, f"not (only) the rule:\n{outcome}"


def native_and_traced(tmp_path: Path, binary: Path, args, policy_of, tasks: str,
                      setup=None) -> tuple[Outcome, Outcome]:
    """The same program natively and under systrace, each in a scene of its own."""
    runs = []
    for name, traced in (("native", False), ("traced", True)):
        scene = Scene.make(tmp_path, name)
        if setup is not None:
            setup(scene)
        runs.append(attack(binary, *args(scene), scene=scene, env=tasks_env(tasks),
                           policy_text=policy_of(scene) if traced else None))
    return runs[0], runs[1]


# --- the symlink limit ---------------------------------------------------------------------------

@TASKS
@pytest.mark.parametrize(("op", "rule"), [("open", secret_rule), ("dir", secret_rule),
                                          ("chmod", write_rule)])
def test_forty_links_to_the_secret_meet_its_rule(build, tmp_path, tasks, op, rule):
    """40 links is what the kernel follows: the chain reaches the secret, and the rule on it
    applies."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/path_loop.c"),
                                       lambda s: [op, 40, s.secret, s.work], rule,
                                       env=tasks_env(tasks))
    assert ran(traced)[op] == "EACCES", traced


@TASKS
@pytest.mark.parametrize(("op", "rule"), [("open", secret_rule), ("dir", secret_rule),
                                          ("chmod", write_rule)])
def test_forty_one_links_are_eloop_as_natively(build, tmp_path, tasks, op, rule):
    """One more link and the kernel says ELOOP: so must the traced call -- not a decision on
    the spelling where the walk stopped, which, handed to the kernel, would reach the secret
    (chmod through the last link changed its mode)."""
    native, traced = native_and_traced(tmp_path, build("escape/path_loop.c"),
                                       lambda s: [op, 41, s.secret, s.work], rule, tasks)
    assert ran(native)[op] == "ELOOP", native
    assert ran(traced)[op] == "ELOOP", traced
    assert_blocked(traced)


@TASKS
@pytest.mark.parametrize("op", ["open", "dir", "chmod"])
def test_forty_links_to_a_permitted_file_work(build, tmp_path, tasks, op):
    s = Scene.make(tmp_path)
    out = attack(build("escape/path_loop.c"), op, 40, s.decoy, s.work, scene=s,
                 policy_text=policy(never(["fsread", "fswrite"], path=str(s.secret))),
                 env=tasks_env(tasks))
    assert ran(out)[op] == "OK", out


# --- deep trees ----------------------------------------------------------------------------------

@TASKS
def test_the_secret_from_a_cwd_deeper_than_path_max(build, tmp_path, tasks):
    """/proc cannot name the cwd (readlink says ENAMETOOLONG); a relative path climbing out of
    it still reaches the secret, and the rule applies (not a decision on "/secd/...")."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/path_deep.c"),
                                       lambda s: ["secret_up", s.secret, s.work], secret_rule,
                                       env=tasks_env(tasks))
    refused_by_the_rule(traced)


DEEP_NAME = "q" * 200
DEEP_LEVELS = 22


def deep_secret(s: Scene) -> Path:
    """A file holding the secret at the bottom of a tree under the scene's root whose name is
    longer than PATH_MAX (made through descriptors: no path that long exists as a string)."""
    fd = os.open(s.root, os.O_PATH | os.O_DIRECTORY)
    for _ in range(DEEP_LEVELS):
        os.mkdir(DEEP_NAME, dir_fd=fd)
        nxt = os.open(DEEP_NAME, os.O_PATH | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    try:
        out = os.open("secret.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(out, f"{SECRET_MAGIC}\n".encode())
        os.close(out)
    finally:
        os.close(fd)
    path = s.root.joinpath(*[DEEP_NAME] * DEEP_LEVELS, "secret.txt")
    assert len(str(path)) > 4096
    return path


@TASKS
def test_a_rule_on_a_file_deeper_than_path_max(build, tmp_path, tasks):
    """The rule names the file by its long path; from a cwd (or dirfd) inside that deep
    directory, every spelling of it is refused."""
    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/path_deep.c"),
        lambda s: ["secret_in", s.secret, s.work, s.root, DEEP_NAME, DEEP_LEVELS],
        lambda s: read_never(deep_secret_path(s)), setup=deep_secret, env=tasks_env(tasks))
    refused_by_the_rule(traced)


def deep_secret_path(s: Scene) -> str:
    return str(s.root.joinpath(*[DEEP_NAME] * DEEP_LEVELS, "secret.txt"))


@TASKS
def test_work_in_a_cwd_deeper_than_path_max_is_as_native(build, tmp_path, tasks):
    """Creating, writing, renaming, linking, removing... in a cwd just below PATH_MAX (whose
    files' names are longer than it) and far above it: every call returns what it returns
    natively."""
    native, traced = native_and_traced(
        tmp_path, build("escape/path_deep.c"), lambda s: ["ops", s.secret, s.work],
        lambda s: policy(never(["fsread", "fswrite"], path=str(s.secret))), tasks)
    assert ran(traced) == ran(native), f"{native}\n{traced}"
    assert "OK" in ran(native).values()


# --- creating through a dangling symlink ---------------------------------------------------------

@TASKS
def test_creating_through_a_dangling_link_into_a_refused_directory(build, tmp_path, tasks):
    """open(O_CREAT) follows a link to nothing and creates its target: decided on the target,
    inside the directory the rule refuses writing to."""
    traced, s = controlled_and_blocked(tmp_path, build("escape/path_dangling.c"),
                                       lambda s: [s.secret, s.work],
                                       lambda s: policy(never("fswrite", path=f"{s.secd}/**")),
                                       env=tasks_env(tasks))
    assert set(ran(traced).values()) == {"EACCES"}, traced
    assert not [p for p in s.secd.iterdir() if p.name.startswith("planted")]


@TASKS
def test_creating_through_a_dangling_link_into_a_permitted_directory_works(build, tmp_path,
                                                                          tasks):
    native, traced = native_and_traced(
        tmp_path, build("escape/path_dangling.c"), lambda s: [s.decoy, s.work],
        lambda s: policy(never("fswrite", path=f"{s.secd}/**")), tasks)
    assert ran(traced) == ran(native), f"{native}\n{traced}"
    assert set(ran(traced).values()) == {"OK"}, traced
    assert traced.verdict == "ESCAPED"  # here: every file was made in the permitted directory


# --- magic links ---------------------------------------------------------------------------------

@TASKS
@pytest.mark.parametrize("mode", ["fd_removed", "fd_named", "cwd_removed", "child_cwd"])
def test_magic_links_whose_text_names_something_else(build, tmp_path, tasks, mode):
    """/proc/self/fd/N, /proc/PID/cwd, /proc/thread-self/...: the kernel jumps to the object,
    whose text (" (deleted)") names no file; ".." out of it still reaches the secret."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/path_magic.c"),
                                       lambda s: [mode, s.secret, s.work], secret_rule,
                                       env=tasks_env(tasks))
    refused_by_the_rule(traced)


@TASKS
@pytest.mark.parametrize("mode", ["fd_removed", "fd_named", "cwd_removed", "child_cwd"])
def test_the_same_magic_spellings_of_a_permitted_file_work(build, tmp_path, tasks, mode):
    s = Scene.make(tmp_path)
    out = attack(build("escape/path_magic.c"), mode, s.decoy, s.work, scene=s,
                 policy_text=secret_rule(s), env=tasks_env(tasks))
    assert out.verdict == "BLOCKED" and "opened" in out.detail, out
    failures = re.findall(r"([^;]*): (E[A-Z0-9]+)", out.detail)
    assert not failures, f"spellings that failed on a permitted file: {failures}\n{out}"


def test_native_control_of_the_permitted_spellings(build, tmp_path):
    """(The spellings above are real: natively they reach the decoy too.)"""
    s = Scene.make(tmp_path)
    out = attack(build("escape/path_magic.c"), "fd_removed", s.decoy, s.work, scene=s,
                 policy_text=None)
    assert out.verdict == "BLOCKED" and "opened" in out.detail and ": E" not in out.detail, out
    require_real(attack(build("escape/path_magic.c"), "fd_removed", s.secret, s.work,
                        scene=Scene.make(tmp_path, "again"), policy_text=None))


# --- lookups that fail ---------------------------------------------------------------------------

UNIX_CONNECTS = """
import errno, os, socket, sys
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        print(path, "-> OK")
    except OSError as exc:
        print(path, "->", errno.errorcode[exc.errno])
os.mkdir("gone")
os.chdir("gone")
os.rmdir("../gone")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("inside")
except OSError as exc:
    print("inside a removed cwd ->", errno.errorcode[exc.errno])
"""


def test_a_unix_socket_path_whose_lookup_fails_gets_the_kernels_errno(tmp_path):
    """connect() to a unix path through a missing directory, through a file, relative to a
    removed cwd: the lookup's errno, as natively -- the tracer used to raise and end the
    traced tree."""
    from conftest import PYTHON
    s = Scene.make(tmp_path)
    paths = [f"{s.work}/missing/sock", f"{s.secret}/sock", "missing/sock"]
    text = policy(never("net-connect", "ECONNREFUSED", unix=f"{s.secd}/**"))
    native = attack(PYTHON, "-c", UNIX_CONNECTS, *paths, scene=s, policy_text=None,
                    cwd=s.work)
    traced = attack(PYTHON, "-c", UNIX_CONNECTS, *paths, scene=s, policy_text=text,
                    cwd=s.work)
    assert traced.returncode == native.returncode == 0, traced
    assert ran(traced) == ran(native), f"{native}\n{traced}"
    assert set(ran(native).values()) == {"ENOENT", "ENOTDIR"}, native


def test_a_magic_link_swapped_between_check_and_open(build, tmp_path):
    """A sibling thread flips what /proc/self/fd/N names between a pipe and a read-only
    descriptor of the secret: the pipe's name is permitted, but the kernel follows the link
    again at the open, so the call runs with the tree frozen and re-checked."""
    controlled_and_blocked(tmp_path, build("escape/race_magic.c"),
                           lambda s: [s.secret, 100000, 1],
                           lambda s: policy(never("fswrite", path=str(s.secret))))


# --- last names the kernel treats specially ------------------------------------------------------

LAST_NAMES = r"""
import errno, os, sys, threading, time
if sys.argv[1] == "threads":
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
os.mkdir("d"); os.mkdir("e"); open("f", "w").close()
os.symlink("d", "ld"); os.symlink("f", "lf"); os.symlink("nothing", "ldang")
os.symlink("e/", "le")
calls = [
    ("rmdir d/.", os.rmdir, "d/."), ("rmdir d/..", os.rmdir, "d/.."),
    ("rmdir ld/", os.rmdir, "ld/"), ("unlink lf/", os.unlink, "lf/"),
    ("unlink ld/", os.unlink, "ld/"), ("unlink f/", os.unlink, "f/"),
    ("mkdir ldang/", os.mkdir, "ldang/"), ("mkdir new/", os.mkdir, "new/"),
    ("mkdir d/../new2", os.mkdir, "d/../new2"), ("mkdir d/.", os.mkdir, "d/."),
    ("rename ld/ x", os.rename, "ld/", "x"), ("rename d/. y", os.rename, "d/.", "y"),
    ("rename f d/..", os.rename, "f", "d/.."), ("link f ldang/", os.link, "f", "ldang/"),
    ("symlink t ld/", os.symlink, "t", "ld/"), ("lstat ld/", os.lstat, "ld/"),
    ("lstat lf/", os.lstat, "lf/"), ("stat d/.", os.stat, "d/."),
    ("chmod d/..", os.chmod, "d/..", 0o755), ("readlink ld/", os.readlink, "ld/"),
    ("open f/", os.open, "f/", os.O_RDONLY),
    ("open new3/ O_CREAT", os.open, "new3/", os.O_CREAT | os.O_WRONLY),
    ("open ldang O_CREAT", os.open, "ldang", os.O_CREAT | os.O_WRONLY),
    ("open le O_CREAT", os.open, "le", os.O_CREAT | os.O_WRONLY),
    ("open ld/ O_NOFOLLOW", os.open, "ld/", os.O_RDONLY | os.O_NOFOLLOW),
    ("rmdir le/", os.rmdir, "le/"), ("rmdir e/", os.rmdir, "e/"),
    ("open missing/../g O_CREAT", os.open, "missing/../g", os.O_CREAT | os.O_WRONLY),
    ("open missing/. O_CREAT", os.open, "missing/.", os.O_CREAT | os.O_WRONLY),
    ("mkdir missing/../h", os.mkdir, "missing/../h"),
    ("open missing/x O_CREAT", os.open, "missing/x", os.O_CREAT | os.O_WRONLY),
]
for label, call, *args in calls:
    try:
        call(*args)
        print(label, "-> OK")
    except OSError as exc:
        print(label, "->", errno.errorcode[exc.errno])
print("tree ->", sorted(os.listdir(".")))
"""


@TASKS
def test_calls_on_a_last_name_the_kernel_treats_specially_are_as_native(tmp_path, tasks):
    """A last ".", "..", a trailing slash, a symlink followed for its slash only: what rmdir,
    unlink, mkdir, rename, link, symlink, stat and open do with such a name depends on the
    call, so with other tasks alive the tracer hands the kernel the call's own spelling (the
    tree frozen) or the canonical one with its slash -- never a spelling that acts elsewhere
    (rmdir of "d/." removing d, unlink of "ld/" removing what ld points at).  Likewise a
    missing directory followed by "." or "..": ENOENT, never "g" or "missing" created."""
    from conftest import PYTHON
    outs = []
    for name, traced in (("native", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        text = policy(never(["fsread", "fswrite"], path=str(s.secret))) if traced else None
        outs.append(attack(PYTHON, "-c", LAST_NAMES, tasks, scene=s, policy_text=text,
                           cwd=s.work))
    native, traced = outs
    assert native.returncode == 0, native
    assert ran(traced) == ran(native), f"{native}\n{traced}"


def test_a_path_of_two_thousand_missing_names_does_not_end_the_tracer(tmp_path):
    """One lookup per missing name, nested, used to exhaust the tracer's stack: any program
    could end its own traced tree (and its siblings with it)."""
    from conftest import PYTHON
    s = Scene.make(tmp_path)
    code = ("import errno, os\n"
            "for raw in ('m/' * 2000, 'd/' * 1000 + 'x'):\n"
            "    try:\n"
            "        os.open(raw, os.O_RDONLY)\n"
            "    except OSError as exc:\n"
            "        print(raw[:4], '->', errno.errorcode[exc.errno])\n")
    out = attack(PYTHON, "-c", code, scene=s, policy_text=secret_rule(s), cwd=s.work)
    assert out.returncode == 0 and ran(out) == {"m/m/": "ENOENT", "d/d/": "ENOENT"}, out
