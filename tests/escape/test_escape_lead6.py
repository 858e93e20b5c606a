"""Attacks found or closed by the lead in the sixth session of 2026-12-05 (docs/security.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from escape_lib import Scene, attack, controlled_and_blocked, never, permit, policy


def _name() -> str:
    return f"rt31-callout-{uuid.uuid4().hex[:12]}"


def test_request_key_with_callout_data_is_refused(build: Callable[..., Path], tmp_path: Path,
                                                  loop: dict[str, str]) -> None:
    """request_key with callout data: the kernel runs its key helper (root, outside the
    tree) with the program's type and description -- a DNS lookup of the program's name
    for dns_resolver, which no address rule sees.  Natively the construction starts (a key,
    negative without keyutils, is left in the process keyring); under a policy that names
    no request_key the engine's guard refuses it (EPERM) before the kernel starts anything,
    under `default = "permit"` too."""
    name = _name()
    traced, _ = controlled_and_blocked(
        tmp_path, build("escape/key_callout.c"), lambda s: [f"{name}-{s.root.name}"],
        lambda s: policy(never("net-connect", address="192.0.2.1")), env=loop)
    assert "request_key: EPERM" in traced.stdout, traced


def test_a_rule_naming_request_key_lifts_the_guard(build: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """A table that permits request_key by name has said so: the helper runs (the lift is
    run-wide, as the core-dump guard's: every table must grant it)."""
    s = Scene.make(tmp_path, "granted")
    outcome = attack(build("escape/key_callout.c"), _name(), scene=s,
                     policy_text=policy(permit("request_key")))
    assert outcome.verdict == "ESCAPED", outcome


def test_unreadable_callout_data_is_efault_as_natively(build: Callable[..., Path],
                                                       tmp_path: Path,
                                                       loop: dict[str, str]) -> None:
    """The guard reads the strings as the kernel copies them, before anything else: callout
    data at an unmapped address is EFAULT under systrace as natively (LTP request_key06),
    not the guard's EPERM -- and the call is not let go (a thread could map the page before
    the kernel's copy)."""
    program = build("escape/key_callout.c")
    outcomes = []
    for name, text in (("control", None), ("traced", policy(permit("fsread")))):
        s = Scene.make(tmp_path, name)
        outcomes.append(attack(program, _name(), "efault", scene=s, policy_text=text, env=loop))
    for outcome in outcomes:
        assert "request_key: EFAULT" in outcome.stdout, outcome
