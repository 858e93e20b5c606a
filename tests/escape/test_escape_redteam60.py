"""Red team 60: an outsider at the kernel's newest surface and at the native loop's own model
(docs/security.md, "Red team 60").

A lookup whose answer depends on who looks: names in an fscrypt directory with a v1 policy are
decrypted with a key found in the *looker's* keyrings.  A program that adds such a key to a
session keyring of its own sees a symlink where the tracer, resolving the same name before the
kernel, sees a missing name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from escape_lib import Scene, attached_run, controlled_and_blocked, never, policy

from conftest import PYTHON, run_systrace, systrace_env

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mkfs.ext4") is None
    or not os.path.exists("/dev/loop-control"),
    reason="an ext4 image that takes encryption: root, mkfs.ext4, loop devices")


@pytest.fixture(scope="module")
def encrypting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small ext4 with the encrypt feature, mounted (one for the module's runs)."""
    base = tmp_path_factory.mktemp("fscrypt")
    image, mount = base / "image", base / "mnt"
    mount.mkdir()
    with open(image, "wb") as f:
        f.truncate(4 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-O", "encrypt", str(image)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 -O encrypt: {made.stderr.strip()}")
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mount -o loop: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _fs_never(s: Scene) -> str:
    return policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))


def _planting(binary: Path, encrypting: Path
              ) -> tuple[Callable[[Scene], Path], Callable[[Scene], None]]:
    """Where a scene's encrypted directory goes, and its planting (the program's "make",
    natively, before the run: an encrypted directory with its link made earlier)."""

    def place(s: Scene) -> Path:  # (each run a directory of its own: a policy is set once)
        return encrypting / f"{s.root.parent.name}-{s.root.name}"

    def plant(s: Scene) -> None:
        place(s).mkdir()
        made = subprocess.run([binary, place(s), s.secret, "make"], capture_output=True,
                              text=True, check=False)
        if "SKIPPED" in made.stdout:
            pytest.skip(made.stdout.strip())
        assert "BLOCKED: made" in made.stdout, made.stdout + made.stderr

    return place, plant


def test_a_name_only_the_programs_own_key_decrypts_is_not_taken_on_the_tracers_word(
        build: Callable[..., Path], tmp_path: Path, encrypting: Path,
        loop: dict[str, str]) -> None:
    """fscrypt_keyring.c: a symlink to the secret in a directory of a v1 policy, planted
    before the run (the program's "make", natively); the program adds the policy's key to a
    session keyring of its own and opens the link.  The tracer, without the key, found "link"
    missing (a no-key name) -- or, with the directory's key cached, the link's target as its
    ciphertext --; the kernel, for the program, followed it to the secret: ESCAPED on main,
    both loops.  Now the key's add_key stops, and the open, through an encrypted directory,
    is held (no symlink followed: ELOOP)."""
    binary = build("escape/fscrypt_keyring.c")
    place, plant = _planting(binary, encrypting)
    traced, _ = controlled_and_blocked(tmp_path, binary, lambda s: [place(s), s.secret, "open"],
                                       _fs_never, setup=plant, env=loop)
    # (ELOOP: the held open met the link.  EACCES, the rule's, only where the caches kept
    # the directory's key -- every lookup then reads plaintext, the tracer's too)
    assert "ELOOP" in traced.stdout or "EACCES" in traced.stdout, traced


def test_a_keyring_linked_in_by_get_persistent_is_the_programs_own(
        build: Callable[..., Path], tmp_path: Path, encrypting: Path,
        loop: dict[str, str]) -> None:
    """Review 41: the key is in the user's persistent keyring ("stash", natively, before
    the run) -- a keyring nobody searches until one links it in -- and the program links it
    into its own thread keyring with keyctl(KEYCTL_GET_PERSISTENT), then opens the link.  No
    add_key, no operation of main's widening set: on main the tracer never took the tree's
    keys as its own and, without the key, took "link" for a missing name -- ESCAPED, both
    loops.  Now GET_PERSISTENT (and a SEARCH that links what it finds) stops as the others
    do, and the open through the encrypted directory is held (ELOOP)."""
    binary = build("escape/fscrypt_keyring.c")
    place, plant = _planting(binary, encrypting)

    def plant_and_stash(s: Scene) -> None:
        plant(s)
        stashed = subprocess.run([binary, place(s), s.secret, "stash"], capture_output=True,
                                 text=True, check=False)
        if "SKIPPED" in stashed.stdout:
            pytest.skip(stashed.stdout.strip())
        assert "BLOCKED: stashed" in stashed.stdout, stashed.stdout + stashed.stderr

    try:
        traced, _ = controlled_and_blocked(
            tmp_path, binary, lambda s: [place(s), s.secret, "persistent"], _fs_never,
            setup=plant_and_stash, env=loop)
    finally:  # (the persistent keyring outlives the run: the key is taken out)
        subprocess.run([binary, encrypting, "-", "unstash"], capture_output=True, check=False)
    assert "ELOOP" in traced.stdout or "EACCES" in traced.stdout, traced


