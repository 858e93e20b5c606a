"""Text shown on the user's terminal: nothing a terminal takes for a command gets through."""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata

import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.terminal import printable, toml_shown

_COMMANDS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: the default-ignorable code points that are not format characters (Unicode 14's
#: DerivedCoreProperties.txt, Default_Ignorable_Code_Point, less Cf): drawn as nothing
_IGNORABLE = "".join(chr(c) for first, last in (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2065, 0x2065),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF)) for c in range(first, last + 1))


@given(st.text())
def test_no_control_character_gets_through(text: str) -> None:
    assert not _COMMANDS.search(printable(text))


@given(st.binary())
def test_names_in_any_bytes_are_shown_without_controls(raw: bytes) -> None:
    """A file name is any bytes: decoded as the engine decodes them (surrogateescape)."""
    shown = printable(os.fsdecode(raw))
    assert not _COMMANDS.search(shown)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cf"),
                                      blacklist_characters="\\" + _IGNORABLE)))
def test_ordinary_names_are_shown_as_they_are(text: str) -> None:
    assert printable(text) == text


def test_controls_are_spelled_so_that_a_name_spelling_one_differs() -> None:
    assert printable("a\x1bb") == "a\\x1bb"
    assert printable("a\\x1bb") == "a\\\\x1bb"
    assert printable(os.fsdecode(b"\x9b2J")) == "\\x9b2J"
    assert printable("\u202eevil") == "\\u202eevil"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_a_policys_toml_holds_no_control_and_loads_back_the_same(text: str) -> None:
    """A learned policy holds names the traced program chose and ``systrace policy learn``
    prints it (red team 22): its strings carry no character a terminal obeys, and load back
    as they were."""
    shown = toml_shown(tomli_w.dumps({"path": text}))
    assert not _COMMANDS.search(shown.rstrip("\n"))
    assert tomllib.loads(shown) == {"path": text}


def test_invisible_format_characters_are_spelled() -> None:
    """A name holding a format character (Unicode's Cf: a zero-width space, a bidi mark, a
    soft hyphen, a tag) looks like a name without it on the terminal: a question about one
    file would read as about another (red team 61).  Every one is spelled, in a question and
    in a printed policy (which loads back the same)."""
    assert printable("out\u200b.o") == "out\\u200b.o"
    assert printable("a\u200fb\u061c") == "a\\u200fb\\u061c"
    assert printable("x\U000e0041") == "x\\U000e0041"
    formats = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    assert formats and all(printable(c) != c for c in formats)
    text = "".join(formats)
    shown = toml_shown(tomli_w.dumps({"path": text}))
    assert not any(c in shown for c in formats)
    assert tomllib.loads(shown) == {"path": text}


def test_invisible_default_ignorables_are_spelled() -> None:
    """The same for the default-ignorable code points that are not Cf (review 41): a
    variation selector, the combining grapheme joiner, a Hangul filler, Mongolian's free
    variation selectors are drawn as nothing too -- "pubd" and U+034F looked like "pubd"."""
    assert printable("pubd\u034f/app.conf") == "pubd\\u034f/app.conf"
    assert printable("a\ufe0fb\U000e0100") == "a\\ufe0fb\\U000e0100"
    assert all(printable(c) != c for c in _IGNORABLE)
    shown = toml_shown(tomli_w.dumps({"path": _IGNORABLE}))
    assert not any(c in shown for c in _IGNORABLE)
    assert tomllib.loads(shown) == {"path": _IGNORABLE}
