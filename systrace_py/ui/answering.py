"""What an answer means for one ask: the one answer model the front ends share.

Two front ends ask: the prompt on the terminal (:mod:`systrace_py.ui.prompt`) and approvers
over JSON lines (:mod:`systrace_py.approver`).  Both take an answer in the same words -- a
typed line, or the same words as JSON fields, parsed to a :class:`~systrace_py.ui.answers.Parsed`
-- and hand it to :class:`Interpreter`, which checks it against the ask (which scopes exist,
whether detach is allowed) and makes the supervisor's :class:`~systrace_py.supervisor.Answer`:
the rule a remembered answer adds (its calls, its scope, the errno), or a burst.  The
supervisor applies every answer the same way, whoever gave it.

Also here: the lines that say what was answered, the front end for a run without a terminal
(:class:`DefaultAsker`), and saving the remembered answers at the end (:func:`finish_asking`).
Which front end a run gets is the command's choice (:mod:`systrace_py.cli.run`).
"""

from __future__ import annotations

import contextlib
import datetime
import errno as errno_module
import shlex
from typing import IO, Any

from systrace_py.policy.aliases import answered_calls
from systrace_py.policy.files import PolicyError, dumps_policy
from systrace_py.policy.glob import Expansions
from systrace_py.policy.model import Action, Policy, Reason, Rule, Table
from systrace_py.report import say
from systrace_py.supervisor import (
    BURST_SECONDS,
    Answer,
    AnswerKind,
    Asker,
    AskRequest,
    PolicySet,
    answer_kind,
)
from systrace_py.terminal import printable
from systrace_py.ui.answers import AnswerError, Parsed, parse_answer
from systrace_py.ui.offers import (
    Offer,
    OfferError,
    build_rule,
    check_target,
    offers_for,
    resolve_scope,
    rule_calls,
    subject_of,
)

__all__ = [
    "BURST",
    "DEFAULT_REACH",
    "DefaultAsker",
    "Interpreter",
    "call_text",
    "describe_answer",
    "finish_asking",
    "rule_text",
]

#: The reach of ``permit``/``deny`` when none is given: the asking program's table, which is
#: what systrace(1) changed (and what is saved into the policy file).
DEFAULT_REACH = "program"

#: The scope word of an answer that covers the burst of calls one action makes on a path
#: (stat, access, open...): this path, any call, this process, for BURST_SECONDS.
BURST = "burst"


