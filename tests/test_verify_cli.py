"""crmcms verify: the planted bug of the broken example found (exit 1), the telecom example
passing (exit 0) within its default budget, coverage tables and JUnit XML."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from crmcms.entrypoints.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ENV = {"COLUMNS": "200"}


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["verify", *args], env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_the_planted_bug_is_found(tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    code, output = _verify(str(EXAMPLES / "broken"), "--budget", "3", "--junit", str(junit))
    assert code == 1
    assert "FAILED" in output
    assert "refund.crmtest:29:22: expected transition pay available to boris" in output
    assert 'why: rule BUSINESS (Business clients) is false: Client.Category = "BIS"' in output
    assert "STUCK route REFUND" in output
    assert "is stuck in process review of route REFUND v1" in output
    assert "steps: anna registers an appeal on REFUND for" in output
    assert "Route REFUND v1: transitions 100% by tests, " in output
    assert "rule outcomes 75% by tests, " in output
    assert "2 route tests, 1 failed; 1 route walked" in output

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["static checks", "route tests", "route machines", "coverage"]
    tests = suites["route tests"]
    assert (tests.get("tests"), tests.get("failures"), tests.get("errors")) == ("2", "1", "0")
    failing = [c for c in tests.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["a private client is refunded"]
    failure = failing[0].find("failure")
    assert failure is not None
    assert failure.get("type") == "RouteTestFailure"
    assert "expected transition pay available" in (failure.text or "")
    assert all(c.get("classname", "").endswith("refund.crmtest") for c in tests)
    machines = suites["route machines"]
    assert (machines.get("tests"), machines.get("failures")) == ("1", "1")
    assert root.get("failures") == "2"
    for case in root.iter("testcase"):
        float(case.get("time", "0"))


def test_the_telecom_example_passes_within_its_default_budget(tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    started = time.perf_counter()
    code, output = _verify(str(EXAMPLES / "telecom"), "--junit", str(junit))
    assert time.perf_counter() - started < 30
    assert code == 0, output
    assert "Route TERMINATION v2: transitions 100% by tests, 100% with machines" in output
    assert "0 static problems" in output
    assert "0 stuck" in output
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    assert root.get("errors") == "0"


def test_static_problems_stop_the_verification(tmp_path: Path) -> None:
    (tmp_path / "bad.crm").write_text('route R "R" {\n  topics: NOWHERE\n}\n', encoding="utf-8")
    code, output = _verify(str(tmp_path), "--no-machines")
    assert code == 1
    assert "bad.crm:" in output
    assert "static problem" in output


def test_a_test_naming_what_the_definitions_lack_fails_verification(tmp_path: Path) -> None:
    for crm in (EXAMPLES / "telecom").glob("*.crm"):
        (tmp_path / crm.name).write_text(crm.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "x.crmtest").write_text(
        'test "x" {\n  route TERMINATION\n  operator olga\n  perform nowhere\n}\n',
        encoding="utf-8",
    )
    code, output = _verify(str(tmp_path), "--no-machines")
    assert code == 1
    assert "x.crmtest:4:11: route TERMINATION v2 has no transition nowhere" in output
