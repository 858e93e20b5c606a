"""Learned policies work on the next run and grant no more than was used (issue 13): real
programs, each learned once, then enforced on runs that differ as real runs do -- new
temporary names, a fresh virtual environment, a header added, another directory on $PATH --
and on variations that must be refused: a file only looked at, then read; a file only linked,
then written."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import results, run_systrace
from systrace_py.policy.generalize import RANDOM_CHAR, number_shape

PYTHON3 = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
#: a PATH without the user's own tool directories (pip asks rustc for its user agent when it
#: finds one: another program in the run, not what these tests are about)
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
#: a directory of wheels on this machine (pip's --find-links) that may hold setuptools: the
#: tests that install with pip build from it with no index (an index is pypi.org: a network
#: lookup at every traced install -- none of these tests' claim)
FIND_LINKS = "/opt/pypi/files"


def local_setuptools() -> bool:
    """Whether :data:`FIND_LINKS` holds a setuptools wheel (pip can build without an index)."""
    return os.path.isdir(FIND_LINKS) and any(n.startswith("setuptools-")
                                             for n in os.listdir(FIND_LINKS))


def generated(prefix: str, n: int, suffix: str = "") -> str:
    """A regular expression of a learned generated name: the template's text around its
    random run, written as the run's shape -- ``n`` of ``[0-9A-Za-z_]`` (learn36) -- and,
    where the run was hex digits only in a name not made as mkstemp makes one, the first of
    its alternatives: a number in hex of other lengths the others (learn37)."""
    run = "(?:" + re.escape(RANDOM_CHAR) + f"){{{n}}}"
    return re.escape(prefix) + r"(?:\{" + run + r",[^{}]*\}|" + run + ")" + re.escape(suffix)


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def refusals(log: Path) -> list[dict]:
    return [r for r in records(log) if r.get("result") == "refused"]


def learn(tmp: Path, command: list[str], *, cwd: Path | None = None,
          env: dict[str, str] | None = None, extra: tuple[str, ...] = (),
          timeout: float = 120) -> Path:
    policy = tmp / "policy.toml"
    r = run_systrace(["-A", "-o", str(policy), "--log", str(tmp / "learn.jsonl"), *extra,
                      "--", *command], cwd=cwd, env=env, timeout=timeout)
    assert policy.exists(), r.stderr
    assert r.returncode == 0, r.stderr
    return policy


def enforce(tmp: Path, policy: Path, command: list[str], *, cwd: Path | None = None,
            env: dict[str, str] | None = None, timeout: float = 120
            ) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    log = tmp / "enforce.jsonl"
    log.unlink(missing_ok=True)
    r = run_systrace(["-p", str(policy), "--log", str(log), "--", *command], cwd=cwd,
                     env=env, timeout=timeout)
    return r, refusals(log)


# --- random names: the next runs' names are not this run's ----------------------------------

TEMPFILE_SCRIPT = """
import os, sys, tempfile
out = sys.argv[1]
with tempfile.NamedTemporaryFile("w", suffix=".txt") as t:
    t.write("scratch")
fd, name = tempfile.mkstemp(prefix="job-", suffix=".log")
os.write(fd, b"x"); os.close(fd); os.unlink(name)
with tempfile.TemporaryDirectory() as d:
    open(os.path.join(d, "inner.dat"), "w").write("y")
with tempfile.NamedTemporaryFile("w", dir=out, prefix="part-", delete=False) as t:
    t.write("z")
os.replace(t.name, os.path.join(out, "result.txt"))
print(open(os.path.join(out, "result.txt")).read())
"""


def test_a_python_program_using_tempfile_runs_three_more_times(tmp_path):
    script = tmp_path / "temps.py"
    script.write_text(TEMPFILE_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    policy = learn(tmp_path, [PYTHON3, str(script), str(out)])
    text = policy.read_text()
    # (Python probes $TMPDIR with a random name of no prefix: its shape, 8 characters, beside
    # tmp*, job-*: red team 52)
    assert "$TMPDIR/{" + "[0-9A-Za-z_]" * 8 + "," in text
    assert re.search(generated("job-", 8, ".log"), text), text
    assert re.search(generated("out/part-", 8), text), text
    assert re.search(generated("$TMPDIR/tmp", 8, "/inner.dat"), text), text
    for _ in range(3):
        r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), str(out)])
        assert (r.returncode, r.stdout) == (0, "z\n"), r.stderr
        assert refused == [], refused[:3]


#: the same step as TEMPFILE_SCRIPT on a later run, which also makes names of its choosing
#: beside its temporary files: names other programs look for there later (tmux's socket
#: directory, an X lock, direnv's file), which outlive the run
PLANTING_SCRIPT = TEMPFILE_SCRIPT + """
import tempfile
planted = []
for name in ("tmux-0", ".X0-lock", ".envrc", "evil"):
    path = os.path.join(tempfile.gettempdir(), name)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        planted.append(name)
    except PermissionError:
        pass
