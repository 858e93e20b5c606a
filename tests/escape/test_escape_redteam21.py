"""Red team 21: an outsider at the newest mechanisms (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 21")."""

from __future__ import annotations

import importlib.util
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    never,
    policy,
    require_real,
)

from conftest import systrace_env

LEARNED_TREE = 'learned = {kind = "trees walked", seen = 3}'


def git_status_runs(directory: Path, marker: Path) -> bool:
    """Whether the user's ``git status`` in ``directory`` runs what its repository's config
    names (the command leaves ``marker``)."""
    subprocess.run(["git", "status"], cwd=directory, capture_output=True, timeout=60,
                   check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(directory),
                                     "GIT_CONFIG_NOSYSTEM": "1"})
    return marker.exists()


def gitfile_scene(tmp_path: Path, name: str) -> Scene:
    """A scene whose ``work`` is the user's repository, with a directory ``sub`` of its own."""
    scene = Scene.make(tmp_path, name)
    subprocess.run(["git", "init", "-q", str(scene.work)], check=True, timeout=60,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(scene.root)})
    (scene.work / "sub").mkdir()
    return scene


#: the pointers learn_gitfile.c writes: where, the mode argument, the directory git then runs in
POINTERS = {"gitfile": ("sub/.git", (), "sub"),
            "commondir": (".git/commondir", ("commondir",), ".")}


@pytest.mark.parametrize("pointer", sorted(POINTERS))
def test_a_learned_writing_glob_points_git_at_no_repository_of_its_own(
        build, tmp_path: Path, pointer: str, loop: dict[str, str]) -> None:
    """gap #32 keeps a learned writing glob (``$CWD/**``) out of the names git runs later --
    ``*.git/hooks``, ``*.git/config``... -- knowing a repository by its directory's name.
    Git does not: a *file* ``.git`` saying ``gitdir: DIR`` (a submodule's checkout, a linked
    worktree) makes DIR, of any name, the repository of its directory, and git looks for
    ``.git`` where it runs before the directory above; and a repository's ``commondir``
    names the directory its config and hooks are read from.  learn_gitfile.c made ``cache``
    (a repository whose config's core.fsmonitor is a command) and ``sub/.git`` -- or
    ``.git/commondir`` of the user's repository -- pointing at it, all under the learned
    glob; the user's next ``git status`` ran the command, unconfined.  Control: natively the
    same, and git runs it.  Closed: ``.git`` itself, a file or a directory, is a name
    something runs later (``generalize.RUNS_LATER_NAMES``), and so is a git directory's
    ``commondir`` (RUNS_LATER)."""
    where, mode, runs_in = POINTERS[pointer]
    program = build("escape/learn_gitfile.c")
    scene = gitfile_scene(tmp_path, "control")
    command = f"touch {scene.marker}; echo {PAYLOAD_MAGIC}; false"
    control = attack(program, "cache", where, command, *mode, policy_text=None, scene=scene,
                     cwd=scene.work)
    require_real(control)
    assert git_status_runs(scene.work / runs_in, scene.marker), \
        "git did not run the planted command natively"
    scene = gitfile_scene(tmp_path, "traced")
    command = f"touch {scene.marker}; echo {PAYLOAD_MAGIC}; false"
    text = policy(f'calls = ["fswrite"]\npath = "$CWD/**"\naction = "permit"\n{LEARNED_TREE}',
                  never("fswrite", path="/**"))
    traced = attack(program, "cache", where, command, *mode, policy_text=text, scene=scene,
                    cwd=scene.work, env=loop)
    assert not git_status_runs(scene.work / runs_in, scene.marker), \
        f"git ran the planted command:\n{traced}"
    assert_blocked(traced)
    assert f"{where}: EACCES" in traced.stdout, traced
    # what the learned glob still covers: the repository it made, under a name of its own
    assert (scene.work / "cache" / "config").is_file()


