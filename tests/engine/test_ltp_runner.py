"""The LTP parity runner's pure parts (bench/ltp_parity.py): reading LTP's results, comparing
two runs, reading a runtest file, and its policy.  LTP itself is not needed: the outputs below
are the two libraries' real formats, so a change to the runner that misreads them fails here
rather than quietly turning every difference into "identical"."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import Action, CallFacts, PathArg

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "ltp_parity.py"


def _load_runner():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("ltp_parity", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ltp_parity"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lp = _load_runner()

NEW_LIB = """\
tst_tmpdir.c:316: TINFO: Using /tmp/LTP_accGX1 as tmpdir (ext2/ext3/ext4 filesystem)
tst_test.c:2048: TINFO: LTP version: 20260529
access02.c:60: TPASS: access(file_f, F_OK) as root passed
access02.c:60: TFAIL: access(symlink_f, F_OK) as nobody failed: EACCES (13)
access02.c:60: TPASS: access(file_r, R_OK) as root passed

Summary:
passed   12
failed   4
broken   0
skipped  1
warnings 2
"""

OLD_LIB = """\
fcntl01     1  TPASS  :  Test F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL succeeded
fcntl01     2  TFAIL  :  fcntl01.c:88: F_DUPFD failed
fcntl01     3  TCONF  :  fcntl01.c:90: not supported
fcntl01     4  TBROK  :  fcntl01.c:91: cleanup
fcntl01     5  TPASS  :  again
fcntl01     6  TINFO  :  not a result
"""


def test_the_new_librarys_summary_block_is_read() -> None:
    summary = lp.parse_summary(NEW_LIB)
    assert summary.counts() == (12, 4, 0, 1, 2)
    assert summary.source == "summary"


def test_the_summary_block_wins_over_the_result_lines() -> None:
    # three result lines, but the library counted twelve passes (children report too)
    assert lp.parse_summary(NEW_LIB).passed == 12


def test_the_old_librarys_result_lines_are_counted() -> None:
    summary = lp.parse_summary(OLD_LIB)
    assert summary.counts() == (2, 1, 1, 1, 0)
    assert summary.source == "lines"


def test_new_library_lines_without_a_summary_are_counted() -> None:
    # a test killed before its summary: what it printed still counts
    text = "foo.c:1: TPASS: a\nfoo.c:2: TBROK: b\ntst_test.c:3: TWARN: c\nfoo.c:4: TINFO: d\n"
    assert lp.parse_summary(text).counts() == (1, 0, 1, 0, 1)


def test_output_without_results_is_none() -> None:
    summary = lp.parse_summary("Segmentation fault\n")
    assert summary.counts() == (0, 0, 0, 0, 0)
    assert summary.source == "none"


def test_a_summary_at_the_very_start_is_read() -> None:
    assert lp.parse_summary("Summary:\npassed   3\nfailed   0\n").passed == 3


@given(st.tuples(*(st.integers(0, 10_000) for _ in range(5))),
       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_summary_is_read_back_whatever_came_before(counts: tuple[int, ...],
                                                       noise: str) -> None:
    block = "\nSummary:\n" + "".join(
        f"{key:<8} {value}\n" for key, value in zip(lp._SUMMARY_KEYS, counts, strict=True))
    assert lp.parse_summary(noise.replace("Summary:", "") + block).counts() == counts


def _result(status: int, counts: tuple[int, int, int, int, int]) -> object:
    return lp.RunResult(status, lp.Summary(*counts, source="summary"), 0.1)


def test_runs_are_the_same_only_with_the_same_status_and_counts() -> None:
    base = _result(0, (3, 0, 0, 0, 0))
    assert lp.same(base, _result(0, (3, 0, 0, 0, 0)))
    assert not lp.same(base, _result(1, (3, 0, 0, 0, 0)))       # exit status
    assert not lp.same(base, _result(0, (2, 1, 0, 0, 0)))       # a pass became a failure
    assert not lp.same(base, _result(0, (3, 0, 0, 1, 0)))       # a skip more (a refusal)
    assert not lp.same(base, _result(lp.TIMEOUT, (3, 0, 0, 0, 0)))


def test_systraces_refusal_count_is_read() -> None:
    text = "foo.c:1: TPASS: a\nsystrace: refused 5 calls (-v or --log to see them)\n"
    assert lp.refused_calls(text) == 5
    assert lp.refused_calls("systrace: refused 1 call (-v ...)\n") == 1
    assert lp.refused_calls(NEW_LIB) == 0
    assert lp.interesting_lines(text) == ["systrace: refused 5 calls (-v or --log to see them)"]


def test_a_lifted_run_that_agreed_lifts_only_where_calls_were_refused() -> None:
    refused = lp.RunResult(2, lp.Summary(0, 0, 1, 0, 0, source="summary"), 0.1, refused=3)
    timed_out = _result(2, (0, 0, 1, 0, 0))        # LTP's timeout: nothing refused
    assert lp.lift_verdict(refused, None) == "lifted"
    assert lp.lift_verdict(timed_out, refused) == "lifted"
    assert lp.lift_verdict(timed_out, None) == "flake"
    assert lp.lift_verdict(timed_out, timed_out) == "flake"


def test_the_runtest_file_is_read() -> None:
    text = ("#DESCRIPTION:Kernel system calls\nabort01 abort01\n\n"
            "fcntl34_64 fcntl34_64\nmmap001 mmap001 -m 1  # a comment\n")
    tests = lp.parse_runtest(text)
    assert [t.name for t in tests] == ["abort01", "fcntl34_64", "mmap001"]
    assert tests[2].argv == ("mmap001", "-m", "1")
    assert [t.name for t in lp.select(tests, ["fcntl*", "abort01"])] == ["abort01", "fcntl34_64"]
    assert lp.select(tests, []) == tests


@pytest.mark.parametrize(("path", "refused"), [
    (f"{lp.DENIED_DIR}/x", True),
    (f"{lp.DENIED_DIR}/a/b", True),
    ("/tmp/LTP_abc/file", False),
    ("/etc/passwd", False),
])
def test_the_policy_permits_everything_but_its_one_directory(path: str, refused: bool) -> None:
    policy = loads_policy(lp.POLICY, "ltp-parity.toml")
    assert policy.main.default is Action.PERMIT
    for call in ("openat", "unlink"):
        decision = policy.main.decide(CallFacts(call, (PathArg("path", path),)))
        assert (decision.action is Action.NEVER) is refused, (call, path)


def test_the_lifting_policy_permits_the_unsafe_calls_and_keeps_the_rule() -> None:
    from systrace_py.policy.aliases import UNSAFE_CALLS

    policy = loads_policy(lp.lifting_policy(sorted(UNSAFE_CALLS)), "lift.toml")
    assert policy.main.decide(CallFacts("setns")).action is Action.PERMIT
    assert policy.main.decide(CallFacts("perf_event_open")).action is Action.PERMIT
    denied = CallFacts("openat", (PathArg("path", f"{lp.DENIED_DIR}/x"),))
    assert policy.main.decide(denied).action is Action.NEVER
    # and without the lifting rule the engine's refusal stands (the default does not lift)
    assert loads_policy(lp.POLICY).main.decide(CallFacts("setns")).action is not Action.PERMIT


def _round(*outcomes: object) -> dict[str, object]:
    """A round as ``--json`` writes it (read back), holding ``outcomes``."""
    import dataclasses
    import json

    return json.loads(json.dumps({"outcomes": [dataclasses.asdict(o) for o in outcomes]}))


def _outcome(name: str, native: object, traced: object, verdict: str,
             lifted: object = None) -> object:
    return lp.Outcome(name, [name], native, traced, verdict == "identical", verdict=verdict,
                      lifted=lifted)


def test_two_rounds_are_compared_test_by_test() -> None:
    ok = _result(0, (3, 0, 0, 0, 0))
    refused = _result(2, (0, 0, 1, 0, 0))
    before = _round(_outcome("a01", ok, ok, "identical"),
                    _outcome("b01", ok, refused, "lifted", lifted=ok),
                    _outcome("c01", ok, ok, "identical"))
    assert lp.changes(before, before) == []
    after = _round(_outcome("a01", ok, refused, "differs", lifted=refused),
                   _outcome("b01", ok, refused, "lifted", lifted=ok),
                   _outcome("d01", ok, ok, "identical"))
    assert lp.changes(before, after) == [
        "a01: verdict identical -> differs",
        "a01: traced exit 0 P3 F0 B0 S0 W0 -> exit 2 P0 F0 B1 S0 W0",
        "a01: lifted - -> exit 2 P0 F0 B1 S0 W0",   # a run only one round made counts
        "c01: only in the earlier round",
        "d01: only in the new round",
    ]
    timed_out = _round(_outcome("b01", ok, _result(lp.TIMEOUT, (0, 0, 0, 0, 0)), "lifted",
                                lifted=ok))
    assert lp.changes(_round(_outcome("b01", ok, refused, "lifted", lifted=ok)), timed_out) == [
        "b01: traced exit 2 P0 F0 B1 S0 W0 -> exit timeout P0 F0 B0 S0 W0"]


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to nobody, as LTP's tests do as root")
def test_a_test_that_switched_to_nobody_makes_its_directory_in_the_runs_tmpdir() -> None:
    """The old library's tests (``symlink03``) switch to "nobody" before ``tst_tmpdir`` makes
    their directory in TMPDIR: the runner's TMPDIR has /tmp's mode so that they can, natively
    and traced alike (under 0755 both sides broke with EACCES: identical, testing nothing)."""
    workroot = Path(tempfile.mkdtemp(prefix="ltp-parity."))  # as main() makes it
    workroot.chmod(0o755)
    try:
        _nobody_makes_a_directory_in(lp.run_tmpdir(workroot, "symlink03"))
    finally:
        shutil.rmtree(workroot)


def _nobody_makes_a_directory_in(tmp: Path) -> None:
    assert stat.S_IMODE(tmp.stat().st_mode) == 0o1777
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 1
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            tempfile.mkdtemp(prefix="LTP_sym", dir=tmp)
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_what_a_killed_run_left_mounted_in_its_tmpdir_is_found_last_mounted_first() -> None:
    """A run killed past the runner's limit never reaches LTP's cleanup (round 24's
    ``renameat01`` left its loop device mounted in its TMPDIR): the runner unmounts what
    /proc/self/mountinfo names under the run's TMPDIR -- only there, escapes read back, a
    mount on a mount first."""
    tmp = Path("/tmp/ltp-parity.x/renameat01.y")
    mountinfo = "\n".join([
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
        "45 22 7:0 / /tmp/ltp-parity.x/renameat01.y/LTP_ren/mntpoint ro - ext2 /dev/loop0 ro",
        "46 45 0:50 / /tmp/ltp-parity.x/renameat01.y/LTP_ren/mntpoint/a\\040b rw - tmpfs t rw",
        "47 22 7:1 / /tmp/ltp-parity.x/renameat01.yz/mntpoint ro - ext2 /dev/loop1 ro",
        "48 22 0:51 / /tmp/ltp-parity.x/renameat01.y rw - tmpfs t rw",
    ])
    assert lp.mounts_under(mountinfo, tmp) == [
        "/tmp/ltp-parity.x/renameat01.y/LTP_ren/mntpoint/a b",
        "/tmp/ltp-parity.x/renameat01.y/LTP_ren/mntpoint"]


def test_the_loop_devices_backed_by_a_runs_files_are_found(tmp_path: Path) -> None:
    """... and detaches the loop devices whose backing file (LTP's ``test_dev.img``, removed
    by then) is under the run's TMPDIR, by /sys/block's ``loopN/loop/backing_file``."""
    run = Path("/tmp/ltp-parity.x/renameat01.y")
    for name, backing in [("loop0", f"{run}/LTP_ren/test_dev.img (deleted)"),
                          ("loop1", "/tmp/ltp-parity.x/renameat01.yz/test_dev.img"),
                          ("loop3", f"{run}/img")]:
        (tmp_path / name / "loop").mkdir(parents=True)
        (tmp_path / name / "loop" / "backing_file").write_text(backing + "\n")
    (tmp_path / "loop2").mkdir()  # (no backing file: not attached)
    assert lp.loops_backed_under(tmp_path, run) == ["/dev/loop0", "/dev/loop3"]
