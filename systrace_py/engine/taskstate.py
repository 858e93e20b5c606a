"""A traced task's life, as a table of transitions (the model is h11's ``_state.py``).

What the tracer may do with a task depends on where the task is: only a task in a
ptrace-stop the tracer has seen can be read, written and resumed; a parked one waits for an
answer and must not be resumed before it; one in group-stop (PTRACE_LISTEN) is not running
and needs no interrupt to be frozen; one just attached has its attach stop still to come.
Written as loose flags, a wrong combination is a bug nobody sees; written as states and a
table, every move is one of the table's, and anything else raises :class:`TaskStateError`
(the tracer then kills the traced tree: fail closed).  Pure: tested without a kernel.
"""

from __future__ import annotations

from typing import Final, NewType

from systrace_py import tag_values

#: where a task is: one of :class:`TaskState`'s values.  Str tags in a class, not an enum: an
#: Enum class costs 0.4-1.5 M instructions to make at import, at every run (issue 16).
State = NewType("State", str)
#: what happens to a task: one of :class:`TaskEvent`'s values
Event = NewType("Event", str)


class TaskState:
    """The states (:data:`State`); :data:`STATES` lists them."""

    #: seized (a new child, an attached thread): its first stop to come
    ATTACHING: Final = State("attaching")
    #: resumed by the tracer
    RUNNING: Final = State("running")
    #: in a ptrace-stop the tracer has seen and not yet resumed
    STOPPED: Final = State("stopped")
    #: stopped, its call waiting for an answer (ASK)
    PARKED: Final = State("parked")
    #: stopped, held by an injected delay (Tracer._later) until it ends
    DELAYED: Final = State("delayed")
    #: in group-stop, restarted with PTRACE_LISTEN (not running)
    LISTENING: Final = State("listening")
    #: exited (or killed): nothing more is done with it
    GONE: Final = State("gone")


class TaskEvent:
    """The events (:data:`Event`); :data:`EVENTS` lists them."""

    #: waitpid reported a stop of the task (or a freeze caught one)
    REPORTED: Final = Event("reported")
    #: its first stop was handled: from now on a task like any other
    STARTED: Final = Event("started")
    #: PTRACE_CONT / PTRACE_SYSCALL
    RESUMED: Final = Event("resumed")
    #: its call waits for an answer
    PARKED: Final = Event("parked")
    #: the answer came: the call is decided, the task still stopped
    ANSWERED: Final = Event("answered")
    #: an injected delay holds it at its call's entry or exit
    DELAYED: Final = Event("delayed")
    #: the delay is over: the task still stopped, its call goes on
    WOKEN: Final = Event("woken")
    #: PTRACE_LISTEN in a group-stop
    LISTENED: Final = Event("listened")
    #: its exit was reported
    EXITED: Final = Event("exited")


_S, _E = TaskState, TaskEvent

#: every state, every event (in the order written)
STATES: Final[tuple[State, ...]] = tag_values(TaskState)
EVENTS: Final[tuple[Event, ...]] = tag_values(TaskEvent)

#: (state, event) -> the next state.  Nothing else may happen.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (_S.ATTACHING, _E.REPORTED): _S.ATTACHING,  # its attach stop: handled as STARTED next
    (_S.ATTACHING, _E.STARTED): _S.STOPPED,
    (_S.RUNNING, _E.REPORTED): _S.STOPPED,
    (_S.STOPPED, _E.REPORTED): _S.STOPPED,      # a stop kept while freezing, reported again
    (_S.LISTENING, _E.REPORTED): _S.STOPPED,    # out of group-stop (SIGCONT), or a new stop
    (_S.PARKED, _E.REPORTED): _S.PARKED,        # (a parked task does not move: kept parked)
    (_S.STOPPED, _E.RESUMED): _S.RUNNING,
    (_S.STOPPED, _E.PARKED): _S.PARKED,
    (_S.PARKED, _E.ANSWERED): _S.STOPPED,
    (_S.STOPPED, _E.DELAYED): _S.DELAYED,
    (_S.DELAYED, _E.REPORTED): _S.DELAYED,      # (a delayed task does not move either)
    (_S.DELAYED, _E.WOKEN): _S.STOPPED,
    (_S.STOPPED, _E.LISTENED): _S.LISTENING,
    **{(state, _E.EXITED): _S.GONE for state in STATES if state != _S.GONE},
}

#: the states in which the task cannot run until the tracer lets it (no interrupt needed to
#: freeze it)
HELD = frozenset({_S.ATTACHING, _S.STOPPED, _S.PARKED, _S.DELAYED, _S.LISTENING})


class TaskStateError(Exception):
    """A move the table does not have: the tracer's model of a task is wrong."""


def next_state(state: State, event: Event) -> State:
    """The state after ``event`` (:class:`TaskStateError` when it cannot happen there)."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise TaskStateError(f"task {state}: cannot be {event}") from None


__all__ = ["EVENTS", "HELD", "STATES", "TRANSITIONS", "Event", "State", "TaskEvent", "TaskState",
           "TaskStateError", "next_state"]
