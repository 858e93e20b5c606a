"""The one generalizer: from paths a program used to the globs a person would write.

No ptrace; the file system and the environment are read only to place the sensitive
locations (where ``/home`` and ``/root`` really are, and those the environment moves:
:func:`relocated_sensitive`, resolved -- paths are matched resolved).  The learner
(:mod:`systrace_py.policy.learn`), the ASK prompt's offers (:mod:`systrace_py.ui.offers`) and
the review of a learned policy (``systrace policy review``) all widen paths through this
module, so a rule reads the same whoever wrote it and the same locations are never widened
into:

* :class:`PathWriter` writes a literal path as glob text, below ``$CWD``, ``~`` or ``$TMPDIR``
  with the variable (a policy learned in one project directory holds in another);
* :func:`generated_name` tells a generated name (``mkstemp``'s 6 letters and digits, Python's
  ``tempfile``'s 8, pip's build directories, pids and counters) from an ordinary one, by its
  shape and by what the run did with it (:class:`Evidence`), and gives the glob that matches
  every name of the same template;
* :data:`CATEGORIES` are the well-known read-only sets a program reads part of today and
  another part tomorrow (shared libraries, system headers, locale data...), each a list of
  roots, completed by what learning found on the running system (:class:`SystemFacts`);
* :func:`scopes` is the ladder of patterns for a set of paths, narrowest first (the paths
  themselves, their generated names, their extension, their directory, their tree, ``$CWD``,
  ``~``): the prompt offers it and the review narrows and widens along it;
* sensitive locations (``~/.ssh``, ``/etc/shadow``...) are never widened into or across.
"""

from __future__ import annotations

import enum
import functools
import re
import string
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from systrace_py.policy.argv import escape_argv
from systrace_py.policy.glob import Expansions, GlobError, PathGlob, escape
from systrace_py.policy.levels import GENERALIZE_LEVELS
from systrace_py.policy.sensitive import (
    HOME_SENSITIVE,
    RUNS_LATER,
    RUNS_LATER_NAMES,
    SYSTEM_SENSITIVE,
    LearnedGlob,
    _absolute,
    components,
    covers_sensitive,
    is_sensitive,
    learned_glob,
    planted_at,
    plants,
    reaches_runs_later,
    reaches_sensitive,
    runs_later,
    writes,
)

__all__ = [
    "BASE36_DIGIT",
    "CATEGORIES",
    "CATEGORY_KEYS",
    "COUNTER_GROWTH",
    "FANOUT",
    "GENERALIZE_LEVELS",
    "HASH_NAME",
    "HEX_DIGIT",
    "HOME_SENSITIVE",
    "PATH_ALTERNATIVES",
    "RUNS_LATER",
    "RUNS_LATER_NAMES",
    "SYSTEM_SENSITIVE",
    "Category",
    "Evidence",
    "LearnedGlob",
    "PathWriter",
    "Scope",
    "SystemFacts",
    "brace_alternatives",
    "category_pattern",
    "category_roots",
    "compact",
    "components",
    "covers_runs_later",
    "covers_sensitive",
    "epoch_stamps",
    "escape_argv",
    "exact_pattern",
    "generated_name",
    "hash_glob",
    "hex_shape",
    "holds_pid",
    "in_category",
    "is_library",
    "is_sensitive",
    "is_shared_library",
    "join",
    "learned_glob",
    "number_shape",
    "planted_at",
    "plants",
    "pseudo_kind",
    "pseudo_pattern",
    "reaches_runs_later",
    "reaches_sensitive",
    "runs_later",
    "scopes",
    "shaped_glob",
    "split_ext",
    "writes",
    "written_glob",
]


# ---------------------------------------------------------------------------------------------
# Writing paths


class PathWriter:
    """Literal paths as glob text: below ``$CWD``, ``~`` or ``$TMPDIR`` written with the
    variable (the longest directory wins: a ``$CWD`` inside the home directory is ``$CWD``),
    unless ``variables`` is off (``--generalize none``: the policy describes this run)."""

    def __init__(self, expansions: Expansions, variables: bool = True) -> None:
        self.expansions = expansions
        self.home = _absolute(expansions.home)
        self.cwd = _absolute(expansions.cwd)
        tmp = _absolute(expansions.tmpdir)
        prefixes: list[tuple[str, str]] = []
        if variables:
            if self.cwd and len(components(self.cwd)) >= 2 and self.cwd != self.home:
                prefixes.append((self.cwd, "$CWD"))
            if self.home and components(self.home):
                prefixes.append((self.home, "~"))
            if tmp and components(tmp):
                prefixes.append((tmp, "$TMPDIR"))
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))
        #: where temporary files are made
        self.tmpdirs = frozenset({"/tmp", "/var/tmp", "/dev/shm"} | ({tmp} if tmp else set()))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None, variables: bool = True) -> PathWriter:
        return cls(Expansions.from_env(env), variables)

    def text(self, literal_path: str, parts: Sequence[str] | None = None, tail: str = "",
             expand: bool = True) -> str:
        """The path as glob text.  ``parts``: per component, glob text already escaped (a
        component only a variable's directory may hold stays literal there); ``tail``: glob
        text after the path (``/*``, ``/**``)."""
        comps = components(literal_path)
        escaped = [escape(c) for c in comps]
        if parts is None:
            parts = escaped
        if expand:
            for directory, variable in self.prefixes:
                dcomps = components(directory)
                if comps[:len(dcomps)] == dcomps and list(parts[:len(dcomps)]) == \
                        escaped[:len(dcomps)]:
                    return variable + "".join("/" + p for p in parts[len(dcomps):]) + tail
        return "/" + "/".join(parts) + tail if parts else "/" + tail.lstrip("/")

    def glob(self, text: str) -> PathGlob:
        return PathGlob(text, expansions=self.expansions)


# ---------------------------------------------------------------------------------------------
# Generated names


class Evidence(enum.IntEnum):
    """What a run showed about a name, besides its shape."""

    NONE = 0       # seen (asked about, read): the shape alone
    CREATED = 1    # the run made it
    TEMPORARY = 2  # the run made it to be new (O_EXCL, mkdir) in a temporary directory, or
    #                made it so and removed or renamed it: a temporary file's life


