"""The generalizations the ASK prompt offers (systrace_py.ui.offers) and the rules they make,
and what a typed answer means for one request (answering.Interpreter, the answer model both
front ends share)."""

from __future__ import annotations

import dataclasses
import errno
import os
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import RANDOM_CHAR, written_glob
from systrace_py.policy.glob import Expansions, PathGlob
from systrace_py.policy.model import Action, CallFacts, PathArg, Policy, SockAddr, Table
from systrace_py.supervisor import AskRequest
from systrace_py.ui.answering import Interpreter
from systrace_py.ui.answers import AnswerError
from systrace_py.ui.offers import (
    OfferError,
    asking_classes,
    build_rule,
    custom_offer,
    offers_for,
    resolve_scope,
    rule_calls,
)

EX = Expansions(home="/home/alice", cwd="/home/alice/proj", tmpdir="/tmp", user="alice")
ENV = {"HOME": "/home/alice", "CWD": "/home/alice/proj", "TMPDIR": "/tmp", "USER": "alice"}


def opening(path: str, flags: int = os.O_RDONLY, call: str = "openat") -> CallFacts:
    return CallFacts(call, (PathArg("path", path),), open_flags=flags)


def keys(offers) -> list[str]:
    return [o.key for o in offers]


def patterns(offers) -> dict[str, str | None]:
    return {o.key: o.pattern for o in offers}


# --- paths -----------------------------------------------------------------------------------


def test_path_offers_narrowest_first_with_variables():
    offers = offers_for(opening("/home/alice/proj/build/out.o"), "path", expansions=EX)
    assert keys(offers) == ["file", "ext", "dir", "tree", "cwd", "home", "any"]
    assert patterns(offers) == {
        "file": "$CWD/build/out.o", "ext": "$CWD/build/*.o", "dir": "$CWD/build/*",
        "tree": "$CWD/build/**", "cwd": "$CWD/**", "home": "~/**", "any": None}


def test_home_and_tmpdir_forms():
    home = patterns(offers_for(opening("/home/alice/notes/todo.txt"), "path", expansions=EX))
    assert home["file"] == "~/notes/todo.txt"
    assert home["dir"] == "~/notes/*"
    assert "cwd" not in home  # not below $CWD
    tmp = patterns(offers_for(opening("/tmp/build/x.c"), "path", expansions=EX))
    assert tmp["file"] == "$TMPDIR/build/x.c"


def test_literal_outside_every_variable_and_glob_characters_escaped():
    offers = offers_for(opening("/srv/data[1]/a*b.csv"), "path", expansions=EX)
    found = patterns(offers)
    assert found["file"] == "/srv/data\\[1\\]/a\\*b.csv"
    assert found["ext"] == "/srv/data\\[1\\]/*.csv"
    assert PathGlob(found["file"], expansions=EX).matches("/srv/data[1]/a*b.csv")
    assert not PathGlob(found["file"], expansions=EX).matches("/srv/data1/aXb.csv")


def test_random_suffix_glob_for_temporary_names():
    offers = offers_for(opening("/tmp/tmpa8xk2q9z.json"), "path", expansions=EX)
    # (as -A writes it, its random run's shape: "tmp*.json" let any new name of tmp be made
    # -- learn38)
    assert patterns(offers)["temp"] == "$TMPDIR/tmp" + RANDOM_CHAR * 8 + ".json"
    assert keys(offers)[:3] == ["file", "temp", "ext"]


def test_a_permit_of_generated_names_covers_only_what_the_run_makes():
    """Gap #30 for the prompt: "generated names like tmpa8xk2q9z.json" is a glob whose
    wildcard the program chose -- a permit of it is ``fresh`` (the paths the run makes),
    as the learner writes it; a refusal of it, or another scope, is not."""
    offers = {o.key: o for o in offers_for(opening("/tmp/tmpa8xk2q9z.json"), "path",
                                           expansions=EX)}
    assert offers["temp"].fresh and not offers["file"].fresh and not offers["ext"].fresh
    calls = ("fsread", "fswrite")
    assert build_rule(offers["temp"], calls, Action.PERMIT, expansions=EX).fresh
    assert not build_rule(offers["temp"], calls, Action.NEVER, expansions=EX).fresh
    assert not build_rule(offers["ext"], calls, Action.PERMIT, expansions=EX).fresh


