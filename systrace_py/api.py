"""A library for system call monitors: write your own in a few lines.

The way LibSysCTr (C) and stramon-lib (OCaml) let people do it::

    import systrace_py

    def on_open(ctx, pid, call):          # call: an OpenCall (call.path resolved, ...)
        ctx.append((pid, call.path))
        return ctx

    seen = systrace_py.monitor(["make"], {"openat": on_open, "open_": on_open}, [])

:func:`monitor` runs ``argv`` under trace and calls a handler for every call it names, with
the context, the pid and a typed record (:mod:`systrace_py.records`); what a handler returns is
the context of the next call, and the last one is what ``monitor`` returns.

Why it is built this way:

* **The same engine as the command.**  :class:`HandlerMonitor` is a
  :class:`systrace_py.engine.events.Monitor`, like the policy enforcer
  (:class:`systrace_py.supervisor.Supervisor`): a handler's refusal or rewrite goes through
  exactly the machinery a policy's does, argument holding included.
* **Stops only for handled calls.**  The seccomp prefilter traps exactly the calls that have a
  handler (``PlanOptions(extra=...)``); every other call runs at full speed.
* **Exit by default.**  A handler runs when the call returns, with the complete record
  (result, errno name), like stramon-lib's; ``"NAME:entry"`` runs it before the call, where it
  may refuse the call or change its arguments.  Both may be given for one call.
* **Control by asking the record.**  ``call.refuse(errno.EACCES)``, ``call.rewrite(path=...)``,
  ``call.set_arg(i, v)``, ``call.set_result(v)``, ``call.kill()``, ``call.detach()``,
  ``call.stop()``: the handler still returns just the context, so a context of any type
  (even a tuple) is never mistaken for an action.
* **Fail closed.**  An exception in a handler kills the whole traced tree and is re-raised
  from ``monitor``: a monitor that cannot decide must not let the program run on unwatched.
"""

from __future__ import annotations

import builtins
import contextlib
import keyword
import os
import shutil
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from systrace_py import procfs
from systrace_py.engine import enforce
from systrace_py.engine.decode import DecodedCall, DecodeError
from systrace_py.engine.events import KILL, Monitor, Reply, ReplyKind
from systrace_py.engine.seccomp import compile_filters
from systrace_py.engine.tracee import Process, Task
from systrace_py.engine.tracer import SpawnSpec, Tracer
from systrace_py.policy import aliases
from systrace_py.policy.filterplan import FilterPlan, PlanOptions, plan
from systrace_py.policy.model import Action, Rule, Table
from systrace_py.records import (
    ChildEvent,
    Control,
    ExecEvent,
    ExitEvent,
    Syscall,
    build_record,
    exit_record,
    signal_name,
)
from systrace_py.session import Session
from systrace_py.syscalls import NUMBERS, TABLE, suggest

C = TypeVar("C")
#: ``handler(ctx, pid, record) -> ctx``
Handler = Callable[[Any, int, Any], Any]

#: process events, by the keys that name them in a handler table.
EVENTS: Mapping[str, type] = {"@child": ChildEvent, "@exec": ExecEvent, "@exit": ExitEvent}
#: calls that never return: their handlers run at entry (there is no exit to wait for).
NEVER_RETURN = frozenset(c.name for c in TABLE.values() if not c.returns)
#: call names that are Python keywords or builtins: their handler key has a trailing "_".
COLLIDING = frozenset(
    name for name in NUMBERS
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name)
) | frozenset({"open", "exit"})
_RUN = Reply.run()


def handler_name(syscall: str) -> str:
    """The handler key of a call: its name, with a trailing ``_`` when the name is a Python
    keyword or builtin (``open_``, ``exit_``), as in stramon-lib."""
    return syscall + "_" if syscall in COLLIDING else syscall


def syscall_name(key: str) -> str:
    """The call a handler key names (``open_`` -> ``open``); ValueError for an unknown name."""
    if key.endswith("_") and key[:-1] in COLLIDING:
        return key[:-1]
    if key in NUMBERS:
        return key
    near = [handler_name(n) for n in suggest(key.rstrip("_"))]
    hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
    raise ValueError(f"handler key {key!r}: no such system call{hint}")


