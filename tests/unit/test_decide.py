"""Table.decide semantics on loaded policies: first match, defaults, aliases and classes, O_RDWR
needing both classes, two-path calls, unsafe calls refused unless named, per-program tables."""

from __future__ import annotations

import dataclasses
import errno
import os

from hypothesis import given
from hypothesis import strategies as st

from systrace_py.kernel import FILE_CHANGING_IOCTLS, RENAME_EXCHANGE, RENAME_NOREPLACE, TIOCSTI
from systrace_py.policy.files import loads_policy
from systrace_py.policy.filterplan import Verdict, plan
from systrace_py.policy.model import (
    Absence,
    Absent,
    Action,
    CallFacts,
    PathArg,
    Policy,
    Reason,
    SockAddr,
    answer_key,
)

ENV = {"HOME": "/home/alice", "USER": "alice", "CWD": "/w"}


def load(text: str) -> Policy:
    return loads_policy(text, "p.toml", ENV)


def opening(path: str, flags: int = os.O_RDONLY, call: str = "openat") -> CallFacts:
    return CallFacts(call, (PathArg("path", path),), open_flags=flags)


def test_first_match_wins() -> None:
    policy = load("""
        [[rule]]
        calls = ["fsread"]
        path = "/etc/passwd"
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/etc/*"
        action = "never"
        errno = "EACCES"
    """)
    assert policy.main.decide(opening("/etc/passwd")).action is Action.PERMIT
    refused = policy.main.decide(opening("/etc/shadow"))
    assert (refused.action, refused.errno, refused.rule.index) == (Action.NEVER, errno.EACCES, 2)
    assert refused.reason == "rule"
    assert refused.arg == PathArg("path", "/etc/shadow")


def test_default_and_default_errno() -> None:
    policy = load("""
        default = "never"
        default_errno = "ENOENT"
        [[rule]]
        calls = ["read"]
        action = "permit"
    """)
    assert policy.main.decide(CallFacts("read")).action is Action.PERMIT
    d = policy.main.decide(CallFacts("write"))
    assert (d.action, d.errno, d.reason, d.rule) == (Action.NEVER, errno.ENOENT, "default", None)
    assert load("").main.decide(CallFacts("write")).action is Action.PERMIT


