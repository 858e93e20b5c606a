"""The learner's writes of content-hash-shaped paths (gap #31, learn._hash_writes): the
shape's write rule covers only what the next run makes, reads keep the shape, and the files
of the shape the learning run wrote that its next run writes again are granted by name."""

from __future__ import annotations

import os

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import HEX_DIGIT
from systrace_py.policy.learn import (
    HASH_REWRITE_CAP,
    MAIN,
    LearnOptions,
    Observation,
    format_summary,
    learn,
)
from systrace_py.policy.model import Action, CallFacts, PathArg, Rule

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
HASH = "0123456789abcdef" * 2
OBJECTS = "/work/proj/objects"
SHAPE = "$CWD/objects/" + HEX_DIGIT * 2 + "/" + HEX_DIGIT * len(HASH)
MADE = f"{OBJECTS}/ab/{HASH}"          # what the learning run made
OLDER = f"{OBJECTS}/cd/{HASH[::-1]}"   # an older object it never wrote
NEW = f"{OBJECTS}/ef/{HASH[1:]}0"      # the next run's own object


def learned(observations: list[Observation]):
    """The policy learned (written and loaded again, as the next run reads it)."""
    report = learn(observations, LearnOptions(env=ENV))
    return loads_policy(dumps_policy(report.policy), "pol.toml", ENV), report


def rules_on(policy, pattern: str) -> list[Rule]:
    return [r for r in policy.main.rules if r.path is not None and r.path.pattern == pattern]


def opened(path: str, flags: int, made: bool) -> CallFacts:
    """An open of ``path``; ``made``: a file this run made (a fresh rule's own)."""
    return CallFacts("openat", (PathArg("path", path),), flags,
                     made=frozenset({"path"}) if made else frozenset())


def made_by(flags: int, path: str = MADE) -> Observation:
    return Observation(MAIN, "openat", (PathArg("path", path),), flags, created=("path",),
                       exclusive=bool(flags & os.O_EXCL))


def permits(policy, facts: CallFacts) -> bool:
    return policy.main.decide(facts).action is Action.PERMIT


