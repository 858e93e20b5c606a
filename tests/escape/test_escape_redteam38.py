"""Red team 38: an outsider at the tracer's error paths (issue 11) -- what the engine does
when its own look at a call fails, and whether any such failure lets the call run.

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not escape (docs/security.md, "Red team 38")."""

from __future__ import annotations

from pathlib import Path

from escape_lib import controlled_and_blocked, never, policy


def test_a_descriptor_the_tracer_cannot_look_at_is_not_an_unnamed_file(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """fd_limit.c: under ``never fswrite`` of the secret's directory (reading it permitted),
    the program opens the secret for reading, makes the resolver strict (unshare(0)), and
    lowers the tracer's RLIMIT_NOFILE with prlimit64 (permitted: a denial of service) step
    by step, fchmodding the descriptor at each limit.  The resolver named a descriptor it
    could not open /proc/TID/fd/N for "fd:N" -- whatever the reason -- and no path rule
    matches that name: at a limit the tracer's opens failed EMFILE, the fchmod was permitted
    and changed the secret's mode (ESCAPED on main, both loops).  Now a look that fails for
    the tracer's own limit (EMFILE, ENFILE, ENOMEM) refuses the call; only a descriptor the
    task does not have is "fd:N" (the kernel answers EBADF).  Control: natively the fchmod
    changes the mode."""
    traced, _scene = controlled_and_blocked(
        tmp_path, build("escape/fd_limit.c"), lambda s: ["fchmod", s.secret],
        lambda s: policy(never("fswrite", path=f"{s.secd}/**")), env=loop)
    assert "limit 0" in traced.stdout  # (it went all the way down: every limit was tried)
