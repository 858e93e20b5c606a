"""Which calls the kernel can answer alone, and which must stop for the tracer.

Pure logic over the policy tables.  For every call of the native table the plan gives a
:class:`Verdict`: ``allow`` (no rule of any table can refuse it), ``errno`` (every table refuses
it the same way, unconditionally) or ``trace`` (an argument, a table switch, an ASK or the log
needs the tracer).  Opens are planned per access: a policy with only fswrite rules never stops a
read-only open, because the open flags are in a register the filter can test.  So is a call
whose classes one register decides (``syscalls.CLASS_RULES``): an fswrite rule stops only the
ioctl requests that change a file, never a terminal's.  Under address rules, the sockets whose
destinations the engine cannot see (raw, packet, SCTP...: ``syscalls.Sockets``) are refused
from socket()'s registers unless a rule names the call.  The plan also says which of the
engine's guards the run lifts (``syscalls.Lift``: source routes where no rule decides where
packets go, core dumps where every table names the rlimit calls).
:mod:`systrace_py.engine.seccomp` compiles the plan to BPF.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import functools
from dataclasses import dataclass, field
from typing import Final, NewType

from systrace_py import tag_values
from systrace_py.kernel import MSG_FASTOPEN
from systrace_py.policy import aliases
from systrace_py.policy.model import Action, Missing, Table, checks_of
from systrace_py.syscalls import (
    AS_PATHS,
    BY_NAME,
    CLASS_RULES,
    FSMETA,
    FSREAD,
    NUMBERS,
    PATHS,
    TABLE,
    Kind,
    Lift,
    LiftTag,
    Rule,
    Treat,
    arg_index,
    makes_unseen,
    treated,
)

#: what the filter does with a call: one of :class:`VerdictKind`'s values
VerdictTag = NewType("VerdictTag", str)


class VerdictKind:
    """What the filter does with a call; :data:`VERDICT_KINDS` lists them.  Str tags in a class,
    not an enum (start-up, issue 16: see policy.model.Reason)."""

    ALLOW: Final = VerdictTag("allow")  # SECCOMP_RET_ALLOW: no stop
    ERRNO: Final = VerdictTag("errno")  # SECCOMP_RET_ERRNO: refused by the kernel, no stop
    TRACE: Final = VerdictTag("trace")  # SECCOMP_RET_TRACE: a stop, the tracer decides


#: every one, in the order written
VERDICT_KINDS: tuple[VerdictTag, ...] = tag_values(VerdictKind)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the filter does with a call (with the ``errno`` of an ERRNO)."""

    kind: VerdictTag
    errno: int = 0

    def __str__(self) -> str:
        return f"errno({errno_module.errorcode.get(self.errno, self.errno)})" \
            if self.kind == VerdictKind.ERRNO else self.kind


ALLOW = Verdict(VerdictKind.ALLOW)
TRACE = Verdict(VerdictKind.TRACE)

