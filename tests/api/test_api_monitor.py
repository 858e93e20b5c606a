"""systrace_py.monitor on real processes: the documented example, handler keys, context
threading, process events, stopping only for handled calls, failing closed."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apihelpers import collect, entries, exits

import systrace_py
from systrace_py.api import HandlerMonitor, HandlerTable, handler_name, syscall_name
from systrace_py.records import ChildEvent, ExecEvent, ExitEvent, OpenCall, Syscall


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "f").write_text("first\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "g").write_text("second\n")
    return Path(os.path.realpath(tmp_path))


def test_the_example_sees_both_children_and_both_resolved_paths(files: Path) -> None:
    def on_open(ctx: list[Any], pid: int, call: OpenCall) -> list[Any]:
        ctx.append((pid, call.path))
        return ctx

    def on_child(ctx: list[Any], pid: int, event: ChildEvent) -> list[Any]:
        ctx.append(("child", pid, event.parent))
        return ctx

    seen = systrace_py.monitor(["sh", "-c", "cat f; cd d && cat g"],
                               {"openat": on_open, "open_": on_open, "@child": on_child}, [],
                               cwd=files)
    children = [(pid, parent) for tag, pid, parent in
                (s for s in seen if s[0] == "child")]
    opened = {path: pid for pid, path in (s for s in seen if s[0] != "child")}
    assert str(files / "f") in opened and str(files / "d" / "g") in opened
    shell = {parent for _, parent in children}
    assert len(children) == 2 and len(shell) == 1          # sh made both
    assert {pid for pid, _ in children} == {opened[str(files / "f")],
                                            opened[str(files / "d" / "g")]}
    assert next(iter(shell)) not in {pid for pid, _ in children}


def test_handler_keys_follow_stramon_lib() -> None:
    assert handler_name("open") == "open_" and handler_name("exit") == "exit_"
    assert handler_name("openat") == "openat"
    assert syscall_name("open_") == "open" and syscall_name("open") == "open"
    assert syscall_name("exit_") == "exit"
    with pytest.raises(ValueError, match=r"'opennat'.*did you mean 'openat'"):
        syscall_name("opennat")
    with pytest.raises(ValueError, match="same call and phase"):
        HandlerTable.parse({"open": collect, "open_": collect})
    with pytest.raises(ValueError, match="never returns"):
        HandlerTable.parse({"exit_group:exit": collect})
    with pytest.raises(ValueError, match="unknown event"):
        HandlerTable.parse({"@fork": collect})
    with pytest.raises(ValueError, match="phase"):
        HandlerTable.parse({"openat:before": collect})
    with pytest.raises(TypeError):
        HandlerTable.parse({"openat": "not a function"})  # type: ignore[dict-item]
    table = HandlerTable.parse({"openat": collect, "openat:entry": collect, "exit_group": collect,
                                "*": collect, "@exit": collect})
    assert set(table.exit) == {"openat"} and set(table.entry) == {"openat", "exit_group"}
    assert table.any_exit is collect and table.events == {"@exit": collect}


def test_the_filter_stops_only_on_handled_calls(build: Callable[..., Path],
                                                tmp_path: Path) -> None:
    calls = build("api/calls.c")
    runner = HandlerMonitor({"getuid": collect}, [])
    plan = runner.filter_plan()
    assert plan.calls["getuid"].kind == "trace"
    assert plan.calls["getpid"].kind == "allow" and plan.calls["read"].kind == "allow"
    assert runner.run([str(calls), str(tmp_path), "0", "getpids", "getuid"]) == 0
    assert [r.name for r in runner.context] == ["getuid"]
    assert runner.tracer is not None and runner.tracer.stops < 200  # not 20000 getpids


def test_context_is_threaded_through_every_handler(files: Path) -> None:
    def count(ctx: int, pid: int, call: Syscall) -> int:
        return ctx + 1

    total = systrace_py.monitor(["cat", "f", "d/g"], {"openat": count, "openat:entry": count},
                                0, cwd=files)
    opened = systrace_py.monitor(["cat", "f", "d/g"], {"openat": collect}, [], cwd=files)
    assert total == 2 * len(opened) and total >= 4


def test_each_call_reaches_its_handlers_once(build: Callable[..., Path], files: Path) -> None:
    """The engine maps its scratch area in place of the first held call of a process and
    restarts it; the restarted call must not reach the handlers again."""
    calls = build("api/calls.c")
    seen = systrace_py.monitor([str(calls), str(files), "0", "opens:f,d/g,f"],
                               {"openat": collect, "openat:entry": collect}, [])
    first = seen[0]
    assert first.is_entry and first.path.endswith("ld.so.cache")  # the process's first hold
    assert len(entries(seen, "openat", path="/etc/ld.so.cache")) == 1
    assert len(entries(seen, "openat", path=str(files / "f"))) == 2
    assert len(exits(seen, "openat", path=str(files / "f"))) == 2
    assert len(entries(seen, "openat", path=str(files / "d/g"))) == 1


def test_process_events(files: Path) -> None:
    seen = systrace_py.monitor(
        ["sh", "-c", "cat f >/dev/null; sh -c 'kill -9 $$'; exit 3"],
        {"@child": collect, "@exec": collect, "@exit": collect}, [], cwd=files)
    events = [(type(e).__name__, e.pid) for e in seen]
    main = seen[0].pid
    execs = [e for e in seen if isinstance(e, ExecEvent)]
    exits_ = {e.pid: e for e in seen if isinstance(e, ExitEvent)}
    children = [e for e in seen if isinstance(e, ChildEvent)]
    assert execs[0].pid == main and execs[0].argv[:2] == ("sh", "-c")
    assert {c.parent for c in children} == {main} and len(children) == 2
    cat = next(e for e in execs if e.argv == ("cat", "f"))
    assert cat.program == os.path.realpath("/bin/cat") and cat.previous.endswith("dash")
    killed = next(e for e in execs if e.argv[:2] == ("sh", "-c") and e.pid != main)
    assert exits_[killed.pid].signal_name == "SIGKILL" and exits_[killed.pid].code is None
    assert exits_[cat.pid].code == 0
    assert exits_[main].code == 3 and exits_[main].signal is None
    assert events[-1] == ("ExitEvent", main)  # the last to go


def test_calls_that_never_return_are_seen_at_entry(files: Path) -> None:
    seen = systrace_py.monitor(["sh", "-c", "exit 7"], {"exit_group": collect}, [])
    assert [(r.name, r.is_entry, r.args[0]) for r in seen] == [("exit_group", True, 7)]


def test_catch_all_handler_sees_every_other_call(files: Path) -> None:
    seen = systrace_py.monitor(["cat", "f"], {"*": collect, "openat": lambda c, p, r: c},
                               [], cwd=files)
    names = {r.name for r in seen}
    assert {"execve", "read", "close", "mmap", "newfstatat", "copy_file_range"} <= names
    assert "openat" not in names  # it has its own handler
    copied = [r for r in seen if r.name == "copy_file_range"]
    assert type(copied[0]) is Syscall and copied[0].result == len("first\n")
    assert next(r for r in seen if r.name == "newfstatat").info is not None  # typed records


def test_a_handler_exception_kills_the_tree_and_is_raised(files: Path) -> None:
    class Boom(Exception):
        pass

    def explode(ctx: None, pid: int, call: OpenCall) -> None:
        if call.path.endswith("/f"):
            raise Boom(call.path)
        return ctx

    started = time.monotonic()
    with pytest.raises(Boom, match="/f"):
        systrace_py.monitor(["sh", "-c", "cat f; sleep 30; touch marker"],
                            {"openat": explode}, None, cwd=files)
    assert time.monotonic() - started < 20
    time.sleep(0.2)
    assert not (files / "marker").exists()
    assert signal.getsignal(signal.SIGCHLD) in (signal.SIG_DFL, None)  # put back


def test_unknown_command_fails_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        systrace_py.monitor(["no-such-command-here"], {}, None)
    with pytest.raises(FileNotFoundError):
        systrace_py.monitor([str(tmp_path / "nothing")], {}, None)
    with pytest.raises(PermissionError):
        systrace_py.monitor([str(tmp_path)], {}, None)


def test_monitor_returns_the_exit_code_and_can_run_again(files: Path) -> None:
    runner = HandlerMonitor({"openat": collect}, [])
    assert runner.run(["sh", "-c", "exit 5"]) == 5
    assert runner.run(["sh", "-c", "kill -TERM $$"]) == 128 + signal.SIGTERM
    assert runner.run(["cat", "f"], cwd=files) == 0
    assert any(r.path == str(files / "f") for r in runner.context)
    fds = len(os.listdir("/proc/self/fd"))
    handler, wakeup = signal.getsignal(signal.SIGCHLD), signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    for _ in range(3):
        runner.run(["true"])
    assert len(os.listdir("/proc/self/fd")) <= fds  # the tracer's pipes are closed
    assert signal.getsignal(signal.SIGCHLD) == handler  # and signal state is left as it was
    assert signal.set_wakeup_fd(wakeup) == wakeup


@pytest.mark.skipif(shutil.which("nsenter") is None or os.geteuid() != 0,
                    reason="needs nsenter(1) and root")
def test_unsafe_calls_are_refused_unless_allowed_or_handled(
        capfd: pytest.CaptureFixture[str]) -> None:
    # setns into its own UTS namespace: one of the unsafe calls
    command = ["nsenter", f"--uts=/proc/{os.getpid()}/ns/uts", "true"]
    assert HandlerMonitor({}, None).run(command) == 1
    assert "Operation not permitted" in capfd.readouterr().err
    assert HandlerMonitor({}, None, allow_unsafe=True).run(command) == 0
    handled = HandlerMonitor({"setns": collect}, [])
    assert handled.run(command) == 0
    assert [r.result for r in handled.context] == [0]
