"""Fault injection at run time: which inject rule tampers with a call, and the Reply it makes.

An inject rule (``action = "inject"``, or ``--inject`` on the command line) counts the calls
it matches -- per process or over the run (``when_scope``) -- and tampers with the ones its
``when`` picks.  Every matching rule counts each call it matches; the first (in table order,
then the command line's) whose ``when`` fires is the one applied.  Whether the call may run
is not the inject rule's business: a call whose result is injected (``errno``/``retval``)
does not run at all, and one that is only delayed or signalled is decided by the rest of the
policy as usual.

Both the enforcing supervisor and the learning monitor use one :class:`Injector`, so ``-A``
with ``--inject`` tampers the same way (and learns nothing from a call that did not run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from systrace_py.engine.events import Reply, ReplyKind
from systrace_py.policy.inject import Injection
from systrace_py.policy.model import Action, Facts, Rule, Table

#: The name the command line's inject rules go by in logs (their table).
COMMAND_LINE = "--inject"


class Injector:
    """The inject rules' counters, and the command line's rules (``extra``)."""

    def __init__(self, extra: Sequence[Rule] = ()) -> None:
        if any(rule.action is not Action.INJECT or rule.inject is None for rule in extra):
            raise ValueError("only inject rules go on the command line's table")
        self.extra = Table(COMMAND_LINE, rules=list(extra)) if extra else None
        self._per_process: dict[int, dict[int, int]] = {}  # pid -> id(rule) -> count
        self._per_run: dict[int, int] = {}                 # id(rule) -> count
        #: calls tampered with (results replaced, delayed...): counted by the monitor that
        #: applied the injection (a call that asks is not tampered with)
        self.injected = 0

    def active(self, tables: Sequence[Table]) -> bool:
        """Whether any inject rule can pick a call of this run."""
        return self.extra is not None or any(t.compiled().injections for t in tables)

    def pick(self, table: Table | None, facts: Facts, pid: int
             ) -> tuple[Rule, str] | None:
        """Count the call for every inject rule that matches it; the first whose ``when``
        fires, with the name of its table (None: the call is left alone)."""
        candidates = [(rule, table.name) for rule in table.injections(facts)] \
            if table is not None else []
        if self.extra is not None:
            candidates += [(rule, COMMAND_LINE) for rule in self.extra.injections(facts)]
        chosen: tuple[Rule, str] | None = None
        for rule, name in candidates:
            injection = rule.inject
            assert injection is not None
            if injection.scope == "run":
                counts = self._per_run
            else:
                counts = self._per_process.setdefault(pid, {})
            count = counts.get(id(rule), 0) + 1
            counts[id(rule)] = count
            if chosen is None and injection.when.fires(count):
                chosen = (rule, name)
        return chosen

    def forget(self, pid: int) -> None:
        """A process is gone: its counts go with it (a new process with its pid starts at 0)."""
        self._per_process.pop(pid, None)

    @staticmethod
    def replacing(injection: Injection) -> Reply:
        """The reply for a call whose result is injected: it does not run."""
        return Reply(ReplyKind.REFUSE, injection.errno or 0, injection.retval,
                     delay=injection.delay, delay_exit=injection.delay_exit,
                     signal=injection.signal or 0)

    @staticmethod
    def tampering(injection: Injection, reply: Reply) -> Reply:
        """A reply for the call with the injection's delays and signal added (for a call
        that runs, or is refused, as the policy says): a parked (asked), killed or detached
        call is left as it is."""
        if reply.kind not in (ReplyKind.RUN, ReplyKind.REFUSE):
            return reply
        return dataclasses.replace(reply, delay=injection.delay,
                                   delay_exit=injection.delay_exit,
                                   signal=injection.signal or 0)
