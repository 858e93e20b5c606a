"""A number in a generated name is written as its shape, not ``*`` (learn37): a pid, a
counter, Python's ``id()``, an address, a number in hex -- names whose length changes from
run to run were learned ``build.[1-9]*``, ``sort.*``, ``.#lk0x*``, ``pytest-*``, and a
replaced step of the next run could make any name of the prefix (``build.1evil``,
``sort.evil``).  The shape is bounded: digits (hex digits of one case) of a bounded count,
as brace alternatives.  Every name of the shape matches, and the literal it came from; no
name outside it does."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.generalize import (
    PID_SHAPE,
    RANDOM_CHAR,
    hex_shape,
    number_shape,
    written_glob,
)
from systrace_py.policy.glob import PathGlob, escape

HEADS = st.sampled_from(["build.", "sort.", "x.cpython-311.pyc.", "pytest-", "conf", "a-b_"])
TAILS = st.sampled_from(["", ".tmp", ".o", "subs.sh", "-pack"])


def _matches(glob_text: str, name: str) -> bool:
    return PathGlob("/d/" + glob_text).matches("/d/" + name)


def _number(digits: int) -> st.SearchStrategy[str]:
    """An unpadded decimal number of ``digits`` digits."""
    return st.integers(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits - 1).map(str)


@settings(max_examples=100, deadline=None)
@given(head=HEADS, tail=TAILS, learned=st.integers(1, 20).flatmap(_number),
       other=st.integers(1, 22).flatmap(_number),
       letters=st.text(string.ascii_letters + "_-", min_size=1, max_size=4))
def test_a_numbers_shape_matches_numbers_of_its_lengths_and_nothing_else(
        head, tail, learned, other, letters):
    name = head + learned + tail
    text = written_glob(name, escape(head) + "*" + escape(tail))
    assert "*" not in text, text
    assert _matches(text, name)  # the literal it came from
    n = len(learned)
    lengths = range(1, 8) if n <= 7 else range(n - 2, n + 2)
    assert _matches(text, head + other + tail) is (len(other) in lengths), (text, other)
    # nothing that is no number of those lengths: letters in it, around it, a leading 0
    assert not _matches(text, head + letters + tail)
    assert not _matches(text, head + learned[:1] + letters + learned[1:] + tail)
    assert not _matches(text, head + learned + letters + tail)
    if n >= 3:
        assert not _matches(text, head + "0" + learned[1:] + tail)
    assert not _matches(text, head + learned + "/x" + tail)


@settings(max_examples=100, deadline=None)
@given(pid=st.integers(100, 4194304), other=st.integers(1, 10 ** 8))
def test_a_pid_is_one_to_seven_digits_wherever_it_stands(pid, other):
    name = f"conf{pid}subs.sh"
    text = written_glob(name, "conf[1-9]*subs.sh")
    assert text == "conf" + PID_SHAPE + "subs.sh"
    assert _matches(text, name)
    assert _matches(text, f"conf{other}subs.sh") is (other <= 9999999)
    assert not _matches(text, "conf1evilsubs.sh") and not _matches(text, "confsubs.sh")


@settings(max_examples=100, deadline=None)
@given(digits=st.text("0123456789abcdef", min_size=8, max_size=16).filter(
    lambda d: d[0] != "0" and any(c.isalpha() for c in d)),
       other=st.text("0123456789abcdef", min_size=1, max_size=18),
       upper=st.booleans(), pid=st.integers(100, 4194304))
def test_an_address_is_its_hex_digits_of_its_case_and_about_its_length(
        digits, other, upper, pid):
    """gnupg's ``.#lk0xADDRESS.HOST.PID``: ``%p`` writes no leading zeros (its length may
    change), a padded one keeps its width."""
    if upper:
        digits, other = digits.upper(), other.upper()
    name = f".#lk0x{digits}.host.{pid}"
    text = written_glob(name, ".#lk0x*.host.[1-9]*")
    assert "*" not in text, text
    assert _matches(text, name)
    fits = len(digits) - 2 <= len(other) <= len(digits) + 1
    assert _matches(text, f".#lk0x{other}.host.{pid}") is fits, (text, other)
    assert not _matches(text, f".#lk0x{digits.swapcase()}.host.{pid}")  # (the other case)
    assert not _matches(text, f".#lk0x{digits}g.host.{pid}")
    assert not _matches(text, f".#lk0x{digits}.host.1evil")
    padded = "0000" + digits[:12]
    fixed = written_glob(f".#lk0x{padded}.h.{pid}", ".#lk0x*.h.[1-9]*")
    assert _matches(fixed, f".#lk0x{padded}.h.{pid}")
    assert not _matches(fixed, f".#lk0x{padded[1:]}.h.{pid}")


@settings(max_examples=100, deadline=None)
@given(run=st.text("0123456789abcdef", min_size=6, max_size=10).filter(
    lambda r: r[0] != "0" and any(c.isalpha() for c in r)),
       template=st.text(string.ascii_letters + string.digits, min_size=1, max_size=12).filter(
    lambda t: any(c not in "0123456789abcdef" for c in t)))
def test_a_hex_only_run_is_a_templates_xs_or_a_number_in_hex(run, template):
    """Not made as mkstemp makes a name, a run of hex digits only may be a template's X's
    (as many, of any of its letters) or a number in hex without its leading zeros (two
    fewer to one more hex digits); made so, the X's alone."""
    name = f"cc{run}.s"
    text = written_glob(name, "cc*.s")
    assert _matches(text, name)
    assert _matches(text, f"cc{template}.s") is (len(template) == len(run)), (text, template)
    assert _matches(text, f"cc{run[:-1]}.s") and _matches(text, f"cc{run}f.s")
    assert not _matches(text, f"cc{run[:-1]}-.s") and not _matches(text, "cc-evil.s")
    made_as_mkstemp = written_glob(name, "cc*.s", templated=True)
    assert made_as_mkstemp == "cc" + RANDOM_CHAR * len(run) + ".s"


