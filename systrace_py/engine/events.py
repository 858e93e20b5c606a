"""What crosses from the engine to whoever decides: the Monitor protocol and its Reply.

The tracer calls a :class:`Monitor` at every event; the policy enforcer
(:mod:`systrace_py.supervisor`) and the library API (:mod:`systrace_py.api`) are both monitors.
"""

from __future__ import annotations

import errno as errno_module
from dataclasses import dataclass
from typing import Final, NewType, Protocol

from systrace_py import tag_values
from systrace_py.engine.decode import DecodedCall
from systrace_py.engine.tracee import Process, Task

#: what a monitor's reply does: one of :class:`ReplyKind`'s values
ReplyTag = NewType("ReplyTag", str)


class ReplyKind:
    """What a monitor's reply does; :data:`REPLY_KINDS` lists them.  Str tags in a class, not
    an enum (start-up, issue 16: see policy.model.Reason)."""

    #: let the call go ahead (held to the checked arguments)
    RUN: Final = ReplyTag("run")
    #: skip it: the call returns -errno (or ``retval``)
    REFUSE: Final = ReplyTag("refuse")
    #: kill the calling process
    KILL: Final = ReplyTag("kill")
    #: stop checking this process: every call permitted from now on
    DETACH: Final = ReplyTag("detach")
    #: no answer yet: the task waits, the others go on (see Tracer.answer)
    PARK: Final = ReplyTag("park")


#: every one, in the order written
REPLY_KINDS: tuple[ReplyTag, ...] = tag_values(ReplyKind)


@dataclass(frozen=True, slots=True)
class Reply:
    """A monitor's answer for one stopped call.

    ``paths`` replaces path arguments by role ("path", "old", "new"); ``sockaddr`` replaces the
    socket address (raw struct sockaddr bytes); ``args`` changes scalar argument registers (the
    engine's guards are checked again on the new values); ``want_exit`` asks for
    ``on_syscall_exit``.  Fault injection: ``delay`` holds the task that many seconds
    before the reply is applied (the other tasks go on); ``delay_exit`` holds it that long
    after the call, before it returns to the program; ``signal`` is sent to the calling
    thread at the call (it is delivered when the call returns, or interrupts it).
    """

    kind: ReplyTag = ReplyKind.RUN
    errno: int = errno_module.EPERM
    retval: int | None = None
    paths: dict[str, str] | None = None
    sockaddr: bytes | None = None
    want_exit: bool = False
    args: dict[int, int] | None = None  # argument registers to change (index 0-5 -> value)
    delay: float = 0.0
    delay_exit: float = 0.0
    signal: int = 0

    @staticmethod
    def run(want_exit: bool = False) -> Reply:
        return _RUN_EXIT if want_exit else _RUN

    @staticmethod
    def refuse(err: int = errno_module.EPERM) -> Reply:
        return Reply(ReplyKind.REFUSE, err)


_RUN = Reply()
_RUN_EXIT = Reply(want_exit=True)
PARK = Reply(ReplyKind.PARK)
KILL = Reply(ReplyKind.KILL)
DETACH = Reply(ReplyKind.DETACH)


class Monitor(Protocol):
    """Called by the tracer.  Every method runs in the tracer's thread, between stops."""

    def on_start(self, process: Process) -> None:
        """The first process, before its first exec: set ``process.state``."""
        ...

    def on_syscall(self, task: Task, call: DecodedCall) -> Reply:
        """A call stopped at entry."""
        ...

    def on_syscall_exit(self, task: Task, call: DecodedCall, result: int) -> None:
        """The result of a call whose Reply had ``want_exit``."""
        ...

    def on_new_process(self, parent: Process, child: Process, how: str) -> None:
        """fork/vfork/clone made a process ("fork", "vfork", "clone"): set ``child.state``."""
        ...

    def on_new_thread(self, parent: Task, child: Task) -> None:
        ...

    def on_exec(self, process: Process, old_program: str, argv: tuple[str, ...] | None) -> None:
        """The process now runs ``process.program``."""
        ...

    def on_exit(self, process: Process, status: int) -> None:
        """The process is gone; ``status`` is a wait status."""
        ...

    def on_engine_refusal(self, task: Task, call: DecodedCall, err: int, why: str,
                          kernel: bool = False) -> None:
        """The engine refused a call on its own (a guard, an unreadable argument...).
        ``kernel``: the call fails as it does natively -- the kernel would answer ``err`` for
        these arguments (a bad pointer, a lookup ending in ENOTDIR or ELOOP) -- so it is the
        program's own failure, not a refusal of systrace's."""
        ...

    # What the engine asks of a monitor besides its events.  The bodies are the answers of a
    # monitor that decides nothing by a table and writes no file while the tree runs (the
    # learner, the library's handlers: they subclass Monitor for them); the policy enforcer
    # answers each its own way (supervisor.Supervisor).

    @property
    def writes_beside(self) -> bool:
        """Whether threads of the monitor write files while the tree runs, at times the tree
        chooses: then the engine holds even a task alone (Tracer._reached_from_outside)."""
        return False

    @property
    def writes_deciding(self) -> bool:
        """Whether the tracer's own thread writes such a file while deciding a call that then
        runs (a log's record of it): then the engine holds even a task alone."""
        return False

    def may_make_children(self, task: Task) -> bool:
        """Whether the task's table may let it make a child: the run's own command, alone,
        gets the scratch area premapped at its exec (Tracer._on_exec).  No: the area is
        mapped at the first call held, as it always may be."""
        return False

    def decides_by_name(self, task: Task, syscall: str | None = None) -> bool:
        """Whether the task's table decides anything -- or ``syscall``, when given -- by a
        file's name (Tracer._answered_refusal).  Yes: fail closed."""
        return True
