"""Class 4: children that slip away -- CLONE_UNTRACED through clone (flags in a register) and
clone3 (flags in memory), vfork + exec, exec of a memfd or of a descriptor (execveat with
AT_EMPTY_PATH), a double fork whose middle process exits at once -- and exec of a permitted
file that has the kernel run a forbidden one (a script's "#!" interpreter, an ELF's PT_INTERP)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from escape_lib import (
    PYTHON,
    Scene,
    assert_blocked,
    attack,
    controlled_and_blocked,
    never,
    permit,
    policy,
    read_never,
)


@pytest.mark.parametrize("mode", ["untraced_clone", "untraced_clone3", "vfork_read",
                                  "double_fork"])
def test_child_reads_the_secret(build, tmp_path, mode):
    traced, _ = controlled_and_blocked(tmp_path, build("escape/child_escape.c"),
                                       lambda s: [mode, s.secret], lambda s: read_never(s.secret))
    if mode == "double_fork":
        assert "EACCES" in traced.detail, traced  # it ran, traced, and was refused
    if mode == "untraced_clone3":
        # checked, not refused as a call: clone's own guard refused this flag
        assert "EPERM" in traced.detail, traced


# --- clone3: checked instead of refused (issue 11, class 8) --------------------------------------

@pytest.mark.parametrize("mode", ["ordinary", "errors"])
@pytest.mark.parametrize("tasks", ["single", "multi"])
def test_clone3_behaves_as_natively(build, tmp_path, mode, tasks):
    """clone3 used to get ENOSYS (libc then fell back to clone); now its struct is read as the
    kernel reads it and its flags get clone's check.  ``ordinary``: pthread_create and
    posix_spawn (glibc makes both with clone3) and a fork-like clone3 with each struct version;
    ``errors``: bad sizes, pointers and fields get the kernel's errno (EINVAL, E2BIG, EFAULT)
    -- in a tree of one task (the kernel reads the caller's struct) and of two (it reads the
    held copy)."""
    program = build("escape/child_clone3.c")
    env = {"ESC_THREAD": "1"} if tasks == "multi" else {}
    s = Scene.make(tmp_path)
    native = attack(program, mode, policy_text=None, scene=s, env=env)
    traced = attack(program, mode, policy_text=read_never(s.secret), scene=s, env=env)
    assert native.returncode == 0 and native.stdout.endswith("done\n"), native
    assert traced.stdout == native.stdout, f"{native}\n{traced}"
    assert traced.returncode == 0, traced


def test_a_clone_args_struct_rewritten_after_the_check(build, tmp_path):
    """A sibling thread flips the struct's flags between 0 and CLONE_UNTRACED while clone3
    is checked: the kernel is handed the copy that was checked, so no child leaves the trace
    (a flip read by the check is refused with EPERM)."""
    controlled_and_blocked(tmp_path, build("escape/child_clone3.c"),
                           lambda s: ["untraced_race", 3000, 4],
                           lambda s: read_never(s.secret))


def exec_allowlist(*allowed: Path | str) -> str:
    """exec only of the system's programs and the given ones."""
    paths = ",".join(["/usr/**", "/bin/**", "/lib/**", "/lib64/**", *map(str, allowed)])
    return policy(permit("exec", path="{" + paths + "}"), never("exec"))


def test_vfork_then_exec_of_a_forbidden_program(build, tmp_path):
    program, payload = build("escape/child_escape.c"), build("escape/payload.c")
    _, s = controlled_and_blocked(tmp_path, program,
                                  lambda s: ["vfork_exec", s.secret, payload],
                                  lambda s: exec_allowlist(program))
    assert not s.marker.exists()


@pytest.mark.parametrize("mode", ["memfd", "fd", "opath", "procfd", "dirfd", "copy"])
def test_exec_without_naming_the_program(build, tmp_path, mode):
    """The payload is readable but may not run; a memfd copy, a descriptor, /proc/self/fd/N,
    a dirfd and a copy in the work directory all fall to the allowlist's never."""
    program, payload = build("escape/child_exec.c"), build("escape/payload.c")
    _, s = controlled_and_blocked(tmp_path, program, lambda s: [mode, payload, s.work],
                                  lambda s: exec_allowlist(program))
    assert not s.marker.exists()


