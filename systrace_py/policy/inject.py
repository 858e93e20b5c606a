"""Fault injection: what an ``action = "inject"`` rule does to the calls it picks, and when.

Pure data and parsing.  A rule with ``action = "inject"`` does not decide whether a call may
run: it tampers with it.  ``errno`` or ``retval`` replace its result (the call does not run),
``delay``/``delay_exit`` hold it before or after it runs, ``signal`` sends the caller a
signal at the call; ``when`` (strace's ``FIRST[..LAST][+[STEP]]``) picks which of the calls
the rule matched are tampered with, counted per process or per run (``when_scope``).

The same powers come from the command line in strace's syntax (``--inject SET:error=E...``
with ``-P PATH``): :func:`parse_strace_inject` turns one such option into rules, one per
system call, so that each call is counted on its own as strace counts it.

Checks that need the system call table (a ``retval`` the call could never return, a call
that never returns) are here too, so a policy file and the command line refuse the same
mistakes with the same words.
"""

from __future__ import annotations

import errno as errno_module
import re
import signal as signal_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from systrace_py import syscalls
from systrace_py.kernel import MAX_ERRNO
from systrace_py.syscalls import Kind, Result

__all__ = [
    "SCOPES",
    "InjectError",
    "Injection",
    "When",
    "duration_text",
    "parse_duration",
    "parse_signal",
    "parse_strace_inject",
    "parse_when",
    "retval_problem",
    "strace_set",
]

