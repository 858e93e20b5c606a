"""docs/policy.md stays true: every ```toml example loads (or fails exactly as the ```text block
after it says), and the alias and unsafe-call lists match systrace_py.policy.aliases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from systrace_py.policy import aliases, files
from systrace_py.policy.files import PolicyError, dumps_policy, loads_policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
ENV = {"HOME": "/home/alice", "USER": "alice", "CWD": "/home/alice/src", "TMPDIR": "/tmp"}
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(DOC.read_text())]


def _examples() -> list[tuple[str, str | None]]:
    """(toml text, expected error line or None) for every toml block."""
    blocks = _blocks()
    out = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "toml":
            continue
        expected = None
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text" and \
                blocks[i + 1][1].startswith("systrace: policy.toml"):
            expected = blocks[i + 1][1].strip()
        out.append((body, expected))
    return out


EXAMPLES = _examples()


def test_the_doc_has_examples_of_both_kinds() -> None:
    good = [e for e in EXAMPLES if e[1] is None]
    bad = [e for e in EXAMPLES if e[1] is not None]
    assert len(good) >= 6 and len(bad) >= 6


@pytest.mark.parametrize(("text", "expected"), EXAMPLES,
                         ids=[f"block{i}" for i in range(len(EXAMPLES))])
def test_example(text: str, expected: str | None) -> None:
    if expected is None:
        policy = loads_policy(text, "policy.toml", ENV)
        again = loads_policy(dumps_policy(policy), "saved.toml", ENV)
        assert len(again.main.rules) == len(policy.main.rules)
        return
    with pytest.raises(PolicyError) as info:
        loads_policy(text, "policy.toml", ENV)
    assert f"systrace: {info.value}" == expected


def _listed(prefix: str) -> dict[str, set[str]]:
    found = {}
    for line in DOC.read_text().splitlines():
        m = re.fullmatch(r"- `?([\w-]+)`?: (.*)", line)
        if m and line.startswith(prefix):
            found[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
    return found


def test_alias_list_matches_the_table() -> None:
    listed = _listed("- `")
    assert listed == {name: set(members) for name, members in aliases.ALIASES.items()}


def test_unsafe_list_matches() -> None:
    assert _listed("- unsafe:") == {"unsafe": set(aliases.UNSAFE_CALLS)}


def _keys_used() -> dict[str, set[str]]:
    """The keys the loading examples use, by where they stand: top level, program table,
    rule (of either), a rule's ``learned`` table."""
    import tomllib

    used: dict[str, set[str]] = {"top": set(), "table": set(), "rule": set(), "learned": set()}

    def rules(table: dict) -> None:
        for rule in table.get("rule", []):
            used["rule"] |= set(rule)
            used["learned"] |= set(rule.get("learned", {}))

    for text, expected in EXAMPLES:
        if expected is not None:
            continue
        data = tomllib.loads(text)
        used["top"] |= set(data)
        rules(data)
        for table in data.get("program", {}).values():
            used["table"] |= set(table)
            rules(table)
    return used


@pytest.mark.parametrize(("where", "keys"), [
    ("top", files.TOP_KEYS), ("table", files.TABLE_KEYS), ("rule", files.RULE_KEYS),
    ("rule", files.INJECT_KEYS), ("learned", files.LEARNED_KEYS)])
def test_every_key_the_loader_accepts_is_documented_with_an_example(where: str,
                                                                    keys: tuple[str, ...]):
    """Each key of files.TOP_KEYS, TABLE_KEYS, RULE_KEYS, INJECT_KEYS and LEARNED_KEYS is
    named in the doc (in backticks) and used where it belongs by an example that loads."""
    text = DOC.read_text()
    used = _keys_used()[where]
    for key in keys:
        assert f"`{key}`" in text, key
        assert key in used, f"no example uses {where} key {key!r}"
