"""Shared pieces of the escape tests: the scene (a secret, a decoy, a work directory), policies
that refuse the target, and running an attack program with and without systrace.

Every attack program (tests/escape/*.c) prints one verdict line: ``ESCAPED: ...``,
``BLOCKED: ...`` or ``SKIPPED: ...`` (see attack.h).  A control run without systrace must print
ESCAPED (the attack is real on this kernel) or SKIPPED (the kernel lacks the feature: the test
is skipped, saying why); the run under systrace must not escape.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from conftest import PYTHON, systrace_env

SECRET_MAGIC = "S3CR3T-7f1d9a42-do-not-leak"
PAYLOAD_MAGIC = "PAYLOAD-RAN-5e8c"
SYSTRACE = [PYTHON, "-m", "systrace_py"]
CONTROL_ATTEMPTS = 10  # native runs of a race before its control is said to fail
VERDICT = re.compile(r"^(ESCAPED|BLOCKED|SKIPPED): ?(.*)$", re.MULTILINE)


@dataclass
class Scene:
    """A temporary tree: ``secd/secret.txt`` holds the secret; ``pubd/secret.txt`` is a decoy
    of the same name (and a directory name of the same length, so a racing thread can flip
    one path into the other by rewriting four bytes); ``work`` is the attacker's to write."""

    root: Path
    secd: Path
    secret: Path
    pubd: Path
    decoy: Path
    work: Path

    @classmethod
    def make(cls, base: Path, name: str = "scene") -> Scene:
        root = base / name
        root.mkdir()
        root.chmod(0o755)
        secd, pubd, work = root / "secd", root / "pubd", root / "work"
        for d in (secd, pubd, work):
            d.mkdir()
        secret = secd / "secret.txt"
        secret.write_text(f"{SECRET_MAGIC}\n")
        decoy = pubd / "secret.txt"
        decoy.write_text("public, harmless\n")
        return cls(root, secd, secret, pubd, decoy, work)

    def env(self, **extra: str) -> dict[str, str]:
        st = os.stat(self.secret)
        env = {"ESC_SECRET_INO": str(st.st_ino), "ESC_SECRET_DEV": str(st.st_dev),
               "ESC_MARKER": str(self.marker)}
        env.update(extra)
        return env

    @property
    def marker(self) -> Path:
        """Where a payload that ran leaves its mark."""
        return self.root / "payload-ran"


# --- other processes' /proc links (red team 77, review 53) ----------------------------------

#: holder()'s usual script: a process outside the tree whose ids are all UID's, its cwd DIR,
#: dumpable or not (DUMPABLE: setting the ids cleared it), holding a descriptor of that cwd as
#: FD when one is given -- argv DIR UID DUMPABLE [FD] (red team 77, reviews 53, 56 and 60,
#: close 28)
ID_HOLDER = """\
import ctypes, os, sys, time
os.chdir(sys.argv[1])
if len(sys.argv) > 4:
    os.dup2(os.open(".", os.O_RDONLY), int(sys.argv[4]))
uid = int(sys.argv[2])
os.setresuid(uid, uid, uid)
ctypes.CDLL(None).prctl(4, int(sys.argv[3]), 0, 0, 0)  # PR_SET_DUMPABLE
print(os.getpid(), flush=True)
time.sleep(60)
"""


