"""A learned run of one option's words in any order (learn26, ``argv.Words``) is only the
order of one command's arguments, never the order of shell code (review 28).

A word ``--x='...'`` is one word only where the shell reads it at the top of a command;
evaluated (``eval``, a function, inside another quote) its quoted text is code, and the order
of the run is the order of that code: the learning run's dead branch (``if false; then ...;
fi``) comes alive when the next run moves a word out of it.  The learner groups a run only
where each word's quoted text holds nothing the shell would read as code if it were not
quoted (no separator, redirection, grouping, substitution, blank, comment, brace or
bracket): permuted, it is arguments in another order, whatever reads them."""

from __future__ import annotations

import json
import subprocess

from test_next_run import PYTHON3, SYSTEM_PATH, enforce, learn

from systrace_py.policy.learn import MAIN, LearnOptions, Observation
from systrace_py.policy.learn import learn as learn_policy
from systrace_py.policy.model import PathArg

#: a dead branch in the learning run's order; the second word moved first, it runs
LEARNED = "eval : --x=';if\tfalse;then\t:' --x=';echo\tDEAD-CODE-RAN;:' --x=';fi;:'"
MOVED = "eval : --x=';echo\tDEAD-CODE-RAN;:' --x=';if\tfalse;then\t:' --x=';fi;:'"

PARENT = "import subprocess, sys\nsubprocess.run(['/bin/sh', '-c', sys.argv[1]], check=True)\n"


def test_a_run_whose_quoted_text_is_code_is_not_learned_in_any_order(tmp_path):
    """main: the learned ``{words = [...]}`` admitted MOVED, the dead ``echo`` ran (stdout
    DEAD-CODE-RAN, no refusal); now the command line is one glob and MOVED is refused."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {"PATH": SYSTEM_PATH}
    # (control, natively: the learning run's order never runs the echo, the moved one does)
    for command, ran in ((LEARNED, False), (MOVED, True)):
        native = subprocess.run([PYTHON3, str(script), command], capture_output=True,
                                text=True, env=env, check=True)
        assert ("DEAD-CODE-RAN" in native.stdout) is ran
    policy = learn(tmp_path, [PYTHON3, str(script), LEARNED], env=env)
    r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), LEARNED], env=env)
    assert r.returncode == 0 and refused == [], json.dumps(refused)[:2000]
    r, refused = enforce(tmp_path, policy, [PYTHON3, str(script), MOVED], env=env)
    assert "DEAD-CODE-RAN" not in r.stdout, policy.read_text()
    assert refused and refused[0].get("syscall") in ("execve", "execveat"), refused


def test_only_a_run_of_plain_option_values_is_learned_in_any_order():
    """The learner's choice itself: aclocal's ``--trace='M:$f::$n::${::}%'`` words still a run;
    a quoted text with a separator, blank, substitution, redirection, comment, brace or
    bracket keeps the command line one glob (main: every one of these was a run)."""
    parent, sh = "/usr/bin/parent", "/usr/bin/dash"

    def condition(command: str) -> tuple[object, ...]:
        obs = [Observation(MAIN, "execve", (PathArg("path", parent),), argv=("parent",),
                           initial=True),
               Observation(parent, "execve", (PathArg("path", sh),),
                           argv=("sh", "-c", command))]
        policy = learn_policy(obs, LearnOptions(env={"HOME": "/home/u", "CWD": "/w"})).policy
        rules = [r for r in policy.programs[parent].rules if r.argv is not None]
        assert len(rules) == 1
        return rules[0].argv.patterns

    ok = "autom4te --trace='A:$f::$n::${::}%' --trace='B:$f::$n' --trace=C configure.ac"
    assert not isinstance(condition(ok)[2], str)
    for inner in (";id", "\tid", "\nid", "$(id)", "`id`", ">x", "<x", "a|b", "a&b", "#c",
                  "${f:=x}", "$[f=1]", "(x)", "a\\b", 'a"b', "!x", "{a,b}"):
        command = f"autom4te --trace='A{inner}' --trace='B:$f::$n' configure.ac"
        assert isinstance(condition(command)[2], str), (inner, condition(command))
