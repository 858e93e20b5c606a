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
    its start, and for a resident tracer's worker, the client's (systrace_py.resident).

    An entry that exists names the directory when it is the same directory (device and
    inode: one ``stat`` -- ``os.path.realpath`` walked every component of every entry in
    Python, ~0.6 ms of each start, issue 16), which also takes out another name of it (a
    bind mount).  An entry that is not there is compared by its real path, as the kernel
    would resolve it if it were made (``/missing/../cwd``)."""
    try:
        st = os.stat(directory)
        here: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except (OSError, ValueError):
        here = None  # (a removed working directory: "" names nothing)
    kept = []
    for entry in sys.path:
        if not os.path.isabs(entry):
            continue
        try:
            st = os.stat(entry)
        except (OSError, ValueError):
            if os.path.realpath(entry) != directory:
                kept.append(entry)
            continue
        if (st.st_dev, st.st_ino) != here:
            kept.append(entry)
    sys.path[:] = kept
