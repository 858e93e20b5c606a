"""Class 1: path spellings.  Every spelling of the secret's path -- "..", "//", "./", relative
to the cwd after chdir or to a dirfd, through symlinks (given or made by the program), through
/proc/self/{root,cwd,fd/N}, a hard link the program makes -- meets the rule on its canonical
path.  Each attack runs twice: without systrace it must read the secret (the attack is real),
under systrace it must not."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    outsider,
    policy,
    read_never,
    require_real,
)

from conftest import UNPRIVILEGED_USER


def secret_rule(s: Scene) -> str:
    return read_never(s.secret)


@pytest.mark.parametrize("mode", ["dotdot", "slashes", "dot", "chdir", "dirfd"])
def test_spellings_without_links(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/path_spell.c"),
                           lambda s: [mode, s.secret, s.work], secret_rule)


@pytest.mark.parametrize("mode", ["given", "given_dir"])
def test_symlink_given(build, tmp_path, mode):
    def setup(s: Scene) -> None:
        (s.work / "link").symlink_to(s.secret if mode == "given" else s.secd)

    controlled_and_blocked(tmp_path, build("escape/path_symlink.c"),
                           lambda s: [mode, s.secret, s.work, s.work / "link"], secret_rule,
                           setup=setup)


@pytest.mark.parametrize("mode", ["own_file", "own_dir", "own_rel", "own_chain", "own_dotdot",
                                  "own_proc"])
def test_symlink_made_by_the_program(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/path_symlink.c"),
                           lambda s: [mode, s.secret, s.work], secret_rule,
                           setup=lambda s: (s.secd / "sub").mkdir())


@pytest.mark.parametrize("mode", ["root", "cwd", "fd_dir", "fd_root"])
def test_proc_magic_links(build, tmp_path, mode):
    controlled_and_blocked(tmp_path, build("escape/path_proc.c"),
                           lambda s: [mode, s.secret, s.work], secret_rule)


def test_proc_fd_of_a_process_outside_the_tree(build, tmp_path):
    """/proc/OUTSIDER/fd/N re-opens a file another process holds: no path is given at all,
    yet the magic link resolves to the secret's path and the rule applies."""
    holders = []

    def setup(s: Scene) -> None:
        cm = outsider(["sh", "-c", f"exec 7<{s.secret}; echo ready; exec sleep 30"])
        proc = cm.__enter__()
        holders.append(cm)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        s.extra = proc.pid  # type: ignore[attr-defined]

    try:
        controlled_and_blocked(tmp_path, build("escape/path_proc.c"),
                               lambda s: ["outsider_fd", s.secret, s.work, s.extra, 7],
                               secret_rule, setup=setup)
    finally:
        for cm in holders:
            cm.__exit__(None, None, None)


def test_proc_cwd_of_the_tracer(build, tmp_path):
    """/proc/<TracerPid>/cwd is the tracer's cwd (systrace runs in the secret's directory)."""
    controlled_and_blocked(tmp_path, build("escape/path_proc.c"),
                           lambda s: ["tracer_cwd", s.secret, s.work], secret_rule,
                           cwd=lambda s: s.secd)


@pytest.mark.parametrize("mode", ["link", "linkat_follow", "rename"])
def test_alias_made_by_the_program(build, tmp_path, mode):
    """A hard link or a rename of the file itself: the old path is checked as fsread."""
    _, s = controlled_and_blocked(tmp_path, build("escape/path_alias.c"),
                                  lambda s: [mode, s.secret, s.work], secret_rule)
    assert s.secret.exists() and not (s.work / "hard").exists()


def test_rename_of_the_parent_directory_under_a_tree_rule(build, tmp_path):
    """With the rule on the directory's tree, renaming the directory is refused (its old path
    is in the tree: ``/**`` includes the directory itself)."""
    _, s = controlled_and_blocked(tmp_path, build("escape/path_alias.c"),
                                  lambda s: ["rename_parent", s.secret, s.work],
                                  lambda s: read_never(f"{s.secd}/**"))
    assert s.secret.exists()


def test_rename_of_the_parent_directory_under_a_file_rule(build, tmp_path):
    """Moving a directory is decided for what lies below it (docs/security.md #2, fixed)."""
    controlled_and_blocked(tmp_path, build("escape/path_alias.c"),
                           lambda s: ["rename_parent", s.secret, s.work], secret_rule)


