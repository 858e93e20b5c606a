"""Learning on real programs: learn a policy, enforce it on the same run, then step outside.

For each workload: ``systrace -A -o P --log L1 -- CMD`` then ``systrace -p P --log L2 --
CMD`` must give the same output and exit status with no refusal in L2; ``systrace policy
learn L1`` must rebuild P byte for byte; and a variation that reads another file, connects
to another port or runs another program must be refused.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_next_run import generated

from conftest import run_systrace
from systrace_py.policy.generalize import HEX_DIGIT, PID_SHAPE

PYTHON3 = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def refusals(log: Path) -> list[dict]:
    return [r for r in records(log) if r.get("result") == "refused"]


@dataclass
class Learned:
    policy: Path
    learn_log: Path
    first: subprocess.CompletedProcess[str]


def learn_and_enforce(tmp: Path, command: list[str], *, setup: Callable[[], None] = lambda: None,
                      cwd: Path | None = None, extra: tuple[str, ...] = ()) -> Learned:
    """Learn, enforce, compare; returns the learned policy for more checks."""
    policy, learn_log, enforce_log = tmp / "policy.toml", tmp / "learn.jsonl", tmp / "enf.jsonl"
    setup()
    first = run_systrace(["-A", "-o", str(policy), "--log", str(learn_log), *extra, "--",
                          *command], cwd=cwd)
    assert policy.exists(), first.stderr
    assert "wrote" in first.stderr and "calls seen" in first.stderr, first.stderr
    setup()
    second = run_systrace(["-p", str(policy), "--log", str(enforce_log), "--", *command],
                          cwd=cwd)
    assert (second.stdout, second.returncode) == (first.stdout, first.returncode), (
        second.stderr, refusals(enforce_log)[:3])
    assert refusals(enforce_log) == [], refusals(enforce_log)[:3]
    rebuilt = run_systrace(["policy", "learn", str(learn_log), "-o", str(tmp / "again.toml"),
                            *extra])
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (tmp / "again.toml").read_text() == policy.read_text()
    return Learned(policy, learn_log, first)


def refused(tmp: Path, policy: Path, command: list[str], cwd: Path | None = None,
            setup: Callable[[], None] = lambda: None) -> list[dict]:
    log = tmp / "outside.jsonl"
    log.unlink(missing_ok=True)
    setup()
    run_systrace(["-p", str(policy), "--log", str(log), "--", *command], cwd=cwd)
    return refusals(log)


# --- the acceptance workloads ----------------------------------------------------------------

def test_coreutils_pipeline_in_sh(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "nums").write_text("".join(f"{i}\n" for i in range(1, 500)))
    script = (f"cat {data}/nums | sort -rn | head -3 | tr 0-9 a-j; ls {data} | wc -l; "
              f"grep -c 7 {data}/nums")
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script])
    assert learned.first.stdout.startswith("ejj\neji\n")
    text = learned.policy.read_text()
    assert '[program."/usr/bin/sort"]' in text and '[program."/usr/bin/cat"]' in text
    tomllib.loads(text)
    # another file, another program: refused
    (data / "secret").write_text("s\n")
    got = refused(tmp_path, learned.policy, ["sh", "-c", script + f"; cat {data}/secret"])
    assert any(r["args"].get("path") == f"{data}/secret" for r in got), got
    got = refused(tmp_path, learned.policy, ["sh", "-c", script + "; id -u"])
    assert any(str(r["args"].get("path", "")).endswith("/id") for r in got), got


PY_SCRIPT = """
import collections, csv, datetime, json, os, re, sys, tempfile
out = sys.argv[1]
with open(os.path.join(out, "result.json"), "w") as f:
    json.dump({"n": collections.Counter("hello").most_common(1), "m": bool(re.match("h", "hi"))}, f)
with tempfile.NamedTemporaryFile("w", suffix=".txt") as t:
    t.write("scratch")
