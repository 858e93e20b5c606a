"""Applying an answer at a stop: refuse with -errno, or let the call run held to what was
checked (or redirected).

Refusal happens at syscall entry, with no exit stop: the syscall number becomes -1 (the kernel
skips the call) and the return register -errno.

Holding a call to its checked arguments means the kernel reads nothing the tracee can still
change (see :mod:`systrace_py.engine.scratch`):

* open, openat, creat and openat2 become openat2 on the canonical absolute path with
  RESOLVE_NO_SYMLINKS: the file opened is the one checked, even if a directory on the way is
  swapped for a symlink after the check (the open then fails with ELOOP); openat2's
  RESOLVE_BENEATH, RESOLVE_IN_ROOT and RESOLVE_NO_XDEV, which the resolver applied, are
  dropped from such a call (they would refuse or re-root the absolute path) and kept with
  the call's own spelling;
* other path calls get the canonical absolute path (the dirfd and the cwd no longer matter);
* where no absolute spelling makes the kernel do what the call's own does (a canonical name
  longer than PATH_MAX, an object with no name, a last "." or ".." of a call that acts on the
  name itself, see canonical_spelling), the call keeps its own spelling -- copied -- and its
  start, and runs with the
  rest of the tree stopped and everything re-checked (``Holder.respelled``; Tracer._freeze):
  the kernel is never handed a spelling other than the one checked;
* exec gets a private copy of the path string and, when argv or the environment was checked,
  of them; what was
  really executed is compared with what was checked at the exec event (:mod:`tracer`);
* socket addresses (connect, bind, sendto) are copied; so is the msghdr of a sendmsg with its
  name and control data, once they were looked at (its control data always is, for source
  routes);
* clone3's struct clone_args is copied as it was read and checked (its flags decide what the
  new task may be).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import struct
from collections.abc import Callable, Sequence

from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine import scratch
from systrace_py.engine.decode import (
    ARGV_ARG,
    ENVP_ARG,
    LAST_NAME_CALLS,
    SOCKADDR_ARGS,
    DecodedCall,
    DecodedPath,
    open_how_of,
)
from systrace_py.engine.events import Reply
from systrace_py.engine.memory import TraceeMemory
from systrace_py.kernel import (
    ARG_REGS,
    AT_FDCWD,
    O_LARGEFILE,
    O_PATH,
    PATH_MAX,
    PROT_EXEC,
    PROT_READ,
    RESOLVE_CACHED,
)
from systrace_py.policy import aliases
from systrace_py.policy.aliases import EXEC_CALLS, ONE_ADDRESS_CALLS, OPEN_CALLS
from systrace_py.syscalls import NUMBERS, Treat, treated

_U64 = 0xFFFFFFFFFFFFFFFF
SYS_OPENAT2 = NUMBERS["openat2"]
#: openat2's lookup restrictions that hold for the call's own spelling from its own dirfd,
#: not for a canonical absolute path (which they would refuse, or look up from the dirfd):
#: the resolver applied them (paths.py), and the canonical path reaches what they allowed
RESOLVE_SPELLING_ONLY = pt.RESOLVE_BENEATH | pt.RESOLVE_IN_ROOT | pt.RESOLVE_NO_XDEV



#: why an open kept in its own spelling through a symlink below a FUSE mount is refused
ANSWERED_RESPELLED = ("its path lies on a file system a process answers (FUSE) and has no "
                      "absolute spelling; its own reaches it through a symlink, which the "
                      "server may answer otherwise for the kernel than for the tracer")


class HoldError(Exception):
    """The call cannot be held to its arguments; it must be refused with ``errno``."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


#: calls whose targets the kernel resolves again by itself (see Tracer._must_freeze)
FREEZE_CALLS = treated(Treat.FREEZE)
#: ... among them, those with one socket address: a unix socket path in it is resolved again
SOCKET_PATH_CALLS = ONE_ADDRESS_CALLS


