"""Review 15: a hostile reading of the previous session's merged change (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 15")."""

from __future__ import annotations

from escape_lib import Scene, attack, controlled_and_blocked, never, policy


def test_walking_through_a_refused_directory_with_a_unix_sockets_address(build, tmp_path,
                                                                        loop):
    """Red team 26's walk through a refused directory, by a unix socket's address: under
    `never fsread DIR/**` (default permit) connect, sendto and bind through `DIR/lnk`
    (-> WORK) and `DIR/sub/../..` reach the program's own sockets in WORK and tell where
    `DIR/lnk` leads and that `DIR/sub` is a directory -- what a readlink or stat of them is
    refused for.  An address is a path the kernel looks up, as an open's is."""
    def setup(s: Scene) -> None:
        (s.secd / "lnk").symlink_to(s.work)
        (s.secd / "sub").mkdir()

    traced, s = controlled_and_blocked(
        tmp_path, build("escape/path_traverse_socket.c"), lambda s: [s.secd, s.work],
        lambda s: policy(never("fsread", path=f"{s.secd}/**")), setup=setup, env=loop)
    assert "readlink" in traced.stdout and "EACCES" in traced.stdout, traced
    assert not (s.work / "made").exists(), traced


def test_unix_sockets_reached_through_a_permitted_directory_work_as_natively(build, tmp_path,
                                                                            loop):
    """The same addresses through a directory no rule names: every one as natively (the
    calls now stop under such a policy, and are permitted)."""
    s = Scene.make(tmp_path)
    (s.pubd / "lnk").symlink_to(s.work)
    (s.pubd / "sub").mkdir()
    program = build("escape/path_traverse_socket.c")
    native = attack(program, s.pubd, s.work, policy_text=None, scene=s)
    for made in ("srv", "dsrv", "made"):
        (s.work / made).unlink()
    traced = attack(program, s.pubd, s.work, env=loop, scene=s,
                    policy_text=policy(never("fsread", path=f"{s.secd}/**")))
    assert native.verdict == traced.verdict == "ESCAPED" and native.detail == traced.detail, \
        (native, traced)
