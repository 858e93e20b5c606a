"""Where systrace's own files -- its log, the policies it writes -- may be made: the one home of
the rule about a symbolic link on the way to one (review 13).

A traced program runs as the user, and a policy lets it write some directories -- often the
work directory where the user keeps ``--log logs/run.log`` or ``-A -o out/p.toml``.  In an
earlier run it may have made ``logs`` a symlink to ``~/.bashrc.d``, a directory whose every
file bash sources: the next run's tracer would create ``run.log`` there, with text the
program chose (its refused paths, ``$(...)`` and all).  So a link on the way that sits in a
directory this user may write, or that is not root's (:func:`program_may_write`) -- one the
program, or another user, may have put there (a directory the program made read-only after
planting the link is still the user's: review 14, red team 25) -- is followed only to a file
of systrace's own kind that is there already (a log to append to, a policy to replace: each
caller checks its kind); nothing is created through it.  A link in a directory of root's
that the user may not write (``/home -> var/home`` in ``/``, for a user) is the system's, and
followed.  As root every directory is writable, so every link on the way counts: name the
directory it leads to.

The directory is walked with descriptors, a name at a time (``O_NOFOLLOW``), each link read
and its target walked the same way: the descriptor returned is of the directory the checks
were made on, whatever is renamed or swapped meanwhile (a program still running: a leftover
of an earlier run, or ``--attach``'s)."""

import errno
import os
import stat
from collections.abc import Callable

from systrace_py import procfs

#: the kernel's limit on the symbolic links one lookup follows (ELOOP past it)
_MAX_LINKS = 40
_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


def open_directory(path: str) -> tuple[int, str | None]:
    """An ``O_PATH`` descriptor of the directory ``path``'s last name is in, walked as the
    kernel walks it, and the first symbolic link on the way that sits in a directory where a
    traced program or another user may have put it (:func:`program_may_write`; None:
    none).  The last name itself is not looked at: the callers treat a link there
    themselves.  OSError as the walk's lookups give it (ENOENT, ENOTDIR, EACCES; ELOOP past
    the kernel's limit)."""
    start = os.open("/" if path.startswith("/") else ".", _DIR)
    names = [p for p in path.split("/") if p][:-1]
    return _walk(start, names, [0], os.path.abspath(os.path.dirname(path) or "."))


def _walk(fd: int, names: list[str], followed: list[int], shown: str) -> tuple[int, str | None]:
    """Walk ``names`` from directory ``fd`` (taken over: closed, or returned); ``shown`` names
    the walk for a message."""
    first: str | None = None
    for name in names:
        try:
            nxt = os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                os.close(fd)
                raise
            try:
                target = os.readlink(name, dir_fd=fd)
            except OSError:
                os.close(fd)
                raise exc from None  # (no link: a file that is no directory)
            followed[0] += 1
            if followed[0] > _MAX_LINKS:
                os.close(fd)
                raise OSError(errno.ELOOP, "too many levels of symbolic links", shown) from None
            if first is None and program_may_write(fd):
                first = os.path.join(os.readlink(procfs.held_name(fd)), name)
            base = os.open("/", _DIR) if target.startswith("/") else os.dup(fd)
            os.close(fd)
            nxt, inner = _walk(base, [p for p in target.split("/") if p], followed, shown)
            first = first or inner
        else:
            os.close(fd)  # (a "..": the parent of the directory reached, as the kernel's)
        fd = nxt
    return fd, first


def program_may_write(fd: int) -> bool:
    """Whether a link in directory ``fd`` may have been put there by a traced program of this
    user -- or by another user: unless the directory is root's and this user may not write
    it, it counts.  The user's own directory, even one it may not write now: its owner may
    always give the write bits back (a program that planted a link took them away after, and
    the next run's walk took the link for the system's and created the log through it); another
    user's, who may plant there a link into this user's ``~/.bashrc.d`` (red team 25); and a
    root's directory on a read-only mount that has a write bit (the same directory may be
    writable at another mount).  As root every directory is (root writes any)."""
    if os.geteuid() == 0:
        return True
    st = os.fstat(fd)
    if st.st_uid != 0 or os.access(".", os.W_OK, dir_fd=fd):
        return True
    return bool(os.fstatvfs(fd).f_flag & os.ST_RDONLY and st.st_mode & 0o022)


def program_may_change(name: str, kept: Callable[[str], bool] = lambda entry: False) -> bool:
    """Whether a traced program (or another user) may change what ``name`` (absolute, its
    directories no symlinks) leads to: it, or a directory on the way to it, sits in a
    directory it may write (:func:`program_may_write`) -- the name replaced, or a directory
    on the way renamed and another put in its place -- unless that directory is sticky and
    neither it nor the entry is this user's (the kernel lets no other user rename or remove
    it: ``/tmp/x`` of root's) or ``kept`` says no program may change that entry (the
    policy's word: every table refuses the calls that would; as root, the only one).  True
    when one cannot be looked at (fail closed).  An exec into another table of a script
    spelled through a link asks it of the link (Supervisor._script_link)."""
    here = name
    while here != "/":
        parent, _, last = here.rpartition("/")
        parent = parent or "/"
        try:
            fd = os.open(parent, _DIR | os.O_NOFOLLOW)
        except OSError:
            return True
        try:
            if program_may_write(fd) and not _sticky_keeps(fd, last) and not kept(here):
                return True
        except OSError:
            return True
        finally:
            os.close(fd)
        here = parent
    return False


def program_may_fill(directory: str, kept: Callable[[str], bool] = lambda entry: False
                     ) -> bool:
    """Whether a traced program (or another user) may put a name in ``directory`` (absolute,
    no symlinks: a cwd as /proc names it) -- it may write the directory
    (:func:`program_may_write`; a sticky ``/tmp`` too: anyone makes names there) -- or change
    what its name leads to (:func:`program_may_change`: a directory on the way renamed and
    another put in its place).  True when it cannot be looked at (fail closed).  A Python's
    working directory, first on its sys.path (Supervisor._entering_table, the learner)."""
    try:
        fd = os.open(directory, _DIR | os.O_NOFOLLOW)
    except OSError:
        return True
    try:
        if program_may_write(fd):
            return True
    except OSError:
        return True
    finally:
        os.close(fd)
    return directory != "/" and program_may_change(directory, kept)


def _sticky_keeps(fd: int, name: str) -> bool:
    """Whether directory ``fd`` is sticky and keeps its entry ``name`` from this user, who
    owns neither (root, CAP_FOWNER, is kept from nothing)."""
    uid = os.geteuid()
    st = os.fstat(fd)
    if not st.st_mode & stat.S_ISVTX or uid == 0 or st.st_uid == uid:
        return False
    return os.stat(name, dir_fd=fd, follow_symlinks=False).st_uid != uid
