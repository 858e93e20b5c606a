"""A link or rename may not give a file more access than its own name has (issue 11, red
team 40's "fslink composes with any name the table may write and read"): Table.decide
decides the old name also under the new name's rules (Table._linked_decision)."""

from __future__ import annotations

import dataclasses
import errno
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from systrace_py.kernel import RENAME_EXCHANGE
from systrace_py.policy import aliases
from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import (
    Action,
    CallFacts,
    PathArg,
    Policy,
    SockAddr,
    Table,
    checks_of,
    file_accesses,
)

ENV = {"HOME": "/home/alice", "USER": "alice", "CWD": "/w"}

#: red team 40's learned table: the read-back of build/out, and a link of the secret
LEARNED = """
default = "never"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/build/out"
action = "permit"
[[rule]]
calls = ["fslink"]
path = "/s/secret.txt"
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/tmp/**"
action = "permit"
fresh = true
[[rule]]
calls = ["fswrite"]
path = "/w/drop/*"
action = "permit"
"""


def load(text: str) -> Policy:
    return loads_policy(text, "p.toml", ENV)


def moving(call: str, old: str, new: str, *, made: tuple[str, ...] = (),
           directories: tuple[str, ...] = (), selector: int | None = None) -> CallFacts:
    return CallFacts(call, (PathArg("old", old), PathArg("new", new)),
                     made=frozenset(made), directories=frozenset(directories),
                     selector=selector)


def test_a_link_of_a_secret_onto_a_name_the_table_reads_is_refused() -> None:
    table = load(LEARNED).main
    for call in ("link", "linkat", "rename", "renameat", "renameat2"):
        decision = table.decide(moving(call, "/s/secret.txt", "/w/build/out"))
        assert (decision.action, decision.errno, decision.reason) == \
            (Action.NEVER, errno.EPERM, "linked access"), call
        assert decision.arg == PathArg("old", "/s/secret.txt")


def test_a_link_onto_a_name_that_grants_no_more_is_permitted() -> None:
    # /w/drop/* is written, never read: the secret's name grants no write either -- refused;
    # a name no rule grants anything (the fresh rule covers only the run's own files)
    table = load(LEARNED).main
    assert table.decide(moving("link", "/s/secret.txt", "/w/drop/x")).action is Action.NEVER
    new_name = moving("link", "/s/secret.txt", "/w/tmp/x", made=("new",))  # (nothing there)
    assert table.decide(new_name).action is Action.PERMIT


def test_a_file_the_run_made_is_its_own() -> None:
    table = load(LEARNED.replace('"/s/secret.txt"', '"/w/made"')).main
    # (the fresh rule covers the old name only as the run's own file: granted a read there)
    own = moving("rename", "/w/made", "/w/build/out", made=("old", "new"))
    assert table.decide(own).action is Action.PERMIT
    assert table.decide(moving("rename", "/w/made", "/w/build/out")).reason == "linked access"


def test_a_directory_the_run_made_is_its_own_but_for_the_older_files_below_it() -> None:
    """fslink42: the secret linked into /w/tmp/own (the run's) before the directory moves
    under /w/build/** (read): compared by its own name at /w/build/d/x -- refused; a file
    whose own name is read too passes; with nothing older below, exempt."""
    text = LEARNED + """
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/build/**"
action = "permit"
[[rule]]
calls = ["fsread", "fswrite", "fslink"]
path = "/w/src/**"
action = "permit"
"""
    table = load(text).main

    def own_move(*older: tuple[str, str, bool]) -> CallFacts:
        return CallFacts("rename", (PathArg("old", "/w/tmp/own"), PathArg("new", "/w/build/d")),
                         made=frozenset(["old"]), directories=frozenset(["old"]),
                         older_inside=older)

    assert table.decide(own_move()).action is Action.PERMIT
    refused = table.decide(own_move(("/x", "/s/secret.txt", False)))
    assert (refused.action, refused.errno, refused.reason) == \
        (Action.NEVER, errno.EPERM, "linked access")
    assert refused.arg == PathArg("old", "/w/tmp/own")
    assert table.decide(own_move(("/a/x", "/w/src/x", False))).action is Action.PERMIT
    # (an older directory moved below: by its tree)
    assert table.decide(own_move(("/a", "/w/src/a", True))).action is Action.PERMIT
    assert table.decide(own_move(("/a", "/w/src/a", True), ("/b", "/s", True))).reason == \
        "linked access"


def test_an_exchange_is_decided_both_ways() -> None:
    text = LEARNED + """
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/other"
action = "permit"
"""
    table = load(text).main
    both = moving("renameat2", "/w/other", "/w/build/out", selector=RENAME_EXCHANGE)
    assert table.decide(both).action is Action.PERMIT  # (the same grants both ways)
    # /w/other may also be run: build/out's file may not come there
    table = load(text + '[[rule]]\ncalls = ["exec"]\npath = "/w/other"\naction = "permit"\n').main
    refused = table.decide(both)
    assert (refused.action, refused.reason) == (Action.NEVER, "linked access")
    assert refused.arg == PathArg("new", "/w/build/out")  # (build/out's file to /w/other)
    one_way = moving("rename", "/w/build/out", "/w/other")
    assert table.decide(one_way).reason == "linked access"
    assert table.decide(moving("rename", "/w/other", "/w/build/out")).action is Action.PERMIT


