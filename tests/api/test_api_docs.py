"""docs/api.md stays true: every ```python block runs, as written, in an empty directory
(the blocks assert what they claim), and every record type and handler key the library
exports is documented."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import systrace_py
from systrace_py.records import RECORD_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
BLOCKS = [body for lang, body in _BLOCK.findall(DOC.read_text()) if lang == "python"]


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "python3" in code and shutil.which("python3") is None:
        pytest.skip("python3 is not in PATH")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{DOC}:block", "exec"), {"__name__": "__doc_example__"})


def test_every_record_type_and_call_is_documented() -> None:
    text = DOC.read_text()
    for name in systrace_py.__all__:
        if name != "__version__":
            assert f"`{name}" in text or f"{name}(" in text, name
    for call, record in RECORD_TYPES.items():
        if call == "clone3":
            assert "clone3" in text
            continue
        row = next((line for line in text.splitlines() if line.startswith("| `")
                    and f"`{record.__name__}`" in line.split("|")[1]), None)
        assert row is not None, record.__name__
        assert f"`{call}`" in row, (call, record.__name__)


def test_every_public_name_of_the_api_module_is_documented() -> None:
    """Every name of systrace_py.api.__all__ is in docs/api.md, in backticks or called: the
    module is the library's, and a name a user finds in it must be explained."""
    from systrace_py import api

    text = DOC.read_text()
    for name in api.__all__:
        assert re.search(rf"`(?:systrace_py\.)?(?:api\.)?{name}\b", text), name
