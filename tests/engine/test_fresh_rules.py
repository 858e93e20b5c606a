"""``fresh = true`` on real processes: a permit of the paths the run makes only -- a name that
does not exist yet, or a file a call of this run made (open with O_CREAT, mkdir, a symlink,
a link or rename of such a file, a directory of its own moved) -- and of no file that was
there before, however the run reaches it: by its name, through a symlink it made, by a
rename over it, a link of it or a move of the directory holding it (gap #30, the learner's
rules for names the program chose).  Both loops: the native one hands a fresh rule's paths
to Python (engine/cloop.py ``_action``, index.flat_check)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import results

#: what a C program needs besides files (tests/engine/test_enforce.py's list)
PLAIN_CALLS = ["execve", "brk", "mmap", "mprotect", "munmap", "arch_prctl", "set_tid_address",
               "set_robust_list", "rseq", "prlimit64", "getrandom", "close", "read", "write",
               "exit_group", "rt_sigaction", "newfstatat", "fstat", "pread64"]


def fresh_policy(d: Path, probe: Path) -> str:
    """Everything inside ``d`` the run makes, nothing else there: the default refuses it
    (EACCES).  (A ``never`` rule naming ``d/**`` would refuse every link and rename there
    whatever the run made: a file a refusing rule names gets no new name, model.Table.
    _renaming_decision.)"""
    return f"""
        default = "never"
        default_errno = "EACCES"
        [[rule]]
        calls = ["fsread", "fswrite"]
        path = "{d}/**"
        fresh = true
        action = "permit"
        [[rule]]
        calls = ["fsread"]
        path = "{{/usr/**,/etc/**,{probe.parent}/**}}"
        action = "permit"
        [[rule]]
        calls = {PLAIN_CALLS!r}
        action = "permit"
    """.replace("'", '"')


def test_a_fresh_rule_covers_what_the_run_makes_and_no_older_file(traced, tmp_path, probe,
                                                                   loop):
    d = tmp_path / "d"
    d.mkdir()
    (d / "old").write_text("original\n")
    (d / "olddir").mkdir()
    (d / "olddir" / "inside").write_text("original\n")
    ops = [
        f"openw:{d}/new", f"open:{d}/new", f"creat:{d}/new",   # made, then the run's own
        f"fchmod:{d}/new",                                    # ... by its descriptor too
        f"open:{d}/old", f"openw:{d}/old",                      # older: refused
        f"symlink:{d}/old:{d}/sl", f"openw:{d}/sl", f"open:{d}/sl",  # through its own link
        f"mkdir:{d}/nd", f"openw:{d}/nd/f", f"rename:{d}/nd:{d}/nd2", f"open:{d}/nd2/f",
        f"rename:{d}/new:{d}/old",                            # over an older file
        f"rename:{d}/olddir:{d}/moved",                       # an older directory moved
        f"link:{d}/old:{d}/hl",                               # an older file's new name
        f"link:{d}/nd2/f:{d}/hl2", f"openw:{d}/hl2",          # a new name of its own file
        f"rename:{d}/hl2:{d}/away", f"openw:{d}/away",        # its own file moved
        f"unlink:{d}/away", f"unlink:{d}/old",
    ]
    r = traced.run(fresh_policy(d, probe), str(probe), *ops, env=loop)
    got = results(r.stdout)
    assert len(got) == len(ops), r.stdout + r.stderr
    refused = {f"open {d}/old", f"openw {d}/old", f"openw {d}/sl",
               f"open {d}/sl", f"rename {d}/new:{d}/old", f"rename {d}/olddir:{d}/moved",
               f"link {d}/old:{d}/hl", f"unlink {d}/old"}
    for op, result in got.items():
        assert result == ("EACCES" if op in refused else "ok"), (op, result, got)
    assert (d / "old").read_text() == "original\n"
    assert (d / "olddir" / "inside").read_text() == "original\n"
    assert not (d / "hl").exists() and (d / "nd2" / "f").exists()


def test_a_fresh_rule_refuses_a_path_made_before_the_run_by_the_same_program(
        traced, tmp_path, probe, loop):
    """Run-wide, not policy-wide: what a run made is the next run's older file."""
    d = tmp_path / "d"
    d.mkdir()
    first = traced.run(fresh_policy(d, probe), str(probe), f"openw:{d}/out", env=loop)
    assert results(first.stdout) == {f"openw {d}/out": "ok"}, first.stdout + first.stderr
    again = traced.run(fresh_policy(d, probe), str(probe), f"openw:{d}/out", f"open:{d}/out",
                       env=loop)
    assert results(again.stdout) == {f"openw {d}/out": "EACCES", f"open {d}/out": "EACCES"}, \
        again.stdout + again.stderr


def test_a_rename_that_fails_forgets_nothing_the_run_made(traced, tmp_path, probe, loop):
    """cmake renames its cache's temporary file onto the cache, then (its file gone) again,
    ENOENT: the failing rename was taken for one of an older file over the cache and the
    cache forgotten -- its next read refused."""
    d = tmp_path / "d"
    d.mkdir()
    ops = [f"openw:{d}/cache.tmp", f"rename:{d}/cache.tmp:{d}/cache",
           f"rename:{d}/cache.tmp:{d}/cache", f"open:{d}/cache"]
    r = traced.run(fresh_policy(d, probe), str(probe), *ops, env=loop)
    answers = [line.rpartition(" -> ")[2] for line in r.stdout.splitlines() if " -> " in line]
    assert answers == ["ok", "ok", "ENOENT", "ok"], r.stdout + r.stderr


def test_a_rename_that_would_replace_nothing_forgets_nothing_the_run_made(traced, tmp_path,
                                                                         probe, loop):
    """configure's ``mv -f conftest.er1 conftest.err``: mv tries renameat2 with
    RENAME_NOREPLACE first, EEXIST (the older conftest.err is there), then renameat.  The
    failing call was taken as done -- er1 forgotten as moved --, so the real rename was one
    of an older file, and conftest.err, made by the run twice over, was forgotten: rm's
    unlink of it refused under the learned fresh rule (configure failed)."""
    d = tmp_path / "d"
    d.mkdir()
    ops = [f"openw:{d}/conftest.err", f"openw:{d}/conftest.er1",
           f"renamenr:{d}/conftest.er1:{d}/conftest.err",
           f"rename:{d}/conftest.er1:{d}/conftest.err", f"unlink:{d}/conftest.err"]
    r = traced.run(fresh_policy(d, probe), str(probe), *ops, env=loop)
    answers = [line.rpartition(" -> ")[2] for line in r.stdout.splitlines() if " -> " in line]
    assert answers == ["ok", "ok", "EEXIST", "ok", "ok"], r.stdout + r.stderr


def test_an_older_file_linked_where_a_failed_call_was_noted_is_no_file_of_the_runs(
        traced, tmp_path, probe, loop):
    """A made name is noted when the call is let run, before its result: an O_CREAT open of
    ``x/`` (a trailing slash: EISDIR, nothing made) noted ``x``.  A link of an older file to
    ``x`` then kept the note (a link's new name was only ever added), and the fresh rule let
    the older file be written through it.  A new name that is not of a file the run made is
    forgotten, whatever the call."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "old").write_text("original\n")
    link_rule = f'[[rule]]\ncalls = ["fslink"]\npath = "{d}/old"\naction = "permit"\n'
    policy = fresh_policy(d, probe) + link_rule
    ops = [f"openw:{d}/x/", f"link:{d}/old:{d}/x", f"openw:{d}/x"]
    r = traced.run(policy, str(probe), *ops, env=loop)
    answers = [line.rpartition(" -> ")[2] for line in r.stdout.splitlines() if " -> " in line]
    assert answers == ["EISDIR", "ok", "EACCES"], r.stdout + r.stderr
    assert (d / "old").read_text() == "original\n"


def test_a_name_made_only_anew_meets_the_kernels_eexist(traced, tmp_path, probe, loop):
    """mkdir of a directory an earlier run made (npm's mkdir -p of its cache) fails with
    EEXIST natively and changes nothing: a fresh rule lets the kernel say so (it was EPERM
    -- EACCES here -- and npm gave up); an open of that older file stays refused."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "olddir").mkdir()
    (d / "old").write_text("original\n")
    ops = [f"mkdir:{d}/olddir", f"symlink:{d}/x:{d}/old", f"openw:{d}/old"]
    r = traced.run(fresh_policy(d, probe), str(probe), *ops, env=loop)
    answers = [line.rpartition(" -> ")[2] for line in r.stdout.splitlines() if " -> " in line]
    assert answers == ["EEXIST", "EEXIST", "EACCES"], r.stdout + r.stderr
    assert (d / "old").read_text() == "original\n"


def test_an_o_path_open_with_o_excl_of_an_older_file_is_no_name_made_anew(
        traced, tmp_path, probe, loop):
    """Red team 17: an open with O_CREAT and O_EXCL makes its name only anew, so a fresh
    rule lets it meet the kernel's EEXIST on an older file -- but with O_PATH the kernel drops
    both flags and opens the file that is there (natively: a descriptor of it, no EEXIST),
    and an O_PATH open is a read: of an older file, refused."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "old").write_text("original\n")
    ops = [f"opathx:{d}/old", f"opathx:{d}/new", f"opathx:{tmp_path}/elsewhere"]
    native = subprocess.run([str(probe), *ops], capture_output=True, text=True, timeout=30)
    assert list(results(native.stdout).values()) == ["ok", "ENOENT", "ENOENT"], native.stdout
    r = traced.run(fresh_policy(d, probe), str(probe), *ops, env=loop)
    answers = [line.rpartition(" -> ")[2] for line in r.stdout.splitlines() if " -> " in line]
    # (a refusal of a missing path is the kernel's ENOENT: no O_PATH open makes its name)
    assert answers == ["EACCES", "ENOENT", "ENOENT"], r.stdout + r.stderr
