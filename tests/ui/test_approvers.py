"""Approvers (--ask-via): asks answered over JSON lines by a program instead of a person at the
terminal, with real traced programs.

The runs have no controlling terminal (a new session), so nothing here can reach a prompt:
every answer that takes effect came through the approver.  ``exec:`` runs use the scripted
approver shipped in the package (python -m systrace_py.approver); ``unix:`` runs are answered
by the test itself, which connects to the socket, reads each message (checked against the
protocol's JSON Schema) and answers -- and can act while the traced program waits (edit the
policy file, start a second run)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import PYTHON, results, systrace_env
from systrace_py.policy.files import BACKUPS_KEPT, load_policy
from systrace_py.policy.model import Action, CallFacts, PathArg

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "systrace_py" /
                     "approver.schema.json").read_text())
#: A hang guard for runs and reads (a test that reaches it has failed: nothing waits it out).
GUARD = 60


def validate(message: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(message, SCHEMA)
    return message


def write_policy(tmp: Path, extra: str = "") -> tuple[Path, Path]:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    for name in ("a.txt", "b.txt", "c.txt"):
        (data / name).write_text(name + "\n")
    policy = tmp / "p.toml"
    policy.write_text(textwrap.dedent(f"""\
        # the test's policy: this comment must survive every save
        default = "permit"   # everything else runs
        {extra}
        # ask about the data
        [[rule]]
        calls = ["fsread"]
        path = "{data}/**"
        action = "ask"
        errno = "EACCES"
        """))
    return policy, data


def systrace(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """systrace without a controlling terminal (a new session): only approvers can answer."""
    return subprocess.Popen([PYTHON, "-m", "systrace_py", *args], cwd=cwd, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=systrace_env())


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=GUARD)
    return proc.returncode, out, err


def scripted(tmp: Path, rules: str) -> str:
    """--ask-via for the scripted approver answering from ``rules``."""
    path = tmp / "answers.toml"
    path.write_text(textwrap.dedent(rules))
    return "exec:" + shlex.join([PYTHON, "-m", "systrace_py.approver", "--rules", str(path)])


class Approver:
    """The test as a unix: approver."""

    def __init__(self, path: Path) -> None:
        deadline = time.monotonic() + GUARD
        while not path.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never appeared")
            time.sleep(0.05)
        self.mode = stat.S_IMODE(path.stat().st_mode)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(GUARD)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def read(self) -> dict[str, Any]:
        line = self.reader.readline()
        assert line, "systrace closed the connection"
        return validate(json.loads(line))

    def next(self, kind: str) -> dict[str, Any]:
        while True:
            message = self.read()
            if message["type"] == kind:
                return message

    def send(self, message: dict[str, Any] | bytes) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.sock.sendall(data + b"\n")

    def answer(self, ask: dict[str, Any], answer: str, **fields: Any) -> None:
        self.send(validate({"id": ask["id"], "answer": answer, **fields}))

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def rules_of(policy: Path, table: str = "main") -> list:
    loaded = load_policy(policy)
    return (loaded.main if table == "main" else loaded.programs[table]).rules


def reads(path: Path) -> CallFacts:
    return CallFacts("openat", (PathArg("path", str(path)),), open_flags=os.O_RDONLY)


# --- exec: the scripted approver --------------------------------------------------------------


def test_exec_approver_answers_take_effect(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    via = scripted(tmp_path, """\
        [[answer]]
        path = "*/a.txt"
        answer = "permit-now"

        [[answer]]
        path = "*/b.txt"
        answer = "deny-now"
        errno = "ENOENT"
        """)
    proc = systrace(["-p", str(policy), "--ask-via", via, "--", str(probe),
                     f"open:{data}/a.txt", f"open:{data}/b.txt", f"open:{data}/c.txt"],
                    tmp_path)
    code, out, err = finish(proc)
    assert code == 0, err
    assert results(out) == {f"open {data}/a.txt": "ok", f"open {data}/b.txt": "ENOENT",
                            f"open {data}/c.txt": "EACCES"}  # no rule: deny-now, the rule's errno
    assert "this call only" in err and "no terminal" not in err
    assert not (tmp_path / "p.toml.bak").exists()  # nothing remembered, nothing saved


def test_remembered_answers_to_a_new_program_table_are_all_saved(tmp_path, probe):
    """Two answers for a program the policy has no table for: the first makes its table (a
    copy of main), the second goes into it; both are saved, the file's comments kept --
    each just before the ``ask`` that asked it, in the order answered (close 38)."""
    policy, data = write_policy(tmp_path)
    before = policy.read_text()
    via = scripted(tmp_path, """\
        [[answer]]
        program = "*/probe"
        answer = "permit"
        scope = "file"
        """)
    script = f"{probe} open:{data}/a.txt; {probe} open:{data}/b.txt open:{data}/a.txt"
    code, out, err = finish(systrace(["-p", str(policy), "--ask-via", via, "--", "/bin/sh",
                                      "-c", script], tmp_path))
    assert code == 0, err
    assert out.count(" -> ok\n") == 3 and " -> E" not in out
    assert err.count("remembered for") == 2  # the third call: decided by the first answer
    assert "saved 2 remembered answers" in err
    text = policy.read_text()
    for line in before.splitlines():
        assert line in text  # comments, layout and rules as written
    table = load_policy(policy).programs[str(probe)]
    assert [(r.action, r.path.pattern) for r in table.rules[:2]] == [
        (Action.PERMIT, f"{data}/a.txt"), (Action.PERMIT, f"{data}/b.txt")]
    assert table.rules[2].action is Action.ASK  # the copy of main's rules follows
    assert load_policy(policy).main.decide(reads(data / "a.txt")).action is Action.ASK
    assert (tmp_path / "p.toml.bak").read_text() == before


def test_the_scripted_approver_with_a_broken_rules_file_refuses(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    via = scripted(tmp_path, "[[answer]]\nanswer = \"perhaps\"\n")
    code, out, err = finish(systrace(["-p", str(policy), "--ask-via", via, "--", str(probe),
                                      f"open:{data}/a.txt"], tmp_path))
    assert code == 0
    assert results(out) == {f"open {data}/a.txt": "EACCES"}
    assert "approver: " in err and "unknown answer 'perhaps'" in err
    # lost, whichever end found it first: its output closed, or its input (a broken pipe)
    assert "closed its end" in err or "cannot be written to (Broken pipe)" in err, err


# --- an approver that fails: refused, never permitted, never a hang ---------------------------


@pytest.mark.parametrize(("command", "says"), [
    ("true", "the approver exec:true "),       # dies at once (closed, or cannot be written to)
    ("sh -c 'read hello; echo garbage; sleep 30'", "not a protocol message"),  # garbage
    ("sh -c 'read hello; read ask; echo \"{\\\"id\\\": 999, \\\"answer\\\": "
     "\\\"permit-now\\\"}\"; sleep 30'", "never asked"),            # an unknown id
    ("sh -c 'read hello; read ask; echo \"[1, 2]\"; sleep 30'", "not a JSON object"),
    # nested deeper than json decodes: RecursionError, which killed the reading thread and
    # left the ask waiting for good (review 20)
    ("python3 -c 'import sys; sys.stdin.readline(); sys.stdin.readline(); "
     "print(\"[\" * 100000, flush=True); import time; time.sleep(30)'", "not JSON"),
    # a number longer than Python converts (ValueError, no JSONDecodeError: the same)
    ("python3 -c 'import sys; sys.stdin.readline(); sys.stdin.readline(); "
     "print(\"[\" + \"1\" * 5000 + \"]\", flush=True); import time; time.sleep(30)'",
     "not JSON"),
])
def test_a_failing_approver_neither_hangs_nor_permits(tmp_path, probe, command, says):
    policy, data = write_policy(tmp_path)
    code, out, err = finish(systrace(["-p", str(policy), "--ask-via", f"exec:{command}", "--",
                                      str(probe), f"open:{data}/a.txt", f"open:{data}/b.txt",
                                      "print:done"], tmp_path))
    assert code == 0, err
    assert results(out) == {f"open {data}/a.txt": "EACCES", f"open {data}/b.txt": "EACCES"}
    assert "done" in out
    assert says in err and "every later ask is refused" in err


def test_an_approver_that_does_not_answer_meets_the_ask_timeout(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    code, out, err = finish(systrace(["-p", str(policy), "--ask-timeout", "1", "--ask-via",
                                      "exec:sleep 30", "--", str(probe),
                                      f"open:{data}/a.txt"], tmp_path))
    assert code == 0
    assert results(out) == {f"open {data}/a.txt": "EACCES"}
    assert "no answer within 1s" in err


def test_an_approver_that_cannot_start_is_a_usage_error(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    code, out, err = finish(systrace(["-p", str(policy), "--ask-via",
                                      "exec:/nonexistent/approver", "--", str(probe),
                                      f"open:{data}/a.txt"], tmp_path))
    assert code == 2 and out == ""
    assert "/nonexistent/approver: No such file or directory" in err


# --- unix: the test is the approver ---------------------------------------------------------


def test_unix_approver_sees_what_the_prompt_shows_and_its_answers_take_effect(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", "/bin/sh", "-c",
                     f"exec {probe} open:{data}/a.txt open:{data}/b.txt stat:{data}/c.txt "
                     f"open:{data}/c.txt"], tmp_path)
    approver = Approver(sock)
    try:
        assert approver.mode == 0o600
        hello = approver.next("hello")
        assert hello["protocol"] == SCHEMA["version"] and hello["policy"] == str(policy)
        assert hello["command"][0] == "/bin/sh"
        ask = approver.next("ask")
        assert ask["program"] == str(probe) and ask["syscall"] == "openat"
        assert ask["argv"] == [str(probe), f"open:{data}/a.txt", f"open:{data}/b.txt",
                               f"stat:{data}/c.txt", f"open:{data}/c.txt"]
        assert ask["path"] == f"{data}/a.txt" and ask["args"]["flags"] == "O_RDONLY"
        assert ask["rule"]["file"] == str(policy) and ask["rule"]["line"] == 5
        assert ask["rule"]["text"] == f"fsread path {data}/** -> ask"
        assert ask["table"] == "main" and ask["errno"] == "EACCES"
        assert ask["calls"] == ["fsread"]
        assert [s["key"] for s in ask["scopes"]][:3] == ["file", "ext", "dir"]
        assert ask["scopes"][-1]["key"] == "burst"
        assert "detach" not in ask["answers"] and "abort" in ask["answers"]
        approver.answer(ask, "permit-now")
        ask = approver.next("ask")
        approver.answer(ask, "deny-now", errno="enoent")
        ask = approver.next("ask")
        assert ask["syscall"] == "newfstatat"
        approver.answer(ask, "deny", scope="file", errno=13)  # remembered: open asks no more
        code, out, err = finish(proc)
    finally:
        approver.close()
    assert code == 0, err
    assert results(out) == {f"open {data}/a.txt": "ok", f"open {data}/b.txt": "ENOENT",
                            f"stat {data}/c.txt": "EACCES", f"open {data}/c.txt": "EACCES"}
    assert not sock.exists()  # removed at exit
    first = rules_of(policy, str(probe))[0]  # probe is not the command: a table of its own
    assert (first.action, first.path.pattern, first.errno) == (Action.NEVER, f"{data}/c.txt",
                                                               13)


def test_an_answer_that_does_not_fit_refuses_that_call_only(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", str(probe),
                     f"open:{data}/a.txt", f"open:{data}/b.txt"], tmp_path)
    approver = Approver(sock)
    try:
        ask = approver.next("ask")
        approver.answer(ask, "permit", scope="/etc/**")  # does not match the path
        error = approver.next("error")
        assert error["id"] == ask["id"] and "does not match" in error["message"]
        approver.answer(approver.next("ask"), "detach")  # the policy has no detach = true
        approver.next("error")
        code, out, err = finish(proc)
    finally:
        approver.close()
    assert code == 0
    assert results(out) == {f"open {data}/a.txt": "EACCES", f"open {data}/b.txt": "EACCES"}
    assert "cannot be used" in err


def test_abort_from_an_approver_ends_the_run(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", "/bin/sh", "-c",
                     f"{probe} open:{data}/a.txt; echo shell-went-on"], tmp_path)
    approver = Approver(sock)
    try:
        approver.answer(approver.next("ask"), "abort")
        code, out, err = finish(proc)
    finally:
        approver.close()
    assert code == 128 + 9
    assert "shell-went-on" not in out
    assert "aborted" in err


def test_process_events_when_the_approver_asks_for_them(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", "/bin/sh", "-c",
                     f"{probe} open:{data}/a.txt; {probe} print:two"], tmp_path)
    approver = Approver(sock)
    seen = []
    try:
        approver.send({"type": "events", "process": True})  # read before the answer below
        approver.answer(approver.next("ask"), "permit-now")
        while line := approver.reader.readline():  # until systrace ends
            message = validate(json.loads(line))
            if message["type"] == "process":
                seen.append((message["event"], message["program"]))
        code, out, err = finish(proc)
    finally:
        approver.close()
    assert code == 0, err
    assert "two" in out
    # the second probe, started after the answer: made, executed, ended
    assert any(event in ("fork", "clone", "vfork") for event, _ in seen), seen
    assert ("exec", str(probe)) in seen and ("exit", str(probe)) in seen


def test_a_burst_answer_covers_the_calls_of_one_action(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    a, b = data / "a.txt", data / "b.txt"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", str(probe),
                     f"stat:{a}", f"access:{a}", f"open:{a}", f"open:{b}"], tmp_path)
    approver = Approver(sock)
    try:
        first = approver.next("ask")
        assert first["path"] == str(a)
        approver.answer(first, "permit", scope="burst")
        second = approver.next("ask")  # access and open of a.txt did not ask
        assert second["path"] == str(b)
        approver.answer(second, "deny-now")
        code, out, err = finish(proc)
    finally:
        approver.close()
    assert code == 0, err
    assert results(out) == {f"stat {a}": "ok", f"access {a}": "ok", f"open {a}": "ok",
                            f"open {b}": "EACCES"}
    assert not (tmp_path / "p.toml.bak").exists()  # a burst is not remembered


def test_an_edit_made_while_the_run_was_asking_is_kept(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    sock = tmp_path / "ask.sock"
    proc = systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--", str(probe),
                     f"open:{data}/a.txt"], tmp_path)
    approver = Approver(sock)
    try:
        ask = approver.next("ask")
        # the traced program waits: a person edits the policy meanwhile
        with policy.open("a") as f:
            f.write('\n# added while asking\n[[rule]]\ncalls = ["exec"]\naction = "permit"\n')
        edited = policy.read_text()
        approver.answer(ask, "permit", scope="dir")
        code, _, err = finish(proc)
    finally:
        approver.close()
    assert code == 0, err
    text = policy.read_text()
    for line in edited.splitlines():
        assert line in text
    rules = rules_of(policy)
    assert rules[0].path.pattern == f"{data}/*" and rules[0].action is Action.PERMIT
    assert rules[-1].calls == ("exec",)
    assert (tmp_path / "p.toml.bak").read_text() == edited


def test_two_concurrent_runs_saving_into_one_file_both_keep_their_rules(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    runs = []
    approvers = []
    try:
        for name in ("a", "b"):
            sock = tmp_path / f"{name}.sock"
            runs.append(systrace(["-p", str(policy), "--ask-via", f"unix:{sock}", "--",
                                  str(probe), f"open:{data}/{name}.txt"], tmp_path))
            approvers.append(Approver(sock))
        asks = [approver.next("ask") for approver in approvers]  # both loaded the file
        for approver, ask in zip(approvers, asks, strict=True):
            approver.answer(ask, "permit", scope="file")
        ends = [finish(run) for run in runs]
    finally:
        for approver in approvers:
            approver.close()
    assert all(code == 0 for code, _, _ in ends), ends
    saved = {r.path.pattern for r in rules_of(policy) if r.action is Action.PERMIT}
    assert saved == {f"{data}/a.txt", f"{data}/b.txt"}
    assert "# the test's policy" in policy.read_text()


def test_backups_stay_bounded(tmp_path, probe):
    policy, data = write_policy(tmp_path)
    via = scripted(tmp_path, """\
        [[answer]]
        answer = "permit"
        scope = "file"
        for = "all"
        """)
    for n in range(BACKUPS_KEPT + 2):
        target = data / f"new{n}.txt"
        target.write_text("x\n")
        code, _, err = finish(systrace(["-p", str(policy), "--ask-via", via, "--", str(probe),
                                        f"open:{target}"], tmp_path))
        assert code == 0, err
    assert len(list(tmp_path.glob("p.toml.bak*"))) == BACKUPS_KEPT
    assert len([r for r in rules_of(policy) if r.action is Action.PERMIT]) == BACKUPS_KEPT + 2


def test_an_answer_for_the_process_stays_out_of_the_program_table_it_moves_to(tmp_path, probe):
    """permit ... for process, then permit ... for the program: the program's new table (and
    the file) get only the second rule; the process keeps its own first, and another process
    of the program is asked again."""
    policy, data = write_policy(tmp_path)
    via = scripted(tmp_path, """\
        [[answer]]
        path = "*/a.txt"
        answer = "permit"
        scope = "file"
        for = "process"

        [[answer]]
        path = "*/b.txt"
        answer = "permit"
        scope = "file"
        """)
    a, b = data / "a.txt", data / "b.txt"
    code, out, err = finish(systrace(["-p", str(policy), "--ask-via", via, "--", "/bin/sh",
                                      "-c", f"{probe} open:{a} open:{b} open:{a}; "
                                      f"{probe} open:{a}"], tmp_path))
    assert code == 0, err
    assert out.count(" -> ok\n") == 4
    assert err.count("remembered for pid") == 2 and err.count(f"remembered for {probe}") == 1
    table = rules_of(policy, str(probe))
    assert [r.path.pattern for r in table if r.action is Action.PERMIT] == [f"{data}/b.txt"]
