"""Keeping stored SLA clocks equal to what the history says, after every action and in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from crmcms.engine.deadlines import calendar_for
from crmcms.engine.escalations import next_escalation
from crmcms.engine.ports import UnitOfWork
from crmcms.engine.sla_clocks import TimelineOf, clocks_from_history, default_timelines
from crmcms.model import Appeal, Catalog, Deadline, HistoryEvent, Route, SlaAttempt, SlaClock
from crmcms.model.business_time import Timeline, timeline
from crmcms.model.calendars import ALWAYS

__all__ = [
    "clocks_now",
    "recompute_appeal",
    "refresh_clocks",
    "timelines_of",
    "waits_of",
    "working_timeline",
]


def _route(catalog: Catalog, appeal: Appeal) -> Route:
    return catalog.route(appeal.route, appeal.route_version)


def timelines_of(catalog: Catalog, route: Route) -> TimelineOf:
    """The timelines the route's deadlines count in: a process's business deadlines in the
    process's calendar, else the route's (:func:`~crmcms.engine.deadlines.calendar_for`)."""
    if route.calendar is None and all(p.calendar is None for p in route.processes):
        return default_timelines()
    always = timeline(ALWAYS)
    lines: dict[str | None, Timeline] = {}

    def of(deadline: Deadline, process: str | None) -> Timeline:
        if not deadline.business_time:
            return always
        found = lines.get(process)
        if found is None:
            owner = None if process is None else route.process(process)
            found = lines[process] = timeline(calendar_for(catalog, route, owner))
        return found

    return of


def working_timeline(catalog: Catalog, route: Route) -> Timeline:
    """The working time a level ``in working time`` waits for: the route's calendar."""
    return timeline(calendar_for(catalog, route))


def clocks_now(
    uow: UnitOfWork, catalog: Catalog, appeal: Appeal, now: datetime
) -> tuple[SlaClock, ...]:
    """The appeal's clocks worked out from its history as of ``now``."""
    route = _route(catalog, appeal)
    if not route.has_clocks:
        return ()
    events = uow.history.for_appeal(appeal.id)
    return clocks_from_history(appeal, events, route, now, timelines_of(catalog, route))


def recompute_appeal(uow: UnitOfWork, catalog: Catalog, appeal: Appeal, now: datetime) -> bool:
    """Store the appeal's clocks as its history gives them now; whether they changed."""
    fresh = clocks_now(uow, catalog, appeal, now)
    stored = uow.clocks.for_appeal(appeal.id)
    if not fresh and not stored:
        return False
    changed = _shape(stored) != _shape(fresh)
    route = _route(catalog, appeal)
    fired = uow.clocks.fired(appeal.id) if fresh else set()
    waits = waits_of(uow.clocks.attempts(appeal.id)) if fresh else {}
    lines, working = timelines_of(catalog, route), working_timeline(catalog, route)
    nexts = [next_escalation(route, c, fired, lines, working, waits) for c in fresh]
    uow.clocks.put(appeal.id, fresh, nexts)
    return changed


def waits_of(attempts: Iterable[SlaAttempt]) -> dict[tuple[str, int, int], datetime]:
    """When each failed level of an appeal may be tried again, by (clock, cycle, level)."""
    return {(a.clock, a.cycle, a.level): a.retry_at for a in attempts if a.retry_at is not None}


def _shape(clocks: Iterable[SlaClock]) -> list[tuple[object, ...]]:
    """What a recomputation can change besides the passing of time."""
    return [
        (c.key, c.cycle, c.start, c.limit, c.due, c.paused_since, c.stopped_at, c.overridden)
        for c in clocks
    ]


def refresh_clocks(
    uow: UnitOfWork, catalog: Catalog, now: datetime, events: Sequence[HistoryEvent]
) -> None:
    """Work out again the clocks of every appeal an action recorded ``events`` for."""
    for appeal_id in dict.fromkeys(e.appeal_id for e in events):
        appeal = uow.appeals.get(appeal_id)
        if _route(catalog, appeal).has_clocks:
            recompute_appeal(uow, catalog, appeal, now)
