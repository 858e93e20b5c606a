"""Protection keys: the tracer reads a task's PKRU and the keys of its mappings, and cuts its
reads where the kernel's copy in that task's context would fault -- process_vm_readv and
/proc/PID/mem (foreign accesses) ignore keys and read those pages.  Against a real process
with keyed pages (tests/progs/pkey_holder.c), stopped by ptrace as at a syscall stop; what
the kernel itself answers is tested in tests/escape/test_escape_inputs.py."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine import pkeys
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.memory import TraceeMemory, TraceeMemoryError


@dataclass
class Holder:
    pid: int
    pkru: int
    key: int
    open_key: int
    region: int
    page: int


@pytest.fixture(scope="module")
def holder(build) -> Iterator[Holder]:
    proc = subprocess.Popen([build("progs/pkey_holder.c")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if line.startswith("SKIPPED"):
        proc.kill()
        proc.wait()
        pytest.skip(line.strip())
    fields = dict(item.split("=") for item in line.split())
    pt.seize(proc.pid, 0)
    pt.interrupt(proc.pid)
    os.waitpid(proc.pid, pt.WALL)
    try:
        yield Holder(proc.pid, int(fields["pkru"], 16), int(fields["key"]),
                     int(fields["open"]), int(fields["region"], 16), int(fields["page"]))
    finally:
        pt.detach(proc.pid)
        proc.stdin.close()
        proc.wait()


def test_the_pkru_read_is_the_one_the_task_set(holder):
    """PTRACE_GETREGSET's XSAVE area at CPUID's offset for component 9: what RDPKRU gave the
    task itself (access disabled for its key, allowed for the other: not the default)."""
    assert pkeys.enabled()
    assert pkeys.pkru(holder.pid) == holder.pkru
    assert holder.pkru >> 2 * holder.key & 1 and not holder.pkru >> 2 * holder.open_key & 3


def test_a_task_that_is_not_stopped_for_us_has_no_pkru_and_no_exception():
    assert pkeys.pkru(os.getpid()) is None  # (not our tracee: ESRCH)


def test_the_keys_of_the_mappings(holder):
    keyed = pkeys.keyed_mappings(holder.pid)
    assert keyed is not None
    r, page = holder.region, holder.page
    assert (r, r + page, holder.key) in keyed
    assert (r + page, r + 2 * page, holder.open_key) in keyed
    assert (r + 2 * page, r + 3 * page, holder.key) in keyed
    exec_only = [key for start, _, key in keyed if start == r + 3 * page]
    assert exec_only and exec_only[0] not in (0, holder.key, holder.open_key)
    assert pkeys.exec_only_mapped(holder.pid)


def test_an_ordinary_process_has_no_keys_and_no_execute_only_mapping():
    with subprocess.Popen(["sleep", "30"]) as proc:
        try:
            assert pkeys.keyed_mappings(proc.pid) == []
            assert not pkeys.exec_only_mapped(proc.pid)
        finally:
            proc.kill()


def test_reads_stop_where_the_tasks_pkru_disables_the_key(holder):
    r, page, pid = holder.region, holder.page, holder.pid
    assert pkeys.readable(pid, pid, r, 16) == 0
    assert pkeys.readable(pid, pid, r + page, page) == page  # its key is allowed
    assert pkeys.readable(pid, pid, r + 2 * page - 4, 100) == 4
    assert pkeys.readable(pid, pid, r + 3 * page, 16) == 0  # execute-only
    assert pkeys.readable(pid, pid, r - 16, 16) == 16  # nothing keyed there


def test_a_pkru_that_cannot_be_read_fails_closed(holder, monkeypatch):
    """No offset for PKRU (no CPUID answer): every non-zero key counts as disabled -- the
    allowed key too -- while key 0 still reads."""
    monkeypatch.setattr(pkeys, "pkru_offset", lambda: None)
    r, page, pid = holder.region, holder.page, holder.pid
    assert pkeys.pkru(pid) is None
    assert pkeys.readable(pid, pid, r + page, page) == 0
    assert pkeys.readable(pid, pid, r - 16, 16) == 16


def test_the_memory_reader_obeys_keys_only_when_told_whose_call_it_reads(holder):
    r, page = holder.region, holder.page
    memory = TraceeMemory(holder.pid)
    try:
        # a foreign reader reads what the kernel's copy in the task could not
        assert memory.read_cstring(r) == b"keyed/path"
        assert memory.read_cstring(r + 2 * page - 4) == b"runs/on"
        memory.keys_of = holder.pid
        for address in (r, r + 2 * page - 4, r + 3 * page):
            with pytest.raises(TraceeMemoryError) as caught:
                memory.read_cstring(address)
            assert caught.value.errno == errno.EFAULT
        assert memory.read_cstring(r + page) == b"plain/path"
        assert memory.read(r + 2 * page - 4, 64) == b"runs"
        with pytest.raises(TraceeMemoryError):
            memory.read_exact(r + 2 * page - 4, 8)
    finally:
        memory.close()


# --- the cut, pure ------------------------------------------------------------------------------

@st.composite
def _keyed_layout(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Non-overlapping mappings (in pages of 16 bytes, to keep byte models small)."""
    bounds = sorted(draw(st.sets(st.integers(0, 40), max_size=10)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    return [(a * 16, b * 16, draw(st.integers(1, 15))) for a, b in pairs if a < b]


@given(keyed=_keyed_layout(), rights=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
       address=st.integers(0, 700), size=st.integers(1, 300))
def test_the_cut_is_the_first_byte_whose_key_is_disabled(keyed, rights, address, size):
    """Byte by byte: a byte is unreadable when a mapping holds it whose key has access-disable
    set in the PKRU (every key, when the PKRU is unknown); the prefix ends at the first."""
    def disabled(at: int) -> bool:
        return any(start <= at < stop and (rights is None or rights >> 2 * key & 1)
                   for start, stop, key in keyed)
    expected = next((i for i in range(size) if disabled(address + i)), size)
    assert pkeys.allowed_prefix(keyed, rights, address, size) == expected
