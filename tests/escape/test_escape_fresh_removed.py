"""learn30: a descriptor's removed file counts as one the run made (a ``fresh`` rule's
question) only when it is a file of the run's own that a call of the run removed while
holding it -- the tracer then notes it by its identity, whose file system handle carries
the inode's generation (decode.Decoder.removed_own; held open where there is no handle).
The learned policy of ``mkstemp, unlink, reopen through /proc/self/fd`` refused the reopen
on the next run (docs/security.md, review 32).  fresh_removed.c's attacks leave a file that
is not the run's own removed at a name the fresh rule matches and reopen it for reading;
each has a native control.  Both loops."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from escape_lib import (
    CONTROL_ATTEMPTS,
    SECRET_MAGIC,
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    native_control,
)

from conftest import own_mount_namespace

#: what the program needs besides its files
_PLAIN = ["fsmeta", "fstat", "writev", "newfstatat", "readlink", "getdents64", "lseek",
          "fcntl", "execve", "brk", "mmap", "mprotect", "munmap", "arch_prctl",
          "set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrandom", "close",
          "read", "write", "exit_group", "rt_sigaction", "pread64", "clock_nanosleep"]
#: a thread's, besides (the race mode)
_THREAD = ["clone", "clone3", "futex", "dup2", "dup3", "rt_sigprocmask", "sched_yield",
           "madvise", "exit", "gettid"]


def fresh_policy(s: Scene, program: Path, threads: bool = False) -> str:
    """Reads in ``work`` only of what the run makes (fresh); writes, links and renames in
    ``work`` and ``secd`` (the secret may be written, never read).  ``threads``: a thread
    may be made and dup2 (the race mode)."""
    plain = ", ".join(f'"{c}"' for c in _PLAIN + (_THREAD if threads else []))
    return f"""
