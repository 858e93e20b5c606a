"""The manual page systrace(1) and the bash and zsh completions, made from the argument parsers.

``--help``, the man page and the completions must never disagree about an option, so the man
page and the completions are rendered from the same :mod:`argparse` parsers ``systrace``
runs with (:func:`systrace_py.cli.args.build_parser`, :func:`systrace_py.cli.policy.build_parser`),
plus a few sections of prose kept here.  The rendered files are committed (``man/systrace.1``,
``completions/systrace``, ``completions/_systrace``: installed with the package, see
pyproject.toml) and a test checks they are what this module renders now::

    python -m systrace_py.docgen          # rewrite them after changing an option
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from systrace_py import __version__
from systrace_py.cli.args import DESCRIPTION, EXIT_STATUSES
from systrace_py.cli.args import build_parser as command_parser
from systrace_py.cli.policy import build_parser as policy_parser

#: Where each rendered file lives in the source tree (relative to the repository).
OUTPUTS = {
    "man": Path("man/systrace.1"),
    "bash": Path("completions/systrace"),
    "zsh": Path("completions/_systrace"),
}

#: Metavars whose values are files or directories (for the completions).
_FILE_METAVARS = frozenset({"FILE", "LOG.jsonl"})
_DIR_METAVARS = frozenset({"DIR"})

# ---------------------------------------------------------------------------------------------
# The parsers, read


def option_groups(parser: argparse.ArgumentParser
                  ) -> Iterator[tuple[str, list[argparse.Action]]]:
    """(title, options) of each group that has options, in --help's order."""
    for group in parser._action_groups:  # argparse has no public way to walk its groups
        options = [a for a in group._group_actions if a.option_strings]
        if options:
            yield group.title or "options", options


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for _, group in option_groups(parser) for a in group]


def value_name(action: argparse.Action) -> str | None:
    """What an option's value is called (None: it takes none)."""
    if action.nargs == 0:
        return None
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# ---------------------------------------------------------------------------------------------
# roff


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes and hyphens escaped, no line starting a request."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + out if out.startswith((".", "'")) else out


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n")]


def _option_lines(action: argparse.Action) -> list[str]:
    value = value_name(action)
    names = [f"\\fB{roff(name)}\\fR" + (f" \\fI{roff(value)}\\fR" if value else "")
             for name in action.option_strings]
    return [".TP", ", ".join(names), roff(" ".join((action.help or "").split()))]


_MORE_DESCRIPTION = """\
Options come first; the first word that is not an option is the command, and everything
after it belongs to the command (as with strace), so "systrace -p make.toml make -j2" works as
well as "systrace -p make.toml -- make -j2".

Without -p, the policy is looked up by the program's resolved path in the policy directory
(-d DIR, default $XDG_CONFIG_HOME/systrace, else ~/.config/systrace): first the
systrace-style name (/usr/bin/ls is _usr_bin_ls.toml; a _ in the path is %5F:
/opt/my_tool is _opt_my%5Ftool.toml), then the base name (ls.toml).
Per-program tables apply at exec: a process switches to the table of the program it runs.
Every policy file that could apply is loaded and checked before the command starts.

A run that refused calls ends with one line saying how many (a dry run: how many would have
been refused); -q leaves it out, and then lets the kernel answer unconditional refusals
without a stop.  -v says every refusal with its reason, every new process and every exec
with the table it runs under."""

_NOTES = """\
systrace waits for every traced process, also those the command left running when it exited
(as strace does); its exit status is still the command's.  When it has waited more than a
second after the command exited, it says so once on stderr.

SIGINT and SIGQUIT from the terminal reach the command; systrace ignores them while the
command runs.  SIGTERM and SIGHUP sent to systrace are passed on to the command.  While an
ask is pending, the asking process is stopped and cannot act on a signal: a first SIGTERM or
SIGINT says so, a second one ends the run (every traced process is killed).  The answer
abort at the prompt does the same.  If systrace dies, every traced process dies with it.

With --attach, SIGINT or SIGTERM detaches: the process runs on untraced, and systrace exits
with 128 plus the signal's number.

A log file that cannot be written (a full disk) ends the run: every traced process is
killed, systrace says which file and why in one line and exits 125; the log ends with the
last whole record.  With stderr closed (2>&-), systrace's messages are dropped and the
command runs as it would natively.  Under another tracer (strace -f, gdb following forks,
another systrace) the command cannot be traced: systrace says by whom and exits 125."""

