"""Issue 11, the three items red team 40 wrote down as not closed (fslink43).

*Sockets*: a unix socket file's connect rules were not among the accesses a link or rename
compares (model.Table._linked_decision): a table that lets a socket be linked or moved and
permits connects below the attacker's directory, but not to the socket's own path (the
default refuses it: no rule names the socket, so the renaming rule has nothing to stop), let
a program link or move the socket there and connect.  net_unix.c's link and move modes, a
native control each, both stop loops.

*Ask against ask*: where both names only asked about an access, the link was permitted and a
later question named the new name alone -- an approver that would refuse the secret's read
permitted a read of ``work/out``, which held it.  The link is now asked itself, the question
naming the file's own name (``linked``: file and name).  fs_linked.c's ``link`` mode under an
approver (docs/asking.md's protocol), a native control, both stop loops.

*A learned glob's left-out names below a moved directory*: a learned writing glob matches no
name something runs later it does not name exactly, but counted as covering the old tree: a
directory holding an older Makefile (refused by its own name) moved onto a name whose
learned exact rule writes the Makefile, written, and moved back.  fs_leftout.c, a native
control, both stop loops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from escape_lib import (
    Scene,
    UnixListener,
    assert_blocked,
    attack,
    controlled_and_blocked,
    permit,
    policy,
    require_real,
)

from conftest import PYTHON

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def socket_policy(program: Path, sockdir: Path, work: Path, *extra: str) -> str:
    """What the program needs to start; reads and writes (links and moves) of ``work``
    and of ``sockdir`` alike -- every access a file has by either name --, and connects to
    unix sockets below ``work`` only: no rule on connects to ``sockdir/sock``, the default
    refuses them (so no refusing rule names the socket for the renaming rule to see)."""
    rules = [permit("stdio"), permit("process"), permit("socket")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit(["fsread", "fswrite"], path=p)
              for d in (work, sockdir) for p in (str(d), f"{d}/**")]
    rules += [permit("net-connect", unix=f"{work}/**"), *extra]
    return policy(*rules, default="never")


@pytest.mark.parametrize("mode", ["hardlink", "rename", "dirrename", "exchange", "direxchange"])
def test_a_socket_gets_no_connect_by_a_new_name_its_own_lacks(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively each mode reaches the listener through the new name.  Under the
    table: the connect to the socket's own path is refused (``path`` mode), and the link or
    move that would give it a name connects are permitted to is refused, EPERM, ``linked
    access`` -- on main 1ec2f11 each mode ESCAPED (the listener accepted)."""
    program = build("escape/net_unix.c")
    for traced in (False, True):
        s = Scene.make(tmp_path, "traced" if traced else "control")
        sockdir = s.root / "sockdir"
        sockdir.mkdir()
        path = sockdir / "sock"
        listener = UnixListener(str(path))
        try:
            text = socket_policy(program, sockdir, s.work) if traced else None
            if traced:  # the table refuses the socket by its own name
                direct = attack(program, "path", path, s.work, policy_text=text, scene=s,
                                env=loop)
                assert_blocked(direct)
                assert listener.accepted == 0
            out = attack(program, mode, path, s.work, policy_text=text, scene=s, env=loop)
            reached = listener.accepted
        finally:
            listener.close()
        if not traced:
            require_real(out)
            continue
        assert_blocked(out)
        assert not reached, "the refused socket was reached"
        assert out.detail.endswith(": EPERM"), str(out)
        assert out.detail.startswith(("link", "rename", "renameat2")), str(out)


OWN_AND_PEERS = """
import os, socket, sys
sockdir, work, outsider = sys.argv[1:4]
srv = socket.socket(socket.AF_UNIX)
srv.bind(f"{sockdir}/own")
srv.listen()
os.rename(f"{sockdir}/own", f"{work}/own")
socket.socket(socket.AF_UNIX).connect(f"{work}/own")
print("reached the run's own socket by its new name")
os.rename(outsider, f"{work}/moved")
socket.socket(socket.AF_UNIX).connect(f"{work}/moved")
print("reached a socket moved between names connects are permitted to")
"""


def test_the_runs_own_socket_and_one_moved_within_connects_reach(tmp_path: Path,
                                                                  loop: dict[str, str]) -> None:
    """No over-refusal: a socket the run bound is its own (exempt, as a file the run made
    is: fslink41; known as the run's where a ``fresh`` rule lets the bind, as a learned
    policy's does) -- moved from where connects are refused to where they are permitted, it
    is reached; an outsider's socket moved between two names connects are permitted to is
    reached too."""
    s = Scene.make(tmp_path, "own")
    sockdir = s.root / "sockdir"
    sockdir.mkdir()
    (s.work / "in").mkdir()
    outsider = s.work / "in" / "peer"
    listener = UnixListener(str(outsider))
    python = "/usr/bin/python3"
    text = socket_policy(Path(python), sockdir, s.work,
                         permit(["net-socket", "net-listen"]),
                         # (as a learned bind is: the bind stops and the run notes the
                         # socket file it makes, Supervisor._made)
                         permit("net-bind", unix=f"{sockdir}/*", fresh=True))
    try:
        out = attack(python, "-c", OWN_AND_PEERS, sockdir, s.work, outsider, policy_text=text,
                     scene=s, env=loop)
    finally:
        listener.close()
    assert "reached the run's own socket by its new name" in out.stdout, str(out)
    assert "reached a socket moved between names connects are permitted to" in out.stdout, \
        str(out)


