"""The one reporter: how systrace says something to a person.

Every line it writes is ``systrace: ...``, one line, flushed at once (a person reading a
traced program's output must see it in order); a stream that cannot take it (closed, a
reader gone) drops it rather than failing the run.  The CLI, the supervisor, the learner,
the prompt and the approver front end all say things through :func:`say`; the engine says
nothing itself (it tells its monitor), except for :func:`say`'s one use by the tracer for a
program killed for executing a file other than the checked one.
"""

from __future__ import annotations

import contextlib
import sys
from typing import IO

from systrace_py.terminal import printable


def say(message: str, stream: IO[str] | None = None) -> None:
    """One line on ``stream`` (default: stderr); dropped when it cannot take it.  What a
    traced program chose (names, arguments) is made printable: its escape sequences must not
    reach the terminal (docs/security.md)."""
    with contextlib.suppress(OSError, ValueError):
        out = stream or sys.stderr
        out.write(f"systrace: {printable(message)}\n")
        out.flush()


__all__ = ["say"]
