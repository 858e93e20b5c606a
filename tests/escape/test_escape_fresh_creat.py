"""notes37: an open with O_CREAT and no O_EXCL opens whatever is at its name when the kernel
looks it up.  A ``fresh`` rule covers a name that names nothing when the call is decided, and
the engine noted the name as the run's own when such an open succeeded (notes35's kept
case): an outsider (a process outside the traced tree) that made the file between the
decision and the kernel's open had it opened by the run -- and noted as made, so the fresh
read rule read it later.  fresh_creat.c makes the create; the policy delays it after its
decision (an inject rule) and the outsider, the test, makes ``work/tmpF`` holding the
secret's magic once the run's log shows the decision.  Each has a native control."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, Scene, assert_blocked, attack, require_real
from test_escape_fresh_removed import fresh_policy

#: the run's first call naming work/tmpF waits this long after its decision: the outsider's
#: window (it needs a few milliseconds of it; one that comes late says so)
_DELAY = "300ms"


def _outsider(s: Scene, done: threading.Event, log: Path | None) -> None:
    """Waits for ``work/go`` -- and, with ``log``, for the decision on the run's create in the
    run's log --, then writes ``work/tmpF`` holding the secret's magic (a file the run did not
    make) and ``work/ready``; writes it again when the run asks (``work/again``)."""
    def wait(ready: Callable[[], bool]) -> bool:
        while not done.is_set():
            if ready():
                return True
            done.wait(0.005)
        return False

    name = str(s.work / "tmpF")
    if not wait((s.work / "go").exists):
        return
    if log is not None and not wait(lambda: log.exists() and name in log.read_text()):
        return
    try:  # (O_EXCL: a file the run made first is the run's -- the window missed)
        with (s.work / "tmpF").open("x") as made:
            made.write(f"{SECRET_MAGIC}\n")
    except FileExistsError:
        (s.work / "late").write_text("")
    (s.work / "ready").write_text("")
    if wait((s.work / "again").exists):
        (s.work / "tmpF").write_text(f"{SECRET_MAGIC}\n")
        (s.work / "ready2").write_text("")


def _run(program: Path, tmp_path: Path, name: str, mode: str, env: dict[str, str] | None,
         traced: bool):
    s = Scene.make(tmp_path, name)
    log = s.root / "run.jsonl" if traced else None
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, log), daemon=True)
    helper.start()
    text = None
    if traced:
        text = fresh_policy(s, program) + f"""
[[rule]]
calls = ["open", "openat", "creat"]
path = "{s.work}/tmpF"
action = "inject"
delay = "{_DELAY}"
when = "1"
"""
    try:
        return attack(program, mode, s.secret, s.work, scene=s,
                      env={**(env or {}), **({} if traced else {"ESC_OUTSIDER_FIRST": "1"})},
                      options=["--log", str(log)] if log is not None else (),
                      policy_text=text)
    finally:
        done.set()
        helper.join()


def test_an_outsiders_file_a_non_exclusive_create_opened_is_not_the_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The run's ``open(work/tmpF, O_WRONLY|O_CREAT)`` (no O_EXCL) is decided while the name
    names nothing; the outsider makes the file before the kernel's open.  The open opened
    the outsider's file and its success noted the name as made: the fresh read rule read it
    (ESCAPED on main 67ace9b, both loops).  Now the create runs with O_EXCL added; the
    kernel's EEXIST makes the program's own call again, decided anew on the file that is
    there: it opens the outsider's file as natively, noted as nothing, and the read is
    refused (EACCES).  Control: natively the create opens the outsider's file and the secret
    is read."""
    _attacked(build, tmp_path, "wronly", loop)


@pytest.mark.parametrize("mode", ["creat", "rdwr"])
def test_an_outsiders_file_a_creat_or_a_read_write_create_opened_is_not_the_runs(
        build, tmp_path: Path, mode: str) -> None:
    """The same through ``creat()`` (its flags in no register: held as openat2 all the same),
    and through ``open(O_RDWR|O_CREAT)``, whose own descriptor read the outsider's file (the
    fresh read rule let it read because the name named nothing).  ESCAPED on main 67ace9b,
    both loops; one run here (the native loop hands a fresh rule's paths to Python): the
    creat made again opens the outsider's file, the read after it refused; the read-write
    create made again is refused itself."""
    _attacked(build, tmp_path, mode, None)


def _attacked(build, tmp_path: Path, mode: str, env: dict[str, str] | None) -> None:
    program = build("escape/fresh_creat.c")
    require_real(_run(program, tmp_path, "control", mode, None, False))
    started = time.monotonic()
    out = _run(program, tmp_path, "traced", mode, env, True)
    assert not (tmp_path / "traced" / "work" / "late").exists(), "the outsider came late"
    assert_blocked(out)
    assert out.detail.endswith("EACCES"), (str(out), time.monotonic() - started)
    if mode == "rdwr":
        assert out.detail.startswith("the create of"), str(out)
    else:
        assert "descriptor" in out.stdout and out.detail.startswith("open of"), str(out)