def split_ext(name: str) -> tuple[str, str]:
    """``name`` as (stem, ".ext") for a short alphanumeric extension, else (name, "")."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 5 and ext.isalnum():
        return stem, "." + ext
    return name, ""


_TEMPFILE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")   # Python's tempfile
_MKSTEMP = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HEX_LOWER = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")
_HEX_ANY = _HEX_LOWER | _HEX_UPPER
_BASE36 = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
#: Perl's File::Temp's alphabet, its ``@CHARS``: letters of both cases, digits and ``_``
_PERL_TEMP = frozenset(string.ascii_letters + string.digits + "_")
#: File::Temp's default template, ``TEMPXXX``: 10 X's, the whole name (tempfile(), tempdir())
_PERL_DEFAULT = 10
#: File::Temp templates of Perl programs, a prefix and 6 X's: autoconf's ``mktmpdir`` (its
#: Autom4te::General: ``tempdir(SIGNATURE . "XXXXXX")``) for autom4te, autoheader,
#: autoreconf and autoupdate -- ``/tmp/am4tT8GzhX`` is 10 long, as a default name is
_PERL_TEMPLATES = (("am4t", 6), ("ah", 6), ("ar", 6), ("au", 6))
#: Generators whose prefix is theirs alone: (prefix, length of the random run, its letters).
#: Python's tempfile ("tmp" by default, 8 of [a-z0-9_]), multiprocessing ("pymp-") and pip
#: ("pip-KIND-": pip-build-env-, pip-unpack-...); mkstemp templates of gcc ("cc"), git
#: ("tmp_obj_"...), bash here-documents ("sh-thd."), mktemp(1) ("tmp." and 10), Rust's
#: tempfile crate (".tmp" and 6) and rustc's use of it ("rmeta", "rustc").
_TEMPLATES: tuple[tuple[re.Pattern[str], int, frozenset[str]], ...] = tuple(
    (re.compile(head), length, alphabet) for head, length, alphabet in (
        ("tmp", 8, _TEMPFILE), ("pymp-", 8, _TEMPFILE), (r"pip-[a-z]+(?:-[a-z]+)*-", 8, _TEMPFILE),
        ("tmp", 6, _MKSTEMP), ("cc", 6, _MKSTEMP), ("tmp_(?:obj|pack|idx)_", 6, _MKSTEMP),
        (r"sh-thd[.-]", 6, _MKSTEMP), (r"tmp\.", 10, _MKSTEMP),
        # Rust's tempfile crate (".tmp" and 6), rustc's directories made with it
        (r"\.tmp", 6, _MKSTEMP), ("rmeta", 6, _MKSTEMP), ("rustc", 6, _MKSTEMP)))
#: Generators whose random parts start a name that goes on after them: (the start, its
#: glob).  rustc's incremental session directories and their locks ("s-", the session's time
#: in base 36 and a random number; then "-working",
#: ".lock" or "-" and the crate's hash), cmake's try-compile files ("cmTC_" and 5 hex digits,
#: then "_loc", ".dir"...).  What follows is generalized as a name of its own.
_PREFIX_TEMPLATES: tuple[tuple[re.Pattern[str], str], ...] = (
    # (a letter in the time, a digit in the time or the random number: the time is letters
    # only 1 time in 7 this decade -- "s-hospgejhbg-1t59foy", learned literally, and the
    # next build was refused its lock: learn18)
    (re.compile(r"s-(?=[0-9]*[a-z])(?=[a-z]*[0-9]|[0-9a-z]+-[a-z]*[0-9])"
                r"[0-9a-z]{8,14}-[0-9a-z]{5,9}(?=$|[-.])"), "s-*-*"),
    (re.compile(r"cmTC_[0-9a-f]{5}(?=$|[._])"), "cmTC_*"))
#: a finished rustc session's crate hash ("-" and base 36)
_CRATE_HASH = re.compile(r"-[0-9a-z]{10,}")
#: Generators whose random part ends a name or comes before a suffix of theirs, and its glob:
#: rustc's codegen units (CRATE-HASH.UNIT.RANDOM.rcgu.o: the random part is the session's,
#: in base 36), cmake's temporary files
_SUFFIX_TEMPLATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.[0-9a-z]{5,9}(?=\.rcgu\.o$)"), ".*"),
    # cmake's files written beside their name (cmGeneratedFileStream: ".tmp" and 5 hex
    # digits; by shape alone the one in 135 of letters only, "CMakeCache.txt.tmpbfacc",
    # was kept literally: a configure writes ~40, and its next run failed 1 time in 4)
    (re.compile(r"\.tmp[0-9a-f]{5}$"), ".tmp*"))
#: Python's tempfile's own prefix, its random run and a suffix of the caller's -- taken for
#: one only with a temporary's life in a temporary directory (generated_name)
_TEMPFILE_SUFFIXED = re.compile(r"tmp[a-z0-9_]{8}(?P<tail>[^/]+)", re.DOTALL)
#: Random runs of generators with a prefix of the caller's: tempfile's 8, mkstemp's 6,
#: mktemp(1)'s 10
_SHAPES = ((8, _TEMPFILE), (6, _MKSTEMP), (10, _MKSTEMP))
#: File::Temp's runs (generated_name's ``perl``): a Perl program's 6 X's, the default's 10,
#: of its alphabet -- a ``_`` among mkstemp's letters (63 characters, not 62), and no
#: tempfile's 8 (``am4tab_c12``, ``arY_8kq2`` were of no shape and learned literally:
#: the next autom4te's and autoreconf's directory refused, 1 learning in 12 for "ar")
_PERL_SHAPES = ((6, _PERL_TEMP), (10, _PERL_TEMP))
#: an address (or a hash) written as C's ``%p`` or ``0x%lx`` writes it: "0x" and 8 to 16 hex
#: digits of one case that no other letter or digit follows (gnupg's lock files,
#: ``.#lk0x0000555e81870410.HOST.PID``: the address of a heap object, another on each run)
_ADDRESS = re.compile(r"0x(?:[0-9a-f]{8,16}|[0-9A-F]{8,16})(?![0-9A-Za-z])")
#: a capitalised word ending a run ("mvnDebug": "Debug") -- camel case, not mkstemp's letters
_WORD_TAIL = re.compile(r"[A-Z][a-z]{4,}$")
_NUMBER = re.compile(r"[0-9]{3,}")
#: a part of a name of 16 hex digits or more (64 bits: a hash) of one case, whole between
#: separators (a shorter one may spell a name and a pid: ``a12443b12443``)
_HEX_PART = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-f]{16,}|[0-9A-F]{16,})(?![0-9A-Za-z])")
_NUMBER_RUN = re.compile(r"[0-9]+")  # (every number of a name, whole)
_RENAMED_LEAD = re.compile(r"[._-][a-z]{0,3}")  # (what may stand between a name and a run)
_SEPARATORS = frozenset("._-~#+,")
#: a number of 3 or more digits ending a name after a separator (the separator is the head's)
_TRAILING_NUMBER = re.compile(f"(?<=[{re.escape(''.join(sorted(_SEPARATORS)))}])[0-9]{{3,}}$")


def _digits_and_letters(run: str) -> bool:
    """Whether a run mixes letters and digits (a word does not)."""
    return any(c.isdigit() for c in run) and any(c.isalpha() for c in run)


def _mixed_within(run: str) -> bool:
    """Whether a part of ``run`` between underscores mixes letters and digits: a random run
    of tempfile's alphabet draws ``_`` as one more character (``ab_12cd3``), but a run
    whose digits and letters stand only on either side of one is a counter and a word
    joined (setuptools' ``__editable___demo_0_1_finder.py``: ``1_finder`` was taken for
    tempfile's 8, ``__editable___demo_0_*.py`` fresh, and pip's next uninstall, meeting the
    learning run's file there, was refused)."""
    return any(_digits_and_letters(part) for part in run.split("_"))


def _mixed(run: str) -> bool:
    """Whether a run looks drawn at random: letters and digits, or upper- and lowercase
    letters mixed inside it (``aBcDeF``; a word is neither)."""
    if _digits_and_letters(run):
        return True
    upper_inside = sum(c.isupper() for c in run[1:])
    return upper_inside >= 2 and sum(c.islower() for c in run) >= 2


#: a name's parts between separators (kept, as the odd items of a split); "_" too here
_PARTS = re.compile(f"([{re.escape(''.join(sorted(_SEPARATORS | {'_'})))}])")


def _random_run(part: str, evidence: Evidence) -> bool:
    """A part that is a hash or a random number written in hex: 8 or more hex digits of one
    case mixing digits and letters (libgit2's ``_git2_f1e03703dee5fac5``, auditwheel's
    ``libgfortran-8f1e9814.so``); with a temporary file's life, a number of 3 or more digits
    too, a pid or a counter (git's ``.tmp-8235-pack-HASH.pack``; a kept name's number is a
    version as often: ``cpython-311``).  Shorter or other runs are words as often as not
    (``lib2to3``, ``inC14N1``): only a generator's template says they are random."""
    if evidence is Evidence.TEMPORARY and len(part) >= 3 and part.isascii() and part.isdigit():
        return True
    return len(part) >= 8 and (set(part) <= _HEX_LOWER or set(part) <= _HEX_UPPER) and \
        _digits_and_letters(part)


def _random_segments(name: str, evidence: Evidence) -> str | None:
    """The glob of a created name with random parts between its separators, each part a
    ``*`` (rustc's ``s-horx221fz9-0e0c6zx.lock``, libgit2's ``_git2_f1e03703dee5fac5``),
    when a literal part comes before the first: a name that starts random stays."""
    parts = _PARTS.split(name)
    out: list[str] = []
    found = False
    for index, part in enumerate(parts):
        if index % 2 == 0 and _random_run(part, evidence):
            if not any(parts[i] for i in range(0, index, 2)):
                return None  # nothing literal before it: the name would be all wildcard
            out.append("*")
            found = True
        else:
            out.append(escape(part))
    return "".join(out) if found else None


def _is_pid(number: str, pids: Collection[int]) -> bool:
    """Whether a number of a name is one of the run's pids: 3 digits or more (a shorter one
    is a version or a counter as often: ``lib64``, ``x86``), no leading zero."""
    return len(number) >= 3 and number[0] != "0" and int(number) in pids


def _hash_spans(name: str) -> list[tuple[int, int]]:
    """Where ``name`` holds content hashes, and hex numbers of 16 digits or more between
    separators: no digits of theirs are a pid or a generator's run."""
    return [found.span() for found in HASH_NAME.finditer(name)] + \
        [found.span() for found in _HEX_PART.finditer(name)
         if _digits_and_letters(found.group())]


def _pid_spans(name: str, pids: Collection[int],
               hashes: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """Where ``name`` holds one of the run's pids (whole numbers, none inside a hash)."""
    if hashes is None:
        hashes = _hash_spans(name)
    return [run.span() for run in _NUMBER_RUN.finditer(name) if _is_pid(run.group(), pids)
            and not any(start < run.end() and run.start() < stop for start, stop in hashes)]


def holds_pid(name: str, pids: Collection[int]) -> bool:
    """Whether a name the run made holds one of the run's pids where :func:`generated_name`
    takes it for one (configure's ``conf$$.file``): its own evidence that the name is the
    run's, whatever else the run did with it -- configure removes ``conf$$.file`` before it
    makes it (``rm -f``, in case) and after, and a learning run records a call once, the
    first time: the removal after it is the one before, and the name looked like an older
    file kept, not a temporary's (learn22)."""
    return bool(pids) and bool(_pid_spans(name, pids))


def _generated_piece(text: str, evidence: Evidence, pids: Collection[int] = ()) -> str:
    """A part of a name between the pids (or addresses) in it, as a name of its own
    (generated_name) or as it is."""
    return (generated_name(text, evidence, pids=pids) if text else None) or escape(text)


def _spans_as(name: str, spans: Sequence[tuple[int, int]], glob: str, evidence: Evidence,
              pids: Collection[int] = ()) -> str:
    """``name`` with each of ``spans`` (in order, apart) written ``glob`` -- a pid's or an
    address's place -- and what stands between them generalized as a name of its own."""
    out, at = [], 0
    for start, end in spans:
        out += [_generated_piece(name[at:start], evidence, pids), glob]
        at = end
    return "".join([*out, _generated_piece(name[at:], evidence, pids)])


def _ends(name: str) -> list[int]:
    """Where a random run may end: at the end of the name, or where a suffix starting with
    a dot begins (``.s``, ``.cdtor.c``, ``.tar.gz``)."""
    return [len(name), *(i for i, c in enumerate(name) if c == "." and i)]


def _shaped_head(stem: str, length: int, alphabet: frozenset[str], evidence: Evidence, *,
                 in_tmpdir: bool, mkstemp: bool) -> tuple[str, bool] | None:
    """The head of ``stem`` before a random run of ``length`` characters of ``alphabet`` ending
    it, when the evidence takes the run for generated (generated_name's rules for a run of a
    shape), and whether the head plainly ends there (at a separator, or at a character the
    run's alphabet lacks); None when the run is not taken."""
    head, run = stem[:-length], stem[-length:]
    if len(stem) < length or not set(run) <= alphabet:
        return None
    separated = bool(head) and head[-1] in _SEPARATORS
    plain = separated or (bool(head) and head[-1] not in alphabet)
    if separated and (_mixed_within(run) or mkstemp):
        # (made as mkstemp or mkdtemp make theirs -- O_EXCL, 0600, or a mkdir 0700 --, kept:
        # mktemp -d's scratch.XXXXXXXXXX is letters only 1 time in 6)
        return head, plain
    if mkstemp and head and evidence is Evidence.TEMPORARY:
        return head, plain
    if evidence is not Evidence.TEMPORARY:
        return None
    if separated or (len(head) >= 2 and head[-1] not in alphabet
                     and not head[-2].islower()):  # "RECORD", not "Amsterdam"
        return head, plain
    if head and len(head) <= 3 and (_digits_and_letters(run) or (
            length == 6 and head.islower() and any(c.isupper() for c in run[1:])
            and any(c.islower() for c in run) and not _WORD_TAIL.search(run))):
        # "t8e1Ujj"; and "tseoIkr" (git's symlink probe, mkstemp's "tXXXXXX"): cases
        # mixed inside the run after a lowercase prefix, as words do not mix them
        # ("tinypkg", "Makefile", "BajaNorte", "DWARFLinker" stay)
        return head, plain
    if not head and (_digits_and_letters(run) or in_tmpdir):
        return "", False
    return None


def _perl_temp(name: str) -> str | None:
    """The glob of a name Perl's File::Temp made (generated_name's ``perl``) from a template
    it is known by -- a Perl program's prefix and 6 (:data:`_PERL_TEMPLATES`), else the
    default's 10 (:data:`_PERL_DEFAULT`) --, its X's of File::Temp's whole alphabet (a ``_``
    or a letter of either case anywhere: each is one draw in 63) and before a dotted suffix
    of the caller's (``SUFFIX``); None for another name.  A name of another prefix is left to
    the shapes (a prefix and 6 of the alphabet, generated_name).

    autom4te writes ``configure`` as ``$CWD/FE3nbl_3x4`` renamed onto it (the default's 10),
    learned ``FE*`` (a prefix and tempfile's 8), and the next run's ``W_BekHD7Fh`` was
    refused (learn25); the default's reading then asked for an upper-case letter, which 0.5 %
    of its names lack (``fe3nbl_3x4``: ``fe*`` again).  Its ``tempdir("am4tXXXXXX")`` was
    that reading too (any 10 characters in ``$TMPDIR``, not ``am4t`` and 6), or, with no
    upper-case letter and a ``_`` (mkstemp's 6 have none), the learning run's name only:
    the next run's ``mkdir /tmp/am4tT8GzhX`` was refused (learn41)."""
    for end in _ends(name):
        stem, tail = name[:end], name[end:]
        for prefix, length in _PERL_TEMPLATES:
            if len(stem) == len(prefix) + length and stem.startswith(prefix) and \
                    set(stem[len(prefix):]) <= _PERL_TEMP:
                return escape(prefix) + "*" + escape(tail)
    for end in _ends(name):
        stem, tail = name[:end], name[end:]
        if len(stem) == _PERL_DEFAULT and set(stem) <= _PERL_TEMP:
            # (a prefix of 4 or fewer and 6 X's is as long: the default's reading covers
            # its next name, where the prefix's would miss every default name)
            return "*" + escape(tail)
    return None


def generated_name(name: str, evidence: Evidence = Evidence.NONE, *,
                   in_tmpdir: bool = False, renamed_to: str | None = None,
                   mkstemp: bool = False, libc: bool = False,
                   pids: Collection[int] = (), perl: bool = False) -> str | None:
    """The glob (escaped text with one ``*``) for the names made from the template ``name``
    was made from, when it was generated; None for an ordinary name.

    The generated part is a whole run that the ``*`` replaces: the template's prefix and
    suffix stay literal, none of the random characters do, so the next run's name matches.
    The random run ends the name or comes before a dotted suffix (``cc*.cdtor.c``).  What
    counts as generated grows with the evidence:

    * always: a generator's own prefix and run (``tmp`` and 8 of ``[a-z0-9_]``, ``cc`` and
      6 letters and digits, ``pip-KIND-`` and 8, ``tmp.`` and 10...), the run looking
      random (letters and digits, or cases, mixed) unless the prefix ends in a separator;
      the names of generators whose random parts start or end a longer name (rustc's
      sessions and codegen units, cmake's try-compile targets: ``_PREFIX_TEMPLATES``,
      ``_SUFFIX_TEMPLATES``), what goes on after them generalized as a name of its own;
    * a name the run created: an address written as ``0x`` and 8 to 16 hex digits
      (``0x*``: gnupg's ``.#lk0x0000555e81870410.HOST.PID``), a run of tempfile's or
      mkstemp's shape after a separator that mixes letters and digits, and a number of 3
      or more digits ending the name after a separator (a pid, a counter, Python's
      ``id()``; before any shape inside the name), and a part of 8 or more hex digits
      between separators (a hash);
    * a temporary file's life (``Evidence.TEMPORARY``): a generator's prefix with any run,
      any run of such a shape after a separator or a change of alphabet
      (``RECORDxqzjkwpa.tmp``, pip's files), one of letters and digits after a prefix of up to
      3 characters (``t8e1Ujj``; of mkstemp's 6, cases mixed inside it too: ``tseoIkr``), a
      number before a dotted suffix, a name that is only a number, and a name that is only a
      random run: of letters and digits, or anything of the shape in a temporary directory
      (``in_tmpdir``: Python probes it with 8 random characters);
    * a temporary file's life and made as mkstemp makes its files (``mkstemp``: read-write,
      ``O_EXCL``, mode 0600): any run of the shapes after a non-empty prefix, words too --
      mkstemp's 6 characters spell a lowercase word-like run (``tgdavrb``) in about 3 % of
      git's ``tXXXXXX`` probes, which shape alone cannot tell from ``tinypkg``.

    ``libc``: a file made as mkstemp makes one, opened without ``O_NOFOLLOW`` -- C's mkstemp
    (glibc's and gnulib's: 6 random characters, or mktemp(1)'s count), not Python's
    ``tempfile``, which adds it: its run is not tempfile's 8 (sed -i's ``sedXXXXXX`` of
    lowercase letters and digits, 1 file in 25, was ``s`` and 8: ``s*``, any new name of
    ``s`` beside the edited file).

    ``perl``: the file was made by a Perl interpreter's table (it read ``File/Temp.pm``):
    File::Temp's X's are of ``[A-Za-z0-9_]`` -- a known Perl program's prefix and 6
    (autoconf's ``am4t``, ``ar``...), else its default template's 10, the whole name, else
    a prefix and 6 of them (:func:`_perl_temp`, :data:`_PERL_SHAPES`).

    ``pids``: the run's process and thread ids.  A number of a name the run made that is
    one of them, wherever it stands (configure's ``conf$$.file``, ``conf$$subs.sh``), is the
    pid the program wrote into it: each such number is a ``[1-9]*`` (the next run's pids
    have other digits, and as many or not), whatever else the name looks like.

    ``renamed_to``: the name the file was renamed to in its directory.  A file written
    beside its final name and renamed onto it (pip's, Python's ``tempfile`` with
    ``prefix=name``: ``direct_url.jsonxqzuk8he.tmp``) shows where its prefix ends, so its
    random run needs no other boundary; a separator and up to 3 letters may come first
    (GNU patch's ``a.txt.oS1w5Iv``, renamed onto ``a.txt``).
    """
    #: the random runs a generator of this name's draws (File::Temp's, or any other's)
    shapes = _PERL_SHAPES if perl and mkstemp else _SHAPES
    if evidence is Evidence.TEMPORARY and mkstemp and perl:
        # Perl's File::Temp (before Python's probe: autoreconf's "ar" and 6 is 8 long)
        perl_glob = _perl_temp(name)
        if perl_glob is not None:
            return perl_glob
    if evidence is Evidence.TEMPORARY and (in_tmpdir or mkstemp) and len(name) == 8 and \
            set(name) <= _TEMPFILE and not libc and not perl:
        # Python's probe (before the templates: it may begin with "cc"), made as mkstemp
        # makes a file: in any directory -- a $TMPDIR the workload exports is none the
        # learner knows, and its letters-only names (6 %) were taken for a prefix of 2 and
        # mkstemp's 6 ("xn*"), which the next run's probe missed.  Not C's mkstemp nor
        # File::Temp (``libc``, ``perl``): their 2 and 6 of lowercase letters and digits
        # (C's "abXXXXXX": 4 % of names) read so were any 8 characters, the prefix lost
        return "*"
    #: content hashes in the name, and hex numbers of 16 digits or more between separators
    #: (a crate's hash, rustc's ``hello-b0a626c48b003309``): no digits of theirs are a pid
    #: or a generator's run (a pid 626 of the run made it ``hello-b0a[1-9]*c48b003309``,
    #: and the next build was refused its objects: learn18)
    hashes = _hash_spans(name)
    address = _ADDRESS.search(name) if evidence is not Evidence.NONE else None
    if address is not None:
        # (before the pids: a run of the address's digits may spell one)
        return _spans_as(name, [address.span()], "0x*", evidence, pids)
    if evidence is not Evidence.NONE and pids:
        # each pid a [1-9]*, what stands between them a name of its own (git's
        # .tmp-PID-pack-HASH.pack: its hash is generated too)
        spans = _pid_spans(name, pids, hashes)
        if spans:
            return _spans_as(name, spans, "[1-9]*", evidence)
    if evidence is not Evidence.NONE and renamed_to and name.startswith(renamed_to) and \
            len(name) > len(renamed_to):
        rest = name[len(renamed_to):]
        # (the run right after the name, or after a separator and up to 3 letters -- GNU
        # patch's NAME.oXXXXXX, made O_EXCL: a temporary's life; else the run must mix
        # digits and letters, or cases, as a word does not)
        lead = _RENAMED_LEAD.match(rest)
        for skip in range(lead.end() + 1 if lead is not None else 1):
            for end in _ends(rest[skip:]):
                run, tail = rest[skip:skip + end], rest[skip + end:]
                if any(len(run) == length and set(run) <= alphabet
                       for length, alphabet in shapes) and (
                            not skip or evidence is Evidence.TEMPORARY or _mixed(run)):
                    # (the name renamed onto may be generated itself: cmake's
                    # cmTC_XXXXX_loc.tmpYYYYY renamed onto cmTC_XXXXX_loc -- its literal
                    # cmTC_XXXXX refused the next configure's, once "cmTC_*" no longer
                    # stood for any name of "cmTC_": learn37)
                    head = generated_name(renamed_to, evidence, pids=pids) or \
                        escape(renamed_to)
                    return head + escape(rest[:skip]) + "*" + escape(tail)
    for template, glob in _SUFFIX_TEMPLATES:
        found = template.search(name)
        if found is not None and found.start() > 0:
            head = name[:found.start()]
            return (generated_name(head, evidence) or escape(head)) + glob + \
                escape(name[found.end():])
    for template, glob in _PREFIX_TEMPLATES:
        start = template.match(name)
        if start is not None:
            rest = name[start.end():]
            if _CRATE_HASH.fullmatch(rest):
                return glob + "-*"
            return glob + ((generated_name(rest, evidence) if evidence is not Evidence.NONE
                            else None) or escape(rest))
    ends = _ends(name)
    for end in ends:
        stem, tail = name[:end], name[end:]
        for head_pattern, length, alphabet in _TEMPLATES:
            head, run = stem[:-length], stem[-length:]
            if len(stem) > length and set(run) <= alphabet and head_pattern.fullmatch(head) \
                    and (evidence is Evidence.TEMPORARY or head[-1] in _SEPARATORS
                         or _mixed(run)):
                return escape(head) + "*" + escape(tail)
    suffixed = _TEMPFILE_SUFFIXED.fullmatch(name) if evidence is Evidence.TEMPORARY and \
        in_tmpdir else None
    if suffixed is not None:
        # Python's tempfile with its own prefix and a caller's suffix that need not be
        # dotted (wheel's editable build: tmpXXXXXXXXdemo-0.1-0.editable-py3-none-any.whl);
        # after the generators' templates (git's tmp_obj_XXXXXX is one)
        return "tmp*" + escape(suffixed["tail"])
    if evidence is Evidence.NONE:
        return None
    # a pid, a counter, Python's id() ending the name after a separator: what it is unless a
    # run of a shape ends the name ("RECORD0000_000"), before any shape inside the name
    # ("py37compat.cpython-311.pyc.1402..." is not "py" and a random "37compat")
    trailing = _TRAILING_NUMBER.search(name)
    numbered = escape(name[:trailing.start()]) + "*" if trailing is not None else None
    for end in ends:
        if numbered is not None and end < len(name):
            return numbered
        stem, tail = name[:end], name[end:]
        # (no run of a content hash's digits: git's pack-HASH.keep, O_EXCL, 0600, removed,
        # was "pack-8201...dcc3*.keep", mkstemp's 6 of its last digits, and the next run's
        # hash refused)
        heads = [shaped for length, alphabet in shapes if not (libc and alphabet is _TEMPFILE)
                 and (shaped := _shaped_head(stem, length, alphabet, evidence,
                                            in_tmpdir=in_tmpdir, mkstemp=mkstemp)) is not None
                 and not any(start < end and len(shaped[0]) < stop for start, stop in hashes)]
        if heads:
            # of the runs whose head ends plainly (a separator, another alphabet) the longest:
            # mktemp -d's scratch.XXXXXXXXXX is 10, not "scratch.YMEm" and 6, and a shorter
            # run's separator may be one of the longer's characters (tempfile's "_": not
            # "RECORD0_" and 6); where no end shows, the first shape's (tempfile's
            # mkdtemp(prefix="work"): "work" and 8; C's mkstemp has no 8: ``libc``)
            plain = [h for h, rank in heads if rank]
            if mkstemp and not libc and not perl and len(stem) > 8 and \
                    set(stem[-8:]) <= _TEMPFILE:
                # made as tempfile makes its names, whose 8 draw "_" too: a head ending in
                # an "_" inside them is no end (mkdtemp(prefix="work"): "works_7teik4" was
                # "works_" and mkstemp's 6, and the next run's "workdiky3an9" refused --
                # test_a_directory_made_as_mkdtemp_makes_one_is_learned_as_generated, 1 run
                # in ~25)
                plain = [h for h in plain if not (h.endswith("_") and len(h) > len(stem) - 8)]
            head = min(plain, key=len) if plain else heads[0][0]
            return escape(head) + "*" + escape(tail)
    if numbered is not None:
        return numbered
    segmented = _random_segments(name, evidence)
    if segmented is not None:
        return segmented
    for match in reversed(list(_NUMBER.finditer(name))):
        head, tail = name[:match.start()], name[match.end():]
        if not head:
            if not tail and evidence is Evidence.TEMPORARY:
                return "*"
            continue
        if head[-1] in _SEPARATORS and evidence is Evidence.TEMPORARY and tail[:1] == ".":
            return escape(head) + "*" + escape(tail)  # (one ending the name: above)
    return None


# ---------------------------------------------------------------------------------------------
# Categories: well-known read-only sets, learned whole


#: Directories shared libraries are loaded from (the loader's defaults, and the compiler's)
LIB_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32",
            "/usr/local/lib")
_SHARED_LIBRARY = re.compile(r".+\.so(\.[0-9][0-9.]*)?$")
#: what a linker reads besides shared libraries: static archives, the C runtime's objects
_LINKED = re.compile(r".+\.a|[A-Za-z]*crt[A-Za-z0-9]*\.o")
#: an interpreter's library directory: its standard library and its (or a virtual
#: environment's) site-packages, and Debian's /usr/lib/python3 (dist-packages)
_PYTHON_ROOT = re.compile(r"(?:/[^/]+)*?/lib/python3(?:\.[0-9]+)?(?=/|$)")


@dataclass(frozen=True, slots=True)
class Category:
    """A well-known read-only set of files: a program that read some of it may read any
    of it on another run (another locale, another header, another library).

    ``roots`` are directories taken whole (``root/**``), unless ``libraries``: then only
    the libraries directly in them (``root/*.so*``, ``*.a``, the C runtime's ``*crt*.o``, and
    ``root/glibc-hwcaps/*/*.so*``);
    ``files`` are single files that belong to it.  The roots found on the running system
    (:class:`SystemFacts`) replace ``roots`` when learning found some."""

    key: str
    label: str
    roots: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    libraries: bool = False


#: The categories, one rule each (docs/learning.md lists them).
CATEGORIES: tuple[Category, ...] = (
    Category("libraries", "libraries",
             ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", *LIB_DIRS),
             ("/etc/ld.so.cache",), libraries=True),
    Category("headers", "system headers", ("/usr/include", "/usr/local/include")),
    Category("compiler", "the compiler's own files", ("/usr/lib/gcc", "/usr/libexec/gcc")),
    Category("python", "the Python standard library and system packages"),
    Category("locale", "locale data and message catalogs",
             ("/usr/lib/locale", "/usr/share/locale", "/usr/share/locale-langpack",
              "/usr/share/i18n", "/usr/lib/x86_64-linux-gnu/gconv", "/usr/lib64/gconv",
              "/usr/lib/gconv", "/usr/share/X11/locale"), ("/etc/locale.alias",)),
    Category("zoneinfo", "timezone data", ("/usr/share/zoneinfo",), ("/etc/timezone",)),
    Category("terminfo", "terminal descriptions",
             ("/usr/share/terminfo", "/lib/terminfo", "/etc/terminfo")),
    Category("certificates", "CA certificates",
             ("/etc/ssl/certs", "/usr/share/ca-certificates", "/etc/ca-certificates",
              "/etc/pki/ca-trust", "/etc/pki/tls/certs"),
             ("/etc/ssl/openssl.cnf", "/usr/lib/ssl/openssl.cnf")),
    # what runtimes read to size their thread pools and heaps -- some runs only (node's
    # libuv reads /proc/stat and cpu/online when a pool starts)
    Category("sysinfo", "CPU, memory and cgroup limits",
             ("/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/fs/cgroup"),
             ("/proc/stat", "/proc/cpuinfo", "/proc/meminfo", "/proc/loadavg",
              "/proc/uptime", "/proc/version")),
)
CATEGORY_KEYS = tuple(c.key for c in CATEGORIES)


@dataclass(frozen=True)
class SystemFacts:
    """What learning found on the running system (gathered where the command ran, never
    by the pure learner): per category key, the roots the programs that ran use -- the
    compiler's include directories, its own directories, the interpreter's library
    directories, the loader's library directories.  Written into the learning log, so a
    policy rebuilt from the log is the same."""

    roots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, list[str]]:
        return {key: list(roots) for key, roots in self.roots.items()}

    @classmethod
    def from_json(cls, data: object) -> SystemFacts:
        """The inverse of :meth:`to_json`; ValueError on anything else."""
        if not isinstance(data, Mapping):
            raise ValueError("system facts are a table of category keys")
        roots: dict[str, tuple[str, ...]] = {}
        for key, values in data.items():
            if key not in CATEGORY_KEYS or not isinstance(values, list) or not all(
                    isinstance(v, str) and v.startswith("/") for v in values):
                raise ValueError(f"bad system facts for {key!r}")
            roots[key] = tuple(values)
        return cls(roots)