#: How ``when`` counts: over the calls one process made ("process": its threads together),
#: or over the whole run ("run").
SCOPES = ("process", "run")
#: The longest delay: a day (a longer one is a typo, and would hold the run for ever).
MAX_DELAY = 86400.0
#: The largest count ``when`` takes.
MAX_COUNT = 1 << 32
_PAGE = 4096
_USER_END = 1 << 47
_INT_MAX = (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class InjectError(ValueError):
    """A bad injection: the message says what is wrong (the caller adds where)."""


@dataclass(frozen=True, slots=True)
class When:
    """strace's ``FIRST[..LAST][+[STEP]]``: the FIRST matched call, then every STEP-th up to
    LAST (None: for ever).  ``3`` is the 3rd only; ``3..5`` the 3rd to the 5th; ``3+`` the 3rd
    and every one after; ``3+2`` the 3rd, 5th, 7th...; ``2..8+3`` the 2nd, 5th and 8th."""

    first: int = 1
    last: int | None = None
    step: int = 1
    text: str = ""

    def fires(self, count: int) -> bool:
        """Whether the ``count``-th matched call (from 1) is tampered with."""
        if count < self.first or (self.last is not None and count > self.last):
            return False
        return (count - self.first) % self.step == 0

    def done(self, count: int) -> bool:
        """Whether no call after the ``count``-th can fire any more."""
        return self.last is not None and count >= self.last

    def __str__(self) -> str:
        return self.text or _when_text(self)


ALWAYS = When(1, None, 1, "1+")
_WHEN = re.compile(r"(?P<first>\d+)(?:\.\.(?P<last>\d+))?(?P<plus>\+(?P<step>\d+)?)?")


def _when_text(when: When) -> str:
    text = str(when.first)
    if when.last is not None and when.last != when.first:
        text += f"..{when.last}"
    if when.last is None or when.last != when.first:
        if when.step != 1:
            text += f"+{when.step}"
        elif when.last is None:
            text += "+"
    return text


def parse_when(text: str) -> When:
    """``3``, ``3..5``, ``3+``, ``3+2``, ``3..9+2`` as a :class:`When`."""
    m = _WHEN.fullmatch(text.strip())
    if m is None:
        raise InjectError(f"{text!r} is not FIRST[..LAST][+[STEP]] (such as \"3\", \"3..5\","
                          " \"3+\" or \"3+2\")")
    first = int(m["first"])
    last = int(m["last"]) if m["last"] is not None else None
    step = int(m["step"]) if m["step"] is not None else 1
    if m["last"] is None and m["plus"] is None:
        last = first  # "3": the third call only
    if not 1 <= first <= MAX_COUNT:
        raise InjectError(f"{text!r}: calls are counted from 1 (FIRST is 1 or more)")
    if last is not None and not first <= last <= MAX_COUNT:
        raise InjectError(f"{text!r}: LAST must not come before FIRST")
    if not 1 <= step <= MAX_COUNT:
        raise InjectError(f"{text!r}: STEP is 1 or more")
    return When(first, last, step, text.strip())


def parse_duration(value: object, default_unit: str | None = None) -> float:
    """``"200ms"``, ``"1.5s"``, ``"300us"``, ``"10ns"`` in seconds.  A bare number takes
    ``default_unit`` (strace's microseconds, on the command line); in a policy file a unit
    is required (200 what?)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InjectError("expected a duration such as \"200ms\"")
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)", text)
    if m is None:
        raise InjectError(f"{text!r} is not a duration (such as \"200ms\", \"1.5s\","
                          " \"300us\")")
    unit = m[2] or default_unit
    if unit is None:
        raise InjectError(f"{text!r}: give a unit (\"{text}ms\", \"{text}s\", s, ms, us or"
                          " ns)")
    if unit not in _UNITS:
        raise InjectError(f"{text!r}: unknown unit {unit!r} (s, ms, us or ns)")
    seconds = float(m[1]) * _UNITS[unit]
    if seconds > MAX_DELAY:
        raise InjectError(f"{text!r} is more than a day")
    return seconds


def duration_text(seconds: float) -> str:
    """A duration as :func:`parse_duration` reads it back, in the largest exact unit."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        amount = seconds / scale
        if amount >= 1 and abs(amount - round(amount)) < 1e-6:
            return f"{round(amount)}{unit}"
    return f"{round(seconds / 1e-9)}ns"


def parse_signal(value: object) -> int:
    """``"SIGUSR1"``, ``"USR1"``, ``"SIGRTMIN+2"`` or a number (1..SIGRTMAX)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InjectError("expected a signal name such as \"SIGUSR1\" or a number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        if not 1 <= value <= signal_module.SIGRTMAX:
            raise InjectError(f"signal {value} is out of range (1-{signal_module.SIGRTMAX})")
        return value
    name = value.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    m = re.fullmatch(r"SIGRTMIN\+(\d+)", name)
    if m is not None and signal_module.SIGRTMIN + int(m[1]) <= signal_module.SIGRTMAX:
        return signal_module.SIGRTMIN + int(m[1])
    found = getattr(signal_module.Signals, name, None) if name.isidentifier() else None
    if not isinstance(found, signal_module.Signals):
        raise InjectError(f"unknown signal {value!r}")
    return int(found)


def signal_name(number: int) -> str:
    try:
        return signal_module.Signals(number).name
    except ValueError:
        return f"SIGRTMIN+{number - signal_module.SIGRTMIN}"


@dataclass(frozen=True, slots=True)
class Injection:
    """What an inject rule does to a call it picks.  ``errno`` or ``retval`` (not both): the
    call does not run and returns -errno, or ``retval``; ``delay``: seconds the call waits
    before it runs (or before its injected result); ``delay_exit``: seconds it waits after;
    ``signal``: sent to the calling thread at the call.  ``when`` picks the matched calls,
    counted per ``scope``."""

    errno: int | None = None
    retval: int | None = None
    signal: int | None = None
    delay: float = 0.0
    delay_exit: float = 0.0
    when: When = ALWAYS
    scope: str = "process"

    @property
    def replaces(self) -> bool:
        """Whether the call does not run (its result is the injected one)."""
        return self.errno is not None or self.retval is not None

    @property
    def result(self) -> int | None:
        """The value the call returns instead of running (-errno or retval)."""
        if self.errno is not None:
            return -self.errno
        return self.retval

    def describe(self) -> dict[str, object]:
        """As the log and the prompt show it, and as a policy file writes it (its keys)."""
        out: dict[str, object] = {}
        if self.errno is not None:
            out["errno"] = errno_module.errorcode.get(self.errno, self.errno)
        if self.retval is not None:
            out["retval"] = self.retval
        if self.signal is not None:
            out["signal"] = signal_name(self.signal)
        if self.delay:
            out["delay"] = duration_text(self.delay)
        if self.delay_exit:
            out["delay_exit"] = duration_text(self.delay_exit)
        if self.when != ALWAYS:
            out["when"] = str(self.when)
        if self.scope != "process":
            out["when_scope"] = self.scope
        return out

    def summary(self) -> str:
        """One line for -v: what was done to the call."""
        parts = []
        if self.errno is not None:
            parts.append(f"error {errno_module.errorcode.get(self.errno, self.errno)}")
        if self.retval is not None:
            parts.append(f"return {self.retval}")
        if self.signal is not None:
            parts.append(signal_name(self.signal))
        if self.delay:
            parts.append(f"delay {duration_text(self.delay)}")
        if self.delay_exit:
            parts.append(f"delay_exit {duration_text(self.delay_exit)}")
        return ", ".join(parts)


def retval_problem(call: str, value: int) -> str | None:
    """Why ``call`` could never return ``value`` on success (None: it could)."""
    if -MAX_ERRNO <= value < 0:
        name = errno_module.errorcode.get(-value)
        return (f"{value} is an error return: write errno = \"{name}\"" if name else
                f"{value} is an error return: use errno")
    result = syscalls.result_of(call)
    if result == Result.NONE:
        return f"{call} does not return to the caller when it succeeds: use errno"
    if value < 0:
        return f"{call} returns no negative value"
    if result == Result.ZERO and value != 0:
        return f"{call} returns only 0 when it succeeds"
    if result == Result.FD and value > _INT_MAX:
        return f"{call} returns a descriptor (0-{_INT_MAX})"
    if result == Result.ADDRESS and (value % _PAGE or value >= _USER_END):
        return f"{call} returns a page-aligned address below {_USER_END:#x}"
    if value > _LONG_MAX:
        return f"{value} does not fit in the return register"
    return None


# ---------------------------------------------------------------------------------------------
# strace's command-line syntax


#: strace's %CLASS names, as this table classifies the calls (strace's own lists differ in
#: a few corners; docs/cli.md says so)
def _classes() -> dict[str, frozenset[str]]:
    table = syscalls.TABLE.values()
    file_calls = frozenset(syscalls.PATHS)
    desc = frozenset(c.name for c in table if any(
        a.kind in (Kind.FD, Kind.FILE, Kind.SOCKET, Kind.DIRFD) for a in c.args)) | frozenset(
        n for n, r in syscalls.RESULTS.items() if r == Result.FD)
    network = frozenset(c.name for c in table if any(a.kind == Kind.SOCKET for a in c.args)
                        or c.aliases & {"net-connect", "net-bind", "net-listen", "net-accept",
                                        "net-socket"}) | {
        "recvfrom", "recvmsg", "recvmmsg", "getsockname", "getpeername", "getsockopt",
        "setsockopt", "shutdown"}
    process = frozenset(c.name for c in table if "process" in c.aliases) | {
        "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill", "tkill",
        "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "pidfd_open",
        "unshare"}
    sig = frozenset(c.name for c in table if c.name.startswith("rt_sig") or any(
        a.kind == Kind.SIGNAL for a in c.args)) | {"sigaltstack", "pause", "signalfd",
                                                    "signalfd4"}
    memory = frozenset(c.name for c in table if any(a.kind == Kind.ADDR for a in c.args)
                       ) | {"brk", "mmap", "munmap", "mprotect", "madvise", "mlock", "mlock2",
                            "munlock", "mlockall", "munlockall", "mincore", "msync",
                            "remap_file_pages", "pkey_mprotect", "mbind", "set_mempolicy",
                            "get_mempolicy", "migrate_pages", "move_pages", "shmat", "shmdt"}
    creds = frozenset(c.name for c in table if re.fullmatch(
        r"(get|set)(res|re|fs)?[ug]id|(get|set)groups|cap[gs]et", c.name))
    ipc = frozenset(c.name for c in table if re.fullmatch(r"(msg|sem|shm)[a-z]+|mq_\w+",
                                                          c.name))
    clock = frozenset(c.name for c in table if re.fullmatch(
        r"clock_\w+|(get|set)timeofday|time|adjtimex|times", c.name))
    stat = {"stat", "statx", "newfstatat"}
    return {
        "file": file_calls, "desc": desc, "network": network, "net": network,
        "process": process, "signal": sig, "memory": memory, "creds": creds, "ipc": ipc,
        "clock": clock,
        "stat": frozenset(stat & {"stat", "statx"}), "lstat": frozenset({"lstat"}),
        "fstat": frozenset({"fstat", "newfstatat"}), "%stat": frozenset(
            {"stat", "lstat", "fstat", "newfstatat", "statx"}),
        "statfs": frozenset({"statfs"}), "fstatfs": frozenset({"fstatfs"}),
        "%statfs": frozenset({"statfs", "fstatfs", "ustat"}),
    }


def strace_set(text: str) -> tuple[str, ...]:
    """strace's ``-e trace=`` set: names, ``%class``, ``/regex``, ``all``, ``?name`` (no
    error when unknown), a leading ``!`` for the complement; systrace's aliases (``fsread``,
    ``net-connect``...) too.  The calls it names, in table order."""
    from systrace_py.policy import aliases

    text = text.strip()
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    if not text:
        raise InjectError("no system calls named")
    chosen: set[str] = set()
    classes: dict[str, frozenset[str]] | None = None
    for item in text.split(","):
        item = item.strip()
        quiet = item.startswith("?")
        if quiet:
            item = item[1:]
        if item in ("all", "%all"):
            chosen.update(syscalls.NUMBERS)
        elif item.startswith("/"):
            try:
                pattern = re.compile(item[1:])
            except re.error as exc:
                raise InjectError(f"bad regular expression {item!r}: {exc}") from None
            found = {name for name in syscalls.NUMBERS if pattern.search(name)}
            if not found and not quiet:
                raise InjectError(f"{item!r} matches no system call")
            chosen |= found
        elif item.startswith("%"):
            classes = classes if classes is not None else _classes()
            members = classes.get(item[1:])
            if members is None:
                if quiet:
                    continue
                raise InjectError(f"unknown class {item!r} (known: "
                                  f"{', '.join('%' + k for k in sorted(classes))})")
            chosen |= members
        elif item in aliases.ALIASES:
            chosen |= aliases.ALIASES[item]
        elif item in syscalls.NUMBERS:
            chosen.add(item)
        elif not quiet:
            close = syscalls.suggest(item)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InjectError(f"unknown system call {item!r}{hint}")
    if negate:
        chosen = set(syscalls.NUMBERS) - chosen
    return tuple(name for name in syscalls.NUMBERS if name in chosen)


def parse_strace_inject(spec: str) -> tuple[tuple[str, ...], Injection]:
    """``SET:error=E|retval=N[:signal=S][:delay_enter=D][:delay_exit=D][:when=W]`` as
    strace's ``-e inject=`` reads it: the calls, and what is done to them.  Durations
    without a unit are microseconds, as in strace."""
    head, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise InjectError("expected SET:error=E|retval=N[:signal=S][:delay_enter=D]"
                          "[:delay_exit=D][:when=W]")
    calls = strace_set(head)
    if not calls:
        raise InjectError(f"{head!r} names no system call")
    values: dict[str, str] = {}
    for part in rest.split(":"):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise InjectError(f"{part!r}: expected KEY=VALUE")
        if key in values:
            raise InjectError(f"{key} given twice")
        if key in ("syscall", "poke_enter", "poke_exit"):
            raise InjectError(f"{key}= is not supported by systrace")
        if key not in ("error", "retval", "signal", "delay_enter", "delay_exit", "when"):
            raise InjectError(f"unknown key {key!r} (error, retval, signal, delay_enter,"
                              " delay_exit, when)")
        values[key] = value.strip()
    err = retval = sig = None
    if "error" in values and "retval" in values:
        raise InjectError("error and retval exclude each other")
    if "error" in values:
        err = _errno(values["error"])
    if "retval" in values:
        try:
            retval = int(values["retval"], 0)
        except ValueError:
            raise InjectError(f"retval {values['retval']!r} is not a number") from None
        for call in calls:
            problem = retval_problem(call, retval)
            if problem is not None:
                raise InjectError(f"retval={retval}: {problem}")
    if "signal" in values:
        sig = parse_signal(values["signal"])
    delay = parse_duration(values["delay_enter"], "us") if "delay_enter" in values else 0.0
    delay_exit = parse_duration(values["delay_exit"], "us") if "delay_exit" in values else 0.0
    when = parse_when(values["when"]) if "when" in values else ALWAYS
    injection = Injection(err, retval, sig, delay, delay_exit, when, "process")
    if not (injection.replaces or sig is not None or delay or delay_exit):
        raise InjectError("nothing to inject: give error=, retval=, signal=, delay_enter= or"
                          " delay_exit=")
    return calls, injection


def _errno(text: str) -> int:
    if text.isdigit():
        value = int(text)
        if not 1 <= value <= MAX_ERRNO:
            raise InjectError(f"error {value} is out of range (1-{MAX_ERRNO})")
        return value
    found = getattr(errno_module, text.upper(), None) if text.upper().startswith("E") else None
    if not isinstance(found, int):
        raise InjectError(f"unknown error {text!r} (an errno name such as ENOSPC, or a number)")
    return found


def calls_of(names: Iterable[str]) -> Sequence[str]:
    """The system calls a rule's names stand for (aliases expanded), in table order."""
    from systrace_py.policy import aliases

    chosen: set[str] = set()
    for name in names:
        chosen |= aliases.expand(name)
    return [name for name in syscalls.NUMBERS if name in chosen]
