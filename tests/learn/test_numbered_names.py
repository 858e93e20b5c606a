"""A number's place in a learned name is the number's shape (learn37): a build that names
files by its shell's pid (``$$``), by Python's pid and by Python's ``id()`` -- beside gcc
(``-pipe``, ``-save-temps``), mktemp(1) and Python's tempfile -- learned twice (the second
merged), run twice more from a changed state with no refusal; then a step of the build,
replaced, makes names of those prefixes that are no number: every one refused, none made.

Before, each number was ``*`` after its prefix (``build.[1-9]*``, ``py.[1-9]*``,
``stamp.[1-9]*``, ``obj.*``), fresh: any new name of the prefix whose first character is a
digit, or any at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_next_run import SYSTEM_PATH, enforce, learn

from systrace_py.policy.generalize import PID_SHAPE

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p, path=SYSTEM_PATH) for p in ("gcc", "mktemp", "python3")),
    reason="needs gcc, mktemp and python3")

GEN_PY = """
import os, sys, tempfile
with tempfile.NamedTemporaryFile("w") as t:
    t.write("x")
tmp = tempfile.gettempdir()
for name in ("py.%d" % os.getpid(), "obj.%d" % (10 ** 14 + id(sys) % (9 * 10 ** 14))):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("z")
    os.unlink(path)
print("gen ok")
"""

BUILD_SH = """set -e
t=$(mktemp)
uname -r > "$t"; cat "$t" > out/version; rm -f "$t"
echo $$ > "$TMPDIR/build.$$"; rm -f "$TMPDIR/build.$$"
echo x > "out/stamp.$$"; mv "out/stamp.$$" out/stamp
gcc -pipe -c a.c -o out/a.o
gcc -save-temps=obj -c a.c -o out/b.o
python3 gen.py
echo built
"""

#: the build, a step replaced: names of each number's prefix that are no number (and a number
#: of the pid's prefix too long for a pid), made new
EVIL_SH = BUILD_SH.replace("python3 gen.py", """python3 gen.py
for n in "$TMPDIR/build.1evil" "$TMPDIR/build.12345678901" out/stamp.1-hook.sh; do
  (set -C; : > "$n") || true
done""")

EVIL_PY = GEN_PY + """
made = []
for name in ("py.1evil", "obj.evil", "obj.1.sh"):
    try:
        os.close(os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        made.append(name)
    except PermissionError:
        pass
print("made", made)
"""


def _changed(proj: Path, n: int) -> None:
    """The state of a later run: a source changed, outputs gone."""
    (proj / "a.c").write_text(f"int a(void) {{ return {n}; }}\n")
    for out in (proj / "out").iterdir():
        out.unlink()


@pytest.mark.slow
def test_numbered_names_are_made_again_and_no_other_name_of_their_prefix(tmp_path):
    proj = tmp_path / "proj"
    (proj / "out").mkdir(parents=True)
    temp = tmp_path / "tmp"
    temp.mkdir()
    (proj / "build.sh").write_text(BUILD_SH)
    (proj / "gen.py").write_text(GEN_PY)
    _changed(proj, 1)
    env = {"PATH": SYSTEM_PATH, "TMPDIR": str(temp)}
    command = ["sh", "build.sh"]
    policy = learn(tmp_path, command, cwd=proj, env=env)
    _changed(proj, 2)
    learn(tmp_path, command, cwd=proj, env=env, extra=("--merge",))
    text = policy.read_text()
    for glob in ("build." + PID_SHAPE, "py." + PID_SHAPE, "$CWD/out/stamp." + PID_SHAPE):
        assert glob in text, glob
    assert "obj.{[1-9]" in text, text  # (id(): 13 to 16 digits)
    for star in ("build.[1-9]*", "py.[1-9]*", "stamp.[1-9]*", "obj.*"):
        assert star not in text, star
    for n in (3, 4):
        _changed(proj, n)
        r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
        assert (r.returncode, r.stdout) == (0, "gen ok\nbuilt\n"), r.stderr
        assert refused == [], refused[:3]
        assert os.listdir(temp) == []
        assert (proj / "out" / "b.o").exists() and (proj / "out" / "stamp").exists()

    _changed(proj, 5)
    (proj / "build.sh").write_text(EVIL_SH)
    (proj / "gen.py").write_text(EVIL_PY)
    r, refused = enforce(tmp_path, policy, command, cwd=proj, env=env)
    assert (r.returncode, r.stdout) == (0, "gen ok\nmade []\nbuilt\n"), r.stderr
    assert os.listdir(temp) == [], os.listdir(temp)
    assert not (proj / "out" / "stamp.1-hook.sh").exists()
    names = {Path(str(x["args"].get("path"))).name for x in refused}
    assert {"build.1evil", "build.12345678901", "stamp.1-hook.sh", "py.1evil", "obj.evil",
            "obj.1.sh"} <= names, names