@contextlib.contextmanager
def holder(script: str, *args: object) -> Iterator[int]:
    """A Python process outside the traced tree running ``script`` with ``args``, which prints
    its pid on its first line and waits: the other process whose magic links a program
    follows (/proc/PID/cwd); killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(5)


#: a shell that follows the cwd and root links of its own child (a process of the shell's ids,
#: dumpable, its cwd /etc): "cwd OK", "root OK" where the kernel lets it (review 53, close 26)
OWN_CHILD_LINKS = ("(cd /etc && exec sleep 30) & p=$!; sleep 1; "
                   "cat /proc/$p/cwd/hostname >/dev/null && echo cwd OK; "
                   "ls /proc/$p/root/ >/dev/null && echo root OK; kill $p; wait")


def hidden_notes(root: Path) -> Path:
    """A directory holding notes.txt (SECRET_MAGIC, mode 0644) under a random name below
    ``root``/hid, mode 0711: a program that is not told the name cannot find it natively,
    only through the cwd of a process that is there."""
    hidden = root / "hid"
    inner = hidden / secrets.token_hex(8)
    inner.mkdir(parents=True)
    (inner / "notes.txt").write_text(f"{SECRET_MAGIC}\n")
    (inner / "notes.txt").chmod(0o644)
    inner.chmod(0o755)
    hidden.chmod(0o711)
    return inner


def world_program(build: Callable[..., Path], root: Path, name: str) -> Path:
    """tests/escape/NAME.c built with -pthread and copied to ``root`` (where another user can
    run it), mode 0755."""
    program = root / name
    program.write_bytes(build(f"escape/{name}.c", "-pthread").read_bytes())
    program.chmod(0o755)
    return program


# --- policies ------------------------------------------------------------------------------------

def policy(*rules: str, default: str = "permit") -> str:
    """A policy: the given [[rule]] bodies after ``default``."""
    text = f'default = "{default}"\n'
    for rule in rules:
        text += "\n[[rule]]\n" + textwrap.dedent(rule).strip() + "\n"
    return text


def never(calls: Sequence[str] | str, errno: str = "EACCES", **conditions: object) -> str:
    """A ``never`` rule body."""
    names = [calls] if isinstance(calls, str) else list(calls)
    lines = [f"calls = {toml_list(names)}"]
    for key, value in conditions.items():
        lines.append(f"{key} = {toml_value(value)}")
    lines += ['action = "never"', f'errno = "{errno}"']
    return "\n".join(lines)


def permit(calls: Sequence[str] | str, **conditions: object) -> str:
    names = [calls] if isinstance(calls, str) else list(calls)
    lines = [f"calls = {toml_list(names)}"]
    for key, value in conditions.items():
        lines.append(f"{key} = {toml_value(value)}")
    lines.append('action = "permit"')
    return "\n".join(lines)


def toml_value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return toml_list(list(value))
    if isinstance(value, bool):  # (an int to isinstance: "True" is no TOML)
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(values: list[object]) -> str:
    return "[" + ", ".join(toml_value(v) for v in values) + "]"


def read_never(path: str | Path) -> str:
    """The standard policy of the read attacks: everything permitted but reading ``path``."""
    return policy(never("fsread", path=str(path)))


# --- running -------------------------------------------------------------------------------------

def scene_env(scene: Scene | None, **extra: str) -> dict[str, str]:
    """The environment of a run: systrace's, plus the scene's (secret inode, marker path)."""
    env = systrace_env(scene.env() if scene is not None else None)
    env.update(extra)
    return env


@dataclass
class Outcome:
    """One run of an attack program."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    traced: bool
    verdict: str = "NONE"
    detail: str = ""
    elapsed: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def killed(self) -> bool:
        """Whether a signal ended it (systrace reports 128+N; a direct run -N)."""
        return self.returncode < 0 or self.returncode >= 128

    def __str__(self) -> str:
        where = "under systrace" if self.traced else "without systrace"
        return (f"{' '.join(self.argv)} ({where}): rc={self.returncode} verdict={self.verdict}"
                f" {self.detail}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


def _verdict(stdout: str) -> tuple[str, str]:
    found = VERDICT.findall(stdout)
    if not found:
        return "NONE", ""
    kinds = [k for k, _ in found]
    if "ESCAPED" in kinds:  # a multi-process attack: any escape counts
        return "ESCAPED", found[kinds.index("ESCAPED")][1]
    return found[-1]


def attack(binary: Path | str, *args: object, policy_text: str | None, scene: Scene | None,
           cwd: Path | str | None = None, timeout: float = 30, env: dict[str, str] | None = None,
           options: Sequence[str] = (), stdin: int | None = subprocess.DEVNULL,
           policy_file: Path | None = None, tracer: Sequence[str] = SYSTRACE) -> Outcome:
    """Run ``binary args`` under systrace with ``policy_text`` -- or, when it is None, directly
    (the control run); ``tracer`` is the command that runs systrace.  Always in a new session,
    so an attack on the process group cannot reach pytest."""
    argv = [str(binary), *(str(a) for a in args)]
    run_env = scene_env(scene, **(env or {}))
    traced = policy_text is not None
    # nothing of a run lands in the caller's cwd (that may be the repository): the scene's
    # directory, or a temporary one, is the default cwd and holds the policy file
    cleanup = None if scene is not None else Path(tempfile.mkdtemp(prefix="escape-run-"))
    home = scene.root if scene is not None else cleanup
    assert home is not None
    if cwd is None:
        cwd = home
    if traced:
        if policy_file is None:
            policy_file = home / f"policy-{time.monotonic_ns()}.toml"
        policy_file.write_text(policy_text)
        cmd = [*tracer, *options, "-p", str(policy_file), "--", *argv]
    else:
        cmd = argv
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=run_env, start_new_session=True, stdin=stdin)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(cmd)} did not finish in {timeout} s:\n"
                             f"{_text(exc.stdout)}\n{_text(exc.stderr)}") from exc
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
    verdict, detail = _verdict(proc.stdout)
    return Outcome(argv, proc.returncode, proc.stdout, proc.stderr, traced, verdict, detail,
                   time.monotonic() - start)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def require_real(control: Outcome) -> None:
    """The control run must show the attack works here; SKIPPED skips the test, saying why."""
    if control.verdict == "SKIPPED":
        pytest.skip(f"kernel lacks what the attack needs: {control.detail}")
    assert control.verdict == "ESCAPED", f"the attack fails even without systrace:\n{control}"


