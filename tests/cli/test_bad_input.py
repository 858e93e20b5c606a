"""Bad input: exit 2 with one message naming file, line and key -- before the program starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import run_systrace


def start_marker(tmp_path: Path) -> tuple[list[str], Path]:
    """A command that leaves a file behind if it ever runs."""
    marker = tmp_path / "ran"
    return ["touch", str(marker)], marker


BAD_POLICIES = [
    # (policy text, line, key, words the message must contain)
    ('default = "permit"\n[[rule]\ncalls = ["read"]\n', 2, None, []),
    ('default = "permit"\n[[rule]]\ncalls = ["read"]\naction = "permit"\nactoin = "x"\n', 5,
     "actoin", ["action"]),
    ('[[rule]]\ncalls = "read"\naction = 3\n', 3, "action", []),
    ('[[rule]]\ncalls = ["opne"]\naction = "never"\n', 2, "calls", ["open"]),
    ('[[rule]]\ncalls = ["fsreed"]\naction = "never"\n', 2, "calls", ["fsread"]),
    ('[[rule]]\ncalls = ["open"]\naction = "never"\nerrno = "EACCESS"\n', 4, "errno",
     ["EACCES"]),
    ('[[rule]]\ncalls = ["open"]\npath = "/tmp/[abc"\naction = "never"\n', 3, "path", []),
    ('[[rule]]\ncalls = ["open"]\npath = "relative/path"\naction = "never"\n', 3, "path", []),
    ('[[rule]]\ncalls = ["connect"]\naddress = "10.0.0.0/33"\naction = "never"\n', 3,
     "address", []),
    ('[[rule]]\ncalls = ["connect"]\nport = 70000\naction = "never"\n', 3, "port", []),
    ('default = "maybe"\n', 1, "default", []),
    ('[[rule]]\ncalls = ["read"]\naction = "never"\npath = "/etc/*"\n', 4, "path", []),
    ('version = 2\n', 1, "version", []),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), BAD_POLICIES)
def test_bad_policy_exits_2_naming_file_line_key(tmp_path, text, line, key, words):
    policy = tmp_path / "bad.toml"
    policy.write_text(text)
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-p", str(policy), "--", *command])
    assert r.returncode == 2, (r.stdout, r.stderr)
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in r.stderr
    assert str(policy) in message
    assert f":{line}" in message, message
    if key:
        assert key in message
    for word in words:
        assert word in message, (word, message)
    assert not marker.exists(), "the program started despite a bad policy"


def test_missing_policy_file(tmp_path):
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-p", str(tmp_path / "nope.toml"), "--", *command])
    assert r.returncode == 2
    assert "nope.toml" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()


def test_unreadable_policy_file(tmp_path):
    policy = tmp_path / "dir.toml"
    policy.mkdir()  # a directory cannot be read as a file, even by root
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-p", str(policy), "--", *command])
    assert r.returncode == 2
    assert "dir.toml" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()


def test_no_policy_for_the_program_says_where_it_looked(tmp_path):
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-d", str(tmp_path / "policies"), "--", *command])
    assert r.returncode == 2
    assert "_usr_bin_touch.toml" in r.stderr
    # (both names it looks for: a user who keeps touch.toml there must not read that it was
    # never looked for -- front28; main said only _usr_bin_touch.toml)
    assert "(looked for _usr_bin_touch.toml and touch.toml)" in r.stderr
    assert "systrace -A" in r.stderr
    assert not marker.exists()


def test_policy_found_in_the_policy_directory(tmp_path):
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "_usr_bin_touch.toml").write_text('default = "permit"\n')
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-d", str(directory), "--", *command])
    assert r.returncode == 0, r.stderr
    assert marker.exists()


def test_policy_directory_defaults_to_xdg_config_home(tmp_path):
    directory = tmp_path / "config" / "systrace"
    directory.mkdir(parents=True)
    (directory / "touch.toml").write_text('default = "permit"\n')
    command, marker = start_marker(tmp_path)
    r = run_systrace(["--", *command], env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert r.returncode == 0, r.stderr
    assert marker.exists()


@pytest.mark.parametrize("where", [["-o", "{long}/p.toml"], ["-d", "{long}"]])
def test_a_learned_policys_path_that_cannot_be_looked_at_exits_2(tmp_path, where):
    """``-A -o`` or ``-A -d`` naming a directory longer than a file name may be: pathlib's
    tests of the path raise ENAMETOOLONG (as EACCES, for a directory that may not be
    searched), which stopped systrace with a traceback (review 13); now exit 2, naming it."""
    long = str(tmp_path / ("d" * 300))
    r = run_systrace(["-A", *(arg.format(long=long) for arg in where), "--", "true"],
                     cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "cannot write the policy to" in r.stderr and "File name too long" in r.stderr


def test_no_command(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_systrace(["-p", str(policy)])
    assert r.returncode == 2
    assert "no command" in r.stderr


def test_unknown_option():
    r = run_systrace(["--no-such-option", "true"])
    assert r.returncode == 2
    assert "unrecognized arguments" in r.stderr or "no-such-option" in r.stderr


def test_bad_credentials(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_systrace(["-c", "no-such-user-xyz", "-p", str(policy), "true"])
    assert r.returncode == 2
    assert "no-such-user-xyz" in r.stderr


def test_help_lists_the_options():
    r = run_systrace(["--help"])
    assert r.returncode == 0
    for option in ("-p FILE", "-d DIR", "-A", "-a", "-e", "-E FILE", "-i", "-u", "-c UID:GID",
                   "--dry-run", "--attach PID", "--log FILE"):
        assert option in r.stdout, option


def test_not_x86_64_is_a_clear_error(monkeypatch, capsys):
    from systrace_py import cli

    monkeypatch.setattr(cli, "_machine", lambda: "aarch64")
    assert cli.main(["true"]) == 2
    err = capsys.readouterr().err
    assert "x86_64" in err and "aarch64" in err


# --- every entry point, as a new user meets it: one line, the right status, no traceback ----


def one_message(r) -> str:
    """systrace's one line on stderr (never a traceback, never argparse's usage twice)."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["no-such-command-xyz", "./no/such/program", ""])
