"""Calendar declarations to BusinessCalendar definitions, each mistake reported where it stands."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import date, timedelta

from crmcms.dsl.definitions.ast import Decl
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.errors import SourceSpan
from crmcms.model import BusinessCalendar, CalendarDay, WorkingInterval
from crmcms.model._lookup import did_you_mean
from crmcms.model.calendars import WEEKDAY_NAMES

__all__ = ["build_calendar"]

_DAY = timedelta(days=1)
_LONGEST_RANGE = 366
"""Days a holiday range may span: a longer one is surely a typing mistake in a year."""


def _overlap(intervals: tuple[WorkingInterval, ...]) -> str | None:
    for before, after in itertools.pairwise(intervals):
        if after.start < before.end:
            return f"{before} and {after} overlap or are out of order"
    return None


def build_calendar(draft: CatalogDraft, decl: Decl) -> None:
    """Add the calendar ``decl`` declares; report a bad time zone, a weekday or date given
    twice, overlapping intervals and backward ranges at the line they are on."""
    code = decl.code.code
    what = f"calendar {code}"
    failed = False

    def error(message: str, span: SourceSpan, hint: str | None = None) -> None:
        nonlocal failed
        failed = True
        draft.error(message, span, hint)

    zone_item = draft.single(decl, "timezone")
    timezone = "UTC" if zone_item is None else str(zone_item.values[0])
    if not _known_zone(timezone):
        assert zone_item is not None
        error(
            f"unknown time zone {timezone!r} in {what}",
            zone_item.span,
            did_you_mean(timezone, zoneinfo.available_timezones()) or "an IANA name: Europe/Moscow",
        )
        return
    week: list[tuple[WorkingInterval, ...]] = [()] * 7
    given: dict[int, SourceSpan] = {}
    for item in decl.items("hours"):
        first, last, intervals = item.values
        problem = _overlap(intervals)
        if problem:
            error(f"{what}: {problem}", item.span)
        for day in range(first, last + 1):
            if day in given:
                error(
                    f"{what}: {WEEKDAY_NAMES[day]} is given twice (first at {given[day]})",
                    item.span,
                )
            given[day] = item.span
            week[day] = intervals
    exceptions: dict[date, tuple[WorkingInterval, ...]] = {}
    seen: dict[date, SourceSpan] = {}

    def claim(
        first: date, last: date, span: SourceSpan, intervals: tuple[WorkingInterval, ...]
    ) -> None:
        if last < first:
            error(f"{what}: the range {first}..{last} runs backwards", span)
            return
        if (last - first).days >= _LONGEST_RANGE:
            error(f"{what}: the range {first}..{last} is longer than a year", span)
            return
        day = first
        while day <= last:
            if day in seen:
                error(f"{what}: {day} is given twice (first at {seen[day]})", span)
            else:
                seen[day] = span
                exceptions[day] = intervals
            day += _DAY

    for item in decl.items("holidays"):
        for first, last, span in item.values:
            claim(first, last, span, ())
    for item in decl.items("working"):
        first, last, span, intervals = item.values
        problem = _overlap(intervals)
        if problem:
            error(f"{what}: {problem}", item.span)
            continue
        claim(first, last, span, intervals)
    if failed:
        return
    draft.add(
        "calendars",
        decl,
        code,
        f"calendar {code!r}",
        lambda: BusinessCalendar(
            code,
            decl.name or "",
            timezone,
            week=week,
            exceptions=[CalendarDay(d, i) for d, i in sorted(exceptions.items())],
            description=draft.description(decl),
        ),
    )


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