print(sorted(os.listdir(out)))
"""


def test_python_importing_stdlib_and_writing_a_file(tmp_path):
    script = tmp_path / "work.py"
    script.write_text(PY_SCRIPT)
    out = tmp_path / "out"

    def setup() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()

    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script), str(out)], setup=setup)
    assert learned.first.stdout.strip() == "['result.json']"
    assert "generated names" in learned.first.stderr
    other = tmp_path / "other.txt"
    other.write_text("x")
    variant = tmp_path / "variant.py"
    variant.write_text(PY_SCRIPT + f"\nopen({str(other)!r}).read()\n")
    got = refused(tmp_path, learned.policy, [PYTHON3, str(variant), str(out)], setup=setup)
    paths = {r["args"].get("path") for r in got}
    assert str(variant) in paths or str(other) in paths, got


def test_git_init_add_commit(tmp_path):
    repo = tmp_path / "repo"

    def setup() -> None:
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir()

    script = ("git init -q . && echo hi > a.txt && git add a.txt && "
              "git -c user.name=A -c user.email=a@b -c commit.gpgsign=false commit -q -m first"
              " && git log --format=%s")
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=repo)
    assert learned.first.stdout == "first\n"
    text = learned.policy.read_text()
    assert "$CWD/.git/objects/" + "[0-9a-f]" * 2 + "/" + "[0-9a-f]" * 38 in text  # a shape
    got = refused(tmp_path, learned.policy, ["sh", "-c", script + " && git gc -q"],
                  setup=setup, cwd=repo)
    assert got, "git gc (other programs, other files) should need more than was learned"


def test_gcc_compiling_a_small_program(tmp_path):
    source = tmp_path / "hello.c"
    source.write_text('#include <stdio.h>\nint main(void) { printf("%d\\n", 6 * 7); }\n')
    binary = tmp_path / "hello"
    learned = learn_and_enforce(tmp_path, ["gcc", "-O1", "-o", str(binary), str(source)],
                                setup=lambda: binary.unlink(missing_ok=True))
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "42\n"
    # cc1 -> as, random names
    assert re.search(generated("$TMPDIR/cc", 6, ".s"), learned.policy.read_text())
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    got = refused(tmp_path, learned.policy, ["gcc", "-O1", "-o", str(elsewhere / "hello"),
                                             str(source)])
    assert any(str(elsewhere) in json.dumps(r["args"]) for r in got), got


@pytest.fixture
def http_server(tmp_path) -> Iterator[int]:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.txt").write_text("served content\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_curl_fetching_from_a_local_server(tmp_path, http_server):
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    url = f"http://127.0.0.1:{http_server}/index.txt"
    learned = learn_and_enforce(tmp_path, ["curl", "-sS", url])
    assert learned.first.stdout == "served content\n"
    rules = tomllib.loads(learned.policy.read_text())["rule"]
    assert {"calls": ["net-connect"], "address": "127.0.0.1", "port": http_server,
            "action": "permit"} in rules
    other_port = http_server + 1 if http_server < 65535 else http_server - 1
    got = refused(tmp_path, learned.policy, ["curl", "-sS", f"http://127.0.0.1:{other_port}/"])
    assert any(r["syscall"] == "connect" for r in got), got


# --- merge, backup, the policy directory -----------------------------------------------------

def test_merge_of_two_runs_permits_both(tmp_path):
    files = {}
    for name in ("a", "b", "c"):
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text(f"{name}\n")
    policy = tmp_path / "p.toml"
    run = lambda *args: run_systrace([*args])  # noqa: E731
    first = run("-A", "-o", str(policy), "--", "cat", str(files["a"]))
    assert first.returncode == 0
    assert run("-p", str(policy), "--", "cat", str(files["b"])).returncode != 0
    second = run("-A", "-o", str(policy), "--merge", "--", "cat", str(files["b"]))
    assert second.returncode == 0 and "merged into" in second.stderr
    text = policy.read_text()
    tomllib.loads(text)
    for name in ("a", "b"):
        r = run("-p", str(policy), "--", "cat", str(files[name]))
        assert (r.returncode, r.stdout) == (0, f"{name}\n"), r.stderr
    assert run("-p", str(policy), "--", "cat", str(files["c"])).returncode != 0
    # without --merge the file is replaced, and the previous one kept
    third = run("-A", "-o", str(policy), "--", "cat", str(files["c"]))
    assert third.returncode == 0
    backups = sorted(tmp_path.glob("p.toml.bak*"))
    assert backups and any(b.read_text() == text for b in backups)
    assert run("-p", str(policy), "--", "cat", str(files["a"])).returncode != 0


def test_learning_without_o_writes_to_the_policy_directory(tmp_path):
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    target = tmp_path / "t.txt"
    target.write_text("text\n")
    r = run_systrace(["-A", "--", "cat", str(target)], env=env)
    assert r.returncode == 0, r.stderr
    expected = config / "systrace" / "_usr_bin_cat.toml"
    assert expected.exists()
    assert str(expected) in r.stderr and "systrace cat" in r.stderr
    r = run_systrace(["--", "cat", str(target)], env=env)
    assert (r.returncode, r.stdout) == (0, "text\n"), r.stderr


def test_the_exit_status_is_the_commands_and_the_policy_is_still_written(tmp_path):
    policy = tmp_path / "p.toml"
    r = run_systrace(["-A", "-o", str(policy), "--", "sh", "-c", "exit 3"])
    assert r.returncode == 3
    assert policy.exists()


# --- what learning does not learn ------------------------------------------------------------

UNSAFE_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char params[120] = {0};
    long fd = syscall(425 /* io_uring_setup */, 4, params);
    printf("io_uring_setup -> %s\n", fd < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}
"""


