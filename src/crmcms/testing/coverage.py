"""Route coverage: which transitions, queue choices and rule outcomes route tests exercised."""

from __future__ import annotations

import attrs

from crmcms.engine.queues import candidate_queues
from crmcms.model import Catalog, QueuePolicy, Route
from crmcms.testing.route_tests import Exercised

__all__ = ["CoverageLine", "RouteCoverage", "route_coverage"]


@attrs.frozen
class CoverageLine:
    """One thing a route can do, and whether the tests made it happen."""

    kind: str
    """``transition``, ``queue`` or ``rule``."""
    name: str
    detail: str
    covered: bool
    note: str = ""
    """What the tests saw short of covering it (a transition seen available or refused)."""


@attrs.frozen
class RouteCoverage:
    """The coverage of one route version."""

    route: str
    version: int
    lines: tuple[CoverageLine, ...]

    def of(self, kind: str) -> tuple[CoverageLine, ...]:
        return tuple(line for line in self.lines if line.kind == kind)

    def share(self, kind: str) -> float | None:
        """The share of ``kind`` covered; ``None`` when the route has none."""
        lines = self.of(kind)
        return sum(line.covered for line in lines) / len(lines) if lines else None

    @property
    def uncovered(self) -> tuple[CoverageLine, ...]:
        return tuple(line for line in self.lines if not line.covered)


def route_coverage(catalog: Catalog, exercised: Exercised) -> list[RouteCoverage]:
    """The coverage of the current version of each route of ``catalog`` (new appeals start
    there, so route tests run there)."""
    codes = dict.fromkeys(r.code for r in catalog.routes)
    return [_coverage(catalog, catalog.route(code), exercised) for code in codes]


def _coverage(catalog: Catalog, route: Route, seen: Exercised) -> RouteCoverage:
    key = (route.code, route.version)
    lines: list[CoverageLine] = []
    for t in route.transitions:
        at = (*key, t.code)
        note = (
            "seen available"
            if at in seen.available
            else "seen refused"
            if at in seen.unavailable
            else ""
        )
        detail = f"{t.source} -> {t.target}" + (f" when {t.rule}" if t.rule else "")
        lines.append(CoverageLine("transition", t.code, detail, at in seen.performed, note))
    rules: dict[str, None] = dict.fromkeys(t.rule for t in route.transitions if t.rule)
    for process in route.processes:
        if process.queue_policy is not QueuePolicy.RULES:
            continue
        for queue in candidate_queues(catalog, route, process.code):
            detail = f"{queue.name}" + (f" when {queue.rule}" if queue.rule else "")
            covered = (*key, process.code, queue.code) in seen.queues
            lines.append(CoverageLine("queue", f"{process.code} -> {queue.code}", detail, covered))
            if queue.rule:
                rules[queue.rule] = None
    for code in rules:
        expression = catalog.rule(code).expression
        for outcome in (True, False):
            name = f"{code} {'holds' if outcome else 'is false'}"
            lines.append(CoverageLine("rule", name, expression, (code, outcome) in seen.rules))
    return RouteCoverage(route.code, route.version, tuple(lines))
