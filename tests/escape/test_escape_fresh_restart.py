"""notes38: an exclusive create the kernel's EEXIST had made again (notes37: an open with
O_CREAT and no O_EXCL of a name absent when decided runs with O_EXCL added; an outsider's file
made in the window has the program's own call made again, decided anew) was made again for
ever while an outsider won each window -- made the name after each decision and had it absent
at the next --, and each time it was a new call to the log and to an inject rule's count.
Now the call made again is the same call (the log's ``again``; not counted again) and is made
again once: decided again, a name it finds absent is taken as the outsider's (decode.RESTARTS),
not as one the run makes.

fresh_restart.c's outsider (the test) wins twice, deterministically: during the first
decision's injected delay it makes ``work/a/tmpF`` (the EEXIST) and re-aims ``work/d`` (the
program's ``work/d/tmpF``) at ``work/b``, where the name is absent at the call made again."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from escape_lib import SECRET_MAGIC, Scene, assert_blocked, attack
from test_escape_fresh_removed import fresh_policy


def _outsider(s: Scene, done: threading.Event, log: Path) -> None:
    """Once the run's log shows the decision on ``work/a/tmpF``: makes that file (holding the
    secret's magic), then points ``work/d`` at ``work/b``."""
    name = str(s.work / "a" / "tmpF")
    while not done.is_set():
        if log.exists() and name in log.read_text():
            break
        done.wait(0.005)
    else:
        return
    try:
        with (s.work / "a" / "tmpF").open("x") as made:
            made.write(f"{SECRET_MAGIC}\n")
    except FileExistsError:
        (s.work / "late").write_text("")
    os.symlink("b", s.work / "d.new")
    os.replace(s.work / "d.new", s.work / "d")


def test_an_exclusive_create_made_again_is_one_call_and_made_again_once(
        build, tmp_path: Path) -> None:
    """The create (``O_RDWR|O_CREAT`` of ``work/d/tmpF``) is decided on ``work/a/tmpF``
    (absent: the fresh read rule grants it), delayed 300 ms by an inject rule (``when = 1``),
    and held with O_EXCL: EEXIST (the outsider's file).  Made again, it finds
    ``work/b/tmpF`` absent: on main 67ace9b.. eaa4d53 it was a new call -- the second inject
    rule (ENOSPC, ``when = 2``) failed it, the program's next call (an open of the same name)
    counted third -- and, absent, it was held exclusive again (an outsider winning there too
    would have it made again, and so on).  Now: the log's second decision says ``again: 1``,
    it is refused (the fresh rule does not take a name absent then as the run's: EACCES), and
    the program's next call is the second the inject rule counts (ENOSPC)."""
    program = build("escape/fresh_restart.c")
    s = Scene.make(tmp_path, "traced")
    for sub in ("a", "b"):
        (s.work / sub).mkdir()
    os.symlink("a", s.work / "d")
    log = s.root / "run.jsonl"
    opens = '["open", "openat", "creat"]'
    text = fresh_policy(s, program) + f"""
[[rule]]
calls = {opens}
path = "{s.work}/?/tmpF"
action = "inject"
delay = "300ms"
when = "1"
[[rule]]
calls = {opens}
path = "{s.work}/?/tmpF"
action = "inject"
errno = "ENOSPC"
when = "2"
"""
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, log), daemon=True)
    helper.start()
    try:
        out = attack(program, s.secret, s.work, scene=s, options=["--log", str(log)],
                     policy_text=text)
    finally:
        done.set()
        helper.join()
    assert not (s.work / "late").exists(), "the outsider came late"
    assert_blocked(out)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    creates = [r for r in records if r.get("event") == "syscall" and r.get("action") != "inject"
               and r.get("call", {}).get("paths", [[None, ""]])[0][1].endswith("/tmpF")]
    shown = "\n".join(json.dumps(r) for r in creates)
    assert out.detail == "create EACCES, then open ENOSPC", f"{out}\n{shown}"
    assert [(r["result"], r.get("again")) for r in creates] == [
        ("permitted", None), ("refused", 1)], shown
    assert creates[1]["call"]["paths"][0][1] == str(s.work / "b" / "tmpF"), shown
    assert not (s.work / "b" / "tmpF").exists()
