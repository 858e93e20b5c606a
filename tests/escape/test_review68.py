"""Review 68: a hostile review of red team 87's closes (issue 11).

A ``host`` value beyond ASCII is put in its ASCII form by ``normal_name`` with Python's
``idna`` codec -- IDNA 2003, whose mapping turns the "deviation" characters into others
(``ß`` -> ``ss``, final sigma -> sigma, ZWJ/ZWNJ -> nothing).  The resolvers programs use (curl and
glibc through libidn2, browsers, Go) apply IDNA 2008 / UTS 46 non-transitional, which keeps
them: ``faß.test`` goes over the wire as ``xn--fa-hia.test``, a name other than
``fass.test`` (in .de both are registered, by different owners).  So a rule on ``faß.test``
is a rule on a name the program never asks, and not one on the name it does ask.

These tests FAIL on main (docs/security.md, "Review 68")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, scene_env
from test_escape_redteam87 import WILD, listener, resolv_conf_prefix, wildcard_server

#: the rule's text, and the names IDNA 2008 (what resolvers ask) and IDNA 2003 give it
IDN, IDNA2008, IDNA2003 = "faß.test", [b"xn--fa-hia", b"test"], "fass/test"


def _curl() -> str:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    version = subprocess.run([curl, "-V"], capture_output=True, text=True, check=False)
    if "libidn2" not in version.stdout:
        pytest.skip("curl is built without libidn2")
    return curl


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_never_rule_on_an_idn_refuses_the_name_curl_asks(tmp_path: Path, loop: str) -> None:
    """``never net-connect host = "faß.test"``: curl (libidn2, IDNA 2008) looks the name up
    as ``xn--fa-hia.test``; systrace compares ``fass.test`` (IDNA 2003), so the lookup is
    not refused and the connect to its address is made.  Control: natively curl asks the
    name server ``xn--fa-hia.test`` and connects (it then times out: the listener never
    answers, curl's exit 28)."""
    curl = _curl()
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"

[[rule]]
calls = ["net-connect"]
host = "{IDN}"
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with wildcard_server() as asked, listener(WILD) as port:
        url = f"http://{IDN}:{port}/"
        control = subprocess.run([*prefix, curl, "-sS", "-m", "2", url], capture_output=True,
                                 timeout=60, check=False)
        assert control.returncode == 28, control  # connected, then no answer
        assert IDNA2008 in asked, asked
        asked.clear()
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--", curl,
                                 "-sS", "-m", "2", url],
                                capture_output=True, timeout=120, check=False, env=env)
        assert traced.returncode in (6, 7), (traced.returncode, traced.stderr)  # refused


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_permit_on_an_idn_does_not_permit_another_name(build, tmp_path: Path,
                                                       loop: str) -> None:
    """``permit net-connect host = "faß.test"`` then ``never connect`` (the strong form):
    systrace permits ``fass.test`` -- a name the policy does not give, another domain -- and
    a program that asks for it connects to the address it is answered.  Control: natively
    the name server answers ``fass.test`` (the zone's wildcard) and the connect succeeds."""
    program = build("escape/dns_spelled.c")
    prefix = resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(f'''default = "permit"

[[rule]]
calls = ["net-connect"]
address = ["127.0.0.1", "127.53.0.87"]
action = "permit"

[[rule]]
calls = ["net-connect"]
host = "{IDN}"
action = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with wildcard_server(), listener(WILD) as port:
        control = subprocess.run([*prefix, str(program), IDNA2003, str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {WILD}\nESCAPED"), control
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), IDNA2003, str(port)],
                                capture_output=True, timeout=120, check=False, env=env)
        out = traced.stdout.decode()
        assert "ESCAPED" not in out, (out, traced.stderr.decode(errors="replace"))
