"""Red team 66: an outsider at device files whose object is chosen by who (or when) reads
(docs/security.md, "Red team 66").

/dev/vcs, /dev/vcsu and /dev/vcsa (7,0, 7,64, 7,128) are the screen of the virtual console in
front, chosen again at each read (the kernel's vcs_vc): the console /dev/vcsN names.  A rule
that refuses a console's screen by its name (/dev/vcsN) must refuse the names that may stand
for it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, assert_blocked, controlled_and_blocked, never, policy


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
