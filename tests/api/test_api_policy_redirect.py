"""Argument replacement in policy files (``redirect``), end to end through the systrace command:
the program asks for one file or address and gets another, and the log says so (once per
call, even for the first held call of a process, which the engine restarts after mapping its
scratch area)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from apihelpers import tcp_server, unix_server


@pytest.fixture(scope="module")
def probe_bin(build: Callable[..., Path]) -> Path:
    return build("progs/probe.c")


def _log(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cat_etc_hostname_prints_another_file(traced, tmp_path: Path) -> None:
    other = tmp_path / "other-hostname"
    other.write_text("not-the-hostname\n")
    log = tmp_path / "log.jsonl"
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/etc/hostname"
        action = "permit"
        redirect = "{other}"
    """
    r = traced.run(policy, "cat", "/etc/hostname", options=("-E", str(log)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "not-the-hostname\n"
    assert Path("/etc/hostname").read_text() != r.stdout
    logged = [e for e in _log(log) if e.get("redirect")]
    assert len(logged) == 1
    assert logged[0]["args"] == {"path": "/etc/hostname", "flags": "O_RDONLY"}
    assert logged[0]["redirect"] == str(other) and logged[0]["result"] == "permitted"
    # the same policy without the redirect prints the real file
    r = traced.run(policy.replace(f'redirect = "{other}"', ""), "cat", "/etc/hostname")
    assert r.stdout == Path("/etc/hostname").read_text()


def test_redirect_with_a_variable_and_a_glob_rule(traced, tmp_path: Path) -> None:
    (tmp_path / "real.conf").write_text("real\n")
    (tmp_path / "test.conf").write_text("test\n")
    policy = """
        default = "permit"
        [[rule]]
        calls = ["open", "openat"]
        path = "$CWD/real.*"
        action = "permit"
        redirect = "$CWD/test.conf"
    """
    r = traced.run(policy, "cat", "real.conf", cwd=tmp_path)
    assert r.stdout == "test\n", r.stderr


def test_a_write_is_redirected(traced, tmp_path: Path) -> None:
    asked, got = tmp_path / "asked", tmp_path / "got"
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{asked}"
        action = "permit"
        redirect = "{got}"
    """
    r = traced.run(policy, "sh", "-c", f"echo written > {asked}")
    assert r.returncode == 0, r.stderr
    assert not asked.exists() and got.read_text() == "written\n"


@pytest.mark.parametrize(("target", "listen_host", "redirect"), [
    ("connect:192.0.2.1:9", "127.0.0.1", "127.0.0.1:{port}"),
    ("connect6:2001:db8::1:9", "::1", "[::1]:{port}"),
])
def test_connect_is_redirected_to_a_local_server(traced, probe_bin: Path, target: str,
                                                 listen_host: str, redirect: str,
                                                 tmp_path: Path) -> None:
    address = "192.0.2.1" if "6" not in target.split(":")[0] else "2001:db8::1"
    log = tmp_path / "log.jsonl"
    with tcp_server(listen_host) as (port, got):
        policy = f"""
            default = "permit"
            [[rule]]
            calls = ["connect"]
            address = "{address}"
            port = 9
            action = "permit"
            redirect = "{redirect.format(port=port)}"
        """
        r = traced.run(policy, str(probe_bin), target, options=("-E", str(log)))
        _wait_for(got)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("-> ok")
    assert got == [b"(connected)"]
    logged = [e for e in _log(log) if e.get("redirect")]
    assert {e["redirect"] for e in logged} == {redirect.format(port=port)}
    assert all(e["syscall"] == "connect" and e["args"] == {"address": f"{address}:9"
                                                           if ":" not in address else
                                                           f"[{address}]:9"}
               for e in logged)


def test_a_redirected_connect_is_logged_once(traced, probe_bin: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with tcp_server() as (port, got):
        policy = f"""
            default = "permit"
            [[rule]]
            calls = ["connect"]
            address = "192.0.2.1"
            action = "permit"
            redirect = "127.0.0.1:{port}"
        """
        traced.run(policy, str(probe_bin), "connect:192.0.2.1:9", options=("-E", str(log)))
        _wait_for(got)
    assert len([e for e in _log(log) if e.get("redirect")]) == 1


def test_connect_to_a_unix_socket_is_redirected(traced, probe_bin: Path,
                                                tmp_path: Path) -> None:
    real = tmp_path / "real.sock"
    with unix_server(real) as got:
        policy = f"""
            default = "permit"
            [[rule]]
            calls = ["connect"]
            unix = "/nonexistent/app.sock"
            action = "permit"
            redirect = "unix:{real}"
        """
        r = traced.run(policy, str(probe_bin), "unix:/nonexistent/app.sock")
        _wait_for(got)
    assert r.stdout == "unix /nonexistent/app.sock -> ok\n", r.stderr
    assert got == [True]


def test_an_exec_is_redirected(traced) -> None:
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["exec"]
        path = "{os.path.realpath('/bin/false')}"
        action = "permit"
        redirect = "{os.path.realpath('/bin/true')}"
    """
    r = traced.run(policy, "sh", "-c", "/bin/false")
    assert r.returncode == 0, r.stderr


def test_a_rename_target_is_redirected(traced, probe_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("moved\n")
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/b"
        action = "permit"
        redirect = "{tmp_path}/c"
    """
    r = traced.run(policy, str(probe_bin), f"rename:{tmp_path}/a:{tmp_path}/b")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c").read_text() == "moved\n"


def test_a_read_write_open_is_redirected(traced, tmp_path: Path) -> None:
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/asked"
        action = "permit"
        redirect = "{tmp_path}/got"
    """
    r = traced.run(policy, "sh", "-c", f"exec 3<>{tmp_path}/asked; echo x >&3")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "got").read_text() == "x\n"


def test_both_paths_of_a_rename_are_redirected(traced, probe_bin: Path, tmp_path: Path) -> None:
    """One rule redirects the old path, another the new one: the call gets both."""
    (tmp_path / "real-a").write_text("moved\n")
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/a"
        action = "permit"
        redirect = "{tmp_path}/real-a"
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/b"
        action = "permit"
        redirect = "{tmp_path}/real-b"
    """
    r = traced.run(policy, str(probe_bin), f"rename:{tmp_path}/a:{tmp_path}/b")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "real-b").read_text() == "moved\n"
    assert not (tmp_path / "real-a").exists() and not (tmp_path / "b").exists()


def test_a_redirect_decided_by_a_later_check_is_logged(traced, probe_bin: Path,
                                                        tmp_path: Path) -> None:
    (tmp_path / "a").write_text("moved\n")
    log = tmp_path / "log.jsonl"
    policy = f"""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "{tmp_path}/b"
        action = "permit"
        redirect = "{tmp_path}/c"
    """
    r = traced.run(policy, str(probe_bin), f"rename:{tmp_path}/a:{tmp_path}/b",
                   options=("-E", str(log)))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c").read_text() == "moved\n"  # redirected, as above
    logged = [e for e in _log(log) if e.get("redirect")]
    assert len(logged) == 1 and logged[0]["redirect"] == f"{tmp_path}/c", logged


def _wait_for(got: list[object]) -> None:
    import time

    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
