"""The ``systrace`` command's entry point (``python -m systrace_py`` and the console script).

It exists for start-up (issue 16): the command's modules are imported the quick way
(startup.py: collector off, dataclass methods from their cache, then frozen), which a
library import of systrace does not do -- the subcommand's too, which the command imports
once the arguments say which it is (``imported`` ends the quick imports there).
"""

import contextlib
import sys

from systrace_py.startup import quick_imports


def main() -> int:
    with contextlib.ExitStack() as imports:
        imports.enter_context(quick_imports())
        from systrace_py.cli import main as cli_main

        return cli_main(imported=imports.close)


if __name__ == "__main__":
    sys.exit(main())
