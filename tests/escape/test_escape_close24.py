"""Close 24: the scratch area sealed (docs/security.md, "Close 24").

Each door that drops or swaps the area's pages or mapping -- madvise's discards, MADV_DONTFORK,
MADV_WIPEONFORK, MADV_GUARD_INSTALL, munmap, mremap, mprotect -- needed a guard of its own, and
the io_uring's IORING_OP_MADVISE, whose range no filter reads, stayed open where a rule permits
io-uring (close 23, review 52).  Where the kernel has mseal (Linux 6.10), the area is sealed
where it is mapped: the kernel then refuses every such advice on it (EPERM), from madvise,
process_madvise and an io_uring alike, and every unmap, remap and reprotect; the tracer's
/proc/PID/mem writes still land.  Both loops: the C loop's stub and premap, Python's premap."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, never, permit, policy

from conftest import run_systrace
from systrace_py.engine import enforce

pytestmark = pytest.mark.skipif(not enforce.kernel_seals(), reason="no mseal here (Linux < 6.10)")

#: the VmFlags of the mapping at the area's address in the shell's own smaps
_FLAGS_OF_AREA = 'grep -A30 "^100000000000-" /proc/$$/smaps | grep -m1 VmFlags'


def test_the_area_is_sealed_where_it_is_mapped(tmp_path: Path, loop: dict[str, str]) -> None:
    """The run's own command (a shell, whose table lets it make children: premapped at its
    exec event -- the C loop's stub, Python's injected mmap) has the area at BASE, sealed:
    ``sl`` among its VmFlags.  On main (3c06e75) the flags were ``rd ex mr mw me nr``: no seal."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n')
    run = run_systrace(["-p", str(policy_file), "--", "sh", "-c", f"{_FLAGS_OF_AREA}; :"],
                       env=loop)
    flags = run.stdout.split()
    assert flags[:1] == ["VmFlags:"] and "ex" in flags, (run.stdout, run.stderr)
    assert "sl" in flags, (run.stdout, run.stderr)


#: a process that has the area mapped lazily: SIGTRAP ignored (no premap at its exec event), a
#: second thread (its opens are held), an open, then the area's VmFlags in its own smaps;
#: "filter": under a seccomp filter of its own (allow all), so that the area is mapped with its
#: filters suspended (Tracer._map_scratch_suspended)
_LAZY = """
import ctypes, sys, threading
if sys.argv[1:] == ["filter"]:
    insn = (ctypes.c_ubyte * 8)(0x06, 0, 0, 0, 0, 0, 0xFF, 0x7F)  # BPF_RET|BPF_K: ALLOW
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(1, ctypes.cast(insn, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, a filter
e = threading.Event()
t = threading.Thread(target=e.wait)
t.start()
open(sys.executable, "rb").close()
lines = open("/proc/self/smaps").read().splitlines()
at = [i for i, line in enumerate(lines) if line.startswith("100000000000-")]
print(next(line for line in lines[at[0]:] if line.startswith("VmFlags")) if at else "no area")
e.set()
t.join()
"""
_IGNORING_TRAP = """
import os, signal, sys
signal.signal(signal.SIGTRAP, signal.SIG_IGN)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


@pytest.mark.parametrize("mode", ["plain", "filter"])
def test_an_area_mapped_lazily_is_sealed(tmp_path: Path, loop: dict[str, str],
                                         mode: str) -> None:
    """A process that ignores SIGTRAP gets no area at its exec event; its first held call is
    turned into the area's mmap (Tracer._map_scratch), whose exit stop then seals it from a
    ``syscall`` in the task's own slot (_seal_in_slot) -- or, under a filter of its own, both
    are made from its own instruction with its filters suspended (_map_scratch_suspended).
    ``sl`` among the area's VmFlags either way; on main (3c06e75) ``rd ex mr mw me nr``."""
    lazy, outer = tmp_path / "lazy.py", tmp_path / "outer.py"
    lazy.write_text(_LAZY)
    outer.write_text(_IGNORING_TRAP)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                           f'path = "{tmp_path}/nothing/**"\naction = "never"\n')
    run = run_systrace(["-p", str(policy_file), "--", sys.executable, str(outer), str(lazy),
                        *(["filter"] if mode == "filter" else [])], env=loop)
    flags = run.stdout.split()
    assert flags[:1] == ["VmFlags:"] and "sl" in flags, (run.stdout, run.stderr)


