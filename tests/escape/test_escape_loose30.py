"""loose30: a link's or rename's comparison reads the tracer's mount table once a call
(DecodedCall.own_mounts: each role's aliases, a view's own names and a device's other mounts
from one read), never kept beyond the call -- a mount made between two calls is seen by the
second.  Coreutils ln and cat under review 32's tables, in a private mount namespace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, SYSTRACE
from test_escape_review32 import _alias_policy

from conftest import PYTHON, systrace_env

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts: root"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)"),
]

#: in a private mount namespace: the command ("$@") in the background; once it made
#: work/out1, ``work`` is bound on ``view`` -- outside the traced tree, between its two
#: links -- and ``go`` tells it to go on
_BIND_BETWEEN = ('"$@" & pid=$!; i=0; while [ ! -e work/out1 ] && [ $i -lt 1200 ]; do '
                 'sleep 0.05; i=$((i+1)); done; mount --bind work view && touch go; wait $pid')
_TWO_LINKS = ("ln secd/s work/out1 && while [ ! -e go ]; do sleep 0.05; done; "
              "ln secd/s work/out2; cat view/out2")


def _scene(root: Path) -> None:
    for name in ("secd", "work", "view"):
        (root / name).mkdir()
    (root / "secd" / "s").write_text(f"{SECRET_MAGIC}\n")


def test_a_mount_made_between_two_links_is_seen_by_the_second(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """ln's table links in ``secd`` and ``work`` (no read of either), cat's reads ``view/**``
    alone.  ``ln secd/s work/out1`` gives the secret no name another table reads: made.
    Then, outside the tree, ``work`` is bound on ``view``, and ``ln secd/s work/out2``
    names the secret ``view/out2`` too, which cat's table reads: refused, EPERM (linked
    access) -- the second call read the mount table again.  A table kept beyond the call
    (the first link's) would make out2, and cat would print the secret.  Control: natively
    cat prints it."""
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _BIND_BETWEEN,
               "sh"]
    command = ["sh", "-c", _TWO_LINKS]
    native_root = (tmp_path / "native").resolve()
    native_root.mkdir()
    _scene(native_root)
    native = subprocess.run([*wrapper, *command], cwd=native_root, capture_output=True,
                            text=True, timeout=120, check=False)
    assert SECRET_MAGIC in native.stdout, native
    root = (tmp_path / "traced").resolve()
    root.mkdir()
    _scene(root)
    ln, cat = (os.path.realpath(shutil.which(p) or p) for p in ("ln", "cat"))
    (root / "policy.toml").write_text(_alias_policy(root, ln, cat))
    traced = subprocess.run([*wrapper, *SYSTRACE, "-v", "-p", str(root / "policy.toml"), "--",
                             *command], cwd=root, capture_output=True, text=True, timeout=180,
                            env=systrace_env(loop), check=False)
    assert (root / "work" / "out1").exists(), traced
    assert not (root / "work" / "out2").exists(), traced
    assert SECRET_MAGIC not in traced.stdout, traced
    assert "refused linkat" in traced.stderr and "EPERM" in traced.stderr, traced


def test_a_link_or_rename_reads_the_mount_table_once(tmp_path: Path,
                                                     loop: dict[str, str]) -> None:
    """Five links and five renames into ``work``, which a bind also shows at ``view`` (so
    both roles have other names to tell), under review 32's permit-default table with one
    rule: PathResolver.own_mounts -- a read and parse of /proc/self/mountinfo -- is asked
    once a call (10), where it was asked once per role (20 on main ea6c2ba: each role's
    aliases read the table anew)."""
    root = tmp_path.resolve()
    _scene(root)
    (root / "work" / "a").write_text("a\n")
    (root / "policy.toml").write_text(
        f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "{root}/secd/**"\n'
        'action = "never"\n')
    driver = tmp_path / "count_mounts.py"
    driver.write_text("""
import sys
from systrace_py.engine.paths import PathResolver
real, asked = PathResolver.own_mounts, []
def counted(self):
    asked.append(1)
    return real(self)
PathResolver.own_mounts = counted
from systrace_py.cli import main
try:
    code = main(sys.argv[1:])
finally:
    print("own_mounts", len(asked), file=sys.stderr)
sys.exit(code)
""")
    script = ("import os\nfor i in range(5):\n    os.link('work/a', f'work/c{i}')\n"
              "    os.rename(f'work/c{i}', f'work/d{i}')\n")
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind "{root}/work" "{root}/view" && exec "$@"', "sh"]
    done = subprocess.run([*wrapper, PYTHON, str(driver), "-p", str(root / "policy.toml"), "--",
                           PYTHON, "-I", "-S", "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=180, env=systrace_env(loop), check=False)
    assert done.returncode == 0, done
    assert sorted(p.name for p in (root / "work").iterdir()) == \
        ["a", *(f"d{i}" for i in range(5))], done
    found = re.search(r"own_mounts (\d+)", done.stderr)
    assert found is not None, done
    assert int(found.group(1)) == 10, done
