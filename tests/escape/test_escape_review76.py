"""Review 76: close 48 read as an attacker -- a round trip of a directory a program names to
look generated.

Close 48 compares a moved directory place by place, but keeps one case as before: an older
directory whose moving rule is of a generated name's shape (the learner's ``run-[0-9]...``
of a counter, a date, a UUID) is granted, by that shape, the classes the run used on older
files below it over the shape's whole trees.  The program chooses its directory's name:
``learn_roundtrip NAME`` with NAME of such a shape reads NAME/data/a.txt and moves NAME
aside and back; the next run reads NAME/secret/secret.txt, never read, listed or named while
learning."""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, SYSTRACE, assert_blocked, attack, never, policy, require_real

from conftest import own_mount_namespace, run_systrace


@pytest.mark.parametrize("name", ["run-101", "2026-12-08", "work-2026",  # (held: no shape)
                                  "backup-2026-12-08_20-05-29",  # a date and time
                                  "0f8fad5b-d9cb-469f-a165-70867728950e"])  # a UUID
def test_a_directory_named_to_look_generated_moved_aside_and_back_grants_no_read_of_its_tree(
        build, tmp_path: Path, loop: dict[str, str], name: str) -> None:
    """Learned: ``learn_roundtrip NAME``; enforced: ``ATTACK=1 learn_roundtrip NAME`` reads
    NAME/secret/secret.txt.  Control: natively the read gets the secret."""
    program = build("escape/learn_roundtrip.c")
    work = tmp_path / name
    (work / "data").mkdir(parents=True)
    (work / "data" / "a.txt").write_text("public\n")
    (work / "secret").mkdir()
    (work / "secret" / "secret.txt").write_text(SECRET_MAGIC + "\n")
    control = subprocess.run([str(program), name], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), name],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith(f"BLOCKED: read {name}/data/a.txt, moved {name}"), \
        first.stdout + first.stderr
    text = learned.read_text()
    traced = run_systrace(["-p", str(learned), "--", str(program), name],
                          cwd=tmp_path, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr + text


def test_a_uuid_named_directory_s_round_trip_grants_no_read_of_another_uuid_named_tree(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Learned: ``learn_roundtrip A`` (A a UUID: reads A/data/a.txt, moves A aside and back).
    Enforced: ``ATTACK=1 learn_roundtrip B`` -- B another directory of the user's named by a
    UUID (a vault's, a VM's), which the learning run never touched.  Control: natively the
    read gets B's secret."""
    program = build("escape/learn_roundtrip.c")
    first_name = "0f8fad5b-d9cb-469f-a165-70867728950e"
    other_name = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    (tmp_path / first_name / "data").mkdir(parents=True)
    (tmp_path / first_name / "data" / "a.txt").write_text("public\n")
    (tmp_path / other_name / "secret").mkdir(parents=True)
    (tmp_path / other_name / "secret" / "secret.txt").write_text(SECRET_MAGIC + "\n")
    control = subprocess.run([str(program), other_name], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env={"ATTACK": "1"})
    assert control.stdout.startswith("ESCAPED"), control.stdout
    learned = tmp_path / "learned.toml"
    first = run_systrace(["-A", "-o", str(learned), "--", str(program), first_name],
                         cwd=tmp_path, env=loop)
    assert first.stdout.startswith(f"BLOCKED: read {first_name}/data/a.txt"), \
        first.stdout + first.stderr
    text = learned.read_text()
    traced = run_systrace(["-p", str(learned), "--", str(program), other_name],
                          cwd=tmp_path, env={"ATTACK": "1", **loop})
    assert "ESCAPED" not in traced.stdout, traced.stdout + traced.stderr + text


@pytest.fixture
def mqueue(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """An ``mqueue`` file system mounted at ``tmp_path/mq`` in a mount namespace of the
    test's own (as test_escape_close50's): (the namespace's command prefix, the mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting mqueue needs root")
    mnt = tmp_path / "mq"
    mnt.mkdir()
    with own_mount_namespace() as enter:
        done = subprocess.run([*enter, "mount", "-t", "mqueue", "none", str(mnt)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount mqueue: {done.stderr.strip()}")
        try:
            yield enter, mnt
        finally:
            subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True,
                           check=False)


def _queue(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.mq_open(f"/{name}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    os.close(fd)


def _unqueue(name: str) -> None:
    ctypes.CDLL(None, use_errno=True).mq_unlink(f"/{name}".encode())


def test_a_queue_name_a_thread_rewrites_at_the_stop_is_held(
        build: Callable[..., Path], mqueue: tuple[list[str], Path], tmp_path: Path,
        loop: dict[str, str]) -> None:
    """``mq_name_race PUB SECRET``: a thread flips mq_open's name between two queues of one
    length; under ``never fsread, fswrite MOUNT/SECRET`` every open must be of the name
    decided (DecodedCall.queue_name holds it).  Control: natively SECRET's queue opens."""
    enter, mnt = mqueue
    program = build("escape/mq_name_race.c")
    pub, secret = f"r76pub-{os.getpid()}", f"r76sec-{os.getpid()}"
    try:
        for name in (pub, secret):
            _unqueue(name)
            _queue(name)
        require_real(attack(enter[0], *enter[1:], program, pub, secret,
                            policy_text=None, scene=None))
        text = policy(never(["fsread", "fswrite"], path=f"{mnt}/{secret}"))
        traced = attack(program, pub, secret, policy_text=text, scene=None,
                        tracer=[*enter, *SYSTRACE], env=loop, timeout=120)
        assert_blocked(traced)
        assert "; 0 refused" not in traced.stdout, traced.stdout  # (the rule did refuse)
    finally:
        for name in (pub, secret):
            _unqueue(name)
