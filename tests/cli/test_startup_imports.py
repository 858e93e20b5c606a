"""Start-up (issue 16): what a plain enforcing run imports, and the libraries found without
ldconfig.

No timing here (the bench measures it): the test reads ``python -X importtime``'s list of the
modules a real ``systrace -p P -- true`` run imported, and fails when one that only some runs
need (the prompt, the policy writers, the log's JSON, the generalizer, a misspelling's
suggestions, subprocess for ldconfig) is among them."""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import functools
import importlib
import marshal
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import types
import typing
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PYTHON, REPO, systrace_env
from systrace_py import importcache, startup
from systrace_py.engine import native
from systrace_py.policy import files

#: Modules a plain enforcing run must not import: each has a run that needs it, and that run
#: imports it where it is used.
HEAVY = (
    "prompt_toolkit",               # asking: only when some table can ask
    "tomli_w", "tomlkit",           # writing policies: learning, remembered answers
    "hypothesis",                   # tests only
    "json",                         # the log (--log, -e)
    "difflib",                      # suggestions for a misspelt key or call
    "tempfile",                     # saving a policy file
    "subprocess", "ctypes.util",    # find_library's `ldconfig -p` (engine/native.py)
    "asyncio",
    "socket",                       # the resolver's sockets (the engine's own are _socket's)
    "systrace_py.names", "systrace_py.dnswire",  # host rules, or connects shown to someone
    "pathlib", "urllib",            # saving a policy, the policy directory, attaching
    "inspect", "ast", "dis",        # dataclasses' import of inspect (startup.deferred)
    "copy",                         # dataclasses' import of copy (startup.deferred)
    "bz2", "lzma", "zlib", "_bz2", "_lzma",  # shutil's (startup.deferred)
    "grp",                          # -c USER:GROUP
    "mmap", "select", "bisect",     # pkeys, waiting for an answer, a policy error's line
    "queue", "heapq",               # the prompt's and the approver's (the engine's are _queue's)
    "threading",                    # a thread (the prompt, the resolver, an attach's reaper)
    "systrace_py.policy.generalize", "systrace_py.policy.learn", "systrace_py.learner",
    "systrace_py.ui", "systrace_py.approver", "systrace_py.learn_cli",
    "systrace_py.policy_cli", "systrace_py.api", "systrace_py.records",
    # python-ptrace's error module's logging helpers (engine/native.py: lazy_names), with
    # traceback's linecache and tokenize
    "logging", "traceback", "ptrace.logging_tools", "ptrace.tools", "tokenize", "linecache",
    "datetime",                     # the TOML parser's is _datetime (policy/files.py)
)

POLICIES = {
    "paths": """\
        default = "permit"
        [[rule]]
        calls = ["fsread", "fswrite"]
        path = "/etc/shadow"
        action = "never"
        errno = "EACCES"
        """,
    "network": """\
        default = "permit"
        [[rule]]
        calls = ["net-connect"]
        address = "10.0.0.0/8"
        action = "never"
        """,
    "programs": """\
        default = "permit"
        [program."/usr/bin/true"]
        default = "permit"
        [[program."/usr/bin/true".rule]]
        calls = ["fswrite"]
        path = "/tmp/**"
        action = "never"
        """,
}


def without_site_path() -> str:
    """PYTHONPATH for ``python -S``: the package and site-packages, as the bench runs it."""
    paths = sysconfig.get_paths()
    return os.pathsep.join(dict.fromkeys([str(REPO), paths["purelib"], paths["platlib"]]))


