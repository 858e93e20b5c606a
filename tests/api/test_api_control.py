"""Control from a handler, on real processes: refuse, rewrite a path, rewrite a connect address
to a local server, change scalar arguments and results, read and write tracee memory, kill,
detach, stop the whole monitor."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apihelpers import collect, exits, tcp_server

import systrace_py
from systrace_py.engine import memory
from systrace_py.records import ConnectCall, ControlError, OpenCall, SockAddr, Syscall, WriteCall


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "f").write_text("first\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "g").write_text("second\n")
    return Path(os.path.realpath(tmp_path))


@pytest.fixture(scope="module")
def calls(build: Callable[..., Path]) -> Path:
    return build("api/calls.c")


@pytest.fixture(scope="module")
def probe_bin(build: Callable[..., Path]) -> Path:
    return build("progs/probe.c")


def test_a_handler_refuses_a_call(files: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def deny_f(ctx: list[Any], pid: int, call: OpenCall) -> list[Any]:
        if call.path == str(files / "f"):
            call.refuse(errno.EACCES)
        return ctx

    seen = systrace_py.monitor(["cat", "f", "d/g"],
                               {"openat:entry": deny_f, "openat": collect}, [], cwd=files)
    out, err = capfd.readouterr()
    assert out == "second\n"
    assert "f: Permission denied" in err
    refused = exits(seen, "openat", path=str(files / "f"))[0]
    assert refused.refused and refused.errno_name == "EACCES" and refused.result == -13
    assert not exits(seen, "openat", path=str(files / "d/g"))[0].refused


def test_a_refusal_can_pretend_success(calls: Path, tmp_path: Path,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    def fake(ctx: None, pid: int, call: Syscall) -> None:
        call.refuse(retval=4242)
        return ctx

    systrace_py.monitor([str(calls), str(tmp_path), "0", "getuid"], {"getuid:entry": fake},
                        None)
    assert capfd.readouterr().out == "getuid 4242\n"


def test_a_handler_rewrites_a_path(files: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def swap(ctx: list[str], pid: int, call: OpenCall) -> list[str]:
        if call.path == str(files / "f"):
            call.rewrite(path=str(files / "d" / "g"))
            ctx.append(call.path)
        return ctx

    seen = systrace_py.monitor(["cat", "f"], {"openat:entry": swap}, [], cwd=files)
    assert capfd.readouterr().out == "second\n"
    assert seen == [str(files / "f")]  # the record says what the program asked for
    assert (files / "f").read_text() == "first\n"


def test_a_handler_rewrites_a_connect_address(probe_bin: Path) -> None:
    with tcp_server() as (port, got):
        def to_local(ctx: list[Any], pid: int, call: ConnectCall) -> list[Any]:
            if call.address == SockAddr("inet", "192.0.2.1", 9):  # TEST-NET-1: goes nowhere
                call.rewrite(address=("127.0.0.1", port))
            ctx.append(call.address)
            return ctx

        runner = systrace_py.HandlerMonitor({"connect:entry": to_local,
                                             "connect": collect}, [])
        assert runner.run([str(probe_bin), "connect:192.0.2.1:9"]) == 0
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    assert got == [b"(connected)"]
    asked, done = runner.context
    assert asked == SockAddr("inet", "192.0.2.1", 9)
    assert done.result == 0 and done.address == asked  # recorded as asked, connected locally


def test_rewrites_work_without_holding(files: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def swap(ctx: None, pid: int, call: OpenCall) -> None:
        if call.path == str(files / "f"):
            call.rewrite(path=str(files / "d" / "g"))
        return ctx

    systrace_py.monitor(["cat", "f"], {"openat:entry": swap}, None, cwd=files,
                        hold_arguments=False)
    assert capfd.readouterr().out == "second\n"


def test_set_arg_changes_a_scalar_argument(calls: Path, tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    def shorter(ctx: None, pid: int, call: WriteCall) -> None:
        if call.fd == 1 and call.count == 6:
            call.set_arg(2, 3)
        return ctx

    systrace_py.monitor([str(calls), str(tmp_path), "0", "hello"], {"write:entry": shorter},
                        None)
    assert capfd.readouterr().out.startswith("helhello 3\n")


def test_set_arg_on_open_flags_holds(calls: Path, files: Path) -> None:
    """The engine rewrites held opens into openat2 from the decoded flags: a flags change must
    reach it (here O_RDONLY becomes O_WRONLY|O_TRUNC, so the file is emptied)."""
    def truncate(ctx: list[Any], pid: int, call: OpenCall) -> list[Any]:
        if call.path == str(files / "f"):
            call.set_arg(2, os.O_WRONLY | os.O_TRUNC)
        return ctx

    seen = systrace_py.monitor([str(calls), str(files), "0", "opens:f"],
                               {"openat:entry": truncate, "openat": collect}, [])
    assert (files / "f").read_text() == ""
    assert exits(seen, "openat", path=str(files / "f"))[0].result >= 0
    with pytest.raises(ControlError, match="rewrite"):
        systrace_py.monitor([str(calls), str(files), "0", "opens:f"],
                            {"openat:entry": lambda c, p, r: r.set_arg(1, 0)}, None)


def test_set_arg_next_to_a_held_path(calls: Path, tmp_path: Path) -> None:
    """mkdir's path is held (pointed at the tracer's copy) and its mode changed in one stop."""
    def private(ctx: None, pid: int, call: Syscall) -> None:
        call.set_arg(1, 0o700)
        return ctx

    systrace_py.monitor([str(calls), str(tmp_path), "0", "mkdir:new"], {"mkdir:entry": private},
                        None)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700


def test_set_arg_with_a_rewrite(calls: Path, files: Path) -> None:
    """A path rewrite and a flags change in one reply: the other file is opened for writing
    and truncated, the one asked for is untouched."""
    def elsewhere(ctx: None, pid: int, call: OpenCall) -> None:
        if call.path == str(files / "f"):
            call.rewrite(path=str(files / "d" / "g"))
            call.set_arg(2, os.O_WRONLY | os.O_TRUNC)
        return ctx

    systrace_py.monitor([str(calls), str(files), "0", "opens:f"], {"openat:entry": elsewhere},
                        None)
    assert (files / "f").read_text() == "first\n"
    assert (files / "d" / "g").read_text() == ""


def test_set_result_changes_what_the_call_returns(calls: Path, tmp_path: Path,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    def root_no_more(ctx: None, pid: int, call: Syscall) -> None:
        call.set_result(1000)
        return ctx

    systrace_py.monitor([str(calls), str(tmp_path), "0", "getuid"], {"getuid": root_no_more},
                        None)
    assert capfd.readouterr().out == "getuid 1000\n"


def test_memory_read_and_write(calls: Path, tmp_path: Path,
                               capfd: pytest.CaptureFixture[str]) -> None:
    def shout(ctx: list[bytes], pid: int, call: WriteCall) -> list[bytes]:
        if call.fd == 1:
            data = call.memory.read(call.buf, call.count)
            ctx.append(data)
            call.memory.write(call.buf, data.upper())
        return ctx

    seen = systrace_py.monitor([str(calls), str(tmp_path), "0", "hello"],
                               {"write:entry": shout}, [])
    assert capfd.readouterr().out == "HELLO\nHELLO 6\n"
    assert seen == [b"hello\n", b"hello 6\n"]


def test_read_data_at_exit(files: Path, calls: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def keep(ctx: list[bytes], pid: int, call: Any) -> list[bytes]:
        if call.fd_path == str(files / "f"):
            ctx.append(call.data())
        return ctx

    seen = systrace_py.monitor([str(calls), str(files), "0", "cat:f"], {"read": keep}, [])
    assert seen == [b"first\n"]
    assert capfd.readouterr().out == "first\n"


def test_control_errors_say_what_is_wrong(files: Path) -> None:
    def at_exit(ctx: None, pid: int, call: OpenCall) -> None:
        call.refuse()

    with pytest.raises(ControlError, match="only at a call's entry"):
        systrace_py.monitor(["cat", "f"], {"openat": at_exit}, None, cwd=files)

    def wrong_role(ctx: None, pid: int, call: OpenCall) -> None:
        call.rewrite(old="/x")

    with pytest.raises(ControlError, match="no 'old' path"):
        systrace_py.monitor(["cat", "f"], {"openat:entry": wrong_role}, None, cwd=files)

    def result_at_entry(ctx: None, pid: int, call: OpenCall) -> None:
        call.set_result(0)

    with pytest.raises(ControlError, match="only at a call's exit"):
        systrace_py.monitor(["cat", "f"], {"openat:entry": result_at_entry}, None, cwd=files)


def test_kill_from_a_handler(files: Path) -> None:
    def kill_on_g(ctx: list[Any], pid: int, call: Any) -> list[Any]:
        if isinstance(call, OpenCall) and call.path == str(files / "d/g"):
            call.kill()
        ctx.append(call)
        return ctx

    runner = systrace_py.HandlerMonitor({"openat:entry": kill_on_g, "@exit": kill_on_g}, [])
    assert runner.run(["sh", "-c", "cat d/g; touch marker"], cwd=files) == 0
    exited = [e.signal_name for e in runner.context if isinstance(e, systrace_py.ExitEvent)]
    assert exited[0] == "SIGKILL" and set(exited[1:]) == {None}  # cat; then touch and sh
    assert (files / "marker").exists()


def test_detach_stops_watching_a_process_and_its_children(files: Path) -> None:
    def watch(ctx: list[Any], pid: int, call: OpenCall) -> list[Any]:
        ctx.append(call.path)
        if call.path == str(files / "f"):
            call.detach()
        return ctx

    seen = systrace_py.monitor(["sh", "-c", "cat f d/g; cat d/g"],
                               {"openat:entry": watch, "@exit": collect}, [], cwd=files)
    paths = [s for s in seen if isinstance(s, str)]
    assert paths.count(str(files / "f")) == 1
    assert paths.count(str(files / "d/g")) == 1  # the first cat's d/g is not seen
    exited = [e for e in seen if isinstance(e, systrace_py.ExitEvent)]
    assert len(exited) == 2  # the detached cat's exit is not reported


def test_detach_covers_the_children_made_afterwards(files: Path) -> None:
    def watch(ctx: list[Any], pid: int, call: Any) -> list[Any]:
        ctx.append(call)
        if isinstance(call, systrace_py.ExecEvent) and call.argv[:2] == ("sh", "-c"):
            call.detach()
        return ctx

    seen = systrace_py.monitor(["sh", "-c", "cat f; cat d/g"],
                               {"openat": watch, "@exec": watch, "@child": watch}, [],
                               cwd=files)
    assert len(seen) == 1 and isinstance(seen[0], systrace_py.ExecEvent)
    assert (files / "f").exists()


def test_stop_kills_the_tree_and_returns(files: Path) -> None:
    def stop_at_f(ctx: list[str], pid: int, call: OpenCall) -> list[str]:
        ctx.append(call.path)
        if call.path == str(files / "f"):
            call.stop()
        return ctx

    started = time.monotonic()
    seen = systrace_py.monitor(["sh", "-c", "cat f; cat d/g; sleep 30; touch marker"],
                               {"openat:entry": stop_at_f, "@exit": collect}, [], cwd=files)
    assert time.monotonic() - started < 20
    assert seen[-1] == str(files / "f")  # nothing after the stop, exits included
    time.sleep(0.2)
    assert not (files / "marker").exists()
    assert memory.open_descriptors() == 0  # the killed processes' descriptors were given back


def test_stop_without_kill_lets_the_command_finish_unobserved(files: Path) -> None:
    def stop_at_f(ctx: list[str], pid: int, call: OpenCall) -> list[str]:
        ctx.append(call.path)
        if call.path == str(files / "f"):
            call.stop(kill=False)
        return ctx

    runner = systrace_py.HandlerMonitor({"openat:entry": stop_at_f, "@exit": collect}, [])
    code = runner.run(["sh", "-c", "cat f; cat d/g >/dev/null; touch marker"], cwd=files)
    assert code == 0 and (files / "marker").exists()
    assert runner.context[-1] == str(files / "f")
    assert memory.open_descriptors() == 0  # nor kept for the processes let go


def test_stop_from_an_event_handler(files: Path) -> None:
    def stop_at_second_exec(ctx: list[Any], pid: int, event: Any) -> list[Any]:
        ctx.append(event)
        if len(ctx) == 2:
            event.stop()
        return ctx

    seen = systrace_py.monitor(["sh", "-c", "cat f; sleep 30"],
                               {"@exec": stop_at_second_exec, "@exit": collect}, [],
                               cwd=files)
    assert len(seen) == 2


def test_a_handler_rewrites_an_exec(files: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def echo_instead(ctx: list[Any], pid: int, call: Any) -> list[Any]:
        if call.path == os.path.realpath("/bin/cat"):
            call.rewrite(path="/bin/echo")
        ctx.append(call)
        return ctx

    seen = systrace_py.monitor(["sh", "-c", "cat f"],
                               {"execve:entry": echo_instead, "@exec": collect}, [],
                               cwd=files)
    assert capfd.readouterr().out == "f\n"  # echo ran with cat's argv
    ran = [e for e in seen if isinstance(e, systrace_py.ExecEvent)]
    assert ran[-1].argv == ("cat", "f")
    assert ran[-1].program == "/bin/echo"


def test_changed_arguments_meet_the_engine_guards(calls: Path, tmp_path: Path,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    """Turning a read-only open of /proc/self/mem into a write is refused, as the engine
    refuses such an open made directly."""
    def to_write(ctx: list[Any], pid: int, call: OpenCall) -> list[Any]:
        if call.path_as_given == "/proc/self/mem":
            call.set_arg(2, os.O_RDWR)
        return ctx

    systrace_py.monitor([str(calls), str(tmp_path), "0", "opens:/proc/self/mem"],
                        {"openat:entry": to_write, "openat": collect}, [])
    assert capfd.readouterr().out == "/proc/self/mem -13\n"  # EACCES
