"""The one generalizer (systrace_py.policy.generalize): generated names told from ordinary ones
on many real names of this system and on names real generators make, categories, scopes.

The real names are the system's own (headers, the Python library and packages, /etc, the
timezone database, shared libraries, programs): none was generated, so none may be taken for a
random one where its shape alone would have to tell.  The generated names are drawn from each
generator's own alphabet (tempfile's 8 of [a-z0-9_], mkstemp's 6 of [A-Za-z0-9], mktemp's 10)
and also made by the generators themselves (Python's tempfile, the C library's mkstemps)."""

from __future__ import annotations

import ctypes
import datetime
import fnmatch
import os
import re
import string
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.generalize import (
    CATEGORIES,
    RANDOM_CHAR,
    Evidence,
    PathWriter,
    SystemFacts,
    category_pattern,
    category_roots,
    generated_name,
    in_category,
    learned_glob,
    number_shape,
    scopes,
    shaped_glob,
)
from systrace_py.policy.glob import Expansions, PathGlob
from systrace_py.policy.model import CallFacts, PathArg

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
WRITER = PathWriter.from_env(ENV)

# --- real names ------------------------------------------------------------------------------

_ROOTS = ["/usr/include", "/etc", "/usr/share/zoneinfo", "/usr/bin", "/usr/lib/x86_64-linux-gnu",
          sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
          f"/usr/lib/python3.{sys.version_info.minor}", "/usr/lib/python3/dist-packages"]
#: directories whose names *are* generated (c_rehash's hash links)
_GENERATED_DIRS = ("/etc/ssl/certs",)


def _real_names(limit: int = 60000) -> list[str]:
    names: set[str] = set()
    for root in dict.fromkeys(_ROOTS):
        for top, dirs, files in os.walk(root):
            if top.startswith(_GENERATED_DIRS):
                continue
            names.update(dirs)
            names.update(files)
            if len(names) > limit:
                break
    return sorted(names)


REAL = _real_names()
SEPARATORS = set("._-~#+,")


def _plain(name: str) -> bool:
    """No digit and no separator: a word (or words run together)."""
    return not any(c.isdigit() or c in SEPARATORS for c in name)


def _of_a_generators_template(name: str) -> bool:
    """cc + 6 (gcc), tmp + 6 or 8: a generator's own prefix and length -- a temporary file's
    life makes such a name the generator's."""
    stem = name.split(".")[0]
    return (stem.startswith("cc") and len(stem) == 8) or (
        stem.startswith("tmp") and len(stem) in (9, 11))


def test_there_are_enough_real_names():
    assert len(REAL) > 500, _ROOTS


# (each of every real name: the list is finite, and all of it is checked in under a second --
# 3000 draws of hypothesis from it, filtered, took 35 s and saw a fraction)
def test_a_real_name_is_never_generated_by_its_shape_alone():
    taken = [name for name in REAL if generated_name(name, Evidence.NONE) is not None]
    assert not taken, taken[:20]


def test_a_real_name_without_digits_is_never_generated_when_created():
    taken = [name for name in REAL if not any(c.isdigit() for c in name)
             and generated_name(name, Evidence.CREATED) is not None]
    assert not taken, taken[:20]


def test_a_word_stays_a_word_even_as_a_temporary_file():
    """tinypkg, Makefile, __init__: a temporary file's life is no reason to widen a name
    with no digit and no separator (outside a temporary directory)."""
    words = [name for name in REAL if _plain(name) and not _of_a_generators_template(name)]
    assert len(words) > 100, words  # (a system with words among its names)
    taken = [name for name in words if generated_name(name, Evidence.TEMPORARY) is not None]
    assert not taken, taken[:20]


@pytest.mark.parametrize("name", ["tinypkg", "Makefile", "requirements.txt", "index.lock",
                                  "maintenance.lock", "output.txt", "OpenMP", "__init__.py",
                                  "DWARFLinker", "Amsterdam", "LoopIdiomRecognize.h"])
def test_ordinary_names_of_temporary_files(name):
    assert generated_name(name, Evidence.TEMPORARY) is None


# --- generated names -------------------------------------------------------------------------

TEMPFILE = string.ascii_lowercase + string.digits + "_"
MKSTEMP = string.ascii_letters + string.digits
#: (prefix, length, alphabet, the least evidence that recognizes every run of it)
TEMPLATES = [
    ("tmp", 8, TEMPFILE, Evidence.TEMPORARY),       # Python's tempfile
    ("pip-unpack-", 8, TEMPFILE, Evidence.NONE),    # pip's directories
    ("pip-build-env-", 8, TEMPFILE, Evidence.NONE),
    ("pymp-", 8, TEMPFILE, Evidence.NONE),          # multiprocessing
    ("RECORD", 8, TEMPFILE, Evidence.TEMPORARY),    # pip's RECORD, written beside it
    ("build-", 8, TEMPFILE, Evidence.TEMPORARY),    # tempfile with a prefix of the caller's
    ("cc", 6, MKSTEMP, Evidence.TEMPORARY),         # gcc
    ("tmp_obj_", 6, MKSTEMP, Evidence.NONE),        # git
    ("sh-thd.", 6, MKSTEMP, Evidence.NONE),         # bash here-documents
    ("out-", 6, MKSTEMP, Evidence.TEMPORARY),       # mkstemp("out-XXXXXX")
    ("tmp.", 10, MKSTEMP, Evidence.NONE),           # mktemp(1)
]
SUFFIXES = ["", ".s", ".txt", ".tar.gz", ".cdtor.c", ".tmp"]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(TEMPLATES), st.sampled_from(SUFFIXES), st.data())
def test_a_generated_name_becomes_its_template(template, suffix, data):
    """Every name of a template gives the same glob, which matches them all: the next run's
    name is permitted, and no random character was kept."""
    prefix, length, alphabet, least = template
    run = st.text(alphabet, min_size=length, max_size=length)
    first, second = prefix + data.draw(run) + suffix, prefix + data.draw(run) + suffix
    for evidence in Evidence:
        if evidence < least:
            continue
        glob = generated_name(first, evidence)
        assert glob is not None, (first, evidence)
        assert glob == generated_name(second, evidence), (first, second)
        assert PathGlob("/d/" + glob, ENV).matches("/d/" + second)
        assert glob.startswith(prefix.replace(".", ".")) and "*" in glob


