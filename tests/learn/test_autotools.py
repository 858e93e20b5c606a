"""Autotools under a policy learned from one run, run again (learn26): aclocal's command line
in Perl's hash order, another each run, and automake's removal of the files it had ``cp``
copy into the tree on the last run (``--force-missing``).  Real aclocal and automake,
skipped where they are not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from test_next_run import SYSTEM_PATH, enforce, learn

pytestmark = pytest.mark.skipif(
    shutil.which("aclocal") is None or shutil.which("automake") is None
    or shutil.which("autom4te") is None, reason="autotools are not installed")

CONFIGURE_AC = ("AC_INIT([hello],[1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n"
                "AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n")
#: (Perl randomizes its hash order in each process: no PERL_HASH_SEED here)
ENV = {"PATH": SYSTEM_PATH}


def project(directory: Path) -> Path:
    directory.mkdir()
    (directory / "configure.ac").write_text(CONFIGURE_AC)
    (directory / "Makefile.am").write_text("bin_PROGRAMS = hello\nhello_SOURCES = hello.c\n")
    (directory / "hello.c").write_text('int main(void){return 0;}\n')
    return directory


def env_without_perl_seed() -> dict[str, str]:
    return dict(ENV)


@pytest.mark.slow
def test_aclocal_runs_again_whatever_order_perl_gives_its_traces(tmp_path):
    """aclocal runs ``sh -c "autom4te ... --trace='M:$f::$n' ..."``, the ``--trace`` words
    in the order of a Perl hash: the learned argv condition held one order and refused
    every next run (main: 1 refusal, aclocal fails)."""
    tree = project(tmp_path / "proj")
    env = env_without_perl_seed()
    # (autom4te's cache as the next runs have it: its first run writes other files in its
    # temporary directory, not what this test is about)
    subprocess.run(["aclocal"], cwd=tree, env={**env}, check=True, capture_output=True)
    (tree / "aclocal.m4").unlink()
    policy = learn(tmp_path, ["aclocal"], cwd=tree, env=env)
    for _ in range(2):
        (tree / "aclocal.m4").unlink()
        r, refused = enforce(tmp_path, policy, ["aclocal"], cwd=tree, env=env)
        assert refused == [], json.dumps(refused[:2])[:2000]
        assert r.returncode == 0, r.stderr
        assert (tree / "aclocal.m4").exists()
    data = tomllib.loads(policy.read_text())
    shells = [rule["argv"] for table in [data, *data.get("program", {}).values()]
              for rule in table.get("rule", []) if "argv" in rule]
    words = [e["words"] for argv in shells for e in argv if isinstance(e, dict)]
    assert words, policy.read_text()
    # (one run of --trace words in any order; the program and the files stay in place)
    autom4te = [w for w in words if w[0].endswith("autom4te")]
    assert len(autom4te) == 1 and autom4te[0][-1] == "configure.ac", words
    runs = [w for w in autom4te[0] if isinstance(w, list)]
    assert len(runs) == 1 and all(x.startswith("--trace=") for x in runs[0]), runs


@pytest.mark.slow
def test_automake_removes_what_its_cp_copied_on_the_last_run(tmp_path):
    """``automake --add-missing --copy --force-missing`` from a clean tree has ``cp`` copy
    ``compile``, ``install-sh``, ``missing``, ``depcomp``; the next run removes each
    before copying it again (main: 4 refusals a run).  The learned removal is
    automake's of those four names only: not their reads' widening, no other file."""
    tree = project(tmp_path / "proj")
    env = env_without_perl_seed()
    command = ["automake", "--add-missing", "--copy", "--force-missing"]
    # (autom4te's cache as the next runs have it -- its first run writes other files in its
    # temporary directory, not what this test is about --, the tree without the copies)
    subprocess.run(["sh", "-c", "aclocal && autoconf && automake --add-missing --copy && "
                    "rm compile install-sh missing depcomp"], cwd=tree, env={**env}, check=True,
                   capture_output=True)
    policy = learn(tmp_path, command, cwd=tree, env=env)
    (tree / "notes.txt").write_text("the user's\n")
    # (one next run: it meets the copies the learning run made, as every later run does)
    r, refused = enforce(tmp_path, policy, command, cwd=tree, env=env)
    assert refused == [], json.dumps(refused[:2])[:2000]
    assert r.returncode == 0, r.stderr
    assert (tree / "compile").is_file() and (tree / "notes.txt").exists()
    data = tomllib.loads(policy.read_text())
    automake = data["rule"]  # (the command's own table: main)
    removals = [r for r in automake if "unlink" in r["calls"]]
    assert removals and all(r["path"] == "$CWD/{compile,depcomp,install-sh,missing}"
                            for r in removals), removals
    assert all("fswrite" not in r["calls"] for r in automake
               if "compile" in r.get("path", "")), automake
