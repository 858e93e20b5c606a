"""docs/cli.md shows exactly what `systrace --help` prints."""

from __future__ import annotations

import re

from conftest import REPO, run_systrace


def test_help_in_the_docs_is_the_real_help():
    doc = (REPO / "docs" / "cli.md").read_text()
    documented = re.search(r"## `systrace --help`.*?```text\n(.*?)```", doc, re.S)
    assert documented is not None
    r = run_systrace(["--help"], env={"COLUMNS": "80"})
    assert r.returncode == 0
    assert documented.group(1) == r.stdout
