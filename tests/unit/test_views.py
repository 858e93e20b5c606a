"""The pure parts of following new views of the file system (systrace_py.views, and the
exposure decisions of policy.model.Table): how the kernel reads mount(2)'s flags, a new file
system's source and options (overlay's escaped lowerdir lists above all), fsconfig's keys,
/proc/PID/mountinfo, and the one decision on namespace flags shared by unshare, clone and
clone3."""

from __future__ import annotations

import errno
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systrace_py import views
from systrace_py.engine.paths import Pivot
from systrace_py.kernel import (
    CLONE_NEW_FLAGS,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_UNTRACED,
    CLONE_VM,
    FSCONFIG_CMD_CREATE,
    FSCONFIG_SET_BINARY,
    FSCONFIG_SET_FD,
    FSCONFIG_SET_FLAG,
    FSCONFIG_SET_PATH,
    FSCONFIG_SET_STRING,
    MS_BIND,
    MS_MGC_VAL,
    MS_MOVE,
    MS_NOUSER,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MS_UNBINDABLE,
)
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.model import Action, CallFacts, PathArg, Rule, Table


# --- namespace flags --------------------------------------------------------------------------
@given(st.integers(0, 2**64 - 1))
def test_every_namespace_the_engine_follows_is_permitted(flags):
    """No namespace flag is refused (each is followed: views.NAMESPACE_FLAGS says how); clone
    refuses CLONE_UNTRACED, and nothing else of its flags, through the same function."""
    assert all(known.followed for known in views.NAMESPACE_FLAGS)
    assert views.namespace_refusal(flags) is None
    refusal = views.clone_refusal(flags, exit_signal_in_flags=False)
    assert (refusal is not None) == bool(flags & CLONE_UNTRACED)
    if refusal is not None:
        assert refusal[0] == errno.EPERM


def test_every_namespace_flag_is_in_the_table():
    table = {known.flag for known in views.NAMESPACE_FLAGS}
    assert sum(table) == CLONE_NEW_FLAGS and len(table) == 8


def test_an_unknown_namespace_would_be_refused(monkeypatch):
    """The one decision refuses a namespace the engine could not follow (were there one)."""
    monkeypatch.setattr(views, "NAMESPACE_FLAGS", tuple(
        known._replace(followed=known.flag != CLONE_NEWPID) for known in views.NAMESPACE_FLAGS))
    assert views.namespace_refusal(CLONE_NEWPID | CLONE_NEWUSER)[0] == errno.EPERM
    assert views.namespace_refusal(CLONE_NEWUSER | CLONE_NEWNS) is None
    assert views.clone_refusal(CLONE_NEWPID | CLONE_VM, exit_signal_in_flags=True) is not None


def test_clones_exit_signal_is_no_flag(monkeypatch):
    """clone(2)'s low byte is its exit signal: signal 0x80|x is not CLONE_NEWTIME."""
    monkeypatch.setattr(views, "NAMESPACE_FLAGS", tuple(
        known._replace(followed=known.flag != CLONE_NEWTIME) for known in views.NAMESPACE_FLAGS))
    assert views.clone_refusal(0x80 | 17, exit_signal_in_flags=True) is None
    assert views.clone_refusal(CLONE_NEWTIME, exit_signal_in_flags=False) is not None


# --- mount(2) ---------------------------------------------------------------------------------
_BITS = (MS_REMOUNT, MS_BIND, MS_REC, MS_MOVE, MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE)


