"""Business time: working time added to and counted between instants in a business calendar.

A :class:`Timeline` is a calendar compiled for counting (``timeline(calendar)``, cached per
calendar). Instants go in time-zone aware and come out in UTC. Working intervals are local
wall times of the calendar's zone; working time is real elapsed time, so on a spring-forward
night an interval ``00:00-06:00`` holds five hours and on a fall-back night six or seven.
Wall times that do not exist or exist twice on a DST day follow one rule:

* a wall time in a spring-forward gap stands for the moment the clocks jump (the first wall
  time after the gap): in Europe/Berlin, 02:30 on the last Sunday of March counts as 03:00 CEST;
* a wall time that occurs twice takes its first occurrence (``fold=0``).

So local wall time maps to instants in order, and no interval ever runs backwards.
Long spans cost what short ones do: whole weeks are summed, exceptions and the days around
DST transitions are found by bisection, never by walking minute by minute or day by day.
"""

from __future__ import annotations

import functools
import zoneinfo
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from crmcms.errors import InvalidValueError
from crmcms.model.calendars import BusinessCalendar, WorkingInterval

__all__ = ["Break", "Timeline", "timeline"]

Break = tuple[datetime, datetime]
"""A paused span ``(start, end)``: time inside it is not working time."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_US = timedelta(microseconds=1)
_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_DAY = 86_400 * _SECOND
# Deadlines usually end within days: walking a few compiled days beats the bisection set-up.
_WALK_DAYS = 14
_Span = tuple[int, int]


def _instant(moment: datetime, what: str) -> int:
    """Microseconds since the epoch; naive datetimes say nothing about when they are."""
    offset = moment.utcoffset()
    if offset is None:
        raise InvalidValueError(
            f"{what} {moment.isoformat()} has no time zone: business time counts between "
            "instants, so give an aware datetime (e.g. tzinfo=datetime.UTC)"
        )
    return (moment.replace(tzinfo=None) - offset - _NAIVE_EPOCH) // _US


def _moment(instant: int) -> datetime:
    return _EPOCH + timedelta(microseconds=instant)


def _amount(duration: timedelta, what: str) -> int:
    if duration < timedelta(0):
        raise InvalidValueError(f"{what} cannot be negative: {duration}")
    return duration // _US


def _offset(zone: tzinfo, instant: int) -> timedelta:
    offset = _moment(instant).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


class _DstDays:
    """The local dates of one year whose working time differs from their wall-clock length."""

    __slots__ = ("count_prefix", "ordinals", "time_prefix")

    def __init__(self, rows: Sequence[tuple[int, int, int]]) -> None:
        self.ordinals = [ordinal for ordinal, _, _ in rows]
        self.time_prefix = [0]
        self.count_prefix = [0]
        for _, time, count in rows:
            self.time_prefix.append(self.time_prefix[-1] + time)
            self.count_prefix.append(self.count_prefix[-1] + count)

    def between(self, first: int, stop: int, *, count: bool) -> int:
        i, j = bisect_left(self.ordinals, first), bisect_left(self.ordinals, stop)
        prefix = self.count_prefix if count else self.time_prefix
        return prefix[j] - prefix[i]


class Timeline:
    """A calendar compiled for counting business time; get one with :func:`timeline`.

    Every method takes aware datetimes and returns UTC ones. ``breaks`` are paused spans of
    instants removed from working time: counting with a pause is counting in a calendar
    with the paused time taken out.
    """

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._zone = zoneinfo.ZoneInfo(calendar.timezone)
        week_time = [sum(i.minutes for i in day) * _MINUTE for day in calendar.week]
        self._week_time = sum(week_time)
        self._week_count = sum(1 for t in week_time if t)
        self._day_prefix_time = [sum(week_time[:i]) for i in range(8)]
        self._day_prefix_count = [sum(1 for t in week_time[:i] if t) for i in range(8)]
        self._exceptions = {d.day.toordinal(): d.intervals for d in calendar.exceptions}
        self._exception_ordinals = sorted(self._exceptions)
        self._exception_time = [0]
        self._exception_count = [0]
        for ordinal in self._exception_ordinals:
            nominal = sum(i.minutes for i in self._exceptions[ordinal]) * _MINUTE
            usual = week_time[(ordinal - 1) % 7]
            self._exception_time.append(self._exception_time[-1] + nominal - usual)
            self._exception_count.append(self._exception_count[-1] + bool(nominal) - bool(usual))
        # Around the clock in UTC (ALWAYS, the calendar of every deadline not in business
        # time): working time is time, so counting needs no days at all.
        self._continuous = (
            self._week_time == 7 * _DAY
            and not self._exceptions
            and calendar.timezone in ("UTC", "Etc/UTC")
        )
        self._spans_cache: dict[int, tuple[_Span, ...]] = {}
        self._starts: dict[int, int] = {}
        self._times: dict[int, int] = {}
        self._dst_years: dict[int, _DstDays] = {}

    def __repr__(self) -> str:
        return f"Timeline({self.calendar.code!r})"

    # --- the public calculator ------------------------------------------------------------

    def add(
        self, start: datetime, duration: timedelta, *, breaks: Iterable[Break] = ()
    ) -> datetime:
        """The earliest instant by which ``duration`` of working time has passed since ``start``.

        From outside working time it counts from the next working moment; a result lies in
        working time or exactly at the end of a working interval. ``add(s, timedelta(0))``
        is ``s``.
        """
        begin = _instant(start, "start")
        amount = _amount(duration, "a business duration")
        if not breaks:
            return _moment(self._add(begin, amount))
        return _moment(self._add_with_breaks(begin, amount, self._breaks(breaks)))

    def elapsed(self, a: datetime, b: datetime, *, breaks: Iterable[Break] = ()) -> timedelta:
        """Working time between two instants; negative when ``b`` is before ``a``.

        Negative rather than refused so that ``elapsed(a, b) + elapsed(b, c)`` is
        ``elapsed(a, c)`` whatever the order: an overdue clock reads as a negative remainder.
        """
        first, last = _instant(a, "a"), _instant(b, "b")
        return timedelta(microseconds=self._elapsed_with_breaks(first, last, self._breaks(breaks)))

    def add_days(self, start: datetime, days: int, *, breaks: Iterable[Break] = ()) -> datetime:
        """``days`` working days after ``start``: the same working-time offset into the
        ``days``-th next working day, or that day's end if it is shorter.

        From outside working time it counts from the next working moment. An offset of
        nothing (a start at the beginning of a working day) ends at the end of the working
        day before, the earliest instant that is the same business moment: one day from
        Monday 00:00 in :data:`~crmcms.model.calendars.WEEKDAYS` is Tuesday 00:00, from
        Friday 00:00 it is Friday 24:00. With ``breaks`` the deadline moves by the working
        time paused before it.
        """
        begin = _instant(start, "start")
        if days < 0:
            raise InvalidValueError(f"working days cannot be negative: {days}")
        if days == 0:
            return _moment(begin)
        plain = self._add_days(begin, days)
        pauses = self._breaks(breaks) if breaks else []
        if not pauses:
            return _moment(plain)
        return _moment(self._add_with_breaks(begin, self._elapsed(begin, plain), pauses))

    def next_working(self, moment: datetime) -> datetime:
        """``moment`` itself if it is working time, else the start of the next working interval."""
        return _moment(self._next_working(_instant(moment, "moment")))

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The calendar's time zone, in which its working intervals are wall times."""
        return self._zone

    def working_time(self, day: date) -> timedelta:
        """The working time of the local date ``day`` (nothing on a holiday)."""
        return timedelta(microseconds=self._day_time(day.toordinal()))

    def is_working(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in a working interval (start included, end excluded)."""
        instant = _instant(moment, "moment")
        return any(s <= instant < e for s, e in self._spans(self._day_of(instant)))

    # --- breaks ---------------------------------------------------------------------------

    @staticmethod
    def _breaks(breaks: Iterable[Break]) -> list[_Span]:
        spans = []
        for begin, end in breaks:
            first, last = _instant(begin, "a pause's start"), _instant(end, "a pause's end")
            if last < first:
                raise InvalidValueError(
                    f"a pause ends before it starts: {begin.isoformat()} to {end.isoformat()}"
                )
            spans.append((first, last))
        spans.sort()
        merged: list[_Span] = []
        for first, last in spans:
            if merged and first <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged

    def _add_with_breaks(self, begin: int, amount: int, pauses: list[_Span]) -> int:
        current, left = begin, amount
        for first, last in pauses:
            if left == 0:
                break
            if last <= current:
                continue
            candidate = self._add(current, left)
            if candidate <= first:
                return candidate
            if first > current:
                left -= self._elapsed(current, first)
            current = last
        return self._add(current, left)

    def _elapsed_with_breaks(self, first: int, last: int, pauses: list[_Span]) -> int:
        if last < first:
            return -self._elapsed_with_breaks(last, first, pauses)
        total = self._elapsed(first, last)
        for begin, end in pauses:
            lo, hi = max(first, begin), min(last, end)
            if lo < hi:
                total -= self._elapsed(lo, hi)
        return total

    # --- counting on compiled days --------------------------------------------------------

    def _add(self, begin: int, amount: int) -> int:
        if amount == 0 or self._continuous:
            return begin + amount
        day = self._day_of(begin)
        done = self._before(day, begin)
        if amount <= self._day_time(day) - done:
            return self._point(day, done + amount)
        need = amount - (self._day_time(day) - done)
        last, counted = self._reach(day + 1, need, count=False)
        return self._point(last, need - counted)

    def _elapsed(self, first: int, last: int) -> int:
        if self._continuous:
            return last - first
        if last < first:
            return -self._elapsed(last, first)
        a, b = self._day_of(first), self._day_of(last)
        if a == b:
            return self._before(a, last) - self._before(a, first)
        return (
            self._day_time(a)
            - self._before(a, first)
            + self._sum(a + 1, b, count=False)
            + self._before(b, last)
        )

    def _add_days(self, begin: int, days: int) -> int:
        working, day = self._next_working_day(begin)
        offset = self._before(day, working)
        if offset == 0:
            last = day if days == 1 else self._reach(day + 1, days - 1, count=True)[0]
            return self._spans(last)[-1][1]
        last = self._reach(day + 1, days, count=True)[0]
        if offset >= self._day_time(last):
            return self._spans(last)[-1][1]
        return self._point(last, offset)

    def _next_working(self, instant: int) -> int:
        return self._next_working_day(instant)[0]

    def _next_working_day(self, instant: int) -> tuple[int, int]:
        """The next working moment from ``instant`` on, and the local day it belongs to."""
        day = self._day_of(instant)
        for start, end in self._spans(day):
            if instant < end:
                return max(instant, start), day
        day = self._reach(day + 1, 1, count=True)[0]
        return self._spans(day)[0][0], day

    def _before(self, day: int, instant: int) -> int:
        """Working time of ``day`` before ``instant``."""
        total = 0
        for start, end in self._spans(day):
            if start >= instant:
                break
            total += min(end, instant) - start
        return total

    def _point(self, day: int, amount: int) -> int:
        """The earliest instant of ``day`` with ``amount`` (> 0) of its working time before it."""
        for start, end in self._spans(day):
            if amount <= end - start:
                return start + amount
            amount -= end - start
        raise AssertionError("a day's point asked beyond its working time")

    def _reach(self, first: int, need: int, *, count: bool) -> tuple[int, int]:
        """The first day from ``first`` on by which ``need`` (> 0) is reached, and what the
        days before it hold. ``count`` measures working days, else working time."""
        held, day, times = 0, first, self._times
        for _ in range(_WALK_DAYS):
            value = times.get(day)
            if value is None:
                value = self._day_time(day)
            if count and value:
                value = 1
            if held + value >= need:
                return day, held
            held += value
            day += 1
        per_week = self._week_count if count else self._week_time
        step = 7 * (need // per_week + 2)
        while self._sum(first, first + step, count=count) < need:
            step *= 2
        lo, hi = day, first + step
        while hi - lo > 1:
            middle = (lo + hi) // 2
            if self._sum(first, middle, count=count) >= need:
                hi = middle
            else:
                lo = middle
        return hi - 1, self._sum(first, hi - 1, count=count)

    def _sum(self, first: int, stop: int, *, count: bool) -> int:
        """Working time (or working days) of the local days ``first`` to ``stop - 1``."""
        if stop <= first:
            return 0
        week, prefix = (
            (self._week_count, self._day_prefix_count)
            if count
            else (self._week_time, self._day_prefix_time)
        )

        def template(ordinal: int) -> int:
            weeks, weekday = divmod(ordinal - 1, 7)
            return weeks * week + prefix[weekday]

        exceptions = self._exception_count if count else self._exception_time
        i = bisect_left(self._exception_ordinals, first)
        j = bisect_left(self._exception_ordinals, stop)
        total = template(stop) - template(first) + exceptions[j] - exceptions[i]
        for year in range(date.fromordinal(first).year, date.fromordinal(stop - 1).year + 1):
            total += self._dst_days(year).between(first, stop, count=count)
        return total

    # --- compiling days -------------------------------------------------------------------

    def _intervals(self, day: int) -> tuple[WorkingInterval, ...]:
        found = self._exceptions.get(day)
        return self.calendar.week[(day - 1) % 7] if found is None else found

    def _wall(self, day: int, minute: int) -> int:
        """The instant of a wall time, by the module's rule for DST gaps and repeats."""
        naive = datetime.fromordinal(day) + timedelta(minutes=minute)
        instant = _instant(naive.replace(tzinfo=self._zone), "wall time")
        if _moment(instant).astimezone(self._zone).replace(tzinfo=None) == naive:
            return instant
        # In a gap: fold=0 lands past the jump, fold=1 before it; the jump lies in between.
        lo = _instant(naive.replace(tzinfo=self._zone, fold=1), "wall time") // _SECOND
        hi = instant // _SECOND
        after = _offset(self._zone, instant)
        while hi - lo > 1:
            middle = (lo + hi) // 2
            if _offset(self._zone, middle * _SECOND) == after:
                hi = middle
            else:
                lo = middle
        return hi * _SECOND

    def _start(self, day: int) -> int:
        found = self._starts.get(day)
        if found is None:
            found = self._starts[day] = self._wall(day, 0)
        return found

    def _spans(self, day: int) -> tuple[_Span, ...]:
        found = self._spans_cache.get(day)
        if found is not None:
            return found
        spans: list[_Span] = []
        for interval in self._intervals(day):
            start, end = self._wall(day, interval.start), self._wall(day, interval.end)
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            elif start < end:
                spans.append((start, end))
        found = self._spans_cache[day] = tuple(spans)
        return found

    def _day_time(self, day: int) -> int:
        found = self._times.get(day)
        if found is None:
            found = self._times[day] = sum(end - start for start, end in self._spans(day))
        return found

    def _day_count(self, day: int) -> int:
        return 1 if self._spans(day) else 0

    def _day_of(self, instant: int) -> int:
        """The local day whose span of instants holds ``instant``."""
        # Start from the UTC date: a zone's local date is at most a day or so away from it.
        day = instant // _DAY + _EPOCH_ORDINAL
        while instant < self._start(day):
            day -= 1
        while instant >= self._start(day + 1):
            day += 1
        return day

    def _dst_days(self, year: int) -> _DstDays:
        """Days of ``year`` near a change of the zone's UTC offset, where working time and
        wall-clock length may differ; found by sampling the offset daily, once a year."""
        found = self._dst_years.get(year)
        if found is not None:
            return found
        first, stop = date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()
        marked: set[int] = set()
        previous = (first - 2 - _EPOCH_ORDINAL) * _DAY
        before = _offset(self._zone, previous)
        for day in range(first - 1, stop + 2):
            sample = (day - _EPOCH_ORDINAL) * _DAY
            now = _offset(self._zone, sample)
            if now != before:
                lo, hi = previous // _SECOND, sample // _SECOND
                while hi - lo > 1:
                    middle = (lo + hi) // 2
                    if _offset(self._zone, middle * _SECOND) == now:
                        hi = middle
                    else:
                        lo = middle
                jump = _moment(hi * _SECOND)
                walls = [(jump + before).toordinal(), (jump + now).toordinal()]
                marked.update(range(min(walls) - 1, max(walls) + 2))
            previous, before = sample, now
        rows = []
        for day in sorted(d for d in marked if first <= d < stop):
            nominal = sum(i.minutes for i in self._intervals(day)) * _MINUTE
            actual = self._day_time(day)
            if actual != nominal:
                rows.append((day, actual - nominal, bool(actual) - bool(nominal)))
        found = self._dst_years[year] = _DstDays(rows)
        return found


@functools.lru_cache(maxsize=256)
def timeline(calendar: BusinessCalendar) -> Timeline:
    """The calendar compiled for counting, made once per calendar and kept."""
    return Timeline(calendar)