@settings(max_examples=300, deadline=None)
@given(st.text(TEMPFILE, min_size=8, max_size=8))
def test_pythons_probe_of_the_temporary_directory(run):
    """tempfile probes its directory with 8 random characters and no prefix: in a temporary
    directory, as a temporary file, that is a generated name however it came out."""
    assert generated_name(run, Evidence.TEMPORARY, in_tmpdir=True) == "*"
    # one that begins as a template would must still match the next run's probe
    assert generated_name("cc" + run[2:], Evidence.TEMPORARY, in_tmpdir=True) == "*"
    # in a $TMPDIR the workload exported itself (not one the learner knows), made as mkstemp
    # makes a file: "xnjsulek" was "xn*" (a prefix and mkstemp's 6), 6 % of next runs refused
    assert generated_name(run, Evidence.TEMPORARY, mkstemp=True) == "*"


def test_names_the_generators_really_make(tmp_path):
    made: dict[str, list[str]] = {}
    for prefix, suffix in (("tmp", ""), ("tmp", ".json"), ("", ""), ("RECORD", ".tmp"),
                           ("pip-unpack-", ""), ("x.", ""),
                           # (wheel's editable build: an undotted suffix after the run)
                           ("tmp", "demo-0.1-0.editable-py3-none-any.whl")):
        names = made.setdefault(f"py:{prefix}:{suffix}", [])
        for _ in range(60):
            fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=tmp_path)
            os.close(fd)
            os.unlink(path)
            names.append(os.path.basename(path))
    libc = ctypes.CDLL(None, use_errno=True)
    for template, suffix_length in ((b"ccXXXXXX.s", 2), (b"tmp_obj_XXXXXX", 0),
                                    (b"tmp.XXXXXXXXXX", 0), (b"out-XXXXXX", 0)):
        names = made.setdefault(template.decode(), [])
        for _ in range(60):
            buffer = ctypes.create_string_buffer(bytes(tmp_path) + b"/" + template)
            fd = libc.mkstemps(buffer, suffix_length)
            assert fd >= 0, ctypes.get_errno()
            os.close(fd)
            os.unlink(buffer.value)
            names.append(os.path.basename(buffer.value.decode()))
    for label, names in made.items():
        globs = {generated_name(n, Evidence.TEMPORARY, in_tmpdir=True) for n in names}
        assert len(globs) == 1 and None not in globs, (label, globs)


@pytest.mark.parametrize(("name", "evidence", "glob"), [
    ("sort.4242", Evidence.CREATED, "sort.*"),           # a pid
    ("x.cpython-311.pyc.140230", Evidence.CREATED, "x.cpython-311.pyc.*"),  # id()
    ("out-4242.log", Evidence.TEMPORARY, "out-*.log"),
    ("out-4242.log", Evidence.CREATED, None),            # (a number before an extension)
    ("4242", Evidence.TEMPORARY, "*"),
    ("4242", Evidence.CREATED, None),
    ("libfoo.so.6", Evidence.TEMPORARY, None),           # one digit is a version
    ("t8e1Ujj", Evidence.TEMPORARY, "t*"),               # a short template
    ("t8e1Ujj", Evidence.CREATED, None),
])
def test_numbers_and_short_templates(name, evidence, glob):
    assert generated_name(name, evidence) == glob


@pytest.mark.parametrize(("name", "renamed_to", "evidence", "glob"), [
    ("a.txt.oS1w5Iv", "a.txt", Evidence.TEMPORARY, "a.txt.o*"),   # GNU patch's output
    ("a.txt.okesnIg", "a.txt", Evidence.TEMPORARY, "a.txt.o*"),   # (no digit: made O_EXCL)
    ("a.txt.okes1Ig", "a.txt", Evidence.CREATED, "a.txt.o*"),     # (mixed: random)
    ("a.txt.obackup", "a.txt", Evidence.CREATED, None),           # a word
    ("a.txt.old", "a.txt", Evidence.TEMPORARY, None),
    ("direct_url.jsonxqzuk8he.tmp", "direct_url.json", Evidence.CREATED,
     "direct_url.json*.tmp"),
])
def test_a_file_renamed_onto_the_name_it_begins_with(name, renamed_to, evidence, glob):
    assert generated_name(name, evidence, renamed_to=renamed_to) == glob


@pytest.mark.parametrize(("name", "evidence", "glob"), [
    ("conf12443.file", Evidence.CREATED, "conf[1-9]*.file"),    # configure's conf$$.file
    ("conf12443subs.sh", Evidence.CREATED, "conf[1-9]*subs.sh"),
    ("a12443b12443", Evidence.CREATED, "a[1-9]*b[1-9]*"),        # each of its pids
    ("conf12443.file", Evidence.NONE, None),                      # only a name the run made
    ("conf12444.file", Evidence.CREATED, None),                   # another number
    ("out012443.log", Evidence.CREATED, None),                    # a leading zero: no pid
    ("lib64", Evidence.CREATED, None),                            # (and 64 one: too short)
])
def test_a_number_that_is_a_pid_of_the_run(name, evidence, glob):
    assert generated_name(name, evidence, pids={12443, 64}) == glob


@given(st.integers(100, 4_194_304), st.sampled_from(["conf", "x", "tmp-", ".a_"]),
       st.sampled_from(["", ".file", "subs.sh", "-x.o"]))
def test_a_pid_in_a_made_name_becomes_a_glob_the_next_runs_pid_matches(pid, head, tail):
    glob = generated_name(f"{head}{pid}{tail}", Evidence.CREATED, pids={pid})
    assert glob is not None
    for other in (pid + 1, 7, 4_194_303, 12345678):
        assert fnmatch.fnmatchcase(f"{head}{other}{tail}", glob), (glob, other)


# --- categories ------------------------------------------------------------------------------

def by_key(key: str):
    return next(c for c in CATEGORIES if c.key == key)


def test_the_libraries_category():
    libraries = by_key("libraries")
    seen = ["/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1",
            "/opt/vendor/lib/libv.so"]  # (not a library directory: not the category's)
    roots = category_roots(libraries, None, seen)
    assert "/usr/lib/x86_64-linux-gnu" in roots and "/opt/vendor/lib" not in roots
    glob = PathGlob(category_pattern(libraries, roots, WRITER), ENV)
    for path in ("/usr/lib/x86_64-linux-gnu/libssl.so.3", "/etc/ld.so.cache",
                 "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libm.so.6"):
        assert glob.matches(path) and in_category(path, libraries, roots), path
    assert not glob.matches("/usr/lib/x86_64-linux-gnu/perl/x.pm")
    assert not in_category("/opt/vendor/lib/libv.so", libraries, roots)