def test_unsafe_calls_are_refused_while_learning_and_not_learned(tmp_path):
    source = tmp_path / "uring.c"
    source.write_text(UNSAFE_C)
    binary = tmp_path / "uring"
    built = subprocess.run(["gcc", "-o", str(binary), str(source)], capture_output=True,
                           text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build: {built.stderr}")
    policy = tmp_path / "p.toml"
    r = run_systrace(["-A", "-o", str(policy), "--", str(binary)])
    assert r.stdout == "io_uring_setup -> EPERM\n", r.stderr
    assert "io_uring_setup" in r.stderr and "unsafe" in r.stderr
    assert "io_uring" not in policy.read_text()


def test_default_ask_and_no_aliases(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("x\n")
    policy = tmp_path / "p.toml"
    r = run_systrace(["-A", "-u", "--default", "ask", "-o", str(policy), "--", "cat",
                      str(target)])
    assert r.returncode == 0, r.stderr
    data = tomllib.loads(policy.read_text())
    assert data["default"] == "ask"
    words = {c for rule in data["rule"] for c in rule["calls"]}
    assert "openat" in words and not words & {"fsread", "stdio", "exec"}, words
    r = run_systrace(["-a", "-p", str(policy), "--", "cat", str(target)])
    assert (r.returncode, r.stdout) == (0, "x\n"), r.stderr


def test_an_unprivileged_user_can_learn(tmp_path, world_tmp):
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to switch to an unprivileged user")
    target = world_tmp / "t.txt"
    target.write_text("mine\n")
    policy = world_tmp / "p.toml"
    drop = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"]
    r = run_systrace(["-A", "-o", str(policy), "--", "cat", str(target)], prefix=drop,
                     cwd=world_tmp, env={"HOME": str(world_tmp)})
    assert r.returncode == 0, r.stderr
    assert policy.stat().st_uid == 1000
    r = run_systrace(["-p", str(policy), "--", "cat", str(target)], prefix=drop,
                     cwd=world_tmp, env={"HOME": str(world_tmp)})
    assert (r.returncode, r.stdout) == (0, "mine\n"), r.stderr


# --- policy check ----------------------------------------------------------------------------

def test_policy_check_counts_hits_and_finds_unused_rules(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("x\n")
    policy = tmp_path / "p.toml"
    r = run_systrace(["-A", "-o", str(policy), "--", "cat", str(target)])
    assert r.returncode == 0
    with policy.open("a") as f:  # a rule nothing will use
        f.write('\n[[rule]]\ncalls = ["fswrite"]\npath = "/nowhere/**"\naction = "permit"\n')
    log = tmp_path / "enf.jsonl"
    r = run_systrace(["-p", str(policy), "--log", str(log), "--", "cat", str(target)])
    assert r.returncode == 0, r.stderr
    check = run_systrace(["policy", "check", str(policy), str(log), "--json"])
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    unused = [(u["table"], u["index"]) for u in report["unused"]]
    last = len(tomllib.loads(policy.read_text())["rule"])
    assert ("main", last) in unused
    hits = {r["index"]: r["hits"] for r in report["rules"]}
    assert sum(hits.values()) > 0 and report["refused"] == []
    text = run_systrace(["policy", "check", str(policy), str(log)])
    assert "unused rules (" in text.stdout and "/nowhere/**" in text.stdout


# --- bad input: exit 2, one message, nothing run ---------------------------------------------

def test_bad_input_is_exit_2_with_a_message_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    touch = ["touch", str(marker)]
    cases = [
        ["-A", "-o", str(tmp_path / "no" / "such" / "dir" / "p.toml"), "--", *touch],
        ["-A", "-p", str(tmp_path / "p.toml"), "--", *touch],
        ["-A", "-o", str(tmp_path)],
    ]
    broken = tmp_path / "broken.toml"
    broken.write_text('default = "never"\n[[rule]]\ncalls = ["fsreed"]\naction = "permit"\n')
    cases.append(["-A", "--merge", "-o", str(broken), "--", *touch])
    for args in cases:
        r = run_systrace(args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("systrace: ") and "Traceback" not in r.stderr, r.stderr
        assert not marker.exists(), args
    r = run_systrace(["-A", "--merge", "-o", str(broken), "--", *touch])
    assert f"{broken}:3" in r.stderr and "calls" in r.stderr


def test_policy_subcommands_reject_bad_input(tmp_path):
    bad_log = tmp_path / "bad.jsonl"
    bad_log.write_text('{"event": "start"}\nnot json\n{"event": "exit"}\n')
    good_policy = tmp_path / "p.toml"
    good_policy.write_text('default = "never"\n')
    cases = [
        (["policy", "learn", str(tmp_path / "missing.jsonl")], "missing.jsonl"),
        (["policy", "learn", str(bad_log)], f"{bad_log}:2"),
        (["policy", "check", str(tmp_path / "nope.toml"), str(bad_log)], "nope.toml"),
        (["policy", "check", str(good_policy), str(bad_log)], f"{bad_log}:2"),
        (["policy"], "systrace"),
        (["policy", "frobnicate"], "invalid choice"),
    ]
    for args, words in cases:
        r = run_systrace(args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"event": "start", "argv": ["x"]}\n')
    r = run_systrace(["policy", "learn", str(empty)])
    assert r.returncode == 2 and "no calls to learn from" in r.stderr


EXCHANGE_SCRIPT = r"""
import array, ctypes, fcntl, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = (os.fsencode(p) for p in sys.argv[1:3])
if libc.syscall(316, -100, a, -100, b, 2) != 0:  # renameat2(RENAME_EXCHANGE)
    raise OSError(ctypes.get_errno(), "renameat2")
fd = os.open(sys.argv[1], os.O_RDONLY)
flags = array.array("l", [0])
fcntl.ioctl(fd, 0x80086601, flags)  # FS_IOC_GETFLAGS
fcntl.ioctl(fd, 0x40086602, flags)  # FS_IOC_SETFLAGS, the same flags: a change all the same
print("exchanged, flags", flags[0])
"""


def test_an_exchange_and_a_setflags_are_learned_as_what_they_are(tmp_path):
    """The learner records what decides a call's classes (renameat2's flags, ioctl's
    request): the exchange's new path is learned as read and written, so the learned policy
    runs the program again (a log rebuilt into the same policy carries it too)."""
    script = tmp_path / "exchange.py"
    script.write_text(EXCHANGE_SCRIPT)
    work = tmp_path / "work"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / "a").write_text("a\n")
        (work / "b").write_text("b\n")

    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script), str(work / "a"),
                                           str(work / "b")], setup=setup)
    assert learned.first.stdout.startswith("exchanged"), learned.first.stderr
    observed = [r["observation"] for r in records(learned.learn_log)
                if r.get("observation", {}).get("syscall") in ("renameat2", "ioctl")
                and "selector" in r["observation"]]
    assert {o["selector"] for o in observed} >= {2, 0x40086602}, observed


