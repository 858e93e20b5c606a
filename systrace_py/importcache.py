"""The command's modules from one file (issue 16: start-up): the code of every module a kind of
start imports (:func:`command_kind`), kept in one marshalled file beside the start-up caches
and served by a finder placed just before importlib's path finder.

A start imports ~100 source modules and ~10 extension modules, and importlib pays for each:
the path finder asks every ``sys.path`` entry (a ``FileFinder``, its directory listing, the
candidate suffixes), makes a spec and a loader, stats the source, opens, reads and validates
the ``.pyc`` -- ~5-6 ms of the ~45 ms of imports (measured), beside unmarshalling and running
the modules' bodies.  Here a start reads one file's index, stats each source and each
directory the path finder would have searched, and unmarshals each module's code read from
the file (an extension module's spec only: importlib's loader loads the library it names).

An entry can never be stale: it is served only if ``sys.path`` (or the package's
``__path__``) is the one it was found on, and every file and directory that decided what
importlib found then -- the module's source, every directory searched up to the one that
held it, a directory of the module's name in any of them (a namespace portion that an
``__init__.py`` would turn into a package; a package's own, where an ``__init__`` of an
extension suffix would come before its ``__init__.py``) -- has the same inode, size, mtime
and ctime (ctime: a write, an ``os.utime`` or a rename over it changes it, and no call
sets it back).  Then importlib's own search would find the same file with the same
contents, and what the entry holds is what importlib gave for that file (``get_code``: the
``.pyc`` or a compile).
Otherwise the module is importlib's, as without this, and the file is written again with it
when the start's caches close (startup.caching_ends).  Builtin and frozen modules, and
anything a finder before the path finder serves, are untouched.  The file is
trusted as the ``.pyc`` files beside it: whoever can write there can already replace any
``.pyc``.

This module imports nothing but what a bare interpreter has already imported: it runs before
everything it serves (``__main__``, before ``contextlib``, ``typing``, ``startup``...).
"""

from __future__ import annotations

import marshal
import os
import sys