def test_python_roots_come_from_what_was_read():
    python = by_key("python")
    roots = category_roots(python, None, ["/usr/lib/python3.11/os.py",
                                          "/usr/lib/python3/dist-packages/yaml/x.py",
                                          "/usr/local/lib/python3.11/dist-packages/a.py"])
    assert roots == ("/usr/lib/python3", "/usr/lib/python3.11", "/usr/local/lib/python3.11")
    facts = SystemFacts({"python": ("/opt/py/lib/python3.12",)})
    assert category_roots(python, facts, []) == ("/opt/py/lib/python3.12",)


def test_system_facts_survive_the_log():
    facts = SystemFacts({"headers": ("/usr/include", "/usr/local/include")})
    assert SystemFacts.from_json(facts.to_json()) == facts
    for bad in ([], {"nope": ["/x"]}, {"headers": ["relative"]}, {"headers": "/x"}):
        with pytest.raises(ValueError):
            SystemFacts.from_json(bad)


# --- scopes ----------------------------------------------------------------------------------

def test_scopes_narrowest_first_and_marked_when_sensitive():
    ladder = scopes(["/data/sub/x"], WRITER)
    assert [(s.key, s.pattern) for s in ladder] == [
        ("file", "/data/sub/x"), ("dir", "/data/sub/*"), ("tree", "/data/sub/**")]
    assert not any(s.sensitive for s in ladder)
    secret = scopes(["/home/u/.ssh/id_rsa"], WRITER)
    assert all(s.sensitive for s in secret)
    notes = {s.key: s for s in scopes(["/home/u/notes"], WRITER)}
    assert notes["dir"].pattern == "~/*" and notes["dir"].sensitive  # ~/* reaches ~/.ssh


def test_scopes_that_reach_a_name_something_runs_later_are_marked():
    """The ASK prompt's scopes and the review's ladder: ``dir`` of a source file covers
    ``Makefile``, ``*.json`` a package.json, ``dir`` of a hook the other hooks -- a person's
    writing rule of any of them lets the program plant a command run later (gap #32).  The
    path itself, its extension where no such name has it, and a generated name's glob are
    not marked."""
    cwd = PathWriter(Expansions.from_env({"HOME": "/home/u", "CWD": "/work/proj"}))
    marks = {s.key: s.runs_later for s in scopes(["/work/proj/src/a.c"], cwd)}
    assert marks == {"file": False, "ext": False, "dir": True, "tree": True, "cwd": True}
    marks = {s.key: s.runs_later for s in scopes(["/work/proj/data.json"], cwd)}
    assert marks["file"] is False and marks["ext"] is True  # (package.json)
    marks = {s.key: s.runs_later for s in scopes(["/work/proj/b/tmpab12cd34.o"], cwd,
                                                 Evidence.TEMPORARY)}
    assert marks["temp"] is False and marks["ext"] is False and marks["dir"] is True
    hooks = {s.key: s for s in scopes(["/work/proj/.git/hooks/pre-commit"], cwd)}
    assert not hooks["file"].runs_later and hooks["dir"].runs_later


def test_the_prompt_and_the_review_mark_a_writing_scope_that_runs_later():
    """The offers say so for a call that writes (a read plants nothing: no mark), the
    prompt shows it, the review's widening says it."""
    from systrace_py.ui.offers import offers_for
    env = {"HOME": "/home/u", "CWD": "/work/proj"}
    path = (PathArg("path", "/work/proj/src/a.c"),)
    wrote = offers_for(CallFacts("openat", path, os.O_WRONLY | os.O_CREAT), "path", env)
    read = offers_for(CallFacts("openat", path, os.O_RDONLY), "path", env)
    assert {o.key for o in wrote if o.runs_later} == {"dir", "tree", "cwd"}
    assert not any(o.runs_later for o in read)
    from systrace_py.policy.files import dumps_policy, loads_policy
    from systrace_py.policy.learn import MAIN, LearnOptions, Observation, learn
    from systrace_py.ui.review import RUNS_LATER_MARK, Review, describe
    made = [Observation(MAIN, "openat", (PathArg("path", f"/work/proj/o/out-{n}.log"),),
                        os.O_RDWR | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True)
            for n in ("a1b2c3d4", "b7c8d9e0")]
    text = dumps_policy(learn(made, LearnOptions(env=env)).policy)
    review = Review(loads_policy(text, "learned.toml", env), env)
    (item,) = review.items
    shown = []
    while True:
        shown.append("\n".join(describe(item, 1, 1)))
        if not review.widen(item):
            break
    widen = [line for screen in shown for line in screen.splitlines() if "widen" in line]
    assert any("$CWD/o/*.log" in w and RUNS_LATER_MARK not in w for w in widen), widen
    assert any("$CWD/o/*" in w and w.endswith(RUNS_LATER_MARK) for w in widen), widen


def test_scopes_of_several_paths():
    ladder = {s.key: s.pattern for s in scopes(
        ["/work/proj/out/a.o", "/work/proj/out/b.o"], WRITER)}
    assert ladder == {"file": "$CWD/out/{a,b}.o", "ext": "$CWD/out/*.o", "dir": "$CWD/out/*",
                      "tree": "$CWD/out/**", "cwd": "$CWD/**"}
    spread = [(s.key, s.pattern) for s in scopes(["/work/proj/a/x.c", "/work/proj/b/y.c"],
                                                 WRITER)]
    assert spread == [("file", "{$CWD/a/x.c,$CWD/b/y.c}"), ("tree", "$CWD/**")]
    generated = {s.key: s.pattern for s in scopes(["/tmp/ccAb12Cd.s", "/tmp/ccXy34Zw.s"],
                                                  WRITER, Evidence.TEMPORARY)}
    # (each name's shape, as -A writes it: "cc*.s" was any new name of cc -- learn38)
    assert generated["temp"] == "$TMPDIR/cc" + RANDOM_CHAR * 6 + ".s"
    numbered = {s.key: s.pattern for s in scopes(["/tmp/out.4242", "/tmp/out.987"],
                                                 WRITER, Evidence.TEMPORARY)}
    assert numbered["temp"] == "$TMPDIR/out." + number_shape("4242")


def test_the_real_name_corpus_is_this_systems(tmp_path):
    """(The corpus is read from the running system; a few names it must hold.)"""
    assert {"stdio.h", "os.py"} <= set(REAL) or not Path("/usr/include/stdio.h").exists()


def test_a_library_below_a_hwcaps_directory_belongs_to_the_directory_it_is_in():
    """Found by hypothesis: a library one level below ``glibc-hwcaps/NAME`` was taken for one
    of ``root`` while the category's pattern covers only ``root/glibc-hwcaps/*/*.so*``."""
    libraries = next(c for c in CATEGORIES if c.key == "libraries")
    for path in ("/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/0/libc.so.6",
                 "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6",
                 "/usr/lib/x86_64-linux-gnu/libc.so.6"):
        roots = category_roots(libraries, None, [path])
        glob = PathGlob(category_pattern(libraries, roots, WRITER), ENV)
        assert in_category(path, libraries, roots) and glob.matches(path), (path, roots)


