"""Class 10: new views of the file system -- a mount namespace of the program's own (through a
user namespace, or as root), a mount that shows the secret's directory under another name
(bind, move, open_tree + move_mount, an overlay's lower layer, through mount(2) and the new
mount API), a child made in new namespaces by clone(2), a new root (chroot, pivot_root), a
procfs of a new pid namespace; and a mount that covers a protected file in the tracer's own
namespace.  Each is checked, not refused: the harmless uses of the same calls run as
natively (``test_*_work_as_natively``) under a policy with a path rule elsewhere."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    policy,
    read_never,
    require_real,
    scene_env,
)

from conftest import PYTHON

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root")

#: attacks ns_mount makes, and how it gets the right to mount: "user" through a user
#: namespace (as an unprivileged program would), "root" as root in a mount namespace
ATTACKS = [(mode, how) for mode in ("bind", "rbind", "tree", "overlay", "overlay2", "pivot",
                                    "procfs", "chroot", "memfile") for how in ("user", "root")]


@pytest.mark.parametrize(("mode", "how"), ATTACKS, ids=[f"{m}-{h}" for m, h in ATTACKS])
def test_a_new_view_does_not_show_the_secret(build, tmp_path, mode, how):
    traced, _ = controlled_and_blocked(tmp_path, build("escape/ns_mount.c"),
                                       lambda s: [mode, how, s.secd, s.work],
                                       lambda s: read_never(s.secret))
    # the rule's errno (decided, not broken); the engine's own EPERM for a /proc file
    assert ("EPERM" if mode == "memfile" else "EACCES") in traced.detail, traced


@pytest.mark.parametrize("call", ["clone", "clone3"])
def test_a_child_in_new_user_and_mount_namespaces_does_not_show_the_secret(build, tmp_path,
                                                                           call):
    """clone(2)'s namespace flags are in a register, clone3's in its struct: the child they
    make is followed like one that called unshare -- its bind of the secret's directory is
    decided as one."""
    traced, _ = controlled_and_blocked(tmp_path, build("escape/ns_mount.c"),
                                       lambda s: [call, "user", s.secd, s.work],
                                       lambda s: read_never(s.secret))
    assert "EACCES" in traced.detail, traced


def _in_private_mounts(secd: Path, *command: str | Path) -> list[str]:
    """A command run in a mount namespace of its own where the secret's directory is a
    mount point (bound on itself): the scene a move needs, made outside the traced tree."""
    script = 'mount --make-rprivate / && mount --bind "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, str(secd), *map(str, command)]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_moving_the_secrets_mount_does_not_show_it(build, tmp_path):
    program = build("escape/ns_mount.c")
    for name, traced in (("control", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        if traced:
            text = read_never(s.secret)
            out = attack(program, "move", "root", s.secd, s.work, policy_text=text, scene=s,
                         tracer=_in_private_mounts(s.secd, *SYSTRACE))
            assert_blocked(out)
            assert "EACCES" in out.detail, out
        else:
            run = subprocess.run(_in_private_mounts(s.secd, program, "move", "root", s.secd,
                                                    s.work),
                                 capture_output=True, text=True, timeout=30, cwd=s.root)
            assert "ESCAPED" in run.stdout, run


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_covering_a_protected_file_in_the_tracers_namespace_is_refused(build, tmp_path):
    """A root program binding a file of its own over a file a rule forbids it to write, in
    the tracer's own mount namespace, replaces what every other process reads there: decided
    as a write of it.  (Run in a mount namespace of the test's own: that is the tracer's.)"""
    program = build("escape/ns_mount.c")
    for name, traced in (("control", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        command = ["unshare", "--mount", "sh", "-c", 'mount --make-rprivate / && exec "$@"',
                   "sh"]
        if traced:
            text = policy(never("fswrite", path=f"{s.secd}/**"))
            out = attack(program, "cover", "here", s.secd, s.work, policy_text=text, scene=s,
                         tracer=[*command, *SYSTRACE])
            assert_blocked(out)
            assert "EACCES" in out.detail, out
        else:
            run = subprocess.run([*command, str(program), "cover", "here", str(s.secd),
                                  str(s.work)], capture_output=True, text=True, timeout=30,
                                 cwd=s.root)
            assert "ESCAPED" in run.stdout, run


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_a_mount_over_the_tracers_proc_is_refused(build, tmp_path):
    """The tracer reads /proc for every decision (a descriptor's file, a task's root and
    cwd): a program that mounts a directory of its own over /proc/self/fd, in the tracer's
    mount namespace, would choose what the tracer believes its descriptors are."""
    program = build("escape/ns_mount.c")
    command = ["unshare", "--mount", "sh", "-c", 'mount --make-rprivate / && exec "$@"', "sh"]
    for name, traced in (("control", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        if traced:
            out = attack(program, "procfd", "here", s.secd, s.work, scene=s,
                         policy_text=read_never(s.secret), tracer=[*command, *SYSTRACE])
            assert_blocked(out)
            assert "EPERM" in out.detail, out  # the mount, refused
        else:
            run = subprocess.run([*command, str(program), "procfd", "here", str(s.secd),
                                  str(s.work)], capture_output=True, text=True, timeout=30,
                                 cwd=s.root)
            assert "ESCAPED" in run.stdout, run


# --- parity: the harmless uses ------------------------------------------------------------------
PARITY = [(mode, how, thread) for mode in ("tmpfs", "bind", "api", "pivot", "flags", "chroot")
          for how in ("user", "root") for thread in (False, True)
          if not (thread and how == "user")]  # (unshare of a user namespace: a single thread)
# children in new user and mount namespaces, by clone and clone3 (a thread alive or not)
PARITY += [("children", "user", False), ("children", "user", True)]


@pytest.mark.parametrize(("mode", "how", "thread"), PARITY,
                         ids=[f"{m}-{h}{'-threads' if t else ''}" for m, h, t in PARITY])
def test_namespaces_mounts_and_chroot_work_as_natively(build, tmp_path, mode, how, thread):
    """Under a permit-default policy with a path rule elsewhere, every step gives what it
    gives natively: with one task, and with a second thread alive (everything held, the
    calls that resolve again run with the tree frozen)."""
    program = build("escape/ns_parity.c")
    hello = build("escape/hello.c", "-static")
    outputs = []
    for name, traced in (("native", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        (s.work / "src").mkdir()
        (s.work / "src" / "file").write_text("from src\n")
        shutil.copy(hello, s.work / "hello")
        text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")) if traced else None
        out = attack(program, mode, how, s.work, "/hello", policy_text=text, scene=s,
                     env={"ESC_THREAD": "1"} if thread else None)
        assert out.stdout.rstrip().endswith("done") or mode == "chroot", out
        outputs.append(out.stdout.replace(str(s.root), "SCENE"))
    native, traced_out = outputs
    assert "EPERM" not in native, native  # (the steps work here)
    assert traced_out == native


def test_a_rule_on_unshare_decides_the_namespaces_of_clone_and_clone3_too(build, tmp_path):
    """clone(2) and clone3(2) make the namespaces unshare makes: a rule that refuses unshare
    refuses a child made in new namespaces too, whichever call made it (an ordinary child
    still runs)."""
    s = Scene.make(tmp_path)
    program = build("escape/ns_parity.c")
    native = attack(program, "flags", "root", s.work, policy_text=None, scene=s)
    assert "EPERM" not in native.stdout and "clone3 time: ok" in native.stdout, native
    out = attack(program, "flags", "root", s.work, scene=s,
                 policy_text=policy(never("unshare", "EPERM")))
    lines = [line for line in out.stdout.splitlines() if line.startswith(("unshare", "clone"))]
    # seven namespaces: unshare and clone3 each ask for all seven, clone for all but time
    assert len(lines) == 20 and all(line.endswith(": EPERM") for line in lines), out
    assert sum(line.startswith("clone3 ") for line in lines) == 7, out
    assert out.stdout.rstrip().endswith("done"), out


#: Run in a pid namespace of the test's own: a watcher (outside the traced tree, SIGUSR1
#: blocked) is started, then the command; then the watcher says whether a SIGUSR1 reached it.
_WATCHED = "\n".join([
    "import subprocess, sys",
    "watcher = subprocess.Popen([sys.executable, '-c', WATCHER], stdin=subprocess.PIPE,",
    "                           stdout=subprocess.PIPE, text=True)",
    "watcher.stdout.readline()",
    "run = subprocess.run(sys.argv[1:], capture_output=True, text=True)",
    "print(run.stdout, end='')",
    "print(watcher.communicate('go')[0], end='')",
])
_WATCHER = "\n".join([
    "import signal, sys",
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})",
    "print('ready', flush=True)",
    "sys.stdin.read()",
    "print('got SIGUSR1' if signal.SIGUSR1 in signal.sigpending() else 'no signal')",
])


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_a_signal_to_every_process_of_a_new_pid_namespace_stays_there(build, tmp_path):
    """kill(-1) from pid 1 of a new pid namespace reaches no other process (ESRCH); the
    tracer, which takes over the group signals that would end it, must neither send it to
    every process of its own namespace nor answer otherwise than the kernel."""
    program = build("escape/ns_signal.c")
    s = Scene.make(tmp_path)
    policy_file = s.root / "policy.toml"
    policy_file.write_text(policy())
    code = f"WATCHER = {_WATCHER!r}\n{_WATCHED}"
    outputs = []
    for traced in (False, True):
        command = ([*SYSTRACE, "-p", str(policy_file), "--"] if traced else []) + [
            str(program), str(int(signal.SIGUSR1))]
        run = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", PYTHON, "-c",
                              code, *command], capture_output=True, text=True,
                             timeout=60, cwd=s.root, env=scene_env(s))
        assert "kill(-1, 10)" in run.stdout and "no signal" in run.stdout, run
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]  # ESRCH, as natively


def test_setns_stays_refused_unless_named(build, tmp_path):
    """Joining a namespace made outside the tree changes what paths mean in a way the engine
    cannot check at the call: refused under a permissive default, run when a rule names it."""
    s = Scene.make(tmp_path)
    program = build("escape/ns_mount.c")
    require_real(attack(program, "setns", "here", s.secd, s.work, policy_text=None, scene=s))
    refused = attack(program, "setns", "here", s.secd, s.work, policy_text=policy(), scene=s)
    assert refused.verdict == "BLOCKED" and "EPERM" in refused.detail, refused
    named = attack(program, "setns", "here", s.secd, s.work,
                   policy_text=policy('calls = ["setns"]\naction = "permit"'), scene=s)
    assert named.verdict == "ESCAPED", named


# --- a program's table claimed by a mount at its name (red team 3 of issue 11) ----------------

def _program_table(program: Path, s: Scene) -> str:
    """The read attacks' policy, and a table of its own for ``program`` that may read the
    secret (as a learned policy per program gives one program what another has not)."""
    return (policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))
            + f'\n[program."{program}"]\ndefault = "permit"\n')


@pytest.mark.parametrize("how", ["user", "root"])
def test_a_program_mounted_over_another_does_not_take_its_table(build, tmp_path, how):
    """At exec a process takes the table of the program it runs, named -- for a task in a
    mount namespace the tree made -- by that namespace's names.  A program refused the secret
    bound itself over a program whose table permits it (``user``: in a user namespace, as any
    user can) and exec'd that name: it ran under the program's table.  Now an exec into
    another table by a name that, in systrace's view, names another file is refused (EPERM).
    Escaped before."""
    hello = build("escape/hello.c")
    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/ns_program.c"), lambda s: ["bind", how, hello, s.secret],
        lambda s: _program_table(hello, s))
    assert "EPERM" in traced.detail, traced


def test_a_program_run_by_its_own_name_in_a_new_namespace_takes_its_table(build, tmp_path):
    """Parity: the program itself, exec'd in a mount namespace of the tree's own, runs (under
    its table), as natively; and its table does permit the secret (so the refusal above is
    the check's, not the table's)."""
    hello, program = build("escape/hello.c"), build("escape/ns_program.c")
    s = Scene.make(tmp_path)
    for how in ("user", "root"):
        native = attack(program, "same", how, hello, s.secret, policy_text=None, scene=s)
        require_real(native)
        traced = attack(program, "same", how, hello, s.secret, scene=s,
                        policy_text=_program_table(hello, s))
        assert traced.verdict == "ESCAPED" and "ran in the new namespaces" in traced.detail, \
            traced
    as_table = attack(program, "read", s.secret, scene=s, policy_text=_program_table(program, s))
    assert as_table.verdict == "ESCAPED", as_table


NOBODY = "65534:65534"


def _by_base_name(s: Scene, name: str) -> tuple[str, list[str]]:
    """The read attacks' policy, and a policy directory whose ``NAME.toml`` (a file found by
    the program's base name) may read the secret."""
    directory = s.root / "policies"
    directory.mkdir()
    (directory / f"{name}.toml").write_text('default = "permit"\n')
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")), ["-d", str(directory)]