print("planted", planted)
"""


def test_a_later_step_makes_no_name_of_its_choosing_beside_its_temporary_files(tmp_path):
    """Red team 52: Python probes $TMPDIR with a wholly random name (8 of tempfile's
    characters), which was learned as a fresh ``$TMPDIR/*`` -- and a later run's step could
    make any new name there (a directory another program trusts when its owner made it, a
    lock, a dotfile), none of the program's shapes.  The probe is its shape now: the honest
    run passes, and every chosen name is refused.  On main: all four names were made."""
    script = tmp_path / "temps.py"
    script.write_text(TEMPFILE_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"PATH": SYSTEM_PATH, "TMPDIR": str(temp)}
    policy = learn(tmp_path, [PYTHON3, str(script), str(out)], env=env)
    r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), str(out)], env=env)
    assert (r.returncode, r.stdout, refused) == (0, "z\n", []), (r.stderr, refused[:3])
    script.write_text(PLANTING_SCRIPT)
    r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), str(out)], env=env)
    assert (r.returncode, r.stdout) == (0, "z\nplanted []\n"), r.stderr
    assert sorted(os.listdir(temp)) == [], os.listdir(temp)
    assert {Path(str(x["args"].get("path"))).name for x in refused} >= {
        "tmux-0", ".X0-lock", ".envrc", "evil"}, refused


# --- a package installed into a virtual environment, installed again -------------------------

def tiny_wheel(directory: Path) -> Path:
    """A pure-Python wheel of two modules, written as pip expects one (no build needed)."""
    files = {"tinypkg/__init__.py": "VALUE = 42\n", "tinypkg/util.py": "def f():\n    return 1\n"}
    info = "tinypkg-0.1.dist-info"
    files[f"{info}/METADATA"] = "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n"
    files[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n")
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{name},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / "tinypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.mark.slow
def test_a_local_package_installed_into_a_venv_installs_again(tmp_path):
    if subprocess.run([PYTHON3, "-c", "import ensurepip"], capture_output=True).returncode:
        pytest.skip("this python cannot make a virtual environment with pip")
    wheel = tiny_wheel(tmp_path)
    venv = tmp_path / "venv"
    env = {"PATH": SYSTEM_PATH, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    install = [str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--no-cache-dir",
               str(wheel)]

    # (one venv, made untraced; the learned run's install taken out of it before the next
    # run: the state a fresh venv gives, without a second ensurepip)
    subprocess.run([PYTHON3, "-m", "venv", str(venv)], check=True, env={"PATH": SYSTEM_PATH})
    site = next((venv / "lib").glob("python3*/site-packages"))
    policy = learn(tmp_path, install, cwd=tmp_path, env=env)
    installed = [*site.glob("tinypkg"), *site.glob("tinypkg-*")]
    assert installed, list(site.iterdir())
    for path in installed:
        shutil.rmtree(path)
    r, refused = enforce(tmp_path, policy, install, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert refused == [], json.dumps(refused[:3])
    check = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import tinypkg; print(tinypkg.VALUE)"], capture_output=True,
                           text=True)
    assert check.stdout == "42\n", check.stderr
    text = policy.read_text()
    assert not re.search(r"tinypkg\*|/t\*", text), text  # a package's name is no random one
    assert re.search(re.escape("tinypkg-0.1.dist-info/{") + generated("INSTALLER", 8, ".tmp,")
                     + generated("RECORD", 8, ".tmp"), text), text  # pip's are


# --- a small build: still builds with a header added; a readable policy ----------------------

C_FILES = {
    "a.c": '#include <stdio.h>\nint a(void) { return printf("a\\n"); }\n',
    "b.c": '#include <stdio.h>\nint b(void) { return printf("b\\n"); }\n',
    "c.c": '#include <string.h>\nint c(void) { return (int)strlen("c"); }\n',
    "main.c": "int a(void); int b(void); int c(void);\n"
              "int main(void) { return a() + b() + c() == 5 ? 0 : 1; }\n",
}
MAKEFILE = ("all: prog\nprog: a.o b.o c.o main.o\n\tgcc -o prog a.o b.o c.o main.o\n"
            "%.o: %.c\n\tgcc -O1 -c -o $@ $<\n")


