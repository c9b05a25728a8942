"""Time buckets in a report's time zone, cut by the database: hours, days, weeks, months.

PostgreSQL converts with the zone's own rules (``timezone(zone, t)``). SQLite knows no zones,
so the zone's offsets over the period are worked out here and the query shifts each stored
UTC time by the offset in force at that instant: a CASE over the few transitions (summer time
starts and ends) with every instant and offset a bound parameter.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from crmcms.model import TimeBucket

__all__ = ["bucket_expression", "bucket_value", "offsets"]

_Time = sa.DateTime(timezone=True)


def _offset(tz: ZoneInfo, at: datetime) -> int:
    shift = at.astimezone(tz).utcoffset()
    return 0 if shift is None else int(shift.total_seconds())


def offsets(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets in seconds over ``[start, end]`` (a day's margin either side):
    ``(from, offset)`` pairs, the first ``from`` being ``None``; each transition is found to
    the second."""
    at = start.astimezone(UTC) - timedelta(days=1)
    stop = end.astimezone(UTC) + timedelta(days=1)
    current = _offset(tz, at)
    found: list[tuple[datetime | None, int]] = [(None, current)]
    step = timedelta(days=1)
    while at < stop:
        following = at + step
        if _offset(tz, following) != current:
            low, high = at, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(tz, middle) == current:
                    low = middle
                else:
                    high = middle
            current = _offset(tz, high)
            found.append((high.replace(microsecond=0), current))
        at = following
    return found


def _sqlite_local(column: ColumnElement[Any], shifts: list[tuple[datetime | None, int]]) -> Any:
    def modifier(seconds: int) -> str:
        return f"{seconds:+d} seconds"

    if len(shifts) == 1:
        if shifts[0][1] == 0:
            return sa.func.datetime(column)
        return sa.func.datetime(column, sa.literal(modifier(shifts[0][1])))
    whens = [
        (column < sa.literal(since, _Time), sa.literal(modifier(before)))
        for (_, before), (since, _) in itertools.pairwise(shifts)
        if since is not None
    ]
    shift = sa.case(*whens, else_=sa.literal(modifier(shifts[-1][1])))
    return sa.func.datetime(column, shift)


def bucket_expression(
    column: ColumnElement[Any],
    bucket: TimeBucket,
    tz_name: str,
    dialect: str,
    start: datetime,
    end: datetime,
) -> ColumnElement[Any]:
    """The bucket ``column`` (a stored UTC time) falls in, as its local start: a timestamp
    without zone on PostgreSQL, ISO text on SQLite (see :func:`bucket_value`)."""
    if dialect == "postgresql":
        local = sa.func.timezone(sa.literal(tz_name), column)
        return sa.func.date_trunc(sa.literal(bucket.value), local)
    local = _sqlite_local(column, offsets(ZoneInfo(tz_name), start, end))
    if bucket is TimeBucket.HOUR:
        return sa.func.strftime(sa.literal("%Y-%m-%d %H:00:00"), local)
    if bucket is TimeBucket.DAY:
        return sa.func.date(local)
    if bucket is TimeBucket.WEEK:
        # Forward to Sunday (a Sunday stays), then back six days: that week's Monday.
        return sa.func.date(local, sa.literal("weekday 0"), sa.literal("-6 days"))
    return sa.func.strftime(sa.literal("%Y-%m-01"), local)


def bucket_value(raw: Any, bucket: TimeBucket, tz: ZoneInfo) -> date | datetime | None:
    """A bucket as the report shows it: a date, or for hours the aware local start."""
    if raw is None:
        return None
    start = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    if not isinstance(start, datetime):  # a date already
        return date.fromisoformat(str(start))
    if bucket is TimeBucket.HOUR:
        return start.replace(tzinfo=tz)
    return start.date()
