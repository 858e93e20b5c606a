"""Red team 76: an outsider at the scratch area and the exec stub (docs/security.md,
"Red team 76")."""

from __future__ import annotations

from pathlib import Path

from escape_lib import Scene, assert_blocked, controlled_and_blocked, never, permit, policy


def test_a_forked_child_never_lacks_the_area_it_is_taken_to_have(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """area_dontfork.c: process_madvise(MADV_DONTFORK) on the scratch area (Linux 6.15 takes
    any advice on the caller's own memory; the ranges are in an iovec no filter reads), then a
    fork: the child has no area, which the tracer took it to have (a fork's copy), maps its
    own writable memory there with a hint mmap, and a thread writes the secret's path into
    the slots while the other opens the decoy.  On main (a rule permitting process_madvise)
    the held copy went into the child's memory and the open read the secret, both loops; now
    process_madvise's MADV_DONTFORK is refused whatever its ranges (EPERM) and the child's
    hint lands elsewhere.  Control: natively a flip of the program's own buffer reads it."""
    binary = build("escape/area_dontfork.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("process_madvise"))

    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.secret, s.decoy], rules,
                                       env=loop)
    assert_blocked(traced)
    assert "not the child's to map" in traced.detail, traced
