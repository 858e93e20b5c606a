"""A learned rule for a random name covers every name its generator makes, and no name of
another shape (learn41): pairs of names of one template -- the learning run's and the next
run's, each drawn from the template's whole alphabet -- through the generalizer with the
evidence the learner gives it (``generated_name``'s flags as ``learn._Context.build`` sets
them), and through the learner for a directory made, filled and removed.

The CI's flake: autom4te's ``tempdir("am4tXXXXXX")`` (Perl's File::Temp: X of
``[A-Za-z0-9_]``) learned from ``am4tab_c12`` was that name only (no upper-case letter for
File::Temp's 10, a ``_`` for mkstemp's 6), and the next run's ``mkdir /tmp/am4tT8GzhX`` was
refused; from ``am4tT8GzhX``, any 10 characters in ``$TMPDIR``, not ``am4t`` and 6.
"""

from __future__ import annotations

import os
import string
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from systrace_py.policy.generalize import Evidence, generated_name, written_glob
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.learn import LearnOptions, Observation, decide_observation, learn
from systrace_py.policy.model import Action, PathArg

#: File::Temp's @CHARS, C's mkstemp's letters and digits, Python's tempfile's
PERL = string.ascii_letters + string.digits + "_"
LIBC = string.ascii_letters + string.digits
PYTHON = string.ascii_lowercase + string.digits + "_"

#: a directory made as File::Temp's tempdir makes one (mkdir 0700) by a Perl table: what the
#: learner passes (``libc``: made 0700 by no Python interpreter; ``perl``: File/Temp.pm read)
PERL_DIR = {"in_tmpdir": True, "mkstemp": True, "libc": True, "perl": True}
#: a file made as File::Temp's tempfile makes one (O_EXCL, 0600, O_NOFOLLOW)
PERL_FILE = {"mkstemp": True, "perl": True}
LIBC_MADE = {"in_tmpdir": True, "mkstemp": True, "libc": True}
PYTHON_MADE = {"in_tmpdir": True, "mkstemp": True}

#: (prefix, X's, alphabet, suffix, generated_name's flags)
TEMPLATES: list[tuple[str, int, str, str, dict[str, Any]]] = [
    # autoconf's mktmpdir: autom4te, autoheader, autoreconf, autoupdate
    ("am4t", 6, PERL, "", PERL_DIR), ("ah", 6, PERL, "", PERL_DIR),
    ("ar", 6, PERL, "", PERL_DIR), ("au", 6, PERL, "", PERL_DIR),
    # File::Temp's default template (tempdir(), tempfile()), a Perl program's own prefix
    ("", 10, PERL, "", PERL_DIR), ("", 10, PERL, "", {**PERL_FILE, "in_tmpdir": True}),
    ("", 10, PERL, "", {**PERL_FILE, "renamed_to": "configure"}),  # autom4te's output
    ("", 10, PERL, ".dat", {**PERL_FILE, "in_tmpdir": True}),
    # (a prefix of 4 that is none of autoconf's and 6 is 10 long, as a default name is: the
    # default's reading, which covers it)
    ("build", 6, PERL, "", PERL_DIR), ("foo", 6, PERL, ".c", {**PERL_FILE, "in_tmpdir": True}),
    # C's mkdtemp and mkstemp, mktemp(1)
    ("work", 6, LIBC, "", LIBC_MADE), ("am4t", 6, LIBC, "", LIBC_MADE),
    ("ab", 6, LIBC, "", LIBC_MADE), ("cc", 6, LIBC, ".s", LIBC_MADE),
    ("sed", 6, LIBC, "", {"mkstemp": True, "libc": True}), ("tmp.", 10, LIBC, "", LIBC_MADE),
    # Python's tempfile: its probe, its own prefix, a caller's
    ("", 8, PYTHON, "", PYTHON_MADE), ("tmp", 8, PYTHON, "", PYTHON_MADE),
    ("tmp", 8, PYTHON, ".json", PYTHON_MADE), ("work", 8, PYTHON, "", PYTHON_MADE),
    ("pip-build-env-", 8, PYTHON, "", PYTHON_MADE),
]

# (made once, here: the learning run's random run and the next run's, of one template)
_PAIRS = st.one_of([st.tuples(st.just(template), st.text(template[2], min_size=template[1],
                                                          max_size=template[1]),
                              st.text(template[2], min_size=template[1], max_size=template[1]))
                    for template in TEMPLATES])


