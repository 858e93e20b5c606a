"""Rules on host names, through real lookups: a DNS server on loopback (dns_lib), a private
/etc/resolv.conf (a mount namespace), two names on two loopback addresses, a traced Python
client that resolves with getaddrinfo (glibc's resolver) and connects.

The client prints one line per target: ``NAME resolve-error CODE``, ``NAME connected`` or
``NAME refused ERRNO``; ``@ADDRESS`` connects to an address without any lookup."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from dns_lib import SERVER, DnsServer, dns_server, listeners, private_resolv_conf

from conftest import PYTHON, run_systrace

GOOD, BAD = "127.0.0.2", "127.0.0.3"
LIAR = "127.53.0.2"
World = tuple[Path, list[str], int, DnsServer]  # tmp, command prefix, listeners' port, server
NAMES = {"good.test": GOOD, "bad.test": BAD, "api.example.test": GOOD}

CLIENT = r"""
import errno, socket, struct, sys

def ask(server, name):  # a lookup by hand, sent to a server of the program's choosing
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((server, 53))
    s.send(query)
    reply = s.recv(512)
    return socket.inet_ntoa(reply[-4:])

port = int(sys.argv[1])
for target in sys.argv[2:]:
    if target.startswith("@"):
        address = target[1:]
    elif "/" in target:
        server, name = target.split("/")
        address = ask(server, name)
    else:
        try:
            address = socket.getaddrinfo(target, port, socket.AF_INET,
                                         socket.SOCK_STREAM)[0][4][0]
        except socket.gaierror as exc:
            code = {socket.EAI_NONAME: "EAI_NONAME", socket.EAI_AGAIN: "EAI_AGAIN"}.get(
                exc.errno, str(exc.errno))
            print(target, "resolve-error", code, flush=True)
            continue
    s = socket.socket()
    try:
        s.connect((address, port))
        print(target, "connected", address, flush=True)
    except OSError as exc:
        print(target, "refused", errno.errorcode.get(exc.errno, exc.errno), flush=True)
    finally:
        s.close()
"""

#: every policy lets the lookups reach the name server (its connect is a connect too)
DNS_ALLOWED = """
[[rule]]
calls = ["net-connect"]
port = 53
action = "permit"
"""


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with dns_server(NAMES) as found:
        yield found


@pytest.fixture(scope="module")
def liar() -> Iterator[DnsServer]:
    """A name server of the program's own choosing, saying good.test is the other address."""
    with dns_server({"good.test": BAD}, address=LIAR) as found:
        yield found


@pytest.fixture
def world(tmp_path: Path, server: DnsServer) -> Iterator[World]:
    prefix = private_resolv_conf(tmp_path)
    server.queries.clear()
    with listeners((GOOD, BAD)) as port:
        yield tmp_path, prefix, port, server


def run(world: World, policy: str, *targets: str, options: tuple[str, ...] = ()
        ) -> tuple[dict[str, list[str]], str, list[dict[str, object]]]:
    tmp, prefix, port, _ = world
    policy_file = tmp / "policy.toml"
    policy_file.write_text(textwrap.dedent(policy))
    client = tmp / "client.py"
    client.write_text(CLIENT)
    log = tmp / "log.jsonl"
    result = run_systrace(["-p", str(policy_file), "--log", str(log), *options, "--",
                           PYTHON, "-S", str(client), str(port), *targets], prefix=prefix,
                          timeout=120)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return lines, result.stderr, records


