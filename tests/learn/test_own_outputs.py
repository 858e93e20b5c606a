"""The next run after a source edit meets what the learning run made and left (learn23): an
incremental build reads back, replaces and removes the last run's outputs -- cmake's
``build.make`` and the compiler's ``*.o.d``, cargo's fingerprints under ``NAME-HASH/``, the
``dist/out.js`` ``npm pack`` packs, the objects ``rm -rf repo`` meets.  A file the run
created is the program's own: the policy grants those, by name (a content hash's removal
by its shape, in the run's own tree) -- and no other file of the tree, no file the run
only linked there, no other name of a generated directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from test_next_run import PYTHON3, enforce, generated, learn, refusals

#: an incremental build's state file: looked at (absent while learning), read back when it
#: is there, written again; cmake's cmGeneratedFileStream for its build.make: written to
#: ``NAME.tmpXXXXX``, then -- where NAME is there already -- both read and compared, the
#: temporary removed; else renamed onto NAME; and cargo's fingerprint below a directory
#: named by the hash of what it builds (the same hash every run), read and rewritten
BUILD_PY = r"""
import os, sys
os.makedirs("build", exist_ok=True)
if os.path.exists("build/state"):
    print("state", open("build/state").read())
open("build/state", "w").write(open("src.txt").read())

def generated(name, text):
    tmp = "%s.tmp%05x" % (name, (os.getpid() * 7919) & 0xfffff)
    with open(tmp, "w") as f:
        f.write(text)
    if os.path.exists(name):
        same = open(tmp).read() == open(name).read()
        if same:
            os.unlink(tmp)
            return
    os.rename(tmp, name)

generated("build/build.make", "all: hello\n")
fp = "target/.fingerprint/hello-b0a626c48b003309"
os.makedirs(fp, exist_ok=True)
if os.path.exists(fp + "/bin-hello"):
    print("fingerprint", open(fp + "/bin-hello").read())
open(fp + "/bin-hello", "w").write(open("src.txt").read())
print("built")
"""


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "src.txt").write_text("v1\n")
    (root / "build.py").write_text(BUILD_PY)
    return root


def test_what_the_run_made_is_read_and_replaced_on_the_next_run_and_no_other_file(tmp_path):
    """Learned from a clean tree; before learn23 the next run in the built tree was refused
    the read of ``build/state``, of ``build/build.make`` and its own ``build.make.tmpXXXXX``,
    and the read and rewrite of ``hello-HASH/bin-hello``: 5 refusals, the script failed."""
    proj = _project(tmp_path / "proj")
    command = [PYTHON3, "build.py"]
    policy = learn(tmp_path, command, cwd=proj)
    for text in ("v2\n", "v3\n"):
        (proj / "src.txt").write_text(text)  # the source edit
        r, refused = enforce(tmp_path, policy, command, cwd=proj)
        assert refused == [], [(x["syscall"], x["args"]) for x in refused]
        assert r.returncode == 0 and r.stdout.endswith("built\n"), r.stderr
    assert (proj / "build" / "state").read_text() == "v3\n"
    assert not list((proj / "build").glob("build.make.tmp*"))

    # no other file: not the tree's others, not another directory of the generated name,
    # not an older file at the generated temporary's name
    rules = tomllib.loads(policy.read_text())["rule"]
    assert not any(str(proj) in str(rule.get("path", "")) for rule in rules)
    (proj / "build" / "notes.txt").write_text("mine\n")
    other = proj / "target" / ".fingerprint" / "hello-ffffffff00000000"
    other.mkdir()
    (other / "bin-hello").write_text("mine\n")
    (proj / "build" / "build.make.tmp12345").write_text("mine\n")
    for path in ("build/notes.txt", f"{other}/bin-hello", "build/build.make.tmp12345",
                 "src.txt.bak"):
        script = f"print(open({path!r}).read())"
        (proj / "src.txt.bak").write_text("mine\n")
        r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", script], cwd=proj)
        assert refused and r.returncode != 0, (path, r.stdout)
        assert "mine" not in r.stdout
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c",
                                            f"open('{other}/bin-hello', 'w').write('x')"],
                         cwd=proj)
    assert refused and (other / "bin-hello").read_text() == "mine\n"


#: a file the run did not make, linked into the tree it builds: its contents are not the
#: run's, and a read of the link on the next run would be a read of the file
LINK_PY = r"""
import os, sys
os.makedirs("build", exist_ok=True)
if os.path.exists("build/copy"):
    print(open("build/copy").read())
    os.unlink("build/copy")