default = "never"
default_errno = "EACCES"
[[rule]]
calls = ["fsread"]
path = "{s.work}/**"
fresh = true
action = "permit"
[[rule]]
calls = ["fswrite", "fslink"]
path = "{{{s.work}/**,{s.secd}/**}}"
action = "permit"
[[rule]]
calls = ["fsread"]
path = "{{{s.work},/usr/**,/etc/**,/lib/**,/lib64/**,{program}}}"
action = "permit"
[[rule]]
calls = [{plain}]
action = "permit"
"""


def _run(program: Path, s: Scene, mode: str, traced: bool):
    return attack(program, mode, s.secret, s.work, scene=s,
                  policy_text=fresh_policy(s, program) if traced else None)


def test_the_runs_own_removed_file_is_reopened_under_a_fresh_rule(build, tmp_path: Path,
                                                                  loop: dict[str, str]) -> None:
    """mkstemp-like: made, written, removed, reopened through /proc/self/fd.  Before learn30
    the reopen was refused (EACCES: ``fresh`` of ``work/tmpA (deleted)`` was False), both
    loops."""
    program = build("escape/fresh_removed.c")
    s = Scene.make(tmp_path, "traced")
    out = attack(program, "own", s.secret, s.work, scene=s, env=loop,
                 policy_text=fresh_policy(s, program))
    assert "OWN: own contents" in out.stdout, str(out)


@pytest.mark.parametrize("mode", ["rename", "exchange", "link"])
def test_a_secret_removed_at_a_name_the_run_made_is_not_the_runs_own(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """The secret, held open for writing, given a name the run made (renamed or exchanged
    over its own ``work/tmpA``) or a new name in ``work`` (a link), then every name of it
    removed: /proc names it ``work/tmpX (deleted)``, which the fresh glob matches.  The
    name a rename or exchange takes over is forgotten (``made``), a link's new name of an
    older file is none the run made: the removal holds nothing, the reopen is refused.
    (The exchange is refused sooner: the run's own file would get a name in ``secd``.)
    Control: natively the reopen reads the secret."""
    program = build("escape/fresh_removed.c")
    native_control(lambda n: _run(program, Scene.make(tmp_path, f"control{n or ''}"), mode,
                                  False))
    s = Scene.make(tmp_path, "traced")
    out = attack(program, mode, s.secret, s.work, scene=s, env=loop,
                 policy_text=fresh_policy(s, program))
    assert_blocked(out)
    if mode != "exchange":
        assert out.detail.startswith("reopen of") and out.detail.endswith("EACCES"), str(out)


def _outsider(s: Scene, done: threading.Event) -> None:
    """Waits for the run to write its freed inode's number to ``work/freed.txt``, then makes
    files ``work/tmpZNNNN`` holding the secret's magic until one has that number (1000 at
    most), and ``work/ready``."""
    freed = s.work / "freed.txt"
    while not done.is_set():
        text = freed.read_text()
        if text.strip():
            break
        done.wait(0.01)
    else:
        return
    wanted = int(text)
    for n in range(1000):
        path = s.work / f"tmpZ{n:04d}"
        path.write_text(f"{SECRET_MAGIC}\n")
        if path.stat().st_ino == wanted:
            break
    (s.work / "ready").write_text("")


def test_an_outsiders_file_at_the_runs_freed_inode_number_is_not_the_runs_own(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The run makes ``work/tmpA``, removes it while holding it, closes it: natively the
    inode is freed and an outsider's next file in ``work`` gets its number.  The run opens
    that file for writing (permitted), removes it and reopens it: a removed file whose
    (device, inode) is the one the run's own file had.  The tracer holds the run's own
    file from its removal on (the number is no other file's while it does), and compares
    the file system's handle (the inode's generation) too: refused.  Control: natively
    the outsider's file gets the number and the reopen reads its secret."""
    program = build("escape/fresh_removed.c")

    def run(name: str, traced: bool):
        s = Scene.make(tmp_path, name)
        (s.work / "freed.txt").write_text("")
        done = threading.Event()
        helper = threading.Thread(target=_outsider, args=(s, done), daemon=True)
        helper.start()
        try:
            return attack(program, "reuse", s.secret, s.work, scene=s,
                          env=loop if traced else None,
                          policy_text=fresh_policy(s, program) if traced else None)
        finally:
            done.set()
            helper.join()

    # (the control proves the number is given again: another process making files on the
    # same file system at that moment may take it first -- a busy machine -- so it tries
    # again, as a race's control does)
    control = None
    for n in range(CONTROL_ATTEMPTS):
        control = run(f"control{n or ''}", False)
        if "freed inode number" in control.detail:
            break
    assert control is not None and control.verdict == "ESCAPED", str(control)
    assert "freed inode number" in control.detail, str(control)  # (the number was reused)
    out = run("traced", True)
    assert_blocked(out)
    assert out.detail.startswith("reopen of") and out.detail.endswith("EACCES"), str(out)
    assert os.path.exists(tmp_path / "traced" / "work" / "ready")


def test_a_secret_swapped_in_under_the_same_removed_name_is_not_the_runs_own(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 33: two removed files with one /proc text, ``work/tmpA (deleted)`` -- the
    secret (linked to ``work/tmpA``, opened there for writing, that link removed: still at
    its own name) and the run's own (made at ``work/tmpA``, held, removed: noted) --
    dup2'd by a thread onto descriptor 100 in turn while the main thread reopens
    /proc/self/fd/100 for reading.  The check sees the run's own file (``fresh``: its
    identity was noted); the tree is then frozen and re-checked, and the re-check compared
    the name only -- the same text -- so the kernel reopened the secret (ESCAPED on
    1847ffa, both loops).  The re-check compares the removed file's identity too: refused
    or the run's own, never the secret.  Control: natively some reopens read the secret."""
    program = build("escape/fresh_removed.c")
    native_control(lambda n: _run(program, Scene.make(tmp_path, f"control{n or ''}"), "race",
                                  False))
    s = Scene.make(tmp_path, "traced")
    out = attack(program, "race", s.secret, s.work, scene=s, env=loop,
                 policy_text=fresh_policy(s, program, threads=True))
    assert_blocked(out)
    assert "OWN: " in out.stdout and "OWN: 0\n" not in out.stdout, str(out)  # (it ran)


