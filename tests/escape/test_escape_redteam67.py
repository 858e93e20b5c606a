"""Red team 67: an outsider at what the kernel opens later, at an exec no call names.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Red team 67")."""

from __future__ import annotations

from pathlib import Path

from escape_lib import Scene, assert_blocked, attack, read_never, require_real


def test_a_binfmt_misc_chain_hands_the_exec_no_file_a_rule_refuses(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A user namespace's own binfmt_misc (Linux 6.7) registers ``*.aaa`` to be run by the
    secret and the secret's extension to be run by ``x.bin`` with flag O; the exec of
    ``x.aaa`` -- ``x.bin``'s very inode, so the exe check sees the file it checked -- runs
    x.aaa -> secret -> x.bin, and the kernel hands x.bin the secret open for reading
    (AT_EXECFD): ESCAPED on main, both loops.  Now a binfmt_misc mount is one of a type the
    engine does not read (views.LATER_PATH_FILESYSTEMS): refused where a rule could care."""
    program = build("escape/binfmt_chain.c")

    def args(scene: Scene) -> list[object]:
        scene.secret.chmod(0o755)  # (open_exec checks MAY_EXEC: root needs one x bit)
        return [scene.secret, scene.work]

    native = Scene.make(tmp_path, "control")
    require_real(attack(program, *args(native), policy_text=None, scene=native))
    scene = Scene.make(tmp_path, "traced")
    traced = attack(program, *args(scene), policy_text=read_never(scene.secd / "**"),
                    scene=scene, env=loop)
    assert_blocked(traced)
    assert traced.detail == "mount of binfmt_misc refused: EPERM", traced
