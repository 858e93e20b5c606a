"""A refusal of a path that does not exist answers ENOENT, as the kernel would: on real
processes, for the paths the engine resolves (a missing last name, a missing directory on the
way, a name not followed), never for a call that would create the name, and not with
``missing = "errno"``."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import results


def policy_refusing(d: Path, extra: str = "") -> str:
    """The probe may do everything but touch ``d``: the default refuses it."""
    return f"""
        default = "permit"
        {extra}
        [[rule]]
        calls = ["fsread", "fswrite", "exec"]
        path = "{d}/**"
        action = "never"
        errno = "EACCES"
    """


def ops(d: Path) -> list[str]:
    return [f"stat:{d}/present", f"stat:{d}/absent", f"lstat:{d}/absent",
            f"readlink:{d}/absent", f"open:{d}/absent", f"open:{d}/no/such/dir/f",
            f"openw:{d}/absent", f"mkdir:{d}/absent", f"mkdir:{d}/no/such/dir",
            f"unlink:{d}/absent", f"exec:{d}/absent", f"rename:{d}/absent:{d}/other",
            f"link:{d}/present:{d}/new"]


def test_refusals_of_missing_paths_say_enoent(traced, tmp_path, probe):
    d = tmp_path / "d"
    d.mkdir()
    (d / "present").write_text("x")
    got = results(traced.run(policy_refusing(d), str(probe), *ops(d)).stdout)
    assert got[f"stat {d}/present"] == "EACCES"            # it exists: the rule's errno
    for op in ("stat", "lstat", "readlink", "open", "unlink", "exec"):
        assert got[f"{op} {d}/absent"] == "ENOENT", (op, got)
    assert got[f"open {d}/no/such/dir/f"] == "ENOENT"
    assert got[f"mkdir {d}/no/such/dir"] == "ENOENT"        # a directory on the way
    assert got[f"rename {d}/absent:{d}/other"] == "ENOENT"
    # these would have made the name: refused as the rule says
    assert got[f"openw {d}/absent"] == "EACCES"
    assert got[f"mkdir {d}/absent"] == "EACCES"
    assert got[f"link {d}/present:{d}/new"] == "EACCES"
    assert not (d / "new").exists() and not (d / "absent").exists()


def test_missing_errno_keeps_the_rules_errno(traced, tmp_path, probe):
    d = tmp_path / "d"
    d.mkdir()
    (d / "present").write_text("x")
    got = results(traced.run(policy_refusing(d, 'missing = "errno"'), str(probe),
                             *ops(d)).stdout)
    assert {got[f"stat {d}/absent"], got[f"open {d}/no/such/dir/f"],
            got[f"exec {d}/absent"]} == {"EACCES"}


def test_a_refusal_by_the_prefilter_default_is_enoent_too(traced, tmp_path, probe):
    """default never with no rule on unlink: the kernel alone would answer EPERM; the plan
    stops the call so a missing path gets its ENOENT (an existing one still EPERM)."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "present").write_text("x")
    policy = """
        default = "never"
        [[rule]]
        calls = ["unlink"]
        path = "/nowhere"
        action = "permit"
        [[rule]]
        calls = ["exec", "fsread", "stdio", "process", "fsmeta"]
        action = "permit"
    """
    r = traced.run(policy, str(probe), f"chmod:{d}/absent", f"chmod:{d}/present", options=("-q",))
    got = results(r.stdout)
    assert got[f"chmod {d}/absent"] == "ENOENT"
    assert got[f"chmod {d}/present"] == "EPERM"


def test_a_lookup_the_kernel_fails_is_the_programs_failure_not_a_refusal(traced, tmp_path,
                                                                         probe):
    """A path through a regular file fails with ENOTDIR natively; the engine, which resolves
    it to decide, answers the same errno -- logged as failed, never counted as refused."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "file").write_text("x")
    log = tmp_path / "log.jsonl"
    r = traced.run(policy_refusing(tmp_path / "elsewhere"), str(probe),
                   f"stat:{d}/file/x", f"open:{d}/file/x", options=("--log", str(log)))
    got = results(r.stdout)
    assert got[f"stat {d}/file/x"] == got[f"open {d}/file/x"] == "ENOTDIR"
    assert "refused" not in r.stderr, r.stderr

    answered = [json.loads(line) for line in log.read_text().splitlines()
                if '"engine-refusal"' in line]
    assert answered and {a["result"] for a in answered} == {"failed"}, answered
    assert {a["errno"] for a in answered} == {"ENOTDIR"}