def test_a_make_build_still_builds_after_a_header_is_added(tmp_path):
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.skip("make and gcc are needed")
    project = tmp_path / "project"
    project.mkdir()
    for name, text in C_FILES.items():
        (project / name).write_text(text)
    (project / "Makefile").write_text(MAKEFILE)
    policy = learn(tmp_path, ["make", "-j2"], cwd=project)
    text = policy.read_text()
    # (152 since fresh16: a rule of generated names says ``fresh = true``, one line more;
    # each table's signals inside the tree, sigtree, are a rule of 6 lines not counted;
    # 157 since learn23: make and the compiler driver, which looked at the objects and the
    # program the run made, and the assembler, which wrote them, read them by name -- the
    # next run in the built tree does)
    lines = text.count("\n") - 6 * text.count('target = "tree"')
    assert lines <= 160, f"{lines} lines:\n{text}"
    for built in project.glob("*.o"):
        built.unlink()
    (project / "prog").unlink()
    (project / "a.c").write_text("#include <stdlib.h>\n" + C_FILES["a.c"])
    r, refused = enforce(tmp_path, policy, ["make", "-j2"], cwd=project)
    assert r.returncode == 0, r.stderr
    assert refused == [], refused[:3]
    assert subprocess.run([str(project / "prog")], capture_output=True).returncode == 0


def test_find_over_the_system_headers_learns_a_few_rules(tmp_path):
    if not Path("/usr/include/stdio.h").exists():
        pytest.skip("no system headers")
    command = ["find", "/usr/include", "-name", "*.h"]
    policy = learn(tmp_path, command)
    data = tomllib.loads(policy.read_text())
    count = len(data.get("rule", [])) + sum(len(t.get("rule", []))
                                            for t in data.get("program", {}).values())
    assert count <= 30, policy.read_text()
    r, refused = enforce(tmp_path, policy, command)
    assert r.returncode == 0 and refused == [], (r.stderr, refused[:3])


# --- what was only looked at, or only linked, stays so --------------------------------------

def test_stat_only_learning_denies_a_later_read(tmp_path, probe):
    target = tmp_path / "data" / "secret.txt"
    target.parent.mkdir()
    target.write_text("s\n")
    for level in ("strict", "safe", "broad"):
        policy = learn(tmp_path, [str(probe), f"stat:{target}", f"access:{target}",
                                  f"readlink:{target}"], extra=("--generalize", level))
        r, _ = enforce(tmp_path, policy, [str(probe), f"stat:{target}", f"open:{target}"])
        got = results(r.stdout)
        assert got[f"stat {target}"] == "ok", (level, r.stdout)
        assert got[f"open {target}"] == "EPERM", (level, r.stdout, policy.read_text())


def test_link_learning_denies_a_later_write_to_the_source(tmp_path, probe):
    repo = tmp_path / "repo"
    repo.mkdir()
    source = repo / "object"
    source.write_text("o\n")
    clone = tmp_path / "clone"
    clone.mkdir()
    link = clone / "object"
    policy = learn(tmp_path, [str(probe), f"link:{source}:{link}"])
    assert link.exists()
    link.unlink()
    r, _ = enforce(tmp_path, policy, [str(probe), f"link:{source}:{link}",
                                      f"openw:{source}", f"unlink:{source}"])
    got = results(r.stdout)
    assert got[f"link {source}:{link}"] == "ok", r.stdout
    assert got[f"openw {source}"] == "EPERM", (r.stdout, policy.read_text())
    assert got[f"unlink {source}"] == "EPERM"
    assert source.read_text() == "o\n"


# --- searches go on past what does not exist -------------------------------------------------

def test_a_path_with_an_extra_empty_directory_in_front_still_finds_the_program(tmp_path):
    """env finds cat with execvp, which goes on after ENOENT and EACCES and stops at anything
    else: the exec of empty/cat is refused (the policy never saw it) with ENOENT."""
    data = tmp_path / "data.txt"
    data.write_text("hello\n")
    command = ["env", "cat", str(data)]
    policy = learn(tmp_path, command, env={"PATH": SYSTEM_PATH})
    if not Path("/usr/local/bin/cat").exists():  # a miss of the learning run's own search
        failed = [r["observation"] for r in records(tmp_path / "learn.jsonl")
                  if r.get("observation", {}).get("failed")]
        assert any(o["paths"] == [["path", "/usr/local/bin/cat"]] and o["failed"] == "ENOENT"
                   for o in failed), failed
        assert "/usr/local/bin" not in policy.read_text()  # not learned as an exec
    empty = tmp_path / "empty"
    empty.mkdir()
    r, refused = enforce(tmp_path, policy, command, env={"PATH": f"{empty}:{SYSTEM_PATH}"})
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
    assert refused == [], refused[:3]
    missing = [x for x in records(tmp_path / "enforce.jsonl") if x.get("result") == "missing"]
    assert any(str(empty) in str(x["args"].get("path")) for x in missing), missing


