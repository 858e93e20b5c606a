"""docs/cli.md, `systrace --help`, the man page systrace(1) and the shell completions agree:
docs/cli.md shows exactly what --help prints and the exit statuses the code has; the man page
and the completions committed are what the parsers render now, and name every option (with
its help text, in the man page); a built wheel installs them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, run_systrace
from systrace_py import __version__, docgen
from systrace_py.cli import args as cli
from systrace_py.cli import policy as policy_cli


def test_help_in_the_docs_is_the_real_help():
    doc = (REPO / "docs" / "cli.md").read_text()
    documented = re.search(r"## `systrace --help`.*?```text\n(.*?)```", doc, re.S)
    assert documented is not None
    r = run_systrace(["--help"], env={"COLUMNS": "80"})
    assert r.returncode == 0
    assert documented.group(1) == r.stdout


def test_the_exit_statuses_in_the_docs_are_the_codes():
    doc = (REPO / "docs" / "cli.md").read_text()
    table = re.search(r"## Exit status\n\n((?:\|[^\n]*\n)+)", doc)
    assert table is not None
    rows = [[cell.strip().strip("`") for cell in line.strip("|\n").split("|")]
            for line in table.group(1).splitlines()[2:]]
    assert [(code, meaning) for code, meaning in rows] == list(cli.EXIT_STATUSES)


@pytest.mark.parametrize("kind", list(docgen.OUTPUTS))
def test_the_committed_man_page_and_completions_are_rendered_from_the_parsers(kind):
    committed = (REPO / docgen.OUTPUTS[kind]).read_text()
    assert committed == docgen.RENDERERS[kind](), \
        f"{docgen.OUTPUTS[kind]} is stale: run python -m systrace_py.docgen"


def all_options() -> list:
    parsers = [cli.build_parser(), *docgen.subcommands(policy_cli.build_parser()).values()]
    return [action for parser in parsers for action in docgen.options(parser)]


def man_text() -> str:
    """The man page as a reader sees it (roff rendered to plain text, no hyphenation)."""
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=400n", "-rHY=0",
                        str(REPO / docgen.OUTPUTS["man"])], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace("\u2010", "-").replace("\u2212", "-")


def test_the_man_page_has_every_option_with_its_help_text():
    text = " ".join(man_text().split())
    for action in all_options():
        for name in action.option_strings:
            assert name in text, name
        assert " ".join((action.help or "").split()) in text, action.option_strings
    for code, meaning in cli.EXIT_STATUSES:
        assert f"{code} {meaning}" in text, code


def test_the_man_page_renders_without_warnings():
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(REPO / docgen.OUTPUTS["man"])],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, "")


def test_the_completions_offer_every_option():
    bash = (REPO / docgen.OUTPUTS["bash"]).read_text()
    zsh = (REPO / docgen.OUTPUTS["zsh"]).read_text()
    for action in all_options():
        for name in action.option_strings:
            assert re.search(rf"[\s\"'|{{,]{re.escape(name)}[\s\"'|,}}\[)]", bash), name
            assert re.search(rf"[\s'{{,(]{re.escape(name)}[\s',}}\[)]", zsh), name


def complete(*words: str) -> list[str]:
    """What the bash completion offers for a command line (the last word being typed)."""
    script = (f"source {REPO / docgen.OUTPUTS['bash']}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in ['systrace', *words])})\n"
              f"COMP_CWORD={len(words)}\n"
              "_systrace\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                       cwd=REPO / "docs")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion_works():
    assert complete("--pol") == ["--policy", "--policy-dir"]
    assert complete("--generalize", "") == ["none", "strict", "safe", "broad"]
    assert complete("policy", "") == ["learn", "check", "review", "-h", "--help"]
    assert complete("policy", "learn", "--gen") == ["--generalize"]
    assert "cli.md" in complete("-p", "cl")
    assert complete("-p", "x.toml", "ls", "--pol") != ["--policy", "--policy-dir"]


@pytest.mark.slow
def test_a_built_wheel_installs_the_man_page_and_the_completions(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "systrace_py", "man", "completions",
                 "scripts"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True,
                           text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-300:]}")
    wheel = next((tmp_path / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        data = f"systrace_py-{__version__}.data/data/"
        for target, path in (("share/man/man1/systrace.1", docgen.OUTPUTS["man"]),
                             ("share/bash-completion/completions/systrace",
                              docgen.OUTPUTS["bash"]),
                             ("share/zsh/site-functions/_systrace", docgen.OUTPUTS["zsh"])):
            assert data + target in names, sorted(names)
            assert archive.read(data + target).decode() == (REPO / path).read_text()
        # the command: our script (pip writes the interpreter's path in its #!python line),
        # not an entry point's generated shim (tests/cli/test_resident.py)
        scripts = f"systrace_py-{__version__}.data/scripts/"
        python = (REPO / "scripts" / "systrace-python").read_bytes()
        assert archive.read(scripts + "systrace-python") == python
        # ``systrace``: the native client (scripts/systrace.c), or without a compiler the
        # Python command again
        assert archive.read(scripts + "systrace")[:4] == b"\x7fELF" or (
            archive.read(scripts + "systrace") == python)
        assert not any(name.endswith("entry_points.txt") for name in names), sorted(names)


def _section(doc: str, title: str) -> str:
    """The text of one ``## title`` section of a markdown file (up to the next ``## ``)."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    assert found is not None, title
    return found.group(1)


