"""Review 52: a hostile reading of close 23 (docs/security.md, "Review 52").

The scratch area is read-only to the program, and close 23 checks a forked child's copy of it
before its first use -- but what is *in* the area is the tracer's only while nothing else can
put pages there.  A userfaultfd registered over the area fills each of its missing pages, read-only
or not, with whatever its reader gives (UFFDIO_COPY), and process_madvise (on the caller's own
memory: any advice since Linux 6.15, its ranges in an iovec no filter reads) makes the tracer's
held copy missing again after it was written: the kernel's read of it then waits for the
reader."""

from __future__ import annotations

from pathlib import Path

from escape_lib import Scene, controlled_and_blocked, never, permit, policy


def test_a_held_copy_taken_away_and_refilled_by_a_userfaultfd(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """area_uffd_refill.c: a userfaultfd registered over the area (MISSING mode; a private
    mapping has VM_MAYWRITE, read-only or not), one thread dropping the first page of the first
    slots with process_madvise(MADV_DONTNEED) and reading it back at once, another answering
    each fault with a page whose path is the secret's, while the main thread opens the decoy:
    the tracer checked the decoy and wrote its copy, the page was dropped, and the kernel's read
    of the copy took the reader's page.  Policy: ``never`` fsread of the secret's directory,
    ``permit`` userfaultfd and process_madvise (unsafe calls).  ESCAPED on main (d8931bd) on
    both loops within a few dozen to a few hundred opens; now process_madvise takes only the
    advice that keeps a page's contents (MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED,
    MADV_COLLAPSE) and the drop is refused (EPERM).  Control: natively (no area: the register
    fails) a flip of the program's own buffer reads the secret."""
    binary = build("escape/area_uffd_refill.c", "-pthread")

    def rules(s: Scene) -> str:
        return policy(never("fsread", path=f"{s.secd}/**"), permit("userfaultfd"),
                      permit("process_madvise"))

    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [s.secret, s.decoy], rules,
                                       env=loop)
    assert "UFFDIO_REGISTER of the area: ok" in traced.stdout, traced  # (that door is open)
    assert "process_madvise(MADV_DONTNEED) of the area: EPERM" in traced.stdout, traced
    assert "0 zaps" in traced.detail, traced


def test_process_madvise_takes_only_the_advice_that_keeps_the_pages() -> None:
    """The guard's cases (syscalls._none_of: aligned blocks, one compare each) refuse every
    whole register but MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT and MADV_COLLAPSE -- each value
    the kernel knows, the high half set, and the values past the last."""
    import errno
    import os

    from systrace_py.engine.seccomp import guard_refusal

    values = [*range(0, 130), 0xFFFFFFFF, 1 << 32 | 3, 1 << 32 | 20, 1 << 63 | 21, (1 << 64) - 1]
    let = [v for v in values if guard_refusal("process_madvise", (3, 0, 1, v, 0), os.getpid())
           is None]
    assert let == [3, 20, 21, 25]
    assert guard_refusal("process_madvise", (3, 0, 1, 4, 0), os.getpid()) == errno.EPERM