# --- the facts of the system the categories take their roots from ----------------------------

def test_the_categories_roots_come_from_the_programs_that_ran(tmp_path):
    from systrace_py.cli.facts import gather_facts

    gcc = shutil.which("gcc")
    programs = [os.path.realpath(p) for p in (gcc, PYTHON3) if p]
    facts = gather_facts(programs).to_json()
    if gcc:
        assert "/usr/include" in facts["headers"]
        assert any(os.path.exists(f"{d}/cc1") or "/gcc/" in d for d in facts["compiler"])
    assert any(os.path.exists(f"{d}/os.py") for d in facts["python"]), facts
    assert facts["libraries"]
    # a program the traced command could have written is never run to ask it
    planted = tmp_path / "bin" / "gcc"
    planted.parent.mkdir()
    planted.write_text("#!/bin/sh\ntouch " + str(tmp_path / "ran") + "\n")
    planted.chmod(0o777)
    assert "headers" not in gather_facts([str(planted)]).to_json()
    assert not (tmp_path / "ran").exists()


# --- loader and interpreter variables: learned as the table's environment -------------------

def test_an_exec_carrying_a_loader_variable_runs_again_and_another_value_is_refused(tmp_path):
    """A build script that sets LD_LIBRARY_PATH or PYTHONPATH for a program with a table of
    its own (as every learned policy gives each program) broke on the very next run: an exec
    into another table with loader or interpreter variables the run did not start with is
    refused (red team 3).  The learner now writes what it saw into the entered table's
    ``environment``, so the same run passes -- and a caller's other value (a library
    directory of its own choosing) is still refused."""
    libs = tmp_path / "libs"
    libs.mkdir()
    script = (f'LD_LIBRARY_PATH={libs} cat /etc/hostname && '
              f'PYTHONPATH={libs} {PYTHON3} -c "print(41 + 1)"')
    env = {**os.environ, "PATH": SYSTEM_PATH}
    for name in ("LD_LIBRARY_PATH", "PYTHONPATH"):
        env.pop(name, None)
    policy = learn(tmp_path, ["sh", "-c", script], env=env)
    tables = tomllib.loads(policy.read_text())["program"]
    # (a directory below $TMPDIR is written with the variable, as path rules are: learn22)
    spelled = f"$TMPDIR{str(libs)[4:]}" if str(libs).startswith("/tmp/") else str(libs)
    assert tables[os.path.realpath("/usr/bin/cat")]["environment"] == [
        f"LD_LIBRARY_PATH={spelled}"]
    assert f"PYTHONPATH={spelled}" in tables[os.path.realpath(PYTHON3)]["environment"]
    again, refused = enforce(tmp_path, policy, ["sh", "-c", script], env=env)
    assert again.returncode == 0 and again.stdout.endswith("42\n"), (again.stderr, refused)
    assert refused == []
    other = tmp_path / "other"
    other.mkdir()
    changed, refused = enforce(tmp_path, policy, [
        "sh", "-c", f"LD_LIBRARY_PATH={other} cat /etc/hostname"], env=env)
    assert changed.returncode != 0 and "Operation not permitted" in changed.stderr, changed
    assert refused and {r["syscall"] for r in refused} == {"execve"}, refused  # (/usr/bin, /bin)


# --- names that are not UTF-8 -----------------------------------------------------------------

def test_names_that_are_not_utf8_leave_a_policy_that_saves_and_runs_again(tmp_path):
    """gpg asks access() about a name of random bytes: learning it crashed on saving (a
    policy is UTF-8 text).  No rule names such a name: the next run's look and read of it
    are answered as natively (it does not exist: ENOENT), and once it exists, the read is
    refused -- the policy grants no name the run did not use."""
    script = ('test -e "$(printf "\\340\\344U")"; cat "$(printf "\\340\\344V")" 2>/dev/null;'
              ' echo ok > out.txt')
    policy = learn(tmp_path, ["sh", "-c", script], cwd=tmp_path)
    policy.read_bytes().decode("utf-8")
    (tmp_path / "out.txt").unlink()
    r, refused = enforce(tmp_path, policy, ["sh", "-c", script], cwd=tmp_path)
    assert r.returncode == 0 and refused == [], (r.stderr, refused[:3])
    assert (tmp_path / "out.txt").read_text() == "ok\n"
    (tmp_path / os.fsdecode(b"\xe0\xe4V")).write_text("secret\n")
    r, refused = enforce(tmp_path, policy, ["sh", "-c", script], cwd=tmp_path)
    assert [x["syscall"] for x in refused] == ["openat"], refused
    assert "secret" not in r.stdout