def test_an_ioctl_that_changes_no_file_is_learned_once(tmp_path):
    """ioctl is in an alias only for the requests that change a file: any other (isatty's
    TCGETS, FIONREAD...) is observed by name, once, whatever descriptor it was made on --
    not once per pipe."""
    script = tmp_path / "pipes.py"
    script.write_text("import array, fcntl, os, termios\n"
                      "for _ in range(30):\n"
                      "    r, w = os.pipe()\n"
                      "    fcntl.ioctl(r, termios.FIONREAD, array.array('i', [0]))\n"
                      "print('done')\n")
    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script)])
    ioctls = [r for r in records(learned.learn_log)
              if r.get("observation", {}).get("syscall") == "ioctl"]
    assert len(ioctls) == 1, ioctls
    assert "paths" not in ioctls[0]["observation"], ioctls


MKSTEMP_PROBE = """
import os, sys
path = os.path.join(sys.argv[1], sys.argv[2])
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, int(sys.argv[3], 8))
os.close(fd)
os.unlink(path)
print("probed")
"""


@pytest.mark.parametrize(("mode", "generalized"), [("600", True), ("644", False)])
def test_a_word_like_mkstemp_name_is_learned_as_generated(tmp_path, mode, generalized):
    """git init's ``tXXXXXX`` probe spells a lowercase word-like run (``tgdavrb``) about once
    in 30 runs: learned literally, the next run's name was refused (test_git_init_add_commit
    flaked so).  A file made as mkstemp makes one (read-write, O_EXCL, mode 0600) and removed
    is learned as ``t*``; the same life with an ordinary mode keeps the word."""
    probe = tmp_path / "probe.py"
    probe.write_text(MKSTEMP_PROBE)
    work = tmp_path / "work"
    work.mkdir()
    learned = learn_and_enforce(tmp_path, [PYTHON3, str(probe), str(work), "tgdavrb", mode])
    assert learned.first.stdout == "probed\n"
    text = learned.policy.read_text()
    assert bool(re.search(generated("/work/t", 6) + '"', text)) is generalized, text
    got = refused(tmp_path, learned.policy, [PYTHON3, str(probe), str(work), "tNlwsek", mode])
    assert bool(got) is not generalized, got


