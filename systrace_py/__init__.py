"""systrace-py: OpenBSD's systrace for Linux, built on ptrace and a seccomp-bpf prefilter.

The library API (see docs/api.md) is exported here and imported on first use, so importing
the package (as the command and the policy tools do) does not load the engine.
"""

from __future__ import annotations

#: (not typing's: importing typing costs the resident client's start ~3 ms; mypy reads it)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"


def tag_values(holder: type) -> tuple[Any, ...]:
    """The values of a tag class's upper-case names, in the order written: the one way the
    modules' tag classes (plain str or int constants where enums cost start-up: issue 16)
    list their members -- KINDS, REASONS, RESULTS...  (Here: the package is imported
    already wherever a tag class is, so this costs no import.)"""
    return tuple(v for k, v in vars(holder).items() if k.isupper())


_API = ("monitor", "HandlerMonitor", "handler_name", "syscall_name")
_RECORDS = (
    "AcceptCall", "AddressCall", "BindCall", "ChildEvent", "ChmodCall", "ChownCall",
    "CloneCall", "ConnectCall", "ControlError", "ExecCall", "ExecEvent", "ExitEvent",
    "KillCall", "ListenCall", "MkdirCall", "OpenCall", "ReadCall", "RenameCall", "SockAddr",
    "SocketCall", "StatCall", "StatInfo", "Syscall", "UnlinkCall", "WriteCall",
)
__all__ = ["__version__", *_API, *_RECORDS]


def __getattr__(name: str) -> Any:
    # (importlib only for a name of the API: ``from systrace_py import procfs`` asks here
    # first, and importlib imports warnings -- ~0.6 ms of the resident client's start)
    if name in _API:
        import importlib

        return getattr(importlib.import_module("systrace_py.api"), name)
    if name in _RECORDS:
        import importlib

        return getattr(importlib.import_module("systrace_py.records"), name)
    raise AttributeError(f"module 'systrace_py' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
