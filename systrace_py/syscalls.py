"""The x86_64 system call table: numbers, names and argument prototypes.

Pure data, shared by the policy layer (to validate names in policy files) and the engine (to
decode stops).  The names and prototypes come from python-ptrace; its table stops at Linux 5.8,
so the calls added since are appended here from the kernel's syscall_64.tbl.  Only the native
64-bit ABI is described: the seccomp prefilter refuses the i386 and x32 entry points outright,
so no stop ever has to be read with another table.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any


def _ptrace_data(relative: str) -> ModuleType:
    """Load one of python-ptrace's data modules by itself.  Importing it the usual way runs
    ``ptrace.syscall/__init__``, which loads python-ptrace's whole syscall decoder (a third of
    systrace's start-up time) to hand us two dicts."""
    spec = importlib.util.find_spec("ptrace")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    module_spec = importlib.util.spec_from_file_location(f"_systrace_ptrace_{path.stem}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


_PTRACE_NAMES: dict[int, str] = _ptrace_data("syscall/linux/x86_64.py").SYSCALL_NAMES


@functools.cache
def _ptrace_prototypes() -> dict[str, Any]:
    return _ptrace_data("syscall/prototypes.py").SYSCALL_PROTOTYPES  # type: ignore[no-any-return]

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000

_SINCE_5_8: dict[int, str] = {
    335: "uretprobe",
    441: "epoll_pwait2",
    442: "mount_setattr",
    443: "quotactl_fd",
    444: "landlock_create_ruleset",
    445: "landlock_add_rule",
    446: "landlock_restrict_self",
    447: "memfd_secret",
    448: "process_mrelease",
    449: "futex_waitv",
    450: "set_mempolicy_home_node",
    451: "cachestat",
    452: "fchmodat2",
    453: "map_shadow_stack",
    454: "futex_wake",
    455: "futex_wait",
    456: "futex_requeue",
    457: "statmount",
    458: "listmount",
    459: "lsm_get_self_attr",
    460: "lsm_set_self_attr",
    461: "lsm_list_modules",
    462: "mseal",
    463: "setxattrat",
    464: "getxattrat",
    465: "listxattrat",
    466: "removexattrat",
    467: "open_tree_attr",
    468: "file_getattr",
    469: "file_setattr",
}

#: number -> name for the native x86_64 ABI (python-ptrace lists the x32 calls from 512 on;
#: those numbers are only reachable with the x32 bit set, which the prefilter refuses).
NAMES: dict[int, str] = {nr: name for nr, name in _PTRACE_NAMES.items() if nr < 512}
NAMES.update(_SINCE_5_8)
NUMBERS: dict[str, int] = {name: nr for nr, name in NAMES.items()}
MAX_NR = max(NAMES)

# Prototypes python-ptrace lacks; (C type, argument name) pairs as in include/linux/syscalls.h.
_EXTRA_PROTOTYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "openat2": (("int", "dirfd"), ("const char *", "filename"),
                ("struct open_how *", "how"), ("size_t", "size")),
    "faccessat2": (("int", "dirfd"), ("const char *", "filename"), ("int", "mode"),
                   ("int", "flags")),
    "fchmodat2": (("int", "dirfd"), ("const char *", "filename"), ("umode_t", "mode"),
                  ("unsigned int", "flags")),
    "clone3": (("struct clone_args *", "uargs"), ("size_t", "size")),
    "close_range": (("unsigned int", "fd"), ("unsigned int", "max_fd"),
                    ("unsigned int", "flags")),
    "pidfd_open": (("pid_t", "pid"), ("unsigned int", "flags")),
    "pidfd_getfd": (("int", "pidfd"), ("int", "fd"), ("unsigned int", "flags")),
    "pidfd_send_signal": (("int", "pidfd"), ("int", "sig"), ("siginfo_t *", "info"),
                          ("unsigned int", "flags")),
    "io_uring_setup": (("u32", "entries"), ("struct io_uring_params *", "p")),
    "io_uring_enter": (("unsigned int", "fd"), ("u32", "to_submit"), ("u32", "min_complete"),
                       ("u32", "flags"), ("const void *", "argp"), ("size_t", "argsz")),
    "io_uring_register": (("unsigned int", "fd"), ("unsigned int", "op"), ("void *", "arg"),
                          ("unsigned int", "nr_args")),
    "open_tree": (("int", "dfd"), ("const char *", "filename"), ("unsigned", "flags")),
    "move_mount": (("int", "from_dfd"), ("const char *", "from_pathname"), ("int", "to_dfd"),
                   ("const char *", "to_pathname"), ("unsigned int", "flags")),
    "rseq": (("struct rseq *", "rseq"), ("u32", "rseq_len"), ("int", "flags"), ("u32", "sig")),
    "pkey_mprotect": (("unsigned long", "start"), ("size_t", "len"), ("unsigned long", "prot"),
                      ("int", "pkey")),
    "preadv2": (("unsigned long", "fd"), ("const struct iovec *", "vec"),
                ("unsigned long", "vlen"), ("unsigned long", "pos_l"),
                ("unsigned long", "pos_h"), ("rwf_t", "flags")),
    "pwritev2": (("unsigned long", "fd"), ("const struct iovec *", "vec"),
                 ("unsigned long", "vlen"), ("unsigned long", "pos_l"),
                 ("unsigned long", "pos_h"), ("rwf_t", "flags")),
    "arch_prctl": (("int", "option"), ("unsigned long", "arg2")),
    "umount2": (("char *", "name"), ("int", "flags")),
    "setxattrat": (("int", "dfd"), ("const char *", "filename"), ("unsigned int", "at_flags"),
                   ("const char *", "name"), ("const struct xattr_args *", "args"),
                   ("size_t", "size")),
    "getxattrat": (("int", "dfd"), ("const char *", "filename"), ("unsigned int", "at_flags"),
                   ("const char *", "name"), ("struct xattr_args *", "args"),
                   ("size_t", "size")),
    "listxattrat": (("int", "dfd"), ("const char *", "filename"), ("unsigned int", "at_flags"),
                    ("char *", "list"), ("size_t", "size")),
    "removexattrat": (("int", "dfd"), ("const char *", "filename"),
                      ("unsigned int", "at_flags"), ("const char *", "name")),
}


def prototype(name: str) -> tuple[tuple[str, str], ...]:
    """The (C type, argument name) pairs of a call; empty when no prototype is known."""
    extra = _EXTRA_PROTOTYPES.get(name)
    if extra is not None:
        return extra
    known = _ptrace_prototypes().get(name)
    return tuple(known[1]) if known else ()


def number(name: str) -> int:
    """The x86_64 number of a call name; KeyError when there is no such call."""
    return NUMBERS[name]


def name_of(nr: int) -> str:
    """The name of a call number, or ``syscall_N`` for numbers this table does not know."""
    return NAMES.get(nr, f"syscall_{nr}")


def suggest(word: str, candidates: list[str] | None = None) -> list[str]:
    """The nearest call (or alias) names to a misspelt one, best first."""
    pool = candidates if candidates is not None else list(NUMBERS)
    return difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
