"""Class 6 (red team 5 of issue 11): what the tracer itself writes into a tracee, where the
program chose.  The tracer writes its copies of checked arguments into the read-only scratch
area with force (/proc/PID/mem); any other write it makes at an address the program picked
must be one the program could make itself, or the program aims the tracer's force at the
scratch area -- at a sibling's checked copy, after its check."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    SECRET_MAGIC,
    assert_blocked,
    attack,
    never,
    permit,
    policy,
    require_real,
)

from systrace_py.engine import cloop


def retime_scene(base: Path, name: str) -> Path:
    """A directory DIR whose name, with its slash, fills a multiple of 16 bytes (the retime
    writes at a 16-byte boundary), holding the secret at DIR/s/f."""
    root = base / name
    root.mkdir()
    directory = root / "p"
    while (len(str(directory)) + 1) % 16:
        directory = directory.with_name(directory.name + "x")
    (directory / "s").mkdir(parents=True)
    (directory / "s" / "f").write_text(f"{SECRET_MAGIC}\n")
    return directory


def test_a_restarted_wait_does_not_write_where_the_task_could_not(build, tmp_path):
    """A timed wait the tracer restarts with the time it had left gets that time written below
    its stack pointer -- which the program chooses.  The write went through /proc/PID/mem,
    forcing read-only pages: a thread waiting with its stack pointer in the scratch area had
    the tracer write a timespec whose tv_sec reads "s/f" over a sibling's checked copy of
    "DIR/dNNNN", between the tracer's hold and the kernel's read; the sibling opened DIR/s/f,
    which the policy refuses (before this change: in 8 of 9 runs, both loops, at the first
    try).  Now that write is made as
    the task could make it (process_vm_writev): the scratch area is read-only for it, the write
    fails and the wait keeps its EINTR.  The control opens DIR/s/f without a tracer (no scratch
    area: the name the write would have made, readable)."""
    program = build("escape/tr_retime.c")
    control_dir = retime_scene(tmp_path, "control")
    require_real(attack(program, control_dir, policy_text=None, scene=None))
    directory = retime_scene(tmp_path, "traced")
    text = policy(never(["fsread", "fswrite"], path=f"{directory}/s/**"))
    traced = attack(program, directory, policy_text=text, scene=None, timeout=60)
    assert "slot copy at" in traced.stdout, traced  # the opens were held: the attack ran
    assert_blocked(traced)


def test_a_program_whose_entry_point_cannot_run_dies_as_natively(build, tmp_path):
    """The tracer maps a process's scratch area at its exec by writing three instructions at
    the entry point and running them to a trap.  An entry point in a page that is not
    executable faults there; the tracer kept the SIGSEGV back and ran the task again, for
    ever: the tracer spun at full CPU and the tree never ended (a program could stall its own
    tracer where natively it dies at once; both loops).  Now a fault raised by the written
    code gives up the premapping: the code is put back, the program runs it and dies of
    SIGSEGV as natively."""
    bad = build("escape/entry_data.c", "-static", "-nostdlib", "-Wl,-e,entry_here")
    program = build("escape/tr_entry.c")
    native = subprocess.run([str(program), str(bad)], capture_output=True, text=True,
                            timeout=30, cwd=tmp_path)
    assert native.returncode == -signal.SIGSEGV, native
    traced = attack(program, bad, policy_text=policy(never("fsread", path=f"{tmp_path}/no/**")),
                    scene=None, timeout=30)
    assert traced.returncode == 128 + signal.SIGSEGV, traced
    assert traced.stdout == native.stdout, traced


def test_an_entry_point_that_cannot_run_after_a_shells_vfork_dies_as_natively(build, tmp_path):
    """The same program exec'd by a shell's vfork child, where the native loop serves the exec
    and maps the scratch area itself (_cloop.c premap): its copy of the loop kept the fault
    back and ran the code again for ever (found by review).  Now it gives up as Python does:
    the shell sees its child die of SIGSEGV (139), as natively."""
    from conftest import run_systrace

    bad = build("escape/entry_data.c", "-static", "-nostdlib", "-Wl,-e,entry_here")
    script = f"/bin/true; {bad}; echo rc=$?"
    native = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert "rc=139" in native.stdout, native
    rules = tmp_path / "execs.toml"
    rules.write_text('default = "permit"\n\n[[rule]]\ncalls = ["exec", "fsread"]\n'
                     'path = "/**"\naction = "permit"\n')  # (execs decided in C)
    traced = run_systrace(["-p", str(rules), "--", "sh", "-c", script], timeout=30)
    assert traced.stdout == native.stdout, traced



def test_a_call_made_at_the_exec_stubs_syscall_is_decided_as_any(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The native loop maps a shell command's scratch area with a stub it writes into the new
    image's vDSO (_cloop.c stub_map), and lets a call made at the stub's syscall go without a
    decision while the stub has not been seen to end -- when it is the stub's own mmap
    (where a filter traces mmap).  A program whose first call is an openat of the secret made
    at that very syscall instruction (stub_reuse.c, static: no call before it) is refused as
    any open, and the stub's trap that follows is the program's (its SIGTRAP handler), not
    taken for the stub's.  Its control reads the secret natively, with a syscall of its own
    (there is no stub there).  With the native loop's extension every command has the stub:
    the second and third commands' execs are the loop's (stub_map), the first one's Python's
    (Tracer._stub_premap), whose stub the loop is armed with (or Python serves:
    _stub_stop) -- each let go as the stub's with the check of the call's number and
    arguments taken out (checked by hand for the loop's), the open read the secret."""
    from conftest import run_systrace

    program = build("escape/stub_reuse.c", "-static", "-nostdlib", "-fno-stack-protector")
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET_MAGIC}\n")
    require_real(attack(program, secret, policy_text=None, scene=None, timeout=30))
    rules = tmp_path / "policy.toml"
    rules.write_text(policy(permit(["exec", "fsread"], path="/**"))  # (execs decided in C)
                     + f'\n[program."{program}"]\ndefault = "permit"\n\n'
                     f'[[program."{program}".rule]]\n' + never("fsread", path=str(secret)))
    command = f"{program} {secret}"
    traced = run_systrace(["-p", str(rules), "--", "sh", "-c",
                           f"{command}; {command}; {command}; echo done"], env=loop,
                          timeout=30)
    assert SECRET_MAGIC not in traced.stdout and "ESCAPED" not in traced.stdout, traced
    assert traced.stdout.count("BLOCKED") == 3 and traced.stdout.endswith("done\n"), traced
    if loop.get("SYSTRACE_NO_CLOOP") != "1" and cloop.load() is not None:
        assert traced.stdout.count("stub: found") == 3, traced


