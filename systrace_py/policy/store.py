"""The policy file of a run: loaded once, decided by, added to by answers, saved as written.

One object holds a run's policy file from start to end, so that what a person answered is
kept in one place and reaches the file whole:

* :meth:`PolicyStore.load` reads the file once; the supervisor decides every call by
  :attr:`PolicyStore.policy`, and knows the file by :attr:`PolicyStore.path`.
* A remembered answer is a rule added to a live table of that policy -- the table of the
  program that asked, the main table, every table (``for all``) -- and nowhere else.  When
  the program has no table of its own, :meth:`PolicyStore.program_table` makes one (a copy of
  the table the process ran under: a program table inherits no rules) and registers it in
  the policy, so the next answer, the next exec of that program and the save all find it.
* :meth:`PolicyStore.save` works out what the run added -- rules that were not in a table
  when it was loaded, tables that were not in the file -- and merges that into the file *as
  it is now*: read, merge, compare-and-replace under the file's lock
  (:func:`~systrace_py.policy.files.policy_lock`).  An edit a person saved while the run was
  asking is read and kept; another run saving into the same file meanwhile is waited for and
  merged with.  Rules are inserted where they decide -- ahead of the table's rules, skipped
  when the table already has them (:func:`~systrace_py.policy.learn.merge_rules`) -- into
  the file's own text with tomlkit, so ``#`` comments, order, layout and spelling survive.
  The edited text is loaded back and compared with the merge; should it differ (a layout
  the editing cannot take), the file is written in systrace's layout instead, and the
  report says so (the backup keeps the original).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as errno_module
import itertools
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from systrace_py.policy.files import (
    REPLACE_TRIES,
    Destination,
    FileChanged,
    dumps_policy,
    load_policy,
    loads_policy,
    policy_lock,
    program_table_values,
    read_policy_bytes,
    replace_policy_text,
    resolved_program_key,
    rule_data,
)
from systrace_py.policy.glob import PathGlob, escape, holds_expansion, is_literal
from systrace_py.policy.model import Action, Policy, Rule, Table, answer_place, unplaced

if TYPE_CHECKING:  # (pathlib: imported by the runs that save)
    from pathlib import Path

__all__ = ["MAIN", "NotSaved", "PolicyStore", "SaveReport"]

#: The name of a policy's main table.
MAIN = "main"


@dataclass(frozen=True)
class NotSaved:
    """A remembered rule this store could not save: its table is in another file (a policy
    directory's), named by ``where``."""

    rule: Rule
    where: str


@dataclass
class SaveReport:
    """What :meth:`PolicyStore.save` did."""

    path: Path | None = None          # the file written (None: nothing to write)
    backup: Path | None = None        # the old file's copy
    saved: int = 0                    # remembered rules written (one per answer)
    tables: list[str] = field(default_factory=list)   # program tables the save created
    layout_kept: bool = True          # False: rewritten in systrace's layout
    moved: str | None = None          # the file's directory was moved during the run: now here
    not_saved: list[NotSaved] = field(default_factory=list)


@dataclass(eq=False)
class _Baseline:
    """A table as the run found it: the rules it had when the file was loaded (or when an
    answer made it).  What the run added is what is in it now and was not then."""

    table: Table
    rules: list[Rule]
    created: bool = False       # an answer made it: it was not in the file
    where: str | None = None    # a table of another file (not saved here): that file

    def added(self) -> list[Rule]:
        had = {id(rule) for rule in self.rules}
        return [rule for rule in self.table.rules if id(rule) not in had]


class PolicyStore:
    """A run's policy file (see the module docstring).

    ``path`` None: a policy from elsewhere (a library user's), never saved.  ``command``: the
    program systrace started; a ``for program`` answer of the command, while it runs under
    the main table, goes into the main table (that is the command's table) rather than a
    new program table.
    """

    def __init__(self, policy: Policy, path: str | os.PathLike[str] | None = None, *,
                 env: Mapping[str, str] | None = None, command: str | None = None) -> None:
        self.policy = policy
        self._path = path
        self.env = env
        self.command = os.path.realpath(command) if command else None
        #: each file answers may be saved into, pinned when the run began -- or, when its
        #: directory could not be opened then (made by the run, say), where it led
        self._pins: dict[str, Destination | str] = {}
        if path is not None:
            self.pin(path)
        self._baselines: list[_Baseline] = [_Baseline(t, list(t.rules))
                                            for t in policy.tables()]
        #: each remembered rule's asking rule (None: a table's default asked): where the
        #: save puts it in the file as it is then (model.answer_place)
        self._asked_by: dict[int, tuple[Rule, Rule | None]] = {}

    @property
    def path(self) -> Path | None:
        """The policy file (None: the policy came from no file)."""
        if self._path is None:
            return None
        from pathlib import Path

        return Path(self._path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: Mapping[str, str] | None = None, *,
             command: str | None = None) -> PolicyStore:
        """Read a policy file (PolicyError when it does not load)."""
        return cls(load_policy(path, env), path, env=env, command=command)

    def pin(self, destination: str | os.PathLike[str]) -> None:
        """Pin a file answers may be saved into, before the run (:class:`Destination`):
        saving writes into the directory it led to then, and follows no link made since (a
        program run with ``-c`` as another user would have us write a file it may not: red
        team 13b; the program, or any process of the user, may move a directory of the
        path: issue 11)."""
        key = os.path.normpath(destination)
        old = self._pins.pop(key, None)
        if isinstance(old, Destination):
            old.close()
        try:
            self._pins[key] = Destination.pin(destination)
        except OSError:
            self._pins[key] = os.path.realpath(destination)

    def _pinned(self, destination: str | os.PathLike[str]) -> tuple[Destination, bool]:
        """The pin of a destination (taken now when there is none: True, to close).  One
        that could not be pinned before the run is pinned now if it leads where it led then
        (red team 13b's check: a link made during the run is not followed)."""
        pinned = self._pins.get(os.path.normpath(destination))
        if isinstance(pinned, Destination):
            return pinned, False
        now = Destination.pin(destination)
        if pinned is not None and os.path.join(now.directory, now.name) != pinned:
            now.close()
            raise OSError(errno_module.ELOOP, f"{destination} leads to {now.directory}/"
                          f"{now.name} now, not to {pinned} as when the run began (a link made"
                          " during the run): not written", os.fspath(destination))
        return now, True

    # --- the run ----------------------------------------------------------------------------
    def watch(self, tables: Sequence[Table], where: str) -> None:
        """Tables of another file the run decides by too (a policy directory's), or that
        a table an answer makes must decide as strictly as (the directory's other files in
        a ``-p`` run of one of its files, ``--save-answers``'s file and directory:
        cli.run._watch_next_runs): rules answers add to them are reported as not saved."""
        self._baselines += [_Baseline(t, list(t.rules), where=where) for t in tables]

    def owns(self, table: Table) -> bool:
        """Whether a table is one of this file's (or one an answer made for it)."""
        return any(t is table for t in self.policy.tables())

    def is_command(self, program: str) -> bool:
        return self.command is not None and os.path.realpath(program) == self.command

    def program_table(self, program: str, under: Table, *, claimed: bool = False
                      ) -> tuple[Table, bool]:
        """The table a ``for program`` answer goes into when the policies have no literal one
        for the program: the main table for the command running under it; else a new table
        for the program (``learn.carried_table``), registered in the policy.  ``claimed``:
        ``under`` is the glob table that claims the program -- the new table is a literal
        copy of it (review 58: the answer put in the glob table reached every program the
        glob matches) -- unless the glob's key holds an expansion (``$CWD/*``, ``~/bin/*``,
        ``$TMPDIR/*``: glob.holds_expansion), which claims the program only where a run's
        expansion reaches it: from elsewhere it ran under its callers' tables, so the new
        table is made as below, the glob's rules first (review 65: a copy of
        ``[program."$CWD/*"]`` made in ``p1`` was taken from ``p2`` too, where main's
        ``never`` had refused the program's read).  Else the program ran under its callers'
        tables, and the new table -- which each process of the program takes now, from
        whichever table it is exec'd --
        decides as strictly as every table of the run, this file's and the policy
        directory's: their refusals, the strictest default (red team 84; review 58: a copy
        of a ``default = "permit"`` caller's table lost main's default refusal).  Returns the
        table and whether it is new."""
        from systrace_py.policy.learn import carried_table

        if under is self.policy.main and self.is_command(program):
            return under, False
        candidates = [under] if claimed and not holds_expansion(under.name) else [
            under, *self.policy.tables(), *(b.table for b in self._baselines)]
        table, _ = carried_table(program, candidates, prefer=under)
        self.policy.programs[program] = table
        self._baselines.append(_Baseline(table, list(table.rules), created=True))
        return table, True

    def asked_by(self, rule: Rule, asking: Rule | None) -> None:
        """Note the rule that asked the question ``rule`` answers (None: the default)."""
        self._asked_by[id(rule)] = (rule, asking)

    def place(self, table: Table, rule: Rule, asking: Rule | None, new: bool) -> None:
        """Add ``rule``, an answer to ``asking``'s question, to a table of the run: just
        before the rule that asked (model.answer_place).  In a table an answer made
        (``new``: learn.carried_table) the asking rule may be carried as a ``never`` among
        the other tables' refusals in front: the answer goes after those refusals, and that
        ``never`` right after it -- before them the answer overtook what another table the
        program could have run under refused; after its own question's ``never`` it decided
        nothing (review 65).  So also where the table holds a copy of the ``ask`` as well
        (another program's table answered before carried the same ``ask`` as a ``never``
        in front of this table's own copy of it): put before that copy, the answer stood
        after its own question's ``never`` and the program was refused for ever (review
        69).  The ``never`` is the same question's, by content: the answer, no wider than
        the ``ask`` (aliases.answered_calls, answer_conditions), permits no call that
        ``never`` picks and the ``ask`` would not have picked first."""
        if new and asking is not None and not any(r is asking for r in table.rules):
            carried = unplaced(dataclasses.replace(asking, action=Action.NEVER,
                                                    redirect=None))
            own = next((r for r in table.rules if unplaced(r) == carried), None)
            if own is not None:
                rules = [r for r in table.rules if r is not own]
                front = next((at for at, r in enumerate(rules)
                              if r.action not in (Action.NEVER, Action.INJECT)), len(rules))
                rules[front:front] = [rule, own]
                table.rules = rules
                return
        table.add_rule(rule, answer_place(table.rules, asking))

    def remembered(self) -> list[Rule]:
        """The rules answers added to this file's tables, newest first, each once."""
        seen: dict[int, Rule] = {}
        for baseline in self._baselines:
            if baseline.where is None:
                for rule in baseline.added():
                    seen.setdefault(id(rule), rule)
        return list(seen.values())

    def not_saved(self) -> list[NotSaved]:
        """Rules answers added only to tables of other files."""
        mine = {id(rule) for rule in self.remembered()}
        out: dict[int, NotSaved] = {}
        for baseline in self._baselines:
            if baseline.where is not None:
                for rule in baseline.added():
                    if id(rule) not in mine:
                        out.setdefault(id(rule), NotSaved(rule, baseline.where))
        return list(out.values())

    # --- saving -----------------------------------------------------------------------------
    def save(self, target: str | os.PathLike[str] | None = None) -> SaveReport:
        """Merge the remembered rules into the policy file (or into ``target``, the
        ``--save-answers`` file: merged into when it exists, else started as a copy of the
        policy file).  Raises PolicyError when the file no longer loads, OSError when it
        cannot be written (or kept changing under the save)."""
        report = SaveReport(not_saved=self.not_saved())
        changes = [b for b in self._baselines if b.where is None and b.added()]
        if not changes:
            return report
        from pathlib import Path

        destination = Path(target) if target is not None else self.path
        if destination is None:
            raise OSError(errno_module.EINVAL, "the policy came from no file: nowhere to save")
        pinned, own = self._pinned(destination)
        try:
            with policy_lock(pinned):
                for attempt in range(REPLACE_TRIES):
                    current = read_policy_bytes(pinned)
                    text = current if current is not None else self._start_text()
                    merged = self._merge(text.decode("utf-8", "surrogateescape"),
                                         str(destination), changes, report)
                    try:
                        report.backup = replace_policy_text(pinned, merged, current)
                    except FileChanged:
                        if attempt == REPLACE_TRIES - 1:
                            raise OSError(errno_module.EAGAIN, "the file kept changing while "
                                          "it was being saved", str(destination)) from None
                        continue
                    report.path = destination
                    report.moved = pinned.moved()
                    return report
        finally:
            if own:
                pinned.close()
        raise AssertionError("unreachable")

    def _start_text(self) -> bytes:
        """What a missing destination starts from: the run's policy file as it is now, or,
        when that is gone too, the policy as the run had it."""
        if self.path is not None:
            source: bytes | None = None
            with contextlib.suppress(OSError):  # (not a regular file now: as the run had it)
                pinned, own = self._pinned(self.path)
                try:
                    source = read_policy_bytes(pinned)
                finally:
                    if own:
                        pinned.close()
            if source is not None:
                return source
        return dumps_policy(self._as_loaded()).encode()

    def _as_loaded(self) -> Policy:
        """The policy without what the run added (its rules are merged in after)."""
        main = self.policy.main
        out = Policy(_copy(main, self._rules_at_start(main)), source=self.policy.source,
                     description=self.policy.description,
                     trusted_filesystems=self.policy.trusted_filesystems)
        for key, table in self.policy.programs.items():
            if not self._created(table):
                out.programs[key] = _copy(table, self._rules_at_start(table))
                pattern = self.policy.program_patterns.get(key)
                if pattern is not None:
                    out.program_patterns[key] = pattern
        return out

    def _rules_at_start(self, table: Table) -> list[Rule]:
        return next((b.rules for b in self._baselines if b.table is table), list(table.rules))

    def _created(self, table: Table) -> bool:
        return any(b.table is table and b.created for b in self._baselines)

    def _file_place(self, rules: list[Rule], rule: Rule, live: Table, unsaved: set[int]
                    ) -> int:
        """Where a remembered rule goes in its table of the file as it is now (``rules``):
        just before the rule like the one that asked, at the end when the default asked,
        after every refusal when the person's edit left no rule like it
        (model.answer_place: put first, an answer overtook the person's refusals in later
        runs, review 65).  A rule added to a table of the run by other means than an answer
        (a library's) goes where it stands among the table's rules of the file (``unsaved``:
        the run's added rules not in it yet)."""
        noted = self._asked_by.get(id(rule))
        if noted is not None and noted[0] is rule:
            return answer_place(rules, noted[1])
        at = next((i for i, r in enumerate(live.rules) if r is rule), 0)
        return min(len(rules), sum(1 for r in live.rules[:at] if id(r) not in unsaved))

    def _new_in_file(self, table: Table, merged: Policy) -> Table:
        """A table of the run (answered) that the file being saved into lacks -- the
        ``--save-answers`` FILE2 had no such table, or the person removed it meanwhile --
        is new in that file: made as :meth:`program_table` makes one
        (``learn.carried_table``), the run's table first, with the file's tables and the
        watched ones (FILE2's, its directory's) -- their refusals in front.  Written as a
        copy of the run's table, it let the program past FILE2's ``never`` in every next
        ``-p FILE2`` run (review 69)."""
        from systrace_py.policy.learn import carried_table

        candidates = [table, *merged.tables(),
                      *(b.table for b in self._baselines if b.where is not None)]
        fresh, _ = carried_table(table.name, candidates, prefer=table)
        return dataclasses.replace(fresh, location=None, description=None)

    def _merge(self, text: str, name: str, changes: list[_Baseline], report: SaveReport) -> str:
        """The file's text with the changes merged in (``report``: what was done)."""
        from systrace_py.policy.learn import merge_rules

        with warnings.catch_warnings():  # (they were said when the run loaded the file)
            warnings.simplefilter("ignore")
            merged = loads_policy(text, name, self.env)
        editor = _TextEditor.open(text)

        def edit(method: Callable[..., None], *args: Any) -> None:
            nonlocal editor
            if editor is not None:
                try:
                    method(editor, *args)
                except Exception:  # (tomlkit's many kinds all mean: it cannot)
                    editor = None

        saved: set[int] = set()
        report.tables = []
        for change in changes:
            table = change.table
            added = change.added()
            added_ids = {id(r) for r in added}
            # a table an answer made is keyed by the program's path: in a file, a path that
            # looks like a glob is written escaped
            key = table.name if not change.created or is_literal(table.name) \
                else escape(table.name)
            if key != MAIN and key not in merged.programs:
                # (written as the run has it: each answer where the run put it -- in a table
                # an answer made, after the refusals it carries: PolicyStore.place)
                fresh = dataclasses.replace(table, name=key, rules=list(table.rules),
                                            location=None, description=None)
                if not change.created:
                    fresh = self._new_in_file(fresh, merged)
                merged.programs[key] = fresh
                if not is_literal(key):
                    merged.program_patterns[key] = PathGlob(key, self.env)
                report.tables.append(key)
                values = program_table_values(fresh, merged.main)
                rules = [rule_data(r) for r in fresh.rules]
                edit(_TextEditor.add_table, key, values, rules)
                saved.update(added_ids)
                continue
            for rule in added:
                before = [rule_data(r) for r in _table(merged, key).rules]
                at = self._file_place(_table(merged, key).rules, rule, table,
                                      added_ids - saved)
                merged = merge_rules(merged, key, [rule], position=at, env=self.env)
                after = [rule_data(r) for r in _table(merged, key).rules]
                for index, data in _insertions(before, after):
                    edit(_TextEditor.insert_rule, key, index, data)
                if rule_data(rule) in after:
                    saved.add(id(rule))
        report.saved = len(saved)
        if editor is not None:
            edited = editor.text()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    same = _shape(loads_policy(edited, name, self.env)) == _shape(merged)
                except Exception:  # (any failure: the layout cannot be kept)
                    same = False
            if same:
                report.layout_kept = True
                return edited
        report.layout_kept = False
        return dumps_policy(merged)


def _copy(table: Table, rules: list[Rule]) -> Table:
    return dataclasses.replace(table, rules=list(rules))


def _table(policy: Policy, key: str) -> Table:
    return policy.main if key == MAIN else policy.programs[key]


def _insertions(before: list[dict[str, object]], after: list[dict[str, object]]
                ) -> list[tuple[int, dict[str, object]]]:
    """Where the rules in ``after`` that are not in ``before`` stand (a merge only inserts:
    the rest keep their order), in increasing order of position."""
    out = []
    j = 0
    for i, data in enumerate(after):
        if j < len(before) and data == before[j]:
            j += 1
        else:
            out.append((i, data))
    return out


def _shape(policy: Policy) -> dict[str, Any]:
    """What a policy decides with, as plain data (to compare an edited text with the merge)."""
    return {
        "tables": {t.name: (t.default, t.default_errno, t.allow_detach,
                            [rule_data(r) for r in t.rules]) for t in policy.tables()},
        "patterns": sorted(policy.program_patterns),
    }


class _CannotEdit(Exception):
    """The file's layout cannot take this edit (it is then written in systrace's layout)."""


class _TextEditor:
    """Edits a policy's TOML text in place with tomlkit (comments, order and spelling kept).

    Comments written directly above a rule (no blank line between) belong to it: when a rule
    is inserted in front of it, they move down with it, below the new rule."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self._mine: set[int] = set()          # tables this editor made (by id)
        self._edited: list[Any] = []          # arrays of tables it inserted into

    @classmethod
    def open(cls, text: str) -> _TextEditor | None:
        import tomlkit

        try:
            return cls(tomlkit.parse(text))
        except Exception:  # (tomllib read it: a tomlkit limit)
            return None

    def text(self) -> str:
        import tomlkit

        self._tidy()
        return tomlkit.dumps(self.doc)

    def _tidy(self) -> None:
        """One blank line between a new rule and its neighbours (none before comments that
        belong to the next rule): tomlkit spaces the tables it makes, not the ones it read."""
        import tomlkit
        from tomlkit.items import Comment, Null, Whitespace

        for rules in self._edited:
            tables = list(rules)
            for before, after in itertools.pairwise(tables):
                if id(before) not in self._mine and id(after) not in self._mine:
                    continue
                items = [item for _, item in before.value.body if not isinstance(item, Null)]
                last = items[-1] if items else None
                if isinstance(last, Comment):  # they belong to ``after``: nothing between
                    after.trivia.indent = after.trivia.indent.replace("\n", "")
                    continue
                blank_after = isinstance(last, Whitespace) and "\n" in last.s
                blank_before = "\n" in after.trivia.indent
                if blank_after and blank_before:
                    after.trivia.indent = after.trivia.indent.replace("\n", "")
                elif not blank_after and not blank_before:
                    if id(after) in self._mine:
                        after.trivia.indent = "\n" + after.trivia.indent
                    else:
                        before.add(tomlkit.nl())

    def _owner(self, key: str) -> Any:
        """The table that holds a policy table's keys: the document, or a program table."""
        if key == MAIN:
            return self.doc
        programs = self.doc["program"]
        for written in programs:
            if resolved_program_key(written) == key:
                return programs[written]
        raise _CannotEdit(key)

    def insert_rule(self, key: str, index: int, data: dict[str, object]) -> None:
        import tomlkit
        from tomlkit.items import AoT, Array, InlineTable

        owner = self._owner(key)
        rules = owner.get("rule")
        if rules is None:
            if isinstance(owner, InlineTable):
                owner["rule"] = [_inline(data)]
                return
            aot = tomlkit.aot()
            aot.append(self._rule_table(data, blank_before=True))
            owner.append("rule", aot)
            return
        if isinstance(rules, Array):
            rules.insert(index, _inline(data))
            return
        if not isinstance(rules, AoT):
            raise _CannotEdit(key)
        body, at = self._before(owner, rules, index)
        moved = _take_comments(body, at)
        new = self._rule_table(data, blank_before=index == 0 and not _ends_blank(body, at))
        self._mine.add(id(new))
        if all(r is not rules for r in self._edited):
            self._edited.append(rules)
        rules.insert(index, new)
        if moved:  # the comments of the rule that now follows: after a blank line
            new.add(tomlkit.nl())
            for comment in moved:
                new.add(comment)

    @staticmethod
    def _before(owner: Any, rules: Any, index: int) -> tuple[list[Any], int]:
        """The container body and position of what is written right before rule ``index``:
        the end of the rule before it, or, for the first, the items before the rules."""
        if index > 0:
            body = rules[index - 1].value.body
            return body, len(body)
        from tomlkit.items import Table as TomlTable

        body = owner.value.body if isinstance(owner, TomlTable) else owner.body
        for position, (_, item) in enumerate(body):
            if item is rules:
                return body, position
        raise _CannotEdit("the rules are not where tomlkit says")

    @staticmethod
    def _rule_table(data: dict[str, object], blank_before: bool) -> Any:
        import tomlkit

        table = tomlkit.table()
        for k, v in data.items():
            table[k] = v
        if blank_before:
            table.trivia.indent = "\n"
        return table

    def add_table(self, key: str, values: dict[str, object],
                  rules: list[dict[str, object]]) -> None:
        import tomlkit

        table = tomlkit.table()
        for k, v in values.items():
            table[k] = v
        if rules:
            aot = tomlkit.aot()
            for data in rules:  # (tomlkit puts blank lines around tables it makes)
                aot.append(self._rule_table(data, blank_before=False))
            table["rule"] = aot
        programs = self.doc.get("program")
        if programs is None:
            programs = tomlkit.table(is_super_table=True)
            self.doc["program"] = programs
        programs[key] = table


def _inline(data: dict[str, object]) -> Any:
    import tomlkit

    table = tomlkit.inline_table()
    table.update(data)
    return table


def _take_comments(body: list[Any], at: int) -> list[Any]:
    """Take the comment lines right before position ``at`` (no blank line between) out of a
    container body; they are blanked in place, so the container's key positions hold."""
    from tomlkit.items import Comment, Null

    start = at
    while start > 0 and body[start - 1][0] is None and isinstance(body[start - 1][1], Comment):
        start -= 1
    moved = [item for _, item in body[start:at]]
    for position in range(start, at):
        body[position] = (None, Null())
    return moved


def _ends_blank(body: list[Any], at: int) -> bool:
    """Whether what comes before position ``at`` ends with a blank line (or nothing)."""
    from tomlkit.items import Null, Whitespace

    for _, item in reversed(body[:at]):
        if isinstance(item, Null):
            continue
        if isinstance(item, Whitespace):
            return "\n" in item.s or item.s == ""
        return False
    return True

