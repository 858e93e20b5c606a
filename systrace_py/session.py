"""One way to run a traced command: the session runner under the CLI and the library API.

``systrace CMD``, ``systrace -A CMD``, ``systrace --attach PID`` and
:meth:`systrace_py.api.HandlerMonitor.run` all trace through a :class:`Session`, so every one
of them gets the same hardening:

* **Fail closed.**  Any failure of the loop has already killed the traced tree
  (:meth:`Tracer.run`); the session turns it into an :class:`Outcome` that names what failed
  (:class:`Failure`) instead of letting it out as a traceback.  Exceptions that are not
  ``Exception`` (a library handler's failure, a KeyboardInterrupt off the main thread) pass
  through untouched, after the signal handlers are restored and the tracer closed.
* **Signals.**  While tracing, terminal interrupts are the command's business and
  termination requests are passed on to it; an ask nobody answers cannot hold the run forever
  (a second SIGTERM/SIGINT while one is pending ends it).  Signal handlers can only be set on
  the main thread: a session run elsewhere leaves the process's handlers alone.
* **The tracer protected.**  While it runs the tracing process is not dumpable, so the traced
  processes (same user) can neither ptrace it nor open its /proc/PID/{mem,fd/*,environ}; the
  previous setting is restored at the end.
* **A summary.**  The outcome carries the exit status, the failure, and the tracer (its stop
  count) for the caller's report.

Nothing here prints: what a person is told is the caller's business (``notify`` and
``on_orphans`` are how the session says things while the run is on).
"""

from __future__ import annotations

import _thread  # (threading: only when some thread was made; start-up, issue 16)
import contextlib
import ctypes
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Final, NewType, Protocol

from systrace_py import tag_values
from systrace_py.audit import LogError
from systrace_py.engine.child import EXIT_INTERNAL
from systrace_py.engine.events import Monitor
from systrace_py.engine.tracer import DetachRequest, SpawnSpec, Tracer, TracerError
from systrace_py.kernel import PR_GET_DUMPABLE, PR_SET_DUMPABLE
from systrace_py.policy.filterplan import FilterPlan
from systrace_py.startup import caching_ends


@contextlib.contextmanager
def _holding(lock: _thread.LockType) -> Iterator[None]:
    """Release ``lock`` (acquired by the caller) when the block ends."""
    try:
        yield
    finally:
        lock.release()


def _in_main_thread() -> bool:
    """Whether this is the main thread (signal handlers can be set only there), without
    importing threading (start-up, issue 16): the process's first thread, whose number is the
    process's -- Python's main thread (the one that started the interpreter, or that forked
    it).  Not ``threading.main_thread()``: that is the thread that imported threading first,
    a worker's when the library is used from one (review 25: its signal handlers were set
    there, ValueError, and the run failed); nor "no Python thread was made yet", which a
    thread C made (a callback on a pthread) is not counted in."""
    return _thread.get_native_id() == os.getpid()


#: Session._command_fd once the run is over: no signal is forwarded by pid any more
_CLOSED = -2


#: held while a run of this process traces (Session.run, Session.attach): one at a time.  The
#: loops wait for any traced task (waitpid(-1, __WALL)), and a thread's wait takes the reports
#: of the tasks another thread of the process traces too: two runs at once from two threads
#: took each other's stops and hung (mounts29).  A second run is refused, not queued.
_TRACING = _thread.allocate_lock()

#: what a second run at once is told
ONE_RUN = ("another run is being traced in this process: the library traces one run at a "
           "time (start the next when the first has returned, or in another process)")


class SessionMonitor(Monitor, Protocol):
    """A Monitor that wants to know its tracer (to answer parked tasks, to stop the run)."""

    def attach(self, tracer: Tracer) -> None:
        ...

    def close(self) -> None:
        """The run is over: end what the monitor runs beside the tracer (a resolver)."""
        ...


#: why a session did not run to its end: one of :class:`Failure`'s values
FailureTag = NewType("FailureTag", str)


class Failure:
    """Why a session did not run to its end (the traced processes were killed, except for
    SPAWN, where none of the command ran); :data:`FAILURES` lists them.  Str tags in a class,
    not an enum (start-up, issue 16: see policy.model.Reason)."""

    SPAWN: Final = FailureTag("spawn")          # the command could not be started or attached to
    SIGNALLED: Final = FailureTag("signalled")  # a second SIGTERM/SIGINT while an ask was pending
    TRACER: Final = FailureTag("tracer")        # the engine failed (TracerError)
    LOG: Final = FailureTag("log")              # the log could not be written (fail closed)
    INTERNAL: Final = FailureTag("internal")    # any other exception in the loop


