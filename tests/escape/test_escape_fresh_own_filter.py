"""notes38: a create under a seccomp filter of the program's own (notes37's "noted as nothing"
case).  An open with O_CREAT and no O_EXCL proves that it made its file only when run with
O_EXCL added; under a filter of the program's own, which the kernel runs again on a call the
tracer changed, the create was run as the program made it and noted as nothing, so a fresh
read rule refused the run's own file (over-refusal).  Now the tracer makes it anew, as
``openat2`` with O_EXCL on the copies, with the task's filters suspended -- they let the
program's own call through (it stopped at the prefilter's SECCOMP_RET_TRACE, which every other
answer outranks) -- and its success is noted (Tracer._create_anew).  ``fresh_own_filter.c``'s
filter answers every ``openat2`` SECCOMP_RET_ERRNO with errno 0: had the kernel judged the
held create, it would have made a success that made nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from escape_lib import Scene, assert_blocked, attack, require_real
from test_escape_fresh_creat import _outsider
from test_escape_fresh_removed import fresh_policy

_FILTER_CALLS = '\n[[rule]]\ncalls = ["prctl", "seccomp"]\naction = "permit"\n'


def test_the_runs_own_create_under_a_filter_of_its_own_is_read_through_the_fresh_rule(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The program, under its own filter, creates ``work/tmpF`` (``O_WRONLY|O_CREAT``), writes
    it, and reads it back: the fresh read rule lets it (the create made anew, noted).  On main
    eaa4d53 the read was refused (EACCES: the create ran as it was, noted as nothing)."""
    program = build("escape/fresh_own_filter.c")
    s = Scene.make(tmp_path, "traced")
    out = attack(program, s.secret, s.work, scene=s, env=loop,
                 policy_text=fresh_policy(s, program) + _FILTER_CALLS)
    assert_blocked(out)
    assert out.detail == "create descriptor, written, read own-file", str(out)


def test_the_runs_own_create_under_a_filter_of_its_own_in_a_tree_of_two_tasks(
        build, tmp_path: Path) -> None:
    """The same with a second thread alive (the create runs with the tree frozen, the other
    task stopped while the tracer makes it anew): read back through the fresh rule."""
    program = build("escape/fresh_own_filter.c")
    s = Scene.make(tmp_path, "traced")
    out = attack(program, s.secret, s.work, scene=s, env={"ESC_THREAD": "1"},
                 policy_text=fresh_policy(s, program, threads=True) + _FILTER_CALLS)
    assert_blocked(out)
    assert "a second thread is alive" in out.stdout, str(out)
    assert out.detail == "create descriptor, written, read own-file", str(out)


def test_an_outsiders_file_a_create_under_a_filter_of_its_own_met_is_not_the_runs(
        build, tmp_path: Path) -> None:
    """notes37's race under the program's own filter: the create is decided with the name
    absent and delayed 300 ms (an inject rule); the outsider makes ``work/tmpF`` holding the
    secret's magic meanwhile.  The create made anew meets EEXIST, the program's call is made
    again, decided on the outsider's file (opened for writing, as natively), and the read
    after it is refused (EACCES).  Control: natively the read gets the secret."""
    program = build("escape/fresh_own_filter.c")
    c = Scene.make(tmp_path, "control")
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(c, done, None), daemon=True)
    helper.start()
    try:
        control = attack(program, c.secret, c.work, "outsider", scene=c, policy_text=None,
                         env={"ESC_OUTSIDER_FIRST": "1"})
    finally:
        done.set()
        helper.join()
    require_real(control)
    s = Scene.make(tmp_path, "traced")
    log = s.root / "run.jsonl"
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, log), daemon=True)
    helper.start()
    text = fresh_policy(s, program) + _FILTER_CALLS + f"""
[[rule]]
calls = ["open", "openat", "creat"]
path = "{s.work}/tmpF"
action = "inject"
delay = "300ms"
when = "1"
"""
    try:
        out = attack(program, s.secret, s.work, "outsider", scene=s, policy_text=text,
                     options=["--log", str(log)])
    finally:
        done.set()
        helper.join()
    assert not (s.work / "late").exists(), "the outsider came late"
    assert_blocked(out)
    assert out.detail == "create descriptor, written, read open EACCES", str(out)
    assert '"again":1' in log.read_text().replace(" ", ""), log.read_text()
