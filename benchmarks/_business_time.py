"""Business-time deadlines in a calendar with holidays, beside a day-by-day walk."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from crmcms.engine.deadlines import due_at
from crmcms.model import BusinessCalendar, Deadline

ZONE = ZoneInfo("Europe/Moscow")
OFFICE = ((clock(9), clock(13)), (clock(14), clock(18)))
HOLIDAYS = frozenset(date(2026, 1, 1) + timedelta(days=k) for k in range(9)) | frozenset(
    map(
        date.fromisoformat,
        [
            "2026-02-23",
            "2026-03-09",
            "2026-05-01",
            "2026-05-11",
            "2026-06-12",
            "2026-11-04",
            "2026-12-31",
        ],
    )
)
CALENDAR = BusinessCalendar(
    "MOSCOW",
    "Moscow office",
    "Europe/Moscow",
    week=[["09:00-13:00", "14:00-18:00"]] * 5 + [[], []],
    exceptions=dict.fromkeys(HOLIDAYS, ()),
)
FIVE_DAYS = Deadline(timedelta(days=5), business_time=True)


def _working(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def walk_five_days(start: datetime) -> datetime:
    """Five working days from ``start`` (in working hours): a day at a time, skipping weekends
    and holidays, then the same working time into the fifth day, interval by interval."""
    local = start.astimezone(ZONE)
    offset = timedelta(0)
    for begin, end in OFFICE:
        first = datetime.combine(local.date(), begin, ZONE)
        last = min(datetime.combine(local.date(), end, ZONE), local)
        if last > first:
            offset += last - first
    day, left = local.date(), 5
    while left:
        day += timedelta(days=1)
        if _working(day):
            left -= 1
    for begin, end in OFFICE:
        first = datetime.combine(day, begin, ZONE)
        length = datetime.combine(day, end, ZONE) - first
        if offset <= length:
            return (first + offset).astimezone(UTC)
        offset -= length
    return datetime.combine(day, OFFICE[-1][1], ZONE).astimezone(UTC)


def _starts(count: int) -> list[datetime]:
    """Moments inside working hours, spread over 2026."""
    pick = random.Random(13)
    found: list[datetime] = []
    while len(found) < count:
        day = date(2026, 1, 1) + timedelta(days=pick.randrange(365))
        if not _working(day):
            continue
        begin, end = pick.choice(OFFICE)
        minutes = pick.randrange(1, (end.hour - begin.hour) * 60)
        found.append(datetime.combine(day, begin, ZONE) + timedelta(minutes=minutes))
    return found


def _seconds(fn: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        begin = time.perf_counter()
        fn()
        return time.perf_counter() - begin
    finally:
        gc.enable()


def _side_by_side(
    ours: Callable[[], object], baseline: Callable[[], object], rounds: int
) -> tuple[float, float, float]:
    """Median seconds of each, and the median of their ratios, each round timing both."""
    pairs = [(_seconds(ours), _seconds(baseline)) for _ in range(rounds)]
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a / b for a, b in pairs),
    )


def measure(quick: bool) -> dict[str, Any]:
    starts = _starts(500 if quick else 5000)
    for start in starts:  # the same answers, and the calendar compiled before timing
        assert due_at(start, FIVE_DAYS, CALENDAR) == walk_five_days(start), start
    rounds = 7 if quick else 15
    ours, walk, ratio = _side_by_side(
        lambda: [due_at(s, FIVE_DAYS, CALENDAR) for s in starts],
        lambda: [walk_five_days(s) for s in starts],
        rounds,
    )
    return {
        "business_add_starts": len(starts),
        "business_add_rounds": rounds,
        "business_add_us": round(ours / len(starts) * 1e6, 2),
        "business_walk_us": round(walk / len(starts) * 1e6, 2),
        "business_add_vs_walk": round(ratio, 3),
    }


def section(r: dict[str, Any]) -> str:
    return f"""## A business-time deadline (`benchmarks/bench_sla.py`)

Five business days in a Moscow calendar (09:00-13:00, 14:00-18:00 Monday to Friday, Russia's
2026 holidays) from {r["business_add_starts"]} moments in working hours, median of
{r["business_add_rounds"]} rounds, each timing both (the ratio is the median of the rounds'
ratios); both give the same answer for every start.

| measure | microseconds per deadline |
|---|---|
| `due_at(start, 5d business, calendar)` | **{r["business_add_us"]}** |
| a day-by-day walk (skipping weekends and holidays, then hours) | {r["business_walk_us"]} |
| ours / walk | **{r["business_add_vs_walk"]}x** |

The calendar is compiled once into UTC spans per day; a deadline within two weeks walks
those spans, a farther one jumps over whole weeks with bisection on the holidays, so its
cost does not grow with the distance.
"""
