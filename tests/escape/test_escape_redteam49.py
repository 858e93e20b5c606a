"""Red team 49: the linked-access check (model.Table._linked_decision) compared a file's two
names in the table of the process that links or moves it -- but the new name is reached by
every process of the tree, whichever table it runs under.  A program whose table grants it
nothing of the secret nor of ``work/out`` linked (moved) the secret there and ran a program
whose own table reads ``work/**`` and not the secret: that program read the secret.  Now a
link or move is also compared in every other table of the policy (Supervisor._linked_elsewhere):
refused, EPERM, where one of them would grant the file by its new name an access its own name
lacks there.  fs_linked_table.c, one mode each; a native control each; both stop loops."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from escape_lib import Scene, attack, controlled_and_blocked, never, permit, policy

SYSTEM = ["/usr/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**"]


def program_table(key: Path, *rules: str, default: str = "never") -> str:
    """A ``[program."KEY"]`` table with these rule bodies."""
    text = f'\n[program."{key}"]\ndefault = "{default}"\n'
    for rule in rules:
        text += f'\n[[program."{key}".rule]]\n{rule}\n'
    return text


def reader_of(s: Scene) -> Path:
    return s.root / "bin" / "reader"


def two_tables(s: Scene, program: Path, *, reader_reads_secret: bool = False) -> str:
    """The caller: what it needs to start; links and moves of ``secd`` (and what is in it)
    and to names below ``work`` (by the calls' own names: no open of them), nothing read
    or written of either; the reader run.  The
    reader (a table of its own): what it needs to start; reads below ``work``; the secret
    refused by name (or, ``reader_reads_secret``, read)."""
    reader = reader_of(s)
    start = [permit("stdio"), permit("process")]
    start += [permit(["fsread", "exec"], path=p) for p in [*SYSTEM, f"{program.parent}/**"]]
    main = policy(*start, permit(["fsread", "exec"], path=str(reader)),
                  permit("fslink", path=str(s.secd)), permit("fslink", path=f"{s.secd}/**"),
                  permit(["link", "rename"], path=f"{s.work}/**"), default="never")
    secret = permit("fsread", path=f"{s.secd}/**") if reader_reads_secret else \
        never("fsread", path=f"{s.secd}/**")
    return main + program_table(reader, *start, secret,
                                permit("fsread", path=f"{s.work}/**"))


def setup_reader(program: Path) -> object:
    def setup(s: Scene) -> None:
        reader_of(s).parent.mkdir()
        shutil.copy(program, reader_of(s))
    return setup


def args(mode: str) -> object:
    return lambda s: [mode, s.secret, s.work, reader_of(s)]


@pytest.mark.parametrize("mode", ["link", "rename", "dir"])
def test_a_file_gets_no_access_by_a_new_name_in_another_programs_table(
        build, tmp_path: Path, mode: str, loop: dict[str, str]) -> None:
    """Control: natively the reader reads the secret through its new name.  Under the two
    tables: the link or move is refused, EPERM -- ESCAPED on main 806d286, both loops (the
    reader's table read ``work/out``, the linker's granted nothing by either name)."""
    program = build("escape/fs_linked_table.c")
    traced, _ = controlled_and_blocked(
        tmp_path, program, args(mode), lambda s: two_tables(s, program),
        setup=setup_reader(program), env=loop)
    assert traced.detail.startswith(("link", "rename")), str(traced)
    assert traced.detail.endswith(": EPERM"), str(traced)


def test_a_link_no_table_gains_by_runs(build, tmp_path: Path, loop: dict[str, str]) -> None:
    """The other table grants the secret by its own name what the new name gets: the link
    gives it nothing there, and runs as natively (the reader reads the file)."""
    program = build("escape/fs_linked_table.c")
    s = Scene.make(tmp_path)
    setup_reader(program)(s)
    traced = attack(program, *args("link")(s),
                    policy_text=two_tables(s, program, reader_reads_secret=True), scene=s,
                    env=loop)
    assert traced.verdict == "ESCAPED", str(traced)  # (the reader may read it: no escape)