# --- a signal the kernel sends the tracer: a descriptor's owner (red team 5) ---------------------

@pytest.mark.parametrize("mode", ["setown", "setown_ex", "pgrp", "fiosetown", "siocspgrp"])
def test_a_descriptors_owner_is_never_the_tracer(build, tmp_path, mode):
    """A descriptor's owner gets the signal F_SETSIG names (SIGKILL too) from the kernel when
    I/O is possible on it; the permission is checked only then.  The owner set to the tracer
    (its pid by F_SETOWN or F_SETOWN_EX, its process group by F_SETOWN with -pgid; or by
    ioctl(FIOSETOWN) and ioctl(SIOCSPGRP), from an int the argument points at: gap #24) had
    the kernel kill the tracer, which no guard of kill sees (the tree died with it, exit 137:
    fail closed, but a program could end its tracer).  Now those requests stop, the int is
    read as the kernel reads it, and an owner that is one of the tracer's tasks or its group
    is refused (EPERM).  The control kills a stand-in process so."""
    program = build("escape/tr_owner.c")
    require_real(attack(program, mode, policy_text=None, scene=None))
    traced = attack(program, mode, policy_text=policy(never("fsread", path=f"{tmp_path}/no/**")),
                    scene=None)
    assert_blocked(traced)
    assert "EPERM" in traced.stdout, traced


def test_owners_set_elsewhere_work_as_natively(build, tmp_path):
    """The program itself, its own group, a NULL or odd F_SETOWN_EX, the same by FIOSETOWN and
    SIOCSPGRP (a NULL int: EFAULT): the kernel's answers, and SIGIO arrives, traced as
    alone."""
    program = build("escape/tr_owner.c")
    native = attack(program, "own", policy_text=None, scene=None)
    traced = attack(program, "own", policy_text=policy(never("fsread", path=f"{tmp_path}/no/**")),
                    scene=None)
    assert "SIGIO: came" in native.stdout, native
    assert traced.stdout == native.stdout, traced


@pytest.mark.parametrize("mode", ["setown_ex", "fiosetown"])
def test_an_owner_held_at_the_first_held_call_is_decided_once(build, tmp_path, mode):
    """The owner F_SETOWN_EX or FIOSETOWN points at is read by the check and held; with a
    second thread alive it is the process's first held call, turned into the scratch area's
    mmap and restarted.  The restart is decided again only if what was examined changed
    (Tracer._unchanged), and the fresh decode it compares with never read the owner: the
    call was decided a second time -- two log records of one call (two prompts under ask).
    Now the owner is read by the decoder (DecodedCall.owner), fresh or not: one record, and
    the call does what it does natively."""
    program = build("escape/tr_owner.c")
    native = attack(program, "held", mode, policy_text=None, scene=None)
    assert f"{mode} self: ok, owner 1" in native.stdout, native
    log = tmp_path / "log.jsonl"
    rules = policy(permit(["fcntl", "ioctl"]), never("fsread", path=f"{tmp_path}/no/**"))
    traced = attack(program, "held", mode, policy_text=rules, scene=None,
                    options=("--log", str(log)))
    assert traced.stdout == native.stdout, traced
    call = "fcntl" if mode == "setown_ex" else "ioctl"  # (the program's only one)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    owners = [r for r in records if r.get("event") == "syscall" and r.get("syscall") == call]
    assert len(owners) == 1, owners


@pytest.mark.parametrize("mode", ["race", "race_ioctl"])
def test_an_owner_struct_rewritten_after_its_check(build, tmp_path, mode):
    """F_SETOWN_EX's struct is in memory: a thread flipping its pid between the program and the
    tracer while another sets it made the kernel read the tracer's after the check passed the
    program's (at the first call, before the struct was held).  Now the struct checked is
    copied and the kernel reads the copy; FIOSETOWN's int likewise (race_ioctl).  Traced only
    (without a tracer there is nothing to race: the control is the race's refusals, which show
    both values were seen)."""
    program = build("escape/tr_owner.c")
    traced = attack(program, mode, policy_text=policy(never("fsread", path=f"{tmp_path}/no/**")),
                    scene=None)
    assert_blocked(traced)
    refused = re.search(r"(\d+) refused", traced.detail)
    assert refused is not None and int(refused.group(1)) > 0, traced
