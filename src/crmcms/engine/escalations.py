"""When each escalation level of a clock is due: the ladder laid over the clock's time."""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime, timedelta

from crmcms.engine.sla_clocks import TimelineOf
from crmcms.model import ClockKind, Deadline, EscalationLevel, Route, SlaClock
from crmcms.model.business_time import Timeline

__all__ = ["deadline_of", "due_levels", "level_moments", "next_escalation"]


def deadline_of(route: Route, clock: SlaClock) -> Deadline | None:
    """The deadline definition a clock counts against."""
    if clock.kind is ClockKind.FIRST_RESPONSE:
        return route.first_response
    if clock.kind is ClockKind.RESOLUTION:
        return route.deadline
    return next((p.deadline for p in route.processes if p.code == clock.process), None)


def level_moments(
    clock: SlaClock, deadline: Deadline, line: Timeline, working: Timeline
) -> list[tuple[int, EscalationLevel, datetime]]:
    """Each level of the deadline's ladder with the moment it is due on ``clock``.

    Only a running clock escalates. Positions count the clock's working time: a level at
    75% of 4h is due once 3h of working time have run. A level already passed when the
    clock was worked out is due at that moment; one ``in_working_time`` waits for the
    next working minute of ``working``.
    """
    if not clock.running or clock.remaining is None:
        return []
    allowed = clock.elapsed + clock.remaining
    made = []
    for index, level in enumerate(deadline.levels()):
        left = level.position(allowed) - clock.elapsed
        moment = line.add(clock.at, left) if left > timedelta(0) else clock.at
        if level.in_working_time:
            moment = working.next_working(moment)
        made.append((index, level, moment))
    return made


def next_escalation(
    route: Route,
    clock: SlaClock,
    fired: Set[tuple[str, int, int]],
    timelines: TimelineOf,
    working: Timeline,
    waits: Mapping[tuple[str, int, int], datetime] | None = None,
) -> datetime | None:
    """When the clock's next level not yet fired is due, or ``None``; a level that failed
    waits for its retry (``waits``, by clock key, cycle and level)."""
    deadline = deadline_of(route, clock)
    if deadline is None:
        return None
    line = timelines(deadline, clock.process or None)
    waits = waits or {}
    moments = [
        max(at, waits.get((clock.key, clock.cycle, index), at))
        for index, _, at in level_moments(clock, deadline, line, working)
        if (clock.key, clock.cycle, index) not in fired
    ]
    return min(moments, default=None)


def due_levels(
    route: Route,
    clock: SlaClock,
    fired: Set[tuple[str, int, int]],
    timelines: TimelineOf,
    working: Timeline,
    now: datetime,
    waits: Mapping[tuple[str, int, int], datetime] | None = None,
) -> list[tuple[int, EscalationLevel]]:
    """The clock's levels due at ``now`` and not fired yet (nor waiting for a retry after a
    failure, ``waits``), in ladder order."""
    deadline = deadline_of(route, clock)
    if deadline is None:
        return []
    line = timelines(deadline, clock.process or None)
    waits = waits or {}
    return [
        (index, level)
        for index, level, at in level_moments(clock, deadline, line, working)
        if max(at, waits.get((clock.key, clock.cycle, index), at)) <= now
        and (clock.key, clock.cycle, index) not in fired
    ]
