"""Red team 17: an outsider at learned policies, saving and the newest engine changes.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 17")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import UnixListener, controlled_and_blocked, listening, read_never

from conftest import run_systrace

#: a generated name's random run is written as its shape, a class a character (learn36)
SHAPE = "[0-9A-Za-z_]"


@pytest.mark.parametrize("way", ["direct", "link"])
def test_a_learned_socket_name_grants_no_older_socket_of_its_prefix(
        build, tmp_path: Path, way: str, loop: dict[str, str]) -> None:
    """Learned: the program takes ``busx7Kq2p`` as mkstemp takes a name, removes it and
    binds a unix socket there, connects to it and removes it -- a generated name, learned
    as ``$CWD/bus*``.  The file rule is ``fresh`` (gap #30), but the ``unix`` condition of
    the net-connect rule was the same glob without it: under the learned policy the program
    connected to ``bus``, a socket another process listens on that it never reached while
    learning (a desktop's session bus: its service manager starts any command, untraced).
    Now such a unix glob is ``fresh`` too: it covers the sockets the run's own binds made
    (``link``: a symlink to ``bus`` the run makes at a name of the glob is followed, as the
    kernel does, to a socket it did not make).  Control: natively the connect works."""
    program = build("escape/learn_socket.c")
    work = tmp_path / "work"
    work.mkdir()
    with listening(UnixListener(str(work / "bus"))) as listener:
        link = ["link"] if way == "link" else []
        argv = [str(program), "busx7Kq2p", "bus", *link]
        control = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=30,
                                 env={"ATTACK": "1"})
        assert control.stdout.startswith("ESCAPED"), control.stdout
        learned = tmp_path / "learned.toml"
        first = run_systrace(["-A", "-o", str(learned), "--", *argv], cwd=work)
        assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
        text = learned.read_text()
        assert f'unix = "$CWD/bus{SHAPE * 6}"' in text, text  # (the name generalized)
        listener.reset()  # type: ignore[attr-defined]
        # the next run's own socket has another random name: it is made and reached again
        traced = run_systrace(["-p", str(learned), "--", str(program), "busQ2r8Zt", "bus",
                               *link], cwd=work, env={"ATTACK": "1", **loop})
        assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
        # (link: its own link's name, one past the learned shape's length, is refused now
        # before the connect -- learn36 wrote the random run's shape, not a '*')
        blocked = ("BLOCKED: connect to bus: EPERM",) + (("BLOCKED: symlink",) if link else ())
        assert traced.stdout.startswith(blocked), traced.stdout + traced.stderr
        assert listener.accepted == 0  # type: ignore[attr-defined]


def test_a_learned_listing_of_a_generated_directory_grants_no_older_directory(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: the program makes ``confx7Kq2p`` as mkdtemp makes a directory, writes two
    files into it, lists it and reads every entry, and removes it all -- a generated name,
    ``$CWD/conf*`` (fresh), and a listing, ``$CWD/conf*/*``, which was not: under the learned
    policy the program read ``config/credentials``, a file of an older directory it never
    listed nor read while learning.  Now a listing of a directory of a generated name is
    ``fresh`` as the name's own rule is.  Control: natively the read works."""
    program = build("escape/learn_listing.c")
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config" / "credentials").write_text("CREDENTIAL-42\n")
    argv = [str(program), "confx7Kq2p", "config/credentials"]
    control = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=30,
                             env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", *argv], cwd=work)
    assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
    assert f'path = "$CWD/conf{SHAPE * 6}/*"' in learned.read_text()  # (the listing, as before)
    # the next run's scratch has another random name: made, listed and read again
    traced = run_systrace(["-p", str(learned), "--", str(program), "confQ2r8Zt",
                           "config/credentials"], cwd=work, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: read config/credentials: EPERM"), \
        traced.stdout + traced.stderr


def test_a_learned_temporary_name_makes_no_start_up_file_of_the_users_session(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned in the home directory: the program makes ``.bashrcqwerty`` as mkstemp makes a
    file and removes it -- ``~/.bash*``, fresh (red team 15: no older file).  But a fresh rule
    lets the next run *make* any new name of its glob, and the prefix was the program's
    choice: under the learned policy it made ``~/.bash_profile``, where there was none, with
    a command in it -- which the user's next login shell runs, unconfined, in place of
    ``.profile``.  Now the files the user's session runs when it starts (shell start-up
    files, autostart entries, user units, the session's environment, git's configuration)
    are sensitive locations: no learned glob reaches them where it is used.  Control:
    natively the file is made."""
    program = build("escape/learn_plant.c")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("original\n")
    argv = [str(program), ".bashrcqwerty", ".bash_profile"]
    control = subprocess.run(argv, cwd=home, capture_output=True, text=True, timeout=30,
                             env={"ATTACK": "1", "HOME": str(home)})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    (home / ".bash_profile").unlink()
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", *argv], cwd=home,
                         env={"HOME": str(home)})
    assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
    # (the name generalized, fresh; C's 6)
    assert f'path = "~/.bashrc{SHAPE * 6}"' in learned.read_text()
    # the next run's temporary file has another random name: made again, as learned
    traced = run_systrace(["-p", str(learned), "--", str(program), ".bashrcQ2r8Zt",
                           ".bash_profile"], cwd=home,
                          env={"ATTACK": "1", "HOME": str(home), **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: make .bash_profile: EPERM"), \
        traced.stdout + traced.stderr
    assert not (home / ".bash_profile").exists()


def test_a_learned_temporary_name_plants_no_hook_in_a_repository(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Red team 17 (gap #32): learned in a repository, the program makes ``a1b2c3`` in
    ``.git/hooks`` as mkstemp makes a file and removes it -- ``$CWD/.git/hooks/*``, fresh.
    Under the learned policy it made ``.git/hooks/pre-commit``, where there was none (a new
    name: the rule covered it), which git runs, unconfined, at the user's next commit.  Now
    names something runs later (generalize.RUNS_LATER: a repository's hooks, wherever it
    is) are learned exactly, and no learned writing glob reaches them where it is used: the
    next run's own temporary name there is refused too.  Control: natively the hook is
    made."""
    program = build("escape/learn_plant.c")
    work = tmp_path / "work"
    (work / ".git" / "hooks").mkdir(parents=True)
    argv = [str(program), ".git/hooks/a1b2c3", ".git/hooks/pre-commit"]
    control = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=30,
                             env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    (work / ".git" / "hooks" / "pre-commit").unlink()
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", *argv], cwd=work)
    assert first.stdout.startswith("BLOCKED: probed"), first.stdout + first.stderr
    text = learned.read_text()
    assert 'path = "$CWD/.git/hooks/a1b2c3"' in text, text  # (exactly: no glob)
    assert ".git/hooks/*" not in text, text
    traced = run_systrace(["-p", str(learned), "--", str(program), ".git/hooks/Q2r8Zt",
                           ".git/hooks/pre-commit"], cwd=work, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr
    assert traced.stdout.startswith("BLOCKED: the temporary file .git/hooks/Q2r8Zt: EPERM"), \
        traced.stdout + traced.stderr
    assert not (work / ".git" / "hooks" / "pre-commit").exists()
    # the learned run again, as learned: its one temporary name there is made again
    again = run_systrace(["-p", str(learned), "--", *argv], cwd=work, env=loop)
    assert again.stdout.startswith("BLOCKED: probed"), again.stdout + again.stderr


@pytest.mark.parametrize("mode", ["fstat", "fchdir"])
def test_an_o_path_open_with_a_write_mode_is_a_read(build, tmp_path: Path, mode: str,
                                                    loop: dict[str, str]) -> None:
    """Red team 17: with O_PATH the kernel drops the access mode and every other flag but
    O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC, so ``open(SECRET, O_PATH|O_WRONLY|O_TRUNC)`` is
    the O_PATH open an fsread rule refuses (red team 13: it reveals the file) -- but the
    prefilter and the tracer classed it by its access mode, a write-only open, and under
    ``never fsread`` the filter let it through without a stop: fstat told the secret's
    size, times and owner, fchdir entered the refused directory.  Now an O_PATH open only
    reads, in the filter and the tracer alike.  Control: natively both work."""
    controlled_and_blocked(tmp_path, build("escape/path_opath_mode.c"),
                           lambda s: [mode, s.secret], lambda s: read_never(f"{s.secd}/**"),
                           env=loop)
