"""Red team 41: an outsider at namespaces, mounts and roots, as root and as an unprivileged user.

``ns_stale_view.c``: threads share one root.  A call decided in the task's view and carried
out later -- its decision *replayed* at the stop of the same call restarted after the scratch
area's mmap (the first held call of an image), or applied after an injected delay or an
answer -- was looked at again in the view it had been decided in, though a sibling thread's
``chroot`` had changed it meanwhile (every task's view is read again after such a call,
but the replay compared its paths through the old one).  ``open("/secret.txt")``, decided as
the tracer's ``/secret.txt`` (a name that does not exist: permitted), ran under the new root
``SECD`` and read ``SECD/secret.txt`` -- under a ``never fsread`` of that file, as root and
as nobody through a user namespace of its own, both loops.  Now a decision carried out after
a view change is checked again in the view the task has then: a replay is decided anew, a
call that waited is refused (EAGAIN, as a call whose arguments changed while checked).
And with the views of one kind on both sides (a chrooted process moving its root again, its
cwd kept), the name checked again was the same while the spelling held for the kernel -- the
task's own absolute one -- named the secret under the new root: the spelling is compared too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, assert_blocked, attack, policy, read_never, require_real

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the attacks run as root and as nobody (-c)")

NOBODY = "65534:65534"

#: as root (chroot's own right), and as nobody through a user namespace of its own
HOWS = [("root", ()), ("user", ("-c", NOBODY))]


def _world_scene(base: Path, name: str) -> Scene:
    """A scene nobody may read too (but for the rule), and write in ``work``: the attack
    runs as nobody in one case."""
    s = Scene.make(base, name)
    for path in (s.root, s.secd, s.pubd):
        path.chmod(0o755)
    s.work.chmod(0o777)
    s.secret.chmod(0o644)
    return s


@pytest.mark.parametrize(("how", "options"), HOWS, ids=[h for h, _ in HOWS])
def test_a_siblings_chroot_before_a_replayed_decision_runs_changes_what_is_checked(
        build, world_tmp: Path, loop: dict[str, str], how: str,
        options: tuple[str, ...]) -> None:
    """The replay: the first held open of a fresh image becomes the scratch mmap, then
    restarts; a SIGUSR1 that came meanwhile runs its handler at the restart's ``syscall``,
    which spins while the sibling chroots into the secret's directory.  Escaped on main
    within the first attempts, both loops, root and nobody; now the restarted open is
    decided in its new view (the rule's EACCES)."""
    program = Path(shutil.copy(build("escape/ns_stale_view.c"), world_tmp / "ns_stale_view"))
    control_scene = _world_scene(world_tmp, "control")
    control = attack(program, how, control_scene.secd, policy_text=None, scene=control_scene)
    require_real(control)
    s = _world_scene(world_tmp, "traced")
    out = attack(program, how, s.secd, policy_text=read_never(s.secret), scene=s,
                 env=loop, options=options, timeout=240)
    assert_blocked(out)


@pytest.mark.parametrize(("how", "options"), HOWS, ids=[h for h, _ in HOWS])
def test_a_siblings_chroot_while_a_call_is_delayed_changes_what_is_checked(
        build, world_tmp: Path, loop: dict[str, str], how: str,
        options: tuple[str, ...]) -> None:
    """The same window kept open by an inject rule's delay on the open (the sibling chroots
    200 ms into a delay of 2 s).  Escaped on main; now the delayed open is refused with
    EAGAIN: its view changed while it waited."""
    program = Path(shutil.copy(build("escape/ns_stale_view.c"), world_tmp / "ns_stale_view"))
    control_scene = _world_scene(world_tmp, "control")
    control = attack(program, how, control_scene.secd, "delay", policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = _world_scene(world_tmp, "traced")
    delayed = policy(f'calls = ["fsread"]\npath = "{s.secret}"\naction = "never"\n'
                     'errno = "EACCES"',
                     'calls = ["fsread"]\npath = "/secret.txt"\naction = "inject"\n'
                     'delay = "2s"')
    out = attack(program, how, s.secd, "delay", policy_text=delayed, scene=s, env=loop,
                 options=options, timeout=240)
    assert_blocked(out)
    assert "EAGAIN" in out.stdout, out


@pytest.mark.parametrize(("how", "options"), HOWS, ids=[h for h, _ in HOWS])
def test_a_root_moved_with_the_cwd_kept_changes_the_spelling_a_delayed_call_was_held_to(
        build, world_tmp: Path, loop: dict[str, str], how: str,
        options: tuple[str, ...]) -> None:
    """A view of the same kind (not the tracer's tree, before and after): the process is
    chrooted in WORK/r1, its cwd /secd/d; ``open("l")`` (``l`` -> ``../secret.txt``, a
    harmless file) is delayed while the sibling moves the root to SECD's parent and keeps
    the cwd.  "l" reaches the same file, so its name checked again was unchanged -- but the
    spelling held for the kernel, the task's own absolute "/secd/secret.txt", names the
    secret under the new root.  Escaped with the first fix of this red team (names
    compared, not spellings), both loops; now the spelling is compared too (EAGAIN)."""
    program = Path(shutil.copy(build("escape/ns_stale_view.c"), world_tmp / "ns_stale_view"))
    control_scene = _world_scene(world_tmp, "control")
    control = attack(program, how, control_scene.secd, "local", policy_text=None,
                     scene=control_scene)
    require_real(control)
    s = _world_scene(world_tmp, "traced")
    harmless = s.work / "r1" / "secd" / "secret.txt"
    delayed = policy(f'calls = ["fsread"]\npath = "{s.secret}"\naction = "never"\n'
                     'errno = "EACCES"',
                     f'calls = ["fsread"]\npath = "{harmless}"\naction = "inject"\n'
                     'delay = "2s"')
    out = attack(program, how, s.secd, "local", policy_text=delayed, scene=s, env=loop,
                 options=options, timeout=240)
    assert_blocked(out)
    assert "EAGAIN" in out.stdout, out
