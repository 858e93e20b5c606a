"""Host names, the pure parts: ``host`` conditions, which rule refuses a lookup, the policy
file's ``host`` and ``dns_refused`` keys, DNS messages as systrace reads them, the run's name
table.  (Real lookups under systrace: tests/engine/test_host_lookups.py.)"""

from __future__ import annotations

import contextlib
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.dnswire import DnsFormatError, answer_of, query_of, refusal
from systrace_py.names import NameTable, read_hosts, socket_holders
from systrace_py.policy.files import PolicyError, loads_policy
from systrace_py.policy.model import CallFacts, DnsRefused, SockAddr
from systrace_py.policy.net import HostPattern, NetCondition, NetConditionError


def named(host: str, port: int, *names: str) -> SockAddr:
    return SockAddr("inet", host, port, names=names)


# --- host conditions -----------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("files.pythonhosted.org", "files.pythonhosted.org", True),
    ("Files.PythonHosted.org.", "files.pythonhosted.org", True),
    ("files.pythonhosted.org", "evil-files.pythonhosted.org", False),
    ("files.pythonhosted.org", "pythonhosted.org", False),
    ("*.github.com", "api.github.com", True),
    ("*.github.com", "a.b.github.com", True),
    ("*.github.com", "github.com", False),
    ("*.github.com", "evilgithub.com", False),
    ("*.github.com", "github.com.evil.org", False),
    ("*", "anything.example", True),
    ("bücher.example", "xn--bcher-kva.example", True),
])
def test_host_pattern(pattern: str, name: str, expected: bool) -> None:
    assert HostPattern.parse(pattern).matches(name) is expected


@pytest.mark.parametrize(("value", "fragment"), [
    ("files*.org", "\"*\" only as a whole first label"),
    ("a.*.org", "\"*\" only as a whole first label"),
    ("", "not a host name"),
    ("-bad.example", "not a host name"),
    ("10.0.0.1", "is an address: write it as address"),
    (5, "not an integer"),
])
def test_bad_host(value: object, fragment: str) -> None:
    with pytest.raises(NetConditionError) as info:
        NetCondition(host=value)  # type: ignore[arg-type]
    assert info.value.key == "host"
    assert fragment in str(info.value)


def test_host_matches_observed_names_only() -> None:
    """No name observed for an address: a host condition never matches it (address rules
    only), whatever the pattern -- "*" too."""
    for pattern in ("good.test", "*"):
        cond = NetCondition(host=pattern)
        assert not cond.matches(named("127.0.0.2", 80))
        assert cond.matches(named("127.0.0.2", 80, "good.test"))
    assert not NetCondition(host="good.test").matches(SockAddr("unix", path="/s"))


def test_host_and_other_keys_are_anded() -> None:
    cond = NetCondition(host="good.test", port=443, address="127.0.0.0/8")
    assert cond.matches(named("127.0.0.2", 443, "good.test"))
    assert not cond.matches(named("127.0.0.2", 80, "good.test"))
    assert not cond.matches(named("10.0.0.2", 443, "good.test"))
    assert cond.describe() == {"address": "127.0.0.0/8", "port": 443, "host": "good.test"}
    with pytest.raises(NetConditionError, match="cannot be combined"):
        NetCondition(host="good.test", unix="/s")


# --- which rule refuses a lookup -----------------------------------------------------------

POLICY = """
[[rule]]
calls = ["net-connect"]
host = "bad.test"
action = "never"

[[rule]]
calls = ["net-connect"]
host = "*.port.test"
port = 443
action = "never"

[[rule]]
calls = ["connect"]
host = "ok.bad2.test"
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "*.bad2.test"
action = "never"

[[rule]]
calls = ["net-connect"]
host = "asked.test"
action = "ask"

[[rule]]
calls = ["net-bind"]
address = "0.0.0.0"
action = "never"
"""


@pytest.mark.parametrize(("name", "refused_by"), [
    ("bad.test", 1),           # a never rule on the host alone
    ("x.port.test", None),     # ... on some ports only: the connects decide
    ("ok.bad2.test", None),    # an earlier permit decides first
    ("x.bad2.test", 4),
    ("asked.test", 5),         # ask on the host alone: asked at the lookup
    ("other.test", None),      # no host rule: nothing to refuse
])
def test_resolution(name: str, refused_by: int | None) -> None:
    table = loads_policy(POLICY, "p.toml").main
    rule = table.resolution(name)
    assert (rule.index if rule is not None else None) == refused_by
    assert table.has_host_rules()


