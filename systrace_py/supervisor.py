"""The policy enforcer: a Monitor that holds every process to its table.

Per-process tables as systrace(4) had them: the first process starts with the policy's main
table; fork, vfork and clone children inherit their parent's table; at exec a process switches
to the new program's own table when the policy (or the policy directory) has one, unless ``-i``
keeps tables across exec.  Each stop is decided by the process's table; PERMIT runs the call
(redirected when the rule says so), NEVER refuses it with the rule's errno, ASK goes to the
front end (or, without one, is refused with a line on stderr), and every decision a rule made
goes to the log.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from systrace_py.audit import AuditLog
from systrace_py.engine.decode import DecodedCall
from systrace_py.engine.events import DETACH, KILL, PARK, Reply
from systrace_py.engine.seccomp import guard_purpose
from systrace_py.engine.tracee import Process, Task
from systrace_py.engine.tracer import Tracer
from systrace_py.policy.filterplan import (
    KILLED_WHEN_REFUSED,
    SOCKET_MAKERS,
    address_rules,
    unseen_refused,
)
from systrace_py.policy.model import Action, CallFacts, Decision, PathArg, Policy, Rule, Table
from systrace_py.syscalls import BY_NAME, makes_unseen


@dataclass
class SupervisorOptions:
    dry_run: bool = False            # refuse nothing; log what would have been refused
    automatic: bool = False          # -a: ASK is refused and logged, never prompted
    inherit_across_exec: bool = False  # -i: keep the parent's table across exec
    verbose: bool = False            # -v: refusals and new children on stderr


@dataclass(frozen=True)
class AskRequest:
    """What the front end shows: who asks, for what, and which rule asked."""

    pid: int
    tid: int
    ppid: int
    program: str
    syscall: str
    args: dict[str, Any]
    facts: CallFacts
    decision: Decision


@dataclass(frozen=True)
class Answer:
    """A person's answer.  ``rule``: the rule to remember (for permit/deny), with ``reach``
    "process", "program" or "all"."""

    kind: str                         # "permit", "deny", "kill", "detach", "abort"
    errno: int = errno_module.EPERM
    rule: Rule | None = None
    reach: str = "process"


class Asker(Protocol):
    """The front end for ASK.  ``ask`` must not block the tracer: it calls ``respond`` later
    (from any thread) or at once."""

    def ask(self, request: AskRequest, respond: Callable[[Answer], None]) -> None: ...


@dataclass
class ProcessState:
    """The monitor's per-process state: the table the process is under."""

    table: Table
    notes: dict[str, Any] = field(default_factory=dict)


class PolicySet:
    """The main policy plus the per-program policies of a policy directory."""

    def __init__(self, main: Policy, directory: dict[str, Policy] | None = None) -> None:
        self.main = main
        self.directory = directory or {}

    def table_for(self, program: str) -> Table | None:
        table = self.main.table_for(program)
        if table is not None:
            return table
        from systrace_py.policy.files import policy_filename

        for key in (policy_filename(program), os.path.basename(program) + ".toml"):
            found = self.directory.get(key)
            if found is not None:
                return found.main
        return None

    def tables(self) -> list[Table]:
        out = self.main.tables()
        for policy in self.directory.values():
            out.extend(policy.tables())
        return out

    def can_ask(self) -> bool:
        """Whether any table can answer ASK (a default or a rule)."""
        return any(t.default is Action.ASK or any(r.action is Action.ASK for r in t.rules)
                   for t in self.tables())

    def needs_argv(self) -> bool:
        return any(rule.argv is not None for t in self.tables() for rule in t.rules)




def strictest(decisions: list[Decision]) -> Decision:
    worst = decisions[0]
    for d in decisions[1:]:
        if d.action.severity > worst.action.severity:
            worst = d
    return worst


