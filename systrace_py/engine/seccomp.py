"""Compile a :class:`FilterPlan` into the seccomp-bpf prefilter, with the engine's own guards.

The filter is two BPF programs the child loads (see :mod:`systrace_py.engine.child`): the calls
whose registers decide, built with libseccomp (through pyseccomp) in the tracer and exported as
raw BPF, and the hand-built :func:`number_filter` of the calls one action decides whatever their
arguments (most calls), the numbers no call has, epoll's timed waits and socket()'s unseen cases
(:func:`cases_leaf`).  Besides the plan it holds
guards that keep the tracer in control whatever the policy says:

* any other architecture or ABI (``int $0x80``, the x32 bit) and any call number the table does
  not know get ENOSYS, so no stop is ever read with the wrong table;
* ``clone`` with CLONE_UNTRACED gets EPERM, so no child can leave the trace; ``clone3``,
  whose flags are in memory, always stops: the tracer reads its struct and gives its flags
  clone's guard;
* ``seccomp`` with a user-notification listener (whose answers would outrank our TRACE), prctl
  PR_SET_DUMPABLE 0 (which hides the tracee's memory from an unprivileged tracer) and PR_SET_MM
  get EPERM, and so do signals and pidfds aimed at the tracer (kill, tkill, rt_sigqueueinfo and
  pidfd_open always stop: their target may be any of the tracer's threads, or a process group
  that holds the tracer, see :mod:`systrace_py.engine.signals`);
* whatever maps, unmaps or reprotects the tracer's scratch area stops, so the tracer can refuse
  it, and an ``shmat`` that could replace it is refused (see :mod:`systrace_py.engine.scratch`);
* the calls that let something outside the traced tree write the caller's memory (a call's
  ``shares`` cases in the table: a MAP_SHARED mmap, shmat, io_setup...) stop, so the tracer
  knows that address space must have its checked arguments held (:func:`shares_memory`).
* the calls that may give a mapping a protection key (a call's ``keys``: pkey_mprotect, an
  execute-only mmap or mprotect) stop, so the tracer knows that address space's reads must
  obey the keys (:func:`keys_mapping`, :mod:`systrace_py.engine.pkeys`).
* the waits with a timeout the tracer may restart with the time left (``TIMED_RESTARTS``:
  rt_sigtimedwait, semtimedop, the epoll waits) stop at entry when they wait for a time, so
  it knows when the wait began.
* under address rules, socket() making a socket whose destinations the engine cannot see
  (raw, packet, SCTP...: the table's ``unseen`` cases) gets the plan's verdict on those
  (``FilterPlan.unseen``): EPERM, or a stop where a table names the call.

A guard with a ``lift`` (source routes, core dumps: ``syscalls.Lift``) does not apply in a
run whose plan lifts it (``FilterPlan.lifted``), neither in the filter nor at a stop.

Each guard is defined once, as data, in the syscall table (a call's ``guard`` in
:mod:`systrace_py.syscalls`): this module compiles it both to BPF rules and to the stop-time
checks :func:`guard_refusal` and :func:`stop_guard`.  When the plan already stops a guarded
call, the guard is applied at the stop, because BPF rules cannot express "everything but the
guarded case" for every action.  A task holding this filter with no tracer gets ENOSYS for
every traced call: if the tracer is gone, nothing it was meant to check can happen.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import itertools
import os
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from systrace_py import importcache, startup
from systrace_py.engine import scratch
from systrace_py.engine.native import SONAMES, fixed_sonames
from systrace_py.kernel import (
    AUDIT_ARCH_X86_64,
    O_ACCMODE,
    O_CREAT,
    O_PATH,
    O_TMPFILE_BIT,
    O_TRUNC,
    X32_SYSCALL_BIT,
)
from systrace_py.policy.filterplan import FilterPlan, SelectorPlan, Verdict, VerdictKind
from systrace_py.syscalls import (
    CHANGES_CREDENTIALS,
    EINTR_ON_STOP,
    MAX_NR,
    NAMES,
    NUMBERS,
    TABLE,
    TIMED_RESTARTS,
    Case,
    Guard,
    Kind,
    Lift,
    LiftTag,
    Param,
    ParamName,
    Shares,
    Test,
    arg_index,
    compare,
    timed_wait_cases,
    unseen_cases,
)

_WRITE_BITS = (O_CREAT, O_TRUNC, O_TMPFILE_BIT)
_U64 = 0xFFFFFFFFFFFFFFFF
_ATTR_OPTIMIZE = 8  # SCMP_FLTATR_CTL_OPTIMIZE: 2 = binary tree of call numbers
_OPEN_FLAGS_ARG = arg_index(Kind.OPEN_FLAGS)

#: call -> its guard (from the syscall table)
GUARDS: dict[str, Guard] = {c.name: c.guard for c in TABLE.values() if c.guard is not None}
GUARDED_CALLS = frozenset(GUARDS)
#: guarded calls whose check needs more than registers: the filter stops them when a case
#: holds, and the tracer applies the check (stop_guard) with what it reads
STOP_GUARDED = frozenset(name for name, guard in GUARDS.items() if guard.check is not None)
#: call -> when it lets something outside the traced tree write the caller's memory (the
#: syscall table's ``shares``)
SHARES: dict[str, Shares] = {c.name: c.shares for c in TABLE.values() if c.shares is not None}
#: call -> when it may give a mapping a protection key (the syscall table's ``keys``)
KEYS: dict[str, tuple[Case, ...]] = {c.name: c.keys for c in TABLE.values() if c.keys is not None}
#: calls the filter stops in some cases whatever the plan says, for the tracer to take note
#: (besides these, those that may change credentials stop always: CHANGES_CREDENTIALS)
NOTED = frozenset(SHARES) | frozenset(KEYS)
#: calls neither filter has a rule for when the plan allows them: no guard, nothing noted, no
#: stop for credentials or a wait's timeout
_UNNOTED = frozenset(NUMBERS) - GUARDED_CALLS - NOTED - CHANGES_CREDENTIALS - TIMED_RESTARTS


@functools.lru_cache(maxsize=8)
def _params(tracer_pid: int) -> dict[ParamName, int]:
    """The values of a guard's parameters for this tracer."""
    return {Param.TRACER_PID: tracer_pid, Param.AREA_BASE: scratch.BASE,
            Param.AREA_END: scratch.BASE + scratch.SIZE,
            Param.AREA_MASK: ~(scratch.SIZE - 1) & _U64}


