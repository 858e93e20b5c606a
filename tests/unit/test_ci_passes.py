"""The second CI pass (.ci/run: tests/engine and tests/escape again with SYSTRACE_NO_CLOOP=1,
``-m "not both_loops"``) leaves out exactly the tests that cover both stop loops themselves:
tests/conftest.py marks every test parametrized over ``loop`` -- by its fixture, or by a
parametrization of its own -- and nothing else."""

from __future__ import annotations

import pytest

from conftest import LOOPS


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