def test_a_hash_made_new_only_learns_a_fresh_write_rule_and_reads_keep_the_shape() -> None:
    """git makes an object new only (O_EXCL, or a temporary file linked to its name): the
    write rule of the shape is fresh -- the next run's own objects, no older one -- and
    reading keeps the shape (git reads older objects).  No name of another shape is
    covered."""
    policy, report = learned([made_by(os.O_WRONLY | os.O_CREAT | os.O_EXCL),
                              Observation(MAIN, "openat", (PathArg("path", OLDER),),
                                          os.O_RDONLY)])
    rules = rules_on(policy, SHAPE)
    assert sorted((r.calls, r.fresh) for r in rules) == [(("fsread",), False),
                                                         (("fswrite",), True)], rules
    assert any(g.fresh and g.pattern == SHAPE for g in report.generalizations)
    assert permits(policy, opened(OLDER, os.O_RDONLY, made=False))
    assert permits(policy, opened(NEW, os.O_WRONLY | os.O_CREAT | os.O_EXCL, made=True))
    assert permits(policy, opened(MADE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, made=True))
    for flags in (os.O_WRONLY | os.O_APPEND, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        for path in (OLDER, MADE):  # (the learning run's object is older to the next run)
            assert not permits(policy, opened(path, flags, made=False)), (path, flags)
    for other in (f"{OBJECTS}/ab/config", "/work/proj/.bashrc", f"{OBJECTS}/abc/{HASH}",
                  f"{OBJECTS}/ab/" + "x" * len(HASH)):
        assert not permits(policy, opened(other, os.O_RDONLY, made=False)), other


def test_a_hash_file_the_next_run_writes_again_is_granted_by_name() -> None:
    """npm's cacache makes its index files O_WRONLY|O_APPEND|O_CREAT and appends to them on
    the next run, and writes older ones of keys it uses: each is granted by name, with the
    fresh shape for the next run's own.  Another older file of the shape stays refused."""
    index = "/work/proj/objects"
    policy, _ = learned([made_by(os.O_WRONLY | os.O_CREAT),
                         Observation(MAIN, "openat", (PathArg("path", f"{index}/12/{HASH}"),),
                                     os.O_WRONLY)])  # (O_APPEND: not kept in observations)
    text = dumps_policy(policy)
    assert [r.fresh for r in rules_on(policy, SHAPE)] == [True], text
    assert f"ab/{HASH}" in text and f"12/{HASH}" in text, text
    for path in (MADE, f"{index}/12/{HASH}"):
        assert permits(policy, opened(path, os.O_WRONLY | os.O_APPEND, made=False)), path
    assert not permits(policy, opened(OLDER, os.O_WRONLY | os.O_APPEND, made=False))
    assert permits(policy, opened(NEW, os.O_WRONLY | os.O_CREAT, made=True))


def test_a_hash_name_a_rename_made_is_granted_by_name_and_a_link_is_not() -> None:
    """A rename replaces what is at its new name (a cache entry renamed over on the next
    run): that name is granted too.  A link makes a name only anew (EEXIST on an older
    one, which the fresh rule covers): no rule of its own."""
    tmp = "/work/proj/objects/tmp_obj_x"
    linked = f"{OBJECTS}/ee/{HASH}"
    policy, _ = learned([
        Observation(MAIN, "rename", (PathArg("old", tmp), PathArg("new", MADE)),
                    created=("new",)),
        Observation(MAIN, "link", (PathArg("old", tmp), PathArg("new", linked)),
                    created=("new",))])
    text = dumps_policy(policy)
    assert rules_on(policy, f"$CWD/objects/ab/{HASH}"), text
    assert not rules_on(policy, f"$CWD/objects/ee/{HASH}"), text
    assert [r.fresh for r in rules_on(policy, SHAPE)] == [True], text
    assert permits(policy, CallFacts("rename", (PathArg("old", tmp), PathArg("new", MADE)),
                                     made=frozenset({"old"})))


def test_past_the_cap_the_shape_is_written_as_before_and_the_summary_says_so() -> None:
    """A run that wrote more older files of one shape than HASH_REWRITE_CAP (a warm cache
    of many keys) keeps the shape's write rule not fresh: a bounded policy, and the next
    run works -- the summary names the shape, whose older files are then writable."""
    older = [Observation(MAIN, "openat", (PathArg("path", f"{OBJECTS}/{i:02x}/{HASH}"),),
                         os.O_WRONLY) for i in range(HASH_REWRITE_CAP + 1)]
    report = learn(older, LearnOptions(env=ENV))
    rules = [r for r in report.policy.main.rules if r.path is not None and "[0-9a-f]" in
             r.path.pattern]
    assert [r.fresh for r in rules] == [False], rules
    assert report.rewritten_hashes == [(SHAPE, HASH_REWRITE_CAP + 1)]
    assert any("not fresh" in line and SHAPE in line for line in format_summary(report))
    fits = learn(older[:HASH_REWRITE_CAP], LearnOptions(env=ENV))
    assert fits.rewritten_hashes == [] and all(
        r.fresh for r in fits.policy.main.rules if r.path is not None and
        "[0-9a-f]" in r.path.pattern)


def test_a_call_key_that_reads_and_writes_keeps_the_shape() -> None:
    """-u learns a rule per call: one ``openat`` rule decides reads (git's older objects)
    and writes alike, so a fresh one would refuse the reads; its shape stays."""
    report = learn([made_by(os.O_WRONLY | os.O_CREAT | os.O_EXCL),
                    Observation(MAIN, "openat", (PathArg("path", OLDER),), os.O_RDONLY)],
                   LearnOptions(env=ENV, no_alias=True))
    rules = [r for r in report.policy.main.rules if r.path is not None
             and r.path.pattern == SHAPE]
    assert rules and not any(r.fresh for r in rules), rules


def test_an_uppercase_hash_is_a_hash_of_its_own_case() -> None:
    """gpg-agent names a new key's file by its keygrip, 40 uppercase hex digits, made
    O_EXCL: learned literally, the next run's key (another keygrip) was refused.  Its shape is
    each digit ``[0-9A-F]``, the write fresh; a lowercase hash, a name of mixed case or
    another alphabet are not covered, nor is an older key written."""
    keys = "/work/proj/gh/private-keys-v1.d"
    grip = "EF92192334F860D00438E46207AED15EFC58FB15"
    policy, _ = learned([made_by(os.O_WRONLY | os.O_CREAT | os.O_EXCL, f"{keys}/{grip}.key")])
    assert rules_on(policy, "$CWD/gh/private-keys-v1.d/" + "[0-9A-F]" * 40 + ".key"), \
        dumps_policy(policy)
    nxt = f"{keys}/{grip[::-1]}.key"
    assert permits(policy, opened(nxt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, made=True))
    assert not permits(policy, opened(nxt, os.O_WRONLY | os.O_TRUNC, made=False))
    for other in (grip.lower(), grip[:20] + grip[20:].lower(), "Z" + grip[1:]):
        assert not permits(policy, opened(f"{keys}/{other}.key", os.O_WRONLY | os.O_CREAT,
                                          made=True)), other


# --- a file below a hash's name the run only wrote: read back next run (learn24) -------------

WHEELS = "/home/u/.cache/pip/wheels"


def _cache_entry(digest: str) -> list[Observation]:
    """pip caches the wheel it built from an sdist under the hash of the sdist's link:
    ``wheels/7b/ab/a4/HASH/``, made by mkdir, and writes ``origin.json`` there (never
    reads it: the next install of the same sdist does)."""
    parts = [digest[:2], digest[2:4], digest[4:6], digest[6:]]
    obs, at = [], WHEELS
    for part in parts:
        at += "/" + part
        obs.append(Observation(MAIN, "mkdir", (PathArg("path", at),), created=("path",),
                               exclusive=True))
    obs.append(made_by(os.O_WRONLY | os.O_CREAT | os.O_TRUNC, f"{at}/origin.json"))
    return obs


def _entry(digest: str, name: str = "origin.json") -> str:
    return f"{WHEELS}/{digest[:2]}/{digest[2:4]}/{digest[4:6]}/{digest[6:]}/{name}"


HEX = "0123456789abcdef"


@given(st.text(alphabet=HEX, min_size=56, max_size=56),
       st.text(alphabet=HEX, min_size=56, max_size=56),
       st.sampled_from(["secret.json", "origin.json.bak", "notes.txt", "origin.jso"]))
@settings(max_examples=40, deadline=None)
def test_a_file_below_a_hash_the_run_only_wrote_is_read_by_its_name(seen, other, control
                                                                    ) -> None:
    """``origin.json`` the learning run wrote is read back by the next install (refused
    before learn24, pip failed): granted by its name -- the same key, the same hash next
    time.  Not: another entry's ``origin.json`` (the shape: every entry of the cache),
    another name in an entry, a listing of the entries, a write of an older one."""
    assume(other != seen)  # (the run's own is written again by name: above)
    policy, _ = learned(_cache_entry(seen))
    assert permits(policy, opened(_entry(seen), os.O_RDONLY, made=False))
    assert not permits(policy, opened(_entry(other), os.O_RDONLY, made=False))
    assert not permits(policy, opened(_entry(other), os.O_WRONLY | os.O_TRUNC, made=False))
    for path in (_entry(seen, control), _entry(other, control), f"{WHEELS}/{control}",
                 _entry(seen).rpartition("/")[0], f"{WHEELS}/{seen[:2]}",
                 f"{WHEELS}/{seen[:2]}/{seen[2:4]}/{seen[4:6]}/{seen[6:]}x/origin.json",
                 "/home/u/.cache/origin.json", "/home/u/.ssh/id_rsa"):
        assert not permits(policy, opened(path, os.O_RDONLY, made=False)), path
