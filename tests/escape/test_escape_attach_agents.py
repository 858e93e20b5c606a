"""Red team 9: what a process made before `systrace --attach` keeps: the kernel's agents
(class 5, I/O the kernel does for the program) -- an io_uring's poller, a fanotify group --
and descriptors /proc names by another object's path (class 1).

A traced tree may not make an io_uring (io_uring_setup is an unsafe call).  A process that
systrace attaches to may have one already, and with IORING_SETUP_SQPOLL the ring's poller --
a thread the kernel made in the process (iou-sqp-PID, PF_IO_WORKER) -- runs whatever the
process writes into the ring's memory, with no system call to stop: kio_sqpoll.c, attached
to, opened and read the secret (its poller was seized like any thread, and never stopped).
Now systrace refuses to attach to a process with such a thread (procfs.kernel_worker: an
io_uring's or a vhost device's), before it seizes anything: the process is left as it was,
untraced, and the person is told.

The same for a fanotify group made before (fanotify_init is refused in the tree): each event
read from it carries a descriptor the kernel opened for the reader -- of the secret, when
another process opens it.  kio_fanotify.c, attached to, got one (a plain read(2) of the
group's descriptor decides nothing).  A process holding such a group is not attached either.

And for a ring without a poller (review 5, finding 2): work queued before the attach (a READ
of a pipe, an OPENAT of the secret linked to it) ran when the attached program wrote its own
pipe (kio_uring_pending.c).  A process holding an io_uring descriptor or mapping a ring is
not attached.  These checks run once every task of the process is stopped (finding 9: a
thread checked before its seize could make one in between): kio_uring_pending.c race.
A ring kept only as a registered ring descriptor (its descriptor closed, its rings unmapped)
is seen by no /proc file (gap #27): now every thread is asked, by a call the tracer makes it
run at its attach stop, whether it has an io_uring context at all
(Tracer._refuse_uring_contexts): kio_uring_pending.c registered, and inflight where the
kernel lets a ring's descriptor be sent (not since 6.7).

And a descriptor of a detached mount (open_tree's clone of the secret's directory, made in
the tracer's namespace before the attach) is named "/" by /proc: the tracer, which had seen
no mount call, decided openat(N, "secret.txt") as "/secret.txt" (permitted) and the kernel
opened the secret, in both loops.  Now an attached process whose cwd or descriptors /proc
names by another object's path (paths.names_elsewhere) makes the resolver strict, as the
tree's own mount calls do: names are checked against the objects, and what is reachable only
through such a mount is refused (EACCES).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from escape_lib import (
    Scene,
    attach_to,
    attached_run,
    attack,
    require_real,
    secd_never,
    waiting,
)
from test_escape_kernel_io import SecretReader

from systrace_py import procfs

#: an attached process has no filter, so the native loop never serves it (Tracer._fast_arms):
#: one run covers both loops, and the second CI pass (SYSTRACE_NO_CLOOP=1) leaves these out
pytestmark = pytest.mark.both_loops


def test_a_ring_polled_by_the_kernel_is_never_taken_for_confined(build, tmp_path):
    program = build("escape/kio_sqpoll.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, s.secret, policy_text=None, scene=s))
    with waiting([program, s.secret], scene=s) as w:
        tracer = attach_to(w, secd_never(s), scene=s)
        assert tracer.returncode != 0, tracer
        assert "kernel worker (io_uring" in tracer.stderr, tracer.stderr
        # refused before anything was seized: the process was never traced, nor killed
        assert procfs.tracers_of(w.proc.pid) == {0}, tracer.stderr
        assert w.proc.poll() is None


def test_a_fanotify_group_made_before_the_attach_is_never_taken_for_confined(build, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("fanotify with descriptors needs CAP_SYS_ADMIN")
    program = build("escape/kio_fanotify.c")
    s = Scene.make(tmp_path)
    reader = SecretReader(s.secret)  # (another process's opens of the secret: the events)
    try:
        require_real(attack(program, s.secd, 2, policy_text=None, scene=s))
        with waiting([program, s.secd, 2], scene=s) as w:
            tracer = attach_to(w, secd_never(s), scene=s)
            assert tracer.returncode != 0, tracer
            assert "is a fanotify group" in tracer.stderr, tracer.stderr
            assert procfs.tracers_of(w.proc.pid) == {0}, tracer.stderr
            assert w.proc.poll() is None
    finally:
        reader.close()


def refused_for_its_ring(build, tmp_path, modes: list[str], said: str) -> None:
    """kio_uring_pending.c (``modes``: how it keeps its ring) reads the secret natively;
    attached to, systrace refuses (exit 125, saying ``said``) and the process is left as it
    was, untraced (not killed): it goes on, natively."""
    program = build("escape/kio_uring_pending.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, s.secret, *modes, policy_text=None, scene=s))
    run = attached_run([program, s.secret, *modes], secd_never(s), scene=s, tracer_first=True)
    assert run.tracer.returncode == 125, (run.all, run.tracer)
    assert said in run.tracer.stderr, run.tracer.stderr
    assert "traced by 0" in run.all and "ESCAPED" in run.all, run.all


def test_a_ring_with_pending_work_made_before_the_attach_is_never_taken_for_confined(
        build, tmp_path):
    """Review 5, finding 2: a ring without a poller (no kernel thread to see) holding linked
    work -- a READ of a pipe waiting, then an OPENAT of the secret -- ran the OPENAT once the
    attached program wrote its own pipe.  A process holding an io_uring descriptor (or mapping
    a ring) is refused now, left running untraced."""
    refused_for_its_ring(build, tmp_path, [], "is an io_uring")


def test_a_ring_kept_only_as_a_registered_descriptor_is_never_taken_for_confined(
        build, tmp_path):
    """Gap #27: the same pending work, the ring kept only through IORING_REGISTER_RING_FDS
    (its descriptor closed, its rings unmapped): nothing in /proc shows it, and the OPENAT's
    descriptor landed in the table.  Every thread is asked now, by a call it runs at its
    attach stop, whether it has an io_uring context: this one has, and the attach is refused,
    the process left as it was (it goes on untraced: natively)."""
    refused_for_its_ring(build, tmp_path, ["registered"], "has an io_uring context")


def test_a_ring_kept_only_in_flight_is_never_taken_for_confined(build, tmp_path):
    """The ring sent to itself over a unix socket (SCM_RIGHTS) and never received, its
    descriptor closed, its rings unmapped: its only reference is in flight.  Kernels since
    6.7 refuse to send an io_uring's descriptor (scm_fp_copy: EINVAL), and the control run is
    SKIPPED there; where they do not, the submitter's io_uring context refuses the attach."""
    refused_for_its_ring(build, tmp_path, ["inflight"], "has an io_uring context")


