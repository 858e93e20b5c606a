"""The syscall table is complete and every table derived from it agrees with it.

Walks the whole of systrace_py.syscalls: every number the kernel knows has a record (checked
against the running kernel, python-ptrace's table and the installed kernel headers); every call
has a treatment; every call that takes a path is decided on it or refused as unsafe; every
alias member that takes a path has a decoder; the derived tables (aliases, decoders, guards,
freeze sets...) say what the table says; and each guard's BPF rules and its stop-time check,
compiled from one definition, agree on every register value (a BPF interpreter runs the
compiled filter)."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import functools
import importlib.util
import itertools
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py import api, kernel, learner, records, syscalls
from systrace_py.engine import decode, enforce, scratch, seccomp
from systrace_py.policy import aliases, files, filterplan
from systrace_py.policy.files import loads_policy
from systrace_py.syscalls import (
    ALIAS_NAMES,
    ALWAYS,
    BY_NAME,
    CHANGES_CREDENTIALS,
    CLASS_RULES,
    MAX_NR,
    NAMES,
    NEVER,
    NUMBERS,
    PART_ALIAS_NAMES,
    TABLE,
    Arg,
    Call,
    Kind,
    ParamName,
    Reveals,
    Rule,
    Treat,
)

_DECODING = Treat.PATH | Treat.FILE | Treat.ADDRESS | Treat.ARGV
#: the only x86_64 name python-ptrace spells otherwise than the kernel (the table has the kernel's)
_KERNEL_SPELLING = {"timerfd": "timerfd_create"}
#: entry points whose kernel symbol is spelt otherwise than the call
_ENTRY_SYMBOL = {"umount2": "umount"}


# --- every number the kernel knows -------------------------------------------------------------
def test_the_numbers_are_the_native_abis():
    """x86_64 numbers calls 0..336 and, past the range kept free for the other architectures,
    424 on: no hole, nothing else."""
    assert set(TABLE) == set(range(337)) | set(range(424, MAX_NR + 1))
    assert all(nr == call.nr for nr, call in TABLE.items())
    assert len(NUMBERS) == len(NAMES) == len(TABLE)


def test_python_ptrace_names_agree():
    spec = importlib.util.find_spec("ptrace")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "syscall/linux/x86_64.py"
    names = _load(path).SYSCALL_NAMES
    for nr, name in names.items():
        if nr < 512:  # the x32 numbers are refused by the prefilter
            assert NAMES.get(nr) == _KERNEL_SPELLING.get(name, name), nr


def _load(path: Path) -> object:
    module_spec = importlib.util.spec_from_file_location("_ptrace_names", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_kernel_headers_agree():
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        header = Path("/usr/include/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("no kernel headers")
    found = dict((int(nr), name) for name, nr in
                 re.findall(r"#define __NR_(\w+)\s+(\d+)", header.read_text()))
    assert found
    for nr, name in found.items():
        assert NAMES.get(nr) == name, nr


def test_the_running_kernel_knows_no_other_number():
    """Numbers outside the table (the reserved range, and past MAX_NR) get ENOSYS from this
    kernel: a newer kernel with a call the table lacks fails here.  Calls marked ``ni`` get
    ENOSYS too.  (Called with every argument 0 in a child: harmless.)"""
    numbers = [nr for nr in range(MAX_NR + 9) if nr not in TABLE or TABLE[nr].ni]
    code = ("import ctypes, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.syscall.restype = ctypes.c_long\n"
            "for nr in map(int, sys.argv[1:]):\n"
            "    rc = libc.syscall(ctypes.c_long(nr), 0, 0, 0, 0, 0, 0)\n"
            "    print(nr, rc, ctypes.get_errno())\n")
    out = subprocess.run([sys.executable, "-c", code, *map(str, numbers)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    answers = {int(nr): (int(rc), int(err)) for nr, rc, err in
               (line.split() for line in out.splitlines())}
    assert answers == {nr: (-1, errno.ENOSYS) for nr in numbers}


def test_the_running_kernel_has_every_call_not_marked_ni():
    symbols = set()
    try:
        with open("/proc/kallsyms") as listing:
            for line in listing:
                name = line.split()[2]
                if name.startswith("__x64_sys_"):
                    symbols.add(name.removeprefix("__x64_sys_"))
    except OSError:
        pass
    if len(symbols) < 100:
        pytest.skip("/proc/kallsyms does not list the syscall entry points")
    missing = [c.name for c in TABLE.values()
               if not c.ni and _ENTRY_SYMBOL.get(c.name, c.name) not in symbols]
    assert missing == []


# --- every call is treated, every path decided -------------------------------------------------
@pytest.mark.parametrize("call", TABLE.values(), ids=lambda c: c.name)
def test_every_call_has_a_treatment(call: Call):
    decoding = call.treat & _DECODING
    assert bool(call.treat & Treat.PLAIN) != bool(decoding), \
        f"{call.name}: PLAIN, or how it is decoded (and not both)"
    if call.ni:
        assert call.treat == Treat.PLAIN and not call.aliases and call.guard is None


@pytest.mark.parametrize("call", TABLE.values(), ids=lambda c: c.name)
def test_arguments_and_treatment_agree(call: Call):
    kinds = {a.kind for a in call.args}
    # a path argument, or options whose values may name files (decoded as path roles)
    assert bool(kinds & {Kind.PATH, Kind.OPTIONS}) == bool(call.treat & Treat.PATH), call.name
    if Kind.OPTIONS in kinds:
        assert call.name in decode.DYNAMIC_ROLE_CALLS, call.name
    assert (Kind.FILE in kinds) == bool(call.treat & Treat.FILE), call.name
    assert bool(kinds & {Kind.SOCKADDR, Kind.MSGHDR, Kind.MMSGHDR}) == \
        bool(call.treat & Treat.ADDRESS), call.name
    assert (Kind.ARGV in kinds) == bool(call.treat & Treat.ARGV), call.name
    if call.treat & Treat.OPEN:
        assert call.treat & Treat.PATH and not call.treat & Treat.FREEZE, call.name
    if kinds & {Kind.OPEN_FLAGS, Kind.OPEN_HOW}:
        assert call.treat & Treat.OPEN, call.name
    if Kind.MAYBE_PATH in kinds:
        # a path the engine cannot decide on: refused unless a rule names the call
        assert call.treat & Treat.UNSAFE, call.name
    assert len(call.args) <= 6, call.name


@pytest.mark.parametrize("call", [c for c in TABLE.values() if c.paths()], ids=lambda c: c.name)
def test_path_arguments_are_well_formed(call: Call):
    roles = [p.role for _, p in call.paths()]
    assert len(set(roles)) == len(roles) and set(roles) <= {"path", "old", "new"}, call.name
    for _, path in call.paths():
        if path.dirfd is not None:
            assert call.args[path.dirfd].kind is Kind.DIRFD, call.name
        for rule in (path.follow, path.empty):
            _check_rule(call, rule)
        if path.classes is not None:
            assert path.classes < call.aliases, call.name
    for i, arg in enumerate(call.args):
        if arg.kind is Kind.DIRFD:
            assert any(p.dirfd == i for _, p in call.paths()), f"{call.name}: unused dirfd"


def _check_rule(call: Call, rule: Rule) -> None:
    assert rule.when in {"always", "never", "if_flag", "unless_flag", "open_flags", "open_how",
                         "one_of"}
    if rule.when in ("if_flag", "unless_flag"):
        assert call.args[rule.arg].kind is Kind.FLAGS and rule.bit, call.name
        assert rule.bit & (rule.bit - 1) == 0, f"{call.name}: one bit"
    if rule.when == "one_of":
        # a C int selector (an ioctl request): the kernel reads its low 32 bits
        assert call.args[rule.arg].kind is Kind.CMD and rule.values, call.name
        assert all(0 <= value < 2**32 for value in rule.values), call.name
    if rule.when == "open_flags":
        assert call.args[rule.arg].kind is Kind.OPEN_FLAGS, call.name
    if rule.when == "open_how":
        assert call.index_of(Kind.OPEN_HOW) is not None, call.name


@pytest.mark.parametrize("call", TABLE.values(), ids=lambda c: c.name)
def test_class_rules_are_well_formed(call: Call):
    """A call's classes may depend on one register (CLASS_RULES): ioctl's request decides
    whether it is in its alias at all; renameat2's flags whether its new path's file gets a
    new name too.  The old path of every link and rename always gets one."""
    if call.aliases_when != ALWAYS:
        _check_rule(call, call.aliases_when)
        assert call.aliases and call.aliases_when.when == "one_of", call.name
    for _, path in call.paths():
        if not call.treat & Treat.NAMES:
            assert path.renamed == NEVER, call.name
        elif path.role == "old":
            assert path.renamed == ALWAYS, call.name
        else:
            assert path.renamed.when in ("never", "if_flag"), call.name
            _check_rule(call, path.renamed)
    rule = CLASS_RULES.get(call.name)
    if rule is not None:
        assert rule.arg == decode.SELECTOR_ARG[call.name]
        chosen, other = rule.witnesses()
        assert rule.holds_on(chosen) and not rule.holds_on(other), call.name
    else:
        assert call.name not in decode.SELECTOR_ARG


def test_the_calls_a_register_classes_are_the_known_ones():
    assert set(CLASS_RULES) == {"ioctl", "renameat2"}
    assert CLASS_RULES["renameat2"] == Rule("if_flag", 4, kernel.RENAME_EXCHANGE)
    assert CLASS_RULES["ioctl"].values == {r for r, _ in kernel.FILE_CHANGING_IOCTLS}


def test_file_changing_ioctls_are_the_kernels_numbers(tmp_path):
    """Each request number against the kernel's headers (compiled: _IOW and friends are
    macros); ext4's private numbers with the kernel's own _IOW/_IO, as fs/ext4/ext4.h has
    them."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    headers = {name: "linux/fs.h" for _, name in kernel.FILE_CHANGING_IOCTLS}
    headers.update({"FS_IOC_SET_ENCRYPTION_POLICY": "linux/fscrypt.h",
                    "FS_IOC_ENABLE_VERITY": "linux/fsverity.h",
                    **{name: "linux/btrfs.h" for _, name in kernel.FILE_CHANGING_IOCTLS
                       if name.startswith("BTRFS_")}})
    ext4 = {"EXT4_IOC_SETVERSION": "_IOW('f', 4, long)", "EXT4_IOC_MIGRATE": "_IO('f', 9)"}
    present = [h for h in sorted(set(headers.values()))
               if Path("/usr/include", h).exists()]
    if len(present) < 4:
        pytest.skip("the kernel's uapi headers are not installed")
    source = tmp_path / "numbers.c"
    lines = ["#include <stdio.h>", "#include <linux/ioctl.h>",
             *(f"#include <{h}>" for h in present),
             *(f"#define {name} {value}" for name, value in ext4.items()),
             "int main(void) {"]
    for _, name in kernel.FILE_CHANGING_IOCTLS:
        lines.append(f'    printf("{name} %u\\n", (unsigned)({name}));')
    lines += ["    return 0;", "}"]
    source.write_text("\n".join(lines) + "\n")
    binary = tmp_path / "numbers"
    subprocess.run(["gcc", "-o", str(binary), str(source)], check=True, capture_output=True,
                   timeout=60)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True,
                         timeout=60).stdout
    found = {name: int(value) for name, value in (line.split() for line in out.splitlines())}
    assert found == {name: getattr(kernel, name) for _, name in kernel.FILE_CHANGING_IOCTLS}
    assert found == {name: value for value, name in kernel.FILE_CHANGING_IOCTLS}


