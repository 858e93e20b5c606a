"""The syscall server (tests/progs/syscall_server.c): a real process that runs the system calls
it is told, with raw register values -- alone or under systrace -- for tests that hand a traced
program arguments no sane program passes.  Its layout (where its strings, structs and odd pages
lie) is what it says at its start: this module only reads it."""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import PYTHON, UNPRIVILEGED_USER, systrace_env

U64 = (1 << 64) - 1
ANSWER_TIMEOUT = 60  # seconds: only a hung tracer takes this long to answer

RULE_FS, RULE_NET = "EDOM", "EHOSTDOWN"  # errnos no call gives by itself
#: a path rule alone: no address rule reads the socket calls' addresses, which are still read
#: -- a unix socket's path is looked up (review 15) -- and, in a tree of two tasks, decide
#: whether the call runs frozen (where a sendmsg's bad control pointer killed the tree: LTP
#: sendmsg01)
PATH_POLICY = f"""
default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "{{root}}/secd/**"
action = "never"
errno = "{RULE_FS}"
"""


@dataclass
class Server:
    """One running server: ``call`` runs a system call in it and returns what it returned
    (-errno on failure)."""

    proc: subprocess.Popen[str]
    pid: int
    region: int
    at: dict[str, int]
    page: int
    stderr_path: Path
    maps: list[tuple[int, int]] = field(default_factory=list)
    port: int = 0  # the UDP peer's: in inet_peer and inet6_peer (and page 2's copy of them)

    def call(self, nr: int, *args: int, patches: dict[int, bytes] | None = None) -> int:
        """``syscall(nr, *args)`` in the server, with ``patches`` (offset in the region ->
        bytes) written into the region first."""
        answer = self._exchange(nr, args, patches)
        assert answer.strip().lstrip("-").isdigit(), f"no answer: {answer!r} {self.tail()}"
        return int(answer)

    def whole(self, nr: int, *args: int, patches: dict[int, bytes] | None = None) -> str:
        """``syscall(nr, *args)`` in a server started with "whole": its whole answer line
        (tests/progs/syscall_server.c)."""
        answer = self._exchange(nr, args, patches)
        assert len(answer.split()) == 6, f"no answer: {answer!r} {self.tail()}"
        return answer.strip()

    def _exchange(self, nr: int, args: tuple[int, ...],
                  patches: dict[int, bytes] | None) -> str:
        """Send one request line (the call, then the patches) and read the answer line ("" if
        none came within ANSWER_TIMEOUT)."""
        values = [nr, *args, *([0] * (6 - len(args)))]
        line = " ".join(str(v & U64) for v in values)
        for offset, data in (patches or {}).items():
            line += f" {offset}:{data.hex()}"
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as exc:
            raise AssertionError(f"the server is gone before {line!r}: {self.tail()}") from exc
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_TIMEOUT)
        answer = self.proc.stdout.readline() if ready else ""
        if not answer:
            raise AssertionError(f"no answer to {line!r} {self.tail()}")
        return answer

    def address(self, name: str) -> int:
        return self.region + self.at[name]

    def mapped(self, value: int) -> bool:
        """Whether ``value`` lies in one of the server's own mappings (other than the region)."""
        return any(start <= value < end for start, end in self.maps)

    def tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]


def _read_maps(pid: int, region: int) -> list[tuple[int, int]]:
    spans = []
    with open(f"/proc/{pid}/maps", "rb") as maps:
        for line in maps:
            start, end = (int(v, 16) for v in line.split()[0].split(b"-"))
            if not start <= region < end:
                spans.append((start, end))
    return spans


def make_tree(root: Path, owner: int, group: int) -> None:
    """What the server works in: ``root`` and ``secd`` belong to root (the server, which runs as
    another user, may read but not change them), ``w`` is the server's."""
    root.mkdir(mode=0o755)
    (root / "secd").mkdir(mode=0o755)
    (root / "secd" / "secret").write_text("the secret\n")
    w = root / "w"
    (w / "sub").mkdir(parents=True)
    (w / "file").write_text("a file\n")
    script = w / "script"
    script.write_text("#!/nonexistent/interpreter\n")  # no exec of it can succeed
    script.chmod(0o755)
    for path in (w, w / "sub", w / "file", script):
        os.chown(path, owner, group)


