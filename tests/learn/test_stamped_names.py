"""Names a script stamps with the time and its pid (learn24): ``logs/build-$(date +%s%N).log``
and ``backups/tree-$(date +%Y%m%d-%H%M%S)-$$.tgz`` -- another name every run.  Learned as the
learning run's names, the next run's log was refused (the script stopped), and then its
backup (tar failed).  The stamp whose value is the run's own time is its shape (19 ``[0-9]``),
the pid beside the date a pid's shape; nothing else is granted: another file of ``logs/``,
a name of another shape, a read of any name but the learning run's own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_next_run import enforce, learn

SCRIPT = """#!/bin/sh
set -e
if [ -n "$1" ]; then
    { read -r line < "$1" && echo "read: $line"; } || true
    { echo planted >> "$1"; } 2>/dev/null || true
    exit 0
fi
mkdir -p logs backups
log="logs/build-$(date +%s%N).log"
echo start > "$log"
tar czf "backups/tree-$(date +%Y%m%d-%H%M%S)-$$.tgz" tree
gzip -c tree/a.txt > "out.$$.gz" && mv "out.$$.gz" out.gz
echo done >> "$log"
"""


def _tree(root: Path) -> Path:
    (root / "tree").mkdir(parents=True)
    (root / "tree" / "a.txt").write_text("a\n" * 50)
    (root / "run.sh").write_text(SCRIPT)
    os.chmod(root / "run.sh", 0o755)
    return root


@pytest.mark.skipif(any(shutil.which(t) is None for t in ("tar", "gzip", "date")),
                    reason="no tar, gzip or date")
def test_a_scripts_stamped_names_are_made_again_and_no_other_name(tmp_path):
    proj = _tree(tmp_path / "proj")
    policy = learn(tmp_path, ["./run.sh"], cwd=proj)
    text = policy.read_text()
    assert "$CWD/logs/build-" + "[0-9]" * 19 + ".log" in text, text
    # the same tree again (twice), and a copy at another path
    other = _tree(tmp_path / "other")
    for cwd in (proj, proj, other):
        r, refused = enforce(tmp_path, policy, ["./run.sh"], cwd=cwd)
        assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
        assert r.returncode == 0, r.stderr
    assert len(list((proj / "logs").iterdir())) == 3
    assert len(list((proj / "backups").iterdir())) == 3
    # no other name: another file of logs/, a name of another shape, one beside the shape,
    # and no read of a name of the shape but the learning run's own
    logs = proj / "logs"
    planted = [logs / "notes.txt", logs / "build-12345.log", logs / "build-1234.log.x",
               proj / ("secret-" + "1" * 19 + ".log"),
               proj / "backups" / "tree-20261206-033004-0123.tgz"]
    stamped = sorted(logs.iterdir())[-1]   # a later run's log: written by the shape only
    for path in [*planted, stamped]:
        if path != stamped:
            path.write_text("secret\n")
        r, refused = enforce(tmp_path, policy, ["./run.sh", str(path)], cwd=proj)
        assert "read: " not in r.stdout, (path, r.stdout)
        assert refused, path
        if path != stamped:
            assert path.read_text() == "secret\n", path