class Supervisor:
    """Implements :class:`systrace_py.engine.events.Monitor` for a policy."""

    def __init__(self, policies: PolicySet, options: SupervisorOptions,
                 audit: AuditLog | None = None, asker: Asker | None = None,
                 stderr: IO[str] | None = None) -> None:
        self.policies = policies
        self.options = options
        self.audit = audit
        self.asker = asker
        self.stderr = stderr or sys.stderr
        self.tracer: Tracer | None = None
        self._needs_argv = policies.needs_argv() or audit is not None or asker is not None
        self.decisions = 0
        #: calls refused: by the policy, by an answer, or by the engine's own checks
        self.refusals = 0
        self.engine_refusals = 0     # of which by the engine (a guard, unreadable arguments...)
        self.would_refuse = 0        # dry run: calls the policy would have refused
        self.aborted = False         # a person answered abort: the run was ended

    def attach(self, tracer: Tracer) -> None:
        self.tracer = tracer

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def who(process: Process, tid: int | None = None) -> dict[str, Any]:
        return {"pid": process.pid, "tid": tid if tid is not None else process.pid,
                "ppid": process.ppid, "program": process.program}

    def _say(self, text: str) -> None:
        try:
            self.stderr.write(f"systrace: {text}\n")
            self.stderr.flush()
        except OSError:
            pass

    @staticmethod
    def describe_call(call: DecodedCall) -> str:
        args = call.describe()
        shown = [str(v) for k, v in args.items() if not k.endswith("_as_given")]
        return f"{call.policy_name} {' '.join(shown)}".strip()

    # --- Monitor ------------------------------------------------------------------------------
    def wants_argv(self, process: Process) -> bool:
        return self._needs_argv

    def on_start(self, process: Process) -> None:
        process.state = ProcessState(self.policies.main.main)

    def on_syscall(self, task: Task, call: DecodedCall) -> Reply:
        process = task.process
        state: ProcessState = process.state
        facts = call.all_facts()
        table = state.table
        decision = (table.decide(facts[0]) if len(facts) == 1
                    else strictest([table.decide(f) for f in facts]))
        if decision.action is Action.PERMIT and call.name in ("execve", "execveat"):
            decision = self._interpreters(table, call) or decision
        if call.name in SOCKET_MAKERS:
            decision = self._unseen_socket(table, call) or decision
        self.decisions += 1
        action = decision.action
        if action is Action.PERMIT:
            if self.audit is not None and decision.rule is not None:
                self.audit.decision(self.who(process, task.tid), call.policy_name,
                                    call.describe(), decision, "permitted")
            return self._permit(decision)
        if self.options.dry_run:
            self._report(task, call, decision, "would-refuse")
            return Reply.run()
        if action is Action.ASK and self.asker is not None and not self.options.automatic:
            return self._ask(task, call, decision)
        if call.policy_name in KILLED_WHEN_REFUSED:
            # A program that drops privileges and does not check the result would go on
            # privileged: refusing the drop made it less safe.  Such a refusal kills it.
            self._report(task, call, decision, "killed")
            return KILL
        self._report(task, call, decision, "refused")
        return Reply.refuse(decision.errno)

    @staticmethod
    def _interpreters(table: Table, call: DecodedCall) -> Decision | None:
        """An exec runs its interpreters too (a script's #! program, the ELF's PT_INTERP):
        none may be a program a rule of the table refuses (or asks about) to exec."""
        if not (table.may_refuse("execve", "exec") or table.may_refuse("execve", "fsread")):
            return None  # no rule could refuse one: no need to read the file
        image = call.exec_image()
        for interpreter in image.interpreters if image is not None else ():
            found = table.refusing_rule(
                CallFacts("execve", (PathArg("path", interpreter),)))
            if found is not None:
                return dataclasses.replace(found, reason="interpreter")
        return None

    def _unseen_socket(self, table: Table, call: DecodedCall) -> Decision | None:
        """Under address rules (in any table of the run), a socket whose destinations the
        engine cannot see (raw, packet...: syscalls.Sockets) is not made unless a rule of the
        table names the call -- as the filter answers it when it can."""
        if not makes_unseen(call.name, call.args) or not unseen_refused(table, call.name) \
                or not address_rules(self.policies.tables()):
            return None
        sockets = BY_NAME[call.name].unseen
        assert sockets is not None
        return Decision(Action.NEVER, sockets.errno, None, table.name, "unseen")

    @staticmethod
    def _permit(decision: Decision) -> Reply:
        redirects = decision.redirects or (
            {decision.role or "path": decision.redirect} if decision.redirect else None)
        if not redirects:
            return Reply.run()
        paths = {role: r.path for role, r in redirects.items() if r.path is not None}
        address = next((r.address for r in redirects.values() if r.address is not None), None)
        sockaddr = None
        if address is not None:
            from systrace_py.engine.sockaddr import encode_sockaddr

            sockaddr = encode_sockaddr(address)
        return Reply(paths=paths or None, sockaddr=sockaddr)

    def _report(self, task: Task, call: DecodedCall, decision: Decision, result: str) -> None:
        """Log a refusal (or would-be refusal); say it on stderr when asked to, or when an ASK
        had nobody to ask."""
        if result == "would-refuse":
            self.would_refuse += 1
        else:
            self.refusals += 1
        process = task.process
        if self.audit is not None:
            self.audit.decision(self.who(process, task.tid), call.policy_name, call.describe(),
                                decision, result)
        asked = decision.action is Action.ASK
        if self.options.verbose or asked:
            if decision.rule is not None:
                rule = decision.rule.label()
            elif decision.reason == "unsafe":
                rule = "unsafe under this policy; a rule naming it lifts this"
            elif decision.reason == "unseen":
                rule = ("a socket whose destinations address rules cannot see (raw, packet,"
                        " SCTP...); a rule naming socket lifts this")
            else:
                rule = f"default of table {decision.table}"
            verb = "would refuse" if result == "would-refuse" else "refused"
            why = f"{rule} says ask and no one can be asked" if asked else rule
            self._say(f"{verb} {self.describe_call(call)} for pid {process.pid} "
                      f"({process.program}): {why} -> {decision.errno_name}")

    def _ask(self, task: Task, call: DecodedCall, decision: Decision) -> Reply:
        process = task.process
        request = AskRequest(process.pid, task.tid, process.ppid, process.program,
                             call.policy_name, call.describe(), call.facts(), decision)
        assert self.asker is not None
        tracer = self.tracer

        def respond(answer: Answer) -> None:
            # may run on the front end's thread: the answer is applied on the tracer's
            if tracer is not None:
                tracer.answer(task.tid, lambda: self.apply_answer(task, call, decision, answer))

        self.asker.ask(request, respond)
        return PARK

    def apply_answer(self, task: Task, call: DecodedCall, decision: Decision,
                     answer: Answer) -> Reply:
        """Turn a person's answer into a Reply, remembering the rule it carries."""
        process = task.process
        state: ProcessState = process.state
        if answer.kind == "detach" and not state.table.allow_detach:
            answer = Answer("deny", errno=decision.errno)  # the policy does not let it go
        if answer.rule is not None:
            self.remember(process, answer.rule, answer.reach)
        result = {"permit": "permitted", "deny": "refused", "kill": "killed",
                  "detach": "detached", "abort": "killed"}.get(answer.kind, "refused")
        if result in ("refused", "killed"):
            self.refusals += 1
        answered = dataclasses.replace(
            decision, reason="answer",
            action=Action.PERMIT if answer.kind in ("permit", "detach") else Action.NEVER,
            errno=answer.errno)
        if self.audit is not None:
            self.audit.decision(self.who(process, task.tid), call.policy_name, call.describe(),
                                answered, result)
        if answer.kind == "permit":
            return Reply.run()
        if answer.kind == "kill":
            return KILL
        if answer.kind == "abort":  # end the run: every traced process is killed
            self.aborted = True
            if self.tracer is not None:
                self.tracer.stop(kill=True)
            return KILL
        if answer.kind == "detach":
            return DETACH
        return Reply.refuse(answer.errno)

    def remember(self, process: Process, rule: Rule, reach: str) -> None:
        """Add a rule from an answer ahead of the table's rules, for the reach asked."""
        state: ProcessState = process.state
        if reach == "process":
            state.table = dataclasses.replace(state.table, rules=[rule, *state.table.rules])
            return
        policy = self.policies.main
        if reach == "program":
            table = self.policies.table_for(process.program)
            if table is None:
                inherited = state.table
                table = dataclasses.replace(inherited, name=process.program,
                                            rules=list(inherited.rules))
                policy.programs[process.program] = table
                # the program's other live processes under the same table move with it
                for other in self.tracer.processes.values() if self.tracer else ():
                    other_state = other.state
                    if (isinstance(other_state, ProcessState) and other.program == process.program
                            and other_state.table is inherited):
                        other_state.table = table
            table.add_rule(rule)
            state.table = table
            return
        for table in self.policies.tables():
            table.add_rule(rule)

    def on_syscall_exit(self, task: Task, call: DecodedCall, result: int) -> None:
        return None

    def on_new_process(self, parent: Process, child: Process, how: str) -> None:
        parent_state: ProcessState = parent.state
        child.state = ProcessState(parent_state.table)
        if self.audit is not None:
            self.audit.process(how, self.who(child), parent=parent.pid,
                               table=parent_state.table.name)
        if self.options.verbose:
            self._say(f"pid {child.pid}: new process ({how}) of pid {parent.pid} "
                      f"({parent.program}), table {parent_state.table.name}")

    def on_new_thread(self, parent: Task, child: Task) -> None:
        return None

    def on_exec(self, process: Process, old_program: str, argv: tuple[str, ...] | None) -> None:
        state: ProcessState = process.state
        if not self.options.inherit_across_exec:
            table = self.policies.table_for(process.program)
            if table is not None:
                state.table = table
        if self.audit is not None:
            self.audit.process("exec", self.who(process), argv=list(argv) if argv else None,
                               previous=old_program, table=state.table.name)
        if self.options.verbose:
            self._say(f"pid {process.pid}: exec {process.program}, table {state.table.name}")

    def on_exit(self, process: Process, status: int) -> None:
        if self.audit is not None:
            self.audit.exit(self.who(process), status)

    def on_engine_refusal(self, task: Task, call: DecodedCall, err: int, why: str) -> None:
        self.refusals += 1
        self.engine_refusals += 1
        name = errno_module.errorcode.get(err, str(err))
        if self.audit is not None:
            self.audit.engine(self.who(task.process, task.tid), call.policy_name,
                              call.describe(), name, why)
        if self.options.verbose:
            if why == "guard":
                why = f"systrace's guard: {guard_purpose(call.name)}"
            self._say(f"refused {self.describe_call(call)} for pid {task.pid} "
                      f"({task.process.program}): {why} -> {name}")
