"""Reviewing a learned policy before it is trusted (``systrace policy review FILE``,
``systrace -A --review``): aa-logprof's walk over the generalizations, one at a time.

Every rule the learner widened keeps where it came from (its ``learned`` provenance: why, and
the paths it was made from -- see :class:`systrace_py.policy.files.Provenance`).  For each
such rule the review shows what was observed and the rule written, and a person accepts it,
narrows or widens it along the generalizer's ladder of patterns for those paths
(:func:`systrace_py.policy.generalize.scopes`: the paths themselves, their generated names,
their extension, their directory, their tree...), or drops it; then the policy is saved.

:class:`Review` is the walk itself, pure (tested without a terminal); :func:`review_policy`
puts it on the terminal with prompt-toolkit.  A widening never reaches a sensitive location
(``~/.ssh``, ``/etc/shadow``...), and a narrowing never loses a path the run used: narrowing
to the exact paths is offered only when the provenance kept them all.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from systrace_py.policy.files import FileRule, Provenance
from systrace_py.policy.generalize import Evidence, PathWriter, scopes, writes
from systrace_py.policy.glob import GlobError
from systrace_py.policy.model import Action, Policy, Rule, Table

__all__ = ["ANSWERS", "Item", "Review", "Step", "describe", "ladder_for", "review_policy"]

#: What a person types at the review prompt (the first letter is enough).
ANSWERS = {"a": "accept", "n": "narrow", "w": "widen", "d": "drop",
           "s": "save (accept the rest)", "q": "quit without saving"}


@dataclass
class Step:
    """One pattern on an item's ladder (None: any path -- a rule with no path condition)."""

    pattern: str | None
    label: str
    fresh: bool = False  # generated names: a permit of them covers only what the run makes
    #: the pattern reaches a name something runs later (generalize.Scope.runs_later)
    runs_later: bool = False


@dataclass
class Item:
    """One learned generalization under review: where its rule is, what was observed, the
    ladder of patterns it may move along, and where it stands (``at``) or whether it is
    dropped."""

    table: str
    rule: FileRule
    learned: Provenance
    ladder: list[Step]
    at: int
    dropped: bool = False

    @property
    def current(self) -> Step:
        return self.ladder[self.at]

    @property
    def changed(self) -> bool:
        return self.dropped or self.current.pattern != _pattern_of(self.rule)


def _pattern_of(rule: Rule) -> str | None:
    return rule.path.pattern if rule.path is not None else None


def _probes(paths: tuple[str, ...], writer: PathWriter) -> list[str]:
    """Paths near the observed ones, to order patterns by how much they let in: each path,
    a new name beside it (with and without its extension), a name two levels below its
    parent, a new name beside its parent, and a few unrelated places."""
    out: list[str] = []
    for path in paths:
        parent, _, name = path.rpartition("/")
        ext = name[name.rfind("."):] if "." in name[1:] else ""
        grand = parent.rpartition("/")[0]
        out += [path, f"{parent}/zz-new", f"{parent}/zz-new{ext}", f"{parent}/zz/zz/zz",
                f"{grand}/zz-sibling/zz"]
    for top in (writer.cwd, writer.home, "/usr", "/etc", "/opt/zz"):
        if top:
            out.append(f"{top}/zz-elsewhere/zz")
    return list(dict.fromkeys(out))


def _width(pattern: str | None, probes: list[str], writer: PathWriter) -> int:
    if pattern is None:
        return len(probes) + 1
    try:
        glob = writer.glob(pattern)
    except GlobError:
        return 0
    return sum(1 for probe in probes if glob.matches(probe))


