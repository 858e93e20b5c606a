"""Red team 33: an outsider at rules that rewrite a call, and at what the policy language
means against what the kernel does (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 33")."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from escape_lib import (
    PAYLOAD_MAGIC,
    SYSTRACE,
    Scene,
    UnixListener,
    assert_blocked,
    attack,
    require_real,
)

from conftest import PYTHON, UNPRIVILEGED_USER, systrace_env

TEMPLATE = "the author's template\n"


def read_redirect_policy(asked: Path, target: Path, protected: Path,
                         write_target: str = "never") -> str:
    """Everything permitted, reads of ``asked`` sent to ``target``; writing below
    ``protected`` is ``write_target`` (refused, or permitted for the positive case)."""
    return (f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "{asked}"\n'
            f'action = "permit"\nredirect = "{target}"\n\n'
            f'[[rule]]\ncalls = ["fswrite"]\npath = "{protected}/**"\n'
            f'action = "{write_target}"\n' + ('errno = "EACCES"\n' if write_target == "never"
                                               else ""))


def template_scene(tmp_path: Path, name: str) -> tuple[Scene, Path, Path]:
    """A scene with ``pubd/template.conf`` (the redirect's target, which the program may not
    write) and ``work/app.conf`` (the program's own file, the path it asks for)."""
    scene = Scene.make(tmp_path, name)
    target = scene.pubd / "template.conf"
    target.write_text(TEMPLATE)
    asked = scene.work / "app.conf"
    asked.write_text("the program's own\n")
    return scene, target, asked


def test_a_redirect_of_reads_does_not_carry_an_open_s_writes_to_its_target(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A rule sends the reads of ``work/app.conf`` to ``pubd/template.conf``, a file the
    policy refuses writing.  redirect_class.c (refused opening the template for writing
    itself) opened ``work/app.conf`` O_RDWR: its write side was permitted for that path (the
    default), and the redirect replaced the path of the whole call -- the program wrote the
    template (escaped before, both loops).  Now every check of a redirected path that no rule
    redirected to the same target is decided again on the target: the write there is
    refused (EACCES, the refusing rule's).  Reads alone are still redirected.  Control:
    natively an O_RDWR open of the file writes it."""
    program = build("escape/redirect_class.c")
    scene, target, _ = template_scene(tmp_path, "control")
    control = attack(program, target, target, policy_text=None, scene=scene)
    require_real(control)
    scene, target, asked = template_scene(tmp_path, "traced")
    text = read_redirect_policy(asked, target, scene.pubd)
    traced = attack(program, asked, target, policy_text=text, scene=scene, env=loop)
    assert_blocked(traced)
    assert "itself: EACCES" in traced.stdout, traced
    assert f"gives: {TEMPLATE.strip()}" in traced.stdout, traced  # reads still redirected
    assert "O_RDWR: EACCES" in traced.stdout, traced
    assert target.read_text() == TEMPLATE
    # where the policy permits writing the target, the open is redirected as a whole (the
    # author's file, written through the name asked: as before)
    scene, target, asked = template_scene(tmp_path, "permitted")
    text = read_redirect_policy(asked, target, scene.pubd, write_target="permit")
    permitted = attack(program, asked, target, policy_text=text, scene=scene, env=loop)
    assert permitted.verdict == "ESCAPED" and PAYLOAD_MAGIC in target.read_text(), permitted
    assert asked.read_text() == "the program's own\n"


def test_a_redirect_of_reads_holds_its_target_for_an_unprivileged_program(build) -> None:
    """The same attack as a normal user (the target the user's own file, refused by the
    policy only): the O_RDWR open is refused, the template unchanged."""
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    work = Path(tempfile.mkdtemp(prefix="rt33-class-", dir="/tmp"))
    try:
        os.chmod(work, 0o755)
        program = work / "redirect_class"
        shutil.copy(build("escape/redirect_class.c"), program)
        ro, own = work / "ro", work / "own"
        ro.mkdir()
        own.mkdir()
        target, asked = ro / "template.conf", own / "app.conf"
        target.write_text(TEMPLATE)
        asked.write_text("the program's own\n")
        for path in (ro, own, target, asked):
            os.chown(path, user.pw_uid, user.pw_gid)
        policy_file = work / "policy.toml"
        policy_file.write_text(read_redirect_policy(asked, target, ro))
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
        native = subprocess.run([*drop, str(program), str(target), str(target)],
                                capture_output=True, text=True, timeout=60, cwd=work)
        assert native.stdout.startswith("note") and "ESCAPED" in native.stdout, native
        target.write_text(TEMPLATE)
        traced = subprocess.run([*drop, *SYSTRACE, "-p", str(policy_file), "--", str(program),
                                 str(asked), str(target)], capture_output=True, text=True,
                                timeout=60, cwd=work, env=systrace_env())
        assert "ESCAPED" not in traced.stdout and "BLOCKED" in traced.stdout, traced
        assert target.read_text() == TEMPLATE
    finally:
        shutil.rmtree(work, ignore_errors=True)


def free_ports(count: int) -> list[int]:
    """Ports of 127.0.0.1 no UDP socket holds now (the kernel's choice, released)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("batch", ["one", "two"])
def test_a_sendmmsg_does_not_pass_a_rule_that_redirects_its_address(
        build, tmp_path: Path, loop: dict[str, str], batch: str) -> None:
    """A rule redirects the datagrams sent to 127.0.0.1:GUARDED to another port.  Its alias,
    net-connect, covers sendmmsg, whose messages each name an address, and the engine
    rewrites one address only: redirect_mmsg.c's batch of one crashed the tracer (an
    AssertionError in enforce; the run killed), its batch of two -- first to a port the
    policy permits, then to GUARDED -- sent the second datagram to GUARDED, unredirected
    (both loops).  Now a sendmmsg a rule would redirect is refused (EPERM); the batch of
    to ports no rule redirects still goes.  Control: natively the datagram reaches
    GUARDED."""
    program = build("escape/redirect_mmsg.c")
    free, guarded, sink, other = free_ports(4)
    control = attack(program, batch, free, guarded, policy_text=None, scene=None)
    require_real(control)
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["net-connect"]\naddress = "127.0.0.1"\n'
            f'port = {guarded}\naction = "permit"\nredirect = "127.0.0.1:{sink}"\n')
    scene = Scene.make(tmp_path, "traced")
    traced = attack(program, batch, free, guarded, policy_text=text, scene=scene, env=loop)
    assert_blocked(traced)
    assert "internal error" not in traced.stderr, traced
    assert "EPERM" in traced.stdout, traced
    alone = attack(program, batch, free, other, policy_text=text, scene=scene, env=loop)
    assert alone.verdict == "ESCAPED", alone  # (no rule names OTHER: nothing redirected)


def test_an_answer_does_not_run_a_call_without_its_redirect(build, tmp_path: Path,
                                                            loop: dict[str, str]) -> None:
    """A rule confines the program's writes of ``pubd/app.conf`` to its own copy,
    ``work/app.conf`` (a redirect); writes below ``work/drafts`` are asked (an approver
    permits them).  redirect_ask.c (refused opening ``pubd/app.conf`` for writing itself)
    renamed a draft onto ``pubd/app.conf``: the old path asked, and the permit ran the
    rename as asked, its new path's redirect lost -- the system's file was replaced (both
    loops).  Now a call that a rule redirects and another check asks about is refused (the
    asking rule's errno): an answer would run it as asked.  Control: natively the rename
    replaces the file."""
    program = build("escape/redirect_ask.c")
    scene = Scene.make(tmp_path, "control")
    (scene.work / "drafts").mkdir()
    (scene.pubd / "app.conf").write_text("the system's\n")
    control = attack(program, scene.work / "drafts" / "new", scene.pubd / "app.conf",
                     policy_text=None, scene=scene)
    require_real(control)
    scene = Scene.make(tmp_path, "traced")
    (scene.work / "drafts").mkdir()
    asked = scene.pubd / "app.conf"
    asked.write_text("the system's\n")
    answers = scene.root / "answers.toml"
    answers.write_text('[[answer]]\npath = "*drafts*"\nanswer = "permit-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["fswrite"]\npath = "{asked}"\n'
            f'action = "permit"\nredirect = "{scene.work / "app.conf"}"\n\n'
            f'[[rule]]\ncalls = ["fswrite"]\npath = "{scene.pubd}/**"\naction = "never"\n'
            f'errno = "EACCES"\n\n'
            f'[[rule]]\ncalls = ["fswrite"]\npath = "{scene.work}/drafts/**"\n'
            f'action = "ask"\nerrno = "EACCES"\n')
    traced = attack(program, scene.work / "drafts" / "new", asked, policy_text=text,
                    scene=scene, env=loop,
                    options=["--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "rename" in traced.stdout and "EACCES" in traced.stdout, traced
    assert asked.read_text() == "the system's\n"
    assert (scene.work / "drafts" / "new").exists()  # the asked write was permitted


@pytest.mark.parametrize("spelling", ["{work}/../secd/**", "{root}/./secd/secret.txt",
                                      "{root}/{{pubd,work/..}}/secd/**"])
def test_a_rule_spelled_with_dots_does_not_load_as_a_rule_that_refuses_nothing(
        build, tmp_path: Path, spelling: str) -> None:
    """A ``never`` rule on the secret spelled with ``..`` or ``.`` (``$CWD/../secd/**``, or
    one alternative of a brace) matched no path: paths are matched as the kernel resolves
    them, which have neither -- rule_spelling.c read the secret under it, the policy loaded
    without a word.  Now such a pattern is an error at load (exit 2, nothing run).  Control:
    natively the program reads the secret."""
    program = build("escape/rule_spelling.c")
    scene = Scene.make(tmp_path, "control")
    require_real(attack(program, scene.secret, policy_text=None, scene=scene))
    scene = Scene.make(tmp_path, "traced")
    pattern = spelling.format(work=scene.work, root=scene.root)
    text = f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "{pattern}"\n' \
           'action = "never"\n'
    traced = attack(program, scene.secret, policy_text=text, scene=scene)
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.returncode == 2 and "would match nothing" in traced.stderr, traced


def test_a_rule_spelled_through_a_symlink_is_said_to_match_nothing(build,
                                                                  tmp_path: Path) -> None:
    """A rule whose directories pass a symlink matches nothing below it (the paths there are
    matched by their resolved names): the run says so when the policy loads, naming the
    directory to write.  (A warning, not a refusal: what the link leads to is the
    author's to confirm.)"""
    program = build("escape/rule_spelling.c")
    scene = Scene.make(tmp_path, "traced")
    (scene.root / "link").symlink_to("secd")
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\n'
            f'path = "{scene.root}/link/**"\naction = "never"\n')
    traced = attack(program, scene.secret, policy_text=text, scene=scene)
    assert f"{scene.root}/link resolves to {scene.secd}" in traced.stderr, traced


def test_a_redirect_of_a_binary_s_reads_does_not_run_a_program_exec_rules_refuse(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """The same class at an exec: a rule redirects the reads of ``/usr/bin/false`` to a
    program in ``work/`` whose exec the policy refuses.  An exec has two checks, exec and
    fsread; the fsread rule's redirect carried the exec along: ``/usr/bin/false`` ran the
    refused program (its ``uid=`` line printed; both loops), while its exec by its own name
    was refused.  Now the exec check is decided on the target too: refused (EACCES).
    Control: natively the program runs."""
    scene = Scene.make(tmp_path, "traced")
    program = scene.work / "tool"
    shutil.copy("/usr/bin/id", program)
    native = subprocess.run([str(program)], capture_output=True, text=True, timeout=30)
    assert native.stdout.startswith("uid="), native
    false = os.path.realpath("/usr/bin/false")
    text = (f'default = "permit"\n\n[[rule]]\ncalls = ["fsread"]\npath = "{false}"\n'
            f'action = "permit"\nredirect = "{program}"\n\n[[rule]]\ncalls = ["exec"]\n'
            f'path = "{scene.work}/**"\naction = "never"\nerrno = "EACCES"\n')
    policy_file = scene.root / "policy.toml"
    policy_file.write_text(text)
    traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", "sh", "-c",
                             f"{program}; {false}; echo rc=$?"], capture_output=True,
                            text=True, timeout=60, env=systrace_env(loop), cwd=scene.root)
    assert "uid=" not in traced.stdout, traced
    assert "rc=126" in traced.stdout, traced  # (sh: permission denied)


def test_a_unix_condition_spelled_with_dots_does_not_load(tmp_path: Path) -> None:
    """The same for a ``unix`` condition: ``never connect`` to ``WORK/../sock`` matched no
    socket path (they are matched resolved), and the program connected to the socket.  Now
    an error at load (exit 2), nothing run.  Control: the connect works natively."""
    scene = Scene.make(tmp_path, "traced")
    sock = scene.root / "app.sock"
    client = ("import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
              " print('ESCAPED: connected')")
    listener = UnixListener(str(sock))
    try:
        native = subprocess.run([PYTHON, "-c", client, str(sock)], capture_output=True,
                                text=True, timeout=30)
        assert "ESCAPED" in native.stdout, native
        policy_file = scene.root / "policy.toml"
        policy_file.write_text(f'default = "permit"\n\n[[rule]]\ncalls = ["connect"]\n'
                               f'unix = "{scene.work}/../app.sock"\naction = "never"\n')
        traced = subprocess.run([*SYSTRACE, "-p", str(policy_file), "--", PYTHON, "-c",
                                 client, str(sock)], capture_output=True, text=True,
                                timeout=60, env=systrace_env(), cwd=scene.root)
    finally:
        listener.close()
    assert "ESCAPED" not in traced.stdout, traced
    assert traced.returncode == 2 and "would match nothing" in traced.stderr, traced