@dataclass
class HandlerTable:
    """Handlers by phase: ``entry``/``exit`` by call name, ``*`` ones for every other call,
    and the process events."""

    entry: dict[str, Handler] = field(default_factory=dict)
    exit: dict[str, Handler] = field(default_factory=dict)
    any_entry: Handler | None = None
    any_exit: Handler | None = None
    events: dict[str, Handler] = field(default_factory=dict)

    @classmethod
    def parse(cls, handlers: Mapping[str, Handler]) -> HandlerTable:
        """Keys: a call name (``"openat"``, ``"open_"``), optionally with ``":entry"`` or
        ``":exit"`` (the default); ``"*"`` / ``"*:entry"`` for every call without its own
        handler; ``"@child"``, ``"@exec"``, ``"@exit"`` for process events."""
        table = cls()
        seen: dict[tuple[str, str], str] = {}
        for key, handler in handlers.items():
            if not callable(handler):
                raise TypeError(f"handler for {key!r} is not callable: {handler!r}")
            if key.startswith("@"):
                if key not in EVENTS:
                    raise ValueError(f"unknown event {key!r} (events: {', '.join(EVENTS)})")
                table.events[key] = handler
                continue
            base, _, phase = key.partition(":")
            if phase not in ("", "entry", "exit"):
                raise ValueError(f"handler key {key!r}: the phase must be 'entry' or 'exit'")
            name = "*" if base == "*" else syscall_name(base)
            if name in NEVER_RETURN:
                if phase == "exit":
                    raise ValueError(f"handler key {key!r}: {name} never returns; "
                                     "its handler runs at entry")
                phase = "entry"
            phase = phase or "exit"
            if (name, phase) in seen:
                raise ValueError(f"handler keys {seen[name, phase]!r} and {key!r} name the "
                                 f"same call and phase")
            seen[name, phase] = key
            if name == "*":
                if phase == "entry":
                    table.any_entry = handler
                else:
                    table.any_exit = handler
            else:
                (table.entry if phase == "entry" else table.exit)[name] = handler
        return table

    @property
    def trace_all(self) -> bool:
        return self.any_entry is not None or self.any_exit is not None

    def calls(self) -> frozenset[str]:
        return frozenset(self.entry) | frozenset(self.exit)

    def for_call(self, name: str) -> tuple[Handler | None, Handler | None]:
        return self.entry.get(name, self.any_entry), self.exit.get(name, self.any_exit)


