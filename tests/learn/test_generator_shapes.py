"""A generator's prefix glob admits only its template's names (learn36): real generators --
mktemp(1), sed -i, gcc's temporary assembly, sort -T, Python's tempfile -- learned from a
build (two runs, the second merged), the build run twice more from a changed state (no
refusal), then a step of the build, replaced, making names of each generator's prefix and of
its own choosing: every one refused, none made.

Before, a template's random run was written ``*``: ``$TMPDIR/tmp.*``, ``$CWD/sed*``,
``$TMPDIR/cc*.s``, ``$TMPDIR/tmp*``, ``$TMPDIR/pip-build-*`` -- any new name of the prefix,
a fresh one, which outlives the run (another program's name there: ``tmpfiles.d``,
``pip-build-env`` ...; a script beside the edited file).  Now the run is its shape: as many
``[0-9A-Za-z_]`` as the template's ``X``s (red team 52's remainder)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from test_next_run import SYSTEM_PATH, enforce, learn

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p, path=SYSTEM_PATH) for p in ("gcc", "mktemp", "sed", "sort")),
    reason="needs gcc, mktemp, sed and sort")

GEN_PY = """
import os, sys, tempfile
with tempfile.NamedTemporaryFile("w") as t:
    t.write("x")
d = tempfile.mkdtemp(prefix="pip-build-")
open(os.path.join(d, "f"), "w").write("y")
os.unlink(os.path.join(d, "f"))
os.rmdir(d)
print("gen ok")
"""

BUILD_SH = """set -e
t=$(mktemp)
uname -r > "$t"; cat "$t" > out/version; rm -f "$t"
sed -i 's/old/new/' conf.txt
gcc -c a.c -o out/a.o
sort -r -S 1K -T "$TMPDIR" numbers > out/sorted
python3 gen.py
echo built
"""

#: the same build, one of its steps replaced: each generator asked for a name of its prefix
#: that is not of its template (another length, other characters), and the Python step making
#: names of its choosing beside its temporary files
EVIL_SH = """set -e
t=$(mktemp)
uname -r > "$t"; cat "$t" > out/version; rm -f "$t"
mktemp -p "$TMPDIR" tmp.XXX || true
mktemp -p "$TMPDIR" tmp.XXXXXXXXXXXXXXXX || true
sed -i 's/old/new/' conf.txt
sed -n 'w sed-hook.sh' conf.txt || true
gcc -c a.c -o out/a.o
gcc -S a.c -o "$TMPDIR/cc-evil.s" || true
sort -r -S 1K -T "$TMPDIR" numbers > out/sorted
python3 gen.py
echo built
"""

EVIL_PY = GEN_PY + """
made = []
for name in ("tmpfiles.d", "tmpfoo-any-name-here", "tmp", "pip-build-env", "tmp.evil"):
    try:
        os.close(os.open(os.path.join(tempfile.gettempdir(), name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        made.append(name)
    except PermissionError:
        pass
print("made", made)
"""


def _project(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    proj = tmp_path / "proj"
    (proj / "out").mkdir(parents=True)
    temp = tmp_path / "tmp"
    temp.mkdir()
    (proj / "a.c").write_text("int a(void) { return 1; }\n")
    (proj / "conf.txt").write_text("old\n")
    (proj / "numbers").write_text("".join(f"{n}\n" for n in range(3000)))
    (proj / "build.sh").write_text(BUILD_SH)
    (proj / "gen.py").write_text(GEN_PY)
    env = {"PATH": SYSTEM_PATH, "TMPDIR": str(temp)}
    return proj, temp, env


def _changed(proj: Path, n: int) -> None:
    """The state of a later run: the edited file back, a source changed, outputs gone."""
    (proj / "conf.txt").write_text("old\n")
    (proj / "a.c").write_text(f"int a(void) {{ return {n}; }}\n")
    for out in (proj / "out").iterdir():
        out.unlink()


@pytest.mark.slow
def test_generators_prefixes_admit_only_their_templates_names(tmp_path):
    proj, temp, env = _project(tmp_path)
    command = ["sh", "build.sh"]
    policy = learn(tmp_path, command, cwd=proj, env=env)
    _changed(proj, 2)
    learn(tmp_path, command, cwd=proj, env=env, extra=("--merge",))
    text = policy.read_text()
    shape = "[0-9A-Za-z_]"
    for glob in ("$TMPDIR/tmp." + shape * 10, "$CWD/sed" + shape * 6,
                 "$TMPDIR/cc" + shape * 6 + ".s", "sort" + shape * 6,
                 "tmp" + shape * 8, "pip-build-" + shape * 8):
        assert glob in text, glob
    # (no generator's prefix written with a "*" after it, not even where a run drew hex
    # digits only: each is made as mkstemp or mkdtemp make a name, its X's as many)
    assert not re.search(r"(tmp|tmp\.|cc|sed|sort|pip-build-)\*", text), text
    for n in (3, 4):
        _changed(proj, n)
        r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
        assert (r.returncode, r.stdout) == (0, "gen ok\nbuilt\n"), r.stderr
        assert refused == [], refused[:3]
        assert os.listdir(temp) == []
        assert (proj / "out" / "a.o").exists() and (proj / "conf.txt").read_text() == "new\n"

    _changed(proj, 5)
    (proj / "build.sh").write_text(EVIL_SH)
    (proj / "gen.py").write_text(EVIL_PY)
    r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
    assert (r.returncode, r.stdout) == (0, "gen ok\nmade []\nbuilt\n"), r.stderr
    assert sorted(os.listdir(temp)) == [], os.listdir(temp)
    assert not (proj / "sed-hook.sh").exists()
    names = {Path(str(x["args"].get("path"))).name for x in refused}
    assert {"sed-hook.sh", "cc-evil.s", "tmpfiles.d", "tmpfoo-any-name-here", "tmp",
            "pip-build-env", "tmp.evil"} <= names, names
    assert sum(name.startswith("tmp.") and len(name) in (7, 20) for name in names) == 2, names