@pytest.mark.parametrize(("name", "flags", "glob"), [
    ("tmpa8xk2q.txt", os.O_RDONLY, "tmp*.txt"),          # mkstemp("tmpXXXXXX")
    ("tmpfile.txt", os.O_RDONLY, None),
    ("tmpk2j3h4l5", os.O_RDONLY, "tmp*"),                # Python's tempfile
    ("build-1f3e9a7c.log", os.O_WRONLY | os.O_CREAT, "build-*.log"),  # being made
    ("build-1f3e9a7c.log", os.O_RDONLY, None),           # only read: an ordinary name
    ("core.12345", os.O_WRONLY | os.O_CREAT, "core.*"),
    ("Makefile", os.O_WRONLY | os.O_CREAT, None),
    ("report2024.txt", os.O_WRONLY | os.O_CREAT, None),
])
def test_generated_name_offers_follow_the_generalizer(name, flags, glob):
    """The prompt offers a generated-name glob as the learner would write it: by the
    name's shape (``generalize.written_glob``: each run its shape, no ``*`` -- learn38),
    and what the call is doing with it (making it)."""
    found = patterns(offers_for(opening(f"/d/{name}", flags), "path", expansions=EX))
    assert found.get("temp") == (f"/d/{written_glob(name, glob)}" if glob else None)
    if glob:
        offered = PathGlob(found["temp"], expansions=EX)
        assert "*" not in found["temp"] and offered.matches(f"/d/{name}")
        assert not offered.matches("/d/" + glob.replace("*", "evil-hook.sh"))


def test_file_at_the_root_offers_no_directory_globs():
    assert keys(offers_for(opening("/vmlinuz"), "path", expansions=EX)) == ["file", "any"]


def test_sensitive_scopes_are_marked():
    offers = {o.key: o for o in offers_for(opening("/home/alice/.ssh/id_rsa"), "path",
                                            expansions=EX)}
    assert offers["file"].sensitive  # the file itself is sensitive
    assert offers["home"].sensitive and offers["any"].sensitive
    plain = {o.key: o for o in offers_for(opening("/home/alice/proj/a.c"), "path",
                                           expansions=EX)}
    assert not plain["file"].sensitive and not plain["dir"].sensitive
    assert plain["home"].sensitive  # ~/** covers ~/.ssh


def test_pseudo_files():
    pipe = offers_for(CallFacts("fstat", (PathArg("path", "pipe:[1234]"),)), "path",
                      expansions=EX)
    assert patterns(pipe) == {"file": "pipe:*", "any": None}
    memfd = offers_for(opening("/memfd:jit (deleted)"), "path", expansions=EX)
    assert patterns(memfd) == {"file": "memfd:jit", "kind": "memfd:*", "any": None}


def test_exec_offers_the_exact_command_line():
    facts = CallFacts("execve", (PathArg("path", "/usr/bin/git"),), argv=("git", "push", "*"))
    offers = offers_for(facts, "path", expansions=EX)
    assert keys(offers)[:2] == ["file", "argv"]
    argv_offer = offers[1]
    calls = rule_calls(facts, "path", None)
    assert calls == ("exec", "fsread")
    rule = build_rule(argv_offer, calls, Action.PERMIT, expansions=EX)
    table = Table("main", Action.ASK, rules=[rule])
    assert table.decide(facts).action is Action.PERMIT
    other = CallFacts("execve", (PathArg("path", "/usr/bin/git"),), argv=("git", "push", "x"))
    assert table.decide(other).action is Action.ASK  # "*" was a literal argument


# --- addresses and calls without arguments ------------------------------------------------------


def test_inet_offers():
    facts = CallFacts("connect", sockaddr=SockAddr("inet", "10.1.2.3", 443))
    offers = offers_for(facts, None, expansions=EX)
    assert [(o.key, o.shown) for o in offers] == [
        ("addr", "10.1.2.3:443"), ("host", "10.1.2.3, any port"),
        ("port", "any address, port 443"), ("any", "any")]
    table = Table("main", Action.ASK, rules=[build_rule(offers[2], ("net-connect",),
                                                        Action.PERMIT, expansions=EX)])
    assert table.decide(CallFacts("connect", sockaddr=SockAddr("inet", "1.1.1.1", 443))
                        ).action is Action.PERMIT
    assert table.decide(CallFacts("connect", sockaddr=SockAddr("inet", "1.1.1.1", 80))
                        ).action is Action.ASK


