"""Build the optional native parts with the system compiler, as python-ptrace builds its
cptrace; without a compiler the install goes on without them:

* the native stop loop (systrace_py/_cloop.c): else the pure-Python loop (engine/cloop.py);
* the ``systrace`` command's native client (scripts/systrace.c, issue 16): else ``systrace``
  is a copy of ``systrace-python``, the Python command, which the native one execs for every
  run it does not hand to the resident tracer."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Distribution, Extension, setup

# (setuptools' own build_scripts, whichever module holds it in this version)
build_scripts = Distribution().get_command_class("build_scripts")

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    with open(os.path.join(HERE, "systrace_py", "__init__.py")) as f:
        found = re.search(r'^__version__ = "([0-9A-Za-z.+-]+)"$', f.read(), re.M)
    assert found, "systrace_py/__init__.py has no __version__"
    return found.group(1)


def native_command(source: str, target: str) -> bool:
    """Compile the native ``systrace`` (source: scripts/systrace.c) to ``target`` for this
    interpreter (its version is part of the resident tracer's build id); False when it cannot
    be (no compiler: SYSTRACE_NO_NATIVE_COMMAND=1 pretends so)."""
    if os.environ.get("SYSTRACE_NO_NATIVE_COMMAND") == "1":
        return False
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    major, minor, micro = sys.version_info[:3]
    command = [compiler, "-O2", "-Wall", f"-DSYSTRACE_VERSION=\"{_version()}\"",
               f"-DPY_MAJOR={major}", f"-DPY_MINOR={minor}", f"-DPY_MICRO={micro}",
               "-o", target, source]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode != 0:
        sys.stderr.write(f"warning: the native systrace command was not built:\n{done.stderr}")
        return False
    try:  # (a compiler that says it succeeded and left no program is no compiler: review 31)
        with open(target, "rb") as built:
            if built.read(4) == b"\x7fELF":
                return True
    except OSError:
        pass
    sys.stderr.write(f"warning: the native systrace command was not built ({compiler} made "
                     f"no program)\n")
    return False


class BuildScripts(build_scripts):
    """pyproject's script-files (``systrace-python``, its ``#!python`` made the interpreter's
    path), then ``systrace`` beside it: native, or a copy of ``systrace-python``."""

    def run(self) -> None:
        super().run()
        target = os.path.join(self.build_dir, "systrace")
        if not native_command(os.path.join(HERE, "scripts", "systrace.c"), target):
            shutil.copy2(os.path.join(self.build_dir, "systrace-python"), target)
        os.chmod(target, 0o755)


setup(ext_modules=[Extension("systrace_py._cloop", ["systrace_py/_cloop.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"])],
      cmdclass={"build_scripts": BuildScripts})
