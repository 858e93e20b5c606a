"""Red team 12: a peer of the process `systrace --attach` holds -- a task made before the
attach with clone(2) and no CLONE_THREAD, which shares the process's memory (CLONE_VM), its
descriptor table (CLONE_FILES) or its cwd and root (CLONE_FS).

The attach seizes the process's threads (/proc/PID/task); such a peer is none of them, so it
ran untraced, while the tracer counted the attached process alone in what it shares: its
checked calls ran on their own buffers, dirfd and cwd.  attach_peer.c's peer gives up root
(it cannot read the 0600 secret itself) and changes what the root process's open names
between the check and the kernel's lookup -- the path's bytes, the dirfd (dup2), the cwd
(fchdir): under policy A every mode read the secret, within a few opens.  Now the attach is
refused, before the probe runs any call in the process (a peer could rewrite that code too)
and before anything is decided: exit 125, the process left running untraced, as for the
other things an attach cannot hold whole (tracee.outside_sharer, Tracer._refuse_agents).
(The native loop never serves an attached process -- it has no filter -- so one stop loop is
all there is; the test also runs with SYSTRACE_NO_CLOOP=1 unchanged.)
"""

from __future__ import annotations

import pytest
from escape_lib import Scene, attach_to, attached_run, attack, require_real, secd_never, waiting

from systrace_py import procfs

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops

SHARED = {"vm": "shares its memory", "files": "shares its descriptor table",
          "fs": "shares its working directory and root"}


def peer_scene(tmp_path, name: str = "scene") -> Scene:
    s = Scene.make(tmp_path, name)
    s.secret.chmod(0o600)  # (the peer, uid 65534, may not read it by itself)
    return s


@pytest.mark.parametrize("mode", sorted(SHARED))
def test_a_peer_sharing_what_a_call_names_refuses_the_attach(build, tmp_path, mode):
    program = build("escape/attach_peer.c")
    s = peer_scene(tmp_path)
    control = attack(program, mode, s.secd, s.pubd, policy_text=None, scene=s)
    require_real(control)
    # the peer alone cannot read the secret: the escape needed both, one of them untraced
    assert "the peer's own open of the secret: EACCES" in control.stdout, control
    with waiting([program, mode, s.secd, s.pubd], scene=s) as w:
        tracer = attach_to(w, secd_never(s), scene=s)
        if tracer.returncode != 125:  # (attached: what the traced process got -- ESCAPED)
            out, _ = w.proc.communicate(timeout=60)
            pytest.fail(f"attached: {tracer.stderr}\n{out}")
        assert SHARED[mode] in tracer.stderr, tracer.stderr
        # refused before any call ran in it: never traced, nor killed
        assert procfs.tracers_of(w.proc.pid) == {0}, tracer.stderr
        assert w.proc.poll() is None


def test_a_child_sharing_nothing_is_attached_as_before(build, tmp_path):
    """Parity: a child that shares nothing with the process is no reason to refuse; the
    attached process's opens of the secret are refused, of the decoy served."""
    program = build("escape/attach_peer.c")
    s = peer_scene(tmp_path)
    require_real(attack(program, "none", s.secd, s.pubd, policy_text=None, scene=s))
    run = attached_run([program, "none", s.secd, s.pubd], secd_never(s), scene=s,
                       tracer_first=True)
    assert run.tracer.returncode == 0, run.tracer
    assert "ESCAPED" not in run.all, run.all + run.tracer.stderr
    assert "BLOCKED: none peer:" in run.all and "refused" in run.all, \
        run.all + run.tracer.stderr