def test_a_name_is_offered_only_for_an_address_one_name_was_looked_up_for():
    """Red team 39: with several names, a rule on one of them (the first) could be one the
    answer never meant -- a name of the program's own zone pointed at the same address."""
    one = SockAddr("inet", "10.1.2.3", 443, names=("api.good.test",))
    keys = [o.key for o in offers_for(CallFacts("connect", sockaddr=one), None, expansions=EX)]
    assert keys == ["addr", "name", "domain", "host", "port", "any"]
    two = dataclasses.replace(one, names=("a.own.test", "api.good.test"))
    keys = [o.key for o in offers_for(CallFacts("connect", sockaddr=two), None, expansions=EX)]
    assert keys == ["addr", "host", "port", "any"]


def test_a_lookup_of_a_name_holding_a_wildcard_is_not_offered_as_a_name():
    """Red team 39: ``*.own.test`` as a host rule is every name below own.test; the lookup
    of that literal name offers no name, and a plain answer (no scope) must not fall back on
    ``any`` (every connect): it is an error, naming ``any`` stays possible."""
    plain = CallFacts("connect", sockaddr=SockAddr("inet", names=("api.good.test",)))
    assert [o.key for o in offers_for(plain, None, expansions=EX)] == ["name", "domain", "any"]
    wild = CallFacts("connect", sockaddr=SockAddr("inet", names=("*.own.test",)))
    offers = offers_for(wild, None, expansions=EX)
    assert [o.key for o in offers] == ["any"]
    with pytest.raises(OfferError):
        resolve_scope(None, offers, wild, None, expansions=EX)
    assert resolve_scope("any", offers, wild, None, expansions=EX).key == "any"


def test_inet6_and_unix_offers():
    six = offers_for(CallFacts("connect", sockaddr=SockAddr("inet6", "::1", 22)), None,
                     expansions=EX)
    assert six[0].shown == "[::1]:22"
    unix = offers_for(CallFacts("connect", sockaddr=SockAddr("unix", path="/run/app/s.sock")),
                      None, expansions=EX)
    assert [(o.key, o.unix) for o in unix] == [("file", "/run/app/s.sock"),
                                               ("dir", "/run/app/*"), ("any", None)]
    abstract = offers_for(CallFacts("connect", sockaddr=SockAddr("unix", path="@bus")), None,
                          expansions=EX)
    assert abstract[0].unix == "@bus"


def test_call_without_arguments_offers_only_any():
    offers = offers_for(CallFacts("ptrace"), None, expansions=EX)
    assert [(o.key, o.label) for o in offers] == [("any", "every ptrace call")]
    assert rule_calls(CallFacts("kill"), None, None) == ("kill",)  # not the whole signal alias


# --- which calls a remembered rule names ---------------------------------------------------------


def test_rule_names_only_the_classes_that_asked():
    policy = loads_policy("""
        default = "ask"
        [[rule]]
        calls = ["fsread"]
        path = "/data/**"
        action = "permit"
    """, "p.toml", ENV)
    rdwr = opening("/data/x", os.O_RDWR)
    assert asking_classes(rdwr, "path", policy.main) == ("fswrite",)
    assert rule_calls(rdwr, "path", policy.main) == ("fswrite",)
    assert rule_calls(rdwr, "path", None) == ("fsread", "fswrite")  # table unknown: all
    assert rule_calls(rdwr, "path", policy.main, no_alias=True) == ("openat",)
    assert rule_calls(CallFacts("connect", sockaddr=SockAddr("inet", "1.2.3.4", 1)), None,
                      None) == ("net-connect",)


def test_an_answer_about_looking_is_an_answer_about_the_file():
    """A stat asked about is remembered as fsread (the read that follows is what the person
    meant to permit; a rule naming fsmeta would ask again at once) -- and the check is found
    by its part: an fsmeta rule that already decides it is not asked about."""
    policy = loads_policy('default = "ask"\n', "p.toml", ENV)
    stat = CallFacts("newfstatat", (PathArg("path", "/data/x"),))
    assert rule_calls(stat, "path", policy.main) == ("fsread",)
    link = CallFacts("link", (PathArg("old", "/data/x"), PathArg("new", "/out/x")))
    assert rule_calls(link, "new", policy.main) == ("fswrite",)
    looks = loads_policy('default = "ask"\n[[rule]]\ncalls = ["fsmeta"]\naction = "never"\n'
                         '[[rule]]\ncalls = ["fsread"]\naction = "ask"\n', "q.toml", ENV)
    opening_it = CallFacts("openat", (PathArg("path", "/data/x"),), open_flags=os.O_RDONLY)
    assert asking_classes(opening_it, "path", looks.main) == ("fsread",)
    assert asking_classes(stat, "path", looks.main) == ("fsread",)  # none asks: all


