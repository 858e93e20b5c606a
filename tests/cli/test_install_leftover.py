"""The README's two commands in one venv: ``pip install .`` (the first), then ``pip install -e
'.[test]'`` (the second).  pip's uninstall of the first removes the files it installed, not the
start-up caches systrace wrote beside them (``systrace_py/__pycache__/*.marshal``,
docs/cli.md): ``site-packages/systrace_py`` is left holding only those.  Python then finds
that directory first on sys.path and makes ``systrace_py`` a namespace package of it (the
editable install's finder is asked only after the path), so the package's ``__init__`` never
ran and every ``systrace`` command died in a traceback (``cannot import name '__version__'
from 'systrace_py' (unknown location)``).

The test builds that state without pip: a leftover directory first on sys.path, and a finder
appended to sys.meta_path that maps ``systrace_py`` to the checkout, as setuptools' editable
finder does (``-S``: site-packages is put on the path for the dependencies, but no ``.pth``
file is read, so an editable install of systrace is not seen)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

from conftest import REPO

LAUNCH = textwrap.dedent("""\
    import importlib.util, os, sys
    leftover, checkout, deps = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(1, leftover)  # (after the command's own directory, which main() drops)
    sys.path.append(deps)  # (python-ptrace, prompt_toolkit...: no .pth file is read)

    class Editable:  # (setuptools' editable finder, reduced: appended, asked after the path)
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name != "systrace_py" and not name.startswith("systrace_py."):
                return None
            parts = name.split(".")
            base = os.path.join(checkout, *parts)
            if os.path.isdir(base):
                return importlib.util.spec_from_file_location(
                    name, os.path.join(base, "__init__.py"), submodule_search_locations=[base])
            if os.path.isfile(base + ".py"):
                return importlib.util.spec_from_file_location(name, base + ".py")
            return None

    sys.meta_path.append(Editable)
    sys.argv = ["systrace", *sys.argv[4:]]
    from systrace_py.__main__ import main  # (the console script's two lines)
    sys.exit(main())
    """)


def leftover_site(tmp_path: Path, extra: str | None = None) -> Path:
    site = tmp_path / "site-packages"
    cache = site / "systrace_py" / "__pycache__"
    cache.mkdir(parents=True)
    for kind in ("modules.run", "regexes.learn", "generated-code.policy"):
        (cache / f"{kind}.{sys.implementation.cache_tag}.marshal").write_bytes(b"\0")
    if extra:
        (site / "systrace_py" / extra).write_text("x\n")
    return site


def launch(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    deps = sysconfig.get_paths()["purelib"]
    return subprocess.run([sys.executable, "-S", "-c", LAUNCH, str(site), str(REPO), deps, *args],
                          capture_output=True, text=True, timeout=120, cwd=site.parent,
                          env={"PATH": "/usr/bin:/bin", "SYSTRACE_NO_RESIDENT": "1"})


def test_caches_left_by_an_uninstalled_copy_do_not_break_the_command(tmp_path: Path) -> None:
    site = leftover_site(tmp_path)
    done = launch(site, "--version")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("systrace"), done.stdout
    # they were systrace's own caches (which may be deleted at any time): gone, so that
    # ``import systrace_py`` (the library, docs/api.md) finds the installed package again
    assert not (site / "systrace_py").exists()
    again = launch(site, "--version")
    assert again.returncode == 0 and again.stderr == "", again.stderr


def test_a_leftover_holding_more_than_caches_is_kept_and_named(tmp_path: Path) -> None:
    site = leftover_site(tmp_path, extra="notes.txt")
    done = launch(site, "--version")
    assert done.returncode == 0, done.stderr
    assert (site / "systrace_py" / "notes.txt").exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systrace: warning: "), done.stderr
    assert str(site / "systrace_py") in lines[0]


def test_a_leftover_that_is_a_symlink_removes_nothing_where_it_points(tmp_path: Path) -> None:
    """Review 18: the leftover on sys.path a symlink to another directory of caches alone
    (another copy's, another user's): the caches there were removed (os.listdir and unlink
    followed the link; only the rmdir of the link failed).  Now nothing is removed through a
    link, and the leftover is named.  (Failed on main: the target's caches were gone.)"""
    elsewhere = leftover_site(tmp_path / "other") / "systrace_py"
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "systrace_py").symlink_to(elsewhere)
    before = sorted(p.name for p in (elsewhere / "__pycache__").iterdir())
    done = launch(site, "--version")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (elsewhere / "__pycache__").iterdir()) == before
    assert "systrace: warning: " in done.stderr, done.stderr


def test_a_cache_directory_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "systrace_py").mkdir(parents=True)
    elsewhere = leftover_site(tmp_path / "other") / "systrace_py" / "__pycache__"
    (site / "systrace_py" / "__pycache__").symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir())
    done = launch(site, "--version")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == before