def asking(new: str, old: str) -> Table:
    """A table whose reads of /w/asked are ``new`` and everything else ``old`` (its
    default: a refusing rule naming the secret would refuse its link, red team 16's
    renaming rule); links of /s/** and every write permitted."""
    return load(f"""
default = "{old}"
[[rule]]
calls = ["fslink"]
path = "/s/**"
action = "permit"
[[rule]]
calls = ["fsread"]
path = "/w/asked"
action = "{new}"
[[rule]]
calls = ["fswrite"]
path = "/**"
action = "permit"
""").main


def test_an_ask_of_the_new_name_needs_a_permit_of_the_old() -> None:
    link = moving("link", "/s/secret.txt", "/w/asked")
    # both ask: a later read would be asked by /w/asked alone, not saying whose file it
    # holds -- the link is asked, naming both (fslink43; on main 1ec2f11: permitted)
    decision = asking("ask", "ask").decide(link)
    assert (decision.action, decision.reason) == (Action.ASK, "linked access")
    # what the old name only asks about, the new one permits: the link is asked
    decision = asking("permit", "ask").decide(link)
    assert (decision.action, decision.reason) == (Action.ASK, "linked access")
    # asked by the new name, refused by the old: refused
    decision = asking("ask", "never").decide(link)
    assert (decision.action, decision.errno, decision.reason) == \
        (Action.NEVER, errno.EPERM, "linked access")
    assert asking("never", "never").decide(link).action is Action.PERMIT


def test_a_rule_naming_a_call_is_compared_too() -> None:
    text = """
default = "never"
[[rule]]
calls = ["open"]
path = "/w/out"
action = "permit"
[[rule]]
calls = ["fslink", "fswrite"]
path = "/**"
action = "permit"
"""
    table = load(text).main
    assert ("open", "path", os.O_RDONLY) in file_accesses(table.compiled().named_calls)
    assert table.decide(moving("link", "/s/secret.txt", "/w/out")).reason == "linked access"


def test_a_directory_moved_brings_its_tree_under_the_new_names_rules() -> None:
    text = """
default = "never"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/build/**"
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/src/**/*.c"
action = "permit"
[[rule]]
calls = ["fslink", "fswrite"]
path = "/**"
action = "permit"
"""
    table = load(text).main
    old_tree = moving("rename", "/s/dir", "/w/build/dir", directories=("old",))
    assert table.decide(old_tree).reason == "linked access"
    # the same rules both ways (one glob covering both trees): permitted
    within = moving("rename", "/w/build/a", "/w/build/b", directories=("old",))
    assert table.decide(within).action is Action.PERMIT
    # a glob matching some paths of both trees: not decided exactly, refused (fail closed)
    some = moving("rename", "/w/src/a", "/w/src/b", directories=("old",))
    assert table.decide(some).reason == "linked access"
    # ... unless the run made the directory (its contents are its own)
    own = moving("rename", "/w/src/a", "/w/src/b", directories=("old",), made=("old",))
    assert table.decide(own).action is Action.PERMIT


#: red team 88's learned table (learn_roundtrip.c): one file read below work, work moved
#: aside to work.old and back
ROUND_TRIP = """
default = "never"
[[rule]]
calls = ["fsread"]
path = "/w/work/data/a.txt"
action = "permit"
[[rule]]
calls = ["fslink", "fswrite"]
path = "/w/{work,work.old}/**"
action = "permit"
"""


def test_a_directory_moved_compares_each_exact_rule_at_its_own_place() -> None:
    """By shapes, ``fsread /w/work/data/a.txt`` "may match below" each name, the two taken
    apart, so the move back of work.old gained a read anywhere below work -- and the learner,
    to let it pass, granted ``/w/work.old/**``, then ``/w/work/**`` (red team 88).  Place by
    place the move back gains the read of data/a.txt alone; granted at that place below the
    old name, nothing is short; so is a glob of the same rest below either name (one unknown
    place, not two)."""
    back = moving("rename", "/w/work.old", "/w/work", directories=("old",))
    aside = moving("rename", "/w/work", "/w/work.old", directories=("old",))
    table = load(ROUND_TRIP).main
    assert table.decide(aside).action is Action.PERMIT
    assert table.decide(back).reason == "linked access"
    short = table.linked_shortfall("/w/work.old", "/w/work", True)
    assert {access[0] for access, _, _ in short} <= {"open", "openat", "openat2", "creat"}
    assert short
    placed = load(ROUND_TRIP + """[[rule]]
calls = ["fsread"]
path = "/w/work.old/data/a.txt"
action = "permit"
""").main
    assert placed.linked_shortfall("/w/work.old", "/w/work", True) == []
    assert placed.decide(back).action is Action.PERMIT
    assert placed.decide(aside).action is Action.PERMIT
    # (another place below: the read of data/a.txt gives b.txt nothing)
    other = load(ROUND_TRIP.replace("/w/work/data/a.txt", "/w/work/data/b.txt") + """[[rule]]
calls = ["fsread"]
path = "/w/work.old/data/a.txt"
action = "permit"
""").main
    assert other.decide(back).reason == "linked access"
    assert other.decide(aside).reason == "linked access"
    # (a glob below each name by the same rest matches at the same places: permitted; a
    # different rest is told apart by shapes alone, refused)
    globbed = load(ROUND_TRIP.replace("/w/work/data/a.txt", "/w/work/data/*.txt") + """[[rule]]
calls = ["fsread"]
path = "/w/work.old/data/*.txt"
action = "permit"
""").main
    assert globbed.decide(back).action is Action.PERMIT
    assert globbed.decide(aside).action is Action.PERMIT
    one_glob = load(ROUND_TRIP.replace("/w/work/data/a.txt", "/w/work/data/*.txt")).main
    assert one_glob.decide(back).reason == "linked access"
    other_rest = load(ROUND_TRIP.replace("/w/work/data/a.txt", "/w/work/data/*.txt") + """[[rule]]
calls = ["fsread"]
path = "/w/work.old/*/*.txt"
action = "permit"
""").main
    assert other_rest.decide(back).reason == "linked access"


