"""Compile a :class:`FilterPlan` into the seccomp-bpf prefilter, with the engine's own guards.

The filter is built with libseccomp (through pyseccomp) in the tracer and exported as raw BPF;
the child only loads the bytes (see :mod:`systrace_py.engine.spawn`).  Besides the plan it holds
guards that keep the tracer in control whatever the policy says:

* any other architecture or ABI (``int $0x80``, the x32 bit) and any call number the table does
  not know get ENOSYS, so no stop is ever read with the wrong table;
* ``clone3`` gets ENOSYS (libc falls back to ``clone``, whose flags are in a register) and
  ``clone`` with CLONE_UNTRACED gets EPERM, so no child can leave the trace;
* ``seccomp`` with a user-notification listener (whose answers would outrank our TRACE), prctl
  PR_SET_DUMPABLE 0 (which hides the tracee's memory from an unprivileged tracer) and PR_SET_MM
  get EPERM, and so do signals and pidfds aimed at the tracer (kill, tkill, rt_sigqueueinfo and
  pidfd_open always stop: their target may be any of the tracer's threads, or a process group
  that holds the tracer, see :mod:`systrace_py.engine.signals`);
* whatever maps, unmaps or reprotects the tracer's scratch area stops, so the tracer can refuse
  it (see :mod:`systrace_py.engine.scratch`).

When the plan already stops a guarded call, the guard is applied at the stop instead, by
:func:`guard_refusal` (the same rules in Python), because BPF rules cannot express "everything
but the guarded case" for every action.  A task holding this filter with no tracer gets ENOSYS
for every traced call: if the tracer is gone, nothing it was meant to check can happen.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct

import pyseccomp as sc

from systrace_py.engine import scratch
from systrace_py.policy.filterplan import FilterPlan, Verdict
from systrace_py.syscalls import AUDIT_ARCH_X86_64, MAX_NR, NAMES, NUMBERS, X32_SYSCALL_BIT

CLONE_UNTRACED = 0x00800000
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 8
PR_SET_DUMPABLE = 4
PR_SET_MM = 35
MREMAP_FIXED = 2
SHM_REMAP = 0x4000
_O_ACCMODE = 0o3
_WRITE_BITS = (os.O_CREAT, os.O_TRUNC, 0o20000000)  # __O_TMPFILE
_U64 = 0xFFFFFFFFFFFFFFFF
_LOW32 = 0xFFFFFFFF
_ATTR_OPTIMIZE = 8  # SCMP_FLTATR_CTL_OPTIMIZE: 2 = binary tree of call numbers

#: (call, address argument, length argument): calls that can change an existing mapping.
#: brk and mmap without MAP_FIXED never replace a mapping, so they need no guard (a mapping
#: made at the area's address *before* the tracer maps it makes the tracer's mmap fail, and
#: the tracer then refuses to hold anything in that address space).
_MAPPING_CALLS = (("munmap", 0, 1), ("mprotect", 0, 1), ("pkey_mprotect", 0, 1),
                  ("madvise", 0, 1), ("mremap", 0, 1))
MAP_FIXED = 0x10
#: signal calls aimed at a thread group by its id (argument 0): refused by the filter when it is
#: the tracer's (a thread of the tracer is reached only through its own group id)
_SIGNAL_TARGETS = {"tgkill": 0, "rt_tgsigqueueinfo": 0}
#: calls whose pid argument may name any task of the tracer (kill(TID) reaches the process of a
#: thread), or a process group or every process: they always stop, and the tracer checks the
#: target against all its tasks (engine.signals)
TASK_TARGETS = frozenset({"kill", "tkill", "rt_sigqueueinfo", "pidfd_open"})
TIOCSTI = 0x5412     # push bytes into the terminal's input: commands for the user's shell
TIOCLINUX = 0x541C   # (subcodes 2/3: paste a console selection, the same thing)
IPPROTO_IP, IP_OPTIONS = 0, 4        # source routes: the packet goes to an unchecked address
IPPROTO_IPV6, IPV6_RTHDR, IPV6_2292RTHDR = 41, 57, 5
RLIMIT_CORE = 4
IP_RETOPTS = 7
#: control messages sendmsg may not carry, for the same reason as REFUSED_SOCKOPTS
REFUSED_CONTROL = ((IPPROTO_IP, IP_RETOPTS), (IPPROTO_IPV6, IPV6_RTHDR),
                   (IPPROTO_IPV6, IPV6_2292RTHDR))
#: (level, option) pairs setsockopt may not set: routing headers name destinations no rule sees
REFUSED_SOCKOPTS = ((IPPROTO_IP, IP_OPTIONS), (IPPROTO_IPV6, IPV6_RTHDR),
                    (IPPROTO_IPV6, IPV6_2292RTHDR))
GUARDED_CALLS = frozenset({"clone", "clone3", "seccomp", "prctl", "shmat", "mmap", "ioctl",
                           "setsockopt", "setrlimit", "prlimit64", "pidfd_send_signal",
                           *(name for name, _, _ in _MAPPING_CALLS), *_SIGNAL_TARGETS,
                           *TASK_TARGETS})
#: guarded calls whose check needs more than registers: they always stop, and the tracer
#: applies the guard (guard_refusal) with what it reads
STOP_GUARDED = frozenset({"setrlimit", "prlimit64", "pidfd_send_signal", *TASK_TARGETS})


def _action(verdict: Verdict) -> int:
    if verdict.kind == "allow":
        return sc.ALLOW
    if verdict.kind == "errno":
        return sc.ERRNO(verdict.errno)
    return sc.TRACE(0)


class _Builder:
    """A libseccomp filter whose default is ALLOW; rules that equal it are skipped."""

    def __init__(self) -> None:
        self.filter = sc.SyscallFilter(sc.ALLOW)
        self.filter.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.ENOSYS))
        with contextlib.suppress(OSError):  # older libseccomp: a linear filter, still correct
            self.filter.set_attr(_ATTR_OPTIMIZE, 2)

    def add(self, action: int, nr: int | str, *args: sc.Arg) -> None:
        if action == sc.ALLOW:
            return
        self.filter.add_rule(action, NUMBERS[nr] if isinstance(nr, str) else nr, *args)


def compile_filters(plan: FilterPlan, tracer_pid: int) -> tuple[bytes, ...]:
    """The BPF programs to load, in order: the range guard, then the policy's filter.

    The kernel runs every loaded filter and the strictest answer wins, so the two act as one.
    """
    return (range_guard(), compile_plan(plan, tracer_pid))


def range_guard() -> bytes:
    """A hand-built filter of seven instructions: another architecture, the x32 bit, or any call
    number above the table's get ENOSYS.

    libseccomp cannot express a range over call numbers; listing the numbers one by one costs
    more than half a thousand rules and a sixth of systrace's start-up.  This is the one place
    that builds BPF by hand, and it is small enough to check by eye (and tests/escape check it
    by attack)."""
    ld_w_abs, jeq_k, jge_k, jgt_k, ret_k = 0x20, 0x15, 0x35, 0x25, 0x06
    enosys = 0x00050000 | errno.ENOSYS  # SECCOMP_RET_ERRNO | ENOSYS
    allow = 0x7FFF0000                  # SECCOMP_RET_ALLOW
    program = [
        (ld_w_abs, 0, 0, 4),                       # A = seccomp_data.arch
        (jeq_k, 0, 4, AUDIT_ARCH_X86_64),          # not x86_64 -> enosys
        (ld_w_abs, 0, 0, 0),                       # A = seccomp_data.nr
        (jge_k, 2, 0, X32_SYSCALL_BIT),            # x32 bit (or -1) -> enosys
        (jgt_k, 1, 0, MAX_NR),                     # beyond the table -> enosys
        (ret_k, 0, 0, allow),
        (ret_k, 0, 0, enosys),
    ]
    return b"".join(struct.pack("<HBBI", *insn) for insn in program)


def compile_plan(plan: FilterPlan, tracer_pid: int) -> bytes:
    """The policy's BPF program, as bytes ready for seccomp(SECCOMP_SET_MODE_FILTER).  Numbers
    inside the table that no call has get ENOSYS here; those beyond it, in :func:`range_guard`.
    """
    b = _Builder()
    for nr in range(MAX_NR + 1):
        if nr not in NAMES:
            b.add(sc.ERRNO(errno.ENOSYS), nr)
    for name, verdict in plan.calls.items():
        if name in plan.opens:
            _add_open(b, name, plan)
        elif name in GUARDED_CALLS and verdict.kind == "allow":
            _add_guards(b, name, tracer_pid)
        elif name == "clone3":
            b.add(sc.ERRNO(errno.ENOSYS), name)
        else:
            b.add(_action(verdict), name)
    return _export(b.filter)


def _export(flt: sc.SyscallFilter) -> bytes:
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
    """open/openat by access mode (the flags are in a register); the five cases partition
    every flags value, so no case falls to the default by accident."""
    open_plan = plan.opens[name]
    flags_arg = 1 if name == "open" else 2
    read_only = _action(open_plan.read_only)
    write_only = _action(open_plan.write_only)
    read_write = _action(open_plan.read_write)
    write_mask = _O_ACCMODE | sum(_WRITE_BITS)
    b.add(read_only, name, sc.Arg(flags_arg, sc.MASKED_EQ, write_mask, 0))
    b.add(write_only, name, sc.Arg(flags_arg, sc.MASKED_EQ, _O_ACCMODE, 1))
    b.add(read_write, name, sc.Arg(flags_arg, sc.MASKED_EQ, _O_ACCMODE, 2))
    b.add(read_write, name, sc.Arg(flags_arg, sc.MASKED_EQ, _O_ACCMODE, 3))
    for bit in _WRITE_BITS:
        b.add(read_write, name, sc.Arg(flags_arg, sc.MASKED_EQ, _O_ACCMODE | bit, bit))


def _add_guards(b: _Builder, name: str, tracer_pid: int) -> None:
    """The guards of a call the plan lets through: only the dangerous cases are caught."""
    eperm = sc.ERRNO(errno.EPERM)
    trace = sc.TRACE(0)
    if name == "clone":
        b.add(eperm, name, sc.Arg(0, sc.MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED))
    elif name == "clone3":
        b.add(sc.ERRNO(errno.ENOSYS), name)
    elif name == "seccomp":
        # the operation is an unsigned int: compare the low 32 bits, as the kernel reads them
        b.add(eperm, name, sc.Arg(0, sc.MASKED_EQ, _LOW32, SECCOMP_SET_MODE_FILTER),
              sc.Arg(1, sc.MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                     SECCOMP_FILTER_FLAG_NEW_LISTENER))
    elif name == "ioctl":
        for request in (TIOCSTI, TIOCLINUX):
            b.add(eperm, name, sc.Arg(1, sc.MASKED_EQ, _LOW32, request))
    elif name == "setsockopt":
        for level, option in REFUSED_SOCKOPTS:
            b.add(eperm, name, sc.Arg(1, sc.MASKED_EQ, _LOW32, level),
                  sc.Arg(2, sc.MASKED_EQ, _LOW32, option))
    elif name == "setrlimit":
        b.add(trace, name, sc.Arg(0, sc.MASKED_EQ, _LOW32, RLIMIT_CORE))
    elif name == "prlimit64":
        b.add(trace, name, sc.Arg(1, sc.MASKED_EQ, _LOW32, RLIMIT_CORE), sc.Arg(2, sc.NE, 0))
    elif name == "pidfd_send_signal" or name in TASK_TARGETS:
        b.add(trace, name)  # the target is a descriptor, a thread, a group: the tracer looks
    elif name == "prctl":
        b.add(eperm, name, sc.Arg(0, sc.MASKED_EQ, _LOW32, PR_SET_MM))
        b.add(eperm, name, sc.Arg(0, sc.MASKED_EQ, _LOW32, PR_SET_DUMPABLE),
              sc.Arg(1, sc.EQ, 0))
    elif name in _SIGNAL_TARGETS:
        b.add(eperm, name, sc.Arg(_SIGNAL_TARGETS[name], sc.MASKED_EQ, _LOW32, tracer_pid))
    elif name == "shmat":
        b.add(trace, name, sc.Arg(1, sc.LT, scratch.BASE + scratch.SIZE),
              sc.Arg(2, sc.MASKED_EQ, SHM_REMAP, SHM_REMAP))
        b.add(trace, name, sc.Arg(1, sc.MASKED_EQ, ~(scratch.SIZE - 1) & _U64, scratch.BASE))
    elif name == "mmap":
        _add_range_guard(b, name, 0, 1, sc.Arg(3, sc.MASKED_EQ, MAP_FIXED, MAP_FIXED))
    else:
        for call, addr_arg, len_arg in _MAPPING_CALLS:
            if call == name:
                _add_range_guard(b, name, addr_arg, len_arg)
        if name == "mremap":
            _add_range_guard(b, name, 4, 2, sc.Arg(3, sc.MASKED_EQ, MREMAP_FIXED, MREMAP_FIXED))


def _add_range_guard(b: _Builder, name: str, addr_arg: int, len_arg: int,
                     *extra: sc.Arg) -> None:
    """TRACE when [addr, addr+len) may touch the scratch area (cheap over-approximation)."""
    base, size, reach = scratch.BASE, scratch.SIZE, scratch.GUARD_REACH
    trace = sc.TRACE(0)
    b.add(trace, name, sc.Arg(addr_arg, sc.MASKED_EQ, ~(size - 1) & _U64, base), *extra)
    b.add(trace, name, sc.Arg(addr_arg, sc.MASKED_EQ, ~(reach - 1) & _U64, base - reach), *extra)
    b.add(trace, name, sc.Arg(addr_arg, sc.LT, base - reach), sc.Arg(len_arg, sc.GE, reach),
          *extra)


#: What each guard protects, in words (systrace -v says it with the refusal).
_GUARD_PURPOSES = {
    "clone3": "clone3's flags are in memory the filter cannot read (programs fall back to clone)",
    "clone": "CLONE_UNTRACED would start a process outside the trace",
    "seccomp": "a seccomp listener would let another process answer this process's calls",
    "ioctl": "TIOCSTI/TIOCLINUX would type commands into the terminal for someone else",
    "setsockopt": "a source route would send packets to an address no rule looked at",
    "prctl": "PR_SET_MM and undumpable processes would hide memory from the tracer",
    "shmat": "the tracer's scratch area, where checked arguments are held",
    "mmap": "the tracer's scratch area, where checked arguments are held",
    **{name: "the tracer's scratch area, where checked arguments are held"
       for name, _, _ in _MAPPING_CALLS},
    **{name: "the tracer itself (a signal to systrace)" for name in (*_SIGNAL_TARGETS,
                                                                    *TASK_TARGETS,
                                                                    "pidfd_send_signal")},
    "setrlimit": "core dumps, which the kernel writes outside every policy",
    "prlimit64": "core dumps, which the kernel writes outside every policy",
}


def guard_purpose(name: str) -> str:
    """What the engine's guard on this call protects (for messages)."""
    return _GUARD_PURPOSES.get(name, "the trace itself")


