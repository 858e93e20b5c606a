"""What an exec's environment can make the new program run: variables the dynamic loader,
the C library or a script's interpreter take to load code or open a file the variable names.

An exec that puts a process under another policy table is a change of privilege, as a
set-user-ID exec is (Supervisor._entering_table): such variables, chosen by the caller, are
refused there unless the run started with them or the new table grants them
(``environment``, Table.admits_variable).  One home for the list: the supervisor checks with
it, the policy loader refuses to grant any other name, the learner records these only -- and
for what a grant may be (grant_error: the policy loader's and a learning log's reader).
"""

from __future__ import annotations

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
#: library's own directory among them).  A list, not a proof: a
#: program's own variables (GIT_SSH, EDITOR, PAGER...) are its input, as its argv is.
INTERPRETER_VARIABLES: frozenset[str] = frozenset((
    "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PYTHONPATH", "PYTHONHOME",
    "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONWARNINGS", "PYTHONBREAKPOINT",
    "PYTHONPYCACHEPREFIX", "PYTHONPLATLIBDIR", "PERL5LIB",
    "PERLLIB", "PERL5OPT", "PERL5DB", "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH"))
#: the prefix of bash's exported functions' variables (BASH_FUNC_name%%)
EXPORTED_FUNCTION = "BASH_FUNC_"


def runs_code(name: str) -> bool:
    """Whether an environment variable of an exec makes the loader, libc or the program's
    interpreter run code, or open a file, that the variable names (LOADER_VARIABLES,
    INTERPRETER_VARIABLES, bash's exported functions)."""
    return (name in LOADER_VARIABLES or name in INTERPRETER_VARIABLES
            or name.startswith(EXPORTED_FUNCTION))


def grant_error(entry: str) -> str | None:
    """What is wrong with ``entry`` as a grant of a table's ``environment`` -- ``NAME=VALUE``
    (VALUE a glob) of a variable :func:`runs_code` names -- or None when it is one.  Other
    names are an error: an exec carries the caller's other variables unchecked (they are the
    program's input, never refused), so naming one would grant nothing.  The one text of the
    policy loader (PolicyReader._environment: with file, line and key) and of a learned
    record's reader (learn.Observation.from_json)."""
    name, equals, _ = entry.partition("=")
    if not equals or not name:
        return f"{entry!r} is not NAME=VALUE (write \"{entry or 'NAME'}=*\" for any value)"
    if not runs_code(name):
        return (f"{name} is not a loader or interpreter variable (LD_PRELOAD, LD_LIBRARY_PATH,"
                " PYTHONPATH, BASH_ENV... see docs/policy.md): an exec carries the others"
                " unchecked")
    return None