def _kind_by_the_kernel(flags: int) -> str:
    """path_mount's dispatch (fs/namespace.c), written out case by case."""
    remount, bind = flags & MS_REMOUNT, flags & MS_BIND
    propagation = flags & (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
    if remount and bind:
        return "reconfigure"
    if remount:
        return "remount"
    if bind:
        return "bind"
    if propagation:
        return "propagation"
    return "move" if flags & MS_MOVE else "new"


@pytest.mark.parametrize("chosen", list(itertools.product((0, 1), repeat=len(_BITS))))
def test_mount_kinds_follow_the_kernels_order(chosen):
    flags = sum(bit for bit, on in zip(_BITS, chosen, strict=True) if on)
    assert views.mount_kind(flags) == _kind_by_the_kernel(flags)
    assert views.mount_kind(flags | MS_RDONLY) == _kind_by_the_kernel(flags)
    # the old magic, when it is the whole top half, is dropped; MS_NOUSER is refused
    if flags < 1 << 16:
        assert views.mount_kind(flags | MS_MGC_VAL) == _kind_by_the_kernel(flags)
    assert views.mount_kind(flags | MS_NOUSER) == "invalid"


@given(st.integers(0, 2**64 - 1))
def test_only_a_bind_or_a_move_looks_its_source_up(flags):
    kind = views.mount_kind(flags)
    assert (kind in views.SOURCE_IS_PATH) == (kind in ("bind", "move"))


# --- a new file system's source and options ---------------------------------------------------
#: directory names with every character overlay's parser treats specially
_NAMES = st.text(st.sampled_from("ab/,:\\= x."), min_size=1, max_size=12).filter(
    lambda name: name.strip(",") and "=" not in name)


def _escape(name: str) -> str:
    """How a program puts a directory in overlay's lowerdir: ",", ":" and "\\" escaped."""
    return "".join("\\" + c if c in ",:\\" else c for c in name)


@given(st.lists(_NAMES, min_size=1, max_size=5), st.lists(_NAMES, max_size=2))
def test_overlay_lower_layers_are_read_as_overlay_reads_them(lowers, data_only):
    """Escaped commas and colons stay in a name; "::" starts the data-only layers; every
    layer is a directory the mount looks up (and exposes)."""
    value = ":".join(_escape(n) for n in lowers)
    if data_only:
        value += "::" + ":".join(_escape(n) for n in data_only)
    options = f"index=off,lowerdir={value},upperdir={_escape('u,p')},workdir=w"
    layers = views.new_mount_layers("overlay", "whatever", options)
    assert layers is not None
    paths = [layer.path for layer in layers]
    assert paths == [*lowers, *data_only, "u,p", "w"]
    roles = [layer.role for layer in layers]
    assert len(set(roles)) == len(roles)  # one role per file
    assert roles[-2:] == ["upperdir", "workdir"]


def test_overlay_values_the_kernel_refuses_name_nothing():
    assert views.overlay_lowerdirs("a:::b") is None  # three colons
    assert views.overlay_lowerdirs("a:") is None     # a trailing colon
    assert views.overlay_lowerdirs("a\\") == ["a"]    # a lone trailing backslash is dropped
    assert views.new_mount_layers("overlay", None, "lowerdir=a:::b") == ()


@given(st.lists(st.tuples(st.text("abcdefgh", min_size=1, max_size=5),
                          st.text("ab/.-_0", max_size=6)), max_size=6))
def test_options_split_on_commas_into_keys_and_values(pairs):
    data = ",".join(f"{key}={value}" for key, value in pairs)
    assert views.split_options(data, escapes=False) == [(k, v) for k, v in pairs]


def test_the_sources_and_options_of_each_kind_of_file_system():
    # no file named: the source is free text, no option a path
    assert views.new_mount_layers("tmpfs", "/etc/shadow", "size=1M,mode=0700") == ()
    assert views.new_mount_layers("proc", None, "hidepid=2") == ()
    # a block device, and the options that name devices
    layers = views.new_mount_layers("ext4", "/dev/sdb1", "journal_path=/dev/sdc,noatime")
    assert [(layer.role, layer.path) for layer in layers] == [
        ("source", "/dev/sdb1"), ("journal_path", "/dev/sdc")]
    layers = views.new_mount_layers("btrfs", None, "device=/dev/a,source=/dev/b")
    assert [layer.path for layer in layers] == ["/dev/a", "/dev/b"]
    # a type the engine does not read: it cannot tell (None), unless nothing is given
    assert views.new_mount_layers("nfs", "server:/export", None) is None
    assert views.new_mount_layers("fuse.sshfs", None, "allow_other") is None
    assert views.new_mount_layers("cgroup", None, "release_agent=/tmp/x") is None
    assert views.new_mount_layers("nfs", None, None) == ()
    # (red team 67: binfmt_misc's register names interpreters the kernel opens later)
    assert views.new_mount_layers("binfmt_misc", None, None) is None
    # erofs over fscache: a cookie's blob, no file (review 32); its image and devices else
    assert views.new_mount_layers("erofs", "img", "fsid=x") is None
    assert views.new_mount_layers("erofs", None, "ro,domain_id=d,fsid=x") is None
    layers = views.new_mount_layers("erofs", "img", "ro,device=blob")
    assert [(layer.role, layer.path) for layer in layers] == [
        ("source", "img"), ("device", "blob")]


def test_fsconfig_values_that_name_files():
    for key in ("source", "lowerdir", "upperdir", "workdir", "lowerdir+", "journal_path",
                "logdev", "device"):
        for cmd in (FSCONFIG_SET_STRING, FSCONFIG_SET_PATH, FSCONFIG_SET_FD):
            assert views.fsconfig_layer(cmd, key) == key
    for cmd in (FSCONFIG_SET_FLAG, FSCONFIG_SET_BINARY, FSCONFIG_CMD_CREATE):
        assert views.fsconfig_layer(cmd, "source") is None
    assert views.fsconfig_layer(FSCONFIG_SET_STRING, "size") is None
    assert views.fsconfig_paths(FSCONFIG_SET_STRING, "lowerdir", "a\\:b:c") == [
        ("lowerdir", "a:b"), ("lowerdir", "c")]


# --- /proc/PID/mountinfo ----------------------------------------------------------------------
def test_mountinfo_lines():
    text = ("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:7 - ext3 "
            "/dev/root rw\n"
            "37 36 0:22 / /proc rw - proc proc rw\n"
            "garbage\n")
    first, second = views.parse_mountinfo(text)
    assert first == views.MountEntry(36, 35, (98, 0), "/mnt1", "/mnt/with space", "ext3",
                                     "/dev/root", True)
    assert (second.mount_point, second.fstype, second.shared) == ("/proc", "proc", False)


@given(st.sampled_from(["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                        "\u2029"]))
def test_a_mount_point_with_a_character_splitlines_breaks_at_is_one_mount(breaker):
    """The kernel prints such a character raw in /proc/PID/mountinfo (only space, tab,
    newline and backslash are escaped): the line is still one mount (red team 12)."""
    text = (f"89 57 0:40 / /tmp/m{breaker}7\\0401 rw,relatime shared:1 - tmpfs none rw\n"
            "37 36 0:22 / /proc rw - proc proc rw\n")
    first, second = views.parse_mountinfo(text)
    assert (first.mount_id, first.mount_point, first.fstype, first.shared) == (
        89, f"/tmp/m{breaker}7 1", "tmpfs", True)
    assert second.mount_point == "/proc"


# --- pivot_root, taken back -------------------------------------------------------------------
def test_names_after_a_pivot_root_are_taken_back():
    pivot = Pivot("/tmp/newroot", "/old", 40)
    assert pivot.before("/etc/x", {50, 41}) == "/tmp/newroot/etc/x"  # in the new root
    assert pivot.before("/", {50}) == "/tmp/newroot"
    assert pivot.before("/old/etc/x", {40, 41}) == "/etc/x"  # under the old root
    assert pivot.before("/old", {40}) == "/"
    assert pivot.before("/elsewhere", {40}) is None  # cannot be told


# --- the exposure decisions -------------------------------------------------------------------
def _table(*rules: tuple[str, str, Action], default: Action = Action.PERMIT) -> Table:
    return Table("t", default, rules=[Rule((calls,), action, path=PathGlob(pattern))
                                      for calls, pattern, action in rules])


def _mount(**paths: str) -> CallFacts:
    return CallFacts("mount", tuple(PathArg(role, path) for role, path in paths.items()),
                     directories=frozenset(paths), exposed=frozenset(paths))


def test_a_bind_of_what_a_rule_protects_is_refused_whatever_the_rules_calls():
    """The source shows everything below it under the target's name: a refusing rule that
    may match anything below (or the source itself), whatever its calls, refuses."""
    for calls in ("fsread", "exec", "fswrite"):
        table = _table((calls, "/home/*/.ssh/**", Action.NEVER))
        assert table.decide(_mount(old="/home", new="/mnt")).action is Action.NEVER
        assert table.decide(_mount(old="/home/u/.ssh/id", new="/mnt")).action is Action.NEVER
        assert table.decide(_mount(old="/srv", new="/mnt")).action is Action.PERMIT
    asking = _table(("fsread", "/data/**", Action.ASK))
    assert asking.decide(_mount(old="/", new="/mnt")).action is Action.ASK


def test_a_target_is_decided_for_what_it_covers():
    table = _table(("fswrite", "/etc/**", Action.NEVER))
    assert table.decide(_mount(new="/etc")).action is Action.NEVER
    assert table.decide(_mount(new="/tmp/x")).action is Action.PERMIT


def test_under_a_refusing_default_a_subtree_needs_a_rule_that_covers_it():
    table = _table(("fswrite", "/tmp/**", Action.PERMIT), default=Action.NEVER)
    table.rules.append(Rule(("namespace",), Action.PERMIT))
    assert table.decide(_mount(new="/tmp/x")).action is Action.PERMIT
    assert table.decide(_mount(new="/var")).action is Action.NEVER


def test_options_the_engine_cannot_read_are_refused_where_a_rule_could_care():
    """A file system whose options may name anything ("" names nothing a rule could match):
    refused as unsafe where a path rule refuses or asks, unless a rule names the call."""
    unknown = CallFacts("mount", (PathArg("new", "/mnt"), PathArg("options", "")),
                        exposed=frozenset({"options"}))
    assert _table().decide(unknown).action is Action.PERMIT
    refusing = _table(("fsread", "/secret/**", Action.NEVER))
    decision = refusing.decide(unknown)
    assert (decision.action, decision.reason, decision.errno) == (Action.NEVER, "unsafe",
                                                                  errno.EPERM)
    refusing.rules.append(Rule(("mount",), Action.PERMIT))
    assert refusing.decide(unknown).action is Action.PERMIT