#: An approver as a person who refuses the secret's read and permits the build's: it denies
#: any question about a call that names the secret's directory (SECD), permits every other,
#: and keeps the questions (QUESTIONS) for the test to read.
NAMING_APPROVER = """
import json, sys
secd, questions = sys.argv[1:3]
for line in sys.stdin:
    message = json.loads(line)
    if message.get("type") != "ask":
        continue
    with open(questions, "a") as kept:
        kept.write(json.dumps(message) + "\\n")
    about = json.dumps([message.get(k) for k in ("path", "args", "call", "linked")])
    answer = "deny-now" if secd in about else "permit-now"
    print(json.dumps({"id": message["id"], "answer": answer}), flush=True)
"""


def asked_policy(s: Scene, program: Path) -> str:
    """The table asks about what no rule names: the secret's read and ``work/out``'s alike
    (no rule naming the secret, which would ask about the link itself: the renaming rule);
    links of what is in ``secd``, and writes of both, permitted -- the file gains nothing
    by ``work/out`` but the name a question about it shows."""
    rules = [permit("stdio"), permit("process")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit("fslink", path=f"{s.secd}/**")]
    rules += [permit("fswrite", path=f"{d}/**") for d in (s.secd, s.work)]
    return policy(*rules, default="ask")


def test_a_link_between_two_asked_names_is_asked_naming_the_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Control: natively ``link`` reads the secret through ``work/out``.  Under the table
    and the approver: the link is asked, the question naming the secret's own name, and
    refused (EPERM) -- on main 1ec2f11 the link was not asked (both names only ask, by the
    default) and the approver permitted the read of ``work/out``: ESCAPED."""
    program = build("escape/fs_linked.c")
    approver = tmp_path / "approver.py"
    approver.write_text(NAMING_APPROVER)
    questions = tmp_path / "questions.jsonl"

    traced, s = controlled_and_blocked(
        tmp_path, program, lambda s: ["link", s.secret, s.work],
        lambda s: asked_policy(s, program),
        setup=lambda s: (s.work / "out").write_text("the build's output\n"), env=loop,
        options=lambda s: ["--ask-via", f"exec:{PYTHON} {approver} {s.secd} {questions}"])
    assert traced.detail.startswith("link") and traced.detail.endswith(": EPERM"), str(traced)
    asked = [json.loads(line) for line in questions.read_text().splitlines()]
    linked = [q for q in asked if q["syscall"] in ("link", "linkat")]
    assert linked, asked
    assert linked[0]["linked"] == {"file": str(s.secret), "name": f"{s.work}/out"}, linked


def learned_policy(s: Scene, program: Path) -> str:
    """A learned table's writes (``learned``: the glob leaves out the names something runs
    later below ``work``, by their shape): ``work/**``, and ``work/build/Makefile`` named
    exactly (a build that rewrites the Makefile there)."""
    rules = [permit("stdio"), permit("process")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    for path, kind in ((f"{s.work}/build/Makefile", "exact"), (f"{s.work}/**", "tree")):
        rules.append(f'calls = ["fsread", "fswrite"]\npath = "{path}"\naction = "permit"\n'
                     f'learned = {{kind = "{kind}", seen = 2, paths = ["{s.work}/a", '
                     f'"{s.work}/b"]}}')
    return policy(*rules, default="never")


def older_makefile(s: Scene) -> None:
    (s.work / "vendor" / "lib").mkdir(parents=True)
    (s.work / "vendor" / "lib" / "Makefile").write_text("all:\n\ttrue\n")
    (s.work / "vendor" / "lib" / "lib.c").write_text("int f(void) { return 0; }\n")


@pytest.mark.parametrize("mode", ["direct", "moved"])
def test_a_left_out_name_below_a_moved_directory_is_compared_apart(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively each mode plants a line in ``work/vendor/lib/Makefile``.  Under
    the learned table: its direct write is refused (the learned glob leaves the Makefile
    out), and the move of ``vendor/lib`` onto ``build`` is refused, EPERM, ``linked access``:
    the Makefile below it would be written by ``build/Makefile``'s exact rule, its own name
    being written by none -- on main 1ec2f11 the move was permitted (the learned glob counted
    as covering the old tree) and the Makefile came back planted: ESCAPED."""
    program = build("escape/fs_leftout.c")
    traced, s = controlled_and_blocked(
        tmp_path, program, lambda s: [mode, s.work], lambda s: learned_policy(s, program),
        setup=older_makefile, env=loop)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert "planted" not in (s.work / "vendor" / "lib" / "Makefile").read_text()
    assert "planted" in (tmp_path / "control" / "work" / "vendor" / "lib" / "Makefile"
                         ).read_text()
    if mode == "moved":
        assert traced.detail.startswith("rename"), str(traced)


def test_a_directory_moved_within_a_learned_glob_is_not_refused(tmp_path: Path,
                                                               loop: dict[str, str]) -> None:
    """No over-refusal: an older directory holding a Makefile moved within the learned
    ``work/**`` (both names leave the Makefile out alike) is moved (coreutils mv)."""
    s = Scene.make(tmp_path, "within")
    older_makefile(s)
    mv = Path("/usr/bin/mv")
    out = attack(mv, s.work / "vendor" / "lib", s.work / "lib2",
                 policy_text=learned_policy(s, mv), scene=s, env=loop)
    assert out.returncode == 0, str(out)
    assert (s.work / "lib2" / "Makefile").exists()
