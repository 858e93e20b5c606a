"""The command's modules served from one file (systrace_py/importcache.py, issue 16): what
runs is what importlib would have run -- a changed source, a module of the same name earlier
on the path, a namespace directory that became a package each take the entry out -- and a
second start of the command imports none of its source modules the long way."""

from __future__ import annotations

import marshal
import os
import subprocess
import textwrap
from pathlib import Path

from conftest import PYTHON, REPO, systrace_env

#: Imports ``sys.argv[1]`` with the finder on (its file in the directory ``sys.argv[2]``,
#: the search path ``sys.argv[3:]``): prints whether it was served from the file, the
#: module's VALUE and what importlib's modules carry (to compare served and not served).
_IMPORT = textwrap.dedent(f"""\
    import sys
    name, cache, *path = sys.argv[1:]
    sys.path[:0] = [*path, {str(REPO)!r}]
    from systrace_py import importcache
    importcache.cache_path = lambda kind, what="generated-code": f"{{cache}}/{{what}}.{{kind}}"
    importcache.start("run")
    finder = importcache._finder
    import importlib
    module = importlib.import_module(name)
    served = name not in finder.missed
    importcache.end()
    print("served" if served else "importlib", module.VALUE)
    print(module.__file__, getattr(module, "__cached__", None), getattr(module, "__path__", None),
          type(module.__loader__).__name__, module.__loader__.name, module.__spec__.parent,
          module.__spec__.origin, module.__spec__.submodule_search_locations)
    """)


def _import(name: str, cache: Path, *path: Path) -> tuple[str, str]:
    """(served or not and the value, the module's attributes) of one fresh interpreter's
    import (``-B``: no .pyc, so importlib's own answer is always the source's)."""
    proc = subprocess.run([PYTHON, "-B", "-S", "-c", _IMPORT, name, str(cache),
                           *map(str, path)], capture_output=True, text=True, timeout=60,
                          env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, attributes = proc.stdout.splitlines()
    return first, attributes


def test_a_changed_source_changes_what_runs(tmp_path: Path) -> None:
    """Rewritten with the same size and its mtime set back (what a .pyc's check cannot
    tell): the entry is not served, the new source runs, and the next start serves it."""
    cache, lib = tmp_path / "cache", tmp_path / "lib"
    cache.mkdir()
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "__init__.py").write_text("VALUE = 'package'\n")
    module = lib / "pkg" / "mod.py"
    module.write_text("VALUE = 1\n")
    first, attributes = _import("pkg.mod", cache, lib)
    assert first == "importlib 1"
    assert (cache / "modules.run").exists()
    assert _import("pkg.mod", cache, lib) == ("served 1", attributes)
    package = _import("pkg", cache, lib)  # (the first start found it, for pkg.mod)
    assert package[0] == "served package"
    before = module.stat()
    module.write_text("VALUE = 2\n")
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert module.stat().st_size == before.st_size
    assert module.stat().st_mtime_ns == before.st_mtime_ns
    assert _import("pkg.mod", cache, lib) == ("importlib 2", attributes)
    assert _import("pkg.mod", cache, lib) == ("served 2", attributes)
    assert _import("pkg", cache, lib) == package  # (its entry kept when the file was rewritten)


def test_what_importlib_would_find_first_is_what_runs(tmp_path: Path) -> None:
    """A module of the same name put earlier on the search path, and a namespace directory
    earlier on it that gains an ``__init__.py`` (importlib then imports that package), each
    take the entry out."""
    cache, early, late = tmp_path / "cache", tmp_path / "early", tmp_path / "late"
    for directory in (cache, early, late):
        directory.mkdir()
    (late / "mod.py").write_text("VALUE = 'late'\n")
    (early / "nsp").mkdir()  # a namespace portion: importlib goes on to late/nsp.py
    (late / "nsp.py").write_text("VALUE = 'late'\n")
    for name in ("mod", "nsp"):
        assert _import(name, cache, early, late)[0] == "importlib late"
        assert _import(name, cache, early, late)[0] == "served late"
    (early / "mod.py").write_text("VALUE = 'early'\n")
    (early / "nsp" / "__init__.py").write_text("VALUE = 'early package'\n")
    assert _import("mod", cache, early, late)[0] == "importlib early"
    assert _import("nsp", cache, early, late)[0] == "importlib early package"
    # another search path (the same file found): not served either; then each is kept
    assert _import("mod", cache, early)[0] == "importlib early"
    assert _import("mod", cache, early)[0] == "served early"
    assert _import("mod", cache, early, late)[0] == "served early"


#: systrace's command with its modules' file in sys.argv[1]; prints on stderr how many
#: source modules importlib found itself (not served from the file)
_COUNTING = textwrap.dedent("""\
    import sys
    from systrace_py import importcache
    cache = sys.argv.pop(1)
    importcache.cache_path = lambda kind, what="generated-code": f"{cache}/{what}.{kind}"
    real_end = importcache.end
    def end():
        finder = importcache._finder
        if finder is not None:
            specs = [getattr(sys.modules.get(name), "__spec__", None)
                     for name in finder.missed]
            found = [spec.name for spec in specs if spec is not None and type(spec.loader)
                     .__name__ in ("SourceFileLoader", "ExtensionFileLoader")]
            print(f"found the long way: {len(found)}", file=sys.stderr)
        real_end()
    importcache.end = end
    sys.argv[0] = "systrace"
    from systrace_py.__main__ import main
    sys.exit(main())
    """)


