"""Close 32 (review 61's findings): unit tests that FAIL on review 61's code.

* A table key that is not literal as written (``~/bin/mycat``, ``$CWD/mycat``) stands for a
  different program wherever it is expanded: its new table is carried from every table, the
  policy directory's files included -- not from the one this run's expansion finds.
* A table whose default a person changed to ``permit`` keeps the learner's "any other
  address" rules as refusals when carried: there they are the only refusal of other
  addresses.
* Of several candidates, the new table takes the strictest ways of refusing:
  ``missing = "errno"``, ``dns_refused = "nxdomain"``, ``allow_detach`` only if all allow."""

from __future__ import annotations

import os

from systrace_py.policy.files import loads_policy
from systrace_py.policy.learn import (
    LearnOptions,
    Observation,
    decide_observation,
    learn,
    merge_policies,
)
from systrace_py.policy.model import Action, DnsRefused, Missing, PathArg, SockAddr
from systrace_py.supervisor import PolicySet

ENV = {"HOME": "/home/u", "CWD": "/work/p1", "TMPDIR": "/tmp", "USER": "u"}


def read(path: str, table: str) -> Observation:
    return Observation(table, "openat", (PathArg("path", path),), os.O_RDONLY)


def test_a_home_keyed_new_table_carries_every_directory_files_refusals() -> None:
    """``~/bin/mycat`` is ``/home/u/bin/mycat`` here and another user's program elsewhere.
    The next run of another user (HOME=/home/v) finds the new ``~/bin/mycat`` table before
    ``/home/v/bin/mycat``'s own file, which refuses ``/secret/**``: that refusal must be
    carried.  On review 61's code only ``/home/u/bin/mycat``'s file (permit) was copied."""
    base = loads_policy('default = "permit"\n', "tool.toml", env=ENV)
    mine = loads_policy('default = "permit"\n', "_home_u_bin_mycat.toml", env=ENV)
    theirs = loads_policy('default = "permit"\n[[rule]]\ncalls = ["fsread"]\n'
                          'path = "/secret/**"\naction = "never"\n',
                          "_home_v_bin_mycat.toml", env=ENV)
    policies = PolicySet(base, {"_home_u_bin_mycat.toml": mine,
                                "_home_v_bin_mycat.toml": theirs})
    learned = learn([read("/usr/lib/x", table="/home/u/bin/mycat")], LearnOptions(env=ENV)).policy
    assert "~/bin/mycat" in learned.programs
    merged = merge_policies(base, learned, ENV, table_for=policies.table_for,
                            tables=policies.tables())
    decision = decide_observation(merged, read("/secret/key", table="~/bin/mycat"))
    assert decision.action is Action.NEVER, (decision, merged.programs["~/bin/mycat"])


def test_a_learners_barrier_in_a_table_made_permissive_is_carried_as_a_refusal() -> None:
    """The tool's table was learned (its "any other IP address" barrier) and a person then
    set its default to ``permit``: the barrier is now the only thing refusing other
    addresses there.  cat could be exec'd from the tool; main permits any address.  cat's
    new table must refuse the address the tool refused -- on review 61's code the barrier
    was dropped as "its table's default" and the connect was permitted."""
    base = loads_policy(
        'default = "never"\n'
        '[[rule]]\ncalls = ["net-connect"]\naddress = ["0.0.0.0/0"]\naction = "permit"\n'
        '[program."/opt/tool"]\ndefault = "permit"\n'
        '[[program."/opt/tool".rule]]\ncalls = ["net-connect"]\naddress = ["10.0.0.1"]\n'
        'action = "permit"\n'
        '[[program."/opt/tool".rule]]\ncalls = ["net-connect"]\n'
        'address = ["0.0.0.0/0", "::/0"]\naction = "never"\n'
        'comment = "learned: any other IP address"\n', "base.toml", env=ENV)
    elsewhere = Observation("/usr/bin/cat", "connect",
                            sockaddrs=(SockAddr("inet", "192.0.2.7", 80),))
    assert decide_observation(base, Observation("/opt/tool", "connect", sockaddrs=(
        SockAddr("inet", "192.0.2.7", 80),))).action is Action.NEVER
    learned = learn([read("/usr/lib/x", table="/usr/bin/cat")], LearnOptions(env=ENV)).policy
    merged = merge_policies(base, learned, ENV)
    assert decide_observation(merged, elsewhere).action is Action.NEVER, \
        merged.programs["/usr/bin/cat"]


def test_a_new_table_of_several_takes_the_strictest_ways_of_refusing() -> None:
    """Main refuses by default (``missing`` ENOENT, ``dns_refused = "pass"``, detach
    allowed); the tool's table permits by default but hides whether a refused file exists
    (``missing = "errno"``), answers refused names NXDOMAIN and allows no detach.  cat's
    table, carried from both, must keep each strictest way -- on review 61's code it took
    main's (the one copied) and lost the tool's."""
    base = loads_policy(
        'default = "never"\ndns_refused = "pass"\ndetach = true\n'
        '[program."/opt/tool"]\ndefault = "permit"\nmissing = "errno"\n'
        'dns_refused = "nxdomain"\ndetach = false\n', "base.toml",
        env=ENV)
    assert base.main.allow_detach and base.programs["/opt/tool"].missing == Missing.ERRNO
    learned = learn([read("/usr/lib/x", table="/usr/bin/cat")], LearnOptions(env=ENV)).policy
    cat = merge_policies(base, learned, ENV).programs["/usr/bin/cat"]
    assert cat.default is Action.NEVER
    assert cat.missing == Missing.ERRNO
    assert cat.dns_refused == DnsRefused.NXDOMAIN
    assert not cat.allow_detach