@pytest.mark.parametrize("alias", ["fsread", "fswrite", "exec"])
def test_every_file_alias_member_has_a_decoder(alias):
    """A member of a file alias that the engine cannot decide on a path could never match a
    rule with ``path``: the default would decide it."""
    for name in aliases.ALIASES[alias]:
        assert name in decode.PATH_ARGS or name in decode.FD_ARGS, name
        assert name in aliases.PATH_CALLS, name


def test_what_fsread_reveals_is_recorded():
    for call in TABLE.values():
        assert (call.reveals is not None) == ("fsread" in call.aliases), call.name
    metadata = {c.name for c in TABLE.values() if c.reveals is Reveals.METADATA}
    assert {"stat", "access", "readlink", "getxattr", "statfs", "file_getattr"} <= metadata
    assert {"open", "execve", "rename"} <= {c.name for c in TABLE.values()
                                           if c.reveals is Reveals.CONTENT}


def test_aliases_are_the_documented_ones():
    named = set().union(*(c.aliases for c in TABLE.values()))
    assert named == set(ALIAS_NAMES)
    # the calls a group alias names are exactly that group: refused unless named
    for alias in ("debug", "io-uring"):
        assert aliases.ALIASES[alias] <= aliases.UNSAFE_CALLS, alias
    # ... but for the namespace calls the engine checks (docs/security.md, class 10): what
    # they change, the engine follows; what they show under new names, a rule decides
    namespace = aliases.ALIASES["namespace"]
    assert namespace & aliases.UNSAFE_CALLS == {"setns"}
    assert namespace - aliases.UNSAFE_CALLS <= aliases.VIEW_CALLS | aliases.PATH_CALLS
    assert {"mount", "umount2", "move_mount", "open_tree", "open_tree_attr", "fspick",
            "fsopen", "fsconfig"} == aliases.EXPOSING_CALLS
    # a call is in at most one alias besides the file ones, and then in no file one -- but
    # open_tree without OPEN_TREE_CLONE, an O_PATH open by another name: fsread too (red team
    # 13, path_open_tree.c)
    for call in TABLE.values():
        groups = call.aliases - {"fsread", "fswrite", "exec"}
        files = call.aliases - groups
        if call.name in ("open_tree", "open_tree_attr"):
            assert groups == {"namespace"} and files == {"fsread"}, call.name
            continue
        assert len(groups) <= 1 and not (groups and files), call.name
    # stdio: what a program does with what it holds -- no path, nothing unsafe
    stdio = aliases.ALIASES["stdio"]
    assert not stdio & aliases.UNSAFE_CALLS
    assert not stdio & {c.name for c in TABLE.values() if c.treat & Treat.PATH}


def test_descriptor_stand_ins_are_descriptor_calls():
    for call in TABLE.values():
        if call.on_descriptor is not None:
            stand_in = BY_NAME[call.on_descriptor]
            assert stand_in.index_of(Kind.FILE) is not None, call.name
            (_, path), = call.paths()
            assert path.empty.when != "never", f"{call.name}: an empty path must mean its fd"


# --- the derived tables say what the table says -------------------------------------------------
def test_decoder_tables_are_the_tables():
    for call in TABLE.values():
        specs = decode.PATH_ARGS.get(call.name, ())
        assert [(s.arg, s.role, s.dirfd_arg, s.follow, s.empty) for s in specs] == \
            [(i, p.role, p.dirfd, p.follow, p.empty) for i, p in call.paths()]
        assert decode.FD_ARGS.get(call.name) == call.index_of(Kind.FILE)
        assert decode.ROLES.get(call.name, ()) == (
            tuple(p.role for _, p in call.paths()) or
            (("path",) if call.index_of(Kind.FILE) is not None else ()))
        sockaddr = call.index_of(Kind.SOCKADDR)
        if sockaddr is None:
            assert call.name not in decode.SOCKADDR_ARGS
        else:
            arg = call.args[sockaddr]
            assert isinstance(arg, Arg) and arg.length is not None
            assert decode.SOCKADDR_ARGS[call.name] == (sockaddr, arg.length)
            assert call.args[arg.length].kind is Kind.INT
        assert decode.ON_DESCRIPTOR_AS.get(call.name) == call.on_descriptor


def test_alias_tables_are_the_tables():
    for alias in ALIAS_NAMES:
        assert aliases.ALIASES[alias] == {c.name for c in TABLE.values() if alias in c.aliases}
    # the part aliases come from the records too: what fsread reveals, and the NAMES treatment
    assert aliases.ALIASES["fsmeta"] == {c.name for c in TABLE.values()
                                         if c.reveals is Reveals.METADATA}
    assert aliases.ALIASES["fslink"] == {c.name for c in TABLE.values() if c.treat & Treat.NAMES}
    for call in TABLE.values():
        parts = {p for p in PART_ALIAS_NAMES if call.name in aliases.ALIASES[p]}
        assert aliases.aliases_of(call.name) == call.aliases | parts
        for name, flag in (("UNSAFE_CALLS", Treat.UNSAFE), ("OPEN_CALLS", Treat.OPEN),
                           ("EXEC_CALLS", Treat.ARGV), ("TWO_PATH_CALLS", Treat.NAMES),
                           ("MOVE_CALLS", Treat.MOVES), ("ADDRESS_CALLS", Treat.ADDRESS)):
            assert (call.name in getattr(aliases, name)) == bool(call.treat & flag), \
                (name, call.name)
        assert (call.name in aliases.PATH_CALLS) == bool(call.treat & (Treat.PATH | Treat.FILE))
    assert aliases.MOVE_CALLS <= aliases.TWO_PATH_CALLS


def test_classes_of_a_call_follow_the_table():
    for call in TABLE.values():
        for _, path in call.paths():
            classes = aliases.classes_of(call.name, path.role, 0o2)  # O_RDWR for the opens
            assert classes == (path.classes if path.classes is not None else call.aliases)
    assert aliases.classes_of("openat", "path", 0) == {"fsread"}
    assert aliases.classes_of("openat", "path", 0o1) == {"fswrite"}
    assert aliases.classes_of("creat") == {"fswrite"}
    assert aliases.classes_of("rename", "old") == {"fsread", "fswrite"}
    assert aliases.classes_of("rename", "new") == {"fswrite"}
    assert aliases.classes_of("file_getattr") == {"fsread"}
    # RENAME_EXCHANGE: the new path's file moves too
    exchange = kernel.RENAME_EXCHANGE
    assert aliases.classes_of("renameat2", "new", None, exchange) == {"fsread", "fswrite"}
    assert aliases.classes_of("renameat2", "new", None, kernel.RENAME_NOREPLACE) == {"fswrite"}
    assert aliases.classes_of("renameat", "new", None, exchange) == {"fswrite"}
    assert aliases.renames("renameat2", "new", exchange | kernel.RENAME_WHITEOUT)
    assert not aliases.renames("renameat2", "new", kernel.RENAME_NOREPLACE)
    assert aliases.renames("rename", "old") and aliases.renames("linkat", "old")
    assert not aliases.renames("link", "new", exchange)
    assert not aliases.renames("pivot_root", "old")
    # ioctl: fswrite only for a request that changes a file, as the kernel reads it
    setflags = kernel.FS_IOC_SETFLAGS
    assert aliases.classes_of("ioctl", "path", None, setflags) == {"fswrite"}
    assert aliases.classes_of("ioctl", "path", None, setflags | 1 << 32) == {"fswrite"}
    assert aliases.classes_of("ioctl", "path", None, 0x5401) == frozenset()  # TCGETS
    assert aliases.classes_of("ioctl", "path", None, 0x80086601) == frozenset()  # GETFLAGS
    assert aliases.classes_of("ioctl") == frozenset()


def test_part_aliases_cover_their_part_of_a_class():
    """fsmeta is the fsread check of a metadata call, fslink the checks of the path whose
    file gets a new name -- never an exchange's (both names also get the other file)."""
    exchange = kernel.RENAME_EXCHANGE
    assert aliases.part_of("newfstatat", "path", "fsread") == "fsmeta"
    assert aliases.part_of("readlink", "path", "fsread") == "fsmeta"
    assert aliases.part_of("openat", "path", "fsread") is None
    assert aliases.part_of("execve", "path", "fsread") is None
    for cls in ("fsread", "fswrite"):
        assert aliases.part_of("link", "old", cls) == "fslink"
        assert aliases.part_of("renameat2", "old", cls, 0) == "fslink"
        assert aliases.part_of("renameat2", "old", cls, exchange) is None
        assert aliases.part_of("renameat2", "new", cls, exchange) is None
    assert aliases.part_of("rename", "new", "fswrite") is None
    assert aliases.part_of("link", "old", "exec") is None
    # a part alias is never a check's class of its own
    for call in TABLE.values():
        for _, path in call.paths():
            assert not aliases.classes_of(call.name, path.role, 0o2) & set(PART_ALIAS_NAMES)


def test_call_checks_as_checks_of_derives_them():
    """The plan reads most calls' checks straight off the table (filterplan._PLAIN, issue 16's
    start-up): the same checks, in the same order, as model.checks_of gives over each path
    role, for every call and every selector the plan asks about (and a few more)."""
    call_checks = filterplan._call_checks.__wrapped__  # (uncached)
    selectors = (None, 0, kernel.RENAME_EXCHANGE, kernel.RENAME_NOREPLACE, kernel.FS_IOC_SETFLAGS)
    for name in NUMBERS:
        for selector in {*aliases.selector_cases(name), *selectors}:
            assert call_checks(name, selector) == filterplan._checks_of_roles(name, selector), \
                (name, selector)
    # the calls whose checks vary with their arguments or roles take the long way
    assert {"open", "openat", "openat2", "creat", "ioctl", "rename", "renameat", "renameat2",
            "link", "linkat"}.isdisjoint(filterplan._PLAIN)
    assert len(filterplan._PLAIN) > 300
    assert call_checks("newfstatat") == (("fsread", "fsmeta"),)
    assert call_checks("execve") == (("exec", None), ("fsread", None))
    assert call_checks("shmget") == ((None, None),)  # (in no class)


