"""Red team 15: a learned policy's generated names (learning granted more than was used).

A file a run makes to be new and removes has a temporary file's life, and the learner widens
its name into a glob -- the random run becomes ``*`` (docs/learning.md "Generated names");
a run of 30 or more hex digits in any name is a content hash, and becomes ``*`` too.  Writes
are widened by nothing else.  But the name is the program's choice: a prefix that is
another file's name, or only a separator, or none, makes a glob that covers files of the
directory the run never touched, for reading and writing (gap #30).  Closed by ``fresh =
true``: the learner writes such a rule to cover only what the run makes -- a path that names
nothing yet, or a file a call of the run made (docs/policy.md "Paths the run makes").  Each
attack has a native control; learned in a directory holding ``.bashrc``, ``config.toml`` and
``.git/config``, run again there under the learned policy, the program makes its file again
and the append to one of them must be refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import PAYLOAD_MAGIC

from conftest import run_systrace
from systrace_py.policy.generalize import HEX_DIGIT

HASH = "0123456789abcdef" * 2
#: (the file's name, the file appended to later, the glob learned today, "keep": the file is
#: made as an output is and kept -- a content hash, which needs no temporary life)
CASES = [
    (".bashrcqwerty", ".bashrc", "$CWD/.bash*", ""),  # made as mkstemp makes: any prefix (7493b55)
    (".a1b2c3", ".bashrc", "$CWD/.*", ""),            # a separator alone is the prefix
    ("a1b2c3", ".bashrc", "$CWD/*", ""),              # no prefix: the whole directory
    ("config.a1b2c3", "config.toml", "$CWD/config.*", ""),  # another file's name, a separator
    (HASH, ".bashrc", "$CWD/*", "keep"),              # a content hash: the whole directory
    (f".bash{HASH}rc", ".bashrc", "$CWD/.bash*rc", "keep"),  # a hash inside another's name
    (f"ab/{HASH}cdef0123", ".git/config", "$CWD/*/*", "keep"),  # filed as git files objects:
]                                                             # its 2-hex directory goes too


def learn_then_append(program: Path, work: Path, tmp_path: Path, name: str, target: str,
                      keep: str, loop: dict[str, str]) -> tuple[str, str]:
    """``learn_tempname.c``'s attack, once its scene is set: the control (natively the
    append to ``target`` works), then ``systrace -A`` while the program makes ``name``
    (``keep``: and keeps it), then the same program under the learned policy.  Returns the
    learned policy's text and the enforced run's output, ``target`` checked untouched."""
    argv = [str(program), name, target, *([keep] if keep else [])]
    (work / target).write_text("original\n")
    control = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=30,
                             env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    (work / target).write_text("original\n")
    (work / name).unlink(missing_ok=True)
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", *argv], cwd=work)
    assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
    (work / name).unlink(missing_ok=True)  # (kept: a new one is made again, as learned)
    traced = run_systrace(["-p", str(learned), "--", *argv], cwd=work,
                          env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    # the learned policy still lets it make its file: the append is what is refused
    assert traced.stdout.startswith(f"BLOCKED: append to {target}"), \
        traced.stdout + traced.stderr
    assert PAYLOAD_MAGIC not in (work / target).read_text()
    return learned.read_text(), traced.stdout


@pytest.mark.parametrize(("name", "target", "glob", "keep"), CASES,
                         ids=[c[0][:12] + ("-kept" if c[3] else "") for c in CASES])
def test_a_learned_temporary_name_does_not_grant_the_directorys_other_files(
        build, tmp_path: Path, name: str, target: str, glob: str, keep: str,
        loop: dict[str, str]) -> None:
    """Learned: the program makes ``name`` read-write, ``O_EXCL``, mode 0600, and removes it
    (``keep``: writes it and keeps it).  Enforced: the same program appends to ``target``, an
    existing file of the same directory that the learning run never opened.  Control: the
    append works natively."""
    program = build("escape/learn_tempname.c")
    work = tmp_path / "work"
    work.mkdir()
    (work / ".git").mkdir()
    (work / name).parent.mkdir(exist_ok=True)
    for existing in (".bashrc", "config.toml", ".git/config"):
        (work / existing).write_text("original\n")
    text, _ = learn_then_append(program, work, tmp_path, name, target, keep, loop)
    assert f'"{glob}"' in text or f"/{name}" in text, text  # (widened today: glob)


def test_a_learned_shell_command_admits_no_other_command_line(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Red team 16: learned, the program makes its scratch ``TryCompile-2rtJjQ`` (mode 0700,
    removed) and runs ``sh -c "echo .../TryCompile-2rtJjQ/CMakeFiles"``; the shell's argv
    condition names the scratch as its glob.  Enforced, it hands the shell
    ``echo .../TryCompile-; echo INJECTED...; #/CMakeFiles``: fnmatch's ``*`` matched the
    spaces, ``;`` and ``#`` (fixed: the random part is as many characters of its kind, here
    ``[0-9A-Za-z_]`` six times).  Control: natively the injected command runs."""
    program = build("escape/learn_shell.c")
    work = tmp_path / "work"
    work.mkdir()
    control = subprocess.run([str(program)], cwd=work, capture_output=True, text=True,
                             timeout=30, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program)], cwd=work)
    assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
    text = learned.read_text()
    assert '"-c"' in text, text  # the shell's argv condition
    # mkdir's scratch learned as made: its name a generated one (each mkdir was learned as
    # making nothing after be220d4 -- the resolver's "exists" is no answer for a last name
    # it does not follow -- and the next run's mkdir of its own scratch refused)
    assert '"$CWD/TryCompile-' + "[0-9A-Za-z_]" * 6 + '"' in text, text  # (learn36)
    traced = run_systrace(["-p", str(learned), "--", str(program)], cwd=work,
                          env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: the injected command did not run"), \
        traced.stdout + traced.stderr


UUID = "0f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
#: (the name made and kept, an older file of the same shape once each hex digit is any
#: character, the learned shape today)
SHAPE_CASES = [
    (HASH, "deploy_key_for_production.secret", "$CWD/" + "?" * 32),  # a content hash
    (f"{UUID}.json", "deployed-keys-prod-main-servers.conf.json",     # a UUID
     "$CWD/????????-????-????-????-????????????.json"),
]


@pytest.mark.parametrize(("name", "target", "shape"), SHAPE_CASES,
                         ids=["hash", "uuid"])
def test_a_learned_shape_covers_no_older_file_of_another_alphabet(
        build, tmp_path: Path, name: str, target: str, shape: str,
        loop: dict[str, str]) -> None:
    """Red team 16: a content hash and a UUID are learned as their shape -- not ``fresh``, on
    purpose: a cache's older index files are appended to --, each hex digit a ``?``.  But
    ``?`` is any character: the program names its output by a hash of 32 digits and the
    shape covers every older file of the directory whose name is 32 characters long
    (fixed: each digit a class of hex digits, ``[0-9a-f]``).  Learned: the program makes
    and keeps ``name``; enforced, it appends to ``target``.  Control: natively it does."""
    program = build("escape/learn_tempname.c")
    work = tmp_path / "work"
    work.mkdir()
    assert len(target) == len(name)
    text, _ = learn_then_append(program, work, tmp_path, name, target, "keep", loop)
    # (the shape, a hash's when its rule is not fresh; a kept hash made O_CREAT|O_TRUNC is
    # learned by its name: the next run rewrites it, gap #31)
    assert f'"{shape}"' in text or "[0-9a-f" in text or f'"$CWD/{name}"' in text, text


@pytest.mark.parametrize("made", ["object", "keep"])
def test_a_learned_hash_shape_grants_no_write_of_an_older_object(
        build, tmp_path: Path, made: str, loop: dict[str, str]) -> None:
    """Red team 16 (gap #31): learned, the program keeps ``objects/ab/<hash>`` as git files
    an object; enforced, it appends to ``objects/cd/<another hash>``, an older object of
    the same shape it never opened while learning -- content-addressed files whose content
    git does not check on reading.  The shape's write rule was not fresh (npm appends to
    its cache's older index files); it is now, and the files of the shape the run wrote
    that its next run writes again are granted by name.  ``object``: made new only
    (``O_CREAT|O_EXCL``, as git's objects are): learned as the shape, ``fresh``.  ``keep``:
    made ``O_CREAT|O_TRUNC`` -- the next run truncates the file it left --: learned as its
    own name.  Control: natively the append works (the older object writable here, as a
    cache's index is)."""
    program = build("escape/learn_tempname.c")
    work = tmp_path / "work"
    (work / "objects" / "ab").mkdir(parents=True)
    (work / "objects" / "cd").mkdir()
    name, target = f"objects/ab/{HASH}012345", f"objects/cd/{HASH[::-1]}543210"
    text, _ = learn_then_append(program, work, tmp_path, name, target, made, loop)
    shape = "$CWD/objects/" + HEX_DIGIT * 2 + "/" + HEX_DIGIT * 38
    rule = ('[[rule]]\ncalls = ["fswrite"]\npath = "' + shape + '"\nfresh = true\n'
            if made == "object" else f'path = "$CWD/{name}"\n')
    assert rule in text, text
