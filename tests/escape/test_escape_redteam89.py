"""Red team 89: calls of the same effect as a path call that name no path (issue 11).

POSIX message queues are files: the ipc namespace's ``mqueue`` file system, mounted wherever
a root mounts it (``/dev/mqueue`` under systemd), shows each queue as ``MOUNT/NAME``.
``mq_unlink(NAME)`` removes that file, ``mq_open(NAME, O_CREAT)`` makes it (as an
``open(MOUNT/NAME, O_CREAT)`` does: mqueue's create), ``mq_timedsend`` writes it (its
``QSIZE`` grows) and ``mq_timedreceive`` reads its messages -- the same effects as the
``unlink``, create, write and read the issue's policy refuses by path, by calls that name
no path.  docs/security.md classes them as "not files" (its *Limits*, first item); under
``never fsread, fswrite MOUNT/**`` an ``rm MOUNT/q`` is refused (EACCES) while
``mq_unlink("q")`` removes it.  ESCAPED on main 57223f88, both loops, every mode (docs
text: red team 89); closed by close 50 (syscalls.AS_PATHS: decided as the open and unlink of
the queue's file on each mqueue mount, syslog's reads as opens of /dev/kmsg, /proc/kmsg)."""

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
    """An ``mqueue`` file system mounted at ``tmp_path/mq`` in a mount namespace of the test's
    own (conftest.own_mount_namespace).  Yields (the namespace's command prefix, the mount)."""
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
    """Make the queue NAME of this ipc namespace (the test's, the tree's too) holding
    ``message``; the mount shows it as MOUNT/NAME."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_open.restype = ctypes.c_int
    fd = libc.mq_open(f"/{name}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    if message is not None:
        assert libc.mq_send(fd, message, len(message), 0) == 0, \
            os.strerror(ctypes.get_errno())
    os.close(fd)


def _shown(enter: list[str], path: Path) -> bool:
    """Whether the mount (in the test's own mount namespace) shows ``path``."""
    return subprocess.run([*enter, "test", "-e", str(path)], check=False).returncode == 0


def _unqueue(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_unlink(f"/{name}".encode())


@pytest.mark.parametrize("mode", ["unlink", "create", "send", "receive"])
def test_a_message_queue_in_a_refused_directory_is_not_reached(
        build: Callable[..., Path], mqueue: tuple[list[str], Path], mode: str,
        loop: dict[str, str]) -> None:
    """``mq_refused_dir.c MODE NAME`` under ``never fsread, fswrite MOUNT/**``, the queue
    MOUNT/NAME (made by the test, the secret's message in it).  Control: natively the call
    acts on MOUNT/NAME (removed, made, written, read).  Traced: it must be refused, as the
    ``rm``, ``open(O_CREAT)``, write and read of MOUNT/NAME are."""
    enter, mnt = mqueue
    program = build("escape/mq_refused_dir.c")
    name = f"rt89-{mode}-{os.getpid()}"

    def setup() -> None:
        _unqueue(name)
        if mode != "create":
            _queue(name, SECRET_MAGIC)

    try:
        setup()
        native = attack(enter[0], *enter[1:], program, mode, name, policy_text=None,
                        scene=None)
        require_real(native)
        setup()
        assert _shown(enter, mnt / name) == (mode != "create")
        text = policy(never(["fsread", "fswrite"], path=f"{mnt}/**"))
        traced = attack(program, mode, name, policy_text=text, scene=None,
                        tracer=[*enter, *SYSTRACE], env=loop)
        assert_blocked(traced)
        assert _shown(enter, mnt / name) == (mode != "create"), "the queue's file changed"
    finally:
        _unqueue(name)


def test_the_kernel_log_by_syslog_under_a_rule_refusing_dev_kmsg(
        build: Callable[..., Path], loop: dict[str, str]) -> None:
    """``kmsg_syslog.c MARKER``: a line the test writes to /dev/kmsg, read back by syslog(2)
    (``SYSLOG_ACTION_READ_ALL``, dmesg's call) under ``never fsread, fswrite`` of /dev/kmsg and
    /proc/kmsg -- the same ring's text, by a call that names no path and that the prefilter
    lets run.  Control: natively the log read holds the marker (as root here:
    kernel.dmesg_restrict is 1; where it is 0 any user reads it so).  ESCAPED on main
    57223f88, both loops; closed by close 50 (decided as an open of /dev/kmsg, /proc/kmsg)."""
    if not os.access("/dev/kmsg", os.W_OK):
        pytest.skip("writing /dev/kmsg needs root")
    program = build("escape/kmsg_syslog.c")
    marker = f"rt89-kmsg-{os.getpid()}-{loop.get('SYSTRACE_NO_CLOOP', '0')}"
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write(f"{marker}\n")
    require_real(attack(program, marker, policy_text=None, scene=None))
    text = policy(never(["fsread", "fswrite"], path="{/dev/kmsg,/proc/kmsg}"))
    assert_blocked(attack(program, marker, policy_text=text, scene=None, env=loop))
