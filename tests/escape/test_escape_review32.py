"""Review 32: an erofs mount(2) given fscache's options (``fsid=``, ``domain_id=``) takes its
data from the blob a cookie names -- cached by any earlier mount, another image's too, or
served by a cachefiles daemon (CONFIG_EROFS_FS_ONDEMAND) --, not from the file its source
names, which mounts29 decides as the image read.  Refused where a rule decides by name, as a
type whose options the engine cannot read.  This machine's kernel is built without
ONDEMAND (it ignores the two options: the image is mounted, natively and on main): the test
is of the decision, not an escape here.  fs_linked_bind.c's ``device`` mode with
ATTACK_MOUNT_DATA; both stop loops.

And a link into a directory of the root mount that a bind shows elsewhere (review 29's
``aliased`` joined its path as ``//dir``): coreutils ln and cat, a native control."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import SECRET_MAGIC, SYSTRACE, Scene, attack, never
from test_escape_review28 import one_rule, setup_image

from conftest import systrace_env

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the attacks and controls run as root"),
    pytest.mark.skipif(shutil.which("mkfs.erofs") is None, reason="no mkfs.erofs"),
]


@pytest.mark.parametrize("data", ["fsid=img", "domain_id=d,fsid=img", "ro,domain_id=d"])
def test_an_erofs_mount_over_fscache_is_refused_where_a_rule_decides_by_name(
        build, tmp_path: Path, data: str, loop: dict[str, str]) -> None:
    """A permit-default table with one path rule (on ``pubd``), which mounts29 lets mount
    and read the image (test_a_file_backed_image_the_table_may_read_is_mounted): given
    ``fsid``/``domain_id`` the mount is refused, EPERM (on main 85820bd: ESCAPED -- the
    mount ran, both loops)."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_image(s)
    traced = attack(program, "device", "root", s.secret, s.work, s.secd / "secret.img",
                    "erofs", "secret.txt", policy_text=one_rule(s, never(
                        "fsread", path=f"{s.pubd}/**")),
                    scene=s, env={**loop, "ATTACK_MOUNT_DATA": data})
    assert traced.verdict == "BLOCKED", str(traced)
    assert traced.detail.startswith("mount ") and traced.detail.endswith(": EPERM"), \
        str(traced)