def test_dns_refused_pass_resolves_everything() -> None:
    policy = loads_policy('dns_refused = "pass"\n' + POLICY, "p.toml")
    assert policy.main.dns_refused == DnsRefused.PASS
    assert policy.main.resolution("bad.test") is None
    # ... and the connect is refused instead
    decision = policy.main.decide(CallFacts("connect", sockaddr=named("1.2.3.4", 80,
                                                                        "bad.test")))
    assert decision.action.value == "never"


def test_program_table_inherits_dns_refused() -> None:
    policy = loads_policy('dns_refused = "pass"\n[program."/usr/bin/curl"]\n'
                          'default = "permit"\n', "p.toml")
    assert policy.programs["/usr/bin/curl"].dns_refused == DnsRefused.PASS


@pytest.mark.parametrize(("text", "key", "fragment"), [
    ('[[rule]]\ncalls = ["net-bind"]\nhost = "x.test"\naction = "never"\n', "host",
     "cannot apply to alias 'net-bind'"),
    ('[[rule]]\ncalls = ["net-connect"]\nhost = "x*.test"\naction = "never"\n', "host",
     "first label"),
    ('dns_refused = "refuse"\n', "dns_refused", "expected \"nxdomain\" or \"pass\""),
    ('dns_refused = 1\n', "dns_refused", "expected"),
])
def test_bad_keys(text: str, key: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        loads_policy(text, "p.toml")
    assert info.value.key == key
    assert fragment in str(info.value)


def test_host_rule_is_an_address_rule() -> None:
    """A never rule on a host refuses sockets address rules cannot see (raw...), as an
    address rule does: a raw socket would reach the host's address unchecked."""
    policy = loads_policy('[[rule]]\ncalls = ["net-connect"]\nhost = "bad.test"\n'
                          'action = "never"\n', "p.toml")
    assert policy.main.compiled().address_rules


# --- DNS messages --------------------------------------------------------------------------

def query(name: str, qtype: int = 1, ident: int = 0x1234) -> bytes:
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + wire + struct.pack(">HH",
                                                                                  qtype, 1)


def response(question: bytes, records: list[tuple[int, int, bytes]]) -> bytes:
    """A response to ``question`` with records (owner offset, type, rdata)."""
    ident = struct.unpack_from(">H", question)[0]
    out = struct.pack(">HHHHHH", ident, 0x8180, 1, len(records), 0, 0) + question[12:]
    for owner, rtype, data in records:
        out += struct.pack(">HHHIH", 0xC000 | owner, rtype, 1, 60, len(data)) + data
    return out


def test_query_and_refusal() -> None:
    q = query("Good.Test")
    parsed = query_of(q)
    assert (parsed.id, parsed.name, parsed.qtype) == (0x1234, "good.test", 1)
    reply = refusal(q)
    ident, flags, qd, an, _, _ = struct.unpack_from(">HHHHHH", reply)
    assert (ident, flags & 0x8000, flags & 0xF, qd, an) == (0x1234, 0x8000, 3, 1, 0)
    assert reply[12:] == q[12:]  # the question, as asked (glibc compares it)


def test_answer_follows_the_chain_from_the_question_only() -> None:
    q = query("www.good.test")
    # www.good.test CNAME cdn.good.test (a name written out), cdn A 1.2.3.4; plus a record
    # for a name not on the chain, which must not count
    cname = b"\x03cdn\x04good\x04test\x00"
    body = response(q, [(12, 5, cname)])
    cdn_at = len(body) - len(cname)
    body = response(q, [(12, 5, cname), (cdn_at, 1, socket.inet_aton("1.2.3.4")),
                        (12 + 4, 1, socket.inet_aton("6.6.6.6"))])  # "good.test" A 6.6.6.6
    answer = answer_of(body)
    assert answer.chain == ("www.good.test", "cdn.good.test")
    assert answer.addresses == ("1.2.3.4",)


def test_aaaa_answer() -> None:
    q = query("v6.test", 28)
    answer = answer_of(response(q, [(12, 28, socket.inet_pton(socket.AF_INET6, "fd00::1"))]))
    assert answer.addresses == ("fd00::1",)


def test_pointer_loop_is_a_format_error() -> None:
    bad = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + b"\0\1\0\1"
    with pytest.raises(DnsFormatError):
        query_of(bad)


@given(st.binary(max_size=300))
def test_garbage_is_a_format_error_or_read(data: bytes) -> None:
    """Whatever a program sends, reading it fails only with DnsFormatError."""
    for read in (query_of, answer_of, refusal):
        with contextlib.suppress(DnsFormatError):
            read(data)


@given(st.lists(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True), min_size=1, max_size=5),
       st.integers(0, 0xFFFF))
