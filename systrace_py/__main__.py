"""The ``systrace`` command's entry point (``python -m systrace_py`` and the console script).

It exists for start-up (issue 16): the collector is off while the modules are imported, since
nothing they build is garbage and a collection pass over the young objects of ~100 imports
costs ~7 ms; then everything imported is frozen (gc.freeze: never scanned again, which also
takes the module objects out of the stop loop's collections) and the collector is back on.
"""

import gc
import sys


def main() -> int:
    gc.disable()
    try:
        from systrace_py.cli import main as cli_main
    finally:
        gc.freeze()
        gc.enable()
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