# (importlib's own, frozen into the interpreter and imported at its start: ``importlib.util``
# would import contextlib, functools, collections, warnings...)
from _frozen_importlib_external import (
    MAGIC_NUMBER,
    ExtensionFileLoader,
    PathFinder,
    SourceFileLoader,
    spec_from_file_location,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType
    from typing import Any, TypeAlias

    #: (inode, device, size, mtime ns, ctime ns) of a file or directory; None: none there
    Stamp: TypeAlias = tuple[int, int, int, int, int] | None
    #: A module as found on a search path: (its name, the search path)
    Key: TypeAlias = tuple[str, tuple[str, ...]]
    #: What was found: (its file, a package?, the stamps that decide it (path, stamp)...,
    #: where its code is in the file (offset, length))
    Entry: TypeAlias = tuple[str, bool, tuple[tuple[str, Stamp], ...], tuple[int, int]]


def cache_path(kind: str, what: str = "generated-code") -> str:
    """The cache file of one kind of start (:func:`command_kind`): per interpreter (the
    bytecode's format), next to systrace's own .pyc files."""
    return os.path.join(os.path.dirname(__file__), "__pycache__",
                        f"{what}.{kind}.{sys.implementation.cache_tag}.marshal")


def save_whole(path: str, chunks: Sequence[bytes], mode: int = 0o644) -> None:
    """Write a start-up cache whole under a temporary name (``O_EXCL``: no link followed),
    then rename it into place: a reader sees the old file or the new one.  Any failure
    leaves things as they were (no cache).  The one writer of every start-up cache (this
    module's and :mod:`startup`'s).  ``mode``: 0600 for a cache that holds what the user's
    own files say (the policy texts: files.ParsedDocuments) -- not for every reader of the
    directory it lies in."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.writelines(chunks)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:  # (no contextlib: not imported yet when this module is)
            return


def load_whole(path: str) -> object:
    """What a start-up cache file holds (marshalled, written whole: :func:`save_whole`), or
    None when it cannot be read or unmarshalled (no cache).  ``marshal.loads`` of the whole
    file, not ``marshal.load(f)``: load reads a file object piece by piece through its Python
    methods, 55 M instructions for startup's cache against 6 M."""
    try:
        with open(path, "rb") as f:
            return marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None


def save_marshalled(path: str, value: Any, mode: int = 0o644) -> None:
    """:func:`save_whole` of ``value`` marshalled; nothing when marshal cannot write it (no
    cache, as for any failure)."""
    try:
        data = marshal.dumps(value)
    except ValueError:
        return
    save_whole(path, [data], mode)


class KeptEntries:
    """What earlier starts of the command made, each entry by the exact thing it was made
    from (a policy's text, a filter's rules): one marshalled file beside the other start-up
    caches (:func:`cache_path`), ``(*head, entries)``, trusted as they and the ``.pyc`` files
    there are.  The file is read only while its head holds (:meth:`holds`: its layout and
    what the entries were made with), each entry only when it is well formed
    (:meth:`well_formed`) and served only as :meth:`served` makes it; a damaged, stale or
    unwritable file costs the work an entry saves, never another entry.  Open in a
    command's start only, from its first use to the end of its caches
    (startup.caching_ends), which :meth:`save`: the entries the start used or made, and
    those of earlier starts while they are no more than :attr:`most`."""

    #: entries kept from earlier starts when a start saves; past this many, only its own
    most = 32
    #: the file's mode: 0600 for what the user's own files say
    mode = 0o644

    def __init__(self, path: str) -> None:
        self.path = path
        self.kept: dict[Any, Any] = {}
        self.used: dict[Any, Any] = {}
        self.new = False
        loaded = load_whole(path)
        if type(loaded) is tuple and loaded and self.holds(loaded[:-1]) \
                and type(loaded[-1]) is dict:
            self.kept = {key: entry for key, entry in loaded[-1].items()
                         if self.well_formed(key, entry)}

    def holds(self, head: tuple[Any, ...]) -> bool:
        """Whether a file of this head was made as this start would make it."""
        raise NotImplementedError

    def head(self) -> tuple[Any, ...] | None:
        """The head of the file this start writes (None: it writes none)."""
        raise NotImplementedError

    def well_formed(self, key: Any, entry: Any) -> bool:
        """Whether an entry read from the file is one this cache makes."""
        raise NotImplementedError

    def served(self, entry: Any) -> Any:
        """What a kept entry gives its reader (None: nothing, the work is done again)."""
        return entry

    def get(self, key: Any) -> Any:
        entry = self.kept.get(key)
        if entry is None:
            return None
        served = self.served(entry)
        if served is not None:
            self.used[key] = entry
        return served

    def put(self, key: Any, entry: Any) -> None:
        self.used[key] = entry
        self.new = True

    def save(self) -> None:
        """Write the file again if this start made an entry it did not hold."""
        if not self.new:
            return
        head = self.head()
        if head is None:
            return
        merged = {**self.kept, **self.used}
        save_marshalled(self.path, (*head, merged if len(merged) <= self.most else self.used),
                        self.mode)


def command_kind(args: Sequence[str]) -> str:
    """Which caches (modules, generated code, regular expressions) a start reads: "policy"
    (``systrace policy``), "resident" (the resident tracer's server), "learn" (``-A`` before
    the command) or "run".  Each imports other modules, and one cache for all held every
    kind's entries: after a ``-A`` run an enforcing start unmarshalled 343 kB of code where
    its own are 250 kB, and 32 kB of regular expressions where its own are 13 kB (+2 M
    instructions, issue 16).  A guess from the words, before the arguments are parsed: a
    wrong one costs a slower start, never a wrong answer (every entry is keyed by what it
    was made from)."""
    if args[:1] == ["policy"]:
        return "policy"
    options = args[:args.index("--")] if "--" in args else args
    if any(arg.startswith("--resident") for arg in options):
        return "resident"  # (its warm-up imports what every kind of run imports)
    return "learn" if "-A" in options else "run"


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


#: The file's layout (another layout's file is not read); 3: a package's entry stamps its
#: own directory (an older file's entries, kept from start to start, did not); 4: the index
#: in one section per search path, each unmarshalled when a start first searches that path
FORMAT = 4


def _header() -> tuple[object, ...]:
    """What else decides what importlib finds and loads: the bytecode's format and
    optimisation level, and the path hooks (which finder each ``sys.path`` entry gets)."""
    return (FORMAT, MAGIC_NUMBER, sys.flags.optimize, sys.implementation.cache_tag,
            tuple(f"{getattr(hook, '__module__', '')}.{getattr(hook, '__qualname__', '')}"
                  for hook in sys.path_hooks))


#: Entries kept from earlier starts when a start writes the file; past this many, only the
#: start's own
MAX_ENTRIES = 1024


class ModuleFile:
    """The finder: on ``sys.meta_path`` just before importlib's path finder from
    :func:`start` to :func:`end`.

    The file: the index's length (8 bytes), the index marshalled (:func:`_header`, then
    for each search path its section: that path's entries, by module name, marshalled on
    their own), then the modules' code, each read alone (``os.pread``) when the module is
    imported.  A start unmarshals only the sections of the paths it searches: the file keeps
    the entries of other search paths' starts (``python -m``, the console script, the test
    suite's), and a start that read them all paid for every one of them (an index of 412
    entries on 22 search paths after a run of the tests, where a start uses ~100 on ~10:
    +4 M instructions, ~1 ms, at every start; start25).  Reading the whole file into
    memory (2.8 MB for an enforcing run) cost more than it saved: ~3.7 ms of fresh pages,
    where importlib's reads of one ``.pyc`` at a time reuse the same few."""

    def __init__(self, path: str) -> None:
        self.path = path
        #: search path -> its section, marshalled (unread), or its entries by name (read)
        self.sections: dict[tuple[str, ...], bytes | dict[str, Entry]] = {}
        self.fd = -1
        self.base = 0  # (where the code starts)
        self.size = 0  # (the file's)
        self.stamps: dict[str, Stamp | bool] = {}
        #: modules importlib found (not served from here): name -> the search path then
        self.missed: dict[str, tuple[str, ...]] = {}
        #: the entries served
        self.served: set[Key] = set()
        #: False: a standard descriptor is closed (this file would have taken its number,
        #: and the command's own check of them, cli.standard_streams, would miss it)
        self.usable = True
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            if self.fd < 3:
                self.close()
                self.usable = False
                return
            self.size = os.fstat(self.fd).st_size
            size = int.from_bytes(os.pread(self.fd, 8, 0), "little")
            if size > self.size - 8:
                raise ValueError("not this file's index")
            header, sections = marshal.loads(os.pread(self.fd, size, 8))
            self.base = 8 + size
            if header == _header() and type(sections) is dict:
                self.sections = sections
        except (OSError, EOFError, ValueError, TypeError, MemoryError):
            pass

    def _section(self, search: tuple[str, ...]) -> dict[str, Entry]:
        """The entries found on ``search``, by module name: its section of the index,
        unmarshalled at the first search of that path ({}: none, or not one)."""
        section = self.sections.get(search)
        if type(section) is dict:
            return section
        entries: Any = {}
        if type(section) is bytes:
            try:
                entries = marshal.loads(section)
            except (EOFError, ValueError, TypeError):
                entries = {}
            if type(entries) is not dict:
                entries = {}
        if section is not None:
            self.sections[search] = entries
        return entries  # type: ignore[no-any-return]

    def _current(self, stamps: tuple[tuple[str, Stamp], ...]) -> bool:
        for path, stamp in stamps:
            now: Stamp | bool = self.stamps.get(path, False)
            if now is False:
                now = self.stamps[path] = _stamp(path)
            if now != stamp:
                return False
        return True

    def _code(self, entry: Entry) -> bytes | None:
        """The entry's code as the file holds it (None: the file is shorter, or the entry
        is not one: a damaged file is importlib's to serve, never an error)."""
        try:
            origin, package, stamps, (offset, length) = entry
            if type(origin) is not str or type(package) is not bool \
                    or type(stamps) is not tuple or type(offset) is not int \
                    or type(length) is not int or not 0 <= offset <= offset + length \
                    or self.base + offset + length > self.size:
                return None
            code = os.pread(self.fd, length, self.base + offset)
        except (OSError, TypeError, ValueError, OverflowError):
            return None
        return code if len(code) == length else None

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        search = tuple(sys.path if path is None else path)
        entry = self._section(search).get(name)
        code = None if entry is None else self._code(entry)
        try:
            if code is not None and not self._current(entry[2]):  # type: ignore[index]
                code = None
        except (TypeError, ValueError):  # (stamps that are not (path, stamp) pairs)
            code = None
        if entry is None or code is None:
            self.missed[name] = search
            return None
        self.served.add((name, search))
        served: bytes = code
        origin, package = entry[0], entry[1]
        locations = [os.path.dirname(origin)] if package else None
        if _loader(origin) is ExtensionFileLoader:
            return spec_from_file_location(name, origin,
                                           loader=ExtensionFileLoader(name, origin),
                                           submodule_search_locations=locations)
        loader = SourceFileLoader(name, origin)

        def get_code(fullname: str) -> CodeType:
            # (once: then the loader is importlib's own again, without the bytes)
            del loader.get_code  # type: ignore[method-assign]
            try:
                return marshal.loads(served)  # type: ignore[no-any-return]
            except (EOFError, ValueError, TypeError, MemoryError):  # (damaged: importlib's)
                return loader.get_code(fullname)  # type: ignore[return-value]

        loader.get_code = get_code  # type: ignore[method-assign]
        return spec_from_file_location(name, origin, loader=loader,
                                       submodule_search_locations=locations)

    def save(self) -> None:
        """Write the file again with the modules importlib found meanwhile, if any can be
        served next time; under a temporary name renamed into place (a reader sees the old
        file or the new one); any failure leaves it as it was."""
        new: dict[Key, tuple[Entry, bytes]] = {}
        for name, search in self.missed.items():
            made = _entry(name, search)
            if made is not None:
                new[name, search] = made
        if not new:
            return
        # earlier starts' entries too (another search path's: the console script's and
        # ``python -m``'s differ), unless too many: then this start's only
        entries = {(name, search): entry for search in list(self.sections)
                   for name, entry in self._section(search).items()}
        keep = entries.keys() - new.keys()
        if len(keep) + len(new) > MAX_ENTRIES:
            keep &= self.served
        kept = {}
        for key in keep:
            entry = entries[key]
            code = self._code(entry)
            if code is not None and _well_formed(key, entry):
                kept[key] = (entry, code)
        sections: dict[tuple[str, ...], dict[str, Entry]] = {}
        codes: list[bytes] = []
        offset = 0
        shared: dict[Any, Any] = {}  # (equal paths written once in a section)
        for (name, search), (entry, code) in {**kept, **new}.items():
            stamps = tuple((shared.setdefault(p, p), stamp) for p, stamp in entry[2])
            sections.setdefault(search, {})[name] = (
                entry[0], entry[1], stamps,
                (offset, len(code)))  # (from the code's start, after the index)
            codes.append(code)
            offset += len(code)
        head = marshal.dumps((_header(), {search: marshal.dumps(section)  # type: ignore[arg-type]
                                          for search, section in sections.items()}))
        save_whole(self.path, [len(head).to_bytes(8, "little"), head, *codes])

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _well_formed(key: Any, entry: Any) -> bool:
    """Whether an entry read from the file can be written again (its code was read)."""
    return (type(key) is tuple and len(key) == 2 and type(key[0]) is str
            and type(key[1]) is tuple and all(type(d) is str for d in key[1])
            and all(type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str
                    for pair in entry[2]))


def _entry(name: str, search: tuple[str, ...]) -> tuple[Entry, bytes] | None:
    """The entry of what importlib's path finder finds for ``name`` on ``search`` now, and
    its code marshalled (an extension module's: none), or None if it cannot be one (nothing
    found, not a source or extension module's file, a relative search path before it)."""
    spec = PathFinder.find_spec(name, list(search))
    if spec is None or type(spec.loader) not in (SourceFileLoader, ExtensionFileLoader) \
            or not spec.has_location or type(spec.origin) is not str:
        return None
    origin = spec.origin
    package = spec.submodule_search_locations is not None
    held_in = os.path.dirname(os.path.dirname(origin) if package else origin)
    if held_in not in search:
        return None
    searched = search[:search.index(held_in) + 1]
    if not all(type(d) is str and os.path.isabs(d) for d in searched):
        return None  # (a relative entry is another directory in another cwd)
    tail = name.rpartition(".")[2]
    stamps: list[tuple[str, Stamp]] = []
    for directory in searched:
        stamps.append((directory, _stamp(directory)))
        portion = os.path.join(directory, tail)
        if os.path.isdir(portion):  # (a package's own too: review 15)
            stamps.append((portion, _stamp(portion)))
    stamps.append((origin, _stamp(origin)))
    # found again after the stamps, with the finders' listings read afresh: what the entry
    # holds is no older than its stamps (a change since makes them differ next time)
    for directory in searched:  # (not PathFinder.invalidate_caches: 3.12's imports metadata)
        invalidate = getattr(sys.path_importer_cache.get(directory), "invalidate_caches", None)
        if invalidate is not None:
            invalidate()
    spec = PathFinder.find_spec(name, list(search))
    if stamps[-1][1] is None or spec is None or spec.origin != origin \
            or type(spec.loader) is not _loader(origin):
        return None
    if type(spec.loader) is ExtensionFileLoader:
        return (origin, package, tuple(stamps), (0, 0)), b""
    try:
        code = spec.loader.get_code(name)  # type: ignore[union-attr]
    except (ImportError, OSError, SyntaxError, ValueError):
        return None
    return (origin, package, tuple(stamps), (0, 0)), marshal.dumps(code)


def _loader(origin: str) -> type:
    """The loader importlib's file finder gives a file of this name (by its suffix)."""
    return SourceFileLoader if origin.endswith(".py") else ExtensionFileLoader


#: The finder of the command's start, from :func:`start` to :func:`end`
_finder: ModuleFile | None = None


def findable(name: str) -> bool:
    """Whether importlib's path finder would find the top-level module ``name`` (asked of
    the start's finder first, which knows what it found before: startup.deferred asks this
    of extension modules it never imports, each a search of every ``sys.path`` entry)."""
    finder = _finder
    if finder is not None and finder.find_spec(name) is not None:
        return True
    return PathFinder.find_spec(name) is not None


def start(kind: str) -> None:
    """Serve this kind of start's modules from its file, until :func:`end`."""
    global _finder
    if _finder is not None:
        return
    finder = ModuleFile(cache_path(kind, "modules"))
    if not finder.usable:
        return
    _finder = finder
    meta_path = sys.meta_path
    at = meta_path.index(PathFinder) if PathFinder in meta_path else len(meta_path)
    meta_path.insert(at, finder)  # type: ignore[arg-type]


def end() -> None:
    """The finder off ``sys.meta_path`` and the file written again if the start imported
    modules it did not hold.  Idempotent."""
    global _finder
    finder, _finder = _finder, None
    if finder is None:
        return
    if finder in sys.meta_path:  # type: ignore[comparison-overlap]
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
    finder.save()
    finder.close()