def test_which_calls_create_the_name_they_are_given():
    assert aliases.creates("mkdir", "path") and aliases.creates("link", "new")
    assert aliases.creates("openat", "path", os.O_CREAT | os.O_WRONLY)
    assert aliases.creates("creat", "path")
    assert not aliases.creates("openat", "path", os.O_RDONLY)
    assert not aliases.creates("openat", "path", os.O_TMPFILE | os.O_RDWR)  # a directory
    assert not aliases.creates("link", "old") and not aliases.creates("newfstatat", "path")


def test_engine_sets_are_the_tables():
    assert {c.name for c in TABLE.values() if c.guard is not None} == seccomp.GUARDED_CALLS
    stop_guarded = {c.name for c in TABLE.values()
                    if c.guard is not None and c.guard.check is not None}
    assert stop_guarded == seccomp.STOP_GUARDED
    task_targets = {name for name, guard in seccomp.GUARDS.items()
                    if guard.check == "task_target"}
    assert task_targets == {"kill", "tkill", "rt_sigqueueinfo", "pidfd_open"}
    # the debug calls a rule may name never aim at the tracer (red team 45): ptrace's pid is
    # its second argument
    debug_targets = {name: guard.arg for name, guard in seccomp.GUARDS.items()
                     if guard.check == "debug_target"}
    assert debug_targets == {"ptrace": 1, "process_vm_readv": 0, "process_vm_writev": 0}
    assert {c.name for c in TABLE.values() if c.treat & Treat.FREEZE} == enforce.FREEZE_CALLS
    # what the kernel resolves again after the check: every change made by path or through a
    # descriptor, every exec, every address
    changes = (aliases.ALIASES["fswrite"] - aliases.OPEN_CALLS) | aliases.EXEC_CALLS \
        | aliases.ADDRESS_CALLS
    assert changes <= enforce.FREEZE_CALLS
    assert enforce.SOCKET_PATH_CALLS == files.REDIRECT_ADDRESS_CALLS == \
        {"connect", "bind", "sendto", "sendmsg"}
    assert aliases.ALIASES["privilege"] == filterplan.KILLED_WHEN_REFUSED
    assert {"exit", "exit_group"} == api.NEVER_RETURN
    assert set(decode.PATH_ARGS) | set(decode.FD_ARGS) | decode.DYNAMIC_ROLE_CALLS \
        | aliases.ADDRESS_CALLS | aliases.EXEC_CALLS == learner._ARGUMENT_CALLS
    assert {c.name for c in TABLE.values() if c.treat & Treat.VIEW} == enforce.VIEW_CALLS
    assert {"mkdir", "mkdirat", "mknod", "mknodat", "symlink", "symlinkat"} == learner._CREATING
    assert records._held_args("execveat") == {1: "the 'path' path", 2: "argv"}
    assert records._held_args("sendto") == {4: "the socket address", 5: "the socket address"}
    assert records._held_args("clone3") == {0: "struct clone_args", 1: "struct clone_args"}
    assert {c.name: c.shares for c in TABLE.values() if c.shares is not None} == seccomp.SHARES
    assert {c.name: c.keys for c in TABLE.values() if c.keys is not None} == seccomp.KEYS
    # clone3's flags are in memory: it always stops, and its check reads them
    assert seccomp.GUARDS["clone3"].check == "clone3" and () in seccomp.GUARDS["clone3"].cases
    # every call with an address names the socket that reads it; the control data of every
    # message sent is read; socket() is the one call that makes sockets of a kind
    assert set(decode.SOCKET_ARG) == aliases.ADDRESS_CALLS
    assert {c.name for c in TABLE.values() if c.treat & Treat.CONTROL} == \
        {"sendmsg", "sendmmsg"}
    assert {"socket"} == filterplan.SOCKET_MAKERS


def test_follow_rules_of_the_drifted_calls():
    """What the kernel does with the flags that stop it following the last symlink."""
    def follows(name: str, args: tuple[int, ...], role: str = "path") -> bool:
        spec = next(s for s in decode.PATH_ARGS[name] if s.role == role)
        return spec.follows(args)

    # UMOUNT_NOFOLLOW, FAN_MARK_DONT_FOLLOW, AT_SYMLINK_NOFOLLOW
    assert follows("umount2", (0, 0)) and not follows("umount2", (0, 8))
    assert follows("fanotify_mark", (3, 0, 0, 0, 0))
    assert not follows("fanotify_mark", (3, 4, 0, 0, 0))
    assert follows("open_tree", (0, 0, 0)) and not follows("open_tree", (0, 0, 0x100))
    assert follows("file_setattr", (0, 0, 0, 0, 0))
    assert not follows("file_setattr", (0, 0, 0, 0, 0x100))
    # move_mount follows only when asked: MOVE_MOUNT_F_SYMLINKS, MOVE_MOUNT_T_SYMLINKS
    assert not follows("move_mount", (0, 0, 0, 0, 0), "old")
    assert follows("move_mount", (0, 0, 0, 0, 1), "old")
    assert follows("move_mount", (0, 0, 0, 0, 0x10), "new")
    spec = decode.PATH_ARGS["file_setattr"][0]
    assert spec.empty_means_fd((0, 0, 0, 0, 0x1000)) and not spec.empty_means_fd((0,) * 5)
    assert decode.PATH_ARGS["readlinkat"][0].empty_means_fd((0,) * 4)


# --- guards: one definition, two compilers that agree ---------------------------------------------
_RET_ALLOW, _RET_ERRNO, _RET_TRACE = 0x7FFF0000, 0x00050000, 0x7FF00000
_TRACER = 4242


class _Bpf:
    """A classic BPF interpreter for seccomp programs (what libseccomp emits)."""

    def __init__(self, program: bytes) -> None:
        self.insns = [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]

    def run(self, nr: int, args: tuple[int, ...], arch: int = 0xC000003E) -> int:
        data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
        a = x = 0
        mem = [0] * 16
        pc = 0
        while True:
            code, jt, jf, k = self.insns[pc]
            pc += 1
            cls = code & 0x07
            if cls == 0x00:      # LD
                mode = code & 0xE0
                if mode == 0x20:
                    a = struct.unpack_from("<I", data, k)[0]
                elif mode == 0x00:
                    a = k
                elif mode == 0x60:
                    a = mem[k]
                else:
                    raise AssertionError(f"ld mode {code:#x}")
            elif cls == 0x01:    # LDX
                x = mem[k] if code & 0xE0 == 0x60 else k
            elif cls == 0x02:    # ST
                mem[k] = a
            elif cls == 0x03:    # STX
                mem[k] = x
            elif cls == 0x04:    # ALU
                operand = x if code & 0x08 else k
                op = code & 0xF0
                a = {0x00: a + operand, 0x10: a - operand, 0x40: a | operand,
                     0x50: a & operand, 0xA0: a ^ operand}[op] & 0xFFFFFFFF
            elif cls == 0x05:    # JMP
                operand = x if code & 0x08 else k
                op = code & 0xF0
                if op == 0x00:
                    pc += k
                    continue
                taken = {0x10: a == operand, 0x20: a > operand, 0x30: a >= operand,
                         0x40: bool(a & operand)}[op]
                pc += jt if taken else jf
            elif cls == 0x06:    # RET
                return a if code & 0x10 else k
            elif cls == 0x07:    # MISC
                if code & 0xF8 == 0x00:
                    x = a
                else:
                    a = x
            else:
                raise AssertionError(f"opcode {code:#x}")


class _Filters:
    """The programs of seccomp.compile_filters, run as the kernel runs stacked filters: every
    one, and the answer of the highest precedence wins (the lowest action: ERRNO before TRACE
    before ALLOW; of equal actions, the last loaded filter's)."""

    def __init__(self, plan: filterplan.FilterPlan) -> None:
        self.programs = [_Bpf(p) for p in seccomp.compile_filters(plan, _TRACER)]

    def run(self, nr: int, args: tuple[int, ...], arch: int = 0xC000003E) -> int:
        answers = [program.run(nr, args, arch) for program in reversed(self.programs)]
        return min(answers, key=lambda ret: ret & 0xFFFF0000)


@pytest.fixture(scope="module")
def guard_filter() -> _Filters:
    return _Filters(filterplan.FilterPlan(calls={name: filterplan.ALLOW for name in NUMBERS}))


_PARAMS = {"tracer_pid": _TRACER, "area_base": scratch.BASE,
           "area_end": scratch.BASE + scratch.SIZE, "area_mask": ~(scratch.SIZE - 1) % 2**64}
_EDGES = [0, 1, 2**32 - 1, 2**32, 2**64 - 1, 4096, scratch.BASE, scratch.BASE + scratch.SIZE,
          scratch.BASE - scratch.GUARD_REACH, scratch.GUARD_REACH, 1 << 47]


def _near(value: int) -> list[int]:
    """A value and its neighbours: one off, its high half set, its bits flipped."""
    return [v % 2**64 for v in (value, value - 1, value + 1, value | 1 << 32, value ^ 2**64 - 1,
                                value + 4096, value - 4096)]


def _resolved(value: int | ParamName) -> int:
    return value if isinstance(value, int) else _PARAMS[value]


# (the strategies the helpers below draw from are made once: made at every draw -- a list's
# sampled_from, a lambda's map are not cached -- hypothesis checked and labelled them again
# each time, most of these properties' time; the same strategies, the same distribution)
_ANYTHING = st.one_of(st.sampled_from(_EDGES), st.integers(0, 2**64 - 1))
_SIX_ANYTHING = st.tuples(*[_ANYTHING] * 6)
_NEAR_AN_EDGE = st.sampled_from(_EDGES).map(_near).flatmap(st.sampled_from)


@functools.cache
def _cases_of(name: str) -> st.SearchStrategy[tuple[syscalls.Test, ...]]:
    """One of a guarded (or sharing) call's cases, or none."""
    call = BY_NAME[name]
    cases = [*(call.guard.cases + call.guard.refused if call.guard is not None else ()),
             *(call.shares.cases if call.shares is not None else ()), *(call.keys or ())]
    return st.sampled_from([*cases, ()])


@functools.cache
def _aimed(value: int, mask: int) -> st.SearchStrategy[int]:
    """A register next to ``value``, or ``value`` with anything in the bits ``mask`` leaves
    out."""
    near = st.sampled_from(_near(value))
    outside = st.integers(0, 2**64 - 1).map(lambda bits, v=value, m=mask: v | bits & ~m)
    return st.one_of(near, outside)


def _register_values(name: str, data: st.DataObject) -> tuple[int, ...]:
    """Six registers for a guarded (or sharing) call, aimed at one of its guard's cases or of
    its ``shares`` cases: each tested register at (or next to) the value its test compares
    with, the others anything."""
    args = list(data.draw(_SIX_ANYTHING))
    case = data.draw(_cases_of(name))
    for test in case:
        if test.op == "touches":
            args[test.arg] = data.draw(_NEAR_AN_EDGE)
            args[_resolved(test.value)] = data.draw(_ANYTHING)
            continue
        args[test.arg] = data.draw(_aimed(_resolved(test.value), _resolved(test.mask)))
    return tuple(args)