@pytest.mark.parametrize("mode", ["named", "named_fd", "rmdir_cwd", "rmdir_fd"])
def test_start_directory_shown_as_deleted(build, tmp_path, mode):
    """A relative path from a directory /proc shows as "... (deleted)" (removed, or just named
    so) still reaches the secret through ".." (docs/security.md #1, fixed)."""
    controlled_and_blocked(tmp_path, build("escape/path_deleted.c"),
                           lambda s: [mode, s.secret, s.work], secret_rule)


def test_the_policy_of_these_tests_refuses_only_the_secret(build, tmp_path):
    """Sanity: under the same policy the decoy (same name, other directory) is readable and
    the secret is refused with the rule's errno, so BLOCKED above is the rule at work."""
    s = Scene.make(tmp_path)
    program = build("escape/path_spell.c")
    out = attack(program, "chdir", s.decoy, s.work, policy_text=secret_rule(s), scene=s)
    assert out.verdict == "BLOCKED" and "opened" in out.detail and "EACCES" not in out.detail, out
    denied = attack(program, "chdir", s.secret, s.work, policy_text=secret_rule(s), scene=s)
    assert denied.verdict == "BLOCKED" and "EACCES" in denied.detail, denied


SPELLINGS = [("path_spell", m) for m in ("dotdot", "slashes", "dot", "chdir")] + [
    ("path_symlink", m) for m in ("own_file", "own_dir", "own_rel", "own_chain", "own_dotdot",
                                  "own_proc")] + [
    ("path_proc", m) for m in ("root", "cwd")] + [
    (p, m) for p, m in (("path_spell", "dirfd"), ("path_proc", "fd_dir"),
                        ("path_proc", "fd_root"))]


@pytest.mark.parametrize(("program", "mode"), SPELLINGS)
def test_spellings_work_on_a_permitted_file(build, tmp_path, program, mode):
    """The same spellings aimed at the decoy (same name, permitted directory) all open it
    under systrace: BLOCKED above is the rule refusing the secret, not a spelling the engine
    breaks."""
    s = Scene.make(tmp_path)
    (s.pubd / "sub").mkdir()
    out = attack(build(f"escape/{program}.c"), mode, s.decoy, s.work,
                 policy_text=secret_rule(s), scene=s)
    assert out.verdict == "BLOCKED", out
    failures = re.findall(r"([^;]*): (E[A-Z0-9]+)", out.detail)
    assert not failures, f"spellings that failed on a permitted file: {failures}\n{out}"


# --- files made by calls that are no file calls (red team, issue 11) -----------------------------

def test_a_unix_socket_bound_in_a_directory_no_file_may_be_written_to(build, tmp_path):
    """bind() of a unix socket makes a file, as mknod(S_IFSOCK) does; it was decided as a
    network call only, so `never fswrite DIR/**` let a program add socket files to DIR
    (directly, or through a symlink to it).  Now a rule refusing that mknod refuses the bind;
    a bind elsewhere works as natively."""
    traced, s = controlled_and_blocked(
        tmp_path, build("escape/fs_sockfile.c"), lambda s: [s.secd, s.work],
        lambda s: policy(never("fswrite", path=f"{s.secd}/**")))
    assert traced.detail.count("EACCES") == 2, traced
    assert sorted(p.name for p in s.secd.iterdir()) == ["secret.txt"]
    free = s.work / "free"  # a directory no rule protects: the same binds make their files
    free.mkdir()
    parity = attack(build("escape/fs_sockfile.c"), free, s.root,
                    policy_text=policy(never("fswrite", path=f"{s.secd}/**")), scene=s)
    assert parity.verdict == "ESCAPED" and (free / "sock").is_socket(), parity


# --- looking into a refused directory by walking through it (red team, issue 11) ---------------

