"""Deadlines: when a process or an appeal is due, in clock time or in a business calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from crmcms.model import WEEKDAYS, BusinessCalendar, Catalog, Deadline, Process, Queue, Route
from crmcms.model.business_time import timeline

__all__ = ["add_business_time", "calendar_for", "due_at", "is_business_day"]


def is_business_day(moment: datetime, calendar: BusinessCalendar = WEEKDAYS) -> bool:
    """Whether the local date of ``moment`` in ``calendar`` has working time."""
    line = timeline(calendar)
    return line.working_time(moment.astimezone(line.zone).date()) > timedelta(0)


def add_business_time(
    start: datetime, amount: timedelta, calendar: BusinessCalendar = WEEKDAYS
) -> datetime:
    """``start`` plus ``amount`` of working time in ``calendar`` (Monday to Friday, UTC, if
    none is named): two days from Friday 16:00 end on Tuesday 16:00."""
    return timeline(calendar).add(start, amount)


def due_at(
    start: datetime, deadline: Deadline, calendar: BusinessCalendar | None = None
) -> datetime:
    """When a deadline that starts counting at ``start`` runs out.

    A business deadline counts in ``calendar`` (:data:`~crmcms.model.WEEKDAYS` if none):
    its days are working days (the same time of the working day, N working days on), its
    hours and minutes working time; ``1d12h`` is one working day, then twelve working hours.
    Other deadlines are plain elapsed time.
    """
    if not deadline.business_time:
        return start + deadline.limit
    line = timeline(WEEKDAYS if calendar is None else calendar)
    days = deadline.limit.days
    rest = deadline.limit - timedelta(days=days)
    due = line.add_days(start, days) if days else start
    return line.add(due, rest) if rest else due


def calendar_for(
    catalog: Catalog, route: Route, process: Process | None = None, queue: Queue | None = None
) -> BusinessCalendar:
    """The calendar a deadline counts in: the process's, else the queue's, else the route's,
    else :data:`~crmcms.model.WEEKDAYS`."""
    for owner in (process, queue, route):
        if owner is not None and owner.calendar is not None:
            return catalog.calendar(owner.calendar)
    return WEEKDAYS
