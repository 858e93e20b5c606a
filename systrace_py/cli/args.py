"""The ``systrace`` command's arguments: the parser, the checks of what cannot take effect,
the exit statuses, and the command to run.

Exit status: the traced command's (128+N when signal N killed it); 2 for bad input (usage,
policy file errors, a log that cannot be opened, flags that cannot take effect) before the
command starts; 126/127 when the command cannot be executed or found, as a shell says; 125 when
systrace itself failed (the traced processes are killed).  :data:`EXIT_STATUSES` says it once
for ``--help``, the man page and docs/cli.md.
"""

from __future__ import annotations

import argparse
import gettext
import os
import pwd
from collections.abc import Sequence

from systrace_py import __version__
from systrace_py.cli.report import fail
from systrace_py.injector import Injector
from systrace_py.policy.aliases import PATH_CALLS
from systrace_py.policy.glob import PathGlob, escape
from systrace_py.policy.inject import InjectError, parse_strace_inject
from systrace_py.policy.levels import GENERALIZE_LEVELS
from systrace_py.policy.model import Action, Location, Rule
from systrace_py.session import EXIT_INTERNAL
from systrace_py.syscalls import DESCRIPTOR_ARGS

EXIT_USAGE = 2
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127

#: Every exit status and what it means: the one list --help, the man page and docs/cli.md show.
EXIT_STATUSES: tuple[tuple[str, str], ...] = (
    ("N", "the command exited with status N"),
    ("128+N", "signal N ended the command (abort at the prompt: 137)"),
    ("2", "bad usage, policy file or log file: nothing was started"),
    ("125", "systrace itself failed; every traced process was killed"),
    ("126", "the command is not executable"),
    ("127", "the command was not found"),
)

DESCRIPTION = """\
Run a command under a system call policy (OpenBSD's systrace, for Linux).

Every system call the command (and every process it starts) makes meets its
policy table: permit runs it, never makes it fail with an errno, ask asks you.
"""

EPILOG = """\
other commands:
  systrace policy learn LOG.jsonl -o FILE   build a policy from a recorded --log
  systrace policy check FILE LOG.jsonl      rule hit counts; rules nothing used
  systrace policy review FILE               walk a learned policy's generalizations

exit status:
""" + "".join(f"  {code:7}{meaning}\n" for code, meaning in EXIT_STATUSES) + """
The manual page systrace(1) says more.
"""


class UsageError(Exception):
    """Bad input detected before the command starts: exit 2 with this message."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's RawDescriptionHelpFormatter, reading the terminal's width only when it
    formats help or usage.  The parser makes a formatter at each ``add_argument`` (to check
    the metavar), and argparse's reads the width there, importing shutil: ~1 ms of every
    start (issue 16).  The width is then what argparse's own would have read (the same
    ``shutil.get_terminal_size()``, the same arithmetic: tests/cli/test_startup_imports.py
    compares the help texts)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        self._asked = (max_help_position, width)
        # (a placeholder width: nothing before format_help reads it)
        super().__init__(prog, indent_increment, max_help_position,
                         width=80 if width is None else width)

    def format_help(self) -> str:
        max_help_position, width = self._asked
        if width is None:
            import shutil

            self._width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(max_help_position,
                                          max(self._width - 20, self._indent_increment * 2))
        return super().format_help()


def _gettext(message: str) -> str:
    """``gettext.gettext``, without its look-up when no catalogue can exist: argparse passes
    its messages through it (three while the parser is built), and each look-up normalises
    the language names with the ``locale`` module, imported for that (~1 ms of every start:
    issue 16) -- even when the directory it would look in does not exist (a Python built
    into its own prefix: no ``share/locale``).  Then the message is its own translation, as
    gettext would have found; in every other case gettext looks as before."""
    domain = getattr(gettext, "_current_domain", None)
    default = getattr(gettext, "_default_localedir", None)
    bound = getattr(gettext, "_localedirs", None)
    if type(domain) is str and type(default) is str and type(bound) is dict:
        localedir = bound.get(domain, default)
        if localedir and not os.path.isdir(localedir):
            return message
    return gettext.gettext(message)


def given(text: str) -> str:
    """An option's value, which must say something: an empty one -- ``-c "$RUNAS"`` with the
    variable unset -- is an error, never the option not given (``-c ""`` as root ran the
    command as root; ``-E ""`` wrote no log; ``-A -o ""`` wrote into the policy directory)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty value (an unset variable?)")
    return text