os.link(sys.argv[1], "build/copy")
open("build/own", "w").write("own\n")
"""


def test_a_file_linked_into_the_tree_is_not_read_as_the_runs_own(tmp_path):
    """The read-back grant is of files of the run's own contents: a hard link it made to an
    older file (a secret it may link, not read: ``fslink``) is no such file."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "link.py").write_text(LINK_PY)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    command = [PYTHON3, "link.py", str(secret)]
    policy = learn(tmp_path, command, cwd=proj)
    r, refused = enforce(tmp_path, policy, command, cwd=proj)
    assert "the secret" not in r.stdout
    assert any(x["args"].get("path") == f"{proj}/build/copy" and x["syscall"] == "openat"
               for x in refused), refused
    # (the program reads its own file back)
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", "print(open('build/own').read())"],
                         cwd=proj)
    assert refused == [] and r.stdout == "own\n\n", (refused, r.stderr)


GIT_SCRIPT = ("rm -rf repo && mkdir repo && cp -r src/. repo/ && cd repo && git init -q && "
              "git add -A && git -c user.name=u -c user.email=u@x commit -qm init && "
              "git log --oneline >/dev/null")


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_the_last_runs_repository_is_removed_again_and_no_other_file(tmp_path):
    """``rm -rf repo && ... git commit`` learned with no ``repo``: the next run after a
    source edit removes the last run's objects, other hashes than the learning run's (a
    fresh rule of the shape covers only the run's own new ones): 10 refusals a run in
    learn22's measurement, ``rm`` failed.  Now the removal of the shape, below the
    repository the run made -- and no other file there, no object of another tree."""
    proj = tmp_path / "proj"
    (proj / "src" / "b").mkdir(parents=True)
    (proj / "src" / "a.txt").write_text("hello\n")
    (proj / "src" / "b" / "c.txt").write_text("world\n")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    command = ["sh", "-c", GIT_SCRIPT]
    policy = learn(tmp_path, command, cwd=proj, env=env)
    for i in range(2):
        with open(proj / "src" / "a.txt", "a") as f:
            f.write(f"edit {i}\n")
        r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
        assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
        assert r.returncode == 0, r.stderr
    log = subprocess.run(["git", "-C", str(proj / "repo"), "log", "--oneline"],
                         capture_output=True, text=True, env=env)
    assert log.returncode == 0 and len(log.stdout.splitlines()) == 1

    # no other file: one put in the repository by someone else stays, and so does an
    # object of another repository of the checkout
    (proj / "repo" / "notes.txt").write_text("mine\n")
    other = proj / "other" / ".git" / "objects" / "ab"
    other.mkdir(parents=True)
    (other / ("c" * 38)).write_text("mine\n")
    r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
    assert refused and r.returncode != 0
    assert (proj / "repo" / "notes.txt").exists()
    r, refused = enforce(tmp_path, policy, ["sh", "-c", "rm -rf other"], cwd=proj, env=env)
    assert refused and (other / ("c" * 38)).exists()
    assert refusals(tmp_path / "enforce.jsonl")


CMAKELISTS = ("cmake_minimum_required(VERSION 3.10)\nproject(hello C)\n"
              "add_executable(hello main.c)\n")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("cc") is None,
                    reason="no cmake or cc")
