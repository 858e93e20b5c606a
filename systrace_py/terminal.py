"""Text for the user's terminal, made of what traced programs chose.

Paths, program names and argv are the traced program's to choose, any bytes but NUL, and the
tracer shows them on the terminal of the person running it (``-v``, refusals, the asking
front end's replies).  Written raw, an escape sequence in a file name is obeyed by that
terminal: it can rewrite the lines above (hide a refusal, show another path than the one
asked about), set the title, and on some terminals make the terminal *type* a reply -- input
pushed to the user's shell, which the TIOCSTI guard refuses when the program does it itself.
So every such text is shown with its control characters spelled out (docs/security.md,
class 6, "the tracer's own output").
"""

from __future__ import annotations

import re

#: Unicode's format characters (category Cf, as of Unicode 14): invisible, or marks that
#: reorder what is shown -- the bidirectional overrides and isolates, but also the marks
#: (U+200E, U+200F, U+061C), zero-width spaces and joiners, the soft hyphen, the byte-order
#: mark, tags: a name holding one looks like a name without it (red team 61)
_FORMAT = ("\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
           "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd"
           "\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
           "\U000e0001\U000e0020-\U000e007f")

#: the other default-ignorable code points (Unicode's Default_Ignorable_Code_Point, as of
#: Unicode 14, less the format characters above): drawn as nothing -- the combining
#: grapheme joiner, the variation selectors (U+FE00-FE0F, U+E0100-E01EF), Mongolian's and
#: Khmer's, the Hangul fillers, and the ranges reserved to be so (U+2065, U+FFF0-FFF8,
#: U+E0000-E0FFF): a name holding one looks like a name without it, as with a Cf (review 41)
_IGNORABLE = ("\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u3164\ufe00-\ufe0f\uffa0"
              "\ufff0-\ufff8\U000e0000-\U000e0fff")

#: C0 and C1 controls, DEL, the format characters and other default-ignorables (above),
#: line and paragraph separators, lone surrogates (bytes that are not UTF-8, some of them
#: 8-bit controls), and the backslash (so that an escape cannot be told from a name that
#: spells one)
_UNPRINTABLE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029" + _FORMAT + _IGNORABLE
                          + "\ud800-\udfff]")


def _spelled(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal could take for a command spelled out."""
    return _UNPRINTABLE.sub(_spelled, text)


#: the characters of _UNPRINTABLE that a TOML writer (tomli-w) leaves raw in a string: it
#: escapes the other C0 controls, DEL, the quote and the backslash, not the tab, C1 controls
#: (U+009B is CSI to a terminal), the bidirectional controls or the line separators
_RAW_IN_TOML = re.compile("[\t\x80-\x9f\u2028\u2029" + _FORMAT + _IGNORABLE + "]")


def toml_shown(text: str) -> str:
    """TOML text with every character of its strings that a terminal could take for a command
    escaped as ``\\uXXXX`` -- which loads back as the same string: a learned policy holds
    names the traced program chose, and ``systrace policy learn`` prints it on stdout (red team
    22).  Only strings hold such characters in a TOML document, so the whole text is taken."""
    return _RAW_IN_TOML.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) <= 0xFFFF
                            else f"\\U{ord(m.group()):08x}", text)
