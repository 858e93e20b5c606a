"""The kernel-ring tests of engine/tracee.py read a maps line's name field (one home:
``_is_kernel_ring``), never the whole line: a file whose name holds ``socket:[`` is no ring,
and a ring is found whatever its permissions."""

from __future__ import annotations

import mmap
import os
import socket
from pathlib import Path

import pytest

from systrace_py.engine.tracee import _mapping_name, kernel_ring_mappings, shared_mappings


def test_the_name_field_of_a_maps_line() -> None:
    assert _mapping_name(b"7f00-7f01 rw-p 00000000 00:00 0 \n") == b""
    assert _mapping_name(b"7f00-7f01 rw-p 00000000 00:00 0\n") == b""
    assert _mapping_name(b"7f00-7f01 r--p 00000000 00:0e 4242     socket:[77]\n") \
        == b"socket:[77]"
    assert _mapping_name(b"7f00-7f01 r--p 00000000 08:01 12  /tmp/a b socket:[1]\n") \
        == b"/tmp/a b socket:[1]"
    assert _mapping_name(b"7f00-7f01 rw-s 00000000 00:0f 9  anon_inode:[io_uring]\n") \
        == b"anon_inode:[io_uring]"


def test_a_file_named_like_a_socket_is_no_ring(tmp_path: Path) -> None:
    """A file whose name holds " socket:[" mapped privately and shared: no ring (the old line
    test took it for one), its shared mapping a shared range."""
    path = tmp_path / "x socket:[1]"
    path.write_bytes(b"\0" * 4096)
    with open(path, "r+b") as f:
        private = mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_PRIVATE)
        shared = mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_SHARED)
    try:
        rings = kernel_ring_mappings(os.getpid())
        assert rings is not None and rings == ()  # (pytest's own process maps none)
        found = shared_mappings(os.getpid())
        assert found is not None
        assert found[1] is False
    finally:
        private.close()
        shared.close()


def test_a_packet_ring_is_found_by_its_name() -> None:
    """A packet socket's ring mapped privately: a kernel ring, in both readings."""
    try:
        packet = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    try:
        # struct tpacket_req: one block of one page, one frame of one page
        packet.setsockopt(263, 5, (4096).to_bytes(4, "little") + (1).to_bytes(4, "little")
                          + (4096).to_bytes(4, "little") + (1).to_bytes(4, "little"))
        ring = mmap.mmap(packet.fileno(), 4096, flags=mmap.MAP_PRIVATE)
        try:
            rings = kernel_ring_mappings(os.getpid())
            assert rings is not None and len(rings) == 1
            found = shared_mappings(os.getpid())
            assert found is not None and found[1] is True
        finally:
            ring.close()
    finally:
        packet.close()


def test_the_native_loop_names_the_same_rings() -> None:
    """_cloop.c's is_kernel_ring tests the names tracee._is_kernel_ring does (its home)."""
    from systrace_py.engine import tracee

    source = (Path(tracee.__file__).parent.parent / "_cloop.c").read_text()
    body = source[source.index("static int is_kernel_ring("):]
    body = body[:body.index("\n}\n")]
    assert 'strncmp(name, "socket:[", 8)' in body
    for ring in tracee._KERNEL_RINGS:
        assert f'strstr(name, "{ring.decode()}")' in body
    assert body.count("strstr(") == len(tracee._KERNEL_RINGS)
    for name in (b"socket:[5]", b"anon_inode:[io_uring]", b"/[aio] (deleted)"):
        assert tracee._is_kernel_ring(name)
    assert not tracee._is_kernel_ring(b"/tmp/x socket:[1]")
