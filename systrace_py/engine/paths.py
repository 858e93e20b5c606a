"""Resolving a path argument the way the kernel will, in the calling task's own view.

A rule on ``/home/*/.ssh/**`` must match every spelling of those files: relative to the cwd or
to a dirfd, with ``..`` and ``//``, through symlinks (also ones the program just made), through
/proc/self/root, /proc/self/cwd or /proc/self/fd/N.  The result is one canonical absolute path.

Two ways to get there:

* the fast way, for tasks whose root is the tracer's: let the kernel resolve the path for us
  (openat2 with O_PATH and RESOLVE_NO_MAGICLINKS, then read back /proc/self/fd/N).  Anything
  that went through a /proc magic link or through /proc/self -- which, resolved by the tracer,
  would mean the tracer -- is detected and handed to
* the slow way: walk the components one by one with lstat/readlink under /proc/TID/root,
  substituting the task's own pid for /proc/self and following magic links by reading them.

Paths that name no file in a directory tree (a pipe or socket behind /proc/self/fd/N, a memfd,
a deleted file) come back with ``pseudo`` set: they can be matched by a rule ("pipe:*",
"memfd:*") but never rewritten to a path the kernel could open again.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from systrace_py.engine.ptrace_ops import RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, openat2

AT_FDCWD = -100
MAX_SYMLINKS = 40
_PROC_LINK_NAMES = frozenset({"cwd", "root", "exe"})


@dataclass(slots=True)
class Resolved:
    """A resolved path.  ``exists`` is False when the last component (or more) is missing."""

    path: str
    exists: bool = True
    pseudo: bool = False
    direct: bool = False  # the spelling reaches it, from its start, through no symlink


class Unresolvable(Exception):
    """A path no rule could name (it lies in a removed directory): the call is refused."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


def _same_file(path: str, link: str) -> bool:
    """Whether ``path`` names the very object behind the /proc magic link ``link``."""
    try:
        a, b = os.stat(path), os.stat(link)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _pseudo(target: str) -> bool:
    return not target.startswith("/") or target.endswith(" (deleted)")


def _unclean(path: str) -> bool:
    """Whether a path has ".", ".." or "//" components (or a trailing slash) to normalise."""
    return "//" in path or "/." in path or (path.endswith("/") and path != "/")


def _lexical(path: str) -> str:
    """Normalise ``.``, ``..`` and ``//`` without looking at the file system."""
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    return "/" + "/".join(parts)