@pytest.mark.parametrize("name", ["tseoIkr", "tabcDef", "t8e1Ujj", "tWUl3fL"])
def test_git_symlink_probe_names_are_generated_when_their_life_says_so(name):
    """git init probes symlinks with mkstemp("tXXXXXX"): created new, then removed.  Its six
    random characters may hold no digit (found by the git learning test: ``tseoIkr`` was kept
    literally, and the next run's name was refused).  Six lowercase letters stay a word (about
    1 run in 100 of mkstemp's: a limit of recognition by shape, docs/learning.md)."""
    assert generated_name(name, Evidence.TEMPORARY) == "t*"
    if name in ("tseoIkr", "tabcDef"):
        assert generated_name(name) is None  # seen only: a word may look so
    assert generated_name("tabcdef", Evidence.TEMPORARY) is None


@given(st.text(string.ascii_letters + string.digits, min_size=6, max_size=6),
       st.sampled_from(["t", "pre", "x.", "build-", ".git-probe"]),
       st.sampled_from(["", ".tmp", ".s"]))
def test_a_mkstemp_made_temporary_name_is_generated_whatever_its_letters(run, prefix, suffix):
    """mkstemp's six characters spell a word-like run (``tgdavrb``, ``tNlwsek``) in about 3 %
    of git's ``tXXXXXX`` probes: shape alone keeps them literal and the next run's name is
    refused (the git learning test's flake).  Made as mkstemp makes a file (read-write,
    O_EXCL, mode 0600) and removed, every run is generated; the prefix stays literal (but
    for the two characters Python's 8-character run may also have taken: ``pre`` + 6
    lowercase letters reads as ``p`` + 8; where the prefix ends in a separator, all of it)."""
    name = prefix + run + suffix
    glob = generated_name(name, Evidence.TEMPORARY, mkstemp=True)
    assert glob is not None and fnmatch.fnmatchcase(name, glob), (name, glob)
    head, star, tail = glob.partition("*")
    assert star and tail == suffix and head and prefix.startswith(head) and \
        len(head) >= len(prefix) - 2, (name, glob)
    if prefix[-1] in "._-":
        assert head == prefix, (name, glob)


@given(st.text(string.ascii_letters + string.digits, min_size=10, max_size=10),
       st.sampled_from([Evidence.CREATED, Evidence.TEMPORARY]))
def test_mktemp_d_scratch_directory_is_its_template(run, evidence):
    """``mktemp -d scratch.XXXXXXXXXX`` (mkdir 0700: made as mkdtemp makes them), kept or
    removed: the 10 after the dot are generated whatever their letters -- kept, a run of
    letters only (1 time in 6) was learned literally, and removed, ``scratch.YMEm*`` (6 of
    the 10, always): the next run's mkdir was refused.  Made otherwise, kept, a run of letters
    only stays a word."""
    assert generated_name("scratch." + run, evidence, mkstemp=True) == "scratch.*"
    if run.isalpha():
        assert generated_name("scratch." + run, Evidence.CREATED) is None


@pytest.mark.parametrize("name", ["tinypkg", "Makefile", "tabcdef"])
def test_a_word_needs_mkstemps_way_and_a_temporary_life(name):
    assert generated_name(name, Evidence.TEMPORARY) is None      # not made as mkstemp makes
    assert generated_name(name, Evidence.CREATED, mkstemp=True) is None  # not a temporary life
    assert generated_name(name, Evidence.TEMPORARY, mkstemp=True) is not None


def test_a_mkstemp_made_name_without_a_prefix_is_never_everything():
    assert generated_name("abcdef", Evidence.TEMPORARY, mkstemp=True) is None


def test_a_numbered_bytecode_file_keeps_its_module_name():
    """Python writes NAME.cpython-311.pyc.ID (id() of an object) and renames it: the id is the
    generated part.  A shape inside the module's name ("37compat" of py37compat, "runner__" of
    __pip-runner__) took its place and left the id literal: the next run's was refused (68 of
    `python3 -m venv`'s writes under its learned policy)."""
    modules = sorted({name[:-3] for name in REAL if name.endswith(".py")})
    assert len(modules) > 100, modules
    wrong = []
    for module in modules:
        name = f"{module}.cpython-311.pyc.{139922958219232 + len(module)}"
        for evidence in (Evidence.CREATED, Evidence.TEMPORARY):
            glob = generated_name(name, evidence)
            if glob is None or not fnmatch.fnmatchcase(f"{module}.cpython-311.pyc.7", glob) \
                    or not glob.endswith(".cpython-311.pyc.*"):
                wrong.append((name, evidence, glob))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(("name", "evidence", "glob"), [
    # libgit2's probes: a run of 8 or more hex digits is a hash or a random number
    ("_git2_f1e03703dee5fac5", Evidence.TEMPORARY, "_git2_*"),
    ("libgfortran-8f1e9814.so.5", Evidence.CREATED, "libgfortran-*.so.5"),
    # rustc's incremental sessions, their locks and finished names; its codegen units
    ("s-horx221fz9-0e0c6zx.lock", Evidence.CREATED, "s-*-*.lock"),
    ("s-horx20uqr8-0pv180a-working", Evidence.TEMPORARY, "s-*-*-working"),
    ("s-horx20uqr8-0pv180a-3hxz1qi0k0xbyk3ct7ynp8y6c", Evidence.CREATED, "s-*-*-*"),
    ("app-b0a626c48b003309.1bpip7sd3b2voqrcq1lwhndz8.072x49n.rcgu.o", Evidence.TEMPORARY,
     "app-*.1bpip7sd3b2voqrcq1lwhndz8.*.rcgu.o"),
    # Rust's tempfile crate and rustc's directories made with it (mode 0777: no mkdtemp way)
    ("rmetaoRIxZO", Evidence.TEMPORARY, "rmeta*"), ("rustccliCrf", Evidence.TEMPORARY, "rustc*"),
    (".tmpAbCdEf", Evidence.TEMPORARY, ".tmp*"),
    # cmake's try-compile targets, and what follows them
    ("cmTC_ec4ca.dir", Evidence.TEMPORARY, "cmTC_*.dir"),
    ("cmTC_190bc_loc.tmp90300", Evidence.TEMPORARY, "cmTC_*_loc.tmp*"),
    ("CMakeCache.txt.tmpbfacc", Evidence.CREATED, "CMakeCache.txt.tmp*"),  # letters only
    ("CMakeCache.txt.tmp58882", Evidence.CREATED, "CMakeCache.txt.tmp*"),
    # git's packs written beside their final name, a pid inside: with a temporary life only
    (".tmp-8235-pack-c594a4c84ce5d1a3545ee0d2b2ff8de25408d24f.pack", Evidence.TEMPORARY,
     ".tmp-*-pack-*.pack"),
])
def test_generators_of_build_tools_are_known(name, evidence, glob):
    """Found by learning `cargo build` and a cmake configure, then running them again under
    the learned policy: each of these was learned literally and the next run's refused."""
    assert generated_name(name, evidence) == glob