def test_alias_classes_of_open_depend_on_flags() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        action = "never"
    """)
    assert policy.main.decide(opening("/x", os.O_RDONLY)).action is Action.PERMIT
    assert policy.main.decide(opening("/x", os.O_WRONLY)).action is Action.NEVER
    assert policy.main.decide(opening("/x", os.O_RDONLY | os.O_CREAT)).action is Action.NEVER
    assert policy.main.decide(opening("/x", os.O_RDONLY | os.O_TRUNC)).action is Action.NEVER


def test_rdwr_open_needs_fsread_and_fswrite() -> None:
    policy = load("""
        default = "never"
        [[rule]]
        calls = ["fsread"]
        path = "/data/**"
        action = "permit"
    """)
    assert policy.main.decide(opening("/data/a", os.O_RDONLY)).action is Action.PERMIT
    rdwr = policy.main.decide(opening("/data/a", os.O_RDWR))
    assert (rdwr.action, rdwr.reason) == (Action.NEVER, "default")
    both = load("""
        default = "never"
        [[rule]]
        calls = ["fsread", "fswrite"]
        path = "/data/**"
        action = "permit"
    """)
    assert both.main.decide(opening("/data/a", os.O_RDWR)).action is Action.PERMIT


def test_strictest_check_wins_ask_over_permit() -> None:
    policy = load("""
        [[rule]]
        calls = ["fsread"]
        action = "permit"
        [[rule]]
        calls = ["fswrite"]
        action = "ask"
    """)
    assert policy.main.decide(opening("/f", os.O_RDWR)).action is Action.ASK


def test_exec_is_fsread_and_exec() -> None:
    policy = load("""
        [[rule]]
        calls = ["fsread"]
        path = "/secret/**"
        action = "never"
    """)
    facts = CallFacts("execve", (PathArg("path", "/secret/tool"),), argv=("tool",))
    assert policy.main.decide(facts).action is Action.NEVER
    exec_only = load("""
        [[rule]]
        calls = ["exec"]
        argv = ["tool", "--safe", "**"]
        action = "permit"
        [[rule]]
        calls = ["exec"]
        action = "never"
    """)
    assert exec_only.main.decide(
        CallFacts("execve", (PathArg("path", "/t"),), argv=("tool", "--safe"))).action \
        is Action.PERMIT
    assert exec_only.main.decide(
        CallFacts("execve", (PathArg("path", "/t"),), argv=("tool", "-x"))).action is Action.NEVER


def test_rename_needs_both_paths() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "/protected/**"
        action = "never"
        [[rule]]
        calls = ["fsread"]
        path = "/secret/**"
        action = "never"
    """)
    def rename(old: str, new: str) -> CallFacts:
        return CallFacts("rename", (PathArg("old", old), PathArg("new", new)))
    assert policy.main.decide(rename("/tmp/a", "/tmp/b")).action is Action.PERMIT
    into = policy.main.decide(rename("/tmp/a", "/protected/b"))
    assert into.action is Action.NEVER and into.arg == PathArg("new", "/protected/b")
    out_of = policy.main.decide(rename("/protected/a", "/tmp/b"))
    assert out_of.action is Action.NEVER and out_of.arg == PathArg("old", "/protected/a")
    # the old path is read as well as written: moving a secret out is reading it
    leak = policy.main.decide(rename("/secret/k", "/tmp/k"))
    assert leak.action is Action.NEVER and leak.arg.role == "old"


_PROTECTING = load("""
    default = "permit"
    [[rule]]
    calls = ["fsread"]
    path = "/secret/**"
    action = "never"
    [[rule]]
    calls = ["fswrite"]
    path = "/protected/**"
    action = "never"
    [[rule]]
    calls = ["net-connect"]
    unix = "/run/guarded.sock"
    action = "never"
    [[rule]]
    calls = ["exec"]
    path = "/usr/bin/forbidden"
    action = "never"
""")
_RENAME_FLAGS = st.sampled_from([0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_EXCHANGE | 4,
                                 RENAME_EXCHANGE | 1 << 40])


def renameat2(old: str, new: str, flags: int, *, directory: str | None = None,
              socket: str | None = None, inside: tuple[str, ...] = ()) -> CallFacts:
    return CallFacts("renameat2", (PathArg("old", old), PathArg("new", new)),
                     directories=frozenset([directory] if directory else []),
                     sockets=frozenset([socket] if socket else []), sockets_inside=inside,
                     selector=flags & 0xFFFFFFFF)


@given(_RENAME_FLAGS, st.sampled_from(["/secret/k", "/secret", "/run/guarded.sock",
                                       "/usr/bin/forbidden", "/protected/p"]))
def test_an_exchange_checks_its_new_path_as_an_old_one(flags: int, protected: str) -> None:
    """renameat2(RENAME_EXCHANGE) moves both files: the new path is read as well as written
    and must not be anything a refusing rule names (its file, socket, program, a directory
    holding one), exactly as the old path must not; without the flag the new path is only
    written (a file that a read rule protects may be replaced)."""
    exchange = bool(flags & RENAME_EXCHANGE)
    as_old = _PROTECTING.main.decide(renameat2(protected, "/tmp/x", flags,
                                               socket="old" if protected.endswith(".sock")
                                               else None,
                                               directory="old" if protected == "/secret"
                                               else None))
    assert as_old.action is Action.NEVER and as_old.role == "old"
    as_new = _PROTECTING.main.decide(renameat2("/tmp/x", protected, flags,
                                               socket="new" if protected.endswith(".sock")
                                               else None,
                                               directory="new" if protected == "/secret"
                                               else None))
    # (a directory as the new path is decided for what lies below it, exchanged or not)
    if exchange or protected.startswith("/protected") or protected == "/secret":
        assert as_new.action is Action.NEVER and as_new.role == "new", as_new
    else:
        assert as_new.action is Action.PERMIT, as_new


