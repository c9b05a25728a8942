"""SLA clocks worked out from an appeal's history: one pure function, so never stale.

The history says when the appeal was registered, taken, moved between processes, closed,
reopened and given other deadlines by an administrator; the route says how much time each
clock allows and which processes pause the clocks. Replaying the events with the route's
current definitions gives the clocks as they are now, whatever changed since they started
(the calendar, a deadline, the priority): recomputing is the same call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import attrs

from crmcms.model import (
    Appeal,
    AppealState,
    ClockKind,
    Deadline,
    HistoryEvent,
    HistoryKind,
    Process,
    Route,
    SlaClock,
)
from crmcms.model.business_time import Timeline, timeline
from crmcms.model.calendars import ALWAYS, WEEKDAYS, BusinessCalendar

__all__ = ["TimelineOf", "clocks_from_history", "default_timelines"]

Span = tuple[datetime, datetime]

TimelineOf = Callable[[Deadline, str | None], Timeline]
"""The timeline a deadline counts in, given the process it belongs to (``None`` for the
route's own deadlines)."""

_ALWAYS = timeline(ALWAYS)


def default_timelines(calendar: BusinessCalendar = WEEKDAYS) -> TimelineOf:
    """Business deadlines count in ``calendar``, the others every hour of the clock."""
    business = timeline(calendar)

    def of(deadline: Deadline, process: str | None) -> Timeline:
        return business if deadline.business_time else _ALWAYS

    return of


@attrs.define
class _Running:
    """One clock while the history is replayed."""

    kind: ClockKind
    process: str
    cycle: int
    start: datetime
    deadline: Deadline | None
    line: Timeline
    breaks: list[Span] = attrs.field(factory=list)
    paused_since: datetime | None = None
    stopped_at: datetime | None = None
    override: tuple[datetime, datetime | None] | None = None
    """When an administrator set the due time, and to what (``None`` removes it)."""

    def pause(self, at: datetime) -> None:
        if self.paused_since is None and self.stopped_at is None:
            self.paused_since = at

    def resume(self, at: datetime) -> None:
        if self.paused_since is not None:
            if at > self.paused_since:
                self.breaks.append((self.paused_since, at))
            self.paused_since = None

    def stop(self, at: datetime) -> None:
        if self.stopped_at is None:
            self.resume(at)
            self.stopped_at = at

    def result(self, appeal_id: int, priority: str | None, now: datetime) -> SlaClock:
        line, breaks = self.line, list(self.breaks)
        if self.paused_since is not None and now > self.paused_since:
            breaks.append((self.paused_since, now))
        end = self.stopped_at or now
        elapsed = line.elapsed(self.start, end, breaks=breaks)
        limit: timedelta | None = None
        if self.override is not None:
            at, due_set = self.override
            if due_set is not None:
                # The override fixes the working time left at that moment: pauses after it
                # still move the due time.
                before = [(a, min(b, at)) for a, b in breaks if a < at]
                limit = line.elapsed(self.start, max(due_set, self.start), breaks=before)
        elif self.deadline is not None:
            limit = self.deadline.limit_for(priority)
            if self.deadline.business_time and limit.days:
                # Whole days of a business deadline are working days, as for due_at: the
                # working time from the start to the same time that many working days on.
                days = timedelta(days=limit.days)
                limit = line.elapsed(self.start, line.add_days(self.start, limit.days)) + (
                    limit - days
                )
        due = remaining = breached = None
        if limit is not None:
            remaining = limit - elapsed
            if self.paused_since is None:
                due = line.add(self.start, limit, breaks=breaks)
                if due <= end:
                    breached = due
            elif remaining < timedelta(0):
                breached = line.add(self.start, limit, breaks=breaks)
        return SlaClock(
            appeal_id=appeal_id,
            kind=self.kind,
            process=self.process,
            cycle=self.cycle,
            start=self.start,
            limit=None if self.override is not None else limit,
            due=due,
            elapsed=elapsed,
            remaining=remaining,
            paused_since=self.paused_since,
            breached_at=breached,
            stopped_at=self.stopped_at,
            overridden=self.override is not None,
            at=now,
        )


def _taken(event: HistoryEvent) -> bool:
    return any(c.field == "responsible" and c.new is not None for c in event.changes)


def _override(event: HistoryEvent, field: str) -> tuple[bool, datetime | None]:
    for change in event.changes:
        if change.field == field:
            new = change.new
            return True, new if isinstance(new, datetime) else None
    return False, None


def clocks_from_history(
    appeal: Appeal,
    events: Iterable[HistoryEvent],
    route: Route,
    now: datetime,
    timelines: TimelineOf | None = None,
) -> tuple[SlaClock, ...]:
    """The appeal's clocks as of ``now``: first response, resolution, and one per process
    with a deadline it entered (the latest cycle of each), in that order.

    ``events`` is the appeal's history in the order it happened; ``route`` the route it runs
    on, as defined now. A process that ``pauses`` stops the first-response and resolution
    clocks while the appeal is in it; closing stops every clock; reopening starts the
    resolution clock's next cycle and the process clock of the process it reopens in.
    """
    of = timelines or default_timelines()
    clocks: dict[str, _Running] = {}
    cycles: dict[str, int] = {}
    current: str | None = None
    closed = False

    def start(key: str, kind: ClockKind, process: str, d: Deadline | None, at: datetime) -> None:
        cycle = cycles[key] = cycles.get(key, 0) + 1
        line = _ALWAYS if d is None else of(d, process or None)
        clocks[key] = _Running(kind, process, cycle, at, d, line)

    def pausing(process: str | None) -> bool:
        return process is not None and _process_pauses(route, process)

    def paused_clocks() -> list[_Running]:
        return [c for k, c in clocks.items() if k in ("resolution", "first_response")]

    def enter(process: str | None, at: datetime) -> None:
        nonlocal current
        if current is not None:
            left = clocks.get(f"process:{current}")
            if left is not None:
                left.stop(at)
        current = process
        if process is None:
            return
        step = _process(route, process)
        if step is not None and step.deadline is not None and not step.final:
            start(f"process:{process}", ClockKind.PROCESS, process, step.deadline, at)
        for c in paused_clocks():
            if pausing(process):
                c.pause(at)
            else:
                c.resume(at)

    for event in events:
        at = event.at
        kind = event.kind
        if kind is HistoryKind.CREATED:
            start("resolution", ClockKind.RESOLUTION, "", route.deadline, at)
            if route.first_response is not None:
                start("first_response", ClockKind.FIRST_RESPONSE, "", route.first_response, at)
            enter(event.process, at)
        elif kind is HistoryKind.REOPENED:
            closed = False
            start("resolution", ClockKind.RESOLUTION, "", route.deadline, at)
            current = None
            enter(event.process, at)
        elif event.process is not None and event.process != current and not closed:
            enter(event.process, at)
        if _taken(event) and "first_response" in clocks:
            clocks["first_response"].stop(at)
        if kind is HistoryKind.CLOSED:
            closed = True
            for c in clocks.values():
                c.stop(at)
        elif kind is HistoryKind.DEADLINE_CHANGED:
            for key, field in (
                ("resolution", "deadline"),
                (f"process:{current}", "process_deadline"),
            ):
                given, due = _override(event, field)
                running = clocks.get(key)
                if given and running is not None:
                    running.override = (at, due)
                elif given and key == "resolution":
                    start(key, ClockKind.RESOLUTION, "", None, at)
                    clocks[key].override = (at, due)
    if appeal.state is AppealState.CLOSED:
        for c in clocks.values():
            c.stop(appeal.closed_at or now)
    made = [
        c.result(appeal.id, appeal.priority, now)
        for c in clocks.values()
        if c.deadline is not None or c.override is not None
    ]
    order = {ClockKind.FIRST_RESPONSE: 0, ClockKind.RESOLUTION: 1, ClockKind.PROCESS: 2}
    return tuple(sorted(made, key=lambda c: (order[c.kind], c.start, c.process)))


def _process(route: Route, code: str) -> Process | None:
    return next((p for p in route.processes if p.code == code), None)


def _process_pauses(route: Route, code: str) -> bool:
    return any(p.code == code and p.pauses for p in route.processes)
