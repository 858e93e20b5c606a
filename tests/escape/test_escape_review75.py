"""Review 75: close 47 read by a hostile reviewer -- fast-open sends, CNAME chains (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace, in both stop loops, that must not escape (docs/security.md, "Review 75").  These
held on main 9fd3a1b1: they guard close 47 against regressions."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import pytest
import test_escape_review71 as r71
from escape_lib import SYSTRACE, scene_env
from test_escape_redteam87 import listener


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("way", ["mptcp", "mapped", "deferred", "mmsgflag"])
@pytest.mark.parametrize("policy", ["recipe", "bare"])
def test_a_fast_open_variant_opens_no_stream_past_never_connect(
        build, tmp_path: Path, loop: str, way: str, policy: str) -> None:
    """An MPTCP socket's fast open, an IPv6 socket's to a v4-mapped address, a connect
    deferred by TCP_FASTOPEN_CONNECT, a sendmmsg whose message alone says MSG_FASTOPEN:
    each opens a stream to an address the catch-all refuses, natively (or, for the last,
    fails natively, EPIPE: the kernel reads the flag in the register only -- the control
    proves what close 47's prefilter assumes)."""
    program = build("escape/tfo_variants.c")
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(r71.RECIPE if policy == "recipe" else r71.BARE)
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with listener(r71.ELSEWHERE) as port:
        control = subprocess.run([str(program), r71.ELSEWHERE, str(port), way],
                                 capture_output=True, timeout=60, check=False)
        if control.stdout.startswith(b"SKIPPED"):
            pytest.skip(control.stdout.decode().strip())
        if way != "mmsgflag":
            assert control.stdout.decode().startswith("ESCAPED"), control
        else:  # (the kernel reads MSG_FASTOPEN in the flags register only: EPIPE)
            assert control.stdout.decode().startswith("BLOCKED"), control
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 r71.ELSEWHERE, str(port), way],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "Traceback" not in err, err
        assert "ESCAPED" not in out, (out, err, control.stdout)
        assert "BLOCKED" in out, (out, err)


#: the address the header names refused (sends stop), the one the program connects to
#: permitted, the recipe's catch-all
PERMITTED = "127.0.0.73"
CONNECTED = f'''default = "permit"

[[rule]]
calls = ["net-connect"]
address = "127.0.0.72"
action = "never"
errno = "ECONNREFUSED"

[[rule]]
calls = ["connect"]
address = "{PERMITTED}"
action = "permit"

[[rule]]
calls = ["connect"]
action = "never"
errno = "ECONNREFUSED"
'''


@pytest.mark.parametrize("loop", ["python", "native"])
def test_a_connected_streams_send_naming_another_address_in_its_header_is_sent(
        build, tmp_path: Path, loop: str) -> None:
    """Parity (review 75's first minor item): a connected TCP socket's ``sendmsg`` whose
    msghdr names a refused address and sets MSG_FASTOPEN in its own ``msg_flags`` sends on
    the connected stream natively -- the kernel takes a send's flags from the register
    alone (``____sys_sendmsg`` sets ``msg_flags`` from them) and a connected stream ignores
    the name.  The decoder once added the header's MSG_FASTOPEN, decided the send as a
    connect to the named address, and refused what natively went through."""
    program = build("escape/tfo_variants.c")
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(CONNECTED)
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with listener(PERMITTED) as port:
        control = subprocess.run([str(program), PERMITTED, str(port), "connected"],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith("ESCAPED"), control
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 PERMITTED, str(port), "connected"],
                                capture_output=True, timeout=120, check=False, env=env)
    assert traced.stdout == control.stdout, (traced, control)
    assert traced.returncode == control.returncode, traced


#: aliases whose CNAME chains reach bad.test by ways close 47's chain check must follow:
#: ten hops, a capitalised target, a target by bad.test's wildcard, a chain that loops after
CHAINS: dict[str, list[bytes]] = {
    "long": [b"a0.other.test", *(b"a%d.other.test" % i for i in range(1, 10)), b"BAD.test"],
    "capital": [b"cdn.other.test", b"Bad.TEST"],
    "wildcard": [b"cdn.other.test", b"edge.www.bad.test"],
    "looping": [b"cdn.other.test", b"x.other.test", b"bad.test", b"x.other.test"],
}


def _chain_answer(chain: list[bytes], query: bytes) -> bytes:
    """An answer of ``chain``'s CNAME records (each owner the one before), then the A
    record of BAD for the last new name (a loop's repeat adds its CNAME only)."""
    ident, flags = struct.unpack_from(">HH", query)
    labels, end = r71._labels(query, 12)
    name = b".".join(label.lower() for label in labels)
    if name != chain[0]:
        return struct.pack(">HHHHHH", ident, 0x8183 | (flags & 0x0100), 1, 0, 0, 0) + \
            query[12:end + 4]
    records = []
    owner = b"\xc0\x0c"
    for target in chain[1:]:
        records.append(owner + struct.pack(">HHIH", 5, 1, 60, len(r71._wire(target)))
                       + r71._wire(target))
        owner = r71._wire(target)
    last = chain[-1] if chain[-1] not in chain[:-1] else chain[-2]
    records.append(r71._wire(last) + struct.pack(">HHIH", 1, 1, 60, 4)
                   + socket.inet_aton(r71.BAD))
    return struct.pack(">HHHHHH", ident, 0x8180 | (flags & 0x0100), 1, len(records), 0, 0) \
        + query[12:end + 4] + b"".join(records)


@pytest.mark.parametrize("loop", ["python", "native"])
@pytest.mark.parametrize("shape", sorted(CHAINS))
def test_a_cname_chain_s_shape_does_not_hide_its_refused_host(
        build, tmp_path: Path, loop: str, shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``never net-connect host = ["bad.test", "*.bad.test"]``: an alias whose chain reaches
    bad.test by ten hops, a capitalised target, a wildcard's name or a loop after it is
    answered with bad.test's address natively; traced, the lookup or the connect is
    refused."""
    chain = CHAINS[shape]
    monkeypatch.setattr(r71, "_answer", lambda query: _chain_answer(chain, query))
    program = build("escape/dns_spelled.c")
    alias = chain[0].decode().replace(".", "/")
    prefix = r71.resolv_conf_prefix(tmp_path)
    policy_file = tmp_path / "p.toml"
    policy_file.write_text('''default = "permit"

[[rule]]
calls = ["net-connect"]
host = ["bad.test", "*.bad.test"]
action = "never"
errno = "EACCES"
''')
    env = scene_env(None, **({"SYSTRACE_NO_CLOOP": "1"} if loop == "python" else {}))
    with r71.cname_server(), listener(r71.BAD) as port:
        control = subprocess.run([*prefix, str(program), alias, str(port)],
                                 capture_output=True, timeout=60, check=False)
        assert control.stdout.decode().startswith(f"answered: {r71.BAD}\nESCAPED"), control
        traced = subprocess.run([*prefix, *SYSTRACE, "-p", str(policy_file), "--",
                                 str(program), alias, str(port)],
                                capture_output=True, timeout=120, check=False, env=env)
        out, err = traced.stdout.decode(), traced.stderr.decode(errors="replace")
        assert "Traceback" not in err, err
        assert "ESCAPED" not in out, (out, err)
        assert "BLOCKED" in out, (out, err)
