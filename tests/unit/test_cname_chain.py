"""A name an answer's CNAME chain led to an address by (review 71, close 47): recorded beside
the name asked (NameTable.add_chained), it refuses a connect where a rule on that host
refuses -- never permits, and a rule of no ``host`` does not decide by it."""

from __future__ import annotations

from systrace_py.names import NameTable
from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, CallFacts, SockAddr, Table
from systrace_py.supervisor import by_name, strictest

_HEAD = 'default = "permit"\n'
_NEVER_BAD = _HEAD + '''[[rule]]
calls = ["net-connect"]
host = ["bad.test", "*.bad.test"]
action = "never"
'''
#: docs/policy.md's recipe, the catch-all on connect
_RECIPE = _HEAD + '''[[rule]]
calls = ["net-connect"]
host = ["files.pythonhosted.org"]
port = 443
action = "permit"
[[rule]]
calls = ["connect"]
action = "never"
'''


def _decided(table: Table, addr: SockAddr) -> Action:
    facts = by_name(table, [CallFacts("connect", (), None, addr, None)])
    return strictest([table.decide(one) for one in facts]).action


def test_the_chain_s_names_are_kept_apart_from_the_names_asked() -> None:
    names = NameTable()
    names.add("cdn.other.test", ["127.0.0.71"])
    names.add_chained(("Bad.Test",), ("127.0.0.71",))
    assert names.names_for("127.0.0.71") == ("cdn.other.test",)
    assert names.chained_for("::ffff:127.0.0.71") == ("bad.test",)
    labelled = names.label(SockAddr("inet", "127.0.0.71", 443))
    assert (labelled.names, labelled.chained) == (("cdn.other.test",), ("bad.test",))


def test_a_chained_name_a_rule_on_the_host_refuses_refuses_the_connect() -> None:
    """Found on main: the address of bad.test, reached by the alias cdn.other.test, had the
    alias's name alone and was connected to."""
    table = loads_policy(_NEVER_BAD).main
    alias = SockAddr("inet", "127.0.0.71", 443, names=("cdn.other.test",))
    assert _decided(table, alias) is Action.PERMIT
    assert _decided(table, SockAddr("inet", "127.0.0.71", 443, names=("cdn.other.test",),
                                    chained=("bad.test",))) is Action.NEVER
    assert _decided(table, SockAddr("inet", "127.0.0.71", 443, names=("a.test", "b.test"),
                                    chained=("www.bad.test",))) is Action.NEVER


def test_a_chained_name_never_permits_and_a_catch_all_does_not_decide_by_it() -> None:
    """A permitted host at the end of the program's own zone's alias does not permit
    (an out-of-bailiwick record: the zone would name any permitted host); and a CDN's name
    behind a permitted host (files.pythonhosted.org -> a fastly name) is not refused by
    the catch-all ``never connect``, a rule of no host."""
    table = loads_policy(_RECIPE).main
    assert _decided(table, SockAddr("inet", "127.0.0.9", 443, names=("evil.mine",),
                                    chained=("files.pythonhosted.org",))) is Action.NEVER
    assert _decided(table, SockAddr("inet", "127.0.0.9", 443,
                                    names=("files.pythonhosted.org",),
                                    chained=("dualstack.python.map.fastly.net",))) \
        is Action.PERMIT