def build_parser() -> argparse.ArgumentParser:
    argparse._ = _gettext  # type: ignore[attr-defined]  # (argparse's own name for gettext)
    p = argparse.ArgumentParser(
        prog="systrace", description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False,
        formatter_class=_Formatter,
        usage="systrace [options] [--] command [args...]\n"
              "       systrace policy {learn,check,review} ...",
    )
    g = p.add_argument_group("policy")
    g.add_argument("-p", "--policy", type=given, metavar="FILE",
                   help="the policy file (default: the command's file in the policy directory)")
    g.add_argument("-d", "--policy-dir", type=given, metavar="DIR",
                   help="directory of per-program policy files "
                        "(default: $XDG_CONFIG_HOME/systrace)")
    g.add_argument("-i", dest="inherit", action="store_true",
                   help="children keep their parent's table across exec")
    g.add_argument("--dry-run", action="store_true",
                   help="refuse nothing; log every call that would have been refused")
    g.add_argument("-a", dest="automatic", action="store_true",
                   help="automatic enforcement: ask is refused and logged, never prompted")
    g = p.add_argument_group("fault injection (strace's syntax)")
    g.add_argument("--inject", action="append", type=given,
                   metavar="SET:error=E|retval=N[:signal=S]...",
                   help="tamper with the calls in SET: error=E or retval=N (they do not run),"
                        " signal=S, delay_enter=D, delay_exit=D, when=FIRST[..LAST][+[STEP]];"
                        " repeatable")
    g.add_argument("-P", dest="inject_paths", action="append", type=given, metavar="PATH",
                   help="--inject only calls on PATH (resolved; repeatable)")
    g = p.add_argument_group("learning")
    g.add_argument("-A", dest="learn", action="store_true",
                   help="learn a policy: permit everything, write what was used")
    g.add_argument("-o", "--output", type=given, metavar="FILE",
                   help="where -A writes the policy (default: the policy directory)")
    g.add_argument("--merge", action="store_true",
                   help="with -A: add to an existing policy file instead of replacing it")
    g.add_argument("--generalize", choices=GENERALIZE_LEVELS,
                   help="how far -A generalizes paths (default: safe)")
    g.add_argument("--review", action="store_true",
                   help="with -A: walk the generalizations in the terminal before saving")
    g.add_argument("--default", dest="learn_default", choices=("never", "ask"),
                   help="the default action of a learned policy (default: never)")
    g.add_argument("-u", dest="no_alias", action="store_true",
                   help="no aliasing: learned and offered rules name system calls, not aliases")
    g = p.add_argument_group("asking")
    g.add_argument("--ask-default", choices=("permit", "never"),
                   help="answer for ask when there is no terminal (default: never)")
    g.add_argument("--ask-timeout", type=float, metavar="SECONDS",
                   help="refuse an ask nobody answered within SECONDS")
    g.add_argument("--ask-delay", type=float, metavar="SECONDS",
                   help="a question on the terminal takes keys once the terminal has shown "
                        "it for SECONDS with none typed (default 0.5): keys typed to what the "
                        "screen showed before it are dropped, not taken as its answer")
    g.add_argument("--save-answers", type=given, metavar="FILE",
                   help="write rules from remembered answers here, not into the policy file")
    g.add_argument("--ask-via", type=given, metavar="exec:CMD|unix:PATH",
                   help="ask an approver program instead of the terminal: JSON lines on "
                        "CMD's stdin and stdout, or on a unix socket it connects to")
    g = p.add_argument_group("logging")
    g.add_argument("-E", "--log", type=given, metavar="FILE",
                   help="append one JSON object per decision and process event to FILE (a new "
                        "one is made 0600)")
    g.add_argument("-e", dest="log_stderr", action="store_true",
                   help="write the log to stderr")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="say every refusal, new process and exec on stderr")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no refusal count, no learning summary, no notes (errors and "
                        "warnings are still said)")
    g.add_argument("--stats", action="store_true",
                   help="at the end, say how many stops and decisions the run took")
    g = p.add_argument_group("process")
    g.add_argument("-c", dest="credentials", type=given, metavar="UID:GID",
                   help="run the command as this user and group (when started as root)")
    g.add_argument("--attach", type=int, metavar="PID",
                   help="trace a running process (and its new children) instead")
    g = p.add_argument_group("resident tracer (faster starts)")
    g.add_argument("--resident", nargs="?", const="start", choices=("start", "stop", "status"),
                   help="start (or stop) this user's resident tracer: a warm process that "
                        "later runs hand their tracing to; status: is one running (exit 0) "
                        "or not (exit 3)")
    g.add_argument("--resident-idle", type=float, metavar="SECONDS",
                   help="the resident tracer exits after SECONDS without a run (default: 600)")
    g.add_argument("--no-resident", action="store_true",
                   help="trace in this process even when a resident tracer runs (also: "
                        "SYSTRACE_NO_RESIDENT=1)")
    p.add_argument("-V", "--version", action="version", version=f"systrace-py {__version__}")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    return p