def ladder_for(rule: FileRule, learned: Provenance, writer: PathWriter
               ) -> tuple[list[Step], int]:
    """The patterns a learned rule may move along, narrowest first, and where it stands.

    The generalizer's scopes for the observed paths -- without the exact paths when the
    provenance kept only some of them (narrowing must not lose one), and without any scope
    reaching a sensitive location unless the rule already does -- plus the rule's own
    pattern, placed by how much it lets in."""
    current = _pattern_of(rule)
    paths = tuple(p for p in learned.paths if p.startswith("/"))
    found = scopes(paths, writer, Evidence.TEMPORARY) if paths else []
    sensitive_now = any(s.sensitive for s in found if s.pattern == current)
    steps = [Step(s.pattern, s.label, s.fresh, s.runs_later) for s in found
             if (learned.complete or s.key != "file") and (not s.sensitive or sensitive_now)]
    at = next((i for i, s in enumerate(steps) if s.pattern == current), None)
    if at is not None:
        return steps, at
    own = Step(current, "any path" if current is None else f"as learned ({learned.kind})")
    if current is None or learned.kind.startswith("categories"):
        at = len(steps)  # the widest: a category is every file of its kind
    else:
        probes = _probes(paths, writer)
        width = _width(current, probes, writer)
        at = next((i for i, s in enumerate(steps)
                   if _width(s.pattern, probes, writer) > width), len(steps))
    steps.insert(at, own)
    return steps, at


@dataclass
class Review:
    """A walk over a policy's learned rules (those with a ``learned`` provenance), in table
    order; each is accepted, moved along its ladder, or dropped; :meth:`result` is the policy
    with every decision applied."""

    policy: Policy
    env: Mapping[str, str] | None = None
    items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = PathWriter.from_env(self.env)
        for table in self.policy.tables():
            for rule in table.rules:
                learned = getattr(rule, "learned", None)
                if isinstance(rule, FileRule) and learned is not None:
                    ladder, at = ladder_for(rule, learned, self.writer)
                    self.items.append(Item(table.name, rule, learned, ladder, at))

    def narrow(self, item: Item) -> bool:
        """One step narrower; False when there is none."""
        if item.at == 0:
            return False
        item.at -= 1
        item.dropped = False
        return True

    def widen(self, item: Item) -> bool:
        """One step wider; False when there is none."""
        if item.at + 1 >= len(item.ladder):
            return False
        item.at += 1
        item.dropped = False
        return True

    def drop(self, item: Item) -> None:
        item.dropped = True

    def result(self) -> Policy:
        """A copy of the policy with the items' patterns, dropped rules left out."""
        decided = {id(item.rule): item for item in self.items}

        def rules_of(table: Table) -> list[Rule]:
            out: list[Rule] = []
            for rule in table.rules:
                item = decided.get(id(rule))
                if item is None or not item.changed:
                    out.append(rule)
                else:
                    out += self._decided(item)
            return [dataclasses.replace(r, index=i + 1) for i, r in enumerate(out)]

        main = dataclasses.replace(self.policy.main, rules=rules_of(self.policy.main))
        programs = {key: dataclasses.replace(t, rules=rules_of(t))
                    for key, t in self.policy.programs.items()}
        return Policy(main, programs, dict(self.policy.program_patterns), self.policy.source,
                      self.policy.description, self.policy.trusted_filesystems)

    def _decided(self, item: Item) -> list[Rule]:
        """The rules an item's rule becomes.  When its provenance is about some of its calls
        (metadata anywhere shares a rule with the calls that take no arguments), only those
        move or go: the others keep the rule as it was."""
        rule, learned = item.rule, item.learned
        subject = learned.calls or rule.calls
        rest = tuple(c for c in rule.calls if c not in subject)
        out: list[Rule] = []
        if not item.dropped:
            pattern = item.current.pattern
            out.append(dataclasses.replace(
                rule, calls=subject, learned=dataclasses.replace(learned, calls=()),
                path=self.writer.glob(pattern) if pattern is not None else None,
                fresh=pattern is not None and rule.action is Action.PERMIT and (
                    rule.fresh or item.current.fresh)))
        if rest:
            out.append(dataclasses.replace(rule, calls=rest, learned=None))
        return out

    def tally(self) -> str:
        """What the review did, in words."""
        dropped = sum(1 for i in self.items if i.dropped)
        changed = sum(1 for i in self.items if i.changed and not i.dropped)
        kept = len(self.items) - dropped - changed
        return f"{kept} accepted, {changed} changed, {dropped} dropped"