def test_cmake_builds_again_after_an_edit_reading_what_it_wrote(tmp_path):
    """The real cmake, learned from a clean tree, then configured and built again after a
    source edit, twice: before learn23, 13 refusals (the reads of ``build.make``,
    ``flags.make``, ``cmake_install.cmake``, their ``*.tmpXXXXX``, the compiler's
    ``*.o.d``); before learn24, 1 and the build failed: the write of
    ``compiler_depend.internal.tmpXXXXX``, a file cmake writes only once the ``*.o.d`` are
    there -- through the template it wrote its other files with, of a name it removed while
    learning (``_writers_template``).  The second edit's run meets the
    ``compiler_depend.internal`` the first one made.  And no more than it made: another file
    of the build directory, an older file at a temporary's name are not read."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "CMakeLists.txt").write_text(CMAKELISTS)
    (proj / "main.c").write_text('#include <stdio.h>\nint main(void){puts("v1");return 0;}\n')
    command = ["sh", "-c", "cmake -S . -B build >/dev/null && cmake --build build >/dev/null"
               " && ./build/hello"]
    policy = learn(tmp_path, command, cwd=proj)
    assert re.search(generated("compiler_depend.internal.", 8), policy.read_text())
    for version in ("v2", "v3"):
        (proj / "main.c").write_text(
            '#include <stdio.h>\nint main(void){puts("' + version + '");return 0;}\n')
        r, refused = enforce(tmp_path, policy, command, cwd=proj, timeout=300)
        assert refused == [], [(x["syscall"], x["args"].get("path", "")) for x in refused]
        assert r.returncode == 0 and r.stdout.strip() == version, r.stderr
    # and no more than it made: another file of its build directory is not read, nor an
    # older file at the name of a temporary of the template
    target = proj / "build" / "CMakeFiles" / "hello.dir"
    (proj / "build" / "notes.txt").write_text("mine\n")
    (target / "notes.txt").write_text("mine\n")
    (target / "compiler_depend.internal.tmp00000").write_text("mine\n")
    for planted in ("build/notes.txt", "build/CMakeFiles/hello.dir/notes.txt",
                    "build/CMakeFiles/hello.dir/compiler_depend.internal.tmp00000"):
        r, refused = enforce(tmp_path, policy, ["sh", "-c", f"cmake -E cat {planted}"],
                             cwd=proj)
        assert refused and "mine" not in r.stdout, planted


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="no npm")
def test_npm_packs_the_build_output_the_last_run_left(tmp_path):
    """The real npm: ``npm pack`` packs the ``dist/out.js`` the last ``npm run build``
    wrote.  Learned from a clean tree, the next run after an edit was refused the read of
    it (exit 255): 1 refusal a run before learn23."""
    proj = tmp_path / "pkg"
    proj.mkdir()
    (proj / "package.json").write_text(
        '{"name": "tinypkg", "version": "1.0.0", "main": "index.js",'
        ' "scripts": {"build": "node build.js"}}')
    (proj / "index.js").write_text("console.log('tiny');\n")
    (proj / "build.js").write_text(
        "const fs=require('fs');fs.mkdirSync('dist',{recursive:true});"
        "fs.writeFileSync('dist/out.js', fs.readFileSync('index.js'));\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "npm_config_update_notifier": "false"}
    command = ["sh", "-c", "npm pack --silent >/dev/null && npm run --silent build"]
    policy = learn(tmp_path, command, cwd=proj, env=env)
    (proj / "index.js").write_text("console.log('tiny', 2);\n")
    r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env, timeout=300)
    assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
    assert r.returncode == 0, r.stderr
    # no more than it made: the grant is of dist/out.js by name, no glob of dist (the exec
    # of node is held to npm's own arguments: no other program to read with here)
    text = policy.read_text()
    assert "$CWD/dist/out.js" in text
    assert not re.search(r"\$CWD/dist/[^,}\"]*[*?\[]", text), text


#: a file the run made, then replaced by a file it did not make: a hard link to a secret
#: made under another name and renamed onto the run's own, or into a directory renamed onto
#: the name of one the run made and moved away (review 20)
REPLACE_PY = r"""
import os, sys
os.makedirs("build", exist_ok=True)
open("build/out", "w").write("own\n")
os.link(sys.argv[1], "build/tmp")
os.rename("build/tmp", "build/out")
os.makedirs("dist/pkg")
open("dist/pkg/out", "w").write("own\n")
os.rename("dist/pkg", "dist/pkg.old")
os.makedirs("other")
os.link(sys.argv[1], "other/out")
os.rename("other", "dist/pkg")
"""


def test_a_file_of_the_runs_own_replaced_by_a_link_is_not_read_as_its_own(tmp_path):
    """The run made ``build/out`` with contents of its own, then renamed a hard link of a
    file it may only link (``fslink``) onto it: what the name holds at the run's end is the
    secret's inode, no file of the run's.  Before review 20 the name stayed in
    ``_Context.own`` from its first making, and the next run was granted its read: the
    secret, which no run read.  So too for a name below a directory the run made and moved
    away (``dist/pkg``), where it then renamed a tree holding such a link."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "replace.py").write_text(REPLACE_PY)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    policy = learn(tmp_path, [PYTHON3, "replace.py", str(secret)], cwd=proj)
    assert (proj / "build" / "out").stat().st_ino == secret.stat().st_ino
    for path in ("build/out", "dist/pkg/out"):
        r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", f"print(open({path!r}).read())"],
                             cwd=proj)
        assert "the secret" not in r.stdout, path
        assert any(x["args"].get("path") == f"{proj}/{path}" for x in refused), refused