# ---------------------------------------------------------------------------------------------
# Property: the composed decision never grants the old file an access its own name lacks

NAMES = ["/w/a", "/w/b", "/w/d/x", "/s/f"]
GLOBS = ["/w/a", "/w/*", "/w/**", "/s/**", "/**", "/w/d/*", "/s/f"]
CALLS = [["fsread"], ["fswrite"], ["fsread", "fswrite"], ["fslink"], ["fsmeta"], ["openat"],
         ["open"], ["exec"], ["fsread", "fslink"], ["truncate"]]


@st.composite
def tables(draw: st.DrawFn) -> str:
    text = f'default = "{draw(_ACTIONS)}"\n'
    for _ in range(draw(_ZERO_TO_5)):
        action = draw(_ACTIONS)
        text += "[[rule]]\n"
        text += "calls = [" + ", ".join(f'"{c}"' for c in draw(_CALLS)) + "]\n"
        text += f'path = "{draw(_GLOBS)}"\naction = "{action}"\n'
        if action == "permit" and draw(_BOOLEANS):
            text += "fresh = true\n"
    for _ in range(draw(_ZERO_TO_2)):  # exec rules with an argv condition
        text += '[[rule]]\ncalls = ["exec"]\n'
        if draw(_BOOLEANS):
            text += f'path = "{draw(_GLOBS)}"\n'
        text += f'argv = {draw(_ARGV_RULES)}\n'
        text += f'action = "{draw(_ACTIONS)}"\n'
    return text


#: argv conditions, and the argv of an exec in each way they may come out
ARGV_RULES = ['["never-this", "**"]', '["run", "**"]']
ARGVS = [("never-this", "x"), ("run", "x"), ("other",)]

# (the strategies the composites here draw from are made once, not at every draw: a list's
# sampled_from made anew was validated and labelled by hypothesis each time; the same
# strategies draw the very same examples)
_ACTIONS = st.sampled_from(["permit", "never", "ask"])
_ZERO_TO_5 = st.integers(0, 5)
_ZERO_TO_2 = st.integers(0, 2)
_BOOLEANS = st.booleans()
_CALLS = st.sampled_from(CALLS)
_GLOBS = st.sampled_from(GLOBS)
_ARGV_RULES = st.sampled_from(ARGV_RULES)


def _grant(table: Table, call: str, role: str, flags: int | None, path: str,
           argv: tuple[str, ...] | None = None) -> Action:
    facts = CallFacts(call, (PathArg(role, path),), open_flags=flags, argv=argv)
    return table.decide(facts).action


def _worlds(access: str) -> list[tuple[str, ...] | None]:
    """The argv an access may come with: an exec's, each way the tables' conditions go."""
    return list(ARGVS) if access in ("execve", "execveat", "uselib") else [None]


_RANK = {Action.NEVER: 0, Action.ASK: 1, Action.PERMIT: 2}


def _shorter(own: Action, gained: Action) -> bool:
    """Whether a link's comparison finds the old name short of the new: less, or both ask."""
    return _RANK[own] < _RANK[gained] or own is gained is Action.ASK


@settings(max_examples=300, deadline=None)
@given(tables(), st.sampled_from(NAMES), st.sampled_from(NAMES),
       st.sampled_from(["link", "rename", "renameat2-exchange"]))
