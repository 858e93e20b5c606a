"""Class 6: what the tracer reads at a stop that the traced program controls -- its memory, the
files it execs, its own name.  Read otherwise than the kernel reads it, such input makes the
engine decide on something the kernel will not do (a path in a PROT_NONE page read as a path,
where the kernel says EFAULT; a #! interpreter named "/x\\v" read as "/x"), or fail inside the
tracer, which then kills the whole traced tree (a pointer at 2^63, a #! line with a NUL, an
ELF header with an offset beyond 2^63, a FIFO to exec, a process name that is not UTF-8).

Each test runs the program alone (the control: what the kernel answers) and under systrace;
the traced run must get the same answers, except where a rule refuses, and must live to say
DONE (tr_input.c)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from escape_lib import (
    SYSTRACE,
    Outcome,
    Scene,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
    scene_env,
)


def decoding_policy(s: Scene) -> str:
    """Rules that make the engine decode every argument tr_input passes -- a path rule,
    address rules, an argv rule -- and that nothing it does matches but its refused: lines."""
    return policy(never(["fsread", "fswrite"], "EACCES", path=f"{s.secd}/**"),
                  never(["net-connect", "net-bind"], "ECONNREFUSED", address="192.0.2.1"),
                  never("exec", "EACCES", argv=["never-this", "**"]))


def answers(outcome: Outcome) -> dict[str, str]:
    """LABEL -> RESULT of a tr_input run that went to its end."""
    if outcome.verdict == "SKIPPED":
        pytest.skip(outcome.detail)
    lines = outcome.stdout.splitlines()
    assert outcome.returncode == 0 and lines and lines[-1] == "DONE", outcome
    return dict(line.split(": ", 1) for line in lines[:-1] if ": " in line
                and not line.startswith("note:"))


def without_and_with_systrace(build, tmp_path: Path, args_of: Callable[[Scene], list[object]],
                              policy_of: Callable[[Scene], str] = decoding_policy,
                              options: tuple[str, ...] = (), source: str = "escape/tr_input.c",
                              program: Path | None = None,
                              ) -> tuple[dict[str, str], dict[str, str]]:
    """The answers of ``program`` (else ``source`` built: tr_input) run with
    ``args_of(scene)``, alone and under ``policy_of(scene)``, each in a scene of its own."""
    program = program or build(source)
    results = []
    for name, traced in (("control", False), ("traced", True)):
        s = Scene.make(tmp_path, name)
        outcome = attack(program, *args_of(s), policy_text=policy_of(s) if traced else None,
                         scene=s, cwd=s.work, options=options)
        assert "internal error" not in outcome.stderr, outcome
        results.append(answers(outcome))
    return results[0], results[1]


def memory_args(threads: int) -> Callable[[Scene], list[object]]:
    def args(s: Scene) -> list[object]:
        script = s.work / "script"
        script.write_text("#!/nonexistent/interpreter\n")  # no exec of it can succeed
        script.chmod(0o755)
        return ["memory", threads, s.decoy, s.secret, script]
    return args


#: policy -> what the secret read through a write-only page gets under it
POLICIES: dict[str, tuple[Callable[[Scene], str], str]] = {
    "decoding": (decoding_policy, "EACCES"),
    # every call stops (a log must see it) but the exec decision looks at no argument: the
    # tracer still looks at the exec's path, to check at the exec event what ran
    "deciding_on_nothing": (lambda s: policy(permit("exec")), "ok"),
}


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
@pytest.mark.parametrize("threads", [0, 1], ids=["one_task", "two_tasks"])
def test_unreadable_arguments_get_the_kernels_errno(build, tmp_path, threads, policy_name):
    """Paths, socket addresses, msghdrs and their control data, open_how, exec argv and rlimits
    in a PROT_NONE page, an unmapped one, at 2^63 and 2^64-1, running into PROT_NONE, of 4096
    bytes...: whatever the kernel answers alone, it answers under systrace -- in a tree of one
    task and in one of two (where the engine holds arguments) -- and the tree lives on."""
    policy_of, secret_answer = POLICIES[policy_name]
    control, traced = without_and_with_systrace(build, tmp_path, memory_args(threads), policy_of,
                                                options=("-E", os.devnull))
    refused = {label for label in control if label.startswith("refused:")}
    assert refused and all(control[label] == "ok" for label in refused), control
    # the secret in a write-only page: the kernel reads it, so must the tracer (and refuse)
    assert all(traced[label] == secret_answer for label in refused), traced
    for label in refused:
        del control[label], traced[label]
    assert control["secret_in_prot_none/open"] == "EFAULT"  # the technique works alone
    different = {label: (control[label], traced.get(label)) for label in control
                 if traced.get(label) != control[label]}
    assert not different, f"(alone, under systrace): {different}"
    assert set(traced) == set(control)


# --- protection keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("policy_name", sorted(POLICIES))
@pytest.mark.parametrize("threads", [0, 1], ids=["one_task", "two_tasks"])
def test_paths_in_pages_whose_key_the_caller_disables_are_efault(build, tmp_path, threads,
                                                                 policy_name):
    """A path in a page whose protection key the calling thread's PKRU disables: the kernel's
    copy faults (EFAULT) where the tracer's foreign reads do not.  Under systrace the same
    EFAULT -- for the decoy and the secret, for a path running into such a page, alone and
    with a second task (where arguments are held: copied where the kernel would read them);
    a key that only disables writes still reads, and a thread that allows the key for itself
    (PKRU is per thread) reads it while the other does not; a forked child keeps the keys
    (pkey_decoy.c)."""
    policy_of, secret_answer = POLICIES[policy_name]
    control, traced = without_and_with_systrace(
        build, tmp_path, lambda s: [threads, s.decoy, s.secret], policy_of,
        options=("-E", os.devnull), source="escape/pkey_decoy.c")
    assert control["decoy_in_disabled_key/open"] == "EFAULT", control  # the technique works
    assert control["decoy_in_write_disabled_key/open"] == "ok", control
    if threads:
        assert control["allowed_thread/decoy_in_disabled_key/open"] == "ok", control
    refused = {label for label in control if "refused:" in label}
    assert refused and all(control[label] in ("ok", "EACCES") for label in refused), control
    # the secret in pages the kernel reads: the tracer reads it too, and the rule refuses it
    assert all(traced[label] == (secret_answer if not label.endswith("/execve") else "EACCES")
               for label in refused), traced
    for label in refused:
        del control[label], traced[label]
    different = {label: (control[label], traced.get(label)) for label in control
                 if traced.get(label) != control[label]}
    assert not different, f"(alone, under systrace): {different}"
    assert set(traced) == set(control)


def _execute_only_text(binary: Path, copy: Path) -> None:
    """A copy of ``binary`` whose read-execute PT_LOAD (its text) is execute-only."""
    data = bytearray(binary.read_bytes())
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phnum = struct.unpack_from("<H", data, 56)[0]
    patched = 0
    for entry in (phoff + 56 * i for i in range(phnum)):
        kind, flags = struct.unpack_from("<II", data, entry)
        if kind == 1 and flags == 5:  # PT_LOAD, PF_R | PF_X
            struct.pack_into("<I", data, entry + 4, 1)  # PF_X
            patched += 1
    assert patched == 1, "the text is not a segment of its own (ld -z separate-code)"
    copy.write_bytes(bytes(data))
    copy.chmod(0o755)


@pytest.mark.parametrize("threads", [0, 1], ids=["one_task", "two_tasks"])
def test_paths_in_the_images_execute_only_segment_are_efault(build, tmp_path, threads):
    """The kernel's ELF loader maps an execute-only segment with its execute-only key, with
    no call the filter sees: a path stored there is EFAULT for the kernel's copy, and so under
    systrace -- the exec is what tells the tracer to look at keys (pkey_image.c)."""
    program = tmp_path / "pkey_image_x"
    _execute_only_text(build("escape/pkey_image.c"), program)
    control, traced = without_and_with_systrace(
        build, tmp_path, lambda s: [threads], options=("-E", os.devnull), program=program)
    if control["text/open"] == "ok":
        pytest.skip("no execute-only pages here (no protection keys)")
    assert control == {"text/open": "EFAULT", "text/stat": "EFAULT", "text/execve": "EFAULT"}
    assert traced == control


def test_a_shells_command_with_an_execute_only_segment_is_pythons(build, tmp_path):
    """As above, the image exec'd by a shell's command under the policy learned from the run
    (default never: the exec events of such a loop are the native loop's), alternating with
    /bin/true.  Reads through /proc/PID/mem ignore keys, so the native loop's exec event
    looks at the new image's maps as Python does (pkeys.exec_only_mapped) and leaves a space
    with an execute-only mapping to Python: every exec event of the execute-only image is
    Python's, /bin/true's stay native (on a CPU with protection keys, before _cloop.c's
    exec_only_mapped, every exec event was Python's; without the look, none of them)."""
    program = tmp_path / "pkey_image_x"
    _execute_only_text(build("escape/pkey_image.c"), program)
    runs = 6
    command = ["/bin/sh", "-c", f"for i in $(seq {runs}); do /bin/true; {program} 0; done"]
    s = Scene.make(tmp_path, "run")
    control = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=s.work,
                             env=scene_env(s))
    if "text/open: ok" in control.stdout:
        pytest.skip("no execute-only pages here (no protection keys)")
    learned = s.root / "learned.toml"
    subprocess.run([*SYSTRACE, "-A", "-o", learned, "--", *command], capture_output=True,
                   timeout=60, cwd=s.work, env=scene_env(s), check=True)
    traced = subprocess.run([*SYSTRACE, "--stats", "-p", learned, "--", *command],
                            capture_output=True, text=True, timeout=60, cwd=s.work,
                            env=scene_env(s))
    assert "internal error" not in traced.stderr, traced.stderr
    assert control.returncode == 0 and control.stdout.count("DONE") == runs, control
    for label in ("text/open", "text/stat"):
        assert traced.stdout.count(f"{label}: EFAULT") == runs, (traced.stdout, traced.stderr)
    served = re.search(r"stops served by Python: (.*)", traced.stderr)
    if served is None:
        pytest.skip("the native stop loop is not built here")
    exec_events = int(re.search(r"exec event (\d+)", served.group(1) + " exec event 0").group(1))
    assert runs <= exec_events <= runs + 3, traced.stderr


# --- the files an exec reads ----------------------------------------------------------------------

def _elf_with(path: Path, change) -> None:
    """A copy of /bin/true with its header changed by ``change(data, interp_entry_offset)``."""
    data = bytearray(Path("/bin/true").read_bytes())
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phnum = struct.unpack_from("<H", data, 56)[0]
    entry = next(phoff + 56 * i for i in range(phnum)
                 if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 3)  # PT_INTERP
    change(data, entry)
    path.write_bytes(bytes(data))
    path.chmod(0o755)


def odd_files(s: Scene) -> list[Path]:
    """Files whose headers the tracer reads at their exec (an exec rule is in force)."""
    w = s.work
    files = []

    def script(name: str, head: bytes) -> None:
        (w / name).write_bytes(head)
        (w / name).chmod(0o755)
        files.append(w / name)

    script("nul.sh", b"#!/bin/true\0ignored\n")  # the name ends at the NUL
    script("nul_first.sh", b"#!\0/bin/true\n")
    os.symlink("/bin/true", w / "true\v")
    script("vt.sh", b"#!" + bytes(w / "true\v") + b"\n")  # "\v" is part of the name
    script("long.sh", b"#!" + b"a" * 300)  # no end within the kernel's 256 bytes
    for i in range(1100):  # more links than the kernel follows (ELOOP), and Python recursed
        os.symlink(f"l{i + 1}", w / f"l{i}")
    os.symlink("/bin/true", w / "l1100")
    script("links.sh", b"#!" + bytes(w / "l0") + b"\n")
    script("padded.sh", b"#!  \t /bin/true  \t\n")
    for name, change in (
            ("phoff", lambda d, e: struct.pack_into("<Q", d, 32, 0xFFFFFFFFFFFFFFF0)),
            ("phnum", lambda d, e: struct.pack_into("<H", d, 56, 0xFFFF)),
            ("phentsize", lambda d, e: struct.pack_into("<H", d, 54, 64)),
            ("interp_offset", lambda d, e: struct.pack_into("<Q", d, e + 8, 1 << 63)),
            ("interp_size", lambda d, e: struct.pack_into("<Q", d, e + 32, 0xFFFFFFFFFFFFFF00)),
            ("interp_size_1", lambda d, e: struct.pack_into("<Q", d, e + 32, 1))):
        _elf_with(w / f"elf_{name}", change)
        files.append(w / f"elf_{name}")
    fifo = w / "fifo"
    os.mkfifo(fifo)
    fifo.chmod(0o755)  # the kernel refuses to exec it (EACCES); opening it would block
    files.append(fifo)
    return files


def test_odd_exec_headers_are_read_as_the_kernel_reads_them(build, tmp_path):
    """A #! line with a NUL, blanks Python would strip, no end; ELF headers with offsets beyond
    2^63, too many or too large program headers, a broken PT_INTERP; a FIFO: each exec gets
    the kernel's answer, and the tracer neither fails nor blocks."""
    control, traced = without_and_with_systrace(
        build, tmp_path, lambda s: ["exec", *odd_files(s)],
        lambda s: policy(never("exec", path=str(s.secret))))
    assert control["exec 4"] == "ELOOP", control  # links.sh
    assert control["exec 0"] == "exit 0" and control["exec 2"] == "exit 0", control
    assert traced == control


@pytest.mark.parametrize("blank", ["\v", "\r", "\f"], ids=["vt", "cr", "ff"])
def test_an_interpreter_name_ending_in_a_blank(build, tmp_path, blank):
    """ "#!/x/interp\\v": the kernel runs "/x/interp\\v" (only space, tab and NUL end the name),
    here a link to a forbidden program.  Read as Python splits words, the name is "/x/interp",
    which no rule names and no file is: the exec was permitted, and the check of what ran had
    nothing to compare with."""
    program, payload = build("escape/child_interp.c"), build("escape/payload.c")

    def setup(s: Scene) -> None:
        shutil.copy(payload, s.root / "payload")
        link = s.work / f"interp{blank}"
        link.symlink_to(s.root / "payload")
        script = s.work / "run.sh"
        script.write_bytes(b"#!" + bytes(link) + b"\n")
        script.chmod(0o755)

    _, s = controlled_and_blocked(tmp_path, program, lambda s: [s.work / "run.sh"],
                                  lambda s: policy(never("exec", path=str(s.root / "payload"))),
                                  setup=setup)
    assert not s.marker.exists()


# --- the process's name -------------------------------------------------------------------------

def test_a_group_kill_from_a_process_named_in_no_encoding_spares_the_tracer(build, tmp_path):
    """kill(0, SIGKILL) from a process whose name is not UTF-8: the tracer, reading the
    caller's /proc/PID/stat as text, failed to, left the call to the kernel, and died of it
    with its group; it must do the call for the caller (systrace reports 128+9)."""
    program = build("escape/tr_input.c")
    control = attack(program, "name_kill", policy_text=None, scene=None)
    assert control.returncode == -9 and "still alive" not in control.stdout, control
    s = Scene.make(tmp_path)
    traced = attack(program, "name_kill", policy_text=policy(never("fsread", path=str(s.secret))),
                    scene=s)
    assert traced.returncode == 128 + 9, traced