# --- scopes a person types ---------------------------------------------------------------------


def test_resolve_scope_by_default_number_key_and_glob():
    facts = opening("/home/alice/proj/src/a.c")
    offers = offers_for(facts, "path", expansions=EX)
    assert resolve_scope(None, offers, facts, "path", expansions=EX).key == "file"
    assert resolve_scope("3", offers, facts, "path", expansions=EX).key == "dir"
    assert resolve_scope("tree", offers, facts, "path", expansions=EX).key == "tree"
    own = resolve_scope("~/proj/**/*.c", offers, facts, "path", expansions=EX)
    assert (own.key, own.pattern) == ("custom", "~/proj/**/*.c")


@pytest.mark.parametrize(("scope", "message"), [
    ("9", "choose 1 to"),
    ("0", "choose 1 to"),
    ("nowhere", "no scope 'nowhere'"),
    ("/etc/**", "does not match"),
    ("/tmp/[", "bad glob"),
    ("$NOPE/x", "bad glob"),
])
def test_bad_scopes(scope, message):
    facts = opening("/home/alice/proj/src/a.c")
    offers = offers_for(facts, "path", expansions=EX)
    with pytest.raises(OfferError) as info:
        resolve_scope(scope, offers, facts, "path", expansions=EX)
    assert message in str(info.value)


def test_custom_glob_needs_a_path():
    with pytest.raises(OfferError):
        custom_offer("/x/**", CallFacts("connect", sockaddr=SockAddr("inet", "1.2.3.4", 1)),
                     None, expansions=EX)


# --- every offer makes a rule that decides the very call asked about --------------------------

_NAME = st.text(string.ascii_letters + string.digits + "._-*?[]{},$~ \\\n@:", min_size=1,
                max_size=12).filter(lambda n: n not in (".", ".."))
_DIRS = st.sampled_from(["/tmp", "/home/alice", "/home/alice/proj", "/srv", "/"])


@settings(max_examples=200, deadline=None)
@given(_DIRS, st.lists(_NAME, min_size=1, max_size=3),
       st.sampled_from([os.O_RDONLY, os.O_WRONLY | os.O_CREAT, os.O_RDWR]),
       st.sampled_from([Action.PERMIT, Action.NEVER]))
@example("/tmp", [".000"], os.O_WRONLY | os.O_CREAT, Action.PERMIT)  # (a fresh offer: CI)
@example("/tmp", ["_000"], os.O_WRONLY | os.O_CREAT, Action.NEVER)  # (refused: not fresh, CI)
def test_every_offer_covers_the_call(base, names, flags, action):
    """A ``fresh`` offer (the run's own generated names) covers the call where the run makes
    the path -- the question the offer is made for; asked of a path the run did not make it
    stands aside (Facts.fresh), which the offer's label says."""
    path = base.rstrip("/") + "/" + "/".join(names)
    facts = opening(path, flags)
    for offer in offers_for(facts, "path", expansions=EX):
        rule = build_rule(offer, rule_calls(facts, "path", None), action, errno.EACCES,
                          expansions=EX)
        asked = dataclasses.replace(facts, made=frozenset({"path"})) if offer.fresh else facts
        decision = Table("main", Action.ASK, rules=[rule]).decide(asked)
        assert decision.action is action, (offer, path)
        # (a fresh offer makes a fresh rule only to permit: refused, every such name is)
        assert rule.fresh == (offer.fresh and action is Action.PERMIT), (offer, rule)
        if rule.fresh:
            assert Table("main", Action.ASK, rules=[rule]).decide(facts).action is Action.ASK


# --- a typed line for one request ----------------------------------------------------------------

POLICY = """
    default = "permit"
    [[rule]]
    calls = ["fsread"]
    path = "/home/alice/proj/**"
    action = "ask"
    errno = "EACCES"
"""


def request_for(policy, path="/home/alice/proj/src/a.c", program="/usr/bin/cat", pid=100):
    facts = opening(path)
    decision = policy.main.decide(facts)
    assert decision.action is Action.ASK
    return AskRequest(pid, pid, 1, program, "openat", {"path": path, "flags": "O_RDONLY"},
                      facts, decision)


