"""The ``systrace`` command's entry point (``python -m systrace_py`` and the console script).

It exists for start-up (issue 16): the command's modules are imported the quick way
(startup.py: collector off, dataclass methods from their cache, then frozen), which a
library import of systrace does not do.
"""

import sys

from systrace_py.startup import quick_imports


def main() -> int:
    with quick_imports():
        from systrace_py.cli import main as cli_main
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
