"""Review 16: a hostile reading of the previous session's merged change (issue 11).

Each attack has a native control (the technique works without systrace) and a run under
systrace that must not carry it (docs/security.md, "Review 16")."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import Scene, controlled_and_blocked, never, policy

from conftest import PYTHON, UNPRIVILEGED_USER, run_systrace, systrace_env

#: the dynamic loader the good build names
_LOADER = "/lib64/ld-linux-x86-64.so.2"


@pytest.mark.parametrize("mode", ["file", "link", "flip"])
def test_an_elf_interpreter_swapped_between_the_check_and_the_exec(build, tmp_path, loop,
                                                                  mode):
    """``exec_interp_swap.c``.  ``file``: two builds of one program, one whose PT_INTERP is
    the system's loader and one whose PT_INTERP is a payload the policy refuses to exec and
    to read, put in turn at one name (a hard link renamed over it) by another process of the
    tree while the main one execs that name.  The decision reads the file's interpreters;
    the check at the exec event compared what ran with the file the name led to when the
    exec was noted -- looked up by name again, after the decision (escaped; now the file the
    decision read).  ``link`` (gap #43): a program whose PT_INTERP is a symlink the other
    process points at the loader and at the payload in turn -- the decision resolves the
    name, the kernel resolves it again when it loads the interpreter, and the exec event
    checked only the binary (/proc/PID/exe): the payload ran within ~10 tries, both loops
    (escaped; now the exec event checks the interpreter the kernel mapped, at its entry,
    against the file the decision checked: Tracer._checked_loader).  (Refusing the
    payload's fsread too held both modes in 800 tries: not why understood, not relied on.)
    Review 17, ``flip``: the payload's build itself, its PT_INTERP program header's type
    rewritten in place between PT_INTERP and PT_NULL by the other process (the same file:
    the binary's check holds) -- a decision that read PT_NULL found no interpreter to check,
    and the exec event checked none: the kernel read PT_INTERP and ran the payload (escaped
    on 3e95030, both loops; now an image read with no ELF interpreter must start in the
    binary itself: ExecImage.loader is the binary's identity).
    Control: natively the payload runs."""
    interp = build("escape/interp.c", "-nostdlib", "-static-pie", "-fno-stack-protector",
                   "-ffreestanding")
    hello = Path(__file__).with_name("hello.c")

    def setup(s: Scene) -> None:
        for name, loader in (("good", _LOADER), ("bad", str(interp)),
                             ("linked", str(s.work / "ld"))):
            subprocess.run(["gcc", "-O1", "-o", str(s.work / name), str(hello),
                            f"-Wl,--dynamic-linker={loader}"], check=True, capture_output=True)

    def args(s: Scene) -> list[object]:
        if mode == "file":
            return ["file", s.work / "good", s.work / "bad", s.work / "prog", 300]
        if mode == "flip":
            return ["flip", s.work / "bad", 300]
        return ["link", _LOADER, interp, s.work / "ld", s.work / "linked", 300]

    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/exec_interp_swap.c"), args,
        lambda s: policy(never("exec", path=str(interp))), setup=setup,
        may_be_killed=True, env=loop, timeout=120)
    counts = re.search(r"note: (\d+) ran, (\d+) failed, (\d+) killed", traced.stdout)
    assert counts is not None and sum(map(int, counts.groups())) == 300, traced


@pytest.mark.parametrize("user", ["root", "unprivileged"])
def test_an_exec_through_a_symlinked_elf_interpreter_still_runs(world_tmp, loop, user):
    """Gap #43's check, where nothing races: under a table that may refuse an exec (its
    interpreters checked: Supervisor._interpreters), programs whose PT_INTERP is a symlink
    -- the system's own /lib64/ld-linux-x86-64.so.2 is one, and ``linked`` names a symlink
    to it, two links to the loader -- run, each exec's interpreter checked at its event
    against the file the decision resolved (Tracer._checked_loader: a mismatch kills), by
    a tracer that is root and by one that is not (what /proc/PID/maps it may read).  And a
    static program, whose new image must start in the binary itself (review 17:
    ExecImage.loader is its own identity), runs."""
    hello = Path(__file__).with_name("hello.c")
    (world_tmp / "ld").symlink_to(_LOADER)
    for name, loader in (("hello", _LOADER), ("linked", str(world_tmp / "ld"))):
        subprocess.run(["gcc", "-O1", "-o", str(world_tmp / name), str(hello),
                        f"-Wl,--dynamic-linker={loader}"], check=True, capture_output=True)
    subprocess.run(["gcc", "-O1", "-static", "-o", str(world_tmp / "static"), str(hello)],
                   check=True, capture_output=True)
    assert os.path.islink(_LOADER)
    rules = world_tmp / "policy.toml"
    rules.write_text(policy(never("exec", path=str(world_tmp / "refused"))))
    prefix = None
    if user != "root":
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        prefix = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                  "--clear-groups"]
    script = (f"{world_tmp}/hello && {world_tmp}/linked && {world_tmp}/static && "
              f"{world_tmp}/hello")
    run = run_systrace(["-p", str(rules), "--", "/bin/sh", "-c", script], env=loop,
                       prefix=prefix, cwd=world_tmp)
    assert run.returncode == 0, run
    assert run.stdout.count("note: hello ran") == 4, run
    assert "not the file that was checked" not in run.stderr, run


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay (root)")
def test_an_elf_interpreter_on_overlayfs_is_checked_as_the_kernel_maps_it(tmp_path, loop):
    """Gap #43's check compares the interpreter's ``stat`` at the decision with what the
    task's memory map says at the exec event; on overlayfs the two could differ (kernels
    before file_user_inode gave a mapping the layer's file).  In a mount namespace of its
    own an overlay holds a copy of the loader in its lower layer, another in its upper
    one, and programs whose PT_INTERP names each by a symlink on the overlay: under a
    table whose exec rules check interpreters, both run, as natively (a mismatch on this
    kernel would kill them: "not the file that was checked")."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    lower, upper, work, merged = (tmp_path / name for name in ("lower", "upper", "work",
                                                                "merged"))
    for path in (lower, upper, work, merged):
        path.mkdir()
    hello = Path(__file__).with_name("hello.c")
    shutil.copy(_LOADER, lower / "ld.so")
    shutil.copy(_LOADER, upper / "ld-up.so")
    for name, target in (("low", "ld.so"), ("up", "ld-up.so")):
        (lower / f"link-{name}").symlink_to(merged / target)
        subprocess.run(["gcc", "-O1", "-o", str(lower / f"hello-{name}"), str(hello),
                        f"-Wl,--dynamic-linker={merged / f'link-{name}'}"], check=True,
                       capture_output=True)
    rules = tmp_path / "policy.toml"
    rules.write_text(policy(never("exec", path=str(tmp_path / "refused"))))
    mount = (f"mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work}"
             f" {merged} || exit 99")
    native = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount}; {merged}/hello-low && "
                             f"{merged}/hello-up"], capture_output=True, text=True)
    if native.returncode == 99:
        pytest.skip(f"no overlay mount here: {native.stderr.strip()}")
    assert native.stdout.count("note: hello ran") == 2, native
    command = " ".join([PYTHON, "-m", "systrace_py", "-p", str(rules), "--", "/bin/sh", "-c",
                        f"'{merged}/hello-low && {merged}/hello-up'"])
    run = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount}; exec {command}"],
                         capture_output=True, text=True, env=systrace_env(loop), timeout=120)
    assert run.returncode == 0, run
    assert run.stdout.count("note: hello ran") == 2, run
    assert "not the file that was checked" not in run.stderr, run


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mkfs.btrfs") is None
                    or shutil.which("unshare") is None,
                    reason="mounts a btrfs image (root, mkfs.btrfs, unshare)")
