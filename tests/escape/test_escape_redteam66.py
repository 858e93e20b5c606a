"""Red team 66: an outsider at device files whose object is chosen by who (or when) reads
(docs/security.md, "Red team 66").

/dev/vcs, /dev/vcsu and /dev/vcsa (7,0, 7,64, 7,128) are the screen of the virtual console in
front, chosen again at each read (the kernel's vcs_vc): the console /dev/vcsN names.  A rule
that refuses a console's screen by its name (/dev/vcsN) must refuse the names that may stand
for it too.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
    require_real,
)

from conftest import PYTHON
from systrace_py.policy.files import load_policy


def _front_console() -> int | None:
    """The number of the virtual console in front (sysfs's tty0 ``active``), None when there
    is none this test may use (no virtual consoles, no /dev/vcs, not root)."""
    try:
        with open("/sys/class/tty/tty0/active", encoding="ascii") as active:
            name = active.read().strip()
        number = int(name.removeprefix("tty"))
    except (OSError, ValueError):
        return None
    if number < 1 or not os.access("/dev/vcs", os.R_OK) \
            or not os.access(f"/dev/vcs{number}", os.R_OK | os.W_OK):
        return None
    return number


@pytest.fixture
def front_screen() -> Iterator[str]:
    """/dev/vcsN of the console in front, its screen filled with the secret (every cell: a
    line the kernel prints to the console scrolls the screen, and the first bytes still hold
    it), restored after the test."""
    number = _front_console()
    if number is None:
        pytest.skip("no virtual console in front whose screen this test may read and write")
    name = f"/dev/vcs{number}"
    fd = os.open(name, os.O_RDWR | os.O_CLOEXEC)
    try:
        saved = os.pread(fd, 1 << 16, 0)
        if not saved:
            pytest.skip(f"{name} shows no screen")
        text = f"{SECRET_MAGIC} ".encode()
        # through the console's own terminal first: the kernel keeps a copy of the screen in
        # Unicode for /dev/vcsu once one read it, which the terminal's writes update and
        # /dev/vcsN's do not (a vcsu read after a fill through vcsN alone showed the old
        # screen); then every cell through /dev/vcsN
        tty = os.open(f"/dev/tty{number}", os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            os.write(tty, b"\r" + text * (2 * len(saved) // len(text) + 1))
        finally:
            os.close(tty)
        os.pwrite(fd, (text * (len(saved) // len(text) + 1))[:len(saved)], 0)
        yield name
    finally:
        if "saved" in locals() and saved:
            os.pwrite(fd, saved, 0)
        os.close(fd)


def test_the_screen_in_front_is_refused_by_its_console_s_name(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        front_screen: str) -> None:
    """ctty_alias.c /dev/vcs reads the screen of the console in front (its first 255 bytes)
    under a policy that refuses that console's screen by its name (``never`` fsread and
    fswrite of /dev/vcsN): the open was decided on the name "/dev/vcs", which no rule names
    (red team 63's seen-not-closed): ESCAPED on main (f0a862b), both loops.  Now /dev/vcs
    (vcsu, vcsa) is decided by the name of every console of its kind it may show too, where a
    rule names one."""
    binary = build("escape/ctty_alias.c")
    traced, _ = controlled_and_blocked(
        tmp_path, binary, lambda s: ["/dev/vcs"],
        lambda s: policy(never(["fsread", "fswrite"], path=front_screen)), env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


@pytest.mark.parametrize("kind", ["vcsa", "vcsu", "front"])
def test_the_screen_is_refused_by_its_name_through_a_device_of_another_kind(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str], front_screen: str,
        kind: str) -> None:
    """screen_alias.c reads the screen a policy refuses by its name /dev/vcsN through a
    device of another kind that shows it: ``vcsa`` /dev/vcsaN (the same console's screen,
    each character with its attribute), ``vcsu`` /dev/vcsu (the console in front's, as
    UTF-32) -- decided on names no rule names (red team 66 decided /dev/vcsu by /dev/vcsuN
    only): ESCAPED on main 3e4b184, both loops.  Now every device showing a console's screen
    is decided by the names of that screen of each kind (review 44).  ``front``: a policy
    refusing the screen in front by its name /dev/vcs, read through /dev/vcsu (the same
    screen, as UTF-32), decided by the numbered screens' names only: ESCAPED on main 30bbf5d,
    both loops; now /dev/vcs, vcsu and vcsa are one screen by three names too (red team
    70)."""
    binary = build("escape/screen_alias.c")
    name = front_screen.replace("/dev/vcs", "/dev/vcsa") if kind == "vcsa" else "/dev/vcsu"
    refused = "/dev/vcs" if kind == "front" else front_screen
    traced, _ = controlled_and_blocked(
        tmp_path, binary, lambda s: [name],
        lambda s: policy(never(["fsread", "fswrite"], path=refused)), env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


def test_a_screen_asked_about_by_one_name_is_not_read_unasked_by_another(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        front_screen: str) -> None:
    """screen_alias.c /dev/vcsN under a policy that *asks* about the console's screen by
    another of its names (``ask`` fsread of /dev/vcsaN, the default permitting), with nobody
    to ask (the run's asks refused): review 44 left a numbered screen's other names' asks to
    its own name's rules, which here ask nothing -- so /dev/vcsN read the screen unasked
    (review 44's seen-not-closed; ESCAPED on main 30bbf5d, both loops; an approver denying
    every question did not help: it was never asked).  Now another name's ask holds (refuses,
    its errno) unless the screen's own name asks too or a rule first in the table decides
    it (red team 70)."""
    binary = build("escape/screen_alias.c")
    other = front_screen.replace("/dev/vcs", "/dev/vcsa")
    traced, _ = controlled_and_blocked(
        tmp_path, binary, lambda s: [front_screen],
        lambda s: policy(f'calls = ["fsread"]\npath = "{other}"\naction = "ask"\n'
                         'errno = "EACCES"'), env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


def test_a_numbered_screen_asked_about_by_a_glob_is_asked_once(
        build: Callable[..., Path], tmp_path: Path, front_screen: str) -> None:
    """screen_alias.c /dev/vcsN under a policy asking about ``/dev/vcs*`` (which names
    /dev/vcsaN and /dev/vcsuN, the same screen, too): one question, about /dev/vcsN, and
    the approver's permit lets the read run as natively -- the screen's other names' asks
    are not refusals (review 44).  (Loop-blind: a run with an approver is the Python
    loop's alone.)"""
    binary = build("escape/screen_alias.c")
    scene = Scene.make(tmp_path, "traced")
    answers = scene.root / "answers.toml"
    answers.write_text(f'[[answer]]\npath = "{front_screen}"\nanswer = "permit"\n\n'
                       '[[answer]]\nanswer = "deny"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy('calls = ["fsread"]\npath = "/dev/vcs*"\naction = "ask"\nerrno = "EACCES"')
    traced = attack(binary, front_screen, policy_text=text, scene=scene,
                    options=["-v", "--ask-via", "exec:" + shlex.join(approver)])
    assert traced.verdict == "ESCAPED", traced  # (the screen read, as natively)
    assert traced.stderr.count("remembered for") == 1, traced


def test_an_answer_about_a_descriptor_s_owner_remembers_no_rule_for_its_file(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """owner_remembered.c FILE opens FILE read-only (a policy refusing writes of secd/**),
    makes its child the descriptor's owner (ioctl(FIOSETOWN): decided as a kill of the child,
    a check of no path, which an ``ask`` rule on signals asks about), then sets FILE's
    append-only flag (FS_IOC_SETFLAGS: an fswrite of the descriptor's file), and puts its
    flags back.  The approver permits, remembered.  The remembered rule was made from the
    call's own facts: ``permit ioctl`` of FILE, ahead of the table's rules -- and the
    file-changing ioctl ran (ESCAPED on main f0a862b).  Now a question of no path is about
    the call it is decided as (``permit kill`` remembered).  Control: natively the flag is
    set.  (Loop-blind: a run with an approver is the Python loop's alone.)"""
    program = build("escape/owner_remembered.c")
    control = Scene.make(tmp_path, "control")
    require_real(attack(program, control.secret, policy_text=None, scene=control))
    scene = Scene.make(tmp_path, "traced")
    answers = scene.root / "answers.toml"
    answers.write_text('[[answer]]\nanswer = "permit"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy(never("fswrite", path=f"{scene.secd}/**"),
                  'calls = ["signal"]\naction = "ask"\nerrno = "EACCES"')
    saved = scene.root / "owner.toml"
    traced = attack(program, scene.secret, policy_text=text, scene=scene, policy_file=saved,
                    options=["--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "FS_IOC_SETFLAGS" in traced.detail and "EACCES" in traced.detail, traced
    # the remembered rule is of the call asked about, and its comment says the ioctl was
    # asked as it
    remembered = [rule for rule in load_policy(saved).main.rules
                  if "answered" in (rule.comment or "")]
    assert [rule.calls for rule in remembered] == [("kill",)], saved.read_text()
    assert " as kill " in (remembered[0].comment or ""), saved.read_text()



def test_a_screen_s_node_made_by_the_run_is_not_fresh_by_the_screen_s_names(
        build: Callable[..., Path], tmp_path: Path, loop: dict[str, str],
        front_screen: str) -> None:
    """screen_alias.c /dev/vcsN node: the program makes a node of console N's screen of its
    own (mknod, root) and reads it, under a policy permitting first what the run makes
    (``fresh``, any path), then refusing /dev/vcsN.  The node is decided by the screen's
    names too (review 44, red team 66), but that reading kept the node's facts, ``fresh``
    among them: /dev/vcsN was read as a file the run made, and the fresh permit matched it
    before the refusal (review 46; ESCAPED on main 508568f and cd7ac90, both loops).  A name a
    device stands for is not the run's (as a redirect's target is not: model._AtTarget)."""
    binary = build("escape/screen_alias.c")
    text = policy(permit("fsread", path="/**", fresh=True),
                  never(["fsread", "fswrite"], path=front_screen))
    traced, _ = controlled_and_blocked(
        tmp_path, binary, lambda s: [front_screen, "node"], lambda s: text, env=loop)
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
                    reason="loop devices: root, /dev/loop-control")
def test_a_question_about_a_loop_attach_is_about_its_file(
        build: Callable[..., Path], tmp_path: Path) -> None:
    """loop_remembered.c IMAGE attaches IMAGE (opened write-only; the table asks about
    reading it) to a free loop device twice: LOOP_SET_FD, decided as an open of IMAGE for
    reading and writing (Supervisor._loop_attach).  The approver permits questions about
    IMAGE, remembered, and denies any other.  The question was put about the ioctl's own
    file, /dev/loopN -- refused (on main 3e4b184), and had it been permitted the rule it
    remembered was ``permit ioctl`` of /dev/loopN, leaving IMAGE's read to be asked again
    (review 44).  Now it is about the open it is decided as: one question, whose rule names
    IMAGE and settles the second attach.  (Loop-blind: a run with an approver is the Python
    loop's alone.)"""
    program = build("escape/loop_remembered.c")
    scene = Scene.make(tmp_path, "traced")
    image = scene.work / "image.img"
    image.write_bytes(bytes(4096))
    answers = scene.root / "answers.toml"
    answers.write_text(f'[[answer]]\npath = "{image}"\nanswer = "permit"\n\n'
                       '[[answer]]\nanswer = "deny"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy(f'calls = ["fsread"]\npath = "{image}"\naction = "ask"\nerrno = "EACCES"')
    traced = attack(program, image, policy_text=text, scene=scene,
                    options=["-v", "--ask-via", "exec:" + shlex.join(approver)])
    if "SKIPPED" in traced.stdout:
        pytest.skip(traced.stdout)
    assert traced.returncode == 0 and "ATTACHED" in traced.stdout, traced
    remembered = [line for line in traced.stderr.splitlines() if "remembered for" in line]
    assert len(remembered) == 1, traced  # (one question: the second attach is settled)
    assert "fsread path " in remembered[0] and "/work/image.img -> permit" in remembered[0], traced


@pytest.mark.parametrize("opened", ["vcsN", "vcs"])
def test_a_screen_asked_about_by_one_name_is_asked_through_another(
        build: Callable[..., Path], tmp_path: Path, front_screen: str, opened: str) -> None:
    """screen_alias.c reads the screen in front through /dev/vcsN (``vcsN``: its text) or
    /dev/vcs (``vcs``: whichever console is in front) under a policy that permits by default
    and asks about reading the same screen by its name /dev/vcsaN.  The approver answers a
    question about /dev/vcsaN (remembered), ``deny`` for vcsN and ``permit`` for vcs; any
    other question is denied.  On main 30bbf5d no question was put: through /dev/vcsN the
    screen was read (ESCAPED: only refusals carried across a screen's names), through
    /dev/vcs refused (an ask there refused).  Now the question is about /dev/vcsaN, the
    screen's name the rule names, and its answer holds: one question, whose remembered rule
    names /dev/vcsaN alone (close22).  (Loop-blind: a run with an approver is the Python
    loop's alone.)"""
    binary = build("escape/screen_alias.c")
    scene = Scene.make(tmp_path, "traced")
    attributes = front_screen.replace("/dev/vcs", "/dev/vcsa")
    verb = "deny" if opened == "vcsN" else "permit"
    answers = scene.root / "answers.toml"
    answers.write_text(f'[[answer]]\npath = "{attributes}"\nanswer = "{verb}"\n\n'
                       '[[answer]]\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy(f'calls = ["fsread"]\npath = "{attributes}"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(binary, front_screen if opened == "vcsN" else "/dev/vcs", policy_text=text,
                    scene=scene, options=["-v", "--ask-via", "exec:" + shlex.join(approver)])
    if verb == "deny":
        assert_blocked(traced)
        assert "EACCES" in traced.detail, traced
    else:
        assert traced.verdict == "ESCAPED", traced  # (the screen read, as natively)
    remembered = [line for line in traced.stderr.splitlines() if "remembered for" in line]
    assert len(remembered) == 1, traced
    assert remembered[0].endswith(f"fsread path {attributes} -> permit") if verb == "permit" \
        else f"fsread path {attributes} -> never" in remembered[0], traced


def test_an_answer_about_a_screen_s_node_of_another_name_is_no_answer_about_the_screen(
        build: Callable[..., Path], tmp_path: Path, front_screen: str) -> None:
    """screen_alias.c /dev/vcs node: the program makes ./node, the screen in front (7,0;
    root), and reads it, under a policy asking about the screens (``/dev/vcs*``) and about
    the work directory's files; the approver permits questions about the work directory and
    denies the rest.  An answer about the device's own name answered for every screen it
    shows (close22's _screen_answered) -- the node's name too: one question, about ./node,
    permitted, and the screen was read (review 46; ESCAPED on main cd7ac90).  Now the
    screens are asked about by their names (denied).  (Loop-blind: a run with an approver is
    the Python loop's alone.)"""
    binary = build("escape/screen_alias.c")
    scene = Scene.make(tmp_path, "traced")
    answers = scene.root / "answers.toml"
    answers.write_text(f'[[answer]]\npath = "{scene.work}/*"\nanswer = "permit-now"\n\n'
                       '[[answer]]\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy('calls = ["fsread"]\npath = "/dev/vcs*"\naction = "ask"\nerrno = "EACCES"',
                  f'calls = ["fsread"]\npath = "{scene.work}/**"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(binary, "/dev/vcs", "node", policy_text=text, scene=scene,
                    cwd=scene.work, options=["-v", "--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


def test_a_burst_of_a_screen_s_name_answers_no_question_about_another(
        build: Callable[..., Path], tmp_path: Path, front_screen: str) -> None:
    """screen_alias.c /dev/vcsN written: the program opens the screen in front by /dev/vcsN
    for writing (asked about: the approver answers ``permit burst``), then for reading, under a
    policy that permits by default and asks about reading the screen by its name /dev/vcsaN
    (the approver denies every other question).  The read's question is about /dev/vcsaN
    (close22), but the burst covered any asked call whose own paths were /dev/vcsN: it
    answered the question about /dev/vcsaN, put to nobody, and the screen was read (review
    47; ESCAPED on main 43a787f).  A burst answers a question about its path only.
    (Loop-blind: a run with an approver is the Python loop's alone.)"""
    binary = build("escape/screen_alias.c")
    scene = Scene.make(tmp_path, "traced")
    control = attack(binary, front_screen, "written", policy_text=None, scene=scene)
    assert control.verdict == "ESCAPED", control  # (natively: the technique works)
    attributes = front_screen.replace("/dev/vcs", "/dev/vcsa")
    answers = scene.root / "answers.toml"
    answers.write_text(f'[[answer]]\npath = "{front_screen}"\nanswer = "permit"\n'
                       'scope = "burst"\n\n[[answer]]\nanswer = "deny-now"\n')
    approver = [PYTHON, "-m", "systrace_py.approver", "--rules", str(answers)]
    text = policy(f'calls = ["fswrite"]\npath = "{front_screen}"\naction = "ask"',
                  f'calls = ["fsread"]\npath = "{attributes}"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(binary, front_screen, "written", policy_text=text, scene=scene,
                    options=["-v", "--ask-via", "exec:" + shlex.join(approver)])
    assert_blocked(traced)
    assert "EACCES" in traced.detail, traced


#: an approver for screen_alias.c node threads: the first question about ./node permitted
#: (this call), the second one held until a question about the screen waits, then answered
#: ``permit burst``; questions about the screen denied once two have come; any other denied
SECOND_BURST = """
import json, sys
def send(id_, answer, **more):
    print(json.dumps({"type": "answer", "id": id_, "answer": answer, **more}), flush=True)
nodes, screens, burst = 0, [], None
for line in sys.stdin:
    message = json.loads(line)
    if message.get("type") != "ask":
        continue
    path = message.get("path") or ""
    if path.endswith("/node"):
        nodes += 1
        if nodes == 1:
            send(message["id"], "permit-now")
        else:
            burst = message["id"]
    elif path.startswith("/dev/vcs"):
        screens.append(message["id"])
        if len(screens) == 2:
            for id_ in screens:
                send(id_, "deny-now")
    else:
        send(message["id"], "deny-now")
    if burst is not None and screens:
        send(burst, "permit", scope="burst")
        burst = None
"""


def test_a_burst_settles_no_waiting_question_about_another_name(
        build: Callable[..., Path], tmp_path: Path, front_screen: str) -> None:
    """screen_alias.c /dev/vcsN node threads: two threads of the program open and read its
    own ./node (7,N: console N's screen) at once, under a policy asking about the screens
    (``/dev/vcs*``) and the work directory's files.  One thread's question about ./node is
    permitted (this call) and it waits on a question about /dev/vcsN; the other's question
    about ./node is answered ``permit burst`` -- and settling the waiting asks, the burst
    covered the first thread's call by its path (./node) and was applied to its question
    about the screen, never answered: the screen was read (review 47; ESCAPED on main
    43a787f).  A burst settles a waiting question about its own path only.  (Loop-blind: a
    run with an approver is the Python loop's alone.)"""
    binary = build("escape/screen_alias.c")
    control = attack(binary, front_screen, "node", "threads", policy_text=None, scene=None)
    assert control.verdict == "ESCAPED", control  # (natively: the technique works)
    scene = Scene.make(tmp_path, "traced")
    approver = scene.root / "second_burst.py"
    approver.write_text(SECOND_BURST)
    text = policy('calls = ["fsread"]\npath = "/dev/vcs*"\naction = "ask"\nerrno = "EACCES"',
                  f'calls = ["fsread"]\npath = "{scene.work}/**"\naction = "ask"\n'
                  'errno = "EACCES"')
    traced = attack(binary, front_screen, "node", "threads", policy_text=text, scene=scene,
                    cwd=scene.work, options=["-v", "--ask-via",
                                             f"exec:{shlex.quote(PYTHON)} {approver}"])
    assert_blocked(traced)
    assert "neither thread" in traced.detail, traced