#: every one, in the order written
FAILURES: tuple[FailureTag, ...] = tag_values(Failure)


@dataclass
class Outcome:
    """The end of a session: the command's exit status (128+N for signal N), or a failure."""

    code: int
    tracer: Tracer
    failure: FailureTag | None = None
    error: BaseException | None = None
    signum: int | None = None   # SIGNALLED: the signal; a detached --attach: the signal

    @property
    def completed(self) -> bool:
        return self.failure is None

    @property
    def message(self) -> str:
        """The failure in one line (empty when the run completed)."""
        exc = self.error
        match self.failure:
            case None:
                return ""
            case Failure.SPAWN:
                return str(exc)
            case Failure.SIGNALLED:
                assert self.signum is not None
                name = signal.Signals(self.signum).name
                return (f"a second {name} while an ask was pending ended the run; the traced "
                        "processes were killed")
            case Failure.TRACER | Failure.LOG:
                return f"{exc}; the traced processes were killed"
            case Failure.INTERNAL:
                return (f"internal error: {type(exc).__name__}: {exc}; the traced processes "
                        "were killed")
            case _:  # (str tags: no exhaustiveness check; tests/unit/test_session.py)
                raise AssertionError(f"no message for failure {self.failure!r}")


class EndRun(BaseException):
    """Raised from the signal handler when a second SIGTERM or SIGINT came while an ask was
    pending: the run ends, the traced tree is killed (``signum``: the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Session:
    """One traced run of a monitor.  ``notify`` says things while the run is on (a signal
    during an ask); ``on_orphans`` is called when the command exited and left processes
    running.  ``signals=False`` leaves the process's signal handlers alone (they are also
    left alone off the main thread).  ``job_control``: the command's process stopping itself
    stops this process too (Tracer.stop_with_command: the ``systrace`` command's way, not a
    library's)."""

    def __init__(self, monitor: SessionMonitor, *, hold_arguments: bool = True,
                 plan: FilterPlan | None = None, notify: Callable[[str], None] | None = None,
                 on_orphans: Callable[[int], None] | None = None,
                 signals: bool = True, protect: bool = True, job_control: bool = False) -> None:
        self.tracer = Tracer(monitor, hold_arguments=hold_arguments, plan=plan)
        self.tracer.stop_with_command = job_control
        self._monitor = monitor
        monitor.attach(self.tracer)
        self.tracer.on_orphans = on_orphans
        self._notify = notify or (lambda _text: None)
        self._signals = signals and _in_main_thread()
        self._protect = protect
        #: a pidfd of the command's process, taken as soon as it is traced (forwarding); -1
        #: before (nothing can reap it yet), _CLOSED once the run is over
        self._command_fd = -1

    # --- running -----------------------------------------------------------------------------
    def run(self, spec: SpawnSpec) -> Outcome:
        """Spawn ``spec`` and trace it to its end (the command's start-up caches closed
        first: startup.caching_ends)."""
        caching_ends()
        tracer = self.tracer
        if not _TRACING.acquire(blocking=False):
            return self._second_run()
        with _holding(_TRACING), self._held_signals(self._forwarding()), self._protected():
            try:
                try:
                    pid = tracer.spawn(spec)
                except TracerError as exc:  # nothing of the command ran (already traced...)
                    return Outcome(EXIT_INTERNAL, tracer, Failure.SPAWN, exc)
                with contextlib.suppress(OSError):  # (the loop has not run: not reaped yet)
                    self._command_fd = os.pidfd_open(pid)
                return Outcome(tracer.run(), tracer)
            except EndRun as exc:
                return Outcome(128 + exc.signum, tracer, Failure.SIGNALLED, exc, exc.signum)
            except Exception as exc:  # fail closed: tracer.run already killed the traced tree
                return self._failed(exc)
            finally:
                tracer.close()  # (again, harmlessly, after run(); a failed spawn needs it)
                if self._command_fd >= 0:
                    os.close(self._command_fd)
                # (never by its pid from now on: the forwarding handlers are still in place
                # while the monitor closes, and the pid may be free -- review 7, finding 3)
                self._command_fd = _CLOSED
                self._monitor.close()

    def attach(self, pid: int, on_attached: Callable[[], None] | None = None) -> Outcome:
        """Trace a running process (and the children it makes from now on).  SIGINT or
        SIGTERM detaches and leaves it running: the outcome's code is 128+N and ``signum``
        is N.  Killing the tracer kills it (fail closed)."""
        caching_ends()
        if not _TRACING.acquire(blocking=False):
            return self._second_run()
        with _holding(_TRACING):
            return self._attach(pid, on_attached)

    def _second_run(self) -> Outcome:
        """A run asked for while another of this process traces (_TRACING): refused."""
        self.tracer.close()
        self._monitor.close()
        return Outcome(EXIT_INTERNAL, self.tracer, Failure.SPAWN, TracerError(ONE_RUN))

    def _attach(self, pid: int, on_attached: Callable[[], None] | None) -> Outcome:
        tracer = self.tracer
        detached_by: list[int] = []

        def detach(signum: int, _frame: FrameType | None) -> None:
            detached_by.append(signum)
            if len(detached_by) == 1:  # (a second request -- `timeout` signals the process,
                raise DetachRequest    # then its group -- must not break off the detach)

        handlers: dict[int, _Handler] = {signal.SIGINT: detach, signal.SIGTERM: detach}
        try:
            with self._held_signals(handlers), self._protected():
                try:
                    try:
                        tracer.attach(pid)
                    except TracerError as exc:
                        return Outcome(EXIT_INTERNAL, tracer, Failure.SPAWN, exc)
                    if on_attached is not None:
                        on_attached()
                    code = tracer.run()  # (a detach request while it runs: it detaches)
                except DetachRequest:  # came before the loop ran
                    tracer.detach_all()
                    tracer.close()
                    code = 128 + signal.SIGINT
            if detached_by:
                return Outcome(128 + detached_by[0], tracer, signum=detached_by[0])
            return Outcome(code, tracer)
        except Exception as exc:  # fail closed: tracer.run already killed the traced tree
            return self._failed(exc)
        finally:
            tracer.close()
            self._monitor.close()

    # --- the hardening -----------------------------------------------------------------------
    def _failed(self, exc: Exception) -> Outcome:
        kind = (Failure.LOG if isinstance(exc, LogError) else
                Failure.TRACER if isinstance(exc, TracerError) else Failure.INTERNAL)
        return Outcome(EXIT_INTERNAL, self.tracer, kind, exc)

    def _forwarding(self) -> dict[int, _Handler]:
        """While tracing, terminal interrupts are the command's business, and termination
        requests are passed on to it (the tracer exits when the command does).

        An ask nobody answers must not hold a run forever: the asking process is stopped, so
        a SIGTERM passed on to it does nothing yet.  While an ask is pending, a first SIGTERM
        or SIGINT says so, and a second one ends the run (:class:`EndRun`: the tree is
        killed)."""
        tracer = self.tracer
        while_asking: list[int] = []

        def forward(signum: int) -> None:
            # only to the command's process while the tracer holds it: once reaped, its pid
            # is free, and the next process given it is anyone's (red team 12,
            # tr_stale_pid.c: the run goes on for what the command left running); through a
            # pidfd taken while it could not be reaped, which names that process alone
            main = tracer.main_pid
            if main is None or main not in tracer.processes or self._command_fd == _CLOSED:
                return
            with contextlib.suppress(OSError):
                if self._command_fd >= 0:
                    signal.pidfd_send_signal(self._command_fd, signum)
                else:
                    os.kill(main, signum)

        def interrupt(signum: int, _frame: FrameType | None) -> None:
            if tracer.parked_tasks():
                while_asking.append(signum)
                if len(while_asking) >= 2:
                    raise EndRun(signum)
                self._notify(f"{signal.Signals(signum).name} while an ask is pending: send "
                             "SIGTERM or SIGINT again to end the run (the traced processes "
                             "are killed)")
            if signum != signal.SIGINT:  # a terminal's SIGINT reached the command by itself
                forward(signum)

        return {signal.SIGQUIT: signal.SIG_IGN, signal.SIGINT: interrupt,
                signal.SIGTERM: interrupt,
                signal.SIGHUP: lambda signum, _f: forward(signum)}

    @contextlib.contextmanager
    def _held_signals(self, handlers: dict[int, _Handler]) -> Iterator[None]:
        if not self._signals:
            yield
            return
        previous = {signum: signal.signal(signum, handler)  # type: ignore[arg-type]
                    for signum, handler in handlers.items()}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def _protected(self) -> Iterator[None]:
        """Make the tracing process non-dumpable while it traces (see the module's
        docstring); as it was afterwards."""
        if not self._protect:
            yield
            return
        libc = ctypes.CDLL(None, use_errno=True)
        before = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        try:
            yield
        finally:
            if before > 0:
                libc.prctl(PR_SET_DUMPABLE, before, 0, 0, 0)


__all__ = ["EXIT_INTERNAL", "EndRun", "Failure", "Outcome", "Session", "SessionMonitor"]
