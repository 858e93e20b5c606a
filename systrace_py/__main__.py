"""``python -m systrace_py`` runs the systrace command."""

import sys

from systrace_py.cli import main

sys.exit(main())
