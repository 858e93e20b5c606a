"""Decoder.bound_sockets (the unix sockets a bind of the run bound to a file it made) stays
bounded by the sockets still there: past its limit the gone ones are dropped (red team 43's
"found and left": ~50 bytes a bind, forever).  Real sockets of this process, asked of the
kernel's sock_diag, as the tracer asks."""

from __future__ import annotations

import os
import resource
import socket

from systrace_py.engine import decode
from systrace_py.engine import ptrace_ops as pt


def _inode(sock: socket.socket) -> int:
    return int(os.readlink(f"/proc/self/fd/{sock.fileno()}")[8:-1])


def test_live_unix_sockets_lists_this_process_sockets_and_not_closed_ones():
    a, b = socket.socketpair(socket.AF_UNIX)
    live_a, live_b = _inode(a), _inode(b)
    gone = socket.socket(socket.AF_UNIX)
    gone_inode = _inode(gone)
    gone.close()
    try:
        live = pt.live_unix_sockets()
        assert live is not None
        assert {live_a, live_b} <= live
        assert gone_inode not in live
    finally:
        a.close()
        b.close()


def test_the_sockets_gone_are_dropped_past_the_limit_and_the_live_ones_kept(tmp_path):
    decoder = decode.Decoder()
    kept = []
    for i in range(3):  # bound to files, as the ones a bind of the run noted
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / f"s{i}"))
        kept.append(sock)
        decoder.note_bound(_inode(sock))
    try:
        for _ in range(decode.BOUND_SOCKETS_KEPT + 200):  # made and closed: gone
            sock = socket.socket(socket.AF_UNIX)
            decoder.note_bound(_inode(sock))
            sock.close()
        assert {_inode(sock) for sock in kept} <= decoder.bound_sockets
        # dropped once past the limit: what is left is the live ones and what came after
        assert len(decoder.bound_sockets) < decode.BOUND_SOCKETS_KEPT
        # still the run's: the unix_socket_at of their files is among them
        for i in range(len(kept)):
            assert pt.unix_socket_at(str(tmp_path / f"s{i}")) in decoder.bound_sockets
    finally:
        for sock in kept:
            sock.close()


def test_the_limit_doubles_over_what_is_live(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < decode.BOUND_SOCKETS_KEPT + 100:  # (1025 sockets open at once)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    decoder = decode.Decoder()
    live = [socket.socket(socket.AF_UNIX) for _ in range(decode.BOUND_SOCKETS_KEPT + 1)]
    try:
        for sock in live:
            decoder.note_bound(_inode(sock))
        assert len(decoder.bound_sockets) == decode.BOUND_SOCKETS_KEPT + 1
        # all live: none dropped, and no dump again until twice as many
        assert decoder._bound_limit == 2 * (decode.BOUND_SOCKETS_KEPT + 1)
    finally:
        for sock in live:
            sock.close()
