"""Red team 58: an outsider at the actors systrace sets in motion outside the traced tree
(docs/security.md, "Red team 58").

An approver (``--ask-via``) that asks for process events gets a line from a thread of
systrace's at each fork, exec and exit of the tree -- at times the tree chooses -- and one
that keeps a record of what it hears may write it where the tree maps it: its stderr is
systrace's, often a file (a CI's log) the tree may read.  ``evt_tail_open.c`` pads that
file to end a few bytes before a page's end with a name, maps its last page MAP_PRIVATE (a
clean page shows each append) with a page of zeros after it, reaps a child and opens the
name: the exit's line -- ``{"type":"process"``, known -- lands between the tracer's read of
the name (a decoy) and the kernel's (a symlink to the secret).  Red team 54 held a task
alone while the resolver's threads write (``Supervisor.writes_beside``); the approver's
approver was left out, and the native loop served such a task's calls unheld.  Now a run
with an approver -- told of asks, settled asks (a kill the tree chooses) and events, all at
times the tree chooses -- has writes_beside true (and is all Python's): the kernel opens
what was checked.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from escape_lib import SYSTRACE, Scene, assert_blocked, attack, never, policy, require_real

#: tries under systrace (~30 ms each, loaded): main (aed37bd) escaped in 9 of 10 runs (both
#: loops) within 40 tries -- at 8, 8, 11, 15, 17, 17, 27, 28, 31 -- and at try 94 once
TRIES = 40

#: what the approver's record of an exit begins with (approver._line: compact JSON)
START = '{"type":"process"'

#: an approver that asks for process events and writes each line it hears to its stderr
#: (systrace's): a log of what it was told; every ask is denied
_APPROVER = """\
import json, sys
print(json.dumps({"type": "events", "process": True}), flush=True)
for line in sys.stdin:
    sys.stderr.write(line)
    sys.stderr.flush()
    message = json.loads(line)
    if message.get("type") == "ask":
        print(json.dumps({"id": message["id"], "answer": "deny-now"}), flush=True)
"""

#: runs SYSTRACE with its stderr appended to argv[1] (the rest: the command)
_STDERR_TO = ("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT,"
              " 0o644); os.dup2(fd, 2); os.execvp(sys.argv[2], sys.argv[2:])")


def test_a_path_an_approvers_record_of_an_event_lengthens_is_held(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``evt_tail_open.c`` under ``never fsread secd/**`` (and an ask rule, so that the
    approver runs), systrace's stderr -- the approver's and the program's -- appended to
    ``work/err.log``.  Natively the program appends the exit line's first bytes itself and
    the kernel opens the longer name, the secret; under systrace, on both loops, the name
    read is held: the decoy (or, the line in before the tracer's read, the refusal)."""
    program = build("escape/evt_tail_open.c")
    control = Scene.make(tmp_path, "control")
    err = control.work / "err.log"
    err.touch()
    require_real(attack(program, err, control.secret, 2, START, policy_text=None,
                        scene=control, cwd=control.work, env={"NATIVE": "1"}))
    scene = Scene.make(tmp_path, "traced")
    err = scene.work / "err.log"
    err.touch()
    approver = scene.root / "approver.py"
    approver.write_text(_APPROVER)
    rules = policy(never("fsread", path=f"{scene.secd}/**"),
                   f'calls = ["fsread"]\npath = "{scene.pubd}/asked/**"\naction = "ask"')
    for _ in range(3):  # (under load every try may meet the line in first: run again)
        traced = attack(program, err, scene.secret, TRIES, START, policy_text=rules,
                        scene=scene, cwd=scene.work, env=loop,
                        options=["--ask-via", f"exec:{sys.executable} {approver}"],
                        tracer=[sys.executable, "-c", _STDERR_TO, str(err), *SYSTRACE])
        assert_blocked(traced)
        tried = re.search(r"\((\d+) tries, (\d+) the decoy\)", traced.detail)
        assert tried is not None and int(tried[1]) >= 1, traced
        if int(tried[2]) >= 1:
            break
    assert int(tried[2]) >= 1, traced  # (the hold was met: a name read held, the decoy)
    assert '{"type":"process","event":"exit"' in err.read_text()  # (the approver heard)


#: what each line the tracer says on its stderr begins with (report.say)
SAID = "systrace: refused"

#: runs SYSTRACE with its stderr a pipe whose reader -- a collector, as ``2>&1 | tee -a``
#: on a loaded machine, a CI runner's -- appends what it reads to argv[1] half a
#: millisecond after it comes (the rest: the command)
_STDERR_COPIED_TO = """\
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    out = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
    while data := os.read(r, 65536):
        time.sleep(0.0005)
        os.write(out, data)
    os._exit(0)
os.close(r)
os.dup2(w, 2)
os.close(w)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def test_a_path_a_copy_of_the_tracers_own_line_lengthens_is_held(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 38: the tracer's own thread says lines on its stderr at times the tree chooses
    (-v: each refusal, new process, exec; without -v each ask no one can answer, each ask
    ``--ask-default permit`` lets through), and what reads a stderr that is a pipe (``|
    tee``, a CI's collector) or a recorded terminal copies them into a file after they were
    written -- while a task alone's next call is decided.  ``evt_tail_open.c`` with REFUSED
    makes a refused open after each reaping; under ``-v``, systrace's stderr a pipe whose
    reader appends to ``work/err.log``, the refusal's line landed between the tracer's read
    of the name (a decoy) and the kernel's (a symlink to the secret): main (516699d) served
    the open unheld on both loops (2 runs of 3: both within 40 tries).  Now such a run has
    writes_beside true -- Python holds a task alone's call, the native loop serves it as a
    task beside others, held in its slot: the name read is held."""
    program = build("escape/evt_tail_open.c")
    control = Scene.make(tmp_path, "control")
    err = control.work / "err.log"
    err.touch()
    require_real(attack(program, err, control.secret, 2, SAID, policy_text=None,
                        scene=control, cwd=control.work, env={"NATIVE": "1"}))
    scene = Scene.make(tmp_path, "traced")
    err = scene.work / "err.log"
    err.touch()
    traced = attack(program, err, scene.secret, TRIES, SAID, scene=scene, cwd=scene.work,
                    policy_text=policy(never("fsread", path=f"{scene.secd}/**")),
                    env={**loop, "REFUSED": str(scene.secret)}, options=["-v"],
                    tracer=[sys.executable, "-c", _STDERR_COPIED_TO, str(err), *SYSTRACE])
    assert_blocked(traced)
    tried = re.search(r"\((\d+) tries, (\d+) the decoy\)", traced.detail)
    assert tried is not None and int(tried[1]) >= 1 and int(tried[2]) >= 1, traced
    assert f"{SAID} " in err.read_text()  # (the collector copied the refusals' lines)