#: Calls whose refusal kills the caller instead: a program that drops privileges and ignores
#: the error would go on privileged, less safe than without a policy.
KILLED_WHEN_REFUSED = treated(Treat.KILL)
#: Calls that end the caller: they always run, whatever a default or rule says (Treat.ENDS).
ALWAYS_RUN = treated(Treat.ENDS)
#: calls that make sockets, with the ones address rules can see (syscalls.Sockets)
SOCKET_MAKERS = frozenset(c.name for c in TABLE.values() if c.unseen is not None)
#: opens whose flags are in a register (open, openat): the filter can tell their access apart;
#: the other opens (openat2's flags are in memory, creat's implied) are planned as one call
_FLAGS_ARG = arg_index(Kind.OPEN_FLAGS)
#: calls that name a path the kernel looks up: a refusal answers ENOENT when it does not
#: exist (``missing``), which only a stop can tell
_LOOKUP_CALLS = treated(Treat.PATH)
#: (class, part alias) of one check
_Check = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What besides the rules decides whether a call must stop."""

    dry_run: bool = False          # nothing refused: every would-be refusal is seen and logged
    see_refusals: bool = False     # -v / --log: refusals are reported, so they must stop
    see_rule_permits: bool = False # --log: every decision a rule made is logged
    trace_all: bool = False        # learning mode: every call is observed
    extra: frozenset[str] = frozenset()  # calls a monitor's handlers want to see


@dataclass(frozen=True, slots=True)
class OpenPlan:
    """Verdicts of one open-family call by access: read only, write only, read and write."""

    read_only: Verdict
    write_only: Verdict
    read_write: Verdict

    def uniform(self) -> Verdict | None:
        """The verdict when the access makes no difference, else None."""
        if self.read_only == self.write_only == self.read_write:
            return self.read_only
        return None


@dataclass(frozen=True, slots=True)
class SelectorPlan:
    """Verdicts of a call whose classes one register decides (its class rule, from the
    syscall table): ``selected`` when the rule holds, ``otherwise`` when it does not.  Made
    only when ``otherwise`` is "allow", so the filter need catch only the selected values."""

    rule: Rule
    selected: Verdict
    otherwise: Verdict


@dataclass
class FilterPlan:
    """Per-call verdicts.  ``calls`` holds every known call; ``opens`` refines "open" and
    "openat", whose flags the filter can read, and ``selected`` the calls whose classes one
    register decides (an ioctl's request).  ``unseen``: for a call that makes sockets and is
    otherwise allowed, the verdict on the sockets address rules cannot see (its cases are the
    table's ``syscalls.unseen_cases``).  Numbers the table does not know get ENOSYS."""

    calls: dict[str, Verdict] = field(default_factory=dict)
    opens: dict[str, OpenPlan] = field(default_factory=dict)
    selected: dict[str, SelectorPlan] = field(default_factory=dict)
    unseen: dict[str, Verdict] = field(default_factory=dict)
    #: the guards this run lifts (syscalls.Lift): every table agrees (see :func:`lifted`)
    lifted: frozenset[LiftTag] = frozenset()

    def traced(self) -> set[str]:
        return {name for name, v in self.calls.items() if v.kind == VerdictKind.TRACE}

    def stop(self, syscall: str) -> None:
        """Make a call the filter lets run (allowed, or allowed but in the cases its class
        rule selects) stop: the tracer must see it, whatever the rules say of it.  A call the
        filter refuses stays refused."""
        if self.calls[syscall].kind == VerdictKind.ALLOW or syscall in self.selected:
            self.calls[syscall] = TRACE
            self.selected.pop(syscall, None)

    def stop_when(self, syscall: str, plan: SelectorPlan) -> bool:
        """Make a call the filter lets run whole stop in the cases ``plan`` selects (its
        ``selected`` TRACE, ``otherwise`` ALLOW); False where the call is not let run whole
        (already stopped, selected or refused) and nothing was changed."""
        if self.calls[syscall] != ALLOW or syscall in self.selected:
            return False
        self.calls[syscall] = TRACE
        self.selected[syscall] = plan
        return True

    def verdict(self, name: str, args: tuple[int, ...] | list[int]) -> Verdict:
        """What the filter does with this call (for a tracer running without one)."""
        unseen = self.unseen.get(name)
        if unseen is not None and makes_unseen(name, args):
            return unseen
        open_plan = self.opens.get(name)
        if open_plan is None:
            selected = self.selected.get(name)
            if selected is not None:
                return selected.selected if selected.rule.holds(args) else selected.otherwise
            return self.calls.get(name, TRACE)
        flags = args[_FLAGS_ARG[name]] & 0xFFFFFFFF
        reads, writes = aliases.open_reads(flags), aliases.open_writes(flags)
        if reads and writes:
            return open_plan.read_write
        return open_plan.write_only if writes else open_plan.read_only


def _stopping(verdict: Verdict) -> Verdict:
    """The verdict for cases the tracer must see: an allowed one stops (FilterPlan.stop)."""
    return TRACE if verdict.kind == VerdictKind.ALLOW else verdict


def _stop_addressed_sends(result: FilterPlan) -> bool:
    """Make a sendto the filter lets run whole stop where it names an address
    (:data:`_ADDRESSED_SEND_PLAN`; one with none names no unix path); False where sendto is
    not let run whole (already stopped, selected or refused) and nothing was changed."""
    return result.stop_when("sendto", _ADDRESSED_SEND_PLAN)


def _stop_connecting_sends(result: FilterPlan) -> None:
    """Make a send the filter lets run stop where it may connect its socket first -- a
    TCP send with MSG_FASTOPEN is the kernel's connect (tcp_sendmsg_fastopen), decided as
    one too (Supervisor._decide, DecodedCall.connects): where a connect may be refused, a
    sendto that names an address stops (:func:`_stop_addressed_sends`: with none the kernel
    connects nowhere, EINVAL), and a sendmsg or sendmmsg whose flags argument has
    MSG_FASTOPEN (:data:`_FASTOPEN_SEND_PLANS`: only that argument counts -- a msghdr's
    msg_flags are not read on a send: 6.18 fails a sendmsg with MSG_FASTOPEN there alone,
    EPIPE).  Review 71: under docs/policy.md's host recipe (``never connect``) such a send
    opened a stream anywhere."""
    _stop_addressed_sends(result)
    for syscall, fastopen in _FASTOPEN_SEND_PLANS.items():
        if not result.stop_when(syscall, fastopen) and result.selected.get(syscall) != fastopen:
            result.stop(syscall)


# An outcome: (action, errno, made_by_rule); None when only the arguments can tell.
_Outcome = tuple[Action, int, bool] | None


def _check_outcome(table: Table, syscall: str, check: _Check) -> _Outcome:
    """How a table decides one check of a call when the arguments are not looked at: by its
    first rule for the check, if that rule has no condition (and no redirect).  A refusal of
    a call that looks a path up answers ENOENT when the path does not exist (unless the rule,
    or the table for its default, says ``missing = "errno"``): only a stop can tell."""
    rule = table.compiled().first_rule(syscall, *check)
    if rule is not None:
        if rule.conditional or rule.redirect is not None:
            return None
        outcome = (rule.action, rule.errno, True)
    elif syscall in aliases.UNSAFE_CALLS:
        return (Action.NEVER, errno_module.EPERM, False)
    else:
        outcome = (table.default, table.default_errno, False)
    if outcome[0] is Action.NEVER and syscall in _LOOKUP_CALLS and \
            table.missing_for(rule) == Missing.ENOENT:
        return None
    return outcome


def _combine(outcomes: list[_Outcome]) -> _Outcome:
    """The strictest of several checks of one call; None if any needs the arguments."""
    worst: tuple[Action, int, bool] | None = None
    for outcome in outcomes:
        if outcome is None:
            return None
        if worst is None or outcome[0].severity > worst[0].severity:
            worst = outcome
    return worst


def _verdict(outcome: _Outcome, options: PlanOptions) -> Verdict:
    if outcome is None:
        return TRACE
    action, err, by_rule = outcome
    if action is Action.ASK:
        return TRACE
    if action is Action.NEVER:
        if options.dry_run or options.see_refusals:
            return TRACE
        return Verdict(VerdictKind.ERRNO, err)
    return TRACE if by_rule and options.see_rule_permits else ALLOW


def _across_tables(verdicts: list[Verdict]) -> Verdict:
    first = verdicts[0]
    return first if all(v == first for v in verdicts) else TRACE


#: calls whose checks are their aliases, whatever the arguments: all but an open (its flags),
#: a call with a class rule (its register) and one with a path role of its own classes or
#: whose file gets a new name
_PLAIN = frozenset(BY_NAME) - aliases.OPEN_CALLS - CLASS_RULES.keys() - {
    name for name, paths in PATHS.items() for _, path in paths
    if path.classes is not None or path.renamed.when != "never"}


@functools.cache
def _call_checks(syscall: str, selector: int | None = None) -> tuple[_Check, ...]:
    """The (class, part alias) checks of a call of this name over its path roles, with this
    selector (any other argument but open flags).

    The plan asks this of every call at every start (~380, ~1.5 ms through
    ``model.checks_of``: issue 16), and for all but ten the answer is the call's own aliases,
    each the same check in every role: those are read off the table here, with the part
    rule of ``aliases.part_of`` for them (fsmeta for a metadata call's fsread; no fslink
    in :data:`_PLAIN`).  ``test_call_checks_as_checks_of_derives_them`` compares the
    two derivations over every call and selector."""
    if syscall in _PLAIN:
        return _plain_checks(BY_NAME[syscall].aliases, syscall in aliases.METADATA_CALLS)
    return _checks_of_roles(syscall, selector)


@functools.cache
def _plain_checks(classes: frozenset[str], metadata: bool) -> tuple[_Check, ...]:
    """The checks of a call in :data:`_PLAIN` in these classes (a dozen sets among ~370
    calls), revealing only metadata or not."""
    return tuple((cls, FSMETA if metadata and cls == FSREAD else None)
                 for cls in sorted(classes)) or ((None, None),)


def _checks_of_roles(syscall: str, selector: int | None) -> tuple[_Check, ...]:
    """:func:`_call_checks` by ``model.checks_of`` of each path role."""
    roles = [path.role for _, path in PATHS.get(syscall, ())] or ["path"]
    checks = {check for role in roles for check in checks_of(syscall, role, None, selector)}
    if len(checks) > 1:
        checks.discard((None, None))  # (a role in no class, beside one in a class)
    return tuple(sorted(checks, key=lambda c: (c[0] or "", c[1] or "")))


_OPEN_ACCESS: dict[str, tuple[_Check, ...]] = {
    "read_only": (("fsread", None),),
    "write_only": (("fswrite", None),),
    "read_write": (("fsread", None), ("fswrite", None)),
}


class _Planner:
    """The verdicts of calls over a run's tables, from each table's index (the first rule of
    a check is a look-up, not a scan)."""

    def __init__(self, tables: list[Table], options: PlanOptions) -> None:
        self.tables = tables
        self.options = options
        #: calls some table names directly; any other call is decided by its classes alone
        self.named = frozenset().union(*(t.compiled().named_calls for t in tables))
        self._by_classes: dict[tuple[tuple[_Check, ...], bool, bool, bool, bool], Verdict] = {}

    def verdict(self, syscall: str, checks: tuple[_Check, ...]) -> Verdict:
        """Every table's verdict on a call checked under these checks, if they agree."""
        return _across_tables([
            _verdict(_combine([_check_outcome(table, syscall, c) for c in checks]),
                     self.options)
            for table in self.tables
        ])

    def call(self, syscall: str, selector: int | None = None) -> Verdict:
        """The verdict on a call that is not an open (whose flags the filter reads), with
        this selector."""
        checks = _call_checks(syscall, selector)
        key = None
        if syscall not in self.named:
            key = (checks, syscall in aliases.UNSAFE_CALLS, syscall in KILLED_WHEN_REFUSED,
                   syscall in ALWAYS_RUN, syscall in _LOOKUP_CALLS)
            found = self._by_classes.get(key)
            if found is not None:
                return found
        verdict = self.verdict(syscall, checks)
        if verdict.kind == VerdictKind.ERRNO and syscall in KILLED_WHEN_REFUSED:
            verdict = TRACE  # the tracer kills instead of refusing (see the supervisor)
        elif syscall in ALWAYS_RUN:
            verdict = ALLOW  # an end is never refused nor asked (Supervisor._reply); an
            #                  inject rule's stops are planned before (plan: ``extra``)
        if key is not None:
            self._by_classes[key] = verdict
        return verdict

    def selected(self, syscall: str, result: FilterPlan) -> None:
        """A call whose classes one register decides: one verdict when the register makes no
        difference; otherwise it stops, and when the unselected case is allowed the filter
        lets it through (it tests the register).  When both cases need something, the tracer
        tells them apart."""
        selected_value, other_value = aliases.selector_cases(syscall)
        selected, otherwise = self.call(syscall, selected_value), self.call(syscall, other_value)
        if selected == otherwise:
            result.calls[syscall] = selected
            return
        result.calls[syscall] = TRACE
        if otherwise == ALLOW:
            result.selected[syscall] = SelectorPlan(CLASS_RULES[syscall], selected, otherwise)


def address_rules(tables: list[Table]) -> bool:
    """Whether any table refuses, asks about or redirects an IP destination: then the sockets
    whose destinations the engine cannot see are refused in every table of the run (a socket
    made under one table outlives an exec into another), unless that table names the call."""
    return any(t.compiled().address_rules for t in tables)


def unseen_refused(table: Table, name: str) -> bool:
    """Whether, in a run under address rules, ``table`` refuses call ``name`` when it makes a
    socket those rules cannot see: no rule of it names the call or one of its aliases."""
    index = table.compiled()
    return all(index.first_rule(name, cls, part) is None for cls, part in _call_checks(name))


#: calls that take a destination address (a source route would send their packets elsewhere);
#: a unix socket's path among them is looked up as a path argument is (Supervisor._traversal)
_ADDRESS_CALLS = treated(Treat.ADDRESS)
#: sendto's address argument given: a send with none (send(2) on a connected socket, the
#: common case) names no unix path, so a rule refusing what a lookup passes through need not
#: stop it (review 15's cost: every send of a TCP stream stopped)
ADDRESSED_SEND = Rule("nonzero", 4)
#: sendto's plan where a rule needs the unix paths sends name: a send with an address stops
_ADDRESSED_SEND_PLAN = SelectorPlan(ADDRESSED_SEND, TRACE, ALLOW)
#: sendmsg's and sendmmsg's plan where a connect may be refused: a send whose flags argument
#: has MSG_FASTOPEN stops (_stop_connecting_sends)
_FASTOPEN_SEND_PLANS = {name: SelectorPlan(Rule("if_flag", index, MSG_FASTOPEN),
                                                    TRACE, ALLOW)
                        for name, index in (("sendmsg", 2), ("sendmmsg", 3))}
#: the calls that reach a unix socket's path and write to its file, to the kernel (connect,
#: the sends: unix_find_bsd's MAY_WRITE); bind makes the file instead
SOCKET_WRITERS = _ADDRESS_CALLS - {"bind"}
#: the calls whose guard keeps core dumps off (Lift.CORE), the kernel's key helper (CALLOUT)
CORE_CALLS = frozenset(c.name for c in TABLE.values()
                       if c.guard is not None and c.guard.lift == Lift.CORE)
CALLOUT_CALLS = frozenset(c.name for c in TABLE.values()
                          if c.guard is not None and c.guard.lift == Lift.CALLOUT)


def _decides_destinations(table: Table) -> bool:
    """Whether a table may decide a call by where its IP packets go: a rule with a network
    condition (address, port, host) or a redirect to an IP address, or an ask (a rule, or the
    default) that may cover a call taking an address -- whoever answers sees the address."""
    if table.default is Action.ASK:
        return True
    for rule in table.rules:
        if rule.redirect is not None and rule.redirect.address is not None \
                and rule.redirect.address.family != "unix":
            return True
        if rule.net is not None and getattr(rule.net, "unix", None) is None:
            return True
        if rule.action is Action.ASK and any(rule.may_cover(c) for c in _ADDRESS_CALLS):
            return True
    return False


def _grants(table: Table, calls: frozenset[str]) -> bool:
    """Whether a rule of the table names one of ``calls`` (not through an alias) and permits
    it: a rule that refuses them grants nothing.  CORE_CALLS: lifted, the run keeps the core
    limit it was started with, and the kernel writes a crash's core file where the policy
    may refuse writes; CALLOUT_CALLS: the kernel's key helper runs for the program."""
    return any(rule.action is Action.PERMIT and rule.syscalls & calls for rule in table.rules)


def lifted(tables: list[Table], options: PlanOptions = PlanOptions()) -> frozenset[LiftTag]:
    """The guards a run under these tables lifts (see ``syscalls.Lift``).  Run-wide, as the
    refusal of unseen sockets: what a process does under one table (a source route set, a
    raised core limit) it keeps after an exec into another.  A call taking an address that
    stops for someone else (``extra``, ``trace_all``: a library handler, an inject rule) may
    be decided by its destination: source routes stay refused."""
    found = set()
    others_decide = options.trace_all or bool(options.extra & _ADDRESS_CALLS)
    if not others_decide and not any(_decides_destinations(t) for t in tables):
        found.add(Lift.ROUTES)
    if tables and all(_grants(t, CORE_CALLS) for t in tables):
        found.add(Lift.CORE)
    if tables and all(_grants(t, CALLOUT_CALLS) for t in tables):
        found.add(Lift.CALLOUT)
    return frozenset(found)


def plan(tables: list[Table], options: PlanOptions = PlanOptions()) -> FilterPlan:
    """Plan the prefilter for every table a process of this run could be under."""
    planner = _Planner(tables, options)
    # calls an inject rule may pick stop: its count and its tampering are the tracer's
    extra = options.extra.union(*(t.compiled().inject_calls for t in tables))
    result = FilterPlan(lifted=lifted(tables, dataclasses.replace(options, extra=extra)))
    for syscall in NUMBERS:
        if options.trace_all or syscall in extra:
            result.calls[syscall] = TRACE
            continue
        if syscall in aliases.OPEN_CALLS and "fsread" in aliases.aliases_of(syscall):
            # an open whose access decides its classes (creat only writes)
            open_plan = OpenPlan(**{access: planner.verdict(syscall, classes)
                                    for access, classes in _OPEN_ACCESS.items()})
            uniform = open_plan.uniform()
            if syscall not in _FLAGS_ARG or uniform is not None:
                result.calls[syscall] = uniform if uniform is not None else TRACE
            else:
                result.calls[syscall] = TRACE
                result.opens[syscall] = open_plan
            continue
        if syscall in CLASS_RULES:
            planner.selected(syscall, result)
            continue
        result.calls[syscall] = planner.call(syscall)
    _engine_floor(result)
    if address_rules(tables) and not options.trace_all:
        for syscall in SOCKET_MAKERS:
            if syscall not in extra:
                _plan_unseen(planner, tables, syscall, result)
    if any(table.compiled().refuses_by_name or table.default is not Action.PERMIT
           or any(rule.refuses for rule in table.rules) for table in planner.tables):
        # a link or rename could give what such a rule names a new name, or give a file a
        # name that grants it more than its own (Table.decide)
        for syscall in aliases.TWO_PATH_CALLS:
            result.stop(syscall)
    if any(rule.refuses or rule.redirect is not None
           for table in planner.tables for rule in table.rules):
        # a message queue's open or unlink, syslog's read of the kernel log: decided as that
        # call of its files too, where a rule decides them (syscalls.AS_PATHS, close 50)
        _stop_as_paths(result)
    if any(table.may_refuse_traversal() for table in planner.tables):
        # a lookup that passes through what such a rule names is refused, whatever the call
        # (Supervisor._traversal): a mkdir, unlink or write-only open through "DIR/link/"
        # or "DIR/sub/../.." under never fsread DIR/** must stop as a read does
        # (and a bind, connect or send to a unix socket through them: review 15)
        for syscall in sorted(_LOOKUP_CALLS | _ADDRESS_CALLS):
            if syscall == "sendto" and _stop_addressed_sends(result):
                continue
            opens = result.opens.get(syscall)
            if opens is not None:
                opens = OpenPlan(*map(_stopping, (opens.read_only, opens.write_only,
                                                  opens.read_write)))
                if opens.uniform() is None:
                    result.opens[syscall] = opens
                else:
                    result.calls[syscall] = TRACE
                    del result.opens[syscall]
            else:
                result.stop(syscall)
    if any(table.may_refuse("mknod", "fswrite") for table in planner.tables):
        # a unix socket bound to a path is a new file there (Supervisor._socket_file)
        result.stop("bind")
    if any(table.may_refuse_socket_write() for table in planner.tables):
        # a connect or a send to a unix socket's path writes that file, to the kernel
        # (Supervisor._socket_written); a sendto with no address names none
        for syscall in sorted(SOCKET_WRITERS):
            if syscall == "sendto" and _stop_addressed_sends(result):
                continue
            if result.selected.get(syscall) != _ADDRESSED_SEND_PLAN:
                result.stop(syscall)  # (a send the traversal's plan selects already stays so)
    if result.calls["connect"] != ALLOW or "connect" in result.selected:
        # a send that connects first (MSG_FASTOPEN) is decided as that connect too
        _stop_connecting_sends(result)
    if any(table.compiled().refuses_by_name or table.default is not Action.PERMIT
           for table in planner.tables):
        # ... and a mount could show it under one, or cover where it is (Table.decide)
        for syscall in aliases.EXPOSING_CALLS:
            result.stop(syscall)
    return result


def _stop_as_paths(result: FilterPlan) -> None:
    """Make the calls of ``syscalls.AS_PATHS`` stop in the cases they act on files (their
    ``when``): a call the filter lets run whole is then let run in the other cases alone
    (syslog's actions that read no log), one it refuses stays refused."""
    for syscall, as_path in AS_PATHS.items():
        if as_path.when.when == "always" or syscall in result.selected:
            result.stop(syscall)
        else:
            result.stop_when(syscall, SelectorPlan(as_path.when, TRACE, ALLOW))


def _plan_unseen(planner: _Planner, tables: list[Table], syscall: str,
                 result: FilterPlan) -> None:
    """The verdict on the sockets address rules cannot see: refused (EPERM, as an unsafe call)
    in a table that does not name the call, else what the table says of the call.  When the
    call is otherwise allowed, the filter answers just those cases; otherwise it stops for
    both, unless the verdicts are the same."""
    refusal = BY_NAME[syscall].unseen
    assert refusal is not None
    verdicts = []
    for table in tables:
        if unseen_refused(table, syscall):
            verdicts.append(_verdict((Action.NEVER, refusal.errno, False), planner.options))
        else:
            verdicts.append(_verdict(_combine([_check_outcome(table, syscall, c)
                                               for c in _call_checks(syscall)]),
                                     planner.options))
    unseen = _across_tables(verdicts)
    current = result.calls[syscall]
    if current == ALLOW:
        if unseen != ALLOW:
            result.unseen[syscall] = unseen
    elif unseen != current:
        result.calls[syscall] = TRACE


def _engine_floor(result: FilterPlan) -> None:
    """Stops the engine needs whatever the policy says.

    Every open that can write must stop: writing /proc/PID/mem is how a program would reach
    into another process (or into the tracer's scratch copies), and only the path tells.
    """
    for syscall in _FLAGS_ARG:
        current = result.opens.get(syscall)
        verdict = result.calls[syscall]
        if current is None:
            if verdict.kind != "allow":
                continue
            current = OpenPlan(verdict, verdict, verdict)
        result.opens[syscall] = OpenPlan(
            current.read_only, _stopping(current.write_only), _stopping(current.read_write))
        result.calls[syscall] = TRACE
    for syscall in aliases.OPEN_CALLS - _FLAGS_ARG.keys():
        result.stop(syscall)
    # The engine follows every change of what paths mean (docs/security.md, "New views of the
    # file system"): those calls stop unless every table refuses them outright.
    for syscall in aliases.VIEW_CALLS:
        result.stop(syscall)