def test_native_control(world: World) -> None:
    """Without systrace, both names resolve and both connects succeed (the setup works)."""
    tmp, prefix, port, server = world
    client = tmp / "client.py"
    client.write_text(CLIENT)
    out = subprocess.run([*prefix, PYTHON, "-S", str(client), str(port), "good.test",
                          "bad.test"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:2] == [f"good.test connected {GOOD}",
                                          f"bad.test connected {BAD}"], out.stderr
    assert "good.test" in server.queries


def test_refused_name_is_no_such_name(world: World) -> None:
    """A never rule on a host: its lookup answers "no such name" (the server is never
    asked); the other name resolves and connects."""
    lines, _, records = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "bad.test"
        action = "never"
        """, "good.test", "bad.test")
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["resolve-error", "EAI_NONAME"]
    assert "bad.test" not in world[3].queries
    resolves = {r["name"]: r for r in records if r["event"] == "resolve"}
    assert resolves["bad.test"]["result"] == "refused"
    assert resolves["good.test"]["addresses"] == [GOOD]


def test_dns_refused_pass_refuses_the_connect(world: World) -> None:
    """dns_refused = "pass": the name resolves, the connect to it is refused, and the log
    shows the host with the address."""
    lines, stderr, records = run(world, 'dns_refused = "pass"\n' + DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "bad.test"
        action = "never"
        errno = "ECONNREFUSED"
        """, "good.test", "bad.test", options=("-v",))
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["refused", "ECONNREFUSED"]
    refused = [r for r in records if r["event"] == "syscall" and r["result"] == "refused"]
    assert [(r["args"]["address"], r["args"]["host"]) for r in refused] == \
        [(f"{BAD}:{world[2]}", "bad.test")]
    assert f"{BAD}:{world[2]} (bad.test)" in stderr


def test_permit_by_name_refuse_the_rest(world: World) -> None:
    """Connects refused but to permitted hosts (a ``*.domain`` pattern too): the names'
    connects are permitted; the other name's, and a connect to the same address without a
    lookup (no name observed for it ... yet), are refused: address rules only."""
    lines, _, _ = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = ["good.test", "*.example.test"]
        action = "permit"

        [[rule]]
        calls = ["connect"]         # (sends on a connected socket have no address to match)
        action = "never"
        """, f"@{GOOD}", "api.example.test", "bad.test")
    assert lines[f"@{GOOD}"] == ["refused", "EPERM"]        # no name seen for it then
    assert lines["api.example.test"][0] == "connected"
    assert lines["bad.test"] == ["refused", "EPERM"]


def test_address_without_a_name_meets_address_rules_only(world: World) -> None:
    """A connect to the refused name's address, made without a lookup, is not matched by
    the host rule (no name was observed for it): the default permits it.  The documented
    limit -- and an address rule does refuse it."""
    lines, _, _ = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "bad.test"
        action = "never"
        """, f"@{BAD}")
    assert lines[f"@{BAD}"][0] == "connected"
    lines, _, _ = run(world, DNS_ALLOWED + f"""
        [[rule]]
        calls = ["net-connect"]
        address = "{BAD}"
        action = "never"
        """, f"@{BAD}", "bad.test")
    assert lines[f"@{BAD}"] == ["refused", "EPERM"]
    assert lines["bad.test"] == ["refused", "EPERM"]


def test_two_names_on_one_address_the_strictest_decides(world: World) -> None:
    """good.test and api.example.test are one address: once both were looked up, a connect
    to it (even without a lookup) stands for either, and a never rule on one refuses it
    (port-limited, so the lookup itself passes)."""
    lines, _, _ = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "api.example.test"
        port = "1-65535"
        action = "never"
        """, "good.test", "api.example.test", f"@{GOOD}")
    assert lines["good.test"][0] == "connected"       # one name known for the address then
    assert lines["api.example.test"] == ["refused", "EPERM"]
    assert lines[f"@{GOOD}"] == ["refused", "EPERM"]  # both names known: the strictest


def test_approver_is_asked_with_the_host(world: World) -> None:
    """An ask rule on connects: the approver's question carries the host the program
    resolved with the address, and a scripted approver answering by host decides."""
    tmp = world[0]
    script = tmp / "answers.toml"
    script.write_text('[[answer]]\nhost = "good.test"\nanswer = "permit"\n\n'
                      '[[answer]]\nanswer = "deny"\nerrno = "EACCES"\n')
    approver = f"{PYTHON} -m systrace_py.approver --rules {script}"
    lines, _, records = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["connect"]
        address = "127.0.0.0/8"
        port = "1024-65535"
        action = "ask"
        """, "good.test", "bad.test", options=("--ask-via", f"exec:{approver}"))
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["refused", "EACCES"]
    answered = {r["args"].get("host"): r["result"] for r in records
                if r["event"] == "syscall" and r["reason"] == "answer"}
    assert answered == {"good.test": "permitted", "bad.test": "refused"}


