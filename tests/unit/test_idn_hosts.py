"""Host names beyond ASCII (review 68, close 42): a ``host`` rule is compared as the name
resolvers ask, or refused at load.

Python's ``idna`` codec is IDNA 2003; curl and glibc (libidn2), browsers and Go ask IDNA 2008
/ UTS 46 non-transitional names.  They differ on UTS 46's four deviations (``faß.test`` is
``fass.test`` to one, ``xn--fa-hia.test`` to the other) and on more (a character newer than
Unicode 3.2, a capital beyond ASCII); a name whose two spellings may differ is a policy error
naming the ``xn--`` form to write, when that form is known exactly.  The real lookups:
tests/escape/test_escape_review68.py."""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from systrace_py.dnswire import DnsFormatError, plain_query, query_of
from systrace_py.names import NameTable, read_hosts
from systrace_py.policy.files import PolicyError, loads_policy
from systrace_py.policy.net import IDNA_DEVIATIONS, HostPattern, UnsureSpelling, normal_name

RULE = '''default = "permit"

[[rule]]
calls = ["net-connect"]
action = "never"
host = "{}"
'''


def test_a_host_idna_2003_and_2008_spell_apart_is_a_load_error() -> None:
    """file, line and key, and the xn-- form resolvers ask (main loaded it as fass.test)."""
    with pytest.raises(PolicyError) as info:
        loads_policy(RULE.format("faß.test"), "p.toml")
    err = info.value
    assert (err.file, err.line, err.key) == ("p.toml", 6, "host")
    assert 'write it as "xn--fa-hia.test"' in err.message and "U+00DF" in err.message
    assert str(err).startswith("p.toml:6: host: ")


def test_the_deviations_are_the_four_of_uts46() -> None:
    """UTS 46's IdnaMappingTable.txt marks exactly these ``deviation``; each is mapped by
    IDNA 2003 (the codec) and is a letter or a joiner IDNA 2008 keeps."""
    assert sorted(IDNA_DEVIATIONS) == ["\u00df", "\u03c2", "\u200c", "\u200d"]
    for c in IDNA_DEVIATIONS:
        assert ("a" + c).encode("idna") != b"xn--" + ("a" + c).encode("punycode")


@pytest.mark.parametrize(("value", "hint"), [
    ("faß.test", "xn--fa-hia.test"),
    ("FAß.Test.", "xn--fa-hia.test"),          # ASCII case and the root's dot as ever
    ("*.faß.test", "*.xn--fa-hia.test"),
    ("straße.de", "xn--strae-oqa.de"),
    ("ας.test", "xn--mxa8a.test"),             # final sigma
    ("a\u200cb.test", ""),                    # ZWNJ: IDNA 2008's context rule, not ours
    ("a\u200db.test", ""),                    # ZWJ
    ("ẞa.test", ""),        # capital sharp s: UTS 46 "ss", lower() sharp s
    ("ΑΣ.test", ""),        # lower() makes a final sigma, UTS 46 a sigma
    ("BÜCHER.example", ""),  # a capital beyond ASCII: lower() is not UTS 46's mapping
    ("\U0001f130bc.test", ""),  # squared A (Unicode 5.2): UTS 46 "a", the codec itself
    ("\u2f868.test", ""),   # a CJK compatibility ideograph (NFKC; corrected after 3.2)
    ("a\u00adb.test", ""),  # soft hyphen: mapped to nothing
])
def test_a_name_the_two_may_spell_apart_is_refused(value: str, hint: str) -> None:
    with pytest.raises(UnsureSpelling) as info:
        normal_name(value.removeprefix("*."))
    assert info.value.hint == hint.removeprefix("*.")
    with pytest.raises(ValueError, match="IDNA 2008") as refused:
        HostPattern.parse(value)
    if hint:
        assert f'write it as "{hint}"' in str(refused.value)
    else:
        assert "write its xn-- form" in str(refused.value)


@pytest.mark.parametrize(("value", "name"), [
    ("bücher.example", "xn--bcher-kva.example"),
    ("日本.jp", "xn--wgv71a.jp"),
    ("xn--fa-hia.test", "xn--fa-hia.test"),
    ("*.XN--FA-HIA.test", "xn--fa-hia.test"),
])
def test_a_name_spelled_alike_still_loads(value: str, name: str) -> None:
    assert HostPattern.parse(value).name == name


