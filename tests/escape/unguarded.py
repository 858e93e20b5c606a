"""``python unguarded.py CALL SYSTRACE-ARGS...``: systrace with the engine's guard of one call
lifted (its cases none: neither the filter nor a stop refuses it), as if the filter had missed a
door -- how a test shows that a check behind the guards stops a class alone, whatever the door
(close 23: a forked child's scratch area checked, not trusted, where red team 76's refusal of
process_madvise's MADV_DONTFORK is lifted).  The product has no such switch: this file is the
tests' own, run by path.

The scratch area is not sealed in these runs either (close 24: mseal, where the kernel has it,
refuses every advice that drops or unshares its pages, from every door -- the seal would answer
before the check behind it is reached).  CALL ``-`` lifts no guard: the seal alone."""

from __future__ import annotations

import sys

from systrace_py.cli import main
from systrace_py.engine import enforce, seccomp

_CALL = sys.argv[1]
if _CALL != "-":
    seccomp.GUARDS[_CALL] = seccomp.GUARDS[_CALL]._replace(cases=())
enforce.kernel_seals = lambda: False
sys.exit(main(sys.argv[2:]))