# --- an address in a name -----------------------------------------------------------------

def test_a_lock_named_by_its_handles_address_is_taken_again(tmp_path, build):
    """gnupg's dotlock names its lock file by the address of a heap object
    (``.#lk0x55e0d9d292a0.HOST.PID``): the learned rule kept the address literally and the
    next run's lock was refused.  The address is ``0x*``, in a rule of the names the run
    makes (fresh): a file of that shape the run did not make stays refused.  The address is
    its hex digits' shape, not ``0x*`` (learn37): ``0x`` and any name was any new name."""
    dotlock = build("progs/dotlock.c")
    home = tmp_path / "gh"
    home.mkdir()
    policy = learn(tmp_path, [str(dotlock), str(home / "pubring.kbx")])
    text = policy.read_text()
    assert re.search(r"\.#lk0x\{?\[0-9a-f\]", text) and ".#lk0x*" not in text, text
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, [str(dotlock), str(home / "pubring.kbx")])
        assert (r.returncode, r.stdout) == (0, "locked\n"), (r.stderr, refused[:3])
        assert refused == [], refused[:3]
    rules = [r for r in tomllib.loads(text)["rule"] if ".#lk0x" in r.get("path", "")]
    assert rules and all(r.get("fresh") is True for r in rules), text


# --- a key named by its hash, uppercase --------------------------------------------------------

KEYGRIP_SCRIPT = ('set -C; n=$(od -An -N20 -tx1 /dev/urandom | tr -d " \\n" | tr a-f A-F);'
                  ' : > keys/$n.key && echo made')


def test_a_new_key_named_by_an_uppercase_hash_is_made_again(tmp_path):
    """gpg-agent writes a new key to ``private-keys-v1.d/KEYGRIP.key`` (40 uppercase hex
    digits, O_EXCL): kept literally, the next run's key was refused.  The shell here names
    its file by 20 random bytes in uppercase hex, made O_EXCL (``set -C``)."""
    (tmp_path / "keys").mkdir()
    policy = learn(tmp_path, ["sh", "-c", KEYGRIP_SCRIPT], cwd=tmp_path)
    assert "[0-9A-F]" * 40 + ".key" in policy.read_text(), policy.read_text()
    r, refused = enforce(tmp_path, policy, ["sh", "-c", KEYGRIP_SCRIPT], cwd=tmp_path)
    assert (r.returncode, r.stdout, refused) == (0, "made\n", []), (r.stderr, refused[:3])
    assert len(list((tmp_path / "keys").iterdir())) == 2


# --- a name removed and made again beside generated ones -------------------------------------

def test_a_current_link_replaced_beside_numbered_directories_is_replaced_again(tmp_path):
    """pytest makes ``pytest-N`` (a counter) and replaces the symlink ``pytest-current`` by
    one to it: the fresh ``pytest-*`` covered the link (the run made it), but its removal met
    the older link, and the next run's removal was refused.  The link keeps its own rule."""
    script = ("import os\nnew = f'run-{len(os.listdir()) + 100}'\nos.mkdir(new)\n"
              "os.unlink('run-current')\nos.symlink(new, 'run-current')\nprint('ok')\n")
    (tmp_path / "run-current").symlink_to("nowhere")
    command = [PYTHON3, "-I", "-S", "-c", script]  # (one process: one table)
    policy = learn(tmp_path, command, cwd=tmp_path)
    r, refused = enforce(tmp_path, policy, command, cwd=tmp_path)
    assert (r.returncode, r.stdout, refused) == (0, "ok\n", []), (r.stderr, refused[:3])
    assert (tmp_path / "run-current").resolve().parent == tmp_path
    text = policy.read_text()
    assert '"$CWD/run-current"' in text and '"$CWD/run-' + number_shape("101") + '"' in text, \
        text


# --- a counter of runs: the next number made, the oldest removed -----------------------------

ROTATE_SCRIPT = """
import os, shutil, uuid
numbers = sorted(int(n[4:]) for n in os.listdir() if n.startswith("run-") and n[4:].isdigit())
new = f"run-{(numbers[-1] if numbers else int(os.environ['START'])) + 1}"
os.mkdir(new)
open(os.path.join(new, "data"), "w").write("x")
for old in numbers[:-1]:  # (keep the newest two)
    garbage = f"garbage-{uuid.uuid4()}"
    os.rename(f"run-{old}", garbage)
    shutil.rmtree(garbage)
print(sorted(n for n in os.listdir() if n.startswith("run-")))
"""