def native_control(run: Callable[[int], Outcome], attempts: int = CONTROL_ATTEMPTS) -> Outcome:
    """The control of a race: ``run(attempt)`` natively until it is not BLOCKED, at most
    ``attempts`` times, then require_real.  A race is won natively within its bound most of
    the time, but a loaded VM -- or an idle one, whose other vCPU sleeps when the racing
    thread needs it -- loses it now and then (10,000 opens, none the secret, in a CI): the
    control proves the technique, not its timing."""
    for attempt in range(attempts):
        control = run(attempt)
        if control.verdict != "BLOCKED":
            break
    require_real(control)
    return control


def assert_blocked(outcome: Outcome, *, may_be_killed: bool = False) -> None:
    """Under systrace: BLOCKED -- or, when allowed, killed (with no ESCAPED line)."""
    assert "ESCAPED" not in outcome.stdout, f"the attack escaped:\n{outcome}"
    if may_be_killed and outcome.verdict == "NONE" and outcome.killed:
        return
    assert outcome.verdict == "BLOCKED", f"expected BLOCKED:\n{outcome}"


def controlled_and_blocked(tmp_path: Path, binary: Path | str,
                           args: Callable[[Scene], Sequence[object]],
                           policy_of: Callable[[Scene], str], *,
                           setup: Callable[[Scene], object] | None = None,
                           may_be_killed: bool = False, **kw: object) -> tuple[Outcome, Scene]:
    """The usual test: the control run (in a scene of its own, since an attack may change its
    scene) escapes; the traced run is blocked.  ``args``, ``policy_of``, ``setup`` and any
    callable keyword (``cwd=lambda s: s.secd``) are given the scene of the run."""

    def run(name: str, traced: bool) -> tuple[Outcome, Scene]:
        scene = Scene.make(tmp_path, name)
        if setup is not None:
            setup(scene)
        extra = {k: (v(scene) if callable(v) else v) for k, v in kw.items()}
        text = policy_of(scene) if traced else None
        return attack(binary, *args(scene), policy_text=text, scene=scene, **extra), scene

    native_control(lambda attempt: run(f"control{attempt or ''}", False)[0])
    traced, scene = run("traced", True)
    assert_blocked(traced, may_be_killed=may_be_killed)
    return traced, scene


# --- attaching: `systrace --attach PID` to a program that waits for it -------------------------

#: a guard against a hang, not a measure: an attach takes < 1 s
ATTACH_HANG = 60


