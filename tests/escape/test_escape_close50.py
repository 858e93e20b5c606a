"""Close 50: calls of a path call's effect that name no path (red team 89, issue 11).

``mq_open`` and ``mq_unlink`` are decided as the open and unlink of the queue's file on every
``mqueue`` mount in view, ``syslog``'s actions 2-5 as reads (and writes) of /dev/kmsg and
/proc/kmsg (syscalls.AS_PATHS; Supervisor._as_path; red team 89's tests,
test_escape_redteam89.py, show the four queue calls and the log read refused).  These show
the rest: a mount of the queue's file alone (a bind mount: mountinfo's root is ``/NAME``)
is that queue's file too, and a queue no rule names is still made, written, read and
removed (the stop holds the name it decided, the call runs)."""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, assert_blocked, attack, never, policy, require_real

from conftest import own_mount_namespace

#: the secret message the receive mode looks for (attack.h SECRET_MAGIC)
SECRET_MAGIC = b"S3CR3T-7f1d9a42-do-not-leak"


@pytest.fixture
def mqueue(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """An ``mqueue`` file system mounted at ``tmp_path/mq`` in a mount namespace of the
    test's own: (the namespace's command prefix, the mount)."""
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


def _queue(name: str, message: bytes | None = None) -> None:
    """Make the queue NAME of this IPC namespace (the tree's too), holding ``message``."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_open.restype = ctypes.c_int
    fd = libc.mq_open(f"/{name}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    if message is not None:
        assert libc.mq_send(fd, message, len(message), 0) == 0, \
            os.strerror(ctypes.get_errno())
    os.close(fd)


def _unqueue(name: str) -> None:
    ctypes.CDLL(None, use_errno=True).mq_unlink(f"/{name}".encode())


def test_a_queue_bound_onto_a_refused_file_is_not_read(
        build: Callable[..., Path], mqueue: tuple[list[str], Path], tmp_path: Path,
        loop: dict[str, str]) -> None:
    """The queue's file bind-mounted onto ``tmp_path/vault/box`` (the queue is shown there
    alone: mountinfo's root ``/NAME``), under ``never fsread, fswrite vault/**``: natively
    ``mq_refused_dir receive NAME`` reads the secret's message from it; traced its mq_open
    is the open of vault/box too, and is refused.  ESCAPED on main 57223f88 (both loops)."""
    enter, mnt = mqueue
    program = build("escape/mq_refused_dir.c")
    name = f"c50-bound-{os.getpid()}"
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "box").touch()
    try:
        _unqueue(name)
        _queue(name, SECRET_MAGIC)
        subprocess.run([*enter, "mount", "--bind", str(mnt / name), str(vault / "box")],
                       check=True)
        require_real(attack(enter[0], *enter[1:], program, "receive", name,
                            policy_text=None, scene=None))
        _queue(name, SECRET_MAGIC)
        text = policy(never(["fsread", "fswrite"], path=f"{vault}/**"))
        traced = attack(program, "receive", name, policy_text=text, scene=None,
                        tracer=[*enter, *SYSTRACE], env=loop)
        assert_blocked(traced)
    finally:
        subprocess.run([*enter, "umount", "-l", str(vault / "box")], capture_output=True,
                       check=False)
        _unqueue(name)


@pytest.mark.parametrize("mode", ["create", "send", "receive", "unlink"])
def test_a_queue_no_rule_names_is_still_reached(
        build: Callable[..., Path], mqueue: tuple[list[str], Path], tmp_path: Path,
        mode: str, loop: dict[str, str]) -> None:
    """Behaviour kept: under a rule refusing another directory (``never fsread, fswrite
    elsewhere/**``: the calls stop, decided as the paths they act on) each queue call runs
    as natively -- the queue made, written, its message read, removed.  Kept from main
    (where they did not stop); here it shows the stop's decision and the name it holds
    (DecodedCall.queue_name) give the kernel the queue the program named."""
    enter, mnt = mqueue
    program = build("escape/mq_refused_dir.c")
    name = f"c50-kept-{mode}-{os.getpid()}"
    (tmp_path / "elsewhere").mkdir()
    try:
        _unqueue(name)
        if mode != "create":
            _queue(name, SECRET_MAGIC)
        text = policy(never(["fsread", "fswrite"], path=f"{tmp_path}/elsewhere/**"))
        traced = attack(program, mode, name, policy_text=text, scene=None,
                        tracer=[*enter, *SYSTRACE], env=loop)
        assert traced.verdict == "ESCAPED", f"the queue call was refused:\n{traced}"
        shown = subprocess.run([*enter, "test", "-e", str(mnt / name)],
                               check=False).returncode == 0
        assert shown == (mode != "unlink")
    finally:
        _unqueue(name)


def test_the_log_read_is_refused_where_every_syslog_stops(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``kmsg_syslog.c`` asks the log's size (action 10) before it reads it all (3), under
    ``never fsread, fswrite`` of /dev/kmsg and /proc/kmsg and a rule permitting ``syslog``,
    with ``--log``: every syslog stops (a rule's permit is logged).  The size is no read of
    the log -- decided by the call's own rule, it runs -- and the read is refused: the rule
    on the file is the stricter.  (A stop of an action that reads no log is decided on no
    file: Supervisor._as_path.)"""
    if not os.access("/dev/kmsg", os.W_OK):
        pytest.skip("writing /dev/kmsg needs root")
    program = build("escape/kmsg_syslog.c")
    marker = f"c50-kmsg-{os.getpid()}-{loop.get('SYSTRACE_NO_CLOOP', '0')}"
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write(f"{marker}\n")
    require_real(attack(program, marker, policy_text=None, scene=None))
    text = policy(never(["fsread", "fswrite"], path="{/dev/kmsg,/proc/kmsg}"),
                  'calls = ["syslog"]\naction = "permit"')
    log = tmp_path / "log.jsonl"
    traced = attack(program, marker, policy_text=text, scene=None, env=loop,
                    options=["--log", str(log)])
    assert_blocked(traced)
    assert '"syslog"' in log.read_text() and '"permit"' in log.read_text(), \
        "the size's syslog did not stop and run"