def active_guard(name: str, lifted: frozenset[LiftTag]) -> Guard | None:
    """The guard of this call in a run that lifts ``lifted`` (FilterPlan.lifted), or None."""
    guard = GUARDS.get(name)
    if guard is None or guard.lift not in lifted:
        return guard
    return guard._replace(cases=guard.kept, lift=None, kept=()) if guard.kept else None


def _value(value: int | ParamName, params: dict[ParamName, int]) -> int:
    return params[value] if isinstance(value, str) else value


def _action(verdict: Verdict) -> int:
    if verdict.kind == VerdictKind.ALLOW:
        return _RET_ALLOW
    if verdict.kind == VerdictKind.ERRNO:
        return _errno(verdict.errno)
    return _RET_TRACE


def _errno(number: int) -> int:
    """SECCOMP_RET_ERRNO with ``number`` (pyseccomp's ERRNO)."""
    return _RET_ERRNO | (number & 0xFFFF)


#: libseccomp's comparison operators (enum scmp_compare; pyseccomp's NE, LT, EQ, GE,
#: MASKED_EQ)
_NE, _LT, _EQ, _GE, _MASKED_EQ = 1, 2, 4, 5, 7
#: One comparison of a rule: (argument, operator, datum_a, datum_b), libseccomp's
#: struct scmp_arg_cmp (pyseccomp's Arg); a datum may be :data:`_PID_MARK`
_ArgTest = tuple[int, int, int | str, int | str]
#: The tracer's pid in a rule's comparison, until libseccomp_program compiles it
_PID_MARK = "tracer_pid"
#: The least and the greatest pid a tracer may have (the kernel's PID_MAX_LIMIT, 2**22)
_PID_RANGE = (1, 1 << 22)
#: One libseccomp rule: (action, call number, its comparisons)
_Rule = tuple[int, int, tuple[_ArgTest, ...]]


def _arg(arg: int, op: int, datum_a: int | str, datum_b: int | str = 0) -> _ArgTest:
    return (arg, op, datum_a, datum_b)


class _Builder:
    """The rules of libseccomp's filter, whose default is ALLOW (rules that equal it are
    skipped), as data: compiled by :func:`libseccomp_program`."""

    def __init__(self) -> None:
        self.rules: list[_Rule] = []

    def add(self, action: int, nr: int | str, *args: _ArgTest) -> None:
        if action == _RET_ALLOW:
            return
        self.rules.append((action, NUMBERS[nr] if isinstance(nr, str) else nr, args))


def compile_filters(plan: FilterPlan, tracer_pid: int) -> tuple[bytes, ...]:
    """The BPF programs to load, in order: the number filter, then the policy's filter of
    the calls whose registers decide.

    The kernel runs every loaded filter and the strictest answer wins (ERRNO over TRACE over
    ALLOW), so the two act as one: a call the plan decides whatever its arguments gets its
    action from the number filter and ALLOW from the other, any other call the reverse.  A
    loaded filter decides the seccomp() call that loads the next one: the number filter lets
    it through when seccomp is the other filter's (its guard), so it goes first -- after the
    other, that guard's stop for a filter of the program's own would take the second load
    for one (red team 13's Tracer._own_filter).  When the plan decides seccomp by its number
    (a policy refusing it), the number filter would refuse the second load: it goes last,
    and the other filter then has no guard of seccomp to stop it.
    """
    numbers, conditional = compile_plan(plan, tracer_pid)
    by_number = number_filter(numbers)
    if NUMBERS["seccomp"] in numbers:
        return (conditional, by_number)
    return (by_number, conditional)


