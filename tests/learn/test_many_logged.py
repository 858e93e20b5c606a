"""A destination that stands for several hosts (red team 37: ``SockAddr.many``) is a fact the
decision rests on -- a refusing rule on any host matches it --, so the log keeps it: the
record of a refused datagram to the limited broadcast shows why the rule on another address
refused it, and ``policy check`` deciding a learning log's calls again decides it as the run
did (review 20: the log had ``many`` nowhere, and the check counted the send for the table's
default)."""

from __future__ import annotations

import json

from conftest import PYTHON, run_systrace

SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
try:
    s.sendto(b"hello", ("255.255.255.255", 9))
    print("sent")
except OSError as exc:
    print("refused", exc.errno)
"""

POLICY = """
default = "permit"

[[rule]]
calls = ["net-connect"]
action = "never"
errno = "EACCES"
address = "10.9.9.9"
"""


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_datagram_to_several_hosts_is_logged_and_checked_as_decided(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text(POLICY)
    log = tmp_path / "enforce.jsonl"
    r = run_systrace(["-p", str(policy), "--log", str(log), "--", PYTHON, "-c", SEND])
    assert r.stdout.strip() == "refused 13", (r.stdout, r.stderr)
    refused = [x for x in _records(log) if x.get("result") == "refused"
               and x.get("syscall") == "sendto"]
    assert refused, _records(log)
    assert refused[0]["call"]["sockaddrs"] == [
        {"family": "inet", "host": "255.255.255.255", "port": 9, "many": True}], refused[0]

    learned = tmp_path / "learned.toml"
    learn_log = tmp_path / "learn.jsonl"
    r = run_systrace(["-A", "-o", str(learned), "--log", str(learn_log), "--",
                      PYTHON, "-c", SEND])
    assert r.returncode == 0, r.stderr
    check = run_systrace(["policy", "check", str(policy), str(learn_log), "--json"])
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    hits = {rule["index"]: rule["hits"] for rule in report["rules"]}
    assert hits.get(1, 0) >= 1, report