def raced(program, args: list[object], s: Scene) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Start ``program args`` (a race mode: it makes and drops an agent in a loop, and says
    ready without waiting), attach systrace to it at once under a policy that refuses reads
    of the secret's directory, then tell it on stdin the attach is over; its output and
    systrace's run."""
    run = attached_run([program, *args], secd_never(s), scene=s, wait_tracer=False,
                       tracer_first=True, input="over\n")  # (the attach is over)
    return run.all, run.tracer


def test_a_ring_made_while_systrace_attaches_is_refused_or_never_fires(build, tmp_path):
    """Review 5, finding 9: the checks used to look at each thread before its seize, so a
    checked thread could make a ring before it was seized.  A thread arms a new ring (a READ
    of a pipe pending, an OPENAT of the secret linked to it) and drops it, in a loop, while
    systrace attaches: the attach is refused (a ring held when every task had stopped) or
    the ring it holds once traced is none made before -- never the secret."""
    program = build("escape/kio_uring_pending.c")
    s = Scene.make(tmp_path)
    control = attack(program, s.secret, "race-native", policy_text=None, scene=s)
    require_real(control)
    out, tracer = raced(program, [s.secret, "race"], s)
    assert "ESCAPED" not in out, out + tracer.stderr
    if tracer.returncode == 125:
        assert "io_uring" in tracer.stderr, tracer.stderr
        assert "never traced" in out, out
    else:
        assert tracer.returncode == 0, tracer
        assert "BLOCKED: no ring made before the attach is held" in out, out + tracer.stderr


def test_a_fanotify_group_made_while_systrace_attaches_is_refused_or_never_read(
        build, tmp_path):
    """Finding 9 for fanotify: a thread makes a group marked on the secret's directory and
    drops it, in a loop, while systrace attaches; an outsider reads the secret meanwhile.
    The attach is refused, or the group the thread holds once traced is none from before.
    (With the checks taken out, 1 run of 3 got a descriptor of the secret.)"""
    if os.geteuid() != 0:
        pytest.skip("fanotify with descriptors needs CAP_SYS_ADMIN")
    program = build("escape/kio_fanotify.c")
    s = Scene.make(tmp_path)
    reader = SecretReader(s.secret)
    try:
        require_real(attack(program, s.secd, 1, "race-native", policy_text=None, scene=s))
        out, tracer = raced(program, [s.secd, 1, "race"], s)
    finally:
        reader.close()
    assert "ESCAPED" not in out, out + tracer.stderr
    if tracer.returncode == 125:
        assert "is a fanotify group" in tracer.stderr, tracer.stderr
        assert "never traced" in out, out
    else:
        assert tracer.returncode == 0, tracer
        assert "BLOCKED: no group made before the attach is held" in out, out + tracer.stderr


def test_a_process_without_a_ring_is_attached_as_before(build, tmp_path):
    """The check looks at the threads' flags, not at names: a thread named like a poller is
    an ordinary thread (the attach goes on, and the open is refused)."""
    program = build("escape/kio_sqpoll.c", "-DNAMED_ONLY")
    s = Scene.make(tmp_path)
    if attack(program, s.secret, policy_text=None, scene=s).verdict == "SKIPPED":
        pytest.skip("no thread naming here")
    run = attached_run([program, s.secret], secd_never(s), scene=s, tracer_first=True)
    assert "kernel worker" not in run.tracer.stderr, run.tracer.stderr
    assert "BLOCKED: open: EACCES" in run.all, run.all + run.tracer.stderr


def test_a_detached_mount_held_before_the_attach_is_named_from_its_object(build, tmp_path):
    """(The native loop never serves an attached process -- it has no filter -- so one stop
    loop is all there is.)"""
    if os.geteuid() != 0:
        pytest.skip("open_tree(OPEN_TREE_CLONE) in the tracer's namespace needs root")
    program = build("escape/attach_tree.c")
    s = Scene.make(tmp_path)
    require_real(attack(program, "clone", s.secd, policy_text=None, scene=s))
    run = attached_run([program, "clone", s.secd], secd_never(s), scene=s, tracer_first=True)
    assert "ESCAPED" not in run.all, run.all + run.tracer.stderr
    assert "BLOCKED: openat(the tree, secret.txt): EACCES" in run.all, \
        run.all + run.tracer.stderr


def test_an_ordinary_descriptor_held_before_the_attach_is_served_as_before(build, tmp_path):
    """Parity: a descriptor /proc names rightly works through the attach as without it."""
    program = build("escape/attach_tree.c")
    s = Scene.make(tmp_path)
    run = attached_run([program, "plain", s.secd], secd_never(s), scene=s, tracer_first=True)
    assert f"opened {s.decoy} (not the secret)" in run.all, run.all + run.tracer.stderr