#: the learning run sees each distinct call once (``Learner._observations``): the second
#: link and rename below are the first's again and are not recorded -- the run ends with the
#: secret's inode at ``build/out``, while the observations, in the order first seen, end
#: with the run's own file renamed onto it (red team 40)
REPEAT_PY = r"""
import os, sys
os.makedirs("build", exist_ok=True)
for step in range(2):
    os.link(sys.argv[1], "build/s")
    os.rename("build/s", "build/out")
    if step == 0:
        open("build/s2", "w").write("own\n")
        os.rename("build/s2", "build/out")
"""

#: a descriptor of a file whose name was removed is named by the kernel ``NAME (deleted)``
#: -- a name the run can make a file of its own at: the link through ``/proc/self/fd`` then
#: names that file as its source, and it was the secret's inode (red team 40)
DELETED_PY = r"""
import os, sys
os.makedirs("build", exist_ok=True)
os.link(sys.argv[1], "build/x")
fd = os.open("build/x", os.O_PATH)
os.unlink("build/x")
open("build/x (deleted)", "w").write("own\n")
here = os.open(".", os.O_PATH)  # (a dirfd: linkat with AT_SYMLINK_FOLLOW, not link)
os.link(f"/proc/self/fd/{fd}", "build/out", src_dir_fd=here, follow_symlinks=True)
"""


