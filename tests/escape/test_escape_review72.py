"""Review 72: close 43 (an answer no wider than its ask; a policy directory inferred only
from trusted files) attacked again.  These tests FAIL on main (79a87e8c): each is an
attack that still escapes.

* ``model.answer_conditions`` copies the asking rule's address condition onto an answer
  only where the answer names none, and tests coverage (``_path_covered``) on the path
  alone: an ``ask`` with no path is "covered" whatever the answer's address names.  An
  answer scoped ``host`` (this address, any port), ``domain`` or ``dir`` (every socket in
  a directory) -- offered for every address ask -- is wider than an ``ask`` that names a
  port, a unix socket or an address, and stands just before that ``ask``: in front of the
  person's ``never`` after it.

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

import socket
from pathlib import Path

from escape_lib import approver_args

from conftest import PYTHON, run_systrace


def _connect(port: int) -> list[str]:
    return [PYTHON, "-c",
            "import socket, sys\n"
            "s = socket.socket()\n"
            "try:\n"
            f"    s.connect(('127.0.0.1', {port})); print('CONNECTED')\n"
            "except OSError as e:\n"
            "    print('REFUSED', e.errno)\n"]


def test_an_answer_for_this_host_any_port_does_not_overtake_a_refusal_after_a_port_ask(
        tmp_path: Path) -> None:
    """The person's main table asks about connects to port ``asked`` (any address), then
    refuses every connect to 127.0.0.1.  A connect to 127.0.0.1:``asked`` is answered
    ``permit`` scoped ``host`` ("127.0.0.1, any port": an offer the question makes).  The
    answer keeps no port of the ``ask`` (it names an address of its own, so the ask's
    condition is not copied) and -- the ``ask`` having no path -- is taken as covered: it
    stands just before the ``ask``, in front of the ``never``.  127.0.0.1:``other``, which
    the ``ask`` does not pick and the ``never`` refuses, connects in the next run."""
    asked_srv, other_srv = socket.socket(), socket.socket()
    with asked_srv, other_srv:
        for srv in (asked_srv, other_srv):
            srv.bind(("127.0.0.1", 0))
            srv.listen(8)
        asked, other = asked_srv.getsockname()[1], other_srv.getsockname()[1]
        policy = tmp_path / "p.toml"
        policy.write_text('version = 1\ndefault = "permit"\n\n'
                          f'[[rule]]\ncalls = ["net-connect"]\nport = {asked}\n'
                          'action = "ask"\n\n'
                          '[[rule]]\ncalls = ["net-connect"]\naddress = "127.0.0.1"\n'
                          'action = "never"\n')
        alone = run_systrace(["-p", str(policy), "--", *_connect(other)], cwd=tmp_path)
        assert alone.stdout.startswith("REFUSED"), alone.stdout + alone.stderr
        answered = run_systrace(
            ["-p", str(policy),
             *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\nscope = "host"\n'),
             "--", *_connect(asked)], cwd=tmp_path)
        assert answered.stdout == "CONNECTED\n", answered.stdout + answered.stderr
        assert "saved" in answered.stderr, answered.stderr
        again = run_systrace(["-p", str(policy), "--", *_connect(other)], cwd=tmp_path)
        assert again.stdout.startswith("REFUSED"), (again.stdout + again.stderr,
                                                    policy.read_text())