def _boundaries(test: syscalls.Test) -> list[int]:
    """The registers at the edges of one test: for "eq" its value, one off either way, each
    bit of its mask flipped, the bits its mask leaves out all set, its high half set and
    clear; for "ne"/"lt"/"ge" its value, one off, the ends of the register; for "touches"
    (an over-approximated range) the pointer near every edge of the scratch area."""
    if test.op == "touches":
        return sorted({v for edge in _EDGES for v in _near(edge)})
    value, mask = _resolved(test.value), _resolved(test.mask)
    around = [value, value - 1, value + 1, 0, 2**64 - 1, value | 0xFFFFFFFF << 32,
              value & 0xFFFFFFFF, value ^ 1 << 32]
    if test.op == "eq":
        around += [value ^ 1 << bit for bit in range(64) if mask >> bit & 1]
        around += [value | ~mask, (value | ~mask) ^ (mask & -mask)]
    return sorted({v % 2**64 for v in around})


_HOLDS_AT = {"ne": 1, "lt": -1, "ge": 0}


@functools.cache
def _guard_boundary_registers(name: str) -> tuple[tuple[int, ...], ...]:
    """:func:`_cases_boundary_registers` of every case of a guarded (or sharing) call's
    guard, ``refused``, ``shares`` and ``keys``."""
    call = BY_NAME[name]
    return _cases_boundary_registers(
        (*(call.guard.cases + call.guard.refused if call.guard is not None else ()),
         *(call.shares.cases if call.shares is not None else ()), *(call.keys or ())))


def _cases_boundary_registers(cases: Sequence[syscalls.Case], *, each_test_once: bool = False
                              ) -> tuple[tuple[int, ...], ...]:
    """Every case with its tested registers where it holds (an "eq" at exactly its value;
    the other registers 0, then all ones), and each tested register in turn moved over its
    :func:`_boundaries` while the case's other tests still hold.  ``each_test_once``: a test
    that several cases share is moved over its edges in the first of them only (socket()'s
    78 unseen cases share 40 tests: a test compiles to the same instructions in each case,
    and every case is still tried where it holds)."""
    moved_tests: set[tuple[syscalls.Test, int]] = set()
    registers: dict[tuple[int, ...], None] = {}
    for rest in (0, 2**64 - 1):
        registers[(rest,) * 6] = None
        for case in cases:
            held = [rest] * 6
            for test in case:
                if test.op == "touches":
                    held[test.arg], held[_resolved(test.value)] = scratch.BASE, 1
                elif test.op == "eq":
                    held[test.arg] = _resolved(test.value) | (rest & ~_resolved(test.mask))
                else:  # a value that holds: "ne" one above, "lt" one below, "ge" at it
                    held[test.arg] = (_resolved(test.value) + _HOLDS_AT[test.op]) % 2**64
            registers[tuple(held)] = None
            for test in case:
                if each_test_once and (test, rest) in moved_tests:
                    continue
                moved_tests.add((test, rest))
                for value in _boundaries(test):
                    moved = list(held)
                    moved[test.arg] = value
                    registers[tuple(moved)] = None
                    if test.op == "touches":
                        for length in (0, 1, 4096, scratch.GUARD_REACH, 2**64 - 1):
                            moved[_resolved(test.value)] = length
                            registers[tuple(moved)] = None
    return tuple(registers)


def _assert_guard_agrees(guard_filter: _Filters, name: str, args: tuple[int, ...]) -> None:
    """The property below's check of one set of registers (kept there verbatim as well:
    its body is its hypothesis seed)."""
    action = guard_filter.run(NUMBERS[name], args)
    guard = BY_NAME[name].guard
    shares = seccomp.shares_memory(name, args) is not None or seccomp.keys_mapping(name, args) \
        or name in CHANGES_CREDENTIALS
    refusal = seccomp.guard_refusal(name, args, _TRACER)
    stopping = seccomp.stop_guard(name, args, _TRACER)
    over_approximates = guard is not None and any(
        t.op == "touches" for case in guard.cases for t in case)
    sharing = BY_NAME[name].shares
    always_stops = ((sharing is not None and () in sharing.cases)
                    or () in (BY_NAME[name].keys or ()) or name in CHANGES_CREDENTIALS)
    if guard is not None and guard.check is not None:
        if refusal is not None:
            assert stopping is None and action == _RET_ERRNO | refusal, (name, args, hex(action))
        else:
            assert (action == _RET_TRACE) == (stopping is not None or shares), \
                (name, args, hex(action))
            assert action in (_RET_TRACE, _RET_ALLOW)
    elif refusal is not None:
        assert action == _RET_ERRNO | refusal or (
            (over_approximates or shares) and action == _RET_TRACE), (name, args, hex(action))
    elif shares:
        assert action == _RET_TRACE, (name, args, hex(action))
    else:
        assert action == _RET_ALLOW or (over_approximates and action == _RET_TRACE), \
            (name, args, hex(action))
    assert not always_stops or action == _RET_TRACE


@pytest.mark.parametrize("name", sorted(seccomp.GUARDED_CALLS | seccomp.NOTED
                                         | CHANGES_CREDENTIALS))
def test_a_guard_agrees_with_its_stop_check_at_every_cases_edges(guard_filter, name):
    """The property below, deterministic: every case at exactly its values, one off, each
    mask bit flipped, the high half set and clear -- where a dropped case, a value one off
    or a lost mask bit shows (the property, drawing, missed some at 200 examples)."""
    for args in _guard_boundary_registers(name):
        _assert_guard_agrees(guard_filter, name, args)