@pytest.mark.parametrize("name", ["s-release-notes", "s-abcdefghij-klmnopq", "lib2to3.py",
                                  "inC14N1.xml", "sha256sums", "utf8proc-2.9.0", "cmTC_loc",
                                  "deadbeef"])
def test_words_with_numbers_are_not_taken_for_those_generators(name):
    assert generated_name(name, Evidence.CREATED) is None, generated_name(name, Evidence.CREATED)


def test_a_hex_part_in_a_real_name_is_a_hash():
    """Every name of this system that the hex rule widens is a hash (auditwheel's libraries,
    hypothesis' ``_known_<hex>``): no word of 8 hex digits mixes digits and letters."""
    from systrace_py.policy.generalize import _random_segments
    taken = [n for n in REAL if _random_segments(n, Evidence.CREATED) is not None]
    words = [n for n in taken if not any(
        len(p) >= 8 and any(c.isdigit() for c in p) for p in n.replace("-", ".").replace(
            "_", ".").split("."))]
    assert not words, words[:10]


@pytest.mark.parametrize(("name", "glob"), [
    ("2026-12-04T20_05_29_165Z-debug-0.log", "????-??-??T??_??_??_???Z-debug-0.log"),  # npm
    ("backup-2026-12-04_20-05-29.tar", "backup-????-??-??_??-??-??.tar"),
    ("log.20261204T200529", "log.????????T??????"),
    ("26d8a713-0c3f-4d15-801c-b6c8bf0abeb4", "????????-????-????-????-????????????"),  # npm
])
def test_dates_and_uuids_keep_their_shape(name, glob):
    """npm names its logs by the time and its cache's temporary files by a UUID: learned
    literally, the next run's were refused.  Kept as a shape (each digit a class: ``[0-9]``,
    a UUID's ``[0-9a-fA-F]``; ``glob`` here writes them ``?``) the glob matches the next
    run's and nothing a program could name around a ``*`` -- nor, red team 16, an older
    name of the same length and separators (a ``?`` is any character)."""
    digit = "[0-9a-fA-F]" if "T" not in glob and glob.count("-") == 4 else "[0-9]"
    assert shaped_glob(name) == glob.replace("?", digit)
    assert not fnmatch.fnmatchcase(".bashrc", shaped_glob(name))
    assert fnmatch.fnmatchcase(name.replace("2", "7"), shaped_glob(name))
    assert not fnmatch.fnmatchcase(re.sub("[0-9]", "x", name), shaped_glob(name))


@given(st.datetimes(min_value=datetime.datetime(1970, 1, 1),
                    max_value=datetime.datetime(9999, 1, 1)), st.uuids())
def test_every_time_and_uuid_matches_the_shape_of_another(when, uuid):
    first = f"{when:%Y-%m-%dT%H_%M_%S}_{when.microsecond // 1000:03d}Z-debug-0.log"
    glob = shaped_glob("2026-12-04T20_05_29_165Z-debug-0.log")
    assert glob is not None and fnmatch.fnmatchcase(first, glob)
    assert fnmatch.fnmatchcase(str(uuid), shaped_glob("26d8a713-0c3f-4d15-801c-b6c8bf0abeb4"))


@pytest.mark.parametrize("name", ["x-2026-12-04", "plain", "v1.2.3", "release-2024.tar"])
def test_a_date_alone_or_a_version_is_no_shape(name):
    assert shaped_glob(name) is None


# --- a learned glob where it is used (red team 13b) -------------------------------------------

@pytest.mark.parametrize(("pattern", "cwd", "kept_out", "still"), [
    ("$CWD/**", "/home/u", ["/home/u/.ssh/id_rsa", "/home/u/.netrc"], ["/home/u/proj/a.c"]),
    ("$CWD/*", "/home/u", ["/home/u/.netrc", "/home/u/.bash_history"], ["/home/u/notes"]),
    ("$CWD/**", "/", ["/etc/shadow", "/root/.ssh/x", "/boot/vmlinuz"], ["/etc/hosts"]),
    ("/home/*/**", "/work", ["/home/bob/.gnupg/k", "/home/bob/.aws/credentials"],
     ["/home/bob/src/x"]),
    ("{/home/u/.ssh/config,$CWD/**}", "/home/u", ["/home/u/.ssh/id_rsa"],
     ["/home/u/.ssh/config", "/home/u/x"]),
    # (two wildcard levels below the prefix: one level deeper than the prefix's own entries)
    ("$CWD/*/*", "/home", ["/home/bob/.netrc", "/home/bob/.bash_history"],
     ["/home/bob/notes"]),
    ("$CWD/*/*/*", "/home", ["/home/bob/.ssh/id_rsa"], ["/home/bob/src/x.c"]),
    # what the user's session runs when it next starts (red team 17: a fresh ~/.bash* made
    # ~/.bash_profile where there was none)
    ("$CWD/.bash*", "/home/u", ["/home/u/.bash_profile", "/home/u/.bashrc",
                                "/home/u/.bash_login", "/home/u/.bash_logout"],
     ["/home/u/.bashrcQ2r8Zt"]),
    ("$CWD/.config/*/*", "/home/u", ["/home/u/.config/autostart/x.desktop",
                                     "/home/u/.config/systemd/user", "/home/u/.config/git/config"],
     ["/home/u/.config/app/settings"]),
    ("$CWD/.*", "/home/u", ["/home/u/.profile", "/home/u/.zshenv", "/home/u/.gitconfig",
                            "/home/u/.pam_environment", "/home/u/.xsessionrc"],
     ["/home/u/.a1b2c3"]),
])
def test_a_learned_glob_stays_out_of_sensitive_locations_where_it_is_used(
        pattern: str, cwd: str, kept_out: list[str], still: list[str]) -> None:
    """Learning never widens into ~/.ssh; a learned ``$CWD/**`` used from the home directory
    (or ``/``) would match it.  The learned glob matches what the glob does but sensitive
    locations it does not name exactly."""
    ex = Expansions(home="/home/u", cwd=cwd, tmpdir="/tmp", user="u")
    glob = PathGlob(pattern, expansions=ex)
    learned = learned_glob(glob, ex)
    for path in kept_out:
        assert glob.matches(path) and not learned.matches(path), path
    for path in still:
        assert learned.matches(path), path
    if glob.covers_all_below(cwd):  # (a move of the directory: not all of it is granted)
        assert not learned.covers_all_below(cwd)


