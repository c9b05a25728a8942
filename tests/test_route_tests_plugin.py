"""The pytest plugin: route test files collected as items, failures as expected versus actual."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TELECOM = Path(__file__).resolve().parent.parent / "examples" / "telecom"
PLUGIN = "crmcms.entrypoints.pytest_plugin"

PASSING = """
test "a BIS client is handed over" {
    route TERMINATION
    client { category: "BIS"  region: "Moscow" }
    operator olga
    values { 166: "Переезд"  168: 2026-04-01 }
    perform to_sd
    expect queue 67
}
"""

FAILING = """
test "a VIP client is handed over" {
    route TERMINATION
    client { category: "VIP" }
    operator olga
    values { 166: "Переезд"  168: 2026-04-01 }
    expect available to_sd
}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # Installed plugins stay out of the inner runs: the plugin under test is given with -p.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    definitions = pytester.path / "definitions"
    definitions.mkdir()
    for crm in TELECOM.glob("*.crm"):
        shutil.copy(crm, definitions)
    return pytester


def test_route_tests_beside_their_definitions_are_items(project: pytest.Pytester) -> None:
    (project.path / "definitions" / "termination.crmtest").write_text(
        PASSING + FAILING, encoding="utf-8"
    )
    result = project.runpytest("-p", PLUGIN, "-p", "no:randomly", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*termination.crmtest::a BIS client is handed over PASSED*",
            "*termination.crmtest::a VIP client is handed over FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*termination.crmtest:16:22: expected transition to_sd available to olga, but it is"
            " unavailable in process registration",
            "*expect available to_sd",
            '*why: rule ONLY_BIS (Только для клиентов BIS) is false: Клиент.Категория = "BIS"'
            ' (Клиент.Категория is "VIP")',
        ]
    )


def test_definitions_in_a_parent_directory_are_found(project: pytest.Pytester) -> None:
    tests = project.path / "definitions" / "tests"
    tests.mkdir()
    (tests / "one.crmtest").write_text(PASSING, encoding="utf-8")
    project.runpytest("-p", PLUGIN, "-p", "no:randomly").assert_outcomes(passed=1)


def test_the_option_and_the_ini_option_name_the_definitions(project: pytest.Pytester) -> None:
    tests = project.path / "tests"
    tests.mkdir()
    (tests / "one.crmtest").write_text(PASSING, encoding="utf-8")
    result = project.runpytest(
        "-p", PLUGIN, "-p", "no:randomly", "--crm-definitions", "definitions"
    )
    result.assert_outcomes(passed=1)
    project.makeini("[pytest]\ncrm_definitions = definitions\n")
    project.runpytest("-p", PLUGIN, "-p", "no:randomly").assert_outcomes(passed=1)


def test_without_definitions_collection_fails_clearly(project: pytest.Pytester) -> None:
    tests = project.path / "tests"
    tests.mkdir()
    (tests / "one.crmtest").write_text(PASSING, encoding="utf-8")
    result = project.runpytest("-p", PLUGIN, "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no definitions to test against*--crm-definitions*"])


def test_a_syntax_error_is_a_collection_error_at_its_place(project: pytest.Pytester) -> None:
    (project.path / "definitions" / "bad.crmtest").write_text('test "x" {\n  wait 4 }\n')
    result = project.runpytest("-p", PLUGIN, "-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.crmtest:2:8: a duration is written like 4h*"])


def test_a_wrong_reference_fails_the_item_at_its_place(project: pytest.Pytester) -> None:
    (project.path / "definitions" / "bad.crmtest").write_text(
        'test "x" {\n  route TERMINATION\n  operator olga\n  perform nowhere\n}\n'
    )
    result = project.runpytest("-p", PLUGIN, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bad.crmtest:4:11: route TERMINATION v2 has no transition*"])