def test_the_old_file_gains_no_access_by_its_new_name(text: str, old: str, new: str,
                                                      call: str) -> None:
    table = load(text).main
    selector = RENAME_EXCHANGE if call.endswith("exchange") else None
    name = call.split("-")[0]
    decision = table.decide(moving(name, old, new, selector=selector))
    if decision.action is not Action.PERMIT:
        return
    moves = [(old, new)] + ([(new, old)] if selector else [])
    accesses = file_accesses(table.compiled().named_calls)
    for source, target in moves:
        if source == target:
            continue
        for access, role, flags in accesses:
            if not any(cls is not None for cls, _ in checks_of(access, role, flags, None)):
                continue
            for argv in _worlds(access):
                gained = _grant(table, access, role, flags, target, argv)
                own = _grant(table, access, role, flags, source, argv)
                # (the file at the new name is no file the run made: facts without
                # ``made``): no grant it lacks, no question about what its own name
                # refuses, none by the new name alone about what its own name asks about
                # (fslink43)
                assert gained is Action.NEVER or own is Action.PERMIT, \
                    (text, source, target, access, flags, argv, gained, own)


#: two exec rules whose argv conditions no one argv meets together (review 25: the joint walk
#: took them to hold at once, and refused a rename that gave no access)
EXCLUSIVE_ARGV = """default = "permit"
[[rule]]
calls = ["exec"]
path = "/w/a"
argv = ["never-this", "**"]
action = "permit"
[[rule]]
calls = ["exec"]
argv = ["run", "**"]
action = "never"
"""


@settings(max_examples=300, deadline=None)
@example(EXCLUSIVE_ARGV, "/w/b", "/w/a")
@example(EXCLUSIVE_ARGV.replace('["run", "**"]', '["never-this", "*"]'), "/w/b", "/w/a")
@given(tables(), st.sampled_from(NAMES), st.sampled_from(NAMES))
def test_a_link_refused_gives_some_access_its_own_name_lacks(text: str, old: str,
                                                              new: str) -> None:
    # the other way: a file link or rename refused (or asked) as linked access has an
    # access (and an exec's argv) its new name grants more of, or that both names only ask
    # about (fslink43) -- no refusal from a rule that gives both
    # names the same (an argv condition is the exec's, the same by either name: found by
    # test_decode_fuzz, `argv = ["never-this", "**"]` with no path refused every rename)
    table = load(text).main
    decision = table.decide(moving("rename", old, new))
    if decision.reason != "linked access":
        return
    accesses = file_accesses(table.compiled().named_calls)
    assert any(_shorter(_grant(table, access, role, flags, old, argv),
                        _grant(table, access, role, flags, new, argv))
               for access, role, flags in accesses
               if any(cls is not None for cls, _ in checks_of(access, role, flags, None))
               for argv in _worlds(access)), (text, old, new, decision)


def test_a_rule_of_the_exec_s_argv_alone_refuses_no_rename() -> None:
    # test_decode_fuzz's server policy: default permit, a never on one directory, and
    # exec refused by argv wherever the file is -- rename(w/file, w/link) was EPERM
    table = load("""
default = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/s/**"
action = "never"
[[rule]]
calls = ["exec"]
argv = ["never-this", "**"]
action = "never"
""").main
    for call in ("rename", "link"):
        assert table.decide(moving(call, "/w/a", "/w/b")).action is Action.PERMIT
        assert table.decide(moving(call, "/w/d", "/w/b", directories=("old",))).action \
            is Action.PERMIT
    # but one naming a path still compares: exec by argv is granted at /w/d/x, not /w/a
    table = load("""
default = "never"
[[rule]]
calls = ["exec"]
path = "/w/d/*"
argv = ["run", "**"]
action = "permit"
[[rule]]
calls = ["fsread", "fswrite", "fslink"]
path = "/w/**"
action = "permit"
""").main
    assert table.decide(moving("link", "/w/a", "/w/d/x")).reason == "linked access"
    assert table.decide(moving("link", "/w/d/x", "/w/a")).action is Action.PERMIT


def test_the_question_about_a_link_names_the_file_and_why() -> None:
    """An asked link (the new name permits what the old one only asks about): the prompt's
    "asked by" line names the linked file and the composed effect, not a rule."""
    from systrace_py.supervisor import AskRequest
    from systrace_py.ui.prompt import asked_by

    link = moving("link", "/s/secret.txt", "/w/asked")
    decision = asking("permit", "ask").decide(link)
    request = AskRequest(1, 1, 0, "/usr/bin/ln", "link",
                         {"old": "/s/secret.txt", "new": "/w/asked"}, link, decision)
    text = asked_by(request)
    assert "/s/secret.txt" in text and "/w/asked" in text, text
    assert "permit what its own name only asks about" in text, text


SOCKETS = """
default = "never"
[[rule]]
calls = ["net-connect"]
unix = "/w/**"
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "{/s,/s/**,/w,/w/**}"
action = "permit"
"""


