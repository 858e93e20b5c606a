"""What -v says of a refusal no rule made comes from one table (supervisor.REFUSAL_TEXTS): it
has a text for every reason a decision can carry (policy.model.Reason), and each text's blanks
are ones the supervisor fills -- a reason added without its text, or a text naming a blank no
one fills, fails here rather than at a refusal (a KeyError in the tracer's report)."""

from __future__ import annotations

import string

from systrace_py.policy.model import REASONS
from systrace_py.supervisor import _REFUSAL_BLANKS, REFUSAL_TEXTS


def test_every_reason_has_a_refusal_text() -> None:
    missing = set(REASONS) - set(REFUSAL_TEXTS)
    assert not missing, f"no refusal text for {sorted(missing)}"
    assert set(REFUSAL_TEXTS) == set(REASONS)
    assert len(set(REASONS)) == len(REASONS) == 26  # str tags (not an enum): each its own


def test_every_blank_of_a_refusal_text_is_filled() -> None:
    for reason, text in REFUSAL_TEXTS.items():
        blanks = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        assert blanks <= set(_REFUSAL_BLANKS), (reason, blanks - set(_REFUSAL_BLANKS))
        assert text.strip() and "{}" not in text, reason
