"""The traced task's state machine, without a kernel: the table, and the races it encodes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.engine.taskstate import (
    EVENTS,
    HELD,
    STATES,
    TRANSITIONS,
    Event,
    State,
    TaskEvent,
    TaskState,
    TaskStateError,
    next_state,
)

S, E = TaskState, TaskEvent


def run(state: State, *events: Event) -> State:
    for event in events:
        state = next_state(state, event)
    return state


def test_a_new_child_starts_at_its_attach_stop_then_lives_like_any_task():
    assert run(S.ATTACHING, E.REPORTED, E.STARTED, E.RESUMED) is S.RUNNING
    assert run(S.RUNNING, E.REPORTED, E.RESUMED, E.REPORTED) is S.STOPPED


def test_a_task_not_yet_started_cannot_be_resumed_or_parked():
    for event in (E.RESUMED, E.PARKED, E.LISTENED, E.ANSWERED):
        with pytest.raises(TaskStateError):
            next_state(S.ATTACHING, event)


def test_a_parked_task_is_resumed_only_after_its_answer():
    parked = run(S.RUNNING, E.REPORTED, E.PARKED)
    assert parked is S.PARKED
    with pytest.raises(TaskStateError, match="parked: cannot be resumed"):
        next_state(parked, E.RESUMED)
    assert run(parked, E.ANSWERED, E.RESUMED) is S.RUNNING


def test_an_answer_for_a_task_that_is_not_parked_is_refused():
    for state in (S.RUNNING, S.STOPPED, S.LISTENING, S.ATTACHING):
        with pytest.raises(TaskStateError):
            next_state(state, E.ANSWERED)


def test_a_running_task_cannot_be_resumed_again():
    with pytest.raises(TaskStateError):
        next_state(S.RUNNING, E.RESUMED)


def test_group_stop_holds_the_task_until_its_next_stop():
    listening = run(S.RUNNING, E.REPORTED, E.LISTENED)
    assert listening is S.LISTENING and listening in HELD
    with pytest.raises(TaskStateError):
        next_state(listening, E.RESUMED)  # PTRACE_LISTEN: the kernel restarts it, not we
    assert run(listening, E.REPORTED, E.RESUMED) is S.RUNNING


def test_a_freeze_interrupts_only_running_tasks():
    assert {s for s in STATES if s not in (S.RUNNING, S.GONE)} == HELD


def test_every_state_but_gone_can_exit_and_gone_is_final():
    for state in STATES:
        if state is not S.GONE:
            assert next_state(state, E.EXITED) is S.GONE
    for event in EVENTS:
        with pytest.raises(TaskStateError):
            next_state(S.GONE, event)


def test_the_table_names_no_move_into_attaching():
    assert S.ATTACHING not in {after for (before, _), after in TRANSITIONS.items()
                               if before is not S.ATTACHING}


def test_every_state_is_reachable_from_attaching():
    seen, frontier = {S.ATTACHING}, [S.ATTACHING]
    while frontier:
        state = frontier.pop()
        for (before, _), after in TRANSITIONS.items():
            if before is state and after not in seen:
                seen.add(after)
                frontier.append(after)
    assert seen == set(STATES)


@given(st.lists(st.sampled_from(list(EVENTS)), max_size=30))
def test_only_a_resume_runs_a_task_and_only_an_answer_or_its_end_unparks_it(events):
    state = S.ATTACHING
    for event in events:
        if (state, event) not in TRANSITIONS:
            with pytest.raises(TaskStateError):
                next_state(state, event)
            continue
        after = next_state(state, event)
        if after is S.RUNNING and state is not S.RUNNING:
            assert event is E.RESUMED and state is S.STOPPED
        if state is S.PARKED and after is not S.PARKED:
            assert event in (E.ANSWERED, E.EXITED)
        state = after


def test_the_table_is_total_over_what_it_says():
    for state, event in itertools.product(STATES, EVENTS):
        if (state, event) in TRANSITIONS:
            assert next_state(state, event) is TRANSITIONS[state, event]
        else:
            with pytest.raises(TaskStateError):
                next_state(state, event)


def test_each_state_and_each_event_is_its_own_tag():
    assert len(set(STATES)) == len(STATES) == 7 and len(set(EVENTS)) == len(EVENTS) == 9