def test_the_shapes_as_written():
    assert number_shape("4242") == number_shape("0") == PID_SHAPE == (
        "{[0-9],[1-9][0-9],[1-9][0-9][0-9],[1-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9],"
        "[1-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9]}")
    assert number_shape("007") == "[0-9][0-9][0-9]"  # padded: its width
    assert hex_shape("0000555e") == "[0-9a-f]" * 8
    assert hex_shape("7FFD") == "{" + ",".join("[0-9A-F]" * n for n in (2, 3, 4, 5)) + "}"
    # a pid and a content hash in one name (git's .tmp-PID-pack-HASH.pack)
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert written_glob(f".tmp-4242-pack-{sha}.pack", ".tmp-[1-9]*-pack-*.pack") == \
        ".tmp-" + PID_SHAPE + "-pack-" + "[0-9a-f]" * 40 + ".pack"
    # runs of no fixed length that are no number stay "*" (rustc's sessions)
    assert written_glob("s-hospgejhbg-1t59foy.lock", "s-*-*.lock") == "s-*-*.lock"
    # a name of many numbers: the shapes up to a bound of alternatives, the rest "*"
    many = written_glob("1234.5678.9012.3456", "[1-9]*.[1-9]*.[1-9]*.[1-9]*")
    assert many.count(PID_SHAPE) == 2 and many.endswith(".*.*"), many


def test_a_hex_generators_run_of_digits_only_is_hex_still():
    """cmake's ``cmTC_%05x`` and ``.tmp%05x`` draw digits only 1 time in 10: taken for a
    decimal number, the next configure was refused its ``cmTC_4324d_loc.tmpfb920``.  An
    address of digits only is hex as well; rustc's base-36 runs stay ``*``."""
    text = written_glob("cmTC_43245_loc.tmp12920", "cmTC_*_loc.tmp*")
    assert _matches(text, "cmTC_43245_loc.tmp12920") and \
        _matches(text, "cmTC_4324d_loc.tmpfb920")
    assert not _matches(text, "cmTC_evil_loc.tmpfb920")
    assert _matches(written_glob(".#lk0x12345678.h.4242", ".#lk0x*.h.[1-9]*"),
                    ".#lk0x5e81870a.h.77")
    assert written_glob("a.12345.rcgu.o", "a.*.rcgu.o") == "a.*.rcgu.o"
