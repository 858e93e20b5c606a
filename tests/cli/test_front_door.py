"""The front door (what a person meets first): no traceback, no hang, nothing silent.

Each test runs the ``systrace`` command as a subprocess on real processes: a log that cannot be
opened or fills the disk, a closed stderr, systrace under another tracer, flags that cannot
take effect, the end-of-run refusal count, what -v says, program keys that are symlinks, and
the processes a command leaves running."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import PYTHON, own_mount_namespace, run_systrace, systrace_env

PERMIT = 'default = "permit"\n'


def write_policy(tmp_path: Path, text: str = PERMIT, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def one_line(stderr: str) -> str:
    """The only line systrace wrote (no traceback, no second message)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("systrace: "), stderr
    return lines[0]


def refusing(tmp_path: Path) -> tuple[Path, Path]:
    secret = tmp_path / "secret"
    secret.write_text("s\n")
    return write_policy(tmp_path, f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{secret}"
        action = "never"
        errno = "EACCES"
        """), secret


def touch_marker(tmp_path: Path) -> tuple[list[str], Path]:
    marker = tmp_path / "ran"
    return ["touch", str(marker)], marker


# --- the log ---------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["missing directory", "a directory", "a full device"])
@pytest.mark.parametrize("mode", ["enforce", "learn"])
def test_a_log_that_cannot_be_written_at_start_exits_2_naming_it(tmp_path, where, mode):
    target = {"missing directory": tmp_path / "no" / "such" / "run.jsonl",
              "a directory": tmp_path,
              "a full device": Path("/dev/full")}[where]
    command, marker = touch_marker(tmp_path)
    how = (["-p", str(write_policy(tmp_path))] if mode == "enforce"
           else ["-A", "-o", str(tmp_path / "learned.toml")])
    r = run_systrace(["--log", str(target), *how, "--", *command])
    assert r.returncode == 2, r.stderr
    assert str(target) in one_line(r.stderr)
    assert not marker.exists(), "the command ran"


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A file system of 8 KiB mounted for the test, in a mount namespace of its own
    (conftest.own_mount_namespace: never the other tests' tracers'), and the prefix that runs
    there (root only)."""
    if os.geteuid() != 0 or not all(shutil.which(c) for c in ("mount", "unshare", "nsenter")):
        pytest.skip("mounting a small tmpfs to fill needs root (and unshare, nsenter)")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    with own_mount_namespace() as prefix:
        mounted = subprocess.run([*prefix, "mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs",
                                  str(mountpoint)], capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        yield mountpoint, prefix


@pytest.mark.parametrize("mode", ["enforce", "learn"])
def test_a_log_that_fills_the_disk_mid_run_ends_it_with_one_line_and_whole_records(
        tmp_path, small_tmpfs, mode):
    small, prefix = small_tmpfs
    log = small / "run.jsonl"
    finished = tmp_path / "finished"
    policy, secret = refusing(tmp_path)  # a refusal first: still one line at the end
    script = (f"cat {secret} 2>/dev/null; for i in $(seq 300); do /bin/true; done; "
              f"touch {finished}")
    how = (["-p", str(policy)] if mode == "enforce"
           else ["-A", "-o", str(tmp_path / "learned.toml")])
    r = run_systrace(["--log", str(log), *how, "--", "sh", "-c", script], prefix=prefix)
    assert r.returncode == 125, r.stderr
    line = one_line(r.stderr)
    assert str(log) in line and "No space left on device" in line and "killed" in line
    assert not finished.exists(), "the traced tree went on without its log"
    data = subprocess.run([*prefix, "cat", str(log)], capture_output=True, check=True).stdout
    assert data.endswith(b"\n"), data[-200:]
    records = [json.loads(raw) for raw in data.splitlines()]
    assert records[0]["event"] == "start" and len(records) > 5
    assert not (tmp_path / "learned.toml").exists()


# --- stderr closed ---------------------------------------------------------------------------

SCRIPT = "echo out; echo err >&2; echo status $?; cat /dev/null; echo cat $?"


def closed_stderr(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a command with descriptor 2 closed and no terminal."""
    return subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", *command], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, start_new_session=True,
                          timeout=120, env=systrace_env())


@pytest.mark.parametrize("options", [("-v",), ("-v", "-e")])
def test_with_stderr_closed_the_command_runs_as_natively(tmp_path, options):
    native = closed_stderr("sh", "-c", SCRIPT)
    traced = closed_stderr(PYTHON, "-m", "systrace_py", *options, "-p",
                           str(write_policy(tmp_path)), "--", "sh", "-c", SCRIPT)
    assert "out" in native.stdout and "cat 0" in native.stdout
    assert (traced.returncode, traced.stdout) == (native.returncode, native.stdout)


def test_with_stderr_closed_an_ask_policy_without_a_terminal_runs(tmp_path):
    asking = write_policy(tmp_path, f"""\
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{tmp_path}/never-read/**"
        action = "ask"
        """)
    native = closed_stderr("sh", "-c", SCRIPT)
    traced = closed_stderr(PYTHON, "-m", "systrace_py", "-p", str(asking), "--", "sh", "-c",
                           SCRIPT)
    assert (traced.returncode, traced.stdout) == (native.returncode, native.stdout)


# --- under another tracer --------------------------------------------------------------------


def test_under_strace_f_it_says_who_traces_and_exits_125(tmp_path):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    command, marker = touch_marker(tmp_path)
    r = subprocess.run(["strace", "-f", "-o", os.devnull, PYTHON, "-m", "systrace_py", "-p",
                        str(write_policy(tmp_path)), "--", *command], capture_output=True,
                       text=True, timeout=60, env=systrace_env())
    assert r.returncode == 125, r.stderr
    assert re.fullmatch(r"systrace: already traced by PID \d+ \(strace\)", one_line(r.stderr))
    assert not marker.exists()


def test_under_systrace_it_says_so_and_exits_125(tmp_path):
    command, marker = touch_marker(tmp_path)
    policy = str(write_policy(tmp_path))
    r = run_systrace(["-q", "-p", policy, "--", PYTHON, "-m", "systrace_py", "-p", policy,
                      "--", *command], timeout=60)
    assert r.returncode == 125, r.stderr
    assert re.search(r"already traced by PID \d+ \(", one_line(r.stderr))
    assert not marker.exists()


# --- nothing silent: the refusal count -------------------------------------------------------


def test_a_run_that_refused_calls_ends_saying_how_many(tmp_path, probe):
    policy, secret = refusing(tmp_path)
    r = run_systrace(["-p", str(policy), "--", str(probe), f"open:{secret}", f"open:{secret}"])
    assert r.stdout.count("-> EACCES") == 2
    assert one_line(r.stderr) == "systrace: refused 2 calls (-v or --log to see them)"
    assert r.returncode == 0


def test_minus_q_silences_the_count(tmp_path, probe):
    policy, secret = refusing(tmp_path)
    r = run_systrace(["-q", "-p", str(policy), "--", str(probe), f"open:{secret}"])
    assert "-> EACCES" in r.stdout
    assert r.stderr == ""


def test_a_dry_run_says_how_many_calls_would_have_been_refused(tmp_path, probe):
    policy, secret = refusing(tmp_path)
    r = run_systrace(["--dry-run", "-p", str(policy), "--", str(probe), f"open:{secret}",
                      f"open:{secret}", f"open:{secret}"])
    assert r.stdout.count("-> ok") == 3
    assert one_line(r.stderr) == "systrace: dry run: 3 calls would have been refused"


def test_the_count_includes_the_engines_own_refusals(tmp_path):
    # the command's parent is systrace: a signal to it is refused by the engine, whatever the
    # policy says
    r = run_systrace(["-p", str(write_policy(tmp_path)), "--", "sh", "-c",
                      "kill -0 $PPID 2>/dev/null; echo $?"])
    assert r.stdout == "1\n"
    assert one_line(r.stderr) == "systrace: refused 1 call (-v or --log to see them)"


def test_minus_q_silences_the_learning_summary(tmp_path):
    policy = tmp_path / "learned.toml"
    r = run_systrace(["-A", "-q", "-o", str(policy), "--", "true"])
    assert (r.returncode, r.stderr) == (0, "")
    assert policy.exists()


# --- what -v says ----------------------------------------------------------------------------


def test_verbose_gives_the_reason_of_an_unsafe_call_refusal(tmp_path):
    # (setns: joining a namespace made outside the tree stays unsafe; unshare is checked)
    setns = "import ctypes; print(ctypes.CDLL(None, use_errno=True).setns(0, 0))"
    r = run_systrace(["-v", "-p", str(write_policy(tmp_path)), "--", PYTHON, "-c", setns])
    assert r.stdout == "-1\n"
    line = next(x for x in r.stderr.splitlines() if "refused setns" in x)
    assert "unsafe under this policy; a rule naming it lifts this -> EPERM" in line, line
    assert "default of table" not in line


def test_verbose_says_what_a_guard_protects(tmp_path):
    policy = write_policy(tmp_path, """\
        default = "permit"
        [[rule]]
        calls = ["ioctl"]
        action = "never"
        errno = "ENOTTY"
        """)
    tiocsti = "import fcntl, termios\ntry: fcntl.ioctl(0, termios.TIOCSTI, b'x')\n" \
              "except OSError as e: print(e.errno)"
    r = run_systrace(["-v", "-p", str(policy), "--", PYTHON, "-c", tiocsti])
    assert r.stdout == "1\n", r.stderr  # EPERM: the guard, before the rule's ENOTTY
    guarded = [x for x in r.stderr.splitlines()
               if "refused ioctl" in x and "systrace's guard" in x]
    assert len(guarded) == 1 and "systrace's guard: TIOCSTI" in guarded[0], r.stderr


def test_verbose_says_each_exec_and_its_table(tmp_path):
    policy = write_policy(tmp_path, """\
        default = "permit"
        [program."/usr/bin/cat"]
        default = "permit"
        """)
    r = run_systrace(["-v", "-p", str(policy), "--", "sh", "-c", "cat /dev/null; true"])
    assert r.returncode == 0, r.stderr
    assert re.search(r"systrace: pid \d+: exec /usr/bin/cat, table /usr/bin/cat", r.stderr), \
        r.stderr
    shell = os.path.realpath(shutil.which("sh") or "/bin/sh")
    assert re.search(rf"systrace: pid \d+: exec {re.escape(shell)}, table main", r.stderr), \
        r.stderr


# --- flags that cannot take effect -----------------------------------------------------------

USELESS_FLAGS = [
    (["-o", "out.toml"], "--log"),            # strace's -o: a trace file
    (["--merge"], "-A"),
    (["--default", "ask"], "-A"),
    (["--generalize", "broad"], "-A"),
    (["-a", "--ask-default", "permit"], "-a"),
    (["-a", "--ask-timeout", "5"], "-a"),
    (["--dry-run", "--save-answers", "x.toml"], "--dry-run"),
    (["--ask-timeout", "0"], "above 0"),
    (["--ask-timeout", "-3"], "above 0"),
    (["--ask-timeout", "nan"], "above 0"),
    (["--ask-delay", "-1"], "from 0 to 60"),
    (["--ask-delay", "61"], "from 0 to 60"),
    (["--ask-delay", "inf"], "from 0 to 60"),
    (["-A", "--ask-delay", "1"], "-A"),
    (["--dry-run", "--ask-delay", "1"], "--dry-run"),
    (["--ask-via", "exec:true", "--ask-delay", "1"], "--ask-via"),
    (["--ask-timeout", "0.4"], "not longer than --ask-delay 0.5"),
    (["--ask-timeout", "2", "--ask-delay", "2"], "not longer than --ask-delay 2"),
    (["-A", "-a"], "-A"),
    (["-A", "--ask-timeout", "5"], "-A"),
    (["-A", "--ask-via", "exec:true"], "-A"),
    (["-a", "--ask-via", "exec:true"], "-a"),
    (["--ask-via", "exec:true", "--ask-default", "never"], "--ask-via"),
    (["--ask-via", "smoke:signals"], "exec:COMMAND or unix:PATH"),
    (["--ask-via", "exec:"], "exec:COMMAND or unix:PATH"),
]


@pytest.mark.parametrize(("flags", "words"), USELESS_FLAGS)
def test_flags_that_cannot_take_effect_are_refused(tmp_path, flags, words):
    command, marker = touch_marker(tmp_path)
    policy = ["-p", str(write_policy(tmp_path))] if "-A" not in flags else []
    r = run_systrace([*flags, *policy, "--", *command], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert words in one_line(r.stderr)
    assert not marker.exists()
    assert not (tmp_path / "out.toml").exists()


def test_credentials_with_attach_are_refused(tmp_path):
    target = subprocess.Popen(["sleep", "60"])  # (if -c were ignored, this is what is traced)
    try:
        r = run_systrace(["--attach", str(target.pid), "-c", "0:0", "-p",
                          str(write_policy(tmp_path))], timeout=60)
    finally:
        target.kill()
        target.wait()
    assert r.returncode == 2
    assert "-c" in one_line(r.stderr)


def test_learning_into_a_new_policy_directory_says_so_and_how_to_run_it(tmp_path):
    directory = tmp_path / "new" / "policies"
    r = run_systrace(["-A", "-d", str(directory), "--", "true"])
    assert r.returncode == 0, r.stderr
    assert f"systrace: created the policy directory {directory}\n" in r.stderr
    hint = re.search(r"run it with: (.*)", r.stderr)
    assert hint is not None and hint.group(1) == f"systrace -d {directory} true"
    r = run_systrace(hint.group(1).split()[1:])
    assert r.returncode == 0, r.stderr


# --- program tables keyed by a symlink path --------------------------------------------------


def test_a_program_table_keyed_by_a_symlink_path_applies_with_a_warning(tmp_path):
    if os.path.realpath("/bin/cat") == "/bin/cat":
        pytest.skip("/bin is not a symlink here")
    secret = tmp_path / "secret"
    secret.write_text("s\n")
    policy = write_policy(tmp_path, f"""\
        default = "permit"
        [program."/bin/cat"]
        [[program."/bin/cat".rule]]
        calls = ["fsread"]
        path = "{secret}"
        action = "never"
        errno = "EACCES"
        """)
    r = run_systrace(["-q", "-p", str(policy), "--", "sh", "-c",
                      f"cat {secret} 2>/dev/null; echo $?"])
    assert r.stdout == "1\n", r.stderr
    warning = one_line(r.stderr)
    assert warning.startswith(f"systrace: warning: {policy}:2: ")
    assert "/bin/cat resolves to /usr/bin/cat" in warning


# --- orphans -----------------------------------------------------------------------------------


def read_line(stream, timeout: float = 60) -> str:
    """A line from a pipe, or "" when none came within ``timeout`` (the test then fails on
    what the line says, not on time)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


def test_waiting_for_processes_the_command_left_running_is_said_once(tmp_path):
    go = tmp_path / "go"
    script = f"(while [ ! -e {go} ]; do sleep 0.1; done; echo orphan done) & echo main done"
    proc = subprocess.Popen([PYTHON, "-m", "systrace_py", "-p", str(write_policy(tmp_path)),
                             "--", "sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=systrace_env())
    try:
        notice = read_line(proc.stderr)
    finally:
        go.write_text("")
    out, err = proc.communicate(timeout=60)
    assert re.fullmatch(r"systrace: the command has exited; waiting for the \d+ process(es)? "
                        r"it left running .*\n", notice), notice
    assert proc.returncode == 0
    assert out == "main done\norphan done\n"
    assert err == ""


# --- systrace policy ---------------------------------------------------------------------------


def test_policy_without_a_subcommand_prints_its_usage():
    r = run_systrace(["policy"])
    assert r.returncode == 2
    assert "build a policy from a learning" in r.stderr and "rule hit counts" in r.stderr
    assert "Traceback" not in r.stderr


def test_every_positional_argument_has_help_text():
    from systrace_py import docgen
    from systrace_py.cli import args, policy

    parsers = [args.build_parser(), policy.build_parser(),
               *docgen.subcommands(policy.build_parser()).values()]
    for parser in parsers:
        for action in parser._actions:
            if not action.option_strings:
                assert action.help, (parser.prog, action.dest)



def test_every_guard_says_what_it_protects():
    from systrace_py.engine import seccomp

    for name in seccomp.GUARDED_CALLS:
        assert seccomp.guard_purpose(name) != seccomp.guard_purpose("no such call"), name


@pytest.mark.parametrize("mode", ["enforce", "learn"])
def test_a_new_log_is_the_users_alone_and_an_old_one_keeps_its_mode(tmp_path, mode):
    """A log records argv (a password on a command line), paths and host names: a new one is
    made 0600 under the common umask 022, as private as a shell's history; one that is there
    already is appended to and keeps the mode its owner gave it."""
    how = (["-p", str(write_policy(tmp_path))] if mode == "enforce"
           else ["-A", "-o", str(tmp_path / "learned.toml")])
    umask_022 = ["sh", "-c", 'umask 022 && exec "$@"', "sh"]
    new, old = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)
    for log in (new, old):
        r = run_systrace(["--log", str(log), *how, "--", "true", "--password=hunter2"],
                         prefix=umask_022)
        assert r.returncode == 0, r.stderr
        assert "hunter2" in log.read_text()
    assert new.stat().st_mode & 0o777 == 0o600
    assert old.stat().st_mode & 0o777 == 0o644