class Interpreter:
    """What answers mean for one request: its offers, the table that asked, the errno a
    refusal gets by default."""

    def __init__(self, request: AskRequest, table: Table | None = None, *,
                 no_alias: bool = False, expansions: Expansions | None = None,
                 index: int = 0) -> None:
        self.request = request
        self.table = table if table is not None else request.table
        self.no_alias = no_alias
        self.expansions = expansions or Expansions.from_env()
        self.index = index
        decision = request.decision
        paths = request.facts.paths
        self.role = decision.role if decision.role is not None and request.facts.path(
            decision.role) is not None else (paths[0].role if paths else None)
        self.offers: list[Offer] = offers_for(request.facts, self.role,
                                              expansions=self.expansions)
        calls = rule_calls(request.facts, self.role, self.table, no_alias)
        # (what Supervisor.remember keeps: none the asking rule does not name -- shown so)
        narrowed = answered_calls(calls, decision.rule.calls) if decision.rule else None
        self.calls = narrowed or calls
        self.allow_detach = bool(self.table is not None and self.table.allow_detach)
        #: whether a burst answer is possible: the call names a path
        self.burst = subject_of(request.facts, self.role)[0] == "path"

    def burst_label(self) -> str:
        return f"this path, any call, this process, {BURST_SECONDS:g}s"

    def parse(self, text: str) -> Parsed:
        """Parse a typed line and check it against this request; raises AnswerError or
        OfferError."""
        return self.check(parse_answer(text))

    def check(self, parsed: Parsed) -> Parsed:
        """Check a parsed answer against this request; raises AnswerError or OfferError."""
        if parsed.verb == "detach" and not self.allow_detach:
            where = f"table {self.table.name}" if self.table is not None else "this table"
            raise AnswerError(f"detach is not allowed here ({where} has no detach = true); "
                              "permit-now lets this call run")
        if parsed.remember and parsed.scope == BURST:
            if not self.burst:
                raise OfferError("burst: this call names no path")
            if parsed.reach not in (None, "process"):
                raise AnswerError("a burst answer is for this process only (no for "
                                  f"{parsed.reach})")
        elif parsed.remember:
            self._offer(parsed)
        return parsed

    def _offer(self, parsed: Parsed) -> Offer:
        """The offer a remembered answer's scope names.  A ``target = "tree"`` scope is a
        permit's only (the loader's rule: a refusal of signals to the tree alone would let
        through what cannot be told to be in it): a deny with no scope takes the narrowest
        scope it may have (``any``), one naming it is told so."""
        scope, offers = parsed.scope, self.offers
        if parsed.verb != "permit" and scope is None:
            offers = [offer for offer in offers if offer.target is None]
        offer = resolve_scope(scope, offers, self.request.facts, self.role,
                              expansions=self.expansions)
        check_target(offer, Action.PERMIT if parsed.verb == "permit" else Action.NEVER)
        return offer

    def answer(self, text: str) -> Answer:
        """The supervisor's Answer for a typed line (``help`` is the caller's business)."""
        return self.resolve(self.parse(text))

    def resolve(self, parsed: Parsed) -> Answer:
        """The supervisor's Answer for a parsed answer (checked here again)."""
        self.check(parsed)
        request = self.request
        errno = parsed.errno if parsed.errno is not None else request.decision.errno
        refusal_errno = errno if parsed.verb == "deny" else errno_module.EPERM
        if parsed.verb in ("kill", "detach", "abort"):
            return Answer(answer_kind(parsed.verb))
        if not parsed.remember:
            return Answer(answer_kind(parsed.verb), errno=refusal_errno)
        if parsed.scope == BURST:
            return Answer(answer_kind(parsed.verb), errno=refusal_errno, burst=True)
        offer = self._offer(parsed)
        action = Action.PERMIT if parsed.verb == "permit" else Action.NEVER
        today = datetime.date.today().isoformat()
        # (a question about what a call does besides -- its descriptor owner's kill, a loop
        # attach's open -- is asked as that call: the rule is of it, and the comment says so)
        asked_as = "" if request.facts.syscall == request.syscall \
            else f" as {request.facts.syscall}"
        comment = (f"answered {today}: {parsed.verb} {call_text(request)}{asked_as} "
                   f"({request.program})")
        rule = build_rule(offer, self.calls, action, errno, expansions=self.expansions,
                          index=self.index, comment=comment)
        return Answer(answer_kind(parsed.verb), errno=refusal_errno, rule=rule,
                      reach=parsed.reach or DEFAULT_REACH)


# =============================================================================================
# What was answered, in words


def call_text(request: AskRequest) -> str:
    """The call in a few words, as the supervisor's stderr lines say it:
    ``openat /tmp/x O_RDONLY``."""
    shown = []
    for key, value in request.args.items():
        if key.endswith("_as_given"):
            continue
        shown.append(shlex.join(map(str, value)) if isinstance(value, list) and key == "argv"
                     else str(value))
    return " ".join([request.syscall, *shown])


def describe_answer(answer: Answer, request: AskRequest) -> str:
    """One line saying what was answered (printed where the prompt was)."""
    what = f"{call_text(request)} for pid {request.pid} ({request.program})"
    errname = errno_module.errorcode.get(answer.errno, str(answer.errno))
    if answer.kind == AnswerKind.KILL:
        return f"killed pid {request.pid} ({request.program})"
    if answer.kind == AnswerKind.ABORT:
        return "aborted the run: every traced process is killed"
    if answer.kind == AnswerKind.DETACH:
        return (f"detached pid {request.pid} ({request.program}): its calls are no longer "
                "checked")
    verb = "permitted" if answer.kind == AnswerKind.PERMIT else f"denied ({errname})"
    if answer.burst:
        return f"{verb} {what}, and its other calls on this path for {BURST_SECONDS:g}s"
    if answer.rule is None:
        return f"{verb} {what}, this call only"
    return f"{verb} {what}; remembered for {_reach_text(answer.reach, request)}: " \
        f"{rule_text(answer.rule)}"


