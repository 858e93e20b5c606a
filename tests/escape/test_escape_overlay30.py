"""overlay30: an overlay's layer redirects (review 29 left them untested).  Review 27
compares an overlay's layers as read-only binds of their directories on its target.  An
overlay follows a lower directory's redirect (``trusted.overlay.redirect``: on this
kernel's defaults, redirect_always_follow=Y) and, with metacopy=on, a metacopy file's (its
data another lower file's): a lower file is shown at another name below the target than its
path in the layer.  Review 29 feared the comparison maps LAYER/P to TARGET/P, so that a
table granting alike at both sides of every P -- the secret's ``secd`` refused below the
layer and below the target, ``x`` read below both -- would let MID/x, redirected to
"/secd", show the secret at ``TARGET/x/secret.txt``.  It does not: below the two
directories the comparison (model._outcomes with ``below``) pairs every way the rules may
come out under the layer with every way under the target, not place by place, so a layer
with a refused file anywhere below it is no lower layer of a target with a readable name
anywhere below it -- wherever a redirect moves the file.  The kernel refuses a redirect to
a layer's root itself ("/": EINVAL; "/.", "..": EACCES at the lookup), so a redirect
always shows a file from below a layer below the target.  These tests guard that: the
attack (fs_overlay_redirect.c; root; a native control each; both stop loops) is refused at
the mount, EPERM, by the linked comparison -- on main 00a71b0 as now; and where every name
below the layers is read as every name below the target, the redirected overlay runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import SYSTRACE, Scene, attack, controlled_and_blocked, permit, policy

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="trusted.* xattrs and the mounts need root")


def mid_of(s: Scene) -> Path:
    """A layer beside the scene (a layer may not hold another: overlay's EBUSY/ELOOP)."""
    return s.root.parent / f"{s.root.name}-mid"


def target_of(s: Scene) -> Path:
    """The overlay's target, beside the scene too (inside the lower layer ROOT it would
    show ROOT again below itself: no table grants both alike)."""
    return s.root.parent / f"{s.root.name}-out"


def setup(s: Scene) -> None:
    mid_of(s).mkdir()
    target_of(s).mkdir()


def args(mode: str, options: str = "") -> Callable[[Scene], list[object]]:
    return lambda s: [mode, s.secret, mid_of(s), target_of(s), options]


def mirrored_policy(s: Scene, program: Path) -> str:
    """What the program needs to start; namespaces and mounts; MID written; below the
    scene's root and below the overlay's target alike: the directory itself, ``work``,
    ``pubd``, ``x`` and ``y`` read, everything looked at (fsmeta: what a mount of a
    directory needs) -- no rule reads ``secd`` (the default refuses it on both sides) -- so
    each layer's names are granted alike at the layer and at the target."""
    rules = [permit("stdio"), permit("process"), permit("namespace")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    for top in (s.root, target_of(s)):
        rules += [permit("fsread", path=str(top)), permit("fsread", path=f"{top}/y")]
        rules += [permit("fsread", path=f"{top}/{d}/**") for d in ("work", "pubd", "x")]
    for top in (s.root, target_of(s)):
        rules += [permit("fsmeta", path=str(top)), permit("fsmeta", path=f"{top}/**")]
    rules += [permit(["fsread", "fswrite"], path=str(mid_of(s))),
              permit(["fsread", "fswrite"], path=f"{mid_of(s)}/**")]
    return policy(*rules, default="never")


CASES = [("dir", ""), ("dir", "redirect_dir=follow"), ("metacopy", "metacopy=on")]


@pytest.mark.parametrize(("mode", "options"), CASES, ids=[f"{m}-{o or 'defaults'}"
                                                          for m, o in CASES])
def test_a_redirected_layer_is_compared_wherever_it_shows_a_file(
        build, tmp_path: Path, mode: str, options: str, loop: dict[str, str]) -> None:
    """Control: natively the secret is read at ``TARGET/x/secret.txt`` (``dir``: a redirect
    on MID/x; with no option, where this kernel's overlay follows redirects by default, and
    with redirect_dir=follow) or ``TARGET/y`` (``metacopy``: MID/y a metacopy file
    redirected to the secret).  Under the mirrored table: the mount is refused, EPERM, by
    the linked comparison (ROOT has a refused file below it, TARGET a readable name) --
    not ESCAPED on main 00a71b0 either, both loops: a guard, no fix."""
    program = build("escape/fs_overlay_redirect.c")
    traced, _ = controlled_and_blocked(tmp_path, program, args(mode, options),
                                       lambda s: mirrored_policy(s, program), setup=setup,
                                       env=loop, options=["-v"])
    assert traced.detail.startswith("mount overlay"), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)
    assert f"give {traced.argv[2].rsplit('/', 2)[0]}, by its new name" in traced.stderr, \
        str(traced)  # (ROOT, the lower layer, refused by the comparison)


def test_a_redirected_overlay_whose_layers_are_read_alike_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Everything below ROOT is read, as below the target: the redirected overlay gives no
    file a name it gains by, and runs as natively (the secret, which the table reads by its
    own name, is read at ``TARGET/x/secret.txt``)."""
    program = build("escape/fs_overlay_redirect.c")
    s = Scene.make(tmp_path)
    setup(s)
    text = mirrored_policy(s, program) + "\n[[rule]]\n" + \
        permit("fsread", path=f"{s.root}/**") + "\n"
    traced = attack(program, *args("dir")(s), policy_text=text, scene=s, env=loop)
    assert traced.detail.endswith("x/secret.txt"), str(traced)
    assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)


# --- MOVE_MOUNT_BENEATH ------------------------------------------------------------------------

#: The tracer's namespace (a private copy made for the test, the control and systrace both
#: run in one): the scene's root a shared mount (or private: ``--make-private``), a private
#: tmpfs on its ``secd`` -- then the command; then, as the user would, the tmpfs unmounted
#: and ``secd`` looked at.
BENEATH_HOST = """S=$1; SHARING=$2; shift 2
mount --bind "$S" "$S" && mount "$SHARING" "$S" && mount -t tmpfs top "$S/secd" &&
  mount --make-private "$S/secd" || { echo "SKIPPED: no shared scene here"; exit 0; }
"$@"
umount "$S/secd" && cat "$S/secd/planted" 2>/dev/null
"""
PLANTED = "PLANTED-c4a1"


def beneath_policy(s: Scene, program: Path) -> str:
    """What the program needs to start; namespaces and mounts; ``work`` read, written and
    looked at; no rule names ``secd`` (the default refuses it)."""
    rules = [permit("stdio"), permit("process"), permit("namespace")]
    rules += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    rules += [permit(["fsread", "fswrite", "fsmeta"], path=p)
              for p in (str(s.work), f"{s.work}/**")]
    return policy(*rules, default="never")


def test_a_mount_beneath_a_private_top_on_a_shared_parent_is_decided_as_seen(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """MOVE_MOUNT_BENEATH (fs_mount_beneath.c): the program's namespace is a copy of the
    tracer's, ``secd``'s top mount a private copy, its parent shared.  The tree planted
    beneath it propagates by the parent's peer group into the tracer's namespace, tucked
    beneath its mount on ``secd``: once the user unmounts that, ``secd`` shows the planted
    file (the control).  The table grants nothing of ``secd``: covering it where others
    see it is refused -- but the engine looked at the private top alone (_top_of_stack),
    took the move for one no one else sees, and let it run (ESCAPED on main 00a71b0, both
    loops).  Now a beneath move counts the top's parent's propagation: refused, EPERM."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    program = build("escape/fs_mount_beneath.c")
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", BENEATH_HOST, "sh"]

    def scene(name: str) -> Scene:
        s = Scene.make(tmp_path, name)
        (s.work / "fake").mkdir()
        (s.work / "fake" / "planted").write_text(PLANTED + "\n")
        return s

    s = scene("control")
    native = attack(wrapper[0], *wrapper[1:], s.root, "--make-shared", program,
                    s.work / "fake", s.secd, policy_text=None, scene=s)
    if native.verdict == "SKIPPED":
        pytest.skip(native.detail)
    assert native.verdict == "ESCAPED" and PLANTED in native.stdout, str(native)
    s = scene("traced")
    traced = attack(program, s.work / "fake", s.secd, policy_text=beneath_policy(s, program),
                    scene=s, env=loop, options=["-v"],
                    tracer=[*wrapper, str(s.root), "--make-shared", *SYSTRACE])
    assert PLANTED not in traced.stdout, str(traced)
    assert "refused move_mount" in traced.stderr, str(traced)
    assert traced.verdict == "BLOCKED" and traced.detail.startswith("move_mount beneath") \
        and traced.detail.endswith(": EPERM"), str(traced)


def test_a_mount_beneath_a_private_top_on_a_private_parent_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same move where the scene's root is private in the tracer's namespace: the copy
    beneath the program's top propagates nowhere -- seen by the tree alone, and run as
    natively (the tracer's namespace shows no planted file after its unmount)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    program = build("escape/fs_mount_beneath.c")
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", BENEATH_HOST, "sh"]
    s = Scene.make(tmp_path)
    (s.work / "fake").mkdir()
    (s.work / "fake" / "planted").write_text(PLANTED + "\n")
    traced = attack(program, s.work / "fake", s.secd, policy_text=beneath_policy(s, program),
                    scene=s, env=loop,
                    tracer=[*wrapper, str(s.root), "--make-private", *SYSTRACE])
    if traced.verdict == "SKIPPED":
        pytest.skip(traced.detail)
    assert traced.verdict == "ESCAPED", str(traced)  # (the move itself ran: no cover seen)
    assert PLANTED not in traced.stdout, str(traced)
