"""Route coverage: which transitions, queue choices and rule outcomes route tests exercised,
and which the route machines' random walks reached beside them."""

from __future__ import annotations

from collections.abc import Callable, Collection

import attrs

from crmcms.engine.queues import candidate_queues
from crmcms.model import Catalog, QueuePolicy, Route
from crmcms.testing.route_tests import Exercised

__all__ = ["KINDS", "CoverageLine", "RouteCoverage", "route_coverage"]


@attrs.frozen
class CoverageLine:
    """One thing a route can do, and whether the tests and the machines made it happen."""

    kind: str
    """``transition``, ``queue`` or ``rule``."""
    name: str
    detail: str
    covered: bool
    """Whether route tests made it happen."""
    note: str = ""
    """What the tests saw short of covering it (a transition seen available or refused)."""
    machines: bool | None = None
    """Whether the route machines' walks made it happen; ``None`` when no machine walked."""

    @property
    def reached(self) -> bool:
        """Whether anything made it happen, tests or machines."""
        return self.covered or bool(self.machines)

    @property
    def status(self) -> str:
        """``tests``, ``machines only`` or ``no``: who reached it first, tests counting most
        (a machine's walk is no expectation)."""
        return "tests" if self.covered else "machines only" if self.machines else "no"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "detail": self.detail,
            "tests": self.covered,
            "machines": self.machines,
            "status": self.status,
            "note": self.note,
        }


@attrs.frozen
class RouteCoverage:
    """The coverage of one route version."""

    route: str
    version: int
    lines: tuple[CoverageLine, ...]
    machines: bool = False
    """Whether a route machine walked the route (otherwise no line says what one reached)."""

    def of(self, kind: str) -> tuple[CoverageLine, ...]:
        return tuple(line for line in self.lines if line.kind == kind)

    def share(self, kind: str) -> float | None:
        """The share of ``kind`` the route tests covered; ``None`` when the route has none."""
        lines = self.of(kind)
        return sum(line.covered for line in lines) / len(lines) if lines else None

    def combined_share(self, kind: str) -> float | None:
        """The share of ``kind`` the tests or the machines reached; ``None`` when the route
        has none or no machine walked it."""
        lines = self.of(kind)
        if not lines or not self.machines:
            return None
        return sum(line.reached for line in lines) / len(lines)

    @property
    def uncovered(self) -> tuple[CoverageLine, ...]:
        """What no route test made happen."""
        return tuple(line for line in self.lines if not line.covered)

    @property
    def machines_only(self) -> tuple[CoverageLine, ...]:
        """What only the machines' walks reached: a route test to write."""
        return tuple(line for line in self.lines if line.machines and not line.covered)

    @property
    def unreached(self) -> tuple[CoverageLine, ...]:
        """What nothing made happen, tests or machines."""
        return tuple(line for line in self.lines if not line.reached)

    def as_dict(self) -> dict[str, object]:
        """The coverage as plain data (JSON-ready)."""
        return {
            "route": self.route,
            "version": self.version,
            "machines": self.machines,
            "shares": {
                kind: {"tests": self.share(kind), "with_machines": self.combined_share(kind)}
                for kind in KINDS
            },
            "lines": [line.as_dict() for line in self.lines],
        }


KINDS = ("transition", "queue", "rule")
"""The kinds of coverage lines, in the order they are listed."""


def route_coverage(
    catalog: Catalog, exercised: Exercised, machines: Exercised | None = None
) -> list[RouteCoverage]:
    """The coverage of the current version of each route of ``catalog`` (new appeals start
    there, so route tests run there): what the route tests ``exercised`` and, when given,
    what the route machines' walks reached (``machines``)."""
    codes = dict.fromkeys(r.code for r in catalog.routes)
    return [_coverage(catalog, catalog.route(code), exercised, machines) for code in codes]


def _coverage(
    catalog: Catalog, route: Route, seen: Exercised, walked: Exercised | None
) -> RouteCoverage:
    key = (route.code, route.version)
    lines: list[CoverageLine] = []

    def line(
        kind: str,
        name: str,
        detail: str,
        at: object,
        where: Callable[[Exercised], Collection[object]],
        note: str = "",
    ) -> None:
        reached = None if walked is None else at in where(walked)
        lines.append(CoverageLine(kind, name, detail, at in where(seen), note, reached))

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
        line("transition", t.code, detail, at, _performed, note)
    rules: dict[str, None] = dict.fromkeys(t.rule for t in route.transitions if t.rule)
    for process in route.processes:
        if process.queue_policy is not QueuePolicy.RULES:
            continue
        for queue in candidate_queues(catalog, route, process.code):
            detail = f"{queue.name}" + (f" when {queue.rule}" if queue.rule else "")
            at_queue = (*key, process.code, queue.code)
            line(
                "queue",
                f"{process.code} -> {queue.code}",
                detail,
                at_queue,
                _queues,
            )
            if queue.rule:
                rules[queue.rule] = None
    for code in rules:
        expression = catalog.rule(code).expression
        for outcome in (True, False):
            name = f"{code} {'holds' if outcome else 'is false'}"
            line("rule", name, expression, (code, outcome), _rules)
    return RouteCoverage(route.code, route.version, tuple(lines), walked is not None)


def _performed(exercised: Exercised) -> Collection[object]:
    return exercised.performed


def _queues(exercised: Exercised) -> Collection[object]:
    return exercised.queues


def _rules(exercised: Exercised) -> Collection[object]:
    return exercised.rules