def test_walking_through_a_refused_directory_reveals_nothing(build, tmp_path):
    """`never fsread DIR/**` refuses stat and readlink of DIR's entries, but a lookup that
    passes through DIR and ended elsewhere was decided on where it ended: a symlink in DIR
    followed to a permitted file told its target, `DIR/sub/../..`, `DIR/nosuch/../..`
    (ENOENT) and `DIR/secret.txt/../..` (ENOTDIR) which entries exist and what they are --
    also through a symlink of the program's own whose text walks through DIR.  Now what a
    lookup passes through is decided as a look (stat, readlink) too.  Escaped before."""
    def setup(s: Scene) -> None:
        (s.secd / "lnk").symlink_to(s.work)
        (s.secd / "sub").mkdir()
        (s.work / "f").write_text("permitted\n")

    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/path_traverse.c"), lambda s: [s.secd, s.work],
        lambda s: policy(never("fsread", path=f"{s.secd}/**")), setup=setup)
    assert "readlink" in traced.stdout and "EACCES" in traced.stdout, traced


def test_walking_through_a_refused_directory_with_calls_that_do_not_read(build, tmp_path):
    """The same walks by calls no fsread rule names -- chmod, a write-only open, mkdir,
    rmdir, utimensat through DIR/lnk and DIR/sub/../.. -- under a default of permit: the
    filter stopped only the calls the rules named, so these ran unseen and told where
    DIR/lnk leads and that DIR/sub is a directory.  Now a table that may refuse what a lookup
    passes through stops every call that looks a path up (filterplan.plan; red team 26,
    found by hand beside the loops' differential fuzzer).  Escaped before."""
    def setup(s: Scene) -> None:
        (s.secd / "lnk").symlink_to(s.work)
        (s.secd / "sub").mkdir()
        (s.work / "f").write_text("permitted\n")

    traced, s = controlled_and_blocked(
        tmp_path, build("escape/path_traverse_unstopped.c"), lambda s: [s.secd, s.work],
        lambda s: policy(never("fsread", path=f"{s.secd}/**")), setup=setup)
    assert "readlink" in traced.stdout and "EACCES" in traced.stdout, traced
    assert not (s.work / "made").exists() and not (s.work / "made2").exists(), traced


def test_walks_through_permitted_directories_work_as_natively(build, tmp_path):
    """The same walks through a directory no rule names: every one as natively."""
    def setup(s: Scene) -> None:
        (s.pubd / "lnk").symlink_to(s.work)
        (s.pubd / "sub").mkdir()
        (s.work / "f").write_text("permitted\n")

    s = Scene.make(tmp_path)
    setup(s)
    program = build("escape/path_traverse.c")
    native = attack(program, s.pubd, s.work, policy_text=None, scene=s)
    traced = attack(program, s.pubd, s.work,
                    policy_text=policy(never("fsread", path=f"{s.secd}/**")), scene=s)
    assert native.verdict == traced.verdict == "ESCAPED" and native.detail == traced.detail, \
        (native, traced)


def test_a_walk_that_fails_at_its_start_gets_the_kernels_errno(build, tmp_path):
    """What a lookup passes through is read only where it has a start: from a closed dirfd
    (EBADF) or one that is no directory (ENOTDIR) the call gets the kernel's errno -- the
    first version of the traversal check ended the tracer there (and with it the tree)."""
    s = Scene.make(tmp_path)
    program = build("escape/path_traverse.c")
    native = attack(program, "baddirfd", policy_text=None, scene=s)
    traced = attack(program, "baddirfd",
                    policy_text=policy(never("fsread", path=f"{s.secd}/**")), scene=s)
    assert native.detail == traced.detail == \
        "closed dirfd: EBADF, dirfd no directory: ENOTDIR", (native, traced)


def test_scoped_openat2_lookups(build, tmp_path):
    """openat2's RESOLVE_IN_ROOT ("/" and absolute symlinks start at the dirfd, ".." stops
    there) and RESOLVE_BENEATH spellings of the secret: refused by the rule on the file they
    reach (EACCES, the rule's errno -- not a refusal of the flags)."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/path_scoped.c"),
                                       lambda s: [s.secret, s.work], secret_rule)
    assert traced.detail.count("EACCES") == 7, traced.detail


def test_scoped_openat2_lookups_open_a_permitted_file(build, tmp_path):
    """The same scoped spellings aimed at the decoy all open it under systrace: the
    refusals above are the rule's, not lookups the engine breaks."""
    s = Scene.make(tmp_path)
    out = attack(build("escape/path_scoped.c"), s.decoy, s.work, policy_text=secret_rule(s),
                 scene=s)
    assert out.verdict == "BLOCKED", out
    assert out.detail.count("opened") == 7, out.detail
    assert not re.findall(r"([^;]*): (E[A-Z0-9]+)", out.detail), out