# (40 examples: every case's edges are the deterministic test's above; these draw the
# registers beyond them -- guard74 measured the count with broken guards, docs/performance.md)
@pytest.mark.parametrize("name", sorted(seccomp.GUARDED_CALLS | seccomp.NOTED
                                         | CHANGES_CREDENTIALS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_guard_compiles_to_bpf_that_agrees_with_its_stop_check(guard_filter, name, data):
    """And so do the cases in which a call shares the caller's memory or may give a mapping a
    protection key: the filter stops exactly those (when nothing else decides the call), and
    the stop sees the same.  A call that may change credentials always stops (the tracer
    reads them again), its guard applied at the stop."""
    args = _register_values(name, data)
    action = guard_filter.run(NUMBERS[name], args)
    guard = BY_NAME[name].guard
    shares = seccomp.shares_memory(name, args) is not None or seccomp.keys_mapping(name, args) \
        or name in CHANGES_CREDENTIALS
    refusal = seccomp.guard_refusal(name, args, _TRACER)
    stopping = seccomp.stop_guard(name, args, _TRACER)
    over_approximates = guard is not None and any(
        t.op == "touches" for case in guard.cases for t in case)
    sharing = BY_NAME[name].shares
    always_stops = ((sharing is not None and () in sharing.cases)  # (then guarded at the stop)
                    or () in (BY_NAME[name].keys or ()) or name in CHANGES_CREDENTIALS)
    if guard is not None and guard.check is not None:
        # a stop guard: the filter stops exactly the cases the tracer then checks, and
        # refuses its ``refused`` cases (ioctl's TIOCSTI) as the stop does
        if refusal is not None:
            assert stopping is None and action == _RET_ERRNO | refusal, (name, args, hex(action))
        else:
            assert (action == _RET_TRACE) == (stopping is not None or shares), \
                (name, args, hex(action))
            assert action in (_RET_TRACE, _RET_ALLOW)
    elif refusal is not None:
        # refused: by the filter, or at the stop the filter asked for (same errno either way)
        assert action == _RET_ERRNO | refusal or (
            (over_approximates or shares) and action == _RET_TRACE), (name, args, hex(action))
    elif shares:
        assert action == _RET_TRACE, (name, args, hex(action))
    else:
        assert action == _RET_ALLOW or (over_approximates and action == _RET_TRACE), \
            (name, args, hex(action))
    assert not always_stops or action == _RET_TRACE


@pytest.fixture(scope="module")
def unseen_filter() -> _Filters:
    """A filter refusing the sockets address rules cannot see (the plan of such a policy)."""
    plan = filterplan.FilterPlan(calls={name: filterplan.ALLOW for name in NUMBERS},
                                 unseen={"socket": filterplan.Verdict("errno", errno.EPERM)})
    return _Filters(plan)


def _socket_registers(data: st.DataObject) -> tuple[int, ...]:
    """socket()'s registers aimed at one of its cases: each tested register at (or next to)
    its value, anything in the bits its mask leaves out."""
    case = data.draw(_SOCKET_CASES)
    args = list(data.draw(_SIX_SOCKET_REGISTERS))
    for test in case:
        args[test.arg] = data.draw(_aimed(_resolved(test.value), _resolved(test.mask)))
    return tuple(args)


_SOCKET_CASES = st.sampled_from([*syscalls.unseen_cases("socket"), ()])
_SIX_SOCKET_REGISTERS = st.tuples(*[st.one_of(st.sampled_from(_EDGES), st.integers(0, 2**64 - 1),
                                              st.integers(0, 300))] * 6)


def test_the_unseen_sockets_agree_with_the_stop_check_at_every_cases_edges(unseen_filter):
    """The property below, deterministic: each of socket()'s unseen cases where it holds,
    and each of their tests at exactly its value, one off, each mask bit flipped, the bits
    its mask leaves out set, the high half set and clear (trim78: what the property drew
    1,500 examples for, at the edges where a compile defect shows)."""
    for args in _cases_boundary_registers(syscalls.unseen_cases("socket"), each_test_once=True):
        action = unseen_filter.run(NUMBERS["socket"], args)
        unseen = syscalls.makes_unseen("socket", args)
        assert action == (_RET_ERRNO | errno.EPERM if unseen else _RET_ALLOW), (args, hex(action))


# (100 examples, not 1,500: every case's edges are the deterministic test's above; these draw
# registers beyond them -- trim78 measured the count with broken compiles, docs/performance.md)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_unseen_sockets_compile_to_bpf_that_agrees_with_the_stop_check(unseen_filter, data):
    """socket()'s unseen cases: the filter refuses exactly what the tracer's check (at a stop,
    or without a filter) refuses, on every register value."""
    args = _socket_registers(data)
    action = unseen_filter.run(NUMBERS["socket"], args)
    if syscalls.makes_unseen("socket", args):
        assert action == _RET_ERRNO | errno.EPERM, (args, hex(action))
    else:
        assert action == _RET_ALLOW, (args, hex(action))


_HALVES = st.sampled_from([0, 1, 5, 2**31, 2**32 - 1])


def _word() -> st.SearchStrategy[int]:
    """A 64-bit value whose halves are edges, or anything."""
    return _WORD


_WORD = st.one_of(st.builds(lambda high, low: high << 32 | low, _HALVES, _HALVES),
                  st.integers(0, 2**64 - 1))


_TESTS = st.one_of(
    st.builds(lambda arg, value, mask: syscalls.Test(arg, "eq", value & mask, mask),
              st.integers(0, 5), _word(), _word()),
    st.builds(lambda arg, value, mask: syscalls.Test(arg, "eq", value, mask),  # (never holds
              st.integers(0, 5), _word(), _word()),                            # when value
    st.builds(lambda arg, value: syscalls.Test(arg, "ge", value),             # & ~mask)
              st.integers(0, 5), _word()))


_U64 = 2**64 - 1
_HIGH, _LOW = 0xFFFFFFFF << 32, 0xFFFFFFFF
#: one test of each shape cases_leaf compiles: "eq" under a whole mask, one half's, part of
#: each half, no mask at all, a value with bits its mask clears (never holds: in a half the
#: mask reads, and in one it leaves unread); unsigned "ge" with its high half 0, 1, 7, all
#: ones, its low half 0, 5 and all ones
_LEAF_TESTS = (
    syscalls.Test(0, "eq", 0x1_0000_0005, _U64), syscalls.Test(1, "eq", 7, _LOW),
    syscalls.Test(2, "eq", 5 << 32, _HIGH), syscalls.Test(3, "eq", 0x10, 0xF0),
    syscalls.Test(4, "eq", 1 << 36, 0xF << 36), syscalls.Test(5, "eq", 0, 0),
    syscalls.Test(0, "eq", 3, 1), syscalls.Test(1, "eq", 0, _U64),
    syscalls.Test(2, "eq", _U64, _U64),
    syscalls.Test(3, "eq", 0x8000_0001_0000_0002, 0x8000_0003_0000_0003),
    syscalls.Test(4, "eq", 1 << 40 | 2, 0xFF),
    syscalls.Test(2, "ge", 0), syscalls.Test(3, "ge", 5), syscalls.Test(4, "ge", 1 << 32),
    syscalls.Test(5, "ge", 7 << 32 | _LOW), syscalls.Test(1, "ge", _U64))
#: lists of cases: none; each test a case alone; cases of two and three tests (a failing
#: test's jump over the rest of its case); three and four cases, each failing at another
#: test before the one that holds (a jump to the next case)
_LEAF_CASE_LISTS: tuple[tuple[syscalls.Case, ...], ...] = (
    (), *(((test,),) for test in _LEAF_TESTS),
    ((_LEAF_TESTS[0], _LEAF_TESTS[12]), (_LEAF_TESTS[3], _LEAF_TESTS[4], _LEAF_TESTS[14])),
    ((_LEAF_TESTS[13], _LEAF_TESTS[9], _LEAF_TESTS[1]),),
    ((_LEAF_TESTS[6],), (_LEAF_TESTS[2], _LEAF_TESTS[15]), (_LEAF_TESTS[11], _LEAF_TESTS[7])),
    ((_LEAF_TESTS[14], _LEAF_TESTS[0]), (_LEAF_TESTS[10],), (_LEAF_TESTS[4], _LEAF_TESTS[13]),
     (_LEAF_TESTS[5], _LEAF_TESTS[1], _LEAF_TESTS[12])))


def _assert_leaf_agrees(cases: tuple[syscalls.Case, ...], args: tuple[int, ...]) -> None:
    """The property below's check of one list of cases on one set of registers."""
    action = _RET_ERRNO | errno.EACCES
    leaf = seccomp.cases_leaf(tuple(cases), action)
    program = _Bpf(struct.pack("<" + "HBBI" * len(leaf), *(f for insn in leaf for f in insn)))
    holds = any(all(syscalls.compare(t.op, args[t.arg], t.value, t.mask) for t in case)
                for case in cases)
    assert program.run(NUMBERS["socket"], args) == (action if holds else _RET_ALLOW), \
        (cases, args)


@pytest.mark.parametrize("cases", _LEAF_CASE_LISTS, ids=range(len(_LEAF_CASE_LISTS)))
def test_a_cases_leaf_answers_as_the_stop_compares_at_every_cases_edges(cases):
    """The property below, deterministic: each shape of test cases_leaf compiles, alone and
    in cases of several tests and lists of several cases, each case where it holds and each
    test at exactly its value, one off, each mask bit flipped, the high half set and clear
    (trim78: what the property drew 800 examples for, at the edges where a compile defect
    shows)."""
    for args in _cases_boundary_registers(cases):
        _assert_leaf_agrees(cases, args)


# (60 examples, not 800: every shape's edges are the deterministic test's above; these draw
# other cases and registers -- trim78 measured the count with broken compiles,
# docs/performance.md)
@settings(max_examples=60, deadline=None)
@given(cases=st.lists(st.lists(_TESTS, min_size=1, max_size=3).map(tuple), max_size=4),
       data=st.data())
def test_a_cases_leaf_answers_as_the_stop_compares(cases, data):
    """cases_leaf, the hand-built BPF of socket()'s unseen cases (start 24), on any cases of
    its two kinds of test -- "eq" under any mask (a half the mask leaves out unread, bits it
    clears in the value never equal), unsigned "ge" over 64 bits -- and registers at, next
    to or anywhere around their values: its action exactly when one case holds by
    syscalls.compare (what makes_unseen, the stop's check, runs).  (review 21: the socket
    cases alone never put a "ge" value or an "eq" mask in the high half.)"""
    action = _RET_ERRNO | errno.EACCES
    leaf = seccomp.cases_leaf(tuple(cases), action)
    program = _Bpf(struct.pack("<" + "HBBI" * len(leaf), *(f for insn in leaf for f in insn)))
    near = [v for case in cases for t in case for v in _near(t.value)] or [0]
    args = tuple(data.draw(st.one_of(st.sampled_from(near), _word())) for _ in range(6))
    holds = any(all(syscalls.compare(t.op, args[t.arg], t.value, t.mask) for t in case)
                for case in cases)
    assert program.run(NUMBERS["socket"], args) == (action if holds else _RET_ALLOW), \
        (cases, args)


def test_the_unseen_cases_are_a_leaf_of_the_number_filter():
    """socket()'s unseen cases are compiled by hand into the number filter (cases_leaf), not
    by libseccomp: its ~80 rules were most of a network policy's filter compile at every
    start (issue 16).  The policy's conditional filter is then the one of the same plan
    without them; what both filters answer is the stop's check (the test above)."""
    calls = {name: filterplan.ALLOW for name in NUMBERS}
    unseen = filterplan.Verdict("errno", errno.EPERM)
    numbers, conditional = seccomp.compile_plan(
        filterplan.FilterPlan(calls=calls, unseen={"socket": unseen}), _TRACER)
    _, without = seccomp.compile_plan(filterplan.FilterPlan(calls=calls), _TRACER)
    assert conditional == without
    assert numbers[NUMBERS["socket"]] == seccomp.cases_leaf(
        syscalls.unseen_cases("socket"), _RET_ERRNO | errno.EPERM)


def test_every_unguarded_call_is_allowed_by_an_allowing_plan(guard_filter):
    for call in TABLE.values():
        if call.guard is None and not call.ni and call.shares is None and call.keys is None:
            # (but one that may change credentials stops: the tracer reads them again)
            expected = _RET_TRACE if call.name in CHANGES_CREDENTIALS else _RET_ALLOW
            assert guard_filter.run(call.nr, (0,) * 6) == expected, call.name
    assert guard_filter.run(NUMBERS["clone3"], (0,) * 6) == _RET_TRACE  # its flags are read


def test_the_number_filter_answers_enosys_for_every_number_no_call_has():
    """The hand-built number filter: ENOSYS for a number of the table's gaps (the reserved
    range), past MAX_NR, with the x32 bit, or of another architecture; every call of the
    table it has no action for passes on to the policy's filter."""
    guard = _Bpf(seccomp.number_filter({}))
    enosys = _RET_ERRNO | errno.ENOSYS
    for nr in range(MAX_NR + 64):
        expected = _RET_ALLOW if nr in NAMES else enosys
        assert guard.run(nr, (0,) * 6) == expected, nr
    for nr in (0, 1, 59, MAX_NR):
        assert guard.run(nr | 0x40000000, (0,) * 6) == enosys, nr  # x32
        assert guard.run(nr, (0,) * 6, arch=0x40000003) == enosys, nr  # i386
    assert guard.run(-1, (0,) * 6) == enosys
    assert guard.run(0x7FFFFFFF, (0,) * 6) == enosys


def _libseccomp_filter(actions: dict[int, int]) -> _Bpf:
    """What libseccomp makes of the same actions (a rule per call number, and the ENOSYS of
    the numbers no call has spelt out): the reference the hand-built filter must agree with."""
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.ENOSYS))
    for nr in range(MAX_NR + 1):
        action = actions.get(nr, sc.ALLOW) if nr in NAMES else sc.ERRNO(errno.ENOSYS)
        if action != sc.ALLOW:
            flt.add_rule(action, nr)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as sink:
        flt.export_bpf(sink)
    with os.fdopen(read, "rb") as source:
        return _Bpf(source.read())


_ACTIONS = [_RET_ALLOW, _RET_TRACE, _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.EACCES]


@settings(max_examples=30, deadline=None)
@given(actions=st.one_of(
    st.dictionaries(st.sampled_from(sorted(NAMES)), st.sampled_from(_ACTIONS)),
    st.builds(lambda first, step, action: {nr: action for nr in sorted(NAMES)[first::step]},
              st.integers(0, 3), st.integers(1, 3), st.sampled_from(_ACTIONS[1:]))))
def test_the_number_filter_agrees_with_libseccomp_on_every_number(actions):
    """Whatever the actions (a few calls, every other call: a search tree too big for
    the 8-bit jumps of BPF's tests), the hand-built filter answers every number of the table,
    of this architecture or another, as libseccomp's filter of the same rules does (beyond
    the table, see the test above)."""
    ours, reference = _Bpf(seccomp.number_filter(actions)), _libseccomp_filter(actions)
    for nr in range(MAX_NR + 1):
        assert ours.run(nr, (0,) * 6) == reference.run(nr, (0,) * 6), nr
        assert ours.run(nr, (0,) * 6, arch=0x40000003) == \
            reference.run(nr, (0,) * 6, arch=0x40000003) == _RET_ERRNO | errno.ENOSYS


def test_every_filter_but_the_last_lets_the_next_one_load():
    """A filter decides the seccomp() call that loads the next one: under a plan that refuses
    every call (seccomp too), every filter of compile_filters but the last lets
    seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) through -- and the last refuses it."""
    plan = filterplan.FilterPlan(calls={name: filterplan.Verdict("errno", errno.EACCES)
                                        for name in NUMBERS})
    *first, last = [_Bpf(p) for p in seccomp.compile_filters(plan, _TRACER)]
    load = (NUMBERS["seccomp"], (1, 0, 4096, 0, 0, 0))
    assert first and all(program.run(*load) == _RET_ALLOW for program in first)
    assert last.run(*load) == _RET_ERRNO | errno.EACCES