def test_the_engines_seal_is_never_the_policys_question(tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """Where a rule stops mseal (``ask``), the engine's own seal stops too -- and is let go,
    never asked (the stub's: _cloop.c decide_call, Tracer._stub_stop; the premap's: _run_to_trap;
    the lazy map's: _run_to_exit): the area is sealed and no question is put (here none could
    be answered: no terminal, every ask refused).  On main (3c06e75) no seal was made."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n[[rule]]\ncalls = ["mseal"]\naction = "ask"\n')
    run = run_systrace(["-p", str(policy_file), "--", "sh", "-c", f"{_FLAGS_OF_AREA}; :"],
                       env=loop, input="")
    flags = run.stdout.split()
    assert flags[:1] == ["VmFlags:"] and "sl" in flags, (run.stdout, run.stderr)
    assert "mseal" not in run.stderr, run.stderr


def test_an_unsealing_policy_leaves_the_area_as_before(tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """Where the prefilter answers mseal itself (a ``never`` rule in a quiet run, ``-q``: its
    refusals unseen, SECCOMP_RET_ERRNO, no stop), the area is mapped unsealed, as before
    (Tracer.seals: the stub's seal is not looked at, so it must run): the run goes on, its
    guards stand.  (Seen refusals stop the call: the engine's seal is then let go, sealed.)"""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n[[rule]]\ncalls = ["mseal"]\naction = "never"\n')
    run = run_systrace(["-q", "-p", str(policy_file), "--", "sh", "-c", f"{_FLAGS_OF_AREA}; :"],
                       env=loop)
    flags = run.stdout.split()
    assert flags[:1] == ["VmFlags:"] and "sl" not in flags, (run.stdout, run.stderr)
    assert run.returncode == 0, run


def test_a_held_copy_dropped_by_an_io_uring_stays(build, tmp_path: Path,
                                                  loop: dict[str, str]) -> None:
    """area_uffd_refill.c ``ring`` (review 52's refill, the drop by an io_uring's
    IORING_OP_MADVISE(MADV_DONTNEED) rather than process_madvise): a userfaultfd registered
    over the area, the first page of the first slots dropped by the ring and read back at once,
    each fault answered with a page whose path is the secret's, the main thread opening the
    decoy.  Policy: ``never`` fsread of the secret's directory, ``permit`` userfaultfd and
    io-uring.  ESCAPED on main (3c06e75) on both loops (review 52: open 183); now the sealed
    area refuses the drop (EPERM) and the copies stay the tracer's.  Control: natively (no
    area: the register fails) a flip of the program's own buffer reads the secret."""
    binary = build("escape/area_uffd_refill.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("userfaultfd"),
                      permit("io-uring"))

    traced, _ = controlled_and_blocked(tmp_path, binary,
                                       lambda s: [s.secret, s.decoy, "ring"], rules, env=loop)
    assert "UFFDIO_REGISTER of the area: ok" in traced.stdout, traced  # (that door is open)
    assert "IORING_OP_MADVISE(MADV_DONTNEED) of the area: EPERM" in traced.stdout, traced
    assert "0 zaps" in traced.detail, traced


def test_an_io_uring_cannot_keep_the_area_from_a_child(build, tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """area_uring_dontfork.c (close 23's door): the ring's IORING_OP_MADVISE(MADV_DONTFORK) of
    the area, then fork.  On main (3c06e75) the advice ran ("ok") and the child mapped its own
    memory at the area's address (close 23's check then refused its held opens); now the seal
    refuses the advice (EPERM), the child keeps the area, and its hint mmap lands elsewhere.
    Policy: ``never`` fsread of the secret's directory, ``permit`` io-uring."""
    binary = build("escape/area_uring_dontfork.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("io-uring"))

    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.secret, s.decoy], rules,
                                       env=loop)
    assert "IORING_OP_MADVISE(DONTFORK): EPERM" in traced.stdout, traced
    assert "the area's address is not the child's to map" in traced.detail, traced


@pytest.mark.parametrize("answer", ["kill", "trap", "errno"])
def test_a_tracer_whose_own_filter_refuses_mseal_runs_unsealed(build, tmp_path: Path,
                                                               loop: dict[str, str],
                                                               answer: str) -> None:
    """systrace itself under a seccomp filter that kills, traps or refuses mseal (a sandbox,
    systemd's SystemCallFilter=, whose default for a call it does not list is SIGSYS): the
    run goes on, its area unsealed -- the probe of the kernel's mseal (enforce.kernel_seals)
    ran in the tracer and killed it ("Bad system call", 159) before the command started (review
    54, on close 24's main; it ran before close 24).  Now it runs in a child where the tracer
    is under a filter."""
    wrapper = build("progs/nomseal.c")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n')
    run = run_systrace(["-p", str(policy_file), "--", "sh", "-c", f"echo ran; {_FLAGS_OF_AREA}"],
                       env=loop, prefix=[str(wrapper), answer])
    assert run.returncode == 0 and run.stdout.startswith("ran\n"), run
    assert "sl" not in run.stdout.split(), run.stdout


def test_a_lazy_area_whose_seal_fails_holds_no_call(build, tmp_path: Path,
                                                    loop: dict[str, str]) -> None:
    """area_unsealed.c (review 54): the program makes the lazy map's seal fail (its mapping
    above the area merges with it, a thread takes the last VMA before the seal's split) --
    on close 24's main the held open ran, the area unsealed (``rd ex mr mw me nr``), so the
    io_uring doors close 24 shut were open again for that process.  Now a run that seals
    holds no call in an unsealed area: the open is refused (EPERM), as for an area not
    mapped -- or, where the thread lost its race, the area is sealed."""
    program = build("escape/area_unsealed.c", "-static", "-pthread")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy(never("fsread", path=str(tmp_path / "nothing/**"))))
    run = run_systrace(["-p", str(policy_file), "--", str(program)], env=loop)
    line = run.stdout.strip()
    assert line.startswith("btook="), run
    flags = line.split("VmFlags:")[-1].split() if "VmFlags:" in line else []
    assert "open=-1" in line or "sl" in flags, line