def test_query_round_trip(labels: list[str], ident: int) -> None:
    name = ".".join(labels)
    q = query(name, ident=ident)
    assert query_of(q).name == name
    refused = answer_of(refusal(q))
    assert (refused.id, refused.rcode, refused.chain, refused.addresses) == \
        (ident, 3, (name,), ())



def _raw_query(labels: list[bytes]) -> bytes:
    wire = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    return struct.pack(">HHHHHH", 0x87, 0x0100, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1)


@pytest.mark.parametrize("labels", [[b"www\xad", b"good", b"test"], [b"www.good", b"test"],
                                    [b"www", b"good", b"test", b" "], [b"\xad", b"test"],
                                    [b"www", b"good", b"test."]],
                         ids=["soft-hyphen", "dotted-label", "white-space", "idna-empty",
                              "trailing-dot"])
def test_a_name_spelled_otherwise_than_it_reads_is_no_plain_query(labels: list[bytes]) -> None:
    """Red team 87: names the rules would read as www.good.test (or that normal_name cannot
    spell), asked of the server as another name: never passed on."""
    from systrace_py.dnswire import plain_query

    with pytest.raises(DnsFormatError):
        plain_query(_raw_query(labels))
    assert plain_query(_raw_query([b"WWW", b"good", b"test"])).name == "www.good.test"


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=4))
def test_a_plain_query_s_name_is_what_the_server_is_asked(labels: list[bytes]) -> None:
    """Whatever labels a query holds, a name plain_query reads is its own normal form, and
    its labels are the query's (ASCII case folded): what rules compare is what is asked."""
    from systrace_py.dnswire import plain_query
    from systrace_py.policy.net import normal_name

    try:
        name = plain_query(_raw_query(labels)).name
    except DnsFormatError:
        return
    assert normal_name(name) == name
    assert [label.encode("latin-1") for label in name.split(".")] == \
        [label.lower() for label in labels]


# --- the run's names -----------------------------------------------------------------------

def test_name_table() -> None:
    names = NameTable()
    names.add("Good.Test.", ["127.0.0.2", "::ffff:127.0.0.3", "fd00::1"])
    names.add("other.test", ["127.0.0.2"])
    assert names.names_for("127.0.0.2") == ("good.test", "other.test")
    assert names.names_for("::ffff:127.0.0.2") == ("good.test", "other.test")
    assert names.names_for("127.0.0.3") == ("good.test",)
    assert names.names_for("fd00:0::1") == ("good.test",)
    assert names.names_for("10.0.0.1") == ()
    assert names.label(SockAddr("inet", "127.0.0.3", 80)).names == ("good.test",)
    assert names.label(SockAddr("unix", path="/s")).names == ()


def test_hosts_file(tmp_path: pytest.TempPathFactory) -> None:
    hosts = tmp_path / "hosts"  # type: ignore[operator]
    hosts.write_text("127.0.0.1 localhost # comment\n# 1.2.3.4 no\n::1 ip6-localhost l6\n"
                     "bad line\n")
    assert read_hosts(str(hosts)) == [("127.0.0.1", ["localhost"]),
                                      ("::1", ["ip6-localhost", "l6"])]


# --- the prompt's scopes -------------------------------------------------------------------

