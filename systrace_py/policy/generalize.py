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
import fnmatch
import functools
import os
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from systrace_py.policy.argv import CWD as ARGV_CWD
from systrace_py.policy.argv import literal as argv_literal
from systrace_py.policy.glob import Expansions, GlobError, GlobShape, PathGlob, escape
from systrace_py.policy.levels import GENERALIZE_LEVELS
from systrace_py.procfs import read_regular

__all__ = [
    "CATEGORIES",
    "CATEGORY_KEYS",
    "FANOUT",
    "GENERALIZE_LEVELS",
    "HASH_NAME",
    "HEX_DIGIT",
    "HOME_SENSITIVE",
    "RUNS_LATER",
    "RUNS_LATER_NAMES",
    "SYSTEM_SENSITIVE",
    "Category",
    "Evidence",
    "LearnedGlob",
    "PathWriter",
    "Scope",
    "SystemFacts",
    "category_pattern",
    "category_roots",
    "compact",
    "components",
    "covers_runs_later",
    "covers_sensitive",
    "escape_argv",
    "exact_pattern",
    "generated_name",
    "hash_glob",
    "holds_pid",
    "in_category",
    "is_library",
    "is_sensitive",
    "is_shared_library",
    "join",
    "learned_glob",
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
]


# ---------------------------------------------------------------------------------------------
# What is sensitive: never generalized across, always written exactly.

#: Below a home directory (``~``, ``/root`` and every ``/home/*``).
HOME_SENSITIVE = (
    ".ssh", ".gnupg", ".pki", ".aws", ".azure", ".config/gcloud", ".kube", ".docker",
    ".netrc", ".pgpass", ".git-credentials", ".password-store", ".mozilla", ".thunderbird",
    ".config/google-chrome", ".config/chromium", ".config/BraveSoftware",
    ".config/microsoft-edge", ".local/share/keyrings", ".config/gh", ".npmrc", ".pypirc",
    ".cargo/credentials", ".cargo/credentials.toml", ".bash_history", ".zsh_history",
    ".python_history", ".psql_history", ".mysql_history", ".lesshst", ".viminfo",
    ".local/share/recently-used.xbel", ".config/keepassxc", ".electrum", ".bitcoin",
    # what the user's own session runs or loads, unconfined, when it next starts: the
    # shells' start-up files, the desktop's autostart entries and user units, the session's
    # environment, git's configuration (its hooks, pager and fsmonitor are commands) -- a
    # learned glob's prefix is the program's choice and a fresh rule lets the next run make
    # any new name of it: ".bashrcqwerty", learned as "~/.bash*", made ~/.bash_profile where
    # there was none (red team 17)
    ".profile", ".bash_profile", ".bash_login", ".bash_logout", ".bashrc", ".zshenv",
    ".zprofile", ".zshrc", ".zlogin", ".zlogout", ".config/fish", ".pam_environment",
    ".xprofile", ".xsession", ".xsessionrc", ".xinitrc", ".config/autostart",
    ".config/systemd", ".config/environment.d", ".gitconfig", ".config/git",
)
#: Sensitive locations the environment moves, as (variable, what below its value; "" for
#: the value itself): the programs that keep those secrets look there, not (only) in
#: HOME_SENSITIVE's place -- gh's token in ``$XDG_CONFIG_HOME/gh``, gpg's keys in
#: ``$GNUPGHOME`` (red team 14).  Every ``.config/`` and ``.local/share/`` entry is moved by
#: its XDG variable.
ENV_SENSITIVE: tuple[tuple[str, str], ...] = (
    *(("XDG_CONFIG_HOME", rel[len(".config/"):]) for rel in HOME_SENSITIVE
      if rel.startswith(".config/")),
    *(("XDG_DATA_HOME", rel[len(".local/share/"):]) for rel in HOME_SENSITIVE
      if rel.startswith(".local/share/")),
    ("GNUPGHOME", ""), ("PASSWORD_STORE_DIR", ""), ("GH_CONFIG_DIR", ""),
    ("DOCKER_CONFIG", ""), ("KUBECONFIG", ""), ("CLOUDSDK_CONFIG", ""),
    ("AZURE_CONFIG_DIR", ""), ("AWS_SHARED_CREDENTIALS_FILE", ""), ("AWS_CONFIG_FILE", ""),
    ("NETRC", ""), ("PGPASSFILE", ""), ("CARGO_HOME", "credentials"),
    ("CARGO_HOME", "credentials.toml"),
)
#: Absolute sensitive locations.
SYSTEM_SENSITIVE = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private", "/etc/krb5.keytab",
    "/etc/security/opasswd", "/var/lib/sss", "/var/lib/polkit-1", "/proc/*/environ",
    "/proc/*/mem", "/proc/*/task/*/environ", "/proc/*/task/*/mem", "/proc/kcore",
    "/dev/mem", "/dev/kmem", "/boot",
)