@pytest.mark.parametrize("script", [REPEAT_PY, DELETED_PY], ids=["repeated", "deleted"])
def test_a_link_to_a_secret_left_at_a_name_is_not_read_as_the_runs_own(tmp_path, script):
    """The run leaves a hard link to a file it may only link (``fslink``) at ``build/out``,
    by calls the learner cannot tell from a move of its own file: a replacement repeated
    (the learner keeps each distinct call once, in the order first seen, and the first
    replacement was followed by one of the run's own file) or a link of a descriptor whose
    kernel name, ``build/x (deleted)``, is the name of a file the run made.  Before red team
    40 the name was in ``_Context.own`` and the next run was granted its read: the secret,
    which no run read."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "attack.py").write_text(script)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    policy = learn(tmp_path, [PYTHON3, "attack.py", str(secret)], cwd=proj)
    assert (proj / "build" / "out").stat().st_ino == secret.stat().st_ino
    read = [PYTHON3, "-c", "print(open('build/out').read())"]
    r, refused = enforce(tmp_path, policy, read, cwd=proj)
    assert "the secret" not in r.stdout
    assert any(x["args"].get("path") == f"{proj}/build/out" for x in refused), refused


#: the run's own files at names of a date's and a UUID's shape, and a hard link to a secret
#: beside each at another name of the same shape (red team 40)
SHAPED_PY = r"""
import os, sys
os.makedirs("logs", exist_ok=True)
open("logs/run-2026-12-06_20-05-29.log", "w").write("own\n")
os.link(sys.argv[1], "logs/run-2000-01-01_00-00-00.log")
os.makedirs("cache/26d8a713-0c3f-4d15-801c-b6c8bf0abeb4")
open("cache/26d8a713-0c3f-4d15-801c-b6c8bf0abeb4/out", "w").write("own\n")
os.makedirs("cache/00000000-0000-0000-0000-000000000000")
os.link(sys.argv[1], "cache/00000000-0000-0000-0000-000000000000/out")
"""


def test_the_read_of_a_file_of_the_runs_own_is_of_its_name_not_its_shape(tmp_path):
    """The read-back grant of a file of the run's own is of its name: a name of a date's or a
    UUID's shape is written by a rule of that shape (the next run's log has another date),
    and before red team 40 its read was granted by that rule too -- every name of the shape,
    here the hard links to a secret the run made beside its own files, which it only linked
    (``fslink``): the next run read the secret through them."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "shaped.py").write_text(SHAPED_PY)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    policy = learn(tmp_path, [PYTHON3, "shaped.py", str(secret)], cwd=proj)
    for path in ("logs/run-2000-01-01_00-00-00.log",
                 "cache/00000000-0000-0000-0000-000000000000/out"):
        r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", f"print(open({path!r}).read())"],
                             cwd=proj)
        assert "the secret" not in r.stdout, path
        assert any(x["args"].get("path") == f"{proj}/{path}" for x in refused), refused
    # (the run's own files are read back, by name)
    for path in ("logs/run-2026-12-06_20-05-29.log",
                 "cache/26d8a713-0c3f-4d15-801c-b6c8bf0abeb4/out"):
        r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", f"print(open({path!r}).read())"],
                             cwd=proj)
        assert refused == [] and r.stdout == "own\n\n", (path, refused, r.stderr)


#: a tree made at once (learn25): made under a temporary name, its tag written there, and
#: moved into place (cargo makes its ``target`` so: ``targetXXXXXX`` renamed to ``target``);
#: the build then writes its state below it and reads it back on the next run.  With a file
#: to link, the program links it into the temporary tree before the move, and opens it at
#: its new name as if to make it.
MOVED_TREE_PY = r"""
import os, sys, tempfile
if not os.path.isdir("out"):
    d = tempfile.mkdtemp(dir=".", prefix="out")
    open(os.path.join(d, "TAG"), "w").write("tag\n")
    if len(sys.argv) > 1:
        os.link(sys.argv[1], os.path.join(d, "x"))
    os.rename(d, "out")
os.makedirs("out/build", exist_ok=True)
state = "out/build/state"
n = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(n + 1))
if len(sys.argv) > 1:
    open("out/x", "a").close()
print(n + 1)
"""