def parse_credentials(text: str) -> tuple[int, int, list[int]]:
    import grp  # (-c only)

    user, _, group = text.partition(":")
    try:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
        if group:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        else:
            gid = pwd.getpwuid(uid).pw_gid
    except KeyError as exc:
        raise UsageError(f"-c {text}: no such user or group") from exc
    if os.geteuid() != 0:
        raise UsageError("-c needs systrace to be started as root")
    return uid, gid, [gid]


def resolve_command(command: Sequence[str]) -> str:
    """The executable's path, exiting 127/126 like a shell when there is none."""
    name = command[0]
    if "/" in name:
        if not os.path.exists(name):
            raise SystemExit(fail(f"{name}: No such file or directory", EXIT_NOT_FOUND))
        if os.path.isdir(name):  # (as a shell says it: execve's EACCES sends one to chmod)
            raise SystemExit(fail(f"{name}: Is a directory", EXIT_NOT_EXECUTABLE))
        if not os.access(name, os.X_OK):
            raise SystemExit(fail(f"{name}: Permission denied", EXIT_NOT_EXECUTABLE))
        return name
    import shutil  # (a name to look up: with it, zlib, bz2, lzma and fnmatch)

    found = shutil.which(name)
    if found is None:
        raise SystemExit(fail(f"{name}: command not found", EXIT_NOT_FOUND))
    return found


#: Options of learning only, and of asking only: (attribute, how the option is written).
_LEARN_ONLY = (("output", "-o"), ("merge", "--merge"), ("generalize", "--generalize"),
               ("learn_default", "--default"), ("review", "--review"))
_ASK_ONLY = (("ask_timeout", "--ask-timeout"), ("ask_delay", "--ask-delay"),
             ("save_answers", "--save-answers"), ("ask_via", "--ask-via"))


#: the longest --ask-delay (seconds): longer keeps a person from answering at all
MAX_ASK_DELAY = 60.0

#: the largest --resident-idle: about 31 years (select() refuses a timeout past ~2**63 ns:
#: a server told 1e300 said "listening" and exited at once)
MAX_IDLE = 1e9

#: A run's options (attribute, how it is written): none applies to --resident.
_RUN_OPTIONS = (
    ("policy", "-p"), ("policy_dir", "-d"), ("inherit", "-i"), ("dry_run", "--dry-run"),
    ("automatic", "-a"), ("inject", "--inject"), ("inject_paths", "-P"), ("learn", "-A"),
    *_LEARN_ONLY, ("no_alias", "-u"), ("ask_default", "--ask-default"), *_ASK_ONLY,
    ("log", "--log"), ("log_stderr", "-e"), ("verbose", "-v"), ("quiet", "-q"),
    ("stats", "--stats"), ("credentials", "-c"), ("attach", "--attach"),
    ("no_resident", "--no-resident"))