class PathResolver:
    """Resolves paths for tasks of this tracer."""

    def __init__(self) -> None:
        self._tracer_proc = f"/proc/{os.getpid()}"

    # --- where a relative path starts -------------------------------------------------------
    @staticmethod
    def cwd_of(tid: int) -> str:
        return os.readlink(f"/proc/{tid}/cwd")

    @staticmethod
    def fd_path(tid: int, fd: int) -> str:
        """What a descriptor of the task refers to ("pipe:[…]" and the like for non-files)."""
        return os.readlink(f"/proc/{tid}/fd/{fd}")

    @staticmethod
    def root_is_host(tid: int) -> bool:
        """Whether the task sees the same root as the tracer (no chroot, same mounts)."""
        try:
            return os.readlink(f"/proc/{tid}/root") == "/" and (
                os.stat(f"/proc/{tid}/root").st_ino == os.stat("/").st_ino
            )
        except OSError:
            return False

    def resolve(self, tid: int, tgid: int, raw: str, dirfd: int = AT_FDCWD, follow: bool = True,
                host_root: bool = True) -> Resolved:
        """Resolve ``raw`` as task ``tid`` (of process ``tgid``) would, from ``dirfd``."""
        if raw == "":
            return Resolved("", exists=False, pseudo=True)
        if raw.startswith("/"):
            base = "/"
        else:
            link = f"/proc/{tid}/cwd" if dirfd == AT_FDCWD else f"/proc/{tid}/fd/{dirfd}"
            try:
                base = os.readlink(link)
            except OSError:
                return Resolved(_lexical(raw), exists=False, pseudo=True)
            if base.endswith(" (deleted)"):
                if not _same_file(base, link):
                    return self._from_removed(link, raw, follow)
                # else a live directory that is merely named "... (deleted)"
            elif not base.startswith("/"):
                # not a directory at all (a pipe, a socket): the kernel says ENOTDIR
                return Resolved(f"{base}/{raw}", exists=False, pseudo=True)
        if raw.endswith("/"):
            follow = True  # a trailing slash makes the kernel follow the last component
        elif host_root and "/" not in raw and raw not in (".", "..") and base.startswith("/"):
            # one name in a known directory (find, tar, ls -l...): the directory path read
            # from /proc is already canonical; only the name itself may be a symlink
            simple = self._simple(base, raw, follow)
            if simple is not None:
                return simple
        if host_root:
            fast = self._fast(raw if raw.startswith("/") else f"{base}/{raw}", follow)
            if fast is not None:
                return fast
        start = [] if raw.startswith("/") else [c for c in base.split("/") if c]
        return self._walk(tid, tgid, start, raw, follow)

    def _simple(self, base: str, name: str, follow: bool) -> Resolved | None:
        if self._through_tracer(base) or base.startswith("/proc/"):
            return None
        path = f"{base.rstrip('/')}/{name}"
        if not follow:
            return Resolved(path, exists=True, direct=True)  # existence matters to no rule
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return Resolved(path, exists=False, direct=True)
        except OSError:
            return None
        return None if stat.S_ISLNK(info.st_mode) else Resolved(path, direct=True)

    def _from_removed(self, link: str, raw: str, follow: bool) -> Resolved:
        """A path relative to a directory that has been removed (its /proc name ends in
        " (deleted)" and no live directory has that name).  Its name cannot be used, but the
        directory object can: resolve from it.  ``..`` may lead out of it to a live file, which
        gets its real path; anything still inside a removed directory is unreachable by any
        rule's path and is refused rather than left to the kernel."""
        dirfd = os.open(link, os.O_PATH | os.O_CLOEXEC)
        try:
            flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
            try:
                fd = openat2(dirfd, os.fsencode(raw), flags, RESOLVE_NO_MAGICLINKS)
            except OSError as exc:
                raise Unresolvable(exc.errno or errno.ENOENT,
                                   "path relative to a removed directory") from exc
            try:
                canon = os.readlink(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
        finally:
            os.close(dirfd)
        if _pseudo(canon) or self._through_tracer(canon):
            raise Unresolvable(errno.ENOENT, "path inside a removed directory")
        return Resolved(canon)

    # --- the kernel does the work -------------------------------------------------------------
    def _fast(self, candidate: str, follow: bool) -> Resolved | None:
        # Most paths have no symlinks at all: one openat2 that refuses symlinks proves it, and
        # then the lexical form is the canonical one ("." and ".." only go where they say).
        flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
        if "/proc" not in candidate:
            try:
                os.close(openat2(AT_FDCWD, os.fsencode(candidate), flags, RESOLVE_NO_SYMLINKS))
                return Resolved(_lexical(candidate) if _unclean(candidate) else candidate,
                                direct=True)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return self._fast_missing(candidate)
                if exc.errno != errno.ELOOP:
                    return None
        try:
            fd = openat2(AT_FDCWD, os.fsencode(candidate), flags, RESOLVE_NO_MAGICLINKS)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return self._fast_missing(candidate)
            return None  # ELOOP (magic link or loop), EACCES, ENOTDIR...: walk it
        try:
            canon = os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        if self._through_tracer(canon):
            return None
        return Resolved(canon)

    def _fast_missing(self, candidate: str) -> Resolved | None:
        stripped = candidate.rstrip("/")
        parent, _, name = stripped.rpartition("/")
        if name in ("", ".", ".."):
            return Resolved(_lexical(candidate), exists=False)
        parent_resolved = self._fast(parent or "/", True)
        if parent_resolved is None:
            return None
        direct = parent_resolved.direct
        if not parent_resolved.exists:
            return Resolved(_lexical(f"{parent_resolved.path}/{name}"), exists=False,
                            direct=direct)
        return Resolved(f"{parent_resolved.path.rstrip('/')}/{name}", exists=False,
                        direct=direct)

    def _through_tracer(self, canon: str) -> bool:
        return canon == self._tracer_proc or canon.startswith(self._tracer_proc + "/")

    # --- component by component, in the task's view ----------------------------------------
    def _walk(self, tid: int, tgid: int, start: list[str], raw: str, follow: bool) -> Resolved:
        view = f"/proc/{tid}/root"
        current = list(start)
        pending = [c for c in raw.split("/") if c not in ("", ".")]
        links = 0
        while pending:
            comp = pending.pop(0)
            if comp == "..":
                if current:
                    current.pop()
                continue
            candidate = [*current, comp]
            candidate = self._own_proc(candidate, tid, tgid)
            last = not pending
            if last and not follow:
                current = candidate
                break
            host = view + "/" + "/".join(candidate)
            try:
                info = os.lstat(host)
            except OSError:
                rest = "/".join([*candidate, *pending])
                return Resolved(_lexical("/" + rest), exists=False)
            if not stat.S_ISLNK(info.st_mode):
                current = candidate
                continue
            target = os.readlink(host)
            if self._is_magic(candidate):
                if _pseudo(target):
                    rest = "/".join(pending)
                    return Resolved(target + ("/" + rest if rest else ""), pseudo=True)
                current = [c for c in target.split("/") if c]
                continue
            links += 1
            if links > MAX_SYMLINKS:
                return Resolved(_lexical("/" + "/".join([*candidate, *pending])), exists=False)
            if target.startswith("/"):
                current = []
            pending = [c for c in target.split("/") if c not in ("", ".")] + pending
        path = "/" + "/".join(current)
        try:
            os.lstat(view + path)
            exists = True
        except OSError:
            exists = False
        return Resolved(path, exists=exists)

    @staticmethod
    def _own_proc(candidate: list[str], tid: int, tgid: int) -> list[str]:
        """/proc/self and /proc/thread-self mean the calling task, not the tracer."""
        if len(candidate) == 2 and candidate[0] == "proc":
            if candidate[1] == "self":
                return ["proc", str(tgid)]
            if candidate[1] == "thread-self":
                return ["proc", str(tgid), "task", str(tid)]
        return candidate

    @staticmethod
    def _is_magic(candidate: list[str]) -> bool:
        """Whether a /proc symlink is a magic link (it jumps to an object, not a path)."""
        if len(candidate) < 3 or candidate[0] != "proc" or not candidate[1].isdigit():
            return False
        rest = candidate[2:]
        if len(rest) >= 3 and rest[0] == "task":
            rest = rest[2:]
        if len(rest) == 1 and rest[0] in _PROC_LINK_NAMES:
            return True
        return len(rest) == 2 and rest[0] in ("fd", "map_files", "ns")
