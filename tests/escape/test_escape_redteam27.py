"""Red team 27: an outsider at what the engine does not model, and at what its own outputs
and questions say (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not get what its policy, or the docs, refuse (docs/security.md, "Red team
27").
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import PYTHON, Scene, assert_blocked, attack, never, policy, require_real

#: An approver that answers as a person who reads the question's argv: ``git status`` may
#: read what it asks about, any other program may not.
ARGV_READER = textwrap.dedent("""\
    import json, sys
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") != "ask":
            continue
        shown = " ".join(word for word in message.get("argv") or [] if word)
        answer = "permit-now" if shown == "git status" else "deny-now"
        print(json.dumps({"id": message["id"], "answer": answer}), flush=True)
    """)


def _asked_by_argv(s: Scene, *decided: str) -> str:
    """Everything permitted; reading the secret's directory is asked; and a rule decides
    each of ``decided`` by its argv (so the tracer reads the argv of an exec of it)."""
    return policy(*(never("exec", path=path, argv=["--never", "**"]) for path in decided),
                  f'calls = ["fsread"]\npath = "{s.secd}/**"\naction = "ask"')


@pytest.mark.parametrize("how", ["check", "rewrite", "empty"])
def test_the_argv_a_question_shows_is_the_execs_not_the_programs(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], how: str) -> None:
    """``ask_argv.c``.  A question shows the asking process's argv, and a person judges the
    call by it.  ``check``: an ``execveat`` with ``AT_EXECVE_CHECK`` (the kernel checks, runs
    nothing) of a program a rule decides by argv, with argv ``git status``, then a real exec
    whose argv no rule reads: the tracer kept the checked call's argv (Tracer._exec_argv) and
    the new image's question (and its exec record) showed ``git status``.  ``rewrite``: the
    program wrote ``git\\0status`` over its own argument strings, and a question about a
    process whose exec argv the tracer had not read showed /proc/PID/cmdline -- the
    program's to write.  ``empty``: the program exec'd itself with an empty argv where a
    rule reads its argv -- read as none, ``()``, which the question took for "not read"
    (``state.argv or cmdline``) -- and the new image wrote ``git status`` over its argument
    and on into its environment (the kernel's cmdline reads on, as after setproctitle).
    The approver permits ``git status`` only: before the fix it permitted the read of the
    secret in each.  Now every exec the tracer sees records its argv (read at the exec event
    when no rule read it at the call: the kernel's copy, before the new image ran), a noted
    exec replaces the last one's, an empty argv is one, and a run that can ask has Python
    see every exec (Supervisor.fast_exec)."""
    echo = shutil.which("echo")
    assert echo is not None
    echo = os.path.realpath(echo)
    program = build("escape/ask_argv.c")

    def args(s: Scene) -> list[object]:
        return ["check", echo, s.secret] if how == "check" else [how, s.secret]

    control = Scene.make(tmp_path, "control")
    require_real(attack(program, *args(control), policy_text=None, scene=control))

    s = Scene.make(tmp_path, "traced")
    approver = s.root / "approver.py"
    approver.write_text(ARGV_READER)
    log = s.root / "run.log"
    traced = attack(program, *args(s), policy_text=_asked_by_argv(s, echo, str(program)),
                    scene=s, env=loop,
                    options=["--ask-via", f"exec:{PYTHON} {approver}", "--log", str(log)])
    assert_blocked(traced)
    assert "EPERM" in traced.detail or "EACCES" in traced.detail, traced
    execs = [r for r in map(json.loads, log.read_text().splitlines())
             if r.get("event") == "exec"]
    assert execs and all(r.get("argv") not in (["git", "status"], None) for r in execs), execs


def test_an_exec_that_only_checks_gives_the_caller_no_table(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Held (tried, no change needed).  ``exec_checkonly.c``: ``execveat`` with
    ``AT_EXECVE_CHECK`` of a program whose table permits reading the secret (the main table
    refuses it) returns 0 and runs nothing; the caller then reads the secret in its own
    image.  Tables switch at the exec event (Supervisor.on_exec), which a check never
    makes: the read is refused.  Control: natively the check returns 0 and the read works."""
    echo = shutil.which("echo")
    assert echo is not None
    echo = os.path.realpath(echo)
    program = build("escape/exec_checkonly.c")
    control = Scene.make(tmp_path, "control")
    require_real(attack(program, echo, control.secret, policy_text=None, scene=control))
    s = Scene.make(tmp_path, "traced")
    text = policy(never("fsread", path=f"{s.secd}/**")) + (
        f'\n[program."{echo}"]\ndefault = "permit"\n')
    traced = attack(program, echo, s.secret, policy_text=text, scene=s, env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail and "returned 0" in traced.stdout, traced
