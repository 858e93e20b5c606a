"""sendmmsg's msg_len fields, which the kernel writes between one message and the next: a
later message whose name or control data lies over one is refused (decode._over_msg_len,
attacked by tests/escape/net_mmsglen.c).  Checked against the plain definition: any byte of
the name (cut to a sockaddr_storage) or of the control data in the msg_len of a message
before it."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine.decode import MMSGHDR_SIZE, SOCKADDR_MAX, _over_msg_len

ARRAY = 0x10000


def header(name: int, name_length: int, control: int, control_length: int) -> bytes:
    raw = bytearray(56)
    struct.pack_into("<Qi", raw, 0, name, name_length)
    struct.pack_into("<QQ", raw, 32, control, control_length)
    return bytes(raw)


def plain(index: int, name: int, name_length: int, control: int, control_length: int) -> bool:
    written = {ARRAY + MMSGHDR_SIZE * j + 56 + b for j in range(index) for b in range(4)}
    name_bytes = range(name, name + min(name_length, SOCKADDR_MAX)) if name else range(0)
    return any(b in written for b in name_bytes) or \
        any(b in written for b in range(control, control + control_length))


near = st.integers(ARRAY - 200, ARRAY + MMSGHDR_SIZE * 6 + 200)


@given(index=st.integers(1, 5), name=st.one_of(st.just(0), near),
       name_length=st.integers(-4, 200), control=near, control_length=st.integers(0, 300))
def test_a_name_or_control_over_an_earlier_msg_len_is_found(index, name, name_length, control,
                                                               control_length):
    raw = header(name, name_length, control, control_length)
    assert _over_msg_len(ARRAY, index, raw) == plain(index, name, name_length, control,
                                                     control_length)


def test_the_attacks_layout_is_found_and_its_neighbours_are_not():
    # net_mmsglen.c: message 1's sockaddr_in at offset 50 of message 0 (sin_addr ends in msg_len)
    assert _over_msg_len(ARRAY, 1, header(ARRAY + 50, 16, 0, 0))
    assert not _over_msg_len(ARRAY, 1, header(ARRAY + 40, 16, 0, 0))   # ends at byte 56
    assert not _over_msg_len(ARRAY, 1, header(ARRAY + 60, 16, 0, 0))   # past msg_len
    assert not _over_msg_len(ARRAY, 1, header(ARRAY + MMSGHDR_SIZE + 50, 16, 0, 0))
