"""The command's start-up (issue 16: under 60 ms to the program's exec): imports with the
collector off, the code dataclasses, namedtuples and typing generate, and the regular
expressions the modules compile, compiled once, not at every start; and modules a plain run
never uses (``inspect``, ``ipaddress``, shutil's compressors...: :data:`DEFERRED`) imported
only if something uses them.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``... and compiles it with ``exec`` when the class is created: ~180
small functions for the ~40 dataclasses a run imports, about a fifth of the instructions of
importing systrace (measured with callgrind: 500 M -> 395 M).  The compiled code depends only
on that source text, so :func:`cached_generated_code` keeps it, keyed by the text, in
systrace's own ``__pycache__`` -- where Python keeps the bytecode of the same modules, with the
same trust: whoever can write there can already replace any ``.pyc``.  Where that directory is
not writable nothing is saved and every start compiles, as before.  ``namedtuple`` (and so
``typing.NamedTuple``) does the same with ``eval`` for each class's ``__new__``: ~20 a run,
6 M instructions of parsing, cached the same way, as is typing's ``compile`` of a string
annotation; and :func:`cached_regexes` does it for ``re.compile``.  Only the command uses this
(``__main__``); importing systrace as a library changes nothing in ``dataclasses``,
``collections``, ``typing`` or ``re``.

``dataclasses`` imports ``inspect`` (and with it ast, dis, opcode: ~3 ms) for one use, the
``__doc__`` of a class that has none, and every dataclass systrace imports has one; ``shutil``
imports three compression modules only to know they exist; systrace's own modules import
``ipaddress`` for the addresses a path policy never sees (:data:`DEFERRED`).  So while the
modules are imported, :func:`deferred` puts a stand-in for each in sys.modules whose every
attribute comes from the real module, imported on that first use; afterwards the name is the
real module's again (importlib's LazyLoader cannot do this: ``import inspect`` itself reads the
module's ``__spec__``, which loads it).
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import importlib
import marshal
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from systrace_py import importcache

#: The cache file of an enforcing run
CACHE = importcache.cache_path("run")


def _load(path: str) -> dict[str, types.CodeType]:
    loaded = importcache.load_whole(path)
    if type(loaded) is not dict:
        return {}
    return {k: v for k, v in loaded.items()
            if type(k) is str and type(v) is types.CodeType}


#: Entries kept from earlier starts when a start saves (it used only some: ``systrace policy``,
#: ``-A`` and enforcing runs import different modules); past this many only the start's own.
MAX_ENTRIES = 2048
#: Key prefixes of ``eval``-mode code (namedtuple's, typing's), apart from ``exec``-mode code
#: (dataclasses')
_EVAL = "\0eval\0"


@contextlib.contextmanager
def cached_generated_code(path: str = CACHE) -> Iterator[None]:
    """While systrace's modules are imported: dataclasses' ``exec`` and namedtuple's ``eval``
    of generated source, and typing's ``compile`` of a string annotation (a NamedTuple's
    field, in a module with ``from __future__ import annotations``), use the code compiled
    for the same text before, compiling (and saving) only what is new.  A start that
    compiles nothing also spares the one-time set-up of the ``ast`` types that the first
    ``compile()`` of a process pays (9 M instructions).  And dataclasses' test of a string
    annotation reads each text once (:func:`_annotation_is_type`)."""
    import collections
    import dataclasses  # here: under deferred() when quick_imports enters both
    import typing

    cache = _load(path)
    used: dict[str, types.CodeType] = {}
    missed = False

    def compiled(key: str, source: str, mode: str) -> types.CodeType:
        nonlocal missed
        code = cache.get(key)
        if code is None:
            # as exec(source) and eval(source) compile it there: file "<string>", no
            # __future__ flags (neither module has any)
            code = compile(source, "<string>", mode, dont_inherit=True)
            missed = True
        used[key] = code
        return code

    def exec_(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        if type(source) is str:
            source = compiled(source, source, "exec")
        builtins.exec(source, globals, locals)

    def eval_(source: Any, globals: Any = None, locals: Any = None, /) -> Any:
        if type(source) is str:
            source = compiled(_EVAL + source, source, "eval")
        return builtins.eval(source, globals, locals)

    def compile_(source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
        # typing.ForwardRef: compile(arg, "<string>", "eval"), nothing else
        if (type(source) is str and filename == "<string>" and mode == "eval"
                and not args and not kwargs):
            return compiled(_EVAL + source, source, "eval")
        return compile(source, filename, mode, *args, **kwargs)

    # each shadows the builtin in that module only
    dataclasses.exec = exec_  # type: ignore[attr-defined]
    collections.eval = eval_  # type: ignore[attr-defined]
    typing.compile = compile_  # type: ignore[attr-defined]
    real_is_type = dataclasses._is_type  # type: ignore[attr-defined]
    dataclasses._is_type = _annotation_is_type(  # type: ignore[attr-defined]
        dataclasses._MODULE_IDENTIFIER_RE)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        dataclasses._is_type = real_is_type  # type: ignore[attr-defined]
        del dataclasses.exec  # type: ignore[attr-defined]
        del collections.eval  # type: ignore[attr-defined]
        del typing.compile  # type: ignore[attr-defined]
        if missed:  # earlier starts' entries too, unless too many (stale ones then drop out)
            merged = {**cache, **used}
            importcache.save_marshalled(path, merged if len(merged) <= MAX_ENTRIES else used)


def _annotation_is_type(identifiers: Any) -> Any:
    """``dataclasses._is_type`` (does a string annotation name ``a_type``: ClassVar, InitVar,
    KW_ONLY?), with each annotation's two identifiers read once: dataclasses asks three
    times for every field of every class (~850 questions, ~150 texts), each a regular
    expression match and its groups -- 6 M instructions of a start (issue 16).  The answer
    is the same function of the same names, looked up in the same namespaces at each
    question (a module's names change while it runs)."""
    parsed: dict[str, tuple[Any, ...]] = {}  # (the groups (module, name); () for no match)

    def is_type(annotation: str, cls: type, a_module: Any, a_type: Any,
                is_type_predicate: Any) -> bool:
        names = parsed.get(annotation)
        if names is None:
            match = identifiers.match(annotation)
            names = parsed[annotation] = match.groups() if match else ()
        if not names:
            return False
        module_name, name = names
        if not module_name:
            # (the class's module did "from dataclasses import InitVar")
            ns = sys.modules.get(cls.__module__).__dict__  # type: ignore[union-attr]
        else:
            module = sys.modules.get(cls.__module__)
            if not (module and module.__dict__.get(module_name) is a_module):
                return False
            ns = sys.modules.get(a_type.__module__).__dict__  # type: ignore[union-attr]
        return bool(ns and is_type_predicate(ns.get(name), a_module))

    return is_type


#: Compiled regular expressions of an enforcing run, per interpreter build (the compiled
#: program's format); each kind of start has its own (:func:`importcache.command_kind`).
RE_CACHE = importcache.cache_path("run", "regexes")


def _load_regexes(path: str, stamp: tuple[str, int]) -> dict[Any, tuple[Any, ...]]:
    loaded = importcache.load_whole(path)
    if type(loaded) is not tuple or len(loaded) != 2 or loaded[0] != stamp \
            or type(loaded[1]) is not dict:
        return {}
    return {k: v for k, v in loaded[1].items()
            if type(k) is tuple and len(k) == 2 and type(k[0]) in (str, bytes)
            and type(k[1]) is int and type(v) is tuple and v and v[0] == k[0]}


def _plain(value: Any) -> Any:
    """``value`` with int subclasses as ints (the compiler's opcodes are named int constants,
    which marshal does not write; the engine reads only their values)."""
    if isinstance(value, int) and type(value) is not bool:
        return int(value)
    if type(value) is list:
        return [_plain(v) for v in value]
    if type(value) is tuple:
        return tuple(_plain(v) for v in value)
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


@contextlib.contextmanager
def cached_regexes(path: str = RE_CACHE) -> Iterator[None]:
    """While systrace's modules are imported: ``re.compile`` of a pattern an earlier start
    compiled hands the program it compiled then to ``_sre.compile``, without parsing the
    pattern again (the parser is Python: the ~25 patterns the modules compile cost 21 M
    instructions).  What ``_sre.compile`` is given is recorded, not recomputed: while this
    runs, the compiler's ``_sre`` is a stand-in that passes everything to the real module
    and keeps the arguments of each compile.  The cache is valid for one interpreter build
    (``sys.version`` and the engine's MAGIC), and trusted as the ``.pyc`` files beside it."""
    import _sre  # type: ignore[import-not-found]  # (no stubs: CPython's regex engine)
    _compiler: Any = importlib.import_module("re._compiler")

    stamp = (sys.version, _sre.MAGIC)
    cache = _load_regexes(path, stamp)
    used: dict[Any, tuple[Any, ...]] = {}
    recorded: list[tuple[Any, ...]] = []
    missed = False
    real = _compiler.compile

    class Recorder:
        """``_sre`` for the compiler: the same, with each compile's arguments kept."""

        def __getattr__(self, name: str) -> Any:
            return getattr(_sre, name)

        @staticmethod
        def compile(*args: Any) -> Any:
            recorded.append(args)
            return _sre.compile(*args)

    def compile_(p: Any, flags: int = 0) -> Any:
        nonlocal missed
        if (type(p) not in (str, bytes) or type(flags) is not int
                or flags & _compiler.SRE_FLAG_DEBUG):
            return real(p, flags)  # a parsed pattern, a flag type of its own, or re.DEBUG
        key = (p, flags)
        args = cache.get(key)
        if args is not None:
            used[key] = args
            return _sre.compile(*args)
        recorded.clear()
        compiled = real(p, flags)
        if len(recorded) == 1 and recorded[0][0] == p:
            args = _plain(recorded[0])
            try:
                marshal.dumps(args)
            except ValueError:
                return compiled
            used[key] = args
            missed = True
        return compiled

    _compiler._sre = Recorder()
    _compiler.compile = compile_
    try:
        yield
    finally:
        _compiler._sre = _sre
        _compiler.compile = real
        if missed:  # earlier starts' entries too, unless too many (stale ones then drop out)
            merged = {**cache, **used}
            importcache.save_marshalled(path, (stamp, merged if len(merged) <= MAX_ENTRIES
                                               else used))


#: Modules the imports pull in for a later use that a plain enforcing run never makes (or
#: makes only for some policies), each with the extension module its real import needs (None:
#: always there).  Each is imported at its first use, wherever that is (:func:`deferred`).
DEFERRED: dict[str, str | None] = {
    # dataclasses: the __doc__ of a class that has none (every dataclass systrace imports has
    # one); with it ast, dis, opcode, tokenize: ~3 ms
    "inspect": None,
    # dataclasses: deepcopy, for asdict() and astuple(); with it weakref
    "copy": None,
    # shutil (argparse's help formatter, for the terminal's width; `which`): only to know
    # whether its archive formats are available
    "bz2": "_bz2", "lzma": "_lzma", "zlib": "zlib",
    # addresses: network rules, and the engine's decoding of an address (5 M instructions)
    "ipaddress": None,
    # the engine: probing protection keys, a tracer waiting for an answer, a policy file's
    # line numbers (an error message)
    "mmap": "mmap", "select": "select", "bisect": None,
}


def _loadable(extension: str | None) -> bool:
    return (extension is None or extension in sys.builtin_module_names
            or importcache.findable(extension))


@contextlib.contextmanager
def deferred(modules: dict[str, str | None] = DEFERRED) -> Iterator[None]:
    """While importing: ``import NAME`` gives a stand-in that imports the real module on its
    first attribute access and from then on holds the real module's names (so what imported
    the stand-in pays the detour once); afterwards ``import NAME`` is the real module again.
    A module is deferred only if its real import would succeed (its extension can be found),
    so ``try: import bz2`` still tells a Python built without it."""
    with standing_in({name: _stand_in(name) for name, extension in modules.items()
                      if name not in sys.modules and _loadable(extension)}):
        yield


@contextlib.contextmanager
def standing_in(stand_ins: Mapping[str, types.ModuleType]) -> Iterator[None]:
    """``stand_ins`` in sys.modules while the body imports (what imports a name then gets
    its stand-in: :func:`deferred`, engine/native.py's ``lazy_names``, the TOML parser's
    datetime in policy/files.py); afterwards each name is free again -- a stand-in is taken
    out only if it is still there, for a real module that took its place meanwhile (the
    stand-in's first use imports it) is everyone's from then on."""
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def _stand_in(name: str) -> types.ModuleType:
    stand_in = types.ModuleType(name, f"the real {name}, imported on first use")

    def __getattr__(attr: str) -> Any:  # PEP 562: every attribute is the real module's
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        real = importlib.import_module(name)
        stand_in.__dict__.update(vars(real))
        return getattr(real, attr)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    return stand_in


#: The start-up caches of a command's start, open from its quick imports until the traced
#: program starts (:func:`caching_ends`); None when none are open (a library's import)
_caching: contextlib.ExitStack | None = None


@contextlib.contextmanager
def quick_imports(kind: str = "run") -> Iterator[None]:
    """Import with the collector off (nothing imported is garbage, and collecting the young
    objects of ~100 imports costs ~7 ms), then freeze what was imported (never scanned again:
    the stop loop's collections skip the modules) and turn the collector back on.  ``kind``:
    the start's (:func:`importcache.command_kind`), whose caches of generated code and regular
    expressions it reads.

    The caches, and the collector's rest, last past the imports, until the traced program
    starts (:func:`caching_ends`, from the session runner): what the policy's load imports
    on first use (the generalizer for a learned rule, the network rules' module) and the
    patterns it compiles come from them too -- a learned policy's load imported and compiled
    all of that afresh at every start, ~5 ms (issue 16); and what the start made (the
    policy, its index, the filters) lives as long as the run."""
    global _caching
    gc.disable()
    caching = contextlib.ExitStack()
    _caching = caching
    caching.callback(gc.enable)
    caching.callback(gc.freeze)
    caching.callback(importcache.end)  # (__main__ started it: the modules' file)
    try:
        with deferred():
            # (entered under deferred(): cached_generated_code imports dataclasses, which
            # would import inspect)
            caching.enter_context(cached_generated_code(importcache.cache_path(kind)))
            caching.enter_context(cached_regexes(importcache.cache_path(kind, "regexes")))
            yield
    except BaseException:
        caching_ends()
        raise


_Kept = TypeVar("_Kept", bound=importcache.KeptEntries)


class KeptForStart(Generic[_Kept]):
    """A module's :class:`importcache.KeptEntries` for the command's start (engine/seccomp.py's
    programs, policy/files.py's parsed texts): made at its first use while the start's
    caches are open (``make``; None when this start keeps none, asked again at the next
    use), saved and dropped when they close (:func:`caching_ends`: its save a callback of
    theirs).  Calling it gives the open one, or None -- a library's process, or the start's
    caches closed (the program has started)."""

    def __init__(self, make: Callable[[], _Kept | None]) -> None:
        self.make = make
        #: the open one (None: none yet, or closed)
        self.kept: _Kept | None = None

    def __call__(self) -> _Kept | None:
        caching = _caching
        if caching is None:
            return None
        if self.kept is None:
            self.kept = self.make()
            if self.kept is None:
                return None
            caching.callback(self._close)
        return self.kept

    def _close(self) -> None:
        kept, self.kept = self.kept, None
        if kept is not None:
            kept.save()


def caching_ends() -> None:
    """The start-up caches closed (what was new saved) and the builtins they stood in for
    given back, then what the start made frozen and the collector on again, if a command's
    start opened them (:func:`quick_imports`): before the traced program runs, so that what
    the run later compiles (an answer's prompt, a log's records) neither waits for the cache
    nor grows it.  Idempotent; nothing to do in a library's process."""
    global _caching
    caching, _caching = _caching, None
    if caching is not None:
        caching.close()
