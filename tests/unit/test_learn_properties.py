"""Properties of the learner on generated observations (no tracing).

The one promise learning makes: the policy it writes permits everything it was learned from
-- at every generalization level, with and without aliases, after being written as TOML and
loaded back, and after merging two learned policies.  Exceptions are explicit: calls
learning refuses (unsafe) and paths no rule can name (reported as unrepresentable).
"""

from __future__ import annotations

import errno
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from systrace_py.policy import aliases
from systrace_py.policy.files import dumps_policy, loads_policy
from systrace_py.policy.generalize import SystemFacts, compact
from systrace_py.policy.glob import PathGlob, escape
from systrace_py.policy.learn import (
    GENERALIZE_LEVELS,
    MAIN,
    LearnOptions,
    Observation,
    decide_observation,
    learn,
    merge_policies,
    observation_from_record,
)
from systrace_py.policy.model import Action, PathArg, SockAddr

ENV = {"HOME": "/root", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "root"}

DIRS = [
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3",
    "/usr/lib/locale", "/usr/share/zoneinfo/Europe", "/usr/lib/python3.11/lib-dynload",
    "/usr/lib/python3.11/json", "/tmp", "/var/tmp", "/root", "/root/.ssh", "/home/u",
    "/home/u/.gnupg", "/proc/123", "/proc/4567/task/4568", "/etc", "/etc/ssh", "/work/proj",
    "/work/proj/.git", "/work/proj/.git/objects/ab", "/dev/pts", "/", "/work/we,ird{dir}",
    "/usr/bin",
]
NAME_ALPHABET = "abcxyzAB019_-.,*?[]{}$\\~ é"
names = st.one_of(
    st.text(NAME_ALPHABET, min_size=1, max_size=12),
    st.sampled_from(["libc.so.6", "libfoo.so", "locale-archive", "tmpab12cd34", "ccAb12Cd.s",
                     "tmp_obj_AbC123", "t8e1Ujj", "status", "environ", "3", "config",
                     "id_rsa", "index.lock", "shadow", "b983be36b73c0788dc9cbcb76cbb80fc7bb057",
                     "pack-" + "0123456789abcdef" * 3 + ".idx", "x.cpython-311.pyc"]),
).filter(lambda n: n not in (".", ".."))


@st.composite
def paths(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 19))
    if choice == 0:
        return draw(st.sampled_from(["pipe:[1234]", "socket:[99]", "anon_inode:[eventfd]",
                                     "/memfd:jit (deleted)", "", "fd:7"]))
    directory = draw(st.sampled_from(DIRS))
    parts = draw(st.lists(names, min_size=1, max_size=2))
    return directory.rstrip("/") + "/" + "/".join(parts)


OPEN_FLAGS = [os.O_RDONLY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, os.O_RDWR,
              os.O_RDONLY | os.O_DIRECTORY, os.O_RDWR | os.O_CREAT | os.O_EXCL, os.O_PATH]
PLAIN_CALLS = ["read", "mmap", "clone", "wait4", "ioctl", "prctl", "kill", "setuid", "socket",
               "listen", "accept4", "io_uring_setup", "ptrace", "getdents64", "fstat",
               "sched_setaffinity"]
SOCKADDRS = st.one_of(
    st.builds(SockAddr, st.just("inet"),
              st.sampled_from(["127.0.0.1", "10.1.2.3", "8.8.8.8"]), st.integers(0, 65535)),
    st.builds(SockAddr, st.just("inet6"), st.sampled_from(["::1", "2001:db8::1"]),
              st.integers(0, 65535)),
    st.builds(lambda p: SockAddr("unix", path=p),
              st.one_of(paths().filter(lambda p: p.startswith("/")),
                        st.sampled_from(["@abstract", "@/tmp/.X11-unix/X0", ""]))),
    st.sampled_from([SockAddr("netlink"), SockAddr("other")]),
)


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    table = draw(st.sampled_from([MAIN, "/usr/bin/x", "/usr/lib/y/z"]))
    kind = draw(st.integers(0, 6))
    if kind == 0:
        flags = draw(st.sampled_from(OPEN_FLAGS))
        exclusive = bool(flags & os.O_EXCL)
        created = ("path",) if flags & os.O_CREAT and draw(st.booleans()) else ()
        return Observation(table, "openat", (PathArg("path", draw(paths())),), flags,
                           created=created, exclusive=exclusive)
    if kind == 1:
        call = draw(st.sampled_from(["newfstatat", "lstat", "access", "readlink", "unlink",
                                     "mkdir", "chmod", "utimensat", "fchown", "truncate"]))
        created = ("path",) if call == "mkdir" else ()
        return Observation(table, call, (PathArg("path", draw(paths())),), created=created,
                           exclusive=call == "mkdir")
    if kind == 2:
        call = draw(st.sampled_from(["rename", "renameat2", "link"]))
        return Observation(table, call, (PathArg("old", draw(paths())),
                                         PathArg("new", draw(paths()))), created=("new",),
                           selector=draw(st.sampled_from([None, 0, 2]))
                           if call == "renameat2" else None)
    if kind == 3:
        argv = draw(st.lists(st.text(NAME_ALPHABET + "/", max_size=8), max_size=4))
        program = draw(st.sampled_from(["/usr/bin/dash", "/usr/bin/cat", "/work/proj/run*",
                                        "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"]))
        if program == "/usr/bin/dash" and draw(st.booleans()):
            argv = ["sh", "-c", *argv]
        failed = draw(st.sampled_from([0, 0, 0, errno.ENOENT, errno.EACCES]))
        return Observation(table, "execve", (PathArg("path", program),), argv=tuple(argv),
                           initial=draw(st.booleans()), failed=failed)
    if kind == 4:
        call = draw(st.sampled_from(["connect", "sendto", "sendmsg", "bind", "sendmmsg"]))
        addrs = draw(st.lists(SOCKADDRS, max_size=3 if call == "sendmmsg" else 1))
        return Observation(table, call, sockaddrs=tuple(addrs))
    if kind == 5:
        directory = draw(st.sampled_from(DIRS))
        entries = draw(st.lists(names.map(lambda n: n.replace("/", "")), max_size=5))
        return Observation(table, "getdents64", (PathArg("path", directory),),
                           listing=tuple(dict.fromkeys(entries)))
    return Observation(table, draw(st.sampled_from(PLAIN_CALLS)))