def test_the_number_filter_of_a_large_policy_is_the_same_prefilter():
    """The bench's 400-rule learned policy: its plan's calls that one action decides (and
    epoll's timed waits) are in the number filter, and the two filters stacked answer each
    call as its leaf there, or -- for the calls whose registers decide -- as the policy's
    filter alone."""
    saved = list(sys.path)  # (the bench puts the repository and tests/unit on the path)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import policy_speed
    finally:
        sys.path[:] = saved
    policy = loads_policy(policy_speed.policy_text(400), "learned.toml",
                          {"HOME": "/home/user", "USER": "user", "CWD": "/build"})
    plan = filterplan.plan(policy.tables())
    numbers, conditional = seccomp.compile_plan(plan, _TRACER)
    stacked, alone = _Filters(plan), _Bpf(conditional)
    assert len(numbers) > 100  # (most calls: what libseccomp was spending its time on)
    assert {NAMES[nr] for nr, leaf in numbers.items() if not isinstance(leaf, int)} == \
        {"epoll_wait", "epoll_pwait"}
    for nr in sorted(NAMES):
        for args in ((0,) * 6, (3, 1, 2, 0x41, 4, 0), (2**64 - 1,) * 6, (3, 0, 8, 5, 0, 0)):
            leaf = numbers.get(nr)
            expected = alone.run(nr, args) if leaf is None else leaf if isinstance(leaf, int) \
                else _Bpf(b"".join(struct.pack("<HBBI", *insn) for insn in leaf)).run(nr, args)
            assert nr not in numbers or alone.run(nr, args) == _RET_ALLOW, NAMES[nr]
            assert stacked.run(nr, args) == expected, (NAMES[nr], args)


_REQUESTS = sorted(r for r, _ in kernel.FILE_CHANGING_IOCTLS)


@pytest.fixture(scope="module")
def fswrite_rule_filter() -> tuple[filterplan.FilterPlan, _Filters]:
    """The prefilter of a policy with one fswrite rule on a path."""
    table = loads_policy('[[rule]]\ncalls = ["fswrite"]\npath = "/p/**"\naction = "never"\n',
                         "p.toml", {}).main
    plan = filterplan.plan([table])
    return plan, _Filters(plan)


#: the other requests ioctl's guard stops at to check (a descriptor's owner, FIOASYNC; a loop
#: device's attach, decided as an open of its file, and btrfs's send: gap44)
_GUARD_STOPS = frozenset({kernel.FIOASYNC,
                          *(request for request, _ in kernel.BTRFS_UNNAMED_IOCTLS),
                          *(request for request, _ in kernel.BTRFS_DESTROY_IOCTLS),
                          *(request for request, _ in kernel.LOOP_ATTACH_IOCTLS)})


