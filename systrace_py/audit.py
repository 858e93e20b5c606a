"""The decision log: one JSON object per line, for every decision a rule made and for process
events (fork, exec, exit).  ``systrace policy learn`` and ``systrace policy check`` read it back,
so its fields are a contract: see docs/cli.md ("The log").
"""

from __future__ import annotations

import json
import os
import time
from typing import IO, Any

from systrace_py.policy.model import Decision, Rule

LOG_VERSION = 1


def rule_ref(rule: Rule | None, table: str) -> dict[str, Any] | None:
    """How the log names a rule: its table, number and text."""
    if rule is None:
        return None
    return {"table": table, **rule.describe()}


class AuditLog:
    """Writes log records to one or more text streams (a file, stderr)."""

    def __init__(self, sinks: list[IO[str]]) -> None:
        self.sinks = sinks

    @classmethod
    def open(cls, path: str | None, to_stderr: bool, stderr: IO[str]) -> AuditLog | None:
        sinks: list[IO[str]] = []
        if path is not None:
            sinks.append(open(path, "a", encoding="utf-8", buffering=1))  # noqa: SIM115
        if to_stderr:
            sinks.append(stderr)
        return cls(sinks) if sinks else None

    def close(self) -> None:
        import sys

        for sink in self.sinks:
            if sink is not sys.stderr:
                sink.close()

    def write(self, record: dict[str, Any]) -> None:
        record = {"time": round(time.time(), 6), **record}
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        for sink in self.sinks:
            sink.write(line)

    def start(self, argv: list[str], policy: str | None, mode: str) -> None:
        self.write({"event": "start", "version": LOG_VERSION, "argv": argv, "policy": policy,
                    "mode": mode, "tracer": os.getpid()})

    def decision(self, who: dict[str, Any], syscall: str, args: dict[str, Any],
                 decision: Decision, result: str) -> None:
        """``result``: "permitted", "refused", "would-refuse" (dry run), "asked", "killed"..."""
        record = {"event": "syscall", **who, "syscall": syscall, "args": args,
                  "action": decision.action.value, "result": result,
                  "rule": rule_ref(decision.rule, decision.table), "table": decision.table,
                  "reason": decision.reason}
        if result in ("refused", "would-refuse"):
            record["errno"] = decision.errno_name
        if decision.redirect is not None:
            record["redirect"] = str(decision.redirect)
        if decision.redirects and len(decision.redirects) > 1:
            record["redirects"] = {role: str(r) for role, r in decision.redirects.items()}
        self.write(record)

    def engine(self, who: dict[str, Any], syscall: str, args: dict[str, Any], errno_name: str,
               why: str) -> None:
        self.write({"event": "engine-refusal", **who, "syscall": syscall, "args": args,
                    "result": "refused", "errno": errno_name, "why": why})

    def process(self, event: str, who: dict[str, Any], **extra: Any) -> None:
        self.write({"event": event, **who, **extra})

    def exit(self, who: dict[str, Any], status: int) -> None:
        """A process ended: its exit code, or the signal that killed it (a wait status)."""
        if os.WIFSIGNALED(status):
            self.process("exit", who, signal=os.WTERMSIG(status))
        else:
            self.process("exit", who, code=os.WEXITSTATUS(status))
