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


# The strategies the composites below draw from are made once, here, not at every draw: a
# list's sampled_from or a lambda's map made anew was validated and labelled by hypothesis
# each time.  The same strategies draw the very same examples.
_ONE_IN_20 = st.integers(0, 19)
_NOT_FILES = st.sampled_from(["pipe:[1234]", "socket:[99]", "anon_inode:[eventfd]",
                              "/memfd:jit (deleted)", "", "fd:7"])
_DIRS = st.sampled_from(DIRS)
_ONE_OR_TWO_NAMES = st.lists(names, min_size=1, max_size=2)
_BOOLEANS = st.booleans()


@st.composite
def paths(draw: st.DrawFn) -> str:
    choice = draw(_ONE_IN_20)
    if choice == 0:
        return draw(_NOT_FILES)
    directory = draw(_DIRS)
    parts = draw(_ONE_OR_TWO_NAMES)
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
_PATHS = paths()
_TABLES = st.sampled_from([MAIN, "/usr/bin/x", "/usr/lib/y/z"])
_OBSERVATION_KINDS = st.integers(0, 6)
_OPEN_FLAGS = st.sampled_from(OPEN_FLAGS)
_PATH_CALLS = st.sampled_from(["newfstatat", "lstat", "access", "readlink", "unlink", "mkdir",
                               "chmod", "utimensat", "fchown", "truncate"])
_TWO_PATH_CALLS = st.sampled_from(["rename", "renameat2", "link"])
_SELECTORS = st.sampled_from([None, 0, 2])
_ARGVS = st.lists(st.text(NAME_ALPHABET + "/", max_size=8), max_size=4)
_PROGRAMS = st.sampled_from(["/usr/bin/dash", "/usr/bin/cat", "/work/proj/run*",
                             "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"])
_FAILURES = st.sampled_from([0, 0, 0, errno.ENOENT, errno.EACCES])
_ADDRESS_CALLS = st.sampled_from(["connect", "sendto", "sendmsg", "bind", "sendmmsg"])
_THREE_SOCKADDRS = st.lists(SOCKADDRS, max_size=3)
_ONE_SOCKADDR = st.lists(SOCKADDRS, max_size=1)
_ENTRIES = st.lists(names.map(lambda n: n.replace("/", "")), max_size=5)
_PLAIN_CALLS = st.sampled_from(PLAIN_CALLS)


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    table = draw(_TABLES)
    kind = draw(_OBSERVATION_KINDS)
    if kind == 0:
        flags = draw(_OPEN_FLAGS)
        exclusive = bool(flags & os.O_EXCL)
        created = ("path",) if flags & os.O_CREAT and draw(_BOOLEANS) else ()
        return Observation(table, "openat", (PathArg("path", draw(_PATHS)),), flags,
                           created=created, exclusive=exclusive)
    if kind == 1:
        call = draw(_PATH_CALLS)
        created = ("path",) if call == "mkdir" else ()
        return Observation(table, call, (PathArg("path", draw(_PATHS)),), created=created,
                           exclusive=call == "mkdir")
    if kind == 2:
        call = draw(_TWO_PATH_CALLS)
        return Observation(table, call, (PathArg("old", draw(_PATHS)),
                                         PathArg("new", draw(_PATHS))), created=("new",),
                           selector=draw(_SELECTORS)
                           if call == "renameat2" else None)
    if kind == 3:
        argv = draw(_ARGVS)
        program = draw(_PROGRAMS)
        if program == "/usr/bin/dash" and draw(_BOOLEANS):
            argv = ["sh", "-c", *argv]
        failed = draw(_FAILURES)
        return Observation(table, "execve", (PathArg("path", program),), argv=tuple(argv),
                           initial=draw(_BOOLEANS), failed=failed)
    if kind == 4:
        call = draw(_ADDRESS_CALLS)
        addrs = draw(_THREE_SOCKADDRS if call == "sendmmsg" else _ONE_SOCKADDR)
        return Observation(table, call, sockaddrs=tuple(addrs))
    if kind == 5:
        directory = draw(_DIRS)
        entries = draw(_ENTRIES)
        return Observation(table, "getdents64", (PathArg("path", directory),),
                           listing=tuple(dict.fromkeys(entries)))
    return Observation(table, draw(_PLAIN_CALLS))


MKSTEMP_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PY_TEMP_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

