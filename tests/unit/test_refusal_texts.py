"""What -v says of a refusal no rule made comes from one table (supervisor.REFUSAL_TEXTS): it
has a text for every reason a decision can carry (policy.model.Reason), and each text's blanks
are ones the supervisor fills -- a reason added without its text, or a text naming a blank no
one fills, fails here rather than at a refusal (a KeyError in the tracer's report)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from systrace_py.policy.model import Reason
from systrace_py.supervisor import _REFUSAL_BLANKS, REFUSAL_TEXTS


def test_every_reason_has_a_refusal_text() -> None:
    missing = set(Reason) - set(REFUSAL_TEXTS)
    assert not missing, f"no refusal text for {sorted(missing)}"
    assert set(REFUSAL_TEXTS) == set(Reason)


def test_every_blank_of_a_refusal_text_is_filled() -> None:
    for reason, text in REFUSAL_TEXTS.items():
        blanks = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        assert blanks <= set(_REFUSAL_BLANKS), (reason, blanks - set(_REFUSAL_BLANKS))
        assert text.strip() and "{}" not in text, reason


def _documented_reasons() -> set[str]:
    """The values docs/cli.md's log table lists for ``reason`` (its parentheses left out)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    found = re.search(r"`reason` \((.*?)\), `errno`", text)
    assert found, "docs/cli.md has no reason list in its log table"
    depth, plain = 0, []
    for ch in found.group(1):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch != ")":
            plain.append(ch)
    return set(re.findall(r"`([^`]+)`", "".join(plain)))


def test_docs_cli_lists_every_reason_and_no_other() -> None:
    """The log's ``reason`` values and docs/cli.md's list are one set: a reason added with its
    refusal text (above) but not documented, or a documented one gone, fails here (a guard:
    they agree on main, 23 each -- review 22)."""
    documented = _documented_reasons()
    assert documented == {str(r) for r in Reason}, (
        sorted(documented - set(Reason)), sorted(set(Reason) - documented))
