"""Close 25: the scratch area's seal result checked on every path (docs/security.md, "Close 25").

Close 24 sealed the area where it is mapped, and review 54 made the lazy map hold no call in an
area it could not seal.  The other paths recorded the seal's result and used the area anyway:
the exec-time stub (both loops' exec events: its result not looked at), the premap's trap
(Python's and the native loop's), and the map made with the program's own filters suspended.
Now one place (Tracer._area_made) says whether an area may hold a call: in a run that seals,
only a sealed one -- an area whose seal failed is taken as one that could not be mapped, every
held call of the address space refused (EPERM).

A program can make the suspended map's seal fail (area_unsealed.c ``filter``).  No program can
make the seal at an exec fail -- the new address space has no mapping an anonymous read-only
area merges with (ELF segments are a file's, or writable), so the seal splits nothing, and no
instruction of the program runs before it -- so those paths are shown under a tracer whose own
seccomp filter refuses some seals (tests/progs/nomseal.c ``area``, ``low``, ``vdso``), the
tracer's probe of the kernel's mseal let through: an environment, not a seam in the product."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_systrace
from systrace_py.engine import cloop, enforce

pytestmark = pytest.mark.skipif(not enforce.kernel_seals(), reason="no mseal here (Linux < 6.10)")

#: execs and reads decided by the native loop where it runs (its exec events, premap and stub)
_NATIVE_POLICY = ('default = "permit"\n\n[[rule]]\ncalls = ["exec", "fsread"]\npath = "/**"\n'
                  'action = "permit"\n')
#: enough arguments (or environment) that the stub cannot find the vDSO in the first page of
#: the new stack (_cloop.c stub_write): the premap's trap maps the area instead
_LONG = " $(seq 600)"
_PAD = {f"CLOSE25_PAD{i}": "x" for i in range(600)}

#: (nomseal mode, policy, the command -- "P" is area_held.c --, environment): which exec-time
#: path maps the area whose seal fails, the native loop's / the Python loop's --
#: "shell": the shell's own exec (Python's: the stub it writes / its trap), whose vfork child's
#: exec (its path held in the shell's area) runs area_held; "premap": area_held's exec, the
#: stub unable to serve it (_LONG: the native loop's premap / Python's trap); "stub": the
#: exec of area_held's own vfork child (the native loop's stub and its trap, stub_stop), the
#: run's own exec (_PAD: not the stub's) a trap at the static entry, sealed -- the Python
#: loop's premaps are all such traps: sealed there
_CASES = {
    "shell": ("area", None, ["sh", "-c", '"$0" open; :', "P"], {}),
    "premap": ("low", _NATIVE_POLICY, ["sh", "-c", '"$0" open' + _LONG + "; :", "P"], {}),
    "stub": ("vdso", _NATIVE_POLICY, ["P", "vfork", "P", "open"], _PAD),
}

#: a policy that refuses reads below a directory that does not exist: the calls that read are
#: decided by path, and held where the tree is more than one task
_REFUSING = ('default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "/nothing/**"\n'
             'action = "never"\n')

_LINE = re.compile(r"^open=(-?\d+) (.*)$", re.MULTILINE)


def _held_opens(stdout: str) -> list[tuple[int, list[str]]]:
    """area_held.c's lines: the held open's result, the area's VmFlags (none: "no area")."""
    return [(int(result), flags.split()[1:]) for result, flags in _LINE.findall(stdout)]


@pytest.mark.parametrize("case", list(_CASES))
def test_an_area_whose_seal_failed_at_an_exec_holds_no_call(build, tmp_path: Path,
                                                           loop: dict[str, str],
                                                           case: str) -> None:
    """The area mapped at an exec event in a run that seals, its seal refused by the tracer's
    own seccomp filter (nomseal.c).  On main (3076c791) the area was used unsealed on every
    path: area_held's held open ran (``open=3``) in an area whose VmFlags have no ``sl`` --
    the shell's (C loop: the stub Python wrote; Python loop: its trap), the native loop's premap
    and its stub (the stub's seal result was not looked at at all).  Now such an area holds no
    call: the held open (or the exec whose path the shell held) is refused, EPERM."""
    mode, rules, command, env = _CASES[case]
    program = build("progs/area_held.c", "-static", "-pthread")
    wrapper = build("progs/nomseal.c")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(rules or _REFUSING)
    argv = [str(program) if word == "P" else word for word in command]
    run = run_systrace(["-p", str(policy_file), "--", *argv], env={**loop, **env},
                       prefix=[str(wrapper), mode])
    opens = _held_opens(run.stdout)
    # never a held call in an unsealed area
    assert all(result < 0 or "sl" in flags for result, flags in opens), run
    native = loop.get("SYSTRACE_NO_CLOOP") != "1" and cloop.load() is not None
    if case == "stub" and not native:  # (no stub: the traps at the static entry seal)
        assert [result for result, _ in opens] == [3], run
        return
    assert re.search(r"^systrace: refused \d+ call", run.stderr, re.MULTILINE), run
    if case == "shell":  # (the shell's exec of area_held, its path held in the shell's area)
        assert not opens and "Operation not permitted" in run.stderr, run
    else:
        assert [result for result, _ in opens] == [-1], run  # (EPERM)


def test_an_area_mapped_with_the_programs_filters_suspended_holds_no_call_unsealed(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """area_unsealed.c ``filter`` (review 54's program, under a seccomp filter of its own made
    before its exec, the last VMA taken before its open): the area is mapped lazily with its
    filters suspended (Tracer._map_scratch_suspended), the mmap merges with the program's
    mapping above it, and the seal, which must split it, fails (ENOMEM).  On main (3076c791) the
    held open ran in the unsealed area (``open=3``, no ``sl``); now it is refused (EPERM) as
    in an area not mapped -- or, had the program lost the last VMA's race, the area is
    sealed."""
    program = build("escape/area_unsealed.c", "-static", "-pthread")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(_REFUSING)
    run = run_systrace(["-p", str(policy_file), "--", str(program), "filter"], env=loop)
    line = run.stdout.strip()
    assert line.startswith("btook="), run
    flags = line.split("VmFlags:")[-1].split() if "VmFlags:" in line else []
    assert "open=-1" in line or "sl" in flags, line


def test_the_native_loops_premap_seals_the_area(build, tmp_path: Path,
                                                loop: dict[str, str]) -> None:
    """The native loop's premap (_cloop.c premap: an exec event the stub cannot serve -- here
    the auxiliary vector beyond the first page of the stack read, _LONG) runs the same sealing
    code as Python's premap (enforce.MAP_SEAL_TRAP_CODE): area_held's area is sealed and its
    held open runs.  Close 24 left this path untested (its tests reached the stub and Python's
    premap); it passed on main too.  On the native loop the exec was the loop's, its premap
    one stop (--stats)."""
    program = build("progs/area_held.c", "-static", "-pthread")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(_NATIVE_POLICY)
    run = run_systrace(["--stats", "-p", str(policy_file), "--", "sh", "-c",
                        '"$0" open' + _LONG + "; :", str(program)], env=loop)
    opens = _held_opens(run.stdout)
    assert len(opens) == 1 and opens[0][0] == 3 and "sl" in opens[0][1], run
    if loop.get("SYSTRACE_NO_CLOOP") != "1" and cloop.load() is not None:
        execs = int(re.search(r"\bexec (\d+)", run.stderr).group(1))  # type: ignore[union-attr]
        python = re.search(r"served by Python:.*\bexec event (\d+)", run.stderr)
        assert python is not None and int(python.group(1)) < execs, run.stderr
