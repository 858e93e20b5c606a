"""Class 1 (the syscall table): a call an alias lists, or a call that takes a path, that the
decoders did not know.  A rule naming what such a call acts on could never match it, so the
default decided -- under ``default = "permit"`` a bypass.  Each program calls the drifted call
by its number (syscall(2)): without systrace it reaches the protected file (the attack is
real), under systrace it must not."""

from __future__ import annotations

import re

import pytest
from escape_lib import (
    Scene,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
    read_never,
    require_real,
)


def test_file_setattr_on_a_file_fswrite_protects(build, tmp_path):
    """file_setattr is in fswrite but had no path decoder: ``never fswrite`` never matched."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["file_setattr", s.secret],
                           lambda s: policy(never("fswrite", path=f"{s.secd}/**")))


def test_file_getattr_on_a_file_fsread_protects(build, tmp_path):
    """file_getattr was in no alias at all: ``never fsread`` did not cover it."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["file_getattr", s.secret],
                           lambda s: read_never(s.secret))


def test_raw_fstat_on_a_descriptor_a_rule_names(build, tmp_path):
    """A rule may put a path on fstat (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH),
    decided as fstat on the descriptor's file), but the fstat call itself had no decoder."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["fstat", s.secret],
                           lambda s: policy(never("fstat", path=str(s.secret))))


def test_open_tree_attr_on_a_directory_a_namespace_rule_protects(build, tmp_path):
    """open_tree_attr was listed as taking a path but had no decoder: with the namespace calls
    permitted, a rule refusing them on one directory never matched it."""

    def rules(s: Scene) -> str:
        return policy(never("namespace", path=f"{s.secd}/**"), permit("namespace"))

    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["open_tree_attr", s.secd], rules)


def test_open_tree_of_a_symlink_without_following_it(build, tmp_path):
    """Parity: with AT_SYMLINK_NOFOLLOW, open_tree acts on the symlink itself, so a rule on
    what the symlink points at does not apply (the decoder once followed it regardless, and
    refused a call the kernel would have run on a permitted path)."""
    program = build("escape/table_drift.c")
    s = Scene.make(tmp_path)
    link = s.work / "link"
    link.symlink_to(s.secd)
    rules = policy(never("namespace", path=f"{s.secd}/**"), permit("namespace"))
    require_real(attack(program, "open_tree_link", link, policy_text=None, scene=s))
    traced = attack(program, "open_tree_link", link, policy_text=rules, scene=s)
    assert traced.verdict == "ESCAPED", traced


def test_exchange_moves_the_protected_file_out(build, tmp_path):
    """renameat2(RENAME_EXCHANGE) gives *both* files a new name: the "new" path must be read as
    well as written, like the "old" one, and must not be a file a refusing rule names."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["exchange", s.secret, s.work],
                           lambda s: read_never(s.secret))


def test_setflags_through_a_read_only_descriptor(build, tmp_path):
    """ioctl(FS_IOC_SETFLAGS) needs only ownership, not a descriptor open for writing: it
    changes a file fswrite protects as file_setattr does."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["setflags", s.secret],
                           lambda s: policy(never("fswrite", path=f"{s.secd}/**")))


def test_exchange_of_a_directory_holding_the_protected_file(build, tmp_path):
    """The same with directories: the protected file moves out with its directory, which is
    decided for what lies below it, as the old path of a rename is."""
    controlled_and_blocked(tmp_path, build("escape/table_drift.c"),
                           lambda s: ["exchange_dir", s.secd, s.work, s.secret.name],
                           lambda s: read_never(s.secret))


def _parity_policy(s: Scene) -> str:
    """Refusing rules on the secret's directory, so renames, links and the file-changing
    ioctls stop and are decided."""
    return policy(never("fsread", path=str(s.secret)), never("fswrite", path=f"{s.secd}/**"))


def _stopping_every_ioctl(s: Scene) -> str:
    """The same, and a rule on ioctl itself: then every ioctl stops and is decided."""
    return policy(never("ioctl", path=f"{s.root}/nowhere/**"), never("fswrite",
                                                                      path=f"{s.secd}/**"))


@pytest.mark.parametrize(("mode", "target", "rules"), [
    ("exchange_ok", "decoy", _parity_policy),
    ("getflags", "secd", _parity_policy),
    ("getflags", "secd", _stopping_every_ioctl),
    ("setflags", "decoy", _parity_policy),
    ("setflags", "decoy", _stopping_every_ioctl),
])
def test_permitted_exchanges_and_ioctls_work_as_natively(build, tmp_path, mode, target, rules):
    """Parity: an exchange of two permitted files, FS_IOC_GETFLAGS (a read, even of the
    directory fswrite protects) and FS_IOC_SETFLAGS on a permitted file do under systrace
    exactly what they do without it."""
    program = build("escape/table_drift.c")
    outcomes = []
    for traced in (False, True):
        s = Scene.make(tmp_path, "traced" if traced else "native")
        other = s.work / "other"
        other.write_text("the other file\n")
        outcomes.append(attack(program, mode, getattr(s, target), other,
                               policy_text=rules(s) if traced else None, scene=s))
    native, traced_run = outcomes
    require_real(native)
    assert traced_run.verdict == "ESCAPED", traced_run
    assert traced_run.detail == native.detail, (native, traced_run)


@pytest.mark.parametrize(("mode", "stops_per_round"), [("ioctls", 0), ("setflags_same", 1)])
def test_the_prefilter_stops_only_the_requests_that_change_a_file(build, tmp_path, mode,
                                                                  stops_per_round):
    """Under an fswrite rule, terminal and descriptor ioctls (TCGETS, TIOCGWINSZ, FIONREAD,
    FS_IOC_GETFLAGS) never stop: the filter reads the request.  Each FS_IOC_SETFLAGS does."""
    program = build("escape/table_drift.c")
    stops = []
    for rounds in (0, 100):
        s = Scene.make(tmp_path, f"rounds{rounds}")
        out = attack(program, mode, s.decoy, rounds, scene=s, options=("--stats",),
                     policy_text=policy(never("fswrite", path=f"{s.secd}/**")))
        if out.verdict == "SKIPPED":
            pytest.skip(out.detail)
        assert out.verdict == "ESCAPED", out
        found = re.search(r"systrace: (\d+) stops", out.stderr)
        assert found is not None, out
        stops.append(int(found.group(1)))
    assert stops[1] - stops[0] == 100 * stops_per_round, stops


# --- a descriptor call through its path-call stand-in, to the native loop (red team 2) ----------

def test_a_refused_descriptor_call_through_its_stand_in(build, tmp_path):
    """newfstatat(fd, "", AT_EMPTY_PATH) is glibc's fstat and is decided as fstat: a rule
    refusing fstat refuses it whichever loop decides (the native one decided it by the
    descriptor's name against newfstatat's path rules, never consulting the fstat rule)."""
    controlled_and_blocked(
        tmp_path, build("escape/path_emptyfd.c", "-static"), lambda s: [],
        lambda s: policy(never("fstat", errno="EPERM"),
                         never(["fsread", "fswrite"], path=f"{s.secd}/**")))