def imported(tmp_path: Path, policy_text: str, *command: str) -> set[str]:
    """The modules ``systrace -p POLICY -- COMMAND`` imported, by -X importtime: run as the
    bench runs it, ``python -S`` with the package and site-packages on the path, so that
    nothing ``site`` imports first (a development venv's editable finder imports pathlib,
    ipaddress...) hides a module the run itself would import."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(policy_text))
    proc = subprocess.run([PYTHON, "-S", "-X", "importtime", "-m", "systrace_py", "-p",
                           str(policy), "--", *command], capture_output=True, text=True,
                          timeout=120, env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    # the list is real: the engine was imported and shows in it
    assert {"systrace_py.engine.tracer", "systrace_py.policy.files"} <= names, proc.stderr
    return names


#: Heavy for the runs of a policy with no address rule: the engine decodes no address then,
#: and the policy's load makes no network condition (policy/files.py: _net)
WITHOUT_ADDRESSES = ("ipaddress", "systrace_py.policy.net")


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_a_plain_run_imports_nothing_heavy(tmp_path: Path, kind: str) -> None:
    names = imported(tmp_path, POLICIES[kind], "true")
    heavy_here = HEAVY if kind == "network" else HEAVY + WITHOUT_ADDRESSES
    heavy = sorted(n for n in names
                   if any(n == h or n.startswith(h + ".") for h in heavy_here))
    assert heavy == [], f"a plain -p run imported {heavy}"


def test_a_run_of_a_command_named_by_its_path_imports_no_shutil(tmp_path: Path) -> None:
    """shutil is for looking a command's name up (and for --help's width): a command given
    by its path needs neither (argparse's formatter imported it at each start)."""
    names = imported(tmp_path, POLICIES["paths"], "/bin/true")
    assert "shutil" not in names


@pytest.mark.parametrize("columns", [None, "30", "80", "132"])
def test_the_help_is_argparses_at_every_width(columns: str | None) -> None:
    """cli/args.py's formatter reads the width when it formats, not when it is made: the
    help and the usage are what argparse's RawDescriptionHelpFormatter makes of them."""
    from systrace_py.cli.args import build_parser

    code = textwrap.dedent("""\
        import argparse, sys
        from systrace_py.cli.args import build_parser
        p = build_parser()
        ours = p.format_help() + p.format_usage()
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        print(ours == p.format_help() + p.format_usage())
        """)
    env = systrace_env()
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    # (argparse's own reads COLUMNS: a formatter that kept another width differs at 30, 132)
    assert proc.stdout.partition("\n")[0] == "True", proc.stdout
    assert build_parser().formatter_class is not argparse.RawDescriptionHelpFormatter


#: systrace's command with a note on stderr of each collection made while the command's
#: modules are imported (after startup.py is in sys.modules, before cli/run.py has been)
_COLLECTIONS = """\
import gc, sys
from systrace_py.__main__ import main
def noted(phase, info):
    if phase == "start" and "systrace_py.startup" in sys.modules \\
            and "systrace_py.cli.run" not in sys.modules:
        print(f"collected {info['generation']} while importing", file=sys.stderr)
gc.callbacks.append(noted)
sys.exit(main())
"""


def test_no_collection_while_the_modules_are_imported(tmp_path: Path) -> None:
    """__main__ turns the collector off before the modules the quick imports need (typing,
    re, enum, collections...) are imported, not only for the quick imports themselves."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    proc = subprocess.run([PYTHON, "-S", "-c", _COLLECTIONS, "-p", str(policy), "--",
                           "/bin/true"], capture_output=True, text=True, timeout=120,
                          env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "collected" not in proc.stderr, proc.stderr[-2000:]


def test_the_resident_client_imports_nothing_heavy() -> None:
    """What every start imports first (``__main__`` asks a resident tracer before anything
    else, systrace_py/resident_client.py): nothing that a start without the engine could do
    without -- typing, enum, re, collections, socket, signal, ctypes -- or the saving of a
    resident tracer's start is lost.  (tests/cli/test_resident.py checks a run through one.)"""
    code = (f"import sys; sys.path[:0] = [{str(REPO)!r}]; "
            "import systrace_py.resident_client, systrace_py._cloop")
    proc = subprocess.run([PYTHON, "-S", "-X", "importtime", "-c", code], capture_output=True,
                          text=True, timeout=120, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert {"systrace_py.resident_client", "systrace_py.engine.child"} <= names
    heavy = {"typing", "enum", "re", "collections", "functools", "socket", "signal",
             "ctypes", "contextlib", "importlib.util", "json", "argparse", "dataclasses",
             # (the package's __getattr__ imported importlib, and with it warnings, when the
             # client's ``from systrace_py import procfs`` asked it first: ~0.6 ms)
             "importlib", "warnings"}
    assert not heavy & names, sorted(heavy & names)


#: systrace's command with every compile of source text counted (exec, eval, compile of a
#: str: dataclasses, namedtuple, typing and the like), the count printed on stderr at exit
_COUNTING = """\
import atexit, builtins, sys
counts = []
for name in ("exec", "eval", "compile"):
    def counting(source, *args, _real=getattr(builtins, name), **kwargs):
        if isinstance(source, str):
            counts.append(source)
        return _real(source, *args, **kwargs)
    setattr(builtins, name, counting)
atexit.register(lambda: print(f"compiled {len(counts)}", file=sys.stderr))
from systrace_py.__main__ import main
sys.exit(main())
"""


#: A learned rule: its load imports the sensitive locations (policy/sensitive.py:
#: learned_glob), after the quick imports
LEARNED_POLICY = """\
    default = "permit"
    [[rule]]
    calls = ["fsread"]
    path = "/usr/**"
    action = "permit"
    learned = {kind = "a tree", seen = 2, paths = ["/usr/a", "/usr/b"]}
    """


def test_a_learned_policy_s_run_imports_no_generalizer(tmp_path: Path) -> None:
    """A learned permit rule's load holds its glob to the sensitive locations where it is
    used (learned_glob, policy/sensitive.py), and imports nothing else of the generalizer:
    its name templates, categories and writers were ~1 ms of every start under a learned
    policy (issue 16)."""
    names = imported(tmp_path, LEARNED_POLICY, "true")
    assert "systrace_py.policy.sensitive" in names
    heavy = sorted(n for n in names if any(n == h or n.startswith(h + ".")
                                           for h in HEAVY + WITHOUT_ADDRESSES))
    assert heavy == [], f"a learned policy's run imported {heavy}"


@pytest.mark.parametrize("kind", ["paths", "network", "learned"])
def test_a_second_start_compiles_no_source(tmp_path: Path, kind: str) -> None:
    """What the modules generate and compile at import (dataclass methods, namedtuple and
    annotation code) comes from the cache from the second start on: the subcommand's modules
    included, the argument parsing, and what the policy's load imports (the sensitive
    locations for a learned rule: the caches stay open until the program starts)."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(LEARNED_POLICY if kind == "learned" else POLICIES[kind]))
    for _ in range(2):  # the first fills the cache (where it is writable)
        proc = subprocess.run([PYTHON, "-c", _COUNTING, "-p", str(policy), "--", "true"],
                              capture_output=True, text=True, timeout=120, env=systrace_env())
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert "compiled 0" in proc.stderr.splitlines(), proc.stderr[-2000:]


def test_each_kind_of_start_has_its_own_cache(tmp_path: Path) -> None:
    """An enforcing run, -A and `systrace policy` import different modules: each reads and
    writes a cache of its own, so an enforcing start does not unmarshal learning's entries
    (the guess is from the words; the entries are keyed by their text either way)."""
    assert importcache.command_kind(["-p", "x.toml", "--", "true"]) == "run"
    assert importcache.command_kind(["-p", "x.toml", "--", "make", "-A"]) == "run"
    assert importcache.command_kind(["-A", "-o", "x.toml", "--", "true"]) == "learn"
    assert importcache.command_kind(["-v", "-A", "true"]) == "learn"
    assert importcache.command_kind(["policy", "check", "x.toml"]) == "policy"
    assert importcache.command_kind([]) == "run"
    assert importcache.command_kind(["--resident"]) == "resident"
    assert importcache.command_kind(["--resident=stop"]) == "resident"
    assert importcache.command_kind(["-p", "x.toml", "--", "prog", "--resident"]) == "run"
    paths = {importcache.cache_path(kind) for kind in ("run", "learn", "policy", "resident")}
    assert len(paths) == 4 and importcache.cache_path("run") == startup.CACHE
    # a learning start fills its cache, not the enforcing one's
    run_cache, learn_cache = tmp_path / "generated-code.run", tmp_path / "generated-code.learn"
    code = textwrap.dedent(f"""\
        import sys
        from systrace_py import importcache, startup
        importcache.cache_path = lambda kind, what="generated-code": f"{tmp_path}/{{what}}.{{kind}}"
        sys.argv[0] = "systrace"
        from systrace_py.__main__ import main
        sys.exit(main())
        """)
    proc = subprocess.run([PYTHON, "-c", code, "-A", "-o", str(tmp_path / "l.toml"), "--",
                           "true"], capture_output=True, text=True, timeout=120,
                          env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert learn_cache.exists() and (tmp_path / "regexes.learn").exists()
    assert not run_cache.exists() and not (tmp_path / "regexes.run").exists()
    learned = marshal.loads(learn_cache.read_bytes())
    proc = subprocess.run([PYTHON, "-c", code, "-p", str(tmp_path / "l.toml"), "--", "true"],
                          capture_output=True, text=True, timeout=120, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert run_cache.exists() and (tmp_path / "regexes.run").exists()
    assert len(marshal.loads(run_cache.read_bytes())) < len(learned)
    assert len(marshal.loads((tmp_path / "regexes.run").read_bytes())[1]) \
        < len(marshal.loads((tmp_path / "regexes.learn").read_bytes())[1])


def test_the_caches_close_before_the_program_runs(tmp_path: Path) -> None:
    """The start-up caches stay open past the imports (the policy's load imports what a
    learned rule needs) but not into the run: when the program is spawned dataclasses and
    re's compiler are their own again, and what the start compiled is saved."""
    sizes = {}
    for kind in ("paths", "learned"):
        sizes[kind] = _saved_at_spawn(tmp_path / kind, LEARNED_POLICY if kind == "learned"
                                      else POLICIES[kind])
    # (policy/sensitive.py's dataclass, made while the learned rule loaded, after the imports)
    assert sizes["learned"] > sizes["paths"], sizes


def _saved_at_spawn(tmp_path: Path, policy_text: str) -> int:
    """Run ``systrace -p POLICY -- true`` with its caches in ``tmp_path``; check the caches
    were closed at the spawn; the number of generated-code entries saved."""
    tmp_path.mkdir()
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(policy_text))
    code = textwrap.dedent(f"""\
        import sys
        from systrace_py import importcache, startup
        importcache.cache_path = lambda kind, what="generated-code": f"{tmp_path}/{{what}}.{{kind}}"
        from systrace_py.session import Session
        real_run = Session.run
        def run(self, spec):
            import dataclasses, re._compiler
            real_spawn = self.tracer.spawn
            def spawn(spec):
                print("at spawn:", "exec" in vars(dataclasses), startup._caching is None,
                      type(re._compiler._sre).__name__, file=sys.stderr)
                return real_spawn(spec)
            self.tracer.spawn = spawn
            return real_run(self, spec)
        Session.run = run
        sys.argv[0] = "systrace"
        from systrace_py.__main__ import main
        sys.exit(main())
        """)
    proc = subprocess.run([PYTHON, "-c", code, "-p", str(policy), "--", "true"],
                          capture_output=True, text=True, timeout=120, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "at spawn: False True module" in proc.stderr.splitlines(), proc.stderr[-2000:]
    return len(marshal.loads((tmp_path / "generated-code.run").read_bytes()))


def test_the_log_still_gets_its_json(tmp_path: Path) -> None:
    """json is imported where the log writes, so a run with --log still writes records."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    log = tmp_path / "run.jsonl"
    proc = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(policy), "--log", str(log),
                           "--", "cat", "/etc/shadow"], capture_output=True, text=True,
                          timeout=120, env=systrace_env())
    assert proc.returncode != 0
    assert '"action":"never"' in log.read_text(), log.read_text()


# --- engine/native.py: find_library without ldconfig -----------------------------------------


def test_known_names_are_answered_by_soname() -> None:
    assert native.find_library("c") == "libc.so.6"
    assert native.find_library("seccomp") == "libseccomp.so.2"


def test_other_names_go_to_the_real_find_library() -> None:
    import ctypes.util

    assert native.find_library("m") == ctypes.util.find_library("m")
    assert native.find_library("no-such-library-xyz") is None


def test_a_soname_the_loader_cannot_load_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    monkeypatch.setitem(native.SONAMES, "c", ("libc.so.999",))
    assert native.find_library("c") == ctypes.util.find_library("c") != "libc.so.999"


def test_the_stand_in_is_gone_after_the_imports() -> None:
    """Only the bindings' imports see the stand-in; a fresh interpreter proves it for the
    case where ctypes.util was never imported."""
    code = textwrap.dedent("""\
        import ctypes, sys
        from systrace_py.engine import native
        with native.fixed_sonames():
            import ctypes.util
            assert ctypes.util.find_library is native.find_library
            from ctypes.util import find_library
            assert find_library("c") == "libc.so.6"
        assert "ctypes.util" not in sys.modules and not hasattr(ctypes, "util")
        import ctypes.util
        assert ctypes.util.find_library is not native.find_library
        assert hasattr(ctypes.util, "_findSoname_ldconfig")
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=systrace_env())
    assert proc.stdout.strip() == "ok", proc.stderr


def test_an_imported_ctypes_util_is_patched_only_for_the_duration() -> None:
    import ctypes.util

    before = ctypes.util.find_library
    with native.fixed_sonames():
        assert ctypes.util.find_library is native.find_library
    assert ctypes.util.find_library is before


def test_the_bindings_loaded_the_libraries_by_soname() -> None:
    """What the patch is for: python-ptrace and pyseccomp hold the libraries by soname."""
    from systrace_py.engine import ptrace_ops, seccomp  # noqa: F401  (imports the bindings)

    pyseccomp = seccomp.pyseccomp_module()  # (imported at the first compile, not with seccomp)
    assert pyseccomp is sys.modules["pyseccomp"]
    assert pyseccomp._libseccomp._name == "libseccomp.so.2"
    assert pyseccomp._libc._name == "libc.so.6"
    assert isinstance(pyseccomp._libc, ctypes.CDLL)


def test_python_ptraces_lazy_names_are_the_real_modules() -> None:
    """The constants native.PTRACE_NAMES gives python-ptrace's imports are the real modules'
    values, and each function it gives is one the real module has."""
    for module, names in native.PTRACE_NAMES.items():
        real = importlib.import_module(module)
        for name, value in names.items():
            assert callable(getattr(real, name)) if value is None \
                else getattr(real, name) == value, (module, name)


def test_python_ptraces_logging_is_imported_when_used() -> None:
    """In a fresh interpreter: importing the binding imports no logging, traceback or
    logging_tools; python-ptrace's own helpers work, each importing the real module when
    called; afterwards ``import logging`` is the real module."""
    code = textwrap.dedent("""\
        import sys
        from systrace_py.engine import ptrace_ops
        lazy = ("logging", "traceback", "ptrace.logging_tools", "ptrace.tools")
        assert not [m for m in lazy if m in sys.modules], [m for m in lazy if m in sys.modules]
        import ptrace.error
        logger = ptrace.error.getLogger("systrace-test")
        import logging
        assert isinstance(logger, logging.Logger)
        assert logging.getLogger is not ptrace.error.getLogger
        try:
            raise ValueError("boom")
        except ValueError:
            lines = ptrace.error.format_exception(*sys.exc_info())
        assert "ValueError: boom" in lines[-1], lines
        seen = []
        logger.error = seen.append
        ptrace.error.writeError(logger, ValueError("bad"), title="T")
        assert seen[0] == "T: [ValueError] bad", seen
        import ptrace.logging_tools
        assert "_systrace_stand_in" not in vars(ptrace.logging_tools)
        assert ptrace.logging_tools.changeLogLevel(logging.ERROR, -1) == logging.WARNING
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.stdout.strip() == "ok", proc.stderr


def test_the_toml_parser_reads_dates_with_datetimes_c_half() -> None:
    """policy/files.py imports the parser with _datetime as its `datetime`: TOML's dates and
    times are the classes datetime.py exports, and afterwards `import datetime` is the real
    module (with its Python-only names)."""
    code = textwrap.dedent("""\
        import sys
        from systrace_py.policy import files
        assert "datetime" not in sys.modules
        got = files.tomllib.loads("d = 1979-05-27T07:32:00+01:00\\nt = 07:32:00\\nx = 1979-05-27")
        import datetime
        assert datetime.__file__.endswith("datetime.py") and datetime.MAXYEAR == 9999
        tz = datetime.timezone(datetime.timedelta(hours=1))
        assert got == {"d": datetime.datetime(1979, 5, 27, 7, 32, tzinfo=tz),
                       "t": datetime.time(7, 32), "x": datetime.date(1979, 5, 27)}, got
        assert type(got["d"]) is datetime.datetime
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.stdout.strip() == "ok", proc.stderr


@given(st.text(max_size=40))
def test_keys_are_quoted_as_tomli_w_quotes_them(key: str) -> None:
    """Program keys are quoted without tomli-w at load (files._format_key): same text."""
    expected = key if files._BARE_KEY.fullmatch(key) else files._scalar(key)
    assert files._format_key(key) == expected


# --- startup.py: dataclass methods and namedtuple constructors compiled once --------------------


def _define() -> type:
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2
        tags: list[str] = dataclasses.field(default_factory=list, compare=False, hash=False)

    return Point


def _check(point_type: type) -> None:
    p = point_type(1)
    assert (p.x, p.y, p.tags) == (1, 2, [])
    assert p == point_type(1, 2, ["other"]) and hash(p) == hash(point_type(1, 2))
    assert repr(p).endswith("Point(x=1, y=2, tags=[])")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3


def test_dataclass_methods_come_from_the_cache_the_second_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = str(tmp_path / "dc.marshal")
    compiled = _counting_compile(monkeypatch)
    with startup.cached_generated_code(cache):
        first = _define()
    assert compiled and Path(cache).exists()
    _check(first)
    compiled.clear()
    with startup.cached_generated_code(cache):
        second = _define()
    assert compiled == []  # every method came from the cache, and behaves the same
    _check(second)
    assert not hasattr(dataclasses, "exec")  # the builtin again, outside the imports


def _define_tuple() -> type:
    class Pair(NamedTuple):
        left: int
        right: str = "r"

    return Pair


def _check_tuple(pair_type: type) -> None:
    assert pair_type(1) == (1, "r") and pair_type(right="x", left=2) == (2, "x")
    assert repr(pair_type(1)) == "Pair(left=1, right='r')"
    assert pair_type.__new__.__doc__ == "Create new instance of Pair(left, right)"
    with pytest.raises(TypeError):
        pair_type(1, "a", "too many")


def _counting_compile(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    compiled: list[str] = []
    real_compile = compile

    def counting(source: str, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return real_compile(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(startup, "compile", counting, raising=False)
    return compiled


def test_namedtuple_constructors_come_from_the_cache_the_second_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import collections

    cache = str(tmp_path / "dc.marshal")
    compiled = _counting_compile(monkeypatch)
    with startup.cached_generated_code(cache):
        first = _define_tuple()
    assert [s for s in compiled if s.startswith("lambda _cls, left, right:")]
    # this module's annotations are strings: typing compiles each (a ForwardRef)
    assert {"int", "str"} <= set(compiled)
    _check_tuple(first)
    compiled.clear()
    with startup.cached_generated_code(cache):
        second = _define_tuple()
    assert compiled == []
    _check_tuple(second)
    assert typing.get_type_hints(second) == {"left": int, "right": str}
    # the builtins again, outside the imports
    assert not hasattr(collections, "eval") and not hasattr(typing, "compile")


def test_a_start_keeps_the_entries_of_starts_that_imported_other_modules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``systrace policy`` and ``systrace CMD`` import different modules: neither start's
    save drops the other's code (each would compile again at every alternation)."""
    cache = str(tmp_path / "dc.marshal")
    with startup.cached_generated_code(cache):
        _define()
    with startup.cached_generated_code(cache):
        _define_tuple()
    compiled = _counting_compile(monkeypatch)
    with startup.cached_generated_code(cache):
        _check(_define())
        _check_tuple(_define_tuple())
    assert compiled == []


def test_past_the_bound_only_the_start_s_own_entries_are_saved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "dc.marshal"
    stale = {f"x = {i}": compile(f"x = {i}", "<string>", "exec") for i in range(4)}
    cache.write_bytes(marshal.dumps(stale))
    monkeypatch.setattr(startup, "MAX_ENTRIES", 4)
    with startup.cached_generated_code(str(cache)):
        _define_tuple()
    saved = marshal.loads(cache.read_bytes())
    assert saved and not set(saved) & set(stale)


def test_a_damaged_cache_is_ignored_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "dc.marshal"
    for junk in (b"", b"\x00garbage", marshal.dumps([1, 2]), marshal.dumps({"x": 1})):
        cache.write_bytes(junk)
        with startup.cached_generated_code(str(cache)):
            point = _define()
        _check(point)
        assert all(isinstance(v, types.CodeType) for v in marshal.loads(cache.read_bytes())
                   .values())


def test_an_unwritable_cache_costs_nothing_but_speed(tmp_path: Path) -> None:
    with startup.cached_generated_code(str(tmp_path / "missing-dir" / "dc.marshal")):
        point = _define()
    _check(point)


def test_stats_name_the_tracer_rss(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    proc = subprocess.run([PYTHON, "-m", "systrace_py", "--stats", "-p", str(policy), "--",
                           "true"], capture_output=True, text=True, timeout=120,
                          env=systrace_env())
    match = re.search(r"tracer CPU [\d.]+s, tracer RSS ([\d.]+) MiB", proc.stderr)
    assert match and 4 < float(match.group(1)) < 1024, proc.stderr


def test_the_tracer_rss_is_its_own_not_its_starters(tmp_path: Path) -> None:
    """systrace started by a process of 256 MiB resident says its own peak (VmHWM), not the
    starter's: ru_maxrss keeps the peak of the image a process exec'd from (an xdist worker's
    ~300 MiB was once reported as the tracer's)."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    starter = textwrap.dedent(f"""\
        import subprocess, sys
        ballast = bytearray(256 << 20)
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        proc = subprocess.run([sys.executable, "-m", "systrace_py", "--stats", "-p",
                               {str(policy)!r}, "--", "true"], capture_output=True, text=True)
        sys.stderr.write(proc.stderr)
        """)
    proc = subprocess.run([PYTHON, "-c", starter], capture_output=True, text=True,
                          timeout=120, env=systrace_env())
    match = re.search(r"tracer CPU [\d.]+s, tracer RSS ([\d.]+) MiB", proc.stderr)
    assert match and 4 < float(match.group(1)) < 128, proc.stderr


def test_inspect_is_deferred_and_then_real() -> None:
    """A fresh interpreter: dataclasses imported under the stand-ins works (a class with no
    docstring gets its signature as __doc__, through the real inspect; asdict copies through
    the real copy), and afterwards ``import inspect`` is the real module, as is what
    dataclasses holds."""
    code = textwrap.dedent("""\
        import sys
        from systrace_py import startup
        with startup.deferred():
            import dataclasses
            assert sys.modules["inspect"].__doc__ == "the real inspect, imported on first use"
            @dataclasses.dataclass
            class Docless:
                a: int
                b: str = "x"
        assert Docless.__doc__ == "Docless(a: int, b: str = 'x')", Docless.__doc__
        # dataclasses' copy, deferred too: asdict deep-copies through the real one
        assert dataclasses.asdict(Docless(1, ["y"])) == {"a": 1, "b": ["y"]}
        assert dataclasses.copy.deepcopy is sys.modules["copy"].deepcopy
        import inspect
        assert inspect is sys.modules["inspect"] and inspect.__file__.endswith("inspect.py")
        assert dataclasses.inspect.signature is inspect.signature
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, env=systrace_env())
    assert proc.stdout.strip() == "ok", proc.stderr


def test_nothing_is_deferred_when_inspect_is_already_imported() -> None:
    import inspect

    with startup.deferred():
        assert sys.modules["inspect"] is inspect
    assert sys.modules["inspect"] is inspect


def test_a_deferred_module_is_the_real_one_from_its_first_use() -> None:
    """A fresh interpreter: a module imported under its stand-in is the real module's at the
    first attribute asked (a class, a constant), holds the real names from then on without
    asking again, and ``import`` after the imports gives the real module."""
    code = textwrap.dedent("""\
        import sys
        from systrace_py import startup
        with startup.deferred({"ipaddress": None, "zlib": "zlib"}):
            import ipaddress as early, zlib as early_zlib
            assert sys.modules["ipaddress"] is early and "IPv4Address" not in vars(early)
        assert "ipaddress" not in sys.modules and "zlib" not in sys.modules
        mapped = early.ip_address("::ffff:10.1.2.3").ipv4_mapped
        import ipaddress
        assert ipaddress is sys.modules["ipaddress"] and ipaddress is not early
        assert ipaddress.__file__.endswith("ipaddress.py")
        assert mapped == ipaddress.IPv4Address("10.1.2.3")
        assert isinstance(mapped, early.IPv4Address) and early.IPv6Address is ipaddress.IPv6Address
        assert vars(early)["IPv4Network"] is ipaddress.IPv4Network  # held, not asked again
        assert early_zlib.crc32(b"x") == 2363233923
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          timeout=60, env=systrace_env())
    assert proc.stdout.strip() == "ok", proc.stderr


def test_a_module_that_would_not_import_is_not_deferred() -> None:
    """A module whose extension is missing is not stood in for: its import fails as it
    would, so ``try: import bz2`` still tells a Python built without it."""
    name = "systrace_test_not_a_module"
    with startup.deferred({name: "_systrace_test_no_such_extension"}):
        assert name not in sys.modules
        with pytest.raises(ImportError):
            importlib.import_module(name)
    assert name not in sys.modules


def test_address_rules_decide_in_a_command_run(tmp_path: Path) -> None:
    """The command's run (ipaddress deferred while it imports): an IPv4-mapped IPv6 connect
    meets the IPv4 network's rule, as the engine reports it."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["network"]))
    program = textwrap.dedent("""\
        import socket
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(("::ffff:10.1.2.3", 9))
        except OSError as exc:
            print("errno", exc.errno)
        """)
    proc = subprocess.run([PYTHON, "-m", "systrace_py", "-p", str(policy), "--",
                           sys.executable, "-S", "-c", program], capture_output=True,
                          text=True, timeout=120, env=systrace_env())
    assert proc.stdout.strip() == "errno 1", proc.stderr[-2000:]


# --- startup.py: regular expressions compiled once -------------------------------------------

#: patterns of the kinds systrace's modules compile: classes, named groups, alternation,
#: repeats, flags, bytes, a wide Unicode class (terminal.py's)
PATTERNS: list[tuple[str | bytes, int]] = [
    (r"(?P<first>\d+)(?:\.\.(?P<last>\d+))?(?P<plus>\+(?P<step>\d+)?)?", 0),
    (r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE),
    ("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", 0),
    (r"""
     (?P<word>[A-Za-z_]\w*)   # a name
     | (?P<num>0x[0-9a-f]+)   # or a number
     """, re.VERBOSE | re.IGNORECASE),
    (rb"^(?:[^/]*/)*?x[*?](y|z)+$", 0),
    (r"(a|b)*?c{2,3}(?=d)", re.DOTALL),
]


def _sample(pattern: str | bytes, text: str) -> str | bytes:
    return text.encode("utf-8", "surrogatepass") if isinstance(pattern, bytes) else text


def _behaviour(compiled: re.Pattern, text: str | bytes) -> tuple[object, ...]:  # type: ignore[type-arg]
    found = compiled.search(text)  # type: ignore[arg-type]
    return (compiled.pattern, compiled.flags, compiled.groups, dict(compiled.groupindex),
            found and (found.span(), found.groups(), found.groupdict()),
            [m.span() for m in compiled.finditer(text)])  # type: ignore[arg-type]


@functools.cache
def _cached_and_fresh() -> tuple[list[re.Pattern], list[re.Pattern]]:  # type: ignore[type-arg]
    """PATTERNS compiled once (recorded), then given again from the cache; and compiled
    without the cache."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "re.marshal")
        for _ in range(2):  # the first records, the second comes from the cache
            re.purge()
            with startup.cached_regexes(cache):
                cached = [re.compile(p, f) for p, f in PATTERNS]
        assert Path(cache).exists()
    re.purge()
    return cached, [re.compile(p, f) for p, f in PATTERNS]


@settings(deadline=None)
@given(st.text(alphabet="abcdxyz019_-/.+*?\\\x00\x7f\u2028\u202e\ud800 \n", max_size=30))
def test_a_cached_regex_behaves_as_a_freshly_compiled_one(text: str) -> None:
    """The pattern object made from the cache is, as far as matching can tell, the one
    re.compile makes without it."""
    cached, fresh = _cached_and_fresh()
    for (pattern, _), a, b in zip(PATTERNS, cached, fresh, strict=True):
        sample = _sample(pattern, text)
        assert _behaviour(a, sample) == _behaviour(b, sample)


def test_regexes_come_from_the_cache_and_the_compiler_is_restored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiler = importlib.import_module("re._compiler")
    real = compiler.compile
    cache = str(tmp_path / "re.marshal")
    re.purge()
    with startup.cached_regexes(cache):
        re.compile(r"(?P<k>[a-z]+)=\d+")
    parsed: list[object] = []
    real_parse = compiler._parser.parse
    monkeypatch.setattr(compiler._parser, "parse",
                        lambda *a: parsed.append(a) or real_parse(*a))
    re.purge()
    with startup.cached_regexes(cache):
        again = re.compile(r"(?P<k>[a-z]+)=\d+")
    assert parsed == []  # not parsed again
    assert again.fullmatch("ab=12") and again.groupindex["k"] == 1
    assert compiler.compile is real and compiler._sre is sys.modules["_sre"]


def test_a_regex_cache_of_another_interpreter_or_damaged_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "re.marshal"
    foreign = (("another python", 0), {("x+", 0): ("x+", 0, [1, 2, 3], 0, {}, ())})
    for junk in (b"", b"\x00garbage", marshal.dumps([1]), marshal.dumps(foreign)):
        cache.write_bytes(junk)
        re.purge()
        with startup.cached_regexes(str(cache)):
            compiled = re.compile("x+")
        assert compiled.fullmatch("xxx") and not compiled.fullmatch("y")


def _mo_file(path: Path, translations: dict[str, str]) -> None:
    """A GNU message catalogue (the .mo format gettext reads) holding ``translations``."""
    import struct

    keys = sorted(translations)
    ids = [k.encode() for k in keys]
    strs = [translations[k].encode() for k in keys]
    start = 7 * 4 + 16 * len(keys)
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    table = b"".join(struct.pack("<2I", *o) for o in offsets)
    path.parent.mkdir(parents=True)
    path.write_bytes(header + table + blob)


def test_argparses_messages_are_gettexts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """cli/args.py's gettext skips the look-up only where it would find nothing: a catalogue
    in the directory bound to the domain still translates argparse's messages."""
    import gettext

    from systrace_py.cli.args import _gettext, build_parser

    monkeypatch.setenv("LANGUAGE", "xx")
    _mo_file(tmp_path / "xx" / "LC_MESSAGES" / "messages.mo", {"options": "opciones"})
    monkeypatch.setitem(gettext._localedirs, "messages", str(tmp_path))  # type: ignore[attr-defined]
    assert _gettext("options") == gettext.gettext("options") == "opciones"
    assert "opciones:" in build_parser().format_help()
    monkeypatch.setitem(gettext._localedirs, "messages",  # type: ignore[attr-defined]
                        str(tmp_path / "none"))
    assert _gettext("options") == gettext.gettext("options") == "options"
    monkeypatch.delitem(gettext._localedirs, "messages")  # type: ignore[attr-defined]
    assert _gettext("usage: ") == gettext.gettext("usage: ")


@pytest.mark.skipif(os.path.isdir(os.path.join(sys.base_prefix, "share", "locale")),
                    reason="this Python has a message directory: gettext looks there")
def test_argparses_messages_need_no_locale_module(tmp_path: Path) -> None:
    """gettext normalises language names with ``locale`` at every look-up; where its
    directory does not exist, a run makes none (~1 ms of a start)."""
    assert "locale" not in imported(tmp_path, POLICIES["paths"], "/bin/true")


#: string annotations dataclasses asks about: bare, qualified by a module name (the right
#: one, an alias, another module, a missing one), subscripted, odd spacing, no identifier
_ANNOTATIONS = ["int", "str | None", "ClassVar", "ClassVar[int]", "typing.ClassVar[int]",
                "t.ClassVar", " typing . ClassVar [int]", "InitVar", "InitVar[int]",
                "dataclasses.InitVar[str]", "dc.InitVar", "KW_ONLY", "dataclasses.KW_ONLY",
                "os.ClassVar", "missing.ClassVar", "Unbound", "[int]", "", "list[ClassVar]"]


def test_annotations_are_typed_as_dataclasses_types_them(tmp_path: Path) -> None:
    """startup's _is_type (each annotation's identifiers read once) answers as dataclasses'
    own for every module namespace, question and annotation -- asked twice, to use what it
    read the first time."""
    module = types.ModuleType("st14_annotations")
    exec(textwrap.dedent("""\
        import dataclasses, os, typing
        import typing as t, dataclasses as dc
        from typing import ClassVar
        from dataclasses import InitVar, KW_ONLY
        class Unbound: pass
        """), module.__dict__)
    bare = types.ModuleType("st14_bare")  # (none of those names)
    shadow = types.ModuleType("st14_shadow")  # (the modules, and other things by their names)
    exec("import dataclasses, typing\nClassVar = InitVar = KW_ONLY = int\n", shadow.__dict__)
    questions = [(typing, typing.ClassVar, dataclasses._is_classvar),  # type: ignore[attr-defined]
                 (dataclasses, dataclasses.InitVar, dataclasses._is_initvar),  # type: ignore[attr-defined]
                 (dataclasses, dataclasses.KW_ONLY, dataclasses._is_kw_only)]  # type: ignore[attr-defined]
    ours = startup._annotation_is_type(dataclasses._MODULE_IDENTIFIER_RE)  # type: ignore[attr-defined]
    theirs = dataclasses._is_type  # type: ignore[attr-defined]
    answers = []
    for mod in (module, bare, shadow):
        sys.modules[mod.__name__] = mod
        try:
            cls = type("C", (), {"__module__": mod.__name__})
            for _ in range(2):
                for annotation in _ANNOTATIONS:
                    for question in questions:
                        answer = theirs(annotation, cls, *question)
                        assert ours(annotation, cls, *question) == answer, (annotation, question)
                        answers.append(answer)
        finally:
            del sys.modules[mod.__name__]
    assert True in answers and False in answers


def test_a_string_classvar_is_no_field_under_the_quick_imports(tmp_path: Path) -> None:
    real = dataclasses._is_type  # type: ignore[attr-defined]
    with startup.cached_generated_code(str(tmp_path / "dc.marshal")):
        assert dataclasses._is_type is not real  # type: ignore[attr-defined]
        module = types.ModuleType("st14_classvar")
        sys.modules[module.__name__] = module
        try:
            exec(textwrap.dedent("""\
                from __future__ import annotations
                import dataclasses
                from typing import ClassVar
                @dataclasses.dataclass
                class D:
                    '''A dataclass with a class variable.'''
                    x: int
                    CALLS: ClassVar[tuple[str, ...]] = ()
                    y: dataclasses.InitVar[int] = 0
                """), module.__dict__)
        finally:
            del sys.modules[module.__name__]
    assert [f.name for f in dataclasses.fields(module.D)] == ["x"]
    assert module.D(1, 2).x == 1  # (y: an InitVar, an argument and no field)
    assert dataclasses._is_type is real  # type: ignore[attr-defined]


# --- libseccomp's programs, kept from start to start (engine/seccomp.py: ProgramCache) --------

def _run_with_caches_in(tmp_path: Path, policy: Path, *, importtime: bool = False
                        ) -> subprocess.CompletedProcess[str]:
    """``systrace -p POLICY -- true`` with its start-up caches in ``tmp_path``."""
    code = textwrap.dedent(f"""\
        import sys
        from systrace_py import importcache
        importcache.cache_path = lambda kind, what="generated-code": f"{tmp_path}/{{what}}.{{kind}}"
        sys.argv[0] = "systrace"
        from systrace_py.__main__ import main
        sys.exit(main())
        """)
    proc = subprocess.run([PYTHON, *(["-X", "importtime"] if importtime else []), "-c", code,
                           "-p", str(policy), "--", "true"],
                          capture_output=True, text=True, timeout=120, env=systrace_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.parametrize("kind", ["paths", "network"])
def test_a_second_start_of_a_policy_imports_no_pyseccomp(tmp_path: Path, kind: str) -> None:
    """The first start compiles the policy's filter with libseccomp and keeps the program; the
    next start of the same policy takes it from there and never imports pyseccomp (nor pays
    libseccomp's compile).  On main's code every start imported it (fails there)."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES[kind]))

    def imports_pyseccomp() -> bool:
        stderr = _run_with_caches_in(tmp_path, policy, importtime=True).stderr
        return any(line.rsplit("|", 1)[1].strip() == "pyseccomp"
                   for line in stderr.splitlines()
                   if line.startswith("import time:") and line.count("|") == 2)

    assert imports_pyseccomp()
    assert not imports_pyseccomp()
    assert (tmp_path / "programs.seccomp").exists()


@pytest.fixture
def program_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A command's start's caches, open (startup._caching), with the programs kept in
    ``tmp_path``: yields a function that closes them (and saves the programs)."""
    import contextlib

    from systrace_py.engine import seccomp

    monkeypatch.setattr(importcache, "cache_path",
                        lambda kind, what="generated-code": f"{tmp_path}/{what}.{kind}")
    stacks: list[contextlib.ExitStack] = []

    def open_caches() -> None:
        stacks.append(contextlib.ExitStack())
        monkeypatch.setattr(startup, "_caching", stacks[-1])

    def close_caches() -> None:
        stacks[-1].close()
        monkeypatch.setattr(startup, "_caching", None)

    open_caches()
    yield open_caches, close_caches
    for stack in stacks:
        stack.close()
    monkeypatch.setattr(seccomp._program_cache, "kept", None)


def _plans() -> list:
    from systrace_py.policy.filterplan import PlanOptions, plan

    return [plan(files.loads_policy(textwrap.dedent(text)).tables(), PlanOptions(
                see_refusals=True, extra=frozenset({"execve", "execveat"})))
            for text in POLICIES.values()]


@pytest.mark.parametrize("pid", [1, 2, 4242, 65535, 65536, 1 << 22])
def test_a_kept_program_is_libseccomps_for_this_tracer(program_cache, pid: int) -> None:
    """What a start takes from the cache, with its own pid put in, is byte for byte what
    libseccomp compiles for it: the program kept by a start of another pid, for each policy."""
    from systrace_py.engine import seccomp

    open_caches, close_caches = program_cache
    plans = _plans()
    kept = [seccomp.compile_filters(p, 31337) for p in plans]  # (compiled, and kept)
    close_caches()
    open_caches()
    served = [seccomp.compile_filters(p, pid) for p in plans]
    close_caches()
    fresh = [seccomp.compile_filters(p, pid) for p in plans]  # (no start: compiled)
    assert served == fresh
    assert served != kept or pid == 31337
    programs = marshal.loads((Path(importcache.cache_path("seccomp", "programs"))).read_bytes())
    assert len(programs[1]) == len(plans)
    # the pid is somewhere in each: the guards of tgkill and rt_tgsigqueueinfo compare with it
    assert all(at for _program, at in programs[1].values())


def test_a_damaged_or_foreign_program_cache_is_ignored(program_cache) -> None:
    from systrace_py.engine import seccomp

    open_caches, close_caches = program_cache
    plan = _plans()[0]
    fresh = seccomp.compile_filters(plan, 4242)
    close_caches()
    path = Path(importcache.cache_path("seccomp", "programs"))
    stamp, programs = marshal.loads(path.read_bytes())
    (rules, (program, at)), = programs.items()
    for damaged in (b"\0garbage", marshal.dumps(((stamp[0], (0, 0, 0)), programs)),
                    marshal.dumps((stamp, {rules: (program[:-3], at)})),
                    marshal.dumps((stamp, {rules: (program, (len(program),))})),
                    marshal.dumps((stamp, {rules: b"not a pair"}))):
        path.write_bytes(damaged)
        open_caches()
        assert seccomp.compile_filters(plan, 4242) == fresh
        close_caches()
        assert marshal.loads(path.read_bytes()) == (stamp, programs)  # (written again)


def test_pid_positions_refuse_programs_of_another_shape() -> None:
    from systrace_py.engine import seccomp

    least = struct_insn(0x15, 0, 1, 1) + struct_insn(0x06, 0, 0, 0x7FFF0000)
    most = struct_insn(0x15, 0, 1, 1 << 22) + struct_insn(0x06, 0, 0, 0x7FFF0000)
    assert seccomp._pid_positions(least, most) == (0,)
    assert seccomp._with_pid(least, (0,), 4242) == struct_insn(0x15, 0, 1, 4242) + least[8:]
    # a jump that moved, a constant that is not the pid, a program of another length
    assert seccomp._pid_positions(least, struct_insn(0x15, 1, 0, 1 << 22) + most[8:]) == ()
    assert seccomp._pid_positions(least, struct_insn(0x15, 0, 1, 7) + most[8:]) == ()
    assert seccomp._pid_positions(least, most + most[8:]) == ()


def struct_insn(code: int, jt: int, jf: int, k: int) -> bytes:
    import struct

    return struct.pack("<HBBI", code, jt, jf, k)


# --- policy texts parsed, kept from start to start (policy/files.py: ParsedDocuments) ----------

def _imports_a_toml_parser(stderr: str) -> bool:
    return any(line.rsplit("|", 1)[1].strip() in ("tomli", "tomllib")
               for line in stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2)


def test_a_second_start_of_a_policy_imports_no_toml_parser(tmp_path: Path) -> None:
    """The first start parses the policy's text and keeps the document; the next start of the
    same text takes it from there and never imports the parser.  A changed text is parsed
    again.  On main's code every start imported it (fails there)."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    assert _imports_a_toml_parser(_run_with_caches_in(tmp_path, policy, importtime=True).stderr)
    assert (tmp_path / "toml.policies").exists()
    assert not _imports_a_toml_parser(
        _run_with_caches_in(tmp_path, policy, importtime=True).stderr)
    policy.write_text(textwrap.dedent(POLICIES["paths"]).replace("/etc/shadow", "/etc/gshadow"))
    assert _imports_a_toml_parser(_run_with_caches_in(tmp_path, policy, importtime=True).stderr)


@pytest.fixture
def document_cache(program_cache, monkeypatch: pytest.MonkeyPatch):
    """:func:`program_cache`, for the parsed policy texts (files.ParsedDocuments)."""
    monkeypatch.setattr(files._document_cache, "kept", None)
    yield program_cache
    monkeypatch.setattr(files._document_cache, "kept", None)


_WITH_A_DATE = 'description = "x"\nwhen = 1979-05-27\n'


def test_a_kept_document_is_the_parsers_and_a_fresh_copy(document_cache) -> None:
    open_caches, close_caches = document_cache
    texts = [textwrap.dedent(text) for text in POLICIES.values()]
    parsed = [files.parse_toml(text) for text in texts]
    assert files.parse_toml(_WITH_A_DATE) == files.tomllib.loads(_WITH_A_DATE)
    close_caches()
    kept = marshal.loads(Path(importcache.cache_path("policies", "toml")).read_bytes())[2]
    assert sorted(kept) == sorted(texts)  # (the one with a date is not kept)
    open_caches()
    served = [files.parse_toml(text) for text in texts]
    assert served == parsed == [files.tomllib.loads(text) for text in texts]
    served[0]["rule"].append("changed")  # (whatever a reader does to its copy)
    assert files.parse_toml(texts[0]) == parsed[0]
    changed = texts[0].replace("/etc/shadow", "/etc/gshadow")
    assert files.parse_toml(changed)["rule"][0]["path"] == "/etc/gshadow"
    close_caches()


def test_the_document_cache_is_the_users_alone(document_cache) -> None:
    """The kept texts are the policies' whole texts, comments and all, beside systrace's
    .pyc files -- a directory every user may read where systrace is installed for all: the
    file is 0600, as a policy saved private is (review 37; 0644 on main, 5f5d26e: root's
    policy texts readable by anyone)."""
    open_caches, close_caches = document_cache
    files.parse_toml(textwrap.dedent(POLICIES["paths"]))
    close_caches()
    path = Path(importcache.cache_path("policies", "toml"))
    assert path.stat().st_mode & 0o777 == 0o600
    open_caches()
    files.parse_toml(textwrap.dedent(POLICIES["network"]))  # (written again: still 0600)
    close_caches()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_damaged_stale_or_foreign_document_cache_is_ignored(document_cache) -> None:
    open_caches, close_caches = document_cache
    text = textwrap.dedent(POLICIES["network"])
    fresh = files.parse_toml(text)
    close_caches()
    path = Path(importcache.cache_path("policies", "toml"))
    form, stamp, documents = marshal.loads(path.read_bytes())
    version, search, name, stamps = stamp
    (where, _was), *rest = stamps
    other = {text: marshal.dumps({"default": "never"})}
    for damaged in (b"\0garbage", marshal.dumps((form + 1, stamp, other)),
                    marshal.dumps((form, (version + "x", search, name, stamps), other)),
                    marshal.dumps((form, (version, (*search, "/x"), name, stamps), other)),
                    marshal.dumps((form, (version, search, name,
                                          ((where, (0, 0, 0, 0, 0)), *rest)), other)),
                    marshal.dumps((form, stamp, {text: b"\0not marshal"})),
                    marshal.dumps((form, stamp, {text: marshal.dumps(["a list"])}))):
        path.write_bytes(damaged)
        open_caches()
        assert files.parse_toml(text) == fresh
        close_caches()
        assert marshal.loads(path.read_bytes()) == (form, stamp, documents)  # (written again)


def test_a_syntax_error_is_the_same_with_the_cache(document_cache) -> None:
    """The parser is imported when a text is parsed: its errors name the line as ever."""
    _open_caches, close_caches = document_cache
    bad = 'default = "permit"\n[[rule]]\ncalls = ["fsread"\n'
    with pytest.raises(files.PolicyError) as cached:
        files.loads_policy(bad)
    close_caches()
    with pytest.raises(files.PolicyError) as plain:
        files.loads_policy(bad)
    assert str(cached.value) == str(plain.value)
    assert str(plain.value).startswith("<string>:3: TOML syntax error")


def test_a_start_with_no_resident_first_imports_the_client_with_the_quick_imports(
        tmp_path: Path) -> None:
    """The native command execs the Python one with --no-resident first once it asked the
    resident tracer itself: then __main__ does not import the client before the quick imports
    (it comes later, from their cache, with the cli).  On main's code it was imported first
    (fails there)."""
    policy = tmp_path / "p.toml"
    policy.write_text(textwrap.dedent(POLICIES["paths"]))
    proc = subprocess.run([PYTHON, "-S", "-X", "importtime", "-m", "systrace_py",
                           "--no-resident", "-p", str(policy), "--", "true"],
                          capture_output=True, text=True, timeout=120,
                          env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    order = [line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2]
    assert order.index("systrace_py.startup") < order.index("systrace_py.resident_client")


def test_the_resident_tracer_imports_the_toml_parser_for_its_workers() -> None:
    """The resident tracer's warm-up imports the TOML parser even when its rehearsal's policy
    text comes parsed from the start's cache: a worker imports no module (tests/cli/
    test_resident.py), and a run's policy text is parsed in the worker."""
    from systrace_py import resident

    parsed = marshal.dumps(files.tomllib.loads(resident._REHEARSAL))
    code = textwrap.dedent(f"""\
        import marshal, sys
        from systrace_py.policy import files
        files.parse_toml = lambda text: marshal.loads({parsed!r})  # (the start's cache)
        from systrace_py import resident
        resident.warm_up()
        print("tomli" in sys.modules or "tomllib" in sys.modules)
        """)
    proc = subprocess.run([PYTHON, "-S", "-c", code], capture_output=True, text=True,
                          timeout=120, env=systrace_env({"PYTHONPATH": without_site_path()}))
    assert proc.stdout.strip() == "True", proc.stderr[-2000:]