def test_offers_name_the_host() -> None:
    from systrace_py.policy.model import Action
    from systrace_py.ui.offers import build_rule, offers_for

    facts = CallFacts("connect", sockaddr=named("127.0.0.2", 443, "api.github.com"))
    offers = {o.key: o for o in offers_for(facts, None)}
    assert offers["name"].host == "api.github.com"
    assert offers["domain"].host == "*.github.com"
    rule = build_rule(offers["domain"], ["net-connect"], Action.PERMIT)
    assert rule.net is not None and rule.net.describe() == {"host": "*.github.com"}
    assert rule.matches(CallFacts("connect", sockaddr=named("1.2.3.4", 80, "x.github.com")),
                        None)
    # no name seen: no name offered
    bare = CallFacts("connect", sockaddr=named("127.0.0.2", 443))
    assert "name" not in {o.key for o in offers_for(bare, None)}


def test_scripted_approver_matches_any_of_several_hosts() -> None:
    from systrace_py.approver import ScriptRule

    rule = ScriptRule((("host", "*.github.com"),), {"answer": "permit"})
    assert rule.matches({"host": ["api.github.com", "cdn.example"]})
    assert rule.matches({"host": "api.github.com"})
    assert not rule.matches({"host": ["cdn.example"]})
    assert not rule.matches({"address": "1.2.3.4:443"})


def test_a_lookup_asked_about_offers_names_and_remembers_a_host_rule() -> None:
    from systrace_py.policy.model import Action, Decision
    from systrace_py.supervisor import AskRequest
    from systrace_py.ui.answering import Interpreter, call_text

    table = loads_policy('[[rule]]\ncalls = ["net-connect"]\nhost = "*.github.com"\n'
                         'action = "ask"\n', "p.toml").main
    rule = table.resolution("api.github.com")
    assert rule is not None
    facts = CallFacts("connect", sockaddr=SockAddr("inet", names=("api.github.com",)))
    request = AskRequest(1, 1, 0, "/usr/bin/curl", "resolve", {"host": "api.github.com"},
                         facts, Decision(Action.ASK, rule.errno, rule, "main"), table=table)
    interp = Interpreter(request)
    assert [o.key for o in interp.offers] == ["name", "domain", "any"]
    assert call_text(request) == "resolve api.github.com"
    answer = interp.answer("permit domain")
    assert answer.rule is not None and answer.rule.net is not None
    assert answer.rule.net.describe() == {"host": "*.github.com"}
    assert answer.rule.calls == ("net-connect",)


# --- the resolver, on loopback (no tracing) ------------------------------------------------

def _upstream(table: dict[str, str]) -> tuple[socket.socket, int]:
    """A tiny name server on a free loopback port, answering A queries from ``table`` over
    TCP (systrace's resolver asks over TCP only); the listening socket and its port."""
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except (OSError, ValueError):
                return
            with conn:
                size = struct.unpack(">H", conn.recv(2, socket.MSG_WAITALL))[0]
                data = conn.recv(size, socket.MSG_WAITALL)
                q = query_of(data)
                data = data[:4] + struct.pack(">HHHH", 1, 0, 0, 0) + data[12:q.end]  # (no OPT)
                body = response(data, [(12, 1, socket.inet_aton(address))
                                       for address in table[q.name].split()]) \
                    if q.name in table else refusal(data)
                conn.sendall(struct.pack(">H", len(body)) + body)

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


