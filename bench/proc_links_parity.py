#!/usr/bin/env python3
"""/proc link parity: tools that read other processes' /proc links, natively and traced.

The small checks of docs/security.md "Parity with native: CPython's regression tests again
(parity82)": red team 77 and review 53 made the engine follow another process's magic links
(``/proc/PID/cwd``, ``root``, ``exe``, ``fd/N``) only as ``ptrace_may_access`` allows, and
look access(2)'s paths up as the real ids -- changes that risk refusing what ordinary programs
do.  Each check (procps, lsof, pwdx, a child's and a parent's links, os.access real against
effective) runs as root, as nobody, as a set-user-ID-like process (real nobody, effective
root) and as a root that dropped only its effective uid; natively, then under ``systrace -p
POLICY --`` on each stop loop, and the outputs are compared line by line after pids and the
output file's name are masked.  Counts of the machine's processes vary from run to run
(``ps -ef | wc -l``): they are printed, not compared.  Run as root::

    python bench/proc_links_parity.py --systrace .venv/bin/systrace

Exits 1 when any output differs.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

#: the LTP and CPython parity runs' policy: everything permitted but one directory
POLICY = """\
default = "permit"

[[rule]]
calls = ["fsread", "fswrite"]
path = "/srv/systrace-parity-deny/**"
action = "never"
errno = "EACCES"
"""

#: who runs the checks: a setpriv prefix each
WHO = {
    "root": [],
    "nobody": ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
    "setuid-like": ["setpriv", "--ruid=65534", "--rgid=65534", "--euid=0", "--egid=0",
                    "--clear-groups"],
    "root-real": ["setpriv", "--ruid=0", "--rgid=0", "--euid=65534", "--egid=65534",
                  "--clear-groups"],
    # (the two that differed, failing closed, until close 26 (gap #45): another root process
    # was taken for one that is not dumpable; the kernel now tells, PathResolver._may_follow)
    "root-without-CAP_SYS_PTRACE": ["setpriv", "--inh-caps=-sys_ptrace",
                                    "--bounding-set=-sys_ptrace"],
    "unshare-Ur": ["unshare", "-Ur"],
}

#: the stop loops: the native one, and Python's
LOOPS: tuple[tuple[str, dict[str, str]], ...] = (("native loop", {}),
                                               ("Python loop", {"SYSTRACE_NO_CLOOP": "1"}))

#: a shell script of the tool checks (its child sleeps in /etc; counts are prefixed "count")
TOOLS = r"""
(cd /etc && exec sleep 60) & s=$!
sleep 1
echo "ps -ef: $?"; ps -ef >/dev/null; echo "rc=$?"; echo "count $(ps -ef | wc -l)"
ps aux >/dev/null; echo "ps aux rc=$?"
ps -o user,comm -p 1
pgrep -f "sleep 60" >/dev/null; echo "pgrep rc=$?"
echo "pwdx:"; pwdx $$ $s 1 2>&1
echo "lsof -p child:"; lsof -p $s 2>&1 | awk '$4 != "mem" {print $4, $5, $9}' | sort
echo "count lsof -d cwd $(lsof -d cwd 2>/dev/null | wc -l)"
echo "ls -l links:"; for l in /proc/$$/cwd /proc/$s/cwd /proc/$s/exe /proc/1/cwd; do
    ls -l $l 2>&1 | sed 's/.* \/proc/\/proc/'; done
ls /proc/$s/fd 2>&1 | wc -l
cat /proc/$s/cwd/hostname >/dev/null 2>&1; echo "child's cwd followed: $?"
cat /proc/1/cwd/etc/hostname >/dev/null 2>&1; echo "pid 1's cwd followed: $?"
kill $s; wait
"""

#: a Python check of access(2) (real ids) against faccessat(AT_EACCESS) through links
ACCESS = r"""
import os, subprocess, sys
def acc(p, eff):
    try:
        return os.access(p, os.F_OK, effective_ids=eff)
    except OSError as e:
        return "E" + (e.strerror or "")
c = subprocess.Popen(["sleep", "60"], cwd="/etc")
pp = os.getppid()
print("ids", os.getresuid(), os.getresgid())
for p in ["/etc/shadow", "/root/.", "/proc/1/cwd", "/proc/1/cwd/.", "/proc/1/root/etc",
          "/proc/self/cwd", "/proc/self/fd/1", "/proc/%d/cwd/." % pp, "/proc/%d/cwd" % c.pid,
          "/proc/%d/root/etc" % c.pid]:
    print(p.replace(str(pp), "PARENT"), "real", acc(p, False), "effective", acc(p, True))
    try:
        print("  readlink", os.readlink(p) if os.path.islink(p) else "-")
    except OSError as e:
        print("  readlink E" + (e.strerror or ""))
c.kill(); c.wait()
"""


def masked(text: str, out: str) -> list[str]:
    """Output lines with pids, pipe inodes and the output file's name masked."""
    text = text.replace(out, "OUT")
    text = re.sub(r"/proc/\d+", "/proc/N", text)
    text = re.sub(r"^\d+:", "N:", text, flags=re.M)
    text = re.sub(r"(pipe|socket):\[\d+\]", r"\1:[N]", text)
    return text.splitlines()


def run(prefix: list[str], argv: list[str], env: dict[str, str]) -> str:
    """One run's output (stdout and stderr), through a file as the tools see it."""
    with tempfile.NamedTemporaryFile("w+", dir="/tmp", prefix="procparity.") as out:
        os.chmod(out.name, 0o666)
        subprocess.run(prefix + argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                       cwd="/tmp", timeout=300, check=False)
        out.seek(0)
        return "\n".join(masked(out.read(), out.name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systrace", default="systrace", help="the systrace command")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="a Python every user may run (not a root-only pyenv)")
    args = parser.parse_args()
    # (the runs start in /tmp, where every user may write)
    systrace = shutil.which(args.systrace) or args.systrace
    systrace = os.path.abspath(systrace) if os.sep in systrace else systrace
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as policy:
        policy.write(POLICY)
    os.chmod(policy.name, 0o644)
    checks = {"tools": ["sh", "-c", TOOLS], "access": [args.python, "-c", ACCESS]}
    differ = 0
    try:
        for who, as_who in WHO.items():
            for check, argv in checks.items():
                native = run([], as_who + argv, dict(os.environ))
                for loop, extra in LOOPS:
                    traced = run([systrace, "-p", policy.name, "--"], as_who + argv,
                                 {**os.environ, **extra})
                    lines = [line for line in difflib.unified_diff(
                        native.splitlines(), traced.splitlines(), "native", "traced",
                        lineterm="", n=0)
                        if line[:1] in "+-" and line[:3] not in ("---", "+++")
                        and not line[1:].startswith("count")]
                    print(f"{who} {check} {loop}: {'identical' if not lines else 'DIFFERENT'}")
                    for line in lines:
                        print(f"  {'native' if line[0] == '-' else 'traced'}: {line[1:]}")
                    differ += bool(lines)
    finally:
        os.unlink(policy.name)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