_SCENARIO_TABLES = st.sampled_from([MAIN, "/usr/bin/x"])
_SCENARIO_KINDS = st.integers(0, 3)
_TEMP_DIRS = st.sampled_from(["/tmp", "/var/tmp", "/dev/shm"])
_TEMP_PREFIXES = st.sampled_from(["cc", "tmp", ""])
_MKSTEMP_SUFFIXES = st.text(MKSTEMP_CHARS, min_size=6, max_size=6)
_PY_TEMP_NAMES = st.text(PY_TEMP_CHARS, min_size=8, max_size=8)
_TEMP_EXTENSIONS = st.sampled_from(["", ".s", ".o", ".txt"])
_FANOUTS = st.text("0123456789abcdef", min_size=2, max_size=2)
_HASH_RESTS = st.text("0123456789abcdef", min_size=38, max_size=38)
_LISTED_NAMES = st.lists(names, min_size=1, max_size=6)
_COMMANDS = st.lists(names, min_size=1, max_size=4)
_SEARCHED_DIRS = st.lists(_DIRS, min_size=1, max_size=4)


@st.composite
def scenarios(draw: st.DrawFn) -> list[Observation]:
    """Related observations as real programs make them: a temporary file's life, a git
    object written through a temporary name, a directory listed then every entry read."""
    table = draw(_SCENARIO_TABLES)
    kind = draw(_SCENARIO_KINDS)
    if kind == 0:  # mkstemp / Python tempfile in a temporary directory
        directory = draw(_TEMP_DIRS)
        if draw(_BOOLEANS):
            name = draw(_TEMP_PREFIXES) + draw(_MKSTEMP_SUFFIXES)
        else:
            name = draw(_PY_TEMP_NAMES)
        name += draw(_TEMP_EXTENSIONS)
        path = f"{directory}/{name}"
        excl = os.O_RDWR | os.O_CREAT | os.O_EXCL
        out = [Observation(table, "openat", (PathArg("path", path),), excl, created=("path",),
                           exclusive=True),
               # (a resolved program path, as the tracer names programs: /usr/bin/as is a
               # symlink on Debian, and a policy's program keys are resolved when loaded)
               Observation("/usr/bin/x86_64-linux-gnu-as", "openat", (PathArg("path", path),),
                           os.O_RDONLY)]
        if draw(_BOOLEANS):
            out.append(Observation(table, "unlink", (PathArg("path", path),)))
        return out
    if kind == 1:  # git: objects/xx/tmp_obj_XXXXXX, linked to its hash name
        fanout = draw(_FANOUTS)
        rest = draw(_HASH_RESTS)
        base = "/work/proj/.git/objects"
        tmp = f"{base}/{fanout}/tmp_obj_" + draw(_MKSTEMP_SUFFIXES)
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
        directory = draw(_DIRS)
        entries = tuple(dict.fromkeys(draw(_LISTED_NAMES)))
        touched = draw(st.lists(st.sampled_from(entries), max_size=len(entries)))
        return [Observation(table, "getdents64", (PathArg("path", directory),),
                            listing=entries)] + [
            Observation(table, "lstat", (PathArg("path", directory.rstrip("/") + "/" + e),))
            for e in touched]
    # a shell's PATH search: the same names looked up in several directories
    commands = draw(_COMMANDS)
    dirs = draw(_SEARCHED_DIRS)
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


def test_a_merged_address_permit_goes_before_the_barrier_past_a_learned_permit() -> None:
    """CI67's seed of the property above: the first run's table ends with the learner's
    "any other address" rules and, after them, a permit the learner appends (a moved file's
    grant); the second run's ``connect`` to 127.0.0.1 was merged after the barrier, where it
    decided nothing -- the merged policy refused a call both runs made."""
    def obs(table: str, syscall: str, paths: tuple[PathArg, ...] = (), **kw: object
            ) -> Observation:
        return Observation(table=table, syscall=syscall, paths=paths, **kw)  # type: ignore[arg-type]

    first = [obs(MAIN, "renameat2", (PathArg("old", "/usr/lib/x86_64-linux-gnu/0"),
                                     PathArg("new", "pipe:[1234]")), created=("new",)),
             obs("/usr/bin/x", "openat", (PathArg("path", "pipe:[1234]"),), open_flags=0),
             obs("/usr/bin/x", "connect")]
    second = [obs("/usr/bin/x", "connect",
                  sockaddrs=(SockAddr(family="inet", host="127.0.0.1", port=0),))]
    options = LearnOptions(generalize="none", env=ENV)
    merged = merge_policies(learn(first, options).policy, learn(second, options).policy, ENV)
    policy = loads_policy(dumps_policy(merged), "merged.toml", env=ENV)
    assert decide_observation(policy, second[0]).action is Action.PERMIT


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
