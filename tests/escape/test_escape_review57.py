"""Review 57: close 25 read as an attacker (docs/security.md, "Review 57").

Close 25 made ``Tracer._area_made`` the one place that says an area may hold a call: in a run
that seals, only a sealed one.  A fork's child is taken to have its parent's area
(``AddressSpace.inherited``: as sealed as the parent's), checked at its first use for being
*mapped* only (``Tracer._area_checked``, close 23).  The lazy map (``Tracer._map_scratch``,
a task that ignores SIGTRAP: no premap) maps the area at one exit stop and seals it at the
next (``_seal_in_slot``); the program's other threads run between them, and a fork there
copies the area unsealed -- the seal is made in the parent's address space alone, and the
fork's event is handled after it, the parent's area sealed by then."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import run_systrace
from systrace_py.engine import enforce

pytestmark = pytest.mark.skipif(not enforce.kernel_seals(), reason="no mseal here (Linux < 6.10)")

#: a policy that refuses reads below a directory that does not exist: opens decided by path,
#: held where the tree is more than one task
#: -- and io-uring permitted (the door an unsealed area opens again)
_REFUSING = ('default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "/nothing/**"\n'
             'action = "never"\n[[rule]]\ncalls = ["io-uring"]\naction = "permit"\n')

_CHILD = re.compile(r"^child open=(-?\d+) (.*) ring=(-?\d+)$", re.MULTILINE)

#: runs of the race at most (won in one run in three to eight on a loaded 2-vCPU VM)
_RUNS = 25


@pytest.mark.parametrize("mode", ["once", "filter"])
def test_a_fork_between_the_lazy_map_and_its_seal_holds_no_call_unsealed(
        build, tmp_path: Path, loop: dict[str, str], mode: str) -> None:
    """area_fork_race.c ``once`` (``filter``: under a seccomp filter of its own, the area
    mapped and sealed with its filters suspended, Tracer._map_scratch_suspended -- the same
    window): three threads spin on ``write(pipe, BASE, 1)`` (EFAULT until
    the area is mapped) and fork the moment the lazy mmap has mapped it; the main thread's held
    open maps it.  A child forked before the seal has an unsealed copy of the area, and its own
    held open runs in it: on main (ed1f9ebe) ``child open=5`` with VmFlags ``rd ex mr mw me
    nr`` (no ``sl``), both loops, within a few runs -- and the io_uring door close 24 shut is
    open again for that child where rules permit io-uring: its ring's
    ``IORING_OP_MADVISE(MADV_DONTNEED)`` of the area's first page, where the open's copy was,
    ran (``ring=0``; ``ring=-1``, EPERM, where the area is sealed).  Natively (the control)
    there is no area: the threads give up, the open runs."""
    program = build("escape/area_fork_race.c", "-static", "-pthread")
    native = subprocess.run([str(program), mode], capture_output=True, text=True, timeout=30)
    assert native.stdout.startswith("parent open=") and "no area" in native.stdout, native
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(_REFUSING)
    for _ in range(_RUNS):
        run = run_systrace(["-p", str(policy_file), "--", str(program), mode], env=loop)
        assert "parent open=" in run.stdout, run
        won = False
        for result, flags, _ in _CHILD.findall(run.stdout):
            # never a held call in an unsealed area: refused (EPERM), or the area sealed
            assert int(result) < 0 or "sl" in flags.split()[1:], run.stdout
            won = won or "sl" not in flags.split()[1:]
        if won:
            break  # (a child forked inside the window, and held nothing: no more runs)