def test_an_erofs_mount_without_fscache_options_still_runs(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Options that name no blob (``ro``, ``user_xattr``) leave mounts29's decision: the
    same table mounts the image and reads it."""
    program = build("escape/fs_linked_bind.c")
    s = Scene.make(tmp_path)
    setup_image(s)
    traced = attack(program, "device", "root", s.secret, s.work, s.secd / "secret.img",
                    "erofs", "secret.txt", policy_text=one_rule(s, never(
                        "fsread", path=f"{s.pubd}/**")),
                    scene=s, env={**loop, "ATTACK_MOUNT_DATA": "ro,user_xattr"})
    assert traced.verdict == "ESCAPED", str(traced)  # (the table may read it: no escape)


def _alias_policy(root: Path, ln: str, cat: str) -> str:
    """Tables that decide by name (default never): the shell runs ln and cat; ln may link
    (and write) in ``secd`` and ``work`` -- no read of either --; cat reads ``view/**`` alone.
    By the names the link spells, no table gains an access."""
    libs = 'path = "/{usr,etc,lib,lib64}/**"'
    common = 'calls = ["fsmeta", "stdio", "process"]\naction = "permit"'
    text = (f'default = "never"\n[[rule]]\n{common}\n[[rule]]\ncalls = ["exec", "fsread"]\n'
            f'{libs}\naction = "permit"\n')
    for program, rule in ((ln, f'calls = ["fslink", "fswrite"]\npath = "{root}/{{secd,work}}/**"'),
                          (cat, f'calls = ["fsread"]\npath = "{root}/view/**"')):
        text += (f'\n[program."{program}"]\ndefault = "never"\n'
                 f'[[program."{program}".rule]]\n{common}\n'
                 f'[[program."{program}".rule]]\ncalls = ["fsread"]\n{libs}\naction = "permit"\n'
                 f'[[program."{program}".rule]]\n{rule}\naction = "permit"\n')
    return text


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_a_link_into_a_directory_of_the_root_mount_another_mount_shows_is_refused(
        tmp_path: Path, loop: dict[str, str]) -> None:
    """Review 29's ``DecodedCall.aliased`` never saw another mount show a directory of the
    root mount ("/"): its path inside the file system was joined as ``//dir`` (normpath
    keeps two leading slashes), which no other mount's root matched.  A bind of ``work``
    on ``view`` made before the run (a container's, here by the tracer's wrapper in a
    private mount namespace); ``ln secd/s work/out`` -- compared by those names, which
    neither table reads -- then ``cat view/out``, the same entry by the name cat's table
    reads: ESCAPED on main 85820bd, both loops, where ``tmp_path`` lies on the root mount
    (this machine's /tmp).  Now refused, EPERM.  Control: natively cat reads the secret."""
    root = tmp_path.resolve()
    for name in ("secd", "work", "view"):
        (root / name).mkdir()
    (root / "secd" / "s").write_text(f"{SECRET_MAGIC}\n")
    ln, cat = (os.path.realpath(shutil.which(p) or p) for p in ("ln", "cat"))
    (root / "policy.toml").write_text(_alias_policy(root, ln, cat))
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind "{root}/work" "{root}/view" && exec "$@"', "sh"]
    command = ["sh", "-c", "ln secd/s work/out && cat view/out"]
    native = subprocess.run([*wrapper, *command], cwd=root, capture_output=True, text=True,
                            timeout=60, check=False)
    assert SECRET_MAGIC in native.stdout, native
    (root / "work" / "out").unlink()
    traced = subprocess.run([*wrapper, *SYSTRACE, "-v", "-p", str(root / "policy.toml"), "--",
                             *command], cwd=root, capture_output=True, text=True, timeout=120,
                            env=systrace_env(loop), check=False)
    assert SECRET_MAGIC not in traced.stdout, traced
    assert not (root / "work" / "out").exists(), traced
    assert "refused linkat" in traced.stderr and "EPERM" in traced.stderr, traced


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
@pytest.mark.parametrize("policy", ["permit-default", "tables"])
def test_a_rename_in_a_directory_another_mount_shows_runs_where_no_name_gains(
        tmp_path: Path, loop: dict[str, str], policy: str) -> None:
    """The other names a bind gives the new name's directory are compared, not refused: an
    ordinary ``mv`` and ``ln`` in ``work``, bound on ``view`` too (a container with the work
    tree mounted twice), run as natively -- under a permit-default table with one unrelated
    rule, and under the tables above for files no table treats apart.  After review 32's fix
    review 29's refusal of every link or rename into such a directory (where a rule decides
    by name) applied on the root mount too: ``mv a b`` got EPERM under every policy."""
    root = tmp_path.resolve()
    for name in ("secd", "work", "view"):
        (root / name).mkdir()
    (root / "work" / "a").write_text("a\n")
    ln, cat = (os.path.realpath(shutil.which(p) or p) for p in ("ln", "cat"))
    mv = os.path.realpath(shutil.which("mv") or "mv")
    if policy == "permit-default":
        text = f'default = "permit"\n[[rule]]\ncalls = ["fsread"]\npath = "{root}/secd/**"\n' \
               'action = "never"\n'
    else:
        text = _alias_policy(root, ln, cat) + _alias_policy(root, mv, cat).split(
            f'[program."{cat}"]')[0].split("\n[program.", 1)[1].join(["\n[program.", ""])
    (root / "policy.toml").write_text(text)
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'mount --bind "{root}/work" "{root}/view" && exec "$@"', "sh"]
    command = ["sh", "-c", "mv work/a work/b && ln work/b work/c && cat view/c"]
    traced = subprocess.run([*wrapper, *SYSTRACE, "-v", "-p", str(root / "policy.toml"), "--",
                             *command], cwd=root, capture_output=True, text=True, timeout=120,
                            env=systrace_env(loop), check=False)
    assert traced.returncode == 0 and traced.stdout == "a\n", traced
    assert (root / "work" / "b").exists() and (root / "work" / "c").exists(), traced
