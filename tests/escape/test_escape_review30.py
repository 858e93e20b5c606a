"""Review 30 (a hostile reading of gap44), the finding outside the loop driver: a removed
file is named by /proc ``PATH (deleted)``, which a rule naming ``PATH`` exactly did not match
-- a file opened for writing only, removed, then reopened for reading through its
/proc/self/fd magic link was read.  Now a removed file is decided by ``PATH`` too (the
strictest of the two: Supervisor._decide, decode._former_names).  (The loop attach's own
case: test_escape_gap44.py.)"""

from __future__ import annotations

from pathlib import Path

from escape_lib import Scene, attack, controlled_and_blocked, never, permit, policy


def test_a_removed_file_reopened_through_its_descriptor_is_decided_by_its_name(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """A permit-default table with one ``never fsread`` rule naming the secret: open it for
    writing (permitted), unlink it (permitted), open ``/proc/self/fd/N`` for reading.  On
    main da3cad3 the secret was read, both loops; now the rule's EACCES.  Control: natively
    read."""
    program = build("escape/reopen_deleted.c")
    traced, _ = controlled_and_blocked(tmp_path, program, lambda s: [s.secret],
                                       lambda s: policy(never("fsread", path=str(s.secret))),
                                       env=loop)
    assert traced.detail.startswith("open /proc/self/fd/"), str(traced)
    assert traced.detail.endswith(": EACCES"), str(traced)


def test_a_removed_file_of_a_permitted_directory_is_still_used(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The same under an allowlist that reads and writes the secret's directory by a glob:
    the reopen works (the removed name and the former one are both the glob's)."""
    program = build("escape/reopen_deleted.c")
    start = [permit("stdio"), permit("process")]
    start += [permit(["fsread", "exec"], path=p)
              for p in ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**",
                        f"{program.parent}/**"]]
    scene = Scene.make(tmp_path, "glob")
    text = policy(*start, permit(["fsread", "fswrite"], path=f"{scene.secret.parent}/**"),
                  default="never")
    outcome = attack(program, scene.secret, policy_text=text, scene=scene, env=loop)
    assert outcome.verdict == "ESCAPED", str(outcome)