# --- the tracer's credentials as an oracle (red team 3 of issue 11) --------------------------

@pytest.mark.parametrize("mode", ["errno", "link"])
def test_a_program_of_another_user_cannot_tell_what_a_directory_it_may_not_search_holds(
        build, world_tmp, mode):
    """Run as another user (-c), a program looks into a directory only root may search:
    ``errno``: it stats DIR/file/x and DIR/missing/x -- natively both EACCES; traced, the
    tracer's own lookup (as root) answered ENOTDIR for the file, which tells the program the
    file is there; ``link``: with a second thread alive it opens DIR/link, a symlink to a file
    it may read -- natively EACCES; traced, the tracer followed the link and handed the kernel
    the target's name.  Control: with search permission (as root) both work."""
    program = build("escape/path_oracle.c")
    s = Scene.make(world_tmp)
    hidden = s.root / "hidden"
    hidden.mkdir(mode=0o700)
    (hidden / "present").write_text("x\n")
    (hidden / "link").symlink_to(s.decoy)
    shutil.copy(program, s.root / "path_oracle")
    program = s.root / "path_oracle"
    args = [hidden, "present", "absent"] if mode == "errno" else ["link", hidden / "link"]
    require_real(attack(program, *args, policy_text=None, scene=s))
    native = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                             "--clear-groups", str(program), *map(str, args)],
                            capture_output=True, text=True, check=True)
    assert "BLOCKED" in native.stdout and "EACCES" in native.stdout, native
    traced = attack(program, *args, scene=s, options=["-c", "65534:65534"],
                    policy_text=policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")))
    assert_blocked(traced)

# --- a directory the task may not search (issue 11: the task's credentials, not the tracer's) --

def _search_program(build, world_tmp):
    """path_search.c, built and copied where every user may run it."""
    program = world_tmp / "path_search"
    shutil.copy(build("escape/path_search.c"), program)
    program.chmod(0o755)
    return program


def _locked_dir(world_tmp):
    """A mode-0700 root directory holding "present" (a directory) and "out" (a link to ..):
    what path_search.c probes."""
    secret = world_tmp / "locked"
    (secret / "present").mkdir(parents=True)
    (secret / "out").symlink_to("..")
    secret.chmod(0o700)
    return secret


def _probes(outcome) -> list[str]:
    return [line for line in outcome.stdout.splitlines() if line.startswith("probe ")]


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a task that drops to nobody")
@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_names_in_a_directory_the_task_may_not_search_stay_hidden(build, world_tmp, loop, tasks):
    """A program run as root by a root tracer looks through a mode-0700 directory (the tracer
    reads its credentials: root's), drops to nobody (setgroups, setgid, setuid) and probes
    "DIR/present/..", "DIR/absent/..", "DIR/.", "DIR/..", a symlink in DIR pointing out...
    Natively every probe is EACCES (the kernel checks search permission on DIR before it looks
    up a name there).  Traced in a tree of several tasks the calls are handed to the kernel by
    their canonical spelling, whose lookup does not look in DIR: they succeeded, and
    "absent/.." answered ENOENT where "present/.." passed -- which names DIR holds.  Traced
    now, each probe answers as natively.  The control: as root the same probes tell present
    from absent (the oracle is real where DIR may be searched)."""
    program = _search_program(build, world_tmp)
    secret = _locked_dir(world_tmp)
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    control = attack(program, secret, policy_text=None, scene=None, env=env)
    assert control.verdict == "ESCAPED", control  # as root: present and absent told apart
    drop = (secret, user.pw_uid, user.pw_gid)
    native = attack(program, *drop, policy_text=None, scene=None, env=env)
    assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
    traced = attack(program, *drop, scene=None, env=env,
                    policy_text=policy(never("fsread", path="/nonexistent-systrace/**")))
    assert traced.verdict == "BLOCKED", traced
    assert _probes(traced) == _probes(native) and len(_probes(native)) == 30, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a set-user-ID-root program")
def test_credentials_are_read_again_at_exec(build, world_tmp, loop):
    """The same program drops to nobody, looks through DIR (EACCES: the tracer now knows it
    as nobody), then execs a set-user-ID-root copy of itself, which probes DIR as root: it may
    search it, natively and traced alike (a tracer that kept nobody's credentials past the
    exec refused every probe with EACCES)."""
    program = _search_program(build, world_tmp)
    setid = world_tmp / "path_search_setid"
    shutil.copy(program, setid)
    setid.chmod(0o4755)
    secret = _locked_dir(world_tmp)
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    args = (secret, user.pw_uid, user.pw_gid, setid)
    env = {**loop, "ESC_THREAD": "1"}
    native = attack(program, *args, policy_text=None, scene=None, env=env)
    if native.verdict == "SKIPPED" or "EACCES" in native.detail:
        pytest.skip(f"set-user-ID programs do not run as root here:\n{native}")
    assert native.verdict == "ESCAPED" and "as nobody: EACCES" in native.stdout, native
    traced = attack(program, *args, scene=None, env=env,
                    policy_text=policy(never("fsread", path="/nonexistent-systrace/**")))
    assert _probes(traced) == _probes(native) and len(_probes(native)) == 30, (native, traced)
    assert "as nobody: EACCES" in traced.stdout, traced


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a directory owned by another user")
def test_names_stay_hidden_from_a_task_in_a_user_namespace_of_its_own(build, world_tmp, loop):
    """Red team 4: a root program moves into a user namespace of its own (unshare, no id
    mapped), forks, and the child probes a mode-0700 directory owned by nobody.  It is still
    uid 0, but its capabilities hold only over inodes whose owner is mapped into its
    namespace: natively every probe is EACCES.  The tracer read no credentials for a task in
    another namespace and walked with its own: "DIR/present/..", "DIR/..", a symlink out of
    DIR passed, "absent/.." answered ENOENT (14 probes told which names DIR holds, both
    loops).  Control: the same directory owned by root, which the task searches as its
    owner -- the probes tell present from absent natively."""
    program = _search_program(build, world_tmp)
    secret = _locked_dir(world_tmp)
    control = attack(program, secret, "userns", policy_text=None, scene=None, env=loop)
    require_real(control)  # owned by root: searched as its owner in the namespace too
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(secret, user.pw_uid, user.pw_gid)
    native = attack(program, secret, "userns", policy_text=None, scene=None, env=loop)
    assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
    traced = attack(program, secret, "userns", scene=None, env=loop,
                    policy_text=policy(never("fsread", path="/nonexistent-systrace/**")))
    assert traced.verdict == "BLOCKED", traced
    assert _probes(traced) == _probes(native) and len(_probes(native)) == 30, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a directory owned by another user")
def test_a_user_namespace_mapped_later_searches_what_its_maps_grant(build, world_tmp, loop):
    """The child makes a user namespace, looks through the nobody-owned 0700 directory
    (EACCES: nothing is mapped; the tracer reads its credentials), then its parent, outside,
    maps every id into it: its capabilities now hold over the directory, and natively its
    probes pass as root's do (present told from absent).  Traced the same, in both loops (a
    tracer that kept the credentials it read before the maps refused 26 of the 30)."""
    program = _search_program(build, world_tmp)
    secret = _locked_dir(world_tmp)
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    os.chown(secret, user.pw_uid, user.pw_gid)
    native = attack(program, secret, "userns-map", policy_text=None, scene=None, env=loop)
    require_real(native)
    assert "unmapped: EACCES" in native.stdout, native
    traced = attack(program, secret, "userns-map", scene=None, env=loop,
                    policy_text=policy(never("fsread", path="/nonexistent-systrace/**")))
    assert "unmapped: EACCES" in traced.stdout, traced
    assert _probes(traced) == _probes(native) and len(_probes(native)) == 30, (native, traced)


@pytest.mark.skipif(os.geteuid() != 0, reason="a root tracer, a task that drops to nobody")
@pytest.mark.parametrize("tasks", ["single", "threads"])
@pytest.mark.parametrize("start", ["root", "cwd"])
@pytest.mark.parametrize("rule", ["**", "*"])
def test_a_refusal_tells_no_name_in_a_directory_the_task_may_not_search(
        build, world_tmp, loop, tasks, start, rule):
    """Red team 4: the same probes after the drop to nobody, under a rule that refuses reading
    DIR/** with EPERM.  A refusal of a path that does not exist answers ENOENT (as a lookup
    would): "DIR/absent" answered ENOENT where "DIR/present" got the rule's EPERM -- which
    names DIR holds, told to a task whose own lookup fails in DIR (natively EACCES both).
    Now the task's search permission is checked on a missing path too: present and absent
    are answered alike.  ``cwd``: the probes spelt from the task's cwd, DIR itself ("./present/..",
    "./absent/.."): what the lookup passes through was named with the tracer's search
    permission, so "present/.." passed through DIR/present, which the rule refuses (EPERM),
    where "absent/.." passed nothing (EACCES).  ``*``: a rule on DIR's entries, not DIR: the
    refusal of "DIR/present" (the rule's EPERM, decided natively or in Python) against
    "DIR/absent" (EACCES) told them apart too -- every spelling of such a task is walked
    with its credentials now, and the native loop hands its refusals to Python.  Control:
    natively every probe is EACCES."""
    program = _search_program(build, world_tmp)
    secret = _locked_dir(world_tmp)
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    env = {**loop, **({"ESC_THREAD": "1"} if tasks == "threads" else {})}
    drop = (secret if start == "root" else ".", user.pw_uid, user.pw_gid)
    native = attack(program, *drop, policy_text=None, scene=None, env=env, cwd=secret)
    assert native.verdict == "BLOCKED" and "EACCES" in native.detail, native
    traced = attack(program, *drop, scene=None, env=env, cwd=secret, policy_text=policy(
        never("fsread", errno="EPERM", path=f"{secret}/{rule}")))
    assert traced.verdict == "BLOCKED", traced
    assert len(_probes(traced)) == 30, traced


def _with_core_limit() -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def test_a_rule_refusing_the_limit_calls_grants_no_core_dump(build, tmp_path, loop):
    """Red team 4: a run started with a core limit, under a policy that refuses writes in the
    program's cwd and refuses setrlimit and prlimit64 by name.  Naming them lifted the guard
    that keeps core dumps off (Lift.CORE, meant for a policy that grants the calls): the
    program kept the limit it was started with, crashed, and the kernel wrote its core file
    -- memory of its choosing -- in the directory the policy refuses writes to.  Control:
    natively the same crash leaves the file there."""
    with open("/proc/sys/kernel/core_pattern", encoding="ascii") as found:
        pattern = found.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core files are not written in the cwd here ({pattern!r})")
    program = build("escape/core_dump.c")
    guarded = tmp_path / "guarded"
    guarded.mkdir()
    guarded.chmod(0o777)

    def dumped(command: list[str]) -> list[str]:
        for old in guarded.iterdir():
            old.unlink()
        subprocess.run(command, cwd=guarded, env={**os.environ, **loop},
                       preexec_fn=_with_core_limit, capture_output=True, timeout=60,
                       check=False)
        return sorted(p.name for p in guarded.iterdir())

    if not dumped([str(program)]):
        pytest.skip("no core file natively (the kernel dumps none here)")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy(
        never(["fswrite"], path=f"{guarded}/**"),
        'calls = ["setrlimit", "prlimit64"]\naction = "never"\nerrno = "EPERM"'))
    assert dumped([*SYSTRACE, "-p", str(policy_file), "--", str(program)]) == []


@pytest.mark.parametrize("mode", ["fstat", "fchdir"])
def test_open_tree_is_an_o_path_open(build, tmp_path, mode):
    """Red team 13: open_tree(2) without OPEN_TREE_CLONE gives an O_PATH descriptor of the file
    (an O_PATH open counts as a read), but it was decided as a namespace call only: fstat of
    that descriptor told the size, times and owner of a file fsread refuses, fchdir entered a
    directory a chdir to is refused.  Now decided as fsread (metadata) too."""
    controlled_and_blocked(tmp_path, build("escape/path_open_tree.c"),
                           lambda s: [mode, s.secret], lambda s: read_never(f"{s.secd}/**"))
