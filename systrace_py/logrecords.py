"""The log's records: their version, their events, and the typed facts of a logged call.

The ``--log`` file is a contract (docs/cli.md, "The log"): ``systrace policy learn`` and
``systrace policy check`` read it back, and so may anyone's tools.  Its shape lives here:

* every record carries ``"v"``: :data:`LOG_VERSION` (a reader can tell what it reads);
* ``"event"`` is one of :class:`Event`;
* a ``syscall`` or ``engine-refusal`` record carries ``"call"``: the decoded facts the
  decision was made on (:class:`LoggedCall`: resolved paths by role, open flags as a number,
  socket addresses as objects, exec argv), next to ``"args"``, which says the same for a
  person (``O_RDONLY|O_CLOEXEC``, ``10.0.0.1:80``).  Readers use ``"call"``: display text is
  never parsed back.  (Logs of version 1 had only ``"args"``: :func:`legacy_call` reads them,
  and is the only place that parses that text.)

Pure data, no I/O but what :func:`sockaddr_json` and the parsers do to their arguments.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NewType

from systrace_py import tag_values
from systrace_py.kernel import (
    O_ACCMODE,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_PATH,
    O_TMPFILE_BIT,
    O_TRUNC,
)
from systrace_py.policy.model import PathArg, SockAddr

#: 2: every record has "v"; syscall and engine-refusal records have "call".
LOG_VERSION = 2


#: what a log record is about: one of :class:`Event`'s values (a str: written as itself)
EventName = NewType("EventName", str)


class Event:
    """What a record is about; :data:`EVENTS` lists them.  Str tags in a class, not an enum:
    an Enum class costs 0.4-1.5 M instructions to make at import, at every run (issue 16)."""

    #: the run: argv, policy, mode, the tracer's pid
    START: Final = EventName("start")
    #: a decision on a call (a rule, the default, an answer)
    SYSCALL: Final = EventName("syscall")
    #: the engine refused a call on its own (a guard)
    ENGINE_REFUSAL: Final = EventName("engine-refusal")
    #: a DNS query the program sent, as systrace answered it
    RESOLVE: Final = EventName("resolve")
    FORK: Final = EventName("fork")
    VFORK: Final = EventName("vfork")
    CLONE: Final = EventName("clone")
    EXEC: Final = EventName("exec")
    EXIT: Final = EventName("exit")
    #: -A: what ~, $CWD and $TMPDIR were
    LEARN_CONTEXT: Final = EventName("learn-context")
    #: -A: the category roots of this system
    LEARN_FACTS: Final = EventName("learn-facts")
    #: -A: the counts
    LEARN_END: Final = EventName("learn-end")
    #: the run's last record: the digest of its lines
    END: Final = EventName("end")
    #: a run's word, at its end, on the log that is at its log's name and is not the one it
    #: wrote
    DISOWNED: Final = EventName("disowned")


#: every one, in the order written
EVENTS: tuple[EventName, ...] = tag_values(Event)


#: what became of a logged call: one of :class:`Result`'s values
ResultName = NewType("ResultName", str)


class Result:
    """What became of a logged call (a syscall record's ``"result"``); :data:`RESULTS` lists
    them (str tags, as :class:`Event`'s)."""

    PERMITTED: Final = ResultName("permitted")
    REFUSED: Final = ResultName("refused")
    #: a dry run: it would have been refused
    WOULD_REFUSE: Final = ResultName("would-refuse")
    #: refused, and the path does not exist: ENOENT, as the kernel
    MISSING: Final = ResultName("missing")
    #: its process was killed (an answer, a refused privilege drop)
    KILLED: Final = ResultName("killed")
    #: an answer let its process go
    DETACHED: Final = ResultName("detached")
    #: an engine-refusal with the kernel's own errno: as natively
    FAILED: Final = ResultName("failed")
    #: an inject rule tampered with it
    INJECTED: Final = ResultName("injected")
    #: a dry run: an inject rule would have
    WOULD_INJECT: Final = ResultName("would-inject")


#: every one, in the order written
RESULTS: tuple[ResultName, ...] = tag_values(Result)


class BadLine(ValueError):
    """A log line that is no JSON value (:func:`parse_line`)."""


def parse_line(raw: bytes | str) -> Any:
    """One line of a log as the JSON value it holds; :class:`BadLine` when it holds none --
    not JSON, not UTF-8, or nested deeper than the decoder goes (``[[[...``: json raises
    RecursionError, which no reader caught -- a line a traced program wrote into its log
    made ``policy learn`` and ``policy check`` end in a traceback, review 19).  The one
    parser of a log's lines: every reader (audit.run_segments, audit.begins_a_log,
    cli.policy.read_log) asks it."""
    import json  # (not on a run's start: issue 16)

    try:
        return json.loads(raw)
    except RecursionError:
        raise BadLine("nested too deeply") from None
    except ValueError as exc:  # (json.JSONDecodeError, UnicodeDecodeError)
        raise BadLine(str(exc)) from None


def sockaddr_json(addr: SockAddr) -> dict[str, Any]:
    """An address, with the host names the program looked up for it (``names``), and
    ``"many": true`` when it stands for several hosts (SockAddr.many: a refusing rule on any
    host matched it -- the record says why, and a log's call decided again is decided so,
    review 20)."""
    out: dict[str, Any] = {k: v for k, v in (("family", addr.family), ("host", addr.host),
                                             ("port", addr.port), ("path", addr.path))
                           if v is not None}
    if addr.names:
        out["names"] = list(addr.names)
    if addr.many:
        out["many"] = True
    return out


def sockaddr_from_json(data: Mapping[str, Any]) -> SockAddr:
    port = data.get("port")
    names = data.get("names")
    return SockAddr(str(data["family"]), data.get("host"),
                    int(port) if port is not None else None, data.get("path"),
                    tuple(str(n) for n in names) if isinstance(names, list) else (),
                    data.get("many") is True)


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """The facts of one call as decided on: what ``"call"`` holds."""

    paths: tuple[PathArg, ...] = ()
    open_flags: int | None = None
    sockaddrs: tuple[SockAddr, ...] = ()
    argv: tuple[str, ...] | None = None
    #: a signal call whose every target was a task of the traced tree (Facts.in_tree): a
    #: policy learned from the log covers it by the tree-scoped permit every learned table
    #: has, as ``-A`` does, not by a grant of its own (learn.observation_from_record)
    tree: bool = False
    #: how often the call was made again (DecodedCall.again): written as the record's own
    #: ``"again"``, not in ``"call"`` -- the same call as the one decided before, not another
    again: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.paths:
            out["paths"] = [[p.role, p.path] for p in self.paths]
        if self.open_flags is not None:
            out["open_flags"] = self.open_flags
        if self.sockaddrs:
            out["sockaddrs"] = [sockaddr_json(a) for a in self.sockaddrs]
        if self.argv is not None:
            out["argv"] = list(self.argv)
        if self.tree:
            out["tree"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoggedCall:
        """The inverse of :meth:`to_json`; ValueError/TypeError/KeyError on a bad record."""
        flags = data.get("open_flags")
        argv = data.get("argv")
        return cls(tuple(PathArg(str(role), str(path)) for role, path in data.get("paths", ())),
                   int(flags) if flags is not None else None,
                   tuple(sockaddr_from_json(a) for a in data.get("sockaddrs", ())),
                   tuple(str(a) for a in argv) if argv is not None else None,
                   bool(data.get("tree", False)))


def logged_call(record: Mapping[str, Any]) -> LoggedCall | None:
    """The facts of a syscall or engine-refusal record: its ``"call"``, or for a version 1
    log its ``"args"`` read back (:func:`legacy_call`); None when it has neither."""
    call = record.get("call")
    if isinstance(call, Mapping):
        return LoggedCall.from_json(call)
    if "v" in record:
        return None
    args = record.get("args")
    return legacy_call(args) if isinstance(args, Mapping) else None


# --- version 1 logs ------------------------------------------------------------------------------

_FLAG_BITS = {
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_ACCMODE": O_ACCMODE, "O_CREAT": O_CREAT,
    "O_EXCL": O_EXCL, "O_TRUNC": O_TRUNC, "O_DIRECTORY": O_DIRECTORY, "O_PATH": O_PATH,
    "O_TMPFILE": O_TMPFILE_BIT,
}
_INET6_TEXT = re.compile(r"\[(?P<host>[^\]]+)\]:(?P<port>\d+)")
_INET_TEXT = re.compile(r"(?P<host>\d+\.\d+\.\d+\.\d+):(?P<port>\d+)")


def legacy_call(args: Mapping[str, Any]) -> LoggedCall:
    """A version 1 record's ``"args"`` (display text) read back: the flags learning keeps, and
    ``SockAddr.__str__`` reversed.  Nothing written since version 2 needs it."""
    paths = tuple(PathArg(role, str(args[role])) for role in ("path", "old", "new")
                  if isinstance(args.get(role), str))
    flags = None
    if isinstance(args.get("flags"), str):
        flags = 0
        for name in args["flags"].split("|"):
            flags |= _FLAG_BITS.get(name.strip(), 0)
    address = args.get("address")
    addresses = [address] if isinstance(address, str) else (
        address if isinstance(address, list) else [])
    argv = args.get("argv")
    host = args.get("host")  # the names looked up for the address (docs/policy.md)
    names = tuple(sorted({str(h) for h in host})) if isinstance(host, list) else (
        (str(host),) if isinstance(host, str) else ())
    sockaddrs = tuple(_legacy_address(str(a)) for a in addresses)
    if names and len(sockaddrs) == 1 and sockaddrs[0].family in ("inet", "inet6"):
        sockaddrs = (dataclasses.replace(sockaddrs[0], names=names),)
    return LoggedCall(paths, flags, sockaddrs,
                      tuple(str(a) for a in argv) if isinstance(argv, list) else None)


def _legacy_address(text: str) -> SockAddr:
    if text.startswith("unix:"):
        rest = text[5:]
        return SockAddr("unix", path="" if rest == "(unnamed)" else rest)
    m = _INET6_TEXT.fullmatch(text)
    if m:
        return SockAddr("inet6", m["host"], int(m["port"]))
    m = _INET_TEXT.fullmatch(text)
    if m:
        return SockAddr("inet", m["host"], int(m["port"]))
    return SockAddr(text if text in ("netlink", "other") else "other")


__all__ = ["EVENTS", "LOG_VERSION", "RESULTS", "Event", "EventName", "LoggedCall", "Result",
           "ResultName", "legacy_call", "logged_call", "sockaddr_from_json", "sockaddr_json"]
