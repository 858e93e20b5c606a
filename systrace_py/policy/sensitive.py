"""What is sensitive, and what runs later: the locations the generalizer never widens into
(:data:`HOME_SENSITIVE`, :data:`SYSTEM_SENSITIVE`, where the environment moves them:
:func:`relocated_sensitive`), the names something runs later (:data:`RUNS_LATER`), and a
learned rule's glob held to both where the policy is used (:func:`learned_glob`,
:class:`LearnedGlob`).

The generalizer (:mod:`systrace_py.policy.generalize`) is their user and names them all as its
own; they live apart from it because loading a learned policy asks :func:`learned_glob` of
every learned permit rule with a path: importing the whole generalizer for that -- its name
templates, categories and writers -- was ~1 ms of every start under a learned policy (issue
16).  No ptrace; the file system and the environment are read only to place the sensitive
locations (where ``/home`` and ``/root`` really are, and those the environment moves,
resolved -- paths are matched resolved) and a repository's git configuration (the hooks
directories it names).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from systrace_py.policy.argv import escape_argv
from systrace_py.policy.glob import Expansions, GlobError, GlobShape, PathGlob
from systrace_py.procfs import read_regular

__all__ = [
    "ENV_SENSITIVE",
    "HOME_SENSITIVE",
    "RUNS_LATER",
    "RUNS_LATER_NAMES",
    "SYSTEM_SENSITIVE",
    "LearnedGlob",
    "components",
    "covers_sensitive",
    "is_sensitive",
    "learned_glob",
    "planted_at",
    "plants",
    "reaches_runs_later",
    "reaches_sensitive",
    "relocated_sensitive",
    "runs_later",
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
#: sensitive patterns, each as its names (fnmatch patterns, one per component)
_Patterns = tuple[tuple[str, ...], ...]


@functools.lru_cache(maxsize=1024)
def _name_test(component: str) -> _NameTest:
    if not any(ch in component for ch in "*?["):
        return component.__eq__
    return re.compile(fnmatch.translate(component), re.DOTALL).match


def _tests(patterns: Iterable[tuple[str, ...]]) -> tuple[tuple[_NameTest, ...], ...]:
    # (one test per distinct name: the ~130 patterns have ~90 names, and their ~100 "*" --
    # every /home/* one -- each translated and looked up in re's cache took ~0.4 ms of a
    # learned policy's start, issue 16)
    return tuple(tuple(_name_test(c) for c in pattern) for pattern in patterns)


@functools.lru_cache(maxsize=16)
def _sensitive_index(home: str | None, relocated: tuple[str, ...] = ()
                     ) -> tuple[dict[str, _Patterns], _Patterns]:
    """The sensitive patterns by their first name: a literal one can only be reached from a
    directory whose first name it is; a wildcard one (second) from any.  reaches_sensitive
    tried all ~150 on each shape of a learned glob: ~14 M instructions, ~3.5 ms of a learned
    policy's start (issue 16)."""
    by_first: dict[str, list[tuple[str, ...]]] = {}
    wild: list[tuple[str, ...]] = []
    for names in _sensitive_patterns(home, relocated):
        first = names[0]
        if any(ch in first for ch in "*?["):
            wild.append(names)
        else:
            by_first.setdefault(first, []).append(names)
    return {k: tuple(v) for k, v in by_first.items()}, tuple(wild)


@functools.lru_cache(maxsize=256)
def _reachable_tests(home: str | None, relocated: tuple[str, ...], first: str | None
                     ) -> tuple[tuple[_NameTest, ...], ...]:
    """The tests (a name test per component) of the sensitive patterns a directory whose
    first name is ``first`` may reach (:func:`_sensitive_index`; None: the root, every
    pattern) -- made only for the first names asked: a learned policy's globs are mostly
    below /usr, /lib and the project, where no sensitive location is."""
    if first is None:
        return _tests(_sensitive_patterns(home, relocated))
    by_first, wild = _sensitive_index(home, relocated)
    return _tests(by_first.get(first, ()) + wild)


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
    for pattern in _reachable_tests(home, relocated, comps[0] if comps else None):
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

    @property
    def leaves_out_runs_later(self) -> bool:
        """Whether the glob matches no name something runs later that it does not name
        exactly, wherever that name is below a directory it covers (:meth:`matches`) --
        which :meth:`covers_all_below` counts as covered when the name is wholly inside
        (model.Table.linked_shortfall compares those names apart)."""
        return self.writes and not self.fresh

    def names_exactly_below(self, directory: str) -> bool:
        """Whether one of the names the glob names exactly is below ``directory`` and a
        name something runs later (the only ones it matches among those it leaves out)."""
        below = directory.rstrip("/") + "/"
        return any(name.startswith(below) and runs_later(name) for name in self._exact)

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


def may_match_runs_later_below(pattern: object, directory: str) -> bool:
    """Whether a rule's path ``pattern`` may match a name something runs later (RUNS_LATER)
    strictly below ``directory``: a learned writing glob only where it names one exactly
    (:meth:`LearnedGlob.names_exactly_below`); a glob of exact names (``{a,b}``, a literal
    path) where one of them below is such a name; any other glob whenever it may match
    below at all (fail closed)."""
    if isinstance(pattern, LearnedGlob) and pattern.leaves_out_runs_later:
        return pattern.names_exactly_below(directory)
    shapes = getattr(pattern, "shapes", None)
    if shapes and all(shape.kind == "exact" for shape in shapes):
        below = directory.rstrip("/") + "/"
        return any(name.startswith(below) and runs_later(name)
                   for name in ("/" + "/".join(shape.prefix) for shape in shapes))
    test = getattr(pattern, "may_match_below", None)
    return bool(test(directory)) if test is not None else True


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