def is_shared_library(path: str) -> bool:
    """A library the dynamic loader (or an interpreter) may load on another run: a
    ``lib*.so*`` or any ``.so`` in a library directory proper (the multiarch directory, its
    glibc-hwcaps variants, Python's lib-dynload) -- not an interpreter's probe for an
    extension module in a package directory, which is the same on every run."""
    parent, _, name = path.rpartition("/")
    if not _SHARED_LIBRARY.fullmatch(name) or not any(
            parent == d or parent.startswith(d + "/") for d in LIB_DIRS):
        return False
    base = parent.rpartition("/")[2]
    return (name.startswith("lib") or parent in LIB_DIRS or base == "lib-dynload"
            or base.endswith("-linux-gnu") or _library_root(parent) != parent)


def _library_root(parent: str) -> str:
    """The library directory a library's directory belongs to: ``root`` for
    ``root/glibc-hwcaps/NAME`` (the category's pattern covers those), else itself."""
    head = parent.rpartition("/")[0]
    return head.removesuffix("/glibc-hwcaps") if head.endswith("/glibc-hwcaps") else parent


def is_library(path: str) -> bool:
    """A shared library (:func:`is_shared_library`), or what a linker reads from a library
    directory proper: a static archive, a C runtime object (crt1.o, crti.o...)."""
    if is_shared_library(path):
        return True
    parent, _, name = path.rpartition("/")
    base = parent.rpartition("/")[2]
    return bool(_LINKED.fullmatch(name)) and (parent in LIB_DIRS or base.endswith("-linux-gnu"))