#: BPF opcodes and seccomp return values of the hand-built :func:`number_filter`
_LD_W_ABS, _JA, _JEQ_K, _JGE_K, _JGT_K, _JSET_K, _RET_K = \
    0x20, 0x05, 0x15, 0x35, 0x25, 0x45, 0x06
_RET_ALLOW = 0x7FFF0000                      # SECCOMP_RET_ALLOW (pyseccomp's ALLOW)
_RET_TRACE = 0x7FF00000                      # SECCOMP_RET_TRACE, data 0 (pyseccomp's TRACE(0))
_RET_ERRNO = 0x00050000                      # SECCOMP_RET_ERRNO (data: the errno)
_RET_ENOSYS = _RET_ERRNO | errno.ENOSYS
_MAX_JUMP = 255                              # a conditional jump's offset is 8 bits
_ARGS = 16                                   # offsetof(struct seccomp_data, args)

#: One instruction: (code, jump if true, jump if false, k)
_Insn = tuple[int, int, int, int]
#: What the number filter does with a call: a seccomp return value, or instructions that end
#: in returns (a test of the registers)
Leaf = int | tuple[_Insn, ...]

#: the waits whose timeout is an int of milliseconds in a register (see timed_wait_cases)
_INT_TIMED_WAITS = frozenset(name for name in TIMED_RESTARTS
                             if (EINTR_ON_STOP[name] or (0, True))[1] is False)


#: The number filter's leaf of each number 0..MAX_NR when no action is given: ALLOW for a
#: call, ENOSYS for a number no call has
_NO_ACTIONS: tuple[Leaf, ...] = tuple(_RET_ALLOW if nr in NAMES else _RET_ENOSYS
                                      for nr in range(MAX_NR + 1))


def _int_timeout(name: str) -> tuple[_Insn, ...]:
    """epoll_wait's and epoll_pwait's registers: a stop when the timeout (a C int: the low
    half of its register) is positive, for the tracer to learn the deadline; none for -1 (no
    timeout) or 0 (no wait).  What ``timed_wait_cases`` spells for libseccomp as 31 rules,
    one per bit (61 of the ~100 rules of a policy's filter), in five instructions."""
    timeout = EINTR_ON_STOP[name]
    assert timeout is not None and not timeout[1], name
    return ((_LD_W_ABS, 0, 0, _ARGS + 8 * timeout[0]),  # A = the timeout's low half
            (_JSET_K, 1, 0, 1 << 31),                  # negative: no timeout
            (_JEQ_K, 0, 1, 0),                         # zero: no wait
            (_RET_K, 0, 0, _RET_ALLOW),
            (_RET_K, 0, 0, _RET_TRACE))


def number_filter(actions: Mapping[int, Leaf]) -> bytes:
    """A hand-built filter deciding by call number (and for epoll's timed waits, by their
    timeout): another architecture, the x32 bit, a number above the table or in a gap of it
    (numbers no call has) get ENOSYS; a call in ``actions`` gets its :data:`Leaf`; every
    other call ALLOW (the policy's filter decides it).

    libseccomp spends two thirds of a large policy's compile on these one-action calls (a
    rule each, ~200 of them, then its tree) and cannot express a range of numbers at all (the
    gaps alone were 87 rules).  Here the numbers 0..MAX_NR fall into runs of one action, and
    the program is a binary search over the runs' first numbers, ending in the run's leaf.
    This is the one place that builds BPF by hand; tests/unit/test_syscall_table.py checks
    it against libseccomp's filter of the same actions on every number, and tests/escape by
    attack."""
    leaves: list[Leaf] = list(_NO_ACTIONS)
    for nr, leaf in actions.items():
        if nr in NAMES:  # (a number no call has stays ENOSYS)
            leaves[nr] = leaf
    runs: list[tuple[int, Leaf]] = []  # (first number, leaf), each run up to the next one
    previous: Leaf | None = None
    for nr, leaf in enumerate(leaves):
        if leaf != previous:
            runs.append((nr, leaf))
            previous = leaf
    # (code, jump if true, jump if false, k), jumps counted in instructions skipped; "E" is
    # the ENOSYS return after the prologue and its jump over it, resolved below
    prologue: list[tuple[int, int | str, int | str, int]] = [
        (_LD_W_ABS, 0, 0, 4),                   # A = seccomp_data.arch
        (_JEQ_K, 0, "E", AUDIT_ARCH_X86_64),    # not x86_64 -> enosys
        (_LD_W_ABS, 0, 0, 0),                   # A = seccomp_data.nr
        (_JGE_K, "E", 0, X32_SYSCALL_BIT),      # x32 bit (or -1) -> enosys
        (_JGT_K, "E", 0, MAX_NR),               # beyond the table -> enosys
    ]

    def resolved(at: int, jump: int | str) -> int:
        return len(prologue) - at if jump == "E" else int(jump)

    program: list[_Insn] = [(code, resolved(at, jt), resolved(at, jf), k)
                            for at, (code, jt, jf, k) in enumerate(prologue)]
    program.append((_JA, 0, 0, 1))                # over the ENOSYS return
    program.append((_RET_K, 0, 0, _RET_ENOSYS))
    program += _search(runs)
    return struct.pack("<" + "HBBI" * len(program), *itertools.chain.from_iterable(program))


