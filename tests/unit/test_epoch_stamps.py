"""A count of seconds since the epoch in a name, when its value is the learning run's own
time (learn24, generalize.epoch_stamps): ``build-$(date +%s%N).log`` is the shape of its
19 digits, and a pid beside a date in a name (``tree-$(date +%Y%m%d-%H%M%S)-$$.tgz``) the
shape of a pid.  The glob matches every name the next runs make and no name of another
shape."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from systrace_py.policy.generalize import PID_SHAPE, epoch_stamps, shaped_glob
from systrace_py.policy.glob import PathGlob

NOW = 1796527651.7   # the run's first record (2026-12-06)
TIMES = (NOW, NOW + 30.0)
UNITS = (10, 13, 16, 19)  # s, ms, us, ns


def stamp(at: float, digits: int) -> str:
    return str(int(at * 10 ** (digits - 10)))


def matches(glob: str, name: str) -> bool:
    return PathGlob("/d/" + glob).matches("/d/" + name)


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SEP = st.sampled_from(["-", "_", ".", "@"])
EXT = st.sampled_from(["", ".log", ".tgz", ".json", ".txt"])


@settings(max_examples=200, deadline=None)
@given(WORD, SEP, EXT, st.sampled_from(UNITS), st.floats(0, 30), st.floats(0, 10 ** 6))
def test_a_stamp_of_the_runs_time_is_its_shape_and_no_other_name(
        head, sep, ext, digits, offset, later) -> None:
    """Observed: a name made at the run's time.  Covered: it, and the next runs' (any
    later time of as many digits).  Not covered: a name of another digit count, of letters
    there, another head, ``.bashrc``."""
    name = f"{head}{sep}{stamp(NOW + offset, digits)}{ext}"
    glob = shaped_glob(name, TIMES)
    assert glob is not None and "*" not in glob, glob
    assert matches(glob, name)
    assert matches(glob, f"{head}{sep}{stamp(NOW + offset + later, digits)}{ext}")
    for other in (f"{head}{sep}{stamp(NOW, digits)[:-1]}{ext}",
                  f"{head}{sep}{stamp(NOW, digits)}0{ext}",
                  f"{head}{sep}{'x' * digits}{ext}",
                  f"{head}x{sep}{stamp(NOW, digits)}{ext}",
                  f"{head}{sep}{stamp(NOW, digits)}{ext}.bak", ".bashrc",
                  f"{head}{sep}{stamp(NOW, digits)}{ext}/x"):
        assert not matches(glob, other), (glob, other)


@settings(max_examples=200, deadline=None)
@given(WORD, SEP, st.sampled_from(UNITS),
       st.one_of(st.floats(10 ** 8, NOW - 3), st.floats(NOW + 33, 4 * 10 ** 9)))
def test_a_number_that_is_not_the_runs_time_stays_as_it_is(head, sep, digits, at) -> None:
    """A number of a stamp's length whose value is not the run's time (an id, a size, an
    older run's stamp) is no stamp: the name stays literal."""
    number = stamp(at, digits)
    assume(len(number) == digits)
    name = f"{head}{sep}{number}.log"
    assert epoch_stamps(name, TIMES) == []
    assert shaped_glob(name, TIMES) is None
    assert shaped_glob(f"{head}{sep}{stamp(NOW, digits)}.log", None) is None  # no times


@settings(max_examples=200, deadline=None)
@given(WORD, st.integers(100, 4194303), st.integers(100, 4194303))
def test_a_pid_beside_a_date_is_a_pids_shape(head, pid, next_pid) -> None:
    """``tree-20261206-033004-23573.tgz`` (date +%Y%m%d-%H%M%S, then $$): the pid of one of
    the run's processes is 1 to 7 digits (a pid namespace's pids are short: learn37), no
    leading zero -- the next run's pid is covered, no name with letters or a leading zero
    there, no other name."""
    name = f"{head}-20261206-033004-{pid}.tgz"
    glob = shaped_glob(name, TIMES, {pid})
    assert glob is not None and PID_SHAPE in glob and "*" not in glob
    assert matches(glob, name)
    assert matches(glob, f"{head}-20270101-000000-{next_pid}.tgz")
    for other in (f"{head}-20261206-033004-0{pid}.tgz", f"{head}-20261206-033004-.tgz",
                  f"{head}-20261206-033004-12345678.tgz", f"{head}-20261206-033004-1x3.tgz",
                  f"{head}-20261206-033004-{pid}.tgz.bak", f"x{head}-20261206-033004-{pid}.tgz"):
        assert not matches(glob, other), (glob, other)
    # a number that is no pid of the run stays
    assert PID_SHAPE not in (shaped_glob(name, TIMES, {pid + 1}) or "")