def test_a_table_found_by_base_name_is_not_any_programs_of_that_name(build, world_tmp):
    """A policy directory's ``NAME.toml`` is the table of a program called NAME wherever it
    is (docs/policy.md, "The policy directory"): a program refused the secret, running as an
    ordinary user, copied itself to ``reader`` in a directory it may write and exec'd the
    copy, which took reader.toml's table and read the secret.  Now a table is found by base
    name only for a file only root may change, in a directory only root may change.  The
    control copies and reads natively.  Escaped before."""
    program = build("escape/ns_program.c")
    c = Scene.make(world_tmp, "control")
    require_real(attack(program, "copy", c.work, "reader", c.secret, policy_text=None, scene=c))
    s = Scene.make(world_tmp, "traced")
    s.work.chmod(0o777)
    text, directory = _by_base_name(s, "reader")
    program = Path(shutil.copy(program, s.root / "ns_program"))  # (where nobody reaches it)
    traced = attack(program, "copy", s.work, "reader", s.secret, policy_text=text, scene=s,
                    options=["-c", NOBODY, *directory])
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


def test_a_root_owned_program_takes_the_table_of_its_base_name(build, world_tmp):
    """Parity: a program only root may change, in a directory only root may change, takes
    its ``NAME.toml`` table as before -- which may read the secret (so the refusal above is
    the check's, not the table's)."""
    s = Scene.make(world_tmp)
    bin_dir = s.root / "bin"
    bin_dir.mkdir(mode=0o755)
    reader = bin_dir / "reader"
    shutil.copy(build("escape/ns_program.c"), reader)
    reader.chmod(0o755)
    text, directory = _by_base_name(s, "reader")
    traced = attack(reader, "read", s.secret, policy_text=text, scene=s,
                    options=["-c", NOBODY, *directory])
    assert traced.verdict == "ESCAPED", traced


@pytest.mark.parametrize("how", ["user", "root"])
def test_pivot_root_dot_dot_works_as_natively(build, tmp_path, how):
    """runc's and crun's pivot_root(".", ".") then umount2(".", MNT_DETACH) in a mount
    namespace of the program's own, under a permit-default policy with a path rule
    elsewhere: natively every step works.  (Red team 41's parity gap, closed: the tracer's
    descriptor on "." is the new root, the mount under the old one; umount2 acts on the top
    of the stack, whose parent -- the new root -- is private: ``_top_of_stack``.)"""
    program = build("escape/ns_parity.c")
    outputs = []
    for name, traced in (("native", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        text = policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")) if traced else None
        out = attack(program, "pivotdot", how, s.work, policy_text=text, scene=s)
        outputs.append(out.stdout.replace(str(s.root), "SCENE"))
    native, traced_out = outputs
    assert "EPERM" not in native and native.rstrip().endswith("done"), native
    assert traced_out == native
