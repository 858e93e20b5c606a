"""The traced program's half of a start: what its process does between the fork and the exec.

One home for both ways a traced program starts (issue 16):

* in process (:meth:`systrace_py.engine.tracer.Tracer.spawn`): the tracer forks, and its child
  runs :func:`become_program` with the engine's ctypes calls (``ptrace_ops``);
* through the resident tracer (:mod:`systrace_py.resident`): the small client forks (so the
  program stays the client's child: its parent, job control and exit status are as before),
  and its child runs :func:`become_program` with the native extension's calls (``_cloop``),
  because importing ctypes would cost the client what the resident tracer is there to save.

Either way the process stops itself before it loads the filter: the tracer seizes it there
(the filter's ``SECCOMP_RET_TRACE`` answers ENOSYS to a process nobody traces), and only then
is the filter loaded and the program executed.  This module imports only what the client may
import (``os``, ``_signal``, ``resource``): no enum, no ctypes.
"""

from __future__ import annotations

import errno
import os
import resource

from systrace_py import procfs
from systrace_py.kernel import TYPE_CHECKING

if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Sequence
    from typing import NoReturn
else:
    import _signal  # (``signal`` imports enum: ~5 ms of the client's start)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: the largest RLIMIT_CORE with which the kernel writes no core at all (no_core_limits)
NO_CORE_LIMIT = 1
#: the signals a traced program starts with at their default action, or ignored as the command
#: found them (INHERITED_IGNORED): Python ignores SIGPIPE and SIGXFSZ and handles SIGINT, a
#: tracer handles more while it runs
RESTORED_SIGNALS: tuple[int, ...] = (
    _signal.SIGINT, _signal.SIGQUIT, _signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGTERM,
    _signal.SIGHUP, _signal.SIGCHLD, _signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU)
#: Of those, the ones ignored (SIG_IGN) when this module was loaded -- at the command's start,
#: before systrace handles any: what its parent left ignored (``nohup``'s SIGHUP, a shell's
#: SIGINT and SIGQUIT for a background job).  Natively the program inherits them through the
#: fork and the exec, and so it does traced: they go back to SIG_IGN, not to SIG_DFL (LTP
#: ``kill11`` under ``nohup``: SIGHUP sent to a child in pause() ended it traced, not
#: natively).  SIGPIPE and SIGXFSZ are left out: Python ignores them itself at start-up, so
#: what it found is not known -- they go to SIG_DFL, as subprocess's restore_signals does.
INHERITED_IGNORED: frozenset[int] = frozenset(
    signum for signum in RESTORED_SIGNALS
    if signum not in (_signal.SIGPIPE, _signal.SIGXFSZ)
    and _signal.getsignal(signum) == _signal.SIG_IGN)
#: the signals blocked when this module was loaded: the mask the program inherits natively
INHERITED_MASK: frozenset[int] = frozenset(_signal.pthread_sigmask(_signal.SIG_BLOCK, []))
#: A process's exit status when systrace itself failed (every traced process killed); here,
#: where the lightest of its users (the resident client) can import it: a program's process
#: not traced by the tracer it was promised exits with it too (it never ran).
EXIT_INTERNAL = 125


def no_core_limits() -> tuple[int, int]:
    """RLIMIT_CORE for a traced program: its limits lowered to at most 1, so it dumps no core.

    Below a page the kernel begins no ELF core file (nor unlinks one in its way); a soft limit
    of 1 also tells it not to pipe one to a core_pattern helper (0 does not: the system's
    helper gets it, as natively).  The hard limit is 1, not 0: LTP's tst_no_corefile, and
    programs like it, set (1, 1), which a hard limit of 0 would refuse without
    CAP_SYS_RESOURCE.  The stop guard of setrlimit refuses any limit above 1."""
    def lowered(limit: int) -> int:
        return limit if 0 <= limit <= NO_CORE_LIMIT else NO_CORE_LIMIT
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    return lowered(soft), lowered(hard)


