"""pycwd37's re-read, attacked (notes38): an exec into another table of a Python run with
``-m`` is refused where a traced program may write its working directory, unless the table
entered grants that directory (``CWD=...``); the directory decided on is read again with the
tree frozen before the exec runs (DecodedCall.examined_cwd, Tracer._unchanged).  Without the
re-read, a thread that changes directory (the process's, CLONE_FS) between the check -- in
the granted directory -- and the exec has Python import the module it planted in the other.

``exec_pycwd_flip.c``: the exec is decided in the granted directory, then delayed 400 ms by an
inject rule (the window); the outsider (the test) makes ``work/flip`` once the run's log shows
the decision, and the program's thread chdir()s to the planted directory.  Native control:
the exec run after the thread's chdir imports the plant, which reads the secret."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from escape_lib import Scene, attack, never, policy


def _policy(s: Scene, interpreter: str, granted: Path) -> str:
    """The main table refuses the secret and lets the interpreter run only as ``python -m
    json.tool``, that exec delayed 400 ms after its decision; the interpreter's own table
    permits everything, and grants the directory ``granted`` (``CWD=...``)."""
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"),
                  f'calls = ["exec"]\npath = "{interpreter}"\n'
                  f'argv = ["*", "-m", "json.tool", "**"]\naction = "permit"',
                  f'calls = ["exec"]\npath = "{interpreter}"\naction = "never"',
                  f'calls = ["execve"]\npath = "{interpreter}"\naction = "inject"\n'
                  f'delay = "400ms"\nwhen = "1"') + \
        f'\n[program."{interpreter}"]\ndefault = "permit"\nenvironment = ["CWD={granted}"]\n'


def _outsider(s: Scene, done: threading.Event, log: Path, interpreter: str) -> None:
    """Makes ``work/flip`` once the run's log shows the exec of ``interpreter`` decided."""
    def decided() -> bool:
        if not log.exists():
            return False
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # (a line being written)
            if record.get("syscall") == "execve" and record.get("result") == "permitted" \
                    and interpreter in json.dumps(record.get("call")):
                return True
        return False

    while not done.is_set():
        if decided():
            (s.work / "flip").write_text("")
            return
        done.wait(0.005)


def test_a_thread_that_changes_directory_after_a_python_exec_was_checked_gets_it_refused(
        build, tmp_path: Path) -> None:
    """The exec of ``python -m json.tool`` into the interpreter's table is checked with the
    process in ``granted`` (the table grants it), and runs after the program's thread moved
    the process to ``planted``, where ``json/__init__.py`` was planted.  With the re-read
    before the exec (pycwd37) the exec is refused (EAGAIN, an engine refusal: what it examined
    changed while it waited); with the re-read patched out, the plant ran under the
    interpreter's table and read the secret (checked by hand, notes38 -- the test fails so).
    Control: natively the exec after the chdir imports the plant."""
    program = build("escape/exec_pycwd_flip.c")
    interpreter = os.path.realpath(sys.executable)

    def dirs(s: Scene) -> tuple[Path, Path]:
        granted, planted = s.work / "granted", s.work / "planted"
        granted.mkdir()
        planted.mkdir()
        return granted, planted

    c = Scene.make(tmp_path, "control")
    (c.work / "flip").write_text("")
    control = attack(program, interpreter, "json", *dirs(c), c.work, policy_text=None,
                     scene=c, env={"ESC_TARGET": str(c.secret), "ESC_OUTSIDER_FIRST": "1"})
    assert control.verdict == "ESCAPED", control

    for attempt in range(3):  # (under load the thread's chdir may come after the 400 ms:
        # the exec then runs in ``granted`` as checked, no verdict -- tried again)
        s = Scene.make(tmp_path, f"traced{attempt}")
        granted, planted = dirs(s)
        log = s.root / "run.jsonl"
        done = threading.Event()
        helper = threading.Thread(target=_outsider, args=(s, done, log, interpreter),
                                  daemon=True)
        helper.start()
        try:
            traced = attack(program, interpreter, "json", granted, planted, s.work,
                            policy_text=_policy(s, interpreter, granted), scene=s,
                            env={"ESC_TARGET": str(s.secret)}, options=["--log", str(log)])
        finally:
            done.set()
            helper.join()
        if traced.verdict != "NONE":
            break
    assert (s.work / "flip").exists(), f"the outsider never saw the exec decided\n{traced}"
    assert traced.verdict == "BLOCKED", traced
    assert traced.detail.endswith("(the thread had changed directory): EAGAIN"), traced
