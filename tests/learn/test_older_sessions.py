"""Older runs' generated names (learn18): rustc's incremental sessions.  A build makes
``s-TIME-RANDOM.lock`` and ``s-TIME-RANDOM-working/``, links every file of the last
finished session (``s-TIME-RANDOM-SVH/``) into it, reads, replaces and removes them there,
and removes the last session -- which, on the run after the learning one, is the learning
run's own.  Learned exactly, 11 refusals a run and the build failed; learned as the
template's shape (each random run as as many ``[0-9A-Za-z_]``), the next runs build and no
other name is reached."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_next_run import enforce
from test_next_run import learn as learn_run

from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import RANDOM_CHAR, Evidence, generated_name, generated_shape
from systrace_py.policy.glob import PathGlob, escape
from systrace_py.policy.learn import LearnOptions, Observation, learn
from systrace_py.policy.model import Action, PathArg, Policy

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _run(size: int) -> st.SearchStrategy[str]:
    return st.text(BASE36, min_size=size, max_size=size).filter(lambda r: not r.isdigit())


# --- pure: a template of several random runs ----------------------------------------------

@settings(max_examples=300, deadline=None)
@given(time=_run(10), rand=_run(7), other_time=_run(10), other_rand=_run(7),
       tail=st.sampled_from([".lock", "-working", ""]))
def test_a_sessions_shape_matches_the_next_sessions_name_and_no_other_length(
        time, rand, other_time, other_rand, tail):
    glob = "s-*-*" + escape(tail)
    shape = generated_shape(f"s-{time}-{rand}{tail}", glob)
    assert shape == "s-" + RANDOM_CHAR * 10 + "-" + RANDOM_CHAR * 7 + escape(tail)

    def matches(name: str) -> bool:
        return PathGlob("/d/" + shape).matches("/d/" + name)

    assert matches(f"s-{other_time}-{other_rand}{tail}")  # the next run's session
    assert not matches(f"s-{other_time}-{other_rand[:6]}{tail}")  # another length
    assert not matches(f"s-{other_time}{other_rand}{tail}")  # another form
    assert not matches(f"s-{other_time}-{other_rand}x{tail}")
    assert not matches(f"s-{other_time}-{other_rand}.{tail}")  # another character


@pytest.mark.parametrize(("name", "glob"), [
    ("s-abc-def.lock", "s-*-*.lock"),           # runs too short for a generator's
    ("s-1234567890-1234567.lock", "s-*-*.lock"),  # numbers: their length changes
    ("aaaaaaaaaaaaaaa", "a*a*"),                # not one way to read it
])
def test_no_shape_for_runs_that_are_no_generators(name, glob):
    assert generated_shape(name, glob) is None


@pytest.mark.parametrize(("name", "pids", "glob"), [
    # the time letters only (1 session in 7 this decade), a digit in the random number
    ("s-hospgejhbg-1t59foy.lock", (), "s-*-*.lock"),
    ("s-hospgejhbg-1t59foy-working", (), "s-*-*-working"),
    # no digit in either: no session of the template (fails closed, 1 in ~70)
    ("s-hospgejhbg-abcdefg.lock", (), None),
    # a pid of the run inside the crate's hash is none
    ("hello-b0a626c48b003309.1bpip7sd3b2voqrcq1lwhndz8.0mfk0gt.rcgu.o", (626,),
     "hello-*.1bpip7sd3b2voqrcq1lwhndz8.*.rcgu.o"),
])
def test_rustcs_session_and_object_names_are_generated(name, pids, glob):
    assert generated_name(name, Evidence.CREATED, pids=pids) == glob


def test_a_padded_number_has_a_shape_and_a_number_does_not():
    """rustc's object suffix is base 36 padded to 7 (``0023490``): its length is fixed."""
    assert generated_shape("a.0023490.rcgu.o", "a.*.rcgu.o") == \
        "a." + RANDOM_CHAR * 7 + ".rcgu.o"
    assert generated_shape("a.1023490.rcgu.o", "a.*.rcgu.o") is None  # (a pid's, a count's)