@contextmanager
def servers(binary: Path, policy: str, options: tuple[str, ...] = (),
            args: tuple[str, ...] = (), env: dict[str, str] | None = None,
            as_root: bool = False) -> Iterator[tuple[Server, Server]]:
    """A server (with ``args``) run alone and one run under systrace with ``policy`` (``{root}``
    in it is the traced server's directory), each as an unprivileged user in a tree of its
    own: the same calls change both trees alike.  At the end the traced one must have ended as
    it began.  ``env``: more environment for systrace (the stop loop); ``as_root``: both run
    as root (the caller), each in a mount namespace of its own (unshare)."""
    user = pwd.getpwnam("root" if as_root else UNPRIVILEGED_USER)
    unshare = ["unshare", "--mount", "--propagation", "private"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="systrace-server-", dir="/tmp"))
    base.chmod(0o755)
    started: list[Server] = []
    try:
        program = base / "syscall_server"
        shutil.copy(binary, program)
        program.chmod(0o755)
        for name in ("native", "traced"):
            root = base / name
            make_tree(root, user.pw_uid, user.pw_gid)
            stderr_path = base / f"{name}.stderr"
            with open(stderr_path, "w") as stderr:
                if name == "native":
                    cmd = [*unshare, str(program), *args]
                    extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                             "preexec_fn": _no_core}  # as systrace starts it: no core dumps
                else:
                    policy_file = base / "policy.toml"
                    policy_file.write_text(policy.format(root=root))
                    credentials = [] if as_root else ["-c", f"{user.pw_uid}:{user.pw_gid}"]
                    cmd = [*unshare, PYTHON, "-m", "systrace_py", *credentials,
                           "-p", str(policy_file), *options, "--", str(program), *args]
                    extra = {}
                proc = subprocess.Popen(cmd, cwd=root, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=stderr, text=True,
                                        env=systrace_env(env), start_new_session=True,
                                        **extra)  # type: ignore[call-overload]
            started.append(_ready(proc, stderr_path))
        yield started[0], started[1]
        traced = started[1]
        for server in started:
            assert server.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # (gone: the test said so already)
                server.proc.stdin.close()
            server.proc.wait(ANSWER_TIMEOUT)
        assert traced.proc.returncode == 0, f"systrace: {traced.proc.returncode} {traced.tail()}"
        assert "internal error" not in traced.tail(), traced.tail()
    finally:
        for server in started:
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _no_core() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _ready(proc: subprocess.Popen[str], stderr_path: Path) -> Server:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    words = line.split()
    assert words[:1] == ["ready"], f"{line!r} {stderr_path.read_text(errors='replace')}"
    pid, region = int(words[1]), int(words[2])
    at = {k: int(v) for k, _, v in (w.partition("=") for w in words[3:])}
    page, port = at.pop("page"), at.pop("port")
    return Server(proc, pid, region, at, page, stderr_path, _read_maps(pid, region), port)


@contextmanager
def lone_server(binary: Path) -> Iterator[Server]:
    """A server run alone, as the test's own user, in a tree of its own (for reading its memory
    from outside)."""
    base = Path(tempfile.mkdtemp(prefix="systrace-server-"))
    try:
        root = base / "tree"
        make_tree(root, os.getuid(), os.getgid())
        stderr_path = base / "stderr"
        with open(stderr_path, "w") as stderr:
            proc = subprocess.Popen([str(binary)], cwd=root, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=stderr, text=True)
        server = _ready(proc, stderr_path)
        try:
            yield server
        finally:
            proc.kill()
            proc.wait()
    finally:
        shutil.rmtree(base, ignore_errors=True)