_ALU_AND_K = 0x54                            # BPF_ALU | BPF_AND | BPF_K
_FAIL = -1                                   # (a jump to the next case, resolved below)


def _test_insns(test: Test) -> list[_Insn]:
    """One test on a register, as instructions that fall through when it holds and jump to
    :data:`_FAIL` when it does not.  "eq" compares the masked register half by half (a half
    the mask leaves out is not read); "ge" is unsigned over the whole 64 bits: the high half
    above the value's passes, equal to it goes on to the low half."""
    value, mask = test.value, test.mask
    assert isinstance(value, int) and isinstance(mask, int), test  # (no Param: no pid here)
    low, high = _ARGS + 8 * test.arg, _ARGS + 8 * test.arg + 4
    if test.op == "eq":
        if value & ~mask & _U64:
            return [(_JA, 0, 0, _FAIL)]  # (bits the mask clears never compare equal)
        insns: list[_Insn] = []
        for offset, shift in ((high, 32), (low, 0)):
            half_mask, half_value = mask >> shift & 0xFFFFFFFF, value >> shift & 0xFFFFFFFF
            if half_mask == 0:
                continue
            insns.append((_LD_W_ABS, 0, 0, offset))
            if half_mask != 0xFFFFFFFF:
                insns.append((_ALU_AND_K, 0, 0, half_mask))
            insns.append((_JEQ_K, 0, _FAIL, half_value))
        return insns
    assert test.op == "ge", test  # (the unseen cases' two kinds of test)
    return [(_LD_W_ABS, 0, 0, high),
            (_JGT_K, 3, 0, value >> 32),         # high half above: holds (over the next 3)
            (_JEQ_K, 0, _FAIL, value >> 32),     # below: fails
            (_LD_W_ABS, 0, 0, low),
            (_JGE_K, 0, _FAIL, value & 0xFFFFFFFF)]


def cases_leaf(cases: Sequence[Case], action: int) -> tuple[_Insn, ...]:
    """A number filter leaf returning ``action`` when one of ``cases`` holds (every test of
    it), else ALLOW: what libseccomp compiles from one rule per case with that action and an
    ALLOW default, as a list of cases tried in turn.  Used for the ``unseen`` cases of
    socket(), whose ~80 rules were most of a network policy's libseccomp compile (issue 16,
    start-up); tests/unit/test_syscall_table.py runs the filters against the stop's check."""
    program: list[_Insn] = []
    for case in cases:
        block = [insn for test in case for insn in _test_insns(test)]
        block.append((_RET_K, 0, 0, action))
        end = len(block)  # (the next case)
        for at, (code, jt, jf, k) in enumerate(block):
            skip = end - at - 1
            if code == _JA and k == _FAIL:
                block[at] = (code, 0, 0, skip)
            elif jt == _FAIL or jf == _FAIL:
                assert skip <= _MAX_JUMP
                block[at] = (code, skip if jt == _FAIL else jt, skip if jf == _FAIL else jf, k)
        program += block
    program.append((_RET_K, 0, 0, _RET_ALLOW))
    return tuple(program)


def _search(runs: list[tuple[int, Leaf]]) -> list[_Insn]:
    """The instructions that end in the leaf of the run holding the number in A (runs
    sorted, the first starting at or below it): a binary search over the runs' first
    numbers, each test sending the numbers at or above the middle run's first number to the
    right half."""
    if len(runs) == 1:
        leaf = runs[0][1]
        return [(_RET_K, 0, 0, leaf)] if isinstance(leaf, int) else list(leaf)
    middle = len(runs) // 2
    below, above = _search(runs[:middle]), _search(runs[middle:])
    if len(below) <= _MAX_JUMP:
        return [(_JGE_K, len(below), 0, runs[middle][0]), *below, *above]
    # too far for a conditional jump: through an unconditional one (32-bit offset)
    return [(_JGE_K, 0, 1, runs[middle][0]), (_JA, 0, 0, len(below)), *below, *above]


