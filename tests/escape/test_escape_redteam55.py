"""Red team 55: an outsider at the newest code and at this kernel's newest calls
(docs/security.md, "Red team 55").

The tracer's own thread as a writer of a task's memory that is no task of the tree: a
decision a rule made is written to the log (``--log``) while the tracer decides the call --
after it read the call's path, before the kernel reads it again.  A log the tree may read
can be mapped MAP_PRIVATE, and a clean page of it shows each append: ``log_tail_open.c``
opens the last bytes of the log's text, mapped, with a page of zeros after the log's page;
the tracer reads a decoy's name and logs the permit, and the record's first bytes -- always
``{"time":17...`` -- make the name the kernel reads a symlink to the secret.  Red team 54
held a task alone while the resolver's threads write (``Supervisor.writes_beside``); the
tracer's own writes were left out.  Now a run that logs (or says, with -v, calls it permits
by a burst answer or signals by an inject rule: ``Supervisor.writes_deciding``) holds even a
task alone: the kernel opens what was checked.  A sendmmsg's names are never copied: such a
call with names or control data in a task alone is refused in those runs (log_tail_send.c).
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, assert_blocked, attack, never, permit, policy, require_real

#: tries under systrace: main escaped at the first in every run (both loops); ~1 s held
TRIES = 6
#: tries on a recorded terminal (red team 56): main escaped within 3 in 7 of 7 runs, both loops
RECORDED_TRIES = 3


def test_a_path_the_tracers_own_log_record_lengthens_is_held(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``log_tail_open.c`` in the work directory, logging there (``--log work/run.log``),
    under ``never fsread secd/**`` and a rule that permits reads below the work directory
    (so its decisions are logged, as every decision of a learned policy is).  Natively the
    program writes the record's first bytes itself and the kernel opens the longer name, the
    secret; under systrace, on both loops, the name read is held: the decoy at every try.
    ESCAPED on main (eaa4d53, 8ac53b9) at the first try, both loops."""
    program = build("escape/log_tail_open.c")
    control = Scene.make(tmp_path, "control")
    log = control.work / "run.log"
    log.touch()
    require_real(attack(program, log, control.secret, TRIES, policy_text=None, scene=control,
                        cwd=control.work, env={"NATIVE": "1"}))
    scene = Scene.make(tmp_path, "traced")
    log = scene.work / "run.log"
    rules = policy(never("fsread", path=f"{scene.secd}/**"),
                   permit("fsread", path=f"{scene.work}/**"))
    traced = attack(program, log, scene.secret, TRIES, policy_text=rules, scene=scene,
                    cwd=scene.work, env=loop, options=["--log", str(log)])
    assert_blocked(traced)
    tried = re.search(r"\((\d+) tries, (\d+) the decoy\)", traced.detail)
    assert tried is not None and int(tried[1]) >= 1 and int(tried[2]) >= 1, traced


#: runs ``script -qfe -c "SYSTRACE..." TYPESCRIPT`` (argv[1]: the typescript; the rest: the
#: command) -- a terminal whose master copies every byte into a file (red team 56)
_RECORDED = ("import os, shlex, sys; os.execvp('script', ['script', '-qfe', '-c', "
             "shlex.join(sys.argv[2:]), sys.argv[1]])")


