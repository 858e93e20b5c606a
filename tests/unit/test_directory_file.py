"""``policy.files.directory_file``: the one home of "this file is (or would be read as) a
policy directory's file, and which" (unify 39: close 38's ``name_in_directory`` and
``cli.learn._a_policy_directorys`` folded into it).  Real files in a temporary directory,
one case each: ``-d``, the default directory (through a link too), inferred by the
command's file name, inferred by ``_...toml`` neighbours, and none -- a neighbour that is
not a regular file, or not named as a program's file, makes no directory."""

from __future__ import annotations

import os
from pathlib import Path

from systrace_py.policy.files import (
    DirectoryFile,
    directory_file,
    foreign_owner,
    policy_filename,
)

TOOL = "/work/tools/tool"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}


def test_given_directory_names_the_file_or_none(tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    inside = pol / "x.toml"
    inside.write_text("")
    outside = tmp_path / "y.toml"
    outside.write_text("")
    assert directory_file(inside, TOOL, pol, _env(tmp_path)) == \
        DirectoryFile(str(pol), "x.toml", False)
    assert directory_file(outside, TOOL, pol, _env(tmp_path)) == \
        DirectoryFile(str(pol), None, False)


def test_the_default_directorys_file_is_found_through_a_link(tmp_path: Path) -> None:
    default = tmp_path / "config" / "systrace"
    default.mkdir(parents=True)
    (default / "a.toml").write_text("")
    link = tmp_path / "elsewhere.toml"
    link.symlink_to(default / "a.toml")
    env = _env(tmp_path)
    assert directory_file(default / "a.toml", None, None, env) == \
        DirectoryFile(str(default), "a.toml", False)
    found = directory_file(link, None, None, env)
    assert found is not None and not found.inferred and found.name == "a.toml"
    assert os.path.realpath(found.directory) == os.path.realpath(default)


def test_a_file_named_as_the_commands_is_its_directorys_inferred(tmp_path: Path) -> None:
    pol = tmp_path / "pol"
    pol.mkdir()
    for name in (policy_filename(TOOL), "tool.toml"):
        (pol / name).write_text("")
        assert directory_file(pol / name, TOOL, None, _env(tmp_path)) == \
            DirectoryFile(str(pol), name, True)
        (pol / name).unlink()


def test_a_file_beside_a_programs_file_is_its_directorys_inferred(tmp_path: Path) -> None:
    """``custom.toml`` beside ``_usr_bin_cat.toml``: ``-p custom.toml -d pol`` reads cat's
    file there (close 39; close 38's test asked the file itself to be named ``_...toml``)."""
    pol = tmp_path / "pol"
    pol.mkdir()
    custom = pol / "custom.toml"
    custom.write_text("")
    assert directory_file(custom, TOOL, None, _env(tmp_path)) is None
    (pol / "pyproject.toml").write_text("")
    os.mkfifo(pol / "_fifo.toml")  # (no regular file: names no program's file)
    assert directory_file(custom, TOOL, None, _env(tmp_path)) is None
    (pol / policy_filename("/usr/bin/cat")).write_text("")
    assert directory_file(custom, TOOL, None, _env(tmp_path)) == \
        DirectoryFile(str(pol), "custom.toml", True)


def test_any_owner_or_mode_makes_a_directory_another_users_file_is_noted(
        tmp_path: Path) -> None:
    """Close 46 (review 72): a directory is inferred whoever owns it or its neighbour and
    whatever its mode -- only refusals are carried from it (review 69's ``_evil.toml``
    carried a ``retval = 0``; ``learn.refusals`` no longer does), and told apart by a group
    write bit, the person's own directory made under umask 002 was none: a table made there
    lacked the refusals of the program's own file.  Another user's file is one a note names
    (``foreign_owner``)."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    pol = tmp_path / "pol"
    pol.mkdir()
    pol.chmod(0o755)
    mine = pol / "p.toml"
    mine.write_text("")
    evil = pol / "_evil.toml"
    evil.write_text("")
    os.chown(evil, nobody.pw_uid, nobody.pw_gid)
    assert foreign_owner(evil) == nobody.pw_uid and foreign_owner(mine) is None
    assert directory_file(mine, TOOL, None, _env(tmp_path)) == \
        DirectoryFile(str(pol), "p.toml", True)
    named = pol / policy_filename(TOOL)
    named.write_text("")
    for mode in (0o1777, 0o775, 0o755):
        pol.chmod(mode)
        assert directory_file(mine, TOOL, None, _env(tmp_path)) == \
            DirectoryFile(str(pol), "p.toml", True), oct(mode)
        assert directory_file(named, TOOL, None, _env(tmp_path)) == \
            DirectoryFile(str(pol), policy_filename(TOOL), True), oct(mode)