def compile_plan(plan: FilterPlan, tracer_pid: int) -> tuple[dict[int, Leaf], bytes]:
    """The policy's verdicts as the two parts of the prefilter: the leaf of each call the
    plan decides whatever its arguments, or by an epoll timeout (number -> :data:`Leaf`, for
    :func:`number_filter`), and the BPF program (libseccomp's, bytes ready for
    seccomp(SECCOMP_SET_MODE_FILTER)) of the calls whose registers decide."""
    b = _Builder()
    numbers: dict[int, Leaf] = {}
    # (the tracer's pid in a rule is a mark, put in by libseccomp_program: a program of the
    # same rules serves every tracer)
    params: dict[ParamName, Any] = {**_params(0), Param.TRACER_PID: _PID_MARK}
    special = plan.opens.keys() | plan.selected.keys() | plan.unseen.keys()
    for name, verdict in plan.calls.items():
        if verdict.kind == VerdictKind.ALLOW and name in _UNNOTED and name not in special:
            continue  # (most calls: allowed by both filters)
        guard = active_guard(name, plan.lifted)
        shares = (*(SHARES[name].cases if name in SHARES else ()), *KEYS.get(name, ()))
        if name in plan.opens:
            _add_open(b, name, plan)
        elif name in plan.selected:
            _add_selected(b, name, plan.selected[name])
            if guard is not None:
                _add_guard(b, name, guard, params, plan.lifted)  # the unselected rest is allowed
        elif guard is not None and guard.always:
            numbers[NUMBERS[name]] = _errno(guard.errno)  # whatever the plan says
        elif verdict.kind != "allow" or () in shares or name in CHANGES_CREDENTIALS:
            # (a call that always shares always stops: its guard is applied at the stop; so
            # does one that may change credentials, for the tracer to read them again)
            numbers[NUMBERS[name]] = _action(verdict) if verdict.kind != "allow" \
                else _RET_TRACE
        elif name in _INT_TIMED_WAITS and guard is None and not shares \
                and name not in plan.unseen:
            numbers[NUMBERS[name]] = _int_timeout(name)
        elif name in plan.unseen and guard is None and not shares \
                and name not in TIMED_RESTARTS:
            # (socket under address rules: its only rules are the unseen cases, ~80 of them,
            # which libseccomp took ~3 ms of every such start to compile)
            numbers[NUMBERS[name]] = cases_leaf(unseen_cases(name), _action(plan.unseen[name]))
        else:
            if guard is not None:
                _add_guard(b, name, guard, params, plan.lifted)
            for case in shares:
                # A case overlapping a guard's refusing case gets one of the two actions, and
                # either is right: the stop applies the guard too.
                b.add(_RET_TRACE, name, *(_bpf_arg(t, params) for t in case))
            if name in TIMED_RESTARTS:
                for case in timed_wait_cases(name):
                    b.add(_RET_TRACE, name, *(_bpf_arg(t, params) for t in case))
            unseen = plan.unseen.get(name)
            if unseen is not None:
                assert guard is None and not shares, f"{name}: one set of cases"
                for case in unseen_cases(name):
                    b.add(_action(unseen), name, *(_bpf_arg(t, params) for t in case))
    return numbers, libseccomp_program(b.rules, tracer_pid)


def libseccomp_program(rules: Sequence[_Rule], tracer_pid: int) -> bytes:
    """libseccomp's BPF program of ``rules`` (default ALLOW, another architecture ENOSYS, a
    binary tree of the call numbers), with ``tracer_pid`` for :data:`_PID_MARK`: in a
    command's start, the program an earlier start compiled from the same rules with the same
    libseccomp (:class:`ProgramCache`), else compiled -- pyseccomp is imported only then.

    A start of a policy compiled before thus spares libseccomp's compile and pyseccomp's
    import (~2 ms of the bench's ~65 ms start: issue 16, start25).  The program is a function
    of the rules and libseccomp's version, which are the key, but for the tracer's pid (the
    guards of tgkill and rt_tgsigqueueinfo compare with it): what is kept is the program of
    the least possible pid, and where the pid goes -- the instructions whose constant alone
    differs between the programs of the least and the greatest possible pids
    (:data:`_PID_RANGE`).  An entry is kept only if the least pid's program with this
    tracer's pid put there is byte for byte what libseccomp compiled for this tracer; a
    program whose shape depended on the pid is never kept."""
    key = tuple(rules)
    least_pid, most_pid = _PID_RANGE
    cache = _program_cache() if least_pid <= tracer_pid <= most_pid else None
    found: _Kept | None = None if cache is None else cache.get(key)
    if found is not None:
        return _with_pid(*found, tracer_pid)
    program = compile_program(_pid_in(key, tracer_pid))
    if cache is not None:
        if not any(_PID_MARK in test for _, _, tests in key for test in tests):
            cache.put(key, (program, ()))
        else:
            least, most = (compile_program(_pid_in(key, pid)) for pid in _PID_RANGE)
            at = _pid_positions(least, most)
            if at and _with_pid(least, at, tracer_pid) == program:
                cache.put(key, (least, at))
    return program


def _pid_in(rules: Sequence[_Rule], pid: int) -> tuple[_Rule, ...]:
    """``rules`` with ``pid`` for :data:`_PID_MARK`."""
    return tuple((action, nr, tuple((arg, op, pid if a == _PID_MARK else a,
                                     pid if b == _PID_MARK else b)
                                    for arg, op, a, b in tests))
                 for action, nr, tests in rules)


