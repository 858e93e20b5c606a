"""The learner's rules, one by one, on recorded observations (no tracing).

Each generalization is checked both ways: it widens where docs/learning.md says it does, and
it does *not* widen anywhere else (an extra entry not read, a sensitive location, a created
name that is not random).
"""

from __future__ import annotations

import errno
import os

import pytest

from systrace_py.policy import aliases
from systrace_py.policy.files import FileRule, dumps_policy, loads_policy
from systrace_py.policy.generalize import HEX_DIGIT, SystemFacts, is_sensitive, number_shape
from systrace_py.policy.generalize import RANDOM_CHAR as RC
from systrace_py.policy.glob import PathGlob
from systrace_py.policy.learn import (
    MAIN,
    LearnOptions,
    LoggedTables,
    Observation,
    carried_table,
    decide_observation,
    format_summary,
    learn,
    merge_policies,
    merge_rules,
    observation_from_record,
)
from systrace_py.policy.model import Action, CallFacts, PathArg, SockAddr

ENV = {"HOME": "/home/u", "CWD": "/work/proj", "TMPDIR": "/tmp", "USER": "u"}
R, W = os.O_RDONLY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
EXCL = os.O_RDWR | os.O_CREAT | os.O_EXCL


def read(path: str, table: str = MAIN) -> Observation:
    return Observation(table, "openat", (PathArg("path", path),), R)


def stat(path: str, table: str = MAIN) -> Observation:
    return Observation(table, "newfstatat", (PathArg("path", path),))


def write(path: str, flags: int = W, created: bool = True, table: str = MAIN) -> Observation:
    return Observation(table, "openat", (PathArg("path", path),), flags,
                       created=("path",) if created else (), exclusive=bool(flags & os.O_EXCL))


def unlink(path: str, table: str = MAIN) -> Observation:
    return Observation(table, "unlink", (PathArg("path", path),))


def listing(directory: str, *entries: str, table: str = MAIN) -> Observation:
    return Observation(table, "getdents64", (PathArg("path", directory),), listing=entries)


def learned(obs: list[Observation], **options: object):
    opts = LearnOptions(env=ENV, **options)  # type: ignore[arg-type]
    report = learn(obs, opts)
    text = dumps_policy(report.policy)
    return report, loads_policy(text, "learned.toml", env=ENV), text


def paths_of(policy, table: str = MAIN) -> list[str]:
    t = policy.main if table == MAIN else policy.programs[table]
    return [r.path.pattern for r in t.rules if r.path is not None]


def rule_for(policy, path: str, table: str = MAIN):
    """The first rule of the table whose path matches ``path``."""
    t = policy.main if table == MAIN else policy.programs[table]
    return next(r for r in t.rules if r.path is not None and r.path.matches(path))


def permitted(policy, obs: Observation) -> bool:
    return decide_observation(policy, obs).action is Action.PERMIT


# --- system data ---------------------------------------------------------------------------

def test_shared_libraries_are_one_category_rule():
    _, policy, _ = learned([read("/usr/lib/x86_64-linux-gnu/libc.so.6")])
    (pattern,) = paths_of(policy)
    assert "/usr/lib/x86_64-linux-gnu" in pattern
    assert permitted(policy, read("/usr/lib/x86_64-linux-gnu/libssl.so.3"))
    assert permitted(policy, read("/etc/ld.so.cache"))
    assert not permitted(policy, read("/usr/lib/x86_64-linux-gnu/perl/x.pm"))
    assert "libraries" in rule_for(policy, "/usr/lib/x86_64-linux-gnu/libm.so.6"
                                          ).learned.kind


def test_a_module_in_a_package_directory_is_not_a_shared_library():
    probe = "/opt/app/plugins/json.cpython-311-x86_64-linux-gnu.so"
    _, policy, _ = learned([read(probe)])
    assert paths_of(policy) == [probe]


def test_a_category_is_learned_whole_from_a_part():
    """Message catalogs are read only when a program prints an error: a run that used the
    locale at all learns the whole category, catalogs included; a header added tomorrow is
    in the system headers."""
    report, policy, _ = learned([read("/usr/lib/locale/C.utf8/LC_CTYPE"),
                                 read("/usr/share/zoneinfo/Europe/Paris"),
                                 read("/usr/include/stdio.h")])
    for later in ("/usr/share/locale/de/LC_MESSAGES/coreutils.mo", "/etc/locale.alias",
                  "/usr/share/zoneinfo/Asia/Tokyo", "/usr/include/stdlib.h",
                  "/usr/local/include/x.h"):
        assert permitted(policy, read(later)), later
    assert not permitted(policy, read("/usr/share/doc/x"))
    # one rule for the categories used (besides the signals every table permits)
    assert len([rule for rule in policy.main.rules if rule.target is None]) == 1
    (category,) = [g for g in report.generalizations if g.kind.startswith("categories")]
    assert {"locale data and message catalogs", "timezone data", "system headers"} <= set(
        category.kind.removeprefix("categories: ").split(", "))


def test_categories_use_the_roots_found_on_the_system():
    facts = SystemFacts({"headers": ("/opt/cross/include",),
                         "compiler": ("/opt/cross/lib/gcc/12",)})
    _, policy, _ = learned([read("/opt/cross/include/stdio.h")], facts=facts)
    assert permitted(policy, read("/opt/cross/include/sys/types.h"))
    assert not permitted(policy, read("/usr/include/stdio.h"))  # not this system's headers
    _, plain, _ = learned([read("/opt/cross/include/stdio.h")])
    assert not permitted(plain, read("/opt/cross/include/sys/types.h"))


def test_categories_never_reach_a_sensitive_location():
    facts = SystemFacts({"certificates": ("/etc/ssl",)})
    _, policy, _ = learned([read("/etc/ssl/certs/ca.pem")], facts=facts)
    assert not permitted(policy, read("/etc/ssl/private/key.pem"))


def test_data_trees_are_for_reading_only():
    _, policy, _ = learned([write("/usr/share/zoneinfo/x", created=False)])
    assert paths_of(policy) == ["/usr/share/zoneinfo/x"]


# --- directory listings --------------------------------------------------------------------

def test_a_listed_directory_whose_every_entry_was_read_becomes_dir_star():
    obs = [listing("/data", "a", "b", ".hidden"), read("/data/a"), read("/data/b"),
           read("/data/.hidden")]
    report, policy, _ = learned(obs)
    assert "/data/*" in paths_of(policy)
    assert permitted(policy, read("/data/new-file"))
    assert not permitted(policy, read("/data/sub/deeper"))
    assert any(g.kind.startswith("directory listings") for g in report.generalizations)


def test_hidden_entries_never_read_stay_out_of_a_learned_listing():
    """Red team 13b: ``*`` matches a leading dot, and a listing whose visible entries were
    all read (``cat *``) was learned as ``dir/*``: the ``.env`` beside them, never opened,
    was granted.  Such a listing is ``dir/[!.]*``; a tree is ``dir/**`` only when the
    hidden entries were read too, all the way down."""
    obs = [listing("/data", "a", "b", ".env"), read("/data/a"), read("/data/b")]
    _, policy, _ = learned(obs)
    assert "/data/[!.]*" in paths_of(policy)
    assert permitted(policy, read("/data/new-file"))
    assert not permitted(policy, read("/data/.env"))
    tree = [listing("/src", "a", "b", "sub/"), listing("/src/sub", "c", "d", ".git/"),
            read("/src/a"), read("/src/b"), read("/src/sub/c"), read("/src/sub/d")]
    _, policy, _ = learned(tree)
    assert "/src/**" not in paths_of(policy)
    assert not permitted(policy, read("/src/sub/.git/config"))
    assert permitted(policy, read("/src/sub/e"))


def test_a_listing_with_an_entry_not_read_stays_exact():
    obs = [listing("/data", "a", "b", "c"), read("/data/a"), read("/data/b")]
    _, policy, _ = learned(obs)
    assert "/data/*" not in paths_of(policy)
    assert not permitted(policy, read("/data/c"))


def test_a_tree_listed_all_the_way_down_becomes_dir_starstar():
    obs = [listing("/src", "a.c", "lib/"), read("/src/a.c"), read("/src/lib"),
           listing("/src/lib", "x.c", "y.c"), read("/src/lib/x.c"), read("/src/lib/y.c")]
    _, policy, _ = learned(obs)
    assert "/src/**" in paths_of(policy)
    assert permitted(policy, read("/src/lib/new/deep.c"))


def test_small_and_empty_subdirectories_do_not_stop_a_tree():
    obs = [listing("/src", "a.c", "one/", "empty/"), read("/src/a.c"), read("/src/one"),
           read("/src/empty"), listing("/src/one", "x.c"), read("/src/one/x.c"),
           listing("/src/empty")]
    _, policy, _ = learned(obs)
    assert "/src/**" in paths_of(policy)
    # but one directory with one entry read is no evidence of "everything in it"
    _, policy, _ = learned([listing("/d", "only"), read("/d/only")])
    assert paths_of(policy) == ["/d/only"]


def test_a_subdirectory_not_listed_keeps_the_tree_shallow():
    obs = [listing("/src", "a.c", "lib/"), read("/src/a.c"), read("/src/lib")]
    _, policy, _ = learned(obs)
    assert "/src/*" in paths_of(policy) and "/src/**" not in paths_of(policy)


def test_entries_only_looked_at_never_become_reads():
    """ls -l, find: a directory listed and every entry stat'ed is no reason to read them.
    safe leaves metadata to the prefilter (any path); strict learns the looks as the tree
    of looks (fsmeta), the directories opened as reads."""
    obs = [listing("/data", "notes", "hosts", "sub/"), stat("/data/notes"),
           stat("/data/hosts"), stat("/data/sub"), listing("/data/sub", "a.pem"),
           stat("/data/sub/a.pem")]
    for level in ("strict", "safe", "broad"):
        _, policy, _ = learned(obs, generalize=level)
        assert all(permitted(policy, o) for o in obs), level
        assert not permitted(policy, read("/data/notes")), level
        assert not permitted(policy, read("/data/sub/a.pem")), level
    _, strict, _ = learned(obs, generalize="strict")
    assert "/data/**" in paths_of(strict)
    assert rule_for(strict, "/data/x").calls == ("fsmeta",)
    assert permitted(strict, stat("/data/new/x"))
    # a directory that holds a sensitive location is never walked into a pattern
    etc = [listing("/etc", "passwd", "hosts"), stat("/etc/passwd"), stat("/etc/hosts")]
    _, strict, _ = learned(etc, generalize="strict")
    assert not permitted(strict, stat("/etc/shadow"))
    _, safe, _ = learned(obs)
    assert safe.main.rules[0].calls[0] == "fsmeta" and safe.main.rules[0].path is None