def check_flags(opts: argparse.Namespace) -> None:
    """Refuse flags that cannot take effect in this run: a person who typed one expected it
    to do something.  Then fill in the defaults of the ones that had to be told apart from
    their default here."""
    given = [flag for attr, flag in _LEARN_ONLY if getattr(opts, attr) not in (None, False)]
    if not opts.learn and given:
        if given[0] == "-o":
            raise UsageError("-o FILE is where -A writes a learned policy, and there is no -A;"
                             " systrace writes no trace file (that is strace -o): for a record"
                             " of the run use --log FILE")
        raise UsageError(f"{given[0]} only applies to learning (-A)")
    if opts.learn:
        for attr, flag in (("automatic", "-a"), ("inherit", "-i"), ("ask_default",
                           "--ask-default"), *_ASK_ONLY):
            if getattr(opts, attr) not in (None, False):
                raise UsageError(f"{flag} cannot take effect with -A: learning permits every"
                                 " call and asks nothing")
    elif opts.automatic or opts.dry_run:
        mode = "-a" if opts.automatic else "--dry-run"
        what = ("refuses every ask" if opts.automatic else "permits every call and asks nothing")
        if opts.ask_default == "permit":
            raise UsageError(f"--ask-default permit cannot take effect with {mode}, which "
                             f"{what}")
        for attr, flag in _ASK_ONLY:
            if getattr(opts, attr) is not None:
                raise UsageError(f"{flag} cannot take effect with {mode}, which {what}")
    if opts.ask_via is not None:
        for attr, flag in (("ask_default", "--ask-default"), ("ask_delay", "--ask-delay")):
            if getattr(opts, attr) is not None:
                raise UsageError(f"{flag} cannot take effect with --ask-via: asks go to the"
                                 " approver, never to a terminal")
        from systrace_py.approver import ApproverError, parse_via

        try:
            parse_via(opts.ask_via)
        except ApproverError as exc:
            raise UsageError(str(exc)) from None
    timeout, delay = opts.ask_timeout, opts.ask_delay
    if timeout is not None or delay is not None:
        import math  # (--ask-timeout/--ask-delay only: a plain run does not load it)

        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise UsageError(f"--ask-timeout {timeout:g}: give a number of seconds above 0")
        if delay is not None and not (math.isfinite(delay) and 0 <= delay <= MAX_ASK_DELAY):
            raise UsageError(f"--ask-delay {delay:g}: give a number of seconds from 0 to "
                             f"{MAX_ASK_DELAY:g}")
        if timeout is not None and opts.ask_via is None:
            from systrace_py.ui.prompt import READ_DELAY  # (the terminal's: it will ask)

            delay = READ_DELAY if delay is None else delay
            if timeout <= delay:  # (a question takes no keys for its first --ask-delay)
                raise UsageError(f"--ask-timeout {timeout:g} is not longer than --ask-delay "
                                 f"{delay:g}: no question could ever be answered in time")
    if opts.attach is not None and opts.credentials:
        raise UsageError("-c cannot take effect with --attach: the process already runs as"
                         " its user")
    if opts.resident is not None:
        if opts.command:
            raise UsageError("--resident takes no command: it starts, stops or reports on "
                             "the resident tracer, which later runs use")
        ignored = [flag for attr, flag in _RUN_OPTIONS if getattr(opts, attr) not in (None,
                                                                                        False)]
        if ignored:
            raise UsageError(f"--resident cannot take {ignored[0]}: each run gives its own "
                             "options")
    if opts.resident_idle is not None:
        import math  # (an extension module a plain run does not load)

        if opts.resident != "start":
            raise UsageError("--resident-idle only applies to starting the resident tracer"
                             " (--resident)")
        if not (math.isfinite(opts.resident_idle) and 0 < opts.resident_idle <= MAX_IDLE):
            raise UsageError(f"--resident-idle {opts.resident_idle:g}: give a number of "
                             f"seconds above 0 and at most {MAX_IDLE:g}")
    opts.generalize = opts.generalize or "safe"
    opts.learn_default = opts.learn_default or "never"
    opts.injector = Injector(_inject_rules(opts.inject or (), opts.inject_paths or ()))


def resident_refusal(opts: argparse.Namespace) -> str | None:
    """Why a resident tracer's worker does not serve this run (the client then runs it in
    process), or None.  The worker is not in the terminal's foreground group, nor the
    parent of what it traces: --attach (SIGINT at the terminal detaches), --review (a
    terminal dialogue) and -c (root's credentials change) stay in the command's own
    process."""
    for given, flag in ((opts.attach is not None, "--attach"), (opts.review, "--review"),
                        (opts.credentials, "-c"), (opts.resident is not None, "--resident"),
                        (opts.no_resident, "--no-resident")):
        if given:
            return f"{flag} runs in process"
    return None


def _inject_rules(specs: Sequence[str], paths: Sequence[str]) -> list[Rule]:
    """--inject options (with -P paths) as inject rules: one per system call, so each call
    is counted on its own, as strace counts them."""
    if paths and not specs:
        raise UsageError("-P PATH picks the calls --inject tampers with, and there is no"
                         " --inject (systrace traces every call: -P alone would do nothing)")
    pattern = None
    if paths:
        resolved = sorted({os.path.realpath(p) for p in paths})
        text = escape(resolved[0]) if len(resolved) == 1 else \
            "{" + ",".join(escape(p).replace(",", "\\,") for p in resolved) + "}"
        pattern = PathGlob(text)
    rules: list[Rule] = []
    for spec in specs:
        try:
            calls, injection = parse_strace_inject(spec)
        except InjectError as exc:
            raise UsageError(f"--inject {spec}: {exc}") from None
        if pattern is not None:
            calls = tuple(c for c in calls if c in PATH_CALLS or c in DESCRIPTOR_ARGS)
            if not calls:
                raise UsageError(f"--inject {spec}: with -P, only calls that take a path or"
                                 " a descriptor can be picked")
        where = Location(f"--inject {spec}")
        rules += [Rule((call,), Action.INJECT, path=pattern, inject=injection, location=where,
                       index=len(rules) + 1) for call in calls]
    return rules


__all__ = ["EXIT_INTERNAL", "EXIT_NOT_EXECUTABLE", "EXIT_NOT_FOUND", "EXIT_STATUSES",
           "EXIT_USAGE", "MAX_IDLE", "UsageError", "build_parser", "check_flags",
           "parse_credentials", "resident_refusal", "resolve_command"]