def test_an_exchanged_directory_may_not_hold_a_protected_socket() -> None:
    facts = renameat2("/tmp/d", "/run", RENAME_EXCHANGE, directory="new",
                      inside=("/run/guarded.sock",))
    refused = _PROTECTING.main.decide(facts)
    assert refused.action is Action.NEVER and refused.reason == "subtree", refused
    unrelated = renameat2("/tmp/d", "/run", RENAME_EXCHANGE, directory="new",
                          inside=("/run/other.sock",))
    assert _PROTECTING.main.decide(unrelated).action is Action.PERMIT


_REQUESTS = [request for request, _ in FILE_CHANGING_IOCTLS]


@given(st.one_of(st.sampled_from(_REQUESTS), st.integers(0, 2**32 - 1)))
def test_an_ioctl_is_fswrite_on_its_file_only_for_the_requests_that_change_it(
        request: int) -> None:
    """FS_IOC_SETFLAGS and its kin are decided as fchmod is, on the descriptor's file; any
    other request (a terminal's, FIONREAD, FS_IOC_GETFLAGS) is in no alias."""
    facts = CallFacts("ioctl", (PathArg("path", "/protected/f"),), selector=request)
    decision = _PROTECTING.main.decide(facts)
    if request in _REQUESTS:
        assert decision.action is Action.NEVER and decision.arg == facts.paths[0]
    else:
        assert decision.action is Action.PERMIT and decision.reason == "default"
    elsewhere = CallFacts("ioctl", (PathArg("path", "/tmp/f"),), selector=request)
    assert _PROTECTING.main.decide(elsewhere).action is Action.PERMIT