#: Names something runs later, unconfined, wherever they are: a run that makes or changes one
#: plants a command outside its sandbox, which runs when the user next works there.  Each is
#: components of a path (fnmatch per name) that may start at any component -- not only below
#: ``$HOME``: a learned glob's prefix is the program's choice, and a fresh rule lets the next
#: run make any new name of it (gap #32: ``.git/hooks/a1b2c3``, learned as
#: ``$CWD/.git/hooks/*``, made ``.git/hooks/pre-commit``).  Learning writes such a path
#: exactly where the run writes it (:func:`writes`); a learned glob reaches none where it is
#: used (:class:`LearnedGlob`); reading them stays as wide as learned (reading plants nothing).
#: Matched without regard to case: on a case-insensitive directory (vfat, exfat, an ext4 or
#: f2fs one made ``chattr +F``) ``.GIT/HOOKS/PRE-COMMIT`` is the repository's hook, and which
#: directories fold case is not known where a policy is written, nor fixed while it is used
#: (an empty directory's owner may turn folding on): a name of another case is held as well,
#: which costs a program only that such a name is learned exactly.
RUNS_LATER: tuple[tuple[str, str], ...] = (
    # a repository's (``repo.git``: a bare one's) -- git runs ``hooks/<name>`` at commit,
    # merge, checkout, push...; its ``config`` names commands (core.fsmonitor, core.pager,
    # core.hooksPath, core.sshCommand, alias.*, filter and diff drivers); ``info/attributes``
    # picks which configured driver runs on which file and ``info/exclude`` hides a planted
    # file from ``git status`` (``info/refs`` and ``info/packs`` are data dumb HTTP serves,
    # remade through mkstemp by every repack); a submodule's git directory has the same
    ("*.git/hooks", "git runs a hook at commit, merge, checkout, push"),
    ("*.git/config", "names commands git runs (core.fsmonitor, core.pager, alias.*...)"),
    ("*.git/info/attributes", "picks the filter, diff and merge commands per file"),
    ("*.git/info/exclude", "hides a planted file from git status"),
    # (``**``: one name or more -- a submodule's name is its path, ``third_party/lib``, and
    # a nested one's git directory is below its parent's, ``modules/a/modules/b``)
    ("*.git/commondir", "names the directory git reads the config and hooks from"),
    ("*.git/worktrees/*/commondir", "a linked worktree's: the same"),
    ("*.git/modules/**/commondir", "a submodule's: the same"),
    ("*.git/modules/**/hooks", "a submodule's hooks"),
    ("*.git/modules/**/config", "a submodule's configuration"),
    ("*.git/modules/**/info/attributes", "a submodule's attributes"),
    (".husky", "husky's hook scripts (core.hooksPath=.husky), run by git"),
    (".githooks", "the usual core.hooksPath of a project that keeps its hooks: git runs them"),
    (".pre-commit-config.yaml", "pre-commit runs its hooks at every commit (a local hook "
     "names any command)"),
    ("package.json", "npm, yarn and pnpm run its scripts (install, test, prepare...), a "
     "dependency's install scripts at npm install"),
    ("tox.ini", "tox runs its commands"),
    ("noxfile.py", "nox imports it and runs its sessions"),
    ("justfile", "just runs its recipes where the user types just"),
    ("Justfile", "just reads it as justfile"),
    (".justfile", "just reads it as justfile"),
    (".envrc", "direnv sources it in the user's shell on entering the directory"),
    ("Makefile", "make runs its recipes where the user types make"),
    ("makefile", "make reads it when there is no GNUmakefile"),
    ("GNUmakefile", "GNU make reads it before makefile and Makefile"),
    ("conftest.py", "pytest imports it from every directory it collects"),
    ("sitecustomize.py", "Python's site imports it at every start, from sys.path"),
    ("usercustomize.py", "Python's site imports it at every start, from sys.path"),
    ("site-packages/*.pth", "site runs each of its `import` lines at every Python start"),
    ("dist-packages/*.pth", "Debian's site-packages: the same"),
    # (a Python project's build: pip, build and uv run setup.py, and a setup.cfg's or a
    # pyproject.toml's build backend -- an in-tree one, ``backend-path``, is a module of the
    # project -- at every install and build of it)
    ("setup.py", "pip and build run it at every install of the project"),
    ("setup.cfg", "names the setuptools commands and plugins an install runs (cmdclass...)"),
    ("pyproject.toml", "names the build backend pip runs, an in-tree one by backend-path"),
    (".gitattributes", "picks the filter, diff and merge commands git runs per file"),
    (".vscode/tasks.json", "VS Code runs its tasks (runOn: folderOpen when it opens)"),
    (".vscode/settings.json", "names programs VS Code and its extensions run"),
    ("__pycache__/*.pyc", "Python runs it in place of its module when its header holds the "
     "module's time and size, which a program that may read the module knows"),
    ("systrace_py/__pycache__/*.marshal", "systrace's own start-up caches: code and modules "
     "the tracer runs at its next start, before any policy holds"),
)

