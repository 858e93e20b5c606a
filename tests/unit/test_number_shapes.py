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
    BASE36_DIGIT,
    PID_SHAPE,
    RANDOM_CHAR,
    brace_alternatives,
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
    # (1 to 7 digits, or to 2 more than it has: the same counter on 100 times the input --
    # learn38; a longer number, two fewer to two more)
    lengths = range(1, max(7, n + 2) + 1) if n <= 7 else range(n - 2, n + 3)
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
    # padded: its width, or to 2 digits more, the first not 0 (%03d past 999)
    assert number_shape("007") == \
        "{[0-9][0-9][0-9],[1-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9]}"
    assert number_shape("007", spread=0) == "[0-9][0-9][0-9]"
    assert number_shape("123") == number_shape("1234567", pid=True) == PID_SHAPE
    assert number_shape("1234567") == (
        PID_SHAPE[:-1] + ",[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],"
        "[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]}")
    assert hex_shape("0000555e") == "[0-9a-f]" * 8
    assert hex_shape("7FFD") == "{" + ",".join("[0-9A-F]" * n for n in (2, 3, 4, 5)) + "}"
    # a pid and a content hash in one name (git's .tmp-PID-pack-HASH.pack)
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert written_glob(f".tmp-4242-pack-{sha}.pack", ".tmp-[1-9]*-pack-*.pack") == \
        ".tmp-" + PID_SHAPE + "-pack-" + "[0-9a-f]" * 40 + ".pack"
    # rustc's sessions: their base-36 runs' shapes (learn38; they were "*")
    assert written_glob("s-hospgejhbg-1t59foy.lock", "s-*-*.lock") == \
        "s-" + BASE36_DIGIT * 10 + "-" + BASE36_DIGIT * 7 + ".lock"
    # a name of many numbers: each a shape, of fewer lengths as the bound of alternatives
    # leaves them (they were "*" past it: learn38)
    many = written_glob("1234.5678.9012.3456", "[1-9]*.[1-9]*.[1-9]*.[1-9]*")
    assert "*" not in many and brace_alternatives(many) <= 64, many
    assert many.count(number_shape("1234", spread=1)) >= 2, many


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


# --- learn38: counters that grow, several numbers in a name, rustc's sessions ---------------

@settings(max_examples=150, deadline=None)
@given(width=st.integers(2, 9), value=st.integers(0, 10 ** 9), more=st.integers(0, 10 ** 11),
       letters=st.text(string.ascii_letters + "_-", min_size=1, max_size=3))
def test_a_padded_counter_may_outgrow_its_width_by_two_digits(width, value, more, letters):
    """``%0Nd`` writes N digits, leading zeros, until the count has more: learned as N
    ``[0-9]``, the next run with more input was refused ``part-10000`` after ``part-9999``.
    The shape: N digits, or N+1, N+2 without a leading zero -- what ``%0Nd`` writes."""
    learned = f"{value % 10 ** (width - 1):0{width}d}"  # (a leading 0: padded)
    text = written_glob(f"part-{learned}.txt", "part-*.txt")
    assert _matches(text, f"part-{learned}.txt")
    written = f"{more:0{width}d}"
    assert _matches(text, f"part-{written}.txt") is (len(written) <= width + 2), (text, written)
    assert not _matches(text, f"part-0{written}.txt")  # (a leading 0 past the width)
    assert not _matches(text, f"part-{learned}{letters}.txt")
    assert not _matches(text, f"part-{learned[:-1]}.txt")  # (fewer digits than its width)


@settings(max_examples=150, deadline=None)
@given(spread=st.sampled_from([None, 0, 1, 2]), learned=st.integers(1, 16).flatmap(_number),
       other=st.integers(1, 20).flatmap(_number), pid=st.booleans())
def test_a_narrower_shape_is_within_the_whole_shape(spread, learned, other, pid):
    """``spread`` takes lengths away, never adds one: a narrower shape grants no name the
    whole shape does not, and every one keeps the learned number."""
    narrow, whole = number_shape(learned, spread, pid=pid), number_shape(learned, pid=pid)
    assert _matches(narrow, learned) and _matches(whole, learned)
    if _matches(narrow, other):
        assert _matches(whole, other)
        if spread is not None:
            assert abs(len(other) - len(learned)) <= spread
    if pid and len(learned) <= 7:
        assert whole == PID_SHAPE
    assert brace_alternatives(number_shape(learned, 0, pid=pid)) == 1


@settings(max_examples=100, deadline=None)
@given(numbers=st.lists(st.integers(100, 4194304), min_size=2, max_size=8))
def test_a_name_of_several_numbers_gives_each_a_shape_within_the_bound(numbers):
    """Past the bound of alternatives the numbers were ``*`` (any name of the prefix): each
    is a shape of fewer lengths now, its own at least."""
    name = ".".join(map(str, numbers))
    text = written_glob(name, ".".join(["[1-9]*"] * len(numbers)))
    assert "*" not in text and brace_alternatives(text) <= 64, text
    assert _matches(text, name)
    assert not _matches(text, name + "x") and not _matches(text, "1evil." + name)


def test_rustcs_session_names_are_their_base36_shapes():
    """``s-TIME-RANDOM`` (``.lock``, ``-working``) and ``s-TIME-RANDOM-SVH``: 10 base-36
    digits of the time, the random ``u32``'s 7 (padded), the hash's as many as it has.  An
    older rustc's unpadded random number may have fewer: its length to 7."""
    svh = "8zsmwad3mfajej4yfwgy5qyha"
    done = written_glob(f"s-houeegcnx7-19ed67n-{svh}", "s-*-*-*")
    assert done == "s-" + BASE36_DIGIT * 10 + "-" + BASE36_DIGIT * 7 + "-" + BASE36_DIGIT * 25
    assert _matches(done, f"s-hoxz0j1cki-0dobqmu-{svh[::-1]}")
    for other in (f"s-hoxz0j1cki-0dobqmu-{svh}x", f"s-hoxz0j1cki-0dobqm-{svh}",
                  f"s-hoxz0j1ckiX-0dobqmu-{svh}", f"s-hoxz0j1cki-0dobqmu-{svh[:-1]}",
                  "s-hoxz0j1cki-0dobqmu-evil"):
        assert not _matches(done, other), other
    working = written_glob("s-houeeodifv-0dobqmu-working", "s-*-*-working")
    assert _matches(working, "s-hp00000000-zzzzzzz-working")
    assert not _matches(working, "s-hp00000000-zzzzzzz-workingx")
    older = written_glob("s-hospgejhbg-1t59fo.lock", "s-*-*.lock")  # (6: unpadded)
    assert _matches(older, "s-hospgejhbg-11t59fo.lock") and \
        not _matches(older, "s-hospgejhbg-1t59f.lock") and \
        not _matches(older, "s-hospgejhbg-01t59fo.lock".replace("-0", "-0", 1)[:-6] + "x.lock")
