"""Close 39: review 65's findings 5 and 6 closed as a class -- whether a policy file is (or
would be read as) a policy directory's file is decided in one home,
``policy.files.directory_file``, for every path that adds a table to it: ``-A --merge``,
``systrace policy learn --merge`` (which now takes ``-d`` as ``systrace -d`` does) and a
``-p FILE`` run saving an answer.  Besides ``-d`` and the default directory, a file's own
directory counts when the file is named as that directory names the command's file, or when
its neighbours are named as a directory names programs' files: a next run may read it with
that directory (``-d DIR``) or alone (``-p FILE``), so a new table there carries the
refusals of every file of both.  ``--save-answers FILE2`` too: the file an answer's table
is saved into, and its directory, are the store's candidates.  The merge and answer tests
are ESCAPED on review 65's code (01d6e5c4's engine) and on main 2c06ab9a (close 38, whose
name test asked the file itself to be named ``_...toml`` and knew no ``--save-answers``,
``policy learn -d`` nor a ``-d`` directory's file run with ``-p``): each next run printed
what cat's own file in the directory (or the file saved into) refuses.

Also review 65's low item: ``-A -d DIR --merge -- cat`` beside a base-name ``cat.toml``
wrote a fresh ``_usr_bin_cat.toml`` (merging nothing, silently), which every next run then
finds for the command in place of the person's file.  It now merges into the file a run of
cat reads there, and says so (fails on review 65's code: the fresh file, no note).

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

import shlex
from pathlib import Path

from escape_lib import NEVER_VICTIM, SECRET_MAGIC, victim_read_natively

from conftest import PYTHON, run_systrace
from systrace_py.policy.files import policy_filename


def _tool(build, tmp_path: Path) -> Path:
    """``tool victim`` runs ``/bin/cat victim/secret.txt`` (merge_table.c), and natively
    prints the secret (the control)."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    return tool


