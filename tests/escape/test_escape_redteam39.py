"""Red team 39: an outsider at host names and approvers (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 39").  The host-name attacks use
the test name server of tests/engine/dns_lib.py (a private /etc/resolv.conf in a mount
namespace: root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, scene_env

from conftest import PYTHON

GOOD, EVIL = "127.0.0.2", "127.0.0.4"
#: OWN is a name of the program's own zone: its answer is GOOD's address and EVIL; it sorts
#: before good.test, so it is the first of the address's names
NAMES = {"good.test": GOOD, "a.own.test": f"{GOOD},{EVIL}"}

ASK_CONNECTS = """\
[[rule]]
calls = ["net-connect"]
port = 53
action = "permit"

[[rule]]
calls = ["connect"]
address = "127.0.0.0/8"
port = "1024-65535"
action = "ask"
"""


@pytest.mark.parametrize("loop", ["python", "native"])
def test_an_answer_of_scope_name_is_not_saved_for_a_name_the_approver_did_not_mean(
        build, tmp_path: Path, loop: str) -> None:
    """An address two names were looked up for is asked about with both (``host``: a list);
    an approver that permits ``good.test`` by name (``scope = "name"``) got a rule on the
    *first* name of the address -- ``a.own.test``, a name of the program's own zone that it
    pointed at good.test's address and at EVIL.  host_scope.c looks both up, connects to
    good.test's address (the scripted approver's rule on host good.test matches, one of the
    names), then to EVIL, which only a.own.test names: on main it connected unasked (the
    remembered rule ``host = "a.own.test"``, saved with the policy), in both loops.
    Control: natively the program connects to EVIL.  Now a scope on a name is offered only
    for an address one name was looked up for: with several, whichever name it named, an
    answer could mean another (the approver's answer gets an ``error``, the call refused),
    and the connect to EVIL is asked about (refused by the approver)."""
    from engine.dns_lib import dns_server, listeners, private_resolv_conf

    program = build("escape/host_scope.c")
    prefix = private_resolv_conf(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(ASK_CONNECTS)
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nhost = "good.test"\nanswer = "permit"\nscope = "name"\n\n'
                       '[[answer]]\nanswer = "deny-now"\nerrno = "EACCES"\n')
    approver = f"{PYTHON} -m systrace_py.approver --rules {answers}"
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with dns_server(NAMES), listeners((GOOD, EVIL)) as port:
        args = [str(program), "good.test", "a.own.test", EVIL, str(port)]
        control = subprocess.run([*prefix, *args], capture_output=True, text=True,
                                 timeout=60, check=False)
        assert control.stdout.splitlines()[-1].startswith("ESCAPED: connected to"), control
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--ask-via",
                                 f"exec:{approver}", "--", *args], capture_output=True,
                                text=True, timeout=300, check=False, env=env)
    assert f"a.own.test is {EVIL}" in traced.stdout, traced
    assert "ESCAPED" not in traced.stdout, traced
    assert f"BLOCKED: the connect to {EVIL} was refused (EACCES)" in traced.stdout, traced


#: a name with the secret in it: what a lookup the program makes unasked carries out
SECRET_NAME = "s3cr3t-7f1d9a42.own.test"

ASK_LOOKUPS = """\
[[rule]]
calls = ["net-connect"]
port = 53
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "*"
action = "ask"
"""


@pytest.mark.parametrize("loop", ["python", "native"])
def test_an_answer_of_scope_name_to_a_lookup_of_a_wildcard_is_no_rule_on_a_domain(
        build, tmp_path: Path, loop: str) -> None:
    """An ``ask`` on every host asks at each lookup, so no name leaves unasked.  host_wild.c
    looks up the literal name ``*.own.test`` (a zone with a wildcard record answers it), and
    the approver permits that name (``scope = "name"``): the rule remembered was ``host =
    "*.own.test"`` -- every name below own.test -- and the program's next lookup,
    ``s3cr3t-....own.test``, reached the name server unasked (ESCAPED on main, both loops;
    the approver's fallback refuses every other name).  Control: natively both names are
    answered.  Now a name holding ``*`` is not offered as itself (as learning does not write
    it, red team 28): the answer gets an ``error``, and the second lookup is asked about
    and refused."""
    from engine.dns_lib import dns_server, private_resolv_conf

    program = build("escape/host_wild.c")
    prefix = private_resolv_conf(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(ASK_LOOKUPS)
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nhost = "[*].own.test"\nanswer = "permit"\n'
                       'scope = "name"\n\n[[answer]]\nanswer = "deny-now"\n')
    approver = f"{PYTHON} -m systrace_py.approver --rules {answers}"
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with dns_server({"*.own.test": EVIL, SECRET_NAME: EVIL}) as server:
        args = [str(program), "*.own.test", SECRET_NAME]
        control = subprocess.run([*prefix, *args], capture_output=True, text=True,
                                 timeout=60, check=False)
        assert control.stdout.splitlines()[-1].startswith(f"ESCAPED: {SECRET_NAME}"), control
        server.queries.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--ask-via",
                                 f"exec:{approver}", "--", *args], capture_output=True,
                                text=True, timeout=300, check=False, env=env)
        asked = list(server.queries)
    assert "ESCAPED" not in traced.stdout, traced
    assert f"BLOCKED: {SECRET_NAME} was not answered" in traced.stdout, traced
    assert SECRET_NAME not in asked, (asked, traced)


def test_a_query_from_a_socket_like_another_tables_is_decided_by_its_senders_table(
        build, tmp_path: Path) -> None:
    """systrace's resolver decides a query by the tables of the traced processes holding
    the socket it came from (red team 20), found by its local *port* in /proc/net/udp and
    each process's /proc/PID/fd -- the leader's descriptor table.  dns_hidden.c: the parent
    (main table, any name) looks ``good.test`` up and keeps its socket (127.0.0.1:P); its
    child, a program whose table refuses ``bad.test``, asks for ``bad.test`` at the
    parent's resolver port from a thread that unshared its descriptors, on a socket bound to
    127.0.0.2:P: the only process found "holding" port P was the parent, and the name
    server was asked and answered (ESCAPED on main).  Control: natively the child resolves
    ``bad.test``.  Now a holder's socket must have the query's source address (or a
    wildcard) as well as its port, and every thread's descriptor table is read: the query is
    refused (the child's table, or no holder)."""
    from engine.dns_lib import dns_server, private_resolv_conf

    program = build("escape/dns_hidden.c")
    child = tmp_path / "dns_child"
    child.write_bytes(program.read_bytes())
    child.chmod(0o755)
    prefix = private_resolv_conf(tmp_path)
    with dns_server({"good.test": GOOD, "bad.test": EVIL}) as server:
        argv = [str(program), "parent", "good.test", str(child), "bad.test"]
        native = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60,
                                check=False)
        assert "ESCAPED: the name server answered bad.test" in native.stdout, native
        server.queries.clear()
        policy_file = tmp_path / "p.toml"
        policy_file.write_text(f'default = "permit"\n\n[program."{child}"]\n'
                               f'default = "permit"\n\n[[program."{child}".rule]]\n'
                               'calls = ["net-connect"]\nhost = "bad.test"\n'
                               'action = "never"\n')
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--", *argv],
                                capture_output=True, text=True, timeout=120, check=False,
                                env=scene_env(None))
        asked = list(server.queries)
    assert f"parent: good.test is {GOOD}" in traced.stdout, traced
    assert "ESCAPED" not in traced.stdout, traced
    assert "BLOCKED: bad.test not resolved from the thread's socket" in traced.stdout, traced
    assert "bad.test" not in asked, (asked, traced)


def test_a_lookup_is_asked_about_under_the_table_that_asks(build, tmp_path: Path) -> None:
    """An ``ask`` on a host asks at the lookup about the process that sent the query (the
    first traced process holding its socket) -- and took *that process's* table's rule on
    the name.  dns_owner.c connects a UDP socket to the name server (redirected to the
    resolver, under the main table, which asks about every name), forks, and execs into
    sleep (a table of its own, nothing about names) keeping the socket; its child sends its
    query for ``bad.test`` on the shared socket: the older holder was the sleep, its table
    has no rule on the name, and the query was answered, nobody asked (ESCAPED on main; the
    approver refuses every ask).  Control: natively the child's query is answered.  Now the
    question is put for a holder decided by the table that asks (and with that table's
    rule), and refused."""
    import shutil

    from engine.dns_lib import dns_server, private_resolv_conf

    sleep = shutil.which("sleep")
    assert sleep is not None
    sleep = str(Path(sleep).resolve())
    program = build("escape/dns_owner.c")
    prefix = private_resolv_conf(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(ASK_LOOKUPS + f'\n[program."{sleep}"]\ndefault = "permit"\n')
    answers = tmp_path / "answers.toml"
    answers.write_text('[[answer]]\nanswer = "deny-now"\n')
    approver = f"{PYTHON} -m systrace_py.approver --rules {answers}"
    with dns_server({"bad.test": EVIL}) as server:
        argv = [str(program), "bad.test", sleep]
        native = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60,
                                check=False)
        assert "ESCAPED: bad.test was answered" in native.stdout, native
        server.queries.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--ask-via",
                                 f"exec:{approver}", "--", *argv], capture_output=True,
                                text=True, timeout=120, check=False, env=scene_env(None))
        asked = list(server.queries)
    assert f"the parent runs {sleep}" in traced.stdout, traced
    assert "ESCAPED" not in traced.stdout, traced
    assert "BLOCKED: bad.test: rcode 3" in traced.stdout, traced
    assert "bad.test" not in asked, (asked, traced)
