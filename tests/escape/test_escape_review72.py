"""Review 72: close 43 (an answer no wider than its ask; a policy directory inferred only
from trusted files) attacked again.  These tests FAIL on main (79a87e8c): each is an
attack that still escapes.

* ``model.answer_conditions`` copies the asking rule's address condition onto an answer
  only where the answer names none, and tests coverage (``_path_covered``) on the path
  alone: an ``ask`` with no path is "covered" whatever the answer's address names.  An
  answer scoped ``host`` (this address, any port), ``domain`` or ``dir`` (every socket in
  a directory) -- offered for every address ask -- is wider than an ``ask`` that names a
  port, a unix socket or an address, and stands just before that ``ask``: in front of the
  person's ``never`` after it.  A ``unix`` answer is spelled with ``$CWD`` as well (review
  69's ``$CWD/.bashrc`` shape, for sockets): it follows the run to other directories.

* ``files.trusted_file`` keeps an inferred directory with a group write bit from being a
  policy directory at all -- the person's own, made under the umask 002 of a user-private
  group (Debian, Ubuntu, Fedora), included.  Then nothing of the directory is carried: a
  table ``-A -o DIR/custom.toml --merge`` adds for cat is made without cat's own file
  there (its ``never``), and the next ``-p DIR/custom.toml -d DIR`` run gives cat that
  table first.  Skipping fails open: close 39's escape again, for such directories.

(Loop-blind where a run has an approver: that is the Python loop's alone.)"""

from __future__ import annotations

import socket
from pathlib import Path

from escape_lib import NEVER_VICTIM, approver_args, victim_read_natively

from conftest import PYTHON, run_systrace
from systrace_py.policy.files import policy_filename


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


def test_a_merge_into_the_persons_group_writable_directory_keeps_its_refusals(
        build, tmp_path: Path, loop: dict[str, str]) -> None:
    """Close 39's first test with the directory made 0775 -- the person's own (owned by the
    running user), as ``mkdir`` makes it under the umask 002 of a user-private group.
    ``pol`` holds cat's own file (``never`` below ``victim``) and the person's
    ``custom.toml`` for the tool, run as ``-p pol/custom.toml -d pol``.  ``-A -o
    pol/custom.toml --merge`` (no ``-d``): ``directory_file`` finds the directory not
    trusted (a group write bit) and infers none, the new cat table is made of
    ``custom.toml`` alone, and the next ``-p pol/custom.toml -d pol`` run looks it up
    before cat's own file: the secret is printed.  Whatever the trust test keeps out, a
    refusal it drops widens what the next run permits: an untrusted file's refusals
    (``learn.refusals`` now carries no ``retval``) can only refuse more."""
    program = build("escape/merge_table.c")
    tool = tmp_path / "tool"
    tool.write_bytes(program.read_bytes())
    tool.chmod(0o755)
    victim_read_natively(tool, tmp_path)
    directory = tmp_path / "pol"
    directory.mkdir()
    directory.chmod(0o775)
    custom = directory / "custom.toml"
    custom.write_text('version = 1\ndefault = "permit"\n')
    (directory / policy_filename("/usr/bin/cat")).write_text(NEVER_VICTIM)
    env = {**loop, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = ["-p", str(custom), "-d", str(directory), "--", str(tool), "victim"]
    alone = run_systrace(run, cwd=tmp_path, env=env)
    assert alone.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        alone.stdout + alone.stderr
    learning = run_systrace(["-A", "-o", str(custom), "--merge", "--", str(tool), "victim"],
                            cwd=tmp_path, env=env)
    assert learning.stdout.startswith("ESCAPED"), learning.stdout + learning.stderr
    assert "/usr/bin/cat" in custom.read_text(), custom.read_text()
    traced = run_systrace(run, cwd=tmp_path, env=env)
    assert "ESCAPED" not in traced.stdout, (traced.stdout + traced.stderr, custom.read_text())
    assert traced.stdout.startswith("BLOCKED: /bin/cat did not print"), \
        traced.stdout + traced.stderr


def _connect_unix(path: Path) -> list[str]:
    return [PYTHON, "-c",
            "import socket\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n"
            f"    s.connect({str(path)!r}); print('CONNECTED')\n"
            "except OSError as e:\n"
            "    print('REFUSED', e.errno)\n"]


def test_an_answer_for_every_socket_in_a_directory_does_not_overtake_a_refusal_after_its_ask(
        tmp_path: Path) -> None:
    """The same with a unix socket: main asks about connects to ``run/x.sock``, then refuses
    every connect to ``run/admin.sock``.  The connect to ``x.sock`` is answered ``permit``
    scoped ``dir`` ("every socket in run"): saved as ``unix = "run/*"`` before the ``ask``,
    it lets the next run connect to ``admin.sock``."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    asked_srv, admin_srv = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    with asked_srv, admin_srv:
        asked_srv.bind(str(run_dir / "x.sock"))
        admin_srv.bind(str(run_dir / "admin.sock"))
        for srv in (asked_srv, admin_srv):
            srv.listen(8)
        policy = tmp_path / "p.toml"
        policy.write_text('version = 1\ndefault = "permit"\n\n'
                          f'[[rule]]\ncalls = ["net-connect"]\nunix = "{run_dir}/x.sock"\n'
                          'action = "ask"\n\n'
                          f'[[rule]]\ncalls = ["net-connect"]\nunix = "{run_dir}/admin.sock"\n'
                          'action = "never"\n')
        admin = _connect_unix(run_dir / "admin.sock")
        alone = run_systrace(["-p", str(policy), "--", *admin], cwd=tmp_path)
        assert alone.stdout.startswith("REFUSED"), alone.stdout + alone.stderr
        answered = run_systrace(
            ["-p", str(policy),
             *approver_args(tmp_path, '[[answer]]\nanswer = "permit"\nscope = "dir"\n'),
             "--", *_connect_unix(run_dir / "x.sock")], cwd=tmp_path)
        assert answered.stdout == "CONNECTED\n", answered.stdout + answered.stderr
        assert "saved" in answered.stderr, answered.stderr
        again = run_systrace(["-p", str(policy), "--", *admin], cwd=tmp_path)
        assert again.stdout.startswith("REFUSED"), (again.stdout + again.stderr,
                                                    policy.read_text())
