"""The classes of str tags that replaced enums (start-up, issue 16): each tuple lists every
constant of its class, in order, and no two constants share a value (an Enum made such a pair
an alias of one member; equal strs would be one tag)."""

from __future__ import annotations

import pytest

from systrace_py import logrecords, session, supervisor, syscalls, views
from systrace_py.engine import events, taskstate, tracee
from systrace_py.policy import filterplan, model

TAGS = [
    (taskstate.TaskState, taskstate.STATES), (taskstate.TaskEvent, taskstate.EVENTS),
    (model.Reason, model.REASONS), (model.Absent, model.ABSENCES),
    (model.Missing, model.MISSING_ANSWERS), (model.DnsRefused, model.DNS_ANSWERS),
    (logrecords.Event, logrecords.EVENTS), (logrecords.Result, logrecords.RESULTS),
    (syscalls.Kind, syscalls.KINDS), (syscalls.Treat, syscalls.TREATS),
    (syscalls.Reveals, syscalls.REVELATIONS), (syscalls.Lift, syscalls.LIFTS),
    (syscalls.Param, syscalls.PARAMS), (syscalls.Result, syscalls.RETURN_KINDS),
    (tracee.Expect, tracee.EXPECTATIONS), (events.ReplyKind, events.REPLY_KINDS),
    (views.FsKind, views.FS_KINDS), (session.Failure, session.FAILURES),
    (filterplan.VerdictKind, filterplan.VERDICT_KINDS),
    (supervisor.AnswerKind, supervisor.ANSWER_KINDS),
]


@pytest.mark.parametrize(("cls", "listed"), TAGS, ids=lambda t: getattr(t, "__qualname__", ""))
def test_each_constant_is_its_own_tag_and_listed(cls: type, listed: tuple[object, ...]) -> None:
    names = [name for name in vars(cls) if name.isupper()]
    assert listed == tuple(getattr(cls, name) for name in names) and listed
    assert len(set(listed)) == len(listed), cls
    if cls is syscalls.Treat:  # bits: one each
        assert all(bit > 0 and bit & (bit - 1) == 0 for bit in listed)
    else:
        assert all(isinstance(tag, str) and tag for tag in listed), cls