#: What a reader of the FILES section needs to know of importcache's and startup's caches.
_START_CACHES = """\
start-up caches beside systrace's own .pyc files, in the installed package (one per kind of
start and interpreter: modules.run.cpython-311.marshal, generated-code.learn...,
regexes.policy..., programs.seccomp..., toml.policies...): the modules, generated code,
regular expressions, libseccomp programs and parsed policy texts a start would otherwise
import, compile and parse again.  Written whole by
any start that may write that directory (where it may not, every start takes the long way, a
few ms slower); an entry whose source changed is never used.  Delete them at any time; the
next start writes them again."""

_SEE_ALSO = ("strace(1), ptrace(2), seccomp(2); docs/cli.md, docs/policy.md and "
             "docs/security.md in the systrace-py sources")


def man_page() -> str:
    """systrace(1) in roff (man macros)."""
    command = command_parser()
    policy = policy_parser()
    lines = [
        '.\\" generated by python -m systrace_py.docgen from the argument parsers: do not edit',
        f'.TH SYSTRACE 1 "" "systrace-py {__version__}" "User Commands"',
        ".SH NAME",
        "systrace \\- run a command under a system call policy",
        ".SH SYNOPSIS",
        ".B systrace",
        "[\\fIoptions\\fR] [\\fB\\-\\-\\fR] \\fIcommand\\fR [\\fIargs\\fR ...]",
        ".br",
        ".B systrace policy",
        "{" + ",".join(f"\\fB{name}\\fR" for name in subcommands(policy)) + "} ...",
        ".SH DESCRIPTION",
    ]
    for paragraph in [*_paragraphs(DESCRIPTION), *_paragraphs(_MORE_DESCRIPTION)]:
        lines += [".PP", roff(paragraph)]
    lines.append(".SH OPTIONS")
    for title, group in option_groups(command):
        lines.append(f".SS {roff(title)}")
        for action in group:
            lines += _option_lines(action)
    lines += [".SS command", ".TP", "\\fIcommand\\fR [\\fIargs\\fR ...]",
              roff(_positional_help(command))]
    lines.append(".SH POLICY COMMANDS")
    for name, sub in subcommands(policy).items():
        lines += [".SS", f"\\fBsystrace policy {name}\\fR"]
        lines += [".PP", roff(" ".join((sub.description or "").split()))]
        for action in sub._actions:
            if not action.option_strings:
                lines += [".TP", f"\\fI{roff(str(action.metavar or action.dest))}\\fR",
                          roff(action.help or "")]
        for action in options(sub):
            lines += _option_lines(action)
    lines.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUSES:
        lines += [".TP", f"\\fB{roff(code)}\\fR", roff(meaning)]
    lines += [
        ".SH ENVIRONMENT",
        ".TP", "\\fBXDG_CONFIG_HOME\\fR, \\fBHOME\\fR",
        roff("where the policy directory is (XDG_CONFIG_HOME/systrace, else "
             "HOME/.config/systrace)"),
        ".TP", "\\fBHOME\\fR, \\fBUSER\\fR, \\fBTMPDIR\\fR",
        roff("what ~, $HOME, $USER and $TMPDIR mean in the path globs of a policy"),
        ".TP", "\\fBXDG_RUNTIME_DIR\\fR",
        roff("where the resident tracer's socket is (XDG_RUNTIME_DIR/systrace-py, else "
             "/tmp/systrace-py-UID)"),
        ".TP", "\\fBSYSTRACE_NO_RESIDENT=1\\fR",
        roff("trace in this process even when a resident tracer runs (as --no-resident)"),
        ".TP", "\\fBSYSTRACE_RESIDENT_SOCKET_CHECK=SECONDS\\fR",
        roff("the resident tracer looks for its socket more often than every 5 s (0.05-5; "
             "any other value is ignored: never less often)"),
        ".TP", "\\fBSYSTRACE_NO_NATIVE_COMMAND=1\\fR",
        roff("at install (pip install): do not build the native systrace command; systrace "
             "is then the Python one (systrace-python)"),
        ".TP", "\\fBSYSTRACE_NO_CLOOP=1\\fR",
        roff("use the pure-Python stop loop even where the native one (_cloop) is built; "
             "both decide every call the same way, the native one is faster"),
        ".TP", "\\fBSYSTRACE_NO_HOLD=1\\fR",
        roff("for measuring only (bench/run_bench.py --defences): paths and addresses are "
             "checked but not copied where the program cannot change them, which reopens "
             "the races that copy closes; never set it to protect anything"),
        ".SH FILES",
        ".TP", "\\fI$XDG_CONFIG_HOME/systrace/\\fR (else \\fI~/.config/systrace/\\fR)",
        roff("the policy directory: _usr_bin_ls.toml, ls.toml ... (created, mode 0700, by "
             "the first -A that writes into it)"),
        ".TP", "\\fI$XDG_RUNTIME_DIR/systrace\\-py/resident\\-VERSION\\-BUILD.sock\\fR",
        roff("the resident tracer's socket (--resident; else in /tmp/systrace-py-UID/, "
             "mode 0700)"),
        ".TP", "\\fIsystrace_py/__pycache__/*.marshal\\fR",
        roff(" ".join(_START_CACHES.split())),
        ".SH NOTES",
    ]
    for paragraph in _paragraphs(_NOTES):
        lines += [".PP", roff(paragraph)]
    lines += [".SH SEE ALSO", roff(_SEE_ALSO)]
    return "\n".join(lines) + "\n"


