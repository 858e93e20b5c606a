"""Red team 44: an outsider at file systems whose answers change, and at actors outside the
tree (issue 11; docs/security.md, "Red team 44").

A FUSE server sees the pid of every lookup it answers: fs_fuse_server.c (outside the traced
tree, as a user's FUSE mount is) tells the tracer's resolver that ``d`` is an empty directory
and the kernel, looking the same name up for the program, that ``d`` is a symlink to the
secret's directory.  Nothing is renamed and nothing races, so neither the tree of one task
(whose calls ran on their own spelling) nor the freeze and re-check of a call the kernel
resolves again (the server is no task of the tree: it answers the re-check as the check)
held: on main the program read the secret by ``open`` in a tree of one task, and made a hard
link of it (``link``, ``rename``) or changed its mode (``chmod``) in a tree of one task and
of two, in both loops, and so did an open of a program under a seccomp filter of its own,
and a connect to a unix socket a rule refuses.  A
held open (a tree of two tasks) already failed ELOOP.  Now a path below a file system a
process answers is held whatever the tree (an open follows no symlink: ELOOP), and a call the
kernel resolves again there -- any call, under a filter of the program's own -- is refused
(EACCES) where a rule decides by name (engine/answered.py, Tracer._answered_refusal)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from escape_lib import (
    PYTHON,
    SECRET_MAGIC,
    SYSTRACE,
    Outcome,
    Scene,
    UnixListener,
    assert_blocked,
    attack,
    listening,
    never,
    outsider,
    permit,
    pids_running,
    policy,
    require_real,
)

from conftest import own_mount_namespace

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mounting a FUSE file system needs root and /dev/fuse")


@pytest.fixture
def enter() -> Iterator[list[str]]:
    """A command prefix that runs in a mount namespace of the test's own: the FUSE mount, its
    server, the control and systrace all live there (conftest.own_mount_namespace)."""
    with own_mount_namespace() as prefix:
        yield prefix


def attack_in(enter: list[str], binary: Path | str, *args: object, policy_text: str | None,
              **kw: Any) -> Outcome:
    """escape_lib.attack, the control or systrace started in ``enter``'s namespace."""
    if policy_text is None:
        return attack(enter[0], *enter[1:], binary, *args, policy_text=None, **kw)
    return attack(binary, *args, policy_text=policy_text, tracer=[*enter, *SYSTRACE], **kw)


@contextlib.contextmanager
def fuse_mount(enter: list[str], server: Path, scene: Scene, comm: str,
               at: str = "mnt", target: Path | str | None = None) -> Iterator[Path]:
    """fs_fuse_server mounted at scene/``at`` in ``enter``'s namespace, outside the traced
    tree: "d" is a symlink to ``target`` (the secret's directory unless given) for a task
    named ``comm``, an empty directory for anyone else."""
    mnt = scene.root / at
    mnt.mkdir(parents=True)
    with outsider([*enter, server, mnt, scene.secd if target is None else target, comm]) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.startswith("SKIPPED"):
            pytest.skip(line.strip())
        assert line.strip() == "ready", line
        try:
            yield mnt
        finally:
            subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True,
                           check=False)


def secret_policy(scene: Scene) -> str:
    return policy(never(["fsread", "fswrite"], path=f"{scene.secd}/**"))


MODES = ["open", "topen", "link", "tlink", "rename", "chmod", "fopen", "ftopen"]


