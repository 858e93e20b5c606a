"""Class 5: I/O the kernel does for the program without the matching system call -- io_uring
(openat, connect as ring operations), open_by_handle_at (no path at all), fanotify (the kernel
opens the file for the listener), and the other calls that act where the tracer cannot see:
refused unless the policy names them."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    TcpListener,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
    read_never,
    require_real,
)


def test_io_uring_openat_of_the_secret(build, tmp_path):
    controlled_and_blocked(tmp_path, build("escape/kio_uring.c"),
                           lambda s: ["openat", s.secret], lambda s: read_never(s.secret))


def test_io_uring_connect_to_a_refused_port(build, tmp_path):
    program = build("escape/kio_uring.c")
    listener = TcpListener()
    try:
        refuse = policy(never("net-connect", "ECONNREFUSED", address="127.0.0.1",
                              port=listener.port))
        require_real(attack(program, "connect", listener.port, policy_text=None, scene=None))
        listener.reset()
        traced = attack(program, "connect", listener.port, policy_text=refuse, scene=None)
        assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced
        assert listener.accepted == 0
    finally:
        listener.close()


def test_io_uring_runs_when_the_policy_names_it(build, tmp_path):
    """"Refused unless the policy explicitly permits them": naming the alias is that."""
    s = Scene.make(tmp_path)
    text = policy(permit("io-uring"), never("fsread", path=str(s.secret)))
    out = attack(build("escape/kio_uring.c"), "openat", s.decoy, policy_text=text, scene=s)
    assert out.verdict == "BLOCKED" and "opened something else" in out.detail, out


def file_handle(path: Path) -> tuple[int, str]:
    """(handle_type, hex bytes) of a file, from name_to_handle_at outside the traced tree."""

    class FileHandle(ctypes.Structure):
        _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                    ("f_handle", ctypes.c_ubyte * 128)]

    libc = ctypes.CDLL(None, use_errno=True)
    fh, mount_id = FileHandle(handle_bytes=128), ctypes.c_int()
    if libc.name_to_handle_at(-100, str(path).encode(), ctypes.byref(fh),
                              ctypes.byref(mount_id), 0) != 0:
        pytest.skip(f"name_to_handle_at: errno {ctypes.get_errno()} (no handles on this fs)")
    return fh.handle_type, bytes(fh.f_handle[: fh.handle_bytes]).hex()


def test_open_by_handle_learned_elsewhere(build, tmp_path):
    def args(s: Scene) -> list[object]:
        kind, hexed = file_handle(s.secret)
        return ["given", s.secret, kind, hexed]

    controlled_and_blocked(tmp_path, build("escape/kio_handle.c"), args,
                           lambda s: read_never(s.secret))


def test_open_by_handle_made_by_the_program(build, tmp_path):
    controlled_and_blocked(tmp_path, build("escape/kio_handle.c"),
                           lambda s: ["self", s.secret], lambda s: read_never(s.secret))


class SecretReader:
    """An outsider that opens and reads the secret every 20 ms (a legitimate user of it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            self.path.read_bytes()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


def test_fanotify_hands_over_a_descriptor_of_the_secret(build, tmp_path):
    readers: list[SecretReader] = []

    def setup(s: Scene) -> None:
        readers.append(SecretReader(s.secret))

    try:
        controlled_and_blocked(tmp_path, build("escape/kio_fanotify.c"), lambda s: [s.secd, 2],
                               lambda s: read_never(s.secret), setup=setup)
    finally:
        for reader in readers:
            reader.close()


def test_unsafe_calls_are_refused_under_a_permissive_default(build, tmp_path):
    """default = "permit" and not one rule: every unsafe call still gets EPERM."""
    s = Scene.make(tmp_path)
    program = build("escape/kio_unsafe.c")
    require_real(attack(program, policy_text=None, scene=s))
    traced = attack(program, policy_text=policy(), scene=s)
    assert traced.verdict == "BLOCKED", traced


def test_an_unsafe_call_reached_through_a_device_is_decided_as_that_call(build, tmp_path):
    """/dev/userfaultfd hands out what the unsafe userfaultfd call makes (ioctl
    USERFAULTFD_IOC_NEW): neither the open nor the ioctl was that call, so under a permissive
    default a program had a userfaultfd.  Now the request is decided as userfaultfd (EPERM
    unless a rule names it) and, when permitted, marks the address space as the call does.
    Escaped before."""
    s = Scene.make(tmp_path)
    program = build("escape/kio_uffd_dev.c")
    require_real(attack(program, policy_text=None, scene=s))
    traced = attack(program, policy_text=policy(), scene=s, options=["-v"])
    assert traced.verdict == "BLOCKED" and "EPERM" in traced.detail, traced
    assert "a rule naming userfaultfd lifts this" in traced.stderr, traced
    lifted = attack(program, policy_text=policy(permit("userfaultfd")), scene=s)
    assert lifted.verdict == "ESCAPED", lifted
