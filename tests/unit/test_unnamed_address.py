"""Which rules need a unix socket's file name (``Table.names_sockets``, close 41): a socket
address whose file has no name a rule could match refuses the call where one does
(Supervisor._unnamed_address; the attacks: tests/escape/test_escape_review67.py and
test_escape_close41.py)."""

from __future__ import annotations

import pytest

from systrace_py.policy.files import loads_policy


def _table(calls: str, condition: str, action: str = "never") -> str:
    return (f'default = "permit"\n[[rule]]\ncalls = ["{calls}"]\n{condition}\n'
            f'action = "{action}"\n')


@pytest.mark.parametrize(("text", "calls", "named"), [
    (_table("net-connect", 'unix = ["/srv/keys/**"]'), ("connect", "sendto", "sendmsg",
                                                        "sendmmsg"), True),
    (_table("net-connect", 'unix = ["/run/**"]', "permit"), ("connect",), True),
    (_table("connect", 'unix = ["@bus*", "", "/run/x.sock"]'), ("connect",), True),
    (_table("net-bind", 'unix = ["/srv/**"]'), ("bind",), True),
    (_table("net-bind", 'unix = ["/srv/**"]'), ("connect", "sendto"), False),
    (_table("net-connect", 'unix = ["@bus*", ""]'), ("connect", "sendmsg"), False),
    (_table("net-connect", 'address = ["192.0.2.0/24"]'), ("connect",), False),
    (_table("fswrite", 'path = "/srv/keys/**"'), ("connect", "bind"), False),
])
def test_a_unix_path_glob_of_the_call_names_its_sockets(text: str, calls: tuple[str, ...],
                                                         named: bool) -> None:
    """A rule of the call with a unix path glob, whatever it does (an unnamed file's /proc
    text names another file in the tracer's view, which a permit could match as well as a
    refusal); not an abstract or unnamed ("") pattern, an IP rule, another call's rule nor a
    path rule (the write-open's and mknod's are Table.may_refuse_socket_write's and
    may_refuse's to tell)."""
    table = loads_policy(text).main
    assert [table.names_sockets(call) for call in calls] == [named] * len(calls)