# --- learn() on rustc's records, without rustc ---------------------------------------------

ENV = {"HOME": "/home/u", "CWD": "/work/hello", "TMPDIR": "/tmp", "USER": "u"}
RUSTC = "/usr/bin/rustc"
INC = "/work/hello/target/debug/incremental/hello-0ija2rycxb5xu"
LAST = f"{INC}/s-hosoyqvc4i-13kwhbz"            # the session before the learning run's
NOW = f"{INC}/s-hosp0j1cki-17rjilg"              # the learning run's
NEXT = f"{INC}/s-hosq2k8zzm-0p3x9ab"             # the next run's
FILES = ("dep-graph.bin", "query-cache.bin", "work-products.bin")


def _session_records() -> list[Observation]:
    """A rustc session as the learner records it: its lock and working directory made,
    the last session's lock opened and its files linked in (older: ``older`` where the run
    had made the directory), read, replaced and removed there, the working directory
    renamed to the finished name, the last session removed."""
    svh_last, svh_now = "5ctxed65axqogiv7wq86m5zyb", "aio7po6yr1urf3o4g0sam2mjk"
    rw = os.O_RDWR | os.O_CREAT
    out = [
        Observation(RUSTC, "openat", (PathArg("path", f"{NOW}.lock"),), rw, created=("path",)),
        Observation(RUSTC, "mkdir", (PathArg("path", f"{NOW}-working"),), created=("path",),
                    exclusive=True),
        Observation(RUSTC, "openat", (PathArg("path", f"{LAST}.lock"),), os.O_RDWR),
    ]
    for name in FILES:
        out.append(Observation(RUSTC, "link", (
            PathArg("old", f"{LAST}-{svh_last}/{name}"),
            PathArg("new", f"{NOW}-working/{name}")), created=("new",)))
        out.append(Observation(RUSTC, "openat", (PathArg("path", f"{NOW}-working/{name}"),),
                               os.O_RDONLY, older=("path",)))
    out += [
        Observation(RUSTC, "openat", (PathArg("path", f"{NOW}-working/dep-graph.part.bin"),),
                    rw | os.O_TRUNC, created=("path",)),
        Observation(RUSTC, "rename", (PathArg("old", f"{NOW}-working/dep-graph.part.bin"),
                                      PathArg("new", f"{NOW}-working/dep-graph.bin")),
                    created=("new",), older=("new",)),
        Observation(RUSTC, "unlink", (PathArg("path", f"{NOW}-working/query-cache.bin"),),
                    older=("path",)),
        Observation(RUSTC, "rename", (PathArg("old", f"{NOW}-working"),
                                      PathArg("new", f"{NOW}-{svh_now}")),
                    created=("new",), directories=("old",)),
        *[Observation(RUSTC, "unlinkat", (PathArg("path", f"{LAST}-{svh_last}/{name}"),))
          for name in FILES],
        Observation(RUSTC, "rmdir", (PathArg("path", f"{LAST}-{svh_last}"),)),
        Observation(RUSTC, "unlink", (PathArg("path", f"{LAST}.lock"),)),
    ]
    return out


def _permits_on_older(policy: Policy, syscall: str, path: str,
                      flags: int | None = None) -> bool:
    obs = Observation(RUSTC, syscall, (PathArg("path", path),), flags)
    (facts,) = obs.all_facts()
    decision = policy.programs[RUSTC].decide(dataclasses.replace(facts, made=frozenset()))
    return decision.action is Action.PERMIT