def test_homes_below_a_linked_home_root_stay_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths are matched resolved: where ``/home`` is a link to ``var/home`` (Silverblue,
    CoreOS), every user's ``.ssh`` is ``/var/home/*/.ssh`` -- which ``/home/*/.ssh`` never
    matches (red team 14).  The home roots are taken where they really are too."""
    from systrace_py.policy import sensitive
    from systrace_py.policy.generalize import is_sensitive

    real = os.path.realpath
    monkeypatch.setattr(sensitive.os.path, "realpath",
                        lambda p: "/var/home" if p == "/home" else real(p))
    caches = (sensitive._sensitive_patterns, sensitive._sensitive_regex,
              sensitive._sensitive_index, sensitive._reachable_tests)
    for cache in caches:
        cache.cache_clear()
    try:
        assert is_sensitive("/var/home/bob/.ssh/id_rsa", "/var/home/u")
        assert is_sensitive("/home/bob/.ssh/id_rsa", "/var/home/u")
        ex = Expansions(home="/var/home/u", cwd="/var/home", tmpdir="/tmp", user="u")
        glob = PathGlob("$CWD/**", expansions=ex)
        learned = learned_glob(glob, ex)
        assert not learned.matches("/var/home/bob/.aws/credentials")
        assert learned.matches("/var/home/bob/notes.txt")
    finally:
        for cache in caches:
            cache.cache_clear()


def test_a_learned_glob_that_reaches_nothing_sensitive_is_the_glob_itself() -> None:
    """The common case keeps the rule index's fast paths (shapes): no wrapper."""
    ex = Expansions(home="/home/u", cwd="/home/u/proj", tmpdir="/tmp", user="u")
    for pattern in ("$CWD/**", "$CWD/*", "/usr/lib/**", "~/.cache/pip/**", "$TMPDIR/tmp*"):
        glob = PathGlob(pattern, expansions=ex)
        assert learned_glob(glob, ex) is glob, pattern


@pytest.mark.parametrize("action", ["never", "ask"])
def test_a_learned_rule_made_a_refusal_still_covers_sensitive_locations(action: str) -> None:
    """The wrapper keeps a *grant* out of sensitive locations; a learned rule a person turned
    into a refusal or a question (keeping its ``learned`` key, as docs/learning.md says one
    may) must not let ``~/.ssh`` fall through to the rules after it -- here the default,
    permit."""
    from systrace_py.policy.files import loads_policy
    from systrace_py.policy.model import Action, CallFacts, PathArg

    policy = loads_policy(
        'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "$CWD/**"\n'
        f'action = "{action}"\nlearned = {{kind = "trees walked", seen = 3}}\n',
        "p.toml", {"HOME": "/home/u", "CWD": "/home/u", "TMPDIR": "/tmp", "USER": "u"})
    for path in ("/home/u/.ssh/id_rsa", "/home/u/notes"):
        facts = CallFacts("openat", (PathArg("path", path),), open_flags=os.O_RDONLY)
        assert policy.main.decide(facts).action is Action(action), path


@pytest.mark.parametrize(("name", "glob"), [
    (".#lk0x0000555e81870410.vm.8785", ".#lk0x*.vm.[1-9]*"),   # gnupg's dotlock, padded
    (".#lk0x55e0d9d292a0.vm.8785x", ".#lk0x*.vm.[1-9]*x"),      # %p; a digit of it no pid
    ("obj_0x7FFD12345678.dat", "obj_0x*.dat"),
])
def test_an_address_in_a_created_name_is_generated(name, glob):
    """An address (%p) in a name the run made is another on the next run (the heap is placed
    at random): gnupg's lock files were refused on the next run.  Seen only, or not an
    address (7 digits, cases mixed, letters after it), the name stays."""
    pids = {8785, 5555}
    assert generated_name(name, Evidence.NONE, pids=pids) is None
    assert generated_name(name, Evidence.CREATED, pids=pids) == glob
    assert PathGlob("/d/" + glob).matches("/d/" + name)
    for kept in ("foo0x1234567", "ab0x00000000deadBEEF", "v0x12345678xyz", "0x1234abcdz"):
        assert generated_name(kept, Evidence.CREATED) is None, kept


# --- names something runs later (gap #32) ----------------------------------------------------
#: a path of each RUNS_LATER entry, below some directory (its "*" spelled)
RUNS_LATER_SAMPLES = (
    ".git/hooks/pre-commit", ".git/hooks", "r.git/hooks/post-checkout", ".git/config",
    ".git/info/attributes", ".git/info/exclude", ".git/modules/sub/hooks/pre-push",
    ".git/modules/sub/config", ".git/modules/sub/info/attributes", ".husky/pre-commit",
    ".git/commondir", ".git/worktrees/wt/commondir", ".git/modules/sub/commondir",
    ".git/modules/third_party/lib/hooks/pre-commit", ".git/modules/a/modules/b/config",
    "sub/.git",
    ".envrc", "Makefile", "makefile", "GNUmakefile", "conftest.py", "sitecustomize.py",
    "usercustomize.py", "lib/python3.11/site-packages/evil.pth",
    "lib/python3/dist-packages/evil.pth", ".vscode/tasks.json", ".vscode/settings.json",
    "pkg/__pycache__/tool.cpython-311.pyc", ".githooks/pre-commit", ".githooks",
    ".pre-commit-config.yaml", "package.json", "node_modules/left-pad/package.json",
    "tox.ini", "noxfile.py", "justfile", "Justfile", ".justfile", "setup.py", "setup.cfg",
    "pkg/pyproject.toml", ".gitattributes", "src/.gitattributes",
    # (of another case: a case-insensitive directory's, which is the same name)
    ".GIT/HOOKS/pre-commit", "r.Git/Config", "MAKEFILE", "Package.JSON", "Setup.PY",
    "p/__PYCACHE__/m.cpython-311.PYC",
    "lib/python3.11/site-packages/systrace_py/__pycache__/modules.run.cpython-311.marshal")