def test_a_rule_may_name_ioctl_and_the_file_behind_its_descriptor() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["ioctl"]
        path = "/dev/tty*"
        action = "never"
    """)
    def ioctl(path: str) -> CallFacts:
        return CallFacts("ioctl", (PathArg("path", path),), selector=TIOCSTI + 1)
    assert policy.main.decide(ioctl("/dev/tty1")).action is Action.NEVER
    assert policy.main.decide(ioctl("/tmp/f")).action is Action.PERMIT


def test_unsafe_calls_refused_unless_named() -> None:
    assert load("").main.decide(CallFacts("ptrace")).reason == "unsafe"
    assert load("").main.decide(CallFacts("ptrace")).action is Action.NEVER
    by_name = load('[[rule]]\ncalls = ["ptrace"]\naction = "permit"\n')
    assert by_name.main.decide(CallFacts("ptrace")).action is Action.PERMIT
    by_group = load('[[rule]]\ncalls = ["debug"]\naction = "permit"\n')
    assert by_group.main.decide(CallFacts("ptrace")).action is Action.PERMIT
    assert by_group.main.decide(CallFacts("io_uring_setup")).reason == "unsafe"
    assert load("").main.decide(CallFacts("bpf")).action is Action.NEVER


def test_direct_call_rule_and_alias_rule_interleave_in_file_order() -> None:
    policy = load("""
        [[rule]]
        calls = ["openat"]
        path = "/etc/hosts"
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/etc/**"
        action = "never"
    """)
    assert policy.main.decide(opening("/etc/hosts")).action is Action.PERMIT
    assert policy.main.decide(opening("/etc/hosts", call="open")).action is Action.NEVER


def test_network_rules() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["net-connect"]
        address = ["127.0.0.0/8", "::1"]
        action = "permit"
        [[rule]]
        calls = ["net-connect"]
        action = "never"
        errno = "ECONNREFUSED"
    """)
    local = CallFacts("connect", sockaddr=SockAddr("inet", "127.0.0.1", 80))
    remote = CallFacts("connect", sockaddr=SockAddr("inet", "8.8.8.8", 53))
    assert policy.main.decide(local).action is Action.PERMIT
    assert policy.main.decide(remote).errno == errno.ECONNREFUSED
    # a send on a connected socket has no address: only the unconditional rule applies
    assert policy.main.decide(CallFacts("sendto")).action is Action.NEVER


def test_redirect_rides_on_the_decision() -> None:
    policy = load("""
        [[rule]]
        calls = ["fsread"]
        path = "/etc/resolv.conf"
        action = "permit"
        redirect = "$HOME/resolv.conf"
    """)
    d = policy.main.decide(opening("/etc/resolv.conf"))
    assert d.redirect is not None and d.redirect.path == "/home/alice/resolv.conf"


def test_program_tables_and_inheritance() -> None:
    policy = load("""
        default = "never"
        default_errno = "EACCES"
        [program."/usr/bin/cat"]
        [[program."/usr/bin/cat".rule]]
        calls = ["read"]
        action = "permit"
        [program."/usr/bin/*sh"]
        default = "permit"
        [program."/usr/bin/dash"]
        default = "ask"
    """)
    cat = policy.table_for("/usr/bin/cat")
    assert cat is not None and cat.name == "/usr/bin/cat"
    assert cat.decide(CallFacts("read")).action is Action.PERMIT
    inherited = cat.decide(CallFacts("write"))
    assert (inherited.action, inherited.errno, inherited.table) == \
        (Action.NEVER, errno.EACCES, "/usr/bin/cat")
    # an exact key wins over an earlier glob; globs are tried in file order
    assert policy.table_for("/usr/bin/dash").default is Action.ASK
    assert policy.table_for("/usr/bin/bash").default is Action.PERMIT
    assert policy.table_for("/usr/bin/ls") is None
    assert list(policy.program_patterns) == ["/usr/bin/*sh"]


# --- part aliases: fsmeta and fslink -------------------------------------------------------

def stating(path: str, call: str = "newfstatat") -> CallFacts:
    return CallFacts(call, (PathArg("path", path),))


def linking(old: str, new: str, call: str = "link", selector: int | None = None) -> CallFacts:
    # (the new name is one the call makes: Facts.fresh of an absent name)
    return CallFacts(call, (PathArg("old", old), PathArg("new", new)), selector=selector,
                     made=frozenset({"new"}))


def test_fsmeta_covers_looking_at_a_file_never_reading_it() -> None:
    policy = load("""
        default = "never"
        [[rule]]
        calls = ["fsmeta"]
        path = "/data/**"
        action = "permit"
    """)
    for call in ("newfstatat", "lstat", "access", "readlink", "statx", "getxattr"):
        assert policy.main.decide(stating("/data/f", call)).action is Action.PERMIT, call
    assert policy.main.decide(opening("/data/f")).action is Action.NEVER
    assert policy.main.decide(CallFacts("execve", (PathArg("path", "/data/f"),))).action \
        is Action.NEVER


def test_fsread_rules_keep_deciding_metadata_first_match_wins() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/secret/**"
        action = "never"
        [[rule]]
        calls = ["fsmeta"]
        action = "permit"
    """)
    assert policy.main.decide(stating("/secret/key")).action is Action.NEVER
    assert policy.main.decide(stating("/elsewhere")).action is Action.PERMIT
    reordered = load("""
        default = "never"
        [[rule]]
        calls = ["fsmeta"]
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/secret/**"
        action = "never"
    """)
    assert reordered.main.decide(stating("/secret/key")).action is Action.PERMIT
    assert reordered.main.decide(opening("/secret/key")).action is Action.NEVER


def test_fslink_lets_a_file_be_linked_but_not_written() -> None:
    policy = load("""
        default = "never"
        [[rule]]
        calls = ["fslink"]
        path = "/repo/objects/**"
        action = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "/clone/**"
        action = "permit"
        fresh = true
    """)
    # (the new name is one the run makes; a fresh write rule grants the linked file
    # nothing: a non-fresh one would let it be written by its new name, issue 11)
    assert policy.main.decide(linking("/repo/objects/ab", "/clone/ab")).action is Action.PERMIT
    assert policy.main.decide(linking("/repo/objects/ab", "/clone/ab", "renameat2", 0)).action \
        is Action.PERMIT
    # the new name still needs fswrite, the source is not writable, an exchange writes both
    assert policy.main.decide(linking("/repo/objects/ab", "/elsewhere")).action is Action.NEVER
    assert policy.main.decide(opening("/repo/objects/ab", os.O_WRONLY)).action is Action.NEVER
    assert policy.main.decide(CallFacts("unlink", (PathArg("path", "/repo/objects/ab"),))
                              ).action is Action.NEVER
    exchange = linking("/repo/objects/ab", "/clone/ab", "renameat2", RENAME_EXCHANGE)
    assert policy.main.decide(exchange).action is Action.NEVER


def test_fswrite_rules_still_protect_a_link_source() -> None:
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "/repo/**"
        action = "never"
    """)
    assert policy.main.decide(linking("/repo/x", "/tmp/x")).action is Action.NEVER


# --- paths that do not exist ---------------------------------------------------------------

MISSING_POLICY = """
    default = "never"
    [[rule]]
    calls = ["fsread"]
    path = "/keys/**"
    action = "never"
    errno = "EACCES"
    missing = "errno"
    [[rule]]
    calls = ["fsread"]
    path = "/etc/**"
    action = "never"
    errno = "EACCES"
"""


def refusal(policy: Policy, facts: CallFacts) -> int:
    decision = policy.main.decide(facts)
    assert decision.action is Action.NEVER
    return policy.main.refusal_errno(decision, facts)


def gone(facts: CallFacts, how: Absence = Absent.LAST, role: str = "path") -> CallFacts:
    return dataclasses.replace(facts, missing=((role, how),))


def test_a_refused_missing_path_is_enoent_as_the_kernel_says() -> None:
    policy = load(MISSING_POLICY)
    assert refusal(policy, gone(opening("/etc/nothing"))) == errno.ENOENT      # a rule's
    assert refusal(policy, gone(stating("/usr/nothing"))) == errno.ENOENT      # the default's
    assert refusal(policy, opening("/etc/passwd")) == errno.EACCES             # it exists
    assert refusal(policy, gone(opening("/keys/none"))) == errno.EACCES        # missing=errno
    # a call that would create the missing name is refused with the errno; a missing
    # directory on the way is ENOENT for it too
    create = opening("/usr/new", os.O_WRONLY | os.O_CREAT)
    assert refusal(policy, gone(create)) == errno.EPERM
    assert refusal(policy, gone(create, Absent.WAY)) == errno.ENOENT
    mkdir = CallFacts("mkdir", (PathArg("path", "/usr/new"),))
    assert refusal(policy, gone(mkdir)) == errno.EPERM
    assert refusal(policy, gone(linking("/usr/a", "/usr/b"), role="new")) == errno.EPERM
    assert refusal(policy, gone(linking("/usr/a", "/usr/b"), role="old")) == errno.ENOENT
    # unsafe calls are the engine's refusal: EPERM whatever
    handle = CallFacts("name_to_handle_at", (PathArg("path", "/mnt"),))
    assert refusal(policy, gone(handle)) == errno.EPERM


def test_missing_errno_for_a_whole_table() -> None:
    policy = load('missing = "errno"\n' + MISSING_POLICY.replace("    ", ""))
    assert refusal(policy, gone(opening("/etc/nothing"))) == errno.EACCES
    assert refusal(policy, gone(stating("/usr/nothing"))) == errno.EPERM


def test_the_prefilter_stops_refusals_only_a_missing_path_can_change() -> None:
    """Refused by the default: a call that looks a path up must stop (ENOENT or not is only
    known there); a call on a descriptor, or with missing = "errno", is refused in the
    kernel."""
    found = plan([load('default = "never"\n').main])
    assert found.calls["chmod"].kind == "trace" and found.calls["unlink"].kind == "trace"
    assert found.calls["fchmod"] == Verdict("errno", errno.EPERM)
    kept = plan([load('default = "never"\nmissing = "errno"\n').main])
    assert kept.calls["chmod"] == Verdict("errno", errno.EPERM)
    ruled = plan([load('[[rule]]\ncalls = ["unlink"]\naction = "never"\nmissing = "errno"\n'
                       '[[rule]]\ncalls = ["chmod"]\naction = "never"\n').main])
    assert ruled.calls["unlink"] == Verdict("errno", errno.EPERM)
    assert ruled.calls["chmod"].kind == "trace"


class _Walked:
    """A call whose lookup passed through ``walked`` (Supervisor._traversal reads no more)."""

    def __init__(self, walked: list[tuple[str, str]]) -> None:
        self.walked = walked
        self.walks = 0

    def examined_paths(self) -> list[None]:
        return [None]

    def passed_through(self, _p: None) -> list[tuple[str, str]]:
        self.walks += 1
        return self.walked

    def address_passed_through(self) -> list[tuple[str, str]]:
        return []  # (no socket address)


def test_traversal_walked_only_where_a_rule_refuses_it() -> None:
    """What a lookup passes through is decided where a rule refuses a stat or a readlink by
    path; under a table without one (a learned policy: permits and a default) nothing is
    walked -- the walk, an lstat per component, was a third of a shell's exec decision."""
    from systrace_py.supervisor import Supervisor

    learned = load("""
default = "never"
[[rule]]
calls = ["fsread", "exec"]
path = "/usr/bin/**"
action = "permit"
""").main
    call = _Walked([("/bin", "link")])
    assert Supervisor._traversal(learned, call) is None  # type: ignore[arg-type]
    assert call.walks == 0
    guarded = load("""
[[rule]]
calls = ["readlink"]
path = "/bin"
action = "never"
""").main
    found = Supervisor._traversal(guarded, call)  # type: ignore[arg-type]
    assert call.walks == 1 and found is not None and found.action is Action.NEVER
    assert Supervisor._traversal(guarded, _Walked([("/usr", "dir")])) is None  # type: ignore[arg-type]


def test_a_redirect_s_target_is_held_to_the_checks_no_redirect_covered() -> None:
    """A redirect runs the whole call on its target (red team 33): an O_RDWR open whose
    reads a rule redirects also writes the target, so its write check is decided there too;
    an exec redirected by an ``exec`` rule reads its target."""
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "/w/app.conf"
        action = "permit"
        redirect = "/etc/app.conf"
        [[rule]]
        calls = ["fsread", "fswrite"]
        path = "/w/both.conf"
        action = "permit"
        redirect = "/etc/app.conf"
        [[rule]]
        calls = ["fsread"]
        path = "/w/split.conf"
        action = "permit"
        redirect = "/w/read.conf"
        [[rule]]
        calls = ["fswrite"]
        path = "/w/split.conf"
        action = "permit"
        redirect = "/w/written.conf"
        [[rule]]
        calls = ["exec"]
        path = "/usr/bin/false"
        action = "permit"
        redirect = "/opt/secret/tool"
        [[rule]]
        calls = ["fswrite"]
        path = "/etc/**"
        action = "never"
        errno = "EACCES"
        [[rule]]
        calls = ["fsread"]
        path = "/opt/secret/**"
        action = "never"
    """)
    main = policy.main
    read = main.decide(opening("/w/app.conf"))
    assert read.action is Action.PERMIT and read.redirects is not None
    assert read.redirects["path"].path == "/etc/app.conf"
    both = main.decide(opening("/w/app.conf", os.O_RDWR))
    assert both.action is Action.NEVER and both.errno == errno.EACCES
    assert both.arg == PathArg("path", "/etc/app.conf")
    # every check redirected to the same target: the author said so for each
    assert main.decide(opening("/w/both.conf", os.O_RDWR)).action is Action.PERMIT
    # two targets for one path: the call cannot run on both
    assert main.decide(opening("/w/split.conf", os.O_RDWR)).action is Action.NEVER
    # a write alone is not redirected by a read's rule and is not held to its target
    assert main.decide(opening("/w/app.conf", os.O_WRONLY)).redirects is None
    ran = main.decide(CallFacts("execve", (PathArg("path", "/usr/bin/false"),)))
    assert ran.action is Action.NEVER and ran.arg == PathArg("path", "/opt/secret/tool")


def test_a_call_answered_for_one_path_still_asks_about_its_other_path() -> None:
    """A question is about one path (red team 61): a rename whose old and new path both ask
    is asked about the old one first; with that path answered, what is left is the ask
    about the new one -- and with both answered, a permit.  A refusal is never taken as
    answered."""
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "/w/drafts/**"
        action = "ask"
        [[rule]]
        calls = ["fswrite"]
        path = "/etc/shadow"
        action = "never"
        [[rule]]
        calls = ["fswrite"]
        path = "/etc/**"
        action = "ask"
        errno = "EACCES"
    """)
    rename = CallFacts("rename", (PathArg("old", "/w/drafts/new"),
                                  PathArg("new", "/etc/app.conf")))
    first = policy.main.decide(rename)
    assert first.action is Action.ASK and first.arg == PathArg("old", "/w/drafts/new")
    # (an answer about writing the old path is none about what its file gains by the new
    # name: the link's own question, fslink43)
    linked = policy.main.decide(rename, (answer_key(first, rename),))
    assert linked.action is Action.ASK and linked.reason is Reason.LINKED
    assert answer_key(linked, rename) == "/w/drafts/new\0linked"
    answered = (answer_key(first, rename), answer_key(linked, rename))
    rest = policy.main.decide(rename, answered)
    assert rest.action is Action.ASK and rest.arg == PathArg("new", "/etc/app.conf")
    assert rest.errno == errno.EACCES
    assert policy.main.decide(rename, (*answered, "/etc/app.conf")).action is Action.PERMIT
    assert policy.main.decide(CallFacts("rename", (PathArg("old", "/w/drafts/new"),
                                                   PathArg("new", "/etc/shadow"))),
                              ("/w/drafts/new", "/etc/shadow")).action is Action.NEVER


def test_a_call_redirected_in_one_check_and_asked_in_another_is_refused() -> None:
    """An answer runs the call as it was asked, its redirect lost (red team 33): a rename
    whose new path a rule redirects and whose old path asks is refused, with the asking
    rule's errno; the rename from a path that does not ask is redirected."""
    policy = load("""
        default = "permit"
        [[rule]]
        calls = ["fswrite"]
        path = "/etc/app.conf"
        action = "permit"
        redirect = "/w/app.conf"
        [[rule]]
        calls = ["fswrite"]
        path = "/w/drafts/**"
        action = "ask"
        errno = "EACCES"
    """)

    def renaming(old: str) -> CallFacts:
        return CallFacts("rename", (PathArg("old", old), PathArg("new", "/etc/app.conf")))

    asked = policy.main.decide(renaming("/w/drafts/new"))
    assert asked.action is Action.NEVER and asked.errno == errno.EACCES
    plain = policy.main.decide(renaming("/w/new"))
    assert plain.action is Action.PERMIT and plain.redirects is not None
    assert plain.redirects["new"].path == "/w/app.conf"