MKSTEMP_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PY_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"


@st.composite
def scenarios(draw: st.DrawFn) -> list[Observation]:
    """Related observations as real programs make them: a temporary file's life, a git
    object written through a temporary name, a directory listed then every entry read."""
    table = draw(st.sampled_from([MAIN, "/usr/bin/x"]))
    kind = draw(st.integers(0, 3))
    if kind == 0:  # mkstemp / Python tempfile in a temporary directory
        directory = draw(st.sampled_from(["/tmp", "/var/tmp", "/dev/shm"]))
        if draw(st.booleans()):
            name = draw(st.sampled_from(["cc", "tmp", ""])) + draw(
                st.text(MKSTEMP_CHARS, min_size=6, max_size=6))
        else:
            name = draw(st.text(PY_TEMP_CHARS, min_size=8, max_size=8))
        name += draw(st.sampled_from(["", ".s", ".o", ".txt"]))
        path = f"{directory}/{name}"
        excl = os.O_RDWR | os.O_CREAT | os.O_EXCL
        out = [Observation(table, "openat", (PathArg("path", path),), excl, created=("path",),
                           exclusive=True),
               # (a resolved program path, as the tracer names programs: /usr/bin/as is a
               # symlink on Debian, and a policy's program keys are resolved when loaded)
               Observation("/usr/bin/x86_64-linux-gnu-as", "openat", (PathArg("path", path),),
                           os.O_RDONLY)]
        if draw(st.booleans()):
            out.append(Observation(table, "unlink", (PathArg("path", path),)))
        return out
    if kind == 1:  # git: objects/xx/tmp_obj_XXXXXX, linked to its hash name
        fanout = draw(st.text("0123456789abcdef", min_size=2, max_size=2))
        rest = draw(st.text("0123456789abcdef", min_size=38, max_size=38))
        base = "/work/proj/.git/objects"
        tmp = f"{base}/{fanout}/tmp_obj_" + draw(st.text(MKSTEMP_CHARS, min_size=6,
                                                          max_size=6))
        return [
            Observation(table, "mkdir", (PathArg("path", f"{base}/{fanout}"),),
                        created=("path",), exclusive=True),
            Observation(table, "openat", (PathArg("path", tmp),),
                        os.O_RDWR | os.O_CREAT | os.O_EXCL, created=("path",), exclusive=True),
            Observation(table, "link", (PathArg("old", tmp),
                                        PathArg("new", f"{base}/{fanout}/{rest}")),
                        created=("new",)),
            Observation(table, "unlink", (PathArg("path", tmp),)),
        ]
    if kind == 2:  # a directory listed, then (most of) its entries looked at
        directory = draw(st.sampled_from(DIRS))
        entries = tuple(dict.fromkeys(draw(st.lists(names, min_size=1, max_size=6))))
        touched = draw(st.lists(st.sampled_from(entries), max_size=len(entries)))
        return [Observation(table, "getdents64", (PathArg("path", directory),),
                            listing=entries)] + [
            Observation(table, "lstat", (PathArg("path", directory.rstrip("/") + "/" + e),))
            for e in touched]
    # a shell's PATH search: the same names looked up in several directories
    commands = draw(st.lists(names, min_size=1, max_size=4))
    dirs = draw(st.lists(st.sampled_from(DIRS), min_size=1, max_size=4))
    return [Observation(table, "newfstatat", (PathArg("path", d.rstrip("/") + "/" + c),))
            for d in dirs for c in commands]


