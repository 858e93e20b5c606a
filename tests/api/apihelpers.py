"""Helpers shared by the library API tests (tests/api): free ports, record filters."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from typing import Any

from systrace_py.records import Syscall


def free_port() -> int:
    """A TCP port free on both 127.0.0.1 and ::1 (so one number serves both families)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def collect(ctx: list[Any], pid: int, record: Any) -> list[Any]:
    """The simplest handler: keep every record."""
    ctx.append(record)
    return ctx


def exits(records: list[Any], name: str, **fields: Any) -> list[Syscall]:
    """Exit records of ``name`` whose fields equal ``fields``."""
    return [r for r in records if isinstance(r, Syscall) and r.name == name and not r.is_entry
            and all(getattr(r, k) == v for k, v in fields.items())]


def entries(records: list[Any], name: str, **fields: Any) -> list[Syscall]:
    return [r for r in records if isinstance(r, Syscall) and r.name == name and r.is_entry
            and all(getattr(r, k) == v for k, v in fields.items())]


def one(found: list[Syscall]) -> Syscall:
    assert len(found) == 1, found
    return found[0]


@contextlib.contextmanager
def tcp_server(host: str = "127.0.0.1") -> Iterator[tuple[int, list[bytes]]]:
    """A local server that accepts connections and keeps what each one sends first."""
    import threading

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(8)
    srv.settimeout(0.2)
    got: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    got.append(conn.recv(100) or b"(connected)")
                except OSError:
                    got.append(b"(connected)")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1], got
    finally:
        done.set()
        thread.join(2)
        srv.close()


@contextlib.contextmanager
def unix_server(path: str | os.PathLike[str]) -> Iterator[list[bool]]:
    """A unix stream server at ``path`` that notes (True) each connection it accepts."""
    import threading

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(os.fspath(path))
    srv.listen(4)
    srv.settimeout(10)
    got: list[bool] = []

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        conn.close()
        got.append(True)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        srv.close()
        thread.join(2)
