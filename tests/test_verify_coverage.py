"""The coverage of crmcms verify tells what route tests exercised and what the route machines'
walks reached: what only a machine reached (a test to write), what nothing reached, the
combined shares, the same in JUnit XML and as plain data; --seed makes it repeatable and
--budget 0 turns the machines off."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli
from crmcms.testing.coverage import RouteCoverage
from crmcms.testing.verify import verify, write_junit

# Two queues take new appeals and the first always does: nothing can reach the second.
# The route test only registers: only a machine takes the route to its end.
DEFINITIONS = """
role OPERATOR "Operator" { permissions: register, handle, take, close, read }
operator anna "Anna" { roles: OPERATOR }
place CC "Contact centre"
channel PHONE "Phone"
topic T "Topic" { attribute A "A": string }
queue FIRST "First" { processes: start }
queue SECOND "Second" { processes: start }
queue END "Closed ones" { processes: done }
route R "R" {
    topics: T
    process start "Start" initial
    process done "Done" final
    transition finish start -> done "Finish"
}
"""

TESTS = """
test "a new appeal starts" {
    route R
    operator anna
    expect process start
    expect queue FIRST
}
"""


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    (tmp_path / "defs.crm").write_text(DEFINITIONS, encoding="utf-8")
    (tmp_path / "r.crmtest").write_text(TESTS, encoding="utf-8")
    return tmp_path


def _route(definitions: Path, seed: int) -> RouteCoverage:
    (coverage,) = verify([definitions], seed=seed).coverage
    return coverage


def _line(coverage: RouteCoverage, name: str) -> tuple[bool, bool | None, str]:
    (line,) = [line for line in coverage.lines if line.name == name]
    return line.covered, line.machines, line.status


def test_what_only_the_machines_reached_and_what_nothing_reached(definitions: Path) -> None:
    coverage = _route(definitions, seed=0)
    assert coverage.machines
    assert _line(coverage, "finish") == (False, True, "machines only")
    assert _line(coverage, "start -> FIRST") == (True, True, "tests")
    assert _line(coverage, "start -> SECOND") == (False, False, "no")
    assert {line.name for line in coverage.machines_only} == {"finish", "done -> END"}
    assert [line.name for line in coverage.unreached] == ["start -> SECOND"]
    assert coverage.share("transition") == 0.0
    assert coverage.combined_share("transition") == 1.0
    assert coverage.share("queue") == pytest.approx(1 / 3)
    assert coverage.combined_share("queue") == pytest.approx(2 / 3)
    assert coverage.share("rule") is None
    assert coverage.combined_share("rule") is None


def test_a_rule_outcome_only_a_machine_saw() -> None:
    # No test of the broken example registers a refund without a contract number.
    coverage = _route(Path(__file__).resolve().parent.parent / "examples" / "broken", seed=0)
    assert _line(coverage, "HAS_CONTRACT is false") == (False, True, "machines only")


def test_the_same_seed_reaches_the_same(definitions: Path) -> None:
    first = _route(definitions, seed=3)
    again = _route(definitions, seed=3)
    assert first.lines == again.lines


@pytest.mark.parametrize("options", [{"budget": 0}, {"machines": False}])
def test_without_machines_the_coverage_says_so(
    definitions: Path, options: dict[str, object]
) -> None:
    found = verify([definitions], **options)  # type: ignore[arg-type]
    assert found.machines == ()
    (coverage,) = found.coverage
    assert not coverage.machines
    assert _line(coverage, "finish") == (False, None, "no")
    assert coverage.combined_share("transition") is None
    assert coverage.share("queue") == pytest.approx(1 / 3)


def test_the_table_shows_both_columns(definitions: Path) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(definitions), "--seed", "0"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert (
        "Route R v1: transitions 0% by tests, 100% with machines, queue choices 33% by tests, "
        "67% with machines, rule outcomes -"
    ) in result.output
    rows = {
        cells[1]: cells[3:5]
        for cells in (
            [c.strip() for c in line.split("│")[1:-1]]
            for line in result.output.splitlines()
            if line.startswith("│")
        )
    }
    assert rows["finish"] == ["no (seen available)", "yes, machines only"]
    assert rows["start -> FIRST"] == ["yes", "yes"]
    assert rows["start -> SECOND"] == ["no", "no"]


def test_budget_zero_turns_the_machine_column_off(definitions: Path) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(definitions), "--budget", "0"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert (
        "transitions 0% by tests, queue choices 33% by tests, rule outcomes - (machines off)"
        in (result.output)
    )
    assert "0 routes walked 0 times" in result.output
    finish = next(line for line in result.output.splitlines() if "│ finish" in line)
    assert finish.split("│")[-2].strip() == "off"


def test_a_bad_seed_is_refused(definitions: Path) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(definitions), "--seed", "soon"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "--seed" in result.output


def test_junit_and_plain_data_carry_the_distinction(definitions: Path, tmp_path: Path) -> None:
    found = verify([definitions], seed=0)
    junit = tmp_path / "verify.xml"
    write_junit(found, junit)
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["static checks", "route tests", "route machines", "coverage"]
    (case,) = suites["coverage"].findall("testcase")
    assert case.get("name") == "R v1"
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["machines"] == "yes"
    assert properties["transitions by tests"] == "0%"
    assert properties["transitions with machines"] == "100%"
    assert properties["transition finish"] == "machines only"
    assert properties["queue start -> FIRST"] == "tests"
    assert properties["queue start -> SECOND"] == "no"
    assert "rules by tests" not in properties
    assert root.get("failures") == "0"

    data = json.loads(json.dumps(found.coverage[0].as_dict()))
    assert data["machines"] is True
    assert data["shares"]["transition"] == {"tests": 0.0, "with_machines": 1.0}
    finish = next(line for line in data["lines"] if line["name"] == "finish")
    assert (finish["tests"], finish["machines"], finish["status"]) == (
        False,
        True,
        "machines only",
    )


def test_junit_without_machines_says_off(definitions: Path, tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    write_junit(verify([definitions], machines=False), junit)
    root = ET.parse(junit).getroot()
    (case,) = root.findall("testsuite[@name='coverage']/testcase")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["machines"] == "off"
    assert "transitions with machines" not in properties
    assert properties["transition finish"] == "no"