class _HandlerFailure(BaseException):
    """Carries a handler's exception through the tracer loop, which kills the traced tree on
    any exception; a BaseException so the engine cannot mistake it for one of its own
    (a DecodeError, an ESRCH) and swallow it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class HandlerMonitor(Monitor, Generic[C]):
    """A Monitor that calls handlers (see :func:`monitor`).  Use it directly for the exit
    code (:meth:`run` returns it) or to run several commands with one context."""

    def __init__(self, handlers: Mapping[str, Handler], context: C, *,
                 hold_arguments: bool = True, allow_unsafe: bool = False) -> None:
        self.handlers = HandlerTable.parse(handlers)
        self.context: C = context
        self.hold_arguments = hold_arguments
        self.allow_unsafe = allow_unsafe
        self.tracer: Tracer | None = None
        self.exit_code: int | None = None
        self._pending: dict[int, Syscall] = {}    # tid -> entry record awaiting its exit
        self._detached: set[int] = set()          # pids no handler hears of any more
        self._stopped = False

    # --- running -----------------------------------------------------------------------------
    def filter_plan(self) -> FilterPlan:
        """Stop on exactly the handled calls (and what the engine itself needs).  The unsafe
        calls the command refuses by default (io_uring, ptrace, process_vm_writev...: ways to
        act where no handler sees) are refused here too unless ``allow_unsafe`` or a handler
        names them."""
        table = Table("monitor")
        if self.allow_unsafe:
            table.rules.append(Rule(tuple(sorted(aliases.UNSAFE_CALLS)), Action.PERMIT))
        return plan([table], PlanOptions(extra=self.handlers.calls(),
                                         trace_all=self.handlers.trace_all))

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: str | os.PathLike[str] | None = None) -> int:
        """Trace ``argv`` to its end; its exit code (128+N when signal N killed it)."""
        argv = [os.fspath(a) for a in argv]
        if not argv:
            raise ValueError("monitor: empty argv")
        workdir = os.fspath(cwd) if cwd is not None else None
        executable = _find_executable(argv[0], env, workdir)
        self._stopped = False
        session = Session(self, hold_arguments=self.hold_arguments)
        filter_plan = self.filter_plan()
        spec = SpawnSpec(argv=argv, executable=executable, cwd=workdir,
                         env=dict(env) if env is not None else None,
                         filters=compile_filters(filter_plan, os.getpid()),
                         lifted=filter_plan.lifted)
        try:
            outcome = session.run(spec)
        except _HandlerFailure as wrapped:
            raise wrapped.error from None  # the traced tree was killed (fail closed)
        finally:
            self._pending.clear()
            self._detached.clear()
        if outcome.error is not None:
            raise outcome.error  # the tracer failed: the traced tree was killed
        self.exit_code = outcome.code
        return outcome.code

    def attach(self, tracer: Tracer) -> None:
        """The session's tracer (to stop the run, detach a process)."""
        self.tracer = tracer

    def close(self) -> None:
        """Nothing runs beside the tracer for handlers."""

    # --- the Monitor protocol ------------------------------------------------------------------
    def on_start(self, process: Process) -> None:
        process.state = None

    def on_syscall(self, task: Task, call: DecodedCall) -> Reply:
        if self._stopped or task.pid in self._detached:
            return _RUN
        # (a call the engine restarts after mapping its scratch area is not asked again: the
        # engine applies this decision to it, so handlers see each call once)
        on_entry, on_exit = self.handlers.for_call(call.name)
        if on_entry is None and on_exit is None:
            return _RUN  # a stop the engine needs for itself (writing opens)
        record = build_record(call, task.process.program, self._tracer.decoder,
                              task.process.memory)
        reply = Reply.run(want_exit=on_exit is not None)
        if on_entry is not None:
            ctl = Control(entry=True, tid=task.tid, memory=task.process.memory)
            self._invoke(on_entry, task.pid, record, ctl)
            reply = self._entry_reply(task, call, record, ctl, on_exit)
        if reply.kind == ReplyKind.RUN and reply.want_exit:
            self._pending[task.tid] = record
        return reply

    def on_syscall_exit(self, task: Task, call: DecodedCall, result: int) -> None:
        record = self._pending.pop(task.tid, None)
        if record is None or self._stopped or task.pid in self._detached:
            return
        handler = self.handlers.for_call(call.name)[1]
        if handler is None:
            return
        value = self._run_exit(handler, task, call, record, result, refused=False)
        if value is not None:
            enforce.set_return(task.tid, value)

    def on_new_process(self, parent: Process, child: Process, how: str) -> None:
        if self._stopped or parent.pid in self._detached:
            self._detached.add(child.pid)  # the engine made its tasks detached (inherited)
            return
        handler = self.handlers.events.get("@child")
        if handler is None:
            return
        event = ChildEvent(pid=child.pid, parent=parent.pid, how=how, program=child.program)
        ctl = Control(entry=True, tid=child.pid, memory=child.memory)
        self._invoke(handler, child.pid, event, ctl)
        self._process_control(ctl, child)

    def on_new_thread(self, parent: Task, child: Task) -> None:
        pass  # a thread of a detached process is detached by the engine

    def on_exec(self, process: Process, old_program: str, argv: tuple[str, ...] | None) -> None:
        if self._stopped or process.pid in self._detached:
            return
        handler = self.handlers.events.get("@exec")
        if handler is None:
            return
        event = ExecEvent(pid=process.pid, program=process.program, previous=old_program,
                          argv=argv if argv is not None else procfs.cmdline(process.pid) or ())
        ctl = Control(entry=True, tid=process.pid, memory=process.memory)
        self._invoke(handler, process.pid, event, ctl)
        self._process_control(ctl, process)

    def on_exit(self, process: Process, status: int) -> None:
        for tid in [t for t, r in self._pending.items() if r.pid == process.pid]:
            del self._pending[tid]
        detached = process.pid in self._detached
        self._detached.discard(process.pid)
        handler = self.handlers.events.get("@exit")
        if handler is None or self._stopped or detached:
            return
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        event = ExitEvent(pid=process.pid, program=process.program, status=status,
                          code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                          signal=sig, signal_name=signal_name(sig) if sig else None)
        ctl = Control(entry=False, tid=process.pid, memory=None)
        self._invoke(handler, process.pid, event, ctl)
        if ctl.stop is not None:
            self._stop(ctl.stop)

    def on_engine_refusal(self, task: Task, call: DecodedCall | None, err: int,
                          why: str, kernel: bool = False) -> None:
        """The engine refused a call (its guards, an unreadable argument, no scratch area):
        an exit handler of the call sees it as a refused call with that errno."""
        record = self._pending.pop(task.tid, None)
        if call is None or self._stopped or task.pid in self._detached:
            return
        handler = self.handlers.for_call(call.name)[1]
        if handler is None:
            return
        if record is None:
            program, decoder, memory = task.process.program, self._tracer.decoder, None
            try:
                record = build_record(call, program, decoder, memory)
            except DecodeError:
                record = build_record(call, program, decoder, memory, decode=False)
        # the engine's refusal stands: a set_result here has nothing to change
        self._run_exit(handler, task, call, record, -err, refused=True)

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _tracer(self) -> Tracer:
        assert self.tracer is not None
        return self.tracer

    def _invoke(self, handler: Handler, pid: int, record: object, ctl: Control) -> None:
        """Call one handler; its return value is the next context.  The control is active
        only while it runs (the task is stopped only then)."""
        object.__setattr__(record, "_ctl", ctl)
        try:
            self.context = handler(self.context, pid, record)
        except BaseException as exc:
            raise _HandlerFailure(exc) from exc
        finally:
            ctl.active = False

    def _entry_reply(self, task: Task, call: DecodedCall, record: Syscall, ctl: Control,
                     on_exit: Handler | None) -> Reply:
        """An entry handler's control as the engine's Reply."""
        if ctl.stop is True:
            self._stop(kill=True)
            return KILL
        if ctl.kill:
            return KILL
        if ctl.detach:
            self._detach(task.process)
        if ctl.stop is False:
            self._stop(kill=False)
        goes_on = not (ctl.detach or ctl.stop is False)
        if ctl.refusal is not None:
            err, retval = ctl.refusal
            result = retval if retval is not None else -err
            if on_exit is not None and goes_on:
                changed = self._run_exit(on_exit, task, call, record, result, refused=True)
                result = changed if changed is not None else result
            return Reply(ReplyKind.REFUSE, err, retval=result)
        # scalar changes go with the reply: the engine pokes the registers and checks its
        # guards on the new values (a refusal then reaches on_engine_refusal)
        return Reply(paths=dict(ctl.paths) or None, sockaddr=ctl.sockaddr,
                     args=dict(ctl.args) or None, want_exit=on_exit is not None and goes_on)

    def _run_exit(self, handler: Handler, task: Task, call: DecodedCall, record: Syscall,
                  result: int, refused: bool) -> int | None:
        """Call an exit handler; the return value it asked for, if any."""
        done = exit_record(record, call, result, self._tracer.decoder, task.process.memory,
                           refused=refused)
        ctl = Control(entry=False, tid=task.tid, memory=task.process.memory)
        self._invoke(handler, task.pid, done, ctl)
        self._process_control(ctl, task.process)
        return ctl.result

    def _process_control(self, ctl: Control, process: Process) -> None:
        """kill, detach and stop asked by a handler that is not deciding a call's entry."""
        if ctl.stop is not None:
            self._stop(ctl.stop)
        elif ctl.kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        elif ctl.detach:
            self._detach(process)

    def _detach(self, process: Process) -> None:
        """Detach the process's tasks: the engine resumes their stops without asking us, and
        the children and threads they make inherit it."""
        self._detached.add(process.pid)
        tasks = self._tracer.tasks
        for tid in process.tids:
            task = tasks.get(tid)
            if task is not None:
                task.detached = True

    def _stop(self, kill: bool) -> None:
        """End monitoring after this stop: every traced task killed, or let go."""
        self._stopped = True
        self._tracer.stop(kill=kill)