def test_a_socket_file_gets_no_connect_by_a_new_name_its_own_lacks() -> None:
    """A unix socket file's connects are compared too (fslink43): /s/sock, connected to by
    no rule (the default refuses), may not be linked or moved to /w where connects are
    permitted -- a regular file may (a connect to it fails anyway); a directory moved, by
    each socket below it; one the run bound is its own."""
    table = load(SOCKETS).main
    link = CallFacts("link", (PathArg("old", "/s/sock"), PathArg("new", "/w/sock")),
                     sockets=frozenset({"old"}))
    decision = table.decide(link)
    assert (decision.action, decision.errno, decision.reason) == \
        (Action.NEVER, errno.EPERM, "linked access")
    assert table.decide(moving("link", "/s/file", "/w/file")).action is Action.PERMIT
    own = dataclasses.replace(link, made=frozenset({"old"}))
    assert table.decide(own).action is Action.PERMIT
    tree = CallFacts("rename", (PathArg("old", "/s/d"), PathArg("new", "/w/d")),
                     directories=frozenset({"old"}), sockets_inside=("/s/d/a/sock",))
    assert table.decide(tree).reason == "linked access"
    assert table.decide(dataclasses.replace(tree, sockets_inside=())).action is Action.PERMIT
    # (too many entries to look at: the tree by its unix globs, fail closed)
    assert table.decide(dataclasses.replace(tree, sockets_inside=None)  # type: ignore[arg-type]
                        ).reason == "linked access"
    # a connect the old path has too: nothing gained
    both = load(SOCKETS.replace('unix = "/w/**"', 'unix = ["/w/**", "/s/**"]')).main
    assert both.decide(link).action is Action.PERMIT
    assert both.decide(tree).action is Action.PERMIT


# ---------------------------------------------------------------------------------------------
# Review 25: the joint walk brute-forced against the single-name decisions, on what the
# properties above leave out -- unix sockets (connects by either name, both asked too) and
# directory moves under learned writing globs (the names something runs later they leave
# out, fslink43), fresh rules, made directories holding an older file moved in

SOCKET_NAMES = ["/w/a", "/w/b", "/w/d/x", "/s/f", "/s/d/x"]
SOCKET_GLOBS = ["/w/a", "/w/*", "/w/**", "/s/**", "/**", "/w/d/*", "/s/f", "/s/d/*", "/w/d/**"]
CONNECTS = [["net-connect"], ["connect"], ["sendto"], ["sendmsg"], ["connect", "sendto"]]


@st.composite
def socket_tables(draw: st.DrawFn) -> str:
    text = f'default = "{draw(_ACTIONS)}"\n'
    for _ in range(draw(_ZERO_TO_5)):
        action = draw(_ACTIONS)
        text += "[[rule]]\n"
        if draw(_BOOLEANS):
            calls = draw(_CONNECTS)
            names = draw(_SOCKET_GLOB_LISTS)
            text += "calls = [" + ", ".join(f'"{c}"' for c in calls) + "]\n"
            text += "unix = [" + ", ".join(f'"{n}"' for n in names) + "]\n"
        else:
            text += 'calls = ["fsread", "fswrite", "fslink"]\n'
            text += f'path = "{draw(_SOCKET_GLOBS)}"\n'
        text += f'action = "{action}"\n'
        if action == "permit" and draw(_BOOLEANS):
            text += "fresh = true\n"
    if draw(_BOOLEANS):  # (files linked and moved anywhere: the sockets decide)
        text += '[[rule]]\ncalls = ["fsread", "fswrite", "fslink"]\npath = "/**"\n' \
            'action = "permit"\n'
    return text


_CONNECTS = st.sampled_from(CONNECTS)
_SOCKET_GLOBS = st.sampled_from(SOCKET_GLOBS)
_SOCKET_GLOB_LISTS = st.lists(_SOCKET_GLOBS, min_size=1, max_size=2, unique=True)


def _connect(table: Table, call: str, path: str) -> Action:
    return table.decide(CallFacts(call, sockaddr=SockAddr("unix", path=path))).action


SOCKET_EXAMPLE = """default = "never"
[[rule]]
calls = ["connect"]
unix = ["/w/**"]
action = "permit"
[[rule]]
calls = ["fsread", "fswrite", "fslink"]
path = "/**"
action = "permit"
"""


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@example(SOCKET_EXAMPLE, "/s/f", "/w/a", "link")
@example(SOCKET_EXAMPLE, "/s/d/x", "/w/d/x", "tree")
@example(SOCKET_EXAMPLE.replace('"permit"\n[[rule]]', '"ask"\n[[rule]]', 1)
         .replace('"never"', '"ask"'), "/s/f", "/w/a", "rename")  # (ask against ask)
@given(socket_tables(), st.sampled_from(SOCKET_NAMES), st.sampled_from(SOCKET_NAMES),
       st.sampled_from(["link", "rename", "tree"]))
def test_a_socket_gains_no_connect_by_its_new_name(text: str, old: str, new: str,
                                                   how: str) -> None:
    """A socket linked or moved (or a directory holding it moved) is permitted only where
    every connect by its new name is refused or its own name's is permitted (an ask by
    both names is asked: fslink43's ask-against-ask, for sockets too)."""
    table = load(text).main
    if how == "tree":
        old_dir, new_dir = old.rsplit("/", 1)[0], new.rsplit("/", 1)[0]
        if old_dir == new_dir or new_dir.startswith(old_dir + "/") or \
                old_dir.startswith(new_dir + "/"):
            return
        facts = CallFacts("rename", (PathArg("old", old_dir), PathArg("new", new_dir)),
                          directories=frozenset({"old"}), sockets_inside=(old,))
        target = new_dir + old[len(old_dir):]
    else:
        if old == new:
            return
        facts = CallFacts(how, (PathArg("old", old), PathArg("new", new)),
                          sockets=frozenset({"old"}))
        target = new
    if table.decide(facts).action is not Action.PERMIT:
        return
    for call in sorted(aliases.ALIASES["net-connect"]):
        gained, own = _connect(table, call, target), _connect(table, call, old)
        assert gained is Action.NEVER or own is Action.PERMIT, (text, old, target, call,
                                                                gained, own)