def test_the_usage_lines_name_every_policy_subcommand():
    """--help's usage and the man page's synopsis list ``systrace policy``'s subcommands as
    the parser has them (``review`` was missing from both)."""
    names = ",".join(docgen.subcommands(policy_cli.build_parser()))
    assert f"systrace policy {{{names}}} ..." in cli.build_parser().format_usage()
    synopsis = " ".join(man_text().split("SYNOPSIS", 1)[1].split("DESCRIPTION", 1)[0].split())
    assert f"systrace policy {{{names}}} ..." in synopsis


def test_every_policy_subcommand_option_is_in_the_docs():
    """docs/cli.md's Subcommands section names every option (and every choice) of each
    ``systrace policy`` subcommand, in the bullet of that subcommand."""
    section = _section((REPO / "docs" / "cli.md").read_text(), "Subcommands")
    bullets = {m.group(1): m.group(0) for m in
               re.finditer(r"^- `systrace policy (\w+).*?(?=^- |\Z)", section, re.S | re.M)}
    for name, parser in docgen.subcommands(policy_cli.build_parser()).items():
        assert name in bullets, name
        for action in docgen.options(parser):
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert re.search(rf"`{re.escape(option)}[ `\]]", bullets[name]), \
                        (name, option)
            for choice in action.choices or ():
                assert choice in bullets[name], (name, choice)