#: Names something runs later by what the name itself is, not by what is below it: a write
#: *at* one is held as a RUNS_LATER name's, a write below it is not.  ``.git`` made or
#: rewritten -- a gitfile, ``gitdir: DIR`` (a submodule's checkout, a linked worktree), or a
#: new repository -- makes DIR, of any name, the repository of its directory: DIR's hooks and
#: config are what git runs there, and git finds ``.git`` where it runs before the one above
#: (red team 21).  Below an existing ``.git`` only RUNS_LATER's names are held (its objects
#: and refs are git's own data, written at every commit).
RUNS_LATER_NAMES: tuple[tuple[str, str], ...] = (
    (".git", "a gitfile or a new repository: git runs the hooks and config it points at"),
)


def components(path: str) -> list[str]:
    """The names of an absolute path ("//" and a trailing "/" make no empty names)."""
    return [c for c in path.split("/") if c]


def _absolute(path: str | None) -> str | None:
    if path and path.startswith("/"):
        return path.rstrip("/") or "/"
    return None


def _home_roots() -> list[str]:
    """``/root`` and ``/home/*``, and where each really is: paths are matched resolved, and
    ``/home`` is a link to ``var/home`` on Silverblue and CoreOS (red team 14)."""
    roots = ["/root", "/home/*"]
    for spelled, real in (("/root", os.path.realpath("/root")),
                          ("/home/*", os.path.realpath("/home") + "/*")):
        if real != spelled and real.startswith("/") and real not in ("/", "/*"):
            roots.append(real)
    return roots