def test_a_name_whose_create_failed_is_not_the_runs_when_a_directory_brings_a_secret(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 33: ``made`` is noted at a call's entry, so a create that then fails (EMFILE:
    no descriptor free) leaves its name noted although nothing was made.  A rename of a
    directory the run made over another (empty) one moved the notes below the old name and
    kept those below the new one: the secret, linked into ``work/tmpE`` and brought to
    ``work/tmpD/f`` by renaming tmpE over tmpD, was the run's own to a fresh rule and read
    (ESCAPED on 1847ffa, both loops).  Now what was noted below the new name is forgotten
    (a directory replaced is empty: none of it is there): refused.  Control: natively the
    open reads the secret."""
    program = build("escape/fresh_removed.c")
    native_control(lambda n: _run(program, Scene.make(tmp_path, f"control{n or ''}"), "stale",
                                  False))
    s = Scene.make(tmp_path, "traced")
    out = attack(program, "stale", s.secret, s.work, scene=s, env=loop,
                 policy_text=fresh_policy(s, program))
    assert_blocked(out)
    assert "EMFILE" in out.stdout and out.detail.endswith("EACCES"), str(out)


@dataclass
class _Mounted(Scene):
    """A scene whose secret is on a mount the test process does not see: its inode and
    device as read where it is."""

    ino: str = ""
    dev: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        return {"ESC_SECRET_INO": self.ino, "ESC_SECRET_DEV": self.dev,
                "ESC_MARKER": str(self.marker), **extra}


def _xdev_run(program: Path, tmp_path: Path, name: str, env: dict[str, str] | None,
              traced: bool):
    """fresh_removed xdev with the secret on a tmpfs mounted at ``work/mnt`` in a mount
    namespace of the run's own (conftest.own_mount_namespace: never the other tests'
    tracers'), where the control or systrace runs too."""
    s = Scene.make(tmp_path, name)
    mnt = s.work / "mnt"
    mnt.mkdir()
    with own_mount_namespace() as enter:
        if subprocess.run([*enter, "mount", "-t", "tmpfs", "-o", "size=1m", "r33", str(mnt)],
                          capture_output=True).returncode != 0:
            pytest.skip("no tmpfs mount here")
        secret = mnt / "secret.txt"
        made = subprocess.run(
            [*enter, "sh", "-c", 'printf "%s\\n" "$1" > "$2" && stat -c "%i %d" "$2"', "sh",
             SECRET_MAGIC, str(secret)], check=True, capture_output=True, text=True)
        ino, dev = made.stdout.split()
        s = _Mounted(s.root, mnt, secret, s.pubd, s.decoy, s.work, ino, dev)
        if not traced:
            return attack(enter[0], *enter[1:], program, "xdev", s.secret, s.work, scene=s,
                          env=env, policy_text=None)
        return attack(program, "xdev", s.secret, s.work, scene=s, env=env,
                      policy_text=fresh_policy(s, program), tracer=[*enter, *SYSTRACE])


def test_a_name_a_failed_rename_gave_is_not_the_runs(build, tmp_path: Path,
                                                     loop: dict[str, str]) -> None:
    """Review 33: a rename's new name is noted as made at the call's entry; across mounts
    the kernel answers EXDEV and nothing moves, so the secret's own name was the run's to a
    fresh rule and read (ESCAPED on 1847ffa, both loops).  Now a move across mounts notes
    nothing new (and forgets the old name, as a refusal would): refused.  Control: natively
    the open reads the secret."""
    if os.geteuid() != 0:
        pytest.skip("mounts a tmpfs")
    program = build("escape/fresh_removed.c")
    native_control(lambda n: _xdev_run(program, tmp_path, f"control{n or ''}", None, False))
    out = _xdev_run(program, tmp_path, "traced", loop, True)
    assert_blocked(out)
    assert "EXDEV" in out.stdout and out.detail.endswith("EACCES"), str(out)
