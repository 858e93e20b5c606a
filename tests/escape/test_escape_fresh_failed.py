"""notes35: the names a run made (``Decoder.made``, what a ``fresh`` rule covers besides a
name that is absent) are noted at the call's exit, from its result.  Noted at its entry, a
create that then failed (EMFILE, the kernel's EINVAL...) left its name noted with nothing
made there: a file an outsider made at that name later counted as the run's own, and the
fresh read rule read it (ESCAPED on main b837e87, both loops).  fresh_failed.c makes the
create fail, the test (a process outside the traced tree) then writes a file holding the
secret's magic at that name, and the run opens it for reading.  Each has a native control.
The race mode is the multi-task form: a thread links the secret at the name while the main
thread creates it and reads it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    Scene,
    assert_blocked,
    attached_run,
    attack,
    native_control,
    never,
    policy,
    require_real,
)
from test_escape_fresh_removed import fresh_policy


def _outsider(s: Scene, done: threading.Event, mode: str) -> None:
    """Waits for ``work/go``, then writes ``work/tmpF`` holding the secret's magic (a file the
    run did not make) -- in mode eisdir a directory with an entry of that name -- and
    ``work/ready``."""
    go = s.work / "go"
    while not done.is_set() and not go.exists():
        done.wait(0.01)
    if done.is_set():
        return
    if mode == "eisdir":
        (s.work / "tmpF").mkdir()
        (s.work / "tmpF" / SECRET_MAGIC).write_text("")
    else:
        (s.work / "tmpF").write_text(f"{SECRET_MAGIC}\n")
    (s.work / "ready").write_text("")


def _run(program: Path, tmp_path: Path, name: str, mode: str, env: dict[str, str] | None,
         traced: bool):
    s = Scene.make(tmp_path, name)
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, mode), daemon=True)
    helper.start()
    try:
        return attack(program, mode, s.secret, s.work, scene=s, env=env,
                      policy_text=fresh_policy(s, program) if traced else None)
    finally:
        done.set()
        helper.join()


@pytest.mark.parametrize("mode", ["emfile", "mknod"])
def test_an_outsiders_file_at_a_name_whose_create_failed_is_not_the_runs(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """The run's create of ``work/tmpF`` fails (EMFILE: no descriptor free; mknod of type
    S_IFMT: EINVAL) and nothing is made; an outsider then
    writes the secret's magic there.  The fresh read rule let the run read it: the name was
    noted as made at the create's entry (ESCAPED on b837e87, both loops).  Noted at the
    exit, from the result, a failed create notes nothing: EACCES.  Control: natively the
    open reads it."""
    program = build("escape/fresh_failed.c")
    require_real(_run(program, tmp_path, "control", mode, None, False))
    out = _run(program, tmp_path, "traced", mode, loop, True)
    assert_blocked(out)
    assert out.detail.startswith("open of") and out.detail.endswith("EACCES"), str(out)


def test_an_outsiders_directory_a_rename_failed_to_replace_is_not_the_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 33's left case: the run's own ``work/tmpA`` renamed over the outsider's
    directory ``work/tmpF`` fails (EISDIR) and moves nothing, but the new name was noted as
    made at the rename's entry and the fresh read rule listed the directory (its entries
    named by the secret's magic: ESCAPED on b837e87, both loops).  Noted at the exit, the
    failed rename notes nothing: EACCES.  Control: natively the listing shows it."""
    program = build("escape/fresh_failed.c")
    require_real(_run(program, tmp_path, "control", "eisdir", None, False))
    out = _run(program, tmp_path, "traced", "eisdir", loop, True)
    assert_blocked(out)
    assert "EISDIR" in out.stdout and out.detail.endswith("EACCES"), str(out)