def test_listings_never_reach_a_sensitive_location():
    obs = [listing("/home/u", "notes", ".ssh/", "work/"), read("/home/u/notes"),
           read("/home/u/.ssh"), read("/home/u/work")]
    report, policy, _ = learned(obs)
    assert not any(p.startswith("~/*") or p == "/home/u/*" for p in paths_of(policy))
    assert not permitted(policy, read("/home/u/.gnupg"))
    assert "/home/u" in report.exact_sensitive


def test_listings_are_per_table():
    obs = [listing("/data", "a", "b"), read("/data/a", "/usr/bin/x"), read("/data/b",
                                                                           "/usr/bin/x")]
    _, policy, _ = learned(obs)
    assert "/data/*" not in paths_of(policy, "/usr/bin/x")


# --- temporary and generated names ----------------------------------------------------------

@pytest.mark.parametrize(("name", "pattern"), [
    # a template's random run is its shape, as many characters as it has: a "*" after the
    # prefix was any new name of it (learn36)
    ("ccAb12Cd.s", "$TMPDIR/cc" + RC * 6 + ".s"),          # gcc (mkstemps)
    ("cc9eSYDD.cdtor.c", "$TMPDIR/cc" + RC * 6 + ".cdtor.c"),
    ("ccabcxyz.s", "$TMPDIR/cc" + RC * 6 + ".s"),          # 6 letters and no digit: it happens
    # hex digits only, not made as mkstemp makes a name: the template's 6, or a number in hex
    # without its leading zeros (two digits fewer to one more), never "*" (learn37)
    ("ccabcdef.s", "$TMPDIR/cc{" + ",".join([RC * 6, HEX_DIGIT * 4, HEX_DIGIT * 5,
                                              HEX_DIGIT * 7]) + "}.s"),
    ("RECORDxkqzwpab.tmp", "$TMPDIR/RECORD" + RC * 8 + ".tmp"),  # pip's temporary RECORD
    ("tmpab_12cd3", "$TMPDIR/tmp" + RC * 8),          # Python NamedTemporaryFile
    # Python's probe of the directory, no prefix: its shape, not "*" (red team 52)
    ("jq5xk_ab", "$TMPDIR/" + "[0-9A-Za-z_]" * 8),
])
def test_temporary_files_in_the_temporary_directory(name, pattern):
    path = f"/tmp/{name}"
    _, policy, _ = learned([write(path, EXCL), unlink(path)])
    assert pattern in paths_of(policy)


def test_a_hex_only_run_of_a_name_made_as_mkstemp_makes_one_is_its_shape():
    """A run of hex digits only is written ``*`` (a number's length may change), but not one
    of a name made as mkstemp(3) makes one: its X's are as many on every run, whatever they
    drew (gcc's ``ccabcdef.s``: ``cc*.s`` admitted ``cc-evil.s`` beside it: learn36)."""
    path = "/tmp/ccabcdef.s"
    made = Observation(MAIN, "openat", (PathArg("path", path),), EXCL, created=("path",),
                       exclusive=True, mkstemp=True)
    _, policy, _ = learned([made, unlink(path)])
    assert paths_of(policy) == ["$TMPDIR/cc" + RC * 6 + ".s"]
    assert not permitted(policy, write("/tmp/cc-evil.s", EXCL))


def test_a_created_file_with_a_plain_name_in_tmp_stays_exact():
    _, policy, _ = learned([write("/tmp/output.txt")])
    assert paths_of(policy) == ["$TMPDIR/output.txt"]


def test_an_ordinary_name_is_never_taken_for_a_random_one():
    """tinypkg (a package directory pip made) stays tinypkg, whatever was done with it."""
    base = "/work/proj/build"
    obs = [Observation(MAIN, "mkdir", (PathArg("path", f"{base}/tinypkg"),),
                       created=("path",), exclusive=True),
           Observation(MAIN, "rmdir", (PathArg("path", f"{base}/tinypkg"),)),
           write("/tmp/tinypkg", EXCL), unlink("/tmp/tinypkg")]
    _, policy, _ = learned(obs)
    assert "$CWD/build/tinypkg" in paths_of(policy)
    assert "$TMPDIR/tinypkg" in paths_of(policy)


def test_a_pid_in_a_created_name_is_generalized():
    _, policy, _ = learned([write("/tmp/sort.4242"), write("/work/proj/out.lock.31337", EXCL),
                            unlink("/work/proj/out.lock.31337")])
    assert permitted(policy, write("/tmp/sort.999"))
    assert permitted(policy, write("/work/proj/out.lock.12", EXCL))
    assert not permitted(policy, write("/tmp/other.999"))


def test_generated_names_of_one_directory_are_one_rule():
    obs = [write(f"/tmp/{n}", EXCL) for n in ("ccAb12Cd.s", "ccXy34Zw.res", "ccQ1w2E3.o")]
    _, policy, _ = learned(obs)
    assert paths_of(policy) == ["$TMPDIR/{" + ",".join(f"cc{RC * 6}.{ext}" for ext in
                                                    ("o", "res", "s")) + "}"]
    rule = rule_for(policy, "/tmp/ccAAAAAA.s")
    assert rule.learned.kind == "generated names" and rule.learned.seen == 3


def test_a_file_in_tmp_the_program_did_not_create_stays_exact():
    _, policy, _ = learned([read("/tmp/ccAb12Cd.s")])
    assert paths_of(policy) == ["$TMPDIR/ccAb12Cd.s"]


def test_mkstemp_names_elsewhere_need_exclusive_create_and_removal():
    base = "/work/proj/.git"
    obs = [write(f"{base}/t8e1Ujj", EXCL), unlink(f"{base}/t8e1Ujj"),
           write(f"{base}/maintenance.lock", EXCL), unlink(f"{base}/maintenance.lock"),
           write(f"{base}/index.lock", EXCL), write(f"{base}/config.lock", EXCL),
           write(f"{base}/hooks/pre-commit.sample", EXCL)]
    _, policy, _ = learned(obs)
    got = paths_of(policy)
    assert "$CWD/.git/t" + RC * 6 in got
    assert not any("maint*" in p or "*.lock" in p or "*.sample" in p for p in got), got


def test_git_objects_generalize_to_their_fanout():
    obj = "/work/proj/.git/objects"
    obs = [Observation(MAIN, "mkdir", (PathArg("path", f"{obj}/45"),), created=("path",),
                       exclusive=True),
           write(f"{obj}/45/tmp_obj_HuWk1y", EXCL),
           Observation(MAIN, "link", (PathArg("old", f"{obj}/45/tmp_obj_HuWk1y"),
                                      PathArg("new", f"{obj}/45/b983be36b73c0788dc9cbcb76cbb80"
                                                     "fc7bb057")), created=("new",)),
           unlink(f"{obj}/45/tmp_obj_HuWk1y"),
           read(f"{obj}/45/b983be36b73c0788dc9cbcb76cbb80fc7bb057")]
    _, policy, _ = learned(obs)
    later = f"{obj}/e0/ca322411be9fed081784fe18b057122f8c9f05"
    assert permitted(policy, read(later))
    assert permitted(policy, write(f"{obj}/e0/tmp_obj_Ab12Cd", EXCL))
    assert permitted(policy, Observation(MAIN, "mkdir", (PathArg("path", f"{obj}/e0"),)))
    assert not permitted(policy, read("/work/proj/.git/config"))


def test_per_process_proc_paths_and_terminals():
    _, policy, _ = learned([read("/proc/4242/status"), read("/proc/4242/task/4243/comm"),
                            write("/dev/pts/3", os.O_WRONLY, created=False)])
    # (each number the shape of one, 1 to 7 digits: not "*", which is /proc/sys/... and
    # /dev/pts/ptmx too -- learn37)
    number = number_shape("4242")
    assert {f"/proc/{number}/status", f"/proc/{number}/task/{number}/comm",
            f"/dev/pts/{number}"} <= set(paths_of(policy))
    for pid in ("1", "77", "4194303"):
        assert permitted(policy, read(f"/proc/{pid}/status"))
        assert permitted(policy, read(f"/proc/{pid}/task/{pid}/comm"))
    for other in ("/proc/self/status", "/proc/sys/status", "/proc/04242/status",
                  "/proc/12345678/status", "/proc/4242/task/self/comm"):
        assert not permitted(policy, read(other)), other
    assert permitted(policy, write("/dev/pts/0", os.O_WRONLY, created=False))
    assert not permitted(policy, write("/dev/pts/ptmx", os.O_WRONLY, created=False))


def test_the_loop_device_a_run_was_given_is_any_loop_device():
    """losetup -f took /dev/loop1 in the learning run; the next run may be given loop2 (its
    attach refused, rc 1, on the learned policy before).  /dev/loop-control stays itself."""
    _, policy, _ = learned([write("/dev/loop1", os.O_RDWR, created=False),
                            write("/dev/loop-control", os.O_RDWR, created=False)])
    paths = set(paths_of(policy))
    assert "/dev/loop" + number_shape("1") in paths, paths
    assert permitted(policy, write("/dev/loop7", os.O_RDWR, created=False))
    assert not permitted(policy, write("/dev/loopx", os.O_RDWR, created=False))
    assert not permitted(policy, write("/dev/loop7p1", os.O_RDWR, created=False))


def test_proc_environ_and_mem_are_never_generalized():
    _, policy, _ = learned([read("/proc/4242/environ")])
    assert paths_of(policy) == ["/proc/4242/environ"]