#: names beside them that run nothing later, at any depth
NOT_RUNS_LATER = (
    ".git/objects/info/packs", ".git/info/refs", ".git/info/refs_g1EtCA", ".git/config.lock",
    ".git/index", ".git/objects/ab/cdef", "hooks/pre-commit", "Makefile.tmp96824",
    "Makefile.am", "conftest.c", "conftest.pyc", "site-packages/pkg/data.pth",
    "evil.pth", ".vscode/launch.json.bak", "tests/test_x.py", "envrc",
    "__pycache__/tool.cpython-311.pyc.140212345678", "package-lock.json", "package.json.bak",
    "tox.ini.orig", "noxfile.pyc", "githooks/pre-commit", ".pre-commit-hooks.yaml",
    "setup.pyc", "setup.py.orig", "pyproject.toml.bak", "gitattributes", ".gitattributes~",
    "pkg/__pycache__/data.marshal")


def test_every_entry_that_runs_later_has_a_sample() -> None:
    from systrace_py.policy.generalize import RUNS_LATER
    for pattern, why in RUNS_LATER:
        assert why, pattern
        assert any(fnmatch.fnmatchcase(s, pattern) or fnmatch.fnmatchcase(s, pattern + "/*")
                   or any(fnmatch.fnmatchcase("/".join(s.split("/")[i:]), pattern)
                          for i in range(len(s.split("/"))))
                   for s in RUNS_LATER_SAMPLES), pattern