def test_interpreter_answers():
    policy = loads_policy(POLICY, "p.toml", ENV)
    interp = Interpreter(request_for(policy), policy.main, expansions=EX, index=7)
    answer = interp.answer("permit dir for all")
    assert (answer.kind, answer.reach) == ("permit", "all")
    assert answer.rule.path.pattern == "$CWD/src/*" and answer.rule.calls == ("fsread",)
    assert answer.rule.label() == "rule 7 (<answer>)"
    denied = interp.answer("deny")
    assert denied.errno == errno.EACCES  # the asking rule's errno by default
    assert denied.rule.action is Action.NEVER and denied.reach == "program"
    now = interp.answer("deny-now[ENOENT]")
    assert (now.kind, now.errno, now.rule, now.burst) == ("deny", errno.ENOENT, None, False)
    assert interp.answer("permit-now").rule is None
    assert interp.answer("kill").kind == "kill"


def test_burst_covers_this_path_for_this_process_only():
    policy = loads_policy(POLICY, "p.toml", ENV)
    interp = Interpreter(request_for(policy), policy.main, expansions=EX)
    assert interp.burst
    permitted = interp.answer("permit burst")
    assert (permitted.kind, permitted.burst, permitted.rule) == ("permit", True, None)
    denied = interp.answer("deny[ENOENT] burst for process")
    assert (denied.kind, denied.errno, denied.burst) == ("deny", errno.ENOENT, True)
    with pytest.raises(AnswerError, match="this process only"):
        interp.answer("permit burst for program")
    with pytest.raises(AnswerError):
        interp.answer("permit-now burst")  # a call-only answer takes no scope
    facts = CallFacts("kill", ())
    table = loads_policy('default = "ask"', "p.toml", ENV).main
    no_path = AskRequest(1, 1, 0, "/bin/kill", "kill", {}, facts, table.decide(facts))
    pathless = Interpreter(no_path, table, expansions=EX)
    assert not pathless.burst
    with pytest.raises(OfferError, match="no path"):
        pathless.answer("permit burst")


def test_a_signal_to_the_tree_offers_and_remembers_the_tree():
    """A question about a signal whose every target is a task of the traced tree offers a
    ``target = "tree"`` permit first, as narrow as what was asked (close22: "every kill call"
    was the one scope); a deny, which the loader takes with no target, keeps ``any``."""
    table = loads_policy('default = "ask"', "p.toml", ENV).main
    facts = CallFacts("kill", tree=True)
    request = AskRequest(1, 1, 0, "/bin/kill", "kill", {}, facts, table.decide(facts))
    interp = Interpreter(request, table, expansions=EX)
    assert [(o.key, o.shown) for o in interp.offers] == [("tree", "target tree"), ("any", "any")]
    permitted = interp.answer("permit")
    assert (permitted.rule.calls, permitted.rule.target) == (("kill",), "tree")
    assert interp.answer("permit any").rule.target is None
    denied = interp.answer("deny")
    assert (denied.rule.action, denied.rule.target) == (Action.NEVER, None)
    with pytest.raises(OfferError, match="only a permit"):
        interp.answer("deny tree")
    saved = dumps_policy(Policy(Table("main", Action.ASK, rules=[permitted.rule])))
    assert loads_policy(saved, "p.toml", ENV).main.rules[0].target == "tree"
    outside = CallFacts("kill")  # (a target outside the tree, or not told: no such scope)
    assert [o.key for o in offers_for(outside, None, expansions=EX)] == ["any"]


def test_detach_only_where_the_policy_allows_it():
    policy = loads_policy(POLICY, "p.toml", ENV)
    with pytest.raises(AnswerError) as info:
        Interpreter(request_for(policy), policy.main, expansions=EX).parse("detach")
    assert "detach = true" in str(info.value)
    allowed = loads_policy("detach = true\n" + POLICY.replace("    ", ""), "p.toml", ENV)
    interp = Interpreter(request_for(allowed), allowed.main, expansions=EX)
    assert interp.answer("detach").kind == "detach"


def test_interpreter_no_alias():
    policy = loads_policy(POLICY, "p.toml", ENV)
    interp = Interpreter(request_for(policy), policy.main, no_alias=True, expansions=EX)
    assert interp.answer("permit").rule.calls == ("openat",)
