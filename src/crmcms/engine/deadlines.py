"""Deadlines: when a process or an appeal is due, in clock time or in business days."""

from __future__ import annotations

from datetime import datetime, timedelta

from crmcms.model import Deadline

__all__ = ["add_business_time", "due_at", "is_business_day"]

_DAY = timedelta(days=1)


def is_business_day(moment: datetime) -> bool:
    """Monday to Friday; there is no holiday calendar."""
    return moment.weekday() < 5


def _next_midnight(moment: datetime) -> datetime:
    return (moment + _DAY).replace(hour=0, minute=0, second=0, microsecond=0)


def add_business_time(start: datetime, amount: timedelta) -> datetime:
    """``start`` plus ``amount`` counting only the hours of Monday to Friday.

    Saturdays and Sundays do not count: two days from Friday 16:00 end on Tuesday 16:00,
    one day from Saturday 10:00 ends on Tuesday 00:00. A time zone on ``start`` is kept
    and days are its calendar days.
    """
    if amount < timedelta(0):
        raise ValueError(f"business time cannot run backwards: {amount}")
    current, left = start, amount
    while True:
        midnight = _next_midnight(current)
        if not is_business_day(current):
            current = midnight
            continue
        # Whole working weeks at once keep long limits from looping day by day.
        if current.weekday() == 0 and current == current.replace(
            hour=0, minute=0, second=0, microsecond=0
        ):
            weeks = left // timedelta(days=5)
            if weeks:
                current += timedelta(days=7 * weeks)
                left -= timedelta(days=5 * weeks)
                continue
        today = midnight - current
        if left <= today:
            return current + left
        left -= today
        current = midnight


def due_at(start: datetime, deadline: Deadline) -> datetime:
    """When a deadline that starts counting at ``start`` runs out."""
    if deadline.business_time:
        return add_business_time(start, deadline.limit)
    return start + deadline.limit
