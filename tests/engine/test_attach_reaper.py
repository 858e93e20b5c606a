"""tracer._Reaper, the thread that reaps the tracer's children while --attach seizes a
process's threads: it ends on every way out of Tracer.attach, an exception's too.

A detach request is an exception raised by Session.attach's SIGINT/SIGTERM handler, wherever
the main thread is when the signal comes -- also inside Thread.start, which waits for the new
thread to run: the reaper's thread runs then, but the ``with`` block was never entered and
its ``__exit__`` never runs.  Before, that thread went on reaping every status of the
tracer's children (review 7).  Here the exception is raised at that
point (after the thread started, before ``__enter__`` returned) against a real process."""

from __future__ import annotations

import subprocess
import threading

import pytest

from systrace_py.engine import tracer as tracer_module
from systrace_py.engine.tracee import Process


class _DetachRequest(BaseException):
    """What a signal handler raises in the main thread (session.DetachRequest's kind)."""


class _Monitor:
    """The one call Tracer.attach makes of its monitor before it seizes."""

    def on_start(self, process: Process) -> None:
        pass


def test_the_reaper_ends_when_a_detach_request_comes_while_it_starts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started = tracer_module._Reaper.__enter__

    def enter_then_request(reaper: tracer_module._Reaper) -> tracer_module._Reaper:
        started(reaper)  # (its thread runs from here)
        raise _DetachRequest

    monkeypatch.setattr(tracer_module._Reaper, "__enter__", enter_then_request)
    target = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(_DetachRequest):
            tracer_module.Tracer(_Monitor()).attach(target.pid)  # type: ignore[arg-type]
        reapers = [t for t in threading.enumerate() if t.name == "attach reaper"]
        assert not reapers, "the attach reaper still runs: it reaps the tracer's children"
    finally:
        target.kill()
        target.wait()
