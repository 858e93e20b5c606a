"""Review 72: ``model.answer_conditions`` read as an attacker -- an answer's address
condition wider than its ``ask``'s is taken as covered (the coverage test reads the path
alone), so it stands before the ``ask`` in front of the refusals after it."""

from __future__ import annotations

from systrace_py.policy.files import loads_policy
from systrace_py.policy.model import answer_conditions


def test_an_answer_wider_than_its_ask_by_address_does_not_stand_before_it() -> None:
    """Each pair: an ``ask`` naming an address condition, and an answer the question
    offers (``host``: this address, any port; ``dir``: every socket in the directory;
    ``port``: any address) that names a wider one.  Placed before the ``ask`` it overtakes
    the ``never`` after it: not covered, or narrowed by every condition the ``ask`` names."""
    policy = loads_policy(
        'version = 1\ndefault = "permit"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\nport = 443\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\nunix = "/run/a/x.sock"\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\naddress = "10.0.0.0/8"\naction = "ask"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\naddress = "127.0.0.1"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\nunix = "/run/a/*"\naction = "permit"\n\n'
        '[[rule]]\ncalls = ["net-connect"]\nport = 443\naction = "permit"\n',
        "t.toml", {"HOME": "/root"})
    ask_port, ask_unix, ask_addr, host, unix_dir, any_address = policy.main.rules
    for answer, ask in ((host, ask_port), (unix_dir, ask_unix), (any_address, ask_addr)):
        answered, covered = answer_conditions(answer, ask)
        assert not covered or all(  # (narrowed: every condition the ask names, kept)
            getattr(answered.net, part) == getattr(ask.net, part)
            for part in ("networks", "ports", "unix", "hosts")
            if getattr(ask.net, part, None) is not None), (answer, ask, answered)
