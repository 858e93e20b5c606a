"""docs/asking.md names every word the prompt takes: each verb and each of its short forms and
synonyms in "Answers", each reach word in "Reach" -- so an answer a user is told about works,
and one that works is told about."""

from __future__ import annotations

import re
from pathlib import Path

from systrace_py.ui import answers

DOC = Path(__file__).resolve().parents[2] / "docs" / "asking.md"


def _section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}.*?\n(.*?)(?=^## |\Z)", DOC.read_text(),
                      re.S | re.M)
    assert found is not None, title
    return found.group(1)


def test_every_verb_and_short_form_is_in_answers() -> None:
    text = _section("Answers")
    for word in [*answers.VERBS, *answers.ABBREVIATIONS]:
        assert re.search(rf"`{re.escape(word)}[`\[ ]", text), word


def test_every_reach_word_is_in_reach() -> None:
    text = _section("Reach")
    for word in answers.REACH_WORDS:
        assert re.search(rf"[`/](?:for )?{word}[`/ ]", text), word  # `prog`, /`everyone`/


def _scope_words() -> set[str]:
    """The scope words the prompt offers, as the sources write them: ui/offers.py's
    ``Offer("KEY", ...)`` (``custom``, a glob of the user's, is not a word), generalize.py's
    path ladder (``add("KEY", ...)`` and the ``cwd``/``home`` tops)."""
    source = Path(answers.__file__).resolve().parents[1]
    offers = (source / "ui" / "offers.py").read_text()
    ladder = (source / "policy" / "generalize.py").read_text()
    words = set(re.findall(r'\bOffer\("([a-z-]+)"', offers)) - {"custom"}
    words |= set(re.findall(r'\badd\("([a-z-]+)"', ladder))
    words |= set(re.findall(r', "([a-z]+)", "(?:\$CWD|~)"\)', ladder))
    assert words >= {"file", "dir", "tree", "cwd", "home", "any", "addr", "port"}, words
    return words


def test_every_scope_word_is_in_scopes() -> None:
    text = _section("Scopes")
    for word in _scope_words():
        assert f"`{word}`" in text, word