def secd_never(s: Scene) -> str:
    """The attach tests' usual policy: reads below the secret's directory refused."""
    return policy(never("fsread", path=f"{s.secd}/**"))


@dataclass
class Waiting:
    """A program started for ``systrace --attach`` to come, once it said ``ready PID``."""

    proc: subprocess.Popen[str]
    said: str  # what it printed up to and with its ready line

    @property
    def pid(self) -> str:
        """The process its ready line names: the one systrace is to attach to."""
        return self.said.splitlines()[-1].split()[1]


@dataclass
class AttachRun:
    """A program and the ``systrace --attach`` of it, both run to their end."""

    said: str  # the program's output up to and with its ready line
    out: str  # the rest of the program's output
    returncode: int  # the program's
    tracer: subprocess.CompletedProcess[str]  # systrace's run
    first: str = ""  # systrace's first line on stderr, when waited for (also in tracer.stderr)

    @property
    def all(self) -> str:
        """All the program printed."""
        return self.said + self.out


def _attach_place(scene: Scene | None, env: dict[str, str] | None,
                  cwd: Path | str | None) -> tuple[dict[str, str], Path]:
    """The environment (of systrace and, but for ESC_WAIT_TRACER, of the program) and the
    working directory of an attach: the scene's unless given."""
    where = Path(cwd) if cwd is not None else (scene.root if scene is not None else None)
    assert where is not None, "an attach needs a scene or a cwd"
    return (env if env is not None else scene_env(scene)), where


def _line(stream: IO[str] | None) -> str:
    """One line of a process's pipe, read a byte at a time from its descriptor: what follows
    stays in the pipe for communicate(), whose reads go to the descriptor (past any buffer
    the stream would have filled)."""
    assert stream is not None
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = os.read(stream.fileno(), 1)
        if not byte:
            break
        data += byte
    return data.decode(errors="replace")


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def waiting(argv: Sequence[object], *, scene: Scene | None = None,
            env: dict[str, str] | None = None, cwd: Path | str | None = None,
            wait_tracer: bool = True, stdin: bool = False,
            told: bool = False) -> Iterator[Waiting]:
    """``argv`` started in a session of its own, once it said ``ready PID``; killed at the end
    if still running.  Its environment is ``env`` (by default the scene's) with
    ESC_WAIT_TRACER=1 (attack.h's wait_for_tracer: say ready, wait until traced) unless
    ``wait_tracer`` is False (a program that waits on its own: sig_limit.c's attach modes);
    its cwd ``cwd``, by default the scene's root; a pipe on its stdin with ``stdin``; with
    ``told``, ESC_TOLD_ON_STDIN=1 and a pipe on its stdin (wait_for_tracer waits no longer
    once something comes there, or its end)."""
    base, where = _attach_place(scene, env, cwd)
    environment = {**base, "ESC_WAIT_TRACER": "1"} if wait_tracer else base
    if told:
        environment["ESC_TOLD_ON_STDIN"] = "1"
    proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.PIPE if stdin or told else None, cwd=where,
                            env=environment, start_new_session=True)
    try:
        lines = [_line(proc.stdout)]
        while lines[-1] and not lines[-1].startswith("ready"):
            lines.append(_line(proc.stdout))
        assert lines[-1].startswith("ready"), "".join(lines)
        yield Waiting(proc, "".join(lines))
    finally:
        _end(proc)


def start_attach(pid: int | str, policy_text: str | None, *, scene: Scene | None = None,
                 env: dict[str, str] | None = None, cwd: Path | str | None = None,
                 wrap: Callable[[list[str]], list[str]] | None = None
                 ) -> subprocess.Popen[str]:
    """``systrace --attach PID -p attach.toml`` started (in ``cwd``, by default the scene's
    root, with ``policy_text`` written to its ``attach.toml`` -- None: the file is there
    already), in a session of its own, its stdout and stderr piped; ``wrap`` makes the command
    line of its (``setpriv ... --`` before it, a shell around it)."""
    base, where = _attach_place(scene, env, cwd)
    policy_file = where / "attach.toml"
    if policy_text is not None:
        policy_file.write_text(policy_text)
    cmd = [*SYSTRACE, "--attach", str(pid), "-p", str(policy_file)]
    return subprocess.Popen(wrap(cmd) if wrap is not None else cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=base, cwd=where,
                            start_new_session=True)