def test_an_attached_process_keys_are_its_own(
        build: Callable[..., Path], tmp_path: Path, encrypting: Path) -> None:
    """The same, under --attach: the process added the key before systrace came (no add_key
    stops), so an attached tree's keyrings are taken as its own from the start
    (Tracer.attach: answered.note_own_keys).  ESCAPED on main; the attach has no native
    loop (loop-blind)."""
    binary = build("escape/fscrypt_keyring.c")
    place, plant = _planting(binary, encrypting)
    s = Scene.make(tmp_path, "attached")
    plant(s)
    run = attached_run([binary, place(s), s.secret, "open"], _fs_never(s), scene=s,
                       timeout=30)
    assert "ESCAPED" not in run.out and "BLOCKED" in run.out, run.out + run.tracer.stderr
    assert "ELOOP" in run.out or "EACCES" in run.out, run.out + run.tracer.stderr


#: run a command in a session keyring of its own holding the policy's key (the client's
#: session, where e4crypt add_key puts a key): keyctl(JOIN_SESSION_KEYRING), add_key
_KEYED = textwrap.dedent("""\
    import ctypes, os, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    assert libc.syscall(250, 1, None) >= 0, ctypes.get_errno()
    key = struct.pack("<I64sI", 0, b"A" * 64, 64)
    assert libc.syscall(248, b"logon", b"fscrypt:0011223344556677", key, len(key),
                        ctypes.c_long(-3)) >= 0, ctypes.get_errno()
    os.execv(sys.argv[1], sys.argv[1:])
    """)


def test_a_resident_workers_keys_are_not_its_clients(
        build: Callable[..., Path], tmp_path: Path, encrypting: Path) -> None:
    """The same through the resident tracer: the program is forked by the client, in the
    client's session keyring -- which holds the key here, added before the run -- and traced
    by a worker in the server's.  A worker whose session keyring is not the client's takes
    the program's keys as its own from the start (resident._keys_of_the_client).  ESCAPED on
    main; loop-blind (one loop is enough: the note is the worker's)."""
    binary = build("escape/fscrypt_keyring.c")
    place, plant = _planting(binary, encrypting)
    s = Scene.make(tmp_path, "resident")
    plant(s)
    (s.root / "policy.toml").write_text(_fs_never(s))
    runtime = Path(tempfile.mkdtemp(prefix="systrace-rt-"))
    env = {"XDG_RUNTIME_DIR": str(runtime), "SYSTRACE_NO_RESIDENT": "0"}
    try:
        started = run_systrace(["--resident", "--resident-idle", "60"], env=env)
        assert started.returncode == 0, started.stderr
        done = subprocess.run(
            [PYTHON, "-c", _KEYED, PYTHON, "-m", "systrace_py", "-p", str(s.root / "policy.toml"),
             "--", str(binary), str(place(s)), str(s.secret), "keyed"],
            capture_output=True, text=True, timeout=60, env=systrace_env(env), cwd=s.root)
    finally:
        run_systrace(["--resident", "stop"], env=env)
        shutil.rmtree(runtime, ignore_errors=True)
    tracer, parent = (int(n) for n in re.findall(r"tracer (\d+), parent (\d+)", done.stdout)[0])
    assert tracer != parent, f"not through the resident tracer:\n{done.stdout}{done.stderr}"
    assert "ESCAPED" not in done.stdout and "BLOCKED" in done.stdout, done.stdout + done.stderr
