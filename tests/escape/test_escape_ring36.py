"""ring36: a packet ring handed over from outside the tree, against a single call.

Review 34 closed a sendmmsg whose messages lie in a kernel's ring the tree did not make (a
packet socket with its ring made, received over SCM_RIGHTS, mapped MAP_PRIVATE: no stop) and
left the single calls open: in a tree of one task the solo shortcut of ``Tracer._must_hold``
neither copied nor froze an examined argument unless the tracer knew of a writer, and the
native loop decided a path call unheld.  ``net_pktring_race.c`` puts an argument across a
private page and a frame of the ring that an outsider fills with its next datagram: a
sendto's sin_addr (0.0.0.0 at the check, 127.127.127.127 once filled) or an open's path
(``secd`` at the check, ``secd//.../secret.txt`` once filled).  Now an examined argument of a
lone task is asked about at each call (PROCMAP_QUERY: does it meet a kernel's ring?), and one
that does is held -- the kernel reads the tracer's copy; the native loop hands such a path to
Python.  On main (b837e87) both modes escaped, both loops (open: every run of 4 per loop, at
the first frames; send: hundreds of datagrams at 127.127.127.127 a run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from escape_lib import (
    Outcome,
    Scene,
    UdpListener,
    assert_blocked,
    attack,
    never,
    outsider,
    policy,
    quiet_lo,  # noqa: F401 (a fixture: pytestmark)
    read_never,
    settle,
)

pytestmark = pytest.mark.usefixtures("quiet_lo")  # (escape_lib.quiet_lo)

REFUSED = "127.127.127.127"
ATTEMPTS = 10  # native runs before the control is said to fail (a race: see native_control)


def _given(program: Path, kind: str, where: Path, *args: object, policy_text: str | None,
           scene: Scene | None, loop: dict[str, str]) -> Outcome:
    """One run of the taking side, beside a fresh giver of the ring (one ring a run)."""
    with outsider([program, "give", kind, where]) as giver:
        assert giver.stdout is not None
        assert giver.stdout.readline().startswith("ready"), "the giver did not start"
        return attack(program, kind, *args, where, scene=scene, env=loop,
                      policy_text=policy_text, timeout=120)


def _skip_without_raw() -> None:
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")


def test_an_open_path_in_a_handed_over_ring_is_held(build, tmp_path, loop):
    """Control: natively an open reads ``secd//.../secret.txt`` (the secret) after the program
    saw the frame empty.  Traced under a policy refusing the secret's reads: no open gives
    it (the tracer's copy, ``secd``, is opened; a check that saw the filled frame refuses) --
    on main: ESCAPED, both loops."""
    _skip_without_raw()
    program = build("escape/net_pktring_race.c")
    for attempt in range(ATTEMPTS):
        control_scene = Scene.make(tmp_path, f"control{attempt}")
        control = _given(program, "open", tmp_path / f"c{attempt}.sock", control_scene.secd,
                         policy_text=None, scene=control_scene, loop=loop)
        if control.verdict != "BLOCKED":
            break
    if control.verdict == "SKIPPED":
        pytest.skip(control.detail)
    assert control.verdict == "ESCAPED", f"the attack fails even without systrace:\n{control}"
    scene = Scene.make(tmp_path)
    traced = _given(program, "open", tmp_path / "t.sock", scene.secd,
                    policy_text=read_never(scene.secret), scene=scene, loop=loop)
    assert_blocked(traced)
    assert "tries" in traced.stdout, traced  # (it ran its frames)


def test_a_sendto_name_in_a_handed_over_ring_is_held(build, tmp_path, loop):
    """Control: natively a datagram reaches 127.127.127.127, whose sin_addr the program saw
    0.0.0.0.  Traced under a policy refusing 127.127.127.127: nothing arrives there -- on
    main: ESCAPED, both loops."""
    _skip_without_raw()
    program = build("escape/net_pktring_race.c")
    ring_policy = policy('calls = ["socket"]\naction = "permit"',
                         never("net-connect", "ECONNREFUSED", address=REFUSED))
    for traced in (False, True):
        for attempt in range(1 if traced else ATTEMPTS):
            listener = UdpListener(REFUSED)
            try:
                outcome = _given(program, "send", tmp_path / f"{traced}{attempt}.sock",
                                 listener.port, policy_text=ring_policy if traced else None,
                                 scene=None, loop=loop)
                settle(lambda received=listener.received: len(received))
            finally:
                listener.close()
            if outcome.verdict == "SKIPPED":
                pytest.skip(outcome.detail)
            if traced or listener.received:
                break
        if not traced:
            assert listener.received, f"the attack fails even without systrace:\n{outcome}"
        else:
            assert_blocked(outcome)
            assert "tries" in outcome.stdout, outcome
            assert not listener.received, \
                f"{REFUSED} received {len(listener.received)} datagrams:\n{outcome}"
