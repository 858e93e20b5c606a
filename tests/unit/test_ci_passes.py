"""The second CI pass (.ci/run: tests/engine and tests/escape again with SYSTRACE_NO_CLOOP=1,
``-m "not both_loops and not loop_blind"``) leaves out exactly the tests that cover both stop
loops themselves -- tests/conftest.py marks every test parametrized over ``loop``, by its
fixture or by a parametrization of its own, and nothing else -- and the tests of
conftest.LOOP_BLIND, whose runs the loop cannot change."""

from __future__ import annotations

import ast

import pytest

from conftest import LOOP_BLIND, LOOPS, REPO


def test_the_loop_fixture_marks_its_tests(loop: dict[str, str],
                                          request: pytest.FixtureRequest) -> None:
    assert loop in LOOPS.values()
    assert request.node.get_closest_marker("both_loops") is not None


@pytest.mark.parametrize("loop", [{"SYSTRACE_NO_CLOOP": "1"}], ids=["own"])
def test_a_loop_parametrized_in_place_is_marked_too(loop: dict[str, str],
                                                    request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("both_loops") is not None


@pytest.mark.parametrize("tasks", ["single", "threads"])
def test_other_tests_are_left_to_both_passes(tasks: str, request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("both_loops") is None



def test_every_loop_blind_entry_names_a_test_of_the_second_pass() -> None:
    """A renamed test or file would drop out of LOOP_BLIND unseen (it would only run twice
    again): every entry names a file of tests/engine or tests/escape, and a test function
    defined there."""
    for entry, reason in LOOP_BLIND.items():
        file, _, function = entry.partition("::")
        assert file.startswith(("tests/engine/", "tests/escape/")) and reason, entry
        tree = ast.parse((REPO / file).read_text())
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert not function or function in names, entry