def test_the_last_session_and_the_files_linked_from_it_are_the_templates_shape():
    learned = learn(_session_records(), LearnOptions(env=ENV)).policy
    text = dumps_policy(learned)
    policy = loads_policy(text, env=ENV)
    rules = [line for line in text.splitlines() if line.startswith("path = ")]
    assert not [r for r in rules if "hosoyqvc4i" in r or "hosp0j1cki" in r], rules
    # the next run: the learning run's lock and session are the older ones now
    assert _permits_on_older(policy, "openat", f"{NOW}.lock", os.O_RDWR)
    assert _permits_on_older(policy, "unlinkat", f"{NOW}-aio7po6yr1urf3o4g0sam2mjk/dep-graph.bin")
    for name in FILES:  # the last session's files, linked into the next run's
        assert _permits_on_older(policy, "openat", f"{NEXT}-working/{name}", os.O_RDONLY)
    assert _permits_on_older(policy, "unlink", f"{NEXT}-working/query-cache.bin")
    # no other name: another file of the directory, a session of another length or form,
    # another file in the working directory, a deeper one, the project's own files
    for other in (f"{INC}/notes.lock", f"{INC}/s-hosq2k8zzm-0p3x9a.lock",
                  f"{INC}/s-hosq2k8zzm0p3x9ab.lock", f"{NEXT}-working/secrets.txt",
                  f"{NEXT}-working/x/dep-graph.bin", "/work/hello/src/main.rs",
                  "/work/hello/Cargo.toml"):
        assert not _permits_on_older(policy, "openat", other, os.O_RDWR), other
        assert not _permits_on_older(policy, "unlink", other), other
    # and nothing written into the older files but what the run did: no write of them
    write = os.O_WRONLY | os.O_TRUNC
    assert not _permits_on_older(policy, "openat", f"{NEXT}-working/work-products.bin", write)


# --- the real cargo ------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is needed")
def test_cargo_builds_again_after_an_edit(tmp_path):
    """``cargo build`` after an edit, from a built tree with a finished session: learned
    once, 2 more edits and builds run with no refusal.  rustc's random object suffix of the
    learning run may be all digits (a number: no shape), and the next builds are then
    refused its objects -- skipped, said so."""
    env = {"CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "1"}
    made = subprocess.run(["cargo", "new", "-q", "--vcs", "none", "hello"], cwd=tmp_path,
                          capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"cargo cannot make a project here: {made.stderr[-300:]}")
    project = tmp_path / "hello"
    main = project / "src" / "main.rs"

    def edit(n: int) -> None:
        main.write_text(f'fn main() {{ println!("v{n}"); }}\n')
        # (newer than any output, whatever the clock's tick: an edit within the tick of the
        # last build's write has its mtime, and cargo then builds nothing -- no rustc, no
        # session to learn; seen once in a loaded CI)
        later = time.time_ns() + 1_000_000_000
        os.utime(main, ns=(later, later))

    for n in (1, 2):
        edit(n)
        built = subprocess.run(["cargo", "build", "-q"], cwd=project, capture_output=True,
                               text=True, env={**os.environ, **env})
        if built.returncode:
            pytest.skip(f"cargo cannot build here (offline?): {built.stderr[-300:]}")
    edit(3)
    policy = learn_run(tmp_path, ["cargo", "build", "-q"], cwd=project, env=env)
    text = policy.read_text()
    # (the run's own session, s-TIME-RANDOM-working, its base-36 shape: it was "s-*-*",
    # any name of s- -- learn38)
    assert "/s-*" not in text and "/s-" + "[0-9a-z]" * 10 + "-" in text, text
    if any(line.startswith("path = ") and ".rcgu.o" in line and
           re.search(r"\.[0-9]{7}\.rcgu\.o", line)
           for line in text.splitlines()):
        pytest.skip("the learning run's object suffix was a number: learned exactly")
    for n in (4, 5):
        edit(n)
        r, refused = enforce(tmp_path, policy, ["cargo", "build", "-q"], cwd=project,
                             env=env, timeout=600)
        assert r.returncode == 0, r.stderr
        assert refused == [], json.dumps(refused[:3])
        out = subprocess.run([str(project / "target" / "debug" / "hello")],
                             capture_output=True, text=True)
        assert out.stdout == f"v{n}\n"