def test_a_tree_moved_into_place_keeps_the_files_the_run_made_in_it_after(tmp_path):
    """Every file below a directory a move made was none of the run's own, even one the run
    made there after the move: the next run's read of its own state was refused (cargo:
    ``.fingerprint/NAME-HASH/bin-NAME``, 3 refusals a run, the build failed -- main
    1ec2f11: here 1 refusal, the state read).  A move of a directory the run made, of
    nothing but files it wrote, leaves what is made below its new name the run's."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "build.py").write_text(MOVED_TREE_PY)
    policy = learn(tmp_path, [PYTHON3, "build.py"], cwd=proj)
    for n in (2, 3):
        r, refused = enforce(tmp_path, policy, [PYTHON3, "build.py"], cwd=proj)
        assert refused == [], refused
        assert (r.returncode, r.stdout) == (0, f"{n}\n"), r.stderr
    # no more than used: the tag moved along (no maker at its new name) is not read
    (proj / "out" / "TAG").write_text("planted\n")
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", "print(open('out/TAG').read())"],
                         cwd=proj)
    assert "planted" not in r.stdout
    assert any(x["args"].get("path") == f"{proj}/out/TAG" for x in refused), refused


def test_a_tree_moved_into_place_with_a_secret_linked_in_is_none_of_the_runs(tmp_path):
    """The move takes a hard link to a secret along, which the run then opens at its new
    name as if to make it: the tree is not the run's own, and the next run reads neither
    the secret at that name nor anything else below it by the own-files rule."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "build.py").write_text(MOVED_TREE_PY)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    policy = learn(tmp_path, [PYTHON3, "build.py", str(secret)], cwd=proj)
    assert (proj / "out" / "x").stat().st_ino == secret.stat().st_ino
    for path in ("out/x", "out/build/state"):
        r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", f"print(open({path!r}).read())"],
                             cwd=proj)
        assert "the secret" not in r.stdout and r.stdout.strip() != "1", path
        assert any(x["args"].get("path") == f"{proj}/{path}" for x in refused), refused


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="no cargo")
def test_cargo_builds_again_in_the_target_it_made(tmp_path):
    """cargo makes ``target`` as ``targetXXXXXX`` moved into place: the next build's read
    and rewrite of its ``.fingerprint`` were refused and it failed (101; main 1ec2f11).
    (No incremental sessions: rustc's reads of the last session's lock are another matter,
    left: docs/learning.md, learn25.)"""
    proj = tmp_path / "hi"
    (proj / "src").mkdir(parents=True)
    (proj / "Cargo.toml").write_text('[package]\nname = "hi"\nversion = "0.1.0"\n'
                                     'edition = "2021"\n[dependencies]\n')
    (proj / "src" / "main.rs").write_text('fn main() { println!("hi"); }\n')
    env = {**os.environ, "CARGO_INCREMENTAL": "0", "CARGO_TERM_COLOR": "never"}
    build = ["cargo", "build", "-q", "--offline"]
    policy = learn(tmp_path, build, cwd=proj, env=env, timeout=600)
    for edit in ("", "// edit\n"):
        with open(proj / "src" / "main.rs", "a") as f:
            f.write(edit)
        r, refused = enforce(tmp_path, policy, build, cwd=proj, env=env, timeout=600)
        assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused[:4]]
        assert r.returncode == 0, r.stderr



#: a tree made and moved into place, its file made again at the new name; then the same
#: calls again with an older tree -- one the run did not make, a hard link to a secret in
#: it -- moved onto the temporary name first: the calls repeated (the unlink, the move)
#: are kept once, in the order first seen
REPEATED_MOVE_PY = r"""
import os
os.mkdir("t")
open("t/f", "w").write("own\n")
os.rename("t", "out")
os.unlink("out/f")
open("out/f", "w").write("own\n")
os.unlink("out/f")
os.rmdir("out")
os.rename("older", "t")
os.rename("t", "out")
open("out/f", "a").close()
"""


def test_a_move_repeated_after_an_older_tree_came_gives_no_read_of_it(tmp_path):
    """Review 25: learn25's own-tree move (``_own_moves``) looked at the names below the
    moved directory only; an older tree moved onto the directory's own name, before a move
    the run had made already (not recorded again), left the learner taking the file at
    the new name for the run's own -- the next run read the secret there by the own-files
    rule, though the run itself only opened it to append (failed on main).  With the
    older tree moved in under another name, it was refused already."""
    proj = tmp_path / "proj"
    (proj / "older").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    os.link(secret, proj / "older" / "f")
    (proj / "build.py").write_text(REPEATED_MOVE_PY)
    policy = learn(tmp_path, [PYTHON3, "build.py"], cwd=proj)
    assert (proj / "out" / "f").stat().st_ino == secret.stat().st_ino
    r, refused = enforce(tmp_path, policy, [PYTHON3, "-c", "print(open('out/f').read())"],
                         cwd=proj)
    assert "the secret" not in r.stdout
    assert any(x["args"].get("path") == f"{proj}/out/f" for x in refused), refused


#: a temporary file made, removed while open and reopened through /proc/self/fd (review 32)
REOPEN_PY = r"""
import os, tempfile
fd, name = tempfile.mkstemp(dir="w")
os.write(fd, b"own data\n")
os.unlink(name)
again = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
print(os.read(again, 100).decode(), end="")
"""