def attach_to(w: Waiting, policy_text: str | None, *, scene: Scene | None = None,
              env: dict[str, str] | None = None, cwd: Path | str | None = None,
              timeout: float = ATTACH_HANG) -> subprocess.CompletedProcess[str]:
    """start_attach to a waiting program, run to its end: for a test that looks at the
    program while it still waits (a refused attach leaves it so)."""
    tracer = start_attach(w.pid, policy_text, scene=scene, env=env, cwd=cwd)
    try:
        out, err = tracer.communicate(timeout=timeout)
    finally:
        _end(tracer)
    return subprocess.CompletedProcess(tracer.args, tracer.returncode, out, err)


def attached_run(argv: Sequence[object], policy_text: str | None, *,
                 scene: Scene | None = None, env: dict[str, str] | None = None,
                 cwd: Path | str | None = None, wait_tracer: bool = True,
                 tracer_first: bool = False, first_line: bool = False,
                 input: str | None = None,
                 wrap: Callable[[list[str]], list[str]] | None = None,
                 timeout: float = ATTACH_HANG) -> AttachRun:
    """The attach test's run: ``argv`` started waiting for a tracer (waiting), ``systrace
    --attach`` of the pid its ready line names under ``policy_text`` (start_attach), both run
    to their end (each within ``timeout``) and killed in the end if they are not.

    With ``first_line``, systrace's first line on stderr (whether it attached or refused) is
    waited for before anything else.  Then the program is read to its end (given ``input`` on
    stdin) and systrace after it -- or, with ``tracer_first``, systrace is waited for first:
    a program told on stdin that a refused attach is over must not hear it while systrace is
    still attaching.  With ``tracer_first`` and no ``input``, the program waiting for its
    tracer (wait_for_tracer) is told so too, by the end of its stdin once systrace has ended:
    a refused attach then costs no 10 s wait for a tracer that never comes (trim78: ~10 s of
    each of four tests)."""
    told = tracer_first and wait_tracer and input is None
    with waiting(argv, scene=scene, env=env, cwd=cwd, wait_tracer=wait_tracer,
                 stdin=input is not None, told=told) as w:
        tracer = start_attach(w.pid, policy_text, scene=scene, env=env, cwd=cwd, wrap=wrap)
        try:
            first = ""
            if first_line:
                said, _, _ = select.select([tracer.stderr], [], [], timeout)
                assert said, "systrace neither attached nor refused (the attach hangs)"
                first = _line(tracer.stderr)
            if tracer_first:
                t_out, t_err = tracer.communicate(timeout=timeout)
                out, _ = w.proc.communicate(input, timeout=timeout)
            else:
                out, _ = w.proc.communicate(input, timeout=timeout)
                t_out, t_err = tracer.communicate(timeout=timeout)
        finally:
            _end(tracer)
    run = subprocess.CompletedProcess(tracer.args, tracer.returncode, t_out, first + t_err)
    return AttachRun(w.said, out, w.proc.returncode, run, first)


# --- the person at the terminal ----------------------------------------------------------------