def _positional_help(parser: argparse.ArgumentParser) -> str:
    return next(a.help or "" for a in parser._actions if a.dest == "command")


# ---------------------------------------------------------------------------------------------
# Completions


def _bash_value_case(actions: list[argparse.Action]) -> list[str]:
    """``case "$prev"`` arms: what follows an option that takes a value."""
    arms: dict[str, list[str]] = {}
    for action in actions:
        value = value_name(action)
        if value is None:
            continue
        if action.choices is not None:
            words = " ".join(map(str, action.choices))
            what = f'COMPREPLY=($(compgen -W "{words}" -- "$cur"))'
        elif value in _FILE_METAVARS:
            what = 'COMPREPLY=($(compgen -f -- "$cur"))'
        elif value in _DIR_METAVARS:
            what = 'COMPREPLY=($(compgen -d -- "$cur"))'
        elif value == "PID":
            what = 'COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))'
        else:
            what = "COMPREPLY=()"
        arms.setdefault(what, []).extend(action.option_strings)
    return [f"        {'|'.join(names)}) {what}; return ;;" for what, names in arms.items()]


def bash_completion() -> str:
    command = command_parser()
    actions = options(command)
    words = " ".join(name for a in actions for name in a.option_strings)
    takes_value = "|".join(name for a in actions if value_name(a) is not None
                           for name in a.option_strings)
    subs = subcommands(policy_parser())
    sub_cases = []
    for name, sub in subs.items():
        sub_actions = options(sub)
        sub_words = " ".join(n for a in sub_actions for n in a.option_strings)
        sub_cases += [
            f"            {name})",
            '                case "$prev" in',
            *("    " + arm for arm in _bash_value_case(sub_actions)),
            "                esac",
            '                if [[ $cur == -* ]]; then',
            f'                    COMPREPLY=($(compgen -W "{sub_words}" -- "$cur"))',
            "                else",
            '                    COMPREPLY=($(compgen -f -- "$cur"))',
            "                fi",
            "                return ;;",
        ]
    return "\n".join([
        "# bash completion for systrace",
        "# generated by python -m systrace_py.docgen from the argument parsers: do not edit",
        "_systrace() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" i word',
        '    if [[ ${COMP_WORDS[1]} == policy ]]; then',
        "        if (( COMP_CWORD == 2 )); then",
        f'            COMPREPLY=($(compgen -W "{" ".join(subs)} -h --help" -- "$cur"))',
        "            return",
        "        fi",
        '        case "${COMP_WORDS[2]}" in',
        *sub_cases,
        "        esac",
        "        return",
        "    fi",
        "    # the first word that is not an option (or an option's value) is the command:",
        "    # from there on, complete as for that command",
        "    for (( i = 1; i < COMP_CWORD; i++ )); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$word" in',
        f"            {takes_value}) (( i++ )) ;;",
        "            --) (( i++ )); break ;;",
        "            -*) ;;",
        "            *) break ;;",
        "        esac",
        "    done",
        "    if (( i < COMP_CWORD )); then",
        "        if declare -F _command_offset >/dev/null; then _command_offset \"$i\"; else",
        '            COMPREPLY=($(compgen -f -- "$cur")); fi',
        "        return",
        "    fi",
        '    case "$prev" in',
        *_bash_value_case(actions),
        "    esac",
        '    if [[ $cur == -* ]]; then',
        f'        COMPREPLY=($(compgen -W "{words}" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -c -- "$cur"))',
        "    fi",
        "}",
        "complete -F _systrace systrace",
        "",
    ])