_NAME = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1,
                max_size=12).filter(lambda n: n not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(st.lists(_NAME, max_size=5), st.sampled_from(RUNS_LATER_SAMPLES),
       st.lists(_NAME, max_size=2))
def test_a_name_that_runs_later_is_one_at_any_depth(above, sample, below):
    """Wherever a repository, a project or a virtual environment is -- any directories
    above -- its hooks, makefiles, conftest.py and .pth files are run later: the name is
    one, and so is anything inside it; it begins in the directory above it (or higher,
    where a name above is one too)."""
    from systrace_py.policy.generalize import planted_at, runs_later
    directory = "/" + "/".join(above)
    path = (directory.rstrip("/") + "/" + sample).rstrip("/")
    inside = "/".join([path, *below]) if sample.startswith((".git/hooks", ".husky",
                                                            ".githooks")) or \
        sample == ".git/hooks" else path
    assert runs_later(path) and runs_later(inside)
    begins = planted_at(path)
    assert begins is not None
    assert directory.rstrip("/") == begins.rstrip("/") or \
        (directory.rstrip("/") + "/").startswith(begins.rstrip("/") + "/") or \
        begins.startswith(directory.rstrip("/") + "/")


@settings(max_examples=300, deadline=None)
@given(st.lists(_NAME.filter(lambda n: not any(
    fnmatch.fnmatchcase(n.lower(), p.lower()) for p in (
        "*.git", "site-packages", "dist-packages", "setup.py", "setup.cfg", "pyproject.toml",
        ".gitattributes", ".husky", ".vscode", ".envrc", "Makefile", "makefile",
        "GNUmakefile", "conftest.py", "sitecustomize.py", "usercustomize.py", ".githooks",
        ".pre-commit-config.yaml", "package.json", "tox.ini", "noxfile.py", "justfile",
        ".justfile", "__pycache__"))),
    max_size=5), st.sampled_from(NOT_RUNS_LATER))
def test_the_names_beside_them_are_not(above, sample):
    from systrace_py.policy.generalize import planted_at, runs_later
    path = "/" + "/".join([*above, sample])
    assert not runs_later(path) and planted_at(path) is None, path


@pytest.mark.parametrize(("directory", "reaches"), [
    ("/w/r/.git", True), ("/w/bare.git", True), ("/w/r/.git/hooks", True),
    ("/w/r/.git/modules", True), ("/v/lib/python3.11/site-packages", True),
    ("/w/.vscode", True), ("/w/.husky", True), ("/w/src", False), ("/w/r/.git/objects", False),
    ("/w/build", False), ("/v/lib/python3.11/site-packages/pkg", False),
    ("/w/r/.GIT", True), ("/w/BARE.GIT/Hooks", True),
])
def test_a_moved_directory_reaches_a_name_that_runs_later_across_its_own(directory, reaches):
    """Moving a directory makes every name below it anew: ``x`` renamed to ``.git`` makes
    ``.git/hooks/...`` of what was ``x/hooks/...``, which no rule saw made as a hook."""
    from systrace_py.policy.generalize import reaches_runs_later
    assert reaches_runs_later(directory) is reaches


def test_a_learned_writing_glob_makes_no_hook_where_it_is_used() -> None:
    """``$CWD/.git/hooks/*`` learned (gap #32): where it is used, a writing rule's glob
    matches no name something runs later that it does not name exactly; a fresh rule's
    does, for the rule to ask whether the run made the repository (model.Rule.matches); a
    reading rule's glob is the glob itself (reading plants nothing)."""
    from systrace_py.policy.generalize import LearnedGlob
    ex = Expansions(home="/home/u", cwd="/w", tmpdir="/tmp", user="u")
    glob = PathGlob("{$CWD/.git/hooks/*,$CWD/.git/hooks/post-merge,$CWD/**}", expansions=ex)
    assert learned_glob(glob, ex, calls=("fsread",)) is glob
    learned = learned_glob(glob, ex, calls=("fsread", "fswrite"))
    assert isinstance(learned, LearnedGlob) and learned.writes
    for path in ("/w/.git/hooks/pre-commit", "/w/sub/conftest.py", "/w/Makefile",
                 "/w/.git/config", "/w/v/lib/python3.11/site-packages/x.pth"):
        assert glob.matches(path) and not learned.matches(path), path
    for path in ("/w/.git/hooks/post-merge", "/w/src/main.c", "/w/.git/index",
                 "/w/.git/hooks"):
        assert learned.matches(path) is (path != "/w/.git/hooks"), path
    assert learned.made_directory("/w/.git/hooks/post-merge") is None  # (named exactly)
    assert not learned.covers_all_below("/w/.git") and learned.covers_all_below("/w/src")
    fresh = learned_glob(glob, ex, calls=("fswrite",), fresh=True)
    assert isinstance(fresh, LearnedGlob)
    assert fresh.matches("/w/.git/hooks/pre-commit")
    assert fresh.made_directory("/w/.git/hooks/pre-commit") == "/w"
    assert fresh.made_directory("/w/b/scratch1/Makefile") == "/w/b/scratch1"
    assert fresh.made_directory("/w/src/main.c") is None


def test_a_fresh_learned_rule_makes_a_hook_only_in_a_repository_the_run_made() -> None:
    """The policy's decision: a fresh learned glob of writes covers a hook of a repository
    only where the run made the repository's directory (Facts.made_by_run)."""
    from systrace_py.policy.files import loads_policy
    from systrace_py.policy.model import Action, CallFacts, PathArg

    policy = loads_policy(
        'default = "never"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "$CWD/**"\n'
        'fresh = true\naction = "permit"\nlearned = {kind = "generated names", seen = 1}\n',
        "p.toml", {"HOME": "/home/u", "CWD": "/w", "TMPDIR": "/tmp", "USER": "u"})

    class Made(CallFacts):
        def made_by_run(self, path: str) -> bool:
            return path == "/w/new"

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for path, action in (("/w/old/.git/hooks/pre-commit", Action.NEVER),
                         ("/w/new/.git/hooks/pre-commit", Action.PERMIT),
                         ("/w/old/notes.txt", Action.PERMIT)):
        facts = Made("openat", (PathArg("path", path),), open_flags=flags,
                     made=frozenset({"path"}))
        assert policy.main.decide(facts).action is action, path


@pytest.mark.parametrize("pids", [(), (3224,), (8201056,)])
def test_no_digits_of_a_content_hash_are_a_generators_run_or_a_pid(pids):
    """git clone --depth keeps its pack while fetching: ``pack-HASH.keep``, made as mkstemp
    makes a file and removed.  The hash's last 6 digits were taken for mkstemp's run (the
    first 34 kept literally, and the next run's hash refused), and a run of its digits that
    spelt one of the run's pids, for the pid.  The hash is a random part of its own."""
    name = "pack-8201056d68bcc7aa961c4e746b4965dcc3224d19.keep"
    assert generated_name(name, Evidence.TEMPORARY, mkstemp=True, pids=pids) == "pack-*.keep"
    assert generated_name(".tmp-12345-" + name, Evidence.TEMPORARY, mkstemp=True,
                          pids=(12345, *pids)) == ".tmp-[1-9]*-pack-*.keep"


@given(st.text(string.ascii_lowercase + string.digits, min_size=6, max_size=6),
       st.sampled_from(["sed", "t", "conf"]))
def test_c_mkstemps_run_is_never_pythons_eight(run, prefix):
    """sed -i's ``sedXXXXXX``, made as mkstemp makes a file and renamed onto the edited one:
    of lowercase letters and digits (1 file in 25), it was ``s`` and Python's 8 -- ``s*``,
    any new name of ``s`` beside the edited file.  Opened without O_NOFOLLOW, which Python's
    tempfile adds (``libc``), its run is C's 6 and the whole prefix stays."""
    name = prefix + run
    assert generated_name(name, Evidence.TEMPORARY, mkstemp=True, libc=True) == prefix + "*"


def test_a_hooks_directory_a_git_config_names_runs_later(tmp_path, monkeypatch) -> None:
    """git runs its hooks from ``core.hooksPath``, of any name -- set by the repository's
    config (relative: from the work tree's top), by a file it includes, or by the user's
    (``~/``) --: a name there is planted where the hooks directory begins, as a
    ``.git/hooks`` one is; beside it nothing is."""
    from systrace_py.policy.generalize import planted_at
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(tmp_path / "none"))
    (home / ".gitconfig").write_text("[core]\n  hookspath = ~/my-hooks\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    config = repo / ".git" / "config"
    config.write_text('[core]\n\tbare = false\n[Core]\n\tHooksPath = "tools/hooks" ; ours\n')
    hook = repo / "tools" / "hooks" / "pre-commit"
    assert planted_at(str(hook)) == str(repo / "tools")
    assert planted_at(str(repo / "tools" / "hooks")) == str(repo / "tools")
    assert planted_at(str(repo / "src" / "a.c")) is None
    assert planted_at(str(repo / "tools" / "other")) is None
    # (another repository's: a hooks directory of another name, through an include)
    repo = tmp_path / "other"
    (repo / ".git").mkdir(parents=True)
    hook = repo / "tools" / "hooks" / "pre-commit"
    (repo / "extra.inc").write_text("[core]\nhooksPath = ci/h\n")
    (repo / ".git" / "config").write_text("[include]\n\tpath = ../extra.inc\n")
    assert planted_at(str(hook)) is None
    assert planted_at(str(repo / "ci" / "h" / "post-merge")) == str(repo / "ci")
    assert planted_at(str(home / "my-hooks" / "pre-push")) == str(home)


@pytest.mark.parametrize(("name", "glob"), [
    ("works_7teik4", "work*"),      # tempfile's 8 with a "_" inside: not "works_" and 6
    ("workxjc7wwf_", "work*"),
    ("build_a1b2c3d4", "build_*"),  # the prefix's own "_" before the 8: kept
    ("workAb3Cd9", "work*"),        # mkdtemp(3)'s 6 (cases): unchanged
])
def test_a_name_made_as_mkdtemp_with_an_underscore_in_its_run_keeps_its_prefix(name, glob):
    """tempfile's 8 characters draw ``_`` too: a head ending at an ``_`` inside them is no end
    (the CI's test_a_directory_made_as_mkdtemp_makes_one_is_learned_as_generated: "works_"
    learned from ``works_7teik4``, the next run's ``workdiky3an9`` refused)."""
    assert generated_name(name, Evidence.TEMPORARY, mkstemp=True) == glob


def test_perls_file_temp_default_name_is_wholly_random_only_with_its_evidence() -> None:
    """File::Temp's default template is 10 of [A-Za-z0-9_], the whole name (learn25:
    autom4te's ``FE3nbl_3x4`` renamed onto ``configure`` was ``FE*``)."""
    from systrace_py.policy.generalize import Evidence, generated_name

    # (an upper-case letter or none: File::Temp draws both cases -- without one, 0.5 % of
    # names, it was a prefix and 8, and the next run's name refused: learn41)
    for name in ("FE3nbl_3x4", "W_BekHD7Fh", "QWERTYUIOP", "fe3nbl_3x4"):
        assert generated_name(name, Evidence.TEMPORARY, mkstemp=True, perl=True) == "*", name
        # not made as mkstemp makes a file, no temporary's life, not Perl: not the whole name
        assert generated_name(name, Evidence.TEMPORARY, perl=True) != "*", name
        assert generated_name(name, Evidence.CREATED, mkstemp=True, perl=True) != "*", name
        assert generated_name(name, Evidence.TEMPORARY, mkstemp=True) != "*", name
    # another length, another character: as before
    for name in ("W_BekHD7F", "W_BekHD7Fhx", "W-BekHD7Fh", "W.BekHD7Fh"):
        assert generated_name(name, Evidence.TEMPORARY, mkstemp=True, perl=True) != "*", name