def test_a_path_the_tracers_record_on_a_recorded_terminal_lengthens_is_held(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """Red team 56: ``log_tail_open.c`` RECORDED=1 -- with the log on a terminal
    (``-e``) that ``script -f`` records into ``work/typescript``: each record the tracer
    writes while deciding reaches the file a few microseconds later (the recorder's copy), and
    the program maps the typescript's last page.  A terminal is a character device, which
    writes_deciding took for a sink whose writes are no file's content: a task alone's path
    was not held, and the recorder's copy raced the kernel's read of the name.  Now a terminal
    counts (its master may copy it into a file): the decoy at every try.  Native control: the
    program appends the record's first bytes to a plain file itself.  One loop: a run that
    logs is all Python's (tests/conftest.py LOOP_BLIND; on main both loops escaped)."""
    import shutil

    if shutil.which("script") is None:
        pytest.skip("no script(1)")
    program = build("escape/log_tail_open.c")
    control = Scene.make(tmp_path, "control")
    log = control.work / "typescript"
    log.touch()
    require_real(attack(program, log, control.secret, TRIES, policy_text=None, scene=control,
                        cwd=control.work, env={"NATIVE": "1", "RECORDED": "1"}))
    scene = Scene.make(tmp_path, "traced")
    typescript = scene.work / "typescript"
    rules = policy(never("fsread", path=f"{scene.secd}/**"),
                   permit("fsread", path=f"{scene.work}/**"))
    for _ in range(3):
        # (a run whose every window closed before a try -- the recorder's copy late each
        # time, as once in a CI run: 0 tries -- proves nothing either way: made again)
        traced = attack(program, typescript, scene.secret, RECORDED_TRIES, policy_text=rules,
                        scene=scene, cwd=scene.work, options=["-e"], env={"RECORDED": "1"},
                        tracer=[sys.executable, "-c", _RECORDED, str(typescript), *SYSTRACE])
        assert_blocked(traced)
        tried = re.search(r"\((\d+) tries, (\d+) the decoy\)", traced.detail)
        if tried is not None and int(tried[1]) >= 1:
            break
    assert tried is not None and int(tried[1]) >= 1 and int(tried[2]) >= 1, traced


def _datagram_socket(path: Path) -> socket.socket:
    """A unix datagram socket outside the traced tree, bound at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def _received(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(64)
        except BlockingIOError:
            return count
        count += 1


def test_a_message_name_the_tracers_own_log_record_lengthens_is_refused(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """``log_tail_send.c``: a sendmmsg's message name (its length two bytes past the log's
    end) in the log's tail, mapped after a page of the program's own that holds its family.
    A sendmmsg's names are never copied (only a freeze holds them), so the hold above does
    not reach them: natively the program appends the record's ``{"`` itself and the datagram
    goes through the longer name, a symlink to a socket the policy refuses; under systrace,
    on both loops, a task alone's sendmmsg with names is refused (EPERM) in a run that logs
    (writes_deciding): nothing reaches that socket.  ESCAPED on main (8ac53b9), both loops, at
    the first try.  The rules name ``sendmmsg``, not ``net-connect``: a rule that may cover
    connect, in a run that logs, starts the DNS observer, whose resolver thread is a writer
    beside the tree (writes_beside) -- that refused the call before writes_deciding was
    asked, and the test passed with writes_deciding forced off (mend41; it escapes at the
    first try, both loops, with writes_deciding forced off now)."""
    program = build("escape/log_tail_send.c")
    control = Scene.make(tmp_path, "control")
    log = control.work / "run.log"
    log.touch()
    target = control.secd / "dsock"
    with _datagram_socket(target) as sock:
        require_real(attack(program, log, target, TRIES, policy_text=None, scene=control,
                            cwd=control.work, env={"NATIVE": "1"}))
        assert _received(sock) >= 1
    scene = Scene.make(tmp_path, "traced")
    log = scene.work / "run.log"
    target = scene.secd / "dsock"
    rules = policy(never("sendmmsg", unix=f"{scene.secd}/**"),
                   permit("sendmmsg", unix=f"{scene.work}/**"),
                   permit("fsread", path=f"{scene.work}/**"))
    with _datagram_socket(target) as sock:
        traced = attack(program, log, target, TRIES, policy_text=rules, scene=scene,
                        cwd=scene.work, env=loop, options=["--log", str(log)])
        assert_blocked(traced)
        assert _received(sock) == 0, traced
    assert "sendmmsg: EPERM" in traced.stdout, traced


def test_a_monitor_that_logs_or_says_what_it_permits_writes_while_deciding(
        tmp_path: Path) -> None:
    """writes_deciding: a log, or -v with an asker or an inject rule, to anything a write may
    show in a mapping through -- a file, a pipe (``| tee``), a terminal (``script -f``: red
    team 56), any character device but the discarding ones -- not to /dev/null (the decode fuzz
    servers' ``-E /dev/null``, whose sendmmsg names were refused EPERM where the kernel
    answers EINVAL), /dev/zero or /dev/full; not
    a run that writes nothing while it decides.  writes_beside stays the resolver's, and an
    approver's (red team 58), alone (a call read again after its
    decision, run unheld, sees the tracer's own writes)."""
    import os
    from types import SimpleNamespace

    from systrace_py.supervisor import Supervisor

    file = (tmp_path / "log").open("w")
    null = open(os.devnull, "w")  # noqa: SIM115
    reading, writing = os.pipe()
    pipe = os.fdopen(writing, "w")

    def monitor(dns: object = None, sinks: tuple[object, ...] | None = None,
                verbose: bool = False, asker: object = None, injecting: bool = False,
                stderr: object = null, can_ask: bool = False) -> object:
        audit = None if sinks is None else SimpleNamespace(sinks=list(sinks), file=None)
        made = SimpleNamespace(dns=dns, audit=audit, asker=asker, _injecting=injecting,
                               options=SimpleNamespace(verbose=verbose, automatic=False),
                               stderr=stderr, _writes_deciding=None, _said_beside=None,
                               policies=SimpleNamespace(can_ask=lambda: can_ask))
        made._told_beside = lambda: Supervisor._told_beside(made)  # type: ignore[arg-type]
        made._says_beside = lambda: Supervisor._says_beside(made)  # type: ignore[arg-type]
        return made

    def front_end(**kw: object) -> object:
        """A front end's answers to what the supervisor asks of it (supervisor.Asker's
        defaults: no process told, no ask said), ``kw`` replacing some."""
        return SimpleNamespace(**{"wants_events": False, "tells_a_process": False,
                                  "says_each_ask": False, **kw})

    def deciding(**kw: object) -> bool:
        return bool(Supervisor.writes_deciding.fget(monitor(**kw)))  # type: ignore[attr-defined]

    def beside(**kw: object) -> bool:
        return bool(Supervisor.writes_beside.fget(monitor(**kw)))  # type: ignore[attr-defined]

    try:
        assert not deciding(stderr=file)
        assert not deciding(verbose=True, stderr=file)  # (-v says refusals: none runs)
        assert not deciding(asker=object(), injecting=True, stderr=file)  # (nothing said)
        assert not deciding(dns=object(), stderr=file)
        assert deciding(sinks=(file,)) and deciding(sinks=(pipe,))
        assert deciding(sinks=(null, file))
        assert not deciding(sinks=(null,))  # (a discarding device: no file's content)
        with open("/dev/zero", "w") as zero, open("/dev/urandom", "w") as other:
            assert not deciding(sinks=(zero,))
            # (any other character device may be copied into a file, as journald copies
            # /dev/kmsg: fail closed)
            assert deciding(sinks=(other,))
        master, slave = os.openpty()
        with open(slave, "w") as terminal:  # (a terminal's master may record it: red team 56)
            assert deciding(sinks=(terminal,))
            assert deciding(verbose=True, asker=object(), stderr=terminal)
            # (review 38: lines said at times the tree chooses, copied by a terminal's
            # recorder after they were written)
            assert beside(verbose=True, stderr=terminal)
        os.close(master)
        assert deciding(verbose=True, asker=object(), stderr=file)
        assert deciding(verbose=True, injecting=True, stderr=pipe)
        assert not deciding(verbose=True, injecting=True, stderr=null)
        assert beside(dns=object()) and not beside(sinks=(file,))
        # (an approver hears of asks, settled asks and events at times the tree chooses,
        # and may write them where the tree maps them: red team 58)
        assert beside(asker=front_end(tells_a_process=True))
        assert not beside(asker=front_end())  # (the prompt's, ...)
        # (review 38: -v's lines, an ask no one answers, --ask-default permit's line -- said
        # at times the tree chooses, copied later by what reads a pipe or a terminal; in a
        # regular file before the tracer goes on, and never in /dev/null)
        assert beside(verbose=True, stderr=pipe)
        assert not beside(verbose=True, stderr=file) and not beside(verbose=True, stderr=null)
        assert beside(can_ask=True, stderr=pipe)
        assert beside(can_ask=True, asker=front_end(says_each_ask=True), stderr=pipe)
        assert not beside(can_ask=True, asker=front_end(), stderr=pipe)
        assert not beside(stderr=pipe)  # (nothing said)
        # (the terminal prompt: drawn while the tree is held, copied by a recorder after the
        # release -- whatever stderr is; not when the policy cannot ask)
        prompt = front_end(hold_with=lambda tracer: None)
        assert beside(can_ask=True, asker=prompt, stderr=file)
        assert not beside(asker=prompt, stderr=file)
    finally:
        for stream in (file, null, pipe):
            stream.close()
        os.close(reading)


def test_an_honest_sendmmsg_with_names_on_its_stack_runs_in_a_run_that_logs(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str]) -> None:
    """review 37: the refusal above is for messages a file's page may hold.  An honest
    sendmmsg -- two datagrams, their names on the program's stack -- sends both in a run that
    logs, as natively and as in a run that does not log, alone or beside a thread: an append
    to a file changes no anonymous page.  On main (5f5d26e) both loops refused it
    (``sendmmsg: EPERM``)."""
    program = build("progs/mmsg_named.c")
    target = tmp_path / "dsock"
    with _datagram_socket(target) as sock:
        native = attack(program, target, policy_text=None, scene=None)
        assert native.stdout.strip() == "sent 2", native
        assert _received(sock) == 2
        log = tmp_path / "run.log"
        for words in [(), ("thread",)]:  # (a task alone, then beside a thread: frozen)
            traced = attack(program, target, *words, policy_text=policy(
                permit("net-connect", unix=str(target))), scene=None, env=loop,
                options=["--log", str(log)])
            assert traced.stdout.strip() == "sent 2", (words, traced)
            assert _received(sock) == 2
    assert "sendmmsg" in log.read_text()
