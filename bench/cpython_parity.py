#!/usr/bin/env python3
"""CPython parity: compare two ``python3 -m test --junit-xml`` results, case by case.

The second yardstick of docs/security.md "Parity with native" (parity73): CPython's own
regression tests, run natively and under ``systrace -p POLICY --`` with the LTP runs' policy
(bench/ltp_parity.py's POLICY), then compared here: each test case's outcome (pass, failure,
error, skipped) and a skip's reason.  Run the two sides with SIGINT at its default (``env
--default-signal=INT``: a shell's ``cmd &`` ignores it, and test_signal's and test_threading's
KeyboardInterrupt tests then fail), e.g.::

    env --default-signal=INT python3 -m test -j2 --junit-xml nat.xml test_os test_posix
    env --default-signal=INT systrace -p policy.toml -- python3 -m test -j2 \\
        --junit-xml traced.xml test_os test_posix
    python bench/cpython_parity.py nat.xml traced.xml

Prints the case counts, the identical ones, and each difference; exits 1 when any differs.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

OUTCOMES = ("failure", "error", "skipped")


def outcomes(path: str) -> dict[str, tuple[str, str]]:
    """Each test case of a junit XML file: its outcome and message (a skip's reason)."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = f"{case.get('classname') or ''}.{case.get('name') or ''}"
        outcome = ("pass", "")
        for child in case:
            if child.tag in OUTCOMES:
                message = child.get("message") or child.text or ""
                outcome = (child.tag, " ".join(message.split())[:120])
        found[key] = outcome
    return found


def differs(native: tuple[str, str], traced: tuple[str, str]) -> bool:
    """Outcomes differ, or both skipped for different reasons."""
    return native[0] != traced[0] or (native[0] == "skipped" and native[1] != traced[1])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: cpython_parity.py NATIVE.xml TRACED.xml", file=sys.stderr)
        return 2
    native, traced = outcomes(argv[0]), outcomes(argv[1])
    missing = ("missing", "")
    different = [key for key in sorted(native.keys() | traced.keys())
                 if differs(native.get(key, missing), traced.get(key, missing))]
    print(f"cases: native {len(native)}, traced {len(traced)}; "
          f"identical {len(native.keys() | traced.keys()) - len(different)}, "
          f"different {len(different)}")
    for key in different:
        print(f"{key}\n  native: {' '.join(native.get(key, missing)).strip()}"
              f"\n  traced: {' '.join(traced.get(key, missing)).strip()}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