def answered_on_a_terminal(command: str, done: Path, decoy: Path, asked: str, *, name: str,
                           size: tuple[int, int], cwd: Path | None = None,
                           limit: float = 40) -> tuple[str, list[tuple[str, str]]]:
    """``command`` (a shell command line) run on a terminal of its own -- a tmux server of
    its own (named ``name``-PID-NS), a session of ``size`` columns and rows, in ``cwd`` --
    writing there, then ``echo done > DONE``.  A person answers the question right above the
    empty "systrace>" line at the bottom, whenever there is one, by what the screen shows:
    ``permit-now`` when the last path it asks about (``asked``: a pattern whose group is
    the path) is ``decoy``, else ``deny-now``; until ``done`` is there, at most ``limit``
    seconds.  The screen in the end (its last 200 lines) and the answers, (path, answer)."""
    tmux = ["tmux", "-L", f"{name}-{os.getpid()}-{time.monotonic_ns()}", "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]),
                    *(["-c", str(cwd)] if cwd is not None else []),
                    f"{command} > /dev/tty 2>&1; echo done > {done}; sleep 60"], check=True)
    answers: list[tuple[str, str]] = []
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.2)
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "0"],
                                    capture_output=True, text=True).stdout.rstrip("\n")
            lines = screen.split("\n")
            if not lines or lines[-1].rstrip() != "systrace>":
                continue
            paths = re.findall(asked, screen)
            answer = "permit-now" if paths and paths[-1] == str(decoy) else "deny-now"
            answers.append((paths[-1] if paths else "", answer))
            subprocess.run([*tmux, "send-keys", "-t", "0", "-l", answer], check=True)
            subprocess.run([*tmux, "send-keys", "-t", "0", "Enter"], check=True)
            time.sleep(1)
        final = subprocess.run([*tmux, "capture-pane", "-p", "-S", "-200", "-t", "0"],
                               capture_output=True, text=True).stdout
    finally:
        socket_path = subprocess.run([*tmux, "display-message", "-p", "#{socket_path}"],
                                     capture_output=True, text=True).stdout.strip()
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)  # (tmux leaves it behind)
    return final, answers


# --- the resident tracer -------------------------------------------------------------------------

