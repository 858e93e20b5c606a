"""Review 62: a ``fresh`` path rule's note of a name outlives the run's file at that name
where the call that replaces or removes it is one the prefilter lets run unstopped.

``Decoder.made`` notes the run's files by *name*; docs/policy.md: "a name removed by
``unlink``, ``rmdir``, a rename away or an exchange is forgotten ... nor does a hard link
of an older file, or a rename over one [make it the run's]".  Both hold only for a call the
tracer stops.  Under ``permit openat W/** fresh`` then ``never openat W/**`` (no rule looks
at a rename's or a removal's path, so the prefilter lets ``rename``/``unlinkat`` run without
a stop) the run makes ``W/x``, moves the older secret over it (``mv``) -- or removes it and
lets another process's file come to the name, or deletes the btrfs subvolume holding it
(close 31: no remove call at all) -- and reads the secret at ``W/x`` as its own."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, attack, never, permit, policy

READ = (f'if cat "$1" 2>/dev/null | grep -q {SECRET_MAGIC}; then echo "ESCAPED: read $1"; '
        'else echo "BLOCKED: $1 kept"; fi')
#: the run's own file W/x, the older secret moved over it, then read at W/x
MOVE_OVER = ('echo mine > "$1/x" || exit 1; mv -f "$1/secret.txt" "$1/x" 2>/dev/null || '
             '{ echo "BLOCKED: the move refused"; exit 0; }; '
             f'if grep -q {SECRET_MAGIC} "$1/x" 2>/dev/null; then '
             'echo "ESCAPED: the older secret read at the run\'s name"; '
             'else echo "BLOCKED: refused at the run\'s name"; fi')


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    work.mkdir()
    (work / "secret.txt").write_text(SECRET_MAGIC + "\n")
    return work


def _table(work: Path, stopped: bool = False) -> str:
    """``stopped``: a rule that looks at a removal's path too (so the filter stops it)."""
    return policy(permit("openat", path=f"{work}/**", fresh=True),
                  never("openat", path=f"{work}/**"),
                  *([permit(["unlinkat", "unlink"], path=f"{work}/**")] if stopped else []))


#: the run makes W/x, removes it, says so ("lost"), waits for another process's file at the
#: name ("ready") and reads W/x
REMOVED = ('echo mine > "$1/x" || exit 1; rm -f "$1/x"; : > "$1/lost"; i=0; '
           'while [ ! -e "$1/ready" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; '
           f'if grep -q {SECRET_MAGIC} "$1/x" 2>/dev/null; then '
           'echo "ESCAPED: read an outsider\'s file as the run\'s own"; '
           'else echo "BLOCKED: the outsider\'s file kept"; fi')


def _outsider(work: Path, found: list[bool]) -> None:
    """Another process's file (a new one) put at W/x once the run's is gone ("lost")."""
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not (work / "lost").exists():
        time.sleep(0.05)
    found.append((work / "x").exists())
    (work / "x").write_text(SECRET_MAGIC + "\n")
    (work / "ready").write_text("")


def test_native_control_an_outsiders_file_at_a_removed_name_is_read(tmp_path: Path) -> None:
    work = _work(tmp_path)
    found: list[bool] = []
    outsider = threading.Thread(target=_outsider, args=(work, found))
    outsider.start()
    try:
        native = attack("sh", "-c", REMOVED, "sh", work, policy_text=None, scene=None,
                        timeout=40)
    finally:
        outsider.join()
    assert found == [False] and native.verdict == "ESCAPED", str(native)


@pytest.mark.parametrize("removal", ["unstopped", "stopped"])
def test_a_removed_file_of_the_runs_leaves_no_fresh_note(
        tmp_path: Path, removal: str, loop: dict[str, str]) -> None:
    """``rm`` of the run's own W/x, then another process's file at W/x: none of the run's
    (docs/policy.md).  ``stopped`` (the control: a rule on unlinkat's path, so the filter
    stops it and the tracer forgets the note) is BLOCKED; ``unstopped`` (no rule on a
    removal: the prefilter lets unlinkat run and the tracer never sees it) reads the
    outsider's file as the run's own -- ESCAPED on main 67cd5b90, both loops."""
    work = _work(tmp_path)
    table = _table(work, stopped=removal == "stopped")
    found: list[bool] = []
    outsider = threading.Thread(target=_outsider, args=(work, found))
    outsider.start()
    try:
        traced = attack("sh", "-c", REMOVED, "sh", work, policy_text=table, scene=None,
                        env=loop, timeout=40)
    finally:
        outsider.join()
    assert found == [False], f"the run's own file was not removed:\n{traced}"
    assert traced.verdict == "BLOCKED", str(traced)


def test_native_control_moving_the_secret_over_a_file_reads_it(tmp_path: Path) -> None:
    work = _work(tmp_path)
    native = attack("sh", "-c", MOVE_OVER, "sh", work, policy_text=None, scene=None)
    assert native.verdict == "ESCAPED", str(native)


def test_an_older_file_moved_over_the_runs_own_is_not_the_runs(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Held: the table keeps the secret (``cat`` of it: BLOCKED), and ``mv`` of it over the
    run's own ``W/x`` is refused (the rename is stopped and decided as a link: the new name
    would gain the ``fresh`` read) -- passes on main 67cd5b90."""
    work = _work(tmp_path)
    table = _table(work)
    direct = attack("sh", "-c", READ, "sh", work / "secret.txt", policy_text=table,
                    scene=None, env=loop)
    assert direct.verdict == "BLOCKED", f"the table does not keep the secret:\n{direct}"
    traced = attack("sh", "-c", MOVE_OVER, "sh", work, policy_text=table, scene=None,
                    env=loop)
    assert traced.verdict == "BLOCKED", str(traced)
