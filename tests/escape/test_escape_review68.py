"""Review 68: a hostile review of red team 87's closes (issue 11); closed by close 42.

A ``host`` value beyond ASCII was put in its ASCII form by ``normal_name`` with Python's
``idna`` codec -- IDNA 2003, whose mapping turns the "deviation" characters into others
(``ß`` -> ``ss``, final sigma -> sigma, ZWJ/ZWNJ -> nothing).  The resolvers programs use (curl and
glibc through libidn2, browsers, Go) apply IDNA 2008 / UTS 46 non-transitional, which keeps
them: ``faß.test`` goes over the wire as ``xn--fa-hia.test``, a name other than
``fass.test`` (in .de both are registered, by different owners).  So a rule on ``faß.test``
was a rule on a name the program never asks, and not one on the name it does ask.

Closed: such a ``host`` is a policy error (exit 2) naming the ``xn--`` form to write; with
that form the rules hold the names resolvers ask.  Each test FAILS on main: main loads the
policy with ``faß.test`` (docs/security.md, "Review 68", "Close 42")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, scene_env
from test_escape_redteam87 import WILD, listener, resolv_conf_prefix, wildcard_server

#: the rule's text, its IDNA 2008 form (what resolvers ask: as written now, and as labels
#: for dns_spelled) and the IDNA 2003 one (another domain)
IDN, ACE = "faß.test", "xn--fa-hia.test"
IDNA2008, IDNA2003 = [b"xn--fa-hia", b"test"], "fass/test"


def _curl() -> str:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    version = subprocess.run([curl, "-V"], capture_output=True, text=True, check=False)
    if "libidn2" not in version.stdout:
        pytest.skip("curl is built without libidn2")
    return curl


def _refused_at_load(policy_file: Path, env: dict[str, str]) -> None:
    """The policy naming IDN is not run: a policy error (exit 2) at the ``host`` key, telling
    the xn-- form to write."""
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", "true"],
                            capture_output=True, timeout=60, check=False, env=env)
    err = traced.stderr.decode(errors="replace")
    assert traced.returncode == 2, (traced.returncode, err)
    assert f"{policy_file}:" in err and "host" in err and f'"{ACE}"' in err, err


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_never_rule_on_an_idn_refuses_the_name_curl_asks(tmp_path: Path, loop: str) -> None:
    """``never net-connect host = "faß.test"``: curl (libidn2, IDNA 2008) looks the name up
    as ``xn--fa-hia.test``; main compared ``fass.test`` (IDNA 2003), so the lookup was not
    refused and the connect to its address was made.  Now that policy is refused at load,
    and the rule written as it says (``xn--fa-hia.test``) refuses curl's lookup.  Control:
    natively curl asks the name server ``xn--fa-hia.test`` and connects (it then times out:
    the listener never answers, curl's exit 28)."""
    curl = _curl()
    prefix = resolv_conf_prefix(tmp_path)
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    rule = '''default = "permit"

[[rule]]
calls = ["net-connect"]
host = "{}"
action = "never"
errno = "EACCES"
'''
    idn_policy, ace_policy = tmp_path / "idn.toml", tmp_path / "ace.toml"
    idn_policy.write_text(rule.format(IDN))
    ace_policy.write_text(rule.format(ACE))
    _refused_at_load(idn_policy, env)
    with wildcard_server() as asked, listener(WILD) as port:
        url = f"http://{IDN}:{port}/"
        control = subprocess.run([*prefix, curl, "-sS", "-m", "2", url], capture_output=True,
                                 timeout=60, check=False)
        assert control.returncode == 28, control  # connected, then no answer
        assert IDNA2008 in asked, asked
        asked.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(ace_policy), "--", curl,
                                 "-sS", "-m", "2", url],
                                capture_output=True, timeout=120, check=False, env=env)
        assert traced.returncode in (6, 7), (traced.returncode, traced.stderr)  # refused
        assert IDNA2008 not in asked, asked  # refused by systrace's resolver, never asked


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_permit_on_an_idn_does_not_permit_another_name(build, tmp_path: Path,
                                                       loop: str) -> None:
    """``permit net-connect host = "faß.test"`` then ``never connect`` (the strong form):
    main permitted ``fass.test`` -- a name the policy does not give, another domain -- and a
    program that asked for it connected to the address it was answered.  Now that policy is
    refused at load; written as ``xn--fa-hia.test`` the permit gives that name (the program
    asking it connects) and not ``fass.test``.  Control: natively the name server answers
    ``fass.test`` (the zone's wildcard) and the connect succeeds."""
    program = build("escape/dns_spelled.c")
    prefix = resolv_conf_prefix(tmp_path)
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    rules = '''default = "permit"

[[rule]]
calls = ["net-connect"]
address = ["127.0.0.1", "127.53.0.87"]
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "{}"
action = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "EACCES"
'''
    idn_policy, ace_policy = tmp_path / "idn.toml", tmp_path / "ace.toml"
    idn_policy.write_text(rules.format(IDN))
    ace_policy.write_text(rules.format(ACE))
    _refused_at_load(idn_policy, env)
    with wildcard_server(), listener(WILD) as port:
        control = subprocess.run([*prefix, str(program), IDNA2003, str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {WILD}\nESCAPED"), control
        for labels, permitted in ((IDNA2003, False), ("xn--fa-hia/test", True)):
            traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(ace_policy), "--",
                                     str(program), labels, str(port)],
                                    capture_output=True, timeout=120, check=False, env=env)
            out = traced.stdout.decode()
            assert ("ESCAPED" in out) is permitted, (labels, out,
                                                     traced.stderr.decode(errors="replace"))