def _descriptor_bound() -> int:
    """One past the highest descriptor a process may hold: the hard RLIMIT_NOFILE (a soft
    limit lowered after a descriptor was opened leaves it open above), at most INT_MAX.
    os.closerange closes them in one close_range(2) where the kernel has it."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 2**31 - 1 if hard == resource.RLIM_INFINITY or hard >= 2**31 - 1 else hard


def _check_working_directory_reach() -> None:
    """(After ``-c``'s setuid.)  Whether the new user may reach the working directory from
    ``/``: the kernel checks search permission from a lookup's start on, not above it, so a
    directory the starter works in below one the new user may not search (``/root/proj``)
    would still be the start of the program's relative names -- the starter's reach, as its
    descriptors and keyring are.  A stat of its path as the new user searches every
    directory above it; where that is refused, the program is not run (126).  (The
    directory itself need not be searchable: if it is not, no relative name is looked up
    in it natively either -- ``/root`` for a root shell in its home.)  A removed directory
    (getcwd fails with ENOENT) is empty: nothing to reach, kept.  Any other failure of
    getcwd is no reach shown: a path longer than a page (ENAMETOOLONG from the kernel,
    EACCES from glibc's walk up) below ``/root`` was the way past the check (review 9)."""
    try:
        here = os.getcwd()
    except FileNotFoundError:
        return
    except OSError:  # (ENAMETOOLONG, EACCES...)
        _out_of_reach()
    try:
        os.stat(here)
    except OSError:  # (EACCES; or its path names nothing now: no reach shown either)
        _out_of_reach()


def _out_of_reach() -> NoReturn:
    os.write(2, b"systrace: the working directory is out of the reach of the user -c names; "
                b"the program was not run\n")
    os._exit(126)


def _check_no_capabilities_kept() -> None:
    """(After ``-c``'s setuid.)  That no capability survives into the program: ``setuid``
    from root clears the permitted, effective and ambient sets -- unless the starter's
    securebits say not to (SECBIT_NO_SETUID_FIXUP survives exec), and then the ambient set
    also survives the exec: a program run "as nobody" kept CAP_DAC_OVERRIDE (red team 14).
    Where the ambient set is not empty, the program is not run (126).  (The permitted and
    effective sets alone do not outlive the exec of a file without file capabilities.)"""
    # (procfs: the one reader of a status line; no CapAmb line: a kernel without ambient
    # capabilities, where none is kept)
    if int(procfs.status_value(procfs.read("/proc/self/status"), b"CapAmb") or b"0", 16):
        os.write(2, b"systrace: the user -c names would keep capabilities (the "
                    b"securebits of whoever started systrace); the program was not run\n")
        os._exit(126)


def become_program(native: Any, filters: Sequence[object], *, argv: Sequence[str],
                   executable: str, env: dict[str, str] | None, cwd: str | None = None,
                   restore_signals: Sequence[int] = RESTORED_SIGNALS, no_core: bool = True,
                   uid: int | None = None, gid: int | None = None,
                   groups: Sequence[int] | None = None, nnp: bool = False,
                   before_stop: Callable[[], object] | None = None,
                   expect_tracer: int | None = None) -> NoReturn:
    """In the forked child: only async-signal-safe-ish work from here to exec.  ``native``
    has the calls Python has no function for, ``set_no_new_privs()``, ``set_dumpable()`` and
    ``load_filter(each of filters)``: the engine's ptrace_ops module, or the _cloop extension.
    Signals as the command found them (INHERITED_IGNORED, INHERITED_MASK), the working
    directory, no core files (unless the policy grants them: ``no_core`` False), credentials
    (``-c``, with a session keyring of the new user's: ``new_session_keyring``, and no
    descriptor of the starter's above 2, in a working directory the new user may reach, with
    no ambient capability left), no_new_privs where an unprivileged filter needs it,
    dumpable (the tracer may have made itself non-dumpable: not us); then stop, be seized,
    load ``filters`` and exec.
    ``before_stop`` is what the caller needs done first (the resident client:
    prctl(PR_SET_PTRACER) naming its tracer where Yama wants one; nothing in process, where
    the tracer is our parent).  ``expect_tracer``: the
    pid that must trace us once we are continued -- anything else (a resident tracer that
    failed, or one that is not what it said; 0 or below, which an untraced process would
    match) exits 125 before the program runs; once it does, PR_SET_PTRACER is reset."""
    code = 126
    try:
        for signum in restore_signals:
            _signal.signal(signum, _signal.SIG_IGN if signum in INHERITED_IGNORED
                           else _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, INHERITED_MASK)
        if cwd:
            os.chdir(cwd)
        if no_core:
            resource.setrlimit(resource.RLIMIT_CORE, no_core_limits())
        if gid is not None:
            os.setgroups(list(groups or [gid]))
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
            # (not the starter's session keyring: possessing it is possessing its keys)
            native.new_session_keyring()
            # nor the starter's descriptors above 2: holding one is the starter's access to
            # what it names, which the new user may not have (as sudo closes them)
            os.closerange(3, _descriptor_bound())
            _check_working_directory_reach()
            _check_no_capabilities_kept()
        if nnp:
            native.set_no_new_privs()
        native.set_dumpable()
        if before_stop is not None:
            before_stop()
        os.kill(os.getpid(), _signal.SIGSTOP)  # the tracer seizes us here
        if expect_tracer is not None:
            if expect_tracer <= 0 or procfs.tracer_of("self") != expect_tracer:
                code = EXIT_INTERNAL
                os.write(2, b"systrace: the resident tracer did not trace the command; "
                            b"it was not run\n")
                os._exit(code)
            # (traced now: the exception Yama was given goes, before the worker's pid can
            # be another process's)
            native.set_ptracer(0)
        for program in filters:
            native.load_filter(program)
        os.execve(executable, list(argv), env if env is not None else os.environ)
    except OSError as exc:
        code = 127 if exc.errno == errno.ENOENT else 126
        os.write(2, f"systrace: {argv[0]}: {exc.strerror}\n".encode())
    finally:
        os._exit(code)


def native_request(filters: Sequence[bytes], *, argv: Sequence[str], executable: str,
                   env: dict[str, str] | None, cwd: str | None,
                   restore_signals: Sequence[int], no_core: bool,
                   nnp: bool) -> tuple[object, ...] | None:
    """The arguments of ``_cloop.spawn`` for what :func:`become_program` would do without
    ``-c``'s credentials (the caller's condition): the same settings, as bytes and numbers
    made here, before the child exists.  None where the native child could not do exactly
    what this module would: a name, argument or variable with a NUL, a variable's name with
    ``=``, an empty argv or argv[0] (``os.execve`` refuses them: the child exits 126), a
    signal or filter count the native child has no room for -- then the fork runs, as before."""
    path = os.fsencode(executable)
    args = [os.fsencode(arg) for arg in argv]
    # (os.environb: os.environ's own bytes, as os.execve would encode them, without a
    # decode and an encode of each)
    given = os.environb.items() if env is None else (
        (os.fsencode(name), os.fsencode(value)) for name, value in env.items())
    variables = []
    for key, value in given:
        if not key or b"=" in key:
            return None
        variables.append(key + b"=" + value)
    where = os.fsencode(cwd) if cwd else None
    texts = [path, *args, *variables, *([where] if where is not None else [])]
    if not args or not args[0] or any(b"\0" in text for text in texts):
        return None
    if len(restore_signals) > 64 or len(filters) > 8:
        return None
    ignored = [signum for signum in restore_signals if signum in INHERITED_IGNORED]
    defaults = [signum for signum in restore_signals if signum not in INHERITED_IGNORED]
    return (path, args, variables, where, ignored, defaults, sorted(INHERITED_MASK),
            no_core_limits() if no_core else None, nnp, list(filters))


__all__ = ["EXIT_INTERNAL", "INHERITED_IGNORED", "INHERITED_MASK", "NO_CORE_LIMIT",
           "RESTORED_SIGNALS", "become_program", "native_request", "no_core_limits"]
