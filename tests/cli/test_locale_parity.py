"""The traced program's environment under a C or POSIX locale is the one it gets natively.

Python coerces a C locale (PEP 538): it sets ``LC_CTYPE=C.UTF-8`` in its own environment,
and the Python command's children inherited it -- so under ``env -i`` (or in a container
with no locale, or from cron) every traced program saw an ``LC_CTYPE`` it never had natively
(review 31 found it in the Python client's request; the in-process run had it too).
``__main__._uncoerced_locale`` puts LC_CTYPE back as the command was given it.  Real runs of
``env`` under each command the install has, against ``env`` run natively."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, systrace_env

BIN = Path(PYTHON).parent
COMMANDS = {"systrace": [str(BIN / "systrace")],
            "systrace-python": [str(BIN / "systrace-python")],
            "python -m": [PYTHON, "-m", "systrace_py"]}
LOCALES = {"none": {}, "LANG=C": {"LANG": "C"}, "LC_ALL=POSIX": {"LC_ALL": "POSIX"},
           "LC_CTYPE=C.UTF-8 given": {"LC_CTYPE": "C.UTF-8"},
           "LC_CTYPE=C given": {"LC_CTYPE": "C"}}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_c_locale_is_passed_on_as_given(command: str, locale: str, tmp_path: Path) -> None:
    if not Path(COMMANDS[command][0]).exists():
        pytest.skip(f"no {COMMANDS[command][0]} in this install")
    policy = tmp_path / "p.toml"
    policy.write_text('default = "permit"\n')
    base = {"PATH": "/usr/bin:/bin", **LOCALES[locale]}
    native = subprocess.run(["env"], env=base, capture_output=True, text=True, check=True)
    settings = {k: v for k, v in systrace_env().items()
                if k.startswith("SYSTRACE_") or k == "PYTHONPATH"}
    traced = subprocess.run([*COMMANDS[command], "-p", str(policy), "--", "env"],
                            env={**base, **settings}, capture_output=True, text=True,
                            timeout=120)
    assert traced.returncode == 0, traced.stderr
    seen = set(traced.stdout.splitlines()) - {f"{k}={v}" for k, v in settings.items()}
    assert seen == set(native.stdout.splitlines()), (traced.stdout, native.stdout)