def interp_scene(kind: str, build, tmp_path: Path) -> tuple[Path, Path]:
    """A forbidden interpreter (no libc), and a permitted program that names it: a script with
    "#!INTERP", or an ELF with PT_INTERP = INTERP."""
    interp = build("escape/interp.c", "-nostdlib", "-static-pie", "-fno-stack-protector",
                   "-ffreestanding")
    allowed = tmp_path / "allowed"
    allowed.mkdir(exist_ok=True)
    if kind == "script":
        prog = allowed / "run.sh"
        prog.write_text(f"#!{interp}\n")
        prog.chmod(0o755)
    else:
        prog = allowed / "elfprog"
        subprocess.run(["gcc", "-O1", "-o", str(prog), str(Path(__file__).with_name("hello.c")),
                        f"-Wl,--dynamic-linker={interp}"], check=True, capture_output=True)
    return interp, prog


@pytest.mark.parametrize("kind", ["script", "elf"])
def test_permitted_program_with_a_forbidden_interpreter(build, tmp_path, kind):
    program = build("escape/child_interp.c")
    _, prog = interp_scene(kind, build, tmp_path)
    controlled_and_blocked(tmp_path, program, lambda s: [prog],
                           lambda s: exec_allowlist(program, prog))


def test_dynamic_loader_running_a_readable_payload(build, tmp_path):
    """exec of ld.so with the payload as its argument loads the payload without any exec of it:
    an exec rule alone cannot stop that (docs/security.md); refusing fsread of the payload
    does, since the loader must open it."""
    program, payload = build("escape/child_interp.c"), build("escape/payload.c")
    loader = Path("/lib64/ld-linux-x86-64.so.2")
    if not loader.exists():
        pytest.skip("no /lib64/ld-linux-x86-64.so.2 on this system")

    def setup(s: Scene) -> None:
        shutil.copy(payload, s.root / "payload")

    controlled_and_blocked(
        tmp_path, program, lambda s: [loader, s.root / "payload"],
        lambda s: policy(never(["exec", "fsread"], path=str(s.root / "payload"))), setup=setup)


# --- code the caller chose, under another program's table (red team 3 of issue 11) -------------

def trusted_table(program: Path, s: Scene) -> str:
    """The read attacks' policy, and a table of its own for ``program`` that may read the
    secret (as a learned policy per program gives one program what another has not)."""
    return (policy(never(["fsread", "fswrite"], path=f"{s.secd}/**"))
            + f'\n[program."{program}"]\ndefault = "permit"\n')


def bash_scene(s: Scene) -> None:
    """A bash script with a table of its own, and the file BASH_ENV will name."""
    (s.root / "trusted.sh").write_text('#!/bin/bash\necho "note: the trusted script ran"\n')
    (s.root / "trusted.sh").chmod(0o755)
    (s.work / "first.sh").write_text('cat "$LOADER_TARGET" >&"$LOADER_FD" 2>&1\n')


@pytest.mark.parametrize("mode", ["once", "thread", "race", "bash_env"])
def test_a_library_the_caller_chose_does_not_run_under_another_programs_table(
        build, tmp_path, mode):
    """At exec a process takes the table of the program it runs, but the dynamic loader also
    loads what the caller's environment names (LD_PRELOAD here), which it ignores only in
    secure mode (set-user-ID): the caller's library read the secret under the program's table.
    Now an exec into another table with a loader variable the run did not start with is
    refused (EPERM); ``thread``: with a second thread alive (the exec frozen and held);
    ``race``: a thread turns "LD_PRELOAX" into "LD_PRELOAD" while the exec is checked -- the
    environment is held as checked; ``bash_env``: a script's interpreter runs what BASH_ENV
    names first.  Escaped before (``race``: escapes with the check alone)."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    if mode == "bash_env":
        if shutil.which("bash") is None:
            pytest.skip("no bash")
        traced, _ = controlled_and_blocked(
            tmp_path, program, lambda s: [mode, s.root / "trusted.sh", s.secret,
                                          s.work / "first.sh"],
            lambda s: trusted_table(s.root / "trusted.sh", s), setup=bash_scene)
    else:
        traced, _ = controlled_and_blocked(
            tmp_path, program, lambda s: [mode, hello, s.secret, library],
            lambda s: trusted_table(hello, s))
    if mode != "race":
        assert "EPERM" in traced.stdout, traced


def test_loader_variables_the_user_gave_or_within_one_table_work_as_natively(build, tmp_path):
    """What the check leaves alone: a loader variable the run started with (the user's, here
    LD_PRELOAD given to systrace) reaches the program under its table -- which may read the
    secret, so the refusal above is the check's, not the table's --; and one the program adds
    for an exec that keeps its table runs the library under the caller's table (which
    refuses it the secret)."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    s = Scene.make(tmp_path)
    given = attack(program, "inherit", hello, s.secret, policy_text=trusted_table(hello, s),
                   scene=s, env={"LD_PRELOAD": str(library)})
    assert given.verdict == "ESCAPED" and "read the secret" in given.detail, given
    same = attack(program, "once", hello, s.secret, library, scene=s,
                  policy_text=policy(never(["fsread", "fswrite"], path=f"{s.secd}/**")))
    assert same.verdict == "BLOCKED" and "open: EACCES" in same.stdout, same
    assert "1 ran" in same.detail, same