TREES = ["/w/a", "/w/b", "/s/d", "/w/a/in", "/w/b/.git", "/s/x.git"]
#: names below a moved directory: ordinary ones, and names something runs later
TAILS = ["f", "d/f", ".git/hooks/pre-commit", ".git/config", "hooks/post-merge", "config",
         "package.json", "sub/package.json", ".git", "x.git/hooks/h", "modules/m/config"]
TREE_GLOBS = ["/w/**", "/w/a/**", "/w/b/**", "/s/**", "/**", "/w/*", "/w/a/*", "/w/*/**",
              "/w/b/.git/**", "/w/a/.git/hooks/*", "/w/b/.git/hooks/pre-commit", "/s/d/*",
              "/w/a/package.json", "{/w/a/**,/w/b/config}", "/s/x.git/**",
              # (exact rules below a tree: compared place by place, red team 88)
              "/w/a/d/f", "/w/b/d/f", "{/s/d/f,/w/b/f}", "/w/a/d/*", "/w/b/d/*", "/s/d/*/f"]
TREE_CALLS = [["fsread"], ["fswrite"], ["fsread", "fswrite"], ["fslink"], ["fsmeta"],
              ["openat"], ["exec"], ["fsread", "fswrite", "fslink"], ["truncate"], ["unlink"]]
#: older files a call of the run moved into a directory it made
CAME = ["/s/sec", "/w/a/f", "/s/d/f", "/w/b/.git/config"]


@st.composite
def tree_tables(draw: st.DrawFn) -> str:
    text = f'default = "{draw(_ACTIONS)}"\n'
    for _ in range(draw(_ONE_TO_5)):
        action = draw(_MOSTLY_PERMITS)
        calls = draw(_TREE_CALLS)
        text += "[[rule]]\ncalls = [" + ", ".join(f'"{c}"' for c in calls) + "]\n"
        text += f'path = "{draw(_TREE_GLOBS)}"\naction = "{action}"\n'
        if action == "permit" and draw(_BOOLEANS):
            text += "fresh = true\n"
        if action == "permit" and draw(_BOOLEANS):  # (a LearnedGlob where it writes)
            text += 'learned = {kind = "trees walked", seen = 3}\n'
        if "exec" in calls and draw(_BOOLEANS):
            text += f'argv = {draw(_ARGV_RULES)}\n'
    return text


_ONE_TO_5 = st.integers(1, 5)
_MOSTLY_PERMITS = st.sampled_from(["permit", "permit", "never", "ask"])
_TREE_CALLS = st.sampled_from(TREE_CALLS)
_TREE_GLOBS = st.sampled_from(TREE_GLOBS)


#: a learned writing glob that leaves ``package.json`` out below /w, a refusal after it
LEFT_OUT_EXAMPLE = """default = "permit"
[[rule]]
calls = ["fswrite"]
path = "/w/**"
action = "permit"
learned = {kind = "trees walked", seen = 3}
[[rule]]
calls = ["fswrite"]
path = "/w/**"
action = "never"
"""


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@example(LEFT_OUT_EXAMPLE, "/w/a/in", "/s/d", "rename", "f", "/s/sec")
@example(LEFT_OUT_EXAMPLE, "/w/b", "/s/d", "exchange", "f", "/s/sec")
@example(LEFT_OUT_EXAMPLE.replace('learned =', 'fresh = true\nlearned ='), "/s/d", "/w/a",
         "made", "package.json", "/w/b/.git/config")
@given(tree_tables(), st.sampled_from(TREES), st.sampled_from(TREES),
       st.sampled_from(["rename", "exchange", "made"]), st.sampled_from(TAILS),
       st.sampled_from(CAME))