def _pid_positions(least: bytes, most: bytes) -> tuple[int, ...]:
    """The instructions of two programs of the same rules, compiled for the least and the
    greatest pid, that differ: () unless they differ in their constant alone, the one
    holding each pid."""
    if len(least) != len(most) or len(least) % 8:
        return ()
    at = []
    for i in range(0, len(least), 8):
        if least[i:i + 8] != most[i:i + 8]:
            if least[i:i + 4] != most[i:i + 4] \
                    or struct.unpack_from("<I", least, i + 4)[0] != _PID_RANGE[0] \
                    or struct.unpack_from("<I", most, i + 4)[0] != _PID_RANGE[1]:
                return ()
            at.append(i // 8)
    return tuple(at)


def _with_pid(program: bytes, at: tuple[int, ...], pid: int) -> bytes:
    """``program`` with ``pid`` as the constant of the instructions ``at``."""
    if not at:
        return program
    patched = bytearray(program)
    for index in at:
        struct.pack_into("<I", patched, 8 * index + 4, pid)
    return bytes(patched)


def pyseccomp_module() -> Any:
    """pyseccomp, imported on the first compile (it finds libc and libseccomp at import:
    by soname, not by ldconfig)."""
    with fixed_sonames():
        import pyseccomp

    return pyseccomp


def compile_program(rules: Sequence[_Rule]) -> bytes:
    """libseccomp's program of ``rules`` (their pid already put in), compiled: never from
    the cache.  (The resident tracer's warm-up compiles one, so that its workers import
    nothing when they compile: pyseccomp, and weakref.finalize's atexit.)"""
    sc = pyseccomp_module()
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.ENOSYS))
    with contextlib.suppress(OSError):  # older libseccomp: a linear filter, still correct
        flt.set_attr(_ATTR_OPTIMIZE, 2)
    for action, nr, tests in rules:
        flt.add_rule(action, nr, *(sc.Arg(*test) for test in tests))
    return _export(flt)


#: The cache file's layout (another layout's file is not read)
_PROGRAMS_FORMAT = 1
#: Programs kept from earlier starts when a start saves (a policy each, and its variants:
#: -q, --log...); past this many, only the start's own
MAX_PROGRAMS = 32


class ProgramCache(importcache.KeptEntries):
    """libseccomp's programs compiled by earlier starts, by their rules
    (:class:`importcache.KeptEntries`), read for one libseccomp version (a file of another
    is ignored, and replaced when this start saves); a damaged or unwritable file costs a
    compile, never a wrong program -- a program is served only for the exact rules it was
    compiled from.  Each program is kept with where the tracer's pid goes in it
    (:func:`libseccomp_program`)."""

    most = MAX_PROGRAMS

    def __init__(self, path: str, version: tuple[int, ...]) -> None:
        self.stamp = (_PROGRAMS_FORMAT, version)
        super().__init__(path)

    def holds(self, head: tuple[Any, ...]) -> bool:
        return head == (self.stamp,)

    def head(self) -> tuple[Any, ...]:
        return (self.stamp,)

    def well_formed(self, key: Any, entry: Any) -> bool:
        return type(key) is tuple and _well_formed(entry)


#: A kept program: its bytes (for the least pid) and the instructions that hold the pid
_Kept = tuple[bytes, tuple[int, ...]]


