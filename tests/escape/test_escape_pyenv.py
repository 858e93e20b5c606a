"""Red team 6: interpreter variables that run code, beyond the list (class 4, children).

An exec into a table of its own is refused when its environment holds a variable that makes
the loader or the program's interpreter run code the caller chose (environment.runs_code),
unless the run started with it or the table grants it (red team 3).  The list named
Python's PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONUSERBASE...  but not
PYTHONPYCACHEPREFIX -- a tree of compiled modules Python loads instead of the standard
library's (an "unchecked-hash" .pyc is never compared with its source) -- nor
PYTHONPLATLIBDIR, which moves the standard library itself ("../../WORK").  exec_pyenv.c: a
Python script with a table of its own (which may read the secret; the caller's may not) run
with either variable naming a planted `encodings` package (imported at every start) read the
secret before its first line, in both loops.  Both are in INTERPRETER_VARIABLES now.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked
from test_escape_children import trusted_table

PYTHON = "/usr/bin/python3.11"
STDLIB = "/usr/lib/python3.11"

pytestmark = pytest.mark.skipif(not os.path.isdir(f"{STDLIB}/encodings") or
                                not os.access(PYTHON, os.X_OK), reason=f"no {PYTHON}")

PLANT = ("import posix as _p\n"
         "try:\n"
         "    _fd = _p.open({secret!r}, 0)\n"
         "    _p.write(1, _p.read(_fd, 200))\n"
         "except OSError as _e:\n"
         "    _p.write(1, b'the planted code ran; open: %d\\n' % _e.errno)\n")


def plant(s: Scene, how: str) -> str:
    """The planted encodings package and the variable that makes Python load it."""
    original = Path(STDLIB, "encodings", "__init__.py").read_text()
    source = PLANT.format(secret=str(s.secret)) + original
    if how == "PYTHONPLATLIBDIR":
        lib = s.work / "plat" / "python3.11"
        lib.mkdir(parents=True)
        shutil.copytree(f"{STDLIB}/encodings", lib / "encodings",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (lib / "encodings" / "__init__.py").write_text(source)
        return f"PYTHONPLATLIBDIR=../..{s.work}/plat"
    cache = s.work / "cache"
    target = cache / STDLIB.lstrip("/") / "encodings" / "__init__.cpython-311.pyc"
    target.parent.mkdir(parents=True)
    build = ("import importlib._bootstrap_external as be, sys\n"
             "code = compile(sys.stdin.read(), sys.argv[2], 'exec')\n"
             "open(sys.argv[1], 'wb').write(be._code_to_hash_pyc(code, bytes(8), False))\n")
    subprocess.run([PYTHON, "-c", build, str(target), f"{STDLIB}/encodings/__init__.py"],
                   input=source, text=True, check=True)
    return f"PYTHONPYCACHEPREFIX={cache}"


@pytest.mark.parametrize("how", ["PYTHONPYCACHEPREFIX", "PYTHONPLATLIBDIR"])
def test_pythons_code_variables_do_not_reach_another_programs_table(build, tmp_path, how,
                                                                     loop):
    program = build("escape/exec_pyenv.c")

    def tool(s: Scene):
        script = s.root / "tool.py"
        script.write_text(f"#!{PYTHON}\nprint('the tool ran')\n")
        script.chmod(0o755)
        return script

    variables: dict[str, str] = {}

    def setup(s: Scene) -> None:
        tool(s)
        variables[s.root.name] = plant(s, how)

    traced, _ = controlled_and_blocked(
        tmp_path, program, lambda s: [tool(s), variables[s.root.name]],
        lambda s: trusted_table(tool(s), s), setup=setup, env=loop)
    assert "Operation not permitted" in traced.detail or "EPERM" in traced.detail, traced