def _matches(glob: str, name: str) -> bool:
    return PathGlob("/d/" + glob).matches("/d/" + name)


@settings(max_examples=400)
@given(_PAIRS)
# (the CI's: learned literally -- and autoreconf's directory, a "_" and an upper-case letter)
@example((TEMPLATES[0], "ab_c12", "T8GzhX"))
@example((TEMPLATES[2], "Y_8kq2", "abcdef"))
# (File::Temp's default of no upper-case letter: a prefix and 8)
@example((TEMPLATES[4], "fe3nbl_3x4", "W_BekHD7Fh"))
def test_a_template_names_rule_covers_its_next_name_and_no_other_shape(pair) -> None:
    (prefix, _, _, suffix, flags), first, second = pair
    name = prefix + first + suffix
    glob = generated_name(name, Evidence.TEMPORARY, **flags)
    assert glob is not None, name
    rule = written_glob(name, glob, templated=True)
    assert _matches(rule, prefix + second + suffix), (name, rule, second)
    # no more than the template's shape: not another prefix, nor a run of another length
    # (a run of digits only, 1 in 10^5, is read as a number too: written_glob's, of any
    # count of digits -- left to it)
    if prefix:
        assert not _matches(rule, "Q" + prefix[1:] + second + suffix), (name, rule)
    if not first.isdigit():
        assert not _matches(rule, prefix + second[1:] + suffix), (name, rule)
        assert not _matches(rule, prefix + second + "x" + suffix), (name, rule)
    assert not _matches(rule, prefix + second[:-1] + "-" + suffix), (name, rule)


PERL_TABLE = "/usr/bin/perl"
LIBC_TABLE = "/usr/bin/mktemp"
ENV = {"HOME": "/root", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "root"}


def _tempdir(table: str, path: str) -> list[Observation]:
    """A temporary directory's life: made 0700 (File::Temp's tempdir, mkdtemp(3)), files
    written in it, removed with them (autom4te's ``traces.m4``, ``output.0``)."""
    files = [f"{path}/traces.m4", f"{path}/output.0"]
    return [Observation(table, "mkdir", (PathArg("path", path),), created=("path",),
                        exclusive=True, mkstemp=True),
            *(Observation(table, "openat", (PathArg("path", f),),
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, created=("path",))
              for f in files),
            *(Observation(table, "unlink", (PathArg("path", f),)) for f in files),
            Observation(table, "rmdir", (PathArg("path", path),))]


_READ_FILE_TEMP = Observation(PERL_TABLE, "openat", (
    PathArg("path", "/usr/share/perl/5.36/File/Temp.pm"),), os.O_RDONLY)
_LEARNED_DIRS = st.one_of(
    *[st.tuples(st.just((PERL_TABLE, prefix)), st.text(PERL, min_size=length, max_size=length),
                st.text(PERL, min_size=length, max_size=length))
      for prefix, length in (("am4t", 6), ("ar", 6), ("", 10))],
    st.tuples(st.just((LIBC_TABLE, "conf")), st.text(LIBC, min_size=6, max_size=6),
              st.text(LIBC, min_size=6, max_size=6)))


@settings(max_examples=40)
@given(_LEARNED_DIRS)
@example(((PERL_TABLE, "am4t"), "ab_c12", "T8GzhX"))  # (the CI's)
def test_a_temporary_directory_learned_once_is_made_again_by_the_next_run(pair) -> None:
    """The learner's own evidence for autom4te's directory (a Perl table that read
    File/Temp.pm, mkdir, files inside, rmdir) and configure's ``mktemp -d confXXXXXX``:
    every call of the next run's directory permitted, none of a directory of another
    prefix."""
    (table, prefix), first, second = pair
    policy = learn([_READ_FILE_TEMP, *_tempdir(table, "/tmp/" + prefix + first)],
                   LearnOptions(env=ENV)).policy
    refused = [(o.syscall, o.paths[0].path) for o in _tempdir(table, "/tmp/" + prefix + second)
               if decide_observation(policy, o).action is not Action.PERMIT]
    assert refused == [], (prefix + first, refused)
    if prefix:
        other = _tempdir(table, "/tmp/Q" + prefix[1:] + second)[0]
        assert decide_observation(policy, other).action is not Action.PERMIT