# --- sensitive locations --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/home/u/.ssh/id_rsa", "/root/.gnupg/pubring.kbx",
                                  "/etc/shadow", "/home/other/.mozilla/firefox/x/key4.db",
                                  "/etc/ssh/ssh_host_ed25519_key"])
def test_sensitive_paths_stay_exact_and_absolute(path):
    assert is_sensitive(path, "/home/u")
    _, policy, _ = learned([read(path), listing(os.path.dirname(path), "a", "b"),
                            read(os.path.dirname(path) + "/a"),
                            read(os.path.dirname(path) + "/b")])
    got = paths_of(policy)
    assert path in got
    assert not any("*" in p and not p.startswith("/usr") for p in got), got
    rule = next(r for r in policy.main.rules if r.path and r.path.pattern == path)
    assert "sensitive" in (rule.comment or "")
    # looking at them is metadata: safe permits it anywhere, strict never widens it
    _, strict, _ = learned([stat(path), stat(os.path.dirname(path) + "/other")],
                           generalize="strict")
    assert path in paths_of(strict) and not any("*" in p for p in paths_of(strict))


def test_not_everything_is_sensitive():
    for path in ("/home/u/notes.txt", "/etc/passwd", "/root/.sshx", "/etc/shadowed"):
        assert not is_sensitive(path, "/home/u")


# --- levels and aliases ---------------------------------------------------------------------

def test_none_writes_every_path_exactly_and_names_calls():
    obs = [read("/usr/lib/x86_64-linux-gnu/libc.so.6"), read("/proc/1/status"),
           Observation(MAIN, "read"), Observation(MAIN, "mmap"), Observation(MAIN, "clone")]
    _, policy, text = learned(obs, generalize="none")
    assert "*" not in text and "$" not in text and "~" not in text
    calls = {c for r in policy.main.rules for c in r.calls}
    assert {"read", "mmap", "clone"} <= calls and "stdio" not in calls


def test_safe_permits_the_harmless_groups_whole():
    _, policy, _ = learned([Observation(MAIN, "read"), Observation(MAIN, "clone"),
                            Observation(MAIN, "kill"), Observation(MAIN, "setuid")])
    assert permitted(policy, Observation(MAIN, "mremap"))      # stdio
    assert permitted(policy, Observation(MAIN, "vfork"))       # process
    assert not permitted(policy, Observation(MAIN, "tgkill"))  # signal: only kill was seen
    assert not permitted(policy, Observation(MAIN, "setgid"))  # privilege: only setuid


def test_broad_permits_groups_whole_but_never_privilege():
    _, policy, _ = learned([Observation(MAIN, "kill"), Observation(MAIN, "setuid")],
                           generalize="broad")
    assert permitted(policy, Observation(MAIN, "tgkill"))
    assert not permitted(policy, Observation(MAIN, "setgid"))


def test_broad_widens_system_trees_and_busy_directories():
    obs = [read("/usr/lib/python3.11/os.py")] + [read(f"/data/f{i}") for i in range(3)]
    _, policy, _ = learned(obs, generalize="broad")
    assert permitted(policy, read("/usr/lib/python3.11/json/decoder.py"))
    assert permitted(policy, read("/data/other"))
    _, safe, _ = learned(obs)
    assert not permitted(safe, read("/data/other"))


def test_no_alias_names_system_calls():
    obs = [read("/etc/passwd"), write("/tmp/x"), Observation(MAIN, "read"),
           Observation(MAIN, "connect", sockaddrs=(SockAddr("inet", "127.0.0.1", 80),))]
    _, policy, _ = learned(obs, no_alias=True)
    calls = {c for r in policy.main.rules for c in r.calls}
    assert not calls & set(aliases.ALIASES), calls
    assert "openat" in calls and "connect" in calls


# --- exec -----------------------------------------------------------------------------------

def execve(path: str, *argv: str, initial: bool = False) -> Observation:
    return Observation(MAIN, "execve", (PathArg("path", path),), argv=argv, initial=initial)


def test_shell_commands_are_written_down_as_argv():
    obs = [execve("/usr/bin/dash", "sh", "-c", "ls -l | wc -l")]
    _, policy, _ = learned(obs)
    rule = next(r for r in policy.main.rules if r.argv is not None)
    assert rule.argv.patterns == ("sh", "-c", "ls -l | wc -l")
    assert not permitted(policy, execve("/usr/bin/dash", "sh", "-c", "rm -rf /"))


def test_argv_globs_are_escaped():
    obs = [execve("/usr/bin/dash", "sh", "-c", "ls *.txt [a]?")]
    _, policy, _ = learned(obs)
    assert permitted(policy, obs[0])
    assert not permitted(policy, execve("/usr/bin/dash", "sh", "-c", "ls x.txt [a]?"))


def test_a_shell_command_naming_the_runs_generated_names_names_their_globs():
    """make runs cmake's commands through sh -c with this run's scratch names in them
    (TryCompile-XXXXXX, cmTC_xxxxx): written down exactly, the next run's were refused."""
    scratch = "/work/proj/b/CMakeFiles/CMakeScratch"
    made = [Observation(MAIN, "mkdir", (PathArg("path", f"{scratch}/TryCompile-2rtJjQ"),),
                        created=("path",), exclusive=True),
            Observation(MAIN, "mkdir", (PathArg("path",
                                                f"{scratch}/TryCompile-2rtJjQ/cmTC_bde35.dir"),),
                        created=("path",), exclusive=True),
            Observation(MAIN, "rmdir", (PathArg("path",
                                                f"{scratch}/TryCompile-2rtJjQ/cmTC_bde35.dir"),)),
            Observation(MAIN, "rmdir", (PathArg("path", f"{scratch}/TryCompile-2rtJjQ"),))]

    def command(scratch_dir: str, target: str) -> Observation:
        return execve("/usr/bin/dash", "/bin/sh", "-c",
                      f"/usr/bin/cmake -E echo --progress-dir={scratch}/{scratch_dir}/CMakeFiles"
                      f" \"Building CMakeFiles/{target}.dir/a.c.o\"")

    _, policy, _ = learned([*made, command("TryCompile-2rtJjQ", "cmTC_bde35")])
    assert permitted(policy, command("TryCompile-x9Y8z7", "cmTC_0a1b2"))
    assert not permitted(policy, command("TryCompile-x9Y8z7", "other"))
    assert not permitted(policy, command("Elsewhere-x9Y8z7", "cmTC_0a1b2"))
    # the random part is six name characters, not fnmatch's "*" (red team 16): a command
    # line of the program's making around the name is no command the policy named
    assert not permitted(policy, command("TryCompile-; curl x | sh #", "cmTC_0a1b2"))
    assert not permitted(policy, command("TryCompile-x9Y8z7", "cmTC_0a1b2 x; id #"))
    assert not permitted(policy, command("TryCompile-x9Y8z", "cmTC_0a1b2"))


def test_a_generated_name_all_digits_in_a_shell_command_admits_the_next_runs_letters():
    """cmake's cmTC_ and 5 hex digits came out all decimal (cmTC_40538, about 1 run in 10):
    the argv condition said 5 [0-9] and the next run's cmTC_bae60 was refused (the cmake
    learning test failed so).  A run of digits is as many name characters."""
    scratch = "/work/proj/b"
    made = [Observation(MAIN, "mkdir", (PathArg("path", f"{scratch}/cmTC_40538.dir"),),
                        created=("path",), exclusive=True),
            Observation(MAIN, "rmdir", (PathArg("path", f"{scratch}/cmTC_40538.dir"),))]

    def command(target: str) -> Observation:
        return execve("/usr/bin/dash", "/bin/sh", "-c",
                      f"/usr/bin/cmake -E echo \"Building {scratch}/{target}.dir/a.c.o\"")

    _, policy, _ = learned([*made, command("cmTC_40538")])
    assert permitted(policy, command("cmTC_bae60"))
    assert not permitted(policy, command("cmTC_bae6; id"))
    assert not permitted(policy, command("cmTC_bae601"))


def test_the_initial_exec_never_gets_an_argv_condition():
    _, policy, _ = learned([execve("/usr/bin/dash", "sh", "-c", "x", initial=True)],
                           generalize="none")
    assert all(r.argv is None for r in policy.main.rules)


def test_other_programs_get_argv_only_with_none():
    obs = [execve("/usr/bin/cat", "cat", "/etc/passwd")]
    _, safe, _ = learned(obs)
    assert all(r.argv is None for r in safe.main.rules)
    _, exact, _ = learned(obs, generalize="none")
    assert any(r.argv is not None for r in exact.main.rules)


def test_each_program_gets_its_own_table():
    obs = [execve("/usr/bin/cat", "cat"), read("/etc/passwd", "/usr/bin/cat")]
    _, policy, _ = learned(obs)
    assert "/usr/bin/cat" in policy.programs
    assert paths_of(policy, "/usr/bin/cat") == ["/etc/passwd"]
    assert not permitted(policy, read("/etc/passwd"))  # the main table did not read it


# --- network --------------------------------------------------------------------------------

def connect(addr: SockAddr | None, call: str = "connect") -> Observation:
    return Observation(MAIN, call, sockaddrs=(addr,) if addr else ())


def test_addresses_and_ports_are_exact():
    obs = [connect(SockAddr("inet", "127.0.0.1", 8000)),
           connect(SockAddr("inet", "127.0.0.1", 8001)),
           connect(SockAddr("unix", path="/run/nscd/socket"))]
    _, policy, _ = learned(obs)
    assert all(permitted(policy, o) for o in obs)
    assert not permitted(policy, connect(SockAddr("inet", "127.0.0.1", 8002)))
    assert not permitted(policy, connect(SockAddr("inet", "127.0.0.2", 8000)))
    assert not permitted(policy, connect(SockAddr("unix", path="/run/other")))