def _reach_text(reach: str, request: AskRequest) -> str:
    if reach == "process":
        return f"pid {request.pid}"
    if reach == "program":
        return request.program
    return "every program"


def rule_text(rule: Rule) -> str:
    """A rule in one line, as a policy file would say it."""
    data = rule.describe()
    parts = [",".join(rule.calls)]
    for key in ("path", "address", "port", "host", "unix", "argv", "target"):
        if key in data:
            value = data[key]
            shown = shlex.join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{key} {shown}")
        if rule.fresh and key == ("path" if rule.path is not None else "unix"):
            parts.append("fresh")  # (only paths the run makes)
    parts.append(f"-> {rule.action.value}")
    if rule.action is Action.NEVER:
        parts.append(str(data.get("errno", "")))
    return " ".join(p for p in parts if p)


# =============================================================================================
# Without a terminal


class DefaultAsker(Asker):
    """No terminal, ``--ask-default permit``: every ask is permitted at once (this call
    only), with a line on stderr so the log of the run says what was let through."""

    wants_events = False
    #: a line on stderr at each ask, a time the tree chooses (Supervisor._says_beside)
    says_each_ask = True

    def __init__(self, stderr: IO[str]) -> None:
        self.stderr = stderr

    def ask(self, request: AskRequest, respond: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            rule = request.decision.rule
            why = rule.label() if rule is not None else \
                f"the default of table {request.decision.table}"
            # (the path and program are the traced program's: spelled printable, as say() does)
            self.stderr.write("systrace: " + printable(
                f"permitted {call_text(request)} for pid {request.pid} ({request.program}): "
                f"{why} says ask; no terminal to ask on, --ask-default permit") + "\n")
            self.stderr.flush()
        respond(Answer(AnswerKind.PERMIT))

    def settled(self, request: AskRequest, why: str) -> None:
        return None

    def process_event(self, record: dict[str, Any]) -> None:
        return None

    def finish(self) -> None:
        return None


# =============================================================================================
# The front end of a run, and its end


def _why(exc: Exception) -> str:
    """An error as one sentence naming its file once (an OSError's own text is
    "[Errno 22] message: 'file'")."""
    if not isinstance(exc, OSError) or not exc.strerror:
        return str(exc)
    if exc.filename is not None and str(exc.filename) not in exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror


def finish_asking(asker: Asker, policies: PolicySet, stderr: IO[str],
                  save_to: str | None = None) -> None:
    """End of the run: stop the front end, then save the remembered answers (into the
    policy file, or ``--save-answers`` FILE) and say so.  A save that fails prints the rules
    as policy text, so no answer is lost."""
    asker.finish()
    store = policies.store

    for entry in store.not_saved():
        say(f"not saved (its table is in {entry.where}): {rule_text(entry.rule)}", stderr)
    remembered = store.remembered()
    if not remembered:
        return
    if store.path is None and save_to is None:
        return
    try:
        report = store.save(save_to)
    except (PolicyError, OSError) as exc:
        say(f"could not save the remembered answers: {_why(exc)}", stderr)
        main = Table("main", Action.ASK, rules=remembered)
        say("the rules were:\n" + dumps_policy(Policy(main)), stderr)
        return
    if report.path is None:
        return
    plural = "s" if report.saved != 1 else ""
    backup = f" (the old file is {report.backup})" if report.backup else ""
    say(f"saved {report.saved} remembered answer{plural} to {report.path}{backup}", stderr)
    if report.moved is not None:
        say(f"{report.path}: its directory was moved during the run; the answers were saved "
            f"into it, now {report.moved}", stderr)
    if not report.layout_kept:
        say(f"{report.path}: its layout could not be kept, so it was written in systrace's "
            "layout (# comments are lost; the old file has them)", stderr)


def linked_names(request: AskRequest) -> tuple[str, str] | None:
    """For a link or rename asked because of what the file would gain by its new name
    (Reason.LINKED, model.Table._linked_decision): (the file's own name, its new name) --
    the question says whose file the new name would hold; None for any other ask."""
    decision = request.decision
    if decision.reason != Reason.LINKED or decision.arg is None:
        return None
    facts = request.facts
    other = next((r for r in facts.roles() if r != decision.arg.role), None)
    name = facts.path(other) if other is not None else None
    return (decision.arg.path, name) if name else None