def test_bytecode_written_beside_its_module_is_learned_for_the_next_run(tmp_path):
    """Python writes NAME.cpython-311.pyc.ID and renames it; a module whose name holds a run
    of a random shape (py37compat, __pip-runner__: found by `python3 -m venv` under its learned
    policy, 68 writes refused) had that run taken for the generated part and the id kept."""
    src = tmp_path / "src"

    def setup() -> None:
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        for module in ("py37compat", "__pip-runner__", "plain"):
            (src / f"{module}.py").write_text("X = 1\n")

    learned = learn_and_enforce(tmp_path, [PYTHON3, "-m", "compileall", "-q", str(src)],
                                setup=setup)
    assert learned.first.returncode == 0
    assert "py37compat.cpython-" in learned.policy.read_text()


MOVE_SCRIPT = """
import os, sys, tempfile
made = tempfile.mkdtemp(prefix="target", dir=sys.argv[1])
with open(os.path.join(made, "CACHEDIR.TAG"), "w") as tag:
    tag.write("tag")
os.rename(made, os.path.join(sys.argv[1], "target"))
print(sorted(os.listdir(os.path.join(sys.argv[1], "target"))))
"""


def test_a_directory_made_filled_and_renamed_is_learned_for_the_next_run(tmp_path):
    """cargo's first build makes targetXXXXXX, fills it and renames it to target; moving a
    directory is decided for everything inside it, and the learned rules named the directory
    only: the next run's rename was refused (cargo exited 101)."""
    script = tmp_path / "move.py"
    script.write_text(MOVE_SCRIPT)
    out = tmp_path / "out"

    def setup() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()

    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script), str(out)], setup=setup)
    assert learned.first.stdout == "['CACHEDIR.TAG']\n"
    assert re.search(generated("/out/target", 8, "/**"), learned.policy.read_text())


MKDTEMP_SCRIPT = """
import os, sys, tempfile
made = tempfile.mkdtemp(prefix="work", dir=sys.argv[1])
open(os.path.join(made, "part"), "w").close()
os.unlink(os.path.join(made, "part"))
os.rmdir(made)
print("done")
"""


def test_a_directory_made_as_mkdtemp_makes_one_is_learned_as_generated(tmp_path):
    """mkdtemp(3) and Python's tempfile make their directories with mode 0700: such a
    directory, removed, has a random end whatever its shape (``workq0x_d2ab`` after a prefix
    of 4 letters was kept literally: the next run's directory was refused)."""
    script = tmp_path / "mkdtemp.py"
    script.write_text(MKDTEMP_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script), str(out)])
    assert learned.first.stdout == "done\n"
    assert re.search(generated("/out/work", 8), learned.policy.read_text())