def test_sends_without_an_address_do_not_open_every_address():
    obs = [connect(None, "sendto"), connect(SockAddr("netlink"), "sendto")]
    _, policy, _ = learned(obs)
    assert all(permitted(policy, o) for o in obs)
    assert not permitted(policy, connect(SockAddr("inet", "8.8.8.8", 53), "sendto"))
    assert not permitted(policy, connect(SockAddr("unix", path="/dev/log"), "sendto"))
    assert not permitted(policy, connect(SockAddr("inet", "8.8.8.8", 53)))  # not sendto


def test_the_any_other_address_rules_follow_the_default():
    _, policy, _ = learned([connect(None, "sendto")], default=Action.ASK)
    decision = decide_observation(policy, connect(SockAddr("inet", "8.8.8.8", 53), "sendto"))
    assert decision.action is Action.ASK


# --- compaction -----------------------------------------------------------------------------

def test_a_shells_path_search_is_one_rule():
    dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin"]
    obs = [stat(f"{d}/{c}") for d in dirs for c in ("cat", "ls", "wc")]
    _, policy, _ = learned(obs, generalize="strict")
    assert paths_of(policy) == ["{/usr/local/bin,/usr/local/sbin,/usr/sbin}/{cat,ls,wc}"]
    assert all(permitted(policy, o) for o in obs)
    assert not permitted(policy, stat("/usr/sbin/rm"))


def test_a_common_extension_is_factored():
    obs = [read(f"/opt/app/__pycache__/{m}.cpython-311.pyc") for m in ("os", "re")]
    _, policy, _ = learned(obs)
    assert paths_of(policy) == ["/opt/app/__pycache__/{os,re}.cpython-311.pyc"]


def test_names_with_glob_characters_and_commas_stay_literal():
    obs = [read("/data/a,b"), read("/data/c*"), read("/data/{d}")]
    _, policy, _ = learned(obs)
    assert all(permitted(policy, o) for o in obs)
    for other in ("/data/a", "/data/b", "/data/cX", "/data/d"):
        assert not permitted(policy, read(other)), other


def test_home_and_cwd_are_written_with_variables_except_with_none():
    obs = [read("/home/u/notes.txt"), read("/work/proj/src/main.c"), read("/tmp/x")]
    _, _, text = learned(obs)
    assert '~/notes.txt' in text and '$CWD/src/main.c' in text
    _, _, exact = learned(obs, generalize="none")
    assert '/home/u/notes.txt' in exact and "$CWD" not in exact


# --- merging --------------------------------------------------------------------------------