def monitor(argv: Sequence[str], handlers: Mapping[str, Handler], context: C, *,
            env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
            hold_arguments: bool = True, allow_unsafe: bool = False) -> C:
    """Run ``argv`` under trace; call ``handlers`` with the context; return the last context.

    ``handlers`` maps keys to ``handler(ctx, pid, record) -> ctx``:

    * ``"openat"``, ``"open_"``, ...: a call, at its exit (the record has the result);
    * ``"openat:entry"``: before the call runs (it may refuse it or change its arguments);
    * ``"*"`` / ``"*:entry"``: every call without a handler of its own (every call stops);
    * ``"@child"``, ``"@exec"``, ``"@exit"``: process events.

    ``hold_arguments`` (default True, as the command does): the kernel uses the tracer's copy
    of every path and address a record decoded, so what a handler saw is what runs.  False
    runs the program's own pointers (cheaper, but a racing thread may change them after the
    handler looked).  ``allow_unsafe`` lets io_uring, ptrace and the other calls that act out
    of the tracer's sight run (refused with EPERM otherwise, as by the command).

    Raises FileNotFoundError/PermissionError when ``argv[0]`` cannot be run, ValueError for
    a bad handler key, and re-raises a handler's exception after killing the traced tree.
    """
    runner = HandlerMonitor(handlers, context, hold_arguments=hold_arguments,
                            allow_unsafe=allow_unsafe)
    runner.run(argv, env=env, cwd=cwd)
    return runner.context


# --- process plumbing ---------------------------------------------------------------------------
def _find_executable(name: str, env: Mapping[str, str] | None, cwd: str | None) -> str:
    """The file to exec, found as a shell would; an exception now rather than a 127 later."""
    if "/" in name:
        path = os.path.join(cwd, name) if cwd and not os.path.isabs(name) else name
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory", name)
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise PermissionError(13, "Permission denied", name)
        return name
    search = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(name, path=search)
    if found is None:
        raise FileNotFoundError(2, "command not found", name)
    return found


__all__ = ["COLLIDING", "EVENTS", "Handler", "HandlerMonitor", "HandlerTable", "handler_name",
           "monitor", "syscall_name"]