def _environment_variables() -> set[str]:
    """Every SYSTRACE_* variable the package's source names, and the others it reads."""
    names = {"XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "HOME", "USER", "TMPDIR"}
    for path in (REPO / "systrace_py").rglob("*"):
        if path.suffix in (".py", ".c"):
            names |= set(re.findall(r"\bSYSTRACE_[A-Z_]+\b", path.read_text()))
    return names


def test_every_environment_variable_is_in_the_man_page_and_the_docs():
    man = man_text()
    environment = man.split("\nENVIRONMENT", 1)[1].split("\nFILES", 1)[0]
    doc = _section((REPO / "docs" / "cli.md").read_text(), "Environment and files")
    for name in _environment_variables():
        assert re.search(rf"^ *{name}\b|, {name}\b", environment, re.M), name
        assert f"`{name}" in doc, name


def test_the_man_page_and_the_docs_name_the_start_up_caches():
    """The files a start writes into the installed package (importcache.cache_path) are in
    the man page's FILES and in docs/cli.md: a user who finds them must learn what they are."""
    from systrace_py import importcache

    cache = importcache.cache_path("run")
    relative = "systrace_py/__pycache__/*" + cache[cache.rindex("."):]
    files = man_text().split("\nFILES", 1)[1]
    doc = _section((REPO / "docs" / "cli.md").read_text(), "Environment and files")
    assert relative in files and f"`{relative}`" in doc
    # each kind of cache the sources name (cache_path(kind, WHAT)) is named too
    called = set()
    for path in (REPO / "systrace_py").rglob("*.py"):
        for args in re.findall(r"\bcache_path\(([^)]*)\)", path.read_text()):
            what = re.findall(r"\"([\w-]+)\"", args.split(",", 1)[1]) if "," in args else []
            called.add(what[0] if what else "generated-code")
    assert called >= {"modules", "generated-code", "regexes"}, called
    for what in called:
        assert f"{what}." in " ".join(files.split()) and f"`{what}." in doc, what


def test_the_defaults_the_help_states_are_the_defaults():
    """Each "(default: X)" of a help text that names a value is what the option is when it
    is not given (after check_flags, which fills in the learning ones)."""
    from systrace_py import resident

    opts = cli.build_parser().parse_args(["-A", "true"])
    cli.check_flags(opts)
    effective = {"generalize": opts.generalize, "learn_default": opts.learn_default,
                 "resident_idle": f"{resident.DEFAULT_IDLE:g}"}
    policy_parsers = docgen.subcommands(policy_cli.build_parser())
    checked = 0
    for parser, values in [(cli.build_parser(), effective),
                           *((p, {a.dest: a.default for a in p._actions})
                             for p in policy_parsers.values())]:
        for action in docgen.options(parser):
            stated = re.search(r"\(default: ([\w.]+)\)", action.help or "")
            if stated is None or action.dest not in values:
                continue
            assert str(values[action.dest]) == stated.group(1), action.option_strings
            checked += 1
    assert checked >= 5


#: Long options the docs name that belong to other programs: (file, option, whose).
_OTHER_PROGRAMS = {("docs/cli.md", "--defences"): "bench/run_bench.py",
                   ("docs/cli.md", "--no-new-privs"): "setpriv(1)"}


def test_every_long_option_the_docs_name_exists():
    """A --option written in README.md, docs/cli.md, docs/asking.md or docs/api.md is one of
    systrace's (or its policy subcommands', or the approver's: docs/asking.md), so a renamed
    or removed option cannot live on in the docs."""
    known = {name for action in [*all_options(), *cli.build_parser()._actions]
             for name in action.option_strings}
    approver = subprocess.run([sys.executable, "-m", "systrace_py.approver", "--help"],
                              capture_output=True, text=True, cwd=REPO)
    assert approver.returncode == 0, approver.stderr
    known |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", approver.stdout))
    assert {"--rules", "--unix"} <= known
    for name in ("README.md", "docs/cli.md", "docs/asking.md", "docs/api.md"):
        for option in set(re.findall(r"(?<![\w/-])(--[a-z][a-z-]+)",
                                     (REPO / name).read_text())):
            assert option in known or (name, option) in _OTHER_PROGRAMS, (name, option)


def test_the_stats_lines_are_documented(tmp_path):
    """--stats's lines, as a run prints them, and every kind of stop the tracer counts are in
    docs/cli.md's --stats paragraph."""
    from systrace_py.engine import tracer

    doc = " ".join((REPO / "docs" / "cli.md").read_text().split())
    paragraph = doc[doc.index("- `--stats` says"):]
    paragraph = paragraph[:paragraph.index(" - ")]
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    r = run_systrace(["--stats", "-p", str(policy), "--", "sh", "-c", "/bin/true; true"])
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("systrace: ")]
    assert re.fullmatch(r"systrace: \d+ stops \(\d+ decided natively\), \d+ decisions, "
                        r"\d+ refusals, tracer CPU [\d.]+s, tracer RSS [\d.]+ MiB", lines[0])
    assert "systrace: 3518 stops (3484 decided natively), 3513 decisions, 0 refusals, tracer " \
           "CPU 0.112s, tracer RSS 19.4 MiB" in paragraph
    for line in lines[1:]:
        label = line.split(":")[1].strip()
        assert f"`systrace: {label}:" in paragraph, line
    counted = tracer.Tracer(None).stop_kinds  # type: ignore[arg-type]
    events = {name for _, name in tracer._EVENTS.values() if name != "call"}
    for kind in [*counted, *events]:
        assert f"`{kind}`" in paragraph, kind


def test_the_man_page_and_the_docs_give_each_option_its_argument():
    """Each option that takes a value is written with it (``-p FILE``, ``--generalize
    {none,strict,safe,broad}``) in the man page, and in docs/cli.md's copy of --help for the
    command's own options."""
    text = " ".join(man_text().split())
    documented_help = (REPO / "docs" / "cli.md").read_text()
    command_options = set(docgen.options(cli.build_parser()))
    for action in all_options():
        value = docgen.value_name(action)
        if value is None:
            continue
        for name in action.option_strings:
            assert f"{name} {value}" in text, (name, value)
            if action in command_options:
                assert f"{name} {value}" in documented_help, (name, value)


def test_the_log_reasons_in_the_docs_are_the_reasons():
    """docs/cli.md's `syscall` record lists every `reason` the log can hold (policy.model.Reason)
    and no other: a reason added for a new refusal is documented where a log reader looks."""
    from systrace_py.policy.model import REASONS

    doc = (REPO / "docs" / "cli.md").read_text()
    row = re.search(r"^\| `syscall` \|.*$", doc, re.M)
    assert row is not None
    listed = re.search(r"`reason` \((.*?)\), `errno`", row.group(0))
    assert listed is not None, "the `syscall` row has no `reason` (...) list"
    named = set(re.findall(r"(?:^|, )`([^`]+)`", listed.group(1)))
    assert named == set(REASONS)


def test_docgen_takes_no_option_for_a_repository(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m systrace_py.docgen --help`` made a directory named --help and wrote the
    manual page into it: a word starting with '-' is no repository -- usage, nothing written."""
    monkeypatch.chdir(tmp_path)
    assert docgen.main(["--help"]) == 0
    assert docgen.main(["-x"]) == 2
    assert docgen.main([str(tmp_path), "extra"]) == 2
    assert list(tmp_path.iterdir()) == []