def test_names_with_the_runs_pid_in_them_run_again(tmp_path):
    """configure names its scratch files with its shell's pid, wherever it fits:
    ``conf$$.file``, ``conf$$subs.sh``, ``conf$$.dir/conf$$.file``.  They were learned with
    this run's pid literally (no separator before the number, so no shape said "a number
    here") and the next run's, another pid, was refused: configure stopped ("could not make
    ./config.status").  A number of a made name that is one of the run's pids is one."""
    work = tmp_path / "w"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

    script = ("echo x > conf$$subs.sh && mkdir conf$$.dir && echo y > conf$$.dir/conf$$.file"
              " && cat conf$$subs.sh conf$$.dir/conf$$.file && rm -rf conf$$subs.sh conf$$.dir")
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=work)
    assert learned.first.stdout == "x\ny\n"
    text = learned.policy.read_text()
    # (a pid's shape, 1 to 7 digits, not "[1-9]*": learn37)
    assert "$CWD/conf" + PID_SHAPE + "subs.sh" in text and "$CWD/conf" + PID_SHAPE + ".dir" in \
        text, text
    paths = [line for line in text.splitlines() if line.startswith("path = ")]
    assert not [p for p in paths if re.search(r"conf[0-9]", p)], paths  # (no pid kept)


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_patch_runs_again_under_its_learned_policy(tmp_path):
    """GNU patch writes the patched file as ``NAME.oXXXXXX`` (O_EXCL) and renames it onto
    NAME: the random run comes after a separator and a letter, not right after the name it
    is renamed to, and was learned literally -- the next run's refused (exit 2)."""
    work = tmp_path / "w"
    old = "".join(f"{i}\n" for i in range(1, 200))
    new = old.replace("\n5\n", "\nfive\n")
    (tmp_path / "old.txt").write_text(old)
    (tmp_path / "new.txt").write_text(new)
    patch_text = subprocess.run(["diff", "-u", "old.txt", "new.txt"], cwd=tmp_path,
                                capture_output=True, text=True, check=False).stdout
    assert patch_text, "diff made no patch"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / "a.txt").write_text(old)
        (work / "p.diff").write_text(patch_text)

    learned = learn_and_enforce(tmp_path, ["sh", "-c", "patch -s a.txt p.diff && grep -c five"
                                           " a.txt"], setup=setup, cwd=work)
    assert learned.first.stdout == "1\n"
    assert re.search(generated("$CWD/a.txt.o", 6), learned.policy.read_text())


def test_git_repack_and_clone_run_again_under_their_learned_policy(tmp_path):
    """git repack writes tmp_pack_XXXXXX, renames it to .tmp-PID-pack-HASH.pack and that to
    pack-HASH.pack: the middle name kept this run's pid literally (a kept name's number is a
    version as often), and the next run's rename was refused -- the clone then failed (128).
    A name a file is renamed to and away from is a step, with a temporary file's life."""
    work = tmp_path / "w"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

    script = ("git init -q a && cd a && for i in 1 2 3; do echo $i > f$i; git add f$i; "
              "git -c user.name=a -c user.email=a@b commit -qm c$i; done; git repack -adq; "
              "cd .. && git clone -q a b && cd b && git log --oneline | wc -l")
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=work)
    assert learned.first.stdout.strip() == "3"
    # (the pid's shape, the hash's: learn37)
    assert ".tmp-" + PID_SHAPE + "-pack-" + HEX_DIGIT * 40 in learned.policy.read_text()