@pytest.mark.parametrize(("value", "name"), [
    ("Bücher.example", "xn--bcher-kva.example"),
    ("WWW.Bücher.Example.", "www.xn--bcher-kva.example"),
    ("*.BüCHER.EXAMPLE", "xn--bcher-kva.example"),
    ("Ab日本.JP", "xn--ab-7t7du0c.jp"),
])
def test_an_ascii_capital_in_a_label_beyond_ascii_is_folded(value: str, name: str) -> None:
    """Both IDNA versions fold ASCII case alike (nameprep's B.2, UTS 46's mapping): a
    capital ASCII letter inside a label beyond ASCII is its small letter, and the name
    loads -- it had been a load error, the label not its own case folding (review 71).  A
    capital beyond ASCII is still refused (BÜCHER.example, above).  Where libidn2 is
    installed, the name is the one it asks."""
    assert HostPattern.parse(value).name == name
    path = ctypes.util.find_library("idn2")
    if path is not None:
        assert _idn2()(value.removeprefix("*.").rstrip(".")) == name


def _idn2() -> Callable[[str], str | None]:
    path = ctypes.util.find_library("idn2")
    if path is None:
        pytest.skip("no libidn2")
    lib = ctypes.CDLL(path)
    lib.idn2_lookup_u8.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                                   ctypes.c_int]
    lib.idn2_lookup_u8.restype = ctypes.c_int
    nontransitional = 8  # IDN2_NONTRANSITIONAL (what curl and glibc ask)

    def lookup(name: str) -> str | None:
        out = ctypes.c_char_p()
        if lib.idn2_lookup_u8(name.encode(), ctypes.byref(out), nontransitional) != 0:
            return None
        return out.value.decode() if out.value is not None else None  # (a leak: a test)
    return lookup


def test_every_name_spelled_is_spelled_as_libidn2_asks_it() -> None:
    """Against the resolvers' own library: for every code point beyond ASCII in a label,
    the name normal_name spells is the one libidn2 (UTS 46 non-transitional) asks, or one
    libidn2 refuses (no program can ask it); a hint is libidn2's name.  (Found on main: 4
    names -- the deviations -- spelled otherwise; and more beyond them, a character newer
    than Unicode 3.2 mapped by UTS 46 only.)"""
    idn2 = _idn2()
    spelled = hinted = 0
    for cp in range(0x80, 0x30000):
        if unicodedata.category(chr(cp)) == "Cn":
            continue
        name = f"a{chr(cp)}.test"
        try:
            ours = normal_name(name)
        except UnsureSpelling as exc:
            if exc.hint:
                hinted += 1
                assert idn2(name) == exc.hint, (hex(cp), exc.hint)
            continue
        except UnicodeError:
            continue
        theirs = idn2(name)
        assert theirs in (None, ours), (hex(cp), ours, theirs)
        spelled += theirs is not None
    assert spelled > 10000 and hinted == 2, (spelled, hinted)  # (ß and final sigma)


def test_a_hosts_file_name_not_spelled_alike_names_no_address(tmp_path: Path) -> None:
    """/etc/hosts beyond ASCII: ``faß.test`` had been recorded as fass.test (another domain,
    which a learned policy or an offer then named); a name IDNA cannot spell (U+FFFD, an
    undecodable byte) raised as the run began.  Now neither names its address."""
    hosts = tmp_path / "hosts"
    hosts.write_bytes(b"10.0.0.1 fa\xc3\x9f.test\n"        # faß.test in UTF-8
                      b"10.0.0.2 b\xfcch.test\n"            # no UTF-8: U+FFFD
                      b"10.0.0.3 b\xc3\xbccher.test\n")     # bücher.test
    table = NameTable()
    for address, names in read_hosts(str(hosts)):
        for name in names:
            table.add(name, [address])
    assert table.names_for("10.0.0.1") == ()
    assert table.names_for("10.0.0.2") == ()
    assert table.names_for("10.0.0.3") == ("xn--bcher-kva.test",)


def _query(labels: list[bytes]) -> bytes:
    wire = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    return struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + wire + struct.pack(">HH", 1, 1)


def test_a_name_is_at_most_255_octets_with_the_root_byte() -> None:
    """RFC 1035 2.3.4: 255 octets, the root's length byte counted -- what the server refuses
    (main read 256: one byte more)."""
    longest = [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61]  # 64+64+64+62 + 1 = 255
    assert query_of(_query(longest)).name == ".".join(x.decode() for x in longest)
    assert plain_query(_query(longest)).qtype == 1
    one_more = [*longest[:3], b"d" * 62]  # 256
    with pytest.raises(DnsFormatError, match="longer than 255"):
        query_of(_query(one_more))