def test_a_table_granting_the_variable_lifts_the_check_for_that_value_only(build, tmp_path):
    """A program table's ``environment`` (what the learner writes for the execs it saw) lets
    an exec into the table carry that loader variable with a value its glob matches -- the
    library runs under the program's table, as the policy says -- and no other value: a
    caller's library elsewhere is still refused (EPERM)."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")
    s = Scene.make(tmp_path)

    def granting(value: str) -> str:
        return trusted_table(hello, s) + f'environment = ["LD_PRELOAD={value}"]\n'

    granted = attack(program, "once", hello, s.secret, library, scene=s,
                     policy_text=granting(str(library)))
    assert granted.verdict == "ESCAPED" and "read the secret" in granted.detail, granted
    by_glob = attack(program, "once", hello, s.secret, library, scene=s,
                     policy_text=granting(f"{library.parent}/*"))
    assert by_glob.verdict == "ESCAPED", by_glob
    other = attack(program, "once", hello, s.secret, library, scene=s,
                   policy_text=granting("/usr/lib/*"))
    assert_blocked(other)
    assert "EPERM" in other.stdout, other


def test_a_permit_answered_for_the_exec_does_not_lift_the_check(build, tmp_path):
    """The question about an exec shows the program and its argv, not its environment: an
    exec asked about and permitted (here by a scripted approver, ``permit-now``) used to run
    with the caller's LD_PRELOAD under the program's table.  The engine's check holds
    whoever permits.  Escaped before."""
    program = build("escape/exec_loader.c")
    library = build("escape/exec_loader.c", "-shared", "-fPIC", "-DLIBRARY")
    hello = build("escape/hello.c")

    def asked(s: Scene) -> str:
        return trusted_table(hello, s).replace(
            "\n[program.", f'\n[[rule]]\ncalls = ["exec"]\npath = "{hello}"\naction = "ask"\n'
            "\n[program.", 1)

    s = Scene.make(tmp_path)
    answers = s.root / "answers.toml"
    answers.write_text('[[answer]]\nsyscall = "execve"\nanswer = "permit-now"\n')
    approver = f"exec:{PYTHON} -m systrace_py.approver --rules {answers}"
    traced = attack(program, "once", hello, s.secret, library, policy_text=asked(s), scene=s,
                    options=["-v", "--ask-via", approver])
    assert_blocked(traced)
    assert "EPERM" in traced.stdout and "loader or interpreter variables" in traced.stderr, \
        traced
    plain = attack(program, "inherit", hello, s.secret, policy_text=asked(s), scene=s,
                   options=["--ask-via", approver])
    assert plain.verdict == "ESCAPED" and "ran with the environment" in plain.detail, plain
    for text in (asked(s), trusted_table(hello, s), None):  # (an environment unreadable)
        bad = attack(program, "badenv", hello, s.secret, policy_text=text, scene=s,
                     options=["--ask-via", approver])
        assert bad.verdict == "BLOCKED" and "exec: EFAULT" in bad.stdout, bad
        assert bad.returncode == 0, bad
