"""Tracee memory: read exactly where and as far as the kernel's own copy reads (and never an
exception other than TraceeMemoryError, whatever the address); the /proc/PID/mem descriptors
(for writes) are a bounded cache, so a tree of thousands of processes cannot exhaust the
tracer's descriptors (every held call would then fail)."""

from __future__ import annotations

import errno
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from server_lib import Server, lone_server

from conftest import REPO
from systrace_py import procfs
from systrace_py.engine import memory
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(["sleep", "30"]) for _ in range(6)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def first_mapping(pid: int) -> tuple[int, bytes]:
    """The start of the program's first mapping and its first bytes (an ELF header)."""
    with open(f"/proc/{pid}/maps") as maps:
        start = int(maps.readline().split("-")[0], 16)
    return start, b"\x7fELF"


def test_maps_descriptors_count_under_the_same_limit(sleepers, monkeypatch):
    """The maps descriptor the ring question keeps (maps_descriptor, ring36) is counted with
    the memory's own: no more than OPEN_LIMIT address spaces keep descriptors, however many
    processes a tree has alive; a closed one is opened again at its next question, and each
    answers of its own process (a mapping of it is found there)."""
    from systrace_py.engine.tracee import in_kernel_ring
    monkeypatch.setattr(memory, "OPEN_LIMIT", 2)
    memories = [TraceeMemory(p.pid) for p in sleepers]
    try:
        for _ in range(2):
            for mem, proc in zip(memories, sleepers, strict=True):
                mem.descriptor()
                maps = mem.maps_descriptor()
                assert os.readlink(f"/proc/self/fd/{maps}") == f"/proc/{proc.pid}/maps"
                address, _ = first_mapping(proc.pid)
                assert in_kernel_ring(proc.pid, [(address, 16)], maps) is False
                assert memory.open_descriptors() <= 2
    finally:
        for mem in memories:
            mem.close()
    assert memory.open_descriptors() == 0


def test_descriptors_stay_under_the_limit_and_writes_still_work(sleepers, monkeypatch):
    monkeypatch.setattr(memory, "OPEN_LIMIT", 2)
    memories = [TraceeMemory(p.pid) for p in sleepers]
    try:
        for _ in range(3):  # every process written again after its descriptor was closed
            for mem, proc in zip(memories, sleepers, strict=True):
                address, magic = first_mapping(proc.pid)
                mem.write(address, magic)  # (what is there already: the process goes on)
                assert mem.read_exact(address, 4) == magic
                assert memory.open_descriptors() <= 2
    finally:
        for mem in memories:
            mem.close()
    assert memory.open_descriptors() == 0


#: test_a_descriptor_limit_below_the_cache_makes_room_instead_of_failing's body, run in an
#: interpreter of its own: in a test worker another thread (one an earlier test left, the
#: worker's own) may take the two descriptors the limit leaves free (CI: EMFILE with nothing
#: cached to close)
_LIMIT_BELOW_THE_CACHE = r"""
import os, resource, sys
from systrace_py.engine import memory
from systrace_py.engine.memory import TraceeMemory
pids = [int(pid) for pid in sys.argv[1:]]
starts = []
for pid in pids:
    with open(f"/proc/{pid}/maps") as maps:
        starts.append(int(maps.readline().split("-")[0], 16))
memories = [TraceeMemory(pid) for pid in pids]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
# room for what is open now and two more: the third process must evict the first.  The
# limit is on descriptor numbers, so holes are filled first.
highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
while os.open("/dev/null", os.O_RDONLY) < highest:
    pass
resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 3, hard))
for mem, address in zip(memories, starts, strict=True):
    mem.write(address, b"\x7fELF")  # (what is there already: the process goes on)
print(memory.open_descriptors(), len(memories))
"""


