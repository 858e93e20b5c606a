"""The learning monitor (``systrace -A``): permits everything, remembers what was done.

Every call of every traced process stops (the prefilter traces all of them) and becomes an
:class:`~systrace_py.policy.learn.Observation` of the table it would be decided under -- the
command's own table (``main``) and, for a process that execs another program, that
program's table, as the enforcing supervisor will switch tables at exec (a program with no
name of its own, a memfd's or a removed file's, takes none: the caller's table, by the
supervisor's own rule, :func:`~systrace_py.supervisor.nameless`).  Identical
observations are kept (and logged) once per table, so a long run costs memory and log
space in proportion to what it did, not to how often.

An exec is recorded when its result is known (its exit value, or the exec event): a failed
exec -- a ``$PATH`` search's misses -- is recorded as failed, and never learned as an exec.

Two exceptions to "everything is permitted":

* calls in :data:`~systrace_py.policy.aliases.UNSAFE_CALLS` (io_uring, ptrace, mount
  namespaces, kernel modules...) are refused with EPERM, as enforcement refuses them unless a
  rule names them: a learned policy must never silently open those holes, and a program that
  works while learning must work the same under its policy.  The summary lists them.
* the engine's own guards still apply (they hold whatever any policy says).

The monitor does no policy work; :func:`systrace_py.policy.learn.learn` turns its
observations into a policy at the end.  Observations are cheap to record: a call without
arguments is one set lookup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as errno_module
import os
import sys
from typing import IO, Any

from systrace_py.audit import AuditLog
from systrace_py.engine import ptrace_ops as pt
from systrace_py.engine.decode import DecodedCall, DecodeError
from systrace_py.engine.events import Monitor, Reply
from systrace_py.engine.tracee import Process, Task
from systrace_py.engine.tracer import Tracer
from systrace_py.injector import Injector
from systrace_py.logrecords import Event, Result, ResultName
from systrace_py.names import NAMED_CALLS, DnsObserver
from systrace_py.policy import aliases
from systrace_py.policy.environment import CWD, HOME, PATH, chooses_code, moved
from systrace_py.policy.learn import MAIN, Observation, normalize_flags
from systrace_py.policy.model import Absent, PathArg, Reason, Rule
from systrace_py.report import say
from systrace_py.supervisor import (
    UNNAMED_CWD,
    exec_reads_from,
    nameless,
    python_working_directory,
)
from systrace_py.syscalls import PATHS, Treat, treated

#: At most this many names of one directory are kept for the listing rule; a bigger
#: directory is never generalized from a listing (and its names do not bloat the log).
MAX_LISTING = 4096

#: calls that make the name in each of their path arguments (a link or rename makes only its
#: "new" one, see _NEW_NAME)
_CREATING = frozenset(name for name, paths in PATHS.items() if any(p.creates for _, p in paths)) \
    - aliases.TWO_PATH_CALLS
_EXCLUSIVE = frozenset({"mkdir", "mkdirat"})
#: the argument register of a directory's mode: mkdtemp(3) and every tempfile library make
#: their directories 0700
_MKDIR_MODE = {"mkdir": 1, "mkdirat": 2}
_NEW_NAME = aliases.TWO_PATH_CALLS
_LISTING = frozenset({"getdents64", "getdents"})
#: Calls with arguments worth decoding (paths, descriptors standing for files, addresses,
#: exec argv); every other call is recorded by name alone, without reading its arguments.
_ARGUMENT_CALLS = treated(Treat.PATH) | treated(Treat.FILE) | treated(Treat.ADDRESS) \
    | treated(Treat.ARGV)
_RUN = Reply.run()
_RUN_EXIT = Reply.run(want_exit=True)
#: How long a process that has other threads is held at its exit_group -- or at an exec,
#: which ends them too (rustup's proxy execs cargo) -- before the call runs: learning stops
#: at every call of every thread, enforcement only at the calls its prefilter traces, so a
#: thread started just before its process ends got through fewer of its calls while
#: learning than it does under the learned policy -- rustc's and rustup's threads'
#: prctl(PR_SET_NAME), made by the next run, was refused (issue 11).  Held, the other
#: threads run on as they would if this one were slower (a schedule the kernel may choose
#: anyway): what they do then is what they do, and is learned as seen.
EXIT_GRACE = 0.05
_RUN_LATE = dataclasses.replace(_RUN, delay=EXIT_GRACE)
_RUN_EXIT_LATE = dataclasses.replace(_RUN_EXIT, delay=EXIT_GRACE)
#: Aliases whose rules look at arguments: a call in none of them (fstat on a descriptor,
#: fchdir...) is recorded by name, whatever its arguments were.
_DECIDED_BY_ARGUMENTS = frozenset({"fsread", "fswrite", "exec", "net-connect", "net-bind"})


class Learner(Monitor):
    """Implements :class:`systrace_py.engine.events.Monitor` for learning mode."""

    def __init__(self, audit: AuditLog | None = None, stderr: IO[str] | None = None,
                 verbose: bool = False, injector: Injector | None = None) -> None:
        self.audit = audit
        #: --inject's rules: a call whose result is injected did not run, and is not learned
        self.injector = injector if injector is not None and injector.active(()) else None
        self.stderr = stderr or sys.stderr
        self.verbose = verbose
        self.tracer: Tracer | None = None
        self._observations: dict[Observation, None] = {}
        #: (table, call, a signal inside the tree) of the plain calls recorded
        self._plain: set[tuple[str, str, bool]] = set()
        self._listed: set[tuple[str, str]] = set()
        #: the mounts of the tracer's view when the run started (_listed)
        self._mounts = _mount_ids()
        self.calls_seen = 0
        self.processes = 0
        #: every process and thread id of the run (learn.LearnOptions.pids: a name with
        #: one in it has a pid the program wrote, another next run)
        self.pids: set[int] = set()
        self.programs: dict[str, None] = {}
        self.unsafe: dict[str, int] = {}
        self.engine_refusals = 0
        self.main_program: str | None = None
        self._initial_pid: int | None = None
        #: execs whose result is not known yet, by the process making them
        self._execs: dict[int, tuple[Observation, Task, DecodedCall]] = {}
        self.dns: DnsObserver | None = None  # (made at attach)
        #: every resolved name a call of the run made (Observation.created): a use of an
        #: older file at one of them, or below, is told apart (Observation.older)
        self._named: set[str] = set()

    def attach(self, tracer: Tracer) -> None:
        """Also starts observing DNS: the names the programs resolve become ``host`` rules
        (names from DNS answers only: /etc/hosts is not read, so loopback and local names
        stay address rules)."""
        self.tracer = tracer
        if self.dns is None:
            self.dns = DnsObserver(lambda _key, _name, _client, _tcp: None, hosts="")
        tracer.decoder.names = self.dns.names.label

    def close(self) -> None:
        """End the resolver."""
        if self.dns is not None:
            self.dns.close()

    def observations(self) -> list[Observation]:
        """What was seen, in the order it was first seen (an exec whose result never came
        -- the run ended first -- is taken as run)."""
        for pending in list(self._execs.values()):
            if pending[0] not in self._observations:
                self._observations[pending[0]] = None
        return list(self._observations)

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def who(process: Process, tid: int | None = None) -> dict[str, Any]:
        return {"pid": process.pid, "tid": tid if tid is not None else process.pid,
                "ppid": process.ppid, "program": process.program}

    def _record(self, obs: Observation, task: Task, call: DecodedCall,
                result: ResultName = Result.PERMITTED) -> None:
        self._observations[obs] = None
        if self.audit is None:
            return
        record: dict[str, Any] = {
            "event": Event.SYSCALL, **self.who(task.process, task.tid), "syscall": obs.syscall,
            "args": call.describe(), "action": "permit" if result == Result.PERMITTED else "never",
            "result": result, "rule": None, "table": obs.table,
            "reason": Reason.LEARNING if result == Result.PERMITTED else Reason.UNSAFE,
            "learned": True,
            "observation": obs.to_json(),
        }
        if result != Result.PERMITTED:
            record["errno"] = "EPERM"
        self.audit.write(record)

    # --- Monitor ------------------------------------------------------------------------------
    def on_start(self, process: Process) -> None:
        process.state = MAIN
        self.processes += 1
        self.pids.add(process.pid)
        self._initial_pid = process.pid

    def on_syscall(self, task: Task, call: DecodedCall) -> Reply:
        self.calls_seen += 1
        if self.injector is not None:
            picked = self.injector.pick(None, call, task.process.pid)
            if picked is not None:
                return self._inject(task, call, *picked)
        return self._observe(task, call)

    def _inject(self, task: Task, call: DecodedCall, rule: Rule, table: str) -> Reply:
        """A call --inject picked: a replaced result means the call did not run, so nothing
        is learned of it; a delayed or signalled call ran, and is learned as usual."""
        injection = rule.inject
        assert injection is not None
        process = task.process
        assert self.injector is not None
        self.injector.injected += 1
        if self.audit is not None:
            self.audit.injection(self.who(process, task.tid), call.policy_name,
                                 call.describe(), rule, table, Result.INJECTED)
        if self.verbose:
            say(f"injected {injection.summary()} into {call.policy_name} for pid "
                f"{process.pid} ({process.program})"
                + (": not learned" if injection.replaces else ""), self.stderr)
        if injection.replaces:
            return Injector.replacing(injection)
        return Injector.tampering(injection, self._observe(task, call))

    def _observe(self, task: Task, call: DecodedCall) -> Reply:
        """Record the call (once per table) and let it run (unsafe calls aside)."""
        table: str = task.process.state
        name = call.name
        if name in ("fcntl", "ioctl"):
            self._owner(task, call, table)
        if name in _ARGUMENT_CALLS:
            name = call.policy_name  # a DecodeError here is the engine's refusal (EFAULT...)
            # (by its classes with this selector: an ioctl that changes no file is plain)
            if aliases.call_classes(name, call.selector) & _DECIDED_BY_ARGUMENTS:
                obs = self._observation(task, call, table, name)
                if name in aliases.UNSAFE_CALLS:
                    return self._unsafe(task, call, obs)
                if name in aliases.EXEC_CALLS:
                    # recorded once its result is known: a failed exec is no exec to learn
                    self._execs[task.process.pid] = (obs, task, call)
                    # (an exec ends the other threads as exit_group does: EXIT_GRACE)
                    return _RUN_EXIT_LATE if len(task.process.tids) > 1 else _RUN_EXIT
                if obs not in self._observations:
                    self._record(obs, task, call)
                self._note_made(call, obs)
                if self.dns is not None and name in NAMED_CALLS:
                    lookup = self.dns.redirect(MAIN, call)
                    if lookup is not None:  # a DNS query: to systrace's resolver
                        return Reply(sockaddr=lookup)
                return _RUN
        elif name in _LISTING:
            return self._listing(task, call, table, name)
        if name == "exit_group" and len(task.process.tids) > 1:
            if (table, name, False) not in self._plain:
                self._plain.add((table, name, False))
                self._record(Observation(table, name), task, call)
            return _RUN_LATE  # (the other threads' last calls: see EXIT_GRACE)
        # a signal inside the tree: what every learned table permits (learn.TREE_SIGNALS)
        tree = name in aliases.SIGNAL_CALLS and call.in_tree()
        key = (table, name, tree)
        if key in self._plain:
            return _RUN
        if name in aliases.UNSAFE_CALLS:
            return self._unsafe(task, call, Observation(table, name))
        self._plain.add(key)
        self._record(Observation(table, name, tree=tree), task, call)
        return _RUN

    def _owner(self, task: Task, call: DecodedCall, table: str) -> None:
        """A descriptor owner set outside the tree: the kill the next run decides it as
        (DecodedCall.owner_as_signal), learned as that call -- the tree-scoped permit every
        learned table has covers the others.  (Its owner is read at the stop by the guard:
        a DecodeError is the engine's refusal, recorded as such.)"""
        try:
            as_signal = call.owner_as_signal()
        except DecodeError:
            return
        if as_signal is None or as_signal.tree:
            return
        key = (table, as_signal.syscall, False)
        if key not in self._plain:
            self._plain.add(key)
            self._record(Observation(table, as_signal.syscall), task, call)

    def _unsafe(self, task: Task, call: DecodedCall, obs: Observation) -> Reply:
        self.unsafe[obs.syscall] = self.unsafe.get(obs.syscall, 0) + 1
        if obs not in self._observations:
            self._record(obs, task, call, Result.REFUSED)
        if self.verbose:
            say(f"refused {obs.syscall} for pid {task.pid} ({task.process.program}):"
                " not learned (unsafe call, see docs/learning.md)", self.stderr)
        return Reply.refuse(errno_module.EPERM)

    def _observation(self, task: Task, call: DecodedCall, table: str, name: str) -> Observation:
        flags = call.open_flags
        paths = call.paths
        created: list[str] = []
        exclusive = mkstemp = False
        if name in _CREATING:
            # (a name that is there already is made by nobody: mkdir -p of /tmp, EEXIST;
            # asked with lstat where the resolver took a last name as it was -- its
            # "exists" is then no answer, and every mkdir was learned as making nothing)
            created = [p.role for p in paths if call.absent(p.role) == Absent.LAST]
            exclusive = name in _EXCLUSIVE
            mkstemp = name in _MKDIR_MODE and call.args[_MKDIR_MODE[name]] & 0o7777 == 0o700
        elif name in _NEW_NAME:
            created = ["new"]
        elif flags is not None and flags & os.O_CREAT and paths and name in (
                aliases.OPEN_CALLS):
            exclusive = bool(flags & os.O_EXCL)
            mkstemp = exclusive and flags & os.O_ACCMODE == os.O_RDWR and \
                call.open_mode == 0o600
            if exclusive or call.absent(paths[0].role) == Absent.LAST:
                created = ["path"]
        is_exec = name in aliases.EXEC_CALLS
        initial = is_exec and task.pid == self._initial_pid and self.main_program is None
        moved = tuple(p.role for p in paths if call.directory(p.role)) if (
            name in aliases.MOVE_CALLS) else ()
        older = self._older(call, created, moved) if self._named or moved else ()
        # (the roles that named nothing, of names the run has not made: a use that met no
        # older file -- learn._Context.older_first; a name the run made is told so by the
        # order of the calls)
        absent = tuple(p.role for p in paths if p.role not in created
                       and not p.resolved.pseudo and p.resolved.path not in self._named
                       and call.absent(p.role) is not None)
        # (a directory of the run's own moved: the older files linked or moved below it,
        # compared on the next run by their own names, model.Table._linked_decision)
        inside = tuple((role, tail, call.shown(own), tree) for role in moved
                       if aliases.renames(name, role, call.selector) and call.fresh(role)
                       for tail, own, tree in call.older_below(role))
        return Observation(
            table, name, tuple(PathArg(p.role, call.shown(p.resolved.path)) for p in paths),
            normalize_flags(flags), tuple(call.sockaddrs),
            call.argv if is_exec else None,
            tuple(created), exclusive, None, initial, call.selector,
            environment=self._chosen_variables(call, initial) if is_exec else (),
            mkstemp=mkstemp,
            directories=moved, older=older, older_inside=inside, absent=absent)

    def _older(self, call: DecodedCall, created: list[str], moved: tuple[str, ...]
               ) -> tuple[str, ...]:
        """The roles whose path is a directory the call moves, or is at or below a name a
        call of the run made, and holds a file the run did not make (Observation.older):
        what a ``fresh`` rule would not cover on the next run (``DecodedCall.fresh``, asked
        as enforcement asks it)."""
        out: list[str] = []
        # (a move's new name is made, but it replaces the file there if there is one: an
        # older file, the next run's rename over it is no fresh rule's -- rustc renames its
        # session's dep-graph.part.bin over the dep-graph.bin linked in from the last one)
        replacing = "new" if call.policy_name in aliases.MOVE_CALLS else None
        for p in call.paths:
            if (p.role in created and p.role != replacing) or p.resolved.pseudo:
                continue
            path = p.resolved.path
            while p.role not in moved and path and path not in self._named:
                path = path.rpartition("/")[0]
            if path and not call.fresh(p.role):
                out.append(p.role)
        return tuple(out)

    def _note_made(self, call: DecodedCall, obs: Observation) -> None:
        """The call runs: the names it makes noted -- the decoder's (what ``fresh`` asks, as
        under enforcement: a name renamed away or removed is forgotten, an older file
        renamed onto one is none of the run's) and :attr:`_named`."""
        if obs.created:
            self._named.update(p.resolved.path for p in call.paths
                               if p.role in obs.created and not p.resolved.pseudo)
        with contextlib.suppress(DecodeError):
            call.note_made()

    def _chosen_variables(self, call: DecodedCall, initial: bool = False) -> tuple[str, ...]:
        """An exec's loader and interpreter variables the run did not start with -- and its
        HOME and PATH where they decide what the exec runs (a Python's user site, the command
        of "#!/usr/bin/env NAME": supervisor.exec_reads_from) and are not the start's: what
        the table it enters must grant (Supervisor._entering_table), learned as seen.  (pyenv's
        shims exec their scripts with a PATH of their own: without it the learned policy
        refused them on its next run.)  And ``CWD=DIR``, the working directory of a Python
        that imports first from it where a traced program may write
        (supervisor.python_working_directory): a build's ``python3 -m pip``, ``python3 -c
        ...`` -- not the command's own first exec (``initial``), which is not checked."""
        started = self.tracer.start_environment if self.tracer is not None else None
        envp = call.envp or ()
        chosen = {entry for entry in envp if chooses_code(entry)
                  and (started is None or entry not in started)}
        moved_now = [entry for name in (HOME, PATH)
                     if (entry := moved(name, envp, started)) is not None and "=" in entry]
        image = None
        if moved_now or not initial:
            image = call.exec_image(elf=False)
        if moved_now:
            reads = exec_reads_from(image, call) if image is not None else frozenset()
            chosen.update(entry for entry in moved_now if entry.partition("=")[0] in reads)
        if image is not None and not initial:
            where = python_working_directory(image, call)
            if where is not None and where != UNNAMED_CWD:
                chosen.add(f"{CWD}={where}")
        return tuple(sorted(chosen))

    def _listing(self, task: Task, call: DecodedCall, table: str, name: str) -> Reply:
        """getdents: remember which directory was listed and what was in it."""
        fd = call.args[0] & 0xFFFFFFFF if call.args else -1
        directory, entries = _listed(task.tid, fd, self._mounts)
        if not directory.startswith("/"):
            if (table, name, False) not in self._plain:
                self._plain.add((table, name, False))
                self._record(Observation(table, name), task, call)
            return _RUN
        if (table, directory) in self._listed:
            return _RUN
        self._listed.add((table, directory))
        listing = tuple(entries) if entries is not None and len(entries) <= MAX_LISTING \
            else None
        obs = Observation(table, name, (PathArg("path", directory),), listing=listing)
        self._record(obs, task, call)
        return _RUN

    def on_syscall_exit(self, task: Task, call: DecodedCall, result: int) -> None:
        """An exec's result: a failure is recorded as one (a success was recorded at the
        exec event already)."""
        pending = self._execs.get(task.process.pid)
        if pending is None or pending[2] is not call:
            return
        del self._execs[task.process.pid]
        obs = pending[0]
        if result < 0:
            obs = dataclasses.replace(obs, failed=-result)
        if obs not in self._observations:
            self._record(obs, task, call)

    def _exec_ran(self, process: Process) -> None:
        """The exec of a process went through: it is learned as an exec."""
        pending = self._execs.pop(process.pid, None)
        if pending is not None and pending[0] not in self._observations:
            self._record(*pending)

    def on_new_process(self, parent: Process, child: Process, how: str) -> None:
        child.state = parent.state
        self.processes += 1
        self.pids.add(child.pid)
        if self.audit is not None:
            self.audit.process(how, self.who(child), parent=parent.pid, table=parent.state)

    def on_new_thread(self, parent: Task, child: Task) -> None:
        self.pids.add(child.tid)

    def on_exec(self, process: Process, old_program: str, argv: tuple[str, ...] | None) -> None:
        """The command's first exec names the main program; any later exec of another
        program switches the process to that program's own table (as enforcement will) --
        but a program with no name of its own (a memfd, a removed file: supervisor.nameless)
        takes no table, enforced or learned: the process keeps its caller's table, so what it
        does is learned there, never into a table keyed ``NAME (deleted)`` that no run enters
        (learn42)."""
        self._exec_ran(process)
        if process.pid == self._initial_pid and self.main_program is None:
            self.main_program = process.program
        elif process.program != self.main_program and not nameless(process):
            process.state = process.program
        self.programs[process.program] = None
        if self.audit is not None:
            self.audit.process("exec", self.who(process), argv=list(argv) if argv else None,
                               previous=old_program, table=process.state)

    def on_exit(self, process: Process, status: int) -> None:
        if self.injector is not None:
            self.injector.forget(process.pid)
        self._execs.pop(process.pid, None)  # killed before its exec's result: not learned
        if self.audit is not None:
            self.audit.exit(self.who(process), status)

    def on_engine_refusal(self, task: Task, call: DecodedCall, err: int, why: str,
                          kernel: bool = False) -> None:
        name = errno_module.errorcode.get(err, str(err))
        if self.audit is not None:
            self.audit.engine(self.who(task.process, task.tid), call.policy_name,
                              call.describe(), name, why, call.logged(), kernel=kernel)
        if kernel:
            return  # failing as natively: nothing was refused
        self.engine_refusals += 1
        if self.verbose:
            say(f"refused {call.policy_name} for pid {task.pid}: {why} -> {name}", self.stderr)



def _mount_ids() -> frozenset[int]:
    """The mounts of the tracer's view, read when the run starts: their never-reused ids
    (ptrace_ops.unique_mount_ids) where the kernel gives them -- mountinfo's ids are reused
    as soon as a mount goes, anyone's on the machine, and a program's tmpfs over the user's
    directory took such an id in a CI run (_listed) -- else, on kernels before 6.8, mountinfo's
    (_mountinfo_ids), ``_LEGACY`` added."""
    unique = pt.unique_mount_ids()
    if unique is not None:
        return unique
    return frozenset({_LEGACY, *_mountinfo_ids()})


def _mountinfo_ids() -> frozenset[int]:
    """Mountinfo's first fields, read as bytes, its lines cut at a newline alone: the kernel
    does not escape a ``\r`` in a mount point, which text mode's universal newlines took for a
    line's end -- a mount at ``a\rN ...`` forged the id N (red team 75)."""
    try:
        with open("/proc/self/mountinfo", "rb") as info:
            return frozenset(int(line.split(None, 1)[0]) for line in info if line.strip())
    except (OSError, ValueError):
        return frozenset()


#: in a set of _mount_ids: its ids are mountinfo's (no listmount), not the unique ones
_LEGACY = -1


def _listed(tid: int, fd: int, mounts: frozenset[int]) -> tuple[str, list[str] | None]:
    """The directory a task lists -- its name in the tracer's view, and its names ("/"
    appended to directories) -- read through one descriptor of the tracer's, so the name and
    the names are of the same directory whatever the task does meanwhile.  The names are
    None (nothing to generalize from) for a directory on a mount made since the run started:
    a tmpfs the program mounted over the user's directory, in its own mount namespace (every
    mount there is a copy) or in the tracer's, holds what the program chose, not what the
    rules' name holds (red team 28, ``learn_view.c``)."""
    try:
        mine = os.open(f"/proc/{tid}/fd/{fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # (not a directory the tracer may open: named, nothing listed)
        try:
            return os.readlink(f"/proc/{tid}/fd/{fd}"), None
        except OSError:
            return "", None
    try:
        directory = os.readlink(f"/proc/self/fd/{mine}")
    except OSError:
        os.close(mine)
        return "", None
    try:
        if _LEGACY in mounts:
            with open(f"/proc/self/fdinfo/{mine}", encoding="ascii", errors="replace") as info:
                mount = next((int(line.split()[1]) for line in info
                              if line.startswith("mnt_id:")), _LEGACY)
        else:
            mount = pt.unique_mount_id(mine) or _LEGACY
        if mount == _LEGACY or mount not in mounts:
            return directory, None
        entries: list[str] = []
        with os.scandir(mine) as it:
            for count, entry in enumerate(it):
                if count > MAX_LISTING:
                    break
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                entries.append(entry.name + ("/" if is_dir else ""))
        return directory, entries
    except (OSError, ValueError):
        return directory, None
    finally:
        os.close(mine)