def guard_refusal(name: str, args: tuple[int, ...] | list[int], tracer_pid: int) -> int | None:
    """The errno the engine's guards refuse this call with, or None.  Applied at every stop,
    so a call the plan traces is held to the same guards as one the filter answers."""
    if name == "clone3":
        return errno.ENOSYS
    if name == "clone":
        return errno.EPERM if args[0] & CLONE_UNTRACED else None
    if name == "seccomp":
        listener = args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER
        op = args[0] & _LOW32
        return errno.EPERM if op == SECCOMP_SET_MODE_FILTER and listener else None
    if name == "ioctl":
        return errno.EPERM if args[1] & _LOW32 in (TIOCSTI, TIOCLINUX) else None
    if name == "setsockopt":
        pair = (args[1] & _LOW32, args[2] & _LOW32)
        return errno.EPERM if pair in REFUSED_SOCKOPTS else None
    if name == "prctl":
        option = args[0] & _LOW32
        if option == PR_SET_MM or (option == PR_SET_DUMPABLE and args[1] == 0):
            return errno.EPERM
        return None
    if name in _SIGNAL_TARGETS:
        return errno.EPERM if args[_SIGNAL_TARGETS[name]] & _LOW32 == tracer_pid else None
    if name == "shmat":
        return errno.EPERM if scratch.touches(args[1], scratch.SIZE) and (
            args[2] & SHM_REMAP or scratch.contains(args[1])) else None
    if name == "mmap":
        return errno.EPERM if args[3] & MAP_FIXED and scratch.touches(args[0], args[1]) else None
    for call, addr_arg, len_arg in _MAPPING_CALLS:
        if call == name and scratch.touches(args[addr_arg], args[len_arg]):
            return errno.EPERM
    if name == "mremap" and args[3] & MREMAP_FIXED and scratch.touches(args[4], args[2]):
        return errno.EPERM
    return None