@pytest.mark.parametrize("start", [99, 0])
def test_a_counter_of_runs_keeps_rotating(tmp_path, start):
    """pytest makes ``pytest-N+1`` and renames away and removes the oldest, made by runs
    before: the learning run's own directory is the oldest to a later run, which no fresh
    rule covers -- the second run after learning was refused.  Older numbered names are
    their shape (``run-[0-9][0-9][0-9]``, moved with what older runs left inside).  From 1
    (pytest's first runs), a number made beside older ones is a counter too."""
    command = [PYTHON3, "-I", "-S", "-c", ROTATE_SCRIPT]
    env = {"START": str(start)}
    for _ in range(3):  # (runs before: run-100 .. run-102, or run-1 .. run-3)
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True,
                       env={**os.environ, **env})
    policy = learn(tmp_path, command, cwd=tmp_path, env=env)  # makes 103, removes 101
    for last in range(start + 5, start + 8):
        r, refused = enforce(tmp_path, policy, command, cwd=tmp_path, env=env)
        assert (r.returncode, refused) == (0, []), (r.stderr, refused[:3])
        assert r.stdout == f"['run-{last - 1}', 'run-{last}']\n"
    text = policy.read_text()
    shape = "[0-9]" * len(str(start + 1))
    # (the counter's own new name: a number's shape, 1 to 7 digits -- learn37)
    assert f"run-{shape}/**" in text and "run-" + number_shape(str(start + 4)) in text, text


# --- mktemp -d: the caller's prefix and mktemp's whole run ------------------------------------

#: what ``mktemp -d scratch.XXXXXXXXXX`` does, with the random run given: a directory made
#: 0700 (as mkdtemp makes one) and kept, a file written in it; then, if asked, a file of
#: another such directory, older than the run
SCRATCH_SCRIPT = """
import os, sys
scratch, extra = sys.argv[1:3]
os.mkdir("scratch." + scratch, 0o700)
open(os.path.join("scratch." + scratch, "f"), "w").write("x")
if extra != "-":
    open(extra, "w").write("planted")
print("ok")
"""


def test_a_kept_mktemp_d_directory_is_made_again_and_grants_no_older_one(tmp_path):
    """A scratch directory of ``mktemp -d scratch.XXXXXXXXXX`` whose 10 characters are
    letters only (1 time in 6) was learned literally and the next run's mkdir was refused
    (removed, it was ``scratch.`` and 4 of them, always).  Now ``scratch.*``, fresh: the next
    run's directory is made, a file of an older one is not written."""

    def command(scratch: str, extra: str = "-") -> list[str]:
        return [PYTHON3, "-I", "-S", "-c", SCRATCH_SCRIPT, scratch, extra]

    policy = learn(tmp_path, command("AbCdEfGhIj"), cwd=tmp_path)
    text = policy.read_text()
    assert '"$CWD/scratch.' + RANDOM_CHAR * 10 + '"' in text, text
    r, refused = enforce(tmp_path, policy, command("XyZwVuTsRq"), cwd=tmp_path)
    assert (r.returncode, r.stdout, refused) == (0, "ok\n", []), (r.stderr, refused[:3])
    older = tmp_path / "scratch.OlderOnes" / "f"
    older.parent.mkdir()
    older.write_text("older")
    r, refused = enforce(tmp_path, policy, command("KlMnOpQrSt", str(older)), cwd=tmp_path)
    assert r.returncode != 0 and [x["args"]["path"] for x in refused] == [str(older)], (
        r.stderr, refused[:3])
    assert older.read_text() == "older"


#: what sed -i does, with mkstemp's random run given: a file made read-write, O_EXCL, 0600
#: and no O_NOFOLLOW (C's mkstemp) beside the edited file, renamed onto it; then, if asked, a
#: new file of another name in that directory
SED_SCRIPT = """
import os, sys
temp, extra = sys.argv[1:3]
fd = os.open(os.path.join("src", "sed" + temp), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"bye"); os.close(fd)
os.rename(os.path.join("src", "sed" + temp), os.path.join("src", "a.txt"))
if extra != "-":
    open(os.path.join("src", extra), "w").write("planted")
print("ok")
"""