def test_a_directory_moved_gives_no_file_below_it_more(text: str, old: str, new: str,
                                                        how: str, tail: str,
                                                        came: str) -> None:
    """A directory move permitted gives no older file below it (at the same place below
    the new name: an ordinary name, one something runs later, the directory itself) an
    access its own name lacks; of a directory the run made, the older file a call moved
    into it is compared by the name it came from."""
    if old == new or new.startswith(old + "/") or old.startswith(new + "/"):
        return
    table = load(text).main
    exchange = how == "exchange"
    facts = CallFacts("renameat2" if exchange else "rename",
                      (PathArg("old", old), PathArg("new", new)),
                      directories=frozenset({"old", "new"} if exchange else {"old"}),
                      selector=RENAME_EXCHANGE if exchange else None)
    if how == "made":
        facts = dataclasses.replace(facts, made=frozenset({"old"}),
                                    older_inside=(("/" + tail, came, False),))
    if table.decide(facts).action is not Action.PERMIT:
        return
    moves = [(old, new)] + ([(new, old)] if exchange else [])
    pairs = [(f"{source}/{below}" if below else source, f"{target}/{below}" if below else target)
             for source, target in moves for below in ["", *TAILS]]
    if how == "made":
        pairs = [(came, f"{new}/{tail}")]
    accesses = file_accesses(table.compiled().named_calls)
    for source, target in pairs:
        for access, role, flags in accesses:
            if not any(cls is not None for cls, _ in checks_of(access, role, flags, None)):
                continue
            for argv in _worlds(access):
                gained = _grant(table, access, role, flags, target, argv)
                own = _grant(table, access, role, flags, source, argv)
                assert gained is Action.NEVER or own is Action.PERMIT, \
                    (text, how, source, target, access, flags, argv, gained, own)


#: red team 49: the caller's table grants nothing of the secret nor of /w/out (links and
#: moves them by the calls' own names); the reader's reads /w/** and refuses the secret
TWO_TABLES = """
default = "never"
[[rule]]
calls = ["link", "rename"]
path = "/w/**"
action = "permit"
[[rule]]
calls = ["fslink"]
path = "/s/**"
action = "permit"

[program."/usr/bin/reader"]
[[program."/usr/bin/reader".rule]]
calls = ["fsread"]
path = "/s/**"
action = "never"
[[program."/usr/bin/reader".rule]]
calls = ["fsread"]
path = "/w/**"
action = "permit"
"""


def test_a_link_is_compared_in_another_table_too() -> None:
    """Table.linked_elsewhere: the caller's table permits the link (the new name grants it
    nothing), the reader's would read the secret by its new name -- refused there, naming
    it; by a name the reader reads alike (or not at all), nothing."""
    policy = load(TWO_TABLES)
    reader = policy.tables()[1]
    link = moving("link", "/s/secret.txt", "/w/out")
    assert policy.main.decide(link).action is Action.PERMIT
    refused = reader.linked_elsewhere(link)
    assert refused is not None
    assert (refused.action, refused.errno, refused.reason, refused.table) == \
        (Action.NEVER, errno.EPERM, "linked access", "/usr/bin/reader")
    assert reader.linked_elsewhere(moving("rename", "/s/secret.txt", "/s/other")) is None
    assert reader.linked_elsewhere(moving("rename", "/w/a", "/w/b")) is None
    assert reader.linked_elsewhere(CallFacts("openat", (PathArg("path", "/w/out"),))) is None


def test_a_loop_device_is_compared_as_a_new_name_for_its_file() -> None:
    """Table.attached_elsewhere (gap44): a loop device attached to a file is a name every
    process may open for the file's bytes -- refused (EPERM, linked access, naming the
    table) where this table would read the device and not the file; a write counts only
    when the device writes the file; a device no more readable than the file, nothing."""
    policy = load(TWO_TABLES + """
[[program."/usr/bin/reader".rule]]
calls = ["fsread"]
path = "/dev/loop*"
action = "permit"
[[program."/usr/bin/reader".rule]]
calls = ["fswrite"]
path = "/dev/loop*"
action = "permit"
[[program."/usr/bin/reader".rule]]
calls = ["fsread"]
path = "/w/ro"
action = "permit"
""")
    reader = policy.tables()[1]
    refused = reader.attached_elsewhere("/s/secret.txt", "/dev/loop0", False)
    assert refused is not None
    assert (refused.action, refused.errno, refused.reason, refused.table) == \
        (Action.NEVER, errno.EPERM, "linked access", "/usr/bin/reader")
    # (/w/ro: read alike by both names; written by the device's only)
    assert reader.attached_elsewhere("/w/ro", "/dev/loop0", False) is None
    assert reader.attached_elsewhere("/w/ro", "/dev/loop0", True) is not None
    # (a device the table reads no more than the file: nothing gained)
    assert reader.attached_elsewhere("/s/secret.txt", "/x/loop0", False) is None
    assert policy.main.attached_elsewhere("/s/secret.txt", "/dev/loop0", True) is None


def test_a_mount_s_source_is_compared_as_a_link_s_old_name() -> None:
    """model._named_anew: a bind of the secret (no rule names it: the default) on a name
    the table reads is refused as a link there would be; a source the table reads alike is
    not."""
    table = load("""
default = "never"
[[rule]]
calls = ["namespace"]
action = "permit"
[[rule]]
calls = ["fsread"]
path = "/w/**"
action = "permit"
""").main
    bind = CallFacts("mount", (PathArg("old", "/s/secret.txt"), PathArg("new", "/w/out")),
                     exposed=frozenset({"old", "new"}))
    decision = table.decide(bind)
    assert (decision.action, decision.reason) == (Action.NEVER, "linked access")
    alike = CallFacts("mount", (PathArg("old", "/w/a"), PathArg("new", "/w/out")),
                      exposed=frozenset({"old", "new"}))
    assert table.decide(alike).action is Action.PERMIT