def _below(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def category_roots(category: Category, facts: SystemFacts | None,
                   paths: Iterable[str] = ()) -> tuple[str, ...]:
    """The roots of a category on this system: the facts' (else the defaults), and what
    the observed ``paths`` show (the directory of a shared library read, the Python
    library a path is in); nested roots are left out."""
    found = list(facts.roots.get(category.key, ())) if facts is not None else []
    roots = found or list(category.roots)
    for path in paths:
        if category.libraries and is_library(path):
            roots.append(_library_root(path.rpartition("/")[0]))
        elif category.key == "python":
            match = _PYTHON_ROOT.match(path)
            if match:
                roots.append(match.group())
    unique = sorted(set(roots))
    if category.libraries:
        return tuple(unique)
    return tuple(r for r in unique if not any(o != r and _below(r, o) for o in unique))


def in_category(path: str, category: Category, roots: Sequence[str]) -> bool:
    """Whether ``path`` belongs to the category with these roots."""
    if path in category.files:
        return True
    if category.libraries:
        if not is_library(path):
            return False
        return _library_root(path.rpartition("/")[0]) in roots
    return any(_below(path, root) for root in roots)


def _alternatives(texts: Sequence[str]) -> str:
    """Glob texts (without braces of their own) as one: ``{a,b}`` (commas escaped)."""
    escaped = [t.replace(",", "\\,") for t in texts]
    return escaped[0] if len(escaped) == 1 else "{" + ",".join(escaped) + "}"


def category_pattern(category: Category, roots: Sequence[str], writer: PathWriter) -> str:
    """The one glob of a category: each root whole (or the libraries in it), and its
    files: ``{{/usr/include,/usr/local/include}/**,/etc/x}``."""
    tail = "/{*.so*,*.a,*crt*.o,glibc-hwcaps/*/*.so*}" if category.libraries else "/**"
    parts = [_alternatives([writer.text(r) for r in roots]) + tail] if roots else []
    parts += [writer.text(f).replace(",", "\\,") for f in category.files]
    return parts[0] if len(parts) == 1 else "{" + ",".join(parts) + "}"


# ---------------------------------------------------------------------------------------------
# Names that are not names: descriptors, content hashes; arguments as globs


_PSEUDO = re.compile(r"^(?P<kind>pipe|socket|anon_inode):")
_MEMFD = re.compile(r"^/?memfd:(?P<name>.*?)(?: \(deleted\))?$", re.DOTALL)
#: a content hash (git's objects, caches): 30 or more hex digits of one case (gpg-agent's
#: keys are named by their keygrip, 40 uppercase: ``private-keys-v1.d/EF92...FB15.key``)
HASH_NAME = re.compile(r"[0-9a-f]{30,}|[0-9A-F]{30,}")
#: A digit of a shape in a learned glob (a hash's, its 2-hex directories', a UUID's, a
#: date's): a class of the digits it may be, never ``?`` -- any character there let a
#: name the program chose (32 hex digits) cover every older file of the directory whose
#: name is as long (red team 16).
HEX_DIGIT = "[0-9a-f]"
_HEX_UPPER_DIGIT = "[0-9A-F]"
_UUID_DIGIT = "[0-9a-fA-F]"
_DATE_DIGIT = "[0-9]"
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: Parts of names whose shape is a generator's and never a word's, kept as a shape (each
#: digit of them a class): a date and time (a log's, a backup's: ISO 8601 and its file-name
#: spellings ``2026-12-04T20_05_29_165Z``, ``2026-12-04_20-05-29``, ``20261204T200529``) and
#: a UUID (npm's cache: ``26d8a713-0c3f-4d15-801c-b6c8bf0abeb4``, each hex digit a class).
SHAPED = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[T_ -][0-9]{2}[-_:.][0-9]{2}"
                    r"(?:[-_:.][0-9]{2})?(?:[._][0-9]{1,9})?Z?"
                    r"|[0-9]{8}[T_-][0-9]{6}"
                    r"|" + _UUID.pattern + r")(?![0-9A-Za-z])")


#: A character of a generator's random run kept as a shape (:func:`generated_shape`): the
#: union of tempfile's and mkstemp's alphabets, never ``?`` (red team 16)
RANDOM_CHAR = "[0-9A-Za-z_]"
#: a random run a shape is kept of: 6 or more of those characters, not all digits (a pid's
#: or a counter's number changes length from run to run) unless the first is a 0 -- a
#: padded run, whose length is fixed (rustc's object suffix ``.0023490.rcgu.o``, base 36
#: padded to 7: learned exactly, the next build was refused its objects: learn18)
_SHAPED_RUN = re.compile(r"(?![1-9][0-9]*$)[0-9A-Za-z_]{6,}")


def generated_shape(name: str, glob: str) -> str | None:
    """``name``'s generated glob (:func:`generated_name`: escaped text and ``*``) with each
    random run as a *shape* -- one :data:`RANDOM_CHAR` a character, as many as it has -- in
    place of its ``*``: pip's ``pip-uninstall-9wenw62d`` is ``pip-uninstall-`` and 8 of
    them; rustc's incremental session ``s-hosp0j1cki-17rjilg-working`` (``s-*-*-working``)
    is ``s-``, 10, ``-``, 7, ``-working``.  It matches the next run's name of the template
    and no name of another length or of other characters, where a ``*`` covers any name of
    the prefix (whose text was the program's choice).  None when the glob has no ``*`` or
    another wildcard, when the runs are not one way to read the name (a ``*`` beside a
    literal of their own characters), or a run is not :data:`_SHAPED_RUN`'s (a number: a
    pid's length changes)."""
    read = _glob_runs(glob)
    if read is None or any(read[1]):  # (a pid's run: another wildcard here)
        return None
    parts = read[0]
    if len(parts) < 2:
        return None
    runs = [f"([0-9A-Za-z_]+{lazy})" for lazy in ("", "?")]
    found = [re.fullmatch(run.join(re.escape(part) for part in parts), name, re.DOTALL)
             for run in runs]
    if found[0] is None or found[1] is None or found[0].groups() != found[1].groups():
        return None
    if not all(_SHAPED_RUN.fullmatch(run) for run in found[0].groups()):
        return None
    runs_found = [*found[0].groups(), ""]  # (the last literal text has no run after it)
    return "".join(escape(part) + RANDOM_CHAR * len(run)
                   for part, run in zip(parts, runs_found, strict=True))


def hash_glob(text: str) -> str:
    """``text`` (a name, escaped) with each content hash in it (:data:`HASH_NAME`) as its
    shape: each digit a class of its case, ``[0-9a-f]`` or ``[0-9A-F]`` (a keygrip's
    uppercase digits are no lowercase hash's, and no name of mixed case is either)."""
    return HASH_NAME.sub(lambda run: (HEX_DIGIT if run.group().lower() == run.group()
                                      else _HEX_UPPER_DIGIT) * len(run.group()), text)


#: a count of seconds, milliseconds, microseconds or nanoseconds since the epoch (``date
#: +%s``, ``%s%N``, Java's and JavaScript's milliseconds), a number standing alone in a name:
#: one only where its value is the learning run's own time (:func:`epoch_stamps`)
_EPOCH = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{9}(?:[0-9]{3}){0,3}(?![0-9A-Za-z])")
#: how far (seconds) before the run's first record and after its last a stamp may be: ``date
#: +%s`` truncates the time it was asked
EPOCH_SLACK = 2.0


def epoch_stamps(name: str, times: tuple[float, float] | None) -> list[re.Match[str]]:
    """The numbers in ``name`` that are the time of the run that made it (learn24): 10, 13,
    16 or 19 digits -- seconds since the epoch and their milli-, micro- and nanoseconds --
    whose value falls within the run's first and last record (``times``, epoch seconds),
    give or take :data:`EPOCH_SLACK`.  A script names its log ``build-$(date +%s%N).log``:
    learned as the name, the next run's was refused and the script stopped.  The value is
    the evidence: a number of that length that is not the run's time (an id, a size, an
    older run's stamp) is not taken."""
    if times is None:
        return []
    first, last = times
    found = []
    for match in _EPOCH.finditer(name):
        digits = match.group()
        seconds = int(digits) / 10 ** (len(digits) - 10)
        if first - EPOCH_SLACK <= seconds <= last + EPOCH_SLACK:
            found.append(match)
    return found


def shaped_glob(name: str, times: tuple[float, float] | None = None,
                pids: Collection[int] = (), spread: int | None = None) -> str | None:
    """The glob of a name holding dates and times or UUIDs (:data:`SHAPED`), or a count of
    seconds since the epoch that is the run's own time (:func:`epoch_stamps`, with the
    run's ``times``): each digit of them a class (``[0-9]``, a UUID's ``[0-9a-fA-F]``), the
    rest literal -- the shape stays, so the glob matches the next run's and no other name
    (``*`` would let a name chosen around it cover ``.bashrc``: docs/security.md gap #30;
    ``?`` an older name as long).  In such a name, a number that is one of the run's
    ``pids`` (``backup-$(date +%Y%m%d-%H%M%S)-$$.tgz``) is a pid's shape: 1 to 7 digits, no
    leading zero (:data:`PID_SHAPE`) -- learned as the number, the next run's backup was
    refused (learn24); ``spread``: :func:`number_shape`'s, where a path holds more numbers
    than their shapes' alternatives may multiply to.  None when the name holds none."""
    spans: list[tuple[int, int, str]] = []
    for found in SHAPED.finditer(name):
        digit = _UUID_DIGIT if _UUID.fullmatch(found.group()) else _DATE_DIGIT
        spans.append((found.start(), found.end(), "".join(
            digit if c in _HEX_ANY else escape(c) for c in found.group())))
    for found in epoch_stamps(name, times):
        if not any(start < found.end() and found.start() < end for start, end, _ in spans):
            spans.append((found.start(), found.end(), _DATE_DIGIT * len(found.group())))
    if not spans:
        return None
    for start, end in _pid_spans(name, pids):
        if not any(s < end and start < e for s, e, _ in spans):
            spans.append((start, end, number_shape(name[start:end], spread, pid=True)))
    out: list[str] = []
    done = 0
    for start, end, glob in sorted(spans):
        out.append(escape(name[done:start]) + glob)
        done = end
    out.append(escape(name[done:]))
    return "".join(out)


#: the most digits a pid has (``pid_max`` is at most 2**22: 7 digits)
PID_DIGITS = 7
#: how many digits more than the learning run's a counter may have on the next run
#: (:func:`number_shape`): the same program run again on 100 times the input (learn38)
COUNTER_GROWTH = 2


def _lengths(first: str, digit: str, lengths: Iterable[int]) -> str:
    """A number of each of ``lengths`` digits as brace alternatives: ``first`` its first
    digit's class (one digit alone: ``digit``), ``digit`` every other's."""
    texts = [digit if n == 1 else first + digit * (n - 1) for n in lengths if n >= 1]
    return texts[0] if len(texts) == 1 else "{" + ",".join(texts) + "}"


def number_shape(digits: str, spread: int | None = None, *, pid: bool = False) -> str:
    """The shape of a decimal number in a name whose length may change from run to run (a
    pid, a counter, Python's ``id()``: learn37), each digit ``[0-9]``, the first not 0, as
    brace alternatives of a bounded number of digits -- never ``*``, which let a name of the
    number's prefix that is no number (``build.1evil``) be made:

    * a pid (``pid``: one of the run's, or the kernel's number of a process, a terminal, a
      loop device) is one of 1 to :data:`PID_DIGITS` digits (:data:`PID_SHAPE`): in a pid
      namespace, a container's, the next run's pids are 1 or 2 digits; there are no longer;
    * a padded number (``0099``: a leading 0, ``%04d``) is as many ``[0-9]`` (its width),
      or a number of up to :data:`COUNTER_GROWTH` digits more, the first not 0 -- what
      ``%04d`` writes past 9999 (learn38: ``part-9999``, then ``part-10000``, was refused);
    * another of up to :data:`PID_DIGITS` digits (a pid, a counter) is one of 1 to 7 digits,
      or to :data:`COUNTER_GROWTH` more than it has (a counter of 1234567 has 8 or 9 digits
      when the same program counts 100 times as much: learn38);
    * a longer one (``id()``'s 15, a nanosecond count that is no stamp of the run's time) is
      one of two digits fewer to :data:`COUNTER_GROWTH` more than it has.

    ``spread``, where a name or a path holds more numbers than their shapes' alternatives
    may multiply to (:func:`written_glob`): only the lengths within ``spread`` of the
    number's own (0: its length alone; for a padded number its width and up to ``spread``
    digits more)."""
    n = len(digits)
    padded = n > 1 and digits[0] == "0"
    if padded:
        lengths = range(n, n + COUNTER_GROWTH + 1)
    elif pid and n <= PID_DIGITS:
        lengths = range(1, PID_DIGITS + 1)
    elif n <= PID_DIGITS:
        lengths = range(1, max(PID_DIGITS, n + COUNTER_GROWTH) + 1)
    else:
        lengths = range(n - 2, n + COUNTER_GROWTH + 1)
    if spread is not None:
        lengths = range(max(lengths.start, n - spread), min(lengths.stop, n + spread + 1))
    texts = [_DATE_DIGIT * n if padded and length == n else
             _DATE_DIGIT if length == 1 else "[1-9]" + _DATE_DIGIT * (length - 1)
             for length in lengths]
    return texts[0] if len(texts) == 1 else "{" + ",".join(texts) + "}"


def hex_shape(digits: str, spread: int | None = None) -> str:
    """The shape of a number written in hex whose length may change from run to run (an
    address as ``%p`` writes it, a random number as ``%x`` does: no leading zeros), each
    digit a class of its case (``[0-9a-f]``, ``[0-9A-F]``; ``[0-9a-fA-F]`` where the number
    holds no letter): two digits fewer to one more than it has, or, padded (a leading 0:
    gnupg's ``0x0000555e81870410``), as many as it has.  ``spread``: as
    :func:`number_shape`'s."""
    lower, upper = set(digits) <= _HEX_LOWER, set(digits) <= _HEX_UPPER
    digit = _UUID_DIGIT if lower and upper else HEX_DIGIT if lower else _HEX_UPPER_DIGIT
    n = len(digits)
    if n > 1 and digits[0] == "0":
        return digit * n
    lengths = range(max(1, n - 2), n + 2)
    if spread is not None:
        lengths = range(max(lengths.start, n - spread), min(lengths.stop, n + spread + 1))
    return _lengths(digit, digit, lengths)


#: a pid's shape (:func:`shaped_glob`, :func:`written_glob`): 1 digit (a pid namespace's
#: first pids; the learner takes a number of 3 or more for a pid) to 7 (``pid_max`` is at
#: most 2**22), the first not 0 (one digit alone: ``[0-9]``)
PID_SHAPE = number_shape("100", pid=True)
#: how many names one written glob may stand for at most (the product of its shapes'
#: alternatives, :func:`written_glob`): well below glob.MAX_ALTERNATIVES, as a learned rule
#: may join several such globs in one brace
_WRITTEN_ALTERNATIVES = 64
#: how many names one learned path's text may stand for at most (the product of its
#: components' shapes: :func:`brace_alternatives`) -- a path of several numbered names
#: (``$TMPDIR/a.$$/b.$$/c.$$/d.$$``: 7 to the 4th) went past glob.MAX_ALTERNATIVES, and -A
#: failed with a traceback, writing no policy (review 36); room is left for a rule's brace
#: of a few such texts and a `` (deleted)`` alternative
PATH_ALTERNATIVES = 256
#: a run of hex digits of one case only: may be a random number written without its
#: leading zeros (its length changes from run to run)
_HEX_ONLY = re.compile(r"[0-9a-f]+|[0-9A-F]+")
#: a pid's place in a generated glob (:func:`generated_name`)
_PID_RUN = "[1-9]*"
#: what stands before a run of hex digits of a generator's (cmake's ``cmTC_%05x`` and
#: ``.tmp%05x``: _PREFIX_TEMPLATES, _SUFFIX_TEMPLATES)
_HEX_HEADS = ("cmTC_", ".tmp")


def _glob_runs(glob: str) -> tuple[list[str], list[bool]] | None:
    """A generated glob (escaped text, ``*`` and a pid's ``[1-9]*``) as its literal texts,
    unescaped (one more than it has runs), and whether each run is a pid's; None when it
    holds other glob syntax."""
    parts: list[str] = [""]
    pids: list[bool] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "\\":
            parts[-1] += glob[i + 1:i + 2]
            i += 2
            continue
        if glob.startswith(_PID_RUN, i):
            parts.append("")
            pids.append(True)
            i += len(_PID_RUN)
            continue
        if c == "*":
            parts.append("")
            pids.append(False)
        elif c in "?[]{}":
            return None
        else:
            parts[-1] += c
        i += 1
    return parts, pids


def brace_alternatives(text: str) -> int:
    """How many alternatives a written glob's braces make (the product of each top-level
    brace's count; a nested brace counts as its alternatives added, an escape as text)."""
    total, stack, escaped = 1, [], False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            stack.append(1)
        elif c == "," and stack:
            stack[-1] += 1
        elif c == "}" and stack:
            count = stack.pop()
            if stack:
                stack[-1] += count - 1
            else:
                total *= count
    return total


def written_glob(name: str, glob: str, templated: bool = False,
                 room: int = _WRITTEN_ALTERNATIVES) -> str:
    """A generated name's glob (:func:`generated_name`: escaped text, ``*``, a pid's
    ``[1-9]*``) as a rule writes it: each run as its shape, the template's literal text
    around it -- not ``*``, which lets a step of the next run make any new name of the
    prefix (``/tmp/tmpfiles.d``, ``/tmp/cc-evil.s``: learn36; ``build.evil`` beside
    ``build.$$``: learn37):

    * a pid's, or a number's (all digits: a counter, Python's ``id()``), its
      :func:`number_shape` -- digits of a bounded count (1 to 7 for a pid's), as a pid or a
      counter may have more or fewer on the next run;
    * an address after ``0x`` and a number in hex (a part of one case, not a template's
      X's), its :func:`hex_shape`; of 6 characters or more and not made as mkstemp(3) or
      mkdtemp(3) make a name, the template's X's too (one :data:`RANDOM_CHAR` a character:
      an untemplated run of hex digits may be either);
    * a content hash (:data:`HASH_NAME`), its hex digits, as many (a hash's length is its
      algorithm's: git's ``pack-HASH.keep``);
    * a template's random run (:data:`_SHAPED_RUN`: mkstemp's ``XXXXXX``, tempfile's 8,
      mktemp's 10, git's ``tmp_obj_`` and 6, gcc's ``cc`` and 6) in a glob of one run, one
      :data:`RANDOM_CHAR` a character, as many as it has (:func:`generated_shape`): its
      length is fixed.

    rustc's incremental session names (``s-TIME-RANDOM``, ``s-TIME-RANDOM-SVH``: base-36
    numbers) are their runs' shapes (:func:`_session_shape`).  A run of letters of no fixed
    length stays ``*`` (rustc's object suffix), as do the whole glob's runs where they are
    not one way to read the name (a ``*`` beside a literal of its own characters).  The
    shapes' alternatives multiply to at most :data:`_WRITTEN_ALTERNATIVES` names, or
    ``room`` (what the path's other names leave of :data:`PATH_ALTERNATIVES`): in a name of
    several numbers each has fewer lengths -- its own, then those beside it (``spread``),
    then its whole shape, as the room allows -- never ``*``.  A wholly random name (``*``:
    Python's probe, File::Temp's 10) is its shape."""
    found = _glob_runs(glob)
    if found is None:
        return glob
    literal, pids = found
    if not pids:
        return glob
    found_runs: list[tuple[str, ...]] = []
    for lazy in ("", "?"):
        groups = [f"({'[1-9][0-9]*' if pid else '[0-9A-Za-z_]+'}{lazy})" for pid in pids]
        match = re.fullmatch("".join(re.escape(text) + group for text, group in
                                     zip(literal, [*groups, ""], strict=True)), name, re.DOTALL)
        if match is None:
            return glob
        found_runs.append(match.groups())
    if found_runs[0] != found_runs[1]:
        return glob
    runs: tuple[str, ...] = found_runs[0]
    limit = min(room, _WRITTEN_ALTERNATIVES)
    # (each run at its narrowest first -- its own length --, then every one widened to the
    # lengths beside its own, then to its whole shape, while the alternatives' product
    # stays within the limit: a name or a path of several numbers gives each a shape of
    # fewer lengths, where the runs past the limit had been "*" -- learn38)

    def shape_of(index: int, spread: int | None) -> str:
        if literal[0] == "s-" and index < 3 and not pids[index]:
            return _session_shape(runs, index)
        if literal[index + 1].startswith(".rcgu.o") and not pids[index]:
            return "*"  # (rustc's base-36 object suffix: a run of digits only is no number)
        return _run_shape(runs[index], literal[index], templated, alone=len(pids) == 1,
                          pid=pids[index], spread=spread)

    shapes = [shape_of(index, 0) for index in range(len(runs))]
    total = 1
    for shape in shapes:
        total *= brace_alternatives(shape)
    if total > limit:
        shapes = ["*" if shape != "*" and brace_alternatives(shape) > 1 else shape
                  for shape in shapes]
        total = 1
    for spread in (1, None):
        for index in range(len(runs)):
            wider = shape_of(index, spread)
            count, now = brace_alternatives(wider), brace_alternatives(shapes[index])
            if wider != shapes[index] and shapes[index] != "*" and \
                    total // now * count <= limit:
                shapes[index] = wider
                total = total // now * count
    return "".join(escape(text) + shape for text, shape in
                   zip(literal, [*shapes, ""], strict=True))


#: a digit of base 36 as rustc writes one (``base_n``'s ``CASE_INSENSITIVE``)
BASE36_DIGIT = "[0-9a-z]"
_BASE36_RUN = re.compile(r"[0-9a-z]+")
#: the most base-36 digits a random ``u32`` has (rustc pads it to them: ``0dobqmu``)
_U32_BASE36 = 7
#: the base-36 digits of rustc's session time (microseconds since 1970: 10 from 1973 to 2085)
_SESSION_TIME = 10


def _session_shape(runs: Sequence[str], index: int) -> str:
    """A run of rustc's incremental session name, ``s-TIME-RANDOM[-SVH]`` (learn38; its
    ``*`` let a step make any name of ``s-``): the time's 10 base-36 digits; the random
    ``u32``'s as many as it has -- 7, rustc pads it -- or, shorter (an older rustc's,
    unpadded: no leading 0), its length to 7; the hash's as many as it has.  ``*`` for a run
    that is no base-36 number of those lengths."""
    run = runs[index]
    if not _BASE36_RUN.fullmatch(run):
        return "*"
    if index == 0:
        return BASE36_DIGIT * len(run) if len(run) == _SESSION_TIME else "*"
    if index == 1:
        if len(run) > _U32_BASE36:
            return "*"
        if len(run) == _U32_BASE36 or run[0] == "0":
            return BASE36_DIGIT * len(run)
        return "{" + ",".join("[1-9a-z]" + BASE36_DIGIT * (n - 1)
                              for n in range(len(run), _U32_BASE36 + 1)) + "}"
    return BASE36_DIGIT * len(run) if len(run) >= 20 else "*"


def _run_shape(run: str, before: str, templated: bool, alone: bool, pid: bool = False,
               spread: int | None = None) -> str:
    """One run of a generated name as :func:`written_glob` writes it (``*``: no shape);
    ``pid``: the run is a pid of the run's; ``spread``: :func:`number_shape`'s."""
    # (a template's X's of a name made as mkstemp and mkdtemp make one, or a padded run of
    # 6 or more -- rustc's base-36 ``0023490`` --, may be digits only: their length is fixed)
    template = alone and len(run) >= 6 and (templated or run[0] == "0")
    # (an address, and cmake's "cmTC_" and ".tmp" and 5 hex digits, are hex whatever digits
    # they drew: 1 run in 10 of cmake's is digits only, which no decimal shape may take --
    # the next configure was refused its cmTC_4324d_loc.tmpfb920)
    address = before.endswith("0x")
    if (address or before.endswith(_HEX_HEADS)) and _HEX_ONLY.fullmatch(run):
        if address or len(run) < 6:
            return hex_shape(run, spread)
        if templated:
            return RANDOM_CHAR * len(run)
        return _or_template(run, hex_shape(run, spread))
    if run.isascii() and run.isdigit():
        if templated and template and run[0] == "0":
            return RANDOM_CHAR * len(run)  # (made as mkstemp makes a name: its X's only)
        shape = number_shape(run, spread, pid=pid)
        return _or_template(run, shape) if template else shape
    if HASH_NAME.fullmatch(run):
        return hash_glob(run)
    if _HEX_ONLY.fullmatch(run) and not templated:
        # (not made as mkstemp makes a name: a number in hex, or a template's X's that drew
        # hex digits only)
        shape = hex_shape(run, spread)
        return shape if len(run) < 6 else _or_template(run, shape)
    if alone and _SHAPED_RUN.fullmatch(run):
        return RANDOM_CHAR * len(run)
    return "*"


def _or_template(run: str, shape: str) -> str:
    """A number's ``shape`` with its alternative of the run's own length written as a
    template's X's (one :data:`RANDOM_CHAR` a character, as many as it has)."""
    others = [text for text in (shape[1:-1].split(",") if shape.startswith("{") else [shape])
              if text.count("[") != len(run)]
    texts = [RANDOM_CHAR * len(run), *others]
    return texts[0] if len(texts) == 1 else "{" + ",".join(texts) + "}"


#: the directory of 2 hex digits a hash is filed under (git's objects/45/)
FANOUT = re.compile(r"[0-9a-f]{2}")


def pseudo_kind(path: str) -> tuple[str, str | None] | None:
    """For a descriptor that is not a file (``pipe:[12]``, ``socket:[3]``,
    ``anon_inode:[eventfd]``, ``/memfd:NAME (deleted)``): its kind, and a memfd's name."""
    match = _PSEUDO.match(path)
    if match:
        return match["kind"], None
    match = _MEMFD.match(path)
    if match:
        return "memfd", match["name"]
    return None


def pseudo_pattern(path: str) -> str | None:
    """The glob for every descriptor of the kind ``path`` is (``pipe:*``), or None."""
    found = pseudo_kind(path)
    return f"{found[0]}:*" if found is not None else None




# ---------------------------------------------------------------------------------------------
# Compaction: exact paths, fewer rules


#: Longest pattern text compaction makes (longer groups are split into several rules).
COMPACT_WIDTH = 400


def _brace_escape(text: str) -> str:
    """Glob text made safe inside ``{...}`` (a comma there separates alternatives)."""
    return text.replace(",", "\\,")


def _common_suffix(names: Sequence[str]) -> str:
    """The longest ``.ext`` ending every name shares (``.cpython-311.pyc``), if any."""
    first = names[0]
    for i, c in enumerate(first):
        if c != ".":
            continue
        suffix = first[i:]
        if all(n.endswith(suffix) and len(n) > len(suffix) for n in names):
            return suffix
    return ""


def _brace(names: Sequence[str]) -> list[str]:
    """``{a,b,c}.ext`` texts for names of one directory, split to stay readable."""
    suffix = _common_suffix(names)
    chunks: list[list[str]] = [[]]
    for name in names:
        stem = _brace_escape(name[:len(name) - len(suffix)])
        if chunks[-1] and sum(len(c) + 1 for c in chunks[-1]) + len(stem) > COMPACT_WIDTH:
            chunks.append([])
        chunks[-1].append(stem)
    return ["{" + ",".join(c) + "}" + suffix if len(c) > 1 else c[0] + suffix for c in chunks]


def _escape_top_commas(text: str) -> str:
    """Glob text made one alternative of a brace: its commas outside braces escaped."""
    out: list[str] = []
    depth = 0
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append("\\")
        out.append(c)
    return "".join(out)


def join(texts: Sequence[str]) -> list[str]:
    """Glob texts as few brace patterns ``{a,b,c}`` as stay readable (same meaning)."""
    chunks: list[list[str]] = [[]]
    for text in texts:
        text = _escape_top_commas(text)
        if chunks[-1] and sum(len(t) + 1 for t in chunks[-1]) + len(text) > COMPACT_WIDTH:
            chunks.append([])
        chunks[-1].append(text)
    return ["{" + ",".join(c) + "}" if len(c) > 1 else c[0] for c in chunks if c]


def compact(entries: list[tuple[tuple[str, ...], str]]) -> list[tuple[tuple[str, ...], str]]:
    """Exact path rules of the same calls, written as fewer rules with the same meaning:
    names of one directory as ``dir/{a,b}``, and directories holding the same names as
    ``{d1,d2}/{a,b}`` (the shell's $PATH search).  No path is added or lost."""
    by_parent: dict[tuple[tuple[str, ...], str], list[str]] = defaultdict(list)
    out: list[tuple[tuple[str, ...], str]] = []
    for calls, text in entries:
        parent, sep, name = text.rpartition("/")
        if not sep or not name:
            out.append((calls, text))
            continue
        by_parent[(calls, parent)].append(name)
    by_names: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for (calls, parent), in_parent in by_parent.items():
        if len(in_parent) == 1:
            out.append((calls, f"{parent}/{in_parent[0]}"))
        else:
            by_names[(calls, tuple(sorted(set(in_parent))))].append(parent)
    for (calls, names), parents in by_names.items():
        tails = _brace(names)
        head = "{" + ",".join(_brace_escape(p) for p in sorted(parents)) + "}"
        if (len(parents) > 1 and "" not in parents and len(tails) == 1
                and len(head) + len(tails[0]) <= COMPACT_WIDTH
                and len(parents) * len(names) <= 512):
            out.append((calls, f"{head}/{tails[0]}"))
            continue
        for parent in sorted(parents):
            out += [(calls, f"{parent}/{tail}") for tail in tails]
    return out


# ---------------------------------------------------------------------------------------------
# Scopes: the ladder of patterns for some paths, narrowest first


@dataclass(frozen=True, slots=True)
class Scope:
    """One way to write a rule for some paths: ``key`` (``file``, ``temp``, ``ext``,
    ``dir``, ``tree``, ``cwd``, ``home``), what it means in words, the glob, whether it
    reaches a sensitive location, and whether a permit of it is ``fresh`` (``temp``: a
    generated name's glob covers the older files the program chose to name so too --
    docs/security.md gap #30 --, so it covers only the paths the run makes, as learned).
    ``runs_later``: the glob matches, where the paths are, a name something runs later
    that is none of the paths (:func:`covers_runs_later`) -- a person's rule that writes
    there lets the program plant a hook, a makefile, a package.json (gap #32): the prompt
    and the review mark it."""

    key: str
    label: str
    pattern: str
    sensitive: bool = False
    fresh: bool = False
    runs_later: bool = False


@functools.lru_cache(maxsize=1)
def _runs_later_samples() -> tuple[str, ...]:
    """A relative path of each RUNS_LATER and RUNS_LATER_NAMES entry, and one inside it:
    each ``*`` spelled as nothing and as a letter (``.git``, ``x.git``), each ``**`` one
    name."""
    out: list[str] = []
    for pattern in [p for p, _ in RUNS_LATER] + [n for n, _ in RUNS_LATER_NAMES]:
        for star in ("", "x"):
            sample = "/".join("a" if c == "**" else c.replace("*", star)
                              for c in pattern.split("/"))
            out += [sample, sample + "/x"]
    return tuple(dict.fromkeys(out))


def covers_runs_later(pattern: str | None, expansions: Expansions, directory: str,
                      paths: Collection[str] = ()) -> bool:
    """Whether a path glob (None: any path) matches a name something runs later
    (RUNS_LATER) in ``directory`` or a directory below it, other than ``paths``: a sample
    of every entry, there and one level down, asked of the glob."""
    if pattern is None:
        return True
    try:
        glob = PathGlob(pattern, expansions=expansions)
    except GlobError:
        return False
    base = directory.rstrip("/")
    return any(glob.matches(path) for top in (base, base + "/sub")
               for sample in _runs_later_samples()
               if (path := f"{top}/{sample}") not in paths and runs_later(path))


def _common_directory(paths: Sequence[str]) -> str:
    parts = [components(p)[:-1] for p in paths]
    common: list[str] = []
    for names in zip(*parts, strict=False):
        if any(n != names[0] for n in names):
            break
        common.append(names[0])
    return "/" + "/".join(common)


def _one_of(texts: Sequence[str]) -> str:
    """Glob texts as one: the text, or a brace of them."""
    if len(texts) == 1:
        return texts[0]
    return "{" + ",".join(_escape_top_commas(t) for t in texts) + "}"


def exact_pattern(paths: Sequence[str], writer: PathWriter) -> str:
    """One glob naming exactly these paths (compacted when it can be one brace pattern)."""
    texts = sorted({writer.text(p) for p in paths})
    compacted = compact([((), t) for t in texts])
    return compacted[0][1] if len(compacted) == 1 else _alternatives(texts)


def scopes(paths: Sequence[str], writer: PathWriter,
           evidence: Evidence = Evidence.NONE) -> list[Scope]:
    """The patterns that cover every one of ``paths`` (absolute), narrowest first: the
    paths themselves, their generated names (one template in one directory), their
    extension in their directory, their directory, the tree of their common directory,
    everything below ``$CWD``, everything below ``~``.  Scopes that name the same glob are
    given once; each says whether it reaches a sensitive location."""
    if not paths or not all(p.startswith("/") for p in paths):
        return []
    home = writer.home
    sensitive_paths = any(is_sensitive(p, home) for p in paths)
    directory = _common_directory(paths)
    out: list[Scope] = []

    def add(key: str, label: str, pattern: str, fresh: bool = False) -> None:
        if any(s.pattern == pattern for s in out):
            return
        reaches = sensitive_paths or covers_sensitive(pattern, writer.expansions)
        out.append(Scope(key, label, pattern, reaches, fresh, covers_runs_later(
            pattern, writer.expansions, directory, paths)))

    add("file", "this file" if len(paths) == 1 else "these files", exact_pattern(paths, writer))
    parents = {p.rpartition("/")[0] or "/" for p in paths}
    names = [p.rpartition("/")[2] for p in paths]
    if directory != "/" and len(parents) == 1:
        generated = {generated_name(n, evidence) for n in names}
        if len(generated) == 1 and None not in generated:
            (glob,) = generated
            assert glob is not None
            # (as -A writes it, each run its shape: the reasoning glob's "*" let the next
            # run make any new name of the prefix -- tmp*, build.[1-9]*: learn38)
            room = max(1, PATH_ALTERNATIVES // len(names))
            add("temp", f"generated names like {names[0]} in {directory}, the run's own",
                writer.text(directory, tail="/" + _one_of(
                    sorted({written_glob(n, glob, room=room) for n in names}))), fresh=True)
        exts = {split_ext(n)[1] for n in names}
        if len(exts) == 1 and "" not in exts:
            (ext,) = exts
            add("ext", f"every *{ext} file in {directory}",
                writer.text(directory, tail="/*" + escape(ext)))
        add("dir", f"everything in {directory}", writer.text(directory, tail="/*"))
    if directory != "/":
        add("tree", f"everything below {directory}", writer.text(directory, tail="/**"))
    for top, key, variable in ((writer.cwd, "cwd", "$CWD"), (home, "home", "~")):
        if top and top != "/" and all(p.startswith(top + "/") for p in paths):
            add(key, f"everything below {variable} ({top})", f"{variable}/**")
    return out