def test_a_descriptor_limit_below_the_cache_makes_room_instead_of_failing(sleepers):
    run = subprocess.run([sys.executable, "-c", _LIMIT_BELOW_THE_CACHE,
                          *(str(p.pid) for p in sleepers)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    still_open, processes = map(int, run.stdout.split())
    assert still_open < processes  # some were closed to make room


# --- reading as the kernel reads ---------------------------------------------------------------
# Against a real process (tests/progs/syscall_server.c, not traced: the tracer reads its memory
# from outside) with a PROT_NONE page, a write-only page, an unmapped page, strings at the ends
# of pages.  The kernel's own answer for each case is tested in tests/escape/test_escape_inputs.py.

@pytest.fixture(scope="module")
def server(build) -> Iterator[Server]:
    with lone_server(build("progs/syscall_server.c")) as running:
        yield running


@pytest.fixture
def mem(server) -> Iterator[TraceeMemory]:
    memory_of = TraceeMemory(server.pid)
    yield memory_of
    memory_of.close()


def fault(call: Callable[[], object], err: int = errno.EFAULT) -> None:
    with pytest.raises(TraceeMemoryError) as caught:
        call()
    assert caught.value.errno == err, caught.value


def test_a_readable_object_reads_whole(server, mem):
    assert mem.read_cstring(server.address("file")) == b"w/file"
    assert mem.read_exact(server.address("inet_peer"), 2) == struct.pack("<H", socket.AF_INET)


@pytest.mark.parametrize("address", [
    0, 16, 4095, 1 << 63, (1 << 64) - 1, (1 << 64) - 8, 0xFFFF888000000000,
    0xFFFFFFFFFF600000,  # the vsyscall page: in /proc/PID/maps, but not user memory
    -1,                  # (a register value a monitor wrote back signed)
], ids=hex)
def test_no_address_raises_anything_but_efault(mem, address):
    fault(lambda: mem.read(address, 16))
    fault(lambda: mem.read_cstring(address))
    fault(lambda: mem.read_pointers(address, 10))


def test_prot_none_and_unmapped_pages_are_efault(server, mem):
    page = server.page
    for address in (server.region + page, server.region + 3 * page, server.region + 7 * page):
        fault(lambda address=address: mem.read(address, 1))
        fault(lambda address=address: mem.read_cstring(address))


def test_a_read_into_an_unreadable_page_stops_where_the_page_does(server, mem):
    page = server.page
    start = server.region + page - 8
    assert len(mem.read(start, 64)) == 8  # the part before page 1
    fault(lambda: mem.read_exact(start, 64))


def test_write_only_pages_read_as_the_kernel_reads_them(server, mem):
    """process_vm_readv refuses a page without PROT_READ; the kernel's own copy reads it (x86
    has no write-only pages), so the tracer does too."""
    page = server.page
    copy = server.region + 2 * page
    assert mem.read_cstring(copy + server.at["secret"]) == b"secd/secret"
    # a read through the write-only page stops at the unmapped page 3
    assert mem.read(copy, 2 * page) == mem.read(server.region, page)
    assert len(mem.read(copy + page - 16, 64)) == 16


def test_strings_at_page_ends(server, mem):
    """A string whose NUL is the last readable byte is whole; one running into PROT_NONE is
    EFAULT; no NUL within PATH_MAX bytes is ENAMETOOLONG even when PROT_NONE follows them."""
    page = server.page
    assert mem.read_cstring(server.address("secret_at_page_end")) == b"secd/secret"
    path = mem.read_cstring(server.address("long_path"))
    assert len(path) == 4094 and path.endswith(b"./w/file")
    no_nul = server.address("no_nul_4096")  # 4096 bytes, then page 7 (PROT_NONE)
    fault(lambda: mem.read_cstring(no_nul), errno.ENAMETOOLONG)
    fault(lambda: mem.read_cstring(no_nul + 1))
    fault(lambda: mem.read_cstring(server.region + 7 * page - 300))
    fault(lambda: mem.read_cstring(no_nul, 131072, errno.E2BIG))  # exec's limit is further
    fault(lambda: mem.read_cstring(no_nul, 100, errno.E2BIG), errno.E2BIG)


def test_pointer_arrays_end_at_their_null_or_fail(server, mem):
    argv = mem.read_pointers(server.address("argv"), 10)
    assert [mem.read_cstring(p) for p in argv] == [b"nope", b"arg"]
    fault(lambda: mem.read_pointers(server.address("argv"), 1), errno.E2BIG)
    # no NULL: it runs on through page 5 and 6 into page 7
    fault(lambda: mem.read_pointers(server.address("argv_runs_on"), 1 << 20))


def _alone(mem: TraceeMemory, address: int, limit: int) -> bytes | int:
    """read_cstring's answer as an exec reads a string: the bytes, or the errno."""
    try:
        return mem.read_cstring(address, limit, errno.E2BIG)
    except TraceeMemoryError as exc:
        return exc.errno or 0


@pytest.mark.parametrize("limit", [131072, 100, 5])
def test_strings_read_by_windows_are_those_read_alone(server, mem, limit):
    """read_cstrings (an exec's argv and environment a window at a time) gives, for every
    string it answers, what read_cstring gives alone -- never a string where read_cstring
    fails: not one cut by a PROT_NONE page, an unmapped page or the end of what a window
    read, nor one whose NUL lies past the limit (E2BIG) -- and it answers the strings that
    lie together in readable memory (else it would save nothing).  Addresses every 37 bytes
    through all eight pages, the page ends and the named objects, in one call."""
    page = server.page
    named = [server.address(name) for name in server.at]
    ends = [server.region + p * page + d for p in range(8) for d in (-13, -12, -1, 0, 1)
            if p * page + d >= 0]
    addresses = [server.region + at for at in range(0, 8 * page, 37)] + named + ends
    found = mem.read_cstrings(addresses, limit)
    assert found, "no string read by a window"
    answered_in_page_0 = 0
    for address in addresses:
        alone = _alone(mem, address, limit)
        if address in found:
            assert found[address] == alone, hex(address - server.region)
            answered_in_page_0 += address < server.region + page
    assert answered_in_page_0 >= 50
    # a window cut short by page 7 (PROT_NONE) after one that read page 0's strings: what
    # the buffer held past the short read is no part of the string
    cut = server.region + 7 * page - 300
    assert cut not in mem.read_cstrings([server.region + 16, cut], limit)
    # the cases read_cstring fails, never answered by a window
    for address in (server.address("no_nul_4096"), server.region + 7 * page - 300,
                    server.region + page - 8 + 4 * page):
        if not isinstance(_alone(mem, address, limit), bytes):
            assert address not in found


def test_a_process_that_is_gone_is_esrch_not_efault(build):
    with lone_server(build("progs/syscall_server.c")) as gone:
        memory_of = TraceeMemory(gone.pid)
        gone.proc.kill()
        gone.proc.wait()
        fault(lambda: memory_of.read(gone.address("file"), 8), errno.ESRCH)


def test_a_process_whose_leader_exited_is_reached_through_its_thread(build, tmp_path):
    # (tests/engine/test_leaderless.py traces such a process; here its memory, from outside)
    stop = tmp_path / "stop"
    target = subprocess.Popen([str(build("progs/looper.c")), "/nonexistent", str(stop),
                               "leaderless"], stdout=subprocess.PIPE, text=True)
    try:
        target.stdout.readline()  # the thread's first try: the leader is a zombie by then
        assert procfs.read_stat(target.pid)[procfs.STATE] == b"Z"  # type: ignore[index]
        (tid,) = (int(t) for t in os.listdir(f"/proc/{target.pid}/task") if int(t) != target.pid)
        address, magic = first_mapping(tid)
        process = TraceeMemory(target.pid)
        fault(lambda: process.read_exact(address, 4), errno.ESRCH)  # the zombie has no memory
        thread = process.of_task(tid)
        assert thread.read_exact(address, 4) == magic
        thread.write(address, magic)  # (a descriptor opened through the thread)
        assert memory.open_descriptors() == 1
        process.close()
        assert memory.open_descriptors() == 0
    finally:
        stop.write_text("")
        target.wait(timeout=20)