def test_a_merge_into_a_file_whose_neighbours_are_a_directorys_keeps_their_refusals(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``pol`` holds cat's own file (``never`` below ``victim``) and the person's
    ``custom.toml`` for the tool -- not named as the directory names the tool's file, so
    ``-p pol/custom.toml -d pol`` is how it is run.  ``-A -o pol/custom.toml --merge``
    (no ``-d``): on review 65's code no directory was loaded, the new cat table copied
    ``custom.toml`` alone, and the next ``-p pol/custom.toml -d pol`` run looked it up
    before cat's own file and printed the secret."""
    tool = _tool(build, tmp_path)
    directory = tmp_path / "pol"
    directory.mkdir(mode=0o700)
    custom = directory / "custom.toml"
    custom.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = ["-p", str(custom), "-d", str(directory), "--", str(tool), "victim"]
    alone = run_systrace(run, cwd=tmp_path, env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(custom), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "/usr/bin/cat" in custom.read_text(), custom.read_text()
    traced = run_systrace(run, cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, custom.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr
    # read alone (-p FILE, no directory) it is refused too: the table carries both views
    plain = run_systrace(["-p", str(custom), "--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert plain.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        plain.stdout + plain.stderr


def test_an_offline_merge_into_a_directorys_file_keeps_the_programs_own_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """``systrace policy learn LOG -o pol/<tool's file> --merge``, the log recorded by
    ``-A --log``: the offline path had no ``-d`` and loaded no directory but the default
    one, so the new cat table copied the tool's file alone and the next ``systrace -d pol
    tool victim`` printed the secret (review 65, finding 5's offline remainder).  Now the
    file is the directory's by its name (the log's program), and ``-d`` may say so too."""
    tool = _tool(build, tmp_path)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log = tmp_path / "learn.jsonl"
    recorded = run_systrace(["-A", "-o", str(tmp_path / "scratch.toml"), "--log", str(log),
                             "--", str(tool), "victim"], cwd=tmp_path, env=env)
    assert recorded.stdout.startswith("ESCAPED"), recorded.stdout + recorded.stderr
    for given in ([], ["-d"]):
        directory = tmp_path / f"pol{len(given)}"
        directory.mkdir(mode=0o700)
        own = directory / policy_filename(str(tool))
        own.write_text('version = 1\ndefault = "permit"\n')
        (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
        merged = run_systrace(["policy", "learn", str(log), "-o", str(own), "--merge",
                               *([*given, str(directory)] if given else [])],
                              cwd=tmp_path, env=env)
        assert merged.returncode == 0, merged.stdout + merged.stderr
        assert "/usr/bin/cat" in own.read_text(), own.read_text()
        traced = run_systrace(["-d", str(directory), "--", str(tool), "victim"],
                              cwd=tmp_path, env=env)
        assert "ESCAPED" not in traced.stdout, (given, traced.stdout + traced.stderr,
                                                own.read_text())
        assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
            (given, traced.stdout + traced.stderr)


def test_an_answer_saved_by_p_into_a_d_directorys_file_keeps_the_programs_own_file(
        tmp_path: Path) -> None:
    """Finding 6 for a directory the person runs with ``-d``: ``pol`` holds the tool's file
    (it asks about ``asked``) and cat's own file (``never`` below ``victim``); ``tool`` is
    ``exec cat "$@"``.  In ``systrace -p pol/<tool's file> tool asked`` cat asks, and the
    approver permits it for the program: on review 65's code the store saved a cat table
    copied from that file alone, and the next ``systrace -d pol tool victim/secret.txt``
    printed the secret."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    (tmp_path / "asked").write_text("asked\n")
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\nexec cat "$@"\n')
    tool.chmod(0o755)
    directory = tmp_path / "pol"
    directory.mkdir(mode=0o700)
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                   'path = "$CWD/asked"\naction = "ask"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    read = ["-d", str(directory), "--", str(tool), "victim/secret.txt"]
    alone = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nprogram = "*/cat"\nanswer = "permit"\n\n'
                       '[[answer]]\nanswer = "deny-now"\n')
    approver = ["--ask-via", "exec:" + shlex.join(
        [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])]
    asked = run_systrace(["-p", str(own), *approver, "--", str(tool), "asked"],
                         cwd=tmp_path, env=env)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    assert "remembered for /usr/bin/cat" in asked.stderr, asked.stderr
    assert "/usr/bin/cat" in own.read_text(), own.read_text()
    again = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, own.read_text())
    assert "Operation not permitted" in again.stderr, again.stdout + again.stderr


def test_a_merge_beside_a_base_name_file_merges_into_it(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The directory holds ``cat.toml`` (``never`` below ``victim``) and no
    ``_usr_bin_cat.toml``; ``systrace -d DIR cat victim/secret.txt`` is refused by it.
    ``-A -d DIR --merge -- cat victim/secret.txt``: on review 65's code a fresh
    ``_usr_bin_cat.toml`` was written (merging nothing, silently), which the next run found
    for the command in place of ``cat.toml``; it was refused only because, at cat's exec,
    the run fell back to ``cat.toml`` (review 65's finding 4, which close 38 removes: then
    the learned permit of the secret decides).  Now the merge goes into ``cat.toml``, after
    the person's ``never``, and says so."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    directory = tmp_path / "pol"
    directory.mkdir(mode=0o700)
    base = directory / "cat.toml"
    base.write_text(NEVER_VICTIM)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    read = ["-d", str(directory), "--", "cat", "victim/secret.txt"]
    alone = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-d", str(directory), "--merge", "--", "cat",
                             "victim/secret.txt"], cwd=tmp_path, env=env)
    assert SECRET_MAGIC in learning.stdout, learning.stdout + learning.stderr
    assert "merging into cat.toml" in learning.stderr, learning.stderr
    assert not (directory / policy_filename("/usr/bin/cat")).exists(), learning.stderr
    traced = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in traced.stdout, (traced.stdout + traced.stderr, base.read_text())
    assert "Operation not permitted" in traced.stderr, traced.stdout + traced.stderr


def test_a_p_run_beside_files_that_are_no_policies_runs(tmp_path: Path) -> None:
    """Not a false refusal: a ``-p FILE`` whose neighbours make its directory a policy
    directory's (a ``_...toml``) is read alone as before -- a neighbour that is no policy
    (``pyproject.toml``, a broken ``_x.toml``) is skipped, not an error: only a run of that
    directory reads it."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "_x.toml").write_text("default = 'nope'\n")
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n')
    ran = run_systrace(["-p", str(policy), "--", "true"], cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stderr == "", ran.stderr


def _asking_scene(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """``victim/secret.txt``, ``asked``, ``tool`` (``exec cat "$@"``), a person's ``p.toml``
    that asks about reading ``asked`` (else permits), and an approver that permits it for
    cat's program."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    (tmp_path / "asked").write_text("asked\n")
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\nexec cat "$@"\n')
    tool.chmod(0o755)
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
                      'path = "$CWD/asked"\naction = "ask"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nprogram = "*/cat"\nanswer = "permit"\n\n'
                       '[[answer]]\nanswer = "deny-now"\n')
    approver = ["--ask-via", "exec:" + shlex.join(
        [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])]
    return tool, policy, approver


def test_answers_saved_into_a_directorys_file_keep_the_programs_own_file(
        tmp_path: Path) -> None:
    """``systrace -p p.toml --save-answers <the default directory's tool file> tool asked``:
    the approver permits cat's read for its program, and a cat table is saved into the
    directory's tool file.  On review 65's code it was made from ``p.toml``'s tables alone
    (the run loaded no directory), and the next plain ``systrace tool victim/secret.txt``
    took it before cat's own file there and printed the secret (finding 6 through
    ``--save-answers``)."""
    tool, policy, approver = _asking_scene(tmp_path)
    config = tmp_path / "config"
    directory = config / "systrace"
    directory.mkdir(parents=True, mode=0o700)
    own = directory / policy_filename(str(tool))
    own.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {"XDG_CONFIG_HOME": str(config)}
    read = ["--", str(tool), "victim/secret.txt"]
    alone = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy), "--save-answers", str(own), *approver, "--",
                          str(tool), "asked"], cwd=tmp_path, env=env)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    assert "/usr/bin/cat" in own.read_text(), (asked.stderr, own.read_text())
    again = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, own.read_text())
    assert "Operation not permitted" in again.stderr, again.stdout + again.stderr


def test_answers_saved_into_another_file_keep_its_refusals(tmp_path: Path) -> None:
    """``--save-answers g.toml``, g.toml the person's file refusing reads below ``victim``:
    the cat table an answer saves there is what ``-p g.toml`` runs give cat from then on.
    On review 65's code it was made from ``p.toml``'s tables alone, and the next ``systrace
    -p g.toml tool victim/secret.txt`` -- refused by g's main before -- printed the secret."""
    tool, policy, approver = _asking_scene(tmp_path)
    kept = tmp_path / "g.toml"
    kept.write_text(NEVER_VICTIM)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    read = ["-p", str(kept), "--", str(tool), "victim/secret.txt"]
    alone = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in alone.stdout, alone.stdout + alone.stderr
    asked = run_systrace(["-p", str(policy), "--save-answers", str(kept), *approver, "--",
                          str(tool), "asked"], cwd=tmp_path, env=env)
    assert asked.stdout == "asked\n", asked.stdout + asked.stderr
    assert "/usr/bin/cat" in kept.read_text(), (asked.stderr, kept.read_text())
    again = run_systrace(read, cwd=tmp_path, env=env)
    assert SECRET_MAGIC not in again.stdout, (again.stdout + again.stderr, kept.read_text())
    assert "Operation not permitted" in again.stderr, again.stdout + again.stderr
