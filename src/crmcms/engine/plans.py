"""Route plans: what moving an appeal needs from its route version, worked out once.

Definitions never change while an engine runs, so for each route version the engine
works out once what every transition needs: the transitions out of each process, its
handlers in running order, the candidate queues with their rules compiled and reasons
written. Actions then read plans instead of searching the catalog.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from crmcms.dsl import CompiledRule
from crmcms.engine.deadlines import calendar_for
from crmcms.engine.handlers import handlers_for
from crmcms.engine.history import change
from crmcms.engine.obstacles import Requirements
from crmcms.engine.queues import QueueCandidate, queue_candidates
from crmcms.engine.rules import RuleBook
from crmcms.errors import NotFoundError
from crmcms.model import (
    BusinessCalendar,
    Catalog,
    Change,
    Deadline,
    Handler,
    HandlerEvent,
    Permission,
    Process,
    QueuePolicy,
    Route,
    Transition,
)

__all__ = ["Plans", "ProcessPlan", "RoutePlan", "TransitionPlan"]


@attrs.frozen
class ProcessPlan:
    """One process of a route version, as entering and leaving it needs it.

    Plain fields (no properties) for what hot paths read: each read is then one lookup.
    """

    process: Process
    code: str
    final: bool
    deadline: Deadline | None
    clock_limit: timedelta | None
    """The deadline's limit when it counts clock time (due at entry plus this); ``None``
    when there is no deadline or it counts business time."""
    outgoing: tuple[Transition, ...]
    automatic: tuple[Transition, ...]
    """The automatic transitions out of it, in definition order."""
    keeps_queue: bool
    on_left: tuple[Handler, ...]
    on_entered: tuple[Handler, ...]
    on_closed: tuple[Handler, ...]


@attrs.frozen
class TransitionPlan:
    """One transition with its rule compiled, its handlers in running order, its ends."""

    transition: Transition
    code: str
    rule: CompiledRule | None
    source: ProcessPlan
    target: ProcessPlan
    on_hand_over: tuple[Handler, ...]
    on_rejection: tuple[Handler, ...]
    moved: tuple[Change, ...]
    """The history change of taking it: the process, from its source to its target."""
    plain: bool
    """Taking it runs no handlers, enters a process that keeps no queue and is not final:
    what most transitions are, and what the engine does in one step."""
    needs: Requirements
    """What taking it needs (see :func:`~crmcms.engine.obstacles.find_obstacles`)."""


class RoutePlan:
    """Every process and transition of one route version, planned.

    ``transitions`` holds every transition's plan by code: hot paths read it directly and
    call :meth:`transition` only for a code it lacks (which raises the route's error).
    """

    def __init__(self, catalog: Catalog, rules: RuleBook, route: Route) -> None:
        self.route = route
        self._catalog = catalog
        self._rules = rules
        self._candidates: dict[str, tuple[QueueCandidate, ...]] = {}
        self._calendars: dict[tuple[str, str | None], BusinessCalendar] = {}
        """Candidate queues by process, for those entered so far (see :meth:`queues`)."""
        self._processes = {p.code: self._process(route, p) for p in route.processes}
        self.transitions: dict[str, TransitionPlan] = {
            t.code: TransitionPlan(
                t,
                t.code,
                None if t.rule is None else rules.rule(t.rule),
                self._processes[t.source],
                self._processes[t.target],
                handlers_for(HandlerEvent.HAND_OVER, t.handlers, route),
                handlers_for(HandlerEvent.REJECTION, t.handlers, route),
                () if t.source == t.target else (change("process", t.source, t.target),),
                _plain(self._processes[t.source], self._processes[t.target], t, route),
                self._needs(t),
            )
            for t in route.transitions
        }
        self.closing = Requirements(
            permission=Permission.CLOSE,
            work=True,
            leaves_process=True,
            closes=True,
            open_children_allowed=route.close_with_open_children,
        )
        """What closing an appeal of the route by hand needs."""

    def _needs(self, t: Transition) -> Requirements:
        closes = self._processes[t.target].final
        return Requirements(
            permission=Permission.CLOSE if closes else Permission.HANDLE,
            work=True,
            automatic=t.automatic,
            rule=None if t.rule is None else self._rules.rule(t.rule),
            rule_code=t.rule or "",
            rule_name="" if t.rule is None else self._catalog.rule(t.rule).name,
            leaves_process=True,
            closes=closes,
            open_children_allowed=self.route.close_with_open_children,
        )

    @staticmethod
    def _process(route: Route, p: Process) -> ProcessPlan:
        outgoing = route.transitions_from(p.code)
        return ProcessPlan(
            p,
            p.code,
            p.final,
            p.deadline,
            None if p.deadline is None or p.deadline.business_time else p.deadline.limit,
            outgoing,
            tuple(t for t in outgoing if t.automatic),
            p.queue_policy is QueuePolicy.KEEP,
            handlers_for(HandlerEvent.PROCESS_LEFT, p.handlers, route),
            handlers_for(HandlerEvent.PROCESS_ENTERED, p.handlers, route),
            handlers_for(HandlerEvent.APPEAL_CLOSED, p.handlers, route),
        )

    def process(self, code: str) -> ProcessPlan:
        found = self._processes.get(code)
        if found is None:
            self.route.process(code)  # raises the route's own "not found" error
            raise NotFoundError(f"process of route {self.route.code}", code)  # pragma: no cover
        return found

    def queues(self, process: str) -> tuple[QueueCandidate, ...]:
        """The candidate queues of ``process``, worked out when an appeal first enters it (so
        that a queue missing from the catalog is reported there, as it always was)."""
        found = self._candidates.get(process)
        if found is None:
            found = queue_candidates(self._catalog, self._rules, self.route, process)
            self._candidates[process] = found
        return found

    def calendar(self, process: str, queue: str | None) -> BusinessCalendar:
        """The calendar a deadline of ``process`` counts in while the appeal waits in
        ``queue`` (see :func:`~crmcms.engine.deadlines.calendar_for`)."""
        key = (process, queue)
        found = self._calendars.get(key)
        if found is None:
            catalog = self._catalog
            waiting = None if queue is None else catalog.queue(queue)
            found = calendar_for(catalog, self.route, self.process(process).process, waiting)
            self._calendars[key] = found
        return found

    def transition(self, code: str) -> TransitionPlan:
        found = self.transitions.get(code)
        if found is None:
            self.route.transition(code)  # raises the route's own "not found" error
            raise NotFoundError(f"transition of route {self.route.code}", code)  # pragma: no cover
        return found


def _plain(source: ProcessPlan, target: ProcessPlan, transition: Transition, route: Route) -> bool:
    return not (
        source.on_left
        or handlers_for(HandlerEvent.HAND_OVER, transition.handlers, route)
        or target.on_entered
        or target.final
        or target.keeps_queue
    )


class Plans(dict[tuple[str, int], RoutePlan]):
    """Route plans by (route, version): ``plans[code, version]``, made on first use and kept
    (a plain dict lookup after that)."""

    def __init__(self, catalog: Catalog, rules: RuleBook) -> None:
        super().__init__()
        self.catalog = catalog
        self.rules = rules

    def __missing__(self, key: tuple[str, int]) -> RoutePlan:
        route = self.catalog.route(*key)
        found = self[key] = RoutePlan(self.catalog, self.rules, route)
        return found
