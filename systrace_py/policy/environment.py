"""What an exec's environment can make the new program run: variables the dynamic loader,
the C library or a script's interpreter take to load code or open a file the variable names.

An exec that puts a process under another policy table is a change of privilege, as a
set-user-ID exec is (Supervisor._entering_table): such variables, chosen by the caller, are
refused there unless the run started with them or the new table grants them
(``environment``, Table.admits_variable).  One home for the list: the supervisor checks with
it, the policy loader refuses to grant any other name, the learner records these only (and
a learning log's reader reads no other: variable_error) -- and for what a grant may be
(grant_error: the policy loader's) and what it admits (Grants: Table.admits_variable, the
one predicate of both stop loops -- the native loop hands Python any exec that carries such a
variable the run did not start with).

And one variable every program has: ``HOME``, from which Python derives its user site
(``~/.local/lib/pythonX.Y/site-packages``), whose ``.pth`` files' ``import`` lines run at
start.  A caller's ``HOME`` is refused at an exec into another table only where it moves a
Python's user site (:func:`moved`, :func:`loads_user_site`; gap #38): a Python -- the
binary the exec runs, the last of its #! chain -- that loads one.  The native loop hands
Python every exec of a Python into another table (Supervisor.fast_exec; a script's exec is
Python's already).  A table grants ``HOME`` as it grants the others (``environment``).

And ``PATH``, where ``/usr/bin/env NAME`` is a script's interpreter: env looks NAME up in
it (execvp) after the exec into the script's table, so a caller's ``PATH`` picks the program
that runs with that table (:func:`env_searches`; gap #40).  Refused there when it is not the
run's start's, unless the table grants it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from systrace_py.policy.glob import Expansions, GlobError, PathGlob, escape

#: What the dynamic loader and the C library take from the environment to load code (a
#: preloaded or audit library, a library path, iconv modules) or to open or write a file the
#: variable names -- the variables of glibc's secure mode (elf/dl-support's unsecvars.h),
#: which a set-user-ID exec drops because the caller chose them, less those that name neither
#: (TMPDIR, RES_OPTIONS, LOCALDOMAIN, LD_BIND_NOW...).  An exec that puts a process under
#: another policy table is such a change of privilege (Supervisor._entering_table).
LOADER_VARIABLES: frozenset[str] = frozenset((
    "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "LD_ORIGIN_PATH", "LD_DEBUG_OUTPUT",
    "LD_PROFILE", "LD_PROFILE_OUTPUT", "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES",
    "HOSTALIASES", "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF",
    "TZDIR"))

#: What the common interpreters run or load from the environment before a script's first
#: line: bash's start-up file, exported functions (which replace the commands a script runs)
#: and an imported xtrace with its prompt (PS4 is expanded, command substitutions and all);
#: Python's, Perl's, Ruby's and Node's module paths and options (Python's compiled-module
#: tree, whose "unchecked-hash" .pyc files replace the standard library's, and the standard
#: library's own directory among them), and Python's PYTHONINSPECT, its ``-i``: after the
#: script, a prompt on a terminal stdin -- one the caller made, typing the commands (red
#: team 25).  A list, not a proof: a program's own variables (GIT_SSH, EDITOR, PAGER...) are
#: its input, as its argv is.
INTERPRETER_VARIABLES: frozenset[str] = frozenset((
    "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PYTHONPATH", "PYTHONHOME",
    "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONWARNINGS", "PYTHONBREAKPOINT",
    "PYTHONPYCACHEPREFIX", "PYTHONPLATLIBDIR", "PYTHONINSPECT", "PERL5LIB",
    "PERLLIB", "PERL5OPT", "PERL5DB", "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH"))
#: the prefix of bash's exported functions' variables (BASH_FUNC_name%%)
EXPORTED_FUNCTION = "BASH_FUNC_"

#: What gettext reads its message catalogs by (glibc intl/dcigettext.c): LANGUAGE, a list
#: split at ':', each element read from DIR/ELEMENT/LC_MESSAGES/DOMAIN.mo, DIR the domain's
#: directory (bindtextdomain's, /usr/share/locale).  An element holding a '/' is a path there:
#: "../../../../home/u/cat" reaches a catalog of the caller's, whose translations are the
#: program's messages -- and its printf formats (%s and %p of what the stack holds, %n).  glibc
#: skips such an element only in secure mode (IS_PATH_WITH_DIR under ENABLE_SECURE), which a
#: set-user-ID exec sets and no table switch does (red team 35, exec_catalog.c).  An element with
#: no '/' names a catalog of the system's directories: no file of the caller's
#: (:func:`chooses_code`).  (LC_ALL, LC_MESSAGES, LANG: a locale name with a '/' must be absolute
#: and is looked up below the locale directory, /usr/lib/locale, or LOCPATH's, which is listed.)
CATALOG_VARIABLES: frozenset[str] = frozenset(("LANGUAGE",))

#: What Python's user site is derived from when PYTHONUSERBASE is not set: site.py
#: (3.11, _getuserbase) ``joinuser("~", ".local")``, os.path.expanduser reading ``HOME`` --
#: or, when it is unset, ``pwd.getpwuid(os.getuid()).pw_dir``, which the caller cannot
#: change.  Nothing else on Linux: ``APPDATA`` is read only ``if os.name == "nt"`` and the
#: framework path only on darwin; no ``XDG_*`` variable is read.  Not in runs_code: every
#: program reads it (its input), and only a Python's exec into another table checks it.
HOME = "HOME"
#: what ``/usr/bin/env NAME`` searches for NAME (execvp) -- env's assignments and ``-i`` aside
PATH = "PATH"
#: No variable: the **working directory** of a Python that puts it first on sys.path
#: (:func:`searches_working_directory`), named so in a table's ``environment`` -- a grant
#: ``CWD=GLOB`` (one path, as HOME's) admits an exec into the table from a directory it
#: matches where a traced program may write (Supervisor._entering_table; learned as seen).
#: An exec's own variable of that name is its input, never checked.
CWD = "CWD"
#: Python's variable that turns the user site off when set non-empty (ignored under -E, -I)
NO_USER_SITE = "PYTHONNOUSERSITE"
#: Python's options that turn the user site off: -s, -I (isolated: -s and -E), -S (no site
#: at all) -- in a cluster too (``-Is``, ``-sE``)
_NO_USER_SITE_FLAGS = frozenset("sIS")
#: Python's short options that take a value (the rest of the argument, or the next one);
#: -c and -m end the options (CPython Python/getopt.c, SHORT_OPTS)
_VALUED_FLAGS = frozenset("cmWX")
#: Python's long option that takes the next argument (the others print and exit)
_VALUED_LONG = "--check-hash-based-pycs"
#: a Python binary's file name: python, python3, python3.12, python3.12d, pypy3... (the
#: binary an exec runs, by its resolved name)
_PYTHON_NAME = re.compile(r"(?:python|pypy)[0-9.]*[a-z]?(?:-dbg)?")


class PathList(NamedTuple):
    """How a variable's reader takes paths from its value: the elements a grant's glob is
    matched against, one by one (Grants)."""

    #: the characters that end an element ("": the value is one path)
    separators: str
    #: whether the reader skips an empty element; else it reads it (as the current directory,
    #: or as nothing known) and only a literal grant admits it
    skips_empty: bool
    #: whether the reader substitutes tokens in an element (the dynamic loader's $ORIGIN,
    #: $LIB, $PLATFORM): an element holding a "$" is not the path it spells
    tokens: bool = False
    #: the most splits the reader makes (-1: every separator; PYTHONHOME's is
    #: "prefix[:exec_prefix]", split at its first colon only)
    maxsplit: int = -1


#: The loader and interpreter variables whose value their reader takes as paths -- a list, or
#: one path -- and how it splits them (a grant's glob is then a path rule's glob, matched
#: against each element: Grants).  Read in the readers:
#: glibc's rtld (elf/rtld.c handle_preload_list splits LD_PRELOAD at " :" and
#: audit_list_next LD_AUDIT at ":", skipping empty elements; elf/dl-load.c _dl_init_paths
#: splits LD_LIBRARY_PATH at ":;", fillin_rpath reading an empty element as "./"; all three
#: substitute $ORIGIN, $LIB and $PLATFORM), iconv (GCONV_PATH, strtok at ":") and locale
#: (LOCPATH, argz at ":"), which skip empty elements; CPython (Modules/getpath.py: PYTHONPATH
#: split at ":", each element made absolute, "" the current directory; PYTHONHOME's first
#: colon); Perl (PERL5LIB, PERLLIB: ":", empty elements skipped), Ruby (RUBYLIB: push_include
#: skips empty elements) and Node (NODE_PATH: Module._initPaths filters them out).  The
#: others name one file or directory.  Not here, so matched whole (Grants): values that are
#: code, options or templates (BASH_ENV and ENV, which the shell expands first; PERL5OPT,
#: NODE_OPTIONS, NLSPATH's %N templates, GLIBC_TUNABLES, LD_PROFILE's soname...).
PATH_VARIABLES: Mapping[str, PathList] = {
    "LD_PRELOAD": PathList(" :", skips_empty=True, tokens=True),
    "LD_AUDIT": PathList(":", skips_empty=True, tokens=True),
    "LD_LIBRARY_PATH": PathList(":;", skips_empty=False, tokens=True),
    "GCONV_PATH": PathList(":", skips_empty=True),
    "LOCPATH": PathList(":", skips_empty=True),
    "PYTHONPATH": PathList(":", skips_empty=False),
    "PYTHONHOME": PathList(":", skips_empty=False, maxsplit=1),
    "PERL5LIB": PathList(":", skips_empty=True),
    "PERLLIB": PathList(":", skips_empty=True),
    "RUBYLIB": PathList(":", skips_empty=True),
    "NODE_PATH": PathList(":", skips_empty=True),
    **{name: PathList("", skips_empty=False) for name in (
        "LD_ORIGIN_PATH", "LD_DEBUG_OUTPUT", "LD_PROFILE_OUTPUT", "GETCONF_DIR", "HOSTALIASES",
        "MALLOC_TRACE", "RESOLV_HOST_CONF", "TZDIR", "PYTHONSTARTUP", "PYTHONUSERBASE",
        "PYTHONPYCACHEPREFIX", HOME, CWD)},
}


def is_python(path: str) -> bool:
    """Whether the binary at ``path`` (its resolved name) is a Python, by its file name."""
    return _PYTHON_NAME.fullmatch(path.rpartition("/")[2]) is not None


def python_options(binary: str, argument: str | None, script: bool,
                   argv: Sequence[str] | None) -> frozenset[str] | None:
    """The one-letter options a Python runs with (None: ``binary`` runs no Python) when an
    exec runs ``binary``: for a script, its last #! line's ``argument`` (one string, as the
    kernel gives it); else the exec's ``argv`` after argv[0].  ``/usr/bin/env`` as a
    script's interpreter runs the Python its argument names (``#!/usr/bin/env python3``,
    ``-S python3 -s``): that Python's, with the argument's words after its name."""
    command = python_command(binary, argument, script, argv)
    return None if command is None else command.flags


class PythonCommand(NamedTuple):
    """A Python's command line as CPython reads it (Python/getopt.c, Python/initconfig.c):
    the one-letter options before the first word that is no option, and what it runs."""

    #: the one-letter options (``-Is``: I and s)
    flags: frozenset[str]
    #: what it runs: MODULE (``-m``), CODE (``-c``), STDIN (no script, or ``-``: its
    #: program on stdin, or a prompt), SCRIPT (a file), EXITS (``-V``, ``-h``, ``--help``,
    #: ``--version``...: it prints and exits while reading its options, before it imports)
    form: str


MODULE, CODE, STDIN, SCRIPT, EXITS = "module", "code", "stdin", "script", "exits"
#: the forms whose sys.path[0] is the working directory (CPython 3.11
#: Python/pathconfig.c _PyPathConfig_ComputeSysPath0: ``-m`` the cwd's absolute name, ``-c``
#: and stdin "", read as the cwd at each import) -- a script's is the script's own directory
_CWD_FORMS = frozenset((MODULE, CODE, STDIN))
#: Python's options that leave the working directory off sys.path: -P (3.11), -I (isolated:
#: -P, -E and -s)
_SAFE_PATH_FLAGS = frozenset("PI")
#: what -P is as a variable (3.11; ignored under -E or -I, and by an older Python)
SAFE_PATH = "PYTHONSAFEPATH"
#: Python's options that print and exit while the options are read (-h, -?, -V), and its
#: long options that do (the others: --check-hash-based-pycs takes a value; any other long
#: option is an error, which exits too -- not relied on)
_EXIT_FLAGS = frozenset("h?V")
_EXIT_LONG = frozenset(("--help", "--help-env", "--help-xoptions", "--help-all", "--version"))
#: a Python binary's version from its file name (python3.11, pypy3.10, python2): PYTHONSAFEPATH
#: is honoured from 3.11 on
_PYTHON_VERSION = re.compile(r"(?:python|pypy)([0-9]+)(?:\.([0-9]+))?")


def python_command(binary: str, argument: str | None, script: bool,
                   argv: Sequence[str] | None) -> PythonCommand | None:
    """The command line of the Python an exec runs (None: ``binary`` runs no Python, by its
    file name: :func:`is_python`): for a script, its last #! line's ``argument`` (one
    string, as the kernel gives it), the script, then the exec's ``argv`` after argv[0];
    else that ``argv`` alone.  ``/usr/bin/env`` as a script's interpreter runs the Python its
    argument names (``#!/usr/bin/env python3``, ``-S python3 -s``): that Python's, with the
    argument's words after its name before the script.  (The script's own spelling is no
    option: it is a path the exec named, never "-" -- a word only the form reads.)"""
    rest = list(argv or ())[1:]
    if _runs_env(binary, script, argument):
        _, command, words = _env_command(argument or "")
        if command is None or not is_python(command):
            return None
        return _python_args([*words, "SCRIPT", *rest])
    if not is_python(binary):
        return None
    if script:
        return _python_args([*([argument] if argument is not None else []), "SCRIPT", *rest])
    return _python_args(rest)


def searches_working_directory(binary: str, argument: str | None, script: bool,
                               argv: Sequence[str] | None, envp: Sequence[str] = ()) -> bool:
    """Whether an exec of ``binary`` (:func:`python_command`'s arguments) runs a Python that
    puts its **working directory first on sys.path** -- run with ``-m``, ``-c`` or its
    program on stdin (no script, or ``-``) --, so that the module ``-m`` names and every
    module imported after it, the standard library's too, is looked up there first: not with
    ``-P`` or ``-I`` (in a cluster too, ``-Pm``), nor with ``PYTHONSAFEPATH`` set non-empty
    in ``envp`` unless ``-E`` makes Python ignore it (or the binary's name shows a Python
    before 3.11, which does not know it: only a name that shows 3.11 or later is trusted to
    read it).  The one answer of both places that ask: an exec into another table
    (Supervisor._entering_table, refused where a traced program may write that directory,
    docs/policy.md ``CWD``; the learner, which grants it) and an ``exec:`` approver (started
    with ``-P``: approver.approver_argv)."""
    command = python_command(binary, argument, script, argv)
    if command is None or command.form not in _CWD_FORMS or command.flags & _SAFE_PATH_FLAGS:
        return False
    if "E" in command.flags or not _knows_safe_path(binary, argument, script):
        return True
    return not _first_values(envp).get(SAFE_PATH)


def _knows_safe_path(binary: str, argument: str | None, script: bool) -> bool:
    """Whether the Python an exec runs reads PYTHONSAFEPATH: its file name shows 3.11 or
    later (env's command for a ``#!/usr/bin/env`` script)."""
    name = binary
    if _runs_env(binary, script, argument):
        name = _env_command(argument or "")[1] or ""
    found = _PYTHON_VERSION.match(name.rpartition("/")[2])
    if found is None or found.group(2) is None:
        return False
    return (int(found.group(1)), int(found.group(2))) >= (3, 11)


def env_searches(binary: str, argument: str | None, script: bool) -> bool:
    """Whether an exec of a script whose last #! interpreter is ``binary``, with that line's
    ``argument``, has ``/usr/bin/env`` look its command up in the exec's ``PATH`` (execvp: a
    name with no slash) -- not when the line sets ``PATH`` itself or clears the environment
    (``-i``, ``-``): then the script's author chose the search, not the caller (gap #40)."""
    if not _runs_env(binary, script, argument):
        return False
    before, command, _ = _env_command(argument or "")
    if command is None or "/" in command:
        return False
    return not any(word in ("-i", "-", "--ignore-environment") or word.startswith(PATH + "=")
                   for word in before)


def _runs_env(binary: str, script: bool, argument: str | None) -> bool:
    """Whether ``binary`` is ``env`` as a script's interpreter, given a command to run."""
    return binary.rpartition("/")[2] == "env" and script and argument is not None


#: GNU env's short options that take no value (coreutils' shortopts "+C:iS:u:v0"): ``-S``
#: may end a cluster of them
_ENV_FLAGS = frozenset("iv0")

#: GNU env's long options (coreutils 9.1, and ``argv0`` of newer ones), each with the short
#: option it is, or "" -- getopt_long takes any unambiguous prefix of one (``--spli=``)
_ENV_LONG = {"argv0": "a", "ignore-environment": "i", "null": "0", "unset": "u",
             "chdir": "C", "default-signal": "", "ignore-signal": "", "block-signal": "",
             "list-signal-handling": "", "debug": "v", "split-string": "S", "help": "",
             "version": ""}


def _env_long(word: str) -> tuple[str, str | None] | None:
    """``word`` (``--NAME`` or ``--NAME=VALUE``) as getopt_long reads it: the short option it
    is ("" for one with none) and its value (None: not given in the word); None when it
    names no option, or more than one (env then refuses to run)."""
    name, equals, value = word[2:].partition("=")
    if name in _ENV_LONG:
        return _ENV_LONG[name], value if equals else None
    found = [option for option in _ENV_LONG if option.startswith(name)]
    if len(found) != 1 or not name:
        return None
    return _ENV_LONG[found[0]], value if equals else None


def _env_words(argument: str) -> list[str]:
    """``env``'s arguments from one word (a #! line's one argument, or a word of a split
    string), as GNU env's getopt reads it: ``-S`` -- alone, or ending a cluster of options
    that take no value (``-vS``, ``-iS``: each its own word here) -- or ``--split-string=``,
    or an unambiguous prefix of it (``--spli=``: review 17), splits the rest into words; any
    other word is one word (the command's name, or an option).  A cluster read as one word
    named no command, and the Python env ran was checked for neither HOME nor PATH
    (review 16)."""
    if argument.startswith("--"):
        found = _env_long(argument)
        if found is not None and found[0] == "S" and found[1] is not None:
            return found[1].split()
    elif argument.startswith("-"):
        for at, letter in enumerate(argument[1:], 1):
            if letter == "S":
                return [f"-{flag}" for flag in argument[1:at]] + argument[at + 1:].split()
            if letter not in _ENV_FLAGS:
                break  # (a value follows: -u NAME, -C DIR -- or an option env refuses)
    return [argument]


def _env_takes_next(word: str) -> bool:
    """Whether env's option ``word`` takes the next word as its value: ``-u``, ``-C``,
    ``-a`` -- or a cluster they end, ``-vu`` --, and their long spellings (or a prefix of
    one: ``--ch``) without ``=`` (``--chdir DIR``: the directory was taken for the command,
    review 16)."""
    if word.startswith("--"):
        found = _env_long(word)
        return found is not None and found[0] in ("u", "C", "a") and found[1] is None
    if not word.startswith("-"):
        return False
    for at, letter in enumerate(word[1:], 1):
        if letter not in _ENV_FLAGS:
            return letter in "uCa" and at == len(word) - 1
    return False


def _env_command(argument: str) -> tuple[list[str], str | None, list[str]]:
    """``env``'s #! argument as (its options and assignments, the command, the command's
    arguments); the command None when there is none (:func:`_env_words`).  A ``-S`` among
    the words a ``-S`` split splits its own value in place, as env's getopt goes on to read
    it (``-S -Spython3``: review 17)."""
    words = _env_words(argument)
    at = _env_command_at(words, split=True)
    if at is None:
        return words, None, []
    return words[:at], words[at], words[at + 1:]


def env_command_at(words: Sequence[str]) -> int | None:
    """Where ``env``'s command is among its arguments ``words`` (``env``'s argv after its
    name, as execve gives them: an approver's ``exec:env python3 -m ...``); None when there
    is none, or when a ``-S`` splits a word (the command's words are then not ``words``'
    own: the caller cannot put one among them)."""
    return _env_command_at(list(words), split=False)


def _env_command_at(words: list[str], split: bool) -> int | None:
    """The index of env's command in ``words`` (None: none); a ``-S`` among them splits its
    own value in place when ``split`` (``words`` changed), else answers None."""
    at = 0
    while at < len(words):
        word = words[at]
        if not split and _env_splits(word):
            return None
        if word != "-S" and word.startswith("-"):
            parts = _env_words(word)
            if parts != [word]:
                words[at:at + 1] = parts  # (read again from here: options, then a command)
                continue
        at += 1
        if word == "--" and at < len(words):  # (options end: the next word is the command)
            return at
        if _env_takes_next(word):
            at += 1  # (its value: a name to unset, a directory)
        elif not word.startswith("-") and "=" not in word:
            return at - 1
    return None


def _env_splits(word: str) -> bool:
    """Whether env's option ``word`` is or ends with ``-S`` (``--split-string``, a prefix of
    it): its value -- the rest of the word, or the next -- is split into more words."""
    if word.startswith("--"):
        found = _env_long(word)
        return found is not None and found[0] == "S"
    if word.startswith("-"):
        for letter in word[1:]:
            if letter == "S":
                return True
            if letter not in _ENV_FLAGS:
                return False
    return False


def _python_args(args: list[str]) -> PythonCommand:
    """A Python's command line ``args`` (after its name) as CPython reads it: the one-letter
    options before the first word that is no option (the script, "-", or what follows "--"),
    and what it runs (PythonCommand.form): -c and -m end the options, their value the rest
    of the word or the next one; -W and -X take a value the same way; a help or version
    option ends the run once the options are read."""
    found: set[str] = set()
    at = 0
    exits = False
    while at < len(args):
        arg = args[at]
        at += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            at -= 1
            break
        if arg.startswith("--"):
            exits = exits or arg in _EXIT_LONG
            at += arg == _VALUED_LONG
            continue
        for i, flag in enumerate(arg[1:], 1):
            if flag in _VALUED_FLAGS:
                if flag in "cm":
                    exits = exits or bool(found & _EXIT_FLAGS)
                    return PythonCommand(frozenset(found), EXITS if exits else
                                         MODULE if flag == "m" else CODE)
                at += i == len(arg) - 1  # (its value: the rest, or the next argument)
                break
            found.add(flag)
    exits = exits or bool(found & _EXIT_FLAGS)
    if exits:
        return PythonCommand(frozenset(found), EXITS)
    script = at < len(args) and args[at] != "-"
    return PythonCommand(frozenset(found), SCRIPT if script else STDIN)


def loads_user_site(options: frozenset[str], envp: Sequence[str]) -> bool:
    """Whether a Python run with ``options`` (python_options) and environment ``envp`` loads
    a user site that ``HOME`` places: not with -s, -I or -S, nor with PYTHONNOUSERSITE set
    non-empty (unless -E or -I ignores it), nor with PYTHONUSERBASE set non-empty (site.py
    reads it from os.environ, -E or not, and then not HOME)."""
    if options & _NO_USER_SITE_FLAGS:
        return False
    values = _first_values(envp)
    if values.get(NO_USER_SITE) and "E" not in options:
        return False
    return not values.get("PYTHONUSERBASE")


def reads_from(binary: str | None, argument: str | None, script: bool,
               argv: Sequence[str] | None, envp: Sequence[str]) -> frozenset[str]:
    """Which of ``HOME`` and ``PATH`` decide what an exec's program runs: ``HOME`` for a
    Python that loads a user site (:func:`python_options`, :func:`loads_user_site`; gap #38),
    ``PATH`` for ``/usr/bin/env NAME`` looking its command up (:func:`env_searches`; gap
    #40).  ``binary`` None: an image the tracer could not read -- both.  The one predicate of
    the supervisor's refusal (Supervisor._entering_table) and of what the learner grants."""
    if binary is None:
        return frozenset({HOME, PATH})
    found: set[str] = set()
    options = python_options(binary, argument, script, argv)  # (a script's: its #! line)
    if options is not None and loads_user_site(options, envp):
        found.add(HOME)
    if env_searches(binary, argument, script):
        found.add(PATH)
    return frozenset(found)


def moved(name: str, envp: Sequence[str], started: frozenset[str] | None) -> str | None:
    """Variable ``name`` (HOME, PATH) in an exec's environment when it is not the run's
    start's (None: it is): its entry, or ``name`` alone when it is unset and the run had it
    -- Python then reads HOME from the password database, execvp searches a default PATH.
    Every one for an attached run (``started`` None): nothing says what the user gave."""
    prefix = f"{name}="
    now = _first_value(prefix, envp)
    if started is not None and now == _first_value(prefix, started):
        return None
    return name if now is None else f"{name}={now}"


def _first_value(prefix: str, entries: Iterable[str]) -> str | None:
    """The value of the first of ``entries`` that is ``prefix`` (``NAME=``) and a value, as
    :func:`_first_values` would give NAME's (a name holds no "=": an entry starts with
    ``NAME=`` exactly when its name is NAME) -- without the dict of every name (perf23)."""
    for entry in entries:
        if entry.startswith(prefix):
            return entry[len(prefix):]
    return None


def _first_values(entries: Iterable[str]) -> dict[str, str]:
    """NAME -> VALUE of an environment's entries, the first of a name winning (getenv's, and
    CPython's os.environ's)."""
    values: dict[str, str] = {}
    for entry in entries:
        name, equals, value = entry.partition("=")
        if equals:
            values.setdefault(name, value)
    return values


def grantable(name: str) -> bool:
    """Whether a table's ``environment`` may grant variable ``name``: one that runs code
    (:func:`runs_code`), ``HOME`` or ``PATH`` (:func:`moved`), or ``CWD`` (a Python's
    working directory: :data:`CWD`)."""
    return name in (HOME, PATH, CWD) or runs_code(name)


def runs_code(name: str) -> bool:
    """Whether an environment variable of an exec makes the loader, libc or the program's
    interpreter run code, or open a file, that the variable names (LOADER_VARIABLES,
    INTERPRETER_VARIABLES, bash's exported functions)."""
    return (name in LOADER_VARIABLES or name in INTERPRETER_VARIABLES
            or name in CATALOG_VARIABLES or name.startswith(EXPORTED_FUNCTION))


def chooses_code(entry: str) -> bool:
    """Whether an exec's environment entry ``NAME=VALUE`` has the loader, libc or the
    program's interpreter run code, or read a file, that the value names (:func:`runs_code`)
    -- for gettext's ``LANGUAGE`` only when an element holds a '/' (CATALOG_VARIABLES: the
    others name the system's catalogs).  The one predicate of the refusal of an exec into
    another table (Supervisor._entering_table) and of what the learner grants."""
    name, _, value = entry.partition("=")
    if name in CATALOG_VARIABLES:
        return "/" in value
    return runs_code(name)


def elements(name: str, value: str) -> list[str] | None:
    """The paths the reader of variable ``name`` takes from ``value``, split as it splits them
    (PATH_VARIABLES; the empty elements it skips left out), or None when it reads no paths."""
    form = PATH_VARIABLES.get(name)
    return None if form is None else split(form, value)


def split(form: PathList, value: str) -> list[str]:
    """``value`` cut into the elements its reader takes (a variable of that ``form``)."""
    if not form.separators:
        return [value]
    parts = re.split(f"[{re.escape(form.separators)}]", value,
                     maxsplit=max(form.maxsplit, 0))
    return [part for part in parts if part] if form.skips_empty else parts


def is_plain(element: str, form: PathList) -> bool:
    """Whether an element is a path as a path rule's glob sees one: absolute, with no ".",
    ".." or empty component (a "//"; one trailing "/" is the directory itself) and, where the
    reader substitutes tokens, no "$".  A glob never admits another element: what ".." or a
    relative element names depends on what the glob cannot see (the directories' links, the
    current directory), and the reader would not use the element as spelled."""
    if not element.startswith("/") or (form.tokens and "$" in element):
        return False
    body = element[1:-1] if element.endswith("/") else element[1:]
    return element == "/" or all(c not in ("", ".", "..") for c in body.split("/"))


def literal_grant(entry: str) -> str:
    """``NAME=VALUE`` as a grant admitting exactly that value (what ``-A`` writes): ``*``,
    ``?`` and ``[`` bracketed (a learned bash function holding ``[ -n "$1" ]`` or ``echo *``
    would otherwise match other values, or not its own).  literal_value reads it back."""
    name, _, value = entry.partition("=")
    head = f"[{value[0]}]" if value[:1] in ("$", "~", "{") else ""
    return name + "=" + head + "".join(f"[{c}]" if c in "*?[" else c
                                       for c in value[len(head) and 1:])


def literal_value(pattern: str) -> str | None:
    """The one value a grant's VALUE admits when it is literal -- no ``*``, ``?`` or ``[``
    but those literal_grant brackets (``[*]``, ``[?]``, ``[[]``, and a first ``[$]``, ``[~]``,
    ``[{]``: a value spelled as a grant of paths named by a variable is bracketed so, review
    18) -- or
    None when it is a glob."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[" and pattern[i + 2:i + 3] == "]" and (
                pattern[i + 1:i + 2] in ("*", "?", "[")
                or (i == 0 and pattern[1:2] in ("$", "~", "{"))):
            out.append(pattern[i + 1])
            i += 3
            continue
        if c in "*?[":
            return None
        out.append(c)
        i += 1
    return "".join(out)


def path_glob(name: str, pattern: str, expansions: Expansions | None = None) -> PathGlob:
    """A glob grant of a variable whose value is paths (PATH_VARIABLES), as the path glob its
    elements are matched against: a path rule's (``*`` within one name, ``**`` across,
    ``{a,b}``, ``~``...).  GlobError when it cannot match an element: not absolute (a
    pseudo-file form too), or holding a separator of the list, which no element holds."""
    form = PATH_VARIABLES[name]
    held = "".join(sorted(set(form.separators) & set(pattern)))
    if held:
        raise GlobError(f"{name} is a list split at {form.separators!r} and a glob matches one"
                        f" element, which never holds {held!r}: grant each element (a grant of"
                        " its own, or {a,b})")
    try:
        glob = PathGlob(pattern, expansions=expansions or Expansions.from_env())
    except RecursionError:
        raise GlobError(f"nested too deeply: {pattern!r}") from None
    if any(shape.kind == "pseudo" for shape in glob.shapes):
        raise GlobError(f"not an absolute path: {pattern!r} ({name} names files)")
    return glob


#: How a grant of paths that names its paths by a variable starts (Grants): ``$CWD/``,
#: ``~/``... or a brace of such paths.  No plain element starts so; the path glob reads them.
_VARIABLE_STARTS = ("$CWD/", "$TMPDIR/", "$HOME/", "~/", "{")
#: ... or is: the directory itself (``CWD=$CWD``, what ``-A`` writes for a Python run in the
#: run's own working directory)
_VARIABLES = frozenset(("$CWD", "$TMPDIR", "$HOME", "~"))


class Grants:
    """A table's ``environment`` grants, read once: what an exec into the table may carry.

    A literal grant (literal_value) admits its value, whole and exactly -- what ``-A``
    writes.  For a variable whose reader takes paths (PATH_VARIABLES) a glob is a path rule's
    glob: a value is admitted when every element (:func:`elements`) is plain (:func:`is_plain`)
    and a grant's glob matches it -- a literal grant of one plain path matching that path.
    A grant naming its paths by a variable without a wildcard (``$CWD/target/deps``, what
    ``-A`` writes for a directory of the checkout) is such a glob too, not a literal only.
    Symlinks are not resolved: the reader resolves them when it loads, later, and a grant
    trusts what its tree holds, links included, as it trusts the files there (who may put a
    link there may put the library).  For another variable a glob is fnmatch's over the whole
    value (``*`` matching anything: "/", spaces, newlines).  A grant that cannot be read
    (grant_error; the policy loader refuses it first) admits nothing."""

    __slots__ = ("_literal", "_paths", "_whole", "entries")

    def __init__(self, entries: tuple[str, ...], expansions: Expansions | None = None) -> None:
        self.entries = entries
        self._literal: set[str] = set()
        self._paths: dict[str, list[PathGlob]] = {}
        self._whole: dict[str, list[str]] = {}
        for entry in entries:
            name, equals, pattern = entry.partition("=")
            if not equals:
                continue
            literal = literal_value(pattern)
            form = PATH_VARIABLES.get(name)
            if literal is not None:
                # a grant of paths named by a variable (``$CWD/target/deps``: the raw text) is
                # a path glob alone, never its text too: the reader takes ``$CWD/lib.so``,
                # ``~/lib``, ``{/a,/b}`` as a path relative to the working directory, which
                # the caller chooses and fills -- its library ran under the table (review 18).
                # A value the learner saw spelled so is written bracketed (literal_grant).
                # (one holding a separator too -- ``$CWD/a:$CWD/b``, written by hand: it
                # admits nothing, the learner writes {a,b})
                variable = form is not None and (pattern.startswith(_VARIABLE_STARTS)
                                                 or pattern in _VARIABLES)
                if not variable:
                    self._literal.add(f"{name}={literal}")
                if form is None or set(form.separators) & set(literal):
                    continue
                if is_plain(literal, form):
                    pattern = escape(literal)
                elif not variable:
                    continue
                # (else a path glob without wildcards: ``$CWD/target/deps``, ``{$CWD/a,~/b}``
                # -- what -A writes for a value below the working or home directory; no
                # element is spelled so, and the expanded paths are what it names: learn22)
            elif form is None:
                self._whole.setdefault(name, []).append(pattern)
                continue
            try:
                glob = path_glob(name, pattern, expansions)
            except GlobError:
                continue
            self._paths.setdefault(name, []).append(glob)

    def admits(self, entry: str) -> bool:
        """Whether an exec into the table may carry ``entry`` (``NAME=VALUE``)."""
        if entry in self._literal:
            return True
        name, _, value = entry.partition("=")
        form = PATH_VARIABLES.get(name)
        if form is None:
            return any(fnmatch.fnmatchcase(value, p) for p in self._whole.get(name, ()))
        globs = self._paths.get(name, [])
        return bool(globs) and all(
            is_plain(element, form) and any(glob.matches(element) for glob in globs)
            for element in split(form, value))


def variable_error(entry: str) -> str | None:
    """What is wrong with ``entry`` as a variable an exec may carry into another table --
    ``NAME=VALUE`` of a variable :func:`grantable` names -- or None when it is one.  Other
    names are an error: an exec carries the caller's other variables unchecked (they are the
    program's input, never refused), so naming one would grant nothing.  A learned record's
    reader checks this (learn.Observation.from_json: it holds values, which the learner
    grants literally); a grant is also checked as a glob (:func:`grant_error`)."""
    name, equals, _ = entry.partition("=")
    if not equals or not name:
        anything = "/**\" for any plain paths" if entry in PATH_VARIABLES else "*\" for any value"
        return f"{entry!r} is not NAME=VALUE (write \"{entry or 'NAME'}={anything})"
    if not grantable(name):
        return (f"{name} is not a loader or interpreter variable (LD_PRELOAD, LD_LIBRARY_PATH,"
                " PYTHONPATH, BASH_ENV... see docs/policy.md) nor HOME, PATH or CWD: an exec"
                " carries the others unchecked")
    return None


def grant_error(entry: str, expansions: Expansions | None = None) -> str | None:
    """What is wrong with ``entry`` as a grant of a table's ``environment`` -- a variable
    (:func:`variable_error`) whose VALUE is a literal or a glob (Grants) -- or None when it is
    one: a glob over paths must be able to match an element (path_glob; ``expansions``: its
    ``~`` and ``$HOME``).  The policy loader's text (PolicyReader._environment, with file,
    line and key)."""
    wrong = variable_error(entry)
    if wrong is not None:
        return wrong
    name, _, value = entry.partition("=")
    if name in PATH_VARIABLES and literal_value(value) is None:
        try:
            path_glob(name, value, expansions)
        except GlobError as exc:
            return f"{name}'s value is paths, and a glob of them is a path rule's glob: {exc}"
    return None