def relocated_sensitive(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The sensitive locations ``env`` (None: this process's environment, which the traced
    program gets) moves (ENV_SENSITIVE), resolved: paths are matched resolved."""
    source: Mapping[str, str] = os.environ if env is None else env
    return _relocated(tuple(source.get(name, "") for name, _ in ENV_SENSITIVE))


@functools.lru_cache(maxsize=16)
def _relocated(values: tuple[str, ...]) -> tuple[str, ...]:
    out: set[str] = set()
    for (name, below), value in zip(ENV_SENSITIVE, values, strict=True):
        for item in value.split(":") if name == "KUBECONFIG" else (value,):
            if not item.startswith("/"):
                continue  # (a relative value: the programs ignore it, or it is nowhere)
            real = os.path.realpath(item)
            # (never all of /, nor a device: NETRC=/dev/null turns a file off)
            if components(real) and components(real)[0] != "dev":
                out.add(f"{real}/{below}" if below else real)
    return tuple(sorted(out))


@functools.lru_cache(maxsize=16)
def _sensitive_patterns(home: str | None,
                        relocated: tuple[str, ...] = ()) -> tuple[tuple[str, ...], ...]:
    homes = _home_roots()
    if home and home.startswith("/") and home.rstrip("/") not in ("", "/root"):
        homes.append(home)
    out = [components(p) for p in SYSTEM_SENSITIVE]
    for h in homes:
        out += [components(f"{h}/{rel}") for rel in HOME_SENSITIVE]
    out += [[escape_argv(c) for c in components(p)] for p in relocated]
    return tuple(tuple(p) for p in out)


@functools.lru_cache(maxsize=16)
def _sensitive_regex(home: str | None, relocated: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Every sensitive location as one regex over a path (and anything below it)."""
    alternatives = []
    for pattern in _sensitive_patterns(home, relocated):
        comps = [fnmatch.translate(c)[4:-3].replace(".*", "[^/]*") for c in pattern]
        alternatives.append("/" + "/".join(comps))
    return re.compile("(?:" + "|".join(alternatives) + ")(?:/.*)?", re.DOTALL)


#: one component of a sensitive pattern as a test of a name: equality for a literal (most
#: are), a compiled fnmatch otherwise -- fnmatch.fnmatchcase per name made a 288-shape learned
#: policy's load take 140 ms (learned_glob asks of every shape)
_NameTest = Callable[[str], object]


def _name_test(component: str) -> _NameTest:
    if not any(ch in component for ch in "*?["):
        return component.__eq__
    return re.compile(fnmatch.translate(component), re.DOTALL).match


@functools.lru_cache(maxsize=16)
def _sensitive_tests(home: str | None,
                     relocated: tuple[str, ...] = ()) -> tuple[tuple[_NameTest, ...], ...]:
    return tuple(tuple(_name_test(c) for c in pattern)
                 for pattern in _sensitive_patterns(home, relocated))


@functools.lru_cache(maxsize=16)
def _sensitive_index(home: str | None, relocated: tuple[str, ...] = ()
                     ) -> tuple[dict[str, tuple[tuple[_NameTest, ...], ...]],
                                tuple[tuple[_NameTest, ...], ...]]:
    """:func:`_sensitive_tests` by the first name of each pattern: a literal one is tried
    only on a directory whose first name it is (its test is equality); a wildcard one on
    every directory.  reaches_sensitive tried all ~150 on each shape of a learned glob:
    ~14 M instructions, ~3.5 ms of a learned policy's start (issue 16)."""
    by_first: dict[str, list[tuple[_NameTest, ...]]] = {}
    wild: list[tuple[_NameTest, ...]] = []
    for pattern, names in zip(_sensitive_tests(home, relocated),
                              _sensitive_patterns(home, relocated), strict=True):
        first = names[0]
        if any(ch in first for ch in "*?["):
            wild.append(pattern)
        else:
            by_first.setdefault(first, []).append(pattern)
    return {k: tuple(v) for k, v in by_first.items()}, tuple(wild)


def _prefix_matches(pattern: Sequence[_NameTest], comps: Sequence[str]) -> bool:
    """Whether ``comps`` starts with components matching ``pattern`` (fnmatch per name)."""
    return len(comps) >= len(pattern) and all(
        test(c) for test, c in zip(pattern, comps, strict=False))


def is_sensitive(path: str, home: str | None = None,
                 relocated: tuple[str, ...] | None = None) -> bool:
    """Whether a path is, or is below, a sensitive location (see docs/learning.md);
    ``relocated``: :func:`relocated_sensitive` (None: this process's environment's)."""
    if not path.startswith("/"):
        return False
    if relocated is None:
        relocated = relocated_sensitive()
    return _sensitive_regex(home, relocated).fullmatch(
        "/" + "/".join(components(path))) is not None


def reaches_sensitive(directory: str, deep: bool, home: str | None,
                      relocated: tuple[str, ...] | None = None) -> bool:
    """Whether ``directory/*`` (or ``directory/**`` when ``deep``) could match a sensitive
    location or something below one."""
    comps = components(directory)
    if relocated is None:
        relocated = relocated_sensitive()
    by_first, wild = _sensitive_index(home, relocated)
    for pattern in (by_first.get(comps[0], ()) + wild if comps else
                    _sensitive_tests(home, relocated)):
        if _prefix_matches(pattern, comps):
            return True  # the directory itself is sensitive or inside a sensitive one
        if len(pattern) > len(comps) and _prefix_matches(pattern[:len(comps)], comps) and (
                deep or len(pattern) == len(comps) + 1):
            return True
    return False


#: a RUNS_LATER component ``**`` in the regex: one name or more
_ANY_NAMES = "[^/]+(?:/[^/]+)*"


@functools.lru_cache(maxsize=1)
def _runs_later_regex() -> re.Pattern[str]:
    """Every RUNS_LATER pattern as one regex searched in ``/``-joined components: a match
    starts at a component and ends at one (what is below a match is inside it) -- a
    RUNS_LATER_NAMES one ends the path."""
    alternatives = ["/".join(_ANY_NAMES if c == "**" else
                             fnmatch.translate(c)[4:-3].replace(".*", "[^/]*")
                             for c in pattern.split("/")) for pattern, _ in RUNS_LATER]
    alternatives += [fnmatch.translate(name)[4:-3] + "$" for name, _ in RUNS_LATER_NAMES]
    return re.compile("/(?:" + "|".join(alternatives) + ")(?:/|$)", re.DOTALL | re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _runs_later_tests() -> tuple[tuple[_NameTest, ...], ...]:
    """Each RUNS_LATER pattern's names up to its first ``**`` (which stands for one name,
    here: a directory below where ``**`` begins is caught by :func:`_runs_later_below`)."""
    return tuple(tuple(re.compile(fnmatch.translate(c), re.DOTALL | re.IGNORECASE).match
                       for c in pattern.split("/")) for pattern, _ in RUNS_LATER)


@functools.lru_cache(maxsize=1)
def _runs_later_below() -> re.Pattern[str]:
    """Where a RUNS_LATER pattern's ``**`` begins (``*.git/modules``): a directory at or
    below it, moved, may hold one of the pattern's names at any depth."""
    heads = ["/".join(fnmatch.translate(c)[4:-3].replace(".*", "[^/]*")
                      for c in pattern.split("/**")[0].split("/"))
             for pattern, _ in RUNS_LATER if "/**" in pattern]
    return re.compile("/(?:" + "|".join(heads) + ")(?:/|$)", re.DOTALL | re.IGNORECASE)


def runs_later(path: str) -> bool:
    """Whether a path is, or is inside, a name something runs later (RUNS_LATER), at any
    depth: ``/w/.git/hooks/pre-commit``, ``/w/sub/conftest.py`` -- or the like name of a
    git directory not named ``*.git`` (:func:`_git_directory_of`): where such a name begins
    is :func:`planted_at`'s to find."""
    return planted_at(path) is not None


#: the names of a git directory RUNS_LATER holds in one named ``*.git``
_GIT_RUNS_LATER = frozenset({"hooks", "config", "commondir", "info"})


def _git_directory_of(path: str) -> str | None:
    """The git directory whose hooks, config, commondir or info ``path`` is or is inside,
    when that directory is not named ``*.git`` -- a bare repository made ``git init --bare
    project`` (``project/hooks``, run at a push into it) -- known by what it holds, as git
    knows one (a HEAD file, objects and refs), not by its name (red team 21); None: none.
    A look at the file system only for a path with such a name in it."""
    comps = components(path)
    for i in range(1, len(comps)):
        if comps[i].lower() not in _GIT_RUNS_LATER or comps[i - 1].lower().endswith(".git"):
            continue
        directory = "/" + "/".join(comps[:i])
        if os.path.isfile(directory + "/HEAD") and os.path.isdir(directory + "/objects") \
                and os.path.isdir(directory + "/refs"):
            return directory
    return None


#: how many levels of ``[include]`` / ``[includeIf]`` :func:`_config_names_in` follows
_INCLUDE_DEPTH = 5
_SECTION = re.compile(r'\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_ENTRY = re.compile(r"\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")


def _config_value(raw: str) -> str:
    """A git config value as git reads it: quotes taken away, a comment (``#``, ``;``
    outside quotes) dropped, the escapes ``\\"``, ``\\\\`` read."""
    out, quoted, i = [], False, 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


@dataclass(frozen=True)
class ConfigNames:
    """What a git config file (and the files it includes) names that git runs or reads
    commands from: its ``core.hooksPath`` values, as written (``~/`` not expanded, relative
    ones relative to where git runs the hooks), and the files it includes, absolute --
    whether they exist or not: a file git would include is a config git reads commands
    from (``core.fsmonitor``, ``core.pager``, an alias ``!cmd``), at its next run (gap #41)."""

    hooks: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()


@functools.lru_cache(maxsize=256)
def _config_names_in(config: str, depth: int = 0) -> ConfigNames:
    """The :class:`ConfigNames` of a git config file and of the files it includes, whatever
    their condition (one git may include is one to read).  Read once in a process (a look
    per write a learned glob grants cost 5 stats, ~50 us here): a traced run may change a
    repository's config only by a learned exact rule, which lets it name any command there
    anyway (core.fsmonitor; docs/learning.md), and the user's is sensitive."""
    data = read_regular(config, 1 << 20)  # (a FIFO at a config's name held the tracer)
    if data is None:
        return ConfigNames()
    return _config_names_of(data.decode("utf-8", "surrogateescape"), config, depth)


def _config_names_of(text: str, config: str, depth: int) -> ConfigNames:
    hooks: list[str] = []
    includes: list[str] = []
    section = ""
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header is not None:
            section = header[1].lower() + ("" if header[2] is None else "." + header[2])
            line = header[3]
            if not line.strip():
                continue
        entry = _ENTRY.match(line)
        if entry is None or entry[2] is None:
            continue
        key = entry[1].lower()
        value = _config_value(entry[2])
        if section == "core" and key == "hookspath" and value:
            hooks.append(value)
        elif key == "path" and section.split(".")[0] in ("include", "includeif") and value \
                and depth < _INCLUDE_DEPTH:
            included = os.path.expanduser(value)
            if not included.startswith("/"):
                included = os.path.join(os.path.dirname(config), included)
            includes.append(os.path.normpath(included))
            more = _config_names_in(included, depth + 1)
            hooks += more.hooks
            includes += more.includes
    return ConfigNames(tuple(hooks), tuple(includes))


def _global_git_configs() -> tuple[str, ...]:
    """The configuration files every git of this user reads besides a repository's."""
    get = os.environ.get
    return _global_configs(get("HOME"), get("XDG_CONFIG_HOME"), get("GIT_CONFIG_SYSTEM"),
                           get("GIT_CONFIG_GLOBAL"))


@functools.lru_cache(maxsize=8)
def _global_configs(home: str | None, xdg: str | None, system: str | None,
                    user: str | None) -> tuple[str, ...]:
    home = home or os.path.expanduser("~")
    xdg = xdg or os.path.join(home, ".config")
    return (system or "/etc/gitconfig", user or os.path.join(home, ".gitconfig"),
            os.path.join(xdg, "git", "config"))


def _first_line(path: str) -> str | None:
    """The first line of a regular file (``procfs.read_regular``), None: none."""
    data = read_regular(path, 4096)
    return None if data is None else data.decode("utf-8", "surrogateescape").split("\n")[0]


@functools.lru_cache(maxsize=4096)
def _repository_of(directory: str) -> tuple[str, list[str]] | None:
    """The work tree ``directory`` is in (the nearest directory above with a ``.git``) and
    its repository's config files (a gitfile's ``gitdir:`` and a ``commondir`` followed)."""
    comps = components(directory)
    for i in range(len(comps), -1, -1):
        top = "/" + "/".join(comps[:i])
        dot_git = os.path.join(top, ".git")
        if os.path.isdir(dot_git):
            git_dir = dot_git
        elif os.path.isfile(dot_git):
            first = _first_line(dot_git)
            if first is None or not first.startswith("gitdir:"):
                continue
            git_dir = os.path.join(top, first[len("gitdir:"):].strip())
        else:
            continue
        configs = [os.path.join(git_dir, "config"), os.path.join(git_dir, "config.worktree")]
        common = _first_line(os.path.join(git_dir, "commondir"))
        if common is not None:
            configs.append(os.path.join(git_dir, common.strip(), "config"))
        return top, configs
    return None


def _hooks_directory_of(path: str) -> str | None:
    """The ``core.hooksPath`` directory ``path`` is or is inside, named by the config of the
    repository whose work tree holds it or by the user's or the system's (git runs its
    hooks from there, of any name: ``tools/hooks``), resolved as git resolves it -- ``~/``
    from the home directory, a relative one from the work tree's top --; None: none.
    (Configs read once in a process: :func:`_config_names_in`.)"""
    target = path.rstrip("/")  # (resolved: paths are matched resolved)
    for hooks in _hooks_directories(os.path.dirname(target) or "/", _global_git_configs()):
        if target == hooks or target.startswith(hooks + "/"):
            return hooks
    return None


def _included_config(path: str) -> bool:
    """Whether ``path`` is a file a git config includes (``[include] path``) -- of the
    repository whose work tree holds it, or the user's or the system's -- resolved as git
    resolves it (gap #41: ``.git/config`` including ``../.gitlocal``)."""
    target = path.rstrip("/")
    directory = os.path.dirname(target) or "/"
    return target in _included_configs(directory, _global_git_configs())


@functools.lru_cache(maxsize=4096)
def _included_configs(directory: str, global_configs: tuple[str, ...]) -> frozenset[str]:
    """The files the configs git running in ``directory`` reads include, resolved."""
    repository = _repository_of(directory)
    return frozenset(os.path.realpath(included)
                     for config in (*global_configs, *(repository[1] if repository else ()))
                     for included in _config_names_in(config).includes)


@functools.lru_cache(maxsize=4096)
def _hooks_directories(directory: str, global_configs: tuple[str, ...]) -> tuple[str, ...]:
    """The hooks directories git running in ``directory`` knows, resolved (never ``/``)."""
    repository = _repository_of(directory)
    top = repository[0] if repository else None
    out: list[str] = []
    for config in (*global_configs, *(repository[1] if repository else ())):
        for value in _config_names_in(config).hooks:
            value = os.path.expanduser(value)
            if not value.startswith("/"):
                if top is None:
                    continue
                value = os.path.join(top, value)
            hooks = os.path.realpath(value)
            if hooks != "/":
                out.append(hooks)
    return tuple(out)


def planted_at(path: str) -> str | None:
    """The directory a RUNS_LATER name of ``path`` begins in -- ``/w`` for
    ``/w/.git/hooks/pre-commit``, the outermost when several --, or None: no such name.  A
    run may make such a name by a learned glob only in a directory it made itself (a
    scratch directory's ``Makefile``, cmake's try-compile): what nobody had before the run
    holds nothing the user runs later (gap #32)."""
    if not path.startswith("/"):
        return None
    found = _runs_later_regex().search("/" + "/".join(components(path)))
    if found is None:
        git_directory = _git_directory_of(path)
        if git_directory is None:
            git_directory = _hooks_directory_of(path)
        if git_directory is None and _included_config(path):
            return os.path.dirname(path.rstrip("/")) or "/"
        return None if git_directory is None else os.path.dirname(git_directory) or "/"
    return found.string[:found.start()] or "/"


def reaches_runs_later(directory: str) -> bool:
    """Whether a directory, moved, puts a path of its own or below it at a RUNS_LATER name
    that no name made inside it was: the directory is at or inside one, or the last names of
    its path begin one (``repo/.git``: its ``hooks`` is a repository's).  A name wholly
    inside the moved directory (its ``conftest.py``) was decided when it was made there."""
    if runs_later(directory) or \
            _runs_later_below().search("/" + "/".join(components(directory))) is not None:
        return True
    comps = components(directory)
    return any(_prefix_matches(pattern[:k], comps[-k:])
               for pattern in _runs_later_tests() for k in range(1, len(pattern))
               if k <= len(comps))


#: the classes whose calls only read or look at a path, or run it: they plant nothing
_READ_ONLY = frozenset({"fsread", "fsmeta", "exec"})


def writes(calls: Iterable[str]) -> bool:
    """Whether a rule of these calls (classes or system calls) may make or change a file:
    any call not of a read-only class, but a system call named alone that only reads or
    looks (``lstat``, a learned listing's call without aliases; ``openat`` may write)."""
    return any(name not in _READ_ONLY and name not in _read_only_calls() for name in calls)


def plants(calls: Iterable[str]) -> bool:
    """Whether a rule of these calls may put something at a name (:func:`writes`, but for
    a system call named alone that only removes a name: ``unlink``, ``unlinkat``, ``rmdir``
    -- a removal leaves no content behind, so nothing of it runs later).  Only a planting
    rule's glob is kept from the names something runs later (RUNS_LATER, :class:`LearnedGlob`):
    pip's uninstall stash removes the older ``__pycache__/*.pyc`` it moved into its
    ``$TMPDIR/pip-uninstall-XXXXXXXX``, and the learned removal (the directory's shape, not
    fresh: the file is older) matched no such name -- the next run's install failed, its
    ``unlink`` refused 7 times (learn18).  Sensitive locations stay out of every glob: a
    removal there destroys what is not the run's (:func:`learned_glob`)."""
    from systrace_py.policy.aliases import REMOVE_CALLS  # (late: aliases imports us)

    return any(writes((name,)) and name not in REMOVE_CALLS for name in calls)


@functools.cache
def _read_only_calls() -> frozenset[str]:
    """The system calls of the read-only classes' aliases that no writing class has."""
    from systrace_py.policy.aliases import ALIASES

    reading = frozenset().union(*(ALIASES[name] for name in ("fsread", "fsmeta")))
    return reading - ALIASES["fswrite"]


class LearnedGlob:
    """A learned rule's glob that reaches a sensitive location *where it is used*: it matches
    what its glob matches, except below a sensitive location it does not name exactly.

    The learner never widens into a sensitive location -- on the machine, in the directory,
    it learned in.  But a learned rule is written with ``$CWD``, ``~`` and ``$TMPDIR`` so that
    it holds in another directory, and a variable takes its value where the policy is used:
    a walk of a project learned as ``fsread $CWD/**``, run again from the home directory,
    read ``~/.ssh/id_rsa`` (docs/security.md, red team 13b).  A learned pattern is the
    generalizer's, not the person's: it keeps the generalizer's promise wherever it is used.

    ``shapes``: the glob's, each tree (``dir/**``) as a glob of any depth -- the rule index
    then proves only the exact alternatives (which :meth:`matches` keeps) and verifies every
    other match through :meth:`matches`, and the native loop asks it of a path under the
    tree's directory (index.flat_check's FLAT_GLOB) instead of handing Python every path
    call the rule is in the way of (no shapes: a "maybe" entry for every path).

    ``writes``: the rule may make or change files (:func:`writes`), and its glob matches no
    name something runs later (RUNS_LATER, gap #32) that it does not name exactly -- but for
    a ``fresh`` rule's, which it matches for the rule to ask whether the run made the
    directory the name begins in (:meth:`made_directory`, model.Rule.matches)."""

    __slots__ = ("_exact", "fresh", "glob", "home", "pattern", "relocated", "shapes",
                 "writes")

    def __init__(self, glob: PathGlob, home: str | None,
                 relocated: tuple[str, ...] = (), writes: bool = False,
                 fresh: bool = False) -> None:
        self.glob = glob
        self.home = home
        self.relocated = relocated  # (relocated_sensitive where the policy was loaded)
        self.writes = writes
        self.fresh = fresh
        self.pattern = glob.pattern
        self._exact = frozenset("/" + "/".join(shape.prefix) for shape in glob.shapes
                                if shape.kind == "exact")
        self.shapes = tuple(GlobShape("glob", shape.prefix, None) if shape.kind == "tree"
                            else shape for shape in glob.shapes)

    def matches(self, path: str) -> bool:
        if not self.glob.matches(path):
            return False
        if path.rstrip("/") in self._exact:
            return True
        if is_sensitive(path, self.home, self.relocated):
            return False
        return self.fresh or not (self.writes and runs_later(path))

    def made_directory(self, path: str) -> str | None:
        """The directory the run must have made for the rule to cover ``path`` (a matched
        one): where a RUNS_LATER name of it begins, when the glob does not name it
        exactly; None: no such condition.  Only a fresh rule's can have one: a path another
        writing glob matched is none (:meth:`matches` asked runs_later already)."""
        if not (self.writes and self.fresh) or path.rstrip("/") in self._exact:
            return None
        return planted_at(path)

    def may_match_below(self, directory: str) -> bool:
        return self.glob.may_match_below(directory)

    def covers_all_below(self, directory: str) -> bool:
        return self.glob.covers_all_below(directory) and \
            not reaches_sensitive(directory, True, self.home, self.relocated) and \
            not (self.writes and reaches_runs_later(directory))

    def __repr__(self) -> str:
        flags = (", writes=True" if self.writes else "") + (", fresh=True" if self.fresh else "")
        return f"LearnedGlob({self.pattern!r}{flags})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LearnedGlob):
            return NotImplemented
        return self.glob == other.glob and self.home == other.home \
            and self.relocated == other.relocated and self.writes == other.writes \
            and self.fresh == other.fresh

    def __hash__(self) -> int:
        return hash((self.glob, self.home, self.relocated, self.writes, self.fresh))


def learned_glob(glob: PathGlob, expansions: Expansions,
                 env: Mapping[str, str] | None = None,
                 calls: Iterable[str] = (), fresh: bool = False) -> PathGlob | LearnedGlob:
    """A learned rule's path as it may be used here: the glob itself, unless one of its
    wildcard alternatives, expanded for this run, reaches a sensitive location -- below the
    home directory or where ``env`` moved one -- or the rule's ``calls`` may make files
    (:func:`writes`) and the glob has a wildcard: any new name of it may be one something
    runs later (RUNS_LATER) -- :class:`LearnedGlob`; ``fresh``: the rule's (a fresh rule
    may make one in a directory the run made).  Learned reads keep the index's fast paths,
    and most of them reach nothing sensitive."""
    home = _absolute(expansions.home)
    relocated = relocated_sensitive(env)
    if plants(calls) and any(shape.kind in ("tree", "glob") for shape in glob.shapes):
        return LearnedGlob(glob, home, relocated, writes=True, fresh=fresh)
    for shape in glob.shapes:
        # (deep unless it names exactly one level below its literal prefix: ``$CWD/*/*``
        # run from /home reaches /home/bob/.netrc, two levels down)
        deep = shape.kind == "tree" or shape.depth is None or \
            shape.depth > len(shape.prefix) + 1
        if shape.kind in ("tree", "glob") and reaches_sensitive(
                "/" + "/".join(shape.prefix), deep, home, relocated):
            return LearnedGlob(glob, home, relocated)
    return glob


def _sensitive_samples(home: str | None) -> tuple[str, ...]:
    """Concrete sensitive paths (and one name below each) to test a glob against."""
    homes = {root.replace("*", "user") for root in _home_roots()}
    if home:
        homes.add(home)
    samples: list[str] = [location.replace("*", "1") for location in SYSTEM_SENSITIVE]
    for h in sorted(homes):
        samples.extend(f"{h}/{rel}" for rel in HOME_SENSITIVE)
    samples.extend(relocated_sensitive())
    return tuple(samples + [s + "/x" for s in samples])


def covers_sensitive(pattern: str | None, expansions: Expansions) -> bool:
    """Whether a path glob (None: any path) matches a sensitive location or below one."""
    if pattern is None:
        return True
    try:
        glob = PathGlob(pattern, expansions=expansions)
    except GlobError:
        return False
    return any(glob.matches(s) for s in _sensitive_samples(_absolute(expansions.home)))


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


def generated_name(name: str, evidence: Evidence = Evidence.NONE, *,
                   in_tmpdir: bool = False, renamed_to: str | None = None,
                   mkstemp: bool = False, libc: bool = False,
                   pids: Collection[int] = ()) -> str | None:
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
    if evidence is Evidence.TEMPORARY and (in_tmpdir or mkstemp) and len(name) == 8 and \
            set(name) <= _TEMPFILE:
        # Python's probe (before the templates: it may begin with "cc"), made as mkstemp
        # makes a file: in any directory -- a $TMPDIR the workload exports is none the
        # learner knows, and its letters-only names (6 %) were taken for a prefix of 2 and
        # mkstemp's 6 ("xn*"), which the next run's probe missed
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
                       for length, alphabet in _SHAPES) and (
                            not skip or evidence is Evidence.TEMPORARY or _mixed(run)):
                    return escape(renamed_to + rest[:skip]) + "*" + escape(tail)
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
        heads = [shaped for length, alphabet in _SHAPES if not (libc and alphabet is _TEMPFILE)
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
            if mkstemp and not libc and len(stem) > 8 and set(stem[-8:]) <= _TEMPFILE:
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
    parts: list[str] = [""]
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "\\":
            parts[-1] += glob[i + 1:i + 2]
            i += 2
            continue
        if c == "*":
            parts.append("")
        elif c in "?[]{}":
            return None
        else:
            parts[-1] += c
        i += 1
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


def shaped_glob(name: str) -> str | None:
    """The glob of a name holding dates and times or UUIDs (:data:`SHAPED`): each digit of
    them a class (``[0-9]``, a UUID's ``[0-9a-fA-F]``), the rest literal -- the shape stays,
    so the glob matches the next run's and no other name (``*`` would let a name chosen
    around it cover ``.bashrc``: docs/security.md gap #30; ``?`` an older name as long).
    None when the name holds none."""
    out: list[str] = []
    done = 0
    for found in SHAPED.finditer(name):
        out.append(escape(name[done:found.start()]))
        digit = _UUID_DIGIT if _UUID.fullmatch(found.group()) else _DATE_DIGIT
        out.append("".join(digit if c in _HEX_ANY else escape(c) for c in found.group()))
        done = found.end()
    if not out:
        return None
    out.append(escape(name[done:]))
    return "".join(out)


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


def escape_argv(text: str) -> str:
    """A literal argument as an argv glob -- any text as an fnmatch pattern matching only
    itself (fnmatch has no backslash escapes: use classes; and ``$CWD``, the variable of
    argv conditions, as ``[$]CWD``)."""
    return argv_literal(text).replace(ARGV_CWD, "[$]" + ARGV_CWD[1:])


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
            add("temp", f"generated names like {names[0]} in {directory}, the run's own",
                writer.text(directory, tail="/" + glob), fresh=True)
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