def git(*args: str, cwd: Path, home: Path) -> None:
    """The user's git, with no configuration but the repository's."""
    subprocess.run(["git", "-c", "user.email=u@example.org", "-c", "user.name=u",
                    "-c", "protocol.file.allow=always", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"})


def submodule_scene(tmp_path: Path, name: str) -> Scene:
    """A scene whose ``work`` is the user's repository with a submodule at
    ``third_party/lib`` (its git directory ``.git/modules/third_party/lib``)."""
    scene = Scene.make(tmp_path, name)
    other = scene.root / "other"
    git("init", "-q", str(other), cwd=scene.root, home=scene.root)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=other, home=scene.root)
    git("init", "-q", ".", cwd=scene.work, home=scene.root)
    git("submodule", "-q", "add", str(other), "third_party/lib", cwd=scene.work,
        home=scene.root)
    return scene


def commit_runs(scene: Scene) -> bool:
    """Whether the user's next commit in the submodule runs a planted hook."""
    git("commit", "-q", "--allow-empty", "-m", "next", cwd=scene.work / "third_party" / "lib",
        home=scene.root)
    return scene.marker.exists()


HOOK = ".git/modules/third_party/lib/hooks/pre-commit"


def test_a_learned_writing_glob_plants_no_hook_in_a_submodule_named_by_its_path(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """gap #32 held a submodule's hooks as ``*.git/modules/*/hooks``: one name.  A
    submodule's name is its path by default -- ``git submodule add URL third_party/lib``
    keeps its repository in ``.git/modules/third_party/lib`` -- and a nested one's is below
    its parent's (``modules/a/modules/b``).  learn_hook.c, under a learned ``$CWD/**``,
    wrote ``.git/modules/third_party/lib/hooks/pre-commit``, and the user's next commit in
    the submodule ran it, unconfined.  Control: natively the same.  Closed: the submodule
    patterns are ``*.git/modules/**/...``, ``**`` one name or more."""
    program = build("escape/learn_hook.c")
    scene = submodule_scene(tmp_path, "control")
    control = attack(program, HOOK, f"touch {scene.marker}", policy_text=None, scene=scene,
                     cwd=scene.work)
    require_real(control)
    assert commit_runs(scene), "git did not run the planted hook natively"
    scene = submodule_scene(tmp_path, "traced")
    text = policy(f'calls = ["fswrite"]\npath = "$CWD/**"\naction = "permit"\n{LEARNED_TREE}',
                  never("fswrite", path="/**"))
    traced = attack(program, HOOK, f"touch {scene.marker}", policy_text=text, scene=scene,
                    cwd=scene.work, env=loop)
    assert not commit_runs(scene), f"git ran the planted hook:\n{traced}"
    assert_blocked(traced)
    assert f"{HOOK}: EACCES" in traced.stdout, traced


def test_a_program_whose_policy_name_is_too_long_is_told_so(tmp_path: Path) -> None:
    """gap #35 writes a path's ``_`` as ``%5F``: three bytes.  A build directory of a few
    words joined by ``_`` reaches 256 bytes of file name at a path of about 120: ``systrace
    PROGRAM`` and ``systrace -A PROGRAM`` stopped with a Python traceback, OSError
    ENAMETOOLONG from the look-up of its file in the policy directory (before the run: it
    failed closed, but told nothing).  Now the look-up passes over a name no file can have
    (the base-name file is still looked for) and learning says to use ``-o``."""
    words = "_".join(["word"] * 60)
    program = tmp_path / words[:200] / "the_tool"
    program.parent.mkdir()
    program.write_bytes(Path("/bin/true").read_bytes())
    program.chmod(0o755)
    directory = tmp_path / "policies"
    directory.mkdir()
    run = subprocess.run([*SYSTRACE, "-d", str(directory), "--", str(program)],
                         capture_output=True, text=True, timeout=120, check=False,
                         env=systrace_env())
    assert run.returncode == 2 and "no policy for" in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    (directory / "the_tool.toml").write_text(policy())
    by_base = subprocess.run([*SYSTRACE, "-d", str(directory), "--", str(program)],
                             capture_output=True, text=True, timeout=120, check=False,
                             env=systrace_env())
    assert by_base.returncode == 0, by_base.stderr[-2000:]
    learned = subprocess.run([*SYSTRACE, "-A", "-d", str(directory), "--", str(program)],
                             capture_output=True, text=True, timeout=120, check=False,
                             env=systrace_env())
    assert learned.returncode == 2 and "-o FILE" in learned.stderr, learned.stderr[-2000:]
    assert "Traceback" not in learned.stderr


def bare_scene(tmp_path: Path, name: str) -> tuple[Scene, Path]:
    """A scene whose ``work/project`` is a bare repository named without ``.git`` (``git
    init --bare project``), and the user's clone of it, with a commit to push."""
    scene = Scene.make(tmp_path, name)
    git("init", "-q", "--bare", "project", cwd=scene.work, home=scene.root)
    clone = scene.root / "clone"
    git("clone", "-q", str(scene.work / "project"), str(clone), cwd=scene.root,
        home=scene.root)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=clone, home=scene.root)
    return scene, clone


def test_a_learned_writing_glob_plants_no_hook_in_a_bare_repository_named_without_git(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """RUNS_LATER holds a bare repository's hooks as ``*.git/hooks``; ``git init --bare
    project`` makes one named ``project``, its hooks ``project/hooks``.  learn_hook.c, under
    a learned ``$CWD/**``, wrote ``project/hooks/post-receive``, and the user's next push
    into it ran the hook, unconfined.  Control: natively the same.  Closed: a directory that
    holds a HEAD file, objects and refs is a git directory whatever its name, as git knows
    one (``sensitive._git_directory_of``): its hooks, config, commondir and info are names
    something runs later."""
    hook = "project/hooks/post-receive"
    program = build("escape/learn_hook.c")
    scene, clone = bare_scene(tmp_path, "control")
    control = attack(program, hook, f"touch {scene.marker}", policy_text=None, scene=scene,
                     cwd=scene.work)
    require_real(control)
    git("push", "-q", "origin", "HEAD", cwd=clone, home=scene.root)
    assert scene.marker.exists(), "git did not run the planted hook natively"
    scene, clone = bare_scene(tmp_path, "traced")
    text = policy(f'calls = ["fswrite"]\npath = "$CWD/**"\naction = "permit"\n{LEARNED_TREE}',
                  never("fswrite", path="/**"))
    traced = attack(program, hook, f"touch {scene.marker}", policy_text=text, scene=scene,
                    cwd=scene.work, env=loop)
    git("push", "-q", "origin", "HEAD", cwd=clone, home=scene.root)
    assert not scene.marker.exists(), f"git ran the planted hook:\n{traced}"
    assert_blocked(traced)


def python_env() -> dict[str, str]:
    """The user's Python: it writes and reads bytecode caches beside the source."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}


def pyc_scene(tmp_path: Path, name: str) -> tuple[Scene, Path, Path]:
    """A scene whose ``work/tool.py`` the user imported once (its cache is there), and the
    attack's body: the magic and a code object that leaves the marker."""
    scene = Scene.make(tmp_path, name)
    (scene.work / "tool.py").write_text('print("the tool")\n')
    subprocess.run([sys.executable, "-c", "import tool"], cwd=scene.work, check=True,
                   timeout=60, capture_output=True, env=python_env())
    cache = Path(importlib.util.cache_from_source(str(scene.work / "tool.py")))
    assert cache.is_file()
    body = scene.pubd / "body"
    code = compile(f"open({str(scene.marker)!r}, 'w').write({PAYLOAD_MAGIC!r})", "tool.py",
                   "exec")
    body.write_bytes(importlib.util.MAGIC_NUMBER + marshal.dumps(code))
    return scene, body, cache


def import_runs(scene: Scene) -> bool:
    """Whether the user's next ``import tool`` runs the planted body."""
    subprocess.run([sys.executable, "-c", "import tool"], cwd=scene.work, timeout=60,
                   capture_output=True, check=False, env=python_env())
    return scene.marker.exists()


def test_a_learned_writing_glob_rewrites_no_bytecode_cache(build, tmp_path: Path,
                                                          loop: dict[str, str]) -> None:
    """Python runs ``__pycache__/tool.cpython-XY.pyc`` in place of ``tool.py`` when the
    cache's header holds the source's time and size; it never compares the source.
    learn_pyc.c, under a learned ``$CWD/**`` (a build that runs Python writes caches there),
    wrote the cache with a body of its own and the header of ``tool.py`` as it is (the
    policy refuses writing ``tool.py``): the user's next ``import tool`` ran the body,
    unconfined.  Control: natively the same.  Open: ``__pycache__`` as a RUNS_LATER name
    closes it, but ``python -m compileall``, pip and venv write the caches of modules older
    than the run by name as this does, and their learned policies then fail
    (tests/learn/test_learning.py::test_bytecode_written_beside_its_module_is_learned_for_the_next_run):
    a choice for the lead."""
    program = build("escape/learn_pyc.c")
    scene, body, cache = pyc_scene(tmp_path, "control")
    control = attack(program, body, "tool.py", cache, policy_text=None, scene=scene,
                     cwd=scene.work)
    require_real(control)
    assert import_runs(scene), "Python did not run the planted body natively"
    scene, body, cache = pyc_scene(tmp_path, "traced")
    text = policy(never("fswrite", path=str(scene.work / "tool.py")),
                  f'calls = ["fswrite"]\npath = "$CWD/**"\naction = "permit"\n{LEARNED_TREE}',
                  never("fswrite", path="/**"))
    traced = attack(program, body, "tool.py", cache, policy_text=text, scene=scene,
                    cwd=scene.work, env=loop)
    assert not import_runs(scene), f"Python ran the planted body:\n{traced}"
    assert_blocked(traced)
    assert "EACCES" in traced.stdout, traced