def test_a_shallow_clone_keeps_its_pack_again_under_its_learned_policy(tmp_path):
    """``git clone --depth 1`` keeps its pack while it is fetched: ``pack-HASH.keep``, made
    read-write, O_EXCL, 0600 (mkstemp's way) and removed.  mkstemp's 6 were taken from the
    hash's last digits (``pack-8201...dcc3*.keep``): the next run's pack, of other content,
    had another hash, its keep file was refused and the clone failed (128)."""
    work = tmp_path / "w"
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(tmp_path)}
    runs = iter(range(2))

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        (work / "src").mkdir(parents=True)
        (work / "src" / "f").write_text(f"content {next(runs)}\n")  # (another pack each run)
        for args in (["init", "-q"], ["add", "f"], ["commit", "-qm", "c"]):
            subprocess.run(["git", *args], cwd=work / "src", env=env, check=True, timeout=60)
        subprocess.run(["git", "clone", "-q", "--bare", "src", "src.git"], cwd=work, env=env,
                       check=True, timeout=60)

    learned = learn_and_enforce(tmp_path, ["sh", "-c", "git clone -q --depth 1 file://$PWD/"
                                           "src.git c && cat c/f | wc -l"], setup=setup, cwd=work)
    assert learned.first.stdout.strip() == "1"
    text = learned.policy.read_text()
    assert "/objects/pack/pack-" + HEX_DIGIT * 40 + ".keep" in text, text  # (its shape)


def test_git_writes_an_older_objects_content_again_under_its_learned_policy(tmp_path):
    """A learned object shape's write rule is fresh (gap #31): the next run writes its own
    objects and no older one.  git freshens an object it would write again by utimensat on
    the older file; refused (the learning run freshened nothing), git writes the object
    anew -- a temporary file linked to its name, EEXIST, which it takes as written -- and
    the commit is whole: the one refusal is that utimensat."""
    repo = tmp_path / "r"
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **env}, check=True,
                              capture_output=True, text=True, timeout=60).stdout

    repo.mkdir()
    git("init", "-q")
    (repo / "y").write_text("older\n")
    git("add", "y")
    git("commit", "-qm", "base")
    (repo / "x").write_text("learned\n")
    policy, log = tmp_path / "p.toml", tmp_path / "enf.jsonl"
    command = ["sh", "-c", "git add x && git commit -qm again"]
    first = run_systrace(["-A", "-o", str(policy), "--", *command], cwd=repo, env=env)
    assert first.returncode == 0, first.stderr
    older = "$CWD/.git/objects/" + "[0-9a-f]" * 2 + "/" + "[0-9a-f]" * 38
    assert f'path = "{older}"\nfresh = true' in policy.read_text()
    (repo / "x").write_text("older\n")  # the blob of y: an object older than both runs
    second = run_systrace(["-p", str(policy), "--log", str(log), "--", *command], cwd=repo,
                          env=env)
    assert second.returncode == 0, second.stderr
    assert [(r["syscall"], r["args"]["path"].rpartition("/objects/")[0])
            for r in refusals(log)] == [("utimensat", str(repo / ".git"))], refusals(log)
    git("fsck", "--strict")
    assert git("cat-file", "-p", "HEAD:x") == "older\n"
    assert git("log", "--format=%s") == "again\nagain\nbase\n"


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("make") is None,
                    reason="cmake and make are not installed")
def test_a_cmake_configure_and_build_run_again_under_its_learned_policy(tmp_path):
    """cmake's try-compile scratch (TryCompile-XXXXXX, cmTC_xxxxx and what follows them) and
    the commands make hands sh -c naming them: learned literally, the next configure's were
    refused (4 refusals, exit 1)."""
    work = tmp_path / "w"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        (work / "s").mkdir(parents=True)
        (work / "s" / "CMakeLists.txt").write_text(
            "cmake_minimum_required(VERSION 3.10)\nproject(h C)\nadd_executable(h h.c)\n")
        (work / "s" / "h.c").write_text('#include <stdio.h>\nint main(void) { puts("built"); }\n')

    script = "cmake -S s -B b >/dev/null && cmake --build b >/dev/null && ./b/h"
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=work)
    assert learned.first.stdout == "built\n"
    assert re.search(generated("TryCompile-", 6), learned.policy.read_text())


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_packing_a_package_runs_again_under_its_learned_policy(tmp_path):
    """npm names its logs by the time (~/.npm/_logs/2026-12-04T20_05_29_165Z-debug-0.log),
    its cache's temporary files by a UUID, and node reads /proc/stat on some runs only:
    each was refused on the next run (exit 255)."""
    work = tmp_path / "w"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()

    script = "npm init -y >/dev/null && npm pack --silent"
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=work)
    assert learned.first.stdout.strip().endswith(".tgz")
    assert "Z-debug-0.log" in learned.policy.read_text()


