"""The scrub of sys.path (red team 3 of issue 11): the one home of what ``systrace``'s start
(``__main__``) and a resident tracer's worker (:mod:`systrace_py.resident`) take out of it.
A module of its own, importing nothing but ``os`` and ``sys``: ``__main__`` uses it before it
imports anything else, and the resident server imports ``__main__``'s callers -- a cycle if
it lived there."""

import os
import sys


def forget_directory(directory: str) -> None:
    """sys.path without relative entries and those that name ``directory`` (a real path, as
    os.getcwd() gives): the one home of the scrub, for this process's working directory at
    its start, and for a resident tracer's worker, the client's (systrace_py.resident)."""
    sys.path[:] = [entry for entry in sys.path
                   if os.path.isabs(entry) and os.path.realpath(entry) != directory]