def _ask_endpoint(endpoint: SockAddr, message: bytes, tcp: bool = False) -> bytes:
    if tcp:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=10) as client:
            client.sendall(struct.pack(">H", len(message)) + message)
            size = struct.unpack(">H", client.recv(2, socket.MSG_WAITALL))[0]
            return client.recv(size, socket.MSG_WAITALL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(10)
        client.sendto(message, (endpoint.host, endpoint.port))
        return client.recv(65535)


def test_resolver_forwards_records_and_refuses() -> None:
    from systrace_py.names import Resolver

    upstream, port = _upstream({"good.test": "127.0.0.2", "bad.test": "127.0.0.3"})
    names = NameTable()
    seen: list[tuple[str, object]] = []
    resolver = Resolver(names, lambda key, name, client, tcp: "rule" if name == "bad.test"
                        else None, lambda r: seen.append((r.name, r.refused_by)))
    try:
        endpoint = resolver.endpoint("key", SockAddr("inet", "127.0.0.1", port))
        good = answer_of(_ask_endpoint(endpoint, query("good.test")))
        assert good.addresses == ("127.0.0.2",)
        assert names.names_for("127.0.0.2") == ("good.test",)
        bad = answer_of(_ask_endpoint(endpoint, query("bad.test")))
        assert (bad.rcode, bad.addresses) == (3, ())
        assert names.names_for("127.0.0.3") == ()
        assert seen == [("good.test", None), ("bad.test", "rule")]
    finally:
        resolver.close()
        upstream.close()


def test_resolver_asks_over_tcp_and_truncates_what_a_udp_sender_cannot_take() -> None:
    """Red team 29: the resolver's UDP socket to the server took a forged answer from any
    local process that sent it as the server (tests/escape/dns_forge.c), so it asks over
    TCP only (the upstream here listens on TCP alone).  An answer longer than a UDP sender
    takes -- 512 bytes, or its OPT record's size -- goes back truncated (TC, the question,
    no records: its resolver asks again over TCP), yet the addresses are recorded; over TCP,
    or under a larger OPT size, it goes back whole."""
    from systrace_py.dnswire import UDP_CLASSIC
    from systrace_py.names import Resolver

    many = " ".join(f"127.0.1.{n}" for n in range(1, 41))  # (40 records: 667 bytes)
    upstream, port = _upstream({"small.test": "127.0.0.2", "big.test": many})
    names = NameTable()
    resolver = Resolver(names, lambda key, name, client, tcp: None, timeout=5)
    try:
        endpoint = resolver.endpoint("key", SockAddr("inet", "127.0.0.1", port))
        small = answer_of(_ask_endpoint(endpoint, query("small.test")))
        assert small.addresses == ("127.0.0.2",)
        big = query("big.test")
        cut = _ask_endpoint(endpoint, big)
        ident, flags, *counts = struct.unpack_from(">HHHHHH", cut)
        assert (ident, flags & 0x8200, counts) == (0x1234, 0x8200, [1, 0, 0, 0])
        assert cut[12:] == big[12:]
        assert names.names_for("127.0.1.40") == ("big.test",)
        whole = _ask_endpoint(endpoint, big, tcp=True)
        assert len(whole) > UDP_CLASSIC and len(answer_of(whole).addresses) == 40
        assert len(answer_of(_ask_endpoint(endpoint, _with_opt(big))).addresses) == 40
    finally:
        resolver.close()
        upstream.close()


def test_resolver_says_server_failure_when_the_server_is_gone() -> None:
    from systrace_py.names import Resolver

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as gone:
        gone.bind(("127.0.0.1", 0))
        port = gone.getsockname()[1]  # nobody listens there once closed
    resolver = Resolver(NameTable(), lambda key, name, client, tcp: None, timeout=2)
    try:
        endpoint = resolver.endpoint("key", SockAddr("inet", "127.0.0.1", port))
        failed = answer_of(_ask_endpoint(endpoint, query("good.test")))
        assert (failed.rcode, failed.addresses) == (2, ())
    finally:
        resolver.close()


def test_a_log_record_keeps_the_host() -> None:
    """`systrace policy check` / `policy learn` read enforce logs: the host the log shows with
    the address is part of the observation, so a host rule is seen used."""
    from systrace_py.policy.learn import observation_from_record

    obs = observation_from_record({"event": "syscall", "result": "permitted",
                                   "syscall": "connect", "table": "main",
                                   "args": {"address": "127.0.0.2:443", "host": "good.test"}})
    assert obs is not None and obs.sockaddrs == (named("127.0.0.2", 443, "good.test"),)
    table = loads_policy('[[rule]]\ncalls = ["connect"]\nhost = "good.test"\n'
                         'action = "permit"\n', "p.toml").main
    assert table.decide(obs.all_facts()[0]).rule is table.rules[0]


def test_an_inject_rule_on_a_host_decides_no_lookup() -> None:
    """An inject rule decides nothing: a delay on connects to a host must not refuse (or ask
    about) the program's lookup of that name."""
    policy = loads_policy('default = "permit"\n[[rule]]\ncalls = ["connect"]\nhost = "slow.test"\n'
                          'action = "inject"\ndelay = "10ms"\n', "p.toml")
    assert policy.main.resolution("slow.test") is None


def _with_opt(message: bytes, payload: bytes = b"") -> bytes:
    """``message`` with EDNS's OPT record added (as glibc sends with ``options edns0``)."""
    header = bytearray(message[:12])
    struct.pack_into(">H", header, 10, 1)
    return bytes(header) + message[12:] + b"\0" + struct.pack(">HHIH", 41, 1232, 0,
                                                              len(payload)) + payload


def _second_question(message: bytes, name: str) -> bytes:
    header = bytearray(message[:12])
    struct.pack_into(">H", header, 4, 2)
    return bytes(header) + message[12:] + query(name)[12:]


@pytest.mark.parametrize("shape", ["two questions", "an answer record", "an update",
                                   "a record that is not OPT", "bytes after", "a response"])
def test_a_query_that_is_no_plain_question_is_not_passed_on(shape: str) -> None:
    """Red team 20 saw it: a message the resolver could not read was forwarded unread, so a
    name in it -- a second question, an update's zone, a record beside the question, bytes
    after it -- reached the name server with no rule asked.  Now only one plain question
    (an OPT record allowed) is read and passed on; anything else is answered "format
    error", and the server never sees it."""
    from systrace_py.dnswire import format_error, plain_query
    from systrace_py.names import Resolver

    good = query("good.test")
    message = {
        "two questions": _second_question(good, "bad.test"),
        "an answer record": response(good, [(12, 1, socket.inet_aton("1.2.3.4"))])[:2]
        + struct.pack(">H", 0x0100) + response(good, [(12, 1, b"1234")])[4:],
        "an update": good[:2] + struct.pack(">H", 0x2800) + good[4:],
        "a record that is not OPT": _with_opt(good)[:-10] + struct.pack(">HHIH", 16, 1, 0, 0),
        "bytes after": good + b"\x03bad\x04test\0",
        "a response": response(good, []),
    }[shape]
    with pytest.raises(DnsFormatError):
        plain_query(message)
    assert plain_query(_with_opt(good)).name == "good.test"  # (what resolvers send)
    assert plain_query(good).name == "good.test"
    upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # (the resolver asks over TCP)
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(1)
    asked: list[str] = []
    resolver = Resolver(NameTable(), lambda key, name, client, tcp: asked.append(name),
                        timeout=2)
    try:
        endpoint = resolver.endpoint("key", SockAddr("inet", "127.0.0.1",
                                                     upstream.getsockname()[1]))
        reply = _ask_endpoint(endpoint, message)
        assert reply == format_error(message)
        ident, flags, *counts = struct.unpack(">HHHHHH", reply)
        assert (ident, flags & 0x800F, counts) == (0x1234, 0x8001, [0, 0, 0, 0])
        upstream.setblocking(False)
        with pytest.raises(BlockingIOError):
            upstream.accept()  # the server was never sent it
        assert asked == []
    finally:
        resolver.close()
        upstream.close()


def test_the_holder_of_a_query_s_socket_is_found_by_address_and_port_in_every_thread():
    """Red team 39: a socket on another address with the same port is not the query's, and
    a socket a thread holds in a descriptor table of its own is found (the leader's
    /proc/PID/fd does not show it)."""
    import ctypes
    import os
    import socket
    import threading

    mine = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mine.bind(("127.0.0.1", 0))
    port = mine.getsockname()[1]
    try:
        assert socket_holders(("127.0.0.1", port), False, [os.getpid()]) == [os.getpid()]
        assert socket_holders(("127.0.0.2", port), False, [os.getpid()]) == []
    finally:
        mine.close()
    found: list[list[int]] = []
    ready, done = threading.Event(), threading.Event()

    def hidden() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.unshare(0x400) == 0  # CLONE_FILES: a descriptor table of its own
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.3", 0))
            found.append([sock.getsockname()[1]])
        finally:
            ready.set()
        done.wait(30)
        sock.close()

    thread = threading.Thread(target=hidden)
    thread.start()
    try:
        assert ready.wait(30) and found
        assert socket_holders(("127.0.0.3", found[0][0]), False, [os.getpid()]) == \
            [os.getpid()]
    finally:
        done.set()
        thread.join()