def test_a_second_start_finds_no_module_the_long_way(tmp_path: Path) -> None:
    """The first start writes the file; the second imports every source and extension
    module of the command from it (the stdlib's and the command's own, up to the program's
    start)."""
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    counts = []
    for _ in range(2):
        proc = subprocess.run([PYTHON, "-c", _COUNTING, str(tmp_path), "-p", str(policy),
                               "--", "true"], capture_output=True, text=True, timeout=120,
                              env=systrace_env())
        assert proc.returncode == 0, proc.stderr[-2000:]
        found = [line for line in proc.stderr.splitlines()
                 if line.startswith("found the long way: ")]
        assert len(found) == 1, proc.stderr[-2000:]
        counts.append(int(found[0].rpartition(" ")[2]))
    assert counts[0] > 50 and counts[1] == 0, counts


def test_a_damaged_file_is_importlibs_to_serve(tmp_path: Path) -> None:
    """Garbage, another layout, entries of the wrong shape: the module is importlib's, the
    import works, and the file is written again (the next start serves it)."""
    from systrace_py import importcache

    cache, lib = tmp_path / "cache", tmp_path / "lib"
    cache.mkdir()
    lib.mkdir()
    (lib / "mod.py").write_text("VALUE = 1\n")
    search = (str(lib), str(REPO))  # (what _IMPORT's sys.path starts with)
    assert _import("mod", cache, lib)[0] == "importlib 1"
    real = (cache / "modules.run").read_bytes()
    index = marshal.dumps((importcache._header(), {
        ("mod", search): (str(lib / "mod.py"), False, ("not", "pairs"), (0, 4)),
        ("other", search): (1, 2, 3),
        "mod": ("mod.py", False, (), (0, 4))}))
    for damaged in (b"", b"garbage" * 10, real[:len(real) // 2],
                    len(index).to_bytes(8, "little") + index + b"code"):
        (cache / "modules.run").write_bytes(damaged)
        assert _import("mod", cache, lib)[0] == "importlib 1"
        assert _import("mod", cache, lib)[0] == "served 1"


#: A package's ``__init__`` as an extension module: importlib's file finder tries the
#: extension suffixes before ``.py`` in a package's directory
_EXTENSION_INIT = textwrap.dedent("""\
    #include <Python.h>
    static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "pkg", NULL, -1, NULL};
    PyMODINIT_FUNC PyInit_pkg(void) {
        PyObject *m = PyModule_Create(&def);
        if (m != NULL && PyModule_AddStringConstant(m, "VALUE", "extension") < 0) {
            Py_DECREF(m);
            return NULL;
        }
        return m;
    }
    """)


def test_an_extension_init_put_in_a_packages_directory_is_what_runs(tmp_path: Path) -> None:
    """A package's own directory decides what importlib finds for it: an
    ``__init__`` of an extension suffix put beside ``__init__.py`` comes first (review 15).
    The entry stamped the directory the package is in and ``__init__.py``, not the
    package's directory, and went on serving ``__init__.py``'s code."""
    import sysconfig

    cache, lib = tmp_path / "cache", tmp_path / "lib"
    cache.mkdir()
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "__init__.py").write_text("VALUE = 'source'\n")
    assert _import("pkg", cache, lib)[0] == "importlib source"
    assert _import("pkg", cache, lib)[0] == "served source"
    source = tmp_path / "init.c"
    source.write_text(_EXTENSION_INIT)
    built = lib / "pkg" / f"__init__{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["cc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                    "-o", str(built), str(source)], check=True, timeout=120)
    assert _import("pkg", cache, lib)[0] == "importlib extension"
    assert _import("pkg", cache, lib)[0] == "served extension"


#: Imports ``sys.argv[1]`` on the search path ``sys.argv[3:]`` with the finder on (its file
#: in ``sys.argv[2]``); prints the search paths whose section of the index it unmarshalled
_SECTIONS = _IMPORT.replace("served = name not in finder.missed\n", textwrap.dedent("""\
    served = name not in finder.missed
    read = sorted(len(search) for search, section in finder.sections.items()
                  if type(section) is dict)
    print("read", read, "of", len(finder.sections), file=sys.stderr)
    """))
assert _SECTIONS != _IMPORT


def test_a_start_reads_only_the_index_of_the_paths_it_searches(tmp_path: Path) -> None:
    """The file keeps the entries of starts on other search paths (``python -m``, the
    console script, the test suite's runs), each path's section unmarshalled only by a start
    that searches it: a start read them all, +4 M instructions at every start once the tests
    had run (start25).  Fails on main's code (no sections: the whole index was read)."""
    cache, libs = tmp_path / "cache", [tmp_path / f"lib{i}" for i in range(4)]
    cache.mkdir()
    for i, lib in enumerate(libs):
        lib.mkdir()
        (lib / "mod.py").write_text(f"VALUE = {i}\n")
    for lib in libs:  # four search paths' entries, each kept in the file
        assert _import("mod", cache, lib)[0] == f"importlib {libs.index(lib)}"
    for i, lib in enumerate(libs):
        proc = subprocess.run([PYTHON, "-B", "-S", "-c", _SECTIONS, "mod", str(cache),
                               str(lib)], capture_output=True, text=True, timeout=60,
                              env=systrace_env())
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.splitlines()[0] == f"served {i}"
        # one section read (this start's search path) of the four the file holds
        read = proc.stderr.splitlines()[-1]
        assert read.startswith("read [") and read.endswith("] of 4") and "," not in read, \
            proc.stderr[-2000:]