def test_a_command_that_does_not_exist_exits_127(tmp_path, command):
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_systrace(["-p", str(policy), "--", command], cwd=tmp_path)
    assert r.returncode == 127, r.stderr
    assert one_message(r).startswith(f"systrace: {command}: ")


@pytest.mark.parametrize("kind", ["directory", "not executable"])
def test_a_command_that_cannot_be_executed_exits_126(tmp_path, kind):
    """...saying why as a shell does (bash, dash: ``/tmp: Is a directory``): a directory was
    ``Permission denied``, which sends a new user to chmod (front30; fails on main)."""
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    target = tmp_path / "prog"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("#!/bin/sh\ntouch ran\n")
        target.chmod(0o644)
    r = run_systrace(["-p", str(policy), "--", str(target)], cwd=tmp_path)
    assert r.returncode == 126, r.stderr
    why = "Is a directory" if kind == "directory" else "Permission denied"
    assert one_message(r) == f"systrace: {target}: {why}"
    assert not (tmp_path / "ran").exists()


def test_a_policy_the_user_may_not_read_exits_2(world_tmp):
    """As root every file is readable: the case needs another user (nobody)."""
    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as nobody")
    policy = world_tmp / "secret.toml"
    policy.write_text('default = "permit"\n')
    policy.chmod(0o600)
    r = run_systrace(["-p", str(policy), "--", "touch", str(world_tmp / "ran")],
                     prefix=["setpriv", "--reuid=nobody", "--regid=nogroup",
                             "--clear-groups"], cwd=world_tmp, env={"HOME": str(world_tmp)})
    assert r.returncode == 2, r.stderr
    assert one_message(r) == f"systrace: {policy}: cannot read the policy: Permission denied"
    assert not (world_tmp / "ran").exists()


def test_learning_into_a_missing_directory_exits_2(tmp_path):
    target = tmp_path / "no" / "such" / "p.toml"
    command, marker = start_marker(tmp_path)
    r = run_systrace(["-A", "-o", str(target), "--", *command])
    assert r.returncode == 2, r.stderr
    assert f"-o {target}: " in one_message(r)
    assert not marker.exists() and not target.parent.exists()


@pytest.mark.parametrize("args", [["-p"], ["--log"], ["-A", "-o"], ["--generalize", "x"],
                                  ["--attach", "x"], ["-p", "p.toml", "--bogus", "true"]])
def test_an_option_without_its_argument_or_unknown_exits_2_with_the_usage(tmp_path, args):
    r = run_systrace(args, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("usage: systrace ") and "systrace: error: " in r.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["policy", "learn", "{tmp}/none.jsonl"], "none.jsonl: cannot read the log"),
    (["policy", "learn", "{tmp}"], "cannot read the log: Is a directory"),
    (["policy", "check", "{tmp}", "{tmp}/none.jsonl"], "cannot read the policy: Is a directory"),
    (["policy", "check", "{tmp}/p.toml", "{tmp}"], "cannot read the log: Is a directory"),
    (["policy", "check", "{tmp}/bad.toml", "{tmp}/none.jsonl"], "bad.toml:1: default"),
    (["policy", "review", "{tmp}/p.toml"], "asks on a terminal, and there is none"),
    (["policy", "bogus"], "invalid choice: 'bogus'"),
])
def test_bad_input_to_a_policy_subcommand_exits_2(tmp_path, args, words):
    (tmp_path / "p.toml").write_text('default = "permit"\n')
    (tmp_path / "bad.toml").write_text('default = "perhaps"\n')
    r = run_systrace([a.format(tmp=tmp_path) for a in args], cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and words in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["-E", ""], ["-d", ""], ["-c", ""],
                                  ["--save-answers", ""], ["-A", "-o", ""],
                                  ["--inject", "openat:error=EPERM", "-P", ""],
                                  ["--inject", ""], ["--ask-via", ""], ["-p", ""]])
def test_an_option_given_an_empty_value_exits_2(tmp_path, args):
    """An option given is meant to take effect: an empty value (a shell variable that was
    not set) must not silently mean "not given" -- ``-c ""`` as root runs the command as
    root, ``-E ""`` writes no log, ``-A -o ""`` writes into the policy directory, ``-P ""``
    is the working directory."""
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    command, marker = start_marker(tmp_path)
    given_p = "-A" in args or "-p" in args
    r = run_systrace([*args, *([] if given_p else ["-p", str(policy)]), "--", *command],
                     cwd=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert r.returncode == 2, r.stderr
    assert not marker.exists()


def test_policy_learn_given_an_empty_output_exits_2(tmp_path):
    r = run_systrace(["policy", "learn", "-o", "", str(tmp_path / "none.jsonl")], cwd=tmp_path)
    assert r.returncode == 2 and "empty value" in r.stderr, (r.stdout, r.stderr)


def test_policy_learn_given_a_policy_for_the_log_says_it_is_no_log(tmp_path):
    """``policy check`` takes FILE then LOG, ``policy learn`` takes LOG: a policy given to
    ``policy learn`` was answered "lines no run of systrace vouches for (a traced program may
    write its log ...)", a warning of tampering, for a file that is no log at all."""
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    done = run_systrace(["policy", "learn", str(policy)])
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == (f"systrace: {policy}: not a JSON-lines log of systrace (--log FILE): "
                        "nothing is learned from it"), done.stderr