def test_a_mount_s_shown_roles_are_compared_with_its_target() -> None:
    """model._SHOWN_AT_TARGET (review 27): an overlay's lower and upper layers and a
    device's other mount points are compared with the target ("new") as a bind's source is;
    a lower layer by its reads alone (what the overlay's name lets be written goes to the
    upper layer); the work directory is not compared.  (The secret's tree may be looked at,
    as open_tree needs: the exposure itself is permitted.)  Fails on main 99ba44c (the
    layers and "mounted" permitted)."""
    table = load("""
default = "never"
[[rule]]
calls = ["namespace"]
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/**"
action = "permit"
[[rule]]
calls = ["fsread"]
path = "/img/**"
action = "permit"
[[rule]]
calls = ["fsmeta"]
path = "/s"
action = "permit"
[[rule]]
calls = ["fsmeta"]
path = "/s/**"
action = "permit"
""").main

    def mount(*paths: tuple[str, str]) -> CallFacts:
        return CallFacts("mount", tuple(PathArg(role, path) for role, path in paths),
                         exposed=frozenset(role for role, _ in paths),
                         directories=frozenset(role for role, _ in paths))

    for role in ("lowerdir", "lowerdir:2", "upperdir", "mounted", "mounted:2"):
        decision = table.decide(mount(("new", "/w/out"), (role, "/s")))
        assert (decision.action, decision.reason) == (Action.NEVER, "linked access"), role
    # (the image read by its own name: a lower layer gains no write; an upper layer does)
    assert table.decide(mount(("new", "/w/out"), ("lowerdir", "/img"))).action \
        is Action.PERMIT
    assert table.decide(mount(("new", "/w/out"), ("upperdir", "/img"))).action \
        is Action.NEVER
    # (the work directory is written by the overlay, not shown)
    assert table.decide(mount(("new", "/w/out"), ("workdir", "/w/work"),
                              ("lowerdir", "/w/a"))).action is Action.PERMIT


def test_an_images_files_are_compared_as_the_image_itself() -> None:
    """Mounts29: an image in a regular file ("image", erofs backed by a file) shows files
    that are all its bytes: every name at and below the target is compared with the image
    file's own name (not with names below it, which name nothing), by its reads alone (erofs
    is read-only), and the mount reads the image (an open of it).  Review 28 refused every
    such mount where a rule decides by name (fails on main 21fe4ac: the first mount
    refused)."""
    table = load("""
default = "never"
[[rule]]
calls = ["namespace"]
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/w/**"
action = "permit"
[[rule]]
calls = ["fsread", "fsmeta"]
path = "/img/ok.img"
action = "permit"
[[rule]]
calls = ["fsmeta"]
path = "/img/meta.img"
action = "permit"
[[rule]]
calls = ["fsmeta"]
path = "/t/**"
action = "permit"
[[rule]]
calls = ["fsmeta"]
path = "/t"
action = "permit"
""").main

    def mount(image: str, target: str = "/w/out") -> CallFacts:
        return CallFacts("mount", (PathArg("new", target), PathArg("image", image)),
                         exposed=frozenset({"new", "image"}), directories=frozenset({"new"}))

    # (read by its own name; the target written too: an image gains no write)
    assert table.decide(mount("/img/ok.img")).action is Action.PERMIT
    # (its files would be read at /w/out/..., the image's name reads nothing)
    decision = table.decide(mount("/img/meta.img"))
    assert (decision.action, decision.reason) == (Action.NEVER, "linked access")
    # (on a target whose names are looked at, as the image's: the image's read decides)
    decision = table.decide(mount("/img/meta.img", "/t"))
    assert (decision.action, decision.role) == (Action.NEVER, "image")
    assert table.decide(mount("/img/ok.img", "/t")).action is Action.PERMIT
    # (and every other table compares it: one that reads /w/** and not the image refuses)
    assert table.linked_elsewhere(mount("/img/meta.img")) is not None
    assert table.linked_elsewhere(mount("/img/ok.img")) is None


def test_an_image_the_run_made_is_read_as_its_own() -> None:
    """Mounts29: an image the run made is its own file: a ``fresh`` rule that reads what the
    run made decides the mount's read of it (and it is exempt from the comparison, as a
    bind of a file the run made); an older image is decided by the default."""
    table = load("""
default = "never"
[[rule]]
calls = ["namespace"]
action = "permit"
[[rule]]
calls = ["fsread", "fswrite"]
path = "/b/**"
fresh = true
action = "permit"
""").main

    def mount(made: frozenset[str]) -> CallFacts:
        return CallFacts("mount", (PathArg("new", "/b/out"), PathArg("image", "/b/x.img")),
                         exposed=frozenset({"new", "image"}), directories=frozenset({"new"}),
                         made=made)

    assert table.decide(mount(frozenset({"new", "image"}))).action is Action.PERMIT
    decision = table.decide(mount(frozenset({"new"})))
    assert (decision.action, decision.role) == (Action.NEVER, "image")