def test_btrfs_unnamed_ioctls_are_the_kernels_numbers(tmp_path):
    """BTRFS_IOC_SEND, _ADD_DEV, _DEV_REPLACE, _TREE_SEARCH(_V2), _INO_PATHS, _SNAP_CREATE(_V2)
    (the guard stops them; review 30, red team 83) against linux/btrfs.h, compiled."""
    if shutil.which("gcc") is None or not Path("/usr/include/linux/btrfs.h").exists():
        pytest.skip("gcc or the kernel's uapi headers are not installed")
    source = tmp_path / "btrfs.c"
    source.write_text("#include <stdio.h>\n#include <linux/btrfs.h>\nint main(void) {\n"
                      + "".join(f'printf("%u\\n", (unsigned){name});\n'
                                for _, name in kernel.BTRFS_UNNAMED_IOCTLS)
                      + "return 0;\n}\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "btrfs"), str(source)], check=True)
    out = subprocess.run([str(tmp_path / "btrfs")], check=True, capture_output=True, text=True)
    assert [int(v) for v in out.stdout.split()] == [r for r, _ in kernel.BTRFS_UNNAMED_IOCTLS]


def test_a_btrfs_snapshots_struct_is_the_kernels(tmp_path):
    """The snapshot's struct as DecodedCall.snapshot_source reads it (close 27): both
    versions BTRFS_VOL_ARGS_SIZE bytes, the source's descriptor first, a subvolume's root
    BTRFS_FIRST_FREE_OBJECTID -- against linux/btrfs.h, compiled."""
    if shutil.which("gcc") is None or not Path("/usr/include/linux/btrfs.h").exists():
        pytest.skip("gcc or the kernel's uapi headers are not installed")
    source = tmp_path / "snap.c"
    source.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/btrfs_tree.h>\n"
        "#include <linux/btrfs.h>\nint main(void) {\n"
        'printf("%zu %zu %zu %zu %u\\n", sizeof(struct btrfs_ioctl_vol_args),'
        " sizeof(struct btrfs_ioctl_vol_args_v2), offsetof(struct btrfs_ioctl_vol_args, fd),"
        " offsetof(struct btrfs_ioctl_vol_args_v2, fd), (unsigned)BTRFS_FIRST_FREE_OBJECTID);"
        "\nreturn 0;\n}\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "snap"), str(source)], check=True)
    out = subprocess.run([str(tmp_path / "snap")], check=True, capture_output=True, text=True)
    size = kernel.BTRFS_VOL_ARGS_SIZE
    assert [int(v) for v in out.stdout.split()] == [size, size, 0, 0,
                                                    kernel.BTRFS_FIRST_FREE_OBJECTID]
    assert {r for r, _ in kernel.BTRFS_SNAPSHOT_IOCTLS} <= \
        {r for r, _ in kernel.BTRFS_UNNAMED_IOCTLS}


def test_a_btrfs_subvolume_deletions_struct_is_the_kernels(tmp_path):
    """A subvolume's deletion as DecodedCall.made_name and removed_by_id read it (close 31):
    the requests' numbers, btrfs_ioctl_vol_args_v2's flags at 16 and its name and subvolid
    (one union) at 56, BTRFS_SUBVOL_SPEC_BY_ID the one flag the deletion takes -- against
    linux/btrfs.h, compiled."""
    if shutil.which("gcc") is None or not Path("/usr/include/linux/btrfs.h").exists():
        pytest.skip("gcc or the kernel's uapi headers are not installed")
    source = tmp_path / "destroy.c"
    source.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/btrfs.h>\n"
        "int main(void) {\n"
        + "".join(f'printf("%u\\n", (unsigned){name});\n'
                  for _, name in kernel.BTRFS_DESTROY_IOCTLS)
        + 'printf("%zu %zu %zu %zu %llu %llu\\n",'
        " offsetof(struct btrfs_ioctl_vol_args_v2, flags),"
        " offsetof(struct btrfs_ioctl_vol_args_v2, name),"
        " offsetof(struct btrfs_ioctl_vol_args_v2, subvolid),"
        " offsetof(struct btrfs_ioctl_vol_args, name),"
        " (unsigned long long)BTRFS_SUBVOL_SPEC_BY_ID,"
        " (unsigned long long)BTRFS_SUBVOL_DELETE_ARGS_MASK);\nreturn 0;\n}\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "destroy"), str(source)], check=True)
    out = subprocess.run([str(tmp_path / "destroy")], check=True, capture_output=True, text=True)
    assert [int(v) for v in out.stdout.split()] == [
        *(r for r, _ in kernel.BTRFS_DESTROY_IOCTLS), kernel.BTRFS_VOL_ARGS_V2_FLAGS,
        kernel.BTRFS_VOL_ARGS_V2_NAME, kernel.BTRFS_VOL_ARGS_V2_NAME, kernel.BTRFS_VOL_ARGS_NAME,
        kernel.BTRFS_SUBVOL_SPEC_BY_ID, kernel.BTRFS_SUBVOL_SPEC_BY_ID]


@settings(max_examples=300, deadline=None)
@given(request=st.one_of(st.sampled_from(_REQUESTS).flatmap(lambda r: st.sampled_from(_near(r))),
                         st.sampled_from([0x5401, 0x5413, 0x541B, 0x80086601, 0x5412, 0x541C,
                                          kernel.FIOSETOWN, kernel.SIOCSPGRP,
                                          *sorted(_GUARD_STOPS)]),
                         st.integers(0, 2**64 - 1)),
       others=st.tuples(*[st.integers(0, 2**64 - 1)] * 5))
def test_the_filter_stops_an_ioctl_only_for_a_request_that_changes_a_file(
        fswrite_rule_filter, request, others):
    """Under an fswrite rule the filter stops exactly the ioctl requests that change a file
    (their low 32 bits, as the kernel reads them); every other request runs without a stop --
    but TIOCSTI and TIOCLINUX, which the guard refuses, and FIOSETOWN and SIOCSPGRP, which it
    stops (found by a draw in the CI of 12-03: the test had not known them), as it stops
    FIOASYNC, the loop attaches and btrfs's send (:data:`_GUARD_STOPS`: a draw of 0x4C00 on
    12-06); and the plan's
    own answer (for a tracer without a filter) agrees.  renameat2 is planned as one call: its
    flags change which of its paths are read, not which classes it has."""
    plan, bpf = fswrite_rule_filter
    args = (others[0], request, *others[1:])
    action = bpf.run(NUMBERS["ioctl"], args)
    low = request & 0xFFFFFFFF
    if low in (kernel.TIOCSTI, kernel.TIOCLINUX):
        assert action == _RET_ERRNO | errno.EPERM
    elif low in (kernel.FIOSETOWN, kernel.SIOCSPGRP):  # (the owner guard's stop, gap #24:
        assert action == _RET_TRACE                    # test_ioctl_stops_for_a_sockets_owner_only)
    elif low in _GUARD_STOPS:
        assert action == _RET_TRACE  # (the guard's stop, checked then: Guard.check)
    elif low in _REQUESTS:
        assert action == _RET_TRACE and plan.verdict("ioctl", args).kind == "trace"
    else:
        assert action == _RET_ALLOW and plan.verdict("ioctl", args).kind == "allow"
    assert plan.calls["renameat2"].kind == "trace" and "renameat2" not in plan.selected


def test_a_table_that_may_refuse_a_walk_stops_every_lookup():
    """Under a rule that refuses a stat or readlink by path (never fsread DIR/**, never
    fsmeta...) a lookup passing through DIR is refused whatever the call
    (Supervisor._traversal): so every call that looks a path up stops -- a mkdir, unlink,
    chmod, utimensat or write-only open ran unseen under a default of permit (red team 26:
    tests/escape/path_traverse_unstopped.c).  A table no rule of which refuses a look (only
    fswrite rules) stops none of them for it."""
    walks = ["mkdir", "unlink", "chmod", "utimensat", "truncate", "rmdir", "symlink"]
    for calls in ('"fsread"', '"fsmeta"', '"stat"', '"readlink"'):
        plan = filterplan.plan([loads_policy(
            f'[[rule]]\ncalls = [{calls}]\npath = "/p/**"\naction = "never"\n', "p.toml",
            {}).main])
        assert {c: plan.calls[c].kind for c in walks} == dict.fromkeys(walks, "trace"), calls
        assert plan.verdict("openat", (0, 0, os.O_WRONLY, 0, 0, 0)).kind == "trace", calls
        assert plan.calls["getpid"].kind == "allow"
    plan = filterplan.plan([loads_policy('[[rule]]\ncalls = ["fswrite"]\npath = "/p/**"\n'
                                         'action = "never"\n', "p.toml", {}).main])
    assert plan.calls["stat"].kind == plan.calls["access"].kind == "allow"


@pytest.fixture(scope="module")
def open_filter() -> tuple[filterplan.FilterPlan, _Filters]:
    """The prefilter of a policy that refuses every read (EACCES, even of a missing path) and
    lets the rest be: an open that reads is refused in the kernel, one that only writes stops
    (every open that can write does: filterplan._engine_floor)."""
    table = loads_policy('default = "permit"\n[[rule]]\ncalls = ["fsread"]\naction = "never"\n'
                         'errno = "EACCES"\nmissing = "errno"\n', "p.toml", {}).main
    plan = filterplan.plan([table])
    return plan, _Filters(plan)


_OPEN_BITS = [os.O_WRONLY, os.O_RDWR, 3, os.O_CREAT, os.O_TRUNC, kernel.O_TMPFILE_BIT,
              os.O_PATH, os.O_APPEND, os.O_DIRECTORY, os.O_EXCL, os.O_NOFOLLOW]


@settings(max_examples=400, deadline=None)
@given(bits=st.lists(st.sampled_from(_OPEN_BITS), max_size=5),
       high=st.integers(0, 2**64 - 1), name=st.sampled_from(["open", "openat"]))
def test_the_filter_classes_an_open_by_its_flags_as_the_kernel_takes_them(
        open_filter, bits, high, name):
    """An open reads or writes by its access mode and O_CREAT/O_TRUNC/O_TMPFILE -- but with
    O_PATH the kernel drops all of them: it only reveals the file, a read (red team 17:
    O_PATH|O_WRONLY was a write-only open to the filter, let through under a read refusal,
    and fstat told the refused file's metadata).  The filter and the plan's own answer agree
    on every flags register (its high half ignored, as the kernel does)."""
    plan, bpf = open_filter
    flags = 0
    for bit in bits:
        flags |= bit
    args = [0] * 6
    args[1 if name == "open" else 2] = (high & ~0xFFFFFFFF) | flags
    action = bpf.run(NUMBERS[name], tuple(args))
    reads = bool(flags & os.O_PATH) or flags & 3 != os.O_WRONLY
    expected = plan.verdict(name, tuple(args)).kind
    assert expected == ("errno" if reads else "trace"), (hex(flags), expected)
    assert action == (_RET_ERRNO | errno.EACCES if reads else _RET_TRACE), \
        (hex(flags), hex(action))


def test_ordinary_mappings_do_not_stop_but_shared_ones_do(guard_filter):
    """mmap stops only when it shares (MAP_SHARED, MAP_SHARED_VALIDATE): a program's libraries
    and heap cost no stop; io_setup, shmat and mremap always stop (rare calls).  The kernel's
    own writers may write anywhere; a shared mapping, only its own pages."""
    mmap, anon, fd = NUMBERS["mmap"], 0x22, 3  # MAP_PRIVATE|MAP_ANONYMOUS
    assert guard_filter.run(mmap, (0, 4096, 3, anon, 2**64 - 1, 0)) == _RET_ALLOW
    assert guard_filter.run(mmap, (0, 4096, 5, 0x812, fd, 0)) == _RET_ALLOW  # a library
    for flags in (0x01, 0x03, 0x21, 0x01 | 0x10):
        assert guard_filter.run(mmap, (0, 4096, 3, flags, fd, 0)) == _RET_TRACE, hex(flags)
        assert seccomp.shares_memory("mmap", (0, 4096, 3, flags, fd, 0))
    assert seccomp.shares_memory("mmap", (0, 4096, 3, 0x22, 2**64 - 1, 0)) is None
    for name, anywhere in (("io_setup", True), ("shmat", False), ("mremap", False),
                           ("io_uring_setup", True), ("userfaultfd", True)):
        assert guard_filter.run(NUMBERS[name], (0,) * 6) == _RET_TRACE, name
        sharing = seccomp.shares_memory(name, (0,) * 6)
        assert sharing is not None and sharing.anywhere == anywhere, name
    assert not seccomp.SHARES["mmap"].anywhere and seccomp.SHARES["setsockopt"].anywhere
    assert seccomp.shares_memory("io_submit", (0,) * 6) is None  # io_setup already said it
    xdp = (3, 283, 4, 0, 0, 0)
    assert guard_filter.run(NUMBERS["setsockopt"], xdp) == _RET_TRACE
    assert guard_filter.run(NUMBERS["setsockopt"], (3, 1, 2, 0, 4, 0)) == _RET_ALLOW


def test_only_mappings_that_may_get_a_protection_key_stop(guard_filter):
    """An execute-only mmap or mprotect (exactly PROT_EXEC: the kernel gives it its
    execute-only key) and every pkey_mprotect stop, for the tracer to note that the address
    space's reads must obey keys; a library's read-execute mapping, a heap, pkey_alloc do not
    (no keyed mapping yet)."""
    mmap, mprotect, anon, fd = NUMBERS["mmap"], NUMBERS["mprotect"], 0x22, 3
    for prot in (kernel.PROT_EXEC, kernel.PROT_EXEC | 0x01000000, kernel.PROT_EXEC | 8):
        assert guard_filter.run(mmap, (0, 4096, prot, 0x12, fd, 0)) == _RET_TRACE, hex(prot)
        assert guard_filter.run(mprotect, (4096, 4096, prot, 0, 0, 0)) == _RET_TRACE, hex(prot)
        assert seccomp.keys_mapping("mmap", (0, 4096, prot, 0x12, fd, 0))
    for prot in (0, 1, 3, 5, 7):
        assert guard_filter.run(mmap, (0, 4096, prot, anon, 2**64 - 1, 0)) == _RET_ALLOW
        assert guard_filter.run(mprotect, (4096, 4096, prot, 0, 0, 0)) == _RET_ALLOW
        assert not seccomp.keys_mapping("mprotect", (4096, 4096, prot, 0, 0, 0))
    assert guard_filter.run(NUMBERS["pkey_mprotect"], (4096, 4096, 3, 1, 0, 0)) == _RET_TRACE
    assert seccomp.keys_mapping("pkey_mprotect", (4096, 4096, 3, 1))
    assert guard_filter.run(NUMBERS["pkey_alloc"], (0,) * 6) == _RET_ALLOW


def test_a_shmat_that_could_replace_the_scratch_area_is_refused():
    """The segment's size is not in a register: a remapping attach anywhere below the area's
    end may cover it.  (The stop-time check used to look only SIZE bytes below.)"""
    far_below = scratch.BASE - 4 * scratch.SIZE
    assert seccomp.guard_refusal("shmat", (1, far_below, 0x4000), _TRACER) == errno.EPERM
    assert seccomp.guard_refusal("shmat", (1, far_below, 0), _TRACER) is None
    assert seccomp.guard_refusal("shmat", (1, scratch.BASE + 4096, 0), _TRACER) == errno.EPERM
    assert seccomp.guard_refusal("shmat", (1, scratch.BASE + scratch.SIZE, 0x4000),
                                 _TRACER) is None
    # below a page a remap is the kernel's own EINVAL (LTP shmat03): not refused here
    assert seccomp.guard_refusal("shmat", (1, 1, 0x4000 | 0x2000), _TRACER) is None
    assert seccomp.guard_refusal("shmat", (1, 0, 0x4000), _TRACER) is None
    assert seccomp.guard_refusal("shmat", (1, 4096, 0x4000), _TRACER) == errno.EPERM


def test_the_table_is_pure_data():
    """It loads no engine, no python-ptrace, no dataclasses: every run imports it first."""
    code = ("import sys, systrace_py.syscalls\n"
            "bad = [m for m in sys.modules if m.startswith(('ptrace', 'systrace_py.engine',"
            " 'pyseccomp', 'dataclasses'))]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize(("option", "dest", "stops"), [
    (kernel.KEYCTL_GET_PERSISTENT, (1 << 32) - 1, True),  # (review 41: fscrypt_keyring.c)
    (kernel.KEYCTL_SEARCH, (1 << 32) - 1, True),          # ... a destination: links what it finds
    (kernel.KEYCTL_SEARCH, 0, False),                     # ... none: only finds
    (kernel.KEYCTL_NEGATE, 0, True), (kernel.KEYCTL_ASSUME_AUTHORITY, 0, True),
    (11, (1 << 32) - 1, False),                           # KEYCTL_READ
])
def test_keyctl_stops_for_an_operation_that_widens_the_tasks_keyrings(
        guard_filter, option: int, dest: int, stops: bool) -> None:
    """keyctl stops (the keyring guard: answered.note_own_keys) for every operation that may
    link a keyring or key into one the task searches -- the persistent keyring's link, a
    search that links its find into a destination (review 41) -- and for no other."""
    args = (option, 1, 2, 3, dest, 0)
    assert (guard_filter.run(NUMBERS["keyctl"], args) == _RET_TRACE) is stops
    guard = seccomp.stop_guard("keyctl", args, _TRACER)
    assert (guard is not None and guard.check == "keyring") is stops


