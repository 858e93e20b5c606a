"""Red team 72: a differential fuzzer of path calls -- the kernel's object against the
engine's decision (issue 11).  Not part of the CI suite (bench/ is not collected).

    python bench/fuzz72/fuzz72.py [--seeds A:B] [--loops cloop,pyloop] [--keep DIR] [-v]

Each seed makes (random.Random(seed)):

* a tree under BASE (the same path for every run of a seed, rebuilt before each run):
  ``S/`` the secret directory (``secret``, ``sub/f``, ``tool`` -- a script printing the
  secret), ``pub/`` (``f``, ``tool``, ``d/``), ``w/``, and symlinks in ``pub``/``w`` --
  absolute, relative, chains, loops, through ``..``, to ``/proc/self/fd/10N``,
  ``/proc/thread-self/cwd``, ``/proc/self/root/...``, ``/proc/self/cwd`` -- and hard links;
* a script for ops72.c (openat/openat2 with RESOLVE_*, O_PATH then a reopen through
  /proc/self/fd, *at calls with dirfds and AT_EMPTY_PATH, execveat, link/rename/symlink,
  chdir/fchdir/chroot, a bind mount in a new mount namespace, name_to_handle_at...);
* the policy ``default = "permit"`` + ``never`` fsread/fswrite of S and S/** (errno ENOTUNIQ,
  so a refusal of the policy's is told from the kernel's errors).

It runs the script natively (the oracle: each line names the object reached, dev:ino, mapped
to the tree's names) and traced on each loop.  Findings:

  reached   a traced line reached an object of S (a stat, an open, a handle), read the
            secret's content, or an exec printed it
  wrote     S changed (names, inodes, contents) after a traced run
  parity    a traced line differs from the native one before any refusal by the policy
            (another errno, a call failing that works natively), not a refusal
  refused   the policy's errno where natively the line reached no object of S (printed for
            triage: a create/rename/symlink in S is refused rightly and shows here too)
  crash     no DONE line, a nonzero exit, a traceback on stderr, a hang
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python")
MAGIC = "S3CR3T-72-do-not-leak"
POLICY_ERRNO = 76  # ENOTUNIQ
LOOPS = {"cloop": "0", "pyloop": "1"}
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND = 0o100, 0o200, 0o1000, 0o2000
O_DIRECTORY, O_NOFOLLOW, O_PATH, O_TMPFILE = 0o200000, 0o400000, 0o10000000, 0o20200000
AT_SYMLINK_NOFOLLOW, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR = 0x100, 0x400, 0x1000, 0x200
# RESOLVE_NO_XDEV 1, NO_MAGICLINKS 2, NO_SYMLINKS 4, BENEATH 8, IN_ROOT 16
RESOLVE = [0, 1, 2, 4, 8, 16, 2 | 4, 8 | 4, 16 | 1]
RENAME_FLAGS = [0, 0, 1, 2]  # NOREPLACE, EXCHANGE


def build_tree(base: Path, links: list[tuple[str, str, str]], no_s: bool = False) -> dict[str, str]:
    """Make the tree; return dev:ino -> name for every entry (S's marked "S:...").  ``no_s``:
    the tree without S (the oracle's second run: a line whose result changes is S's)."""
    moved = base.with_name(base.name + "2")  # where "renbase" moves the tree
    for old in (base, moved):
        if old.exists():
            shutil.rmtree(old)
    base.mkdir(parents=True)
    for d in ("S", "S/sub", "pub", "pub/d", "w", "w/proc"):
        if not (no_s and d.startswith("S")):
            (base / d).mkdir()
    if not no_s:
        (base / "S/secret").write_text(MAGIC + "\n")
        (base / "S/sub/f").write_text(MAGIC + "-sub\n")
        (base / "S/tool").write_text(f"#!/bin/sh\necho {MAGIC}-tool\n")
        (base / "S/tool").chmod(0o755)
    (base / "pub/f").write_text("public\n")
    (base / "pub/tool").write_text("#!/bin/sh\necho pubtool\n")
    (base / "pub/tool").chmod(0o755)
    for kind, name, target in links:
        if kind == "sym":
            os.symlink(target, base / name)
        else:
            with contextlib.suppress(OSError):
                os.link(base / target, base / name)
    names: dict[str, str] = {}
    for root, dirs, files in os.walk(base):
        for entry in [root, *(os.path.join(root, x) for x in dirs + files)]:
            st = os.lstat(entry)
            rel = os.path.relpath(entry, base)
            key = f"{st.st_dev}:{st.st_ino}"
            tag = ("S:" if rel == "S" or rel.startswith("S/") else "") + rel
            if key not in names or tag.startswith("S:"):
                names[key] = tag
    return names


def s_state(base: Path) -> str:
    h = hashlib.sha256()
    s = base / "S"
    if not s.is_dir() or s.is_symlink():
        return "S-gone"
    for root, dirs, files in os.walk(s):
        for entry in sorted(dirs + files):
            p = os.path.join(root, entry)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, s)}:{st.st_ino}:{st.st_mode}\0".encode())
            if os.path.isfile(p) and not os.path.islink(p):
                h.update(Path(p).read_bytes())
    return h.hexdigest()


class Gen:
    def __init__(self, rng: random.Random, base: Path) -> None:
        self.r = rng
        self.base = str(base)
        self.links: list[tuple[str, str, str]] = []
        self.linknames: list[str] = []
        self.pending: list[list[str]] = []  # calls that follow the one op() made

    def target(self) -> str:
        r, b = self.r, self.base
        opts = [f"{b}/S", f"{b}/S/secret", f"{b}/pub/f", f"{b}/pub", f"{b}/S/sub", "../S/secret",
                "../pub/f", "../S", ".", "..", "../pub/../S/secret", "../S/sub/..",
                f"/proc/self/fd/10{r.randrange(4)}", f"/proc/self/fd/10{r.randrange(4)}/secret",
                "/proc/thread-self/cwd", "/proc/self/cwd/S", f"/proc/self/root{b}/S/secret",
                f"/proc/thread-self/root{b}/S", "/proc/self/cwd/pub/f", "../S/tool", "../pub/tool",
                "nowhere", f"{b}/pub/d/secret"]
        if self.linknames and r.random() < 0.3:
            ln = r.choice(self.linknames)
            return r.choice([f"{b}/{ln}", f"../{ln}", f"../{ln}/secret", f"{b}/{ln}/.."])
        return r.choice(opts)

    def tree(self) -> None:
        r = self.r
        for i in range(r.randrange(2, 7)):
            name = f"{r.choice(['pub', 'w'])}/l{i}"
            if r.random() < 0.15:
                self.links.append(("sym", name, name.split("/")[1]))  # a loop
            else:
                self.links.append(("sym", name, self.target()))
            self.linknames.append(name)
        if r.random() < 0.3:
            # (not S/secret: a hard link made outside the run is another path, security.md
            # "Rules name paths, not files"; the program's own links are generated below)
            self.links.append(("hard", "w/h0", r.choice(["pub/f", "pub/tool"])))

    def path(self) -> str:
        r, b = self.r, self.base
        pick = r.random()
        if pick < 0.35 and self.linknames:
            p = r.choice(self.linknames)
            p = r.choice([p, f"{b}/{p}", f"{p}/secret", f"{p}/sub/f", f"{p}/..", f"{p}/", f"{p}/f"])
        elif pick < 0.45:
            p = r.choice(["", ".", "..", "secret", "f", "sub/f", "tool"])
        elif pick < 0.55:  # names the script's own calls make (symlink, link, rename, mkdir)
            p = r.choice(["w/s9", "pub/s9", "s9", "w/k9", "pub/k9", "w/m9", "pub/m9", "w/n9",
                          "pub/d/n9", "w/s9/secret", "pub/s9/sub/f", "w/m9/secret", "s9/..",
                          "w/n9/../../S/secret", "pub/d/n9/.."])
        elif pick < 0.65:
            n = r.randrange(4)
            p = r.choice([f"/proc/self/fd/10{n}", f"/proc/self/fd/10{n}/secret",
                          f"/proc/thread-self/fd/10{n}/../S/secret",
                          "/proc/thread-self/cwd/S/secret", "/proc/self/cwd/pub/l0/secret",
                          "/proc/self/cwd/S/secret", "/proc/self/cwd/S",
                          "/proc/thread-self/cwd/../S",
                          f"/proc/self/root{b}/S/secret", "/proc/self/cwd"])
        else:
            p = r.choice(["S", "S/secret", "S/sub/f", "S/tool", "pub", "pub/f", "pub/d",
                          "pub/d/secret", "pub/tool", "w", "w/h0", "w/new", "pub/new", "S/new",
                          "pub/../S/secret", "S/../pub/f", "S/sub/../secret", "pub/d/sub/f"])
            if r.random() < 0.4:
                p = f"{b}/{p}"
            elif r.random() < 0.15:
                p = f"{b}2/{p}"  # after "renbase"
        return p

    def dirfd(self) -> str:
        return "-" if self.r.random() < 0.5 else str(self.r.randrange(4))

    def flags(self) -> int:
        r = self.r
        f = r.choice([O_RDONLY, O_RDONLY, O_WRONLY, O_RDWR, O_PATH, O_PATH, O_RDONLY | O_DIRECTORY,
                      O_WRONLY | O_CREAT, O_RDWR | O_CREAT | O_EXCL, O_WRONLY | O_TRUNC,
                      O_WRONLY | O_APPEND, O_TMPFILE | O_RDWR])
        if r.random() < 0.2:
            f |= O_NOFOLLOW
        return f

    def op(self) -> list[str]:
        r = self.r
        slot = str(r.randrange(4))
        kind = r.choices(
            ["open", "openat2", "reopen", "read", "write", "stat", "readlink", "chdir", "fchdir",
             "chroot", "nsbind", "symlink", "link", "rename", "unlink", "mkdir", "handle", "exec",
             "trunc", "close", "renbase"],
            [8, 6, 5, 6, 2, 5, 2, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 2])[0]
        d, p = self.dirfd(), self.path()
        if kind == "open":
            return [kind, d, p, str(self.flags()), slot]
        if kind == "openat2":
            return [kind, d, p, str(self.flags()), str(r.choice(RESOLVE)), slot]
        if kind == "reopen":
            mode = r.choice([O_RDONLY, O_RDWR, O_WRONLY, O_PATH])
            return [kind, str(r.randrange(4)), str(mode), slot]
        if kind in ("read", "write", "fchdir", "close"):
            return [kind, slot]
        if kind == "stat":
            return [kind, d, p, str(r.choice([0, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH,
                                              AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW]))]
        if kind == "readlink":
            return [kind, d, p]
        if kind == "chroot" and r.random() < 0.5:  # a jail with /proc: its magic links work
            self.pending.append(["chroot", r.choice(["w", f"{self.base}/w"])])
            return ["nsbind", "/proc", f"{self.base}/w/proc", r.choice(["", "u"])]
        if kind in ("chdir", "chroot", "trunc"):
            return [kind, p]
        if kind == "nsbind":
            return [kind, r.choice([f"{self.base}/S", f"{self.base}/S/sub", f"{self.base}/pub",
                                    f"{self.base}/pub/f", f"{self.base}/w", self.path()]),
                    r.choice([f"{self.base}/pub/d", "pub/f", "w", "w/h0", "pub/d"]),
                    r.choice(["", "u"])]
        if kind == "renbase":  # the tree's own directory moved (S's parent): names change
            b2 = self.base + "2"
            return ["rename", "-", self.base, "-", b2, "0"] if r.random() < 0.7 else \
                ["rename", "-", b2, "-", self.base, "0"]
        if kind == "symlink":
            return [kind, self.target(), d, r.choice(["w/s9", "pub/s9", "S/s9", "s9"])]
        if kind == "link":
            return [kind, d, p, "-", r.choice(["w/k9", "pub/k9", "S/k9"]),
                    str(r.choice([0, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH]))]
        if kind == "rename":
            return [kind, d, p, "-", r.choice(["w/m9", "pub/m9", "S/m9", "pub/d", "w", "w/s9",
                                               *self.linknames]),
                    str(r.choice(RENAME_FLAGS))]
        if kind == "unlink":
            return [kind, d, p, str(r.choice([0, AT_REMOVEDIR]))]
        if kind == "mkdir":
            return [kind, d, r.choice(["w/n9", "S/n9", "pub/d/n9", p])]
        if kind == "handle":
            return [kind, d, p, str(r.choice([0, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH])), slot]
        if kind == "exec":
            return [kind, d, r.choice([p, "tool", "S/tool", "pub/tool", "w/h0", ""]),
                    str(r.choice([0, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW]))]
        return [kind, slot]

    def script(self) -> list[list[str]]:
        r = self.r
        ops: list[list[str]] = []
        # descriptors first, most of the time: the dirfds and /proc/self/fd links use them
        for s in range(r.randrange(0, 4)):
            how = r.choice([O_PATH, O_RDONLY | O_DIRECTORY, O_PATH | O_DIRECTORY])
            ops.append(["open", "-", r.choice(["pub", "S", "w", "pub/d", ".", "S/sub", "pub/l0"]),
                        str(how), str(s)])
        for _ in range(r.randrange(4, 11)):
            if ops and r.random() < 0.2:  # a call again: after a change, a remembered answer
                ops.append(list(r.choice(ops)))
            else:
                ops.append(self.op())
                ops += self.pending
                self.pending = []
        return ops


@dataclass
class Result:
    lines: list[str]
    rc: int | None
    stderr: str
    state: str
    names: dict[str, str] = field(default_factory=dict)
    state0: str = ""


def name_line(line: str, names: dict[str, str]) -> str:
    out = []
    for word in line.split(" "):
        if ":" in word and word.replace(":", "").isdigit():
            word = names.get(word, "new")
        out.append(word)
    return " ".join(out)


def run(cmd: list[str], base: Path, links: list[tuple[str, str, str]], env: dict[str, str],
        timeout: float, no_s: bool = False) -> Result:
    names = build_tree(base, links, no_s)
    state0 = s_state(base)
    try:
        p = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True,
                           timeout=timeout, start_new_session=True)
        rc: int | None = p.returncode
        out, err = p.stdout, p.stderr
    except subprocess.TimeoutExpired as exc:
        rc = None
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = "HANG"
    lines = [name_line(x, names) for x in out.splitlines()]
    return Result(lines, rc, err, s_state(base), names, state0)


def first_difference(x: Result, y: Result, n: int) -> int:
    a = {int(v.split()[0]): v.split(" ", 1)[1] for v in x.lines if v[:1].isdigit()}
    b = {int(v.split()[0]): v.split(" ", 1)[1] for v in y.lines if v[:1].isdigit()}
    return next((i for i in range(n) if a.get(i) != b.get(i)), n)


def judge(seed: int, loop: str, script: list[list[str]], native: Result, traced: Result,
          nos: Result) -> list[str]:
    """``nos``: the native run without S; a line from which it differs from the native run
    depends on S, and the policy may refuse it (and every line after it may differ)."""
    state0 = traced.state0
    depends = first_difference(native, nos, len(script))
    found = []
    if traced.rc is None:
        found.append("crash: hang")
    elif traced.rc != 0 or "DONE" not in traced.lines:
        found.append(f"crash: rc={traced.rc} stderr={traced.stderr[-400:]!r}")
    if "Traceback" in traced.stderr or "nternal error" in traced.stderr:
        found.append(f"crash: {traced.stderr[-600:]!r}")
    if traced.state != state0:
        found.append("wrote: S changed")
    for line in traced.lines:
        if " OK " in line and (" S:" in line or MAGIC in line):
            i = int(line.split()[0])
            found.append(f"reached: line {i} {script[i]} -> {line}")
    nat = {int(x.split()[0]): x for x in native.lines if x[:1].isdigit()}
    tra = {int(x.split()[0]): x for x in traced.lines if x[:1].isdigit()}
    for i in range(len(script)):
        a, b = nat.get(i, "-"), tra.get(i, "-")
        if a == b:
            continue
        if i >= depends:
            break  # refused rightly (or reached: said above); later lines may differ
        if script[i][0] == "handle" and b.endswith(" ERR 1"):
            break  # name_to_handle_at: refused by aliases.UNSAFE_CALLS (EPERM), by rule
        if b.endswith(f" ERR {POLICY_ERRNO}"):
            found.append(f"refused: line {i} {script[i]} native {a!r}")
            break
        found.append(f"parity: line {i} {script[i]} native {a!r} traced {b!r}")
        break
    return found


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0:50")
    ap.add_argument("--loops", default="cloop,pyloop")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--keep", default="")
    ap.add_argument("--threads", type=float, default=0.0,
                    help="the share of seeds whose calls run in a thread of its own cwd")
    ap.add_argument("--show", action="store_true", help="print each seed's script and runs")
    ap.add_argument("--kinds", default="reached,wrote,parity,crash,refused")
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split(":"))
    ops = Path(tempfile.gettempdir()) / "ops72-thread"
    src = HERE / "ops72.c"
    if not ops.exists() or ops.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O1", "-pthread", "-o", str(ops), str(src)], check=True)
    work = Path(tempfile.mkdtemp(prefix="fz72-"))
    base = work / "t"
    pfile = work / "policy.toml"
    pfile.write_text('default = "permit"\n\n'
                     f'[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "{base}/S"\n'
                     'action = "never"\nerrno = "ENOTUNIQ"\n\n'
                     f'[[rule]]\ncalls = ["fsread", "fswrite"]\npath = "{base}/S/**"\n'
                     'action = "never"\nerrno = "ENOTUNIQ"\n')
    env = dict(os.environ, PYTHONPATH=str(REPO), SYSTRACE_NO_RESIDENT="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    kinds = set(args.kinds.split(","))
    counts = {loop: 0 for loop in args.loops.split(",")}
    reaching = 0  # native lines that reached an object of S (what the policy must refuse)
    total = 0
    def one_seed(seed: int) -> None:
        nonlocal total, reaching
        g = Gen(random.Random(seed), base)
        g.tree()
        script = g.script()
        sfile = work / "script"
        sfile.write_text("".join("\t".join(x) + "\n" for x in script))
        mode = ["thread"] if g.r.random() < args.threads else []  # (after the script: seeds keep)
        native = run([str(ops), str(sfile), *mode], base, g.links, env, args.timeout)
        nos = run([str(ops), str(sfile), *mode], base, g.links, env, args.timeout, no_s=True)
        reaching += sum(1 for x in native.lines if " OK " in x and (" S:" in x or MAGIC in x))
        if args.show:
            print(f"== seed {seed} {mode}")
            for i, x in enumerate(script):
                print(f"   {i} {x}")
            print("   native:", native.lines)
            print("   no S:  ", nos.lines)
        for loop in counts:
            tenv = dict(env, SYSTRACE_NO_CLOOP=LOOPS[loop])
            cmd = [PYTHON, "-m", "systrace_py", "-p", str(pfile), "--", str(ops), str(sfile), *mode]
            traced = run(cmd, base, g.links, tenv, args.timeout)
            counts[loop] += 1
            if args.show:
                print(f"   {loop}:", traced.lines, traced.stderr[-300:])
            for f in judge(seed, loop, script, native, traced, nos):
                if f.split(":")[0] in kinds:
                    total += 1
                    print(f"seed {seed} {loop} {f}", flush=True)
    seed = a
    try:
        for seed in range(a, b):
            one_seed(seed)
    except KeyboardInterrupt:  # (SIGINT: the counts so far)
        print(f"interrupted at seed {seed}", flush=True)
        b = seed
    print(f"cases per loop: {counts}; native lines reaching S: {reaching}; findings: {total}; "
          f"seeds {a}:{b}", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
