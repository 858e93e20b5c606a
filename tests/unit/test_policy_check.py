"""``systrace policy check``'s count (cli.policy.check_policy) of a log's records, untraced:
records as docs/cli.md ("The log") gives them."""

from __future__ import annotations

import io
import os
from typing import Any

from systrace_py.cli.policy import check_policy, write_check
from systrace_py.policy.files import loads_policy

#: rule 1 permits reads and writes below /work/a, rule 2 below /work/c; the default refuses
POLICY = 'default = "never"\n' + "".join(
    f'[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "{tree}/**"\naction = "permit"\n'
    for tree in ("/work/a", "/work/c"))

CREATE = os.O_RDWR | os.O_CREAT


def _open(tid: int, path: str, **fields: Any) -> dict[str, Any]:
    """A syscall record of an ``openat(path, O_RDWR|O_CREAT)`` by ``tid``."""
    return {"event": "syscall", "pid": 10, "tid": tid, "syscall": "openat", "table": "main",
            "args": {"path": path}, "call": {"paths": [["path", path]], "open_flags": CREATE},
            **fields}


def _rule(index: int) -> dict[str, Any]:
    return {"table": "main", "index": index, "calls": ["fsread", "fswrite"],
            "action": "permit"}


def test_a_call_made_again_is_counted_once_as_decided_the_last_time() -> None:
    """An ``again`` record is the same call as its tid's decision before it (an exclusive
    create an outsider's file made again, decided anew on another name): the call counts
    once, as the record made again decided it -- rule 1's permit of the first name is taken
    back, the default's refusal of the second counts; another tid's record between them and
    an inject rule's record of the first decision (no decision of its own) change nothing.
    On main (f150298) it was a separate decision: three calls, rule 1 hit."""
    records = [
        {"event": "start"},
        _open(10, "/work/a/tmpF", action="permit", result="permitted", rule=_rule(1)),
        _open(11, "/work/c/x", action="permit", result="permitted", rule=_rule(2)),
        _open(10, "/work/a/tmpF", action="inject", result="injected",
              rule={"table": "main", "index": 3, "calls": ["openat"], "action": "inject"},
              injected={"delay": "300ms", "when": "1"}),
        _open(10, "/work/b/tmpF", action="never", result="refused", rule=None,
              reason="default", errno="EACCES", again=1),
    ]
    report = check_policy(loads_policy(POLICY), iter(records))
    assert report.calls == 2 and report.again == 1
    assert {r.rule.index: r.hits for r in report.rules} == {1: 0, 2: 1}
    assert report.by_default == {"main": 1}
    assert report.refused == [("main", "openat", "/work/b/tmpF")]
    out = io.StringIO()
    write_check(out, report, "p.toml", "run.jsonl")
    assert "calls made again (each counted once, as decided the last time): 1" in out.getvalue()


def test_an_older_logs_table_of_a_memfd_is_checked_as_its_callers() -> None:
    """An older -A logged a tool's memfd helper's calls under ``/memfd:helper (deleted)``,
    a table no run enters: the helper runs under the tool's table (supervisor.nameless), and
    its calls are checked there -- on main (41239cf) they fell to the main table, and its
    default refused the helper's open the tool's table permits (learn42)."""
    policy = loads_policy(POLICY + '[program."/opt/tool"]\ndefault = "never"\n'
                          '[[program."/opt/tool".rule]]\ncalls = ["fsread", "fswrite"]\n'
                          'path = "/srv/asked"\naction = "permit"\n')
    memfd = "/memfd:helper (deleted)"
    records = [
        {"event": "start"},
        {"event": "fork", "pid": 11, "tid": 11, "parent": 10, "table": "main"},
        {"event": "exec", "pid": 11, "tid": 11, "table": "/opt/tool"},
        {"event": "exec", "pid": 11, "tid": 11, "table": memfd},
        {**_open(11, "/srv/asked", action="permit", result="permitted", rule=None,
                 reason="learning"), "pid": 11, "table": memfd},
    ]
    report = check_policy(policy, iter(records))
    assert report.calls == 1 and report.refused == [] and report.by_default == {}
    assert [r.hits for r in report.rules if r.table == "/opt/tool"] == [1]