def test_an_elf_interpreter_on_btrfs_is_checked_as_the_kernel_maps_it(tmp_path, loop):
    """Review 17: on btrfs ``stat`` gives a file the subvolume's device (an anonymous one of
    its own) and the memory map the file system's: gap #43's check compared the one with the
    other, and every exec whose ELF interpreter was on btrfs -- the system's loader, on a
    btrfs root (Fedora's default) -- was killed ("not the file that was checked": killed on
    3e95030, both loops).  Now both sides are the map's (procfs.mapped_identity).  In a
    mount namespace of its own a btrfs image holds a copy of the loader, a program whose
    PT_INTERP names it and a static program (its own entry: ITSELF); under a table whose
    exec rules check interpreters, both run, as natively."""
    image, mounted = tmp_path / "btrfs.img", tmp_path / "m"
    mounted.mkdir()
    with image.open("wb") as f:
        f.truncate(200 << 20)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    hello = Path(__file__).with_name("hello.c")
    rules = tmp_path / "policy.toml"
    rules.write_text(policy(never("exec", path=str(tmp_path / "refused"))))
    mount = f"mount -o loop {image} {mounted} || exit 99"
    build = (f"cp {_LOADER} {mounted}/ld.so && gcc -O1 -o {mounted}/hello {hello} "
             f"-Wl,--dynamic-linker={mounted}/ld.so && gcc -O1 -static -o {mounted}/static "
             f"{hello} || exit 98")
    native = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount}; {build}; "
                             f"{mounted}/hello && {mounted}/static"],
                            capture_output=True, text=True)
    if native.returncode == 99:
        pytest.skip(f"no btrfs mount here: {native.stderr.strip()}")
    assert native.stdout.count("note: hello ran") == 2, native
    command = " ".join([PYTHON, "-m", "systrace_py", "-p", str(rules), "--", "/bin/sh", "-c",
                        f"'{mounted}/hello && {mounted}/static'"])
    run = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount}; exec {command}"],
                         capture_output=True, text=True, env=systrace_env(loop), timeout=120)
    assert run.returncode == 0, run
    assert run.stdout.count("note: hello ran") == 2, run
    assert "not the file that was checked" not in run.stderr, run
