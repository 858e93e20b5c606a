"""What a run left in a user's cache, read back by the next run (learn24): pip caches the
wheel it built from a local sdist under the hash of the sdist's link
(``~/.cache/pip/wheels/7b/ab/a4/HASH/``) and writes ``origin.json`` there, which the next
install of the same sdist reads -- refused before, and pip failed ("Could not install
packages due to an OSError").  The grant is the read of that file by its name: no other entry of the
cache, no listing of it, no other name in it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_next_run import FIND_LINKS, PYTHON3, enforce, learn, local_setuptools


def _sdist(root: Path) -> Path:
    pkg = root / "pkg"
    (pkg / "demo").mkdir(parents=True)
    (pkg / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='demo', version='0.1', packages=['demo'])\n")
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires=["setuptools"]\nbuild-backend="setuptools.build_meta"\n')
    (pkg / "demo" / "__init__.py").write_text("X = 1\n")
    r = subprocess.run([PYTHON3, "setup.py", "-q", "sdist", "-d", str(root / "dist")],
                       cwd=pkg, capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot make an sdist here: {r.stderr[-200:]}")
    return root / "dist" / "demo-0.1.tar.gz"


@pytest.mark.slow
@pytest.mark.skipif(not local_setuptools(), reason="no local setuptools wheel to build with")
def test_pip_installs_a_local_sdist_again_from_the_wheel_it_cached(tmp_path):
    if subprocess.run([PYTHON3, "-c", "import ensurepip, setuptools"],
                      capture_output=True).returncode:
        pytest.skip("this python cannot make a venv with pip, or has no setuptools")
    sdist = _sdist(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PIP_NO_INPUT": "1"}
    env.pop("PIP_NO_CACHE_DIR", None)
    # (the venv is made once, untraced, and demo taken out of it before each run: making it
    # under systrace, ensurepip's install of pip itself, was most of the test's time and
    # none of its claim -- the next install of demo reads the cache's origin.json)
    subprocess.run([PYTHON3, "-m", "venv", str(tmp_path / "venv")], check=True, env=env)
    # (and the build backend installed there once, untraced, the build not isolated: an
    # isolated build installed setuptools afresh under systrace at every run -- most of the
    # test's time, and none of its claim: the wheel built is cached all the same)
    subprocess.run([str(tmp_path / "venv" / "bin" / "pip"), "install", "-q", "--no-index",
                    "--find-links", FIND_LINKS, "setuptools>=71"], check=True, env=env)
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))

    def without_demo() -> None:
        for installed in [*site.glob("demo"), *site.glob("demo-*")]:
            shutil.rmtree(installed)

    command = ["sh", "-c", "venv/bin/pip install -q --no-index --no-build-isolation"
               f" --find-links {FIND_LINKS}"
               f" {sdist} && venv/bin/python -c 'import demo; print(demo.X)'"]
    policy = learn(tmp_path, command, cwd=tmp_path, env=env, timeout=600)
    without_demo()
    r, refused = enforce(tmp_path, policy, command, cwd=tmp_path, env=env, timeout=600)
    assert refused == [], [(x["syscall"], x["args"].get("path")) for x in refused]
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    # the grant: that origin.json by its name; no read of the hash's shape (every entry of
    # the cache), no listing of the cache's hash directories
    text = policy.read_text()
    assert re.search(r'~/\.cache/pip/wheels/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]+'
                     r'/origin\.json', text), text
    reads = [m.group(1) for m in re.finditer(r'calls = \[[^\]]*"fsread"[^\]]*\]\npath = "([^"]*)"',
                                             text) if ".cache/pip" in m.group(1)]
    assert not any(r.endswith("/origin.json") and "[0-9a-f]" in r for r in reads), reads
    assert not any(re.fullmatch(r"~/\.cache/pip/wheels(/\[0-9a-f\]+)+", r) for r in reads), reads