def test_the_runs_own_made_file_is_still_read_under_the_fresh_rule(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The other side: a create that runs is noted at its exit, and the fresh read rule
    reads the file (the race mode's main thread, without its linker's secret in the way:
    some of its creates run and their reads are permitted)."""
    program = build("escape/fresh_failed.c")
    s = Scene.make(tmp_path, "traced")
    # (the linker links nothing -- no file at that name: every create is the run's own)
    out = attack(program, "race", s.secd / "none", s.work, "0.5", scene=s, env=loop,
                 policy_text=fresh_policy(s, program, threads=True))
    assert_blocked(out)
    tries, own, refused = (int(w) for w in out.stdout.split("TRIES: ")[1].split()[::2][:3])
    assert own == tries and refused == 0, str(out)


def test_a_thread_linking_the_secret_at_the_name_being_made_does_not_make_it_the_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The multi-task form: a thread links the secret at ``work/tmpF`` and removes it in a
    loop while the main thread creates ``work/tmpF`` (O_EXCL) and reads it.  A create decided
    while the name was absent that met the secret in the kernel (EEXIST), or a note applied
    after the link, would make the secret the run's own.  The tree is frozen from the
    create's entry to its exit, and the note is taken at the exit before the thaw: only the
    run's own file or EACCES, never the secret.  Control: natively the reads get the
    secret."""
    program = build("escape/fresh_failed.c")
    native_control(lambda n: attack(program, "race", *_paths(tmp_path, f"control{n or ''}"),
                                    "2", scene=None, policy_text=None))
    s = Scene.make(tmp_path, "traced")
    out = attack(program, "race", s.secret, s.work, "5", scene=s, env=loop,
                 policy_text=fresh_policy(s, program, threads=True))
    assert_blocked(out)
    assert "TRIES: " in out.stdout, str(out)


def _paths(tmp_path: Path, name: str) -> tuple[Path, Path]:
    s = Scene.make(tmp_path, name)
    return s.secret, s.work


def test_a_create_the_programs_own_filter_skipped_with_errno_0_is_not_the_runs(
        build, tmp_path: Path) -> None:
    """Review 35: ``systrace --attach`` stops every call at its entry, before the kernel runs
    the task's own seccomp filters -- and a filter's SECCOMP_RET_ERRNO with errno 0 makes the
    call return 0 without running it.  The run's mknod of ``work/tmpF`` (S_IFREG), permitted,
    was skipped so; its exit's 0 was taken for success and the name noted as made: the
    outsider's file put there later was read through the fresh rule (ESCAPED on main, an
    attached process: one loop, the native loop never serves it).  Now, for a task under a
    filter of its own in a run without the prefilter, a call's result at its exit is no
    proof that it ran: what it would make is not noted (fails closed: EACCES).  Control:
    natively the filter skips the mknod and the open reads the outsider's file."""
    _skipped_when_attached(build, tmp_path, "skipped")


def test_a_create_a_threads_own_filter_skipped_is_not_the_runs(build, tmp_path: Path) -> None:
    """notes37, the same as an attached process's second thread: its filter (installed
    before the attach, without TSYNC: the main thread has none) skips its mknod.  Whether a
    task runs under a filter of its own was read once a process, from the first of its
    tasks the tracer asked about -- here the main thread, at its own create's exit: none --
    and the thread's skipped mknod was taken as run, its name noted (ESCAPED on main
    67ace9b).  A filter is a task's: asked per task now.  Control: natively the thread's
    filter skips the mknod and the open reads the outsider's file."""
    _skipped_when_attached(build, tmp_path, "thread")


def _skipped_when_attached(build, tmp_path: Path, mode: str) -> None:
    """fresh_failed.c ``mode`` (skipped, thread) natively, then under ``systrace --attach``:
    the mknod skipped, the outsider's file refused (EACCES)."""
    program = build("escape/fresh_failed.c")
    require_real(_run(program, tmp_path, "control", mode, None, False))
    s = Scene.make(tmp_path, "traced")
    text = (fresh_policy(s, program, threads=mode == "thread")
            + '\n[[rule]]\ncalls = ["fsread"]\n'
            'path = "/proc/**"\naction = "permit"\n')
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, mode), daemon=True)
    helper.start()
    try:
        run = attached_run([program, mode, s.secret, s.work], text, scene=s)
    finally:
        done.set()
        helper.join()
    out, said = run.out, run.tracer.stderr
    assert "attached" in said, said
    assert "skipped by the run's own filter" in out, (out, said)
    assert "ESCAPED" not in out, (out, said)
    assert "BLOCKED" in out and out.rstrip().endswith("EACCES"), (out, said)


def test_a_pivot_root_the_programs_own_filter_skipped_does_not_move_the_root(
        build, tmp_path: Path) -> None:
    """Review 35, the same cause tried on a view: under ``--attach`` a pivot_root the
    program's own filter answers with errno 0 (never run) is taken as run and the resolver
    moves its root -- but skip_pivot.c's open of the secret by its own path after it is
    refused still (EACCES: already so on main cd17da6; this pins it).
    Control: natively the secret is read."""
    program = build("escape/skip_pivot.c")
    c = Scene.make(tmp_path, "control")
    require_real(attack(program, c.secret, c.work, scene=c, policy_text=None))
    s = Scene.make(tmp_path, "traced")
    run = attached_run([program, s.secret, s.work],
                       policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")), scene=s)
    out, said = run.out, run.tracer.stderr
    assert "attached" in said, said
    assert "skipped by the program's own filter" in out, (out, said)
    assert "ESCAPED" not in out and "BLOCKED" in out, (out, said)


def test_a_held_create_the_programs_own_filter_skipped_on_its_recheck_is_not_the_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 35, with the prefilter: the kernel runs every filter again on a call the tracer
    let go from its SECCOMP_RET_TRACE stop (the recheck), on the arguments as the tracer left
    them -- a held call points at the tracer's copy of its name.  fresh_failed's recheck mode
    (a second thread: the mknod is held) has a filter of its own let mknodat run only with the
    program's own pointer, else answer errno 0: the held mknod returned 0, never run, and its
    name was noted as made (the outsider's file read through the fresh rule).  Control:
    natively, with a copy's pointer, the filter skips the mknod and the open reads the
    outsider's file."""
    program = build("escape/fresh_failed.c")
    require_real(_run(program, tmp_path, "control", "recheck", {"ESC_COPY": "1"}, False))
    s = Scene.make(tmp_path, "traced")
    done = threading.Event()
    helper = threading.Thread(target=_outsider, args=(s, done, "recheck"), daemon=True)
    helper.start()
    try:
        out = attack(program, "recheck", s.secret, s.work, scene=s, env=loop,
                     policy_text=fresh_policy(s, program, threads=True)
                     + '\n[[rule]]\ncalls = ["prctl", "seccomp"]\naction = "permit"\n')
    finally:
        done.set()
        helper.join()
    assert "skipped by the run's own filter" in out.stdout, str(out)
    assert_blocked(out)
    assert out.detail.startswith("open of") and out.detail.endswith("EACCES"), str(out)
