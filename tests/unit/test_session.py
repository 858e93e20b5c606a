"""What a session's outcome says, for each way a run can fail (pure: no tracee)."""

from __future__ import annotations

import signal

from systrace_py.audit import LogError
from systrace_py.engine.tracer import TracerError
from systrace_py.session import EXIT_INTERNAL, Failure, Outcome

TRACER = object()


def outcome(failure, error=None, signum=None, code=EXIT_INTERNAL):
    return Outcome(code, TRACER, failure, error, signum)  # type: ignore[arg-type]


def test_a_completed_run_says_nothing():
    done = Outcome(3, TRACER)  # type: ignore[arg-type]
    assert done.completed and done.message == ""


def test_a_command_that_never_ran_is_said_as_the_engine_said_it():
    said = outcome(Failure.SPAWN, TracerError("already traced by PID 7 (gdb)")).message
    assert said == "already traced by PID 7 (gdb)"


def test_failures_mid_run_say_the_tree_was_killed():
    for failure, error in ((Failure.TRACER, TracerError("lost")),
                           (Failure.LOG, LogError("run.jsonl", OSError(28, "No space left"))),
                           (Failure.INTERNAL, KeyError("x"))):
        said = outcome(failure, error).message
        assert said.endswith("the traced processes were killed"), said
        assert not outcome(failure, error).completed
    assert "internal error: KeyError" in outcome(Failure.INTERNAL, KeyError("x")).message
    assert "--log run.jsonl: No space left" in outcome(
        Failure.LOG, LogError("run.jsonl", OSError(28, "No space left"))).message


def test_a_run_ended_by_a_second_signal_names_it():
    said = outcome(Failure.SIGNALLED, signum=signal.SIGTERM, code=128 + signal.SIGTERM).message
    assert said.startswith("a second SIGTERM while an ask was pending ended the run")


def test_every_failure_has_its_message():
    from systrace_py.session import FAILURES
    assert len(set(FAILURES)) == len(FAILURES) == 5  # str tags, each its own
    for failure in FAILURES:
        assert outcome(failure, KeyError("x"), signum=signal.SIGTERM).message
