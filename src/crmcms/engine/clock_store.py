"""Keeping stored SLA clocks equal to what the history says, after every action and in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from crmcms.engine.deadlines import calendar_for
from crmcms.engine.escalations import next_escalation
from crmcms.engine.ports import UnitOfWork
from crmcms.engine.sla_clocks import TimelineOf, clocks_from_history, default_timelines
from crmcms.errors import NotFoundError
from crmcms.model import (
    Appeal,
    Catalog,
    ClockKind,
    Deadline,
    HistoryEvent,
    HistoryKind,
    Queue,
    Route,
    SlaAttempt,
    SlaClock,
)
from crmcms.model.business_time import Timeline, timeline
from crmcms.model.calendars import ALWAYS

__all__ = [
    "Recomputed",
    "clocks_now",
    "deadlines_of",
    "recompute_appeal",
    "refresh_clocks",
    "timelines_of",
    "waits_of",
    "working_timeline",
]


def _route(catalog: Catalog, appeal: Appeal) -> Route:
    return catalog.route(appeal.route, appeal.route_version)


def timelines_of(catalog: Catalog, route: Route, events: Iterable[HistoryEvent] = ()) -> TimelineOf:
    """The timelines the route's deadlines count in, for the appeal whose history is
    ``events``: the calendar :func:`~crmcms.engine.deadlines.calendar_for` picks for a
    process's business deadline given the queue the appeal entered when the process's latest
    cycle started (so the clock and ``appeal.process_deadline`` agree); the route's own
    deadlines in the route's calendar, as the appeal's ``deadline`` on registration."""
    entered = _entry_queues(events) if _queue_calendars(catalog, route) else {}
    if not entered and route.calendar is None and all(p.calendar is None for p in route.processes):
        return default_timelines()
    always = timeline(ALWAYS)
    lines: dict[str | None, Timeline] = {}

    def of(deadline: Deadline, process: str | None) -> Timeline:
        if not deadline.business_time:
            return always
        found = lines.get(process)
        if found is None:
            owner = None if process is None else route.process(process)
            code = None if process is None else entered.get(process)
            queue = None if code is None else _queue(catalog, code)
            found = lines[process] = timeline(calendar_for(catalog, route, owner, queue))
        return found

    return of


def _queue_calendars(catalog: Catalog, route: Route) -> bool:
    """Whether a queue could give a process of the route its calendar."""
    return any(q.calendar is not None for q in catalog.queues) and any(
        p.calendar is None and p.deadline is not None for p in route.processes
    )


def _entry_queues(events: Iterable[HistoryEvent]) -> dict[str, str]:
    """The queue the appeal entered each process in, the last time it entered it."""
    found: dict[str, str] = {}
    current: str | None = None
    for event in events:
        if event.kind in (HistoryKind.CREATED, HistoryKind.REOPENED):
            current = None
        if event.process is not None and event.process != current:
            current = event.process
            if event.queue is not None:
                found[current] = event.queue
    return found


def _queue(catalog: Catalog, code: str) -> Queue | None:
    try:
        return catalog.queue(code)
    except NotFoundError:  # a queue deleted since the appeal entered it names no calendar
        return None


def working_timeline(catalog: Catalog, route: Route) -> Timeline:
    """The working time a level ``in working time`` waits for: the route's calendar."""
    return timeline(calendar_for(catalog, route))


def clocks_now(
    uow: UnitOfWork,
    catalog: Catalog,
    appeal: Appeal,
    now: datetime,
    events: Sequence[HistoryEvent] | None = None,
) -> tuple[SlaClock, ...]:
    """The appeal's clocks worked out from its history (``events``, read if not given) as of
    ``now``."""
    route = _route(catalog, appeal)
    if not route.has_clocks:
        return ()
    if events is None:
        events = uow.history.for_appeal(appeal.id)
    return clocks_from_history(appeal, events, route, now, timelines_of(catalog, route, events))


@attrs.frozen
class Recomputed:
    """What working an appeal's clocks out again found."""

    changed: bool
    """The stored clocks changed (besides the passing of time)."""
    moved: dict[str, datetime | None] = attrs.field(factory=dict)
    """Deadline fields of the appeal that the clocks now give other values, with those
    values: the caller saves the appeal and records the move."""


def deadlines_of(appeal: Appeal, clocks: Iterable[SlaClock]) -> dict[str, datetime | None]:
    """The deadline fields the clocks give an open appeal: ``deadline`` is when the
    resolution clock is due, ``process_deadline`` when the current process's is (``None``
    while a clock is paused). A field no clock counts is left out, so it keeps its value;
    a closed appeal keeps both."""
    if not appeal.is_open:
        return {}
    found: dict[str, datetime | None] = {}
    for clock in clocks:
        if clock.kind is ClockKind.RESOLUTION:
            found["deadline"] = clock.due
        elif (
            clock.kind is ClockKind.PROCESS
            and clock.process == appeal.process
            and clock.stopped_at is None
        ):
            found["process_deadline"] = clock.due
    return found


def recompute_appeal(
    uow: UnitOfWork, catalog: Catalog, appeal: Appeal, now: datetime
) -> Recomputed:
    """Store the appeal's clocks as its history gives them now; say whether they changed
    and which of the appeal's deadline fields they move."""
    route = _route(catalog, appeal)
    events = uow.history.for_appeal(appeal.id) if route.has_clocks else []
    lines = timelines_of(catalog, route, events)
    fresh = clocks_from_history(appeal, events, route, now, lines) if events else ()
    stored = uow.clocks.for_appeal(appeal.id)
    if not fresh and not stored:
        return _UNCHANGED
    changed = _shape(stored) != _shape(fresh)
    fired = uow.clocks.fired(appeal.id) if fresh else set()
    waits = waits_of(uow.clocks.attempts(appeal.id)) if fresh else {}
    working = working_timeline(catalog, route)
    nexts = [next_escalation(route, c, fired, lines, working, waits) for c in fresh]
    uow.clocks.put(appeal.id, fresh, nexts)
    moved = {
        field: due
        for field, due in deadlines_of(appeal, fresh).items()
        if getattr(appeal, field) != due
    }
    return Recomputed(changed, moved) if moved or changed else _UNCHANGED


_UNCHANGED = Recomputed(False)


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
) -> list[tuple[Appeal, dict[str, datetime | None]]]:
    """Work out again the clocks of every appeal an action recorded ``events`` for; the
    appeals whose deadline fields the clocks move, with the fields' new values."""
    moved = []
    for appeal_id in dict.fromkeys(e.appeal_id for e in events):
        appeal = uow.appeals.get(appeal_id)
        if _route(catalog, appeal).has_clocks:
            found = recompute_appeal(uow, catalog, appeal, now)
            if found.moved:
                moved.append((appeal, found.moved))
    return moved