#: what a widening that reaches a name something runs later is marked with
RUNS_LATER_MARK = " -- reaches hooks, makefiles, package.json...: its writes kept off them"


def describe(item: Item, number: int, total: int) -> list[str]:
    """The lines shown for one item: where it is, what was observed, what it would become."""
    rule = item.rule
    where = "main table" if item.table == "main" else f"table {item.table}"
    shown = item.current.pattern if item.current.pattern is not None else "(any path)"
    state = "DROPPED" if item.dropped else shown
    learned = item.learned
    seen = ", ".join(learned.paths[:4]) + (" ..." if len(learned.paths) > 4 or
                                           not learned.complete else "")
    lines = [f"[{number}/{total}] {where}, rule {rule.index}: {'/'.join(rule.calls)} {state}",
             f"  learned: {learned.kind}, {learned.seen} path"
             f"{'s' if learned.seen != 1 else ''} seen: {seen}"]
    # (a learned writing glob reaches none of them where it is used -- LearnedGlob --: the
    # mark says what the pattern would name, and that the rule is kept off them)
    writing = writes(rule.calls)

    def later(step: Step) -> str:
        return RUNS_LATER_MARK if writing and step.runs_later else ""

    if item.at > 0:
        narrower = item.ladder[item.at - 1]
        lines.append(f"  narrow -> {narrower.pattern} ({narrower.label}){later(narrower)}")
    if item.at + 1 < len(item.ladder):
        wider = item.ladder[item.at + 1]
        lines.append(f"  widen  -> {wider.pattern if wider.pattern is not None else '(any path)'}"
                     f" ({wider.label}){later(wider)}")
    lines.append("  " + "  ".join(f"[{k}]{v[1:]}" for k, v in ANSWERS.items()))
    return lines


def _answer_of(text: str) -> str | None:
    word = text.strip().lower()
    if not word:
        return "a"  # Enter accepts
    return word[0] if (word[0] in ANSWERS and ANSWERS[word[0]].startswith(word)) or \
        word in ANSWERS else None


def review_policy(policy: Policy, env: Mapping[str, str] | None, *, quiet: bool = False,
                  stdout: IO[str] | None = None) -> Policy | None:
    """Walk the learned rules on the terminal; the reviewed policy, or None when the person
    quit without saving (or there is no terminal to ask on: then the policy is returned
    unreviewed, with a line saying so)."""
    out = stdout or sys.stdout
    review = Review(policy, env)
    if not review.items:
        if not quiet:
            out.write("systrace: nothing to review: no rule of this policy was generalized\n")
        return policy
    if not (sys.stdin.isatty() and out.isatty()):
        sys.stderr.write("systrace: --review needs a terminal: the policy was not reviewed\n")
        return policy
    from prompt_toolkit import PromptSession
    from prompt_toolkit.validation import ValidationError, Validator

    class _Valid(Validator):
        def validate(self, document: object) -> None:
            text = getattr(document, "text", "")
            if _answer_of(text) is None:
                raise ValidationError(message="a, n, w, d, s or q (Enter accepts)")

    session: PromptSession[str] = PromptSession()
    total = len(review.items)
    number = 0
    while number < total:
        item = review.items[number]
        out.write("\n".join(describe(item, number + 1, total)) + "\n")
        out.flush()
        try:
            text = session.prompt("review> ", validator=_Valid(), validate_while_typing=False)
        except (EOFError, KeyboardInterrupt):
            return None
        answer = _answer_of(text)
        if answer == "q":
            return None
        if answer == "s":
            break
        if answer == "n" and not review.narrow(item):
            out.write("  (nothing narrower: these are the paths the run used)\n")
        elif answer == "w" and not review.widen(item):
            out.write("  (nothing wider that reaches no sensitive location)\n")
        elif answer == "d":
            review.drop(item)
            number += 1
        elif answer == "a":
            number += 1
    out.write(f"systrace: reviewed: {review.tally()}\n")
    out.flush()
    return review.result()
