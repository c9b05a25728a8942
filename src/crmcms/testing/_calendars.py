"""Strategies for business calendars: working intervals, exception days, whole calendars."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from crmcms.model.calendars import BusinessCalendar, CalendarDay, WorkingInterval
from crmcms.testing._basics import codes, names

__all__ = ["business_calendars", "calendar_days", "working_intervals"]

# Zones with and without DST, one with a half-hour shift, one that left DST in 2011/2014.
TIMEZONES = ("UTC", "Europe/Moscow", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe")


@st.composite
def _day_intervals(draw: st.DrawFn, most: int = 3) -> tuple[WorkingInterval, ...]:
    """Sorted, non-overlapping intervals of one day (24:00 may end the last)."""
    points = sorted(
        draw(st.lists(st.integers(0, 96).map(lambda k: k * 15), unique=True, max_size=2 * most))
    )
    pairs = zip(points[::2], points[1::2], strict=False)
    return tuple(WorkingInterval(a, b) for a, b in pairs)


def working_intervals() -> st.SearchStrategy[WorkingInterval]:
    return (
        st.tuples(st.integers(0, 1439), st.integers(1, 1440))
        .filter(lambda p: p[0] < p[1])
        .map(lambda p: WorkingInterval(*p))
    )


def calendar_days() -> st.SearchStrategy[CalendarDay]:
    """A holiday (no intervals) or a shortened or extra working day."""
    days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
    return st.builds(CalendarDay, days, st.just(()) | _day_intervals(2))


@st.composite
def business_calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Valid calendars: some working time in the week, each exception date once."""
    week = draw(st.lists(_day_intervals(), min_size=7, max_size=7).filter(any))
    exceptions = draw(st.lists(calendar_days(), max_size=5, unique_by=lambda d: d.day))
    return BusinessCalendar(
        draw(codes()),
        draw(names()),
        draw(st.sampled_from(TIMEZONES)),
        week=week,
        exceptions=exceptions,
        description=draw(names()),
    )
