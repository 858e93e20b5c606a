"""Build the optional native stop loop (systrace_py/_cloop.c) with the system compiler, as
python-ptrace builds its cptrace; without a compiler the install goes on without it, and the
pure-Python loop is used (engine/cloop.py)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("systrace_py._cloop", ["systrace_py/_cloop.c"], optional=True,
                             extra_compile_args=["-O2", "-Wall"])])