def test_sed_i_temporary_names_grant_no_other_new_name(tmp_path):
    """sed -i's ``sedXXXXXX`` of lowercase letters and digits (1 file in 25) was taken for
    ``s`` and Python's 8: ``src/s*``, any new name of ``s`` (``setup.py``) -- more than the
    run used.  Opened without O_NOFOLLOW it is C's mkstemp, 6: ``src/sed*``; the next run's
    name is made, another new name of ``s`` is refused."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("hello")

    def command(temp: str, extra: str = "-") -> list[str]:
        return [PYTHON3, "-I", "-S", "-c", SED_SCRIPT, temp, extra]

    policy = learn(tmp_path, command("qwerty"), cwd=tmp_path)
    text = policy.read_text()
    assert '"$CWD/src/sed' + RANDOM_CHAR * 6 + '"' in text and '"$CWD/src/s*"' not in text, \
        text
    r, refused = enforce(tmp_path, policy, command("a8sdfg"), cwd=tmp_path)
    assert (r.returncode, r.stdout, refused) == (0, "ok\n", []), (r.stderr, refused[:3])
    r, refused = enforce(tmp_path, policy, command("zxcvbn", "setup.py"), cwd=tmp_path)
    assert r.returncode != 0 and [x["args"]["path"] for x in refused] == [
        str(tmp_path / "src" / "setup.py")], (r.stderr, refused[:3])
    assert not (tmp_path / "src" / "setup.py").exists()


def test_a_wrapper_that_moves_path_for_an_env_script_runs_again(tmp_path):
    """pyenv's shims, npm's scripts: a wrapper sets PATH and execs a ``#!/usr/bin/env``
    script.  An exec into a program's table whose env looks its command up in a PATH the run
    did not start with is refused unless the table grants it (gap #40) -- so the learner
    grants the PATH that exec carried (learner._chosen_variables): the learned policy runs
    the same command again with no refusal (refused 1 call before, the script's exec), and
    still refuses the script another PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "tool"
    tool.write_text("#!/usr/bin/env sh\necho tool ran\n")
    tool.chmod(0o755)
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\nPATH="${{FIRST:-{bin_dir}}}:$PATH" exec {tool}\n')
    wrapper.chmod(0o755)
    policy = learn(tmp_path, [str(wrapper)], cwd=tmp_path)
    text = policy.read_text()
    assert f'"PATH={bin_dir}:' in text, text
    for _ in range(2):
        r, refused = enforce(tmp_path, policy, [str(wrapper)], cwd=tmp_path)
        assert r.returncode == 0 and r.stdout == "tool ran\n", (r.stdout, r.stderr)
        assert refused == []
    r, refused = enforce(tmp_path, policy, [str(wrapper)], cwd=tmp_path,
                         env={"FIRST": str(tmp_path)})
    assert "tool ran" not in r.stdout, (r.stdout, r.stderr)
    assert [x["reason"] for x in refused] == ["env PATH"], refused


# --- a Python run with -m or -c in a directory the run writes (pycwd37) ---------------------

def test_a_learned_python_m_in_a_build_directory_runs_again_and_another_is_refused(tmp_path):
    """A build's ``python3 -m MODULE`` (pip, pytest, a generator; ``-c CODE`` and stdin
    alike) in a directory the run may write: an exec into the interpreter's table (every
    learned policy gives it one) of a Python that imports first from its working directory
    is refused where a traced program may write it, unless the table grants it (red team
    53, Reason.PYTHON_CWD) -- so the learner grants the directory it saw
    (``CWD=$CWD/build``): the learned policy runs the same command again with no refusal,
    and refuses that Python in another directory the run may write."""
    checkout = tmp_path / "checkout"
    (checkout / "build").mkdir(parents=True)
    (checkout / "other").mkdir()
    for where in ("build", "other"):  # (the build's own module; -S: a short start to learn)
        (checkout / where / "gen.py").write_text('print("generated")\n')
    script = "cd {} && {} -S -m gen"
    command = ["sh", "-c", script.format("build", PYTHON3)]
    policy = learn(tmp_path, command, cwd=checkout)
    python = os.path.realpath(PYTHON3)
    assert "CWD=$CWD/build" in tomllib.loads(policy.read_text())["program"][python][
        "environment"], policy.read_text()
    again, refused = enforce(tmp_path, policy, command, cwd=checkout)
    assert again.returncode == 0 and again.stdout == "generated\n", (again.stderr, refused)
    assert refused == []
    moved, refused = enforce(tmp_path, policy, ["sh", "-c", script.format("other", PYTHON3)],
                             cwd=checkout)
    assert moved.returncode != 0 and "Operation not permitted" in moved.stderr, moved
    assert [(r["syscall"], r["reason"]) for r in refused] == [
        ("execve", "python working directory")], refused


# --- Perl's File::Temp: a whole name of 10 random characters (learn25) ------------------------

#: autom4te's way (``configure`` written so): File::Temp's default template beside the file,
#: written, renamed onto it
PERL_TEMP = r"""
srand($ENV{TEMP_SEED}) if defined $ENV{TEMP_SEED};
use File::Temp qw(tempfile);
my ($fh, $name) = tempfile(DIR => ".", UNLINK => 0);
print STDERR "$name\n";
print $fh "generated\n";
close $fh;
rename $name, "out.txt" or die "rename: $!";
print "ok\n";
"""


@pytest.mark.skipif(shutil.which("perl") is None, reason="no perl")
def test_perls_file_temp_names_are_made_again_and_no_older_file_is_written(tmp_path):
    """learned as a prefix and tempfile's 8 (``FE3nbl_3x4``: ``FE*``), the next run's
    ``W_BekHD7Fh`` was refused (autoreconf failed on every run after learning; main
    1ec2f11: here the first run after learning refused, exit 2)."""
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "t.pl").write_text(PERL_TEMP)
    command = ["perl", str(tmp_path / "t.pl")]
    # (the learning run's name from a seed: one name in 200 has no upper-case letter, which
    # the learner takes as no File::Temp name -- the test failed then, 1 run in ~16)
    seeded = {"TEMP_SEED": "1"}
    native = subprocess.run(command, cwd=work, env={**os.environ, **seeded},
                            capture_output=True, text=True, check=True)
    assert any(c.isupper() for c in native.stderr.strip().rsplit("/", 1)[-1]), native.stderr
    (work / "out.txt").unlink()
    policy = learn(tmp_path, command, cwd=work, env=seeded)
    for _ in range(4):  # another random name each run
        r, refused = enforce(tmp_path, policy, command, cwd=work)
        assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    assert sorted(p.name for p in work.iterdir()) == ["out.txt"]
    # no more than used: an older file of the shape is not written, nor any older name
    for older in ("AbCdEfGhIj", "notes.txt"):
        (work / older).write_text("keep\n")
        r, _ = enforce(tmp_path, policy, ["perl", "-e", f'open F, ">>", "{older}" or die; '
                                          'print F "x"'], cwd=work)
        assert r.returncode != 0 and (work / older).read_text() == "keep\n", older


#: autom4te's temporary directory (Autom4te::General's mktmpdir: File::Temp's
#: ``tempdir("am4tXXXXXX")``), a file written in it, removed with it
PERL_TEMPDIR = r"""
srand($ENV{TEMP_SEED}) if defined $ENV{TEMP_SEED};
use File::Temp qw(tempdir);
my $d = tempdir("am4tXXXXXX", TMPDIR => 1, CLEANUP => 1);
open my $f, ">", "$d/traces.m4" or die "open: $!";
print $f "x\n";
close $f;
print STDERR "$d\n";
print "ok\n";
"""


@pytest.mark.skipif(shutil.which("perl") is None, reason="no perl")
def test_autom4tes_temporary_directory_is_made_again_whatever_its_letters(tmp_path):
    """Learned from ``am4tulctm_`` (no upper-case letter, a ``_``: of no shape, kept as that
    name), the next run's ``mkdir $TMPDIR/am4tCc0VjA`` was refused (learn41: the CI's
    test_automake_removes_what_its_cp_copied_on_the_last_run, 1 learning in ~160); now
    ``am4t`` and 6 of File::Temp's alphabet."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    (tmp_path / "t.pl").write_text(PERL_TEMPDIR)
    command = ["perl", str(tmp_path / "t.pl")]
    env = {"TMPDIR": str(temp)}
    # (the learning run's name from a seed: Perl's drand48 is its own, the same everywhere)
    native = subprocess.run(command, env={**os.environ, **env, "TEMP_SEED": "251"},
                            capture_output=True, text=True, check=True)
    assert native.stderr.strip().endswith("/am4tulctm_"), native.stderr
    policy = learn(tmp_path, command, env={**env, "TEMP_SEED": "251"})
    text = policy.read_text()
    rules = [line for line in text.splitlines() if line.startswith("path = ")]
    assert "path = \"$TMPDIR/am4t" + RANDOM_CHAR * 6 + "\"" in rules, rules
    assert not [rule for rule in rules if "am4tulctm_" in rule], rules
    r, refused = enforce(tmp_path, policy, command, env={**env, "TEMP_SEED": "1"})
    assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    assert r.stderr.strip().endswith("/am4tCc0VjA") and os.listdir(temp) == [], r.stderr