#: calls after which a task may see another tree than before (a new root, another mount
#: namespace, a mount): every task's view is read again (Tracer._views_changed)
VIEW_CALLS = aliases.VIEW_CALLS


def canonical_spelling(p: DecodedPath, last_name: bool) -> str | None:
    """The absolute spelling of what was checked that the kernel may be handed in place of the
    call's own, or None when none does the same: no name (a pipe, a deleted file), a name
    longer than PATH_MAX, a missing directory followed by "." or ".." (see
    Resolved.keep_spelling), or -- for a call acting on its ``last_name`` itself -- a last
    ".", ".." or symlink followed for a trailing slash only.  A trailing slash is kept: it makes
    the kernel require a directory (ENOTDIR, EISDIR as natively).  For a task that does not
    see the tracer's tree it is the task's own spelling (Resolved.spelling), not the name."""
    resolved = p.resolved
    if not p.rewritable or resolved.keep_spelling or (resolved.literal_last and last_name):
        return None
    spelling = resolved.spelling
    if not spelling:
        return None
    text = spelling + ("/" if resolved.slash and spelling != "/" else "")
    if len(text.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        return None
    return text


def _followed_no_symlink(call: DecodedCall, p: DecodedPath) -> bool:
    """Whether the tracer's lookup of ``p`` followed no symlink (its walk, in the tracer's
    view: a task in a view of its own is not walked here -- fail closed), so the same
    spelling with RESOLVE_NO_SYMLINKS does what the call's own does where every file system
    answers alike (a missing directory stops both with ENOENT)."""
    if p.resolved.direct:
        return True
    if not call.view.host:
        return False
    return not any(kind == "link" for _, kind in call.passed_through(p))


def _climbs(spelling: str) -> bool:
    """Whether a path has a ".." component: from a start directory another process moves in
    the meantime, ".." leads somewhere else, so such a spelling is never kept."""
    return ".." in spelling.split("/")


def _below_start(p: DecodedPath, canonical: str) -> str | None:
    """The canonical spelling relative to the call's own start directory, when it lies
    below it: what a relative spelling through symlinks becomes with its start kept (as the
    task's own lookup, it needs no search permission above the start, which an unprivileged
    task in a directory it could not reach from "/" lacks).  None: an absolute spelling, or
    one that ends elsewhere.  (An absolute spelling has a start only under RESOLVE_IN_ROOT,
    whose "/" is its dirfd.)"""
    start = p.resolved.start
    if start is None or not p.raw:
        return None
    prefix = start.rstrip("/") + "/"
    if not canonical.startswith(prefix) or len(canonical) == len(prefix):
        return None
    below = canonical[len(prefix):]
    return None if _climbs(below) else below


def linked_redirect(call: DecodedCall, targets: dict[str, str] | None) -> str | None:
    """The redirect target of a call that is no open nor exec reached through a symlink (on
    the way or as its last name), or None.  The target is the policy's, but the file there
    may be the program's to replace: truncate, chmod, utimes... would follow a link it put
    there to a file the policy refuses (red team 20, ``redirect_link.c``); such a call fails
    with ELOOP, as a redirected open does (RESOLVE_NO_SYMLINKS), checked with the tree
    frozen (Tracer._apply).  A name missing on the way ends the walk: nothing follows it."""
    if not targets or call.name in OPEN_CALLS or call.name in EXEC_CALLS:
        return None
    for target in targets.values():
        at = ""
        for name in target.split("/"):
            if not name:
                continue
            at += "/" + name
            try:
                mode = os.lstat(at).st_mode
            except OSError:
                break
            if stat.S_ISLNK(mode):
                return target
    return None


def refuse(tid: int, err: int, retval: int | None = None) -> None:
    """Skip the call at its entry stop; it returns -err (or ``retval``)."""
    pt.poke_reg(tid, "orig_rax", -1)
    pt.poke_reg(tid, "rax", retval if retval is not None else -err)


def set_return(tid: int, value: int) -> None:
    """At an exit stop: the value the call returns."""
    pt.poke_reg(tid, "rax", value)


def open_how_for(call: DecodedCall) -> tuple[int, int]:
    """(flags, mode) as open() would have passed them to the kernel's openat2 machinery."""
    return open_how_flags(call.open_flags or 0, call.open_mode or 0)


def open_how_flags(open_flags: int, open_mode: int) -> tuple[int, int]:
    """(flags, mode) of the open_how an open(2) with these flags and mode is held as (the
    native loop's too: engine/cloop.py)."""
    flags, mode = open_how_of(open_flags, open_mode)
    if not flags & O_PATH:
        flags |= O_LARGEFILE  # as open() and openat2() add it on 64-bit
    return flags, mode


class Holder:
    """Writes checked arguments into a task's scratch slot and points the call at them.

    Only what was examined is held: a path no rule looked at was not checked, so there is
    nothing to hold it to."""

    def __init__(self, memory: TraceeMemory, slot: int, info: pt.SyscallInfo,
                 keep_start: bool = False,
                 reaches: Callable[[str], bool] | None = None,
                 own_call: bool = False, returns: bool = False,
                 answered: bool = False, answered_refuses: bool = False) -> None:
        self.memory = memory
        self.base = scratch.slot_address(slot)
        # No other task shares the caller's cwd or descriptor table: a path that reached its
        # file through no symlink may keep its own spelling and start (dirfd), so the kernel
        # does the same short lookup it would have done instead of a walk from /.
        self.keep_start = keep_start
        # whether the task may search every directory above a start directory (a name):
        # where it may not, no absolute spelling below that start does what its own does
        self.reaches = reaches
        self.info = info              # the stop's syscall info: number, arguments
        self.nr: int | None = None    # a new call number, when the call is converted
        self.args: dict[int, int] = {}
        # a path keeps the call's own spelling and start because no canonical one does the
        # same (or a sendmsg's control data is too large to copy): the kernel reads again
        # what was checked, so the call must run with the tree frozen
        self.respelled = False
        # a seccomp filter of the program's own judges again whatever call the kernel runs
        # (Tracer._own_filter): an open keeps its own call, which that filter lets through as
        # it would natively, instead of becoming openat2 -- run with the tree frozen, since
        # without RESOLVE_NO_SYMLINKS only that holds the lookup to what was checked
        self.own_call = own_call
        # the call returns through a trampoline in the slot that gives the program its own
        # registers back (scratch.trampoline): its rip is set there
        self.returns = returns
        # the call's path lies on a file system a process answers (FUSE: engine/answered.py),
        # whose server may answer the frozen re-check as it answered the check: an open kept
        # in its own spelling follows no symlink either, where its walk followed none; where
        # its walk followed one, it is refused (``answered_refuses``: a rule decides by name,
        # Tracer._answered_refusal) or, with nothing decided by name, runs as before
        self.answered = answered
        self.answered_refuses = answered_refuses
        self.own = (info.nr, tuple(info.args), info.instruction_pointer)

    def apply(self, tid: int, call: DecodedCall, reply: Reply, commit: bool = True) -> None:
        """Write the copies and point the stopped call at them -- or, without ``commit``,
        leave the call as it is (the new number and arguments in :attr:`nr`, :attr:`args`:
        a create the tracer makes anew, Tracer._create_anew)."""
        name = call.name
        if name in OPEN_CALLS:
            self._open(call, reply)
        elif name in EXEC_CALLS:
            self._exec(call, reply)
        else:
            self._paths(call, reply)
        self._empty_path(call)
        if call.name == "sendmsg" and call.msghdr_raw is not None:
            self._msghdr(call, reply)
        elif call.sockaddr_raw is not None or reply.sockaddr is not None:
            self._sockaddr(call, reply)
        if call.held_strings:
            self._strings(call.held_strings)
        if call.clone_args_raw is not None:
            self._clone_args(call.clone_args_raw)
        if commit:
            self._commit(tid)

    def _strings(self, strings: dict[int, bytes]) -> None:
        """Strings the decision read and the kernel reads again (a mount's type, source and
        options, an fsconfig key and value): copies, one after the other in the bulk area."""
        at = scratch.BULK
        for index, data in sorted(strings.items()):
            self.memory.write(self.base + at, data)
            self.args[index] = self.base + at
            at += (len(data) + 15) & ~15

    def _commit(self, tid: int) -> None:
        """Point the call at the copies: one PTRACE_SET_SYSCALL_INFO where the kernel has it,
        else POKEUSER per register (or GETREGS/SETREGS when the call number changes)."""
        if self.nr is None and not self.args:
            return
        returns = self.returns
        if returns:
            nr, args, rip = self.own
            self.memory.write(self.base + scratch.RESTART, scratch.trampoline(nr, args, rip))
        info = self.info
        if self.nr is not None:
            info.nr = self.nr
        for index, value in self.args.items():
            info.args[index] = value & _U64
        if pt.set_syscall_info(tid, info):
            if returns:
                pt.poke_reg(tid, "rip", self.base + scratch.RETURN)
            return
        if self.nr is None and not returns:
            for index, value in self.args.items():
                pt.poke_reg(tid, ARG_REGS[index], value)
            return
        regs = pt.getregs(tid)
        if returns:
            regs.rip = self.base + scratch.RETURN
        if self.nr is not None:
            regs.orig_rax = self.nr
        for index, value in self.args.items():
            setattr(regs, ARG_REGS[index], value & _U64)
        pt.setregs(tid, regs)

    # --- paths --------------------------------------------------------------------------------
    def _target(self, p: DecodedPath, reply: Reply, last_name: bool) -> tuple[str | None, bool]:
        """The path to hand the kernel, and whether it is the call's own spelling (which
        keeps the call's dirfd) rather than an absolute path.  None: nothing to write (a
        descriptor, not a string)."""
        if reply.paths and p.role in reply.paths:
            return reply.paths[p.role], False
        if self.keep_start and p.rewritable and p.resolved.direct and p.raw \
                and not _climbs(p.raw):
            return p.raw, True
        start = p.resolved.start
        if not self.keep_start and self.reaches is not None and p.rewritable and p.raw \
                and start is not None and not self.reaches(start):
            # a start below a directory the task may not search, which another task shares
            # (a thread's cwd): the canonical spelling would fail with EACCES where the
            # task's own succeeds, and a spelling relative to the start could be taken
            # elsewhere by that task -- its own, run with the tree frozen and re-checked
            self.respelled = True
            return p.raw, True
        if self.reaches is not None and p.rewritable and p.raw \
                and not p.resolved.direct and p.resolved.path.startswith("/") \
                and not self.reaches(p.resolved.path):
            # a lookup through a magic link (/proc/self/fd/N/x, /proc/self/cwd/x) jumps to a
            # directory the task may not reach from "/": the canonical spelling would fail
            # with EACCES where its own succeeds -- its own, as above
            self.respelled = True
            return p.raw, True
        canonical = canonical_spelling(p, last_name)
        if canonical is not None:
            below = _below_start(p, canonical) if self.keep_start else None
            if below is not None:
                return below, True
            return canonical, False
        if not p.raw:
            return None, False
        self.respelled = True
        return p.raw, True

    def _start(self, p: DecodedPath, own_spelling: bool) -> None:
        """An absolute replacement ignores the dirfd, but keep it pointed at the cwd anyway."""
        if not own_spelling and p.spec is not None and p.spec.dirfd_arg is not None:
            self.args[p.spec.dirfd_arg] = AT_FDCWD

    def _empty_path(self, call: DecodedCall) -> None:
        """An empty path that means the call's descriptor (AT_EMPTY_PATH: glibc's fstat, a
        readlinkat of an O_PATH link) gets a copy of that "" too: a sibling writing a path
        there after the check would have the kernel look that path up (race_empty.c)."""
        args = self.info.args
        empty = {p.spec.arg for p in call.examined_paths() if p.spec is not None and not p.raw}
        if call.empty_path_arg is not None:
            empty.add(call.empty_path_arg)
        # (already pointed at a copy; a NULL pointer the kernel reads nothing for is no
        # string: utimensat(fd, NULL) -- any other NULL's "" was read at address 0, where a
        # sibling may write a path after the check, and is held as any other: red team 31)
        empty -= self.args.keys()
        if not all(args[arg] for arg in empty):
            nulls = {p.spec.arg for p in call.examined_paths()
                     if p.spec is not None and p.spec.null.holds(args)}
            empty = {arg for arg in empty if args[arg] or arg not in nulls}
        if not empty:
            return
        self.memory.write(self.base + scratch.EMPTY, b"\0")
        for arg in empty:
            self.args[arg] = self.base + scratch.EMPTY

    def _open(self, call: DecodedCall, reply: Reply) -> None:
        path = call.decoded_path("path") if reply.paths else None
        examined = call.examined_paths()
        path = path or (examined[0] if examined else None)
        target, own_spelling = (None, False) if path is None or path.spec is None else \
            self._target(path, reply, last_name=False)
        if path is None or path.spec is None or target is None:
            self._open_how(call)
            return
        if self.own_call and call.name != "openat2":
            self._own_open(path, target, own_spelling)
            return
        if not own_spelling and not path.resolved.direct \
                and call.lookup_restrictions & RESOLVE_CACHED:
            # the call's own lookup follows a symlink or a magic link, which the kernel's
            # cached walk may fail on (EAGAIN, as it does natively); the canonical spelling
            # follows none, and would open what the call could not
            raise HoldError(errno.EAGAIN, "RESOLVE_CACHED through a symlink")
        flags, mode = open_how_for(call)
        if not own_spelling and flags & os.O_CREAT and target.endswith("/") and target != "/" \
                and path.raw.rstrip("/").rsplit("/", 1)[-1] in (".", ".."):
            # "dir/.." made is EEXIST (O_EXCL) or EISDIR by the kernel's handling of "..";
            # the canonical name with a slash would be EISDIR at once (open_last_lookups)
            target = target.rstrip("/")
        resolve = pt.RESOLVE_NO_SYMLINKS
        if self.respelled and not (self.answered and _followed_no_symlink(call, path)):
            if self.answered and self.answered_refuses:
                raise HoldError(errno.EACCES, ANSWERED_RESPELLED)
            resolve = 0
        if call.name == "openat2" and call.open_resolve:
            resolve |= call.open_resolve if own_spelling and target == path.raw else \
                call.open_resolve & ~RESOLVE_SPELLING_ONLY
        notes = call.made_notes
        if notes is not None and notes.exclusive and resolve & pt.RESOLVE_NO_SYMLINKS:
            # a create that opens what is there, of a name absent when decided: made only
            # anew, so that the kernel's EEXIST tells an outsider's file made meanwhile
            # (Tracer._restart_exclusive: the call made again, decided anew -- notes37).
            # Not where the lookup may follow a symlink (its own spelling, respelled): O_EXCL
            # meets a dangling symlink's EEXIST at every try -- unnoted instead
            flags |= os.O_EXCL
            notes.ran_exclusive = True
        encoded = target.encode("utf-8", "surrogateescape") + b"\0"
        if len(encoded) > PATH_MAX:
            raise HoldError(errno.ENAMETOOLONG, "path too long")
        blob = struct.pack("<QQQ", flags, mode, resolve).ljust(scratch.PATH1, b"\0") + encoded
        self.memory.write(self.base + scratch.HOW, blob)
        self.nr = SYS_OPENAT2
        dirfd = AT_FDCWD
        if own_spelling and path.spec.dirfd_arg is not None:
            dirfd = self.info.args[path.spec.dirfd_arg] & 0xFFFFFFFF
        self.args.update({0: dirfd, 1: self.base + scratch.PATH1, 2: self.base + scratch.HOW,
                          3: pt.OPEN_HOW_SIZE})

    def _own_open(self, path: DecodedPath, target: str, own_spelling: bool) -> None:
        """open, openat or creat held in its own call (``own_call``): its path pointed at the
        checked spelling, its flags and mode its own, the tree frozen while it runs."""
        assert path.spec is not None
        encoded = target.encode("utf-8", "surrogateescape") + b"\0"
        if len(encoded) > PATH_MAX:
            raise HoldError(errno.ENAMETOOLONG, "path too long")
        self.memory.write(self.base + scratch.PATH1, encoded)
        self.args[path.spec.arg] = self.base + scratch.PATH1
        self._start(path, own_spelling)
        self.respelled = True

    def _open_how(self, call: DecodedCall) -> None:
        """openat2 whose path is not held: its struct open_how still is, when the check read
        it (its flags tell a read from a write), exactly as it was read."""
        if call.name != "openat2" or call.open_resolve is None:
            return
        how = struct.pack("<QQQ", call.open_flags or 0, call.open_mode or 0, call.open_resolve)
        self.memory.write(self.base + scratch.HOW, how)
        self.args.update({2: self.base + scratch.HOW, 3: pt.OPEN_HOW_SIZE})

    def _paths(self, call: DecodedCall, reply: Reply) -> None:
        writes: list[tuple[int, bytes, int]] = []  # (offset, data, arg index)
        for p in call.examined_paths():
            if p.spec is None:
                continue  # a descriptor, not a string
            target, own_spelling = self._target(p, reply, call.name in LAST_NAME_CALLS)
            if target is None:
                continue
            self._start(p, own_spelling)
            data = target.encode("utf-8", "surrogateescape") + b"\0"
            if len(data) > PATH_MAX:
                raise HoldError(errno.ENAMETOOLONG, "path too long")
            writes.append((scratch.PATH2 if writes else scratch.PATH1, data, p.spec.arg))
        if not writes:
            return
        if len(writes) == 2:
            first, second = writes
            self.memory.write(self.base + scratch.PATH1,
                              first[1].ljust(scratch.PATH2 - scratch.PATH1, b"\0") + second[1])
        else:
            self.memory.write(self.base + writes[0][0], writes[0][1])
        for offset, _, arg in writes:
            self.args[arg] = self.base + offset

    def _exec(self, call: DecodedCall, reply: Reply) -> None:
        """exec keeps the spelling of its path (it becomes the script's $0); a private copy of
        it, and of argv and the environment when they were checked.  The exec event checks what
        really ran."""
        examined = call.examined_paths()
        path = examined[0] if examined else None
        if path is not None and path.spec is not None:
            target = reply.paths.get("path") if reply.paths else None
            text = target if target is not None else path.raw
            if text:
                self.memory.write(self.base + scratch.PATH1,
                                  text.encode("utf-8", "surrogateescape") + b"\0")
                self.args[path.spec.arg] = self.base + scratch.PATH1
        at = scratch.BULK
        if call.examined_argv is not None:
            at = self._vector(call.examined_argv, ARGV_ARG[call.name], at)
        if call.examined_envp is not None:  # (an exec into another table: its loader's)
            self._vector(call.examined_envp, ENVP_ARG[call.name], at)

    def _vector(self, values: tuple[str, ...], arg: int, offset: int) -> int:
        """A copy of an argv or envp (its pointers, then its strings) at ``offset`` of the
        slot, for argument ``arg``; where the next may start."""
        strings = [a.encode("utf-8", "surrogateescape") + b"\0" for a in values]
        table_size = 8 * (len(strings) + 1)
        total = table_size + sum(len(s) for s in strings)
        if offset + total > scratch.SLOT_SIZE:
            raise HoldError(errno.E2BIG, "argv and environment too large to hold")
        pointers = []
        at = self.base + offset + table_size
        for s in strings:
            pointers.append(at)
            at += len(s)
        blob = struct.pack(f"<{len(pointers) + 1}Q", *pointers, 0) + b"".join(strings)
        self.memory.write(self.base + offset, blob)
        self.args[arg] = self.base + offset
        return (offset + total + 7) & ~7

    # --- socket addresses ------------------------------------------------------------------------
    def _sockaddr(self, call: DecodedCall, reply: Reply) -> None:
        raw = reply.sockaddr if reply.sockaddr is not None else call.sockaddr_raw
        assert raw is not None and call.name in SOCKADDR_ARGS
        pointer, length = SOCKADDR_ARGS[call.name]
        self.memory.write(self.base + scratch.SOCK, raw)
        self.args.update({pointer: self.base + scratch.SOCK, length: len(raw)})

    def _msghdr(self, call: DecodedCall, reply: Reply) -> None:
        """sendmsg's msghdr as it was read, its name and its control data pointing at copies
        of what was checked (a name no rule looked at stays where it is: nothing was decided
        on it).  The kernel only reads them.  Control data too large for the slot stays
        where it is, and the call runs with the tree frozen instead (``respelled``)."""
        assert call.msghdr_raw is not None
        header = bytearray(call.msghdr_raw)
        name = reply.sockaddr if reply.sockaddr is not None else call.sockaddr_raw
        blob = bytearray(scratch.MSGHDR - scratch.SOCK + len(header))
        if name is not None:
            struct.pack_into("<QI", header, 0, self.base + scratch.SOCK, len(name))
            blob[:len(name)] = name
        control = call.control_raw
        if control:
            if len(control) > scratch.SLOT_SIZE - scratch.BULK:
                self.respelled = True
            else:
                struct.pack_into("<Q", header, 32, self.base + scratch.BULK)
                blob += bytes(scratch.BULK - scratch.SOCK - len(blob)) + control
        blob[scratch.MSGHDR - scratch.SOCK:scratch.MSGHDR - scratch.SOCK + len(header)] = header
        self.memory.write(self.base + scratch.SOCK, bytes(blob))
        self.args[1] = self.base + scratch.MSGHDR


    # --- clone3 ---------------------------------------------------------------------------------
    def _clone_args(self, raw: bytes) -> None:
        """The struct clone3 was checked with, byte for byte (its size argument unchanged)."""
        self.memory.write(self.base + scratch.CLONE_ARGS, raw)
        self.args[0] = self.base + scratch.CLONE_ARGS


SYSCALL_INSTRUCTION = b"\x0f\x05"


def trap_code(number: int) -> bytes:
    """``mov eax, <number>; syscall; int3``: one call run in a stopped task, to a trap
    (Tracer._inject_call)."""
    return b"\xb8" + number.to_bytes(4, "little") + SYSCALL_INSTRUCTION + b"\xcc"


#: the scratch mmap run at an exec event (Tracer._premap_scratch, and the C loop's)
MMAP_TRAP_CODE = trap_code(NUMBERS["mmap"])
#: the scratch mmap's arguments, in order (fd -1)
MMAP_ARGS = (scratch.BASE, scratch.SIZE, PROT_READ | PROT_EXEC, scratch.MAP_FLAGS, _U64, 0)
#: the seal of the area once mapped: mseal(BASE, SIZE, 0) (Linux 6.10; close 24)
MSEAL_ARGS = (scratch.BASE, scratch.SIZE, 0, 0, 0, 0)


def map_seal_code(mmap: int, mseal: int) -> bytes:
    """The scratch mmap and, when it mapped the area, its seal, to a trap (the premap:
    Tracer._premap_scratch, _cloop.c premap): ``mov eax, mmap; syscall; cmp rax, rdi; jne
    trap; mov eax, mseal; xor edx, edx; syscall; mov rdx, rax; mov rax, rdi; trap: int3`` --
    at the trap rax is the mmap's result (the area's address when it mapped it) and rdx the
    seal's (0: sealed; the mmap's prot, never 0, when no seal was made).  The mmap's rdi and
    rsi (BASE, SIZE) are the seal's first two arguments: a ``syscall`` keeps them.  Every
    register is put back after the trap."""
    seal = (b"\xb8" + mseal.to_bytes(4, "little") + b"\x31\xd2" + SYSCALL_INSTRUCTION
            + b"\x48\x89\xc2" + b"\x48\x89\xf8")
    return (b"\xb8" + mmap.to_bytes(4, "little") + SYSCALL_INSTRUCTION + b"\x48\x39\xf8"
            + b"\x75" + bytes((len(seal),)) + seal + b"\xcc")


def kernel_seals() -> bool:
    """Whether this kernel has mseal (Linux 6.10, 64-bit): ``mseal(0, 0, 0)`` seals nothing
    and answers 0 there, ENOSYS before.  Asked once a run (Tracer.spawn), in the tracer --
    or, where the tracer itself runs under a seccomp filter (a sandbox, systemd's
    SystemCallFilter=, which kills a call it does not list), in a child of its own: a filter
    that kills or traps mseal killed the tracer before the command started (review 54; it
    ran, unsealed, before close 24).  A child killed, or answered anything but 0: no seal."""
    libc = ctypes.CDLL(None, use_errno=True)
    zero = ctypes.c_long(0)
    number = ctypes.c_long(NUMBERS["mseal"])
    try:
        with open("/proc/self/status", "rb") as status:
            filtered = any(line.split()[1:] != [b"0"] for line in status
                           if line.startswith(b"Seccomp:"))
    except OSError:
        filtered = True
    if not filtered:
        return int(libc.syscall(number, zero, zero, zero)) == 0
    pid = os.fork()
    if pid == 0:  # (the probe alone: nothing else runs in the child)
        os._exit(0 if int(libc.syscall(number, zero, zero, zero)) == 0 else 1)
    _, how = os.waitpid(pid, 0)
    return os.WIFEXITED(how) and os.WEXITSTATUS(how) == 0


#: the premap's code where the area is sealed (map_seal_code)
MAP_SEAL_TRAP_CODE = map_seal_code(NUMBERS["mmap"], NUMBERS["mseal"])


def mmap_registers(regs: ctypes.Structure) -> None:
    regs.orig_rax = NUMBERS["mmap"]
    regs.rax = NUMBERS["mmap"]
    for name, value in zip(ARG_REGS, MMAP_ARGS, strict=True):
        setattr(regs, name, value)


def inject_mmap(tid: int) -> ctypes.Structure:
    """Turn the stopped call into the scratch mmap; returns the registers to restore."""
    saved = pt.getregs(tid)
    regs = pt.getregs(tid)
    mmap_registers(regs)
    pt.setregs(tid, regs)
    return saved


def set_call_registers(tid: int, saved: ctypes.Structure, number: int, args: Sequence[int],
                       in_call: bool) -> None:
    """The registers of a stopped task about to run ``trap_code(number)`` at its instruction
    pointer with ``args`` (Tracer._inject_call): rax the call's number (no error value, so no
    restart of an interrupted call is ever applied to them: arch_do_signal_or_restart).
    ``in_call``: the stop is an event inside a call (an exec's, a fork's), which stays the
    call the task is in on its way out; else (a stop in get_signal: an attach's interrupt, a
    signal's delivery) orig_rax is -1, no call."""
    regs = type(saved).from_buffer_copy(saved)
    for name, value in zip(ARG_REGS, args, strict=False):
        setattr(regs, name, value & _U64)
    regs.rax = number
    regs.orig_rax = saved.orig_rax if in_call else _U64
    pt.setregs(tid, regs)


def restart_call(tid: int, saved: ctypes.Structure) -> None:
    """At the injected call's exit stop: put everything back and execute the original call
    again (the instruction pointer goes back over the 2-byte ``syscall``)."""
    saved.rip -= 2
    saved.rax = saved.orig_rax
    pt.setregs(tid, saved)


def fail_call(tid: int, saved: ctypes.Structure, err: int) -> None:
    """At the injected call's exit stop: the original call returns -err instead."""
    saved.rax = (-err) & _U64
    pt.setregs(tid, saved)
