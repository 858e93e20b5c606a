"""The review of a learned policy (systrace_py.ui.review), without a terminal: which rules are
walked, the ladder each moves along, and the policy that comes out -- saved and loaded again,
deciding as the person chose."""

from __future__ import annotations

import os

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.learn import MAIN, LearnOptions, Observation, decide_observation, learn
from systrace_py.policy.model import Action, PathArg
from systrace_py.ui.review import Review, describe

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
R = os.O_RDONLY
EXCL = os.O_RDWR | os.O_CREAT | os.O_EXCL


def read(path: str) -> Observation:
    return Observation(MAIN, "openat", (PathArg("path", path),), R)


OBSERVED = [
    Observation(MAIN, "getdents64", (PathArg("path", "/data"),), listing=("a.txt", "b.txt")),
    read("/data/a.txt"), read("/data/b.txt"),
    Observation(MAIN, "openat", (PathArg("path", "/tmp/ccAb12Cd.s"),), EXCL, created=("path",),
                exclusive=True),
    Observation(MAIN, "newfstatat", (PathArg("path", "/etc/hosts"),)),
    read("/usr/lib/x86_64-linux-gnu/libc.so.6"),
    read("/work/proj/notes.txt"),
]


def learned_policy():
    text = dumps_policy(learn(OBSERVED, LearnOptions(env=ENV)).policy)
    return loads_policy(text, "learned.toml", ENV)  # provenance survives the file


def item_for(review: Review, kind: str):
    return next(i for i in review.items if i.learned.kind.startswith(kind))


def permitted(policy, obs: Observation) -> bool:
    return decide_observation(policy, obs).action is Action.PERMIT


def test_every_generalized_rule_is_walked_and_exact_ones_are_not():
    review = Review(learned_policy(), ENV)
    kinds = sorted(i.learned.kind for i in review.items)
    assert kinds == ["categories: libraries", "directory listings (every entry seen)",
                     "generated names", "metadata of any path"]
    assert all(i.rule.path is None or "notes" not in i.rule.path.pattern for i in review.items)


def test_narrow_widen_and_drop_then_the_policy_decides_as_chosen():
    review = Review(learned_policy(), ENV)
    listing = item_for(review, "directory listings")
    assert listing.current.pattern == "/data/*"
    assert review.narrow(listing) and listing.current.pattern == "/data/*.txt"
    assert review.narrow(listing) and listing.current.pattern == "/data/{a,b}.txt"
    assert not review.narrow(listing)  # the paths the run used: nothing narrower
    temp = item_for(review, "generated names")
    assert review.widen(temp) and temp.current.pattern == "$TMPDIR/*.s"
    review.drop(item_for(review, "categories"))
    metadata = item_for(review, "metadata of any path")
    assert metadata.current.pattern is None
    assert review.narrow(metadata) and metadata.current.pattern == "/etc/hosts"
    text = dumps_policy(review.result())
    policy = loads_policy(text, "reviewed.toml", ENV)
    assert permitted(policy, read("/data/a.txt")) and not permitted(policy, read("/data/c.txt"))
    assert permitted(policy, Observation(MAIN, "openat", (PathArg("path", "/tmp/x.s"),), EXCL))
    assert not permitted(policy, read("/usr/lib/x86_64-linux-gnu/libc.so.6"))  # dropped
    assert permitted(policy, read("/work/proj/notes.txt"))                      # untouched
    # metadata: now of /etc/hosts only; the calls that shared its rule are still permitted
    assert permitted(policy, Observation(MAIN, "newfstatat", (PathArg("path", "/etc/hosts"),)))
    assert not permitted(policy, Observation(MAIN, "newfstatat", (PathArg("path", "/x"),)))
    assert permitted(policy, Observation(MAIN, "read"))
    assert "dropped" in review.tally() and "1 dropped" in review.tally()


def test_widening_stops_before_a_sensitive_location():
    obs = [Observation(MAIN, "openat", (PathArg("path", "/home/u/proj/tmpab12cd34"),), EXCL,
                       created=("path",), exclusive=True),
           Observation(MAIN, "unlink", (PathArg("path", "/home/u/proj/tmpab12cd34"),))]
    env = {**ENV, "CWD": "/elsewhere/x"}
    policy = loads_policy(dumps_policy(learn(obs, LearnOptions(env=env)).policy), "l.toml", env)
    review = Review(policy, env)
    item = item_for(review, "generated names")
    while review.widen(item):
        pass
    assert item.current.pattern == "~/proj/**"  # not ~/** (it holds ~/.ssh)


def test_the_screen_says_what_was_observed_and_what_the_rule_would_become():
    review = Review(learned_policy(), ENV)
    listing = item_for(review, "directory listings")
    lines = "\n".join(describe(listing, 1, len(review.items)))
    assert "/data/a.txt" in lines and "narrow -> /data/*.txt" in lines
    assert "widen  -> /data/**" in lines and "[a]ccept" in lines


def test_a_rule_moved_to_generated_names_covers_only_what_the_run_makes():
    """Gap #30 for the review: a learned rule moved to its paths' generated names (a glob
    whose wildcard the program chose) becomes ``fresh``, as the learner writes such rules
    (tests/engine/test_fresh_rules.py: what a fresh rule lets through)."""
    names = ("out-a1b2c3d4.log", "out-b7c8d9e0.log")
    observed = [Observation(MAIN, "getdents64", (PathArg("path", "/work/proj/o"),),
                            listing=names),
                *(read(f"/work/proj/o/{n}") for n in names)]
    text = dumps_policy(learn(observed, LearnOptions(env=ENV)).policy)
    review = Review(loads_policy(text, "learned.toml", ENV), ENV)
    item = item_for(review, "directory listings")
    assert item.current.pattern == "$CWD/o/*" and not item.rule.fresh
    # (the names' shape as -A writes it, not "out-*.log": any new name of out- -- learn38)
    target = next(s.pattern for s in item.ladder if s.label.startswith("generated names"))
    assert target.startswith("$CWD/o/out-") and target.endswith(".log") and "*" not in target
    while item.current.pattern != target:
        assert review.narrow(item), [s.pattern for s in item.ladder]
    policy = loads_policy(dumps_policy(review.result()), "reviewed.toml", ENV)
    (moved,) = [r for r in policy.main.rules if r.path is not None]
    assert moved.fresh and moved.path.pattern == target
    assert all(moved.path.matches(f"/work/proj/o/{n}") for n in names)
    assert not moved.path.matches("/work/proj/o/out-evil.log")