MAKEDIRS_SCRIPT = """
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)   # every directory of the path: EEXIST
print(open(os.path.join(sys.argv[1], "input.txt")).read(), end="")
"""


def test_a_directory_that_is_there_already_is_not_one_the_run_made(tmp_path):
    """mkdir -p of a path that exists (cmake makes its build tree's parents so) fails with
    EEXIST: learned as made -- and then as generated names (build-4242 ends in a number),
    fresh, their files older than the run -- the next run's read of a file in it was
    refused."""
    data = tmp_path / "build-4242"
    data.mkdir()
    (data / "input.txt").write_text("kept\n")
    script = tmp_path / "makedirs.py"
    script.write_text(MAKEDIRS_SCRIPT)
    learned = learn_and_enforce(tmp_path, [PYTHON3, str(script), str(data)])
    assert learned.first.stdout == "kept\n"
    assert "build-*" not in learned.policy.read_text()


def test_a_name_made_by_a_call_that_does_not_follow_it_is_learned_as_made(tmp_path):
    """A directory made as mkdtemp makes it (mkdir, 0700) and a file opened
    O_CREAT|O_NOFOLLOW, each of a new random name every run, spelled plainly, and removed:
    the learner asked the resolver's "exists", which for a last name it does not follow is
    true without looking, so neither was learned as made -- both written exactly, and the
    next run's refused (redteam16)."""
    work = tmp_path / "w"
    work.mkdir()
    program = (
        "import os, random, string\n"
        "def run(n): return 'k' + ''.join(random.choice(string.ascii_letters)"
        " for _ in range(n)) + '7'\n"
        "scratch = 'TryCompile-' + run(4)\n"
        "os.mkdir(scratch, 0o700)\n"
        "os.rmdir(scratch)\n"
        "name = 'out-' + run(4) + '.part'\n"
        "os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644))\n"
        "os.unlink(name)\n"
        "print('made')\n")
    learned = learn_and_enforce(tmp_path, ["python3", "-c", program], cwd=work)
    assert learned.first.stdout == "made\n", learned.first.stderr
    text = learned.policy.read_text()
    # (one rule for the directory)
    assert re.search(re.escape("$CWD/{") + generated("TryCompile-", 6, ",") +
                     generated("out-", 6, ".part}"), text), text


def test_a_name_that_runs_later_is_learned_exactly_but_in_a_directory_the_run_made(tmp_path):
    """Gap #32: a makefile written into a scratch directory the run made (mkdtemp's name:
    cmake's try-compile does this) is learned as the directory's glob, fresh -- the next
    run's scratch directory has another name, and its Makefile is made again (no refusal).
    But a temporary file made in the repository's hook directory, which the run did not
    make, is learned exactly: the next run's own name there is refused, and with it any
    name of the program's choosing (``pre-commit``, which git would run)."""
    work = tmp_path / "w"

    def setup() -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        subprocess.run(["git", "init", "-q", str(work)], check=True)

    script = ("d=$(mktemp -d -p .) && printf 'all:\\n\\t@echo made\\n' > $d/Makefile"
              " && make -s -C $d && rm -r $d")
    learned = learn_and_enforce(tmp_path, ["sh", "-c", script], setup=setup, cwd=work)
    assert learned.first.stdout == "made\n"
    text = learned.policy.read_text()
    assert re.search('path = "' + generated("$CWD/tmp.", 10, "/Makefile") + '"\nfresh = true',
                     text), text

    hook = "t=$(mktemp .git/hooks/tmp.XXXXXXXXXX) && rm $t && echo probed"
    policy = tmp_path / "hook.toml"
    setup()
    first = run_systrace(["-A", "-o", str(policy), "--", "sh", "-c", hook], cwd=work)
    assert first.stdout == "probed\n", first.stderr
    text = policy.read_text()
    assert "$CWD/.git/hooks/tmp." in text and ".git/hooks/*" not in text and \
        ".git/hooks/tmp.*" not in text, text
    got = refused(tmp_path, policy, ["sh", "-c", hook], setup=setup, cwd=work)
    assert [r["args"]["path"].rpartition("/")[0] for r in got] == \
        [str(work / ".git" / "hooks")], got