def test_learning_writes_host_rules(world: World) -> None:
    """-A: a connect to an address the program resolved a name to is learned as a rule on
    the name (the name server's own connect stays an address rule); the learned policy then
    lets the name through, and not the other address."""
    tmp, prefix, port, _ = world
    client = tmp / "client.py"
    client.write_text(CLIENT)
    learned = tmp / "learned.toml"
    result = run_systrace(["-A", "-o", str(learned), "--", PYTHON, "-S", str(client),
                           str(port), "good.test"], prefix=prefix, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("good.test connected")
    text = learned.read_text()
    assert 'host = "good.test"' in text
    assert f'address = "{GOOD}"' not in text
    assert 'address = "127.53.0.1"' in text  # the lookups' own connect
    again = run_systrace(["-p", str(learned), "--", PYTHON, "-S", str(client), str(port),
                          "good.test", f"@{BAD}"], prefix=prefix, timeout=120)
    assert again.stdout.splitlines() == [f"good.test connected {GOOD}", f"@{BAD} refused EPERM"
                                         ], again.stderr


def test_ask_at_resolution(world: World) -> None:
    """An ask rule on a host alone asks when the program looks the name up ("resolve"),
    naming the process: the approver's permit lets the lookup and the connect through, its
    deny answers "no such name".  (An ask rule with a port asks at the connect:
    test_approver_is_asked_with_the_host.)"""
    tmp = world[0]
    script = tmp / "answers.toml"
    questions = tmp / "questions.jsonl"
    script.write_text('[[answer]]\nsyscall = "resolve"\nhost = "good.test"\n'
                      'answer = "permit"\n\n[[answer]]\nanswer = "deny"\n')
    approver = tmp / "approver.sh"
    approver.write_text(f"#!/bin/sh\ntee {questions} | {PYTHON} -m systrace_py.approver"
                        f" --rules {script}\n")
    approver.chmod(0o755)
    lines, stderr, records = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = ["good.test", "bad.test"]
        action = "ask"
        """, "good.test", "bad.test", options=("--ask-via", f"exec:{approver}", "-v"))
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["resolve-error", "EAI_NONAME"]
    asked = [json.loads(line) for line in questions.read_text().splitlines()]
    asks = [(q["syscall"], q["host"], q["program"].rsplit("/", 1)[-1].startswith("python"))
            for q in asks_of(asked)]
    assert asks == [("resolve", "good.test", True), ("resolve", "bad.test", True)]
    assert "refused resolving bad.test" in stderr
    assert "bad.test" not in world[3].queries
    resolves = {r["name"]: r["result"] for r in records if r["event"] == "resolve"}
    assert resolves == {"good.test": "resolved", "bad.test": "refused"}
    # "permit" remembers (the narrowest scope: the name): the connect is not asked again
    connect = next(r for r in records if r["event"] == "syscall"
                   and r["args"].get("host") == "good.test")
    assert connect["result"] == "permitted" and connect["rule"]["host"] == "good.test"


def test_a_kill_answered_at_resolution_kills_the_asking_process(world: World) -> None:
    """A "kill" answer to an ask at a lookup kills the process that looked the name up
    (SIGKILL: the run ends 137, nothing after its lookup printed).  The answer comes on
    another thread than the tracer's: the kill is sent only while the tracer still traces
    that pid (a pid reaped meanwhile may be any process's; red team 12)."""
    tmp, prefix, port, _ = world
    script = tmp / "answers.toml"
    script.write_text('[[answer]]\nsyscall = "resolve"\nhost = "bad.test"\n'
                      'answer = "kill"\n\n[[answer]]\nanswer = "permit"\n')
    approver = tmp / "approver.sh"
    approver.write_text(f"#!/bin/sh\nexec {PYTHON} -m systrace_py.approver --rules {script}\n")
    approver.chmod(0o755)
    policy_file = tmp / "policy.toml"
    policy_file.write_text(textwrap.dedent(DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = ["good.test", "bad.test"]
        action = "ask"
        """))
    client = tmp / "client.py"
    client.write_text(CLIENT)
    result = run_systrace(["-p", str(policy_file), "--ask-via", f"exec:{approver}", "--",
                           PYTHON, "-S", str(client), str(port), "good.test", "bad.test",
                           "good.test"], prefix=prefix, timeout=120)
    assert result.returncode == 128 + signal.SIGKILL, result
    assert result.stdout.splitlines() == [f"good.test connected {GOOD}"], result


def asks_of(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    return [m for m in messages if m.get("type") == "ask"]


def test_a_name_server_of_the_programs_choosing_is_not_believed(world: World,
                                                                liar: DnsServer) -> None:
    """A program that asks a server of its own (which says good.test is the other address)
    gets that answer, but systrace does not believe it: the connect has no name and meets
    address rules only -- refused here.  The same lookup by hand sent to the resolv.conf
    server is observed (the control: the client's own lookups are seen when they go there)."""
    lines, _, records = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "good.test"
        action = "permit"

        [[rule]]
        calls = ["connect"]
        action = "never"
        """, f"{LIAR}/good.test", f"{SERVER}/good.test")
    assert lines[f"{LIAR}/good.test"] == ["refused", "EPERM"]
    assert lines[f"{SERVER}/good.test"] == ["connected", GOOD]
    assert "good.test" in liar.queries  # (it was asked, unobserved)
    assert [r["server"] for r in records if r["event"] == "resolve"] == [f"{SERVER}:53"]


def test_lookups_over_tcp(world: World, server: DnsServer) -> None:
    """glibc asking over TCP (``options use-vc``): redirected and observed the same way --
    the refused name is no such name, the permitted one connects by its name."""
    tmp, _, port, _ = world
    prefix = private_resolv_conf(tmp, "use-vc")
    world = (tmp, prefix, port, server)
    server.tcp_queries.clear()
    lines, _, _ = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "bad.test"
        action = "never"

        [[rule]]
        calls = ["net-connect"]
        host = "good.test"
        action = "permit"

        [[rule]]
        calls = ["connect"]
        action = "never"
        """, "good.test", "bad.test")
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["resolve-error", "EAI_NONAME"]
    assert server.tcp_queries == ["good.test"]


def test_ask_at_resolution_with_nobody_to_ask_refuses(world: World) -> None:
    """-a: an ask rule on a host has nobody to ask at the lookup: refused ("no such name"),
    and said; a name no rule asks about resolves."""
    lines, stderr, _ = run(world, DNS_ALLOWED + """
        [[rule]]
        calls = ["net-connect"]
        host = "bad.test"
        action = "ask"
        """, "good.test", "bad.test", options=("-a",))
    assert lines["good.test"][0] == "connected"
    assert lines["bad.test"] == ["resolve-error", "EAI_NONAME"]
    assert "refused resolving bad.test" in stderr and "no one can be asked" in stderr


def test_two_names_on_one_address_one_redirected_decide_together(world: World) -> None:
    """good.test and api.example.test are one address; a rule sends the connects to
    api.example.test elsewhere (a redirect to an address where nothing listens).  Once both
    names were looked up, a connect to the address is decided once per name: one permits as
    it is, one permits redirected -- and the first decision won, whichever it was: the
    connect to good.test went where api.example.test's rule sends it (ECONNREFUSED), or, the
    names the other way round, one to api.example.test reached the address itself (red team
    33).  Decisions that disagree on their redirect refuse the call now (EPERM); before both
    names are known, api.example.test is redirected."""
    _, _, port, _ = world
    lines, _, _ = run(world, DNS_ALLOWED + f"""
        [[rule]]
        calls = ["net-connect"]
        host = "api.example.test"
        port = "1-65535"
        action = "permit"
        redirect = "127.0.0.9:{port}"
        """, "api.example.test", "good.test", f"@{GOOD}")
    assert lines["api.example.test"] == ["refused", "ECONNREFUSED"], lines  # redirected
    assert lines["good.test"] == ["refused", "EPERM"], lines
    assert lines[f"@{GOOD}"] == ["refused", "EPERM"], lines


def test_two_names_on_one_address_one_redirected_one_asked_refuse(world: World) -> None:
    """good.test and api.example.test are one address; a rule sends the connects to
    api.example.test elsewhere, and connects to good.test are asked (an approver permits
    them).  Once both names were looked up, a connect to the address is decided once per
    name: one permits redirected, one asks -- the strictest, an ask, was asked, and the
    answer ran the call as it was written, the redirect lost: the connect reached the
    address api.example.test's rule sends elsewhere (review 19; within one table's decision
    an ask and a redirect refuse the call since red team 33).  Now such decisions refuse it
    (EPERM) without asking; before both names are known, api.example.test is redirected."""
    tmp, _, port, _ = world
    script = tmp / "answers.toml"
    script.write_text('[[answer]]\nanswer = "permit"\n')
    approver = f"{PYTHON} -m systrace_py.approver --rules {script}"
    lines, _, _ = run(world, DNS_ALLOWED + f"""
        [[rule]]
        calls = ["net-connect"]
        host = "api.example.test"
        port = "1-65535"
        action = "permit"
        redirect = "127.0.0.9:{port}"

        [[rule]]
        calls = ["net-connect"]
        host = "good.test"
        port = "1-65535"
        action = "ask"
        """, "api.example.test", "good.test", f"@{GOOD}",
        options=("--ask-via", f"exec:{approver}"))
    assert lines["api.example.test"] == ["refused", "ECONNREFUSED"], lines  # redirected
    assert lines["good.test"] == ["refused", "EPERM"], lines
    assert lines[f"@{GOOD}"] == ["refused", "EPERM"], lines


def test_a_name_server_without_tcp_is_said(tmp_path: Path) -> None:
    """systrace's resolver asks the name server over TCP only (red team 29); a server that
    answers UDP alone -- a sandbox's or a router's, its TCP port 53 closed or some proxy --
    answers the program natively and fails every lookup of a run that watches DNS, `-A`
    among them: `-A -- pip install six` learned nothing but "Temporary failure in name
    resolution" (newuser18), and nothing said that systrace was why.  The control resolves
    and connects; traced, the lookup still fails (the resolver does not fall back to UDP),
    and systrace says once which server gave no answer over TCP, and where it is explained."""
    udp_only = "127.53.0.4"
    with dns_server({"good.test": GOOD}, address=udp_only, tcp=False) as server:
        prefix = private_resolv_conf(tmp_path, nameserver=udp_only)
        client = tmp_path / "client.py"
        client.write_text(CLIENT)
        with listeners((GOOD,)) as port:
            command = [PYTHON, "-S", str(client), str(port), "good.test", "good.test"]
            control = subprocess.run([*prefix, *command], capture_output=True, text=True,
                                     timeout=60)
            assert control.stdout.splitlines() == [f"good.test connected {GOOD}"] * 2, \
                control.stderr
            assert server.queries and not server.tcp_queries
            result = run_systrace(["-A", "-o", str(tmp_path / "learned.toml"), "--",
                                   *command], prefix=prefix, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["good.test resolve-error EAI_AGAIN"] * 2
    said = [line for line in result.stderr.splitlines() if "gave no answer over TCP" in line]
    assert said == [f'systrace: the name server {udp_only}:53 gave no answer over TCP: the '
                    "traced programs' lookups through it get \"server failure\" (systrace's "
                    "resolver, which watches DNS for host rules and -A, asks over TCP only: "
                    'docs/policy.md, "Host names")'], result.stderr