def _well_formed(kept: Any) -> bool:
    """Whether an entry read from the file is a program and instructions in it."""
    if type(kept) is not tuple or len(kept) != 2:
        return False
    program, at = kept
    return (type(program) is bytes and len(program) > 0 and len(program) % 8 == 0
            and type(at) is tuple
            and all(type(i) is int and 0 <= i < len(program) // 8 for i in at))


def _open_programs() -> ProgramCache | None:
    """The start's :class:`ProgramCache` (None when libseccomp's version cannot be read)."""
    version = _libseccomp_version()
    if version is None:
        return None
    return ProgramCache(importcache.cache_path("seccomp", "programs"), version)


#: The command's start's :class:`ProgramCache`, from its first compile to the end of its
#: caches (None in a library's process, after the start's caches closed, or when libseccomp's
#: version cannot be read)
_program_cache = startup.KeptForStart(_open_programs)


def _libseccomp_version() -> tuple[int, ...] | None:
    """(major, minor, micro) of the libseccomp pyseccomp loads (by its soname: engine/
    native.py), from the library itself; None if it cannot be loaded or asked."""
    try:
        library = ctypes.CDLL(SONAMES["seccomp"][0])
        version = library.seccomp_version
    except (OSError, AttributeError):
        return None
    version.restype = ctypes.POINTER(ctypes.c_uint * 3)
    found = version()
    return tuple(found.contents) if found else None


def _export(flt: Any) -> bytes:
    read, write = os.pipe()
    try:
        with os.fdopen(write, "wb", closefd=True) as sink:
            flt.export_bpf(sink)
        chunks = []
        while chunk := os.read(read, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(read)


def _add_open(b: _Builder, name: str, plan: FilterPlan) -> None:
    """open/openat by access mode (the flags are in a register); the cases partition every
    flags value, so no case falls to the default by accident.  With O_PATH the kernel drops
    the access mode and every other flag but O_PATH_FLAGS: such an open only reads
    (aliases.open_reads) -- O_PATH|O_WRONLY was a write-only open here, let through where
    only reading was refused (red team 17)."""
    open_plan = plan.opens[name]
    flags_arg = _OPEN_FLAGS_ARG[name]
    read_only = _action(open_plan.read_only)
    write_only = _action(open_plan.write_only)
    read_write = _action(open_plan.read_write)
    write_mask = O_PATH | O_ACCMODE | sum(_WRITE_BITS)
    mode = O_PATH | O_ACCMODE
    b.add(read_only, name, _arg(flags_arg, _MASKED_EQ, O_PATH, O_PATH))
    b.add(read_only, name, _arg(flags_arg, _MASKED_EQ, write_mask, 0))
    b.add(write_only, name, _arg(flags_arg, _MASKED_EQ, mode, 1))
    b.add(read_write, name, _arg(flags_arg, _MASKED_EQ, mode, 2))
    b.add(read_write, name, _arg(flags_arg, _MASKED_EQ, mode, 3))
    for bit in _WRITE_BITS:
        b.add(read_write, name, _arg(flags_arg, _MASKED_EQ, mode | bit, bit))


def _add_selected(b: _Builder, name: str, selected: SelectorPlan) -> None:
    """A call whose class rule reads one register (an ioctl's request), or a send whose
    address only a given pointer names (filterplan.ADDRESSED_SEND): the values for which
    the rule holds get their verdict; every other value is allowed (the plan's promise)."""
    rule, action = selected.rule, _action(selected.selected)
    assert selected.otherwise.kind == VerdictKind.ALLOW, name
    if rule.when == "one_of":
        for value in sorted(rule.values):
            b.add(action, name, _arg(rule.arg, _MASKED_EQ, 0xFFFFFFFF, value))
    elif rule.when == "nonzero":
        b.add(action, name, _arg(rule.arg, _NE, 0))
    else:
        assert rule.when in ("if_flag", "unless_flag"), rule
        b.add(action, name, _arg(rule.arg, _MASKED_EQ, rule.bit,
                                   rule.bit if rule.when == "if_flag" else 0))


def refused_cases(guard: Guard, lifted: frozenset[LiftTag]) -> tuple[Case, ...]:
    """A stop guard's cases the registers decide, in a run that lifts ``lifted``."""
    return guard.refused + (() if Lift.ROUTES in lifted else guard.routed)


def _add_guard(b: _Builder, name: str, guard: Guard, params: dict[ParamName, int],
               lifted: frozenset[LiftTag]) -> None:
    """The BPF rules of a guard, for a call the plan lets through: only the guarded cases are
    caught.  A case the registers decide exactly gets its errno here; a stop guard's case, or
    one that asks whether a range touches the scratch area, stops (the tracer decides)."""
    refuse = _RET_TRACE if guard.check is not None else _errno(guard.errno)
    for case in refused_cases(guard, lifted):  # (a stop guard's cases the registers decide)
        b.add(_errno(guard.errno), name, *(_bpf_arg(t, params) for t in case))
    for case in guard.cases:
        area = [t for t in case if t.op == "touches"]
        exact = [_bpf_arg(t, params) for t in case if t.op != "touches"]
        if not area:
            b.add(refuse, name, *exact)
            continue
        assert len(area) == 1, f"{name}: one range per case"
        for approximation in _touching(area[0]):
            b.add(_RET_TRACE, name, *approximation, *exact)


def _bpf_arg(test: Test, params: dict[ParamName, int]) -> _ArgTest:
    value = _value(test.value, params)
    if test.op == "eq":
        mask = _value(test.mask, params)
        return _arg(test.arg, _EQ, value) if mask == _U64 else \
            _arg(test.arg, _MASKED_EQ, mask, value)
    op = {"ne": _NE, "lt": _LT, "ge": _GE}[test.op]
    return _arg(test.arg, op, value)


def _touching(test: Test) -> list[tuple[_ArgTest, ...]]:
    """Rules that together catch every [addr, addr+len) touching the scratch area (and a little
    more: a cheap over-approximation, the tracer decides exactly)."""
    base, size, reach = scratch.BASE, scratch.SIZE, scratch.GUARD_REACH
    addr, length = test.arg, test.value
    assert isinstance(length, int)
    return [(_arg(addr, _MASKED_EQ, ~(size - 1) & _U64, base),),
            (_arg(addr, _MASKED_EQ, ~(reach - 1) & _U64, base - reach),),
            (_arg(addr, _LT, base - reach), _arg(length, _GE, reach))]


#: What a guard protects, in words (systrace -v says it with the refusal): the guards on
#: the scratch area, on signals to the tracer and on core dumps say it by their tests and
#: checks; the others by their call.
_PURPOSES = {
    "clone3": "its flags (in memory, read at a stop) get clone's guard",
    "clone": "CLONE_UNTRACED would start a process outside the trace, a namespace the engine "
             "could not follow would change what paths mean",
    "unshare": "a namespace the engine could not follow would change what paths mean",
    "seccomp": "a seccomp listener would let another process answer this process's calls",
    "ioctl": "TIOCSTI/TIOCLINUX would type commands into the terminal for someone else, "
             "FIOSETOWN/SIOCSPGRP make the tracer a socket's owner (a signal to systrace)",
    "setsockopt": "a source route would send packets to an address no rule looked at",
    "prctl": "PR_SET_MM and undumpable processes would hide memory from the tracer",
    "add_key": "a key in a keyring the tracer does not search decrypts names (fscrypt) for "
               "the program that the tracer resolves otherwise",
    "keyctl": "a keyring joined or linked would decrypt names (fscrypt) for the program that "
              "the tracer resolves otherwise",
    "request_key": "callout data would have the kernel run its key helper, as root and "
                   "outside the trace, with the program's arguments",
    "ptrace": "the tracer itself (its registers and memory)",
    "process_vm_readv": "the tracer itself (its memory)",
    "process_vm_writev": "the tracer itself (its memory)",
    "pidfd_getfd": "the tracer's descriptors, and a resident tracer's (its listening socket)",
    "perf_event_open": "the tracer itself (samples of its stack and registers), and every "
                       "process on a CPU or in a cgroup",
    "process_madvise": "the tracer's scratch area, whose pages any advice but MADV_COLD, "
                       "MADV_PAGEOUT, MADV_WILLNEED and MADV_COLLAPSE would drop or keep from "
                       "a forked child",
}
_SCRATCH = "the tracer's scratch area, where checked arguments are held"
_TRACER = "the tracer itself (a signal to systrace)"
_CORE = "core dumps, which the kernel writes outside every policy"


def guard_purpose(name: str) -> str:
    """What the engine's guard on this call protects (for messages)."""
    guard = GUARDS.get(name)
    if guard is None:
        return "the trace itself"
    if name in _PURPOSES:
        return _PURPOSES[name]
    if guard.check in ("task_target", "pidfd_target", "owner_target", "ioctl_target"):
        return _TRACER
    if guard.check == "rlimit":
        return _CORE
    params = {test.value for case in guard.cases for test in case} | {
        test.mask for case in guard.cases for test in case}
    if any(test.op == "touches" for case in guard.cases for test in case) or \
            params & {Param.AREA_END, Param.AREA_BASE}:
        return _SCRATCH
    if Param.TRACER_PID in params:
        return _TRACER
    return _PURPOSES.get(name, "the trace itself")


def _holds(test: Test, args: Sequence[int], params: dict[ParamName, int]) -> bool:
    """A guard's test, exactly, on the registers of a stop."""
    register = args[test.arg]
    if test.op == "touches":
        assert isinstance(test.value, int)
        return scratch.touches(register, args[test.value])
    return compare(test.op, register, _value(test.value, params), _value(test.mask, params))


def _case_holds(cases: tuple[Case, ...], args: Sequence[int], tracer_pid: int) -> bool:
    params = _params(tracer_pid)
    return any(all(_holds(test, args, params) for test in case) for case in cases)


def guard_refusal(name: str, args: Sequence[int], tracer_pid: int,
                  lifted: frozenset[LiftTag] = frozenset()) -> int | None:
    """The errno the engine's guards refuse this call with, or None.  Applied at every stop,
    so a call the plan traces is held to the same guards as one the filter answers.  A stop
    guard refuses only its ``refused`` cases here (the rest: see :func:`stop_guard`)."""
    guard = active_guard(name, lifted)
    if guard is None:
        return None
    cases = guard.cases if guard.check is None else refused_cases(guard, lifted)
    return guard.errno if _case_holds(cases, args, tracer_pid) else None


def shares_memory(name: str, args: Sequence[int]) -> Shares | None:
    """How this call, if it runs, lets something outside the traced tree write the caller's
    memory (its ``shares``, when one of their cases holds, exactly, on the registers)."""
    shares = SHARES.get(name)
    if shares is None:
        return None
    params = _params(0)  # (no case names the tracer)
    held = [case for case in shares.cases if all(_holds(test, args, params) for test in case)]
    if not held:
        return None
    if any(case in shares.tree_cases for case in held):
        return shares._replace(tree=True)  # (a loop device's attach: syscalls.py, ioctl)
    return shares


def keys_mapping(name: str, args: Sequence[int]) -> bool:
    """Whether this call may give a mapping a protection key (one of its ``keys`` cases holds,
    as the filter tests it)."""
    cases = KEYS.get(name)
    if cases is None:
        return False
    params = _params(0)
    return any(all(_holds(test, args, params) for test in case) for case in cases)


def stop_guard(name: str, args: Sequence[int], tracer_pid: int,
               lifted: frozenset[LiftTag] = frozenset()) -> Guard | None:
    """The stop guard whose case holds for this call (the tracer must apply its check), or
    None."""
    guard = active_guard(name, lifted)
    if guard is None or guard.check is None or not _case_holds(guard.cases, args, tracer_pid):
        return None
    return guard