def test_ioctl_stops_for_a_sockets_owner_only(guard_filter):
    """ioctl stops for FIOSETOWN and SIOCSPGRP alone (the tracer reads the owner they point
    at) and FIOASYNC (a terminal's foreground group may become the owner: sigown), TIOCSTI
    and TIOCLINUX stay refused by the registers, a loop device's three attaches stop (gap44),
    and no other request stops for the guard (gap #24)."""
    pointer, ioctl = 0x7FFF0000, NUMBERS["ioctl"]
    for request in (kernel.FIOSETOWN, kernel.SIOCSPGRP, 1 << 32 | kernel.FIOSETOWN,
                    kernel.FIOASYNC):
        assert guard_filter.run(ioctl, (3, request, pointer, 0, 0, 0)) == _RET_TRACE
        guard = seccomp.stop_guard("ioctl", (3, request, pointer, 0, 0, 0), _TRACER)
        assert guard is not None and guard.check == "ioctl_target" and guard.arg == 2
        assert seccomp.guard_refusal("ioctl", (3, request, pointer, 0, 0, 0), _TRACER) is None
    for request in (kernel.LOOP_SET_FD, kernel.LOOP_CHANGE_FD, kernel.LOOP_CONFIGURE,
                    1 << 32 | kernel.LOOP_SET_FD):
        # a loop device's attach: decided as an open of the descriptor's file (gap44)
        assert guard_filter.run(ioctl, (3, request, 4, 0, 0, 0)) == _RET_TRACE
        guard = seccomp.stop_guard("ioctl", (3, request, 4, 0, 0, 0), _TRACER)
        assert guard is not None and guard.check == "ioctl_target"
    for request in (kernel.TIOCSTI, kernel.TIOCLINUX):
        assert guard_filter.run(ioctl, (0, request, pointer, 0, 0, 0)) == \
            _RET_ERRNO | errno.EPERM
        assert seccomp.stop_guard("ioctl", (0, request, pointer, 0, 0, 0), _TRACER) is None
        assert seccomp.guard_refusal("ioctl", (0, request, pointer, 0, 0, 0), _TRACER) == \
            errno.EPERM
    for request in (0x541B, 0x5401, 0x8903, 0x8904, kernel.FIOSETOWN + 0x100,  # FIONREAD...
                    0x4C01, 0x4C05):  # LOOP_CLR_FD, LOOP_GET_STATUS64
        assert guard_filter.run(ioctl, (3, request, pointer, 0, 0, 0)) == _RET_ALLOW
        assert seccomp.stop_guard("ioctl", (3, request, pointer, 0, 0, 0), _TRACER) is None
        assert seccomp.guard_refusal("ioctl", (3, request, pointer, 0, 0, 0), _TRACER) is None


def test_fcntl_stops_for_an_owner_and_for_o_async_only(guard_filter):
    """fcntl stops for F_SETOWN, F_SETOWN_EX, and F_SETFL with O_ASYNC (which makes a
    terminal's foreground group the owner of a file that has none: sigown); F_SETFL without
    it (O_NONBLOCK, every event loop's) and the other commands do not stop for the guard."""
    fcntl_nr = NUMBERS["fcntl"]
    for cmd, arg in ((kernel.F_SETOWN, 1234), (kernel.F_SETOWN_EX, 0x7FFF0000),
                     (kernel.F_SETFL, kernel.O_ASYNC),
                     (kernel.F_SETFL, kernel.O_ASYNC | os.O_NONBLOCK | 1 << 40)):
        assert guard_filter.run(fcntl_nr, (3, cmd, arg, 0, 0, 0)) == _RET_TRACE, (cmd, arg)
        guard = seccomp.stop_guard("fcntl", (3, cmd, arg, 0, 0, 0), _TRACER)
        assert guard is not None and guard.check == "owner_target"
    for cmd, arg in ((kernel.F_SETFL, os.O_NONBLOCK), (kernel.F_SETFL, 0),
                     (1 << 32 | kernel.F_SETFL, os.O_NONBLOCK), (3, kernel.O_ASYNC),
                     (kernel.F_SETFL + 0x100, kernel.O_ASYNC)):
        assert guard_filter.run(fcntl_nr, (3, cmd, arg, 0, 0, 0)) == _RET_ALLOW, (cmd, arg)
        assert seccomp.stop_guard("fcntl", (3, cmd, arg, 0, 0, 0), _TRACER) is None


def test_the_rlimit_check_runs_only_for_core_dumps():
    """setrlimit and prlimit64 of the caller's own limits stop for RLIMIT_CORE only, and
    only then does the tracer read the new limit.  (The check once ran at any stop of these
    calls: under a policy or in learning, where they stop for other reasons, a privileged
    program raising another limit got EPERM.)"""
    nofile, core, pointer = 7, 4, 0x7FFF0000
    assert seccomp.stop_guard("setrlimit", (nofile, pointer, 0, 0, 0, 0), _TRACER) is None
    guard = seccomp.stop_guard("setrlimit", (core, pointer, 0, 0, 0, 0), _TRACER)
    assert guard is not None and guard.check == "rlimit" and guard.arg == 1
    assert seccomp.stop_guard("prlimit64", (0, nofile, pointer, 0, 0, 0), _TRACER) is None
    assert seccomp.stop_guard("prlimit64", (0, core, 0, pointer, 0, 0), _TRACER) is None
    guard = seccomp.stop_guard("prlimit64", (0, core, pointer, 0, 0, 0), _TRACER)
    assert guard is not None and guard.arg == 2
    # another pid's new limit stops whatever the resource (the tracer's are refused), also
    # where core dumps are granted; reading one does not
    core_lifted = frozenset({syscalls.Lift.CORE})
    for lifted in (frozenset(), core_lifted):
        assert seccomp.stop_guard("prlimit64", (4321, nofile, pointer, 0, 0, 0), _TRACER,
                                  lifted) is not None
        assert seccomp.stop_guard("prlimit64", (4321, nofile, 0, pointer, 0, 0), _TRACER,
                                  lifted) is None
    assert seccomp.stop_guard("prlimit64", (0, core, pointer, 0, 0, 0), _TRACER,
                              core_lifted) is None


_PARITY = '[[rule]]\ncalls = ["fswrite"]\npath = "/p/**"\naction = "never"\n'


@pytest.mark.parametrize(("text", "lifted"), [
    ("", {syscalls.Lift.ROUTES}),
    (_PARITY, {syscalls.Lift.ROUTES}),
    (_PARITY + '[[rule]]\ncalls = ["prlimit64"]\naction = "permit"\n',
     {syscalls.Lift.ROUTES, syscalls.Lift.CORE}),
    ('[[rule]]\ncalls = ["setrlimit"]\naction = "permit"\n',  # named: the rule decides it
     {syscalls.Lift.ROUTES, syscalls.Lift.CORE}),
    # refused by name: no core dumps granted (the limit the run started with would stay)
    ('[[rule]]\ncalls = ["setrlimit", "prlimit64"]\naction = "never"\n', {syscalls.Lift.ROUTES}),
    ('[[rule]]\ncalls = ["stdio"]\naction = "permit"\n', {syscalls.Lift.ROUTES}),  # an alias
    ('[[rule]]\ncalls = ["connect"]\naddress = "10.0.0.1"\naction = "never"\n', set()),
    ('default = "never"\n[[rule]]\ncalls = ["net-connect"]\nport = 443\naction = "permit"\n',
     set()),
    ('[[rule]]\ncalls = ["connect"]\nhost = "example.com"\naction = "never"\n', set()),
    ('[[rule]]\ncalls = ["net-connect"]\naction = "ask"\n', set()),
    ('default = "ask"\n', set()),
    ('[[rule]]\ncalls = ["connect"]\nunix = "/run/x.sock"\naction = "never"\n',
     {syscalls.Lift.ROUTES}),  # a unix address: no IP packets to route
    ('[[rule]]\ncalls = ["fsread"]\naction = "ask"\n', {syscalls.Lift.ROUTES}),
])
def test_a_run_lifts_a_guard_only_when_no_table_needs_it(text, lifted):
    table = loads_policy(text, "p.toml", {}).main
    assert filterplan.plan([table]).lifted == lifted
    # run-wide: one table that needs the guard keeps it for every process
    assert filterplan.plan([table, loads_policy(
        '[[rule]]\ncalls = ["connect"]\naddress = "10.0.0.1"\naction = "never"\n',
        "q.toml", {}).main]).lifted == frozenset()
    # a library handler (or an inject rule) on a call taking an address may decide by it
    assert syscalls.Lift.ROUTES not in filterplan.plan(
        [table], filterplan.PlanOptions(extra=frozenset({"sendto"}))).lifted


@pytest.mark.parametrize("name", sorted(n for n, g in seccomp.GUARDS.items()
                                        if g.lift is not None))
def test_a_lifted_guard_is_gone_from_the_filter_and_the_stop(name):
    """A lifted guard's cases run without a stop, as any case of an allowed call, and the
    tracer's stop-time checks (for a call that stops anyway) do not apply it either -- but for
    the cases the guard keeps (Guard.kept: prlimit64 of another pid, whatever grants core
    dumps), which still stop."""
    guard = seccomp.GUARDS[name]
    lift = guard.lift
    assert lift is not None
    plan = filterplan.FilterPlan(calls={n: filterplan.ALLOW for n in NUMBERS},
                                 lifted=frozenset({lift}))
    bpf = _Filters(plan)
    kept = _Filters(dataclasses.replace(plan, lifted=frozenset()))
    for case in guard.cases:
        args = [0] * 6
        for test in case:
            args[test.arg] = _resolved(test.value) if test.op == "eq" else 1
        assert kept.run(NUMBERS[name], tuple(args)) != _RET_ALLOW, (name, args)
        if case in guard.kept:
            assert bpf.run(NUMBERS[name], tuple(args)) != _RET_ALLOW, (name, args)
            assert seccomp.stop_guard(name, args, _TRACER, plan.lifted) is not None
            continue
        assert bpf.run(NUMBERS[name], tuple(args)) == _RET_ALLOW, (name, args)
        assert seccomp.guard_refusal(name, args, _TRACER, plan.lifted) is None
        assert seccomp.stop_guard(name, args, _TRACER, plan.lifted) is None


@pytest.mark.parametrize("name", sorted(syscalls.TIMED_RESTARTS))
@settings(max_examples=200, deadline=None)
@given(timeout=st.one_of(st.just(0), st.sampled_from([*_EDGES, 2**31 - 1, 2**31, 2**64 - 1]),
                         st.integers(0, 2**64 - 1), st.integers(-2**31, 2**31 - 1)),
       others=st.tuples(*[st.integers(0, 2**64 - 1)] * 6))
def test_a_timed_wait_stops_at_entry_exactly_when_it_has_a_timeout(guard_filter, name,
                                                                   timeout, others):
    """So the tracer learns its deadline (Tracer._note_wait); with no timeout it runs: a NULL
    timespec, or a timeout in milliseconds (a C int: the register's low half) of -1 (none)
    or 0 (no wait) -- an event loop's epoll_wait(-1) costs no stop."""
    entry = syscalls.EINTR_ON_STOP[name]
    assert entry is not None
    index, pointer = entry
    args = list(others)
    args[index] = timeout % 2**64
    waits = timeout % 2**64 != 0 if pointer else ctypes.c_int32(timeout).value > 0
    expected = _RET_TRACE if waits else _RET_ALLOW
    assert guard_filter.run(NUMBERS[name], tuple(args)) == expected, (name, args)


def test_treated_is_the_scan_of_the_table() -> None:
    """treated() from its one pass over the table (per bit) answers as a scan of every record
    for the flag would: each flag, no flag, and every pair of flags."""
    flags = [*syscalls.TREATS, 0]
    asked = set(flags) | {a | b for a, b in itertools.combinations(flags, 2)}
    for flag in asked:
        assert syscalls.treated(flag) == frozenset(
            c.name for c in syscalls.TABLE.values() if c.treat & flag), flag
    assert syscalls.treated(syscalls.Treat.OPEN) >= {"open", "openat", "openat2"}