def _zsh_text(text: str) -> str:
    """Text inside a zsh _arguments spec's single quotes and brackets."""
    return (" ".join(text.split()).replace("'", "'\\''").replace("[", "\\[")
            .replace("]", "\\]").replace(":", "\\:"))


def _zsh_specs(actions: list[argparse.Action]) -> list[str]:
    specs = []
    for action in actions:
        value = value_name(action)
        helptext = _zsh_text(action.help or "")
        if value is None:
            action_spec = ""
        elif action.choices is not None:
            action_spec = f":{_zsh_text(value)}:({' '.join(map(str, action.choices))})"
        elif value in _FILE_METAVARS:
            action_spec = f":{_zsh_text(value)}:_files"
        elif value in _DIR_METAVARS:
            action_spec = f":{value}:_files -/"
        elif value == "PID":
            action_spec = ":PID:_pids"
        else:
            action_spec = f":{_zsh_text(value)}: "
        names = action.option_strings
        exclusive = f"({' '.join(names)})" if len(names) > 1 else ""
        if len(names) > 1:
            specs.append(f"'{exclusive}'{{{','.join(names)}}}'[{helptext}]{action_spec}'")
        else:
            specs.append(f"'{names[0]}[{helptext}]{action_spec}'")
    return specs


def zsh_completion() -> str:
    command = command_parser()
    subs = subcommands(policy_parser())
    lines = [
        "#compdef systrace",
        "# zsh completion for systrace",
        "# generated by python -m systrace_py.docgen from the argument parsers: do not edit",
        "",
        "_systrace_policy() {",
        "  local -a subcommands",
        "  subcommands=(",
        *(f"    '{name}:{_zsh_text(sub.description or '')}'" for name, sub in subs.items()),
        "  )",
        "  if (( CURRENT == 2 )); then",
        "    _describe 'policy command' subcommands",
        "    return",
        "  fi",
        "  case $words[2] in",
    ]
    for name, sub in subs.items():
        positionals = [a for a in sub._actions if not a.option_strings]
        lines += [f"    {name})", "      _arguments -s \\"]
        lines += [f"        {spec} \\" for spec in _zsh_specs(options(sub))]
        lines += [f"        ':{_zsh_text(str(a.metavar or a.dest))}:_files' \\"
                  for a in positionals]
        lines[-1] = lines[-1].removesuffix(" \\")
        lines.append("      ;;")
    lines += [
        "  esac",
        "}",
        "",
        "_systrace() {",
        "  if [[ $words[2] == policy ]]; then",
        "    shift words; (( CURRENT-- ))",
        "    _systrace_policy",
        "    return",
        "  fi",
        "  _arguments -s -S \\",
        *(f"    {spec} \\" for spec in _zsh_specs(options(command))),
        "    '(-)1:command:_command_names -e' \\",
        "    '(-)*::arguments:_normal'",
        "}",
        "",
        '_systrace "$@"',
        "",
    ]
    return "\n".join(lines)


RENDERERS = {"man": man_page, "bash": bash_completion, "zsh": zsh_completion}


def main(argv: list[str] | None = None) -> int:
    """Write every rendered file under the repository (the current directory, or argv[0])."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        # (a word like --help is no repository: it made a directory of that name)
        sys.stderr.write("usage: python -m systrace_py.docgen [REPOSITORY]\n"
                         "  rewrites man/systrace.1 and completions/ from the parsers\n")
        return 0 if args in (["-h"], ["--help"]) else 2
    root = Path(args[0]) if args else Path(".")
    for kind, relative in OUTPUTS.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(RENDERERS[kind]())
        sys.stdout.write(f"wrote {target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