def observation_lists(max_size: int) -> st.SearchStrategy[list[Observation]]:
    return st.tuples(st.lists(observations(), max_size=max_size),
                     st.lists(scenarios(), max_size=4)).map(
        lambda t: t[0] + [o for group in t[1] for o in group]).filter(bool)


def _listing_touches(obs: list[Observation]) -> list[Observation]:
    """Reads of every entry of the listed directories (so listing rules get exercised)."""
    out = []
    for o in obs:
        if o.listing:
            for entry in o.listing:
                path = o.paths[0].path.rstrip("/") + "/" + entry.rstrip("/")
                out.append(Observation(o.table, "lstat", (PathArg("path", path),)))
    return out


def _expected_permitted(report_unrepresentable: list[Observation], o: Observation) -> bool:
    return o.syscall not in aliases.UNSAFE_CALLS and o not in report_unrepresentable and \
        not o.failed


FACTS = st.sampled_from([None, SystemFacts({"headers": ("/usr/include", "/work/proj/inc"),
                                            "python": ("/usr/lib/python3.11",)})])
LEVEL_OPTIONS = st.builds(
    LearnOptions, generalize=st.sampled_from(GENERALIZE_LEVELS),
    default=st.sampled_from([Action.NEVER, Action.ASK]), no_alias=st.booleans(),
    env=st.just(ENV), facts=FACTS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation_lists(25), LEVEL_OPTIONS)
# a listing of .git, without aliases: its rule names lstat alone, which writes nothing -- it
# was taken for a writing rule, whose glob reaches no name that runs later (.git/config)
@example([Observation("main", "getdents64", (PathArg("path", "/work/proj/.git"),),
                      listing=("0", "config"))],
         LearnOptions(generalize="strict", default=Action.NEVER, no_alias=True, env=ENV))
def test_a_learned_policy_permits_every_observation_it_was_learned_from(obs, options):
    obs = obs + _listing_touches(obs)
    report = learn(obs, options)
    text = dumps_policy(report.policy)
    policy = loads_policy(text, "learned.toml", env=ENV)  # what was written loads again
    for o in obs:
        decision = decide_observation(policy, o)
        if _expected_permitted(report.unrepresentable, o):
            assert decision.action is Action.PERMIT, (o, decision, text)
        elif o.syscall in aliases.UNSAFE_CALLS:
            assert decision.action is not Action.PERMIT, (o, text)
        elif o.failed and not any(f.table == o.table and f.paths == o.paths and not f.failed
                                  and f.syscall in aliases.EXEC_CALLS for f in obs):
            # an exec that failed is never learned as one (unless it also ran)
            assert decision.action is not Action.PERMIT, (o, text)
    for table in policy.tables():
        assert table.default is options.default


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation_lists(15), observation_lists(15), st.sampled_from(GENERALIZE_LEVELS))
def test_merging_two_learned_policies_permits_both_runs(first, second, level):
    options = LearnOptions(generalize=level, env=ENV)
    one, two = learn(first, options), learn(second, options)
    merged = merge_policies(one.policy, two.policy, ENV)
    policy = loads_policy(dumps_policy(merged), "merged.toml", env=ENV)
    for report, obs in ((one, first), (two, second)):
        for o in obs:
            if _expected_permitted(report.unrepresentable, o):
                assert decide_observation(policy, o).action is Action.PERMIT, o


@settings(max_examples=60, deadline=None)
@given(observation_lists(15))
def test_merging_a_policy_into_itself_changes_nothing(obs):
    policy = learn(obs, LearnOptions(env=ENV)).policy
    again = merge_policies(policy, policy, ENV)
    assert dumps_policy(again) == dumps_policy(policy)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DIRS), names), min_size=1, max_size=12),
       st.lists(st.tuples(st.sampled_from(DIRS), names), max_size=6))
def test_compaction_names_exactly_the_same_paths(members, others):
    """``dir/{a,b}`` rewriting adds and loses nothing: every member matches, no other
    path does."""
    def full(d: str, n: str) -> str:
        return d.rstrip("/") + "/" + n

    entries = [(("fsread",), escape(full(d, n))) for d, n in members]
    compacted = compact(entries)
    globs = [PathGlob(text, ENV) for _, text in compacted]
    wanted = {full(d, n) for d, n in members}
    for path in wanted:
        assert any(g.matches(path) for g in globs), (path, compacted)
    for d, n in others:
        path = full(d, n)
        if path not in wanted:
            assert not any(g.matches(path) for g in globs), (path, compacted)
    assert len(compacted) <= len(wanted)


@settings(max_examples=100, deadline=None)
@given(observations())
def test_an_observation_survives_the_log(obs):
    record = {"event": "syscall", "result": "permitted", "table": obs.table, "learned": True,
              "observation": obs.to_json()}
    assert observation_from_record(record) == obs
