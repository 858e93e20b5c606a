"""Close 24: the scratch area sealed (docs/security.md, "Close 24").

Each door that drops or swaps the area's pages or mapping -- madvise's discards, MADV_DONTFORK,
MADV_WIPEONFORK, MADV_GUARD_INSTALL, munmap, mremap, mprotect -- needed a guard of its own, and
the io_uring's IORING_OP_MADVISE, whose range no filter reads, stayed open where a rule permits
io-uring (close 23, review 52).  Where the kernel has mseal (Linux 6.10), the area is sealed
where it is mapped: the kernel then refuses every such advice on it (EPERM), from madvise,
process_madvise and an io_uring alike, and every unmap, remap and reprotect; the tracer's
/proc/PID/mem writes still land.  Both loops: the C loop's stub and premap, Python's premap."""

from __future__ import annotations

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
    ``sl`` among its VmFlags.  On main (5027683) the flags were ``rd ex mr mw me nr``: no seal."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n')
    run = run_systrace(["-p", str(policy_file), "--", "sh", "-c", f"{_FLAGS_OF_AREA}; :"],
                       env=loop)
    flags = run.stdout.split()
    assert flags[:1] == ["VmFlags:"] and "ex" in flags, (run.stdout, run.stderr)
    assert "sl" in flags, (run.stdout, run.stderr)


def test_an_unsealing_policy_leaves_the_area_as_before(tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """Where the prefilter would stop or answer the seal (a rule on mseal), the area is mapped
    unsealed, as before (Tracer.seals: the stub's seal is never looked at, so it must run
    unseen): the run goes on, its guards stand."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('default = "permit"\n[[rule]]\ncalls = ["mseal"]\naction = "never"\n')
    run = run_systrace(["-p", str(policy_file), "--", "sh", "-c", f"{_FLAGS_OF_AREA}; :"],
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
    io-uring.  ESCAPED on main (5027683) on both loops (review 52: open 183); now the sealed
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
    the area, then fork.  On main (5027683) the advice ran ("ok") and the child mapped its own
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