@pytest.mark.parametrize("mode", MODES)
def test_a_fuse_server_answering_the_program_otherwise_than_the_tracer(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], mode: str) -> None:
    """fs_fuse.c: MNT/d/secret.txt is a missing file below the mount to the tracer and the
    secret to the kernel's lookup for the program.  open (one task), link, rename and chmod
    (one task and two), and fopen and ftopen (a program under a seccomp filter of its own,
    whose held opens keep their own call) escaped on main in both loops; topen (held:
    openat2 with RESOLVE_NO_SYMLINKS) was ELOOP already.  Control: natively each reaches the
    secret."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, program.name) as mnt:
            env = {**loop, "ESC_SECD": str(scene.secd)}
            outcome = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=env,
                             policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)
            assert (scene.secret.stat().st_mode & 0o7777) != 0o604
            assert not (scene.work / "stolen").exists()


def test_a_unix_socket_reached_through_a_fuse_servers_second_answer(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str]) -> None:
    """fs_fuse.c connect: MNT/d/sock is a missing name to the tracer and, to the kernel's
    lookup for the program, the socket a listener outside the tree has in the secret's
    directory, which a ``unix`` rule refuses.  On main the program connected, both loops;
    now the socket path of an address counts as a path on the FUSE mount (refused EACCES).
    Control: natively it connects."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        text = policy(never(["fsread", "fswrite"], path=f"{scene.secd}/**"),
                      never("net-connect", unix=f"{scene.secd}/**")) if traced else None
        with fuse_mount(enter, server, scene, program.name) as mnt, \
                listening(UnixListener(str(scene.secd / "sock"))):
            outcome = attack_in(enter, program, "connect", mnt, scene.work, scene=scene, env=loop,
                             policy_text=text)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)


def test_a_fuse_file_system_that_answers_alike_is_used_as_natively(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str]) -> None:
    """The same server answering every reader alike ("d" an empty directory for all): a held
    open of a missing name below it gets the kernel's ENOENT, and a listing of the mount is
    the native one, in a tree of one task and of two (under a rule on writes only: one
    refusing fsread by name refuses ls's stat there, review 24)."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    respell = build("escape/fs_fuse_respell.c")
    results = []
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, "no-such-comm") as mnt:
            text = secret_policy(scene) if traced else None
            for mode in ("open", "topen"):
                out = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=loop,
                             policy_text=text).stdout
                results.append((traced, out.replace(str(scene.root), "ROOT")))
            # (an open kept in its own spelling, fuse47: the kernel's ENOENT at the missing
            # directory, with RESOLVE_NO_SYMLINKS too)
            for mode in ("dot", "tdotdot"):
                out = attack_in(enter, respell, mode, mnt, scene.work, scene=scene,
                                env={**loop, "ESC_SECD": str(scene.secd)},
                                policy_text=text).stdout
                results.append((traced, out.replace(str(scene.root), "ROOT")))
            # (a rule refusing fsread by name refuses a stat there: review 24's
            # test_a_read_of_the_secrets_attributes_through_a_fuse_servers_second_answer)
            ls = attack_in(enter, "/bin/ls", "-1a", mnt, mnt / "d", scene=scene, env=loop,
                        policy_text=policy(never("fswrite", path=f"{scene.secd}/**"))
                        if traced else None)
            results.append((traced, ls.stdout.replace(str(scene.root), "ROOT")))
    native = [out for traced, out in results if not traced]
    under = [out for traced, out in results if traced]
    assert native == under
    assert all("ENOENT" in out for out in native[:4]), native


def test_a_fuse_type_the_policy_trusts_is_used_as_natively(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str]) -> None:
    """``trusted_filesystems`` lifts the FUSE refusals for the types it names (the user
    trusts that server to answer every process alike, as sshfs does: it does not see who
    asks): under a policy refusing reads of the secret's directory by name, ``ls -1aF`` of the
    mount (-F: a stat of each entry) is refused without the key, EACCES, and lists as natively with
    ``trusted_filesystems = ["fuse"]`` -- and so does the attack, the user's choice."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    listings = []
    for text in (None, "refusing", "trusting"):
        scene = Scene.make(tmp_path, text or "control")
        with fuse_mount(enter, server, scene, program.name) as mnt:
            rules = secret_policy(scene)
            policy_text = None if text is None else \
                ('trusted_filesystems = ["fuse"]\n' + rules if text == "trusting" else rules)
            ls = attack_in(enter, "/bin/ls", "-1aF", mnt, scene=scene, env=loop,
                           policy_text=policy_text)
            listings.append((ls.returncode, ls.stdout.replace(str(scene.root), "ROOT")
                             .replace(scene.root.name, "SCENE")))
            if text == "trusting":
                escaped = attack_in(enter, program, "open", mnt, scene.work, scene=scene,
                                    env=loop, policy_text=policy_text)
                assert escaped.verdict == "ESCAPED", escaped
    native, refused, trusted = listings
    assert native[0] == 0 and refused[0] != 0, listings
    assert trusted == native, listings


@pytest.mark.parametrize("mode", ["open", "link", "tlink"])
def test_a_fuse_mount_named_otherwise_in_a_mount_namespace_of_the_programs_own(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], mode: str) -> None:
    """fs_fuse_ns.c (review 24): the program makes a mount namespace of its own and binds (or
    moves) the FUSE mount at WORK/alt there, then opens or links WORK/alt/d/secret.txt.  The
    tracer's /proc/self/mountinfo has no FUSE mount at WORK/alt: on main the call was taken on
    the tracer's answer (a missing file) and reached the secret, both loops.  Control:
    natively each reaches the secret."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse_ns.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, program.name, at="box/mnt") as mnt:
            outcome = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=loop,
                                policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)
            assert not (scene.work / "stolen").exists()


@pytest.mark.parametrize("mode", ["open", "link", "tlink"])
def test_a_walk_that_climbs_out_of_a_fuse_mount(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], mode: str) -> None:
    """fs_fuse_climb.c (review 24): MNT/d/../../SECD/secret.txt, "d" a directory to the tracer
    and a symlink to "/" to the program.  The tracer's walk climbs out of the mount and ends
    on a missing name outside it, below no FUSE mount: on main the call was taken on that
    answer and reached the secret (open in a tree of one task, link in one and two), both
    loops.  Now what a lookup passes through counts: a directory or symlink on the FUSE mount
    on the way holds the call.  Control: natively each reaches the secret."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse_climb.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, program.name, target="/") as mnt:
            env = {**loop, "ESC_SECD": str(scene.secd)}
            outcome = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=env,
                                policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)
            assert not (scene.work / "stolen").exists()


@pytest.mark.parametrize("mode", ["xattr", "stat"])
def test_a_read_of_the_secrets_attributes_through_a_fuse_servers_second_answer(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], mode: str) -> None:
    """fs_fuse.c xattr and stat (review 24): getxattr and stat of MNT/d/secret.txt, a missing
    name to the tracer, are no calls that freeze: held, they are still looked up again by the
    kernel for the program, through the server's symlink -- the secret's extended attribute
    and its metadata, which the rule refusing fsread there covers.  Control: natively each
    reaches the secret's."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        try:
            os.setxattr(scene.secret, "user.secret", b"the-secret-attribute")
        except OSError as exc:
            pytest.skip(f"no user xattrs here: {exc}")
        env = {**loop, "ESC_SECRET_INO": str(scene.secret.stat().st_ino)}
        with fuse_mount(enter, server, scene, program.name) as mnt:
            outcome = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=env,
                                policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)


def test_a_namespace_with_a_fuse_mount_works_as_natively_away_from_it(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str]) -> None:
    """Review 24's check of a task in a mount namespace of its own compares its own names
    with its own namespace's FUSE mounts: a shell in one (unshare -m), the FUSE mount copied
    into it, makes, renames, lists and removes files away from the mount as natively, under
    the secret's rule (a check that took every path there for the mount's would refuse the
    mkdir and the mv: EACCES)."""
    server = build("escape/fs_fuse_server.c")
    script = ("cd \"$1\" && mkdir a && mv a b && touch b/f && ln b/f b/g && ls -1 b "
              "&& rm -r b && echo done")
    results = []
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, "no-such-comm"):
            out = attack_in(enter, "/usr/bin/unshare", "-m", "/bin/sh", "-c", script, "sh",
                            scene.work, scene=scene, env=loop,
                            policy_text=secret_policy(scene) if traced else None)
        results.append((out.returncode, out.stdout))
    assert results[0] == results[1]
    assert results[0][1].split() == ["f", "g", "done"], results


@pytest.mark.parametrize("mode", ["dot", "dotdot", "tdot", "tdotdot", "ldot"])
def test_an_open_kept_in_its_own_spelling_below_a_fuse_mount(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], mode: str) -> None:
    """fs_fuse_respell.c (fuse47, review 24's "Left open"): MNT/d/SECD/./secret.txt and
    MNT/d/SECD/../NAME/secret.txt, "d" an empty directory to the tracer and a symlink to "/"
    to the program.  A missing directory followed by "." or ".." has no absolute spelling
    that does the same (Holder.respelled): the open kept its own spelling and ran without
    RESOLVE_NO_SYMLINKS, the tree frozen and checked again -- and the server answered the
    check again as the first.  On main every mode read the secret, one task and two, both
    loops; ldot, the same reached through a symlink WORK/l to MNT, too.  Now such an open
    below a FUSE mount follows no symlink either where its walk followed none (ELOOP at "d"),
    and is refused where its walk followed one and a rule decides by name (ldot: EACCES).
    Control: natively each reads the secret."""
    server, program = build("escape/fs_fuse_server.c"), build("escape/fs_fuse_respell.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        with fuse_mount(enter, server, scene, program.name, target="/") as mnt:
            env = {**loop, "ESC_SECD": str(scene.secd)}
            outcome = attack_in(enter, program, mode, mnt, scene.work, scene=scene, env=env,
                                policy_text=secret_policy(scene) if traced else None)
        if not traced:
            require_real(outcome)
        else:
            assert_blocked(outcome)


IN_TREE_SERVER = """
S=$1 M=$2 T=$3 C=${4-cat}
"$S" "$M" "$T" "$C" > "$M.out" 2>&1 &
P=$!
while ! grep -q ready "$M.out" 2>/dev/null; do sleep 0.1; done
ls -a "$M/d"; echo "ls=$?"
cat "$M/d/secret.txt"; echo "cat=$?"
kill "$P" 2>/dev/null
echo done
"""


#: systrace run by a library user's second thread (cli.main in a threading.Thread): the
#: tracing thread is not the process's first, and the kernel's TracerPid names the thread
IN_A_THREAD = """
import sys, threading
from systrace_py.cli import main
codes = []
thread = threading.Thread(target=lambda: codes.append(main(sys.argv[1:])))
thread.start()
thread.join()
sys.exit(codes[0] if codes else 1)
"""


@pytest.mark.parametrize("thread", ["first", "second"])
def test_a_fuse_server_in_the_traced_tree_does_not_stop_the_run(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], thread: str) -> None:
    """Red team 44's "What remains" (fuse47): with mount permitted, a shell starts
    fs_fuse_server.c in the traced tree and then lists and reads below its mount.  The
    tracer's own lookup waits for the server, which -- answering it -- opens /proc/PID/comm
    and stops at a seccomp stop the blocked tracer never takes: on main the whole run hung
    (both loops; killed here after 60 s).  Now a tree that mounts a FUSE type has its path
    calls decided in Python and a watch in the tracer: the tracing thread asleep in a FUSE
    request while the server's every thread sits in a ptrace stop, neither running, is a
    deadlock, and the server is killed -- the kernel aborts its connection, the tracer's
    lookup fails, the run goes on (ENOTCONN below the mount), and the secret the server
    would have shown ``cat`` is not read.  (On main, systrace killed at the 60 s timeout
    stayed in the request, uninterruptibly, until the server was killed too: the guard
    kills it at 90 s, so the test fails rather than hangs.)  Control: natively the script
    lists and reads the secret through the server.

    ``second`` (review 29): the run traced from a second thread of the tracer's process (a
    library user's: the watches are kept by thread for it).  The watch found the tree's
    FUSE holders by ``TracerPid`` equal to the tracer's *process* id, but the kernel shows
    the tracing *thread's* id there (fs/proc/array.c: task_pid_nr_ns of the tracer): from
    any thread but the first it found no holder, killed nothing, and the run hung as before
    fuse47 (both loops, on main 21fe4ac).  Now the watch compares the tracing thread's."""
    server = build("escape/fs_fuse_server.c")
    tracer = [*enter, *SYSTRACE] if thread == "first" else [*enter, PYTHON, "-c", IN_A_THREAD]
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        mnt = scene.root / "mnt"
        mnt.mkdir()
        text = policy(permit(["mount", "umount2"]),
                      never(["fsread", "fswrite"], path=f"{scene.secd}/**")) if traced else None
        # (a guard, not a timed assertion: on main the tracer waited in the server's request
        # past SIGKILL -- a request the server has read is waited out, uninterruptibly --
        # so attack's own timeout could not end it; killing the server ends the request)
        guard = threading.Timer(90, lambda: [os.kill(pid, 9) for pid in pids_running(server)])
        guard.start()
        try:
            argv = ("/bin/sh", "-c", IN_TREE_SERVER, "sh", server, mnt, scene.secd)
            out = attack(*argv, scene=scene, env=loop, policy_text=text, timeout=60,
                         tracer=tracer) if traced else \
                attack_in(enter, *argv, scene=scene, env=loop, policy_text=None, timeout=60)
        finally:
            guard.cancel()
        subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True, check=False)
        if not traced:
            if "ready" not in (mnt.parent / "mnt.out").read_text():
                pytest.skip(f"the server did not mount: {(mnt.parent / 'mnt.out').read_text()}")
            assert SECRET_MAGIC in out.stdout and "cat=0" in out.stdout, out
        else:
            assert "done" in out.stdout, out
            assert SECRET_MAGIC not in out.stdout, out
            assert "cat=0" not in out.stdout, out
            assert "a FUSE server of the traced tree" in out.stderr, out




# (the server's fifth argument; and the wait for "ready" ends when the server is gone, a
# zombie or reaped: newapi's is killed in move_mount, before it says "ready")
IN_TREE_SERVER_HELD = IN_TREE_SERVER.replace('"$C" >', '"$C" "$5" >').replace(
    'while ! grep -q ready "$M.out" 2>/dev/null;',
    'while ! grep -q ready "$M.out" 2>/dev/null && [ -e /proc/$P ] &&'
    ' ! grep -q ") Z" /proc/$P/stat 2>/dev/null;')


#: systrace, its FUSE watch giving up after 8 looks (2 s) instead of WATCH_GIVE_UP's 40 (10 s):
#: the same kill of the tree, sooner (set in the tracer's own process, as only it can be)
FEWER_LOOKS = """
import sys
from systrace_py.engine import answered
answered.WATCH_GIVE_UP = 8
from systrace_py.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("holder", ["thread", "child", "inflight", "newapi"])
def test_a_fuse_server_with_a_holder_that_never_stops_is_seen_too(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str], holder: str) -> None:
    """Review 26: fuse47's watch killed a traced /dev/fuse holder only when *every* thread of
    it sat in a ptrace stop.  fs_fuse_server.c with a second thread waiting in pause()
    (``thread``), or with a forked child holding the same /dev/fuse file in pause()
    (``child``: killing the stopped server alone ends nothing, the connection lives while
    the child holds it), keeps the deadlock of the in-tree server test: on main the run hung
    (both variants, both loops; the guard kills the servers at 90 s).  Now a holder with any
    thread in a ptrace stop is the deadlock's, and every traced holder of /dev/fuse is
    killed: the run goes on as in the test above.  ``inflight``: a child sends the server's
    /dev/fuse over a socketpair it keeps and closes it -- the file is held by a message in
    flight, by no process, and no holder's death aborts the connection (hung on main and
    with the holders' kill alone): the tracing thread in one FUSE wait for WATCH_GIVE_UP
    looks kills the traced tree, whose sockets hold it (the run ends, fail closed; here
    after 8 looks, FEWER_LOOKS, the default's 10 s wait proving nothing more).
    ``newapi``: the server mounts with fsopen("fuse")/fsconfig/fsmount/move_mount, and
    fsopen, permitted, stops nowhere (filterplan): the watch, armed at mount(2) and fsopen,
    was never armed and the run hung on main; now fsmount (a view call: it always stops)
    arms it.  Control: natively the script lists and reads the secret through the server."""
    server = build("escape/fs_fuse_server.c")
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        mnt = scene.root / "mnt"
        mnt.mkdir()
        text = policy(permit(["mount", "umount2", "fsopen", "fsconfig", "fsmount", "move_mount"]),
                      never(["fsread", "fswrite"], path=f"{scene.secd}/**")) if traced else None
        guard = threading.Timer(90, lambda: [os.kill(pid, 9) for pid in pids_running(server)])
        guard.start()
        try:
            argv = ("/bin/sh", "-c", IN_TREE_SERVER_HELD, "sh", server, mnt, scene.secd,
                    "cat", holder)
            out = attack(*argv, scene=scene, env=loop, policy_text=text, timeout=60,
                         tracer=[*enter, PYTHON, "-c", FEWER_LOOKS]) \
                if traced and holder == "inflight" else \
                attack_in(enter, *argv, scene=scene, env=loop, policy_text=text, timeout=60)
        finally:
            guard.cancel()
            for pid in pids_running(server):  # (the child waits forever: its cleanup)
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
        subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True, check=False)
        if not traced:
            if "ready" not in (mnt.parent / "mnt.out").read_text():
                pytest.skip(f"the server did not mount: {(mnt.parent / 'mnt.out').read_text()}")
            assert SECRET_MAGIC in out.stdout and "cat=0" in out.stdout, out
        elif holder == "inflight":  # (the holders' deaths end nothing: the tree dies)
            assert SECRET_MAGIC not in out.stdout, out
            assert "cat=0" not in out.stdout, out
            assert "a FUSE answer that never came" in out.stderr, out
        else:
            assert "done" in out.stdout, out
            assert SECRET_MAGIC not in out.stdout, out
            assert "cat=0" not in out.stdout, out
            assert "a FUSE server of the traced tree" in out.stderr, out


def test_a_fuse_server_in_the_traced_tree_that_stops_nowhere_is_left_alone(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        enter: list[str]) -> None:
    """fuse47's watch kills an in-tree server only in the deadlock: fs_fuse_server.c with
    COMM "" answers every reader alike and makes no call but /dev/fuse's read and write, so
    the tracer's lookups are answered while it is traced.  The script lists and reads below
    its mount as natively (ENOENT for the missing secret.txt), and nothing is killed, under
    a rule on writes (one refusing fsread by name refuses the stat: review 24)."""
    server = build("escape/fs_fuse_server.c")
    results = []
    for traced in (False, True):
        scene = Scene.make(tmp_path, "traced" if traced else "control")
        mnt = scene.root / "mnt"
        mnt.mkdir()
        text = policy(permit(["mount", "umount2"]),
                      never("fswrite", path=f"{scene.secd}/**")) if traced else None
        guard = threading.Timer(90, lambda: [os.kill(pid, 9) for pid in pids_running(server)])
        guard.start()
        try:
            out = attack_in(enter, "/bin/sh", "-c", IN_TREE_SERVER, "sh", server, mnt,
                            scene.secd, "", scene=scene, env=loop, policy_text=text,
                            timeout=60)
        finally:
            guard.cancel()
        subprocess.run([*enter, "umount", "-l", str(mnt)], capture_output=True, check=False)
        if not traced and "ready" not in (scene.root / "mnt.out").read_text():
            pytest.skip(f"the server did not mount: {(scene.root / 'mnt.out').read_text()}")
        assert "killed process" not in out.stderr, out
        results.append((out.returncode, out.stdout,
                        out.stderr.replace(str(scene.root), "ROOT")))
    assert results[0][:2] == results[1][:2], results
    assert "ls=0" in results[0][1] and "done" in results[0][1], results
