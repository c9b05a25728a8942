"""RouteMachine: one route walked by random operators; stuck appeals, empty queue choices and
required attributes nobody can fill are found and told as the operators' actions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import settings

from crmcms.dsl.definitions.loader import load_catalog, load_catalog_text
from crmcms.testing.route_machine import RouteMachine, explore_route

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BASE = """
role OPERATOR "Operator" { permissions: register, handle, take, close, read }
operator anna "Anna" { roles: OPERATOR }
place CC "Contact centre"
channel PHONE "Phone"
client category BIS "Business"
topic T "Topic" { attribute A "A": string }
"""


def test_the_planted_bug_is_found_and_told_as_actions() -> None:
    catalog = load_catalog([EXAMPLES / "broken"])
    report = explore_route(catalog, "REFUND", budget=10)
    assert not report.passed
    assert report.problem is not None
    assert "is stuck in process review of route REFUND v1" in report.problem
    assert 'pay: rule BUSINESS (Client.Category = "BIS") never holds for such a client' in (
        report.problem
    )
    assert "nobody working in queue REVIEW may close it" in report.problem
    steps = report.problem.split("steps: ", 1)[1]
    assert steps.startswith("anna registers an appeal on REFUND for a ")
    assert re.search(r"(anna|boris) performs to_review on appeal \d+$", steps), steps


def test_the_example_routes_can_always_be_walked() -> None:
    catalog = load_catalog([EXAMPLES / "telecom"])
    report = explore_route(catalog, "TERMINATION", budget=2)
    assert report.passed, report.problem
    assert report.tally.done["transition"] > 0
    assert ("TERMINATION", 2, "to_sd") in report.exercised.performed


def test_an_empty_queue_choice_is_found() -> None:
    catalog = load_catalog_text(
        BASE
        + """
        rule PSKOV "Pskov": Client.Region = "Pskov"
        queue Q "Pskov only" { processes: start  when PSKOV }
        queue END "Closed ones" { processes: done }
        route R "R" {
            topics: T
            process start "Start" initial
            process done "Done" final
            transition finish start -> done "Finish"
        }
        """,
        check=False,
    )
    report = explore_route(catalog, "R", budget=10)
    assert report.problem is not None
    assert "no queue takes the new appeal" in report.problem
    assert "rule PSKOV is false" in report.problem


def test_a_required_attribute_nobody_can_fill_is_found() -> None:
    catalog = load_catalog_text(
        BASE
        + """
        queue Q "Everyone"
        route R "R" {
            topics: T
            process start "Start" initial
            process check "Check" { attribute A: readonly required }
            process done "Done" final
            transition go start -> check "Go"
            transition finish check -> done "Finish"
        }
        """,
        check=False,
    )
    report = explore_route(catalog, "R", budget=10)
    assert report.problem is not None
    assert "needs attribute A in process check, which is read-only there" in report.problem
    assert "anna performs go on appeal" in report.problem, report.problem


def test_a_loop_without_an_end_is_found() -> None:
    catalog = load_catalog_text(
        BASE.replace("close, ", "")
        + """
        queue Q "Everyone"
        route R "R" {
            topics: T
            process a "A" initial
            process b "B"
            process done "Done" final
            transition there a -> b "There"
            transition back b -> a "Back"
            transition finish b -> done "Finish" when Client.Category = "BIS"
        }
        """,
        check=False,
    )
    report = explore_route(catalog, "R", budget=10)
    assert report.problem is not None
    assert "can never reach a final process" in report.problem


def test_the_machine_runs_under_a_test_runner() -> None:
    catalog = load_catalog([EXAMPLES / "telecom"])
    machine = RouteMachine.for_route(catalog, "TERMINATION")
    machine.TestCase.settings = settings(max_examples=20, stateful_step_count=10, deadline=None)
    machine.TestCase("runTest").runTest()


def test_an_unknown_route_is_refused() -> None:
    catalog = load_catalog([EXAMPLES / "telecom"])
    with pytest.raises(Exception, match="NOWHERE"):
        RouteMachine.for_route(catalog, "NOWHERE")
