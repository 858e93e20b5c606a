"""Red team 14: a policy's variables (``~``, ``$HOME``, ``$TMPDIR``) stand for directories as
the environment spells them, and rules are matched against paths as the kernel resolves them.
Where a variable's value leads through a symlink, a rule written with it named a path no call
ever resolves to.  Each attack has a native control; the traced run must be refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, assert_blocked, attack, policy, require_real

from conftest import run_systrace


def _linked_home(base: Path) -> tuple[Path, Path]:
    """A home directory with a key in .ssh, reached through a symlink (``/home`` ->
    ``var/home`` on Silverblue and CoreOS): (the home as $HOME spells it, its real path)."""
    real = base / "var" / "home" / "u"
    (real / ".ssh").mkdir(parents=True)
    (real / ".ssh" / "id_rsa").write_text(f"{SECRET_MAGIC}\n")
    (base / "home").symlink_to("var/home")
    return base / "home" / "u", real


@pytest.mark.parametrize("variable", ["~", "$HOME", "$TMPDIR"])
def test_a_rule_written_with_a_variable_holds_where_its_value_is_a_link(build, tmp_path,
                                                                        variable, loop):
    """``never fsread ~/.ssh/**`` with ``HOME=/home/u`` where ``/home`` is a symlink: the
    pattern was expanded as spelled, ``/home/u/.ssh/**``, and the read of
    ``$HOME/.ssh/id_rsa`` is decided on ``/var/home/u/.ssh/id_rsa`` -- no rule matched, the
    key was read (default permit; under default never, the program's own files in ``~`` were
    refused instead).  ``$TMPDIR`` the same.  Now a variable's value is taken resolved
    (``Expansions.from_env``).  Control: the program reads the key without systrace."""
    program = build("escape/home_link.c")
    home, _ = _linked_home(tmp_path)
    key = home / ".ssh" / "id_rsa"
    name = "TMPDIR" if variable == "$TMPDIR" else "HOME"
    env = {name: str(home)}
    control = attack(program, key, policy_text=None, scene=None, env=env)
    require_real(control)
    rule = f'calls = ["fsread"]\npath = "{variable}/.ssh/**"\naction = "never"'
    traced = attack(program, key, policy_text=policy(rule), scene=None, env={**env, **loop})
    assert_blocked(traced)
    assert "EACCES" in traced.detail or "EPERM" in traced.detail, traced


def test_a_learned_walk_stays_out_of_a_linked_homes_secrets(build, tmp_path):
    """Red team 13b's learned ``$CWD/**``, used from a home directory that ``$HOME`` spells
    through a symlink: the learned glob kept out of sensitive locations below ``$HOME`` as
    spelled (and ``/root``, ``/home/*``), none of which a resolved path is ever below, and
    the walk read ``~/.ssh/id_rsa``.  Control: the walker reads the key natively."""
    walker = build("escape/learn_walk.c")
    home, real = _linked_home(tmp_path)
    (real / ".ssh" / "id_rsa").chmod(0o600)
    proj = real / "proj"
    (proj / "src").mkdir(parents=True)
    for name in ("README", "Makefile", "src/main.c", "src/util.c"):
        (proj / name).write_text(f"{name}\n")
    env = {"HOME": str(home)}
    learned = tmp_path / "learned.toml"
    r = run_systrace(["-A", "-o", str(learned), "--", str(walker)], cwd=home / "proj", env=env)
    assert r.returncode == 0 and "read 4 files" in r.stdout, r.stdout + r.stderr
    assert "$CWD/**" in learned.read_text(), learned.read_text()
    control = subprocess.run([str(walker)], cwd=home, capture_output=True, text=True, timeout=30)
    assert "ESCAPED" in control.stdout, control.stdout
    elsewhere = run_systrace(["-p", str(learned), "--", str(walker)], cwd=home, env=env)
    assert "ESCAPED" not in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr
    assert "BLOCKED" in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr


@pytest.mark.parametrize(("variable", "where"), [
    ("XDG_CONFIG_HOME", "cfg/gh/hosts.yml"),              # gh's token
    ("GNUPGHOME", "keys/private-keys-v1.d/k.key"),         # gpg's secret keys
    ("", ".config/git/credentials"),                       # git's store, its XDG place
])
def test_a_learned_walk_stays_out_of_secrets_the_environment_moved(build, tmp_path, variable,
                                                                   where):
    """Sensitive locations were a list of names below the home directory: ``~/.config/gh``,
    ``~/.gnupg``.  But the programs that keep those secrets look where the environment says
    (``$XDG_CONFIG_HOME/gh``, ``$GNUPGHOME``), and git's credential store has a second, XDG
    place (``~/.config/git/credentials``) the list did not name: a learned ``$CWD/**`` used
    from the home directory read them.  Control: the walker reads the secret natively."""
    walker = build("escape/learn_walk.c")
    home = tmp_path / "home"
    proj = home / "proj"
    (proj / "src").mkdir(parents=True)
    for name in ("README", "Makefile", "src/main.c", "src/util.c"):
        (proj / name).write_text(f"{name}\n")
    secret = home / where
    secret.parent.mkdir(parents=True)
    secret.write_text(f"token: {SECRET_MAGIC}\n")
    env = {"HOME": str(home)}
    if variable:
        env[variable] = str(home / where.split("/")[0])
    learned = tmp_path / "learned.toml"
    r = run_systrace(["-A", "-o", str(learned), "--", str(walker)], cwd=proj, env=env)
    assert r.returncode == 0 and "read 4 files" in r.stdout, r.stdout + r.stderr
    assert "$CWD/**" in learned.read_text(), learned.read_text()
    control = subprocess.run([str(walker)], cwd=home, capture_output=True, text=True, timeout=30)
    assert "ESCAPED" in control.stdout, control.stdout
    elsewhere = run_systrace(["-p", str(learned), "--", str(walker)], cwd=home, env=env)
    assert "ESCAPED" not in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr
    assert "BLOCKED" in elsewhere.stdout, elsewhere.stdout + elsewhere.stderr