def served_env(runtime: Path, **extra: str) -> dict[str, str]:
    """A run that a server in ``runtime`` may serve (the suite runs in process unless told)."""
    return {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0", **extra}


def listener_of(path: Path) -> int | None:
    """The pid of the process listening on the unix socket ``path``, if any."""
    from systrace_py import procfs

    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return None
        found = procfs.peer(sock)
    return found[0] if found else None


# --- outsiders: listeners and processes outside the traced tree ----------------------------------

class _Listener:
    """A socket outside the traced tree served by a thread that counts what arrives."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _take_one(self) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._take_one()
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class _StreamListener(_Listener):
    """Counts the connections it accepts."""

    def __init__(self, sock: socket.socket) -> None:
        sock.listen(64)
        self.accepted = 0
        super().__init__(sock)

    def _take_one(self) -> None:
        conn, _ = self.sock.accept()
        self.accepted += 1
        conn.close()

    def reset(self) -> None:
        """Forget what came so far -- once the backlog of the last run has been accepted."""
        settle(lambda: self.accepted)
        self.accepted = 0


class TcpListener(_StreamListener):
    """A TCP listener outside the traced tree that counts the connections it accepts."""

    def __init__(self, host: str = "127.0.0.1", family: int = socket.AF_INET) -> None:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        super().__init__(sock)


class UnixListener(_StreamListener):
    """A unix stream listener (path or abstract) outside the traced tree."""

    def __init__(self, address: str | bytes) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(address)
        super().__init__(sock)


class UdpListener(_Listener):
    """A UDP socket outside the traced tree that counts the datagrams it receives."""

    def __init__(self, host: str = "127.0.0.1", family: int = socket.AF_INET) -> None:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self.received: list[bytes] = []
        super().__init__(sock)

    def _take_one(self) -> None:
        self.received.append(self.sock.recv(65536))

    def reset(self) -> None:
        settle(lambda: len(self.received))
        self.received.clear()

    def close(self) -> None:
        time.sleep(0.1)  # datagrams still in flight
        super().close()


#: the lock the tests that capture or flood lo take (LO_LOCK below)
LO_LOCK_PATH = Path(tempfile.gettempdir()) / "systrace-tests-lo.lock"


@pytest.fixture
def quiet_lo() -> Iterator[None]:
    """Hold lo for this test alone among the suite's workers: a packet ring made on lo takes
    the first datagram anyone sends there into its frame 0, and ring36's flood (6000-byte
    datagrams, thousands) or net_mmsg_shared's 3000 sends on the other xdist worker filled
    the frame red team 50's native controls count on ("the attack fails even without
    systrace", three of them in one CI run beside ring36's tests).  An exclusive flock of
    LO_LOCK_PATH, taken by every test of a file that makes a ring on lo or floods it
    (``pytestmark = pytest.mark.usefixtures("quiet_lo")``)."""
    import fcntl

    with open(LO_LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def settle(count: Callable[[], int], quiet: float = 0.2, limit: float = 3.0) -> None:
    """Wait until ``count()`` stops moving for ``quiet`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    last = count()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = count()
        if now == last:
            return
        last = now



@contextlib.contextmanager
def listening(listener: TcpListener | UdpListener | UnixListener) -> Iterator[object]:
    try:
        yield listener
    finally:
        listener.close()


@contextlib.contextmanager
def outsider(cmd: Sequence[str | Path]) -> Iterator[subprocess.Popen[str]]:
    """A process outside the traced tree, killed at the end."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)


def pids_running(binary: Path | str) -> list[int]:
    """Processes whose executable is ``binary`` (leftovers of an attack)."""
    target = os.path.realpath(binary)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue
        if exe == target:
            found.append(int(entry))
    return found


def kill_leftovers(binary: Path | str) -> list[int]:
    pids = pids_running(binary)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


@contextlib.contextmanager
def mounted_btrfs(base: Path) -> Iterator[Path]:
    """A fresh 200 MiB btrfs image loop-mounted at ``base/btrfs`` (its top-level subvolume),
    unmounted after: the one home of the btrfs tests' image (gap44, red team 83, close 27,
    review 59, close 31).  Skips where btrfs-progs are missing or the image cannot be mounted
    (the callers' modules skip without root or /dev/loop-control)."""
    if shutil.which("mkfs.btrfs") is None or shutil.which("btrfs") is None:
        pytest.skip("no btrfs-progs")
    image, mounted = base / "btrfs.img", base / "btrfs"
    with open(image, "wb") as f:
        f.truncate(200 << 20)
    subprocess.run(["mkfs.btrfs", "-q", "-f", str(image)], check=True, capture_output=True)
    mounted.mkdir()
    if subprocess.run(["mount", "-o", "loop", str(image), str(mounted)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a btrfs image")
    try:
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted)], capture_output=True)


def btrfs_subvolume(path: Path, file: str | None = None, text: str = "") -> Path:
    """A subvolume made at ``path`` (btrfs subvolume create), holding ``file`` with ``text``
    and a newline when given."""
    subprocess.run(["btrfs", "subvolume", "create", str(path)], check=True,
                   capture_output=True)
    if file is not None:
        (path / file).write_text(text + "\n")
    return path


#: a program's own file of the policy directory refusing everything below ``$CWD/victim``
#: -- /bin/cat's, in the merge attacks (red team 84, reviews 58 and 61, closes 29 and 32)
NEVER_VICTIM = ('version = 1\ndefault = "permit"\n\n[[rule]]\ncalls = ["fsread", "fswrite"]\n'
                'path = "$CWD/victim/**"\naction = "never"\n')


def approver_args(tmp_path: Path, rules: str) -> list[str]:
    """``--ask-via`` to systrace's own approver answering by ``rules`` (TOML, written to
    ``tmp_path/answers.toml``): the answers a remembered-answer attack needs (review 65,
    close 38, review 69)."""
    answers = tmp_path / "answers.toml"
    answers.write_text(rules)
    return ["--ask-via", "exec:" + shlex.join(
        [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)])]


def victim_read_natively(program: Path | str, cwd: Path) -> None:
    """The merge attacks' scene: ``cwd/victim/secret.txt``, and the native control --
    ``program victim`` (merge_table.c: ``/bin/cat victim/secret.txt``, or a copy of it) reads
    it (ESCAPED)."""
    victim = cwd / "victim"
    victim.mkdir()
    (victim / "secret.txt").write_text(SECRET_MAGIC + "\n")
    control = subprocess.run([str(program), "victim"], capture_output=True, text=True,
                             timeout=30, cwd=cwd)
    assert control.stdout.startswith("ESCAPED"), control.stdout
