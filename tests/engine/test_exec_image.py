"""The interpreters of an exec, read as the kernel reads them -- checked against the kernel
itself: a script or an ELF is built from drawn bytes and exec'd (not traced); the engine must
name exactly the interpreter the kernel ran, and never fail, whatever the file holds."""

from __future__ import annotations

import os
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systrace_py.engine.exec_image import exec_image
from systrace_py.engine.paths import PathResolver
from systrace_py.policy.environment import chooses_code, runs_code

# (KERNEL_EXAMPLES=3000 for a longer search)
KERNEL = settings(max_examples=int(os.environ.get("KERNEL_EXAMPLES", "150")), deadline=None,
                  database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TRUE = shutil.which("true") or "/bin/true"
LOADER = os.path.realpath("/lib64/ld-linux-x86-64.so.2")


def resolver_in(directory: Path):
    """Interpreter names resolved as the engine resolves them, for a task in ``directory``
    (this process, whose cwd is elsewhere: names are taken from ``directory`` here)."""
    me, paths = os.getpid(), PathResolver()

    def reach(name: str) -> tuple[str, str]:
        path = paths.resolve(me, me, os.path.join(directory, name)).path
        return path, path  # (its name for rules, where the tracer opens it: the same here)

    return reach


def no_core() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def runs(path: Path) -> bool:
    """Whether the kernel execs ``path`` (and what it runs exits 0)."""
    try:
        done = subprocess.run([str(path)], cwd=path.parent, capture_output=True, timeout=30,
                              preexec_fn=no_core)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


#: bytes that matter to the #! parser: blanks of every kind, NUL, newline, name characters
SHEBANG_BYTES = st.lists(st.sampled_from([b"a", b"b", b" ", b"\t", b"\v", b"\r", b"\f", b"\0",
                                          b"\n", b"-"]), max_size=300).map(b"".join)


@given(rest=SHEBANG_BYTES)
@KERNEL
def test_the_shebang_argument_is_the_one_the_kernel_gives(tmp_path, build, rest):
    """ExecImage.argument is what the kernel gives the interpreter before the script's path
    (show_args prints what it got): the rest of the #! line, trimmed, as one string -- or
    nothing.  (Environment.python_options reads a Python's options from it.)"""
    shower = build("progs/show_args.c")
    work = tmp_path / "argument"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    script = work / "script"
    script.write_bytes(b"#!" + str(shower).encode() + b" " + rest)
    script.chmod(0o755)
    image = exec_image(str(script), resolver_in(work), elf=False)
    try:
        done = subprocess.run([str(script)], capture_output=True, timeout=30)
    except OSError:
        assert not image.interpreters, rest  # (the kernel refused the line)
        return
    if image.interpreters != (str(shower),):
        return  # (another name: the interpreter test's)
    lines = done.stdout.decode().splitlines()
    assert lines[-1] == bytes(str(script), "utf-8").hex(), (rest, lines)
    given = [bytes.fromhex(line).decode("utf-8", "surrogateescape") for line in lines[:-1]]
    assert given == ([] if image.argument is None else [image.argument]), (rest, given)
    assert image.script


@given(line=SHEBANG_BYTES)
@KERNEL
def test_the_shebang_interpreter_is_the_one_the_kernel_runs(tmp_path, line):
    """Where the engine names an interpreter, a link of that name to `true` is what runs; where
    it names none, the exec fails."""
    work = tmp_path / "shebang"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    script = work / "script"
    script.write_bytes(b"#!" + line)
    script.chmod(0o755)
    image = exec_image(str(script), resolver_in(work), elf=False)
    if not image.interpreters:
        assert not runs(script), line
        return
    (interpreter,) = image.interpreters
    name = os.path.relpath(interpreter, work)
    assert "/" not in name and name not in (".", ".."), (line, interpreter)
    if len(os.fsencode(name)) > 255:
        return  # no such file can exist
    os.symlink(TRUE, work / name)
    assert runs(script), (line, interpreter)


# --- ELF program interpreters ------------------------------------------------------------------

def _interp_entry(data: bytes) -> int:
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phnum = struct.unpack_from("<H", data, 56)[0]
    return next(phoff + 56 * i for i in range(phnum)
                if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 3)  # PT_INTERP


U64S = st.one_of(st.sampled_from([0, 1, 2, 56, 64, 4096, 1 << 63, (1 << 64) - 1]),
                 st.integers(0, (1 << 64) - 1))
#: (format, offset in the header -- or, negated, in the PT_INTERP entry -- and values)
FIELDS = {
    "e_type": ("<H", 16, st.integers(0, 4)),
    "e_machine": ("<H", 18, st.sampled_from([0, 3, 62, 183])),
    "e_phoff": ("<Q", 32, U64S),
    "e_phentsize": ("<H", 54, st.sampled_from([0, 32, 55, 56, 57, 64])),
    "e_phnum": ("<H", 56, st.sampled_from([0, 1, 73, 74, 0xFFFF])),
    "p_offset": ("<Q", -8, U64S),
    "p_filesz": ("<Q", -32, st.one_of(st.integers(0, 5000), U64S)),
}


@given(data=st.data())
@KERNEL
def test_an_elf_that_runs_names_the_interpreter_that_ran(tmp_path, data):
    """A copy of a dynamic `true` with header fields changed: when the kernel still runs it,
    it ran the loader, and the engine must name it; whatever the fields, it must not fail."""
    original = Path(TRUE).read_bytes()
    if LOADER not in exec_image(TRUE, resolver_in(Path("/"))).interpreters:
        pytest.skip("`true` is not a dynamic x86-64 ELF here")
    elf = bytearray(original)
    entry = _interp_entry(original)
    for name in data.draw(st.sets(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3)):
        fmt, at, values = FIELDS[name]
        struct.pack_into(fmt, elf, at if at >= 0 else entry - at, data.draw(values))
    path = tmp_path / "elf"
    path.unlink(missing_ok=True)
    path.write_bytes(bytes(elf))
    path.chmod(0o755)
    image = exec_image(str(path), resolver_in(tmp_path))
    if runs(path):
        assert image.interpreters == (LOADER,), image


def test_an_interpreter_not_admitted_is_named_but_never_read(tmp_path, monkeypatch):
    """The tracer reads each interpreter to find the next; one ``admit`` refuses (a file a
    rule protects) ends the image unread -- what the tracer reads stays in its memory."""
    from systrace_py.engine import exec_image as module

    secret = tmp_path / "secret"
    secret.write_text(f"#!{TRUE}\nthe secret\n")
    middle = tmp_path / "middle"
    middle.write_text(f"#!{secret}\n")
    script = tmp_path / "script"
    script.write_text(f"#!{middle}\n")
    read: list[str] = []
    header = module._header
    monkeypatch.setattr(module, "_header", lambda path: (read.append(path), header(path))[1])
    reach = resolver_in(tmp_path)

    image = exec_image(str(script), reach, admit=lambda name: name != str(secret))
    assert image.interpreters == (str(middle), str(secret))
    assert str(secret) not in read and read == [str(script), str(middle)]

    read.clear()
    image = exec_image(str(script), reach)  # admitting all: the whole chain, the ELF too
    assert image.interpreters[:3] == (str(middle), str(secret), os.path.realpath(TRUE))
    assert str(secret) in read


def test_each_file_is_read_once_and_the_chain_alone_is_the_same_reading(tmp_path, monkeypatch):
    """The binary's ELF interpreter comes from the header the chain read (the binary was
    opened and read twice: once to see it is no script, once for its PT_INTERP), and the
    image without ``elf`` -- what /proc/PID/exe will name, noted for the check at the exec
    event -- comes with it from that reading (exec_images), not from another reading."""
    from systrace_py.engine import exec_image as module

    middle = tmp_path / "middle"
    middle.write_text(f"#!{TRUE} -x\n")
    script = tmp_path / "script"
    script.write_text(f"#!{middle}\n")
    read: list[str] = []
    header = module._header
    monkeypatch.setattr(module, "_header", lambda path: (read.append(path), header(path))[1])
    reach = resolver_in(tmp_path)
    binary = os.path.realpath(TRUE)

    for path, chain in ((str(script), (str(middle), binary)), (TRUE, ())):
        read.clear()
        image, alone = module.exec_images(path, reach)
        assert read == ([str(script), str(middle), binary] if chain else [TRUE])
        assert image.interpreters[:len(chain)] == chain and alone.interpreters == chain
        assert alone == exec_image(path, reach, elf=False)
        assert image == exec_image(path, reach)
        loader = image.interpreters[len(chain):]
        assert loader in ((), (LOADER,)) and (image.binary, image.script, image.argument) == (
            alone.binary, alone.script, alone.argument)


def test_the_image_holds_the_identity_of_the_elf_interpreter_its_name_led_to(tmp_path):
    """ExecImage.loader (gap #43): the (device, inode) of the file PT_INTERP's name led to
    when the image was read -- through a symlink, the file it pointed at then, not the
    link's (what the exec event compares with the file the kernel mapped); GONE when the
    name led to a file no longer there to stat, or to none; ITSELF with no ELF interpreter
    (a static program, a script run by one: the new image starts in the binary, and a file
    rewritten in place to name an interpreter is not what was read -- review 17); None when
    read without it (a script alone).  The identity is the memory map's (here, where the
    file system is not btrfs, ``stat``'s too)."""
    from systrace_py.engine import exec_image as module

    hello = Path(__file__).parents[1] / "escape" / "hello.c"
    link = tmp_path / "ld"
    link.symlink_to(LOADER)
    program = tmp_path / "hello"
    subprocess.run(["gcc", "-O1", "-o", str(program), str(hello),
                    f"-Wl,--dynamic-linker={link}"], check=True, capture_output=True)
    reach = resolver_in(tmp_path)
    image = exec_image(str(program), reach)
    info = os.stat(LOADER)
    assert image.interpreters == (LOADER,) and image.loader == (info.st_dev, info.st_ino)
    assert exec_image(str(program), reach, elf=False).loader is None

    def vanishing(name: str) -> tuple[str, str]:
        found = reach(name)
        return found[0], str(tmp_path / "gone")  # (where the tracer reaches it: gone)

    assert exec_image(str(program), vanishing).loader == module.GONE
    static = tmp_path / "static"
    subprocess.run(["gcc", "-O1", "-static", "-o", str(static), str(hello)], check=True,
                   capture_output=True)
    assert exec_image(str(static), reach).loader == module.ITSELF
    script = tmp_path / "script"
    script.write_text(f"#!{static}\n")
    assert exec_image(str(script), reach).loader == module.ITSELF
    assert exec_image(str(program), lambda name: None).loader == module.GONE


@pytest.mark.parametrize(("name", "runs"), [
    ("LD_PRELOAD", True), ("LD_AUDIT", True), ("LD_LIBRARY_PATH", True), ("GCONV_PATH", True),
    ("BASH_ENV", True), ("BASH_FUNC_echo%%", True), ("PYTHONPATH", True),
    ("NODE_OPTIONS", True), ("TMPDIR", False), ("LD_BIND_NOW", False), ("PATH", False),
    ("HOME", False), ("LD_PRELOADX", False), ("XBASH_ENV", False), ("", False),
    ("LANGUAGE", True), ("LANG", False), ("LC_ALL", False)])
def test_the_variables_that_make_an_exec_run_code_the_caller_chose(name, runs):
    """Supervisor._loader_environment refuses an exec into another table with these."""
    assert runs_code(name) is runs


@pytest.mark.parametrize(("entry", "chooses"), [
    ("LANGUAGE=../../../../home/u/cat", True), ("LANGUAGE=de:/tmp/x", True),
    ("LANGUAGE=de_DE:de:en", False), ("LANGUAGE=", False), ("LD_PRELOAD=x.so", True),
    ("LD_PRELOAD=", True), ("LANG=/tmp/x", False), ("TMPDIR=/tmp/x", False)])
def test_a_language_chooses_code_only_by_a_path(entry, chooses):
    """gettext reads a LANGUAGE element holding a '/' as a path to a catalog (skipped only in
    glibc's secure mode); one without names the system's catalogs (red team 35)."""
    assert chooses_code(entry) is chooses


def test_each_interpreter_is_admitted_once(tmp_path):
    """``admit`` matches an interpreter's name against the policy (a rule scan per call): each
    interpreter of the chain is put to it once -- the last #! one was asked twice, once for
    the chain and once more before the ELF interpreter was read."""
    middle = tmp_path / "middle"
    middle.write_text(f"#!{TRUE}\n")
    script = tmp_path / "script"
    script.write_text(f"#!{middle}\n")
    asked: list[str] = []

    image = exec_image(str(script), resolver_in(tmp_path),
                       admit=lambda name: asked.append(name) is None)
    assert asked == [str(middle), os.path.realpath(TRUE)]
    assert image.interpreters[:2] == (str(middle), os.path.realpath(TRUE))

    asked.clear()
    refused = exec_image(str(script), resolver_in(tmp_path),
                         admit=lambda name: asked.append(name) is None and name != str(middle))
    assert asked == [str(middle)] and refused.interpreters == (str(middle),)


@pytest.mark.parametrize("spare", [0, 1])
def test_a_file_the_tracer_cannot_read_makes_the_image_unread(tmp_path, spare):
    """The kernel reads what it execs itself: a file the tracer may not read (execute-only
    under a tracer that is not root; the tracer out of descriptors) may name any
    interpreter, so the image says it is unknown -- here with the descriptor limit a root
    tree may set with prlimit64, in a child process, for the script and for the ELF (red
    team 6): ``spare`` descriptors left, the O_PATH open or the reopen fails.  A file that
    is not there is no such file (the kernel's exec fails too) -- when the tracer could
    look."""
    script = tmp_path / "run.sh"
    script.write_text(f"#!{TRUE}\n")
    code = (
        "import os, resource, sys\n"
        "from systrace_py.engine.exec_image import exec_image\n"
        "reach = lambda name: (name, name)\n"
        "free = os.open('/dev/null', os.O_RDONLY); os.close(free)\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, (free + {spare}, free + {spare}))\n"
        "print([exec_image(p, reach).unread for p in sys.argv[1:]])\n")
    out = subprocess.run([sys.executable, "-c", code, str(script), LOADER,
                          str(tmp_path / "absent")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"[True, True, {spare == 0}]", out
    readable = exec_image(str(script), resolver_in(tmp_path))
    assert not readable.unread and readable.interpreters[0] == os.path.realpath(TRUE)
