"""Everything that can be verified of definition files before they go live, in one call: the
static checks, the route test files beside them and a state machine walk of every route, within
a time budget; with the coverage the tests reached and a JUnit XML report for CI."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from crmcms.dsl.definitions.loader import check_paths, definition_files, load_catalog
from crmcms.dsl.definitions.plugin_functions import PluginFunctions
from crmcms.dsl.route_tests import RouteTest, RouteTestFile, read_route_tests
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import DefinitionError, DslError
from crmcms.model import Catalog
from crmcms.testing.coverage import KINDS, RouteCoverage, route_coverage
from crmcms.testing.route_machine import MachineReport, explore_route
from crmcms.testing.route_tests import Exercised, RouteTestResult, run_route_test

__all__ = ["DEFAULT_BUDGET", "TestError", "Verification", "verify", "write_junit"]

DEFAULT_BUDGET = 10.0
"""Seconds the route machines may take together, by default."""


@attrs.frozen
class TestError:
    """A route test that could not run: it names what the definitions lack."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    test: RouteTest
    file: str
    error: DslError


@attrs.frozen
class Verification:
    """What :func:`verify` found."""

    definition_files: tuple[str, ...]
    problems: tuple[DslError, ...]
    """Static problems of the definitions, and syntax errors of the route test files."""
    results: tuple[RouteTestResult, ...] = ()
    errors: tuple[TestError, ...] = ()
    machines: tuple[MachineReport, ...] = ()
    coverage: tuple[RouteCoverage, ...] = ()
    seconds: float = 0.0
    check_seconds: float = 0.0

    @property
    def failed_tests(self) -> tuple[RouteTestResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def failed_machines(self) -> tuple[MachineReport, ...]:
        return tuple(m for m in self.machines if not m.passed)

    @property
    def passed(self) -> bool:
        return not (self.problems or self.errors or self.failed_tests or self.failed_machines)


def verify(
    paths: Iterable[str | os.PathLike[str]],
    *,
    budget: float = DEFAULT_BUDGET,
    machines: bool = True,
    shrink: bool = True,
    seed: int | None = None,
    schema: Schema | None = None,
    functions: PluginFunctions | None = None,
) -> Verification:
    """Check the definition files in ``paths`` (directories: every ``*.crm`` and ``*.crmtest``
    inside), run their route test files, and walk each route with
    :class:`~crmcms.testing.route_machine.RouteMachine` for a share of ``budget`` seconds
    (a failing walk is then shortened with ``shrink``, which may take a few seconds more);
    a ``budget`` of 0 walks no route, like ``machines=False``. With ``seed``, each route is
    walked once in a batch drawn from that seed, the same on every run, whatever the budget.

    The coverage tells for each route what its tests exercised and what the machines reached.

    Static problems stop it there: tests of definitions that do not load say nothing."""
    started = time.perf_counter()
    given = [Path(p) for p in paths]
    files = definition_files([p for p in given if p.is_dir() or p.suffix == ".crm"])
    names = tuple(str(f) for f in files)
    problems = list(check_paths(files, schema=schema, functions=functions))
    try:
        test_files = read_route_tests(given)
    except DefinitionError as exc:
        problems += [p for p in exc.problems if isinstance(p, DslError)]
        test_files = []
    check_seconds = time.perf_counter() - started
    if problems:
        return Verification(names, tuple(problems), seconds=check_seconds)
    catalog = load_catalog(files, schema=schema)
    results, errors = _run_tests(catalog, test_files)
    exercised = Exercised()
    for result in results:
        exercised.update(result.exercised)
    reports: list[MachineReport] = []
    walked = Exercised() if machines and budget > 0 else None
    if walked is not None:
        codes = list(dict.fromkeys(r.code for r in catalog.routes))
        for i, code in enumerate(codes):
            left = budget - (time.perf_counter() - started - check_seconds)
            share = max(0.0, left) / (len(codes) - i)
            report = explore_route(catalog, code, budget=share, shrink=shrink, seed=seed)
            reports.append(report)
            walked.update(report.exercised)
    return Verification(
        names,
        (),
        tuple(results),
        tuple(errors),
        tuple(reports),
        tuple(route_coverage(catalog, exercised, walked)),
        time.perf_counter() - started,
        check_seconds,
    )


def _run_tests(
    catalog: Catalog, files: Sequence[RouteTestFile]
) -> tuple[list[RouteTestResult], list[TestError]]:
    results, errors = [], []
    for file in files:
        for test in file.tests:
            try:
                results.append(run_route_test(catalog, test, file))
            except DslError as exc:
                errors.append(TestError(test, file.file, exc))
    return results, errors


def write_junit(verification: Verification, path: str | os.PathLike[str]) -> None:
    """Write ``verification`` as JUnit XML: a suite each for the static checks, the route
    tests and the route machines, and a coverage suite with a test case per route whose
    properties say, for each thing the route can do, ``tests``, ``machines only`` or ``no``."""
    root = ET.Element("testsuites", name="crmcms verify")
    checks = _suite(root, "static checks")
    case = ET.SubElement(
        checks,
        "testcase",
        name="definitions",
        classname="crmcms.check",
        time=f"{verification.check_seconds:.3f}",
    )
    if verification.problems:
        failure = ET.SubElement(
            case, "failure", message=f"{len(verification.problems)} problems", type="DslError"
        )
        failure.text = "\n".join(p.render() for p in verification.problems)
    tests = _suite(root, "route tests")
    for result in verification.results:
        case = ET.SubElement(
            tests, "testcase", name=result.name, classname=result.file, time=f"{result.seconds:.3f}"
        )
        if result.failures:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"expected {result.failures[0].expected}",
                type="RouteTestFailure",
            )
            failure.text = "\n".join(f.render() for f in result.failures)
    for error in verification.errors:
        case = ET.SubElement(tests, "testcase", name=error.test.name, classname=error.file)
        element = ET.SubElement(case, "error", message=error.error.message, type="DslError")
        element.text = error.error.render()
    walks = _suite(root, "route machines")
    for report in verification.machines:
        case = ET.SubElement(
            walks,
            "testcase",
            name=report.route,
            classname="crmcms.RouteMachine",
            time=f"{report.seconds:.3f}",
        )
        if report.problem is not None:
            failure = ET.SubElement(
                case, "failure", message=report.problem.splitlines()[0], type="RouteProblem"
            )
            failure.text = report.problem
    _coverage_suite(root, verification.coverage)
    for suite in root:
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
        suite.set("errors", str(sum(c.find("error") is not None for c in cases)))
        total = sum(float(c.get("time", "0")) for c in cases)
        suite.set("time", f"{total:.3f}")
    for name in ("tests", "failures", "errors"):
        root.set(name, str(sum(int(s.get(name, "0")) for s in root)))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _suite(root: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name)


def _coverage_suite(root: ET.Element, coverage: Sequence[RouteCoverage]) -> None:
    suite = _suite(root, "coverage")
    for route in coverage:
        case = ET.SubElement(
            suite, "testcase", name=f"{route.route} v{route.version}", classname="crmcms.coverage"
        )
        properties = ET.SubElement(case, "properties")
        for kind in KINDS:
            for by, share in (
                ("by tests", route.share(kind)),
                ("with machines", route.combined_share(kind)),
            ):
                if share is not None:
                    value = f"{share:.0%}"
                    ET.SubElement(properties, "property", name=f"{kind}s {by}", value=value)
        ET.SubElement(
            properties, "property", name="machines", value="yes" if route.machines else "off"
        )
        for line in route.lines:
            ET.SubElement(
                properties, "property", name=f"{line.kind} {line.name}", value=line.status
            )
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            f"{line.kind} {line.name} ({line.detail}): {line.status}" for line in route.lines
        )