def test_a_removed_temporary_reopened_through_proc_runs_again(tmp_path):
    """``mkstemp`` in ``w/``, removed, reopened through ``/proc/self/fd``: learned as the
    generated name's fresh rule (``$CWD/w/tmp*``), the next run's reopen of
    ``w/tmpXXXX (deleted)`` was refused (EPERM, review 32: ``fresh`` of a removed file was
    False) -- and the learning run's own ``w/tmpXXXX (deleted)`` was written as an exact
    name no next run meets.  Now the removed file is the run's own when the tracer noted it
    at its removal (decode.Decoder.removed_own), and the learner writes its use as its
    name's."""
    proj = tmp_path / "proj"
    (proj / "w").mkdir(parents=True)
    (proj / "reopen.py").write_text(REOPEN_PY)
    command = [PYTHON3, "reopen.py"]
    policy = learn(tmp_path, command, cwd=proj)
    rules = tomllib.loads(policy.read_text())["rule"]
    # (no exact NAME (deleted): its name's shape, with the kernel's suffix -- learn36)
    assert not any("(deleted)" in str(rule.get("path", "")) and
                   not re.search(r"\]\{, \(deleted\)\}$", str(rule.get("path", "")))
                   for rule in rules), rules
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, command, cwd=proj)
        assert refused == [], [(x["syscall"], x["args"]) for x in refused]
        assert r.returncode == 0 and r.stdout == "own data\n", r.stderr
    assert not list((proj / "w").iterdir())


def test_a_shells_removed_temporary_read_again_through_dev_fd_runs_again(tmp_path):
    """The shell's form: ``mktemp``, written, held (``exec 3<``), removed by ``rm`` (which
    holds it too: the shell's descriptors are its child's) and read through ``/dev/fd/3``
    by ``cat``.  Learned as ``$TMPDIR/tmp.*`` fresh for each program; on main the next run's
    ``cat`` was refused the reopen of ``tmp.XXXX (deleted)`` (EPERM)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    command = ["sh", "-c", 't=$(mktemp); echo own > "$t"; exec 3<"$t"; rm "$t"; cat /dev/fd/3']
    policy = learn(tmp_path, command, cwd=tmp_path, env=env)
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, command, cwd=tmp_path, env=env)
        assert refused == [], [(x["syscall"], x["args"]) for x in refused]
        assert r.returncode == 0 and r.stdout == "own\n", r.stderr
    assert not list(tmp.iterdir())


#: the run's own temporary removed while open, reopened, closed: then the tracer's
#: descriptors are looked at for it (as root: the tracer is the same user's)
NOT_HELD_PY = r"""
import os, tempfile
fd, name = tempfile.mkstemp(dir="w")
os.write(fd, b"own data\n")
os.unlink(name)
again = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
print(os.read(again, 100).decode(), end="")
os.close(again)
os.close(fd)
tracer = [line.split()[1] for line in open("/proc/self/status")
          if line.startswith("TracerPid:")][0]
links = [os.readlink(f"/proc/{tracer}/fd/{n}") for n in os.listdir(f"/proc/{tracer}/fd")]
print("held by the tracer:", sum(link.startswith(name) for link in links))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="reads the tracer's descriptors (root)")
def test_a_removed_temporary_of_the_runs_own_is_not_kept_by_the_tracer(tmp_path):
    """What makes the reopen the run's own is noted by the file's identity (its handle
    carries the inode's generation), not by holding the file: once the program closes it,
    its space is freed as natively (the first version of learn30 held it until the run's
    end: ``held by the tracer: 1``).  The fresh rule is what lets the reopen run."""
    proj = tmp_path / "proj"
    (proj / "w").mkdir(parents=True)
    (proj / "reopen.py").write_text(NOT_HELD_PY)
    policy = tmp_path / "fresh.toml"
    policy.write_text(f"""
default = "permit"
[[rule]]
calls = ["fsread"]
path = "{proj}/w/**"
fresh = true
action = "permit"
[[rule]]
calls = ["fsread"]
path = "{proj}/w/**"
action = "never"
""")
    r, refused = enforce(tmp_path, policy, [PYTHON3, "reopen.py"], cwd=proj)
    assert refused == [], [(x["syscall"], x["args"]) for x in refused]
    assert r.returncode == 0, r.stderr
    assert r.stdout == "own data\nheld by the tracer: 0\n", r.stdout