def test_merge_keeps_a_persons_rules_first():
    base = loads_policy('default = "never"\n[[rule]]\ncalls = ["fsread"]\n'
                        'path = "/etc/shadow"\naction = "never"\nerrno = "EACCES"\n',
                        "base.toml", env=ENV)
    before = dumps_policy(base)
    report = learn([read("/etc/shadow"), read("/etc/passwd")], LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    assert merged.main.rules[0].path.pattern == "/etc/shadow"
    assert merged.main.rules[0].action is Action.NEVER
    assert not permitted(merged, read("/etc/shadow"))
    assert permitted(merged, read("/etc/passwd"))
    assert dumps_policy(base) == before  # the base policy object is not changed


def test_merge_puts_new_addresses_before_the_any_other_address_rules():
    first = learn([connect(None, "sendto"), connect(SockAddr("inet", "10.0.0.1", 53),
                                                   "sendto")], LearnOptions(env=ENV)).policy
    second = learn([connect(SockAddr("inet", "10.0.0.2", 53), "sendto")],
                   LearnOptions(env=ENV)).policy
    merged = merge_policies(first, second, ENV)
    for host in ("10.0.0.1", "10.0.0.2"):
        assert permitted(merged, connect(SockAddr("inet", host, 53), "sendto"))
    assert not permitted(merged, connect(SockAddr("inet", "10.0.0.3", 53), "sendto"))


def test_a_program_table_a_merge_makes_starts_with_the_persons_refusals():
    """Red team 84: a learned table the base lacks takes the refusals of the tables the
    program ran under before -- of a glob table matching it, that one alone; else of every
    table -- but not the learner's own "any other address" rules (its table's default)."""
    cat = "/usr/bin/cat"
    base = loads_policy('default = "permit"\n'
                        '[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\naction = "never"\n'
                        '[[rule]]\ncalls = ["sendto"]\naddress = ["0.0.0.0/0", "::/0"]\n'
                        'action = "never"\ncomment = "learned: any other IP address"\n'
                        '[program."/opt/nowhere/tool"]\n'
                        '[[program."/opt/nowhere/tool".rule]]\ncalls = ["fswrite"]\n'
                        'path = "/etc/**"\naction = "ask"\n', "base.toml", env=ENV)
    learned_policy = learn([read("/secret/key", table=cat), read("/etc/x", table=cat)],
                           LearnOptions(env=ENV)).policy
    merged = merge_policies(base, learned_policy, ENV)
    table = merged.programs[cat]
    # (close 29: every candidate permits by default, so main's rules are carried whole, in
    # order, after the other tables' refusals -- main's own exceptions keep deciding; review
    # 61: the tool's ask is carried as a never -- in front, an ask overtook main's refusals)
    assert [(r.action, r.path.pattern if r.path else None) for r in table.rules[:2]] == [
        (Action.NEVER, "/etc/**"), (Action.NEVER, "/secret/**")]
    # the learner's barrier is no refusal carried in front: it stands for its own table's
    # default, and comes only with the copy of main's rules, after every refusal
    assert [i for i, r in enumerate(table.rules) if r.net is not None] == [2]
    assert not permitted(merged, read("/secret/key", table=cat))
    assert permitted(merged, read("/etc/x", table=cat))
    # a glob table the program took before: its refusals alone
    globbed = loads_policy(
        'default = "permit"\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\naction = "never"\n'
        '[program."/usr/bin/*"]\n'
        '[[program."/usr/bin/*".rule]]\ncalls = ["fsread"]\npath = "/etc/**"\n'
        'action = "never"\n', "glob.toml", env=ENV)
    merged = merge_policies(globbed, learned_policy, ENV)
    assert [r.path.pattern for r in merged.programs[cat].rules if r.action is Action.NEVER
            and r.path is not None] == ["/etc/**"]
    assert permitted(merged, read("/secret/key", table=cat))  # (cat never ran under main)
    assert not permitted(merged, read("/etc/x", table=cat))


def test_a_persons_rule_refusing_every_address_stays_in_front_of_learned_ones():
    """Red team 84: the shape of the learner's "any other address" rule is also a person's
    "no network"; learned addresses go after the person's, before the learner's only."""
    base = loads_policy('default = "permit"\n'
                        '[[rule]]\ncalls = ["net-connect"]\naddress = ["0.0.0.0/0", "::/0"]\n'
                        'action = "never"\n', "base.toml", env=ENV)
    learned_policy = learn([connect(SockAddr("inet", "10.0.0.1", 443))],
                           LearnOptions(env=ENV)).policy
    merged = merge_policies(base, learned_policy, ENV)
    assert not permitted(merged, connect(SockAddr("inet", "10.0.0.1", 443)))


def test_nothing_learned_goes_before_a_persons_own_permit_of_every_connect():
    """Red team 84: an unconditional permit of connects is the shape of the learner's permit
    after its "any other address" rules; a person's, first in the table, had every learned
    rule put in front of it -- and of the person's ``never`` after it."""
    base = loads_policy('default = "never"\n'
                        '[[rule]]\ncalls = ["net-connect"]\naction = "permit"\n'
                        '[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\naction = "never"\n',
                        "base.toml", env=ENV)
    report = learn([read("/secret/key")], LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    assert [r.action for r in merged.main.rules[:2]] == [Action.PERMIT, Action.NEVER]
    assert not permitted(merged, read("/secret/key"))


_LEARNERS_END = ('[[rule]]\ncomment = "learned: any other IP address"\ncalls = ["sendto"]\n'
                 'address = ["0.0.0.0/0", "::/0"]\naction = "never"\n'
                 '[[rule]]\ncomment = "learned: connected sockets (no address) and netlink"\n'
                 'calls = ["sendto"]\naction = "permit"\n')


def test_a_learned_rule_goes_after_a_persons_rule_appended_after_the_learners_own():
    """Review 58 (1): a person's rule appended to a learned table stands after the learner's
    "any other address" rules; a merge put learned rules before those -- in front of it.
    Now a learned rule goes at the end; an address rule before the learner's barrier only
    while nothing but the learner's rules follow it."""
    base = loads_policy('default = "permit"\n' + _LEARNERS_END +
                        '[[rule]]\ncalls = ["fsread"]\npath = "/secret/**"\naction = "never"\n',
                        "base.toml", env=ENV)
    report = learn([read("/secret/key"), connect(SockAddr("inet", "10.0.0.1", 53), "sendto")],
                   LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    assert not permitted(merged, read("/secret/key"))
    # (the learned address after the person's rule too: refused by the barrier, fails closed)
    assert not permitted(merged, connect(SockAddr("inet", "10.0.0.1", 53), "sendto"))
    # the learner's rules alone after the barrier: the learned address goes before it
    alone = loads_policy('default = "permit"\n' + _LEARNERS_END, "alone.toml", env=ENV)
    merged = merge_policies(alone, report.policy, ENV)
    assert permitted(merged, connect(SockAddr("inet", "10.0.0.1", 53), "sendto"))
    assert permitted(merged, read("/secret/key"))


def test_a_new_table_takes_the_strictest_default_not_the_learned_one():
    """Review 58 (4): ``-A --default permit --merge`` into a policy that refuses by default
    made the program's new table ``default = "permit"``: the next run's cat read what every
    table of the person's policy refused.  Now the new table's default is its candidates'."""
    base = loads_policy('default = "never"\n[[rule]]\ncalls = ["fsread"]\npath = "/usr/**"\n'
                        'action = "permit"\n', "base.toml", env=ENV)
    report = learn([read("/usr/lib/x", table="/usr/bin/cat")],
                   LearnOptions(env=ENV, default=Action.PERMIT))
    merged = merge_policies(base, report.policy, ENV)
    assert merged.programs["/usr/bin/cat"].default is Action.NEVER
    assert permitted(merged, read("/usr/lib/x", table="/usr/bin/cat"))
    assert not permitted(merged, read("/secret/key", table="/usr/bin/cat"))


def test_a_carried_table_is_as_strict_as_every_table_it_stands_for():
    """close 29's one home (learn.carried_table): one candidate is copied in order (a
    person's exception before a refusal keeps deciding: review 58, 6); several -- their
    refusals, inject included (review 58, 3), then the one strict table's rules; several
    strict ones: no permit at all, and it says so."""
    one = loads_policy('default = "permit"\n'
                       '[[rule]]\ncalls = ["fsread"]\npath = "/v/public"\naction = "permit"\n'
                       '[[rule]]\ncalls = ["fsread"]\npath = "/v/**"\naction = "never"\n',
                       "one.toml", env=ENV)
    table, carried = carried_table("/usr/bin/cat", [one.main])
    assert carried and [r.action for r in table.rules] == [Action.PERMIT, Action.NEVER]
    several = loads_policy(
        'default = "never"\n[[rule]]\ncalls = ["fsread"]\npath = "/usr/**"\n'
        'action = "permit"\n'
        '[program."/opt/tool"]\ndefault = "permit"\n'
        '[[program."/opt/tool".rule]]\ncalls = ["fsread"]\npath = "/usr/secret"\n'
        'action = "inject"\nerrno = "EACCES"\n', "several.toml", env=ENV)
    table, carried = carried_table("/usr/bin/cat", several.tables())
    assert carried and table.default is Action.NEVER
    assert [r.action for r in table.rules] == [Action.INJECT, Action.PERMIT]
    strict = loads_policy(
        'default = "never"\n[[rule]]\ncalls = ["fsread"]\npath = "/usr/**"\n'
        'action = "permit"\n'
        '[program."/opt/tool"]\ndefault = "ask"\n'
        '[[program."/opt/tool".rule]]\ncalls = ["fsread"]\npath = "/etc/**"\n'
        'action = "permit"\n', "strict.toml", env=ENV)
    table, carried = carried_table("/usr/bin/cat", strict.tables())
    assert not carried and table.rules == [] and table.default is Action.NEVER


def test_a_table_a_merge_makes_from_several_keeps_the_persons_exception():
    """Review 58 (6), with a program table in the file too: main permits ``/v/public`` then
    refuses ``/v/**``; a tool's table permits by default.  cat ran under either: its new
    table copies main's rules in order after the tool's refusals -- the exception keeps
    deciding (the refusals of every table first made it dead: a false refusal)."""
    base = loads_policy(
        'default = "permit"\n'
        '[[rule]]\ncalls = ["fsread"]\npath = "/v/public"\naction = "permit"\n'
        '[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "/v/**"\naction = "never"\n'
        '[program."/opt/tool"]\ndefault = "permit"\n'
        '[[program."/opt/tool".rule]]\ncalls = ["fswrite"]\npath = "/etc/**"\n'
        'action = "never"\n', "base.toml", env=ENV)
    report = learn([read("/v/public", table="/usr/bin/cat")], LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    assert permitted(merged, read("/v/public", table="/usr/bin/cat"))
    assert not permitted(merged, read("/v/secret", table="/usr/bin/cat"))
    assert not permitted(merged, write("/etc/x", table="/usr/bin/cat"))


def test_the_summary_warns_of_a_learned_table_another_one_shadows():
    """Review 58 (7): a person's ``$CWD/*`` table comes first at run time; the learned
    ``$CWD/tool`` merged after it never applies -- the summary says so."""
    import io

    from systrace_py.cli.report import write_summary

    base = loads_policy('default = "permit"\n[program."$CWD/*"]\ndefault = "never"\n',
                        "base.toml", env=ENV)
    observations = [read("/usr/lib/x", table="/work/proj/tool")]
    report = learn(observations, LearnOptions(env=ENV))
    merged = merge_policies(base, report.policy, ENV)
    out = io.StringIO()
    write_summary(out, report, None, None, merged=True, calls_seen=None, processes=None,
                  final=merged, observations=observations)
    text = out.getvalue()
    assert "learned table $CWD/tool does not apply to /work/proj/tool: table $CWD/* " in text
    assert "1 observed call(s) are still not permitted" in text


def hosts_rules() -> list[FileRule]:
    """The rules an answer "permit /etc/hosts" to an O_RDWR open makes."""
    return [FileRule((cls,), Action.PERMIT, path=PathGlob("/etc/hosts", ENV))
            for cls in ("fsread", "fswrite")]


def test_merge_rules_for_an_interactive_answer():
    policy = loads_policy('default = "ask"\n', "p.toml", env=ENV)
    facts = CallFacts("openat", (PathArg("path", "/etc/hosts"),), os.O_RDWR)
    rules = hosts_rules()
    out = merge_rules(policy, "/usr/bin/curl", rules, position="start")
    assert policy.programs == {}  # the original is untouched
    table = out.programs["/usr/bin/curl"]
    assert table.default is Action.ASK
    assert table.decide(facts).action is Action.PERMIT
    again = merge_rules(out, "/usr/bin/curl", rules, position="start")
    assert len(again.programs["/usr/bin/curl"].rules) == 2  # nothing added twice
    assert [r.index for r in again.programs["/usr/bin/curl"].rules] == [1, 2]


def test_an_answer_is_kept_when_a_rule_in_front_would_decide_otherwise():
    policy = loads_policy('default = "never"\n'
                          '[[rule]]\ncalls = ["fsread"]\npath = "/etc/**"\naction = "ask"\n'
                          '[[rule]]\ncalls = ["fsread"]\npath = "/etc/*"\naction = "permit"\n',
                          "p.toml", env=ENV)
    facts = CallFacts("openat", (PathArg("path", "/etc/hosts"),), R)
    assert policy.main.decide(facts).action is Action.ASK
    out = merge_rules(policy, MAIN, hosts_rules()[:1], position="start")
    assert len(out.main.rules) == 3
    assert out.main.decide(facts).action is Action.PERMIT
    # with nothing in front, the wider permit already decides it: nothing is added
    plain = loads_policy('[[rule]]\ncalls = ["fsread"]\npath = "/etc/*"\naction = "permit"\n',
                         "q.toml", env=ENV)
    same = merge_rules(plain, MAIN, hosts_rules()[:1], position="start")
    assert len(same.main.rules) == 1


# --- logs and summary -----------------------------------------------------------------------

def test_enforcement_records_can_be_learned_from():
    record = {"event": "syscall", "result": "would-refuse", "table": MAIN, "syscall": "openat",
              "args": {"path": "/etc/hosts", "flags": "O_RDWR|O_CLOEXEC",
                       "address": "[::1]:53"}}
    obs = observation_from_record(record)
    assert obs is not None and obs.paths == (PathArg("path", "/etc/hosts"),)
    assert obs.open_flags == os.O_RDWR and obs.sockaddrs == (SockAddr("inet6", "::1", 53),)
    assert observation_from_record({**record, "result": "refused"}) is None
    assert observation_from_record({"event": "exec"}) is None


def test_a_removed_files_path_is_learned_by_both_its_names():
    """A file the run wrote, removed and reached by a descriptor (a helper run through
    /proc/self/fd) is named ``PATH (deleted)``, and the next run's call is decided by both
    names (Supervisor._decide, decode.former_names): both are learned, not the one the next
    run's call was refused by (learn42)."""
    for generalize in ("safe", "none"):
        policy = learn([read("/srv/tools/helper (deleted)")],
                       LearnOptions(generalize=generalize, env=ENV)).policy
        for path in ("/srv/tools/helper (deleted)", "/srv/tools/helper"):
            facts = CallFacts("openat", (PathArg("path", path),), R)
            assert policy.main.decide(facts).action is Action.PERMIT, (generalize, path)
        facts = CallFacts("openat", (PathArg("path", "/srv/tools/other"),), R)
        assert policy.main.decide(facts).action is Action.NEVER, generalize


def test_an_older_logs_table_of_a_memfd_is_learned_as_its_callers():
    """An older -A logged a memfd helper's calls under ``/memfd:helper (deleted)``, a table
    no run enters (its process keeps its caller's: supervisor.nameless): ``policy learn``
    learns them into the table the process ran under before -- the tool's, for the tool's
    helper and its child; the main table, for the command's own (learn42)."""
    tool, memfd = "/opt/tool", "/memfd:helper (deleted)"
    log: list[dict] = [
        {"event": "fork", "pid": 11, "parent": 10, "table": MAIN},
        {"event": "exec", "pid": 11, "table": tool},
        {"event": "exec", "pid": 11, "table": memfd},
        {"event": "syscall", "pid": 11, "result": "permitted", "table": memfd,
         "observation": {"syscall": "openat", "paths": [["path", "/srv/asked"]]}},
        {"event": "clone", "pid": 12, "parent": 11, "table": memfd},
        {"event": "syscall", "pid": 12, "result": "permitted", "table": memfd,
         "observation": {"syscall": "getpid"}},
        {"event": "exec", "pid": 10, "table": memfd},
        {"event": "syscall", "pid": 10, "result": "permitted", "table": memfd,
         "observation": {"syscall": "getuid"}},
        {"event": "syscall", "pid": 11, "result": "permitted", "table": tool,
         "observation": {"syscall": "getgid"}},
    ]
    tables = LoggedTables()
    placed = []
    for record in log:
        tables.see(record)
        obs = observation_from_record(record)
        if obs is not None:
            placed.append((tables.placed(obs, record).table, obs.syscall))
    assert placed == [(tool, "openat"), (tool, "getpid"), (MAIN, "getuid"), (tool, "getgid")]


def test_records_of_version_2_are_read_from_their_typed_call_never_from_the_display_text():
    record = {"v": 2, "event": "syscall", "result": "would-refuse", "table": MAIN,
              "syscall": "openat",
              "args": {"path": "shown to a person", "flags": "O_WRONLY", "address": "x:1"},
              "call": {"paths": [["path", "/etc/hosts"]], "open_flags": os.O_RDWR,
                       "sockaddrs": [{"family": "unix", "path": "/run/a b:1"}]}}
    obs = observation_from_record(record)
    assert obs is not None and obs.paths == (PathArg("path", "/etc/hosts"),)
    assert obs.open_flags == os.O_RDWR
    assert obs.sockaddrs == (SockAddr("unix", path="/run/a b:1"),)
    del record["call"]  # a version 2 record without its facts is not read from its text
    assert observation_from_record(record) is None


def test_the_summary_says_what_was_done():
    obs = [read("/usr/lib/x86_64-linux-gnu/libc.so.6"), Observation(MAIN, "io_uring_setup"),
           Observation(MAIN, "read"), Observation(MAIN, "openat", (PathArg("path", ""),), R)]
    report = learn(obs, LearnOptions(env=ENV))
    text = "\n".join(format_summary(report, calls_seen=100, processes=2))
    assert "100 calls seen" in text and "2 processes" in text
    assert "categories: libraries" in text
    assert "io_uring_setup" in text and "not representable" in text


def test_failed_execs_are_not_learned_as_execs():
    """A PATH search's misses permit nothing (a refusal of a missing path is ENOENT); an
    exec that failed otherwise permits nothing either (the default refuses it)."""
    obs = [Observation(MAIN, "execve", (PathArg("path", "/usr/local/bin/tool"),),
                       argv=("tool",), failed=errno.ENOENT),
           Observation(MAIN, "execve", (PathArg("path", "/opt/bin/tool"),), argv=("tool",),
                       failed=errno.EACCES),
           Observation(MAIN, "execve", (PathArg("path", "/usr/bin/tool"),), argv=("tool",))]
    report, policy, text = learned(obs)
    assert "/usr/local/bin" not in text
    assert permitted(policy, obs[2])
    refusal = decide_observation(policy, obs[1])
    assert (refusal.action, refusal.rule) == (Action.NEVER, None)
    summary = "\n".join(format_summary(report))
    assert "1 of missing programs" in summary and "/opt/bin/tool (EACCES)" in summary
    # one run's failure never stands in the way of another run's success, merged
    ran = learn([obs[1].__class__(MAIN, "execve", obs[1].paths, argv=("tool",))],
                LearnOptions(env=ENV)).policy
    merged = merge_policies(report.policy, ran, ENV)
    assert permitted(merged, Observation(MAIN, "execve", obs[1].paths, argv=("tool",)))
    again = Observation.from_json(MAIN, obs[1].to_json())
    assert again == obs[1]



def test_stdio_is_disjoint_from_every_other_alias_and_holds_nothing_unsafe():
    stdio = aliases.ALIASES["stdio"]
    assert not stdio & aliases.UNSAFE_CALLS
    for name, members in aliases.ALIASES.items():
        if name != "stdio":
            assert not stdio & members, name
    assert not {"ioctl", "prctl", "kill", "ptrace"} & stdio


def test_a_learned_environment_grant_matches_its_own_value_only() -> None:
    """Learned values are written as globs matching exactly themselves: a bash function with
    ``[ -n "$1" ]`` and ``echo *`` matched other functions (and not itself) when written as
    seen."""
    from systrace_py.policy.environment import literal_grant
    from systrace_py.policy.model import Table

    seen = 'BASH_FUNC_f%%=() {  [ -n "$1" ] && echo *?\n}'
    table = Table("/usr/bin/bash", environment=(literal_grant(seen),))
    assert table.admits_variable(seen)
    assert not table.admits_variable('BASH_FUNC_f%%=() {  [ -n "$1" ] && echo *?; curl x|sh\n}')
    assert not table.admits_variable('BASH_FUNC_f%%=() {  [ -n "$1" ] && echo ab\n}')


# --- directories moved -----------------------------------------------------------------------

def _moved(old: str, new: str) -> Observation:
    return Observation(MAIN, "rename", (PathArg("old", old), PathArg("new", new)),
                       created=("new",), directories=("old",))


def test_a_directory_moved_is_learned_with_everything_inside_it():
    """cargo makes targetXXXXXX, fills it and renames it to target: a policy decides moving
    a directory for everything inside it, so a rule on its name alone let the next run's
    move fall to the default (refused)."""
    obs = [Observation(MAIN, "mkdir", (PathArg("path", "/work/proj/targetSRQZ73"),),
                       created=("path",), exclusive=True),
           write("/work/proj/targetSRQZ73/CACHEDIR.TAG"),
           _moved("/work/proj/targetSRQZ73", "/work/proj/target")]
    report, policy, _ = learned(obs)
    assert all(permitted(policy, o) for o in obs)
    assert permitted(policy, _moved("/work/proj/target4K9p6U", "/work/proj/target"))
    assert not permitted(policy, _moved("/work/proj/src", "/work/proj/target"))
    assert any(g.pattern == "$CWD/target" + RC * 6 + "/**" for g in report.generalizations), \
        report.generalizations


def test_a_moved_directory_without_its_tree_is_refused_again():
    """The subtree rule is what permits the move: without it (a rule on the name only) the
    same observation is refused -- the learner's own check of what it learned."""
    obs = [_moved("/work/proj/out.tmp", "/work/proj/out")]
    _, policy, _ = learned(obs)
    assert permitted(policy, obs[0])
    bare = Observation(MAIN, "rename", obs[0].paths, created=("new",))
    assert permitted(policy, bare)
    _, name_only, _ = learned([bare])
    assert not permitted(name_only, obs[0])


def test_a_sensitive_directory_moved_is_not_learned_as_a_tree():
    obs = [_moved("/home/u/.ssh", "/home/u/.ssh.old")]
    report, policy, _ = learned(obs)
    assert not any(p.endswith("/**") and ".ssh" in p for p in paths_of(policy)), \
        paths_of(policy)
    assert "/home/u/.ssh" in report.exact_sensitive


def test_an_observation_keeps_its_moved_directories_through_the_log():
    obs = _moved("/work/proj/a", "/work/proj/b")
    assert Observation.from_json(MAIN, obs.to_json()) == obs


def _stash(older: bool) -> list[Observation]:
    """pip's uninstall stash: ``~ackaging`` probed (made, removed), the installed
    ``packaging`` renamed there, the new one written, the stash removed with its files --
    ``older``: as the learner sees it, the moved directory and what the stash held then
    were none of the run's (Observation.older)."""
    site = "/work/proj/v/site-packages"
    flag = ("path",) if older else ()
    return [Observation(MAIN, "mkdir", (PathArg("path", f"{site}/~ackaging"),),
                        created=("path",), exclusive=True),
            Observation(MAIN, "rmdir", (PathArg("path", f"{site}/~ackaging"),)),
            Observation(MAIN, "rename", (PathArg("old", f"{site}/packaging"),
                                         PathArg("new", f"{site}/~ackaging")),
                        created=("new",), directories=("old",),
                        older=("old",) if older else ()),
            Observation(MAIN, "mkdir", (PathArg("path", f"{site}/packaging"),),
                        created=("path",), exclusive=True),
            write(f"{site}/packaging/tags.py"),
            Observation(MAIN, "unlink", (PathArg("path", f"{site}/~ackaging/tags.py"),),
                        older=flag),
            Observation(MAIN, "rmdir", (PathArg("path", f"{site}/~ackaging"),), older=flag)]


def test_an_older_file_at_a_name_the_run_made_is_learned_by_name():
    """The stash's second removal met the older ``packaging`` the run renamed there: no
    fresh rule covers it on the next run (7 refusals of pip install --force-reinstall), so
    the removal is learned by name -- and the stash's generated name stays fresh: another
    older directory of its shape stays refused.  Without the older flag (a log written
    before it) the stash is a fresh glob, as before."""
    site = "/work/proj/v/site-packages"
    _, policy, text = learned(_stash(older=True))

    def decides(syscall: str, path: str, made: bool = False) -> Action:
        facts = CallFacts(syscall, (PathArg("path", path),),
                          made=frozenset({"path"}) if made else frozenset())
        return policy.main.decide(facts).action

    assert decides("rmdir", f"{site}/~ackaging") is Action.PERMIT, text
    assert decides("unlink", f"{site}/~ackaging/tags.py") is Action.PERMIT, text
    assert decides("rmdir", f"{site}/~ootbeer") is not Action.PERMIT, text
    assert decides("unlink", f"{site}/~ootbeer/tags.py") is not Action.PERMIT, text
    # the next run's stash of the package, made; not another name of "~" (its shape: learn36)
    assert decides("mkdir", f"{site}/~ackaging", made=True) is Action.PERMIT, text
    assert decides("mkdir", f"{site}/~ootbeer", made=True) is not Action.PERMIT, text
    _, before, _ = learned(_stash(older=False))
    assert before.main.decide(CallFacts("rmdir", (PathArg("path", f"{site}/~ackaging"),))
                              ).action is not Action.PERMIT


def test_an_older_directory_moved_is_learned_as_its_tree_not_fresh():
    """The run moved the installed ``packaging`` with the files older runs left in it: its
    next run moves them again, which a fresh ``packaging/**`` refused (a move is decided for
    everything inside).  Only that directory: another older one stays refused."""
    site = "/work/proj/v/site-packages"
    _, policy, text = learned(_stash(older=True))
    moved = [r for r in policy.main.rules if r.path is not None
             and r.path.pattern == "$CWD/v/site-packages/packaging/**"]
    assert moved and not any(r.fresh for r in moved), text

    def renamed(old: str) -> bool:
        facts = CallFacts("rename", (PathArg("old", old), PathArg("new", f"{site}/~ackaging")),
                          directories=frozenset({"old"}), made=frozenset({"new"}))
        return policy.main.decide(facts).action is Action.PERMIT

    assert renamed(f"{site}/packaging")
    assert not renamed(f"{site}/pkg_resources")
    assert Observation.from_json(MAIN, _stash(True)[2].to_json()) == _stash(True)[2]


@pytest.mark.parametrize("level", ["none", "strict", "safe", "broad"])
def test_bytes_that_are_not_utf8_are_never_written_into_a_policy(level):
    """gpg asks access() about a name of random bytes in its working directory: the engine
    reports a byte that is not UTF-8 as a lone surrogate, which TOML cannot hold (saving the
    learned policy crashed).  No rule names such a path or command line (a ``?`` for each byte
    would match names the run never used); metadata of any path (safe, broad) still covers
    the look, its note keeping the count but not the name."""
    odd = "/work/proj/\udce0\udce4\x0eU"
    shell = ("sh", "-c", "cat caf\udce9.txt")
    obs = [Observation(MAIN, "access", (PathArg("path", odd),)),
           Observation(MAIN, "openat", (PathArg("path", odd + ".txt"),), R),
           read("/work/proj/ok.txt"),
           Observation(MAIN, "execve", (PathArg("path", "/usr/bin/dash"),), argv=shell)]
    report, policy, text = learned(obs, generalize=level)
    text.encode("utf-8")  # (raised UnicodeEncodeError)
    assert "\\udc" not in text and "\\xe0" not in text, text
    assert permitted(policy, read("/work/proj/ok.txt"))
    assert not permitted(policy, obs[1])
    assert not permitted(policy, read("/work/proj/Ux.txt"))
    assert permitted(policy, obs[0]) is (level in ("safe", "broad"))
    assert report.unrepresentable[0] is (obs[1] if level in ("safe", "broad") else obs[0])
    # a shell's command line is a condition but in broad: that one cannot be written
    other = Observation(MAIN, "execve", (PathArg("path", "/usr/bin/dash"),),
                        argv=("sh", "-c", "rm -rf /"))
    assert permitted(policy, other) is (level == "broad"), text


def test_a_name_the_run_removes_and_makes_again_keeps_its_own_rule() -> None:
    """pytest removes the symlink ``pytest-current`` and makes it again beside its numbered
    directory ``pytest-687`` (learned ``pytest-*``, fresh): the fresh glob covered the
    symlink, as the run made it, but the removal met the older one -- the next run's removal
    was refused.  A name used before the run made it keeps an exact rule; the glob covers
    no other older name."""
    base = "/tmp/pytest-of-u"
    current, numbered = f"{base}/pytest-current", f"{base}/pytest-687"
    _, policy, text = learned([
        Observation(MAIN, "mkdir", (PathArg("path", numbered),), created=("path",),
                    exclusive=True),
        Observation(MAIN, "unlink", (PathArg("path", current),)),
        Observation(MAIN, "symlinkat", (PathArg("path", current),), created=("path",),
                    exclusive=True)])

    def permits(policy, facts: CallFacts) -> bool:
        return policy.main.decide(facts).action is Action.PERMIT

    removal = CallFacts("unlink", (PathArg("path", current),))
    assert permits(policy, removal), text
    assert permits(policy, CallFacts("mkdir", (PathArg("path", f"{base}/pytest-688"),),
                                     made=frozenset({"path"})))
    for other in (f"{base}/pytest-older", f"{base}/pytest-686"):
        assert not permits(policy, CallFacts("unlink", (PathArg("path", other),))), other


def test_older_names_of_a_counter_the_run_counts_on_are_its_shape():
    """pytest makes ``pytest-711`` and renames away the oldest, ``pytest-706`` (made by a run
    before): the next run renames ``pytest-710`` -- the learning run's own, no fresh rule's.
    An older name of a number the run counts on is the number's shape (as many ``[0-9]``),
    not fresh; another name, another length, a name the run made no sibling of are not."""
    base = "/tmp/pytest-of-u"
    garbage = f"{base}/garbage-d177238c-1227-4b0a-8165-19d779524d3a"
    _, policy, text = learned([
        Observation(MAIN, "mkdir", (PathArg("path", f"{base}/pytest-711"),), created=("path",),
                    exclusive=True),
        Observation(MAIN, "rename", (PathArg("old", f"{base}/pytest-706"),
                                     PathArg("new", garbage)), created=("new",),
                    directories=("old",)),
        unlink(f"{garbage}/.lock")])
    moved = [r for r in policy.main.rules if r.path is not None
             and r.path.pattern == "$TMPDIR/pytest-of-u/pytest-[0-9][0-9][0-9]/**"]
    assert moved and not any(r.fresh for r in moved), text  # (older runs' files inside)

    def renamed(old: str) -> bool:
        new = f"{base}/garbage-e35e2379-017d-494a-8342-4b7a7fd7093f"
        facts = CallFacts("rename", (PathArg("old", old), PathArg("new", new)),
                          made=frozenset({"new"}))
        return policy.main.decide(facts).action is Action.PERMIT

    assert renamed(f"{base}/pytest-710"), text
    for other in ("pytest-current", "pytest-1000", "pytest-7x0", "other-710"):
        assert not renamed(f"{base}/{other}"), other


def test_a_short_number_made_next_to_older_ones_is_a_counter():
    """pytest's first runs make ``pytest-2`` beside ``pytest-1``: a number of fewer than 3
    digits is a version as often (kept literally), and the next run's ``pytest-3`` was
    refused.  Made new beside an older name of the same head it listed, it is a counter:
    ``pytest-*``, fresh; alone, or with no older sibling, it stays."""
    base = "/tmp/pytest-of-u"
    made = Observation(MAIN, "mkdir", (PathArg("path", f"{base}/pytest-2"),),
                       created=("path",), exclusive=True)
    _, policy, text = learned([listing(base, "pytest-1/"), made])
    # (the base holds the counter's names alone: its own directory, where a later run
    # removes the older ones -- test_a_counters_own_directory_is_learned_as_its_tree)
    assert '"$TMPDIR/pytest-of-u/**"' in text, text
    nxt = CallFacts("mkdir", (PathArg("path", f"{base}/pytest-3"),), made=frozenset({"path"}))
    assert policy.main.decide(nxt).action is Action.PERMIT
    _, policy, text = learned([listing(base, "pytest-1/", "notes.txt"), made])
    assert '"$TMPDIR/pytest-of-u/pytest-' + number_shape("2") + '"' in text, text
    assert policy.main.decide(nxt).action is Action.PERMIT
    older = CallFacts("rmdir", (PathArg("path", f"{base}/pytest-1"),))
    assert policy.main.decide(older).action is not Action.PERMIT  # (it only listed it)
    _, _, alone = learned([listing(base, "lib64/"), made])
    assert '"$TMPDIR/pytest-of-u/pytest-2"' in alone, alone


def test_two_numbers_the_run_made_one_after_the_other_are_a_counter():
    """Two pytest runs from a fresh ``$TMPDIR`` make ``pytest-0`` then ``pytest-1``, no
    older sibling: kept literally, the next run's ``pytest-2`` was refused 100 times (pytest
    retries).  The run counted itself: ``pytest-*``, fresh.  Numbers apart (a version's
    ``py-3`` and ``py-5``) stay."""
    base = "/tmp/pytest-of-u"

    def made(name: str) -> Observation:
        return Observation(MAIN, "mkdir", (PathArg("path", f"{base}/{name}"),),
                           created=("path",), exclusive=True)

    _, policy, text = learned([made("pytest-0"), made("pytest-1")])
    assert '"$TMPDIR/pytest-of-u/pytest-' + number_shape("0") + '"' in text, text
    nxt = CallFacts("mkdir", (PathArg("path", f"{base}/pytest-2"),), made=frozenset({"path"}))
    assert policy.main.decide(nxt).action is Action.PERMIT
    older = CallFacts("rmdir", (PathArg("path", f"{base}/pytest-7"),))
    assert policy.main.decide(older).action is not Action.PERMIT
    _, _, apart = learned([made("py-3"), made("py-5")])
    assert '"$TMPDIR/pytest-of-u/py-' + number_shape("3") + '"' not in apart, apart


def test_a_name_the_run_made_and_left_keeps_its_own_rule():
    """pytest's first run makes ``$TMPDIR/pytest-of-u`` (mode 0700) and leaves it; a fresh
    glob of generated names in the same directory (Python's probes) covered it, and the next
    run, meeting it older, was refused reading it 10 times.  Made and left, a name of its
    own keeps its own rule (the calls it was used with).  Made and removed, it was covered
    by the probe's fresh ``$TMPDIR/*``; the probe is its shape now (8 characters: red team
    52), which no 11-character name is, so it keeps its own rule then too."""
    probe = "/tmp/x1y2z3w4"
    pytest_dir = "/tmp/pytest-of-u"
    # (Python's probe opens with tempfile's flags, O_NOFOLLOW among them: without it, it is
    # C's mkstemp, whose "x1" and 6 is no 8 -- learn41)
    obs = [Observation(MAIN, "openat", (PathArg("path", probe),), EXCL | os.O_NOFOLLOW,
                       created=("path",), exclusive=True, mkstemp=True),
           unlink(probe),
           Observation(MAIN, "mkdir", (PathArg("path", pytest_dir),), created=("path",),
                       exclusive=True, mkstemp=True),
           read(pytest_dir)]
    _, policy, text = learned(obs)
    again = CallFacts("openat", (PathArg("path", pytest_dir),), os.O_RDONLY)
    assert policy.main.decide(again).action is Action.PERMIT, text
    other = CallFacts("openat", (PathArg("path", "/tmp/pytest-of-v"),), os.O_RDONLY)
    assert policy.main.decide(other).action is not Action.PERMIT, text
    _, gone, text = learned([*obs, Observation(MAIN, "rmdir", (PathArg("path", pytest_dir),))])
    assert gone.main.decide(other).action is not Action.PERMIT, text
    assert "$TMPDIR/*" not in text and "$TMPDIR/" + "[0-9A-Za-z_]" * 8 in text, text


# --- a directory made as mkdtemp makes one, by C or by Python -----------------------------

def _mkdtemp(path: str, table: str = MAIN) -> list[Observation]:
    return [Observation(table, "mkdir", (PathArg("path", path),), created=("path",),
                        exclusive=True, mkstemp=True),
            Observation(table, "rmdir", (PathArg("path", path),))]


def test_mktemp_d_of_a_configure_is_its_template_not_pythons_eight():
    """configure's ``mktemp -d ./confXXXXXX``: its 6 of lowercase letters and digits (1 run
    in 26) were "co" and Python's 8 -- ``$CWD/co*``, any new name of "co" (``config.h``,
    ``configure~``).  Made 0700 by a program that is no Python interpreter (C's mkdtemp,
    which draws 6), it is ``conf*``; by Python (its codecs read), ``tempfile.mkdtemp``'s 8
    after a prefix of the caller's are still taken."""
    _, policy, text = learned(_mkdtemp("/work/proj/confax12cz", "/usr/bin/mktemp"))
    assert "$CWD/conf" + RC * 6 in text and "$CWD/co" + RC * 8 not in text, text
    made = CallFacts("mkdir", (PathArg("path", "/work/proj/coffee"),), made=frozenset({"path"}))
    assert policy.programs["/usr/bin/mktemp"].decide(made).action is not Action.PERMIT
    python = "/usr/bin/python3.11"
    codecs = read("/usr/lib/python3.11/encodings/__init__.py", python)
    _, _, text = learned([codecs, *_mkdtemp("/work/proj/workax12cdez", python)])
    assert "$CWD/work" + RC * 8 in text, text
    _, _, text = learned([codecs, *_mkdtemp("/work/proj/confax12cz", python)])
    assert "$CWD/co" + RC * 8 in text, text  # (Python's mkdtemp(prefix="co") is as likely)


def _first_counter_run(base: str, *others: str) -> list[Observation]:
    """pytest's first run in a $TMPDIR: its base made, listed (empty, or holding
    ``others``), ``pytest-0`` made new, a file written in it."""
    return [Observation(MAIN, "mkdir", (PathArg("path", base),), created=("path",),
                        exclusive=True),
            listing(base, *others),
            Observation(MAIN, "mkdir", (PathArg("path", f"{base}/pytest-0"),),
                        created=("path",), exclusive=True),
            write(f"{base}/pytest-0/f")]


def test_a_counters_own_directory_is_learned_as_its_tree():
    """The first of a counter (``pytest-0`` made in a directory that held no older one) is a
    counter, and a directory holding only its names and what the run made is the counter's
    own: later runs rename its older runs away and remove them (pytest's ``garbage-UUID``),
    which the tree covers -- and nothing beside it."""
    _, policy, text = learned(_first_counter_run("/tmp/pytest-of-u"))
    assert '"$TMPDIR/pytest-of-u/**"' in text, text
    garbage = CallFacts("rename", (PathArg("old", "/tmp/pytest-of-u/pytest-0"),
                                   PathArg("new", "/tmp/pytest-of-u/garbage-1b4e")))
    assert policy.main.decide(garbage).action is Action.PERMIT
    for path in ("/tmp/pytest-of-u/pytest-7/f", "/tmp/pytest-of-u/garbage-1b4e/f"):
        assert policy.main.decide(CallFacts("unlink", (PathArg("path", path),))).action \
            is Action.PERMIT, path
    for path in ("/tmp/older.txt", "/tmp/pytest-of-v/pytest-0/f"):
        assert policy.main.decide(CallFacts("unlink", (PathArg("path", path),))).action \
            is not Action.PERMIT, path


def test_a_directory_holding_other_names_is_no_counters_own():
    """A name the run did not make, and no name of the counter, beside it: the directory
    is not the counter's alone, and its older files are not granted."""
    _, policy, text = learned(_first_counter_run("/tmp/pytest-of-u", "notes.txt"))
    assert "pytest-of-u/**" not in text, text
    notes = CallFacts("unlink", (PathArg("path", "/tmp/pytest-of-u/notes.txt"),))
    assert policy.main.decide(notes).action is not Action.PERMIT


def test_a_counter_in_a_variables_directory_grants_no_tree():
    """``$TMPDIR`` itself (or ``$CWD``, ``~``) holding only a counter's names is never taken
    for the counter's own directory: a learned tree there would be all of it."""
    obs = [listing("/tmp"), Observation(MAIN, "mkdir", (PathArg("path", "/tmp/run-0"),),
                                        created=("path",), exclusive=True),
           write("/tmp/run-0/f")]
    _, policy, text = learned(obs)
    assert '"$TMPDIR/**"' not in text, text
    older = CallFacts("unlink", (PathArg("path", "/tmp/older.txt"),))
    assert policy.main.decide(older).action is not Action.PERMIT


def test_a_generated_name_ending_in_a_number_makes_no_counters_own_directory():
    """Python writes a module's cache as ``NAME.pyc.<id()>`` and renames it onto
    ``NAME.pyc``: a generated name that ends in a number, in a directory holding only what
    the run made -- no counter (the workload's pip install learned ``__pycache__/**``,
    not fresh, and the next run's renames onto a cache were refused)."""
    cache = "/work/proj/v/lib/python3.11/site-packages/pkg/__pycache__"
    temp = f"{cache}/mod.cpython-311.pyc.140598365737840"
    obs = [Observation(MAIN, "mkdir", (PathArg("path", cache),), created=("path",),
                       exclusive=True),
           listing(cache),
           write(temp, EXCL),
           Observation(MAIN, "rename", (PathArg("old", temp),
                                        PathArg("new", f"{cache}/mod.cpython-311.pyc")),
                       created=("new",))]
    _, _, text = learned(obs)
    assert "__pycache__/**" not in text, text


def test_a_versions_last_part_is_no_first_counter():
    """pip makes ``tinypkg-0.1.dist-info`` after listing a site-packages with no older one:
    its ``1`` is a version's last part, not the first of a counter -- it stays literal (the
    counter's shape would grant every ``tinypkg-0.N.dist-info``; found by the CI's
    tests/learn run of pip)."""
    site = "/w/venv/lib/python3.11/site-packages"
    obs = [listing(site, "pip/"),
           Observation(MAIN, "mkdir", (PathArg("path", f"{site}/tinypkg-0.1.dist-info"),),
                       created=("path",), exclusive=True),
           write(f"{site}/tinypkg-0.1.dist-info/METADATA")]
    _, _, text = learned(obs)
    assert "tinypkg-0.1.dist-info" in text and "tinypkg-0.*" not in text, text


def _staged(inside: tuple[tuple[str, str, str, bool], ...]) -> list[Observation]:
    """mkdir stage; link(/data/src/obj, stage/obj); rename(stage, out/pkg); read it there
    (``inside``: what the move records of the older files below stage)."""
    return [
        Observation(MAIN, "mkdir", (PathArg("path", "/work/proj/stage"),), created=("path",)),
        Observation(MAIN, "link", (PathArg("old", "/data/src/obj"),
                                   PathArg("new", "/work/proj/stage/obj")), created=("new",)),
        Observation(MAIN, "rename", (PathArg("old", "/work/proj/stage"),
                                     PathArg("new", "/work/proj/out/pkg")),
                    created=("new",), directories=("old",), older_inside=inside),
        Observation(MAIN, "openat", (PathArg("path", "/work/proj/out/pkg/obj"),),
                    open_flags=os.O_RDONLY),
    ]


def test_an_older_file_moved_with_a_directory_of_the_runs_own_is_granted_its_new_reads():
    """fslink42: the next run's move of stage compares /data/src/obj by its own name with
    out/pkg/obj (model.Table._linked_decision): the learner grants the old name's pattern
    the read its name below out/pkg has (learn._linked_grants); without the record, not."""
    inside = (("old", "/obj", "/data/src/obj", False),)
    assert Observation.from_json(MAIN, _staged(inside)[2].to_json()) == _staged(inside)[2]
    _, policy, _ = learned(_staged(inside))
    move = CallFacts("rename", (PathArg("old", "/work/proj/stage"),
                                PathArg("new", "/work/proj/out/pkg")),
                     directories=frozenset(["old"]), made=frozenset(["old"]),
                     older_inside=(("/obj", "/data/src/obj", False),))
    assert policy.main.decide(move).action is Action.PERMIT
    _, policy, _ = learned(_staged(()))
    assert policy.main.decide(move).reason == "linked access"


# --- close 40: a use that met no file met no older one (review 66) ----------------------------

def _precleaned_save(absent: bool) -> list[Observation]:
    """``rm -f o/t.tmp; echo 1 > o/t.tmp; mv o/t.tmp o/f; cat o/f`` as the learner sees it:
    the ``rm -f`` met no file (``absent``; a log written before close 40 does not say)."""
    tmp, out = "/work/proj/o/t.tmp", "/work/proj/o/f"
    return [Observation(MAIN, "unlink", (PathArg("path", tmp),),
                        absent=("path",) if absent else ()),
            write(tmp),
            Observation(MAIN, "rename", (PathArg("old", tmp), PathArg("new", out)),
                        created=("new",)),
            read(out)]


def test_a_temporary_removed_before_it_was_made_but_met_no_file_is_moved_by_a_fresh_rule():
    """The pre-clean met no file, so it met no older one: the temporary's move is learned by
    the fresh rule (``_own_moved``), not granted the output's read by name (the fallback,
    which read an outsider's file planted at the name on the next run: review 66).  A log
    without ``absent`` learns as before."""
    tmp = "/work/proj/o/t.tmp"
    _, policy, text = learned(_precleaned_save(absent=True))
    moves = [r for r in policy.main.rules if r.path is not None and r.path.matches(tmp)
             and "fslink" in r.calls]
    assert moves and moves[0].fresh, text
    assert not [r for r in policy.main.rules if r.path is not None and r.path.matches(tmp)
                and "fsread" in r.calls and not r.fresh], text
    _, before, text = learned(_precleaned_save(absent=False))
    # (a plain rule moves any file at the name; the policy notes what the run makes, so the
    # next run's own file's move is exempt -- _note_own_moves)
    assert [r for r in before.main.rules if r.path is not None and r.path.matches(tmp)
            and "fslink" in r.calls and not r.fresh], text
    assert not [r for r in policy.main.rules if r.path is not None and r.path.matches(tmp)
                and "fslink" in r.calls and not r.fresh], text
    obs = _precleaned_save(absent=True)[0]
    assert obs.to_json()["absent"] == ["path"]
    assert Observation.from_json(MAIN, obs.to_json()) == obs
    assert "absent" not in _precleaned_save(absent=False)[0].to_json()

